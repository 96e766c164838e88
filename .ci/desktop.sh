#!/usr/bin/env bash
# .ci/desktop.sh: the real desktop end-to-end test of the tray app.
# Installs the desktop packages (Debian 12), builds the binary, the relay
# (exmail-relay, for the relay scenario's two enrolled desktops and the
# settings scenarios' enrollments), the settings page's browser driver
# (e2e/settingsdriver: Debian's chromium, headless, over CDP; chromium-l10n
# so that the Chinese run's forms show Chinese times) and the fake server
# with CGO_ENABLED=0, and runs every scenario of e2e/run.sh in
# its own headless session (Xvfb, a private D-Bus session bus, dunst,
# gnome-keyring, xfce4-panel as the tray host). Prints "N passed, M failed",
# then the push→toast latency (the latency scenario's p50/p99/max) and the
# time taken, and exits non-zero on any failure. Logs and screenshots:
# e2e-out/.
#
# dbus-x11 is deliberately NOT installed: with it, every process that finds
# no session bus auto-launches (and leaks) a private dbus-daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS

PKGS=(python3-minimal xvfb xdotool imagemagick dunst gnome-keyring libsecret-tools xfce4-panel jq curl fonts-wqy-microhei chromium chromium-l10n)
need=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  APT=(apt-get -o DPkg::Lock::Timeout=600 -y -q)
  "${APT[@]}" update >/dev/null || { echo "apt-get update failed: cannot install ${need[*]}" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive "${APT[@]}" install --no-install-recommends "${need[@]}" >/dev/null \
    || { echo "apt-get install ${need[*]} failed: the desktop e2e needs them (see apt's message above)" >&2; exit 1; }
fi
command -v chromium >/dev/null || { echo "no chromium on PATH after installing it: the settings scenarios need it" >&2; exit 1; }
if dpkg -s dbus-x11 >/dev/null 2>&1; then
  echo "warning: dbus-x11 is installed; the no-session-bus scenario may see an auto-launched bus" >&2
fi

BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
CGO_ENABLED=0 go build -trimpath -o "$BUILD/exmail-notifier" .
CGO_ENABLED=0 go build -trimpath -o "$BUILD/fakeexmail" ./e2e/fakeexmail
CGO_ENABLED=0 go build -trimpath -o "$BUILD/exmail-relay" ./cmd/exmail-relay
CGO_ENABLED=0 go build -trimpath -o "$BUILD/settingsdriver" ./e2e/settingsdriver
echo "built in $((SECONDS-START)) s"

rm -rf e2e-out
rc=0
RELAY_BIN="$BUILD/exmail-relay" SETTINGSDRIVER="$BUILD/settingsdriver" OUT=$PWD/e2e-out e2e/run.sh "$BUILD/exmail-notifier" "$BUILD/fakeexmail" || rc=$?
grep -h '^LATENCY' e2e-out/latency.out 2>/dev/null || true
echo "desktop e2e took $((SECONDS-START)) s; screenshots: $(ls e2e-out/*.png 2>/dev/null | tr '\n' ' ')"
exit $rc
