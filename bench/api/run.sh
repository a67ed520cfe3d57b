#!/usr/bin/env bash
# Load benchmark of GET /v1/forecasts/{id}: the real horizon-api (release build) on PostgreSQL
# in three configurations, next to the raw ceilings it is compared with, same concurrency
# everywhere, all in one run:
#   uncached      no Redis, no memory tier: every request reads the database
#                 (peer: the same SELECT the API runs, by pgbench with prepared statements)
#   Redis tier    memory tier off: every request reads Redis (peer: redis-benchmark GET of a
#                 value of the same size)
#   cached        the default: the process's memory tier in front of Redis
#                 (peer: redis-benchmark GET)
# Rate limits stay on in every configuration (with Redis: shared through it). Every request
# asks for one of FORECASTS distinct forecasts at random (wrk Lua script; pgbench and
# redis-benchmark draw keys at random from the same number), so no configuration is measured
# on one hot row.
#
# Needs: wrk (installed with apt-get when missing), pgbench and redis-benchmark, PostgreSQL
# and Redis.
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
forecasts="${FORECASTS:-5000}"
work="$(mktemp -d)"
api_pid=""
stop_api() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; api_pid=""; fi
}
trap 'stop_api; rm -rf "$work"' EXIT

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
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
# FORECASTS forecasts with ids derived from their number (md5('hzn' || i)), copies of the
# demo's, so that every peer can name the same rows.
psql "$DATABASE_URL" -q <<SQL
INSERT INTO predictions (id, series_id, execution_id, entity, issued_at, created_at,
    first_target_at, frequency, horizon, quantile_levels, matrix, members, calibration,
    thresholds, warnings, member_matrices, steps_scored)
SELECT md5('hzn' || i)::uuid, p.series_id, NULL, p.entity, p.issued_at, p.created_at,
    p.first_target_at, p.frequency, p.horizon, p.quantile_levels, p.matrix, p.members,
    p.calibration, p.thresholds, p.warnings, p.member_matrices, p.steps_scored
FROM generate_series(1, $forecasts) AS i
JOIN LATERAL (SELECT * FROM predictions WHERE execution_id IS NOT NULL
              ORDER BY id OFFSET (i % 30) LIMIT 1) p ON true;
VACUUM ANALYZE predictions;
SQL
psql "$DATABASE_URL" -Atc "SELECT md5('hzn' || i)::uuid FROM generate_series(1, $forecasts) AS i" >"$work/ids.txt"
id="$(head -n 1 "$work/ids.txt")"
url="http://127.0.0.1:$port/v1/forecasts/$id"
cat >"$work/random.lua" <<LUA
local ids = {}
for line in io.lines("$work/ids.txt") do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/v1/forecasts/" .. ids[math.random(#ids)])
end
LUA

start_api() {
    "$target/release/horizon-api" 2>>"$work/api.log" &
    api_pid=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && return; sleep 0.1; done
    echo "api did not start"; cat "$work/api.log"; exit 1
}

# Prints "rps p50_ms p99_ms" from wrk --latency output.
wrk_run() {
    curl -fs -H "X-API-Key: $key" "$url" >/dev/null
    # Warm-up (not measured): connections, statement caches, and the caches of the cached
    # configurations.
    wrk -t"$threads" -c"$conns" -d"${WARMUP_SECONDS:-5}s" -s "$work/random.lua" -H "X-API-Key: $key" "$url" >/dev/null
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$work/random.lua" -H "X-API-Key: $key" "$url" >"$work/wrk.txt"
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx/ { bad = $NF }
        END { if (bad) { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 } printf "%.0f %.2f %.2f\n", rps, p50, p99 }
    ' "$work/wrk.txt"
}

start_api_with() { # FORECAST_CACHE_MB REDIS_URL-or-empty
    export HORIZON_API_FORECAST_CACHE_MB="$1"
    if [ -n "$2" ]; then export REDIS_URL="$2"; else unset REDIS_URL; fi
    start_api
}

