'use strict'

// The cache handlers against the interfaces Next 14, 15 and 16 call, value kind by value kind.
// Each case runs in its own process: the store is process-wide, as it is inside Next.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const path = require('node:path')

const LIB = path.join(__dirname, '..', 'lib')

/** Runs an async body with `H` (cache-handler), `U` (cache-handlers) in a fresh process. */
function run(body, { env = {} } = {}) {
  const script = `
    const H = require(${JSON.stringify(path.join(LIB, 'cache-handler.js'))})
    const U = require(${JSON.stringify(path.join(LIB, 'cache-handlers.js'))})
    const warnings = []; console.warn = (m) => warnings.push(String(m))
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
    const stream = (s) => new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode(s)); c.close() } })
    const text = async (st) => Buffer.from(await new Response(st).arrayBuffer()).toString()
    ;(async () => { const out = await (async () => { ${body} })(); process.stdout.write(JSON.stringify({ out, warnings })) })()
      .catch((e) => { process.stdout.write(JSON.stringify({ error: e.stack })) })`
  const res = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env } }))
  if (res.error) throw new Error(res.error)
  return res
}

test('every value kind round-trips exactly: Buffers stay Buffers, segmentData stays a Map', () => {
  const { out } = run(`
    const h = new H({})
    const assert = require('assert')
    const values = {
      fetch: { kind: 'FETCH', data: { headers: { a: '1' }, body: 'eyJ4IjoxfQ==', url: 'https://x/y', status: 200 }, revalidate: 30 },
      page: { kind: 'APP_PAGE', html: '<html>' + 'é'.repeat(3000), rscData: Buffer.from([0, 1, 2, 255]), headers: { 'x-next-cache-tags': 'a,b' },
              postponed: undefined, status: 200, segmentData: new Map([['/_tree', Buffer.from('tree')], ['/page', Buffer.alloc(70000, 7)]]) },
      route: { kind: 'APP_ROUTE', body: Buffer.from('{"ok":true}'), status: 201, headers: { 'content-type': 'application/json' } },
      pages: { kind: 'PAGES', html: '<p>x</p>', pageData: { props: { n: 1, nested: [null, 'x'] } }, headers: undefined, status: undefined },
      redirect: { kind: 'REDIRECT', props: { __N_REDIRECT: '/a', __N_REDIRECT_STATUS: 307 } },
      image: { kind: 'IMAGE', etag: 'abc', upstreamEtag: 'def', buffer: Buffer.from('png'), extension: 'png', revalidate: 60 },
      unknown: { kind: 'SOMETHING_NEW', weird: new Map([[1, [Buffer.from('z')]]]), u8: new Uint8Array([9]) },
      null: null,
    }
    for (const [k, v] of Object.entries(values)) await h.set(k, v, k === 'fetch' ? { fetchCache: true, tags: ['t'] } : {})
    const checks = {}
    for (const [k, v] of Object.entries(values)) {
      const got = await new H({}).get(k, k === 'fetch' ? { kind: 'FETCH', tags: ['t'], softTags: [] } : { kind: 'APP_PAGE' })
      const expected = k === 'fetch' ? { ...v, tags: ['t'] } : v
      assert.deepStrictEqual(got.value, expected, k)
      checks[k] = typeof got.lastModified
    }
    const page = (await new H({}).get('page', {})).value
    return { checks, rscIsBuffer: Buffer.isBuffer(page.rscData), segIsMap: page.segmentData instanceof Map, segBuf: Buffer.isBuffer(page.segmentData.get('/_tree')) }`)
  assert.deepEqual(out.rscIsBuffer && out.segIsMap && out.segBuf, true)
  assert.deepEqual(Object.values(out.checks), Array(8).fill('number'))
})

test('Next 14 calls (kindHint, fetchCache) and 15/16 calls (kind) find the same entries', () => {
  const { out } = run(`
    const h = new H({})
    await h.set('k14', { kind: 'FETCH', data: { headers: {}, body: '', url: 'u' }, revalidate: 1 }, { fetchCache: true, tags: ['x'] })
    await sleep(2) // Next 16 counts a tag only if revalidated after the write (expired > lastModified)
    await h.revalidateTag('x')
    const afterExpire14 = await h.get('k14', { kindHint: 'fetch', tags: ['x'], softTags: [] })
    await h.set('k14', { kind: 'FETCH', data: { headers: {}, body: '', url: 'u' }, revalidate: 1 }, { fetchCache: true, tags: ['x'] })
    const hint = await h.get('k14', { kindHint: 'fetch', tags: ['x'] })
    const kind = await h.get('k14', { kind: 'FETCH', tags: ['x'], softTags: [] })
    return { afterExpire14, hint: !!hint, kind: !!kind }`)
  assert.deepEqual(out, { afterExpire14: null, hint: true, kind: true })
})

