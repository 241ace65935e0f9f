'use strict'

// The binary value codec of the cache handlers: what Next hands `set` (pages with Buffers,
// `segmentData` Maps, fetch data, `'use cache'` entries) to bytes for the native store, the
// disk tier and Redis, and back.
//
// Next's default in-memory cache keeps values by reference, so the rule is: what goes in
// comes back. Supported: plain and null-prototype objects (own enumerable string keys,
// `__proto__` included, as an own key), arrays (holes and length kept), strings (lone
// surrogates kept), numbers (-0, NaN, ±Infinity kept), booleans, null, undefined, Map, Set,
// Date, Buffer, every typed array, DataView and ArrayBuffer. Anything else (bigint, functions,
// symbols, class instances, RegExp, Error, SharedArrayBuffer, circular references) is a
// TypeError (`code: 'ERR_CACHE_UNSUPPORTED_VALUE'`) at `set` naming the type and where it is;
// the handlers log it once and do not cache that entry. `decode` refuses an entry of an
// unknown format version (ERR_CACHE_ENTRY_FORMAT) or with a marker this codec never writes
// (ERR_CACHE_ENTRY_CORRUPT). Not kept: symbol keys, non-index properties of arrays, the identity of an
// object referenced twice (it comes back as two copies).

// Format:
// [1 byte format version][u32le header length][header JSON][blobs]
// The header is the value as JSON, with Buffers, typed arrays and long strings moved out to
// blobs and replaced by `{"\u0000": [type, ...]}`; everything JSON cannot say (undefined,
// Map, Set, Date, -0, NaN, holes…) gets such a marker too. Decoding parses only the small
// header; Buffers come back as views of the one copy the native get made, strings are decoded
// once. Never JSON-stringifies a Buffer.
//
// Format 1 (before 2): the same layout with only the markers u, s, b, a, m, o; still decoded,
// as entries may sit in Redis.

const { types } = require('node:util')
const { codedError } = require('./errors')

const FORMAT = 2
const MARK = '\u0000'
const BLOB_STRING_MIN = 256

const UNDEFINED = { [MARK]: ['u'] }
const REPLACEMENT = Buffer.from('\uFFFD', 'utf8')
const SUPPORTED =
  'plain objects, arrays, Map, Set, Date, Buffer, typed arrays, DataView, ArrayBuffer, strings, numbers, booleans, null and undefined'

// Typed arrays other than Uint8Array (marker 'a', as in format 1), by name, for decoding.
const TYPED = new Map(
  [
    Int8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    globalThis.Float16Array,
    DataView,
  ]
    .filter(Boolean)
    .map((C) => [C.name, C]),
)
const TYPED_BY_PROTO = new Map([...TYPED.values()].map((C) => [C.prototype, C.name]))
const NUMBERS = { NaN, Infinity, '-Infinity': -Infinity, '-0': -0 }

const isWellFormed =
  typeof String.prototype.isWellFormed === 'function' ? (s) => s.isWellFormed() : (s) => !/\p{Cs}/u.test(s) // Node 18

class Unsupported extends TypeError {
  constructor(what, offender, circular = false) {
    super(`cannot cache a value containing ${what}`)
    this.offender = offender
    this.circular = circular
  }
}

function article(name) {
  return `${/^[AEIO]/i.test(name) ? 'an' : 'a'} ${name}` // a URL, a Uint8Array
}

/** The name of an object's class for messages: `RegExp`, `Foo`, `object with a custom prototype`. */
function className(v) {
  const proto = Object.getPrototypeOf(v)
  const ctor = proto && Object.getOwnPropertyDescriptor(proto, 'constructor')
  const name = ctor && typeof ctor.value === 'function' ? ctor.value.name : ''
  return name || 'object with a custom prototype'
}

