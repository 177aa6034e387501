#!/bin/sh
# Headless Chromium for the browser tests (the backtest page, the console): Debian's package,
# driven by Playwright with executable_path=/usr/bin/chromium. Idempotent: does nothing when
# chromium is already installed; never runs `playwright install` (it downloads a browser).
set -eu
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no chromium and no apt-get; install Chromium so that 'chromium' is on PATH" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
