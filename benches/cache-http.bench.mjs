// The cache as users feel it (issue #13): one Next 16 app (benches/fixtures/cache-http-app),
// `next build` once per variant (own distDir) and served by `next start`, Next's default
// cache against ours (`cacheHandler` + `cacheHandlers`), the same `cacheMaxMemorySize`, load
// from wrk (autocannon if wrk is absent) at 16 connections over loopback. ISR routes
// (`revalidate = 3600`):
//   /small      one ~5 KB page          /large   one ~50 KB page
//   /many/[id]  2,000 distinct ~50 KB pages, none prerendered, requested at random, with an
//               8 MiB budget (the set is beyond it) and a 512 MiB one (the set fits)
//   /built/[id] 3 pages prerendered at build: what the first request gets after a restart
// Before timing: both servers answer 200 with bodies of the same length on every route, and
// every /many page is requested once. Each cell alternates default/ours, warm-up then a
// timed run, median of the runs. Also: RSS of each server's process tree after its runs.
//
// Knobs: CACHE_HTTP_QUICK=1 (5 s x 1 run), CACHE_HTTP_DURATION / _WARMUP (seconds),
// CACHE_HTTP_RUNS, CACHE_HTTP_CONNECTIONS (16), CACHE_HTTP_THREADS (wrk threads, 1),
// CACHE_HTTP_LOAD=wrk|autocannon, CACHE_HTTP_REBUILD=1 (build even if the inputs are unchanged).
import { execFile, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { join, relative } from 'node:path'
import { median, root, save, table } from './harness.mjs'

const require = createRequire(import.meta.url)
const { freePort, killGroup, nextBuild, nextStart, sleep } = require(join(root, '__test__', 'fixtures', 'processes.js'))

const APP = join(root, 'benches', 'fixtures', 'cache-http-app')
const NEXT_BIN = join(root, 'node_modules', 'next', 'dist', 'bin', 'next')
const NEXT_VERSION = require(join(root, 'node_modules', 'next', 'package.json')).version

const QUICK = process.env.CACHE_HTTP_QUICK === '1'
const num = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt)
const DURATION = num('CACHE_HTTP_DURATION', QUICK ? 5 : 15)
const WARMUP = num('CACHE_HTTP_WARMUP', QUICK ? 2 : 5)
const RUNS = num('CACHE_HTTP_RUNS', QUICK ? 1 : 3)
const CONNECTIONS = num('CACHE_HTTP_CONNECTIONS', 16)
const THREADS = num('CACHE_HTTP_THREADS', 1)
const MANY = 2000 // app/many/[id]/page.js COUNT
const MiB = 2 ** 20

const VARIANTS = { default: {}, ours: { CACHE_HANDLER: 'native' } }
const LABEL = { default: 'Next default', ours: 'ours' }
// Budget phases: fresh servers per budget, cells timed on them.
const PHASES = [
  { budget: 8 * MiB, after: 'the build', cells: [{ route: '/many/[id]', path: '/many/', count: MANY }] },
  {
    budget: 512 * MiB,
    after: 'a restart',
    cells: [
      { route: '/small', path: '/small' },
      { route: '/large', path: '/large' },
      { route: '/many/[id]', path: '/many/', count: MANY },
    ],
  },
]
const EQUIVALENCE = ['/', '/small', '/large', '/many/0', `/many/${MANY - 1}`, '/built/1']
const LENGTH_SLACK = 64 // bytes: timestamps, build ids

// ---------------------------------------------------------------------------------------
// Processes: every server is tracked and its process group killed on the way out.

const live = new Set()
async function stopAll() {
  await Promise.all([...live].map((s) => stop(s)))
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => stopAll().finally(() => process.exit(130)))
}

function envFor(variant, budget) {
  const { CACHE_HANDLER, CACHE_MAX_MEMORY, NEXT_DIST_DIR, ...inherited } = process.env
  return {
    ...inherited,
    NEXT_TELEMETRY_DISABLED: '1',
    NEXT_DIST_DIR: `.next-${variant}`,
    ...(budget !== undefined && { CACHE_MAX_MEMORY: String(budget) }),
    ...VARIANTS[variant],
  }
}

