// `npm test`: everything a contributor or CI needs, from a fresh clone.
//   1. npm dependencies   2. cargo test for the core crates   3. the addon build
//   4. the Node test suite (node:test) against the built addon
// `npm run test:unit` (`--unit`): the same minus the Node tests that need a `next build`, a
// browser or Redis (matched by name below; every other file runs), for a quick run on a warm
// build. A new test file that needs one of those must match a pattern in NOT_UNIT.
import { readdirSync } from 'node:fs'
import { buildAddon, ensureNodeModules, root, run, step } from './setup.mjs'

/** Test files left out of `--unit`, by name, with what they need. */
const NOT_UNIT = [
  [/redis/, 'redis-server'],
  [/^next-cache/, 'next build and next start'],
  [/^e2e\./, 'next build of the example app and Chromium'],
  [/^standalone\./, 'next build of the example app (standalone output)'],
  [/^deployment-id\./, 'next build (three builds of a small app)'],
  [/^next-versions/, 'npm install of Next 15.5 and 14.2, next build and next start'],
  [/^next-adapter/, 'next build and next start (three builds of a small app)'],
  [/^next-readme-snippets/, "next build of every README next.config snippet (eight small apps), next start of two"],
]

const unit = process.argv.includes('--unit')
try {
  ensureNodeModules()
  step('cargo test (workspace)')
  run('cargo', ['test', '--workspace'])
  buildAddon()
  const files = readdirSync(`${root}/__test__`)
    .filter((f) => /\.test\.(c|m)?js$/.test(f))
    .filter((f) => !unit || !NOT_UNIT.some(([pattern]) => pattern.test(f)))
    .sort()
    .map((f) => `__test__/${f}`)
  // image-handler.test.js's part 2 builds and starts the fixture app with Next.
  const env = unit ? { ...process.env, NEXT_IMAGE_TEST_FIDELITY: '0' } : process.env
  step(`node --test (${files.length} files${unit ? "; unit only: none that needs Redis, next build or a browser, and not image-handler's next start part" : ''})`)
  run(process.execPath, ['--test', ...files], { env })
} catch (err) {
  process.stderr.write(`\nnpm test failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
