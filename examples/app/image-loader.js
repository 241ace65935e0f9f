// next.config images.loaderFile: next/image asks our /api/image route for every size.
export { default } from '@rs/next-native/image-loader'
