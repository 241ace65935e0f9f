// Build-ID hashing: @rs/next-native vs a careful Node implementation (benches/anchors) and
// git, on a copy of the installed `next` package (≈ 8.7k files, 200 MB), warm page cache.
// Also reports the limit set by SHA-256 throughput × cores, measured in this run.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { alternate, fmtMs, root, save, speedup, table } from './harness.mjs'

const ids = createRequire(import.meta.url)('../lib/build-id.js')

const tmp = mkdtempSync(join(tmpdir(), 'build-id-bench-'))
const tree = join(tmp, 'tree')
try {
  // `node_modules` is always excluded, so the package goes in under another name.
  cpSync(join(root, 'node_modules', 'next'), join(tree, 'next-copy'), { recursive: true })
  writeFileSync(join(tree, 'package.json'), '{"name":"bench"}')
  const sizes = JSON.parse(
    execFileSync(process.execPath, [join(root, 'bin', 'next-native.js'), 'build-id', '--dir', tree, '--json'], { encoding: 'utf8' }),
  )
  const mb = sizes.bytes / 1e6

  const time = (fn) => () => {
    const s = process.hrtime.bigint()
    fn()
    return Number(process.hrtime.bigint() - s) / 1e6
  }
  const ours = time(() => execFileSync(process.execPath, [join(root, 'bin', 'next-native.js'), 'build-id', '--dir', tree]))
  const node = time(() => execFileSync(process.execPath, [join(root, 'benches', 'anchors', 'node-build-id.mjs'), tree]))
  // git: hashing every file into a fresh index (what `git ls-files -s` reports) ...
  const gitAdd = time(() => {
    rmSync(join(tree, '.git'), { recursive: true, force: true })
    execFileSync('git', ['init', '-q'], { cwd: tree })
    execFileSync('git', ['add', '-A'], { cwd: tree })
  })
  // ... and listing an index that is already up to date (stat cache hit, nothing hashed).
  const gitLs = time(() => execFileSync('git', ['ls-files', '-s'], { cwd: tree, maxBuffer: 1 << 28 }))

  // In-process: the addon already loaded, as in next.config during `next build`.
  const inProcess = time(() => ids.buildIdSync({ dir: tree }))
  // The read floor: every input read once, nothing hashed (`cat` in 2 parallel streams).
  const readFloor = time(() => execFileSync('sh', ['-c', `find . -type f -not -path './.git/*' -print0 | xargs -0 -P${availableParallelism()} -n 500 cat > /dev/null`], { cwd: tree }))

  // Warm the page cache, then alternate.
  ours()
  node()
  const wall = await alternate({ ours, node, gitAdd }, 7)
  gitLs()
  const ls = await alternate({ gitLs }, 7)
  const local = await alternate({ inProcess, readFloor }, 7)
  rmSync(join(tree, '.git'), { recursive: true, force: true })

  // The SHA-256 floor: one core's throughput on a 64 MiB buffer (OpenSSL, as fast as
  // sha2 with SHA-NI here), times the cores.
  const buf = Buffer.alloc(64 << 20, 7)
  const sha = await alternate({ sha: time(() => createHash('sha256').update(buf).digest()) }, 5)
  const perCoreMBs = 64 * 1.048576 / (sha.sha / 1000)
  const cores = availableParallelism()
  const floorMs = (mb / (perCoreMBs * cores)) * 1000

  // Process start-up is in every whole-command time; report it so the hashing part is clear.
  const startup = await alternate({ node: time(() => execFileSync(process.execPath, ['-e', '0'])) }, 7)

  const rows = [
    ['@rs/next-native (`next-native build-id`)', fmtMs(wall.ours), '1.00×'],
    ['Node: fs walk + `ignore` + crypto sha256, 64 reads in flight', fmtMs(wall.node), speedup(wall.node, wall.ours)],
    ['`git init && git add -A` (hashes every file)', fmtMs(wall.gitAdd), speedup(wall.gitAdd, wall.ours)],
    ['`git ls-files -s` on an up-to-date index (hashes nothing)', fmtMs(ls.gitLs), speedup(ls.gitLs, wall.ours)],
    ['@rs/next-native in-process (`buildIdSync`, addon loaded)', fmtMs(local.inProcess), ''],
    [`read floor: \`cat\` every input, ${cores} streams, no hashing`, fmtMs(local.readFloor), speedup(local.readFloor, local.inProcess) + ' (in-process)'],
    [`SHA-256 limit: ${mb.toFixed(0)} MB at ${perCoreMBs.toFixed(0)} MB/s × ${cores} cores`, fmtMs(floorMs), speedup(floorMs, local.inProcess) + ' (in-process)'],
    ['(node process start-up, included in the first two rows)', fmtMs(startup.node), ''],
  ]
  console.log(`tree: ${sizes.files} files, ${mb.toFixed(0)} MB, warm page cache; whole-command wall times, median of 7\n`)
  console.log(table(['implementation', 'time', 'ours is … faster'], rows))
  console.log(`\nsaved ${save('build-id', { files: sizes.files, mb, wall, ls, local, perCoreMBs, cores, floorMs, startup })}`)
} finally {
  rmSync(tmp, { recursive: true, force: true })
}
