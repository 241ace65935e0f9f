//! The disk tier: one file per entry under a root directory, bounded in bytes, least recently
//! used evicted first, plus an append-only log of tag records so revalidations survive a
//! restart.
//!
//! Files are written to a temporary name and renamed into place, so a reader (this process or
//! another one on the same directory, e.g. two `next start` during a rolling restart) sees a
//! whole entry or none. Every file carries a CRC-32 of its bytes and its own key: a truncated,
//! corrupt or foreign file is a miss, counted in [`DiskStats::corrupt`], and removed.
//!
//! A write that fails (read-only file system, full disk, permissions) turns the tier read-only
//! for the rest of the process: [`DiskTier::read_only_reason`] says why, reads go on.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::store::EntryMeta;
use crate::tags::TagState;

const MAGIC: &[u8; 4] = b"NNCE";
const VERSION: u8 = 1;
const FLAG_LZ4: u8 = 1;
/// magic, version, flags, 2 reserved bytes, then the header length.
const PREFIX_LEN: usize = 12;
const TAGS_LOG: &str = "tags.log";
/// Temporary files older than this are left-overs of a process that died mid-write.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// What a [`DiskTier`] is opened with.
#[derive(Debug, Clone)]
pub struct DiskConfig {
  pub root: PathBuf,
  /// Bound on the bytes of entry files this process knows of (its own writes plus what it found
  /// at open). Other processes writing to the same root are not counted until the next open.
  pub max_bytes: u64,
  /// `false`: never write (Next's `flushToDisk: false`); entries already there are still read.
  pub writable: bool,
}

/// An entry read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskEntry {
  pub value: Vec<u8>,
  pub meta: EntryMeta,
}

/// Result of [`DiskTier::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
  Stored {
    evicted: u64,
  },
  /// Larger than the whole budget: not written.
  TooLarge,
  /// The tier is read-only (configured so, or after a failed write): not written.
  ReadOnly,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskStats {
  pub hits: u64,
  pub misses: u64,
  pub writes: u64,
  pub evictions: u64,
  /// Files that were truncated, corrupt or not ours: served as misses and removed.
  pub corrupt: u64,
  pub bytes: u64,
  pub files: u64,
  pub max_bytes: u64,
}

/// A failed disk write, with the path and the OS error.
#[derive(Debug)]
pub struct DiskError {
  pub path: PathBuf,
  pub source: io::Error,
}

impl std::fmt::Display for DiskError {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    write!(f, "{}: {}", self.path.display(), self.source)
  }
}

impl std::error::Error for DiskError {}

struct Slot {
  size: u64,
  tick: u64,
}

#[derive(Default)]
struct Index {
  files: HashMap<String, Slot>,
  /// tick -> file name; the smallest tick is the least recently used.
  order: BTreeMap<u64, String>,
  bytes: u64,
  tick: u64,
}

impl Index {
  fn touch(&mut self, name: &str) {
    self.tick += 1;
    let tick = self.tick;
    if let Some(slot) = self.files.get_mut(name) {
      self.order.remove(&slot.tick);
      slot.tick = tick;
      self.order.insert(tick, name.to_owned());
    }
  }

  fn insert(&mut self, name: String, size: u64) {
    self.remove(&name);
    self.tick += 1;
    self.order.insert(self.tick, name.clone());
    self.files.insert(
      name,
      Slot {
        size,
        tick: self.tick,
      },
    );
    self.bytes += size;
  }

  fn remove(&mut self, name: &str) -> bool {
    match self.files.remove(name) {
      Some(slot) => {
        self.order.remove(&slot.tick);
        self.bytes -= slot.size;
        true
      }
      None => false,
    }
  }

  fn pop_oldest(&mut self) -> Option<String> {
    let (_, name) = self.order.pop_first()?;
    if let Some(slot) = self.files.remove(&name) {
      self.bytes -= slot.size;
    }
    Some(name)
  }
}

pub struct DiskTier {
  root: PathBuf,
  max_bytes: u64,
  writable: AtomicBool,
  read_only_reason: Mutex<Option<String>>,
  index: Mutex<Index>,
  tmp_seq: AtomicU64,
  hits: AtomicU64,
  misses: AtomicU64,
  writes: AtomicU64,
  evictions: AtomicU64,
  corrupt: AtomicU64,
}

