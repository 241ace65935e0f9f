'use strict'

// Differential test: the same generated multi-file projects go through @next/env 16.4.6
// (the real thing, a dev dependency) and through @rs/next-native/env, and everything a
// user can observe must be identical: process.env after each call, parsedEnv,
// loadedEnvFiles (path, contents, env), onReload calls, log.error calls, initialEnv.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const RUNNER = path.join(__dirname, 'fixtures', 'env-runner.js')
const OURS = path.join(__dirname, '..', 'lib', 'env.js')
const UPSTREAM = require.resolve('@next/env')

// A small deterministic PRNG (mulberry32), so a failure names a reproducible seed.
function rng(seed) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = (xs) => xs[Math.floor(next() * xs.length)]
  return { next, pick, chance: (p) => next() < p }
}

const KEYS = ['A', 'B', 'C', 'PORT', 'HOST', 'DB_URL', 'SECRET', 'EMPTY', '10', '2', 'NODE_ENV', 'my.key', 'x-y']
const REFS = ['A', 'B', 'C', 'PORT', 'HOST', 'UNSET', 'EMPTY', 'SECRET', '2']
const WORDS = ['1', 'localhost', 'a b', 'p@ss', '', 'x#y', 'über', '😀', ' pad ', 'a\\nb', "it's", 'q"q']

function value(r) {
  const ref = () => r.pick(REFS)
  return r.pick([
    () => r.pick(WORDS),
    () => `$${ref()}`,
    () => `\${${ref()}}`,
    () => `\${${ref()}:-${r.pick(['def', '', 'x:y', '$A'])}}`,
    () => `$${ref()}:-fallback`,
    () => `pre\${${ref()}}post`,
    () => `\\$${ref()}`,
    () => `$${ref()}$${ref()}`,
    () => `costs 5$`,
    () => `ab$${ref()}\\$y`,
    () => `{ port: $${ref()}}`,
    () => `x$&y`,
    () => `pa\\$\\$word`,
  ])()
}

function line(r) {
  const key = r.pick(KEYS)
  const v = value(r)
  return r.pick([
    () => `${key}=${v}`,
    () => `export ${key}=${v}`,
    () => `${key}: ${v}`,
    () => `  ${key} =  ${v}   # trailing comment`,
    () => `${key}="${v}"`,
    () => `${key}='${v}'`,
    () => `${key}=\`${v}\``,
    () => `${key}="first\n${v}\nthird"`,
    () => `${key}="esc\\n${v}\\r"`,
    () => `${key}=`,
    () => `# ${key}=${v}`,
    () => '',
    () => `${key}="unterminated ${v}`,
    () => `not a valid line`,
    () => `__proto__=${v}`,
  ])()
}

function envFile(r) {
  const lines = Array.from({ length: 1 + Math.floor(r.next() * 8) }, () => line(r))
  const eol = r.pick(['\n', '\n', '\r\n', '\r'])
  return (r.chance(0.1) ? '\uFEFF' : '') + lines.join(eol) + (r.chance(0.5) ? eol : '')
}

const FILES = ['.env', '.env.local', '.env.development', '.env.production', '.env.test', '.env.development.local', '.env.production.local', '.env.test.local']

function generate(seed, root) {
  const r = rng(seed)
  const dir = path.join(root, `p${seed}`)
  fs.mkdirSync(dir)
  for (const name of FILES) if (r.chance(0.55)) fs.writeFileSync(path.join(dir, name), envFile(r))
  const initialEnv = {}
  for (const key of REFS) if (r.chance(0.2)) initialEnv[key] = r.pick(['pre', '', 'has$A', 'a$b'])
  const nodeEnv = r.pick([undefined, 'test', 'production', 'development'])
  if (nodeEnv) initialEnv.NODE_ENV = nodeEnv
  if (r.chance(0.05)) initialEnv.__NEXT_PROCESSED_ENV = 'true'
  const dev = r.chance(0.5)
  const calls = [{ op: 'load', dev }]
  if (r.chance(0.3)) calls.push({ op: 'load', dev: !dev }) // cached: dir/dev ignored
  if (r.chance(0.3)) calls.push({ op: 'set', key: 'WRITTEN_LATER', value: '1' })
  if (r.chance(0.2)) calls.push({ op: 'updateInitialEnv', env: { ADDED: 'kept', A: undefined } })
  if (r.chance(0.4)) calls.push({ op: 'load', dev, forceReload: true })
  if (r.chance(0.2)) calls.push({ op: 'reset' })
  return { name: `seed ${seed}`, dir, initialEnv, calls }
}

function run(impl, projectsFile) {
  return JSON.parse(execFileSync(process.execPath, [RUNNER, impl, projectsFile], { encoding: 'utf8', maxBuffer: 1 << 28 }))
}

function compare(projects, root) {
  const file = path.join(root, 'projects.json')
  fs.writeFileSync(file, JSON.stringify(projects))
  const theirs = run(UPSTREAM, file)
  const ours = run(OURS, file)
  assert.equal(ours.length, theirs.length)
  for (let i = 0; i < theirs.length; i++) assert.deepEqual(ours[i], theirs[i], `${theirs[i].name} differs`)
}

test('generated multi-file projects: identical to @next/env 16.4.6', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'env-diff-'))
  try {
    compare(Array.from({ length: 300 }, (_, i) => generate(i + 1, root)), root)
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})

test('bad input: binary garbage, invalid UTF-8, huge files, a directory named .env, a symlink loop', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'env-bad-'))
  try {
    const projects = []
    const project = (name, files, extra = {}) => {
      const dir = path.join(root, name)
      fs.mkdirSync(dir)
      for (const [file, contents] of Object.entries(files)) {
        if (contents === 'DIR') fs.mkdirSync(path.join(dir, file))
        else if (contents === 'LOOP') fs.symlinkSync(file, path.join(dir, file))
        else fs.writeFileSync(path.join(dir, file), contents)
      }
      projects.push({ name, dir, initialEnv: { KEEP: 'me', A: 'a$B' }, calls: [{ op: 'load', dev: true }], ...extra })
    }
    const r = rng(42)
    project('garbage', { '.env': Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r.next() * 256))) })
    project('invalid-utf8', { '.env': Buffer.concat([Buffer.from('A=ok\nB="'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"\nC=\xff')]) })
    project('nul-bytes', { '.env': 'A=x\u0000y\nB=$A' })
    // ~1.5 MB; every 100th line references the line before it (a flat, not chained, reference).
    project('huge', { '.env': Array.from({ length: 50_000 }, (_, i) => (i % 100 === 99 ? `K${i}=$K${i - 1}` : `K${i}=value_${i}`)).join('\n') })
    project('dir-named-env', { '.env': 'DIR', '.env.local': 'B=1' })
    project('symlink-loop', { '.env': 'LOOP', '.env.local': 'B=1' })
    project('self-reference', { '.env.local': 'A=$B\nB=$A', '.env': 'C=still-loaded\nD=${C}' })
    project('self-reference-through-env', { '.env': 'X=$X', '.env.development': 'Y=1' })
    compare(projects, root)
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
})
