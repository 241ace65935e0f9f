'use strict'

// Every public function and constructor against bad arguments (issue #12 §3).
//
// The surfaces come from the type declarations: index.d.ts (the native exports, plus the two
// the generated loader exports without declaring them, declared in HIDDEN_DTS below) and the
// lib/*.d.ts behind package.json "exports". Each declared function, constructor, method and
// static must have an entry in SURFACES (and every entry must still exist): a new export cannot
// be added without bad-argument coverage. For each parameter, and each field of an options
// object, the rows are generated from its declared type: wrong types, NaN, negative, fractional
// and huge numbers, empty and detached buffers, missing values, an extra option and an extra
// argument. SURFACES adds what a type cannot say: valid arguments, which group runs it, the
// unit of a number, and the policy where Next's own behaviour is the rule:
//
//   strict   (default) the call throws, or its promise rejects, with a JS Error whose `code` is
//            ERR_INVALID_ARG_TYPE / ERR_INVALID_ARG_VALUE (or the domain code a row names) and
//            whose message names the argument; nothing observable changes (process.env, the
//            store's or tier's stats, files).
//   quiet    Next's cache-handler contract, "never throw into a render": the call settles with
//            a miss (null / undefined / 0), logs one warning naming the argument, changes nothing.
//   next-env @rs/next-native/env is a drop-in for @next/env: each row also runs against
//            @next/env 16.4.6. Where it returns, ours must return the same (value, process.env,
//            log calls); where it throws a coded error, ours throws the same; where it throws an
//            uncoded TypeError (minified internals), ours throws a TypeError with an ERR_ code
//            naming the argument. Ours never changes process.env when it throws.
//   http     image-handler requests: the status and body Next 16.4's own
//            ImageOptimizerCache.validateParams gives for the same query (400 + Next's text).
//   next-quality  image-loader `quality` and closestQuality: the `q` Next 16.4's own
//            findClosestQuality gives (it never rejects a quality); where it throws an uncoded
//            TypeError, ours throws a coded one naming the argument.
//
// Rows run in child processes, one per group (the test file re-runs itself with
// NEXT_NATIVE_BAD_ARGS_GROUP set), so a native abort fails the row it happened in, with the
// signal, and the group goes on in a new child from the next row. Every await is bounded
// (ASYNC_TIMEOUT_MS); a child silent for SILENCE_TIMEOUT_MS is killed and its row fails as hung.
//
// A row that fails only because of a fix pending in a file another engineer owns is marked
// `todo` (TODO below, by row id, with the fix it waits for); a TODO entry that matches no row
// fails the coverage test, so the list cannot go stale.

const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')

const ROOT = path.join(__dirname, '..')
const CHILD_GROUP = process.env.NEXT_NATIVE_BAD_ARGS_GROUP
const ASYNC_TIMEOUT_MS = 10_000
const SILENCE_TIMEOUT_MS = 60_000
const INVALID = ['ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE']

// ---------------------------------------------------------------------------------------
// The declarations.

const ts = require('typescript')

/** Exports the generated loader adds without a declaration (`#[napi(skip_typescript)]`). */
const HIDDEN_DTS = `
export declare function envLoadFiles(contents: Array<string>, env: Record<string, string>): Array<EnvFileOutcome>
export declare function envExplain(files: Array<EnvFileInput>, env: Record<string, string>): EnvExplanation
`
/** Runtime exports with no rows, and why. */
const NOT_CALLED = {
  __panicForTests: 'test hook that panics on purpose (binding.test.js)',
  __panicForTestsSync: 'test hook that panics on purpose (binding.test.js)',
  './cache-handler #fromBuild': "get()'s helper for the build output; not part of Next's handler interface",
}

const SUBPATHS = {
  '.': { dts: 'index.d.ts', js: 'index.js' },
  './build-id': { dts: 'lib/build-id.d.ts', js: 'lib/build-id.js' },
  './cache-handler': { dts: 'lib/cache-handler.d.ts', js: 'lib/cache-handler.js' },
  './cache-handlers': { dts: 'lib/cache-handlers.d.ts', js: 'lib/cache-handlers.js' },
  './config': { dts: 'lib/config.d.ts', js: 'lib/config.js' },
  './env': { dts: 'lib/env.d.ts', js: 'lib/env.js' },
  './image-handler': { dts: 'lib/image-handler.d.ts', js: 'lib/image-handler.js' },
  './image-loader': { dts: 'lib/image-loader.d.ts', js: 'lib/image-loader.js' },
}

function parseDts(file, extra = '') {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8') + extra
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const types = new Map()
  const decls = []
  const walk = (node) => {
    if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) types.set(node.name.text, node)
    else if (ts.isModuleDeclaration(node) && node.body && ts.isModuleBlock(node.body)) node.body.statements.forEach(walk)
    else decls.push(node)
  }
  sf.statements.forEach(walk)
  return { file, sf, types, decls }
}

const params = (dts, node) =>
  node.parameters.map((p) => ({
    name: p.name.getText(dts.sf),
    rest: !!p.dotDotDotToken,
    required: !p.questionToken && !p.initializer && !p.dotDotDotToken,
    type: typeOf(dts, p.type),
  }))

/**
 * A declared type as a small descriptor: { k, nullable } with k one of string, number, boolean,
 * bytes, array (of), record (of), object (fields, methods, calls), literal (values), union
 * (of), signal, function, promise, any.
 */
function typeOf(dts, node, depth = 0) {
  const any = { k: 'any' }
  if (!node || depth > 6) return any
  const K = ts.SyntaxKind
  switch (node.kind) {
    case K.StringKeyword:
      return { k: 'string' }
    case K.NumberKeyword:
      return { k: 'number' }
    case K.BooleanKeyword:
      return { k: 'boolean' }
    case K.UndefinedKeyword:
    case K.VoidKeyword:
      return { k: 'undefined' }
    case K.ParenthesizedType:
    case K.TypeOperator:
      return typeOf(dts, node.type, depth)
    case K.LiteralType:
      if (node.literal.kind === K.NullKeyword) return { k: 'null' }
      return { k: 'literal', values: [node.literal.kind === K.StringLiteral ? node.literal.text : node.literal.getText(dts.sf) === 'true'] }
    case K.ArrayType:
      return { k: 'array', of: typeOf(dts, node.elementType, depth + 1) }
    case K.FunctionType:
      return { k: 'function' }
    case K.TypeLiteral:
    case K.InterfaceDeclaration:
      return objectType(dts, node, depth)
    case K.IntersectionType: {
      const parts = node.types.map((t) => typeOf(dts, t, depth + 1)).filter((t) => t.k === 'object')
      return { k: 'object', fields: parts.flatMap((p) => p.fields), methods: parts.flatMap((p) => p.methods), calls: parts.flatMap((p) => p.calls) }
    }
    case K.UnionType: {
      const members = node.types.map((t) => typeOf(dts, t, depth + 1))
      const nullable = members.some((m) => m.k === 'null' || m.k === 'undefined')
      const rest = members.filter((m) => m.k !== 'null' && m.k !== 'undefined')
      if (rest.length === 1) return { ...rest[0], nullable }
      if (rest.every((m) => m.k === 'literal')) return { k: 'literal', values: rest.flatMap((m) => m.values), nullable }
      return { k: 'union', of: rest, nullable }
    }
    case K.TypeReference: {
      const name = node.typeName.getText(dts.sf).split('.').pop()
      const args = node.typeArguments || []
      if (name === 'Array') return { k: 'array', of: typeOf(dts, args[0], depth + 1) }
      if (name === 'Record') return { k: 'record', of: typeOf(dts, args[1], depth + 1) }
      if (name === 'Uint8Array' || name === 'Buffer') return { k: 'bytes' }
      if (name === 'AbortSignal') return { k: 'signal' }
      if (name === 'Promise') return { k: 'promise', of: typeOf(dts, args[0], depth + 1) }
      const decl = dts.types.get(name)
      if (!decl) return { ...any, name }
      if (ts.isTypeAliasDeclaration(decl)) return { ...typeOf(dts, decl.type, depth + 1), name }
      return { ...objectType(dts, decl, depth), name }
    }
    default:
      return any
  }
}

function objectType(dts, node, depth) {
  const t = { k: 'object', fields: [], methods: [], calls: [] }
  for (const m of node.members) {
    if (ts.isPropertySignature(m)) {
      t.fields.push({ name: m.name.getText(dts.sf), required: !m.questionToken, type: typeOf(dts, m.type, depth + 1) })
    } else if (ts.isMethodSignature(m)) {
      t.methods.push({ name: m.name.getText(dts.sf), params: params(dts, m) })
    } else if (ts.isCallSignatureDeclaration(m)) {
      t.calls.push({ params: params(dts, m) })
    } else if (ts.isIndexSignatureDeclaration(m)) {
      t.index = typeOf(dts, m.type, depth + 1)
    }
  }
  if (node.heritageClauses) {
    for (const h of node.heritageClauses) for (const e of h.types) t.base = e.expression.getText(dts.sf)
  }
  return t
}

