// `npm test`: everything a contributor or CI needs, from a fresh clone.
//   1. npm dependencies   2. cargo test for the core crates   3. the addon build
//   4. the Node test suite (node:test) against the built addon
import { readdirSync } from 'node:fs'
import { buildAddon, ensureNodeModules, root, run, step } from './setup.mjs'

try {
  ensureNodeModules()
  step('cargo test (workspace)')
  run('cargo', ['test', '--workspace'])
  buildAddon()
  const files = readdirSync(`${root}/__test__`)
    .filter((f) => /\.test\.(c|m)?js$/.test(f))
    .sort()
    .map((f) => `__test__/${f}`)
  step(`node --test (${files.length} files)`)
  run(process.execPath, ['--test', ...files])
} catch (err) {
  process.stderr.write(`\nnpm test failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