async function start(variant, budget) {
  const port = await freePort()
  const startedAt = Date.now()
  let child
  try {
    child = await nextStart(NEXT_BIN, { cwd: APP, env: envFor(variant, budget), port })
  } catch (err) {
    await killGroup(err.child)
    throw err
  }
  const server = { variant, budget, port, child, startedAt, base: `http://127.0.0.1:${port}` }
  live.add(server)
  return server
}

async function stop(server) {
  await killGroup(server.child)
  live.delete(server)
}

/** Lines of a server's output that look like trouble (the last 20). */
function complaints(server) {
  return server.child.output.split('\n').filter((l) => /error|warn|⨯|fail/i.test(l)).slice(-20)
}

/** VmRSS of `pid` and all its descendants, in bytes (Linux /proc). */
function treeRss(pid) {
  const parent = new Map()
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8')
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) for (const [p, pp] of parent) if (pp === tree[i]) tree.push(p)
  let kb = 0
  for (const p of tree) {
    try {
      const m = fs.readFileSync(`/proc/${p}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)
      if (m) kb += Number(m[1])
    } catch {
      // exited meanwhile
    }
  }
  return { bytes: kb * 1024, processes: tree.length }
}

// ---------------------------------------------------------------------------------------
// Builds: one per variant, skipped when the app, Next and the variant are unchanged.

function inputsHash(variant) {
  const h = createHash('sha256').update(`${NEXT_VERSION}\n${JSON.stringify(VARIANTS[variant])}\n${root}\n`)
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.next') || e.name === 'node_modules') continue
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else h.update(`${relative(APP, p)}\n`).update(fs.readFileSync(p))
    }
  }
  walk(APP)
  if (VARIANTS[variant].CACHE_HANDLER) {
    // `next build` runs our handler too (its workers store the prerendered pages).
    for (const f of fs.readdirSync(join(root, 'lib')).filter((f) => /^cache-.*\.js$/.test(f)).sort()) h.update(`lib/${f}\n`).update(fs.readFileSync(join(root, 'lib', f)))
    for (const f of fs.readdirSync(root).filter((f) => f.endsWith('.node'))) {
      const st = fs.statSync(join(root, f))
      h.update(`${f} ${st.size} ${st.mtimeMs}\n`)
    }
  }
  return h.digest('hex')
}

const renderedOf = (html) => Number((html.match(/<p id="rendered">(\d+)<\/p>/) || [])[1]) || undefined

/**
 * Builds `.next-<variant>` and keeps a copy of the fresh build output (`.next-<variant>.build`);
 * with unchanged inputs it restores that copy instead. Either way every invocation starts
 * from the build output alone: pages a cache wrote to disk at run time in an earlier
 * invocation (either cache, wherever it keeps them) are gone.
 */
async function build(variant) {
  const distDir = join(APP, `.next-${variant}`)
  const pristine = `${distDir}.build`
  const stampFile = join(pristine, 'cache-http-inputs.json')
  const hash = inputsHash(variant)
  if (process.env.CACHE_HTTP_REBUILD !== '1') {
    try {
      const stamp = JSON.parse(fs.readFileSync(stampFile, 'utf8'))
      if (stamp.hash === hash) {
        fs.rmSync(distDir, { recursive: true, force: true })
        fs.cpSync(pristine, distDir, { recursive: true })
        return { ...stamp, reused: true }
      }
    } catch {
      // no stamp: build
    }
  }
  const t0 = Date.now()
  fs.rmSync(distDir, { recursive: true, force: true })
  fs.rmSync(pristine, { recursive: true, force: true })
  await nextBuild(NEXT_BIN, { cwd: APP, env: envFor(variant), timeoutMs: 10 * 60_000 })
  // What the build prerendered for /built/1 (its #rendered stamp), to recognise it later.
  const html = fs.readFileSync(join(distDir, 'server', 'app', 'built', '1.html'), 'utf8')
  const stamp = { hash, builtAt: Date.now(), buildMs: Date.now() - t0, built1Rendered: renderedOf(html) }
  fs.cpSync(distDir, pristine, { recursive: true })
  fs.writeFileSync(stampFile, JSON.stringify(stamp))
  return { ...stamp, reused: false }
}

// ---------------------------------------------------------------------------------------
// HTTP: single requests (checks, warm pass) and the load generator.

async function get(server, path) {
  const res = await fetch(server.base + path, { signal: AbortSignal.timeout(60_000) })
  const body = Buffer.from(await res.arrayBuffer())
  return { status: res.status, length: body.length, cache: res.headers.get('x-nextjs-cache'), rendered: renderedOf(body.toString('utf8')) }
}

async function checkEquivalence(servers) {
  const rows = []
  for (const path of EQUIVALENCE) {
    const [a, b] = await Promise.all(servers.map((s) => get(s, path)))
    rows.push({ path, default: a, ours: b })
    if (a.status !== 200 || b.status !== 200 || Math.abs(a.length - b.length) > LENGTH_SLACK) {
      throw new Error(`not equivalent: GET ${path} -> default ${a.status} ${a.length} B, ours ${b.status} ${b.length} B`)
    }
  }
  return rows
}

/** Every /many page once, 4 at a time; returns the time and the x-nextjs-cache counts. */
async function warmPass(server) {
  const t0 = Date.now()
  const counts = {}
  let next = 0
  const worker = async () => {
    while (next < MANY) {
      const r = await get(server, `/many/${next++}`)
      if (r.status !== 200) throw new Error(`warm pass: ${server.variant} /many/${next - 1} -> ${r.status}`)
      counts[r.cache] = (counts[r.cache] || 0) + 1
    }
  }
  await Promise.all(Array.from({ length: 4 }, worker))
  return { ms: Date.now() - t0, responses: counts }
}

const LOAD = (() => {
  const forced = process.env.CACHE_HTTP_LOAD
  if (forced && forced !== 'wrk' && forced !== 'autocannon') throw new Error(`CACHE_HTTP_LOAD=${forced}: wrk or autocannon`)
  if (forced !== 'autocannon' && spawnSync('wrk', ['--version']).error?.code !== 'ENOENT') return 'wrk'
  if (forced === 'wrk') throw new Error('CACHE_HTTP_LOAD=wrk but wrk is not installed')
  try {
    require.resolve('autocannon', { paths: [root] })
  } catch {
    throw new Error('neither wrk (apt-get install wrk) nor autocannon (npm i --no-save autocannon) is available')
  }
  return 'autocannon'
})()

function load(server, cell, seconds, seed) {
  const args = [cell.path, String(cell.count || 0), String(seed)]
  const [cmd, argv] =
    LOAD === 'wrk'
      ? ['wrk', ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${seconds}s`, '--timeout', '30s', '-s', join(APP, 'load.lua'), server.base, '--', ...args]]
      : [process.execPath, [join(APP, 'autocannon-load.cjs'), server.base, String(CONNECTIONS), String(seconds), ...args]]
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: (seconds + 60) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '))
      if (err || !line) return reject(new Error(`${cmd} failed (${err?.message || 'no result line'}):\n${stdout}\n${stderr}`))
      const r = JSON.parse(line.slice('WRK_JSON '.length))
      r.rps = r.requests / (r.durationUs / 1e6)
      resolve(r)
    })
  })
}

