'use strict'

// The shared tier under the in-process store: entries and tag records in Redis (or Valkey,
// single node or Cluster), tag invalidations pushed to every instance over pub/sub.
//
// Loaded only when Redis is configured (REDIS_URL or `.create({ redis })`): the client is
// required lazily below, so single-instance users never load it.
//
// Client: ioredis 5. It has Redis Cluster (slot routing, MOVED/ASK, failover), automatic
// reconnect with a retry strategy, pub/sub with automatic resubscribe, `defineCommand` for
// EVALSHA-with-EVAL-fallback scripts (also in Cluster), and Buffer replies (`*Buffer`
// commands), all built in; it is the client most Next Redis handlers ship with. 5.x (not 6)
// because 6 needs Node 20 and this package supports Node 18.18. node-redis 5 was the other
// candidate: it needs Node 20 too, and its Cluster client needs a separate setup.
//
// Layout (prefix P, default "next-native:", REDIS_KEY_PREFIX or `redis.keyPrefix`):
//   P e{}:<store key>   hash { m: lastModified, x: expireAt (0 = none), t: tags JSON, v: codec
//                       bytes, c: SHA-1 of v (base64) }, PEXPIREAT = expireAt capped at maxTtl.
//                       The "{}" makes Cluster hash the whole key even when a 'use cache' key
//                       contains braces. An entry whose fields do not parse or whose v does not
//                       match c (truncated, corrupt, written by hand, or by a version before
//                       the checksum) is a miss and is deleted, unless rewritten meanwhile.
//                       Entries larger than maxEntryBytes (default 16 MiB) are not written.
//   {P t}:states        hash tag -> "staleAt:expiredAt" (ms, 0 = none), merged like
//                       `TagState::merge` (crates/cache/src/tags.rs).
//   {P t}:log           sorted set tag -> Redis server time of its last change: catch-up reads
//                       what changed after the last pull. Both in one hash slot (`{P t}`), so
//                       the two-key scripts are legal in Cluster.
//   P tags              pub/sub channel: every change, with the merged states.
// No operation scans keys: a revalidation touches one hash field and one zset member per tag,
// however many entries carry the tag. Entries in Redis are never deleted by a revalidation;
// a reader checks them against the tag records when it loads them into its own store.

const { EventEmitter } = require('node:events')
const { createHash, randomBytes } = require('node:crypto')
const { codedError, validateInteger } = require('./errors')
const { RedisHealth, RedisUnavailable, withTimeout } = require('./redis-health')

const DEFAULT_PREFIX = 'next-native:'
const DEFAULT_TIMEOUT_MS = 150
// Entries without an `expire` (or Next's "infinite" one) still leave Redis by themselves:
// 30 days, the `max` cacheLife profile's revalidate period.
const DEFAULT_MAX_TTL_S = 30 * 24 * 3600
// Larger entries (e.g. big optimized images) stay in the instance's memory and disk tiers:
// one such value would cost every reader its transfer time, and Redis its memory.
const DEFAULT_MAX_ENTRY_BYTES = 16 * 1024 * 1024
// Safety net for lost pub/sub messages (pub/sub is at most once): pull the tag log this often.
const SYNC_INTERVAL_MS = 10_000
// On reconnect, re-read this much before the last pull: covers a failover to a replica whose
// clock is a little behind. Re-applying a state is idempotent.
const CATCH_UP_MARGIN_MS = 10_000
const PULL_PAGE = 5000

