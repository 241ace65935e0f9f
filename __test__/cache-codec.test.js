'use strict'

// lib/cache-codec.js: what the cache handlers store is what they give back. Next's default
// cache keeps values by reference, so every supported value must round-trip exactly (types,
// prototypes, -0, holes, lone surrogates), decoding must never set a prototype from data,
// and everything else must be a TypeError at `set` that says what and where.

const test = require('node:test')
const assert = require('node:assert/strict')
const vm = require('node:vm')
const { encode, decode } = require('../lib/cache-codec.js')

const roundTrip = (v) => decode(encode(v))
const SUPPORTED =
  'the cache keeps plain objects, arrays, Map, Set, Date, Buffer, typed arrays, DataView, ArrayBuffer, strings, numbers, booleans, null and undefined'

/** A format-1 entry as the previous codec wrote it: [1][u32le header length][header][blobs]. */
function formatOne(header, blobs = []) {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const prefix = Buffer.alloc(5)
  prefix[0] = 1
  prefix.writeUInt32LE(json.length, 1)
  return Buffer.concat([prefix, json, ...blobs])
}

test('entries are written in format 2', () => {
  assert.equal(encode({ a: 1 })[0], 2)
  assert.throws(() => decode(Buffer.from([3, 2, 0, 0, 0, 0x7b, 0x7d])), { message: 'unknown cache entry format 3' })
})

test('an own "__proto__" key comes back as an own key, never as the prototype', () => {
  // What JSON.parse makes of attacker-controlled fetch data: own "__proto__" keys.
  const data = JSON.parse('{"__proto__": {"isAdmin": true}, "user": {"__proto__": {"isAdmin": true}, "name": "x"}}')
  const value = { kind: 'FETCH', data: { headers: {}, body: JSON.stringify(data), url: 'https://x/', status: 200 }, parsed: data }
  const decoded = roundTrip(value)
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype)
  for (const o of [decoded.parsed, decoded.parsed.user]) {
    assert.equal(Object.getPrototypeOf(o), Object.prototype)
    assert.ok(Object.hasOwn(o, '__proto__'))
    assert.deepEqual(Object.getOwnPropertyDescriptor(o, '__proto__'), { value: { isAdmin: true }, enumerable: true, writable: true, configurable: true })
    assert.equal(o.isAdmin, undefined)
    assert.equal(Object.getPrototypeOf(o.__proto__), Object.prototype)
  }
  assert.deepEqual(Object.keys(decoded.parsed), ['__proto__', 'user'])
  assert.deepStrictEqual(decoded, value)
  assert.equal({}.isAdmin, undefined, 'Object.prototype untouched')

  // Top level, primitive values, and next to a "\u0000" key (the wrapped form).
  for (const json of ['{"__proto__": 1}', '{"__proto__": null}', '{"__proto__": [1, 2]}', '{"\\u0000": 1, "__proto__": {"a": 1}}']) {
    const v = JSON.parse(json)
    const d = roundTrip(v)
    assert.equal(Object.getPrototypeOf(d), Object.prototype, json)
    assert.ok(Object.hasOwn(d, '__proto__'), json)
    assert.deepStrictEqual(d, v, json)
  }
  // Inside a Map, a Set, an array and a null-prototype object.
  const inner = JSON.parse('{"__proto__": {"polluted": true}}')
  const bare = Object.create(null)
  bare.__proto__ = { polluted: true } // no setter on a null-prototype object: an own key
  const nested = { m: new Map([['k', inner]]), s: new Set([inner]), a: [inner], bare }
  const d = roundTrip(nested)
  for (const o of [d.m.get('k'), [...d.s][0], d.a[0]]) {
    assert.equal(Object.getPrototypeOf(o), Object.prototype)
    assert.ok(Object.hasOwn(o, '__proto__'))
    assert.equal(o.polluted, undefined)
  }
  assert.equal(Object.getPrototypeOf(d.bare), null)
  assert.deepEqual(Object.keys(d.bare), ['__proto__'])
  assert.deepStrictEqual(d, nested)
})

