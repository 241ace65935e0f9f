'use strict'

// `images.loaderFile` for a next-native image route or service. Next bundles this file into
// client code (it replaces next/dist/shared/lib/image-loader), so it must stay free of the
// native addon and of Node built-ins, and read env vars only as literal
// `process.env.NAME` expressions, which the bundler inlines at build time.

const DEFAULT_PATH = '/api/image'

/** Next inlines the `images` config here (`__NEXT_IMAGE_OPTS`); undefined outside a Next build. */
function nextImageConfig() {
  try {
    const opts = process.env.__NEXT_IMAGE_OPTS
    return typeof opts === 'string' ? JSON.parse(opts) : opts || undefined
  } catch {
    return undefined
  }
}

function serviceBase() {
  try {
    return process.env.NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL || DEFAULT_PATH
  } catch {
    return DEFAULT_PATH
  }
}

/**
 * Next's default loader coerces `quality` to the closest entry of `images.qualities`
 * (earlier entry on a tie); a custom loader gets the raw prop, so we do it here, or every
 * `quality={90}` would be a 400 with Next 16's default `qualities: [75]`.
 */
function closestQuality(quality, qualities) {
  const q = quality || 75
  if (!Array.isArray(qualities) || qualities.length === 0) return q
  return qualities.reduce((best, cur) => (Math.abs(cur - q) < Math.abs(best - q) ? cur : best), 0)
}

/** Returns a loader for the given endpoint (a path like `/api/image` or an absolute URL). */
function createImageLoader(base = DEFAULT_PATH, config) {
  return function nextNativeImageLoader({ src, width, quality }) {
    const q = closestQuality(quality, (config || nextImageConfig() || {}).qualities)
    const sep = base.includes('?') ? '&' : '?'
    return `${base}${sep}url=${encodeURIComponent(src)}&w=${width}&q=${q}`
  }
}

/** The `loaderFile` default export: `/api/image`, or `NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL`. */
function imageLoader(props) {
  return createImageLoader(serviceBase())(props)
}

module.exports = imageLoader
module.exports.default = imageLoader
module.exports.createImageLoader = createImageLoader
module.exports.closestQuality = closestQuality
module.exports.__esModule = true
