//! Content sniffing and animation detection, the one home of both rules (the image route's
//! JS asks the `detectImageType` / `isAnimatedImage` bindings, which only convert types):
//!
//! - [`detect_content_type`]: Next 16.4.6's `detectContentType`, the content type Next gives
//!   any bytes (its magic table, then image-detector on the first 1024 bytes), `None` for
//!   "not an image". The route decides its 400s, passthrough and bypass from it.
//! - [`next_is_animated`]: is-animated 1.2, which Next asks before resizing (passthrough).
//! - [`sniff`]: which of our decoders reads the bytes: the type [`detect_content_type`] gives,
//!   plus animated AVIF (`avis`), which Next does not detect but we read; the rest refused by name.
//! - [`is_animated`]: [`Metadata::animated`](crate::Metadata): [`next_is_animated`], and the
//!   `avis` brand for AVIF.

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

/// Which decoder reads `input`: the type [`detect_content_type`] gives it (Next's rule), or
/// AVIF for an `avis` (image sequence) `ftyp`, which Next does not detect. Types Next passes
/// through or refuses (SVG, ICO, ICNS, JXL, HEIC, PDF, JP2) and bytes that are no image are
/// refused by name.
pub fn sniff(input: &[u8]) -> Result<InputFormat, ImageError> {
  let unsupported = |what: &str| {
    Err(ImageError::UnsupportedFormat {
      what: what.to_string(),
    })
  };
  if input.is_empty() {
    return Err(ImageError::Empty);
  }
  match detect_content_type(input) {
    Some(JPEG) => Ok(InputFormat::Jpeg),
    Some(PNG) => Ok(InputFormat::Png),
    Some(GIF) => Ok(InputFormat::Gif),
    Some(WEBP) => Ok(InputFormat::Webp),
    Some(AVIF) => Ok(InputFormat::Avif),
    Some(TIFF) => Ok(InputFormat::Tiff),
    Some(BMP) => Ok(InputFormat::Bmp),
    Some(SVG) => unsupported("SVG (never rasterised)"),
    Some(ICO) => unsupported("ICO"),
    Some(ICNS) => unsupported("ICNS"),
    Some(JXL) => unsupported("JPEG XL"),
    Some(HEIC) => unsupported("HEIC"),
    Some(JP2) => unsupported("JPEG 2000"),
    Some(PDF) => unsupported("PDF"),
    Some(other) => unsupported(other),
    None => match ftyp_brand(input) {
      Some(b"avis") => Ok(InputFormat::Avif),
      Some(_) => unsupported("ISO-BMFF container that is not AVIF"),
      None => unsupported("unknown (no known image magic bytes; is this text or HTML?)"),
    },
  }
}

// The content types Next names (`server/image-optimizer/image-type.js`).
const JPEG: &str = "image/jpeg";
const PNG: &str = "image/png";
const GIF: &str = "image/gif";
const WEBP: &str = "image/webp";
const AVIF: &str = "image/avif";
const SVG: &str = "image/svg+xml";
const ICO: &str = "image/x-icon";
const ICNS: &str = "image/x-icns";
const TIFF: &str = "image/tiff";
const BMP: &str = "image/bmp";
const JXL: &str = "image/jxl";
const HEIC: &str = "image/heic";
const JP2: &str = "image/jp2";
const PDF: &str = "application/pdf";

