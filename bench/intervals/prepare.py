"""Writes the high-frequency development series shipped inside Python packages as
`unique_id,ds,y` CSV files (no download: the data are in the wheels).

- taylor: half-hourly electricity demand, England and Wales, June-August 2000 (4,032 values;
  cycles of 48 and 336), from pmdarima (`pmdarima.datasets.load_taylor`, MIT licence).
- co2: weekly atmospheric CO2 at Mauna Loa, 1958-2001 (statsmodels `datasets.co2`, public
  domain), gaps filled by linear interpolation; cycle 52.18.
"""
import os
import sys

import pandas as pd


def main(out):
    os.makedirs(out, exist_ok=True)
    from pmdarima.datasets import load_taylor
    import statsmodels.api as sm

    t = load_taylor(as_series=True).values
    ds = pd.date_range("2000-06-05 00:30", periods=len(t), freq="30min")
    pd.DataFrame({"unique_id": "taylor", "ds": ds.strftime("%Y-%m-%dT%H:%M:%SZ"), "y": t}).to_csv(os.path.join(out, "taylor.csv"), index=False)
    co2 = sm.datasets.co2.load_pandas().data["co2"].interpolate()
    pd.DataFrame({"unique_id": "co2", "ds": co2.index.strftime("%Y-%m-%d"), "y": co2.values}).to_csv(os.path.join(out, "co2.csv"), index=False)
    print(f"taylor {len(t)} half-hours, co2 {len(co2)} weeks -> {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
