'use strict'

// next.config: `module.exports = withNextNative({ ...yourConfig })`
//
// Wires the package into Next 14.1 to 16 the way the README's hand-written config does:
// the cache handlers, the addon as a server external package, the content build ID and,
// when asked, the deployment ID. (The image loader needs a file in the project, see the README.) The user's own settings always win;
// an option the installed Next cannot honour is an error naming it, never a silent no-op.

const fs = require('node:fs')
const path = require('node:path')
const { codedError, describeReceived, invalidArgType, validateBoolean, validateObject, validateString } = require('./errors')

const PACKAGE = '@rs/next-native'
const OPTIONS = ['dir', 'cache', 'buildId', 'deploymentId']
const BUILD_ID_OPTIONS = ['env', 'include', 'exclude', 'salt', 'distDir']

/** `[major, minor, patch]` of a semver string (pre-release tags ignored). */
function parseVersion(version) {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (!m) throw codedError('ERR_NEXT_NATIVE_NEXT_VERSION', `withNextNative: cannot read the Next.js version "${version}"`)
  return m.slice(1).map(Number)
}

const atLeast = (v, major, minor = 0) => v[0] > major || (v[0] === major && v[1] >= minor)

/** The `next` that `next build` / `next start` in `dir` runs. */
function installedNext(dir) {
  let pkg
  try {
    pkg = require.resolve('next/package.json', { paths: [dir] })
  } catch {
    throw codedError('ERR_NEXT_NATIVE_NEXT_VERSION', `withNextNative: no "next" package resolves from ${dir}; install next, or pass { dir } where it is installed`)
  }
  const { version } = JSON.parse(fs.readFileSync(pkg, 'utf8'))
  return { version, v: parseVersion(version) }
}

function checkKeys(value, name, known) {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw codedError('ERR_INVALID_ARG_VALUE', `withNextNative: unknown option "${name}.${key}" (known: ${known.join(', ')})`, TypeError)
    }
  }
}

function checkStrings(value, name) {
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) throw invalidArgType(name, 'an array of strings', value)
}

/** The options with their defaults: `{ dir, cache, buildId: false | {...}, deploymentId }`. */
function resolveOptions(options) {
  validateObject(options, 'options')
  checkKeys(options, 'options', OPTIONS)
  const o = { dir: process.cwd(), cache: true, buildId: {}, deploymentId: false }
  if (options.dir !== undefined) o.dir = path.resolve(validateString(options.dir, 'options.dir'))
  if (options.cache !== undefined) o.cache = validateBoolean(options.cache, 'options.cache')
  if (options.deploymentId !== undefined) o.deploymentId = validateBoolean(options.deploymentId, 'options.deploymentId')
  if (options.buildId !== undefined && options.buildId !== true) {
    if (options.buildId === false) o.buildId = false
    else {
      validateObject(options.buildId, 'options.buildId')
      checkKeys(options.buildId, 'options.buildId', BUILD_ID_OPTIONS)
      for (const key of ['env', 'include', 'exclude']) if (options.buildId[key] !== undefined) checkStrings(options.buildId[key], `options.buildId.${key}`)
      for (const key of ['salt', 'distDir']) if (options.buildId[key] !== undefined) validateString(options.buildId[key], `options.buildId.${key}`)
      o.buildId = { ...options.buildId }
    }
  }
  if (o.deploymentId && o.buildId === false) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'withNextNative: options.deploymentId needs the content build ID; do not set options.buildId to false', TypeError)
  }
  return o
}

/** The npm package holding this platform's prebuilt binary (`@rs/next-native-linux-x64-musl`, …). */
function platformPackage() {
  const { platform, arch } = process
  let libc = ''
  if (platform === 'linux') libc = process.report?.getReport?.().header?.glibcVersionRuntime ? '-gnu' : '-musl'
  if (platform === 'win32') libc = '-msvc'
  return `${PACKAGE}-${platform}-${arch}${libc}`
}

/** The package napi-rs publishes for a Rust target triple (`x86_64-unknown-linux-musl` → `…-linux-x64-musl`). */
function targetPackage(triple) {
  const [cpu, , os, abi] = triple.split('-')
  const arch = { x86_64: 'x64', aarch64: 'arm64' }[cpu] ?? cpu
  const platform = { linux: 'linux', darwin: 'darwin', windows: 'win32' }[os] ?? os
  return `${PACKAGE}-${platform}-${arch}${abi ? `-${abi}` : ''}`
}

/**
 * Loads the native binary now, so a missing one stops `next build` / `next start` with the
 * package to install instead of failing the first request that reaches the cache.
 */
function checkBinary() {
  try {
    require('../index.js')
  } catch (err) {
    const pkg = platformPackage()
    const { version, napi } = require('../package.json')
    const known = napi.targets.map(targetPackage).includes(pkg)
    const fix = known
      ? `Install it: npm install ${pkg}@${version} (a lockfile made on another OS or libc, e.g. on macOS and installed in Alpine, leaves it out; so does npm install --no-optional)`
      : `There is no prebuilt binary for this platform; build one (npm run build in a clone) and point NAPI_RS_NATIVE_LIBRARY_PATH at it`
    const error = codedError('ERR_NEXT_NATIVE_BINARY', `${PACKAGE}: the native binary for ${process.platform}-${process.arch} did not load (${pkg}). ${fix}.`)
    error.cause = err
    throw error
  }
}