/**
 * Every callable a subpath declares: `{ id, params }`. Ids: `fn`, `new Class`, `Class#method`,
 * `Class.static` for the root; `./sub fn` etc. for subpaths, and `./sub fn()` for the call
 * signature of what `fn` returns, `./sub fn().member` for its methods.
 */
function surfacesOf(subpath) {
  const { dts: file } = SUBPATHS[subpath]
  const dts = parseDts(file, subpath === '.' ? HIDDEN_DTS : '')
  const prefix = subpath === '.' ? '' : `${subpath} `
  const out = []
  const returned = (id, typeNode) => {
    const t = typeOf(dts, typeNode)
    if (t.k !== 'object' || !t.name) return
    for (const c of t.calls) out.push({ id: `${id}()`, params: c.params, dts })
    for (const m of t.methods) out.push({ id: `${id}().${m.name}`, params: m.params, dts })
  }
  for (const node of dts.decls) {
    if (ts.isFunctionDeclaration(node) && node.name) {
      const isDefault = (ts.getCombinedModifierFlags(node) & ts.ModifierFlags.Default) !== 0
      const id = `${prefix}${isDefault ? 'default' : node.name.text}`
      out.push({ id, params: params(dts, node), dts })
      if (node.type && ts.isFunctionTypeNode(node.type)) out.push({ id: `${id}()`, params: params(dts, node.type), dts })
      else returned(id, node.type)
    } else if (ts.isClassDeclaration(node) && node.name) {
      const cls = subpath === '.' ? node.name.text : subpath
      const ctor = node.members.find(ts.isConstructorDeclaration)
      out.push({ id: `${prefix}new ${subpath === '.' ? cls : ''}`.trim(), params: ctor ? params(dts, ctor) : [], dts, noConstructor: !ctor })
      for (const m of node.members) {
        if (!ts.isMethodDeclaration(m)) continue
        const isStatic = m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)
        const name = m.name.getText(dts.sf)
        out.push({ id: subpath === '.' ? `${cls}${isStatic ? '.' : '#'}${name}` : `${subpath} ${isStatic ? '.' : '#'}${name}`, params: params(dts, m), dts })
      }
    } else if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) {
        const t = typeOf(dts, d.type)
        if (t.k !== 'object') continue
        for (const m of t.methods) out.push({ id: `${prefix}.${m.name}`, params: m.params, dts })
      }
    }
  }
  return out.map((s) => ({ ...s, subpath }))
}

// ---------------------------------------------------------------------------------------
// Values.

const OMIT = Symbol('omit')
const FOREIGN_CLASSES = ['Request', 'Response', 'IncomingMessage', 'ServerResponse', 'ReadableStream', 'URL']
const detached = () => {
  const buf = new Uint8Array(16)
  structuredClone(buf.buffer, { transfer: [buf.buffer] })
  return buf
}

/** Numbers by what they count: the values that must be refused, beyond NaN, -1, ±Infinity and a string. */
const NUMBER_KINDS = {
  ms: [['huge (1e300)', 1e300]],
  bytes: [['fractional (1.5)', 1.5], ['huge (2**53)', 2 ** 53], ['huge (1e300)', 1e300]],
  pixels: [['zero', 0], ['fractional (2.5)', 2.5], ['huge (2**32)', 2 ** 32], ['huge (1e300)', 1e300]],
  pixelLimit: [['zero', 0], ['fractional (2.5)', 2.5], ['huge (2**53)', 2 ** 53], ['huge (1e300)', 1e300]],
  quality: [['zero', 0], ['101', 101], ['fractional (2.5)', 2.5]],
  seconds: [['huge (1e300)', 1e300]],
  count: [['fractional (2.5)', 2.5]],
  threads: [['zero', 0], ['fractional (2.5)', 2.5], ['1025', 1025]],
  none: [],
}
const NUMBER_KIND_OF = {
  now: 'ms', lastModified: 'ms', expireAt: 'ms', staleAt: 'ms', expiredAt: 'ms', timestamp: 'ms',
  maxBytes: 'bytes', compressionMinBytes: 'bytes', maxMemory: 'bytes', hotMemory: 'bytes', maximumDiskCacheSize: 'bytes',
  maxMemoryCacheSize: 'bytes', maximumResponseBody: 'bytes',
  width: 'pixels', maxInputPixels: 'pixelLimit', imgOptMaxInputPixels: 'none',
  quality: 'quality',
  expireSeconds: 'seconds', expire: 'seconds', minimumCacheTTL: 'none', imgOptTimeoutInSeconds: 'none', fetchTimeoutInSeconds: 'none',
  concurrency: 'count', maximumRedirects: 'count', imgOptConcurrency: 'count', threads: 'threads',
} // prettier-ignore

/** Does `v` fit descriptor `t`? (Only to pick union values that fit no member.) */
function fits(t, v) {
  switch (t.k) {
    case 'string':
      return typeof v === 'string'
    case 'number':
      return typeof v === 'number'
    case 'boolean':
      return typeof v === 'boolean'
    case 'literal':
      return t.values.includes(v)
    case 'array':
      return Array.isArray(v)
    case 'object':
    case 'record':
      return v !== null && typeof v === 'object'
    case 'function':
      return typeof v === 'function'
    default:
      return true
  }
}

/**
 * The bad values for a slot of type `t` named `name`: `{ label, make(ctx), expect? }`, where
 * `expect` overrides the policy's expectation (e.g. a domain code).
 */
function badValues(t, name, required, kinds = {}) {
  const out = []
  const add = (label, value, more) => out.push({ label, make: typeof value === 'function' ? value : () => value, ...more })
  if (t.k === 'any' && !t.name) return out // `any`/`unknown`: every value is valid
  if (required && !t.nullable) {
    add('missing', OMIT)
    add('null', null)
  }
  switch (t.k) {
    case 'string':
      add('a number', 42)
      add('an object', {})
      break
    case 'number': {
      add('a string', '1')
      add('NaN', NaN)
      add('negative (-1)', -1)
      add('Infinity', Infinity)
      for (const [label, v] of NUMBER_KINDS[kinds[name] ?? NUMBER_KIND_OF[name] ?? 'ms']) add(label, v)
      break
    }
    case 'boolean':
      add('a string', 'yes')
      add('a number', 1)
      break
    case 'bytes':
      add('a string', 'abc')
      add('an array', [1, 2, 3])
      add('an ArrayBuffer', () => new ArrayBuffer(4))
      add('a Float64Array', () => new Float64Array(2))
      add('a detached Uint8Array', detached)
      if (name === 'input') add('empty', () => new Uint8Array(0), { code: 'ERR_IMAGE_EMPTY' })
      break
    case 'array':
      add('a string', 'x')
      add('an object', {})
      if (t.of.k !== 'any' && t.of.k !== 'object') {
        // Every bad number (the unit matters per element); the first bad value otherwise.
        const elems = badValues(t.of, name, false, kinds)
        for (const elem of t.of.k === 'number' ? elems : elems.slice(0, 1)) add(`[${elem.label}]`, (ctx) => [elem.make(ctx)])
      }
      break
    case 'record':
      add('a number', 42)
      add('a string', 'x')
      if (t.of.k === 'string') add('a number value', { A: 42 })
      break
    case 'object':
      add('a number', 42)
      add('a string', 'x')
      break
    case 'literal':
      if (typeof t.values[0] === 'string') add('another string', 'nope')
      add('a number', 42)
      break
    case 'union':
      for (const [label, v] of [['a number', 42], ['a boolean', true], ['a string', 'x'], ['an object', {}]]) {
        if (!t.of.some((m) => fits(m, v))) add(label, v)
      }
      break
    case 'signal':
    case 'function':
      add('a number', 42)
      add('a string', 'x')
      add('an object', {})
      break
    default:
      // A type from elsewhere: a class (Request, IncomingMessage, ...) or another file's
      // options interface; a number or a string is neither.
      add('a number', 42)
      add('a string', 'x')
      if (FOREIGN_CLASSES.includes(t.name)) add('a plain object', {})
  }
  return out
}

// ---------------------------------------------------------------------------------------
// Fixtures (built in the child, on demand).

/** A w×h RGB PNG, encoded here so the test depends on no image file. */
function png(w = 16, h = 16) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc = (buf) => {
    let c = 0xffffffff
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const out = Buffer.alloc(body.length + 8)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc(body), body.length + 4)
    return out
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(w, 0)
  ihdr.writeUInt32BE(h, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  const raw = Buffer.alloc((w * 3 + 1) * h)
  for (let y = 0; y < h; y++) for (let x = 0; x < w * 3; x++) raw[y * (w * 3 + 1) + 1 + x] = (x * 7 + y * 13) & 0xff
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))])
}

