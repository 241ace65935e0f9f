'use strict'

// One cache implementation, one scenario, in its own process (node --expose-gc):
//   node cache-worker.cjs <impl> <scenario> [args]
// impl: ours | ours-nocompress | lru-cache | next-default
// Prints one JSON line.

const path = require('node:path')
const os = require('node:os')

const [, , impl, scenario, ...args] = process.argv
const root = path.join(__dirname, '..', '..')

// ---- realistic entries ----------------------------------------------------------------
// Words drawn from a vocabulary so payloads compress like text, not like repeated bytes.
let seed = 12345
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)
const WORDS = Array.from({ length: 600 }, (_, i) => (i * 2654435761 >>> 0).toString(36).slice(0, 3 + (i % 7)))
const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ')

function flight(n) {
  // RSC flight rows: `id:JSON` lines, as Next streams them.
  const rows = []
  for (let i = 0; rows.join('\n').length < n; i++) {
    rows.push(`${i.toString(16)}:["$","div",null,{"className":"c${i % 40}","children":["$","p",null,{"children":"${words(8)}"}]}]`)
  }
  return rows.join('\n')
}

function appPage(i) {
  const rsc = flight(30_000)
  let body = ''
  while (body.length < 28_000) body += `<div class="card c${Math.floor(rand() * 40)}"><h2>${words(4)}</h2><p>${words(25)}</p></div>`
  const html = `<!DOCTYPE html><html><head><title>page ${i}</title></head><body>${body}<script>self.__next_f.push([1,${JSON.stringify(rsc.slice(0, 10_000))}])</script></body></html>`
  return {
    kind: 'APP_PAGE',
    html,
    rscData: Buffer.from(rsc),
    headers: { 'x-next-cache-tags': `_N_T_/layout,_N_T_/p/[id]/page,_N_T_/p/${i}` },
    postponed: undefined,
    status: 200,
    segmentData: new Map([
      ['/_tree', Buffer.from(flight(1_000))],
      ['/p/$d$id/__PAGE__', Buffer.from(flight(6_000))],
    ]),
  }
}

function fetchEntry(i) {
  const json = JSON.stringify({ id: i, items: Array.from({ length: 40 }, () => ({ title: words(5), body: words(12) })) })
  return { kind: 'FETCH', data: { headers: { 'content-type': 'application/json' }, body: Buffer.from(json).toString('base64'), url: `https://api.example.com/items/${i}`, status: 200 }, revalidate: 60, tags: ['items'] }
}

