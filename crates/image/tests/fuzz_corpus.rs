//! Replays the committed fuzz corpora of the image targets (fuzz/fuzz_targets/image_*.rs,
//! avif_*.rs) through the same bodies the fuzzers run (fuzz/bodies/image.rs).

#[path = "../../../fuzz/bodies/image.rs"]
mod body;
#[path = "../../../fuzz/bodies/replay.rs"]
mod replay;

use replay::replay;

#[test]
fn image_metadata() {
  replay("image_metadata", body::image_metadata);
}

#[test]
fn image_jpeg() {
  replay("image_jpeg", body::image_jpeg);
}

#[test]
fn image_png() {
  replay("image_png", body::image_png);
}

#[test]
fn image_webp() {
  replay("image_webp", body::image_webp);
}

#[test]
fn image_gif() {
  replay("image_gif", body::image_gif);
}

#[test]
fn image_bmp() {
  replay("image_bmp", body::image_bmp);
}

#[test]
fn image_tiff() {
  replay("image_tiff", body::image_tiff);
}

#[test]
fn avif_container() {
  replay("avif_container", body::avif_container);
}

#[test]
fn avif_av1() {
  replay("avif_av1", body::avif_av1);
}
