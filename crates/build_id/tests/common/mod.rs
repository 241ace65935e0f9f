//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::Path;

use next_native_build_id::{hash_tree, Manifest, Options};

/// Writes `content` at `root/rel`, creating parent directories.
pub fn write(root: &Path, rel: &str, content: &[u8]) {
  let path = root.join(rel);
  std::fs::create_dir_all(path.parent().unwrap()).unwrap();
  std::fs::write(path, content).unwrap();
}

pub fn hash(root: &Path) -> Manifest {
  hash_tree(&Options::new(root)).unwrap()
}

pub fn paths(m: &Manifest) -> Vec<&str> {
  m.files.iter().map(|f| f.path.as_str()).collect()
}

/// Asserts the ID formats promised in the crate docs.
pub fn assert_id_formats(m: &Manifest) {
  let id = next_native_build_id::build_id(m);
  let dpl = next_native_build_id::deployment_id(m);
  assert_eq!(id.len(), 26, "{id}");
  assert_eq!(dpl.len(), 32, "{dpl}");
  assert!(id
    .bytes()
    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()));
  assert!(dpl
    .bytes()
    .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-'));
  assert!(!id.contains("ad") && !dpl.to_ascii_lowercase().contains("ad"));
  assert!(dpl.starts_with(&id));
}