// ---------------------------------------------------------------------------------------
// What we run against: the addon that lib/ loads (a debug build skews ours).

function addonProfile() {
  const file = fs.readdirSync(root).find((f) => f.endsWith('.node'))
  if (!file) return { file: null, profile: 'missing' }
  const mtimeMs = fs.statSync(join(root, file)).mtimeMs
  try {
    // ELF section names: a debug build (profile.dev, debug = 1) carries .debug_info.
    const fd = fs.openSync(join(root, file), 'r')
    const read = (pos, len) => {
      const b = Buffer.alloc(len)
      fs.readSync(fd, b, 0, len, pos)
      return b
    }
    const h = read(0, 64)
    if (h.toString('latin1', 1, 4) !== 'ELF') return { file, profile: 'unknown' }
    const shoff = Number(h.readBigUInt64LE(0x28))
    const shentsize = h.readUInt16LE(0x3a)
    const shstrndx = h.readUInt16LE(0x3e)
    const sh = read(shoff + shstrndx * shentsize, shentsize)
    const names = read(Number(sh.readBigUInt64LE(0x18)), Number(sh.readBigUInt64LE(0x20))).toString('latin1')
    fs.closeSync(fd)
    return { file, mtimeMs, profile: names.includes('.debug_info') ? 'debug' : 'release' }
  } catch {
    return { file, mtimeMs, profile: 'unknown' }
  }
}

