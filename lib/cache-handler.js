'use strict'

// next.config: `cacheHandler: require.resolve('@rs/next-native/cache-handler')`
//
// Next's incremental cache handler (ISR pages, route handlers, fetch/unstable_cache data,
// redirects, images) for Next 14, 15 and 16, backed by the process-wide native store. Next
// constructs this class for every request, so the constructor only looks up the shared store.
// It never throws into Next: a failed `get` is a miss and a failed `set` is logged once.

const { sharedStore, cacheStats, closeShared, warnOnce, refused, checkTags, checkDurations } = require('./cache-store')
const { invalidArgType, invalidArgValue, validateBoolean, validateInteger, validateObject, validateString } = require('./errors')
const path = require('node:path')
const { diskConfig, readBuildId, seedReader } = require('./cache-disk')

// Incremental entries and `'use cache'` entries share one store (one budget) in separate
// key spaces.
const KEY_PREFIX = 'i:'
const TAGS_HEADER = 'x-next-cache-tags'

/** Tags of a page/route entry: Next puts them (implicit + collected) in this header. */
function headerTags(data) {
  const raw = data && data.headers && data.headers[TAGS_HEADER]
  if (!raw) return []
  const list = Array.isArray(raw) ? raw : String(raw).split(',')
  return list.map((t) => t.trim()).filter(Boolean)
}

function isFetch(ctx, data) {
  // 15+: ctx.kind; 14: ctx.kindHint on get, ctx.fetchCache on set.
  return ctx.kind === 'FETCH' || ctx.kindHint === 'fetch' || ctx.fetchCache === true || (data && data.kind === 'FETCH')
}

/**
 * A tag was revalidated with a profile (Next 16 `revalidateTag(tag, 'max')`) after this entry
 * was written: Next must serve it stale and regenerate it in the background. Next decides
 * staleness from `lastModified` + the revalidate time (and from its own in-process tag list,
 * which is off with `cacheMaxMemorySize: 0`), so the hit reports a `lastModified` just past
 * the revalidate time. An entry that never revalidates by time (`revalidate: false`) gets a
 * returned `cacheControl` (16.4+ prefers it) with a 1 s revalidate, so it is stale too; the
 * regenerated entry is stored with the page's real cacheControl.
 */
function staleView(hit, record, ctx) {
  const value = record.value
  const revalidate =
    (record.cacheControl && record.cacheControl.revalidate) || ctx.revalidate || (value && value.kind === 'FETCH' && value.revalidate)
  const now = Date.now()
  if (typeof revalidate === 'number' && revalidate > 0) {
    return { lastModified: Math.min(hit.lastModified, now - revalidate * 1000 - 1), cacheControl: record.cacheControl }
  }
  if (record.cacheControl) {
    return { lastModified: now - 2000, cacheControl: { ...record.cacheControl, revalidate: 1 } }
  }
  return { lastModified: -1, cacheControl: undefined } // before 16.4: Next's "revalidate now"
}

/**
 * An IMAGE entry as Next's image optimizer can send it (`images.customCacheHandler: true`,
 * 16.2+; `next/dist/server/image-optimizer.js`): a non-empty Buffer, string etag and
 * extension. Anything else under an image key is a miss, as Next's own disk cache treats an
 * empty or unreadable file, so Next regenerates it and the write replaces it in every tier.
 */
function isImageValue(value) {
  return (
    value !== null &&
    typeof value === 'object' &&
    value.kind === 'IMAGE' &&
    Buffer.isBuffer(value.buffer) &&
    value.buffer.length > 0 &&
    typeof value.etag === 'string' &&
    typeof value.extension === 'string' &&
    (value.revalidate === undefined || typeof value.revalidate === 'number')
  )
}

function checkKey(key, ctx) {
  validateString(key, 'key')
  if (ctx === null || typeof ctx !== 'object') throw invalidArgType('ctx', 'an object', ctx)
}

