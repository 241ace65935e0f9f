'use strict'

// The binary value codec of the cache handlers: what Next hands `set` (pages with Buffers,
// `segmentData` Maps, fetch data, `'use cache'` entries) to bytes for the native store, the
// disk tier and Redis, and back.

// Format:
// [1 byte format version][u32le header length][header JSON][blobs]
// The header is the value as JSON, with Buffers, typed arrays and long strings moved out to
// blobs and replaced by `{"\u0000": [type, ...]}`; Maps and `undefined` get markers too, so
// `segmentData` comes back as a Map of Buffers and `{ postponed: undefined }` keeps its key.
// Decoding parses only the small header; Buffers come back as views of the one copy the
// native get made, strings are decoded once. Never JSON-stringifies a Buffer.

const FORMAT = 1
const MARK = '\u0000'
const BLOB_STRING_MIN = 256

function encode(value) {
  const blobs = []
  let offset = 0
  const blob = (type, bytes) => {
    blobs.push(bytes)
    const ref = { [MARK]: [type, offset, bytes.length] }
    offset += bytes.length
    return ref
  }
  const walk = (v) => {
    if (v === undefined) return { [MARK]: ['u'] }
    if (typeof v === 'string') return v.length < BLOB_STRING_MIN ? v : blob('s', Buffer.from(v, 'utf8'))
    if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') {
      throw new TypeError(`cannot cache a value containing a ${typeof v}`)
    }
    if (v === null || typeof v !== 'object') return v
    if (Buffer.isBuffer(v)) return blob('b', v)
    if (v instanceof Uint8Array) return blob('a', v)
    if (v instanceof Map) return { [MARK]: ['m', Array.from(v, ([k, x]) => [walk(k), walk(x)])] }
    if (Array.isArray(v)) return v.map(walk)
    const out = {}
    for (const k of Object.keys(v)) out[k] = walk(v[k])
    // An object that really has a "\u0000" key is wrapped, so it is never read as a marker.
    return Object.prototype.hasOwnProperty.call(v, MARK) ? { [MARK]: ['o', Object.entries(out)] } : out
  }
  const header = Buffer.from(JSON.stringify(walk(value)), 'utf8')
  const prefix = Buffer.allocUnsafe(5)
  prefix[0] = FORMAT
  prefix.writeUInt32LE(header.length, 1)
  return Buffer.concat([prefix, header, ...blobs])
}

function decode(buf) {
  if (buf[0] !== FORMAT) throw new Error(`unknown cache entry format ${buf[0]}`)
  const headerLength = buf.readUInt32LE(1)
  const base = 5 + headerLength
  const revive = (v) => {
    if (v === null || typeof v !== 'object') return v
    if (Array.isArray(v)) return v.map(revive)
    const mark = v[MARK]
    if (mark !== undefined) {
      switch (mark[0]) {
        case 'u':
          return undefined
        case 's':
          return buf.toString('utf8', base + mark[1], base + mark[1] + mark[2])
        case 'b':
          return buf.subarray(base + mark[1], base + mark[1] + mark[2])
        case 'a':
          return new Uint8Array(buf.buffer, buf.byteOffset + base + mark[1], mark[2])
        case 'm':
          return new Map(mark[1].map(([k, x]) => [revive(k), revive(x)]))
        case 'o':
          return Object.fromEntries(mark[1].map(([k, x]) => [k, revive(x)]))
        default:
          throw new Error(`unknown cache entry marker ${mark[0]}`)
      }
    }
    const out = {}
    for (const k of Object.keys(v)) out[k] = revive(v[k])
    return out
  }
  return revive(JSON.parse(buf.toString('utf8', 5, base)))
}

module.exports = { encode, decode }
