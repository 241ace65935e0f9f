'use strict'

// Issue #12 §4: a burst of 100 concurrent requests for 20 MP sources, and 100 for the small
// hostile files, against `next-native image serve` with a fixed concurrency gate; the
// server's peak RSS must stay under a bound derived from that gate.
//
// The bound (also in the README's Reliability section):
//
//   peak RSS ≤ base + Σ(the `gate` largest slots) + N × (source bytes + R)
//   slot     = 2·W·H·4             the decoded source at 4 bytes/pixel, and one working copy
//                                  as large (fast_image_resize premultiplies RGBA into a copy)
//            + w·H·4 + w·h·4       the resize: the horizontal pass's intermediate, the output
//            + 32·w·h              encoder working memory: libwebp codes an alpha plane
//                                  losslessly (VP8L's hash chains and backward references),
//                                  measured at ~25 B per output pixel with the ARGB and YUVA
//                                  copies; RGB WebP and mozjpeg measured ~7 B/px
//            + source bytes        the addon's copy of its input
//
// where base is the RSS after start and one small optimization (the addon loaded), gate the
// number of optimizations that hold pixels at once: the handler's `concurrency` (its queue is
// the one bound; the handler's encodes skip the addon's per-core gate, `gate: false`), W×H
// the source and w×h the requested output,
// N the requests in flight (each holds its source bytes while it waits for the gate: the
// handler reads the file first), and R = 256 KiB of Node state per request (socket, parser,
// promises). The assertion allows 2× the growth over base, plus 32 MiB for the V8 heap and
// allocator noise: memory that grew per request instead of per slot (100 × 77 MiB decoded =
// 7.7 GiB) is far beyond it. 2× would not notice a gate twice as wide, so a second check
// compares the burst with the worst request of the burst measured alone, before it:
// growth ≤ 1.25 × (gate × that request's growth + N × (source bytes + R)) + 32 MiB.
//
// In a release build the 100 large requests finish in well under a minute on 2 cores; a
// debug build takes 4–15 s per 20 MP image, so the burst is observed for at most
// NEXT_NATIVE_BURST_CAP_S seconds (default 75; 0: until all finish), and at least three
// rounds of the gate must complete in that time: the peak is reached in the first round
// (all 100 requests have read their sources, `gate` decodes hold pixels), later rounds only
// repeat it with fewer waiting.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')

const MiB = 1024 * 1024
const N = 100
const CONCURRENCY = 2
const GATE = CONCURRENCY // the handler's queue is the one bound (its encodes skip the addon's per-core gate)
const PER_REQUEST = 256 * 1024
const ENCODER_BYTES_PER_PIXEL = 32
const NOISE = 32 * MiB
const CAP_S = Number(process.env.NEXT_NATIVE_BURST_CAP_S ?? 75)
const linuxOnly = process.platform !== 'linux' && 'reads RSS from /proc (Linux only)'
const ACCEPT = { webp: 'image/webp,*/*', none: null }
const QUALITIES = [50, 75, 90]
const WIDTHS = [640, 750, 828, 1080, 1200, 1920, 2048, 3840, 32, 48, 64, 96, 128, 256, 384]
const mib = (bytes) => (bytes / MiB).toFixed(0)

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-burst-'))
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }))

let soak
const lib = async () => (soak ??= await import('../scripts/soak.mjs'))

/** The output size Next asks for: width w, height by the aspect ratio, never enlarged. */
function outputSize(src, w) {
  if (w >= src.width) return [src.width, src.height]
  return [w, Math.max(1, Math.round((src.height * w) / src.width))]
}

function slotBytes(src, w) {
  const [ow, oh] = outputSize(src, w)
  return 2 * src.width * src.height * 4 + ow * src.height * 4 + ow * oh * 4 + ENCODER_BYTES_PER_PIXEL * ow * oh + src.data.length
}

/**
 * Starts the service on `sources` (disk cache off, so no request is answered from an earlier
 * one), warms it up, optionally measures `single` alone, then fires `requests` at once and
 * samples RSS until all have answered or `capS` passed.
 */
