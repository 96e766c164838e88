#!/usr/bin/env bash
# screenshots.sh OUTDIR: headless Chromium screenshots of each step of the
# settings page, in English and Chinese, on the demo's fake backend.
#
#   bash internal/settings/testdata/screenshots.sh /tmp/settings-shots
#
# Needs chromium (Debian: apt-get install -y chromium). "real-*" shots go
# through the one-time link, the cookie and the redirect in the browser
# itself; the others show the page a form post ends on (the demo's driver
# posts the form with its own session and hands the browser the result).
set -euo pipefail
out=${1:?usage: screenshots.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../../.."
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z $browser ]]; then echo "screenshots.sh: no chromium found" >&2; exit 1; fi

go build -o "$out/.settings-demo" ./internal/settings/cmd/settings-demo
log=$out/.demo.log
"$out/.settings-demo" -driver >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out/.settings-demo"' EXIT
for _ in $(seq 50); do grep -q '^driver:' "$log" && break; sleep 0.1; done
driver=$(sed -n 's/^driver: //p' "$log")
[[ -n $driver ]] || { cat "$log" >&2; exit 1; }

profile=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$profile" "$out/.settings-demo"' EXIT
shoot() { # NAME URL HEIGHT
  "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars \
    --user-data-dir="$profile" --no-first-run --force-device-scale-factor=1 \
    --window-size=760,"$3" --screenshot="$out/$1.png" "$2" >/dev/null 2>&1
  echo "$out/$1.png"
}
for lang in en zh; do
  shoot "$lang-1-first-run"            "$driver/real/$lang/firstrun" 1000
  shoot "$lang-2-offered-link-confirm" "$driver/real/$lang/offer" 700
  shoot "$lang-3-confirm-typed-link"   "$driver/shot/$lang/confirm" 700
  shoot "$lang-4-enrolled"             "$driver/shot/$lang/enrolled" 600
  shoot "$lang-5-code-used"            "$driver/shot/$lang/code-used" 1000
  shoot "$lang-6-relay-unreachable"    "$driver/shot/$lang/relay-unreachable" 760
  shoot "$lang-7-bare-code-error"      "$driver/shot/$lang/bare-code-error" 1000
  shoot "$lang-8-admin-error"          "$driver/shot/$lang/admin-error" 1200
  shoot "$lang-9-corp-error"           "$driver/shot/$lang/corp-error" 1200
  shoot "$lang-10-settings-relay"      "$driver/real/$lang/settings-relay" 1100
  shoot "$lang-11-settings-direct"     "$driver/real/$lang/settings-direct" 1150
  shoot "$lang-12-saved"               "$driver/shot/$lang/saved" 1150
  shoot "$lang-13-sign-out"            "$driver/shot/$lang/signout" 500
  shoot "$lang-14-doctor"              "$driver/shot/$lang/doctor" 1000
done
