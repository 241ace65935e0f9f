//! The off-heap cache store (`crates/cache`) as a JS class. One instance is shared per process
//! by `lib/cache-store.js`; Next constructs its handler classes per request.

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::{AsyncTask, Buffer, BufferSlice, JavaScriptClassExt, This, Unknown};
use napi::Env;
use napi_derive::napi;
use next_native_cache as core;

use crate::args::{self, Name};
use crate::error::{run_sync, CodedError};
use crate::task::{Job, Work};

// Declares the argument's type in index.d.ts; `store_config` reads it, checked (crate::args).
#[allow(dead_code)]
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

// Declares the argument's type in index.d.ts; `set_options` reads it, checked (crate::args).
#[allow(dead_code)]
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

/// `CacheStoreOptions` as the store's config.
fn store_config(options: Unknown<'_>) -> Result<core::CacheConfig, CodedError> {
  let o = args::object(options, &"options")?;
  let max_bytes = o.read(c"maxBytes", args::byte_count)?;
  let compression = o.read_opt(c"compression", args::boolean)?;
  let min_bytes = o.read_opt(c"compressionMinBytes", args::byte_count)?;
  let mut config = core::CacheConfig::new(max_bytes);
  if compression == Some(false) {
    config.compression = core::Compression::None;
  } else if let Some(min) = min_bytes {
    config.compression = core::Compression::Lz4 {
      min_bytes: usize::try_from(min).unwrap_or(usize::MAX),
    };
  }
  Ok(config)
}

/// The metadata fields `CacheSetOptions` and `DiskPutOptions` share.
fn entry_meta(o: &args::Obj<'_, '_>) -> Result<core::EntryMeta, CodedError> {
  Ok(core::EntryMeta {
    tags: o.read(c"tags", args::string_array)?,
    last_modified_ms: o.read(c"lastModified", args::ms)?,
    expire_at_ms: o.read_opt(c"expireAt", args::ms)?,
  })
}

/// `CacheSetOptions`: the entry's metadata and the caller's clock.
fn set_options(options: Unknown<'_>) -> Result<(core::EntryMeta, u64), CodedError> {
  let o = args::object(options, &"options")?;
  let meta = entry_meta(&o)?;
  Ok((meta, o.read(c"now", args::ms)?))
}

