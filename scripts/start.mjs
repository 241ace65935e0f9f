// `npm start`: the main job on embedded defaults, from a fresh clone.
import { buildAddon, ensureNodeModules, run, step } from './setup.mjs'

try {
  ensureNodeModules()
  buildAddon()
  step('next-native info')
  run(process.execPath, ['bin/next-native.js', 'info'])
} catch (err) {
  process.stderr.write(`\nnpm start failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
