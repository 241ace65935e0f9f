'use strict'

// Upstream fetch (`server/image-optimizer.js` `fetchExternalImage`): node:http(s) like
// Next 16.4.6, with DNS answers pinned for the connection so a rebinding resolver cannot
// swap in a private address after the check.
// Refuses, as an ImageError: a host that resolves to a private address unless
// dangerouslyAllowLocalIP (400), a non-2xx answer (its status, < 400 → 500), more than
// maximumRedirects redirects (508), more than 5 content codings (400), a body over
// maximumResponseBody (413) or empty (400), no answer within fetchTimeoutInSeconds (504).

const dns = require('node:dns')
const http = require('node:http')
const https = require('node:https')
const net = require('node:net')
const stream = require('node:stream')
const zlib = require('node:zlib')
const { codedError } = require('../errors')
const { extractEtag } = require('./etag')
const { ImageError, UPSTREAM_INVALID } = require('./image-error')
const { isPrivateIp } = require('./private-ip')

const FETCH_HEADERS = { accept: '*/*', 'accept-language': '*', 'sec-fetch-mode': 'cors', 'user-agent': 'node' }

function lookupAsSocketWould(hostname) {
  return dns.promises.lookup(hostname, { all: true, hints: process.platform === 'win32' ? 0 : dns.ADDRCONFIG })
}

function createPinnedLookup(hostname, addresses) {
  return (lookupHostname, options, callback) => {
    if (lookupHostname !== hostname) {
      callback(codedError('ERR_IMAGE_LOOKUP_MISMATCH', `Image lookup hostname "${lookupHostname}" does not match request hostname "${hostname}"`), [])
      return
    }
    const family = typeof options.family === 'number' ? options.family : 0
    const matched = family ? addresses.filter((a) => a.family === family) : addresses
    if (matched.length === 0) {
      // Node's own code for a resolver answer without such an address (dns.NODATA), not an
      // ERR_ one: the socket reports it as it would a real lookup's.
      callback(codedError('ENODATA', `No IPv${family} address available for ${hostname}`), [])
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

module.exports = { createAgents, fetchExternalImage }
