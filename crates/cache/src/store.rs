//! The byte-budgeted store: quick_cache S3-FIFO shards + TTL + tag freshness + stats.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, OptionsBuilder, Weighter};

use crate::codec::{self, Compression, Stored};
use crate::tags::{TagManifest, TagState};

/// Bytes charged per entry on top of key, value and tag bytes: the `Entry` record and its `Arc`
/// header, quick_cache's slot, hash-table index and ghost share, and malloc's per-allocation
/// headers for the four allocations an entry owns (key, value, tags, record). Checked against a
/// counting allocator in `tests/overhead.rs`, which fails if real heap use per small entry ever
/// exceeds the charge.
pub const ENTRY_OVERHEAD_BYTES: u64 = 320;

/// Bytes charged per tag on top of its UTF-8 length: tags are stored in one buffer, each behind
/// a 4-byte length prefix.
pub const TAG_OVERHEAD_BYTES: u64 = 4;

/// quick_cache's share of a shard reserved for the "hot" queue, its default. Also the factor in
/// the largest admissible entry (quick_cache never admits an item heavier than the hot target).
const HOT_ALLOCATION: f64 = 0.97;

/// Auto sharding keeps each shard at least this big, so that the largest admissible entry
/// (≈ 0.97 × budget / shards) stays far above a large APP_PAGE (~1 MB with segment data).
pub const MIN_AUTO_SHARD_BYTES: u64 = 16 << 20;

/// What a [`Store`] is built from.
#[derive(Debug, Clone)]
pub struct CacheConfig {
  /// The byte budget. The effective budget ([`Store::capacity`]) is this rounded down to a
  /// multiple of the shard count, so the sum of shard budgets never exceeds it.
  pub max_bytes: u64,
  pub compression: Compression,
  /// Number of shards (rounded up to a power of two); `0` picks
  /// `min(4 × cores, max_bytes / MIN_AUTO_SHARD_BYTES)`, at least 1. Each shard gets
  /// `capacity / shards` bytes, which bounds the largest entry ([`Store::max_entry_bytes`]).
  pub shards: usize,
  /// Expected mean charge of an entry. quick_cache sizes its ghost queue (recently evicted keys)
  /// and may merge shards (it wants ≥ 32 entries per shard) from `max_bytes / this`.
  pub estimated_entry_bytes: u64,
  /// An operation whose `now_ms` is at least this long after the previous sweep runs a sweep
  /// (removes TTL- and tag-expired entries). There is no background thread.
  pub sweep_interval_ms: u64,
}

impl CacheConfig {
  /// Defaults chosen from `examples/compression_density.rs` and `examples/policy_hit_rate.rs`.
  pub fn new(max_bytes: u64) -> Self {
    CacheConfig {
      max_bytes,
      compression: Compression::Lz4 { min_bytes: 1024 },
      shards: 0,
      estimated_entry_bytes: 16 << 10,
      sweep_interval_ms: 30_000,
    }
  }
}

/// Metadata stored with a value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EntryMeta {
  /// The entry's own tags: FETCH `set` ctx `tags`, the `x-next-cache-tags` header of
  /// APP_PAGE/APP_ROUTE/PAGES (implicit tags included), `'use cache'` `CacheEntry.tags`.
  pub tags: Vec<String>,
  /// When the value was produced (Next's `lastModified` / `CacheEntry.timestamp`), ms epoch.
  /// Tag invalidations are compared against this, not against the time of `set`.
  pub last_modified_ms: u64,
  /// Absolute hard expiry, ms epoch; the entry is a miss once `now_ms >= expire_at_ms`.
  pub expire_at_ms: Option<u64>,
}

