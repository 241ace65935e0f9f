// @ts-check
const { buildIdSync, createGenerateBuildId } = require('@rs/next-native/build-id')

// The content hash of this app: the same in every container built from these sources.
const buildIdOptions = { dir: __dirname }

/** @type {import('next').NextConfig} */
module.exports = {
  generateBuildId: createGenerateBuildId(buildIdOptions),
  // Shown in the footer, so you can compare it with `.next/BUILD_ID`.
  env: { NEXT_NATIVE_BUILD_ID: buildIdSync(buildIdOptions) },

  // The native, byte-bounded cache for ISR/fetch data and for 'use cache'.
  cacheHandler: require.resolve('@rs/next-native/cache-handler'),
  cacheHandlers: {
    default: require.resolve('@rs/next-native/cache-handlers'),
    remote: require.resolve('@rs/next-native/cache-handlers'),
  },
  cacheMaxMemorySize: 64 * 1024 * 1024,

  // next/image through our loader and app/api/image/route.js: no sharp involved.
  images: require('./images.config.js'),
  // A native addon: load it with Node's require at runtime, never bundle it.
  serverExternalPackages: ['@rs/next-native'],

  // 'use cache' next to classic segment config (export const revalidate) in one app.
  experimental: { useCache: true },
  // This app lives inside the package's repository; it is its own project.
  turbopack: { root: __dirname },
}
