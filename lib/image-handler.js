'use strict'

// Next.js 16.4.6's `/_next/image` endpoint without sharp, as a Web `(Request) => Response`
// handler (an App Router route: `export const GET = createImageHandler({...})`) and a Node
// `(req, res)` handler (`.node`, for node:http / Express / the `next-native image serve`
// service). The control flow mirrors next/dist/server/image-optimizer.js and
// next-server.js `handleNextImageRequest` step by step, because clients and CDNs depend on
// its exact statuses, messages, headers and cache keys; only the pixel work goes to the
// native `optimizeImage`. Source files cited below are next@16.4.6's `dist/` unless noted.
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

const crypto = require('node:crypto')
const dns = require('node:dns')
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const net = require('node:net')
const path = require('node:path')
const stream = require('node:stream')
const zlib = require('node:zlib')
const { codedError, invalidArgType, invalidArgValue, validateFunction, validateString } = require('./errors')
const { JPEG, PNG, GIF, WEBP, AVIF, SVG, ICO, ICNS, TIFF, BMP, JXL, HEIC, getContentType, getExtension } = require('./image/image-type')
const { detectContentType, isAnimated } = require('./image/sniff')
const { DEFAULTS, resolveConfig } = require('./image/config')
const { globToRegExp } = require('./image/patterns')
const { negotiateMimeType } = require('./image/accept')
const { queryFromSearch, validateParams } = require('./image/validate')

// The addon is loaded on first use, so a config error is reported without it.
let binding
function native() {
  return (binding ??= require('../index.js'))
}

const CACHE_VERSION = 4

// ---------------------------------------------------------------------------------------
// Hashes, max-age, content types (extract-etag.js, get-max-age.js, serve-static.js).

function getHash(items) {
  const hash = crypto.createHash('sha256')
  for (const item of items) hash.update(typeof item === 'number' ? String(item) : item)
  return hash.digest('base64url')
}

/** An upstream ETag is base64url'd (it may be weak, `W/"…"`, and it goes in a file name). */
function extractEtag(etag, buffer) {
  return etag ? Buffer.from(etag).toString('base64url') : getHash([buffer])
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

// ---------------------------------------------------------------------------------------
// Errors that become a response: ImageError's status rule (< 400 → 500) and plain text.

class ImageError extends Error {
  constructor(statusCode, message) {
    super(message)
    this.statusCode = statusCode >= 400 ? statusCode : 500
  }
}

const UPSTREAM_INVALID = '"url" parameter is valid but upstream response is invalid'
const INTERNAL_INVALID = '"url" parameter is valid but internal response is invalid'

// ---------------------------------------------------------------------------------------
// Private addresses (is-private-ip.js): anything ipaddr.js does not call 'unicast'.

const V4_SPECIAL = [
  ['0.0.0.0', 8], ['255.255.255.255', 32], ['224.0.0.0', 4], ['169.254.0.0', 16], ['127.0.0.0', 8],
  ['100.64.0.0', 10], ['10.0.0.0', 8], ['172.16.0.0', 12], ['192.168.0.0', 16], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['240.0.0.0', 4], ['192.175.48.0', 24], ['192.31.196.0', 24], ['192.52.193.0', 24],
] // prettier-ignore
const V6_SPECIAL = [
  ['::', 128], ['fe80::', 10], ['ff00::', 8], ['::1', 128], ['fc00::', 7], ['::ffff:0:0', 96], ['100::', 64],
  ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['2002::', 16], ['2001::', 32], ['2001:2::', 48], ['2001:3::', 32],
  ['2001:4:112::', 48], ['2620:4f:8000::', 48], ['2001:10::', 28], ['2001:20::', 28], ['2001:30::', 28],
  ['2001::', 23], ['2001:db8::', 32],
] // prettier-ignore
// Two lists: a BlockList checks IPv4 addresses against IPv6 rules too (as ::ffff:a.b.c.d),
// and ::ffff:0:0/96 is itself special, which would make every IPv4 address private.
const specialV4 = new net.BlockList()
const specialV6 = new net.BlockList()
for (const [addr, prefix] of V4_SPECIAL) specialV4.addSubnet(addr, prefix, 'ipv4')
for (const [addr, prefix] of V6_SPECIAL) specialV6.addSubnet(addr, prefix, 'ipv6')

function isPrivateIp(ip) {
  validateString(ip, 'ip')
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1)
  ip = ip.replace(/%.*$/, '')
  const family = net.isIP(ip)
  if (family === 0) return false
  if (family === 6) {
    // An IPv4-mapped address is judged as the IPv4 address it carries.
    const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip) || /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip)
    if (mapped) {
      const v4 = mapped.length === 2 ? mapped[1] : [parseInt(mapped[1], 16), parseInt(mapped[2], 16)].flatMap((n) => [n >> 8, n & 255]).join('.')
      return specialV4.check(v4, 'ipv4')
    }
  }
  return family === 4 ? specialV4.check(ip, 'ipv4') : specialV6.check(ip, 'ipv6')
}

