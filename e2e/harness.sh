#!/usr/bin/env bash
# harness.sh: one desktop end-to-end scenario of exmail-notifier in a
# throw-away headless desktop: Xvfb, a private D-Bus session bus
# (dbus-run-session, DISPLAY exported first), and whatever the scenario
# starts of dunst, gnome-keyring, xfce4-panel (the StatusNotifierItem
# host) and the fake exmail server. A fake xdg-open on PATH records every
# URL and fetches it like a browser would (the fake's login page marks mail
# read); a link to the settings page it leaves for the settings driver's
# real browser instead (write_opener, open_page in scenarios.sh).
#
#   usage: e2e/harness.sh BIN FAKE SCENARIO
#     BIN       the exmail-notifier binary under test
#     FAKE      the e2e/fakeexmail binary
#     SCENARIO  a function name from scenarios.sh, without "scenario_"
#   env: OUT=dir for logs and screenshots (default ./e2e-out); X=0 runs
#        without an X server, BUS=bare|std|none picks the session bus.
#
# Prints PASS:/FAIL: lines and exits non-zero if any check failed.
set -uo pipefail

BIN=$(readlink -f "${1:?usage: $0 BIN FAKE SCENARIO}")
FAKE=$(readlink -f "${2:?}")
SCEN=${3:?}
HERE=$(cd "$(dirname "$0")" && pwd)

# write_opener FILE DIR PAGES: the fake xdg-open, recording into DIR (see
# below). A hand-off to the settings page (it redirects to the page's
# one-time link, 127.0.0.1:PORT/s/…) is not followed and not recorded in
# DIR: the page's link goes to the file PAGES, outside the artefacts, for
# the settings driver's real browser (open_page).
write_opener() {
  cat > "$1" <<EOS
#!/bin/sh
to=\$(curl -s -o /dev/null --max-time 5 -w '%{redirect_url}' "\$1")
case "\$to" in
  http://127.0.0.1:*/s/*)
    printf '%s\n' "\$to" >> "$3"
    exit 0 ;;
  "")
    # No redirect: the first request was the visit (a one-time link must
    # not be fetched twice); record where it was.
    printf '%s\n' "\$1" >> "$2/sso-urls.txt" ;;
  *)
    printf '%s\n' "\$(curl -s -L -o /dev/null --max-time 5 -w '%{url_effective}' "\$to")" >> "$2/sso-urls.txt" ;;
esac
printf '%s\n' "\$1" >> "$2/opened-urls.txt"
EOS
  chmod +x "$1"; : > "$2/opened-urls.txt"; : > "$2/sso-urls.txt"; : > "$3"
}

