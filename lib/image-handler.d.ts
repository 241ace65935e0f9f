// `/_next/image` (Next.js 16.4) as a route handler / standalone service, on the native optimizer.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type NextNativeCacheHandler = require('./cache-handler')

export interface RemotePattern {
  protocol?: 'http' | 'https'
  hostname: string
  port?: string
  pathname?: string
  search?: string
}

export interface LocalPattern {
  pathname?: string
  search?: string
}

/** next.config `images` (Next 16 defaults) plus where the files are. */
export interface ImageHandlerConfig {
  /** Default [640, 750, 828, 1080, 1200, 1920, 2048, 3840]. */
  deviceSizes?: number[]
  /** Default [32, 48, 64, 96, 128, 256, 384]. */
  imageSizes?: number[]
  /** Default [75]; `null` allows every quality 1–100. */
  qualities?: number[] | null
  /** Default ['image/webp']. */
  formats?: Array<'image/avif' | 'image/webp'>
  /** Seconds; default 14400. */
  minimumCacheTTL?: number
  dangerouslyAllowSVG?: boolean
  /** Default `script-src 'none'; frame-src 'none'; sandbox;` */
  contentSecurityPolicy?: string
  /** Default 'attachment'. */
  contentDispositionType?: 'inline' | 'attachment'
  /** Patterns, `URL`s, or URL strings (as `new URL(string)`). Default []. */
  remotePatterns?: Array<RemotePattern | URL | string>
  /** Default: any path, no query string (Next 16). Static imports are always allowed. */
  localPatterns?: LocalPattern[]
  /** Deprecated in Next; exact hostnames. */
  domains?: string[]
  /** Default 3. */
  maximumRedirects?: number
  /** Bytes; default 50 000 000 (remote and local sources). */
  maximumResponseBody?: number
  /** Default false: upstream hosts resolving to private/loopback/reserved addresses get a 400. */
  dangerouslyAllowLocalIP?: boolean
  /** Bytes; default half the free space of the cache's file system; 0 disables the disk cache. */
  maximumDiskCacheSize?: number
  /**
   * Bytes of optimized images kept in process memory, above the disk cache (least recently
   * used go first; an image over an eighth of this is not kept). Default 64 MiB with `redis`,
   * else 0 (off).
   */
  maximumMemoryCacheSize?: number
  /** Prefix of `/_next/static/media` URLs (as next.config `basePath`); default ''. */
  basePath?: string

  /** Where local URLs are read from. Default `./public`. */
  publicDir?: string
  /** The build output, for `/_next/static/...` URLs. Default `./.next`. */
  distDir?: string
  /** Default `<distDir>/cache/next-native-images`. */
  cacheDir?: string
  /** Images optimized at once; default `os.availableParallelism()`. */
  concurrency?: number
  /** Give up on an encode (serving the original bytes) after this long; default 7. */
  imgOptTimeoutInSeconds?: number
  /** Larger inputs are served unoptimized; default 268 402 689. */
  imgOptMaxInputPixels?: number
  /**
   * Next 16.4's `experimental.imgOptConcurrency`: threads each image may use (Next passes it to
   * `sharp.concurrency`). Here it bounds the AVIF encoder, the one stage that uses more than
   * one thread. An integer from 0 (0: one per core); capped at 1024. Default `null`: Next's
   * production default, half the cores, at least 1.
   */
  imgOptConcurrency?: number | null
  /** Upstream fetch timeout (Next: 7, fixed); default 7. */
  fetchTimeoutInSeconds?: number
  /** Where errors and "served unoptimized" warnings go; default `console`. */
  logger?: { error?: (...args: unknown[]) => void; warn?: (...args: unknown[]) => void }
  /**
   * Share optimized images with other instances through Redis (or Valkey): one instance
   * optimizes an image, the others read it. Default: on when `REDIS_URL` is set (with
   * `REDIS_KEY_PREFIX`, `REDIS_TIMEOUT_MS`, `REDIS_MAX_ENTRY_BYTES`); `true` requires it;
   * `false` turns it off. The client (ioredis) is loaded only when this is in use.
   */
  redis?: boolean | ImageRedisOptions
}

/**
 * The cache handler's Redis options (url, client or cluster: else `REDIS_URL`; the same
 * `keyPrefix`, `timeout`, `maxTtl`, `maxEntryBytes`), plus single flight. Images are keyed by
 * their source bytes, so they are always shared across builds (no `shareAcrossBuilds`).
 */
