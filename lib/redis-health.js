'use strict'

// One outage state machine for both Redis tiers: the page cache's (cache-redis.js RedisTier)
// and the image handler's (image/shared-tier.js SharedTier). Each tier owns one RedisHealth
// and sends every Redis call through `run`.
//
//   up ──(a call fails or times out, the connection errors or closes)──▶ down
//   down: `available` is false for COOL_DOWN_MS after the last failure, so requests skip Redis
//         at once instead of each paying the timeout; the first failure of an outage is logged.
//   down ──(the client is 'ready' again, or a call succeeds)──▶ up: logged once; `onRecover`.
//   first connection: before the client has ever been ready (a fresh instance connecting on
//         first use), a call waits for it, bounded by the timeout, so an instance's first
//         writes reach Redis; if it does not come, that is an outage like any other.
//
// A ReplyError about the call (WRONGTYPE: a foreign key under our prefix; OOM: maxmemory
// reached, reads still work; READONLY; ERR ...) is an answer from the server, not an outage:
// the connection works and the answer came within the timeout, so it is rethrown as it is,
// the tier stays up and other calls keep using Redis. Each tier decides what such an answer
// means for its call (a miss, a skipped write); this file logs it once per kind so that a
// misconfigured server is seen. The replies that say the server cannot serve anything right
// now (LOADING, BUSY, MASTERDOWN, CLUSTERDOWN) are outages like a timeout.

/**
 * Redis could not answer (down, slow, disconnected): the internal signal of both Redis tiers,
 * caught where it is raised and turned into a miss, a local write or one log line. It never
 * reaches a caller, so it carries no `ERR_` code.
 */
class RedisUnavailable extends Error {}

/** `promise`, or a RedisUnavailable rejection once `ms` have passed (the timer is cleared either way). */
function withTimeout(promise, ms, what) {
  let timer
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new RedisUnavailable(`${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

// After a failure, requests skip Redis this long instead of each paying the timeout.
const COOL_DOWN_MS = 1000

const OUTAGE_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'CLUSTERDOWN'])
const replyKind = (err) => String(err.message).split(' ', 1)[0]

/** Redis answered the call with an error about it (not one of OUTAGE_REPLIES). */
const isReplyError = (err) => Boolean(err) && err.name === 'ReplyError' && !OUTAGE_REPLIES.has(replyKind(err))

class RedisHealth {
  /**
   * @param {object} o
   * @param {number} o.timeout  ms: the default bound of a call, and of the first-connection wait
   * @param {(message: string) => void} o.log  the tier's logger (one line per outage and recovery)
   * @param {string} o.fallback  what the tier does during an outage, for the log line
   * @param {() => void} [o.onRecover]  called when Redis is back: on each 'ready' (the first
   *   one too) and when a call succeeds after an outage that saw no reconnect (a slow spell,
   *   a paused server). The page tier resyncs its tags there; it must not throw.
   */
  constructor({ timeout, log, fallback, onRecover = () => {} }) {
    this.timeout = timeout
    this.log = log
    this.fallback = fallback
    this.onRecover = onRecover
    this.healthy = true
    this.skipUntil = 0
    this.closed = false
    this.client = null
    this.everReady = false
    this.firstReady = null
    this.replyErrors = new Set() // kinds logged once
    this.listeners = []
  }

  /**
   * Follows `client` (and `others`, e.g. a subscriber connection, whose errors are outages
   * too). Sets `everReady` and `firstReady` (a promise of the first 'ready').
   */
  watch(client, others = []) {
    this.client = client
    const on = (emitter, event, fn) => {
      emitter.on(event, fn)
      this.listeners.push([emitter, event, fn])
    }
    on(client, 'error', (err) => this.down(err))
    // A dropped connection is an outage as soon as it happens, not at the first failed retry.
    on(client, 'close', () => !this.closed && this.down(new RedisUnavailable('connection closed')))
    on(client, 'ready', () => {
      this.everReady = true
      this.up()
      this.onRecover()
    })
    for (const other of others) on(other, 'error', (err) => this.down(err))
    this.everReady = client.status === 'ready'
    this.firstReady = new Promise((resolve) => {
      if (this.everReady) return resolve()
      client.once('ready', resolve)
    })
  }

  get available() {
    return !this.closed && this.client !== null && this.client.status === 'ready' && Date.now() >= this.skipUntil
  }

  /**
   * `available`, except that before the first connection is ready it waits for it, bounded
   * by the timeout (see the top of this file). After that, or during a cool-down, it answers
   * at once. A first connection that does not come in time starts an outage.
   */
  async awaitFirstConnection() {
    if (this.available) return true
    if (this.closed || this.client === null || this.everReady || Date.now() < this.skipUntil) return false
    await withTimeout(this.firstReady, this.timeout, 'first connection').catch(() => {})
    if (this.available) return true
    this.down(new RedisUnavailable('not connected'))
    return false
  }

  /** Starts (or extends) a cool-down; logs the first failure of an outage, not every one. */
  down(err) {
    this.skipUntil = Date.now() + COOL_DOWN_MS
    if (!this.healthy) return
    this.healthy = false
    this.log(`Redis unavailable (${err && err.message}); ${this.fallback}`)
  }

  /** Ends an outage; true when one was in progress. */
  up() {
    this.skipUntil = 0
    if (this.healthy) return false
    this.healthy = true
    this.log('Redis reachable again')
    return true
  }

  /**
   * One call, bounded by `ms`. Throws RedisUnavailable when Redis is skipped (not connected,
   * cool-down) or fails (and starts a cool-down); rethrows a ReplyError unchanged (Redis is up).
   * `firstConnection`: wait, bounded, for a fresh client's first connection before giving up.
   */
  async run(what, fn, { ms = this.timeout, firstConnection = false } = {}) {
    if (!this.available && !(firstConnection && (await this.awaitFirstConnection()))) {
      const skipped = new RedisUnavailable(`${what}: not connected`)
      skipped.skipped = true // not sent (no connection, or a cool-down): not a failure of its own
      throw skipped
    }
    try {
      const result = await withTimeout(fn(), ms, what)
      if (this.up()) this.onRecover()
      return result
    } catch (err) {
      if (isReplyError(err)) {
        if (this.up()) this.onRecover()
        const kind = replyKind(err)
        if (!this.replyErrors.has(kind)) {
          this.replyErrors.add(kind)
          this.log(`Redis answered ${what} with an error (${err.message}); treated as a miss or a skipped write, Redis stays in use (logged once per kind)`)
        }
        throw err
      }
      this.down(err)
      throw err instanceof RedisUnavailable ? err : new RedisUnavailable(`${what}: ${err && err.message}`)
    }
  }

  /** Stops following the client (its own listeners stay); `available` is false from now on. */
  close() {
    this.closed = true
    for (const [emitter, event, fn] of this.listeners) emitter.off(event, fn)
    this.listeners = []
  }
}

module.exports = { RedisHealth, RedisUnavailable, withTimeout, COOL_DOWN_MS, isReplyError }
