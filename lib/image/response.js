'use strict'

// Responses (`server/image-optimizer.js` `sendResponse`, `setResponseHeaders` and
// `getFileNameWithExtension`; `server/send-payload.js` `sendEtagResponse` for the 304): the
// status, headers and body of an answer, as `{ status, headers: [name, value][], body }`
// for whichever transport writes it. Refuses, in contentDisposition, a non-string file name
// (ERR_INVALID_ARG_TYPE) and a type other than "inline" or "attachment" (ERR_INVALID_ARG_VALUE).

const path = require('node:path')
const { invalidArgValue, validateString } = require('../errors')
const { getContentType, getExtension } = require('./image-type')

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

/** Next's 500 page, as plain text. */
const internalServerError = () => textResponse(500, 'Internal Server Error')

/** `sendResponse`: an image entry as a 200, or a 304 when the request's validators match. */
function sendResponse(c, method, header, params, entry) {
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

module.exports = { contentDisposition, internalServerError, sendResponse, textResponse }
