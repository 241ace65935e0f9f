'use strict'

// @rs/next-native/image-handler, -loader and `next-native image serve`. Part 1 checks our
// handler alone (messages word for word, headers, negotiation, passthrough, remote fetch
// limits, bad inputs, cache, loader, CLI). Part 2 proves the same against the real thing:
// fixtures/image-app is built and run with `next start` (Next 16.4.6 + sharp), and one table
// of requests goes to Next's `/_next/image`, to our handler mounted as `/api/image` in that
// same app, and to our standalone node handler; status, body text and key headers must match
// except where a difference is documented (JPEG-in-TIFF input, `url=/`).
//
// Knobs: NEXT_IMAGE_TEST_FIDELITY=0 skips part 2 (it also skips itself without sharp).

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawn, spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const http = require('node:http')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { freePort, killGroup, spawnGroup } = require('./fixtures/processes')

const ROOT = path.join(__dirname, '..')
const APP = path.join(__dirname, 'fixtures', 'image-app')
const PUBLIC = path.join(APP, 'public')
const native = require('../index.js')
const imageHandler = require('../lib/image-handler.js')
const imageLoader = require('../lib/image-loader.js')

const { createImageHandler } = imageHandler
const CHROME_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'
const silent = { error() {}, warn() {} }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
// For the losing side of a race: must not keep the process alive once the race is decided.
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref())
const readPublic = (name) => fs.readFileSync(path.join(PUBLIC, name))
const sha = (buf) => crypto.createHash('sha256').update(buf).digest('base64url')
const tmpDirs = []
function tmpDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-image-'))
  tmpDirs.push(dir)
  return dir
}
test.after(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------
// An upstream image server on 127.0.0.1 (so handlers must set dangerouslyAllowLocalIP).

function startUpstream() {
  const photo = readPublic('photo.jpg')
  const state = { hits: {} }
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://u')
    state.hits[pathname] = (state.hits[pathname] || 0) + 1
    const redirect = /^\/redirect\/(\d+)$/.exec(pathname)
    if (redirect) {
      const n = Number(redirect[1])
      res.statusCode = 302
      res.setHeader('location', n > 1 ? `/redirect/${n - 1}` : '/img.jpg')
      return res.end()
    }
    switch (pathname) {
      case '/img.jpg':
        res.setHeader('content-type', 'image/jpeg')
        res.setHeader('cache-control', 's-maxage=600, max-age=100000')
        return res.end(photo)
      case '/long.jpg':
        res.setHeader('cache-control', 'public, max-age=20000')
        return res.end(photo)
      case '/anim.gif':
        res.setHeader('etag', '"anim-v1"')
        return res.end(readPublic('animated.gif'))
      case '/gzip.jpg':
        res.setHeader('content-encoding', 'gzip')
        return res.end(zlib.gzipSync(photo))
      case '/big.jpg':
        return res.end(Buffer.concat([photo, Buffer.alloc(3_000_000)]))
      case '/empty':
        return res.end()
      case '/text':
        return res.end('hello, not an image')
      case '/nolocation':
        res.statusCode = 302
        return res.end()
      case '/badlocation': // a Location no URL parser accepts (an unclosed IPv6 literal)
        res.statusCode = 302
        res.setHeader('location', 'http://[::1')
        return res.end()
      case '/slow.jpg':
        return setTimeout(() => res.end(photo), Number(new URL(req.url, 'http://u').searchParams.get('ms') || 1500))
      case '/stale.jpg':
        res.setHeader('cache-control', 'max-age=0')
        return res.end(photo)
      default:
        res.statusCode = 404
        return res.end('not found')
    }
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      state.port = server.address().port
      state.origin = `http://127.0.0.1:${state.port}`
      state.close = () => {
        server.closeAllConnections()
        return new Promise((r) => server.close(r))
      }
      resolve(state)
    })
  })
}

let upstream
test.before(async () => {
  upstream = await startUpstream()
})
test.after(() => upstream?.close())

function handlerFor(extra = {}) {
  return createImageHandler({
    publicDir: PUBLIC,
    distDir: path.join(APP, '.next'),
    cacheDir: tmpDir(),
    remotePatterns: [{ protocol: 'http', hostname: '127.0.0.1' }, { protocol: 'http', hostname: 'localhost' }],
    dangerouslyAllowLocalIP: true,
    imgOptTimeoutInSeconds: 60, // debug builds encode slowly; the timeout has its own test
    logger: silent,
    ...extra,
  })
}

/** One request through the Web handler: `{ status, headers (lower-case object), body }`. */
async function get(handler, query, headers = {}, method = 'GET') {
  const res = await handler(new Request(`http://x/api/image?${query}`, { method, headers }))
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) }
}

const q = (url, w = 640, quality = 75) => `url=${encodeURIComponent(url)}&w=${w}&q=${quality}`

// ---------------------------------------------------------------------------------------
// Part 1: our handler.