start_api_with 0 ""
# The size of the body, for a Redis value of the same size below.
size="$(curl -fs -H "X-API-Key: $key" "$url" | wc -c)"
read -r un_rps un_p50 un_p99 < <(wrk_run)
stop_api
start_api_with 0 "$redis_url"
read -r rt_rps rt_p50 rt_p99 < <(wrk_run)
stop_api
start_api_with 256 "$redis_url"
read -r ca_rps ca_p50 ca_p99 < <(wrk_run)
stop_api

# pgbench: the query the API's uncached read runs (one round trip: the forecast without the
# members' own matrices, which only scoring reads, and its series' key), prepared, same clients.
cols="$(psql "$DATABASE_URL" -Atc "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position)
    FROM information_schema.columns WHERE table_name = 'predictions' AND column_name <> 'member_matrices'")"
{
    printf '\\set i random(1, %s)\n' "$forecasts"
    printf 'SELECT %s, NULL AS member_matrices, series.key AS series_key FROM predictions JOIN series ON predictions.series_id = series.id WHERE predictions.id = md5(%s || :i)::uuid;\n' \
        "$(echo "$cols" | sed -E 's/(^|, )/\1predictions./g')" "'hzn'"
} >"$work/pk.sql"
(cd "$work" && pgbench -n -M prepared -c "$conns" -j "$threads" -T "$secs" -l -f pk.sql "$DATABASE_URL" >"$work/pgbench.txt" 2>&1)
pg_tps="$(awk '/^tps = / { printf "%.0f", $3 }' "$work/pgbench.txt")"
# Per-transaction log lines: client, transaction, latency in microseconds, ...
read -r pg_p50 pg_p99 < <(cat "$work"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -g | awk '
    { v[NR] = $1 } END { printf "%.2f %.2f\n", v[int(NR * 0.5)], v[int(NR * 0.99)] }')

# redis-benchmark: GET of a key of the same size as the cached forecast.
host="$(echo "$redis_url" | sed -E 's#redis://([^:/]+).*#\1#')"
rport="$(echo "$redis_url" | sed -E 's#redis://[^:]+:([0-9]+).*#\1#')"
# SET first fills the keyspace (-r: random keys among $forecasts), then GET is measured.
redis-benchmark -h "$host" -p "$rport" -t set,get -r "$forecasts" -n 400000 -c "$conns" -d "$size" --threads "$threads" --csv >"$work/redis.csv" 2>/dev/null
read -r rd_rps rd_p50 rd_p99 < <(awk -F'"' '/"GET"/ { printf "%.0f %s %s\n", $4, $10, $14 }' "$work/redis.csv")

echo
echo "GET /v1/forecasts/{id} of $forecasts forecasts at random: $conns connections, $threads threads, ${secs}s per run, body $size bytes"
printf '%-40s %12s %9s %9s\n' "what" "req/s" "p50 ms" "p99 ms"
printf '%-40s %12s %9s %9s\n' "API uncached (PostgreSQL)" "$un_rps" "$un_p50" "$un_p99"
printf '%-40s %12s %9s %9s\n' "raw SELECT of the same row (pgbench)" "$pg_tps" "$pg_p50" "$pg_p99"
printf '%-40s %12s %9s %9s\n' "API Redis tier (memory tier off)" "$rt_rps" "$rt_p50" "$rt_p99"
printf '%-40s %12s %9s %9s\n' "API cached (memory tier, then Redis)" "$ca_rps" "$ca_p50" "$ca_p99"
printf '%-40s %12s %9s %9s\n' "raw Redis GET (redis-benchmark)" "$rd_rps" "$rd_p50" "$rd_p99"
awk -v u="$un_rps" -v p="$pg_tps" -v t="$rt_rps" -v c="$ca_rps" -v r="$rd_rps" 'BEGIN {
    printf "uncached / raw SELECT:       %.0f%% (target >= 50%%)\n", 100 * u / p
    printf "Redis tier / raw Redis GET:  %.0f%%\n", 100 * t / r
    printf "cached / raw Redis GET:      %.0f%% (target >= 50%%)\n", 100 * c / r }'
psql "$pgurl/postgres" -qc "DROP DATABASE IF EXISTS $db" >/dev/null
