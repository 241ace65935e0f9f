'use strict'

const { parseArgs } = require('node:util')

const summary = 'Show which native binary is loaded (version, target, path)'

/** The `.node` file the loader actually picked, found through the require cache. */
function loadedBinaryPath() {
  return Object.keys(require.cache).find((p) => p.endsWith('.node')) || null
}

async function run(argv) {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean' } } })
  if (values.help) {
    process.stdout.write(`next-native info [--json]\n\n${summary}.\n`)
    return 0
  }
  const binding = require('../../index.js')
  const info = { ...binding.nativeInfo(), path: loadedBinaryPath(), node: process.version }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`)
  } else {
    for (const [k, v] of Object.entries(info)) process.stdout.write(`${k.padEnd(8)} ${v}\n`)
  }
  return 0
}

module.exports = { summary, run }
