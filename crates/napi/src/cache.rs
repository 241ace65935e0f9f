//! The off-heap cache store (`crates/cache`) as a JS class. One instance is shared per process
//! by `lib/cache-store.js`; Next constructs its handler classes per request.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice};
use napi::Env;
use napi_derive::napi;
use next_native_cache as core;

use crate::error::{run_sync, CodedError, ErrorCode};
use crate::task::{Job, Work};

#[napi(object)]
pub struct CacheStoreOptions {
  /// The byte budget: keys + values (compressed size when compressed) + tags + 320 B per entry.
  pub max_bytes: f64,
  /// Compress values of at least `compressionMinBytes` with LZ4 when it saves space. Default true.
  pub compression: Option<bool>,
  /// Default 1024.
  pub compression_min_bytes: Option<u32>,
}

#[napi(object)]
pub struct CacheHit {
  /// The stored bytes (a copy owned by JS).
  pub value: Buffer,
  /// When the value was written, ms since the epoch.
  pub last_modified: f64,
  /// When the entry expires, ms since the epoch, if it has a TTL.
  pub expire_at: Option<f64>,
  /// The entry's own tags.
  pub tags: Vec<String>,
  /// A tag was revalidated with a profile (`revalidateTag(tag, 'max')`) after the write: serve
  /// it stale while it is regenerated.
  pub stale: bool,
}

#[napi(object)]
pub struct CacheStats {
  pub hits: f64,
  pub stale_hits: f64,
  pub misses: f64,
  pub evictions: f64,
  pub expirations: f64,
  /// Sets refused because the entry was larger than `maxEntryBytes`.
  pub rejected: f64,
  /// Bytes charged for live entries (never more than `capacity`).
  pub bytes: f64,
  pub entries: f64,
  pub capacity: f64,
  pub max_entry_bytes: f64,
  /// Tags in the revalidation manifest.
  pub tags: f64,
}

#[napi(object)]
pub struct CacheSetOptions {
  /// The entry's own tags.
  pub tags: Vec<String>,
  /// When the value was produced, ms since the epoch; tag revalidations compare with it.
  pub last_modified: f64,
  /// Hard expiry, ms since the epoch.
  pub expire_at: Option<f64>,
  /// The caller's clock, ms since the epoch.
  pub now: f64,
}

#[napi(string_enum = "kebab-case")]
pub enum SetOutcome {
  Stored,
  /// Bigger than `maxEntryBytes`: not stored, and any previous value under the key removed.
  TooLarge,
  /// `expireAt <= now`: not stored, previous value removed.
  Expired,
}

#[napi(object)]
pub struct TagStateJs {
  pub tag: String,
  pub stale_at: Option<f64>,
  pub expired_at: Option<f64>,
}

/// Byte-bounded, off-V8-heap cache with TTLs and Next's tag semantics. Thread-safe.
#[napi]
pub struct NativeCacheStore {
  inner: Arc<SharedStore>,
}

/// The store and its V8 accounting, shared with `setAsync`'s worker.
pub struct SharedStore {
  store: core::Store,
  /// What we have told V8 we hold (`napi_adjust_external_memory`), so GC sees the pressure.
  reported: AtomicI64,
}

impl SharedStore {
  /// Reports the change in held bytes to V8 since the last report (JS thread only).
  fn report(&self, env: &Env) {
    let now = self.store.bytes() as i64;
    let before = self.reported.swap(now, Ordering::Relaxed);
    if now != before {
      let _ = env.adjust_external_memory(now - before);
    }
  }
}

fn set_outcome(outcome: core::SetOutcome) -> SetOutcome {
  match outcome {
    core::SetOutcome::Stored { .. } => SetOutcome::Stored,
    core::SetOutcome::TooLarge { .. } => SetOutcome::TooLarge,
    core::SetOutcome::AlreadyExpired => SetOutcome::Expired,
  }
}

fn entry_meta(options: CacheSetOptions) -> Result<(core::EntryMeta, u64), CodedError> {
  let meta = core::EntryMeta {
    tags: options.tags,
    last_modified_ms: ms(options.last_modified, "lastModified")?,
    expire_at_ms: options.expire_at.map(|v| ms(v, "expireAt")).transpose()?,
  };
  Ok((meta, ms(options.now, "now")?))
}

