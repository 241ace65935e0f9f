'use strict'

// The shared tier (issue #17): optimized images in Redis (or Valkey), under the disk cache,
// so a fleet of instances optimizes each image once. Loaded only when Redis is configured
// (config.js: `redis`, else REDIS_URL); the ioredis client is required lazily here.
// Refuses nothing and never throws into a request: every Redis call is bounded by the
// configured timeout, and any failure (slow, down, a corrupt entry) makes that request
// behave as a single instance would: optimize locally.
//
// Keys (prefix P from REDIS_KEY_PREFIX / `redis.keyPrefix`, as for the page cache):
//   P img:<hash>        the entry: see encode() below. <hash> is sha256 (base64url) of the
//                       JSON of [entry format, package version, native version, href, sha256
//                       of the source bytes, width, quality, output MIME type]: everything
//                       that changes the output, so replicas agree without talking and a new
//                       encoder never serves an old one's bytes. The source's *content* hash,
//                       not its ETag: a local file's ETag is its mtime, which differs between
//                       replicas, and CDN nodes may send different ETags for the same bytes.
//   P img:<hash>:lease  single flight: `SET NX PX leaseTtl` with a random token, extended
//                       every leaseTtl/3 while its holder works and deleted (if still ours)
//                       once its result is stored, so it expires within leaseTtl if its
//                       holder dies. A holder with no result to share (its encode failed,
//                       or the result is over maxEntryBytes, or could not be stored) turns its
//                       lease into the no-result marker "!none" for leaseTtl instead: waiters
//                       stop waiting at once and optimize for themselves, side by side, rather
//                       than taking the lease in turn and each waiting on the one before.
// Entries live for `redis.maxTtl` (30 days by default, as page entries): the key names the
// exact source bytes, so an entry never goes wrong, only unused. Freshness (max-age, when to
// recheck the source) stays with each instance's disk cache.
//
// Flow (resolve): GET; hit → done. Miss → take the lease; taken → GET once more (a holder may
// just have finished), optimize, and answer the request; only then, in the background, SET
// (unless over maxEntryBytes, or a result that is not an encode: the original bytes after a
// failed encode) and release, or mark no result. The lease is kept (extended) until the SET
// is done, so waiters find the entry, never a free lease before it. Lease held elsewhere →
// poll (GET, then try the lease: a released or expired one is taken) every 20–100 ms, up to
// waitTimeout; then optimize locally. The no-result marker (when taking the lease, or while
// polling) → optimize locally at once. Redis unavailable at any step → optimize locally;
// lib/redis-health.js skips Redis for a cool-down so later requests do not each pay the
// timeout.

const crypto = require('node:crypto')

const FORMAT_VERSION = 1
const MAGIC = Buffer.from('NNIM')
const HEADER_BYTES = 32 // magic 4, version 1, reserved 3, meta length u32, body length u32, checksum 16

// The lease key's value while no result will come (see above); never a token (base64url).
const NO_RESULT = '!none'

// Compare-and-delete / compare-and-extend / compare-and-mark: only the holder's token touches
// the lease. Acquire: 1 taken (ARGV[1] is the new token), -1 the no-result marker, 0 held.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`
const EXTEND = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`
const MARK_NO_RESULT = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1 end return 0`
const ACQUIRE = `if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[3] then return -1 end
return 0`

// One client factory and one outage state machine for both Redis tiers (pages and images).
const { createClient } = require('../cache-redis')
const { RedisHealth, isReplyError } = require('../redis-health')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const checksum = (meta, body) => crypto.createHash('sha256').update(meta).update(body).digest().subarray(0, 16)

/** An entry as stored: header (magic, version, lengths, checksum of meta and body), JSON meta, image bytes. */
function encode(value) {
  const meta = Buffer.from(JSON.stringify({ contentType: value.contentType, extension: value.extension, etag: value.etag, maxAge: value.maxAge }))
  const header = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(header, 0)
  header.writeUInt8(FORMAT_VERSION, 4)
  header.writeUInt32BE(meta.length, 8)
  header.writeUInt32BE(value.buffer.length, 12)
  checksum(meta, value.buffer).copy(header, 16)
  return Buffer.concat([header, meta, value.buffer])
}

/** The entry, or null for anything that is not exactly what encode() wrote (truncated, corrupt, foreign). */
function decode(raw) {
  if (!Buffer.isBuffer(raw) || raw.length < HEADER_BYTES) return null
  if (!raw.subarray(0, 4).equals(MAGIC) || raw.readUInt8(4) !== FORMAT_VERSION) return null
  const metaLength = raw.readUInt32BE(8)
  const bodyLength = raw.readUInt32BE(12)
  if (raw.length !== HEADER_BYTES + metaLength + bodyLength || bodyLength === 0) return null
  const meta = raw.subarray(HEADER_BYTES, HEADER_BYTES + metaLength)
  const buffer = raw.subarray(HEADER_BYTES + metaLength)
  if (!checksum(meta, buffer).equals(raw.subarray(16, 32))) return null
  let m
  try {
    m = JSON.parse(meta.toString())
  } catch {
    return null
  }
  if (!m || typeof m.extension !== 'string' || typeof m.etag !== 'string' || typeof m.contentType !== 'string' || !Number.isFinite(m.maxAge)) return null
  return { buffer, contentType: m.contentType, extension: m.extension, etag: m.etag, maxAge: m.maxAge }
}

