//! The manifest (every input and its digest), the canonical encoding over it, and `explain`.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::digest::put_lp;
use crate::id::{render, BUILD_ID_LEN, DEPLOYMENT_ID_LEN};
use crate::{BuildIdError, Sha256};

/// Version of the canonical encoding. It is the first thing hashed, so changing the encoding
/// and bumping this can never produce a digest that collides with an older one.
pub const FORMAT_VERSION: u32 = 1;

/// Domain separator at the head of the digest stream.
pub(crate) const MAGIC: &[u8] = b"rs-next-buildid\0";

// Record tags of the canonical encoding (see the crate docs).
const TAG_NEXT_VERSION: u8 = 0x01;
const TAG_SALT: u8 = 0x02;
const TAG_ENV: u8 = 0x03;
const TAG_FILE: u8 = 0x04;
const TAG_SYMLINK: u8 = 0x05;

/// What a path in the tree is. Directories are not entries: an empty directory is not an input
/// (git does not track them either).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
  /// A regular file; `sha256` is of its bytes.
  File,
  /// A symlink, never followed; `sha256` is of its link text.
  Symlink,
}

/// One hashed path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
  /// Relative to the project dir, `/`-separated, never absolute.
  pub path: String,
  pub kind: EntryKind,
  /// Bytes of content (file) or of link text (symlink).
  pub size: u64,
  pub sha256: Sha256,
}

/// One env input: the name and a hash of the value. The value itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvEntry {
  pub name: String,
  /// [`crate::env_value_sha256`]`(name, value)`.
  pub value_sha256: Sha256,
}

/// Every input of one ID and the digest over them. JSON field names are the Rust field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
  /// [`FORMAT_VERSION`] of the encoding that produced `digest`.
  pub format_version: u32,
  /// SHA-256 over the canonical encoding of everything below; IDs are rendered from it.
  pub digest: Sha256,
  /// The installed Next version as the caller passed it.
  pub next_version: Option<String>,
  /// [`crate::salt_sha256`] of the salt, or `null` when there was none.
  pub salt_sha256: Option<Sha256>,
  /// Sorted by name (bytes), names unique.
  pub env: Vec<EnvEntry>,
  /// Sorted by path (bytes), paths unique.
  pub files: Vec<FileEntry>,
}

impl Manifest {
  /// Builds a manifest from its inputs, sorting them and computing the digest.
  pub(crate) fn new(
    next_version: Option<String>,
    salt_sha256: Option<Sha256>,
    mut env: Vec<EnvEntry>,
    mut files: Vec<FileEntry>,
  ) -> Manifest {
    env.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    files.sort_unstable_by(|a, b| a.path.cmp(&b.path));
    let mut m = Manifest {
      format_version: FORMAT_VERSION,
      digest: Sha256([0; 32]),
      next_version,
      salt_sha256,
      env,
      files,
    };
    m.digest = m.compute_digest();
    m
  }

  /// The digest of this manifest's inputs under the current canonical encoding, with the
  /// records in the order they are stored (canonical order for any manifest we produced).
  pub fn compute_digest(&self) -> Sha256 {
    let mut h = sha2::Sha256::new();
    h.update(MAGIC);
    h.update(self.format_version.to_le_bytes());
    h.update([TAG_NEXT_VERSION]);
    match &self.next_version {
      None => h.update([0]),
      Some(v) => {
        h.update([1]);
        put_lp(&mut h, v.as_bytes());
      }
    }
    h.update([TAG_SALT]);
    match &self.salt_sha256 {
      None => h.update([0]),
      Some(s) => {
        h.update([1]);
        h.update(s.0);
      }
    }
    for e in &self.env {
      h.update([TAG_ENV]);
      put_lp(&mut h, e.name.as_bytes());
      h.update(e.value_sha256.0);
    }
    for f in &self.files {
      h.update([match f.kind {
        EntryKind::File => TAG_FILE,
        EntryKind::Symlink => TAG_SYMLINK,
      }]);
      put_lp(&mut h, f.path.as_bytes());
      h.update(f.size.to_le_bytes());
      h.update(f.sha256.0);
    }
    Sha256(h.finalize().into())
  }

  /// Checks a manifest read from disk: supported format version, canonical order, unique
  /// names and paths, and a `digest` that matches the contents.
  pub fn verify(&self) -> Result<(), BuildIdError> {
    if self.format_version != FORMAT_VERSION {
      return Err(BuildIdError::UnsupportedFormat {
        found: self.format_version,
        supported: FORMAT_VERSION,
      });
    }
    let sorted_env = self.env.windows(2).all(|w| w[0].name < w[1].name);
    let sorted_files = self.files.windows(2).all(|w| w[0].path < w[1].path);
    let computed = self.compute_digest();
    if !sorted_env || !sorted_files || computed != self.digest {
      return Err(BuildIdError::ManifestDigestMismatch {
        recorded: self.digest.to_hex(),
        computed: if sorted_env && sorted_files {
          computed.to_hex()
        } else {
          "entries not in canonical order".to_owned()
        },
      });
    }
    Ok(())
  }