/// `setAsync`: the value is copied on the JS thread; compression and insertion run here.
pub struct StoreSet {
  inner: Arc<SharedStore>,
  key: String,
  value: Vec<u8>,
  meta: Option<core::EntryMeta>,
  now: u64,
}

impl Work for StoreSet {
  type Output = (core::SetOutcome, Arc<SharedStore>);
  type JsValue = SetOutcome;
  fn run(&mut self) -> Result<Self::Output, CodedError> {
    let value = std::mem::take(&mut self.value);
    let meta = self.meta.take().expect("run once");
    let outcome = self
      .inner
      .store
      .set(self.key.as_bytes(), value, meta, self.now);
    Ok((outcome, self.inner.clone()))
  }
  fn into_js(env: &Env, (outcome, inner): Self::Output) -> napi::Result<SetOutcome> {
    inner.report(env);
    Ok(set_outcome(outcome))
  }
}

fn ms(v: f64, what: &str) -> Result<u64, CodedError> {
  if v.is_finite() && v >= 0.0 {
    Ok(v as u64)
  } else {
    Err(CodedError::new(
      "ERR_INVALID_ARG_VALUE",
      format!("{what} must be a non-negative finite number of milliseconds, received {v}"),
    ))
  }
}

#[napi(string_enum = "lowercase")]
pub enum Freshness {
  Fresh,
  Stale,
}

/// A hit's bytes as a JS Buffer, copied. Handing JS the decompressed allocation itself (an
/// external buffer) was measured and rejected: each hit then costs ~250 µs of CPU instead of
/// ~70 µs, as V8 finalises external buffers late and the allocator keeps getting fresh pages.
fn js_bytes(env: &Env, value: &[u8]) -> Result<Buffer, CodedError> {
  BufferSlice::copy_from(env, value)
    .and_then(|b| b.into_buffer(env))
    .map_err(|e| CodedError::new("ERR_CACHE_BUFFER", e.reason))
}

fn tag_refs(tags: &[String]) -> Vec<&str> {
  tags.iter().map(String::as_str).collect()
}

#[napi]
impl NativeCacheStore {
  #[napi(constructor)]
  pub fn new(options: CacheStoreOptions) -> Result<Self, napi::Error<ErrorCode>> {
    run_sync(|| {
      let max_bytes = ms(options.max_bytes, "maxBytes")?;
      let mut config = core::CacheConfig::new(max_bytes);
      if options.compression == Some(false) {
        config.compression = core::Compression::None;
      } else if let Some(min) = options.compression_min_bytes {
        config.compression = core::Compression::Lz4 {
          min_bytes: min as usize,
        };
      }
      Ok(NativeCacheStore {
        inner: Arc::new(SharedStore {
          store: core::Store::new(config),
          reported: AtomicI64::new(0),
        }),
      })
    })
  }

  fn report(&self, env: &Env) {
    self.inner.report(env);
  }

  /// The entry under `key`, or `null` (absent, expired by TTL, or expired through one of its own
  /// tags or `extraTags`).
  #[napi]
  pub fn get(
    &self,
    env: Env,
    key: String,
    extra_tags: Vec<String>,
    now: f64,
  ) -> Result<Option<CacheHit>, napi::Error<ErrorCode>> {
    run_sync(|| {
      let Some(hit) = self
        .inner
        .store
        .get(key.as_bytes(), &tag_refs(&extra_tags), ms(now, "now")?)
      else {
        return Ok(None);
      };
      let last_modified = hit.last_modified_ms() as f64;
      let expire_at = hit.expire_at_ms().map(|v| v as f64);
      let tags = hit.tags().map(str::to_owned).collect();
      let stale = matches!(hit.freshness, core::Freshness::Stale);
      Ok(Some(CacheHit {
        value: js_bytes(&env, &hit.value)?,
        last_modified,
        expire_at,
        tags,
        stale,
      }))
    })
  }

