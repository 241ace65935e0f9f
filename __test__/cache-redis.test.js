'use strict'

// The Redis tier (lib/cache-redis.js) with a real redis-server and two "instances": two
// processes, each with its own in-process store and both handlers, sharing one Redis.
// Latency bounds here are loose on purpose (a loaded 2-core CI machine); the benchmark
// measures the real numbers.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, fork, spawnSync } = require('node:child_process')
const path = require('node:path')
const fs = require('node:fs')
const os = require('node:os')
const { startRedis, redisServerBinary, sleep } = require('./fixtures/redis-server')

const INSTANCE = path.join(__dirname, 'fixtures', 'redis-instance.js')
const PREFIX = 'nn-test:'
const skip = !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)'

function startInstance(redisUrl, env = {}) {
  const child = fork(INSTANCE, [], {
    env: { ...process.env, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: PREFIX, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  child.output = ''
  child.stdout.on('data', (c) => (child.output += c))
  child.stderr.on('data', (c) => (child.output += c))
  child.exited = new Promise((r) => child.once('exit', r))
  let next = 0
  const waiting = new Map()
  child.on('message', (msg) => {
    if (msg.ready) return child.emit('instance-ready')
    const w = waiting.get(msg.id)
    if (!w) return
    waiting.delete(msg.id)
    msg.error ? w.reject(new Error(msg.error)) : w.resolve(msg.result)
  })
  child.call = (op, ...args) =>
    new Promise((resolve, reject) => {
      const id = next++
      const timer = setTimeout(() => {
        waiting.delete(id)
        reject(new Error(`${op} did not answer within 10 s; output:\n${child.output}`))
      }, 10_000)
      waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
      child.send({ id, op, args })
    })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start: ${child.output}`)), 10_000)
    child.once('instance-ready', () => {
      clearTimeout(timer)
      resolve(child)
    })
    child.once('exit', (code) => reject(new Error(`instance exited ${code}: ${child.output}`)))
  })
}

async function stopInstance(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGKILL')
  await Promise.race([child.exited, sleep(5000)])
}

async function until(what, probe, done, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await probe()
    if (done(last)) return last
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
    await sleep(10)
  }
}

const buf = (s) => ({ $buf: Buffer.from(s).toString('base64') })
const page = (html) => ({
  kind: 'APP_PAGE',
  html,
  rscData: buf(`rsc:${html}`),
  segmentData: { $map: [['/_tree', buf('tree')], ['/__PAGE__', buf(`seg:${html}`)]] },
  headers: { 'x-next-cache-tags': 'posts,_N_T_/posts' },
  status: 200,
  postponed: { $undef: 1 },
})

test('without Redis configured, requiring the handlers does not load the client', () => {
  const env = { ...process.env }
  delete env.REDIS_URL
  const res = spawnSync(
    process.execPath,
    ['-e', `require('./lib/cache-handler'); require('./lib/cache-handlers'); const H = require('./lib/cache-handler'); new H({}); console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /ioredis|cache-redis/.test(k))))`],
    { cwd: path.join(__dirname, '..'), env, encoding: 'utf8' },
  )
  assert.equal(res.status, 0, res.stderr)
  assert.deepEqual(JSON.parse(res.stdout), [])
})

test('Redis tier: two instances, one Redis', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startRedis()
  const Redis = require('ioredis')
  const admin = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200 })
  admin.on('error', () => {})
  let a, b
  t.after(async () => {
    await Promise.all([stopInstance(a), stopInstance(b)])
    admin.disconnect()
    await redis.stop()
  })
  await admin.connect()
  ;[a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)])
  await Promise.all([a.call('ready'), b.call('ready')])

  await t.test('an entry set on A is served by B from Redis, Buffers and Maps intact', async () => {
    await a.call('set', '/posts', page('<p>v1</p>'), { cacheControl: { revalidate: 60, expire: 600 } })
    const { hit } = await b.call('get', '/posts', { kind: 'APP_PAGE' })
    assert.ok(hit, 'B missed an entry A stored')
    assert.equal(hit.value.html, '<p>v1</p>')
    assert.deepEqual(hit.value.rscData, buf('rsc:<p>v1</p>'))
    assert.deepEqual(hit.value.segmentData, { $map: [['/_tree', buf('tree')], ['/__PAGE__', buf('seg:<p>v1</p>')]] })
    assert.deepEqual(hit.value.postponed, { $undef: 1 }, 'an undefined field lost its key')
    assert.deepEqual(hit.cacheControl, { revalidate: 60, expire: 600 })
  })

  await t.test("Redis keys carry a TTL from the entry's expire (capped at maxTtl without one)", async () => {
    const pttl = await admin.pttl(`${PREFIX}e{}:i:/posts`)
    assert.ok(pttl > 590_000 && pttl <= 600_000, `PTTL ${pttl}`)
    await a.call('set', '/forever', page('x'), {})
    const forever = await admin.pttl(`${PREFIX}e{}:i:/forever`)
    assert.ok(forever > 29 * 86400_000 && forever <= 30 * 86400_000, `PTTL without expire: ${forever}`)
    // 'use cache' entries: timestamp + expire.
    const ts = Date.now()
    await a.call('ucSet', 'uc-ttl', 'x', { tags: [], stale: 30, timestamp: ts, expire: 120, revalidate: 60 })
    const uc = await admin.pttl(`${PREFIX}e{}:u:uc-ttl`)
    assert.ok(uc > 110_000 && uc <= 120_000, `'use cache' PTTL ${uc}`)
  })

  await t.test('revalidateTag on A drops the entry on B (pub/sub), well under 1 s', async () => {
    await a.call('set', '/feed', page('feed-v1'), { cacheControl: { revalidate: 60, expire: 600 } })
    assert.ok((await b.call('get', '/feed', { kind: 'APP_PAGE' })).hit, 'B should hold /feed (now in its own store)')
    await sleep(5)
    const { at } = await a.call('revalidateTag', ['posts'])
    await until('B drops /feed', () => b.call('get', '/feed', { kind: 'APP_PAGE' }), (r) => r.hit === null, 1000)
    const applied = (await b.call('stateTimes')).find(([, tags]) => tags.includes('posts'))
    assert.ok(applied, 'B never received the posts invalidation')
    t.diagnostic(`propagation A -> B: ${(applied[0] - at).toFixed(2)} ms`)
    assert.ok(applied[0] - at < 1000)
  })

  await t.test('an entry regenerated on A after the revalidation is served on B again', async () => {
    await sleep(5)
    await a.call('set', '/feed', page('feed-v2'), { cacheControl: { revalidate: 60, expire: 600 } })
    const { hit } = await b.call('get', '/feed', { kind: 'APP_PAGE' })
    assert.equal(hit && hit.value.html, 'feed-v2')
  })

  await t.test("'use cache': updateTags on A, refreshTags + get on B", async () => {
    const ts = Date.now() - 10
    await a.call('ucSet', 'notes', 'notes-1', { tags: ['notes'], stale: 30, timestamp: ts, expire: 600, revalidate: 300 })
    assert.equal((await b.call('ucGet', 'notes')).value, 'notes-1')
    await a.call('ucUpdateTags', ['notes'])
    // refreshTags pulls: no waiting for pub/sub needed.
    assert.equal(await b.call('ucGet', 'notes'), null, "B served a 'use cache' entry A invalidated")
    assert.ok((await b.call('getExpiration', ['notes'])) >= ts)
  })

  await t.test('newer wins: an older regeneration finishing later does not replace a newer value', async () => {
    const t1 = Date.now() - 1000
    const t2 = Date.now() - 500
    await a.call('ucSet', 'race', 'newer', { tags: [], stale: 30, timestamp: t2, expire: 600, revalidate: 300 })
    await b.call('ucSet', 'race', 'older', { tags: [], stale: 30, timestamp: t1, expire: 600, revalidate: 300 })
    const [m, v] = await admin.hmgetBuffer(`${PREFIX}e{}:u:race`, 'm', 'v')
    assert.equal(Number(m), t2)
    assert.ok(v.includes(Buffer.from('newer')) && !v.includes(Buffer.from('older')))
    // A third instance, empty store, reads Redis: the newer value.
    const c = await startInstance(redis.url)
    try {
      await c.call('ready')
      assert.equal((await c.call('ucGet', 'race')).value, 'newer')
    } finally {
      await stopInstance(c)
    }
  })

  await t.test('catch-up: B misses a message while disconnected, then applies it on reconnect', async () => {
    await a.call('set', '/missed', { kind: 'FETCH', data: { body: 'x', headers: {}, url: 'u' }, revalidate: 60, tags: ['missed'] }, { kind: 'FETCH', tags: ['missed'] })
    assert.ok((await b.call('get', '/missed', { kind: 'FETCH', tags: ['missed'] })).hit)
    await b.call('disconnect')
    await sleep(50)
    await a.call('revalidateTag', ['missed'])
    await sleep(100)
    // Still disconnected: B serves from its own store (and cannot know better).
    assert.ok((await b.call('get', '/missed', { kind: 'FETCH', tags: ['missed'] })).hit)
    assert.equal((await b.call('stateTimes')).filter(([, tags]) => tags.includes('missed')).length, 0)
    await b.call('reconnect')
    // No pull is asked for here: the reconnect itself must bring the missed record in.
    await until('B applies the missed invalidation', () => b.call('stateTimes'), (r) => r.some(([, tags]) => tags.includes('missed')), 2000)
    const { hit } = await b.call('get', '/missed', { kind: 'FETCH', tags: ['missed'] })
    assert.equal(hit, null, 'B did not catch up on the invalidation it missed')
  })

  await t.test('Redis slow: a get waits at most the timeout, then serves a miss', async () => {
    await a.call('set', '/slow', page('slow'), { cacheControl: { revalidate: 60, expire: 600 } })
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL')
    const { hit, ms } = await b.call('get', '/slow', { kind: 'APP_PAGE' })
    assert.equal(hit, null)
    assert.ok(ms < 700, `a get waited ${ms} ms on a paused Redis (timeout 150 ms)`)
    t.diagnostic(`get against a paused Redis: ${ms.toFixed(0)} ms`)
    await sleep(1600) // pause over, cool-down over
    await until('B reads Redis again', () => b.call('get', '/slow', { kind: 'APP_PAGE' }), (r) => r.hit !== null, 3000)
  })

  await t.test('Redis down: misses and regenerations, no throw, bounded waits, one log line; back up: works again', async () => {
    await a.call('set', '/local', page('local'), { cacheControl: { revalidate: 60, expire: 600 } })
    const health = await b.call('health')
    assert.ok(health.healthy, `B should be healthy before the outage: ${JSON.stringify(health)}\n${b.output}`)
    const before = b.output
    await redis.kill()
    for (let i = 0; i < 20; i++) {
      const { hit, ms } = await b.call('get', `/nowhere-${i}`, { kind: 'APP_PAGE' })
      assert.equal(hit, null)
      assert.ok(ms < 1000, `a get waited ${ms} ms with Redis down`)
      await b.call('set', `/nowhere-${i}`, page('regen'), {})
      await b.call('revalidateTag', [`t${i}`])
      await b.call('ucGet', 'notes')
    }
    // A still serves what it holds in its own store.
    assert.equal((await a.call('get', '/local', { kind: 'APP_PAGE' })).hit.value.html, 'local')
    // stderr and IPC are separate pipes: give the log line a bounded moment to arrive.
    const logged = () => b.output.slice(before.length).split('\n').filter((l) => /Redis unavailable/.test(l)).length
    await until('the outage logged', async () => logged(), (n) => n >= 1, 2000)
    for (let i = 0; i < 10; i++) await b.call('get', `/nowhere-again-${i}`, { kind: 'APP_PAGE' })
    await sleep(300)
    assert.equal(logged(), 1, `expected one log line, got:\n${b.output.slice(before.length)}`)
    assert.doesNotMatch(b.output, /Unhandled error event/)

    // B revalidated 'downtag' while Redis was away: it reaches A once Redis is back.
    await b.call('set', '/down', page('down'), { cacheControl: { revalidate: 60, expire: 600 } })
    await a.call('set', '/down', page('down-a'), { cacheControl: { revalidate: 60, expire: 600 } })
    await sleep(5)
    await b.call('revalidateTag', ['posts'])
    await redis.start()
    await Promise.all([a.call('ready'), b.call('ready')])
    await until('A learns the invalidation queued on B during the outage', () => a.call('get', '/down', { kind: 'APP_PAGE' }), (r) => r.hit === null, 3000)
    assert.match(b.output, /Redis reachable again/)

    // And live invalidation works again.
    await a.call('set', '/again', page('again'), { cacheControl: { revalidate: 60, expire: 600 } })
    assert.ok((await b.call('get', '/again', { kind: 'APP_PAGE' })).hit)
    await sleep(5)
    await a.call('revalidateTag', ['posts'])
    await until('B drops /again after the restart', () => b.call('get', '/again', { kind: 'APP_PAGE' }), (r) => r.hit === null, 1000)
  })

  await Promise.all([a.call('close').catch(() => {}), b.call('close').catch(() => {})])
})

test('Redis tier across builds: pages per build ID, fetch data shared; shareAcrossBuilds shares pages too', { skip, timeout: 120_000 }, async (t) => {
  const redis = await startRedis()
  const dists = []
  const started = []
  // Each instance gets a dist dir of its own (so its own disk tier: what it serves from
  // another instance can only have come through Redis), holding the given BUILD_ID.
  const start = async (buildId, env = {}) => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-dist-'))
    dists.push(dist)
    fs.mkdirSync(path.join(dist, 'server'))
    fs.writeFileSync(path.join(dist, 'BUILD_ID'), buildId)
    const inst = await startInstance(redis.url, { TEST_DIST_DIR: dist, ...env })
    started.push(inst)
    await inst.call('ready')
    return inst
  }
  t.after(async () => {
    await Promise.all(started.map(stopInstance))
    await redis.stop()
    for (const d of dists) fs.rmSync(d, { recursive: true, force: true })
  })
  const [x, y] = ['buildaaaaaaaaaaaaaaaaaaaaaa', 'buildbbbbbbbbbbbbbbbbbbbbbb']
  const fetchEntry = { kind: 'FETCH', data: { body: 'eA==', headers: {}, url: 'u' }, revalidate: 60, tags: ['f'] }
  const a = await start(x)
  await a.call('set', '/page', page('<p>build a</p>'), { cacheControl: { revalidate: 60, expire: 600 } })
  await a.call('set', 'fetch-key', fetchEntry, { kind: 'FETCH', tags: ['f'] })

  await t.test('another instance of the same build is served the page from Redis', async () => {
    const same = await start(x)
    const { hit } = await same.call('get', '/page', { kind: 'APP_PAGE' })
    assert.equal(hit?.value.html, '<p>build a</p>')
  })
  await t.test("an instance of another build never gets that build's page, but shares fetch data", async () => {
    const other = await start(y)
    assert.equal((await other.call('get', '/page', { kind: 'APP_PAGE' })).hit, null)
    const { hit } = await other.call('get', 'fetch-key', { kind: 'FETCH', tags: ['f'] })
    assert.equal(hit?.value.data.body, 'eA==')
  })
  await t.test('REDIS_SHARE_ACROSS_BUILDS=1: pages are shared between builds too', async () => {
    const p = await start(x, { REDIS_SHARE_ACROSS_BUILDS: '1' })
    await p.call('set', '/shared-page', page('<p>any build</p>'), { cacheControl: { revalidate: 60, expire: 600 } })
    const q = await start(y, { REDIS_SHARE_ACROSS_BUILDS: '1' })
    assert.equal((await q.call('get', '/shared-page', { kind: 'APP_PAGE' })).hit?.value.html, '<p>any build</p>')
  })
})

test("a fresh instance's very first set reaches Redis (it waits for the first connection, bounded)", { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const handler = JSON.stringify(require.resolve('../lib/cache-handler.js'))
  const child = (body) =>
    execFileSync(process.execPath, ['-e', `const H = require(${handler}); (async () => { ${body}; await H.disconnect() })()`], {
      env: { ...process.env, REDIS_URL: redis.url },
      encoding: 'utf8',
    })
  // No waiting for the connection: the set runs while the client is still connecting.
  child(`await new H({}).set('first', { kind: 'FETCH', data: { headers: {}, body: 'eA==', url: 'u' }, revalidate: 60 }, { fetchCache: true, tags: ['t'] })`)
  const out = child(`const g = await new H({}).get('first', { kind: 'FETCH', tags: ['t'], softTags: [] }); process.stdout.write(String(g && g.value.data.body))`)
  assert.equal(out, 'eA==')
})

test('a page entry key holding a foreign type (WRONGTYPE) is a miss, not an outage: the tier keeps using Redis', { skip, timeout: 60_000 }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const { RedisTier, resolveConfig } = require('../lib/cache-redis.js')
  const lines = []
  const tier = new RedisTier(resolveConfig({ url: redis.url, keyPrefix: 'nn-wrongtype:', timeout: 1000 }), { onStates() {}, localStates: () => [], log: (m) => lines.push(m) })
  t.after(() => tier.close())
  const Redis = require('ioredis')
  const raw = new Redis(redis.url)
  t.after(() => raw.disconnect())
  await raw.set(`${tier.entryPrefix}foreign`, 'a string where a hash belongs')
  const now = Date.now()
  assert.equal(await tier.get('foreign'), null)
  assert.equal(tier.healthy, true)
  assert.equal(tier.available, true, 'no cool-down after an answer')
  // The very next calls still use Redis.
  assert.equal(await tier.set('page', Buffer.from('v'), [], now, null, now), true)
  assert.deepEqual((await tier.get('page')).value, Buffer.from('v'))
  assert.equal(lines.filter((l) => /Redis unavailable/.test(l)).length, 0, lines.join('\n'))
  assert.equal(lines.filter((l) => /WRONGTYPE/.test(l)).length, 1, lines.join('\n'))
})
