//! The pixel limit is enforced from the header, before any pixel buffer is allocated: a
//! counting allocator checks the peak allocation while refusing forged huge headers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use next_native_image::{metadata, optimize, OptimizeOptions, OutputFormat};

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
    // Just under a limit: the (broken) data is then decoded and fails as a decode error.
    opts.max_input_pixels = 4_000_000;
    assert_eq!(optimize(&input, &opts).unwrap_err().code(), "IMAGE_DECODE");
  }
}