/** The optimizer's version: this package's and the native addon's (whose encoders make the bytes). */
function optimizerVersion() {
  const pkg = require('../../package.json').version
  const native = require('../../index.js').nativeInfo().version
  return `${pkg}/${native}`
}

class SharedTier {
  /**
   * @param {object} config  config.js's `c.redis`: cache-redis.js resolveConfig's fields plus
   *   maxEntryBytes, leaseTtl and waitTimeout (ms)
   * @param {object} logger  `{ warn? }`
   */
  constructor(config, logger) {
    this.config = config
    this.timeout = config.timeout
    this.logger = logger
    this.prefix = `${config.keyPrefix}img:`
    this.version = null // optimizerVersion(), on first use (it loads the addon)
    this.closed = false
    // Outages (lib/redis-health.js, shared with the page cache's tier). Nothing to resync
    // when Redis is back: entries are keyed by their content and nothing is queued meanwhile.
    this.health = new RedisHealth({
      timeout: this.timeout,
      log: (message) => this.logger.warn?.(`next-native image: ${message}`),
      fallback: 'optimizing per instance until it is back',
    })
    this.stats = { hits: 0, misses: 0, corrupt: 0, stored: 0, tooLarge: 0, leasesWon: 0, waited: 0, waitedHits: 0, waitTimeouts: 0, noResults: 0, noResultSeen: 0, errors: 0 }
    this.publishing = new Set() // background stores and releases, after the holder's response

    this.client = null // created on first use: importing a route (next build) opens no connection
  }

  /** The client, created (and connecting) on the first Redis call. */
  connect() {
    const config = this.config
    ;({ client: this.client, owned: this.owned } = createClient(config))
    for (const [name, lua] of [['nnImgRelease', RELEASE], ['nnImgExtend', EXTEND], ['nnImgAcquire', ACQUIRE], ['nnImgMarkNoResult', MARK_NO_RESULT]]) {
      if (typeof this.client[name] !== 'function') this.client.defineCommand(name, { numberOfKeys: 1, lua })
    }
    this.health.watch(this.client)
  }

  /** The Redis key of an image: everything that changes the output (see the top of this file). */
  keyFor({ href, width, quality, mimeType }, source) {
    const sourceHash = crypto.createHash('sha256').update(source).digest('base64url')
    this.version ??= optimizerVersion()
    const id = JSON.stringify([FORMAT_VERSION, this.version, href, sourceHash, width, quality, mimeType || ''])
    return this.prefix + crypto.createHash('sha256').update(id).digest('base64url')
  }

  get available() {
    return this.health.available
  }

  get healthy() {
    return this.health.healthy
  }

  /**
   * One bounded call (lib/redis-health.js); a fresh instance whose client is still connecting
   * waits for it, bounded; after that (or during a cool-down) Redis is skipped at once. Throws
   * Unavailable, or a ReplyError (Redis answered with an error, e.g. WRONGTYPE: it is up).
   */
  async run(what, fn, ms = this.timeout) {
    if (this.client === null && !this.closed) this.connect()
    try {
      return await this.health.run(what, fn, { ms, firstConnection: true })
    } catch (err) {
      if (!err.skipped) this.stats.errors++
      throw err
    }
  }

  /** The entry, or null (a miss; a corrupt or truncated entry is a miss too). Throws Unavailable. */
  async get(key) {
    let raw
    try {
      raw = await this.run('get', () => this.client.getBuffer(key))
    } catch (err) {
      if (!isReplyError(err)) throw err
      raw = undefined // not a string: not ours, a miss (SET replaces it)
    }
    if (raw === null) return null
    const entry = decode(raw)
    if (!entry) {
      this.stats.corrupt++
      this.logger.warn?.(`next-native image: ignoring a corrupt or truncated entry in Redis (${key}); it will be overwritten`)
    }
    return entry
  }

  /** Stores an encode unless it is over maxEntryBytes. Never throws; true if stored. */
  async set(key, value) {
    if (value.buffer.length > this.config.maxEntryBytes) {
      this.stats.tooLarge++
      return false
    }
    const bytes = encode(value)
    try {
      // Big entries get time to travel: the timeout plus 1 ms per 64 KiB.
      await this.run('set', () => this.client.set(key, bytes, 'PX', Math.ceil(this.config.maxTtl * 1000)), this.timeout + Math.ceil(bytes.length / 65536))
      this.stats.stored++
      return true
    } catch {
      return false
    }
  }

  /**
   * `{ token }` if we took the lease, `{ noResult: true }` if its last holder had no result to
   * share (the marker), else `{}` (held elsewhere). Throws Unavailable.
   */
  async acquire(key) {
    const token = crypto.randomBytes(12).toString('base64url')
    const got = await this.run('lease', () => this.client.nnImgAcquire(`${key}:lease`, token, String(this.config.leaseTtl), NO_RESULT))
    if (got === 1) return { token }
    if (got === -1) {
      this.stats.noResultSeen++
      return { noResult: true }
    }
    return {}
  }

