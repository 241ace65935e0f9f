//! AVIF output: Next's quality mapped to the base quantiser libaom would use for sharp, and the
//! ravif (rav1e) encoder configured with it.

use crate::decode::Raster;
use crate::ImageError;

/// Next 16.4.6 `transform.js`: `Math.max(Math.round(quality * (50 / 80)), 1)` (q75 → 47),
/// the quality sharp hands to libheif/aom.
pub fn avif_quality(quality: u8) -> u8 {
  ((f64::from(quality) * 50.0 / 80.0).round() as u8).max(1)
}

/// libaom's `quantizer_to_qindex` table (cq-level 0–63 → AV1 base_q_idx 0–255).
const AOM_QINDEX: [u8; 64] = [
  0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 84, 88, 92, 96,
  100, 104, 108, 112, 116, 120, 124, 128, 132, 136, 140, 144, 148, 152, 156, 160, 164, 168, 172,
  176, 180, 184, 188, 192, 196, 200, 204, 208, 212, 216, 220, 224, 228, 232, 236, 240, 244, 249,
  255,
];

/// The AV1 base quantiser index sharp ends up with for a sharp AVIF `quality`:
/// libheif's aom plugin uses `cq_level = ((100 - quality) * 63 + 50) / 100`, end-usage Q.
pub fn aom_qindex(sharp_quality: u8) -> u8 {
  let q = u32::from(sharp_quality.min(100));
  AOM_QINDEX[((100 - q) * 63 + 50) as usize / 100]
}

/// ravif 0.13's private `quality_to_quantizer`, mirrored so we can invert it.
fn ravif_quantizer(quality: f32) -> u8 {
  let q = quality / 100.0;
  let x = if q >= 0.82 {
    (1.0 - q) * 2.6
  } else if q > 0.25 {
    q.mul_add(-0.5, 1.0 - 0.125)
  } else {
    1.0 - q
  };
  (x * 255.0).round() as u8
}

/// The ravif `quality` whose rav1e quantiser is closest to libaom's for the same Next quality,
/// so our AVIF uses the same base quantiser as sharp's (file sizes then differ only by encoder).
pub fn ravif_quality_for(next_quality: u8) -> f32 {
  let target = i32::from(aom_qindex(avif_quality(next_quality)));
  let mut best = (i32::MAX, 100.0f32);
  for step in 0..=1980 {
    let quality = 1.0 + step as f32 * 0.05;
    let diff = (i32::from(ravif_quantizer(quality)) - target).abs();
    if diff < best.0 {
      best = (diff, quality);
    }
  }
  best.1
}

/// rav1e speed standing in for sharp's `effort: 3` (= aom speed 6). See the crate docs for
/// the measurement behind the choice.
pub const DEFAULT_AVIF_SPEED: u8 = 8;

/// `avif({ quality: round(q·50/80), effort: 3 })`, 4:4:4, 8-bit, via ravif/rav1e.
pub(crate) fn encode_avif(
  r: &Raster,
  quality: u8,
  speed: u8,
  threads: Option<usize>,
) -> Result<Vec<u8>, ImageError> {
  let q = ravif_quality_for(quality);
  let encoder = ravif::Encoder::new()
    .with_quality(q)
    .with_alpha_quality(q)
    .with_speed(speed.clamp(1, 10))
    .with_bit_depth(ravif::BitDepth::Eight)
    .with_internal_color_model(ravif::ColorModel::YCbCr)
    .with_num_threads(threads);
  let (w, h) = (r.width as usize, r.height as usize);
  let encoded = if r.channels == 4 {
    let px: Vec<ravif::RGBA8> = r
      .data
      .chunks_exact(4)
      .map(|p| ravif::RGBA8::new(p[0], p[1], p[2], p[3]))
      .collect();
    encoder.encode_rgba(ravif::Img::new(&px[..], w, h))
  } else {
    let px: Vec<ravif::RGB8> = r
      .data
      .chunks_exact(3)
      .map(|p| ravif::RGB8::new(p[0], p[1], p[2]))
      .collect();
    encoder.encode_rgb(ravif::Img::new(&px[..], w, h))
  };
  encoded
    .map(|e| e.avif_file)
    .map_err(|e| ImageError::encode("AVIF", e))
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
  fn ravif_quantiser_matches_libaom_qindex() {
    // q75 → sharp 47 → cq-level 33 → qindex 132.
    assert_eq!(aom_qindex(47), 132);
    for q in [1u8, 30, 50, 75, 90, 100] {
      let target = i32::from(aom_qindex(avif_quality(q)));
      let got = i32::from(ravif_quantizer(ravif_quality_for(q)));
      assert!((got - target).abs() <= 1, "q{q}: {got} vs {target}");
    }
  }
}
