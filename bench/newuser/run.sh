#!/usr/bin/env bash
# A new user's first hour, scripted: clone the repository fresh, build it as the README says
# (release), run the README's commands and check that each rough edge the "first hour" issue
# listed now answers as intended. Prints one PASS/FAIL line per check and exits non-zero when
# one fails. Needs a release build, so it is not part of CI:
#
#   bash bench/newuser/run.sh                 # builds into this checkout's target/ (reused)
#   CARGO_TARGET_DIR=/tmp/t bash bench/newuser/run.sh
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
port="$((20000 + RANDOM % 10000))"
demo_pid=""
failed=0
cleanup() {
    if [ -n "$demo_pid" ]; then kill "$demo_pid" 2>/dev/null; wait "$demo_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT
pass() { printf 'PASS  %s\n' "$*"; }
fail() { printf 'FAIL  %s\n' "$*"; failed=$((failed + 1)); }
check() { # check "what" command...: PASS when the command succeeds
    local what="$1"; shift
    if "$@" >"$work/out" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/      /' "$work/out" | tail -n 8; fi
}

echo "== fresh clone of $(git -C "$root" rev-parse --short HEAD)"
git clone --quiet "$root" "$work/horizon"
cd "$work/horizon"
started=$SECONDS
cargo build --release --quiet --bins || { echo "release build failed"; exit 1; }
echo "   release build: $((SECONDS - started)) s"
bin="$CARGO_TARGET_DIR/release"
user="$work/user"; mkdir -p "$user"

echo "== deployment files"
check "compose file parses and validates against the Compose Specification" bash tests/compose.sh

echo "== every binary answers --help and --version without side effects"
for b in horizon horizon-api horizon-ingest horizon-pipeline; do
    for flag in --help -h --version; do
        (cd "$user" && timeout 10 "$bin/$b" $flag >/dev/null 2>&1)
        rc=$?
        if [ "$rc" -eq 0 ] && [ ! -e "$user/data" ]; then pass "$b $flag exits 0 and creates nothing"
        else fail "$b $flag (exit $rc, data/ created: $([ -e "$user/data" ] && echo yes || echo no))"; rm -rf "$user/data"; fi
    done
done

echo "== the demo (README: cargo run --release --bin horizon -- demo)"
export HORIZON_API_BIND="127.0.0.1:$port"
(cd "$user" && "$bin/horizon" demo >"$work/demo.out" 2>"$work/demo.err") &
demo_pid=$!
for _ in $(seq 1 600); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
key="$(grep -oE 'hzn_[A-Za-z0-9_]+' "$work/demo.out" | head -n 1)"
base="http://127.0.0.1:$port"
api() { curl -s -H "X-API-Key: $key" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "$@"; }
[ -n "$key" ] && pass "the demo serves and prints a key" || fail "the demo printed no key: $(tail -n 5 "$work/demo.err")"

second="$(cd "$user" && timeout 60 "$bin/horizon" demo 2>&1)"; rc=$?
if [ "$rc" -ne 0 ] && grep -q "HORIZON_API_BIND" <<<"$second" && [ "$(code "$base/v1/series")" = 200 ]; then
    pass "a second demo in the same directory fails on the port, naming it, and the first key still works"
else fail "second demo: exit $rc, first key answers $(code "$base/v1/series"): $(tail -n 3 <<<"$second")"; fi

echo "== forecasts: scheduled vs ad-hoc"
latest_before="$(api "$base/v1/series/events-USA/forecasts/latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
ex="$(api -X POST -H 'Content-Type: application/json' -d '{"series":["events-USA"],"horizon":7}' "$base/v1/predict" | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution_id"])')"
for _ in $(seq 1 300); do
    st="$(api "$base/v1/executions/$ex" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
    [ "$st" = succeeded ] || [ "$st" = failed ] && break; sleep 0.2
done
latest_after="$(api "$base/v1/series/events-USA/forecasts/latest" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
adhoc="$(api "$base/v1/series/events-USA/forecasts/latest?kind=adhoc" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["horizon"])')"
[ "$st" = succeeded ] && [ "$latest_before" = "$latest_after" ] && [ "$adhoc" = "adhoc 7" ] \
    && pass "an ad-hoc predict job leaves the scheduled latest forecast alone (kind=adhoc shows it)" \
    || fail "ad-hoc: job $st, latest $latest_before -> $latest_after, adhoc '$adhoc'"

