'use strict'

// optimizeImage / imageMetadata / blurPlaceholder, checked the way a user would: outputs are
// decoded by an independent decoder (sharp, the library this replaces) for format, size,
// orientation, colour and alpha; the blur placeholder is compared with Next's own code.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const zlib = require('node:zlib')
const path = require('node:path')
const sharp = require('sharp')
const native = require('../index.js')
const { getImageBlurSvg } = require('next/dist/shared/lib/image-blur-svg')

// Camera-sized JPEGs: the repo's generated 1200×750 photo (fixtures/image-app/make-images.js),
// enlarged by sharp to a 16:10 size such as a wallpaper's 2560×1600.
const PHOTO = fs.readFileSync(path.join(__dirname, 'fixtures', 'image-app', 'public', 'photo.jpg'))
const photo = (width, height) => sharp(PHOTO).resize(width, height).jpeg({ quality: 90 }).toBuffer()

async function pixel(buf, x, y) {
  const { data, info } = await sharp(buf).ensureAlpha().raw().toBuffer({ resolveWithObject: true })
  const i = (y * info.width + x) * 4
  return [data[i], data[i + 1], data[i + 2], data[i + 3]]
}

const near = (a, b, tol) => a.every((v, i) => Math.abs(v - b[i]) <= tol)

test('each output format decodes to the requested width and the aspect ratio, never enlarged', async () => {
  const src = await photo(2560, 1600)
  for (const format of ['jpeg', 'webp', 'avif', 'png']) {
    const out = await native.optimizeImage(src, { width: 640, format })
    const meta = await sharp(out.data).metadata()
    assert.equal(meta.format === 'heif' ? 'avif' : meta.format, format)
    assert.deepEqual([meta.width, meta.height, out.width, out.height], [640, 400, 640, 400])
    assert.equal(out.contentType, `image/${format}`)
  }
  const big = await native.optimizeImage(src, { width: 4000, format: 'webp' })
  assert.deepEqual([big.width, big.height], [2560, 1600], 'never enlarges')
  const strip = await sharp({ create: { width: 10000, height: 50, channels: 3, background: '#808080' } }).png().toBuffer()
  const tiny = native.optimizeImageSync(strip, { width: 64, format: 'png' })
  assert.deepEqual([tiny.width, tiny.height], [64, 1])
})

test('a 3840 px AVIF from a 5120×2880 photo (the largest width Next allows): AVIF, 3840×2160, the photo\'s colours', async () => {
  const src = await photo(5120, 2880)
  const out = await native.optimizeImage(src, { width: 3840, format: 'avif' })
  const meta = await sharp(out.data).metadata()
  assert.deepEqual([meta.format, meta.compression, meta.width, meta.height], ['heif', 'av1', 3840, 2160])
  assert.deepEqual([out.contentType, out.width, out.height], ['image/avif', 3840, 2160])
  // The AVIF decodes to the same picture as the source shrunk to a thumbnail.
  const thumb = (buf) => sharp(buf).resize(16, 9, { fit: 'fill' }).removeAlpha().raw().toBuffer()
  const [a, b] = await Promise.all([thumb(out.data), thumb(src)])
  const mae = a.reduce((acc, v, i) => acc + Math.abs(v - b[i]), 0) / a.length
  assert.ok(mae < 4, `thumbnail MAE ${mae.toFixed(2)} against the source`)
})

test('format: negotiated from Accept among formats as Next does, else the source type (JPEG for WebP/AVIF)', async () => {
  const jpeg = await sharp({ create: { width: 40, height: 20, channels: 3, background: 'red' } }).jpeg().toBuffer()
  const webp = await sharp(jpeg).webp().toBuffer()
  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'
  const type = (buf, opts) => native.optimizeImageSync(buf, { width: 32, ...opts }).contentType
  assert.equal(type(jpeg, { accept: chrome }), 'image/webp', "Next's default formats: webp only")
  assert.equal(type(jpeg, { accept: chrome, formats: ['image/webp', 'image/avif'] }), 'image/avif', 'AVIF wins ties')
  assert.equal(type(jpeg, { accept: '*/*', formats: ['image/webp', 'image/avif'] }), 'image/jpeg', 'wildcards never yield webp/avif')
  assert.equal(type(webp, { accept: '*/*' }), 'image/jpeg', 'an old browser gets JPEG for a WebP source')
  assert.equal(type(jpeg, { format: 'png', accept: chrome }), 'image/png', 'an explicit format wins')
})