  /// How `get` would judge an entry with this metadata (read from the disk tier, Redis or the
  /// build output) against the tag records: `"fresh"`, `"stale"`, or `null` for a miss.
  #[napi]
  pub fn judge(
    &self,
    tags: Vec<String>,
    last_modified: f64,
    expire_at: Option<f64>,
    extra_tags: Vec<String>,
    now: f64,
  ) -> Result<Option<Freshness>, napi::Error<ErrorCode>> {
    run_sync(|| {
      let meta = core::EntryMeta {
        tags,
        last_modified_ms: ms(last_modified, "lastModified")?,
        expire_at_ms: expire_at.map(|v| ms(v, "expireAt")).transpose()?,
      };
      Ok(
        self
          .inner
          .store
          .judge(&meta, &tag_refs(&extra_tags), ms(now, "now")?)
          .map(|f| match f {
            core::Freshness::Fresh => Freshness::Fresh,
            core::Freshness::Stale => Freshness::Stale,
          }),
      )
    })
  }

  /// Stores `value` (copied) under `key`: `"stored"`, `"too-large"` (bigger than
  /// `maxEntryBytes`; any previous value is removed) or `"expired"` (`expireAt <= now`).
  #[napi]
  pub fn set(
    &self,
    env: Env,
    key: String,
    value: &[u8],
    options: CacheSetOptions,
  ) -> Result<SetOutcome, napi::Error<ErrorCode>> {
    let outcome = run_sync(|| {
      let (meta, now) = entry_meta(options)?;
      Ok(set_outcome(self.inner.store.set(
        key.as_bytes(),
        value.to_vec(),
        meta,
        now,
      )))
    });
    self.report(&env);
    outcome
  }

  /// `set` with the compression and insertion on the libuv pool: only the copy of `value` runs
  /// on the calling thread. Until the promise settles, `get` may still return the previous value.
  #[napi(ts_return_type = "Promise<SetOutcome>")]
  pub fn set_async(
    &self,
    key: String,
    value: &[u8],
    options: CacheSetOptions,
  ) -> Result<AsyncTask<Job<StoreSet>>, napi::Error<ErrorCode>> {
    run_sync(|| {
      let (meta, now) = entry_meta(options)?;
      Ok(AsyncTask::new(Job(StoreSet {
        inner: self.inner.clone(),
        key,
        value: value.to_vec(),
        meta: Some(meta),
        now,
      })))
    })
  }

  #[napi]
  pub fn delete(&self, env: Env, key: String) -> Result<bool, napi::Error<ErrorCode>> {
    let removed = run_sync(|| Ok(self.inner.store.delete(key.as_bytes())));
    self.report(&env);
    removed
  }

  #[napi]
  pub fn clear(&self, env: Env) -> Result<(), napi::Error<ErrorCode>> {
    let cleared = run_sync(|| {
      self.inner.store.clear();
      Ok(())
    });
    self.report(&env);
    cleared
  }

  /// Next's `revalidateTag(tags, durations?)`: without `expireSeconds` the tags expire now;
  /// with it they go stale now and expire `expireSeconds` later.
  #[napi]
  pub fn revalidate_tags(
    &self,
    tags: Vec<String>,
    now: f64,
    expire_seconds: Option<f64>,
  ) -> Result<(), napi::Error<ErrorCode>> {
    run_sync(|| {
      let expire = expire_seconds
        .map(|s| {
          if s.is_finite() && s >= 0.0 {
            Ok(s as u64)
          } else {
            Err(CodedError::new(
              "ERR_INVALID_ARG_VALUE",
              format!("durations.expire must be a non-negative number of seconds, received {s}"),
            ))
          }
        })
        .transpose()?;
      self
        .inner
        .store
        .revalidate_tags(&tag_refs(&tags), ms(now, "now")?, expire);
      Ok(())
    })
  }

  /// `'use cache'` `getExpiration(tags)`: the latest expiry among the tags, 0 if none.
  #[napi]
  pub fn expiration(&self, tags: Vec<String>) -> Result<f64, napi::Error<ErrorCode>> {
    run_sync(|| Ok(self.inner.store.expiration(&tag_refs(&tags)) as f64))
  }

