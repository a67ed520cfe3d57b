"""Day-ahead solar benchmark: Horizon's covariate ensemble against climatology, smart
persistence, Horizon's univariate ensemble and a LightGBM quantile peer given the same
features, on the PVDAQ system 50 development set (targets) and the Kaggle plant (reported).

Subcommands (run.sh calls them in order):
  prepare OUT [--exact] [--seed S]   per-origin input files for `horizon forecast`
  peers OUT                          climatology, smart persistence, LightGBM (timed)
  score OUT                          the table

Origins: forecasts are issued at 12:00 local time for the next local day (lead 12-36 h);
the CLI forecasts 36 h from the origin (144 steps of 15 minutes) and the last 96 steps,
the target day, are scored. Each origin is its own series (`<plant>@<date>`) with the 60
days before it as history, so one `horizon forecast` call runs them all.

Day-ahead error model (used unless --exact): the development weather is satellite-derived
(PVDAQ, NSRDB PSM3) or measured (Kaggle), i.e. what happened, which flatters every model.
Day-ahead numerical weather prediction is coarser and wrong in a correlated way, so the
covariates are degraded as follows, in the history (as archived forecasts) and the horizon:
  * GHI is averaged to hourly values (NWP output resolution, stamped at the hour's end);
  * the clear-sky index k = GHI / clear-sky GHI gets an AR(1) error (lag-1 correlation 0.8
    per hour) with standard deviation 0.15 + 0.05 * lead in days (0.20 at one day ahead),
    k clipped to [0, 1.1]. Relative RMSE of day-ahead GHI then comes out at 25-35 % of the
    daytime mean, the range Perez et al. (2013, Solar Energy 94, 305-326) report for NWP
    day-ahead GHI over US sites;
  * air temperature gets an AR(1) error of 1.5 degC standard deviation.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.environ.get("SOLAR_DATA", os.path.join(REPO, "..", "shared", "data", "solar"))
LEVELS = [round(0.01 * i, 2) for i in range(1, 100)]
FIT_LEVELS = [0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99]
STEP = pd.Timedelta(minutes=15)
HISTORY_DAYS = 60
HORIZON = 144  # 36 h of 15-min steps from 12:00 local
SCORED = 96  # the last 96: the target day


def load_pvdaq():
    d = os.path.join(DATA, "pvdaq_system50")
    power = pd.read_csv(os.path.join(d, "power.csv"), parse_dates=["ds"])
    weather = pd.read_csv(os.path.join(d, "weather.csv"), parse_dates=["ds"])
    plants = pd.read_csv(os.path.join(d, "plants.csv"))
    return power, weather, plants


def load_kaggle():
    d = os.path.join(DATA, "kaggle_india_plant1")
    power = pd.read_csv(os.path.join(d, "power.csv"), parse_dates=["ds"])
    power.loc[power["n_inverters"] < 22, "y"] = np.nan
    weather = pd.read_csv(os.path.join(d, "weather.csv"), parse_dates=["ds"])
    weather["ghi"] = weather["irradiation_kw_m2"] * 1000.0
    weather["temp_air"] = weather["ambient_temp_c"]
    plants = pd.read_csv(os.path.join(d, "plants.csv"))
    return power, weather, plants


def clear_sky(times, lat, lon):
    """Haurwitz clear-sky GHI (pvlib) at the middle of each 15-min interval ending at `times`."""
    import pvlib

    mid = pd.DatetimeIndex(times) - STEP / 2
    sp = pvlib.solarposition.get_solarposition(mid, lat, lon)
    cs = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].values
    return np.asarray(cs), np.asarray(sp["zenith"].values), np.asarray(sp["azimuth"].values)


def degrade(frame, origin, rng, ghi_clear):
    """The day-ahead error model of the module docs on one origin's covariates."""
    f = frame.copy()
    # Hourly means stamped at the hour's end.
    f["hour"] = f["ds"].dt.ceil("h")
    cs = pd.Series(ghi_clear, index=f.index)
    agg = f.assign(cs=cs).groupby("hour").agg(ghi=("ghi", "mean"), temp_air=("temp_air", "mean"), cs=("cs", "mean")).reset_index()
    n = len(agg)
    lead_days = np.clip((agg["hour"] - origin).dt.total_seconds().values / 86400.0, 1.0, None)
    sd = 0.15 + 0.05 * lead_days
    e = np.zeros(n)
    t = np.zeros(n)
    for i in range(n):
        e[i] = (0.8 * e[i - 1] if i else 0.0) + math.sqrt(1 - 0.64) * rng.standard_normal()
        t[i] = (0.8 * t[i - 1] if i else 0.0) + math.sqrt(1 - 0.64) * rng.standard_normal()
    k = np.where(agg["cs"] > 1.0, agg["ghi"] / agg["cs"].clip(lower=1.0), 0.0)
    k = np.clip(k + sd * e, 0.0, 1.1)
    out = pd.DataFrame({
        "ds": agg["hour"],
        "ghi": np.where(agg["cs"] > 1.0, k * agg["cs"], 0.0).round(1),
        "temp_air": (agg["temp_air"] + 1.5 * t).round(2),
    })
    return out