// ---------------------------------------------------------------------------------------
// Upstream fetch (`server/image-optimizer.js` `fetchExternalImage`): node:http(s) like Next 16.4.6, with DNS answers pinned for the
// connection so a rebinding resolver cannot swap in a private address after the check.

const FETCH_HEADERS = { accept: '*/*', 'accept-language': '*', 'sec-fetch-mode': 'cors', 'user-agent': 'node' }

function lookupAsSocketWould(hostname) {
  return dns.promises.lookup(hostname, { all: true, hints: process.platform === 'win32' ? 0 : dns.ADDRCONFIG })
}

function createPinnedLookup(hostname, addresses) {
  return (lookupHostname, options, callback) => {
    if (lookupHostname !== hostname) {
      callback(new Error(`Image lookup hostname "${lookupHostname}" does not match request hostname "${hostname}"`), [])
      return
    }
    const family = typeof options.family === 'number' ? options.family : 0
    const matched = family ? addresses.filter((a) => a.family === family) : addresses
    if (matched.length === 0) {
      const err = new Error(`No IPv${family} address available for ${hostname}`)
      err.code = 'ENODATA'
      callback(err, [])
    } else if (options.all) callback(null, matched)
    else callback(null, matched[0].address, matched[0].family)
  }
}

/** Keep-alive agents whose pool key includes the pinned addresses (Next's ImageHttpAgent). */
function createAgents() {
  const keyed = (Base) =>
    class extends Base {
      getName(options = {}) {
        return `${super.getName(options)}:${options.imageLookupKey ?? ''}`
      }
    }
  const options = { keepAlive: true, timeout: 7000 }
  return { http: new (keyed(http.Agent))(options), https: new (keyed(https.Agent))(options) }
}

class DeflateDecoder extends stream.Transform {
  _transform(chunk, encoding, callback) {
    if (!this.decoder) {
      if (chunk.length === 0) return callback()
      const options = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }
      // zlib-wrapped or raw deflate: servers send both under "deflate".
      this.decoder = (chunk[0] & 0x0f) === 0x08 ? zlib.createInflate(options) : zlib.createInflateRaw(options)
      this.decoder.on('data', (data) => this.push(data))
      this.decoder.on('end', () => this.push(null))
      this.decoder.on('error', (err) => this.destroy(err))
    }
    this.decoder.write(chunk, encoding, callback)
  }
  _final(callback) {
    this.decoder?.end()
    this.decoder = undefined
    callback()
  }
}

