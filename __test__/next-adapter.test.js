'use strict'

// The Next 16.2+ adapter (lib/adapter.js). First through Next 16.4's own config loader, against
// withNextNative (no build). Then on real `next build` + `next start` runs of the installed
// Next 16.4 with fixtures/adapter-app, whose next.config has none of our keys: once with
// `adapterPath` in next.config, once with NEXT_ADAPTER_PATH and `output: 'standalone'`, and
// once with a file trace that leaves our binary out, which onBuildComplete must refuse.
// `npm run test:unit` skips this file (scripts/test.mjs NOT_UNIT): it runs three builds.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test, after } = require('node:test')
const { freePort, killGroup, nextBuild, nextStart, sleep, spawnGroup } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'adapter-app')
const DIST = path.join(FIXTURE, '.next')
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const ADAPTER = path.join(ROOT, 'lib', 'adapter.js')
const HANDLER = path.join(ROOT, 'lib', 'cache-handler.js')
const HANDLERS = path.join(ROOT, 'lib', 'cache-handlers.js')

const adapter = require('../lib/adapter')
const { withNextNative } = require('../lib/config')
const { buildIdSync } = require('../lib/build-id')
const { PHASE_PRODUCTION_BUILD, PHASE_PRODUCTION_SERVER } = require('next/constants')
const loadConfig = require('next/dist/server/config').default
const { configProjects } = require('./fixtures/config-projects')

// ---------------------------------------------------------------------------------------
// In-process: Next's loadConfig applies the adapter's modifyConfig as `next build` does.

const project = configProjects('adapter')
const TMP = project.root

/** Our keys of a loaded config, with the build ID its generateBuildId gives. */
async function ourKeys(config) {
  return {
    cacheHandler: config.cacheHandler,
    cacheHandlers: { default: config.cacheHandlers?.default, remote: config.cacheHandlers?.remote },
    experimentalCacheHandlers: config.experimental?.cacheHandlers,
    serverExternalPackages: config.serverExternalPackages,
    buildId: config.generateBuildId ? await config.generateBuildId() : undefined,
    deploymentId: config.deploymentId,
  }
}

test('modifyConfig, as Next 16.4 applies it, sets the same keys as withNextNative with default options', async () => {
  const viaAdapter = project(`module.exports = { reactStrictMode: true, adapterPath: require.resolve('@rs/next-native/adapter') }\n`)
  const viaWrapper = project(`module.exports = require('@rs/next-native/config').withNextNative({ reactStrictMode: true }, { dir: __dirname })\n`)
  const a = await loadConfig(PHASE_PRODUCTION_BUILD, viaAdapter)
  const w = await loadConfig(PHASE_PRODUCTION_BUILD, viaWrapper)
  assert.equal(a.adapterPath, ADAPTER, 'the package export is lib/adapter.js')
  const [ka, kw] = [await ourKeys(a), await ourKeys(w)]
  // The two next.config files differ, so their content build IDs do too: each is its project's.
  assert.equal(ka.buildId, buildIdSync({ dir: viaAdapter }))
  assert.equal(kw.buildId, buildIdSync({ dir: viaWrapper }))
  assert.deepEqual({ ...ka, buildId: 'content' }, { ...kw, buildId: 'content' })
  assert.equal(ka.cacheHandler, HANDLER)
  assert.deepEqual(ka.cacheHandlers, { default: HANDLERS, remote: HANDLERS })
  assert.ok(ka.serverExternalPackages.includes('@rs/next-native'), String(ka.serverExternalPackages))
  assert.equal(ka.deploymentId, undefined, 'no deploymentId: that option needs withNextNative')
  assert.equal(a.reactStrictMode, true)
  // `next start` loads next.config too, and so applies modifyConfig again.
  const served = await loadConfig(PHASE_PRODUCTION_SERVER, viaAdapter)
  assert.equal(served.cacheHandler, HANDLER)
})

test("through the adapter too, the user's own settings win and lists are merged", async () => {
  const dir = project(
    `module.exports = {
      adapterPath: require.resolve('@rs/next-native/adapter'),
      cacheHandler: require.resolve('./my-handler.js'),
      cacheHandlers: { remote: require.resolve('./my-handler.js') },
      serverExternalPackages: ['some-orm'],
      generateBuildId: () => 'mine',
    }\n`,
    { 'my-handler.js': 'module.exports = class {}\n' },
  )
  const config = await loadConfig(PHASE_PRODUCTION_BUILD, dir)
  const mine = path.join(dir, 'my-handler.js')
  assert.equal(config.cacheHandler, mine)
  assert.deepEqual([config.cacheHandlers.default, config.cacheHandlers.remote], [HANDLERS, mine])
  assert.deepEqual(config.serverExternalPackages, ['some-orm', '@rs/next-native'])
  assert.equal(await config.generateBuildId(), 'mine')
  // The wrapper and the adapter together: the adapter finds the keys set and keeps them.
  const both = project(
    `module.exports = require('@rs/next-native/config').withNextNative({ adapterPath: require.resolve('@rs/next-native/adapter') }, { dir: __dirname, cache: false })\n`,
  )
  const c = await loadConfig(PHASE_PRODUCTION_BUILD, both)
  assert.equal(await c.generateBuildId(), buildIdSync({ dir: both }))
  assert.equal(c.cacheHandler, HANDLER, 'the adapter has no options: it sets what cache: false left out')
})