test('tags: FETCH from ctx.tags and softTags, pages from x-next-cache-tags (string or array); revalidatePath tags', () => {
  const { out } = run(`
    const h = new H({})
    const now = () => Date.now()
    await h.set('f', { kind: 'FETCH', data: { headers: {}, body: '', url: 'u' }, revalidate: 60 }, { fetchCache: true, tags: ['posts'] })
    await h.set('p', { kind: 'APP_PAGE', html: 'x', headers: { 'x-next-cache-tags': '_N_T_/layout,_N_T_/blog/page,_N_T_/blog' } }, {})
    await h.set('r', { kind: 'APP_ROUTE', body: Buffer.from('r'), status: 200, headers: { 'x-next-cache-tags': ['_N_T_/api/x', 'other'] } }, {})
    await sleep(2)
    const r = {}
    await h.revalidateTag('_N_T_/blog')          // revalidatePath('/blog')
    r.page = await h.get('p', { kind: 'APP_PAGE' })
    await h.revalidateTag(['unrelated', 'other'])
    r.route = await h.get('r', { kind: 'APP_ROUTE' })
    r.fetchBeforeSoft = !!(await h.get('f', { kind: 'FETCH', tags: ['posts'], softTags: ['_N_T_/feed'] }))
    await h.revalidateTag('_N_T_/feed')           // a soft (implicit) tag of the page doing the fetch
    r.fetchOtherPage = !!(await h.get('f', { kind: 'FETCH', tags: ['posts'], softTags: ['_N_T_/home'] }))
    r.fetchThatPage = await h.get('f', { kind: 'FETCH', tags: ['posts'], softTags: ['_N_T_/feed'] })
    return r`)
  assert.deepEqual(out, { page: null, route: null, fetchBeforeSoft: true, fetchOtherPage: true, fetchThatPage: null })
})

test("Next 16 revalidateTag(tag, profile): stale until expire, served; without a profile: expired at once", () => {
  const { out } = run(`
    const h = new H({})
    await h.set('a', { kind: 'APP_PAGE', html: 'a', headers: { 'x-next-cache-tags': 'swr' } }, {})
    await h.set('b', { kind: 'APP_PAGE', html: 'b', headers: { 'x-next-cache-tags': 'now' } }, {})
    await sleep(2)
    await h.revalidateTag(['swr'], { expire: 3600 })
    await h.revalidateTag(['now'])
    const a = await h.get('a', {}); const b = await h.get('b', {})
    return { a: a && a.value.html, b, stats: H.stats().staleHits }`)
  assert.deepEqual(out, { a: 'a', b: null, stats: 1 })
})

test('cacheControl is returned (16.4+) and its expire becomes the TTL', () => {
  const { out } = run(`
    const h = new H({})
    await h.set('ttl', { kind: 'APP_ROUTE', body: Buffer.from('x'), status: 200, headers: {} }, { cacheControl: { revalidate: 1, expire: 1 } })
    const first = await h.get('ttl', {})
    await sleep(1100)
    return { cc: first.cacheControl, after: await h.get('ttl', {}) }`)
  assert.deepEqual(out, { cc: { revalidate: 1, expire: 1 }, after: null })
})

test('minimal mode: ctx.revalidatedTags makes matching entries a miss for that request', () => {
  const { out } = run(`
    await new H({}).set('p', { kind: 'APP_PAGE', html: 'x', headers: { 'x-next-cache-tags': 'a,b' } }, {})
    return { other: !!(await new H({ revalidatedTags: ['z'] }).get('p', {})), match: await new H({ revalidatedTags: ['b'] }).get('p', {}) }`)
  assert.deepEqual(out, { other: true, match: null })
})

