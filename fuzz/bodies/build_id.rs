//! Fuzz body for the build-ID manifest reader behind `explain` (`next-native build-id
//! --explain`, `explainManifests`), shared by fuzz/fuzz_targets/build_id_manifest.rs and the
//! stable replay test (crates/build_id/tests/fuzz_corpus.rs). Public API only.
//!
//! Input: two manifests' JSON separated by a NUL byte (JSON text never contains a raw NUL);
//! without one, the same text is both. Each is read as `explainManifests` reads it (parse,
//! verify, explain), and again with its digest recomputed, so that mutated manifests also
//! get past `verify` into `explain`.

#![allow(dead_code)]

use next_native_build_id::{explain, Manifest};

fn read(json: &str) -> Option<(Manifest, Option<Manifest>)> {
  let m = Manifest::from_json(json).ok()?;
  // What it writes reads back the same.
  let again = Manifest::from_json(&m.to_json()).expect("to_json output parses");
  assert_eq!(again, m, "JSON round trip");
  let _ = m.build_id();
  let _ = m.deployment_id();
  let verified = m.verify().is_ok();
  let mut fixed = m.clone();
  fixed.digest = fixed.compute_digest();
  let fixed = fixed.verify().is_ok().then_some(fixed);
  if verified {
    assert_eq!(
      fixed.as_ref(),
      Some(&m),
      "a verified manifest's digest is its own"
    );
  }
  Some((m, fixed))
}

fn compare(a: &Manifest, b: &Manifest) {
  let changes = explain(a, b);
  serde_json::to_string(&changes).expect("changes serialise");
  assert_eq!(
    changes.is_empty(),
    a.digest == b.digest,
    "explain is empty exactly when the digests are equal: {changes:?}"
  );
  assert!(explain(a, a).is_empty());
}

pub fn build_id_manifest(data: &[u8]) {
  let (before, after) = match data.iter().position(|&b| b == 0) {
    Some(i) => (&data[..i], &data[i + 1..]),
    None => (data, data),
  };
  let (Ok(before), Ok(after)) = (std::str::from_utf8(before), std::str::from_utf8(after)) else {
    return;
  };
  let (a, b) = (read(before), read(after));
  if let (Some((a, a_fixed)), Some((b, b_fixed))) = (&a, &b) {
    // Unverified manifests (what a careless caller could pass) still never panic.
    let _ = explain(a, b);
    if let (Some(a), Some(b)) = (a_fixed, b_fixed) {
      compare(a, b);
    }
  }
}
