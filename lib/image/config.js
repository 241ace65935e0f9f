'use strict'

// Config: next.config `images` as Next 16.4 resolves it. Mirrors `server/config-shared.js`
// (the defaults), `server/config-schema.ts` (the ranges) and `server/config.js` (the
// normalisation of localPatterns / remotePatterns), plus our own keys (publicDir, distDir,
// cacheDir, concurrency, fetchTimeoutInSeconds, logger, redis, maximumMemoryCacheSize; and
// imgOptThreads, resolved from imgOptConcurrency). Refuses, with ERR_INVALID_ARG_TYPE
// or ERR_INVALID_ARG_VALUE and the key's name, any value Next's schema would reject, a
// non-safe integer, and patterns with glob syntax we do not match (see patterns.js).

const os = require('node:os')
const path = require('node:path')
const { codedError, describeReceived, invalidArgType } = require('../errors')
const { AVIF, WEBP } = require('./image-type')
const { globToRegExp } = require('./patterns')

// The in-process tier's default bound when Redis is configured (else 0: off).
const DEFAULT_MEMORY_CACHE_BYTES = 64 * 1024 * 1024

const DEFAULTS = {
  deviceSizes: [640, 750, 828, 1080, 1200, 1920, 2048, 3840],
  imageSizes: [32, 48, 64, 96, 128, 256, 384],
  qualities: [75],
  formats: ['image/webp'],
  minimumCacheTTL: 14400,
  dangerouslyAllowSVG: false,
  contentSecurityPolicy: "script-src 'none'; frame-src 'none'; sandbox;",
  contentDispositionType: 'attachment',
  remotePatterns: [],
  domains: [],
  maximumRedirects: 3,
  maximumResponseBody: 50_000_000,
  dangerouslyAllowLocalIP: false,
  // experimental.imgOpt* in next.config; top-level here.
  imgOptTimeoutInSeconds: 7,
  imgOptMaxInputPixels: 268_402_689,
  // null: Next's default, resolved below (imgOptThreads).
  imgOptConcurrency: null,
}
// libvips' cap on threads per image (MAX_THREADS), which sharp.concurrency(n) runs into.
const MAX_IMG_OPT_THREADS = 1024
const OUTPUT_FORMATS = [AVIF, WEBP]

