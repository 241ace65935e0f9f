//! YUV → 8-bit RGB (and luma → alpha) for a decoded AV1 frame: fixed-point matrices for the
//! CICP matrix coefficients, limited/full range, 8/10/12-bit, nearest-neighbour chroma
//! upsampling (see the module doc of `avif` for the list).

use super::err;
use super::rav1d_ffi;
use crate::ImageError;

/// A 3×3 fixed-point matrix from (Y, U, V) samples scaled by 16 (headroom for sub-sample
/// precision), minus `offset`, to 8-bit R, G, B in units of 2⁻¹⁶.
pub(super) struct Coeffs {
  m: [[i32; 3]; 3],
  offset: [i32; 3],
}

impl Coeffs {
  pub(super) fn new(matrix: u16, primaries: u16, depth: u8, full_range: bool, mono: bool) -> Self {
    let scale = f64::from(1u32 << (depth - 8));
    let max = f64::from((1u32 << depth) - 1);
    let (y_off, y_range, c_range) = if full_range {
      (0.0, max, max)
    } else {
      (16.0 * scale, 219.0 * scale, 224.0 * scale)
    };
    let c_off = f64::from(1u32 << (depth - 1));
    // Per unit of a ×16 sample, to 0–255, in 2⁻¹⁶ units.
    let unit = 65536.0 * 255.0 / 16.0;
    let ys = unit / y_range;
    let cs = unit / c_range;
    let q = |v: f64| v.round() as i32;
    let y_off16 = q(y_off * 16.0);
    let c_off16 = q(c_off * 16.0);
    if mono {
      return Coeffs {
        m: [[q(ys), 0, 0]; 3],
        offset: [y_off16, c_off16, c_off16],
      };
    }
    match matrix {
      // Identity: G, B, R stored as Y, U, V, each scaled like luma.
      0 => Coeffs {
        m: [[0, 0, q(ys)], [q(ys), 0, 0], [0, q(ys), 0]],
        offset: [y_off16, y_off16, y_off16],
      },
      // YCgCo: U is Cg, V is Co.
      8 => Coeffs {
        m: [
          [q(ys), -q(cs), q(cs)],
          [q(ys), q(cs), 0],
          [q(ys), -q(cs), -q(cs)],
        ],
        offset: [y_off16, c_off16, c_off16],
      },
      _ => {
        let (kr, kb) = kr_kb(matrix, primaries);
        let kg = 1.0 - kr - kb;
        Coeffs {
          m: [
            [q(ys), 0, q(2.0 * (1.0 - kr) * cs)],
            [
              q(ys),
              q(-2.0 * kb * (1.0 - kb) / kg * cs),
              q(-2.0 * kr * (1.0 - kr) / kg * cs),
            ],
            [q(ys), q(2.0 * (1.0 - kb) * cs), 0],
          ],
          offset: [y_off16, c_off16, c_off16],
        }
      }
    }
  }

  #[inline(always)]
  pub(super) fn apply(&self, k: usize, y: i32, u: i32, v: i32) -> u8 {
    let m = &self.m[k];
    let sum = m[0] * (y - self.offset[0])
      + m[1] * (u - self.offset[1])
      + m[2] * (v - self.offset[2])
      + (1 << 15);
    (sum >> 16).clamp(0, 255) as u8
  }
}

/// Luma weights of red and blue for a matrix_coefficients code (H.273).
fn kr_kb(matrix: u16, primaries: u16) -> (f64, f64) {
  const BT601: (f64, f64) = (0.299, 0.114);
  const BT709: (f64, f64) = (0.2126, 0.0722);
  const BT2020: (f64, f64) = (0.2627, 0.0593);
  match matrix {
    1 => BT709,
    4 => (0.30, 0.11),
    7 => (0.212, 0.087),
    9 | 10 => BT2020,
    // Chromaticity-derived: the common primaries' values.
    12 | 13 => match primaries {
      1 => BT709,
      9 => BT2020,
      12 => (0.2290, 0.0793),
      _ => BT601,
    },
    // 5, 6 (BT.601), 2 (unspecified) and anything unknown.
    _ => BT601,
  }
}

pub(super) trait Sample: Copy {
  fn get(self) -> i32;
}

