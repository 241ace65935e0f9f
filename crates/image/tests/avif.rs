//! AVIF input: the container reader, rav1d decoding, YUV → RGB for every layout, depth, range
//! and matrix we claim, orientation, grids, colour management, alpha, limits and robustness.

mod common;

use common::avif::*;
use common::*;
use next_native_image::{
  avif_decoder_faults, blur_placeholder, metadata, optimize, InputFormat, OptimizeOptions,
  OutputFormat,
};
use rav1e::color::ChromaSampling;

const RED: [u8; 3] = [220, 30, 40];
const BLUE: [u8; 3] = [30, 60, 220];
const GREEN: [u8; 3] = [40, 200, 60];
const WHITE: [u8; 3] = [250, 250, 250];

fn fixture(name: &str) -> Vec<u8> {
  let path = format!(
    "{}/../../__test__/fixtures/image-app/public/{name}",
    env!("CARGO_MANIFEST_DIR")
  );
  std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn opts(width: u32, format: OutputFormat) -> OptimizeOptions {
  OptimizeOptions::new(width, format)
}

/// Decodes through `optimize` to a PNG at full size and reads it back independently.
fn decode(avif: &[u8]) -> image::RgbaImage {
  let meta = metadata(avif).unwrap();
  assert_eq!(meta.format, InputFormat::Avif);
  let out = optimize(avif, &opts(meta.width, OutputFormat::Png)).unwrap();
  let img = decode_rgba(&out.data);
  assert_eq!(img.dimensions(), (meta.width, meta.height));
  img
}

fn assert_close(got: &[u8], want: &[u8], tolerance: u8, what: &str) {
  let ok = got
    .iter()
    .zip(want)
    .all(|(&g, &w)| g.abs_diff(w) <= tolerance);
  assert!(ok, "{what}: got {got:?}, want {want:?} (±{tolerance})");
}

fn assert_flat(img: &image::RgbaImage, want: [u8; 3], tolerance: u8, what: &str) {
  for (x, y, px) in img.enumerate_pixels() {
    assert_close(
      &px.0[..3],
      &want,
      tolerance,
      &format!("{what} at ({x},{y})"),
    );
  }
}

fn mean(img: &image::RgbaImage, x0: u32, y0: u32, w: u32, h: u32) -> [f64; 3] {
  let mut sum = [0f64; 3];
  for y in y0..y0 + h {
    for x in x0..x0 + w {
      let px = img.get_pixel(x, y);
      for c in 0..3 {
        sum[c] += f64::from(px[c]);
      }
    }
  }
  sum.map(|s| s / f64::from(w * h))
}

#[test]
fn our_own_avif_round_trips_flat_colours() {
  for colour in [RED, BLUE, GREEN, WHITE, [128, 128, 128], [0, 0, 0]] {
    let src = png(
      40,
      30,
      &solid(40, 30, &colour),
      image::ExtendedColorType::Rgb8,
    );
    let mut o = opts(40, OutputFormat::Avif);
    o.quality = 90;
    let avif = optimize(&src, &o).unwrap().data;
    let meta = metadata(&avif).unwrap();
    assert_eq!((meta.width, meta.height, meta.has_alpha), (40, 30, false));
    assert_flat(&decode(&avif), colour, 4, &format!("{colour:?}"));
  }
}

#[test]
fn ravif_10_bit_and_rgb_matrix_round_trip() {
  let px: Vec<ravif::RGB8> = (0..32 * 24)
    .map(|_| ravif::RGB8::new(200, 120, 40))
    .collect();
  for (depth, model) in [
    (ravif::BitDepth::Ten, ravif::ColorModel::YCbCr),
    (ravif::BitDepth::Eight, ravif::ColorModel::RGB),
    (ravif::BitDepth::Ten, ravif::ColorModel::RGB),
  ] {
    let avif = ravif::Encoder::new()
      .with_quality(95.0)
      .with_speed(10)
      .with_bit_depth(depth)
      .with_internal_color_model(model)
      .encode_rgb(ravif::Img::new(&px[..], 32, 24))
      .unwrap()
      .avif_file;
    assert_flat(
      &decode(&avif),
      [200, 120, 40],
      4,
      &format!("{depth:?} {model:?}"),
    );
  }
}

#[test]
fn alpha_is_decoded_and_premultiplied_alpha_undone() {
  // Our encoder (straight alpha): a horizontal alpha ramp over a flat colour.
  let mut rgba = Vec::new();
  for _y in 0..16 {
    for x in 0..32u8 {
      rgba.extend_from_slice(&[200, 100, 50, 40 + x * 6]);
    }
  }
  let src = png(32, 16, &rgba, image::ExtendedColorType::Rgba8);
  let mut o = opts(32, OutputFormat::Avif);
  o.quality = 95;
  let avif = optimize(&src, &o).unwrap().data;
  assert!(metadata(&avif).unwrap().has_alpha);
  let img = decode(&avif);
  for (x, _, px) in img.enumerate_pixels() {
    assert_close(
      &px.0,
      &[200, 100, 50, 40 + x as u8 * 6],
      6,
      "straight alpha",
    );
  }

  // A `prem` reference from the colour to the alpha item: the colour is premultiplied and
  // must come back unassociated. (ravif 0.13's own premultiplied mode divides instead of
  // multiplying, so the file is built here.)
  let grey = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs400,
    full_range: true,
    matrix: 6,
  };
  let items = [
    Item::av01(1, tile([100, 50, 25], 16, 16), vec![ispe(16, 16)]),
    Item::av01(
      2,
      av1(&grey, &planes(&grey, 16, 16, |_, _| [128; 3]), 0),
      vec![ispe(16, 16), auxc_alpha()],
    ),
  ];
  let avif = container(
    b"avif",
    1,
    &items,
    &[(b"auxl", 2, &[1]), (b"prem", 1, &[2])],
  );
  for px in decode(&avif).pixels() {
    assert_close(&px.0, &[199, 100, 50, 128], 3, "premultiplied alpha");
  }
}