test('format-1 entries (already in Redis) still decode, and never set a prototype either', () => {
  const html = '<p>' + 'x'.repeat(300) + '</p>'
  const blobs = [Buffer.from(html), Buffer.from([0, 1, 255]), Buffer.from('tree'), Buffer.from([9, 8])]
  const off = (i) => blobs.slice(0, i).reduce((n, b) => n + b.length, 0)
  const ref = (type, i) => ({ '\u0000': [type, off(i), blobs[i].length] })
  const header = {
    kind: 'APP_PAGE',
    html: ref('s', 0),
    rscData: ref('b', 1),
    segmentData: { '\u0000': ['m', [['/_tree', ref('b', 2)]]] },
    postponed: { '\u0000': ['u'] },
    bytes: ref('a', 3),
    wrapped: { '\u0000': ['o', [['\u0000', 1], ['__proto__', { a: 1 }]]] },
    status: 200,
  }
  const json = JSON.stringify(header).replace('"kind"', '"__proto__":{"polluted":true},"kind"')
  const buf = formatOne(JSON.parse(json), blobs)
  const d = decode(buf)
  assert.equal(Object.getPrototypeOf(d), Object.prototype)
  assert.ok(Object.hasOwn(d, '__proto__'))
  assert.equal(d.polluted, undefined)
  assert.equal(d.html, html)
  assert.ok(Buffer.isBuffer(d.rscData))
  assert.deepEqual([...d.rscData], [0, 1, 255])
  assert.ok(d.segmentData instanceof Map)
  assert.equal(d.segmentData.get('/_tree').toString(), 'tree')
  assert.ok(Object.hasOwn(d, 'postponed') && d.postponed === undefined)
  assert.equal(Object.getPrototypeOf(d.bytes), Uint8Array.prototype)
  assert.deepEqual([...d.bytes], [9, 8])
  assert.equal(Object.getPrototypeOf(d.wrapped), Object.prototype)
  assert.deepEqual(Object.keys(d.wrapped), ['\u0000', '__proto__'])
  assert.equal(d.status, 200)
})

test('numbers JSON cannot say: -0, NaN, Infinity, -Infinity (anywhere)', () => {
  const specials = [-0, NaN, Infinity, -Infinity]
  for (const n of specials) {
    assert.ok(Object.is(roundTrip(n), n), String(n))
    assert.ok(Object.is(roundTrip({ n }).n, n), String(n))
    assert.ok(Object.is(roundTrip([n])[0], n), String(n))
  }
  const v = { list: [0, -0, 1.5, -1e-300, Number.MAX_VALUE, Number.MIN_VALUE, NaN], m: new Map([[NaN, -0], [Infinity, -Infinity]]), s: new Set([NaN, -Infinity]) }
  const d = roundTrip(v)
  assert.deepStrictEqual(d, v)
  assert.ok(Object.is(d.list[0], 0) && Object.is(d.list[1], -0))
  assert.ok(Object.is(d.m.get(NaN), -0))
})

test('sparse arrays keep their holes and length; undefined stays undefined', () => {
  const trailing = [1, 2]
  trailing.length = 5
  const far = []
  far[1000] = 'x'
  const cases = [[1, , 3], [, , ,], new Array(7), trailing, far, [undefined, , null], [[, 1], { a: [, ,] }]] // eslint-disable-line no-sparse-arrays
  for (const a of cases) {
    const d = roundTrip(a)
    assert.equal(d.length, a.length)
    assert.deepEqual(Object.keys(d), Object.keys(a))
    assert.deepStrictEqual(d, a)
  }
  const d = roundTrip([undefined, , 3]) // eslint-disable-line no-sparse-arrays
  assert.ok(0 in d && d[0] === undefined)
  assert.ok(!(1 in d))
})

test('Date, Set and Map (nested, with object keys) round-trip', () => {
  const v = {
    at: new Date('2025-03-04T05:06:07.089Z'),
    tags: new Set(['a', 'b', 1, null, undefined]),
    nested: new Map([
      ['k', new Map([[1, new Set([new Date(0)])]])],
      [{ obj: 'key' }, [1, 2]],
      [undefined, 'u'],
    ]),
    empty: [new Map(), new Set(), {}, []],
  }
  const d = roundTrip(v)
  assert.deepStrictEqual(d, v)
  assert.ok(d.at instanceof Date)
  const bad = roundTrip({ d: new Date(NaN) }).d
  assert.ok(bad instanceof Date && Number.isNaN(bad.getTime()))
})