async function burst(t, name, sources, requests, { capS, single }) {
  const { startImageServe, writeSources, memoryOf, resetPeak, get } = await lib()
  const dir = path.join(tmp, name)
  writeSources(path.join(dir, 'public'), sources)
  const server = await startImageServe({
    publicDir: path.join(dir, 'public'),
    cacheDir: path.join(dir, 'cache'),
    config: { concurrency: CONCURRENCY, qualities: QUALITIES, imgOptTimeoutInSeconds: 3600, formats: ['image/webp'], maximumDiskCacheSize: 0 },
  })
  t.after(() => server.stop('SIGKILL', 1000))
  const agent = new http.Agent({ keepAlive: true, maxSockets: N + 10 })
  const settle = () => new Promise((r) => setTimeout(r, 1000))
  // Warm-up: the addon is loaded on first use; one small optimization loads it and its codecs.
  const warm = await get(`${server.url}/_next/image?url=%2Fwarm.jpg&w=64&q=75`, { agent })
  assert.equal(warm.status, 200, `warm-up: ${JSON.stringify(warm)}\n${server.output()}`)
  await settle()

  let singleGrowth = null
  if (single) {
    const before = memoryOf(server.pid).rss
    if (resetPeak(server.pid)) {
      const res = await get(`${server.url}${single.path}`, { agent, headers: single.headers, timeoutMs: 3_600_000 })
      assert.equal(res.status, 200, `${single.path}: ${JSON.stringify(res)}`)
      singleGrowth = memoryOf(server.pid).hwm - before
      await settle()
    }
  }

  const base = memoryOf(server.pid).rss
  const hwmReset = resetPeak(server.pid)
  let sampled = base
  const sampler = setInterval(() => {
    const m = memoryOf(server.pid)
    if (m) sampled = Math.max(sampled, m.rss)
  }, 20)
  const started = performance.now()
  const results = new Array(requests.length)
  let done = 0
  const all = Promise.all(
    requests.map((r, i) =>
      get(`${server.url}${r.path}`, { agent, headers: r.headers, timeoutMs: 3_600_000 }).then((res) => {
        results[i] = res
        done++
      }),
    ),
  )
  const capped = capS > 0 ? new Promise((r) => setTimeout(r, capS * 1000).unref()) : new Promise(() => {})
  await Promise.race([all, capped])
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  const m = memoryOf(server.pid)
  assert.ok(m, `the service died during the burst:\n${server.output()}`)
  const peak = Math.max(sampled, hwmReset ? m.hwm : 0)
  // Copied before the stop: requests still queued then fail, and are not results.
  const answered = results.slice()
  const completed = done
  agent.destroy()
  await server.stop('SIGKILL', 1000)
  return { base, peak, sampled, seconds, completed, results: answered, hwmReset, singleGrowth }
}

function report(t, name, o) {
  const line =
    `${name}: ${o.completed}/${N} answered in ${o.seconds.toFixed(1)} s (gate ${GATE}); base ${mib(o.base)} MiB, ` +
    `peak ${mib(o.peak)} MiB (+${mib(o.peak - o.base)}; ${o.hwmReset ? `VmHWM; sampled every 20 ms: ${mib(o.sampled)}` : 'sampled every 20 ms'}); ` +
    `bound ${mib(o.bound)} MiB (+${mib(o.bound - o.base)}), asserted ≤ ${mib(o.allowed)} MiB` +
    (o.singleGrowth !== null && o.singleGrowth !== undefined
      ? `; worst request alone +${mib(o.singleGrowth)} MiB, so ≤ +${mib(o.relative)} MiB asserted for the burst`
      : '')
  t.diagnostic(line)
  if (process.env.NEXT_NATIVE_BURST_REPORT) fs.appendFileSync(process.env.NEXT_NATIVE_BURST_REPORT, `${line}\n`)
}

