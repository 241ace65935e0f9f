//! Colour reduction for the palette PNG (`palette.rs` writes the file). Four paths, picked by
//! `reduce`:
//! - ≤256 distinct RGBA colours (flat graphics, screenshots, already-indexed sources): kept
//!   exactly, no error at all;
//! - grey and opaque: 1-D Lloyd–Max levels over the 256-bin histogram, Floyd–Steinberg dither;
//! - opaque colour: Wu's box cut then k-means, both in Oklab (quantette), Floyd–Steinberg dither
//!   in Oklab;
//! - translucent colour: our own quantiser in premultiplied Oklab with an alpha axis (a box cut
//!   then k-means on a sample), Floyd–Steinberg dither in the same space; fully transparent
//!   pixels get one entry of their own.
//!
//! The opaque ditherers diffuse `DITHER` of the error: full-strength error diffusion speckles
//! smooth areas with noise that costs bytes (deflate finds fewer repeats) and pixel-level
//! fidelity, while half strength still breaks up banding. The translucent one diffuses a little
//! more (`RGBA_DITHER`).

use std::collections::HashMap;

/// Share of the quantisation error a pixel passes on to its neighbours.
pub const DITHER: f32 = 0.5;
/// Levels of the grey quantiser (grey sources with more distinct levels than this). The most
/// that stays within sharp's bytes on the grey benchmark photo at 640 and 1080 px.
pub const GREY_LEVELS: usize = 27;
/// Pixels the RGBA k-means looks at (quantette's own cap); the remap still covers every pixel.
const RGBA_SAMPLE_PIXELS: usize = 262_144;
/// Most Lloyd rounds of the RGBA k-means (it stops earlier once the centroids settle).
const RGBA_KMEANS_ROUNDS: usize = 8;
/// Weight of alpha against premultiplied Oklab lightness (both 0..1) in the RGBA quantiser.
/// With the pivot below, squared distances then approximate the sum of the squared lightness
/// errors composited over black and over white.
const ALPHA_WEIGHT: f32 = 0.5;
/// Oklab lightness the RGBA quantiser centres premultiplied lightness on (see `Point`). Near
/// sRGB mid-grey; a lower pivot favours the picture over black, a higher one over white, and
/// 0.65 measured even on the translucent benchmark photo.
const LIGHTNESS_PIVOT: f32 = 0.65;
/// Floyd–Steinberg strength of the RGBA remap. Above `DITHER`: at 0.5 translucent photos stay
/// well under sharp's bytes but a few SSIMULACRA2 points short of it over white or black.
const RGBA_DITHER: f32 = 0.65;
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

/// Translucent colour, quantised in premultiplied Oklab (`Point`): k-means on a sample, started
/// from a variance-splitting box cut, then a Floyd–Steinberg remap in the same space. Fully
/// transparent pixels share one entry of their own and pass no error on.
pub fn rgba_palette(pixels: &[[u8; 4]], width: usize) -> Indexed {
  let clear = pixels.iter().any(|p| p[3] == 0);
  // Fully transparent pixels are left out of the sample (they have their own entry). One pixel
  // out of every `stride` visible ones, at a hashed offset so the sample does not line up with
  // columns.
  let visible = pixels.len() - pixels.iter().filter(|p| p[3] == 0).count();
  let stride = visible.div_ceil(RGBA_SAMPLE_PIXELS).max(1);
  let sampled: Vec<[u8; 4]> = pixels
    .iter()
    .filter(|p| p[3] != 0)
    .enumerate()
    .filter(|(k, _)| k % stride == hash((k / stride) as u32) as usize % stride)
    .map(|(_, &p)| p)
    .collect();
  let sample = to_points(&sampled);
  drop(sampled);
  let fixed = usize::from(clear);
  let mut centroids = box_cut(sample.clone(), 256 - fixed);
  if clear {
    centroids.insert(0, [0.0; 4]);
  }
  for _ in 0..RGBA_KMEANS_ROUNDS {
    if !kmeans_round(&sample, &mut centroids, fixed) {
      break;
    }
  }
  // The palette as written (straight u8 RGBA), and its points as the remap sees them.
  let palette: Vec<[u8; 4]> = centroids.iter().map(|&c| to_rgba(c)).collect();
  let nearest = Nearest::new(&to_points(&palette));
  let mut indices = Vec::with_capacity(pixels.len());
  let mut err_row = vec![[0f32; 4]; width + 2];
  let mut err_next = vec![[0f32; 4]; width + 2];
  for row in pixels.chunks_exact(width) {
    // Converted a row at a time: a whole image of points would be 16 bytes a pixel.
    let row_points = to_points(row);
    let mut guess = 0;
    for (x, (p, point)) in row.iter().zip(&row_points).enumerate() {
      if p[3] == 0 && clear {
        indices.push(0);
        continue;
      }
      let mut want = *point;
      for (w, e) in want.iter_mut().zip(err_row[x + 1]) {
        *w += e;
      }
      clamp_point(&mut want);
      let i = nearest.find(&want, guess);
      guess = i;
      indices.push(nearest.index[i]);
      let got = nearest.points[i];
      for c in 0..4 {
        let e = (want[c] - got[c]) * RGBA_DITHER;
        err_row[x + 2][c] += e * 7.0 / 16.0;
        err_next[x][c] += e * 3.0 / 16.0;
        err_next[x + 1][c] += e * 5.0 / 16.0;
        err_next[x + 2][c] += e * 1.0 / 16.0;
      }
    }
    std::mem::swap(&mut err_row, &mut err_next);
    err_next.iter_mut().for_each(|e| *e = [0.0; 4]);
  }
  Indexed { palette, indices }
}

