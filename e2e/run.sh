#!/usr/bin/env bash
# run.sh: every desktop end-to-end scenario, each in its own fresh
# headless session (see harness.sh), then one summary line
# "N passed, M failed". Exit status 1 if anything failed.
#
#   usage: e2e/run.sh BIN FAKE [SCENARIO...]
#   env:   OUT=dir for logs and screenshots (default ./e2e-out)
#          RELAY_BIN=the exmail-relay binary, for the relay and settings
#          scenarios (without it they are skipped, saying so)
#          SETTINGSDRIVER=the e2e/settingsdriver binary, for the settings
#          scenarios (the page in a real headless Chromium; skipped without)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:?usage: $0 BIN FAKE [SCENARIO...]}; FAKE=${2:?}; shift 2
export OUT=${OUT:-$PWD/e2e-out}
mkdir -p "$OUT"

# scenario → the session bus it runs on (std: D-Bus activation works like
# on a desktop; bare: nothing is activatable; none: no bus at all)
declare -A BUSES=([demo]=std [login]=std [relay]=std [nohost]=bare [nonotify]=bare
                  [nokeyring]=bare [lockedkeyring]=bare [promptkeyring]=std
                  [promptcancel]=std [nobus]=none [latency]=std [settings]=std [settings_zh]=std [settings_admin]=std)
ORDER=(demo login relay nohost nonotify nokeyring lockedkeyring promptkeyring promptcancel nobus latency settings settings_zh settings_admin)
(( $# )) && ORDER=("$@")

[[ -n "${RELAY_BIN:-}" ]] && { RELAY_BIN=$(readlink -m "$RELAY_BIN"); export RELAY_BIN; }
[[ -n "${SETTINGSDRIVER:-}" ]] && { SETTINGSDRIVER=$(readlink -m "$SETTINGSDRIVER"); export SETTINGSDRIVER; }

P=0; F=0
for s in "${ORDER[@]}"; do
  if [[ $s == settings* || $s == relay ]]; then
    if [[ -z "${SETTINGSDRIVER:-}" ]]; then
      echo "SKIP: $s: no settings driver given (SETTINGSDRIVER=path/to/settingsdriver; .ci/desktop.sh builds it): links are confirmed on the settings page"; continue
    elif [[ ! -x "$SETTINGSDRIVER" ]]; then
      echo "FAIL: $s: SETTINGSDRIVER=$SETTINGSDRIVER is not an executable"; F=$((F+1)); continue
    elif [[ -z "${RELAY_BIN:-}" && $s != settings_admin ]]; then
      echo "SKIP: $s: no exmail-relay binary given (RELAY_BIN=path/to/exmail-relay; .ci/desktop.sh builds it): the page enrolls with it"; continue
    fi
  fi
  if [[ $s == relay ]]; then
    if [[ -z "${RELAY_BIN:-}" ]]; then
      echo "SKIP: relay: no exmail-relay binary given (RELAY_BIN=path/to/exmail-relay; .ci/desktop.sh builds it)"; continue
    elif [[ ! -x "$RELAY_BIN" ]]; then
      echo "FAIL: relay: RELAY_BIN=$RELAY_BIN is not an executable"; F=$((F+1)); continue
    fi
  fi
  start=$SECONDS
  # A hung scenario must not hang CI: each gets at most SCENARIO_TIMEOUT.
  BUS=${BUSES[$s]:-std} timeout -k 10 "${SCENARIO_TIMEOUT:-300}" "$HERE/harness.sh" "$BIN" "$FAKE" "$s" >"$OUT/$s.out" 2>"$OUT/$s.err"
  cat "$OUT/$s.out"
  p=$(grep -c '^PASS:' "$OUT/$s.out"); f=$(grep -c '^FAIL:' "$OUT/$s.out")
  # a scenario that died before reporting counts as a failure
  if ! grep -q "^$s: .* passed, .* failed" "$OUT/$s.out"; then f=$((f+1)); echo "FAIL: $s: did not finish (see $OUT/$s.err)"; fi
  P=$((P+p)); F=$((F+f))
  echo "---- $s: $((SECONDS-start)) s"
done
echo "$P passed, $F failed"
[[ $F -eq 0 ]]