  /// See [`crate::build_id`].
  pub fn build_id(&self) -> String {
    render(&self.digest, BUILD_ID_LEN)
  }

  /// See [`crate::deployment_id`].
  pub fn deployment_id(&self) -> String {
    render(&self.digest, DEPLOYMENT_ID_LEN)
  }

  /// Pretty-printed JSON, the `--manifest out.json` format.
  pub fn to_json(&self) -> String {
    serde_json::to_string_pretty(self).expect("a manifest always serialises")
  }

  /// Parses a manifest. It does not [`verify`](Manifest::verify) it, so that [`explain`] can
  /// still compare against manifests written by other format versions.
  pub fn from_json(json: &str) -> Result<Manifest, BuildIdError> {
    serde_json::from_str(json).map_err(|e| BuildIdError::ManifestJson {
      message: e.to_string(),
    })
  }

  /// Total bytes of all entries (content for files, link text for symlinks).
  pub fn total_size(&self) -> u64 {
    self.files.iter().map(|f| f.size).sum()
  }
}

/// One input that differs between two manifests. Serialises with a `"change"` tag, e.g.
/// `{"change":"file_changed","path":"app/page.tsx",…}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
  FormatVersionChanged {
    old: u32,
    new: u32,
  },
  NextVersionChanged {
    old: Option<String>,
    new: Option<String>,
  },
  /// Salt added, removed, or replaced by another (both `true`).
  SaltChanged {
    old_present: bool,
    new_present: bool,
  },
  EnvAdded {
    name: String,
  },
  EnvRemoved {
    name: String,
  },
  EnvValueChanged {
    name: String,
  },
  FileAdded {
    path: String,
    kind: EntryKind,
    size: u64,
  },
  FileRemoved {
    path: String,
    kind: EntryKind,
    size: u64,
  },
  /// Content, link text or kind changed (sizes may be equal).
  FileChanged {
    path: String,
    old_kind: EntryKind,
    new_kind: EntryKind,
    old_size: u64,
    new_size: u64,
  },
}

/// Which inputs differ from `old` to `new`, in a fixed order: format version, Next version,
/// salt, then env changes by name, then file changes by path (byte order). Empty exactly when
/// the two manifests describe the same inputs, i.e. when their digests are equal.
///
/// Both manifests are assumed canonical (as produced by `hash_tree`, or checked with
/// [`Manifest::verify`]); out-of-order input still gives a complete, if oddly ordered, answer.
pub fn explain(old: &Manifest, new: &Manifest) -> Vec<Change> {
  let mut out = Vec::new();
  if old.format_version != new.format_version {
    out.push(Change::FormatVersionChanged {
      old: old.format_version,
      new: new.format_version,
    });
  }
  if old.next_version != new.next_version {
    out.push(Change::NextVersionChanged {
      old: old.next_version.clone(),
      new: new.next_version.clone(),
    });
  }
  if old.salt_sha256 != new.salt_sha256 {
    out.push(Change::SaltChanged {
      old_present: old.salt_sha256.is_some(),
      new_present: new.salt_sha256.is_some(),
    });
  }
  merge_by(
    &old.env,
    &new.env,
    |e| e.name.as_str(),
    |e| Change::EnvRemoved {
      name: e.name.clone(),
    },
    |e| Change::EnvAdded {
      name: e.name.clone(),
    },
    |a, b| {
      (a.value_sha256 != b.value_sha256).then(|| Change::EnvValueChanged {
        name: a.name.clone(),
      })
    },
    &mut out,
  );
  merge_by(
    &old.files,
    &new.files,
    |f| f.path.as_str(),
    |f| Change::FileRemoved {
      path: f.path.clone(),
      kind: f.kind,
      size: f.size,
    },
    |f| Change::FileAdded {
      path: f.path.clone(),
      kind: f.kind,
      size: f.size,
    },
    |a, b| {
      (a.kind != b.kind || a.size != b.size || a.sha256 != b.sha256).then(|| Change::FileChanged {
        path: a.path.clone(),
        old_kind: a.kind,
        new_kind: b.kind,
        old_size: a.size,
        new_size: b.size,
      })
    },
    &mut out,
  );
  out
}

