"""Generates the bundled demo sample: a few dozen synthetic series shaped like Horizon's three
workloads. Deterministic (fixed seed); re-run to regenerate `observations.csv` and `series.csv`.

- events-XXX: daily event counts per country (weekly cycle, trend, bursts), 1 year.
- sku-NNNN: daily retail unit sales, intermittent (many zeros), 1 year.
- solar-NN: 15-minute plant output in MW, zero at night, capped at plant capacity, 21 days.
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

solar_start = datetime(2026, 10, 1, tzinfo=timezone.utc)
for i in range(6):
    capacity = rng.choice([5.0, 10.0, 20.0, 50.0])
    key = f"solar-{i + 1:02d}"
    for step in range(21 * 96):
        ts = solar_start + timedelta(minutes=15 * step)
        hour = ts.hour + ts.minute / 60
        day = step // 96
        cloud = 0.55 + 0.45 * math.sin(day * 1.7 + i) ** 2
        sun = max(0.0, math.sin(math.pi * (hour - 6) / 12)) if 6 <= hour <= 18 else 0.0
        value = capacity * 1.05 * sun * cloud * rng.uniform(0.85, 1.1)
        value = min(capacity, max(0.0, value))
        rows.append((key, ts.strftime("%Y-%m-%dT%H:%M:%SZ"), round(value, 3)))
    series.append((key, f"PLANT{i + 1:02d}", "power_mw", "15min", "MW", 0, capacity, f"{capacity * 0.8}", "Europe/London"))

with open("observations.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["unique_id", "ds", "y"])
    w.writerows(rows)
with open("series.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["key", "entity", "metric", "frequency", "unit", "lower", "upper", "thresholds", "timezone"])
    w.writerows(series)
print(f"{len(rows)} observations of {len(series)} series")
