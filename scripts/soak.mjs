// `npm run soak`: issue #12 §4, the image service and the example app under sustained load.
//
//   node scripts/soak.mjs [--duration 600] [--concurrency 16] [--target serve|next|both]
//                         [--json out.json] [--avif-max-width <px>] [--seed 1]
//
// Generates its own source images (photo-like gradients and noise, up to 20 MP; corrupt
// files; the hostile headers of crates/image/tests/limits.rs) into a temp directory, then for
// each target runs a fixed-concurrency HTTP load generator for `--duration` seconds:
//   serve  `node bin/next-native.js image serve` (a child) over that directory;
//   next   a real `next start` of examples/app (built and installed as `npm start` does),
//          its image route (/api/image, our handler) fetching the sources from a local
//          upstream in this process, plus its pages (our cache handler).
// The server's RSS is sampled every second from /proc (Linux only); every request's
// latency and status is recorded. Prints a table and exits non-zero when the run fails:
// a server process died, a 5xx came where Next would not give one (or any status other
// than the one Next gives for that request), a request failed at the socket, or, on runs of
// at least 5 minutes, RSS grew by more than 5 MiB/min after warm-up (the first 20 %).
//
// Also a library for __test__/burst.test.js and __test__/soak.test.js (the source recipes,
// the service launcher, the /proc readers).

import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import zlib from 'node:zlib'

const require = createRequire(import.meta.url)
export const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'next-native.js')
const MiB = 1024 * 1024
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Next 16's default widths: deviceSizes then imageSizes (lib/image-handler.js DEFAULTS). */
export const WIDTHS = [640, 750, 828, 1080, 1200, 1920, 2048, 3840, 32, 48, 64, 96, 128, 256, 384]

// ---------------------------------------------------------------------------------------
// Source images. Pixels are made here (deterministic xorshift noise over sums of sines), the
// encoding is the package's own (`optimizeImageSync` at the source's own width never resizes)
// from an uncompressed BMP, which the addon reads; PNGs are written here.

function native() {
  return require(path.join(ROOT, 'index.js'))
}

/**
 * w×h×channels photo-like pixels: two or three low-frequency waves per channel, with ±noise
 * per sample; `posterize` rounds to steps (large areas of equal bytes: a small PNG).
 */
export function photoPixels(w, h, channels, { seed = 1, noise = 6, posterize = 0 } = {}) {
  const out = Buffer.allocUnsafe(w * h * channels)
  const cols = []
  const rows = []
  for (let c = 0; c < Math.min(channels, 3); c++) {
    const p = seed * 7.3 + c * 1.7
    const col = new Float32Array(w)
    const row = new Float32Array(h)
    for (let x = 0; x < w; x++) col[x] = 60 * Math.sin((x / w) * Math.PI * (2 + c) + p) + 25 * Math.sin((x / w) * Math.PI * 17 + p * 3)
    for (let y = 0; y < h; y++) row[y] = 50 * Math.cos((y / h) * Math.PI * (3 - c * 0.5) + p) + 20 * Math.sin((y / h) * Math.PI * 23 + p)
    cols.push(col)
    rows.push(row)
  }
  let s = (Math.imul(seed, 2654435761) >>> 0) || 1
  const span = 2 * noise + 1
  const mask = posterize ? ~(posterize - 1) & 255 : 255
  let i = 0
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < channels; c++) {
        let v
        if (c === 3) v = cols[0][x] + rows[1][y] > 0 ? 255 : 96 // alpha: opaque and translucent areas
        else v = 128 + cols[c][x] + rows[c][y]
        if (noise) {
          s ^= s << 13
          s ^= s >>> 17
          s ^= s << 5
          v += ((s >>> 0) % span) - noise
        }
        out[i++] = (v < 0 ? 0 : v > 255 ? 255 : v) & mask
      }
    }
  }
  return out
}

/** An uncompressed bottom-up 24-bit BMP of RGB pixels (input for the native encoders). */
export function bmpFromRgb(w, h, rgb) {
  const stride = (w * 3 + 3) & ~3
  const out = Buffer.alloc(54 + stride * h)
  out.write('BM', 0, 'latin1')
  out.writeUInt32LE(out.length, 2)
  out.writeUInt32LE(54, 10)
  out.writeUInt32LE(40, 14)
  out.writeInt32LE(w, 18)
  out.writeInt32LE(h, 22)
  out.writeUInt16LE(1, 26)
  out.writeUInt16LE(24, 28)
  out.writeUInt32LE(stride * h, 34)
  for (let y = 0; y < h; y++) {
    let o = 54 + (h - 1 - y) * stride
    let i = y * w * 3
    for (let x = 0; x < w; x++, i += 3) {
      out[o++] = rgb[i + 2]
      out[o++] = rgb[i + 1]
      out[o++] = rgb[i]
    }
  }
  return out
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

function crc32(buf) {
  let c = -1
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 255] ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

function pngChunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** A PNG with these IHDR fields and one IDAT chunk (limits.rs's `png`). */
export function pngFile(w, h, depth, colour, idat, interlace = 0) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr[8] = depth
  ihdr[9] = colour
  ihdr[12] = interlace
  const chunks = [pngChunk('IHDR', ihdr)]
  if (colour === 3) chunks.push(pngChunk('PLTE', Buffer.from([0, 0, 0])))
  chunks.push(pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0)))
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), ...chunks])
}