#[test]
fn every_layout_depth_range_and_matrix() {
  use ChromaSampling::*;
  let cases = [
    (Cs420, 8, true, 6),
    (Cs420, 8, false, 1),
    (Cs420, 10, false, 9),
    (Cs422, 8, false, 6),
    (Cs422, 10, true, 1),
    (Cs444, 12, true, 1),
    (Cs444, 12, false, 9),
    (Cs444, 8, true, 0),   // identity (GBR)
    (Cs444, 10, false, 0), // identity, limited range
    (Cs420, 10, true, 8),  // YCgCo
    (Cs400, 8, true, 6),
    (Cs400, 10, false, 1),
    (Cs400, 12, true, 9),
  ];
  for (sampling, depth, full_range, matrix) in cases {
    let yuv = Yuv {
      depth,
      sampling,
      full_range,
      matrix,
    };
    for colour in [[180, 60, 90], [20, 140, 230], [128, 128, 128]] {
      let want = if sampling == Cs400 {
        let y = yuv.encode_rgb(colour)[0];
        let max = f64::from((1u32 << depth) - 1);
        let scale = f64::from(1u32 << (depth - 8));
        let v = if full_range {
          f64::from(y) / max * 255.0
        } else {
          (f64::from(y) - 16.0 * scale) / (219.0 * scale) * 255.0
        };
        [v.round() as u8; 3]
      } else {
        colour
      };
      // Odd sizes: the last chroma column and row cover one luma sample.
      let p = planes(&yuv, 23, 17, |_, _| colour);
      let avif = avif_serialized(&yuv, &p, 0);
      let what = format!("{sampling:?} {depth}-bit full={full_range} matrix {matrix} {colour:?}");
      let img = decode(&avif);
      assert_eq!(img.dimensions(), (23, 17), "{what}");
      assert_flat(&img, want, 2, &what);
    }
  }
}

#[test]
fn chroma_upsampling_keeps_edges_in_place() {
  // Left half red, right half blue, 4:2:0: each chroma sample covers its own 2×2 block
  // (nearest neighbour, as sharp's libheif), so an edge on an even column stays sharp.
  let yuv = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs420,
    full_range: true,
    matrix: 6,
  };
  let p = planes(&yuv, 32, 16, |x, _| if x < 16 { RED } else { BLUE });
  let img = decode(&avif_serialized(&yuv, &p, 0));
  for y in 0..16 {
    assert_close(&img.get_pixel(15, y).0[..3], &RED, 3, "left of the edge");
    assert_close(&img.get_pixel(16, y).0[..3], &BLUE, 3, "right of the edge");
  }
}

