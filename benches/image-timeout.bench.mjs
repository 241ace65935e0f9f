// Next's 7 s optimization timeout: every photo at every width Next's defaults allow
// (deviceSizes + imageSizes of Next 16.4.6), AVIF at q75 as Next asks for it, one at a time and
// 4 in flight, each implementation in its own process. Reports the slowest case and how many
// requests would have hit `imgOptTimeoutInSeconds` (7 s).
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { ensureBenchImages } from '../scripts/bench-images.mjs'
import { root, save, table } from './harness.mjs'

const FORMAT = process.env.FORMAT || 'avif'
const WIDTHS = [32, 48, 64, 96, 128, 256, 384, 640, 750, 828, 1080, 1200, 1920, 2048, 3840]
const TIMEOUT_MS = 7000
const { files } = await ensureBenchImages()
const photos = files.map((f) => join(root, 'bench-images', f.file)).sort()

const run = (impl, inFlight) =>
  JSON.parse(
    execFileSync(process.execPath, [join(root, 'benches', 'anchors', 'image-timeout-worker.cjs'), impl, FORMAT, String(inFlight), WIDTHS.join(','), ...photos], {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    })
      .trim()
      .split('\n')
      .pop(),
  )

const results = {}
const rows = []
for (const inFlight of [1, 4]) {
  for (const impl of ['ours', 'sharp']) {
    const jobs = run(impl, inFlight)
    results[`${impl}@${inFlight}`] = jobs
    const slowest = jobs.reduce((a, j) => (j.ms > a.ms ? j : a))
    const over = jobs.filter((j) => j.ms > TIMEOUT_MS || !j.ok)
    const total = jobs.reduce((a, j) => a + j.ms, 0)
    rows.push([
      inFlight,
      impl,
      jobs.length,
      `${(total / 1000).toFixed(1)} s`,
      `${(slowest.ms / 1000).toFixed(2)} s (${slowest.file} w=${slowest.width})`,
      `${over.length}${over.length ? ` (${over.map((j) => `${j.file}@${j.width}`).join(', ')})` : ''}`,
    ])
    process.stdout.write(`${impl}, ${inFlight} in flight: slowest ${slowest.ms.toFixed(0)} ms (${slowest.file} w=${slowest.width}), ${over.length} over 7 s\n`)
  }
}
console.log(`\n${photos.length} photos × ${WIDTHS.length} widths (${WIDTHS.join('/')}), ${FORMAT} q75\n`)
console.log(table(['in flight', 'impl', 'requests', 'sum of request times', 'slowest request', 'over 7 s'], rows))
console.log(`\nsaved ${save('image-timeout', { format: FORMAT, widths: WIDTHS, results })}`)