test('byte budget: the store never holds more than it was given; an entry over the limit is refused with one warning', () => {
  const { out, warnings } = run(`
    const C = H.create({ maxMemory: 1024 * 1024, compression: false })
    const h = new C({})
    for (let i = 0; i < 200; i++) await h.set('k' + i, { kind: 'APP_ROUTE', body: Buffer.alloc(20000, i), status: 200, headers: {} }, {})
    const s = H.stats()
    await h.set('huge', { kind: 'APP_ROUTE', body: Buffer.alloc(2 * 1024 * 1024), status: 200, headers: {} }, {})
    await h.set('huge', { kind: 'APP_ROUTE', body: Buffer.alloc(2 * 1024 * 1024), status: 200, headers: {} }, {})
    return { bytes: s.bytes, capacity: s.capacity, evictions: s.evictions > 0, huge: await h.get('huge', {}), rejected: H.stats().rejected }`)
  assert.ok(out.bytes <= out.capacity && out.capacity <= 1024 * 1024, JSON.stringify(out))
  assert.equal(out.evictions, true)
  assert.equal(out.huge, null)
  assert.equal(out.rejected, 2)
  assert.equal(warnings.filter((w) => /larger than the largest admissible entry/.test(w)).length, 1)
})

test("the budget defaults to next.config's cacheMaxMemorySize, and 0 there means our default", () => {
  const { out } = run(`new H({ maxMemoryCacheSize: 8 * 1024 * 1024 }); return H.stats().capacity`)
  assert.ok(out <= 8 * 1024 * 1024 && out > 7 * 1024 * 1024, String(out))
  const zero = run(`new H({ maxMemoryCacheSize: 0 }); return H.stats().capacity`)
  assert.ok(zero.out > 50 * 1024 * 1024 - 64, String(zero.out))
  assert.throws(() => require(path.join(LIB, 'cache-handler.js')).create({ maxMemory: -1 }), (e) => e.code === 'ERR_INVALID_ARG_VALUE')
})

test('faults never reach Next: a value that cannot be encoded is not stored, a corrupt entry is a miss', () => {
  const { out, warnings } = run(`
    const h = new H({})
    await h.set('bad', { kind: 'FETCH', data: { n: 10n } }, {})
    const store = globalThis[Symbol.for('@rs/next-native/cache-store')].store.native
    store.set('i:corrupt', Buffer.from('not an entry'), { tags: [], lastModified: Date.now(), now: Date.now() })
    return { bad: await h.get('bad', {}), corrupt: await h.get('corrupt', {}) }`)
  assert.deepEqual(out, { bad: null, corrupt: null })
  assert.ok(warnings.some((w) => /set failed/.test(w)))
  assert.ok(warnings.some((w) => /get failed, serving a miss/.test(w)))
})

test('many parallel gets and sets on the same keys: every hit is one complete value', () => {
  const { out } = run(`
    const h = new H({})
    const ops = []
    for (let i = 0; i < 2000; i++) {
      const k = 'k' + (i % 7)
      const n = i
      ops.push(h.set(k, { kind: 'APP_ROUTE', body: Buffer.alloc(1000 + n, n % 256), status: 200, headers: { n: String(n) } }, {}))
      ops.push(h.get(k, {}).then((g) => g && (g.value.body.length === 1000 + Number(g.value.headers.n)) && g.value.body.every((b) => b === Number(g.value.headers.n) % 256)))
    }
    const results = await Promise.all(ops)
    return { bad: results.filter((r) => r === false).length, stats: H.stats().bytes <= H.stats().capacity }`)
  assert.deepEqual(out, { bad: 0, stats: true })
})

test("'use cache': set reads the stream, every get returns a fresh stream, get waits for an in-flight set", () => {
  const { out } = run(`
    let release
    const pending = new Promise((r) => (release = r))
    const entry = { value: stream('hello'), tags: ['notes'], stale: 300, timestamp: Date.now(), expire: 3600, revalidate: 900 }
    const setDone = U.set('key', pending)
    const getting = U.get('key', [])
    await sleep(20)
    release(entry)
    const first = await getting
    const second = await U.get('key', [])
    await setDone
    return { first: await text(first.value), second: await text(second.value), meta: [first.tags, first.stale, first.expire, first.revalidate] }`)
  assert.deepEqual(out, { first: 'hello', second: 'hello', meta: [['notes'], 300, 3600, 900] })
})