/// Result of [`Store::set`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
  /// Stored; `evicted` other entries were evicted to make room.
  Stored { evicted: u64 },
  /// The entry's charge exceeds [`Store::max_entry_bytes`]; not stored, and any previous value
  /// under the key was removed (it is older than what the caller tried to write).
  TooLarge { size: u64, max: u64 },
  /// `expire_at_ms <= now_ms`: not stored (it could never be read), previous value removed.
  /// Mirrors Next 16.4's built-in handler skipping `expire === 0` entries.
  AlreadyExpired,
}

/// Freshness of a returned entry. Expired entries are never returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
  Fresh,
  /// A tag (own or caller-supplied) went stale after `last_modified_ms`: Next 16 serves it
  /// and revalidates in the background (`revalidateTag(tag, profile)`); 14/15 callers should
  /// treat it as a miss.
  Stale,
}

/// A cache hit.
#[derive(Clone)]
pub struct Hit {
  /// The value. Uncompressed entries: a clone of the stored `Arc` (no copy; the napi layer
  /// can hand JS an external buffer over it, the memory stays alive until JS drops it even if
  /// the entry is evicted). Compressed entries: a fresh allocation holding the decompressed bytes.
  pub value: Arc<[u8]>,
  pub freshness: Freshness,
  entry: Arc<Entry>,
}

impl Hit {
  pub fn last_modified_ms(&self) -> u64 {
    self.entry.last_modified_ms
  }

  pub fn expire_at_ms(&self) -> Option<u64> {
    self.entry.expire_at_ms
  }

  /// The entry's own tags, in the order given to `set`.
  pub fn tags(&self) -> impl Iterator<Item = &str> + '_ {
    self.entry.tags()
  }

  /// Allocating copy of the metadata.
  pub fn meta(&self) -> EntryMeta {
    EntryMeta {
      tags: self.tags().map(str::to_owned).collect(),
      last_modified_ms: self.entry.last_modified_ms,
      expire_at_ms: self.entry.expire_at_ms,
    }
  }

  /// Bytes this entry is charged against the budget.
  pub fn charge(&self) -> u64 {
    self.entry.charge
  }

  /// Whether the stored form is LZ4-compressed.
  pub fn is_compressed(&self) -> bool {
    self.entry.stored.raw_len.is_some()
  }
}

impl std::fmt::Debug for Hit {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("Hit")
      .field("len", &self.value.len())
      .field("freshness", &self.freshness)
      .field("last_modified_ms", &self.entry.last_modified_ms)
      .field("expire_at_ms", &self.entry.expire_at_ms)
      .field("charge", &self.entry.charge)
      .finish()
  }
}

/// Counters since creation plus current occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
  /// Gets that returned a value (fresh or stale).
  pub hits: u64,
  /// Of `hits`, those returned as [`Freshness::Stale`].
  pub stale_hits: u64,
  /// Gets that returned `None` (absent, expired, or expired through a caller's extra tag).
  pub misses: u64,
  /// Entries evicted to fit the budget.
  pub evictions: u64,
  /// Entries removed because their TTL or one of their own tags expired (on access or sweep).
  pub expirations: u64,
  /// Sets refused as [`SetOutcome::TooLarge`].
  pub rejected: u64,
  /// Sum of live entries' charges.
  pub bytes: u64,
  pub entries: u64,
  /// Effective budget, see [`Store::capacity`].
  pub capacity: u64,
  pub max_entry_bytes: u64,
  /// Tags in the manifest.
  pub tags: u64,
}

/// The charge of an entry: `key_len + stored_len + Σ(tag.len() + TAG_OVERHEAD_BYTES) +
/// ENTRY_OVERHEAD_BYTES`, where `stored_len` is the compressed size if the value is stored
/// compressed.
pub fn entry_charge<S: AsRef<str>>(key_len: usize, stored_len: usize, tags: &[S]) -> u64 {
  let tag_bytes: u64 = tags
    .iter()
    .map(|t| t.as_ref().len() as u64 + TAG_OVERHEAD_BYTES)
    .sum();
  key_len as u64 + stored_len as u64 + tag_bytes + ENTRY_OVERHEAD_BYTES
}

