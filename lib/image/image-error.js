'use strict'

// Errors that become a response: ImageError's status rule (< 400 → 500) and plain text.
// Mirrors `server/image-optimizer/image-error.js`, and the two messages image-optimizer.js
// gives for a source that answered but not with an image it can use. Refuses nothing: the
// stage that refuses a request throws one of these.

class ImageError extends Error {
  constructor(statusCode, message) {
    super(message)
    this.statusCode = statusCode >= 400 ? statusCode : 500
  }
}

const UPSTREAM_INVALID = '"url" parameter is valid but upstream response is invalid'
const INTERNAL_INVALID = '"url" parameter is valid but internal response is invalid'

module.exports = { ImageError, INTERNAL_INVALID, UPSTREAM_INVALID }
