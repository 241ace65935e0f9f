//! Refuses, before any pixel buffer exists, inputs whose header promises more pixels than the
//! data present in the file can produce or fill.
//!
//! Why: the `image` crate allocates the whole output (and GIF/animated-WebP canvases, TIFF
//! strip buffers) from the header's dimensions before it reads any pixel data, and only then
//! notices that the data runs out. A 141-byte PNG claiming 16000×16000 reserved 1 GiB per
//! request that way; a 35-byte GIF with a 16000×16000 logical screen and a 1×1 frame was even
//! composited and resized in full (2 GiB resident). The pixel limit cannot catch these (they
//! are under it), so memory has to be bounded by the bytes actually present. Two kinds of rule:
//!
//! - **Compression bounds** (PNG, GIF frames, TIFF strips, uncompressed BMP). Every codec here
//!   has a maximum expansion: deflate produces at most 258 bytes per length/distance pair and
//!   each pair costs at least 2 bits (a 1-bit length code and a 1-bit distance code), so at
//!   most 1032 bytes per input byte; GIF/TIFF LZW emits at most one table string per code, and
//!   a table of n ≤ 4096 entries holds strings of at most n bytes read with codes of at least
//!   log2(n) bits, so at most 4096/12 bytes per bit (2731 per byte); PackBits at most 128 bytes
//!   per 2; uncompressed data 1:1. These decoders fail when the data runs out before the
//!   image is complete, so an image needing more than `ratio × bytes present` (plus a small
//!   margin) could only ever end in that same error: rejecting it early never rejects an image
//!   that would have decoded. The needed byte counts are exact (PNG scanlines with their filter
//!   bytes per Adam7 pass, TIFF chunk rows) or lower bounds of what the decoder reads.
//! - **Canvas coverage** (GIF logical screen, animated-WebP canvas, RLE BMP). These formats
//!   may legitimately leave parts of the canvas to the background (frames smaller than the
//!   screen, RLE end-of-line/delta/end-of-bitmap codes), so no compression bound applies, and a
//!   tiny file can claim a canvas of hundreds of megapixels. A canvas of up to 2048×2048 is
//!   always accepted (the size up to which libnsgif, sharp's GIF loader, trusts a logical
//!   screen; above it, it sizes the image from the frames). A larger canvas must be at least a
//!   quarter coverable by its frames (or RLE runs), each counted only up to what its own data
//!   can produce. This rule can refuse a valid but mostly empty image over 4 Mpx; no other
//!   decoder we rely on draws those (libvips refuses WebP canvases over 16383 and shrinks GIF
//!   screens over 2048), and Next passes animated GIF/WebP and all BMPs through unoptimized.
//!
//! Not covered: JPEG (libjpeg-turbo/jpeg-decoder), AVIF (`avif/`), TIFF with JPEG or CCITT
//! compression, and still WebP: VP8L can code a pixel in zero bits (single-symbol Huffman
//! codes), so a valid 30-byte WebP can be 16383×16383; only the pixel limit bounds those.

use std::io::Cursor;

use crate::format::InputFormat;
use crate::ImageError;

/// deflate's maximum expansion (zlib's FAQ: "1032:1"), see the module comment.
const DEFLATE_MAX_RATIO: u64 = 1032;
/// LZW with codes of at most 12 bits (GIF, TIFF): 4096 bytes per 12-bit code, rounded up.
const LZW_MAX_RATIO: u64 = 2731;
/// TIFF PackBits: a 2-byte run codes at most 128 bytes.
const PACKBITS_MAX_RATIO: u64 = 64;
/// Added to every compression bound, so rounding (a stream's last code or block) never matters.
const MARGIN: u64 = 4096;
/// A canvas up to this many pixels needs no coverage (2048×2048, 16 MiB as RGBA).
const FREE_CANVAS_PIXELS: u64 = 2048 * 2048;
/// Above that, the canvas may be at most this many times what its data can cover.
const CANVAS_PER_COVERED_PIXEL: u64 = 4;

