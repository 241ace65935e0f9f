'use strict'

// Next.js 16.4.6's `/_next/image` endpoint without sharp, as a Web `(Request) => Response`
// handler (an App Router route: `export const GET = createImageHandler({...})`) and a Node
// `(req, res)` handler (`.node`, for node:http / Express / the `next-native image serve`
// service). The control flow mirrors next/dist/server/image-optimizer.js and
// next-server.js `handleNextImageRequest` step by step, because clients and CDNs depend on
// its exact statuses, messages, headers and cache keys; only the pixel work goes to the
// native `optimizeImage`. Source files cited here and in lib/image/ are next@16.4.6's
// `dist/` unless noted.
//
// This file is the entry point and the pipeline (next-server.js `handleNextImageRequest`
// with image-optimizer.js's `ImageOptimizerCache` flow: identical requests computed once,
// stale entries served while revalidating in the background); each stage lives in
// lib/image/, in request order:
//   config.js, patterns.js   next.config `images`: defaults, checks, normalised patterns
//   validate.js, accept.js   the query (`validateParams`) and the output format (Accept)
//   memory-cache.js          in-process entries above the disk (on with Redis, by default)
//   disk-cache.js            cache key, on-disk entries, LRU bound
//   shared-tier.js           with Redis configured: entries shared by a fleet, single flight
//   fetch-external.js        remote sources (pinned DNS, private-IP refusal: private-ip.js)
//   fetch-local.js           local sources, read from publicDir / distDir/static
//   transform.js, queue.js   sniffing (sniff.js), bypass rules, the native encode, its bound
//   response.js              headers, ETag / 304, Content-Disposition, plain-text errors
//   transport.js             the Web `(Request) => Response` and node:http `(req, res)` faces
// and the shared image-type.js, etag.js, image-error.js. handle() refuses a non-string
// method or search and a non-function header (ERR_INVALID_ARG_TYPE); the rest is refused
// where the module that owns it says.
//
// Deliberate differences (each also in the README):
// - JPEG 2000 and JPEG-in-TIFF *input* cannot be decoded, so like any failed decode they
//   are served as the original bytes (Next decodes them). GIF and TIFF sources are
//   re-encoded as GIF and TIFF, as in Next, by different encoders (see the README).
// - Local URLs read files from `publicDir` (and `distDir/static` for `/_next/static/...`)
//   instead of running Next's router: pages, rewrites and the legacy `<app>/static/` folder
//   are not sources, and files added after start are found (Next lists `public/` once).
// - The disk cache lives in `<distDir>/cache/next-native-images` (same layout as Next's
//   `cache/images`, but a separate directory so Next's own LRU ledger never sees it).
// - With Redis configured (`redis`, else REDIS_URL), a disk miss fetches the source, then
//   asks the shared tier (shared-tier.js) before optimizing: a hit there is stored on disk and
//   served with X-Nextjs-Cache: HIT; a miss is optimized by one instance of the fleet while
//   the others wait for its result (bounded), and Redis trouble means optimizing locally.

const { validateFunction, validateString } = require('./errors')
const { getExtension } = require('./image/image-type')
const { detectContentType, isAnimated } = require('./image/sniff')
const { DEFAULTS, resolveConfig } = require('./image/config')
const { globToRegExp } = require('./image/patterns')
const { negotiateMimeType } = require('./image/accept')
const { queryFromSearch, validateParams } = require('./image/validate')
const { ImageError } = require('./image/image-error')
const { isPrivateIp } = require('./image/private-ip')
const { createAgents, fetchExternalImage } = require('./image/fetch-external')
const { fetchLocalImage } = require('./image/fetch-local')
const { Queue } = require('./image/queue')
const { transform, willEncode } = require('./image/transform')
const { DiskCache, getCacheKey } = require('./image/disk-cache')
const { MemoryCache } = require('./image/memory-cache')
const { SharedTier } = require('./image/shared-tier')
const { contentDisposition, internalServerError, sendResponse, textResponse } = require('./image/response')
const { createNodeHandler, createWebHandler, toNodeHandler } = require('./image/transport')

/**
 * @param {object} [config] next.config `images` plus `publicDir`, `distDir` (see image-handler.d.ts)
 * @returns {((req: Request) => Promise<Response>) & { node, handle, close }}
 */