/// Merge-join of two key-sorted lists.
fn merge_by<T>(
  old: &[T],
  new: &[T],
  key: impl Fn(&T) -> &str,
  removed: impl Fn(&T) -> Change,
  added: impl Fn(&T) -> Change,
  changed: impl Fn(&T, &T) -> Option<Change>,
  out: &mut Vec<Change>,
) {
  let (mut i, mut j) = (0, 0);
  while i < old.len() || j < new.len() {
    let ord = match (old.get(i), new.get(j)) {
      (Some(a), Some(b)) => key(a).cmp(key(b)),
      (Some(_), None) => Ordering::Less,
      _ => Ordering::Greater,
    };
    match ord {
      Ordering::Less => {
        out.push(removed(&old[i]));
        i += 1;
      }
      Ordering::Greater => {
        out.push(added(&new[j]));
        j += 1;
      }
      Ordering::Equal => {
        out.extend(changed(&old[i], &new[j]));
        i += 1;
        j += 1;
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn sample() -> Manifest {
    Manifest::new(
      Some("16.4.6".into()),
      None,
      vec![EnvEntry {
        name: "NEXT_PUBLIC_API".into(),
        value_sha256: crate::env_value_sha256("NEXT_PUBLIC_API", "https://x"),
      }],
      vec![
        FileEntry {
          path: "package.json".into(),
          kind: EntryKind::File,
          size: 2,
          sha256: Sha256::of(b"{}"),
        },
        FileEntry {
          path: "app/page.tsx".into(),
          kind: EntryKind::File,
          size: 0,
          sha256: Sha256::of(b""),
        },
        FileEntry {
          path: "link".into(),
          kind: EntryKind::Symlink,
          size: 12,
          sha256: Sha256::of(b"app/page.tsx"),
        },
      ],
    )
  }

  /// A golden vector: if this changes, the canonical encoding changed and every deployed ID
  /// changes with it. Bump FORMAT_VERSION and update this on purpose, never by accident.
  #[test]
  fn canonical_encoding_golden_vector() {
    let m = sample();
    assert_eq!(
      m.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
      ["app/page.tsx", "link", "package.json"]
    );
    assert_eq!(m.digest.to_hex(), GOLDEN_DIGEST);
    assert_eq!(m.build_id(), GOLDEN_BUILD_ID);
    m.verify().unwrap();
  }
  // Cross-checked against an independent Python implementation of the encoding in the
  // crate docs (hashlib + struct), not just copied from this code's output.
  const GOLDEN_DIGEST: &str = "eeed8c51a4271111dadb8ca4d1bc4f4c580e9f81946c2b5ff97891e338bd1ea6";
  const GOLDEN_BUILD_ID: &str = "xvqssoh66wbl5qqvlmmh5j4jcl";

  #[test]
  fn each_field_reaches_the_digest() {
    let base = sample();
    let mut variants = Vec::new();
    let mut m = base.clone();
    m.next_version = None;
    variants.push(m);
    let mut m = base.clone();
    m.salt_sha256 = Some(crate::salt_sha256(""));
    variants.push(m);
    let mut m = base.clone();
    m.env[0].value_sha256 = crate::env_value_sha256("NEXT_PUBLIC_API", "https://y");
    variants.push(m);
    let mut m = base.clone();
    m.files[1].kind = EntryKind::File;
    variants.push(m);
    let mut m = base.clone();
    m.files[0].size = 1;
    variants.push(m);
    let mut m = base.clone();
    m.format_version = 2;
    variants.push(m);
    for v in &variants {
      assert_ne!(v.compute_digest(), base.digest, "{v:?}");
      assert_eq!(explain(&base, v).len(), 1, "{:?}", explain(&base, v));
    }
  }

  #[test]
  fn verify_rejects_edited_manifests() {
    let mut m = sample();
    m.files[0].size += 1;
    assert!(matches!(
      m.verify(),
      Err(BuildIdError::ManifestDigestMismatch { .. })
    ));
    let mut m = sample();
    m.files.swap(0, 1);
    assert!(m.verify().is_err());
    let mut m = sample();
    m.format_version = 99;
    assert!(matches!(
      m.verify(),
      Err(BuildIdError::UnsupportedFormat { found: 99, .. })
    ));
  }

  #[test]
  fn explain_orders_and_classifies() {
    let a = sample();
    let mut b = sample();
    b.files.remove(0); // app/page.tsx removed
    b.files.push(FileEntry {
      path: "zzz".into(),
      kind: EntryKind::File,
      size: 0,
      sha256: Sha256::of(b""),
    });
    b.files[0].kind = EntryKind::File; // link: symlink -> file
    b.env.clear();
    b.next_version = Some("16.5.0".into());
    let b = Manifest::new(b.next_version, b.salt_sha256, b.env, b.files);
    let got = explain(&a, &b);
    assert_eq!(
      got,
      vec![
        Change::NextVersionChanged {
          old: Some("16.4.6".into()),
          new: Some("16.5.0".into())
        },
        Change::EnvRemoved {
          name: "NEXT_PUBLIC_API".into()
        },
        Change::FileRemoved {
          path: "app/page.tsx".into(),
          kind: EntryKind::File,
          size: 0
        },
        Change::FileChanged {
          path: "link".into(),
          old_kind: EntryKind::Symlink,
          new_kind: EntryKind::File,
          old_size: 12,
          new_size: 12
        },
        Change::FileAdded {
          path: "zzz".into(),
          kind: EntryKind::File,
          size: 0
        },
      ]
    );
    assert!(explain(&a, &a).is_empty());
    let json = serde_json::to_string(&got[3]).unwrap();
    assert_eq!(
      json,
      r#"{"change":"file_changed","path":"link","old_kind":"symlink","new_kind":"file","old_size":12,"new_size":12}"#
    );
  }
}
