'use strict'

// Disk cache (`server/image-optimizer.js` `ImageOptimizerCache`): Next's cache key
// (`getCacheKey`) and layout, `<cacheDir>/<key>/<maxAge>.<expireAt>.<etag>.<upstreamEtag>.<ext>`,
// bounded by an LRU of entry sizes that is rebuilt from disk on start.
// Refuses to store an entry larger than maximumDiskCacheSize (logged, still served) and
// stores nothing when it is 0; an unreadable or empty entry reads as a miss, and temporary
// files left by a crash are removed on start. Its errors (ERR_IMAGE_CACHE_ENTRY_EMPTY,
// ERR_IMAGE_CACHE_ENTRY_TOO_LARGE) never reach a response: a miss, or a line in the log.

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const { codedError } = require('../errors')
const { getHash } = require('./etag')

const CACHE_VERSION = 4

/** `ImageOptimizerCache.getCacheKey`: one entry per source, width, quality and output type. */
function getCacheKey({ href, width, quality, mimeType }) {
  return getHash([CACHE_VERSION, href, width, quality, mimeType])
}

class DiskCache {
  constructor(c) {
    this.dir = c.cacheDir
    this.minimumCacheTTL = c.minimumCacheTTL
    this.logger = c.logger
    this.maxSize = c.maximumDiskCacheSize
    this.enabled = this.maxSize !== 0
    this.sizes = new Map() // key → bytes, least recently used first
    this.total = 0
    this.ready = this.enabled ? this.init() : Promise.resolve()
  }

  async init() {
    if (this.maxSize === undefined) {
      // Next 16's default: half of the space available where the cache lives.
      await fs.promises.mkdir(this.dir, { recursive: true })
      const { bavail, bsize } = await fs.promises.statfs(this.dir)
      this.maxSize = Math.floor((bavail * bsize) / 2)
    }
    const keys = await fs.promises.readdir(this.dir).catch(() => [])
    const entries = []
    for (const key of keys) {
      if (key.startsWith('.tmp-')) {
        await fs.promises.rm(path.join(this.dir, key), { force: true }) // a write cut short by a crash
        continue
      }
      const entry = await this.readEntry(key).catch(() => null)
      if (entry) entries.push({ key, size: entry.buffer.length, expireAt: entry.expireAt })
    }
    entries.sort((a, b) => a.expireAt - b.expireAt)
    for (const { key, size } of entries) this.track(key, size)
  }

  async readEntry(key) {
    const dir = path.join(this.dir, key)
    const [file] = await fs.promises.readdir(dir)
    if (!file) throw codedError('ERR_IMAGE_CACHE_ENTRY_EMPTY', `cache entry ${key} is empty`)
    const [maxAge, expireAt, etag, upstreamEtag, extension] = file.split('.', 5)
    const buffer = await fs.promises.readFile(path.join(dir, file))
    if (buffer.length === 0) throw codedError('ERR_IMAGE_CACHE_ENTRY_EMPTY', `cache entry ${key} is empty`)
    return { maxAge: Number(maxAge), expireAt: Number(expireAt), etag, upstreamEtag, extension, buffer }
  }

  track(key, size) {
    if (this.sizes.has(key)) this.total -= this.sizes.get(key)
    this.sizes.delete(key)
    if (size > this.maxSize) return false
    this.sizes.set(key, size)
    this.total += size
    for (const [oldKey, oldSize] of this.sizes) {
      if (this.total <= this.maxSize) break
      this.sizes.delete(oldKey)
      this.total -= oldSize
      fs.promises.rm(path.join(this.dir, oldKey), { recursive: true, force: true }).catch(() => {})
    }
    return true
  }

  async get(key) {
    if (!this.enabled) return null
    await this.ready
    try {
      const entry = await this.readEntry(key)
      if (this.sizes.has(key)) this.track(key, entry.buffer.length)
      return { ...entry, isStale: Date.now() > entry.expireAt }
    } catch {
      return null
    }
  }

  async set(key, value) {
    if (!this.enabled) return
    await this.ready
    const expireAt = Math.max(value.maxAge, this.minimumCacheTTL) * 1000 + Date.now()
    try {
      if (!this.track(key, value.buffer.length)) throw codedError('ERR_IMAGE_CACHE_ENTRY_TOO_LARGE', `image of ${value.buffer.length} bytes exceeds maximumDiskCacheSize`)
      const dir = path.join(this.dir, key)
      await fs.promises.rm(dir, { recursive: true, force: true })
      await fs.promises.mkdir(dir, { recursive: true })
      const name = `${value.maxAge}.${expireAt}.${value.etag}.${value.upstreamEtag}.${value.extension}`
      // Written under a temporary name first, so a concurrent reader never sees half a file.
      const tmp = path.join(this.dir, `.tmp-${key}-${process.pid}-${crypto.randomUUID()}`)
      await fs.promises.writeFile(tmp, value.buffer)
      await fs.promises.rename(tmp, path.join(dir, name))
    } catch (err) {
      this.logger.error?.(`next-native image: failed to write cache entry ${key}: ${err.message}`)
    }
  }
}

module.exports = { DiskCache, getCacheKey }
