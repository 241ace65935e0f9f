//! Fuzz bodies for `next_native_cache`, shared by fuzz/fuzz_targets/cache_*.rs and the stable
//! replay test (crates/cache/tests/fuzz_corpus.rs). Public API only.
//!
//! * [`cache_store`]: a sequence of set/get/delete/revalidate/apply/sweep/clear operations and
//!   clock advances on a small [`Store`], checked after every step against a model: the store
//!   is never over budget; a get returns the last value set (with its metadata) or nothing,
//!   and nothing only when the model allows it (never set, deleted, expired, or possibly
//!   evicted); freshness is exactly what the tag manifest implies, so an entry behind a
//!   revalidated tag is never served fresh.
//! * [`cache_disk`]: arbitrary bytes as a disk-tier entry file read by [`DiskTier::get`], and as
//!   its tag log read by [`DiskTier::load_tags`].

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use next_native_cache::{
  entry_charge, CacheConfig, Compression, DiskConfig, DiskTier, EntryMeta, Freshness, SetOutcome,
  Store, TagState,
};

/// Reads the fuzz input; past its end every read gives `None` and the run stops.
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
  pub fn u8(&mut self) -> Option<u8> {
    let (&b, rest) = self.0.split_first()?;
    self.0 = rest;
    Some(b)
  }

  pub fn u16(&mut self) -> Option<u16> {
    Some(u16::from_le_bytes([self.u8()?, self.u8()?]))
  }
}

const TAGS: [&str; 6] = ["a", "b", "posts", "_N_T_/", "_N_T_/blog/[slug]", ""];
const KEYS: usize = 6;
const START_MS: u64 = 1_700_000_000_000;

fn key_of(i: u8) -> Vec<u8> {
  // Different lengths, so charges differ; one long key.
  let i = usize::from(i) % KEYS;
  let mut key = format!("/k{i}").into_bytes();
  if i == KEYS - 1 {
    key.resize(300, b'x');
  }
  key
}

fn tags_of(mask: u8) -> Vec<&'static str> {
  TAGS
    .iter()
    .enumerate()
    .filter(|(i, _)| mask >> i & 1 != 0)
    .map(|(_, t)| *t)
    .collect()
}

fn value_of(len: u16, seed: u8) -> Vec<u8> {
  let len = usize::from(len) % 4096;
  if seed & 1 == 0 {
    // Compressible.
    (0..len).map(|i| b"<div>hello</div>"[i % 16]).collect()
  } else {
    let mut x = u32::from(seed) | 0x9E37_0000;
    (0..len)
      .map(|_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x as u8
      })
      .collect()
  }
}

struct ModelEntry {
  value: Vec<u8>,
  meta: EntryMeta,
  /// An eviction happened since it was set: the store may have dropped it.
  maybe_gone: bool,
}

#[derive(Debug, PartialEq)]
enum Expect {
  Dead,
  ExpiredForCaller,
  Live(Freshness),
}

struct Model {
  entries: HashMap<Vec<u8>, ModelEntry>,
  tags: HashMap<String, TagState>,
  now: u64,
  next_sweep: u64,
  sweep_interval: u64,
}

impl Model {
  /// Next 16.4.6's rules, written out again: TTL; `expired <= now && expired > lastModified`
  /// (own tag: dead for all, caller's tag: a miss for this caller); `stale > lastModified`.
  fn judge(&self, e: &ModelEntry, extra: &[&str]) -> Expect {
    if e.meta.expire_at_ms.is_some_and(|t| self.now >= t) {
      return Expect::Dead;
    }
    let lm = e.meta.last_modified_ms;
    let expired = |t: &str| {
      self
        .tags
        .get(t)
        .and_then(|s| s.expired_at_ms)
        .is_some_and(|x| x <= self.now && x > lm)
    };
    let stale = |t: &str| {
      self
        .tags
        .get(t)
        .and_then(|s| s.stale_at_ms)
        .is_some_and(|x| x > lm)
    };
    if e.meta.tags.iter().any(|t| expired(t)) {
      return Expect::Dead;
    }
    if extra.iter().any(|t| expired(t)) {
      return Expect::ExpiredForCaller;
    }
    let any_stale = e.meta.tags.iter().any(|t| stale(t)) || extra.iter().any(|t| stale(t));
    Expect::Live(if any_stale {
      Freshness::Stale
    } else {
      Freshness::Fresh
    })
  }