impl DiskTier {
  /// Opens (and, when writable, creates) the root, indexes the entry files found there (oldest
  /// modification first) and removes left-over temporary files. Never fails: a root that cannot
  /// be created or written makes a read-only tier, with the reason kept.
  pub fn open(config: DiskConfig) -> DiskTier {
    let tier = DiskTier {
      root: config.root,
      max_bytes: config.max_bytes,
      writable: AtomicBool::new(config.writable),
      read_only_reason: Mutex::new((!config.writable).then(|| "configured read-only".to_owned())),
      index: Mutex::new(Index::default()),
      tmp_seq: AtomicU64::new(0),
      hits: AtomicU64::new(0),
      misses: AtomicU64::new(0),
      writes: AtomicU64::new(0),
      evictions: AtomicU64::new(0),
      corrupt: AtomicU64::new(0),
    };
    if config.writable {
      if let Err(e) = tier.probe() {
        tier.make_read_only(&e);
      }
    }
    tier.scan();
    tier
  }

  fn probe(&self) -> Result<(), DiskError> {
    fs::create_dir_all(&self.root).map_err(|source| DiskError {
      path: self.root.clone(),
      source,
    })?;
    let path = self.tmp_path();
    let result = fs::write(&path, b"probe").map_err(|source| DiskError {
      path: path.clone(),
      source,
    });
    let _ = fs::remove_file(&path);
    result
  }

  fn scan(&self) {
    let Ok(dirs) = fs::read_dir(&self.root) else {
      return;
    };
    let mut found: Vec<(SystemTime, String, u64)> = Vec::new();
    let now = SystemTime::now();
    for dir in dirs.flatten() {
      let name = dir.file_name();
      let name = name.to_string_lossy();
      if name.starts_with(".tmp-") {
        self.remove_if_stale(&dir.path(), now);
        continue;
      }
      if name.len() != 2 || !dir.file_type().is_ok_and(|t| t.is_dir()) {
        continue;
      }
      let Ok(files) = fs::read_dir(dir.path()) else {
        continue;
      };
      for file in files.flatten() {
        let file_name = file.file_name().to_string_lossy().into_owned();
        let Ok(md) = file.metadata() else { continue };
        if !md.is_file() || file_name.len() != 62 {
          continue;
        }
        let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        found.push((mtime, format!("{name}{file_name}"), md.len()));
      }
    }
    found.sort();
    let mut index = self.index.lock().unwrap();
    for (_, name, size) in found {
      index.insert(name, size);
    }
    drop(index);
    self.evict_over_budget();
  }

