//! AVIF output as sharp writes it for Next: libaom configured as libheif configures it, in the
//! container avif-serialize writes.

use super::aom_ffi::{encode_frame, Planes, Settings};
use crate::decode::Raster;
use crate::ImageError;

/// Next 16.4.6 `transform.js`: `Math.max(Math.round(quality * (50 / 80)), 1)` (q75 → 47),
/// the quality sharp hands to libheif/aom.
pub fn avif_quality(quality: u8) -> u8 {
  ((f64::from(quality) * 50.0 / 80.0).round() as u8).max(1)
}

/// libaom `cpu-used` for Next's `effort: 3`: libvips passes `speed = 9 - effort` to libheif,
/// whose aom plugin hands it to libaom as `cpu-used`.
pub const DEFAULT_AVIF_SPEED: u8 = 6;

/// How much lower our `cq_level` is than libheif's tune-SSIM formula. sharp 0.35 (libheif 1.23,
/// aom 3.15) encodes with aom's newer `tune=iq` and its own quality table, which libaom 3.11
/// lacks; 3 steps finer under tune SSIM give the same mean SSIMULACRA2 as sharp at Next's q75
/// (calibration in the crate docs).
const CQ_OFFSET: u32 = 3;

/// libheif's aom plugin under tune SSIM: `cq_level = ((100 - quality) * 63 + 50) / 100`, then
/// [`CQ_OFFSET`] finer.
fn cq_level(sharp_quality: u8) -> u32 {
  ((u32::from(100 - sharp_quality.min(100)) * 63 + 50) / 100).saturating_sub(CQ_OFFSET)
}

/// `avif({ quality: round(q·50/80), effort: 3 })` as sharp encodes it: libaom in all-intra
/// usage, 4:4:4, 8-bit, full-range BT.601 YCbCr, alpha (if any) as a monochrome auxiliary
/// image at the same quality. `threads` is libaom's `g_threads` (row-based multithreading).
pub(crate) fn encode_avif(
  r: &Raster,
  quality: u8,
  speed: u8,
  threads: Option<usize>,
) -> Result<Vec<u8>, ImageError> {
  let threads = threads
    .or_else(|| std::thread::available_parallelism().ok().map(usize::from))
    .unwrap_or(1)
    .clamp(1, 64) as u32;
  let settings = Settings {
    cq_level: cq_level(avif_quality(quality)),
    cpu_used: u32::from(speed.min(9)),
    threads,
  };
  let (w, h) = (r.width, r.height);
  let (y, u, v, alpha) = to_ycbcr444(r)?;
  let err = |e: String| ImageError::encode("AVIF", e);
  let colour = encode_frame(
    &Planes::Yuv444 {
      y: &y,
      u: &u,
      v: &v,
    },
    w,
    h,
    &settings,
  )
  .map_err(err)?;
  let alpha = match alpha {
    Some(a) => Some(encode_frame(&Planes::Mono { y: &a }, w, h, &settings).map_err(err)?),
    None => None,
  };
  use avif_serialize::constants::{ColorPrimaries, MatrixCoefficients, TransferCharacteristics};
  let mut container = avif_serialize::Aviffy::new();
  container
    .set_seq_profile(1)
    .set_chroma_subsampling((false, false))
    .set_color_primaries(ColorPrimaries::Bt709)
    .set_transfer_characteristics(TransferCharacteristics::Srgb)
    .set_matrix_coefficients(MatrixCoefficients::Bt601)
    .set_full_color_range(true);
  Ok(container.to_vec(&colour, alpha.as_deref(), w, h, 8))
}

type Planes444 = (Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// Full-range BT.601 RGB → Y, Cb, Cr planes (and the alpha plane when there is one), rounded
/// to nearest in 16-bit fixed point.
fn to_ycbcr444(r: &Raster) -> Result<Planes444, ImageError> {
  let n = r.width as usize * r.height as usize;
  let plane = || -> Result<Vec<u8>, ImageError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
      .map_err(|_| ImageError::encode("AVIF", "out of memory for the YCbCr planes"))?;
    Ok(v)
  };
  let (mut y, mut cb, mut cr) = (plane()?, plane()?, plane()?);
  let mut alpha = if r.channels == 4 {
    Some(plane()?)
  } else {
    None
  };
  const ONE: i32 = 1 << 16;
  let k = |x: f64| (x * f64::from(ONE)).round() as i32;
  let (yr, yg, yb) = (k(0.299), k(0.587), k(0.114));
  let (ur, ug, ub) = (k(-0.168_736), k(-0.331_264), k(0.5));
  let (vr, vg, vb) = (k(0.5), k(-0.418_688), k(-0.081_312));
  let round = |x: i32| ((x + ONE / 2) >> 16).clamp(0, 255) as u8;
  for p in r.data.chunks_exact(r.channels) {
    let (rr, gg, bb) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
    y.push(round(yr * rr + yg * gg + yb * bb));
    cb.push(round(ur * rr + ug * gg + ub * bb + 128 * ONE));
    cr.push(round(vr * rr + vg * gg + vb * bb + 128 * ONE));
    if let Some(a) = alpha.as_mut() {
      a.push(p[3]);
    }
  }
  Ok((y, cb, cr, alpha))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn avif_quality_follows_next_16_4() {
    assert_eq!(avif_quality(75), 47);
    assert_eq!(avif_quality(50), 31);
    assert_eq!(avif_quality(90), 56);
    assert_eq!(avif_quality(1), 1);
    assert_eq!(avif_quality(100), 63);
  }

  #[test]
  fn cq_level_follows_libheif_minus_the_offset() {
    // q75 → sharp 47 → libheif cq-level 33 → 30.
    assert_eq!(cq_level(avif_quality(75)), 30);
    assert_eq!(cq_level(100), 0);
    assert_eq!(cq_level(0), 60);
  }
}
