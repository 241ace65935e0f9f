//! Header parsing and decoding to 8-bit RGB/RGBA, with sharp's JPEG shrink-on-load and the
//! pixel limit checked from the header before any pixel buffer exists. AVIF is in `avif/`.

use std::io::Cursor;

use image::{ImageDecoder, ImageReader, Limits};

use crate::format::InputFormat;
use crate::ImageError;

/// What the header says, before decoding pixels.
#[derive(Debug, Clone)]
pub(crate) struct Header {
  /// Stored (pre-orientation) size.
  pub width: u32,
  pub height: u32,
  /// EXIF orientation 1–8 (1 when absent or invalid).
  pub orientation: u8,
  pub has_alpha: bool,
}

/// 8-bit, interleaved, 3 (RGB) or 4 (RGBA, unassociated alpha) channels, still in the source's
/// colour space (see `icc`) and stored orientation.
pub(crate) struct Raster {
  pub width: u32,
  pub height: u32,
  pub channels: usize,
  pub data: Vec<u8>,
  /// An RGB ICC profile still to be applied (converted to sRGB after resizing, as sharp does).
  pub icc: Option<Vec<u8>>,
}

pub(crate) fn check_pixels(width: u64, height: u64, limit: u64) -> Result<(), ImageError> {
  if width == 0 || height == 0 {
    return Err(ImageError::decode(
      "image",
      format!("header declares a {width}x{height} image"),
    ));
  }
  if width.saturating_mul(height) > limit {
    return Err(ImageError::TooManyPixels {
      width,
      height,
      limit,
    });
  }
  Ok(())
}

fn orientation_from_exif(exif: &[u8]) -> u8 {
  image::metadata::Orientation::from_exif_chunk(exif).map_or(1, |o| o.to_exif())
}

/// Runs a decoder call, turning a panic inside a third-party decoder into [`ImageError::Decode`].
/// Defence in depth: none is expected, but corrupt input must never take the process down.
fn guarded<T>(
  format: InputFormat,
  f: impl FnOnce() -> Result<T, ImageError>,
) -> Result<T, ImageError> {
  std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
    Err(ImageError::decode(
      format.name(),
      "decoder panicked on malformed data",
    ))
  })
}

fn image_limits(limit: u64) -> Limits {
  let mut limits = Limits::default();
  // Our own pixel check runs first; this caps what a decoder may allocate beyond it
  // (16-bit RGBA at the pixel limit, plus slack for metadata).
  limits.max_alloc = Some(limit.saturating_mul(8).saturating_add(64 << 20));
  limits
}

fn image_format(format: InputFormat) -> Result<image::ImageFormat, ImageError> {
  Ok(match format {
    InputFormat::Png => image::ImageFormat::Png,
    InputFormat::Gif => image::ImageFormat::Gif,
    InputFormat::Webp => image::ImageFormat::WebP,
    InputFormat::Bmp => image::ImageFormat::Bmp,
    InputFormat::Tiff => image::ImageFormat::Tiff,
    InputFormat::Jpeg => image::ImageFormat::Jpeg,
    // Read by `avif/`, never by `image`.
    InputFormat::Avif => {
      return Err(ImageError::UnsupportedFormat {
        what: "AVIF through the image crate".to_string(),
      })
    }
  })
}

fn image_decoder(
  input: &[u8],
  format: InputFormat,
  limit: u64,
) -> Result<Box<dyn ImageDecoder + '_>, ImageError> {
  let mut reader = ImageReader::with_format(Cursor::new(input), image_format(format)?);
  reader.limits(image_limits(limit));
  reader
    .into_decoder()
    .map(|d| Box::new(d) as Box<dyn ImageDecoder>)
    .map_err(|e| map_image_err(format, e))
}

fn map_image_err(format: InputFormat, e: image::ImageError) -> ImageError {
  match e {
    image::ImageError::Limits(l) => {
      ImageError::decode(format.name(), format!("limit exceeded: {l}"))
    }
    other => ImageError::decode(format.name(), other),
  }
}

