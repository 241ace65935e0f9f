//! Colour management: everything leaves as 8-bit sRGB without a profile, like sharp's default
//! output (Next never calls `keepIccProfile`). moxcms does the ICC maths in pure Rust.

use std::sync::{Arc, OnceLock};

use moxcms::{
  CicpColorPrimaries, CicpProfile, ColorProfile, DataColorSpace, Layout, MatrixCoefficients,
  ProfileVersion, ToneReprCurve, TransferCharacteristics, Transform16BitExecutor, TransformOptions,
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

/// The CMYK profile for CMYK JPEGs without one: libvips's fallback `cmyk.icm` ("Chemical
/// proof", Graeme W. Gill, public domain), the profile sharp converts untagged CMYK with,
/// reduced to its A2B tables (54 KB instead of 961 KB; `profiles/README.md` says how).
static DEFAULT_CMYK_ICC: &[u8] = include_bytes!("../profiles/cmyk.icm");

/// CMYK (ink amounts, 0 = none) → sRGB through an embedded CMYK profile. `None` when the
/// profile is unusable, so the caller falls back to [`default_cmyk_to_srgb`].
pub(crate) fn cmyk_to_srgb(icc: &[u8], cmyk: &[u8]) -> Option<Vec<u8>> {
  let src = ColorProfile::new_from_slice(icc).ok()?;
  CmykToSrgb::new(&src)?.run(cmyk)
}

/// Untagged CMYK → sRGB through the default CMYK profile, as libvips does. `None` only if the
/// transform fails, so the caller falls back to [`naive_cmyk_to_rgb`].
pub(crate) fn default_cmyk_to_srgb(cmyk: &[u8]) -> Option<Vec<u8>> {
  static DEFAULT: OnceLock<Option<CmykToSrgb>> = OnceLock::new();
  DEFAULT
    .get_or_init(|| CmykToSrgb::new(&ColorProfile::new_from_slice(DEFAULT_CMYK_ICC).ok()?))
    .as_ref()?
    .run(cmyk)
}

/// A CMYK → sRGB conversion as LittleCMS does it for libvips (perceptual intent, into
/// libvips's sRGB profile, which is ICC v4): LittleCMS forces black point compensation for a
/// v4 profile in the perceptual intent, so the source's black (CMYK 100/100/100/100 made
/// neutral, L* at most 50; a v4 source's is the fixed perceptual black) becomes sRGB black.
/// moxcms has no black point compensation, so the profile converts to linear sRGB and
/// [`CmykToSrgb::encode`] applies it: with a neutral source black of luminance `t` and a
/// black destination, LittleCMS's XYZ scaling `(XYZ − t·D50) / (1 − t)` is
/// `(rgb − t) / (1 − t)` per linear sRGB channel. Without it, shadows come out grey: on the
/// untagged test photo, MAE 4.9 against sharp instead of 1.75.
///
/// The rest of that 1.75 is LittleCMS 2.19–2.19.1 (in sharp 0.35.5's libvips), which lost the
/// "make the black point neutral" step (restored upstream in Little-CMS 6a5a890, unreleased):
/// sharp subtracts the profile's bluish black as it is, so its darkest blues are a little
/// lower. We keep the neutral black of every other LittleCMS release.
struct CmykToSrgb {
  transform: Arc<Transform16BitExecutor>,
  /// Linear sRGB (16-bit) → black-point-compensated, sRGB-encoded 8-bit.
  encode: Vec<u8>,
}

impl CmykToSrgb {
  fn new(src: &ColorProfile) -> Option<Self> {
    if src.color_space != DataColorSpace::Cmyk {
      return None;
    }
    let mut linear = ColorProfile::new_srgb();
    linear.cicp = None;
    let identity = ToneReprCurve::Parametric(vec![1.0]);
    linear.red_trc = Some(identity.clone());
    linear.green_trc = Some(identity.clone());
    linear.blue_trc = Some(identity);
    let options = TransformOptions::default();
    let transform = src
      .create_transform_16bit(Layout::Rgba, &linear, Layout::Rgb, options)
      .ok()?;
    let black = if matches!(
      src.version(),
      ProfileVersion::V4_0
        | ProfileVersion::V4_1
        | ProfileVersion::V4_2
        | ProfileVersion::V4_3
        | ProfileVersion::V4_4
    ) {
      // LittleCMS's perceptual black for v4 profiles (cmsPERCEPTUAL_BLACK_Y).
      0.0034731
    } else {
      let probe = src
        .create_transform_f32(Layout::Rgba, &linear, Layout::Rgb, options)
        .ok()?;
      let mut rgb = [0f32; 3];
      probe.transform(&[1.0; 4], &mut rgb).ok()?;
      // Luminance through the D50-adapted sRGB matrix's Y row, clipped as L* ≤ 50.
      let y = 0.2225045 * rgb[0] + 0.7168786 * rgb[1] + 0.0606169 * rgb[2];
      f64::from(y).clamp(0.0, 0.184_186)
    };
    let encode = (0..=u16::MAX)
      .map(|v| {
        let lin = ((f64::from(v) / 65535.0 - black) / (1.0 - black)).clamp(0.0, 1.0);
        let srgb = if lin <= 0.003_130_8 {
          lin * 12.92
        } else {
          1.055 * lin.powf(1.0 / 2.4) - 0.055
        };
        (srgb * 255.0).round() as u8
      })
      .collect();
    Some(CmykToSrgb { transform, encode })
  }

  fn run(&self, cmyk: &[u8]) -> Option<Vec<u8>> {
    // In slices, so the 16-bit copies stay small next to the image.
    const PIXELS: usize = 4096;
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    let mut src = vec![0u16; PIXELS * 4];
    let mut lin = vec![0u16; PIXELS * 3];
    for chunk in cmyk.chunks(PIXELS * 4) {
      let n = chunk.len() / 4;
      for (d, &s) in src.iter_mut().zip(chunk) {
        *d = u16::from(s) * 257;
      }
      self
        .transform
        .transform(&src[..n * 4], &mut lin[..n * 3])
        .ok()?;
      out.extend(lin[..n * 3].iter().map(|&v| self.encode[usize::from(v)]));
    }
    Some(out)
  }
}

/// The textbook conversion, kept only for when no CMYK transform can be built (it is far
/// from sharp's colours: MAE 11.9 on the test photo, against 1.75 through the default profile).
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
