#!/usr/bin/env bash
# Interval honesty on long high-frequency histories (development data shipped inside Python
# packages, see prepare.py): Horizon's default ensemble (`horizon backtest`) against
# statsforecast's SeasonalNaive, AutoETS and MSTL (every cycle) on the same rolling windows.
# Prints 80%/95% coverage, MSIS (95%) and MASE per series. Installs its venv
# (pmdarima, statsmodels, statsforecast). Usage: bench/intervals/run.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
OUT="${BENCH_OUT:-$REPO/bench/out/intervals}"
mkdir -p "$OUT"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import pmdarima, statsmodels, statsforecast" 2>/dev/null ||
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check pmdarima statsmodels statsforecast
BIN="${HORIZON_BIN:-$REPO/target/release/horizon}"
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release --bin horizon)
"$VENV/bin/python" "$HERE/prepare.py" "$OUT"
for spec in taylor:48:14 co2:52:8; do
  IFS=: read -r name h w <<< "$spec"
  "$BIN" backtest --input "$OUT/$name.csv" --horizon "$h" --windows "$w" \
    --output "$OUT/horizon_$name.csv" --summary "$OUT/horizon_sum_$name.csv" 2> "$OUT/horizon_$name.stderr"
done
"$VENV/bin/python" "$HERE/peers.py" "$OUT" "$OUT/peers.csv"
"$VENV/bin/python" - "$OUT" <<'PYEOF'
import sys, pandas as pd
out = sys.argv[1]
rows = []
for name in ("taylor", "co2"):
    s = pd.read_csv(f"{out}/horizon_sum_{name}.csv").iloc[0]
    rows.append({"series": name, "model": "horizon (ensemble)", "cov80": s["coverage_80"], "cov95": s["coverage_95"], "msis95": s["msis_95"], "mase": s["mase"]})
r = pd.concat([pd.DataFrame(rows), pd.read_csv(f"{out}/peers.csv")]).sort_values(["series", "model"])
r["cov80"] *= 100; r["cov95"] *= 100
print(r.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
PYEOF