/** An 8-bit RGB or RGBA PNG of `pixels`, every row with the Sub filter. */
export function encodePng(w, h, channels, pixels, level = 6) {
  const stride = w * channels
  const filtered = Buffer.allocUnsafe((stride + 1) * h)
  for (let y = 0; y < h; y++) {
    const o = y * (stride + 1)
    const r = y * stride
    filtered[o] = 1
    for (let i = 0; i < channels; i++) filtered[o + 1 + i] = pixels[r + i]
    for (let i = channels; i < stride; i++) filtered[o + 1 + i] = (pixels[r + i] - pixels[r + i - channels]) & 255
  }
  return pngFile(w, h, 8, channels === 4 ? 6 : 2, zlib.deflateSync(filtered, { level }))
}

/** `format` (jpeg | webp | gif | tiff) of a generated w×h photo, by the addon's encoders. */
function encodePhoto(w, h, format, quality, seed) {
  const bmp = bmpFromRgb(w, h, photoPixels(w, h, 3, { seed }))
  return native().optimizeImageSync(bmp, { width: w, format, quality }).data
}

/**
 * The large sources of the burst test and the soak: 20.16 MP each (5600×3600), a JPEG with
 * noise (mozjpeg keeps it small: ~0.6 MB) and an RGBA PNG of posterized gradients (~1 MB).
 * Decoded, each is 80.6 MB at 4 bytes per pixel.
 */
export const LARGE = { width: 5600, height: 3600 }
export function largeSources() {
  const { width: w, height: h } = LARGE
  return [
    { name: 'large.jpg', width: w, height: h, data: encodePhoto(w, h, 'jpeg', 80, 11) },
    { name: 'large.png', width: w, height: h, data: encodePng(w, h, 4, photoPixels(w, h, 4, { seed: 12, noise: 0, posterize: 16 }), 6) },
  ]
}

/** Valid sources of every input format the handler optimizes, 0.1–3.8 MP. */
export function validSources() {
  return [
    { name: 'photo-s.jpg', width: 800, height: 533, data: encodePhoto(800, 533, 'jpeg', 85, 1) },
    { name: 'photo-m.jpg', width: 2400, height: 1600, data: encodePhoto(2400, 1600, 'jpeg', 85, 2) },
    { name: 'photo.webp', width: 1600, height: 1067, data: encodePhoto(1600, 1067, 'webp', 80, 3) },
    { name: 'alpha.png', width: 1000, height: 750, data: encodePng(1000, 750, 4, photoPixels(1000, 750, 4, { seed: 4, noise: 3 })) },
    { name: 'still.gif', width: 480, height: 320, data: encodePhoto(480, 320, 'gif', 75, 5) },
    { name: 'scan.tiff', width: 1200, height: 800, data: encodePhoto(1200, 800, 'tiff', 75, 6) },
  ]
}

/**
 * Corrupt sources and the status Next 16.4.6 answers them with: a source that sniffs as an
 * image but fails to decode is served unchanged (200); bytes that are no image, or none, are
 * a 400 (lib/image-handler.js `transform`, `fetchLocalImage`).
 */
export function corruptSources(valid) {
  const by = (name) => valid.find((s) => s.name === name).data
  const flipped = Buffer.from(by('photo-s.jpg'))
  const rnd = seeded(99)
  for (let i = 0; i < 64; i++) flipped[Math.floor(flipped.length / 2) + i * 7] ^= 1 + Math.floor(rnd() * 254)
  const garbage = Buffer.alloc(20_000)
  for (let i = 0; i < garbage.length; i++) garbage[i] = Math.floor(rnd() * 256)
  garbage.write('GARBAGE!', 0, 'latin1')
  return [
    { name: 'truncated.jpg', data: by('photo-m.jpg').subarray(0, Math.floor(by('photo-m.jpg').length * 0.45)), status: 200 },
    { name: 'truncated.png', data: by('alpha.png').subarray(0, Math.floor(by('alpha.png').length / 2)), status: 200 },
    { name: 'truncated.webp', data: by('photo.webp').subarray(0, Math.floor(by('photo.webp').length / 2)), status: 200 },
    { name: 'flipped.jpg', data: flipped, status: 200 },
    { name: 'garbled.jpg', data: garbage, status: 400 },
    { name: 'text.png', data: Buffer.from('this is not an image\n'), status: 400 },
    { name: 'empty.jpg', data: Buffer.alloc(0), status: 400 },
  ]
}

// The hostile files of issue #12 (crates/image/tests/limits.rs's recipes, in JS).

function u24(v) {
  return [v & 255, (v >> 8) & 255, (v >> 16) & 255]
}

function riffChunk(kind, data) {
  const head = Buffer.alloc(8)
  head.write(kind, 0, 'latin1')
  head.writeUInt32LE(data.length, 4)
  return Buffer.concat([head, data, Buffer.alloc(data.length % 2)])
}

/**
 * The VP8L bitstream of a solid w×h image: no transforms, no colour cache, five one-symbol
 * ("simple") prefix codes, so every pixel costs zero bits (12 bytes at any size).
 */
export function vp8lSolid(w, h, [r, g, b, a]) {
  const bits = []
  const put = (value, n) => {
    for (let i = 0; i < n; i++) bits.push((value >> i) & 1)
  }
  put(0x2f, 8) // signature
  put(w - 1, 14)
  put(h - 1, 14)
  put(a === 255 ? 0 : 1, 1) // alpha_is_used (a hint)
  put(0, 3) // version
  put(0, 1) // no transform
  put(0, 1) // no colour cache
  put(0, 1) // no meta prefix codes
  for (const symbol of [g, r, b, a]) put(1, 1), put(0, 1), put(1, 1), put(symbol, 8) // simple, 1 symbol, 8 bits
  put(1, 1), put(0, 1), put(0, 1), put(0, 1) // distance: simple, 1 symbol, 1 bit: 0
  const out = Buffer.alloc(Math.ceil(bits.length / 8))
  bits.forEach((bit, i) => (out[i >> 3] |= bit << (i & 7)))
  return out
}

