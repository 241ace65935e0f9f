// The cache: @rs/next-native vs lru-cache 11 (maxSize + sizeCalculation, sized as Next sizes)
// and Next 16.4's own default in-memory cache (FileSystemCache, flushToDisk off), with
// realistic entries: APP_PAGE (≈28 KB html + 30 KB rscData + segmentData) and FETCH (≈5 KB).
// Every implementation and scenario runs in its own process (benches/anchors/cache-worker.cjs).
//   throughput  awaited get hits, one at a time: uniform over every key, and Zipf(1.0)
//   memory      budget BUDGET_MIB (default 1024) filled with twice that: RSS growth, full GC
//   hitrate     Zipf(1.0) over 20,000 keys, cache-aside, at 8 and 16 MiB
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { root, save, table } from './harness.mjs'

const worker = join(root, 'benches', 'anchors', 'cache-worker.cjs')
const IMPLS = ['ours', 'ours-nocompress', 'lru-cache', 'next-default']
const LABEL = { ours: '@rs/next-native', 'ours-nocompress': '@rs/next-native, no compression', 'lru-cache': 'lru-cache 11', 'next-default': "Next 16.4's default" }
const budgetMiB = Number(process.env.BUDGET_MIB || 1024)

function runWorker(impl, ...args) {
  const out = execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', worker, impl, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 })
  return JSON.parse(out.trim().split('\n').pop())
}

const fmtOps = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M/s` : `${(n / 1e3).toFixed(1)} k/s`)
const results = { throughput: {}, memory: {}, hitrate: {} }
for (const impl of IMPLS) {
  results.throughput[impl] = runWorker(impl, 'throughput')
  results.hitrate[impl] = { 8: runWorker(impl, 'hitrate', '8').hitRate, 16: runWorker(impl, 'hitrate', '16').hitRate }
  if (impl !== 'ours-nocompress') results.memory[impl] = runWorker(impl, 'memory', String(budgetMiB))
}

const KINDS = ['page', 'pageZipf', 'pageHot', 'fetch', 'set']
const next = results.throughput['next-default']
const lru = results.throughput['lru-cache']
console.log('\nGet-hit throughput (awaited gets, one at a time; ratio = ours / anchor)\n')
console.log(
  table(
    ['implementation', 'APP_PAGE, uniform', 'APP_PAGE, Zipf(1.0)', 'one hot APP_PAGE', 'FETCH, uniform', 'APP_PAGE set'],
    IMPLS.map((impl) => {
      const t = results.throughput[impl]
      return [LABEL[impl], ...KINDS.map((k) => fmtOps(t[k].opsPerSec))]
    }).concat([
      ['ours / Next default', ...KINDS.map((k) => `${(results.throughput.ours[k].opsPerSec / next[k].opsPerSec).toFixed(3)}×`)],
      ['ours / lru-cache', ...KINDS.map((k) => `${(results.throughput.ours[k].opsPerSec / lru[k].opsPerSec).toFixed(3)}×`)],
    ]),
  ),
)

console.log(`\nMemory: a ${budgetMiB} MiB budget filled with ${2 * budgetMiB} MiB of entries\n`)
const oursGc = results.memory.ours.gcMs
console.log(
  table(
    ['implementation', 'RSS growth / budget', 'V8 heap used', 'full GC (median of 5)', 'GC vs ours'],
    Object.entries(results.memory).map(([impl, m]) => [
      LABEL[impl],
      `${(m.rssGrowth / m.budget).toFixed(2)}×`,
      `${(m.heapUsed / 2 ** 20).toFixed(0)} MiB`,
      `${m.gcMs.toFixed(1)} ms`,
      `${(m.gcMs / oursGc).toFixed(0)}×`,
    ]),
  ),
)

console.log('\nHit rate at equal memory (Zipf(1.0) over 20,000 keys, cache-aside)\n')
console.log(
  table(
    ['implementation', '8 MiB', '16 MiB'],
    IMPLS.map((impl) => [LABEL[impl], `${(results.hitrate[impl][8] * 100).toFixed(1)}%`, `${(results.hitrate[impl][16] * 100).toFixed(1)}%`]),
  ),
)
console.log(`\nsaved ${save('cache', results)}`)