/// Reads only the header: dimensions, orientation, alpha.
pub(crate) fn header(input: &[u8], format: InputFormat) -> Result<Header, ImageError> {
  guarded(format, || match format {
    InputFormat::Jpeg => {
      let mut dec = jpeg_decoder::Decoder::new(input);
      dec.read_info().map_err(|e| ImageError::decode("JPEG", e))?;
      let info = dec
        .info()
        .ok_or_else(|| ImageError::decode("JPEG", "no frame header"))?;
      Ok(Header {
        width: info.width.into(),
        height: info.height.into(),
        orientation: dec.exif_data().map_or(1, orientation_from_exif),
        has_alpha: false,
      })
    }
    InputFormat::Avif => crate::avif::header(input),
    InputFormat::Tiff if is_ycbcr_tiff(input) => ycbcr_tiff_header(input),
    _ => {
      let mut dec = image_decoder(input, format, u64::MAX)?;
      let (width, height) = dec.dimensions();
      let orientation = dec.orientation().map_or(1, |o| o.to_exif());
      Ok(Header {
        width,
        height,
        orientation,
        has_alpha: dec.color_type().has_alpha(),
      })
    }
  })
}

/// sharp's JPEG shrink-on-load factor (pipeline.cc, fastShrinkOnLoad: true): the largest of
/// 8/4/2 not above the common shrink, halved when the shrink is exactly that integer
/// ("known libjpeg rounding errors").
pub(crate) fn jpeg_shrink_on_load(shrink: f64) -> u32 {
  let mut factor = if shrink >= 8.0 {
    8
  } else if shrink >= 4.0 {
    4
  } else if shrink >= 2.0 {
    2
  } else {
    1
  };
  if factor > 1 && shrink as u32 == factor {
    factor /= 2;
  }
  factor
}

/// A JPEG whose entropy-coded data ends without an EOI marker is truncated. libjpeg warns
/// ("Premature end of JPEG file") and sharp's default `failOn: 'warning'` makes that an error
/// (Next then serves the original); jpeg-decoder would silently pad, so we check ourselves.
/// Entropy data stuffs every 0xFF with 0x00, so FF D9 after the first SOS is the real EOI.
fn jpeg_has_eoi(b: &[u8]) -> bool {
  let mut pos = 2;
  while pos + 4 <= b.len() {
    if b[pos] != 0xFF {
      return false;
    }
    let marker = b[pos + 1];
    if marker == 0xFF {
      pos += 1;
      continue;
    }
    let len = u16::from_be_bytes([b[pos + 2], b[pos + 3]]) as usize;
    if marker == 0xDA {
      return b[pos + 2..].windows(2).any(|w| w == [0xFF, 0xD9]);
    }
    pos += 2 + len;
  }
  false
}

/// Decodes to an 8-bit RGB/RGBA raster. `shrink` is the common downscale factor the caller
/// will apply (≥ 1), used for JPEG shrink-on-load. CMYK is converted to RGB here (through its
/// ICC profile when present); an RGB ICC profile is returned in [`Raster::icc`].
pub(crate) fn decode(
  input: &[u8],
  format: InputFormat,
  limit: u64,
  shrink: f64,
) -> Result<Raster, ImageError> {
  guarded(format, || match format {
    InputFormat::Jpeg => decode_jpeg(input, limit, shrink),
    InputFormat::Avif => crate::avif::decode(input, limit),
    InputFormat::Tiff if is_ycbcr_tiff(input) => decode_ycbcr_tiff(input, limit),
    _ => decode_with_image(input, format, limit),
  })
}