/** An animated WebP: a cw×ch canvas and solid lossless frames (x, y, w, h), x and y even. */
export function animatedWebp(cw, ch, frames) {
  const vp8x = Buffer.from([0x12, 0, 0, 0, ...u24(cw - 1), ...u24(ch - 1)])
  const body = [Buffer.from('WEBP', 'latin1'), riffChunk('VP8X', vp8x), riffChunk('ANIM', Buffer.alloc(6))]
  for (const [x, y, w, h] of frames) {
    const anmf = Buffer.from([...u24(x / 2), ...u24(y / 2), ...u24(w - 1), ...u24(h - 1), ...u24(100), 0])
    body.push(riffChunk('ANMF', Buffer.concat([anmf, riffChunk('VP8L', vp8lSolid(w, h, [200, 30, 30, 255]))])))
  }
  const all = Buffer.concat(body)
  const head = Buffer.alloc(8)
  head.write('RIFF', 0, 'latin1')
  head.writeUInt32LE(all.length, 4)
  return Buffer.concat([head, all])
}

/** A GIF with a sw×sh logical screen and one fw×fh frame whose LZW data is 2 bytes. */
export function forgedGif(sw, sh, fw, fh) {
  const le16 = (v) => [v & 255, v >> 8]
  return Buffer.from([
    ...Buffer.from('GIF89a', 'latin1'), ...le16(sw), ...le16(sh), 0, 0, 0,
    0x2c, 0, 0, 0, 0, ...le16(fw), ...le16(fh), 0, 2, 2, 0x4c, 0x01, 0, 0x3b,
  ]) // prettier-ignore
}

/** A BMP (BITMAPINFOHEADER) with a zeroed palette of `colours` entries, then `pixels`. */
export function forgedBmp(w, h, bits, compression, colours, pixels) {
  const offset = 14 + 40 + 4 * colours
  const out = Buffer.alloc(offset + pixels.length)
  out.write('BM', 0, 'latin1')
  out.writeUInt32LE(out.length, 2)
  out.writeUInt32LE(offset, 10)
  out.writeUInt32LE(40, 14)
  out.writeInt32LE(w, 18)
  out.writeInt32LE(h, 22)
  out.writeUInt16LE(1, 26)
  out.writeUInt16LE(bits, 28)
  out.writeUInt32LE(compression, 30)
  out.writeUInt32LE(pixels.length, 34)
  out.writeUInt32LE(colours, 46)
  Buffer.from(pixels).copy(out, offset)
  return out
}

/**
 * Issue #12's four small hostile files, each with the size its header claims. Through the
 * image handler the PNG and the GIF reach the decoder (which refuses them before allocating);
 * the animated WebP and the BMP are served unchanged without decoding, as Next does
 * (animated images and BMP bypass the optimizer).
 */
export function hostileSources() {
  return [
    { name: 'bomb.png', claims: [16000, 16000], data: pngFile(16000, 16000, 8, 6, zlib.deflateSync(Buffer.alloc(1 + 16000 * 4), { level: 9 })) },
    { name: 'canvas.webp', claims: [1048624, 32], data: animatedWebp(1_048_624, 32, [[0, 0, 32, 32]]) },
    { name: 'screen.gif', claims: [16000, 16000], data: forgedGif(16000, 16000, 1, 1) },
    { name: 'rle8.bmp', claims: [16000, 16000], data: forgedBmp(16000, 16000, 8, 1, 256, [0, 1]) },
  ]
}

/** Writes sources into `dir` (created); returns them with their `file` path. */
export function writeSources(dir, sources) {
  fs.mkdirSync(dir, { recursive: true })
  for (const s of sources) {
    s.file = path.join(dir, s.name)
    fs.writeFileSync(s.file, s.data)
  }
  return sources
}

// ---------------------------------------------------------------------------------------
// Processes: the image service, /proc readers.

/**
 * `node bin/next-native.js image serve` on a free port of 127.0.0.1, in its own process
 * group. Resolves once it prints its address: `{ url, pid, child, output(), exited, stop() }`.
 */
