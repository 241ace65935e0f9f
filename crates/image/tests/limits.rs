//! The pixel limit is enforced from the header, before any pixel buffer is allocated: a
//! counting allocator checks the peak allocation while refusing forged huge headers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use next_native_image::{metadata, optimize, ImageError, OptimizeOptions, OutputFormat};

struct Counting;
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static SERIAL: Mutex<()> = Mutex::new(());

unsafe impl GlobalAlloc for Counting {
  unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
    let now = CURRENT.fetch_add(layout.size(), Ordering::SeqCst) + layout.size();
    PEAK.fetch_max(now, Ordering::SeqCst);
    unsafe { System.alloc(layout) }
  }
  unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
    CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    unsafe { System.dealloc(ptr, layout) }
  }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn crc32(data: &[u8]) -> u32 {
  let mut crc = 0xFFFF_FFFFu32;
  for &b in data {
    crc ^= u32::from(b);
    for _ in 0..8 {
      crc = if crc & 1 != 0 {
        (crc >> 1) ^ 0xEDB8_8320
      } else {
        crc >> 1
      };
    }
  }
  !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
  out.extend_from_slice(&(data.len() as u32).to_be_bytes());
  let mut body = kind.to_vec();
  body.extend_from_slice(data);
  out.extend_from_slice(&body);
  out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A 1-bit grey PNG declaring `w`×`h` with a tiny (invalid) IDAT: a decompression-bomb header.
fn forged_png(w: u32, h: u32) -> Vec<u8> {
  let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
  let mut ihdr = w.to_be_bytes().to_vec();
  ihdr.extend_from_slice(&h.to_be_bytes());
  ihdr.extend_from_slice(&[1, 0, 0, 0, 0]);
  chunk(&mut out, b"IHDR", &ihdr);
  chunk(
    &mut out,
    b"IDAT",
    &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
  );
  chunk(&mut out, b"IEND", &[]);
  out
}

/// Baseline JPEG headers (SOI, DQT, SOF0 w×h 3 components, DHT-less SOS) with no real data.
fn forged_jpeg(w: u16, h: u16) -> Vec<u8> {
  let mut out = vec![0xFF, 0xD8];
  out.extend_from_slice(&[0xFF, 0xDB, 0, 67, 0]);
  out.extend_from_slice(&[1u8; 64]);
  out.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
  out.extend_from_slice(&h.to_be_bytes());
  out.extend_from_slice(&w.to_be_bytes());
  out.extend_from_slice(&[3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
  out.extend_from_slice(&[0xFF, 0xD9]);
  out
}

fn forged_gif(w: u16, h: u16) -> Vec<u8> {
  let mut out = b"GIF89a".to_vec();
  out.extend_from_slice(&w.to_le_bytes());
  out.extend_from_slice(&h.to_le_bytes());
  out.extend_from_slice(&[0, 0, 0]);
  out.push(0x2C);
  out.extend_from_slice(&[0, 0, 0, 0]);
  out.extend_from_slice(&w.to_le_bytes());
  out.extend_from_slice(&h.to_le_bytes());
  out.extend_from_slice(&[0, 2, 2, 0x4C, 0x01, 0, 0x3B]);
  out
}

fn isobmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
  let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
  out.extend_from_slice(kind);
  out.extend_from_slice(body);
  out
}

/// An AVIF whose primary item's `ispe` declares `w`×`h`, with a few bytes of (invalid) AV1.
fn forged_avif(w: u32, h: u32) -> Vec<u8> {
  let full = |kind: &[u8; 4], body: &[u8]| isobmff_box(kind, &[&[0u8; 4][..], body].concat());
  let mut out = isobmff_box(b"ftyp", b"avif\0\0\0\0avifmif1miaf");
  let mut ispe = w.to_be_bytes().to_vec();
  ispe.extend_from_slice(&h.to_be_bytes());
  let meta = |data_at: u32| {
    let mut iloc = vec![0x44, 0, 0, 1, 0, 1, 0, 0, 0, 1];
    iloc.extend_from_slice(&data_at.to_be_bytes());
    iloc.extend_from_slice(&8u32.to_be_bytes());
    let iprp = [
      isobmff_box(b"ipco", &full(b"ispe", &ispe)),
      full(b"ipma", &[0, 0, 0, 1, 0, 1, 1, 0x81]),
    ]
    .concat();
    let body = [
      full(b"hdlr", b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0"),
      full(b"pitm", &[0, 1]),
      full(
        b"iinf",
        &[
          &[0u8, 1][..],
          &isobmff_box(b"infe", b"\x02\0\0\0\0\x01\0\0av01\0"),
        ]
        .concat(),
      ),
      full(b"iloc", &iloc),
      isobmff_box(b"iprp", &iprp),
    ]
    .concat();
    full(b"meta", &body)
  };
  let data_at = (out.len() + meta(0).len() + 8) as u32;
  out.extend(meta(data_at));
  out.extend(isobmff_box(b"mdat", &[0x12, 0, 0x0A, 0x0B, 0, 0, 0, 0x24]));
  out
}

fn peak_during(f: impl FnOnce()) -> usize {
  let base = CURRENT.load(Ordering::SeqCst);
  PEAK.store(base, Ordering::SeqCst);
  f();
  PEAK.load(Ordering::SeqCst) - base
}

#[test]
fn forged_huge_headers_are_refused_without_allocating() {
  let _serial = SERIAL.lock().unwrap();
  let cases: [(&str, Vec<u8>, u64, u64); 4] = [
    ("PNG 30000x30000", forged_png(30000, 30000), 30000, 30000),
    ("JPEG 65000x65000", forged_jpeg(65000, 65000), 65000, 65000),
    ("GIF 65535x65535", forged_gif(65535, 65535), 65535, 65535),
    (
      "AVIF 100000x100000",
      forged_avif(100_000, 100_000),
      100_000,
      100_000,
    ),
  ];
  for (name, input, w, h) in cases {
    let meta = metadata(&input).unwrap_or_else(|e| panic!("{name}: header should parse: {e}"));
    assert_eq!(
      (u64::from(meta.width), u64::from(meta.height)),
      (w, h),
      "{name}"
    );
    let mut result = None;
    let peak = peak_during(|| {
      result = Some(optimize(
        &input,
        &OptimizeOptions::new(64, OutputFormat::Webp),
      ))
    });
    let err = result.unwrap().unwrap_err();
    assert_eq!(err.code(), "IMAGE_TOO_MANY_PIXELS", "{name}: {err}");
    assert!(
      peak < 4 << 20,
      "{name}: allocated {peak} bytes before refusing"
    );
  }
}

#[test]
fn lower_limit_is_honoured() {
  let _serial = SERIAL.lock().unwrap();
  let mut opts = OptimizeOptions::new(64, OutputFormat::Webp);
  for input in [forged_png(2000, 2000), forged_avif(2000, 2000)] {
    opts.max_input_pixels = 1_000_000;
    assert_eq!(
      optimize(&input, &opts).unwrap_err().code(),
      "IMAGE_TOO_MANY_PIXELS"
    );
    // Just under a limit: the (broken) data then fails as a decode error (the PNG's 8 bytes of
    // IDAT before decoding, as they cannot inflate to 2000 rows).
    opts.max_input_pixels = 4_000_000;
    assert_eq!(optimize(&input, &opts).unwrap_err().code(), "IMAGE_DECODE");
  }
}

// Headers that claim more pixels than the file's data can produce or fill (issue #12 §0): under
// the pixel limit, so only the data present can bound the memory. Refused before decoding.

fn zlib_best(raw: &[u8]) -> Vec<u8> {
  use tiff::encoder::compression::{CompressionAlgorithm, Deflate, DeflateLevel};
  let mut out = Vec::new();
  Deflate::with_level(DeflateLevel::Best)
    .write_to(&mut out, raw)
    .unwrap();
  out
}

/// A PNG with these IHDR fields and one IDAT chunk (and a one-entry PLTE for palette images).
fn png(w: u32, h: u32, depth: u8, colour: u8, interlace: u8, idat: &[u8]) -> Vec<u8> {
  let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
  let mut ihdr = [w.to_be_bytes(), h.to_be_bytes()].concat();
  ihdr.extend_from_slice(&[depth, colour, 0, 0, interlace]);
  chunk(&mut out, b"IHDR", &ihdr);
  if colour == 3 {
    chunk(&mut out, b"PLTE", &[0, 0, 0]);
  }
  chunk(&mut out, b"IDAT", idat);
  chunk(&mut out, b"IEND", &[]);
  out
}

fn riff_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
  let mut out = kind.to_vec();
  out.extend_from_slice(&(data.len() as u32).to_le_bytes());
  out.extend_from_slice(data);
  if data.len() % 2 == 1 {
    out.push(0);
  }
  out
}

fn u24(v: u32) -> [u8; 3] {
  let [a, b, c, _] = v.to_le_bytes();
  [a, b, c]
}

/// The VP8L bitstream of a solid w×h image (lossless, a few dozen bytes at any size).
fn vp8l(w: u32, h: u32) -> Vec<u8> {
  let mut file = Vec::new();
  image::codecs::webp::WebPEncoder::new_lossless(&mut file)
    .encode(
      &[200, 30, 30, 255].repeat((w * h) as usize),
      w,
      h,
      image::ExtendedColorType::Rgba8,
    )
    .unwrap();
  let mut pos = 12;
  loop {
    let len = u32::from_le_bytes(file[pos + 4..pos + 8].try_into().unwrap()) as usize;
    if &file[pos..pos + 4] == b"VP8L" {
      return file[pos + 8..pos + 8 + len].to_vec();
    }
    pos += 8 + len + len % 2;
  }
}

/// An animated WebP: a `cw`×`ch` canvas and solid lossless frames (x, y, w, h), x and y even.
fn animated_webp(cw: u32, ch: u32, frames: &[(u32, u32, u32, u32)]) -> Vec<u8> {
  let vp8x = [&[0x12u8, 0, 0, 0][..], &u24(cw - 1), &u24(ch - 1)].concat();
  let mut body = b"WEBP".to_vec();
  body.extend(riff_chunk(b"VP8X", &vp8x));
  body.extend(riff_chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
  for &(x, y, w, h) in frames {
    let mut anmf = [u24(x / 2), u24(y / 2), u24(w - 1), u24(h - 1), u24(100)].concat();
    anmf.push(0);
    anmf.extend(riff_chunk(b"VP8L", &vp8l(w, h)));
    body.extend(riff_chunk(b"ANMF", &anmf));
  }
  [
    b"RIFF".to_vec(),
    (body.len() as u32).to_le_bytes().to_vec(),
    body,
  ]
  .concat()
}

/// A GIF with a `sw`×`sh` logical screen and one `fw`×`fh` frame whose LZW data is 2 bytes.
fn forged_gif_frame(sw: u16, sh: u16, fw: u16, fh: u16) -> Vec<u8> {
  let mut out = forged_gif(fw, fh);
  out[6..8].copy_from_slice(&sw.to_le_bytes());
  out[8..10].copy_from_slice(&sh.to_le_bytes());
  out
}

/// A real GIF (image's encoder) of a solid `fw`×`fh` frame, its logical screen set to `sw`×`sh`.
fn gif_on_screen(fw: u32, fh: u32, sw: u16, sh: u16) -> Vec<u8> {
  let mut out = Vec::new();
  image::codecs::gif::GifEncoder::new(&mut out)
    .encode(
      &[10, 200, 30, 255].repeat((fw * fh) as usize),
      fw,
      fh,
      image::ExtendedColorType::Rgba8,
    )
    .unwrap();
  out[6..8].copy_from_slice(&sw.to_le_bytes());
  out[8..10].copy_from_slice(&sh.to_le_bytes());
  out
}

/// A BMP (BITMAPINFOHEADER) with a zeroed palette of `colours` entries, then `pixels`.
fn bmp(w: i32, h: i32, bits: u16, compression: u32, colours: u32, pixels: &[u8]) -> Vec<u8> {
  let offset = 14 + 40 + 4 * colours;
  let mut out = b"BM".to_vec();
  out.extend_from_slice(&(offset + pixels.len() as u32).to_le_bytes());
  out.extend_from_slice(&[0; 4]);
  out.extend_from_slice(&offset.to_le_bytes());
  out.extend_from_slice(&40u32.to_le_bytes());
  out.extend_from_slice(&w.to_le_bytes());
  out.extend_from_slice(&h.to_le_bytes());
  out.extend_from_slice(&1u16.to_le_bytes());
  out.extend_from_slice(&bits.to_le_bytes());
  out.extend_from_slice(&compression.to_le_bytes());
  out.extend_from_slice(&(pixels.len() as u32).to_le_bytes());
  out.extend_from_slice(&[0; 8]);
  out.extend_from_slice(&colours.to_le_bytes());
  out.extend_from_slice(&[0; 4]);
  out.resize(offset as usize, 0);
  out.extend_from_slice(pixels);
  out
}

/// A little-endian 8-bit grey TIFF with one strip of `strip` bytes under `compression`.
fn tiff_one_strip(w: u16, h: u16, compression: u16, strip: &[u8]) -> Vec<u8> {
  let tags: [(u16, u16, u32); 9] = [
    (256, 3, w.into()),
    (257, 3, h.into()),
    (258, 3, 8),
    (259, 3, compression.into()),
    (262, 3, 1),
    (273, 4, 8 + 2 + 9 * 12 + 4),
    (277, 3, 1),
    (278, 3, h.into()),
    (279, 4, strip.len() as u32),
  ];
  let mut out = b"II*\0".to_vec();
  out.extend_from_slice(&8u32.to_le_bytes());
  out.extend_from_slice(&(tags.len() as u16).to_le_bytes());
  for (tag, kind, value) in tags {
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&value.to_le_bytes());
  }
  out.extend_from_slice(&[0; 4]);
  out.extend_from_slice(strip);
  out
}

fn webp_opts() -> OptimizeOptions {
  OptimizeOptions::new(64, OutputFormat::Webp)
}

/// The input is refused with `IMAGE_DECODE` by the plausibility check (its message), having
/// allocated less than 1 MiB: no canvas or pixel buffer was sized from the header.
fn assert_refused_before_decoding(name: &str, input: &[u8], format: &str) {
  let meta = metadata(input).unwrap_or_else(|e| panic!("{name}: header should parse: {e}"));
  let mut result = None;
  let peak = peak_during(|| result = Some(optimize(input, &webp_opts())));
  let err = result.unwrap().unwrap_err();
  assert_eq!(err.code(), "IMAGE_DECODE", "{name}: {err}");
  assert!(
    matches!(&err, ImageError::Decode { format: f, reason } if *f == format
      && reason.ends_with("refused before decoding")),
    "{name}: {err}"
  );
  assert!(
    peak < 1 << 20,
    "{name} ({}x{}): allocated {peak} bytes before refusing",
    meta.width,
    meta.height
  );
}

#[test]
fn headers_claiming_more_than_their_data_are_refused_before_decoding() {
  let _serial = SERIAL.lock().unwrap();
  // The PNG: 16000×16000 RGBA, one real (zlib) row of IDAT: ~141 bytes.
  let one_row = zlib_best(&[0; 1 + 16000 * 4]);
  let bomb = png(16000, 16000, 8, 6, 0, &one_row);
  assert!(bomb.len() < 150, "{} bytes", bomb.len());
  let mut cases: Vec<(String, Vec<u8>, &str)> = vec![("PNG RGBA 16000x16000".into(), bomb, "PNG")];
  // Every colour type and depth, interlaced or not (Adam7 changes the scanline count).
  for (colour, depth) in [(0, 1), (0, 16), (2, 8), (3, 4), (4, 16), (6, 16)] {
    for interlace in [0, 1] {
      cases.push((
        format!("PNG colour {colour} depth {depth} interlace {interlace}"),
        png(16000, 16000, depth, colour, interlace, &one_row),
        "PNG",
      ));
    }
  }
  cases.extend([
    // The animated WebP: a 1048624×32 canvas around one 32×32 frame.
    (
      "animated WebP 1048624x32".into(),
      animated_webp(1_048_624, 32, &[(0, 0, 32, 32)]),
      "WebP",
    ),
    (
      "animated WebP 16383x16383".into(),
      animated_webp(16383, 16383, &[(0, 0, 32, 32), (64, 64, 64, 64)]),
      "WebP",
    ),
    // A logical screen far larger than its frame; a frame far larger than its LZW data.
    (
      "GIF screen 16000x16000, frame 1x1".into(),
      forged_gif_frame(16000, 16000, 1, 1),
      "GIF",
    ),
    (
      "GIF frame 16000x16000".into(),
      forged_gif(16000, 16000),
      "GIF",
    ),
    (
      "BMP 24-bit, 16 bytes of pixels".into(),
      bmp(16000, 16000, 24, 0, 0, &[0; 16]),
      "BMP",
    ),
    (
      "BMP RLE8 end-of-bitmap only".into(),
      bmp(16000, 16000, 8, 1, 256, &[0, 1]),
      "BMP",
    ),
    (
      "BMP RLE4 end-of-bitmap only".into(),
      bmp(16000, 16000, 4, 2, 16, &[0, 1]),
      "BMP",
    ),
    (
      "TIFF uncompressed".into(),
      tiff_one_strip(16000, 16000, 1, &[0; 16]),
      "TIFF",
    ),
    (
      "TIFF Deflate".into(),
      tiff_one_strip(16000, 16000, 8, &zlib_best(&[0; 1000])),
      "TIFF",
    ),
    (
      "TIFF LZW".into(),
      tiff_one_strip(16000, 16000, 5, &[0x80, 0, 0x40, 0x20, 0x10, 8, 4, 2]),
      "TIFF",
    ),
    (
      "TIFF PackBits".into(),
      tiff_one_strip(16000, 16000, 32773, &[0x81, 0, 0x81, 0]),
      "TIFF",
    ),
  ]);
  for (name, input, format) in cases {
    assert_refused_before_decoding(&name, &input, format);
  }
}

/// The compression bounds are deflate's and LZW's real maxima: all-zero images compressed as
/// well as zlib can (about 1030:1) still decode, in every layout.
#[test]
fn best_compressed_images_still_decode() {
  let _serial = SERIAL.lock().unwrap();
  // Filtered scanline bytes (a filter byte per row) per Adam7 pass, or of the whole image.
  let scanlines = |w: usize, h: usize, bits: usize, interlaced: bool| -> usize {
    let rows = |w: usize, h: usize| {
      if w == 0 {
        0
      } else {
        h * (1 + (w * bits).div_ceil(8))
      }
    };
    if !interlaced {
      return rows(w, h);
    }
    [
      (0, 0, 8, 8),
      (4, 0, 8, 8),
      (0, 4, 4, 8),
      (2, 0, 4, 4),
      (0, 2, 2, 4),
      (1, 0, 2, 2),
      (0, 1, 1, 2),
    ]
    .iter()
    .map(|&(x0, y0, dx, dy)| {
      rows(
        w.saturating_sub(x0).div_ceil(dx),
        h.saturating_sub(y0).div_ceil(dy),
      )
    })
    .sum()
  };
  // (width, height, bit depth, colour type, channels, interlace)
  let pngs = [
    (2048, 2048, 8, 0, 1, 0),
    (2048, 2048, 1, 0, 1, 1),
    (512, 512, 16, 6, 4, 1),
    (1500, 1000, 4, 3, 1, 0),
  ];
  for (w, h, depth, colour, channels, interlace) in pngs {
    let raw = scanlines(
      w as usize,
      h as usize,
      depth as usize * channels,
      interlace == 1,
    );
    let idat = zlib_best(&vec![0; raw]);
    assert!(
      raw / idat.len() > 900,
      "zlib reached only {}:1",
      raw / idat.len()
    );
    let input = png(w, h, depth, colour, interlace, &idat);
    let out = optimize(&input, &webp_opts())
      .unwrap_or_else(|e| panic!("PNG {w}x{h} colour {colour} depth {depth}: {e}"));
    assert_eq!(out.width, 64);
  }
  use tiff::encoder::{colortype, compression::DeflateLevel, Compression, TiffEncoder};
  for (name, compression) in [
    ("Deflate", Compression::Deflate(DeflateLevel::Best)),
    ("LZW", Compression::Lzw),
    ("PackBits", Compression::Packbits),
  ] {
    let mut tiff = std::io::Cursor::new(Vec::new());
    TiffEncoder::new(&mut tiff)
      .unwrap()
      .with_compression(compression)
      .write_image::<colortype::Gray8>(2048, 2048, &vec![0; 2048 * 2048])
      .unwrap();
    optimize(tiff.get_ref(), &webp_opts()).unwrap_or_else(|e| panic!("TIFF {name}: {e}"));
  }
}

/// A canvas up to 2048×2048 needs no coverage; a larger one must be at least a quarter
/// coverable by its frames (or RLE runs). Either side of that line, for each canvas format.
#[test]
fn canvas_coverage_boundaries() {
  let _serial = SERIAL.lock().unwrap();
  let accepted: [(&str, Vec<u8>); 5] = [
    (
      "GIF 2048x2048 screen, 1x1 frame",
      gif_on_screen(1, 1, 2048, 2048),
    ),
    (
      "GIF 2400x2000 screen, 1200x1000 frame",
      gif_on_screen(1200, 1000, 2400, 2000),
    ),
    (
      "animated WebP 2048x2048, 32x32 frame",
      animated_webp(2048, 2048, &[(0, 0, 32, 32)]),
    ),
    (
      "animated WebP 2400x2000, two 1200x500 frames",
      animated_webp(2400, 2000, &[(0, 0, 1200, 500), (1200, 1500, 1200, 500)]),
    ),
    (
      "BMP RLE8 2048x2048, end-of-bitmap only",
      bmp(2048, 2048, 8, 1, 256, &[0, 1]),
    ),
  ];
  for (name, input) in accepted {
    let out = optimize(&input, &webp_opts()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(out.width, 64, "{name}");
  }
  let refused: [(&str, Vec<u8>, &str); 3] = [
    (
      "GIF 2400x2000 screen, 1199x1000 frame",
      gif_on_screen(1199, 1000, 2400, 2000),
      "GIF",
    ),
    (
      "animated WebP 2400x2000, frames covering 1200x998",
      animated_webp(2400, 2000, &[(0, 0, 1200, 499), (1200, 1500, 1200, 499)]),
      "WebP",
    ),
    (
      "BMP RLE8 2049x2048, end-of-bitmap only",
      bmp(2049, 2048, 8, 1, 256, &[0, 1]),
      "BMP",
    ),
  ];
  for (name, input, format) in refused {
    assert_refused_before_decoding(name, &input, format);
  }
}
