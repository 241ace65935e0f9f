'use strict'

// The process-wide native store behind both cache handlers, and the binary codec for what
// Next stores in it. Next constructs `cacheHandler` per request and may load handler modules
// from more than one module registry (server bundles, route modules), so the store lives on
// `globalThis` under a registered symbol: one store, one byte budget, per process.

const { NativeCacheStore, openDiskTier } = require('../index.js')
const { encode, decode } = require('./cache-codec')
const { HotTier } = require('./cache-hot')
const { invalidArgType, invalidArgValue, validateObject, validateString } = require('./errors')

const STORE = Symbol.for('@rs/next-native/cache-store')
const WARNED = Symbol.for('@rs/next-native/cache-warned')

/** Longest `durations.expire` taken: 2³² s, above Next's "never" (`INFINITE_CACHE`, 2³²−2 s). */
const MAX_EXPIRE_SECONDS = 2 ** 32

/** Next's default `cacheMaxMemorySize`, used when neither `.create()` nor next.config set one. */
const DEFAULT_MAX_MEMORY = 50 * 1024 * 1024

/** Logs each distinct message once per process: a broken cache must not flood the logs. */
function warnOnce(id, message) {
  const warned = (globalThis[WARNED] ??= new Set())
  if (warned.has(id)) return
  warned.add(id)
  console.warn(`[@rs/next-native cache] ${message}`)
}

/**
 * Next's handler contract is to never throw into a render: a call with a bad argument settles
 * as a miss and changes nothing. Runs `check` (which throws ERR_INVALID_ARG_* errors); on such
 * an error logs one warning naming the argument and returns true.
 */
function refused(method, check) {
  try {
    check()
    return false
  } catch (err) {
    if (typeof err?.code !== 'string' || !err.code.startsWith('ERR_INVALID_ARG')) throw err
    warnOnce(`arg:${method}:${err.message}`, `${method} ignored: ${err.message}`)
    return true
  }
}

/** Tags as both handlers take them: an array of strings. */
function checkTags(tags, name) {
  if (!Array.isArray(tags)) throw invalidArgType(name, 'an array of strings', tags)
  tags.forEach((t, i) => validateString(t, `${name}[${i}]`))
}

/** Next 16's revalidation profile: `{ expire?: seconds }`; undefined means expire now. */
function checkDurations(durations) {
  if (durations === undefined) return
  validateObject(durations, 'durations')
  const { expire } = durations
  if (expire === undefined) return
  if (typeof expire !== 'number') throw invalidArgType('durations.expire', 'a number of seconds', expire)
  if (!(expire >= 0 && expire <= MAX_EXPIRE_SECONDS)) {
    throw invalidArgValue('durations.expire', `must be from 0 to ${MAX_EXPIRE_SECONDS} seconds`, expire)
  }
}

/**
 * The store both handlers use: the native store plus the hot tier, speaking decoded values.
 * `get` returns `{ record, lastModified, expireAt, tags, stale }` or null.
 */
class CacheStore {
  constructor(maxBytes, compression, hotBytes) {
    this.reset(maxBytes, compression, hotBytes)
  }

  /** A new, empty store with this configuration (see `sharedStore`). */
  reset(maxBytes, compression, hotBytes) {
    this.pending ??= new Map() // key -> the entry of a set still landing (see `land`)
    this.landings ??= new Map() // key -> the promise of its last set landing
    if (this.native) this.native.clear()
    this.hot = new HotTier(hotBytes)
    this.native = new NativeCacheStore({ maxBytes: maxBytes - hotBytes, compression })
    // The new native store has an empty tag manifest: learn every tag record again.
    if (this.remote) this.remote.relearnAll()
    if (this.disk) this.diskReady = this.loadDiskTags(this.disk)
  }