test("format: Accept negotiation (the image crate's rule, through lib/image/accept.js) gives Next's answers, and optimizeImage encodes that type", async () => {
  const { negotiateMimeType } = require('../lib/image/accept')
  const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: 'red' } }).jpeg().toBuffer()
  // The answers of the route's former JS copy of @hapi/accept 6 + Next's literal check (which
  // its agreement test held equal to the native rule), one column per `formats` list below;
  // BAD: refused with ERR_INVALID_ARG_VALUE (Next: 500).
  const BAD = 'ERR_INVALID_ARG_VALUE'
  const FORMATS = [['image/webp'], ['image/avif'], ['image/webp', 'image/avif'], ['image/avif', 'image/webp'], [], ['image/png', 'image/*', 'text/plain'], ['*/*', 'image/webp'], ['IMAGE/PNG', 'image/webp']]
  const ANSWERS = [
    ['', '', '', '', '', '', '', '', ''],
    ['*/*', '', '', '', '', '', '', '', ''],
    ['image/*', '', '', '', '', '', '', 'image/*', ''],
    ['image/webp', 'image/webp', '', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['image/avif', '', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', ''],
    ['IMAGE/AVIF', '', '', '', '', '', '', '', ''],
    ['IMAGE/WEBP, image/avif;q=0.2', '', 'image/avif', '', '', '', '', '', ''],
    ['image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/apng', 'image/apng', 'image/webp'],
    ['image/webp,*/*', 'image/webp', '', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['image/avif;q=0,image/webp', 'image/webp', '', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['image/avif;q=0.5, image/webp', 'image/webp', 'image/avif', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['image/avif;q=0, image/webp;q=0', '', '', '', '', '', '', '', ''],
    ['image/webp;q=0.9, image/avif;q=7', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', 'image/webp'],
    ['image/webp;q=0.9, image/avif;q=-1', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', 'image/webp'],
    ['image/webp;q=0.9, image/avif;q=abc', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', 'image/webp'],
    ['image/webp;q=0.0001, image/avif;q=0.5', 'image/webp', 'image/avif', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['image/*;q=0.9, image/avif;q=0.5', '', 'image/avif', '', '', '', '', 'image/*', ''],
    ['image/*, image/webp;q=0', '', '', '', '', '', '', 'image/*', ''],
    ['image/webp;level=1', 'image/webp;level=1', '', 'image/webp;level=1', 'image/webp;level=1', '', 'image/webp;level=1', 'image/webp;level=1', 'image/webp;level=1'],
    ['image/webp;b=2;a=1, image/avif;q=0.1', 'image/webp;b=2;a=1', 'image/avif', 'image/webp;b=2;a=1', 'image/webp;b=2;a=1', '', 'image/webp;b=2;a=1', 'image/webp;b=2;a=1', 'image/webp;b=2;a=1'],
    ['image/webp;x="a, b";q=0.4, image/avif;q=0.3', 'image/webp;x="a, b"', 'image/avif', 'image/webp;x="a, b"', 'image/webp;x="a, b"', '', 'image/webp;x="a, b"', 'image/webp;x="a, b"', 'image/webp;x="a, b"'],
    ['image/webp;x="unterminated', '', '', '', '', '', '', '', ''],
    ['\timage/webp ;  q=0.5 ,image/avif;q=0.5', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', 'image/webp'],
    ['nonsense;x, image/webp', 'image/webp', '', 'image/webp', 'image/webp', '', 'image/webp', 'image/webp', 'image/webp'],
    ['text/html, image/webp;q=0.1', 'image/webp', '', 'image/webp', 'image/webp', '', 'image/webp', 'text/html', 'image/webp'],
    ['image/avif;q=1;x=1, image/webp', 'image/webp', 'image/avif', 'image/avif', 'image/avif', '', 'image/avif', 'image/avif', 'image/webp'],
    ['image/webp;x', BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD],
    ['image/webp;x=', BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD],
    ['image/webp;q=1=2', BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD],
    ['image/webp;', BAD, BAD, BAD, BAD, BAD, BAD, BAD, BAD],
    ['image/png, text/*', '', '', '', '', '', 'image/png', 'image/png', ''],
    ['text/*;q=0.5, image/png;q=0.4, */*', '', '', '', '', '', '', '', ''],
    ['image/WebP;Level=1, image/png', '', '', '', '', '', 'image/png', 'image/png', ''],
    ['image/webp;x=1;x=2, image/png;q=0.5', '', '', '', '', '', '', '', ''],
    ['image/avif;constructor=1, image/webp;q=0.9', 'image/webp', 'image/avif;constructor=1', 'image/avif;constructor=1', 'image/avif;constructor=1', '', 'image/avif;constructor=1', 'image/avif;constructor=1', 'image/webp'],
  ]
  for (const [accept, ...answers] of ANSWERS) {
    FORMATS.forEach((formats, i) => {
      const label = `${JSON.stringify(accept)} among ${formats}`
      let answer
      try {
        answer = negotiateMimeType(formats, accept)
      } catch (err) {
        assert.match(err.message, /"accept"/, label)
        answer = err.code
      }
      assert.equal(answer, answers[i], label)
      // optimizeImage negotiates by the same rule (OutputFormat::resolve) for the types it encodes.
      if (!formats.every((f) => ['image/webp', 'image/avif'].includes(f))) return
      let encoded
      try {
        encoded = native.optimizeImageSync(jpeg, { width: 8, accept, formats }).contentType
      } catch (err) {
        assert.equal(err.code, 'ERR_IMAGE_INVALID_OPTIONS', label)
        encoded = BAD
      }
      assert.equal(encoded, answer === BAD ? BAD : answer.split(';')[0] || 'image/jpeg', label) // a JPEG source's fallback
    })
  }
})

test("sniffing and animation (the image crate's rules, through lib/image/sniff.js) give Next's answers on the fixtures and on odd bytes", () => {
  const { detectContentType, isAnimated } = require('../lib/image/sniff')
  const dir = path.join(__dirname, 'fixtures', 'image-app', 'public')
  // The answers of the route's former JS copies of detect-content-type.js + image-detector and
  // is-animated 1.2: [content type, animated].
  const FIXTURES = {
    'alpha.png': ['image/png', false],
    'animated.gif': ['image/gif', true],
    'animated.webp': ['image/webp', true],
    'bomb.png': ['image/png', false],
    'corrupt.jpg': ['image/jpeg', false],
    'doc.pdf': ['application/pdf', false],
    'empty.png': [null, false],
    'favicon.ico': ['image/x-icon', false],
    'image.bmp': ['image/bmp', false],
    'logo.svg': ['image/svg+xml', false],
    'photo-lzw.tiff': ['image/tiff', false],
    'photo.avif': ['image/avif', false],
    'photo.jpg': ['image/jpeg', false],
    'photo.tiff': ['image/tiff', false],
    'photo.v2.jpg': ['image/jpeg', false],
    'photo.webp': ['image/webp', false],
    'small.png': ['image/png', false],
    'still.gif': ['image/gif', false],
    'text.png': [null, false],
    'truncated.jpg': ['image/jpeg', false],
    'wide.png': ['image/png', false],
    '日本.png': ['image/png', false],
  }
  for (const [name, [type, animated]] of Object.entries(FIXTURES)) {
    const bytes = fs.readFileSync(path.join(dir, name))
    assert.equal(detectContentType(bytes), type, name)
    assert.equal(isAnimated(bytes), animated, name)
    // imageMetadata reads with the same rules: its format is the detected type, its
    // `animated` is-animated's answer (Next never asks is-animated about AVIF).
    let meta
    try {
      meta = native.imageMetadata(bytes)
    } catch (err) {
      // What no decoder reads (SVG, ICO, PDF, text, empty) the route passes through or refuses.
      assert.ok(['ERR_IMAGE_UNSUPPORTED_FORMAT', 'ERR_IMAGE_EMPTY', 'ERR_IMAGE_DECODE'].includes(err.code), name)
      continue
    }
    assert.equal(`image/${meta.format}`, type, name)
    if (meta.format !== 'avif') assert.equal(meta.animated, animated, name)
  }
  // Odd and truncated bytes (hex), with the former copies' answers.
  const TYPES = [
    ['jpeg_magic', 'ffd8ffe0', 'image/jpeg'],
    ['jpeg_detector', 'ffd80000', 'image/jpeg'],
    ['png_any_first', '78504e470d0a1a0a', 'image/png'],
    ['tiff_mm', '4d4d002a00000008', 'image/tiff'],
    ['svg_late', '3c21444f43545950452068746d6c3e3c7376672077696474683d223122206865696768743d2231223e3c2f7376673e', 'image/svg+xml'],
    ['svg_quoted_gt', '3c68746d6c3e3c73766720613d273e2720623d22783e223e', 'image/svg+xml'],
    ['svg_unclosed_quote', '3c68746d6c3e3c73766720613d22783e', null],
    ['svg_no_space', '20203c7376672f3e', null],
    ['svg_nbsp', '3c703e3c737667c2a03e', 'image/svg+xml'],
    ['svg_nel', '3c703e3c737667c2853e', null],
    ['avif_text', '0000001466747970617669662068656c6c6f', null],
    ['avis', '00000018667479706176697300000000617669736d736631', null],
    ['mif1', '00000018667479706d696631000000006d69663168656963', null],
    ['heic', '000000186674797068656963000000006d69663168656963', 'image/heic'],
    ['cur', '000002000100', null],
    ['tga', '000002000000', null],
    ['short_cur', '00000200', null],
    ['pnm', '50360a3120310a3235350a', null],
    ['psd', '384250530001', null],
    ['jxl_stream', 'ff0a', 'image/jxl'],
    ['ico_magic', '000001000100', 'image/x-icon'],
    ['bm', '424d', 'image/bmp'],
    ['text', '68656c6c6f20776f726c64', null],
    ['webp_vp8', '52494646000000005745425056503820', 'image/webp'],
    ['riff_short', '5249464600000000574542', null],
    ['j2c', 'ff4fff5100', null],
    ['ktx', 'ab4b5458203131bb', null],
    ['dds', '444453207c000000', null],
    ['jp2_box', '000000146a5020200d0a870a00000014667479706a70322000000000', null],
  ]
  for (const [name, hex, type] of TYPES) assert.equal(detectContentType(Buffer.from(hex, 'hex')), type, name)
  const ANIMATED = [
    ['gif_two', '474946383961010001000000002c00000000010001000002024401002c00000000010001000002024401003b', true],
    ['gif_one', '474946383961010001000000002c00000000010001000002024401003b', false],
    ['gif_second_cut', '474946383961010001000000002c00000000010001000002024401002c', true],
    ['gif_masked', 'c7c9c6383961010001000000002c00000000010001000002024401002c', true],
    ['gif_short', '474946', false],
    ['gif_ext_then_two', '4749463839610100010000000021f90400000000002c00000000010001000002024401002c000000000100010000', true],
    ['webp_anim', '5249464600000000574542505650385878787878414e494d', true],
    ['webp_still', '5249464600000000574542505650382078787878', false],
    ['xxxx_webp_anim', '787878787878787857454250414e494d', true],
    ['empty', '', false],
    ['apng', '89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000086163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c00000000000000000000000000000000000000000000000000000000000000000005666441540000000000000000000000000049454e4400000000', true],
    ['apng_cut_header', '89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000086163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000000000', true],
    ['apng_masked', '89504e470d0a1a0a0000000d49484452000000000000000000000000000000000000000008e163544c0000000000000000000000000000001a6663544c000000000000000000000000000000000000000000000000000000000000000000014944415400000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000', true],
    ['apng_idat_first', '89504e470d0a1a0a0000000d49484452000000000000000000000000000000000000000001494441540000000000000000086163544c0000000000000000000000000000001a6663544c0000000000000000000000000000000000000000000000000000000000000000000566644154000000000000000000', false],
    ['png_still', '89504e470d0a1a0a0000000d494844520000000000000000000000000000000000000000014944415400000000000000000049454e4400000000', false],
  ]
  for (const [name, hex, animated] of ANIMATED) assert.equal(isAnimated(Buffer.from(hex, 'hex')), animated, name)
})

test('EXIF orientation is applied and dropped', async () => {
  // 200×100: left half red, right half blue; orientation 6 displays it rotated 90° clockwise.
  const raw = Buffer.alloc(200 * 100 * 3)
  for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) raw.set(x < 100 ? [255, 0, 0] : [0, 0, 255], (y * 200 + x) * 3)
  const rotated = await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer()
  const meta = native.imageMetadata(rotated)
  assert.deepEqual([meta.format, meta.width, meta.height, meta.orientation], ['jpeg', 100, 200, 6])
  const out = await native.optimizeImage(rotated, { width: 50, format: 'png' })
  const m = await sharp(out.data).metadata()
  assert.deepEqual([m.width, m.height, m.orientation], [50, 100, undefined])
  assert.ok(near(await pixel(out.data, 25, 10), [255, 0, 0, 255], 40), 'top is red')
  assert.ok(near(await pixel(out.data, 25, 90), [0, 0, 255, 255], 40), 'bottom is blue')
})

test('colour: a Display P3 image is converted to sRGB (its colours stay the colours)', async () => {
  const srgb = [180, 60, 60]
  const solid = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: srgb[0], g: srgb[1], b: srgb[2] } } }).png().toBuffer()
  // sharp converts the pixels into P3 and tags them: the raw values differ from the sRGB ones.
  const p3 = await sharp(solid).withIccProfile('p3').png().toBuffer()
  const rawP3 = await sharp(p3).keepIccProfile().raw().toBuffer()
  assert.ok(!near([...rawP3.subarray(0, 3)], srgb, 8), `the stored P3 values (${[...rawP3.subarray(0, 3)]}) must differ from sRGB`)
  for (const format of ['jpeg', 'png', 'webp']) {
    const out = await native.optimizeImage(p3, { width: 32, format })
    const got = await pixel(out.data, 16, 16)
    assert.ok(near(got.slice(0, 3), srgb, 8), `${format}: ${got} is not close to sRGB ${srgb}`)
  }
})

test('alpha survives in PNG, WebP and AVIF', async () => {
  const src = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 0 } } })
    .composite([{ input: { create: { width: 32, height: 64, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 1 } } }, left: 0, top: 0 }])
    .png()
    .toBuffer()
  assert.equal(native.imageMetadata(src).hasAlpha, true)
  for (const format of ['png', 'webp', 'avif']) {
    const out = await native.optimizeImage(src, { width: 32, format })
    assert.ok((await pixel(out.data, 4, 16))[3] > 240, `${format}: left half opaque`)
    assert.ok((await pixel(out.data, 28, 16))[3] < 15, `${format}: right half transparent`)
  }
})

