//! `/_next/image`'s optimizer without sharp: decode JPEG/PNG/WebP/AVIF/GIF/BMP/TIFF,
//! auto-orient (EXIF, AVIF `irot`/`imir`), convert to sRGB (ICC, CMYK, AVIF nclx),
//! Lanczos3-resize (never enlarging), strip all metadata and encode JPEG/PNG/WebP/AVIF with the
//! settings Next 16.4.6 gives sharp (and GIF or TIFF for such sources, which Next re-encodes in
//! their own format). Entry points: [`optimize`], [`metadata`], [`blur_placeholder`].
//!
//! It refuses, with a distinct [`ImageError::code`]: empty input, bytes that are not a
//! raster image we read (SVG, ICO, PDF, text, HEIC; AVIF image sequences without a still item),
//! headers over [`DEFAULT_MAX_INPUT_PIXELS`] (checked before any pixel buffer is allocated),
//! headers claiming more pixels than the file's data can produce or cover (`plausible.rs`,
//! also before any pixel buffer), and truncated or corrupt data. It never panics on bad input:
//! decoder panics are caught and reported as `IMAGE_DECODE` (inside rav1d, the AV1 decoder,
//! they are contained instead of caught; see rav1d below). Animated
//! inputs are not refused (unless their canvas fails that coverage rule) but only their first
//! frame is used, composited on the full canvas; Next passes animated GIF/APNG/WebP through
//! untouched, so check [`Metadata::animated`] first, as Next does (it decodes animated AVIF as
//! a still).
//!
//! The one thing to know: everything is synchronous, CPU-bound and single-image, and at most
//! `available_parallelism()` `optimize` calls (the core count) run at once in a process; more
//! callers wait for a slot before decoding anything, so a burst of requests cannot hold a
//! decoded image per thread. A caller that bounds its own concurrency (the JS image handler's
//! queue) skips that gate with [`OptimizeOptions::gate`] `= false`. Only AVIF uses more than the calling thread: encoding (see
//! [`OptimizeOptions::threads`]) and decoding (a thread of its own plus two rav1d worker
//! threads while the caller waits; see `avif/` for why two, and rav1d below for why a thread
//! of its own).
//!
//! # Native (C) dependencies, and why
//! - **mozjpeg** (`mozjpeg` → `mozjpeg-sys`, IJG + BSD-3 + zlib): Next asks sharp for
//!   `jpeg({ mozjpeg: true })` (trellis, optimised progressive scans, quant table 3); no pure
//!   Rust encoder has trellis quantisation or optimised scans, so files would be larger.
//!   Its x86 SIMD is assembled with **nasm** at build time.
//! - **libwebp** (`webp` → `libwebp-sys`, BSD-3, built from vendored C with `cc`): the only
//!   lossy WebP encoder (`image-webp` encodes lossless only), and the one sharp uses, so
//!   sizes match.
//! - **libaom** (`libaom-sys`, BSD-2 + the AOMedia patent licence; encoder only, built from
//!   source with **cmake** and **nasm**, linked statically) encodes AVIF: the encoder sharp
//!   uses through libheif, configured as libheif configures it (`avif/aom_ffi.rs`). It only
//!   returns error codes and never calls back into Rust. Chosen by measurement (sharp 0.35.5
//!   with aom 3.15.1 as the anchor, Next's q75 and `effort: 3`, the 7 benchmark photos at
//!   640/1080 px, one thread each, SSIMULACRA2 against the same lossless reference):
//!
//!   | encoder | bytes vs sharp at equal mean quality | time vs sharp | licence | notes |
//!   | --- | --- | --- | --- | --- |
//!   | rav1e 0.8 (ravif 0.13, speed 8), before | 1.31× | 1.16× (one photo) | BSD-2 | pure Rust; no speed setting reaches libaom's bytes |
//!   | libaom 3.11, tune SSIM, cq-level −3, no intra block copy (chosen) | 1.08× (640/1080 px; 1.06× at +0.9 over 640/1920) | 0.70–0.78× | BSD-2 | + ~5 min cmake build per profile |
//!   | libaom 3.11, tune SSIM, libheif's cq-level | 0.86× at −5.4 SSIMULACRA2 | 0.72× | BSD-2 | what libheif < 1.21 did |
//!   | libaom 3.11, `tune=iq` emulated (QM, sharpness 7, chroma delta-q) | 0.57× at −18 | 0.74× | BSD-2 | without aom 3.13's variance-boost delta-q it only loses quality |
//!   | SVT-AV1 | not measured | | BSD-3 | no 4:4:4 (main profile only), which Next's AVIF is |
//!
//!   The remaining 1.08× is aom 3.15's `tune=iq`, which sharp's libheif 1.23 picks and no
//!   libaom on crates.io has (libaom-sys 0.17.2 vendors 3.11.0).
//! - **rav1d** (BSD-2), the Rust port of dav1d (the AV1 decoder libheif gives sharp), decodes
//!   AVIF input; like dav1d it has x86 assembly, assembled with **nasm** (and `cc` for ARM).
//!   There is no pure-Rust AV1 decoder of our own licence class: the safe-SIMD rav1d fork is
//!   AGPL, and the other AVIF decoders bind C dav1d/libaom (meson/cmake). The AVIF container
//!   we read ourselves (`avif/container.rs`; the `avif` module says why).
//!   rav1d's only public API is `extern "C"`, where a panic aborts the process instead of
//!   unwinding (so do its `extern "C"` DSP fallbacks on its worker threads). Each AVIF decode
//!   therefore runs contained (`contain.rs`): on a thread of its own, where a rav1d panic is
//!   stopped in the panic hook before it unwinds, answered as `IMAGE_DECODE` ("the AV1 decoder
//!   panicked: …") and its thread parked for good; a decode that hangs is answered after a
//!   timeout (10 s + 1 µs per pixel). **What it refuses:** once [`MAX_STUCK`] (8) decode
//!   threads are parked or hung, every AVIF decode, with `IMAGE_DECODE` naming why, until the
//!   process restarts (the image route then serves the source, as Next does for a failed
//!   decode). **The one thing to know:** a parked thread's memory is leaked (at most one
//!   decode each), and once a thread is parked, a call to `std::panic::set_hook`/`take_hook`
//!   hangs (libtest makes one at its end). Aborts that are not panics (allocation failure, stack overflow, rav1d's two
//!   `abort()`s in states it holds unreachable, a fault in its assembly) are not contained.
//!
//! - mozjpeg's C library is libjpeg-turbo, so it also **decodes** our 8-bit YCbCr and grey
//!   JPEGs (`mozjpeg-sys` directly, for its error manager): SIMD IDCT and colour conversion
//!   and any `n/8` scale, the decoder libvips uses. Against the pure-Rust `jpeg-decoder` it
//!   took 10–25 % off whole optimizations (path-2560x1600.jpg → 640 px WebP: 45 → 34 ms;
//!   flow-5120x2880.jpg, progressive, → 640: 230 → 189 ms).
//!
//! Everything else is pure Rust: `jpeg-decoder` (headers, and CMYK/YCCK and 12-bit JPEG
//! pixels, with Adobe's inversion undone), `image` (PNG/GIF/WebP/BMP/TIFF decoding), our
//! AVIF container reader and YUV→RGB conversion (`avif/`),
//! `fast_image_resize` (SIMD Lanczos3), `moxcms` (ICC incl. CMYK LUT profiles; `image` already
//! depends on it, so it adds no crate), `png` + `quantette` (palette PNG; the libimagequant
//! that sharp uses is GPL-3).
//!
//! # Deliberate differences from sharp
//! - AVIF: libaom 3.11 under tune SSIM with a cq-level 3 finer than libheif's formula, where
//!   sharp 0.35 runs aom 3.15 under `tune=iq` (see the table above): the same mean quality,
//!   distributed differently (sharp spends more on smooth images, less on busy ones).
//! - PNG: quantette (Wu + k-means in Oklab, opaque colour), our own grey-level quantiser and
//!   our own premultiplied-Oklab RGBA quantiser (translucent images) instead of
//!   libimagequant, Floyd–Steinberg at 0.5 (0.65 for translucent images) instead of 1.0;
//!   `quality` does not change the palette size (libimagequant stops early at its target).
//! - GIF: `image`'s encoder (NeuQuant palette, no dithering) instead of cgif + libimagequant.
//! - TIFF: lossless LZW with the horizontal predictor; sharp's default is JPEG-in-TIFF q80.
//! - Untagged CMYK goes through libvips's own default CMYK profile (`profiles/cmyk.icm`,
//!   public domain), with LittleCMS's black point compensation done by hand (moxcms has none);
//!   sharp's LittleCMS 2.19.1 leaves that black point un-neutralised (a bug fixed upstream
//!   since), so its deepest blues are a little lower: MAE 1.75 against sharp on a photo.
//! - Uncompressed 4:4:4 YCbCr TIFFs are converted to RGB; libvips shows their samples as RGB.
//! - WebP inputs are decoded at full size (libwebp's scaled decode is not available).
//! - Grey images are written as RGB (sharp keeps one band for JPEG).
//! - AVIF input: 10/12-bit samples go straight to 8-bit; `clap` cropping is ignored; HDR
//!   (PQ/HLG) is not tone-mapped; image sequences are read only through their still primary
//!   item. 8-bit 4:2:0/4:4:4 pixels match sharp's decode to ±1 (nearest-neighbour chroma, as
//!   libheif does).

