'use strict'

// Every next.config snippet of README.md is built by `next build` (Next 16.4.6 from the repo's
// node_modules), so a snippet that does not build cannot ship again (issue #16).
//
// Markers: an HTML comment right before a code fence, `<!-- snippet: [group] file -->`, names
// the file the block is (`next.config.js`, `app/api/image/route.js`, `cache-handler.js`…).
// Blocks with one group make one app (a block without a group would be an app of its own,
// `line-<n>`); every app needs its test below, which the first test checks. Each app
// is written into a temporary folder inside the repository (git-ignored `__test__/.config-*`,
// as in next-adapter.test.js: Turbopack refuses paths outside its root, which it finds from the
// repo's lockfile), below a node_modules/@rs/next-native laid out as `npm install` would (see
// PKG below), so imports and require.resolve() in the snippets go where a user's would.
// `next build` runs there with the README's text unchanged; the test adds only app/layout.js
// and app/page.js (a page with next/image and public/photo.jpg when the config sets `images`,
// so the image loader is bundled and used). The README's old image snippet,
// `loaderFile: require.resolve('@rs/next-native/image-loader')`, fails here as it failed for
// users ("Specified images.loaderFile does not exist at <project>/<absolute path>").
//
// What the test adds beyond the README's blocks, and why:
// - `loaderFile: './image-loader.js'`: the README gives that file's one line inside the
//   config's comment (`image-loader.js: export { … } from '…'`); the test writes exactly that
//   line, and fails if a config names a loaderFile the README never spells out.
// - Fragments, wrapped (group `fragments`, one build): the env-loading block is the top of a
//   next.config that exports nothing (a valid, empty config as it stands), and
//   `cache-handler.js` is the file that the prose says to "point `cacheHandler` at". The
//   wrapper appends to that next.config
//   `module.exports = { cacheHandler: require.resolve('./cache-handler.js'), serverExternalPackages: ['@rs/next-native'] }`.
//   Both fragments run in that build: the env block when Next loads the config, the handler
//   when the build prerenders the page.
// Every other block is built alone, so no snippet borrows a key from another to build.
//
// Next 14/15 shapes: the README has none as a code block (only prose: "Next 15: …
// `cacheHandlers` goes under `experimental`"); Next 16 cannot build them, so a marker whose
// first line says "Next 14" or "Next 15" only would be skipped here with that reason.
//
// A guard test fails when a js block looks like a next.config (its first line names one, or it
// sets `withNextNative(`, `cacheHandler(s):`, `images: {`, `generateBuildId:`, `adapterPath:`,
// `loaderFile:`) and carries no marker. Builds and servers: `setup` (the one-line
// `withNextNative`) and `image-route` (the image loader and route) are also served by
// `next start`. Eight builds of ~5-15 s each: about 80 s on 2 cores. `npm run test:unit` skips
// this file (scripts/test.mjs NOT_UNIT).

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test, after } = require('node:test')
const { freePort, killGroup, nextBuild, nextStart } = require('./fixtures/processes')
const { buildIdSync } = require('../lib/build-id')

const ROOT = path.join(__dirname, '..')
const README = path.join(ROOT, 'README.md')
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const PHOTO = path.join(__dirname, 'fixtures', 'image-app', 'public', 'photo.jpg') // 1200×750

// ---------------------------------------------------------------------------------------
// README parsing

/** Every fenced block: { line (1-based, of the fence), lang, code, marker: { group, file } | null }. */
function readmeBlocks(text) {
  const lines = text.split('\n')
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i])
    if (!open) continue
    let end = i + 1
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    assert.ok(end < lines.length, `README.md:${i + 1}: unclosed code fence`)
    const m = /^<!-- snippet: (?:(\S+) )?(\S+) -->$/.exec(lines[i - 1] ?? '')
    if (/^<!--\s*snippet/.test(lines[i - 1] ?? '')) assert.ok(m, `README.md:${i}: malformed marker ${lines[i - 1]}`)
    blocks.push({ line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join('\n') + '\n', marker: m && { group: m[1], file: m[2] } })
    i = end
  }
  return blocks
}