/// Checks `input` (already sniffed as `format`, its pixel count already under the limit).
pub(crate) fn check(input: &[u8], format: InputFormat) -> Result<(), ImageError> {
  match format {
    InputFormat::Png => png(input),
    InputFormat::Gif => gif(input),
    InputFormat::Webp => animated_webp(input),
    InputFormat::Bmp => bmp(input),
    InputFormat::Tiff => tiff(input),
    InputFormat::Jpeg | InputFormat::Avif => Ok(()),
  }
}

fn bytes_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
  b.get(at..at.checked_add(N)?)?.try_into().ok()
}
fn u16le(b: &[u8], at: usize) -> Option<u64> {
  bytes_at::<2>(b, at).map(|v| u16::from_le_bytes(v).into())
}
fn u24le(b: &[u8], at: usize) -> Option<u64> {
  bytes_at::<3>(b, at).map(|[x, y, z]| u32::from_le_bytes([x, y, z, 0]).into())
}
fn u32le(b: &[u8], at: usize) -> Option<u64> {
  bytes_at::<4>(b, at).map(|v| u32::from_le_bytes(v).into())
}
fn u32be(b: &[u8], at: usize) -> Option<u64> {
  bytes_at::<4>(b, at).map(|v| u32::from_be_bytes(v).into())
}

/// Bytes of a `len`-byte field starting at `at` that are actually in the file.
fn present(b: &[u8], at: usize, len: u64) -> u64 {
  (b.len().saturating_sub(at) as u64).min(len)
}

/// The most output `bytes` of compressed data can produce at `ratio`.
fn can_produce(bytes: u64, ratio: u64) -> u64 {
  bytes.saturating_mul(ratio).saturating_add(MARGIN)
}

fn too_little_data(format: InputFormat, what: String) -> ImageError {
  ImageError::decode(format.name(), format!("{what}; refused before decoding"))
}

/// The canvas-coverage rule (see the module comment).
fn check_canvas(
  format: InputFormat,
  width: u64,
  height: u64,
  coverable: u64,
  by: &str,
) -> Result<(), ImageError> {
  let canvas = width.saturating_mul(height);
  if canvas <= FREE_CANVAS_PIXELS || canvas <= coverable.saturating_mul(CANVAS_PER_COVERED_PIXEL) {
    return Ok(());
  }
  Err(too_little_data(
    format,
    format!(
      "the {width}x{height} canvas is more than {CANVAS_PER_COVERED_PIXEL} times the \
       {coverable} pixels its {by} can cover"
    ),
  ))
}

/// Adam7 passes: (x0, y0, dx, dy).
const ADAM7: [(u64, u64, u64, u64); 7] = [
  (0, 0, 8, 8),
  (4, 0, 8, 8),
  (0, 4, 4, 8),
  (2, 0, 4, 4),
  (0, 2, 2, 4),
  (1, 0, 2, 2),
  (0, 1, 1, 2),
];

/// Bytes of filtered scanlines (one filter byte per row) the decoder inflates for a
/// `width`×`height` image at `bits` per pixel; empty Adam7 passes have no rows at all.
fn png_scanline_bytes(width: u64, height: u64, bits: u64, interlaced: bool) -> u64 {
  let rows = |w: u64, h: u64| {
    if w == 0 || h == 0 {
      0
    } else {
      h.saturating_mul(1 + w.saturating_mul(bits).div_ceil(8))
    }
  };
  if !interlaced {
    return rows(width, height);
  }
  ADAM7
    .iter()
    .map(|&(x0, y0, dx, dy)| {
      rows(
        width.saturating_sub(x0).div_ceil(dx),
        height.saturating_sub(y0).div_ceil(dy),
      )
    })
    .fold(0, u64::saturating_add)
}

