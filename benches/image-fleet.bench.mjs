// Images once per fleet (issue #17): three replicas behind a round-robin client, cold caches.
//
// Variants, each with three fresh replicas on this machine:
//   next      Next 16.4.6's own /_next/image (sharp), three `next start` with their own
//             .next (each replica optimizes on its own: Next's default)
//   ours      three `next-native image serve`, each with its own disk cache, no Redis
//   ours+redis the same three with REDIS_URL: one throwaway redis-server shared by all
//
// Requests: FLEET_SOURCES distinct JPEG sources (default 100: crops of the bench photos,
// `npm run bench:images`) × FLEET_WIDTHS (default 384,640,1080) × AVIF and WebP (Chromium's
// and a WebP-only Accept). Every distinct output is asked of all three replicas, the three
// requests one after the other in the client's queue, with FLEET_CONCURRENCY (default 6)
// requests in flight: the same image reaches the replicas at about the same time, as a page
// view spread over a fleet does. Reported: the optimizations performed (responses with
// X-Nextjs-Cache: MISS), the CPU seconds of the replicas' processes, wall time.
// Then, on ours+redis only, a fourth replica with an empty disk asks for every output once
// (shared hits: from Redis) and once more (local hits: its memory tier, 64 MiB by default with
// Redis, holds them), one request at a time: p50/p99.
// Before timing, the outputs' content types and dimensions are checked against Next's.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchImagesDir, ensureBenchImages } from '../scripts/bench-images.mjs'
import { root, save, table } from './harness.mjs'

const require = createRequire(import.meta.url)
const sharp = require('sharp')
const { imageMetadata } = require('../index.js')
const { freePort, killGroup, spawnGroup, sleep } = require('../__test__/fixtures/processes.js')
const { startRedis } = require('../__test__/fixtures/redis-server.js')

const SOURCES = Number(process.env.FLEET_SOURCES || 100)
const WIDTHS = (process.env.FLEET_WIDTHS || '384,640,1080').split(',').map(Number)
const CONCURRENCY = Number(process.env.FLEET_CONCURRENCY || 6)
const VARIANTS = (process.env.FLEET_VARIANTS || 'next,ours,ours+redis').split(',')
const REPLICAS = 3
const ACCEPT = {
  avif: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8',
  webp: 'image/webp,*/*',
}
const app = join(root, 'benches', 'fixtures', 'image-fleet-app')
const publicDir = join(app, 'public')
const nextBin = join(root, 'node_modules', 'next', 'dist', 'bin', 'next')
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

// ---- sources --------------------------------------------------------------------------

async function makeSources() {
  const dir = join(publicDir, 'fleet')
  const marker = join(dir, `.made-${SOURCES}`)
  if (existsSync(marker)) return
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const { files } = await ensureBenchImages()
  const photos = files.map((f) => readFileSync(join(benchImagesDir, f.file)))
  // Distinct sources: a different 3:2 crop of a photo for each, resized to 1600×1067.
  for (let i = 0; i < SOURCES; i++) {
    const photo = sharp(photos[i % photos.length]).rotate()
    const { width, height } = await sharp(await photo.toBuffer()).metadata()
    const cw = Math.floor(width * 0.7)
    const ch = Math.min(height, Math.floor((cw * 2) / 3))
    const k = Math.floor(i / photos.length)
    const left = Math.floor(((width - cw) * ((k * 37) % 100)) / 100)
    const top = Math.floor(((height - ch) * ((k * 61) % 100)) / 100)
    const out = await photo.extract({ left, top, width: cw, height: ch }).resize(1600, 1067, { fit: 'cover' }).jpeg({ quality: 85 }).toBuffer()
    writeFileSync(join(dir, `s${i}.jpg`), out)
  }
  writeFileSync(marker, '')
}

// ---- replicas -------------------------------------------------------------------------

/** The sum of user+system CPU seconds of every live process in `pgid`'s group. */
function groupCpu(pgid) {
  let ticks = 0
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]) // utime, stime (fields 14, 15)
  }
  return ticks / CLK_TCK
}