  /// Removes what a sweep at `now` removes; returns (certainly removed, possibly removed).
  fn sweep(&mut self) -> (u64, u64) {
    let dead: Vec<(Vec<u8>, bool)> = self
      .entries
      .iter()
      .filter(|(_, e)| self.judge(e, &[]) == Expect::Dead)
      .map(|(k, e)| (k.clone(), e.maybe_gone))
      .collect();
    let mut sure = 0;
    for (k, maybe) in &dead {
      sure += u64::from(!maybe);
      self.entries.remove(k);
    }
    (sure, dead.len() as u64 - sure)
  }

  /// The store's opportunistic sweep before a get or set.
  fn maybe_sweep(&mut self) {
    if self.now >= self.next_sweep {
      self.next_sweep = self.now.saturating_add(self.sweep_interval);
      self.sweep();
    }
  }
}

pub fn cache_store(data: &[u8]) {
  let mut input = Input(data);
  let (Some(budget), Some(flags), Some(interval)) = (input.u16(), input.u8(), input.u8()) else {
    return;
  };
  let compression = match flags & 3 {
    0 => Compression::None,
    n => Compression::Lz4 {
      min_bytes: [0, 64, 1024][usize::from(n) - 1],
    },
  };
  let config = CacheConfig {
    max_bytes: 600 + u64::from(budget) % 20_000,
    compression,
    shards: 1 << (flags >> 2 & 3),
    estimated_entry_bytes: [16 << 10, 512, 1, 100_000][usize::from(flags >> 4 & 3)],
    sweep_interval_ms: u64::from(interval) * 50,
  };
  let store = Store::new(config.clone());
  let mut m = Model {
    entries: HashMap::new(),
    tags: HashMap::new(),
    now: START_MS,
    next_sweep: 0,
    sweep_interval: config.sweep_interval_ms,
  };
  assert!(store.capacity() <= config.max_bytes);

  while let Some(op) = input.u8() {
    match op % 10 {
      // set
      0 | 1 => {
        let (Some(k), Some(len), Some(seed), Some(mask), Some(lm), Some(ttl)) = (
          input.u8(),
          input.u16(),
          input.u8(),
          input.u8(),
          input.u8(),
          input.u8(),
        ) else {
          break;
        };
        let key = key_of(k);
        let value = value_of(len, seed);
        let meta = EntryMeta {
          tags: tags_of(mask).into_iter().map(String::from).collect(),
          // Usually produced a little before now; sometimes "in the future" (clock skew).
          last_modified_ms: if lm & 0x80 == 0 {
            m.now - u64::from(lm) * 10
          } else {
            m.now + u64::from(lm & 0x7F)
          },
          expire_at_ms: (ttl != 0).then(|| m.now + u64::from(ttl - 1) * 20),
        };
        m.maybe_sweep();
        let outcome = store.set(&key, value.clone(), meta.clone(), m.now);
        match outcome {
          SetOutcome::AlreadyExpired => {
            assert!(meta.expire_at_ms.is_some_and(|t| t <= m.now));
            m.entries.remove(&key);
          }
          SetOutcome::TooLarge { size, max } => {
            assert_eq!(max, store.max_entry_bytes());
            assert!(size > max, "{outcome:?}");
            if compression == Compression::None {
              assert_eq!(size, entry_charge(key.len(), value.len(), &meta.tags));
            }
            m.entries.remove(&key);
          }
          SetOutcome::Stored { evicted } => {
            assert!(meta.expire_at_ms.is_none_or(|t| t > m.now));
            let raw = entry_charge(key.len(), value.len(), &meta.tags);
            if compression == Compression::None {
              assert!(raw <= store.max_entry_bytes(), "stored {raw} > max");
            }
            if evicted > 0 {
              for e in m.entries.values_mut() {
                e.maybe_gone = true;
              }
            }
            m.entries.insert(
              key.clone(),
              ModelEntry {
                value,
                meta,
                maybe_gone: evicted > 0,
              },
            );
            if evicted == 0 {
              let charge = store.charge_of(&key).expect("just stored, nothing evicted");
              assert!(charge <= store.max_entry_bytes());
            }
          }
        }
      }
      // get
      2 | 3 => {
        let (Some(k), Some(mask)) = (input.u8(), input.u8()) else {
          break;
        };
        let key = key_of(k);
        let extra = tags_of(mask);
        m.maybe_sweep();
        let before = store.stats();
        let hit = store.get(&key, &extra, m.now);
        let after = store.stats();
        let expect = m
          .entries
          .get(&key)
          .map(|e| (m.judge(e, &extra), e.maybe_gone));
        match (&hit, expect) {
          (Some(hit), Some((Expect::Live(freshness), _))) => {
            let e = &m.entries[&key];
            assert_eq!(&*hit.value, &e.value[..], "get returns the last value set");
            assert_eq!(hit.meta(), e.meta);
            assert_eq!(hit.freshness, freshness);
            assert_eq!(after.hits, before.hits + 1);
            if hit.freshness == Freshness::Fresh {
              // Stated on its own: no tag of the entry or the caller was revalidated after
              // the entry was written.
              let lm = e.meta.last_modified_ms;
              for t in e
                .meta
                .tags
                .iter()
                .map(String::as_str)
                .chain(extra.iter().copied())
              {
                if let Some(s) = m.tags.get(t) {
                  assert!(
                    s.stale_at_ms.is_none_or(|x| x <= lm),
                    "fresh behind stale {t:?}"
                  );
                  assert!(
                    !s.expired_at_ms.is_some_and(|x| x > lm && x <= m.now),
                    "fresh behind expired {t:?}"
                  );
                }
              }
            }
          }
          (Some(_), other) => panic!("get returned a value, the model expected {other:?}"),
          (None, None) => {}
          (None, Some((Expect::Dead, _))) => {
            m.entries.remove(&key);
          }
          (None, Some((Expect::ExpiredForCaller, _))) => {}
          (None, Some((Expect::Live(_), maybe_gone))) => {
            assert!(maybe_gone, "a live entry that was never evicted is missing");
            m.entries.remove(&key);
          }
        }
        if hit.is_none() {
          assert_eq!(after.misses, before.misses + 1);
        }
      }
      // delete
      4 => {
        let Some(k) = input.u8() else { break };
        let key = key_of(k);
        let was = store.delete(&key);
        match m.entries.remove(&key) {
          None => assert!(!was, "deleted a key the model never had"),
          Some(e) if !e.maybe_gone => assert!(was, "delete missed a present key"),
          Some(_) => {}
        }
      }
      // revalidateTag(tags) / revalidateTag(tags, profile)
      5 => {
        let (Some(mask), Some(secs)) = (input.u8(), input.u8()) else {
          break;
        };
        let tags = tags_of(mask);
        let expire = (secs != 0).then(|| u64::from(secs - 1));
        store.revalidate_tags(&tags, m.now, expire);
        for t in tags {
          let s = m.tags.entry(t.to_owned()).or_default();
          match expire {
            None => s.expired_at_ms = Some(m.now),
            Some(secs) => {
              s.stale_at_ms = Some(m.now);
              s.expired_at_ms = Some(m.now + secs * 1000);
            }
          }
        }
      }
      // states from another instance (the Redis tier)
      6 => {
        let (Some(t), Some(stale), Some(expired)) = (input.u8(), input.u8(), input.u8()) else {
          break;
        };
        let tag = TAGS[usize::from(t) % TAGS.len()];
        let at = |b: u8| (b != 0).then(|| m.now - 1000 + u64::from(b) * 20);
        let state = TagState {
          stale_at_ms: at(stale),
          expired_at_ms: at(expired),
        };
        store.apply_tag_states(&[(tag, state)], m.now);
        m.tags
          .entry(tag.to_owned())
          .or_default()
          .merge(state, m.now);
      }
      // time passes
      7 => {
        let Some(ms) = input.u16() else { break };
        m.now += u64::from(ms);
      }
      // explicit sweep
      8 => {
        let removed = store.sweep(m.now);
        let (sure, maybe) = m.sweep();
        assert!(
          (sure..=sure + maybe).contains(&removed),
          "sweep removed {removed}, model {sure}+{maybe}"
        );
      }
      // clear entries, or forget every tag
      _ => {
        if input.u8().is_some_and(|b| b & 1 == 0) {
          store.clear();
          m.entries.clear();
          assert_eq!(store.len(), 0);
        } else {
          store.clear_tags();
          m.tags.clear();
        }
      }
    }

    // After every operation.
    assert!(store.bytes() <= store.capacity(), "over budget");
    let stats = store.stats();
    assert!(stats.bytes <= stats.capacity);
    assert!(store.len() <= m.entries.len() || m.entries.values().any(|e| e.maybe_gone));
    let states = store.tag_states(&TAGS);
    for (t, s) in TAGS.iter().zip(states) {
      assert_eq!(s, m.tags.get(*t).copied(), "tag {t:?}");
    }
    let max_expired = TAGS
      .iter()
      .filter_map(|t| m.tags.get(*t)?.expired_at_ms)
      .max()
      .unwrap_or(0);
    assert_eq!(store.expiration(&TAGS), max_expired);
  }
}