fn decode_jpeg(input: &[u8], limit: u64, shrink: f64) -> Result<Raster, ImageError> {
  let err = |e: jpeg_decoder::Error| ImageError::decode("JPEG", e);
  let mut dec = jpeg_decoder::Decoder::new(input);
  dec.read_info().map_err(err)?;
  let info = dec
    .info()
    .ok_or_else(|| ImageError::decode("JPEG", "no frame header"))?;
  check_pixels(info.width.into(), info.height.into(), limit)?;
  if !jpeg_has_eoi(input) {
    return Err(ImageError::decode(
      "JPEG",
      "premature end of data (no EOI marker)",
    ));
  }
  let factor = jpeg_shrink_on_load(shrink);
  match info.pixel_format {
    jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8 => {
      let icc = dec.icc_profile();
      crate::jpeg_ffi::decode_rgb(input, factor).map(|(width, height, data)| Raster {
        width,
        height,
        channels: 3,
        data,
        icc,
      })
    }
    _ => decode_jpeg_rare(dec, limit, factor),
  }
}

/// CMYK/YCCK and 12-bit JPEGs, through jpeg-decoder (which also undoes Adobe's inversion).
fn decode_jpeg_rare(
  mut dec: jpeg_decoder::Decoder<&[u8]>,
  limit: u64,
  factor: u32,
) -> Result<Raster, ImageError> {
  let err = |e: jpeg_decoder::Error| ImageError::decode("JPEG", e);
  if factor > 1 {
    let info = dec
      .info()
      .ok_or_else(|| ImageError::decode("JPEG", "no frame header"))?;
    let w = info.width.div_ceil(factor as u16);
    let h = info.height.div_ceil(factor as u16);
    dec.scale(w, h).map_err(err)?;
  }
  dec.set_max_decoding_buffer_size(usize::try_from(limit.saturating_mul(4)).unwrap_or(usize::MAX));
  let pixels = dec.decode().map_err(err)?;
  let info = dec
    .info()
    .ok_or_else(|| ImageError::decode("JPEG", "no frame header"))?;
  let icc = dec.icc_profile();
  let (width, height) = (u32::from(info.width), u32::from(info.height));
  let n = width as usize * height as usize;
  let data = match info.pixel_format {
    jpeg_decoder::PixelFormat::RGB24 => pixels,
    jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
    // Big-endian 16-bit grey (12-bit JPEG): keep the high byte.
    jpeg_decoder::PixelFormat::L16 => pixels
      .chunks_exact(2)
      .flat_map(|p| [p[0], p[0], p[0]])
      .collect(),
    jpeg_decoder::PixelFormat::CMYK32 => {
      // jpeg-decoder already undoes Adobe's inversion: these are ink amounts (0 = no ink).
      // The embedded profile, else libvips's default CMYK profile, as sharp does.
      let rgb = icc
        .as_deref()
        .and_then(|p| crate::colour::cmyk_to_srgb(p, &pixels))
        .or_else(|| crate::colour::default_cmyk_to_srgb(&pixels));
      let data = rgb.unwrap_or_else(|| crate::colour::naive_cmyk_to_rgb(&pixels));
      return Ok(Raster {
        width,
        height,
        channels: 3,
        data,
        icc: None,
      });
    }
  };
  if data.len() != n * 3 {
    return Err(ImageError::decode(
      "JPEG",
      "decoded buffer has the wrong size",
    ));
  }
  Ok(Raster {
    width,
    height,
    channels: 3,
    data,
    icc,
  })
}

fn decode_with_image(input: &[u8], format: InputFormat, limit: u64) -> Result<Raster, ImageError> {
  // The `image` decoders size their buffers from the header alone: first make sure the data
  // present can produce (or fill) that many pixels.
  crate::plausible::check(input, format)?;
  let mut dec = image_decoder(input, format, limit)?;
  let (w, h) = dec.dimensions();
  check_pixels(w.into(), h.into(), limit)?;
  let icc = dec.icc_profile().ok().flatten();
  let has_alpha = dec.color_type().has_alpha();
  let img = image::DynamicImage::from_decoder(dec).map_err(|e| map_image_err(format, e))?;
  let (width, height) = (img.width(), img.height());
  let (channels, data) = if has_alpha {
    (4, img.into_rgba8().into_raw())
  } else {
    (3, img.into_rgb8().into_raw())
  };
  Ok(Raster {
    width,
    height,
    channels,
    data,
    icc,
  })
}

