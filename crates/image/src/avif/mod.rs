//! AVIF input: our own reader for the HEIF/ISO-BMFF container and rav1d, the Rust port of
//! dav1d (BSD-2), for the AV1 payload. YUV is converted to 8-bit RGB(A) here.
//!
//! Modules: `container` (the box reader), `av1` (items to pixels: `av01`, grids, alpha),
//! `yuv` (YUV → RGB), `rav1d_ffi` (the `unsafe` wrapper around rav1d's C API), `aom_ffi`
//! (the `unsafe` wrapper around libaom's encoder; these two are the only `unsafe` here), and
//! `encode` (AVIF output: RGB → YCbCr, libaom settings, the container).
//!
//! Read: the `meta` box's primary item (`pitm`), item types (`iinf`/`infe`), locations
//! (`iloc`, extents in the file or in `idat`), properties (`iprp`: `ispe`, `colr` nclx or ICC,
//! `irot`, `imir`, `auxC`) and references (`iref`: `auxl` alpha, `prem`, `dimg` grid tiles).
//! `av01` items and `grid` items made of `av01` tiles are decoded; an alpha auxiliary item is
//! decoded too and kept as a fourth channel (un-premultiplied when `prem` says so).
//!
//! Colour: 4:0:0/4:2:0/4:2:2/4:4:4, 8/10/12-bit, limited or full range (from the AV1 sequence
//! header, as libavif does), matrix from `colr` nclx else the sequence header: BT.601
//! (also for "unspecified"), BT.709, BT.2020, FCC, SMPTE 240, identity (GBR), YCgCo, and
//! chromaticity-derived for BT.709/BT.2020/P3 primaries. Chroma is upsampled by repetition
//! (nearest neighbour), as sharp's libheif does. An ICC `colr` becomes [`Raster::icc`];
//! nclx primaries other than BT.709 (Display P3, BT.2020, ...) and gamma 2.2/2.8/linear
//! transfers become an ICC profile built by moxcms, so the usual ICC path converts them to sRGB.
//! BT.709-family transfers are treated as sRGB (as libvips does), and HDR transfers (PQ, HLG)
//! are not tone-mapped: their code values are taken as sRGB.
//!
//! Not read: image sequences without a still primary item (tracks), `clap` cropping, layered
//! images beyond the highest layer, items in other files or built from other items (`iloc`
//! construction method 2), grids of grids. Precision: 10/12-bit samples are converted straight
//! to 8-bit RGB.
//!
//! Panics: our parsing and conversion run inside `decode::guarded` (and `contain::run`'s
//! catch), so a bug there becomes `IMAGE_DECODE`. rav1d is only reachable through its
//! dav1d-compatible `extern "C"` API, and Rust aborts (it cannot unwind) if a panic reaches
//! such a function; its portable DSP functions are `extern "C"` too, on its worker threads. So
//! the whole decode runs in `contain::run`, and every rav1d call goes through
//! `contain::foreign`: a rav1d panic parks its thread and fails the call, a hang fails it after
//! [`decode_timeout`] (see `contain.rs`). One rav1d bug is known and avoided rather than
//! contained, since contained panics cost a parked thread each: with a single frame context
//! rav1d 1.1.0 panics on *any* tile decode error (memorysafety/rav1d#1497), so we decode with
//! two frame contexts, which means two rav1d worker threads per decode.
//! tests/avif.rs feeds truncated and bit-flipped files: none makes rav1d panic or hang.
//!
//! The container reader stays ours rather than a crate (decided in issue #14). It is about 600
//! lines of safe, bounds-checked Rust over just the boxes listed above, and refuses the rest
//! with a named error (other files, construction method 2, grids of grids, non-`pict`
//! handlers, over 65 536 extents); the `avif_container` fuzz target covers it, and its corpus is
//! replayed by every `cargo test` (tests/fuzz_corpus.rs). `avif-parse` (MPL-2.0, which an MIT
//! binary may include) would add bitreader, fallible_collections and leb128 and a deny.toml
//! licence entry, and its `AvifData` (1.3) returns only item bytes and `prem`: `ispe`,
//! `irot`/`imir`, `colr` and grids would stay ours anyway. `mp4parse` is a whole MP4 demuxer.
//! Revisit if we ever read image sequences (tracks).

#[allow(unsafe_code)]
mod aom_ffi;
mod av1;
mod container;
pub(crate) mod encode;
#[allow(unsafe_code)]
mod rav1d_ffi;
mod yuv;

use std::fmt::Display;

use crate::decode::{check_pixels, Header, Raster};
use crate::ImageError;
use container::File;
pub use encode::{avif_quality, DEFAULT_AVIF_SPEED};

fn err(reason: impl Display) -> ImageError {
  ImageError::decode("AVIF", reason)
}

fn unsupported(what: impl Display) -> ImageError {
  ImageError::UnsupportedFormat {
    what: format!("AVIF {what}"),
  }
}

fn fourcc(kind: [u8; 4]) -> String {
  String::from_utf8_lossy(&kind).into_owned()
}

/// The primary item's size (`ispe`, stored orientation); an item without one is refused.
fn primary_size(file: &File) -> Result<(u32, u32), ImageError> {
  file
    .ispe(file.primary)
    .ok_or_else(|| err("the primary item has no size (ispe)"))
}

/// Size (stored orientation), orientation (`irot`/`imir`) and alpha from the container.
pub(crate) fn header(input: &[u8]) -> Result<Header, ImageError> {
  let file = File::parse(input)?;
  let id = file.primary;
  let (width, height) = primary_size(&file)?;
  Ok(Header {
    width,
    height,
    orientation: file.orientation(id),
    has_alpha: file.alpha_item(id).is_some(),
  })
}

/// Decodes the primary item (and its alpha) to 8-bit RGB/RGBA in stored orientation, on a
/// contained thread (`contain.rs`): a panic inside rav1d becomes `IMAGE_DECODE` instead of an
/// abort, and a hang becomes `IMAGE_DECODE` after [`decode_timeout`].
pub(crate) fn decode(input: &[u8], limit: u64) -> Result<Raster, ImageError> {
  // The container is read here first (cheaply) to refuse garbage without a thread and to size
  // the timeout; the thread reads its own copy of the input.
  let file = File::parse(input)?;
  let id = file.primary;
  let (w, h) = primary_size(&file)?;
  check_pixels(w.into(), h.into(), limit)?;
  let planes = if file.alpha_item(id).is_some() { 2 } else { 1 };
  let timeout = decode_timeout(u64::from(w) * u64::from(h) * planes);
  let input = input.to_vec();
  crate::contain::run("AVIF", "the AV1 decoder", timeout, move || {
    av1::decode_contained(&input, limit)
  })
}

/// How long a caller waits for a contained decode: time a valid file should never need. 10 s
/// covers thread start-up and a loaded machine; each pixel (colour and alpha counted apart)
/// adds 1 µs. Whole optimizations of AVIF input (decode, resize, encode) took 0.25-0.39 µs a
/// pixel in a *debug* build at load average 8 on 2 cores (tests/contain.rs `avif_decode_rate`);
/// release builds are faster. A 12 Mpx photo waits at most 22 s, the 268 Mpx limit 278 s. Only
/// a hang (a rav1d bug) reaches it; its `optimize` slot is held that long, then the thread
/// counts as stuck (`contain::MAX_STUCK`). Next puts no limit on sharp's decode at all.
pub(crate) fn decode_timeout(pixels: u64) -> std::time::Duration {
  std::time::Duration::from_secs(10) + std::time::Duration::from_micros(pixels)
}
