#!/usr/bin/env python3
"""Naive2, the M4/OWA benchmark: seasonally adjusted naive.

Usage: naive2.py SUBSET_DIR OUT_DIR   -> OUT_DIR/naive2.csv, OUT_DIR/naive2.json

For season length m > 1 and a series with at least 3*m observations, the series is
tested for seasonality with the 90% autocorrelation test of the M4 benchmarks
(|r_m| > 1.645 * sqrt((1 + 2 * sum_{k=1}^{m-1} r_k^2) / n)). If seasonal, it is
adjusted by classical multiplicative decomposition (as R's decompose(type =
"multiplicative"): centred moving average trend, mean ratio per season position,
indices normalised to mean 1); the naive forecast of the adjusted series is then
re-seasonalised. Otherwise plain naive. Naive2 has no intervals (columns left empty).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def acf(x: np.ndarray, k: int) -> float:
    xm = x - x.mean()
    denom = float(np.sum(xm * xm))
    if denom == 0.0:
        return 0.0
    return float(np.sum(xm[k:] * xm[:-k])) / denom


def seasonality_test(x: np.ndarray, m: int) -> bool:
    n = len(x)
    if m <= 1 or n < 3 * m:
        return False
    r = np.array([acf(x, k) for k in range(1, m + 1)])
    limit = 1.645 * np.sqrt((1.0 + 2.0 * np.sum(r[: m - 1] ** 2)) / n)
    return bool(abs(r[m - 1]) > limit)


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray | None:
    """Classical multiplicative decomposition's seasonal figure (position t % m), or None."""
    n = len(x)
    if m % 2 == 0:
        w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        w = np.ones(m) / m
    half = len(w) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(x, w, mode="valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x / trend
    ratio[~np.isfinite(ratio)] = np.nan
    fig = np.array([np.nanmean(ratio[j::m]) if np.any(np.isfinite(ratio[j::m])) else np.nan for j in range(m)])
    if not np.all(np.isfinite(fig)) or fig.mean() <= 0:
        return None
    fig = fig / fig.mean()
    if np.any(fig <= 0):
        return None
    return fig


def naive2(x: np.ndarray, h: int, m: int) -> tuple[np.ndarray, bool]:
    n = len(x)
    if seasonality_test(x, m):
        fig = seasonal_indices(x, m)
        if fig is not None:
            last = x[-1] / fig[(n - 1) % m]
            return last * fig[(n + np.arange(h)) % m], True
    return np.full(h, x[-1], dtype=float), False


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: naive2.py SUBSET_DIR OUT_DIR", file=sys.stderr)
        return 2
    subset_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    meta = json.loads((subset_dir / "meta.json").read_text())
    h, m = int(meta["horizon"]), int(meta["season_length"])
    df = pd.read_csv(subset_dir / "train.csv", dtype={"unique_id": str})
    t0 = time.perf_counter()
    rows = []
    n_seasonal = 0
    for uid, g in df.groupby("unique_id", sort=False):
        x = g.sort_values("ds")["y"].to_numpy(float)
        f, seasonal = naive2(x, h, m)
        n_seasonal += seasonal
        for k in range(h):
            rows.append((uid, len(x) + k, f[k]))
    secs = time.perf_counter() - t0
    out = pd.DataFrame(rows, columns=["unique_id", "ds", "mean"])
    for c in ["lo-80", "hi-80", "lo-95", "hi-95"]:
        out[c] = np.nan
    out_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(out_dir / "naive2.csv", index=False, float_format="%.17g")
    info = {"method": "naive2", "seconds": round(secs, 3), "n_series": int(df["unique_id"].nunique()),
            "n_seasonally_adjusted": int(n_seasonal), "fallback_ids": []}
    (out_dir / "naive2.json").write_text(json.dumps(info, indent=1) + "\n")
    print(f"    naive2        {info['n_series']:5d} series  {secs:7.1f}s  seasonally adjusted: {n_seasonal}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