const TMP_DIRS = []
function tmpdir(tag) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `next-native-bad-args-${tag.replace(/\W/g, '')}-`))
  TMP_DIRS.push(dir)
  return dir
}

/** Files under `dir`, relative, sorted (a state snapshot). */
function listFiles(dir) {
  const out = []
  const walk = (d, rel) => {
    let entries
    try {
      entries = fs.readdirSync(d, { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) walk(path.join(d, e.name), r)
      else out.push(r)
    }
  }
  walk(dir, '')
  return out.sort()
}

const req = (p) => require(path.join(ROOT, p))

// ---------------------------------------------------------------------------------------
// The table: one entry per declared surface (the coverage test checks both directions).
//
//   group   the child process it runs in
//   self    (ctx) => the object a method is called on / the function a `fn()` id calls
//   valid   (ctx) => valid arguments (default: from VALID_BY_NAME and the declared types)
//   policy  'strict' | 'quiet' | 'next-env', or (path) => one of them per argument
//   miss    what a quiet call settles with
//   kinds   { name: number kind } where a name means something else on this surface
//   rows    (ctx-free) extra rows: { label, run(ctx, mod), expect }

const now = () => Date.now()
const VALID_BY_NAME = {
  input: (ctx) => ctx.png,
  width: () => 8,
  dir: (ctx) => ctx.dir,
  before: (ctx) => ctx.manifestJson,
  after: (ctx) => ctx.manifestJson,
  root: (ctx) => path.join(ctx.tmp, 'opened'),
  maxBytes: () => 1e6,
  writable: () => true,
  key: () => 'k',
  tags: () => ['t'],
  extraTags: () => [],
  now,
  lastModified: now,
  expireAt: () => now() + 60_000,
  value: () => Buffer.from('value'),
  states: () => [{ tag: 't', staleAt: now() }],
  tag: () => 't',
  contents: () => ['A=1'],
  files: () => [{ path: '.env', contents: 'A=1' }],
  env: () => ({}),
}

const nativeImage = { group: 'native-image' }
const SURFACES = {
  optimizeImage: nativeImage,
  optimizeImageSync: nativeImage,
  imageMetadata: nativeImage,
  blurPlaceholder: nativeImage,
  blurPlaceholderSync: nativeImage,
  // `bytes`, not `input`: any bytes get an answer, empty ones too (null / false).
  detectImageType: { ...nativeImage, valid: (ctx) => [ctx.png] },
  isAnimatedImage: { ...nativeImage, valid: (ctx) => [ctx.png] },
  negotiateImageType: {
    ...nativeImage,
    valid: () => [['image/webp'], 'image/webp'],
    rows: [
      {
        label: 'accept = a header with a parameter without a value',
        run: (ctx, mod) => mod.negotiateImageType(['image/webp'], 'image/webp;x'),
        expect: { kind: 'error', codes: ['ERR_INVALID_ARG_VALUE'], names: /\baccept\b/ },
      },
    ],
  },

  hashTree: { group: 'native-build-id' },
  hashTreeSync: { group: 'native-build-id' },
  explainManifests: {
    group: 'native-build-id',
    rows: ['before', 'after'].map((side) => ({
      label: `${side} = text that is not JSON`,
      run: (ctx, mod) => (side === 'before' ? mod.explainManifests('not json', ctx.manifestJson) : mod.explainManifests(ctx.manifestJson, 'not json')),
      expect: { kind: 'error', codes: ['ERR_BUILD_ID_MANIFEST_JSON'], names: new RegExp(`\\b${side}\\b`) },
    })),
  },
  nativeInfo: { group: 'native-build-id' },
  envLoadFiles: { group: 'native-build-id' },
  envExplain: { group: 'native-build-id' },

  'new NativeCacheStore': {
    group: 'native-cache',
    rows: [
      {
        label: 'called without new (on a plain object)',
        run: (ctx, mod) => mod.NativeCacheStore.call(ctx.plain, { maxBytes: 1e6 }),
        expect: { kind: 'error', codes: ['ERR_CONSTRUCT_CALL_REQUIRED'], names: /\bnew\b/ },
      },
    ],
  },
  ...Object.fromEntries(
    ['get', 'judge', 'set', 'setAsync', 'delete', 'clear', 'revalidateTags', 'expiration', 'tagStates', 'applyTagStates', 'stats'].map((m) => [
      `NativeCacheStore#${m}`,
      { group: 'native-cache', self: (ctx) => (m === 'clear' ? ctx.scratch : ctx.store) },
    ]),
  ),

  openDiskTier: { group: 'native-disk' },
  'new NativeDiskTier': { group: 'native-disk' },
  ...Object.fromEntries(
    ['get', 'put', 'delete', 'recordTags', 'loadTags', 'stats'].map((m) => [`NativeDiskTier#${m}`, { group: 'native-disk', self: (ctx) => ctx.tier }]),
  ),

  // ./env: @next/env's behaviour is the rule (see the header).
  './env loadEnvConfig': { group: 'env', policy: 'next-env', valid: (ctx) => [ctx.dir, false, ctx.log, true] },
  './env processEnv': {
    group: 'env',
    policy: 'next-env',
    valid: (ctx) => [[{ path: '.env', contents: 'BA_P=1\nBA_SELF=$BA_SELF', env: {} }], ctx.dir, ctx.log, true],
  },
  './env resetEnv': { group: 'env', policy: 'next-env', valid: () => [] },
  './env updateInitialEnv': { group: 'env', policy: 'next-env', valid: () => [{ BA_U: 'u' }] },
  './env explainEnv': { group: 'env', policy: 'strict', valid: (ctx) => [ctx.dir] },

  ...Object.fromEntries(
    ['buildId', 'buildIdSync', 'deploymentId', 'deploymentIdSync', 'hashTree', 'hashTreeSync', 'hashProject', 'hashProjectSync', 'createGenerateBuildId'].map(
      (f) => [`./build-id ${f}`, { group: 'build-id', valid: (ctx) => [{ dir: ctx.dir, nextVersion: '16.4.6' }] }],
    ),
  ),
  './build-id generateBuildId': { group: 'build-id', valid: () => [] },
  './build-id createGenerateBuildId()': { group: 'build-id', self: (ctx) => ctx.generate, valid: () => [] },
  './build-id explain': {
    group: 'build-id',
    valid: (ctx) => [ctx.manifest, ctx.manifestJson],
    rows: [
      { label: 'before = text that is not JSON', run: (ctx, mod) => mod.explain('not json', ctx.manifest), expect: { kind: 'error', codes: ['ERR_BUILD_ID_MANIFEST_JSON'], names: /\bbefore\b/ } },
      { label: 'after = text that is not JSON', run: (ctx, mod) => mod.explain(ctx.manifest, 'not json'), expect: { kind: 'error', codes: ['ERR_BUILD_ID_MANIFEST_JSON'], names: /\bafter\b/ } },
      { label: 'after = an object that is no manifest', run: (ctx, mod) => mod.explain(ctx.manifest, {}), expect: { kind: 'error', codes: ['ERR_BUILD_ID_MANIFEST_JSON'], names: /\bafter\b/ } },
      {
        label: 'after = a manifest whose digest does not match',
        run: (ctx, mod) => mod.explain(ctx.manifest, { ...ctx.manifest, salt_sha256: 'f'.repeat(64) }),
        expect: { kind: 'error', codes: ['ERR_BUILD_ID_MANIFEST_DIGEST_MISMATCH'], names: /\bafter\b/ },
      },
    ],
  },

  // ./cache-handler: Next constructs the class per request and calls get/set/revalidateTag
  // inside renders, which must never throw (README "Faults"); create/validateOptions are config.
  './cache-handler new': {
    group: 'cache-handler',
    valid: () => [{}],
    policy: (p) => (p === 'ctx' ? 'strict' : 'quiet'),
    miss: 'instance',
  },
  './cache-handler #get': { group: 'cache-handler', self: (ctx) => ctx.handler, valid: () => ['k', { kind: 'FETCH', tags: [] }], policy: 'quiet', miss: null },
  './cache-handler #set': {
    group: 'cache-handler',
    self: (ctx) => ctx.handler,
    valid: () => ['k', { kind: 'FETCH', data: { body: 'x', headers: {}, url: 'https://a' }, revalidate: 60 }, { kind: 'FETCH', tags: ['t'] }],
    policy: 'quiet',
    miss: undefined,
    rows: [
      { label: 'data = a value containing a bigint', run: (ctx) => ctx.handler.set('k2', { kind: 'FETCH', data: { n: 1n } }, { kind: 'FETCH' }), expect: { kind: 'quiet', miss: undefined, names: /bigint/ } },
      {
        label: 'data = a circular value',
        run: (ctx) => {
          const data = { kind: 'FETCH' }
          data.self = data
          return ctx.handler.set('k2', data, { kind: 'FETCH' })
        },
        expect: { kind: 'quiet', miss: undefined, names: /circular/ },
      },
      { label: 'data = a function', run: (ctx) => ctx.handler.set('k2', () => {}, {}), expect: { kind: 'quiet', miss: undefined, names: /function/ } },
    ],
  },
  './cache-handler #revalidateTag': { group: 'cache-handler', self: (ctx) => ctx.handler, valid: () => ['t'], policy: 'quiet', miss: undefined },
  './cache-handler #resetRequestCache': { group: 'cache-handler', self: (ctx) => ctx.handler, valid: () => [] },
  './cache-handler .stats': { group: 'cache-handler', valid: () => [] },
  './cache-handler .getCacheStats': { group: 'cache-handler', valid: () => [] },
  './cache-handler .disconnect': { group: 'cache-handler', valid: () => [] },
  './cache-handler .create': { group: 'cache-handler', valid: () => [{ maxMemory: 1e6 }], rows: redisRows('create') },
  './cache-handler .validateOptions': { group: 'cache-handler', valid: () => [{}], rows: redisRows('validateOptions') },

  // ./cache-handlers: the 'use cache' handler, same contract.
  './cache-handlers .get': { group: 'cache-handlers', valid: () => ['k', []], policy: 'quiet', miss: undefined },
  './cache-handlers .set': {
    group: 'cache-handlers',
    valid: () => ['k', Promise.resolve(useCacheEntry())],
    policy: 'quiet',
    miss: undefined,
    rows: [
      ...[
        ['a rejected promise', () => Promise.reject(Object.assign(new Error('render failed'), { code: 'ERR_TEST' })), /render failed/],
        ['an entry without value', () => Promise.resolve({ ...useCacheEntry(), value: undefined }), /\bvalue\b/],
        ['an entry whose value is not a stream', () => Promise.resolve({ ...useCacheEntry(), value: 'x' }), /\bvalue\b/],
        ['an entry whose stream errors', () => Promise.resolve({ ...useCacheEntry(), value: new ReadableStream({ pull: (c) => c.error(new Error('stream broke')) }) }), /stream broke/],
        ['an entry with tags = a number', () => Promise.resolve({ ...useCacheEntry(), tags: 42 }), /\btags\b/],
        ['an entry with timestamp = NaN', () => Promise.resolve({ ...useCacheEntry(), timestamp: NaN }), /\btimestamp\b/],
        ['an entry with expire = -1', () => Promise.resolve({ ...useCacheEntry(), expire: -1 }), /\bexpire\b/],
        ['an entry with expire = a string', () => Promise.resolve({ ...useCacheEntry(), expire: '60' }), /\bexpire\b/],
      ].map(([what, entry, names]) => ({
        label: `pendingEntry = ${what}`,
        run: (ctx, mod) => mod.set('k3', entry()),
        expect: { kind: 'quiet', miss: undefined, names },
      })),
    ],
  },
  './cache-handlers .refreshTags': { group: 'cache-handlers', valid: () => [] },
  './cache-handlers .getExpiration': { group: 'cache-handlers', valid: () => [['t']], policy: 'quiet', miss: 0 },
  './cache-handlers .updateTags': { group: 'cache-handlers', valid: () => [['t']], policy: 'quiet', miss: undefined },
  './cache-handlers .expireTags': { group: 'cache-handlers', valid: () => ['t'], policy: 'quiet', miss: undefined },
  './cache-handlers .receiveExpiredTags': { group: 'cache-handlers', valid: () => ['t'], policy: 'quiet', miss: undefined, warn: false },
  './cache-handlers .getCacheStats': { group: 'cache-handlers', valid: () => [] },
  './cache-handlers .disconnect': { group: 'cache-handlers', valid: () => [] },
  './cache-handlers .create': { group: 'cache-handlers', valid: () => [{}], rows: redisRows('create') },

  // ./config: next.config time, so a mistake throws; unknown options too (strictOptions).
  './config withNextNative': { group: 'config', valid: () => [{}, { dir: ROOT }], strictOptions: true },

  // ./image-handler
  './image-handler createImageHandler': { group: 'image-handler', valid: (ctx) => [ctx.imageConfig()] },
  './image-handler createImageHandler()': {
    group: 'image-handler',
    self: (ctx) => ctx.handler,
    valid: () => [new Request('http://localhost/api/image?url=%2Fa.png&w=64&q=75', { headers: { accept: 'image/webp' } })],
    rows: httpRows(),
  },
  './image-handler createImageHandler().node': {
    group: 'image-handler',
    self: (ctx) => ctx.handler,
    valid: (ctx) => [ctx.nodeReq('/api/image?url=%2Fa.png&w=64&q=75'), ctx.nodeRes()],
  },
  './image-handler createImageHandler().handle': {
    group: 'image-handler',
    self: (ctx) => ctx.handler,
    valid: () => ['GET', '?url=%2Fa.png&w=64&q=75', (name) => (name === 'accept' ? 'image/webp' : null)],
  },
  './image-handler createImageHandler().close': { group: 'image-handler', self: (ctx) => ctx.closable, valid: () => [] },
  './image-handler createImageHandler().stats': { group: 'image-handler', self: (ctx) => ctx.handler, valid: () => [] },
  './image-handler toNodeHandler': { group: 'image-handler', valid: (ctx) => [ctx.handler] },
  './image-handler toNodeHandler()': {
    group: 'image-handler',
    self: (ctx) => ctx.wrapped,
    valid: (ctx) => [ctx.nodeReq('/api/image?url=%2Fa.png&w=64&q=75'), ctx.nodeRes()],
  },
  './image-handler detectContentType': { group: 'image-handler', valid: (ctx) => [ctx.png] },
  './image-handler isAnimated': { group: 'image-handler', valid: (ctx) => [ctx.png] },
  './image-handler isPrivateIp': { group: 'image-handler', valid: () => ['10.0.0.1'] },
  './image-handler negotiateMimeType': { group: 'image-handler', valid: () => [['image/webp'], 'image/webp'] },
  './image-handler globToRegExp': { group: 'image-handler', valid: () => ['/a/**', true] },
  './image-handler contentDisposition': { group: 'image-handler', valid: () => ['a.png', 'inline'] },

  // ./image-loader: quality follows Next's own findClosestQuality (never an error).
  './image-loader default': {
    group: 'image-loader',
    valid: () => [{ src: '/a.png', width: 640 }],
    kinds: { width: 'loaderWidth' },
    policy: (p) => (p === 'props.quality' ? 'next-quality' : 'strict'),
    rows: [{ label: 'props.src = empty', run: (ctx, mod) => mod.default({ src: '', width: 640 }), expect: { kind: 'error', codes: INVALID, names: /\bsrc\b/ } }],
  },
  './image-loader createImageLoader': { group: 'image-loader', valid: () => ['/img', { qualities: [50, 75] }], kinds: { qualities: 'quality' } },
  './image-loader createImageLoader()': {
    group: 'image-loader',
    self: (ctx) => ctx.loader,
    valid: () => [{ src: '/a.png', width: 640 }],
    kinds: { width: 'loaderWidth' },
    policy: (p) => (p === 'props.quality' ? 'next-quality' : 'strict'),
  },
  './image-loader closestQuality': { group: 'image-loader', valid: () => [80, [50, 75]], policy: 'next-quality', kinds: { qualities: 'quality' } },
}
NUMBER_KINDS.loaderWidth = [['zero', 0], ['fractional (2.5)', 2.5], ['huge (1e300)', 1e300]]

function useCacheEntry() {
  const t = Date.now()
  return { value: new ReadableStream({ start: (c) => (c.enqueue(new Uint8Array([1, 2, 3])), c.close()) }), tags: ['t'], stale: 0, timestamp: t, expire: 300, revalidate: 60 }
}

/** The Redis options' own checks (the union `false | RedisOptions` is not generated). */
function redisRows(fn) {
  const url = 'redis://127.0.0.1:1'
  return [
    ['redis = {} (no url, client or cluster)', {}, /\burl\b/],
    ['redis.url = a number', { url: 42 }, /\burl\b/],
    ['redis.cluster = []', { cluster: [] }, /\bcluster\b/],
    ['redis.client = {}', { client: {} }, /\bclient\b/],
    ['redis.keyPrefix = "{x}"', { url, keyPrefix: '{x}' }, /\bkeyPrefix\b/],
    ['redis.timeout = NaN', { url, timeout: NaN }, /\btimeout\b/],
    ['redis.timeout = -1', { url, timeout: -1 }, /\btimeout\b/],
    ['redis.maxTtl = Infinity', { url, maxTtl: Infinity }, /\bmaxTtl\b/],
  ].map(([label, redis, names]) => ({ label: `options.${label}`, run: (ctx, mod) => mod[fn]({ redis }), expect: { kind: 'error', codes: INVALID, names } }))
}

/**
 * Bad `/_next/image` queries: the expected status and body come from Next 16.4's own
 * `ImageOptimizerCache.validateParams` (400 + its text; 500 where it throws), run in the child.
 */
function httpRows() {
  const ok = 'url=%2Fa.png&w=64&q=75'
  const queries = [
    '',
    'w=64&q=75',
    'url=%2Fa.png&url=%2Fb.png&w=64&q=75',
    `url=%2F${'a'.repeat(3100)}&w=64&q=75`,
    'url=%2F%2Fevil.example%2Fa.png&w=64&q=75',
    'url=%2F_next%2Fimage%3Furl%3Dx&w=64&q=75',
    'url=%2Fa.png%3Fx%3D1&w=64&q=75',
    'url=ftp%3A%2F%2Fa.example%2Fa.png&w=64&q=75',
    'url=https%3A%2F%2Fnot-allowed.example%2Fa.png&w=64&q=75',
    'url=%3A%2F%2F&w=64&q=75',
    'url=%2Fa.png&q=75',
    'url=%2Fa.png&w=64&w=128&q=75',
    'url=%2Fa.png&w=abc&q=75',
    'url=%2Fa.png&w=-1&q=75',
    'url=%2Fa.png&w=0&q=75',
    'url=%2Fa.png&w=NaN&q=75',
    'url=%2Fa.png&w=2.5&q=75',
    'url=%2Fa.png&w=1e300&q=75',
    'url=%2Fa.png&w=99999999999999999999999&q=75',
    'url=%2Fa.png&w=65&q=75',
    'url=%2Fa.png&w=64',
    'url=%2Fa.png&w=64&q=75&q=80',
    'url=%2Fa.png&w=64&q=abc',
    'url=%2Fa.png&w=64&q=0',
    'url=%2Fa.png&w=64&q=101',
    'url=%2Fa.png&w=64&q=-1',
    'url=%2Fa.png&w=64&q=2.5',
    'url=%2Fa.png&w=64&q=50',
    'url=%2Fa.png&w=64&q=0075',
  ]
  const rows = queries.map((q) => ({ label: `GET ?${q.length > 80 ? `${q.slice(0, 40)}…(${q.length} chars)` : q}`, http: { search: `?${q}`, accept: 'image/webp' } }))
  rows.push({ label: `GET ?${ok} with a malformed Accept`, http: { search: `?${ok}`, accept: 'image/webp;q' } })
  return rows.map((r) => ({
    label: r.label,
    run: async (ctx) => {
      const res = await ctx.handler(new Request(`http://localhost/api/image${r.http.search}`, { headers: { accept: r.http.accept } }))
      return { status: res.status, text: res.status >= 400 ? await res.text() : '' }
    },
    oracle: (ctx) => ctx.nextValidate(r.http.search, r.http.accept),
    expect: { kind: 'oracle' },
  }))
}

// ---------------------------------------------------------------------------------------
// Rows.

/** A valid value for a slot of type `t` named `name` (only required object fields are set). */
function validValue(t, name, ctx) {
  if (VALID_BY_NAME[name]) return VALID_BY_NAME[name](ctx)
  switch (t.k) {
    case 'string':
      return 'x'
    case 'number':
      return 1
    case 'boolean':
      return true
    case 'bytes':
      return Buffer.from('x')
    case 'array':
      return []
    case 'record':
      return {}
    case 'literal':
      return t.values[0]
    case 'object':
      return Object.fromEntries(t.fields.filter((f) => f.required).map((f) => [f.name, validValue(f.type, f.name, ctx)]))
    default:
      return undefined
  }
}

/**
 * The slots of a surface's arguments: each parameter, the fields of an options object, the
 * fields of an array's object elements. `set(args, value, ctx)` puts a value in the slot of a
 * valid argument list (OMIT deletes it).
 */
function slotsOf(surface) {
  const slots = []
  // `get(args)` reads the slot's current value, so a field is changed inside the surface's own
  // valid argument (not a generic one) and nested sets compose.
  const visit = (t, name, pathName, required, get, set, depth) => {
    slots.push({ t, name, path: pathName, required, set })
    if (depth >= 2) return
    const base = (args, ctx) => get(args) ?? validValue(t, name, ctx)
    if (t.k === 'object' && t.fields.length) {
      for (const f of t.fields) {
        const fget = (args) => get(args)?.[f.name]
        visit(f.type, f.name, `${pathName}.${f.name}`, f.required, fget, (args, v, ctx) => {
          const o = { ...base(args, ctx) }
          if (v === OMIT) delete o[f.name]
          else o[f.name] = v
          set(args, o, ctx)
        }, depth + 1)
      }
    } else if (t.k === 'array' && t.of.k === 'object' && t.of.fields.length) {
      for (const f of t.of.fields) {
        const fget = (args) => get(args)?.[0]?.[f.name]
        visit(f.type, f.name, `${pathName}[0].${f.name}`, f.required, fget, (args, v, ctx) => {
          const o = { ...(get(args)?.[0] ?? validValue(t.of, name, ctx)) }
          if (v === OMIT) delete o[f.name]
          else o[f.name] = v
          set(args, [o], ctx)
        }, depth + 1)
      }
    }
  }
  surface.params.forEach((p, i) => {
    const t = p.rest && p.type.k === 'array' ? p.type.of : p.type
    const get = (args) => args[i]
    visit(t, p.name, p.name, p.required, get, (args, v) => {
      if (p.rest) args.splice(i, args.length - i, ...(v === OMIT ? [] : [v]))
      else if (v === OMIT) args[i] = undefined
      else args[i] = v
    }, 0)
  })
  return slots
}

const leafName = (p) => p.replace(/\[0\]/g, '').split('.').pop()

/** Every row of every surface: `{ id, group, surface, run(ctx, mod), expect, oracle?, todo? }`. */
function buildRows() {
  const rows = []
  const problems = []
  const declared = Object.keys(SUBPATHS).flatMap(surfacesOf)
  for (const s of declared) {
    const conf = SURFACES[s.id]
    if (!conf) {
      problems.push(`${s.id} is declared in ${SUBPATHS[s.subpath].dts} but has no entry in SURFACES`)
      continue
    }
    const policyOf = (p) => (typeof conf.policy === 'function' ? conf.policy(p) : conf.policy || 'strict')
    const add = (label, row) => rows.push({ id: `${s.id}: ${label}`, group: conf.group, surface: s.id, subpath: s.subpath, ...row })
    const validArgs = (ctx) => {
      if (conf.valid) return conf.valid(ctx)
      const args = s.params.map((p) => (p.required ? validValue(p.type, p.name, ctx) : undefined))
      while (args.length && args[args.length - 1] === undefined) args.pop()
      return args
    }
    const call = (ctx, mod, args) => invoke(s, conf, ctx, mod, args)
    if (s.noConstructor) {
      add('new (no public constructor)', { run: (ctx, mod) => call(ctx, mod, []), expect: { kind: 'error', codes: ['ERR_ILLEGAL_CONSTRUCTOR'], names: /\bopen\w+\(/ } })
      continue
    }
    const okKind = policyOf('') === 'next-env' ? 'next-env' : 'ok'
    add('valid arguments', { run: (ctx, mod) => call(ctx, mod, validArgs(ctx)), expect: { kind: okKind } })
    add('extra argument', {
      run: (ctx, mod) => {
        const args = validArgs(ctx)
        while (args.length < s.params.length) args.push(undefined)
        if (!s.params.some((p) => p.rest)) args.push({ unexpected: true })
        return call(ctx, mod, args)
      },
      expect: { kind: okKind === 'ok' ? 'same' : okKind },
    })
    for (const slot of slotsOf(s)) {
      const policy = policyOf(slot.path)
      const bads = badValues(slot.t, slot.name, slot.required, conf.kinds)
      const isTopObject = slot.t.k === 'object' && !slot.path.includes('.') && slot.t.fields.length
      if (isTopObject) {
        add(`${slot.path} with an extra option`, {
          run: (ctx, mod) => {
            const args = validArgs(ctx)
            const i = s.params.findIndex((p) => p.name === slot.path)
            slot.set(args, { ...(args[i] ?? validValue(slot.t, slot.name, ctx)), unexpectedOption: 1 }, ctx)
            return call(ctx, mod, args)
          },
          expect: conf.strictOptions ? { kind: 'error', codes: INVALID, names: /\bunexpectedOption\b/ } : { kind: okKind === 'ok' ? 'same' : okKind },
        })
      }
      for (const bad of bads) {
        const names = new RegExp(`\\b${leafName(slot.path).replace(/[$]/g, '\\$')}\\b`)
        const expect =
          policy === 'strict'
            ? { kind: 'error', codes: bad.code ? [bad.code] : INVALID, names }
            : policy === 'quiet'
              ? { kind: 'quiet', miss: conf.miss, names, warn: conf.warn !== false }
              : { kind: policy, names }
        const row = {
          run: (ctx, mod) => {
            const args = validArgs(ctx)
            slot.set(args, bad.make(ctx), ctx)
            return call(ctx, mod, args)
          },
          expect,
        }
        if (policy === 'next-quality') {
          row.run = (ctx, mod) => {
            const args = validArgs(ctx)
            slot.set(args, bad.make(ctx), ctx)
            try {
              return { value: call(ctx, mod, args) }
            } catch (err) {
              return { error: errorInfo(err) }
            }
          }
          row.oracle = (ctx) => {
            const args = validArgs(ctx)
            slot.set(args, bad.make(ctx), ctx)
            return ctx.nextQuality(s.id, args)
          }
          row.expect = { kind: 'oracle-quality', names }
        }
        add(`${slot.path} = ${bad.label}`, row)
      }
    }
    for (const extra of conf.rows || []) add(extra.label, { run: extra.run, expect: extra.expect, oracle: extra.oracle })
  }
  const declaredIds = new Set(declared.map((s) => s.id))
  for (const id of Object.keys(SURFACES)) if (!declaredIds.has(id)) problems.push(`SURFACES has ${id}, which no .d.ts declares`)
  return { rows, problems, declared }
}

/** Calls a surface the way its id says. */
function invoke(s, conf, ctx, mod, args) {
  const id = s.subpath === '.' ? s.id : s.id.slice(s.subpath.length + 1)
  let m
  if ((m = /^new (\w+)$/.exec(id))) return new mod[m[1]](...args)
  if (id === 'new') return new mod(...args)
  if ((m = /^(\w+)#(\w+)$/.exec(id)) || (m = /^#(\w+)$/.exec(id))) {
    const self = conf.self(ctx)
    return self[m[m.length - 1]](...args)
  }
  if ((m = /^(\w+)\.(\w+)$/.exec(id))) return mod[m[1]][m[2]](...args)
  if ((m = /^\.(\w+)$/.exec(id))) return mod[m[1]](...args)
  if (/^\w+\(\)$/.test(id)) return conf.self(ctx)(...args)
  if ((m = /^\w+\(\)\.(\w+)$/.exec(id))) return conf.self(ctx)[m[1]](...args)
  if (id === 'default') return (mod.default ?? mod)(...args)
  return mod[id](...args)
}

// ---------------------------------------------------------------------------------------
// The child: runs one group's rows in order and reports each on fd 3.

const TIMEOUT = Symbol('timeout')
function bounded(promise) {
  let timer
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(TIMEOUT), ASYNC_TIMEOUT_MS)))]).finally(() => clearTimeout(timer))
}

