//! Colour reduction for the palette PNG (`palette.rs` writes the file). Four paths, picked by
//! `reduce`:
//! - ≤256 distinct RGBA colours (flat graphics, screenshots, already-indexed sources): kept
//!   exactly, no error at all;
//! - grey and opaque: 1-D Lloyd–Max levels over the 256-bin histogram, Floyd–Steinberg dither;
//! - opaque colour: Wu's box cut then k-means, both in Oklab (quantette), Floyd–Steinberg dither
//!   in Oklab;
//! - translucent colour: exoquant's RGBA k-means palette, our Floyd–Steinberg remap over its
//!   colour map.
//!
//! Every ditherer diffuses `DITHER` of the error: full-strength error diffusion speckles smooth
//! areas with noise that costs bytes (deflate finds fewer repeats) and pixel-level fidelity,
//! while half strength still breaks up banding.

use std::collections::HashMap;

/// Share of the quantisation error a pixel passes on to its neighbours.
pub const DITHER: f32 = 0.5;
/// Levels of the grey quantiser (grey sources with more distinct levels than this). The most
/// that stays within sharp's bytes on the grey benchmark photo at 640 and 1080 px.
pub const GREY_LEVELS: usize = 27;
/// Pixels the RGBA k-means looks at; the remap still covers every pixel.
const RGBA_SAMPLE_PIXELS: usize = 128 * 1024;
/// Share of the pixels the Oklab k-means samples (it stops improving well before 1.0).
const KMEANS_SAMPLING: f32 = 0.5;

/// A palette (RGBA) and one index into it per pixel, row-major.
pub struct Indexed {
  pub palette: Vec<[u8; 4]>,
  pub indices: Vec<u8>,
}

/// `pixels` is `channels` (3 or 4) bytes per pixel, `width` pixels a row.
pub fn reduce(pixels: &[u8], channels: usize, width: usize) -> Indexed {
  let rgba: Vec<[u8; 4]> = pixels
    .chunks_exact(channels)
    .map(|p| [p[0], p[1], p[2], if channels == 4 { p[3] } else { 255 }])
    .collect();
  let opaque = rgba.iter().all(|p| p[3] == 255);
  let grey = opaque && rgba.iter().all(|p| p[0] == p[1] && p[1] == p[2]);
  if let Some(exact) = exact_palette(&rgba) {
    // A grey photo fits in 256 levels but costs twice sharp's bytes kept exactly.
    if !(grey && exact.palette.len() > GREY_LEVELS) {
      return exact;
    }
  }
  if grey {
    let levels: Vec<u8> = rgba.iter().map(|p| p[0]).collect();
    grey_levels(&levels, width, GREY_LEVELS)
  } else if opaque {
    oklab_palette(&rgba, width)
  } else {
    rgba_palette(&rgba, width)
  }
}

/// The image's own colours, in order of first appearance, when there are at most 256.
pub fn exact_palette(pixels: &[[u8; 4]]) -> Option<Indexed> {
  let mut index: HashMap<[u8; 4], u8> = HashMap::new();
  let mut palette = Vec::new();
  let mut indices = Vec::with_capacity(pixels.len());
  for &c in pixels {
    let i = match index.get(&c) {
      Some(&i) => i,
      None => {
        if palette.len() == 256 {
          return None;
        }
        let i = palette.len() as u8;
        index.insert(c, i);
        palette.push(c);
        i
      }
    };
    indices.push(i);
  }
  Some(Indexed { palette, indices })
}

/// `count` grey levels placed by Lloyd–Max iteration on the histogram (start: equal-population
/// quantiles), then a Floyd–Steinberg remap.
pub fn grey_levels(values: &[u8], width: usize, count: usize) -> Indexed {
  let mut hist = [0u64; 256];
  for &v in values {
    hist[usize::from(v)] += 1;
  }
  let total: u64 = hist.iter().sum();
  let mut levels: Vec<f64> = Vec::with_capacity(count);
  let mut seen = 0u64;
  for (v, &n) in hist.iter().enumerate() {
    // The level for the k-th share of pixels sits at the value that crosses (k + ½)/count.
    while n > 0
      && levels.len() < count
      && (seen + n) as f64 > (levels.len() as f64 + 0.5) * total as f64 / count as f64
    {
      levels.push(v as f64);
    }
    seen += n;
  }
  levels.dedup();
  for _ in 0..16 {
    let mut sum = vec![0f64; levels.len()];
    let mut n = vec![0u64; levels.len()];
    let mut j = 0;
    for (v, &c) in hist.iter().enumerate() {
      while j + 1 < levels.len() && (levels[j + 1] - v as f64) < (v as f64 - levels[j]) {
        j += 1;
      }
      sum[j] += v as f64 * c as f64;
      n[j] += c;
    }
    for ((level, s), &n) in levels.iter_mut().zip(sum).zip(&n) {
      if n > 0 {
        *level = s / n as f64;
      }
    }
  }
  let mut palette: Vec<u8> = levels
    .iter()
    .map(|l| l.round().clamp(0.0, 255.0) as u8)
    .collect();
  palette.sort_unstable();
  palette.dedup();
  // Nearest level for every value 0..=255.
  let nearest: Vec<u8> = (0..=255u8)
    .map(|v| {
      let (i, _) = palette
        .iter()
        .enumerate()
        .min_by_key(|(_, &l)| l.abs_diff(v))
        .expect("at least one level");
      i as u8
    })
    .collect();
  let mut indices = Vec::with_capacity(values.len());
  let mut err_row = vec![0f32; width + 2];
  let mut err_next = vec![0f32; width + 2];
  for row in values.chunks_exact(width) {
    for (x, &v) in row.iter().enumerate() {
      let want = f32::from(v) + err_row[x + 1];
      let i = nearest[want.round().clamp(0.0, 255.0) as usize];
      indices.push(i);
      let e = (want - f32::from(palette[usize::from(i)])) * DITHER;
      err_row[x + 2] += e * 7.0 / 16.0;
      err_next[x] += e * 3.0 / 16.0;
      err_next[x + 1] += e * 5.0 / 16.0;
      err_next[x + 2] += e * 1.0 / 16.0;
    }
    std::mem::swap(&mut err_row, &mut err_next);
    err_next.iter_mut().for_each(|e| *e = 0.0);
  }
  Indexed {
    palette: palette.iter().map(|&g| [g, g, g, 255]).collect(),
    indices,
  }
}

