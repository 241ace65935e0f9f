//! Palette PNG output (src/palette.rs): the form each kind of source is written in, decoded
//! back with the `png` crate and compared with the source pixels. Sources are generated here;
//! the request width equals the source width, so nothing is resampled.

mod common;

use common::*;
use next_native_image::{optimize, OptimizeOptions, OutputFormat};

struct Decoded {
  color: png::ColorType,
  depth: png::BitDepth,
  width: u32,
  height: u32,
  /// Entries in tRNS (0 without one).
  trns: usize,
  /// Entries in PLTE (0 without one).
  plte: usize,
  rgba: Vec<u8>,
}

fn encode(src: &[u8], width: u32) -> Vec<u8> {
  let out = optimize(src, &OptimizeOptions::new(width, OutputFormat::Png)).unwrap();
  assert_eq!(out.format, OutputFormat::Png);
  out.data
}

fn decode(data: &[u8]) -> Decoded {
  let reader = png::Decoder::new(std::io::Cursor::new(data))
    .read_info()
    .unwrap();
  let info = reader.info();
  let decoded = Decoded {
    color: info.color_type,
    depth: info.bit_depth,
    width: info.width,
    height: info.height,
    trns: info.trns.as_ref().map_or(0, |t| t.len()),
    plte: info.palette.as_ref().map_or(0, |p| p.len() / 3),
    rgba: Vec::new(),
  };
  // Pixels through an independent decoder, expanded to RGBA.
  let rgba = decode_rgba(data).into_raw();
  Decoded { rgba, ..decoded }
}

/// Mean absolute difference per sample.
fn mae(a: &[u8], b: &[u8]) -> f64 {
  assert_eq!(a.len(), b.len());
  a.iter()
    .zip(b)
    .map(|(x, y)| f64::from(x.abs_diff(*y)))
    .sum::<f64>()
    / a.len() as f64
}

/// Mean absolute difference of the alpha channel of two RGBA buffers.
fn alpha_mae(a: &[u8], b: &[u8]) -> f64 {
  let alpha = |p: &[u8]| p.iter().skip(3).step_by(4).copied().collect::<Vec<u8>>();
  mae(&alpha(a), &alpha(b))
}

fn to_rgba(rgb: &[u8]) -> Vec<u8> {
  rgb
    .chunks_exact(3)
    .flat_map(|p| [p[0], p[1], p[2], 255])
    .collect()
}

fn distinct(rgba: &[u8]) -> usize {
  let mut colours: Vec<&[u8]> = rgba.chunks_exact(4).collect();
  colours.sort_unstable();
  colours.dedup();
  colours.len()
}

/// Luma of `photo`: a grey photo with well over 32 levels.
fn grey_photo(width: u32, height: u32) -> Vec<u8> {
  photo(width, height)
    .chunks_exact(3)
    .map(|p| ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8)
    .collect()
}

#[test]
fn grey_photo_becomes_an_8_bit_grey_png_with_few_levels() {
  let (w, h) = (320, 200);
  let grey = grey_photo(w, h);
  let mut levels = grey.clone();
  levels.sort_unstable();
  levels.dedup();
  assert!(levels.len() > 64, "source has {} levels", levels.len());
  for (src, label) in [
    (png(w, h, &grey, image::ExtendedColorType::L8), "grey PNG"),
    (
      png(
        w,
        h,
        &grey.iter().flat_map(|&g| [g, g, g]).collect::<Vec<u8>>(),
        image::ExtendedColorType::Rgb8,
      ),
      "RGB PNG of grey pixels",
    ),
  ] {
    let out = decode(&encode(&src, w));
    assert_eq!((out.width, out.height), (w, h), "{label}");
    assert_eq!(
      (out.color, out.depth),
      (png::ColorType::Grayscale, png::BitDepth::Eight),
      "{label}"
    );
    assert!(
      out
        .rgba
        .chunks_exact(4)
        .all(|p| p[0] == p[1] && p[1] == p[2] && p[3] == 255),
      "{label}: every pixel grey and opaque"
    );
    // 27 dithered levels (quantise::GREY_LEVELS); MAE measured 0.51 with 32 levels.
    assert!(distinct(&out.rgba) <= 27, "{label}");
    let err = mae(
      &out.rgba,
      &to_rgba(&grey.iter().flat_map(|&g| [g, g, g]).collect::<Vec<u8>>()),
    );
    assert!(err < 1.5, "{label}: MAE {err:.2}");
  }
  // Resized: still grey, right size.
  let out = decode(&encode(
    &png(w, h, &grey, image::ExtendedColorType::L8),
    160,
  ));
  assert_eq!(
    (out.width, out.height, out.color),
    (160, 100, png::ColorType::Grayscale)
  );
}