const CONFIG_LIKE = /\bwithNextNative\(|\bcacheHandlers?:|\bimages:\s*\{|\bgenerateBuildId:|\badapterPath:|\bloaderFile:/
function looksLikeNextConfig(block) {
  if (!/^(js|mjs|cjs|ts|javascript)$/.test(block.lang)) return false
  const first = block.code.split('\n')[0]
  return /^\/\/.*next\.config\.(js|mjs|cjs|ts)/.test(first) || CONFIG_LIKE.test(block.code)
}

/** The marked blocks grouped into apps: Map name → { blocks, files: { path: text } }. */
function apps(blocks) {
  const out = new Map()
  for (const b of blocks.filter((x) => x.marker)) {
    const name = b.marker.group ?? `line-${b.line}`
    if (!out.has(name)) out.set(name, { name, blocks: [], files: {} })
    const app = out.get(name)
    assert.ok(!(b.marker.file in app.files), `README.md:${b.line}: ${name} has ${b.marker.file} twice`)
    app.blocks.push(b)
    app.files[b.marker.file] = b.code
  }
  return out
}

const text = fs.readFileSync(README, 'utf8')
const blocks = readmeBlocks(text)
const APPS = apps(blocks)

// ---------------------------------------------------------------------------------------
// Apps on disk

// Inside the repository, git-ignored (`__test__/.config-*`), removed at the end.
const TMP = fs.mkdtempSync(path.join(__dirname, '.config-readme-'))
after(() => fs.rmSync(TMP, { recursive: true, force: true }))

// The package as `npm install` lays it out, in node_modules above the apps: package.json's
// "files" and package.json itself, copied, plus a symlink to the local .node (as `npm start`
// adds the local binary to the packed package). A self-reference would not do: Turbopack then
// sees the package as project files and bundles the addon despite serverExternalPackages. So
// the apps' folder has a package.json of its own, which ends the repo's package scope (Node
// and Turbopack try a self-reference before node_modules); `next` still resolves from the
// repo's node_modules above it.
const PKG = path.join(TMP, 'node_modules', '@rs', 'next-native')
{
  fs.writeFileSync(path.join(TMP, 'package.json'), `${JSON.stringify({ name: 'readme-snippets', private: true })}\n`)
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  for (const entry of [...manifest.files, 'package.json']) fs.cpSync(path.join(ROOT, entry), path.join(PKG, entry), { recursive: true })
  for (const f of fs.readdirSync(ROOT).filter((n) => /^next-native\..+\.node$/.test(n))) fs.symlinkSync(path.join(ROOT, f), path.join(PKG, f))
}
const pkg = (...p) => path.join(PKG, ...p)

const WRAPPERS = {
  // See the header: the env block is a next.config's top; cache-handler.js needs a config that
  // points cacheHandler at it, which the README says in prose only.
  fragments: (files) => ({
    ...files,
    'next.config.js': `${files['next.config.js']}\nmodule.exports = {\n  cacheHandler: require.resolve('./cache-handler.js'),\n  serverExternalPackages: ['@rs/next-native'],\n}\n`,
  }),
}

const LAYOUT = `export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
`
const PAGE = `export default function Page() {
  return <p id="readme">built from README.md</p>
}
`
const IMAGE_PAGE = `import Image from 'next/image'

export default function Page() {
  return (
    <main>
      <p id="readme">built from README.md</p>
      <Image id="photo" src="/photo.jpg" alt="photo" width={600} height={375} />
    </main>
  )
}
`

/** The app's files: the README's blocks, the loaderFile its comment spells out, layout and page. */
function appFiles(app) {
  let files = { ...app.files }
  if (WRAPPERS[app.name]) files = WRAPPERS[app.name](files)
  const config = files['next.config.js'] ?? files['next.config.mjs'] ?? files['next.config.ts']
  assert.ok(config, `${app.name}: no next.config among ${Object.keys(files)} and no wrapper for it`)
  const loaderFile = /\bloaderFile:\s*'\.\/([^']+)'/.exec(config)?.[1]
  if (loaderFile && !files[loaderFile]) {
    const escaped = loaderFile.replaceAll('.', '\\.')
    const line = new RegExp(`\\b${escaped}: (.+)$`, 'm').exec(config)?.[1]
    assert.ok(line, `${app.name}: loaderFile ./${loaderFile} is neither a README block nor spelt out in the config's comment`)
    files[loaderFile] = `${line.trim()}\n`
  }
  const images = /\bimages:\s*\{/.test(config)
  files['app/layout.js'] ??= LAYOUT
  files['app/page.js'] ??= images ? IMAGE_PAGE : PAGE
  return { files, images }
}

function writeApp(name, files, images) {
  const dir = path.join(TMP, name)
  for (const [rel, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), body)
  }
  if (images) {
    fs.mkdirSync(path.join(dir, 'public'), { recursive: true })
    fs.copyFileSync(PHOTO, path.join(dir, 'public', 'photo.jpg'))
  }
  return dir
}

