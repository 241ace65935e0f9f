// `npm run bench [name...]`: builds the addon in release mode (fat LTO, as published),
// then runs benches/<name>.bench.mjs, or all of them. Results print as Markdown tables
// (pasted into the README) and are saved under bench-results/.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { buildAddon, ensureNodeModules, root, run, step } from '../scripts/setup.mjs'

const wanted = process.argv.slice(2)
const all = readdirSync(join(root, 'benches'))
  .filter((f) => f.endsWith('.bench.mjs'))
  .map((f) => f.slice(0, -'.bench.mjs'.length))
const names = wanted.length ? wanted : all
for (const n of names) {
  if (!all.includes(n)) {
    console.error(`unknown benchmark '${n}'; have: ${all.join(', ')}`)
    process.exit(2)
  }
}
ensureNodeModules()
delete process.env.NEXT_NATIVE_BUILD // always the release build
buildAddon()
for (const n of names) {
  step(`bench ${n}`)
  run(process.execPath, [join('benches', `${n}.bench.mjs`)])
}