function budget(options, ctx) {
  if (options.maxMemory !== undefined) return options.maxMemory
  // Next's cacheMaxMemorySize sizes its own in-memory LRU; 0 there means "no Next memory
  // cache" (as recommended with a custom handler), not "no cache at all".
  return ctx.maxMemoryCacheSize > 0 ? ctx.maxMemoryCacheSize : undefined
}

function validate(options) {
  validateObject(options, 'options')
  const { maxMemory, hotMemory, maximumDiskCacheSize, diskCacheDir, compression } = options
  // Bytes: maxMemory > 0; hotMemory and maximumDiskCacheSize may be 0 (that tier off).
  if (maxMemory !== undefined) validateInteger(maxMemory, 'options.maxMemory', 1)
  if (hotMemory !== undefined) validateInteger(hotMemory, 'options.hotMemory')
  if (maximumDiskCacheSize !== undefined) validateInteger(maximumDiskCacheSize, 'options.maximumDiskCacheSize')
  if (diskCacheDir !== undefined && validateString(diskCacheDir, 'options.diskCacheDir') === '') {
    throw invalidArgValue('options.diskCacheDir', 'must not be empty', diskCacheDir)
  }
  if (compression !== undefined) validateBoolean(compression, 'options.compression')
  // Shape only (the tier, and its client, load on first use); `false` turns REDIS_URL off.
  if (options.redis !== undefined && options.redis !== false) require('./cache-redis').resolveConfig(options.redis, {})
  return options
}

