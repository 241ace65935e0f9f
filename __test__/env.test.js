'use strict'

// @rs/next-native/env: the rules, stated one by one. The differential test compares us with
// @next/env on generated projects; this file pins the behaviour users rely on by name.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const OURS = path.join(__dirname, '..', 'lib', 'env.js')
const CLI = path.join(__dirname, '..', 'bin', 'next-native.js')
// Upstream dotenv / dotenv-expand fixtures (BSD-2-Clause), committed with their licences.
const FIXTURES = path.join(__dirname, '..', 'crates', 'env', 'tests', 'conformance')

function project(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'env-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, contents] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), contents)
  return dir
}

/** Runs `body` (with `env` = our module, `dir`) in a fresh process with exactly `initialEnv`. */
function inChild(dir, initialEnv, body) {
  const script = `const env = require(${JSON.stringify(OURS)}); const dir = ${JSON.stringify(dir)};
    const out = (() => { ${body} })(); process.stdout.write(JSON.stringify(out, (k, v) => (v === undefined ? null : v)))`
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { PATH: process.env.PATH, ...initialEnv }, encoding: 'utf8' }))
}

test('module shape matches @next/env: same export names, getters, __esModule, live initialEnv', () => {
  const upstream = require('@next/env')
  const ours = require(OURS)
  const names = Object.keys(upstream)
  assert.deepEqual(Object.keys(ours).filter((k) => k !== 'explainEnv'), names)
  for (const name of names) {
    const d = Object.getOwnPropertyDescriptor(ours, name)
    assert.equal(typeof d.get, 'function', `${name} is a getter`)
    assert.equal(d.enumerable, true)
    assert.equal(d.configurable, false)
  }
  assert.equal(ours.__esModule, true)
})

test('native ESM named imports work (they do not with @next/env)', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `import { loadEnvConfig, initialEnv } from ${JSON.stringify(OURS)}; console.log(typeof loadEnvConfig, initialEnv)`], { encoding: 'utf8' })
  assert.equal(out.trim(), 'function undefined')
})

test('file order and priority: .env.$mode.local > .env.local > .env.$mode > .env; the environment always wins', (t) => {
  const dir = project(t, {
    '.env': 'A=env\nB=env\nC=env\nD=env\nE=env',
    '.env.production': 'A=prod\nB=prod\nC=prod',
    '.env.local': 'A=local\nB=local',
    '.env.production.local': 'A=prodlocal',
    '.env.test': 'T=test',
  })
  const r = inChild(dir, { E: 'from-shell' }, 'const r = env.loadEnvConfig(dir, false); return { parsed: r.parsedEnv, files: r.loadedEnvFiles.map((f) => f.path), E: process.env.E, same: r.combinedEnv === process.env }')
  assert.deepEqual(r.parsed, { A: 'prodlocal', B: 'local', C: 'prod', D: 'env' })
  assert.deepEqual(r.files, ['.env.production.local', '.env.local', '.env.production', '.env'])
  assert.equal(r.E, 'from-shell')
  assert.equal(r.same, true)
  // NODE_ENV=test selects test mode and skips .env.local.
  const tr = inChild(dir, { NODE_ENV: 'test' }, 'const r = env.loadEnvConfig(dir, true); return { files: r.loadedEnvFiles.map((f) => f.path), B: process.env.B, T: process.env.T }')
  assert.deepEqual(tr, { files: ['.env.test', '.env'], B: 'env', T: 'test' })
})

