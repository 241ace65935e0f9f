'use strict'

// One table of tag-state merges, run against the three places that merge them:
//   - the native store (`TagState::merge`, crates/cache/src/tags.rs, via applyTagStates);
//   - the Redis tier's Lua script (`REVALIDATE` in lib/cache-redis.js), on a real redis-server;
//   - the hot tier of decoded entries (lib/cache-hot.js), which keeps one time per tag and
//     drops what was written before it: it must move to the latest time either state names.
// The rule: the later `staleAt` wins; of two `expiredAt`, the one already in force at `now`
// wins (an expiry that has happened cannot be undone by a later-scheduled one), else the later.

const assert = require('node:assert/strict')
const { test } = require('node:test')
const { NativeCacheStore } = require('../index.js')
const { HotTier } = require('../lib/cache-hot')
const { SCRIPTS } = require('../lib/cache-redis')
const { startRedis, redisServerBinary } = require('./fixtures/redis-server')

const NOW = 1_000_000
const PAST = 500
const FUTURE = 2_000_000
const s = (staleAt, expiredAt) => ({ staleAt, expiredAt })

// [what, current (undefined: none), incoming, merged]
const CASES = [
  ['first state', undefined, s(100, undefined), s(100, undefined)],
  ['the later staleAt wins', s(100, undefined), s(50, undefined), s(100, undefined)],
  ['an expiry in force beats a scheduled one (incoming in force)', s(undefined, FUTURE), s(undefined, PAST), s(undefined, PAST)],
  ['an expiry in force beats a scheduled one (current in force)', s(undefined, PAST), s(undefined, FUTURE), s(undefined, PAST)],
  ['two expiries in force: the later', s(undefined, PAST), s(undefined, 800), s(undefined, 800)],
  ['two scheduled expiries: the later', s(undefined, FUTURE), s(undefined, FUTURE + 1), s(undefined, FUTURE + 1)],
  ['an expiry at exactly now is in force', s(undefined, FUTURE), s(undefined, NOW), s(undefined, NOW)],
  ['a stale-only update keeps the expiry', s(undefined, FUTURE), s(100, undefined), s(100, FUTURE)],
  ['an expiry-only update keeps staleAt', s(100, undefined), s(undefined, FUTURE), s(100, FUTURE)],
  ['both fields at once', s(300, PAST), s(200, 700), s(300, 700)],
  ['the same state again', s(100, 100), s(100, 100), s(100, 100)],
]

const clean = (st) => Object.fromEntries(Object.entries(st).filter(([, v]) => v !== undefined))

test('native store (TagState::merge)', () => {
  for (const [what, current, incoming, merged] of CASES) {
    const store = new NativeCacheStore({ maxBytes: 1 << 20 })
    if (current) store.applyTagStates([{ tag: 't', ...clean(current) }], NOW)
    store.applyTagStates([{ tag: 't', ...clean(incoming) }], NOW)
    const [state] = store.tagStates(['t'])
    assert.deepEqual(clean({ staleAt: state.staleAt, expiredAt: state.expiredAt }), clean(merged), what)
  }
})

test('hot tier: moves to the latest time either state names', () => {
  for (const [what, current, incoming, merged] of CASES) {
    const hot = new HotTier(1 << 20)
    const time = (st) => Math.max(st.staleAt ?? -1, st.expiredAt ?? -1)
    if (current) hot.touchTags(['t'], time(current))
    hot.touchTags(['t'], time(incoming))
    const latest = Math.max(...[current, incoming].filter(Boolean).flatMap((st) => [st.staleAt, st.expiredAt]).filter((v) => v !== undefined))
    assert.equal(hot.tagTimes.get('t'), latest, what)
    // Never earlier than what the merged state makes stale or expired.
    assert.ok(hot.tagTimes.get('t') >= time(merged), what)
  }
})

test('Redis Lua script (REVALIDATE)', { skip: !redisServerBinary() && 'redis-server not installed (apt-get install -y redis-server)' }, async (t) => {
  const redis = await startRedis()
  t.after(() => redis.stop())
  const Redis = require('ioredis')
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 })
  t.after(() => client.quit())
  for (const [i, [what, current, incoming, merged]] of CASES.entries()) {
    const states = `m${i}:states`
    if (current) await client.hset(states, 't', `${current.staleAt ?? 0}:${current.expiredAt ?? 0}`)
    await client.eval(SCRIPTS.revalidate, 2, states, `m${i}:log`, String(NOW), 'ch', 'origin', 't', String(incoming.staleAt ?? 0), String(incoming.expiredAt ?? 0))
    const [stale, expired] = (await client.hget(states, 't')).split(':').map(Number)
    assert.deepEqual(clean({ staleAt: stale || undefined, expiredAt: expired || undefined }), clean(merged), what)
  }
})