test('burst: 100 concurrent requests for 20 MP sources stay under the gate-derived RSS bound', { skip: linuxOnly, timeout: 3_600_000 }, async (t) => {
  const { largeSources, validSources } = await lib()
  const large = largeSources()
  const warm = { ...validSources()[0], name: 'warm.jpg' }
  const [jpeg, png] = large
  // 100 distinct cache keys (identical requests would share one computation): the JPEG at
  // widths it decodes at full or half scale, the RGBA PNG (always decoded whole) at every
  // width, each at three qualities and two Accept headers.
  const all = []
  for (const w of [3840, 2048, 1920]) for (const q of QUALITIES) for (const a of Object.keys(ACCEPT)) all.push({ src: jpeg, w, q, a })
  for (const w of WIDTHS) for (const q of QUALITIES) for (const a of Object.keys(ACCEPT)) all.push({ src: png, w, q, a })
  // Interleaved so that the JPEGs and the widest PNGs are spread over the burst.
  const chosen = all.map((r, i) => [(i * 37) % all.length, r]).sort((a, b) => a[0] - b[0]).map(([, r]) => r).slice(0, N)
  const spec = (r) => ({
    path: `/_next/image?url=${encodeURIComponent(`/${r.src.name}`)}&w=${r.w}&q=${r.q}`,
    headers: ACCEPT[r.a] ? { accept: ACCEPT[r.a] } : {},
    expectType: r.a === 'webp' ? 'image/webp' : r.src.name.endsWith('.png') ? 'image/png' : 'image/jpeg',
  })
  const specs = chosen.map(spec)
  assert.equal(new Set(specs.map((s) => `${s.path} ${s.headers.accept}`)).size, N)
  // The worst request of the burst, measured alone first: the RGBA PNG to 3840 px WebP (the
  // largest slot by the formula; WebP's lossless alpha makes it the costliest encode too).
  const worst = { src: png, w: 3840, q: 75, a: 'webp' }
  assert.ok(chosen.some((r) => r.src === png && r.w === 3840 && r.a === 'webp'))
  assert.equal(slotBytes(png, 3840), Math.max(...chosen.map((r) => slotBytes(r.src, r.w))))

  const out = await burst(t, 'large', [...large, warm], specs, { capS: CAP_S, single: spec(worst) })
  const slots = chosen.map((r) => slotBytes(r.src, r.w)).sort((a, b) => b - a)
  const waiting = chosen.reduce((a, r) => a + r.src.data.length + PER_REQUEST, 0)
  const bound = out.base + slots.slice(0, GATE).reduce((a, b) => a + b, 0) + waiting
  const allowed = out.base + 2 * (bound - out.base) + NOISE
  const relative = out.singleGrowth === null ? null : 1.25 * (GATE * out.singleGrowth + waiting) + NOISE
  report(t, 'large', { ...out, bound, allowed, relative })

  assert.ok(out.completed >= Math.min(N, 3 * GATE), `only ${out.completed} requests answered within ${CAP_S} s: fewer than three rounds of the gate`)
  out.results.forEach((res, i) => {
    if (!res) return // still queued at the cap
    assert.equal(res.status, 200, `${specs[i].path}: ${JSON.stringify(res)}`)
    assert.equal(res.headers['content-type'], specs[i].expectType, `${specs[i].path} was not optimized`)
  })
  assert.ok(out.peak <= allowed, `peak RSS ${mib(out.peak)} MiB > ${mib(allowed)} MiB allowed (bound ${mib(bound)} MiB)`)
  if (relative !== null) {
    assert.ok(out.peak - out.base <= relative, `burst grew ${mib(out.peak - out.base)} MiB > ${mib(relative)} MiB: more than ${GATE} slots of the worst request (+${mib(out.singleGrowth)} MiB alone)`)
  }
  // The test can fail: were memory per request, not per slot, 100 decoded sources exceed it.
  assert.ok(out.base + N * png.width * png.height * 4 > allowed, 'the bound must be below 100 decoded sources')
})

test('burst: 100 concurrent requests for the hostile files stay at base RSS', { skip: linuxOnly, timeout: 300_000 }, async (t) => {
  const { hostileSources, validSources } = await lib()
  const hostile = hostileSources()
  const warm = { ...validSources()[0], name: 'warm.jpg' }
  const specs = []
  for (let i = 0; specs.length < N; i++) {
    const src = hostile[i % hostile.length]
    const w = WIDTHS[Math.floor(i / hostile.length) % WIDTHS.length]
    const a = Object.keys(ACCEPT)[Math.floor(i / (hostile.length * WIDTHS.length)) % 2]
    specs.push({ src, path: `/_next/image?url=${encodeURIComponent(`/${src.name}`)}&w=${w}&q=75`, headers: ACCEPT[a] ? { accept: ACCEPT[a] } : {} })
  }
  assert.equal(new Set(specs.map((s) => `${s.path} ${s.headers.accept}`)).size, N)

  const out = await burst(t, 'hostile', [...hostile, warm], specs, { capS: 0 })
  // The decoder refuses these from their headers before any pixel buffer exists (< 1 MiB
  // each in crates/image/tests/limits.rs), so a slot is 1 MiB plus the input copy.
  const slot = 1 * MiB + Math.max(...hostile.map((h) => h.data.length))
  const bound = out.base + GATE * slot + specs.reduce((a, s) => a + s.src.data.length + PER_REQUEST, 0)
  const allowed = out.base + 2 * (bound - out.base) + NOISE
  report(t, 'hostile', { ...out, bound, allowed })

  assert.equal(out.completed, N)
  out.results.forEach((res, i) => {
    // Refused by the decoder (PNG, GIF) or passed through (animated WebP, BMP): the original bytes.
    assert.equal(res.status, 200, `${specs[i].path}: ${JSON.stringify(res)}`)
    assert.equal(res.bytes, specs[i].src.data.length, `${specs[i].path}: served unchanged`)
  })
  assert.ok(out.peak <= allowed, `peak RSS ${mib(out.peak)} MiB > ${mib(allowed)} MiB allowed (bound ${mib(bound)} MiB)`)
  // What the headers claim: 16000² × 4 bytes = 977 MiB per file, were it allocated.
  assert.ok(out.base + hostile[0].claims[0] * hostile[0].claims[1] * 4 > allowed)
})