/// Oklab (L − `LIGHTNESS_PIVOT`), a, b multiplied by alpha, then alpha times `ALPHA_WEIGHT`.
/// Distances here weigh a colour error by how visible the pixel is, and all fully transparent
/// pixels are one point. Centring lightness makes an alpha error count for a light colour (it
/// shows over black) as for a dark one (it shows over white); premultiplied plain L would count
/// only the former.
type Point = [f32; 4];

fn to_points(pixels: &[[u8; 4]]) -> Vec<Point> {
  use quantette::color_space::srgb8_to_oklab;
  use quantette::deps::palette::Srgb;
  let srgb: Vec<Srgb<u8>> = pixels.iter().map(|p| Srgb::new(p[0], p[1], p[2])).collect();
  srgb8_to_oklab(&srgb)
    .iter()
    .zip(pixels)
    .map(|(c, p)| {
      let a = f32::from(p[3]) / 255.0;
      [
        (c.l - LIGHTNESS_PIVOT) * a,
        c.a * a,
        c.b * a,
        a * ALPHA_WEIGHT,
      ]
    })
    .collect()
}

/// Back to straight sRGB: the colour is the centroid over its alpha (its alpha-weighted mean).
fn to_rgba(c: Point) -> [u8; 4] {
  use quantette::color_space::oklab_to_srgb8;
  use quantette::deps::palette::Oklab;
  let a = (c[3] / ALPHA_WEIGHT).clamp(0.0, 1.0);
  let alpha = (a * 255.0).round() as u8;
  if alpha == 0 {
    return [0; 4];
  }
  let s = oklab_to_srgb8(&[Oklab::new(
    (c[0] / a + LIGHTNESS_PIVOT).clamp(0.0, 1.0),
    c[1] / a,
    c[2] / a,
  )])[0];
  [s.red, s.green, s.blue, alpha]
}

/// Keeps a point with diffused error inside what a pixel can be: alpha within 0..1, lightness
/// within 0..alpha, chroma within what sRGB reaches.
fn clamp_point(p: &mut Point) {
  p[3] = p[3].clamp(0.0, ALPHA_WEIGHT);
  let a = p[3] / ALPHA_WEIGHT;
  p[0] = p[0].clamp(-LIGHTNESS_PIVOT * a, (1.0 - LIGHTNESS_PIVOT) * a);
  p[1] = p[1].clamp(-0.4 * a, 0.4 * a);
  p[2] = p[2].clamp(-0.4 * a, 0.4 * a);
}

fn distance(p: &Point, q: &Point) -> f32 {
  p.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum()
}

fn hash(k: u32) -> u32 {
  let mut h = k.wrapping_mul(0x9E37_79B1);
  h ^= h >> 15;
  h = h.wrapping_mul(0x2C1B_3C6D);
  h ^ (h >> 12)
}

