import NextNativeCacheHandler = require('./cache-handler')

declare namespace handler {
  /** Next's `'use cache'` entry (15.0–16.x). */
  interface CacheEntry {
    value: ReadableStream<Uint8Array>
    tags: string[]
    stale: number
    timestamp: number
    expire: number
    revalidate: number
  }

  /** Implements the 15.0–15.2, 15.3–15.5 and 16 `cacheHandlers` interfaces at once. */
  interface NextNativeCacheHandlers {
    get(cacheKey: string, softTags?: string[]): Promise<CacheEntry | undefined>
    set(cacheKey: string, pendingEntry: Promise<CacheEntry>): Promise<void>
    refreshTags(): Promise<void>
    getExpiration(...tags: Array<string | string[]>): Promise<number>
    updateTags(tags: string[], durations?: { expire?: number }): Promise<void>
    expireTags(...tags: string[]): Promise<void>
    receiveExpiredTags(...tags: string[]): Promise<void>
    getCacheStats(): NextNativeCacheHandler.CacheStats | null
    /** Closes the Redis connections, if any, so a script can exit; the in-process store stays. */
    disconnect(): Promise<void>
  }
}

declare const handler: handler.NextNativeCacheHandlers & {
  /** A handler with a fixed configuration: `module.exports = create({ maxMemory: 256 * 2 ** 20 })`. */
  create(options?: NextNativeCacheHandler.CacheOptions): handler.NextNativeCacheHandlers
  default: handler.NextNativeCacheHandlers
}

export = handler
