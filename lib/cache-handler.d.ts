declare namespace NextNativeCacheHandler {
  interface CacheOptions {
    /**
     * Byte budget of the process-wide store (keys + values, compressed size when compressed,
     * tags, 320 B per entry). Default: next.config `cacheMaxMemorySize` when > 0, else 50 MiB.
     */
    maxMemory?: number
    /** LZ4-compress values of 1 KiB or more when that saves space. Default true. */
    compression?: boolean
    /**
     * Bytes of the budget kept as decoded JS objects for the hottest entries (returned by
     * reference, like Next's own cache). Default: 1/16 of `maxMemory`, at most 16 MiB; 0 = off.
     */
    hotMemory?: number
  }

  interface CacheStats {
    hits: number
    staleHits: number
    misses: number
    evictions: number
    expirations: number
    /** Sets refused because the entry was larger than `maxEntryBytes`. */
    rejected: number
    /** Bytes charged for live entries; never more than `capacity`. */
    bytes: number
    entries: number
    capacity: number
    maxEntryBytes: number
    /** Tags in the revalidation manifest. */
    tags: number
    /** Of `hits`, those served from the hot tier. */
    hotHits: number
    /** Bytes held by the hot tier. */
    hotBytes: number
  }
}

/** Next's incremental-cache handler interface, as implemented for Next 14, 15 and 16. */
declare class NextNativeCacheHandler {
  constructor(ctx?: { maxMemoryCacheSize?: number; revalidatedTags?: string[]; [key: string]: unknown })
  get(
    key: string,
    ctx?: Record<string, unknown>,
  ): Promise<{ lastModified: number; value: any; cacheControl?: { revalidate: number | false; expire: number | undefined } } | null>
  set(key: string, data: any, ctx?: Record<string, unknown>): Promise<void>
  revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void>
  resetRequestCache(): void
  /** Stats of the process-wide store, or null before the first handler was constructed. */
  static stats(): NextNativeCacheHandler.CacheStats | null
  /** A handler class with a fixed configuration: `module.exports = create({ maxMemory: 256 * 2 ** 20 })`. */
  static create(options?: NextNativeCacheHandler.CacheOptions): typeof NextNativeCacheHandler
  static getCacheStats(): NextNativeCacheHandler.CacheStats | null
  static default: typeof NextNativeCacheHandler
  /** Throws a coded error (`ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`) for bad options. */
  static validateOptions(options: NextNativeCacheHandler.CacheOptions): NextNativeCacheHandler.CacheOptions
}

export = NextNativeCacheHandler
