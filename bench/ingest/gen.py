#!/usr/bin/env python3
"""Writes synthetic GDELT 2.0 15-minute export files for the ingest benchmark.

usage: gen.py DIR EVENTS [FILES]

One file per 15-minute slot of 2026-01-01 (FILES of them, default 96), 61 tab-separated fields
per line as in the GDELT 2.0 Event codebook, 150 actor countries, every CAMEO root code and
quad class, and 2% of each file repeated from the previous one (duplicates, as feeds resend).
"""
import itertools
import os
import random
import sys

out, events = sys.argv[1], int(sys.argv[2])
files = int(sys.argv[3]) if len(sys.argv) > 3 else 96
os.makedirs(out, exist_ok=True)
rng = random.Random(1)
countries = ["".join(c) for c in itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=3)]
countries = rng.sample(countries, 150)
per_file = events // files
prev = []
eid = 1_200_000_000
for f in range(files):
    hh, mm = divmod(f * 15, 60)
    added = f"20260101{hh:02d}{mm:02d}00"
    lines = []
    for _ in range(per_file):
        eid += 1
        root = rng.randint(1, 20)
        fields = [""] * 61
        fields[0] = str(eid)
        fields[1] = "20260101" if rng.random() > 0.05 else "20251231"
        fields[2], fields[3], fields[4] = "202601", "2026", "2026.0027"
        a1 = rng.choice(countries)
        a2 = rng.choice(countries) if rng.random() > 0.3 else ""
        fields[5], fields[6], fields[7] = a1, "ACTOR ONE", a1
        fields[15], fields[16], fields[17] = a2, "ACTOR TWO" if a2 else "", a2
        fields[25] = "1"
        fields[26] = fields[27] = f"{root:02d}0"
        fields[28] = f"{root:02d}"
        fields[29] = str(rng.randint(1, 4))
        fields[30] = f"{rng.uniform(-10, 10):.1f}"
        fields[31] = str(rng.randint(1, 50))
        fields[32], fields[33] = "1", fields[31]
        fields[34] = f"{rng.uniform(-10, 10):.6f}"
        fields[35], fields[36], fields[37] = "1", "Somewhere, Country", a1[:2]
        fields[40], fields[41] = "12.5", "45.25"
        fields[59] = added
        fields[60] = f"https://news.example.invalid/{eid}"
        lines.append("\t".join(fields))
    dup = prev[: len(prev) // 50]
    with open(os.path.join(out, f"{added}.export.CSV"), "w") as fh:
        fh.write("\n".join(dup + lines) + "\n")
    prev = lines
