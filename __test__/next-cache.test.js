'use strict'

// End-to-end proof for the cache handlers: the fixture app in fixtures/cache-app is built
// with `next build` and served with `next start`, once with Next's default caches and once
// with @rs/next-native's `cacheHandler` + `cacheHandlers`, and the same scenario must give
// the same observable behaviour on both. The same variants then run on Next 15.5
// (installed on first use into __test__/.next15/; NEXT_CACHE_TEST_NEXT15=0 to skip).
//
// Knobs: NEXT_CACHE_TEST_VARIANTS=default,native,native-mem0 (subset to run);
//        NEXT_CACHE_TEST_REUSE_BUILD=1 (reuse an existing build of a variant; development only:
//        a reused native build does not pick up fixture changes).

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { freePort, killGroup, nextBuild, nextStart, sleep } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'cache-app')
const NEXT15_DIR = path.join(__dirname, '.next15')
// The latest 15.5 on npm when this was written; exact, so runs are reproducible.
const NEXT15_VERSION = '15.5.29'

const ISR_SECONDS = 3 // app/isr/page.js `export const revalidate`

// NEXT_NATIVE_ROOT: run the native variants against another directory's lib/ (e.g. a
// deliberately broken handler, to see this test fail). It must lie inside the repo:
// Turbopack refuses a cacheHandler path outside its root ("leaves the filesystem root").
const NATIVE_ROOT = process.env.NEXT_NATIVE_ROOT || ROOT
const nativeMissing = ['cache-handler.js', 'cache-handlers.js'].map((f) => path.join(NATIVE_ROOT, 'lib', f)).filter((f) => !fs.existsSync(f))

// ---------------------------------------------------------------------------------------
// Upstream: the "CMS" behind the tagged fetch. `version` only changes when the test says
// so; `hits` counts how often Next really fetched (a cached fetch does not reach us).

