//! YCbCr and JPEG-compressed TIFF input against sharp: 16 px PNG thumbnails of the fixtures in
//! `fixtures/` (made by `fixtures/make-fixtures.js` with sharp 0.35.5) compared with sharp's own,
//! as a mean absolute error per channel.

mod common;

use common::{fixture, mae_rgb, rgb};
use next_native_image::{metadata, optimize, OptimizeOptions, OutputFormat};

/// Checks the header size, then returns the mean absolute error per channel between our
/// 16 px PNG and sharp's (`<stem>.sharp16.png`).
fn mae_against_sharp(source: &str, size: (u32, u32)) -> f64 {
  mae_against(source, size, "sharp16")
}

fn mae_against(source: &str, size: (u32, u32), reference: &str) -> f64 {
  let input = fixture(source);
  let meta = metadata(&input).unwrap_or_else(|e| panic!("{source}: {e}"));
  assert_eq!((meta.width, meta.height), size, "{source}");
  let ours = optimize(&input, &OptimizeOptions::new(16, OutputFormat::Png))
    .unwrap_or_else(|e| panic!("{source}: {e}"));
  let stem = source.rsplit_once('.').unwrap().0;
  let mae = mae_rgb(
    &ours.data,
    &fixture(&format!("{stem}.{reference}.png")),
    source,
  );
  eprintln!("{source}: MAE {mae:.2} against {reference}");
  mae
}

#[test]
fn rgb_jpeg_tiff_matches_sharp() {
  assert!(mae_against_sharp("photo-rgb-jpeg.tif", (256, 160)) <= 5.0);
}

#[test]
fn ycbcr_jpeg_tiff_matches_sharp() {
  assert!(mae_against_sharp("photo-ycbcr-jpeg.tif", (256, 160)) <= 5.0);
}

/// libvips passes uncompressed 4:4:4 YCbCr samples through as RGB (sharp's thumbnail is MAE 31
/// off the picture), so this one is compared with sharp's thumbnail of the source pixels.
#[test]
fn ycbcr_uncompressed_tiff_matches_the_picture() {
  assert!(mae_against("photo-ycbcr.tif", (64, 40), "source16") <= 5.0);
  assert!(mae_against_sharp("photo-ycbcr.tif", (64, 40)) > 20.0);
}

#[test]
fn ycbcr_subsampled_uncompressed_tiff_matches_sharp() {
  assert!(mae_against_sharp("photo-ycbcr-420.tif", (64, 40)) <= 5.0);
}

#[test]
fn truncated_ycbcr_tiffs_are_decode_errors() {
  for name in [
    "photo-ycbcr-jpeg.tif",
    "photo-ycbcr.tif",
    "photo-ycbcr-420.tif",
  ] {
    let input = fixture(name);
    let cut = &input[..input.len() - input.len() / 4];
    assert!(metadata(cut).is_ok(), "{name}: the header is intact");
    let err = optimize(cut, &OptimizeOptions::new(16, OutputFormat::Png)).unwrap_err();
    assert_eq!(err.code(), "IMAGE_DECODE", "{name}: {err}");
  }
}

/// `photo-ycbcr.tif`'s 4:4:4 samples re-encoded by the `tiff` crate with a compression.
fn recompressed(compression: tiff::encoder::Compression) -> Vec<u8> {
  let mut dec =
    tiff::decoder::Decoder::new(std::io::Cursor::new(fixture("photo-ycbcr.tif"))).unwrap();
  let (w, h) = dec.dimensions().unwrap();
  let tiff::decoder::DecodingResult::U8(samples) = dec.read_image().unwrap() else {
    panic!("8-bit samples expected");
  };
  let mut out = std::io::Cursor::new(Vec::new());
  tiff::encoder::TiffEncoder::new(&mut out)
    .unwrap()
    .with_compression(compression)
    .write_image::<tiff::encoder::colortype::YCbCr8>(w, h, &samples)
    .unwrap();
  out.into_inner()
}

#[test]
fn compressed_ycbcr_444_tiffs_decode_like_uncompressed() {
  let reference = rgb(
    &optimize(
      &fixture("photo-ycbcr.tif"),
      &OptimizeOptions::new(16, OutputFormat::Png),
    )
    .unwrap()
    .data,
  );
  for (name, compression) in [
    ("LZW", tiff::encoder::Compression::Lzw),
    ("PackBits", tiff::encoder::Compression::Packbits),
    (
      "Deflate",
      tiff::encoder::Compression::Deflate(tiff::encoder::DeflateLevel::Balanced),
    ),
  ] {
    let input = recompressed(compression);
    let out = optimize(&input, &OptimizeOptions::new(16, OutputFormat::Png))
      .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(rgb(&out.data), reference, "{name}");
  }
}