if [[ -z "${_E2E_INNER:-}" ]]; then
  OUT=$(mkdir -p "${OUT:-$PWD/e2e-out}/$SCEN" && cd "${OUT:-$PWD/e2e-out}/$SCEN" && pwd)
  SHOTS=$(dirname "$OUT")
  W=$(mktemp -d /tmp/exn-e2e.XXXXXX)
  # It holds keys, codes and links: gone even when run.sh's timeout ends us.
  trap '[[ -n "${XPID:-}" ]] && kill "$XPID" 2>/dev/null; rm -rf "$W"' EXIT
  trap 'exit 143' TERM INT
  mkdir -p "$W/home" "$W/run" "$W/bin" "$W/empty"; chmod 700 "$W/run"
  # The fake browser: fetch the URL as a browser would, following
  # redirects (the app hands the SSO URL over through a one-time loopback
  # link; the fake's login page marks mail read), then record the URL it
  # was given (opened-urls.txt) and where it ended (sso-urls.txt).
  write_opener "$W/bin/xdg-open" "$OUT" "$W/page-links"
  XPID=""; DISP=""
  if [[ "${X:-1}" != 0 ]]; then
    Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$W/display" >"$OUT/xvfb.log" 2>&1 &
    XPID=$!
    for _ in $(seq 100); do [[ -s "$W/display" ]] && break; sleep 0.1; done
    [[ -s "$W/display" ]] || { echo "FAIL: $SCEN: Xvfb did not start"; kill $XPID; exit 1; }
    DISP=":$(cat "$W/display")"
  fi
  rc=0
  ENV=(env -u DBUS_SESSION_BUS_ADDRESS -u WAYLAND_DISPLAY -u XDG_CURRENT_DESKTOP -u EXMAIL_AGENT -u EXMAIL_SECRET
       -u EXMAIL_ALIAS -u EXMAIL_TOKEN_URL -u EXMAIL_API_URL -u EXMAIL_LOGIN_URL -u EXMAIL_CONFIG
       DISPLAY="$DISP" HOME="$W/home" XDG_RUNTIME_DIR="$W/run" XDG_CONFIG_HOME="$W/home/.config"
       XDG_DATA_HOME="$W/home/.local/share" XDG_CACHE_HOME="$W/home/.cache" XDG_CONFIG_DIRS="$W/empty"
       NO_AT_BRIDGE=1 LANG=C.UTF-8 LC_ALL= PATH="$W/bin:$PATH" _E2E_INNER=1 W="$W" OUT="$OUT" SHOTS="$SHOTS")
  case "${BUS:-std}" in
    std)  "${ENV[@]}" dbus-run-session -- "$0" "$BIN" "$FAKE" "$SCEN" || rc=$? ;;
    bare) "${ENV[@]}" dbus-run-session --config-file="$HERE/bare-session.conf" -- "$0" "$BIN" "$FAKE" "$SCEN" || rc=$? ;;
    none) "${ENV[@]}" "$0" "$BIN" "$FAKE" "$SCEN" || rc=$? ;;
  esac
  [[ -n "$XPID" ]] && { kill "$XPID" 2>/dev/null; wait "$XPID" 2>/dev/null; }
  rm -rf "$W"
  exit $rc
fi

