#!/usr/bin/env bash
# Validates docker/compose.yaml against the Compose Specification's JSON schema, as vendored
# (and pinned) by check-jsonschema, installed into a venv. No Docker engine is needed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/check-jsonschema-venv"
if [ ! -x "$venv/bin/check-jsonschema" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "check-jsonschema==0.33.0"
fi
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$root/docker/compose.yaml"
