#!/usr/bin/env bash
# The Python client (clients/python) against the real API: installs it with its test extra
# into a venv (`pip install ./clients/python[test]`, as a user would), starts horizon-api on a
# fresh SQLite database with a write key, and runs the client's tests.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${PYTHON_CLIENT_VENV:-$target/python-client-venv}"
work="$(mktemp -d)"
port="${PORT:-19$((RANDOM % 900 + 100))}"
api_pid=""
cleanup() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
# Reinstalled every run (without its dependencies again), so the tests see this checkout.
"$venv/bin/pip" install --quiet "$root/clients/python[test]"
"$venv/bin/pip" install --quiet --no-deps --force-reinstall "$root/clients/python"

# The same selection as the end-to-end tests build: after `cargo test` it builds nothing.
(cd "$root" && cargo build --quiet --workspace --tests --bins)
export DATABASE_URL="sqlite://$work/horizon.db?mode=rwc"
export HORIZON_DATA_DIR="$work"
export HORIZON_API_BIND="127.0.0.1:$port"
export HORIZON_LOG_LEVEL=warn
unset REDIS_URL

"$target/debug/horizon" migrate >"$work/migrate.log" 2>&1
key="$("$target/debug/horizon" keys create --name python-client --scopes write | tail -n 1)"
"$target/debug/horizon-api" 2>"$work/api.log" &
api_pid=$!
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done

status=0
(cd "$root/clients/python" && HORIZON_URL="http://127.0.0.1:$port" HORIZON_API_KEY="$key" \
    "$venv/bin/python" -m pytest -q -p no:cacheprovider tests) || status=$?
if [ "$status" -ne 0 ]; then
    echo "--- horizon-api log" >&2
    tail -n 50 "$work/api.log" >&2
fi
exit "$status"