// `unsafe` is allowed only in the FFI modules marked below (rav1d: avif/rav1d_ffi.rs, libaom:
// avif/aom_ffi.rs, libjpeg-turbo: jpeg_ffi.rs, glibc malloc_trim: heap.rs), each documented at
// its top.
#![deny(unsafe_code)]

mod avif;
mod base64;
mod colour;
/// Containment of the AV1 decoder's panics and hangs. Public for the crate's tests only.
#[doc(hidden)]
pub mod contain;
mod decode;
mod encode;
mod error;
mod format;
mod gate;
#[allow(unsafe_code)]
mod heap;
#[allow(unsafe_code)]
mod jpeg_ffi;
mod negotiate;
mod palette;
mod plausible;

use fast_image_resize as fir;

pub use avif::{avif_quality, DEFAULT_AVIF_SPEED};
pub use contain::{faults as avif_decoder_faults, Faults as DecoderFaults, MAX_STUCK};
pub use error::ImageError;
pub use format::{detect_content_type, next_is_animated, InputFormat};
pub use negotiate::{fallback_format, negotiate_format, negotiate_mime_type};

use decode::Raster;

/// sharp's `limitInputPixels` as Next sets it (`imgOptMaxInputPixels`, 0x3FFF × 0x3FFF).
pub const DEFAULT_MAX_INPUT_PIXELS: u64 = 268_402_689;

