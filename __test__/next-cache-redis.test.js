'use strict'

// End-to-end proof for the Redis tier: the fixture app (fixtures/cache-app) is built once
// with @rs/next-native's handlers and started twice (`next start` on two ports), both
// instances sharing one real redis-server through REDIS_URL. Revalidations made on A must
// reach B; killing Redis must not break either instance; after Redis comes back,
// invalidation must work again.
//
// Knob: NEXT_CACHE_TEST_REUSE_BUILD=1 reuses an existing .next-redis build (development only).

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { startRedis, redisServerBinary } = require('./fixtures/redis-server')
const { freePort, killGroup, nextBuild, nextStart, sleep } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'cache-app')
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const DIST = '.next-redis'
const ISR_SECONDS = 3 // app/isr/page.js
// "B serves fresh content within 1 s": the first request B starts at most this long after
// A's revalidation answered must show the fresh content.
const PROPAGATION_MS = 1000

const skip = !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)'

function startUpstream() {
  const state = { version: 1, hits: 0 }
  const server = http.createServer((req, res) => {
    if (req.url === '/posts') {
      state.hits++
      res.end(`posts-v${state.version}`)
    } else {
      res.statusCode = 404
      res.end()
    }
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.url = `http://127.0.0.1:${server.address().port}`
      state.close = () => new Promise((r) => server.close(r))
      resolve(state)
    })
  })
}

const field = (html, id) => (html.match(new RegExp(`<p id="${id}">([^<]*)</p>`)) || [])[1]

function client(name, port) {
  const base = `http://127.0.0.1:${port}`
  async function request(pathname, init = {}) {
    const started = Date.now()
    const res = await fetch(base + pathname, { signal: AbortSignal.timeout(30_000), ...init })
    const body = await res.text()
    assert.equal(res.status, 200, `${name}: ${init.method || 'GET'} ${pathname} -> ${res.status}: ${body.slice(0, 500)}`)
    return { res, body, started, ms: Date.now() - started }
  }
  return {
    name,
    request,
    async get(pathname) {
      const { res, body, started, ms } = await request(pathname)
      return { cache: res.headers.get('x-nextjs-cache'), rendered: Number(field(body, 'rendered')), posts: field(body, 'posts'), notes: field(body, 'notes'), remote: field(body, 'remote'), started, ms }
    },
    async revalidate(query) {
      await request(`/api/revalidate?${new URLSearchParams(query)}`, { method: 'POST' })
      return Date.now()
    },
  }
}