function encode(value) {
  const blobs = []
  let offset = 0
  const ancestors = new Set()
  const blob = (type, bytes) => {
    blobs.push(bytes)
    const ref = { [MARK]: [type, offset, bytes.length] }
    offset += bytes.length
    return ref
  }
  const bytesOf = (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  const walk = (v) => {
    switch (typeof v) {
      case 'string':
        return v.length < BLOB_STRING_MIN ? v : string(v) // JSON keeps lone surrogates (as \udXXX)
      case 'number':
        if (Number.isFinite(v) && (v !== 0 || 1 / v > 0)) return v
        return { [MARK]: ['n', Object.is(v, -0) ? '-0' : String(v)] }
      case 'boolean':
        return v
      case 'undefined':
        return UNDEFINED
      case 'object':
        return v === null ? null : object(v)
      default:
        throw new Unsupported(article(typeof v), v) // bigint, function, symbol
    }
  }
  const string = (v) => {
    const bytes = Buffer.from(v, 'utf8')
    // UTF-8 cannot carry a lone surrogate (it becomes U+FFFD): such strings go as UTF-16. The
    // full check runs only for strings that are not ASCII and encoded to a U+FFFD somewhere.
    if (bytes.length !== v.length && bytes.indexOf(REPLACEMENT) !== -1 && !isWellFormed(v)) {
      return blob('w', Buffer.from(v, 'utf16le'))
    }
    return blob('s', bytes)
  }
  const object = (v) => {
    const proto = Object.getPrototypeOf(v)
    if (proto === Object.prototype) return plain(v)
    if (proto === Array.prototype) return array(v)
    if (proto === Buffer.prototype) return blob('b', v)
    if (proto === Map.prototype) return map(v)
    if (proto === Uint8Array.prototype) return blob('a', bytesOf(v))
    if (proto === null) return { [MARK]: ['z', Object.entries(plain(v, true))] }
    if (proto === Set.prototype) return set(v)
    if (proto === Date.prototype) return { [MARK]: ['d', walk(v.getTime())] }
    if (proto === ArrayBuffer.prototype) return blob('r', Buffer.from(v))
    const typed = TYPED_BY_PROTO.get(proto)
    if (typed !== undefined) return typedArray(typed, v)
    return otherRealm(v, proto)
  }
  // Objects from another realm (vm contexts): the same kinds, recognised by internal slots.
  const otherRealm = (v, proto) => {
    const name = className(v)
    if (name === 'Object' && Object.getPrototypeOf(proto) === null) return plain(v)
    if (name === 'Array' && Array.isArray(v)) return array(v)
    if (name === 'Map' && types.isMap(v)) return map(v)
    if (name === 'Set' && types.isSet(v)) return set(v)
    if (name === 'Date' && types.isDate(v)) return { [MARK]: ['d', walk(Date.prototype.getTime.call(v))] }
    if (name === 'ArrayBuffer' && types.isArrayBuffer(v)) return blob('r', Buffer.from(v))
    if (name === 'Uint8Array' && types.isUint8Array(v)) return blob('a', bytesOf(v))
    if (TYPED.has(name) && ArrayBuffer.isView(v)) return typedArray(name, v)
    throw new Unsupported(article(name), v)
  }
  const enter = (v) => {
    if (ancestors.has(v)) throw new Unsupported('a circular reference', v, true)
    ancestors.add(v)
  }
  const plain = (v, bare) => {
    enter(v)
    const out = {}
    for (const k of Object.keys(v)) {
      const x = walk(v[k])
      // `out.__proto__ = x` would set out's prototype (or do nothing) instead of a key.
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true })
      else out[k] = x
    }
    ancestors.delete(v)
    // An object that really has a "\u0000" key is wrapped, so it is never read as a marker.
    if (bare || !Object.prototype.hasOwnProperty.call(v, MARK)) return out
    return { [MARK]: ['o', Object.entries(out)] }
  }
  const array = (v) => {
    enter(v)
    const n = v.length
    const out = new Array(n)
    for (let i = 0; i < n; i++) {
      if (!(i in v)) {
        ancestors.delete(v)
        return sparse(v)
      }
      out[i] = walk(v[i])
    }
    ancestors.delete(v)
    return out
  }
  const sparse = (v) => {
    enter(v)
    const items = []
    for (const k of Object.keys(v)) {
      const i = Number(k)
      if (Number.isInteger(i) && i >= 0 && String(i) === k) items.push([i, walk(v[k])])
    }
    ancestors.delete(v)
    return { [MARK]: ['h', v.length, items] }
  }
  const map = (v) => {
    enter(v)
    const out = []
    for (const [k, x] of v) out.push([walk(k), walk(x)])
    ancestors.delete(v)
    return { [MARK]: ['m', out] }
  }
  const set = (v) => {
    enter(v)
    const out = []
    for (const x of v) out.push(walk(x))
    ancestors.delete(v)
    return { [MARK]: ['e', out] }
  }
  const typedArray = (name, v) => {
    const ref = blob('t', bytesOf(v))
    ref[MARK].push(name)
    return ref
  }

  let header
  try {
    header = Buffer.from(JSON.stringify(walk(value)), 'utf8')
  } catch (err) {
    if (err instanceof Unsupported) {
      const at = locate(value, err.offender, err.circular)
      throw codedError('ERR_CACHE_UNSUPPORTED_VALUE', `${err.message}${at === null ? '' : ` (at ${at || 'the top level'})`}; the cache keeps ${SUPPORTED}`, TypeError)
    }
    throw err
  }
  const prefix = Buffer.allocUnsafe(5)
  prefix[0] = FORMAT
  prefix.writeUInt32LE(header.length, 1)
  return Buffer.concat([prefix, header, ...blobs])
}

/**
 * Where `target` first occurs in `root`, as `.a[2].b`; with `circular`, where it occurs inside
 * itself. Only called to word an error.
 */
