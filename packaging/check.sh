#!/usr/bin/env bash
# packaging/check.sh: check what packaging/build.sh put into dist/ (CI runs it
# after build.sh). Prints one line per check and "N passed, M failed" last;
# exits non-zero if any check failed.
#
# It installs the amd64 .deb with dpkg (when run as root on amd64), runs
# /usr/bin/exmail-notifier --version, and purges the package again; the same
# for the exmail-relay .deb, with --help and systemd-analyze verify on its unit.
# On x86-64 it also runs the relay unit's ExecStart (from the .deb, outside
# systemd, on a loopback port with a throw-away certificate) and wants an
# HTTPS answer and exit 0 on SIGTERM.
#
# Environment: DIST (default <repo>/dist), SKIP_DPKG_INSTALL=1 to leave dpkg
# alone, SIGN_CAFILE to verify signatures made with a certificate from a
# private CA (default: dist/TEST-ONLY-signing-cert.pem if build.sh made one,
# else the system CA bundle), NO_INSTALL=1 to skip installing missing tools
# (lintian, rpm, rpm2cpio, cpio, msitools, osslsigncode, desktop-file-utils,
# appstream, file, binutils, man-db, openssl, systemd for systemd-analyze).
# go-winres runs pinned from packaging/tools/go.mod (go tool -modfile=…).
#
# Every artefact must declare the Apache-2.0 licence (deb control and
# copyright, rpm License tag and %license file, AppStream, MSI, exe, plist).
# The relay's unit must keep its hardening (systemd-analyze security
# --offline, exposure at most 2.0), and its packages must ship no secret and
# never enable or start the service.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$ROOT/packaging
DIST=${DIST:-$ROOT/dist}
NAME=exmail-notifier
PASSED=0 FAILED=0 SKIPPED=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/      /' | head -40; }
skip() { SKIPPED=$((SKIPPED + 1)); printf 'skip  %s\n' "$1"; }

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds; shows its output otherwise.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$out"; fi
}

# contains DESCRIPTION NEEDLE HAYSTACK: a fixed-string match.
contains() {
	if grep -qF -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "missing: $2"; fi
}

