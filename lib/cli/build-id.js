'use strict'

const fs = require('node:fs')
const { parseCommandLine } = require('./args')
const { usageError } = require('../errors')

const summary = 'Print the content-hash build ID of a project, or explain why two differ'

const HELP = `next-native build-id [options]
next-native build-id --explain before.json after.json

Hashes the project (every file .gitignore does not exclude, package.json, lockfiles,
next.config.*, NEXT_PUBLIC_* values, the installed Next version) and prints the build ID.

Options:
  --dir <path>          project directory (default: current directory)
  --env <NAME>          also hash this env var's value (repeatable)
  --include <glob>      only files matching these globs are inputs (repeatable)
  --exclude <glob>      files and directories matching these are not inputs (repeatable)
  --salt <string>       any string that should change the ID
  --dist-dir <path>     next.config distDir, if not .next
  --json                print { buildId, deploymentId, files, bytes, nextVersion, env } as JSON
  --manifest <file>     also write the per-file manifest (for --explain later)
  --explain <a> <b>     list exactly which inputs differ between two manifests;
                        exit 0 when they are the same, 1 when they differ
`

function describe(change) {
  switch (change.change) {
    case 'file_added':
      return `+ ${change.path} (${change.kind}, ${change.size} bytes)`
    case 'file_removed':
      return `- ${change.path} (${change.kind}, ${change.size} bytes)`
    case 'file_changed':
      return change.old_kind === change.new_kind
        ? `~ ${change.path} (${change.old_size} → ${change.new_size} bytes)`
        : `~ ${change.path} (${change.old_kind} → ${change.new_kind})`
    case 'env_added':
      return `+ env ${change.name}`
    case 'env_removed':
      return `- env ${change.name}`
    case 'env_value_changed':
      return `~ env ${change.name} (value changed)`
    case 'next_version_changed':
      return `~ next ${change.old ?? '(none)'} → ${change.new ?? '(none)'}`
    case 'salt_changed':
      return `~ salt (${change.old_present ? 'set' : 'unset'} → ${change.new_present ? 'set' : 'unset'})`
    case 'format_version_changed':
      return `~ manifest format ${change.old} → ${change.new}`
    default:
      return JSON.stringify(change)
  }
}

async function run(argv) {
  const parsed = parseCommandLine(argv, {
    dir: { type: 'string' },
    env: { type: 'string', multiple: true },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    salt: { type: 'string' },
    'dist-dir': { type: 'string' },
    json: { type: 'boolean' },
    manifest: { type: 'string' },
    explain: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  }, { allowPositionals: true })
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(HELP)
    return 0
  }
  const buildIds = require('../build-id')

  if (values.explain) {
    if (positionals.length !== 2) throw usageError('--explain takes two manifest files: --explain before.json after.json')
    const [a, b] = positionals.map((file) => {
      try {
        return fs.readFileSync(file, 'utf8')
      } catch (err) {
        throw usageError(`cannot read manifest ${file}: ${err.message}`)
      }
    })
    const changes = buildIds.explain(a, b)
    if (values.json) process.stdout.write(`${JSON.stringify(changes, null, 2)}\n`)
    else if (changes.length === 0) process.stdout.write('same inputs: the build IDs are equal\n')
    else process.stdout.write(`${changes.length} input(s) differ:\n${changes.map((c) => `  ${describe(c)}\n`).join('')}`)
    return changes.length === 0 ? 0 : 1
  }
  if (positionals.length) throw usageError(`unexpected argument '${positionals[0]}' (see --help)`)

  const result = await buildIds.hashProject({
    dir: values.dir,
    env: values.env,
    include: values.include,
    exclude: values.exclude,
    salt: values.salt,
    distDir: values['dist-dir'],
  })
  if (values.manifest) fs.writeFileSync(values.manifest, `${JSON.stringify(result.manifest, null, 2)}\n`)
  if (values.json) {
    const { manifest } = result
    const out = {
      buildId: result.buildId,
      deploymentId: result.deploymentId,
      files: manifest.files.length,
      bytes: manifest.files.reduce((n, f) => n + f.size, 0),
      nextVersion: manifest.next_version,
      env: manifest.env.map((e) => e.name),
    }
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
  } else {
    process.stdout.write(`${result.buildId}\n`)
  }
  return 0
}

module.exports = { summary, run }