function errorInfo(e) {
  const isObject = e !== null && (typeof e === 'object' || typeof e === 'function')
  return {
    isError: e instanceof Error,
    ctor: isObject ? e.constructor?.name : typeof e,
    name: isObject ? e.name : undefined,
    code: isObject ? e.code : undefined,
    message: String(isObject ? e.message : e).slice(0, 600),
  }
}

function summarize(v, depth = 0) {
  if (v === undefined) return '[undefined]'
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v)
  if (typeof v === 'bigint' || typeof v === 'symbol') return String(v)
  if (typeof v === 'function') return '[function]'
  if (ArrayBuffer.isView(v)) return `[${v.constructor.name} ${v.byteLength}]`
  if (v instanceof Response) return `[Response ${v.status}]`
  if (depth >= 3) return `[${v.constructor?.name || 'object'}]`
  if (Array.isArray(v)) return v.slice(0, 8).map((x) => summarize(x, depth + 1))
  return Object.fromEntries(Object.keys(v).slice(0, 40).map((k) => [k, summarize(v[k], depth + 1)]))
}

/** process.env without this harness's own variables. */
function envSnapshot() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEXT_NATIVE_BAD_ARGS_')).sort(([a], [b]) => (a < b ? -1 : 1)))
}

function replaceEnv(snapshot) {
  for (const k of Object.keys(process.env)) if (!k.startsWith('NEXT_NATIVE_BAD_ARGS_') && !(k in snapshot)) delete process.env[k]
  Object.assign(process.env, snapshot)
}