/// Next 16.4.6's `detectContentType` (`server/image-optimizer/detect-content-type.js`): its
/// magic table, then image-detector on the first 1024 bytes, whose heif/cur/dds/j2c/ktx/pnm/
/// psd/tga answers mean "not an image" (`None`). Any bytes get an answer; `None` for empty.
pub fn detect_content_type(input: &[u8]) -> Option<&'static str> {
  if input.is_empty() {
    return None;
  }
  let starts = |magic: &[u8]| input.starts_with(magic);
  // An ISO-BMFF `ftyp` box with a plausible size and this major brand.
  let ftyp = |brand: &[u8]| ftyp_brand(input) == Some(brand);
  if starts(&[0xFF, 0xD8, 0xFF]) {
    return Some(JPEG);
  }
  if starts(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
    return Some(PNG);
  }
  if starts(b"GIF8") {
    return Some(GIF);
  }
  if input.len() >= 12 && starts(b"RIFF") && &input[8..12] == b"WEBP" {
    return Some(WEBP);
  }
  if starts(b"<?xml") || starts(b"<svg") {
    return Some(SVG);
  }
  if ftyp(b"avif") {
    return Some(AVIF);
  }
  if starts(&[0, 0, 1, 0]) {
    return Some(ICO);
  }
  if starts(b"icns") {
    return Some(ICNS);
  }
  if starts(b"II*\0") {
    return Some(TIFF);
  }
  if starts(b"BM") {
    return Some(BMP);
  }
  if starts(&[0xFF, 0x0A]) || starts(b"\0\0\0\x0CJXL \r\n\x87\n") {
    return Some(JXL);
  }
  if ftyp(b"heic") {
    return Some(HEIC);
  }
  if starts(b"%PDF-") {
    return Some(PDF);
  }
  if starts(b"\0\0\0\x0CjP  \r\n\x87\n") {
    return Some(JP2);
  }
  match image_detector(&input[..input.len().min(1024)])? {
    "webp" => Some(WEBP),
    "png" => Some(PNG),
    "jpg" => Some(JPEG),
    "gif" => Some(GIF),
    "svg" => Some(SVG),
    "jxl" | "jxl-stream" => Some(JXL),
    "jp2" => Some(JP2),
    "tiff" => Some(TIFF),
    "bmp" => Some(BMP),
    "ico" => Some(ICO),
    "icns" => Some(ICNS),
    _ => None,
  }
}

/// A recognised ISO-BMFF `ftyp` box's major brand (Next requires a plausible box size, so text
/// that merely starts with "....ftypavif" is not an image).
fn ftyp_brand(input: &[u8]) -> Option<&[u8]> {
  if input.len() < 12 || &input[4..8] != b"ftyp" {
    return None;
  }
  let size = u32::from_be_bytes([input[0], input[1], input[2], input[3]]) as usize;
  (16..=input.len()).contains(&size).then(|| &input[8..12])
}

// image-detector's readers, where JS reads past the end as `undefined` (a NaN number, a
// shorter string): `None` then, which equals no value.
fn u16le(t: &[u8], o: usize) -> Option<u32> {
  Some(u32::from(*t.get(o)?) + u32::from(*t.get(o + 1)?) * 256)
}

fn u32be(t: &[u8], o: usize) -> Option<u32> {
  Some(u32::from_be_bytes(t.get(o..o + 4)?.try_into().ok()?))
}

/// `new TextDecoder().decode(t.subarray(a, b)) === s` for an ASCII `s`: true only for those
/// exact bytes (a shorter range, a stripped BOM or U+FFFD never equals it).
fn text_is(t: &[u8], a: usize, b: usize, s: &[u8]) -> bool {
  t.get(a..b) == Some(s)
}

/// image-detector's `findBox`: the offset of the first box named `name` from `n`.
fn find_box(t: &[u8], name: &[u8], mut n: usize) -> Option<usize> {
  while n < t.len() {
    let size = u32be(t, n)? as usize;
    if t.len() - n < size {
      return None;
    }
    if text_is(t, n + 4, n + 8, name) {
      return Some(n);
    }
    n += if size > 0 { size } else { 8 };
  }
  None
}

fn box_brand(t: &[u8], magic: &[u8], brands: &[&[u8]]) -> bool {
  if !text_is(t, 4, 8, magic) {
    return false;
  }
  find_box(t, b"ftyp", 0)
    .is_some_and(|o| brands.iter().any(|brand| text_is(t, o + 8, o + 12, brand)))
}

