'use strict'

// Which source URLs may be optimized. Mirrors `shared/lib/match-local-pattern.js` and
// `shared/lib/match-remote-pattern.js` (`hasLocalMatch`, `matchRemotePattern`,
// `hasRemoteMatch`) with picomatch's `makeRe` for the glob. Refuses a non-string glob or a
// non-boolean `dot` (ERR_INVALID_ARG_TYPE), and glob syntax beyond `*`, `**` and `?`
// (ERR_INVALID_ARG_VALUE), so a pattern never silently matches other URLs than in Next.

const { codedError, validateBoolean, validateString } = require('../errors')

/**
 * picomatch's `makeRe` for the syntax next.config patterns use: `*` (any run of characters
 * but `/`), `**` (any number of path segments), `?` (one character). picomatch quirks kept:
 * a hostname `*.example.com` also matches `a.b.example.com`, `/a/**` matches `/a`, a
 * pattern ending in `*` also matches a trailing slash. Brackets, braces and extglobs are
 * refused rather than silently matched differently.
 */
function globToRegExp(glob, dot) {
  validateString(glob, 'glob')
  validateBoolean(dot, 'dot')
  if (/[[\]{}()]/.test(glob) || glob.startsWith('!')) {
    throw codedError('ERR_INVALID_ARG_VALUE', `image pattern ${JSON.stringify(glob)} uses glob syntax next-native does not support ([], {}, (), !)`, TypeError)
  }
  const segments = glob.split('/')
  let re = ''
  let needSeparator = false
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1
    if (seg === '**') {
      if (segments.length === 1) re += dot ? '.*' : '(?!\\.).*'
      else if (i === 0) re += '(?:.*\\/)?'
      else re += '(?:\\/.*)?'
      needSeparator = i > 0
      return
    }
    if (needSeparator) re += '\\/'
    needSeparator = true
    if (!dot && i === 0 && /^[*?]/.test(seg)) re += '(?!\\.)'
    if (seg.startsWith('*')) re += '(?=.)'
    re += seg.replace(/\*+|\?|[^*?]/g, (m) => (m[0] === '*' ? '[^/]*?' : m === '?' ? '[^/]' : m.replace(/[.+^$|\\]/g, '\\$&')))
    if (last && seg.endsWith('*')) re += '\\/?'
  })
  return new RegExp(`^(?:${re})$`)
}

function hasLocalMatch(c, urlPathAndQuery) {
  const url = new URL(urlPathAndQuery, 'http://n')
  return c.localMatchers.some((p) => (p.search === undefined || p.search === url.search) && p.pathnameRe.test(url.pathname))
}

function matchRemotePattern(p, url) {
  if (p.protocol !== undefined && p.protocol !== url.protocol.replace(/:$/, '')) return false
  if (p.port !== undefined && p.port !== url.port) return false
  if (!p.hostnameRe.test(url.hostname)) return false
  if (p.search !== undefined && p.search !== url.search) return false
  return p.pathnameRe.test(url.pathname)
}

function hasRemoteMatch(c, url) {
  return c.domains.some((d) => url.hostname === d) || c.remoteMatchers.some((p) => matchRemotePattern(p, url))
}

module.exports = { globToRegExp, hasLocalMatch, hasRemoteMatch }