impl Sample for u8 {
  #[inline(always)]
  fn get(self) -> i32 {
    i32::from(self)
  }
}

impl Sample for u16 {
  #[inline(always)]
  fn get(self) -> i32 {
    i32::from(self)
  }
}

fn alloc(len: usize) -> Result<Vec<u8>, ImageError> {
  let mut out = Vec::new();
  out
    .try_reserve_exact(len)
    .map_err(|_| err("out of memory"))?;
  Ok(out)
}

pub(super) fn to_rgb<T: Sample>(
  frame: &rav1d_ffi::Frame,
  planes: &[rav1d_ffi::Plane<'_, T>; 3],
  coeffs: &Coeffs,
) -> Result<Vec<u8>, ImageError> {
  let (w, h) = (frame.width, frame.height);
  let mut out = alloc(w * h * 3)?;
  let y_plane = &planes[0];
  if frame.layout == rav1d_ffi::Layout::I400 {
    for y in 0..h {
      for &s in y_plane.row(y) {
        let v = coeffs.apply(0, s.get() * 16, 0, 0);
        out.extend_from_slice(&[v, v, v]);
      }
    }
    return Ok(out);
  }
  let (ss_x, ss_y) = frame.layout.subsampling();
  let (u_plane, v_plane) = (&planes[1], &planes[2]);
  // Nearest-neighbour chroma upsampling: each chroma sample covers its 2×1 or 2×2 luma block.
  // This is what sharp's libheif does (checked against sharp 0.35: identical to ±1), so Next
  // and we agree; a bilinear filter would differ by up to ~10 code values at colour edges.
  let columns: Vec<usize> = (0..w).map(|x| x >> ss_x as usize).collect();
  for y in 0..h {
    let row = y >> ss_y as usize;
    let (u_row, v_row) = (u_plane.row(row), v_plane.row(row));
    for (&s, &c) in y_plane.row(y).iter().zip(&columns) {
      let (yy, u, v) = (s.get() * 16, u_row[c].get() * 16, v_row[c].get() * 16);
      out.extend_from_slice(&[
        coeffs.apply(0, yy, u, v),
        coeffs.apply(1, yy, u, v),
        coeffs.apply(2, yy, u, v),
      ]);
    }
  }
  Ok(out)
}

pub(super) fn to_alpha<T: Sample>(
  frame: &rav1d_ffi::Frame,
  luma: &rav1d_ffi::Plane<'_, T>,
) -> Result<Vec<u8>, ImageError> {
  let coeffs = Coeffs::new(0, 0, frame.depth, frame.nclx.full_range, true);
  let mut out = alloc(frame.width * frame.height)?;
  for y in 0..frame.height {
    out.extend(
      luma
        .row(y)
        .iter()
        .map(|s| coeffs.apply(0, s.get() * 16, 0, 0)),
    );
  }
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn full_range_8bit_bt601_is_exact_for_greys_and_primaries() {
    let c = Coeffs::new(6, 1, 8, true, false);
    for v in [0, 1, 77, 128, 200, 254, 255] {
      let y = v * 16;
      let mid = 128 * 16;
      assert_eq!(
        [
          c.apply(0, y, mid, mid),
          c.apply(1, y, mid, mid),
          c.apply(2, y, mid, mid)
        ],
        [v as u8; 3]
      );
    }
    // Pure red in BT.601 full range: Y 76.245, Cb 84.97, Cr 255.5 (clipped to 255).
    let (y, u, v) = (76.245f64, 84.972f64, 255.0f64);
    let s = |x: f64| (x * 16.0).round() as i32;
    let rgb = [0, 1, 2].map(|k| c.apply(k, s(y), s(u), s(v)));
    assert!(rgb[0] >= 253 && rgb[1] <= 2 && rgb[2] <= 2, "{rgb:?}");
  }

  #[test]
  fn limited_range_10bit_maps_nominal_black_and_white() {
    let c = Coeffs::new(1, 1, 10, false, false);
    let mid = 512 * 16;
    assert_eq!(c.apply(0, 64 * 16, mid, mid), 0);
    assert_eq!(c.apply(1, 940 * 16, mid, mid), 255);
    assert_eq!(c.apply(2, 4 * 16, mid, mid), 0); // below nominal black clips
  }
}