#[test]
fn few_grey_levels_use_the_smallest_grey_depth() {
  let (w, h) = (37, 11); // odd width: rows end in a partial byte
  for (levels, depth) in [
    (vec![0u8, 255], png::BitDepth::One),
    (vec![0, 85, 170, 255], png::BitDepth::Two),
    (vec![0, 17, 34, 119, 255], png::BitDepth::Four),
  ] {
    let grey: Vec<u8> = (0..w * h)
      .map(|i| levels[((i * 7 + i / w) as usize) % levels.len()])
      .collect();
    let out = decode(&encode(&png(w, h, &grey, image::ExtendedColorType::L8), w));
    assert_eq!((out.color, out.depth), (png::ColorType::Grayscale, depth));
    assert_eq!(
      out.rgba,
      to_rgba(&grey.iter().flat_map(|&g| [g, g, g]).collect::<Vec<u8>>())
    );
  }
  // Levels that are not multiples of 17: a palette instead (2-bit for three entries).
  let grey: Vec<u8> = (0..w * h)
    .map(|i| [3u8, 100, 201][(i % 3) as usize])
    .collect();
  let out = decode(&encode(&png(w, h, &grey, image::ExtendedColorType::L8), w));
  assert_eq!(
    (out.color, out.depth, out.plte),
    (png::ColorType::Indexed, png::BitDepth::Two, 3)
  );
  assert_eq!(
    out.rgba,
    to_rgba(&grey.iter().flat_map(|&g| [g, g, g]).collect::<Vec<u8>>())
  );
}

#[test]
fn sixteen_colour_graphic_round_trips_exactly_in_4_bits() {
  let (w, h) = (101, 60);
  let palette: Vec<[u8; 3]> = (0..16u8)
    .map(|i| {
      [
        i.wrapping_mul(53),
        i.wrapping_mul(97).wrapping_add(40),
        i.wrapping_mul(151),
      ]
    })
    .collect();
  let rgb: Vec<u8> = (0..h)
    .flat_map(|y| (0..w).map(move |x| (x / 7 + y / 5 * 3) % 16))
    .flat_map(|i| palette[i as usize])
    .collect();
  let out = decode(&encode(&png(w, h, &rgb, image::ExtendedColorType::Rgb8), w));
  assert_eq!(
    (out.color, out.depth, out.plte, out.trns),
    (png::ColorType::Indexed, png::BitDepth::Four, 16, 0)
  );
  assert_eq!(out.rgba, to_rgba(&rgb));
  // Three colours: 2 bits.
  let rgb: Vec<u8> = (0..w * h).flat_map(|i| palette[(i % 3) as usize]).collect();
  let out = decode(&encode(&png(w, h, &rgb, image::ExtendedColorType::Rgb8), w));
  assert_eq!((out.depth, out.plte), (png::BitDepth::Two, 3));
  assert_eq!(out.rgba, to_rgba(&rgb));
}

