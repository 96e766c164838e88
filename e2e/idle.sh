#!/usr/bin/env bash
# idle.sh: the tray app's idle cost. Runs it from a stored account against
# the fake server inside the headless desktop, connected and idle, then
# reports the time from launch to the tray item being registered, CPU
# ticks and context switches (wakeups) while idle, and RSS.
#
#   usage: e2e/idle.sh [MINUTES]        (default 3; builds with CGO_ENABLED=0)
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(mktemp -d); trap 'rm -rf "$B"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$B/exmail-notifier" .
CGO_ENABLED=0 go build -trimpath -o "$B/fakeexmail" ./e2e/fakeexmail
echo "binary: $(stat -c %s "$B/exmail-notifier") bytes (-s -w)"
IDLE_SECONDS=$(( ${1:-3} * 60 )) SCENARIO_TIMEOUT=$(( ${1:-3} * 60 + 120 )) OUT=${OUT:-$PWD/e2e-out} e2e/run.sh "$B/exmail-notifier" "$B/fakeexmail" idle
