"""statsforecast on the same rolling windows as `horizon backtest`: coverage of the 80% and
95% intervals, MSIS (95%) and MASE per series. Usage: peers.py DATA_DIR OUT_CSV"""
import os
import sys

import numpy as np
import pandas as pd

SETS = {  # name: (horizon, windows, season lengths, MASE season)
    "taylor": (48, 14, [48, 336], 48),
    "co2": (52, 8, [52], 52),
}


def msis(y, lo, hi, scale, level=95):
    a = 1 - level / 100
    return np.mean((hi - lo) + 2 / a * (lo - y) * (y < lo) + 2 / a * (y - hi) * (y > hi)) / scale


def main(data, out):
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS, SeasonalNaive

    rows = []
    for name, (h, w, seasons, m) in SETS.items():
        df = pd.read_csv(os.path.join(data, f"{name}.csv"), parse_dates=["ds"])
        freq = "30min" if name == "taylor" else "W-SAT"
        models = [SeasonalNaive(season_length=seasons[0]), AutoETS(season_length=seasons[0] if seasons[0] <= 24 else 1, alias="AutoETS")]
        models.append(MSTL(season_length=seasons, trend_forecaster=AutoETS(model="ZZN"), alias="MSTL"))
        sf = StatsForecast(models=models, freq=freq, n_jobs=1)
        cv = sf.cross_validation(df=df, h=h, n_windows=w, step_size=h, level=[80, 95])
        y = df["y"].values
        for model in ["SeasonalNaive", "AutoETS", "MSTL"]:
            res = []
            for cutoff, g in cv.groupby("cutoff"):
                n_hist = int((df["ds"] <= cutoff).sum())
                hist = y[:n_hist]
                scale = np.mean(np.abs(hist[m:] - hist[:-m]))
                res.append({
                    "cov80": np.mean((g["y"] >= g[f"{model}-lo-80"]) & (g["y"] <= g[f"{model}-hi-80"])),
                    "cov95": np.mean((g["y"] >= g[f"{model}-lo-95"]) & (g["y"] <= g[f"{model}-hi-95"])),
                    "msis95": msis(g["y"].values, g[f"{model}-lo-95"].values, g[f"{model}-hi-95"].values, scale),
                    "mase": np.mean(np.abs(g["y"] - g[model])) / scale,
                })
            r = pd.DataFrame(res).mean()
            rows.append({"series": name, "model": f"statsforecast {model}", **r.to_dict()})
    pd.DataFrame(rows).to_csv(out, index=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
