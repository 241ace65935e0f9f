// Shared set-up for the README's two commands: both must work on a fresh clone that has
// only Rust and Node, so each installs npm dependencies and builds the addon itself.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

export function step(title) {
  process.stdout.write(`\n▶ ${title}\n`)
}

export function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (res.error) throw res.error
  if (res.status !== 0) {
    const err = new Error(`${cmd} ${args.join(' ')} exited with ${res.status ?? res.signal}`)
    err.exitCode = res.status || 1
    throw err
  }
}

/**
 * Installs npm dependencies when node_modules is missing or older than the lockfile.
 * `npm install`, not `npm ci`: with `omit-lockfile-registry-resolved` (set on some
 * machines, including our CI image) npm leaves other platforms' optional packages out of
 * the lockfile, and `npm ci` then refuses it. `npm install` keeps the locked versions.
 */
export function ensureNodeModules(dir = root) {
  const marker = join(dir, 'node_modules', '.package-lock.json')
  const lock = join(dir, 'package-lock.json')
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return
  step(`npm install (${dir === root ? 'package' : dir.slice(root.length + 1)})`)
  run(npm, ['install', '--no-audit', '--no-fund'], { cwd: dir })
}

const onPath = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0

/**
 * The image codecs' build tools: `nasm` for their SIMD assembly (mozjpeg, libaom, rav1d) on
 * x86_64, and `cmake` for libaom (the AVIF encoder, built from source). Installs the missing
 * ones with apt-get where that works (root on Debian/Ubuntu, as in CI); otherwise says what
 * to do.
 */
function ensureBuildTools() {
  const missing = [...(process.arch === 'x64' ? ['nasm'] : []), 'cmake'].filter((cmd) => !onPath(cmd))
  if (!missing.length) return
  if (process.platform === 'linux' && process.getuid?.() === 0 && onPath('apt-get')) {
    step(`install ${missing.join(' and ')} (apt-get), needed to build the image codecs`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    run('apt-get', ['install', '-y', '-qq', ...missing], { env })
    if (missing.every(onPath)) return
    run('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${missing.join(' ')}`], { env })
    return
  }
  const err = new Error(
    `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} needed to build the image codecs: \`apt-get install ${missing.join(' ')}\` (Debian/Ubuntu), \`brew install ${missing.join(' ')}\` (macOS) or \`choco install ${missing.join(' ')}\` (Windows)`,
  )
  err.exitCode = 1
  throw err
}

/** Builds the addon with the pinned napi CLI: release unless NEXT_NATIVE_BUILD=debug. */
export function buildAddon() {
  ensureBuildTools()
  const debug = process.env.NEXT_NATIVE_BUILD === 'debug'
  step(`build the native addon (${debug ? 'debug' : 'release'})`)
  run(npm, ['run', debug ? 'build:debug' : 'build'])
}

export { npm }