def prepare(out, exact, seed, scale=False):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(seed)
    ys, xs, acts, attrs, meta = [], [], [], [], []
    sets = []
    power, weather, plants = load_pvdaq()
    global HISTORY_DAYS
    if scale:
        # scale.sh: 100 plants (origins of PVDAQ 2011-13 every 8 days) with 30 days of history.
        HISTORY_DAYS = 30
        w13 = weather[weather.unique_id == "pvdaq50_ac2_2011_2013"]
        p13 = power[power.unique_id == "pvdaq50_ac2_2011_2013"]
        days = pd.date_range("2011-06-01", "2013-12-20", freq="8D")
        sets.append(("pvdaq50_ac2_2011_2013", p13, w13, days, "America/Denver", "target"))
        return _prepare_sets(out, exact, rng, sets, plants, ys, xs, acts, attrs, meta, limit=100)
    w16 = weather[weather.unique_id == "pvdaq50_serf_east_2016"]
    p16 = power[power.unique_id == "pvdaq50_serf_east_2016"]
    # 2016 (15-min weather): the last 30 days that have 60 days of history.
    days16 = pd.date_range("2016-09-10", "2016-10-11", freq="D")
    sets.append(("pvdaq50_serf_east_2016", p16, w16, days16, "America/Denver", "target"))
    w13 = weather[weather.unique_id == "pvdaq50_ac2_2011_2013"]
    p13 = power[power.unique_id == "pvdaq50_ac2_2011_2013"]
    # 2011-2013 (30-min weather): every 13th day over two years, so every season is seen.
    days13 = pd.date_range("2011-07-01", "2013-12-20", freq="13D")
    sets.append(("pvdaq50_ac2_2011_2013", p13, w13, days13, "America/Denver", "target"))
    kp, kw, kplants = load_kaggle()
    daysk = pd.date_range("2020-06-05", "2020-06-16", freq="D")
    sets.append(("kaggle_plant1", kp, kw, daysk, "Asia/Kolkata", "reported"))
    _prepare_sets(out, exact, rng, sets, plants, ys, xs, acts, attrs, meta)


