'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ids = require('../lib/build-id')
const CLI = path.join(__dirname, '..', 'bin', 'next-native.js')

function tmp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-id-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

function writeTree(dir, files) {
  for (const [rel, contents] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    fs.writeFileSync(path.join(dir, rel), contents)
  }
}

function cli(args, opts = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', ...opts })
}

// A small seeded generator of project-like trees.
function randomTree(seed) {
  let s = seed
  const next = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32)
  const files = { 'package.json': `{"name":"p${seed}"}`, 'next.config.js': 'module.exports = {}' }
  const dirs = ['app', 'app/blog', 'components', 'lib', 'public', 'styles']
  for (let i = 0; i < 5 + Math.floor(next() * 20); i++) {
    const name = `${dirs[Math.floor(next() * dirs.length)]}/f${i}.${['tsx', 'ts', 'css', 'svg'][i % 4]}`
    files[name] = Buffer.from(Array.from({ length: Math.floor(next() * 300) }, () => Math.floor(next() * 256)))
  }
  return files
}

test('sync, async and the CLI give the same IDs on generated trees; IDs have the documented shape', async (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const dir = path.join(tmp(t), 'p')
    writeTree(dir, randomTree(seed))
    const opts = { dir, nextVersion: '16.4.6' }
    const asyncHash = await ids.hashProject(opts)
    const syncHash = ids.hashProjectSync(opts)
    assert.deepEqual(asyncHash, syncHash)
    assert.equal(await ids.buildId(opts), asyncHash.buildId)
    assert.equal(ids.buildIdSync(opts), asyncHash.buildId)
    assert.equal(await ids.deploymentId(opts), asyncHash.deploymentId)
    assert.deepEqual(await ids.hashTree(opts), asyncHash.manifest)

    assert.match(asyncHash.buildId, /^[2-9b-z]{26}$/)
    assert.doesNotMatch(asyncHash.buildId, /[ad]/)
    assert.match(asyncHash.deploymentId, /^[A-Za-z0-9_-]{1,32}$/)
    assert.ok(asyncHash.deploymentId.startsWith(asyncHash.buildId))

    // The CLI hashes the installed Next version, so give it none for comparison.
    const noNext = ids.buildIdSync({ dir })
    const res = cli(['build-id', '--dir', dir])
    assert.equal(res.status, 0, res.stderr)
    assert.equal(res.stdout.trim(), noNext)
  }
})

test('same ID for a copy of the tree written in another order with other mtimes', (t) => {
  const files = randomTree(99)
  const a = path.join(tmp(t), 'a')
  const b = path.join(tmp(t), 'b')
  writeTree(a, files)
  writeTree(b, Object.fromEntries(Object.entries(files).reverse()))
  const old = new Date('2001-01-01')
  for (const f of Object.keys(files)) fs.utimesSync(path.join(b, f), old, old)
  assert.equal(ids.buildIdSync({ dir: a }), ids.buildIdSync({ dir: b }))
})

test('a one-byte change, a rename or an added file changes the ID; --explain names exactly it', (t) => {
  const dir = tmp(t)
  writeTree(dir, randomTree(7))
  const before = path.join(tmp(t), 'before.json')
  const after = path.join(tmp(t), 'after.json')
  assert.equal(cli(['build-id', '--dir', dir, '--manifest', before]).status, 0)
  const id0 = ids.buildIdSync({ dir })

  const target = path.join(dir, 'package.json')
  const bytes = fs.readFileSync(target)
  bytes[3] ^= 1
  fs.writeFileSync(target, bytes)
  const id1 = ids.buildIdSync({ dir })
  assert.notEqual(id1, id0)

  fs.renameSync(path.join(dir, 'next.config.js'), path.join(dir, 'next.config.mjs'))
  const id2 = ids.buildIdSync({ dir })
  assert.notEqual(id2, id1)

  writeTree(dir, { 'app/new-page.tsx': 'export default 1' })
  assert.notEqual(ids.buildIdSync({ dir }), id2)

  assert.equal(cli(['build-id', '--dir', dir, '--manifest', after]).status, 0)
  const explained = cli(['build-id', '--explain', before, after, '--json'])
  assert.equal(explained.status, 1, 'differing manifests exit 1')
  assert.deepEqual(
    JSON.parse(explained.stdout).map((c) => [c.change, c.path]),
    [
      ['file_added', 'app/new-page.tsx'],
      ['file_removed', 'next.config.js'],
      ['file_added', 'next.config.mjs'],
      ['file_changed', 'package.json'],
    ].sort((x, y) => (x[1] < y[1] ? -1 : 1)),
  )
  const human = cli(['build-id', '--explain', before, after])
  assert.match(human.stdout, /^4 input\(s\) differ:/)
  assert.match(human.stdout, /\+ app\/new-page\.tsx \(file, 16 bytes\)/)
  assert.equal(cli(['build-id', '--explain', before, before]).status, 0)
})

test('.gitignore applies without .git; node_modules, .next and ignored files never change the ID', (t) => {
  const dir = tmp(t)
  writeTree(dir, { ...randomTree(3), '.gitignore': 'coverage/\n*.log\n', 'coverage/x.json': '1', 'debug.log': 'a' })
  const id = ids.buildIdSync({ dir })
  writeTree(dir, { 'coverage/x.json': '2', 'debug.log': 'b', 'node_modules/x/index.js': '1', '.next/BUILD_ID': 'x' })
  assert.equal(ids.buildIdSync({ dir }), id)
  const files = ids.hashTreeSync({ dir }).files.map((f) => f.path)
  assert.ok(files.includes('.gitignore'))
  assert.ok(!files.some((f) => f.startsWith('coverage/') || f.endsWith('.log') || f.startsWith('node_modules/')))
})