/** A small project: a file, a package.json, a .gitignore'd file. */
function project() {
  const dir = tmpdir('project')
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"p"}\n')
  fs.writeFileSync(path.join(dir, 'a.txt'), 'a\n')
  return dir
}

const recorder = (logs) => {
  const fmt = (a) => (a instanceof Error ? `${a.constructor.name}: ${a.message}` : typeof a === 'string' ? a : String(a))
  const log = (...args) => logs.push(args.map(fmt))
  return { info: log, warn: log, error: log, log }
}

/** Per group: `setup(ctx)` once, `prep(ctx)` before each row, `state(ctx)` before and after. */
const GROUPS = {
  'native-image': {
    setup: (ctx) => {
      ctx.png = png()
    },
  },
  'native-build-id': {
    setup: (ctx) => {
      ctx.dir = project()
      ctx.manifestJson = req('index.js').hashTreeSync({ dir: ctx.dir }).manifestJson
    },
  },
  'native-cache': {
    setup: (ctx) => {
      const { NativeCacheStore } = req('index.js')
      ctx.store = new NativeCacheStore({ maxBytes: 1e6 })
      ctx.scratch = new NativeCacheStore({ maxBytes: 1e6 })
      ctx.plain = {}
    },
    state: (ctx) => ({ store: ctx.store.stats(), plain: Object.getOwnPropertyNames(ctx.plain) }),
  },
  'native-disk': {
    setup: async (ctx) => {
      ctx.tier = await req('index.js').openDiskTier({ root: path.join(ctx.tmp, 'tier'), maxBytes: 1e6, writable: true })
    },
    state: (ctx) => ({ tier: ctx.tier.stats(), files: listFiles(ctx.tmp) }),
  },
  env: {
    setup: (ctx) => {
      ctx.dir = tmpdir('env')
      fs.writeFileSync(path.join(ctx.dir, '.env'), 'BA_A=1\nBA_SELF=$BA_SELF\n')
      fs.writeFileSync(path.join(ctx.dir, '.env.local'), 'BA_L=local\n')
      ctx.pristine = { ...process.env }
      ctx.impl = process.env.NEXT_NATIVE_BAD_ARGS_IMPL === 'upstream' ? require.resolve('@next/env') : path.join(ROOT, 'lib/env.js')
    },
    // A fresh module (module state is per instance) after a first load, then a later write
    // that a reload must not lose when it fails.
    prep: (ctx) => {
      replaceEnv(ctx.pristine)
      delete require.cache[ctx.impl]
      ctx.module = require(ctx.impl)
      ctx.module.loadEnvConfig(ctx.dir, false, { info() {}, error() {} })
      process.env.BA_LATER = 'later'
    },
    mod: (ctx) => ctx.module,
  },
  'build-id': {
    setup: (ctx) => {
      ctx.dir = project()
      process.chdir(ctx.dir)
      const mod = req('lib/build-id.js')
      ctx.manifest = mod.hashTreeSync({ dir: ctx.dir, nextVersion: '16.4.6' })
      ctx.manifestJson = JSON.stringify(ctx.manifest)
      ctx.generate = mod.createGenerateBuildId({ dir: ctx.dir, nextVersion: '16.4.6' })
    },
  },
  config: {},
  'cache-handler': {
    setup: (ctx) => {
      const Handler = req('lib/cache-handler.js')
      // The first construction with a budget fixes the process-wide store (8 MiB).
      ctx.handler = new Handler({ maxMemoryCacheSize: 8 * 2 ** 20 })
    },
    prep: () => globalThis[Symbol.for('@rs/next-native/cache-warned')]?.clear(),
    state: () => req('lib/cache-handler.js').stats(),
  },
  'cache-handlers': {
    setup: async () => {
      await req('lib/cache-handlers.js').get('warm-up', [])
    },
    prep: () => globalThis[Symbol.for('@rs/next-native/cache-warned')]?.clear(),
    state: () => req('lib/cache-handlers.js').getCacheStats(),
  },
  'image-handler': {
    setup: (ctx) => {
      const mod = req('lib/image-handler.js')
      ctx.png = png()
      const publicDir = path.join(ctx.tmp, 'public')
      fs.mkdirSync(publicDir)
      fs.writeFileSync(path.join(publicDir, 'a.png'), ctx.png)
      ctx.imageConfig = () => ({ publicDir, distDir: path.join(ctx.tmp, '.next'), logger: recorder(ctx.logs) })
      ctx.handler = mod.createImageHandler(ctx.imageConfig())
      ctx.closable = mod.createImageHandler(ctx.imageConfig())
      ctx.nodeReq = (url) => Object.assign(new (require('node:http').IncomingMessage)(new (require('node:net').Socket)()), { url, method: 'GET', headers: { accept: 'image/webp' } })
      ctx.nodeRes = () => ({ statusCode: 200, setHeader() {}, end() {} })
      // A Web handler made elsewhere, wrapped for node:http.
      ctx.wrapped = mod.toNodeHandler(async () => new Response('ok'))
      const { ImageOptimizerCache } = require('next/dist/server/image-optimizer')
      const querystring = require('node:querystring')
      ctx.nextValidate = (search, accept) => {
        const c = ctx.handler.config
        const nextConfig = { basePath: c.basePath, images: { ...c } }
        try {
          const r = ImageOptimizerCache.validateParams({ headers: { accept } }, querystring.parse(search.slice(1)), nextConfig, false)
          return r.errorMessage ? { status: 400, text: r.errorMessage } : { valid: true }
        } catch {
          return { status: 500, text: 'Internal Server Error' }
        }
      }
    },
    state: (ctx) => ({ cache: listFiles(path.join(ctx.tmp, '.next')) }),
  },
  'image-loader': {
    setup: (ctx) => {
      const mod = req('lib/image-loader.js')
      ctx.loader = mod.createImageLoader('/img', { qualities: [50, 75] })
      const { findClosestQuality } = require('next/dist/shared/lib/find-closest-quality')
      // What Next's own loader would put in `q` for the same arguments.
      ctx.nextQuality = (id, args) => {
        if (id.endsWith('closestQuality')) return findClosestQuality(args[0], { qualities: args[1] })
        const config = id.endsWith('createImageLoader()') ? { qualities: [50, 75] } : undefined
        return String(findClosestQuality(args[0]?.quality, config))
      }
    },
  },
}