// ---------------------------------------------------------------------------------------

const mib = (b) => `${(b / MiB).toFixed(0)} MiB`
const fmtRps = (x) => (x >= 1000 ? `${(x / 1000).toFixed(2)} k` : x.toFixed(0))
const fmtUs = (us) => (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us} µs`)
function mix(responses) {
  const total = Object.values(responses).reduce((a, b) => a + b, 0)
  return Object.entries(responses)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.startsWith('200 ') ? k.slice(4) : k} ${((100 * v) / total).toFixed(v === total ? 0 : 1)}%`)
    .join(', ')
}
const addCounts = (into, from) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] || 0) + v
  return into
}

const addon = addonProfile()
console.log(
  `cache-http: next ${NEXT_VERSION}, load: ${LOAD} (${THREADS} thread${THREADS > 1 ? 's' : ''}, ${CONNECTIONS} connections), ` +
    `${WARMUP} s warm-up + ${DURATION} s x ${RUNS} run${RUNS > 1 ? 's' : ''}${QUICK ? ' (quick)' : ''}, addon: ${addon.file} (${addon.profile})`,
)
if (addon.profile === 'missing') throw new Error('no *.node at the repository root: build the addon first')

const results = { quick: QUICK, load: LOAD, threads: THREADS, connections: CONNECTIONS, durationS: DURATION, warmupS: WARMUP, runs: RUNS, next: NEXT_VERSION, addon, builds: {}, phases: [], restart: {} }
try {
  for (const variant of Object.keys(VARIANTS)) {
    const b = await build(variant)
    results.builds[variant] = b
    console.log(`build ${variant}: ${b.reused ? 'inputs unchanged, reused' : `${(b.buildMs / 1000).toFixed(1)} s`}`)
  }

  for (const phase of PHASES) {
    const servers = []
    for (const variant of Object.keys(VARIANTS)) servers.push(await start(variant, phase.budget))
    const out = { budget: phase.budget, after: phase.after, cells: [] }
    results.phases.push(out)
    out.equivalence = await checkEquivalence(servers)
    out.warm = {}
    for (const s of servers) {
      out.warm[s.variant] = await warmPass(s)
      console.log(`${mib(phase.budget)}: ${s.variant} first pass over ${MANY} pages ${(out.warm[s.variant].ms / 1000).toFixed(1)} s (${mix(out.warm[s.variant].responses)})`)
    }
    for (const cell of phase.cells) {
      const runs = { default: [], ours: [] }
      for (let i = 0; i < RUNS; i++) {
        const order = i % 2 ? [...servers].reverse() : servers
        for (const s of order) {
          if (WARMUP > 0) await load(s, cell, WARMUP, 1000 + i)
          const r = await load(s, cell, DURATION, 1 + i) // same request sequence for both
          runs[s.variant].push(r)
          console.log(`${mib(phase.budget)} ${cell.route} ${s.variant} run ${i + 1}: ${r.rps.toFixed(0)} req/s, p99 ${fmtUs(r.latencyUs.p99)} (${mix(r.responses)})`)
        }
      }
      const summary = (v) => ({
        rps: median(runs[v].map((r) => r.rps)),
        p99Us: median(runs[v].map((r) => r.latencyUs.p99)),
        responses: runs[v].reduce((acc, r) => addCounts(acc, r.responses), {}),
        errors: runs[v].reduce((acc, r) => addCounts(acc, r.errors), {}),
      })
      out.cells.push({ route: cell.route, default: summary('default'), ours: summary('ours'), runs })
    }
    out.rss = {}
    out.log = {}
    for (const s of servers) {
      out.rss[s.variant] = treeRss(s.child.pid)
      out.log[s.variant] = complaints(s)
      await stop(s)
    }
  }

  // After a restart of `next start` (same build): the first request for a page prerendered
  // at build time.
  for (const variant of Object.keys(VARIANTS)) {
    const s = await start(variant, PHASES.at(-1).budget)
    const first = await get(s, '/built/1')
    const second = await get(s, '/built/1')
    await stop(s)
    const built = results.builds[variant].built1Rendered
    results.restart[variant] = {
      first,
      second,
      buildTime: first.rendered === built,
      renderedBeforeStart: first.rendered < s.startedAt,
    }
  }
} finally {
  await stopAll()
}

