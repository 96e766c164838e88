# scenarios.sh: the desktop end-to-end scenarios, sourced by harness.sh
# inside a fresh headless session. Each scenario_NAME starts what it needs
# and reports with pass/fail.
# shellcheck shell=bash disable=SC2154

MENU_WANT="Open mailbox|Pause notifications|For 1 hour|Until tomorrow|Resume notifications|Show message content in notifications|Start at login|About exmail-notifier VERSION|Quit"  # VERSION: whatever the build stamped
# the visible menu, minus recent-mail items ("sender — subject") and separators
menu_main() { menu_labels | grep -v -e ' — ' -e '^--$' | sed 's/^About exmail-notifier .*/About exmail-notifier VERSION/' | paste -sd'|'; }
ticket() { sed -n "${1}p" "$OUT/sso-urls.txt" | grep -oE 'ticket=[^&]+' ; }
# the opener was given a loopback hand-off link, never the ticket itself
argv_clean() { ! grep -q 'ticket=' "$OUT/opened-urls.txt"; }
sso_url_ok() { sed -n "${1}p" "$OUT/sso-urls.txt" | grep -qE "^${FAKE_LOGIN_URL:-http://127\.0\.0\.1:[0-9]+/cgi-bin/login}\?.*fun=bizopenssologin.*ticket=[0-9A-F]{16,}"; }
unread_is() { [[ "$(unread_in_tooltip)" == "$1" ]]; }
unread_gt() { local n; n=$(unread_in_tooltip) && [[ -n "$n" && "$n" -gt "$1" ]]; }

# The demo, as an employee meets it: a real panel, dunst, clicks.
scenario_demo() {
  start_monitor; start_dunst; start_panel
  local t0=$SECONDS
  start_app demo --interval 1h
  wait_for 15 item_registered && pass "tray item registered in $((SECONDS-t0)) s: $(watcher_prop RegisteredStatusNotifierItems)" || { fail "tray item not registered"; return; }
  check "Title is \"Exmail Notifier\"" test "$(sni Title)" == 's "Exmail Notifier"'
  wait_for 10 unread_gt 0 && pass "tooltip names the mailbox and the seeded unread count: $(tooltip)" || fail "tooltip: $(tooltip)"
  sni IconPixmap | grep -q '^a(iiay) 1 32 32 4096 ' && pass "icon is a 32x32 pixmap" || fail "IconPixmap: $(sni IconPixmap | clip 40)"
  check "left click opens the mailbox (ItemIsMenu false)" test "$(sni ItemIsMenu)" == "b false"
  [[ "$(menu_main)" == "$MENU_WANT" ]] && pass "menu layout" || fail "menu: $(menu_main)"
  local before; before=$(unread_in_tooltip)
  wait_for 12 notified "Exmail Notifier" && pass "first toast $((SECONDS-t0)) s after launch: $(notify_calls | head -1 | cut -f2- | tr '\t' ' ' | clip 80)" || fail "no toast within 12 s"
  wait_for 5 unread_is $((before+1)) && pass "count in the tooltip follows the push: $before → $(unread_in_tooltip)" || fail "count after a mail: $(tooltip)"
  menu_labels | grep -q ' — ' && pass "the new mail is in the recent list: $(menu_labels | grep ' — ' | head -1)" || fail "no recent mail item"
  sleep 0.5; shot 01-demo-tray-and-toast
  check "dunst shows the toast" test "$(dunstctl count displayed)" -ge 1

  # a real pointer click on the icon: the host opens the menu (left click = open mailbox)
  local MX MY PX PY PW PH
  if read -r MX MY < <(plugin_xy); then
    xdotool mousemove "$MX" "$MY" click 3; sleep 1; shot 02-demo-menu-open
    if read -r PX PY PW PH < <(popup_xy); then
      pass "right click opens the host's menu (${PW}x${PH})"
      xdotool key Escape; sleep 0.3
    else fail "no popup menu after a right click"; fi
    xdotool mousemove "$MX" "$MY" click 1
    wait_for 5 urls_ge 1 && pass "real left click on the icon opened the mailbox" || fail "left click opened nothing"
  else fail "tray plugin window not found"; fi

  wait_for 10 unread_is 0 && pass "opening the mailbox marked mail read: $(tooltip)" || fail "count after opening: $(tooltip)"
  menu_click "Open mailbox"
  wait_for 5 urls_ge 2 && pass "\"Open mailbox\" menu click opened an SSO URL" || fail "menu click opened nothing"
  activate
  wait_for 5 urls_ge 3 && pass "Activate (D-Bus) opened an SSO URL" || fail "Activate opened nothing"
  sso_url_ok 3 && pass "URL is the fake's SSO login with a ticket" || fail "URL: $(sed -n 3p "$OUT/sso-urls.txt" | sed -E 's/ticket=[^&]+/ticket=…/')"
  check "the ticket never reached the opener's command line (loopback hand-off)" argv_clean
  [[ -n "$(ticket 2)" && "$(ticket 2)" != "$(ticket 3)" ]] && pass "each open uses a fresh ticket" || fail "tickets repeat"
  grep -qE 'ticket=|authkey' "$LOGFILE" "$OUT/app.log" && fail "an SSO ticket reached the log" || pass "no SSO ticket in the log"

  "$BIN" demo >"$OUT/second.log" 2>&1; local rc=$?
  [[ $rc -eq 0 ]] && grep -q 'already running' "$OUT/second.log" && pass "second launch hands over and exits 0" || fail "second launch: rc=$rc $(cat "$OUT/second.log")"
  wait_for 5 urls_ge 4 && pass "the running instance opened the mailbox for it" || fail "no hand-off"

  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit: $(tail -1 "$OUT/app.log")"
  wait_for 5 item_gone && pass "the item left the bus" || fail "item still registered"
}

