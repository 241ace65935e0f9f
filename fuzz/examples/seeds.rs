//! Writes the seed inputs of every fuzz target into `fuzz/seeds/<target>/` (git-ignored): real
//! files made here, from generated pixels (no third-party photos), by the image crate's test
//! fixture generators (crates/image/tests/common), our own encoders, the cache's disk tier,
//! the build-ID tree hasher, and the env crate's oracle cases.
//!
//!     cargo run --release --manifest-path fuzz/Cargo.toml --example seeds --target-dir fuzz/target/seeds
//!
//! Deterministic: the same checkout writes the same files.

#[path = "../../crates/image/tests/common/mod.rs"]
mod common;

#[path = "../bodies/env.rs"]
mod env_body;

use std::fs;
use std::path::{Path, PathBuf};

use common::avif::{self as av, Item, Yuv};
use common::*;
use image::ImageEncoder;
use next_native_image::{optimize, OptimizeOptions, OutputFormat};
use rav1e::color::ChromaSampling;

struct Seeds {
  root: PathBuf,
  count: usize,
}

impl Seeds {
  fn put(&mut self, target: &str, name: &str, bytes: &[u8]) {
    let dir = self.root.join(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(name), bytes).unwrap();
    self.count += 1;
  }

  /// An image seed for a decoding target (`[width][mode]` + file, in a few output settings),
  /// and the bare file for `image_metadata`.
  fn image(&mut self, target: &str, name: &str, file: &[u8]) {
    // (width, mode): JPEG 16 px; WebP 5 px q1; AVIF 40 px; PNG cover 4x4; GIF/TIFF 63 px.
    for (i, (w, mode)) in [
      (15u8, 0u8),
      (4, 0x12),
      (39, 3),
      (3, 0x09 | 0x40),
      (62, 4),
      (62, 5),
    ]
    .into_iter()
    .enumerate()
    {
      let mut seed = vec![w, mode];
      seed.extend_from_slice(file);
      self.put(target, &format!("{name}-{i}"), &seed);
    }
    self.put("image_metadata", name, file);
  }
}

fn gradient(w: u32, h: u32, channels: u32) -> Vec<u8> {
  let mut px = Vec::new();
  for y in 0..h {
    for x in 0..w {
      let p = [
        (x * 255 / w) as u8,
        (y * 255 / h) as u8,
        128,
        ((x + y) * 255 / (w + h)) as u8,
      ];
      px.extend_from_slice(&p[..channels as usize]);
    }
  }
  px
}

fn encode_with(format: OutputFormat, src: &[u8], width: u32) -> Vec<u8> {
  let mut o = OptimizeOptions::new(width, format);
  o.avif_speed = 10;
  o.threads = Some(1);
  optimize(src, &o).unwrap().data
}

fn mozjpeg(w: u32, h: u32, rgb: &[u8], progressive: bool, sub: u8) -> Vec<u8> {
  let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
  c.set_size(w as usize, h as usize);
  c.set_quality(80.0);
  if progressive {
    c.set_progressive_mode();
  } else {
    c.set_fastest_defaults();
    c.set_optimize_coding(false);
  }
  c.set_chroma_sampling_pixel_sizes((sub, sub), (sub, sub));
  let mut s = c.start_compress(Vec::new()).unwrap();
  s.write_scanlines(rgb).unwrap();
  s.finish().unwrap()
}

fn grey_jpeg(w: u32, h: u32) -> Vec<u8> {
  let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
  c.set_size(w as usize, h as usize);
  c.set_quality(70.0);
  let mut s = c.start_compress(Vec::new()).unwrap();
  s.write_scanlines(&gradient(w, h, 1)).unwrap();
  s.finish().unwrap()
}