test('every typed array, DataView and ArrayBuffer come back with their type, bytes and length', () => {
  const source = new ArrayBuffer(64)
  new Uint8Array(source).forEach((_, i, a) => (a[i] = i * 7))
  const views = [
    Buffer.from('buffer bytes'),
    new Uint8Array([1, 2, 255]),
    new Int8Array([-128, 0, 127]),
    new Uint8ClampedArray([0, 128, 255]),
    new Int16Array([-32768, 1, 32767]),
    new Uint16Array([0, 65535]),
    new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
    new Uint32Array([0, 2 ** 32 - 1]),
    new Float32Array([1.5, -0, NaN, Infinity]),
    new Float64Array([Math.PI, -0, NaN, -Infinity, Number.MIN_VALUE]),
    new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    new BigUint64Array([0n, 2n ** 64n - 1n]),
    new Float64Array(source, 8, 3), // a view at an offset of a larger buffer: only its bytes
    new Uint16Array(source, 2, 5),
    new DataView(source, 3, 9),
    new ArrayBuffer(0),
    source,
  ]
  if (typeof Float16Array === 'function') views.push(new Float16Array([1.5, -2])) // eslint-disable-line no-undef
  for (const v of views) {
    const d = roundTrip({ v }).v
    assert.equal(Object.getPrototypeOf(d), Object.getPrototypeOf(v), Object.prototype.toString.call(v))
    assert.equal(d.byteLength, v.byteLength)
    if (v instanceof ArrayBuffer) assert.deepEqual(Buffer.from(d), Buffer.from(v))
    else assert.deepEqual(Buffer.from(d.buffer, d.byteOffset, d.byteLength), Buffer.from(v.buffer, v.byteOffset, v.byteLength))
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) assert.deepStrictEqual([...d], [...v])
  }
  // A Float64Array whose bytes land at an odd offset of the entry still decodes (as a copy).
  for (let pad = 0; pad < 8; pad++) {
    const v = { pad: 'p'.repeat(pad), f: new Float64Array([1.25, -2.5]), b: new BigInt64Array([-5n]) }
    assert.deepStrictEqual(roundTrip(v), v)
  }
  // A decoded ArrayBuffer is its own, not the whole entry.
  assert.equal(roundTrip({ pre: Buffer.alloc(100), ab: new ArrayBuffer(3) }).ab.byteLength, 3)
})

test('strings: lone surrogates survive, short and long (UTF-8 blobs cannot carry them)', () => {
  const long = (s) => s + 'x'.repeat(300)
  const cases = [
    long('\uD800'),
    '\uDFFF' + 'y'.repeat(400),
    'z'.repeat(500) + '\uD83D', // a high surrogate at the very end
    long('a\uDC00b\uD800'),
    long('😀 paired 😀 and lone \uDE00'),
    long('😀 well-formed é ü “quotes”'),
    long('a genuine \uFFFD replacement character'),
    long('\uFFFD next to a lone \uD801'),
    '\uD800',
    'short \uDC00 one',
    'é'.repeat(3000),
    'x'.repeat(255),
    'x'.repeat(256),
    '',
  ]
  for (const s of cases) {
    assert.equal(roundTrip(s), s, JSON.stringify(s.slice(0, 40)))
    assert.equal(roundTrip({ s, m: new Map([[s, s]]) }).m.get(s), s)
  }
})

test('null-prototype objects, "\\u0000" keys and key order round-trip', () => {
  const bare = Object.assign(Object.create(null), { b: 1, a: { c: 2 } })
  const v = { bare, '\u0000': ['u'], 2: 'two', 1: 'one', z: 0, y: { '\u0000': ['s', 0, 9] } }
  const d = roundTrip(v)
  assert.deepStrictEqual(d, v)
  assert.deepEqual(Object.keys(d), Object.keys(v))
  assert.equal(Object.getPrototypeOf(d.bare), null)
  assert.equal(Object.getPrototypeOf(d.bare.a), Object.prototype)
})

test('a Next APP_PAGE entry: Buffers stay Buffers, segmentData stays a Map of Buffers', () => {
  const value = {
    kind: 'APP_PAGE',
    html: '<!DOCTYPE html>' + 'é<div>x</div>'.repeat(5000),
    rscData: Buffer.alloc(30000, 3),
    headers: { 'x-next-cache-tags': '_N_T_/layout,_N_T_/page', vary: 'RSC' },
    postponed: undefined,
    status: 200,
    segmentData: new Map(Array.from({ length: 5 }, (_, i) => [`/seg${i}`, Buffer.alloc(1000 + i, i)])),
  }
  const d = roundTrip({ value, cacheControl: { revalidate: 60, expire: undefined } })
  assert.deepStrictEqual(d, { value, cacheControl: { revalidate: 60, expire: undefined } })
  assert.ok(Buffer.isBuffer(d.value.rscData))
  for (const b of d.value.segmentData.values()) assert.ok(Buffer.isBuffer(b))
})