export interface ImageRedisOptions extends Omit<NextNativeCacheHandler.RedisOptions, 'shareAcrossBuilds'> {
  /** The single-flight lease, ms: renewed while its holder works, so it expires this long after a holder dies. Default 2000. */
  leaseTtl?: number
  /** Longest a request waits for another instance's result before optimizing itself, ms. Default `imgOptTimeoutInSeconds`, at most 5000. */
  waitTimeout?: number
}

export interface ImageHandlerStats {
  /** Transforms run by this handler (encodes, plus passthroughs and failed encodes served as they came). */
  transforms: number
  /** The in-process tier: hits served from it, and what it holds. */
  memory: { hits: number; entries: number; bytes: number }
  /** The shared tier's counters; null without Redis. */
  redis: null | {
    healthy: boolean
    hits: number
    misses: number
    /** Entries in Redis that were truncated or corrupt (each a miss, then overwritten). */
    corrupt: number
    stored: number
    /** Results over maxEntryBytes, kept out of Redis. */
    tooLarge: number
    leasesWon: number
    /** Requests that waited for another instance's result; of them, served by it / gave up. */
    waited: number
    waitedHits: number
    waitTimeouts: number
    /** Holders here with no result to share (failed encode, over maxEntryBytes, not stored): lease turned into the no-result marker. */
    noResults: number
    /** Requests here that found the no-result marker and optimized at once instead of waiting. */
    noResultSeen: number
    /** Failed or timed-out Redis calls. */
    errors: number
    /** Stores and lease releases still running after their response (a holder answers first). */
    publishing: number
  }
}

export interface ImageHandlerResult {
  status: number
  headers: Array<[string, string]>
  body: Buffer | null
}

export interface ImageHandler {
  /** Web handler: `export const GET = createImageHandler({...})`. */
  (request: Request): Promise<Response>
  /** The same handler for node:http / Express / Connect. */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>
  /** Transport-neutral core: method, `?url=…&w=…&q=…`, and a header getter. */
  handle(method: string, search: string, header: (name: string) => string | null | undefined): Promise<ImageHandlerResult>
  /** Waits for background revalidations and Redis stores, then closes pooled upstream connections and the Redis client. */
  close(): Promise<void>
  /** Counters: transforms run here, the memory tier's and the shared (Redis) tier's. */
  stats(): ImageHandlerStats
  /** The resolved configuration. */
  readonly config: Readonly<Required<ImageHandlerConfig>>
}

export declare function createImageHandler(config?: ImageHandlerConfig): ImageHandler
/** A node:http `(req, res)` for any Web handler (for ours this is `handler.node`). */
export declare function toNodeHandler(
  handler: ((request: Request) => Promise<Response>) | ImageHandler,
): (req: IncomingMessage, res: ServerResponse) => Promise<void>
export declare const IMAGE_CONFIG_DEFAULTS: Readonly<Required<Pick<ImageHandlerConfig,
  'deviceSizes' | 'imageSizes' | 'qualities' | 'formats' | 'minimumCacheTTL' | 'dangerouslyAllowSVG' |
  'contentSecurityPolicy' | 'contentDispositionType' | 'remotePatterns' | 'domains' | 'maximumRedirects' |
  'maximumResponseBody' | 'dangerouslyAllowLocalIP' | 'imgOptTimeoutInSeconds' | 'imgOptMaxInputPixels' | 'imgOptConcurrency'>>>

/** Next 16.4's content sniffing: a MIME type, or null for "not an image". */
export declare function detectContentType(buffer: Buffer): string | null
/** is-animated's verdict (GIF, APNG, WebP), which decides passthrough. */
export declare function isAnimated(buffer: Buffer): boolean
/** Whether Next would refuse to fetch from this address without dangerouslyAllowLocalIP. */
export declare function isPrivateIp(ip: string): boolean
/** `getSupportedMimeType`: the negotiated output type, or '' for "keep the source's". A malformed header (`image/webp;x`) throws ERR_INVALID_ARG_VALUE (Next: 500). */
export declare function negotiateMimeType(formats: string[], accept?: string): string
/** picomatch `makeRe` for next.config patterns (`dot` for pathnames). */
export declare function globToRegExp(glob: string, dot: boolean): RegExp
/** content-disposition's header for a file name. */
export declare function contentDisposition(filename: string, type: 'inline' | 'attachment'): string