/** A Zipf(1.0) rank in [0, n). */
function zipf(n) {
  const cdf = (zipf.cdf ??= new Map()).get(n) ?? (() => {
    const c = []
    let acc = 0
    let total = 0
    for (let r = 1; r <= n; r++) total += 1 / r
    for (let r = 1; r <= n; r++) c.push((acc += 1 / r / total))
    zipf.cdf.set(n, c)
    return c
  })()
  const u = rand()
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cdf[mid] < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

const entryFor = (i) => (i % 4 === 0 ? appPage(i) : fetchEntry(i))
const ctxFor = (v) => (v.kind === 'FETCH' ? { kind: 'FETCH', fetchCache: true, tags: ['items'], softTags: [] } : { kind: 'APP_PAGE', isFallback: false })
const keyFor = (i) => `/route-cache/APP_PAGE/${'ab12'.repeat(16)}/$/p/${i}`

// ---- implementations, all behind { get(key, ctx), set(key, value, ctx) } ---------------
function makeCache(maxBytes) {
  if (impl === 'ours' || impl === 'ours-nocompress') {
    const H = require(path.join(root, 'lib', 'cache-handler.js')).create({ maxMemory: maxBytes, compression: impl === 'ours' })
    return { handler: () => new H({}), stats: () => H.stats() }
  }
  if (impl === 'next-default') {
    const FileSystemCache = require(require.resolve('next/dist/server/lib/incremental-cache/file-system-cache', { paths: [root] })).default
    const fs = require('node:fs')
    const ctx = { fs: { existsSync: fs.existsSync, readFile: fs.promises.readFile, readFileSync: fs.readFileSync, writeFile: fs.promises.writeFile, mkdir: fs.promises.mkdir, stat: fs.promises.stat }, dev: false, flushToDisk: false, serverDistDir: os.tmpdir(), maxMemoryCacheSize: maxBytes, revalidatedTags: [], _requestHeaders: {} }
    return { handler: () => new FileSystemCache(ctx), stats: () => ({}) }
  }
  if (impl === 'lru-cache') {
    const { LRUCache } = require(require.resolve('lru-cache', { paths: [root] }))
    // Sized like Next sizes its own cache: string lengths and buffer lengths.
    const size = ({ value: v }, key) =>
      key.length + (v.kind === 'FETCH' ? JSON.stringify(v.data).length : v.html.length + v.rscData.length + [...v.segmentData].reduce((n, [k, b]) => n + k.length + b.length, 0))
    const lru = new LRUCache({ maxSize: maxBytes, sizeCalculation: size })
    const h = { get: async (k) => lru.get(k) ?? null, set: async (k, value) => void lru.set(k, { value, lastModified: Date.now() }) }
    return { handler: () => h, stats: () => ({}) }
  }
  throw new Error(`unknown impl ${impl}`)
}

const MiB = 1024 * 1024

async function fill(cache, bytesWanted) {
  // Fill until the entries generated add up to `bytesWanted` of payload.
  let total = 0
  let i = 0
  const h = cache.handler()
  while (total < bytesWanted) {
    const v = entryFor(i)
    total += v.kind === 'FETCH' ? v.data.body.length : v.html.length + v.rscData.length + 7_000
    await h.set(keyFor(i), v, ctxFor(v))
    i++
  }
  return i
}

async function main() {
  if (scenario === 'throughput') {
    // 64 MiB budget, ~32 MiB of entries, so every get hits; one awaited get at a time.
    const cache = makeCache(64 * MiB)
    const n = await fill(cache, 32 * MiB)
    const pages = []
    for (let i = 0; i < n; i += 4) pages.push(keyFor(i))
    const fetches = []
    for (let i = 1; i < n; i += 4) fetches.push(keyFor(i))
    const h = cache.handler()
    const measure = async (keys, ctx, ms) => {
      let ops = 0
      let hits = 0
      const end = performance.now() + ms
      while (performance.now() < end) {
        for (let j = 0; j < 100; j++) {
          const r = await h.get(keys[(ops + j) % keys.length], ctx)
          if (r && r.value) hits++
        }
        ops += 100
      }
      return { opsPerSec: ops / (ms / 1000), hitRatio: hits / ops }
    }
    // Zipf(1.0) over the page keys: the skew real traffic has (a few pages get most hits).
    const zipfPages = Array.from({ length: 50_000 }, () => pages[zipf(pages.length)])
    await measure(pages, { kind: 'APP_PAGE', isFallback: false }, 300)
    const page = await measure(pages, { kind: 'APP_PAGE', isFallback: false }, 2000)
    const pageZipf = await measure(zipfPages, { kind: 'APP_PAGE', isFallback: false }, 2000)
    const fetch = await measure(fetches, { kind: 'FETCH', tags: ['items'], softTags: [] }, 2000)
    // One page asked for again and again: what a popular page costs once it is hot.
    const pageHot = await measure([pages[0]], { kind: 'APP_PAGE', isFallback: false }, 2000)
    // Sets of a page (event-loop time per awaited set; the disk and Redis tiers are off here).
    const template = appPage(0)
    const setStart = performance.now()
    let sets = 0
    while (performance.now() - setStart < 2000) await h.set(keyFor(4 * (sets++ % pages.length)), template, ctxFor(template))
    const set = { opsPerSec: sets / ((performance.now() - setStart) / 1000) }
    return { page, pageZipf, pageHot, fetch, set, pages: pages.length, fetches: fetches.length, pageBytes: template.html.length + template.rscData.length + 7_000 }
  }
  if (scenario === 'memory') {
    // Fill a budget of `args[0]` MiB with twice that much data; report RSS and a full GC.
    const budget = Number(args[0]) * MiB
    global.gc()
    const rss0 = process.memoryUsage().rss
    const cache = makeCache(budget)
    await fill(cache, budget * 2)
    const gcTimes = []
    for (let k = 0; k < 5; k++) {
      const s = performance.now()
      global.gc()
      gcTimes.push(performance.now() - s)
    }
    gcTimes.sort((a, b) => a - b)
    const mu = process.memoryUsage()
    return { budget, rssGrowth: mu.rss - rss0, heapUsed: mu.heapUsed, external: mu.external + mu.arrayBuffers, gcMs: gcTimes[2], stats: cache.stats() }
  }
  if (scenario === 'hitrate') {
    // Zipf(1.0) over 20,000 keys, budget args[0] MiB: cache-aside, count hits after warm-up.
    const budget = Number(args[0]) * MiB
    const cache = makeCache(budget)
    const h = cache.handler()
    const N = 20_000
    const pick = () => zipf(N)
    const templates = Array.from({ length: 64 }, (_, i) => entryFor(i))
    let hits = 0
    let reqs = 0
    for (let r = 0; r < 60_000; r++) {
      const i = pick()
      const t = templates[i % 64]
      const got = await h.get(keyFor(i), ctxFor(t))
      if (r >= 20_000) {
        reqs++
        if (got && got.value) hits++
      }
      if (!got || !got.value) await h.set(keyFor(i), t, ctxFor(t))
    }
    return { hitRate: hits / reqs, stats: cache.stats() }
  }
  throw new Error(`unknown scenario ${scenario}`)
}

main().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1) })
