//! Encoders configured as Next 16.4.6's `optimizeImage` configures sharp
//! (`next/dist/server/image-optimizer/transform.js`).

use crate::decode::Raster;
use crate::{ImageError, OutputFormat};

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

pub(crate) fn encode(
  r: &Raster,
  format: OutputFormat,
  quality: u8,
  avif_speed: u8,
  threads: Option<usize>,
) -> Result<Vec<u8>, ImageError> {
  match format {
    OutputFormat::Jpeg => encode_jpeg(r, quality),
    OutputFormat::Webp => encode_webp(r, quality),
    OutputFormat::Avif => encode_avif(r, quality, avif_speed, threads),
    OutputFormat::Png => crate::palette::encode_png(r),
    OutputFormat::Gif => encode_gif(r),
    OutputFormat::Tiff => encode_tiff(r),
  }
}

fn color_type(r: &Raster) -> image::ExtendedColorType {
  if r.channels == 4 {
    image::ExtendedColorType::Rgba8
  } else {
    image::ExtendedColorType::Rgb8
  }
}

/// A single-frame GIF: NeuQuant palette of up to 256 colours (speed 10, `image`'s default);
/// fully transparent pixels map to the transparent index.
fn encode_gif(r: &Raster) -> Result<Vec<u8>, ImageError> {
  let mut out = Vec::new();
  {
    // The trailer is written when the encoder drops, so it must drop before `out` is used.
    let mut encoder = image::codecs::gif::GifEncoder::new_with_speed(&mut out, 10);
    encoder
      .encode(&r.data, r.width, r.height, color_type(r))
      .map_err(|e| ImageError::encode("GIF", e))?;
  }
  Ok(out)
}

/// A baseline TIFF, LZW-compressed with the horizontal predictor (lossless), RGB or RGBA.
fn encode_tiff(r: &Raster) -> Result<Vec<u8>, ImageError> {
  use tiff::encoder::{colortype, Compression, Predictor, TiffEncoder};
  let err = |e: tiff::TiffError| ImageError::encode("TIFF", e);
  let mut out = std::io::Cursor::new(Vec::new());
  let mut encoder = TiffEncoder::new(&mut out)
    .map_err(err)?
    .with_compression(Compression::Lzw)
    .with_predictor(Predictor::Horizontal);
  if r.channels == 4 {
    let mut image = encoder
      .new_image::<colortype::RGBA8>(r.width, r.height)
      .map_err(err)?;
    // The fourth sample is straight alpha; without this tag readers (libtiff, so sharp) warn
    // that the sample count does not match RGB.
    image
      .encoder()
      .write_tag(tiff::tags::Tag::ExtraSamples, &[2u16][..])
      .map_err(err)?;
    image.write_data(&r.data).map_err(err)?;
  } else {
    encoder
      .write_image::<colortype::RGB8>(r.width, r.height, &r.data)
      .map_err(err)?;
  }
  Ok(out.into_inner())
}

/// `jpeg({ quality, mozjpeg: true })`: trellis quantisation, overshoot deringing, progressive,
/// quant table 3, optimised Huffman, 4:2:0 — mozjpeg's defaults, except one: we keep the
/// standard progressive scan script instead of trial-encoding candidate scripts
/// (`optimize_scans`). Measured at 1080 px on three photos, the trial encoding costs 30–38 %
/// of the time and saves 1.3 % of the bytes on average (2.1 %, 2.2 %, −0.4 %); the pixels
/// differ slightly, because the trellis quantiser's rate estimates follow the scan script
/// (the benchmark's SSIMULACRA2 column compares the quality with sharp's). Alpha is
/// flattened onto black, as libvips does when saving an RGBA image to JPEG.
fn encode_jpeg(r: &Raster, quality: u8) -> Result<Vec<u8>, ImageError> {
  let rgb: std::borrow::Cow<[u8]> = if r.channels == 4 {
    r.data
      .chunks_exact(4)
      .flat_map(|p| {
        let a = u32::from(p[3]);
        [0, 1, 2].map(|i| ((u32::from(p[i]) * a + 127) / 255) as u8)
      })
      .collect::<Vec<u8>>()
      .into()
  } else {
    (&r.data[..]).into()
  };
  // mozjpeg reports errors by unwinding (without the panic hook); catch them here.
  let result = std::panic::catch_unwind(|| -> std::io::Result<Vec<u8>> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(r.width as usize, r.height as usize);
    c.set_quality(f32::from(quality));
    c.set_progressive_mode();
    c.set_optimize_scans(false);
    c.set_optimize_coding(true);
    c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    let mut started = c.start_compress(Vec::new())?;
    started.write_scanlines(&rgb)?;
    started.finish()
  });
  match result {
    Ok(Ok(data)) => Ok(data),
    Ok(Err(e)) => Err(ImageError::encode("JPEG", e)),
    Err(_) => Err(ImageError::encode("JPEG", "mozjpeg error")),
  }
}

/// `webp({ quality })`: lossy, method 4, alpha quality 100 — libwebp's defaults.
fn encode_webp(r: &Raster, quality: u8) -> Result<Vec<u8>, ImageError> {
  let encoder = if r.channels == 4 {
    webp::Encoder::from_rgba(&r.data, r.width, r.height)
  } else {
    webp::Encoder::from_rgb(&r.data, r.width, r.height)
  };
  encoder
    .encode_simple(false, f32::from(quality))
    .map(|mem| mem.to_vec())
    .map_err(|e| ImageError::encode("WebP", format!("{e:?}")))
}

/// `avif({ quality: round(q·50/80), effort: 3 })`, 4:4:4, 8-bit, via ravif/rav1e.
fn encode_avif(
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
