'use strict'

// Content types and file extensions of images. Mirrors `server/image-optimizer/image-type.js`
// (the type constants) and image-optimizer.js's `getExtension` / `getContentType`, which ask
// send's mime table. Refuses nothing: a type or extension outside the table maps to
// undefined, which callers treat as unknown (no Content-Type, `image.bin`).

const JPEG = 'image/jpeg'
const PNG = 'image/png'
const GIF = 'image/gif'
const WEBP = 'image/webp'
const AVIF = 'image/avif'
const SVG = 'image/svg+xml'
const ICO = 'image/x-icon'
const ICNS = 'image/x-icns'
const TIFF = 'image/tiff'
const BMP = 'image/bmp'
const JXL = 'image/jxl'
const HEIC = 'image/heic'
const JP2 = 'image/jp2'
const PDF = 'application/pdf'

// send's mime@1.6 table for the types an image response can have, plus the four Next defines.
const EXTENSION_TYPES = {
  avif: AVIF,
  bmp: BMP,
  gif: GIF,
  heic: HEIC,
  icns: ICNS,
  ico: ICO,
  jp2: JP2,
  jpeg: JPEG,
  jxl: JXL,
  png: PNG,
  svg: SVG,
  tiff: TIFF,
  webp: WEBP,
}
const TYPE_EXTENSIONS = Object.fromEntries(Object.entries(EXTENSION_TYPES).map(([ext, type]) => [type, ext]))
const getExtension = (contentType) => TYPE_EXTENSIONS[contentType]
const getContentType = (extension) => EXTENSION_TYPES[extension]

module.exports = { JPEG, PNG, GIF, WEBP, AVIF, SVG, ICO, ICNS, TIFF, BMP, JXL, HEIC, JP2, PDF, getExtension, getContentType }