function decodeResponseBody(res) {
  const contentEncoding = res.headers['content-encoding']
  if (!contentEncoding) return res
  const codings = contentEncoding.toLowerCase().split(',')
  // undici's chain limit, so a header alone cannot make us allocate unbounded decoders.
  if (codings.length > 5) throw new ImageError(400, UPSTREAM_INVALID)
  const decoders = []
  for (let i = codings.length - 1; i >= 0; i--) {
    switch (codings[i].trim()) {
      case 'x-gzip':
      case 'gzip':
        decoders.push(zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }))
        break
      case 'deflate':
        decoders.push(new DeflateDecoder())
        break
      case 'br':
        decoders.push(
          zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
        )
        break
      default:
        return res // an unknown coding: the body is used as sent
    }
  }
  stream.pipeline([res, ...decoders], () => {})
  return decoders[decoders.length - 1]
}

async function fetchExternalImage(c, agents, href, count) {
  const url = new URL(href)
  const hostname = url.hostname.replace(/^\[|\]$/g, '')
  let lookup
  let imageLookupKey
  if (!c.dangerouslyAllowLocalIP) {
    const literal = net.isIP(hostname)
    const addresses = literal ? [{ address: hostname, family: literal }] : await lookupAsSocketWould(hostname)
    if (!literal) lookup = createPinnedLookup(hostname, addresses)
    imageLookupKey = addresses.map((a) => `${a.family}:${a.address}`).join(',')
    const privateIps = addresses.map((a) => a.address).filter(isPrivateIp)
    if (privateIps.length > 0) {
      c.logger.error?.(
        `upstream image ${href} hostname resolved to private IP ${JSON.stringify(privateIps)}. If this is expected and you understand SSRF risk, set dangerouslyAllowLocalIP: true.`,
      )
      throw new ImageError(400, '"url" parameter is not allowed')
    }
  }
  const timedOut = () => new ImageError(504, '"url" parameter is valid but upstream response timed out')
  // Owned here, not by the request: it must stay readable while the body streams, since an
  // abort mid-body surfaces as a plain ECONNRESET.
  const signal = AbortSignal.timeout(c.fetchTimeoutInSeconds * 1000)
  const isHttps = url.protocol === 'https:'
  let res
  try {
    res = await new Promise((resolve, reject) => {
      const req = (isHttps ? https : http).request(
        url,
        {
          agent: isHttps ? agents.https : agents.http,
          headers: { ...FETCH_HEADERS, 'accept-encoding': isHttps ? 'br, gzip, deflate' : 'gzip, deflate' },
          imageLookupKey,
          lookup,
          signal,
        },
        resolve,
      )
      req.on('error', reject)
      req.end()
    })
  } catch (err) {
    if (signal.aborted) throw timedOut()
    throw err
  }
  const { statusCode } = res
  const location = res.headers.location
  if ([301, 302, 303, 307, 308].includes(statusCode) && location && URL.canParse(location, href)) {
    // Not drained: maximumResponseBody only applies to the final response.
    res.destroy()
    if (count === 0) throw new ImageError(508, UPSTREAM_INVALID)
    return fetchExternalImage(c, agents, new URL(location, href).href, count - 1)
  }
  if (statusCode < 200 || statusCode > 299) {
    res.destroy()
    throw new ImageError(statusCode, UPSTREAM_INVALID)
  }
  const chunks = []
  let total = 0
  try {
    for await (const chunk of decodeResponseBody(res)) {
      total += chunk.byteLength
      if (total > c.maximumResponseBody) throw new ImageError(413, UPSTREAM_INVALID)
      chunks.push(chunk)
    }
  } catch (err) {
    res.destroy()
    if (signal.aborted) throw timedOut()
    throw err
  }
  if (total === 0) throw new ImageError(400, UPSTREAM_INVALID)
  const buffer = Buffer.concat(chunks)
  return { buffer, contentType: res.headers['content-type'], cacheControl: res.headers['cache-control'], etag: extractEtag(res.headers.etag, buffer) }
}

/**
 * A local URL, read where `next start` would serve it from: `/_next/static/*` from
 * `distDir/static`, everything else from `publicDir`; with the headers `send` gives them
 * (weak size-mtime ETag; Cache-Control `public, max-age=0`, immutable for build assets).
 */
