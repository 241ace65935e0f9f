'use strict'

// Local fetch: the source of a url that starts with `/`. Stands in for
// `server/image-optimizer.js` `fetchInternalImage`, which runs Next's router; here the file
// is read from `publicDir` (and `distDir/static` for `/_next/static/...`), a deliberate
// difference (see image-handler.js). Refuses, as an ImageError with Next's "internal
// response is invalid" message: a bad escape (400), an empty path, an empty or
// separator-bearing segment, NUL, a path out of its root, a missing file or a directory
// (404), a dotfile (500, as `send` inside Next 16.4.6), a file over maximumResponseBody
// (413) or empty (400).

const fs = require('node:fs')
const path = require('node:path')
const { extractEtag } = require('./etag')
const { ImageError, INTERNAL_INVALID } = require('./image-error')
const { getContentType } = require('./image-type')

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

module.exports = { fetchLocalImage }