function locate(root, target, circular) {
  const seen = new Set()
  const ancestors = new Set()
  const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)
  const search = (v, path) => {
    if (v === target && (!circular || ancestors.has(v))) return path
    if (v === null || typeof v !== 'object' || seen.has(v) || ArrayBuffer.isView(v)) return null
    seen.add(v)
    ancestors.add(v)
    let children
    if (types.isMap(v)) {
      children = [...v].flatMap(([k, x], i) => [
        [`{map key ${i}}`, k],
        [typeof k === 'string' ? `.get(${JSON.stringify(k)})` : `{map value ${i}}`, x],
      ])
    } else if (types.isSet(v)) children = [...v].map((x, i) => [`{set item ${i}}`, x])
    else if (Array.isArray(v)) children = Object.keys(v).map((k) => [/^\d+$/.test(k) ? `[${k}]` : key(k), v[k]])
    else children = Object.keys(v).map((k) => [key(k), v[k]])
    for (const [suffix, x] of children) {
      const found = search(x, path + suffix)
      if (found !== null) return found
    }
    ancestors.delete(v)
    return null
  }
  return search(root, '')
}

/** A header marker this codec never writes: the entry was damaged or forged. */
const corrupt = (message) => codedError('ERR_CACHE_ENTRY_CORRUPT', message)

function decode(buf) {
  const format = buf[0]
  if (format !== FORMAT && format !== 1) throw codedError('ERR_CACHE_ENTRY_FORMAT', `unknown cache entry format ${format}`)
  const headerLength = buf.readUInt32LE(1)
  const base = 5 + headerLength
  const at = (mark) => buf.byteOffset + base + mark[1]
  // Revives in place: JSON.parse made every object and array here, with own keys only (an own
  // "__proto__" key stays an own key: assigning to it below writes that key, never a prototype).
  const revive = (v) => {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i]
        if (x !== null && typeof x === 'object') {
          const y = revive(x)
          if (y !== x) v[i] = y
        }
      }
      return v
    }
    const mark = v[MARK]
    if (mark !== undefined) return marker(mark)
    for (const k of Object.keys(v)) {
      const x = v[k]
      if (x !== null && typeof x === 'object') {
        const y = revive(x)
        if (y !== x) v[k] = y
      }
    }
    return v
  }
  const any = (x) => (x !== null && typeof x === 'object' ? revive(x) : x)
  const marker = (mark) => {
    switch (mark[0]) {
      case 'u':
        return undefined
      case 's':
        return buf.toString('utf8', base + mark[1], base + mark[1] + mark[2])
      case 'w':
        return buf.toString('utf16le', base + mark[1], base + mark[1] + mark[2])
      case 'b':
        return buf.subarray(base + mark[1], base + mark[1] + mark[2])
      case 'a':
        return new Uint8Array(buf.buffer, at(mark), mark[2])
      case 'm':
        return new Map(mark[1].map(([k, x]) => [any(k), any(x)]))
      case 'o':
        return Object.fromEntries(mark[1].map(([k, x]) => [k, any(x)]))
      case 'z': {
        const out = Object.create(null) // no setter anywhere on the chain: `out[k] =` is a key
        for (const [k, x] of mark[1]) out[k] = any(x)
        return out
      }
      case 'n':
        if (!Object.prototype.hasOwnProperty.call(NUMBERS, mark[1])) throw corrupt(`unknown cache entry number ${mark[1]}`)
        return NUMBERS[mark[1]]
      case 'd':
        return new Date(any(mark[1]))
      case 'e':
        return new Set(mark[1].map(any))
      case 'h': {
        const out = new Array(mark[1])
        for (const [i, x] of mark[2]) {
          if (!Number.isInteger(i) || i < 0 || i >= out.length) throw corrupt(`bad cache entry array index ${i}`)
          out[i] = any(x)
        }
        return out
      }
      case 'r':
        return buf.buffer.slice(at(mark), at(mark) + mark[2])
      case 't': {
        const C = TYPED.get(mark[3])
        if (C === undefined) throw corrupt(`unknown cache entry array type ${mark[3]}`)
        const start = at(mark)
        if (C === DataView) return new DataView(buf.buffer, start, mark[2])
        // A view of the entry where aligned, else a copy (e.g. a Float64Array at an odd offset).
        if (start % C.BYTES_PER_ELEMENT === 0) return new C(buf.buffer, start, mark[2] / C.BYTES_PER_ELEMENT)
        return new C(buf.buffer.slice(start, start + mark[2]))
      }
      default:
        throw corrupt(`unknown cache entry marker ${mark[0]}`)
    }
  }
  return any(JSON.parse(buf.toString('utf8', 5, base)))
}

module.exports = { encode, decode, FORMAT }