test('validation: every message, word for word, in Next order', async (t) => {
  const h = handlerFor({ qualities: [50, 75] })
  t.after(() => h.close())
  const cases = [
    ['', '"url" parameter is required'],
    ['url=&w=640&q=75', '"url" parameter is required'],
    ['url=/a.png&url=/b.png&w=640&q=75', '"url" parameter cannot be an array'],
    [`url=/${'x'.repeat(3072)}&w=640&q=75`, '"url" parameter is too long'],
    ['url=//example.com/a.png&w=640&q=75', '"url" parameter cannot be a protocol-relative URL (//)'],
    [q('/_next/image?url=/a.png'), '"url" parameter cannot be recursive'],
    [q('/_next/image/x'), '"url" parameter cannot be recursive'],
    [q('/photo.jpg?v=1'), '"url" parameter is not allowed'],
    [q('ftp://127.0.0.1/a.png'), '"url" parameter is invalid'],
    [q('http://[bad/a.png'), '"url" parameter is invalid'],
    [q('notaurl'), '"url" parameter is invalid'],
    [q('https://example.com/a.png'), '"url" parameter is not allowed'],
    [q('https://127.0.0.1/a.png'), '"url" parameter is not allowed'], // pattern says http
    ['url=/photo.jpg&q=75', '"w" parameter (width) is required'],
    ['url=/photo.jpg&w=640&w=750&q=75', '"w" parameter (width) cannot be an array'],
    ['url=/photo.jpg&w=abc&q=75', '"w" parameter (width) must be an integer greater than 0'],
    ['url=/photo.jpg&w=-1&q=75', '"w" parameter (width) must be an integer greater than 0'],
    ['url=/photo.jpg&w=640', '"q" parameter (quality) is required'],
    ['url=/photo.jpg&w=640&q=75&q=50', '"q" parameter (quality) cannot be an array'],
    ['url=/photo.jpg&w=640&q=7.5', '"q" parameter (quality) must be an integer between 1 and 100'],
    ['url=/photo.jpg&w=0&q=75', '"w" parameter (width) must be an integer greater than 0'],
    ['url=/photo.jpg&w=641&q=75', '"w" parameter (width) of 641 is not allowed'],
    ['url=/photo.jpg&w=16&q=75', '"w" parameter (width) of 16 is not allowed'], // dropped from imageSizes in 16
    ['url=/photo.jpg&w=100000000000000000000&q=75', '"w" parameter (width) of 100000000000000000000 is not allowed'],
    ['url=/photo.jpg&w=640&q=0', '"q" parameter (quality) must be an integer between 1 and 100'],
    ['url=/photo.jpg&w=640&q=101', '"q" parameter (quality) must be an integer between 1 and 100'],
    ['url=/photo.jpg&w=640&q=74', '"q" parameter (quality) of 74 is not allowed'],
    ['url=/photo.jpg&w=640&q=0080', '"q" parameter (quality) of 0080 is not allowed'],
  ]
  for (const [query, message] of cases) {
    const res = await get(h, query)
    assert.equal(res.status, 400, query)
    assert.equal(res.body.toString(), message, query)
    // Next's error responses carry no image headers at all (seen with next start 16.4.6; part 2
    // checks it live).
    for (const name of ['content-type', 'vary', 'cache-control', 'x-nextjs-cache', 'content-security-policy']) {
      assert.equal(res.headers[name], undefined, `${query}: ${name}`)
    }
  }
  // The default qualities ([75]) and a null one (any 1–100).
  const def = handlerFor()
  const any = handlerFor({ qualities: null })
  t.after(() => Promise.all([def.close(), any.close()]))
  assert.equal((await get(def, q('/photo.jpg', 640, 50))).body.toString(), '"q" parameter (quality) of 50 is not allowed')
  assert.equal((await get(any, q('/nope.jpg', 640, 37))).status, 404)
  // A bad escape in url and a malformed Accept are 500s in Next (URIError, hapi's Boom).
  const bad = await get(h, 'url=/%E0%A4%A&w=640&q=75')
  assert.deepEqual([bad.status, bad.body.toString()], [500, 'Internal Server Error'])
  const badAccept = await get(h, q('/photo.jpg'), { accept: 'image/avif;x' })
  assert.deepEqual([badAccept.status, badAccept.body.toString()], [500, 'Internal Server Error'])
})

