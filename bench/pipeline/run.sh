#!/usr/bin/env bash
# Pipeline scale benchmark (release build, PostgreSQL): SERIES series at 15-minute resolution
# with DAYS days of history each, horizon 96 (one day), quantiles 0.1..0.9, end to end from
# observations in PostgreSQL to persisted predictions — planned with `horizon-pipeline run`
# and worked by 1, then 2 `horizon-pipeline worker` processes. Prints series/s, total seconds
# (execution created → finished) and the peak RSS of each worker; then the peak RSS of one
# worker on a quarter of the series, to show memory does not grow with the number of series.
# Then the same with covariates, side by side: SERIES plants with a location, each with three
# weather covariates (ghi, temp_air, cloud_cover) forecast daily (a vintage issued at 06:00 UTC
# for the next day), their ratio to the covariate-free run printed.
#
# usage: bench/pipeline/run.sh                 (SERIES=10000 DAYS=60 by default)
#        SERIES=1000 bench/pipeline/run.sh     (a quick look)
#        KEEP_DB=1 bench/pipeline/run.sh       (keep the generated database for the next run,
#                                               which then skips the generation)
# needs: PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
#        psql, jq, GNU time (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERIES=${SERIES:-10000}
DAYS=${DAYS:-60}
PARTITION=${PARTITION:-250}
PG=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

if [ ! -x /usr/bin/time ]; then
    apt-get install -y -qq time >/dev/null
fi
cargo build --release --quiet -p horizon -p horizon-pipeline
TARGET=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)}
BIN="$TARGET/release"
WORK=$(mktemp -d /tmp/horizon-bench-pipeline.XXXXXX)
KEEP_DB=${KEEP_DB:-0}
if [ "$KEEP_DB" = 1 ]; then
    DB="horizon_bench_pipeline_${SERIES}_${DAYS}"
else
    DB="horizon_bench_pipeline_$$"