async function fetchLocalImage(c, href) {
  let { pathname } = new URL(`http://n${href}`)
  if (c.basePath && pathname.startsWith(`${c.basePath}/`)) pathname = pathname.slice(c.basePath.length)
  let segments
  try {
    segments = pathname.split('/').slice(1).map(decodeURIComponent)
  } catch {
    throw new ImageError(400, INTERNAL_INVALID) // Next's router answers a bad escape with 400
  }
  const isBuildAsset = segments[0] === '_next' && segments[1] === 'static'
  const root = isBuildAsset ? path.join(c.distDir, 'static') : c.publicDir
  const rel = isBuildAsset ? segments.slice(2) : segments
  // `%2F` inside a segment is not a separator; NUL is never a file.
  if (rel.length === 0 || rel.some((s) => s === '' || s.includes('/') || s.includes('\\') || s.includes('\0'))) {
    throw new ImageError(404, INTERNAL_INVALID)
  }
  // `send` refuses dotfiles; inside Next 16.4.6 that surfaces as a 500 (observed with next start).
  if (rel[rel.length - 1].startsWith('.')) throw new ImageError(500, INTERNAL_INVALID)
  const file = path.join(root, ...rel)
  if (!file.startsWith(root + path.sep)) throw new ImageError(404, INTERNAL_INVALID)
  let stat
  try {
    stat = await fs.promises.stat(file)
  } catch {
    throw new ImageError(404, INTERNAL_INVALID)
  }
  if (!stat.isFile()) throw new ImageError(404, INTERNAL_INVALID)
  if (stat.size > c.maximumResponseBody) throw new ImageError(413, INTERNAL_INVALID)
  const buffer = await fs.promises.readFile(file)
  if (buffer.length === 0) throw new ImageError(400, INTERNAL_INVALID)
  const etag = `W/"${stat.size.toString(16)}-${stat.mtime.getTime().toString(16)}"`
  return {
    buffer,
    contentType: getContentType(path.extname(file).slice(1).toLowerCase()),
    cacheControl: isBuildAsset ? 'public, max-age=31536000, immutable' : 'public, max-age=0',
    etag: extractEtag(etag, buffer),
  }
}

// ---------------------------------------------------------------------------------------
// The transform (transform.js `imageOptimizerTransform`).

const ANIMATABLE_TYPES = [WEBP, PNG, GIF]
const BYPASS_TYPES = [SVG, ICO, ICNS, BMP, JXL, HEIC]
// What the native encoder writes for each content type Next would ask sharp for.
const NATIVE_FORMAT = { [AVIF]: 'avif', [WEBP]: 'webp', [JPEG]: 'jpeg', [PNG]: 'png', [GIF]: 'gif', [TIFF]: 'tiff' }

