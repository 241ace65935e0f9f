// Image optimization: @rs/next-native vs sharp 0.35 configured exactly as Next 16.4.6 does.
// Inputs: the photos in bench-images/ (`npm run bench:images`, run here when missing) plus
// synthetic edge cases (incl. an AVIF source); widths 640/1080/1920/3840;
// q=75; every output format. Reports median time (alternating runs), output bytes and
// SSIMULACRA2 against a lossless reference (the source resized by sharp to a PNG, the same
// reference for both), then 16 requests in flight per format with each implementation in its
// own process (wall time and peak RSS).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchImagesDir, ensureBenchImages } from '../scripts/bench-images.mjs'
import { median, root, save, table } from './harness.mjs'

const require = createRequire(import.meta.url)
const { optimize, sharp: loadSharp } = require('./anchors/image-impls.cjs')
const sharp = loadSharp()

const photos = benchImagesDir
const { files: photoSources } = await ensureBenchImages()
const standIns = photoSources.filter((f) => f.origin === 'generated')
if (standIns.length) {
  console.warn(`note: ${standIns.length} of ${photoSources.length} photos are generated stand-ins (see bench-images/SOURCES.json): not comparable with the README's table`)
}
const RUNS = Number(process.env.RUNS || 3)
const FORMATS = (process.env.FORMATS || 'jpeg,webp,avif,png').split(',')
const WIDTHS = (process.env.WIDTHS || '640,1080,1920,3840').split(',').map(Number)

execFileSync('cargo', ['build', '-q', '--release', '-p', 'next_native_image', '--example', 'ssimulacra2'], { cwd: root, stdio: 'inherit' })
const ssim2Bin = join(root, 'target', 'release', 'examples', 'ssimulacra2')

const tmp = mkdtempSync(join(tmpdir(), 'image-bench-'))
const inputs = photoSources
  .map((f) => f.file)
  .sort()
  .map((f) => ({ name: f, path: join(photos, f), buf: readFileSync(join(photos, f)) }))
// Synthetic edge cases: a 10000×50 strip, a PNG with alpha, and an AVIF source (libaom via
// sharp, 2560 px wide, q60: AVIF input is decoded by rav1d here, by dav1d in sharp).
const strip = await sharp({ create: { width: 10000, height: 50, channels: 3, background: '#3a7' } }).png().toBuffer()
const alpha = await sharp(inputs[0].buf).resize(1600).ensureAlpha(0.5).png().toBuffer()
const avifSource = await sharp(inputs.find((i) => i.name.includes('2560x1600')).buf).avif({ quality: 60 }).toBuffer()
for (const [name, buf] of [['synthetic-strip-10000x50.png', strip], ['synthetic-alpha-1600.png', alpha], ['synthetic-path-2560.avif', avifSource]]) {
  const p = join(tmp, name)
  writeFileSync(p, buf)
  inputs.push({ name, path: p, buf })
}

const time = async (fn) => {
  const s = performance.now()
  const out = await fn()
  return [performance.now() - s, out]
}

