//! PNG output as Next gets it from sharp: `png({ quality })` turns on palette mode
//! (libimagequant, ≤256 colours, Floyd–Steinberg dither 1.0, zlib level 6, no adaptive
//! filtering). libimagequant is GPL-3, so the colours are reduced by `palette/quantise.rs`:
//! Wu + k-means in Oklab through quantette (MIT/Apache-2.0) for opaque colour, our own
//! quantisers for grey images (levels) and translucent ones (k-means in premultiplied Oklab
//! with an alpha axis), all with Floyd–Steinberg dithering below full strength. Images with
//! ≤256 distinct colours keep them exactly, except grey photos, which get `GREY_LEVELS`
//! dithered levels. The `quality` option is not used.
//!
//! The file is written as small as the pixels allow, still zlib level 6 without filtering:
//! - opaque grey pixels become a grey PNG (colour type 0): 1/2/4-bit when every level is a
//!   multiple of 255/85/17, else 8-bit (no PLTE chunk);
//! - otherwise a palette PNG, 1/2/4-bit when there are ≤2/4/16 entries, with translucent
//!   entries first so that the tRNS chunk stops at the last translucent one.

pub(crate) mod quantise;

pub(crate) fn encode_png(r: &crate::decode::Raster) -> Result<Vec<u8>, crate::ImageError> {
  let reduced = quantise::reduce(&r.data, r.channels, r.width as usize);
  write_png(r.width, r.height, &reduced.palette, &reduced.indices)
    .map_err(|e| crate::ImageError::encode("PNG", e))
}

/// Writes `indices` (one per pixel, row-major) over `palette` as the smallest of the grey and
/// palette PNG forms described above.
pub fn write_png(
  width: u32,
  height: u32,
  palette: &[[u8; 4]],
  indices: &[u8],
) -> Result<Vec<u8>, png::EncodingError> {
  let (palette, indices) = translucent_first(palette, indices);
  let entries = palette.len();
  let mut out = Vec::new();
  let mut enc = png::Encoder::new(&mut out, width, height);
  enc.set_deflate_compression(png::DeflateCompression::Level(6));
  enc.set_filter(png::Filter::NoFilter);
  let grey = palette
    .iter()
    .all(|c| c[3] == 255 && c[0] == c[1] && c[1] == c[2]);
  // Grey bit depths store a level as value / step, so every level must be a multiple of step.
  let grey_depth = grey
    .then(|| {
      [(1u8, 255u8), (2, 85), (4, 17), (8, 1)]
        .into_iter()
        .find(|&(_, step)| palette.iter().all(|c| c[0] % step == 0))
    })
    .flatten();
  let (bits, samples): (u8, Vec<u8>) = match grey_depth {
    Some((bits, step)) if bits < 8 || entries > 16 => {
      enc.set_color(png::ColorType::Grayscale);
      let levels: Vec<u8> = palette.iter().map(|c| c[0] / step).collect();
      (
        bits,
        indices.iter().map(|&i| levels[usize::from(i)]).collect(),
      )
    }
    _ => {
      enc.set_color(png::ColorType::Indexed);
      enc.set_palette(
        palette
          .iter()
          .flat_map(|c| [c[0], c[1], c[2]])
          .collect::<Vec<u8>>(),
      );
      let trns_len = palette
        .iter()
        .rposition(|c| c[3] != 255)
        .map_or(0, |i| i + 1);
      if trns_len > 0 {
        enc.set_trns(
          palette[..trns_len]
            .iter()
            .map(|c| c[3])
            .collect::<Vec<u8>>(),
        );
      }
      let bits = match entries {
        0..=2 => 1,
        3..=4 => 2,
        5..=16 => 4,
        _ => 8,
      };
      (bits, indices)
    }
  };
  enc.set_depth(match bits {
    1 => png::BitDepth::One,
    2 => png::BitDepth::Two,
    4 => png::BitDepth::Four,
    _ => png::BitDepth::Eight,
  });
  let mut writer = enc.write_header()?;
  writer.write_image_data(&pack(&samples, width as usize, bits))?;
  writer.finish()?;
  Ok(out)
}

/// Reorders the palette so that translucent entries come first (opaque ones keep their order).
fn translucent_first(palette: &[[u8; 4]], indices: &[u8]) -> (Vec<[u8; 4]>, Vec<u8>) {
  let mut order: Vec<usize> = (0..palette.len()).collect();
  order.sort_by_key(|&i| palette[i][3] == 255);
  let mut new_index = vec![0u8; palette.len()];
  for (new, &old) in order.iter().enumerate() {
    new_index[old] = new as u8;
  }
  (
    order.iter().map(|&i| palette[i]).collect(),
    indices.iter().map(|&i| new_index[usize::from(i)]).collect(),
  )
}

/// Packs samples of `bits` (1, 2, 4 or 8) bits into rows, first pixel in the high bits, each
/// row padded to a whole byte as PNG requires.
fn pack(samples: &[u8], width: usize, bits: u8) -> Vec<u8> {
  if bits == 8 {
    return samples.to_vec();
  }
  let per_byte = 8 / usize::from(bits);
  let mut out = Vec::with_capacity(samples.len() / per_byte + samples.len() / width.max(1) + 1);
  for row in samples.chunks(width.max(1)) {
    for group in row.chunks(per_byte) {
      let mut byte = 0u8;
      for (k, &s) in group.iter().enumerate() {
        byte |= s << (8 - usize::from(bits) * (k + 1));
      }
      out.push(byte);
    }
  }
  out
}
