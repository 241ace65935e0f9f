'use strict'

// Writes cmyk.icm: libvips's fallback CMYK profile (libvips/colour/profiles/cmyk.icm,
// "Chemical proof", Graeme W. Gill, public domain) with only the tags a CMYK -> sRGB
// conversion reads. The A2B0/A2B1/A2B2 tables (one shared 9-point mft2 LUT), wtpt, bkpt, desc
// and cprt are copied byte for byte; clrt, the B2A tables, gamt and the 734 KB characterisation
// text (targ/DevD/CIED) are dropped. The profile ID (MD5) is zeroed, meaning "not computed".
//   node crates/image/profiles/strip-profile.js path/to/libvips/cmyk.icm
// See README.md here.

const fs = require('node:fs')
const path = require('node:path')

const KEEP = ['desc', 'cprt', 'wtpt', 'bkpt', 'A2B0', 'A2B1', 'A2B2']

const src = fs.readFileSync(process.argv[2])
const count = src.readUInt32BE(128)
const tags = []
for (let i = 0; i < count; i++) {
  const at = 132 + 12 * i
  const sig = src.toString('latin1', at, at + 4)
  if (KEEP.includes(sig)) tags.push({ sig, offset: src.readUInt32BE(at + 4), size: src.readUInt32BE(at + 8) })
}
// Tags that shared data keep sharing it; each element starts on a 4-byte boundary.
const placed = new Map()
const chunks = []
let end = 128 + 4 + 12 * tags.length
for (const tag of tags) {
  const key = `${tag.offset}:${tag.size}`
  if (!placed.has(key)) {
    end = (end + 3) & ~3
    placed.set(key, end)
    chunks.push({ at: end, data: src.subarray(tag.offset, tag.offset + tag.size) })
    end += tag.size
  }
  tag.newOffset = placed.get(key)
}
end = (end + 3) & ~3
const out = Buffer.alloc(end)
src.copy(out, 0, 0, 128)
out.writeUInt32BE(end, 0)
out.fill(0, 84, 100)
out.writeUInt32BE(tags.length, 128)
tags.forEach((tag, i) => {
  const at = 132 + 12 * i
  out.write(tag.sig, at, 'latin1')
  out.writeUInt32BE(tag.newOffset, at + 4)
  out.writeUInt32BE(tag.size, at + 8)
})
for (const { at, data } of chunks) data.copy(out, at)
fs.writeFileSync(path.join(__dirname, 'cmyk.icm'), out)
console.log(`cmyk.icm: ${out.length} bytes, tags ${tags.map((t) => t.sig).join(' ')}`)
