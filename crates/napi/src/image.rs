//! Image optimization (`crates/image`): Next's `/_next/image` pipeline.

use napi::bindgen_prelude::{AsyncTask, Buffer, Unknown};
use napi::Env;
use napi_derive::napi;
use next_native_image as core;

use crate::args;
use crate::error::{run_sync, CodedError, CoreError};
use crate::task::{AbortableJob, Work};

impl CoreError for core::ImageError {
  fn code(&self) -> &'static str {
    core::ImageError::code(self)
  }
}

#[napi(object)]
pub struct OptimizeImageOptions {
  /// Target width in displayed pixels; never enlarges.
  pub width: u32,
  /// 1–100, default 75.
  pub quality: Option<u32>,
  /// `avif`, `webp`, `jpeg`, `png`, `gif` or `tiff` (or the MIME type). Default: negotiated
  /// from `accept` among `formats`, else the source's format (JPEG for WebP/AVIF sources, PNG
  /// for BMP), as Next does (the image crate's `OutputFormat::resolve`).
  pub format: Option<String>,
  /// The request's `Accept` header, negotiated as Next's `getSupportedMimeType` does; one with
  /// a parameter without a value (`;x`) is refused (`ERR_IMAGE_INVALID_OPTIONS`; Next: 500).
  pub accept: Option<String>,
  /// The formats `accept` may select, as in next.config `images.formats`. Default `['image/webp']`.
  pub formats: Option<Vec<String>>,
  /// Refuse inputs with more pixels than this. Default 268,402,689 (Next's limit).
  pub max_input_pixels: Option<f64>,
  /// Default `true`: the call waits for the process-wide gate, which lets at most one
  /// optimization per core decode and encode at a time. `false`: the caller bounds concurrency
  /// itself, as `createImageHandler` does (its `concurrency` option); skips the gate.
  pub gate: Option<bool>,
  /// Threads for the AVIF encoder, 1–1024 (other formats encode on the calling thread).
  /// Default: one thread per core. `createImageHandler` passes its
  /// `imgOptConcurrency` here.
  pub threads: Option<u32>,
}

#[napi(object)]
pub struct OptimizedImage {
  pub data: Buffer,
  pub content_type: String,
  pub width: u32,
  pub height: u32,
}

#[napi(object)]
pub struct ImageMetadata {
  /// `jpeg`, `png`, `webp`, `avif`, `gif`, `bmp` or `tiff`.
  pub format: String,
  /// As displayed, after EXIF orientation.
  pub width: u32,
  pub height: u32,
  /// EXIF orientation 1–8 (1 when absent).
  pub orientation: u32,
  pub animated: bool,
  pub has_alpha: bool,
}

/// `OptimizeImageOptions` from JS, each field checked against its declared type (`width` a
/// whole number of pixels a `u32` holds, `quality` and `maxInputPixels` whole numbers).
fn image_options(options: Unknown<'_>) -> Result<OptimizeImageOptions, CodedError> {
  let o = args::object(options, &"options")?;
  let width = o.read(c"width", |v, n| args::integer(v, n, 1, u32::MAX.into()))?;
  let quality = o.read_opt(c"quality", |v, n| args::integer(v, n, 1, 100))?;
  Ok(OptimizeImageOptions {
    width: width as u32,
    quality: quality.map(|q| q as u32),
    format: o.read_opt(c"format", args::string)?,
    accept: o.read_opt(c"accept", args::string)?,
    formats: o.read_opt(c"formats", args::string_array)?,
    max_input_pixels: o
      .read_opt(c"maxInputPixels", |v, n| {
        args::integer(v, n, 1, args::MAX_SAFE_INTEGER)
      })?
      .map(|p| p as f64),
    gate: o.read_opt(c"gate", args::boolean)?,
    threads: o
      .read_opt(c"threads", |v, n| args::integer(v, n, 1, 1024))?
      .map(|t| t as u32),
  })
}

fn invalid(message: String) -> CodedError {
  CodedError::new("ERR_INVALID_ARG_VALUE", message)
}

fn parse_format(name: &str) -> Result<core::OutputFormat, CodedError> {
  core::OutputFormat::from_name(name).ok_or_else(|| {
    invalid(format!(
      "unsupported output format {name:?}; expected avif, webp, jpeg, png, gif or tiff"
    ))
  })
}