/// YCbCr TIFFs (photometric 6: what libtiff and ImageMagick write with JPEG compression),
/// which `image` refuses ("Unhandled TIFF color type YCbCr"). The `tiff` crate reads their
/// samples (JPEG strips and tiles upsampled by zune-jpeg; uncompressed, LZW, Deflate or PackBits
/// without subsampling); we convert them to RGB. Uncompressed 2×2/2×1/… subsampled data is
/// unpacked here ([`read_subsampled`]); subsampled data under another compression is refused.
fn is_ycbcr_tiff(input: &[u8]) -> bool {
  tiff::decoder::Decoder::new(Cursor::new(input))
    .and_then(|mut d| d.colortype())
    .is_ok_and(|c| matches!(c, tiff::ColorType::YCbCr(_)))
}

fn tiff_err(e: impl std::fmt::Display) -> ImageError {
  ImageError::decode("TIFF", e)
}

fn ycbcr_tiff_header(input: &[u8]) -> Result<Header, ImageError> {
  let mut dec = tiff::decoder::Decoder::new(Cursor::new(input)).map_err(tiff_err)?;
  let (width, height) = dec.dimensions().map_err(tiff_err)?;
  Ok(Header {
    width,
    height,
    orientation: tiff_orientation(&mut dec),
    has_alpha: false,
  })
}

fn tiff_orientation(dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>) -> u8 {
  match dec.find_tag_unsigned::<u8>(tiff::tags::Tag::Orientation) {
    Ok(Some(o @ 1..=8)) => o,
    _ => 1,
  }
}

