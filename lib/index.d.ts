// The documented API of the package root (see lib/index.js); the rest of ../index.d.ts is internal.
export {
  optimizeImage,
  optimizeImageSync,
  imageMetadata,
  blurPlaceholder,
  blurPlaceholderSync,
  nativeInfo,
  type OptimizeImageOptions,
  type OptimizedImage,
  type ImageMetadata,
  type NativeInfo,
} from '../index'
