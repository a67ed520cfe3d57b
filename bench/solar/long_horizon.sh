#!/usr/bin/env bash
# 14-day hourly horizons with exact weather on PVDAQ system 50 (long_horizon.py's docstring):
# daytime pinball per lead day, day 14 against day 1. Uses run.sh's venv and release binary.
# Usage: bench/solar/long_horizon.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="$HERE/.venv/bin/python"
[ -x "$PY" ] || { echo "run bench/solar/run.sh first (it creates the venv)" >&2; exit 1; }
BIN="${HORIZON_BIN:-$REPO/target/release/horizon}"
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release --bin horizon)
OUT="${BENCH_OUT:-$REPO/bench/out/solar}/long"
"$PY" "$HERE/long_horizon.py" prepare "$OUT"
Q=$("$PY" -c "print(','.join(str(round(0.01*i,2)) for i in range(1,100)))")
for name in horizon horizon_solar_qr; do
  extra=()
  [ "$name" = horizon_solar_qr ] && extra=(--models solar_qr)
  "$BIN" forecast --input "$OUT/y.csv" --covariates "$OUT/x.csv" --series "$OUT/attrs.csv" \
    --horizon 336 --quantiles "$Q" --output "$OUT/fc_$name.csv" "${extra[@]}" 2> "$OUT/$name.stderr"
  echo "[long] $name: $(tail -1 "$OUT/$name.stderr")" >&2
done
"$PY" "$HERE/long_horizon.py" score "$OUT"