fn jpegs(s: &mut Seeds) {
  let photo32 = photo(32, 24);
  s.image(
    "image_jpeg",
    "baseline-420",
    &mozjpeg(32, 24, &photo32, false, 2),
  );
  s.image(
    "image_jpeg",
    "progressive-420",
    &mozjpeg(32, 24, &photo32, true, 2),
  );
  s.image(
    "image_jpeg",
    "baseline-444",
    &mozjpeg(24, 16, &photo(24, 16), false, 1),
  );
  // Large enough for every shrink-on-load scale (1/2, 1/4, 1/8) at small widths.
  s.image(
    "image_jpeg",
    "photo-256x160",
    &mozjpeg(256, 160, &photo(256, 160), true, 2),
  );
  s.image("image_jpeg", "grey", &grey_jpeg(17, 9));
  s.image(
    "image_jpeg",
    "cmyk-adobe",
    &jpeg_cmyk(16, 8, &solid(16, 8, &[0, 200, 255, 10])),
  );
  s.image(
    "image_jpeg",
    "exif-orientation-6",
    &with_exif_orientation(&jpeg_rgb(12, 8, &photo(12, 8)), 6),
  );
  let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
  s.image(
    "image_jpeg",
    "icc-display-p3",
    &with_icc(&jpeg_rgb(8, 8, &photo(8, 8)), &p3),
  );
  s.image(
    "image_jpeg",
    "optimized-output",
    &encode_with(
      OutputFormat::Jpeg,
      &png(40, 30, &photo(40, 30), image::ExtendedColorType::Rgb8),
      20,
    ),
  );
}

fn pngs(s: &mut Seeds) {
  use image::ExtendedColorType as C;
  s.image(
    "image_png",
    "rgb8",
    &png(16, 12, &gradient(16, 12, 3), C::Rgb8),
  );
  s.image(
    "image_png",
    "rgba8",
    &png(12, 16, &gradient(12, 16, 4), C::Rgba8),
  );
  s.image("image_png", "grey8", &png(9, 7, &gradient(9, 7, 1), C::L8));
  s.image(
    "image_png",
    "grey-alpha8",
    &png(7, 9, &gradient(7, 9, 2), C::La8),
  );
  let rgb16: Vec<u8> = gradient(8, 8, 3)
    .iter()
    .flat_map(|&v| [v, v ^ 0x5A])
    .collect();
  s.image("image_png", "rgb16", &png(8, 8, &rgb16, C::Rgb16));
  let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
  s.image(
    "image_png",
    "icc-p3",
    &png_with_icc(8, 8, &gradient(8, 8, 3), p3),
  );
  s.image("image_png", "apng-2-frames", &apng(8, 8, 2));
  // Palette PNG with tRNS: our own PNG output.
  let rgba = png(24, 24, &gradient(24, 24, 4), C::Rgba8);
  s.image(
    "image_png",
    "palette-trns",
    &encode_with(OutputFormat::Png, &rgba, 24),
  );
  // 1-bit grey.
  let mut out = Vec::new();
  {
    let mut enc = png::Encoder::new(&mut out, 13, 11);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    let mut w = enc.write_header().unwrap();
    w.write_image_data(&[0b1010_1010; 2 * 11]).unwrap();
    w.finish().unwrap();
  }
  s.image("image_png", "grey1", &out);
}