/// A `TagStateJs` (an element of `states`).
fn tag_state(value: Unknown<'_>, name: Name<'_>) -> Result<(String, core::TagState), CodedError> {
  let o = args::object(value, name)?;
  let tag = o.read(c"tag", args::string)?;
  let state = core::TagState {
    stale_at_ms: o.read_opt(c"staleAt", args::ms)?,
    expired_at_ms: o.read_opt(c"expiredAt", args::ms)?,
  };
  Ok((tag, state))
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
  // Called without `new` (`NativeCacheStore.call(obj, options)`), napi-rs would wrap `obj`
  // itself: refused with `ERR_CONSTRUCT_CALL_REQUIRED`, as JS refuses to call a class. napi-rs
  // does not pass `new.target`; `this instanceof NativeCacheStore` stands for it.
  #[napi(constructor)]
  pub fn new(
    env: Env,
    this: This<Unknown>,
    #[napi(ts_arg_type = "CacheStoreOptions")] options: Unknown<'_>,
  ) -> napi::Result<Self> {
    run_sync(&env, || {
      let constructing = NativeCacheStore::instance_of(&env, &this.object)
        .map_err(|e| CodedError::new("ERR_INTERNAL", e.reason))?;
      if !constructing {
        return Err(CodedError::type_error(
          "ERR_CONSTRUCT_CALL_REQUIRED",
          "Class constructor NativeCacheStore cannot be invoked without 'new'",
        ));
      }
      let config = store_config(options)?;
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
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
    #[napi(ts_arg_type = "Array<string>")] extra_tags: Unknown<'_>,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
  ) -> napi::Result<Option<CacheHit>> {
    run_sync(&env, || {
      let key = args::string(key, &"key")?;
      let extra_tags = args::string_array(extra_tags, &"extraTags")?;
      let now = args::ms(now, &"now")?;
      let Some(hit) = self
        .inner
        .store
        .get(key.as_bytes(), &tag_refs(&extra_tags), now)
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
    env: Env,
    #[napi(ts_arg_type = "Array<string>")] tags: Unknown<'_>,
    #[napi(ts_arg_type = "number")] last_modified: Unknown<'_>,
    #[napi(ts_arg_type = "number | undefined | null")] expire_at: Unknown<'_>,
    #[napi(ts_arg_type = "Array<string>")] extra_tags: Unknown<'_>,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
  ) -> napi::Result<Option<Freshness>> {
    run_sync(&env, || {
      let meta = core::EntryMeta {
        tags: args::string_array(tags, &"tags")?,
        last_modified_ms: args::ms(last_modified, &"lastModified")?,
        expire_at_ms: args::optional(expire_at, &"expireAt", args::ms)?,
      };
      let extra_tags = args::string_array(extra_tags, &"extraTags")?;
      let now = args::ms(now, &"now")?;
      Ok(
        self
          .inner
          .store
          .judge(&meta, &tag_refs(&extra_tags), now)
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
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
    #[napi(ts_arg_type = "Uint8Array")] value: Unknown<'_>,
    #[napi(ts_arg_type = "CacheSetOptions")] options: Unknown<'_>,
  ) -> napi::Result<SetOutcome> {
    let outcome = run_sync(&env, || {
      let key = args::string(key, &"key")?;
      // Copied before the options are read: a getter could detach it.
      let value = args::bytes(value, &"value")?.to_vec();
      let (meta, now) = set_options(options)?;
      Ok(set_outcome(self.inner.store.set(
        key.as_bytes(),
        value,
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
    env: Env,
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
    #[napi(ts_arg_type = "Uint8Array")] value: Unknown<'_>,
    #[napi(ts_arg_type = "CacheSetOptions")] options: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<StoreSet>>> {
    run_sync(&env, || {
      let key = args::string(key, &"key")?;
      // Copied before the options are read: a getter could detach it.
      let value = args::bytes(value, &"value")?.to_vec();
      let (meta, now) = set_options(options)?;
      Ok(AsyncTask::new(Job(StoreSet {
        inner: self.inner.clone(),
        key,
        value,
        meta: Some(meta),
        now,
      })))
    })
  }

  #[napi]
  pub fn delete(
    &self,
    env: Env,
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
  ) -> napi::Result<bool> {
    let removed = run_sync(&env, || {
      let key = args::string(key, &"key")?;
      Ok(self.inner.store.delete(key.as_bytes()))
    });
    self.report(&env);
    removed
  }

  #[napi]
  pub fn clear(&self, env: Env) -> napi::Result<()> {
    let cleared = run_sync(&env, || {
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
    env: Env,
    #[napi(ts_arg_type = "Array<string>")] tags: Unknown<'_>,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
    #[napi(ts_arg_type = "number | undefined | null")] expire_seconds: Option<Unknown<'_>>,
  ) -> napi::Result<()> {
    run_sync(&env, || {
      let tags = args::string_array(tags, &"tags")?;
      let now = args::ms(now, &"now")?;
      let expire = expire_seconds
        .map(|s| args::seconds(s, &"expireSeconds"))
        .transpose()?;
      self
        .inner
        .store
        .revalidate_tags(&tag_refs(&tags), now, expire);
      Ok(())
    })
  }

  /// `'use cache'` `getExpiration(tags)`: the latest expiry among the tags, 0 if none.
  #[napi]
  pub fn expiration(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Array<string>")] tags: Unknown<'_>,
  ) -> napi::Result<f64> {
    run_sync(&env, || {
      let tags = args::string_array(tags, &"tags")?;
      Ok(self.inner.store.expiration(&tag_refs(&tags)) as f64)
    })
  }

  /// The tags' revalidation state, for syncing between instances.
  #[napi]
  pub fn tag_states(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Array<string>")] tags: Unknown<'_>,
  ) -> napi::Result<Vec<TagStateJs>> {
    run_sync(&env, || {
      let tags = args::string_array(tags, &"tags")?;
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
    env: Env,
    #[napi(ts_arg_type = "Array<TagStateJs>")] states: Unknown<'_>,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
  ) -> napi::Result<()> {
    run_sync(&env, || {
      let states = args::array(states, &"states", tag_state)?;
      let now = args::ms(now, &"now")?;
      let refs: Vec<(&str, core::TagState)> =
        states.iter().map(|(t, s)| (t.as_str(), *s)).collect();
      self.inner.store.apply_tag_states(&refs, now);
      Ok(())
    })
  }

  #[napi]
  pub fn stats(&self, env: Env) -> napi::Result<CacheStats> {
    run_sync(&env, || Ok(self.stats_now()))
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

// Declares the argument's type in index.d.ts; `open_disk_tier` reads it, checked (crate::args).
#[allow(dead_code)]
#[napi(object)]
pub struct DiskTierOptions {
  /// The directory entries live in (created when writable).
  pub root: String,
  /// Bound on the bytes of entry files; least recently used files are removed beyond it.
  pub max_bytes: f64,
  /// `false`: never write (Next's `flushToDisk: false`); existing entries are still read.
  pub writable: bool,
}

// Declares the argument's type in index.d.ts; `NativeDiskTier::put` reads it, checked (crate::args).
#[allow(dead_code)]
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
  env: Env,
  #[napi(ts_arg_type = "DiskTierOptions")] options: Unknown<'_>,
) -> napi::Result<AsyncTask<Job<OpenDisk>>> {
  run_sync(&env, || {
    let o = args::object(options, &"options")?;
    let config = core::DiskConfig {
      root: PathBuf::from(o.read(c"root", args::string)?),
      max_bytes: o.read(c"maxBytes", args::byte_count)?,
      writable: o.read(c"writable", args::boolean)?,
    };
    Ok(AsyncTask::new(Job(OpenDisk(Some(config)))))
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

#[napi]
impl NativeDiskTier {
  /// Instances come from `openDiskTier`: `new NativeDiskTier()` throws
  /// `ERR_ILLEGAL_CONSTRUCTOR` (napi-rs's own refusal has no code). Not declared, so the class
  /// keeps no public constructor in `index.d.ts`.
  #[napi(constructor, skip_typescript)]
  pub fn new(env: Env) -> napi::Result<Self> {
    run_sync(&env, || {
      Err(CodedError::type_error(
        "ERR_ILLEGAL_CONSTRUCTOR",
        "Illegal constructor: a NativeDiskTier is opened with openDiskTier(options)",
      ))
    })
  }

  /// The entry under `key`, or `null` (absent, expired at `now`, or unreadable: then removed
  /// and counted in `stats().corrupt`).
  #[napi(ts_return_type = "Promise<DiskHit | null>")]
  pub fn get(
    &self,
    env: Env,
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<DiskGet>>> {
    run_sync(&env, || {
      Ok(AsyncTask::new(Job(DiskGet {
        tier: self.tier.clone(),
        key: args::string(key, &"key")?,
        now: args::ms(now, &"now")?,
      })))
    })
  }

  /// Writes `value` (copied first) under `key`. A failed write rejects with
  /// `ERR_CACHE_DISK_WRITE` and makes the tier read-only.
  #[napi(ts_return_type = "Promise<DiskPutOutcome>")]
  pub fn put(
    &self,
    env: Env,
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
    #[napi(ts_arg_type = "Uint8Array")] value: Unknown<'_>,
    #[napi(ts_arg_type = "DiskPutOptions")] options: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<DiskPut>>> {
    run_sync(&env, || {
      let key = args::string(key, &"key")?;
      // Copied before the options are read: a getter could detach it.
      let value = args::bytes(value, &"value")?.to_vec();
      let meta = entry_meta(&args::object(options, &"options")?)?;
      Ok(AsyncTask::new(Job(DiskPut {
        tier: self.tier.clone(),
        key,
        value,
        meta,
      })))
    })
  }

  #[napi(ts_return_type = "Promise<boolean>")]
  pub fn delete(
    &self,
    env: Env,
    #[napi(ts_arg_type = "string")] key: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<DiskDelete>>> {
    run_sync(&env, || {
      Ok(AsyncTask::new(Job(DiskDelete {
        tier: self.tier.clone(),
        key: args::string(key, &"key")?,
      })))
    })
  }

  /// Appends the tags' states (after a revalidation) to the tag log.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn record_tags(
    &self,
    env: Env,
    #[napi(ts_arg_type = "Array<TagStateJs>")] states: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<DiskRecordTags>>> {
    run_sync(&env, || {
      Ok(AsyncTask::new(Job(DiskRecordTags {
        tier: self.tier.clone(),
        states: args::array(states, &"states", tag_state)?,
      })))
    })
  }

  /// Every tag record in the log, merged per tag.
  #[napi(ts_return_type = "Promise<TagStateJs[]>")]
  pub fn load_tags(
    &self,
    env: Env,
    #[napi(ts_arg_type = "number")] now: Unknown<'_>,
  ) -> napi::Result<AsyncTask<Job<DiskLoadTags>>> {
    run_sync(&env, || {
      Ok(AsyncTask::new(Job(DiskLoadTags {
        tier: self.tier.clone(),
        now: args::ms(now, &"now")?,
      })))
    })
  }

  #[napi]
  pub fn stats(&self, env: Env) -> napi::Result<DiskStats> {
    run_sync(&env, || {
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
