#!/usr/bin/env node
'use strict'

const { main } = require('../lib/cli')

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`next-native: ${err && err.message ? err.message : err}\n`)
    process.exitCode = err && typeof err.exitCode === 'number' ? err.exitCode : 1
  },
)