/// Opaque colour: up to 256 colours from Wu's method refined by k-means, in Oklab.
pub fn oklab_palette(pixels: &[[u8; 4]], width: usize) -> Indexed {
  use quantette::color_map::NearestNeighborColorMap;
  use quantette::deps::palette::Srgb;
  use quantette::dither::FloydSteinberg;
  use quantette::kmeans::{Kmeans, KmeansOptions};
  use quantette::wu::{BinnerF32x3, WuF32x3};
  use quantette::{color_space, ImageRef, PaletteSize};

  let srgb: Vec<Srgb<u8>> = pixels.iter().map(|p| Srgb::new(p[0], p[1], p[2])).collect();
  let oklab = color_space::srgb8_to_oklab(&srgb);
  drop(srgb);
  let height = pixels.len() / width;
  // quantette caps an image at u32::MAX pixels; ours are capped far lower (limits.rs).
  let wu = WuF32x3::run_slice(&oklab, BinnerF32x3::oklab_from_srgb8()).expect("pixel count");
  let centroids = wu.palette(PaletteSize::MAX);
  let palette = Kmeans::run_slice(
    &oklab,
    centroids,
    KmeansOptions::new().sampling_factor(KMEANS_SAMPLING),
  )
  .expect("pixel count")
  .into_palette();
  let image = ImageRef::new(width as u32, height as u32, oklab.as_slice()).expect("dimensions");
  let ditherer = FloydSteinberg::with_error_diffusion(DITHER).expect("0 < DITHER <= 1");
  let (palette, indices) = ditherer
    .dither_image_to_indexed(image, NearestNeighborColorMap::new(palette))
    .into_parts();
  let palette = color_space::oklab_to_srgb8(&palette);
  Indexed {
    palette: palette
      .iter()
      .map(|c| [c.red, c.green, c.blue, 255])
      .collect(),
    indices,
  }
}

/// Translucent colour: exoquant's k-means over RGBA (quantette has no alpha), remapped with
/// Floyd–Steinberg at `DITHER` strength in exoquant's dither space.
pub fn rgba_palette(pixels: &[[u8; 4]], width: usize) -> Indexed {
  use exoquant::optimizer::{self, Optimizer};
  use exoquant::{Color, ColorMap, ColorSpace, Colorf, Histogram, SimpleColorSpace};

  // The colour under alpha 0 is invisible: one histogram entry for all of it.
  let colours: Vec<Color> = pixels
    .iter()
    .map(|p| match p[3] {
      0 => Color::new(0, 0, 0, 0),
      a => Color::new(p[0], p[1], p[2], a),
    })
    .collect();
  let space = SimpleColorSpace::default();
  let stride = colours.len().div_ceil(RGBA_SAMPLE_PIXELS).max(1);
  let histogram: Histogram = colours.iter().step_by(stride).cloned().collect();
  let palette = exoquant::generate_palette(&histogram, &space, &optimizer::KMeans, 256);
  let palette = optimizer::KMeans.optimize_palette(&space, &palette, &histogram, 4);
  let mut palette = palette;
  // Fully transparent pixels get one fully transparent entry of their own (the one k-means put
  // nearest to them) and pass no error on: their colour is invisible.
  let clear = colours.iter().any(|c| c.a == 0).then(|| {
    let i = (0..palette.len())
      .min_by_key(|&i| palette[i].a)
      .expect("a non-empty palette");
    palette[i] = Color::new(0, 0, 0, 0);
    i
  });
  let map = ColorMap::new(&palette, &space);
  let strength = f64::from(DITHER);
  let mut indices = Vec::with_capacity(colours.len());
  let mut err_row = vec![Colorf::zero(); width + 2];
  let mut err_next = vec![Colorf::zero(); width + 2];
  for row in colours.chunks_exact(width) {
    for (x, &c) in row.iter().enumerate() {
      if let (0, Some(i)) = (c.a, clear) {
        indices.push(i as u8);
        continue;
      }
      let want = space.to_dither(space.to_float(c)) + err_row[x + 1];
      let i = map.find_nearest(space.from_dither(want));
      indices.push(i as u8);
      let e = (want - space.to_dither(map.float_color(i))) * strength;
      err_row[x + 2] += e * (7.0 / 16.0);
      err_next[x] += e * (3.0 / 16.0);
      err_next[x + 1] += e * (5.0 / 16.0);
      err_next[x + 2] += e * (1.0 / 16.0);
    }
    std::mem::swap(&mut err_row, &mut err_next);
    err_next.iter_mut().for_each(|e| *e = Colorf::zero());
  }
  Indexed {
    palette: palette.iter().map(|c| [c.r, c.g, c.b, c.a]).collect(),
    indices,
  }
}
