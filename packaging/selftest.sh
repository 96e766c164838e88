#!/usr/bin/env bash
# packaging/selftest.sh: the failure paths of build.sh and check.sh. Each case
# breaks the environment on purpose and passes only if the script fails AND
# says why (a specific message on its output). CI runs it after build.sh and
# check.sh, because the last cases doctor a copy of dist/.
#
#   packaging/selftest.sh      # last line: "N passed, M failed"
#
# Environment: DIST (default <repo>/dist), the built artefacts to doctor.
# Nothing here touches dist/ itself or installs anything; build.sh runs with
# DIST set to a temporary directory.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$ROOT/packaging
DIST=${DIST:-$ROOT/dist}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/exmail-notifier-selftest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PASSED=0 FAILED=0

pass() { PASSED=$((PASSED + 1)); printf 'ok    %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/      /' | head -30; }

# expect DESCRIPTION REGEX COMMAND...: COMMAND must exit non-zero and print a
# line matching REGEX (grep -E) on stdout or stderr.
expect() {
	local desc=$1 re=$2 out rc
	shift 2
	out=$(timeout 300 "$@" </dev/null 2>&1)
	rc=$?
	if ((rc == 0)); then
		fail "$desc" "exited 0; want a failure matching /$re/. Output:"$'\n'"$out"
	elif ! grep -Eq -- "$re" <<<"$out"; then
		fail "$desc" "exit $rc, but no line matches /$re/. Output:"$'\n'"$out"
	else
		pass "$desc: $(grep -Em1 -- "$re" <<<"$out" | cut -c1-160)"
	fi
}