export async function startImageServe({ publicDir, cacheDir, config = {}, env = process.env }) {
  const configFile = path.join(cacheDir, '..', `images-${process.pid}-${crypto.randomUUID()}.json`)
  fs.mkdirSync(path.dirname(configFile), { recursive: true })
  fs.writeFileSync(configFile, JSON.stringify({ images: config }))
  const child = spawn(
    process.execPath,
    [BIN, 'image', 'serve', '--port', '0', '--host', '127.0.0.1', '--public-dir', publicDir, '--cache-dir', cacheDir, '--config', configFile],
    { cwd: ROOT, env, detached: process.platform !== 'win32', stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  const keep = (chunk) => (output = (output + chunk).slice(-64 * 1024))
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`image serve did not start within 30 s:\n${output}`)), 30_000)
    const onData = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        child.stdout.off('data', onData)
        resolve(m[1])
      }
    }
    child.stdout.on('data', onData)
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`image serve exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
  const stop = (signal = 'SIGTERM', graceMs = 15_000) => stopGroup(child, exited, signal, graceMs)
  return { url, pid: child.pid, child, output: () => output, exited, stop, configFile }
}

/** SIGTERM (or `signal`) to the child's group; SIGKILL after `graceMs`. Resolves with its exit. */
export async function stopGroup(child, exited, signal = 'SIGTERM', graceMs = 15_000) {
  const send = (sig) => {
    try {
      if (process.platform === 'win32') child.kill(sig)
      else process.kill(-child.pid, sig)
    } catch (err) {
      if (err.code !== 'ESRCH') throw err
    }
  }
  if (child.exitCode === null && child.signalCode === null) send(signal)
  const timer = setTimeout(() => send('SIGKILL'), graceMs)
  const result = await exited
  clearTimeout(timer)
  return result
}

/**
 * `{ rss, hwm, anon, file }` in bytes from /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile:
 * the mapped binaries' pages), or null when the process is gone.
 */
export function memoryOf(pid) {
  let text
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
  return { rss: kib('VmRSS'), hwm: kib('VmHWM'), anon: kib('RssAnon'), file: kib('RssFile') }
}

/** Resets the kernel's peak-RSS mark (VmHWM) of `pid` (Linux ≥ 4.0); false where refused. */
export function resetPeak(pid) {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** `pid` and all its descendants, from /proc/<pid>/stat. */
export function processTree(pid) {
  const parents = new Map()
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(Number(entry), ppid)
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid]
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child)
  return tree.filter((p) => parents.has(p))
}

/** Sums of VmRSS, RssAnon and RssFile over `pid`'s process tree, in bytes (0 when gone). */
export function treeMemory(pid) {
  const total = { rss: 0, anon: 0, file: 0 }
  for (const p of processTree(pid)) {
    const m = memoryOf(p)
    if (m) for (const k of Object.keys(total)) total[k] += m[k] || 0
  }
  return total
}

// ---------------------------------------------------------------------------------------
// HTTP client.

/**
 * GET `url` through `agent`; resolves `{ status, headers, bytes, ms, hash? }` once the body is
 * read, or `{ error }`. A request on a reused keep-alive socket that the server closed at the
 * same moment (ECONNRESET before any response) is retried once, as Node's docs advise.
 */
export function get(url, { agent, headers = {}, timeoutMs = 180_000, hash = false, method = 'GET' } = {}) {
  const start = performance.now()
  const attempt = (retry) =>
    new Promise((resolve) => {
      const req = http.request(url, { agent, headers, method, timeout: timeoutMs }, (res) => {
        const digest = hash ? crypto.createHash('sha256') : null
        let bytes = 0
        res.on('data', (chunk) => {
          bytes += chunk.length
          digest?.update(chunk)
        })
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, bytes, ms: performance.now() - start, hash: digest?.digest('base64url'), retried: retry }),
        )
        res.on('error', (err) => resolve({ error: err.code || err.message, ms: performance.now() - start }))
      })
      req.on('timeout', () => req.destroy(Object.assign(new Error('client timeout'), { code: 'ETIMEDOUT_CLIENT' })))
      req.on('error', (err) => {
        if (!retry && req.reusedSocket && err.code === 'ECONNRESET') resolve(attempt(true))
        else resolve({ error: err.code || err.message, ms: performance.now() - start })
      })
      req.end()
    })
  return attempt(false)
}

function seeded(seed) {
  let s = (Math.imul(seed, 2654435761) >>> 0) || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** The lowest sample of each `windowS`-second window: the floor RSS returns to between images. */
export function floorSamples(samples, windowS = 30) {
  const floors = new Map()
  for (const [t, y] of samples) {
    const k = Math.floor(t / windowS)
    const f = floors.get(k)
    if (!f || y < f[1]) floors.set(k, [t, y])
  }
  return [...floors.values()]
}

/** Least-squares slope of [t seconds, bytes] samples, in MiB per minute. */
export function slopeMiBPerMin(samples) {
  if (samples.length < 2) return NaN
  const n = samples.length
  let sx = 0
  let sy = 0
  for (const [t, y] of samples) (sx += t), (sy += y)
  const mx = sx / n
  const my = sy / n
  let num = 0
  let den = 0
  for (const [t, y] of samples) (num += (t - mx) * (y - my)), (den += (t - mx) ** 2)
  return den ? ((num / den) * 60) / MiB : NaN
}

// ---------------------------------------------------------------------------------------
// The request mix.

const ACCEPTS = {
  avif: 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', // Chrome's
  webp: 'image/webp,*/*',
  any: '*/*',
  none: null,
}

/**
 * Categories: weight, how one request (or group) is made, and the statuses Next 16.4.6 gives
 * for it. `target` describes the server: `image(src, w, q)` builds an image URL path,
 * `source(name, v)` the URL of a generated file (with `?v=` to make a new cache key), which
 * qualities are allowed, its own local images (`localHot`) and pages.
 */
function makeMix(target, { rnd, avifMaxWidth, large, corrupt, hostile }) {
  const pick = (list) => list[Math.floor(rnd() * list.length)]
  const weighted = (list) => {
    const total = list.reduce((a, [w]) => a + w, 0)
    let x = rnd() * total
    for (const [w, v] of list) if ((x -= w) < 0) return v
    return list[list.length - 1][1]
  }
  let bust = 0
  const sourceWeights = [
    [3, 'photo-s.jpg'], [2, 'photo-m.jpg'], [2, 'photo.webp'], [2, 'alpha.png'], [1, 'still.gif'], [1, 'scan.tiff'],
    ...(large ? [[0.6, 'large.jpg'], [0.4, 'large.png']] : []),
  ] // prettier-ignore
  const validRequest = (name, { fresh = true, accept } = {}) => {
    accept ??= pick(Object.keys(ACCEPTS))
    const widths = accept === 'avif' ? WIDTHS.filter((w) => w <= avifMaxWidth) : WIDTHS
    const w = pick(widths)
    const q = pick(target.qualities)
    const src = target.source(name, fresh ? ++bust : null)
    return { path: target.image(src, w, q), headers: ACCEPTS[accept] ? { accept: ACCEPTS[accept] } : {}, expect: [200] }
  }
  // Cache hits: a fixed set of keys (24, plus the app's own images), each a MISS once and a
  // HIT afterwards.
  const hot = []
  const hotSources = [...['photo-s.jpg', 'photo.webp', 'alpha.png'].map((name) => target.source(name, null)), ...(target.localHot ?? [])]
  for (const src of hotSources) {
    for (const w of [64, 128, 384, 640]) for (const accept of ['webp', 'none']) hot.push({ path: target.image(src, w, 75), headers: ACCEPTS[accept] ? { accept: ACCEPTS[accept] } : {} })
  }
  const etags = new Map()
  const categories = {
    miss: { weight: 22, make: () => validRequest(weighted(sourceWeights)) },
    hit: {
      weight: 30,
      make: () => {
        const h = pick(hot)
        return { ...h, expect: [200], onResponse: (res) => res.headers.etag && etags.set(h.path + (h.headers.accept ?? ''), res.headers.etag) }
      },
    },
    revalidate: {
      weight: 5,
      make: () => {
        const h = pick(hot)
        const etag = etags.get(h.path + (h.headers.accept ?? ''))
        if (!etag) return null // not fetched yet
        return { path: h.path, headers: { ...h.headers, 'if-none-match': etag }, expect: [304] }
      },
    },
    corrupt: {
      weight: 8,
      make: () => {
        const c = pick(corrupt)
        return { ...validRequest(c.name, { fresh: rnd() < 0.5 }), expect: [c.status] }
      },
    },
    hostile: { weight: 6, make: () => validRequest(pick(hostile).name, { fresh: rnd() < 0.5 }) },
    notFound: {
      weight: 8,
      make: () => ({ ...validRequest(`missing-${Math.floor(rnd() * 1000)}.jpg`, { fresh: false }), expect: [404] }),
    },
    invalid: {
      weight: 9,
      make: () => {
        const src = target.source('photo-s.jpg', null)
        const bad = pick([
          `${target.imageBase}?w=640&q=75`, // no url
          target.image(src, 641, 75), // width not allowed
          target.image(src, 640, 0), // quality out of range
          `${target.imageBase}?url=${encodeURIComponent(src)}&q=75`, // no w
          `${target.imageBase}?url=${encodeURIComponent(src)}&w=abc&q=75`,
          target.image('//cdn.example.com/a.jpg', 640, 75), // protocol-relative
          target.image('https://not-allowed.example.com/a.jpg', 640, 75), // no remote pattern
          target.image(`/_next/image?url=${encodeURIComponent('/a.jpg')}&w=64&q=75`, 640, 75), // recursive
          target.image(src, 640, 33), // quality not in images.qualities
        ])
        return { path: bad, headers: {}, expect: [400] }
      },
    },
    // A malformed Accept: @hapi/accept throws and Next answers with its 500 page.
    badAccept: { weight: 3, make: () => ({ ...validRequest('photo-s.jpg', { fresh: false, accept: 'none' }), headers: { accept: 'image/webp;q' }, expect: [500] }) },
    // 8 identical requests at once for a key nobody asked for yet: computed once, 8 answers.
    identical: { weight: 2, group: 8, make: () => ({ ...validRequest(pick(['photo-s.jpg', 'photo-m.jpg', 'photo.webp', 'alpha.png'])), hash: true }) },
  }
  if (target.pages) {
    categories.page = { weight: 15, make: () => ({ path: pick(target.pages), headers: { accept: 'text/html' }, expect: [200] }) }
    categories.pageMissing = { weight: 3, make: () => ({ path: `/soak-no-such-page-${Math.floor(rnd() * 100)}`, headers: { accept: 'text/html' }, expect: [404] }) }
  }
  const list = Object.entries(categories).map(([name, c]) => [c.weight, name])
  // Every category once first (in this order), then by weight: a short run still has each.
  const first = Object.keys(categories).filter((n) => n !== 'revalidate')
  first.push('revalidate')
  let drawn = 0
  return { categories, next: () => (drawn < first.length ? first[drawn++] : weighted(list)) }
}

// ---------------------------------------------------------------------------------------
// One soak run against a started server.

async function runLoad({ name, baseUrl, mix, concurrency, durationS, rssOf, alive, log }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 8 })
  const started = performance.now()
  const elapsed = () => (performance.now() - started) / 1000
  const loadavg = [os.loadavg()[0]]
  const stats = {
    requests: 0,
    errors: [],
    statuses: {},
    latencies: [],
    categories: {},
    xcache: {},
    unexpected: [],
    groups: { identical: 0, consistent: 0 },
    retried: 0,
  }
  const record = (cat, spec, res) => {
    const c = (stats.categories[cat] ??= { count: 0, statuses: {}, latencies: [], xcache: {} })
    stats.requests++
    c.count++
    if (res.retried) stats.retried++
    if (res.error) {
      stats.errors.push({ category: cat, path: spec.path, error: res.error, at: elapsed() })
      c.statuses.error = (c.statuses.error || 0) + 1
      return
    }
    stats.statuses[res.status] = (stats.statuses[res.status] || 0) + 1
    c.statuses[res.status] = (c.statuses[res.status] || 0) + 1
    stats.latencies.push(res.ms)
    c.latencies.push(res.ms)
    const xc = res.headers['x-nextjs-cache']
    if (xc) (stats.xcache[xc] = (stats.xcache[xc] || 0) + 1), (c.xcache[xc] = (c.xcache[xc] || 0) + 1)
    if (!spec.expect.includes(res.status)) {
      stats.unexpected.push({ category: cat, path: spec.path, accept: spec.headers.accept, status: res.status, expected: spec.expect, at: elapsed() })
    }
    spec.onResponse?.(res)
  }

  // RSS every second.
  const rss = []
  let deaths = 0
  const sampler = setInterval(() => {
    const m = rssOf()
    if (m?.rss > 0) rss.push([elapsed(), m.rss, m.anon, m.file])
    if (!alive()) deaths = 1
  }, 1000)
  let lastReport = 0
  const deadline = durationS

  async function worker() {
    while (elapsed() < deadline && !deaths) {
      const cat = mix.next()
      const c = mix.categories[cat]
      const spec = c.make()
      if (!spec) continue
      if (c.group) {
        const results = await Promise.all(Array.from({ length: c.group }, () => get(baseUrl + spec.path, { agent, headers: spec.headers, hash: true })))
        for (const res of results) record(cat, spec, res)
        stats.groups.identical++
        if (results.every((r) => !r.error && r.status === 200 && r.hash === results[0].hash)) stats.groups.consistent++
      } else {
        record(cat, spec, await get(baseUrl + spec.path, { agent, headers: spec.headers, hash: spec.hash }))
      }
      if (log && elapsed() - lastReport >= 30) {
        lastReport = elapsed()
        const last = rss.at(-1)
        log(`  ${name}: ${Math.round(elapsed())} s, ${stats.requests} requests, RSS ${last ? `${(last[1] / MiB).toFixed(0)} MiB (anon ${(last[2] / MiB).toFixed(0)}, file ${(last[3] / MiB).toFixed(0)})` : '?'}`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const loadEnd = elapsed()
  loadavg.push(os.loadavg()[0])
  clearInterval(sampler)
  const last = rssOf()
  if (last?.rss > 0) rss.push([elapsed(), last.rss, last.anon, last.file])
  if (!alive()) deaths = 1
  agent.destroy()
  return { ...summarize({ name, stats, rss, deaths, durationS: loadEnd, concurrency }), loadavg1m: loadavg.map((l) => round(l, 2)) }
}

function summarize({ name, stats, rss, deaths, durationS, concurrency }) {
  const sorted = stats.latencies.sort((a, b) => a - b)
  const warmupEnd = durationS * 0.2
  const after = rss.filter(([t]) => t >= warmupEnd)
  const at = (t) => rss.find(([s]) => s >= t)?.[1] ?? NaN
  const fivexx = Object.entries(stats.statuses).filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0)
  const categories = {}
  for (const [cat, c] of Object.entries(stats.categories)) {
    const l = c.latencies.sort((a, b) => a - b)
    categories[cat] = { count: c.count, statuses: c.statuses, xcache: c.xcache, p50: round(percentile(l, 50)), p99: round(percentile(l, 99)) }
  }
  return {
    target: name,
    durationS: round(durationS),
    concurrency,
    requests: stats.requests,
    reqPerS: round(stats.requests / durationS),
    latencyMs: { p50: round(percentile(sorted, 50)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? NaN) },
    statuses: stats.statuses,
    xcache: stats.xcache,
    categories,
    identicalGroups: stats.groups,
    fivexx,
    unexpected5xx: stats.unexpected.filter((u) => u.status >= 500).length,
    unexpected: stats.unexpected.slice(0, 50),
    unexpectedCount: stats.unexpected.length,
    errors: stats.errors.slice(0, 50),
    errorCount: stats.errors.length,
    retried: stats.retried,
    deaths,
    rss: {
      warmupEndMiB: round(at(warmupEnd) / MiB),
      endMiB: round((rss.at(-1)?.[1] ?? NaN) / MiB),
      maxMiB: round(Math.max(...rss.map(([, b]) => b)) / MiB),
      slopeMiBPerMin: round(slopeMiBPerMin(after), 2),
      // The same over the minimum of each 30 s window: less swayed by a 20 MP decode in flight.
      floorSlopeMiBPerMin: round(slopeMiBPerMin(floorSamples(after)), 2),
      // Where it goes: anonymous memory (heaps, pixels) vs file pages (the addon's code).
      anonSlopeMiBPerMin: round(slopeMiBPerMin(after.map(([t, , anon]) => [t, anon])), 2),
      fileEndMiB: round((rss.at(-1)?.[3] ?? NaN) / MiB),
      // [seconds, RSS, RssAnon, RssFile], MiB.
      samples: rss.map(([t, ...b]) => [round(t, 1), ...b.map((x) => round(x / MiB, 1))]),
    },
  }
}

const round = (x, digits = 1) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null)

// ---------------------------------------------------------------------------------------
// Targets.

/** Stops for the servers running now, for Ctrl-C (their process groups outlive us). */
const running = new Set()

function sourceServer(dir) {
  const types = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', tiff: 'image/tiff', bmp: 'image/bmp' }
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://n').pathname.slice(1))
    if (name.includes('/') || name.startsWith('.')) return res.writeHead(404).end()
    fs.readFile(path.join(dir, name), (err, data) => {
      if (err) return res.writeHead(404).end()
      res.writeHead(200, { 'content-type': types[path.extname(name).slice(1)] ?? 'application/octet-stream', 'cache-control': 'public, max-age=3600' })
      res.end(data)
    })
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function soakServe({ dir, durationS, concurrency, mixOptions, log }) {
  const publicDir = path.join(dir, 'public')
  const server = await startImageServe({
    publicDir,
    cacheDir: path.join(dir, 'serve-cache'),
    config: {
      formats: ['image/avif', 'image/webp'],
      qualities: [50, 75, 90],
      // Any query string on local URLs, so `?v=n` makes a new cache key (a miss) at will.
      localPatterns: [{ pathname: '/**' }],
      // Small enough that a long run evicts from the disk cache.
      maximumDiskCacheSize: 128 * MiB,
    },
  })
  const kill = () => server.stop('SIGKILL', 1000)
  running.add(kill)
  log(`serve: ${server.url} (pid ${server.pid})`)
  let died = null
  let stopping = false
  server.exited.then((e) => stopping || (died = e))
  const target = {
    imageBase: '/_next/image',
    image: (src, w, q) => `/_next/image?url=${encodeURIComponent(src)}&w=${w}&q=${q}`,
    source: (name, v) => `/${name}${v ? `?v=${v}` : ''}`,
    qualities: [50, 75, 90],
  }
  const mix = makeMix(target, mixOptions)
  let result
  try {
    result = await runLoad({ name: 'serve', baseUrl: server.url, mix, concurrency, durationS, rssOf: () => memoryOf(server.pid), alive: () => !died, log })
  } finally {
    stopping = !died
    const exit = died ?? (await server.stop('SIGTERM', 30_000))
    running.delete(kill)
    if (result) result.stop = exit
    if (died) log(`serve died: ${JSON.stringify(died)}\n${server.output().slice(-4000)}`)
  }
  if (died) result.deaths = 1
  result.serverLogTail = server.output().slice(-2000)
  return result
}

async function soakNext({ dir, durationS, concurrency, mixOptions, log }) {
  const { app, prepareExample, serveExample } = await import('./example.mjs')
  log('next: install and build examples/app (as `npm start` does)')
  prepareExample({ log: (m) => log(`  ${m}`) })
  const cacheDir = path.join(app, '.next', 'cache', 'next-native-images')
  fs.rmSync(cacheDir, { recursive: true, force: true })
  const upstream = await sourceServer(path.join(dir, 'public'))
  const srcBase = `http://127.0.0.1:${upstream.address().port}`
  let output = ''
  const sink = { write: (chunk) => (output = (output + chunk).slice(-64 * 1024)) }
  const app1 = await serveExample({ port: 0, stdout: sink })
  running.add(app1.stop)
  log(`next: ${app1.url} (pid ${app1.server.pid}), sources from ${srcBase}`)
  let died = null
  let stopping = false
  app1.server.once('exit', (code, signal) => stopping || (died = { code, signal }))
  const pidsAtStart = processTree(app1.server.pid)
  const target = {
    imageBase: '/api/image',
    image: (src, w, q) => `/api/image?url=${encodeURIComponent(src)}&w=${w}&q=${q}`,
    source: (name, v) => `${srcBase}/${name}${v ? `?v=${v}` : ''}`,
    qualities: [75],
    pages: ['/', '/posts', '/notes', '/isr', '/stats', '/gallery', '/legacy'],
    localHot: ['/gallery/aurora.jpg', '/gallery/dunes.jpg', '/gallery/forest.jpg'], // examples/app/public
  }
  const mix = makeMix(target, mixOptions)
  let result
  try {
    result = await runLoad({ name: 'next', baseUrl: app1.url, mix, concurrency, durationS, rssOf: () => treeMemory(app1.server.pid), alive: () => !died, log })
    // A worker process of Next that died and was replaced is a death too.
    const gone = pidsAtStart.filter((p) => !memoryOf(p))
    if (gone.length) (result.deaths += gone.length), (result.lostPids = gone)
    result.processes = processTree(app1.server.pid).length
  } finally {
    stopping = !died
    await app1.stop()
    running.delete(app1.stop)
    upstream.close()
    fs.rmSync(cacheDir, { recursive: true, force: true })
  }
  if (died) result.deaths = Math.max(result.deaths, 1)
  result.serverLogTail = output.slice(-2000)
  return result
}

