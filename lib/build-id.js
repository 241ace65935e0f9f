'use strict'

// Deterministic build IDs for next.config:
//   generateBuildId: require('@rs/next-native/build-id').generateBuildId
// The hashing (walk, .gitignore, SHA-256, canonical encoding) is in crates/build_id; this
// module gathers the inputs that live in JS land: env values from process.env (which by
// `next build` time include the .env files Next loaded) and the installed Next version.

const fs = require('node:fs')
const path = require('node:path')
const native = require('../index.js')
const { invalidArgType } = require('./errors')

function stringArray(value, name) {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw invalidArgType(name, 'an array of strings', value)
  }
  return value
}

function optionalString(value, name) {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw invalidArgType(name, 'a string', value)
  return value
}

/** The `next` a project would load: resolved from `dir`, as Node would. */
function installedNextVersion(dir) {
  try {
    const pkgPath = require.resolve('next/package.json', { paths: [dir] })
    return JSON.parse(fs.readFileSync(pkgPath, 'utf8')).version
  } catch {
    return undefined
  }
}

/** Public options → the explicit inputs the native hasher takes. */
function nativeOptions(options = {}) {
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'an object', options)
  const dir = path.resolve(optionalString(options.dir, 'options.dir') ?? process.cwd())
  const names = new Set(Object.keys(process.env).filter((k) => k.startsWith('NEXT_PUBLIC_')))
  for (const name of stringArray(options.env, 'options.env') ?? []) names.add(name)
  const envValues = {}
  for (const name of names) if (process.env[name] !== undefined) envValues[name] = process.env[name]
  return {
    dir,
    include: stringArray(options.include, 'options.include'),
    exclude: stringArray(options.exclude, 'options.exclude'),
    envValues,
    nextVersion: options.nextVersion === undefined ? installedNextVersion(dir) : optionalString(options.nextVersion, 'options.nextVersion'),
    salt: optionalString(options.salt, 'options.salt'),
    distDir: optionalString(options.distDir, 'options.distDir'),
  }
}

/** The tree hash with the manifest parsed: `{ buildId, deploymentId, manifest }`. */
async function hashProject(options) {
  return withManifest(await native.hashTree(nativeOptions(options)))
}

function hashProjectSync(options) {
  return withManifest(native.hashTreeSync(nativeOptions(options)))
}

function withManifest({ buildId, deploymentId, manifestJson }) {
  return { buildId, deploymentId, manifest: JSON.parse(manifestJson) }
}

const buildId = async (options) => (await hashProject(options)).buildId
const buildIdSync = (options) => hashProjectSync(options).buildId
const deploymentId = async (options) => (await hashProject(options)).deploymentId
const deploymentIdSync = (options) => hashProjectSync(options).deploymentId
const hashTree = async (options) => (await hashProject(options)).manifest
const hashTreeSync = (options) => hashProjectSync(options).manifest

/** What changed between two manifests (objects or JSON text), in a stable order. */
function explain(before, after) {
  const json = (m, name) => {
    if (typeof m === 'string') return m
    if (m && typeof m === 'object') return JSON.stringify(m)
    throw invalidArgType(name, 'a manifest object or JSON string', m)
  }
  // The native error names the manifest ("before" or "after") that is invalid.
  return JSON.parse(native.explainManifests(json(before, 'before'), json(after, 'after')))
}

/** A `generateBuildId` for next.config with fixed options, e.g. `{ dir: __dirname, env: ['API_URL'] }`. */
function createGenerateBuildId(options = {}) {
  nativeOptions(options) // validate now, at config load, not halfway through `next build`
  return () => buildId(options)
}

/** next.config `generateBuildId`: hashes the project in the current directory. */
const generateBuildId = () => buildId()

module.exports = {
  generateBuildId,
  createGenerateBuildId,
  buildId,
  buildIdSync,
  deploymentId,
  deploymentIdSync,
  hashTree,
  hashTreeSync,
  hashProject,
  hashProjectSync,
  explain,
}