/// PNG: the default image's scanlines must be inflatable from the IDAT bytes present.
fn png(b: &[u8]) -> Result<(), ImageError> {
  let mut ihdr = None;
  let mut idat = 0u64;
  let mut pos = 8usize;
  while let (Some(len), Some(kind)) = (u32be(b, pos), bytes_at::<4>(b, pos + 4)) {
    let data = pos + 8;
    match &kind {
      b"IHDR" => ihdr = bytes_at::<13>(b, data),
      b"IDAT" => idat += present(b, data, len),
      b"IEND" => break,
      _ => {}
    }
    pos = match usize::try_from(len)
      .ok()
      .and_then(|l| data.checked_add(l)?.checked_add(4))
    {
      Some(p) => p,
      None => break,
    };
  }
  let Some(h) = ihdr else {
    return Ok(()); // the decoder reports the missing header
  };
  let width = u32::from_be_bytes([h[0], h[1], h[2], h[3]]).into();
  let height = u32::from_be_bytes([h[4], h[5], h[6], h[7]]).into();
  let (depth, colour, interlace) = (u64::from(h[8]), h[9], h[12]);
  let channels = match colour {
    0 | 3 => 1,
    2 => 3,
    4 => 2,
    6 => 4,
    _ => return Ok(()), // invalid: the decoder says so
  };
  let needed = png_scanline_bytes(width, height, channels * depth, interlace == 1);
  if needed > can_produce(idat, DEFLATE_MAX_RATIO) {
    return Err(too_little_data(
      InputFormat::Png,
      format!(
        "{width}x{height} needs {needed} bytes of scanlines but {idat} bytes of IDAT data \
         inflate to at most {} (deflate expands at most {DEFLATE_MAX_RATIO}:1)",
        can_produce(idat, DEFLATE_MAX_RATIO)
      ),
    ));
  }
  Ok(())
}

/// Sums the data sub-blocks from `pos` (clamped to the file); returns (bytes, position after).
fn gif_sub_blocks(b: &[u8], mut pos: usize) -> (u64, Option<usize>) {
  let mut total = 0u64;
  loop {
    let Some(&len) = b.get(pos) else {
      return (total, None);
    };
    pos += 1;
    if len == 0 {
      return (total, Some(pos));
    }
    total += present(b, pos, len.into());
    pos += usize::from(len);
  }
}

/// GIF: the first frame (the one decoded) must be producible from its LZW data, and the logical
/// screen must pass the canvas rule against the frames (each up to what its data produces).
fn gif(b: &[u8]) -> Result<(), ImageError> {
  let (Some(width), Some(height), Some(&flags)) = (u16le(b, 6), u16le(b, 8), b.get(10)) else {
    return Ok(());
  };
  let mut pos = 13usize;
  if flags & 0x80 != 0 {
    pos += 3 << ((flags & 0x07) + 1);
  }
  let mut coverable = 0u64;
  let mut frame = 0usize;
  while let Some(&block) = b.get(pos) {
    match block {
      0x21 => match gif_sub_blocks(b, pos + 2) {
        (_, Some(next)) => pos = next,
        (_, None) => break,
      },
      0x2C => {
        let (Some(left), Some(top), Some(w), Some(h), Some(&packed)) = (
          u16le(b, pos + 1),
          u16le(b, pos + 3),
          u16le(b, pos + 5),
          u16le(b, pos + 7),
          b.get(pos + 9),
        ) else {
          break;
        };
        pos += 10;
        if packed & 0x80 != 0 {
          pos += 3 << ((packed & 0x07) + 1);
        }
        // The LZW minimum code size, then the data sub-blocks.
        let (lzw, next) = gif_sub_blocks(b, pos + 1);
        let producible = can_produce(lzw, LZW_MAX_RATIO);
        frame += 1;
        if frame == 1 && w * h > producible {
          return Err(too_little_data(
            InputFormat::Gif,
            format!(
              "the first frame is {w}x{h} but its {lzw} bytes of LZW data decode to at most \
               {producible} pixels"
            ),
          ));
        }
        let on_screen =
          (left + w).min(width).saturating_sub(left) * (top + h).min(height).saturating_sub(top);
        coverable = coverable.saturating_add(on_screen.min(producible));
        match next {
          Some(p) => pos = p,
          None => break,
        }
      }
      _ => break,
    }
  }
  if frame == 0 {
    return Ok(()); // the decoder reports that there is no image
  }
  check_canvas(InputFormat::Gif, width, height, coverable, "frames' data")
}

