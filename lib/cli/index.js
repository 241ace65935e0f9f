'use strict'

const { usageError } = require('../errors')

// Each command lives in its own module and is loaded only when used, so
// `next-native env` never pays for loading the image code.
const COMMANDS = {
  'build-id': './build-id',
  env: './env',
  image: './image',
  info: './info',
}

function usage() {
  const lines = ['Usage: next-native <command> [options]', '', 'Commands:']
  for (const [name, path] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(10)} ${require(path).summary}`)
  }
  lines.push('', 'Run `next-native <command> --help` for its options.', '')
  return lines.join('\n')
}

async function main(argv) {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(usage())
    return command === undefined ? 2 : 0
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${require('../../package.json').version}\n`)
    return 0
  }
  if (!Object.prototype.hasOwnProperty.call(COMMANDS, command)) {
    throw usageError(`unknown command '${command}'. Commands: ${Object.keys(COMMANDS).join(', ')}`)
  }
  return require(COMMANDS[command]).run(rest)
}

module.exports = { main, COMMANDS }