const env = () => {
  const inherited = { ...process.env }
  for (const k of Object.keys(inherited)) if (/^(NEXT_|__NEXT|REDIS_)/.test(k) || k === 'API_URL') delete inherited[k]
  return { ...inherited, NEXT_TELEMETRY_DISABLED: '1' }
}

async function build(t, name) {
  const app = APPS.get(name)
  assert.ok(app, `README.md has no snippet group ${name}`)
  const first = app.blocks[0].code.split('\n')[0]
  if (/\bNext 1[45]\b/.test(first) && !/\bNext 16/.test(first)) {
    t.skip(`a Next 14/15 shape (${first.trim()}); Next 16.4.6 cannot build it`)
    return null
  }
  const { files, images } = appFiles(app)
  const dir = writeApp(name, files, images)
  const started = Date.now()
  const output = await nextBuild(NEXT_BIN, { cwd: dir, env: env(), timeoutMs: 3 * 60_000 })
  t.diagnostic(`${name} (README.md:${app.blocks.map((b) => b.line).join(', ')}): next build ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return { dir, output, dist: path.join(dir, '.next') }
}

/** The build's config (required-server-files.json), with handler paths made absolute (Next keeps them relative to distDir). */
function serverConfig(dist) {
  const { config } = JSON.parse(fs.readFileSync(path.join(dist, 'required-server-files.json'), 'utf8'))
  const abs = (p) => p && path.resolve(dist, p)
  return { ...config, cacheHandler: abs(config.cacheHandler), cacheHandlers: Object.fromEntries(Object.entries(config.cacheHandlers ?? {}).map(([k, v]) => [k, abs(v)])) }
}
const builtId = (dist) => fs.readFileSync(path.join(dist, 'BUILD_ID'), 'utf8').trim()

async function serve(t, dir) {
  const port = await freePort()
  const server = await nextStart(NEXT_BIN, { cwd: dir, env: env(), port })
  t.after(() => killGroup(server))
  return `http://127.0.0.1:${port}`
}

async function get(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) })
  const body = Buffer.from(await res.arrayBuffer())
  assert.equal(res.status, 200, `${url}: HTTP ${res.status} ${body.toString().slice(0, 300)}`)
  return { res, body }
}

// ---------------------------------------------------------------------------------------
// Tests

const EXPECTED = ['setup', 'adapter', 'image-route', 'build-id', 'build-id-options', 'fragments', 'cache', 'image-cache']

test('every next.config block of the README is marked, and every marked app is built below', () => {
  const unmarked = blocks.filter((b) => !b.marker && looksLikeNextConfig(b))
  assert.deepEqual(unmarked.map((b) => `README.md:${b.line}: ${b.code.split('\n')[0]}`), [], 'mark these with <!-- snippet: [group] file -->')
  assert.deepEqual([...APPS.keys()].sort(), [...EXPECTED].sort(), 'a new snippet app needs its test below (or a group it joins)')
  for (const app of APPS.values()) {
    for (const b of app.blocks) {
      assert.match(b.marker.file, /^[\w.-]+(\/[\w.\[\]-]+)*$/, `README.md:${b.line}: a relative file name`)
      const first = b.code.split('\n')[0]
      // A first-line comment naming a file must agree with the marker.
      const named = /^\/\/ ([\w./\[\]-]+\.(?:js|mjs|cjs|ts))\b/.exec(first)?.[1]
      if (named) assert.equal(named, b.marker.file, `README.md:${b.line}: the block says ${named}, its marker ${b.marker.file}`)
    }
  }
})

