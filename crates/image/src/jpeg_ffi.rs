//! The `unsafe` wrapper around libjpeg-turbo's decoder (mozjpeg's C library, through
//! `mozjpeg-sys`): 8-bit YCbCr and greyscale JPEGs with SIMD IDCT, upsampling and colour
//! conversion, and `scale_num/8` decoding for shrink-on-load. [`decode_rgb`] is safe; the
//! pixels are read through the `mozjpeg` crate's safe `Decompress` API, and the `unsafe` here is
//! our error manager, libjpeg's `jpeg_error_mgr`: `jpeg_std_error` fills it, we replace its
//! `error_exit` and `emit_message` callbacks with Rust `extern "C-unwind"` functions, and they
//! call its `format_message` to get libjpeg's text.
//!
//! What the wrapper upholds: the manager is zeroed and then filled by `jpeg_std_error` before
//! any field is read; our callbacks only read the `cinfo.err` libjpeg passes them;
//! `format_message` gets a buffer of JMSG_LENGTH_MAX (200) bytes (mozjpeg-sys declares 80, so
//! the pointer is cast to the real size) and its text is read up to the NUL.
//!
//! Aborts and `longjmp`: libjpeg's default `error_exit` calls `exit()`, and C programs usually
//! `longjmp` out of it instead; either would end the process or skip Rust frames. Ours does
//! neither: it unwinds (`resume_unwind` with a `LibjpegFailure` payload, which does not run the
//! panic hook) through libjpeg's C frames, which mozjpeg-sys compiles with `-fexceptions` (its
//! `unwinding` feature, on in Cargo.toml), to the `catch_unwind` in [`decode_rgb`], which makes
//! it `IMAGE_DECODE` with libjpeg's message. Corrupt-data warnings unwind the same way while
//! pixels are read (sharp's `failOn: 'warning'`; see `emit_message`). After every decode,
//! failed or not, `heap::release_c_heap` returns libjpeg's freed memory to the OS.

use std::cell::Cell;
use std::os::raw::c_int;

use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, jpeg_std_error};

use crate::ImageError;

/// libjpeg's message for the current error or warning.
fn message(cinfo: &mut jpeg_common_struct) -> String {
  // SAFETY: libjpeg calls our handlers with `err` pointing at the manager we installed,
  // whose `format_message` writes at most JMSG_LENGTH_MAX (200) bytes, NUL-terminated.
  unsafe {
    let Some(format) = cinfo.err.as_ref().and_then(|e| e.format_message) else {
      return "libjpeg error".into();
    };
    let mut buffer = [0u8; 200];
    let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, &mut [u8; 200]) =
      std::mem::transmute(format);
    format(cinfo, &mut buffer);
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
  }
}

/// The payload we unwind with, told apart from a real panic.
struct LibjpegFailure(String);

extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
  std::panic::resume_unwind(Box::new(LibjpegFailure(message(cinfo))));
}

thread_local! {
  /// Set while `jpeg_finish_decompress` reads the tail of the file.
  static FINISHING: Cell<bool> = const { Cell::new(false) };
}

/// Marks the finishing phase until dropped (also when libjpeg unwinds out of it).
struct Finishing;

impl Finishing {
  fn start() -> Self {
    FINISHING.with(|f| f.set(true));
    Finishing
  }
}

impl Drop for Finishing {
  fn drop(&mut self) {
    FINISHING.with(|f| f.set(false));
  }
}

/// Level −1 is a corrupt-data warning ("Corrupt JPEG data: premature end of data segment").
/// Under sharp's default `failOn: 'warning'` libvips fails the load on warnings raised while
/// the pixels are read (and Next then serves the original), so we fail on those too; it
/// checks before finishing, so a warning from the file's tail (stray bytes before EOI) is
/// ignored, as libvips does. Both were checked against sharp 0.35. Levels ≥ 0 are traces.
extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, level: c_int) {
  if level < 0 && !FINISHING.with(Cell::get) {
    std::panic::resume_unwind(Box::new(LibjpegFailure(message(cinfo))));
  }
}

fn error_manager() -> jpeg_error_mgr {
  // SAFETY: jpeg_std_error fills every field of a zeroed manager.
  let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
  unsafe { jpeg_std_error(&mut err) };
  err.error_exit = Some(error_exit);
  err.emit_message = Some(emit_message);
  err
}

/// Decodes to interleaved 8-bit RGB at `1/factor` scale (factor 1, 2, 4 or 8).
pub(crate) fn decode_rgb(input: &[u8], factor: u32) -> Result<(u32, u32, Vec<u8>), ImageError> {
  let run = || -> std::io::Result<(u32, u32, Vec<u8>)> {
    let mut dec = mozjpeg::Decompress::builder()
      .with_err(error_manager())
      .from_mem(input)?;
    if factor > 1 {
      dec.scale((8 / factor) as u8);
    }
    let mut started = dec.rgb()?;
    let (width, height) = (started.width() as u32, started.height() as u32);
    let data = started.read_scanlines::<u8>()?;
    let _finishing = Finishing::start();
    started.finish()?;
    Ok((width, height, data))
  };
  let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run));
  crate::heap::release_c_heap();
  match result {
    Ok(Ok(decoded)) => Ok(decoded),
    Ok(Err(e)) => Err(ImageError::decode("JPEG", e)),
    Err(payload) => Err(ImageError::decode(
      "JPEG",
      match payload.downcast::<LibjpegFailure>() {
        Ok(failure) => failure.0,
        Err(_) => "libjpeg-turbo panicked".into(),
      },
    )),
  }
}