/// Up to `count` starting centroids: repeatedly splits the box with the largest squared error
/// at the mean of its widest axis (a median cut by variance, as Wu's method does on a grid).
fn box_cut(mut points: Vec<Point>, count: usize) -> Vec<Point> {
  struct Box {
    start: usize,
    end: usize,
    mean: Point,
    /// Squared error per axis.
    spread: [f64; 4],
  }
  let measure = |points: &[Point], start: usize, end: usize| {
    let n = (end - start) as f64;
    let mut sum = [0f64; 4];
    let mut sq = [0f64; 4];
    for p in &points[start..end] {
      for c in 0..4 {
        sum[c] += f64::from(p[c]);
        sq[c] += f64::from(p[c]) * f64::from(p[c]);
      }
    }
    Box {
      start,
      end,
      mean: sum.map(|s| (s / n) as f32),
      spread: [0, 1, 2, 3].map(|c| sq[c] - sum[c] * sum[c] / n),
    }
  };
  if points.is_empty() {
    return Vec::new();
  }
  let mut boxes = vec![measure(&points, 0, points.len())];
  while boxes.len() < count {
    let total = |b: &Box| b.spread.iter().sum::<f64>();
    let Some((i, _)) = boxes
      .iter()
      .enumerate()
      .filter(|(_, b)| b.end - b.start > 1 && total(b) > 1e-9)
      .max_by(|(_, a), (_, b)| total(a).total_cmp(&total(b)))
    else {
      break;
    };
    let b = boxes.swap_remove(i);
    let axis = (0..4)
      .max_by(|&a, &c| b.spread[a].total_cmp(&b.spread[c]))
      .expect("four axes");
    let cut = b.mean[axis];
    let slice = &mut points[b.start..b.end];
    // Partition at the mean; a box whose points all sit on one side is split in half.
    let mut mid = 0;
    for j in 0..slice.len() {
      if slice[j][axis] < cut {
        slice.swap(j, mid);
        mid += 1;
      }
    }
    if mid == 0 || mid == slice.len() {
      mid = slice.len() / 2;
    }
    boxes.push(measure(&points, b.start, b.start + mid));
    boxes.push(measure(&points, b.start + mid, b.end));
  }
  boxes.iter().map(|b| b.mean).collect()
}

/// One Lloyd round: assigns every sample to its nearest centroid and moves the centroids (all
/// but the first `fixed`) to the mean of theirs. Returns whether any moved noticeably.
fn kmeans_round(sample: &[Point], centroids: &mut [Point], fixed: usize) -> bool {
  let nearest = Nearest::new(centroids);
  let mut sum = vec![[0f64; 4]; centroids.len()];
  let mut n = vec![0u32; centroids.len()];
  let mut guess = 0;
  for p in sample {
    guess = nearest.find(p, guess);
    let i = usize::from(nearest.index[guess]);
    for c in 0..4 {
      sum[i][c] += f64::from(p[c]);
    }
    n[i] += 1;
  }
  let mut moved = 0f32;
  for (i, centroid) in centroids.iter_mut().enumerate().skip(fixed) {
    if n[i] > 0 {
      let mean = sum[i].map(|s| (s / f64::from(n[i])) as f32);
      moved = moved.max(distance(&mean, centroid));
      *centroid = mean;
    }
  }
  moved > 1e-8
}

/// Nearest-entry search over a palette sorted on its widest axis: scans outwards from the
/// query's place on that axis and stops once the axis distance alone exceeds the best match.
struct Nearest {
  /// Palette points in sorted order, and each one's index in the original palette.
  points: Vec<Point>,
  index: Vec<u8>,
  axis: usize,
}

impl Nearest {
  fn new(palette: &[Point]) -> Self {
    let spread = |c: usize| {
      let (lo, hi) = palette.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| {
        (lo.min(p[c]), hi.max(p[c]))
      });
      hi - lo
    };
    let axis = (0..4)
      .max_by(|&a, &b| spread(a).total_cmp(&spread(b)))
      .expect("four axes");
    let mut order: Vec<usize> = (0..palette.len()).collect();
    order.sort_by(|&a, &b| palette[a][axis].total_cmp(&palette[b][axis]));
    Nearest {
      points: order.iter().map(|&i| palette[i]).collect(),
      index: order.iter().map(|&i| i as u8).collect(),
      axis,
    }
  }

  /// Position (in sorted order) of the entry nearest `p`; `guess` (a position) seeds the bound.
  fn find(&self, p: &Point, guess: usize) -> usize {
    let key = p[self.axis];
    let mut best = guess.min(self.points.len() - 1);
    let mut best_d = distance(p, &self.points[best]);
    let mut hi = self.points.partition_point(|q| q[self.axis] < key);
    let mut lo = hi;
    let (mut up, mut down) = (true, true);
    while up || down {
      if up {
        match self.points.get(hi) {
          Some(q) if (q[self.axis] - key) * (q[self.axis] - key) < best_d => {
            let d = distance(p, q);
            if d < best_d {
              (best, best_d) = (hi, d);
            }
            hi += 1;
          }
          _ => up = false,
        }
      }
      if down {
        match lo.checked_sub(1).map(|j| (j, &self.points[j])) {
          Some((j, q)) if (key - q[self.axis]) * (key - q[self.axis]) < best_d => {
            let d = distance(p, q);
            if d < best_d {
              (best, best_d) = (j, d);
            }
            lo = j;
          }
          _ => down = false,
        }
      }
    }
    best
  }
}
