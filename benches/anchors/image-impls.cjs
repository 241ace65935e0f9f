'use strict'

// The two implementations under test, each configured as Next 16.4.6 configures sharp
// (`optimizeImage` in next/dist/server/image-optimizer/transform.js): auto-orient, resize
// without enlargement (lanczos3), strip metadata; AVIF q = max(round(q·50/80), 1), effort 3,
// 4:4:4; WebP q; palette PNG; mozjpeg.
// Each is loaded only when used, so a process measuring one does not carry the other.

const path = require('node:path')
const os = require('node:os')

let sharpLib
function sharp() {
  if (!sharpLib) {
    sharpLib = require('sharp')
    // Next's getSharp: per-image threads = max(floor(cores / 2), 1) in production.
    sharpLib.concurrency(threads)
  }
  return sharpLib
}

let nativeLib
const native = () => (nativeLib ??= require(path.join(__dirname, '..', '..', 'index.js')))

function sharpPipeline(buf, width, format, quality = 75) {
  const t = sharp()(buf, { limitInputPixels: 268402689 }).timeout({ seconds: 7 }).rotate().resize(width, undefined, { withoutEnlargement: true })
  if (format === 'avif') return t.avif({ quality: Math.max(Math.round(quality * (50 / 80)), 1), effort: 3, chromaSubsampling: '4:4:4' }).toBuffer()
  if (format === 'webp') return t.webp({ quality }).toBuffer()
  if (format === 'png') return t.png({ quality }).toBuffer()
  return t.jpeg({ quality, mozjpeg: true }).toBuffer()
}

// Threads per image, as Next gives sharp and `createImageHandler` gives us by default
// (`imgOptConcurrency` unset): max(floor(cores / 2), 1).
const threads = Math.max(Math.floor(os.availableParallelism() / 2), 1)

const optimize = {
  ours: async (buf, width, format) => (await native().optimizeImage(buf, { width, format, quality: 75, threads })).data,
  sharp: (buf, width, format) => sharpPipeline(buf, width, format),
}

module.exports = { optimize, sharp }