test("'use cache': updateTags / expireTags, soft tags, getExpiration (array and varargs), stale → revalidate -1", () => {
  const { out } = run(`
    const put = (k, tags) => U.set(k, Promise.resolve({ value: stream(k), tags, stale: 0, timestamp: Date.now() - 10, expire: 3600, revalidate: 60 }))
    await put('a', ['notes']); await put('b', ['other']); await put('c', ['swr'])
    await sleep(2)
    const r = {}
    await U.updateTags(['notes'])                       // 16, immediate
    r.a = (await U.get('a', [])) ?? null
    r.bSoft = !!(await U.get('b', ['_N_T_/x']))
    await U.expireTags('_N_T_/x')                        // 15.x varargs
    r.bAfterSoft = (await U.get('b', ['_N_T_/x'])) ?? null
    await U.updateTags(['swr'], { expire: 100 })        // 16, with a profile
    r.cRevalidate = (await U.get('c', [])).revalidate
    r.expArray = (await U.getExpiration(['notes'])) > 0
    r.expVarargs = (await U.getExpiration('notes', 'other')) > 0
    r.expNone = await U.getExpiration(['never'])
    return r`)
  assert.deepEqual(out, { a: null, bSoft: true, bAfterSoft: null, cRevalidate: -1, expArray: true, expVarargs: true, expNone: 0 })
})

test("'use cache': expire is a hard TTL, expire 0 is never stored, an erroring stream is discarded", () => {
  const { out, warnings } = run(`
    await U.set('short', Promise.resolve({ value: stream('x'), tags: [], stale: 0, timestamp: Date.now(), expire: 1, revalidate: 1 }))
    await U.set('zero', Promise.resolve({ value: stream('x'), tags: [], stale: 0, timestamp: Date.now(), expire: 0, revalidate: 0 }))
    const broken = new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.error(new Error('upstream died')) } })
    await U.set('broken', Promise.resolve({ value: broken, tags: [], stale: 0, timestamp: Date.now(), expire: 60, revalidate: 60 }))
    await U.set('rejected', Promise.reject(new Error('render failed')))
    const shortNow = !!(await U.get('short', []))
    await sleep(1100)
    return { shortNow, shortLater: await U.get('short', []) ?? null, zero: (await U.get('zero', [])) ?? null, broken: (await U.get('broken', [])) ?? null, rejected: (await U.get('rejected', [])) ?? null }`)
  assert.deepEqual(out, { shortNow: true, shortLater: null, zero: null, broken: null, rejected: null })
  assert.ok(warnings.some((w) => /upstream died/.test(w)))
})

test('both handlers share one store and one budget; stats are reachable from either', () => {
  const { out } = run(`
    await new H({}).set('x', { kind: 'APP_PAGE', html: 'x', headers: {} }, {})
    await U.set('x', Promise.resolve({ value: stream('y'), tags: [], stale: 0, timestamp: Date.now(), expire: 60, revalidate: 60 }))
    return { entries: H.stats().entries, same: JSON.stringify(U.getCacheStats()) === JSON.stringify(H.getCacheStats()), page: (await new H({}).get('x', {})).value.html, uc: await text((await U.get('x', [])).value) }`)
  assert.deepEqual(out, { entries: 2, same: true, page: 'x', uc: 'y' })
})

test('the hot tier never serves what the store would not: revalidation, soft tags, a new set, TTL', () => {
  const { out } = run(`
    const h = new H({})
    const page = (html, tags) => ({ kind: 'APP_PAGE', html, headers: { 'x-next-cache-tags': tags } })
    const html = async (k, ctx = {}) => { const g = await h.get(k, ctx); return g ? g.value.html : null }
    const r = {}
    await h.set('p', page('v1', 'a'), {})
    await h.get('p', {}); r.promoted = H.stats().hotHits === 0 && (await html('p')) === 'v1' && H.stats().hotHits === 1
    await sleep(2); await h.revalidateTag('a'); r.afterRevalidate = await html('p')
    await h.set('p', page('v2', 'a'), {}); r.afterSet = await html('p'); r.again = await html('p')
    await h.set('f', { kind: 'FETCH', data: { headers: {}, body: 'x', url: 'u' }, revalidate: 60 }, { fetchCache: true, tags: ['t'] })
    const fctx = (soft) => ({ kind: 'FETCH', tags: ['t'], softTags: soft })
    await h.get('f', fctx(['_N_T_/a'])); await h.get('f', fctx(['_N_T_/a']))
    await sleep(2); await h.revalidateTag('_N_T_/b')
    r.otherPage = !!(await h.get('f', fctx(['_N_T_/a']))); r.revalidatedPage = await h.get('f', fctx(['_N_T_/b']))
    await h.set('t', page('ttl', 'x'), { cacheControl: { revalidate: 1, expire: 1 } })
    await html('t'); await html('t'); await sleep(1100); r.ttl = await html('t')
    await h.set('s', page('swr', 'y'), {}); await html('s'); await sleep(2)
    await h.revalidateTag('y', { expire: 60 }); r.staleServed = await html('s'); r.staleCounted = H.stats().staleHits
    return r`)
  assert.deepEqual(out, { promoted: true, afterRevalidate: null, afterSet: 'v2', again: 'v2', otherPage: true, revalidatedPage: null, ttl: null, staleServed: 'swr', staleCounted: 1 })
})

