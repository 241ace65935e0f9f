// next.config `images`, shared with app/api/image/route.js so the loader, Next and our image
// route agree on sizes, qualities and formats.
module.exports = {
  loader: 'custom',
  loaderFile: './image-loader.js', // → /api/image?url=…&w=…&q=… (our route, below)
  formats: ['image/avif', 'image/webp'],
  // The example's remote images come from its local upstream API on a free port.
  remotePatterns: [{ protocol: 'http', hostname: '127.0.0.1' }],
  dangerouslyAllowLocalIP: true,
}
