// `npm start`: the main job on embedded defaults, from a fresh clone. Builds the addon and
// the example app (examples/app, a real Next.js 16 app using the package), then serves it with
// `next start` next to a tiny local upstream API. No network, no external services.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { packLocal } from './pack-local.mjs'
import { buildAddon, ensureNodeModules, npm, root, run, step } from './setup.mjs'

const app = join(root, 'examples', 'app')
const port = Number(process.env.PORT || 3000)

try {
  ensureNodeModules()
  buildAddon()
  step('install the package into examples/app (npm pack of this checkout + its .node)')
  packLocal(join(app, '.packs'))
  // npm keeps (and re-extracts from its cache, by the lockfile's integrity) an installed file:
  // tarball even when the tarball changed: drop both, the rest of node_modules stays.
  rmSync(join(app, 'node_modules', '@rs', 'next-native'), { recursive: true, force: true })
  rmSync(join(app, 'package-lock.json'), { force: true })
  run(npm, ['install', '--no-audit', '--no-fund'], { cwd: app })

  // Our own build ID says whether the app changed since the last build. `next build` hashes
  // with the app's .env files loaded (NEXT_PUBLIC_* values are inputs), so load them the same
  // way first, with our own drop-in for @next/env.
  const require = createRequire(join(app, 'package.json'))
  require('@rs/next-native/env').loadEnvConfig(app, false, { info() {}, error: console.error })
  const { buildIdSync } = require('@rs/next-native/build-id')
  const id = buildIdSync({ dir: app })
  const built = join(app, '.next', 'BUILD_ID')
  if (existsSync(built) && readFileSync(built, 'utf8').trim() === id) {
    step(`next build: up to date (build ID ${id})`)
  } else {
    step('next build')
    run(process.execPath, [require.resolve('next/dist/bin/next'), 'build'], { cwd: app, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } })
  }

  const { startUpstream } = await import(join(app, 'upstream.mjs'))
  // Any free port; the environment wins over examples/app/.env, as it does in Next.
  const upstream = await startUpstream(0)
  const upstreamUrl = `http://127.0.0.1:${upstream.address().port}`
  step(`next start on port ${port} (upstream API at ${upstreamUrl})`)
  const server = spawn(process.execPath, [require.resolve('next/dist/bin/next'), 'start', '-p', String(port)], {
    cwd: app,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', UPSTREAM_URL: upstreamUrl },
  })
  server.stdout.on('data', (chunk) => {
    process.stdout.write(chunk)
    if (/Ready in|started server/i.test(String(chunk))) {
      process.stdout.write(
        `\n  Open http://localhost:${port}\n` +
          `  - /posts and /notes: cached data; press "Revalidate" and the time changes\n` +
          `  - /isr: regenerated at most every 30 s\n` +
          `  - /stats: the native cache's hits, misses and bytes\n` +
          `  - the footer shows the content-hash build ID (${id})\n` +
          `  Ctrl-C stops the app.\n\n`,
      )
    }
  })
  const stop = () => {
    server.kill('SIGTERM')
    upstream.close()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  server.on('exit', (code, signal) => {
    upstream.close()
    process.exitCode = signal ? 0 : code
  })
} catch (err) {
  process.stderr.write(`\nnpm start failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