  get(key, extraTags, now) {
    if (this.pending.size) {
      const entry = this.pending.get(key)
      if (entry) return this.judged(entry, extraTags, now)
    }
    const hot = this.hot.get(key, extraTags, now)
    if (hot) return hot
    const hit = this.native.get(key, extraTags, now)
    if (!hit) return null
    const result = {
      record: decode(hit.value),
      lastModified: hit.lastModified,
      expireAt: hit.expireAt ?? null,
      tags: hit.tags,
      stale: hit.stale,
    }
    // A stale entry is served but not promoted: the next request should see the regeneration.
    if (!hit.stale) this.hot.put(key, result, hit.value.length)
    return result
  }

  set(key, record, tags, lastModified, expireAt, now) {
    return this.setEncoded(key, encode(record), tags, lastModified, expireAt, now)
  }

  setEncoded(key, bytes, tags, lastModified, expireAt, now) {
    this.hot.drop(key)
    return this.native.set(key, bytes, { tags, lastModified, expireAt, now })
  }

  revalidateTags(tags, now, expireSeconds) {
    this.hot.touchTags(tags, expireSeconds === undefined ? now : now + expireSeconds * 1000)
    this.native.revalidateTags(tags, now, expireSeconds)
  }

  // ---- with the Redis tier (lib/cache-redis.js); without it these are the methods above ----

  /**
   * `get`, then on a miss the disk tier, then the shared tier (bounded by its timeout); a hit
   * below is loaded into this store (and a Redis hit written to disk). `scope` is 'build' for
   * entries that belong to one build (pages, routes, `'use cache'`) and 'shared' for fetch data.
   */
  getShared(key, extraTags, now, scope = 'build') {
    const hit = this.get(key, extraTags, now)
    return hit ? Promise.resolve(hit) : this.getBelow(key, extraTags, now, scope)
  }

  /** The tiers below memory, after `get` missed. */
  async getBelow(key, extraTags, now, scope = 'build') {
    let hit
    if (this.diskReady) {
      await this.diskReady
      // Tag records from the disk log apply from here on; the memory store may have it now.
      if ((hit = this.get(key, extraTags, now))) return hit
    }
    if (this.disk) {
      const entry = await this.disk.get(this.diskKey(key, scope), now).catch((err) => this.diskProblem(err))
      if (entry) return this.fromBelow(key, entry, extraTags, now, undefined, 'disk')
      const { corrupt } = this.disk.stats()
      if (corrupt > this.diskCorrupt) {
        this.diskCorrupt = corrupt
        warnOnce('disk-corrupt', `found a truncated or corrupt file in the disk cache (${this.diskRoot}); it was served as a miss and removed (${corrupt} so far)`)
      }
    }
    const remoteKey = this.remoteKey(key, scope)
    if (!remoteKey) return null
    const entry = await this.remote.get(remoteKey)
    if (!entry) return null
    hit = this.fromBelow(key, entry, extraTags, now, undefined, 'Redis')
    if (hit && this.disk) this.persist(key, entry.value, entry.tags, entry.lastModified, entry.expireAt, scope)
    return hit
  }

  /**
   * An entry read from a lower tier (`{ value, tags, lastModified, expireAt }`, `value` the
   * codec bytes; `record`, when the caller has it decoded already; `tier` names the source
   * in the warning if it does not decode): judged by the native store against the same tag
   * records as the entries in memory, kept in memory when live, and returned decoded from its
   * own bytes (not read back out of the store).
   */
  fromBelow(key, entry, extraTags, now, record, tier) {
    const expireAt = entry.expireAt ?? null
    const freshness = this.native.judge(entry.tags, entry.lastModified, expireAt ?? undefined, extraTags, now)
    if (!freshness) return null
    // Decoded before anything keeps it: an entry this version cannot read is a miss, never
    // promoted into memory (nor, from Redis, written to disk).
    if (record === undefined && (record = this.decoded(entry, tier)) === undefined) return null
    // A newer local write that raced the read wins.
    if (!this.promote(key, entry, now)) return this.get(key, extraTags, now)
    const result = { record, lastModified: entry.lastModified, expireAt, tags: entry.tags, stale: freshness === 'stale' }
    if (!result.stale) this.hot.put(key, result, entry.value.length)
    return result
  }

