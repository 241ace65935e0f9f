'use strict'

// Accept negotiation: which output format a request gets. Mirrors `server/image-optimizer.js`
// `getSupportedMimeType`: @hapi/accept 6 `mediaType(accept, formats)`, then Next keeps the
// answer only if the header names it literally, so wildcards never select webp/avif.
// Refuses a malformed parameter (`;x`, `;x=`) as hapi's Boom does (the handler answers 500),
// with ERR_INVALID_ARG_VALUE, and arguments of the wrong type (ERR_INVALID_ARG_TYPE).
//
// The same rule, step for step, is crates/image/src/negotiate.rs (`negotiate_mime_type`),
// which `optimizeImage({ accept, formats })` uses. This copy stays in JS for one reason: the
// route needs the answer for its cache key before it has fetched anything, and no binding
// exposes the native rule on its own (a new export needs its rows in
// __test__/bad-arguments.test.js first). __test__/image.test.js runs both over the same
// headers, so they cannot drift apart.

const { invalidArgType, invalidArgValue, validateString } = require('../errors')

const VALID_MEDIA = /^(?:\*\/\*)|(?:[\w!#$%&'*+\-.^`|~]+\/\*)|(?:[\w!#$%&'*+\-.^`|~]+\/[\w!#$%&'*+\-.^`|~]+)$/

function hapiMediaTypes(header, preferences) {
  const original = header
  const quoted = {}
  header = header || '*/*'
  if (header.includes('"')) {
    let n = 0
    header = header.replace(/="([^"]*)"/g, (_, value) => {
      const key = `"${++n}`
      quoted[key] = value
      return `=${key}`
    })
  }
  header = header.replace(/[ \t]/g, '')
  const parts = header.split(',')
  const selections = []
  const map = {}
  for (let pos = 0; pos < parts.length; ++pos) {
    if (!parts[pos]) continue
    const params = parts[pos].split(';')
    const token = params.shift().toLowerCase()
    if (!VALID_MEDIA.test(token)) continue
    const entry = { token, params: {}, exts: {}, pos }
    let target = 'params'
    for (const param of params) {
      const kv = param.split('=')
      if (kv.length !== 2 || !kv[1]) throw invalidArgValue('accept', 'is an invalid Accept header (a parameter without a value)', original)
      let value = kv[1]
      if (kv[0] === 'q' || kv[0] === 'Q') {
        target = 'exts'
        value = parseFloat(value)
        if (!Number.isFinite(value) || value > 1 || (value < 0.001 && value !== 0)) value = 1
        entry.q = value
      } else {
        if (value[0] === '"') value = `"${quoted[value]}"`
        entry[target][kv[0]] = value
      }
    }
    const keys = Object.keys(entry.params)
    entry.original = [''].concat(keys.map((k) => `${k}=${entry.params[k]}`)).join(';')
    entry.specificity = keys.length
    if (entry.q === undefined) entry.q = 1
    ;[entry.type, entry.subtype] = entry.token.split('/')
    map[entry.token] = entry
    if (entry.q) selections.push(entry)
  }
  const inner = (a, b, key) => (a[key] === '*' ? 1 : b[key] === '*' ? -1 : a[key] < b[key] ? -1 : 1)
  selections.sort((a, b) => {
    if (b.q !== a.q) return b.q - a.q
    if (a.type !== b.type) return inner(a, b, 'type')
    if (a.subtype !== b.subtype) return inner(a, b, 'subtype')
    if (a.specificity !== b.specificity) return b.specificity - a.specificity
    return a.pos - b.pos
  })

  const byType = Object.create(null)
  const lowered = Object.create(null)
  let any = false
  for (const pref of preferences) {
    const lower = pref.toLowerCase()
    lowered[lower] = pref
    const [type, subtype] = lower.split('/')
    if (type === '*') {
      any = true
      continue
    }
    byType[type] = byType[type] || Object.create(null)
    byType[type][subtype] = pref
  }
  const out = []
  for (const sel of selections) {
    const { type, subtype } = map[sel.token]
    const subtypes = byType[type]
    if (type === '*') {
      for (const pref of Object.keys(lowered)) if (!map[pref]) out.push(lowered[pref])
      if (any) out.push('*/*')
      continue
    }
    if (any) {
      out.push((lowered[sel.token] || sel.token) + sel.original)
      continue
    }
    if (subtype !== '*') {
      const pref = lowered[sel.token]
      if (pref || (subtypes && subtypes['*'])) out.push((pref || sel.token) + sel.original)
      continue
    }
    if (subtypes) for (const sub of Object.keys(subtypes)) if (!map[`${type}/${sub}`]) out.push(subtypes[sub])
  }
  return out
}

/** Next's `getSupportedMimeType`: a malformed header throws (→ 500) as @hapi/accept's Boom does. */
function negotiateMimeType(formats, accept = '') {
  if (!Array.isArray(formats) || !formats.every((f) => typeof f === 'string')) throw invalidArgType('formats', 'an array of strings', formats)
  validateString(accept, 'accept')
  const mimeType = hapiMediaTypes(accept, formats)[0] || ''
  return accept.includes(mimeType) ? mimeType : ''
}

module.exports = { negotiateMimeType }