/// Next's `BLUR_IMG_SIZE` and blur quality.
const BLUR_SIZE: u32 = 8;
const BLUR_QUALITY: u8 = 70;

/// An output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
  Jpeg,
  Png,
  Webp,
  Avif,
  /// For GIF sources that negotiated nothing else (Next keeps GIF).
  Gif,
  /// For TIFF sources that negotiated nothing else (Next keeps TIFF).
  Tiff,
}

impl OutputFormat {
  pub fn mime(self) -> &'static str {
    match self {
      OutputFormat::Jpeg => "image/jpeg",
      OutputFormat::Png => "image/png",
      OutputFormat::Webp => "image/webp",
      OutputFormat::Avif => "image/avif",
      OutputFormat::Gif => "image/gif",
      OutputFormat::Tiff => "image/tiff",
    }
  }
}

/// What to produce. Build with [`OptimizeOptions::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptimizeOptions {
  /// Target width in displayed (auto-oriented) pixels. Never enlarges: a wider request keeps
  /// the source width. Height follows the aspect ratio (at least 1).
  pub width: u32,
  /// With a height, the output is exactly `width`×`height`, centre-cropped to cover and
  /// allowed to enlarge (sharp's `resize(w, h)`, used only for blur placeholders by Next).
  pub height: Option<u32>,
  /// 1–100, default 75.
  pub quality: u8,
  pub format: OutputFormat,
  /// Refuse inputs whose header claims more pixels than this.
  pub max_input_pixels: u64,
  /// libaom `cpu-used`, 0 (slowest) – 9 (fastest); defaults to [`DEFAULT_AVIF_SPEED`] (6, what
  /// Next's `effort: 3` gives sharp).
  pub avif_speed: u8,
  /// Threads for the AVIF encoder (`None` = one per core). Other stages use one thread.
  pub threads: Option<usize>,
  /// Whether the call waits for a slot in the process-wide gate (default `true`): at most
  /// `available_parallelism()` gated calls decode and encode at once, so a burst of callers
  /// holds at most that many decoded images. `false` when the caller bounds its own
  /// concurrency (the image route's queue does), so that it is limited once, by its own bound.
  pub gate: bool,
}

