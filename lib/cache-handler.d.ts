import type { CacheStats as NativeCacheStats } from '../index'

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
    /**
     * The shared Redis tier (Redis or Valkey, single node or Cluster). Default: on when
     * `REDIS_URL` is set (with `REDIS_KEY_PREFIX`, `REDIS_TIMEOUT_MS`, `REDIS_MAX_ENTRY_BYTES`);
     * `false` turns it off.
     * The client (ioredis) is loaded only when this is in use.
     */
    redis?: false | RedisOptions
    /**
     * Bound of the disk tier in bytes (least recently used files go first); the name and the
     * default follow Next's `images.maximumDiskCacheSize`: half the free space at start, `0`
     * turns the disk tier off.
     */
    maximumDiskCacheSize?: number
    /** Where the disk tier lives. Default `<distDir>/cache/next-native`. */
    diskCacheDir?: string
  }

  interface RedisOptions {
    /** `redis://[:password@]host:port[/db]` or `rediss://…` (TLS). */
    url?: string
    /** Startup nodes of a Redis Cluster (ioredis `Cluster` nodes). */
    cluster?: Array<string | { host: string; port: number }>
    /** Extra ioredis `ClusterOptions` (e.g. `redisOptions: { password }`, `natMap`). */
    clusterOptions?: Record<string, unknown>
    /** An ioredis `Redis` or `Cluster` you created; it is duplicated once for pub/sub. */
    client?: unknown
    /** Prefix of every key and of the channel, so apps can share a Redis. Default `next-native:`; no braces. */
    keyPrefix?: string
    /** Longest a request waits for Redis, ms. Default 150. */
    timeout?: number
    /** Longest TTL of an entry in Redis, seconds (entries without `expire` get this). Default 30 days. */
    maxTtl?: number
    /**
     * Largest entry written to Redis, bytes (encoded size: for an optimized image, about its
     * file size). Larger entries stay in each instance's memory and disk tiers. Default
     * `REDIS_MAX_ENTRY_BYTES`, else 16 MiB; 0 keeps every entry out of Redis (tags are still shared).
     */
    maxEntryBytes?: number
    /**
     * Share pages, routes, `'use cache'` and `IMAGE` entries between builds. Default
     * `REDIS_SHARE_ACROSS_BUILDS=1`, else false: they live under the build ID, so during a
     * rolling deploy no instance is served another build's pages. Fetch data is always shared.
     */
    shareAcrossBuilds?: boolean
  }

  /** The native store's counters (`hits` include the hot tier's), plus the JS tiers'. */
  interface CacheStats extends NativeCacheStats {
    /** Of `hits`, those served from the hot tier. */
    hotHits: number
    /** Bytes held by the hot tier. */
    hotBytes: number
    /** Present with the Redis tier: reachable now, first tag sync done, revalidations queued while away. */
    redis?: { healthy: boolean; synced: boolean; pendingTags: number }
    /** Present with the disk tier: its hits, writes, evictions, corrupt files found, bytes, files. */
    disk?: import('../index').DiskStats
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
  /** Closes the Redis connections, if any, so a script can exit; the in-process store stays. */
  static disconnect(): Promise<void>
  static default: typeof NextNativeCacheHandler
  /** Throws a coded error (`ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE`) for bad options. */
  static validateOptions(options: NextNativeCacheHandler.CacheOptions): NextNativeCacheHandler.CacheOptions
}

export = NextNativeCacheHandler