/** SSIMULACRA2 of `out` against the lossless reference at the same size. */
async function score(ref, out) {
  const { data, info } = await sharp(out).flatten({ background: '#000' }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
  if (info.width !== ref.width || info.height !== ref.height) return null
  const refFile = join(tmp, 'ref.rgb')
  const outFile = join(tmp, 'out.rgb')
  writeFileSync(refFile, ref.data)
  writeFileSync(outFile, data)
  try {
    return Number(execFileSync(ssim2Bin, [String(info.width), String(info.height), refFile, outFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))
  } catch {
    return null // SSIMULACRA2 needs at least 8×8 pixels (the 10000×50 strip is 1080×5)
  }
}

const rows = []
try {
  for (const input of inputs) {
    for (const width of WIDTHS) {
      const refImg = await sharp(input.buf).rotate().resize(width, undefined, { withoutEnlargement: true }).flatten({ background: '#000' }).removeAlpha().raw().toBuffer({ resolveWithObject: true })
      const ref = { data: refImg.data, width: refImg.info.width, height: refImg.info.height }
      for (const format of FORMATS) {
        const t = { ours: [], sharp: [] }
        const out = {}
        for (let r = 0; r < RUNS; r++) {
          for (const impl of ['ours', 'sharp']) {
            const [ms, buf] = await time(() => optimize[impl](input.buf, width, format))
            t[impl].push(ms)
            out[impl] = buf
          }
        }
        const row = { input: input.name, width, format }
        for (const impl of ['ours', 'sharp']) {
          row[impl] = { ms: median(t[impl]), bytes: out[impl].length, ssim2: await score(ref, out[impl]) }
        }
        rows.push(row)
        process.stdout.write(`${input.name} ${width} ${format}: ours ${row.ours.ms.toFixed(0)} ms ${row.ours.bytes} B ${row.ours.ssim2}; sharp ${row.sharp.ms.toFixed(0)} ms ${row.sharp.bytes} B ${row.sharp.ssim2}\n`)
      }
    }
  }

  // 16 in flight, per format, at 1080 over the photos: median wall time and median peak RSS
  // of RUNS alternating runs, each in a fresh process.
  const photoFiles = inputs.filter((i) => !i.name.startsWith('synthetic')).map((i) => i.path)
  const inflight = {}
  for (const format of FORMATS) {
    const runs = { ours: [], sharp: [] }
    for (let r = 0; r < RUNS; r++) {
      for (const impl of ['ours', 'sharp']) {
        const out = execFileSync(process.execPath, [join(root, 'benches', 'anchors', 'image-worker.cjs'), impl, format, '1080', ...photoFiles], { encoding: 'utf8' })
        runs[impl].push(JSON.parse(out.trim().split('\n').pop()))
      }
    }
    inflight[format] = {}
    for (const impl of ['ours', 'sharp']) {
      inflight[format][impl] = { wallMs: median(runs[impl].map((x) => x.wallMs)), maxRssMiB: median(runs[impl].map((x) => x.maxRssMiB)) }
    }
    process.stdout.write(`16 in flight ${format}: ${JSON.stringify(inflight[format])}\n`)
  }

  const geo = (xs) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length)
  const summary = FORMATS.map((format) => {
    const rs = rows.filter((r) => r.format === format)
    const speed = geo(rs.map((r) => r.sharp.ms / r.ours.ms))
    const size = geo(rs.map((r) => r.ours.bytes / r.sharp.bytes))
    const scored = rs.filter((r) => r.ours.ssim2 !== null && r.sharp.ssim2 !== null)
    const dq = scored.reduce((a, r) => a + (r.ours.ssim2 - r.sharp.ssim2), 0) / scored.length
    const f = inflight[format]
    // The slowest single request, against Next's 7 s `imgOptTimeoutInSeconds`.
    const slowest = (impl) => {
      const r = rs.reduce((a, x) => (x[impl].ms > a[impl].ms ? x : a))
      return `${(r[impl].ms / 1000).toFixed(2)} s (${r.input.replace(/[-.].*/, '')}@${r.width})${r[impl].ms > 7000 ? ' over 7 s' : ''}`
    }
    return [
      format,
      `${speed.toFixed(2)}×`,
      `${size.toFixed(3)}×`,
      `${dq >= 0 ? '+' : ''}${dq.toFixed(1)}`,
      `${(f.sharp.wallMs / f.ours.wallMs).toFixed(2)}×`,
      `${f.ours.maxRssMiB.toFixed(0)} / ${f.sharp.maxRssMiB.toFixed(0)} MiB (${(f.ours.maxRssMiB / f.sharp.maxRssMiB).toFixed(2)}×)`,
      `${slowest('ours')} / ${slowest('sharp')}`,
    ]
  })
  console.log(`\n${inputs.length} inputs × widths ${WIDTHS.join('/')} × q75; median of ${RUNS} alternating runs\n`)
  console.log(
    table(
      ['format', 'speed vs sharp (one at a time, geo-mean)', 'bytes vs sharp (geo-mean)', 'SSIMULACRA2 ours − sharp (mean)', '16 in flight: speed vs sharp', '16 in flight: peak RSS ours / sharp', 'slowest request ours / sharp'],
      summary,
    ),
  )
  console.log(`\nsaved ${save('image', { rows, inflight })}`)
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
