#!/usr/bin/env bash
# Day-ahead solar benchmark (see solar.py's docstring and bench/README.md "## Solar").
#
# Installs what it needs (a venv with numpy, pandas, pvlib, lightgbm, scikit-learn), builds
# the release binary when missing, prepares rolling-origin day-ahead inputs from the PVDAQ
# system 50 and Kaggle plant development sets (../shared/data/solar, or SOLAR_DATA), runs
# Horizon (covariate ensemble, the solar regression alone, the gradient-boosted member alone and
# beside it, the same without the location, the univariate ensemble) and the
# peers (climatology, smart persistence, LightGBM quantile regression on the same
# features) side by side, and prints the table and the time ratios of one run.
#
# Usage: bench/solar/run.sh [--exact] [--rebuild]
#   --exact    the development weather as given (no day-ahead error model)
#   --rebuild  cargo build --release --bin horizon even if the binary exists
set -euo pipefail
{
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
EXACT=""
MODE=degraded
REBUILD=0
for a in "$@"; do
  case "$a" in
    --exact) EXACT="--exact"; MODE=exact ;;
    --rebuild) REBUILD=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done
OUT="${BENCH_OUT:-$REPO/bench/out/solar}/$MODE"
log() { echo "[solar] $*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  python3 -m venv "$VENV" || { echo "could not create a venv (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
if ! "$VENV/bin/python" -c "import numpy, pandas, pvlib, lightgbm, sklearn" 2>/dev/null; then
  log "pip install numpy pandas pvlib lightgbm scikit-learn"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check numpy pandas pvlib lightgbm scikit-learn
fi
BIN="${HORIZON_BIN:-$REPO/target/release/horizon}"
if [ "$REBUILD" = 1 ] || [ ! -x "$BIN" ]; then
  log "cargo build --release --bin horizon"
  (cd "$REPO" && cargo build --release --bin horizon)
fi
PY="$VENV/bin/python"
mkdir -p "$OUT"
"$PY" "$HERE/solar.py" prepare "$OUT" $EXACT
Q=$("$PY" -c "print(','.join(str(round(0.01*i,2)) for i in range(1,100)))")
declare -A SECONDS_OF
run_horizon() { # name, extra args...
  local name="$1"; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN" forecast --input "$OUT/y.csv" --horizon 144 --quantiles "$Q" --output "$OUT/fc_$name.csv" "$@" 2> "$OUT/$name.stderr"
  t1=$(date +%s.%N)
  SECONDS_OF[$name]=$(echo "$t1 - $t0" | bc -l)
  log "$name: $(tail -1 "$OUT/$name.stderr") in ${SECONDS_OF[$name]} s"
}
command -v bc >/dev/null || { log "bc missing: apt-get install bc"; exit 1; }
run_horizon horizon --covariates "$OUT/x.csv" --series "$OUT/attrs.csv"
run_horizon horizon_solar_qr --covariates "$OUT/x.csv" --series "$OUT/attrs.csv" --models solar_qr
# The gradient-boosted member alone, and beside the solar regression (no univariate members).
run_horizon horizon_solar_gbt --covariates "$OUT/x.csv" --series "$OUT/attrs.csv" --models solar_gbt
run_horizon horizon_qr_gbt --covariates "$OUT/x.csv" --series "$OUT/attrs.csv" --models solar_qr,solar_gbt
run_horizon horizon_univariate --series "$OUT/attrs_capacity.csv"
# The same weather without the location and orientation: day and night from the history.
run_horizon horizon_no_location --covariates "$OUT/x.csv" --series "$OUT/attrs_capacity.csv"
log "peers (climatology, smart persistence, LightGBM)"
"$PY" "$HERE/solar.py" peers "$OUT"
"$PY" "$HERE/solar.py" score "$OUT"
echo
echo "wall seconds, $(nproc) cores, $(python3 -c "import json;print(len(json.load(open('$OUT/meta.json'))))") origins (fit and predict of every origin; Horizon uses every core, the peer one process):"
"$PY" - "$OUT" "${SECONDS_OF[horizon]}" "${SECONDS_OF[horizon_solar_qr]}" "${SECONDS_OF[horizon_solar_gbt]}" <<'PYEOF'
import json, sys
out, h, q, g = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
peer = json.load(open(f"{out}/peer_seconds.json"))
print(f"  horizon (ensemble)   {h:8.1f} s")
print(f"  horizon (solar_qr)   {q:8.1f} s")
print(f"  horizon (solar_gbt)  {g:8.1f} s   solar_gbt/lightgbm = {g / peer['lightgbm']:.3f}")
print(f"  lightgbm peer        {peer['lightgbm']:8.1f} s   horizon/lightgbm = {h / peer['lightgbm']:.3f}")
PYEOF
}