/// The options as the core takes them; which format applies is the core's rule
/// ([`core::OutputFormat::resolve`]).
fn resolve(input: &[u8], o: &OptimizeImageOptions) -> Result<core::OptimizeOptions, CodedError> {
  let explicit = o.format.as_deref().map(parse_format).transpose()?;
  let formats = o
    .formats
    .as_deref()
    .map(|list| {
      list
        .iter()
        .map(|f| parse_format(f))
        .collect::<Result<Vec<_>, _>>()
    })
    .transpose()?;
  let format =
    core::OutputFormat::resolve(o.accept.as_deref(), formats.as_deref(), explicit, input)?;
  let mut opts = core::OptimizeOptions::new(o.width, format);
  if let Some(q) = o.quality {
    // image_options checked 1–100; anything else would be the core's InvalidOptions.
    opts.quality = u8::try_from(q).unwrap_or(0);
  }
  if let Some(max) = o.max_input_pixels {
    // image_options checked a whole number from 1.
    opts.max_input_pixels = max as u64;
  }
  if let Some(gate) = o.gate {
    opts.gate = gate;
  }
  // image_options checked 1–1024.
  opts.threads = o.threads.map(|t| t as usize);
  Ok(opts)
}

fn optimize_impl(
  input: &[u8],
  options: &OptimizeImageOptions,
) -> Result<core::Optimized, CodedError> {
  let opts = resolve(input, options)?;
  let result = core::optimize(input, &opts);
  release_freed_pages();
  Ok(result?)
}

/// An optimization frees tens of MB of pixel buffers at once. mimalloc would keep those pages
/// resident for its purge delay (10 ms) on each worker thread, long enough for the next
/// image's buffers to stack on top: with 16 requests in flight, forcing the purge right away
/// took peak RSS from 279–316 MiB to about 220 MiB. Image calls only: the env and cache paths
/// keep mimalloc's reuse of warm pages.
fn release_freed_pages() {
  // SAFETY: mi_collect has no preconditions; it runs on the allocator in use (ours).
  unsafe { libmimalloc_sys::mi_collect(true) };
}

fn to_js(o: core::Optimized) -> OptimizedImage {
  OptimizedImage {
    content_type: o.format.mime().to_owned(),
    width: o.width,
    height: o.height,
    data: o.data.into(),
  }
}

pub struct OptimizeWork {
  input: Vec<u8>,
  options: OptimizeImageOptions,
}

impl Work for OptimizeWork {
  type Output = core::Optimized;
  type JsValue = OptimizedImage;

  fn run(&mut self) -> Result<core::Optimized, CodedError> {
    optimize_impl(&self.input, &self.options)
  }

  fn into_js(_env: &Env, output: core::Optimized) -> napi::Result<OptimizedImage> {
    Ok(to_js(output))
  }
}

/// The code of an aborted image call's error (`name: 'AbortError'`).
const ABORTED: &str = "ERR_IMAGE_ABORTED";

/// Resizes and re-encodes an image as Next's optimizer does (auto-orient, sRGB, Lanczos3,
/// never enlarging, Next's encoder settings), on a worker thread. The input is copied first.
/// Once `signal` fires, rejects with an `AbortError` (`code: 'ERR_IMAGE_ABORTED'`) when the
/// work has stopped: a call not started yet never starts, one already encoding finishes first.
#[napi(ts_return_type = "Promise<OptimizedImage>")]
pub fn optimize_image(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] input: Unknown<'_>,
  #[napi(ts_arg_type = "OptimizeImageOptions")] options: Unknown<'_>,
  #[napi(ts_arg_type = "AbortSignal | undefined | null")] signal: Option<Unknown<'_>>,
) -> napi::Result<AsyncTask<AbortableJob<OptimizeWork>>> {
  let work = run_sync(&env, || {
    // Copied before the options are read: a getter could detach it.
    let input = args::bytes(input, &"input")?.to_vec();
    Ok(OptimizeWork {
      input,
      options: image_options(options)?,
    })
  })?;
  AbortableJob::task(
    &env,
    work,
    signal,
    ABORTED,
    "optimizeImage was aborted (its AbortSignal fired)",
  )
}

/// `optimizeImage` on the calling thread (blocks it for the whole encode).
#[napi]
pub fn optimize_image_sync(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] input: Unknown<'_>,
  #[napi(ts_arg_type = "OptimizeImageOptions")] options: Unknown<'_>,
) -> napi::Result<OptimizedImage> {
  run_sync(&env, || {
    args::bytes(input, &"input")?;
    let options = image_options(options)?;
    // Borrowed again now that no more JS runs until the call returns (a getter in the
    // options could have detached it).
    optimize_impl(args::bytes(input, &"input")?, &options).map(to_js)
  })
}