test('expansion: $VAR, ${VAR}, ${VAR:-default}, \\$ escapes, cross-file references, self-reference drops the file', (t) => {
  const dir = project(t, {
    '.env.local': 'LOCAL_HOST=db.local\nLOOP=$LOOP',
    '.env.production': 'HOST=db.prod',
    '.env': 'URL=postgres://${USER}:${PASS:-secret}@$HOST/app\nPRICE=\\$5\nUSER=me\nALSO=$LOCAL_HOST',
  })
  const r = inChild(dir, {}, `
    const errors = []
    const r = env.loadEnvConfig(dir, false, { info() {}, error: (m, e) => errors.push([m, e.name, e.message]) })
    return { URL: process.env.URL, PRICE: process.env.PRICE, LOCAL_HOST: process.env.LOCAL_HOST, ALSO: process.env.ALSO, LOOP: process.env.LOOP, errors }`)
  // HOST comes from a higher-priority file; USER is defined later in the same file.
  assert.equal(r.URL, 'postgres://me:secret@db.prod/app')
  assert.equal(r.PRICE, '$5')
  assert.equal(r.LOCAL_HOST, null, '.env.local was dropped as a whole')
  assert.equal(r.ALSO, '', 'so nothing can reference it')
  assert.equal(r.LOOP, null)
  assert.deepEqual(r.errors, [[`Failed to load env from ${path.join(dir, '.env.local')}`, 'RangeError', 'Maximum call stack size exceeded']])
})

test('caching, forceReload, onReload, __NEXT_PROCESSED_ENV and resetEnv behave as in @next/env', (t) => {
  const dir = project(t, { '.env': 'A=1' })
  const r = inChild(dir, { KEEP: 'k' }, `
    const reloads = []
    const first = env.loadEnvConfig(dir, false, console, false, (p) => reloads.push(p))
    require('fs').writeFileSync(require('path').join(dir, '.env'), 'A=2')
    const cached = env.loadEnvConfig(dir, true)
    process.env.LATER = 'x'
    const forced = env.loadEnvConfig(dir, false, console, true, (p) => reloads.push(p))
    const afterForce = { A: process.env.A, LATER: process.env.LATER, processed: process.env.__NEXT_PROCESSED_ENV }
    env.resetEnv()
    return { sameObject: cached === first || cached.combinedEnv === first.combinedEnv, cachedA: cached.parsedEnv.A, forcedA: forced.parsedEnv.A,
      reloads, afterForce, afterReset: { A: process.env.A, KEEP: process.env.KEEP, processed: process.env.__NEXT_PROCESSED_ENV } }`)
  assert.equal(r.cachedA, '1', 'a second call returns the cache whatever dir/dev are')
  assert.equal(r.forcedA, '2')
  assert.deepEqual(r.reloads, ['.env', '.env'])
  assert.deepEqual(r.afterForce, { A: '2', LATER: null, processed: 'true' }, 'forceReload restores the initial snapshot first')
  assert.deepEqual(r.afterReset, { A: null, KEEP: 'k', processed: null })
  // Already processed (a child of `next start`, a Jest worker): files are read, nothing applied.
  const p = inChild(dir, { __NEXT_PROCESSED_ENV: 'true' }, 'const r = env.loadEnvConfig(dir); return { parsed: r.parsedEnv === undefined, env: r.loadedEnvFiles[0].env, A: process.env.A }')
  assert.deepEqual(p, { parsed: true, env: {}, A: null })
})

test('combinedEnv is the worker thread\'s own process.env inside a worker', (t) => {
  const dir = project(t, { '.env': 'W=worker-value' })
  const out = execFileSync(process.execPath, ['-e', `
    const { Worker } = require('worker_threads')
    const w = new Worker(\`
      const { parentPort } = require('worker_threads')
      const r = require(${JSON.stringify(OURS)}).loadEnvConfig(${JSON.stringify(dir)})
      parentPort.postMessage({ same: r.combinedEnv === process.env, W: process.env.W })\`, { eval: true })
    w.on('message', (m) => { console.log(JSON.stringify({ ...m, mainW: process.env.W ?? null })); w.terminate() })`], { encoding: 'utf8' })
  assert.deepEqual(JSON.parse(out), { same: true, W: 'worker-value', mainW: null })
})

