//! Magic-byte sniffing (Next 16.4.6 `detectContentType`'s magic table) and animation detection
//! (Next's `is-animated` heuristics, so our answer matches its passthrough decision).
//!
//! The image route's own copies are in `lib/image/sniff.js`: the route answers Next's exact
//! content type for *any* bytes (its 400s, SVG/ICO/BMP passthrough and is-animated check come
//! before any decode, and must not fail on a header we cannot parse), while [`sniff`] here only
//! picks a decoder and refuses the rest by name, and [`Metadata::animated`](crate::Metadata)
//! needs a readable header. `__test__/image.test.js` checks the two agree on the fixtures.

use crate::ImageError;

/// An input container we recognise and can at least read the header of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputFormat {
  Jpeg,
  Png,
  Webp,
  Avif,
  Gif,
  Bmp,
  Tiff,
}

impl InputFormat {
  pub fn name(self) -> &'static str {
    match self {
      InputFormat::Jpeg => "JPEG",
      InputFormat::Png => "PNG",
      InputFormat::Webp => "WebP",
      InputFormat::Avif => "AVIF",
      InputFormat::Gif => "GIF",
      InputFormat::Bmp => "BMP",
      InputFormat::Tiff => "TIFF",
    }
  }

  /// MIME type, as Next names it in `Content-Type`.
  pub fn mime(self) -> &'static str {
    match self {
      InputFormat::Jpeg => "image/jpeg",
      InputFormat::Png => "image/png",
      InputFormat::Webp => "image/webp",
      InputFormat::Avif => "image/avif",
      InputFormat::Gif => "image/gif",
      InputFormat::Bmp => "image/bmp",
      InputFormat::Tiff => "image/tiff",
    }
  }
}

/// A recognised ISO-BMFF `ftyp` box (Next requires a plausible box size, so text that merely
/// starts with "....ftypavif" is not an image).
fn ftyp_brand(input: &[u8]) -> Option<&[u8]> {
  if input.len() < 12 || &input[4..8] != b"ftyp" {
    return None;
  }
  let size = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
  (16..=input.len()).contains(&size).then(|| &input[8..12])
}

/// Sniffs the container from magic bytes. Formats Next passes through or refuses (SVG, ICO,
/// ICNS, JXL, HEIC, PDF, JP2) are reported by name as unsupported.
pub fn sniff(input: &[u8]) -> Result<InputFormat, ImageError> {
  let unsupported = |what: &str| {
    Err(ImageError::UnsupportedFormat {
      what: what.to_string(),
    })
  };
  if input.is_empty() {
    return Err(ImageError::Empty);
  }
  let starts = |magic: &[u8]| input.starts_with(magic);
  if starts(&[0xFF, 0xD8, 0xFF]) {
    return Ok(InputFormat::Jpeg);
  }
  if starts(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
    return Ok(InputFormat::Png);
  }
  if starts(b"GIF8") {
    return Ok(InputFormat::Gif);
  }
  if input.len() >= 12 && starts(b"RIFF") && &input[8..12] == b"WEBP" {
    return Ok(InputFormat::Webp);
  }
  if starts(b"II*\0") || starts(b"MM\0*") {
    return Ok(InputFormat::Tiff);
  }
  if starts(b"BM") {
    return Ok(InputFormat::Bmp);
  }
  if let Some(brand) = ftyp_brand(input) {
    return match brand {
      b"avif" | b"avis" => Ok(InputFormat::Avif),
      b"heic" | b"heix" | b"mif1" => unsupported("HEIC"),
      _ => unsupported("ISO-BMFF container that is not AVIF"),
    };
  }
  let head = &input[..input.len().min(1024)];
  let trimmed = head.trim_ascii_start();
  if trimmed.starts_with(b"<?xml") || trimmed.starts_with(b"<svg") {
    return unsupported("SVG (never rasterised)");
  }
  if starts(&[0, 0, 1, 0]) {
    return unsupported("ICO");
  }
  if starts(b"icns") {
    return unsupported("ICNS");
  }
  if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0CJXL \r\n\x87\n") {
    return unsupported("JPEG XL");
  }
  if starts(b"\0\0\0\x0CjP  \r\n\x87\n") {
    return unsupported("JPEG 2000");
  }
  if starts(b"%PDF-") {
    return unsupported("PDF");
  }
  unsupported("unknown (no known image magic bytes; is this text or HTML?)")
}