function startUpstream() {
  const state = { version: 1, hits: 0 }
  const server = http.createServer((req, res) => {
    if (req.url === '/posts') {
      state.hits++
      res.setHeader('content-type', 'text/plain')
      res.end(`posts-v${state.version}`)
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${server.address().port}`
      state.close = () => new Promise((r) => server.close(r))
      resolve(state)
    })
  })
}


// ---------------------------------------------------------------------------------------
// Child processes: each in its own process group (detached) so `next start`'s workers die
// with it; output kept (bounded) for failure messages.

// ---------------------------------------------------------------------------------------
// HTTP against the app.

function field(html, id) {
  const m = html.match(new RegExp(`<p id="${id}">([^<]*)</p>`))
  return m ? m[1] : undefined
}

function makeClient(base, trace) {
  async function request(pathname, init = {}) {
    const res = await fetch(base + pathname, { signal: AbortSignal.timeout(30_000), ...init })
    const body = await res.text()
    assert.equal(res.status, 200, `${init.method || 'GET'} ${pathname} -> ${res.status}: ${body.slice(0, 500)}`)
    return { res, body, cache: res.headers.get('x-nextjs-cache') }
  }
  async function get(pathname) {
    const { body, cache } = await request(pathname)
    const page = {
      cache,
      rendered: Number(field(body, 'rendered')),
      posts: field(body, 'posts'),
      notes: field(body, 'notes'),
      remote: field(body, 'remote'),
    }
    trace.push({ t: Date.now(), get: pathname, ...page })
    return page
  }
  async function getJson(pathname) {
    const { res, body, cache } = await request(pathname)
    trace.push({ t: Date.now(), get: pathname, cache, body })
    return { cache, headers: res.headers, json: JSON.parse(body) }
  }
  // What the client router fetches: the page's RSC payload, or one segment of it (16's
  // segment prefetches, served from APP_PAGE.segmentData). Next redirects to add `_rsc`.
  async function rsc(pathname, segment) {
    const headers = { rsc: '1' }
    if (segment) Object.assign(headers, { 'next-router-prefetch': '1', 'next-router-segment-prefetch': segment })
    const { res, body, cache } = await request(pathname, { headers })
    const postponed = res.headers.get('x-nextjs-postponed')
    trace.push({ t: Date.now(), rsc: pathname, segment, cache, postponed, bytes: body.length })
    return { cache, postponed, type: res.headers.get('content-type'), body }
  }
  async function revalidate(query) {
    await request(`/api/revalidate?${new URLSearchParams(query)}`, { method: 'POST' })
    trace.push({ t: Date.now(), revalidate: query })
  }
  // Calls a Server Action the way the browser's form submission does.
  async function action(page, actionId) {
    await request(page, {
      method: 'POST',
      headers: { 'next-action': actionId, 'content-type': 'text/plain;charset=UTF-8', accept: 'text/x-component' },
      body: '[]',
    })
    trace.push({ t: Date.now(), action: actionId })
  }
  return { get, getJson, rsc, revalidate, action }
}

// Repeats `probe` until `done(result)` or the deadline; every wait in this file is bounded.
async function until(what, probe, done, { timeoutMs = 15_000, intervalMs = 250 } = {}) {
  const deadline = Date.now() + timeoutMs
  const seen = []
  for (;;) {
    const result = await probe()
    if (done(result)) return result
    seen.push(result)
    if (Date.now() > deadline) {
      assert.fail(`${what}: not reached within ${timeoutMs} ms; last results: ${JSON.stringify(seen.slice(-4))}`)
    }
    await sleep(intervalMs)
  }
}

function findActionId(distDir, exportedName) {
  const manifest = JSON.parse(fs.readFileSync(path.join(distDir, 'server', 'server-reference-manifest.json'), 'utf8'))
  const hit = Object.entries(manifest.node).find(([, v]) => v.exportedName === exportedName)
  if (hit) return hit[0]
  throw new Error(`no server action named ${exportedName} in ${distDir}`)
}

// ---------------------------------------------------------------------------------------
// The scenario. Each step asserts what both variants must show; comments say where the
// variants legitimately differ and why.

async function scenario(t, { client, upstream, distDir, nextMajor }) {
  const { get, getJson, rsc, revalidate, action } = client

  await t.test('ISR page: cached, then stale-while-revalidate after its revalidate period', async () => {
    // The build-time render is long stale by now, so first wait for a fresh HIT.
    const fresh = await until('fresh /isr', () => get('/isr'), (r) => r.cache === 'HIT' && Date.now() - r.rendered < (ISR_SECONDS - 1) * 1000, { timeoutMs: 20_000 })
    const again = await get('/isr')
    assert.equal(again.rendered, fresh.rendered, 'a repeat within the revalidate period re-rendered /isr')
    assert.equal(again.cache, 'HIT')

    // Past the period: the first request still gets the old page (STALE) and triggers a
    // background render; a later request gets the new one.
    await sleep(Math.max(0, fresh.rendered + ISR_SECONDS * 1000 + 300 - Date.now()))
    // The period runs from when the entry was stored, a little after the render (more under
    // load): keep asking while the cache still answers HIT with the old page; the first other
    // answer must be that page, served stale.
    const stale = await until('the first response past the period', () => get('/isr'), (r) => r.cache !== 'HIT' || r.rendered !== fresh.rendered, { timeoutMs: 10_000, intervalMs: 100 })
    assert.equal(stale.rendered, fresh.rendered, 'first request after the period must serve the stale page')
    assert.equal(stale.cache, 'STALE')
    const regenerated = await until('regenerated /isr', () => get('/isr'), (r) => r.rendered !== fresh.rendered)
    assert.ok(regenerated.rendered > fresh.rendered)
    assert.equal(regenerated.cache, 'HIT')
  })

  await t.test('revalidatePath re-renders the ISR page on the next request', async () => {
    const before = await until('fresh /isr', () => get('/isr'), (r) => r.cache === 'HIT' && Date.now() - r.rendered < (ISR_SECONDS - 1) * 1000, { timeoutMs: 20_000 })
    await revalidate({ path: '/isr' })
    const after = await get('/isr')
    assert.ok(after.rendered > before.rendered, `/isr not re-rendered after revalidatePath (${after.rendered} vs ${before.rendered})`)
    // Default FS cache: MISS (it drops the entry). A custom handler that returns the entry
    // lets Next see the expired tag in its own manifest and re-render blocking: REVALIDATED.
    // Either is a blocking re-render; neither may serve the old page.
    assert.ok(['MISS', 'REVALIDATED'].includes(after.cache), `x-nextjs-cache: ${after.cache}`)
    const repeat = await get('/isr')
    assert.equal(repeat.rendered, after.rendered)
    assert.equal(repeat.cache, 'HIT')
  })

  await t.test("tagged fetch: cached until revalidateTag('posts'), fresh right after", async () => {
    // /feed renders per request, so it shows the FETCH entry itself.
    const first = await get('/feed')
    const hits = upstream.hits
    upstream.version++
    const cached = await get('/feed')
    assert.notEqual(cached.rendered, first.rendered, '/feed must be dynamic')
    assert.equal(cached.posts, first.posts, 'the tagged fetch was not served from the cache')
    assert.equal(upstream.hits, hits, 'a cached fetch reached the upstream')

    // /posts (static page) and /api/stamp (static route handler) are built from the same
    // fetch: their tags include `posts`.
    const page = await until('cached /posts', () => get('/posts'), (r) => r.cache === 'HIT')
    assert.equal((await get('/posts')).rendered, page.rendered)
    const stamp = await until('cached /api/stamp', () => getJson('/api/stamp'), (r) => r.cache === 'HIT')
    assert.equal((await getJson('/api/stamp')).json.rendered, stamp.json.rendered)

    await revalidate({ tag: 'posts' }) // 1-argument form: expire now
    const current = `posts-v${upstream.version}`
    const feed = await get('/feed')
    assert.equal(feed.posts, current, 'stale fetch data after revalidateTag')
    assert.equal(upstream.hits, hits + 1, 'one refetch for the revalidated tag')
    const posts = await get('/posts')
    assert.equal(posts.posts, current, 'stale /posts page after revalidateTag')
    assert.ok(posts.rendered > page.rendered)
    // Default FS cache: MISS. REVALIDATED would mean the handler returned the invalidated
    // entry and Next's own tags manifest caught it (see the revalidatePath step).
    assert.ok(['MISS', 'REVALIDATED'].includes(posts.cache), `x-nextjs-cache: ${posts.cache}`)
    const repeat = await get('/posts')
    assert.equal(repeat.rendered, posts.rendered)
    assert.equal(repeat.cache, 'HIT')

    const route = await getJson('/api/stamp')
    assert.equal(route.json.posts, current, 'stale /api/stamp after revalidateTag')
    assert.ok(route.json.rendered > stamp.json.rendered)
    const routeAgain = await getJson('/api/stamp')
    assert.deepEqual(routeAgain.json, route.json, '/api/stamp not served from the cache')
    assert.equal(routeAgain.cache, 'HIT')
    // Headers and body survive the store: these come from the cached APP_ROUTE entry.
    assert.equal(routeAgain.headers.get('x-fixture'), 'stamp')
    assert.match(routeAgain.headers.get('content-type'), /^application\/json/)
  })

  await t.test('RSC payload of a page re-rendered at run time', async () => {
    // /posts was just re-rendered by `next start`, so this entry went through the handler
    // (html string, rscData Buffer), not through the build output.
    const page = await get('/posts')
    assert.equal(page.cache, 'HIT')
    const flight = await rsc('/posts')
    assert.equal(flight.cache, 'HIT')
    assert.match(flight.type, /^text\/x-component/)
    assert.ok(flight.body.includes(page.posts), 'RSC payload does not carry the cached data')
    assert.equal((await get('/posts')).rendered, page.rendered, 'the RSC request re-rendered the page')
  })

  // 15.5 answers segment prefetches with the whole payload unless
  // experimental.clientSegmentCache is on; 16 always serves them from APP_PAGE.segmentData.
  await t.test('segment prefetches (segmentData) of a page re-rendered at run time', { skip: nextMajor < 16 && '15.x has no per-segment prefetches by default' }, async () => {
    const page = await get('/posts')
    assert.equal(page.cache, 'HIT')
    // `x-nextjs-postponed: 2` is only sent when the answer comes from the entry's
    // segmentData; without segmentData Next falls back to the whole payload, and a
    // segment missing from it is a 404 (request() asserts 200).
    const tree = await rsc('/posts', '/_tree')
    assert.equal(tree.cache, 'HIT')
    assert.equal(tree.postponed, '2', '/_tree not served from segmentData')
    assert.match(tree.type, /^text\/x-component/)
    assert.match(tree.body, /"s":"posts"/, `/_tree segment: ${tree.body.slice(0, 300)}`)
    const leaf = await rsc('/posts', '/posts/__PAGE__')
    assert.equal(leaf.cache, 'HIT')
    assert.equal(leaf.postponed, '2', '/posts/__PAGE__ not served from segmentData')
    assert.ok(leaf.body.includes(page.posts), `page segment does not carry the cached data: ${leaf.body.slice(0, 300)}`)
    assert.equal((await get('/posts')).rendered, page.rendered, 'segment requests re-rendered the page')
  })

  await t.test("tagged fetch, { expire: 0 } form: fresh right after", async () => {
    const before = await get('/feed')
    upstream.version++
    assert.equal((await get('/feed')).posts, before.posts)
    await revalidate({ tag: 'posts', profile: 'expire0' })
    assert.equal((await get('/feed')).posts, `posts-v${upstream.version}`)
    assert.equal((await get('/posts')).posts, `posts-v${upstream.version}`)
  })

  const noProfiles = nextMajor < 16 && "15.x has no revalidateTag profiles (it ignores the 2nd argument: 'max' expires at once)"

  await t.test("tagged fetch, revalidateTag('posts', 'max'): fetch data stale once, then fresh", { skip: noProfiles }, async () => {
    const before = await get('/feed')
    upstream.version++
    await revalidate({ tag: 'posts', profile: 'max' })
    const stale = await get('/feed')
    assert.equal(stale.posts, before.posts, "revalidateTag(tag, 'max') must serve the stale fetch data first")
    await until(`fresh fetch data on /feed (posts-v${upstream.version})`, () => get('/feed'), (r) => r.posts === `posts-v${upstream.version}`)
  })

  await t.test("static page, revalidateTag('posts', 'max'): stale once, then re-rendered", { skip: noProfiles }, async () => {
    const page = await until('cached /posts', () => get('/posts'), (r) => r.cache === 'HIT')
    upstream.version++
    await revalidate({ tag: 'posts', profile: 'max' })
    // The first request serves the stale page and starts a background render.
    const stale = await get('/posts')
    assert.equal(stale.posts, page.posts, "revalidateTag(tag, 'max') must serve the stale page first")
    assert.equal(stale.rendered, page.rendered)
    const fresh = await until(`re-rendered /posts (posts-v${upstream.version})`, () => get('/posts'), (r) => r.posts === `posts-v${upstream.version}`)
    assert.ok(fresh.rendered > page.rendered)
    assert.equal(stale.cache, 'STALE')
  })

  await t.test("'use cache' (default and remote): cached until revalidateTag('notes')", async () => {
    const first = await get('/notes')
    assert.match(first.notes, /^notes-\d+-\d+$/)
    assert.match(first.remote, /^remote-\d+-\d+$/)
    const second = await get('/notes')
    assert.notEqual(second.rendered, first.rendered, '/notes must be dynamic')
    assert.equal(second.notes, first.notes, "'use cache' entry was not served from the cache")
    assert.equal(second.remote, first.remote, "'use cache: remote' entry was not served from the cache")

    await revalidate({ tag: 'notes', profile: 'expire0' })
    const after = await get('/notes')
    assert.notEqual(after.notes, first.notes, "'use cache' entry survived revalidateTag('notes', { expire: 0 })")
    assert.notEqual(after.remote, first.remote, "'use cache: remote' entry survived revalidateTag('notes', { expire: 0 })")
    const repeat = await get('/notes')
    assert.equal(repeat.notes, after.notes)
    assert.equal(repeat.remote, after.remote)
  })

  await t.test("'use cache': updateTag('notes') from a Server Action", async () => {
    const before = await get('/notes')
    assert.equal((await get('/notes')).notes, before.notes)
    // Posted to / (see app/page.js), so only the handler can make /notes fresh.
    await action('/', findActionId(distDir, 'expireNotes'))
    const after = await get('/notes')
    assert.notEqual(after.notes, before.notes, "'use cache' entry survived updateTag('notes')")
    assert.notEqual(after.remote, before.remote, "'use cache: remote' entry survived updateTag('notes')")
    assert.equal((await get('/notes')).notes, after.notes)
  })

  await t.test("'use cache': revalidateTag('notes', 'max') serves stale once, then fresh", { skip: nextMajor < 16 && '15.x has no revalidateTag profiles' }, async () => {
    const before = await get('/notes')
    await revalidate({ tag: 'notes', profile: 'max' })
    const stale = await get('/notes')
    assert.equal(stale.notes, before.notes, "revalidateTag('notes', 'max') must serve the stale entry first")
    assert.equal(stale.remote, before.remote)
    const fresh = await until('fresh /notes', () => get('/notes'), (r) => r.notes !== before.notes && r.remote !== before.remote)
    assert.equal((await get('/notes')).notes, fresh.notes)
  })
}

// The first request after `next start` for a page `next build` prerendered: Next's default
// serves the build's output; so must ours (a HIT with the build-time render, no re-render).
async function buildOutputStep(t, { client, startedAt }) {
  await t.test('a page prerendered by next build is served from the build output on the first request', async () => {
    const first = await client.get('/built/a')
    assert.equal(first.cache, 'HIT')
    assert.ok(first.rendered < startedAt, `/built/a was rendered at ${first.rendered}, after next start began (${startedAt})`)
    assert.equal((await client.get('/built/a')).rendered, first.rendered)
  })
}

// Our disk tier across restarts (native variants): what was cached before a restart is served
// after it, a tag revalidated before it is not served as fresh after it, and corrupt or
// unwritable cache files degrade to misses and memory, never to errors.
async function restartSteps(t, { restart, distDir, upstream, nextMajor }) {
  const cacheDir = path.join(distDir, 'cache', 'next-native')
  let client = restart.client

  await t.test('an entry written before a restart is served after it; a tag revalidated before it is not', async () => {
    const runtime = await until('cached /built/c', () => client.get('/built/c'), (r) => r.cache === 'HIT')
    const posts = await until('cached /posts', () => client.get('/posts'), (r) => r.cache === 'HIT')
    const notes = await client.get('/notes')
    assert.equal((await client.get('/notes')).notes, notes.notes)
    upstream.version++
    const revalidatedAt = Date.now()
    await client.revalidate({ tag: 'posts' })
    client = await restart.again()
    const after = await client.get('/built/c')
    // Next 15 keeps the revalidate period of a page rendered on demand (not in the prerender
    // manifest) in process memory only (SharedCacheControls, shared-cache-controls.external.js);
    // after a restart it judges the page with its default of 1 s, so the entry is served
    // STALE, still from our disk tier, once a second has passed since it was written (timing:
    // the restart). Next 16 takes the period from the entry: HIT.
    if (nextMajor >= 16) assert.equal(after.cache, 'HIT')
    else assert.ok(['HIT', 'STALE'].includes(after.cache), `Next 15 after a restart: ${after.cache}`)
    assert.equal(after.rendered, runtime.rendered, '/built/c was rendered again after the restart')
    const notesAfter = await client.get('/notes')
    assert.equal(notesAfter.notes, notes.notes, "the 'use cache' entry did not survive the restart")
    assert.equal(notesAfter.remote, notes.remote, "the 'use cache: remote' entry did not survive the restart")
    const fresh = await client.get('/posts')
    assert.ok(fresh.rendered > revalidatedAt, `/posts from before revalidateTag('posts') (rendered ${posts.rendered}) was served after the restart`)
    assert.equal(fresh.posts, `posts-v${upstream.version}`)
  })

  await t.test('corrupt files in the disk tier are misses, logged once and overwritten', async () => {
    const before = await until('cached /built/c', () => client.get('/built/c'), (r) => r.cache === 'HIT')
    await restart.stop()
    const files = fs.readdirSync(cacheDir, { recursive: true }).map((f) => path.join(cacheDir, f)).filter((f) => /[0-9a-f]{62}$/.test(f))
    assert.ok(files.length > 3, `only ${files.length} entry files in ${cacheDir}`)
    files.forEach((f, i) => {
      const bytes = fs.readFileSync(f)
      if (i % 2) fs.writeFileSync(f, bytes.subarray(0, bytes.length >> 1)) // truncated
      else fs.writeFileSync(f, Buffer.from('<html>not a cache entry</html>')) // foreign
    })
    client = await restart.again()
    const after = await client.get('/built/c')
    assert.ok(after.rendered > before.rendered, 'a corrupt entry was served')
    assert.equal((await client.get('/built/c')).rendered, after.rendered)
    const warnings = restart.output().split('\n').filter((l) => l.includes('corrupt file in the disk cache'))
    assert.equal(warnings.length, 1, restart.output())
  })

  await t.test('an unwritable disk tier degrades to memory with one log line', async () => {
    await restart.stop()
    fs.rmSync(cacheDir, { recursive: true, force: true })
    fs.writeFileSync(cacheDir, 'a file where the cache directory should be') // even root cannot mkdir here
    try {
      client = await restart.again()
      const first = await client.get('/built/d')
      const second = await client.get('/built/d')
      assert.equal(second.cache, 'HIT')
      assert.equal(second.rendered, first.rendered)
      const warnings = restart.output().split('\n').filter((l) => l.includes('is not writable'))
      assert.equal(warnings.length, 1, restart.output())
    } finally {
      await restart.stop()
      fs.rmSync(cacheDir, { force: true })
    }
  })
}

// ---------------------------------------------------------------------------------------
// Variants.

function nextBinFor(major) {
  if (major === 16) return path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
  return path.join(NEXT15_DIR, 'node_modules', 'next', 'dist', 'bin', 'next')
}

// Next 15.5 is not a dependency of the package: it is installed on first use (npm registry,
// ~6 s, ~330 MB) next to a copy of the fixture, so that `next`, `react` and `react-dom`
// resolve from the copy to 15.5 instead of the repo's 16. The root react@19.2.0 satisfies
// 15.5's peer range (^18.2.0 || ^19.0.0); it is installed alongside to keep the copy whole.
function prepareNext15App() {
  const pkg = path.join(NEXT15_DIR, 'node_modules', 'next', 'package.json')
  const installed = fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).version
  if (installed !== NEXT15_VERSION) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    const res = spawnSync(
      npm,
      ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', NEXT15_DIR, `next@${NEXT15_VERSION}`, 'react@19.2.0', 'react-dom@19.2.0'],
      { encoding: 'utf8', timeout: 5 * 60_000 },
    )
    if (res.status !== 0) throw new Error(`npm install next@${NEXT15_VERSION} failed (${res.status ?? res.error}):\n${res.stderr}`)
  }
  const appDir = path.join(NEXT15_DIR, 'cache-app')
  for (const entry of fs.readdirSync(FIXTURE)) {
    if (entry.startsWith('.next')) continue // build output of the 16 runs
    fs.cpSync(path.join(FIXTURE, entry), path.join(appDir, entry), { recursive: true, force: true })
  }
  return appDir
}

// `native-mem0` is the configuration recommended with a custom handler
// (`cacheMaxMemorySize: 0`). It is the strict one: it turns Next's in-process tags
// manifest off, so only the handler can make tag/path revalidation work for pages and
// fetches (with the manifest on, Next re-renders invalidated entries itself).
const VARIANTS = {
  default: {},
  native: { CACHE_HANDLER: 'native' },
  'native-mem0': { CACHE_HANDLER: 'native', CACHE_MAX_MEMORY: '0' },
}
const only = (process.env.NEXT_CACHE_TEST_VARIANTS || Object.keys(VARIANTS).join(',')).split(',')
// 15.5 adds ~1 min (webpack builds) plus a one-off ~6 s install; NEXT_CACHE_TEST_NEXT15=0 skips it.
const majors = process.env.NEXT_CACHE_TEST_NEXT15 === '0' ? [16] : [16, 15]

let upstream
test.before(async () => {
  upstream = await startUpstream()
})
test.after(async () => {
  await upstream?.close()
})

test('the package exports resolve to the handler files the fixture uses', () => {
  assert.deepEqual(
    ['cache-handler', 'cache-handlers'].map((sub) => require.resolve(`@rs/next-native/${sub}`)),
    ['cache-handler.js', 'cache-handlers.js'].map((f) => path.join(ROOT, 'lib', f)),
  )
})

for (const major of majors) {
  for (const [name, vars] of Object.entries(VARIANTS)) {
    if (!only.includes(name)) continue
    const skip = vars.CACHE_HANDLER === 'native' && nativeMissing.length > 0 && `native handlers missing: ${nativeMissing.join(', ')}`
    test(`Next ${major}, ${name} caches: next build + next start`, { skip, timeout: 5 * 60_000 }, async (t) => {
      const appDir = major === 16 ? FIXTURE : prepareNext15App()
      const distName = `.next-${name}`
      const distDir = path.join(appDir, distName)
      const { CACHE_HANDLER, CACHE_MAX_MEMORY, ...inherited } = process.env // only `vars` decide
      const env = {
        ...inherited,
        NEXT_TELEMETRY_DISABLED: '1',
        NEXT_DIST_DIR: distName,
        UPSTREAM_URL: upstream.url,
        NEXT_NATIVE_ROOT: NATIVE_ROOT,
        ...vars,
      }
      const nextBin = nextBinFor(major)

      const reuse = process.env.NEXT_CACHE_TEST_REUSE_BUILD === '1' && fs.existsSync(path.join(distDir, 'BUILD_ID'))
      let started = Date.now()
      if (!reuse) {
        fs.rmSync(distDir, { recursive: true, force: true })
        await nextBuild(nextBin, { cwd: appDir, env })
      }
      t.diagnostic(`next build: ${reuse ? 'reused' : `${((Date.now() - started) / 1000).toFixed(1)} s`}`)

      started = Date.now()
      const port = await freePort()
      let server
      t.after(() => killGroup(server))
      server = await nextStart(nextBin, { cwd: appDir, env, port })
      const trace = []
      const client = makeClient(`http://127.0.0.1:${port}`, trace)
      // Restarts keep the port and the build; output() is the current server's.
      const restart = {
        client,
        stop: () => killGroup(server),
        async again() {
          await killGroup(server)
          server = await nextStart(nextBin, { cwd: appDir, env, port })
          return client
        },
        output: () => server.output,
      }
      try {
        await buildOutputStep(t, { client, startedAt: started })
        await scenario(t, { client, upstream, distDir, nextMajor: major })
        if (vars.CACHE_HANDLER === 'native') await restartSteps(t, { restart, distDir, upstream, nextMajor: major })
      } finally {
        t.diagnostic(`scenario: ${((Date.now() - started) / 1000).toFixed(1)} s`)
        // Every request and its x-nextjs-cache, to compare variants side by side.
        const tracePath = path.join(distDir, 'cache-test-trace.json')
        fs.writeFileSync(tracePath, JSON.stringify(trace, null, 1))
        t.diagnostic(`requests: ${path.relative(ROOT, tracePath)}`)
        // Server-side errors (e.g. a throwing handler) only show up in the server's output.
        const errors = server.output.split('\n').filter((l) => /error|⨯|warn|fail/i.test(l))
        if (errors.length) t.diagnostic(`next start output:\n${errors.slice(-40).join('\n')}`)
      }
    })
  }
}
