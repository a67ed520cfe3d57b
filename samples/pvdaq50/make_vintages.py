"""Day-ahead weather forecasts (vintages) for the demo, built from the excerpt's weather.

Writes `vintages.csv` (`unique_id,ds,issued_at,ghi,temp_air`): for each of days 1-13 of the
excerpt (a day runs 07:00Z-06:45Z, midnight to midnight in Golden, CO), a forecast issued at
19:00Z the day before (13:00 local, lead 12-36 h), from the measured weather degraded by the
day-ahead error model of `bench/solar/solar.py`, at the excerpt's 15-minute steps:

  * the clear-sky index k = GHI / clear-sky GHI gets an AR(1) error (lag-1 correlation 0.8 per
    hour, held over the hour's four steps) with standard deviation 0.20 (one day ahead),
    k clipped to [0, 1.1]; the clear-sky GHI of a step is approximated by the largest GHI at
    that time of day over the fourteen days (the excerpt has clear days);
  * air temperature gets an AR(1) error of 1.5 degC standard deviation.

Deterministic (fixed seed); standard library only. Run from this directory.
"""
import csv
import math
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20261202)
rows = list(csv.DictReader(open("weather.csv")))
start = datetime(2016, 7, 1, 7, tzinfo=timezone.utc)


def stamp(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


clear = {}
for r in rows:
    t = stamp(r["ds"])
    key = (t.hour, t.minute)
    clear[key] = max(clear.get(key, 0.0), float(r["ghi"]))

out = []
e = t_err = 0.0
for r in rows:
    t = stamp(r["ds"])
    day = (t - start).days
    if day < 1:
        continue
    if t.minute == 0:
        e = 0.8 * e + math.sqrt(1 - 0.64) * rng.gauss(0, 1)
        t_err = 0.8 * t_err + math.sqrt(1 - 0.64) * rng.gauss(0, 1)
    cs = clear[(t.hour, t.minute)]
    ghi = float(r["ghi"])
    if cs > 1.0:
        k = min(1.1, max(0.0, ghi / cs + 0.20 * e))
        ghi_f = round(k * cs, 1)
    else:
        ghi_f = 0.0
    issued = start + timedelta(days=day) - timedelta(hours=12)
    out.append((r["unique_id"], r["ds"], issued.strftime("%Y-%m-%dT%H:%M:%SZ"), ghi_f,
                round(float(r["temp_air"]) + 1.5 * t_err, 2)))

with open("vintages.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["unique_id", "ds", "issued_at", "ghi", "temp_air"])
    w.writerows(out)
print(f"{len(out)} vintage values")
