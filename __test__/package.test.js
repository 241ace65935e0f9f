'use strict'

// What a user gets from `npm install @rs/next-native`: the root package plus the
// platform package holding the .node, both packed with `npm pack` and installed
// into a throwaway project. Every `exports` subpath must resolve from CommonJS and
// ESM, every one must have types that `tsc` accepts, and the `bin` must run.

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')
const pkg = require('../package.json')
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

function pack(dir, dest) {
  const out = execFileSync(npm, ['pack', '--json', '--pack-destination', dest], { cwd: dir, encoding: 'utf8' })
  return path.join(dest, JSON.parse(out)[0].filename)
}

function builtBinary() {
  const file = fs.readdirSync(root).find((f) => /^next-native\.[a-z0-9-]+\.node$/.test(f))
  assert.ok(file, 'no built .node in the package root: run `npm run build` first')
  return file
}

test('npm pack produces a package whose exports, types and bin resolve', { timeout: 180_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'next-native-pack-'))
  try {
    // The platform package, as `napi artifacts` would fill it in CI.
    const binary = builtBinary()
    const platform = binary.slice('next-native.'.length, -'.node'.length)
    const platformDir = path.join(work, 'platform')
    fs.cpSync(path.join(root, 'npm', platform), platformDir, { recursive: true })
    fs.copyFileSync(path.join(root, binary), path.join(platformDir, binary))

    const tarballs = [pack(root, work), pack(platformDir, work)]
    const listing = execFileSync('tar', ['-tzf', tarballs[0]], { encoding: 'utf8' })
    assert.doesNotMatch(listing, /\.node$/m, 'the root package must not ship a .node; platform packages do')

    const app = path.join(work, 'app')
    fs.mkdirSync(app)
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
    // --prefer-offline, not --offline: the repo's own `npm install` works from its lockfile and
    // never caches the registry metadata of our dependencies (ioredis), which a fresh machine
    // then has to fetch once. Our two packages come from the tarballs either way.
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], { cwd: app, stdio: 'pipe' })

    const installed = path.join(app, 'node_modules', '@rs', 'next-native')
    assert.ok(!fs.existsSync(path.join(installed, binary)))

    const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json')
    const specifiers = subpaths.map((s) => (s === '.' ? pkg.name : `${pkg.name}/${s.slice(2)}`))

    // CommonJS and ESM both resolve every subpath, and the root loads the platform binary.
    const cjs = `
      for (const s of ${JSON.stringify(specifiers)}) require(s)
      const info = require('${pkg.name}').nativeInfo()
      const loaded = Object.keys(require.cache).find((p) => p.endsWith('.node'))
      console.log(JSON.stringify({ info, loaded }))`
    const out = JSON.parse(execFileSync(process.execPath, ['-e', cjs], { cwd: app, encoding: 'utf8' }))
    assert.equal(out.info.version, pkg.version)
    assert.ok(out.loaded.includes(path.join('node_modules', '@rs', `next-native-${platform}`)), out.loaded)

    const esm = specifiers.map((s, i) => `import * as m${i} from '${s}'`).join('\n')
    fs.writeFileSync(path.join(app, 'check.mjs'), `${esm}\nconsole.log('ok')\n`)
    assert.equal(execFileSync(process.execPath, ['check.mjs'], { cwd: app, encoding: 'utf8' }).trim(), 'ok')

    // Types: every subpath must have a declaration that tsc finds with Node16 resolution.
    for (const s of subpaths) {
      const entry = pkg.exports[s]
      assert.ok(entry.types, `exports["${s}"] has no types`)
      assert.ok(fs.existsSync(path.join(installed, entry.types)), `${entry.types} is not in the package`)
    }
    const consumer = specifiers.map((s, i) => `import * as m${i} from '${s}'\nvoid m${i}`).join('\n')
    fs.writeFileSync(path.join(app, 'consumer.ts'), `${consumer}\nexport {}\n`)
    fs.writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        // As in a Next.js app: Node's types are there (the addon's types mention Buffer).
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [path.join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    )
    const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', app], { encoding: 'utf8' })
    assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr)

    // The bin is linked and runs against the installed platform binary.
    const bin = path.join(app, 'node_modules', '.bin', process.platform === 'win32' ? 'next-native.cmd' : 'next-native')
    const info = JSON.parse(execFileSync(bin, ['info', '--json'], { cwd: app, encoding: 'utf8' }))
    assert.equal(info.version, pkg.version)
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
  }
})