test('objects from another realm (vm contexts) come back as this realm\'s', () => {
  const foreign = vm.runInNewContext(
    `({ plain: { a: 1, list: [1, , 3] }, map: new Map([['k', new Set([1])]]), date: new Date(5), bytes: new Float64Array([2.5]), ab: new ArrayBuffer(2) })`,
  )
  const d = roundTrip(foreign)
  assert.equal(Object.getPrototypeOf(d.plain), Object.prototype)
  assert.deepStrictEqual(d, {
    plain: { a: 1, list: [1, , 3] }, // eslint-disable-line no-sparse-arrays
    map: new Map([['k', new Set([1])]]),
    date: new Date(5),
    bytes: new Float64Array([2.5]),
    ab: new ArrayBuffer(2),
  })
})

test('an object referenced twice comes back as two equal copies', () => {
  const shared = { n: 1 }
  const d = roundTrip({ a: shared, b: [shared] })
  assert.deepStrictEqual(d, { a: { n: 1 }, b: [{ n: 1 }] })
  assert.notEqual(d.a, d.b[0])
})

test('what is not supported is a TypeError at encode that names the type and where it is', () => {
  class Session {}
  const circular = { value: { list: [] } }
  circular.value.list.push({ back: circular.value })
  const cases = [
    [{ kind: 'FETCH', data: { n: 10n } }, 'a bigint (at .data.n)'],
    [{ value: { fn() {} } }, 'a function (at .value.fn)'],
    [{ s: [1, Symbol('x')] }, 'a symbol (at .s[1])'],
    [{ m: new Map([['user', new Session()]]) }, 'a Session (at .m.get("user"))'],
    [{ re: /x/ }, 'a RegExp (at .re)'],
    [{ 'a-b': new Error('boom') }, 'an Error (at ["a-b"])'],
    [{ p: Promise.resolve() }, 'a Promise (at .p)'],
    [{ w: new WeakMap() }, 'a WeakMap (at .w)'],
    [{ url: new URL('https://x/') }, 'a URL (at .url)'],
    [{ boxed: Object('str') }, 'a String (at .boxed)'],
    [{ sab: new SharedArrayBuffer(4) }, 'a SharedArrayBuffer (at .sab)'],
    [{ tags: new Set(['a', Object.create({ custom: true })]) }, 'an object with a custom prototype (at .tags{set item 1})'],
    [new Map([[{ k: () => 1 }, 'v']]), 'a function (at {map key 0}.k)'],
    [10n, 'a bigint (at the top level)'],
    [circular, 'a circular reference (at .value.list[0].back)'],
  ]
  for (const [value, what] of cases) {
    assert.throws(() => encode(value), { name: 'TypeError', message: `cannot cache a value containing ${what}; ${SUPPORTED}` }, what)
  }
})

test('codec errors carry their code', () => {
  assert.throws(() => encode({ n: 1n }), { name: 'TypeError', code: 'ERR_CACHE_UNSUPPORTED_VALUE' })
  assert.throws(() => decode(Buffer.from([3, 2, 0, 0, 0, 0x7b, 0x7d])), { code: 'ERR_CACHE_ENTRY_FORMAT' })
  const entry = (header) => {
    const json = Buffer.from(JSON.stringify(header))
    const prefix = Buffer.alloc(5)
    prefix[0] = 2
    prefix.writeUInt32LE(json.length, 1)
    return Buffer.concat([prefix, json])
  }
  for (const mark of [['?'], ['n', 'x'], ['h', 1, [[5, 0]]], ['t', 0, 0, 'NoSuchArray']]) {
    assert.throws(() => decode(entry({ '\u0000': mark })), { code: 'ERR_CACHE_ENTRY_CORRUPT' }, JSON.stringify(mark))
  }
})

// ---------------------------------------------------------------------------------------
// Property-style: random nested values of every supported kind, 1,000 of them.