  fn remove_if_stale(&self, path: &Path, now: SystemTime) {
    let old = fs::metadata(path)
      .and_then(|m| m.modified())
      .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > STALE_TMP);
    if old && self.writable.load(Relaxed) {
      let _ = fs::remove_file(path);
    }
  }

  /// Why the tier does not write, if it does not.
  pub fn read_only_reason(&self) -> Option<String> {
    self.read_only_reason.lock().unwrap().clone()
  }

  pub fn is_writable(&self) -> bool {
    self.writable.load(Relaxed)
  }

  fn make_read_only(&self, e: &DiskError) {
    self.writable.store(false, Relaxed);
    let mut reason = self.read_only_reason.lock().unwrap();
    reason.get_or_insert_with(|| e.to_string());
  }

  /// The file name of a key: SHA-256 in hex, the first two digits as a directory.
  fn name_of(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    let mut hex = String::with_capacity(64);
    for b in digest {
      hex.push_str(&format!("{b:02x}"));
    }
    hex
  }

  fn path_of(&self, name: &str) -> PathBuf {
    self.root.join(&name[..2]).join(&name[2..])
  }

  fn tmp_path(&self) -> PathBuf {
    let seq = self.tmp_seq.fetch_add(1, Relaxed);
    self.root.join(format!(".tmp-{}-{seq}", std::process::id()))
  }

  /// The entry under `key`, unless absent, expired at `now_ms`, or unreadable (then removed and
  /// counted as corrupt).
  pub fn get(&self, key: &[u8], now_ms: u64) -> Option<DiskEntry> {
    let name = Self::name_of(key);
    let path = self.path_of(&name);
    let bytes = match fs::read(&path) {
      Ok(b) => b,
      Err(_) => {
        self.misses.fetch_add(1, Relaxed);
        self.index.lock().unwrap().remove(&name);
        return None;
      }
    };
    match decode_file(&bytes, key) {
      Some(entry) if entry.meta.expire_at_ms.is_some_and(|t| t <= now_ms) => {
        self.misses.fetch_add(1, Relaxed);
        self.remove(&name);
        None
      }
      Some(entry) => {
        self.hits.fetch_add(1, Relaxed);
        let mut index = self.index.lock().unwrap();
        if index.files.contains_key(&name) {
          index.touch(&name);
        } else {
          // Written by another process on the same root since we opened it.
          index.insert(name, bytes.len() as u64);
        }
        Some(entry)
      }
      None => {
        self.misses.fetch_add(1, Relaxed);
        self.corrupt.fetch_add(1, Relaxed);
        self.remove(&name);
        None
      }
    }
  }

  fn remove(&self, name: &str) {
    self.index.lock().unwrap().remove(name);
    if self.writable.load(Relaxed) {
      let _ = fs::remove_file(self.path_of(name));
    }
  }

  /// Writes `value` under `key` (replacing any previous file atomically), LZ4-compressed when
  /// that saves at least 1/16, then evicts least recently used files until within budget.
  pub fn put(&self, key: &[u8], value: &[u8], meta: &EntryMeta) -> Result<PutOutcome, DiskError> {
    if !self.writable.load(Relaxed) {
      return Ok(PutOutcome::ReadOnly);
    }
    let file = encode_file(key, value, meta);
    if file.len() as u64 > self.max_bytes {
      return Ok(PutOutcome::TooLarge);
    }
    let name = Self::name_of(key);
    let path = self.path_of(&name);
    if let Err(e) = self.write_atomic(&path, &file) {
      self.make_read_only(&e);
      return Err(e);
    }
    self.writes.fetch_add(1, Relaxed);
    self.index.lock().unwrap().insert(name, file.len() as u64);
    Ok(PutOutcome::Stored {
      evicted: self.evict_over_budget(),
    })
  }

  fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), DiskError> {
    let err = |path: &Path| {
      let path = path.to_path_buf();
      move |source| DiskError { path, source }
    };
    let dir = path.parent().expect("entry paths have a directory");
    fs::create_dir_all(dir).map_err(err(dir))?;
    let tmp = self.tmp_path();
    let written = fs::File::create(&tmp)
      .and_then(|mut f| f.write_all(bytes))
      .and_then(|()| fs::rename(&tmp, path));
    if let Err(source) = written {
      let _ = fs::remove_file(&tmp);
      return Err(DiskError {
        path: path.to_path_buf(),
        source,
      });
    }
    Ok(())
  }

  fn evict_over_budget(&self) -> u64 {
    let mut evicted = 0;
    loop {
      let name = {
        let mut index = self.index.lock().unwrap();
        if index.bytes <= self.max_bytes {
          break;
        }
        index.pop_oldest()
      };
      let Some(name) = name else { break };
      if self.writable.load(Relaxed) {
        let _ = fs::remove_file(self.path_of(&name));
      }
      evicted += 1;
    }
    self.evictions.fetch_add(evicted, Relaxed);
    evicted
  }

  /// Removes the entry under `key`; true if this process knew of it.
  pub fn delete(&self, key: &[u8]) -> bool {
    let name = Self::name_of(key);
    let known = self.index.lock().unwrap().remove(&name);
    if self.writable.load(Relaxed) {
      let _ = fs::remove_file(self.path_of(&name));
    }
    known
  }

  /// Appends tag records (as the manifest holds them after a revalidation) to the tag log.
  /// One line per tag, written with one `write` in append mode.
  pub fn record_tags(&self, states: &[(&str, TagState)]) -> Result<(), DiskError> {
    if !self.writable.load(Relaxed) || states.is_empty() {
      return Ok(());
    }
    let mut text = String::new();
    for (tag, s) in states {
      let line = serde_json::json!([tag, s.stale_at_ms, s.expired_at_ms]);
      text.push_str(&line.to_string());
      text.push('\n');
    }
    let path = self.root.join(TAGS_LOG);
    let written = fs::OpenOptions::new()
      .create(true)
      .append(true)
      .open(&path)
      .and_then(|mut f| f.write_all(text.as_bytes()));
    written.map_err(|source| {
      let e = DiskError { path, source };
      self.make_read_only(&e);
      e
    })
  }

  /// Every tag record in the log, merged per tag with [`TagState::merge`] at `now_ms`. Lines
  /// that do not parse (a write torn by a crash) are skipped. When the log holds more than
  /// twice as many lines as tags, it is rewritten with one line per tag.
  pub fn load_tags(&self, now_ms: u64) -> Vec<(String, TagState)> {
    let path = self.root.join(TAGS_LOG);
    let Ok(text) = fs::read_to_string(&path) else {
      return Vec::new();
    };
    let mut merged: BTreeMap<String, TagState> = BTreeMap::new();
    let mut lines = 0usize;
    for line in text.lines() {
      lines += 1;
      let Ok((tag, stale, expired)) =
        serde_json::from_str::<(String, Option<u64>, Option<u64>)>(line)
      else {
        continue;
      };
      let state = TagState {
        stale_at_ms: stale,
        expired_at_ms: expired,
      };
      match merged.get_mut(&tag) {
        Some(cur) => cur.merge(state, now_ms),
        None => {
          merged.insert(tag, state);
        }
      }
    }
    let states: Vec<(String, TagState)> = merged.into_iter().collect();
    if lines > 2 * states.len().max(8) && self.writable.load(Relaxed) {
      let mut text = String::new();
      for (tag, s) in &states {
        text.push_str(&serde_json::json!([tag, s.stale_at_ms, s.expired_at_ms]).to_string());
        text.push('\n');
      }
      if let Err(e) = self.write_atomic(&path, text.as_bytes()) {
        self.make_read_only(&e);
      }
    }
    states
  }

  pub fn stats(&self) -> DiskStats {
    let index = self.index.lock().unwrap();
    DiskStats {
      hits: self.hits.load(Relaxed),
      misses: self.misses.load(Relaxed),
      writes: self.writes.load(Relaxed),
      evictions: self.evictions.load(Relaxed),
      corrupt: self.corrupt.load(Relaxed),
      bytes: index.bytes,
      files: index.files.len() as u64,
      max_bytes: self.max_bytes,
    }
  }
}

