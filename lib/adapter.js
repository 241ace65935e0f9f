'use strict'

// A Next.js 16.2+ adapter: next.config `adapterPath: require.resolve('@rs/next-native/adapter')`,
// or NEXT_ADAPTER_PATH=<that path> in the environment of `next build` and `next start`.
//
// modifyConfig: the rules of `withNextNative(config)` (lib/config.js, their one home) with
// default options. Next calls it for every command that loads next.config (build, start,
// dev), after filling in its defaults, with { phase, nextVersion, projectDir }.
//
// onBuildComplete: for `output: 'standalone'`, checks that Next's file trace holds the native
// binary this build loaded, so `.next/standalone` cannot ship without it. Next calls it after
// the build's traces are written and before it copies them into `.next/standalone`.

const fs = require('node:fs')
const path = require('node:path')
const { codedError } = require('./errors')
const { PACKAGE, applyDefaultRules, checkBinary } = require('./config').internal

/** The `.node` file of ours that this process loaded (`require.cache` keeps native modules too). */
function loadedBinary() {
  checkBinary()
  return Object.keys(require.cache).find((f) => /^next-native\.[^\\/]+\.node$/.test(path.basename(f)))
}

function realpath(file) {
  try {
    return fs.realpathSync(file)
  } catch {
    return null
  }
}

/**
 * The absolute source paths that a `*.nft.json` trace lists, mapped the way Next's standalone
 * copy maps them (`next/dist/build/nft` mapNftFileEntries, skipping paths that leave the
 * tracing root, which the copy skips too). A missing trace file lists nothing.
 */
function tracedFiles(traceFile, tracingRoot, projectDir) {
  let trace
  try {
    trace = JSON.parse(fs.readFileSync(traceFile, 'utf8'))
  } catch (err) {
    if (err.code === 'ENOENT') return []
    throw err
  }
  let nft = null
  try {
    nft = require(require.resolve('next/dist/build/nft', { paths: [projectDir] }))
  } catch {}
  if (nft && typeof nft.mapNftFileEntries === 'function') {
    return nft.mapNftFileEntries(trace, traceFile, tracingRoot, { skipBaseRootEscapes: true }).map((e) => e.source)
  }
  return (trace.files ?? []).map((f) => path.resolve(path.dirname(traceFile), f))
}

/** Throws ERR_NEXT_NATIVE_NOT_TRACED when standalone output would lack the native binary. */
function checkStandaloneTrace({ config, distDir, projectDir, repoRoot, outputs }) {
  if (!config || config.output !== 'standalone') return
  // A binary from outside the package: the server will need the same variable; nothing to match.
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) return
  const binary = loadedBinary()
  const real = binary && realpath(binary)
  if (!real) return
  const tracingRoot = config.outputFileTracingRoot || repoRoot || projectDir
  // The server's trace holds what the cache handlers load; routes that import the package
  // carry it in their own traces (the adapter outputs' `assets`, source paths as values).
  const serverTrace = path.join(distDir, 'next-server.js.nft.json')
  const candidates = tracedFiles(serverTrace, tracingRoot, projectDir)
  for (const kind of ['appPages', 'appRoutes', 'pages', 'pagesApi']) {
    for (const output of outputs?.[kind] ?? []) candidates.push(...Object.values(output.assets ?? {}))
  }
  const name = path.basename(binary)
  if (candidates.some((f) => path.basename(f) === name && realpath(f) === real)) return
  throw codedError(
    'ERR_NEXT_NATIVE_NOT_TRACED',
    `${PACKAGE}: output: 'standalone' would ship without the native binary: ${path.relative(tracingRoot, real)} is not among the files ` +
      `Next traced for the server (${path.relative(projectDir || process.cwd(), serverTrace)}) or its routes, so .next/standalone/server.js ` +
      `could not load ${PACKAGE}. The usual cause is an outputFileTracingExcludes pattern that matches it.`,
  )
}

/** @type {import('./adapter').NextNativeAdapter} */
const adapter = {
  name: PACKAGE,
  modifyConfig(config, ctx = {}) {
    return applyDefaultRules(config, { nextVersion: ctx.nextVersion, projectDir: ctx.projectDir })
  },
  async onBuildComplete(ctx) {
    checkStandaloneTrace(ctx)
  },
}

module.exports = adapter
