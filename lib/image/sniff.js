'use strict'

// Content sniffing: what an upstream's bytes are, whatever its Content-Type says. Next's
// `server/image-optimizer/detect-content-type.js` (the magic table, then image-detector on the
// first 1024 bytes, whose heif/cur/dds/j2c/ktx/pnm/psd/tga answers mean "not an image") and
// is-animated 1.2, which `server/image-optimizer/transform.js` asks before resizing.
// Refuses an argument that is not a Buffer/Uint8Array (ERR_INVALID_ARG_TYPE) or is detached
// (ERR_INVALID_ARG_VALUE); any bytes get an answer, null when they are no known type.
//
// Both rules live in one place, crates/image/src/format.rs (`detect_content_type`,
// `next_is_animated`), which the native decoders and `imageMetadata().animated` use too; these
// are the route's names for the native `detectImageType` and `isAnimatedImage`. They answer
// for any bytes, before any decode (the route's 400s, passthrough and bypass come first).

const { validateBytes } = require('../errors')

// The addon is loaded on first use, so a config error is reported without it.
let binding
function native() {
  return (binding ??= require('../../index.js'))
}

function detectContentType(buf) {
  return native().detectImageType(validateBytes(buf, 'buffer'))
}

function isAnimated(buf) {
  return native().isAnimatedImage(validateBytes(buf, 'buffer'))
}

module.exports = { detectContentType, isAnimated }