test('AVIF input: decoded as sharp (libheif) decodes it, alpha and P3 included', async () => {
  // Photo content, encoded by sharp's libaom; the reference pixels are sharp's own decode.
  const base = await sharp(await photo(2560, 1600)).resize(320).toBuffer()
  const cases = [
    ['4:2:0', await sharp(base).avif({ quality: 60, chromaSubsampling: '4:2:0' }).toBuffer()],
    ['4:4:4', await sharp(base).avif({ quality: 60, chromaSubsampling: '4:4:4' }).toBuffer()],
    ['alpha', await sharp(base).ensureAlpha(0.5).avif({ quality: 60 }).toBuffer()],
  ]
  for (const [name, avif] of cases) {
    const meta = native.imageMetadata(avif)
    assert.deepEqual([meta.format, meta.width, meta.height], ['avif', 320, 200], name)
    // TIFF: our lossless output (PNG would be palette-quantised). sharp's default failOn
    // 'warning' also checks that our RGBA TIFF is well-formed (ExtraSamples present).
    const out = await native.optimizeImage(avif, { width: 320, format: 'tiff' })
    const ours = await sharp(out.data).ensureAlpha().raw().toBuffer()
    const ref = await sharp(avif).ensureAlpha().raw().toBuffer()
    assert.equal(ours.length, ref.length, name)
    let sum = 0
    let worst = 0
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(ours[i] - ref[i])
      sum += d
      worst = Math.max(worst, d)
    }
    const mean = sum / ref.length
    // Same YUV→RGB maths and nearest-neighbour chroma as libheif: rounding differences only.
    assert.ok(mean < 0.1 && worst <= 2, `${name}: mean abs difference ${mean.toFixed(3)}, worst ${worst}`)
  }
  // A Display P3 AVIF (ICC in colr) comes out as the sRGB colour it was made from.
  const srgb = [180, 60, 60]
  const solid = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: srgb[0], g: srgb[1], b: srgb[2] } } }).png().toBuffer()
  const p3 = await sharp(solid).withIccProfile('p3').avif({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer()
  const out = await native.optimizeImage(p3, { width: 32, format: 'png' })
  const got = await pixel(out.data, 16, 16)
  assert.ok(near(got.slice(0, 3), srgb, 8), `P3 AVIF: ${got} is not close to sRGB ${srgb}`)
})

