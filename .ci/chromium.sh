#!/usr/bin/env bash
# Headless Chromium for the explorer's browser test (tests/test_explorer_browser.py), from
# Debian's packages when /usr/bin/chromium is missing. Playwright drives it as it is (no
# browser download of its own).
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
echo "[chromium] installing Debian's chromium (first run only)" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
