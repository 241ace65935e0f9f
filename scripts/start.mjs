// `npm start`: the main job on embedded defaults, from a fresh clone. Builds the addon and
// the example app (examples/app, a real Next.js 16 app using the package), then serves it with
// `next start` next to a tiny local upstream API. No network, no external services.
//
// `npm start -- --redis`: two instances (PORT and PORT+1) sharing one Redis (REDIS_URL, or a
// local redis-server started for the demo), to show revalidation crossing instances.
import { prepareExample, serveExample, startLocalRedis } from './example.mjs'
import { buildAddon, ensureNodeModules, step } from './setup.mjs'

const port = Number(process.env.PORT || 3000)
const twoInstances = process.argv.includes('--redis')

try {
  ensureNodeModules()
  buildAddon()
  const id = prepareExample()
  const stops = []
  let redisUrl = process.env.REDIS_URL
  if (twoInstances && !redisUrl) {
    const redis = await startLocalRedis()
    redisUrl = redis.url
    stops.push(async () => redis.stop())
  }
  step(`next start on port ${port}${twoInstances ? ` and ${port + 1}, sharing ${redisUrl}` : ''}`)
  const first = await serveExample({ port, env: redisUrl ? { REDIS_URL: redisUrl } : {} })
  stops.push(first.stop)
  if (twoInstances) {
    const second = await serveExample({ port: port + 1, env: { REDIS_URL: redisUrl }, upstreamUrl: first.upstreamUrl })
    stops.push(second.stop)
  }
  process.stdout.write(
    `\n  Open http://localhost:${port}\n` +
      `  - /gallery: next/image served by the native optimizer (AVIF/WebP)\n` +
      `  - /posts and /notes: cached data; press "Revalidate" and the time changes\n` +
      `  - /isr: regenerated at most every 30 s\n` +
      `  - /stats: the native cache's hits, misses and bytes\n` +
      `  - the footer shows the content-hash build ID (${id})\n` +
      (twoInstances
        ? `  Second instance: http://localhost:${port + 1} (same build, same Redis). Revalidate /posts on one,\n` +
          `  reload /posts on the other: it shows the new data too.\n`
        : '') +
      `  Ctrl-C stops the app.\n\n`,
  )
  const shutdown = async () => {
    for (const stop of stops.reverse()) await stop()
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
} catch (err) {
  process.stderr.write(`\nnpm start failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
