// Deployment IDs that agree across containers: the same sources, copied to two different
// absolute paths and built by `next build` in separate processes with
// `withNextNative(config, { deploymentId: true })`, give the same BUILD_ID, the same
// deploymentId and the same asset URLs; an edited source file changes all three.
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, installExample, nextBuild } from '../scripts/example.mjs'

const fixture = fileURLToPath(new URL('./fixtures/deploy-app', import.meta.url))

/** A copy of the fixture at `dir`, with the example's installed packages (hard links). */
function copyTo(dir) {
  mkdirSync(dir, { recursive: true })
  cpSync(fixture, dir, { recursive: true })
  const cp = spawnSync('cp', ['-al', join(app, 'node_modules'), join(dir, 'node_modules')])
  assert.equal(cp.status, 0, String(cp.stderr))
  return dir
}

/** What a deployment exposes: the build ID, the deployment ID and the page's asset URLs. */
function built(dir) {
  nextBuild(dir)
  const next = join(dir, '.next')
  const { config } = JSON.parse(readFileSync(join(next, 'required-server-files.json'), 'utf8'))
  const html = readFileSync(join(next, 'server', 'app', 'index.html'), 'utf8')
  const assets = [...html.matchAll(/(?:src|href)="(\/_next\/static\/[^"]+)"/g)].map((m) => m[1].replaceAll('&amp;', '&')).sort()
  return { buildId: readFileSync(join(next, 'BUILD_ID'), 'utf8').trim(), deploymentId: config.deploymentId, assets }
}

test('two copies at different paths get one BUILD_ID, deploymentId and asset URLs; an edit changes them', { timeout: 900_000 }, () => {
  installExample({ log: () => {} })
  const root = mkdtempSync(join(tmpdir(), 'next-native-deploy-'))
  try {
    const a = built(copyTo(join(root, 'a', 'app')))
    const b = built(copyTo(join(root, 'elsewhere', 'deeper', 'checkout')))

    assert.match(a.buildId, /^[2-9b-z]{26}$/, 'the content build ID')
    assert.equal(typeof a.deploymentId, 'string')
    assert.ok(a.deploymentId.length > 0)
    assert.ok(a.assets.length > 0 && a.assets.every((u) => u.endsWith(`?dpl=${a.deploymentId}`)), `asset URLs carry the deployment ID: ${a.assets}`)
    assert.deepEqual(b, a, 'the same sources at another path build to the same IDs and asset URLs')

    const counter = join(root, 'elsewhere', 'deeper', 'checkout', 'app', 'counter.js')
    writeFileSync(counter, readFileSync(counter, 'utf8').replace('clicked {n} times', 'pressed {n} times'))
    rmSync(join(root, 'elsewhere', 'deeper', 'checkout', '.next'), { recursive: true })
    const edited = built(join(root, 'elsewhere', 'deeper', 'checkout'))
    assert.notEqual(edited.buildId, a.buildId)
    assert.notEqual(edited.deploymentId, a.deploymentId)
    assert.notDeepEqual(edited.assets, a.assets)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})
