'use strict'

// next.config (16): cacheHandlers: { default: require.resolve('@rs/next-native/cache-handlers'),
//                                    remote: require.resolve('@rs/next-native/cache-handlers') }
// (15.x: under `experimental.cacheHandlers`.)
//
// The `'use cache'` handler for all three interface generations: 15.0–15.2 (get, set,
// expireTags, receiveExpiredTags), 15.3–15.5 (+ refreshTags, getExpiration(...tags)) and 16
// (getExpiration(tags), updateTags(tags, durations)). Entries live in the same process-wide
// native store as the incremental cache. The stream is read into bytes in `set` and never
// kept; every `get` returns a fresh stream.

const { sharedStore, cacheStats, closeShared, warnOnce, refused, checkTags, checkDurations } = require('./cache-store')
const { invalidArgType, invalidArgValue, validateString } = require('./errors')
const { validateOptions } = require('./cache-handler')

const KEY_PREFIX = 'u:'

async function streamToBuffer(stream) {
  const chunks = []
  const reader = stream.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return Buffer.concat(chunks)
}

function streamFromBuffer(bytes) {
  return new ReadableStream({
    start(controller) {
      if (bytes.length) controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length))
      controller.close()
    },
  })
}

/** What Next resolves `pendingEntry` to; a bad one is not stored. */
function checkEntry(entry) {
  if (entry === null || typeof entry !== 'object') throw invalidArgType('pendingEntry', 'a promise of a cache entry', entry)
  if (typeof entry.value?.getReader !== 'function') throw invalidArgType('pendingEntry.value', 'a ReadableStream', entry.value)
  if (entry.tags !== undefined) checkTags(entry.tags, 'pendingEntry.tags')
  for (const field of ['timestamp', 'expire']) {
    const v = entry[field]
    if (typeof v !== 'number') throw invalidArgType(`pendingEntry.${field}`, 'a number', v)
    if (!(v >= 0)) throw invalidArgValue(`pendingEntry.${field}`, 'must be a number from 0', v)
  }
}

function create(options = {}) {
  validateOptions(options)
  let store
  // Created on first use, so loading next.config does not allocate the store.
  const getStore = () =>
    (store ??= sharedStore({ maxMemory: options.maxMemory, compression: options.compression, hotMemory: options.hotMemory, redis: options.redis }))
  // `get` waits for an in-flight `set` of the same key, as Next's built-in handler does.
  const pendingSets = new Map()

  const handler = {
    async get(cacheKey, softTags = []) {
      if (refused("'use cache' get", () => (validateString(cacheKey, 'cacheKey'), checkTags(softTags, 'softTags')))) return undefined
      try {
        const pending = pendingSets.get(cacheKey)
        if (pending) await pending
        const hit = await getStore().getShared(KEY_PREFIX + cacheKey, softTags, Date.now())
        if (!hit) return undefined
        const { entry, value } = hit.record
        // Past `revalidate` the entry is still returned: Next serves it and regenerates in the
        // background. The store's TTL is `expire`, the hard limit. A tag revalidated with a
        // profile (stale, not expired) asks Next to regenerate now, as the built-in does.
        return { ...entry, revalidate: hit.stale ? -1 : entry.revalidate, value: streamFromBuffer(value) }
      } catch (err) {
        warnOnce(`uc-get:${err && err.message}`, `'use cache' get failed, serving a miss: ${err && err.stack}`)
        return undefined
      }
    },

    async set(cacheKey, pendingEntry) {
      const bad = refused("'use cache' set", () => {
        validateString(cacheKey, 'cacheKey')
        if (pendingEntry === null || (typeof pendingEntry !== 'object' && typeof pendingEntry !== 'function')) {
          throw invalidArgType('pendingEntry', 'a promise of a cache entry', pendingEntry)
        }
      })
      if (bad) {
        // Never leave a rejected render unhandled.
        if (typeof pendingEntry?.then === 'function') pendingEntry.then(undefined, () => {})
        return
      }
      let settle
      const pending = new Promise((resolve) => (settle = resolve))
      pendingSets.set(cacheKey, pending)
      try {
        const entry = await pendingEntry
        if (refused("'use cache' set", () => checkEntry(entry))) return
        // A stream that errors leaves partial data: discard it (what Next's docs recommend).
        const value = await streamToBuffer(entry.value)
        const now = Date.now()
        const meta = { tags: entry.tags, stale: entry.stale, timestamp: entry.timestamp, expire: entry.expire, revalidate: entry.revalidate }
        const expireAt = entry.timestamp + entry.expire * 1000
        await getStore().setShared(KEY_PREFIX + cacheKey, { entry: meta, value }, entry.tags || [], entry.timestamp, expireAt, now)
      } catch (err) {
        warnOnce(`uc-set:${err && err.message}`, `'use cache' set failed, entry not cached: ${err && err.stack}`)
      } finally {
        settle()
        if (pendingSets.get(cacheKey) === pending) pendingSets.delete(cacheKey)
      }
    },

    // 15.3+: called once per request before the first read. With Redis: pulls the tag
    // records changed since the last pull (one bounded round trip), so a revalidation on
    // another instance that finished before this request began is seen even if its pub/sub
    // message is still in flight. Must not throw: it would fail the request.
    async refreshTags() {
      try {
        await getStore().refreshTags()
      } catch (err) {
        warnOnce(`uc-refresh:${err && err.message}`, `refreshTags failed: ${err && err.stack}`)
      }
    },

    // 15.3–15.5 pass varargs, 16 passes an array.
    async getExpiration(...tags) {
      const list = tags.flat()
      if (refused("'use cache' getExpiration", () => checkTags(list, 'tags'))) return 0
      try {
        return getStore().expiration(list)
      } catch (err) {
        warnOnce(`uc-exp:${err && err.message}`, `getExpiration failed: ${err && err.stack}`)
        return 0
      }
    },

    // 16: without durations the tags expire now; with `expire` they go stale now.
    async updateTags(tags, durations) {
      if (refused("'use cache' updateTags", () => (checkTags(tags, 'tags'), checkDurations(durations)))) return
      try {
        const expire = durations && typeof durations.expire === 'number' ? durations.expire : undefined
        await getStore().revalidateTagsShared(tags, Date.now(), expire)
      } catch (err) {
        warnOnce(`uc-update:${err && err.message}`, `updateTags failed: ${err && err.stack}`)
      }
    },

    // 15.x: revalidateTag / revalidatePath.
    async expireTags(...tags) {
      return handler.updateTags(tags.flat())
    },

    // 15.0–15.2 only; tags another instance revalidated (minimal mode). Expiring them here would
    // also expire entries regenerated since, so like OpenNext we leave it to the tag records.
    async receiveExpiredTags() {},

    /** Stats of the process-wide store (shared with the incremental cache handler). */
    getCacheStats: cacheStats,

    /** Closes the Redis connections, if any (scripts and tests that must exit). */
    disconnect: closeShared,
  }
  return handler
}

const handler = create()
handler.create = create
handler.default = handler

module.exports = handler
