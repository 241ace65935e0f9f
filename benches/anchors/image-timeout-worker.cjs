'use strict'

// Every (source, width) job through one implementation, `inFlight` at a time, in its own process:
//   node image-timeout-worker.cjs <ours|sharp> <format> <inFlight> <widths,comma,separated> <files...>
// Prints one JSON line: [{ file, width, ms, ok }], ms from the job's own start to its result.

const fs = require('node:fs')
const path = require('node:path')
const { optimize } = require('./image-impls.cjs')

const [, , impl, format, inFlight, widthList, ...files] = process.argv
const widths = widthList.split(',').map(Number)

async function main() {
  const inputs = files.map((f) => ({ file: path.basename(f), buf: fs.readFileSync(f) }))
  await optimize[impl](inputs[0].buf, 64, format) // warm-up (loads codecs)
  const jobs = inputs.flatMap((input) => widths.map((width) => ({ ...input, width })))
  const results = []
  let next = 0
  async function lane() {
    while (next < jobs.length) {
      const job = jobs[next++]
      const start = performance.now()
      let ok = true
      try {
        await optimize[impl](job.buf, job.width, format)
      } catch {
        ok = false // sharp's own 7 s timeout, or any failure
      }
      results.push({ file: job.file, width: job.width, ms: performance.now() - start, ok })
    }
  }
  await Promise.all(Array.from({ length: Number(inFlight) }, lane))
  console.log(JSON.stringify(results))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
