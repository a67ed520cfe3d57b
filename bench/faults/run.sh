#!/usr/bin/env bash
# Fault benchmark: the release binaries under the full-size faults of which CI runs small
# versions (tests/e2e/faults.rs, tests/e2e/ingest_faults.rs, horizon-http's tests/faults.rs).
# Prints, side by side in one run:
#   ingest   peak RSS of `horizon-ingest once` on hostile files (a 1 GiB zip bomb, a 50 MB line,
#            a 50 MB header, 1M bad rows) next to the same process on a clean file of 1M good
#            rows (the peer), and what became of each file;
#   restart  requests by status and p99 latency of GET /v1/series and a cached forecast while
#            PostgreSQL (a cluster of the script's own) restarts with -m immediate, and the
#            seconds until every route answers 200 again; the same load without a restart is
#            the peer;
#   redis    p99 latency and requests by status with Redis frozen (SIGSTOP) next to Redis
#            running, and the API's Redis call counts (attempted / failed / skipped).
# Targets (issue "Security and reliability under faults"): no 500, p99 under 50 ms with Redis
# frozen, ingest under 200 MB.
#
# Needs: wrk, PostgreSQL server binaries (initdb, pg_ctl), redis-server, python3; installed with
# apt-get when missing. Runs as root (the cluster runs as user postgres) or as postgres.
#   bash bench/faults/run.sh            (SECS=10 per load run, CONNS=32; ONLY_INGEST=1 stops
#                                        after the ingest part)
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
secs="${SECS:-10}"
conns="${CONNS:-32}"
work="$(mktemp -d /tmp/horizon-faults.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    [ -n "${pgbin:-}" ] && as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

need() { command -v "$1" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }
need wrk wrk
need redis-server redis-server
need python3 python3
need /usr/bin/time time
pgbin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$pgbin" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A backtrace captured by a failing command (RUST_BACKTRACE=1 in a developer's shell) loads the
# binary's debug info, ~200 MB, and would be measured as ingest memory.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
(cd "$root" && cargo build --quiet --release -p horizon -p horizon-api -p horizon-ingest -p horizon-pipeline)

# Peak RSS (MB) of a command: GNU time's maximum resident set size.
peak_rss() {
    /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null || true
    echo $(( $(tail -n 1 "$work/rss") / 1024 ))
}