/// A 32×16 lossless 4:4:4 image with quadrants red (top left), blue (top right), green
/// (bottom left) and white.
fn quadrants() -> Vec<u8> {
  let yuv = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs444,
    full_range: true,
    matrix: 6,
  };
  let p = planes(&yuv, 32, 16, |x, y| match (x < 16, y < 8) {
    (true, true) => RED,
    (false, true) => BLUE,
    (true, false) => GREEN,
    (false, false) => WHITE,
  });
  av1(&yuv, &p, 0)
}

fn corners(img: &image::RgbaImage) -> [[u8; 3]; 4] {
  let (w, h) = img.dimensions();
  let at = |x: u32, y: u32| {
    let p = img.get_pixel(x, y).0;
    [p[0], p[1], p[2]]
  };
  [at(2, 2), at(w - 3, 2), at(2, h - 3), at(w - 3, h - 3)]
}

#[test]
fn irot_and_imir_are_applied() {
  let data = quadrants();
  let (r, b, g, w) = (RED, BLUE, GREEN, WHITE);
  // (irot, imir, displayed size, corners TL TR BL BR)
  type Case = (Option<u8>, Option<u8>, (u32, u32), [[u8; 3]; 4]);
  let cases: [Case; 8] = [
    (None, None, (32, 16), [r, b, g, w]),
    (Some(1), None, (16, 32), [b, w, r, g]), // 90° anticlockwise
    (Some(2), None, (32, 16), [w, g, b, r]),
    (Some(3), None, (16, 32), [g, r, w, b]),
    (None, Some(1), (32, 16), [b, r, w, g]), // left and right exchanged
    (None, Some(0), (32, 16), [g, w, r, b]), // top and bottom exchanged
    (Some(1), Some(0), (16, 32), [r, g, b, w]), // transpose
    (Some(1), Some(1), (16, 32), [w, b, g, r]), // transverse
  ];
  for (rot, mir, size, want) in cases {
    let mut props = vec![ispe(32, 16)];
    props.extend(rot.map(irot));
    props.extend(mir.map(imir));
    let avif = container(b"avif", 1, &[Item::av01(1, data.clone(), props)], &[]);
    let meta = metadata(&avif).unwrap();
    assert_eq!((meta.width, meta.height), size, "irot {rot:?} imir {mir:?}");
    let got = corners(&decode(&avif));
    for (g, w) in got.iter().zip(&want) {
      assert_close(g, w, 3, &format!("irot {rot:?} imir {mir:?}: {got:?}"));
    }
    // Resizing happens before the rotation: a smaller JPEG keeps the displayed aspect.
    let small = optimize(&avif, &opts(size.0 / 2, OutputFormat::Jpeg)).unwrap();
    assert_eq!((small.width, small.height), (size.0 / 2, size.1 / 2));
  }
}

fn tile(colour: [u8; 3], w: usize, h: usize) -> Vec<u8> {
  let yuv = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs420,
    full_range: true,
    matrix: 6,
  };
  av1(&yuv, &planes(&yuv, w, h, |_, _| colour), 0)
}