one() { # one GLOB: the single file matching GLOB in DIST, or nothing
	# shellcheck disable=SC2206 # the glob is meant to expand
	local f=("$DIST"/$1)
	[[ ${#f[@]} -eq 1 && -f ${f[0]} ]] && printf '%s\n' "${f[0]}"
}

have() { command -v "$1" >/dev/null 2>&1; }
# dpkg_wait DPKG-COMMAND...: run it, waiting up to 10 minutes while another
# dpkg or apt holds the dpkg lock; prints its output.
dpkg_wait() {
	local out i
	for ((i = 0; i < 120; i++)); do
		out=$("$@" 2>&1) && { printf '%s\n' "$out"; return 0; }
		grep -q 'lock' <<<"$out" || { printf '%s\n' "$out"; return 1; }
		((i % 12)) || echo "      (waiting for the dpkg lock: $(grep -m1 lock <<<"$out"))" >&2
		sleep 5
	done
	printf '%s\ngave up waiting for the dpkg lock\n' "$out"
	return 1
}
# gotool NAME ARGS...: a tool pinned in packaging/tools/go.mod, as build.sh runs it.
gotool() { (cd "$PKG/tools" && GOFLAGS='' GOWORK=off go tool -modfile="$PKG/tools/go.mod" "$@"); }
LICENSE_ID=Apache-2.0
# sha256 of the Apache License 2.0 text as published (apache.org/licenses/LICENSE-2.0.txt).
APACHE_SHA256=cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30

if [[ ${NO_INSTALL:-} != 1 && $(id -u) == 0 ]]; then
	missing=()
	for p in python3-minimal lintian rpm rpm2cpio cpio msitools osslsigncode desktop-file-utils appstream file binutils man-db openssl systemd; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "installing ${missing[*]}"
		apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
			{ apt-get -o DPkg::Lock::Timeout=600 update >/dev/null 2>&1
			  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; } ||
			echo "could not install ${missing[*]}; those checks will fail or be skipped"
	fi
fi

[[ -d $DIST ]] || { echo "no $DIST: run packaging/build.sh first"; echo "0 passed, 1 failed"; exit 1; }
# shellcheck disable=SC1091
source "$DIST/build-info.txt" 2>/dev/null || { echo "no $DIST/build-info.txt"; echo "0 passed, 1 failed"; exit 1; }

# copyright.py FILE LICENSE: a Debian copyright file in the machine-readable
# format whose Files: * paragraph and stand-alone licence paragraph name LICENSE.
cat >"$WORK/copyright.py" <<'EOF'
import sys
text = open(sys.argv[1], encoding="utf-8").read()
want = sys.argv[2]
paras = [p for p in text.strip().split("\n\n")]
def fields(p):
    out, key = {}, None
    for line in p.splitlines():
        if line[:1] in " \t" and key:
            out[key] += "\n" + line.strip()
        else:
            key, _, val = line.partition(":")
            out[key] = val.strip()
    return out
ps = [fields(p) for p in paras]
bad = []
if not ps[0].get("Format", "").startswith("https://www.debian.org/doc/packaging-manuals/copyright-format/1.0"):
    bad.append("first paragraph has no copyright-format 1.0 Format: field")
files = [p for p in ps if p.get("Files") == "*"]
if not files or files[0].get("License", "").split("\n")[0] != want:
    bad.append(f"Files: * paragraph has License: {files[0].get('License') if files else None!r}, want {want!r}")
lic = [p for p in ps if "License" in p and "Files" not in p and "Format" not in p]
if not lic or lic[0]["License"].split("\n")[0] != want or f"/usr/share/common-licenses/{want}" not in lic[0]["License"]:
    bad.append(f"no stand-alone 'License: {want}' paragraph naming /usr/share/common-licenses/{want}")
if "LicenseRef" in text:
    bad.append("a LicenseRef- id is left in the copyright file")
sys.exit("\n".join(bad) or None)
EOF

# ---------------------------------------------------------------- scripts and checksums

for s in "$PKG/build.sh" "$PKG/check.sh" "$PKG/selftest.sh" "$PKG/macos/build-macos.sh"; do
	check "bash -n ${s#"$ROOT"/}" bash -n "$s"
done
for s in "$PKG"/relay/postinst.deb "$PKG"/relay/prerm.deb "$PKG"/relay/post.rpm "$PKG"/relay/preun.rpm "$PKG"/relay/postremove.sh; do
	check "sh -n ${s#"$ROOT"/}" sh -n "$s"
done
check "SHA256SUMS matches dist/" bash -c "cd '$DIST' && sha256sum --quiet -c SHA256SUMS"
check "LICENSE is the Apache License 2.0 text, unchanged" test "$(sha256sum <"$ROOT/LICENSE" 2>&1 | cut -d' ' -f1)" = "$APACHE_SHA256"
if have go; then
	check "pinned build tools match packaging/tools/go.sum (go mod verify)" \
		bash -c "cd '$PKG/tools' && GOFLAGS= GOWORK=off go mod verify"
else fail "go is needed to check the tools pinned in packaging/tools (not on PATH)"; fi

# ---------------------------------------------------------------- Linux packages

deb_amd64=$(one "${NAME}_*_amd64.deb")
deb_arm64=$(one "${NAME}_*_arm64.deb")
rpm_x86=$(one "$NAME-*.x86_64.rpm")
rpm_arm=$(one "$NAME-*.aarch64.rpm")

if [[ -z $deb_amd64 || -z $deb_arm64 ]]; then
	fail "one .deb per architecture (amd64, arm64) in dist/"
else
	pass "one .deb per architecture (amd64, arm64) in dist/"
	contents=$(dpkg-deb -c "$deb_amd64" | awk '{print $6}' | sed 's|^\./|/|')
	for p in /usr/bin/$NAME /usr/share/applications/$NAME.desktop \
		/usr/share/metainfo/io.github.exmail_notifier.metainfo.xml /usr/share/man/man1/$NAME.1.gz \
		/usr/share/doc/$NAME/README.Linux /usr/share/doc/$NAME/copyright /usr/share/doc/$NAME/changelog.Debian.gz \
		/usr/share/icons/hicolor/scalable/apps/$NAME.svg; do
		contains "deb ships $p" "$p" "$contents"
	done
	for s in 16 22 24 32 48 64 128 256; do
		contains "deb ships the ${s}px hicolor icon" "/usr/share/icons/hicolor/${s}x${s}/apps/$NAME.png" "$contents"
	done
	if grep -q '^/etc/xdg/autostart' <<<"$contents"; then fail "deb has no system-wide autostart entry"; else pass "deb has no system-wide autostart entry"; fi

	check "deb version is $PKG_VERSION-1" test "$(dpkg-deb -f "$deb_amd64" Version)" = "$PKG_VERSION-1"
	for d in "$deb_amd64" "$deb_arm64"; do
		check "deb control License: $LICENSE_ID ($(basename "$d"))" test "$(dpkg-deb -f "$d" License)" = "$LICENSE_ID"
	done
	rec=$(dpkg-deb -f "$deb_amd64" Recommends)
	contains "deb recommends a Secret Service" "gnome-keyring" "$rec"
	contains "deb recommends a notification daemon" "notification-daemon" "$rec"
	contains "deb recommends xdg-utils" "xdg-utils" "$rec"

	dpkg-deb -x "$deb_amd64" "$WORK/deb"
	check "amd64 binary is a static x86-64 ELF" bash -c "file -b '$WORK/deb/usr/bin/$NAME' | grep -q 'x86-64.*statically linked'"
	mkdir -p "$WORK/deb-arm64" && dpkg-deb -x "$deb_arm64" "$WORK/deb-arm64"
	check "arm64 binary is a static aarch64 ELF" bash -c "file -b '$WORK/deb-arm64/usr/bin/$NAME' | grep -q 'aarch64.*statically linked'"
	if have desktop-file-validate; then
		check "desktop-file-validate" desktop-file-validate "$WORK/deb/usr/share/applications/$NAME.desktop"
	else skip "desktop-file-validate (not installed)"; fi
	desk=$(cat "$WORK/deb/usr/share/applications/$NAME.desktop" 2>&1)
	contains "the .desktop file handles exmail-notifier:// links" "MimeType=x-scheme-handler/$NAME;" "$desk"
	check "the .desktop file passes the link on (the line Exec=$NAME %u)" grep -qx "Exec=$NAME %u" <<<"$desk"
	# TryExec names a program only: with "%u" after it GIO and menus treat
	# the entry as not installed, and links do not reach the app.
	check "the .desktop file's TryExec is the program alone" grep -qx "TryExec=$NAME" <<<"$desk"
	if have appstreamcli; then
		check "appstreamcli validate" appstreamcli validate --no-net "$WORK/deb/usr/share/metainfo/io.github.exmail_notifier.metainfo.xml"
	else skip "appstreamcli validate (not installed)"; fi
	check "deb copyright: machine-readable, Files: * under $LICENSE_ID, licence paragraph points to common-licenses" \
		python3 "$WORK/copyright.py" "$WORK/deb/usr/share/doc/$NAME/copyright" "$LICENSE_ID"
	check "AppStream project_license is $LICENSE_ID" python3 -c '
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
got = (r.findtext("project_license"), r.findtext("metadata_license"))
sys.exit(None if got[0] == sys.argv[2] and got[1] else f"project_license, metadata_license = {got}")' \
		"$WORK/deb/usr/share/metainfo/io.github.exmail_notifier.metainfo.xml" "$LICENSE_ID"
	check "man page renders" bash -c "LC_ALL=C.UTF-8 MANWIDTH=80 man -l '$WORK/deb/usr/share/man/man1/$NAME.1.gz' 2>&1 | grep -q 'new-mail notifier'"

	if have lintian; then
		# Errors and warnings fail; pedantic and info tags are shown only.
		lintian --pedantic --fail-on error,warning "$deb_amd64" "$deb_arm64" >"$WORK/lintian.out" 2>&1
		rc=$?
		out=$(grep -v 'running with root privileges' "$WORK/lintian.out")
		if ((rc == 0)); then pass "lintian (amd64, arm64)${out:+: $(wc -l <<<"$out") info/pedantic tags}"; else fail "lintian (amd64, arm64)" "$out"; fi
	else skip "lintian (not installed)"; fi

	if [[ ${SKIP_DPKG_INSTALL:-} == 1 || $(id -u) != 0 || $(dpkg --print-architecture) != amd64 ]]; then
		skip "dpkg -i the amd64 .deb (needs root on amd64; SKIP_DPKG_INSTALL=${SKIP_DPKG_INSTALL:-})"
	else
		if out=$(dpkg_wait dpkg -i "$deb_amd64"); then
			pass "dpkg -i $(basename "$deb_amd64")"
			want="$NAME $VERSION ($COMMIT, $DATE)"
			got=$(/usr/bin/$NAME --version 2>&1)
			if [[ $got == "$want" ]]; then pass "installed --version: $got"; else fail "installed --version" "want: $want"$'\n'"got:  $got"; fi
			check "dpkg --purge" dpkg_wait dpkg --purge $NAME
		else
			fail "dpkg -i $(basename "$deb_amd64")" "$out"
		fi
	fi
fi

if [[ -z $rpm_x86 || -z $rpm_arm ]]; then
	fail "one .rpm per architecture (x86_64, aarch64) in dist/"
elif have rpm; then
	pass "one .rpm per architecture (x86_64, aarch64) in dist/"
	info=$(rpm -qpi "$rpm_x86" 2>/dev/null)
	contains "rpm -qpi: name" "Name        : $NAME" "$info"
	contains "rpm -qpi: version" "Version     : $PKG_VERSION" "$info"
	list=$(rpm -qpl "$rpm_x86" 2>/dev/null)
	for p in /usr/bin/$NAME /usr/share/applications/$NAME.desktop /usr/share/man/man1/$NAME.1.gz \
		/usr/share/icons/hicolor/256x256/apps/$NAME.png; do
		contains "rpm -qpl: $p" "$p" "$list"
	done
	check "rpm -K digests" rpm -K --nosignature "$rpm_x86" "$rpm_arm"
	for r in "$rpm_x86" "$rpm_arm"; do
		check "rpm License: $LICENSE_ID ($(basename "$r"))" test "$(rpm -qp --qf '%{LICENSE}' "$r" 2>&1)" = "$LICENSE_ID"
	done
	contains "rpm marks /usr/share/licenses/$NAME/LICENSE as %license" "/usr/share/licenses/$NAME/LICENSE" "$(rpm -qpL "$rpm_x86" 2>&1)"
	if have rpm2cpio && have cpio; then
		# nfpm writes absolute names into the cpio archive: strip the leading /
		# so nothing lands outside $WORK/rpm.
		mkdir -p "$WORK/rpm" && (cd "$WORK/rpm" && rpm2cpio "$rpm_x86" | cpio -idm --quiet --no-absolute-filenames 2>/dev/null)
		check "rpm %license file is LICENSE byte for byte" cmp "$WORK/rpm/usr/share/licenses/$NAME/LICENSE" "$ROOT/LICENSE"
	else skip "rpm %license contents (rpm2cpio or cpio not installed)"; fi
	contains "rpm recommends gnome-keyring" "gnome-keyring" "$(rpm -qp --recommends "$rpm_x86" 2>/dev/null)"
else
	pass "one .rpm per architecture (x86_64, aarch64) in dist/"
	skip "rpm -qpi/-qpl (rpm not installed)"
fi

# ---------------------------------------------------------------- relay packages (exmail-relay)

RELAY=exmail-relay
rdeb_amd64=$(one "${RELAY}_*_amd64.deb")
rdeb_arm64=$(one "${RELAY}_*_arm64.deb")
rrpm_x86=$(one "$RELAY-*.x86_64.rpm")
rrpm_arm=$(one "$RELAY-*.aarch64.rpm")
UNIT=/usr/lib/systemd/system/$RELAY.service
ENVFILE=/etc/$RELAY/relay.env
# The hardening the unit must keep (issue #9), each an exact line.
UNIT_MUST=(
	"DynamicUser=yes" "StateDirectory=$RELAY" "NoNewPrivileges=yes" "ProtectSystem=strict" "ProtectHome=yes"
	"PrivateTmp=yes" "PrivateDevices=yes" "ProtectKernelTunables=yes" "ProtectKernelModules=yes"
	"ProtectKernelLogs=yes" "ProtectControlGroups=yes" "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
	"RestrictNamespaces=yes" "LockPersonality=yes" "MemoryDenyWriteExecute=yes"
	"SystemCallFilter=@system-service" "CapabilityBoundingSet=" "Restart=on-failure"
	"After=network-online.target" "Wants=network-online.target" "EnvironmentFile=$ENVFILE"
	"LoadCredential=exmail-secret:/etc/$RELAY/secret" "LoadCredential=tls.crt:/etc/$RELAY/tls.crt"
	"LoadCredential=tls.key:/etc/$RELAY/tls.key"
)

# unit_checks UNIT-FILE: what the relay's unit must say, and must not.
unit_checks() {
	local u=$1 d missing=() exec
	for d in "${UNIT_MUST[@]}"; do grep -qxF -- "$d" "$u" || missing+=("$d"); done
	if ((${#missing[@]} == 0)); then pass "relay unit: all ${#UNIT_MUST[@]} hardening, credential and ordering lines"
	else fail "relay unit: hardening, credential and ordering lines" "missing: $(printf '%s\n' "${missing[@]}")"; fi
	if grep -E '^(CapabilityBoundingSet|AmbientCapabilities)=.*CAP_' "$u" >/dev/null || grep -qE '^(User=root|PrivilegeEscalation)' "$u"; then
		fail "relay unit grants no capability and does not run as root" "$(grep -nE '^(CapabilityBoundingSet|AmbientCapabilities|User)=' "$u")"
	else pass "relay unit grants no capability and does not run as root"; fi
	exec=$(sed -n 's/^ExecStart=//p' "$u")
	contains "relay unit ExecStart takes the TLS files from the credentials directory" "--tls-cert %d/tls.crt --tls-key %d/tls.key" "$exec"
	if grep -Eq 'secret|EXMAIL_SECRET' <<<"$exec" || grep -Eq '^(Environment|PassEnvironment|UnsetEnvironment)=.*EXMAIL_SECRET' "$u"; then
		fail "relay unit puts no key on a command line or in Environment=" "$(grep -nE 'secret|EXMAIL_SECRET' "$u" | grep -v '^[0-9]*:#')"
	else pass "relay unit puts no key on a command line or in Environment="; fi
	check "relay unit: WantedBy=multi-user.target (for systemctl enable)" grep -qx 'WantedBy=multi-user.target' "$u"
	if have systemd-analyze; then
		# Exposure 0 (locked down) … 10 (wide open); threshold in tenths. The unit scores about 1.4.
		local out
		if out=$(systemd-analyze security --offline=true --threshold=20 "$u" 2>&1); then
			pass "systemd-analyze security --offline: $(grep -o 'exposure level for .*' <<<"$out" | head -1)"
		else fail "systemd-analyze security --offline: exposure above 2.0" "$(grep -E '✗|exposure' <<<"$out")"; fi
	else skip "systemd-analyze security (systemd not installed)"; fi
}

# smoke_relay UNIT-FILE ENV-FILE BINARY: run the unit's ExecStart outside
# systemd, with BINARY for /usr/bin/exmail-relay, as systemd would
# (credentials directory, state directory, the sample settings), on a
# loopback port with a throw-away certificate and key, and upstream endpoints
# that refuse; the relay must answer HTTPS and stop with exit 0 on SIGTERM.
# It catches a unit whose flags the binary no longer takes.
smoke_relay() {
	local u=$1 envf=$2 bin=$3 dir=$WORK/relay-smoke line args port pid rc out i listen
	mkdir -p "$dir/cred" "$dir/state"
	if ! out=$(openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$dir/cred/tls.key" -out "$dir/cred/tls.crt" 2>&1); then
		fail "relay unit's ExecStart serves HTTPS" "openssl could not make a throw-away certificate: $out"
		return
	fi
	(umask 077 && printf 'not-a-real-key\n' >"$dir/cred/exmail-secret") # systemd hands credentials over as 0400
	listen=$(sed -n 's/^EXMAIL_RELAY_LISTEN=//p' "$envf")
	[[ -n $listen ]] || { fail "relay unit's ExecStart serves HTTPS" "$envf sets no EXMAIL_RELAY_LISTEN"; return; }
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	line=$(sed -n 's/^ExecStart=//p' "$u")
	line=${line//%d/$dir/cred}
	line=${line//'${EXMAIL_RELAY_LISTEN}'/127.0.0.1:$port}
	read -ra args <<<"$line"
	[[ ${args[0]} == /usr/bin/$RELAY ]] || { fail "relay unit's ExecStart runs /usr/bin/$RELAY" "ExecStart=$line"; return; }
	args[0]=$bin
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CREDENTIALS_DIRECTORY="$dir/cred" STATE_DIRECTORY="$dir/state" \
		EXMAIL_AGENT=check@example.invalid EXMAIL_TOKEN_URL=http://127.0.0.1:9/token \
		EXMAIL_API_URL=http://127.0.0.1:9/openapi/ EXMAIL_LOGIN_URL=http://127.0.0.1:9/login \
		"${args[@]}" >"$dir/log" 2>&1 &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		out=$(python3 - "https://127.0.0.1:$port/healthz" "$dir/cred/tls.crt" 2>&1 <<-'PY'
			import ssl, sys, urllib.request, urllib.error
			ctx = ssl.create_default_context(cafile=sys.argv[2])
			try:
			    r = urllib.request.urlopen(sys.argv[1], context=ctx, timeout=2)
			    print(r.status, r.read(200).decode(errors="replace"))
			except urllib.error.HTTPError as e:
			    print(e.code)
			except Exception as e:
			    sys.exit(f"{type(e).__name__}: {e}")
			PY
		) && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [[ $out =~ ^[0-9]{3} ]]; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid"
		rc=$?
		if ((rc == 0)); then pass "relay unit's ExecStart serves HTTPS (/healthz: ${out:0:60}) and stops with 0 on SIGTERM"
		else fail "relay unit's ExecStart stops with 0 on SIGTERM" "exit $rc; log:"$'\n'"$(tail -5 "$dir/log")"; fi
	else
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		fail "relay unit's ExecStart serves HTTPS" "relay log (first and last lines):"$'\n'"$(head -3 "$dir/log"; echo …; tail -4 "$dir/log")"$'\n'"ExecStart: ${args[*]}"$'\n'"client: $out"
	fi
}

if [[ -z $rdeb_amd64 || -z $rdeb_arm64 ]]; then
	fail "one $RELAY .deb per architecture (amd64, arm64) in dist/"
else
	pass "one $RELAY .deb per architecture (amd64, arm64) in dist/"
	contents=$(dpkg-deb -c "$rdeb_amd64" | awk '{print $6}' | sed 's|^\./|/|')
	for p in /usr/bin/$RELAY $UNIT $ENVFILE /usr/share/man/man1/$RELAY.1.gz \
		/usr/share/doc/$RELAY/copyright /usr/share/doc/$RELAY/changelog.Debian.gz; do
		contains "relay deb ships $p" "$p" "$contents"
	done
	etc=$(grep '^/etc/' <<<"$contents" | grep -vxF -e /etc/ -e /etc/$RELAY/ -e "$ENVFILE")
	if [[ -z $etc ]]; then pass "relay deb ships nothing in /etc but $ENVFILE (no key, no TLS key)"
	else fail "relay deb ships nothing in /etc but $ENVFILE (no key, no TLS key)" "$etc"; fi
	check "relay deb marks $ENVFILE as its only conffile" \
		test "$(dpkg-deb --ctrl-tarfile "$rdeb_amd64" | tar -xO ./conffiles 2>&1)" = "$ENVFILE"
	check "relay deb version is $PKG_VERSION-1" test "$(dpkg-deb -f "$rdeb_amd64" Version)" = "$PKG_VERSION-1"
	for d in "$rdeb_amd64" "$rdeb_arm64"; do
		check "relay deb control License: $LICENSE_ID ($(basename "$d"))" test "$(dpkg-deb -f "$d" License)" = "$LICENSE_ID"
	done

	dpkg-deb -x "$rdeb_amd64" "$WORK/rdeb"
	check "relay amd64 binary is a static x86-64 ELF" bash -c "file -b '$WORK/rdeb/usr/bin/$RELAY' | grep -q 'x86-64.*statically linked'"
	mkdir -p "$WORK/rdeb-arm64" && dpkg-deb -x "$rdeb_arm64" "$WORK/rdeb-arm64"
	check "relay arm64 binary is a static aarch64 ELF" bash -c "file -b '$WORK/rdeb-arm64/usr/bin/$RELAY' | grep -q 'aarch64.*statically linked'"
	check "relay deb copyright: machine-readable, Files: * under $LICENSE_ID, licence paragraph points to common-licenses" \
		python3 "$WORK/copyright.py" "$WORK/rdeb/usr/share/doc/$RELAY/copyright" "$LICENSE_ID"
	unit_checks "$WORK/rdeb$UNIT"
	if [[ $(uname -m) != x86_64 ]]; then skip "relay unit's ExecStart serves HTTPS (runs the amd64 binary; this is $(uname -m))"
	elif ! have openssl; then skip "relay unit's ExecStart serves HTTPS (openssl not installed)"
	else smoke_relay "$WORK/rdeb$UNIT" "$WORK/rdeb$ENVFILE" "$WORK/rdeb/usr/bin/$RELAY"; fi

	# The sample settings: no secret, and it says where the key goes.
	env_sample=$WORK/rdeb$ENVFILE
	bad=$(grep -nEv '^[[:space:]]*(#|$)' "$env_sample" | grep -vE '^[0-9]+:(EXMAIL_AGENT|EXMAIL_RELAY_LISTEN|EXMAIL_RELAY_URL|EXMAIL_TOKEN_URL|EXMAIL_API_URL|EXMAIL_LOGIN_URL)=[^[:space:]]*$')
	if [[ -z $bad ]]; then pass "relay.env sets only the agent, the listen address, the relay URL and the endpoints (no secret)"
	else fail "relay.env sets only the agent, the listen address, the relay URL and the endpoints (no secret)" "$bad"; fi
	check "relay.env is root-only (0600): a scale-out database or NATS URL may carry a password" \
		test "$(stat -c %a "$env_sample")" = 600
	flat=$(tr '\n' ' ' <"$env_sample" | tr -s ' #' ' ')
	contains "relay.env says the key goes in /etc/$RELAY/secret" "goes in /etc/$RELAY/secret" "$flat"
	contains "relay.env says the key file is root's, mode 0600" "owned by root with mode 0600" "$flat"
	for v in EXMAIL_AGENT EXMAIL_RELAY_LISTEN; do
		check "relay.env sets $v" grep -qE "^$v=.+" "$env_sample"
	done

	# Maintainer scripts: never enable or start the service.
	mkdir -p "$WORK/rdeb-ctl" && dpkg-deb -e "$rdeb_amd64" "$WORK/rdeb-ctl"
	bad=$(grep -HnE '(systemctl|deb-systemd-invoke|deb-systemd-helper|invoke-rc\.d|service)[^#]*[[:space:]](enable|start|restart|reenable|unmask)([[:space:]]|$)' \
		"$WORK"/rdeb-ctl/{postinst,prerm,postrm} 2>&1 | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(echo|printf|#)')
	if [[ -z $bad ]]; then pass "relay deb maintainer scripts never enable or start the service"
	else fail "relay deb maintainer scripts never enable or start the service" "$bad"; fi
	bad=$(grep -Hn 'daemon-reload' "$WORK"/rdeb-ctl/{postinst,postrm} | grep -v '^[^:]*:[0-9]*:[[:space:]]*systemctl --system daemon-reload' ||
		true)
	if [[ -z $bad ]] && grep -q '\[ -d /run/systemd/system \]' "$WORK/rdeb-ctl/postinst" && grep -q daemon-reload "$WORK/rdeb-ctl/postinst"; then
		pass "relay deb postinst reloads systemd only when systemd runs"
	else fail "relay deb postinst reloads systemd only when systemd runs" "$bad"; fi

	# The man page: rendered, with every command the binary lists.
	man=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$WORK/rdeb/usr/share/man/man1/$RELAY.1.gz" 2>&1)
	contains "relay man page renders" "relay server for exmail-notifier desktops" "$man"
	cmds=$("$WORK/rdeb/usr/bin/$RELAY" --help 2>/dev/null | awk '/^Commands:/ {f = 1; next} f && /^[[:space:]]*$/ {exit} f {print $1}')
	[[ -n $cmds ]] || cmds="serve enroll devices revoke audit"
	missing=()
	for c in $cmds; do grep -q "^   $RELAY $c\$" <<<"$man" || missing+=("$c"); done
	if ((${#missing[@]} == 0)); then pass "relay man page has a section per command: $(echo $cmds)"
	else fail "relay man page has a section per command" "missing: ${missing[*]}"; fi
	contains "relay man page says where the key goes" "/etc/$RELAY/secret" "$man"

	if have lintian; then
		# The same strictness as the notifier's: errors and warnings fail.
		lintian --pedantic --fail-on error,warning "$rdeb_amd64" "$rdeb_arm64" >"$WORK/lintian-relay.out" 2>&1
		rc=$?
		out=$(grep -v 'running with root privileges' "$WORK/lintian-relay.out")
		if ((rc == 0)); then pass "lintian $RELAY (amd64, arm64)${out:+: $(wc -l <<<"$out") info/pedantic tags}"; else fail "lintian $RELAY (amd64, arm64)" "$out"; fi
	else skip "lintian $RELAY (not installed)"; fi

	if [[ ${SKIP_DPKG_INSTALL:-} == 1 || $(id -u) != 0 || $(dpkg --print-architecture) != amd64 ]]; then
		skip "dpkg -i the amd64 $RELAY .deb (needs root on amd64; SKIP_DPKG_INSTALL=${SKIP_DPKG_INSTALL:-})"
	elif out=$(dpkg_wait dpkg -i "$rdeb_amd64"); then
		pass "dpkg -i $(basename "$rdeb_amd64")"
		contains "relay postinst prints how to start, and starts nothing" "then: systemctl enable --now $RELAY" "$out"
		check "installed $RELAY --help exits 0" /usr/bin/$RELAY --help
		want="$RELAY $VERSION ($COMMIT, $DATE)"
		got=$(/usr/bin/$RELAY --version 2>&1)
		if [[ $got == "$want" ]]; then pass "installed $RELAY --version: $got"; else fail "installed $RELAY --version" "want: $want"$'\n'"got:  $got"; fi
		check "dpkg registers $ENVFILE as a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' $RELAY | grep -q '^ $ENVFILE '"
		if compgen -G "/etc/systemd/system/*.wants/$RELAY.service" >/dev/null; then
			fail "installing does not enable the relay" "$(ls /etc/systemd/system/*.wants/$RELAY.service)"
		else pass "installing does not enable the relay"; fi
		if have systemd-analyze; then
			check "systemd-analyze verify $UNIT" systemd-analyze verify "$UNIT"
		else skip "systemd-analyze verify (systemd not installed)"; fi
		check "dpkg --purge $RELAY" dpkg_wait dpkg --purge $RELAY
		check "purge removes $ENVFILE" test ! -e "$ENVFILE"
	else
		fail "dpkg -i $(basename "$rdeb_amd64")" "$out"
	fi
fi

if [[ -z $rrpm_x86 || -z $rrpm_arm ]]; then
	fail "one $RELAY .rpm per architecture (x86_64, aarch64) in dist/"
elif have rpm; then
	pass "one $RELAY .rpm per architecture (x86_64, aarch64) in dist/"
	info=$(rpm -qpi "$rrpm_x86" 2>/dev/null)
	contains "relay rpm -qpi: name" "Name        : $RELAY" "$info"
	contains "relay rpm -qpi: version" "Version     : $PKG_VERSION" "$info"
	list=$(rpm -qpl "$rrpm_x86" 2>/dev/null)
	for p in /usr/bin/$RELAY $UNIT $ENVFILE /usr/share/man/man1/$RELAY.1.gz; do
		contains "relay rpm -qpl: $p" "$p" "$list"
	done
	check "relay rpm marks $ENVFILE %config(noreplace)" \
		bash -c "rpm -qp --qf '[%{FILENAMES} %{FILEFLAGS:fflags}\n]' '$rrpm_x86' | grep -qx '$ENVFILE cn'"
	check "relay rpm -K digests" rpm -K --nosignature "$rrpm_x86" "$rrpm_arm"
	for r in "$rrpm_x86" "$rrpm_arm"; do
		check "relay rpm License: $LICENSE_ID ($(basename "$r"))" test "$(rpm -qp --qf '%{LICENSE}' "$r" 2>&1)" = "$LICENSE_ID"
	done
	contains "relay rpm marks /usr/share/licenses/$RELAY/LICENSE as %license" "/usr/share/licenses/$RELAY/LICENSE" "$(rpm -qpL "$rrpm_x86" 2>&1)"
	scripts=$(rpm -qp --scripts "$rrpm_x86" 2>&1)
	bad=$(grep -nE '(systemctl|service)[^#]*[[:space:]](enable|start|restart|reenable|unmask)([[:space:]]|$)' <<<"$scripts" |
		grep -vE '^[0-9]+:[[:space:]]*(echo|printf|#)')
	if [[ -z $bad ]] && grep -q 'daemon-reload' <<<"$scripts"; then pass "relay rpm scriptlets reload systemd, never enable or start the service"
	else fail "relay rpm scriptlets reload systemd, never enable or start the service" "${bad:-no daemon-reload}"; fi
	if have rpm2cpio && have cpio; then
		mkdir -p "$WORK/rrpm" && (cd "$WORK/rrpm" && rpm2cpio "$rrpm_x86" | cpio -idm --quiet --no-absolute-filenames 2>/dev/null)
		check "relay rpm %license file is LICENSE byte for byte" cmp "$WORK/rrpm/usr/share/licenses/$RELAY/LICENSE" "$ROOT/LICENSE"
		check "relay rpm and deb ship the same unit" cmp "$WORK/rrpm$UNIT" "$WORK/rdeb$UNIT"
	else skip "relay rpm contents (rpm2cpio or cpio not installed)"; fi
else
	pass "one $RELAY .rpm per architecture (x86_64, aarch64) in dist/"
	skip "relay rpm -qpi/-qpl (rpm not installed)"
fi

# ---------------------------------------------------------------- Windows

exe=$(one "$NAME-*-windows-amd64.exe")
msi=$(one "$NAME-*-x64.msi")
ca=()
if [[ -n ${SIGN_CAFILE:-} ]]; then ca=(-CAfile "$SIGN_CAFILE")
elif [[ -f $DIST/TEST-ONLY-signing-cert.pem ]]; then ca=(-CAfile "$DIST/TEST-ONLY-signing-cert.pem"); fi

if [[ -z $exe ]]; then
	fail "windows exe in dist/"
else
	check "exe is a PE32+ GUI x86-64 program" bash -c "file -b '$exe' | grep -q 'PE32+ executable (GUI) x86-64'"
	check "osslsigncode verify exe" osslsigncode verify "${ca[@]}" -in "$exe"
	ver=$(strings -el "$exe" | grep -A1 -x 'FileVersion' | tail -1)
	check "exe version resource FileVersion = $FILE_VERSION" test "$ver" = "$FILE_VERSION"
	contains "exe version resource names the product" "Exmail Notifier" "$(strings -el "$exe" | grep -A1 -x 'ProductName')"
	contains "exe version resource LegalCopyright names the Apache License 2.0" "Apache License 2.0" "$(strings -el "$exe" | grep -A1 -x 'LegalCopyright')"
	if out=$(gotool go-winres extract --dir "$WORK/res" "$exe" 2>&1); then
		check "exe has the app icon (16…256 px)" bash -c "[[ -s '$WORK/res/APP_0000.ico' ]]"
		contains "exe manifest: per-monitor-v2 DPI awareness" '"dpi-awareness": "per monitor v2"' "$(cat "$WORK/res/winres.json" 2>/dev/null)"
	else fail "go-winres extract (pinned in packaging/tools/go.mod)" "$out"; fi
fi

if [[ -z $msi ]]; then
	fail "windows MSI in dist/"
elif ! have msiinfo; then
	fail "msiinfo (msitools) is needed to check the MSI"
else
	t() { msiinfo export "$msi" "$1" 2>&1; }
	check "osslsigncode verify msi" osslsigncode verify "${ca[@]}" -in "$msi"
	contains "MSI File: exmail-notifier.exe" $'\texmail-notifier.exe\t' "$(t File)"
	contains "MSI installs per user (LocalAppDataFolder\\Programs)" $'UserProgramsFolder\tLocalAppDataFolder\tPrograms' "$(t Directory)"
	contains "MSI needs no elevation (word count bit 8)" "Source: 10 " "$(msiinfo suminfo "$msi")"
	contains "MSI ProductVersion $MSI_VERSION" $'ProductVersion\t'"$MSI_VERSION" "$(t Property)"
	contains "MSI File: LICENSE.txt" $'\tLICENSE.txt\t' "$(t File)"
	contains "MSI ARPCOMMENTS (Apps & features) names License: $LICENSE_ID" $'ARPCOMMENTS\t'"New-mail notifications for Tencent Enterprise Mail. License: $LICENSE_ID " "$(t Property)"
	contains "MSI summary Comments names License: $LICENSE_ID" "License: $LICENSE_ID" "$(msiinfo suminfo "$msi" 2>&1 | grep '^Comments:')"
	contains "MSI public properties are secure" "EXMAIL_API_URL;EXMAIL_TOKEN_URL;EXMAIL_LOGIN_URL;AUTOSTART" "$(t Property)"
	contains "MSI Start-menu shortcut" $'ExmailNotifierShortcut\tProgramMenuFolder\tExmail Notifier\tStartMenuShortcut\t[INSTALLDIR]exmail-notifier.exe' "$(t Shortcut)"
	contains "MSI shortcut AppUserModelID = exmail-notifier" $'\tExmailNotifierShortcut\tSystem.AppUserModel.ID\texmail-notifier' "$(t MsiShortcutProperty)"
	reg=$(t Registry)
	for v in EXMAIL_API_URL EXMAIL_TOKEN_URL EXMAIL_LOGIN_URL; do
		contains "MSI Registry: HKCU\\Software\\exmail-notifier\\$v = [$v]" $'\t1\tSoftware\\exmail-notifier\t'"$v"$'\t['"$v"']' "$reg"
	done
	contains "MSI Registry: HKCU Run value" $'\t1\tSoftware\\Microsoft\\Windows\\CurrentVersion\\Run\texmail-notifier\t"[INSTALLDIR]exmail-notifier.exe"\tAutostart' "$reg"
	contains "MSI Registry: the exmail-notifier:// URL protocol" $'Software\\Classes\\exmail-notifier\tURL Protocol\t' "$reg"
	contains "MSI Registry: the URL handler runs the exe with the link" $'Software\\Classes\\exmail-notifier\\shell\\open\\command\t\t"[INSTALLDIR]exmail-notifier.exe" "%1"' "$reg"
	contains "MSI Registry: toast DisplayName" $'Software\\Classes\\AppUserModelId\\exmail-notifier\tDisplayName\tExmail Notifier' "$reg"
	comp=$(t Component)
	contains "MSI Run value only if AUTOSTART=1" $'\tAUTOSTART = "1"\t' "$comp"
	contains "MSI API URL preset only if given" $'\tEXMAIL_API_URL\t' "$comp"
	contains "MSI major upgrade (same version too)" $'\t'"$MSI_VERSION"$'\t\t513\t\tWIX_UPGRADE_DETECTED' "$(t Upgrade)"
	contains "MSI remembers presets across upgrades" $'RememberApiURL\tOLD_API_URL AND NOT EXMAIL_API_URL\t51' "$(t InstallExecuteSequence)"
	if [[ -n $exe ]]; then
		mkdir -p "$WORK/msi" && (cd "$WORK/msi" && msiextract "$msi" >/dev/null 2>&1)
		x=$(find "$WORK/msi" -name "$NAME.exe" | head -1)
		check "MSI carries the signed exe byte for byte" cmp "$x" "$exe"
		x=$(find "$WORK/msi" -name LICENSE.txt | head -1)
		check "MSI LICENSE.txt is LICENSE byte for byte" cmp "$x" "$ROOT/LICENSE"
	fi
fi

# ---------------------------------------------------------------- macOS (what Linux can check)

plist=$WORK/Info.plist
sed -e "s/@VERSION@/$PKG_VERSION/g" -e "s/@SHORT_VERSION@/$MSI_VERSION/g" -e "s/@BUILD@/$FILE_VERSION/g" \
	-e "s/@YEAR@/${DATE%%-*}/g" "$PKG/macos/Info.plist.in" >"$plist"
check "macOS Info.plist parses, has the required keys and registers exmail-notifier://" python3 - "$plist" <<'EOF'
import plistlib, sys
p = plistlib.load(open(sys.argv[1], "rb"))
want = {
    "CFBundleIdentifier": "io.github.exmail-notifier",
    "CFBundleExecutable": "exmail-notifier",
    "CFBundleName": "Exmail Notifier",
    "CFBundlePackageType": "APPL",
    "CFBundleIconFile": "exmail-notifier",
    "LSUIElement": True,
    "NSHighResolutionCapable": True,
}
if "Apache License 2.0" not in p.get("NSHumanReadableCopyright", ""):
    want["NSHumanReadableCopyright"] = "… Apache License 2.0 …"
bad = [f"{k}={p.get(k)!r}, want {v!r}" for k, v in want.items() if p.get(k) != v]
for k in ("CFBundleShortVersionString", "CFBundleVersion", "LSMinimumSystemVersion"):
    if not p.get(k) or "@" in str(p.get(k)):
        bad.append(f"{k} missing or unfilled: {p.get(k)!r}")
# A click on an exmail-notifier:// enrollment link reaches the app (issue #9).
if not any("exmail-notifier" in t.get("CFBundleURLSchemes", []) for t in p.get("CFBundleURLTypes", [])):
    bad.append("CFBundleURLTypes does not register the exmail-notifier URL scheme")
if bad:
    sys.exit("\n".join(bad))
EOF

printf '\n%d passed, %d failed' "$PASSED" "$FAILED"
((SKIPPED)) && printf ', %d skipped' "$SKIPPED"
printf '\n'
((FAILED == 0))