/** `list` plus what it lacks of `add`, keeping the user's order. */
const merged = (list, add) => [...(list ?? []), ...add.filter((x) => !(list ?? []).includes(x))]

/** The wrapped config object for one resolved next.config object. */
function wrapConfig(config, o, next) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw invalidArgType('nextConfig', 'an object or a function returning one', config)
  }
  const { v, version } = next
  if (!atLeast(v, 14, 1)) {
    throw codedError('ERR_NEXT_NATIVE_NEXT_VERSION', `withNextNative: Next.js ${version} is not supported; ${PACKAGE} needs Next.js 14.1 or later (cacheHandler)`)
  }
  const out = { ...config }
  const experimental = { ...config.experimental }

  // A native addon: Node must `require` it at run time, never bundle the .node file.
  if (atLeast(v, 15)) out.serverExternalPackages = merged(config.serverExternalPackages, [PACKAGE])
  else experimental.serverComponentsExternalPackages = merged(config.experimental?.serverComponentsExternalPackages, [PACKAGE])

  if (o.cache) {
    out.cacheHandler ??= require.resolve('./cache-handler')
    // 'use cache': `cacheHandlers` from 16, `experimental.cacheHandlers` in 15.
    // An entry set to undefined counts as unset, as for cacheHandler: Next's completed config
    // (what an adapter's modifyConfig gets) has `default`/`remote`/`static` keys, undefined
    // unless NEXT_*_CACHE_HANDLER_PATH is set.
    if (atLeast(v, 15)) {
      const handlers = require.resolve('./cache-handlers')
      const withDefaults = (given) => ({ ...given, default: given?.default ?? handlers, remote: given?.remote ?? handlers })
      if (atLeast(v, 16)) out.cacheHandlers = withDefaults(config.cacheHandlers)
      else experimental.cacheHandlers = withDefaults(config.experimental?.cacheHandlers)
    }
  }

  // `distDirRoot`: Next's completed config for `next dev` has distDir `.next/dev`.
  const distDir = out.distDirRoot ?? out.distDir
  if (o.buildId && out.generateBuildId === undefined) {
    const options = { ...o.buildId, dir: o.dir }
    if (distDir && options.distDir === undefined) options.distDir = distDir
    // Called by `next build` only, so `next start` never hashes the project.
    out.generateBuildId = () => require('./build-id').buildId(options)
  }

  if (o.deploymentId && out.deploymentId === undefined) {
    if (!atLeast(v, 16, 2)) {
      throw codedError(
        'ERR_NEXT_NATIVE_NEXT_VERSION',
        `withNextNative: options.deploymentId needs Next.js 16.2 or later (found ${version}); set next.config deploymentId yourself on older versions`,
      )
    }
    // NEXT_DEPLOYMENT_ID in the environment overrides next.config in Next itself.
    const options = { ...o.buildId, dir: o.dir }
    if (distDir && options.distDir === undefined) options.distDir = distDir
    out.deploymentId = require('./build-id').deploymentIdSync(options)
  }

  if (Object.keys(experimental).length) out.experimental = experimental
  return out
}

/**
 * Wraps a next.config object, or a config function `(phase, ctx) => config` (sync or async),
 * as plugins such as `withBundleAnalyzer` do. Returns the same kind it is given.
 */
function withNextNative(nextConfig = {}, options = {}) {
  const o = resolveOptions(options)
  const next = installedNext(o.dir)
  checkBinary()
  if (typeof nextConfig === 'function') {
    return async function nextNativeConfig(...args) {
      return wrapConfig(await nextConfig(...args), o, next)
    }
  }
  if (nextConfig === null || typeof nextConfig !== 'object' || Array.isArray(nextConfig)) {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "nextConfig" argument must be an object or a function. Received ${describeReceived(nextConfig)}`, TypeError)
  }
  return wrapConfig(nextConfig, o, next)
}

/**
 * The adapter's modifyConfig (lib/adapter.js): the same rules as `withNextNative(config)`
 * with default options, applied to the config Next has completed (defaults filled in).
 * `nextVersion` and `projectDir` are what Next passes to modifyConfig.
 */
function applyDefaultRules(config, { nextVersion, projectDir } = {}) {
  const o = resolveOptions(projectDir === undefined ? {} : { dir: projectDir })
  const next = typeof nextVersion === 'string' ? { version: nextVersion, v: parseVersion(nextVersion) } : installedNext(o.dir)
  checkBinary()
  return wrapConfig(config, o, next)
}

module.exports = { withNextNative }
// For lib/adapter.js only; not enumerable, so not part of the `./config` export surface.
Object.defineProperty(module.exports, 'internal', { value: { PACKAGE, applyDefaultRules, checkBinary } })