fi
cleanup() {
    jobs -p | xargs -r kill 2>/dev/null || true
    if [ "$KEEP_DB" != 1 ]; then
        psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

FRESH=1
if psql "$PG" -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
    FRESH=0
    echo "reusing database $DB (KEEP_DB=1)"
else
    psql "$PG" -qc "CREATE DATABASE $DB"
fi
export DATABASE_URL="${PG%/*}/$DB"
export HORIZON_DATA_DIR="$WORK/data" HORIZON_LOG_FORMAT=json HORIZON_LOG_LEVEL=warn
export HORIZON_PIPELINE_PARTITION_SIZE=$PARTITION HORIZON_PIPELINE_CALIBRATION=false
"$BIN/horizon" migrate >/dev/null

# Solar-like 15-minute output: a daily cycle, day-to-day weather noise, zero at night.
generate() {
    local n=$1 prefix=$2
    echo "generating $n series x $DAYS days x 96 steps in PostgreSQL ($prefix)"
    psql "$DATABASE_URL" -q <<SQL
INSERT INTO series (id, key, entity, metric, frequency, unit, lower_bound, upper_bound, tags, created_at, updated_at)
SELECT gen_random_uuid(), '$prefix-' || lpad(i::text, 5, '0'), 'plant-' || i, 'power', '15min', 'kW',
       0, 100, '{}'::jsonb, now(), now()
FROM generate_series(1, $n) AS i;
INSERT INTO observations (series_id, ts, value)
SELECT s.id, t, greatest(0, 80 * sin(pi() * ((extract(epoch FROM t)::bigint % 86400) / 86400.0 * 2 - 0.5))
             * (0.7 + 0.3 * random()))
FROM series s
CROSS JOIN generate_series(timestamptz '2026-01-01', timestamptz '2026-01-01' + interval '$DAYS days' - interval '15 minutes', interval '15 minutes') AS t
WHERE s.key LIKE '$prefix-%';
-- What autovacuum does to an insert-only table in production: sets the visibility map, so
-- histories are read by index-only scans.
VACUUM ANALYZE observations;
SQL
}

# Plants at 45° N 0° E whose output follows the day's clearness, with three covariates each and
# daily day-ahead vintages of them (the forecast GHI off the truth by up to ±10% per step).
# Vintages are generated for the last 22 days and the horizon day only: the engine reads 21
# days of 15-minute history (`history_length`), so older ones are never loaded.
generate_covariates() {
    local n=$1 prefix=$2
    echo "generating $n plants x $DAYS days x 96 steps with 3 covariates and day-ahead vintages ($prefix)"
    psql "$DATABASE_URL" -q <<SQL
INSERT INTO series (id, key, entity, metric, frequency, unit, lower_bound, upper_bound, tags, created_at, updated_at,
                    latitude, longitude, capacity, timezone)
SELECT gen_random_uuid(), '$prefix-' || lpad(i::text, 5, '0'), 'plant-' || i, 'power', '15min', 'kW',
       0, 100, '{}'::jsonb, now(), now(), 45, 0, 100, 'UTC'
FROM generate_series(1, $n) AS i;
INSERT INTO series (id, key, entity, metric, frequency, unit, tags, created_at, updated_at, covariate_of, covariate_name)
SELECT gen_random_uuid(), s.key || ':' || c.name, s.entity, c.name, '15min', NULL, '{}'::jsonb, now(), now(), s.id, c.name
FROM series s CROSS JOIN (VALUES ('ghi'), ('temp_air'), ('cloud_cover')) AS c(name)
WHERE s.key LIKE '$prefix-%' AND s.covariate_of IS NULL;
-- The sine of the sun's elevation at 45° N 0° E in the middle of each step (stamps name the
-- step's end): declination and equation of time by the usual approximations (within a degree
-- and a minute), so that the engine, which places the sun precisely, reads these plants as PV
-- output and fits its solar regression.
CREATE TEMP TABLE sun AS
SELECT t, greatest(0, sin(radians(45)) * sin(decl) + cos(radians(45)) * cos(decl)
                      * cos(radians(15 * (hours + eot / 60 - 12)))) AS elev
FROM (SELECT t,
             radians(23.44) * sin(2 * pi() * (284 + extract(doy FROM t)) / 365) AS decl,
             9.87 * sin(2 * radians(360 / 365.0 * (extract(doy FROM t) - 81)))
               - 7.53 * cos(radians(360 / 365.0 * (extract(doy FROM t) - 81)))
               - 1.5 * sin(radians(360 / 365.0 * (extract(doy FROM t) - 81))) AS eot,
             ((extract(epoch FROM t)::bigint - 450) % 86400) / 3600.0 AS hours
      FROM generate_series(timestamptz '2026-01-01', timestamptz '2026-01-01' + interval '$((DAYS + 1)) days' - interval '15 minutes', interval '15 minutes') AS t) AS g;
-- each plant's clearness per day, 0.3 to 1
CREATE TEMP TABLE clear AS
SELECT s.id, d, 0.3 + 0.7 * ((hashtext(s.key || d::text) & 1023) / 1023.0) AS k
FROM series s CROSS JOIN generate_series(0, $DAYS) AS d
WHERE s.key LIKE '$prefix-%' AND s.covariate_of IS NULL;
INSERT INTO observations (series_id, ts, value)
SELECT c.id, sun.t, 80 * sun.elev * c.k * (0.95 + 0.1 * random())
FROM clear c JOIN sun ON c.d = (sun.t AT TIME ZONE 'UTC')::date - date '2026-01-01'
WHERE sun.t < timestamptz '2026-01-01' + interval '$DAYS days';
INSERT INTO covariate_vintages (series_id, issued_at, ts, value)
SELECT v.id, date_trunc('day', sun.t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '18 hours', sun.t,
       CASE v.covariate_name
           WHEN 'ghi' THEN 1000 * sun.elev * c.k * (0.9 + 0.2 * random())
           WHEN 'temp_air' THEN 5 + 10 * sun.elev + random()
           ELSE 1 - c.k END
FROM series v JOIN clear c ON c.id = v.covariate_of
JOIN sun ON c.d = (sun.t AT TIME ZONE 'UTC')::date - date '2026-01-01'
WHERE v.key LIKE '$prefix-%' AND c.d >= $DAYS - 22;
VACUUM ANALYZE observations;
VACUUM ANALYZE covariate_vintages;
SQL
}

# run WORKERS PREFIX → "seconds series_per_s rss_mb..." on stdout
run() {
    local workers=$1 prefix=$2 count=$3
    local out exec
    out=$("$BIN/horizon-pipeline" run --series "$prefix-" --as-of "$AS_OF" --horizon 96)
    exec=$(echo "$out" | grep -o 'execution [0-9a-f-]*' | head -1 | awk '{print $2}')
    if [ -z "$exec" ]; then
        echo "horizon-pipeline run printed no execution id: $out" >&2
        exit 1
    fi
    local pids=()
    for w in $(seq 1 "$workers"); do
        /usr/bin/time -f "%M" -o "$WORK/rss-$prefix-$w" "$BIN/horizon-pipeline" worker 2>"$WORK/worker-$prefix-$w.log" &
        pids+=($!)
    done
    local status=""
    while true; do
        status=$(psql "$DATABASE_URL" -Atc "SELECT status FROM executions WHERE id = '$exec'")
        case "$status" in succeeded|failed) break ;; esac
        sleep 0.5
    done
    # $! is GNU time: stop the worker under it, so that time reports its peak RSS.
    for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
    local secs written
    secs=$(psql "$DATABASE_URL" -Atc "SELECT round(extract(epoch FROM finished_at - created_at)::numeric, 1) FROM executions WHERE id = '$exec'")
    written=$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM predictions WHERE execution_id = '$exec'")
    local rss=""
    for w in $(seq 1 "$workers"); do
        rss+=" $(( $(cat "$WORK/rss-$prefix-$w") / 1024 ))"
    done
    if [ "$status" != succeeded ] || [ "$written" != "$count" ]; then
        echo "run with $workers worker(s) ended $status with $written of $count predictions" >&2
        tail -5 "$WORK/worker-$prefix-1.log" >&2
    fi
    echo "$secs $(awk -v n="$count" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')$rss"
}

