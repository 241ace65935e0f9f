// The example app (examples/app) in real headless Chromium, as a user sees it: installed from a
// pack of this checkout, built with `next build`, served by `next start`. Debian's chromium,
// driven by playwright-core (no browser download). Screenshots go to __test__/artifacts/.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { app, prepareExample, serveExample } from '../scripts/example.mjs'

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const setupLog = []
let buildId
/** Packs this checkout into examples/app and builds it, once for both tests below. */
const prepare = () => (buildId ??= prepareExample({ log: (m) => setupLog.push(m) }))
const artifacts = join(fileURLToPath(new URL('.', import.meta.url)), 'artifacts')
const noChromium = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium (or set CHROMIUM_PATH)`

test('the example app in Chromium: build ID, .env, images, cached pages and revalidate buttons', { skip: noChromium, timeout: 600_000 }, async (t) => {
  const log = []
  const sink = new Writable({ write: (c, _e, cb) => (log.push(String(c)), cb()) })
  const id = prepare()
  const server = await serveExample({ stdout: sink })
  t.after(() => server.stop())
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container, no GPU, a closed network: Chromium's own background traffic only fails.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
  t.after(() => browser.close())
  const page = await browser.newPage()
  mkdirSync(artifacts, { recursive: true })
  const text = (sel) => page.locator(sel).innerText()

  await t.test('the footer shows our content-hash build ID, which next build used', async () => {
    await page.goto(`${server.url}/`)
    assert.equal(await text('#build-id'), id)
    assert.equal(readFileSync(join(app, '.next', 'BUILD_ID'), 'utf8').trim(), id)
    assert.match(id, /^[2-9b-z]{26}$/)
    assert.equal(await text('#greeting'), 'hello from .env.production (overrides .env)')
  })

  await t.test('gallery: every next/image loaded at the width the loader asked for, as AVIF, via our route', async () => {
    // Source widths of the example's images (never enlarged).
    const sourceWidth = (url) => (/hero/.test(url) ? 2000 : /forest/.test(url) ? 1200 : /remote/.test(url) ? 1400 : 1600)
    const types = new Map()
    page.on('response', (r) => {
      if (r.url().includes('/api/image?')) types.set(r.url(), r.headers()['content-type'])
    })
    const html = await (await fetch(`${server.url}/gallery`)).text()
    assert.match(html, /background-image:url\(&quot;data:image\/svg\+xml/, 'the static import has a blur placeholder')
    await page.setViewportSize({ width: 1280, height: 900 })
    await page.goto(`${server.url}/gallery`)
    await page.waitForFunction(() => [...document.images].length === 5 && [...document.images].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 60_000 })
    // naturalWidth of a srcset image is scaled by its density (w descriptor / slot width), so
    // the served width is read by decoding the same URL again without a srcset.
    const images = await page.$$eval('img', (imgs) =>
      Promise.all(
        imgs.map(async (i) => {
          const plain = new Image()
          plain.src = i.currentSrc
          await plain.decode()
          return { src: i.currentSrc, naturalWidth: i.naturalWidth, servedWidth: plain.naturalWidth }
        }),
      ),
    )
    assert.equal(images.length, 5)
    for (const { src, naturalWidth, servedWidth } of images) {
      const url = new URL(src)
      assert.equal(url.pathname, '/api/image', src)
      assert.ok(naturalWidth > 0, src)
      const w = Number(url.searchParams.get('w'))
      assert.equal(servedWidth, Math.min(w, sourceWidth(url.searchParams.get('url'))), src)
      assert.equal(types.get(src), 'image/avif', `${src} was served as ${types.get(src)}`)
    }
    await page.screenshot({ path: join(artifacts, 'e2e-gallery.png'), fullPage: true })
  })

  await t.test('tagged fetch: cached across reloads, fresh after the revalidate button', async () => {
    await page.goto(`${server.url}/posts`)
    const first = Number(await text('#request'))
    await page.reload()
    assert.equal(Number(await text('#request')), first, 'a reload is served from the cache')
    await page.click('#revalidate')
    // The posts stream in under <Suspense> (cacheComponents). A click right after the load can
    // commit the action's new render while the first one still sits in React's hidden streaming
    // container (<div hidden id="S:0">, until its reveal script runs): wait for the new number
    // to be the only one.
    await page.waitForFunction(
      (n) => {
        const els = document.querySelectorAll('#request')
        return els.length === 1 && Number(els[0].textContent) > n
      },
      first,
      { timeout: 15_000 },
    )
    const after = Number(await text('#request'))
    await page.reload()
    assert.equal(Number(await text('#request')), after, 'the new data is cached again')
    await page.screenshot({ path: join(artifacts, 'e2e-posts.png'), fullPage: true })
  })

  await t.test("'use cache': the same result until the revalidate button", async () => {
    await page.goto(`${server.url}/notes`)
    const first = await text('#computed')
    const rendered = await text('#rendered')
    await page.reload()
    assert.equal(await text('#computed'), first)
    assert.notEqual(await text('#rendered'), rendered, 'the page itself is dynamic')
    await page.click('#revalidate')
    await page.waitForFunction((v) => document.querySelector('#computed')?.textContent !== v, first, { timeout: 15_000 })
    await page.screenshot({ path: join(artifacts, 'e2e-notes.png'), fullPage: true })
  })

  await t.test('ISR and Pages Router pages are served from the cache', async () => {
    await page.goto(`${server.url}/isr`)
    const isr = await text('#rendered')
    await page.reload()
    assert.equal(await text('#rendered'), isr)
    await page.goto(`${server.url}/legacy`)
    const legacy = await text('#rendered')
    await page.reload()
    assert.equal(await text('#rendered'), legacy)
  })

  await t.test('the stats page shows the native store at work', async () => {
    await page.goto(`${server.url}/stats`)
    const rows = Object.fromEntries(
      await page.$$eval('#stats tr', (trs) => trs.map((tr) => [tr.querySelector('th').textContent, Number(tr.querySelector('td').textContent.replace(/,/g, ''))])),
    )
    assert.ok(rows.hits > 0, JSON.stringify(rows))
    assert.ok(rows.entries > 0 && rows.bytes > 0 && rows.bytes <= rows.capacity, JSON.stringify(rows))
    await page.screenshot({ path: join(artifacts, 'e2e-stats.png'), fullPage: true })
  })
})

test("the example's Jest suite: its globalSetup loads .env files with @rs/next-native/env exactly as @next/env", { timeout: 600_000 }, () => {
  prepare()
  const res = spawnSync(process.execPath, [join(app, 'node_modules', 'jest', 'bin', 'jest.js'), '--ci'], { cwd: app, encoding: 'utf8', env: { PATH: process.env.PATH } })
  assert.equal(res.status, 0, res.stdout + res.stderr)
  assert.match(res.stderr, /Tests:\s+1 passed, 1 total/)
})
