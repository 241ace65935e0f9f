// /_next/image semantics, served by @rs/next-native instead of sharp.
import { createImageHandler } from '@rs/next-native/image-handler'
import images from '../../../images.config.js'

const handler = createImageHandler({ ...images, publicDir: 'public', distDir: '.next' })

export const GET = handler
export const HEAD = handler