/** Runs at most `size` jobs at once; the rest wait in arrival order. */
class Queue {
  constructor(size) {
    this.size = size
    this.running = 0
    this.waiting = []
  }
  async run(job) {
    if (this.running >= this.size) await new Promise((resolve) => this.waiting.push(resolve))
    this.running++
    try {
      return await job()
    } finally {
      this.running--
      this.waiting.shift()?.()
    }
  }
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
  if ((ANIMATABLE_TYPES.includes(upstreamType) && isAnimated(buffer)) || BYPASS_TYPES.includes(upstreamType)) {
    return { buffer, contentType: upstreamType, maxAge, etag: upstreamEtag, upstreamEtag }
  }
  const contentType = mimeType || (upstreamType === WEBP || upstreamType === AVIF ? JPEG : upstreamType)
  // Revalidation found the upstream unchanged: keep the previous encode (get-previously-cached-image-or-null.js).
  if (previous && previous.upstreamEtag === upstreamEtag && previous.etag !== previous.upstreamEtag) {
    return { buffer: previous.buffer, contentType, maxAge: previous.maxAge || maxAge, etag: previous.etag, upstreamEtag }
  }
  try {
    const format = NATIVE_FORMAT[contentType.split(';')[0]]
    if (!format) throw codedError('ERR_IMAGE_UNSUPPORTED_FORMAT', `no encoder for ${contentType}`)
    const out = await optimizeInQueue(c, queue, buffer, { width, quality, format, maxInputPixels: c.imgOptMaxInputPixels })
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

// ---------------------------------------------------------------------------------------
// Disk cache (`server/image-optimizer.js` `ImageOptimizerCache`): Next's layout, `<cacheDir>/<key>/<maxAge>.<expireAt>.<etag>.<upstreamEtag>.<ext>`,
// bounded by an LRU of entry sizes that is rebuilt from disk on start.

class DiskCache {
  constructor(c) {
    this.dir = c.cacheDir
    this.minimumCacheTTL = c.minimumCacheTTL
    this.logger = c.logger
    this.maxSize = c.maximumDiskCacheSize
    this.enabled = this.maxSize !== 0
    this.sizes = new Map() // key → bytes, least recently used first
    this.total = 0
    this.ready = this.enabled ? this.init() : Promise.resolve()
  }

  async init() {
    if (this.maxSize === undefined) {
      // Next 16's default: half of the space available where the cache lives.
      await fs.promises.mkdir(this.dir, { recursive: true })
      const { bavail, bsize } = await fs.promises.statfs(this.dir)
      this.maxSize = Math.floor((bavail * bsize) / 2)
    }
    const keys = await fs.promises.readdir(this.dir).catch(() => [])
    const entries = []
    for (const key of keys) {
      if (key.startsWith('.tmp-')) {
        await fs.promises.rm(path.join(this.dir, key), { force: true }) // a write cut short by a crash
        continue
      }
      const entry = await this.readEntry(key).catch(() => null)
      if (entry) entries.push({ key, size: entry.buffer.length, expireAt: entry.expireAt })
    }
    entries.sort((a, b) => a.expireAt - b.expireAt)
    for (const { key, size } of entries) this.track(key, size)
  }

  async readEntry(key) {
    const dir = path.join(this.dir, key)
    const [file] = await fs.promises.readdir(dir)
    if (!file) throw new Error(`cache entry ${key} is empty`)
    const [maxAge, expireAt, etag, upstreamEtag, extension] = file.split('.', 5)
    const buffer = await fs.promises.readFile(path.join(dir, file))
    if (buffer.length === 0) throw new Error(`cache entry ${key} is empty`)
    return { maxAge: Number(maxAge), expireAt: Number(expireAt), etag, upstreamEtag, extension, buffer }
  }

  track(key, size) {
    if (this.sizes.has(key)) this.total -= this.sizes.get(key)
    this.sizes.delete(key)
    if (size > this.maxSize) return false
    this.sizes.set(key, size)
    this.total += size
    for (const [oldKey, oldSize] of this.sizes) {
      if (this.total <= this.maxSize) break
      this.sizes.delete(oldKey)
      this.total -= oldSize
      fs.promises.rm(path.join(this.dir, oldKey), { recursive: true, force: true }).catch(() => {})
    }
    return true
  }

  async get(key) {
    if (!this.enabled) return null
    await this.ready
    try {
      const entry = await this.readEntry(key)
      if (this.sizes.has(key)) this.track(key, entry.buffer.length)
      return { ...entry, isStale: Date.now() > entry.expireAt }
    } catch {
      return null
    }
  }

  async set(key, value) {
    if (!this.enabled) return
    await this.ready
    const expireAt = Math.max(value.maxAge, this.minimumCacheTTL) * 1000 + Date.now()
    try {
      if (!this.track(key, value.buffer.length)) throw new Error(`image of ${value.buffer.length} bytes exceeds maximumDiskCacheSize`)
      const dir = path.join(this.dir, key)
      await fs.promises.rm(dir, { recursive: true, force: true })
      await fs.promises.mkdir(dir, { recursive: true })
      const name = `${value.maxAge}.${expireAt}.${value.etag}.${value.upstreamEtag}.${value.extension}`
      // Written under a temporary name first, so a concurrent reader never sees half a file.
      const tmp = path.join(this.dir, `.tmp-${key}-${process.pid}-${crypto.randomUUID()}`)
      await fs.promises.writeFile(tmp, value.buffer)
      await fs.promises.rename(tmp, path.join(dir, name))
    } catch (err) {
      this.logger.error?.(`next-native image: failed to write cache entry ${key}: ${err.message}`)
    }
  }
}

// ---------------------------------------------------------------------------------------
// Responses (`server/image-optimizer.js` `sendResponse`, `server/image-optimizer/get-max-age.js`).

/** `fresh` 0.5: If-None-Match (with W/ either side) wins, no-cache defeats it. */
function isFresh(headers, etag) {
  const modifiedSince = headers('if-modified-since')
  const noneMatch = headers('if-none-match')
  if (!modifiedSince && !noneMatch) return false
  const cacheControl = headers('cache-control')
  if (cacheControl && /(?:^|,)\s*?no-cache\s*?(?:,|$)/.test(cacheControl)) return false
  if (noneMatch && noneMatch !== '*') {
    if (!etag) return false
    const tokens = noneMatch.split(',').map((t) => t.trim())
    if (!tokens.some((t) => t === etag || t === `W/${etag}` || `W/${t}` === etag)) return false
  }
  // An If-Modified-Since with no Last-Modified (we never send one) is never fresh.
  if (modifiedSince) return false
  return true
}

/** content-disposition 0.5 for a file name: quoted ISO-8859-1 form, plus filename* when needed. */
function contentDisposition(filename, type) {
  validateString(filename, 'filename')
  if (type !== 'inline' && type !== 'attachment') throw invalidArgValue('type', 'must be "inline" or "attachment"', type)
  const name = path.posix.basename(filename)
  const latin1 = name.replace(/[^\x20-\x7e\xa0-\xff]/g, '?')
  let header = type
  const needsExtended = latin1 !== name || /%[0-9A-Fa-f]{2}/.test(name)
  const params = {}
  if (needsExtended) {
    params['filename*'] = `UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)}`
  }
  params.filename = `"${latin1.replace(/([\\"])/g, '\\$1')}"`
  for (const key of Object.keys(params).sort()) header += `; ${key}=${params[key]}`
  return header
}

function getFileNameWithExtension(url, contentType) {
  const [withoutQuery] = url.split('?', 1)
  const fileNameWithExtension = withoutQuery.split('/').pop()
  if (!contentType || !fileNameWithExtension) return 'image.bin'
  const [fileName] = fileNameWithExtension.split('.', 1)
  return `${fileName}.${getExtension(contentType)}`
}

const textResponse = (status, message) => ({ status, headers: [], body: Buffer.from(message) })

// ---------------------------------------------------------------------------------------

/**
 * @param {object} [config] next.config `images` plus `publicDir`, `distDir` (see image-handler.d.ts)
 * @returns {((req: Request) => Promise<Response>) & { node, handle, close }}
 */
function createImageHandler(config) {
  const c = resolveConfig(config)
  const queue = new Queue(c.concurrency)
  const cache = new DiskCache(c)
  const agents = createAgents()
  const pending = new Map() // cache key → in-flight lookup (identical requests computed once)
  const revalidating = new Map() // cache key → background revalidation
  cache.ready.catch((err) => c.logger.error?.(`next-native image: cache init failed: ${err.message}`))

  async function produce(params, previous) {
    const upstream = params.isAbsolute
      ? await fetchExternalImage(c, agents, params.href, c.maximumRedirects)
      : await fetchLocalImage(c, params.href)
    const result = await transform(c, queue, upstream, params, previous)
    return { ...result, extension: getExtension(result.contentType) }
  }

  async function produceAndStore(key, params, previous) {
    const value = await produce(params, previous)
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
    const cached = await cache.get(key)
    if (cached && !cached.isStale) return { ...cached, xCache: 'HIT' }
    if (cached) {
      revalidateInBackground(key, params, cached)
      return { ...cached, xCache: 'STALE' }
    }
    return { ...(await produceAndStore(key, params, null)), xCache: 'MISS' }
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
      return textResponse(500, 'Internal Server Error')
    }
    if (params.errorMessage) return textResponse(400, params.errorMessage)
    const key = getHash([CACHE_VERSION, params.href, params.width, params.quality, params.mimeType])
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
      return textResponse(500, 'Internal Server Error')
    }
    const headers = [
      ['Vary', 'Accept'],
      ['Cache-Control', params.isStatic ? 'public, max-age=315360000, immutable' : `public, max-age=${entry.maxAge || 0}, must-revalidate`],
      ['ETag', entry.etag],
    ]
    if (isFresh(header, entry.etag)) return { status: 304, headers, body: null }
    const contentType = getContentType(entry.extension)
    if (contentType) headers.push(['Content-Type', contentType])
    headers.push(
      ['Content-Disposition', contentDisposition(getFileNameWithExtension(params.href, contentType), c.contentDispositionType)],
      ['Content-Security-Policy', c.contentSecurityPolicy],
      ['X-Nextjs-Cache', entry.xCache],
      ['Content-Length', String(entry.buffer.length)],
    )
    return { status: 200, headers, body: method === 'HEAD' ? null : entry.buffer }
  }

