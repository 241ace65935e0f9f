'use strict'

// `images.loaderFile` for a next-native image route or service. Next bundles this file into
// client code (it replaces next/dist/shared/lib/image-loader), so it must stay free of the
// native addon and of Node built-ins, and read env vars only as literal
// `process.env.NAME` expressions, which the bundler inlines at build time.

const DEFAULT_PATH = '/api/image'

// Argument errors as lib/errors.js makes them (coded like Node's own), written out here: this
// file must not require anything.
function received(v) {
  if (v === null || v === undefined) return String(v)
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return v.constructor && v.constructor.name ? `an instance of ${v.constructor.name}` : 'an object'
  if (typeof v === 'function') return 'a function'
  return `type ${typeof v} (${String(v).slice(0, 25)})`
}
function argError(code, message, v) {
  const err = new TypeError(`${message}. Received ${received(v)}`)
  err.code = code
  return err
}
const invalidArgType = (name, expected, v) => argError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}`, v)
const invalidArgValue = (name, reason, v) => argError('ERR_INVALID_ARG_VALUE', `The "${name}" argument ${reason}`, v)
function validateString(v, name) {
  if (typeof v !== 'string') throw invalidArgType(name, 'a string', v)
}

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
 * `quality={90}` would be a 400 with Next 16's default `qualities: [75]`. Exactly Next 16.4's
 * `findClosestQuality(quality, { qualities })`, including what it does with odd values
 * (`quality || 75`); where it would fail with an uncoded TypeError, ours has a code.
 */
function closestQuality(quality, qualities) {
  const q = quality || 75
  if (!qualities?.length) return q
  if (typeof qualities.reduce !== 'function') throw invalidArgType('qualities', 'an array of numbers', qualities)
  return qualities.reduce((prev, cur) => (Math.abs(cur - q) < Math.abs(prev - q) ? cur : prev), qualities[0])
}

/** next.config `images.qualities` as Next's config schema has it: 1 to 20 integers from 1 to 100. */
function validateQualities(qualities, name) {
  if (!Array.isArray(qualities)) throw invalidArgType(name, 'an array of integers from 1 to 100', qualities)
  qualities.forEach((q, i) => {
    if (typeof q !== 'number') throw invalidArgType(`${name}[${i}]`, 'a number', q)
    if (!Number.isInteger(q) || q < 1 || q > 100) throw invalidArgValue(`${name}[${i}]`, 'must be an integer from 1 to 100', q)
  })
}

/** `src` and `width` as next/image always passes them; anything else would build a URL that 400s. */
function validateProps(props) {
  if (props === null || typeof props !== 'object') throw invalidArgType('props', 'an object { src, width, quality? }', props)
  const { src, width } = props
  validateString(src, 'props.src')
  if (src === '') throw invalidArgValue('props.src', 'must not be empty', src)
  if (typeof width !== 'number') throw invalidArgType('props.width', 'a number', width)
  if (!Number.isSafeInteger(width) || width < 1) throw invalidArgValue('props.width', 'must be a positive integer', width)
}

/** Returns a loader for the given endpoint (a path like `/api/image` or an absolute URL). */
function createImageLoader(base, config) {
  base = base ?? DEFAULT_PATH
  validateString(base, 'base')
  if (config !== undefined && config !== null) {
    if (typeof config !== 'object') throw invalidArgType('config', 'an object { qualities? }', config)
    if (config.qualities !== undefined && config.qualities !== null) validateQualities(config.qualities, 'config.qualities')
  }
  return function nextNativeImageLoader(props) {
    validateProps(props)
    const { src, width, quality } = props
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