test('async and sync give the same bytes; the input buffer may change after the call', async () => {
  const src = Buffer.from(await photo(1680, 1050))
  const pending = native.optimizeImage(src, { width: 320, format: 'webp', quality: 60 })
  const sync = native.optimizeImageSync(src, { width: 320, format: 'webp', quality: 60 })
  src.fill(0) // copied before dispatch: mutating it now must not matter
  assert.ok((await pending).data.equals(sync.data))
})

test("an AbortSignal rejects with name 'AbortError', code 'ERR_IMAGE_ABORTED' and the reason as cause", async () => {
  const { getEventListeners } = require('node:events')
  const src = fs.readFileSync(path.join(__dirname, 'fixtures', 'image-app', 'public', 'photo.jpg'))
  const opts = { width: 64, format: 'webp' }
  const aborted = (fn, cause) => (err) => {
    assert.ok(err instanceof Error)
    assert.deepEqual(
      { name: err.name, code: err.code, message: err.message },
      { name: 'AbortError', code: 'ERR_IMAGE_ABORTED', message: `${fn} was aborted (its AbortSignal fired)` },
    )
    assert.equal(err.cause, cause)
    return true
  }
  // Aborted before the call: the work never starts.
  const before = AbortSignal.abort()
  await assert.rejects(native.optimizeImage(src, opts, before), aborted('optimizeImage', before.reason))
  await assert.rejects(native.blurPlaceholder(src, before), aborted('blurPlaceholder', before.reason))
  // Aborted once queued (here: before the JS turn ends, so whatever the worker is doing, the
  // call cannot have settled): it rejects, with the reason given to abort() as the cause.
  const reason = new Error('client went away')
  const controller = new AbortController()
  let ownHandler = 0
  controller.signal.onabort = () => ownHandler++
  const calls = [
    ...Array.from({ length: 8 }, () => native.optimizeImage(src, opts, controller.signal)),
    native.blurPlaceholder(src, controller.signal),
  ]
  controller.abort(reason)
  const results = await Promise.allSettled(calls)
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 'rejected', `call ${i}`)
    aborted(i < 8 ? 'optimizeImage' : 'blurPlaceholder', reason)(r.reason)
  }
  assert.equal(ownHandler, 1, "the signal's own onabort is left alone")
  assert.equal(getEventListeners(controller.signal, 'abort').length, 1, 'only its own onabort is left')
  // A signal that never fires: the calls resolve as without one and leave no listener behind.
  const idle = new AbortController().signal
  const done = await Promise.all([native.optimizeImage(src, opts, idle), native.blurPlaceholder(src, idle), native.optimizeImage(src, opts, null)])
  assert.deepEqual([done[0].width, typeof done[1], done[2].width], [64, 'string', 64])
  assert.equal(getEventListeners(idle, 'abort').length, 0)
  // Not a signal: a coded TypeError-like error at the call, as for any other bad argument.
  for (const bad of [{}, 'abort', 1]) {
    assert.throws(() => native.optimizeImage(src, opts, bad), { code: 'ERR_INVALID_ARG_TYPE', message: 'The "signal" argument must be an AbortSignal' })
  }
})

