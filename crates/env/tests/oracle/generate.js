// Regenerates oracle.json: expected outputs of the REAL dotenv 16.3.1 `parse` and dotenv-expand
// 10.0.0 `expand`, driven exactly as @next/env 14–16 drives them:
//   parsed = dotenv.parse(src); process.env = <case env>; dotenvExpand.expand({ parsed })
//
// Usage (outside the repo):
//   mkdir /tmp/o && cd /tmp/o && npm i dotenv@16.3.1 dotenv-expand@10.0.0
//   NODE_PATH=/tmp/o/node_modules node crates/env/tests/oracle/generate.js > crates/env/tests/oracle/oracle.json
'use strict'
const dotenv = require('dotenv')
const { expand } = require('dotenv-expand')
if (require('dotenv/package.json').version !== '16.3.1') throw new Error('need dotenv 16.3.1')
if (require('dotenv-expand/package.json').version !== '10.0.0') throw new Error('need dotenv-expand 10.0.0')

// Deterministic PRNG (mulberry32) so the file is reproducible.
let seed = 0x5eed
function rnd () {
  seed |= 0; seed = (seed + 0x6D2B79F5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const pick = (a) => a[Math.floor(rnd() * a.length)]
const many = (a, max) => { let s = ''; const n = Math.floor(rnd() * (max + 1)); for (let i = 0; i < n; i++) s += pick(a); return s }

// ---- parse cases -------------------------------------------------------------------------------
const handParse = [
  'A=1', 'A = 1 ', '  A=1', 'export A=1', 'export  A=1', 'export\tA=1', 'export\nA=1', 'export = 1', 'export A', 'export=1',
  'exporter=1', 'A: 1', 'A:1', 'A:\n1', 'A\n=1', 'A :1', 'A.b-c=1', '1X=2', 'FOO BAR=1', '\u00c4B=1', 'na\u00efve=1',
  "A='x'", 'A="x"', 'A=`x`', "A='  x  '", 'A="\\n\\r\\t\\\\n"', "A='\\n'", 'A=\\n', 'A=`\\n`',
  'A="a\\"b"', "A='a\\'b'", 'A=`a\\`b`', 'A="a\\" #c', 'A="a\\"b" c', 'A="a\\"b\\"c" d',
  'A="', "A='", 'A=`', 'A=""', "A=''", 'A=``', 'A="abc" def', "A='a'b'", 'A="a\\nb" def', 'A=""" ',
  'A="x\ny"', 'A="x\ny" z\nB=1', 'A=\n"q"\nB=1', 'A=\n\n  \'q\' # c\nB=1', 'A=\nB=1', 'A=\n\nB=1',
  'A=abc#def', 'A=#x', 'A= # c', "A='#x' # y", 'A="x"#y', 'A="x" #y\n#z\nB=1', '# A=1', '  # A=1\nB=2',
  '\ufeffA=1', 'A=\u00a0x\u00a0\u3000', 'A=\u0085x\u0085', 'A=\u180ex',
  'A=1\u2028B=2', "A='x'\u2028B=2", 'A=a\u2028\'b\'', "A='a'\u2028'b'", "A=\"a\u2028\"b\"", 'A=\u2029x',
  'A=1\r\nB=2\r\n', 'A=1\rB=2\r', 'A="x\r\ny"', 'A="x\ry"', 'A=x\r\r\nB=y',
  'B=1\n10=x\nA=2\nB=3\n2=y\n__proto__=z\n4294967294=a\n4294967295=b\n01=c\n0=d',
  'A="\ud83d\ude00"', 'A=\ud83d\ude00 #c', '\ud83d\ude00=1\nB=2', "A='\ud83d\ude00'\ud83d\ude00'",
  'A=\'multi\nline\n\'\nB="x"', 'A="\\\\"', 'A="\\\\"x"', 'A=\'\\\'', 'A=x\\', 'A = "  spaced  " ',
  'A="a" \u2028 B=1', 'A="a"\u2029\nB=1', "A='a' \n\n# c\n\nB=1", 'A=:x', 'A:= x', 'A: = x', 'A:\t x',
]
const ptoks = ['A', 'B', 'K1', 'export ', '=', ' = ', ': ', ':', ' ', '\t', '\n', '\n', '\n', '\r', '\r\n', "'", '"', '`', '\\', '\\n',
  '#', ' #', 'x', 'yz', '1', '.', '-', '$', '\u2028', '\u00a0', '\ufeff', '\u00e9', '\ud83d\ude00', '\\"', "\\'"]
const randomParse = []
for (let i = 0; i < 1500; i++) {
  let src = ''
  const lines = 1 + Math.floor(rnd() * 4)
  for (let l = 0; l < lines; l++) {
    if (rnd() < 0.7) src += many([' ', '', '\t'], 1) + (rnd() < 0.2 ? 'export ' : '') + pick(['A', 'B', 'C', 'K.1', '2']) + pick(['=', '=', ' = ', ': ', '=\n', ':'])
    src += many(ptoks, 8)
    src += pick(['\n', '\n', '\r\n', '\r', ''])
  }
  randomParse.push(src)
}
const parseCases = [...handParse, ...randomParse].map((src) => ({ src, expected: Object.entries(dotenv.parse(src)) }))

// ---- expand cases ------------------------------------------------------------------------------
function runExpand (src, env) {
  for (const k of Object.keys(process.env)) delete process.env[k]
  Object.assign(process.env, env)
  const parsed = dotenv.parse(src)
  try {
    expand({ parsed })
    return { ok: Object.entries(parsed) }
  } catch (e) {
    return { err: String(e) }
  }
}
const handExpand = [
  ['A=1\nB=${A:-x}', {}], ['A=1\nB=${A}\nC=$A', {}], ['B=$A\nA=1', {}], ['B=${A:-d}', { A: 'env' }], ['B=${A:-d}', { A: '' }],
  ['A=f\nB=$A', { A: '' }], ['B=$E\nE=x', { E: '' }], ['B=$UNSET:-/x:y', {}], ['B=${A-d}', { A: 'v' }], ['B=${A:-}', { A: '' }],
  ['X=$M costs 5$', { M: 'm' }], ['A=1\nC=2\nX=$A$C', {}], ['X={ port: $A}', { A: '1' }], ['X=${A', { A: '1' }], ['X=${A.B}', { A: '1' }],
  ['X=${}', {}], ['X=$-', {}], ['X=$ a', {}], ['X=a$', {}], ['X=$1abc', { '1abc': 'n' }],
  ['X=pa\\$\\$word', {}], ['X=\\\\$A', { A: '1' }], ['X=\\$A$A', { A: '1' }], ['A=x\\$y\nB=$A', {}], ['X="\\$A"\nY=\'\\$A\'', { A: '1' }],
  ["A='x$&y'\nB=$A", {}], ['B=$A', { A: 'x$$y' }], ['B=<$A>', { A: '[$`|$\']' }], ['B=$A', { A: '$1$<x>$0' }], ['B=<$A>', { A: '$&$&' }],
  ['PW=file', { PW: 'ab$HOSTX\\$y', HOSTX: 'h' }], ['A=$A:extra', { A: 'keep' }], ['A=new', { A: '' }], ["S=x\nX=$SECRET", { SECRET: 'a$b' }],
  ['A=$A', {}], ['A=x$A', {}], ['A=$B\nB=$A', {}], ['A=${A:-}', {}], ['A=$A$A', {}], ['A=$B\nB=x$A', {}], ['A=ok\nB=$B', {}],
  ['A=<$toString>', {}], ['A=<$constructor>', {}], ['A=<$__proto__>', {}], ['A=<$isPrototypeOf>', {}], ['A=$valueOf', {}],
  ['A=$toLocaleString', {}], ['A=$hasOwnProperty', {}], ['A=$constructor', { constructor: '' }], ['A=$toString', { toString: '' }],
  ['toString=x\nA=$toString', { toString: '' }], ['constructor=\nA=$constructor', { constructor: '' }], ['A=${constructor:-d}', {}],
  ['A=${U:-\ud83d\ude00\u00e9}x', {}], ['A=\ud83d\ude00$B\ud83d\ude00', { B: '\u00e9' }],
  ['2=two\n10=$2\nA=$10', {}], ['A=$B\n1=$A\nB=b', {}], ["A='$B'\nB=b", {}], ['A=`$B`\nB=b', {}],
  ['A=${B:-${C:-d}}', {}], ['A=${B:-${C:-d}}', { C: 'c' }], ['A=${B:-$C}', { C: 'c' }], ['A=${B:-a\\b}', {}],
  ['A=$B}', { B: '1' }], ['A=${B}}', { B: '1' }], ['A=$B_x', { B: '1', B_x: '2' }], ['A=${B}_x', { B: '$C', C: 'c' }],
]
const etoks = ['$A', '${A}', '${A:-x}', '$B', '${B:-}', '$C', '${C:-$A}', '$D', '\\$', '$', 'x', ':-', '}', '{', '$&', '$$', '\\', '$1', '_', 'é', '$E']
const randomExpand = []
for (let i = 0; i < 1500; i++) {
  const keys = ['A', 'B', 'C', 'D', '1']
  let src = ''
  for (const k of keys) if (rnd() < 0.6) src += k + '=' + pick(["'", '', '']) .replace(/./, (q) => q) + many(etoks, 4) + '\n'
  const env = {}
  for (const k of ['A', 'B', 'C', 'E', '1']) if (rnd() < 0.3) env[k] = pick(['', 'v', 'w$A', '\\$x', '$$', 'é'])
  randomExpand.push([src, env])
}
const expandCases = [...handExpand, ...randomExpand].map(([src, env]) => ({ src, env, expected: runExpand(src, env) }))

process.stdout.write(JSON.stringify({
  generator: 'crates/env/tests/oracle/generate.js',
  node: process.version,
  dotenv: '16.3.1',
  'dotenv-expand': '10.0.0',
  parse: parseCases,
  expand: expandCases
}, null, 1) + '\n')
