// The anchor for the build-ID benchmark: what a careful Node implementation looks like.
// Async fs walk, nested .gitignore via the `ignore` package, files read with bounded
// parallelism (64 in flight) and hashed with crypto SHA-256 (OpenSSL, SHA-NI where the CPU
// has it), sorted by path and combined into one digest. Prints the digest.
import { createHash } from 'node:crypto'
import { readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import ignore from 'ignore'

const ALWAYS_EXCLUDED = new Set(['node_modules', '.git', '.next', '.turbo', '.vercel'])

async function walk(root) {
  const files = []
  async function visit(rel, rules) {
    const abs = join(root, rel)
    const entries = await readdir(abs, { withFileTypes: true })
    let local = rules
    if (entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      const text = await readFile(join(abs, '.gitignore'), 'utf8')
      const ig = ignore().add(text)
      local = [...rules, { base: rel, ig }]
    }
    const ignored = (p, dir) =>
      local.some(({ base, ig }) => {
        const sub = base ? p.slice(base.length + 1) : p
        return ig.ignores(dir ? `${sub}/` : sub)
      })
    await Promise.all(
      entries.map(async (e) => {
        const p = rel ? `${rel}/${e.name}` : e.name
        if (e.isDirectory()) {
          if (ALWAYS_EXCLUDED.has(e.name) || ignored(p, true)) return
          return visit(p, local)
        }
        if (ignored(p, false)) return
        files.push({ path: p, link: e.isSymbolicLink() })
      }),
    )
  }
  await visit('', [])
  return files
}

async function hashAll(root, files) {
  let next = 0
  async function worker() {
    while (next < files.length) {
      const f = files[next++]
      const abs = join(root, f.path)
      const data = f.link ? Buffer.from(await readlink(abs)) : await readFile(abs)
      f.size = data.length
      f.sha = createHash('sha256').update(data).digest()
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}

const root = process.argv[2]
const files = await walk(root)
await hashAll(root, files)
files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
const total = createHash('sha256')
for (const f of files) {
  const p = Buffer.from(f.path)
  const len = Buffer.alloc(16)
  len.writeBigUInt64LE(BigInt(p.length))
  len.writeBigUInt64LE(BigInt(f.size), 8)
  total.update(len).update(p).update(f.sha)
}
console.log(JSON.stringify({ digest: total.digest('hex'), files: files.length }))