struct Entry {
  stored: Stored,
  /// Length-prefixed (u32 LE) UTF-8 tags, one allocation for all of them.
  tags: Box<[u8]>,
  last_modified_ms: u64,
  expire_at_ms: Option<u64>,
  charge: u64,
}

impl Entry {
  fn tags(&self) -> TagIter<'_> {
    TagIter { rest: &self.tags }
  }

  fn ttl_expired(&self, now_ms: u64) -> bool {
    matches!(self.expire_at_ms, Some(t) if now_ms >= t)
  }
}

struct TagIter<'a> {
  rest: &'a [u8],
}

impl<'a> Iterator for TagIter<'a> {
  type Item = &'a str;

  fn next(&mut self) -> Option<&'a str> {
    let (len, rest) = self.rest.split_first_chunk::<4>()?;
    let (tag, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
    self.rest = rest;
    // Always valid: written from `&str` by `encode_tags`.
    Some(std::str::from_utf8(tag).unwrap_or_default())
  }
}

fn encode_tags(tags: &[String]) -> Option<Box<[u8]>> {
  let mut out = Vec::with_capacity(
    tags
      .iter()
      .map(|t| t.len() + TAG_OVERHEAD_BYTES as usize)
      .sum(),
  );
  for tag in tags {
    out.extend_from_slice(&u32::try_from(tag.len()).ok()?.to_le_bytes());
    out.extend_from_slice(tag.as_bytes());
  }
  Some(out.into_boxed_slice())
}

#[derive(Clone)]
struct ByCharge;

impl Weighter<Box<[u8]>, Arc<Entry>> for ByCharge {
  fn weight(&self, _key: &Box<[u8]>, entry: &Arc<Entry>) -> u64 {
    entry.charge
  }
}

/// Collects what an insert pushed out (evicted entries and the replaced previous value), so we
/// can count them and so their buffers are freed after the shard lock is released.
#[derive(Clone, Default)]
struct Collect;

impl Lifecycle<Box<[u8]>, Arc<Entry>> for Collect {
  type RequestState = Vec<(Box<[u8]>, Arc<Entry>)>;

  fn on_evict(&self, state: &mut Self::RequestState, key: Box<[u8]>, entry: Arc<Entry>) {
    state.push((key, entry));
  }
}

type Shards = Cache<Box<[u8]>, Arc<Entry>, ByCharge, DefaultHashBuilder, Collect>;

/// The cache. `Send + Sync`; share it behind an `Arc` or a `static`.
pub struct Store {
  cache: Shards,
  manifest: TagManifest,
  compression: Compression,
  capacity: u64,
  max_entry: u64,
  sweep_interval_ms: u64,
  next_sweep_ms: AtomicU64,
  hits: AtomicU64,
  stale_hits: AtomicU64,
  misses: AtomicU64,
  evictions: AtomicU64,
  expirations: AtomicU64,
  rejected: AtomicU64,
}

enum Check {
  Live(Freshness),
  /// TTL or an own tag expired: dead for every caller.
  Dead,
  /// Expired only through a caller's extra tag (soft/implicit tags of the page being rendered):
  /// a miss for this caller, but another page's request may still use it.
  ExpiredForCaller,
}

