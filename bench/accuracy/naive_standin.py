#!/usr/bin/env python3
"""STAND-IN for `horizon forecast` -- NOT Horizon.

Only used when HORIZON_BIN=standin, to test the benchmark's Horizon-side plumbing
before the real CLI exists. It speaks the same command line and writes the same CSV:

  naive_standin.py forecast --input train.csv --horizon H --season-length M \
      --levels 80,95 --output out.csv [--models NAME[,NAME...]]

Input: unique_id,ds,y (ds integer). Output: unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95
with ds continuing the integer index. Models: snaive (default), naive, drift;
a comma-separated list averages them. Any other name exits with status 2, which
exercises the benchmark's "failed" path.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections import OrderedDict
from statistics import NormalDist

KNOWN = ("snaive", "naive", "drift")


def one(model: str, x: list[float], h: int, m: int) -> tuple[list[float], list[float]]:
    """Point forecasts and forecast standard deviations."""
    n = len(x)
    if model == "snaive" and m > 1 and n > m:
        res = [x[t] - x[t - m] for t in range(m, n)]
        sigma = math.sqrt(sum(e * e for e in res) / len(res))
        mean = [x[n - m + (k % m)] for k in range(h)]
        sd = [sigma * math.sqrt(k // m + 1) for k in range(h)]
        return mean, sd
    if model in ("snaive", "naive") or n < 3:
        res = [x[t] - x[t - 1] for t in range(1, n)] or [0.0]
        sigma = math.sqrt(sum(e * e for e in res) / len(res))
        return [x[-1]] * h, [sigma * math.sqrt(k + 1) for k in range(h)]
    # drift
    slope = (x[-1] - x[0]) / (n - 1)
    res = [x[t] - x[t - 1] - slope for t in range(1, n)]
    sigma = math.sqrt(sum(e * e for e in res) / max(len(res) - 1, 1))
    mean = [x[-1] + slope * (k + 1) for k in range(h)]
    sd = [sigma * math.sqrt((k + 1) * (1 + (k + 1) / (n - 1))) for k in range(h)]
    return mean, sd


def main() -> int:
    ap = argparse.ArgumentParser(prog="naive_standin.py (STAND-IN, not Horizon)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("forecast")
    f.add_argument("--input", required=True)
    f.add_argument("--horizon", type=int, required=True)
    f.add_argument("--season-length", type=int, default=1)
    f.add_argument("--levels", default="80,95")
    f.add_argument("--output", required=True)
    f.add_argument("--models", default="snaive")
    a = ap.parse_args()

    models = [s.strip() for s in a.models.split(",") if s.strip()]
    unknown = [s for s in models if s not in KNOWN]
    if unknown:
        print(f"standin: unknown model(s) {','.join(unknown)} (the stand-in knows {', '.join(KNOWN)})", file=sys.stderr)
        return 2
    levels = [int(v) for v in a.levels.split(",") if v.strip()]

    series: OrderedDict[str, list[tuple[int, float]]] = OrderedDict()
    with open(a.input, newline="") as fh:
        for row in csv.DictReader(fh):
            series.setdefault(row["unique_id"], []).append((int(row["ds"]), float(row["y"])))

    cols = ["unique_id", "ds", "mean"] + [f"{b}-{lv}" for lv in levels for b in ("lo", "hi")]
    with open(a.output, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for uid, pts in series.items():
            pts.sort()
            x = [v for _, v in pts]
            last_ds = pts[-1][0]
            outs = [one(mdl, x, a.horizon, a.season_length) for mdl in models]
            for k in range(a.horizon):
                mean = sum(o[0][k] for o in outs) / len(outs)
                sd = sum(o[1][k] for o in outs) / len(outs)
                row = [uid, last_ds + 1 + k, repr(mean)]
                for lv in levels:
                    z = NormalDist().inv_cdf(0.5 + lv / 200)
                    row += [repr(mean - z * sd), repr(mean + z * sd)]
                w.writerow(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