fn decode_ycbcr_tiff(input: &[u8], limit: u64) -> Result<Raster, ImageError> {
  use tiff::tags::Tag;

  crate::plausible::check(input, InputFormat::Tiff)?;
  let mut dec = tiff::decoder::Decoder::new(Cursor::new(input)).map_err(tiff_err)?;
  let (width, height) = dec.dimensions().map_err(tiff_err)?;
  check_pixels(width.into(), height.into(), limit)?;
  if !matches!(
    dec.colortype().map_err(tiff_err)?,
    tiff::ColorType::YCbCr(8)
  ) {
    return Err(tiff_err("YCbCr with other than 8 bits per sample"));
  }
  // A strip or tile that ends past the file is truncated data: zune-jpeg would pad a cut JPEG
  // strip silently, where libjpeg warns and sharp's `failOn: 'warning'` fails.
  let (offsets, counts) = match dec.get_chunk_type() {
    tiff::decoder::ChunkType::Strip => (Tag::StripOffsets, Tag::StripByteCounts),
    tiff::decoder::ChunkType::Tile => (Tag::TileOffsets, Tag::TileByteCounts),
  };
  let offsets = dec.get_tag_u64_vec(offsets).map_err(tiff_err)?;
  let counts = dec.get_tag_u64_vec(counts).map_err(tiff_err)?;
  if offsets.len() != counts.len()
    || offsets
      .iter()
      .zip(&counts)
      .any(|(&o, &c)| o.saturating_add(c) > input.len() as u64)
  {
    return Err(tiff_err(
      "premature end of data (a strip or tile ends past the file)",
    ));
  }
  let icc = dec
    .find_tag(Tag::IccProfile)
    .ok()
    .flatten()
    .and_then(|v| v.into_u8_vec().ok());
  let compression = dec
    .find_tag_unsigned::<u16>(Tag::Compression)
    .map_err(tiff_err)?
    .unwrap_or(1);
  let subsampling = dec
    .find_tag_unsigned_vec::<u16>(Tag::ChromaSubsampling)
    .map_err(tiff_err)?
    .unwrap_or_else(|| vec![2, 2]);
  let (sh, sv) = match subsampling[..] {
    [h, v] if [1, 2, 4].contains(&h) && [1, 2, 4].contains(&v) && v <= h => (h, v),
    _ => return Err(tiff_err(format!("YCbCr subsampling {subsampling:?}"))),
  };
  // A JPEG strip is converted as JFIF (full-range BT.601), as libtiff's JPEGCOLORMODE_RGB
  // has libjpeg do for libvips; otherwise libtiff's YCbCr→RGB: the YCbCrCoefficients and
  // ReferenceBlackWhite tags, defaulting to BT.601 and 0/255/128/255/128/255.
  let jpeg = compression == 7;
  let rationals = |dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>, tag, n| {
    dec
      .find_tag(tag)
      .ok()
      .flatten()
      .and_then(|v| v.into_f32_vec().ok())
      .filter(|v| v.len() == n && v.iter().all(|x| x.is_finite()))
  };
  // 529: YCbCrCoefficients; 532: ReferenceBlackWhite (no names in the tiff crate).
  let luma = match rationals(&mut dec, Tag::Unknown(529), 3) {
    Some(l) if !jpeg && l[1] > 0.0 => [l[0], l[1], l[2]],
    _ => [0.299, 0.587, 0.114],
  };
  let refbw = match rationals(&mut dec, Tag::Unknown(532), 6) {
    Some(r) if !jpeg => [r[0], r[1], r[2], r[3], r[4], r[5]],
    _ => [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
  };
  let limits = {
    let mut l = tiff::decoder::Limits::default();
    let bytes = usize::try_from(limit.saturating_mul(3)).unwrap_or(usize::MAX);
    l.decoding_buffer_size = bytes.saturating_add(64 << 20);
    l.intermediate_buffer_size = l.decoding_buffer_size;
    l
  };
  let samples = if (sh, sv) != (1, 1) && !jpeg {
    if compression != 1 {
      return Err(tiff_err(
        "subsampled YCbCr is read only uncompressed or JPEG-compressed",
      ));
    }
    read_subsampled(&mut dec, input, width, height, (sh, sv))?
  } else {
    let mut dec = dec.with_limits(limits);
    match dec.read_image().map_err(tiff_err)? {
      tiff::decoder::DecodingResult::U8(v) => v,
      _ => return Err(tiff_err("YCbCr samples are not 8-bit")),
    }
  };
  let n = width as usize * height as usize;
  if samples.len() != n * 3 {
    return Err(tiff_err("decoded YCbCr buffer has the wrong size"));
  }
  Ok(Raster {
    width,
    height,
    channels: 3,
    data: ycbcr_to_rgb(&samples, luma, refbw),
    icc,
  })
}

/// libtiff's `TIFFYCbCrToRGB` (tif_color.c) in floating point.
fn ycbcr_to_rgb(samples: &[u8], luma: [f32; 3], refbw: [f32; 6]) -> Vec<u8> {
  let scale = |c: f32, black: f32, white: f32, range: f32| {
    let span = if white - black != 0.0 {
      white - black
    } else {
      1.0
    };
    (c - black) * range / span
  };
  let [lr, lg, lb] = luma;
  let (f1, f3) = (2.0 - 2.0 * lr, 2.0 - 2.0 * lb);
  let (f2, f4) = (lr * f1 / lg, lb * f3 / lg);
  let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
  let mut out = Vec::with_capacity(samples.len());
  for px in samples.chunks_exact(3) {
    let y = scale(f32::from(px[0]), refbw[0], refbw[1], 255.0);
    let cb = scale(
      f32::from(px[1]) - 128.0,
      refbw[2] - 128.0,
      refbw[3] - 128.0,
      127.0,
    );
    let cr = scale(
      f32::from(px[2]) - 128.0,
      refbw[4] - 128.0,
      refbw[5] - 128.0,
      127.0,
    );
    out.extend([
      to_u8(y + f1 * cr),
      to_u8(y - f2 * cr - f4 * cb),
      to_u8(y + f3 * cb),
    ]);
  }
  out
}

/// Uncompressed, chunky, subsampled YCbCr strips: each data unit is `sh × sv` Y samples then
/// one Cb and one Cr, covering the strip's rows in units (edges padded). Returns full-resolution
/// interleaved YCbCr (chroma repeated over its block, as libtiff does). Every strip's bytes must
/// be in the file before the output buffer is allocated.
fn read_subsampled(
  dec: &mut tiff::decoder::Decoder<Cursor<&[u8]>>,
  input: &[u8],
  width: u32,
  height: u32,
  (sh, sv): (u16, u16),
) -> Result<Vec<u8>, ImageError> {
  use tiff::tags::Tag;

  if dec.get_chunk_type() != tiff::decoder::ChunkType::Strip
    || dec
      .find_tag_unsigned::<u16>(Tag::PlanarConfiguration)
      .map_err(tiff_err)?
      .unwrap_or(1)
      != 1
  {
    return Err(tiff_err("subsampled YCbCr is read only as chunky strips"));
  }
  let (w, h) = (width as usize, height as usize);
  let (sh, sv) = (usize::from(sh), usize::from(sv));
  let rows_per_strip = dec
    .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
    .map_err(tiff_err)?
    .map_or(h, |r| (r as usize).clamp(1, h));
  if rows_per_strip % sv != 0 && rows_per_strip < h {
    return Err(tiff_err(
      "RowsPerStrip is not a multiple of the vertical subsampling",
    ));
  }
  let offsets = dec.get_tag_u64_vec(Tag::StripOffsets).map_err(tiff_err)?;
  let strips = h.div_ceil(rows_per_strip);
  if offsets.len() < strips {
    return Err(tiff_err("fewer strips than the image needs"));
  }
  let units_across = w.div_ceil(sh);
  let unit = sh * sv + 2;
  let mut chunks = Vec::with_capacity(strips);
  for (s, &offset) in offsets.iter().take(strips).enumerate() {
    let rows = rows_per_strip.min(h - s * rows_per_strip);
    let bytes = rows.div_ceil(sv) * units_across * unit;
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let data = start
      .checked_add(bytes)
      .and_then(|end| input.get(start..end))
      .ok_or_else(|| {
        tiff_err(format!(
          "strip {s} needs {bytes} bytes past the end of the file"
        ))
      })?;
    chunks.push((rows, data));
  }
  let mut out = vec![0u8; w * h * 3];
  for (s, (rows, data)) in chunks.into_iter().enumerate() {
    for (u, block) in data.chunks_exact(unit).enumerate() {
      let (ux, uy) = (u % units_across, u / units_across);
      let (cb, cr) = (block[sh * sv], block[sh * sv + 1]);
      for dy in 0..sv {
        let row = uy * sv + dy;
        if row >= rows {
          break;
        }
        let y = s * rows_per_strip + row;
        for dx in 0..sh {
          let x = ux * sh + dx;
          if x < w {
            let at = (y * w + x) * 3;
            out[at..at + 3].copy_from_slice(&[block[dy * sh + dx], cb, cr]);
          }
        }
      }
    }
  }
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  /// A little-endian YCbCr TIFF: 8-bit, uncompressed, the given subsampling and strips.
  fn ycbcr_tiff(width: u16, height: u16, sub: [u16; 2], rows: u16, strips: &[Vec<u8>]) -> Vec<u8> {
    let entries: [(u16, u16, u32, u32); 11] = [
      (256, 3, 1, width.into()),
      (257, 3, 1, height.into()),
      (258, 3, 3, 0), // BitsPerSample 8,8,8: patched to an offset below
      (259, 3, 1, 1),
      (262, 3, 1, 6),
      (273, 4, strips.len() as u32, 0), // StripOffsets: patched
      (277, 3, 1, 3),
      (278, 3, 1, rows.into()),
      (279, 4, strips.len() as u32, 0), // StripByteCounts: patched
      (284, 3, 1, 1),
      (530, 3, 2, u32::from(sub[0]) | u32::from(sub[1]) << 16),
    ];
    let ifd_len = 2 + entries.len() * 12 + 4;
    let bits_at = 8 + ifd_len;
    let offsets_at = bits_at + 6;
    let counts_at = offsets_at + 4 * strips.len();
    let mut data_at = counts_at + 4 * strips.len();
    let mut out = b"II*\0\x08\0\0\0".to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
      let value = match tag {
        258 => bits_at as u32,
        273 if strips.len() > 1 => offsets_at as u32,
        273 => data_at as u32,
        279 if strips.len() > 1 => counts_at as u32,
        279 => strips[0].len() as u32,
        _ => value,
      };
      out.extend_from_slice(&tag.to_le_bytes());
      out.extend_from_slice(&kind.to_le_bytes());
      out.extend_from_slice(&count.to_le_bytes());
      out.extend_from_slice(&value.to_le_bytes());
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&[8, 0, 8, 0, 8, 0]);
    let mut counts = Vec::new();
    for strip in strips {
      out.extend_from_slice(&(data_at as u32).to_le_bytes());
      counts.extend_from_slice(&(strip.len() as u32).to_le_bytes());
      data_at += strip.len();
    }
    out.extend_from_slice(&counts);
    for strip in strips {
      out.extend_from_slice(strip);
    }
    out
  }

  #[test]
  fn subsampled_ycbcr_tiff_strips_are_unpacked_in_place() {
    // 5×3, 2×2 subsampling, two rows per strip: 3 data units across (the last one half
    // outside the image), the second strip's units half below it. Y = 10·x + 50·y; each unit
    // has Cb 128 and Cr 128 + 10·(its index in the strip), so red tells which unit a pixel took
    // its chroma from.
    let strip = |rows: std::ops::Range<usize>| -> Vec<u8> {
      let mut s = Vec::new();
      for ux in 0..3 {
        for dy in 0..2 {
          for dx in 0..2 {
            let (x, y) = (ux * 2 + dx, rows.start + dy);
            s.push((10 * x + 50 * y) as u8);
          }
        }
        s.extend_from_slice(&[128, 128 + 10 * ux as u8]);
      }
      s
    };
    let tiff = ycbcr_tiff(5, 3, [2, 2], 2, &[strip(0..2), strip(2..4)]);
    assert!(is_ycbcr_tiff(&tiff));
    let h = header(&tiff, InputFormat::Tiff).unwrap();
    assert_eq!((h.width, h.height, h.has_alpha), (5, 3, false));
    let r = decode(&tiff, InputFormat::Tiff, 1 << 20, 1.0).unwrap();
    assert_eq!((r.width, r.height, r.channels), (5, 3, 3));
    for y in 0..3 {
      for x in 0..5 {
        let luma = (10 * x + 50 * y) as f32;
        let cr = 10.0 * (x / 2) as f32;
        let px = &r.data[(y * 5 + x) * 3..][..3];
        let want = [luma + 1.402 * cr, luma - 0.714_136 * cr, luma];
        for c in 0..3 {
          assert!(
            (f32::from(px[c]) - want[c]).abs() <= 0.5,
            "({x}, {y}): {px:?} vs {want:?}"
          );
        }
      }
    }
    // One byte short of the last data unit: refused before decoding.
    let mut cut = tiff.clone();
    cut.pop();
    assert!(decode(&cut, InputFormat::Tiff, 1 << 20, 1.0).is_err());
  }

  #[test]
  fn shrink_on_load_matches_sharp() {
    assert_eq!(jpeg_shrink_on_load(1.5), 1);
    assert_eq!(jpeg_shrink_on_load(2.0), 1); // exact integer → halved
    assert_eq!(jpeg_shrink_on_load(2.37), 1); // 2560 → 1080
    assert_eq!(jpeg_shrink_on_load(3.9), 2);
    assert_eq!(jpeg_shrink_on_load(4.0), 2); // 2560 → 640
    assert_eq!(jpeg_shrink_on_load(4.74), 2); // 5120 → 1080: int(4.74) == 4 → halved
    assert_eq!(jpeg_shrink_on_load(5.0), 4);
    assert_eq!(jpeg_shrink_on_load(8.5), 4);
    assert_eq!(jpeg_shrink_on_load(9.0), 8);
    assert_eq!(jpeg_shrink_on_load(20.0), 8);
  }
}