  /// The tags' revalidation state, for syncing between instances.
  #[napi]
  pub fn tag_states(&self, tags: Vec<String>) -> Result<Vec<TagStateJs>, napi::Error<ErrorCode>> {
    run_sync(|| {
      let states = self.inner.store.tag_states(&tag_refs(&tags));
      Ok(
        states
          .into_iter()
          .zip(tags)
          .filter_map(|(s, tag)| s.map(|s| tag_state_js(tag, s)))
          .collect(),
      )
    })
  }

  /// Merges tag states learnt from another instance (the Redis tier) into the manifest, with
  /// `TagState::merge`'s rule: the times are the originating instance's, never recomputed here.
  #[napi]
  pub fn apply_tag_states(
    &self,
    states: Vec<TagStateJs>,
    now: f64,
  ) -> Result<(), napi::Error<ErrorCode>> {
    run_sync(|| {
      let opt = |v: Option<f64>, what: &str| v.map(|v| ms(v, what)).transpose();
      let converted = states
        .iter()
        .map(|s| {
          Ok((
            s.tag.as_str(),
            core::TagState {
              stale_at_ms: opt(s.stale_at, "staleAt")?,
              expired_at_ms: opt(s.expired_at, "expiredAt")?,
            },
          ))
        })
        .collect::<Result<Vec<_>, CodedError>>()?;
      self
        .inner
        .store
        .apply_tag_states(&converted, ms(now, "now")?);
      Ok(())
    })
  }

  #[napi]
  pub fn stats(&self) -> Result<CacheStats, napi::Error<ErrorCode>> {
    run_sync(|| Ok(self.stats_now()))
  }

  fn stats_now(&self) -> CacheStats {
    let s = self.inner.store.stats();
    CacheStats {
      hits: s.hits as f64,
      stale_hits: s.stale_hits as f64,
      misses: s.misses as f64,
      evictions: s.evictions as f64,
      expirations: s.expirations as f64,
      rejected: s.rejected as f64,
      bytes: s.bytes as f64,
      entries: s.entries as f64,
      capacity: s.capacity as f64,
      max_entry_bytes: s.max_entry_bytes as f64,
      tags: s.tags as f64,
    }
  }
}

// ---- the disk tier -----------------------------------------------------------------------

#[napi(object)]
pub struct DiskTierOptions {
  /// The directory entries live in (created when writable).
  pub root: String,
  /// Bound on the bytes of entry files; least recently used files are removed beyond it.
  pub max_bytes: f64,
  /// `false`: never write (Next's `flushToDisk: false`); existing entries are still read.
  pub writable: bool,
}

#[napi(object)]
pub struct DiskPutOptions {
  pub tags: Vec<String>,
  /// When the value was produced, ms since the epoch.
  pub last_modified: f64,
  /// Hard expiry, ms since the epoch: a read at or after it is a miss.
  pub expire_at: Option<f64>,
}

#[napi(object)]
pub struct DiskHit {
  pub value: Buffer,
  pub last_modified: f64,
  pub expire_at: Option<f64>,
  pub tags: Vec<String>,
}

#[napi(object)]
pub struct DiskStats {
  pub hits: f64,
  pub misses: f64,
  pub writes: f64,
  pub evictions: f64,
  /// Truncated, corrupt or foreign files found: each was a miss and was removed.
  pub corrupt: f64,
  pub bytes: f64,
  pub files: f64,
  pub max_bytes: f64,
  /// Why the tier does not write (configured read-only, or the first failed write), if so.
  pub read_only_reason: Option<String>,
}

#[napi(string_enum = "kebab-case")]
pub enum DiskPutOutcome {
  Stored,
  TooLarge,
  ReadOnly,
}

/// Entries on disk, one file each, bounded in bytes (see `crates/cache/src/disk.rs`). Every
/// method that touches the file system runs on the libuv pool.
#[napi]
pub struct NativeDiskTier {
  tier: Arc<core::DiskTier>,
}

pub struct OpenDisk(Option<core::DiskConfig>);

