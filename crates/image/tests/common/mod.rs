//! Generators for small test images.
#![allow(dead_code)]

pub mod avif;

use image::ImageEncoder;

/// Baseline-ish JPEG from RGB pixels via mozjpeg (quality 95, 4:4:4 so colours stay exact).
pub fn jpeg_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
  let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
  c.set_size(width as usize, height as usize);
  c.set_quality(95.0);
  c.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
  let mut s = c.start_compress(Vec::new()).unwrap();
  s.write_scanlines(rgb).unwrap();
  s.finish().unwrap()
}

/// CMYK JPEG as Photoshop writes it: Adobe APP14 (transform 0) and inverted samples.
/// `ink` holds real ink amounts (0 = none).
pub fn jpeg_cmyk(width: u32, height: u32, ink: &[u8]) -> Vec<u8> {
  let inverted: Vec<u8> = ink.iter().map(|v| 255 - v).collect();
  let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_CMYK);
  c.set_size(width as usize, height as usize);
  c.set_quality(95.0);
  let mut s = c.start_compress(Vec::new()).unwrap();
  s.write_scanlines(&inverted).unwrap();
  let out = s.finish().unwrap();
  assert!(
    out.windows(5).any(|w| w == b"Adobe"),
    "mozjpeg should write APP14 for CMYK"
  );
  out
}

pub fn solid(width: u32, height: u32, px: &[u8]) -> Vec<u8> {
  px.iter()
    .copied()
    .cycle()
    .take(width as usize * height as usize * px.len())
    .collect()
}

/// Inserts an APPn segment right after SOI.
pub fn insert_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
  let len = (payload.len() + 2) as u16;
  let mut out = jpeg[..2].to_vec();
  out.extend_from_slice(&[0xFF, marker]);
  out.extend_from_slice(&len.to_be_bytes());
  out.extend_from_slice(payload);
  out.extend_from_slice(&jpeg[2..]);
  out
}

/// EXIF APP1 with only an Orientation tag (little-endian TIFF).
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
  let mut p = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
  p.extend_from_slice(&1u16.to_le_bytes()); // one IFD entry
  p.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
  p.extend_from_slice(&3u16.to_le_bytes()); // SHORT
  p.extend_from_slice(&1u32.to_le_bytes());
  p.extend_from_slice(&orientation.to_le_bytes());
  p.extend_from_slice(&[0, 0]);
  p.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
  insert_segment(jpeg, 0xE1, &p)
}

/// ICC profile in a single APP2 `ICC_PROFILE` chunk.
pub fn with_icc(jpeg: &[u8], icc: &[u8]) -> Vec<u8> {
  let mut p = b"ICC_PROFILE\0\x01\x01".to_vec();
  p.extend_from_slice(icc);
  insert_segment(jpeg, 0xE2, &p)
}

pub fn png(width: u32, height: u32, pixels: &[u8], color: image::ExtendedColorType) -> Vec<u8> {
  let mut out = Vec::new();
  image::codecs::png::PngEncoder::new(&mut out)
    .write_image(pixels, width, height, color)
    .unwrap();
  out
}

pub fn png_with_icc(width: u32, height: u32, rgb: &[u8], icc: Vec<u8>) -> Vec<u8> {
  let mut out = Vec::new();
  let mut enc = image::codecs::png::PngEncoder::new(&mut out);
  enc.set_icc_profile(icc).unwrap();
  enc
    .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
    .unwrap();
  out
}

pub fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
  let mut out = Vec::new();
  {
    let mut enc = image::codecs::gif::GifEncoder::new(&mut out);
    for i in 0..frames {
      let buf = image::RgbaImage::from_pixel(
        width.into(),
        height.into(),
        image::Rgba([i as u8 * 80, 0, 0, 255]),
      );
      enc.encode_frame(image::Frame::new(buf)).unwrap();
    }
  }
  out
}

pub fn apng(width: u32, height: u32, frames: u32) -> Vec<u8> {
  let mut out = Vec::new();
  {
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_animated(frames, 0).unwrap();
    let mut w = enc.write_header().unwrap();
    for i in 0..frames {
      w.write_image_data(&solid(width, height, &[i as u8 * 60, 0, 0]))
        .unwrap();
    }
    w.finish().unwrap();
  }
  out
}

