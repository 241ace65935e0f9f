'use strict'

// withNextNative on real builds of the older Next versions it supports: Next 15.5 (an .mjs
// config) and 14.2 (a .js config), each installed on first use next to a small app
// (__test__/.next15, shared with next-cache.test.js, and __test__/.next14). `next build`
// must use our content build ID and our cache handler (which makes .next/cache/next-native
// while the build's workers run it), the resolved config must carry the version's key names, and
// `next start` must serve the ISR page from the cache. Next 16.4 is covered by the example
// app (e2e, standalone) and deployment-id.test.mjs. NEXT_VERSIONS_TEST=0 skips this file.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { freePort, killGroup, nextBuild, nextStart } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const CONFIG_MODULE = path.join(ROOT, 'lib', 'config.js')

const VERSIONS = [
  // The latest 15.5 and 14.2 on npm when this was written; exact, so runs are reproducible.
  { major: 15, dir: path.join(__dirname, '.next15'), next: '15.5.29', react: '19.2.0', config: 'next.config.mjs' },
  { major: 14, dir: path.join(__dirname, '.next14'), next: '14.2.35', react: '18.3.1', config: 'next.config.js' },
]

const PAGES = {
  'app/layout.js': `export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
`,
  'app/page.js': `export default function Home() {
  return <h1>wrapper-app</h1>
}
`,
  'app/isr/page.js': `export const revalidate = 3600

export default function Isr() {
  return <p id="rendered">{new Date().toISOString()}</p>
}
`,
}

function configText(file) {
  if (file.endsWith('.mjs')) {
    return `import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withNextNative } from ${JSON.stringify(CONFIG_MODULE)}

export default withNextNative({}, { dir: dirname(fileURLToPath(import.meta.url)) })
`
  }
  return `const { withNextNative } = require(${JSON.stringify(CONFIG_MODULE)})

module.exports = withNextNative({}, { dir: __dirname })
`
}

/** Installs the exact Next (and a React it supports) into `dir` once; returns the app folder. */
function prepare({ dir, next, react, config }) {
  const pkg = path.join(dir, 'node_modules', 'next', 'package.json')
  const installed = fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).version
  const reactPkg = path.join(dir, 'node_modules', 'react', 'package.json')
  const reactInstalled = fs.existsSync(reactPkg) && JSON.parse(fs.readFileSync(reactPkg, 'utf8')).version
  if (installed !== next || reactInstalled !== react) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const res = spawnSync(npm, ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', dir, `next@${next}`, `react@${react}`, `react-dom@${react}`], {
      encoding: 'utf8',
      timeout: 5 * 60_000,
    })
    if (res.status !== 0) throw new Error(`npm install next@${next} failed (${res.status ?? res.error}):\n${res.stderr}`)
  }
  const app = path.join(dir, 'wrapper-app')
  fs.rmSync(app, { recursive: true, force: true })
  for (const [file, text] of Object.entries({ ...PAGES, [config]: configText(config), 'package.json': '{ "private": true }\n' })) {
    fs.mkdirSync(path.dirname(path.join(app, file)), { recursive: true })
    fs.writeFileSync(path.join(app, file), text)
  }
  return app
}

/** Our content build ID of `app`, as `next build` computes it there (its `next` version is an input). */
function contentBuildId(app) {
  const res = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(path.join(ROOT, 'lib', 'build-id.js'))}).buildIdSync({ dir: ${JSON.stringify(app)} }))`], {
    cwd: app,
    encoding: 'utf8',
  })
  assert.equal(res.status, 0, res.stderr)
  return res.stdout
}

const skip = process.env.NEXT_VERSIONS_TEST === '0' && 'NEXT_VERSIONS_TEST=0'

for (const version of VERSIONS) {
  test(`withNextNative on a real Next ${version.next} build (${version.config}): content build ID, native cache handler, ISR from the cache`, { skip, timeout: 900_000 }, async () => {
    const app = prepare(version)
    const nextBin = path.join(version.dir, 'node_modules', 'next', 'dist', 'bin', 'next')
    const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
    await nextBuild(nextBin, { cwd: app, env })

    assert.equal(fs.readFileSync(path.join(app, '.next', 'BUILD_ID'), 'utf8').trim(), contentBuildId(app))
    const { config } = JSON.parse(fs.readFileSync(path.join(app, '.next', 'required-server-files.json'), 'utf8'))
    // Next records handler paths relative to the dist dir.
    const handler = (p) => path.resolve(app, '.next', p)
    assert.equal(handler(config.cacheHandler), path.join(ROOT, 'lib', 'cache-handler.js'))
    if (version.major >= 15) {
      assert.deepEqual(config.serverExternalPackages.filter((p) => p === '@rs/next-native'), ['@rs/next-native'])
      assert.equal(handler(config.experimental.cacheHandlers.default), path.join(ROOT, 'lib', 'cache-handlers.js'))
      assert.equal(handler(config.experimental.cacheHandlers.remote), path.join(ROOT, 'lib', 'cache-handlers.js'))
    } else {
      assert.deepEqual(config.experimental.serverComponentsExternalPackages, ['@rs/next-native'])
    }
    // next build's workers ran our handler: it made its disk tier beside the build output.
    const tier = path.join(app, '.next', 'cache', 'next-native')
    assert.ok(fs.statSync(tier, { throwIfNoEntry: false })?.isDirectory(), `our handler's disk tier exists (${tier})`)

    const port = await freePort()
    const server = await nextStart(nextBin, { cwd: app, env, port })
    try {
      const get = async () => {
        const res = await fetch(`http://127.0.0.1:${port}/isr`)
        const html = await res.text()
        return { cache: res.headers.get('x-nextjs-cache'), rendered: /id="rendered">([^<]+)</.exec(html)?.[1] }
      }
      const first = await get()
      const second = await get()
      assert.ok(first.rendered, 'the ISR page rendered')
      assert.equal(second.rendered, first.rendered)
      assert.equal(second.cache, 'HIT')
    } finally {
      await killGroup(server)
    }
  })
}
