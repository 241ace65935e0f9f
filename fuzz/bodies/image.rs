//! Fuzz bodies for `next_native_image`, shared by the libFuzzer targets (fuzz/fuzz_targets) and
//! the stable replay test (crates/image/tests/fuzz_corpus.rs). Public API only.
//!
//! Input layout of the decoding targets: `[width][mode] file…`. `width` picks the output width
//! (1–64), `mode` the output format, quality and cover-resize; the rest is the image file. The
//! pixel limit is [`MAX_PIXELS`] so that every input stays fast, as AV1 decoders' fuzzers cap it.

#![allow(dead_code)]

use next_native_image::{metadata, optimize, InputFormat, OptimizeOptions, OutputFormat};

/// 256×256: headers above it are refused before anything is decoded.
pub const MAX_PIXELS: u64 = 256 * 256;

const OUTPUTS: [OutputFormat; 6] = [
  OutputFormat::Jpeg,
  OutputFormat::Png,
  OutputFormat::Webp,
  OutputFormat::Avif,
  OutputFormat::Gif,
  OutputFormat::Tiff,
];

/// `imageMetadata` on any bytes: the sniffer (ICO, SVG, HEIC, PDF… are refused by name) and
/// every header reader.
pub fn image_metadata(data: &[u8]) {
  if let Ok(m) = metadata(data) {
    assert!((1..=8).contains(&m.orientation), "{m:?}");
  }
}

fn has_magic(file: &[u8], format: InputFormat) -> bool {
  let starts = |m: &[u8]| file.starts_with(m);
  match format {
    InputFormat::Jpeg => starts(&[0xFF, 0xD8, 0xFF]),
    InputFormat::Png => starts(b"\x89PNG\r\n\x1a\n"),
    InputFormat::Gif => starts(b"GIF8"),
    InputFormat::Webp => file.len() >= 12 && starts(b"RIFF") && &file[8..12] == b"WEBP",
    InputFormat::Tiff => starts(b"II*\0") || starts(b"MM\0*"),
    InputFormat::Bmp => starts(b"BM"),
    InputFormat::Avif => file.len() >= 12 && &file[4..8] == b"ftyp",
  }
}

/// `[width][mode] file`: `imageMetadata`, then one small optimize, checked.
pub fn optimize_input(data: &[u8], format: InputFormat) {
  let [width, mode, file @ ..] = data else {
    return;
  };
  if !has_magic(file, format) {
    return;
  }
  let meta = metadata(file);
  let width = u32::from(width % 64) + 1;
  let out_format = OUTPUTS[usize::from(mode % 6)];
  let cover = mode & 0x08 != 0;
  let mut opts = OptimizeOptions::new(width, out_format);
  opts.quality = [75, 1, 100, 50][usize::from(mode >> 4 & 3)];
  opts.max_input_pixels = MAX_PIXELS;
  opts.avif_speed = 10;
  opts.threads = Some(1);
  if cover {
    // A blur placeholder's exact-size, cover-cropped resize (may enlarge).
    opts.height = Some(u32::from(mode >> 6) * 3 + 1);
  }
  let Ok(out) = optimize(file, &opts) else {
    return;
  };
  let meta = meta.expect("optimize succeeded, so the header was readable");
  assert!(out.width >= 1 && out.height >= 1);
  if cover {
    assert_eq!((out.width, out.height), (width, opts.height.unwrap()));
  } else {
    assert_eq!(out.width, width.min(meta.width), "never enlarges");
    assert!(out.height <= meta.height.max(1));
  }
  // Our encoders' output reads back with the size we reported.
  let back =
    metadata(&out.data).unwrap_or_else(|e| panic!("{out_format:?} output unreadable: {e}"));
  assert_eq!(
    (back.width, back.height),
    (out.width, out.height),
    "{out_format:?}"
  );
  assert_eq!(back.orientation, 1, "orientation is applied, not carried");
}

pub fn image_jpeg(data: &[u8]) {
  optimize_input(data, InputFormat::Jpeg)
}

pub fn image_png(data: &[u8]) {
  optimize_input(data, InputFormat::Png)
}

pub fn image_webp(data: &[u8]) {
  optimize_input(data, InputFormat::Webp)
}

pub fn image_gif(data: &[u8]) {
  optimize_input(data, InputFormat::Gif)
}

pub fn image_bmp(data: &[u8]) {
  optimize_input(data, InputFormat::Bmp)
}

pub fn image_tiff(data: &[u8]) {
  optimize_input(data, InputFormat::Tiff)
}

/// AVIF files: our container reader (ftyp/meta/iinf/iloc/iprp/iref/idat, grids, alpha) and
/// then rav1d on whatever the container points at.
pub fn avif_container(data: &[u8]) {
  optimize_input(data, InputFormat::Avif)
}

/// The rav1d decode path on arbitrary AV1 OBUs, wrapped in a fixed, valid AVIF container so
/// that every mutation reaches the decoder: `[width][height][flags] obus…`. `width` and
/// `height` (1–256) go into `ispe` (the frame must match it to get past the decoder); flags
/// pick the bit depth written to `av1C` and an alpha item sharing the same OBUs.
pub fn avif_av1(data: &[u8]) {
  let [w, h, flags, obus @ ..] = data else {
    return;
  };
  let (w, h) = (u32::from(*w) + 1, u32::from(*h) + 1);
  let depth = [8, 10, 12, 8][usize::from(flags & 3)];
  let alpha = (flags & 4 != 0).then_some(obus);
  let file = avif_serialize::Aviffy::new()
    .set_monochrome(flags & 8 != 0)
    .to_vec(obus, alpha, w, h, depth);
  let mut opts = OptimizeOptions::new(w.min(16), OutputFormat::Png);
  opts.max_input_pixels = MAX_PIXELS;
  if let Ok(out) = optimize(&file, &opts) {
    assert_eq!(out.width, w.min(16));
  }
}
