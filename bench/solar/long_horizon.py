"""Does the covariate ensemble decay with the step number? 14-day hourly horizons with exact
covariates on PVDAQ system 50 (2011-13).

Subcommands (long_horizon.sh calls them):
  prepare OUT   hourly history (60 days) + 14 days of exact weather per origin
  score OUT     daytime pinball (quantiles 0.01..0.99, % of capacity) per lead day

With the weather known exactly, a model driven by it has no reason to be worse on day 14
than on day 1; a model that leans on the recent past (or on a trend) would be. Origins are
local midnight every day over 2011-07 .. 2013-11 (so every season is seen), and each lead day
is scored on the same target days (those that every lead day reaches): with origins every 6
days, as before 2026-12-07, day 1 and day 14 were scored on different days (day 14 of one
origin is day 2 of the next but one), so their ratio held the weather of different days
(1.112 that way) as well as any decay with the step. EVERY_DAYS=6 repeats that design.
"""
import json
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from solar import LEVELS, load_pvdaq  # noqa: E402

STEP = pd.Timedelta(hours=1)
HISTORY_DAYS = 60
DAYS = 14
EVERY_DAYS = int(os.environ.get("EVERY_DAYS", "1"))


def prepare(out):
    os.makedirs(out, exist_ok=True)
    power, weather, plants = load_pvdaq()
    sid = "pvdaq50_ac2_2011_2013"
    info = plants.set_index("unique_id").loc[sid]
    p = power[power.unique_id == sid].set_index("ds")["y"].sort_index()
    w = weather[weather.unique_id == sid].set_index("ds").sort_index()
    w = w.rename(columns={"ghi_wm2": "ghi", "temp_air_c": "temp_air"})[["ghi", "temp_air"]]
    # Hourly means stamped at the hour's end.
    p = p.resample("1h", label="right", closed="right").mean()
    w = w.resample("1h", label="right", closed="right").mean()
    ys, xs, acts, meta = [], [], [], []
    for day in pd.date_range("2011-07-01", "2013-11-20", freq=f"{EVERY_DAYS}D"):
        origin = pd.Timestamp(day).tz_localize("America/Denver").tz_convert("UTC")
        grid = pd.date_range(origin - pd.Timedelta(days=HISTORY_DAYS) + STEP, origin, freq=STEP)
        fut = pd.date_range(origin + STEP, origin + DAYS * 24 * STEP, freq=STEP)
        hist, actual = p.reindex(grid), p.reindex(fut)
        wx = w.reindex(grid.append(fut))
        if hist.notna().mean() < 0.7 or actual.notna().mean() < 0.8 or wx.notna().mean().min() < 0.95:
            continue
        oid = f"{sid}@{day.date()}"
        ys.append(pd.DataFrame({"unique_id": oid, "ds": grid, "y": hist.values}))
        lead = np.arange(len(fut)) // 24 + 1
        target_day = (pd.Timestamp(day) + pd.to_timedelta(lead - 1, unit="D")).strftime("%Y-%m-%d")
        acts.append(pd.DataFrame({"unique_id": oid, "ds": fut, "y": actual.values, "lead_day": lead, "target_day": target_day}))
        wx = wx.interpolate(limit=3).reset_index().rename(columns={"index": "ds"})
        wx.insert(0, "unique_id", oid)
        xs.append(wx)
        meta.append({"id": oid, "capacity": float(info.capacity), "latitude": float(info.latitude), "longitude": float(info.longitude), "tilt": float(info.tilt), "azimuth": float(info.azimuth)})
    fmt = lambda s: s.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    for name, frames in (("y", ys), ("x", xs), ("actual", acts)):
        f = pd.concat(frames)
        f["ds"] = fmt(f["ds"])
        f.to_csv(os.path.join(out, f"{name}.csv"), index=False)
    attrs = pd.DataFrame([{"unique_id": m["id"], **{k: m[k] for k in ("latitude", "longitude", "capacity", "tilt", "azimuth")}} for m in meta])
    attrs.to_csv(os.path.join(out, "attrs.csv"), index=False)
    json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=1)
    print(f"prepared {len(meta)} origins of {DAYS} days in {out}", file=sys.stderr)


def score(out):
    import pvlib

    act = pd.read_csv(os.path.join(out, "actual.csv"))
    meta = {m["id"]: m for m in json.load(open(os.path.join(out, "meta.json")))}
    first = next(iter(meta.values()))
    t = pd.DatetimeIndex(pd.to_datetime(act["ds"], utc=True))
    # Daytime: the sun up at the hour's middle.
    act["day"] = (90 - pvlib.solarposition.get_solarposition(t - STEP / 2, first["latitude"], first["longitude"])["zenith"].values) > 0
    rows = []
    for name in ("horizon", "horizon_solar_qr"):
        fc = pd.read_csv(os.path.join(out, f"fc_{name}.csv"))
        m = act.merge(fc, on=["unique_id", "ds"], how="left")
        m = m[m["day"] & m["y"].notna()]
        if EVERY_DAYS == 1:
            # The target days every lead day reaches, so that each lead is scored on the same days.
            leads_per_day = m.groupby("target_day")["lead_day"].nunique()
            m = m[m["target_day"].isin(leads_per_day.index[leads_per_day == DAYS])]
        Q = m[[f"q-{l}" for l in LEVELS]].values
        d = m["y"].values[:, None] - Q
        lv = np.array(LEVELS)[None, :]
        cap = m["unique_id"].map(lambda s: meta[s]["capacity"]).values
        m = m.assign(pin=100 * np.where(d >= 0, lv * d, (lv - 1) * d).mean(axis=1) / cap)
        per = m.groupby("lead_day")["pin"].mean()
        rows.append({"model": name, **{f"day {k}": per.get(k, np.nan) for k in range(1, DAYS + 1)}, "day14/day1": per.get(DAYS) / per.get(1), "days 8-14 / days 1-7": per.loc[8:14].mean() / per.loc[1:7].mean()})
    r = pd.DataFrame(rows)
    pd.set_option("display.width", 250)
    print(f"\n{len(meta)} origins every {EVERY_DAYS} days, hourly, exact weather — daytime pinball in % of capacity per lead day, on the target days every lead reaches")
    print(r.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    cmd, out = sys.argv[1], sys.argv[2]
    {"prepare": prepare, "score": score}[cmd](out)
