// The container path: the example app built with `output: 'standalone'`, its
// `.next/standalone` folder copied (with `.next/static` and `public`, as Next's docs say) into
// a fresh directory with no node_modules above it, the build folder deleted, and served by
// `node server.js`. No `outputFileTracingIncludes`: Next's file tracing must bring our addon
// and its platform binary along on its own.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, sep } from 'node:path'
import { app, contentBuildId, installExample, nextBuild, serveExample } from '../scripts/example.mjs'

const require = createRequire(import.meta.url)
const { imageMetadata } = require('../index.js')
const CHROMIUM_ACCEPT = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8'

/** Every directory from `dir` up to the root. */
const ancestors = (dir) => (dirname(dir) === dir ? [dir] : [dir, ...ancestors(dirname(dir))])
const textOf = (html, id) => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)?.[1]

test('standalone output, copied away from the project, serves images, the native cache and the content build ID', { timeout: 900_000 }, async (t) => {
  installExample({ log: () => {} })
  // Build a copy, so examples/app/.next (next start, the e2e test) stays as it is. node_modules
  // is hard-linked: the same packages without copying 400 MB.
  const work = mkdtempSync(join(tmpdir(), 'next-native-standalone-build-'))
  const out = mkdtempSync(join(tmpdir(), 'next-native-standalone-'))
  t.after(() => {
    rmSync(work, { recursive: true, force: true })
    rmSync(out, { recursive: true, force: true })
  })
  const build = join(work, 'app')
  const skip = new Set(['.next', 'node_modules', '.packs'].map((d) => join(app, d)))
  cpSync(app, build, { recursive: true, filter: (src) => !skip.has(src) })
  const cp = spawnSync('cp', ['-al', join(app, 'node_modules'), join(build, 'node_modules')])
  assert.equal(cp.status, 0, String(cp.stderr))
  nextBuild(build, { NEXT_OUTPUT: 'standalone' })

  const id = contentBuildId(build)
  assert.equal(readFileSync(join(build, '.next', 'BUILD_ID'), 'utf8').trim(), id, 'next build used the content build ID')
  // verbatimSymlinks: Turbopack links each server external package as
  // .next/node_modules/<name>-<hash> → ../../node_modules/<name>, a relative link that must stay
  // relative (as `cp -a` and Docker's COPY keep it).
  cpSync(join(build, '.next', 'standalone'), out, { recursive: true, verbatimSymlinks: true })
  cpSync(join(build, '.next', 'static'), join(out, '.next', 'static'), { recursive: true })
  cpSync(join(build, 'public'), join(out, 'public'), { recursive: true })
  rmSync(work, { recursive: true, force: true })

  for (const dir of ancestors(dirname(out))) assert.ok(!existsSync(join(dir, 'node_modules')), `no node_modules above the copy (${dir})`)
  const binaries = readdirSync(join(out, 'node_modules', '@rs', 'next-native'), { recursive: true }).filter((f) => f.endsWith('.node'))
  assert.ok(binaries.length > 0, 'file tracing copied the platform binary')

  const log = []
  const server = await serveExample({ standalone: out, stdout: { write: (c) => log.push(String(c)) } })
  t.after(() => server.stop())
  const get = async (path, headers) => {
    const res = await fetch(`${server.url}${path}`, { headers })
    assert.ok(res.status === 200, `${path}: HTTP ${res.status}\n${log.join('').slice(-3000)}`)
    return res
  }

  await t.test('the build ID and .env.production, as under next start', async () => {
    const html = await (await get('/')).text()
    assert.equal(textOf(html, 'build-id'), id)
    assert.equal(textOf(html, 'greeting'), 'hello from .env.production (overrides .env)')
    // The home page was rendered by next build; /stats is rendered now, by server.js.
    assert.equal(textOf(await (await get('/stats')).text(), 'runtime-greeting'), 'hello from .env.production (overrides .env)')
  })

  await t.test('images go through our optimizer: AVIF for a Chromium Accept, at the asked width', async () => {
    const html = await (await get('/gallery')).text()
    const srcs = [...html.matchAll(/src="(\/api\/image\?[^"]+)"/g)].map((m) => m[1].replaceAll('&amp;', '&'))
    assert.ok(srcs.length >= 3, `next/image rendered our loader's URLs: ${srcs}`)
    // Each source once, at a small width from Next's default imageSizes (fast in a debug build too).
    const sources = new Map(srcs.map((s) => [new URL(s, server.url).searchParams.get('url'), s]))
    for (const original of sources.values()) {
      const url = new URL(original, server.url)
      url.searchParams.set('w', '256')
      const src = `${url.pathname}${url.search}`
      const res = await get(src, { accept: CHROMIUM_ACCEPT })
      assert.equal(res.headers.get('content-type'), 'image/avif', src)
      const meta = imageMetadata(Buffer.from(await res.arrayBuffer()))
      assert.equal(meta.format, 'avif', src)
      assert.equal(meta.width, 256, src)
    }
  })

  await t.test("ISR, 'use cache' and the native store", async () => {
    const isr = textOf(await (await get('/isr')).text(), 'rendered')
    const again = await get('/isr')
    assert.equal(textOf(await again.text(), 'rendered'), isr, 'the ISR page is served from the cache')
    assert.equal(again.headers.get('x-nextjs-cache'), 'HIT')

    const notes = await (await get('/notes')).text()
    const notesAgain = await (await get('/notes')).text()
    assert.equal(textOf(notesAgain, 'computed'), textOf(notes, 'computed'), "'use cache' result reused")
    assert.notEqual(textOf(notesAgain, 'rendered'), textOf(notes, 'rendered'), 'the page itself is dynamic')

    const stats = await (await get('/stats')).text()
    const row = (k) => Number(new RegExp(`<th[^>]*>${k}</th><td>([\\d,]+)</td>`).exec(stats)?.[1].replaceAll(',', ''))
    assert.ok(row('entries') > 0 && row('hits') > 0, `the native store holds entries and served hits: ${stats.slice(0, 2000)}`)
  })

  assert.ok(!log.join('').includes(`${sep}examples${sep}app${sep}`), 'the server never reached back into the project')
})