/// Decodes a JPEG/PNG/WebP output independently of the crate under test.
pub fn decode_rgba(data: &[u8]) -> image::RgbaImage {
  if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
    let mut d = jpeg_decoder::Decoder::new(data);
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    assert_eq!(info.pixel_format, jpeg_decoder::PixelFormat::RGB24);
    let rgb = image::RgbImage::from_raw(info.width.into(), info.height.into(), px).unwrap();
    return image::DynamicImage::ImageRgb8(rgb).into_rgba8();
  }
  image::load_from_memory(data).unwrap().into_rgba8()
}

/// A photo-like RGB picture, generated so that no third-party photo is needed: a sky gradient,
/// two ranges of hills with soft edges, value-noise texture and per-pixel sensor noise.
/// Deterministic, and as large as the caller asks.
pub fn photo(width: u32, height: u32) -> Vec<u8> {
  // A small integer hash (splitmix-like) stands in for a seeded PRNG.
  let hash = |x: u32, y: u32, s: u32| -> f32 {
    let mut h =
      x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77) ^ s.wrapping_mul(0xC2B2_AE3D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    (h & 0xFFFF) as f32 / 65535.0
  };
  // Value noise on a lattice of `cell` pixels, smoothstep-interpolated.
  let noise = |x: u32, y: u32, cell: u32, s: u32| -> f32 {
    let (cx, cy) = (x / cell, y / cell);
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let tx = smooth((x % cell) as f32 / cell as f32);
    let ty = smooth((y % cell) as f32 / cell as f32);
    let (a, b) = (hash(cx, cy, s), hash(cx + 1, cy, s));
    let (c, d) = (hash(cx, cy + 1, s), hash(cx + 1, cy + 1, s));
    let top = a + (b - a) * tx;
    top + (c + (d - c) * tx - top) * ty
  };
  let (w, h) = (width as f32, height as f32);
  let mut px = Vec::with_capacity(width as usize * height as usize * 3);
  for y in 0..height {
    let v = y as f32 / h;
    for x in 0..width {
      let u = x as f32 / w;
      // Sky: deep blue at the top, pale towards the horizon.
      let mut rgb = [60.0 + 170.0 * v, 100.0 + 110.0 * v, 170.0 - 10.0 * v];
      let ranges = [
        (
          0.55 + 0.06 * (u * 7.0).sin() + 0.02 * (u * 23.0 + 1.0).sin(),
          [90.0, 110.0, 100.0],
        ),
        (
          0.72 + 0.05 * (u * 5.0 + 2.0).sin() + 0.02 * (u * 31.0).sin(),
          [80.0, 100.0, 45.0],
        ),
      ];
      for (top, colour) in ranges {
        // A two-pixel soft edge, then textured slopes.
        let cover = ((v - top) * h / 2.0).clamp(0.0, 1.0);
        if cover > 0.0 {
          let tex = 0.8 + 0.3 * noise(x, y, 48, 1) + 0.2 * noise(x, y, 9, 2);
          for (c, k) in rgb.iter_mut().zip(colour) {
            *c += (k * tex - *c) * cover;
          }
        }
      }
      for (i, c) in rgb.iter().enumerate() {
        let grain = (hash(x, y, 7 + i as u32) - 0.5) * 8.0;
        px.push((c + grain).clamp(0.0, 255.0) as u8);
      }
    }
  }
  px
}

/// A camera-like JPEG of `photo` content (4:4:4, quality 95).
pub fn photo_jpeg(width: u32, height: u32) -> Vec<u8> {
  jpeg_rgb(width, height, &photo(width, height))
}

/// A committed fixture from `tests/fixtures/` (see its README for how each was made).
pub fn fixture(name: &str) -> Vec<u8> {
  let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
  std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A PNG decoded to 8-bit RGB.
pub fn rgb(png: &[u8]) -> image::RgbImage {
  image::load_from_memory_with_format(png, image::ImageFormat::Png)
    .unwrap()
    .into_rgb8()
}

/// Mean absolute error per channel between two PNGs of one size (our thumbnail and a
/// reference, e.g. sharp's), compared as RGB.
pub fn mae_rgb(ours_png: &[u8], reference_png: &[u8], label: &str) -> f64 {
  let (ours, theirs) = (rgb(ours_png), rgb(reference_png));
  assert_eq!(ours.dimensions(), theirs.dimensions(), "{label}");
  let sum: u64 = ours
    .as_raw()
    .iter()
    .zip(theirs.as_raw())
    .map(|(&a, &b)| u64::from(a.abs_diff(b)))
    .sum();
  sum as f64 / ours.as_raw().len() as f64
}