// ---------------------------------------------------------------------------------------
// The disk tier.

/// The key every fuzzed entry file is stored under.
pub const DISK_KEY: &[u8] = b"/blog/[slug]";
const TAGS_LOG: &str = "tags.log";

struct Disk {
  _dir: tempfile::TempDir,
  root: PathBuf,
  tier: DiskTier,
  /// Where the tier keeps `DISK_KEY`'s file (found after a real `put`, not computed).
  entry: PathBuf,
}

fn disk() -> &'static Mutex<Disk> {
  static DISK: OnceLock<Mutex<Disk>> = OnceLock::new();
  DISK.get_or_init(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("cache");
    let tier = DiskTier::open(DiskConfig {
      root: root.clone(),
      max_bytes: 1 << 30,
      writable: true,
    });
    tier
      .put(DISK_KEY, b"probe", &EntryMeta::default())
      .expect("writable temp dir");
    let entry = entry_files(&root)
      .into_iter()
      .next()
      .expect("put wrote one file");
    tier
      .record_tags(&[("probe", TagState::default())])
      .expect("writable temp dir");
    assert!(root.join(TAGS_LOG).is_file(), "the tag log is {TAGS_LOG}");
    Mutex::new(Disk {
      _dir: dir,
      root,
      tier,
      entry,
    })
  })
}

