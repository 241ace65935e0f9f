//! In-process, off-V8-heap, byte-bounded cache store behind Next.js's `cacheHandler` (ISR pages,
//! route handlers, `fetch`/`unstable_cache` data) and `cacheHandlers` (`'use cache'`), with Next
//! 16's tag semantics (`revalidateTag(tag)` expires, `revalidateTag(tag, profile)` goes stale).
//! Keys and values are opaque bytes; a napi layer and JS adapters sit on top. Below the
//! memory store, [`DiskTier`] keeps entries in files (checksummed, written atomically,
//! byte-bounded with least-recently-used eviction) and tag records in an append-only log.
//!
//! It refuses: entries whose charge exceeds [`Store::max_entry_bytes`] ([`SetOutcome::TooLarge`],
//! so the caller can warn like Next's "Single item size exceeds maxSize"), entries already past
//! their TTL ([`SetOutcome::AlreadyExpired`]), reading the clock, background threads, and any
//! interpretation of keys or values.
//!
//! The one thing to know: **every time is passed in** (`now_ms`, ms since the epoch, the same
//! base as Next's `Date.now()`), and tag invalidations are compared with the entry's
//! `last_modified_ms` (Next's `lastModified` / `CacheEntry.timestamp`), not with when `set` ran.
//!
//! # API
//!
//! [`Store::new`]`(`[`CacheConfig`]`)` · [`Store::get`]`(key, extra_tags, now_ms) -> Option<Hit>` ·
//! [`Store::set`]`(key, Vec<u8>, EntryMeta, now_ms) -> SetOutcome` · [`Store::delete`] ·
//! [`Store::clear`] · [`Store::revalidate_tags`]`(tags, now_ms, expire_secs)` ·
//! [`Store::tag_states`] / [`Store::apply_tag_states`] (Redis-tier sync) · [`Store::expiration`]
//! (`getExpiration`) · [`Store::sweep`] · [`Store::stats`] · [`Store::bytes`].
//!
//! A get returns `Arc<[u8]>`: for an uncompressed entry it is the stored allocation itself (no
//! copy; hand JS an external buffer over it, the bytes outlive an eviction until JS drops them);
//! for a compressed entry it is a fresh allocation with the decompressed bytes (one LZ4 decode,
//! ~4 µs for a 66 KB page). `set` moves the `Vec` in and copies it once into the `Arc`.
//!
//! # Accounting
//!
//! Charge = key bytes + stored value bytes (compressed size if kept compressed) + Σ(tag bytes +
//! [`TAG_OVERHEAD_BYTES`] = 4) + [`ENTRY_OVERHEAD_BYTES`] = 320. `tests/overhead.rs` measures
//! real heap use with a counting allocator: ~270 B/entry of overhead for small entries, and a
//! store churned through ~10× its budget of 64-byte values holds 7.3 MB of real heap for an 8 MiB
//! budget (ghost keys and tables included). [`Store::bytes`] is the sum of live charges and never
//! exceeds [`Store::capacity`] (proptests, also under 4 threads with a watcher).
//!
//! **Largest admissible entry** = `⌊0.97 × capacity / shards⌋` (quick_cache splits the budget
//! across shards and admits nothing above a shard's hot-queue target). Auto sharding
//! (`shards: 0`) takes `min(4 × cores, capacity / 16 MiB)` shards: below 32 MiB there is one
//! shard and the limit is ≈ 0.97 × capacity, above it the limit never drops below ≈ 15.5 MiB; Next's default 50 MiB budget gives 2
//! shards and a 24.25 MiB limit. quick_cache may merge shards further (it wants ≥ 32 entries per
//! shard by `max_bytes / estimated_entry_bytes`), which only raises the limit. The exact value is
//! [`Store::max_entry_bytes`].
//!
//! # Policy: S3-FIFO (quick_cache), by measurement
//!
//! `examples/policy_hit_rate.rs`: 200 000 keys (25 % APP_PAGE 40–100 KB, 75 % FETCH 2–5 KB,
//! route-scoped/sha256 keys), 2.5 M requests, cache-aside, hit rate over the last 2 M;
//! "drift" reassigns 25 % of the popularity ranks to new keys every 100 000 requests.
//! Request hit % / byte hit %:
//!
//! | Zipf s | workload | budget | LRU (exact, Next's JS policy) | **Store (S3-FIFO)** | moka TinyLFU |
//! |---|---|---|---|---|---|
//! | 0.8 | static | 16 MiB | 15.1 / 14.3 | **26.5 / 25.8** | 29.3 / 19.6 |
//! | 0.8 | static | 64 MiB | 25.6 / 24.9 | **37.5 / 36.8** | 42.6 / 32.1 |
//! | 0.8 | static | 256 MiB | 41.2 / 40.7 | **51.8 / 51.3** | 57.6 / 48.2 |
//! | 1.0 | static | 16 MiB | 45.2 / 42.0 | **55.7 / 53.4** | 53.6 / 48.1 |
//! | 1.0 | static | 64 MiB | 57.8 / 55.4 | **66.7 / 64.6** | 68.1 / 62.1 |
//! | 1.0 | static | 256 MiB | 70.9 / 69.3 | **77.2 / 75.7** | 78.1 / 74.0 |
//! | 0.8 | drift | 16 MiB | 15.1 / 12.7 | **25.7 / 23.6** | 28.4 / 14.9 |
//! | 0.8 | drift | 64 MiB | 25.6 / 23.7 | **34.9 / 33.0** | 39.5 / 25.6 |
//! | 0.8 | drift | 256 MiB | 40.8 / 39.2 | **45.5 / 43.9** | 50.3 / 38.3 |
//! | 1.0 | drift | 16 MiB | 45.2 / 38.7 | **55.3 / 49.9** | 53.4 / 45.1 |
//! | 1.0 | drift | 64 MiB | 57.7 / 52.8 | **64.4 / 60.2** | 65.8 / 56.3 |
//! | 1.0 | drift | 256 MiB | 70.3 / 66.9 | **71.8 / 68.4** | 73.2 / 65.5 |
//!
//! S3-FIFO beats LRU everywhere (+1.5 to +12 points of requests and bytes); an 8-shard LRU is
//! within 0.2 of the exact one, so sharding costs LRU nothing but does not save it either.
//! TinyLFU gets up to +6 request points at s = 0.8 by refusing large pages, but loses 2–9 byte
//! points (each lost page is a full re-render), runs 2.5–6× slower single-threaded, enforces its
//! weight bound only after deferred maintenance (so "never above budget" would not hold), and
//! can silently decline a `set`. quick_cache also has read-locked gets (a hit bumps an atomic),
//! no background threads and a small dependency tree. The Store row runs the real API with real
//! value bytes; it matches bare quick_cache to ±0.1.
//!
//! # Compression: LZ4 from 1 KiB, on by default
//!
//! `examples/compression_density.rs` on generated App Router payloads (HTML with inline
//! `self.__next_f` flight chunks + `rscData` + a `segmentData` slice; FETCH entries as Next hands
//! them, base64 body inside JSON), charges including keys and three tags:
//!
//! | payload | mean raw | LZ4 ratio | entries/MiB off → on |
//! |---|---|---|---|
//! | APP_PAGE | 114.7 KB | 7.2× | 9.1 → 63.6 (+598 %) |
//! | FETCH, base64 body | 5.9 KB | 1.29× | 166 → 210 (+27 %) |
//! | FETCH, body decoded by the adapter | 4.5 KB | 1.41× | 213 → 290 (+36 %) |
//! | mix 25 % pages / 75 % fetches | | | 31.3 → 133.4 (+326 %) |
//!
//! Hit rate at equal memory (same Zipf stream, 1 M requests): s = 0.8: 32.8 → 46.2 % (64 MiB),
//! 45.6 → 62.7 % (256 MiB); s = 1.0: 62.4 → 73.3 % (64 MiB), 73.0 → 82.8 % (256 MiB).
//! LZ4 (lz4_flex, safe code) compresses these at 0.6–2.1 GB/s and decompresses at 4–9.5 GB/s:
//! ~55 µs extra per 115 KB page `set`, ~4 µs per page hit. The page ratio is high because an App
//! Router entry carries the same flight data three times (inline in the HTML, `rscData`,
//! `segmentData`); that duplication is real. A value is kept compressed only if that saves ≥ 1/16.
//! Thresholds of 256 B and 1 KiB give the same FETCH charge; 4 KiB loses 2 %. zstd was not tried:
//! its Rust bindings build C code, and LZ4 already removes most of the duplication.
//!
//! # Tags (Next 16.4.6 semantics)
//!
//! The manifest maps tag → [`TagState`] `{ stale_at_ms, expired_at_ms }`. [`Store::revalidate_tags`]
//! writes it exactly like Next's `updateTags`. A get checks the entry's own tags and the caller's
//! `extra_tags` (FETCH `ctx.tags` + `softTags`, implicit `_N_T_…` tags): expired
//! (`expired <= now && expired > last_modified`) → `None`; stale (`stale > last_modified`) →
//! [`Freshness::Stale`], returned so Next 16 can serve it while revalidating (14/15 adapters
//! treat it as a miss). An entry expired through its TTL or its own tag is removed on access;
//! one expired only through a caller's extra tag is a miss for that caller but kept (a FETCH
//! entry is shared by pages with different soft tags). The manifest is never pruned: its size
//! is the number of distinct tags ever revalidated ([`Stats::tags`]).
//!
//! # Concurrency
//!
//! `Store` is `Send + Sync`. Entries live in quick_cache's `RwLock` shards: a get takes one
//! shard's read lock, a set one shard's write lock (evicted buffers are freed after it is
//! released). The tag manifest has 16 `RwLock` shards and is skipped entirely while empty.
//! Counters are relaxed atomics; [`Store::bytes`] and [`Store::len`] read each shard's totals
//! under its read lock. TTL-expired entries also go in an opportunistic [`Store::sweep`] run by
//! the first `get`/`set` at least `sweep_interval_ms` (30 s) after the previous one (O(entries),
//! one shard write lock at a time).
//!
//! # Dependencies
//!
//! * `quick_cache` 0.7 (MIT): the eviction policy and sharded storage, chosen by the table above.
//! * `lz4_flex` 0.14 (MIT): pure-Rust LZ4 block codec, safe encode/decode, no C toolchain.
//! * dev: `proptest`; `lru` and `moka` (MIT/Apache-2.0) only as baselines in the policy example.

mod codec;
mod disk;
mod store;
mod tags;

pub use codec::Compression;
pub use disk::{DiskConfig, DiskEntry, DiskError, DiskStats, DiskTier, PutOutcome};
pub use store::{
  entry_charge, CacheConfig, EntryMeta, Freshness, Hit, SetOutcome, Stats, Store,
  ENTRY_OVERHEAD_BYTES, MIN_AUTO_SHARD_BYTES, TAG_OVERHEAD_BYTES,
};
pub use tags::TagState;