/// Animated WebP: the canvas rule against the frames' rectangles. VP8L can fill a frame from
/// almost no data, so only the rectangles count here; a still WebP is left to the pixel limit.
fn animated_webp(b: &[u8]) -> Result<(), ImageError> {
  // RIFF header (12), then a VP8X chunk: flags (bit 1: animation), 3 reserved bytes,
  // canvas width − 1 and height − 1 as 24-bit values.
  if b.get(12..16) != Some(b"VP8X") || b.get(20).is_none_or(|f| f & 0x02 == 0) {
    return Ok(());
  }
  let (Some(w1), Some(h1), Some(vp8x_len)) = (u24le(b, 24), u24le(b, 27), u32le(b, 16)) else {
    return Ok(());
  };
  let (width, height) = (w1 + 1, h1 + 1);
  let mut coverable = 0u64;
  let mut pos = 20u64.saturating_add(vp8x_len + (vp8x_len & 1));
  while let Some(at) = usize::try_from(pos).ok().filter(|&p| p + 8 <= b.len()) {
    let len = u32le(b, at + 4).unwrap_or(0);
    if b.get(at..at + 4) == Some(b"ANMF") {
      // ANMF: x/2, y/2, width − 1, height − 1 (24-bit each), duration, flags, frame data.
      if let (Some(x), Some(y), Some(fw), Some(fh)) = (
        u24le(b, at + 8),
        u24le(b, at + 11),
        u24le(b, at + 14),
        u24le(b, at + 17),
      ) {
        let (x, y, fw, fh) = (x * 2, y * 2, fw + 1, fh + 1);
        let on_canvas =
          (x + fw).min(width).saturating_sub(x) * (y + fh).min(height).saturating_sub(y);
        coverable = coverable.saturating_add(on_canvas);
      }
    }
    pos = pos.saturating_add(8 + len + (len & 1));
  }
  check_canvas(
    InputFormat::Webp,
    width,
    height,
    coverable,
    "animation frames",
  )
}

/// BMP: uncompressed rows must all be present; RLE gets the canvas rule (an encoded run of up to
/// 255 pixels takes 2 bytes; end-of-line, delta and end-of-bitmap codes leave pixels unset).
fn bmp(b: &[u8]) -> Result<(), ImageError> {
  let (Some(offset), Some(header)) = (u32le(b, 10), u32le(b, 14)) else {
    return Ok(());
  };
  let (width, height, bits, compression) = match header {
    12 => match (u16le(b, 18), u16le(b, 20), u16le(b, 24)) {
      (Some(w), Some(h), Some(bits)) => (w, h, bits, 0),
      _ => return Ok(()),
    },
    40.. => match (
      bytes_at::<4>(b, 18),
      bytes_at::<4>(b, 22),
      u16le(b, 28),
      u32le(b, 30),
    ) {
      (Some(w), Some(h), Some(bits), Some(compression)) => (
        u64::from(i32::from_le_bytes(w).unsigned_abs()),
        u64::from(i32::from_le_bytes(h).unsigned_abs()),
        bits,
        compression,
      ),
      _ => return Ok(()),
    },
    _ => return Ok(()),
  };
  let data = b
    .len()
    .saturating_sub(usize::try_from(offset).unwrap_or(usize::MAX)) as u64;
  match compression {
    // BI_RGB, BI_BITFIELDS: rows padded to 4 bytes, the last row's padding not required.
    0 | 3 if width > 0 && height > 0 => {
      let row = width.saturating_mul(bits).div_ceil(8);
      let stride = width.saturating_mul(bits).div_ceil(32) * 4;
      let needed = (height - 1).saturating_mul(stride).saturating_add(row);
      if needed > data {
        return Err(too_little_data(
          InputFormat::Bmp,
          format!(
            "{width}x{height} at {bits} bits needs {needed} bytes of pixel data but has {data}"
          ),
        ));
      }
      Ok(())
    }
    // BI_RLE8, BI_RLE4.
    1 | 2 => check_canvas(
      InputFormat::Bmp,
      width,
      height,
      data.saturating_mul(128),
      "RLE data",
    ),
    _ => Ok(()),
  }
}

