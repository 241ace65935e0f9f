'use strict'

// withNextNative (lib/config.js), checked against Next's own config loader: each project is a
// folder with a next.config.js that wraps its config, loaded by the installed Next 16.4's
// `loadConfig` exactly as `next build` loads it (validation, loaderFile check, warnings).
// The per-version shapes of 14.1 and 15 are checked against a `next/package.json` of that
// version; real builds of the wrapped config run in the e2e and standalone tests.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test, after } = require('node:test')

const ROOT = path.join(__dirname, '..')
const { withNextNative } = require('../lib/config')
const { buildIdSync, deploymentIdSync } = require('../lib/build-id')
const { PHASE_PRODUCTION_BUILD, PHASE_PRODUCTION_SERVER } = require('next/constants')
const loadConfig = require('next/dist/server/config').default
const { configProjects } = require('./fixtures/config-projects')

const project = configProjects('wrapper')
const TMP = project.root

/** Next's loadConfig, with what it logs. */
async function load(dir, phase = PHASE_PRODUCTION_BUILD) {
  const logs = []
  const saved = { warn: console.warn, error: console.error, log: console.log }
  console.warn = console.error = console.log = (...args) => logs.push(args.join(' '))
  try {
    const config = await loadConfig(phase, dir, { silent: false })
    return { config, logs }
  } finally {
    Object.assign(console, saved)
  }
}

const handler = require.resolve('../lib/cache-handler')
const handlers = require.resolve('../lib/cache-handlers')

test('Next 16.4 loads the one-line config: cache handlers, external package, content build ID', async () => {
  const dir = project(`module.exports = require('@rs/next-native/config').withNextNative({ reactStrictMode: true }, { dir: __dirname })\n`)
  const { config, logs } = await load(dir)
  assert.equal(config.cacheHandler, handler)
  assert.deepEqual([config.cacheHandlers.default, config.cacheHandlers.remote], [handlers, handlers])
  assert.ok(config.serverExternalPackages.includes('@rs/next-native'), String(config.serverExternalPackages))
  assert.equal(config.reactStrictMode, true)
  assert.equal(await config.generateBuildId(), buildIdSync({ dir }))
  assert.equal(config.deploymentId, undefined, 'no deploymentId unless asked')
  assert.deepEqual(
    logs.filter((l) => /invalid|unrecognized|deprecated|warn/i.test(l)),
    [],
    'Next warned about the wrapped config',
  )
})

test("the user's own settings win, and lists are merged, not replaced", async () => {
  const dir = project(
    `module.exports = require('@rs/next-native/config').withNextNative({
      cacheHandler: require.resolve('./my-handler.js'),
      cacheHandlers: { remote: require.resolve('./my-handler.js') },
      serverExternalPackages: ['some-orm'],
      generateBuildId: () => 'mine',
    }, { dir: __dirname })\n`,
    { 'my-handler.js': 'module.exports = class {}\n' },
  )
  const { config } = await load(dir)
  assert.equal(config.cacheHandler, path.join(dir, 'my-handler.js'))
  assert.deepEqual([config.cacheHandlers.default, config.cacheHandlers.remote], [handlers, path.join(dir, 'my-handler.js')])
  assert.ok(config.serverExternalPackages.includes('some-orm'))
  assert.ok(config.serverExternalPackages.includes('@rs/next-native'))
  assert.equal(await config.generateBuildId(), 'mine')
})

test("the README's hand-written loaderFile (an absolute require.resolve path) fails Next's own check", async () => {
  // Next joins loaderFile onto the project folder.
  const broken = project(`module.exports = { images: { loader: 'custom', loaderFile: require.resolve('@rs/next-native/image-loader') } }\n`)
  await assert.rejects(load(broken), /Specified images.loaderFile does not exist/)
  const fixed = project(`module.exports = { images: { loader: 'custom', loaderFile: './image-loader.js' } }\n`, {
    'image-loader.js': "export { default } from '@rs/next-native/image-loader'\n",
  })
  assert.equal((await load(fixed)).config.images.loaderFile, path.join(fixed, 'image-loader.js'))
})

test('deploymentId: the content deployment ID, valid for Next 16.4, equal across copies at different paths', async () => {
  const source = `module.exports = require('@rs/next-native/config').withNextNative({}, { dir: __dirname, deploymentId: true })\n`
  const a = project(source)
  const b = project(source)
  const [ca, cb] = [(await load(a)).config, (await load(b)).config]
  assert.match(ca.deploymentId, /^[a-z0-9_-]{1,32}$/)
  assert.equal(ca.deploymentId, deploymentIdSync({ dir: a }))
  assert.equal(ca.deploymentId, cb.deploymentId)
  assert.equal(await ca.generateBuildId(), await cb.generateBuildId())
  // `next start` loads the config too: same ID, so the server agrees with the build.
  assert.equal((await load(a, PHASE_PRODUCTION_SERVER)).config.deploymentId, ca.deploymentId)
  // A third copy with one source file changed (a new folder: Node caches each config module).
  const c = project(source, { 'app/page.js': 'export default function Page() { return "changed" }\n' })
  const cc = (await load(c)).config
  assert.notEqual(cc.deploymentId, ca.deploymentId)
  assert.notEqual(await cc.generateBuildId(), await ca.generateBuildId())
})

