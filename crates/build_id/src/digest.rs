//! SHA-256 plumbing: the digest newtype, streaming file hashing, and the domain-separated
//! hashes for env values and the salt.

use std::cell::RefCell;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest as _;

use crate::BuildIdError;

/// A SHA-256 digest. Serialises as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
  /// Plain SHA-256 of `bytes`, as `sha256sum` would print it.
  pub fn of(bytes: &[u8]) -> Self {
    Sha256(sha2::Sha256::digest(bytes).into())
  }

  /// Lowercase hex, 64 characters.
  pub fn to_hex(&self) -> String {
    self.to_string()
  }

  /// Parses exactly 64 hex characters (either case).
  pub fn from_hex(s: &str) -> Option<Self> {
    let b = s.as_bytes();
    if b.len() != 64 {
      return None;
    }
    let nibble = |c: u8| match c {
      b'0'..=b'9' => Some(c - b'0'),
      b'a'..=b'f' => Some(c - b'a' + 10),
      b'A'..=b'F' => Some(c - b'A' + 10),
      _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
      *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(Sha256(out))
  }
}

impl fmt::Display for Sha256 {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for b in self.0 {
      write!(f, "{b:02x}")?;
    }
    Ok(())
  }
}

impl fmt::Debug for Sha256 {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "Sha256({self})")
  }
}

impl Serialize for Sha256 {
  fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(self)
  }
}

impl<'de> Deserialize<'de> for Sha256 {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    Sha256::from_hex(&s)
      .ok_or_else(|| serde::de::Error::custom("expected 64 hex characters (SHA-256)"))
  }
}

/// Appends `u64le(len) ‖ bytes`. Every variable-length field of the canonical encoding goes
/// through here, so no two different inputs can serialise to the same byte stream.
pub(crate) fn put_lp(h: &mut sha2::Sha256, bytes: &[u8]) {
  h.update((bytes.len() as u64).to_le_bytes());
  h.update(bytes);
}

/// `SHA-256("rs-next-buildid/env-value\0" ‖ lp(name) ‖ lp(value))`: what the manifest stores
/// instead of the value. Binding the name means equal values under different names do not
/// look equal. It is not a secret-keeping device for low-entropy values (see crate docs).
pub fn env_value_sha256(name: &str, value: &str) -> Sha256 {
  let mut h = sha2::Sha256::new();
  h.update(b"rs-next-buildid/env-value\0");
  put_lp(&mut h, name.as_bytes());
  put_lp(&mut h, value.as_bytes());
  Sha256(h.finalize().into())
}

/// `SHA-256("rs-next-buildid/salt\0" ‖ lp(salt))`.
pub fn salt_sha256(salt: &str) -> Sha256 {
  let mut h = sha2::Sha256::new();
  h.update(b"rs-next-buildid/salt\0");
  put_lp(&mut h, salt.as_bytes());
  Sha256(h.finalize().into())
}

/// Large enough that a typical source file is one `read`, small enough to stay in L2.
const READ_BUF_LEN: usize = 256 * 1024;

thread_local! {
    // One buffer per worker thread, reused for every file: no per-file allocation, and big
    // files stream through in bounded memory.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; READ_BUF_LEN].into_boxed_slice());
}

/// Streams a regular file through SHA-256. The size is the number of bytes actually hashed, so
/// size and digest always describe the same bytes even if the file changed under us.
pub(crate) fn hash_file(path: &Path) -> Result<(u64, Sha256), BuildIdError> {
  let mut file = File::open(path).map_err(|e| BuildIdError::io(path, e))?;
  READ_BUF.with_borrow_mut(|buf| {
    let mut h = sha2::Sha256::new();
    let mut size = 0u64;
    loop {
      match file.read(buf) {
        Ok(0) => break,
        Ok(n) => {
          h.update(&buf[..n]);
          size += n as u64;
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) => return Err(BuildIdError::io(path, e)),
      }
    }
    Ok((size, Sha256(h.finalize().into())))
  })
}

/// A symlink's record: the link text as stored (never resolved), its length, its SHA-256.
pub(crate) fn hash_symlink(path: &Path) -> Result<(u64, Sha256), BuildIdError> {
  let target = std::fs::read_link(path).map_err(|e| BuildIdError::io(path, e))?;
  let bytes = target.as_os_str().as_encoded_bytes();
  Ok((bytes.len() as u64, Sha256::of(bytes)))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn hex_round_trip_and_known_vector() {
    // sha256("abc"), FIPS 180-2 appendix B.1.
    let d = Sha256::of(b"abc");
    assert_eq!(
      d.to_hex(),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(Sha256::from_hex(&d.to_hex()), Some(d));
    assert_eq!(Sha256::from_hex(&d.to_hex().to_uppercase()), Some(d));
    assert_eq!(Sha256::from_hex("ab"), None);
    assert_eq!(Sha256::from_hex(&"g".repeat(64)), None);
  }

  #[test]
  fn env_hash_binds_the_name_and_frames_fields() {
    assert_ne!(env_value_sha256("A", "x"), env_value_sha256("B", "x"));
    // Without length prefixes these two would concatenate to the same bytes.
    assert_ne!(env_value_sha256("AB", "C"), env_value_sha256("A", "BC"));
    assert_ne!(salt_sha256("x"), Sha256::of(b"x"));
  }

  #[test]
  fn streams_files_larger_than_the_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data: Vec<u8> = (0..READ_BUF_LEN * 3 + 17)
      .map(|i| (i * 31 % 251) as u8)
      .collect();
    std::fs::write(&path, &data).unwrap();
    let (size, digest) = hash_file(&path).unwrap();
    assert_eq!(size, data.len() as u64);
    assert_eq!(digest, Sha256::of(&data));
  }

  #[test]
  fn read_error_names_the_path() {
    // Reading a directory as a file fails with EISDIR even as root, which lets this test
    // exercise the error path where chmod 000 cannot.
    let dir = tempfile::tempdir().unwrap();
    let err = hash_file(dir.path()).unwrap_err();
    assert!(matches!(err, BuildIdError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.path().display().to_string()));
  }
}
