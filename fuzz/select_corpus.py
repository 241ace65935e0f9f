#!/usr/bin/env python3
"""Picks the committed corpus from a libFuzzer merge control file under a byte budget.

    select_corpus.py <merge_control_file> <budget_bytes> <out_dir>

`cargo fuzz cmin` keeps one input per covered edge, which is hundreds of KB for a decoder
target. This keeps the inputs that add the most not-yet-covered features per byte (lazy
greedy set cover, the same coverage signal `-merge=1` uses), until every feature is covered
or the budget is spent, and says what share of the features the kept inputs cover.
"""
import heapq
import os
import shutil
import sys

ctl, budget, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(ctl, encoding="utf-8", errors="replace").read().split("\n")
n = int(lines[0])
paths = lines[2 : 2 + n]
sizes, feats = {}, {}
for line in lines[2 + n :]:
    p = line.split()
    if not p:
        continue
    if p[0] == "STARTED":
        sizes[int(p[1])] = int(p[2])
    elif p[0] == "FT":
        feats[int(p[1])] = frozenset(p[2:])
everything = frozenset().union(*feats.values()) if feats else frozenset()
covered, chosen, total = set(), [], 0
# Max-heap of (gain per byte, size, index); gains are re-checked when popped.
cost = lambda i: sizes.get(i, 0) + 64  # a file's bytes plus a little for its existence
heap = [(-len(f) / cost(i), i) for i, f in feats.items() if f]
heapq.heapify(heap)
while heap:
    neg, i = heapq.heappop(heap)
    gain = len(feats[i] - covered)
    if gain == 0:
        continue
    score = gain / cost(i)
    if heap and score < -heap[0][0]:
        heapq.heappush(heap, (-score, i))
        continue
    if total + sizes.get(i, 0) > budget:
        continue
    covered |= feats[i]
    chosen.append(i)
    total += sizes.get(i, 0)
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
for i in chosen:
    shutil.copy(paths[i], os.path.join(out, os.path.basename(paths[i])))
share = len(covered) / len(everything) if everything else 1.0
print(f"kept {len(chosen)} of {len(feats)} inputs, {total} bytes, "
      f"{len(covered)}/{len(everything)} features ({share:.1%})")
