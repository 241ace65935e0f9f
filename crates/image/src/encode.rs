//! Encoders configured as Next 16.4.6's `optimizeImage` configures sharp
//! (`next/dist/server/image-optimizer/transform.js`). AVIF's is in `avif/encode.rs`.

use crate::decode::Raster;
use crate::{ImageError, OutputFormat};

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
    OutputFormat::Avif => crate::avif::encode::encode_avif(r, quality, avif_speed, threads),
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

/// `jpeg({ quality, mozjpeg: true })`: trellis quantisation, overshoot deringing, progressive
/// with trial-encoded scan scripts (`optimize_scans`), quant table 3, optimised Huffman, 4:2:0:
/// mozjpeg's defaults, as sharp runs them. The scan trial takes a fifth to a quarter of the
/// time per image, but without it files come out up to 13 % larger than sharp's (more the
/// larger the image), and the pixels differ too (the trellis quantiser's rate estimates follow
/// the scan script). Alpha is flattened onto black, as libvips does when saving an RGBA image
/// to JPEG.
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
    c.set_optimize_scans(true);
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
