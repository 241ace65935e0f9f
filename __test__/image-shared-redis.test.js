'use strict'

// The image handler's shared tier (lib/image/shared-tier.js, issue #17): two
// createImageHandler instances in this process, each with its own disk cache, sharing one
// throwaway redis-server. Optimizations are counted with `handler.stats().transforms`.
// Cases: a shared hit, concurrent requests optimized once, a dead lease holder, Redis down
// or slow, corrupt and truncated entries written by hand, an over-cap image, the options,
// and `next-native image serve` with REDIS_URL.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { startRedis, redisServerBinary, freePort } = require('./fixtures/redis-server')
const { startFaultProxy } = require('./fixtures/fault-proxy')

const native = require('../index.js')
const { createImageHandler } = require('../lib/image-handler.js')
const { SharedTier, decode, encode } = require('../lib/image/shared-tier.js')

const ROOT = path.join(__dirname, '..')
const PUBLIC = path.join(__dirname, 'fixtures', 'image-app', 'public')
const skip = !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)'
const silent = { error() {}, warn() {} }

const tmpDirs = []
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-image-redis-'))
  tmpDirs.push(dir)
  return dir
}

let redis
let raw // an ioredis client for looking at (and damaging) entries by hand
let prefixes = 0
const handlers = []

test.before(async () => {
  if (skip) return
  redis = await startRedis()
  const Redis = require('ioredis')
  raw = new Redis(redis.url)
})
test.after(async () => {
  await Promise.allSettled(handlers.map((h) => h.close()))
  raw?.disconnect()
  await redis?.stop()
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A fresh key prefix per test, so tests never see each other's entries. */
const freshPrefix = () => `nn-img-test-${process.pid}-${prefixes++}:`

function instance(redisOptions, extra = {}) {
  const h = createImageHandler({ publicDir: PUBLIC, cacheDir: tmpDir(), logger: silent, redis: redisOptions, ...extra })
  handlers.push(h)
  return h
}

/** Two instances (own disk caches) on one Redis. */
function pair(options = {}) {
  const keyPrefix = freshPrefix()
  const redisOptions = { url: redis.url, keyPrefix, ...options }
  return { a: instance(redisOptions), b: instance(redisOptions), keyPrefix, redisOptions }
}

async function get(handler, search, accept = 'image/webp') {
  const t0 = performance.now()
  const res = await handler.handle('GET', search, (name) => (name === 'accept' ? accept : null))
  const headers = Object.fromEntries(res.headers.map(([k, v]) => [k.toLowerCase(), v]))
  return { status: res.status, headers, body: res.body, ms: performance.now() - t0 }
}

async function imageKeys(keyPrefix) {
  return (await raw.keys(`${keyPrefix}img:*`)).sort()
}

/** Waits (bounded) for the handlers' background stores and lease releases, which follow their responses. */
async function settled(...hs) {
  const deadline = Date.now() + 10_000
  while (hs.some((h) => h.stats().redis.publishing > 0)) {
    assert.ok(Date.now() < deadline, 'background stores still running after 10 s')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** The shared key of a local image, computed as the handler does. */
function sharedKey(redisOptions, { href, width, quality = 75, mimeType = 'image/webp' }) {
  const tier = new SharedTier({ timeout: 150, keyPrefix: redisOptions.keyPrefix, url: redis.url, maxTtl: 60, maxEntryBytes: 1, leaseTtl: 1, waitTimeout: 0 }, silent)
  const key = tier.keyFor({ href, width, quality, mimeType }, fs.readFileSync(path.join(PUBLIC, href.slice(1))))
  tier.close()
  return key
}

test('shared hit: B serves the bytes A optimized, without optimizing', { skip }, async () => {
  const { a, b, keyPrefix } = pair()
  const first = await get(a, '?url=/photo.jpg&w=64&q=75')
  assert.equal(first.status, 200)
  assert.equal(first.headers['x-nextjs-cache'], 'MISS')
  assert.equal(a.stats().transforms, 1)
  const meta = await native.imageMetadata(first.body)
  assert.equal(meta.format, 'webp')
  assert.equal(meta.width, 64)
  // One entry, no lease left behind (both written after the response).
  await settled(a)
  const keys = await imageKeys(keyPrefix)
  assert.equal(keys.length, 1, keys.join(', '))
  assert.ok(!keys[0].endsWith(':lease'))
  assert.ok(decode(await raw.getBuffer(keys[0])))

  const second = await get(b, '?url=/photo.jpg&w=64&q=75')
  assert.equal(second.status, 200)
  assert.equal(second.headers['x-nextjs-cache'], 'HIT')
  assert.equal(b.stats().transforms, 0, 'B did not optimize')
  assert.deepEqual(second.body, first.body)
  assert.equal(second.headers.etag, first.headers.etag)
  assert.equal(second.headers['content-type'], 'image/webp')
  assert.equal(b.stats().redis.hits, 1)

  // Now on B's disk: served from there without asking Redis.
  const third = await get(b, '?url=/photo.jpg&w=64&q=75')
  assert.equal(third.headers['x-nextjs-cache'], 'HIT')
  assert.equal(b.stats().redis.hits, 1)
  assert.equal(b.stats().redis.misses, 0)
})

test('tiers: process memory, then disk, then Redis', { skip }, async () => {
  const { a, b } = pair()
  const first = await get(a, '?url=/photo.jpg&w=64&q=75')
  assert.equal(a.config.maximumMemoryCacheSize, 64 * 1024 * 1024, 'on by default with Redis')
  assert.equal(a.stats().memory.entries, 1)
  // Gone from disk: still served from memory, by A alone.
  fs.rmSync(a.config.cacheDir, { recursive: true, force: true })
  const again = await get(a, '?url=/photo.jpg&w=64&q=75')
  assert.equal(again.headers['x-nextjs-cache'], 'HIT')
  assert.deepEqual(again.body, first.body)
  assert.equal(a.stats().memory.hits, 1)
  assert.equal(a.stats().redis.hits + a.stats().redis.misses, 1, 'Redis asked once, for the first request')
  // B: Redis, then its memory.
  await get(b, '?url=/photo.jpg&w=64&q=75')
  assert.equal((await get(b, '?url=/photo.jpg&w=64&q=75')).headers['x-nextjs-cache'], 'HIT')
  assert.equal(b.stats().memory.hits, 1)
  assert.equal(b.stats().redis.hits, 1)
  assert.equal(a.stats().transforms + b.stats().transforms, 1)
  // Without Redis the memory tier is off unless asked for: nothing changes.
  const plain = createImageHandler({ publicDir: PUBLIC, cacheDir: tmpDir(), logger: silent, redis: false })
  assert.equal(plain.config.maximumMemoryCacheSize, 0)
  assert.equal(plain.stats().redis, null)
  const small = createImageHandler({ publicDir: PUBLIC, cacheDir: tmpDir(), logger: silent, redis: false, maximumMemoryCacheSize: 8 * 1024 })
  await get(small, '?url=/photo.jpg&w=64&q=75') // about 0.5 KB: kept
  await get(small, '?url=/photo.jpg&w=384&q=75') // about 4.6 KB, over an eighth of 8 KiB: not kept
  assert.equal(small.stats().memory.entries, 1)
  assert.throws(() => createImageHandler({ publicDir: PUBLIC, maximumMemoryCacheSize: -1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /maximumMemoryCacheSize must be an integer from 0/ })
})

test('keys: width, quality, format, source bytes and optimizer version all change the key; replicas agree', { skip }, async () => {
  const { a, b, keyPrefix, redisOptions } = pair()
  await get(a, '?url=/photo.jpg&w=64&q=75')
  await get(b, '?url=/photo.jpg&w=128&q=75')
  await get(b, '?url=/photo.jpg&w=64&q=75', 'image/png') // no negotiated format: JPEG out
  assert.equal((await imageKeys(keyPrefix)).length, 3)
  assert.equal(a.stats().transforms + b.stats().transforms, 3)

  const expected = sharedKey(redisOptions, { href: '/photo.jpg', width: 64 })
  assert.ok((await imageKeys(keyPrefix)).includes(expected), 'the handler stores under the documented key')
  const tier = new SharedTier({ ...a.config.redis, url: redis.url }, silent)
  const params = { href: '/photo.jpg', width: 64, quality: 75, mimeType: 'image/webp' }
  const src = fs.readFileSync(path.join(PUBLIC, 'photo.jpg'))
  const base = tier.keyFor(params, src)
  assert.equal(base, expected)
  assert.notEqual(tier.keyFor({ ...params, quality: 50 }, src), base)
  assert.notEqual(tier.keyFor({ ...params, mimeType: 'image/avif' }, src), base)
  assert.notEqual(tier.keyFor(params, Buffer.concat([src, Buffer.from([0])])), base, 'the source content is part of the key')
  assert.notEqual(tier.keyFor({ ...params, href: '/photo.v2.jpg' }, src), base)
  assert.match(tier.version, /^\d+\.\d+\.\d+.*\/\d+\.\d+\.\d+/)
  tier.version = '99.0.0/99.0.0'
  assert.notEqual(tier.keyFor(params, src), base, 'a new optimizer version is a new key')
  await tier.close()
})

test('concurrent requests for the same uncached image on A and B: one optimization', { skip }, async () => {
  const { a, b, keyPrefix } = pair()
  const search = '?url=/photo.jpg&w=128&q=75'
  const results = await Promise.all([get(a, search), get(b, search), get(a, search), get(b, search)])
  for (const r of results) assert.equal(r.status, 200)
  assert.equal(a.stats().transforms + b.stats().transforms, 1, `A ${a.stats().transforms}, B ${b.stats().transforms}`)
  for (const r of results.slice(1)) assert.deepEqual(r.body, results[0].body)
  assert.equal((await native.imageMetadata(results[0].body)).width, 128)
  await settled(a, b)
  const keys = await imageKeys(keyPrefix)
  assert.equal(keys.length, 1, `no lease left behind: ${keys.join(', ')}`)
  const waiter = a.stats().transforms === 1 ? b : a
  assert.equal(waiter.stats().redis.waited, 1)
})

test('a dead lease holder: the waiter gives up after waitTimeout and optimizes', { skip }, async () => {
  const { b, redisOptions } = pair({ waitTimeout: 400 })
  const key = sharedKey(redisOptions, { href: '/photo.jpg', width: 64 })
  // A holder that took the lease and died: nobody extends or releases it, no result comes.
  await raw.set(`${key}:lease`, 'dead-holder', 'PX', 60_000)
  const r = await get(b, '?url=/photo.jpg&w=64&q=75')
  assert.equal(r.status, 200)
  assert.equal(r.headers['x-nextjs-cache'], 'MISS')
  assert.equal(b.stats().transforms, 1)
  assert.equal(b.stats().redis.waitTimeouts, 1)
  assert.ok(r.ms >= 380, `waited ${r.ms} ms`)
  assert.ok(r.ms < 5000, `took ${r.ms} ms`)
  assert.equal((await native.imageMetadata(r.body)).format, 'webp')
  // Its result is shared all the same.
  await settled(b)
  assert.ok(decode(await raw.getBuffer(key)))
})

test('a dead lease holder: its lease expires and a waiter takes it over before waitTimeout', { skip }, async () => {
  const { b, redisOptions } = pair({ waitTimeout: 10_000 })
  const key = sharedKey(redisOptions, { href: '/photo.jpg', width: 128 })
  await raw.set(`${key}:lease`, 'dead-holder', 'PX', 300)
  const r = await get(b, '?url=/photo.jpg&w=128&q=75')
  assert.equal(r.status, 200)
  assert.equal(b.stats().transforms, 1)
  assert.equal(b.stats().redis.leasesWon, 1)
  assert.equal(b.stats().redis.waitTimeouts, 0)
  assert.ok(r.ms < 5000, `took ${r.ms} ms`)
  await settled(b)
  assert.equal(await raw.exists(`${key}:lease`), 0, 'released')
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

test('the lease holder answers before storing: a slow SET delays no response, and waiters still get its result', { skip }, async () => {
  // A's client holds every SET (the tier stores entries with SET; leases go through scripts)
  // until the test opens the gate.
  const Redis = require('ioredis')
  const client = new Redis(redis.url)
  let openGate
  const gate = new Promise((resolve) => (openGate = resolve))
  const sent = []
  const set = client.set.bind(client)
  client.set = (...args) => {
    sent.push(args[0])
    return gate.then(() => set(...args))
  }
  try {
    const keyPrefix = freshPrefix()
    const a = instance({ client, keyPrefix, timeout: 5000 })
    const b = instance({ url: redis.url, keyPrefix, timeout: 5000 })
    const key = sharedKey({ keyPrefix }, { href: '/photo.jpg', width: 64 })

    const first = await get(a, '?url=/photo.jpg&w=64&q=75')
    assert.equal(first.status, 200)
    assert.equal(first.headers['x-nextjs-cache'], 'MISS')
    assert.equal((await native.imageMetadata(first.body)).width, 64)
    // Answered while its store is still held at the gate; the lease is still its own.
    assert.deepEqual(sent, [key], 'the store was sent and has not completed')
    assert.equal(a.stats().redis.publishing, 1)
    assert.equal(a.stats().redis.stored, 0)
    assert.equal(await raw.exists(key), 0)
    const lease = await raw.get(`${key}:lease`)
    assert.ok(lease && lease !== '!none', `lease kept while the store runs: ${lease}`)

    // B, meanwhile: waits for A's result instead of optimizing it again.
    const pending = get(b, '?url=/photo.jpg&w=64&q=75')
    while (b.stats().redis.waited === 0) await sleep(5)
    openGate()
    const second = await pending
    assert.equal(second.status, 200)
    assert.equal(second.headers['x-nextjs-cache'], 'HIT')
    assert.deepEqual(second.body, first.body)
    assert.equal(b.stats().transforms, 0, 'B did not optimize')
    assert.equal(b.stats().redis.waitedHits, 1)
    await settled(a)
    assert.equal(a.stats().redis.stored, 1)
    assert.deepEqual(await imageKeys(keyPrefix), [key], 'stored, and the lease released after the store')
  } finally {
    openGate()
    client.disconnect()
  }
})

test('no-result marker: a waiter stops waiting at once and answers as a lone request would', { skip }, async () => {
  const { b, redisOptions } = pair({ waitTimeout: 10_000 })
  const solo = await get(instance(false), '?url=/truncated.jpg&w=64&q=75')
  assert.equal(solo.status, 200)
  const key = sharedKey(redisOptions, { href: '/truncated.jpg', width: 64 })
  // Another instance holds the lease and is encoding...
  await raw.set(`${key}:lease`, 'another-holder', 'PX', 60_000)
  const pending = get(b, '?url=/truncated.jpg&w=64&q=75')
  while (b.stats().redis.waited === 0) await sleep(5)
  // ...and its encode fails: it turns its lease into the marker (as SharedTier.publish does).
  const t0 = performance.now()
  await raw.set(`${key}:lease`, '!none', 'PX', 2000)
  const r = await pending
  const ms = performance.now() - t0
  assert.ok(ms < 5000, `answered ${ms} ms after the marker, with waitTimeout 10 s`)
  assert.equal(r.status, solo.status)
  assert.equal(r.headers['content-type'], solo.headers['content-type'])
  assert.deepEqual(r.body, solo.body, 'the original bytes, as a lone request serves a failed encode')
  const { noResultSeen, waitTimeouts, leasesWon } = b.stats().redis
  assert.deepEqual({ noResultSeen, waitTimeouts, leasesWon }, { noResultSeen: 1, waitTimeouts: 0, leasesWon: 0 })
  assert.equal(b.stats().transforms, 1)
})

test('a holder whose encode fails: waiters on other instances stop at once and optimize side by side', { skip }, async () => {
  const config = { url: redis.url, keyPrefix: freshPrefix(), timeout: 1000, maxTtl: 60, maxEntryBytes: 1 << 20, leaseTtl: 2000, waitTimeout: 10_000 }
  const [holder, w1, w2] = [0, 1, 2].map(() => new SharedTier(config, silent))
  try {
    const key = holder.keyFor({ href: '/x.jpg', width: 64, quality: 75, mimeType: 'image/webp' }, Buffer.from('source bytes'))
    const failed = () => ({ buffer: Buffer.from('source bytes'), contentType: 'image/jpeg', extension: 'jpeg', etag: 'e', maxAge: 1, error: new Error('encode failed') })
    const shareable = (v) => !v.error
    const events = []
    let fail
    const holderFails = new Promise((resolve) => (fail = resolve))
    const held = holder.resolve(
      key,
      async () => {
        await holderFails
        return failed()
      },
      shareable,
    )
    while (holder.stats.leasesWon === 0) await sleep(5)
    const attempt = (who) => async () => {
      events.push(`${who} start`)
      await sleep(300)
      events.push(`${who} end`)
      return failed()
    }
    const waiting = [w1, w2].map((t, i) => t.resolve(key, attempt(`w${i + 1}`), shareable))
    while (w1.stats.waited + w2.stats.waited < 2) await sleep(5)
    const t0 = performance.now()
    fail()
    assert.ok((await held).value.error)
    const results = await Promise.all(waiting)
    const ms = performance.now() - t0
    for (const r of results) {
      assert.equal(r.hit, false)
      assert.ok(r.value.error, 'each waiter made its own attempt')
    }
    assert.ok(ms < 5000, `waiters done ${ms} ms after the failure, with waitTimeout 10 s`)
    // Side by side: each waiter started before the other ended. Without the marker, the first
    // to poll took the free lease and the second waited for its attempt to end.
    const at = (e) => events.indexOf(e)
    assert.ok(at('w1 start') < at('w2 end') && at('w2 start') < at('w1 end'), events.join(', '))
    assert.equal(holder.stats.noResults, 1)
    for (const t of [w1, w2]) {
      const { noResultSeen, leasesWon, waitTimeouts } = t.stats
      assert.deepEqual({ noResultSeen, leasesWon, waitTimeouts }, { noResultSeen: 1, leasesWon: 0, waitTimeouts: 0 })
    }
    assert.equal(await raw.exists(key), 0, 'nothing stored')
  } finally {
    await Promise.all([holder, w1, w2].map((t) => t.close()))
  }
})

test('Redis down: requests succeed per instance, without waiting on Redis', { skip }, async () => {
  // Nothing listens on this port.
  const closed = await freePort()
  const h = instance({ url: `redis://127.0.0.1:${closed}`, keyPrefix: freshPrefix(), timeout: 100 })
  const r = await get(h, '?url=/photo.jpg&w=64&q=75')
  assert.equal(r.status, 200)
  assert.equal(r.headers['x-nextjs-cache'], 'MISS')
  assert.equal((await native.imageMetadata(r.body)).width, 64)
  assert.equal(h.stats().transforms, 1)
  assert.equal(h.stats().redis.healthy, false)
  const again = await get(h, '?url=/photo.jpg&w=128&q=75')
  assert.equal(again.status, 200)

  // A Redis that dies under a running pair.
  const own = await startRedis()
  try {
    const keyPrefix = freshPrefix()
    const a = instance({ url: own.url, keyPrefix, timeout: 100 })
    const b = instance({ url: own.url, keyPrefix, timeout: 100 })
    assert.equal((await get(a, '?url=/photo.jpg&w=64&q=75')).headers['x-nextjs-cache'], 'MISS')
    assert.equal((await get(b, '?url=/photo.jpg&w=64&q=75')).headers['x-nextjs-cache'], 'HIT')
    await own.kill()
    const t0 = performance.now()
    const results = await Promise.all([get(a, '?url=/photo.jpg&w=128&q=75'), get(b, '?url=/photo.jpg&w=128&q=75')])
    for (const res of results) {
      assert.equal(res.status, 200)
      assert.equal((await native.imageMetadata(res.body)).width, 128)
    }
    assert.equal(a.stats().transforms, 2)
    assert.equal(b.stats().transforms, 1, 'each instance optimized for itself')
    assert.ok(performance.now() - t0 < 3000, `took ${performance.now() - t0} ms`)
  } finally {
    await own.stop()
  }
})

test('no connection before the first request (importing a route during next build opens none)', { skip }, async () => {
  const net = require('node:net')
  let connections = 0
  const server = net.createServer((sock) => {
    connections++
    sock.destroy()
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  try {
    const h = instance({ url: `redis://127.0.0.1:${server.address().port}`, keyPrefix: freshPrefix(), timeout: 100 })
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(connections, 0)
    assert.equal((await get(h, '?url=/photo.jpg&w=64&q=75')).status, 200)
    assert.ok(connections >= 1)
    await h.close()
  } finally {
    server.close()
  }
})

test('Redis slower than the timeout: no request waits for it', { skip }, async () => {
  const own = await startRedis()
  const proxy = await startFaultProxy(own.port)
  try {
    const keyPrefix = freshPrefix()
    const a = instance({ url: proxy.url, keyPrefix, timeout: 100 })
    // Connected and warm first (a fresh client waits, bounded, for its first connection).
    assert.equal((await get(a, '?url=/photo.jpg&w=64&q=75')).status, 200)
    proxy.latency(3000)
    const r = await get(a, '?url=/photo.jpg&w=128&q=75')
    assert.equal(r.status, 200)
    assert.equal((await native.imageMetadata(r.body)).width, 128)
    assert.ok(r.ms < 2500, `waited ${r.ms} ms on a Redis answering after 3000 ms`)
    assert.equal(a.stats().redis.healthy, false)
    proxy.latency(0)
  } finally {
    await proxy.close()
    await own.stop()
  }
})

test('corrupt or truncated entries in Redis are misses, then overwritten', { skip }, async () => {
  const { a, keyPrefix, redisOptions } = pair()
  const first = await get(a, '?url=/photo.jpg&w=64&q=75')
  const key = sharedKey(redisOptions, { href: '/photo.jpg', width: 64 })
  const good = await raw.getBuffer(key)
  assert.ok(decode(good))
  const flipped = Buffer.from(good)
  flipped[flipped.length - 10] ^= 0xff
  const badMeta = Buffer.from(good)
  badMeta[40] ^= 0xff
  const damaged = {
    truncated: good.subarray(0, good.length - 100),
    'header only': good.subarray(0, 20),
    'flipped body byte': flipped,
    'flipped meta byte': badMeta,
    'not ours': Buffer.from('RIFF....WEBPVP8 not an entry at all'),
    empty: Buffer.alloc(0),
    'bad JSON meta, valid checksum': (() => {
      const e = encode({ buffer: Buffer.from('xx'), contentType: 'image/webp', extension: 'webp', etag: 'e', maxAge: 1 })
      return Buffer.concat([e.subarray(0, 32), Buffer.from('{"a":1}'.padEnd(e.length - 34)), e.subarray(-2)])
    })(),
  }
  for (const [what, bytes] of Object.entries(damaged)) {
    assert.equal(decode(bytes), null, what)
    await raw.set(key, bytes)
    const b = instance(redisOptions) // a fresh disk cache: it must ask Redis
    const r = await get(b, '?url=/photo.jpg&w=64&q=75')
    assert.equal(r.status, 200, what)
    assert.equal(r.headers['x-nextjs-cache'], 'MISS', what)
    assert.equal(b.stats().transforms, 1, `${what}: optimized, not served`)
    assert.deepEqual(r.body, first.body, what)
    const meta = await native.imageMetadata(r.body)
    assert.equal(meta.format, 'webp', what)
    assert.equal(meta.width, 64, what)
    await settled(b)
    const now = await raw.getBuffer(key)
    assert.ok(decode(now), `${what}: overwritten with a valid entry`)
    assert.deepEqual(decode(now).buffer, first.body, what)
  }
  // Not even a string: a hash someone wrote under the key (Redis answers WRONGTYPE).
  await raw.del(key)
  await raw.hset(key, 'v', 'x')
  const b = instance(redisOptions)
  const r = await get(b, '?url=/photo.jpg&w=64&q=75')
  assert.equal(r.status, 200)
  assert.deepEqual(r.body, first.body)
  assert.equal(b.stats().redis.healthy, true, 'a wrong type is a miss, not an outage')
  await settled(b)
  assert.deepEqual(decode(await raw.getBuffer(key)).buffer, first.body, 'overwritten')
  assert.ok((await imageKeys(keyPrefix)).every((k) => !k.endsWith(':lease')))
})

test('an image over maxEntryBytes stays out of Redis and on disk', { skip }, async () => {
  const { a, b, keyPrefix } = pair({ maxEntryBytes: 200 })
  const first = await get(a, '?url=/photo.jpg&w=128&q=75')
  assert.equal(first.status, 200)
  assert.ok(first.body.length > 200)
  await settled(a)
  // No entry; the lease is left as the no-result marker (waiters optimize at once), expiring.
  const keys = await imageKeys(keyPrefix)
  assert.equal(keys.length, 1, keys.join(', '))
  assert.ok(keys[0].endsWith(':lease'))
  assert.equal(await raw.get(keys[0]), '!none')
  const ttl = await raw.pttl(keys[0])
  assert.ok(ttl > 0 && ttl <= 2000, `marker TTL ${ttl}`)
  assert.equal(a.stats().redis.tooLarge, 1)
  assert.equal(a.stats().redis.noResults, 1)
  assert.equal((await get(a, '?url=/photo.jpg&w=128&q=75')).headers['x-nextjs-cache'], 'HIT', 'on disk')
  assert.equal(a.stats().transforms, 1)
  const other = await get(b, '?url=/photo.jpg&w=128&q=75')
  assert.equal(other.status, 200)
  assert.equal(b.stats().transforms, 1)
})

test('passthrough types and failed encodes are not shared', { skip }, async () => {
  const { a, b, keyPrefix } = pair()
  for (const h of [a, b]) {
    assert.equal((await get(h, '?url=/animated.gif&w=64&q=75')).status, 200)
    assert.equal((await get(h, '?url=/truncated.jpg&w=64&q=75')).status, 200)
  }
  await settled(a, b)
  // No entry: only the failed encode's no-result marker, in its lease key.
  const keys = await imageKeys(keyPrefix)
  assert.ok(keys.every((k) => k.endsWith(':lease')), keys.join(', '))
  for (const k of keys) assert.equal(await raw.get(k), '!none')
})

test('a passthrough type takes no lease, so no instance waits on it', { skip }, async () => {
  const { a, b } = pair()
  await Promise.all([a, b].map(async (h) => assert.equal((await get(h, '?url=/animated.gif&w=96&q=75')).status, 200)))
  for (const h of [a, b]) {
    const { leasesWon, waited } = h.stats().redis
    assert.deepEqual({ leasesWon, waited }, { leasesWon: 0, waited: 0 })
  }
})

test('options: redis true/false/object, REDIS_URL, and refusals', () => {
  const saved = { url: process.env.REDIS_URL, prefix: process.env.REDIS_KEY_PREFIX }
  const base = { publicDir: PUBLIC, cacheDir: tmpDir(), logger: silent }
  const config = (redis) => createImageHandler({ ...base, redis }).config.redis
  try {
    delete process.env.REDIS_URL
    delete process.env.REDIS_KEY_PREFIX
    assert.equal(config(undefined), null, 'no Redis: nothing changes')
    assert.equal(config(false), null)
    assert.throws(() => config(true), { code: 'ERR_INVALID_ARG_VALUE', message: /redis: true needs the REDIS_URL/ })
    assert.throws(() => config({ keyPrefix: 'x:' }), { code: 'ERR_INVALID_ARG_VALUE', message: /one of url, client or cluster/ })
    assert.throws(() => config('redis://x'), { code: 'ERR_INVALID_ARG_VALUE', message: /redis must be true, false or an object .* Received type string/ })
    assert.throws(() => config({ url: 'redis://127.0.0.1:1', maxEntryBytes: -1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /redis\.maxEntryBytes.* must be an integer from 0.*-1/ })
    assert.throws(() => config({ url: 'redis://127.0.0.1:1', leaseTtl: 0 }), { message: /redis.leaseTtl must be/ })
    assert.throws(() => config({ url: 'redis://127.0.0.1:1', waitTimeout: 1.5 }), { message: /redis.waitTimeout must be/ })
    assert.throws(() => config({ url: 'redis://127.0.0.1:1', timeout: -1 }), { code: 'ERR_INVALID_ARG_VALUE', message: /^createImageHandler: redis: timeout must be/ })

    process.env.REDIS_URL = 'redis://127.0.0.1:1'
    process.env.REDIS_KEY_PREFIX = 'shop:'
    const resolve = (redis) => require('../lib/image/config.js').resolveConfig({ ...base, redis }).redis
    const fromEnv = resolve(undefined)
    assert.equal(fromEnv.url, 'redis://127.0.0.1:1')
    assert.equal(fromEnv.keyPrefix, 'shop:')
    assert.equal(fromEnv.maxEntryBytes, 16 * 1024 * 1024)
    assert.equal(fromEnv.leaseTtl, 2000)
    assert.equal(fromEnv.waitTimeout, 5000)
    assert.equal(resolve(true).url, 'redis://127.0.0.1:1')
    assert.equal(resolve({ maxEntryBytes: 5 }).maxEntryBytes, 5)
    assert.equal(resolve(false), null)
    assert.equal(require('../lib/image/config.js').resolveConfig({ ...base, imgOptTimeoutInSeconds: 1 }).redis.waitTimeout, 1000)
  } finally {
    for (const [k, v] of [['REDIS_URL', saved.url], ['REDIS_KEY_PREFIX', saved.prefix]]) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
})

/** `next-native image serve` with REDIS_URL in its environment; resolves with its port. */
function serve(env) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'next-native.js'), 'image', 'serve', '--port', '0', '--host', '127.0.0.1', '--public-dir', PUBLIC, '--cache-dir', tmpDir()], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.output = ''
  child.stderr.on('data', (c) => (child.output += c))
  child.exited = new Promise((r) => child.once('exit', r))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`image serve did not start: ${child.output}`)), 15_000)
    child.stdout.on('data', (c) => {
      child.output += c
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(child.output)
      if (m) {
        clearTimeout(timer)
        child.port = Number(m[1])
        resolve(child)
      }
    })
    child.once('exit', (code) => reject(new Error(`image serve exited ${code}: ${child.output}`)))
  })
}

test('`next-native image serve` x2 with REDIS_URL: the second process serves the first one\'s encode', { skip }, async () => {
  const keyPrefix = freshPrefix()
  const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: keyPrefix }
  const [one, two] = await Promise.all([serve(env), serve(env)])
  try {
    const fetchImage = async (port) => {
      const res = await fetch(`http://127.0.0.1:${port}/_next/image?url=%2Fphoto.jpg&w=64&q=75`, { headers: { accept: 'image/webp' } })
      return { status: res.status, cache: res.headers.get('x-nextjs-cache'), body: Buffer.from(await res.arrayBuffer()) }
    }
    const a = await fetchImage(one.port)
    assert.equal(a.status, 200)
    assert.equal(a.cache, 'MISS')
    const b = await fetchImage(two.port)
    assert.equal(b.status, 200)
    assert.equal(b.cache, 'HIT')
    assert.deepEqual(b.body, a.body)
    // The first process releases its lease after storing, after its response: wait for that.
    const deadline = Date.now() + 5000
    while ((await imageKeys(keyPrefix)).length !== 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.equal((await imageKeys(keyPrefix)).length, 1)
  } finally {
    for (const child of [one, two]) {
      child.kill('SIGTERM')
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 10_000).unref())])
    }
  }
})
