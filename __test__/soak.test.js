'use strict'

// Issue #12 §4, the CI variant of `npm run soak`: 60 seconds of `next-native image serve`
// under the soak's request mix (the `next start` target is left to `npm run soak`: building
// the example app alone takes about a minute on 2 cores). The verdict is the script's own
// (no death, no 5xx or other status Next would not give, no socket error; the RSS slope is
// reported, not judged, on a run this short), and every category of the mix must have run,
// so that a mix that silently stopped sending, say, corrupt files cannot pass.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const linuxOnly = process.platform !== 'linux' && 'the soak samples RSS from /proc (Linux only)'

test('soak (CI variant): 60 s of image serve under the mixed load', { skip: linuxOnly, timeout: 600_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-soak-test-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const json = path.join(dir, 'soak.json')
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'soak.mjs'), '--duration', '60', '--target', 'serve', '--json', json], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const code = await new Promise((resolve) => child.once('exit', (c, s) => resolve(c ?? s)))
  for (const line of output.slice(output.indexOf('| |')).trim().split('\n')) t.diagnostic(line)
  assert.ok(fs.existsSync(json), `no JSON written (exit ${code}):\n${output}`)
  const result = JSON.parse(fs.readFileSync(json, 'utf8'))
  assert.equal(result.runs.length, 1)
  const run = result.runs[0]
  assert.equal(run.setupError, undefined, run.setupError)

  // The verdict, piece by piece (clearer failures than the exit code alone).
  assert.equal(run.deaths, 0, 'the service died')
  assert.deepEqual(run.stop, { code: 0, signal: null }, 'SIGTERM must stop it cleanly')
  assert.equal(run.unexpected5xx, 0, `5xx Next would not give: ${JSON.stringify(run.unexpected)}`)
  assert.equal(run.unexpectedCount, 0, `statuses Next would not give: ${JSON.stringify(run.unexpected)}`)
  assert.equal(run.errorCount, 0, `socket errors: ${JSON.stringify(run.errors)}`)
  assert.equal(result.pass, true, result.failures.join('\n'))
  assert.equal(code, 0, output)

  // It really ran for the duration, sampling RSS each second.
  assert.ok(run.durationS >= 60, `ran ${run.durationS} s`)
  assert.ok(run.rss.samples.length >= 50, `${run.rss.samples.length} RSS samples`)
  assert.ok(run.rss.maxMiB > 0 && Number.isFinite(run.rss.slopeMiBPerMin))
  assert.ok(run.latencyMs.p50 > 0 && run.latencyMs.p99 >= run.latencyMs.p50)

  // Every category happened, with the status Next gives for it.
  const c = run.categories
  const expected = { miss: 200, hit: 200, revalidate: 304, corrupt: null, hostile: 200, notFound: 404, invalid: 400, badAccept: 500, identical: 200 }
  for (const [name, status] of Object.entries(expected)) {
    assert.ok(c[name]?.count > 0, `no ${name} requests: ${JSON.stringify(c)}`)
    if (status) assert.equal(c[name].statuses[status], c[name].count, `${name}: ${JSON.stringify(c[name].statuses)}`)
  }
  // Corrupt sources: served unchanged (200) when they sniff as an image, else 400.
  assert.equal((c.corrupt.statuses[200] || 0) + (c.corrupt.statuses[400] || 0), c.corrupt.count)
  // Cache hits happened, and the identical bursts got one answer each.
  assert.ok(c.hit.xcache.HIT > 0, `no cache hits: ${JSON.stringify(c.hit)}`)
  assert.ok(c.miss.xcache.MISS > 0)
  assert.ok(run.identicalGroups.identical > 0 && run.identicalGroups.consistent === run.identicalGroups.identical, JSON.stringify(run.identicalGroups))
  // The only 5xx are the malformed-Accept 500s Next gives too.
  assert.equal(run.fivexx, c.badAccept.count)
})