// ---------------------------------------------------------------------------------------
// Report

const rows = []
for (const phase of results.phases) {
  for (const c of phase.cells) {
    rows.push([
      `\`${c.route}\``,
      mib(phase.budget),
      fmtRps(c.default.rps),
      fmtRps(c.ours.rps),
      `${(c.ours.rps / c.default.rps).toFixed(2)}×`,
      fmtUs(c.default.p99Us),
      fmtUs(c.ours.p99Us),
      `${mix(c.default.responses)} / ${mix(c.ours.responses)}`,
    ])
  }
}
console.log(`\nRequests per second (median of ${RUNS}; ${CONNECTIONS} connections, ${LOAD}, ${DURATION} s per run)\n`)
console.log(table(['route', 'budget', 'Next default req/s', 'ours req/s', 'ours/default', 'p99 default', 'p99 ours', 'x-nextjs-cache (default / ours)'], rows))

const restartCell = (r) => `${r.first.cache}, ${r.buildTime ? 'build-time render' : r.renderedBeforeStart ? 'rendered before the restart' : 'rendered on request'}`
const other = [
  ['first GET `/built/1` after a restart (prerendered at build)', restartCell(results.restart.default), restartCell(results.restart.ours), ''],
]
for (const phase of results.phases) {
  other.push([`first pass over ${MANY} \`/many\` pages after ${phase.after} (${mib(phase.budget)})`, `${(phase.warm.default.ms / 1000).toFixed(1)} s`, `${(phase.warm.ours.ms / 1000).toFixed(1)} s`, `${(phase.warm.default.ms / phase.warm.ours.ms).toFixed(2)}×`])
}
for (const phase of results.phases) {
  other.push([`RSS after the runs (${mib(phase.budget)} budget)`, mib(phase.rss.default.bytes), mib(phase.rss.ours.bytes), `${(phase.rss.ours.bytes / phase.rss.default.bytes).toFixed(2)}×`])
}
console.log('\n' + table(['', 'Next default', 'ours', 'ours/default'], other))

// Servers started before a rebuild keep the addon they loaded; later ones load the new one.
if (addonProfile().mtimeMs !== addon.mtimeMs) {
  results.addon.replacedDuringRun = true
  console.log(`\nwarning: ${addon.file} was rebuilt during the run: servers may have used different builds of it`)
}
const sizes = results.phases[0].equivalence.map((e) => `${e.path} ${e.default.length}/${e.ours.length} B`).join(', ')
console.log(`\nbody sizes (default/ours): ${sizes}`)
for (const phase of results.phases) {
  for (const [variant, lines] of Object.entries(phase.log)) {
    if (lines.length) console.log(`\n${variant} server (${mib(phase.budget)}) complained:\n${lines.join('\n')}`)
  }
  for (const c of phase.cells) {
    for (const variant of Object.keys(VARIANTS)) {
      const e = c[variant].errors
      const n = Object.values(e).reduce((a, b) => a + b, 0)
      if (n) console.log(`${variant} ${c.route} (${mib(phase.budget)}): load errors ${JSON.stringify(e)}`)
    }
  }
}
console.log(`\nsaved ${save(QUICK ? 'cache-http-quick' : 'cache-http', results)}`)