  /**
   * The record of an entry read from a lower tier, or undefined (a miss, logged once) when
   * its bytes do not decode: a newer entry format (a rolling upgrade), or damage that the
   * tier's own checksum did not see.
   */
  decoded(entry, tier) {
    try {
      return decode(entry.value)
    } catch (err) {
      warnOnce(`undecodable:${tier}:${err && err.code}`, `an entry from ${tier} could not be decoded (${err && err.message}); served as a miss`)
      return undefined
    }
  }

  /** Keeps an entry from a lower tier in this store; false when a newer local write raced the read. */
  promote(key, entry, now) {
    if (this.pending.has(key)) return false
    const local = this.native.get(key, [], now)
    if (local && local.lastModified >= entry.lastModified) return false
    this.setEncoded(key, entry.value, entry.tags, entry.lastModified, entry.expireAt ?? undefined, now)
    return true
  }

  /** An entry from the build's own output: judged and kept in memory only (it is on disk already). */
  fromBuild(key, record, tags, lastModified, extraTags, now) {
    return this.fromBelow(key, { value: encode(record), tags, lastModified }, extraTags, now, record)
  }

  /** `set`, then the disk tier and the shared tier (newer wins there); resolves to the local outcome. */
  async setShared(key, record, tags, lastModified, expireAt, now, scope = 'build') {
    const bytes = encode(record)
    const landing = this.land(key, record, bytes, tags, lastModified, expireAt, now)
    // As Next's default writes every entry to disk whatever its memory LRU keeps.
    const expired = expireAt !== undefined && expireAt !== null && expireAt <= now
    const toDisk = !expired && (this.disk || this.diskReady) ? this.persist(key, bytes, tags, lastModified, expireAt, scope) : null
    const outcome = await landing
    // An entry too large for this store would be refused by every instance's store as well.
    const remoteKey = this.remoteKey(key, scope)
    if (remoteKey && outcome === 'stored') await this.remote.set(remoteKey, bytes, tags, lastModified, expireAt, now)
    await toDisk
    return outcome
  }

  /**
   * The native set, with its compression and insertion off the main thread (only the copy of
   * `bytes` runs here). Until it lands, a get of this key is answered from `record` itself,
   * judged against the tag records like any entry; sets of one key land in the order made.
   */
  land(key, record, bytes, tags, lastModified, expireAt, now) {
    this.hot.drop(key)
    const entry = { record, tags, lastModified, expireAt: expireAt ?? null }
    this.pending.set(key, entry)
    const set = async () => this.native.setAsync(key, bytes, { tags, lastModified, expireAt: expireAt ?? undefined, now })
    const before = this.landings.get(key)
    const landing = (before ? before.then(set, set) : set()).finally(() => {
      if (this.pending.get(key) === entry) this.pending.delete(key)
      if (this.landings.get(key) === landing) this.landings.delete(key)
    })
    this.landings.set(key, landing)
    return landing
  }

  /** A set still landing, as `get` would answer for it. */
  judged(entry, extraTags, now) {
    const freshness = this.native.judge(entry.tags, entry.lastModified, entry.expireAt ?? undefined, extraTags, now)
    if (!freshness) return null
    return { record: entry.record, lastModified: entry.lastModified, expireAt: entry.expireAt, tags: entry.tags, stale: freshness === 'stale' }
  }

  async persist(key, bytes, tags, lastModified, expireAt, scope) {
    await this.diskReady
    if (!this.disk) return
    try {
      await this.disk.put(this.diskKey(key, scope), bytes, { tags, lastModified, expireAt: expireAt ?? undefined })
    } catch (err) {
      this.diskProblem(err)
    }
  }

  /** `revalidateTags`, then the tags' merged states to Redis and every other instance. */
  async revalidateTagsShared(tags, now, expireSeconds) {
    this.revalidateTags(tags, now, expireSeconds)
    const states = this.native.tagStates(tags)
    await Promise.all([this.recordTags(states), this.remote && this.remote.revalidate(states, now)])
  }

  /** Tag states learnt from another instance: the hot tier drops, the native store merges. */
  applyTagStates(states, now) {
    this.learnTagStates(states, now)
    this.recordTags(this.native.tagStates(states.map((s) => s.tag)))
  }

