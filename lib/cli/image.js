'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { parseCommandLine } = require('./args')
const { usageError } = require('../errors')

const summary = 'Serve /_next/image-compatible image optimization as a standalone service'

const HELP = `next-native image serve --port <n> --public-dir <dir> [options]

Answers GET/HEAD /<anything>?url=…&w=…&q=… exactly like Next.js 16's /_next/image (same
validation, status codes, messages and headers), optimizing with the native addon. Point
next.config \`images.loaderFile\` at @rs/next-native/image-loader and set
NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL to this service's URL.

Options:
  --port <n>            port to listen on (0 = any free port; printed on start)
  --host <addr>         address to bind (default 0.0.0.0)
  --public-dir <dir>    where local URLs (/photo.jpg) are read from
  --dist-dir <dir>      the Next build output, for /_next/static/media/... (default ./.next)
  --cache-dir <dir>     disk cache (default <dist-dir>/cache/next-native-images)
  --config <file>       JSON: next.config \`images\` options, bare or as { "images": {...} }
  -h, --help            this text

Environment:
  REDIS_URL             share optimized images with other instances through Redis: each
                        image is optimized once per fleet (with REDIS_KEY_PREFIX,
                        REDIS_TIMEOUT_MS, REDIS_MAX_ENTRY_BYTES, as for the cache handler)

SIGTERM/SIGINT: stop accepting connections, finish the requests in flight, exit 0.
`

function readConfig(file) {
  let parsed
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch (err) {
    throw usageError(`cannot read --config ${file}: ${err.message}`)
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw usageError(`--config ${file} must hold a JSON object`)
  return parsed.images && typeof parsed.images === 'object' ? parsed.images : parsed
}

async function serve(values) {
  const http = require('node:http')
  const { createImageHandler } = require('../image-handler')
  if (values.port === undefined) throw usageError('--port is required')
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--port must be an integer 0–65535, got '${values.port}'`)
  if (!values['public-dir']) throw usageError('--public-dir is required')
  const publicDir = path.resolve(values['public-dir'])
  if (!fs.statSync(publicDir, { throwIfNoEntry: false })?.isDirectory()) throw usageError(`--public-dir ${publicDir} is not a directory`)

  const config = values.config ? readConfig(values.config) : {}
  const handler = createImageHandler({
    ...config,
    publicDir,
    distDir: values['dist-dir'] ? path.resolve(values['dist-dir']) : config.distDir,
    cacheDir: values['cache-dir'] ? path.resolve(values['cache-dir']) : config.cacheDir,
  })
  let inFlight = 0
  const server = http.createServer((req, res) => {
    inFlight++
    res.once('close', () => inFlight--)
    handler.node(req, res).catch((err) => {
      process.stderr.write(`next-native image: ${err && err.stack ? err.stack : err}\n`)
      if (!res.headersSent) res.statusCode = 500
      res.end()
    })
  })
  await new Promise((resolve, reject) => {
    server.once('error', (err) => reject(usageError(`cannot listen on ${values.host}:${port}: ${err.message}`)))
    server.listen(port, values.host, resolve)
  })
  const { address, port: actual } = server.address()
  const shown = address.includes(':') ? `[${address}]` : address
  process.stdout.write(`next-native image: listening on http://${shown}:${actual} (public ${publicDir})\n`)

  // Graceful stop: close() stops accepting and waits for open connections; idle keep-alive
  // ones are closed now, busy ones as their response ends; a hard stop after 10 s.
  await new Promise((resolve) => {
    const stop = (signal) => {
      process.stdout.write(`next-native image: ${signal}, finishing ${inFlight} request(s)\n`)
      process.removeListener('SIGTERM', stop)
      process.removeListener('SIGINT', stop)
      const force = setTimeout(() => server.closeAllConnections(), 10_000)
      force.unref()
      server.close(() => resolve())
      server.closeIdleConnections()
      const idle = setInterval(() => server.closeIdleConnections(), 100)
      idle.unref()
    }
    process.on('SIGTERM', stop)
    process.on('SIGINT', stop)
  })
  await handler.close()
  process.stdout.write('next-native image: stopped\n')
  return 0
}

async function run(argv) {
  const parsed = parseCommandLine(argv, {
    port: { type: 'string' },
    host: { type: 'string', default: '0.0.0.0' },
    'public-dir': { type: 'string' },
    'dist-dir': { type: 'string' },
    'cache-dir': { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  }, { allowPositionals: true })
  const { values, positionals } = parsed
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP)
    return values.help ? 0 : 2
  }
  if (positionals[0] !== 'serve') throw usageError(`unknown image subcommand '${positionals[0]}' (expected: serve)`)
  if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}' (see --help)`)
  return serve(values)
}

module.exports = { summary, run }
