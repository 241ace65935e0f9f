//! Quick measurement: `cargo run --release -p next_native_build_id --example hash_tree -- <dir>
//! [--repeat N] [--threads N] [--manifest out.json]`.
//!
//! Prints the ID, files/MB, wall time per run, and the SHA-256 throughput of this machine so
//! the result can be compared with "SHA-256 speed × cores".

use std::time::Instant;

use next_native_build_id::{build_id, deployment_id, hash_tree, Options};
use sha2::Digest;

fn main() {
  let mut args = std::env::args().skip(1);
  let mut dir = None;
  let (mut repeat, mut threads, mut manifest_out) = (5usize, 0usize, None);
  while let Some(a) = args.next() {
    match a.as_str() {
      "--repeat" => {
        repeat = args
          .next()
          .and_then(|v| v.parse().ok())
          .expect("--repeat N")
      }
      "--threads" => {
        threads = args
          .next()
          .and_then(|v| v.parse().ok())
          .expect("--threads N")
      }
      "--manifest" => manifest_out = Some(args.next().expect("--manifest PATH")),
      _ => dir = Some(a),
    }
  }
  let dir = dir.unwrap_or_else(|| ".".into());
  let pool = rayon::ThreadPoolBuilder::new()
    .num_threads(threads)
    .build()
    .unwrap();

  #[cfg(target_arch = "x86_64")]
  let backend = if std::arch::is_x86_feature_detected!("sha") {
    "x86 SHA-NI (runtime-detected by sha2)"
  } else {
    "software (no SHA-NI on this CPU)"
  };
  #[cfg(not(target_arch = "x86_64"))]
  let backend = "non-x86: see crate docs (aarch64 needs sha2's `asm` feature)";
  let buf = vec![0x5au8; 64 << 20];
  let t = Instant::now();
  std::hint::black_box(sha2::Sha256::digest(&buf));
  let sha_mb_s = buf.len() as f64 / 1e6 / t.elapsed().as_secs_f64();
  println!(
    "sha256 backend: {backend}; one core: {sha_mb_s:.0} MB/s; threads: {}",
    pool.current_num_threads()
  );

  let opts = Options::new(&dir);
  let mut best = f64::MAX;
  let mut last = None;
  for run in 0..repeat.max(1) {
    let t = Instant::now();
    let m = pool.install(|| hash_tree(&opts)).unwrap_or_else(|e| {
      eprintln!("error [{}]: {e}", e.code());
      std::process::exit(1);
    });
    let ms = t.elapsed().as_secs_f64() * 1e3;
    best = best.min(ms);
    println!("run {run}: {ms:.1} ms");
    last = Some(m);
  }
  let m = last.unwrap();
  let mb = m.total_size() as f64 / 1e6;
  let floor_ms = mb / (sha_mb_s * pool.current_num_threads() as f64) * 1e3;
  println!("build_id      {}", build_id(&m));
  println!("deployment_id {}", deployment_id(&m));
  println!("digest        {}", m.digest);
  println!(
    "{} files, {mb:.1} MB, best {best:.1} ms ({:.0} MB/s); SHA-256 floor at {} threads: \
     {floor_ms:.1} ms → {:.2}× the floor",
    m.files.len(),
    mb / (best / 1e3),
    pool.current_num_threads(),
    best / floor_ms
  );
  if let Some(path) = manifest_out {
    std::fs::write(&path, m.to_json()).unwrap();
    println!("manifest written to {path}");
  }
}