# ------------------------------------------------ inside the session bus
PIDS=()
# cleanup stops what the scenario started: SIGTERM, then SIGKILL for
# whatever is still there after 3 s (an xfce4-panel once ignored SIGTERM
# and the bare `wait` hung the whole run).
cleanup() {
  local i k
  for ((i=${#PIDS[@]}-1; i>=0; i--)); do kill "${PIDS[i]}" 2>/dev/null; done
  for ((k=0; k<30; k++)); do
    local alive=0
    for i in "${PIDS[@]}"; do kill -0 "$i" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for i in "${PIDS[@]}"; do kill -KILL "$i" 2>/dev/null; done
  wait "${PIDS[@]}" 2>/dev/null
}
trap cleanup EXIT
FAILS=0; PASSES=0
pass() { echo "PASS: $SCEN: $*"; PASSES=$((PASSES+1)); }
fail() { echo "FAIL: $SCEN: $*"; FAILS=$((FAILS+1)); }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then pass "$what"; else fail "$what"; fi; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s (CMD is re-run each time)
wait_for() { local n=$(( $1 * 10 )); shift; for ((k=0; k<n; k++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }
on_bus() { busctl --user status "$1" >/dev/null 2>&1; }
LOGFILE="$XDG_CACHE_HOME/exmail-notifier/exmail-notifier.log"

# Several desktops in one scenario (relay: two employees' computers).
# new_desktop NAME starts a session of its own, isolated like the one this
# harness gives a scenario: its own Xvfb display, its own session bus
# (dbus-daemon --session: activation works as on a desktop, with this
# desktop's environment), HOME, XDG dirs and runtime dir, a fake xdg-open
# recording into OUT=$OUT0/NAME. use_desktop NAME then points the shell
# at it: every helper (busctl --user, secret-tool, start_*, shot, tooltip,
# menu_click, notified, urls …) and every process started from then on
# sees that desktop, with its own APID and ITEM.
OUT0=$OUT
declare -A DESK_ENV=() DESK_APID=() DESK_ITEM=()
DESK=""
new_desktop() {
  local n=$1 d="$W/desk-$1" o="$OUT0/$1"
  mkdir -p "$d/home" "$d/run" "$d/bin" "$o"; chmod 700 "$d/run"
  write_opener "$d/bin/xdg-open" "$o" "$d/page-links"
  Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>"$d/display" >"$o/xvfb.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 test -s "$d/display" || { fail "$n: Xvfb did not start"; return 1; }
  local e="DISPLAY=:$(cat "$d/display")
HOME=$d/home
XDG_RUNTIME_DIR=$d/run
XDG_CONFIG_HOME=$d/home/.config
XDG_DATA_HOME=$d/home/.local/share
XDG_CACHE_HOME=$d/home/.cache
PATH=$d/bin:$PATH
PAGE_LINKS=$d/page-links
OUT=$o"
  local -a ev; mapfile -t ev <<<"$e"
  env -u DBUS_SESSION_BUS_ADDRESS "${ev[@]}" dbus-daemon --session --nofork --print-address=3 3>"$d/bus" >"$o/bus.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 test -s "$d/bus" || { fail "$n: session bus did not start"; return 1; }
  DESK_ENV[$n]="$e
DBUS_SESSION_BUS_ADDRESS=$(head -1 "$d/bus")"
}
use_desktop() {
  [[ -n "$DESK" ]] && { DESK_APID[$DESK]=${APID:-}; DESK_ITEM[$DESK]=${ITEM:-}; }
  DESK=$1
  local kv; while IFS= read -r kv; do export "${kv?}"; done <<<"${DESK_ENV[$1]}"
  LOGFILE="$XDG_CACHE_HOME/exmail-notifier/exmail-notifier.log"
  APID=${DESK_APID[$1]:-}; ITEM=${DESK_ITEM[$1]:-}
}

start_keyring() {  # a throw-away login keyring, created and unlocked from stdin
  printf %s "${KEYRING_PW:-ci-keyring-pw}" | gnome-keyring-daemon --foreground --unlock --components=secrets >"$OUT/keyring.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 on_bus org.freedesktop.secrets || fail "gnome-keyring did not appear on the bus"
}
start_monitor() {  # every notification call, daemon or not
  busctl --user monitor --json=short --match "interface=org.freedesktop.Notifications" >"$OUT/notifications.jsonl" 2>/dev/null &
  PIDS+=($!)
  sleep 0.3
}
start_dunst() {
  dunst >"$OUT/dunst.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 on_bus org.freedesktop.Notifications || fail "dunst did not appear on the bus"
}
watcher_prop() { busctl --user get-property org.kde.StatusNotifierWatcher /StatusNotifierWatcher org.kde.StatusNotifierWatcher "$1"; }
host_up() { [[ "$(watcher_prop IsStatusNotifierHostRegistered 2>/dev/null)" == "b true" ]]; }
start_panel() {  # xfce4-panel's Status Tray plugin: the SNI watcher and host
  mkdir -p "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml"
  cp "$HERE/xfce4-panel.xml" "$XDG_CONFIG_HOME/xfce4/xfconf/xfce-perchannel-xml/"
  if ! busctl --user list --activatable 2>/dev/null | grep -q org.xfce.Xfconf; then
    # a bare bus activates nothing: start the panel's settings daemon by hand
    local xfconfd; xfconfd=$(ls /usr/lib/*/xfce4/xfconf/xfconfd 2>/dev/null | head -1)
    [[ -n "$xfconfd" ]] && { "$xfconfd" >"$OUT/xfconfd.log" 2>&1 & PIDS+=($!); wait_for 5 on_bus org.xfce.Xfconf; }
  fi
  xfce4-panel --disable-wm-check >"$OUT/panel.log" 2>&1 &
  PIDS+=($!)
  wait_for 20 host_up || fail "no StatusNotifierWatcher/host"
}
start_fake() {  # the fake exmail server; sources its settings
  "$FAKE" -env "$W/fake.env" >"$OUT/fake.log" 2>&1 &
  PIDS+=($!)
  wait_for 10 test -s "$W/fake.env" || { fail "fake server did not start"; return 1; }
  # shellcheck disable=SC1091
  source "$W/fake.env"
}
fake() { curl -s --max-time 5 "$FAKE_CTL/$1"; }
# start_app ARGS...: the app under test, in the background, its output in
# $OUT/app.log (or $OUT/$APPLOG)
start_app() {
  "$BIN" "$@" >"$OUT/${APPLOG:-app.log}" 2>&1 &
  APID=$!; PIDS+=($APID)
  ITEM="org.kde.StatusNotifierItem-$APID-1"   # fyne.io/systray's bus name
}
item_registered() { watcher_prop RegisteredStatusNotifierItems 2>/dev/null | grep -q '"'; }
item_gone() { ! watcher_prop RegisteredStatusNotifierItems 2>/dev/null | grep -q '"'; }
sni() { busctl --user get-property "$ITEM" /StatusNotifierItem org.kde.StatusNotifierItem "$1"; }
tooltip() { printf '%b' "$(sni ToolTip | sed -E 's/^\(sa\(iiay\)ss\) "" 0 "(.*)" ""$/\1/')"; }
# cut -c counts bytes here; this keeps whole UTF-8 characters
clip() { python3 -c 'import sys; s=sys.stdin.read().rstrip("\n"); print(s[:int(sys.argv[1])])' "$1"; }
tooltip_has() { tooltip | grep -qF -- "$1"; }
unread_in_tooltip() { tooltip | grep -oE '[0-9]+ (unread|封未读)' | grep -oE '^[0-9]+'; }  # en or zh
# menu_items: "id<TAB>visible<TAB>enabled<TAB>label" for every item, submenus included
menu_items() {
  busctl --user --json=short call "$ITEM" /StatusNotifierItem/menu com.canonical.dbusmenu GetLayout iias 0 -- -1 0 |
    jq -r '[.data[1] | recurse(.[2][]?.data)] | .[1:][] |
      "\(.[0])\t\(if .[1].visible == null then true else .[1].visible.data end)\t\(if .[1].enabled == null then true else .[1].enabled.data end)\t\(.[1].label.data // "--")"'
}
menu_labels() { menu_items | awk -F'\t' '$2=="true"{print $4}'; }
menu_id() { menu_items | awk -F'\t' -v l="$1" '$4==l{print $1; exit}'; }
menu_click() {  # the D-Bus call a tray host makes on a click
  local id; id=$(menu_id "$1")
  [[ -n "$id" ]] || { fail "no menu item '$1'"; return 1; }
  busctl --user call "$ITEM" /StatusNotifierItem/menu com.canonical.dbusmenu Event isvu "$id" clicked s "" 0
}
activate() { busctl --user call "$ITEM" /StatusNotifierItem org.kde.StatusNotifierItem Activate ii 0 0; }
notify_calls() { jq -r 'select(.member=="Notify") | "\(.payload.data[0])\t\(.payload.data[3])\t\(.payload.data[4])"' "$OUT/notifications.jsonl" 2>/dev/null; }
notified() { notify_calls | grep -qF -- "$1"; }
notify_count() { notify_calls | wc -l; }
urls() { grep -c . "$OUT/opened-urls.txt"; }
urls_ge() { [[ "$(urls)" -ge "$1" ]]; }
log_has() { grep -qF -- "$1" "$LOGFILE"; }
shot() { import -window root "$SHOTS/$1.png"; }
plugin_xy() {  # centre of the panel's tray plugin window
  local w; for w in $(xdotool search --classname wrapper-2.0); do
    eval "$(xdotool getwindowgeometry --shell "$w")"
    if [[ $Y -eq 0 && $HEIGHT -ge 20 ]]; then echo "$((X+WIDTH/2)) $((Y+HEIGHT/2))"; return; fi
  done; return 1; }
popup_xy() {  # the popup menu the host opened
  local w; for w in $(xdotool search --onlyvisible --classname wrapper-2.0); do
    eval "$(xdotool getwindowgeometry --shell "$w")"
    if [[ $Y -ge 20 && $HEIGHT -ge 60 ]]; then echo "$X $Y $WIDTH $HEIGHT"; return; fi
  done; return 1; }
exited_with() {  # exited_with SECONDS CODE: the app exits, with CODE
  local n=$(( $1 * 10 ))
  for ((k=0; k<n; k++)); do kill -0 "$APID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$APID" 2>/dev/null && return 1
  wait "$APID"; local rc=$?
  echo "exit status $rc" >>"$OUT/${APPLOG:-app.log}"
  [[ $rc -eq $2 ]]
}

# shellcheck disable=SC1091
source "$HERE/scenarios.sh"
"scenario_$SCEN"
echo "$SCEN: $PASSES passed, $FAILS failed"
[[ $FAILS -eq 0 ]]
