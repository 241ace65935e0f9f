// Small shared benchmark helpers: medians over alternating runs, ratio formatting and
// result files. Benchmarks compare against their anchor in the same run, never against
// numbers from another day or machine.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = join(dirname(fileURLToPath(import.meta.url)), '..')

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Runs each `fn` `rounds` times, interleaved so drift on a shared machine hits both alike. */
export async function alternate(fns, rounds) {
  const samples = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
  for (let i = 0; i < rounds; i++) {
    for (const [name, fn] of Object.entries(fns)) samples[name].push(await fn())
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
}

export function fmtMs(ms) {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(1)} µs`
}

/** `ours` is faster when the ratio is > 1 (anchor time / our time). */
export function speedup(anchorMs, oursMs) {
  return `${(anchorMs / oursMs).toFixed(2)}×`
}

export function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`]
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`)
  return lines.join('\n')
}

export function save(name, data) {
  const dir = join(root, 'bench-results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...data }, null, 2))
  return file
}