impl Store {
  pub fn new(config: CacheConfig) -> Store {
    let shards = if config.shards == 0 {
      let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
      let mut shards = (cores * 4).next_power_of_two() as u64;
      while shards > 1 && config.max_bytes / shards < MIN_AUTO_SHARD_BYTES {
        shards /= 2;
      }
      shards
    } else {
      config.shards.next_power_of_two() as u64
    };
    // quick_cache gives each shard ceil(capacity / shards); a multiple of the (power of two)
    // shard count makes the shard budgets sum to exactly `capacity`, also if it merges shards.
    let capacity = config.max_bytes / shards * shards;
    let estimated_items = (config.max_bytes / config.estimated_entry_bytes.max(1)).max(1);
    let options = OptionsBuilder::new()
      .shards(shards as usize)
      .weight_capacity(capacity)
      .estimated_items_capacity(usize::try_from(estimated_items).unwrap_or(usize::MAX))
      .hot_allocation(HOT_ALLOCATION)
      .build()
      .expect("weight_capacity and estimated_items_capacity are set");
    let cache = Cache::with_options(options, ByCharge, DefaultHashBuilder::default(), Collect);
    let shard_cap = cache.shard_capacity();
    // Same expression as quick_cache 0.7 `CacheShard::new`'s `weight_target_hot`.
    let max_entry = ((shard_cap as f64 * HOT_ALLOCATION) as u64).clamp(shard_cap.min(1), shard_cap);
    Store {
      capacity: cache.capacity(),
      cache,
      manifest: TagManifest::new(),
      compression: config.compression,
      max_entry,
      sweep_interval_ms: config.sweep_interval_ms,
      next_sweep_ms: AtomicU64::new(0),
      hits: AtomicU64::new(0),
      stale_hits: AtomicU64::new(0),
      misses: AtomicU64::new(0),
      evictions: AtomicU64::new(0),
      expirations: AtomicU64::new(0),
      rejected: AtomicU64::new(0),
    }
  }

  /// Looks `key` up. `extra_tags` are checked in addition to the entry's own tags: FETCH
  /// `ctx.tags` + `ctx.softTags`, the `'use cache'` `softTags`, implicit `_N_T_` tags.
  ///
  /// `None`: absent, TTL passed, or a tag expired after the entry's `last_modified_ms`
  /// (entries dead for everyone are removed). `Some` with [`Freshness::Stale`] when a tag went
  /// stale after `last_modified_ms`.
  pub fn get(&self, key: &[u8], extra_tags: &[&str], now_ms: u64) -> Option<Hit> {
    self.maybe_sweep(now_ms);
    let Some(entry) = self.cache.get(key) else {
      self.misses.fetch_add(1, Relaxed);
      return None;
    };
    let freshness = match self.check(&entry, extra_tags, now_ms) {
      Check::Live(freshness) => freshness,
      Check::Dead => {
        self.remove_expired(key, &entry);
        self.misses.fetch_add(1, Relaxed);
        return None;
      }
      Check::ExpiredForCaller => {
        self.misses.fetch_add(1, Relaxed);
        return None;
      }
    };
    let Some(value) = codec::decode(&entry.stored) else {
      self.cache.remove_if(key, |cur| Arc::ptr_eq(cur, &entry));
      self.misses.fetch_add(1, Relaxed);
      return None;
    };
    self.hits.fetch_add(1, Relaxed);
    if freshness == Freshness::Stale {
      self.stale_hits.fetch_add(1, Relaxed);
    }
    Some(Hit {
      value,
      freshness,
      entry,
    })
  }

  /// Stores `value` under `key`, replacing any previous value.
  pub fn set(&self, key: &[u8], value: Vec<u8>, meta: EntryMeta, now_ms: u64) -> SetOutcome {
    self.maybe_sweep(now_ms);
    if matches!(meta.expire_at_ms, Some(t) if now_ms >= t) {
      self.cache.remove(key);
      return SetOutcome::AlreadyExpired;
    }
    let raw_charge = entry_charge(key.len(), value.len(), &meta.tags);
    // Skip compressing what cannot fit anyway; LZ4's ratio is bounded, but not by enough to
    // justify compressing a 1 GB value only to refuse it.
    let tags = match encode_tags(&meta.tags) {
      Some(tags) if self.compression != Compression::None || raw_charge <= self.max_entry => tags,
      _ => return self.reject(key, raw_charge),
    };
    let stored = codec::encode(value, self.compression);
    let charge = entry_charge(key.len(), stored.bytes.len(), &meta.tags);
    if charge > self.max_entry {
      return self.reject(key, charge);
    }
    let entry = Arc::new(Entry {
      stored,
      tags,
      last_modified_ms: meta.last_modified_ms,
      expire_at_ms: meta.expire_at_ms,
      charge,
    });
    let mut pushed_out = Vec::new();
    self
      .cache
      .insert_with_lifecycle(key.into(), entry.clone(), &mut pushed_out);
    // The replaced previous value under `key` comes back through the same hook; it is not an
    // eviction.
    let evicted = pushed_out
      .iter()
      .filter(|(k, e)| Arc::ptr_eq(e, &entry) || **k != *key)
      .count() as u64;
    self.evictions.fetch_add(evicted, Relaxed);
    SetOutcome::Stored { evicted }
  }

