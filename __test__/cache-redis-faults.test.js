'use strict'

// Issue #12 §5: faults on the Redis tier, end to end. The fixture app (fixtures/cache-app,
// our handlers) is built once and started twice (`next start`), each instance with its own
// build copy (so its own disk tier: reads that miss memory and disk really go to Redis) and
// its own fault-injecting proxy (fixtures/fault-proxy.js) in front of one real redis-server.
// While both instances serve continuous reads, writes and revalidations, each fault of the
// matrix below is injected and removed. For every fault the test asserts:
//
//   - bounded waits: no request takes longer than BUDGET_MS (derived below);
//   - no crash, no unhandled rejection: both servers alive, and nothing in their output but
//     the tier's own one-line outage notices;
//   - no corruption: every payload carries its data and hash (the upstream's body, verified
//     in the HTML, in the RSC payload and in the route's JSON; the page id on /built/<id>);
//   - after recovery both instances converge within CATCH_UP_MS on the last revalidation
//     (made by one of them during the fault), a write made on one is read from Redis by the
//     other, and no instance serves a revalidated entry as fresh once it has converged.
//
// Knobs (development only): NEXT_CACHE_TEST_REUSE_BUILD=1 reuses an existing .next-faults
// build; FAULTS_TEST_ROOT=<checkout> runs the instances with another checkout's handlers;
// FAULTS_TEST_LOG=<file> writes every request (instance, route, phase, start, ms) as JSON.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { startRedis, redisServerBinary } = require('./fixtures/redis-server')
const { startFaultProxy } = require('./fixtures/fault-proxy')
const { freePort, killGroup, nextBuild, nextStart, sleep } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'cache-app')
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const DIST = '.next-faults'
const DIST_B = '.next-faults-b'
const PREFIX = 'nn-faults:'

// The tier's timeout, as configured (REDIS_TIMEOUT_MS; 150 ms is also the default).
const TIMEOUT_MS = 150
// The latency budget of one request while a fault is on (and while it recovers). A request
// may wait for Redis once: after a failure the tier skips Redis for 1 s, so a second wait
// needs a request longer than that. On top of that one TIMEOUT_MS it pays its own work (a
// render, a fetch from the upstream), measured here under the same load before any fault
// (the baseline's p99), and the scheduling noise of a loaded 2-core machine (SLACK_MS):
//   BUDGET_MS = min(TIMEOUT_MS + baseline p99 + SLACK_MS, BUDGET_CAP_MS).
// The cap keeps it able to fail: a wait that falls back to any later bound (ioredis' 1 s
// command timeout, its 2 s connect timeout, the fault itself, 2-3 s here) goes over it.
// A request over the budget is excused only when the server (or this process) was stalled
// for at least the overrun: a control probe (a static file, which never touches the cache)
// in flight at the same time took that long too. A wait on Redis leaves the probe fast.
const SLACK_MS = 400
const BUDGET_CAP_MS = 1000
// README: a revalidation reaches other instances by pub/sub, at the latest after the next
// 10 s pull; a reconnect pulls at once, and ioredis reconnects within 2 s (backoff cap).
const CATCH_UP_MS = 10_000 + 2_000 + 3_000
// How long each fault stays on (workload running), then the revalidation made during it.
const FAULT_MS = 2000

const skip = !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)'

// ---- checksummed payloads --------------------------------------------------------------

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex')

/** The upstream's body for version `v`: data (2.5 KB, a function of v) and its hash. */
const bodies = new Map()
function postsBody(v) {
  let body = bodies.get(v)
  if (!body) {
    const data = Array.from({ length: 40 }, (_, i) => sha(`posts:${v}:${i}`)).join('')
    body = `posts-v${v}.${data}.${sha(`posts-v${v}.${data}`).slice(0, 16)}`
    bodies.set(v, body)
  }
  return body
}