  learnTagStates(states, now) {
    for (const s of states) this.hot.touchTags([s.tag], Math.max(s.staleAt ?? -1, s.expiredAt ?? -1))
    this.native.applyTagStates(states, now)
  }

  /** Appends the tags' merged states to the disk tier's log, so they outlive a restart. */
  async recordTags(states) {
    await this.diskReady
    if (this.disk && states.length) await this.disk.recordTags(states).catch((err) => this.diskProblem(err))
  }

  // ---- the disk tier (lib/cache-disk.js, crates/cache/src/disk.rs) ----------------------

  /**
   * Opens the disk tier once per process (`config` from `diskConfig`). Until it is open and
   * its tag log is applied, reads below memory and disk writes wait for it.
   */
  attachDisk(config) {
    this.diskRoot = config.root
    this.buildId = config.buildId
    this.diskCorrupt = 0
    this.diskReady = openDiskTier({ root: config.root, maxBytes: config.maxBytes, writable: config.writable })
      .then((tier) => {
        const reason = tier.stats().readOnlyReason
        if (reason && config.writable) {
          warnOnce('disk-read-only', `the disk cache at ${config.root} is not writable (${reason}); new entries are kept in memory${this.remote ? ' and Redis' : ''} only`)
        } else if (!config.writable) {
          warnOnce('disk-no-flush', `flushToDisk is off: the disk cache at ${config.root} is only read`)
        }
        return this.loadDiskTags(tier)
      })
      .catch((err) => {
        this.disk = null
        warnOnce('disk-open', `the disk cache at ${config.root} could not be opened; memory only: ${err && err.message}`)
      })
  }

  async loadDiskTags(tier) {
    const states = await tier.loadTags(Date.now())
    this.learnTagStates(states, Date.now())
    this.disk = tier
  }

  /** Build-scoped entries live under the build ID; fetch data is shared across builds. */
  diskKey(key, scope) {
    return `${scope === 'shared' ? 'shared' : `build/${this.buildId}`}/${key}`
  }

  /** Records the running build's ID (`.next/BUILD_ID`) once it is known; the first one wins. */
  knowBuild(buildId) {
    if (buildId && !this.buildId) this.buildId = buildId
  }

  /**
   * The entry's key in Redis, or null to keep it out: pages, routes and `'use cache'` entries
   * are namespaced by the build ID (`b/<id>/`), so during a rolling deploy no instance serves
   * another build's pages or RSC payloads, while an unchanged redeploy (same content build ID)
   * keeps its warm entries. Fetch data does not depend on the build and is shared, as Next's
   * `.next/cache/fetch-cache` outlives builds. The build ID is read from the dist dir Next
   * passes to the cacheHandler; a handler used outside Next, with no dist dir, has none and
   * shares every entry. `redis.shareAcrossBuilds` (or REDIS_SHARE_ACROSS_BUILDS=1) drops the
   * namespace.
   */
  remoteKey(key, scope) {
    if (!this.remote) return null
    if (scope === 'shared' || !this.buildId || this.remote.sharesAcrossBuilds) return key
    return `b/${this.buildId}/${key}`
  }

  diskProblem(err) {
    warnOnce('disk-write', `the disk cache at ${this.diskRoot} failed (${err && err.message}); new entries are kept in memory${this.remote ? ' and Redis' : ''} only`)
    return null
  }

  /** `'use cache'` refreshTags: pulls tag changes from Redis (bounded); no-op without it. */
  async refreshTags() {
    if (this.remote) await this.remote.refresh()
  }

  /** Connects the shared tier (`config` from `resolveConfig`); the client is loaded here only. */
  attachRemote(config) {
    const { RedisTier } = require('./cache-redis')
    this.remote = new RedisTier(config, {
      onStates: (states, now) => this.applyTagStates(states, now),
      localStates: (tags) => this.native.tagStates(tags),
    })
    return this.remote
  }

  expiration(tags) {
    return this.native.expiration(tags)
  }