// File layout (little endian):
//   "NNCE" | version u8 | flags u8 | 0u16 | header_len u32
//   header: last_modified u64 | expire_at u64 (u64::MAX: none) | key_len u32 | key
//           | tag_count u32 | (tag_len u32 | tag)* | raw_len u64
//   value (LZ4 block when flags & FLAG_LZ4)
//   crc32 u32 of everything before it

fn encode_file(key: &[u8], value: &[u8], meta: &EntryMeta) -> Vec<u8> {
  let packed = (value.len() >= 1024)
    .then(|| lz4_flex::block::compress(value))
    .filter(|p| p.len() <= value.len() - value.len() / 16);
  let (flags, body) = match &packed {
    Some(p) => (FLAG_LZ4, p.as_slice()),
    None => (0, value),
  };
  let mut header = Vec::with_capacity(32 + key.len());
  header.extend_from_slice(&meta.last_modified_ms.to_le_bytes());
  header.extend_from_slice(&meta.expire_at_ms.unwrap_or(u64::MAX).to_le_bytes());
  header.extend_from_slice(&(key.len() as u32).to_le_bytes());
  header.extend_from_slice(key);
  header.extend_from_slice(&(meta.tags.len() as u32).to_le_bytes());
  for tag in &meta.tags {
    header.extend_from_slice(&(tag.len() as u32).to_le_bytes());
    header.extend_from_slice(tag.as_bytes());
  }
  header.extend_from_slice(&(value.len() as u64).to_le_bytes());
  let mut out = Vec::with_capacity(PREFIX_LEN + header.len() + body.len() + 4);
  out.extend_from_slice(MAGIC);
  out.push(VERSION);
  out.push(flags);
  out.extend_from_slice(&[0, 0]);
  out.extend_from_slice(&(header.len() as u32).to_le_bytes());
  out.extend_from_slice(&header);
  out.extend_from_slice(body);
  let crc = crc32fast::hash(&out);
  out.extend_from_slice(&crc.to_le_bytes());
  out
}