test('config errors are coded', () => {
  assert.throws(() => createImageHandler({ formats: ['image/png'] }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => createImageHandler({ remotePatterns: [{ protocol: 'ftp', hostname: 'x' }] }), {
    message: /must have protocol "http" or "https" received "ftp"/,
  })
  assert.throws(() => createImageHandler({ remotePatterns: [{ hostname: '{a,b}.com' }] }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => createImageHandler('x'), { code: 'ERR_INVALID_ARG_TYPE' })
})

test('headers: Vary, Cache-Control, ETag/304, Content-Disposition, CSP, X-Nextjs-Cache MISS → HIT', async (t) => {
  const cacheDir = tmpDir()
  const h = handlerFor({ cacheDir })
  t.after(() => h.close())
  const first = await get(h, q('/photo.v2.jpg'), { accept: 'image/webp' })
  assert.equal(first.status, 200)
  assert.equal(first.headers.vary, 'Accept')
  assert.equal(first.headers['cache-control'], 'public, max-age=14400, must-revalidate')
  assert.equal(first.headers['content-type'], 'image/webp')
  assert.equal(first.headers['content-disposition'], 'attachment; filename="photo.webp"') // basename before the FIRST dot
  assert.equal(first.headers['content-security-policy'], "script-src 'none'; frame-src 'none'; sandbox;")
  assert.equal(first.headers['x-nextjs-cache'], 'MISS')
  assert.equal(first.headers.etag, sha(first.body)) // unquoted sha256 base64url of the body
  assert.equal(first.headers['content-length'], String(first.body.length))

  const second = await get(h, q('/photo.v2.jpg'), { accept: 'image/webp' })
  assert.equal(second.headers['x-nextjs-cache'], 'HIT')
  assert.deepEqual(second.body, first.body)
  // w=0640/q=075 parse to the same key (parseInt), so it is a HIT too.
  assert.equal((await get(h, 'url=/photo.v2.jpg&w=0640&q=075', { accept: 'image/webp' })).headers['x-nextjs-cache'], 'HIT')

  const notModified = await get(h, q('/photo.v2.jpg'), { accept: 'image/webp', 'if-none-match': first.headers.etag })
  assert.equal(notModified.status, 304)
  assert.equal(notModified.body.length, 0)
  assert.deepEqual(Object.keys(notModified.headers).sort(), ['cache-control', 'etag', 'vary'])
  assert.equal((await get(h, q('/photo.v2.jpg'), { accept: 'image/webp', 'if-none-match': `W/"x", ${first.headers.etag}` })).status, 304)
  assert.equal((await get(h, q('/photo.v2.jpg'), { accept: 'image/webp', 'if-none-match': '"other"' })).status, 200)
  assert.equal((await get(h, q('/photo.v2.jpg'), { accept: 'image/webp', 'if-none-match': first.headers.etag, 'cache-control': 'no-cache' })).status, 200)

  const head = await get(h, q('/photo.v2.jpg'), { accept: 'image/webp' }, 'HEAD')
  assert.equal(head.status, 200)
  assert.equal(head.body.length, 0)

  // The cache survives a restart: a new handler on the same directory answers HIT.
  const again = handlerFor({ cacheDir })
  t.after(() => again.close())
  const restarted = await get(again, q('/photo.v2.jpg'), { accept: 'image/webp' })
  assert.equal(restarted.headers['x-nextjs-cache'], 'HIT')
  assert.equal(restarted.headers.etag, first.headers.etag)
  // Next's layout: <key>/<maxAge>.<expireAt>.<etag>.<upstreamEtag>.<ext>
  const [key] = fs.readdirSync(cacheDir)
  const [file] = fs.readdirSync(path.join(cacheDir, key))
  assert.match(file, new RegExp(`^14400\\.\\d+\\.${first.headers.etag}\\.[\\w-]+\\.webp$`))
  assert.equal(key, crypto.createHash('sha256').update(`4/photo.v2.jpg64075image/webp`).digest('base64url'))

  // contentDispositionType inline, a custom CSP, non-ASCII names, static media.
  const inline = handlerFor({ contentDispositionType: 'inline', contentSecurityPolicy: "default-src 'self'" })
  t.after(() => inline.close())
  const r = await get(inline, q('/%E6%97%A5%E6%9C%AC.png', 64), {})
  assert.equal(r.headers['content-disposition'], `inline; filename="%E6%97%A5%E6%9C%AC.png"; filename*=UTF-8''%25E6%2597%25A5%25E6%259C%25AC.png`)
  assert.equal(r.headers['content-security-policy'], "default-src 'self'")
  const media = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-image-dist-'))
  tmpDirs.push(media)
  fs.mkdirSync(path.join(media, 'static', 'media'), { recursive: true })
  fs.copyFileSync(path.join(PUBLIC, 'photo.jpg'), path.join(media, 'static', 'media', 'photo.0123abcd.jpg'))
  const withDist = handlerFor({ distDir: media })
  t.after(() => withDist.close())
  const stat = await get(withDist, q('/_next/static/media/photo.0123abcd.jpg', 64), {})
  assert.equal(stat.status, 200)
  assert.equal(stat.headers['cache-control'], 'public, max-age=315360000, immutable')
})

test('Cache-Control follows upstream s-maxage / max-age, never below minimumCacheTTL', async (t) => {
  const h = handlerFor()
  t.after(() => h.close())
  assert.equal((await get(h, q(`${upstream.origin}/img.jpg`, 64))).headers['cache-control'], 'public, max-age=14400, must-revalidate')
  assert.equal((await get(h, q(`${upstream.origin}/long.jpg`, 64))).headers['cache-control'], 'public, max-age=20000, must-revalidate')
  const short = handlerFor({ minimumCacheTTL: 60 })
  t.after(() => short.close())
  assert.equal((await get(short, q(`${upstream.origin}/img.jpg`, 64))).headers['cache-control'], 'public, max-age=600, must-revalidate')
})

test('STALE is served while revalidating, identical concurrent requests are computed once', async (t) => {
  const h = handlerFor({ minimumCacheTTL: 0 })
  t.after(() => h.close())
  const url = q(`${upstream.origin}/stale.jpg?n=1`, 64)
  const before = upstream.hits['/stale.jpg'] || 0
  const burst = await Promise.all(Array.from({ length: 6 }, () => get(h, url)))
  assert.deepEqual(new Set(burst.map((r) => r.headers['x-nextjs-cache'])), new Set(['MISS']))
  assert.equal(upstream.hits['/stale.jpg'] - before, 1, 'one upstream fetch for six identical requests')
  await sleep(5)
  const stale = await get(h, url)
  assert.equal(stale.headers['x-nextjs-cache'], 'STALE')
  assert.deepEqual(stale.body, burst[0].body)
  for (let i = 0; i < 100 && upstream.hits['/stale.jpg'] - before < 2; i++) await sleep(20)
  assert.equal(upstream.hits['/stale.jpg'] - before, 2, 'revalidated in the background')
})

test('negotiation: literal names, alphabetical tie-break, q values; */* keeps the source type', async (t) => {
  const h = handlerFor({ formats: ['image/webp', 'image/avif'] })
  t.after(() => h.close())
  const cases = [
    [CHROME_ACCEPT, 'image/avif'], // avif < webp alphabetically, whatever the formats order
    ['image/webp,*/*', 'image/webp'],
    ['*/*', 'image/jpeg'],
    ['image/*', 'image/jpeg'],
    [undefined, 'image/jpeg'],
    ['IMAGE/AVIF', 'image/jpeg'], // hapi lower-cases, Next's literal check does not
    ['image/avif;q=0,image/webp', 'image/webp'],
    ['image/avif;q=0.5,image/webp', 'image/webp'],
  ]
  for (const [accept, type] of cases) {
    const res = await get(h, q('/photo.jpg', 64), accept ? { accept } : {})
    assert.equal(res.status, 200, accept)
    assert.equal(res.headers['content-type'], type, accept)
    const meta = native.imageMetadata(res.body)
    assert.equal(`image/${meta.format}`, type, accept)
    assert.equal(meta.width, 64)
  }
  const webpOnly = handlerFor()
  t.after(() => webpOnly.close())
  assert.equal((await get(webpOnly, q('/photo.jpg', 64), { accept: CHROME_ACCEPT })).headers['content-type'], 'image/webp')
  // WebP/AVIF sources go to JPEG for browsers that accept neither; PNG stays PNG.
  assert.equal((await get(webpOnly, q('/photo.webp', 64), { accept: '*/*' })).headers['content-type'], 'image/jpeg')
  assert.equal((await get(webpOnly, q('/alpha.png', 64), { accept: '*/*' })).headers['content-type'], 'image/png')
  assert.equal(imageHandler.negotiateMimeType(['image/webp'], ''), '')
})

test('outputs decode to the requested width, never enlarged', async (t) => {
  const h = handlerFor({ formats: ['image/avif', 'image/webp'] })
  t.after(() => h.close())
  const cases = [
    ['/photo.jpg', 640, 'image/webp', [640, 400]],
    ['/photo.jpg', 64, 'image/avif', [64, 40]],
    ['/photo.jpg', 3840, '*/*', [1200, 750]],
    // AVIF input is decoded: re-encoded (JPEG for */*, as Next does), not the original bytes.
    ['/photo.avif', 64, '*/*', [64, 40]],
    ['/photo.avif', 64, 'image/avif', [64, 40]],
    ['/alpha.png', 256, '*/*', [256, 171]],
    ['/small.png', 640, '*/*', [1, 1]],
    ['/wide.png', 64, '*/*', [64, 1]],
  ]
  for (const [url, w, accept, [width, height]] of cases) {
    const res = await get(h, q(url, w), { accept })
    assert.equal(res.status, 200, url)
    const meta = native.imageMetadata(res.body)
    assert.deepEqual([meta.width, meta.height], [width, height], `${url} w=${w}`)
    assert.equal(res.headers['content-type'], `image/${meta.format}`)
  }
})

test('passthrough: animated GIF/WebP, BMP, ICO unchanged; SVG only when allowed', async (t) => {
  const h = handlerFor()
  t.after(() => h.close())
  for (const [name, type] of [
    ['animated.gif', 'image/gif'],
    ['animated.webp', 'image/webp'],
    ['image.bmp', 'image/bmp'],
    ['favicon.ico', 'image/x-icon'],
  ]) {
    const res = await get(h, q(`/${name}`, 64), { accept: CHROME_ACCEPT })
    assert.equal(res.status, 200, name)
    assert.equal(res.headers['content-type'], type, name)
    assert.deepEqual(res.body, readPublic(name), name)
    // The ETag of a passthrough is base64url of the upstream ETag (send's W/"size-mtime").
    const stat = fs.statSync(path.join(PUBLIC, name))
    assert.equal(res.headers.etag, Buffer.from(`W/"${stat.size.toString(16)}-${stat.mtime.getTime().toString(16)}"`).toString('base64url'))
  }
  const remote = await get(h, q(`${upstream.origin}/anim.gif`, 64))
  assert.equal(remote.headers.etag, Buffer.from('"anim-v1"').toString('base64url'))
  const svg = await get(h, q('/logo.svg', 64))
  assert.deepEqual([svg.status, svg.body.toString()], [400, '"url" parameter is valid but image type is not allowed'])
  const allowed = handlerFor({ dangerouslyAllowSVG: true })
  t.after(() => allowed.close())
  const ok = await get(allowed, q('/logo.svg', 64))
  assert.equal(ok.status, 200)
  assert.equal(ok.headers['content-type'], 'image/svg+xml')
  assert.deepEqual(ok.body, readPublic('logo.svg'))
  assert.equal(ok.headers['content-security-policy'], "script-src 'none'; frame-src 'none'; sandbox;")
  assert.equal(ok.headers['content-disposition'], 'attachment; filename="logo.svg"')
  // is-animated's rules, on bytes.
  assert.equal(imageHandler.isAnimated(readPublic('animated.gif')), true)
  assert.equal(imageHandler.isAnimated(readPublic('still.gif')), false)
  assert.equal(imageHandler.isAnimated(readPublic('alpha.png')), false)
})

test('bad inputs get the responses Next gives', async (t) => {
  const h = handlerFor({ formats: ['image/avif', 'image/webp'] })
  t.after(() => h.close())
  const original = async (name) => {
    const res = await get(h, q(`/${name}`), { accept: CHROME_ACCEPT })
    assert.equal(res.status, 200, name)
    assert.deepEqual(res.body, readPublic(name), `${name}: original bytes`)
    return res
  }
  // Decode failures: the original bytes, its own type, the short TTL (the `catch` of
  // `imageOptimizerTransform`, next/dist/server/image-optimizer/transform.js, 16.4.6).
  const truncated = await original('truncated.jpg')
  assert.equal(truncated.headers['content-type'], 'image/jpeg')
  assert.equal(truncated.headers['content-disposition'], 'attachment; filename="truncated.jpeg"')
  assert.equal(truncated.headers['cache-control'], 'public, max-age=14400, must-revalidate')
  assert.equal((await original('bomb.png')).headers['content-type'], 'image/png') // 20000×20000 > limit
  const errors = [
    ['/empty.png', 400, '"url" parameter is valid but internal response is invalid'],
    ['/text.png', 400, "The requested resource isn't a valid image."],
    ['/doc.pdf', 400, "The requested resource isn't a valid image."],
    ['/nope.jpg', 404, '"url" parameter is valid but internal response is invalid'],
    ['/misc/.hidden.jpg', 500, '"url" parameter is valid but internal response is invalid'],
    ['/a%2Fb.png', 404, '"url" parameter is valid but internal response is invalid'],
    ['/../../../etc/passwd', 404, '"url" parameter is valid but internal response is invalid'],
    ['/%2e%2e/%2e%2e/package.json', 404, '"url" parameter is valid but internal response is invalid'],
  ]
  for (const [url, status, message] of errors) {
    const res = await get(h, `url=${url}&w=640&q=75`)
    assert.deepEqual([res.status, res.body.toString()], [status, message], url)
  }
  assert.equal((await get(h, q('/misc/.dotdir/a.jpg'))).status, 200) // only the file name is checked
  // A content sniffed as none of Next's types is refused even when named .png.
  assert.equal(imageHandler.detectContentType(Buffer.from('<!DOCTYPE html><svg width="1" height="1"></svg>')), 'image/svg+xml')
  assert.equal(imageHandler.detectContentType(Buffer.from('\0\0\0\x14ftypavif hello')), null)
  assert.equal(imageHandler.detectContentType(Buffer.alloc(0)), null)
})

test('an encode over imgOptTimeoutInSeconds serves the original bytes', async (t) => {
  const h = handlerFor({ imgOptTimeoutInSeconds: 0.001, concurrency: 1 })
  t.after(() => h.close())
  const res = await get(h, q('/photo.jpg'), { accept: 'image/webp' })
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-type'], 'image/jpeg')
  assert.deepEqual(res.body, readPublic('photo.jpg'))
})

test('remote: allowed, refused, redirects, size and time limits, encodings', async (t) => {
  const h = handlerFor({ maximumResponseBody: 2_000_000, fetchTimeoutInSeconds: 1 })
  t.after(() => h.close())
  const o = upstream.origin
  const ok = await get(h, q(`${o}/img.jpg`, 64), { accept: 'image/webp' })
  assert.equal(ok.status, 200)
  assert.equal(native.imageMetadata(ok.body).width, 64)
  assert.equal(ok.headers['content-disposition'], 'attachment; filename="img.webp"')
  assert.equal((await get(h, q(`http://localhost:${upstream.port}/img.jpg`, 64))).status, 200)
  assert.equal((await get(h, q(`${o}/gzip.jpg`, 64))).status, 200)
  assert.equal((await get(h, q(`${o}/redirect/3`, 64))).status, 200)
  const cases = [
    [`${o}/redirect/4`, 508, '"url" parameter is valid but upstream response is invalid'],
    [`${o}/big.jpg`, 413, '"url" parameter is valid but upstream response is invalid'],
    [`${o}/missing.jpg`, 404, '"url" parameter is valid but upstream response is invalid'],
    [`${o}/empty`, 400, '"url" parameter is valid but upstream response is invalid'],
    [`${o}/nolocation`, 500, '"url" parameter is valid but upstream response is invalid'],
    // Next 16.4.6 follows a redirect only when URL.canParse(location); otherwise the 302 is
    // a failed upstream response: ImageError(302), which its constructor turns into 500.
    [`${o}/badlocation`, 500, '"url" parameter is valid but upstream response is invalid'],
    [`${o}/text`, 400, "The requested resource isn't a valid image."],
    [`${o}/slow.jpg?ms=3000`, 504, '"url" parameter is valid but upstream response timed out'],
    [`http://127.0.0.2:${upstream.port}/img.jpg`, 400, '"url" parameter is not allowed'], // not in remotePatterns
  ]
  for (const [url, status, message] of cases) {
    const res = await get(h, q(url, 64))
    assert.deepEqual([res.status, res.body.toString()], [status, message], url)
  }
  const oneHop = handlerFor({ maximumRedirects: 1 })
  t.after(() => oneHop.close())
  assert.equal((await get(oneHop, q(`${o}/redirect/1`, 64))).status, 200)
  assert.equal((await get(oneHop, q(`${o}/redirect/2`, 64))).status, 508)
})

test('remote: private and loopback addresses are refused unless dangerouslyAllowLocalIP', async (t) => {
  const h = handlerFor({ dangerouslyAllowLocalIP: false, remotePatterns: [{ hostname: '**' }] })
  t.after(() => h.close())
  const before = upstream.hits['/img.jpg'] || 0
  for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '10.0.0.1', '169.254.169.254']) {
    const res = await get(h, q(`http://${host}:${upstream.port}/img.jpg`, 64))
    assert.deepEqual([res.status, res.body.toString()], [400, '"url" parameter is not allowed'], host)
  }
  assert.equal(upstream.hits['/img.jpg'] || 0, before, 'no request reached the upstream')
  // The check applies to every redirect hop too: a public host cannot bounce us to loopback.
  for (const [ip, priv] of [['8.8.8.8', false], ['192.168.1.1', true], ['::1', true], ['2606:4700::1', false], ['fd00::1', true]]) {
    assert.equal(imageHandler.isPrivateIp(ip), priv, ip)
  }
})

