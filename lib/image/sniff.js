'use strict'

// Content sniffing: what an upstream's bytes are, whatever its Content-Type says. Mirrors
// `server/image-optimizer/detect-content-type.js` (the magic table, then image-detector on the
// first 1024 bytes, whose heif/cur/dds/j2c/ktx/pnm/psd/tga answers mean "not an image") and
// is-animated 1.2, which `server/image-optimizer/transform.js` asks before resizing.
// Refuses an argument that is not a Buffer/Uint8Array (ERR_INVALID_ARG_TYPE) or is detached
// (ERR_INVALID_ARG_VALUE); any bytes get an answer, null when they are no known type.
//
// crates/image/src/format.rs sniffs and detects animation too, for its decoders and
// `imageMetadata().animated`. These copies are the route's on purpose: Next decides 400,
// passthrough and bypass from the bytes before any decode, for bytes whose header the native
// side cannot parse too (is-animated answers for a truncated GIF; imageMetadata throws), and
// with image-detector's wider table (SVG anywhere in the first 1000 bytes, HEIF brands).
// __test__/image.test.js checks both give the same answers on the fixtures.

const { validateBytes } = require('../errors')
const { JPEG, PNG, GIF, WEBP, AVIF, SVG, ICO, ICNS, TIFF, BMP, JXL, HEIC, JP2, PDF } = require('./image-type')

const startsWith = (buf, bytes, offset = 0) => bytes.every((b, i) => b === null || buf[offset + i] === b)
const ascii = (s) => [...s].map((ch) => ch.charCodeAt(0))

/** An ISO-BMFF `ftyp` box with a plausible size (so text "…ftypavif" is not AVIF). */
function hasFtypBox(buf, brand) {
  if (buf.length < 12) return false
  const size = buf.readUInt32BE(0)
  if (size < 16 || size > buf.length) return false
  return startsWith(buf, ascii('ftyp'), 4) && startsWith(buf, ascii(brand), 8)
}

