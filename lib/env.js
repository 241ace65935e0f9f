'use strict'

// A drop-in for `@next/env` (14.0 – 16.4): same exports, signatures, module state,
// caching, messages and quirks. dotenv 16.3.1 parsing and dotenv-expand 10.0.0 expansion
// run in Rust (crates/env); everything that touches `process.env` stays here, so
// `combinedEnv` is the real `process.env` object (also in worker threads, which each
// have their own). The control flow below mirrors @next/env 16.4.6 step by step,
// because callers depend on its exact order: which file wins, when the snapshot is
// taken, what a forced reload wipes.

const fs = require('node:fs')
const path = require('node:path')
const binding = require('../index.js')
const { codedError, invalidArgType } = require('./errors')

let initialEnv
let combinedEnv
let parsedEnv
let cachedLoadedEnvFiles = []
let previousLoadedEnvFiles = []

/** @next/env 16.3+: a no-op before the first load; `undefined` deletes the key. */
function updateInitialEnv(newEnv) {
  if (!initialEnv) return
  // Upstream's `Object.entries(null)` TypeError, with a code and the argument's name.
  if (newEnv === null || newEnv === undefined) throw invalidArgType('newEnv', 'an object', newEnv)
  for (const [key, value] of Object.entries(newEnv)) {
    if (value === undefined) delete initialEnv[key]
    else initialEnv[key] = value
  }
}

const canLog = (log) => log !== null && log !== undefined && typeof log.error === 'function'
const badLog = (log) => invalidArgType('log.error', 'a function', log === null || log === undefined ? log : log.error)

/** `log.error(...)`; upstream's "x.error is not a function" TypeError gets a code and a name. */
function logError(log, ...args) {
  if (!canLog(log)) throw badLog(log)
  log.error(...args)
}

/** Puts back an exact copy of process.env (after a call that failed half-way). */
function restoreProcessEnv(saved) {
  for (const key of Object.keys(process.env)) if (!Object.hasOwn(saved, key)) delete process.env[key]
  Object.assign(process.env, saved)
}

/** Restores `process.env` to `env` in place (never reassigned), sparing `__NEXT_PRIVATE*`. */
function replaceProcessEnv(env) {
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('__NEXT_PRIVATE')) continue
    if (env[key] === undefined || env[key] === '') delete process.env[key]
  }
  for (const [key, value] of Object.entries(env)) process.env[key] = value
}

const JS_ERRORS = { RangeError, TypeError }

/** The error upstream throws for a dropped file, e.g. the RangeError of a `A=$A` self-reference. */
function upstreamError(outcome) {
  return new (JS_ERRORS[outcome.errorName] || Error)(outcome.errorMessage)
}

/**
 * dotenv 16.3.1's `parse(src)` begins with `src.toString()` and `.replace(...)`, so any
 * `contents` with a string form loads, and `undefined`/`null` fail that one file (logged).
 */
function contentsText(contents) {
  const text = contents.toString()
  if (typeof text !== 'string') throw new TypeError('lines.replace is not a function')
  return text
}