test('queue: with concurrency 1 every request is still served', async (t) => {
  const h = handlerFor({ concurrency: 1, qualities: null })
  t.after(() => h.close())
  const results = await Promise.all([50, 60, 70, 80].map((quality) => get(h, q('/photo.jpg', 640, quality), { accept: 'image/webp' })))
  assert.deepEqual(results.map((r) => [r.status, r.headers['content-type']]), Array(4).fill([200, 'image/webp']))
})

test('queue: the concurrency option is the one bound on encodes (with 1, never two at once; the native gate skipped)', async (t) => {
  // Every encode goes through the binding's optimizeImage; count the calls in flight.
  const original = native.optimizeImage
  let inFlight = 0
  let peak = 0
  let calls = 0
  let gated = 0
  native.optimizeImage = async (...args) => {
    calls++
    if (args[1].gate !== false) gated++
    peak = Math.max(peak, ++inFlight)
    try {
      return await original(...args)
    } finally {
      inFlight--
    }
  }
  t.after(() => {
    native.optimizeImage = original
  })
  for (const concurrency of [1, 2]) {
    const h = handlerFor({ concurrency, qualities: null })
    t.after(() => h.close())
    ;[calls, peak, gated] = [0, 0, 0]
    const qualities = [41, 42, 43, 44, 45, 46]
    const results = await Promise.all(qualities.map((quality) => get(h, q('/photo.jpg', 64, quality), { accept: 'image/webp' })))
    assert.deepEqual(results.map((r) => r.status), Array(qualities.length).fill(200))
    assert.equal(calls, qualities.length, 'one encode per request')
    // ...and only the queue: every call skips the addon's per-core gate (gate: false).
    assert.equal(gated, 0, 'calls that would also wait for the native gate')
    // Six requests arrive together; the queue lets at most `concurrency` reach the binding.
    assert.ok(peak >= 1 && peak <= concurrency, `concurrency ${concurrency}: ${peak} encodes at once`)
  }
})

