'use strict'

// Next's own image optimizer (`/_next/image`, Next 16.2+ `images.customCacheHandler: true`)
// on our cacheHandler and its Redis tier. The fixture (fixtures/image-cache-app) is built once
// and started as several `next start` instances on one throwaway redis-server, each with its
// own disk tier (as separate hosts would have):
//   - an image optimized on A is a HIT on B, byte for byte;
//   - TTL and stale as Next computes them (`revalidate` = max(minimumCacheTTL, upstream
//     max-age); past it: STALE, regenerated in the background, written back to Redis);
//   - an entry truncated or corrupted in Redis by hand is a MISS on a fresh instance, a valid
//     image is served, and the entry in Redis is overwritten;
//   - with REDIS_MAX_ENTRY_BYTES below the image's size, the image stays out of Redis and is
//     still cached by that instance;
//   - Redis stalled (SIGSTOP) or killed: image requests still answer 200, within the timeout.
// The in-process part checks that IMAGE entries are charged to the byte budget.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { startRedis, redisServerBinary } = require('./fixtures/redis-server')
const { freePort, killGroup, nextBuild, nextStart, sleep } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const FIXTURE = path.join(__dirname, 'fixtures', 'image-cache-app')
const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
const PREFIX = 'nn-img:'
const MIN_TTL = 5 // images.minimumCacheTTL, seconds (local files are served with max-age=0)
const TIMEOUT_MS = 150 // REDIS_TIMEOUT_MS (the default)
// Chromium's Accept for images: with formats ['image/webp'], Next answers WebP.
const ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'

const skip = !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)'

// ---- a self-made test image: a 320x240 RGB gradient PNG ----------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}