function resolveConfig(config = {}) {
  if (config === null || typeof config !== 'object') throw invalidArgType('config', 'an object', config)
  const c = { ...DEFAULTS }
  for (const [key, value] of Object.entries(config)) if (value !== undefined) c[key] = value
  const bad = (message) => codedError('ERR_INVALID_ARG_VALUE', `createImageHandler: ${message}`, TypeError)
  const describe = describeReceived

  // Next 16.4's config schema (server/config-schema.ts) ranges; where it takes any integer we
  // also refuse what is not a safe one.
  const isInt = (n, min, max = Number.MAX_SAFE_INTEGER) => Number.isSafeInteger(n) && n >= min && n <= max
  for (const key of ['deviceSizes', 'imageSizes']) {
    if (!Array.isArray(c[key]) || !c[key].every((n) => isInt(n, 1, 10000))) {
      throw bad(`images.${key} must be an array of integers from 1 to 10000`)
    }
  }
  if (c.qualities !== null && !(Array.isArray(c.qualities) && c.qualities.every((q) => Number.isInteger(q) && q >= 1 && q <= 100))) {
    throw bad('images.qualities must be an array of integers from 1 to 100')
  }
  if (!Array.isArray(c.formats) || !c.formats.every((f) => OUTPUT_FORMATS.includes(f))) {
    throw bad(`images.formats must only contain ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(' or ')}`)
  }
  if (!['inline', 'attachment'].includes(c.contentDispositionType)) {
    throw bad('images.contentDispositionType must be "inline" or "attachment"')
  }
  for (const [key, min] of [
    ['minimumCacheTTL', 0],
    ['maximumRedirects', 0],
    ['maximumResponseBody', 1],
    ['imgOptMaxInputPixels', 0],
    ['maximumDiskCacheSize', 0],
    ['maximumMemoryCacheSize', 0],
  ]) {
    if (c[key] !== undefined && !isInt(c[key], min)) throw bad(`images.${key} must be an integer from ${min}. Received ${describe(c[key])}`)
  }
  // Next's schema takes any integer (libvips reads one below 1 as 0); a negative count is
  // refused here, as every negative number in this package's arguments is.
  if (c.imgOptConcurrency !== null && !isInt(c.imgOptConcurrency, 0)) {
    throw bad(`imgOptConcurrency must be an integer from 0 (threads per image; 0: one per core) or null (Next's default). Received ${describe(c.imgOptConcurrency)}`)
  }
  for (const key of ['dangerouslyAllowSVG', 'dangerouslyAllowLocalIP']) {
    if (typeof c[key] !== 'boolean') throw bad(`images.${key} must be a boolean. Received ${describe(c[key])}`)
  }
  if (typeof c.contentSecurityPolicy !== 'string') throw bad(`images.contentSecurityPolicy must be a string. Received ${describe(c.contentSecurityPolicy)}`)
  if (!Array.isArray(c.domains) || !c.domains.every((d) => typeof d === 'string')) throw bad('images.domains must be an array of strings')
  for (const key of ['basePath', 'publicDir', 'distDir', 'cacheDir']) {
    if (c[key] !== undefined && typeof c[key] !== 'string') throw bad(`${key} must be a string. Received ${describe(c[key])}`)
  }
  // Seconds, fractions allowed (Next takes whole ones), up to what a timer can wait.
  for (const key of ['imgOptTimeoutInSeconds', 'fetchTimeoutInSeconds']) {
    const v = c[key]
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 2 ** 31 / 1000)) {
      throw bad(`${key} must be a number of seconds from 0 to ${2 ** 31 / 1000}. Received ${describe(v)}`)
    }
  }
  if (c.logger !== undefined) {
    if (c.logger === null || typeof c.logger !== 'object') throw bad(`logger must be an object with error and warn methods. Received ${describe(c.logger)}`)
    for (const level of ['error', 'warn']) {
      if (c.logger[level] !== undefined && typeof c.logger[level] !== 'function') throw bad(`logger.${level} must be a function. Received ${describe(c.logger[level])}`)
    }
  }

  // next.config normalisation (server/config.js): unset localPatterns forbid any query
  // string; set ones always allow static imports.
  if (c.localPatterns === undefined || c.localPatterns === null) {
    c.localPatterns = [{ pathname: '**', search: '' }]
  } else {
    if (!Array.isArray(c.localPatterns)) throw bad('images.localPatterns must be an array')
    c.localPatterns.forEach((p, i) => {
      if (p === null || typeof p !== 'object') throw bad(`images.localPatterns[${i}] must be an object`)
      for (const key of ['pathname', 'search']) {
        if (p[key] !== undefined && typeof p[key] !== 'string') throw bad(`images.localPatterns[${i}].${key} must be a string. Received ${describe(p[key])}`)
      }
    })
    c.localPatterns = [...c.localPatterns]
    for (const pathname of ['/_next/static/media/**', '/_next/static/immutable/media/**']) {
      if (!c.localPatterns.some((p) => p.pathname === pathname && p.search === '')) c.localPatterns.push({ pathname, search: '' })
    }
  }
  if (!Array.isArray(c.remotePatterns)) throw bad('images.remotePatterns must be an array')
  // A `URL` (Next 15.3+) or, here also, a URL string: destructured as Next does, so
  // `new URL('https://cdn.example/**')` means port '' (the default) and search '' (none).
  c.remotePatterns = c.remotePatterns.map((p) => {
    const { protocol, hostname, port, pathname, search } = typeof p === 'string' ? new URL(p) : p
    const proto = protocol?.replace(/:$/, '')
    if (!['http', 'https', undefined].includes(proto)) {
      throw bad(`Specified images.remotePatterns must have protocol "http" or "https" received "${proto}".`)
    }
    if (typeof hostname !== 'string') throw bad(`images.remotePatterns entries must define hostname, got ${JSON.stringify(p)}`)
    return { protocol: proto, hostname, port, pathname, search }
  })
  c.remoteMatchers = c.remotePatterns.map((p) => ({
    ...p,
    hostnameRe: globToRegExp(p.hostname, false),
    pathnameRe: globToRegExp(p.pathname ?? '**', true),
  }))
  c.localMatchers = c.localPatterns.map((p) => ({ search: p.search, pathnameRe: globToRegExp(p.pathname ?? '**', true) }))

  c.publicDir = path.resolve(c.publicDir ?? 'public')
  c.distDir = path.resolve(c.distDir ?? '.next')
  c.cacheDir = path.resolve(c.cacheDir ?? path.join(c.distDir, 'cache', 'next-native-images'))
  c.concurrency = c.concurrency ?? os.availableParallelism()
  if (!(Number.isInteger(c.concurrency) && c.concurrency > 0)) throw bad('concurrency must be a positive integer')
  c.fetchTimeoutInSeconds = c.fetchTimeoutInSeconds ?? 7
  c.imgOptThreads = imgOptThreads(c.imgOptConcurrency, os.availableParallelism())
  c.basePath = c.basePath ?? ''
  c.logger = c.logger ?? console
  c.redis = resolveRedis(c.redis, c, bad, process.env)
  // The in-process tier comes with the shared one: without Redis, nothing changes.
  c.maximumMemoryCacheSize = c.maximumMemoryCacheSize ?? (c.redis ? DEFAULT_MEMORY_CACHE_BYTES : 0)
  return c
}

