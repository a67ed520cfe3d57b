#!/usr/bin/env python3
"""statsforecast reference forecasts: AutoETS, AutoTheta, AutoARIMA, MSTL (level=[80, 95]).

Usage: refs_sf.py SUBSET_DIR OUT_DIR [--methods sf_autoets,sf_autotheta,sf_autoarima] [--n-jobs 2]

Writes <method>.csv (unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95) and <method>.json
(wall seconds, fallback info) into OUT_DIR. Each model is fitted in its own
StatsForecast call so that each gets its own wall time. numba compilation is done
beforehand on a tiny warm-up series and is not part of the timing.

If a model raises on the subset as a whole, the subset is re-run with
fallback_model=SeasonalNaive and the json says so (statsforecast does not report
which series fell back).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

LEVELS = [80, 95]
METHODS = ["sf_autoets", "sf_autotheta", "sf_autoarima", "sf_mstl"]


def make_model(method: str, m: int, cycles: list[int] | None = None):
    from statsforecast.models import MSTL, AutoARIMA, AutoETS, AutoTheta

    if method == "sf_autoets":
        return AutoETS(season_length=m)
    if method == "sf_autotheta":
        return AutoTheta(season_length=m)
    if method == "sf_autoarima":
        return AutoARIMA(season_length=m)
    if method == "sf_mstl":
        # Every cycle of the subset (meta.json's season_lengths); AutoETS (no season) on the
        # adjusted series, statsforecast's default trend model. A subset without a cycle
        # (yearly) has nothing to decompose.
        cycles = [c for c in (cycles or [m]) if c > 1]
        return MSTL(season_length=cycles) if cycles else None
    raise SystemExit(f"refs_sf.py: unknown method {method!r} (known: {', '.join(METHODS)})")


def run(df: pd.DataFrame, model, h: int, n_jobs: int, fallback=None) -> pd.DataFrame:
    from statsforecast import StatsForecast

    sf = StatsForecast(models=[model], freq=1, n_jobs=n_jobs, fallback_model=fallback)
    return sf.forecast(df=df, h=h, level=LEVELS)


def warm_up(method: str, m: int) -> None:
    # Compile the numba kernels (cached on disk by statsforecast) outside the timed region.
    rng = np.random.default_rng(0)
    n = max(4 * m, 24)
    y = 100 + np.arange(n) + 5 * np.sin(np.arange(n) * 2 * np.pi / max(m, 1)) + rng.normal(0, 1, n)
    df = pd.DataFrame({"unique_id": "warmup", "ds": np.arange(n), "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(df, make_model(method, m), 3, 1)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("subset_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()

    meta = json.loads((args.subset_dir / "meta.json").read_text())
    h, m = int(meta["horizon"]), int(meta["season_length"])
    cycles = [int(c) for c in meta.get("season_lengths", [m])]
    df = pd.read_csv(args.subset_dir / "train.csv", dtype={"unique_id": str, "ds": np.int64, "y": np.float64})
    order = list(dict.fromkeys(df["unique_id"]))
    args.out_dir.mkdir(parents=True, exist_ok=True)

    for method in [x.strip() for x in args.methods.split(",") if x.strip()]:
        model = make_model(method, m, cycles)
        if model is None:
            info = {"method": method, "status": "failed", "error": "not applicable: the subset has no cycle"}
            (args.out_dir / f"{method}.json").write_text(json.dumps(info, indent=1) + "\n")
            print(f"    {method:13s} not applicable (season length {m})")
            continue
        warm_up(method, m)
        fallback_used = None
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fc = run(df, model, h, args.n_jobs)
            except Exception as e:  # noqa: BLE001 - any failure: retry with a per-series fallback
                from statsforecast.models import SeasonalNaive

                fallback_used = f"{type(e).__name__}: {e}"[:500]
                print(f"    {method}: failed on the subset ({fallback_used}); re-running with fallback_model=SeasonalNaive",
                      file=sys.stderr)
                fc = run(df, make_model(method, m, cycles), h, args.n_jobs, fallback=SeasonalNaive(season_length=m))
        secs = time.perf_counter() - t0

        fc = fc.reset_index() if "unique_id" not in fc.columns else fc
        name = [c for c in fc.columns if c not in ("unique_id", "ds") and "-lo-" not in c and "-hi-" not in c]
        if len(name) != 1:
            raise SystemExit(f"refs_sf.py: unexpected forecast columns {list(fc.columns)}")
        name = name[0]
        out = pd.DataFrame({
            "unique_id": fc["unique_id"].astype(str),
            "ds": fc["ds"].astype(np.int64),
            "mean": fc[name],
            "lo-80": fc[f"{name}-lo-80"], "hi-80": fc[f"{name}-hi-80"],
            "lo-95": fc[f"{name}-lo-95"], "hi-95": fc[f"{name}-hi-95"],
        })
        out["unique_id"] = pd.Categorical(out["unique_id"], categories=order, ordered=True)
        out = out.sort_values(["unique_id", "ds"], kind="stable")
        out["unique_id"] = out["unique_id"].astype(str)
        out.to_csv(args.out_dir / f"{method}.csv", index=False, float_format="%.17g")
        info = {
            "method": method, "seconds": round(secs, 3), "n_series": len(order), "n_jobs": args.n_jobs,
            "fallback_ids": [], "fallback_subset_error": fallback_used,
            "fallback": "statsforecast SeasonalNaive via fallback_model (only if the whole call raised)",
        }
        (args.out_dir / f"{method}.json").write_text(json.dumps(info, indent=1) + "\n")
        print(f"    {method:13s} {len(order):5d} series  {secs:7.1f}s" + ("  (FALLBACK used)" if fallback_used else ""))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NIXTLA_ID_AS_COL", "1")
    sys.exit(main())
