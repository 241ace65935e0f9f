// Packs this checkout as `npm install` would deliver it, plus the locally built .node next to
// index.js (where the generated loader looks for a local build first). examples/app installs
// the result, so it uses the package exactly like an app that installed it from npm: a real
// directory in node_modules, which `serverExternalPackages` applies to.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { npm, root } from './setup.mjs'

/** Writes `<destDir>/rs-next-native.tgz` and returns its path. */
export function packLocal(dest) {
  const destDir = resolve(dest)
  const binary = readdirSync(root).find((f) => /^next-native\.[a-z0-9-]+\.node$/.test(f))
  if (!binary) throw new Error('no built .node in the package root: run `npm run build` first')
  const listing = JSON.parse(execFileSync(npm, ['pack', '--dry-run', '--json'], { cwd: root, encoding: 'utf8' }))
  const stage = mkdtempSync(join(tmpdir(), 'next-native-stage-'))
  try {
    for (const { path } of listing[0].files) {
      mkdirSync(dirname(join(stage, path)), { recursive: true })
      cpSync(join(root, path), join(stage, path))
    }
    cpSync(join(root, binary), join(stage, binary))
    const pkg = JSON.parse(readFileSync(join(stage, 'package.json'), 'utf8'))
    pkg.files.push(binary)
    writeFileSync(join(stage, 'package.json'), JSON.stringify(pkg, null, 2))
    mkdirSync(destDir, { recursive: true })
    const out = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', destDir], { cwd: stage, encoding: 'utf8' }))
    const dest = join(destDir, 'rs-next-native.tgz')
    rmSync(dest, { force: true })
    renameSync(join(destDir, out[0].filename), dest)
    return dest
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}