def _prepare_sets(out, exact, rng, sets, plants, ys, xs, acts, attrs, meta, limit=None):
    plant_rows = {r.unique_id: r for r in plants.itertuples()}
    for sid, p, w, days, tz, role in sets:
        # The Kaggle plant has 34 days in all: 20 of history before each origin.
        history_days = 20 if sid == "kaggle_plant1" else HISTORY_DAYS
        p = p.set_index("ds").sort_index()
        w = w.set_index("ds").sort_index()
        if "ghi_wm2" in w:
            w = w.rename(columns={"ghi_wm2": "ghi", "temp_air_c": "temp_air"})
        info = plant_rows.get(sid)
        cap = float(info.capacity) if info is not None else float(p["y"].max())
        for day in days:
            target_start = pd.Timestamp(day).tz_localize(tz).tz_convert("UTC")
            origin = target_start - pd.Timedelta(hours=12)
            hist_start = origin - pd.Timedelta(days=history_days)
            grid = pd.date_range(hist_start + STEP, origin, freq=STEP)
            fut = pd.date_range(origin + STEP, origin + HORIZON * STEP, freq=STEP)
            hist = p["y"].reindex(grid)
            actual = p["y"].reindex(fut[-SCORED:])
            if hist.notna().sum() < 0.7 * len(grid) or actual.notna().sum() < 0.9 * SCORED:
                continue
            if limit is not None and len(meta) >= limit:
                break
            oid = f"{sid}@{day.date()}"
            ys.append(pd.DataFrame({"unique_id": oid, "ds": grid, "y": hist.values}))
            acts.append(pd.DataFrame({"unique_id": oid, "ds": fut[-SCORED:], "y": actual.values}))
            # Weather on its own stamps over the history and horizon.
            wx = w.loc[(w.index > hist_start) & (w.index <= fut[-1]), ["ghi", "temp_air"]].copy()
            wx = wx.reset_index()
            if not exact and info is not None:
                cs, _, _ = clear_sky(wx["ds"], info.latitude, info.longitude)
                wx = degrade(wx, origin, rng, cs)
            elif not exact:
                # No location (Kaggle): multiplicative AR(1) error on the measured irradiance.
                e = np.zeros(len(wx))
                for i in range(len(wx)):
                    e[i] = (0.95 * e[i - 1] if i else 0.0) + math.sqrt(1 - 0.95**2) * rng.standard_normal()
                wx["ghi"] = (wx["ghi"] * np.clip(1 + 0.25 * e, 0, None)).round(1)
            wx.insert(0, "unique_id", oid)
            xs.append(wx)
            row = {"unique_id": oid, "capacity": cap, "timezone": tz}
            if info is not None and not pd.isna(info.latitude):
                row.update(latitude=info.latitude, longitude=info.longitude, tilt=info.tilt, azimuth=info.azimuth)
            attrs.append(row)
            meta.append({"id": oid, "plant": sid, "role": role, "origin": str(origin), "capacity": cap})
    fmt = lambda s: s.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    y = pd.concat(ys); y["ds"] = fmt(y["ds"]); y.to_csv(os.path.join(out, "y.csv"), index=False)
    x = pd.concat(xs); x["ds"] = fmt(x["ds"]); x.to_csv(os.path.join(out, "x.csv"), index=False)
    a = pd.concat(acts); a["ds"] = fmt(a["ds"]); a.to_csv(os.path.join(out, "actual.csv"), index=False)
    pd.DataFrame(attrs).to_csv(os.path.join(out, "attrs.csv"), index=False)
    # For the univariate run: the capacity bound only (no location, so no physics).
    pd.DataFrame(attrs)[["unique_id", "capacity"]].to_csv(os.path.join(out, "attrs_capacity.csv"), index=False)
    json.dump(meta, open(os.path.join(out, "meta.json"), "w"), indent=1)
    print(f"prepared {len(meta)} origins in {out} ({'exact' if exact else 'degraded'} covariates)", file=sys.stderr)


