'use strict'

// The transform (`server/image-optimizer/transform.js` `imageOptimizerTransform`): from the
// upstream's bytes to the bytes served, with the max-age they are cached for
// (`server/image-optimizer/get-max-age.js`). Only the pixel work differs: it goes to the
// native `optimizeImage` instead of sharp. Refuses, as an ImageError (400), bytes that sniff
// as no image (whatever their Content-Type) and SVG unless dangerouslyAllowSVG; animated and
// bypass types are served as they came, and a failed encode (truncated, too many pixels,
// timeout, no encoder for the type) serves the original bytes.

const { codedError } = require('../errors')
const { getHash } = require('./etag')
const { ImageError } = require('./image-error')
const { PNG, GIF, WEBP, SVG, ICO, ICNS, BMP, JXL, HEIC, getContentType } = require('./image-type')
const { detectContentType, isAnimated } = require('./sniff')

// The addon is loaded on first use, so a config error is reported without it.
let binding
function native() {
  return (binding ??= require('../../index.js'))
}

/** `s-maxage`, else `max-age`, of a Cache-Control value; 0 when absent. */
function getMaxAge(str) {
  if (!str) return 0
  const map = new Map()
  for (const directive of str.split(',')) {
    let [key, value] = directive.trim().split('=', 2)
    key = key.toLowerCase()
    if (value) value = value.toLowerCase()
    map.set(key, value)
  }
  let age = map.get('s-maxage') || map.get('max-age') || ''
  if (age.startsWith('"') && age.endsWith('"')) age = age.slice(1, -1)
  const n = parseInt(age, 10)
  return isNaN(n) ? 0 : n
}

const ANIMATABLE_TYPES = [WEBP, PNG, GIF]
const BYPASS_TYPES = [SVG, ICO, ICNS, BMP, JXL, HEIC]

/** Types served as they are: animated ones and the bypass list (Next's `shouldBypassSharp`-like rule). */
const passesThrough = (type, buffer) => (ANIMATABLE_TYPES.includes(type) && isAnimated(buffer)) || BYPASS_TYPES.includes(type)

/** A revalidation that found the upstream unchanged keeps the previous encode (get-previously-cached-image-or-null.js). */
const keepsPreviousEncode = (previous, upstreamEtag) => Boolean(previous && previous.upstreamEtag === upstreamEtag && previous.etag !== previous.upstreamEtag)

/**
 * Whether `transform` would run the encoder for `upstream`: not for a source it refuses, a
 * type it passes through, or a kept previous encode. The shared tier (lib/image-handler.js)
 * leases only what will be encoded, so other instances never wait on work that is not done.
 */
function willEncode(upstream, previous) {
  const type = detectContentType(upstream.buffer)
  if (!type || !type.startsWith('image/') || type.includes(',') || type.startsWith('image/svg')) return false
  return !passesThrough(type, upstream.buffer) && !keepsPreviousEncode(previous, upstream.etag)
}

async function transform(c, queue, upstream, params, previous) {
  const { href, quality, width, mimeType } = params
  const { buffer, etag: upstreamEtag } = upstream
  const maxAge = Math.max(c.minimumCacheTTL, getMaxAge(upstream.cacheControl))
  const upstreamType = detectContentType(buffer)
  if (!upstreamType || !upstreamType.startsWith('image/') || upstreamType.includes(',')) {
    c.logger.error?.(`The requested resource isn't a valid image for ${href} received ${upstreamType}`)
    throw new ImageError(400, "The requested resource isn't a valid image.")
  }
  if (upstreamType.startsWith('image/svg') && !c.dangerouslyAllowSVG) {
    throw new ImageError(400, '"url" parameter is valid but image type is not allowed')
  }
  if (passesThrough(upstreamType, buffer)) {
    return { buffer, contentType: upstreamType, maxAge, etag: upstreamEtag, upstreamEtag }
  }
  if (keepsPreviousEncode(previous, upstreamEtag)) {
    const contentType = mimeType || getContentType(previous.extension)
    return { buffer: previous.buffer, contentType, maxAge: previous.maxAge || maxAge, etag: previous.etag, upstreamEtag }
  }
  try {
    // The negotiated type (Next keeps the Accept header's parameters on it), else nothing: the
    // format a source gets when nothing was negotiated (JPEG for WebP/AVIF, else its own) is
    // the native optimizer's rule (OutputFormat::resolve in crates/image), not repeated here.
    const format = mimeType ? mimeType.split(';')[0] : undefined
    // `gate: false`: the queue is this call's concurrency bound (queue.js), so the native
    // process-wide gate, the bound for library calls, is skipped rather than applied twice.
    // `threads`: experimental.imgOptConcurrency, as Next passes it to sharp.concurrency (config.js).
    const options = { width, quality, format, maxInputPixels: c.imgOptMaxInputPixels || Number.MAX_SAFE_INTEGER, gate: false, threads: c.imgOptThreads }
    const out = await optimizeInQueue(c, queue, buffer, options)
    return { buffer: out.data, contentType: out.contentType, maxAge, etag: getHash([out.data]), upstreamEtag }
  } catch (error) {
    // Next serves the original bytes whenever sharp fails (truncated, too many pixels,
    // timeout, a blocked loader), with the short TTL so a fixed upstream is picked up.
    c.logger.warn?.(`next-native image: serving ${href} unoptimized: ${error.message}`)
    return { buffer, contentType: upstreamType, maxAge: c.minimumCacheTTL, etag: upstreamEtag, upstreamEtag, error }
  }
}

/**
 * sharp's `.timeout({ seconds })`: the caller gets an error after the timeout (and then the
 * original bytes), but the queue slot stays taken until the native encode really ends, so
 * timed-out work still counts against the concurrency bound.
 */
function optimizeInQueue(c, queue, buffer, options) {
  return new Promise((resolve, reject) => {
    queue.run(async () => {
      const controller = new AbortController()
      const timer = setTimeout(() => {
        controller.abort() // drops the task if the libuv pool has not started it yet
        reject(codedError('ERR_IMAGE_TIMEOUT', `image processing took longer than ${c.imgOptTimeoutInSeconds}s`))
      }, c.imgOptTimeoutInSeconds * 1000)
      try {
        resolve(await native().optimizeImage(buffer, options, controller.signal))
      } catch (err) {
        reject(err)
      } finally {
        clearTimeout(timer)
      }
    })
  })
}

module.exports = { transform, willEncode }