echo "== API edges"
c="$(code "$base/v1/series/events-USA/observations?from=2026-10-10")"
[ "$c" = 200 ] && pass "date-only ?from= is accepted" || fail "date-only ?from= answers $c"
c="$(code "$base/v1/series/events-USA/observations?from=2026-10-10T00:00:00+02:00")"
[ "$c" = 200 ] && pass "an unencoded +02:00 offset is accepted" || fail "unencoded +02:00 answers $c"
msg="$(api "$base/v1/series/events-USA/observations?from=yesterday")"
grep -q '"from"\|from' <<<"$msg" && grep -qi 'date' <<<"$msg" && pass "a bad timestamp names the parameter and the accepted forms" || fail "bad timestamp: $msg"
hdr="$(curl -s -D - -o /dev/null -X DELETE -H "X-API-Key: $key" "$base/v1/series/events-USA")"
grep -q '^HTTP/1.1 405' <<<"$hdr" && grep -qi '^allow:' <<<"$hdr" && pass "DELETE on a resource is 405 with Allow" || fail "DELETE: $(head -n 1 <<<"$hdr")"
# Models are stored by train jobs (the demo runs none): train one series, then list.
ex="$(api -X POST -H 'Content-Type: application/json' -d '{"series":["events-USA"]}' "$base/v1/train" | python3 -c 'import json,sys; print(json.load(sys.stdin)["execution_id"])')"
for _ in $(seq 1 300); do
    st="$(api "$base/v1/executions/$ex" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')"
    [ "$st" = succeeded ] || [ "$st" = failed ] && break; sleep 0.2
done
api "$base/v1/models?series=events-USA&limit=5" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["items"] and all(i["series_key"] == "events-USA" for i in d["items"]), d' \
    && pass "models name their series by key" || fail "models without series_key (train job $st)"
c="$(code "$base/v1/series/events-USA/observations?resample=hour&limit=5")"
[ "$c" = 200 ] && pass "hour resample" || fail "hour resample answers $c"
api -X PATCH -H 'Content-Type: application/json' -d '{"thresholds":[{"value":40,"direction":"above"},{"value":2,"direction":"below"}]}' "$base/v1/series/events-USA" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["thresholds"][1]=={"value":2.0,"direction":"below"}, d' \
    && pass "thresholds are a typed field with a direction" || fail "typed thresholds"
api "$base/openapi.json" | python3 -c '
import json,sys
d=json.load(sys.stdin)
bad=[(m,p) for p,o in d["paths"].items() for m,op in o.items() if not op.get("summary") or any(not r.get("description") for r in op["responses"].values())]
assert not bad, bad' && pass "every OpenAPI operation has a summary and every response a description" || fail "OpenAPI summaries/descriptions"
m="$(curl -s "$base/metrics")"
for name in horizon_pipeline_runs_total horizon_jobs_total horizon_partitions_total horizon_ingest_records_total horizon_forecast_age_seconds; do
    grep -q "^$name{" <<<"$m" && pass "/metrics has $name" || fail "/metrics lacks $name"
done

echo "== forecast warnings"
api "$base/v1/forecasts?limit=100" | python3 -c '
import json,sys
kinds={w["kind"] for f in json.load(sys.stdin)["items"] for w in f["warnings"]}
print(" ".join(sorted(kinds)))' >"$work/kinds"
grep -q . "$work/kinds" && pass "forecast warnings are typed: $(cat "$work/kinds")" || fail "no typed warnings in the demo's forecasts"

echo "== data in over HTTP"
printf 'unique_id,ds,y\nwalk-a,2026-01-01,1\nwalk-a,2026-01-02,x\nwalk-a,2026-01-03,3\n' >"$work/up.csv"
api -X POST -H 'Content-Type: text/csv' --data-binary @"$work/up.csv" "$base/v1/observations:import" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); assert (d["rows_landed"], d["rows_rejected"], d["series_created"]) == (2, 1, ["walk-a"]), d' \
    && pass "POST /v1/observations:import lands a CSV, names the created series and the bad line" || fail "import"
c="$(code -X POST -H 'Content-Type: application/json' --data-binary @"$work/up.csv" "$base/v1/observations:import")"
[ "$c" = 415 ] && pass "another media type is 415" || fail "import with JSON answers $c"