def features(frame, attrs_row):
    """The physics features the engine uses, computed with pvlib, for the peer."""
    import pvlib

    f = frame.copy()
    times = pd.DatetimeIndex(pd.to_datetime(f["ds"], utc=True))
    if isinstance(attrs_row.get("latitude"), float) and not math.isnan(attrs_row["latitude"]):
        mid = times - STEP / 2
        sp = pvlib.solarposition.get_solarposition(mid, attrs_row["latitude"], attrs_row["longitude"])
        cs = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].values
        dni_extra = pvlib.irradiance.get_extra_radiation(mid).values
        ghi = f["ghi"].clip(lower=0).values
        erbs = pvlib.irradiance.erbs(ghi, sp["zenith"].values, mid)
        poa = pvlib.irradiance.get_total_irradiance(attrs_row["tilt"], attrs_row["azimuth"], sp["apparent_zenith"].values, sp["azimuth"].values, erbs["dni"], ghi, erbs["dhi"], dni_extra=dni_extra, model="isotropic", albedo=0.25)["poa_global"]
        erbs_c = pvlib.irradiance.erbs(cs, sp["zenith"].values, mid)
        poa_c = pvlib.irradiance.get_total_irradiance(attrs_row["tilt"], attrs_row["azimuth"], sp["apparent_zenith"].values, sp["azimuth"].values, erbs_c["dni"], cs, erbs_c["dhi"], dni_extra=dni_extra, model="isotropic", albedo=0.25)["poa_global"]
        f["cs"] = cs
        f["poa"] = np.nan_to_num(np.asarray(poa, dtype=float))
        f["poa_cs"] = np.nan_to_num(np.asarray(poa_c, dtype=float))
        f["cos_zenith"] = np.cos(np.radians(sp["zenith"].values)).clip(0)
        f["elev"] = 90 - sp["zenith"].values
    else:
        f["cs"] = f["ghi"]
        f["poa"] = f["ghi"]
        f["poa_cs"] = f["ghi"]
        f["cos_zenith"] = 0.0
        f["elev"] = np.where(f["ghi"] > 0, 10.0, -10.0)
    f["tod"] = times.hour * 4 + times.minute // 15
    return f


