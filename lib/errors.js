'use strict'

// No requires. lib/image-loader.js, bundled into client code, writes its two argument errors
// out in the same shape rather than requiring this file: it must require nothing.

/**
 * Errors thrown by the JS entry points carry a stable `code`, like the native ones
 * (`ERR_NATIVE_PANIC`, ...). Argument errors reuse Node's own codes so they read the
 * same as a core API misuse would.
 */
function codedError(code, message, Base = Error) {
  const err = new Base(message)
  err.code = code
  return err
}

/** What was received, as Node's own argument errors put it ("type number (42)", "null", ...). */
function describeReceived(actual) {
  if (actual === null || actual === undefined) return String(actual)
  if (typeof actual === 'function') return `function ${actual.name || '<anonymous>'}`
  if (typeof actual === 'object') {
    if (Array.isArray(actual)) return 'an array'
    const name = actual.constructor && actual.constructor.name
    return name ? `an instance of ${name}` : 'an object'
  }
  // Numbers as Node shows them (NaN, Infinity, -0), which JSON cannot.
  let shown =
    typeof actual === 'number'
      ? Object.is(actual, -0)
        ? '-0'
        : String(actual)
      : typeof actual === 'symbol' || typeof actual === 'bigint'
        ? String(actual)
        : (JSON.stringify(actual) ?? String(actual))
  if (typeof actual === 'bigint') shown += 'n'
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`
  return `type ${typeof actual} (${shown})`
}

/** ERR_INVALID_ARG_TYPE: `The "name" argument must be <expected>. Received <actual>`. */
function invalidArgType(name, expected, actual) {
  return codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${describeReceived(actual)}`, TypeError)
}

/** ERR_INVALID_ARG_VALUE: `The "name" argument <reason>. Received <actual>`. */
function invalidArgValue(name, reason, actual) {
  return codedError('ERR_INVALID_ARG_VALUE', `The "${name}" argument ${reason}. Received ${describeReceived(actual)}`, TypeError)
}

/**
 * Whether a typed array's memory was transferred away (`structuredClone(x, { transfer })`,
 * `postMessage`): it then reads as empty, which must not pass for an empty input.
 */
function isDetached(view) {
  if (view.byteLength !== 0) return false
  const buffer = view.buffer
  if (typeof buffer.detached === 'boolean') return buffer.detached
  try {
    structuredClone(buffer)
    return false
  } catch {
    return true
  }
}

function validateString(value, name) {
  if (typeof value !== 'string') throw invalidArgType(name, 'a string', value)
  return value
}

function validateObject(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgType(name, 'an object', value)
  return value
}

function validateBoolean(value, name) {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'a boolean', value)
  return value
}

function validateFunction(value, name) {
  if (typeof value !== 'function') throw invalidArgType(name, 'a function', value)
  return value
}

/** An integer from `min` to `max` (a safe integer by default): never NaN, ±Infinity or 2.5. */
function validateInteger(value, name, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number') throw invalidArgType(name, 'a number', value)
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalidArgValue(name, `must be an integer from ${min} to ${max}`, value)
  }
  return value
}

/** A Uint8Array (Buffer) whose memory is still there. */
function validateBytes(value, name) {
  if (!(value instanceof Uint8Array)) throw invalidArgType(name, 'a Buffer or Uint8Array', value)
  if (isDetached(value)) throw invalidArgValue(name, 'is a detached buffer (its memory was transferred)', value)
  return value
}

/** A CLI usage mistake: printed without a stack, exit code 2. */
function usageError(message) {
  const err = codedError('ERR_USAGE', message)
  err.exitCode = 2
  return err
}

module.exports = {
  codedError,
  describeReceived,
  invalidArgType,
  invalidArgValue,
  isDetached,
  validateString,
  validateObject,
  validateBoolean,
  validateFunction,
  validateInteger,
  validateBytes,
  usageError,
}
