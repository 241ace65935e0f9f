//! Colour management: everything leaves as 8-bit sRGB without a profile, like sharp's default
//! output (Next never calls `keepIccProfile`). moxcms does the ICC maths in pure Rust.

use moxcms::{
  CicpColorPrimaries, CicpProfile, ColorProfile, DataColorSpace, Layout, MatrixCoefficients,
  TransferCharacteristics, TransformOptions,
};

/// Converts interleaved RGB/RGBA pixels from the given ICC profile to sRGB in place.
/// Profiles that do not parse, are not RGB, or are already sRGB leave the pixels untouched
/// (libvips also ignores unusable profiles rather than failing the image).
pub(crate) fn rgb_to_srgb(icc: &[u8], channels: usize, data: &mut [u8]) {
  let Ok(src) = ColorProfile::new_from_slice(icc) else {
    return;
  };
  if src.color_space != DataColorSpace::Rgb || is_srgb(&src) {
    return;
  }
  let layout = if channels == 4 {
    Layout::Rgba
  } else {
    Layout::Rgb
  };
  let Ok(transform) = src.create_transform_8bit(
    layout,
    &ColorProfile::new_srgb(),
    layout,
    TransformOptions::default(),
  ) else {
    return;
  };
  let mut out = vec![0u8; data.len()];
  if transform.transform(data, &mut out).is_ok() {
    data.copy_from_slice(&out);
  }
}

/// An ICC profile for AVIF/H.273 colour primaries and transfer characteristics (`colr` nclx or
/// the AV1 sequence header), for [`rgb_to_srgb`]; `None` when the pixels are taken as sRGB.
/// Primaries: BT.709, unspecified and unknown codes are sRGB's; the others moxcms knows
/// (Display P3, DCI-P3, BT.2020, BT.601/SMPTE 240, BT.470, film, EBU 3213) are converted.
/// Transfer: gamma 2.2 (4), gamma 2.8 (5) and linear (8) are honoured; everything else,
/// including the BT.709 family and HDR (PQ, HLG, not tone-mapped), is taken as sRGB's curve.
pub(crate) fn profile_for_cicp(primaries: u16, transfer: u16) -> Option<Vec<u8>> {
  let primaries = match primaries {
    4..=9 | 11 | 12 | 22 => primaries as u8,
    _ => 1,
  };
  let transfer = match transfer {
    4 | 5 | 8 => transfer as u8,
    _ => 13,
  };
  if primaries == 1 && transfer == 13 {
    return None;
  }
  let profile = ColorProfile::new_from_cicp(CicpProfile {
    color_primaries: CicpColorPrimaries::try_from(primaries).ok()?,
    transfer_characteristics: TransferCharacteristics::try_from(transfer).ok()?,
    matrix_coefficients: MatrixCoefficients::Bt709,
    full_range: true,
  });
  profile.red_trc.as_ref()?;
  profile.encode().ok()
}

/// sRGB profiles (by colorants and curve) skip the transform: it would be an identity.
fn is_srgb(profile: &ColorProfile) -> bool {
  let srgb = ColorProfile::new_srgb();
  let close = |a: moxcms::Xyzd, b: moxcms::Xyzd| {
    (a.x - b.x).abs() < 2e-3 && (a.y - b.y).abs() < 2e-3 && (a.z - b.z).abs() < 2e-3
  };
  close(profile.red_colorant, srgb.red_colorant)
    && close(profile.green_colorant, srgb.green_colorant)
    && close(profile.blue_colorant, srgb.blue_colorant)
    && profile.red_trc == srgb.red_trc
    && profile.green_trc == srgb.green_trc
    && profile.blue_trc == srgb.blue_trc
}

/// CMYK (ink amounts, 0 = none) → sRGB through an embedded CMYK profile. `None` when the
/// profile is unusable, so the caller falls back to [`naive_cmyk_to_rgb`].
pub(crate) fn cmyk_to_srgb(icc: &[u8], cmyk: &[u8]) -> Option<Vec<u8>> {
  let src = ColorProfile::new_from_slice(icc).ok()?;
  if src.color_space != DataColorSpace::Cmyk {
    return None;
  }
  let transform = src
    .create_transform_8bit(
      Layout::Rgba,
      &ColorProfile::new_srgb(),
      Layout::Rgb,
      TransformOptions::default(),
    )
    .ok()?;
  let mut out = vec![0u8; cmyk.len() / 4 * 3];
  transform.transform(cmyk, &mut out).ok()?;
  Some(out)
}

/// Untagged CMYK: the textbook conversion. libvips would use its bundled fallback CMYK
/// profile instead, so untagged CMYK can come out slightly more saturated than sharp's.
pub(crate) fn naive_cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
  let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
  for px in cmyk.chunks_exact(4) {
    let k = 255 - u32::from(px[3]);
    for &ink in &px[..3] {
      out.push(((255 - u32::from(ink)) * k / 255) as u8);
    }
  }
  out
}
