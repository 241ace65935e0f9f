// `npm start`: the main job on embedded defaults, from a fresh clone. Builds the addon and
// the example app (examples/app, a real Next.js 16 app using the package), then serves it with
// `next start` next to a tiny local upstream API. No network, no external services.
import { prepareExample, serveExample } from './example.mjs'
import { buildAddon, ensureNodeModules, step } from './setup.mjs'

const port = Number(process.env.PORT || 3000)

try {
  ensureNodeModules()
  buildAddon()
  const id = prepareExample()
  step(`next start on port ${port}`)
  const { stop } = await serveExample({ port })
  process.stdout.write(
    `\n  Open http://localhost:${port}\n` +
      `  - /posts and /notes: cached data; press "Revalidate" and the time changes\n` +
      `  - /isr: regenerated at most every 30 s\n` +
      `  - /stats: the native cache's hits, misses and bytes\n` +
      `  - the footer shows the content-hash build ID (${id})\n` +
      `  Ctrl-C stops the app.\n\n`,
  )
  const shutdown = () => stop().then(() => process.exit(0))
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
} catch (err) {
  process.stderr.write(`\nnpm start failed: ${err.message}\n`)
  process.exit(err.exitCode || 1)
}