impl OptimizeOptions {
  pub fn new(width: u32, format: OutputFormat) -> Self {
    OptimizeOptions {
      width,
      height: None,
      quality: 75,
      format,
      max_input_pixels: DEFAULT_MAX_INPUT_PIXELS,
      avif_speed: DEFAULT_AVIF_SPEED,
      threads: None,
      gate: true,
    }
  }
}

/// An encoded image without metadata (no EXIF, XMP or ICC; pixels are sRGB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Optimized {
  pub data: Vec<u8>,
  pub format: OutputFormat,
  pub width: u32,
  pub height: u32,
}

/// Header facts, read without decoding pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
  pub format: InputFormat,
  /// As displayed, i.e. after applying `orientation`.
  pub width: u32,
  pub height: u32,
  /// EXIF orientation 1–8 (1 when absent).
  pub orientation: u8,
  /// Next's `is-animated` answer (see [`InputFormat`] notes in `format.rs`).
  pub animated: bool,
  pub has_alpha: bool,
}

fn swaps_axes(orientation: u8) -> bool {
  (5..=8).contains(&orientation)
}

/// Reads format, displayed size, orientation, animation and alpha from the header.
pub fn metadata(input: &[u8]) -> Result<Metadata, ImageError> {
  let format = format::sniff(input)?;
  let h = decode::header(input, format)?;
  let (width, height) = if swaps_axes(h.orientation) {
    (h.height, h.width)
  } else {
    (h.width, h.height)
  };
  Ok(Metadata {
    format,
    width,
    height,
    orientation: h.orientation,
    animated: format::is_animated(format, input),
    has_alpha: h.has_alpha,
  })
}

/// Output size for `resize(width, undefined, { withoutEnlargement: true })`.
fn target_size(src_w: u32, src_h: u32, width: u32) -> (u32, u32) {
  if width >= src_w {
    return (src_w, src_h);
  }
  let h = (f64::from(src_h) * f64::from(width) / f64::from(src_w)).round() as u32;
  (width, h.max(1))
}

