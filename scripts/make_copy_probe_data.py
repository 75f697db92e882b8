#!/usr/bin/env python3
"""Copy-probe documents for LongMem: each is a 15-verse KJV passage written twice, so once the first copy has
left the 512-token local window the second copy can only be predicted from memory. Training documents come
from the first 90% of the KJV's lines, held-out ones from the last 10%.

With --repeat-mix (session 10) it writes instead 150 training documents that alternate a "repeat" document (a
~4,400-character passage, then the same verses in shuffled order, so they must be found by content) and a
natural ~8,800-character passage, consecutive from a seeded random start in the first 90% of the text.

usage: scripts/make_copy_probe_data.py [--repeat-mix] [KJV_TXT] [OUT_DIR]   (defaults: data/kjv.txt data/copy)
"""
import os
import random
import sys

args = [a for a in sys.argv[1:] if a != "--repeat-mix"]
repeat_mix = len(args) != len(sys.argv) - 1
kjv = args[0] if len(args) > 0 else "data/kjv.txt"
out = args[1] if len(args) > 1 else "data/copy"
lines = open(kjv, encoding="utf-8").read().splitlines()
cut = int(len(lines) * 0.9)


def write_repeat_mix():
    text = open(kjv, encoding="utf-8").read()
    pool = text[: int(len(text) * 0.9)].split("\n")
    rng = random.Random(10)
    os.makedirs(out, exist_ok=True)

    def take(nchars, start):
        got, c, j = [], 0, start
        while c < nchars and j < len(pool):
            got.append(pool[j])
            c += len(pool[j]) + 1
            j += 1
        return got, j

    start = rng.randrange(0, len(pool) // 2)
    for d in range(150):
        if d % 2 == 0:
            passage, start = take(4400, start)
            passage = [l for l in passage if l.strip()]
            shuffled = passage[:]
            rng.shuffle(shuffled)
            body, kind = "\n".join(passage) + "\n\n" + "\n".join(shuffled) + "\n", "repeat"
        else:
            passage, start = take(8800, start)
            body, kind = "\n".join(passage) + "\n", "natural"
        with open(os.path.join(out, f"doc{d:03d}-{kind}.txt"), "w", encoding="utf-8") as f:
            f.write(body)


def write(subdir, start, end, n):
    d = os.path.join(out, subdir)
    os.makedirs(d, exist_ok=True)
    for k, s in enumerate(range(start, end - 15, 15)):
        if k >= n:
            break
        passage = "\n".join(lines[s:s + 15]) + "\n"
        with open(os.path.join(d, f"doc{k:04d}.txt"), "w", encoding="utf-8") as f:
            f.write(passage + "\n" + passage)


if repeat_mix:
    write_repeat_mix()
else:
    write("train", 0, cut, 400)
    write("eval", cut, len(lines), 6)
