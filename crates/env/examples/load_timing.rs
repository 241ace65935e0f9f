//! Times `load_files` on env files given on the command line (no process env):
//! `cargo run --release -p next_native_env --example load_timing -- .env.local .env`

use std::time::Instant;

fn main() {
  let texts: Vec<String> = std::env::args()
    .skip(1)
    .map(|p| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}")))
    .collect();
  let files: Vec<&str> = texts.iter().map(String::as_str).collect();
  let mut best = f64::MAX;
  for _ in 0..30 {
    let t = Instant::now();
    std::hint::black_box(next_native_env::load_files(&files, &|_| None));
    best = best.min(t.elapsed().as_secs_f64() * 1e3);
  }
  let parse_best = (0..30)
    .map(|_| {
      let t = Instant::now();
      for f in &files {
        std::hint::black_box(next_native_env::parse(f));
      }
      t.elapsed().as_secs_f64() * 1e3
    })
    .fold(f64::MAX, f64::min);
  let expand_best = (0..30)
    .map(|_| {
      let t = Instant::now();
      for f in &files {
        std::hint::black_box(next_native_env::expand(next_native_env::parse(f), &|_| None).ok());
      }
      t.elapsed().as_secs_f64() * 1e3
    })
    .fold(f64::MAX, f64::min);
  println!(
    "load_files: best {best:.3} ms; expand(parse()) per file {expand_best:.3} ms; parse alone {parse_best:.3} ms"
  );
}
