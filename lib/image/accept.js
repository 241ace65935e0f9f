'use strict'

// Accept negotiation: which output format a request gets. Next's `server/image-optimizer.js`
// `getSupportedMimeType`: @hapi/accept 6 `mediaType(accept, formats)`, then Next keeps the
// answer only if the header names it literally, so wildcards never select webp/avif.
// Refuses a malformed parameter (`;x`, `;x=`) as hapi's Boom does (the handler answers 500),
// with ERR_INVALID_ARG_VALUE, and arguments of the wrong type (ERR_INVALID_ARG_TYPE).
//
// The rule lives in one place, crates/image/src/negotiate.rs (`negotiate_mime_type`), which
// `optimizeImage({ accept, formats })` also uses. The route needs the answer for its cache key
// before it has fetched anything, so it asks the native `negotiateImageType` for it here.

// The addon is loaded on first use, so a config error is reported without it.
let binding
function native() {
  return (binding ??= require('../../index.js'))
}

/** Next's `getSupportedMimeType`: a malformed header throws (→ 500) as @hapi/accept's Boom does. */
function negotiateMimeType(formats, accept = '') {
  return native().negotiateImageType(formats, accept)
}

module.exports = { negotiateMimeType }