// ---------------------------------------------------------------------------------------
// Report.

function table(runs) {
  const col = (r, f) => f(r)
  const statusText = (s) => Object.entries(s).map(([k, v]) => `${k}: ${v}`).join(', ')
  const rows = [
    ['duration', (r) => `${r.durationS} s`],
    ['concurrency', (r) => String(r.concurrency)],
    ['requests', (r) => r.requests.toLocaleString('en')],
    ['req/s', (r) => String(r.reqPerS)],
    ['p50 / p99 latency', (r) => `${r.latencyMs.p50} / ${r.latencyMs.p99} ms`],
    ['status counts', (r) => statusText(r.statuses)],
    ['X-Nextjs-Cache', (r) => statusText(r.xcache)],
    ['RSS warm-up end / end / max', (r) => `${r.rss.warmupEndMiB} / ${r.rss.endMiB} / ${r.rss.maxMiB} MiB`],
    ['RSS slope after warm-up (all samples; 30 s minima; anon only)', (r) => `${r.rss.slopeMiBPerMin}; ${r.rss.floorSlopeMiBPerMin}; ${r.rss.anonSlopeMiBPerMin} MiB/min`],
    ['5xx (unexpected)', (r) => `${r.fivexx} (${r.unexpected5xx})`],
    ['other unexpected statuses', (r) => String(r.unexpectedCount - r.unexpected5xx)],
    ['socket errors', (r) => String(r.errorCount)],
    ['deaths', (r) => String(r.deaths)],
  ]
  const lines = [`| | ${runs.map((r) => r.target).join(' | ')} |`, `| --- | ${runs.map(() => '---').join(' | ')} |`]
  for (const [label, f] of rows) lines.push(`| ${label} | ${runs.map((r) => col(r, f)).join(' | ')} |`)
  return lines.join('\n')
}

