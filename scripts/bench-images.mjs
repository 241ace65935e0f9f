// `npm run bench:images`: the photos that benches/image.bench.mjs reads, into bench-images/
// (git-ignored). They are real photographs and large PNGs, taken unchanged from two Debian
// packages of desktop wallpapers: `apt-get download`, then `dpkg-deb -x`. The artwork is
// GPL-2+ (each package's copyright file is copied beside the photos): never commit it.
//
// Where that is impossible (no apt-get, no Debian package lists, no network), each missing
// photo is replaced by a generated one of the same size and format, named `generated-*`, drawn
// by the landscape generator of __test__/fixtures/image-app/make-images.js. Results measured on
// generated photos are not comparable with the README's table; the benchmark says so.
//
// `--force` fetches again. bench-images/SOURCES.json records where each file came from.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { root, step } from './setup.mjs'

export const benchImagesDir = join(root, 'bench-images')

/** The photos, as listed in each package (Debian 12: plasma-workspace-wallpapers 5.27.5, mate-backgrounds 1.26.0). */
export const PHOTOS = [
  { file: 'path-2560x1600.jpg', pkg: 'plasma-workspace-wallpapers', path: 'usr/share/wallpapers/Path/contents/images/2560x1600.jpg', width: 2560, height: 1600 },
  { file: 'flow-5120x2880.jpg', pkg: 'plasma-workspace-wallpapers', path: 'usr/share/wallpapers/Flow/contents/images/5120x2880.jpg', width: 5120, height: 2880 },
  { file: 'safelanding-1622x2880.jpg', pkg: 'plasma-workspace-wallpapers', path: 'usr/share/wallpapers/SafeLanding/contents/images/1622x2880.jpg', width: 1622, height: 2880 },
  { file: 'kay-1080x1920.png', pkg: 'plasma-workspace-wallpapers', path: 'usr/share/wallpapers/Kay/contents/images/1080x1920.png', width: 1080, height: 1920 },
  { file: 'cascade-3840x2160.png', pkg: 'plasma-workspace-wallpapers', path: 'usr/share/wallpapers/Cascade/contents/images/3840x2160.png', width: 3840, height: 2160 },
  { file: 'dune.jpg', pkg: 'mate-backgrounds', path: 'usr/share/backgrounds/mate/nature/Dune.jpg', width: 1680, height: 1050 },
  { file: 'raindrops.jpg', pkg: 'mate-backgrounds', path: 'usr/share/backgrounds/mate/nature/RainDrops.jpg', width: 1920, height: 1200 },
]

const MANIFEST = 'SOURCES.json'
const sh = (cmd, args, cwd) => spawnSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** Reads bench-images/SOURCES.json, or null when the folder is missing or incomplete. */
export function readManifest(dir = benchImagesDir) {
  try {
    const manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'))
    return manifest.files.every((f) => existsSync(join(dir, f.file))) ? manifest : null
  } catch {
    return null
  }
}

/** Downloads the packages and extracts the photos; returns a manifest entry per photo found. */
function fromDebian(dir) {
  const work = mkdtempSync(join(dir, '.download-'))
  const found = []
  try {
    const pkgs = [...new Set(PHOTOS.map((p) => p.pkg))]
    let dl = sh('apt-get', ['download', ...pkgs], work)
    if (dl.status !== 0 && process.getuid?.() === 0) {
      // A fresh machine may have no package lists yet.
      sh('apt-get', ['update', '-qq'], work)
      dl = sh('apt-get', ['download', ...pkgs], work)
    }
    if (dl.error || dl.status !== 0) {
      console.warn(`apt-get download failed: ${(dl.error?.message || dl.stderr || '').trim().split('\n').pop()}`)
      return found
    }
    for (const pkg of pkgs) {
      const deb = readdirSync(work).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'))
      if (!deb) continue
      const version = sh('dpkg-deb', ['-f', deb, 'Version'], work).stdout.trim()
      const tree = join(work, pkg)
      const x = sh('dpkg-deb', ['-x', deb, tree], work)
      if (x.status !== 0) {
        console.warn(`dpkg-deb -x ${deb} failed: ${x.stderr.trim()}`)
        continue
      }
      const copyright = join(tree, 'usr', 'share', 'doc', pkg, 'copyright')
      if (existsSync(copyright)) copyFileSync(copyright, join(dir, `${pkg}.copyright`))
      for (const p of PHOTOS.filter((p) => p.pkg === pkg)) {
        const src = join(tree, p.path)
        if (!existsSync(src)) continue
        copyFileSync(src, join(dir, p.file))
        found.push({ file: p.file, origin: 'debian', package: pkg, version, path: `/${p.path}`, licence: 'GPL-2+', copyright: `${pkg}.copyright` })
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return found
}

/** A generated stand-in for a photo that could not be fetched: same size and format. */
async function generated(dir, photo, seed) {
  const require = createRequire(import.meta.url)
  const sharp = require('sharp')
  const { landscape } = require(join(root, '__test__', 'fixtures', 'image-app', 'make-images.js'))
  const { width, height } = photo
  const img = sharp(landscape(width, height, seed), { raw: { width, height, channels: 3 } })
  const file = `generated-${photo.file}`
  const buf = photo.file.endsWith('.png') ? await img.png().toBuffer() : await img.jpeg({ quality: 92 }).toBuffer()
  writeFileSync(join(dir, file), buf)
  return { file, origin: 'generated', stands_for: photo.file, width, height, licence: 'MIT (this repository)' }
}

/** Makes sure bench-images/ holds a photo (fetched or generated) for every entry of PHOTOS. */
export async function ensureBenchImages({ force = false, dir = benchImagesDir } = {}) {
  const have = !force && readManifest(dir)
  if (have) return have
  step(`benchmark photos into ${dir.slice(root.length + 1)}/ (Debian packages: ${[...new Set(PHOTOS.map((p) => p.pkg))].join(', ')})`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  const files = process.platform === 'linux' && sh('sh', ['-c', 'command -v apt-get && command -v dpkg-deb']).status === 0 ? fromDebian(dir) : []
  for (const [i, photo] of PHOTOS.entries()) {
    if (files.some((f) => f.file === photo.file)) continue
    console.warn(`${photo.file}: not fetched; generating a ${photo.width}×${photo.height} stand-in`)
    files.push(await generated(dir, photo, 20261121 + i))
  }
  writeFileSync(
    join(dir, 'README.txt'),
    'Benchmark inputs written by `npm run bench:images` (scripts/bench-images.mjs); see SOURCES.json.\n' +
      'Files with origin "debian" are GPL-2+ artwork from Debian packages (copyright files beside them):\n' +
      'never commit them. This folder is git-ignored.\n',
  )
  const manifest = { files }
  writeFileSync(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
  const counts = ['debian', 'generated'].map((o) => `${files.filter((f) => f.origin === o).length} ${o}`)
  console.log(`bench-images: ${counts.join(', ')}`)
  return manifest
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  ensureBenchImages({ force: process.argv.includes('--force') }).catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
