"""Generates the bundled demo sample: a few dozen synthetic series shaped like Horizon's three
workloads. Deterministic (fixed seed); re-run to regenerate `observations.csv` and `series.csv`.

- events-XXX: daily event counts per country (weekly cycle, trend, bursts), 1 year.
- sku-NNNN: daily retail unit sales, intermittent (many zeros), 1 year.
The solar plant of the demo is real: `samples/pvdaq50` (PVDAQ system 50), loaded by the demo.
"""
import csv
import math
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20261121)
start_day = datetime(2025, 11, 1, tzinfo=timezone.utc)
rows, series = [], []

countries = ["USA", "CHN", "RUS", "GBR", "FRA", "DEU", "IND", "BRA", "UKR", "ISR", "IRN", "TUR"]
for i, c in enumerate(countries):
    level = rng.uniform(80, 900)
    trend = rng.uniform(-0.2, 0.6)
    weekly = [1.0, 1.05, 1.08, 1.06, 1.02, 0.8, 0.72]
    for d in range(365):
        ts = start_day + timedelta(days=d)
        burst = rng.uniform(1.8, 3.0) if rng.random() < 0.02 else 1.0
        mu = max(1.0, (level + trend * d) * weekly[ts.weekday()] * burst)
        value = max(0, round(rng.gauss(mu, math.sqrt(mu) * 1.5)))
        rows.append((f"events-{c}", ts.strftime("%Y-%m-%d"), value))
    series.append((f"events-{c}", c, "event_count", "1d", "events", 0, "", f"{round(level * 1.5)}", ""))

for i in range(12):
    p_demand = rng.uniform(0.15, 0.7)
    size = rng.uniform(1.5, 12)
    key = f"sku-{1000 + i}"
    for d in range(365):
        ts = start_day + timedelta(days=d)
        value = 0
        if rng.random() < p_demand:
            value = max(1, round(rng.expovariate(1 / size)))
        rows.append((key, ts.strftime("%Y-%m-%d"), value))
    # threshold: a day selling more than twice the typical order (stock on hand, say)
    series.append((key, key.upper(), "units_sold", "1d", "units", 0, "", f"{round(size * 2)}", ""))

with open("observations.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["unique_id", "ds", "y"])
    w.writerows(rows)
with open("series.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["key", "entity", "metric", "frequency", "unit", "lower", "upper", "thresholds", "timezone"])
    w.writerows(series)
print(f"{len(rows)} observations of {len(series)} series")