/// Format, displayed size, orientation, animation and alpha, read from the headers only.
#[napi]
pub fn image_metadata(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] input: Unknown<'_>,
) -> napi::Result<ImageMetadata> {
  run_sync(&env, || {
    let m = core::metadata(args::bytes(input, &"input")?)?;
    Ok(ImageMetadata {
      format: m.format.name().to_ascii_lowercase(),
      width: m.width,
      height: m.height,
      orientation: u32::from(m.orientation),
      animated: m.animated,
      has_alpha: m.has_alpha,
    })
  })
}

pub struct BlurWork(Vec<u8>);

impl Work for BlurWork {
  type Output = String;
  type JsValue = String;

  fn run(&mut self) -> Result<String, CodedError> {
    Ok(core::blur_placeholder(&self.0)?)
  }

  fn into_js(_env: &Env, output: String) -> napi::Result<String> {
    Ok(output)
  }
}

/// The `blurDataURL` Next generates for a static image import (an 8 px blurred SVG data URL).
/// Rejects with an `AbortError` (`code: 'ERR_IMAGE_ABORTED'`) once `signal` fires.
#[napi(ts_return_type = "Promise<string>")]
pub fn blur_placeholder(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] input: Unknown<'_>,
  #[napi(ts_arg_type = "AbortSignal | undefined | null")] signal: Option<Unknown<'_>>,
) -> napi::Result<AsyncTask<AbortableJob<BlurWork>>> {
  let work = run_sync(&env, || {
    Ok(BlurWork(args::bytes(input, &"input")?.to_vec()))
  })?;
  AbortableJob::task(
    &env,
    work,
    signal,
    ABORTED,
    "blurPlaceholder was aborted (its AbortSignal fired)",
  )
}

/// `blurPlaceholder` on the calling thread.
#[napi]
pub fn blur_placeholder_sync(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] input: Unknown<'_>,
) -> napi::Result<String> {
  run_sync(&env, || {
    Ok(core::blur_placeholder(args::bytes(input, &"input")?)?)
  })
}

// The image route's rules, asked before any optimization. The rules live in the image crate
// (`format.rs`, `negotiate.rs`); these only convert types.

/// Next 16.4's content sniffing (`detectContentType`): the content type Next gives `bytes`,
/// whatever their `Content-Type` says (its magic table, then image-detector on the first
/// 1024 bytes), or `null` for "not an image" (empty input included). Reads the header only,
/// so it is synchronous, with no async twin.
#[napi]
pub fn detect_image_type(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] bytes: Unknown<'_>,
) -> napi::Result<Option<String>> {
  run_sync(&env, || {
    let bytes = args::bytes(bytes, &"bytes")?;
    Ok(core::detect_content_type(bytes).map(str::to_owned))
  })
}

/// is-animated 1.2's answer, which Next asks before resizing (an animated image is served
/// unchanged): a GIF with more than one frame, an APNG, a WebP with the bytes `ANIM` anywhere.
/// Any bytes get an answer; nothing is decoded (a walk over GIF blocks or PNG chunk headers, a
/// byte search in a WebP), so it is synchronous, with no async twin.
#[napi]
pub fn is_animated_image(
  env: Env,
  #[napi(ts_arg_type = "Uint8Array")] bytes: Unknown<'_>,
) -> napi::Result<bool> {
  run_sync(&env, || {
    Ok(core::next_is_animated(args::bytes(bytes, &"bytes")?))
  })
}

/// Next 16.4's `getSupportedMimeType(formats, accept)`: the type among `formats` that the
/// `Accept` header selects and names literally (with the header's media parameters, as Next
/// keeps them), or `''` when it names none (wildcards never select a type). A header with a
/// parameter without a value (`image/webp;x`) is refused with `ERR_INVALID_ARG_VALUE` (Next
/// answers 500). Work on one header string: synchronous, with no async twin.
#[napi]
pub fn negotiate_image_type(
  env: Env,
  #[napi(ts_arg_type = "Array<string>")] formats: Unknown<'_>,
  #[napi(ts_arg_type = "string")] accept: Unknown<'_>,
) -> napi::Result<String> {
  run_sync(&env, || {
    let formats = args::string_array(formats, &"formats")?;
    let accept = args::string(accept, &"accept")?;
    let options: Vec<&str> = formats.iter().map(String::as_str).collect();
    core::negotiate_mime_type(&accept, &options).map_err(|e| match e {
      core::ImageError::InvalidOptions(_) => {
        let shown = if accept.chars().count() > 28 {
          format!("{}...", accept.chars().take(25).collect::<String>())
        } else {
          accept.clone()
        };
        args::invalid_value(
          &"accept",
          "is an invalid Accept header (a parameter without a value)",
          format!("'{shown}'"),
        )
      }
      other => other.into(),
    })
  })
}