/// Decode, auto-orient, convert to sRGB, resize and encode (Next's `optimizeImage`).
pub fn optimize(input: &[u8], opts: &OptimizeOptions) -> Result<Optimized, ImageError> {
  if opts.width == 0 || opts.height == Some(0) {
    return Err(ImageError::InvalidOptions(
      "width and height must be at least 1".into(),
    ));
  }
  if !(1..=100).contains(&opts.quality) {
    return Err(ImageError::InvalidOptions(format!(
      "quality must be 1-100, got {}",
      opts.quality
    )));
  }
  let format = format::sniff(input)?;
  let header = decode::header(input, format)?;
  decode::check_pixels(
    header.width.into(),
    header.height.into(),
    opts.max_input_pixels,
  )?;
  let swap = swaps_axes(header.orientation);
  let (disp_w, disp_h) = if swap {
    (header.height, header.width)
  } else {
    (header.width, header.height)
  };
  let (out_w, out_h) = match opts.height {
    Some(h) => (opts.width, h),
    None => target_size(disp_w, disp_h, opts.width),
  };
  let shrink = (f64::from(disp_w) / f64::from(out_w)).min(f64::from(disp_h) / f64::from(out_h));
  let _slot = opts.gate.then(|| gate::global().enter());
  let mut raster = decode::decode(input, format, opts.max_input_pixels, shrink)?;
  // Resize in stored orientation, then rotate the (smaller) result.
  let (stored_w, stored_h) = if swap { (out_h, out_w) } else { (out_w, out_h) };
  if (raster.width, raster.height) != (stored_w, stored_h) {
    raster = resize(&raster, stored_w, stored_h, opts.height.is_some())?;
  }
  if let Some(icc) = raster.icc.take() {
    colour::rgb_to_srgb(&icc, raster.channels, &mut raster.data);
  }
  let raster = orient(raster, header.orientation)?;
  let data = encode::encode(
    &raster,
    opts.format,
    opts.quality,
    opts.avif_speed,
    opts.threads,
  )?;
  Ok(Optimized {
    data,
    format: opts.format,
    width: raster.width,
    height: raster.height,
  })
}

fn resize(src: &Raster, width: u32, height: u32, cover: bool) -> Result<Raster, ImageError> {
  let err = |e: &dyn std::fmt::Display| ImageError::Decode {
    format: "resize",
    reason: e.to_string(),
  };
  let pixel_type = if src.channels == 4 {
    fir::PixelType::U8x4
  } else {
    fir::PixelType::U8x3
  };
  let src_view = fir::images::ImageRef::new(src.width, src.height, &src.data, pixel_type)
    .map_err(|e| err(&e))?;
  let mut dst = fir::images::Image::new(width, height, pixel_type);
  let mut options =
    fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Lanczos3));
  if cover {
    options = options.fit_into_destination(Some((0.5, 0.5)));
  }
  // Alpha is premultiplied around the convolution (fir's default), as sharp does.
  fir::Resizer::new()
    .resize(&src_view, &mut dst, &options)
    .map_err(|e| err(&e))?;
  Ok(Raster {
    width,
    height,
    channels: src.channels,
    data: dst.into_vec(),
    icc: src.icc.clone(),
  })
}

fn orient(r: Raster, orientation: u8) -> Result<Raster, ImageError> {
  let Some(o) = image::metadata::Orientation::from_exif(orientation) else {
    return Ok(r);
  };
  if o == image::metadata::Orientation::NoTransforms {
    return Ok(r);
  }
  let bad = || ImageError::Decode {
    format: "orientation",
    reason: "buffer size mismatch".into(),
  };
  let mut img = if r.channels == 4 {
    image::DynamicImage::ImageRgba8(
      image::RgbaImage::from_raw(r.width, r.height, r.data).ok_or_else(bad)?,
    )
  } else {
    image::DynamicImage::ImageRgb8(
      image::RgbImage::from_raw(r.width, r.height, r.data).ok_or_else(bad)?,
    )
  };
  img.apply_orientation(o);
  let (width, height) = (img.width(), img.height());
  let data = if r.channels == 4 {
    img.into_rgba8().into_raw()
  } else {
    img.into_rgb8().into_raw()
  };
  Ok(Raster {
    width,
    height,
    channels: r.channels,
    data,
    icc: None,
  })
}

/// The tiny image behind a blur placeholder: Next's `getBlurImage` (largest side 8 px, the
/// other `max(round(ratio·8), 1)`, quality 70, same format as the source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlurImage {
  /// `data:image/<ext>;base64,...`
  pub data_url: String,
  pub width: u32,
  pub height: u32,
}

