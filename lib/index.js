'use strict'

// `require('@rs/next-native')`: the documented API of the package root, the image functions
// and nativeInfo. The generated loader (../index.js) exports every native binding, including
// the cache store and disk tier behind the cache handlers; those are internals, reached only
// through the subpaths (`/cache-handler`, `/build-id`, `/env`…), so they can change freely.

const native = require('../index.js')

module.exports = {
  optimizeImage: native.optimizeImage,
  optimizeImageSync: native.optimizeImageSync,
  imageMetadata: native.imageMetadata,
  blurPlaceholder: native.blurPlaceholder,
  blurPlaceholderSync: native.blurPlaceholderSync,
  nativeInfo: native.nativeInfo,
}
