#!/usr/bin/env python3
"""Run `horizon forecast` on every subset of one dataset, once per model configuration.

Usage: run_horizon.py --bin PATH [--bin ARG ...] --label horizon --models "naive snaive ets,theta"
                      --dataset-dir bench/out/accuracy/full/m1 [--timeout 3600]

Configurations: the default ensemble (no --models) plus one run per entry of --models
(entries separated by spaces or ';'; an entry may be a comma-separated list, passed
through as one --models value). For each subset and configuration it writes
<subset>/horizon/<slug>.csv (the tool's output) and <slug>.json:
  {"label", "models", "status": "ok"|"failed", "error", "seconds", "returncode", "command"}
A failing binary or model is recorded as failed; the benchmark goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

SUBSETS = ["yearly", "quarterly", "monthly"]


def parse_configs(spec: str) -> list[str]:
    out: list[str] = []
    for entry in re.split(r"[;\s]+", spec.strip()):
        entry = entry.strip().strip(",")
        if entry and entry not in out:
            out.append(entry)
    return out


def slug(models: str) -> str:
    return "default" if not models else re.sub(r"[^A-Za-z0-9_.-]+", "+", models)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, help="command prefix (repeat for extra words)")
    ap.add_argument("--label", default="horizon")
    ap.add_argument("--models", default="naive snaive drift ets theta otm dotm")
    ap.add_argument("--dataset-dir", required=True, type=Path)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    args = ap.parse_args()

    prefix = args.bin
    configs = [""] + parse_configs(args.models)
    exe = prefix[0]
    missing = None
    if os.sep in exe and not os.access(exe, os.X_OK):
        missing = f"binary not found or not executable: {exe}"
        print(f"  {args.label}: {missing} -- every Horizon row is reported as failed", file=sys.stderr)

    listed = args.dataset_dir / "subsets.txt"
    for subset in listed.read_text().split() if listed.exists() else SUBSETS:
        sdir = args.dataset_dir / subset
        meta = json.loads((sdir / "meta.json").read_text())
        h = int(meta["horizon"])
        m = ",".join(str(int(c)) for c in meta.get("season_lengths", [meta["season_length"]]))
        hdir = sdir / "horizon"
        hdir.mkdir(parents=True, exist_ok=True)
        for order, models in enumerate(configs):
            name = f"{args.label} ({models})" if models else f"{args.label} (ensemble)"
            out_csv = hdir / f"{slug(models)}.csv"
            out_csv.unlink(missing_ok=True)
            cmd = prefix + ["forecast", "--input", str(sdir / "train.csv"), "--horizon", str(h),
                            "--season-length", m, "--levels", "80,95", "--output", str(out_csv)]
            if models:
                cmd += ["--models", models]
            info = {"label": name, "models": models, "order": order, "status": "failed", "error": None, "seconds": None,
                    "returncode": None, "command": shlex.join(cmd)}
            if missing:
                info["error"] = missing
            else:
                t0 = time.perf_counter()
                try:
                    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       timeout=args.timeout)
                    info["seconds"] = round(time.perf_counter() - t0, 3)
                    info["returncode"] = p.returncode
                    if p.returncode != 0:
                        tail = (p.stderr or p.stdout or "").strip().splitlines()[-3:]
                        info["error"] = f"exit {p.returncode}: " + " | ".join(tail)
                    elif not out_csv.exists() or out_csv.stat().st_size == 0:
                        info["error"] = "exit 0 but no output file"
                    else:
                        info["status"] = "ok"
                except subprocess.TimeoutExpired:
                    info["seconds"] = round(time.perf_counter() - t0, 3)
                    info["error"] = f"timed out after {args.timeout:.0f}s"
                except OSError as e:
                    info["error"] = f"could not run: {e}"
            (hdir / f"{slug(models)}.json").write_text(json.dumps(info, indent=1) + "\n")
            secs = f"{info['seconds']:7.1f}s" if info["seconds"] is not None else "      -"
            status = "ok" if info["status"] == "ok" else f"FAILED: {info['error']}"
            print(f"    {subset:9s} {name:32s} {secs}  {status[:160]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