def peers(out):
    import lightgbm as lgb

    y = pd.read_csv(os.path.join(out, "y.csv"))
    x = pd.read_csv(os.path.join(out, "x.csv"))
    attrs = pd.read_csv(os.path.join(out, "attrs.csv")).set_index("unique_id")
    meta = json.load(open(os.path.join(out, "meta.json")))
    rows = {name: [] for name in ["climatology", "smart_persistence", "lightgbm"]}
    seconds = {name: 0.0 for name in rows}
    for m in meta:
        oid, cap = m["id"], m["capacity"]
        a = attrs.loc[oid].to_dict()
        hist = y[y.unique_id == oid].copy()
        hist["ds"] = pd.to_datetime(hist["ds"], utc=True)
        origin = hist["ds"].max()
        fut = pd.date_range(origin + STEP, origin + HORIZON * STEP, freq=STEP)
        wx = x[x.unique_id == oid].copy()
        wx["ds"] = pd.to_datetime(wx["ds"], utc=True)
        wx = wx.set_index("ds").sort_index()
        allt = pd.DatetimeIndex(list(hist["ds"]) + list(fut))
        # Covariates on the 15-min grid: interpolate in time (what the CLI does for coarser data).
        wgrid = wx[["ghi", "temp_air"]].reindex(wx.index.union(allt)).interpolate("time", limit_area="inside").reindex(allt).ffill().bfill()
        frame = pd.DataFrame({"ds": allt, "ghi": wgrid["ghi"].values, "temp_air": wgrid["temp_air"].values})
        frame = features(frame, a)
        frame["y"] = list(hist["y"]) + [np.nan] * len(fut)
        n = len(hist)
        tr, te = frame.iloc[:n], frame.iloc[n:].iloc[-SCORED:]
        day = te["elev"].values > -1  # steps the sun may light; others forced to 0 by everyone
        # Climatology per time of day over the last 30 days.
        t0 = time.perf_counter()
        recent = tr.iloc[-30 * 96:]
        q = np.zeros((SCORED, len(LEVELS)))
        for i, tod in enumerate(te["tod"].values):
            vals = recent.loc[recent["tod"] == tod, "y"].dropna().values
            if len(vals):
                q[i] = np.quantile(vals, LEVELS)
        rows["climatology"].append((oid, te["ds"].values, q))
        seconds["climatology"] += time.perf_counter() - t0
        # Smart persistence: the last 24 h's clear-sky index (power / clear-sky POA) times the
        # target step's clear-sky POA; quantiles from the history's errors in that index.
        t0 = time.perf_counter()
        last = tr.iloc[-96:]
        lit = last["poa_cs"] > 50
        kbar = (last.loc[lit, "y"].sum() / max(last.loc[lit, "poa_cs"].sum(), 1e-9))
        day_tr = tr[tr["poa_cs"] > 50].dropna(subset=["y"])
        k_obs = day_tr["y"] / day_tr["poa_cs"]
        # The index one day earlier, as the forecast would have used it.
        k_prev = (tr["y"] / tr["poa_cs"].where(tr["poa_cs"] > 50)).rolling(96, min_periods=24).mean().shift(96)
        err = (k_obs - k_prev.reindex(day_tr.index)).dropna().values
        eq = np.quantile(err, LEVELS) if len(err) else np.zeros(len(LEVELS))
        q = np.clip((kbar + eq[None, :]) * te["poa_cs"].values[:, None], 0, cap)
        rows["smart_persistence"].append((oid, te["ds"].values, q))
        seconds["smart_persistence"] += time.perf_counter() - t0
        # LightGBM quantile regression on the same features, one model per fitted level.
        t0 = time.perf_counter()
        cols = ["poa", "poa_cs", "ghi", "cs", "temp_air", "cos_zenith", "tod"]
        fit_rows = tr[(tr["elev"] > -1)].dropna(subset=["y"])
        preds = []
        for lv in FIT_LEVELS:
            model = lgb.LGBMRegressor(objective="quantile", alpha=lv, n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=20, verbose=-1, n_jobs=1)
            model.fit(fit_rows[cols], fit_rows["y"])
            preds.append(model.predict(te[cols]))
        p = np.sort(np.array(preds).T, axis=1)
        q = np.array([np.interp(LEVELS, FIT_LEVELS, r) for r in p])
        rows["lightgbm"].append((oid, te["ds"].values, np.clip(q, 0, cap)))
        seconds["lightgbm"] += time.perf_counter() - t0
        for name in rows:
            rows[name][-1][2][~day] = 0.0
    for name, items in rows.items():
        recs = []
        for oid, ds, q in items:
            for i, d in enumerate(ds):
                recs.append([oid, pd.Timestamp(d).strftime("%Y-%m-%dT%H:%M:%SZ"), float(q[i].mean())] + list(q[i]))
        cols = ["unique_id", "ds", "mean"] + [f"q-{l}" for l in LEVELS]
        pd.DataFrame(recs, columns=cols).to_csv(os.path.join(out, f"fc_{name}.csv"), index=False)
    json.dump(seconds, open(os.path.join(out, "peer_seconds.json"), "w"))


