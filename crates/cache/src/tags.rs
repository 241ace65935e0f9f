//! The tag manifest: tag → `{ stale, expired }` timestamps, with Next 16.4.6's predicates
//! (`dist/server/lib/incremental-cache/tags-manifest.external.js`) and `updateTags` writes
//! (`dist/server/lib/cache-handlers/default.js`).

use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One tag's invalidation timestamps (ms since the epoch), Next 16's manifest value
/// `{ stale?: number, expired?: number }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TagState {
  /// Entries written before this are served stale-while-revalidate.
  pub stale_at_ms: Option<u64>,
  /// Entries written before this are expired once `now >= expired_at_ms`.
  pub expired_at_ms: Option<u64>,
}

impl TagState {
  /// Next 16.4.6 `areTagsExpired`: `expired <= now && expired > lastModified`.
  #[inline]
  pub fn expires(&self, last_modified_ms: u64, now_ms: u64) -> bool {
    matches!(self.expired_at_ms, Some(e) if e <= now_ms && e > last_modified_ms)
  }

  /// Next 16.4.6 `areTagsStale`: `(stale ?? 0) > lastModified`.
  #[inline]
  pub fn stales(&self, last_modified_ms: u64) -> bool {
    matches!(self.stale_at_ms, Some(s) if s > last_modified_ms)
  }

  /// Merges a state learnt from elsewhere (another instance via the Redis tier) into this one.
  ///
  /// `stale` keeps the max. `expired` keeps the max too, except that an expiry already in force
  /// (`<= now`) beats one still in the future: otherwise an `updateTag(tag)` (expired = its now)
  /// made on instance B after a `revalidateTag(tag, 'max')` (expired = now + 1 year) seen on A would
  /// be dropped on A, and A would keep serving the pre-update entry as fresh.
  pub fn merge(&mut self, other: TagState, now_ms: u64) {
    self.stale_at_ms = self.stale_at_ms.max(other.stale_at_ms);
    self.expired_at_ms = match (self.expired_at_ms, other.expired_at_ms) {
      (Some(a), Some(b)) => Some(match (a <= now_ms, b <= now_ms) {
        (true, false) => a,
        (false, true) => b,
        _ => a.max(b),
      }),
      (a, b) => a.or(b),
    };
  }
}

type Shard = HashMap<Box<str>, TagState>;

/// Sharded so that lookups on the read path only take a shard's read lock, never a global one.
pub(crate) struct TagManifest {
  shards: Box<[RwLock<Shard>]>,
  hasher: RandomState,
  len: AtomicUsize,
}

const MANIFEST_SHARDS: usize = 16;

impl TagManifest {
  pub(crate) fn new() -> Self {
    TagManifest {
      shards: (0..MANIFEST_SHARDS)
        .map(|_| RwLock::new(HashMap::new()))
        .collect(),
      hasher: RandomState::new(),
      len: AtomicUsize::new(0),
    }
  }

  pub(crate) fn len(&self) -> usize {
    self.len.load(Ordering::Relaxed)
  }

  fn shard(&self, tag: &str) -> usize {
    (self.hasher.hash_one(tag) as usize) % MANIFEST_SHARDS
  }

  // A panic while holding a manifest lock can only come from an allocation failure; the map is
  // still consistent then, so poisoning is ignored rather than turned into more panics.
  fn read(&self, i: usize) -> RwLockReadGuard<'_, Shard> {
    self.shards[i].read().unwrap_or_else(|e| e.into_inner())
  }

  fn write(&self, i: usize) -> RwLockWriteGuard<'_, Shard> {
    self.shards[i].write().unwrap_or_else(|e| e.into_inner())
  }

  pub(crate) fn get(&self, tag: &str) -> Option<TagState> {
    if self.len() == 0 {
      return None;
    }
    self.read(self.shard(tag)).get(tag).copied()
  }

  fn update(&self, tag: &str, f: impl FnOnce(&mut TagState)) {
    let mut shard = self.write(self.shard(tag));
    match shard.get_mut(tag) {
      Some(state) => f(state),
      None => {
        let mut state = TagState::default();
        f(&mut state);
        shard.insert(tag.into(), state);
        self.len.fetch_add(1, Ordering::Relaxed);
      }
    }
  }

  /// Next 16.4.6 `updateTags(tags, durations)`, field for field: without durations only
  /// `expired = now` is written (an earlier `stale` is kept); with durations `stale = now` and
  /// `expired = now + expire * 1000`.
  pub(crate) fn revalidate(&self, tags: &[&str], now_ms: u64, expire_secs: Option<u64>) {
    for tag in tags {
      self.update(tag, |state| match expire_secs {
        None => state.expired_at_ms = Some(now_ms),
        Some(secs) => {
          state.stale_at_ms = Some(now_ms);
          state.expired_at_ms = Some(now_ms.saturating_add(secs.saturating_mul(1000)));
        }
      });
    }
  }

  pub(crate) fn apply(&self, states: &[(&str, TagState)], now_ms: u64) {
    for (tag, incoming) in states {
      self.update(tag, |state| state.merge(*incoming, now_ms));
    }
  }

  pub(crate) fn clear(&self) {
    for i in 0..MANIFEST_SHARDS {
      let mut shard = self.write(i);
      self.len.fetch_sub(shard.len(), Ordering::Relaxed);
      shard.clear();
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn immediate_keeps_earlier_stale() {
    let m = TagManifest::new();
    m.revalidate(&["a"], 100, Some(60));
    m.revalidate(&["a"], 200, None);
    assert_eq!(
      m.get("a"),
      Some(TagState {
        stale_at_ms: Some(100),
        expired_at_ms: Some(200)
      })
    );
  }

  #[test]
  fn profile_overwrites_expiry_like_next() {
    let m = TagManifest::new();
    m.revalidate(&["a"], 100, None);
    m.revalidate(&["a"], 200, Some(1));
    assert_eq!(
      m.get("a"),
      Some(TagState {
        stale_at_ms: Some(200),
        expired_at_ms: Some(1200)
      })
    );
  }

  #[test]
  fn predicates_match_next() {
    let s = TagState {
      stale_at_ms: Some(100),
      expired_at_ms: Some(200),
    };
    assert!(s.stales(99));
    assert!(!s.stales(100));
    assert!(!s.expires(150, 199));
    assert!(s.expires(150, 200));
    assert!(!s.expires(200, 300));
  }

  #[test]
  fn merge_prefers_expiry_in_force() {
    let mut local = TagState {
      stale_at_ms: Some(10),
      expired_at_ms: Some(10 + 31_536_000_000),
    };
    local.merge(
      TagState {
        stale_at_ms: Some(10),
        expired_at_ms: Some(20),
      },
      25,
    );
    assert_eq!(local.expired_at_ms, Some(20));
    let mut a = TagState {
      stale_at_ms: None,
      expired_at_ms: Some(5),
    };
    a.merge(
      TagState {
        stale_at_ms: Some(7),
        expired_at_ms: Some(9),
      },
      30,
    );
    assert_eq!(
      a,
      TagState {
        stale_at_ms: Some(7),
        expired_at_ms: Some(9)
      }
    );
  }

  #[test]
  fn clear_resets_len() {
    let m = TagManifest::new();
    m.revalidate(&["a", "b", "a"], 1, None);
    assert_eq!(m.len(), 2);
    m.clear();
    assert_eq!(m.len(), 0);
    assert_eq!(m.get("a"), None);
  }
}