#[test]
fn grid_tiles_are_assembled_and_cropped() {
  let colours = [RED, BLUE, GREEN, WHITE];
  let mut items = vec![Item {
    id: 1,
    kind: *b"grid",
    data: grid_descriptor(2, 2, 28, 24),
    props: vec![ispe(28, 24)],
    in_idat: true, // libavif's choice for grid descriptors: iloc construction method 1
  }];
  for (i, c) in colours.iter().enumerate() {
    items.push(Item::av01(
      i as u16 + 2,
      tile(*c, 16, 16),
      vec![ispe(16, 16)],
    ));
  }
  let avif = container(b"avif", 1, &items, &[(b"dimg", 1, &[2, 3, 4, 5])]);
  let img = decode(&avif);
  assert_eq!(img.dimensions(), (28, 24));
  for (i, (x, y)) in [(4, 4), (24, 4), (4, 20), (24, 20)].into_iter().enumerate() {
    assert_close(
      &img.get_pixel(x, y).0[..3],
      &colours[i],
      3,
      &format!("tile {i}"),
    );
  }

  // Three tiles for a 2×2 grid, or tiles too small for the output size: refused.
  let bad = container(b"avif", 1, &items, &[(b"dimg", 1, &[2, 3, 4])]);
  assert_eq!(
    optimize(&bad, &opts(16, OutputFormat::Png))
      .unwrap_err()
      .code(),
    "IMAGE_DECODE"
  );
  items[0].data = grid_descriptor(2, 2, 40, 24);
  items[0].props = vec![ispe(40, 24)];
  let bad = container(b"avif", 1, &items, &[(b"dimg", 1, &[2, 3, 4, 5])]);
  let err = optimize(&bad, &opts(16, OutputFormat::Png)).unwrap_err();
  assert_eq!(err.code(), "IMAGE_DECODE", "{err}");
}

#[test]
fn alpha_auxiliary_item_with_our_container() {
  let yuv = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs400,
    full_range: true,
    matrix: 6,
  };
  let alpha = av1(&yuv, &planes(&yuv, 16, 16, |x, _| [x as u8 * 16; 3]), 0);
  let items = [
    Item::av01(1, tile(RED, 16, 16), vec![ispe(16, 16)]),
    Item::av01(2, alpha, vec![ispe(16, 16), auxc_alpha()]),
  ];
  let avif = container(b"avif", 1, &items, &[(b"auxl", 2, &[1])]);
  assert!(metadata(&avif).unwrap().has_alpha);
  let img = decode(&avif);
  for (x, _, px) in img.enumerate_pixels() {
    assert_close(&px.0, &[RED[0], RED[1], RED[2], x as u8 * 16], 3, "alpha");
  }
}

#[test]
fn colr_profiles_are_converted_to_srgb() {
  use moxcms::{ColorProfile, Layout, TransformOptions};
  let colour = [200, 100, 100];
  let yuv = Yuv {
    depth: 8,
    sampling: ChromaSampling::Cs444,
    full_range: true,
    matrix: 6,
  };
  let data = av1(&yuv, &planes(&yuv, 16, 16, |_, _| colour), 0);
  let p3_to_srgb = {
    let t = ColorProfile::new_display_p3()
      .create_transform_8bit(
        Layout::Rgb,
        &ColorProfile::new_srgb(),
        Layout::Rgb,
        TransformOptions::default(),
      )
      .unwrap();
    let mut out = [0u8; 3];
    t.transform(&colour, &mut out).unwrap();
    out
  };
  assert!(
    p3_to_srgb[0] > colour[0] + 10,
    "P3 red is redder than sRGB's: {p3_to_srgb:?}"
  );
  let p3_icc = ColorProfile::new_display_p3().encode().unwrap();
  let cases = [
    ("nclx BT.709", colr_nclx(1, 13, 6, true), colour),
    ("nclx BT.709 transfer", colr_nclx(1, 1, 6, true), colour),
    ("nclx Display P3", colr_nclx(12, 13, 6, true), p3_to_srgb),
    ("ICC Display P3", colr_icc(&p3_icc), p3_to_srgb),
  ];
  for (what, colr, want) in cases {
    let avif = container(
      b"avif",
      1,
      &[Item::av01(1, data.clone(), vec![ispe(16, 16), colr])],
      &[],
    );
    assert_flat(&decode(&avif), want, 3, what);
  }
}