/** The version a payload carries; throws unless data and hash are intact. */
function verifyPosts(text, where) {
  const m = /^posts-v(\d+)\.([0-9a-f]+)\.([0-9a-f]{16})$/.exec(text || '')
  if (!m) throw new Error(`${where}: malformed payload ${JSON.stringify(String(text).slice(0, 120))} (${String(text).length} chars)`)
  if (sha(`posts-v${m[1]}.${m[2]}`).slice(0, 16) !== m[3]) throw new Error(`${where}: hash mismatch in v${m[1]} (${text.length} chars)`)
  if (text !== postsBody(Number(m[1]))) throw new Error(`${where}: v${m[1]} carries another version's data`)
  return Number(m[1])
}

/** A /built/<id> id: random hex plus its own hash, so a page can be checked against its URL. */
function newId() {
  const r = crypto.randomBytes(6).toString('hex')
  return `${r}${sha(r).slice(0, 8)}`
}

const field = (html, id) => (html.match(new RegExp(`<p id="${id}">([^<]*)</p>`)) || [])[1]

/** An RSC payload's text row for the element with `id` (`"children":"$13"` -> `13:T<hex len>,<text>`). */
function rscText(payload, id) {
  const ref = (payload.match(new RegExp(`"id":"${id}","children":"([^"]*)"`)) || [])[1]
  if (ref === undefined) return undefined
  if (!ref.startsWith('$')) return ref
  const row = new RegExp(`(?:^|\\n)${ref.slice(1)}:T([0-9a-f]+),`).exec(payload)
  if (!row) return undefined
  const start = row.index + row[0].length
  const bytes = Buffer.from(payload.slice(start))
  return bytes.subarray(0, parseInt(row[1], 16)).toString()
}

/** Checks one response by route; returns what it carries ({ v } for the posts payload, { notesAt }). */
function verify(route, status, body, id) {
  if (status !== 200) throw new Error(`${route}: status ${status}: ${body.slice(0, 300)}`)
  switch (route) {
    case '/feed':
    case '/posts':
      return { v: verifyPosts(field(body, 'posts'), route) }
    case '/posts.rsc':
      return { v: verifyPosts(rscText(body, 'posts'), route) }
    case '/api/stamp': {
      const json = JSON.parse(body)
      return { v: verifyPosts(json.posts, route), rendered: json.rendered }
    }
    case '/notes': {
      const out = {}
      for (const f of ['notes', 'remote']) {
        const m = /^(notes|remote)-(\d+)-(\d+)$/.exec(field(body, f) || '')
        if (!m || m[1] !== f) throw new Error(`/notes: malformed ${f}: ${JSON.stringify(field(body, f))}`)
        out[`${f}At`] = Number(m[2])
      }
      return out
    }
    case '/isr':
      if (!/^\d+$/.test(field(body, 'rendered') || '')) throw new Error(`/isr: malformed render time`)
      return {}
    case '/built': {
      const got = field(body, 'id')
      if (got !== id || sha(id.slice(0, 12)).slice(0, 8) !== id.slice(12)) throw new Error(`/built/${id}: page carries id ${JSON.stringify(got)}`)
      return { rendered: Number(field(body, 'rendered')) }
    }
    default:
      throw new Error(`unknown route ${route}`)
  }
}

// ---- upstream, instances, workload --------------------------------------------------------