  stats() {
    const s = this.native.stats()
    return {
      ...s,
      hits: s.hits + this.hot.hits,
      hotHits: this.hot.hits,
      hotBytes: this.hot.bytes,
      capacity: s.capacity + this.hot.maxBytes,
      ...(this.remote && { redis: this.remote.status() }),
      ...(this.disk && { disk: this.disk.stats() }),
    }
  }
}

/** The hot tier's default share of the budget: 1/16, at most 16 MiB (option `hotMemory`). */
function hotShare(maxBytes) {
  return Math.min(Math.floor(maxBytes / 16), 16 * 1024 * 1024)
}

/**
 * The shared store, created on first use with `options` (`maxMemory` in bytes,
 * `compression`, `hotMemory`). Later callers get the same store; a different configuration
 * is reported once, never silently applied to half the process.
 *
 * A store created without a budget (the `'use cache'` handler gets no config from Next) is
 * provisional: the first caller that knows the budget (the incremental handler, from
 * next.config `cacheMaxMemorySize`, or `.create({ maxMemory })`) replaces it. That happens at
 * start-up, before anything much is cached.
 */
function sharedStore(options = {}) {
  const store = sharedLocalStore(options)
  // The Redis tier is process-wide too: the first handler that has a config (its `redis`
  // option, else REDIS_URL) connects it; both handlers then use it. Not during `next build`:
  // its workers would be kept alive by the sockets, and a build's prerenders belong to a
  // deployment that is not live yet.
  if (store.remote === undefined && process.env.NEXT_PHASE !== 'phase-production-build') {
    const config = resolveConfig(options.redis)
    if (config) store.attachRemote(config)
  }
  return store
}

/**
 * The Redis settings from `redis` (false: off; an object) or REDIS_URL (+ REDIS_KEY_PREFIX,
 * REDIS_TIMEOUT_MS); null when Redis is not configured. Validation lives with the tier, but
 * this module must not load the client, so the check is required lazily only when needed.
 */
function resolveConfig(redis) {
  if (redis === false || ((redis === undefined || redis === null) && !process.env.REDIS_URL)) return null
  return require('./cache-redis').resolveConfig(redis)
}

function sharedLocalStore(options) {
  const provisional = options.maxMemory === undefined
  const maxBytes = options.maxMemory ?? DEFAULT_MAX_MEMORY
  const compression = options.compression ?? true
  const hotBytes = Math.min(options.hotMemory ?? hotShare(maxBytes), maxBytes)
  const existing = globalThis[STORE]
  if (existing) {
    const same = existing.maxBytes === maxBytes && existing.compression === compression && existing.hotBytes === hotBytes
    if (same || provisional) return existing.store
    if (!existing.provisional) {
      warnOnce('config', `the cache store already exists with maxMemory=${existing.maxBytes}, compression=${existing.compression}, hotMemory=${existing.hotBytes}; ignoring maxMemory=${maxBytes}, compression=${compression}, hotMemory=${hotBytes} (one store per process)`)
      return existing.store
    }
    // Replace the provisional store in place: handlers hold the facade, not the native store.
    existing.store.reset(maxBytes, compression, hotBytes)
    Object.assign(existing, { maxBytes, compression, hotBytes, provisional: false })
    return existing.store
  }
  const store = new CacheStore(maxBytes, compression, hotBytes)
  globalThis[STORE] = { store, maxBytes, compression, hotBytes, provisional }
  return store
}

/** Closes the process-wide Redis tier, if one is connected; the in-process store stays. */
async function closeShared() {
  const existing = globalThis[STORE]
  const remote = existing && existing.store.remote
  if (remote) {
    existing.store.remote = null // closed on purpose: do not reconnect from REDIS_URL
    await remote.close()
  }
}

/** Stats of the process-wide store, or null before any handler ran. */
function cacheStats() {
  const existing = globalThis[STORE]
  return existing ? existing.store.stats() : null
}

module.exports = { sharedStore, cacheStats, closeShared, resolveConfig, encode, decode, warnOnce, refused, checkTags, checkDurations }