  fn reject(&self, key: &[u8], size: u64) -> SetOutcome {
    self.cache.remove(key);
    self.rejected.fetch_add(1, Relaxed);
    SetOutcome::TooLarge {
      size,
      max: self.max_entry,
    }
  }

  /// Removes `key`; `true` if it was present.
  pub fn delete(&self, key: &[u8]) -> bool {
    self.cache.remove(key).is_some()
  }

  /// Removes every entry. The tag manifest is kept: it records invalidations, not entries.
  pub fn clear(&self) {
    self.cache.clear();
  }

  /// Forgets every tag invalidation.
  pub fn clear_tags(&self) {
    self.manifest.clear();
  }

  /// Next 16 `revalidateTag(tags, durations?)` / `updateTags(tags, durations?)`.
  /// `expire_secs: None` (`updateTag`, `revalidatePath`, one-argument `revalidateTag`, and all of
  /// 14/15): `expired = now`, entries written before now are misses. `Some(secs)`
  /// (`revalidateTag(tag, profile)`): `stale = now, expired = now + secs * 1000`, entries written
  /// before now are served stale until then.
  pub fn revalidate_tags(&self, tags: &[&str], now_ms: u64, expire_secs: Option<u64>) {
    self.manifest.revalidate(tags, now_ms, expire_secs);
  }

  /// The manifest's state of each tag, aligned with `tags`, for syncing to a shared tier.
  pub fn tag_states(&self, tags: &[&str]) -> Vec<Option<TagState>> {
    tags.iter().map(|t| self.manifest.get(t)).collect()
  }

  /// Merges states from a shared tier (see [`TagState::merge`]).
  pub fn apply_tag_states(&self, states: &[(&str, TagState)], now_ms: u64) {
    self.manifest.apply(states, now_ms);
  }

  /// Next 16 `'use cache'` handler `getExpiration(tags)`: the max `expired` among `tags`, 0 if
  /// none.
  pub fn expiration(&self, tags: &[&str]) -> u64 {
    tags
      .iter()
      .filter_map(|t| self.manifest.get(t)?.expired_at_ms)
      .max()
      .unwrap_or(0)
  }

  /// Removes every entry whose TTL or own tag has expired at `now_ms`; returns how many.
  /// Runs by itself from `get`/`set` every `sweep_interval_ms`; takes each shard's write lock in
  /// turn and is O(entries).
  pub fn sweep(&self, now_ms: u64) -> u64 {
    let removed = AtomicU64::new(0);
    self.cache.retain(|_, entry| {
      let dead = matches!(self.check(entry, &[], now_ms), Check::Dead);
      if dead {
        removed.fetch_add(1, Relaxed);
      }
      !dead
    });
    let removed = removed.into_inner();
    self.expirations.fetch_add(removed, Relaxed);
    removed
  }

  fn maybe_sweep(&self, now_ms: u64) {
    let due = self.next_sweep_ms.load(Relaxed);
    if now_ms >= due
      && self
        .next_sweep_ms
        .compare_exchange(
          due,
          now_ms.saturating_add(self.sweep_interval_ms),
          Relaxed,
          Relaxed,
        )
        .is_ok()
    {
      self.sweep(now_ms);
    }
  }

