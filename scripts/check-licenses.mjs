// `node scripts/check-licenses.mjs` (run by .ci/run): the licences of the npm packages that
// ship. That is our own packages (the root and the per-platform npm/*) and the production
// dependency tree that `npm install @rs/next-native` brings in (ioredis and its dependencies),
// read from package-lock.json: every entry npm does not mark dev-only. Where node_modules is
// installed, each package's own package.json must agree with the lockfile. Permissive
// licences only; nothing GPL. Rust crates are checked by `cargo deny check licenses` (deny.toml).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { root } from './setup.mjs'

const ALLOWED = new Set(['MIT', 'ISC', 'BSD-2-Clause', 'BSD-3-Clause', 'Apache-2.0', '0BSD'])

/** Whether an SPDX expression is satisfied by ALLOWED (an OR needs one side, an AND both). */
function allowed(expression) {
  if (typeof expression !== 'string' || !expression.trim()) return false
  const expr = expression.trim()
  // Parentheses around the whole expression, as in "(MIT OR Apache-2.0)".
  if (/^\([^()]*\)$/.test(expr)) return allowed(expr.slice(1, -1))
  if (/[()]/.test(expr)) {
    // Nested expressions: accept only if every licence named is allowed.
    return expr.replace(/[()]/g, ' ').split(/\s+(?:AND|OR)\s+/).every((id) => ALLOWED.has(id.trim()))
  }
  return expr.split(/\s+OR\s+/).some((alt) => alt.split(/\s+AND\s+/).every((id) => ALLOWED.has(id.trim())))
}

const read = (file) => JSON.parse(readFileSync(file, 'utf8'))
const problems = []
const checked = []

function check(name, version, license, where) {
  checked.push(`${name}@${version} ${license}`)
  if (!allowed(license)) problems.push(`${name}@${version}: licence ${JSON.stringify(license ?? null)} is not on the allow-list (${where})`)
}

const pkg = read(join(root, 'package.json'))
check(pkg.name, pkg.version, pkg.license, 'package.json')
for (const dir of readdirSync(join(root, 'npm'))) {
  const file = join(root, 'npm', dir, 'package.json')
  if (!existsSync(file)) continue
  const p = read(file)
  check(p.name, p.version, p.license, `npm/${dir}/package.json`)
}

const lock = read(join(root, 'package-lock.json'))
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (!path || entry.dev || entry.devOptional || entry.link) continue
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)
  check(name, entry.version, entry.license, `package-lock.json "${path}"`)
  const installed = join(root, path, 'package.json')
  if (existsSync(installed)) {
    const own = read(installed).license
    const ownId = typeof own === 'object' && own ? own.type : own
    if (ownId !== entry.license) problems.push(`${name}@${entry.version}: package.json says ${JSON.stringify(ownId)}, package-lock.json ${JSON.stringify(entry.license)}`)
  }
}

if (problems.length) {
  console.error(`npm licence check failed:\n  ${problems.join('\n  ')}`)
  process.exit(1)
}
console.log(`npm licences ok: ${checked.length} packages (${[...new Set(checked.map((c) => c.split(' ').pop()))].sort().join(', ')})`)