function create(options = {}) {
  validate(options)

  class NextNativeCacheHandler {
    constructor(ctx = {}) {
      validateObject(ctx, 'ctx')
      // A bad field is ignored with a warning: this runs inside every request.
      if (ctx.maxMemoryCacheSize !== undefined && refused('cacheHandler', () => validateInteger(ctx.maxMemoryCacheSize, 'ctx.maxMemoryCacheSize'))) {
        ctx = { ...ctx, maxMemoryCacheSize: undefined }
      }
      this.store = sharedStore({ maxMemory: budget(options, ctx), compression: options.compression, hotMemory: options.hotMemory, redis: options.redis })
      // Minimal mode only: tags revalidated by the previous request, to treat as invalid.
      const revalidated = ctx.revalidatedTags
      this.revalidatedTags = revalidated === undefined || refused('cacheHandler', () => checkTags(revalidated, 'ctx.revalidatedTags')) ? [] : revalidated
      // The running build's ID namespaces build-scoped entries in Redis (cache-store.js remoteKey).
      // Read once per process: this constructor runs inside every request.
      if (ctx.serverDistDir && !this.store.buildId) this.store.knowBuild(readBuildId(path.dirname(ctx.serverDistDir)))
      // The disk tier is opened by the first construction that knows where the build is.
      if (this.store.diskRoot === undefined) {
        const config = diskConfig(options, ctx)
        if (config) this.store.attachDisk(config)
      }
      this.seed = seedReader(ctx)
    }

    async get(key, ctx = {}) {
      if (refused('get', () => checkKey(key, ctx))) return null
      try {
        const fetch = isFetch(ctx)
        const extraTags = fetch ? [...(ctx.tags || []), ...(ctx.softTags || [])] : []
        // A memory miss asks the disk tier, then Redis when configured (bounded wait), then
        // the build's own output, as Next's default cache serves prerendered pages.
        const now = Date.now()
        // A memory hit (the common case) is answered without waiting for another promise.
        let hit = this.store.get(KEY_PREFIX + key, extraTags, now) ?? (await this.store.getBelow(KEY_PREFIX + key, extraTags, now, fetch ? 'shared' : 'build'))
        if (!hit && !fetch && this.seed) hit = await this.fromBuild(key, ctx, extraTags, now)
        if (!hit) return null
        if (this.revalidatedTags.length && [...hit.tags, ...extraTags].some((t) => this.revalidatedTags.includes(t))) {
          return null
        }
        const { record } = hit
        if (ctx.kind === 'IMAGE' && !isImageValue(record.value)) {
          warnOnce(`bad-image:${key}`, `the cached image ${key} is not a well-formed IMAGE entry; serving a miss`)
          return null
        }
        const view = hit.stale ? staleView(hit, record, ctx) : { lastModified: hit.lastModified, cacheControl: record.cacheControl }
        const result = { lastModified: view.lastModified, value: record.value }
        // 16.4+: lets this and other instances know the entry's lifetime after a restart.
        if (view.cacheControl) result.cacheControl = view.cacheControl
        return result
      } catch (err) {
        warnOnce(`get:${err && err.message}`, `get failed, serving a miss: ${err && err.stack}`)
        return null
      }
    }

    async fromBuild(key, ctx, extraTags, now) {
      const data = await this.seed.get(key, ctx)
      if (!data || !data.value) return null
      const record = data.cacheControl ? { value: data.value, cacheControl: data.cacheControl } : { value: data.value }
      return this.store.fromBuild(KEY_PREFIX + key, record, headerTags(data.value), data.lastModified, extraTags, now)
    }

    async set(key, data, ctx = {}) {
      if (refused('set', () => checkKey(key, ctx))) return
      try {
        const now = Date.now()
        let value = data
        let tags
        const fetch = isFetch(ctx, data)
        if (fetch) {
          tags = ctx.tags || (data && data.tags) || []
          // As Next's file-system cache stores it: the entry carries the tags it was set with.
          if (data && ctx.tags) value = { ...data, tags: ctx.tags }
        } else {
          tags = headerTags(data)
        }
        const cacheControl = ctx.cacheControl
        const expireAt =
          cacheControl && typeof cacheControl.expire === 'number' && cacheControl.expire > 0
            ? now + cacheControl.expire * 1000
            : undefined
        const record = cacheControl ? { value, cacheControl } : { value }
        const outcome = await this.store.setShared(KEY_PREFIX + key, record, tags, now, expireAt, now, fetch ? 'shared' : 'build')
        if (outcome === 'too-large') {
          const { maxEntryBytes } = this.store.stats()
          warnOnce(`too-large:${key}`, `not caching ${key}: the entry is larger than the largest admissible entry (${maxEntryBytes} bytes); raise maxMemory`)
        }
      } catch (err) {
        warnOnce(`set:${err && err.message}`, `set failed, entry not cached: ${err && err.stack}`)
      }
    }

    // 14/15: (tags); 16: (tags, durations?) where durations.expire (seconds) means stale now,
    // expired later; without it the tags expire immediately.
    async revalidateTag(tags, durations) {
      const list = typeof tags === 'string' ? [tags] : tags
      if (refused('revalidateTag', () => (checkTags(list, 'tags'), checkDurations(durations)))) return
      try {
        if (list.length === 0) return
        const expire = durations && typeof durations.expire === 'number' ? durations.expire : undefined
        await this.store.revalidateTagsShared(list, Date.now(), expire)
      } catch (err) {
        warnOnce(`revalidateTag:${err && err.message}`, `revalidateTag failed: ${err && err.stack}`)
      }
    }

    resetRequestCache() {}

    /** Hits, misses, evictions, bytes, entries… of the process-wide store. */
    static stats() {
      return cacheStats()
    }

    /** Closes the Redis connections, if any (scripts and tests that must exit). */
    static disconnect() {
      return closeShared()
    }
  }

  return NextNativeCacheHandler
}

const NextNativeCacheHandler = create()
NextNativeCacheHandler.create = create
NextNativeCacheHandler.getCacheStats = cacheStats
NextNativeCacheHandler.default = NextNativeCacheHandler

NextNativeCacheHandler.validateOptions = validate

module.exports = NextNativeCacheHandler
