#!/usr/bin/env bash
# Makes sure Debian's Chromium and its WebDriver are installed (the dashboard's browser test
# drives them); installs both from Debian's packages when one is missing. Needs root for that.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "chromium and chromedriver are missing; install the Debian packages chromium and" \
       "chromium-driver (as root: apt-get install chromium chromium-driver)" >&2
  exit 1
fi
echo "installing chromium and chromium-driver from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
chromium --version >&2
chromedriver --version >&2
