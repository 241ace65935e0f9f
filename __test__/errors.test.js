'use strict'

// The README's error table lists every `ERR_*` code the sources can produce, and only those:
// the codes of the core crates' error enums (`fn code` → "ERR_" + code), and every literal
// code in the binding and the JS entry points (prefix checks such as startsWith('ERR_X') aside).

const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { test } = require('node:test')

const ROOT = path.join(__dirname, '..')

function files(dir, ext) {
  return fs.readdirSync(path.join(ROOT, dir), { recursive: true }).filter((f) => f.endsWith(ext)).map((f) => path.join(ROOT, dir, f))
}

function sourceCodes() {
  const codes = new Set()
  for (const file of [...files('crates/napi/src', '.rs'), ...files('lib', '.js'), path.join(ROOT, 'bin/next-native.js')]) {
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?<!startsWith\()["'](ERR_[A-Z0-9_]*[A-Z0-9])["']/g)) codes.add(m[1])
  }
  for (const crate of ['image', 'build_id', 'cache', 'env']) {
    const file = path.join(ROOT, 'crates', crate, 'src', 'error.rs')
    if (!fs.existsSync(file)) continue
    const text = fs.readFileSync(file, 'utf8')
    const body = text.slice(text.indexOf('fn code('))
    for (const m of body.slice(0, body.indexOf('\n  }\n')).matchAll(/=> "([A-Z0-9_]+)"/g)) codes.add(`ERR_${m[1]}`)
  }
  return codes
}

test("the README's error table lists exactly the codes the sources produce", () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Errors'), readme.indexOf('\n## ', readme.indexOf('\n## Errors') + 1))
  const documented = new Set([...section.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]))
  const produced = sourceCodes()
  assert.ok(produced.size > 20, `found only ${produced.size} codes: the scan is broken`)
  assert.deepEqual([...produced].filter((c) => !documented.has(c)).sort(), [], 'codes missing from the README table')
  assert.deepEqual([...documented].filter((c) => !produced.has(c)).sort(), [], 'README rows for codes nothing produces')
})
