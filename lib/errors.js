'use strict'

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

function invalidArgType(name, expected, actual) {
  const got = actual === null ? 'null' : Array.isArray(actual) ? 'an array' : typeof actual
  return codedError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be ${expected}. Received ${got}`, TypeError)
}

/** A CLI usage mistake: printed without a stack, exit code 2. */
function usageError(message) {
  const err = codedError('ERR_USAGE', message)
  err.exitCode = 2
  return err
}

module.exports = { codedError, invalidArgType, usageError }
