// @ts-check
const { PHASE_PRODUCTION_SERVER } = require('next/constants')
const { buildIdSync } = require('@rs/next-native/build-id')

/** @type {(phase: string) => import('next').NextConfig} */
module.exports = (phase) => {
  // The content hash of this app: the same in every container built from these sources.
  // Hashed once, when building (not again at every `next start`, which reads .next/BUILD_ID).
  const buildId = phase === PHASE_PRODUCTION_SERVER ? undefined : buildIdSync({ dir: __dirname })
  return {
    generateBuildId: async () => buildId ?? null,
    // Shown in the footer, so you can compare it with `.next/BUILD_ID`.
    env: buildId ? { NEXT_NATIVE_BUILD_ID: buildId } : {},

    // The native, byte-bounded cache for ISR/fetch data and for 'use cache'.
    cacheHandler: require.resolve('@rs/next-native/cache-handler'),
    cacheHandlers: {
      default: require.resolve('@rs/next-native/cache-handlers'),
      remote: require.resolve('@rs/next-native/cache-handlers'),
    },
    cacheMaxMemorySize: 64 * 1024 * 1024,
    // A native addon: load it with Node's require at runtime, never bundle it.
    serverExternalPackages: ['@rs/next-native'],

    // next/image through our loader and app/api/image/route.js: no sharp involved.
    images: require('./images.config.js'),

    // 'use cache' next to classic segment config (export const revalidate) in one app.
    experimental: { useCache: true },
    // This app lives inside the package's repository; it is its own project.
    turbopack: { root: __dirname },
  }
}
