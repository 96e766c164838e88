# scenarios.sh: the desktop end-to-end scenarios, sourced by harness.sh
# inside a fresh headless session. Each scenario_NAME starts what it needs
# and reports with pass/fail.
# shellcheck shell=bash disable=SC2154

MENU_WANT="Open mailbox|Pause notifications|For 1 hour|Until tomorrow|Resume notifications|Show message content in notifications|Start at login|Settings…|About exmail-notifier VERSION|Quit"  # VERSION: whatever the build stamped
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
    # the code and the link stay in $W, out of the artefacts
    relay_admin enroll --relay-url "$RURL" --secret-file "$rd/secret" "$alias" >"$W/enroll-$who.txt" 2>&1 \
      || { fail "exmail-relay enroll $alias: $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$W/enroll-$who.txt")"; return; }
    CODE[$who]=$(sed -n 1p "$W/enroll-$who.txt"); LINK[$who]=$(sed -n 2p "$W/enroll-$who.txt")
    [[ "${CODE[$who]}" == exr_* && "${LINK[$who]}" == "exmail-notifier://enroll?"*"code=${CODE[$who]}"* ]] \
      && pass "exmail-relay enroll $alias: a one-time code and its link" || { fail "enroll output: $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$W/enroll-$who.txt")"; return; }
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

  # A link can come from anyone: nothing changes before the relay it names
  # is confirmed, with a click on the settings page that the tray opens at
  # the confirmation (in the driver's real browser). Bob's admin-key tray
  # runs: it gets the link and switches to the relay in place. Lina's
  # computer runs no tray: the link's process becomes it.
  start_driver || return
  local t0 before rc
  for who in bob lina; do
    use_desktop "$who"; alias="$who@$FAKE_DOMAIN"; t0=$SECONDS
    before=$(grep -c . "$PAGE_LINKS")
    if [[ $who == bob ]]; then
      timeout 30 "$BIN" "${LINK[$who]}" >"$OUT/link.log" 2>&1; rc=$?   # what the URL handler runs on a click
      [[ $rc -eq 0 ]] && pass "bob: the link's process handed the link to the running tray and exited 0" || fail "bob: link process: rc=$rc $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$OUT/link.log" | clip 200)"
    else
      start_app "${LINK[$who]}"   # what the URL handler runs on a click
    fi
    page_waiting() { [[ "$(grep -c . "$PAGE_LINKS")" -gt "$1" ]]; }
    wait_for 15 page_waiting "$before" && open_page && page_shows "Enroll this computer?" && page_shows "${RURL#http://}" \
      && pass "$who: the link asks first, on the settings page, naming the relay: $(page_part "${RURL#http://}")" \
      || { fail "$who: the link did not ask for a confirmation: $DRV_ANSWER; $(tail -3 "$OUT/app.log")"; return; }
    drv absent "${CODE[$who]}" && pass "$who: the page does not show the code" || fail "$who: the code is on the page"
    [[ -z "$(secret-tool lookup service exmail-notifier username "relay-device $RURL")" ]] \
      && pass "$who: nothing is enrolled before the click" || fail "$who: enrolled before the confirmation"
    if [[ $who == bob ]]; then tooltip_has "bob@$FAKE_DOMAIN" && ! tooltip_has relay && pass "bob: the admin-key tray still runs as before: $(tooltip)" || fail "bob: before the click: $(tooltip)"; fi
    drv click 'form[action="/enroll/confirm"] button.primary'
    page_shows "Enrolled" && page_shows "$alias" && pass "$who: Enroll: $(page_part "$alias")" || { fail "$who: enroll on the page: $DRV_ANSWER"; return; }
    if [[ $who == bob ]]; then
      kill -0 "$oldpid" 2>/dev/null && [[ $APID == "$oldpid" ]] && pass "bob: the same tray process switched to the relay, no restart" || fail "bob: the admin-key tray is gone"
    fi
    wait_for 20 on_bus "$ITEM" && wait_for 10 item_registered \
      && pass "$who: the tray runs on the relay $((SECONDS-t0)) s after the link was clicked" \
      || { fail "$who: no tray item: $(tail -3 "$OUT/app.log")"; return; }
    local tok; wait_for 10 test -n "$(secret-tool lookup service exmail-notifier username "relay-device $RURL")"
    tok=$(secret-tool lookup service exmail-notifier username "relay-device $RURL")
    TOK[$who]=$tok
    [[ "$tok" == exr_* && "$tok" != "${CODE[$who]}" ]] && pass "$who: the Secret Service holds a relay device token (user \"relay-device $RURL\")" || fail "$who: device token: ${tok:0:4}…"
    [[ -z "$(secret-tool lookup service exmail-notifier username "$FAKE_AGENT")" ]] && ! secret-tool search --all service exmail-notifier 2>&1 | grep -qF "$FAKE_SECRET" \
      && pass "$who: no admin key in the Secret Service$([[ $who == bob ]] && echo " (enrolling removed the key of bob's earlier login)")" || fail "$who: the admin key is in the Secret Service"
    local cfg="$XDG_CONFIG_HOME/exmail-notifier/config.json"
    DEV[$who]=$(jq -r '.relay_device // empty' "$cfg" 2>/dev/null)
    grep -qF "\"$RURL\"" "$cfg" && pass "$who: the config names the relay: $(jq -c '{relay_url, alias} ' "$cfg" 2>/dev/null || true)" || fail "$who: config: $(cat "$cfg")"
    ! grep -rqE 'exr_|'"$FAKE_SECRET" "$XDG_CONFIG_HOME" && pass "$who: no token, code or key in the config files" || fail "$who: a secret in $(grep -rlE 'exr_|'"$FAKE_SECRET" "$XDG_CONFIG_HOME")"
    local n; n=$(fake "unread?alias=$alias")
    wait_for 10 unread_is "$n" && tooltip_has "$alias" && pass "$who: the tooltip shows $alias's own count: $(tooltip)" || fail "$who: tooltip: $(tooltip) (server: $n for $alias)"
  done
  [[ "${TOK[bob]}" != "${TOK[lina]}" ]] && pass "each desktop has a token of its own" || fail "bob and lina share a device token"
  use_desktop bob

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

  # A used link, clicked again: a clear refusal on the page, nothing stored.
  local cfgsum; cfgsum=$(md5sum <"$XDG_CONFIG_HOME/exmail-notifier/config.json")
  before=$(grep -c . "$PAGE_LINKS")
  timeout 30 "$BIN" "${LINK[bob]}" >"$OUT/reuse.log" 2>&1; rc=$?
  [[ $rc -eq 0 ]] || fail "bob: the used link's process: rc=$rc $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$OUT/reuse.log" | clip 200)"
  wait_for 15 page_waiting "$before" && open_page && page_shows "Enroll this computer?" \
    || fail "bob: the used link did not ask for a confirmation: $DRV_ANSWER"
  drv click 'form[action="/enroll/confirm"] button.primary'
  page_shows "already used, or has expired" && pass "bob: the used link again: the page says $(page_part "already used")" || fail "bob: used link: $DRV_ANSWER"
  [[ "$(md5sum <"$XDG_CONFIG_HOME/exmail-notifier/config.json")" == "$cfgsum" ]] && pass "bob: it changed nothing in the config" || fail "bob: the config changed"
  drv absent "${CODE[bob]}" && ! grep -qF "${CODE[bob]}" "$OUT/reuse.log" && pass "bob: neither the page nor the output repeats the code" || fail "bob: the code is shown"
  tooltip_has "bob@$FAKE_DOMAIN" && pass "bob: still on his relay account: $(tooltip)" || fail "bob: after the used link: $(tooltip)"

  local other
  for who in bob lina; do
    use_desktop "$who"; other=$([[ $who == bob ]] && echo lina || echo bob)
    notified "for $other" && fail "$who: a toast of $other's mail: $(notify_calls | grep -F "for $other" | head -1)" \
      || pass "$who: $(notify_count) toasts in the whole run, none of $other's mail"
    grep -qsE "exr_|$FAKE_SECRET" "$LOGFILE" "$OUT"/*.log "$OUT"/*.err && fail "$who: a code, token or the key in the app's log or output" || pass "$who: no code, token or key in the app's log and output"
    menu_click "Quit"
    exited_with 5 0 && pass "$who: Quit exits with status 0" || fail "$who: Quit: $(tail -2 "$OUT/app.log")"
    cp "$LOGFILE" "$OUT/" 2>/dev/null   # the app's own log, for the record
  done
  grep -qE "exr_|$FAKE_SECRET" "$OUT0/relay.log" && fail "a token, code or the key in the relay's log" || pass "no token, code or key in the relay's log"
  kill -TERM "$RPID"; wait "$RPID"; rc=$?
  [[ $rc -eq 0 ]] && pass "exmail-relay serve stops on SIGTERM with status 0" || fail "relay exit status $rc: $(tail -2 "$OUT0/relay.log")"
}

# ------------------------------------------------------------ settings page
# The settings page as a person meets it, in a real headless Chromium (the
# e2e/settingsdriver coprocess; SETTINGSDRIVER names it) against the real
# tray in this session: first run, enrollment with a real relay on
# loopback, a refused code, the content toggle, quiet hours, sign-out and a
# clicked exmail-notifier:// link. scenario_settings runs it in English,
# scenario_settings_zh in Chinese (LANG=zh_CN.UTF-8); screenshots land in
# $SHOTS as settings-<lang>-NN-*.png.
#
# The browser opener is replaced: instead of fetching the link with curl it
# queues it for the driver's Chromium ($W/page-links, outside the
# artefacts; opened-urls.txt gets the link with its secret masked).

# drv COMMAND ARGS...: one driver command; the answer in DRV_ANSWER,
# status 0 on "ok".
drv() {
  DRV_ANSWER=""
  [[ -n "${DRV_PID:-}" ]] || { DRV_ANSWER="the driver is not running"; return 1; }
  printf '%s\n' "$*" >&"${DRV[1]}" || { DRV_ANSWER="the driver is gone: $(tail -2 "$OUT/driver.err")"; return 1; }
  local line
  if ! IFS= read -r -t 60 line <&"${DRV[0]}"; then DRV_ANSWER="no answer from the driver: $(tail -2 "$OUT/driver.err")"; return 1; fi
  case $line in
    ok*) DRV_ANSWER=${line#ok}; DRV_ANSWER=${DRV_ANSWER# }; return 0 ;;
    *)   DRV_ANSWER=${line#err }; return 1 ;;
  esac
}
# page_shows TEXT: the page (after a click: the next page) shows TEXT
page_shows() { drv wait "$1"; }
page_text() { drv text >/dev/null; printf '%s' "$DRV_ANSWER" | clip "${1:-200}"; }
# page_part TEXT: the line of the page that holds TEXT (drv must not run in
# a pipeline: a coprocess's fds are not there)
page_part() { drv text >/dev/null; grep -o "[^|]*$1[^|]*" <<<"$DRV_ANSWER" | head -1 | clip 200; }
start_driver() {
  [[ -x "${SETTINGSDRIVER:-}" ]] || { fail "SETTINGSDRIVER=${SETTINGSDRIVER:-} is not an executable (.ci/desktop.sh builds e2e/settingsdriver)"; return 1; }
  command -v chromium >/dev/null || { fail "no chromium on PATH: apt-get install chromium (.ci/desktop.sh does)"; return 1; }
  coproc DRV { exec "$SETTINGSDRIVER" -shots "$SHOTS" -timeout 20s -browser-log "$OUT/chromium.log" -lang "${1:-en-US}" 2>"$OUT/driver.err"; }
  PIDS+=("$DRV_PID")
  local line
  IFS= read -r -t 60 line <&"${DRV[0]}" && [[ $line == "ok ready" ]] \
    && pass "headless Chromium ($(chromium --version 2>/dev/null | head -1 | clip 60)) is up, driven over CDP" \
    || { fail "the browser did not start: $line $(tail -3 "$OUT/driver.err")"; DRV_PID=""; return 1; }
}
# page_opener: the desktop's browser opener, for the driver's browser
page_opener() {
  cat >"$W/bin/xdg-open" <<EOS
#!/bin/sh
printf '%s\n' "\$1" >>"$W/page-links"
printf '%s\n' "\$1" | sed -E 's#(127\.0\.0\.1:[0-9]+/).*#\1…#' >>"$OUT/opened-urls.txt"
EOS
  chmod +x "$W/bin/xdg-open"; : >"$W/page-links"; : >"$OUT/opened-urls.txt"
}
# open_page: the browser loads the link the tray handed the opener last
open_page() { drv open "${PAGE_LINKS:-$W/page-links}"; }
start_relay() {  # exmail-relay serve on loopback, upstream the fake; sets RURL, RPID, RELAY_DB
  local rd="$W/relay"; mkdir -p "$rd"; RELAY_DB="$rd/relay.db"
  (umask 077; printf '%s\n' "$FAKE_SECRET" >"$rd/secret")
  env EXMAIL_AGENT="$FAKE_AGENT" EXMAIL_TOKEN_URL="$FAKE_TOKEN_URL" EXMAIL_API_URL="$FAKE_API_URL" EXMAIL_LOGIN_URL="$FAKE_LOGIN_URL" \
    "$RELAY_BIN" serve --listen 127.0.0.1:0 --db "$RELAY_DB" --secret-file "$rd/secret" >"$OUT/relay.log" 2>&1 &
  RPID=$!; PIDS+=($RPID)
  wait_for 10 relay_serving || { fail "relay did not start: $(tail -3 "$OUT/relay.log")"; return 1; }
  RURL="http://$(grep -m1 -o 'msg="relay: serving" addr=[^ ]*' "$OUT/relay.log" | sed 's/.*addr=//')"
}
# new_link WHO: a one-time enrollment link for WHO@ from IT, in $W/link-WHO
# (the code alone in $W/code-WHO); neither is ever printed
new_link() {
  relay_admin enroll --relay-url "$RURL" --secret-file "$W/relay/secret" "$1@$FAKE_DOMAIN" >"$W/enroll-$1.txt" 2>&1 \
    || { fail "exmail-relay enroll $1@: $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$W/enroll-$1.txt")"; return 1; }
  sed -n 1p "$W/enroll-$1.txt" >"$W/code-$1"; sed -n 2p "$W/enroll-$1.txt" >"$W/link-$1"
  [[ "$(cat "$W/link-$1")" == "exmail-notifier://enroll?"* ]] || { fail "exmail-relay enroll $1@ printed no link"; return 1; }
}
device_token() { secret-tool lookup service exmail-notifier username "relay-device $RURL" 2>/dev/null; }
no_device_token() { [[ -z "$(device_token)" ]]; }
has_device_token() { [[ "$(device_token)" == exr_* ]]; }
status_line() { menu_labels | head -1; }
status_is() { [[ "$(status_line)" == "$1" ]]; }
count_gt() { [[ "$(notify_count)" -gt "$1" ]]; }
# last_toast: the last Notify call's summary and body on one line
last_toast() { jq -rs '[.[] | select(.member=="Notify")] | last | "\(.payload.data[3]) | \(.payload.data[4])" | gsub("\n"; " / ")' "$OUT/notifications.jsonl" 2>/dev/null; }
# enroll_with FILE: paste FILE's link on the first-run page and continue
enroll_with() {
  drv fillfile 'form[action="/enroll/preview"] input[name=input]' "$1" &&
    drv click 'form[action="/enroll/preview"] button.primary'
}

# quiet_zone: the tray's local time must be a weekday, away from midnight,
# for a quiet span around "now" (app.QuietHours is weekday-only, local
# time). On a weekend or near midnight the tray runs in a made-up time zone
# (a TZif file, TZ=/path: Go reads it) that puts its clock on a Wednesday
# at noon; a loud note says so. E2E_WEEKDAY_ZONE=1 uses that zone on any
# day (to try the weekend path). Sets TRAY_TZ ("" for the real zone).
quiet_zone() {
  TRAY_TZ=""
  local dow mins
  dow=$(date +%u); mins=$(( 10#$(date +%H) * 60 + 10#$(date +%M) ))
  if [[ -z "${E2E_WEEKDAY_ZONE:-}" ]] && (( dow <= 5 && mins >= 15 && mins <= 1380 )); then return; fi
  TRAY_TZ="$W/weekday.tzif"
  python3 - "$TRAY_TZ" <<'PY'
import datetime, struct, sys, time
now = datetime.datetime.now(datetime.timezone.utc)
wed = (now + datetime.timedelta(days=2 - now.weekday())).replace(hour=12, minute=0, second=0, microsecond=0)
off = int((wed - now).total_seconds()) // 60 * 60
hdr = b"TZif" + b"\0" * 16 + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
open(sys.argv[1], "wb").write(hdr + struct.pack(">lBB", off, 0, 0) + b"WKD\0")
PY
  echo "NOTE: $SCEN: it is $(date +%A\ %H:%M) here ($([[ -n "${E2E_WEEKDAY_ZONE:-}" ]] && echo "E2E_WEEKDAY_ZONE is set" || echo "a weekend, or near midnight")): the tray runs in a made-up time zone where it is Wednesday noon, so that weekday-only quiet hours can be tested"
}
# tray_now: the tray's local time, HH:MM
tray_now() {
  if [[ -z "${TRAY_TZ:-}" ]]; then date +%H:%M; return; fi
  python3 - "$TRAY_TZ" <<'PY'
import struct, sys, time
off = struct.unpack(">l", open(sys.argv[1], "rb").read()[44:48])[0]
print(time.strftime("%H:%M", time.gmtime(time.time() + off)))
PY
}
hhmm_plus() { local h=${1%:*} m=${1#*:}; local t=$(( (10#$h * 60 + 10#$m + $2 + 1440) % 1440 )); printf '%02d:%02d' $((t / 60)) $((t % 60)); }

# settings_texts LANG: the page's and the tray's words in LANG (en, zh)
declare -A TX
settings_texts() {
  if [[ $1 == zh ]]; then
    TX=([lang]=zh-CN [welcome]="公司给了我链接或登记码" [confirm]="登记此电脑？" [offered]="此页面由公司发送的登记链接打开"
        [enrolled]="登记完成" [refused]="已被使用或已过期" [settings]="工作日免打扰" [saved]="已保存，立即生效"
        [signout]="退出登录？" [signedout]="已退出登录" [setup]="尚未设置——点击进行设置" [settingsitem]="设置…" [pausedq]="通知已暂停至"
        [refusedlink]="每个链接只能使用一次")
  else
    TX=([lang]=en [welcome]="My company gave me a link or code" [confirm]="Enroll this computer?" [offered]="An enrollment link from your company opened this page"
        [enrolled]="Enrolled" [refused]="already used, or has expired" [settings]="Quiet hours on weekdays" [saved]="Saved. The changes apply now."
        [signout]="Sign out?" [signedout]="Signed out. This computer holds no account now." [setup]="Not set up — click to set up" [settingsitem]="Settings…" [pausedq]="paused until"
        [refusedlink]="each link works once")
  fi
}

# settings_flow LANG FULL: the whole walk (FULL=1) or the pages only (0)
settings_flow() {
  local L=$1 full=$2 n=0
  settings_texts "$L"
  snap() { n=$((n+1)); drv shot "$(printf 'settings-%s-%02d-%s' "$L" "$n" "$1")" || fail "screenshot $1: $DRV_ANSWER"; }
  start_keyring; start_monitor; start_dunst; start_panel; start_fake || return
  start_relay || return
  pass "exmail-relay serve on loopback ($RURL), upstream the fake exmail"
  page_opener
  start_driver "$([[ $L == zh ]] && echo zh-CN || echo en-US)" || return
  quiet_zone
  new_link lina || return

  # 1. First run: no account, so the tray opens the page by itself.
  local t0=$SECONDS
  # the tray's environment: its language, and the made-up zone if needed
  [[ $L == zh ]] && export LANG=zh_CN.UTF-8
  if [[ -n "$TRAY_TZ" ]]; then local tz0=${TZ-unset}; export TZ=$TRAY_TZ; start_app; if [[ $tz0 == unset ]]; then unset TZ; else TZ=$tz0; fi
  else start_app; fi
  wait_for 15 item_registered && pass "tray item registered in $((SECONDS-t0)) s" || { fail "tray item not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 15 urls_ge 1 && pass "first run: the tray launched the browser with the page link by itself, $((SECONDS-t0)) s after start: $(head -1 "$OUT/opened-urls.txt")" \
    || { fail "first run: no browser was opened: $(tail -3 "$LOGFILE")"; return; }
  wait_for 5 status_is "${TX[setup]}" && pass "the menu's first line: $(status_line)" || fail "setup state: menu says $(status_line) (want ${TX[setup]})"
  open_page || { fail "the browser could not load the link: $DRV_ANSWER"; return; }
  page_shows "${TX[welcome]}" && pass "the link lands on the first-run page: $(page_text 120)" || { fail "first-run page: $DRV_ANSWER"; return; }
  drv lang; [[ "$DRV_ANSWER" == "${TX[lang]}" ]] && pass "the page is in the tray's language (<html lang=$DRV_ANSWER>)" || fail "page language: $DRV_ANSWER (want ${TX[lang]})"
  drv path; [[ "$DRV_ANSWER" == / ]] && pass "the one-time link is gone from the address bar (path /)" || fail "path after the link: $DRV_ANSWER"
  snap first-run
  if [[ $L == zh ]]; then   # the other ways in, in Chinese (settings_admin walks them in English)
    open_choice /login && drv fill 'form[action="/login"] input[name=agent]' admin && drv fill 'form[action="/login"] input[name=alias]' "lina@$FAKE_DOMAIN" \
      && page_shows "我是管理员" && page_shows "接口key 是整个企业的管理员凭据" && pass "the administrator form, in Chinese: $(page_part "我是管理员")" || fail "zh administrator form: $DRV_ANSWER"
    drv shot settings-zh-admin-form || fail "screenshot: $DRV_ANSWER"   # unnumbered: the walk's numbers stay
    open_choice /login-corp && page_shows "腾讯新版接口" && pass "the current-API form, in Chinese" || fail "zh current-API form: $DRV_ANSWER"
    drv shot settings-zh-corp-form || fail "screenshot: $DRV_ANSWER"
    drv goto / || fail "reload: $DRV_ANSWER"
  fi

  # 3. A code the relay does not know: the refusal, in words, nothing stored.
  printf 'exmail-notifier://enroll?relay=%s&code=exr_enr_%s\n' "$RURL" "$(head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c 32)" >"$W/link-bogus"
  enroll_with "$W/link-bogus" && page_shows "${TX[confirm]}" || { fail "bogus code: no confirmation: $DRV_ANSWER"; return; }
  drv click 'form[action="/enroll/confirm"] button.primary'
  page_shows "${TX[refused]}" && pass "an unknown code: the page says so: $(page_part "${TX[refused]}")" \
    || fail "an unknown code: $DRV_ANSWER"
  no_device_token && pass "an unknown code stores nothing" || fail "a token was stored for an unknown code"
  snap wrong-code

  # 2. Enrollment: paste IT's link; the confirmation names the relay and
  # hides the code; nothing happens before the click.
  enroll_with "$W/link-lina" && page_shows "${TX[confirm]}" || { fail "lina's link: no confirmation: $DRV_ANSWER"; return; }
  local host=${RURL#http://}
  page_shows "$host" && pass "the confirmation names the relay ($host) before anything is sent" || fail "confirmation: relay not shown: $(page_text 300)"
  drv absent "$(cat "$W/code-lina")" && pass "the confirmation does not show the code" || fail "the code is on the page"
  snap confirm
  no_device_token && status_is "${TX[setup]}" && pass "nothing enrolled before the click" || fail "enrolled before the click"
  t0=$SECONDS
  drv click 'form[action="/enroll/confirm"] button.primary'
  page_shows "${TX[enrolled]}" && page_shows "lina@$FAKE_DOMAIN" \
    && pass "Enroll: the page says $(page_part "lina@")" || { fail "enroll: $DRV_ANSWER"; return; }
  snap enrolled
  wait_for 10 has_device_token && pass "the device token is in gnome-keyring (secret-tool lookup … username \"relay-device $RURL\": exr_…)" || fail "no device token in the keyring"
  local nsrv; nsrv=$(fake "unread?alias=lina@$FAKE_DOMAIN")
  wait_for 15 unread_is "$nsrv" && tooltip_has "lina@$FAKE_DOMAIN" \
    && pass "the running tray switched to the relay account, online, $((SECONDS-t0)) s after the click: $(tooltip)" || fail "tray after enrolling: $(tooltip) (server: $nsrv)"
  kill -0 "$APID" 2>/dev/null && pass "no restart: the same tray process ($APID)" || fail "the tray process exited"
  grep -rqE 'exr_' "$XDG_CONFIG_HOME" && fail "a code or token in the config files" || pass "no code or token in the config files"

  # The settings page, opened from the tray menu.
  local before; before=$(urls)
  menu_click "${TX[settingsitem]}"
  wait_for 10 urls_ge $((before+1)) && open_page && page_shows "${TX[settings]}" \
    && pass "\"${TX[settingsitem]}\" in the tray menu opens the settings page" || { fail "Settings… from the menu: $DRV_ANSWER"; return; }
  snap settings
  # "exmail-notifier settings --print-url": a one-time link from the
  # running tray (into a file: it is a secret); "settings" opens the page.
  "$BIN" settings --print-url >"$W/printed-url" 2>"$OUT/print-url.err" && grep -qE '^http://127\.0\.0\.1:[0-9]+/s/[A-Za-z0-9_-]{20,}$' "$W/printed-url" \
    && drv open "$W/printed-url" && page_shows "${TX[settings]}" \
    && pass "settings --print-url printed a one-time link to the running tray's page (http://127.0.0.1:…/s/…), and it opens the page" || fail "settings --print-url: $DRV_ANSWER $(cat "$OUT/print-url.err")"
  drv open "$W/printed-url" && page_shows "${TX[refusedlink]}" && pass "the printed link works once: $(page_part "${TX[refusedlink]}")" || fail "the printed link worked twice: $DRV_ANSWER"
  before=$(urls)
  "$BIN" settings >"$OUT/settings-cmd.log" 2>&1 && wait_for 10 urls_ge $((before+1)) && open_page && page_shows "${TX[settings]}" \
    && pass "\"exmail-notifier settings\" makes the running tray open the page" || fail "exmail-notifier settings: $DRV_ANSWER $(cat "$OUT/settings-cmd.log")"
  if [[ $full != 1 ]]; then
    # The language, switched on the page: the page and the tray follow at once.
    menu_has() { menu_labels | grep -qF -- "$1"; }
    drv fill 'select[name=lang]' en && drv click 'form.prefs button.primary' && page_shows "Saved. The changes apply now." \
      && drv lang && [[ $DRV_ANSWER == en ]] && pass "language English, chosen on the page: the page is English at once" || fail "language on the page: $DRV_ANSWER"
    wait_for 10 menu_has "Open mailbox" && pass "and the tray's menu too: $(menu_labels | head -2 | paste -sd'|')" || fail "tray menu after the language change: $(menu_labels | head -3 | paste -sd'|')"
    drv fill 'select[name=lang]' zh && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" && wait_for 10 menu_has "打开邮箱" \
      && pass "and back to Chinese: $(menu_labels | head -2 | paste -sd'|')" || fail "back to Chinese: $DRV_ANSWER $(menu_labels | head -2 | paste -sd'|')"
    settings_signout; cp "$LOGFILE" "$OUT/" 2>/dev/null; return
  fi

  # 4. Message content on and off, from the page.
  local alias="lina@$FAKE_DOMAIN" sender="Wang Fang"
  drv eval 'String(document.querySelector("form.prefs input[name=content]").checked)'
  [[ "$DRV_ANSWER" == true ]] && pass "content is shown by default (the checkbox is ticked)" || fail "content checkbox: $DRV_ANSWER"
  before=$(notify_count)
  fake "deliver?alias=$alias&subject=Settings%20E2E%20visible&summary=Quarterly%20numbers&sender=%22Wang%20Fang%22%20%3Cwang%40$FAKE_DOMAIN%3E" >/dev/null
  wait_for 10 notified "Settings E2E visible" && last_toast | grep -qF "$sender" \
    && pass "content on: the toast shows sender and subject: $(last_toast | clip 100)" || fail "content on: $(last_toast)"
  drv check 'form.prefs input[name=content]' off && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" \
    && pass "content off: saved on the page" || fail "saving content off: $DRV_ANSWER"
  drv eval 'String(document.querySelector("form.prefs input[name=content]").checked)'
  [[ "$DRV_ANSWER" == false ]] || fail "after saving, the page shows content $DRV_ANSWER"
  local cfg="$XDG_CONFIG_HOME/exmail-notifier/config.json"
  wait_for 5 sh -c "jq -e '.show_content == false' '$cfg'" && pass "content off is kept in the config (show_content false)" || fail "show_content not saved: $(jq -c . "$cfg" 2>&1 | clip 200)"
  snap content-off
  before=$(notify_count)
  fake "deliver?alias=$alias&subject=Settings%20E2E%20hidden&summary=Salary%20review&sender=%22Wang%20Fang%22%20%3Cwang%40$FAKE_DOMAIN%3E" >/dev/null
  wait_for 10 count_gt "$before" && ! notified "Settings E2E hidden" && ! last_toast | grep -qF -e "$sender" -e "Salary" \
    && pass "content off: the next toast is generic: $(last_toast | clip 100)" || fail "content off: $(last_toast)"
  drv check 'form.prefs input[name=content]' on && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" || fail "content on again: $DRV_ANSWER"

  # 5. Quiet hours around now (the tray's local time, a weekday).
  local now from to; now=$(tray_now); from=$(hhmm_plus "$now" -5); to=$(hhmm_plus "$now" 60)
  drv check 'form.prefs input[name=quiet]' on && drv fill 'form.prefs input[name=from]' "$from" && drv fill 'form.prefs input[name=to]' "$to" \
    && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" \
    && pass "quiet hours $from–$to (tray time $now${TRAY_TZ:+, made-up weekday zone}) saved on the page" || fail "saving quiet hours: $DRV_ANSWER"
  snap quiet-hours
  wait_for 5 sh -c "jq -e '.quiet_hours != null' '$cfg'" && pass "quiet hours are kept in the config: $(jq -c .quiet_hours "$cfg")" || fail "quiet hours not saved: $(jq -c . "$cfg" 2>&1 | clip 200)"
  menu_has() { menu_labels | grep -qF -- "$1"; }
  wait_for 5 menu_has "${TX[pausedq]}" && pass "the tray applies them at once: $(menu_labels | grep -F "${TX[pausedq]}" | head -1)" || fail "menu after quiet hours: $(menu_labels | paste -sd'|' | clip 200)"
  local u; u=$(unread_in_tooltip); before=$(notify_count)
  fake "deliver?alias=$alias&subject=Settings%20E2E%20quiet" >/dev/null
  wait_for 10 unread_is $((u+1)) && pass "quiet: the mail arrived (count $u → $((u+1)))" || fail "quiet: the count did not follow: $(tooltip)"
  sleep 3   # longer than the burst window: a toast would have come by now
  [[ "$(notify_count)" -eq "$before" ]] && pass "quiet hours: no toast" || fail "a toast during quiet hours: $(notify_calls | tail -1 | tr '\t' '|')"
  drv check 'form.prefs input[name=quiet]' off && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" || fail "quiet off: $DRV_ANSWER"
  fake "deliver?alias=$alias&subject=Settings%20E2E%20after%20quiet" >/dev/null
  wait_for 10 notified "Settings E2E after quiet" && pass "quiet hours off: toasts again" || fail "no toast after quiet hours were turned off"

  settings_signout || return
  # In the set-up state the menu's line "Not set up — click to set up"
  # opens the page, and it is said once (no disabled status line repeating it).
  local MX MY
  if read -r MX MY < <(plugin_xy); then   # the host's own rendering, for the eye
    xdotool mousemove "$MX" "$MY" click 3; sleep 1; shot "settings-$L-menu-setup-state"; xdotool key Escape; sleep 0.3
  fi
  local twice; twice=$(menu_labels | grep -cxF -- "${TX[setup]}")
  [[ $twice -eq 1 ]] && pass "the set-up state says \"${TX[setup]}\" once in the menu" \
    || fail "the set-up state's menu shows \"${TX[setup]}\" $twice times (see settings-$L-menu-setup-state.png)"
  before=$(urls)
  local sid; sid=$(menu_items | awk -F'\t' -v l="${TX[setup]}" '$2=="true" && $3=="true" && $4==l {print $1; exit}')
  [[ -n "$sid" ]] && busctl --user call "$ITEM" /StatusNotifierItem/menu com.canonical.dbusmenu Event isvu "$sid" clicked s "" 0 \
    && wait_for 10 urls_ge $((before+1)) && open_page && page_shows "${TX[welcome]}" \
    && pass "\"${TX[setup]}\" in the menu opens the first-run page" || fail "the set-up line in the menu: $DRV_ANSWER; menu: $(menu_items | head -3 | tr '\t\n' ',|')"

  # 3b. The used link again: the same refusal.
  enroll_with "$W/link-lina" && page_shows "${TX[confirm]}" && drv click 'form[action="/enroll/confirm"] button.primary' \
    && page_shows "${TX[refused]}" && pass "the used link again: refused on the page" || fail "used link: $DRV_ANSWER"
  no_device_token && status_is "${TX[setup]}" && pass "the used link stores nothing" || fail "the used link changed the account"

  # 7. A clicked exmail-notifier:// link, handed to the running tray.
  new_link bob || return
  before=$(urls)
  timeout 30 "$BIN" "$(cat "$W/link-bob")" >"$OUT/link.log" 2>&1; local rc=$?
  [[ $rc -eq 0 ]] && pass "the clicked link's process handed it to the running tray and exited 0" || fail "link process: rc=$rc $(sed -E 's/exr_[A-Za-z0-9_-]+/exr_…/g' "$OUT/link.log" | clip 200)"
  wait_for 10 urls_ge $((before+1)) && open_page && page_shows "${TX[confirm]}" \
    && pass "the tray opened the page at the confirmation: $(page_text 200)" || { fail "clicked link: $DRV_ANSWER"; return; }
  drv path; [[ "$DRV_ANSWER" == /enroll ]] && pass "at /enroll" || fail "path: $DRV_ANSWER"
  page_shows "${TX[offered]}" && page_shows "$host" && drv absent "$(cat "$W/code-bob")" \
    && pass "it says a link opened it, names the relay, hides the code" || fail "offered confirmation: $(page_text 300)"
  snap link-confirm
  sleep 1
  no_device_token && status_is "${TX[setup]}" && ! relay_admin devices 2>/dev/null | grep -q "bob@" \
    && pass "nothing is enrolled until the click (keyring, tray and relay)" || fail "the link enrolled before the click"
  drv click 'form[action="/enroll/confirm"] button.primary'
  page_shows "bob@$FAKE_DOMAIN" && wait_for 10 has_device_token && wait_for 15 tooltip_has "bob@$FAKE_DOMAIN" \
    && pass "a click on Enroll enrolls: $(tooltip)" || fail "after the click: $DRV_ANSWER; $(tooltip)"

  # No secret in the logs.
  local pat; pat="exr_|$(cat "$W/code-lina")|$(cat "$W/code-bob")|$(device_token)|/[sh]/[A-Za-z0-9_-]{20}"
  grep -qE "$pat" "$LOGFILE" "$OUT"/*.log "$OUT"/*.err 2>/dev/null && fail "a code, token or one-time link in a log" || pass "no code, token or one-time link in the logs"
  cp "$LOGFILE" "$OUT/" 2>/dev/null   # the tray's own log, for the record
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit: $(tail -2 "$OUT/app.log")"
}

# 6. Sign out on the page: the tray returns to the set-up state.
settings_signout() {
  drv goto /signout && page_shows "${TX[signout]}" || { fail "sign-out page: $DRV_ANSWER"; return 1; }
  snap signout
  drv click 'form[action="/signout"] button.danger'
  page_shows "${TX[signedout]}" && pass "signed out on the page" || { fail "sign out: $DRV_ANSWER"; return 1; }
  page_shows "${TX[welcome]}" || fail "after sign-out the page is not the first-run page: $(page_text 200)"
  snap signed-out
  wait_for 10 status_is "${TX[setup]}" && pass "the tray is back in the set-up state: $(status_line)" || fail "tray after sign-out: $(status_line); $(tooltip)"
  wait_for 5 no_device_token && pass "the device token left the keyring" || fail "the device token is still in the keyring"
}

scenario_settings() { settings_flow en 1; }
scenario_settings_zh() { settings_flow zh 0; }

# ------------------------------------------------ settings page: the other ways in
# The settings page's administrator path (the v1.4 key) against the fake
# exmail server, doctor's checks and the support report, start at login,
# and Tencent's current API (corpid and two secrets) against the demo's
# fake of it ("exmail-notifier demo --serve --corp"). The page's forms take
# no endpoints: like an installer's preset, the config file names the
# fakes' (token_url, api_url, login_url; later corp_api_url) before the
# form is sent. Secrets (the key, the wrong key, the corp secrets) live in
# files under $W and reach the browser with fillfile; they are never
# printed.
keyring_items() { secret-tool search --all service exmail-notifier 2>/dev/null | grep -c '^\[/'; }   # a count: secrets never printed
admin_key() { secret-tool lookup service exmail-notifier username "$FAKE_AGENT" 2>/dev/null; }
# menu_toggle LABEL: the dbusmenu toggle-state of the item LABEL (1, 0, or none)
menu_toggle() {
  busctl --user --json=short call "$ITEM" /StatusNotifierItem/menu com.canonical.dbusmenu GetLayout iias 0 -- -1 0 |
    jq -r --arg l "$1" '[.data[1] | recurse(.[2][]?.data)] | .[1:][] | select(.[1].label.data == $l) | .[1]["toggle-state"].data // "none"' | head -1
}
toggle_is() { [[ "$(menu_toggle "$1")" == "$2" ]]; }
autostart_file() { echo "$XDG_CONFIG_HOME/autostart/exmail-notifier.desktop"; }
# form_values FORM FIELD...: "name=value|…" of FORM's fields; a password
# field gives its length only (len:N)
form_values() {
  local f=$1; shift
  drv eval "[$(printf '"%s",' "$@")].map(n => { const e = document.querySelector('form[action=\"$f\"] [name=' + n + ']'); return n + '=' + (!e ? 'MISSING' : e.type == 'password' ? 'len:' + e.value.length : e.value); }).join('|')"
}
open_choice() { drv eval "(() => { document.querySelector('form[action=\"$1\"]').closest('details').open = true; return ''; })()"; }
# no_secret FILE PATTERN: FILE holds none of the fixed strings in $W/secrets, and not PATTERN (ERE)
no_secret() { ! grep -qFf "$W/secrets" "$1" && ! grep -qE "$2" "$1"; }
# add_secrets FILE...: their non-empty lines join $W/secrets
add_secrets() { cat "$@" | grep -v '^[[:space:]]*$' >>"$W/secrets"; }

scenario_settings_admin() {
  local L=en n=0
  settings_texts en
  snap() { n=$((n+1)); drv shot "$(printf 'settings-%s-admin-%02d-%s' "$L" "$n" "$1")" || fail "screenshot $1: $DRV_ANSWER"; }
  start_keyring; start_monitor; start_dunst; start_panel; start_fake || return
  # Tencent's current API, faked by the demo server (no tray): its
  # settings, demo secrets included, go to a file outside the artefacts.
  # --interval 1h: its colleague sends one mail ~3 s after the start, the
  # next one half an hour later at the earliest, so the count is steady.
  "$BIN" demo --serve --corp --interval 1h >"$W/corp.env" 2>"$OUT/corp-demo.log" &
  PIDS+=($!)
  page_opener
  start_driver en-US || return
  local cfg="$XDG_CONFIG_HOME/exmail-notifier/config.json" alias="lina@$FAKE_DOMAIN"
  mkdir -p "${cfg%/*}"
  jq -n --arg t "$FAKE_TOKEN_URL" --arg a "$FAKE_API_URL" --arg l "$FAKE_LOGIN_URL" '{version: 1, token_url: $t, api_url: $a, login_url: $l}' >"$cfg"
  (umask 077; printf '%s\n' "$FAKE_SECRET" >"$W/key"; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/wrongkey"; echo >>"$W/wrongkey")
  : >"$W/secrets"; add_secrets "$W/key" "$W/wrongkey"

  local t0=$SECONDS
  start_app
  wait_for 15 item_registered && pass "tray item registered in $((SECONDS-t0)) s (config names the fake's endpoints, no account)" || { fail "tray item not registered: $(tail -3 "$OUT/app.log")"; return; }
  wait_for 15 urls_ge 1 && open_page && page_shows "${TX[welcome]}" && pass "first run: the page opened by itself" || { fail "first run page: $DRV_ANSWER"; return; }

  # 1. The administrator path: a wrong key first.
  open_choice /login && drv fill 'form[action="/login"] input[name=agent]' "$FAKE_AGENT" && drv fill 'form[action="/login"] input[name=alias]' "$alias" \
    && drv fillfile 'form[action="/login"] input[name=key]' "$W/wrongkey" || { fail "admin form: $DRV_ANSWER"; return; }
  snap form
  local sum0; sum0=$(sha256sum <"$cfg")
  drv click 'form[action="/login"] button.primary'
  page_shows "The admin account or the interface key was rejected" && page_shows "工具箱 → 开放协议" \
    && pass "a wrong key: the page names the fix: $(page_part "was rejected")" || fail "wrong key: $DRV_ANSWER $(page_text 300)"
  page_shows "Nothing was stored" && pass "and the detail says nothing was stored: $(page_part "Nothing was stored")" || fail "wrong key detail: $(page_text 400)"
  snap wrong-key
  [[ "$(keyring_items)" == 0 ]] && pass "a wrong key stores nothing in the keyring (no exmail-notifier item)" || fail "$(keyring_items) keyring item(s) after a wrong key"
  [[ "$(sha256sum <"$cfg")" == "$sum0" ]] && pass "a wrong key leaves the config file unchanged" || fail "the config changed after a wrong key: $(jq -c . "$cfg" | clip 200)"
  status_is "${TX[setup]}" && pass "the tray stays in the set-up state" || fail "tray after a wrong key: $(status_line)"
  form_values /login agent alias key
  [[ "$DRV_ANSWER" == "agent=$FAKE_AGENT|alias=$alias|key=len:0" ]] && pass "the page keeps what was typed except the key: $DRV_ANSWER" || fail "form after a wrong key: $DRV_ANSWER"
  page_shows "type them once more" && pass "and asks to type the key again: $(page_part "once more")" || fail "no retype hint: $(page_text 300)"

  # The right key: typed once more, the rest as the page kept it.
  drv fillfile 'form[action="/login"] input[name=key]' "$W/key" || fail "key: $DRV_ANSWER"
  t0=$SECONDS
  drv click 'form[action="/login"] button.primary'
  page_shows "Signed in. The tray shows your mailbox now." && pass "the right key: $(page_part "Signed in")" || { fail "sign in with the key: $DRV_ANSWER $(page_text 300)"; return; }
  page_shows "Direct, with the interface key of $FAKE_AGENT" && page_shows "$alias" \
    && pass "the account section: $(page_part "Direct, with")" || fail "account section: $(page_text 400)"
  snap signed-in
  [[ "$(admin_key)" == "$FAKE_SECRET" && "$(keyring_items)" == 1 ]] && pass "the key is in gnome-keyring (secret-tool lookup service exmail-notifier username $FAKE_AGENT), the only item" || fail "the key is not in the keyring ($(keyring_items) item(s))"
  jq -e --arg g "$FAKE_AGENT" --arg a "$alias" '.agent == $g and .alias == $a' "$cfg" >/dev/null && pass "the config names the admin account and the mailbox" || fail "config: $(jq -c . "$cfg" | clip 200)"
  grep -rqFf "$W/secrets" "$XDG_CONFIG_HOME" && fail "a key is in a config file" || pass "no key in the config files"
  local nsrv; nsrv=$(fake "unread?alias=$alias")
  wait_for 15 unread_is "$nsrv" && tooltip_has "$alias" && pass "the tray is online on $alias without a restart, $((SECONDS-t0)) s after the click: $(tooltip)" || fail "tray after signing in: $(tooltip) (server: $nsrv)"
  wait_for 10 listening && pass "and holds the listen connection" || fail "no listen connection"
  kill -0 "$APID" 2>/dev/null && pass "the same tray process ($APID)" || fail "the tray process exited"
  [[ "$(menu_main)" == "$MENU_WANT" ]] && pass "the menu is the signed-in one" || fail "menu: $(menu_main)"
  fake "deliver?alias=$alias&subject=Admin%20page%20E2E" >/dev/null
  wait_for 10 notified "Admin page E2E" && pass "a delivered mail is a toast" || fail "no toast after signing in on the page"

  # 2. Doctor on the page.
  drv click 'a.button[href="/doctor"]' && page_shows "Support report" || { fail "Run checks: $DRV_ANSWER"; return; }
  drv eval 'JSON.stringify([...document.querySelectorAll("ul.checks li")].map(l => (l.className.match(/c-(\w+)/) || ["", "?"])[1] + ":" + l.querySelector("strong").textContent))'
  local checks=$DRV_ANSWER
  for c in "ok:interface key" "ok:token" "ok:unread count" "ok:listen"; do
    grep -qF "\"$c\"" <<<"$checks" || { fail "doctor on the page: no \"$c\" in $checks"; c=; break; }
  done
  [[ -n "$c" ]] && pass "Run checks shows the checklist, keyring and server OK: $(jq -r 'join(", ")' <<<"$checks")"
  grep -q '"fail:' <<<"$checks" && fail "a check failed on the page: $checks" || pass "no failed check"
  snap doctor
  drv save '#report' "$W/report.txt" && [[ "${DRV_ANSWER:-0}" -gt 100 ]] && grep -qF "interface key" "$W/report.txt" \
    && pass "the support report is on the page ($DRV_ANSWER characters)" || fail "support report: $DRV_ANSWER"
  grep -h -o '/s/[A-Za-z0-9_-]\+' "$W/page-links" >"$W/links"; add_secrets "$W/links"
  # the known secrets, and anything shaped like a token (a run of 32 token characters)
  if no_secret "$W/report.txt" 'ticket=|authkey=|access_token|exr_|[A-Za-z0-9_-]{32,}'; then
    pass "the support report holds no secret (key, wrong key, one-time links, tokens, tickets)"; cp "$W/report.txt" "$OUT/support-report.txt"
  else fail "a secret in the support report (not copied to the artefacts)"; fi
  drv goto / && page_shows "${TX[settings]}" || fail "back to settings: $DRV_ANSWER"

  # 3. Start at login.
  local asf; asf=$(autostart_file)
  drv eval 'String(document.querySelector("form.prefs input[name=autostart]")?.checked)'
  [[ "$DRV_ANSWER" == false && ! -e "$asf" ]] && toggle_is "Start at login" 0 && pass "start at login: off on the page, no autostart entry, menu unticked" \
    || fail "start at login before: page $DRV_ANSWER, file $( [[ -e $asf ]] && echo yes || echo no), menu $(menu_toggle "Start at login")"
  drv check 'form.prefs input[name=autostart]' on && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" || fail "saving start at login: $DRV_ANSWER"
  wait_for 5 test -f "$asf" && grep -qxF "Exec=$BIN" "$asf" && grep -qx 'X-GNOME-Autostart-enabled=true' "$asf" \
    && pass "ticked on the page: ~/.config/autostart/exmail-notifier.desktop runs $(grep '^Exec=' "$asf" | clip 80)" || fail "autostart entry: $(cat "$asf" 2>&1 | paste -sd'|' | clip 200)"
  wait_for 5 toggle_is "Start at login" 1 && pass "the menu's \"Start at login\" follows (toggle-state 1)" || fail "menu toggle-state: $(menu_toggle "Start at login")"
  drv eval 'String(document.querySelector("form.prefs input[name=autostart]").checked)'
  [[ "$DRV_ANSWER" == true ]] && pass "the page shows it ticked after saving" || fail "page after saving: $DRV_ANSWER"
  snap autostart-on
  drv check 'form.prefs input[name=autostart]' off && drv click 'form.prefs button.primary' && page_shows "${TX[saved]}" || fail "saving start at login off: $DRV_ANSWER"
  wait_for 5 test ! -e "$asf" && pass "unticked: the autostart entry is gone" || fail "the autostart entry is still there"
  wait_for 5 toggle_is "Start at login" 0 && pass "the menu's checkbox is unticked (toggle-state 0)" || fail "menu toggle-state: $(menu_toggle "Start at login")"
  # and the other way: the menu's item, then the page
  menu_click "Start at login"
  wait_for 5 test -f "$asf" && drv goto / && drv eval 'String(document.querySelector("form.prefs input[name=autostart]").checked)' && [[ "$DRV_ANSWER" == true ]] \
    && pass "ticked in the menu: the entry is written and the page shows it ticked" || fail "menu → page: file $( [[ -e $asf ]] && echo yes || echo no), page $DRV_ANSWER"
  menu_click "Start at login"
  wait_for 5 test ! -e "$asf" || fail "unticked in the menu: the entry stays"

  # Sign out: the key leaves the keyring.
  drv goto /signout && page_shows "${TX[signout]}" && drv click 'form[action="/signout"] button.danger' && page_shows "${TX[signedout]}" \
    || { fail "sign out: $DRV_ANSWER"; return; }
  wait_for 10 status_is "${TX[setup]}" && [[ -z "$(admin_key)" ]] && [[ "$(keyring_items)" == 0 ]] \
    && pass "signed out: the key left the keyring, the tray is in the set-up state" || fail "after sign-out: $(status_line), $(keyring_items) keyring item(s)"

  # 4. Tencent's current API on the page (the third way in).
  wait_for 10 grep -q '^export EXMAIL_CORP_API_URL=' "$W/corp.env" || { fail "demo --serve --corp printed no settings: $(tail -2 "$OUT/corp-demo.log")"; return; }
  local corpid capi calias
  corpid=$(sed -n 's/^export EXMAIL_CORPID=//p' "$W/corp.env"); capi=$(sed -n 's/^export EXMAIL_CORP_API_URL=//p' "$W/corp.env"); calias=$(sed -n 's/^export EXMAIL_ALIAS=//p' "$W/corp.env")
  (umask 077; sed -n 's/^export EXMAIL_CORP_SSO_SECRET=//p' "$W/corp.env" >"$W/sso"; sed -n 's/^export EXMAIL_CORP_MAIL_SECRET=//p' "$W/corp.env" >"$W/mail")
  add_secrets "$W/sso" "$W/mail"
  # the server's count, read apart from the tray (EXMAIL_* from the demo;
  # the secrets in the child's environment only): wait for the colleague's mail
  corp_count() { env EXMAIL_CONFIG="$W/no-config.json" EXMAIL_CORPID="$corpid" EXMAIL_CORP_API_URL="$capi" EXMAIL_ALIAS="$calias" \
    EXMAIL_CORP_SSO_SECRET="$(cat "$W/sso")" EXMAIL_CORP_MAIL_SECRET="$(cat "$W/mail")" "$BIN" count 2>>"$OUT/count.err"; }
  corp_count_ge() { local c; c=$(corp_count) && [[ "$c" =~ ^[0-9]+$ && "$c" -ge "$1" ]]; }
  wait_for 10 corp_count_ge 1 || fail "the current API's fake holds no mail for $calias: $(corp_count) $(tail -2 "$OUT/count.err")"
  jq --arg u "$capi" '.corp_api_url = $u' "$cfg" >"$cfg.new" && mv "$cfg.new" "$cfg"
  drv goto / && page_shows "${TX[welcome]}" && open_choice /login-corp && drv fill 'form[action="/login-corp"] input[name=corpid]' "$corpid" \
    && drv fill 'form[action="/login-corp"] input[name=alias]' "$calias" && drv fillfile 'form[action="/login-corp"] input[name=sso]' "$W/sso" \
    && drv fillfile 'form[action="/login-corp"] input[name=mail]' "$W/mail" || { fail "current-API form: $DRV_ANSWER"; return; }
  snap corp-form
  t0=$SECONDS
  drv click 'form[action="/login-corp"] button.primary'
  page_shows "Signed in. The tray shows your mailbox now." && page_shows "Tencent's current API, corpid $corpid" \
    && pass "current API on the page: $(page_part "Tencent's current API, corpid")" || { fail "current-API login: $DRV_ANSWER $(page_text 400)"; return; }
  snap corp-signed-in
  [[ "$(secret-tool lookup service exmail-notifier username "corp-sso $corpid")" == "$(cat "$W/sso")" && "$(secret-tool lookup service exmail-notifier username "corp-mail $corpid")" == "$(cat "$W/mail")" ]] \
    && pass "both application secrets are in gnome-keyring (corp-sso, corp-mail $corpid)" || fail "corp secrets not in the keyring"
  local ncorp; ncorp=$("$BIN" count 2>"$OUT/count.err")
  [[ "$ncorp" =~ ^[0-9]+$ ]] || fail "count on the stored current-API account: $ncorp $(cat "$OUT/count.err")"
  wait_for 15 unread_is "$ncorp" && tooltip_has "$calias" && pass "the tray is online on $calias (counts from the current API), $((SECONDS-t0)) s after the click: $(tooltip)" \
    || fail "tray on the current API: $(tooltip) (count: $ncorp)"
  ! menu_labels | grep -q ' — ' && pass "counts only: $ncorp unread on the server, none of them with sender or subject in the menu" || fail "a recent-mail item on a counts-only account: $(menu_labels | grep ' — ' | head -1)"

  # No secret in the logs.
  grep -qFf "$W/secrets" "$LOGFILE" "$OUT"/*.log "$OUT"/*.err "$OUT"/*.txt 2>/dev/null && fail "a key, secret or one-time link in a log" || pass "no key, secret or one-time link in the logs"
  cp "$LOGFILE" "$OUT/" 2>/dev/null
  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit: $(tail -2 "$OUT/app.log")"
}