test('setup: the one-line withNextNative config builds and serves, with our cache and content build ID', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'setup')
  const config = serverConfig(b.dist)
  assert.equal(config.cacheHandler, pkg('lib', 'cache-handler.js'))
  assert.equal(config.cacheHandlers.default, pkg('lib', 'cache-handlers.js'))
  assert.ok(config.serverExternalPackages.includes('@rs/next-native'), String(config.serverExternalPackages))
  assert.equal(builtId(b.dist), buildIdSync({ dir: b.dir }), 'BUILD_ID is the content build ID of the project')
  const base = await serve(t, b.dir)
  const { body } = await get(`${base}/`)
  assert.match(body.toString(), /<p id="readme">built from README\.md<\/p>/)
})

test('adapter: adapterPath in next.config builds, and Next runs our modifyConfig and onBuildComplete', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'adapter')
  assert.match(b.output, /Applying modifyConfig from @rs\/next-native/)
  assert.match(b.output, /Running onBuildComplete from @rs\/next-native/)
  assert.equal(serverConfig(b.dist).cacheHandler, pkg('lib', 'cache-handler.js'))
  assert.equal(builtId(b.dist), buildIdSync({ dir: b.dir }))
})

test('image-route: the loaderFile re-export, the config and app/api/image/route.js build, and next/image goes through the route', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'image-route')
  const base = await serve(t, b.dir)
  const html = (await get(`${base}/`)).body.toString()
  const img = /<img[^>]*\bid="photo"[^>]*>/.exec(html)?.[0]
  assert.ok(img, `an <img id="photo"> in ${html.slice(0, 500)}`)
  const attr = (name) => new RegExp(`\\s${name}="([^"]+)"`, 'i').exec(img)?.[1]?.replaceAll('&amp;', '&')
  const src = attr('src')
  // The loader the snippet configures: /api/image?url=…&w=…&q=… (`// → /api/image?url=…`).
  assert.match(src, /^\/api\/image\?url=%2Fphoto\.jpg&w=\d+&q=75$/, img)
  const srcset = attr('srcset')
  assert.ok(srcset, img)
  for (const entry of srcset.split(', ')) assert.match(entry, /^\/api\/image\?url=%2Fphoto\.jpg&w=\d+&q=75 \dx$/, srcset)
  // The route answers the 1x URL, optimized (not the 114,972-byte original, which a failed
  // optimization would serve), and with the snippet's formats: AVIF first. AVIF is asked for at
  // a small width, as a debug build of the addon takes longer than Next's 7 s limit at 640 px.
  const first = srcset.split(' ')[0]
  const webp = await get(base + first, { accept: 'image/webp,*/*' })
  assert.equal(webp.res.headers.get('content-type'), 'image/webp')
  assert.ok(webp.body.length < fs.statSync(PHOTO).size, `${webp.body.length} bytes`)
  const avif = await get(`${base}/api/image?url=%2Fphoto.jpg&w=32&q=75`, { accept: 'image/avif,image/webp,*/*' })
  assert.equal(avif.res.headers.get('content-type'), 'image/avif')
})

test('build-id: generateBuildId from @rs/next-native/build-id builds with the content build ID', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'build-id')
  assert.equal(builtId(b.dist), buildIdSync({ dir: b.dir }))
})

test('build-id-options: createGenerateBuildId({ dir: __dirname, env, exclude }) builds with that ID', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'build-id-options')
  assert.equal(builtId(b.dist), buildIdSync({ dir: b.dir, env: ['API_URL'], exclude: ['docs/**'] }))
})

test('fragments: the env-loading top of a next.config and cache-handler.js (wrapped, see header) build', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'fragments')
  assert.equal(serverConfig(b.dist).cacheHandler, path.join(b.dir, 'cache-handler.js'))
})

test('cache: the Next 16 cacheHandler + cacheHandlers config builds', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'cache')
  const config = serverConfig(b.dist)
  assert.equal(config.cacheHandler, pkg('lib', 'cache-handler.js'))
  assert.deepEqual([config.cacheHandlers.default, config.cacheHandlers.remote], [pkg('lib', 'cache-handlers.js'), pkg('lib', 'cache-handlers.js')])
  assert.equal(config.cacheMaxMemorySize, 256 * 1024 * 1024)
})

test('image-cache: images.customCacheHandler with our cacheHandler builds', { timeout: 5 * 60_000 }, async (t) => {
  const b = await build(t, 'image-cache')
  const config = serverConfig(b.dist)
  assert.equal(config.cacheHandler, pkg('lib', 'cache-handler.js'))
  assert.equal(config.images.customCacheHandler, true)
})