async function runChild(group) {
  const report = (msg) => fs.writeSync(3, `${JSON.stringify(msg)}\n`)
  const only = rowsOfGroup(group)
  const skip = Number(process.env.NEXT_NATIVE_BAD_ARGS_SKIP || 0)
  const conf = GROUPS[group]
  const ctx = { tmp: group === '#selftest' ? os.tmpdir() : tmpdir(group), logs: [] }
  let current = null
  process.on('unhandledRejection', (reason) => current?.unhandled.push(`unhandled rejection: ${errorInfo(reason).message}`))
  process.on('uncaughtException', (err) => current?.unhandled.push(`uncaught exception: ${errorInfo(err).message}`))
  try {
    await conf.setup?.(ctx)
    for (let i = skip; i < only.length; i++) {
      const row = only[i]
      report({ type: 'begin', index: i, id: row.id })
      current = { unhandled: [] }
      await conf.prep?.(ctx)
      const mod = conf.mod ? conf.mod(ctx) : row.subpath && req(SUBPATHS[row.subpath].js)
      const state = async () => ({ env: envSnapshot(), ...(conf.state ? await conf.state(ctx) : {}) })
      const before = await state()
      const logs = (ctx.logs = [])
      const rec = recorder(logs)
      const saved = { warn: console.warn, error: console.error, log: console.log, info: console.info }
      Object.assign(console, { warn: rec.warn, error: rec.error, log: rec.log, info: rec.info })
      ctx.log = rec
      let outcome
      try {
        const value = row.run(ctx, mod)
        if (value && typeof value.then === 'function') {
          try {
            outcome = { how: 'resolved', value: summarizeFor(group, await bounded(value)) }
          } catch (err) {
            outcome = err === TIMEOUT ? { how: 'timeout' } : { how: 'rejected', error: errorInfo(err) }
          }
        } else {
          outcome = { how: 'returned', value: summarizeFor(group, value) }
        }
      } catch (err) {
        outcome = { how: 'threw', error: errorInfo(err) }
      }
      // Let stray promises settle, so their rejections are blamed on this row.
      await new Promise((resolve) => setTimeout(resolve, 10))
      Object.assign(console, saved)
      const after = await state()
      let oracle
      if (row.oracle) {
        try {
          oracle = { value: summarize(await bounded(Promise.resolve(row.oracle(ctx)))) }
        } catch (err) {
          oracle = { error: errorInfo(err) }
        }
      }
      // Temporary paths differ between children (the ./env rows compare two).
      const logText = logs.map((l) => l.join(' ').split(ctx.tmp).join('<tmp>').split(ctx.dir || '<no dir>').join('<dir>'))
      report({ type: 'end', index: i, id: row.id, outcome, before, after, logs: logText, unhandled: current.unhandled, oracle })
    }
  } catch (err) {
    report({ type: 'fatal', error: String(err && err.stack) })
    process.exit(70)
  }
  report({ type: 'done' })
  process.chdir(os.tmpdir())
  for (const dir of TMP_DIRS) fs.rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}