async function waitUp(url, child) {
  const deadline = Date.now() + 90_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`replica exited (${child.exitCode}):\n${child.output}`)
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
      await res.arrayBuffer()
      if (res.status < 500) return
    } catch {
      // not yet
    }
    await sleep(200)
  }
  throw new Error(`replica at ${url} did not answer:\n${child.output}`)
}

function buildNext() {
  const dist = '.next-fleet'
  if (!existsSync(join(app, dist, 'BUILD_ID'))) {
    const res = spawnSync(process.execPath, [nextBin, 'build'], { cwd: app, stdio: 'inherit', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_DIST_DIR: dist } })
    if (res.status !== 0) throw new Error('next build of the fleet app failed')
  }
  return dist
}

async function startReplica(variant, r, env = {}) {
  const port = await freePort()
  if (variant === 'next') {
    const dist = `.next-fleet-r${r}`
    rmSync(join(app, dist), { recursive: true, force: true })
    cpSync(join(app, '.next-fleet'), join(app, dist), { recursive: true, verbatimSymlinks: true })
    const child = spawnGroup([nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], { cwd: app, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NEXT_DIST_DIR: dist } })
    await waitUp(`http://127.0.0.1:${port}/`, child)
    return { child, url: `http://127.0.0.1:${port}/_next/image`, cleanup: () => rmSync(join(app, dist), { recursive: true, force: true }) }
  }
  const cacheDir = mkdtempSync(join(tmpdir(), 'fleet-cache-'))
  const config = join(cacheDir, '..', `fleet-config-${port}.json`)
  writeFileSync(config, JSON.stringify({ formats: ['image/avif', 'image/webp'] }))
  const child = spawnGroup([join(root, 'bin', 'next-native.js'), 'image', 'serve', '--port', String(port), '--host', '127.0.0.1', '--public-dir', publicDir, '--cache-dir', cacheDir, '--config', config], {
    cwd: root,
    env: { ...process.env, ...env },
  })
  await waitUp(`http://127.0.0.1:${port}/`, child)
  return {
    child,
    url: `http://127.0.0.1:${port}/`,
    cleanup: () => {
      rmSync(cacheDir, { recursive: true, force: true })
      rmSync(config, { force: true })
    },
  }
}

// ---- requests -------------------------------------------------------------------------

const outputs = []
for (let i = 0; i < SOURCES; i++) for (const w of WIDTHS) for (const f of Object.keys(ACCEPT)) outputs.push({ src: `/fleet/s${i}.jpg`, w, f })

async function request(replica, o) {
  const t0 = performance.now()
  const res = await fetch(`${replica.url}?url=${encodeURIComponent(o.src)}&w=${o.w}&q=75`, { headers: { accept: ACCEPT[o.f] } })
  const body = Buffer.from(await res.arrayBuffer())
  const ms = performance.now() - t0
  if (res.status !== 200) throw new Error(`${replica.url} ${o.src} w=${o.w} ${o.f}: HTTP ${res.status} ${body.toString().slice(0, 200)}`)
  return { ms, cache: res.headers.get('x-nextjs-cache'), type: res.headers.get('content-type'), body }
}

/** Runs `jobs` (functions) with `n` in flight; resolves with their results in order. */
async function pool(jobs, n) {
  const results = new Array(jobs.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs.length) {
        const i = next++
        results[i] = await jobs[i]()
      }
    }),
  )
  return results
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

