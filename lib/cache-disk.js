'use strict'

// The disk tier under the in-process store, where Next's default cache keeps its entries too:
// beside the build output, in `<distDir>/cache/next-native/`. Entries written at run time (and
// by `next build`'s workers) survive restarts, and tag revalidations are logged there so
// nothing revalidated is served as fresh after one. The files, their checksums, the byte bound
// and the least-recently-used eviction are native (`crates/cache/src/disk.rs`); this module
// picks the place, the namespace and the budget, and reads the build's own output.
//
// Namespaces: pages, routes and `'use cache'` entries belong to one build and live under its
// build ID; fetch data does not depend on the build and is shared across builds, as Next's
// `.next/cache/fetch-cache` is.

const fs = require('node:fs')
const path = require('node:path')

/**
 * Where the tier lives and how big it may grow, from the handler's options and Next's
 * constructor context; null when there is no disk tier (`maximumDiskCacheSize: 0`, or no
 * `serverDistDir` and no `diskCacheDir`, or no build ID yet: early in `next build`).
 */
function diskConfig(options, ctx) {
  if (options.maximumDiskCacheSize === 0) return null
  const distDir = ctx.serverDistDir ? path.dirname(ctx.serverDistDir) : null
  const root = options.diskCacheDir ? path.resolve(options.diskCacheDir) : distDir && path.join(distDir, 'cache', 'next-native')
  if (!root) return null
  const buildId = readBuildId(distDir)
  if (!buildId) return null
  return {
    root,
    buildId,
    // Next's `flushToDisk: false` (experimental.isrFlushToDisk, minimal mode): read, never write.
    writable: ctx.flushToDisk !== false,
    maxBytes: options.maximumDiskCacheSize ?? halfOfFreeSpace(root),
  }
}

function readBuildId(distDir) {
  if (!distDir) return null
  try {
    return fs.readFileSync(path.join(distDir, 'BUILD_ID'), 'utf8').trim() || null
  } catch {
    return null
  }
}

/** Next's default for `images.maximumDiskCacheSize` (16.1.7+): half the free space at start. */
function halfOfFreeSpace(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const s = fs.statfsSync(d)
      return Math.max(Math.floor((s.bavail * s.bsize) / 2), 0)
    } catch (err) {
      if (path.dirname(d) === d) return 1024 * 1024 * 1024
    }
  }
}

// ---- the build's own output ---------------------------------------------------------------

const READERS = Symbol.for('@rs/next-native/cache-seed-readers')

/**
 * Reads what `next build` prerendered (`.next/server/app/*.html|.rsc|.meta|.segments`,
 * `pages/*.html|.json`, route `.body`) through the running Next's own `FileSystemCache`, with
 * writes and its memory cache off: the file layout, route-scoped keys and seed rules are then
 * exactly those of the installed Next version. Returns null where that class cannot be found.
 */
function seedReader(ctx) {
  if (!ctx.serverDistDir || !ctx.fs) return null
  const readers = (globalThis[READERS] ??= new Map())
  if (readers.has(ctx.serverDistDir)) return readers.get(ctx.serverDistDir)
  let reader = null
  const FileSystemCache = loadFileSystemCache()
  if (FileSystemCache) {
    const cache = new FileSystemCache({ ...ctx, flushToDisk: false, maxMemoryCacheSize: 0, revalidatedTags: [] })
    reader = {
      async get(key, getCtx) {
        try {
          return await cache.get(key, getCtx)
        } catch {
          return null
        }
      },
    }
  }
  readers.set(ctx.serverDistDir, reader)
  return reader
}

const FS_CACHE = path.join('next', 'dist', 'server', 'lib', 'incremental-cache')

/** The FileSystemCache class of the Next that is running (it has loaded its IncrementalCache). */
function loadFileSystemCache() {
  const candidates = Object.keys(require.cache)
    .filter((f) => f.endsWith(path.join(FS_CACHE, 'index.js')))
    .map((f) => path.join(path.dirname(f), 'file-system-cache.js'))
  for (const from of [process.cwd(), __dirname]) {
    try {
      candidates.push(require.resolve('next/dist/server/lib/incremental-cache/file-system-cache.js', { paths: [from] }))
    } catch {}
  }
  for (const file of candidates) {
    try {
      const mod = require(file)
      const FileSystemCache = mod.default || mod
      if (typeof FileSystemCache === 'function') return FileSystemCache
    } catch {}
  }
  return null
}

module.exports = { diskConfig, readBuildId, seedReader }
