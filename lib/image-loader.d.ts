// `images.loaderFile` for next-native's image route / service. Client-safe (no native code).

export interface ImageLoaderProps {
  src: string
  width: number
  quality?: number
}

/** `qualities` is normally read from the `images` config Next inlines into the bundle. */
export interface ImageLoaderConfig {
  qualities?: number[]
}

/**
 * `${base}?url=${encodeURIComponent(src)}&w=${width}&q=${q}` with base `/api/image`, or
 * `process.env.NEXT_PUBLIC_NEXT_NATIVE_IMAGE_URL` when set (inlined at build time); `q` is
 * the closest entry of `images.qualities` to `quality || 75`, as Next's default loader does.
 * Throws `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` unless `src` is a non-empty string and
 * `width` a positive integer (what next/image always passes).
 */
export default function imageLoader(props: ImageLoaderProps): string

/**
 * A loader for another endpoint, e.g. `createImageLoader('https://img.example.com/')`. Throws
 * `ERR_INVALID_ARG_TYPE`/`ERR_INVALID_ARG_VALUE` for a `base` that is not a string or
 * `qualities` that are not integers from 1 to 100.
 */
export declare function createImageLoader(base?: string, config?: ImageLoaderConfig): (props: ImageLoaderProps) => string

/** Next's `findClosestQuality`: `quality || 75` snapped to `qualities` (earlier entry wins ties). */
export declare function closestQuality(quality: number | undefined, qualities: number[] | undefined): number
