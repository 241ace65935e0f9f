'use strict'

// 16 requests in flight through one implementation, in its own process so peak RSS is its own:
//   node image-worker.cjs <ours|sharp> <format> <width> <files...>
// Prints { wallMs, maxRssMiB }.

const fs = require('node:fs')
const { optimize } = require('./image-impls.cjs')

const [, , impl, format, width, ...files] = process.argv
const inputs = files.map((f) => fs.readFileSync(f))

// The peak RSS of this process image. Not process.resourceUsage().maxRSS: on Linux that
// survives execve, so a child would report its parent's peak.
function peakRssMiB() {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]
    return Number(kb) / 1024
  } catch {
    return process.resourceUsage().maxRSS / 1024
  }
}

async function main() {
  const jobs = Array.from({ length: 16 }, (_, i) => inputs[i % inputs.length])
  await optimize[impl](inputs[0], Number(width), format) // warm-up (loads codecs)
  const start = performance.now()
  await Promise.all(jobs.map((buf) => optimize[impl](buf, Number(width), format)))
  const wallMs = performance.now() - start
  console.log(JSON.stringify({ wallMs, maxRssMiB: peakRssMiB() }))
}
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