# path_without COMMAND...: a directory of links to everything on PATH except
# COMMAND..., to stand in for a machine without them.
path_without() {
	local farm d c dirs
	farm=$(mktemp -d "$TMP/path.XXXXXX")
	IFS=: read -ra dirs <<<"$PATH"
	for d in "${dirs[@]}"; do
		# The first directory on PATH wins, as in a lookup; later duplicates fail quietly.
		[[ -d $d ]] && ln -s -t "$farm" "$d"/* 2>/dev/null
	done
	for c in "$@"; do rm -f "$farm/$c"; done
	printf '%s\n' "$farm"
}

# build VAR=VALUE...: build.sh, writing to a scratch DIST, in the given environment.
build=(env DIST="$TMP/dist")

# ---------------------------------------------------------------- build.sh

expect "build.sh rejects a bad ONLY" 'build\.sh: ONLY=macos: use ONLY=linux' \
	"${build[@]}" ONLY=macos "$PKG/build.sh"

expect "build.sh without go on PATH" 'build\.sh: go not found on PATH: install Go' \
	"${build[@]}" PATH="$(path_without go)" "$PKG/build.sh"

expect "build.sh with NO_INSTALL=1 and no help2man names the package" \
	'build\.sh: missing help2man \(Debian/Ubuntu package: help2man\); NO_INSTALL=1 is set, so install them yourself: sudo apt-get install' \
	"${build[@]}" PATH="$(path_without help2man)" NO_INSTALL=1 ONLY=linux "$PKG/build.sh"

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null && "${nobody[@]}" test -r "$PKG/build.sh"; then
	farm=$(path_without wixl)
	chmod a+rx "$TMP" "$farm" # mktemp made them 0700; the user must be able to look things up there
	expect "build.sh as a normal user without wixl says to run as root" \
		'build\.sh: missing .*wixl.*; run build\.sh as root to have them apt-get installed' \
		"${nobody[@]}" env HOME="$TMP" DIST="$TMP/dist" PATH="$farm" ONLY=windows "$PKG/build.sh"
fi

# A fresh, offline machine: an empty module cache and no proxy.
mkdir -p "$TMP/modcache"
expect "build.sh offline with an empty module cache names the pinned tool" \
	'build\.sh: nfpm v[0-9.]+ \(pinned in packaging/tools/go\.mod\) could not be built .*proxy' \
	"${build[@]}" GOMODCACHE="$TMP/modcache" GOPROXY=off GOFLAGS=-modcacherw ONLY=linux "$PKG/build.sh"
expect "build.sh with NO_INSTALL=1 and an empty module cache does not download" \
	'build\.sh: nfpm v[0-9.]+ \(pinned in packaging/tools/go\.mod\) could not be built with NO_INSTALL=1' \
	"${build[@]}" GOMODCACHE="$TMP/modcache" GOFLAGS=-modcacherw NO_INSTALL=1 ONLY=linux "$PKG/build.sh"
chmod -R u+w "$TMP/modcache" 2>/dev/null

# A command that fails without a word: the ERR trap must still name it and its line.
mkdir -p "$TMP/silent"
printf '#!/bin/sh\nexit 3\n' >"$TMP/silent/tar" && chmod +x "$TMP/silent/tar"
expect "build.sh names a command that fails silently, with its line" \
	'build\.sh: failed \(exit 3\) at line [0-9]+ in snapshot <- main: tar ' \
	"${build[@]}" PATH="$TMP/silent:$PATH" ONLY=linux "$PKG/build.sh"

# ---------------------------------------------------------------- check.sh

expect "check.sh without dist/ says to build first" 'no .*: run packaging/build\.sh first' \
	env DIST="$TMP/nothing-here" NO_INSTALL=1 "$PKG/check.sh"

# The checks must be able to fail. One copy of dist/, doctored, and one
# check.sh run over it (each run costs about 20 s):
# - licence: the amd64 notifier .deb claims MIT (control, copyright,
#   AppStream) and the MSI says so in Apps & features;
# - relay: the amd64 exmail-relay .deb ships a key in its sample settings, no
#   longer marks them as a conffile, lost a hardening line, gained a
#   capability, enables the service from its postinst, and its unit passes a
#   flag the binary does not take.
# The arm64 packages stay untouched and must pass.
deb=$(find "$DIST" -maxdepth 1 -name 'exmail-notifier_*_amd64.deb' 2>/dev/null | head -1)
msi=$(find "$DIST" -maxdepth 1 -name 'exmail-notifier-*-x64.msi' 2>/dev/null | head -1)
rdeb=$(find "$DIST" -maxdepth 1 -name 'exmail-relay_*_amd64.deb' 2>/dev/null | head -1)
if [[ -z $deb || -z $msi || -z $rdeb ]]; then
	fail "doctored dist/: no notifier .deb, .msi or exmail-relay .deb in $DIST to doctor (run packaging/build.sh first)"
else
	bad=$TMP/bad-dist
	cp -a "$DIST" "$bad"
	x=$TMP/deb-x
	dpkg-deb -R "$deb" "$x"
	sed -i 's/^License: Apache-2.0$/License: MIT/' "$x/DEBIAN/control" "$x/usr/share/doc/exmail-notifier/copyright"
	sed -i 's|<project_license>Apache-2.0</project_license>|<project_license>MIT</project_license>|' \
		"$x/usr/share/metainfo/io.github.exmail_notifier.metainfo.xml"
	dpkg-deb --root-owner-group -b "$x" "$bad/${deb##*/}" >/dev/null
	msibuild "$bad/${msi##*/}" -q "UPDATE \`Property\` SET \`Value\` = 'License: MIT' WHERE \`Property\` = 'ARPCOMMENTS'"

	x=$TMP/rdeb-x
	dpkg-deb -R "$rdeb" "$x"
	printf 'EXMAIL_SECRET=not-a-real-key\n' >>"$x/etc/exmail-relay/relay.env"
	rm "$x/DEBIAN/conffiles"
	u=$x/usr/lib/systemd/system/exmail-relay.service
	sed -i -e '/^NoNewPrivileges=yes$/d' -e 's/^AmbientCapabilities=$/AmbientCapabilities=CAP_NET_BIND_SERVICE/' \
		-e 's/--tls-cert /--tls-certificate /' "$u"
	printf 'deb-systemd-invoke start exmail-relay.service\n' >>"$x/DEBIAN/postinst"
	dpkg-deb --root-owner-group -b "$x" "$bad/${rdeb##*/}" >/dev/null 2>&1

	(cd "$bad" && find . -maxdepth 1 -type f ! -name SHA256SUMS ! -name 'TEST-ONLY-*' -printf '%P\n' |
		LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
	out=$(env DIST="$bad" SKIP_DPKG_INSTALL=1 NO_INSTALL=1 "$PKG/check.sh" 2>&1)
	rc=$?
	for want in 'FAIL  deb control License: Apache-2.0 \(exmail-notifier_.*_amd64\.deb\)' \
		'FAIL  deb copyright: machine-readable, Files: \* under Apache-2\.0' \
		'FAIL  AppStream project_license is Apache-2\.0' \
		'FAIL  MSI ARPCOMMENTS \(Apps & features\) names License: Apache-2\.0'; do
		if ((rc != 0)) && grep -Eq -- "$want" <<<"$out"; then
			pass "check.sh catches a wrong licence: $(grep -Em1 -- "$want" <<<"$out" | cut -c7-)"
		else
			fail "check.sh catches a wrong licence: no /$want/ (exit $rc)" "$(tail -5 <<<"$out")"
		fi
	done
	if grep -q '^FAIL  deb control License: Apache-2.0 (exmail-notifier_.*_arm64\.deb)' <<<"$out"; then
		fail "check.sh passes the untouched arm64 .deb" "$(grep arm64 <<<"$out")"
	else pass "check.sh passes the untouched arm64 .deb"; fi

	wants=('FAIL  relay deb marks /etc/exmail-relay/relay\.env as its only conffile'
		'FAIL  relay\.env sets only the agent, the listen address, the relay URL and the endpoints \(no secret\)'
		'FAIL  relay unit: hardening, credential and ordering lines'
		'FAIL  relay unit grants no capability'
		'FAIL  relay deb maintainer scripts never enable or start the service')
	[[ $(uname -m) == x86_64 ]] && command -v openssl >/dev/null && wants+=("FAIL  relay unit's ExecStart serves HTTPS")
	for want in "${wants[@]}"; do
		if ((rc != 0)) && grep -Eq -- "$want" <<<"$out"; then
			pass "check.sh catches a broken relay package: $(grep -Em1 -- "$want" <<<"$out" | cut -c7-)"
		else
			fail "check.sh catches a broken relay package: no /$want/ (exit $rc)" "$(grep -E '^(FAIL|[0-9]+ passed)' <<<"$out" | tail -12)"
		fi
	done
	if grep -q '^FAIL  relay deb control License: Apache-2.0 (exmail-relay_.*_arm64\.deb)' <<<"$out"; then
		fail "check.sh passes the untouched arm64 relay .deb" "$(grep arm64 <<<"$out")"
	else pass "check.sh passes the untouched arm64 relay .deb"; fi
fi

printf '\n%d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