function createImageHandler(config) {
  const c = resolveConfig(config)
  const queue = new Queue(c.concurrency)
  const cache = new DiskCache(c)
  const memory = new MemoryCache(c)
  const agents = createAgents()
  const pending = new Map() // cache key → in-flight lookup (identical requests computed once)
  const revalidating = new Map() // cache key → background revalidation
  const shared = c.redis ? new SharedTier(c.redis, c.logger) : null
  const counts = { transforms: 0 }
  cache.ready.catch((err) => c.logger.error?.(`next-native image: cache init failed: ${err.message}`))

  async function transformHere(upstream, params, previous) {
    counts.transforms++
    const result = await transform(c, queue, upstream, params, previous)
    return { ...result, extension: getExtension(result.contentType) }
  }

  /** The entry for a request; `shared` when it came from Redis (another instance's encode). */
  async function produce(params, previous) {
    const upstream = params.isAbsolute
      ? await fetchExternalImage(c, agents, params.href, c.maximumRedirects)
      : await fetchLocalImage(c, params.href)
    // Without Redis, or for a source that will not be encoded (refused, passed through, or a
    // revalidation keeping the previous encode): no shared tier, so no instance waits on it.
    if (!shared || !willEncode(upstream, previous)) return transformHere(upstream, params, previous)
    const { value, hit } = await shared.resolve(
      shared.keyFor(params, upstream.buffer),
      () => transformHere(upstream, params, previous),
      // Only real encodes are shared: not the original bytes after a failed encode (short
      // TTL, maybe only this instance's timeout).
      (v) => !v.error,
    )
    // This instance's own upstream ETag, so its revalidations compare like with like.
    return hit ? { ...value, upstreamEtag: upstream.etag, shared: true } : value
  }

  async function produceAndStore(key, params, previous) {
    const value = await produce(params, previous)
    memory.set(key, value)
    await cache.set(key, value)
    return value
  }

  function revalidateInBackground(key, params, previous) {
    if (revalidating.has(key)) return
    const job = produceAndStore(key, params, previous)
      .catch((err) => c.logger.error?.(`next-native image: revalidating ${params.href} failed: ${err.message}`))
      .finally(() => revalidating.delete(key))
    revalidating.set(key, job)
  }

  async function lookup(key, params) {
    let cached = memory.get(key)
    if (!cached) {
      cached = await cache.get(key)
      if (cached) memory.set(key, cached)
    }
    if (cached && !cached.isStale) return { ...cached, xCache: 'HIT' }
    if (cached) {
      revalidateInBackground(key, params, cached)
      return { ...cached, xCache: 'STALE' }
    }
    const value = await produceAndStore(key, params, null)
    return { ...value, xCache: value.shared ? 'HIT' : 'MISS' }
  }

  /** The transport-neutral core: `{ status, headers: [name, value][], body: Buffer | null }`. */
  async function handle(method, search, header) {
    validateString(method, 'method')
    validateString(search, 'search')
    validateFunction(header, 'header')
    let params
    try {
      params = validateParams(c, queryFromSearch(search), header('accept') ?? undefined)
    } catch (err) {
      // A malformed Accept (hapi's Boom) or a bad escape in url: Next's 500 page.
      c.logger.error?.(err)
      return internalServerError()
    }
    if (params.errorMessage) return textResponse(400, params.errorMessage)
    const key = getCacheKey(params)
    let entry
    try {
      let inflight = pending.get(key)
      if (!inflight) {
        inflight = lookup(key, params).finally(() => pending.delete(key))
        pending.set(key, inflight)
      }
      entry = await inflight
    } catch (err) {
      if (err instanceof ImageError) return textResponse(err.statusCode, err.message)
      c.logger.error?.(err)
      return internalServerError()
    }
    return sendResponse(c, method, header, params, entry)
  }

  const handler = createWebHandler(handle)
  handler.handle = handle
  handler.node = createNodeHandler(c, handle)
  /** Waits for background revalidations and closes pooled upstream connections (and Redis). */
  handler.close = async function close() {
    await Promise.allSettled([...revalidating.values(), ...pending.values(), cache.ready])
    agents.http.destroy()
    agents.https.destroy()
    await shared?.close()
  }
  /** Counters: transforms run here, and the shared tier's (null without Redis). */
  handler.stats = () => ({ transforms: counts.transforms, memory: { hits: memory.hits, entries: memory.entries.size, bytes: memory.total }, redis: shared ? shared.snapshot() : null })
  handler.config = c
  return handler
}

module.exports = {
  createImageHandler,
  toNodeHandler,
  IMAGE_CONFIG_DEFAULTS: DEFAULTS,
  // Exposed for tests and for callers building their own front end.
  detectContentType,
  isAnimated,
  isPrivateIp,
  negotiateMimeType,
  globToRegExp,
  contentDisposition,
}
