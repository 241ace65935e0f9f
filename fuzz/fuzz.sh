#!/usr/bin/env bash
# Fuzzes one target for a while, then minimizes its corpus into corpus/<target>.
#
#   fuzz/fuzz.sh <target> [seconds=600] [extra libFuzzer flags...]
#
# Seconds 0 only re-selects corpus/<target> from corpus-raw/<target> (BUDGET bytes, default
# 30000).
# New inputs go to corpus-raw/<target> (git-ignored), seeded from corpus/<target> and from
# seeds/<target> (examples/seeds.rs writes those). One process, one job: the machines are shared.
# Image and AVIF targets are built like production (`-O`: no debug assertions; rav1d checks
# every borrow at run time under them); the others with debug assertions and overflow checks
# (cargo-fuzz's default), in their own target dirs so the builds never evict each other.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
seconds=${2:-600}
shift $(( $# < 2 ? $# : 2 ))

case $target in
  image_* | avif_*) build=(-O) bin=target ;;
  # Safe Rust without dependencies: AddressSanitizer adds nothing but a 20x slowdown on its
  # string-heavy inputs; debug assertions and overflow checks stay on.
  env) build=(-s none --no-default-features --features env --target-dir target/env) bin=target/env ;;
  *) build=(--target-dir target/da) bin=target/da ;;
esac
bin=$bin/x86_64-unknown-linux-gnu/release/$target
flags=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
case $target in
  # rav1d 1.1.0 leaks 48 bytes per dav1d_get_picture "again" and per dav1d_picture_unref;
  # LeakSanitizer would stop every AVIF run on it. See README.md.
  avif_*) flags+=(-detect_leaks=0) && export ASAN_OPTIONS=detect_leaks=0 ;;
esac

mkdir -p "corpus-raw/$target" "corpus/$target" "seeds/$target"
cp -n "corpus/$target/"* "corpus-raw/$target/" 2>/dev/null || true

cargo +nightly fuzz build "${build[@]}" "$target"
start=$(date +%s)
[ "$seconds" -gt 0 ] && /usr/bin/time -f "cpu: user %U s, sys %S s, wall %e s, max rss %M KiB" \
  cargo +nightly fuzz run "${build[@]}" "$target" "corpus-raw/$target" "seeds/$target" -- \
  "${flags[@]}" -max_total_time="$seconds" "$@" 2>&1 | tee "fuzz-$target.log" |
  grep -E "^(#[0-9]+ +(INITED|DONE)|stat::|cpu:|==[0-9]+==|SUMMARY|Done|thread '|  [0-9]+: |Test unit written)" || true
echo "fuzzed $target for $(( $(date +%s) - start )) s"

# Minimize: corpus-raw (everything found) -> corpus (what the replay tests run and git keeps).
# `-merge=1` records each input's coverage features; select_corpus.py keeps the inputs adding the
# most uncovered features per byte within the budget (cmin alone keeps hundreds of KB for a
# decoder target), and prints the share of features kept.
budget=${BUDGET:-30000}
tmp=$(mktemp -d) && mkdir "$tmp/out"
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_odr_violation=0" "$bin" -merge=1 -merge_control_file="$tmp/control" -artifact_prefix="$tmp/" \
  -use_counters=0 "${flags[@]}" "$tmp/out" "corpus-raw/$target" > "$tmp/log" 2>&1 ||
  { tail -20 "$tmp/log"; exit 1; }
./select_corpus.py "$tmp/control" "$budget" "corpus/$target"
rm -rf "$tmp"
echo "corpus/$target: $(ls "corpus/$target" | wc -l) files, $(du -sb "corpus/$target" | cut -f1) bytes"