/// TIFF: every strip or tile of the first plane must be producible from the bytes its reader
/// can see (LZW and PackBits stop at the byte count; uncompressed and Deflate read on to the end
/// of the file). JPEG, CCITT and YCbCr-subsampled data are left to the decoder.
fn tiff(b: &[u8]) -> Result<(), ImageError> {
  use tiff::decoder::{ChunkType, Decoder};
  use tiff::tags::Tag;

  let Ok(mut dec) = Decoder::new(Cursor::new(b)) else {
    return Ok(()); // the decoder reports the broken header
  };
  let mut tag = |t: Tag, default: u64| -> Option<u64> {
    match dec.find_tag_unsigned::<u64>(t) {
      Ok(v) => Some(v.unwrap_or(default)),
      Err(_) => None,
    }
  };
  let (Some(compression), Some(photometric), Some(samples), Some(planar)) = (
    tag(Tag::Compression, 1),
    tag(Tag::PhotometricInterpretation, 0),
    tag(Tag::SamplesPerPixel, 1),
    tag(Tag::PlanarConfiguration, 1),
  ) else {
    return Ok(());
  };
  let (ratio, stops_at_count, name) = match compression {
    1 => (1, false, "uncompressed"),
    5 => (LZW_MAX_RATIO, true, "LZW"),
    8 | 32946 => (DEFLATE_MAX_RATIO, false, "Deflate"),
    32773 => (PACKBITS_MAX_RATIO, true, "PackBits"),
    _ => return Ok(()),
  };
  if photometric == 6 || samples == 0 {
    return Ok(()); // YCbCr may be subsampled: fewer bytes than width × samples
  }
  let Ok(Some(bits)) = dec.find_tag_unsigned_vec::<u64>(Tag::BitsPerSample) else {
    return Ok(());
  };
  let bits = bits.first().copied().unwrap_or(1);
  let (offsets, counts) = match dec.get_chunk_type() {
    ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
  };
  let (Ok(offsets), Ok(counts)) = (dec.get_tag_u64_vec(offsets), dec.get_tag_u64_vec(counts))
  else {
    return Ok(());
  };
  let (chunks, bits_per_pixel) = if planar == 2 {
    (offsets.len() / samples as usize, bits)
  } else {
    (offsets.len(), bits.saturating_mul(samples))
  };
  for (i, (&offset, &count)) in offsets.iter().zip(&counts).take(chunks).enumerate() {
    let (w, h) = dec.chunk_data_dimensions(i as u32);
    let needed =
      u64::from(h).saturating_mul(u64::from(w).saturating_mul(bits_per_pixel).div_ceil(8));
    let at = usize::try_from(offset).unwrap_or(usize::MAX);
    let data = present(b, at, if stops_at_count { count } else { u64::MAX });
    if needed > can_produce(data, ratio) {
      return Err(too_little_data(
        InputFormat::Tiff,
        format!(
          "chunk {i} ({w}x{h}) needs {needed} bytes but {data} bytes of {name} data produce at \
           most {}",
          can_produce(data, ratio)
        ),
      ));
    }
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn adam7_scanline_bytes() {
    // 1×1: only pass 1 has a pixel (filter byte + 1 byte).
    assert_eq!(png_scanline_bytes(1, 1, 8, true), 2);
    // 8×8 RGBA: passes of 1×1, 1×1, 2×1, 2×2, 4×2, 4×4, 8×4 pixels.
    let rows = [(1, 1), (1, 1), (2, 1), (2, 2), (4, 2), (4, 4), (8, 4)];
    let expected: u64 = rows.iter().map(|&(w, h)| h * (1 + w * 4)).sum();
    assert_eq!(png_scanline_bytes(8, 8, 32, true), expected);
    // 1-bit rows round up to whole bytes.
    assert_eq!(png_scanline_bytes(9, 2, 1, false), 2 * 3);
  }

  fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
      crc ^= u32::from(b);
      for _ in 0..8 {
        crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
      }
    }
    !crc
  }

  /// A PNG whose IDAT is a stored (uncompressed) zlib stream of `raw` zero bytes.
  fn stored_png(w: u32, h: u32, depth: u8, colour: u8, interlace: u8, raw: usize) -> Vec<u8> {
    let chunk = |out: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
      out.extend_from_slice(&(data.len() as u32).to_be_bytes());
      let body = [kind, data].concat();
      out.extend_from_slice(&body);
      out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<usize> = (0..raw.div_ceil(65535).max(1))
      .map(|i| (raw - i * 65535).min(65535))
      .collect();
    for (i, &n) in blocks.iter().enumerate() {
      zlib.push(u8::from(i + 1 == blocks.len()));
      zlib.extend_from_slice(&(n as u16).to_le_bytes());
      zlib.extend_from_slice(&(!(n as u16)).to_le_bytes());
      zlib.resize(zlib.len() + n, 0);
    }
    // Adler-32 of zeros: a = 1, b = count.
    zlib.extend_from_slice(&((((raw % 65521) as u32) << 16) | 1).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = [w.to_be_bytes(), h.to_be_bytes()].concat();
    ihdr.extend_from_slice(&[depth, colour, 0, 0, interlace]);
    chunk(&mut out, b"IHDR", &ihdr);
    if colour == 3 {
      chunk(&mut out, b"PLTE", &[0, 0, 0]);
    }
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
  }

  /// The scanline count is exactly what the PNG decoder reads: one byte less fails to decode.
  /// So the check's `needed` never exceeds what a decodable PNG inflates to.
  #[test]
  fn png_scanline_bytes_is_what_the_decoder_needs() {
    let kinds: [(u8, &[u8], u64); 5] = [
      (0, &[1, 2, 4, 8, 16], 1),
      (2, &[8, 16], 3),
      (3, &[1, 2, 4, 8], 1),
      (4, &[8, 16], 2),
      (6, &[8, 16], 4),
    ];
    for (colour, depths, channels) in kinds {
      for &depth in depths {
        for interlace in [0u8, 1] {
          for (w, h) in [(1u32, 1u32), (3, 5), (9, 7), (17, 2), (5, 17)] {
            let needed = png_scanline_bytes(
              w.into(),
              h.into(),
              channels * u64::from(depth),
              interlace == 1,
            );
            let what = format!("colour {colour} depth {depth} interlace {interlace} {w}x{h}");
            let png = stored_png(w, h, depth, colour, interlace, needed as usize);
            assert!(check(&png, InputFormat::Png).is_ok(), "{what}");
            image::load_from_memory(&png).unwrap_or_else(|e| panic!("{what}: {e}"));
            let short = stored_png(w, h, depth, colour, interlace, needed as usize - 1);
            assert!(
              image::load_from_memory(&short).is_err(),
              "{what}: one byte short decoded"
            );
          }
        }
      }
    }
  }
}
