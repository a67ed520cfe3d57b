#!/usr/bin/env bash
# Schema-driven run of the API against its own OpenAPI document: installs schemathesis into a
# venv, starts the real horizon-api on a fresh SQLite database (sample data from the demo, an
# admin key, no rate limit in the way), generates requests for every operation and fails on
# any 5xx or any response that breaks the spec.
#
#   tests/schemathesis.sh                # default: 30 examples per operation (CI runs this)
#   MAX_EXAMPLES=100 tests/schemathesis.sh
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"
work="$(mktemp -d)"
port="${PORT:-18$((RANDOM % 900 + 100))}"
max_examples="${MAX_EXAMPLES:-30}"
api_pid=""
cleanup() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$venv/bin/schemathesis" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis>=4,<5"
fi

# The same selection as the end-to-end tests build (tests/src/lib.rs): the test targets in it
# give the binaries `cargo test --workspace`'s features, so after `cargo test` this builds
# nothing again (the binaries alone resolve narrower features and rebuild most crates).
(cd "$root" && cargo build --quiet --workspace --tests --bins)
export DATABASE_URL="sqlite://$work/horizon.db?mode=rwc"
export HORIZON_DATA_DIR="$work"
export HORIZON_API_BIND="127.0.0.1:$port"
export HORIZON_API_RATE_LIMIT_PER_SEC=100000
export HORIZON_API_RATE_LIMIT_BURST=100000
export HORIZON_LOG_LEVEL=warn
export HORIZON_LOG_FORMAT=json
unset REDIS_URL

"$target/debug/horizon" demo --no-serve >"$work/demo.log" 2>&1
key="$("$target/debug/horizon" keys create --name schemathesis --scopes admin | tail -n 1)"
"$target/debug/horizon-api" 2>"$work/api.log" &
api_pid=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done

started=$(date +%s)
status=0
# From the scratch directory: schemathesis keeps its state in ./.schemathesis.
(cd "$work" && "$venv/bin/schemathesis" run "http://127.0.0.1:$port/openapi.json" \
    --header "X-API-Key: $key" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-examples "$max_examples" \
    --seed 1 \
    --no-color) || status=$?
echo "schemathesis finished in $(( $(date +%s) - started )) s with status $status"
# JSON logs: only records at level ERROR count (a message merely mentioning "error" does not),
# except actix-http's report of a request it could not parse (schemathesis sends header values
# no HTTP parser accepts): that request got a 400, and the fault is the client's.
errors="$(grep '"level":"ERROR"' "$work/api.log" \
    | awk '!(/"target":"actix_http::h1::dispatcher"/ && /request parse error/)' || true)"
if [ -n "$errors" ]; then
    echo "the server logged errors:"; echo "$errors" | head -20
    status=1
fi
exit "$status"