test('NEXT_PUBLIC_* and listed env vars change the ID; their values never reach the manifest', (t) => {
  const dir = tmp(t)
  writeTree(dir, randomTree(5))
  const saved = { ...process.env }
  t.after(() => {
    for (const k of ['NEXT_PUBLIC_API', 'SECRET_SALTY']) delete process.env[k]
    Object.assign(process.env, saved)
  })
  const base = ids.buildIdSync({ dir })
  process.env.NEXT_PUBLIC_API = 'https://api.example.com/v1-unique-value'
  const withPublic = ids.hashProjectSync({ dir })
  assert.notEqual(withPublic.buildId, base)
  assert.deepEqual(withPublic.manifest.env.map((e) => e.name), ['NEXT_PUBLIC_API'])
  assert.ok(!JSON.stringify(withPublic.manifest).includes('v1-unique-value'))

  process.env.SECRET_SALTY = 'hunter2-unique'
  assert.equal(ids.buildIdSync({ dir }), withPublic.buildId, 'unlisted vars do not count')
  const listed = ids.hashProjectSync({ dir, env: ['SECRET_SALTY'] })
  assert.notEqual(listed.buildId, withPublic.buildId)
  assert.ok(!JSON.stringify(listed.manifest).includes('hunter2-unique'))
  process.env.SECRET_SALTY = 'other'
  assert.notEqual(ids.buildIdSync({ dir, env: ['SECRET_SALTY'] }), listed.buildId)
  assert.notEqual(ids.buildIdSync({ dir, salt: 'x' }), withPublic.buildId)
})

test('the installed Next version is an input, resolved from the project', (t) => {
  const dir = tmp(t)
  writeTree(dir, { ...randomTree(11), 'node_modules/next/package.json': '{"name":"next","version":"16.4.6"}' })
  const a = ids.hashProjectSync({ dir })
  assert.equal(a.manifest.next_version, '16.4.6')
  writeTree(dir, { 'node_modules/next/package.json': '{"name":"next","version":"16.4.7"}' })
  const b = ids.hashProjectSync({ dir })
  assert.notEqual(b.buildId, a.buildId)
  assert.deepEqual(ids.explain(a.manifest, b.manifest), [{ change: 'next_version_changed', old: '16.4.6', new: '16.4.7' }])
})

test('generateBuildId hashes the current directory, for next.config', async (t) => {
  const dir = tmp(t)
  writeTree(dir, randomTree(21))
  const out = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(path.join(__dirname, '../lib/build-id.js'))}).generateBuildId().then(console.log)`], { cwd: dir, encoding: 'utf8' })
  assert.equal(out.trim(), ids.buildIdSync({ dir }))
  assert.equal(await ids.createGenerateBuildId({ dir })(), ids.buildIdSync({ dir }))
})

test('bad input: a missing dir, a FIFO, a bad glob and wrong option types are coded errors naming the problem', async (t) => {
  const missing = path.join(os.tmpdir(), 'definitely-missing-dir-xyz')
  assert.throws(() => ids.buildIdSync({ dir: missing }), (e) => e.code === 'ERR_BUILD_ID_PROJECT_DIR' && e.message.includes(missing))
  await assert.rejects(ids.buildId({ dir: missing }), (e) => e.code === 'ERR_BUILD_ID_PROJECT_DIR' && e.message.includes(missing))

  const dir = tmp(t)
  writeTree(dir, randomTree(2))
  if (process.platform !== 'win32') {
    execFileSync('mkfifo', [path.join(dir, 'app', 'pipe')])
    assert.throws(() => ids.buildIdSync({ dir }), (e) => e.code === 'ERR_BUILD_ID_SPECIAL_FILE' && e.message.includes(path.join('app', 'pipe')))
    fs.rmSync(path.join(dir, 'app', 'pipe'))
  }
  assert.throws(() => ids.buildIdSync({ dir, exclude: ['a[b'] }), (e) => e.code === 'ERR_BUILD_ID_GLOB' && e.message.includes('a[b'))
  assert.throws(() => ids.buildIdSync({ dir, env: 'NEXT_PUBLIC_X' }), (e) => e.code === 'ERR_INVALID_ARG_TYPE' && /options\.env/.test(e.message))
  assert.throws(() => ids.createGenerateBuildId({ dir: 42 }), (e) => e.code === 'ERR_INVALID_ARG_TYPE')

  const res = cli(['build-id', '--dir', missing])
  assert.equal(res.status, 1)
  assert.match(res.stderr, /project directory .*definitely-missing-dir-xyz/)
  assert.equal(cli(['build-id', '--explain', 'only-one.json']).status, 2)
})

test('an aborted hashTree rejects with an AbortError coded ERR_BUILD_ID_ABORTED', async (t) => {
  const dir = tmp(t)
  writeTree(dir, { 'a.txt': 'a' })
  const native = require('../index.js')
  const controller = new AbortController()
  controller.abort(new Error('deploy cancelled'))
  await assert.rejects(native.hashTree({ dir }, controller.signal), (err) => {
    assert.equal(err.name, 'AbortError')
    assert.equal(err.code, 'ERR_BUILD_ID_ABORTED')
    assert.equal(err.message, 'hashTree was aborted (its AbortSignal fired)')
    return true
  })
  // Without a signal, or with one that never fires, it resolves as before.
  assert.equal((await native.hashTree({ dir }, new AbortController().signal)).buildId, native.hashTreeSync({ dir }).buildId)
})
