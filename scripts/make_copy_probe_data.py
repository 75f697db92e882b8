#!/usr/bin/env python3
"""Copy-probe documents for LongMem: each is a 15-verse KJV passage written twice, so once the first copy has
left the 512-token local window the second copy can only be predicted from memory. Training documents come
from the first 90% of the KJV's lines, held-out ones from the last 10%.

usage: scripts/make_copy_probe_data.py [KJV_TXT] [OUT_DIR]   (defaults: data/kjv.txt data/copy)
"""
import os
import sys

kjv = sys.argv[1] if len(sys.argv) > 1 else "data/kjv.txt"
out = sys.argv[2] if len(sys.argv) > 2 else "data/copy"
lines = open(kjv, encoding="utf-8").read().splitlines()
cut = int(len(lines) * 0.9)


def write(subdir, start, end, n):
    d = os.path.join(out, subdir)
    os.makedirs(d, exist_ok=True)
    for k, s in enumerate(range(start, end - 15, 15)):
        if k >= n:
            break
        passage = "\n".join(lines[s:s + 15]) + "\n"
        with open(os.path.join(d, f"doc{k:04d}.txt"), "w", encoding="utf-8") as f:
            f.write(passage + "\n" + passage)


write("train", 0, cut, 400)
write("eval", cut, len(lines), 6)
