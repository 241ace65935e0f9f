'use strict'

const { parseArgs } = require('node:util')
const { usageError } = require('../errors')

/** node:util `parseArgs`, with its complaints (unknown option, missing value) as usage errors (exit 2). */
function parseCommandLine(argv, options, { allowPositionals = false } = {}) {
  try {
    return parseArgs({ args: argv, options, allowPositionals })
  } catch (err) {
    throw usageError(err.message)
  }
}

module.exports = { parseCommandLine }