  fn remove_expired(&self, key: &[u8], entry: &Arc<Entry>) {
    // Only the exact entry we judged: a concurrent `set` may have replaced it with a fresh one.
    if self
      .cache
      .remove_if(key, |cur| Arc::ptr_eq(cur, entry))
      .is_some()
    {
      self.expirations.fetch_add(1, Relaxed);
    }
  }

  fn check(&self, entry: &Entry, extra_tags: &[&str], now_ms: u64) -> Check {
    if entry.ttl_expired(now_ms) {
      return Check::Dead;
    }
    self.check_tags(entry.tags(), entry.last_modified_ms, extra_tags, now_ms)
  }

  /// What [`Store::get`] would decide for an entry with this metadata, without storing or
  /// decoding it: `None` for a miss, else its freshness. For entries read from a lower tier
  /// (disk, Redis, the build output), so they are judged by the same rule and tag records as
  /// the entries in memory. Counts nothing.
  pub fn judge(&self, meta: &EntryMeta, extra_tags: &[&str], now_ms: u64) -> Option<Freshness> {
    if matches!(meta.expire_at_ms, Some(t) if now_ms >= t) {
      return None;
    }
    match self.check_tags(
      meta.tags.iter().map(String::as_str),
      meta.last_modified_ms,
      extra_tags,
      now_ms,
    ) {
      Check::Live(freshness) => Some(freshness),
      Check::Dead | Check::ExpiredForCaller => None,
    }
  }