/** Env results compare by what a caller sees, not by object identity. */
function summarizeFor(group, v) {
  if (group !== 'env' || v === null || typeof v !== 'object') return summarize(v)
  if (Array.isArray(v)) return { processEnv: summarize(v[1] ?? null) }
  if (v.loadedEnvFiles) return { parsedEnv: summarize(v.parsedEnv ?? null), files: v.loadedEnvFiles.map((f) => ({ path: f.path, env: summarize(f.env) })) }
  return summarize(v)
}

let cachedRows
function allRows() {
  return (cachedRows ??= buildRows())
}

/** The harness itself: a row that aborts the process and one that hangs must fail alone. */
const SELFTEST_ROWS = [
  { id: 'aborts', run: () => process.abort() },
  { id: 'hangs', run: () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) },
  { id: 'returns', run: () => 1 },
]
GROUPS['#selftest'] = {}

const rowsOfGroup = (group) => (group === '#selftest' ? SELFTEST_ROWS : allRows().rows.filter((r) => r.group === group))

/** The runtime exports, as surface ids (run in a child: loading the addon is its business). */
function runtimeIds() {
  const ids = []
  const protoMethods = (cls) => Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(cls.prototype, n).value === 'function')
  const isClass = (f) => typeof f === 'function' && f.prototype && protoMethods(f).length > 0
  for (const [subpath, { js }] of Object.entries(SUBPATHS)) {
    const mod = req(js)
    const p = subpath === '.' ? '' : `${subpath} `
    if (typeof mod === 'function' && isClass(mod)) {
      ids.push(`${p}new`, ...protoMethods(mod).map((m) => `${p}#${m}`))
      for (const k of Object.keys(mod)) if (typeof mod[k] === 'function' && mod[k] !== mod) ids.push(`${p}.${k}`)
      continue
    }
    if (typeof mod === 'function') ids.push(`${p}default`)
    for (const k of Object.keys(mod)) {
      const v = mod[k]
      if (typeof v !== 'function' || (k === 'default' && v === mod)) continue
      if (isClass(v) && subpath === '.') ids.push(`new ${k}`, ...protoMethods(v).map((m) => `${k}#${m}`))
      else ids.push(subpath === './cache-handlers' ? `${p}.${k}` : `${p}${k}`)
    }
  }
  return ids
}

// ---------------------------------------------------------------------------------------
// The parent: node --test.

function spawnChild(group, skip, extraEnv, onMessage, silenceMs = SILENCE_TIMEOUT_MS) {
  return new Promise((resolve) => {
    const env = { ...process.env, ...extraEnv, NEXT_NATIVE_BAD_ARGS_GROUP: group, NEXT_NATIVE_BAD_ARGS_SKIP: String(skip), RUST_BACKTRACE: '0' }
    for (const k of ['REDIS_URL', 'NODE_TEST_CONTEXT']) delete env[k]
    // Outside the checkout: a native crash may leave a core file in the working directory.
    const child = spawn(process.execPath, [__filename], { cwd: os.tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
    let stderr = ''
    let buffered = ''
    let current = null
    let hung = false
    let timer
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        hung = true
        child.kill('SIGKILL')
      }, silenceMs)
    }
    arm()
    child.stdout.on('data', () => {})
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)))
    child.stdio[3].on('data', (chunk) => {
      arm()
      buffered += chunk
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffered.slice(0, nl))
        buffered = buffered.slice(nl + 1)
        if (msg.type === 'begin') current = msg
        else if (msg.type === 'end') current = null
        onMessage(msg)
      }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, hung, current, stderr })
    })
  })
}

/**
 * Runs a group to the end, restarting after the row that crashed or hung. A child that fails
 * before its first row (the addon being rebuilt by someone else, say) is retried once.
 */
async function runGroup(group, rows, extraEnv = {}, silenceMs = SILENCE_TIMEOUT_MS) {
  const results = new Map()
  let skip = 0
  let retried = false
  while (skip < rows.length) {
    let done = false
    let fatal = null
    const exit = await spawnChild(
      group,
      skip,
      extraEnv,
      (msg) => {
        if (msg.type === 'end') results.set(msg.id, msg)
        else if (msg.type === 'done') done = true
        else if (msg.type === 'fatal') fatal = msg.error
      },
      silenceMs,
    )
    if (done) break
    if (!exit.current) {
      if (!retried && results.size === 0) {
        retried = true
        await new Promise((resolve) => setTimeout(resolve, 10_000))
        continue
      }
      const why = fatal || `child exited (code ${exit.code}, signal ${exit.signal}) outside a row: ${exit.stderr}`
      for (const r of rows.slice(skip)) if (!results.has(r.id)) results.set(r.id, { crash: `group setup failed: ${why}` })
      break
    }
    const how = exit.hung ? `hung: no progress for ${silenceMs / 1000} s, killed` : `the child process died (code ${exit.code}, signal ${exit.signal})`
    results.set(exit.current.id, { crash: `${how} while running this row\n${exit.stderr}` })
    skip = exit.current.index + 1
  }
  return results
}