test('imgOptConcurrency (Next 16.4): threads per image, passed to every encode; bad values refused by name', async (t) => {
  const { resolveConfig } = require('../lib/image/config.js')
  const cores = os.availableParallelism()
  const threads = (imgOptConcurrency) => resolveConfig({ imgOptConcurrency }).imgOptThreads
  // Next: sharp.concurrency(imgOptConcurrency ?? max(floor(sharp default / 2), 1)), where
  // sharp's default is one thread per core and 0 resets to it; libvips caps at 1024.
  assert.equal(resolveConfig({}).imgOptConcurrency, null)
  assert.equal(threads(undefined), Math.max(Math.floor(cores / 2), 1))
  assert.equal(threads(null), Math.max(Math.floor(cores / 2), 1))
  assert.equal(threads(1), 1)
  assert.equal(threads(3), 3)
  assert.equal(threads(0), Math.min(cores, 1024))
  assert.equal(threads(5000), 1024)
  // Next's schema would take a negative integer (libvips reads it as 0); refused here, as
  // every negative count is (bad-arguments.test.js).
  for (const bad of [-1, 1.5, '2', true, NaN, Infinity, 2 ** 53, {}]) {
    assert.throws(() => createImageHandler({ imgOptConcurrency: bad }), { code: 'ERR_INVALID_ARG_VALUE', message: /^createImageHandler: imgOptConcurrency must be an integer from 0 .*Received / }, String(bad))
  }
  // The binding's option, checked there too (1–1024 threads).
  for (const bad of [0, 1025, 1.5]) {
    await assert.rejects(async () => native.optimizeImage(readPublic('photo.jpg'), { width: 64, format: 'avif', threads: bad }), { code: 'ERR_INVALID_ARG_VALUE', message: /threads/ }, String(bad))
  }

  // Passed to every encode; with 1 thread an AVIF is still a correct image.
  const original = native.optimizeImage
  const seen = []
  native.optimizeImage = (...args) => {
    seen.push(args[1].threads)
    return original(...args)
  }
  t.after(() => {
    native.optimizeImage = original
  })
  const h = handlerFor({ imgOptConcurrency: 1, formats: ['image/avif', 'image/webp'] })
  t.after(() => h.close())
  const r = await get(h, q('/photo.jpg', 128), { accept: 'image/avif' })
  assert.equal(r.status, 200)
  assert.equal(r.headers['content-type'], 'image/avif')
  assert.deepEqual(seen, [1])
  const meta = await native.imageMetadata(r.body)
  assert.deepEqual([meta.format, meta.width, meta.height], ['avif', 128, 80])
  // It decodes in full (re-encoded here as PNG), as an AVIF made with the default does.
  const decoded = await original(r.body, { width: 128, format: 'png' })
  const reference = await original((await original(readPublic('photo.jpg'), { width: 128, format: 'avif' })).data, { width: 128, format: 'png' })
  assert.deepEqual([decoded.contentType, decoded.width, decoded.height], ['image/png', reference.width, reference.height])
})