/// A little-endian reader that fails instead of panicking on short input.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
  fn take(&mut self, n: usize) -> Option<&'a [u8]> {
    if self.0.len() < n {
      return None;
    }
    let (head, tail) = self.0.split_at(n);
    self.0 = tail;
    Some(head)
  }
  fn u32(&mut self) -> Option<u32> {
    Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
  }
  fn u64(&mut self) -> Option<u64> {
    Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
  }
}

/// The entry in `bytes` if it is whole, ours, and stored under `key`.
fn decode_file(bytes: &[u8], key: &[u8]) -> Option<DiskEntry> {
  let (content, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
  if crc32fast::hash(content).to_le_bytes() != crc {
    return None;
  }
  let mut c = Cursor(content);
  if c.take(4)? != MAGIC || c.take(1)?[0] != VERSION {
    return None;
  }
  let flags = c.take(1)?[0];
  c.take(2)?;
  let header_len = c.u32()? as usize;
  let mut h = Cursor(c.take(header_len)?);
  let last_modified_ms = h.u64()?;
  let expire_at_ms = Some(h.u64()?).filter(|&t| t != u64::MAX);
  let key_len = h.u32()? as usize;
  if h.take(key_len)? != key {
    return None;
  }
  let tag_count = h.u32()? as usize;
  let mut tags = Vec::with_capacity(tag_count.min(1024));
  for _ in 0..tag_count {
    let len = h.u32()? as usize;
    tags.push(String::from_utf8(h.take(len)?.to_vec()).ok()?);
  }
  let raw_len = h.u64()? as usize;
  let body = c.0;
  let value = if flags & FLAG_LZ4 != 0 {
    // The CRC matched, so raw_len is what we wrote; still never trust it beyond LZ4's bound.
    if raw_len > body.len().saturating_mul(255) {
      return None;
    }
    lz4_flex::block::decompress(body, raw_len).ok()?
  } else {
    body.to_vec()
  };
  (value.len() == raw_len).then_some(DiskEntry {
    value,
    meta: EntryMeta {
      tags,
      last_modified_ms,
      expire_at_ms,
    },
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  fn tier(dir: &Path, max: u64) -> DiskTier {
    DiskTier::open(DiskConfig {
      root: dir.to_path_buf(),
      max_bytes: max,
      writable: true,
    })
  }

  fn meta(t: u64) -> EntryMeta {
    EntryMeta {
      tags: vec!["a".into(), "_N_T_/x".into()],
      last_modified_ms: t,
      expire_at_ms: None,
    }
  }

  #[test]
  fn round_trips_small_and_compressible_values() {
    let dir = tempfile::tempdir().unwrap();
    let t = tier(dir.path(), 1 << 20);
    let big = "<p>hello</p>".repeat(1000).into_bytes();
    t.put(b"k1", b"tiny", &meta(5)).unwrap();
    t.put(b"k2", &big, &meta(6)).unwrap();
    assert_eq!(t.get(b"k1", 10).unwrap().value, b"tiny");
    let e = t.get(b"k2", 10).unwrap();
    assert_eq!(e.value, big);
    assert_eq!(e.meta, meta(6));
    assert!(t.stats().bytes < big.len() as u64 / 4, "compressed on disk");
  }

  #[test]
  fn survives_reopen_and_keeps_budget_by_recency() {
    let dir = tempfile::tempdir().unwrap();
    {
      let t = tier(dir.path(), 1 << 20);
      for i in 0..10u8 {
        t.put(&[i], &[i; 100], &meta(i as u64)).unwrap();
        // Recency across a reopen comes from mtimes; file systems may give writes in one
        // clock tick the same one, so spell them out.
        let path = t.path_of(&DiskTier::name_of(&[i]));
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + i as u64);
        fs::File::options()
          .write(true)
          .open(path)
          .unwrap()
          .set_modified(when)
          .unwrap();
      }
    }
    let one = tier(dir.path(), 1 << 20).stats().bytes / 10;
    let t = tier(dir.path(), one * 4);
    assert_eq!(t.stats().files, 4);
    assert!(t.stats().bytes <= one * 4);
    // The newest files survive the reopen with a smaller budget.
    assert_eq!(t.get(&[9], 0).unwrap().value, vec![9; 100]);
    assert!(t.get(&[0], 0).is_none());
    // Recency: read 6, write one more; 7 (now the oldest) goes, 6 stays.
    t.get(&[6], 0).unwrap();
    t.put(&[20], &[1; 100], &meta(1)).unwrap();
    assert!(t.get(&[6], 0).is_some());
    assert!(t.get(&[7], 0).is_none());
  }

  #[test]
  fn corrupt_truncated_and_foreign_files_are_misses_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let t = tier(dir.path(), 1 << 20);
    for (i, damage) in ["flip", "truncate", "empty", "foreign"].iter().enumerate() {
      let key = [b'c', i as u8];
      t.put(&key, &[7; 3000], &meta(1)).unwrap();
      let path = t.path_of(&DiskTier::name_of(&key));
      let mut bytes = fs::read(&path).unwrap();
      match *damage {
        "flip" => bytes[40] ^= 0x10,
        "truncate" => bytes.truncate(bytes.len() / 2),
        "empty" => bytes.clear(),
        _ => bytes = b"<html>not a cache entry</html>".to_vec(),
      }
      fs::write(&path, bytes).unwrap();
      assert!(t.get(&key, 0).is_none(), "{damage}");
      assert!(!path.exists(), "{damage}: removed");
    }
    assert_eq!(t.stats().corrupt, 4);
    // A file stored under another key's name (a copy) is not served for this key.
    t.put(b"x", b"value of x", &meta(1)).unwrap();
    let from = t.path_of(&DiskTier::name_of(b"x"));
    let to = t.path_of(&DiskTier::name_of(b"y"));
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap();
    assert!(t.get(b"y", 0).is_none());
  }

  #[test]
  fn expired_entries_are_misses() {
    let dir = tempfile::tempdir().unwrap();
    let t = tier(dir.path(), 1 << 20);
    let mut m = meta(1);
    m.expire_at_ms = Some(100);
    t.put(b"k", b"v", &m).unwrap();
    assert!(t.get(b"k", 99).is_some());
    assert!(t.get(b"k", 100).is_none());
    assert!(t.get(b"k", 0).is_none(), "removed once expired");
  }

  #[test]
  fn read_only_tiers_read_but_never_write() {
    let dir = tempfile::tempdir().unwrap();
    tier(dir.path(), 1 << 20).put(b"k", b"v", &meta(1)).unwrap();
    let ro = DiskTier::open(DiskConfig {
      root: dir.path().to_path_buf(),
      max_bytes: 1 << 20,
      writable: false,
    });
    assert_eq!(ro.get(b"k", 0).unwrap().value, b"v");
    assert_eq!(ro.put(b"k2", b"v", &meta(1)).unwrap(), PutOutcome::ReadOnly);
    assert!(ro.read_only_reason().is_some());
  }

  #[test]
  #[cfg(unix)]
  fn an_unwritable_root_degrades_to_read_only_with_a_reason() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    fs::create_dir(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o555)).unwrap();
    let t = tier(&root, 1 << 20);
    // root ignores permissions; only check where they apply.
    if fs::write(root.join("x"), b"").is_err() {
      assert!(!t.is_writable());
      assert!(t.read_only_reason().unwrap().contains("cache"));
      assert_eq!(t.put(b"k", b"v", &meta(1)).unwrap(), PutOutcome::ReadOnly);
    }
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).unwrap();
  }

  #[test]
  fn tag_log_merges_and_compacts() {
    let dir = tempfile::tempdir().unwrap();
    let t = tier(dir.path(), 1 << 20);
    let s = |stale, expired| TagState {
      stale_at_ms: stale,
      expired_at_ms: expired,
    };
    for i in 0..40 {
      t.record_tags(&[("a", s(Some(i), None)), ("b", s(None, Some(100)))])
        .unwrap();
    }
    // A torn last line is skipped.
    fs::OpenOptions::new()
      .append(true)
      .open(dir.path().join(TAGS_LOG))
      .unwrap()
      .write_all(b"[\"c\", 5")
      .unwrap();
    let loaded = tier(dir.path(), 1 << 20).load_tags(50);
    assert_eq!(
      loaded,
      vec![
        ("a".into(), s(Some(39), None)),
        ("b".into(), s(None, Some(100)))
      ]
    );
    let lines = fs::read_to_string(dir.path().join(TAGS_LOG)).unwrap();
    assert_eq!(lines.lines().count(), 2, "compacted");
  }
}