#[test]
fn libaom_fixture_matches_the_jpeg_it_was_made_from() {
  let avif = fixture("photo.avif");
  let meta = metadata(&avif).unwrap();
  assert_eq!(
    (
      meta.format,
      meta.width,
      meta.height,
      meta.has_alpha,
      meta.animated
    ),
    (InputFormat::Avif, 400, 250, false, false)
  );
  let ours = decode_rgba(&optimize(&avif, &opts(400, OutputFormat::Png)).unwrap().data);
  let jpeg = decode_rgba(
    &optimize(&fixture("photo.jpg"), &opts(400, OutputFormat::Png))
      .unwrap()
      .data,
  );
  assert_eq!(ours.dimensions(), (400, 250));
  assert_eq!(jpeg.dimensions(), (400, 250));
  let whole = (mean(&ours, 0, 0, 400, 250), mean(&jpeg, 0, 0, 400, 250));
  for c in 0..3 {
    assert!(
      (whole.0[c] - whole.1[c]).abs() < 4.0,
      "mean colour {whole:?}"
    );
  }
  // Block by block (50×50), so a channel swap or a wrong matrix shows even if means agree.
  for by in 0..5 {
    for bx in 0..8 {
      let a = mean(&ours, bx * 50, by * 50, 50, 50);
      let b = mean(&jpeg, bx * 50, by * 50, 50, 50);
      for c in 0..3 {
        assert!(
          (a[c] - b[c]).abs() < 10.0,
          "block ({bx},{by}): {a:?} vs {b:?}"
        );
      }
    }
  }
  // Next with `Accept: */*` turns an AVIF into a JPEG: so do we.
  let out = optimize(&avif, &opts(64, OutputFormat::Jpeg)).unwrap();
  assert_eq!((out.width, out.height), (64, 40));
  assert!(out.data.starts_with(&[0xFF, 0xD8, 0xFF]));
}

#[test]
fn blur_placeholder_from_avif_is_avif() {
  let url = blur_placeholder(&fixture("photo.avif")).unwrap();
  assert!(url.contains("viewBox='0 0 320 200'"), "{url}");
  assert!(url.contains("href='data:image/avif;base64,"), "{url}");
}

#[test]
fn avis_brand_decodes_its_still_item_and_bare_sequences_are_refused() {
  let avif = container(
    b"avis",
    1,
    &[Item::av01(1, tile(GREEN, 16, 16), vec![ispe(16, 16)])],
    &[],
  );
  let meta = metadata(&avif).unwrap();
  assert!(meta.animated);
  assert_flat(&decode(&avif), GREEN, 3, "avis still");

  let mut bare = bx(b"ftyp", b"avis\0\0\0\0avismsf1miaf");
  bare.extend(bx(b"moov", &bx(b"mvhd", &[0; 100])));
  let err = optimize(&bare, &opts(16, OutputFormat::Jpeg)).unwrap_err();
  assert_eq!(err.code(), "IMAGE_UNSUPPORTED_FORMAT", "{err}");
  assert!(err.to_string().contains("sequence"), "{err}");
}

fn patch_ispe(avif: &mut [u8], w: u32, h: u32) {
  let at = avif.windows(4).position(|x| x == b"ispe").unwrap() + 8;
  avif[at..at + 4].copy_from_slice(&w.to_be_bytes());
  avif[at + 4..at + 8].copy_from_slice(&h.to_be_bytes());
}

#[test]
fn pixel_limits_hold_for_ispe_and_for_the_av1_frame() {
  let src = png(64, 64, &solid(64, 64, &RED), image::ExtendedColorType::Rgb8);
  let avif = optimize(&src, &opts(64, OutputFormat::Avif)).unwrap().data;

  let mut huge = avif.clone();
  patch_ispe(&mut huge, 100_000, 100_000);
  let meta = metadata(&huge).unwrap();
  assert_eq!((meta.width, meta.height), (100_000, 100_000));
  let err = optimize(&huge, &opts(64, OutputFormat::Jpeg)).unwrap_err();
  assert_eq!(err.code(), "IMAGE_TOO_MANY_PIXELS", "{err}");

  // The header says 8×8 but the AV1 frame is 64×64: with a 64-pixel limit the decoder itself
  // refuses the frame.
  let mut small = avif.clone();
  patch_ispe(&mut small, 8, 8);
  let mut o = opts(8, OutputFormat::Jpeg);
  o.max_input_pixels = 64;
  let err = optimize(&small, &o).unwrap_err();
  assert_eq!(err.code(), "IMAGE_DECODE", "{err}");
  // Without the lower limit the frame is decoded, then refused for not being what the header
  // promised (the output size was computed from the header).
  let err = optimize(&small, &opts(8, OutputFormat::Jpeg)).unwrap_err();
  assert_eq!(err.code(), "IMAGE_DECODE", "{err}");
  assert!(err.to_string().contains("ispe"), "{err}");
}