test('onBuildComplete: the standalone trace must hold the binary this process loaded', async () => {
  const binary = Object.keys(require.cache).find((f) => /next-native\.[^\\/]+\.node$/.test(f))
  assert.ok(binary, 'the addon is loaded')
  const distDir = path.join(TMP, 'dist')
  fs.mkdirSync(distDir, { recursive: true })
  const ctx = (output, assets) => ({
    config: { output, outputFileTracingRoot: ROOT },
    distDir,
    projectDir: TMP,
    repoRoot: ROOT,
    outputs: { appPages: [{ assets }], appRoutes: [], pages: [], pagesApi: [], prerenders: [], staticFiles: [] },
  })
  await adapter.onBuildComplete(ctx(undefined, {}))
  await adapter.onBuildComplete(ctx('standalone', { [path.relative(ROOT, binary)]: binary }))
  await assert.rejects(adapter.onBuildComplete(ctx('standalone', { 'lib/cache-handler.js': HANDLER })), {
    code: 'ERR_NEXT_NATIVE_NOT_TRACED',
    message: new RegExp(`${path.basename(binary).replaceAll('.', '\\.')} is not among the files Next traced`),
  })
})

// ---------------------------------------------------------------------------------------
// Real builds of fixtures/adapter-app (one at a time: each uses .next).

function envFor(vars) {
  const inherited = { ...process.env }
  for (const k of ['NEXT_ADAPTER_PATH', 'ADAPTER_VIA', 'NEXT_OUTPUT', 'EXCLUDE_NODE_FILES', 'NEXT_DEPLOYMENT_ID', 'NEXT_CACHE_HANDLER_PATH']) delete inherited[k]
  return { ...inherited, NEXT_TELEMETRY_DISABLED: '1', ...vars }
}

after(() => fs.rmSync(DIST, { recursive: true, force: true }))

async function build(env) {
  fs.rmSync(DIST, { recursive: true, force: true })
  return nextBuild(NEXT_BIN, { cwd: FIXTURE, env })
}

const field = (html, id) => new RegExp(`<p id="${id}">([^<]*)</p>`).exec(html)?.[1]

function client(port) {
  const base = `http://127.0.0.1:${port}`
  return {
    async page(pathname) {
      const res = await fetch(base + pathname, { signal: AbortSignal.timeout(30_000) })
      const body = await res.text()
      assert.equal(res.status, 200, `${pathname}: HTTP ${res.status} ${body.slice(0, 300)}`)
      return { cache: res.headers.get('x-nextjs-cache'), rendered: field(body, 'rendered'), notes: field(body, 'notes') }
    },
    async stats() {
      const res = await fetch(`${base}/api/stats`, { signal: AbortSignal.timeout(30_000) })
      assert.equal(res.status, 200)
      return res.json()
    },
  }
}

/** Checks that hold for every adapter build: the content build ID and our keys in the build's config. */
function checkBuild(output) {
  assert.match(output, /Applying modifyConfig from @rs\/next-native/)
  assert.match(output, /Running onBuildComplete from @rs\/next-native/)
  assert.equal(fs.readFileSync(path.join(DIST, 'BUILD_ID'), 'utf8').trim(), buildIdSync({ dir: FIXTURE }), 'BUILD_ID is the content build ID')
  const { config } = JSON.parse(fs.readFileSync(path.join(DIST, 'required-server-files.json'), 'utf8'))
  // Absolute in a plain build; relative to distDir when output is 'standalone'.
  const abs = (p) => path.resolve(DIST, p)
  assert.equal(abs(config.cacheHandler), HANDLER)
  assert.deepEqual([abs(config.cacheHandlers.default), abs(config.cacheHandlers.remote)], [HANDLERS, HANDLERS])
  assert.ok(config.serverExternalPackages.includes('@rs/next-native'), String(config.serverExternalPackages))
  return config
}