async function until(what, probe, done, { timeoutMs = 15_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs
  const seen = []
  for (;;) {
    const r = await probe()
    if (done(r)) return r
    seen.push(r)
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(seen.slice(-3))}`)
    await sleep(intervalMs)
  }
}

/** Polls B until `fresh`; the first fresh answer must come from a request started within PROPAGATION_MS. */
async function freshWithin(what, since, probe, fresh) {
  const r = await until(what, probe, fresh, { timeoutMs: PROPAGATION_MS + 15_000, intervalMs: 50 })
  assert.ok(r.started - since <= PROPAGATION_MS, `${what}: first fresh answer came from a request started ${r.started - since} ms after the revalidation`)
  return r
}

test('two next start instances share one Redis', { skip, timeout: 8 * 60_000 }, async (t) => {
  const upstream = await startUpstream()
  const redis = await startRedis()
  let a, b
  t.after(async () => {
    await Promise.all([killGroup(a), killGroup(b)])
    await redis.stop()
    await upstream.close()
  })

  const { REDIS_URL, CACHE_HANDLER, CACHE_MAX_MEMORY, ...inherited } = process.env
  const env = {
    ...inherited,
    NEXT_TELEMETRY_DISABLED: '1',
    NEXT_DIST_DIR: DIST,
    UPSTREAM_URL: upstream.url,
    NEXT_NATIVE_ROOT: ROOT,
    CACHE_HANDLER: 'native',
    // The strict configuration: Next's own in-process tags manifest off, so only the
    // handlers can make revalidations work.
    CACHE_MAX_MEMORY: '0',
    REDIS_KEY_PREFIX: 'nn-e2e:',
  }
  // Built without REDIS_URL: the handlers never touch Redis during `next build` anyway.
  const started = Date.now()
  if (!(process.env.NEXT_CACHE_TEST_REUSE_BUILD === '1' && fs.existsSync(path.join(FIXTURE, DIST, 'BUILD_ID')))) {
    fs.rmSync(path.join(FIXTURE, DIST), { recursive: true, force: true })
    await nextBuild(NEXT_BIN, { cwd: FIXTURE, env })
  }
  t.diagnostic(`next build: ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const [portA, portB] = [await freePort(), await freePort()]
  const runEnv = { ...env, REDIS_URL: redis.url }
  ;[a, b] = await Promise.all([nextStart(NEXT_BIN, { cwd: FIXTURE, env: runEnv, port: portA }), nextStart(NEXT_BIN, { cwd: FIXTURE, env: runEnv, port: portB })])
  const A = client('A', portA)
  const B = client('B', portB)

  try {
    await t.test('a page rendered on A is served by B from Redis', async () => {
      const onA = await until('cached /posts on A', () => A.get('/posts'), (r) => r.cache === 'HIT')
      const onB = await B.get('/posts')
      assert.equal(onB.rendered, onA.rendered, 'B re-rendered /posts instead of reading it from Redis')
      assert.equal(onB.cache, 'HIT')
    })

    await t.test('revalidateTag on A: B serves fresh content within 1 s', async () => {
      const before = await until('cached /posts on B', () => B.get('/posts'), (r) => r.cache === 'HIT')
      await B.get('/feed') // B's fetch entry is now in its own store too
      upstream.version++
      const at = await A.revalidate({ tag: 'posts' })
      const want = `posts-v${upstream.version}`
      const fresh = await freshWithin('B /posts after revalidateTag on A', at, () => B.get('/posts'), (r) => r.posts === want)
      assert.ok(fresh.rendered > before.rendered)
      await freshWithin('B /feed after revalidateTag on A', at, () => B.get('/feed'), (r) => r.posts === want)
    })

    await t.test('revalidatePath on A: B re-renders the page within 1 s', async () => {
      const before = await until('fresh cached /isr on B', () => B.get('/isr'), (r) => r.cache === 'HIT' && Date.now() - r.rendered < (ISR_SECONDS - 2) * 1000, { timeoutMs: 20_000 })
      const at = await A.revalidate({ path: '/isr' })
      // Within /isr's 3 s period, a different render can only come from the revalidation.
      const after = await freshWithin('B /isr after revalidatePath on A', at, () => B.get('/isr'), (r) => r.rendered > before.rendered)
      assert.ok(after.rendered - before.rendered < ISR_SECONDS * 1000 || ['MISS', 'REVALIDATED'].includes(after.cache), `x-nextjs-cache: ${after.cache}`)
    })

    await t.test("'use cache': an entry made on A is served on B; revalidateTag('notes') on A reaches B", async () => {
      const onA = await A.get('/notes')
      const onB = await B.get('/notes')
      assert.equal(onB.notes, onA.notes, "B did not get A's 'use cache' entry from Redis")
      assert.equal(onB.remote, onA.remote, "B did not get A's 'use cache: remote' entry from Redis")
      const at = await A.revalidate({ tag: 'notes', profile: 'expire0' })
      const fresh = await freshWithin("B /notes after revalidateTag('notes') on A", at, () => B.get('/notes'), (r) => r.notes !== onA.notes && r.remote !== onA.remote)
      assert.equal((await B.get('/notes')).notes, fresh.notes)
    })

    await t.test('Redis killed: both instances keep answering 200', async () => {
      await redis.kill()
      for (const inst of [A, B]) {
        for (const p of ['/', '/posts', '/feed', '/notes', '/isr', '/api/stamp']) {
          const { ms } = await inst.request(p)
          assert.ok(ms < 10_000, `${inst.name} ${p} took ${ms} ms with Redis down`)
        }
      }
      upstream.version++
      await A.revalidate({ tag: 'posts' }) // local on A; queued for Redis
      assert.equal((await A.get('/feed')).posts, `posts-v${upstream.version}`)
      for (const inst of [A, B]) assert.equal((await inst.request('/notes')).res.status, 200)
      const warnings = a.output.split('\n').filter((l) => /Redis unavailable/.test(l))
      assert.ok(warnings.length >= 1 && warnings.length <= 2, `A logged the outage ${warnings.length} times:\n${a.output.slice(-3000)}`)
    })

    await t.test('Redis restarted: invalidation across instances works again', async () => {
      await redis.start()
      // Both instances resubscribe (reconnect backoff is capped at 2 s).
      const Redis = require('ioredis')
      const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 })
      admin.on('error', () => {})
      try {
        await until('A and B subscribed again', async () => (await admin.pubsub('NUMSUB', 'nn-e2e:tags'))[1], (n) => n >= 2, { timeoutMs: 15_000 })
      } finally {
        admin.disconnect()
      }
      // The revalidation A made while Redis was down reached B through the catch-up.
      await until('B sees the revalidation made during the outage', () => B.get('/feed'), (r) => r.posts === `posts-v${upstream.version}`, { timeoutMs: 5000 })

      await until('cached /posts on B', () => B.get('/posts'), (r) => r.cache === 'HIT')
      upstream.version++
      const at = await A.revalidate({ tag: 'posts' })
      await freshWithin('B /posts after revalidateTag on A (after the restart)', at, () => B.get('/posts'), (r) => r.posts === `posts-v${upstream.version}`)
    })
  } finally {
    for (const [n, c] of [['A', a], ['B', b]]) {
      const lines = c.output.split('\n').filter((l) => /error|⨯|warn|fail|redis/i.test(l))
      if (lines.length) t.diagnostic(`${n} output:\n${lines.slice(-20).join('\n')}`)
    }
  }
})