test('loader: URLs for the route and for an image service', () => {
  assert.equal(typeof imageLoader, 'function')
  assert.equal(imageLoader.default, imageLoader)
  assert.equal(imageLoader({ src: '/photo.jpg', width: 640 }), '/api/image?url=%2Fphoto.jpg&w=640&q=75')
  assert.equal(imageLoader({ src: 'https://cdn.example/a b.png?x=1', width: 64, quality: 50 }), '/api/image?url=https%3A%2F%2Fcdn.example%2Fa%20b.png%3Fx%3D1&w=64&q=50')
  const service = imageLoader.createImageLoader('https://img.example.com/', { qualities: [50, 75] })
  assert.equal(service({ src: '/p.jpg', width: 828, quality: 62 }), 'https://img.example.com/?url=%2Fp.jpg&w=828&q=50') // closest, earlier wins ties
  assert.equal(service({ src: '/p.jpg', width: 828, quality: 90 }), 'https://img.example.com/?url=%2Fp.jpg&w=828&q=75')
  // NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL (inlined by Next at build time; read live here).
  const r = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(require.resolve('../lib/image-loader.js'))})({ src: '/a.png', width: 64 }))`], {
    env: { ...process.env, NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL: 'https://img.example.com/optimize' },
    encoding: 'utf8',
    timeout: 10_000,
  })
  assert.equal(r.stdout.trim(), 'https://img.example.com/optimize?url=%2Fa.png&w=64&q=75')
  // Client-safe: no require() at all (no addon, no Node built-ins) in the bundled file.
  assert.doesNotMatch(fs.readFileSync(require.resolve('../lib/image-loader.js'), 'utf8'), /require\(/)
  // The package exports resolve to these files.
  assert.equal(require.resolve('@rs/next-native/image-loader'), require.resolve('../lib/image-loader.js'))
  assert.equal(require.resolve('@rs/next-native/image-handler'), require.resolve('../lib/image-handler.js'))
})

test('globs match as picomatch does', () => {
  let picomatch
  try {
    picomatch = require('next/dist/compiled/picomatch')
  } catch {}
  const cases = [
    ['*.example.com', 'a.b.example.com', false], ['*.example.com', 'example.com', false], ['**.example.com', 'a.example.com', false],
    ['example.com', 'example.com', false], ['*', 'localhost', false], ['**', '/a/b.jpg', true], ['/img/**', '/img/a/.b.jpg', true],
    ['/img/*', '/img/a/b.jpg', true], ['/img/*', '/img/a.jpg', true], ['/img/*', '/img/', true], ['/img/*.png', '/img/x.png', true],
    ['/a/**', '/a', true], ['/a/**', '/ab', true], ['/a/**/b.png', '/a/x/y/b.png', true], ['/a/**/b.png', '/a/b.png', true],
    ['**/b.png', '/x/b.png', true], ['/a?c', '/a/c', true], ['/_next/static/media/**', '/_next/static/mediax', true],
  ] // prettier-ignore
  for (const [glob, input, dot] of cases) {
    const ours = imageHandler.globToRegExp(glob, dot).test(input)
    if (picomatch) assert.equal(ours, picomatch.makeRe(glob, dot ? { dot: true } : undefined).test(input), `${glob} ~ ${input}`)
  }
})

// ---------------------------------------------------------------------------------------
// The CLI service.

function spawnService(args, env = {}) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'next-native.js'), 'image', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.output = ''
  child.stdout.on('data', (d) => (child.output += d))
  child.stderr.on('data', (d) => (child.output += d))
  child.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  return child
}

async function waitFor(check, what, ms = 15_000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    const value = check()
    if (value) return value
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

function httpGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url} timed out`)))
  })
}

test('CLI: `next-native image serve` answers, and exits 0 on SIGTERM after finishing in-flight work', async (t) => {
  assert.match(spawnSync(process.execPath, [path.join(ROOT, 'bin', 'next-native.js'), 'image', '--help'], { encoding: 'utf8', timeout: 10_000 }).stdout, /image serve --port/)
  const bad = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'next-native.js'), 'image', 'serve', '--public-dir', PUBLIC], { encoding: 'utf8', timeout: 10_000 })
  assert.equal(bad.status, 2)
  assert.match(bad.stderr, /--port is required/)

  const dir = tmpDir()
  const configFile = path.join(dir, 'images.json')
  fs.writeFileSync(configFile, JSON.stringify({ images: { remotePatterns: [{ protocol: 'http', hostname: '127.0.0.1' }], dangerouslyAllowLocalIP: true, imgOptTimeoutInSeconds: 60 } }))
  const port = await freePort()
  const child = spawnService(['serve', '--port', String(port), '--host', '127.0.0.1', '--public-dir', PUBLIC, '--cache-dir', path.join(dir, 'cache'), '--config', configFile])
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await waitFor(() => /listening on/.test(child.output), 'the service to listen')
  const base = `http://127.0.0.1:${port}`
  const res = await httpGet(`${base}/?${q('/photo.jpg', 64)}`, { accept: 'image/webp' })
  assert.equal(res.status, 200, child.output)
  assert.equal(res.headers['content-type'], 'image/webp')
  assert.equal(res.headers['x-nextjs-cache'], 'MISS')
  const err = await httpGet(`${base}/?url=/photo.jpg&w=641&q=75`)
  assert.deepEqual([err.status, err.body.toString()], [400, '"w" parameter (width) of 641 is not allowed'])

  // SIGTERM while a request waits on a slow upstream: it still completes, then exit 0.
  const inFlight = httpGet(`${base}/?${q(`${upstream.origin}/slow.jpg?ms=1500`, 64)}`)
  await sleep(400)
  child.kill('SIGTERM')
  const done = await inFlight
  assert.equal(done.status, 200)
  const exit = await Promise.race([child.exited, deadline(15_000).then(() => ({ code: 'timeout' }))])
  assert.deepEqual(exit, { code: 0, signal: null }, child.output)
  assert.match(child.output, /stopped/)
})

// ---------------------------------------------------------------------------------------
// Part 2: against real Next (`next start`, sharp) in the same run.

