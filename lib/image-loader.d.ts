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
 * the closest entry of `images.qualities` to `quality ?? 75`, as Next's default loader does.
 */
export default function imageLoader(props: ImageLoaderProps): string

/** A loader for another endpoint, e.g. `createImageLoader('https://img.example.com/')`. */
export declare function createImageLoader(base?: string, config?: ImageLoaderConfig): (props: ImageLoaderProps) => string

/** Next's `findClosestQuality`: `quality ?? 75` snapped to `qualities` (earlier entry wins ties). */
export declare function closestQuality(quality: number | undefined, qualities: number[] | undefined): number
