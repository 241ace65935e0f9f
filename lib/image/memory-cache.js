'use strict'

// The in-process tier above the disk cache (issue #17: process memory, local disk, Redis):
// the same entries as disk-cache.js (`{ maxAge, expireAt, etag, upstreamEtag, extension,
// buffer }`, the same freshness), in a Map kept in least-recently-used order and bounded by
// the bytes of the images it holds (`maximumMemoryCacheSize`; 0: off). An image larger than
// an eighth of the bound is not kept, so one image never empties the tier. Refuses nothing.

class MemoryCache {
  constructor(c) {
    this.maxSize = c.maximumMemoryCacheSize
    this.minimumCacheTTL = c.minimumCacheTTL
    this.entries = new Map() // key → entry, least recently used first
    this.total = 0
    this.hits = 0
  }

  get(key) {
    const entry = this.entries.get(key)
    if (!entry) return null
    this.entries.delete(key)
    this.entries.set(key, entry)
    this.hits++
    return { ...entry, isStale: Date.now() > entry.expireAt }
  }

  /** Keeps `value`; its `expireAt` if it has one (an entry read from disk), else as the disk cache computes it. */
  set(key, value) {
    if (this.maxSize === 0) return
    this.delete(key)
    const size = value.buffer.length
    if (size > this.maxSize / 8) return
    const expireAt = value.expireAt ?? Math.max(value.maxAge, this.minimumCacheTTL) * 1000 + Date.now()
    const { maxAge, etag, upstreamEtag, extension, buffer } = value
    this.entries.set(key, { maxAge, expireAt, etag, upstreamEtag, extension, buffer })
    this.total += size
    for (const [oldKey] of this.entries) {
      if (this.total <= this.maxSize) break
      this.delete(oldKey)
    }
  }

  delete(key) {
    const entry = this.entries.get(key)
    if (!entry) return
    this.entries.delete(key)
    this.total -= entry.buffer.length
  }
}

module.exports = { MemoryCache }