function processEnv(loadedEnvFiles, dir, log = console, forceReload = false, onReload) {
  if (!initialEnv) initialEnv = Object.assign({}, process.env)
  if (!forceReload && process.env.__NEXT_PROCESSED_ENV) return [process.env]
  // Where upstream fails on these with an uncoded TypeError (having already marked the
  // environment processed), fail first, with a code and nothing changed.
  if (loadedEnvFiles === null || typeof loadedEnvFiles !== 'object' || typeof loadedEnvFiles[Symbol.iterator] !== 'function') {
    if (typeof loadedEnvFiles !== 'string') throw invalidArgType('loadedEnvFiles', 'an array of { path, contents }', loadedEnvFiles)
  }
  if (!forceReload && loadedEnvFiles.length === 0) return [process.env]
  const files = Array.from(loadedEnvFiles)
  files.forEach((f, i) => {
    if (f === null || f === undefined) throw invalidArgType(`loadedEnvFiles[${i}]`, 'an object { path, contents }', f)
  })

  // Each file's text, or the error dotenv's parse would throw for it.
  const texts = files.map((f) => {
    try {
      return { text: contentsText(f.contents) }
    } catch (err) {
      return { err }
    }
  })
  // One native call parses and expands every file, simulating the process.env writes that
  // each file makes for the ones after it; the results are then applied here, in file order.
  const readable = texts.filter((t) => !t.err)
  const native = binding.envLoadFiles(
    readable.map((t) => t.text),
    process.env,
  )
  let next = 0
  const outcomes = texts.map((t) => (t.err ? { thrown: t.err } : native[next++]))
  const failed = (i) => outcomes[i].thrown || outcomes[i].errorName
  // A file whose own values apply but whose onReload call throws fails too (as upstream).
  const reloadFails = onReload !== undefined && onReload !== null && typeof onReload !== 'function'
  const isNew = (f) => !previousLoadedEnvFiles.some((item) => item.contents === f.contents && item.path === f.path)
  // Everything a failing file's log line needs is checked before anything changes: upstream
  // throws from its catch block (bad `log`, `dir` or `path`) after applying earlier files.
  if (files.some((f, i) => failed(i) || (reloadFails && isNew(f)))) {
    if (!canLog(log)) throw badLog(log)
    files.forEach((f, i) => {
      if (failed(i) || (reloadFails && isNew(f))) path.join(dir || '', f.path)
    })
  }

  process.env.__NEXT_PROCESSED_ENV = 'true'
  const origEnv = Object.assign({}, initialEnv)
  const parsed = {}
  // Values this call wrote, to skip rewrites of the same value below (each process.env write
  // is a setenv that scans the whole environment).
  const written = new Map()
  let userCodeRan = false
  files.forEach((envFile, i) => {
    const outcome = outcomes[i]
    try {
      if (outcome.thrown) throw outcome.thrown
      if (outcome.errorName) throw upstreamError(outcome)
      const result = {}
      const entries = outcome.entries
      for (let j = 0; j < entries.length; j += 2) result[entries[j]] = entries[j + 1]
      for (let j = 0; j < entries.length; j += 2) {
        process.env[entries[j]] = entries[j + 1]
        written.set(entries[j], entries[j + 1])
      }
      if (isNew(envFile)) {
        if (onReload) userCodeRan = true
        onReload?.(envFile.path)
      }
      for (const key of Object.keys(result)) {
        if (typeof parsed[key] === 'undefined' && typeof origEnv[key] === 'undefined') parsed[key] = result[key]
      }
      envFile.env = result
    } catch (err) {
      userCodeRan = true
      logError(log, `Failed to load env from ${path.join(dir || '', envFile.path)}`, err)
    }
  })
  // Upstream: `Object.assign(process.env, parsed)`. Where process.env already holds that value
  // (written above, and no user callback ran since that could have changed it), the write
  // changes nothing, so it is skipped: half the setenv calls of a load.
  for (const key of Object.keys(parsed)) {
    if (userCodeRan || written.get(key) !== parsed[key]) process.env[key] = parsed[key]
  }
  return [process.env, parsed]
}

function resetEnv() {
  if (initialEnv) replaceProcessEnv(initialEnv)
}

/** Next's mode rule, read from the live `process.env` (after any reset). */
function currentMode(dev) {
  return process.env.NODE_ENV === 'test' ? 'test' : dev ? 'development' : 'production'
}

/**
 * The env files @next/env reads for `mode`, in priority order. Regular files and FIFOs only;
 * a missing file is skipped silently, any other failure is logged with the file name only
 * (no dir), exactly as upstream words it. Pushes into `files` as it goes, as upstream does
 * with its module-level list (a `log.error` that throws leaves a partial list behind).
 */
function readEnvFiles(dir, mode, log, files = []) {
  const names = [`.env.${mode}.local`, mode !== 'test' && '.env.local', `.env.${mode}`, '.env'].filter(Boolean)
  for (const envFile of names) {
    const dotEnvPath = path.join(dir, envFile)
    try {
      const stats = fs.statSync(dotEnvPath)
      if (!stats.isFile() && !stats.isFIFO()) continue
      const contents = fs.readFileSync(dotEnvPath, 'utf8')
      files.push({ path: envFile, contents, env: {} })
    } catch (err) {
      if (err.code !== 'ENOENT') logError(log, `Failed to load env from ${envFile}`, err)
    }
  }
  return files
}

