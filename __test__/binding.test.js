'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const binding = require('../index.js')
const pkg = require('../package.json')

test('require() loads the native addon built from this checkout', () => {
  const info = binding.nativeInfo()
  assert.equal(info.version, pkg.version)
  assert.match(info.target, /^(x86_64|aarch64)-/)
  assert.equal(typeof info.release, 'boolean')
  assert.equal(binding.__napiBindingTarget, 'native')
})

test('a panic in a sync native call throws an Error with a code, and Node keeps running', () => {
  assert.throws(
    () => binding.__panicForTestsSync('sync boom'),
    (err) => {
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'ERR_NATIVE_PANIC')
      assert.match(err.message, /internal error in @rs\/next-native \(sync boom\)/)
      return true
    },
  )
  // The addon is still usable after the panic.
  assert.equal(binding.nativeInfo().version, pkg.version)
})

test('a panic on a worker thread rejects the promise with a coded Error', async () => {
  await assert.rejects(binding.__panicForTests('async boom'), (err) => {
    assert.ok(err instanceof Error)
    assert.equal(err.code, 'ERR_NATIVE_PANIC')
    assert.match(err.message, /\(async boom\)/)
    return true
  })
  // Many concurrent panics: every one rejects, none aborts the process.
  const results = await Promise.allSettled(Array.from({ length: 32 }, (_, i) => binding.__panicForTests(`p${i}`)))
  assert.equal(results.filter((r) => r.status === 'rejected' && r.reason.code === 'ERR_NATIVE_PANIC').length, 32)
})

test('a panicking call in a child process leaves it to exit normally (no abort, exit 0)', () => {
  const script = `
    const b = require(${JSON.stringify(path.join(__dirname, '..', 'index.js'))});
    try { b.__panicForTestsSync('x') } catch (e) { if (e.code !== 'ERR_NATIVE_PANIC') process.exit(3) }
    b.__panicForTests('y').catch((e) => { process.exitCode = e.code === 'ERR_NATIVE_PANIC' ? 0 : 4 })
  `
  const res = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, RUST_BACKTRACE: '0' } })
  assert.equal(res.signal, null, `child died from ${res.signal}`)
  assert.equal(res.status, 0, res.stderr.toString())
})

test('the CLI reports the loaded binary', () => {
  const res = spawnSync(process.execPath, [path.join(__dirname, '../bin/next-native.js'), 'info', '--json'])
  assert.equal(res.status, 0, res.stderr.toString())
  const info = JSON.parse(res.stdout)
  assert.equal(info.version, pkg.version)
  assert.match(info.path, /next-native\.[a-z0-9-]+\.node$/)
})

test('the CLI rejects an unknown command with exit code 2 and names it', () => {
  const res = spawnSync(process.execPath, [path.join(__dirname, '../bin/next-native.js'), 'frobnicate'])
  assert.equal(res.status, 2)
  assert.match(res.stderr.toString(), /unknown command 'frobnicate'/)
})