test("blurPlaceholder is Next 16.4.6's getImageBlurSvg over an 8 px image", async () => {
  const src = await photo(2560, 1600)
  const url = await native.blurPlaceholder(src)
  assert.equal(native.blurPlaceholderSync(src), url)
  const prefix = 'data:image/svg+xml;charset=utf-8,'
  assert.ok(url.startsWith(prefix))
  const inner = /href='(data:image\/jpeg;base64,[^']+)'/.exec(url)[1]
  const meta = await sharp(Buffer.from(inner.split(',')[1], 'base64')).metadata()
  // Next: the larger side 8, the other max(round(ratio × 8), 1).
  assert.deepEqual([meta.width, meta.height], [8, 5])
  assert.equal(url, prefix + getImageBlurSvg({ blurWidth: 8, blurHeight: 5, blurDataURL: inner }))
})

test('bad input: a coded error naming the problem, sync and async, and the process lives on', async () => {
  const jpeg = await photo(1680, 1050)
  const cases = [
    [Buffer.alloc(0), 'ERR_IMAGE_EMPTY'],
    [Buffer.from('<html><body>not an image</body></html>'), 'ERR_IMAGE_UNSUPPORTED_FORMAT'],
    [jpeg.subarray(0, 2000), 'ERR_IMAGE_DECODE'],
  ]
  // A PNG whose header claims 30000×30000 pixels: refused before any pixel is allocated.
  const bomb = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: 'black' } }).png().toBuffer())
  bomb.writeUInt32BE(30000, 16)
  bomb.writeUInt32BE(30000, 20)
  bomb.writeUInt32BE(zlib.crc32(bomb.subarray(12, 29)), 29) // a valid IHDR, so only the size is wrong
  cases.push([bomb, 'ERR_IMAGE_TOO_MANY_PIXELS'])
  for (const [input, code] of cases) {
    assert.throws(() => native.optimizeImageSync(input, { width: 64, format: 'webp' }), (e) => e.code === code && e.message.length > 10, code)
    await assert.rejects(native.optimizeImage(input, { width: 64, format: 'webp' }), (e) => e.code === code, code)
  }
  assert.throws(() => native.optimizeImageSync(jpeg, { width: 64, format: 'bmp' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /"bmp"/.test(e.message))
  assert.throws(() => native.optimizeImageSync(jpeg, { width: 64, quality: 101 }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /101/.test(e.message))
  assert.throws(() => native.imageMetadata(Buffer.from('GIF89a')), (e) => typeof e.code === 'string')
})
