'use strict'

// lib/redis-health.js, the outage state machine both Redis tiers use (the page cache's
// RedisTier and the image handler's SharedTier), on a stand-in client: no Redis needed.
// The tiers themselves are tested against a real redis-server in cache-redis*.test.js and
// image-shared-redis.test.js.

const test = require('node:test')
const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const { RedisHealth, RedisUnavailable, COOL_DOWN_MS } = require('../lib/redis-health.js')

function fakeClient(status = 'ready') {
  const c = new EventEmitter()
  c.status = status
  return c
}

function replyError(message) {
  const err = new Error(message)
  err.name = 'ReplyError'
  return err
}

function health(client, extra = {}) {
  const lines = []
  const recovered = []
  const h = new RedisHealth({ timeout: 50, log: (m) => lines.push(m), fallback: 'doing without', onRecover: () => recovered.push(Date.now()), ...extra })
  h.watch(client)
  return { h, lines, recovered }
}

test('a reply about the call (WRONGTYPE, OOM) is rethrown as it is; Redis stays in use; logged once per kind', async () => {
  const { h, lines } = health(fakeClient())
  const wrongType = replyError('WRONGTYPE Operation against a key holding the wrong kind of value')
  for (let i = 0; i < 2; i++) await assert.rejects(h.run('get', async () => Promise.reject(wrongType)), (err) => err === wrongType)
  await assert.rejects(h.run('set', async () => Promise.reject(replyError("OOM command not allowed when used memory > 'maxmemory'."))), { name: 'ReplyError' })
  assert.equal(h.healthy, true)
  assert.equal(h.available, true, 'no cool-down')
  assert.equal(await h.run('get', async () => 'v'), 'v')
  assert.equal(lines.length, 2, lines.join('\n'))
  assert.match(lines[0], /^Redis answered get with an error \(WRONGTYPE/)
  assert.match(lines[1], /^Redis answered set with an error \(OOM/)
})

test('a reply that says the server cannot serve (LOADING, BUSY...) is an outage, as a timeout is', async () => {
  for (const fail of [() => Promise.reject(replyError('LOADING Redis is loading the dataset in memory')), () => new Promise(() => {})]) {
    const { h, lines } = health(fakeClient())
    await assert.rejects(h.run('get', fail), RedisUnavailable)
    assert.equal(h.healthy, false)
    assert.equal(h.available, false, 'cool-down')
    // Skipped at once during the cool-down, without calling Redis.
    let called = false
    await assert.rejects(
      h.run('get', async () => (called = true)),
      (err) => err instanceof RedisUnavailable && err.skipped === true,
    )
    assert.equal(called, false)
    assert.equal(lines.length, 1, lines.join('\n'))
    assert.match(lines[0], /^Redis unavailable \(.*\); doing without$/)
  }
})

test('recovery: a successful call after the cool-down, or a reconnect, ends the outage once and calls onRecover', async () => {
  const client = fakeClient()
  const { h, lines, recovered } = health(client)
  client.emit('close')
  assert.equal(h.healthy, false)
  await new Promise((resolve) => setTimeout(resolve, COOL_DOWN_MS + 20))
  assert.equal(await h.run('get', async () => 1), 1)
  assert.equal(await h.run('get', async () => 2), 2)
  assert.equal(recovered.length, 1, 'onRecover once, after the call that ended the outage')
  assert.deepEqual(lines.slice(1), ['Redis reachable again'])
  client.emit('error', new Error('ECONNRESET'))
  client.emit('ready')
  assert.equal(h.healthy, true)
  assert.equal(h.available, true)
  assert.equal(recovered.length, 2, "and on 'ready'")
  h.close()
  assert.equal(h.available, false)
  client.emit('close')
  assert.equal(h.healthy, true, 'closed: no longer follows the client')
})

test('first connection: a call waits for it (bounded by the timeout); one that does not come starts an outage', async () => {
  const client = fakeClient('connecting')
  const { h } = health(client)
  setTimeout(() => {
    client.status = 'ready'
    client.emit('ready')
  }, 10)
  assert.equal(await h.run('get', async () => 'first', { firstConnection: true }), 'first')
  // Without firstConnection (the page tier checks awaitFirstConnection itself), no wait.
  const other = health(fakeClient('connecting')).h
  await assert.rejects(other.run('get', async () => 1), RedisUnavailable)
  const t0 = Date.now()
  assert.equal(await other.awaitFirstConnection(), false)
  assert.ok(Date.now() - t0 < 1000)
  assert.equal(other.healthy, false)
  // During the cool-down that started, no further wait.
  const t1 = Date.now()
  assert.equal(await other.awaitFirstConnection(), false)
  assert.ok(Date.now() - t1 < 20, `${Date.now() - t1} ms`)
})