function startUpstream() {
  const state = { version: 1 }
  const server = http.createServer((req, res) => {
    if (req.url === '/posts') return res.end(postsBody(state.version))
    res.statusCode = 404
    res.end()
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${server.address().port}`
      state.close = () => new Promise((r) => server.close(r))
      resolve(state)
    })
  })
}

const ROUTES = {
  '/feed': { path: '/feed' },
  '/posts': { path: '/posts' },
  '/posts.rsc': { path: '/posts?_rsc', headers: { RSC: '1' } },
  '/api/stamp': { path: '/api/stamp' },
  '/notes': { path: '/notes' },
  '/isr': { path: '/isr' },
}

/**
 * Every request goes through `request`, which times it, verifies its payload and records it
 * in `log` ({ inst, route, phase, start, ms, v?, notesAt?, error? }).
 */
function makeInstance(name, port, child, run) {
  const base = `http://127.0.0.1:${port}`
  return {
    name,
    child,
    /** GET a static chunk (served without the cache handler): the server's own responsiveness. */
    async control() {
      const rec = { inst: name, route: 'control', phase: run.phase, start: Date.now() }
      try {
        const res = await fetch(base + run.controlPath, { signal: AbortSignal.timeout(15_000) })
        await res.arrayBuffer()
        rec.ms = Date.now() - rec.start
        if (res.status !== 200) rec.error = `${name} control ${run.controlPath}: status ${res.status}`
      } catch (err) {
        rec.ms = Date.now() - rec.start
        rec.error = `${name} control: ${err.message}`
      }
      run.controls.push(rec)
    },
    async request(route, { id, method = 'GET', query } = {}) {
      const spec = route === '/built' ? { path: `/built/${id}` } : route === '/api/revalidate' ? { path: `/api/revalidate?${new URLSearchParams(query)}` } : ROUTES[route]
      const rec = { inst: name, route, phase: run.phase, start: Date.now() }
      run.log.push(rec)
      run.inflight++
      try {
        const res = await fetch(base + spec.path, { method, headers: spec.headers, signal: AbortSignal.timeout(15_000) })
        const body = await res.text()
        rec.ms = Date.now() - rec.start
        if (route === '/api/revalidate') {
          if (res.status !== 200) throw new Error(`revalidate ${JSON.stringify(query)}: status ${res.status}`)
        } else {
          Object.assign(rec, verify(route, res.status, body, id))
        }
      } catch (err) {
        rec.ms ??= Date.now() - rec.start
        rec.error = `${name} ${route}${id ? `/${id}` : ''} (${rec.phase}): ${err.message}`
      } finally {
        run.inflight--
      }
      return rec
    },
  }
}

/**
 * The continuous workload: per instance a reader (every route in turn, plus pages the other
 * instance wrote) and a writer (a new /built/<id> page per iteration, and one written by the
 * other instance); one revalidator for both (every ~400 ms: the upstream moves to the next
 * version and one instance, in turn, revalidates tag `posts`; now and then /isr by path and
 * the 'use cache' tag `notes`). Loops are bounded by `stop()` and by MAX_ITERATIONS.
 */
function startWorkload(run, instances, upstream) {
  const MAX_ITERATIONS = 5000
  const written = { A: [], B: [] }
  const loops = []
  const gate = async () => {
    while (run.paused && !run.stopped) await sleep(10)
  }
  const other = (inst) => instances.find((i) => i !== inst)
  for (const inst of instances) {
    loops.push(
      (async () => {
        const routes = [...Object.keys(ROUTES), '/built']
        for (let i = 0; i < MAX_ITERATIONS && !run.stopped; i++) {
          await gate()
          const route = routes[i % routes.length]
          const ids = written[other(inst).name]
          if (route === '/built') {
            if (ids.length) await inst.request('/built', { id: ids[Math.floor(Math.random() * ids.length)] })
          } else {
            await inst.request(route)
          }
        }
      })(),
      (async () => {
        for (let i = 0; i < MAX_ITERATIONS && !run.stopped; i++) {
          await gate()
          const id = newId()
          const r = await inst.request('/built', { id })
          if (!r.error) written[inst.name].push(id)
          await sleep(50)
        }
      })(),
    )
  }
  for (const inst of instances) {
    loops.push(
      (async () => {
        for (let i = 0; i < MAX_ITERATIONS * 2 && !run.stopped; i++) {
          await inst.control()
          await sleep(50)
        }
      })(),
    )
  }
  loops.push(
    (async () => {
      for (let i = 0; i < MAX_ITERATIONS && !run.stopped; i++) {
        await sleep(400)
        await gate()
        if (run.stopped || run.revalidatorPaused) continue
        const inst = instances[i % 2]
        if (i % 5 === 4) await inst.request('/api/revalidate', { method: 'POST', query: { path: '/isr' } })
        else if (i % 7 === 6) await inst.request('/api/revalidate', { method: 'POST', query: { tag: 'notes', profile: 'expire0' } })
        else {
          upstream.version++
          await inst.request('/api/revalidate', { method: 'POST', query: { tag: 'posts' } })
        }
      }
    })(),
  )
  return {
    async stop() {
      run.stopped = true
      await Promise.all(loops)
    },
  }
}

/** Pauses the loops and waits until no request is in flight. */
async function quiesce(run) {
  run.paused = true
  const deadline = Date.now() + 20_000
  while (run.inflight > 0 && Date.now() < deadline) await sleep(10)
  // Entries a finished request sets after its response (Next writes some in the background).
  await sleep(150)
}

const percentile = (xs, p) => {
  if (!xs.length) return 0
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

// Lines a server may print: Next's banner and config warning, and the tier's outage notices.
const ALLOWED = [
  /^\s*$/,
  /^▲ Next\.js/,
  /^- (Local|Network):/,
  /^✓ (Starting|Ready in|Running next\.config)/,
  /^⚠ `experimental\.useCache` is deprecated/,
  // The fixture's one-argument revalidateTag (its "expire now" form, and the only one in 15.x).
  /^"revalidateTag" without the second argument is now deprecated/,
  /^\[@rs\/next-native cache\] Redis unavailable \(.*\); serving from the in-process cache and retrying in the background$/,
  /^\[@rs\/next-native cache\] Redis reachable again$/,
]

test('Redis tier faults: two next start instances, one Redis, a proxy per instance', { skip, timeout: 6 * 60_000 }, async (t) => {
  const testStarted = Date.now()
  const upstream = await startUpstream()
  const redis = await startRedis()
  const proxyA = await startFaultProxy(redis.port, { name: 'A' })
  const proxyB = await startFaultProxy(redis.port, { name: 'B' })
  let a, b, workload
  const run = { phase: 'warm-up', log: [], controls: [], inflight: 0, paused: false, stopped: false, revalidatorPaused: false }
  t.after(async () => {
    if (workload) await workload.stop()
    try {
      process.kill(redis.child.pid, 'SIGCONT')
    } catch {}
    await Promise.all([killGroup(a), killGroup(b)])
    await Promise.all([proxyA.close(), proxyB.close()])
    await redis.stop()
    await upstream.close()
  })

  const { REDIS_URL, CACHE_HANDLER, CACHE_MAX_MEMORY, ...inherited } = process.env
  const env = {
    ...inherited,
    NEXT_TELEMETRY_DISABLED: '1',
    NEXT_DIST_DIR: DIST,
    UPSTREAM_URL: upstream.url,
    NEXT_NATIVE_ROOT: process.env.FAULTS_TEST_ROOT || ROOT,
    CACHE_HANDLER: 'native',
    // As in next-cache-redis.test.js: Next's own tag manifest off, only the handlers decide.
    CACHE_MAX_MEMORY: '0',
    REDIS_KEY_PREFIX: PREFIX,
    REDIS_TIMEOUT_MS: String(TIMEOUT_MS),
  }
  const built = Date.now()
  if (!(process.env.NEXT_CACHE_TEST_REUSE_BUILD === '1' && fs.existsSync(path.join(FIXTURE, DIST, 'BUILD_ID')))) {
    fs.rmSync(path.join(FIXTURE, DIST), { recursive: true, force: true })
    await nextBuild(NEXT_BIN, { cwd: FIXTURE, env })
  }
  // Each instance its own disk tier, as on two machines: B runs a copy of the build.
  fs.rmSync(path.join(FIXTURE, DIST, 'cache', 'next-native'), { recursive: true, force: true })
  fs.rmSync(path.join(FIXTURE, DIST_B), { recursive: true, force: true })
  fs.cpSync(path.join(FIXTURE, DIST), path.join(FIXTURE, DIST_B), { recursive: true, filter: (src) => !src.startsWith(path.join(FIXTURE, DIST, 'cache')) })
  t.diagnostic(`next build: ${((Date.now() - built) / 1000).toFixed(1)} s`)

  const [portA, portB] = [await freePort(), await freePort()]
  ;[a, b] = await Promise.all([
    nextStart(NEXT_BIN, { cwd: FIXTURE, env: { ...env, REDIS_URL: proxyA.url }, port: portA }),
    nextStart(NEXT_BIN, { cwd: FIXTURE, env: { ...env, NEXT_DIST_DIR: DIST_B, REDIS_URL: proxyB.url }, port: portB }),
  ])
  // Every complete output line of both servers, from their start (not just the last 64 KiB).
  const lines = { A: [], B: [] }
  for (const [n, c] of [['A', a], ['B', b]]) {
    lines[n].push(...c.output.split('\n'))
    for (const stream of [c.stdout, c.stderr]) {
      let partial = ''
      stream.on('data', (chunk) => {
        const parts = (partial + chunk).split('\n')
        partial = parts.pop()
        lines[n].push(...parts)
      })
    }
  }

  const proxies = [proxyA, proxyB]
  const A = makeInstance('A', portA, a, run)
  const B = makeInstance('B', portB, b, run)
  const both = [A, B]
  const other = (inst) => (inst === A ? B : A)

  // Warm-up: every route compiled and cached once on each instance (first requests are slow).
  const home = await (await fetch(`http://127.0.0.1:${portA}/`)).text()
  run.controlPath = (home.match(/src="(\/_next\/static\/chunks\/[^"]+\.js)"/) || [])[1]
  assert.ok(run.controlPath, 'no static chunk in the home page for the control probe')
  for (const inst of both) for (const route of Object.keys(ROUTES)) await inst.request(route)
  for (const inst of both) await inst.request('/built', { id: newId() })
  workload = startWorkload(run, both, upstream)

  run.phase = 'baseline'
  const baselineFrom = run.log.length
  await sleep(3000)
  const baseline = run.log.slice(baselineFrom).filter((r) => r.ms !== undefined && !r.error)
  const baseP99 = percentile(baseline.map((r) => r.ms), 99)
  const baseControl = run.controls.filter((c) => c.phase === 'baseline').map((c) => c.ms)
  const BUDGET_MS = Math.min(TIMEOUT_MS + baseP99 + SLACK_MS, BUDGET_CAP_MS)
  t.diagnostic(
    `baseline (no fault): ${baseline.length} requests, p50 ${percentile(baseline.map((r) => r.ms), 50)} ms, p99 ${baseP99} ms, max ${Math.max(...baseline.map((r) => r.ms))} ms; control probe p99 ${percentile(baseControl, 99)} ms, max ${Math.max(0, ...baseControl)} ms; ` +
      `budget per request = min(timeout ${TIMEOUT_MS} + baseline p99 ${baseP99} + slack ${SLACK_MS}, cap ${BUDGET_CAP_MS}) = ${BUDGET_MS} ms`,
  )

  const matrix = []
  /** Output lines of both servers since the last call: those not allowed, and the tier's outage notices. */
  function readOutput() {
    const bad = []
    const notices = {}
    for (const n of ['A', 'B']) {
      const fresh = lines[n].splice(0)
      for (const l of fresh) if (!ALLOWED.some((re) => re.test(l))) bad.push(`${n}: ${l}`)
      notices[n] = { down: fresh.filter((l) => / Redis unavailable /.test(l)).length, up: fresh.filter((l) => / Redis reachable again$/.test(l)).length }
    }
    return { bad, notices }
  }

  /**
   * Polls both instances until each shows version `v` on every posts route and, for the
   * 'use cache' notes, an entry made after `notesAfter`; returns per instance { ms: since
   * `since`, at: start of the first request that showed it }.
   */
  async function converge(v, notesAfter, since) {
    const done = {}
    const deadline = since + CATCH_UP_MS
    while (Object.keys(done).length < 2) {
      for (const inst of both) {
        if (done[inst.name] !== undefined) continue
        const rs = await Promise.all(['/feed', '/posts', '/posts.rsc', '/api/stamp', '/notes'].map((r) => inst.request(r)))
        const ok = rs.every((r) => !r.error && (r.v === undefined || r.v === v) && (r.notesAt === undefined || (r.notesAt >= notesAfter && r.remoteAt >= notesAfter)))
        if (ok) done[inst.name] = { ms: Date.now() - since, at: Math.min(...rs.map((r) => r.start)) }
      }
      if (Object.keys(done).length === 2) break
      if (Date.now() > deadline) {
        const last = run.log.filter((r) => r.start > deadline - 1000 && r.v !== undefined).slice(-6).map((r) => `${r.inst} ${r.route} v${r.v}`)
        throw new Error(`instances did not converge on posts v${v} (and notes after ${notesAfter}) within ${CATCH_UP_MS} ms of the recovery; converged: ${JSON.stringify(done)}; last seen: ${last.join(', ')}`)
      }
      await sleep(100)
    }
    return done
  }

  /** A page written on `from` is read by `to` from Redis (same render), within CATCH_UP_MS. */
  async function sharedWrite(from, to, since) {
    const deadline = since + CATCH_UP_MS
    for (;;) {
      const id = newId()
      const w = await from.request('/built', { id })
      const r = await to.request('/built', { id })
      if (!w.error && !r.error && w.rendered === r.rendered) return Date.now() - since
      if (Date.now() > deadline) throw new Error(`${to.name} never served a page written on ${from.name} (from Redis) within ${CATCH_UP_MS} ms of the recovery`)
      await sleep(100)
    }
  }

  /**
   * One fault: `on()`, FAULT_MS of workload, then the revalidations to converge on, made with
   * the loops quiesced (so no render straddles them), ~700 ms more of workload, `off()`; then
   * the recovery checks. With X = `revalidator` and Y the other instance:
   *   1. the upstream moves to v-1, Y revalidates `posts` and reads /feed (its fetch entry: v-1);
   *   2. the upstream moves to v, X revalidates `posts`, Y revalidates the 'use cache' `notes`;
   *   3. Y renders /posts and /api/stamp, whose entries died in 1, from its fetch entry. When
   *      the fault keeps X's revalidation from Y, these are v-1 renders written after it:
   *      after the recovery Y must still converge on v, not keep them as fresh.
   */
  async function fault(name, { on, off, revalidator, what }) {
    run.phase = name
    const from = run.log.length
    const row = { fault: name, what, maxMs: 0, outcome: 'ok' }
    matrix.push(row)
    const problems = []
    const resetsBefore = proxies.reduce((n, p) => n + p.stats.resets, 0)
    const connectionsBefore = proxies.reduce((n, p) => n + p.stats.connections, 0)
    let offDone = false
    const turnOff = async () => {
      if (offDone) return
      offDone = true
      await off()
    }
    let v = 0
    let postsRev
    let converged = {}
    let onAt
    try {
      await on()
      onAt = Date.now()
      await sleep(FAULT_MS)
      run.revalidatorPaused = true
      await quiesce(run)
      const Y = other(revalidator)
      upstream.version++
      await Y.request('/api/revalidate', { method: 'POST', query: { tag: 'posts' } })
      await Y.request('/feed')
      v = ++upstream.version
      postsRev = await revalidator.request('/api/revalidate', { method: 'POST', query: { tag: 'posts' } })
      const notesRev = await Y.request('/api/revalidate', { method: 'POST', query: { tag: 'notes', profile: 'expire0' } })
      for (const route of ['/posts', '/posts.rsc', '/api/stamp']) await Y.request(route)
      run.paused = false
      await sleep(700)
      await turnOff()
      const offAt = Date.now()
      row.onFor = offAt - onAt
      run.phase = `${name} (recovery)`
      try {
        converged = await converge(v, notesRev.start, offAt)
        const shared = await Promise.all([sharedWrite(A, B, offAt), sharedWrite(B, A, offAt)])
        row.converged = `A ${converged.A.ms} ms, B ${converged.B.ms} ms; a write on one read from Redis by the other: ${Math.max(...shared)} ms`
      } catch (err) {
        problems.push(err.message)
      }
    } catch (err) {
      problems.push(`test error: ${err.stack}`)
    } finally {
      await turnOff().catch((err) => problems.push(`turning the fault off failed: ${err.message}`))
      run.paused = false
      run.revalidatorPaused = false
    }

    // Bounded waits, in the fault and during the recovery.
    const recs = run.log.slice(from)
    const timed = recs.filter((r) => r.ms !== undefined)
    row.maxMs = Math.max(0, ...timed.map((r) => r.ms))
    row.requests = timed.length
    row.p99 = percentile(timed.map((r) => r.ms), 99)
    row.slowest = [...timed].sort((x, y) => y.ms - x.ms).slice(0, 3).map((r) => `${r.inst} ${r.route} ${r.ms} ms${r.phase === name ? '' : ' (recovery)'}`).join(', ')
    const over = timed.filter((r) => r.ms > BUDGET_MS)
    const stalled = (r) => Math.max(0, ...run.controls.filter((c) => c.inst === r.inst && c.start < r.start + r.ms && c.start + c.ms > r.start).map((c) => c.ms))
    const slow = over.filter((r) => stalled(r) < r.ms - BUDGET_MS)
    row.excused = over.filter((r) => !slow.includes(r)).map((r) => `${r.inst} ${r.route} ${r.ms} ms (probe ${stalled(r)} ms)`)
    const controls = run.controls.filter((c) => c.start >= (recs[0] ? recs[0].start : 0))
    row.controlMax = Math.max(0, ...controls.map((c) => c.ms))
    const controlErrors = controls.filter((c) => c.error).map((c) => c.error)
    if (controlErrors.length) problems.push(`control probe failed: ${controlErrors.slice(0, 3).join(' | ')}`)
    if (slow.length) problems.push(`${slow.length} request(s) over ${BUDGET_MS} ms: ${slow.slice(0, 5).map((r) => `${r.inst} ${r.route} ${r.ms} ms (${r.phase})`).join(', ')}`)
    // Failed or corrupt responses.
    const errors = recs.filter((r) => r.error).map((r) => r.error)
    if (errors.length) problems.push(`${errors.length} failed/corrupt response(s): ${errors.slice(0, 5).join(' | ')}`)
    // Revalidated entries served as fresh: on the revalidating instance from the moment its
    // revalidation answered; on each instance once it has shown the new version everywhere.
    if (postsRev) {
      const onRevalidator = recs.filter((r) => r.inst === revalidator.name && r.start > postsRev.start + postsRev.ms && r.v !== undefined && r.v < v)
      if (onRevalidator.length) problems.push(`${revalidator.name} served posts older than v${v} after revalidating them: ${onRevalidator.slice(0, 3).map((r) => `${r.route} v${r.v}`).join(', ')}`)
      const afterConverging = recs.filter((r) => r.v !== undefined && converged[r.inst] && r.start >= converged[r.inst].at && r.v < v)
      if (afterConverging.length) problems.push(`served posts older than v${v} after converging: ${afterConverging.slice(0, 3).map((r) => `${r.inst} ${r.route} v${r.v}`).join(', ')}`)
    }
    // Crashes and unhandled rejections.
    const dead = both.filter((i) => i.child.exitCode !== null || i.child.signalCode !== null).map((i) => `${i.name} exited (${i.child.exitCode ?? i.child.signalCode})`)
    if (dead.length) problems.push(dead.join(', '))
    const { bad, notices } = readOutput()
    const resets = proxies.reduce((n, p) => n + p.stats.resets, 0) - resetsBefore
    const connections = proxies.reduce((n, p) => n + p.stats.connections, 0) - connectionsBefore
    row.happened = `fault on for ${((row.onFor ?? 0) / 1000).toFixed(1)} s; ${['A', 'B'].map((n) => `${n}: ${notices[n].down ? 'outage logged' : 'no outage logged'}${notices[n].up ? ', recovery logged' : ''}`).join('; ')}; ${resets} connection(s) reset, ${connections} (re)connection(s) through the proxies`
    if (bad.length) problems.push(`server output: ${bad.slice(0, 5).join(' | ')}`)

    row.outcome = problems.length ? problems.join('; ') : 'ok'
    const inFault = recs.filter((r) => r.phase === name).length
    t.diagnostic(`${name}: ${what}; ${row.happened}; ${inFault} requests in the fault, ${row.requests} with the recovery; max ${row.maxMs} ms, p99 ${row.p99} ms (slowest: ${row.slowest}; control probe max ${row.controlMax} ms${row.excused.length ? `; over budget but excused by a stalled probe: ${row.excused.join(', ')}` : ''}); converged: ${row.converged ?? '-'}; outcome: ${row.outcome}`)
    assert.equal(row.outcome, 'ok', `${name}: ${row.outcome}`)
  }

  const cleanAll = async () => proxies.forEach((p) => p.clear())

  // Before any fault: warm-up and baseline answered, intact, and the servers said nothing amiss.
  await t.test('no fault (warm-up and baseline)', () => {
    const problems = [...run.log.filter((r) => r.error).map((r) => r.error), ...readOutput().bad.map((l) => `server output: ${l}`)]
    assert.deepEqual(problems, [])
  })
  let resetTimer

  try {
    await t.test('latency above the timeout', () =>
      fault('latency 400 ms', {
        what: 'both proxies hold every reply 400 ms (timeout 150 ms)',
        on: async () => proxies.forEach((p) => p.latency(400)),
        off: cleanAll,
        revalidator: A,
      }),
    )

    await t.test('stalled link (proxy stops forwarding, nothing closed)', () =>
      fault('proxy stall', {
        what: 'both proxies stop forwarding without closing anything, then deliver what they held',
        on: async () => proxies.forEach((p) => p.stall()),
        off: cleanAll,
        revalidator: B,
      }),
    )

    await t.test('stalled server (SIGSTOP / SIGCONT)', () =>
      fault('SIGSTOP redis-server', {
        what: 'redis-server stopped by SIGSTOP, then SIGCONT',
        on: async () => process.kill(redis.child.pid, 'SIGSTOP'),
        off: async () => process.kill(redis.child.pid, 'SIGCONT'),
        revalidator: A,
      }),
    )

    await t.test('connections reset mid-command', () =>
      fault('resets mid-command', {
        what: 'every 100 ms a proxy cuts a reply or a request in half and sends RST (both proxies)',
        on: async () => {
          let n = 0
          resetTimer = setInterval(() => proxies[n % 2].armResets(1, n++ % 4 < 2 ? 'reply' : 'request'), 100)
        },
        off: async () => {
          clearInterval(resetTimer)
          await cleanAll()
        },
        revalidator: B,
      }),
    )

    await t.test('Redis restarted, all data lost', () =>
      fault('Redis restart (data lost)', {
        what: 'redis-server killed (SIGKILL), then started empty on the same port',
        on: () => redis.kill(),
        off: async () => {
          if (redis.child.exitCode !== null || redis.child.signalCode !== null) await redis.start()
        },
        revalidator: A,
      }),
    )

    await t.test('partition of one instance', () =>
      fault('partition A', {
        what: "A's proxy drops everything both ways (B unaffected); the heal resets A's connections onto a link that stays slow (400 ms) 1.5 s more",
        on: async () => proxyA.partition(),
        off: async () => {
          proxyA.heal()
          proxyA.latency(400)
          await sleep(1500)
          proxyA.clear()
        },
        revalidator: A,
      }),
    )
  } finally {
    await workload.stop()
    workload = null
    t.diagnostic('fault matrix: | fault | what happened | max latency (p99) | outcome |')
    for (const r of matrix) t.diagnostic(`| ${r.fault} | ${r.what}; ${r.happened}; converged ${r.converged ?? '-'} | ${r.maxMs} ms (${r.p99 ?? '-'} ms) | ${r.outcome} |`)
    t.diagnostic(`budget ${BUDGET_MS} ms; total run time ${((Date.now() - testStarted) / 1000).toFixed(1)} s`)
    if (process.env.FAULTS_TEST_LOG) fs.writeFileSync(process.env.FAULTS_TEST_LOG, JSON.stringify(run.log))
  }
})