/** ISR prerendered by the build, ISR rendered at run time and 'use cache', all through our store. */
async function checkServed(t, c, startedAt) {
  const isr = await c.page('/isr')
  assert.equal(isr.cache, 'HIT', 'the prerendered page is served from the cache')
  assert.ok(Number(isr.rendered) < startedAt, 'rendered by next build')
  const first = await c.page('/runtime/a')
  const second = await c.page('/runtime/a')
  assert.equal(second.cache, 'HIT')
  assert.equal(second.rendered, first.rendered)
  const notes = await c.page('/notes')
  assert.match(notes.notes, /^notes-\d+$/)
  assert.equal((await c.page('/notes')).notes, notes.notes, "'use cache' served from the cache")
  const stats = await c.stats()
  assert.ok(stats, 'our cache store exists in the server process: Next constructed our handlers')
  assert.ok(stats.entries >= 3 && stats.hits >= 2, JSON.stringify(stats))
  t.diagnostic(`store: ${stats.entries} entries, ${stats.hits} hits, ${stats.misses} misses`)
  return { runtime: first, notes }
}

test('adapterPath in next.config: next build + next start', { timeout: 5 * 60_000 }, async (t) => {
  const env = envFor({})
  let started = Date.now()
  const output = await build(env)
  t.diagnostic(`next build: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const config = checkBuild(output)
  assert.equal(config.output, undefined)

  const port = await freePort()
  let server
  t.after(() => killGroup(server))
  started = Date.now()
  server = await nextStart(NEXT_BIN, { cwd: FIXTURE, env, port })
  const c = client(port)
  const before = await checkServed(t, c, started)

  // Our disk tier (<distDir>/cache/next-native) holds the entries, and serves them after a
  // restart: Next's own 'use cache' handler keeps its entries in memory only.
  const files = fs.readdirSync(path.join(DIST, 'cache', 'next-native'), { recursive: true }).filter((f) => /[0-9a-f]{62}$/.test(f))
  assert.ok(files.length >= 2, `entry files in .next/cache/next-native: ${files.length}`)
  await killGroup(server)
  server = await nextStart(NEXT_BIN, { cwd: FIXTURE, env, port })
  const again = await c.page('/runtime/a')
  assert.equal(again.cache, 'HIT')
  assert.equal(again.rendered, before.runtime.rendered, 'the runtime-rendered page survived the restart')
  assert.equal((await c.page('/notes')).notes, before.notes.notes, "the 'use cache' entry survived the restart")
})

test('NEXT_ADAPTER_PATH with output: standalone: the binary is traced; next start needs the variable too, server.js does not', { timeout: 5 * 60_000 }, async (t) => {
  const env = envFor({ ADAPTER_VIA: 'env', NEXT_ADAPTER_PATH: ADAPTER, NEXT_OUTPUT: 'standalone' })
  let started = Date.now()
  const output = await build(env)
  t.diagnostic(`next build: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  const config = checkBuild(output)
  assert.equal(config.output, 'standalone')
  const binary = Object.keys(require.cache).find((f) => /next-native\.[^\\/]+\.node$/.test(f))
  const copied = path.join(DIST, 'standalone', path.relative(config.outputFileTracingRoot, fs.realpathSync(binary)))
  assert.ok(fs.existsSync(copied), `${copied} is in the standalone output`)

  const port = await freePort()
  let server
  t.after(() => killGroup(server))
  started = Date.now()
  server = await nextStart(NEXT_BIN, { cwd: FIXTURE, env, port })
  await checkServed(t, client(port), started)

  // `next start` reads next.config again, not the build's config: without the variable it runs
  // no modifyConfig, so Next's default caches serve and our store is never made.
  await killGroup(server)
  server = await nextStart(NEXT_BIN, { cwd: FIXTURE, env: envFor({ ADAPTER_VIA: 'env', NEXT_OUTPUT: 'standalone' }), port })
  await client(port).page('/runtime/b')
  assert.equal(await client(port).stats(), null)

  // The standalone server.js runs on the build's config (our keys in it): no variable needed.
  await killGroup(server)
  const serverJs = path.join(DIST, 'standalone', path.relative(config.outputFileTracingRoot, FIXTURE), 'server.js')
  server = spawnGroup([serverJs], { cwd: path.dirname(serverJs), env: envFor({ PORT: String(port), HOSTNAME: '127.0.0.1' }) })
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false)
    if (up) break
    assert.ok(i < 150 && server.exitCode === null, `server.js did not answer:\n${server.output}`)
    await sleep(200)
  }
  await checkServed(t, client(port), started)
})

test('output: standalone whose file trace leaves the binary out fails the build (ERR_NEXT_NATIVE_NOT_TRACED)', { timeout: 5 * 60_000 }, async () => {
  const env = envFor({ NEXT_OUTPUT: 'standalone', EXCLUDE_NODE_FILES: '1' })
  await assert.rejects(build(env), (err) => {
    assert.match(err.message, /ERR_NEXT_NATIVE_NOT_TRACED/)
    assert.match(err.message, /output: 'standalone' would ship without the native binary: next-native\.[^ ]+\.node is not among the files/)
    return true
  })
  assert.ok(!fs.existsSync(path.join(DIST, 'standalone')), 'no standalone output was written')
})