/// Builds the 8 px blur image. Only JPEG/PNG/WebP/AVIF sources, never animated ones, as in
/// Next's `blur.ts`. Unlike Next (which sizes from `image-size`'s raw dimensions) we use the
/// displayed, EXIF-oriented size.
pub fn blur_image(input: &[u8]) -> Result<BlurImage, ImageError> {
  let meta = metadata(input)?;
  let out = match meta.format {
    InputFormat::Jpeg => OutputFormat::Jpeg,
    InputFormat::Png => OutputFormat::Png,
    InputFormat::Webp => OutputFormat::Webp,
    InputFormat::Avif => OutputFormat::Avif,
    other => {
      return Err(ImageError::UnsupportedFormat {
        what: format!("{} as a blur placeholder source", other.name()),
      })
    }
  };
  if meta.animated {
    return Err(ImageError::UnsupportedFormat {
      what: format!(
        "animated {} as a blur placeholder source",
        meta.format.name()
      ),
    });
  }
  let (w, h) = (meta.width, meta.height);
  let (bw, bh) = if w >= h {
    (
      BLUR_SIZE,
      ((f64::from(h) / f64::from(w) * 8.0).round() as u32).max(1),
    )
  } else {
    (
      ((f64::from(w) / f64::from(h) * 8.0).round() as u32).max(1),
      BLUR_SIZE,
    )
  };
  let mut opts = OptimizeOptions::new(bw, out);
  opts.height = Some(bh);
  opts.quality = BLUR_QUALITY;
  let img = optimize(input, &opts)?;
  Ok(BlurImage {
    data_url: format!("data:{};base64,{}", out.mime(), base64::encode(&img.data)),
    width: img.width,
    height: img.height,
  })
}

/// Next's blur placeholder as `next/image` puts it in CSS `background-image`:
/// `data:image/svg+xml;charset=utf-8,<getImageBlurSvg(...)>` around the 8 px image.
pub fn blur_placeholder(input: &[u8]) -> Result<String, ImageError> {
  let blur = blur_image(input)?;
  Ok(format!(
    "data:image/svg+xml;charset=utf-8,{}",
    blur_svg(blur.width, blur.height, &blur.data_url)
  ))
}

/// `getImageBlurSvg` of Next 16.4.6 (`shared/lib/image-blur-svg.js`) with `blurWidth` and
/// `blurHeight` known, as `next/image` builds it for a static import's `blurDataURL`: the view
/// box is the blur size × 40, so `objectFit` and the rendered size do not enter.
pub fn blur_svg(width: u32, height: u32, data_url: &str) -> String {
  let (w, h) = (width * 40, height * 40);
  format!(
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}'%3E%3Cfilter id='b' \
     color-interpolation-filters='sRGB'%3E%3CfeGaussianBlur stdDeviation='20'/%3E%3CfeColorMatrix \
     values='1 0 0 0 0 0 1 0 0 0 0 0 1 0 0 0 0 0 100 -1' result='s'/%3E%3CfeFlood x='0' y='0' \
     width='100%25' height='100%25'/%3E%3CfeComposite operator='out' in='s'/%3E%3CfeComposite \
     in2='SourceGraphic'/%3E%3CfeGaussianBlur stdDeviation='20'/%3E%3C/filter%3E%3Cimage \
     width='100%25' height='100%25' x='0' y='0' preserveAspectRatio='none' style='filter: \
     url(%23b);' href='{data_url}'/%3E%3C/svg%3E"
  )
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn target_size_never_enlarges_and_keeps_ratio() {
    assert_eq!(target_size(2560, 1600, 1080), (1080, 675));
    assert_eq!(target_size(100, 50, 640), (100, 50));
    assert_eq!(target_size(10000, 50, 64), (64, 1));
    assert_eq!(target_size(1680, 1050, 640), (640, 400));
  }
}
