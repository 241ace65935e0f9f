//! The `unsafe` wrapper around libaom's encoder API: one still AV1 frame from 8-bit planes,
//! configured as libheif's aom plugin configures it for sharp (all-intra usage, end-usage Q with
//! a `cq_level`, `cpu-used`, tune SSIM, full range, post-processing filters skipped), except
//! intra block copy, which is off (see below).
//!
//! libaom reports failures through return codes and never calls back into Rust, so nothing
//! here can unwind through C. Every `aom_codec_ctx_t` is destroyed on every path (`Codec`'s
//! `Drop`); the input image wraps our own buffer (`aom_img_wrap`), so libaom never frees it.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::c_int;

use libaom_sys as aom;

/// What the frame is: colour planes (Y, U, V at full resolution) or an alpha plane alone.
pub(super) enum Planes<'a> {
  Yuv444 {
    y: &'a [u8],
    u: &'a [u8],
    v: &'a [u8],
  },
  Mono {
    y: &'a [u8],
  },
}

pub(super) struct Settings {
  /// libaom `cq_level`, 0–63.
  pub cq_level: u32,
  /// libaom `cpu-used`, 0–9 in all-intra usage.
  pub cpu_used: u32,
  pub threads: u32,
}

struct Codec(aom::aom_codec_ctx_t);

impl Drop for Codec {
  fn drop(&mut self) {
    // SAFETY: only constructed after a successful `aom_codec_enc_init_ver`.
    unsafe { aom::aom_codec_destroy(&mut self.0) };
  }
}

impl Codec {
  fn error(&self, what: &str) -> String {
    // SAFETY: `aom_codec_error_detail` returns NULL or a NUL-terminated string owned by the
    // context, which we copy before the context can change.
    let detail = unsafe { aom::aom_codec_error_detail(&self.0) };
    if detail.is_null() {
      format!("libaom: {what} failed")
    } else {
      let text = unsafe { CStr::from_ptr(detail) }.to_string_lossy();
      format!("libaom: {what} failed: {text}")
    }
  }

  fn control(&mut self, id: aom::aome_enc_control_id, value: c_int) -> Result<(), String> {
    // SAFETY: every control we pass takes an `int`/`unsigned int` vararg.
    let res = unsafe { aom::aom_codec_control(&mut self.0, id as c_int, value) };
    if res == aom::AOM_CODEC_OK {
      Ok(())
    } else {
      Err(self.error(&format!("control {id}")))
    }
  }
}