# login stores the key in the Secret Service; the tray app then runs from
# the stored account against the fake server, which the test drives.
login_fake() {
  printf '%s\n' "$FAKE_SECRET" | "$BIN" login --secret-stdin --agent "$FAKE_AGENT" --alias "$1" \
    --api-url "$FAKE_API_URL" --token-url "$FAKE_TOKEN_URL" --login-url "$FAKE_LOGIN_URL" >"$OUT/login.log" 2>&1
}
listening() { [[ "$(fake listeners)" -ge 1 ]]; }
scenario_login() {
  start_keyring; start_monitor; start_dunst; start_panel; start_fake || return
  local alias="lina@$FAKE_DOMAIN"
  login_fake "$alias" && pass "login --secret-stdin against the fake server" || { fail "login: $(cat "$OUT/login.log")"; return; }
  [[ "$(secret-tool lookup service exmail-notifier username "$FAKE_AGENT")" == "$FAKE_SECRET" ]] \
    && pass "the key is in the Secret Service (secret-tool lookup)" || fail "secret-tool lookup"
  grep -rqF "$FAKE_SECRET" "$XDG_CONFIG_HOME" && fail "the key is in a config file" || pass "no key in the config files"

  local t0=$SECONDS
  start_app
  wait_for 15 item_registered && pass "tray item registered in $((SECONDS-t0)) s" || { fail "tray item not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 10 listening && pass "listen connection open" || fail "no listen connection"
  local n; n=$(fake "unread?alias=$alias")
  wait_for 10 unread_is "$n" && pass "tooltip shows the server's count: $(tooltip)" || fail "tooltip: $(tooltip) (server: $n)"

  fake "deliver?alias=$alias&subject=E2E%20hello%201&summary=Lunch%20at%2012" >/dev/null
  wait_for 10 notified "E2E hello 1" && pass "a delivered mail produced a Notify call: $(notify_calls | grep 'E2E hello 1' | tr '\t' '|')" || fail "no toast for the mail"
  wait_for 5 unread_is $((n+1)) && pass "count follows the push: $n → $((n+1))" || fail "count: $(tooltip)"
  sleep 0.5; shot 03-login-tray-and-toast

  # Underscores are literal text, not access keys: dbusmenu must get them
  # doubled ("__"), or the host shows "buildbot — buildfailed on cimain".
  fake "deliver?alias=$alias&subject=build_failed%20on%20ci_main&sender=%22build_bot%22%20%3Cci_bot%40$FAKE_DOMAIN%3E" >/dev/null
  wait_for 10 notified "build_failed on ci_main" || fail "no toast for build_failed on ci_main"
  has_label() { menu_items | cut -f4 | grep -qxF -- "$1"; }
  wait_for 5 has_label "build__bot — build__failed on ci__main" \
    && pass "underscores are escaped on the wire (GetLayout label: $(menu_items | cut -f4 | grep -F build | head -1)), so the host shows them as written" \
    || fail "label on the wire: $(menu_items | cut -f4 | grep -F build | head -1)"
  local MX MY
  if read -r MX MY < <(plugin_xy); then   # the host's own rendering, for the eye
    xdotool mousemove "$MX" "$MY" click 3; sleep 1; shot 06-login-menu-underscores; xdotool key Escape; sleep 0.3
  fi

  menu_click "Open mailbox"
  wait_for 5 urls_ge 1 && sso_url_ok 1 && pass "\"Open mailbox\" opened the SSO URL" || fail "menu click opened nothing"
  wait_for 10 unread_is 0 && pass "count falls after the browser opened the mailbox: $(tooltip)" || fail "count after open: $(tooltip)"
  activate
  wait_for 5 urls_ge 2 && pass "Activate opened the mailbox" || fail "Activate opened nothing"
  [[ -n "$(ticket 1)" && "$(ticket 1)" != "$(ticket 2)" ]] && pass "fresh ticket on each open" || fail "tickets repeat"
  check "the ticket never reached the opener's command line" argv_clean

  menu_click "For 1 hour"
  wait_for 5 sh -c "busctl --user --json=short call $ITEM /StatusNotifierItem/menu com.canonical.dbusmenu GetLayout iias 0 -- -1 0 | grep -q 'paused until'" \
    && pass "pause: the menu says until when" || fail "pause label: $(menu_labels | paste -sd'|')"
  local before; before=$(notify_count)
  fake "deliver?alias=$alias&subject=E2E%20while%20paused" >/dev/null
  wait_for 5 unread_is 1 && pass "paused: the count still follows (1)" || fail "paused count: $(tooltip)"
  sleep 3   # longer than the burst window: a toast would have come by now
  [[ "$(notify_count)" -eq "$before" ]] && pass "paused: no toast" || fail "a toast while paused: $(notify_calls | tail -1)"
  menu_click "Resume notifications"
  sleep 0.5
  fake "deliver?alias=$alias&subject=E2E%20after%20resume" >/dev/null
  wait_for 10 notified "E2E after resume" && pass "resume: toasts again" || fail "no toast after resume"
  sleep 0.3; dunstctl action 0 >/dev/null 2>&1
  wait_for 5 urls_ge 3 && sed -n 3p "$OUT/sso-urls.txt" | grep -q 'mailid=' \
    && pass "clicking the toast opens that mail (SSO URL with mailid)" || fail "toast click: $(urls) URLs"

  menu_click "Show message content in notifications"
  wait_for 5 sh -c "grep -q '\"show_content\": *false' '$XDG_CONFIG_HOME/exmail-notifier/config.json'" \
    && pass "content off: saved in the config" || fail "show_content not saved: $(cat "$XDG_CONFIG_HOME/exmail-notifier/config.json")"
  before=$(notify_count)
  fake "deliver?alias=$alias&subject=E2E%20secret%20subject" >/dev/null
  count_gt() { [[ "$(notify_count)" -gt "$1" ]]; }
  wait_for 10 count_gt "$before" && ! notified "E2E secret subject" \
    && pass "content off: the toast hides sender and subject: $(notify_calls | tail -1 | tr '\t' '|')" \
    || fail "content off: $(notify_calls | tail -1 | tr '\t' '|')"

  menu_click "Start at login"
  local entry="$XDG_CONFIG_HOME/autostart/exmail-notifier.desktop"
  wait_for 5 test -f "$entry" && grep -qF "Exec=$BIN" "$entry" && pass "Start at login writes $(basename "$entry") (Exec=$BIN, mode $(stat -c %a "$entry"))" || fail "no autostart entry"
  menu_click "Start at login"
  wait_for 5 test ! -e "$entry" && pass "and unchecking removes it" || fail "autostart entry still there"

  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit: $(tail -2 "$OUT/app.log")"
  wait_for 5 item_gone && pass "the item left the bus" || fail "item still registered"
  "$BIN" logout >"$OUT/logout.log" 2>&1 && pass "logout" || fail "logout: $(cat "$OUT/logout.log")"
  [[ -z "$(secret-tool lookup service exmail-notifier username "$FAKE_AGENT")" ]] && pass "logout removed the key from the Secret Service" || fail "key still stored"
}

# No tray host (stock GNOME): nothing owns StatusNotifierWatcher. The app
# logs the fix, and toasts still work.
scenario_nohost() {
  start_monitor; start_dunst
  XDG_CURRENT_DESKTOP=ubuntu:GNOME start_app demo --interval 1h
  wait_for 10 log_has "no tray host" && pass "logged: $(grep -m1 'no tray host' "$LOGFILE" | sed 's/.*msg=//' | clip 160)…" || fail "no 'no tray host' line in the log"
  log_has "AppIndicator and KStatusNotifierItem Support" && pass "the GNOME fix is named" || fail "no GNOME fix in the log"
  wait_for 12 notified "Exmail Notifier" && pass "toasts still work" || fail "no toast"
  kill -INT "$APID"
  exited_with 5 0 && pass "SIGINT exits with status 0" || fail "SIGINT: $(tail -2 "$OUT/app.log")"
}

# No notification daemon: the tray still counts, the failure is logged.
scenario_nonotify() {
  start_panel
  start_app demo --interval 1h
  wait_for 15 item_registered && pass "tray item registered" || { fail "not registered"; return; }
  wait_for 10 unread_gt 0 || true
  local n; n=$(unread_in_tooltip)
  wait_for 12 unread_is $((n+1)) && pass "the tray still counts: $n → $((n+1))" || fail "count: $(tooltip)"
  wait_for 5 grep -qi 'notif' "$LOGFILE" && pass "logged: $(grep -i -m1 'no notification server\|notify' "$LOGFILE" | sed 's/.*msg=//' | clip 140)" || fail "nothing logged about notifications"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# A stored account but no Secret Service on the bus: attention state
# naming the fix, at once, no hang. Then gnome-keyring starts and the key
# is stored: the tray connects by itself, without a restart.
scenario_nokeyring() {
  start_panel; start_monitor; start_dunst; start_fake || return
  mkdir -p "$XDG_CONFIG_HOME/exmail-notifier"
  printf '{"version":1,"agent":"%s","alias":"lina@%s","token_url":"%s","api_url":"%s","login_url":"%s"}\n' \
    "$FAKE_AGENT" "$FAKE_DOMAIN" "$FAKE_TOKEN_URL" "$FAKE_API_URL" "$FAKE_LOGIN_URL" >"$XDG_CONFIG_HOME/exmail-notifier/config.json"
  local t0=$SECONDS
  start_app
  wait_for 15 item_registered && pass "tray item registered in $((SECONDS-t0)) s (no hang)" || { fail "not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 5 sh -c "grep -q 'Secret Service\|keyring' '$OUT/app.log'" && pass "says: $(grep -m1 'keyring\|Secret' "$OUT/app.log" | clip 150)" || fail "no keyring message: $(cat "$OUT/app.log")"
  wait_for 5 tooltip_has "no keyring" && pass "attention state in the tooltip: $(tooltip)" || fail "tooltip: $(tooltip)"
  local status; status=$(menu_labels | head -1)
  [[ "$status" == "Keyring not running" ]] && pass "the menu says it in one short line: $status" || fail "status line: $status"
  local widest; widest=$(menu_labels | python3 -c 'import sys,unicodedata as u; print(max(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in l.rstrip("\n")) for l in sys.stdin))')
  [[ "$widest" -le 60 ]] && pass "no menu line is wider than 60 columns (widest: $widest)" || fail "a menu line is $widest columns: $(menu_labels | paste -sd'|')"
  menu_click "Details…"
  wait_for 5 notified "gnome-keyring" && pass "Details… shows the fix: $(notify_calls | grep gnome-keyring | tail -1 | cut -f2- | tr '\t' '|' | clip 120)…" || fail "Details… showed nothing: $(notify_calls | tail -1)"
  local MX MY
  if read -r MX MY < <(plugin_xy); then
    xdotool mousemove "$MX" "$MY" click 3; sleep 1; shot 04-keyring-attention-menu; xdotool key Escape
  else shot 04-keyring-attention-menu; fi
  start_keyring
  tooltip_lacks() { local t; t=$(tooltip) && [[ -n "$t" && "$t" != *"$1"* ]]; }
  wait_for 10 tooltip_lacks "no keyring" \
    && pass "the keyring appeared, the key is not there yet: $(tooltip)" || fail "tooltip after the keyring started: $(tooltip)"
  printf %s "$FAKE_SECRET" | secret-tool store --label="exmail-notifier test key" service exmail-notifier username "$FAKE_AGENT" \
    && pass "the key stored with secret-tool" || fail "secret-tool store"
  wait_for 15 unread_gt 0 && pass "connected without a restart: $(tooltip)" || fail "not connected: $(tooltip); $(tail -3 "$OUT/app.log")"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# The login keyring exists but is locked, and no prompt can be shown: the
# same attention state, no hang. Then the keyring comes back unlocked
# (gnome-keyring restarted with the password): the tray connects by
# itself, without a restart.
scenario_lockedkeyring() {
  start_keyring; local kpid=${PIDS[-1]}
  start_panel; start_fake || return
  login_fake "lina@$FAKE_DOMAIN" || { fail "login: $(cat "$OUT/login.log")"; return; }
  busctl --user call org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service Lock ao 1 /org/freedesktop/secrets/collection/login >/dev/null \
    && [[ "$(busctl --user get-property org.freedesktop.secrets /org/freedesktop/secrets/collection/login org.freedesktop.Secret.Collection Locked)" == "b true" ]] \
    && pass "login keyring locked" || fail "could not lock the keyring"
  local t0=$SECONDS
  start_app
  wait_for 20 item_registered && pass "tray item registered in $((SECONDS-t0)) s (no hang)" || { fail "not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 5 tooltip_has "keyring" && pass "attention state: $(tooltip)" || fail "tooltip: $(tooltip)"
  grep -q 'locked\|unlock' "$OUT/app.log" && pass "says: $(grep -m1 'locked\|unlock' "$OUT/app.log" | clip 150)" || fail "no message: $(cat "$OUT/app.log")"
  kill "$kpid"; wait_for 10 sh -c '! busctl --user status org.freedesktop.secrets >/dev/null 2>&1' || fail "gnome-keyring did not stop"
  start_keyring
  [[ "$(busctl --user get-property org.freedesktop.secrets /org/freedesktop/secrets/collection/login org.freedesktop.Secret.Collection Locked)" == "b false" ]] \
    && pass "login keyring unlocked" || fail "the keyring is still locked"
  wait_for 15 unread_gt 0 && pass "connected without a restart: $(tooltip)" || fail "not connected: $(tooltip); $(tail -3 "$OUT/app.log")"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# No session bus at all: the demo prints its toasts and quits cleanly.
scenario_nobus() {
  [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]] && pass "no session bus" || fail "a session bus is set"
  start_app demo --interval 1h
  wait_for 10 grep -q 'no desktop session' "$OUT/app.log" && pass "says: $(grep -m1 'no desktop session' "$OUT/app.log" | clip 140)" || fail "no message"
  wait_for 12 grep -q '^\[toast\]' "$OUT/app.log" && pass "prints the toast: $(grep -m1 '^\[toast\]' "$OUT/app.log" | clip 100)" || fail "no printed toast"
  grep -q '^\[tray\] lina@example.com' "$OUT/app.log" && pass "prints the count: $(grep '^\[tray\]' "$OUT/app.log" | tail -1)" || fail "no printed count"
  kill -INT "$APID"
  exited_with 5 0 && pass "Ctrl-C exits with status 0, no panic" || fail "exit: $(tail -5 "$OUT/app.log")"
  grep -q 'panic' "$OUT/app.log" && fail "panicked" || pass "no panic"
  pgrep -f 'dbus-daemon.*--autolaunch' >/dev/null && fail "a dbus-daemon was auto-launched" || pass "no dbus-daemon auto-launched"
}

# Idle cost (not in the default run; see e2e/idle.sh): the tray app from a
# stored account, connected to the fake server and idle for IDLE_SECONDS.
proc_ticks() { awk '{print $14+$15}' "/proc/$APID/stat"; }
proc_switches() { cat /proc/"$APID"/task/*/status | awk '/ctxt_switches/ {n+=$2} END {print n}'; }
proc_kb() { awk -v k="$1:" '$1==k {print $2}' "/proc/$APID/status"; }
scenario_idle() {
  start_keyring; start_monitor; start_dunst; start_panel; start_fake || return
  login_fake "lina@$FAKE_DOMAIN" || { fail "login: $(cat "$OUT/login.log")"; return; }
  local t0; t0=$(date +%s%N)
  start_app
  wait_for 15 item_registered || { fail "not registered"; return; }
  local t1; t1=$(date +%s%N)
  pass "launch → tray item registered: $(( (t1-t0)/1000000 )) ms"
  wait_for 10 listening && wait_for 10 unread_gt 0 || fail "not connected"
  sleep 5   # let start-up work settle
  local ticks0 sw0 idle=${IDLE_SECONDS:-120}
  ticks0=$(proc_ticks); sw0=$(proc_switches)
  echo "IDLE: waiting ${idle} s …"
  sleep "$idle"
  local ticks1 sw1; ticks1=$(proc_ticks); sw1=$(proc_switches)
  local hz; hz=$(getconf CLK_TCK)
  pass "idle ${idle} s: CPU $((ticks1-ticks0)) ticks (1/${hz} s each), $(( (sw1-sw0) )) context switches ($(awk -v n=$((sw1-sw0)) -v s="$idle" 'BEGIN{printf "%.2f", n/s}')/s wakeups), threads $(proc_kb Threads)"
  local rss; rss=$(proc_kb VmRSS)
  [[ "$rss" -lt 20480 ]] && pass "RSS $((rss/1024)).$(( (rss%1024)*10/1024 )) MB (VmHWM $(proc_kb VmHWM) kB, RssAnon $(proc_kb RssAnon) kB, RssFile $(proc_kb RssFile) kB, binary $(stat -c %s "$BIN") B) < 20 MB" || fail "RSS ${rss} kB ≥ 20 MB"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# The login keyring is locked on a desktop: gnome-keyring asks for the
# password (gcr-prompter) while the app waits; typing it lets the app go
# on with the stored key.
prompt_window() { xdotool search --onlyvisible --class gcr-prompter | head -1; }
scenario_promptkeyring() {
  start_keyring; start_panel; start_monitor; start_dunst; start_fake || return
  login_fake "lina@$FAKE_DOMAIN" || { fail "login: $(cat "$OUT/login.log")"; return; }
  busctl --user call org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service Lock ao 1 /org/freedesktop/secrets/collection/login >/dev/null \
    && pass "login keyring locked" || fail "could not lock the keyring"
  start_app
  local win
  if wait_for 8 prompt_window; then
    win=$(prompt_window)
    sleep 0.5; shot 05-keyring-unlock-prompt
    pass "gnome-keyring asks for the password"
    xdotool windowactivate --sync "$win" 2>/dev/null; xdotool type --delay 20 "${KEYRING_PW:-ci-keyring-pw}"; xdotool key Return
  else fail "no unlock prompt"; fi
  wait_for 15 item_registered && pass "tray item registered after the unlock" || { fail "not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 10 unread_gt 0 && pass "connected with the stored key: $(tooltip)" || fail "tooltip: $(tooltip)"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# The same prompt, dismissed: the app shows the problem at once, no hang.
scenario_promptcancel() {
  start_keyring; start_panel; start_fake || return
  login_fake "lina@$FAKE_DOMAIN" || { fail "login: $(cat "$OUT/login.log")"; return; }
  busctl --user call org.freedesktop.secrets /org/freedesktop/secrets org.freedesktop.Secret.Service Lock ao 1 /org/freedesktop/secrets/collection/login >/dev/null \
    && pass "login keyring locked" || fail "could not lock the keyring"
  start_app
  if wait_for 8 prompt_window; then
    xdotool windowactivate --sync "$(prompt_window)" 2>/dev/null; xdotool key Escape
    pass "unlock prompt dismissed"
  else fail "no unlock prompt"; fi
  local t0=$SECONDS
  wait_for 15 item_registered && pass "tray item registered $((SECONDS-t0)) s after the dismissal" || { fail "not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 5 tooltip_has "keyring" && pass "attention state: $(tooltip)" || fail "tooltip: $(tooltip)"
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# Push → toast latency: 50 mails, each more than the burst window after
# the last (so each is the first of a quiet spell and toasts at once),
# timed from the fake server's hand-over to the listen stream (its
# "delivered" log line) to the Notify call seen by the bus monitor.
LATENCY_N=${LATENCY_N:-50}
LATENCY_GAP=${LATENCY_GAP:-2.1}   # seconds; the burst window is 2 s
scenario_latency() {
  start_keyring; start_monitor; start_dunst; start_panel; start_fake || return
  local alias="lina@$FAKE_DOMAIN"
  login_fake "$alias" || { fail "login: $(cat "$OUT/login.log")"; return; }
  start_app
  wait_for 15 item_registered || { fail "not registered"; return; }
  wait_for 10 listening && wait_for 10 unread_gt 0 || { fail "not connected"; return; }
  sleep 1   # let start-up work settle
  local i
  for ((i=1; i<=LATENCY_N; i++)); do
    fake "deliver?alias=$alias&subject=E2E%20latency%20$i%20end" >/dev/null
    sleep "$LATENCY_GAP"
  done
  wait_for 10 notified "E2E latency $LATENCY_N end" || fail "no toast for the last mail"
  local report
  report=$(python3 - "$OUT/fake.log" "$OUT/notifications.jsonl" "$LATENCY_N" <<'PY'
import json, re, sys
fake, mon, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sent = {}
for line in open(fake):
    m = re.match(r"delivered (\d+) \S+ (E2E latency \d+ end)$", line.strip())
    if m:
        sent[m.group(2)] = int(m.group(1))
seen = {}
for line in open(mon):
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    if msg.get("member") != "Notify":
        continue
    body = msg["payload"]["data"][4]
    m = re.search(r"E2E latency \d+ end", body)
    if m and m.group(0) not in seen:
        seen[m.group(0)] = msg["timestamp-realtime"]
lat = sorted((seen[s] - t) / 1000 for s, t in sent.items() if s in seen)
if len(lat) < n:
    print(f"MISSING {n - len(lat)} of {n}")
    sys.exit(0)
def pct(p):  # nearest rank
    k = max(1, -(-p * len(lat) // 100))
    return lat[int(k) - 1]
print(f"n={len(lat)} p50={pct(50):.1f}ms p99={pct(99):.1f}ms max={lat[-1]:.1f}ms min={lat[0]:.1f}ms")
PY
)
  echo "LATENCY: push → Notify: $report"
  if [[ "$report" == n=* ]]; then
    pass "every push toasted: $report"
    local p99; p99=$(sed -E 's/.*p99=([0-9.]+)ms.*/\1/' <<<"$report")
    awk -v p="$p99" 'BEGIN{exit !(p <= 20)}' && pass "p99 ≤ 20 ms" || fail "p99 is $p99 ms (> 20 ms)"
  else
    fail "pushes without a toast: $report"
  fi
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit"
}

# The company relay, as IT deploys it and two employees meet it: the fake
# exmail upstream, "exmail-relay serve" on loopback (its key in a 0600 file,
# its SQLite db in a temp dir), and two desktops, each its own session
# (Xvfb, bus, gnome-keyring, dunst, xfce4-panel), enrolled for bob@ and
# lina@ by running what a click on IT's link runs:
# exmail-notifier 'exmail-notifier://enroll?relay=…&code=…'. Bob's desktop
# held the admin key from an earlier login; enrolling must remove it.

# relay_admin COMMAND ARGS...: an IT command on the serving relay's db
relay_admin() {
  local c=$1; shift
  EXMAIL_AGENT="$FAKE_AGENT" EXMAIL_TOKEN_URL="$FAKE_TOKEN_URL" EXMAIL_API_URL="$FAKE_API_URL" EXMAIL_LOGIN_URL="$FAKE_LOGIN_URL" \
    "$RELAY_BIN" "$c" --db "$RELAY_DB" "$@"
}
relay_serving() { grep -q 'msg="relay: serving"' "$OUT0/relay.log" && grep -q 'relay upstream: online' "$OUT0/relay.log"; }
has_problem() { tooltip | grep -qiE 'rejected|revoked|enroll'; }
scenario_relay() {
  start_fake || return
  local rd="$W/relay"; mkdir -p "$rd"; RELAY_DB="$rd/relay.db"
  (umask 077; printf '%s\n' "$FAKE_SECRET" >"$rd/secret")
  # env execs the relay: $! is the relay itself, for the SIGTERM below
  env EXMAIL_AGENT="$FAKE_AGENT" EXMAIL_TOKEN_URL="$FAKE_TOKEN_URL" EXMAIL_API_URL="$FAKE_API_URL" EXMAIL_LOGIN_URL="$FAKE_LOGIN_URL" \
    "$RELAY_BIN" serve --listen 127.0.0.1:0 --db "$RELAY_DB" --secret-file "$rd/secret" >"$OUT/relay.log" 2>&1 &
  local RPID=$!; PIDS+=($RPID)
  wait_for 10 relay_serving && [[ "$(stat -c %a "$rd/secret")" == 600 ]] && pass "exmail-relay serve: plain HTTP on loopback, the key from a 0600 --secret-file, upstream online" \
    || { fail "relay did not start: $(tail -3 "$OUT/relay.log")"; return; }
  local RURL; RURL="http://$(grep -m1 -o 'msg="relay: serving" addr=[^ ]*' "$OUT/relay.log" | sed 's/.*addr=//')"

  local who alias
  declare -A LINK CODE TOK DEV
  for who in bob lina; do
    alias="$who@$FAKE_DOMAIN"
    relay_admin enroll --relay-url "$RURL" --secret-file "$rd/secret" "$alias" >"$OUT/enroll-$who.txt" 2>&1 \
      || { fail "exmail-relay enroll $alias: $(cat "$OUT/enroll-$who.txt")"; return; }
    CODE[$who]=$(sed -n 1p "$OUT/enroll-$who.txt"); LINK[$who]=$(sed -n 2p "$OUT/enroll-$who.txt")
    [[ "${CODE[$who]}" == exr_* && "${LINK[$who]}" == "exmail-notifier://enroll?"*"code=${CODE[$who]}"* ]] \
      && pass "exmail-relay enroll $alias: a one-time code and its link" || { fail "enroll output: $(cat "$OUT/enroll-$who.txt")"; return; }
  done

  for who in bob lina; do
    new_desktop "$who" || return
    use_desktop "$who"
    start_keyring; start_monitor; start_dunst; start_panel
  done
  # Bob's computer was set up the old way, with the admin key, and its tray
  # runs when he clicks the link: that tray must quit, the new one take over.
  use_desktop bob
  login_fake "bob@$FAKE_DOMAIN" || { fail "bob: login: $(cat "$OUT/login.log")"; return; }
  APPLOG=app-direct.log start_app
  wait_for 15 item_registered && wait_for 10 unread_gt 0 || { fail "bob: the direct-mode tray did not start: $(tail -3 "$OUT/app-direct.log")"; return; }
  local oldpid=$APID

  local t0
  for who in bob lina; do
    use_desktop "$who"; alias="$who@$FAKE_DOMAIN"; t0=$SECONDS
    start_app "${LINK[$who]}"   # what the URL handler runs on a click
    # A link can come from anyone: nothing changes before the relay it names
    # is confirmed, with a click on the notification that asks.
    wait_for 15 notified "company relay" && pass "$who: the link asks first: $(notify_calls | grep 'company relay' | tail -1 | cut -f2- | tr '\t' '|' | clip 140)" \
      || { fail "$who: the link did not ask for a confirmation: $(tail -3 "$OUT/app.log")"; return; }
    [[ -z "$(secret-tool lookup service exmail-notifier username "relay-device $RURL")" ]] \
      && pass "$who: nothing is enrolled before the click" || fail "$who: enrolled before the confirmation"
    if [[ $who == bob ]]; then kill -0 "$oldpid" 2>/dev/null && pass "bob: the admin-key tray still runs before the click" || fail "bob: the old tray quit before the click"; fi
    sleep 0.3; dunstctl action 0 >/dev/null 2>&1
    if [[ $who == bob ]]; then
      local newpid=$APID; APID=$oldpid
      APPLOG=app-direct.log exited_with 10 0 && pass "bob: the tray that ran on the admin key quit for the enrolled one" || fail "bob: the old tray is still running"
      APID=$newpid
    fi
    wait_for 20 on_bus "$ITEM" && wait_for 10 item_registered \
      && pass "$who: the link enrolled and started the tray in $((SECONDS-t0)) s: $(grep -m1 '^Enrolled' "$OUT/app.log" | clip 120)" \
      || { fail "$who: no tray item from the link's process: $(tail -3 "$OUT/app.log")"; return; }
    local tok; tok=$(secret-tool lookup service exmail-notifier username "relay-device $RURL")
    TOK[$who]=$tok
    [[ "$tok" == exr_* && "$tok" != "${CODE[$who]}" ]] && pass "$who: the Secret Service holds a relay device token (user \"relay-device $RURL\")" || fail "$who: device token: ${tok:0:8}…"
    [[ -z "$(secret-tool lookup service exmail-notifier username "$FAKE_AGENT")" ]] && ! secret-tool search --all service exmail-notifier 2>&1 | grep -qF "$FAKE_SECRET" \
      && pass "$who: no admin key in the Secret Service" || fail "$who: the admin key is in the Secret Service"
    local cfg="$XDG_CONFIG_HOME/exmail-notifier/config.json"
    DEV[$who]=$(jq -r '.relay_device // empty' "$cfg" 2>/dev/null)
    grep -qF "\"$RURL\"" "$cfg" && pass "$who: the config names the relay: $(jq -c '{relay_url, alias} ' "$cfg" 2>/dev/null || true)" || fail "$who: config: $(cat "$cfg")"
    ! grep -rqE 'exr_|'"$FAKE_SECRET" "$XDG_CONFIG_HOME" && pass "$who: no token, code or key in the config files" || fail "$who: a secret in $(grep -rlE 'exr_|'"$FAKE_SECRET" "$XDG_CONFIG_HOME")"
    local n; n=$(fake "unread?alias=$alias")
    wait_for 10 unread_is "$n" && tooltip_has "$alias" && pass "$who: the tooltip shows $alias's own count: $(tooltip)" || fail "$who: tooltip: $(tooltip) (server: $n for $alias)"
  done
  [[ "${TOK[bob]}" != "${TOK[lina]}" ]] && pass "each desktop has a token of its own" || fail "bob and lina share a device token"
  use_desktop bob
  grep -q 'Removed the interface key' "$OUT/app.log" && pass "bob: enrolling removed the key of the earlier login" || fail "bob: no word about the old key: $(cat "$OUT/app.log" | clip 200)"

  # Mail for one mailbox toasts on its own desktop only.
  local nb nl
  use_desktop bob; nb=$(unread_in_tooltip)
  fake "deliver?alias=bob@$FAKE_DOMAIN&subject=Relay%20E2E%20for%20bob&summary=Budget%20review" >/dev/null
  wait_for 10 notified "Relay E2E for bob" && pass "bob: a mail to bob@ produced a Notify on bob's bus: $(notify_calls | grep -F 'for bob' | cut -f2- | tr '\t' '|' | clip 100)" || fail "bob: no toast: $(notify_calls | tail -1)"
  wait_for 5 unread_is $((nb+1)) && pass "bob: count follows: $nb → $((nb+1))" || fail "bob: count: $(tooltip)"
  use_desktop lina; nl=$(unread_in_tooltip)
  fake "deliver?alias=lina@$FAKE_DOMAIN&subject=Relay%20E2E%20for%20lina&summary=Team%20lunch" >/dev/null
  wait_for 10 notified "Relay E2E for lina" && pass "lina: a mail to lina@ produced a Notify on lina's bus: $(notify_calls | grep -F 'for lina' | cut -f2- | tr '\t' '|' | clip 100)" || fail "lina: no toast: $(notify_calls | tail -1)"
  wait_for 5 unread_is $((nl+1)) && pass "lina: count follows: $nl → $((nl+1))" || fail "lina: count: $(tooltip)"
  use_desktop bob   # a second mail to bob: lina's came before it, on any stream
  fake "deliver?alias=bob@$FAKE_DOMAIN&subject=Relay%20E2E%20for%20bob%202" >/dev/null
  wait_for 10 notified "Relay E2E for bob 2" || fail "bob: no toast for the second mail"
  ! notified "for lina" && pass "bob: no toast of lina's mail" || fail "bob got lina's mail: $(notify_calls | grep -F 'for lina')"
  wait_for 5 unread_is $((nb+2)) && pass "bob: count only counts bob's mail: $(tooltip)" || fail "bob: count: $(tooltip)"
  use_desktop lina
  ! notified "for bob" && pass "lina: no toast of bob's mails" || fail "lina got bob's mail: $(notify_calls | grep -F 'for bob')"
  unread_is $((nl+1)) && pass "lina: count unchanged by bob's mail: $(tooltip)" || fail "lina: count: $(tooltip)"
  for who in bob lina; do use_desktop "$who"; sleep 0.3; shot "07-relay-$who-tray-and-toast"; done

  # Open mailbox: a sign-in link for the desktop's own mailbox, from the relay.
  for who in bob lina; do
    use_desktop "$who"; alias="$who@$FAKE_DOMAIN"
    menu_click "Open mailbox"
    wait_for 10 urls_ge 1 && sso_url_ok 1 && sed -n 1p "$OUT/sso-urls.txt" | grep -qE "[?&]user=($who@|$who%40)" \
      && pass "$who: Open mailbox opened an SSO URL for $alias (through the relay)" || fail "$who: Open mailbox: $(urls) URLs, $(sed -n 1p "$OUT/sso-urls.txt" | sed -E 's/ticket=[^&]+/ticket=…/')"
    check "$who: the ticket never reached the opener's command line" argv_clean
    wait_for 10 unread_is 0 && pass "$who: the mailbox page marked $alias's mail read, the count follows: $(tooltip)" || fail "$who: count after open: $(tooltip) (server: $(fake "unread?alias=$alias"))"
  done
  [[ "$(fake "unread?alias=bob@$FAKE_DOMAIN") $(fake "unread?alias=lina@$FAKE_DOMAIN")" == "0 0" ]] || fail "server counts after both opened: $(fake "unread?alias=bob@$FAKE_DOMAIN") $(fake "unread?alias=lina@$FAKE_DOMAIN")"
  relay_admin audit >"$OUT0/audit.txt" 2>&1
  audited() { awk -v a="$1" -v d="$2" -v m="$3" '$2==a && $3==d && $4==m && $6=="ok" {f=1} END {exit !f}' "$OUT0/audit.txt"; }
  audited sso "${DEV[bob]}" "bob@$FAKE_DOMAIN" && audited sso "${DEV[lina]}" "lina@$FAKE_DOMAIN" \
    && audited enroll "${DEV[bob]}" "bob@$FAKE_DOMAIN" && audited enroll "${DEV[lina]}" "lina@$FAKE_DOMAIN" && ! grep -qiE 'ticket=|exr_' "$OUT0/audit.txt" \
    && pass "exmail-relay audit: each device's enrollment and sign-in link, for its own mailbox, no ticket or token" || fail "audit: $(cat "$OUT0/audit.txt")"

  # IT revokes bob: his tray shows the problem within seconds, lina's stays online.
  use_desktop bob; local icon0; icon0=$(sni IconPixmap | md5sum)
  relay_admin revoke --alias "bob@$FAKE_DOMAIN" >"$OUT0/revoke.txt" 2>&1 && [[ "$(cat "$OUT0/revoke.txt")" == "${DEV[bob]}" ]] && pass "exmail-relay revoke --alias bob@ (serve running): $(paste -sd' ' "$OUT0/revoke.txt" | clip 80)" || fail "revoke: $(cat "$OUT0/revoke.txt")"
  t0=$SECONDS
  icon_changed() { [[ "$(sni IconPixmap | md5sum)" != "$icon0" ]]; }
  wait_for 10 has_problem && pass "bob: the tray shows the problem $((SECONDS-t0)) s after the revocation: $(tooltip)" || fail "bob: tooltip after revoke: $(tooltip); $(tail -2 "$LOGFILE" | clip 200)"
  icon_changed && pass "bob: the icon changed (attention)" || fail "bob: same icon after revoke"
  grep -q "closed a revoked device's stream" "$OUT0/relay.log" && pass "the relay closed bob's stream: $(grep -m1 "closed a revoked" "$OUT0/relay.log" | sed 's/.*msg=//')" || fail "no 'closed a revoked device's stream' in the relay's log"
  local status; status=$(menu_labels | head -1)
  use_desktop lina; local lstatus; lstatus=$(menu_labels | head -1); use_desktop bob
  [[ -n "$status" && "$status" != "$lstatus" ]] && pass "bob: the menu's status line says: $status (lina's: $lstatus)" || fail "bob: status line: $status (lina's: $lstatus)"
  menu_click "Details…"
  wait_for 5 notified "enrollment link" && pass "bob: Details… shows: $(notify_calls | grep 'enrollment link' | tail -1 | cut -f2- | tr '\t' '|' | clip 160)" || fail "bob: Details…: $(notify_calls | tail -1)"
  # A revoked relay desktop is sent to IT for a new link, never to the admin key.
  if tooltip_has "exmail-notifier login"; then fail "bob: a revoked relay desktop is told to run 'exmail-notifier login' (the admin-key path)"; else pass "bob: the tooltip sends him to IT, not to the admin key"; fi
  sleep 0.3; shot 08-relay-bob-revoked
  use_desktop lina
  fake "deliver?alias=lina@$FAKE_DOMAIN&subject=Relay%20E2E%20after%20revoke" >/dev/null
  wait_for 10 notified "Relay E2E after revoke" && unread_is 1 && pass "lina: still online after bob's revocation: a toast and $(tooltip)" || fail "lina: after bob's revoke: $(tooltip)"
  use_desktop bob
  ! notified "after revoke" && pass "bob: nothing of lina's after the revocation either" || fail "bob got lina's mail"

  # A used link, clicked again: a clear refusal, nothing stored.
  local cfgsum; cfgsum=$(md5sum <"$XDG_CONFIG_HOME/exmail-notifier/config.json")
  local ntoasts; ntoasts=$(notify_calls | grep -c 'company relay')
  timeout 30 "$BIN" "${LINK[bob]}" >"$OUT/reuse.log" 2>&1 &
  local rpid=$!
  wait_for 15 test "$(notify_calls | grep -c 'company relay')" -gt "$ntoasts" || fail "bob: the used link did not ask for a confirmation"
  sleep 0.3; dunstctl action 0 >/dev/null 2>&1
  wait "$rpid"; local rc=$?
  [[ $rc -ne 0 ]] && grep -qiE 'used|expired|invalid|refused' "$OUT/reuse.log" \
    && pass "bob: the used link again exits $rc: $(grep -m1 -iE 'used|expired|invalid|refused' "$OUT/reuse.log" | clip 200)" || fail "bob: used link: rc=$rc $(cat "$OUT/reuse.log" | clip 300)"
  [[ "$(md5sum <"$XDG_CONFIG_HOME/exmail-notifier/config.json")" == "$cfgsum" ]] && pass "bob: it changed nothing in the config" || fail "bob: the config changed"
  grep -qF "${CODE[bob]}" "$OUT/reuse.log" && fail "bob: the code is in the message" || pass "bob: the message does not repeat the code"

  local other
  for who in bob lina; do
    use_desktop "$who"; other=$([[ $who == bob ]] && echo lina || echo bob)
    notified "for $other" && fail "$who: a toast of $other's mail: $(notify_calls | grep -F "for $other" | head -1)" \
      || pass "$who: $(notify_count) toasts in the whole run, none of $other's mail"
    grep -qE "exr_|$FAKE_SECRET" "$LOGFILE" "$OUT/app.log" && fail "$who: a code, token or the key in the app's log or output" || pass "$who: no code, token or key in the app's log and output"
    menu_click "Quit"
    exited_with 5 0 && pass "$who: Quit exits with status 0" || fail "$who: Quit: $(tail -2 "$OUT/app.log")"
    cp "$LOGFILE" "$OUT/" 2>/dev/null   # the app's own log, for the record
  done
  grep -qE "exr_|$FAKE_SECRET" "$OUT0/relay.log" && fail "a token, code or the key in the relay's log" || pass "no token, code or key in the relay's log"
  kill -TERM "$RPID"; wait "$RPID"; rc=$?
  [[ $rc -eq 0 ]] && pass "exmail-relay serve stops on SIGTERM with status 0" || fail "relay exit status $rc: $(tail -2 "$OUT0/relay.log")"
}