def score(out, names):
    act = pd.read_csv(os.path.join(out, "actual.csv"))
    meta = {m["id"]: m for m in json.load(open(os.path.join(out, "meta.json")))}
    attrs = pd.read_csv(os.path.join(out, "attrs.csv")).set_index("unique_id")
    # Daytime: the sun above the horizon at some point of the step (pvlib, 1-min samples of
    # the interval are approximated by its end points and middle).
    import pvlib

    day = np.zeros(len(act), dtype=bool)
    for oid, idx in act.groupby("unique_id").groups.items():
        a = attrs.loc[oid]
        t = pd.DatetimeIndex(pd.to_datetime(act.loc[idx, "ds"], utc=True))
        if not pd.isna(a.get("latitude")):
            els = [90 - pvlib.solarposition.get_solarposition(t - off, a["latitude"], a["longitude"])["zenith"].values for off in (pd.Timedelta(0), STEP / 2, STEP)]
            day[np.asarray(idx)] = np.max(els, axis=0) > 0
        else:
            hours = (t.tz_convert(a["timezone"]).hour)
            day[np.asarray(idx)] = (hours >= 6) & (hours < 19)
    act["day"] = day
    act["plant"] = act["unique_id"].map(lambda s: meta[s]["plant"])
    act["role"] = act["unique_id"].map(lambda s: meta[s]["role"])
    act["cap"] = act["unique_id"].map(lambda s: meta[s]["capacity"])
    results = []
    for name in names:
        path = os.path.join(out, f"fc_{name}.csv")
        if not os.path.exists(path):
            continue
        fc = pd.read_csv(path)
        m = act.merge(fc, on=["unique_id", "ds"], how="left")
        qcols = [f"q-{l}" for l in LEVELS]
        if any(c not in m for c in qcols):
            continue
        Q = m[qcols].values
        yv = m["y"].values
        ok = ~np.isnan(yv)
        diff = yv[:, None] - Q
        lv = np.array(LEVELS)[None, :]
        pin = np.where(diff >= 0, lv * diff, (lv - 1) * diff).mean(axis=1) / m["cap"].values
        for plant, g in m.assign(pin=pin, ok=ok).groupby("plant"):
            gi = g.index.values
            d = gi[(m.loc[gi, "day"].values) & ok[gi]]
            nd = gi[(~m.loc[gi, "day"].values) & ok[gi]]
            if len(d) == 0:
                continue
            cov = lambda lo, hi: float(np.mean((yv[d] >= Q[d, LEVELS.index(lo)]) & (yv[d] <= Q[d, LEVELS.index(hi)])))
            results.append({
                "plant": plant,
                "role": g["role"].iloc[0],
                "model": name,
                "pinball_day_pct": 100 * float(np.mean(pin[d])),
                "crps_day_pct": 200 * float(np.mean(pin[d])),
                "cov80_day": 100 * cov(0.1, 0.9),
                # 0.025 and 0.975 lie halfway between written levels.
                "cov95_day": 100 * float(np.mean((yv[d] >= (Q[d, 1] + Q[d, 2]) / 2) & (yv[d] <= (Q[d, 96] + Q[d, 97]) / 2))),
                "nmae_day_pct": 100 * float(np.mean(np.abs(yv[d] - m.loc[d, "q-0.5"].values) / m.loc[d, "cap"].values)),
                "night_max": float(np.nanmax(np.abs(Q[nd]))) if len(nd) else 0.0,
                "over_cap": int(np.sum(Q[gi] > m.loc[gi, "cap"].values[:, None] + 1e-9)),
                "origins": int(g["unique_id"].nunique()),
            })
    r = pd.DataFrame(results)
    pd.set_option("display.width", 200)
    for plant, g in r.groupby("plant", sort=False):
        sp = g.loc[g.model == "smart_persistence", "pinball_day_pct"]
        lg = g.loc[g.model == "lightgbm", "pinball_day_pct"]
        g = g.copy()
        if len(sp):
            g["vs_smart_persistence"] = g["pinball_day_pct"] / float(sp.iloc[0])
        if len(lg):
            g["vs_lightgbm"] = g["pinball_day_pct"] / float(lg.iloc[0])
        print(f"\n{plant} ({g['role'].iloc[0]}, {g['origins'].iloc[0]} origins) — daytime steps; pinball/CRPS/nMAE in % of capacity")
        print(g.drop(columns=["plant", "role", "origins"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    r.to_csv(os.path.join(out, "scores.csv"), index=False)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["prepare", "peers", "score"])
    ap.add_argument("out")
    ap.add_argument("--exact", action="store_true")
    ap.add_argument("--scale", action="store_true", help="prepare: scale.sh's 100 plants")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--models", default="horizon,horizon_solar_qr,horizon_solar_gbt,horizon_qr_gbt,horizon_no_location,horizon_univariate,climatology,smart_persistence,lightgbm")
    a = ap.parse_args()
    if a.cmd == "prepare":
        prepare(a.out, a.exact, a.seed, a.scale)
    elif a.cmd == "peers":
        peers(a.out)
    else:
        score(a.out, a.models.split(","))