/// xorshift64: deterministic corruption.
struct Rng(u64);

impl Rng {
  fn next(&mut self) -> u64 {
    self.0 ^= self.0 << 13;
    self.0 ^= self.0 >> 7;
    self.0 ^= self.0 << 17;
    self.0
  }
}

fn survives(input: &[u8], what: &str) -> Result<(), &'static str> {
  let _ = metadata(input);
  let result = optimize(input, &opts(16, OutputFormat::Jpeg));
  // A rav1d panic or hang is contained (an IMAGE_DECODE error), but it is a decoder bug, and
  // after one libtest would hang at its end (src/contain.rs): fail now, by exiting.
  let faults = avif_decoder_faults();
  if faults != Default::default() {
    eprintln!("{what}: the AV1 decoder panicked or hung ({faults:?}): {result:?}");
    std::process::exit(101);
  }
  match result {
    Ok(out) => {
      assert!(out.width > 0 && out.height > 0, "{what}");
      Ok(())
    }
    Err(e) => {
      let code = e.code();
      assert!(
        [
          "IMAGE_DECODE",
          "IMAGE_UNSUPPORTED_FORMAT",
          "IMAGE_TOO_MANY_PIXELS"
        ]
        .contains(&code),
        "{what}: {e}"
      );
      Err(code)
    }
  }
}

#[test]
fn truncated_and_corrupt_avif_never_panic() {
  let mut rgba = Vec::new();
  for i in 0..32 * 24u32 {
    rgba.extend_from_slice(&[(i * 7) as u8, (i * 3) as u8, 200, (i % 256) as u8]);
  }
  let with_alpha = optimize(
    &png(32, 24, &rgba, image::ExtendedColorType::Rgba8),
    &opts(32, OutputFormat::Avif),
  )
  .unwrap()
  .data;
  let mut grid_items = vec![Item {
    id: 1,
    kind: *b"grid",
    data: grid_descriptor(1, 2, 30, 16),
    props: vec![ispe(30, 16)],
    in_idat: true,
  }];
  grid_items.push(Item::av01(2, tile(RED, 16, 16), vec![ispe(16, 16)]));
  grid_items.push(Item::av01(3, tile(BLUE, 16, 16), vec![ispe(16, 16)]));
  let grid = container(b"avif", 1, &grid_items, &[(b"dimg", 1, &[2, 3])]);

  let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
  for (name, file) in [
    ("photo.avif", fixture("photo.avif")),
    ("alpha", with_alpha),
    ("grid", grid),
  ] {
    survives(&file, name).unwrap_or_else(|c| panic!("{name} itself fails: {c}"));
    // Every cut: the item data then runs past the end (or the header is gone).
    for len in 1..file.len() {
      let step = if len < 400 { 1 } else { 7 };
      if len % step != 0 {
        continue;
      }
      let r = survives(&file[..len], &format!("{name} cut at {len}"));
      assert!(r.is_err(), "{name} cut at {len} of {} decoded", file.len());
    }
    // Bit flips anywhere, one to four at a time. (Fewer on the photo: with debug assertions
    // rav1d checks every borrow at run time, and a 400×250 decode takes half a second.)
    let rounds = if name == "photo.avif" { 40 } else { 150 };
    for i in 0..rounds {
      let mut bad = file.clone();
      for _ in 0..1 + i % 4 {
        let bit = rng.next() as usize % (bad.len() * 8);
        bad[bit / 8] ^= 1 << (bit % 8);
      }
      let _ = survives(&bad, &format!("{name} flip #{i}"));
    }
    // Runs of garbage over the AV1 payload.
    for i in 0..rounds / 4 {
      let mut bad = file.clone();
      let start = file.len() / 2 + rng.next() as usize % (file.len() / 2);
      for b in bad[start..].iter_mut().take(1 + i) {
        *b = rng.next() as u8;
      }
      let _ = survives(&bad, &format!("{name} garbage #{i}"));
    }
  }
}
