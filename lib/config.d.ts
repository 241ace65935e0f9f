import type { BuildIdOptions } from './build-id'

export interface NextNativeOptions {
  /** The project directory (where `next build` runs and `next` resolves). Default: `process.cwd()`. */
  dir?: string
  /** `cacheHandler`, plus `cacheHandlers` (16) or `experimental.cacheHandlers` (15). Default true. */
  cache?: boolean
  /** `generateBuildId` from the project's content; an object passes build-ID options. Default true. */
  buildId?: boolean | Omit<BuildIdOptions, 'dir' | 'nextVersion'>
  /** Also set `deploymentId` (skew protection) from the same content hash. Needs Next 16.2+. Default false. */
  deploymentId?: boolean
}

/** A next.config object (typed by `next`'s own `NextConfig` where you annotate it). */
type NextConfig = { [key: string]: any }
type ConfigFunction = (phase: string, context: { defaultConfig: NextConfig }) => NextConfig | Promise<NextConfig>

/**
 * `module.exports = withNextNative(nextConfig, options?)`: the package wired into Next 14.1–16.
 * Settings already in `nextConfig` win; an option the installed Next cannot honour throws.
 */
export declare function withNextNative<C extends NextConfig | ConfigFunction>(nextConfig?: C, options?: NextNativeOptions): C
