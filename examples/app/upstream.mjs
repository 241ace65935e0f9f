// A tiny local upstream API for the tagged-fetch page, so the example needs no network.
// `node upstream.mjs [port]`; every request gets a new number, so you can see when Next
// served cached data and when it fetched again.
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'

const remoteImage = readFileSync(new URL('./upstream-assets/remote.png', import.meta.url))

let request = 0
export function startUpstream(port = 4100, host = '127.0.0.1') {
  const server = createServer((req, res) => {
    if (req.url === '/remote.png') {
      // The gallery's remote image, allowed by images.remotePatterns.
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=60' })
      res.end(remoteImage)
      return
    }
    if (req.url !== '/posts') {
      res.writeHead(404).end()
      return
    }
    request++
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(
      JSON.stringify({
        request,
        fetchedAt: new Date().toISOString(),
        posts: [
          { id: 1, title: 'Native image optimization' },
          { id: 2, title: 'Content-hash build IDs' },
          { id: 3, title: `An off-heap cache (upstream request #${request})` },
        ],
      }),
    )
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve(server))
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startUpstream(Number(process.argv[2] || 4100))
  console.log(`upstream on http://127.0.0.1:${server.address().port}/posts`)
}