#[test]
fn rgba_keeps_alpha() {
  // Few colours with alpha: exact, translucent entries first so tRNS stops early.
  let (w, h) = (40, 30);
  let colours = [
    [10u8, 20, 30, 255],
    [200, 0, 0, 255],
    [0, 0, 0, 0],
    [0, 90, 200, 128],
  ];
  let rgba: Vec<u8> = (0..w * h)
    .flat_map(|i| colours[((i / 3 + i / w) % 4) as usize])
    .collect();
  let out = decode(&encode(
    &png(w, h, &rgba, image::ExtendedColorType::Rgba8),
    w,
  ));
  assert_eq!(
    (out.color, out.depth),
    (png::ColorType::Indexed, png::BitDepth::Two)
  );
  assert_eq!((out.plte, out.trns), (4, 2));
  assert_eq!(out.rgba, rgba);

  // A photo under an alpha ramp (opaque from the middle on), its top-left corner fully
  // transparent.
  let (w, h) = (240, 160);
  let rgba: Vec<u8> = photo(w, h)
    .chunks_exact(3)
    .enumerate()
    .flat_map(|(i, p)| {
      let (x, y) = (i as u32 % w, i as u32 / w);
      let a = if x < w / 4 && y < h / 4 {
        0
      } else {
        (x * 510 / (w - 1)).min(255) as u8
      };
      [p[0], p[1], p[2], a]
    })
    .collect();
  let out = decode(&encode(
    &png(w, h, &rgba, image::ExtendedColorType::Rgba8),
    w,
  ));
  assert_eq!(
    (out.width, out.height, out.color),
    (w, h, png::ColorType::Indexed)
  );
  assert!(
    out.trns > 0 && out.trns < out.plte,
    "tRNS {} of {}",
    out.trns,
    out.plte
  );
  for (i, o) in out.rgba.chunks_exact(4).enumerate() {
    let (x, y) = (i as u32 % w, i as u32 / w);
    if x < w / 4 && y < h / 4 {
      assert_eq!(o[3], 0, "transparent corner at {x},{y}");
    }
  }
  let alpha_err = alpha_mae(&out.rgba, &rgba);
  // Measured 1.14 (2.25 with exoquant's palette, before).
  assert!(alpha_err < 3.0, "alpha MAE {alpha_err:.2}");
}

#[test]
fn photo_stays_close_to_the_source() {
  let (w, h) = (480, 320);
  let rgb = photo(w, h);
  let out = decode(&encode(&png(w, h, &rgb, image::ExtendedColorType::Rgb8), w));
  assert_eq!(
    (out.width, out.height, out.color, out.depth, out.trns),
    (w, h, png::ColorType::Indexed, png::BitDepth::Eight, 0)
  );
  assert!(out.plte <= 256 && out.plte > 16);
  let err = mae(&out.rgba, &to_rgba(&rgb));
  // Per RGB(A) sample, alpha included (always exact). Measured 1.27.
  assert!(err < 2.5, "MAE {err:.2}");
}

/// Mean absolute difference per colour channel after compositing (straight alpha, in 8-bit
/// sRGB as browsers do) over a background of `bg` (0 or 255).
fn composited_mae(a: &[u8], b: &[u8], bg: f64) -> f64 {
  let over = |p: &[u8], c: usize| {
    let alpha = f64::from(p[3]) / 255.0;
    f64::from(p[c]) * alpha + bg * (1.0 - alpha)
  };
  a.chunks_exact(4)
    .zip(b.chunks_exact(4))
    .map(|(p, q)| (0..3).map(|c| (over(p, c) - over(q, c)).abs()).sum::<f64>())
    .sum::<f64>()
    / (a.len() / 4 * 3) as f64
}

#[test]
fn translucent_colours_stay_close_over_white_and_black() {
  // Slow colour waves under a horizontal alpha ramp (0 at the left, opaque at the right): the
  // semi-transparent entries must keep both their colour and their alpha, or the picture
  // shifts over one background or the other.
  let (w, h) = (320, 240);
  let rgba: Vec<u8> = (0..w * h)
    .flat_map(|i| {
      let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
      let wave = |fx: f32, fy: f32, phase: f32| {
        (127.5 + 120.0 * (fx * x + fy * y + phase).sin()).round() as u8
      };
      [
        wave(2.0, 1.0, 0.0),
        wave(-1.5, 2.0, 1.0),
        wave(1.0, -2.0, 2.0),
        (255.0 * (i % w) as f32 / (w - 1) as f32).round() as u8,
      ]
    })
    .collect();
  let out = decode(&encode(
    &png(w, h, &rgba, image::ExtendedColorType::Rgba8),
    w,
  ));
  assert_eq!(
    (out.width, out.height, out.color),
    (w, h, png::ColorType::Indexed)
  );
  let white = composited_mae(&out.rgba, &rgba, 255.0);
  let black = composited_mae(&out.rgba, &rgba, 0.0);
  let alpha = alpha_mae(&out.rgba, &rgba);
  // Measured 1.68, 2.36 and 2.21; exoquant's palette (before) gave 7.24, 3.74 and 5.09.
  assert!(white < 3.0, "MAE over white {white:.2}");
  assert!(black < 3.0, "MAE over black {black:.2}");
  assert!(alpha < 3.0, "alpha MAE {alpha:.2}");
}
