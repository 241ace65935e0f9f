'use strict'

// Hashes and ETags. Mirrors `server/image-optimizer/extract-etag.js`: `getHash` (sha256,
// base64url, numbers hashed as their decimal text) for cache keys and the ETag of an
// encoded image, and `extractEtag` for the upstream's. Refuses nothing.

const crypto = require('node:crypto')

function getHash(items) {
  const hash = crypto.createHash('sha256')
  for (const item of items) hash.update(typeof item === 'number' ? String(item) : item)
  return hash.digest('base64url')
}

/** An upstream ETag is base64url'd (it may be weak, `W/"…"`, and it goes in a file name). */
function extractEtag(etag, buffer) {
  return etag ? Buffer.from(etag).toString('base64url') : getHash([buffer])
}

module.exports = { extractEtag, getHash }
