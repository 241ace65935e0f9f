'use strict'

// Query validation: is `?url=…&w=…&q=…` a request Next would optimize. Mirrors
// `server/image-optimizer.js` `ImageOptimizerCache.validateParams` (same order, same
// messages), after next-server.js's query parsing. Refuses, as a 400 `errorMessage`, a
// missing, repeated or malformed url, w or q; a url that is too long, protocol-relative,
// recursive or matches no pattern; a width not in deviceSizes/imageSizes, a quality not in
// qualities. A bad escape in a local url or a malformed Accept throws (→ 500, as in Next).

const { negotiateMimeType } = require('./accept')
const { hasLocalMatch, hasRemoteMatch } = require('./patterns')

function validateParams(c, query, accept) {
  const { url, w, q } = query
  if (!url) return { errorMessage: '"url" parameter is required' }
  if (Array.isArray(url)) return { errorMessage: '"url" parameter cannot be an array' }
  if (url.length > 3072) return { errorMessage: '"url" parameter is too long' }
  if (url.startsWith('//')) return { errorMessage: '"url" parameter cannot be a protocol-relative URL (//)' }
  let href
  let isAbsolute
  if (url.startsWith('/')) {
    href = url
    isAbsolute = false
    // Next's parseRelativeUrl; decodeURIComponent may throw a URIError, as in Next (→ 500).
    if (/\/_next\/image($|\/)/.test(decodeURIComponent(new URL(`http://n${url}`).pathname))) {
      return { errorMessage: '"url" parameter cannot be recursive' }
    }
    if (!hasLocalMatch(c, url)) return { errorMessage: '"url" parameter is not allowed' }
  } else {
    let parsed
    try {
      parsed = new URL(url)
      href = parsed.toString()
      isAbsolute = true
    } catch {
      return { errorMessage: '"url" parameter is invalid' }
    }
    if (!['http:', 'https:'].includes(parsed.protocol)) return { errorMessage: '"url" parameter is invalid' }
    if (!hasRemoteMatch(c, parsed)) return { errorMessage: '"url" parameter is not allowed' }
  }
  if (!w) return { errorMessage: '"w" parameter (width) is required' }
  if (Array.isArray(w)) return { errorMessage: '"w" parameter (width) cannot be an array' }
  if (!/^[0-9]+$/.test(w)) return { errorMessage: '"w" parameter (width) must be an integer greater than 0' }
  if (!q) return { errorMessage: '"q" parameter (quality) is required' }
  if (Array.isArray(q)) return { errorMessage: '"q" parameter (quality) cannot be an array' }
  if (!/^[0-9]+$/.test(q)) return { errorMessage: '"q" parameter (quality) must be an integer between 1 and 100' }
  const width = parseInt(w, 10)
  if (width <= 0 || isNaN(width)) return { errorMessage: '"w" parameter (width) must be an integer greater than 0' }
  if (!c.deviceSizes.includes(width) && !c.imageSizes.includes(width)) {
    return { errorMessage: `"w" parameter (width) of ${width} is not allowed` }
  }
  const quality = parseInt(q, 10)
  if (isNaN(quality) || quality < 1 || quality > 100) {
    return { errorMessage: '"q" parameter (quality) must be an integer between 1 and 100' }
  }
  // The raw string, so `q=0080` reports "of 0080" as Next does.
  if (c.qualities && !c.qualities.includes(quality)) return { errorMessage: `"q" parameter (quality) of ${q} is not allowed` }
  const mimeType = negotiateMimeType(c.formats, accept)
  const isStatic = url.startsWith(`${c.basePath}/_next/static/media`) || url.startsWith(`${c.basePath}/_next/static/immutable/media`)
  return { href, isAbsolute, isStatic, width, quality, mimeType }
}

// Next parses the query with URLSearchParams and turns repeated keys into arrays.
function queryFromSearch(search) {
  const query = {}
  for (const [key, value] of new URLSearchParams(search)) {
    const existing = query[key]
    if (existing === undefined) query[key] = value
    else if (Array.isArray(existing)) existing.push(value)
    else query[key] = [existing, value]
  }
  return query
}

module.exports = { queryFromSearch, validateParams }