async function runVariant(variant, redisUrl) {
  const env = variant === 'ours+redis' ? { REDIS_URL: redisUrl } : {}
  const replicas = []
  try {
    for (let r = 0; r < REPLICAS; r++) replicas.push(await startReplica(variant, r, env))
    const cpu0 = replicas.map((x) => groupCpu(x.child.pid))
    const t0 = performance.now()
    const jobs = outputs.flatMap((o) => replicas.map((rep) => () => request(rep, o)))
    const results = await pool(jobs, CONCURRENCY)
    const wall = (performance.now() - t0) / 1000
    const cpu = replicas.reduce((sum, x, i) => sum + groupCpu(x.child.pid) - cpu0[i], 0)
    const misses = results.filter((r) => r.cache === 'MISS').length
    const sample = results.filter((_, i) => i % REPLICAS === 0).map((r) => ({ type: r.type, ...dims(r.body) }))
    const row = { variant, requests: results.length, optimizations: misses, cpu, wall, sample }
    if (variant === 'ours+redis') {
      const fourth = await startReplica(variant, 3, env)
      replicas.push(fourth)
      const shared = []
      const local = []
      for (const o of outputs) shared.push(await request(fourth, o))
      for (const o of outputs) local.push(await request(fourth, o))
      row.sharedHits = shared.filter((r) => r.cache === 'HIT').length
      row.shared = { p50: pct(shared.map((r) => r.ms), 50), p99: pct(shared.map((r) => r.ms), 99) }
      row.local = { p50: pct(local.map((r) => r.ms), 50), p99: pct(local.map((r) => r.ms), 99) }
    }
    return row
  } finally {
    for (const rep of replicas) {
      await killGroup(rep.child)
      rep.cleanup()
    }
  }
}

function dims(body) {
  try {
    const m = imageMetadata(body)
    return { width: m.width, height: m.height }
  } catch {
    return { width: null, height: null }
  }
}

// ---- main -----------------------------------------------------------------------------

await makeSources()
if (VARIANTS.includes('next')) buildNext()
const redis = VARIANTS.includes('ours+redis') ? await startRedis() : null
const rows = []
try {
  for (const v of VARIANTS) {
    process.stderr.write(`fleet: ${v} (${outputs.length} distinct outputs × ${REPLICAS} replicas)\n`)
    rows.push(await runVariant(v, redis?.url))
  }
} finally {
  if (redis) await redis.stop()
}

// Equivalence: every variant served the content type and dimensions Next serves.
const anchor = rows.find((r) => r.variant === 'next')
if (anchor) {
  for (const r of rows) {
    const bad = r.sample.filter((s, i) => s.type !== anchor.sample[i].type || s.width !== anchor.sample[i].width || s.height !== anchor.sample[i].height)
    if (bad.length) throw new Error(`${r.variant}: ${bad.length} outputs differ from Next's in type or size, e.g. ${JSON.stringify(bad[0])}`)
  }
}

const base = anchor ?? rows[0]
console.log(`\n${SOURCES} sources × ${WIDTHS.join('/')} px × AVIF/WebP = ${outputs.length} distinct outputs, each asked of ${REPLICAS} replicas (${outputs.length * REPLICAS} requests, ${CONCURRENCY} in flight)\n`)
console.log(
  table(
    ['variant', 'optimizations', 'per distinct output', 'CPU s (replicas)', `CPU vs ${base.variant}`, 'wall s'],
    rows.map((r) => [r.variant, String(r.optimizations), (r.optimizations / outputs.length).toFixed(2), r.cpu.toFixed(1), `${(r.cpu / base.cpu).toFixed(2)}×`, r.wall.toFixed(1)]),
  ),
)
const shared = rows.find((r) => r.shared)
if (shared) {
  console.log(`\nA fourth replica with an empty disk, one request at a time (${shared.sharedHits}/${outputs.length} were shared hits):\n`)
  console.log(
    table(
      ['hit', 'p50', 'p99'],
      [
        ['shared (Redis → disk)', `${shared.shared.p50.toFixed(1)} ms`, `${shared.shared.p99.toFixed(1)} ms`],
        ['local (memory tier)', `${shared.local.p50.toFixed(1)} ms`, `${shared.local.p99.toFixed(1)} ms`],
      ],
    ),
  )
}
console.log(`\nsaved ${save('image-fleet', { sources: SOURCES, widths: WIDTHS, concurrency: CONCURRENCY, rows: rows.map(({ sample, ...r }) => r) })}`)