  /** Keeps the lease alive while its holder works; returns the function that stops it. */
  hold(key, token) {
    const timer = setInterval(() => {
      this.run('extend lease', () => this.client.nnImgExtend(`${key}:lease`, token, String(this.config.leaseTtl))).catch(() => {})
    }, Math.max(10, Math.floor(this.config.leaseTtl / 3)))
    timer.unref()
    return () => clearInterval(timer)
  }

  async release(key, token) {
    await this.run('release lease', () => this.client.nnImgRelease(`${key}:lease`, token)).catch(() => {})
  }

  /** Replaces our lease with the no-result marker for leaseTtl. Never throws. */
  async markNoResult(key, token) {
    this.stats.noResults++
    await this.run('mark no result', () => this.client.nnImgMarkNoResult(`${key}:lease`, token, NO_RESULT, String(this.config.leaseTtl))).catch(() => {})
  }

  /**
   * The holder's work after its response: stores `value` (null: nothing to share) while still
   * holding the lease, then releases it; or, when nothing was stored, marks no result. Never
   * rejects (every step already swallows Redis trouble).
   */
  async publish(key, token, stop, value) {
    try {
      const stored = value !== null && (await this.set(key, value))
      if (stored) await this.release(key, token)
      else await this.markNoResult(key, token)
    } finally {
      stop()
    }
  }

  /** Runs `promise` after the response; close() waits for it. Failures are logged, never thrown. */
  background(promise) {
    const job = promise
      .catch((err) => this.logger.warn?.(`next-native image: sharing a result in Redis failed: ${err && err.message}`))
      .finally(() => this.publishing.delete(job))
    this.publishing.add(job)
  }

  /**
   * The shared result for `key`, computing it with `compute()` at most once across the fleet
   * when all goes well. Returns `{ value, hit }`: hit when the value came from Redis.
   * `shareable(value)` says whether a computed value may be stored.
   */
  async resolve(key, compute, shareable) {
    let token = null
    try {
      const entry = await this.get(key)
      if (entry) {
        this.stats.hits++
        return { value: entry, hit: true }
      }
      this.stats.misses++
      const lease = await this.acquire(key)
      token = lease.token ?? null
      if (token) {
        const again = await this.get(key)
        if (again) {
          this.background(this.release(key, token))
          this.stats.hits++
          return { value: again, hit: true }
        }
      } else if (!lease.noResult) {
        const waited = await this.waitFor(key)
        if (waited.entry) {
          this.stats.hits++
          return { value: waited.entry, hit: true }
        }
        token = waited.token ?? null
      }
    } catch {
      // Redis trouble (only Redis calls above): this request optimizes on its own, and a
      // lease it took just expires.
    }
    if (!token) {
      // Unavailable, a holder that did not deliver in time, or one with no result: optimize
      // here, and share if we can (after the response).
      const value = await compute()
      if (this.available && shareable(value)) this.background(this.set(key, value))
      return { value, hit: false }
    }
    this.stats.leasesWon++
    const stop = this.hold(key, token)
    let value
    try {
      value = await compute()
    } catch (err) {
      this.background(this.publish(key, token, stop, null))
      throw err
    }
    // The response does not wait for Redis: the lease stays held (and extended) until the
    // entry is stored, so waiters keep polling and find it.
    this.background(this.publish(key, token, stop, shareable(value) ? value : null))
    return { value, hit: false }
  }

  /**
   * Polls for another instance's result: `{ entry }`, `{ token }` (the lease came free),
   * `{ noResult: true }` (its holder had none to share) or `{}` (gave up at waitTimeout).
   */
  async waitFor(key) {
    this.stats.waited++
    const deadline = Date.now() + this.config.waitTimeout
    let delay = 20
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await sleep(Math.min(delay, left))
      delay = Math.min(Math.round(delay * 1.5), 100)
      const entry = await this.get(key)
      if (entry) {
        this.stats.waitedHits++
        return { entry }
      }
      const { token, noResult } = await this.acquire(key)
      if (noResult) return { noResult }
      if (token) {
        // Ours now: a Redis failure here must not lose the token (the lease would block the
        // fleet until it expires), so the caller holds and releases it as usual.
        const again = await this.get(key).catch(() => null)
        if (again) {
          this.background(this.release(key, token))
          this.stats.waitedHits++
          return { entry: again }
        }
        return { token }
      }
    }
    this.stats.waitTimeouts++
    return {}
  }

  /** Counters, and `publishing`: background stores and releases not finished yet. */
  snapshot() {
    return { healthy: this.healthy, ...this.stats, publishing: this.publishing.size }
  }

  /** Resolves once the background stores and releases started so far are done. */
  async settled() {
    while (this.publishing.size) await Promise.allSettled([...this.publishing])
  }

  async close() {
    await this.settled()
    this.closed = true
    this.health.close()
    if (!this.client) return
    if (this.owned) this.client.disconnect()
  }
}

module.exports = { SharedTier, encode, decode, FORMAT_VERSION, HEADER_BYTES }
