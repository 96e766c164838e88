# scenarios.sh: the desktop end-to-end scenarios, sourced by harness.sh
# inside a fresh headless session. Each scenario_NAME starts what it needs
# and reports with pass/fail.
# shellcheck shell=bash disable=SC2154

MENU_WANT="Open mailbox|Pause notifications|For 1 hour|Until tomorrow|Resume notifications|Show message content in notifications|Start at login|About exmail-notifier dev|Quit"
# the visible menu, minus recent-mail items ("sender — subject") and separators
menu_main() { menu_labels | grep -v -e ' — ' -e '^--$' | paste -sd'|'; }
ticket() { sed -n "${1}p" "$OUT/opened-urls.txt" | grep -oE 'ticket=[^&]+' ; }
sso_url_ok() { sed -n "${1}p" "$OUT/opened-urls.txt" | grep -qE "^${EXMAIL_LOGIN_URL:-http://127\.0\.0\.1:[0-9]+/cgi-bin/login}\?.*fun=bizopenssologin.*ticket=[0-9A-F]{16,}"; }
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
  sni IconPixmap | grep -q '^a(iiay) 1 32 32 4096 ' && pass "icon is a 32x32 pixmap" || fail "IconPixmap: $(sni IconPixmap | cut -c1-40)"
  check "left click opens the mailbox (ItemIsMenu false)" test "$(sni ItemIsMenu)" == "b false"
  [[ "$(menu_main)" == "$MENU_WANT" ]] && pass "menu layout" || fail "menu: $(menu_main)"
  local before; before=$(unread_in_tooltip)
  wait_for 12 notified "Exmail Notifier" && pass "first toast $((SECONDS-t0)) s after launch: $(notify_calls | head -1 | cut -f2- | tr '\t' ' ' | cut -c1-80)" || fail "no toast within 12 s"
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
  sso_url_ok 3 && pass "URL is the fake's SSO login with a ticket" || fail "URL: $(sed -n 3p "$OUT/opened-urls.txt" | sed -E 's/ticket=[^&]+/ticket=…/')"
  [[ -n "$(ticket 2)" && "$(ticket 2)" != "$(ticket 3)" ]] && pass "each open uses a fresh ticket" || fail "tickets repeat"
  grep -qE 'ticket=|authkey' "$LOGFILE" "$OUT/app.log" && fail "an SSO ticket reached the log" || pass "no SSO ticket in the log"

  "$BIN" demo >"$OUT/second.log" 2>&1; local rc=$?
  [[ $rc -eq 0 ]] && grep -q 'already running' "$OUT/second.log" && pass "second launch hands over and exits 0" || fail "second launch: rc=$rc $(cat "$OUT/second.log")"
  wait_for 5 urls_ge 4 && pass "the running instance opened the mailbox for it" || fail "no hand-off"

  menu_click "Quit"
  exited_with 5 0 && pass "Quit exits with status 0" || fail "Quit: $(tail -1 "$OUT/app.log")"
  wait_for 5 item_gone && pass "the item left the bus" || fail "item still registered"
}