test('upstream dotenv-expand 10.0.0 fixture, loaded the way @next/env loads it', (t) => {
  const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'dotenv-expand-10.0.0', 'expected.json'), 'utf8'))
  const contents = fs.readFileSync(path.join(FIXTURES, 'dotenv-expand-10.0.0', 'tests.env'), 'utf8')
  for (const mode of ['oracle_nextjs_mode_machine_preset', 'oracle_nextjs_mode_no_machine']) {
    const c = expected.integration[mode]
    const dir = project(t, { '.env': contents })
    // NODE_ENV=test is in the fixture file; the mode comes from the environment, which has none.
    const got = inChild(dir, c.process_env_before, 'return env.loadEnvConfig(dir).loadedEnvFiles[0].env')
    assert.deepEqual(got, c.parsed, mode)
  }
})

test('errors never lose or change what is already in process.env', (t) => {
  const dir = project(t, { '.env': Buffer.from([0x41, 0x3d, 0xff, 0x0a, 0x42, 0x3d, 0x24, 0x42]) })
  fs.mkdirSync(path.join(dir, '.env.local'))
  const r = inChild(dir, { KEEP: 'v$1', A: 'shell' }, `
    const errors = []
    env.loadEnvConfig(dir, false, { error: (m) => errors.push(m) })
    return { KEEP: process.env.KEEP, A: process.env.A, B: process.env.B, errors }`)
  assert.deepEqual(r, { KEEP: 'v$1', A: 'shell', B: null, errors: [`Failed to load env from ${path.join(dir, '.env')}`] })
})

test('explainEnv: origin, shadowed definitions, references and the classic traps, without touching process.env', (t) => {
  const dir = project(t, {
    '.env.local': 'HOST=local-db\nBROKEN="never closed',
    '.env': 'HOST=db\nDB_PASS=abc$def\nURL=postgres://${HOST}/app\nPORT=3000',
  })
  const r = inChild(dir, { PORT: '8080' }, 'const before = JSON.stringify(process.env); const e = env.explainEnv(dir); return { e, untouched: before === JSON.stringify(process.env) }')
  assert.equal(r.untouched, true)
  const v = Object.fromEntries(r.e.variables.map((x) => [x.key, x]))
  assert.deepEqual(r.e.files, ['.env.local', '.env'])
  assert.equal(v.HOST.value, 'local-db')
  assert.equal(v.HOST.source, '.env.local')
  assert.deepEqual(v.HOST.definitions.map((d) => `${d.file}:${d.line}`), ['.env.local:1', '.env:1'])
  assert.equal(v.PORT.source, 'process.env')
  assert.equal(v.PORT.value, '8080')
  assert.deepEqual(v.URL.references, [{ name: 'HOST', text: '${HOST}', source: 'process.env', inserted: 'local-db' }])
  const codes = r.e.warnings.map((w) => `${w.file}:${w.line}:${w.code}`)
  assert.ok(codes.includes('.env:2:empty-reference'), codes.join())
  assert.ok(codes.includes('.env.local:2:unterminated-quote'), codes.join())
  assert.throws(() => require(OURS).explainEnv(dir, { mode: 'staging' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /staging/.test(e.message))
  assert.throws(() => require(OURS).explainEnv(42), (e) => e.code === 'ERR_INVALID_ARG_TYPE')
})

test('next-native env: KEY=value, --explain, --json, and a clear error for a bad mode', (t) => {
  const dir = project(t, { '.env': 'A=1\nB=${A}2', '.env.development': 'A=dev' })
  const run = (...args) => spawnSync(process.execPath, [CLI, 'env', '--dir', dir, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } })
  assert.equal(run().stdout, 'A=1\nB=12\n')
  assert.equal(run('--mode', 'development').stdout, 'A=dev\nB=dev2\n')
  assert.equal(run('--dev').stdout, 'A=dev\nB=dev2\n')
  const explained = run('--explain', '--dev').stdout
  assert.match(explained, /^mode: development\nfiles: \.env\.development, \.env\n/)
  assert.match(explained, /A=dev\n {2}from \.env\.development:1\n {2}shadowed: \.env:1 \("1"\)/)
  assert.deepEqual(JSON.parse(run('--json').stdout).variables.map((v) => v.key), ['A', 'B'])
  const bad = run('--mode', 'staging')
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /options\.mode must be one of development, production, test/)
})
