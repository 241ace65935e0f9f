//! Replays a fuzz target's committed inputs on stable Rust, without libFuzzer: every file of
//! `fuzz/corpus/<target>/` (the minimized corpus) and `fuzz/regressions/<target>/` (inputs that
//! once crashed, hung or ran out of memory, kept even if `cargo fuzz cmin` would drop them).
//! Included by each core crate's tests/fuzz_corpus.rs.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn fuzz_dir() -> PathBuf {
  Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
  let mut out: Vec<PathBuf> = match std::fs::read_dir(dir) {
    Ok(entries) => entries
      .flatten()
      .map(|e| e.path())
      .filter(|p| p.is_file())
      .collect(),
    Err(_) => Vec::new(),
  };
  out.sort();
  out
}

/// Runs `body` on every input of `target`; fails naming each input that panics.
pub fn replay(target: &str, body: fn(&[u8])) {
  let root = fuzz_dir();
  let corpus = files(&root.join("corpus").join(target));
  assert!(
    !corpus.is_empty(),
    "no corpus for {target} in {}",
    root.display()
  );
  let inputs: Vec<PathBuf> = corpus
    .into_iter()
    .chain(files(&root.join("regressions").join(target)))
    .collect();
  let started = Instant::now();
  let mut failed = Vec::new();
  for path in &inputs {
    let data = std::fs::read(path).unwrap();
    if std::panic::catch_unwind(|| body(&data)).is_err() {
      failed.push(path.display().to_string());
    }
  }
  eprintln!(
    "{target}: {} inputs replayed in {:.2?}",
    inputs.len(),
    started.elapsed()
  );
  assert!(failed.is_empty(), "{target}: inputs that fail: {failed:#?}");
}
