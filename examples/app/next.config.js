// @ts-check
const { PHASE_PRODUCTION_SERVER } = require('next/constants')
const { withNextNative } = require('@rs/next-native/config')
const { buildIdSync } = require('@rs/next-native/build-id')

// One line wires the package in: the native cache for ISR, fetch data and 'use cache'
// (cacheHandler + cacheHandlers), the addon as a server external package and the content
// build ID. next/image goes through our loader (images.config.js: image-loader.js) and
// app/api/image/route.js.
module.exports = withNextNative(
  (phase) => {
    // Shown in the footer, so you can compare it with `.next/BUILD_ID` (the same hash
    // withNextNative's generateBuildId gives). Not hashed again at every `next start`.
    const buildId = phase === PHASE_PRODUCTION_SERVER ? undefined : buildIdSync({ dir: __dirname })
    return {
      env: buildId ? { NEXT_NATIVE_BUILD_ID: buildId } : {},
      cacheMaxMemorySize: 64 * 1024 * 1024,
      images: require('./images.config.js'),
      // 'use cache', cacheLife and cacheTag (Next 16's Cache Components; it replaces
      // experimental.useCache): pages are prerendered where they can be, and what must run per
      // request (connection()) streams in under <Suspense>.
      cacheComponents: true,
      // Links prefetch each route's static shell (the setting Next 16 asks new apps to choose).
      partialPrefetching: true,
      // This app lives inside the package's repository; it is its own project.
      turbopack: { root: __dirname },
      // `NEXT_OUTPUT=standalone next build` (the Dockerfile, the standalone test): a server.js
      // with only the files it needs, our addon and its platform binary included by tracing.
      ...(process.env.NEXT_OUTPUT === 'standalone' && { output: 'standalone' }),
    }
  },
  { dir: __dirname },
)