/// Encodes one frame of `width`×`height` and returns its AV1 OBUs (sequence header included).
pub(super) fn encode_frame(
  planes: &Planes<'_>,
  width: u32,
  height: u32,
  s: &Settings,
) -> Result<Vec<u8>, String> {
  let pixels = width as usize * height as usize;
  let (fmt, mono, profile) = match planes {
    Planes::Yuv444 { y, u, v } => {
      assert!(y.len() == pixels && u.len() == pixels && v.len() == pixels);
      (aom::AOM_IMG_FMT_I444, false, 1)
    }
    Planes::Mono { y } => {
      assert!(y.len() == pixels);
      (aom::AOM_IMG_FMT_I420, true, 0)
    }
  };
  // A monochrome frame still hands libaom 4:2:0 chroma planes; it ignores their content.
  let chroma = if mono {
    vec![128u8; pixels.div_ceil(4) + width as usize + height as usize]
  } else {
    Vec::new()
  };

  // SAFETY: plain C calls with valid pointers; `cfg` is fully initialised by
  // `aom_codec_enc_config_default` before use, and `ctx` by `aom_codec_enc_init_ver` (checked).
  unsafe {
    let iface = aom::aom_codec_av1_cx();
    if iface.is_null() {
      return Err("libaom: no AV1 encoder".into());
    }
    let mut cfg = MaybeUninit::<aom::aom_codec_enc_cfg_t>::zeroed();
    if aom::aom_codec_enc_config_default(iface, cfg.as_mut_ptr(), aom::AOM_USAGE_ALL_INTRA)
      != aom::AOM_CODEC_OK
    {
      return Err("libaom: no default configuration".into());
    }
    let mut cfg = cfg.assume_init();
    cfg.g_w = width;
    cfg.g_h = height;
    cfg.g_limit = 1;
    cfg.g_lag_in_frames = 0;
    cfg.kf_mode = aom::AOM_KF_DISABLED;
    cfg.kf_max_dist = 0;
    cfg.g_profile = profile;
    cfg.g_bit_depth = aom::AOM_BITS_8;
    cfg.g_input_bit_depth = 8;
    cfg.rc_end_usage = aom::AOM_Q;
    cfg.rc_min_quantizer = 0;
    cfg.rc_max_quantizer = 63;
    cfg.g_error_resilient = 0;
    cfg.g_threads = s.threads.max(1);
    cfg.monochrome = u32::from(mono);

    let mut ctx = MaybeUninit::<aom::aom_codec_ctx_t>::zeroed();
    if aom::aom_codec_enc_init_ver(
      ctx.as_mut_ptr(),
      iface,
      &cfg,
      0,
      aom::AOM_ENCODER_ABI_VERSION as c_int,
    ) != aom::AOM_CODEC_OK
    {
      let detail = (*ctx.as_ptr()).err_detail;
      let text = if detail.is_null() {
        String::new()
      } else {
        CStr::from_ptr(detail).to_string_lossy().into_owned()
      };
      return Err(format!("libaom: encoder init failed: {text}"));
    }
    let mut codec = Codec(ctx.assume_init());
    codec.control(aom::AOME_SET_CPUUSED, s.cpu_used as c_int)?;
    codec.control(aom::AOME_SET_CQ_LEVEL, s.cq_level.min(63) as c_int)?;
    if s.threads > 1 {
      codec.control(aom::AV1E_SET_ROW_MT, 1)?;
    }
    codec.control(aom::AV1E_SET_COLOR_RANGE, 1)?;
    if mono {
      codec.control(
        aom::AV1E_SET_CHROMA_SAMPLE_POSITION,
        aom::AOM_CSP_UNKNOWN as c_int,
      )?;
    } else {
      codec.control(
        aom::AV1E_SET_CHROMA_SAMPLE_POSITION,
        aom::AOM_CSP_COLOCATED as c_int,
      )?;
      // sRGB: BT.709 primaries, sRGB transfer, BT.601 matrix (libheif's defaults for RGB input).
      codec.control(aom::AV1E_SET_COLOR_PRIMARIES, 1)?;
      codec.control(aom::AV1E_SET_MATRIX_COEFFICIENTS, 6)?;
      codec.control(aom::AV1E_SET_TRANSFER_CHARACTERISTICS, 13)?;
    }
    codec.control(aom::AOME_SET_TUNING, aom::AOM_TUNE_SSIM as c_int)?;
    codec.control(aom::AV1E_SET_SKIP_POSTPROC_FILTERING, 1)?;
    // Intra block copy off, where libheif leaves it on: aom 3.11 takes smooth renders with
    // banded gradients for screen content, and its intra-block-copy search then took 15 s for
    // one 3840×2160 frame (2.4 s without, and a smaller file at higher quality); photos come
    // out byte-identical. aom 3.15's `tune=iq`, which sharp gets, detects such content
    // differently and does not pay this.
    codec.control(aom::AV1E_SET_ENABLE_INTRABC, 0)?;

    // Wrap our planes: given a buffer, `aom_img_wrap` allocates nothing and marks the image as
    // not owning it; we then point each plane at our own slice. libaom only reads them.
    let mut img = MaybeUninit::<aom::aom_image_t>::zeroed();
    let first = match planes {
      Planes::Yuv444 { y, .. } | Planes::Mono { y } => y.as_ptr().cast_mut(),
    };
    let wrapped = aom::aom_img_wrap(img.as_mut_ptr(), fmt, width, height, 1, first);
    if wrapped.is_null() {
      return Err("libaom: cannot describe the input image".into());
    }
    let img = img.assume_init_mut();
    let (y, u, v, cstride) = match planes {
      Planes::Yuv444 { y, u, v } => (y.as_ptr(), u.as_ptr(), v.as_ptr(), width as c_int),
      Planes::Mono { y } => (
        y.as_ptr(),
        chroma.as_ptr(),
        chroma.as_ptr(),
        width.div_ceil(2) as c_int,
      ),
    };
    img.planes[0] = y.cast_mut();
    img.planes[1] = u.cast_mut();
    img.planes[2] = v.cast_mut();
    img.stride[0] = width as c_int;
    img.stride[1] = cstride;
    img.stride[2] = cstride;
    img.monochrome = c_int::from(mono);

    let mut out = Vec::new();
    if aom::aom_codec_encode(&mut codec.0, img, 0, 1, 0) != aom::AOM_CODEC_OK {
      return Err(codec.error("encode"));
    }
    drain(&mut codec, &mut out);
    if aom::aom_codec_encode(&mut codec.0, std::ptr::null(), 0, 0, 0) != aom::AOM_CODEC_OK {
      return Err(codec.error("flush"));
    }
    drain(&mut codec, &mut out);
    if out.is_empty() {
      return Err("libaom: no frame was produced".into());
    }
    Ok(out)
  }
}

/// Appends every compressed frame packet waiting in `codec` to `out`.
unsafe fn drain(codec: &mut Codec, out: &mut Vec<u8>) {
  let mut iter: aom::aom_codec_iter_t = std::ptr::null();
  loop {
    let pkt = aom::aom_codec_get_cx_data(&mut codec.0, &mut iter);
    if pkt.is_null() {
      break;
    }
    if (*pkt).kind == aom::AOM_CODEC_CX_FRAME_PKT {
      let frame = (*pkt).data.frame;
      out.extend_from_slice(std::slice::from_raw_parts(frame.buf.cast::<u8>(), frame.sz));
    }
  }
}