test('a config function (sync or async) is wrapped as a function', async () => {
  const dir = project(
    `const { withNextNative } = require('@rs/next-native/config')
    module.exports = withNextNative(async (phase) => ({ env: { PHASE_SEEN: phase } }), { dir: __dirname })\n`,
  )
  const { config } = await load(dir)
  assert.equal(config.env.PHASE_SEEN, PHASE_PRODUCTION_BUILD)
  assert.equal(config.cacheHandler, handler)
})

/** A folder whose `next` is a bare package.json of `version`. */
function fakeNext(version) {
  const dir = path.join(TMP, `next-${version}`)
  fs.mkdirSync(path.join(dir, 'node_modules', 'next'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'node_modules', 'next', 'package.json'), JSON.stringify({ name: 'next', version }))
  return dir
}

test('per-version shapes: 15 puts cacheHandlers under experimental, 14.1 has no cacheHandlers', () => {
  const v15 = withNextNative({ experimental: { ppr: false } }, { dir: fakeNext('15.5.29') })
  assert.deepEqual(v15.experimental, { ppr: false, cacheHandlers: { default: handlers, remote: handlers } })
  assert.equal(v15.cacheHandlers, undefined)
  assert.deepEqual(v15.serverExternalPackages, ['@rs/next-native'])

  const v14 = withNextNative({}, { dir: fakeNext('14.2.35') })
  assert.equal(v14.cacheHandler, handler)
  assert.equal(v14.cacheHandlers, undefined)
  assert.equal(v14.serverExternalPackages, undefined)
  assert.deepEqual(v14.experimental, { serverComponentsExternalPackages: ['@rs/next-native'] })
})

test('what the installed Next cannot honour is an error naming it', () => {
  assert.throws(() => withNextNative({}, { dir: fakeNext('14.0.4') }), { code: 'ERR_NEXT_NATIVE_NEXT_VERSION', message: /14\.0\.4.*14\.1/ })
  assert.throws(() => withNextNative({}, { dir: fakeNext('16.1.6'), deploymentId: true }), {
    code: 'ERR_NEXT_NATIVE_NEXT_VERSION',
    message: /deploymentId needs Next.js 16\.2 or later \(found 16\.1\.6\)/,
  })
  const nowhere = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'no-next-'))
  try {
    assert.throws(() => withNextNative({}, { dir: nowhere }), { code: 'ERR_NEXT_NATIVE_NEXT_VERSION', message: /no "next" package resolves/ })
  } finally {
    fs.rmSync(nowhere, { recursive: true })
  }
})

test('bad options are errors that name the key', () => {
  assert.throws(() => withNextNative({}, { cache: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.cache"/ })
  assert.throws(() => withNextNative({}, { imgaes: true }), { code: 'ERR_INVALID_ARG_VALUE', message: /unknown option "options\.imgaes"/ })
  assert.throws(() => withNextNative({}, { buildId: { exclud: [] } }), { code: 'ERR_INVALID_ARG_VALUE', message: /"options\.buildId\.exclud"/ })
  assert.throws(() => withNextNative({}, { buildId: { env: 'API_URL' } }), { code: 'ERR_INVALID_ARG_TYPE', message: /"options\.buildId\.env"/ })
  assert.throws(() => withNextNative({}, { buildId: false, deploymentId: true }), { code: 'ERR_INVALID_ARG_VALUE', message: /deploymentId needs the content build ID/ })
  assert.throws(() => withNextNative([]), { code: 'ERR_INVALID_ARG_TYPE', message: /"nextConfig"/ })
})

test('a missing platform binary stops the config load with the package to install', () => {
  // The package without its .node, installed where nothing else can supply one.
  const app = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'no-binary-'))
  try {
    const pkgDir = path.join(app, 'node_modules', '@rs', 'next-native')
    fs.mkdirSync(pkgDir, { recursive: true })
    for (const f of ['package.json', 'index.js']) fs.copyFileSync(path.join(ROOT, f), path.join(pkgDir, f))
    fs.cpSync(path.join(ROOT, 'lib'), path.join(pkgDir, 'lib'), { recursive: true })
    fs.mkdirSync(path.join(app, 'node_modules', 'next'))
    fs.writeFileSync(path.join(app, 'node_modules', 'next', 'package.json'), JSON.stringify({ name: 'next', version: '16.4.6' }))
    const script = `try { require('@rs/next-native/config').withNextNative({}) } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, cause: String(e.cause && e.cause.message) })) }`
    const env = { ...process.env }
    delete env.NAPI_RS_NATIVE_LIBRARY_PATH
    const out = JSON.parse(require('node:child_process').execFileSync(process.execPath, ['-e', script], { cwd: app, env, encoding: 'utf8' }))
    assert.equal(out.code, 'ERR_NEXT_NATIVE_BINARY')
    const libc = process.platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? '-gnu' : '-musl') : ''
    const pkg = `@rs/next-native-${process.platform}-${process.arch}${libc}`
    assert.ok(out.message.includes(`npm install ${pkg}@${require('../package.json').version}`), out.message)
    assert.match(out.cause, /Cannot find native binding/)
  } finally {
    fs.rmSync(app, { recursive: true, force: true })
  }
})