echo "== batch CLI"
cd "$user"
printf 'unique_id,ds,y\na,2026-01-01,1\na,2026-01-02,2\na,2026-01-02,3\n' >dup.csv
out="$("$bin/horizon" forecast --input dup.csv --horizon 2 --output - 2>&1)"; rc=$?
[ "$rc" -ne 0 ] && grep -q "lines 3 and 4" <<<"$out" && pass "duplicate stamps stop the run naming both lines" || fail "duplicates: $out"
out="$("$bin/horizon" forecast --input dup.csv --horizon 2 --on-duplicate mean --output - 2>&1)"
grep -q "duplicate" <<<"$out" && pass "--on-duplicate mean resolves them with a warning" || fail "on-duplicate: $out"
printf 'unique_id,ds,y\na,2026-01-01,1\na,2026-01-02,\na,2026-01-04,4\na,2026-01-05,NaN\na,2026-01-06,5\n' >gaps.csv
err="$("$bin/horizon" forecast --input gaps.csv --horizon 2 --output fc.csv 2>&1 >/dev/null)"
grep -qi "gap\|missing\|filled" <<<"$err" && pass "NaN, blanks and gaps are reported on stderr" || fail "gaps: $err"
printf 'unique_id,ds,y\na,2026-01-01,5\n' >one.csv
err="$("$bin/horizon" forecast --input one.csv --horizon 3 --output - 2>&1 >/dev/null)"
grep -qi "short\|one observation\|history" <<<"$err" && pass "one observation says the history is too short" || fail "one observation: $err"
: >empty.csv
err="$("$bin/horizon" forecast --input empty.csv --horizon 3 --output - 2>&1)"
grep -q "empty" <<<"$err" && pass "an empty file says it is empty" || fail "empty: $err"
cp "$root/crates/horizon-batch/tests/fixtures/daily.csv" daily.csv
n="$("$bin/horizon" forecast --input - --horizon 3 --output - <daily.csv 2>/dev/null | wc -l)"
[ "$n" = 7 ] && pass "- reads standard input and writes standard output" || fail "stdin/stdout gave $n lines"
"$bin/horizon" backtest --input one.csv --horizon 3 --output m.csv >/dev/null 2>&1
[ $? -ne 0 ] && pass "a backtest that scored nothing exits non-zero" || fail "empty backtest exited 0"
head -n 1 <("$bin/horizon" forecast --input daily.csv --horizon 3 --models ets,theta --output - 2>/dev/null) >h.txt
grep -q "^unique_id,ds,mean,lo-80,hi-80,lo-95,hi-95,ets,ets-lo-80,ets-hi-80,ets-lo-95,ets-hi-95,theta," h.txt \
    && pass "several --models add one column set each" || fail "per-model columns: $(cat h.txt)"
head -n 1 <("$bin/horizon" backtest --input daily.csv --horizon 3 --windows 2 --output-format cv --output - 2>/dev/null) >h.txt
grep -q "^unique_id,ds,cutoff,y,mean," h.txt && pass "backtest --output-format cv" || fail "cv: $(cat h.txt)"
"$bin/horizon" forecast --input "$root/crates/horizon-batch/tests/fixtures/daily-ns-snappy.parquet" --horizon 3 --output fc.parquet >/dev/null 2>&1 \
    && [ "$(head -c 4 fc.parquet)" = PAR1 ] && pass "Parquet in and out" || fail "Parquet"

echo "== the Python client against the demo"
venv="$CARGO_TARGET_DIR/newuser-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet "$work/horizon/clients/python" >/dev/null 2>&1
HORIZON_URL="$base" HORIZON_API_KEY="$key" "$venv/bin/python" - <<'PY' >"$work/py.out" 2>&1
import os, pandas as pd
from horizon_client import Client
c = Client(os.environ["HORIZON_URL"], os.environ["HORIZON_API_KEY"])
df = pd.read_csv("daily.csv", parse_dates=["ds"])
fc = c.forecast(df, h=5, levels=[80], quantiles=[0.5])
assert list(fc.columns) == ["unique_id", "ds", "mean", "lo-80", "hi-80", "q-0.5"], fc.columns
assert len(fc) == 10
print(c.forecasts("events-USA").head(2).to_string())
PY
[ $? -eq 0 ] && pass "pip install ./clients/python; client.forecast(df) returns the CLI's columns" || { fail "Python client"; tail -n 5 "$work/py.out"; }

echo
if [ "$failed" -eq 0 ]; then echo "all checks passed"; else echo "$failed check(s) failed"; fi
exit "$failed"