// image-detector's helpers, on a ≤1024-byte slice.
const u16le = (t, o) => t[o] + t[o + 1] * 256
const u32be = (t, o) => t[o] * 2 ** 24 + t[o + 1] * 2 ** 16 + t[o + 2] * 2 ** 8 + t[o + 3]
const text = (t, a, b) => new TextDecoder().decode(t.subarray(a, b))
function findBox(t, name, n) {
  while (n < t.length) {
    if (t.length - n < 4) return undefined
    const size = u32be(t, n)
    if (t.length - n < size) return undefined
    if (text(t, n + 4, n + 8) === name) return { offset: n, size }
    n += size > 0 ? size : 8
  }
  return undefined
}
const boxBrand = (t, magic, brands) => {
  if (text(t, 4, 8) !== magic) return false
  const box = findBox(t, 'ftyp', 0)
  return !!box && brands.includes(text(t, box.offset + 8, box.offset + 12))
}
const DETECTORS = [
  ['bmp', (t) => text(t, 0, 2) === 'BM'],
  ['cur', (t) => u16le(t, 0) === 0 && u16le(t, 4) !== 0 && u16le(t, 2) === 2],
  ['dds', (t) => u16le(t, 0) + u16le(t, 2) * 65536 === 542327876],
  ['gif', (t) => /^GIF8[79]a/.test(text(t, 0, 6))],
  ['heif', (t) => boxBrand(t, 'ftyp', ['avif', 'mif1', 'msf1', 'heic', 'heix', 'hevc', 'hevx'])],
  ['icns', (t) => text(t, 0, 4) === 'icns'],
  ['ico', (t) => u16le(t, 0) === 0 && u16le(t, 4) !== 0 && u16le(t, 2) === 1],
  ['j2c', (t) => u32be(t, 0) === 4283432785],
  ['jp2', (t) => boxBrand(t, 'jP  ', ['jp2 '])],
  ['jpg', (t) => t[0] === 0xff && t[1] === 0xd8],
  ['jxl', (t) => boxBrand(t, 'JXL ', ['jxl '])],
  ['jxl-stream', (t) => t[0] === 0xff && t[1] === 0x0a],
  ['ktx', (t) => ['KTX 11', 'KTX 20'].includes(text(t, 1, 7))],
  ['png', (t) => text(t, 1, 8) === 'PNG\r\n\x1a\n'],
  ['pnm', (t) => ['P1', 'P2', 'P3', 'P4', 'P5', 'P6', 'P7', 'PF'].includes(text(t, 0, 2))],
  ['psd', (t) => text(t, 0, 4) === '8BPS'],
  ['svg', (t) => /<svg\s([^>"']|"[^"]*"|'[^']*')*>/.test(text(t, 0, 1000))],
  ['tga', (t) => u16le(t, 0) === 0 && u16le(t, 4) === 0],
  ['tiff', (t) => t.length >= 4 && ['49492a00', '4d4d002a'].includes(Buffer.from(t.subarray(0, 4)).toString('hex'))],
  ['webp', (t) => text(t, 0, 4) === 'RIFF' && text(t, 8, 12) === 'WEBP' && text(t, 12, 15) === 'VP8'],
]
const FIRST_BYTE = { 56: 'psd', 66: 'bmp', 68: 'dds', 71: 'gif', 73: 'tiff', 77: 'tiff', 82: 'webp', 105: 'icns', 137: 'png', 255: 'jpg' }
const DETECTED_TYPES = { webp: WEBP, png: PNG, jpg: JPEG, gif: GIF, svg: SVG, jxl: JXL, 'jxl-stream': JXL, jp2: JP2, tiff: TIFF, bmp: BMP, ico: ICO, icns: ICNS }

function imageDetector(t) {
  const first = FIRST_BYTE[t[0]]
  if (first && DETECTORS.find(([name]) => name === first)[1](t)) return first
  return DETECTORS.find(([, validate]) => validate(t))?.[0]
}

function detectContentType(buf) {
  validateBytes(buf, 'buffer')
  if (buf.length === 0) return null
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return JPEG
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG
  if (startsWith(buf, ascii('GIF8'))) return GIF
  if (startsWith(buf, [...ascii('RIFF'), null, null, null, null, ...ascii('WEBP')])) return WEBP
  if (startsWith(buf, ascii('<?xml')) || startsWith(buf, ascii('<svg'))) return SVG
  if (hasFtypBox(buf, 'avif')) return AVIF
  if (startsWith(buf, [0, 0, 1, 0])) return ICO
  if (startsWith(buf, ascii('icns'))) return ICNS
  if (startsWith(buf, [0x49, 0x49, 0x2a, 0])) return TIFF
  if (startsWith(buf, ascii('BM'))) return BMP
  if (startsWith(buf, [0xff, 0x0a])) return JXL
  if (startsWith(buf, [0, 0, 0, 0x0c, ...ascii('JXL '), 0x0d, 0x0a, 0x87, 0x0a])) return JXL
  if (hasFtypBox(buf, 'heic')) return HEIC
  if (startsWith(buf, ascii('%PDF-'))) return PDF
  if (startsWith(buf, [0, 0, 0, 0x0c, ...ascii('jP  '), 0x0d, 0x0a, 0x87, 0x0a])) return JP2
  return DETECTED_TYPES[imageDetector(buf.subarray(0, 1024))] ?? null
}

// is-animated 1.2 (`compiled/is-animated`, used by `server/image-optimizer/transform.js`), byte for byte: GIF image descriptors, APNG chunk order, WebP "ANIM".
function isAnimated(buf) {
  validateBytes(buf, 'buffer')
  if (buf.subarray(0, 3).toString('ascii') === 'GIF') {
    const blocks = (i) => {
      let n = 0
      while (buf[i + n]) n += buf[i + n] + 1
      return n + 1
    }
    let i = 13 + (buf[10] & 0x80 ? 3 * 2 ** ((buf[10] & 7) + 1) : 0)
    let frames = 0
    while (frames < 2 && i < buf.length) {
      if (buf[i] === 0x2c) {
        frames++
        const local = buf[i + 9] & 0x80
        const size = buf[i + 9] & 7
        i += 10 + (local ? 3 * 2 ** (size + 1) : 0)
        i += blocks(i + 1) + 1
      } else if (buf[i] === 0x21) {
        i += 2
        i += blocks(i)
      } else {
        i = buf.length
      }
    }
    return frames > 1
  }
  if (buf.subarray(0, 8).toString('hex') === '89504e470d0a1a0a') {
    let acTL = false
    let idat = false
    let fdAT = false
    let previous = null
    let i = 8
    while (i < buf.length) {
      // is-animated reads past the end as it goes; a truncated chunk header ends the walk.
      if (i + 8 > buf.length) break
      const size = buf.readUInt32BE(i)
      const name = buf.subarray(i + 4, i + 8).toString('ascii')
      if (name === 'acTL') acTL = true
      else if (name === 'IDAT') {
        if (!acTL || (previous !== 'fcTL' && previous !== 'IDAT')) return false
        idat = true
      } else if (name === 'fdAT') {
        if (!idat || (previous !== 'fcTL' && previous !== 'fdAT')) return false
        fdAT = true
      }
      previous = name
      i += 12 + size
    }
    return acTL && idat && fdAT
  }
  if (buf[8] === 0x57 && buf[9] === 0x45 && buf[10] === 0x42 && buf[11] === 0x50) return buf.includes('ANIM')
  return false
}

module.exports = { detectContentType, isAnimated }
