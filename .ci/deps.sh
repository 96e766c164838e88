#!/usr/bin/env bash
# .ci/deps.sh: the dependency direction, as README's "How it works" draws it:
#   main → internal/trayapp → adapters (tray, notify, creds, config,
#   internal/desktop, internal/handoff, internal/account) → app → api
# and the relay apart. Prints each violation with the import that causes
# it; exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."
M=github.com/exmail-notifier/exmail-notifier
bad=0
fail() { echo "deps: $*" >&2; bad=1; }

# imports PKG: the packages PKG imports directly (tests excluded).
imports() { go list -f '{{join .Imports "\n"}}' "$1"; }

# 1. The core knows no desktop library and no adapter.
for core in ./app ./api; do
  if d=$(go list -deps "$core" | grep -E 'fyne.io/systray|gen2brain/beeep|zalando/go-keyring|pkg/browser|godbus/dbus'); then
    fail "$core depends on a desktop library: $(echo $d)"
  fi
  if d=$(go list -deps "$core" | grep -E "^$M/(tray|notify|creds|config|internal/(trayapp|desktop|handoff|account))\$"); then
    fail "$core depends on an adapter: $(echo $d)"
  fi
done
# api sits below app.
if imports ./api | grep -qx "$M/app"; then fail "api imports app"; fi

# 2. Nothing but main imports trayapp; nothing imports main.
for p in $(go list ./... | grep -v "^$M\$"); do
  if imports "$p" | grep -qx "$M/internal/trayapp"; then fail "$p imports internal/trayapp (only main may)"; fi
done

# 3. Adapters do not import each other's wiring or the tray app.
for a in tray notify creds config internal/desktop internal/handoff internal/account; do
  if d=$(imports "./$a" | grep -E "^$M/(internal/trayapp)\$"); then fail "$a imports $d"; fi
done
if d=$(imports ./internal/desktop | grep -x "$M/app"); then fail "internal/desktop imports app (return concrete types that fit app's interfaces)"; fi

# 4. The desktop binary links none of the relay's storage or broker
# libraries. (It may link the relay itself with its in-memory store, for
# "demo --relay".)
if d=$(go list -deps . | grep -E 'modernc.org/sqlite|jackc/pgx|nats-io/|^'"$M"'/relay/(store/(sqlite|postgres)|cli|loadgen|cluster)(/|$)'); then
  fail "the desktop binary links the relay's storage, broker or server-only code: $(echo $d)"
fi

# 5. Idle memory: the tray's resident code grows with every package whose
# init runs; template engines and regexp compile at init in every process.
if d=$(go list -deps . | grep -xE 'html/template|text/template|regexp'); then
  fail "the desktop binary links $(echo $d) (each parses or compiles at start-up; see README, Performance)"
fi

if ((bad)); then exit 1; fi
echo "deps: main → trayapp → adapters → app → api holds; the desktop binary links no relay storage"