# The instant after the last observation: the day-ahead vintage of the horizon is fresh then.
AS_OF=$(date -u -d "2026-01-01 + $DAYS days" +%Y-%m-%dT%H:%M:%SZ)
QUARTER=$(( SERIES / 4 ))
if [ "$FRESH" = 1 ]; then
    generate "$SERIES" big
    generate "$QUARTER" small
    generate_covariates "$SERIES" cov
    generate_covariates "$QUARTER" csmall
fi

echo
echo "pipeline: $SERIES series x $((DAYS * 96)) steps, horizon 96, partitions of $PARTITION, as of $AS_OF"
declare -A plain
for workers in 1 2; do
    read -r secs rate rss <<<"$(run "$workers" big "$SERIES")"
    plain[$workers]=$secs
    echo "  $workers worker(s): ${secs} s end to end, ${rate} series/s, peak RSS per worker (MiB): $rss"
done
read -r secs rate rss <<<"$(run 1 small "$QUARTER")"
echo "  1 worker on $QUARTER series: ${secs} s, ${rate} series/s, peak RSS (MiB): $rss"
echo "target: under 60 s end to end for $SERIES series; peak RSS independent of the series count"

echo
echo "with covariates: $SERIES plants, 3 weather covariates each with daily day-ahead vintages"
for workers in 1 2; do
    read -r secs rate rss <<<"$(run "$workers" cov "$SERIES")"
    ratio=$(awk -v a="$secs" -v b="${plain[$workers]}" 'BEGIN { printf "%.2f", a / b }')
    echo "  $workers worker(s): ${secs} s end to end (${ratio}x the covariate-free run), ${rate} series/s, peak RSS per worker (MiB): $rss"
done
read -r secs rate rss <<<"$(run 1 csmall "$QUARTER")"
echo "  1 worker on $QUARTER plants: ${secs} s, ${rate} series/s, peak RSS (MiB): $rss"
echo "target with covariates: at most 2x the covariate-free run and under 60 s with 2 workers;"
echo "peak RSS independent of the series count"