const okHow = (o) => o.how === 'returned' || o.how === 'resolved'
const show = (o) => (o.error ? `${o.how} ${o.error.ctor} [${o.error.code}] ${o.error.message}` : `${o.how} ${JSON.stringify(o.value)?.slice(0, 300)}`)
const shape = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

function checkCommon(r) {
  assert.ok(r, 'no result: the child never reached this row')
  if (r.crash) assert.fail(r.crash)
  assert.deepEqual(r.unhandled, [], 'stray errors after the call')
  assert.notEqual(r.outcome.how, 'timeout', `did not settle within ${ASYNC_TIMEOUT_MS} ms`)
}

function checkError(o, codes, names) {
  assert.ok(!okHow(o), `expected an error, got: ${show(o)}`)
  assert.ok(o.error.isError, `not an Error: ${show(o)}`)
  assert.ok(codes.includes(o.error.code), `code ${o.error.code}, expected ${codes.join(' or ')}: ${o.error.message}`)
  assert.match(o.error.message, names, `the message does not name the argument (${names})`)
}

function checkRow(row, r, results) {
  checkCommon(r)
  const e = row.expect
  const o = r.outcome
  switch (e.kind) {
    case 'ok':
      assert.ok(okHow(o), `valid arguments failed: ${show(o)}`)
      break
    case 'same': {
      assert.ok(okHow(o), `an extra argument or option changed the outcome: ${show(o)}`)
      const valid = results.get(`${row.surface}: valid arguments`)
      if (valid?.outcome && okHow(valid.outcome)) assert.equal(shape(o.value), shape(valid.outcome.value), 'the result differs from the valid call')
      break
    }
    case 'error':
      checkError(o, e.codes, e.names)
      assert.deepEqual(r.after, r.before, 'a failing call changed state')
      break
    case 'quiet':
      if (e.miss === 'instance') assert.ok(o.how === 'returned', `the constructor threw: ${show(o)}`)
      else {
        assert.ok(o.how === 'resolved', `Next's handler contract is to never throw: ${show(o)}`)
        assert.deepEqual(o.value, summarize(e.miss), `expected a miss (${String(e.miss)})`)
      }
      assert.deepEqual(r.after, r.before, 'a refused call changed state')
      if (e.warn !== false) assert.ok(r.logs.some((l) => e.names.test(l)), `no warning names the argument (${e.names}); logged: ${JSON.stringify(r.logs)}`)
      break
    case 'oracle': {
      assert.ok(r.oracle && !r.oracle.error, `Next's own check failed: ${JSON.stringify(r.oracle)}`)
      if (r.oracle.value.valid) assert.equal(o.value?.status, 200, show(o))
      else assert.deepEqual(o.value, r.oracle.value, "not Next's status and text")
      break
    }
    case 'oracle-quality': {
      const ours = o.value // { value } or { error } (the row catches)
      if (r.oracle.error) {
        assert.ok(ours.error, `Next throws (${r.oracle.error.message}); ours returned ${JSON.stringify(ours.value)}`)
        checkError({ how: 'threw', error: ours.error }, INVALID, e.names)
      } else {
        assert.ok(!ours.error, `Next returns ${JSON.stringify(r.oracle.value)}; ours threw ${JSON.stringify(ours.error)}`)
        const q = typeof ours.value === 'string' && ours.value.includes('?') ? new URLSearchParams(ours.value.split('?')[1]).get('q') : ours.value
        assert.deepEqual(q, r.oracle.value, 'q differs from what Next computes')
      }
      break
    }
    default:
      assert.fail(`unknown expectation ${e.kind}`)
  }
}

/** ./env rows: compared with @next/env's outcome for the same call, in the same state. */
function checkEnvRow(row, ours, upstream) {
  checkCommon(ours)
  if (row.expect.kind !== 'next-env') return checkRow(row, ours, new Map())
  assert.ok(upstream && !upstream.crash, `@next/env did not run this row: ${upstream && upstream.crash}`)
  const o = ours.outcome
  const u = upstream.outcome
  if (!okHow(u)) {
    assert.ok(!okHow(o), `@next/env throws (${show(u)}); ours: ${show(o)}`)
    assert.equal(o.error.ctor, u.error.ctor, `@next/env throws a ${u.error.ctor}; ours: ${show(o)}`)
    if (u.error.code) {
      assert.equal(o.error.code, u.error.code)
      assert.equal(o.error.message, u.error.message)
    } else {
      checkError(o, INVALID, row.expect.names)
    }
    assert.deepEqual(ours.after.env, ours.before.env, 'process.env changed although the call threw')
    return
  }
  assert.ok(okHow(o), `@next/env returns; ours: ${show(o)}`)
  assert.deepEqual(o.value, u.value, 'a different result than @next/env')
  assert.deepEqual(ours.after.env, upstream.after.env, 'process.env differs from @next/env after the call')
  const firstArgs = (logs) => logs.map((l) => l.replace(/ (\w*Error): .*$/s, ' $1'))
  assert.deepEqual(firstArgs(ours.logs), firstArgs(upstream.logs), 'log calls differ from @next/env')
}

function defineTests() {
  const { test, describe, before } = require('node:test')
  const { rows, problems } = allRows()

  test('every declared export has rows, every row a declared export, every todo a row', async () => {
    assert.deepEqual(problems, [])
    const ids = new Set(rows.map((r) => r.id))
    assert.deepEqual(Object.keys(TODO).filter((id) => !ids.has(id)), [], 'TODO entries for rows that do not exist')
    const declared = new Set(rows.map((r) => r.surface))
    const runtime = await new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [__filename], { cwd: ROOT, env: { ...process.env, NEXT_NATIVE_BAD_ARGS_GROUP: '#exports' }, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (c) => (out += c))
      child.on('exit', (code, signal) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`listing the exports failed: ${code ?? signal}`))))
    })
    const undeclared = runtime.filter((id) => !declared.has(id) && !(id in NOT_CALLED))
    assert.deepEqual(undeclared, [], 'runtime exports that no .d.ts declares (declare them, or add to HIDDEN_DTS / NOT_CALLED)')
  })

  test('the harness: a row that aborts or hangs fails alone, with the signal; the group goes on', async () => {
    const results = await runGroup('#selftest', SELFTEST_ROWS, {}, 3000)
    assert.match(results.get('aborts').crash, /died \(code null, signal SIGABRT\) while running this row/)
    assert.match(results.get('hangs').crash, /hung: no progress for 3 s, killed while running this row/)
    assert.equal(results.get('returns').outcome.how, 'returned')
  })

  const groups = [...new Set(rows.map((r) => r.group))]
  for (const group of groups) {
    const list = rows.filter((r) => r.group === group)
    describe(`bad arguments: ${group}`, () => {
      let results
      let upstream
      before(async () => {
        if (group === 'env') {
          ;[results, upstream] = await Promise.all([runGroup(group, list, { NEXT_NATIVE_BAD_ARGS_IMPL: 'ours' }), runGroup(group, list, { NEXT_NATIVE_BAD_ARGS_IMPL: 'upstream' })])
        } else {
          results = await runGroup(group, list)
        }
      })
      const fixed = []
      for (const row of list) {
        test(row.id, { todo: TODO[row.id] }, () => {
          if (group === 'env') checkEnvRow(row, results.get(row.id), upstream.get(row.id))
          else checkRow(row, results.get(row.id), results)
          if (TODO[row.id]) fixed.push(row.id)
        })
      }
      // Like a strict xfail: a fix lands together with the removal of its TODO entries.
      test(`${group}: no row marked todo passes`, () => {
        assert.deepEqual(fixed, [], 'these rows pass now: remove them from TODO')
      })
    })
  }
}

// ---------------------------------------------------------------------------------------
// Rows waiting for a fix in a file another engineer owns: `pending({ reason: { surface:
// { argument: [values] } } })`. The fixes are written out in the report of #12 §3.

function pending(spec) {
  const out = {}
  for (const [reason, surfaces] of Object.entries(spec)) {
    for (const [surface, slots] of Object.entries(surfaces)) {
      for (const [slot, values] of Object.entries(slots)) for (const v of values) out[`${surface}: ${slot ? `${slot} = ` : ''}${v}`] = reason
    }
  }
  return out
}

const TODO = pending({})

if (CHILD_GROUP === '#exports') {
  process.stdout.write(JSON.stringify(runtimeIds()))
} else if (CHILD_GROUP) {
  runChild(CHILD_GROUP)
} else {
  defineTests()
}
