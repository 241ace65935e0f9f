// The Redis tier with a real redis-server on loopback and two instances (separate
// processes, __test__/fixtures/redis-instance.js), each with its own in-process store:
//   revalidateTag  latency on A with 10k and 100k entries cached (in Redis and in A's store)
//                  carrying the tag: must not grow with the number of entries
//   get            L1 hit (A, in-process) vs L1 miss that hits L2 (B, empty store, Redis)
//   propagation    A's revalidateTag called -> B has applied the tag record (pub/sub)
import { fork } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { median, root, save, table, fmtMs } from './harness.mjs'

const require = createRequire(import.meta.url)
const { startRedis } = require(join(root, '__test__', 'fixtures', 'redis-server.js'))
const INSTANCE = join(root, '__test__', 'fixtures', 'redis-instance.js')

function instance(url) {
  const child = fork(INSTANCE, [], { env: { ...process.env, REDIS_URL: url, REDIS_KEY_PREFIX: 'nn-bench:' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  let next = 0
  const waiting = new Map()
  child.on('message', (m) => {
    if (m.ready) return child.emit('up')
    const w = waiting.get(m.id)
    waiting.delete(m.id)
    m.error ? w.reject(new Error(m.error)) : w.resolve(m.result)
  })
  child.call = (op, ...args) => new Promise((resolve, reject) => {
    const id = next++
    waiting.set(id, { resolve, reject })
    child.send({ id, op, args })
  })
  return new Promise((resolve) => child.once('up', () => resolve(child)))
}

const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]
// A FETCH entry as Next stores it (~2.5 KB), tagged with a shared tag and its own.
const entry = (i) => ({ kind: 'FETCH', data: { headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ i, text: 'x'.repeat(2400) })).toString('base64'), status: 200, url: `https://api/${i}` }, revalidate: 3600 })

const redis = await startRedis()
const children = []
try {
  const a = await instance(redis.url)
  const b = await instance(redis.url)
  children.push(a, b)
  await Promise.all([a.call('ready'), b.call('ready')])

  let filled = 0
  const fill = async (n) => {
    for (; filled < n; filled++) {
      const tags = ['shared', `t${filled % 1000}`]
      await a.call('set', `/k${filled}`, entry(filled), { kind: 'FETCH', tags })
    }
  }
  const revalidateLatency = async () => {
    const samples = []
    for (let i = 0; i < 200; i++) samples.push((await a.call('revalidateTag', [i % 2 ? 'shared' : `t${i}`])).ms)
    return { median: median(samples), p99: p(samples, 0.99) }
  }
  const propagation = async () => {
    const samples = []
    await b.call('stateTimes')
    for (let i = 0; i < 200; i++) {
      const { at } = await a.call('revalidateTag', [`prop${i}`])
      let got
      for (let spin = 0; spin < 1000 && !got; spin++) {
        got = (await b.call('stateTimes')).find(([, tags]) => tags.includes(`prop${i}`))
        if (!got) await new Promise((r) => setTimeout(r, 1))
      }
      if (got) samples.push(got[0] - at)
    }
    return { median: median(samples), p99: p(samples, 0.99), n: samples.length }
  }

  const rows = []
  const results = {}
  for (const n of [10_000, 100_000]) {
    await fill(n)
    results[n] = await revalidateLatency()
    rows.push([`revalidateTag, ${n.toLocaleString('en')} entries cached`, fmtMs(results[n].median), fmtMs(results[n].p99)])
  }

  // Gets: fresh keys written after the revalidations above, so they are valid everywhere.
  const keys = []
  for (let i = 0; i < 500; i++) {
    keys.push(`/g${i}`)
    await a.call('set', `/g${i}`, entry(i), { kind: 'FETCH', tags: [`g${i}`] })
  }
  const l1 = []
  const l2 = []
  for (const k of keys) {
    const hitB = await b.call('get', k, { kind: 'FETCH', tags: [] }) // first read on B: L1 miss -> Redis
    if (!hitB.hit) throw new Error(`B missed ${k}`)
    l2.push(hitB.ms)
    l1.push((await a.call('get', k, { kind: 'FETCH', tags: [] })).ms)
  }
  rows.push(['get, L1 hit (in-process, A)', fmtMs(median(l1)), fmtMs(p(l1, 0.99))])
  rows.push(['get, L1 miss -> L2 hit (Redis, B)', fmtMs(median(l2)), fmtMs(p(l2, 0.99))])
  const prop = await propagation()
  rows.push([`propagation A -> B (revalidateTag called -> B applied; ${prop.n}/200)`, fmtMs(prop.median), fmtMs(prop.p99)])

  console.log('\nRedis tier, loopback redis-server, 2.5 KB FETCH entries (times measured inside the instance process)\n')
  console.log(table(['operation', 'median', 'p99'], rows))
  const flat = results[100_000].median / results[10_000].median
  console.log(`\nrevalidateTag 100k / 10k entries: ${flat.toFixed(2)}× (flat = no key scan)`)
  console.log(`results: ${save('cache-redis', { revalidate: results, l1: { median: median(l1), p99: p(l1, 0.99) }, l2: { median: median(l2), p99: p(l2, 0.99) }, propagation: prop, flat })}`)
  await Promise.all(children.map((c) => c.call('close').catch(() => {})))
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  await redis.stop()
}
