// @rs/next-native/env vs @next/env 16.4.6.
//   cold:  a fresh `node` process that requires the module and loads a realistic 4-file project
//   warm:  one loadEnvConfig(dir, dev, log, forceReload = true) call, in-process
//   large: the same, on a 2000-line .env whose values reference the line before
// Each implementation runs in its own child process (both own process.env and module state).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { alternate, fmtMs, root, save, speedup, table } from './harness.mjs'

const require = createRequire(import.meta.url)
const IMPLS = { '@next/env': require.resolve('@next/env'), ours: join(root, 'lib', 'env.js') }

function realisticProject(dir) {
  // Shapes taken from real apps: URLs built from parts, defaults, quoted multi-line keys.
  writeFileSync(
    join(dir, '.env'),
    [
      '# defaults',
      'NODE_OPTIONS=--max-old-space-size=4096',
      'NEXT_PUBLIC_APP_NAME="My App"',
      'NEXT_PUBLIC_SITE_URL=https://example.com',
      'DB_HOST=localhost',
      'DB_PORT=5432',
      'DB_USER=app',
      'DB_NAME=app',
      'DATABASE_URL=postgres://${DB_USER}:${DB_PASS:-secret}@${DB_HOST}:${DB_PORT}/${DB_NAME}',
      'REDIS_URL=redis://${REDIS_HOST:-127.0.0.1}:6379',
      'PRIVATE_KEY="-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END KEY-----"',
      ...Array.from({ length: 30 }, (_, i) => `FEATURE_FLAG_${i}=${i % 2 ? 'true' : 'false'}`),
    ].join('\n'),
  )
  writeFileSync(join(dir, '.env.local'), 'DB_PASS=hunter2\nSTRIPE_KEY=sk_test_123\nNEXT_PUBLIC_API=${NEXT_PUBLIC_SITE_URL}/api\n')
  writeFileSync(join(dir, '.env.production'), 'NEXT_PUBLIC_SITE_URL=https://prod.example.com\nLOG_LEVEL=info\nCDN=${NEXT_PUBLIC_SITE_URL}/cdn\n')
  writeFileSync(join(dir, '.env.production.local'), 'LOG_LEVEL=warn\nSENTRY_DSN=https://abc@o1.ingest.sentry.io/1\n')
}

function chainProject(dir) {
  const lines = ['V0=base']
  for (let i = 1; i < 2000; i++) lines.push(`V${i}=\${V${i - 1}}:${i}`)
  writeFileSync(join(dir, '.env'), lines.join('\n'))
}

// 2000 lines, each building a value from 8 earlier short values: upstream rescans the whole
// value after every one of the 8 replacements.
function manyRefsProject(dir) {
  const lines = Array.from({ length: 20 }, (_, i) => `BASE_${i}=value-${i}`)
  for (let i = 20; i < 2000; i++) {
    const refs = Array.from({ length: 8 }, (_, j) => `\${BASE_${(i + j) % 20}}`).join('/')
    lines.push(`URL_${i}=https://${refs}?id=${i}`)
  }
  writeFileSync(join(dir, '.env'), lines.join('\n'))
}

// Parse + expand only, no process.env: dotenv 16.3.1 + dotenv-expand 10.0.0 (what @next/env
// bundles) with ignoreProcessEnv, against our native call with an empty environment.
const EXPAND_ONLY = `
  const fs = require('fs'); const text = fs.readFileSync(process.argv[2] + '/.env', 'utf8'); const n = +process.argv[3]
  let run
  if (process.argv[1] === 'ours') { const b = require(${JSON.stringify(join(root, 'index.js'))}); run = () => b.envLoadFiles([text], {}) }
  else { const dotenv = require('dotenv'); const { expand } = require('dotenv-expand'); run = () => expand({ parsed: dotenv.parse(text), ignoreProcessEnv: true }) }
  run()
  const t = []
  for (let i = 0; i < n; i++) { const s = process.hrtime.bigint(); run(); t.push(Number(process.hrtime.bigint() - s) / 1e6) }
  t.sort((a, b) => a - b); console.log(t[t.length >> 1])`