/// Entry files under a root: `<2 hex>/<62 hex>`.
fn entry_files(root: &std::path::Path) -> Vec<PathBuf> {
  let mut out = Vec::new();
  for dir in std::fs::read_dir(root).into_iter().flatten().flatten() {
    if dir.file_type().is_ok_and(|t| t.is_dir()) {
      for f in std::fs::read_dir(dir.path())
        .into_iter()
        .flatten()
        .flatten()
      {
        out.push(f.path());
      }
    }
  }
  out
}

/// `[mode][now] bytes…`. mode bit 0: `bytes` is an entry file with its CRC-32 trailer
/// replaced by the right one (so mutations get past the checksum); bit 1: `bytes` is the tag
/// log instead. `now` (× 1000 s) is the clock for expiry and tag merging.
pub fn cache_disk(data: &[u8]) {
  let [mode, now, bytes @ ..] = data else {
    return;
  };
  let now_ms = u64::from(*now) * 1_000_000;
  let disk = disk().lock().unwrap_or_else(|e| e.into_inner());
  if mode & 2 != 0 {
    std::fs::write(disk.root.join(TAGS_LOG), bytes).unwrap();
    let states = disk.tier.load_tags(now_ms);
    assert!(
      states.windows(2).all(|w| w[0].0 < w[1].0),
      "one state per tag, sorted"
    );
    // Loading again (after any compaction it did) gives the same states.
    assert_eq!(disk.tier.load_tags(now_ms), states, "tag log reload");
    return;
  }
  let file = if mode & 1 != 0 {
    let content = &bytes[..bytes.len().saturating_sub(4)];
    let mut file = content.to_vec();
    file.extend_from_slice(&crc32fast::hash(content).to_le_bytes());
    file
  } else {
    bytes.to_vec()
  };
  std::fs::create_dir_all(disk.entry.parent().unwrap()).unwrap();
  std::fs::write(&disk.entry, &file).unwrap();
  let Some(entry) = disk.tier.get(DISK_KEY, now_ms) else {
    return;
  };
  assert!(
    entry.meta.expire_at_ms.is_none_or(|t| t > now_ms),
    "expired entry served"
  );
  assert!(
    entry.value.len() <= file.len().saturating_mul(255),
    "value larger than LZ4 allows"
  );
  // What was read writes back and reads back the same.
  const OTHER: &[u8] = b"/other";
  disk.tier.put(OTHER, &entry.value, &entry.meta).unwrap();
  assert_eq!(disk.tier.get(OTHER, now_ms), Some(entry), "disk round trip");
  disk.tier.delete(OTHER);
}
