//! The `unsafe` wrapper around rav1d, the AV1 decoder: [`decode`] is a safe function over
//! rav1d's dav1d-compatible `extern "C"` API (`rav1d::src::lib`: `dav1d_default_settings`,
//! `dav1d_open`, `dav1d_data_create`, `dav1d_send_data`, `dav1d_get_picture`,
//! `dav1d_picture_unref`, `dav1d_data_unref`, `dav1d_close`), rav1d's only public API. The rest
//! of the crate sees only [`Frame`] and its bounds-checked [`Plane`] slices.
//!
//! What the wrapper upholds, so that callers need no `unsafe`:
//! - Every handle is owned by a guard (`Context`, `Data`, `Picture`) that releases it exactly
//!   once when dropped, on every return path: picture, then data, then context.
//! - The settings are written in full by `dav1d_default_settings` before they are read; no log
//!   callback is set; `frame_size_limit` makes rav1d refuse a frame over the pixel limit before
//!   it allocates it.
//! - The input is copied into a buffer rav1d allocated for exactly that many bytes.
//! - The planes are lent to the caller's closure as slices, only after the layout, bit depth,
//!   stride (at least a row's bytes, a whole number of samples) and alignment were checked, and
//!   only while the picture is alive: they cannot outlive it.
//! - At most [`MAX_ROUNDS`] send/get rounds: a decoder that makes no progress is an error.
//!
//! Panics and aborts: rav1d is Rust behind an `extern "C"` ABI (there is no C `longjmp` to
//! contain), but a panic that reaches an `extern "C"` frame aborts the process, and
//! `catch_unwind` cannot stop it. So [`decode`] must run inside `contain::run` (the avif
//! module's `decode` starts it there), and every call into rav1d here goes through
//! `contain::foreign`: a panic inside rav1d, or on one of its `rav1d-worker-N` threads, is
//! stopped in the panic hook before anything unwinds, the caller gets `IMAGE_DECODE` and the
//! thread is parked; a hang fails the caller after `decode_timeout`. The one known rav1d panic
//! on bad data (memorysafety/rav1d#1497) is avoided by decoding with two frame contexts (see
//! [`decode`]). Not contained (see `contain.rs`): rav1d's own `abort()` in states it holds
//! unreachable, allocation failure, and memory faults in its assembly.

use std::mem::MaybeUninit;
use std::ptr::NonNull;

use rav1d::include::dav1d::data::Dav1dData;
use rav1d::include::dav1d::dav1d::{Dav1dContext, Dav1dLogger, Dav1dSettings};
use rav1d::include::dav1d::headers::{
  DAV1D_PIXEL_LAYOUT_I400, DAV1D_PIXEL_LAYOUT_I420, DAV1D_PIXEL_LAYOUT_I422,
  DAV1D_PIXEL_LAYOUT_I444,
};
use rav1d::include::dav1d::picture::Dav1dPicture;
use rav1d::src::lib::{
  dav1d_close, dav1d_data_create, dav1d_data_unref, dav1d_default_settings, dav1d_get_picture,
  dav1d_open, dav1d_picture_unref, dav1d_send_data,
};
use rav1d::Dav1dResult;

use super::container::Nclx;
use super::err;
use crate::contain::foreign;
use crate::ImageError;

/// Far more send/get rounds than one still frame needs; a guard against a decoder that
/// makes no progress.
const MAX_ROUNDS: usize = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
  I400,
  I420,
  I422,
  I444,
}

impl Layout {
  pub(super) fn subsampling(self) -> (bool, bool) {
    match self {
      Layout::I420 => (true, true),
      Layout::I422 => (true, false),
      Layout::I400 | Layout::I444 => (false, false),
    }
  }
}

/// One plane borrowed from a dav1d picture.
pub(super) struct Plane<'a, T> {
  data: &'a [T],
  /// In samples.
  stride: usize,
  width: usize,
}

impl<'a, T> Plane<'a, T> {
  pub(super) fn row(&self, y: usize) -> &'a [T] {
    &self.data[y * self.stride..][..self.width]
  }

  fn empty() -> Self {
    Plane {
      data: &[],
      stride: 0,
      width: 0,
    }
  }
}