function loadEnvConfig(dir, dev, log = console, forceReload = false, onReload) {
  if (!initialEnv) initialEnv = Object.assign({}, process.env)
  // Cached per process (per module instance), whatever `dir` and `dev` are, as upstream.
  if (combinedEnv && !forceReload) {
    return { combinedEnv, parsedEnv, loadedEnvFiles: cachedLoadedEnvFiles }
  }
  // Upstream throws this (path.join's ERR_INVALID_ARG_TYPE for "path") only after restoring
  // the initial environment; the same error, before anything changes.
  if (typeof dir !== 'string') path.join(dir)
  // A `log` that cannot log fails the call only when something must be logged (as upstream,
  // which then throws half-way); the environment and the module state are then put back.
  const undo = canLog(log) ? null : { env: Object.assign({}, process.env), previous: previousLoadedEnvFiles, cached: cachedLoadedEnvFiles }
  try {
    replaceProcessEnv(initialEnv)
    previousLoadedEnvFiles = cachedLoadedEnvFiles
    cachedLoadedEnvFiles = []
    readEnvFiles(dir, currentMode(dev), log, cachedLoadedEnvFiles)
    ;[combinedEnv, parsedEnv] = processEnv(cachedLoadedEnvFiles, dir, log, forceReload, onReload)
  } catch (err) {
    if (undo) {
      restoreProcessEnv(undo.env)
      previousLoadedEnvFiles = undo.previous
      cachedLoadedEnvFiles = undo.cached
    }
    throw err
  }
  return { combinedEnv, parsedEnv, loadedEnvFiles: cachedLoadedEnvFiles }
}

const MODES = ['development', 'production', 'test']

/**
 * Opt-in, not in @next/env: for every variable the env files of `dir` define, the file and
 * line it came from, what it expanded from, which definitions were shadowed, and warnings
 * for the classic traps. Reads the files exactly as `loadEnvConfig` would, against the
 * environment as it was before any load, and never changes `process.env`.
 */
function explainEnv(dir, options = {}) {
  if (typeof dir !== 'string') throw invalidArgType('dir', 'a string', dir)
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  if (options.mode !== undefined && !MODES.includes(options.mode)) {
    throw codedError('ERR_INVALID_ARG_VALUE', `options.mode must be one of ${MODES.join(', ')}. Received ${JSON.stringify(options.mode)}`, TypeError)
  }
  if (options.dev !== undefined && typeof options.dev !== 'boolean') throw invalidArgType('options.dev', 'a boolean', options.dev)
  const base = initialEnv || process.env
  const mode = options.mode || (base.NODE_ENV === 'test' ? 'test' : options.dev ? 'development' : 'production')
  const readErrors = []
  const files = readEnvFiles(dir, mode, { error: (message, err) => readErrors.push({ message, err }) })
  const result = binding.envExplain(
    files.map((f) => ({ path: f.path, contents: f.contents })),
    base,
  )
  const warnings = readErrors.map(({ message, err }) => ({
    file: message.slice('Failed to load env from '.length),
    code: 'unreadable-file',
    message: `${message}: ${err && err.message}`,
  }))
  if (base.__NEXT_PROCESSED_ENV) {
    warnings.push({
      file: '',
      code: 'already-processed',
      message: '__NEXT_PROCESSED_ENV is set, so loadEnvConfig reads these files but applies none of them',
    })
  }
  for (const w of result.warnings) warnings.push(stripNullish(w))
  return {
    mode,
    files: files.map((f) => f.path),
    variables: result.variables.map(stripNullish),
    warnings,
  }
}

function stripNullish(obj) {
  for (const k of Object.keys(obj)) if (obj[k] === null || obj[k] === undefined) delete obj[k]
  return obj
}

// The same module shape as @next/env's bundle: `__esModule` plus enumerable,
// non-configurable getters, so `initialEnv` is live (undefined until the first load) and
// transpiled named imports work. Written out one by one in the form cjs-module-lexer
// recognises, so native ESM `import { loadEnvConfig } from '@rs/next-native/env'` also
// works (it does not with @next/env's bundle).
Object.defineProperty(exports, '__esModule', { value: true })
Object.defineProperty(exports, 'explainEnv', { enumerable: true, get: function () { return explainEnv } })
Object.defineProperty(exports, 'initialEnv', { enumerable: true, get: function () { return initialEnv } })
Object.defineProperty(exports, 'loadEnvConfig', { enumerable: true, get: function () { return loadEnvConfig } })
Object.defineProperty(exports, 'processEnv', { enumerable: true, get: function () { return processEnv } })
Object.defineProperty(exports, 'resetEnv', { enumerable: true, get: function () { return resetEnv } })
Object.defineProperty(exports, 'updateInitialEnv', { enumerable: true, get: function () { return updateInitialEnv } })