const NEXT_BIN = path.join(ROOT, 'node_modules', 'next', 'dist', 'bin', 'next')
let sharpAvailable = false
try {
  require.resolve('sharp')
  sharpAvailable = true
} catch {}
const skipFidelity = process.env.NEXT_IMAGE_TEST_FIDELITY === '0' ? 'NEXT_IMAGE_TEST_FIDELITY=0' : !sharpAvailable ? 'sharp is not installed (real Next needs it)' : false

const spawnNext = (args, env) => spawnGroup([NEXT_BIN, ...args], { cwd: APP, env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env } })

async function startNext(env) {
  const port = await freePort()
  const child = spawnNext(['start', '-p', String(port), '-H', '127.0.0.1'], env)
  await waitFor(() => /Ready in/.test(child.output) || child.exitCode !== null, 'next start')
  if (child.exitCode !== null) throw new Error(`next start exited:\n${child.output}`)
  return { child, origin: `http://127.0.0.1:${port}` }
}

test('fidelity: /_next/image (real Next) vs our route handler vs our standalone handler', { skip: skipFidelity, timeout: 600_000 }, async (t) => {
  const distDir = '.next'
  // Next takes `images` from the build, not from next.config.js at start, so the variant
  // that refuses private addresses is a second build (IMAGE_ALLOW_LOCAL_IP=0, own distDir).
  const buildVariant = async (dir, env) => {
    // A clean build and clean caches, so every first request is a MISS on all three.
    fs.rmSync(path.join(APP, dir), { recursive: true, force: true })
    const build = spawnNext(['build'], { NEXT_DIST_DIR: dir, ...env })
    const timer = setTimeout(() => killGroup(build), 300_000)
    const built = await build.exited
    clearTimeout(timer)
    assert.equal(built.code, 0, `next build failed:\n${build.output}`)
    fs.mkdirSync(path.join(APP, dir, 'static', 'media'), { recursive: true })
    fs.copyFileSync(path.join(PUBLIC, 'photo.jpg'), path.join(APP, dir, 'static', 'media', 'photo.0123abcd.jpg'))
  }
  await buildVariant(distDir, {})
  await buildVariant('.next-private', { IMAGE_ALLOW_LOCAL_IP: '0' })

  const routeCache = tmpDir()
  const next = await startNext({ NEXT_NATIVE_IMAGE_CACHE_DIR: routeCache })
  t.after(() => killGroup(next.child))
  const nextPrivate = await startNext({ NEXT_DIST_DIR: '.next-private', IMAGE_ALLOW_LOCAL_IP: '0', NEXT_NATIVE_IMAGE_CACHE_DIR: tmpDir() })
  t.after(() => killGroup(nextPrivate.child))

  // Our standalone handler, with the fixture's config, on node:http.
  delete require.cache[require.resolve(path.join(APP, 'images.config.js'))]
  const images = require(path.join(APP, 'images.config.js'))
  const standalone = createImageHandler({ ...images, publicDir: PUBLIC, distDir: path.join(APP, distDir), cacheDir: tmpDir(), logger: silent })
  const server = http.createServer(standalone.node)
  await new Promise((r) => server.listen(0, '127.0.0.1', r))
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((r) => server.close(r))
    await standalone.close()
  })
  const privateHandler = createImageHandler({ ...images, dangerouslyAllowLocalIP: false, publicDir: PUBLIC, cacheDir: tmpDir(), logger: silent })
  t.after(() => privateHandler.close())
  const privateServer = http.createServer(privateHandler.node)
  await new Promise((r) => privateServer.listen(0, '127.0.0.1', r))
  t.after(() => new Promise((r) => privateServer.close(r)))

  const targets = (pre) => ({
    next: `${pre ? nextPrivate.origin : next.origin}/_next/image`,
    route: `${pre ? nextPrivate.origin : next.origin}/api/image`,
    standalone: `http://127.0.0.1:${(pre ? privateServer : server).address().port}/`,
  })
  const o = upstream.origin
  const W = 'image/webp,*/*'
  // [query, accept, documented difference]. Widths stay small for AVIF: a debug build's
  // libaom (cmake Debug, unoptimised) is slow enough to hit Next's 7 s encode timeout.
  const table = [
    ['', W],
    ['url=/a.png&url=/b.png&w=640&q=75', W],
    ['url=//example.com/a.png&w=640&q=75', W],
    [q('/_next/image?url=/a.png'), W],
    [q('/photo.jpg?v=1'), W],
    [q('ftp://127.0.0.1/a.png'), W],
    [q('https://example.com/a.png'), W],
    ['url=/photo.jpg&q=75', W],
    ['url=/photo.jpg&w=abc&q=75', W],
    ['url=/photo.jpg&w=0&q=75', W],
    ['url=/photo.jpg&w=641&q=75', W],
    ['url=/photo.jpg&w=16&q=75', W],
    ['url=/photo.jpg&w=100000000000000000000&q=75', W],
    ['url=/photo.jpg&w=640', W],
    ['url=/photo.jpg&w=640&q=101', W],
    ['url=/photo.jpg&w=640&q=74', W],
    ['url=/photo.jpg&w=640&q=0080', W],
    ['url=/%E0%A4%A&w=640&q=75', W],
    [q('/photo.jpg'), 'image/avif;x'],
    [q('/photo.jpg'), W],
    [q('/photo.jpg', 640, 50), '*/*'],
    [q('/photo.jpg', 128), CHROME_ACCEPT],
    [q('/photo.jpg', 3840), ''],
    [q('/photo.v2.jpg', 64), W],
    [q('/photo.webp', 64), '*/*'],
    [q('/alpha.png', 256), '*/*'],
    [q('/small.png'), W],
    [q('/wide.png', 64), '*/*'],
    [q('/still.gif', 64), '*/*'],
    [q('/photo-lzw.tiff', 64), '*/*'],
    [q('/photo.tiff', 64), '*/*', 'JPEG-in-TIFF: our TIFF decoder refuses it, so we serve the original (Next re-encodes it as TIFF)'],
    [q('/photo.avif', 64), '*/*'],
    [q('/photo.avif', 64), CHROME_ACCEPT],
    [q('/animated.gif'), CHROME_ACCEPT],
    [q('/animated.webp'), CHROME_ACCEPT],
    [q('/image.bmp'), CHROME_ACCEPT],
    [q('/favicon.ico'), CHROME_ACCEPT],
    [q('/logo.svg'), W],
    [q('/empty.png'), W],
    [q('/text.png'), W],
    [q('/doc.pdf'), W],
    [q('/nope.jpg'), W],
    [q('/misc/.hidden.jpg'), W],
    [q('/misc/.dotdir/a.jpg', 64), W],
    ['url=/a%2Fb.png&w=640&q=75', W],
    [q('/truncated.jpg'), W],
    [q('/bomb.png'), W],
    ['url=/%E6%97%A5%E6%9C%AC.png&w=64&q=75', W],
    [q('/_next/static/media/photo.0123abcd.jpg', 64), W],
    [q('/', 64), W, 'url=/ is an app page for Next (400 not an image); our handler reads files only (404)'],
    [q(`${o}/img.jpg`, 64), W],
    [q(`${o}/long.jpg`, 64), W],
    [q(`${o}/anim.gif`, 64), W],
    [q(`${o}/gzip.jpg`, 64), W],
    [q(`http://localhost:${upstream.port}/img.jpg`, 64), W],
    [q(`${o}/redirect/3`, 64), W],
    [q(`${o}/redirect/4`, 64), W],
    [q(`${o}/big.jpg`, 64), W],
    [q(`${o}/missing.jpg`, 64), W],
    [q(`${o}/empty`, 64), W],
    [q(`${o}/nolocation`, 64), W],
    [q(`${o}/badlocation`, 64), W],
    [q(`${o}/text`, 64), W],
  ]
  const privateTable = [
    [q(`${o}/img.jpg`, 64), W],
    [q(`http://localhost:${upstream.port}/img.jpg`, 64), W],
  ]

  const fetchAll = async (urls, query, headers) => {
    const out = {}
    for (const [name, base] of Object.entries(urls)) out[name] = await httpGet(`${base}?${query}`, headers)
    return out
  }
  // Our header reader, or sharp's for what ours cannot read (Next's JPEG-in-TIFF output).
  const meta = async (body) => {
    try {
      return native.imageMetadata(body)
    } catch {
      const { format, width, height } = await require('sharp')(body).metadata()
      return { format, width, height }
    }
  }
  const dims = async (body) => {
    const m = await meta(body)
    return `${m.format} ${m.width}x${m.height}`
  }
  const heightNotes = new Set()
  const varyNotes = new Set()
  const matched = []
  const differed = []
  const compare = async (urls, [query, accept, documented]) => {
    const headers = accept ? { accept } : {}
    const r = await fetchAll(urls, query, headers)
    const label = `${query.slice(0, 90)} [${accept}]`
    const n = r.next
    if (documented) {
      differed.push(`${label}: ${documented} — next ${n.status} ${n.headers['content-type'] ?? ''}, ours ${r.standalone.status} ${r.standalone.headers['content-type'] ?? ''}`)
      assert.equal(r.route.status, r.standalone.status, label)
      return
    }
    for (const ours of ['route', 'standalone']) {
      const m = r[ours]
      const where = `${label} (${ours})`
      const text = (res) => (res.status === 200 ? `${res.headers['content-type']} ${res.body.length} bytes` : res.body.toString().slice(0, 100))
      assert.equal(m.status, n.status, `${where}: status; next said ${text(n)}, we said ${text(m)}`)
      if (n.status !== 200) {
        assert.equal(m.body.toString(), n.body.toString(), `${where}: body`)
        assert.equal(m.headers['content-type'], undefined, `${where}: no content-type on errors`)
        continue
      }
      for (const name of ['content-type', 'cache-control', 'content-disposition', 'content-security-policy', 'x-nextjs-cache']) {
        assert.equal(m.headers[name], n.headers[name], `${where}: ${name}`)
      }
      // A route handler gets Next's RSC Vary values in front of ours (seen with 16.4.6), and
      // Accept-Encoding after it when Next's compression applies (BMP, SVG).
      // (`next start` compresses those; our service leaves compression to the proxy.)
      const noEncoding = (v) => v.split(/,\s*/).filter((x) => x !== 'Accept-Encoding').join(', ')
      if (n.headers.vary !== 'Accept') varyNotes.add(`${label}: next sends Vary: ${n.headers.vary}`)
      if (ours === 'standalone') assert.equal(noEncoding(m.headers.vary), noEncoding(n.headers.vary), `${where}: vary`)
      else assert.ok(m.headers.vary.split(/,\s*/).includes('Accept'), `${where}: vary ${m.headers.vary}`)
      if (n.headers.etag === sha(n.body)) {
        // Optimized by both: same type and dimensions; the ETag is the hash of each body.
        assert.equal(m.headers.etag, sha(m.body), `${where}: etag`)
        // Same format and width; the height may be 1 px off: libvips' JPEG shrink-on-load
        // rounds (1200×750 → 128 wide gives 79 rows in sharp, 80 = 750·128/1200 here).
        const [mm, nm] = [await meta(m.body), await meta(n.body)]
        const [md, nd] = [await dims(m.body), await dims(n.body)]
        assert.equal(`${mm.format} ${mm.width}`, `${nm.format} ${nm.width}`, `${where}: decoded output ${md} vs ${nd}`)
        assert.ok(Math.abs(mm.height - nm.height) <= 1, `${where}: height ${md} vs ${nd}`)
        if (mm.height !== nm.height) heightNotes.add(`${label}: ours ${md}, next ${nd}`)
      } else {
        // Passed through (or served original after a failed decode): same bytes, same ETag.
        assert.deepEqual(m.body, n.body, `${where}: bytes`)
        assert.equal(m.headers.etag, n.headers.etag, `${where}: etag`)
      }
    }
    if (n.status === 200) {
      // Second request: HIT everywhere; conditional request: 304 everywhere.
      const again = await fetchAll(urls, query, headers)
      for (const [name, res] of Object.entries(again)) assert.equal(res.headers['x-nextjs-cache'], 'HIT', `${label} (${name}) second request`)
      for (const name of Object.keys(urls)) {
        const res = await httpGet(`${urls[name]}?${query}`, { ...headers, 'if-none-match': r[name].headers.etag })
        assert.equal(res.status, 304, `${label} (${name}) If-None-Match`)
        assert.equal(res.body.length, 0)
      }
    }
    matched.push(`${n.status} ${label}`)
  }
  for (const row of table) await compare(targets(false), row)
  for (const row of privateTable) await compare(targets(true), row)
  t.diagnostic(`matched real Next: ${matched.length} requests; documented differences: ${differed.length}`)
  for (const line of differed) t.diagnostic(`differs (documented): ${line}`)
  for (const line of heightNotes) t.diagnostic(`height off by one: ${line}`)
  for (const line of varyNotes) t.diagnostic(`compression: ${line}`)
})