  fn check_tags<'t>(
    &self,
    own_tags: impl Iterator<Item = &'t str>,
    lm: u64,
    extra_tags: &[&str],
    now_ms: u64,
  ) -> Check {
    if self.manifest.len() == 0 {
      return Check::Live(Freshness::Fresh);
    }
    let mut stale = false;
    for tag in own_tags {
      if let Some(state) = self.manifest.get(tag) {
        if state.expires(lm, now_ms) {
          return Check::Dead;
        }
        stale |= state.stales(lm);
      }
    }
    for tag in extra_tags {
      if let Some(state) = self.manifest.get(tag) {
        if state.expires(lm, now_ms) {
          return Check::ExpiredForCaller;
        }
        stale |= state.stales(lm);
      }
    }
    Check::Live(if stale {
      Freshness::Stale
    } else {
      Freshness::Fresh
    })
  }

  /// The charge of the entry under `key`, without touching recency, TTL or stats.
  pub fn charge_of(&self, key: &[u8]) -> Option<u64> {
    self.cache.peek(key).map(|e| e.charge)
  }

  /// Sum of live entries' charges; never above [`Store::capacity`]. Meant for V8
  /// external-memory reporting (`napi_adjust_external_memory`). Takes each shard's read lock.
  pub fn bytes(&self) -> u64 {
    self.cache.weight()
  }

  pub fn len(&self) -> usize {
    self.cache.len()
  }

  pub fn is_empty(&self) -> bool {
    self.cache.is_empty()
  }

  /// Effective budget: `max_bytes` rounded down to a multiple of the shard count.
  pub fn capacity(&self) -> u64 {
    self.capacity
  }

  /// Largest admissible charge: `⌊0.97 × capacity / shards⌋` (quick_cache admits no item above
  /// a shard's hot-queue target).
  pub fn max_entry_bytes(&self) -> u64 {
    self.max_entry
  }

  pub fn shards(&self) -> usize {
    self.cache.num_shards()
  }

  pub fn stats(&self) -> Stats {
    Stats {
      hits: self.hits.load(Relaxed),
      stale_hits: self.stale_hits.load(Relaxed),
      misses: self.misses.load(Relaxed),
      evictions: self.evictions.load(Relaxed),
      expirations: self.expirations.load(Relaxed),
      rejected: self.rejected.load(Relaxed),
      bytes: self.bytes(),
      entries: self.len() as u64,
      capacity: self.capacity,
      max_entry_bytes: self.max_entry,
      tags: self.manifest.len() as u64,
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn meta(tags: &[&str], lm: u64) -> EntryMeta {
    EntryMeta {
      tags: tags.iter().map(|t| t.to_string()).collect(),
      last_modified_ms: lm,
      expire_at_ms: None,
    }
  }

  #[test]
  fn tags_round_trip_including_empty_and_unicode() {
    let tags = vec![String::new(), "_N_T_/blog/[slug]/page".into(), "ü🙂".into()];
    let enc = encode_tags(&tags).unwrap();
    let e = Entry {
      stored: codec::encode(vec![], Compression::None),
      tags: enc,
      last_modified_ms: 0,
      expire_at_ms: None,
      charge: 0,
    };
    assert_eq!(e.tags().collect::<Vec<_>>(), tags);
  }

  #[test]
  fn max_entry_matches_quick_cache_admission() {
    for (budget, shards) in [(1 << 20, 4), (1000, 1), (12_345_678, 8), (50 << 20, 0)] {
      let store = Store::new(CacheConfig {
        shards,
        compression: Compression::None,
        ..CacheConfig::new(budget)
      });
      let max = store.max_entry_bytes();
      let key = b"k";
      let fill = (max - ENTRY_OVERHEAD_BYTES - 1) as usize;
      let outcome = store.set(key, vec![7; fill], meta(&[], 1), 1);
      assert_eq!(
        outcome,
        SetOutcome::Stored { evicted: 0 },
        "budget {budget}"
      );
      assert_eq!(store.charge_of(key), Some(max));
      assert!(store.get(key, &[], 1).is_some(), "budget {budget}");
      let outcome = store.set(key, vec![7; fill + 1], meta(&[], 1), 1);
      assert_eq!(outcome, SetOutcome::TooLarge { size: max + 1, max });
      assert!(
        store.get(key, &[], 1).is_none(),
        "older value must not survive"
      );
    }
  }

  #[test]
  fn replacement_is_not_an_eviction() {
    let store = Store::new(CacheConfig::new(1 << 20));
    for i in 0..10 {
      assert_eq!(
        store.set(b"k", vec![i; 100], meta(&[], 1), 1),
        SetOutcome::Stored { evicted: 0 }
      );
    }
    assert_eq!(store.stats().evictions, 0);
    assert_eq!(store.len(), 1);
  }

  #[test]
  fn sweep_removes_ttl_and_tag_expired_only() {
    let store = Store::new(CacheConfig::new(1 << 20));
    let ttl = EntryMeta {
      expire_at_ms: Some(50),
      ..meta(&[], 1)
    };
    store.set(b"ttl", vec![1], ttl, 10);
    store.set(b"tagged", vec![2], meta(&["t"], 10), 10);
    store.set(b"soft", vec![3], meta(&[], 10), 10);
    store.revalidate_tags(&["t", "s"], 20, None);
    assert_eq!(store.sweep(60), 2);
    assert_eq!(store.len(), 1);
    assert_eq!(store.stats().expirations, 2);
    // Only the caller's extra tag expired it: a miss, but the entry stays for other pages.
    assert!(store.get(b"soft", &["s"], 60).is_none());
    assert!(store.get(b"soft", &[], 60).is_some());
  }

  #[test]
  fn opportunistic_sweep_runs_on_interval() {
    let store = Store::new(CacheConfig {
      sweep_interval_ms: 1000,
      ..CacheConfig::new(1 << 20)
    });
    let ttl = EntryMeta {
      expire_at_ms: Some(100),
      ..meta(&[], 1)
    };
    store.set(b"a", vec![1], ttl, 0); // first op sweeps; next due at 1000
    store.set(b"b", vec![1], meta(&[], 1), 500);
    assert_eq!(store.len(), 2);
    store.get(b"b", &[], 1000);
    assert_eq!(store.len(), 1);
  }
}