echo "== ingest: hostile files at full size"
mkdir -p "$work/ingest/inbox" "$work/ingest/clean" "$work/ingest/data"
python3 - "$work/ingest" <<'PY'
import sys, zipfile, os
root = sys.argv[1]
inbox, clean = os.path.join(root, "inbox"), os.path.join(root, "clean")
h = "unique_id,ds,y\n"
# 1 GiB of zeros in a zip (written in chunks; about 1 MB compressed).
with zipfile.ZipFile(os.path.join(inbox, "1-bomb.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    with z.open("zeros.csv", "w", force_zip64=True) as f:
        f.write(h.encode())
        chunk = b"0" * (1 << 20)
        for _ in range(1024):
            f.write(chunk)
with open(os.path.join(inbox, "2-line.csv"), "w") as f:
    f.write(h + "a,2026-01-01,1\n" + "a,2026-01-02," + "9" * (50 << 20) + "\na,2026-01-03,3\n")
with open(os.path.join(inbox, "3-header.csv"), "w") as f:
    f.write("unique_id,ds,y," + "x" * (50 << 20) + "\na,2026-01-01,1\n")
with open(os.path.join(inbox, "4-bad.csv"), "w") as f:
    f.write(h)
    for i in range(1_000_000):
        f.write(f"b{i % 1000},2026-01-01,not-a-number-{i}\n")
with open(os.path.join(clean, "good.csv"), "w") as f:
    f.write(h)
    for i in range(1_000_000):
        f.write(f"g{i % 1000},{1767225600 + (i // 1000) * 3600},{i % 97}\n")
PY
# `once` over a directory source: the daemon's own path (zip detection, failed/, runs).
ingest_rss() {
    peak_rss env DATABASE_URL="sqlite://$work/ingest/$1.db?mode=rwc" \
        HORIZON_DATA_DIR="$work/ingest/data-$1" \
        HORIZON_EVENT_STORE_PATH="$work/ingest/events-$1.db" HORIZON_LOG_LEVEL=warn \
        HORIZON_INGEST_SOURCES="[{name=\"s\",dir=\"$work/ingest/$2\",glob=\"*\",format=\"csv\"}]" \
        "$target/release/horizon-ingest" once
}
hostile_rss="$(ingest_rss hostile inbox 2>"$work/ingest/hostile.log")"
clean_rss="$(ingest_rss clean clean 2>"$work/ingest/clean.log")"
printf '%-44s %8s\n' "input" "peak MB"
printf '%-44s %8s\n' "hostile (bomb, 50 MB line and header, 1M bad)" "$hostile_rss"
printf '%-44s %8s\n' "peer: clean file of 1M good rows" "$clean_rss"
echo "ratio hostile / clean: $(python3 -c "print(round($hostile_rss / max(1, $clean_rss), 2))")"
echo "processed: $(ls "$work/ingest/inbox/processed" 2>/dev/null | tr '\n' ' ')"
echo "failed:    $(ls "$work/ingest/inbox/failed" 2>/dev/null | tr '\n' ' ')"
python3 - "$work/ingest/hostile.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for source, n, reason in db.execute(
        "SELECT source, COUNT(*), MIN(substr(reason, 1, 90)) FROM ingest_rejections GROUP BY source ORDER BY source"):
    print(f"  rejections {source}: {n} (e.g. {reason})")
for row in db.execute("SELECT status, rows_read, rows_landed, rows_rejected FROM ingest_runs"):
    print("  run:", row)
PY

[ "${ONLY_INGEST:-0}" = 1 ] && exit 0

echo
echo "== API: load during a PostgreSQL restart"
pgport="$(free_port)"
mkdir -p "$work/pg"
chown postgres:postgres "$work/pg" 2>/dev/null || true
as_pg "$pgbin/initdb" -D "$work/pg" --auth=trust --username=postgres --no-sync -E UTF8 >/dev/null
pgopts="-p $pgport -c listen_addresses=127.0.0.1 -k $work/pg -c fsync=off"
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w -o "$pgopts" start >/dev/null
export DATABASE_URL="postgres://postgres@127.0.0.1:$pgport/postgres"
export HORIZON_DATA_DIR="$work/api"
export HORIZON_LOG_LEVEL=warn
export HORIZON_API_RATE_LIMIT_PER_SEC=1000000 HORIZON_API_RATE_LIMIT_BURST=1000000
apiport="$(free_port)"
export HORIZON_API_BIND="127.0.0.1:$apiport"
"$target/release/horizon" demo --no-serve >"$work/demo.log" 2>&1
key="$("$target/release/horizon" keys create --name bench --scopes read | tail -n 1)"
series="$(curl -s -H "X-API-Key: $key" "http://127.0.0.1:$apiport/v1/series?limit=1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["key"])' 2>/dev/null || true)"
start_api() {
    "$target/release/horizon-api" 2>>"$work/api.log" &
    api_pid=$!
    pids+=("$api_pid")
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$apiport/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "horizon-api did not start"; cat "$work/api.log"; exit 1
}
start_api
series="$(curl -s -H "X-API-Key: $key" "http://127.0.0.1:$apiport/v1/series?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["key"])')"
cat >"$work/mix.lua" <<LUA
-- Alternates a database read and a cached forecast; counts answers by status per thread.
local paths = {"/v1/series?limit=5", "/v1/series/$series/forecasts/latest"}
local threads = {}
local n = 0
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function request()
  n = n + 1
  return wrk.format("GET", paths[(n % 2) + 1], {["X-API-Key"] = "$key"})
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do table.insert(parts, k .. ":" .. v) end
  table.sort(parts)
  io.write(string.format("statuses %s; socket errors %d; p50 %.1f ms; p99 %.1f ms; %.0f req/s\n",
    table.concat(parts, " "), summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
LUA
load() { wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/mix.lua" "http://127.0.0.1:$apiport" | grep '^statuses'; }
curl -s -H "X-API-Key: $key" "http://127.0.0.1:$apiport/v1/series/$series/forecasts/latest" >/dev/null
echo "peer, no restart:      $(load)"
(
    sleep 2
    as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg/log" -w -m immediate -o "$pgopts" restart >/dev/null
    t0="$(date +%s.%N)"
    until [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $key" "http://127.0.0.1:$apiport/v1/series?limit=5")" = 200 ]; do sleep 0.05; done
    echo "recovered $(python3 -c "print(round($(date +%s.%N) - $t0, 2))") s after the server was back" >"$work/recovery.txt"
) &
restarter=$!
echo "PostgreSQL restarted:  $(load)"
wait "$restarter"
cat "$work/recovery.txt"
echo "API process still running: $(kill -0 "$api_pid" 2>/dev/null && echo yes || echo no)"
kill "$api_pid"; wait "$api_pid" 2>/dev/null || true

echo
echo "== API: Redis frozen (SIGSTOP)"
redisport="$(free_port)"
redis-server --port "$redisport" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
pids+=("$redis_pid")
sleep 0.5
export REDIS_URL="redis://127.0.0.1:$redisport"
start_api
curl -s -H "X-API-Key: $key" "http://127.0.0.1:$apiport/v1/series/$series/forecasts/latest" >/dev/null
redis_calls() { curl -s "http://127.0.0.1:$apiport/metrics" | grep '^horizon_redis_calls_total' | sed 's/horizon_redis_calls_total//' | tr '\n' ' '; }
echo "peer, Redis running:   $(load)"
kill -STOP "$redis_pid"
echo "Redis frozen:          $(load)"
echo "Redis calls: $(redis_calls)"
kill -CONT "$redis_pid"
echo "API process still running: $(kill -0 "$api_pid" 2>/dev/null && echo yes || echo no)"
