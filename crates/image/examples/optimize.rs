//! Optimize one file the way `/_next/image` would and print timing and size.
//!
//! cargo run --release -p next_native_image --example optimize -- \
//!   <input> <width> <jpeg|png|webp|avif> [quality=75] [--runs N] [--threads N] [--speed S] [-o out]
//!
//! `--threads` only affects AVIF (rav1e); every other stage is single-threaded.

use std::time::Instant;

use next_native_image::{metadata, optimize, OptimizeOptions, OutputFormat};

fn main() {
  let args: Vec<String> = std::env::args().skip(1).collect();
  let mut positional = Vec::new();
  let (mut runs, mut threads, mut speed, mut out) = (3usize, None, None, None);
  let mut i = 0;
  while i < args.len() {
    let value = || args.get(i + 1).cloned().expect("flag needs a value");
    match args[i].as_str() {
      "--runs" => runs = value().parse().expect("--runs N"),
      "--threads" => threads = Some(value().parse().expect("--threads N")),
      "--speed" => speed = Some(value().parse().expect("--speed S")),
      "-o" => out = Some(value()),
      other => {
        positional.push(other.to_string());
        i += 1;
        continue;
      }
    }
    i += 2;
  }
  if positional.len() < 3 {
    eprintln!("usage: optimize <input> <width> <jpeg|png|webp|avif> [quality] [--runs N] [--threads N] [--speed S] [-o out]");
    std::process::exit(2);
  }
  let input = std::fs::read(&positional[0]).expect("read input");
  let width: u32 = positional[1].parse().expect("width");
  let format = match positional[2].as_str() {
    "jpeg" | "jpg" => OutputFormat::Jpeg,
    "png" => OutputFormat::Png,
    "webp" => OutputFormat::Webp,
    "avif" => OutputFormat::Avif,
    other => panic!("unknown format {other}"),
  };
  let mut opts = OptimizeOptions::new(width, format);
  if let Some(q) = positional.get(3) {
    opts.quality = q.parse().expect("quality");
  }
  opts.threads = threads;
  if let Some(s) = speed {
    opts.avif_speed = s;
  }
  let meta = metadata(&input).expect("metadata");
  println!(
    "{} {:?} {}x{} orientation {} -> w={} {:?} q{} (avif speed {}, threads {:?})",
    positional[0],
    meta.format,
    meta.width,
    meta.height,
    meta.orientation,
    width,
    format,
    opts.quality,
    opts.avif_speed,
    opts.threads
  );
  let mut times = Vec::new();
  let mut last = None;
  for _ in 0..runs.max(1) {
    let start = Instant::now();
    let result = optimize(&input, &opts).unwrap_or_else(|e| panic!("{}: {e}", e.code()));
    times.push(start.elapsed().as_secs_f64() * 1000.0);
    last = Some(result);
  }
  let result = last.expect("at least one run");
  times.sort_by(f64::total_cmp);
  println!(
    "  -> {}x{} {} bytes; min {:.1} ms, median {:.1} ms over {} runs",
    result.width,
    result.height,
    result.data.len(),
    times[0],
    times[times.len() / 2],
    times.len()
  );
  if let Some(path) = out {
    std::fs::write(&path, &result.data).expect("write output");
  }
}