fn others(s: &mut Seeds) {
  use image::ExtendedColorType as C;
  let rgb = png(20, 14, &photo(20, 14), C::Rgb8);
  let rgba = png(20, 14, &gradient(20, 14, 4), C::Rgba8);
  // WebP: lossy (libwebp, through our encoder), lossy with alpha, lossless (image-webp).
  s.image(
    "image_webp",
    "lossy",
    &encode_with(OutputFormat::Webp, &rgb, 20),
  );
  s.image(
    "image_webp",
    "lossy-alpha",
    &encode_with(OutputFormat::Webp, &rgba, 20),
  );
  let mut lossless = Vec::new();
  image::codecs::webp::WebPEncoder::new_lossless(&mut lossless)
    .write_image(&gradient(10, 6, 4), 10, 6, C::Rgba8)
    .unwrap();
  s.image("image_webp", "lossless", &lossless);

  // GIF: still, animated, and our own output (NeuQuant palette, transparency).
  s.image("image_gif", "still", &gif(9, 7, 1));
  s.image("image_gif", "animated", &gif(6, 5, 3));
  s.image(
    "image_gif",
    "optimized-output",
    &encode_with(OutputFormat::Gif, &rgba, 20),
  );

  // BMP: 24-bit, 32-bit, 8-bit grey (palette).
  for (name, color, px) in [
    ("rgb24", C::Rgb8, gradient(7, 5, 3)),
    ("rgba32", C::Rgba8, gradient(7, 5, 4)),
    ("grey8-palette", C::L8, gradient(7, 5, 1)),
  ] {
    let mut out = Vec::new();
    image::codecs::bmp::BmpEncoder::new(&mut out)
      .write_image(&px, 7, 5, color)
      .unwrap();
    s.image("image_bmp", name, &out);
  }

  // TIFF: our LZW RGB/RGBA output, and uncompressed / Deflate / PackBits grey and 16-bit.
  s.image(
    "image_tiff",
    "lzw-rgb",
    &encode_with(OutputFormat::Tiff, &rgb, 20),
  );
  s.image(
    "image_tiff",
    "lzw-rgba",
    &encode_with(OutputFormat::Tiff, &rgba, 12),
  );
  {
    use tiff::encoder::{colortype, Compression, TiffEncoder};
    let grey = gradient(9, 6, 1);
    for (name, compression) in [
      ("grey-raw", Compression::Uncompressed),
      ("grey-deflate", Compression::Deflate(Default::default())),
      ("grey-packbits", Compression::Packbits),
    ] {
      let mut out = std::io::Cursor::new(Vec::new());
      TiffEncoder::new(&mut out)
        .unwrap()
        .with_compression(compression)
        .write_image::<colortype::Gray8>(9, 6, &grey)
        .unwrap();
      s.image("image_tiff", name, &out.into_inner());
    }
    let rgb16: Vec<u16> = gradient(5, 4, 3)
      .iter()
      .map(|&v| u16::from(v) * 257)
      .collect();
    let mut out = std::io::Cursor::new(Vec::new());
    TiffEncoder::new(&mut out)
      .unwrap()
      .write_image::<colortype::RGB16>(5, 4, &rgb16)
      .unwrap();
    s.image("image_tiff", "rgb16", &out.into_inner());
  }

  // Formats we only sniff and refuse, for the metadata target.
  let mut ico = vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
  ico.extend_from_slice(&(rgb.len() as u32).to_le_bytes());
  ico.extend_from_slice(&22u32.to_le_bytes());
  ico.extend_from_slice(&rgb);
  s.put("image_metadata", "ico-with-png", &ico);
  s.put(
    "image_metadata",
    "svg",
    b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>",
  );
  s.put(
    "image_metadata",
    "heic-brand",
    b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
  );
  s.put("image_metadata", "pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
  s.put("image_metadata", "html", b"<!doctype html><html></html>");
}

fn yuv(depth: usize, sampling: ChromaSampling, full_range: bool, matrix: u8) -> Yuv {
  Yuv {
    depth,
    sampling,
    full_range,
    matrix,
  }
}

fn avifs(s: &mut Seeds) {
  let colour = |x: usize, y: usize| [(x * 16) as u8, (y * 16) as u8, 200];
  // Raw OBUs for the decoder target, and the same in containers.
  let cases = [
    ("8bit-420", yuv(8, ChromaSampling::Cs420, true, 6), 12, 10),
    (
      "8bit-444-limited-709",
      yuv(8, ChromaSampling::Cs444, false, 1),
      9,
      7,
    ),
    ("8bit-400", yuv(8, ChromaSampling::Cs400, true, 6), 8, 8),
    ("10bit-422", yuv(10, ChromaSampling::Cs422, true, 9), 10, 6),
    (
      "12bit-420-ycgco",
      yuv(12, ChromaSampling::Cs420, false, 8),
      6,
      6,
    ),
    (
      "8bit-identity",
      yuv(8, ChromaSampling::Cs444, true, 0),
      5,
      9,
    ),
  ];
  for (name, y, w, h) in &cases {
    let p = av::planes(y, *w, *h, colour);
    let obus = av::av1(y, &p, 60);
    let flags = match y.depth {
      8 => 0,
      10 => 1,
      _ => 2,
    } | if y.sampling == ChromaSampling::Cs400 {
      8
    } else {
      0
    };
    let mut seed = vec![(*w - 1) as u8, (*h - 1) as u8, flags];
    seed.extend_from_slice(&obus);
    s.put("avif_av1", name, &seed);
    if *name == "8bit-420" {
      let mut seed = vec![(*w - 1) as u8, (*h - 1) as u8, flags | 4];
      seed.extend_from_slice(&obus);
      s.put("avif_av1", "8bit-420-as-alpha", &seed);
    }
    s.image(
      "avif_container",
      &format!("serialized-{name}"),
      &av::avif_serialized(y, &p, 60),
    );
  }
  // Our encoder's output, with and without alpha (named for ravif, which wrote the committed
  // seeds; libaom has written our AVIFs since).
  use image::ExtendedColorType as C;
  s.image(
    "avif_container",
    "ravif-rgb",
    &encode_with(
      OutputFormat::Avif,
      &png(20, 14, &photo(20, 14), C::Rgb8),
      20,
    ),
  );
  s.image(
    "avif_container",
    "ravif-rgba",
    &encode_with(
      OutputFormat::Avif,
      &png(12, 12, &gradient(12, 12, 4), C::Rgba8),
      12,
    ),
  );

  // Containers encoders rarely write: grids in idat, alpha auxiliary items, irot/imir, ICC
  // and nclx colour, the avis brand.
  let y8 = yuv(8, ChromaSampling::Cs420, true, 6);
  let tile = |c: [u8; 3]| av::av1(&y8, &av::planes(&y8, 16, 16, |_, _| c), 60);
  let mut items = vec![Item {
    id: 1,
    kind: *b"grid",
    data: av::grid_descriptor(2, 2, 28, 24),
    props: vec![av::ispe(28, 24), av::irot(1), av::imir(0)],
    in_idat: true,
  }];
  for (i, c) in [[220, 30, 40], [30, 60, 220], [40, 200, 60], [250, 250, 250]]
    .into_iter()
    .enumerate()
  {
    items.push(Item::av01(i as u16 + 2, tile(c), vec![av::ispe(16, 16)]));
  }
  s.image(
    "avif_container",
    "grid-2x2-irot-imir",
    &av::container(b"avif", 1, &items, &[(b"dimg", 1, &[2, 3, 4, 5])]),
  );
  let y400 = yuv(8, ChromaSampling::Cs400, true, 6);
  let alpha = av::av1(
    &y400,
    &av::planes(&y400, 16, 16, |x, _| [x as u8 * 16; 3]),
    60,
  );
  let items = [
    Item::av01(
      1,
      tile([200, 100, 100]),
      vec![av::ispe(16, 16), av::colr_nclx(12, 13, 6, true)],
    ),
    Item::av01(2, alpha, vec![av::ispe(16, 16), av::auxc_alpha()]),
  ];
  s.image(
    "avif_container",
    "alpha-prem-p3",
    &av::container(
      b"avif",
      1,
      &items,
      &[(b"auxl", 2, &[1]), (b"prem", 1, &[2])],
    ),
  );
  let icc = moxcms::ColorProfile::new_adobe_rgb().encode().unwrap();
  let items = [Item::av01(
    1,
    tile([60, 180, 60]),
    vec![av::ispe(16, 16), av::colr_icc(&icc)],
  )];
  s.image(
    "avif_container",
    "icc-adobe-avis",
    &av::container(b"avis", 1, &items, &[]),
  );
}

fn env(s: &mut Seeds) {
  let oracle: serde_json::Value = serde_json::from_str(
    &fs::read_to_string(
      Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/env/tests/oracle/oracle.json"),
    )
    .unwrap(),
  )
  .unwrap();
  // Every expand case: a file and the process.env it was run against.
  for (i, case) in oracle["expand"].as_array().unwrap().iter().enumerate() {
    let src = case["src"].as_str().unwrap();
    let vars: Vec<(String, String)> = case["env"]
      .as_object()
      .map(|o| {
        o.iter()
          .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
          .collect()
      })
      .unwrap_or_default();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    s.put(
      "env",
      &format!("oracle-expand-{i:04}"),
      &env_body::join(&vars, &[src]),
    );
  }
  for (i, case) in oracle["parse"]
    .as_array()
    .unwrap()
    .iter()
    .enumerate()
    .step_by(4)
  {
    let src = case["src"].as_str().unwrap();
    s.put(
      "env",
      &format!("oracle-parse-{i:04}"),
      &env_body::join(&[], &[src]),
    );
  }
  // The example app's files, in @next/env's order for `next start`.
  let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/app");
  let files: Vec<String> = [".env.production", ".env"]
    .iter()
    .filter_map(|f| fs::read_to_string(app.join(f)).ok())
    .collect();
  let files: Vec<&str> = files.iter().map(String::as_str).collect();
  s.put(
    "env",
    "example-app",
    &env_body::join(&[("NODE_ENV", "production"), ("HOME", "/root")], &files),
  );
  s.put(
    "env",
    "layered",
    &env_body::join(
      &[("API", "https://prod"), ("EMPTY", "")],
      &[
        "A=local\nURL=${API}/v1",
        "B=${A}-x\nA=base\nC=$URL\\$5 # c",
        "D='single $A'\nE=\"multi\nline $B\"\nF=`$F`",
      ],
    ),
  );
}

fn caches(s: &mut Seeds) {
  use next_native_cache::{DiskConfig, DiskTier, EntryMeta, TagState};
  // Store op sequences: a deterministic byte stream is a valid program.
  let mut x = 0x2545_F491_u32;
  for i in 0..24 {
    let len = 40 + i * 37;
    let mut seq = Vec::with_capacity(len);
    for _ in 0..len {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      seq.push(x as u8);
    }
    s.put("cache_store", &format!("random-{i:02}"), &seq);
  }
  // A hand-written one: set tagged entries, read, revalidate with and without a profile,
  // read stale, let time pass, read expired.
  #[rustfmt::skip]
  let seq = [
    0x10, 0x27, 0x01, 0x14,     // budget, flags (LZ4 min 0), sweep 20 × 50 ms
    0, 0, 0x00, 0x04, 0, 0b0000_0101, 3, 0,   // set /k0, 1024 B compressible, tags a+posts
    0, 1, 0x40, 0x00, 1, 0b0000_0010, 1, 50,  // set /k1, 64 B noise, tag b, ttl
    2, 0, 0,                    // get /k0
    5, 0b0000_0100, 60,         // revalidateTag('posts', { expire: 59 })
    2, 0, 0,                    // get /k0: stale
    7, 0x30, 0x75,              // +30 s
    2, 1, 0b0000_1000,          // get /k1 with an extra tag
    5, 0b0000_0001, 0,          // revalidateTag('a')
    2, 0, 0,                    // get /k0: expired
    6, 1, 10, 20,               // tag state for b from another instance
    8,                          // sweep
    4, 1,                       // delete /k1
    9, 0,                       // clear
  ];
  s.put("cache_store", "tagged-walkthrough", &seq);

  // Disk entry files as the tier writes them, and tag logs.
  let dir = tempfile::tempdir().unwrap();
  let tier = DiskTier::open(DiskConfig {
    root: dir.path().to_path_buf(),
    max_bytes: 1 << 30,
    writable: true,
  });
  let key: &[u8] = b"/blog/[slug]";
  let page = "<html><body>".to_owned() + &"<p>hello</p>".repeat(200) + "</body></html>";
  let entries = [
    (
      "tiny",
      b"v".to_vec(),
      EntryMeta {
        tags: vec![],
        last_modified_ms: 1,
        expire_at_ms: None,
      },
    ),
    (
      "tags-ttl",
      b"{\"kind\":\"FETCH\"}".to_vec(),
      EntryMeta {
        tags: vec!["a".into(), "_N_T_/blog".into()],
        last_modified_ms: 1_700_000_000_000,
        expire_at_ms: Some(1_800_000_000_000),
      },
    ),
    (
      "lz4-page",
      page.into_bytes(),
      EntryMeta {
        tags: vec!["posts".into()],
        last_modified_ms: 5,
        expire_at_ms: None,
      },
    ),
  ];
  for (name, value, meta) in &entries {
    tier.put(key, value, meta).unwrap();
    let file = walk(dir.path())
      .into_iter()
      .find(|p| p.parent().unwrap() != dir.path())
      .unwrap();
    let bytes = fs::read(&file).unwrap();
    let mut seed = vec![0, 1];
    seed.extend_from_slice(&bytes);
    s.put("cache_disk", &format!("entry-{name}"), &seed);
    seed[0] = 1; // the same, CRC recomputed by the harness
    s.put("cache_disk", &format!("entry-{name}-crc"), &seed);
  }
  let st = |stale: Option<u64>, expired: Option<u64>| TagState {
    stale_at_ms: stale,
    expired_at_ms: expired,
  };
  for i in 0..3u64 {
    tier
      .record_tags(&[
        ("a", st(Some(i), None)),
        ("posts", st(Some(10), Some(10 + i * 1000))),
        ("_N_T_/blog", st(None, Some(7))),
      ])
      .unwrap();
  }
  let mut seed = vec![2, 1];
  seed.extend_from_slice(&fs::read(dir.path().join("tags.log")).unwrap());
  seed.extend_from_slice(b"[\"torn\", 5");
  s.put("cache_disk", "tag-log", &seed);
}

fn walk(root: &Path) -> Vec<PathBuf> {
  let mut out = Vec::new();
  for e in fs::read_dir(root).unwrap().flatten() {
    if e.path().is_dir() {
      out.extend(walk(&e.path()));
    } else {
      out.push(e.path());
    }
  }
  out
}

fn manifests(s: &mut Seeds) {
  use next_native_build_id::{hash_tree, Options};
  let dir = tempfile::tempdir().unwrap();
  let root = dir.path();
  let write = |p: &str, body: &str| {
    let path = root.join(p);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, body).unwrap();
  };
  write(
    "package.json",
    "{\"name\":\"app\",\"dependencies\":{\"next\":\"16.4.6\"}}",
  );
  write("next.config.js", "module.exports = {}\n");
  write(
    "app/page.tsx",
    "export default function Page() { return <p>hi</p> }\n",
  );
  write(
    "app/blog/[slug]/page.tsx",
    "export default function Post() { return null }\n",
  );
  let mut opts = Options::new(root);
  opts.next_version = Some("16.4.6".into());
  opts.env = vec![("NEXT_PUBLIC_API".into(), "https://api".into())];
  let before = hash_tree(&opts).unwrap().to_json();
  write(
    "app/page.tsx",
    "export default function Page() { return <p>hello</p> }\n",
  );
  write("public/logo.svg", "<svg/>");
  fs::remove_file(root.join("next.config.js")).unwrap();
  #[cfg(unix)]
  std::os::unix::fs::symlink("app/page.tsx", root.join("link.tsx")).unwrap();
  opts.salt = Some("s3cret".into());
  opts.env.push(("NEXT_PUBLIC_X".into(), "1".into()));
  let after = hash_tree(&opts).unwrap().to_json();
  s.put("build_id_manifest", "same", before.as_bytes());
  s.put(
    "build_id_manifest",
    "changed",
    format!("{before}\0{after}").as_bytes(),
  );
  s.put(
    "build_id_manifest",
    "minified",
    serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&after).unwrap())
      .unwrap()
      .as_bytes(),
  );
}

fn main() {
  let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
  let _ = fs::remove_dir_all(&root);
  let mut s = Seeds { root, count: 0 };
  jpegs(&mut s);
  pngs(&mut s);
  others(&mut s);
  avifs(&mut s);
  env(&mut s);
  caches(&mut s);
  manifests(&mut s);
  println!("{} seed files in {}", s.count, s.root.display());
}
