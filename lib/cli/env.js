'use strict'

const { parseCommandLine } = require('./args')
const { usageError } = require('../errors')

const summary = 'Show the variables the .env files give a mode, or explain where each came from'

const HELP = `next-native env [options]

Reads .env.$mode.local, .env.local (not in test), .env.$mode and .env exactly as Next.js
does, without changing anything, and prints KEY=value for every variable they define
(the value in effect: a variable already set in the environment wins over the files).

Options:
  --dir <path>     project directory (default: current directory)
  --mode <mode>    development | production | test (default: production, or test when
                   NODE_ENV=test; --dev is the same as --mode development)
  --dev            shorthand for --mode development
  --explain        for each variable: the file and line it came from, shadowed definitions,
                   what it expanded from; then warnings for common traps
  --json           machine-readable output (the explainEnv() result)
`

const SOURCE_LABEL = {
  'process.env': 'process.env',
  default: 'its :- default',
  'same-file': 'the same file',
  empty: 'nothing (empty)',
  'js-builtin': 'a JS built-in',
}

function explainText(result) {
  const out = [`mode: ${result.mode}`, `files: ${result.files.length ? result.files.join(', ') : '(none)'}`, '']
  for (const v of result.variables) {
    const where = v.source === 'process.env' ? 'already set in the environment' : `${v.source}:${v.line}`
    out.push(`${v.key}=${v.value}`, `  from ${where}`)
    for (const d of v.definitions) {
      const winner = v.source === d.file && v.line === d.line
      if (!winner) out.push(`  shadowed: ${d.file}:${d.line} (${JSON.stringify(d.raw)})`)
    }
    for (const r of v.references) out.push(`  ${r.text} ← ${SOURCE_LABEL[r.source] || r.source}: ${JSON.stringify(r.inserted)}`)
  }
  if (result.warnings.length) {
    out.push('', `${result.warnings.length} warning(s):`)
    for (const w of result.warnings) out.push(`  ${w.file}${w.line ? `:${w.line}` : ''} [${w.code}] ${w.message}`)
  }
  return `${out.join('\n')}\n`
}

async function run(argv) {
  const parsed = parseCommandLine(argv, {
    dir: { type: 'string' },
    mode: { type: 'string' },
    dev: { type: 'boolean' },
    explain: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  const { values } = parsed
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  if (values.mode && values.dev && values.mode !== 'development') throw usageError('--dev conflicts with --mode ' + values.mode)
  const { explainEnv } = require('../env')
  let result
  try {
    result = explainEnv(values.dir || process.cwd(), { mode: values.mode, dev: values.dev })
  } catch (err) {
    if (err.code === 'ERR_INVALID_ARG_VALUE') throw usageError(err.message)
    throw err
  }
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else if (values.explain) process.stdout.write(explainText(result))
  else process.stdout.write(result.variables.map((v) => `${v.key}=${v.value}\n`).join(''))
  return 0
}

module.exports = { summary, run }
