#!/usr/bin/env bash
# Speed and memory of the covariate ensemble against the LightGBM peer in the same run:
# 100 plants (PVDAQ system 50 origins, degraded day-ahead weather, solar.py's error model)
# with 30 days of 15-minute history, forecast for the next local day from noon.
#
# Prints wall seconds of Horizon (all cores, and one thread) and of the peer (one process,
# 15 LightGBM quantile models per plant, features precomputed), the ratios, and memory per
# series in flight, two ways: (peak RSS of the 100-plant run - peak RSS of a 1-plant run) /
# threads, which counts the input and output the batch CLI holds, and the marginal cost of
# one more concurrent series, (peak at N threads - peak at 1 thread) / (N - 1).
# Uses run.sh's venv and release binary. Usage: bench/solar/scale.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY="$HERE/.venv/bin/python"
[ -x "$PY" ] || { echo "run bench/solar/run.sh first (it creates the venv)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "/usr/bin/time missing: apt-get install time" >&2; exit 1; }
BIN="${HORIZON_BIN:-$REPO/target/release/horizon}"
[ -x "$BIN" ] || (cd "$REPO" && cargo build --release --bin horizon)
OUT="${BENCH_OUT:-$REPO/bench/out/solar}/scale"
"$PY" "$HERE/solar.py" prepare "$OUT" --scale
Q=$("$PY" -c "print(','.join(str(round(0.01*i,2)) for i in range(1,100)))")
THREADS=$(nproc)
run() { # label, input, threads → "seconds peak_kb"
  local t0 t1
  t0=$(date +%s.%N)
  RAYON_NUM_THREADS="$3" /usr/bin/time -f "%M" -o "$OUT/$1.rss" "$BIN" forecast --input "$2" \
    --covariates "$OUT/x.csv" --series "$OUT/attrs.csv" --horizon 144 --quantiles "$Q" \
    --output "$OUT/fc_$1.csv" 2> "$OUT/$1.stderr"
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc -l) $(cat "$OUT/$1.rss")"
}
head -1 "$OUT/y.csv" > "$OUT/y1.csv"
first=$(sed -n 2p "$OUT/y.csv" | cut -d, -f1)
grep "^$first," "$OUT/y.csv" >> "$OUT/y1.csv"
read -r _ base_kb < <(run one "$OUT/y1.csv" 1)
read -r all_s all_kb < <(run all "$OUT/y.csv" "$THREADS")
read -r single_s single_kb < <(run single "$OUT/y.csv" 1)
"$PY" "$HERE/solar.py" peers "$OUT"
"$PY" - "$OUT" "$all_s" "$single_s" "$all_kb" "$base_kb" "$single_kb" "$THREADS" <<'PYEOF'
import json, sys
out, all_s, single_s, all_kb, base_kb, single_kb, threads = sys.argv[1], *map(float, sys.argv[2:7]), int(sys.argv[7])
peer = json.load(open(f"{out}/peer_seconds.json"))["lightgbm"]
n = len(json.load(open(f"{out}/meta.json")))
print(f"{n} plants, 30 days of 15-minute history, next local day from noon")
print(f"  horizon, {threads} threads   {all_s:8.1f} s   ÷ lightgbm {all_s / peer:.3f}")
print(f"  horizon, 1 thread    {single_s:8.1f} s   ÷ lightgbm {single_s / peer:.3f}")
print(f"  lightgbm peer        {peer:8.1f} s   (1 process)")
print(f"  peak RSS: {all_kb / 1024:.1f} MB for {n} plants on {threads} threads, {single_kb / 1024:.1f} MB on 1 thread, "
      f"{base_kb / 1024:.1f} MB for 1 plant")
print(f"  (peak - 1-plant baseline) / threads: {(all_kb - base_kb) / 1024 / threads:.2f} MB "
      f"(includes the whole input and output the batch CLI holds)")
if threads > 1:
    print(f"  one more series in flight (peak at {threads} threads - peak at 1) / {threads - 1}: "
          f"{(all_kb - single_kb) / 1024 / (threads - 1):.2f} MB")
PYEOF