/// Whether Next would treat the image as animated (and pass it through unchanged).
/// GIF: more than one image descriptor. PNG: a real APNG (`acTL`, `fcTL`+`IDAT`, `fdAT`).
/// WebP: the bytes `ANIM` anywhere (Next's heuristic, false positives included). AVIF:
/// the `avis` brand (Next does not detect animated AVIF; we report it for callers who care).
pub fn is_animated(format: InputFormat, input: &[u8]) -> bool {
  match format {
    InputFormat::Gif => gif_frame_count_exceeds_one(input),
    InputFormat::Png => is_apng(input),
    InputFormat::Webp => input.windows(4).any(|w| w == b"ANIM"),
    InputFormat::Avif => ftyp_brand(input) == Some(b"avis"),
    _ => false,
  }
}

fn gif_frame_count_exceeds_one(b: &[u8]) -> bool {
  // Header (6) + logical screen descriptor (7), then optional global colour table.
  if b.len() < 13 {
    return false;
  }
  let mut pos = 13;
  if b[10] & 0x80 != 0 {
    pos += 3 * (1 << ((b[10] & 0x07) + 1));
  }
  let skip_sub_blocks = |mut p: usize| -> Option<usize> {
    loop {
      let len = *b.get(p)? as usize;
      p += 1;
      if len == 0 {
        return Some(p);
      }
      p += len;
    }
  };
  let mut frames = 0;
  while let Some(&block) = b.get(pos) {
    match block {
      0x21 => match skip_sub_blocks(pos + 2) {
        Some(p) => pos = p,
        None => return false,
      },
      0x2C => {
        frames += 1;
        if frames > 1 {
          return true;
        }
        let Some(&packed) = b.get(pos + 9) else {
          return false;
        };
        pos += 10;
        if packed & 0x80 != 0 {
          pos += 3 * (1 << ((packed & 0x07) + 1));
        }
        // LZW minimum code size, then the data sub-blocks.
        match skip_sub_blocks(pos + 1) {
          Some(p) => pos = p,
          None => return false,
        }
      }
      _ => return false,
    }
  }
  false
}

fn is_apng(b: &[u8]) -> bool {
  let (mut actl, mut idat, mut fdat) = (false, false, false);
  let mut previous: [u8; 4] = [0; 4];
  let mut pos = 8usize;
  while pos + 8 <= b.len() {
    let len = u32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
    let kind: [u8; 4] = [b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]];
    match &kind {
      b"acTL" => actl = true,
      b"IDAT" => {
        if !actl || (&previous != b"fcTL" && &previous != b"IDAT") {
          return false;
        }
        idat = true;
      }
      b"fdAT" => {
        if !idat || (&previous != b"fcTL" && &previous != b"fdAT") {
          return false;
        }
        fdat = true;
      }
      _ => {}
    }
    previous = kind;
    pos = pos.saturating_add(12).saturating_add(len);
  }
  actl && idat && fdat
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn sniffs_next_magic_table() {
    assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(InputFormat::Jpeg));
    assert_eq!(sniff(b"GIF89a......"), Ok(InputFormat::Gif));
    assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(InputFormat::Webp));
    assert_eq!(
      sniff(b"\0\0\0\x1cftypavif\0\0\0\0mif1miafMA1B"),
      Ok(InputFormat::Avif)
    );
    assert_eq!(sniff(b""), Err(ImageError::Empty));
    for bad in [
      &b"<svg xmlns=''/>"[..],
      b"%PDF-1.4",
      b"hello world",
      b"\0\0\0\x99ftypavif",
    ] {
      assert_eq!(
        sniff(bad).unwrap_err().code(),
        "IMAGE_UNSUPPORTED_FORMAT",
        "{bad:?}"
      );
    }
  }

  #[test]
  fn webp_anim_heuristic_matches_next() {
    assert!(is_animated(
      InputFormat::Webp,
      b"RIFF\0\0\0\0WEBPVP8XxxxxANIM"
    ));
    assert!(!is_animated(InputFormat::Webp, b"RIFF\0\0\0\0WEBPVP8 xxxx"));
  }
}
