#!/usr/bin/env bash
# Ingest benchmark (release build): GDELT 2.0 events landed into the event store (records/s),
# rolled up into PostgreSQL (observations/s), and — in the same run — the raw speed of
# PostgreSQL COPY of the same observation rows into an unindexed table, and into a table keyed
# like observations (the ceiling of any correct write).
#
# usage: bench/ingest/run.sh            (EVENTS=1000000 FILES=96 by default)
# needs: PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
#        psql, jq, python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${EVENTS:-1000000}
FILES=${FILES:-96}
PG=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

nice -n 10 cargo build --release --quiet -p horizon-ingest
TARGET=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)}
BIN="$TARGET/release/horizon-ingest"
WORK=$(mktemp -d /tmp/horizon-bench-ingest.XXXXXX)
DB="horizon_bench_ingest_$$"
cleanup() { psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

echo "generating $EVENTS GDELT 2.0 events in $FILES files"
python3 bench/ingest/gen.py "$WORK/inbox" "$EVENTS" "$FILES"
psql "$PG" -qc "CREATE DATABASE $DB"
DBURL="${PG%/*}/$DB"
cat > "$WORK/horizon.toml" <<TOML
[[ingest_sources]]
name = "gdelt"
dir = "$WORK/inbox"
glob = "*.export.CSV"
format = "gdelt2"
TOML

(cd "$WORK" && DATABASE_URL="$DBURL" HORIZON_LOG_FORMAT=json \
  HORIZON_EVENT_STORE_PATH="$WORK/events.db" HORIZON_DATA_DIR="$WORK/data" \
  "$BIN" once 2> "$WORK/log.json")

read -r READ LANDED LAND_SECS < <(jq -rs '[.[] | select(.message == "file ingested")]
  | "\(map(.read) | add) \(map(.landed) | add) \(map(.secs) | add)"' "$WORK/log.json")
read -r ROLLED ROLL_SECS < <(jq -rs '[.[] | select(.message == "rolled up")]
  | "\(map(.gdelt_observations) | add) \(map(.secs) | add)"' "$WORK/log.json")

psql "$DBURL" -qc "\copy (SELECT series_id, ts, value FROM observations) TO '$WORK/obs.tsv'"
psql "$DBURL" -qc "CREATE TABLE raw_copy (series_id uuid, ts timestamptz, value float8)"
T0=$(date +%s.%N)
psql "$DBURL" -qc "\copy raw_copy FROM '$WORK/obs.tsv'"
T1=$(date +%s.%N)
COPY_ROWS=$(psql "$DBURL" -tAc "SELECT count(*) FROM raw_copy")
# The ceiling for any correct write: COPY of the same rows into a table keyed and constrained
# like observations (primary key (series_id, ts), foreign key to series).
psql "$DBURL" -qc "CREATE TABLE keyed_copy (LIKE observations INCLUDING ALL,
  FOREIGN KEY (series_id) REFERENCES series (id) ON DELETE CASCADE)"
T2=$(date +%s.%N)
psql "$DBURL" -qc "\copy keyed_copy FROM '$WORK/obs.tsv'"
T3=$(date +%s.%N)
# The same without the foreign key: what the open decision about it is worth.
psql "$DBURL" -qc "CREATE TABLE pk_copy (LIKE observations INCLUDING ALL)"
T4=$(date +%s.%N)
psql "$DBURL" -qc "\copy pk_copy FROM '$WORK/obs.tsv'"
T5=$(date +%s.%N)

python3 - "$READ" "$LANDED" "$LAND_SECS" "$ROLLED" "$ROLL_SECS" "$COPY_ROWS" "$T0" "$T1" "$T2" "$T3" "$T4" "$T5" <<'PY'
import sys
read, landed, land_s, rolled, roll_s, copy_rows, t0, t1, t2, t3, t4, t5 = sys.argv[1:]
read, landed, rolled, copy_rows = int(read), int(landed), int(rolled), int(copy_rows)
land_s, roll_s, copy_s = float(land_s), float(roll_s), float(t1) - float(t0)
keyed_s = float(t3) - float(t2)
pk_s = float(t5) - float(t4)
land_rate, roll_rate, copy_rate = read / land_s, rolled / roll_s, copy_rows / copy_s
print(f"landed:   {read:>10} records read ({landed} new) in {land_s:7.2f} s = {land_rate:>10,.0f} records/s into the event store")
print(f"roll-up:  {rolled:>10} observations       in {roll_s:7.2f} s = {roll_rate:>10,.0f} observations/s into PostgreSQL")
print(f"raw COPY: {copy_rows:>10} rows               in {copy_s:7.2f} s = {copy_rate:>10,.0f} rows/s (unindexed table, psql \\copy)")
print(f"keyed COPY: {copy_rows:>8} rows               in {keyed_s:7.2f} s = {copy_rows / keyed_s:>10,.0f} rows/s (primary key + foreign key, as observations)")
print(f"pk COPY:  {copy_rows:>10} rows               in {pk_s:7.2f} s = {copy_rows / pk_s:>10,.0f} rows/s (primary key only, no foreign key)")
print(f"roll-up / raw COPY = {roll_rate / copy_rate:.2f}   (keyed COPY / raw COPY = {copy_s / keyed_s:.2f}, pk COPY / raw COPY = {copy_s / pk_s:.2f}, roll-up / keyed COPY = {keyed_s / roll_s * rolled / copy_rows:.2f})")
PY