/** The run's verdict: a list of failures (empty: pass). */
export function judge(run) {
  const failures = []
  if (run.deaths) failures.push(`${run.target}: ${run.deaths} process death(s)`)
  if (run.unexpected5xx) failures.push(`${run.target}: ${run.unexpected5xx} 5xx that Next would not give`)
  if (run.unexpectedCount - run.unexpected5xx) failures.push(`${run.target}: ${run.unexpectedCount - run.unexpected5xx} other statuses Next would not give`)
  if (run.stop && (run.stop.code !== 0 || run.stop.signal)) failures.push(`${run.target}: did not stop cleanly on SIGTERM (${JSON.stringify(run.stop)})`)
  if (run.errorCount) failures.push(`${run.target}: ${run.errorCount} requests failed at the socket`)
  if (run.identicalGroups.identical !== run.identicalGroups.consistent) {
    failures.push(`${run.target}: ${run.identicalGroups.identical - run.identicalGroups.consistent} groups of identical requests got different answers`)
  }
  // RSS growth is judged on runs of 5 minutes or more only (short runs: reported).
  if (run.durationS >= 300 && !(run.rss.slopeMiBPerMin <= 5)) failures.push(`${run.target}: RSS slope ${run.rss.slopeMiBPerMin} MiB/min after warm-up (limit 5)`)
  return failures
}