// Prints the median per-call time of `iterations` forced reloads, measured inside the child.
const WARM = `
  const env = require(process.argv[1]); const dir = process.argv[2]; const n = +process.argv[3]
  const log = { info() {}, error(...a) { console.error(...a) } }
  env.loadEnvConfig(dir, false, log)
  const t = []
  for (let i = 0; i < n; i++) { const s = process.hrtime.bigint(); env.loadEnvConfig(dir, false, log, true); t.push(Number(process.hrtime.bigint() - s) / 1e6) }
  t.sort((a, b) => a - b); console.log(t[t.length >> 1])`

const COLD = `const s = process.hrtime.bigint(); require(process.argv[1]).loadEnvConfig(process.argv[2], false)
  console.log(Number(process.hrtime.bigint() - s) / 1e6)`

function child(script, args) {
  return Number(execFileSync(process.execPath, ['-e', script, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } }).trim())
}

const tmp = mkdtempSync(join(tmpdir(), 'env-bench-'))
try {
  const real = join(tmp, 'real')
  const chain = join(tmp, 'chain')
  const many = join(tmp, 'many')
  for (const d of [real, chain, many]) execFileSync('mkdir', ['-p', d])
  realisticProject(real)
  chainProject(chain)
  manyRefsProject(many)

  // Cold: whole-process wall time (spawn + require + load), and the in-process require+load part.
  const coldWall = await alternate(
    Object.fromEntries(
      Object.entries(IMPLS).map(([name, impl]) => [
        name,
        () => {
          const s = process.hrtime.bigint()
          child(COLD, [impl, real])
          return Number(process.hrtime.bigint() - s) / 1e6
        },
      ]),
    ),
    25,
  )
  const coldInProcess = await alternate(
    Object.fromEntries(Object.entries(IMPLS).map(([name, impl]) => [name, () => child(COLD, [impl, real])])),
    25,
  )
  const warm = await alternate(
    Object.fromEntries(Object.entries(IMPLS).map(([name, impl]) => [name, () => child(WARM, [impl, real, '2000'])])),
    5,
  )
  const large = await alternate(
    Object.fromEntries(Object.entries(IMPLS).map(([name, impl]) => [name, () => child(WARM, [impl, chain, '20'])])),
    5,
  )

  const manyRefs = await alternate(
    Object.fromEntries(Object.entries(IMPLS).map(([name, impl]) => [name, () => child(WARM, [impl, many, '20'])])),
    5,
  )
  const expandOnly = (dir) =>
    alternate({ '@next/env': () => child(EXPAND_ONLY, ['upstream', dir, '20']), ours: () => child(EXPAND_ONLY, ['ours', dir, '20']) }, 5)
  const chainExpand = await expandOnly(chain)
  const manyExpand = await expandOnly(many)

  const rows = [
    ['cold: fresh process, require + load 4 files (wall)', coldWall],
    ['cold: require + load, inside the process', coldInProcess],
    ['warm: loadEnvConfig with forceReload, per call', warm],
    ['large: 2000-line reference chain (8 MB of values), per call', large],
    ['  the same, parse + expand only (no process.env)', chainExpand],
    ['large: 2000 lines × 8 references each, per call', manyRefs],
    ['  the same, parse + expand only (no process.env)', manyExpand],
  ].map(([label, r]) => [label, fmtMs(r['@next/env']), fmtMs(r.ours), speedup(r['@next/env'], r.ours)])
  console.log(table(['case', '@next/env 16.4.6', '@rs/next-native/env', 'speed-up'], rows))
  console.log(`\nsaved ${save('env', { coldWall, coldInProcess, warm, large, chainExpand, manyRefs, manyExpand })}`)
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