function gradientPng(width, height) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, no interlace
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3
      raw[i] = (x * 255) / width
      raw[i + 1] = (y * 255) / height
      raw[i + 2] = ((x ^ y) * 7) & 0xff
    }
  }
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  return Buffer.concat([signature, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

// ---- helpers -------------------------------------------------------------------------------

function instance(name, child, port) {
  return {
    name,
    child,
    async image(width, { quality = 75 } = {}) {
      const started = Date.now()
      const res = await fetch(`http://127.0.0.1:${port}/_next/image?url=%2Fx.png&w=${width}&q=${quality}`, {
        headers: { accept: ACCEPT },
        signal: AbortSignal.timeout(30_000),
      })
      const body = Buffer.from(await res.arrayBuffer())
      assert.equal(res.status, 200, `${name}: /_next/image w=${width} -> ${res.status}: ${body.toString().slice(0, 300)}\n${child.output.slice(-3000)}`)
      return { cache: res.headers.get('x-nextjs-cache'), cacheControl: res.headers.get('cache-control'), etag: res.headers.get('etag'), type: res.headers.get('content-type'), body, ms: Date.now() - started }
    },
  }
}

function assertWebp(body, requested, what) {
  const { imageMetadata } = require('../index.js')
  const meta = imageMetadata(body)
  const width = Math.min(requested, 320) // Next never enlarges the 320x240 source
  assert.equal(meta.format, 'webp', `${what}: format`)
  assert.equal(meta.width, width, `${what}: width`)
  assert.equal(meta.height, (width * 240) / 320, `${what}: height`)
}

async function until(what, probe, done, { timeoutMs = 15_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await probe()
    if (done(last)) return last
    if (Date.now() > deadline) assert.fail(`${what}: not reached within ${timeoutMs} ms; last: ${JSON.stringify(last, (k, v) => (k === 'body' ? `<${v && v.data ? v.data.length : '?'} bytes>` : v))}`)
    await sleep(intervalMs)
  }
}

// ---- in process: IMAGE entries and the byte budget ------------------------------------------

test('IMAGE entries are charged to the byte budget and round-trip', async () => {
  const CacheHandler = require('../lib/cache-handler.js')
  const Handler = CacheHandler.create({ maxMemory: 8 * 1024 * 1024, redis: false, maximumDiskCacheSize: 0 })
  const handler = new Handler({})
  const before = Handler.stats().bytes
  const buffer = require('node:crypto').randomBytes(300 * 1024) // incompressible, like an encoded image
  const value = { kind: 'IMAGE', buffer, etag: 'e1', extension: 'webp', upstreamEtag: 'u1', revalidate: 60 }
  await handler.set('img-1', value, { kind: 'IMAGE', cacheControl: { revalidate: 60, expire: undefined } })
  const charged = Handler.stats().bytes - before
  assert.ok(charged >= buffer.length && charged < buffer.length + 4096, `charged ${charged} bytes for a ${buffer.length}-byte image`)
  const hit = await handler.get('img-1', { kind: 'IMAGE', isFallback: false })
  assert.ok(hit && Buffer.isBuffer(hit.value.buffer) && hit.value.buffer.equals(buffer))
  assert.deepEqual({ ...hit.value, buffer: undefined }, { ...value, buffer: undefined })
  // Next computes staleness from lastModified and value.revalidate: the handler keeps both.
  assert.ok(Math.abs(hit.lastModified - Date.now()) < 5000)
  // An IMAGE entry Next could not send (empty buffer) is a miss, as an empty file is for Next's disk cache.
  await handler.set('img-2', { ...value, buffer: Buffer.alloc(0) }, { kind: 'IMAGE', cacheControl: { revalidate: 60 } })
  assert.equal(await handler.get('img-2', { kind: 'IMAGE', isFallback: false }), null)
})

// ---- end to end ----------------------------------------------------------------------------

test('Next image optimizer on the cacheHandler, shared through one Redis', { skip, timeout: 6 * 60_000 }, async (t) => {
  const redis = await startRedis()
  const children = []
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-img-'))
  t.after(async () => {
    await Promise.all(children.map((c) => killGroup(c)))
    if (redis.child && redis.child.signalCode === null) {
      try {
        process.kill(redis.child.pid, 'SIGCONT')
      } catch {}
    }
    await redis.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  fs.mkdirSync(path.join(FIXTURE, 'public'), { recursive: true })
  fs.writeFileSync(path.join(FIXTURE, 'public', 'x.png'), gradientPng(320, 240))

  const { REDIS_URL, REDIS_MAX_ENTRY_BYTES, REDIS_TIMEOUT_MS, DISK_CACHE_DIR, ...inherited } = process.env
  const env = { ...inherited, NEXT_TELEMETRY_DISABLED: '1', IMAGE_MIN_TTL: String(MIN_TTL) }
  let started = Date.now()
  fs.rmSync(path.join(FIXTURE, '.next'), { recursive: true, force: true })
  await nextBuild(NEXT_BIN, { cwd: FIXTURE, env })
  t.diagnostic(`next build: ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const runEnv = { ...env, REDIS_URL: redis.url, REDIS_KEY_PREFIX: PREFIX, REDIS_TIMEOUT_MS: String(TIMEOUT_MS) }
  async function start(name, extra = {}) {
    const port = await freePort()
    const diskDir = path.join(tmp, name)
    let child
    try {
      child = await nextStart(NEXT_BIN, { cwd: FIXTURE, env: { ...runEnv, DISK_CACHE_DIR: diskDir, ...extra }, port })
    } catch (err) {
      if (err.child) children.push(err.child)
      throw err
    }
    children.push(child)
    return instance(name, child, port)
  }

  const Redis = require('ioredis')
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true })
  admin.on('error', () => {})
  t.after(() => admin.disconnect())
  const entryKeys = async () => (await admin.keys(`${PREFIX}e{}:*`)).sort()
  const { checksum } = require('../lib/cache-redis')
  const { decode } = require('../lib/cache-codec')
  /** The entry under `key` in Redis, checked and decoded as the tier does; null if absent or damaged. */
  async function readEntry(key) {
    const [m, v, c] = await admin.hmgetBuffer(key, 'm', 'v', 'c')
    if (!m || !v || !c || checksum(v) !== c.toString()) return null
    const record = decode(v) // { value, cacheControl }: what the handler was given
    return { lastModified: Number(m.toString()), value: record.value, cacheControl: record.cacheControl }
  }

  started = Date.now()
  const [A, B] = await Promise.all([start('A'), start('B')])
  t.diagnostic(`A and B started: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  let key64 // the Redis key of /x.png at w=64

  await t.test('optimized on A (MISS), served by B from Redis (HIT), identical bytes', async () => {
    const keysBefore = await entryKeys()
    const onA = await A.image(64)
    assert.equal(onA.cache, 'MISS')
    assert.equal(onA.type, 'image/webp')
    assertWebp(onA.body, 64, 'A')
    const added = (await entryKeys()).filter((k) => !keysBefore.includes(k))
    assert.equal(added.length, 1, `one new entry in Redis, got ${JSON.stringify(added)}`)
    key64 = added[0]
    const stored = await readEntry(key64)
    assert.ok(stored, 'the entry in Redis has a valid checksum')
    assert.equal(stored.value.kind, 'IMAGE')
    assert.ok(stored.value.buffer.equals(onA.body), 'Redis holds the bytes A served')
    assert.equal(stored.value.revalidate, MIN_TTL, 'revalidate = max(minimumCacheTTL, upstream max-age 0)')
    assert.deepEqual(stored.cacheControl, { revalidate: MIN_TTL, expire: undefined })
    const ttl = await admin.pttl(key64)
    assert.ok(ttl > 29 * 24 * 3600 * 1000, `an image has no expire: Redis keeps it up to maxTtl (30 days), pttl ${ttl}`)

    const onB = await B.image(64)
    assert.equal(onB.cache, 'HIT', 'B read A’s image from Redis')
    assert.ok(onB.body.equals(onA.body), 'B served A’s bytes')
    assert.equal(onB.etag, onA.etag)
    assert.equal(onB.cacheControl, onA.cacheControl)
    assert.equal(onB.cacheControl, `public, max-age=${MIN_TTL}, must-revalidate`)
  })

  await t.test('past minimumCacheTTL: STALE with the old bytes, regenerated in the background and written back to Redis', async () => {
    const before = await readEntry(key64)
    await sleep(Math.max(0, before.lastModified + MIN_TTL * 1000 + 300 - Date.now()))
    const stale = await B.image(64)
    assert.equal(stale.cache, 'STALE')
    assertWebp(stale.body, 64, 'stale on B')
    const rewritten = await until('regenerated entry in Redis', () => readEntry(key64), (e) => e && e.lastModified > before.lastModified)
    assert.equal(rewritten.value.kind, 'IMAGE')
    const again = await B.image(64)
    assert.equal(again.cache, 'HIT')
    assert.ok(again.body.equals(rewritten.value.buffer))
    // A still holds the old entry in memory: stale there too, and refreshed the same way.
    assert.equal((await A.image(64)).cache, 'STALE')
    await until('A’s regeneration in Redis', () => readEntry(key64), (e) => e && e.lastModified > rewritten.lastModified)
  })

  await t.test('truncated or corrupt entries in Redis are a MISS on a fresh instance and get overwritten', async () => {
    // w=64: the value truncated, and claiming to be from the future (so only the delete lets
    // the new write land). w=96: other bytes, a wrong checksum. w=256: bytes that are no
    // cache entry, with a matching checksum (as a buggy or foreign writer would leave them).
    const added = async (width) => {
      const before = await entryKeys()
      await A.image(width)
      const key = (await entryKeys()).find((k) => !before.includes(k))
      assert.ok(key, `w=${width} written to Redis`)
      return key
    }
    const key96 = await added(96)
    const key256 = await added(256)
    const v64 = await admin.hgetBuffer(key64, 'v')
    await admin.hset(key64, 'v', v64.subarray(0, v64.length - 500), 'm', String(Date.now() + 3600_000))
    await admin.hset(key96, 'v', Buffer.from('not a cache entry at all'), 'c', 'bm90IGEgY2hlY2tzdW0=')
    const foreign = Buffer.from('\x09not a cache entry either')
    await admin.hset(key256, 'v', foreign, 'c', checksum(foreign))
    assert.equal(await readEntry(key64), null)
    assert.equal(await readEntry(key96), null)

    const C = await start('C')
    for (const [width, key] of [[64, key64], [96, key96], [256, key256]]) {
      const first = await C.image(width)
      assert.equal(first.cache, 'MISS', `w=${width}: a damaged entry is a miss`)
      assertWebp(first.body, width, `C w=${width}`)
      const fixed = await until(`w=${width} overwritten in Redis`, () => readEntry(key).catch(() => null), (e) => e !== null)
      assert.ok(fixed.lastModified <= Date.now(), 'the entry in Redis is C’s new one')
      assert.ok(fixed.value.buffer.equals(first.body), `w=${width}: Redis holds what C served`)
      assert.equal((await C.image(width)).cache, 'HIT')
    }
    assert.match(C.child.output, /damaged entry in Redis/)
    assert.match(C.child.output, /an entry from Redis could not be decoded \(.*\); served as a miss/)
  })

  await t.test('REDIS_MAX_ENTRY_BYTES below the image size: kept out of Redis, still cached by the instance', async () => {
    const D = await start('D', { REDIS_MAX_ENTRY_BYTES: '100' })
    const keysBefore = await entryKeys()
    const first = await D.image(128)
    assert.equal(first.cache, 'MISS')
    assertWebp(first.body, 128, 'D')
    assert.ok(first.body.length > 100)
    assert.deepEqual(await entryKeys(), keysBefore, 'nothing new in Redis')
    const second = await D.image(128)
    assert.equal(second.cache, 'HIT', 'cached in D’s own memory')
    assert.ok(second.body.equals(first.body))
    assert.equal((await B.image(128)).cache, 'MISS', 'not shared with B')
    assert.match(D.child.output, /above redis\.maxEntryBytes \(100\)/)
  })

  await t.test('Redis stalled (SIGSTOP), then killed: image requests answer 200 within the timeout', async () => {
    const baseline = (await A.image(48)).ms // a miss with Redis up
    process.kill(redis.child.pid, 'SIGSTOP')
    try {
      const hit = await B.image(64)
      assert.equal(hit.cache, 'HIT', 'from B’s memory, Redis not asked')
      const miss = await A.image(640)
      assert.equal(miss.cache, 'MISS')
      assertWebp(miss.body, 640, 'A with Redis stalled')
      // A miss waits for Redis at most once (then Redis is skipped for 1 s): its cost is at
      // most the timeout above a miss with Redis up.
      t.diagnostic(`a miss with Redis up: ${baseline} ms; stalled: ${miss.ms} ms`)
      assert.ok(miss.ms < baseline + TIMEOUT_MS + 1000, `${miss.ms} ms with Redis stalled (${baseline} ms with it up)`)
      assert.equal((await A.image(640)).cache, 'HIT')
    } finally {
      process.kill(redis.child.pid, 'SIGCONT')
    }
    await redis.kill()
    for (const inst of [A, B]) {
      const r = await inst.image(32)
      assert.equal(r.cache, 'MISS')
      assertWebp(r.body, 32, `${inst.name} with Redis down`)
      t.diagnostic(`${inst.name}, a miss with Redis down: ${r.ms} ms`)
      assert.ok(r.ms < baseline + TIMEOUT_MS + 1000, `${inst.name}: ${r.ms} ms with Redis down (${baseline} ms with it up)`)
      assert.equal((await inst.image(32)).cache, 'HIT', `${inst.name}: cached locally with Redis down`)
    }
  })
})