async function main() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '600' },
      concurrency: { type: 'string', default: '16' },
      target: { type: 'string', default: 'both' },
      json: { type: 'string' },
      'avif-max-width': { type: 'string' },
      seed: { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(0, 17).join('\n') + '\n')
    return 0
  }
  const durationS = Number(values.duration)
  const concurrency = Number(values.concurrency)
  if (!(durationS > 0) || !(Number.isInteger(concurrency) && concurrency > 0)) throw new Error('--duration and --concurrency must be positive numbers')
  if (!['serve', 'next', 'both'].includes(values.target)) throw new Error('--target must be serve, next or both')
  if (process.platform !== 'linux') throw new Error('the soak samples RSS from /proc: Linux only')
  const info = native().nativeInfo()
  // A debug build's AVIF encoder (libaom built unoptimised) is many times slower than a
  // release build's and would hold both encode slots for minutes: AVIF-accepting requests
  // stay at small widths.
  const avifMaxWidth = Number(values['avif-max-width'] ?? (info.release ? 3840 : 256))
  const log = (m) => process.stdout.write(`${m}\n`)
  log(`soak: ${values.target}, ${durationS} s each, concurrency ${concurrency}; addon ${info.version} ${info.target} (${info.release ? 'release' : 'debug'} build); ${os.availableParallelism()} cores; AVIF requests up to ${avifMaxWidth} px`)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'next-native-soak-'))
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      log(`soak: ${signal}, stopping`)
      await Promise.allSettled([...running].map((stop) => stop()))
      fs.rmSync(dir, { recursive: true, force: true })
      process.exit(130)
    })
  }
  // Others may rebuild the addon meanwhile: note the file measured, and whether it changed.
  const binaryStat = () => {
    const file = fs.readdirSync(ROOT).find((f) => /^next-native\.[a-z0-9-]+\.node$/.test(f))
    const st = file && fs.statSync(path.join(ROOT, file))
    return st ? { file, bytes: st.size, mtime: st.mtime.toISOString() } : null
  }
  const results = { startedAt: new Date().toISOString(), build: info, binary: binaryStat(), cores: os.availableParallelism(), loadavgStart: os.loadavg(), options: { durationS, concurrency, target: values.target, avifMaxWidth, seed: Number(values.seed) }, runs: [] }
  try {
    let t = performance.now()
    const valid = validSources()
    const large = largeSources()
    const corrupt = corruptSources(valid)
    const hostile = hostileSources()
    writeSources(path.join(dir, 'public'), [...valid, ...large, ...corrupt, ...hostile])
    log(`sources: ${valid.length + large.length} valid (up to ${((LARGE.width * LARGE.height) / 1e6).toFixed(1)} MP), ${corrupt.length} corrupt, ${hostile.length} hostile, in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const mixOptions = (seed) => ({ rnd: seeded(seed), avifMaxWidth, large: true, corrupt, hostile })
    const targets = values.target === 'both' ? ['serve', 'next'] : [values.target]
    for (const name of targets) {
      t = performance.now()
      const run = name === 'serve' ? soakServe : soakNext
      try {
        results.runs.push(await run({ dir, durationS, concurrency, mixOptions: mixOptions(Number(values.seed)), log }))
      } catch (err) {
        results.runs.push({ target: name, setupError: err.stack || String(err) })
        log(`${name}: failed to run: ${err.stack || err}`)
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
  results.loadavgEnd = os.loadavg()
  results.binaryAtEnd = binaryStat()
  if (JSON.stringify(results.binaryAtEnd) !== JSON.stringify(results.binary)) log(`note: the addon binary changed during the run: ${JSON.stringify(results.binary)} → ${JSON.stringify(results.binaryAtEnd)}`)
  const ran = results.runs.filter((r) => !r.setupError)
  results.failures = results.runs.flatMap((r) => (r.setupError ? [`${r.target}: could not run (${r.setupError.split('\n')[0]})`] : judge(r)))
  results.pass = results.failures.length === 0
  if (ran.length) log(`\n${table(ran)}\n`)
  for (const r of ran) {
    for (const u of r.unexpected.slice(0, 10)) log(`  unexpected: ${r.target} ${u.category} ${u.status} (expected ${u.expected}) ${u.path}`)
    for (const e of r.errors.slice(0, 10)) log(`  error: ${r.target} ${e.category} ${e.error} ${e.path}`)
  }
  if (values.json) fs.writeFileSync(values.json, JSON.stringify(results, null, 2))
  log(results.pass ? 'soak: PASS' : `soak: FAIL\n  ${results.failures.join('\n  ')}`)
  return results.pass ? 0 : 1
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`soak: ${err.stack || err}\n`)
      process.exit(2)
    },
  )
}
