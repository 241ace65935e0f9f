'use strict'

// CMYK JPEGs against sharp (issue #15): untagged ones go through the default CMYK profile (the
// one libvips uses), tagged ones through their own, and a 16 px thumbnail must be within the
// sRGB case's error of sharp's: mean absolute error ≤ 5 per channel. The inputs are made here by
// sharp from the repository's photo. The Rust side (crates/image/tests/cmyk.rs) checks the same
// with committed fixtures; this checks the built addon.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const sharp = require('sharp')
const native = require('../index.js')

const PHOTO = fs.readFileSync(path.join(__dirname, 'fixtures', 'image-app', 'public', 'photo.jpg'))
// CC0, from saucecontrol/Compact-ICC-Profiles (see crates/image/tests/fixtures/README.md).
const CGATS = fs.readFileSync(path.join(__dirname, '..', 'crates', 'image', 'tests', 'fixtures', 'CGATS001Compat-v2-micro.icc'))

const source = () => sharp(PHOTO).resize(256, 160)

// An APP2 ICC_PROFILE segment (one chunk) right after SOI.
function withIcc(jpeg, icc) {
  const payload = Buffer.concat([Buffer.from('ICC_PROFILE\0'), Buffer.from([1, 1]), icc])
  const head = Buffer.from([0xff, 0xe2, 0, 0])
  head.writeUInt16BE(payload.length + 2, 2)
  return Buffer.concat([jpeg.subarray(0, 2), head, payload, jpeg.subarray(2)])
}

async function maeAgainstSharp(input) {
  const ours = native.optimizeImageSync(input, { width: 16, format: 'png' })
  const a = await sharp(ours.data).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  const b = await sharp(input).rotate().resize(16).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  assert.deepEqual([a.info.width, a.info.height], [b.info.width, b.info.height])
  let sum = 0
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i])
  return sum / a.data.length
}

test('an sRGB JPEG is within MAE 5 of sharp (the baseline)', async () => {
  const input = await source().jpeg({ quality: 90 }).toBuffer()
  assert.ok((await maeAgainstSharp(input)) <= 5)
})

test('an untagged CMYK JPEG is within MAE 5 of sharp (default CMYK profile)', async () => {
  const input = await source().toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer()
  const meta = await sharp(input).metadata()
  assert.equal(meta.space, 'cmyk')
  assert.equal(meta.icc, undefined, 'sharp writes CMYK JPEGs without a profile')
  const mae = await maeAgainstSharp(input)
  assert.ok(mae <= 5, `MAE ${mae.toFixed(2)}`)
})

test('tagged CMYK JPEGs are within MAE 5 of sharp (their own profile)', async () => {
  // libvips's own CMYK profile embedded (keepIccProfile), and a different one (CGATS TR 001).
  const kept = await source().toColourspace('cmyk').jpeg({ quality: 90 }).keepIccProfile().toBuffer()
  assert.ok((await sharp(kept).metadata()).icc, 'keepIccProfile embeds the CMYK profile')
  const plain = await source().toColourspace('cmyk').jpeg({ quality: 90 }).toBuffer()
  for (const [name, input] of [['kept', kept], ['CGATS', withIcc(plain, CGATS)]]) {
    const mae = await maeAgainstSharp(input)
    assert.ok(mae <= 5, `${name}: MAE ${mae.toFixed(2)}`)
  }
})