/// JS's `\s`: Rust's white space without U+0085, plus U+FEFF.
fn js_space(c: char) -> bool {
  (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `/<svg\s([^>"']|"[^"]*"|'[^']*')*>/` on the text of the first 1000 bytes: `<svg`, white
/// space, then a `>` reached through unquoted characters and whole quoted strings.
fn has_svg_tag(t: &[u8]) -> bool {
  let text = String::from_utf8_lossy(&t[..t.len().min(1000)]);
  let chars: Vec<char> = text.chars().collect();
  let opens_tag = |i: usize| {
    chars[i..].starts_with(&['<', 's', 'v', 'g']) && chars.get(i + 4).is_some_and(|&c| js_space(c))
  };
  let closes = |mut i: usize| {
    while let Some(&c) = chars.get(i) {
      match c {
        '>' => return true,
        '"' | '\'' => match chars[i + 1..].iter().position(|&d| d == c) {
          Some(len) => i += len + 2,
          None => return false,
        },
        _ => i += 1,
      }
    }
    false
  };
  (0..chars.len()).any(|i| opens_tag(i) && closes(i + 5))
}

/// An image-detector test on the first 1024 bytes.
type Detector = fn(&[u8]) -> bool;

const DETECTORS: [(&str, Detector); 20] = [
  ("bmp", |t| text_is(t, 0, 2, b"BM")),
  ("cur", |t| {
    u16le(t, 0) == Some(0) && u16le(t, 4) != Some(0) && u16le(t, 2) == Some(2)
  }),
  (
    "dds",
    |t| matches!((u16le(t, 0), u16le(t, 2)), (Some(a), Some(b)) if a + b * 65536 == 542_327_876),
  ),
  ("gif", |t| {
    text_is(t, 0, 6, b"GIF87a") || text_is(t, 0, 6, b"GIF89a")
  }),
  ("heif", |t| {
    box_brand(
      t,
      b"ftyp",
      &[
        b"avif", b"mif1", b"msf1", b"heic", b"heix", b"hevc", b"hevx",
      ],
    )
  }),
  ("icns", |t| text_is(t, 0, 4, b"icns")),
  ("ico", |t| {
    u16le(t, 0) == Some(0) && u16le(t, 4) != Some(0) && u16le(t, 2) == Some(1)
  }),
  ("j2c", |t| u32be(t, 0) == Some(4_283_432_785)),
  ("jp2", |t| box_brand(t, b"jP  ", &[b"jp2 "])),
  ("jpg", |t| {
    t.first() == Some(&0xFF) && t.get(1) == Some(&0xD8)
  }),
  ("jxl", |t| box_brand(t, b"JXL ", &[b"jxl "])),
  ("jxl-stream", |t| {
    t.first() == Some(&0xFF) && t.get(1) == Some(&0x0A)
  }),
  ("ktx", |t| {
    text_is(t, 1, 7, b"KTX 11") || text_is(t, 1, 7, b"KTX 20")
  }),
  ("png", |t| text_is(t, 1, 8, b"PNG\r\n\x1a\n")),
  ("pnm", |t| {
    [b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7", b"PF"]
      .iter()
      .any(|m| text_is(t, 0, 2, *m))
  }),
  ("psd", |t| text_is(t, 0, 4, b"8BPS")),
  ("svg", has_svg_tag),
  ("tga", |t| u16le(t, 0) == Some(0) && u16le(t, 4) == Some(0)),
  ("tiff", |t| {
    text_is(t, 0, 4, b"II*\0") || text_is(t, 0, 4, b"MM\0*")
  }),
  ("webp", |t| {
    text_is(t, 0, 4, b"RIFF") && text_is(t, 8, 12, b"WEBP") && text_is(t, 12, 15, b"VP8")
  }),
];

/// image-detector (the version Next compiles in): the detector its first byte suggests, if it
/// agrees, else the first detector in table order that does.
fn image_detector(t: &[u8]) -> Option<&'static str> {
  let first = match t.first()? {
    56 => Some("psd"),
    66 => Some("bmp"),
    68 => Some("dds"),
    71 => Some("gif"),
    73 | 77 => Some("tiff"),
    82 => Some("webp"),
    105 => Some("icns"),
    137 => Some("png"),
    255 => Some("jpg"),
    _ => None,
  };
  let detects = |name: &str| DETECTORS.iter().any(|(n, f)| *n == name && f(t));
  if let Some(name) = first.filter(|name| detects(name)) {
    return Some(name);
  }
  DETECTORS.iter().find(|(_, f)| f(t)).map(|(name, _)| *name)
}

/// Whether Next would treat the image as animated (and pass it through unchanged).
/// GIF/PNG/WebP: [`next_is_animated`]. AVIF: the `avis` brand (Next does not detect animated
/// AVIF; we report it for callers who care).
pub fn is_animated(format: InputFormat, input: &[u8]) -> bool {
  match format {
    InputFormat::Gif | InputFormat::Png | InputFormat::Webp => next_is_animated(input),
    InputFormat::Avif => ftyp_brand(input) == Some(b"avis"),
    _ => false,
  }
}

/// Node's `buf.subarray(a, b).toString('ascii') === s`: Node clears each byte's high bit.
fn ascii_is(b: &[u8], a: usize, s: &[u8]) -> bool {
  b.get(a..a + s.len())
    .is_some_and(|got| got.iter().zip(s).all(|(x, y)| x & 0x7F == *y))
}

/// is-animated 1.2 (`compiled/is-animated`, asked by `server/image-optimizer/transform.js`)
/// on any bytes, byte for byte: GIF, more than one image descriptor; PNG, a real APNG
/// (`acTL`, then `fcTL`+`IDAT`, then `fdAT`); WebP, the bytes `ANIM` anywhere (false positives
/// included). Reads past the end as is-animated does (a missing byte ends a walk); a PNG
/// chunk header cut short ends the walk where is-animated would throw.
pub fn next_is_animated(b: &[u8]) -> bool {
  if ascii_is(b, 0, b"GIF") {
    return gif_has_two_frames(b);
  }
  if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
    return is_apng(b);
  }
  if b.get(8..12) == Some(b"WEBP") {
    return b.windows(4).any(|w| w == b"ANIM");
  }
  false
}

fn gif_has_two_frames(b: &[u8]) -> bool {
  // is-animated's getDataBlocksLength: sub-blocks until a zero (or missing) length byte.
  let blocks = |i: usize| {
    let mut n = 0usize;
    while let Some(&len) = b.get(i.saturating_add(n)).filter(|&&l| l != 0) {
      n += usize::from(len) + 1;
    }
    n + 1
  };
  let table = |packed: Option<&u8>| match packed {
    Some(&p) if p & 0x80 != 0 => 3 << ((p & 7) + 1),
    _ => 0,
  };
  // Header (6) + logical screen descriptor (7), then the global colour table.
  let mut i = 13 + table(b.get(10));
  let mut frames = 0;
  while frames < 2 && i < b.len() {
    match b[i] {
      0x2C => {
        frames += 1;
        i += 10 + table(b.get(i + 9));
        // LZW minimum code size, then the data sub-blocks.
        i = i.saturating_add(blocks(i + 1) + 1);
      }
      0x21 => {
        i += 2;
        i = i.saturating_add(blocks(i));
      }
      _ => i = b.len(),
    }
  }
  frames > 1
}

fn is_apng(b: &[u8]) -> bool {
  let (mut actl, mut idat, mut fdat) = (false, false, false);
  let mut previous: Option<[u8; 4]> = None;
  let mut pos = 8usize;
  while pos.saturating_add(8) <= b.len() {
    let len = u32::from_be_bytes([b[pos], b[pos + 1], b[pos + 2], b[pos + 3]]) as usize;
    // Compared as Node's 'ascii' decoding reads it: high bits cleared.
    let kind = [b[pos + 4], b[pos + 5], b[pos + 6], b[pos + 7]].map(|c| c & 0x7F);
    let after = |names: [&[u8; 4]; 2]| previous.is_some_and(|p| names.contains(&&p));
    match &kind {
      b"acTL" => actl = true,
      b"IDAT" => {
        if !actl || !after([b"fcTL", b"IDAT"]) {
          return false;
        }
        idat = true;
      }
      b"fdAT" => {
        if !idat || !after([b"fcTL", b"fdAT"]) {
          return false;
        }
        fdat = true;
      }
      _ => {}
    }
    previous = Some(kind);
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
    // Next does not detect an image sequence's `avis` brand; we read its still item.
    assert_eq!(
      sniff(b"\0\0\0\x18ftypavis\0\0\0\0avismsf1"),
      Ok(InputFormat::Avif)
    );
    assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Ok(InputFormat::Tiff));
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

  fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
      .step_by(2)
      .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
      .collect()
  }

  // Next's answers (the route's former JS copies of detect-content-type.js, image-detector and
  // is-animated 1.2, run over the same bytes): odd and truncated inputs included.
  #[test]
  fn detect_content_type_gives_nexts_answer() {
    let cases: &[(&str, Option<&str>, &str)] = &[
      ("jpeg_magic", Some("image/jpeg"), "ffd8ffe0"),
      ("jpeg_detector", Some("image/jpeg"), "ffd80000"),
      ("png_any_first", Some("image/png"), "78504e470d0a1a0a"),
      ("tiff_mm", Some("image/tiff"), "4d4d002a00000008"),
      ("svg_late", Some("image/svg+xml"), "3c21444f43545950452068746d6c3e3c7376672077696474683d223122206865696768743d2231223e3c2f7376673e"),
      ("svg_quoted_gt", Some("image/svg+xml"), "3c68746d6c3e3c73766720613d273e2720623d22783e223e"),
      ("svg_unclosed_quote", None, "3c68746d6c3e3c73766720613d22783e"),
      ("svg_no_space", None, "20203c7376672f3e"),
      ("svg_nbsp", Some("image/svg+xml"), "3c703e3c737667c2a03e"),
      ("svg_nel", None, "3c703e3c737667c2853e"),
      ("avif_text", None, "0000001466747970617669662068656c6c6f"),
      ("avis", None, "00000018667479706176697300000000617669736d736631"),
      ("mif1", None, "00000018667479706d696631000000006d69663168656963"),
      ("heic", Some("image/heic"), "000000186674797068656963000000006d69663168656963"),
      ("cur", None, "000002000100"),
      ("tga", None, "000002000000"),
      ("short_cur", None, "00000200"),
      ("pnm", None, "50360a3120310a3235350a"),
      ("psd", None, "384250530001"),
      ("jxl_stream", Some("image/jxl"), "ff0a"),
      ("ico_magic", Some("image/x-icon"), "000001000100"),
      ("bm", Some("image/bmp"), "424d"),
      ("text", None, "68656c6c6f20776f726c64"),
      ("webp_vp8", Some("image/webp"), "52494646000000005745425056503820"),
      ("riff_short", None, "5249464600000000574542"),
      ("j2c", None, "ff4fff5100"),
      ("ktx", None, "ab4b5458203131bb"),
      ("dds", None, "444453207c000000"),
      ("jp2_box", None, "000000146a5020200d0a870a00000014667479706a70322000000000"),
    ];
    for (name, want, bytes) in cases {
      assert_eq!(detect_content_type(&hex(bytes)), *want, "{name}");
    }
  }

  #[test]
  fn next_is_animated_gives_is_animateds_answer() {
    let cases: &[(&str, bool, &str)] = &[
      ("gif_two", true, "474946383961010001000000002c00000000010001000002024401002c00000000010001000002024401003b"),
      ("gif_one", false, "474946383961010001000000002c00000000010001000002024401003b"),
      ("gif_second_cut", true, "474946383961010001000000002c00000000010001000002024401002c"),
      ("gif_masked", true, "c7c9c6383961010001000000002c00000000010001000002024401002c"),
      ("gif_short", false, "474946"),
      ("gif_ext_then_two", true, "4749463839610100010000000021f90400000000002c00000000010001000002024401002c000000000100010000"),
      ("webp_anim", true, "5249464600000000574542505650385878787878414e494d"),
      ("webp_still", false, "5249464600000000574542505650382078787878"),
      ("xxxx_webp_anim", true, "787878787878787857454250414e494d"),
      ("empty", false, ""),
      ("apng", true, "89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000086163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c00000000000000000000000000000000000000000000000000000000000000000005666441540000000000000000000000000049454e4400000000"),
      ("apng_cut_header", true, "89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000086163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000000000"),
      ("apng_masked", true, "89504e470d0a1a0a0000000d49484452000000000000000000000000000000000000000008e163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000"),
      ("apng_idat_first", false, "89504e470d0a1a0a0000000d49484452000000000000000000000000000000000000000001494441540000000000000000086163544c0000000000000000000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000"),
      ("png_still", false, "89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000014944415400000000000000000049454e4400000000"),
    ];
    for (name, want, bytes) in cases {
      assert_eq!(next_is_animated(&hex(bytes)), *want, "{name}");
    }
  }
}
