#!/usr/bin/env bash
# Load benchmark of GET /v1/forecasts/{id}: the real horizon-api (release build) on PostgreSQL,
# uncached (no REDIS_URL) and cached (Redis read-through), next to the raw ceilings it is
# compared with: a primary-key SELECT of the same row through pgbench, and a Redis GET
# through redis-benchmark. Same concurrency everywhere.
#
# Needs: wrk (apt-get install -y wrk), pgbench and redis-benchmark, PostgreSQL and Redis.
#   PGURL=postgres://postgres@127.0.0.1:5432 REDIS_URL=redis://127.0.0.1:6379 bench/api/run.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
pgurl="${PGURL:-postgres://postgres@127.0.0.1:5432}"
redis_url="${REDIS_URL:-redis://127.0.0.1:6379}"
db="horizon_bench_api"
conns="${CONNECTIONS:-32}"
threads="${THREADS:-2}"
secs="${SECONDS_PER_RUN:-10}"
port="${PORT:-18080}"
work="$(mktemp -d)"
api_pid=""
stop_api() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; api_pid=""; fi
}
trap 'stop_api; rm -rf "$work"' EXIT

(cd "$root" && cargo build --quiet --release -p horizon -p horizon-api)
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export DATABASE_URL="$pgurl/$db"
export HORIZON_DATA_DIR="$work"
export HORIZON_API_BIND="127.0.0.1:$port"
export HORIZON_API_RATE_LIMIT_PER_SEC=1000000
export HORIZON_API_RATE_LIMIT_BURST=1000000
export HORIZON_DB_MAX_CONNECTIONS="$conns"
export HORIZON_LOG_LEVEL=warn
unset REDIS_URL

"$target/release/horizon" demo --no-serve >"$work/demo.log" 2>&1
key="$("$target/release/horizon" keys create --name bench --scopes read | tail -n 1)"
id="$(psql "$DATABASE_URL" -Atc "SELECT id FROM predictions ORDER BY id LIMIT 1")"
url="http://127.0.0.1:$port/v1/forecasts/$id"

start_api() {
    "$target/release/horizon-api" 2>>"$work/api.log" &
    api_pid=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "api did not start"; cat "$work/api.log"; exit 1
}

# Prints "rps p50_ms p99_ms" from wrk --latency output.
wrk_run() {
    curl -fs -H "X-API-Key: $key" "$url" >/dev/null
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -H "X-API-Key: $key" "$url" >"$work/wrk.txt"
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { if (bad) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 } printf "%.0f %.2f %.2f\n", rps, p50, p99 }
    ' "$work/wrk.txt"
}

start_api
read -r un_rps un_p50 un_p99 < <(wrk_run)
stop_api
export REDIS_URL="$redis_url"
start_api
read -r ca_rps ca_p50 ca_p99 < <(wrk_run)
stop_api

# pgbench: the primary-key SELECT of the same row, prepared statements, same clients.
echo "SELECT * FROM predictions WHERE id = '$id';" >"$work/pk.sql"
(cd "$work" && pgbench -n -M prepared -c "$conns" -j "$threads" -T "$secs" -l -f pk.sql "$DATABASE_URL" >"$work/pgbench.txt" 2>&1)
pg_tps="$(awk '/^tps = / { printf "%.0f", $3 }' "$work/pgbench.txt")"
read -r pg_p50 pg_p99 < <(cat "$work"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n | awk '
    { v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')

# redis-benchmark: GET of a key of the same size as the cached forecast.
host="$(echo "$redis_url" | sed -E 's#redis://([^:/]+).*#\1#')"
rport="$(echo "$redis_url" | sed -E 's#redis://[^:]+:([0-9]+).*#\1#')"
size="$(curl -fs -H "X-API-Key: $key" "$url" | wc -c)"
redis-benchmark -h "$host" -p "$rport" -t get -n 400000 -c "$conns" -d "$size" --threads "$threads" --csv >"$work/redis.csv" 2>/dev/null
read -r rd_rps rd_p50 rd_p99 < <(awk -F'"' '/"GET"/ { printf "%.0f %s %s\n", $4, $10, $14 }' "$work/redis.csv")

echo
echo "GET /v1/forecasts/{id}: $conns connections, $threads threads, ${secs}s per run, body $size bytes"
printf '%-34s %12s %9s %9s\n' "what" "req/s" "p50 ms" "p99 ms"
printf '%-34s %12s %9s %9s\n' "API uncached (PostgreSQL)" "$un_rps" "$un_p50" "$un_p99"
printf '%-34s %12s %9s %9s\n' "raw PK SELECT (pgbench)" "$pg_tps" "$pg_p50" "$pg_p99"
printf '%-34s %12s %9s %9s\n' "API cached (Redis)" "$ca_rps" "$ca_p50" "$ca_p99"
printf '%-34s %12s %9s %9s\n' "raw Redis GET (redis-benchmark)" "$rd_rps" "$rd_p50" "$rd_p99"
awk -v u="$un_rps" -v p="$pg_tps" -v c="$ca_rps" -v r="$rd_rps" 'BEGIN {
    printf "uncached / raw PK SELECT: %.0f%% (target >= 50%%)\n", 100 * u / p
    printf "cached / raw Redis GET:   %.0f%% (target >= 50%%)\n", 100 * c / r }'
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