pub(super) enum Planes<'a> {
  Eight([Plane<'a, u8>; 3]),
  Sixteen([Plane<'a, u16>; 3]),
}

pub(super) struct Frame<'a> {
  pub width: usize,
  pub height: usize,
  pub depth: u8,
  pub layout: Layout,
  /// From the sequence header; `full_range` is the range the samples use.
  pub nclx: Nclx,
  pub planes: Planes<'a>,
}

struct Context(Option<Dav1dContext>);

impl Drop for Context {
  fn drop(&mut self) {
    // SAFETY: the context came from `dav1d_open` (or is None, which dav1d_close ignores)
    // and is closed once, here.
    foreign(|| unsafe { dav1d_close(Some(NonNull::from(&mut self.0))) });
  }
}

struct Data(Dav1dData);

impl Drop for Data {
  fn drop(&mut self) {
    // SAFETY: `self.0` is a valid (possibly empty) Dav1dData owned by us.
    foreign(|| unsafe { dav1d_data_unref(Some(NonNull::from(&mut self.0))) });
  }
}

struct Picture(Dav1dPicture);

impl Drop for Picture {
  fn drop(&mut self) {
    // SAFETY: `self.0` is a default or dav1d-filled picture owned by us.
    foreign(|| unsafe { dav1d_picture_unref(Some(NonNull::from(&mut self.0))) });
  }
}

fn failure(code: Dav1dResult) -> ImageError {
  let what = match -code.0 {
    libc::EINVAL => "invalid or corrupt AV1 data",
    libc::ENOMEM => "out of memory",
    libc::ERANGE => "the AV1 frame is larger than the pixel limit",
    libc::ENOPROTOOPT => "unsupported AV1 feature",
    _ => "AV1 decoding failed",
  };
  err(format!("{what} (dav1d error {})", code.0))
}

/// Decodes the first frame of a still AV1 item (OBUs with a sequence header), on rav1d's two
/// worker threads while the caller waits, and hands its planes to `f` while the picture is
/// alive. Frames over `max_pixels` are refused by the decoder before it allocates them.
pub(super) fn decode<R>(
  obus: &[u8],
  max_pixels: u64,
  f: impl FnOnce(&Frame) -> Result<R, ImageError>,
) -> Result<R, ImageError> {
  if obus.is_empty() {
    return Err(err("empty AV1 item"));
  }
  let mut settings = MaybeUninit::<Dav1dSettings>::uninit();
  // SAFETY: dav1d_default_settings writes every field of the settings.
  let mut settings = foreign(|| unsafe {
    dav1d_default_settings(NonNull::new_unchecked(settings.as_mut_ptr()));
    settings.assume_init()
  });
  // Two frame contexts, hence two worker threads. With one (n_threads or max_frame_delay 1)
  // rav1d 1.1.0 panics inside `extern "C"` (which would park a thread; see contain.rs) on
  // any error while decoding tile data (memorysafety/rav1d#1497: `on_error` unwraps a frame
  // header that `rav1d_decode_frame_exit` already took). With two, errors go through the
  // task threads and come back as error codes. `n_threads` must be explicit: "auto" on one core is 1.
  settings.n_threads = 2;
  settings.max_frame_delay = 2;
  settings.all_layers = 0; // the highest spatial layer only, as libavif asks
  settings.frame_size_limit = u32::try_from(max_pixels).unwrap_or(u32::MAX).max(1);
  // SAFETY: no callback, so dav1d logs nothing (it would print to stderr by default).
  settings.logger = unsafe { Dav1dLogger::new(None, None) };
  let mut context = Context(None);
  // SAFETY: both pointers are valid for the call; dav1d_open writes the context.
  let opened = foreign(|| unsafe {
    dav1d_open(
      Some(NonNull::from(&mut context.0)),
      Some(NonNull::from(&mut settings)),
    )
  });
  if opened.0 != 0 || context.0.is_none() {
    return Err(failure(opened));
  }
  let mut data = Data(Dav1dData::default());
  // SAFETY: dav1d_data_create allocates `len` bytes and points `data` at them.
  let buffer =
    foreign(|| unsafe { dav1d_data_create(Some(NonNull::from(&mut data.0)), obus.len()) });
  if buffer.is_null() {
    return Err(err("out of memory"));
  }
  // SAFETY: `buffer` holds `obus.len()` writable bytes that nothing else references.
  unsafe { std::ptr::copy_nonoverlapping(obus.as_ptr(), buffer, obus.len()) };
  let again = -libc::EAGAIN;
  let mut picture = Picture(Dav1dPicture::default());
  let mut got = false;
  let mut drains = 0;
  for _ in 0..MAX_ROUNDS {
    if data.0.sz > 0 {
      // SAFETY: the context is open and `data` is a valid Dav1dData we own.
      let sent =
        foreign(|| unsafe { dav1d_send_data(context.0, Some(NonNull::from(&mut data.0))) });
      if sent.0 < 0 && sent.0 != again {
        return Err(failure(sent));
      }
    }
    // SAFETY: the context is open; `picture` is empty, so overwriting it leaks nothing.
    let res =
      foreign(|| unsafe { dav1d_get_picture(context.0, Some(NonNull::from(&mut picture.0))) });
    if res.0 == 0 {
      got = true;
      break;
    }
    if res.0 != again {
      return Err(failure(res));
    }
    // All data sent: with frame threading the first get arms draining and the next one
    // waits for the frame in flight; if nothing comes the data held no whole frame.
    if data.0.sz == 0 {
      drains += 1;
      if drains > 3 {
        return Err(err("the AV1 data ends before a whole frame (truncated?)"));
      }
    }
  }
  if !got {
    return Err(err("the AV1 decoder made no progress"));
  }
  let p = &picture.0;
  let (width, height) = (p.p.w, p.p.h);
  if width <= 0 || height <= 0 {
    return Err(err("AV1 frame without pixels"));
  }
  let (width, height) = (width as usize, height as usize);
  let layout = match p.p.layout {
    DAV1D_PIXEL_LAYOUT_I400 => Layout::I400,
    DAV1D_PIXEL_LAYOUT_I420 => Layout::I420,
    DAV1D_PIXEL_LAYOUT_I422 => Layout::I422,
    DAV1D_PIXEL_LAYOUT_I444 => Layout::I444,
    other => return Err(err(format!("unknown AV1 pixel layout {other}"))),
  };
  let depth = match p.p.bpc {
    8 => 8u8,
    10 => 10,
    12 => 12,
    other => return Err(err(format!("AV1 bit depth {other}"))),
  };
  // SAFETY: a decoded picture's sequence header lives as long as the picture.
  let seq = p
    .seq_hdr
    .map(|s| unsafe { s.as_ref() })
    .ok_or_else(|| err("AV1 picture without a sequence header"))?;
  let nclx = Nclx {
    primaries: seq.pri as u16,
    transfer: seq.trc as u16,
    matrix: seq.mtrx as u16,
    full_range: seq.color_range != 0,
  };
  let (ss_x, ss_y) = layout.subsampling();
  let (cw, ch) = (
    (width + ss_x as usize) >> ss_x as usize,
    (height + ss_y as usize) >> ss_y as usize,
  );
  let bytes = if depth == 8 { 1 } else { 2 };
  let plane_bytes = |index: usize, w: usize| -> Result<(*const u8, usize), ImageError> {
    let ptr = p.data[index]
      .ok_or_else(|| err("AV1 picture without pixel data"))?
      .as_ptr() as *const u8;
    let stride = p.stride[index.min(1)];
    let stride = usize::try_from(stride)
      .ok()
      .filter(|&s| {
        s >= w * bytes && s.is_multiple_of(bytes) && (ptr as usize).is_multiple_of(bytes)
      })
      .ok_or_else(|| err("unexpected AV1 picture layout"))?;
    Ok((ptr, stride))
  };
  let mut dims = vec![(0usize, width, height)];
  if layout != Layout::I400 {
    dims.push((1, cw, ch));
    dims.push((2, cw, ch));
  }
  let planes = if depth == 8 {
    let mut planes = [Plane::empty(), Plane::empty(), Plane::empty()];
    for &(i, w, h) in &dims {
      let (ptr, stride) = plane_bytes(i, w)?;
      // SAFETY: dav1d allocates each plane as `stride` bytes × its (padded) height, so the
      // first `stride·(h−1) + w` bytes are initialised pixels that live as long as `picture`.
      let data = unsafe { std::slice::from_raw_parts(ptr, stride * (h - 1) + w) };
      planes[i] = Plane {
        data,
        stride,
        width: w,
      };
    }
    Planes::Eight(planes)
  } else {
    let mut planes = [Plane::empty(), Plane::empty(), Plane::empty()];
    for &(i, w, h) in &dims {
      let (ptr, stride) = plane_bytes(i, w)?;
      let stride = stride / 2;
      // SAFETY: as above, with 16-bit samples; the pointer is 2-aligned (checked).
      let data = unsafe { std::slice::from_raw_parts(ptr as *const u16, stride * (h - 1) + w) };
      planes[i] = Plane {
        data,
        stride,
        width: w,
      };
    }
    Planes::Sixteen(planes)
  };
  let frame = Frame {
    width,
    height,
    depth,
    layout,
    nclx,
    planes,
  };
  // `frame` borrows the picture's memory; the guards below free picture, data and context
  // (in that order) when they go out of scope after this call.
  f(&frame)
}