// Newer wins: a regeneration that finished later but started earlier (older lastModified)
// must not replace a newer value written by another instance. One key, so fine in Cluster.
const SET_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], 'm')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'm', ARGV[1], 'x', ARGV[2], 't', ARGV[3], 'v', ARGV[4], 'c', ARGV[6])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return 1`

// Deletes an entry found damaged, unless it was rewritten since it was read (m and c differ).
const DROP_IF_SAME = `
local m = redis.call('HGET', KEYS[1], 'm') or ''
local c = redis.call('HGET', KEYS[1], 'c') or ''
if m == ARGV[1] and c == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0`

// KEYS: states, log. ARGV: now, channel, origin, then (tag, staleAt, expiredAt) triples.
// Merges with the stored state (TagState::merge), logs the tag at server time, publishes.
const REVALIDATE = `
local t = redis.call('TIME')
local score = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local now = tonumber(ARGV[1])
local out = {}
for i = 4, #ARGV, 3 do
  local tag, s, e = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local cur = redis.call('HGET', KEYS[1], tag)
  if cur then
    local cs, ce = string.match(cur, '^(%d+):(%d+)$')
    cs, ce = tonumber(cs) or 0, tonumber(ce) or 0
    if cs > s then s = cs end
    if e == 0 then
      e = ce
    elseif ce ~= 0 then
      local a, b = ce <= now, e <= now
      if a and not b then e = ce elseif (a == b) and ce > e then e = ce end
    end
  end
  local v = string.format('%.0f:%.0f', s, e)
  redis.call('HSET', KEYS[1], tag, v)
  redis.call('ZADD', KEYS[2], score, tag)
  out[#out + 1] = tag
  out[#out + 1] = v
end
redis.call('PUBLISH', ARGV[2], cjson.encode({ o = ARGV[3], s = out }))
return score`

// KEYS: states, log. ARGV: since (exclusive), offset, count. Returns tag, score, state triples.
const PULL = `
local tags = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', ARGV[2], ARGV[3])
local out = {}
for i = 1, #tags, 2 do
  out[#out + 1] = tags[i]
  out[#out + 1] = tags[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[1], tags[i]) or ''
end
return out`

/** The integrity check stored beside an entry's bytes. */
function checksum(bytes) {
  return createHash('sha1').update(bytes).digest('base64')
}

/** An entry's hash fields as read, or null when any is missing, malformed or does not match its checksum. */
function parseEntry(m, x, t, v, c) {
  if (!m || !x || !t || !v || !c) return null
  const lastModified = Number(m.toString())
  const expireAt = Number(x.toString())
  // Times in ms, not always whole ('use cache' timestamps come from performance.now()).
  if (!(Number.isFinite(lastModified) && lastModified >= 0 && Number.isFinite(expireAt) && expireAt >= 0)) return null
  let tags
  try {
    tags = JSON.parse(t.toString())
  } catch {
    return null
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) return null
  if (checksum(v) !== c.toString()) return null
  return { value: v, lastModified, expireAt: expireAt > 0 ? expireAt : null, tags }
}

/** `redis.maxEntryBytes`, else REDIS_MAX_ENTRY_BYTES, else 16 MiB: bytes, 0 = no entries in Redis. */
function maxEntryBytesOf(redis, env) {
  if (redis.maxEntryBytes !== undefined) return validateInteger(redis.maxEntryBytes, 'redis.maxEntryBytes')
  const raw = env.REDIS_MAX_ENTRY_BYTES
  if (raw === undefined || raw === '') return DEFAULT_MAX_ENTRY_BYTES
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(Number(raw))) {
    throw codedError('ERR_INVALID_ARG_VALUE', `redis: REDIS_MAX_ENTRY_BYTES must be a whole number of bytes (0 keeps every entry out of Redis), received ${JSON.stringify(raw)}`, TypeError)
  }
  return Number(raw)
}

/**
 * The ioredis client for a resolved config (`resolveConfig`), shared by the page cache's tier
 * and the image handler's (lib/image/shared-tier.js): the caller's own `client` (not owned),
 * a Cluster, or one connection to `url`. Fails fast while disconnected instead of queueing
 * behind a dead socket, and reconnects forever with a capped backoff.
 */
function createClient(config) {
  if (config.client) return { client: config.client, owned: false }
  const Redis = require('ioredis')
  const retryStrategy = (n) => Math.min(50 * 2 ** n, 2000)
  const base = { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000, commandTimeout: Math.max(config.timeout, 1000), retryStrategy }
  const client = config.cluster
    ? new Redis.Cluster(config.cluster, { enableOfflineQueue: false, clusterRetryStrategy: retryStrategy, ...config.clusterOptions, redisOptions: { ...base, ...config.clusterOptions?.redisOptions } })
    : new Redis(config.url, base)
  return { client, owned: true }
}

function parseState(tag, raw) {
  const m = /^(\d+):(\d+)$/.exec(raw)
  if (!m) return null
  const state = { tag }
  if (m[1] !== '0') state.staleAt = Number(m[1])
  if (m[2] !== '0') state.expiredAt = Number(m[2])
  return state
}

/** Checks `redis` options; returns the effective config or null (no Redis tier). */
function resolveConfig(redis, env = process.env) {
  if (redis === false) return null
  if (redis === undefined || redis === null) {
    if (!env.REDIS_URL) return null
    redis = { url: env.REDIS_URL }
  }
  const fail = (msg) => {
    throw codedError('ERR_INVALID_ARG_VALUE', `redis: ${msg}`, TypeError)
  }
  if (typeof redis !== 'object') fail('must be false or an object { url | client | cluster, keyPrefix?, timeout?, maxTtl?, maxEntryBytes?, shareAcrossBuilds? }')
  const { url, client, cluster } = redis
  if ([url, client, cluster].filter((v) => v !== undefined).length !== 1) fail('give exactly one of url, client, cluster')
  if (url !== undefined && typeof url !== 'string') fail('url must be a string')
  if (cluster !== undefined && !(Array.isArray(cluster) && cluster.length > 0)) fail('cluster must be a non-empty array of startup nodes')
  if (client !== undefined && (typeof client !== 'object' || typeof client.duplicate !== 'function')) fail('client must be an ioredis Redis or Cluster instance')
  const keyPrefix = redis.keyPrefix ?? env.REDIS_KEY_PREFIX ?? DEFAULT_PREFIX
  if (typeof keyPrefix !== 'string' || /[{}]/.test(keyPrefix)) fail('keyPrefix must be a string without braces (they would change Cluster hash slots)')
  const timeout = redis.timeout ?? (env.REDIS_TIMEOUT_MS ? Number(env.REDIS_TIMEOUT_MS) : DEFAULT_TIMEOUT_MS)
  if (!(Number.isFinite(timeout) && timeout > 0)) fail(`timeout must be a positive number of milliseconds, received ${timeout}`)
  const maxTtl = redis.maxTtl ?? DEFAULT_MAX_TTL_S
  if (!(Number.isFinite(maxTtl) && maxTtl > 0)) fail(`maxTtl must be a positive number of seconds, received ${maxTtl}`)
  const maxEntryBytes = maxEntryBytesOf(redis, env)
  const shareAcrossBuilds = redis.shareAcrossBuilds ?? /^(1|true)$/i.test(env.REDIS_SHARE_ACROSS_BUILDS ?? '')
  if (typeof shareAcrossBuilds !== 'boolean') fail(`shareAcrossBuilds must be a boolean, received ${typeof shareAcrossBuilds}`)
  return { url, client, cluster, clusterOptions: redis.clusterOptions, keyPrefix, timeout, maxTtl, maxEntryBytes, shareAcrossBuilds }
}

/**
 * One per process (owned by the shared store). Every public method is bounded by `timeout`
 * and never throws: Redis trouble is a miss, a skipped write or a queued invalidation.
 * `onStates(states, now)` applies tag states learnt from Redis; `localStates(tags)` reads the
 * local merged states (for invalidations queued while Redis was away).
 */
class RedisTier extends EventEmitter {
  constructor(config, { onStates, localStates, log = (m) => console.warn(`[@rs/next-native cache] ${m}`) }) {
    super()
    this.config = config
    this.timeout = config.timeout
    this.onStates = onStates
    this.localStates = localStates
    this.log = log
    this.origin = randomBytes(8).toString('hex')
    const p = config.keyPrefix
    this.entryPrefix = `${p}e{}:`
    this.statesKey = `{${p}t}:states`
    this.logKey = `{${p}t}:log`
    this.channel = `${p}tags`
    this.lastSeen = 0 // Redis time of the newest log record pulled
    this.synced = false // first full pull done: until then an L2 entry cannot be checked
    this.pending = new Set() // tags revalidated here while Redis was away
    this.pulling = null
    this.queued = null
    this.closed = false
    this.maxEntryBytes = config.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES
    this.warned = new Set() // once-per-process notices (oversized, damaged entries)

    ;({ client: this.client, owned: this.owned } = createClient(config))
    // The subscriber keeps its offline queue: SUBSCRIBE is sent once and replayed on reconnect.
    this.sub = this.client.isCluster
      ? this.client.duplicate(undefined, { enableOfflineQueue: true })
      : this.client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined })

    for (const [name, lua, keys] of [['nnSetIfNewer2', SET_IF_NEWER, 1], ['nnDropIfSame', DROP_IF_SAME, 1], ['nnRevalidate', REVALIDATE, 2], ['nnPull', PULL, 2]]) {
      if (typeof this.client[name] !== 'function') this.client.defineCommand(name, { numberOfKeys: keys, lua })
    }

    this.sub.on('ready', () => this.catchUp())
    this.sub.on('message', (channel, message) => channel === this.channel && this.onMessage(message))
    this.syncTimer = setInterval(() => this.pull().catch(() => {}), SYNC_INTERVAL_MS)
    this.syncTimer.unref()
    // Resolves once the first pull is done (or never, if Redis never comes up: waits on it are bounded).
    this.syncedOnce = new Promise((resolve) => this.once('synced', resolve))
    // Outages (lib/redis-health.js, shared with the image tier). Redis back: on each 'ready'
    // (the first one is the initial sync) and after an outage that ended without a reconnect
    // (a slow spell, a stalled link, a paused server), nothing else would send the
    // revalidations queued meanwhile, so the tier resyncs.
    this.health = new RedisHealth({
      timeout: this.timeout,
      log: this.log,
      fallback: 'serving from the in-process cache and retrying in the background',
      onRecover: () => this.resync(),
    })
    this.health.watch(this.client, [this.sub])
    this.sub.subscribe(this.channel).catch((err) => this.health.down(err))
    if (this.client.status === 'ready') this.resync()
  }

  get available() {
    return this.health.available
  }

  get healthy() {
    return this.health.healthy
  }

  /**
   * After an outage (and on the first connection): sends the revalidations queued meanwhile,
   * then pulls what was missed. Never rejects (it runs from event handlers): a failure leaves
   * the tags queued and marks the next outage, whose end resyncs again.
   */
  async resync() {
    await this.flushPending().catch(() => {})
    await this.catchUp()
  }

  /** Pull everything changed since shortly before the last pull (missed messages). */
  async catchUp() {
    this.lastSeen = Math.max(0, this.lastSeen - CATCH_UP_MARGIN_MS)
    await this.pull().catch(() => {})
  }

  onMessage(message) {
    try {
      const { o, s } = JSON.parse(message)
      if (o === this.origin) return
      const states = []
      for (let i = 0; i + 1 < s.length; i += 2) {
        const st = parseState(s[i], s[i + 1])
        if (st) states.push(st)
      }
      this.apply(states)
    } catch (err) {
      this.log(`ignoring a malformed tag message: ${err && err.message}`)
    }
  }

  apply(states) {
    if (states.length === 0) return
    const now = Date.now()
    if (this.synced) states = this.learntNow(states, now)
    this.onStates(states, now)
    this.emit('states', states)
  }

  /**
   * A revalidation learnt after it happened (a late message; a catch-up after an outage, a
   * stall or a partition) counts here from the moment it is learnt. Until then this instance
   * kept serving and regenerating from entries it did not know were revalidated: a route
   * rendered during an outage from a stale fetch entry is newer than the remote revalidation,
   * yet carries the old data, and would otherwise stay fresh after the recovery. So every time
   * already in force that is newer than this instance's own record moves to `now` (a time
   * still in the future, a profile's `expire`, is kept). Before the first sync (a fresh
   * instance) nothing was served yet: the remote times are taken as they are.
   */
  learntNow(states, now) {
    const local = new Map(this.localStates(states.map((s) => s.tag)).map((s) => [s.tag, s]))
    return states.map((s) => {
      const mine = local.get(s.tag) || {}
      const out = { ...s }
      for (const f of ['staleAt', 'expiredAt']) {
        if (out[f] !== undefined && out[f] <= now && out[f] > (mine[f] ?? -1)) out[f] = now
      }
      return out
    })
  }

  /** One bounded call (lib/redis-health.js): throws RedisUnavailable, or a ReplyError (Redis is up). */
  run(what, fn) {
    return this.health.run(what, fn)
  }

  /** The entry under `key` as `{ value, lastModified, expireAt, tags }`, or null (also on failure). */
  async get(key) {
    try {
      if (!(await this.health.awaitFirstConnection())) return null
      if (!this.synced) await withTimeout(this.syncedOnce, this.timeout, 'initial tag sync')
      const fields = await this.run('get', () => this.client.hmgetBuffer(this.entryPrefix + key, 'm', 'x', 't', 'v', 'c'))
      if (fields.every((f) => f === null)) return null
      const entry = parseEntry(...fields)
      if (!entry) this.drop(key, fields[0], fields[4])
      return entry
    } catch {
      return null
    }
  }

  /**
   * A damaged entry (truncated, corrupt, or written without a checksum): logged once, then
   * deleted in the background unless it was rewritten since, so the next regeneration's
   * write lands even if the damaged `m` claims to be newer.
   */
  drop(key, m, c) {
    this.notice('damaged', `ignoring a damaged entry in Redis (${key}): truncated, corrupt or without a checksum; it is served as a miss and deleted`)
    const args = [this.entryPrefix + key, m ? m.toString() : '', c ? c.toString() : '']
    this.run('drop', () => this.client.nnDropIfSame(...args)).catch(() => {})
  }

  notice(id, message) {
    if (this.warned.has(id)) return
    this.warned.add(id)
    this.log(message)
  }

  /**
   * Writes the entry unless Redis holds a newer one. Resolves true if written; false when not
   * (Redis away, a newer entry there, already expired, or larger than `maxEntryBytes`: such
   * an entry stays in this instance's own tiers, and the first one is logged).
   */
  async set(key, bytes, tags, lastModified, expireAt, now) {
    if (bytes.length > this.maxEntryBytes) {
      this.notice('too-large', `not writing ${key} to Redis: ${bytes.length} bytes is above redis.maxEntryBytes (${this.maxEntryBytes}); entries this large stay in each instance's memory and disk tiers (logged once)`)
      return false
    }
    const ttlEnd = Math.min(expireAt ?? Infinity, now + this.config.maxTtl * 1000)
    if (!(ttlEnd > now)) return false
    try {
      if (!(await this.health.awaitFirstConnection())) return false
      const sum = checksum(bytes)
      const written = await this.run('set', () =>
        this.client.nnSetIfNewer2(this.entryPrefix + key, String(lastModified), String(expireAt ?? 0), JSON.stringify(tags), bytes, String(Math.ceil(ttlEnd)), sum),
      )
      return written === 1
    } catch {
      return false
    }
  }

  /** Records and publishes the tags' states; queued for the next connection if Redis is away. */
  async revalidate(states, now) {
    for (const s of states) this.pending.add(s.tag)
    if (!this.available) return
    await this.flushPending(now).catch(() => {})
  }

  async flushPending(now = Date.now()) {
    if (this.pending.size === 0) return
    const tags = [...this.pending]
    this.pending.clear()
    const args = []
    for (const s of this.localStates(tags)) args.push(s.tag, String(s.staleAt ?? 0), String(s.expiredAt ?? 0))
    try {
      if (args.length) await this.run('revalidate', () => this.client.nnRevalidate(this.statesKey, this.logKey, String(now), this.channel, this.origin, ...args))
    } catch (err) {
      for (const t of tags) this.pending.add(t)
      throw err
    }
  }

  /**
   * Applies every tag record changed since the last pull. Concurrent callers share one pull;
   * `lastSeen` only advances here (never from messages), so a reconnect re-reads whatever
   * was published while this instance was away.
   */
  pull() {
    // A caller arriving during a pull may need changes made after it started (refreshTags
    // after another instance's revalidation): it waits for one more pull, shared by all.
    if (this.pulling) {
      return (this.queued ??= this.pulling
        .catch(() => {})
        .then(() => {
          this.queued = null
          return this.pull()
        }))
    }
    this.pulling = (async () => {
      const since = this.lastSeen
      let newest = since
      for (let offset = 0; ; offset += PULL_PAGE) {
        const rows = await this.run('pull', () => this.client.nnPull(this.statesKey, this.logKey, String(since), String(offset), String(PULL_PAGE)))
        const states = []
        for (let i = 0; i + 2 < rows.length; i += 3) {
          newest = Math.max(newest, Number(rows[i + 1]))
          const st = parseState(rows[i], rows[i + 2])
          if (st) states.push(st)
        }
        this.apply(states)
        if (rows.length < PULL_PAGE * 3) break
      }
      this.lastSeen = Math.max(this.lastSeen, newest)
      if (!this.synced) {
        this.synced = true
        this.emit('synced')
      }
    })().finally(() => {
      this.pulling = null
    })
    return this.pulling
  }

  /** `'use cache'` refreshTags: one bounded pull; never throws. */
  async refresh() {
    try {
      await this.pull()
    } catch {
      // down() already logged; gets fall back to the in-process store.
    }
  }

  /** Pulls every tag record from the start, for a local store that lost them (a rebuilt store). */
  relearnAll() {
    this.lastSeen = 0
    return this.refresh()
  }

  /** Whether build-scoped entries are shared between builds (`redis.shareAcrossBuilds`). */
  get sharesAcrossBuilds() {
    return this.config.shareAcrossBuilds === true
  }

  /** For stats: connected, caught up with the tag log, and tag revalidations waiting to be sent. */
  status() {
    return { healthy: this.healthy, synced: this.synced, pendingTags: this.pending.size }
  }

  async close() {
    this.closed = true
    this.health.close()
    clearInterval(this.syncTimer)
    this.sub.disconnect()
    if (this.owned) this.client.disconnect()
  }
}

// The Lua scripts, for __test__/tag-merge.test.js (one merge table for the store, Redis and the hot tier).
const SCRIPTS = { setIfNewer: SET_IF_NEWER, dropIfSame: DROP_IF_SAME, revalidate: REVALIDATE, pull: PULL }

module.exports = { RedisTier, RedisUnavailable, resolveConfig, createClient, withTimeout, checksum, DEFAULT_PREFIX, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_ENTRY_BYTES, SCRIPTS }