impl Work for OpenDisk {
  type Output = core::DiskTier;
  type JsValue = NativeDiskTier;
  fn run(&mut self) -> Result<Self::Output, CodedError> {
    Ok(core::DiskTier::open(self.0.take().expect("run once")))
  }
  fn into_js(_: &Env, tier: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(NativeDiskTier {
      tier: Arc::new(tier),
    })
  }
}

/// Opens a disk tier off the JS thread: creates the root, indexes the files in it.
#[napi(ts_return_type = "Promise<NativeDiskTier>")]
pub fn open_disk_tier(
  options: DiskTierOptions,
) -> Result<AsyncTask<Job<OpenDisk>>, napi::Error<ErrorCode>> {
  run_sync(|| {
    let max_bytes = ms(options.max_bytes, "maxBytes")?;
    Ok(AsyncTask::new(Job(OpenDisk(Some(core::DiskConfig {
      root: PathBuf::from(options.root),
      max_bytes,
      writable: options.writable,
    })))))
  })
}

pub struct DiskGet {
  tier: Arc<core::DiskTier>,
  key: String,
  now: u64,
}

impl Work for DiskGet {
  type Output = Option<core::DiskEntry>;
  type JsValue = Option<DiskHit>;
  fn run(&mut self) -> Result<Self::Output, CodedError> {
    Ok(self.tier.get(self.key.as_bytes(), self.now))
  }
  fn into_js(_: &Env, entry: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(entry.map(|e| DiskHit {
      value: e.value.into(),
      last_modified: e.meta.last_modified_ms as f64,
      expire_at: e.meta.expire_at_ms.map(|v| v as f64),
      tags: e.meta.tags,
    }))
  }
}

pub struct DiskPut {
  tier: Arc<core::DiskTier>,
  key: String,
  value: Vec<u8>,
  meta: core::EntryMeta,
}

impl Work for DiskPut {
  type Output = core::PutOutcome;
  type JsValue = DiskPutOutcome;
  fn run(&mut self) -> Result<Self::Output, CodedError> {
    self
      .tier
      .put(self.key.as_bytes(), &self.value, &self.meta)
      .map_err(|e| {
        CodedError::new(
          "ERR_CACHE_DISK_WRITE",
          format!("cannot write the disk cache: {e}"),
        )
      })
  }
  fn into_js(_: &Env, outcome: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(match outcome {
      core::PutOutcome::Stored { .. } => DiskPutOutcome::Stored,
      core::PutOutcome::TooLarge => DiskPutOutcome::TooLarge,
      core::PutOutcome::ReadOnly => DiskPutOutcome::ReadOnly,
    })
  }
}

pub struct DiskDelete {
  tier: Arc<core::DiskTier>,
  key: String,
}

impl Work for DiskDelete {
  type Output = bool;
  type JsValue = bool;
  fn run(&mut self) -> Result<bool, CodedError> {
    Ok(self.tier.delete(self.key.as_bytes()))
  }
  fn into_js(_: &Env, removed: bool) -> napi::Result<bool> {
    Ok(removed)
  }
}

pub struct DiskRecordTags {
  tier: Arc<core::DiskTier>,
  states: Vec<(String, core::TagState)>,
}

impl Work for DiskRecordTags {
  type Output = ();
  type JsValue = ();
  fn run(&mut self) -> Result<(), CodedError> {
    let refs: Vec<(&str, core::TagState)> =
      self.states.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    self.tier.record_tags(&refs).map_err(|e| {
      CodedError::new(
        "ERR_CACHE_DISK_WRITE",
        format!("cannot write the tag log: {e}"),
      )
    })
  }
  fn into_js(_: &Env, (): ()) -> napi::Result<()> {
    Ok(())
  }
}

pub struct DiskLoadTags {
  tier: Arc<core::DiskTier>,
  now: u64,
}

impl Work for DiskLoadTags {
  type Output = Vec<(String, core::TagState)>;
  type JsValue = Vec<TagStateJs>;
  fn run(&mut self) -> Result<Self::Output, CodedError> {
    Ok(self.tier.load_tags(self.now))
  }
  fn into_js(_: &Env, states: Self::Output) -> napi::Result<Self::JsValue> {
    Ok(
      states
        .into_iter()
        .map(|(tag, s)| tag_state_js(tag, s))
        .collect(),
    )
  }
}