/**
 * Threads per image for `experimental.imgOptConcurrency` (Next 16.4: `sharp.concurrency(n)`,
 * the threads libvips uses for each image, in `server/image-optimizer/transform.js`
 * getSharp). Unset (null): Next's production default, half of sharp's default (one per
 * core), at least 1. 0: sharp's "reset to the default", one per core. Capped at
 * libvips' 1024. Our encoders: only AVIF uses more than one thread (crates/image
 * `OptimizeOptions::threads`), so this bounds AVIF encodes.
 */
function imgOptThreads(concurrency, cores) {
  if (concurrency === null) return Math.max(Math.floor(cores / 2), 1)
  if (concurrency === 0) return Math.min(cores, MAX_IMG_OPT_THREADS)
  return Math.min(concurrency, MAX_IMG_OPT_THREADS)
}

/**
 * The shared tier (lib/image/shared-tier.js): `redis` false → none; unset or null → REDIS_URL
 * if set; true → REDIS_URL, which must be set; an object → lib/cache-redis.js's options (url |
 * client | cluster, keyPrefix, timeout, maxTtl; REDIS_URL when none of url, client, cluster
 * is given; REDIS_KEY_PREFIX, REDIS_TIMEOUT_MS; maxEntryBytes or REDIS_MAX_ENTRY_BYTES, default
 * 16 MiB) plus leaseTtl (ms, default 2000) and waitTimeout (ms, default imgOptTimeoutInSeconds capped at 5 s).
 */
function resolveRedis(redis, c, bad, env) {
  if (redis === false) return null
  const shape = '{ url | client | cluster, keyPrefix?, timeout?, maxTtl?, maxEntryBytes?, leaseTtl?, waitTimeout? }'
  if (redis === undefined || redis === null) {
    if (!env.REDIS_URL) return null
    redis = {}
  } else if (redis === true) {
    if (!env.REDIS_URL) throw bad('redis: true needs the REDIS_URL environment variable (or give redis: { url })')
    redis = {}
  } else if (typeof redis !== 'object' || Array.isArray(redis)) {
    throw bad(`redis must be true, false or an object ${shape}. Received ${describeReceived(redis)}`)
  }
  if (redis.url === undefined && redis.client === undefined && redis.cluster === undefined) {
    if (!env.REDIS_URL) throw bad(`redis needs one of url, client or cluster (or the REDIS_URL environment variable): ${shape}`)
    redis = { ...redis, url: env.REDIS_URL }
  }
  let base
  try {
    base = require('../cache-redis').resolveConfig(redis, env)
  } catch (err) {
    throw codedError(err.code ?? 'ERR_INVALID_ARG_VALUE', `createImageHandler: ${err.message}`, TypeError)
  }
  const isInt = (n, min) => Number.isSafeInteger(n) && n >= min
  // base.maxEntryBytes: redis.maxEntryBytes / REDIS_MAX_ENTRY_BYTES, checked by cache-redis.js
  // (the page cache's cap too).
  const leaseTtl = redis.leaseTtl ?? 2000
  if (!isInt(leaseTtl, 1)) throw bad(`redis.leaseTtl must be an integer number of milliseconds from 1. Received ${describeReceived(redis.leaseTtl)}`)
  const waitTimeout = redis.waitTimeout ?? Math.min(Math.round(c.imgOptTimeoutInSeconds * 1000), 5000)
  if (!isInt(waitTimeout, 0)) throw bad(`redis.waitTimeout must be an integer number of milliseconds from 0. Received ${describeReceived(redis.waitTimeout)}`)
  return { ...base, leaseTtl, waitTimeout }
}

module.exports = { DEFAULTS, resolveConfig, imgOptThreads }