function generator(seed) {
  let x = seed >>> 0
  const next = () => {
    x = (x + 0x6d2b79f5) >>> 0
    let t = x
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const int = (n) => Math.floor(next() * n)
  const pick = (list) => list[int(list.length)]
  const chars = ['a', 'Z', '0', ' ', '"', '\\', '\n', '\u0000', 'é', '日', '😀', '\uD800', '\uDC00', '\uFFFD', '<', '/']
  const string = () => {
    const n = pick([0, 1, 5, 40, 255, 256, 300, 2000])
    let s = ''
    while (s.length < n) s += next() < 0.8 ? 'abcdefghij'.slice(0, 1 + int(10)) : pick(chars)
    return s
  }
  const number = () => pick([0, -0, 1, -1, 0.1, 1e21, -1e-7, 2 ** 53, NaN, Infinity, -Infinity, int(1e9) / 7])
  const key = () => pick(['a', 'b', '__proto__', '\u0000', 'constructor', 'toJSON', '0', '10', '', 'x y', '😀', string().slice(0, 8)])
  const bytes = (n) => Uint8Array.from({ length: n }, () => int(256))
  const typed = () => {
    const n = int(6)
    const buf = bytes(8 * n + 8).buffer
    return pick([
      () => Buffer.from(bytes(pick([0, 3, 300]))),
      () => bytes(n),
      () => new Int16Array(buf, 2, n),
      () => new Float64Array(buf, 8, n),
      () => new Float32Array(Array.from({ length: n }, number)),
      () => new BigInt64Array(buf, 0, n),
      () => new BigUint64Array(buf, 8, n),
      () => new Uint8ClampedArray(buf, 1, n),
      () => new DataView(buf, 1, n),
      () => buf,
    ])()
  }
  const value = (depth) => {
    const leaf = depth <= 0 || next() < 0.35
    if (leaf) {
      return pick([string, number, () => next() < 0.5, () => null, () => undefined, () => new Date(pick([0, 1.7e12, NaN, -1])), typed])()
    }
    switch (int(6)) {
      case 0: {
        const o = {}
        for (let i = int(6); i > 0; i--) Object.defineProperty(o, key(), { value: value(depth - 1), enumerable: true, writable: true, configurable: true })
        return o
      }
      case 1: {
        const o = Object.create(null)
        for (let i = int(4); i > 0; i--) o[key()] = value(depth - 1)
        return o
      }
      case 2: {
        const a = Array.from({ length: int(6) }, () => value(depth - 1))
        if (next() < 0.4) delete a[int(a.length)] // a hole
        if (next() < 0.2) a.length += int(3) // trailing holes
        return a
      }
      case 3:
        return new Map(Array.from({ length: int(4) }, () => [next() < 0.7 ? key() : value(depth - 1), value(depth - 1)]))
      case 4:
        return new Set(Array.from({ length: int(4) }, () => value(depth - 1)))
      default:
        return { kind: 'APP_PAGE', html: string(), rscData: typed(), segmentData: new Map([['/x', Buffer.from(bytes(int(40)))]]), postponed: undefined, status: 200 }
    }
  }
  return value
}

/** deepStrictEqual, except that an invalid Date equals an invalid Date. */
function sameValue(actual, expected, seen = new Set()) {
  if (expected instanceof Date && Number.isNaN(expected.getTime())) {
    assert.ok(actual instanceof Date && Number.isNaN(actual.getTime()))
    return
  }
  if (expected === null || typeof expected !== 'object' || seen.has(expected)) return assert.deepStrictEqual(actual, expected)
  seen.add(expected)
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected))
  if (expected instanceof Map) {
    assert.equal(actual.size, expected.size)
    const a = [...actual]
    ;[...expected].forEach(([k, v], i) => {
      sameValue(a[i][0], k, seen)
      sameValue(a[i][1], v, seen)
    })
  } else if (expected instanceof Set) {
    assert.equal(actual.size, expected.size)
    const a = [...actual]
    ;[...expected].forEach((v, i) => sameValue(a[i], v, seen))
  } else if (ArrayBuffer.isView(expected) || expected instanceof ArrayBuffer) {
    assert.deepStrictEqual(actual, expected)
  } else {
    if (Array.isArray(expected)) assert.equal(actual.length, expected.length)
    assert.deepEqual(Object.keys(actual), Object.keys(expected))
    for (const k of Object.keys(expected)) {
      assert.ok(Object.hasOwn(actual, k))
      sameValue(actual[k], expected[k], seen)
    }
  }
}

test('property: 1,000 random nested values round-trip exactly, with plain prototypes', () => {
  const value = generator(0x5eed)
  for (let i = 0; i < 1000; i++) {
    const v = value(4)
    let d
    try {
      d = roundTrip(v)
      sameValue(d, v)
    } catch (err) {
      err.message = `case ${i}: ${err.message}`
      throw err
    }
  }
})
