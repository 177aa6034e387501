#!/bin/sh
# Headless Chromium for the browser tests (the backtest page, the console): Debian's package,
# driven by Playwright with executable_path=/usr/bin/chromium. Idempotent: does nothing when
# chromium is already installed; never runs `playwright install` (it downloads a browser).
# Also a CJK font, so that the console's Chinese text renders in screenshots (not as boxes).
set -eu
need=""
if ! command -v chromium >/dev/null 2>&1; then
    need="chromium fonts-noto-cjk"
elif command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    need="fonts-noto-cjk"
fi
if [ -z "$need" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: missing $need and no apt-get; install Chromium so that 'chromium' is on PATH" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
$SUDO apt-get install -y -qq $need
