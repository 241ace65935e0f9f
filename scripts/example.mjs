// examples/app as `npm start` and the end-to-end test use it: installed from a local pack of
// this checkout (like an `npm install` from the registry), built with `next build`, served
// with `next start` next to a tiny local upstream API.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { packLocal } from './pack-local.mjs'
import { npm, root, run, step } from './setup.mjs'

export const app = join(root, 'examples', 'app')
const appRequire = () => createRequire(join(app, 'package.json'))

/** Installs the package into the app and builds it; returns the app's build ID. */
export function prepareExample({ log = step } = {}) {
  installExample({ log })
  // Our own build ID says whether the app changed since the last build.
  const id = contentBuildId()
  const built = join(app, '.next', 'BUILD_ID')
  if (existsSync(built) && readFileSync(built, 'utf8').trim() === id) {
    log(`next build: up to date (build ID ${id})`)
  } else {
    log('next build')
    nextBuild(app)
  }
  return id
}

/** Packs this checkout and installs it into examples/app (the rest of node_modules stays). */
export function installExample({ log = step } = {}) {
  log('install the package into examples/app (npm pack of this checkout + its .node)')
  packLocal(join(app, '.packs'))
  // npm keeps (and re-extracts from its cache, by the lockfile's integrity) an installed file:
  // tarball even when the tarball changed: drop both, the rest of node_modules stays.
  rmSync(join(app, 'node_modules', '@rs', 'next-native'), { recursive: true, force: true })
  rmSync(join(app, 'package-lock.json'), { force: true })
  run(npm, ['install', '--no-audit', '--no-fund'], { cwd: app })
}

/**
 * `next build` in `dir` (the example or a copy of it) with the Next installed there: one from
 * elsewhere would bring its own React next to the app's (`Cannot read properties of null`).
 */
export function nextBuild(dir, env = {}) {
  run(process.execPath, [createRequire(join(dir, 'package.json')).resolve('next/dist/bin/next'), 'build'], { cwd: dir, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env } })
}

/**
 * The content build ID of `dir` as `next build` computes it: with the app's .env files loaded
 * (NEXT_PUBLIC_* values are inputs), in a child process so this one's env stays as it was.
 */
export function contentBuildId(dir = app) {
  const require = appRequire()
  return execNode(
    `require(${JSON.stringify(require.resolve('@rs/next-native/env'))}).loadEnvConfig(${JSON.stringify(dir)}, false, { info() {}, error() {} });
     process.stdout.write(require(${JSON.stringify(require.resolve('@rs/next-native/build-id'))}).buildIdSync({ dir: ${JSON.stringify(dir)} }))`,
  )
}

function execNode(script) {
  const res = spawnSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`computing the build ID failed: ${res.stderr}`)
  return res.stdout.trim()
}

/**
 * Starts the upstream API (free port) and `next start` on `port` (0: a free one), or with
 * `standalone` a standalone output's `node server.js` in that folder. Resolves once Next is
 * ready with `{ url, upstreamUrl, stop() }`.
 */
export async function serveExample({ port = 0, stdout = process.stdout, env = {}, upstreamUrl: sharedUpstream, standalone } = {}) {
  const require = appRequire()
  let upstream = { close() {} }
  let upstreamUrl = sharedUpstream
  if (!upstreamUrl) {
    const { startUpstream } = await import(join(app, 'upstream.mjs'))
    upstream = await startUpstream(0)
    upstreamUrl = `http://127.0.0.1:${upstream.address().port}`
  }
  if (port === 0) port = await freePort()
  // The environment wins over examples/app/.env, as it does in Next.
  const args = standalone ? [join(standalone, 'server.js')] : [require.resolve('next/dist/bin/next'), 'start', '-p', String(port), '-H', '127.0.0.1']
  const server = spawn(process.execPath, args, {
    cwd: standalone ?? app,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', UPSTREAM_URL: upstreamUrl, ...(standalone && { PORT: String(port), HOSTNAME: '127.0.0.1' }), ...env },
    detached: process.platform !== 'win32',
  })
  const stop = () =>
    new Promise((resolve) => {
      upstream.close()
      if (server.exitCode !== null || server.signalCode !== null) return resolve()
      server.once('exit', () => resolve())
      try {
        process.kill(process.platform === 'win32' ? server.pid : -server.pid, 'SIGTERM')
      } catch {
        server.kill('SIGTERM')
      }
    })
  server.stderr.on('data', (c) => stdout.write(c))
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${standalone ? 'node server.js' : 'next start'} did not get ready within 60 s`)), 60_000)
    server.stdout.on('data', (chunk) => {
      stdout.write(chunk)
      if (/Ready in/i.test(String(chunk))) {
        clearTimeout(timer)
        resolve()
      }
    })
    server.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${standalone ? 'node server.js' : 'next start'} exited with ${code}`))
    })
  }).catch(async (err) => {
    await stop()
    throw err
  })
  return { url: `http://127.0.0.1:${port}`, upstreamUrl, server, stop }
}

async function freePort() {
  const { createServer } = await import('node:net')
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/**
 * A throwaway `redis-server` on a free loopback port (for `npm start -- --redis` without
 * REDIS_URL). Resolves with `{ url, stop() }`.
 */
export async function startLocalRedis() {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' })
  if (which.status !== 0) throw new Error('--redis needs REDIS_URL or a local redis-server (apt-get install redis-server)')
  const port = await freePort()
  const child = spawn(which.stdout.trim(), ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const { createConnection } = await import('node:net')
  for (let i = 0; i < 100; i++) {
    const up = await new Promise((resolve) => {
      const sock = createConnection(port, '127.0.0.1', () => (sock.end(), resolve(true)))
      sock.on('error', () => resolve(false))
    })
    if (up) return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') }
    await new Promise((r) => setTimeout(r, 50))
  }
  child.kill('SIGKILL')
  throw new Error('redis-server did not start')
}