test("a stale hit (revalidateTag(tag, profile)) reports a lastModified Next sees as past revalidate, even with Next's own tag list off", () => {
  const { out } = run(`
    const h = new H({})
    await h.set('page', { kind: 'APP_PAGE', html: 'x', headers: { 'x-next-cache-tags': 'p' } }, { cacheControl: { revalidate: 60, expire: 3600 } })
    await h.set('f', { kind: 'FETCH', data: { headers: {}, body: '', url: 'u' }, revalidate: 30 }, { fetchCache: true, tags: ['f'] })
    await h.set('forever', { kind: 'APP_PAGE', html: 'y', headers: { 'x-next-cache-tags': 'p' } }, { cacheControl: { revalidate: false, expire: undefined } })
    await sleep(2)
    const fresh = await h.get('page', {})
    await h.revalidateTag(['p', 'f'], { expire: 600 })
    const page = await h.get('page', {})
    const f = await h.get('f', { kind: 'FETCH', tags: ['f'], softTags: [] })
    const forever = await h.get('forever', {})
    const now = Date.now() // after the gets: each reported time is at least its bound before this
    return {
      freshIsRecent: now - fresh.lastModified < 5000,
      pagePastRevalidate: now - page.lastModified > 60_000 && now - page.lastModified < 3_600_000,
      fetchPastRevalidate: (now - f.lastModified) / 1000 > 30,
      forever: [now - forever.lastModified > 1000, forever.cacheControl],
      values: [page.value.html, forever.value.html],
    }`)
  assert.deepEqual(out, {
    freshIsRecent: true,
    pagePastRevalidate: true,
    fetchPastRevalidate: true,
    forever: [true, { revalidate: 1 }],
    values: ['x', 'y'],
  })
})

test("the store 'use cache' creates before Next's config is known is replaced by the configured one", () => {
  const { out, warnings } = run(`
    await U.getExpiration(['x'])                       // first touch: no budget known yet
    new H({ maxMemoryCacheSize: 8 * 1024 * 1024 })     // the incremental handler knows it
    return H.stats().capacity`)
  assert.ok(out <= 8 * 1024 * 1024 && out > 7 * 1024 * 1024, String(out))
  assert.deepEqual(warnings, [])
})

test('a set still landing off the main thread is served at once, judged by tags; sets of one key land in order', () => {
  const { out } = run(`
    const h = new H({})
    const route = (n) => ({ kind: 'APP_ROUTE', body: Buffer.alloc(100_000, n), status: 200, headers: { 'x-next-cache-tags': 'landing' } })
    const first = h.set('k', route(1), {})
    const second = h.set('k', route(2), {})
    const during = (await h.get('k', { kind: 'APP_ROUTE' })).value.body[0]
    await Promise.all([first, second])
    const after = (await new H({}).get('k', { kind: 'APP_ROUTE' })).value.body[0]
    // A revalidation while a set is landing applies to it (its lastModified is before the revalidation).
    const third = h.set('k', route(3), {})
    await sleep(2)
    await h.revalidateTag('landing')
    const revalidatedDuring = await h.get('k', { kind: 'APP_ROUTE' })
    await third
    const revalidatedAfter = await h.get('k', { kind: 'APP_ROUTE' })
    return { during, after, revalidatedDuring, revalidatedAfter }`)
  assert.deepEqual(out, { during: 2, after: 2, revalidatedDuring: null, revalidatedAfter: null })
})