  async function handler(request) {
    if (request === null || typeof request !== 'object' || typeof request.url !== 'string' || typeof request.headers?.get !== 'function') {
      throw invalidArgType('request', 'a Request', request)
    }
    const url = new URL(request.url)
    const result = await handle(request.method, url.search, (name) => request.headers.get(name))
    return new Response(result.body, { status: result.status, headers: result.headers })
  }

  handler.handle = handle
  handler.node = async function nodeHandler(req, res) {
    checkNodeArgs(req, res)
    let result
    try {
      const { search } = new URL(req.url, 'http://n')
      result = await handle(req.method, search, (name) => {
        const value = req.headers[name]
        return Array.isArray(value) ? value.join(', ') : value
      })
    } catch (err) {
      c.logger.error?.(err)
      result = textResponse(500, 'Internal Server Error')
    }
    res.statusCode = result.status
    for (const [name, value] of result.headers) res.setHeader(name, value)
    res.end(result.body ?? undefined)
  }
  /** Waits for background revalidations and closes pooled upstream connections. */
  handler.close = async function close() {
    await Promise.allSettled([...revalidating.values(), ...pending.values(), cache.ready])
    agents.http.destroy()
    agents.https.destroy()
  }
  handler.config = c
  return handler
}

/** node:http's `(req, res)`, as far as the handlers use them. */
function checkNodeArgs(req, res) {
  if (req === null || typeof req !== 'object' || typeof req.url !== 'string' || req.headers === null || typeof req.headers !== 'object') {
    throw invalidArgType('req', 'an http.IncomingMessage', req)
  }
  if (res === null || typeof res !== 'object' || typeof res.setHeader !== 'function' || typeof res.end !== 'function') {
    throw invalidArgType('res', 'an http.ServerResponse', res)
  }
}

/** Wraps a Web handler for node:http (for handlers made elsewhere; ours already has `.node`). */
function toNodeHandler(handler) {
  validateFunction(handler, 'handler')
  if (typeof handler.node === 'function') return handler.node
  return async (req, res) => {
    checkNodeArgs(req, res)
    const host = req.headers.host || 'localhost'
    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
    }
    const response = await handler(new Request(`http://${host}${req.url}`, { method: req.method, headers }))
    res.statusCode = response.status
    response.headers.forEach((value, name) => res.setHeader(name, value))
    res.end(Buffer.from(await response.arrayBuffer()))
  }
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