fn tag_state_js(tag: String, s: core::TagState) -> TagStateJs {
  TagStateJs {
    tag,
    stale_at: s.stale_at_ms.map(|v| v as f64),
    expired_at: s.expired_at_ms.map(|v| v as f64),
  }
}

fn tag_states_core(states: &[TagStateJs]) -> Result<Vec<(String, core::TagState)>, CodedError> {
  let opt = |v: Option<f64>, what: &str| v.map(|v| ms(v, what)).transpose();
  states
    .iter()
    .map(|s| {
      Ok((
        s.tag.clone(),
        core::TagState {
          stale_at_ms: opt(s.stale_at, "staleAt")?,
          expired_at_ms: opt(s.expired_at, "expiredAt")?,
        },
      ))
    })
    .collect()
}

#[napi]
impl NativeDiskTier {
  /// The entry under `key`, or `null` (absent, expired at `now`, or unreadable: then removed
  /// and counted in `stats().corrupt`).
  #[napi(ts_return_type = "Promise<DiskHit | null>")]
  pub fn get(
    &self,
    key: String,
    now: f64,
  ) -> Result<AsyncTask<Job<DiskGet>>, napi::Error<ErrorCode>> {
    run_sync(|| {
      Ok(AsyncTask::new(Job(DiskGet {
        tier: self.tier.clone(),
        key,
        now: ms(now, "now")?,
      })))
    })
  }

  /// Writes `value` (copied first) under `key`. A failed write rejects with
  /// `ERR_CACHE_DISK_WRITE` and makes the tier read-only.
  #[napi(ts_return_type = "Promise<DiskPutOutcome>")]
  pub fn put(
    &self,
    key: String,
    value: &[u8],
    options: DiskPutOptions,
  ) -> Result<AsyncTask<Job<DiskPut>>, napi::Error<ErrorCode>> {
    run_sync(|| {
      let meta = core::EntryMeta {
        tags: options.tags,
        last_modified_ms: ms(options.last_modified, "lastModified")?,
        expire_at_ms: options.expire_at.map(|v| ms(v, "expireAt")).transpose()?,
      };
      Ok(AsyncTask::new(Job(DiskPut {
        tier: self.tier.clone(),
        key,
        value: value.to_vec(),
        meta,
      })))
    })
  }

  #[napi(ts_return_type = "Promise<boolean>")]
  pub fn delete(&self, key: String) -> AsyncTask<Job<DiskDelete>> {
    AsyncTask::new(Job(DiskDelete {
      tier: self.tier.clone(),
      key,
    }))
  }

  /// Appends the tags' states (after a revalidation) to the tag log.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn record_tags(
    &self,
    states: Vec<TagStateJs>,
  ) -> Result<AsyncTask<Job<DiskRecordTags>>, napi::Error<ErrorCode>> {
    run_sync(|| {
      Ok(AsyncTask::new(Job(DiskRecordTags {
        tier: self.tier.clone(),
        states: tag_states_core(&states)?,
      })))
    })
  }

  /// Every tag record in the log, merged per tag.
  #[napi(ts_return_type = "Promise<TagStateJs[]>")]
  pub fn load_tags(
    &self,
    now: f64,
  ) -> Result<AsyncTask<Job<DiskLoadTags>>, napi::Error<ErrorCode>> {
    run_sync(|| {
      Ok(AsyncTask::new(Job(DiskLoadTags {
        tier: self.tier.clone(),
        now: ms(now, "now")?,
      })))
    })
  }

  #[napi]
  pub fn stats(&self) -> Result<DiskStats, napi::Error<ErrorCode>> {
    run_sync(|| {
      let s = self.tier.stats();
      Ok(DiskStats {
        hits: s.hits as f64,
        misses: s.misses as f64,
        writes: s.writes as f64,
        evictions: s.evictions as f64,
        corrupt: s.corrupt as f64,
        bytes: s.bytes as f64,
        files: s.files as f64,
        max_bytes: s.max_bytes as f64,
        read_only_reason: self.tier.read_only_reason(),
      })
    })
  }
}
