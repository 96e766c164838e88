#!/usr/bin/env bash
# packaging/build.sh: build the release artefacts of exmail-notifier into dist/.
#
#   packaging/build.sh                 # Linux .deb/.rpm (amd64, arm64) of exmail-notifier and
#                                      # exmail-relay, Windows .exe + .msi, SHA256SUMS
#   ONLY=linux packaging/build.sh      # or ONLY=windows
#   packaging/check.sh                 # then check what was built
#
# macOS is built on a Mac: packaging/macos/build-macos.sh.
#
# Environment (all optional):
#   DIST               output directory (default: <repo>/dist; emptied first)
#   VERSION            version string (default: git describe --tags --always --dirty)
#   SOURCE_DATE_EPOCH  time stamped into the binaries, packages and MSI
#                      (default: the last commit's time), for reproducible builds
#   SIGN_PKCS12        Authenticode certificate + key as a .pfx/.p12 file, or
#   SIGN_CERT/SIGN_KEY certificate chain and private key (PEM or DER)
#   SIGN_PASS          password of the key or .pfx (read via a file, never on argv)
#   SIGN_TIMESTAMP_URL RFC 3161 timestamp server, e.g. http://timestamp.digicert.com
#                      Without SIGN_* a throw-away self-signed certificate is made,
#                      and its public half is left in dist/TEST-ONLY-signing-cert.pem.
#   PKG_MAINTAINER     "Name <email>" for the .deb/.rpm
#   NO_INSTALL=1       fail (saying what is missing) instead of installing tools:
#                      no apt-get, and no Go module downloads (GOPROXY=off)
#   Debian package version: a tag v1.2.3 gives 1.2.3; v1.2.3-rc.1 gives 1.2.3~rc.1;
#   commits after a tag add +N.gHASH, a dirty tree .dirty; no tag yet gives
#   0.0.0+<commits>.g<hash>. The MSI and Windows file versions are numeric
#   (1.2.3 and 1.2.3.N; 0.0.<commits> before the first tag).
#
# Tools: go (1.26+) and python3 must be there; git if built from a checkout.
# nfpm and go-winres are pinned in packaging/tools/go.mod (hashes in go.sum)
# and run with `go tool -modfile=packaging/tools/go.mod …`: nothing is looked
# up in PATH, GOPATH or GOBIN, and the Go module proxy is needed only when the
# module cache lacks them. Installed with apt-get when missing (as root):
# help2man; wixl, msitools, faketime, osslsigncode, openssl.
#
# Every failure says why on stderr: a "build.sh: …" line naming what is
# missing and how to fix it, or, for anything unforeseen, the failing command
# and its line.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$ROOT/packaging
DIST=${DIST:-$ROOT/dist}
ONLY=${ONLY:-all}
NAME=exmail-notifier
RELAY=exmail-relay # the relay server, cmd/exmail-relay: its own .deb and .rpm
LICENSE_ID=Apache-2.0 # SPDX; LICENSE at the top of the repository holds its text
UPGRADE_CODE=CFE5C52A-F583-4FFF-90D7-3F0E6B51960A # never change: MSI major upgrades key on it
TOOLS_MOD=$PKG/tools/go.mod

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# Anything that fails without a die() of its own still names itself. With -E
# the trap also runs in subshells and command substitutions, so a failure
# there is reported where it happened and again where its caller stopped.
on_err() {
	local rc=$1 line=$2 cmd=$3 where=main i
	for ((i = 1; i < ${#FUNCNAME[@]} - 1; i++)); do where+=" <- ${FUNCNAME[i]}"; done
	[[ $where == main ]] || where=${where#main <- }
	printf 'build.sh: failed (exit %s) at line %s in %s: %s\n' "$rc" "$line" "$where" "$cmd" >&2
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

# ---------------------------------------------------------------- tools

# gotool NAME ARGS...: run a tool pinned in packaging/tools/go.mod. go builds
# it from the module cache (fetching it through the proxy if need be, checked
# against go.sum) and caches the binary in GOCACHE.
# It runs in packaging/tools, so the root module's state does not matter;
# every path handed to a tool is absolute.
gotool() {
	local env=(GOFLAGS= GOWORK=off)
	[[ ${NO_INSTALL:-} == 1 ]] && env+=(GOPROXY=off)
	(cd "$PKG/tools" && env "${env[@]}" go tool -modfile="$TOOLS_MOD" "$@")
}

# need_gotool NAME MODULE TEST-ARGS...: make sure NAME builds and runs, or say why not.
need_gotool() {
	local name=$1 mod=$2 ver out
	shift 2
	[[ -f $TOOLS_MOD ]] || die "missing $TOOLS_MOD, which pins $name: restore it from git"
	ver=$(awk -v m="$mod" '$1 == m && $2 ~ /^v/ {print $2; exit}' "$TOOLS_MOD")
	[[ -n $ver ]] || die "packaging/tools/go.mod does not require $mod: run (cd packaging/tools && go get -tool $mod/...@VERSION)"
	if ! out=$(gotool "$name" "$@" 2>&1 </dev/null); then
		if [[ ${NO_INSTALL:-} == 1 ]]; then
			die "$name $ver (pinned in packaging/tools/go.mod) could not be built with NO_INSTALL=1, which forbids downloading it; is it in the module cache ($(go env GOMODCACHE))? Run once without NO_INSTALL=1, or: (cd packaging/tools && go mod download). go said: $out"
		fi
		die "$name $ver (pinned in packaging/tools/go.mod) could not be built or run; it needs the Go module proxy ($(go env GOPROXY)) or a module cache that has it. go said: $out"
	fi
	log "$name $ver (packaging/tools/go.mod)"
}

# need_cmds COMMAND:DEBIAN-PACKAGE...: install the packages of the missing commands with apt-get.
need_cmds() {
	local missing=() pkgs=() c out
	for c in "$@"; do
		command -v "${c%%:*}" >/dev/null 2>&1 && continue
		missing+=("${c%%:*}")
		[[ " ${pkgs[*]} " == *" ${c#*:} "* ]] || pkgs+=("${c#*:}")
	done
	((${#missing[@]} == 0)) && return 0
	local why="missing ${missing[*]} (Debian/Ubuntu package: ${pkgs[*]})"
	((${#pkgs[@]} == 1)) || why="missing ${missing[*]} (Debian/Ubuntu packages: ${pkgs[*]})"
	[[ ${NO_INSTALL:-} != 1 ]] || die "$why; NO_INSTALL=1 is set, so install them yourself: sudo apt-get install --no-install-recommends ${pkgs[*]}"
	command -v apt-get >/dev/null 2>&1 || die "$why, and there is no apt-get here: install them with the system's package manager"
	[[ $(id -u) == 0 ]] || die "$why; run build.sh as root to have them apt-get installed, or: sudo apt-get install --no-install-recommends ${pkgs[*]}"
	log "apt-get install ${pkgs[*]} (for ${missing[*]})"
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
	if ! out=$("${apt[@]}" install -y --no-install-recommends "${pkgs[@]}" 2>&1); then
		log "apt-get install failed; apt-get update and retrying"
		out=$({ "${apt[@]}" update && "${apt[@]}" install -y --no-install-recommends "${pkgs[@]}"; } 2>&1) ||
			die "apt-get install ${pkgs[*]} failed (needed for ${missing[*]}): $(tail -n 5 <<<"$out")"
	fi
	for c in "$@"; do
		command -v "${c%%:*}" >/dev/null 2>&1 || die "${c%%:*} is still missing after installing ${c#*:}"
	done
}

need_tools() {
	case $ONLY in
	all | linux | windows) ;;
	*) die "ONLY=$ONLY: use ONLY=linux, ONLY=windows, or leave it unset for both" ;;
	esac
	command -v go >/dev/null 2>&1 || die "go not found on PATH: install Go 1.26 or later (https://go.dev/dl/) and put its bin directory on PATH"
	[[ -f $ROOT/LICENSE ]] || die "no LICENSE at the top of the repository: the packages declare $LICENSE_ID and ship its text from there"
	grep -q 'Apache License' "$ROOT/LICENSE" && grep -q 'Version 2.0, January 2004' "$ROOT/LICENSE" ||
		die "LICENSE is not the Apache License 2.0, but the packages declare $LICENSE_ID: fix LICENSE or LICENSE_ID in build.sh"
	local cmds=(python3:python3-minimal)
	case $ONLY in all | linux) cmds+=(help2man:help2man) ;; esac
	case $ONLY in all | windows) cmds+=(wixl:wixl msibuild:msitools faketime:faketime osslsigncode:osslsigncode openssl:openssl) ;; esac
	need_cmds "${cmds[@]}"
	case $ONLY in all | linux) need_gotool nfpm github.com/goreleaser/nfpm/v2 --version ;; esac
	case $ONLY in all | windows) need_gotool go-winres github.com/tc-hib/go-winres help ;; esac
}

# ---------------------------------------------------------------- version

# Sets VERSION (for --version), COMMIT, DATE, SOURCE_DATE_EPOCH,
# PKG_VERSION (deb/rpm), MSI_VERSION (a.b.c) and FILE_VERSION (a.b.c.d).
versions() {
	local in_git=0
	git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1 && in_git=1
	if ((in_git)); then
		VERSION=${VERSION:-$(git -C "$ROOT" describe --tags --always --dirty)}
		COMMIT=$(git -C "$ROOT" rev-parse --short=12 HEAD)
		SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}
	else
		VERSION=${VERSION:-dev}
		COMMIT=unknown
		SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}
	fi
	export SOURCE_DATE_EPOCH
	DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

	# v1.2.3[-rc.1][-N-gHASH][-dirty] → 1.2.3[~rc.1][+N.gHASH][.dirty]
	local v=${VERSION#v} dirty='' ahead=0 hash='' base pre='' meta=()
	[[ $v == *-dirty ]] && { dirty=1; v=${v%-dirty}; }
	if [[ $v =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		v=${BASH_REMATCH[1]} ahead=${BASH_REMATCH[2]} hash=${BASH_REMATCH[3]}
	fi
	if [[ $v =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)(-(.+))?$ ]]; then
		base=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}
		pre=${BASH_REMATCH[5]}
		((ahead > 0)) && meta+=("$ahead" "g$hash")
		MSI_VERSION=$base
	else # no release tag yet: 0.0.0+<commits>.g<hash>
		base=0.0.0
		ahead=0
		((in_git)) && ahead=$(git -C "$ROOT" rev-list --count HEAD)
		meta+=("$ahead" "g$COMMIT")
		MSI_VERSION=0.0.$((ahead % 65536))
	fi
	[[ -n $dirty ]] && meta+=(dirty)
	PKG_VERSION=$base
	[[ -n $pre ]] && PKG_VERSION+="~${pre//-/.}"
	((${#meta[@]})) && PKG_VERSION+="+$(IFS=.; echo "${meta[*]}")"
	FILE_VERSION=$MSI_VERSION.$((ahead % 65536))
	[[ $MSI_VERSION =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] && ((BASH_REMATCH[1] < 256 && BASH_REMATCH[2] < 256 && BASH_REMATCH[3] < 65536)) ||
		die "version $MSI_VERSION does not fit an MSI ProductVersion (255.255.65535)"
}

# guid NAME: a stable GUID derived from the upgrade code and NAME (UUIDv5).
guid() {
	python3 -c 'import sys, uuid; print(str(uuid.uuid5(uuid.UUID(sys.argv[1]), sys.argv[2])).upper())' "$UPGRADE_CODE" "$1"
}

# ---------------------------------------------------------------- build steps

# The whole build runs on a snapshot of the work tree (without .git and dist),
# so go-winres can drop its .syso there and the repository stays untouched.
snapshot() {
	mkdir -p "$WORK/src"
	tar -C "$ROOT" --exclude=./.git --exclude=./dist --exclude='./rsrc_windows_*.syso' -cf - . | tar -C "$WORK/src" -xf -
}

gobuild() { # gobuild GOOS GOARCH OUT [extra ldflags]
	local ldflags="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE ${4:-}"
	(cd "$WORK/src" && CGO_ENABLED=0 GOOS=$1 GOARCH=$2 GOFLAGS='' \
		go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$3" .)
}

# gobuild_relay GOOS GOARCH OUT: cmd/exmail-relay, built and stamped like
# the notifier ("exmail-relay --version").
gobuild_relay() {
	local ldflags="-s -w -buildid= -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
	(cd "$WORK/src" && CGO_ENABLED=0 GOOS=$1 GOARCH=$2 GOFLAGS='' \
		go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$3" ./cmd/$RELAY)
}

icons() {
	log "icons"
	(cd "$WORK/src" && GOFLAGS='' go run ./assets/cmd/render -out "$WORK/icons")
}

# debian_copyright PACKAGE: the Debian copyright file (machine-readable
# format, Debian policy 12.5): the licence by its SPDX name, its text by
# reference to common-licenses.
debian_copyright() {
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: $1"
	echo "Upstream-Contact: https://github.com/exmail-notifier/exmail-notifier/issues"
	echo "Source: https://github.com/exmail-notifier/exmail-notifier"
	echo
	echo "Files: *"
	echo "Copyright: ${DATE%%-*} The Exmail Notifier authors"
	echo "License: $LICENSE_ID"
	echo "Comment: The binary is statically linked with Go modules listed by"
	echo " 'go version -m /usr/bin/$1', under their own licenses."
	echo
	echo "License: $LICENSE_ID"
	echo " Licensed under the Apache License, Version 2.0 (the \"License\");"
	echo " you may not use this file except in compliance with the License."
	echo " You may obtain a copy of the License at"
	echo " ."
	echo "     http://www.apache.org/licenses/LICENSE-2.0"
	echo " ."
	echo " Unless required by applicable law or agreed to in writing, software"
	echo " distributed under the License is distributed on an \"AS IS\" BASIS,"
	echo " WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied."
	echo " See the License for the specific language governing permissions and"
	echo " limitations under the License."
	echo " ."
	echo " On Debian systems, the complete text of the Apache License, Version 2.0"
	echo " can be found in '/usr/share/common-licenses/Apache-2.0'."
}

stage_linux_share() {
	local s=$WORK/share
	mkdir -p "$s"
	install -m 0644 "$ROOT/LICENSE" "$s/LICENSE"
	install -m 0644 "$PKG/linux/exmail-notifier.desktop" "$s/"
	install -m 0644 "$PKG/linux/README.Linux" "$s/"
	install -m 0644 "$PKG/linux/lintian-overrides" "$s/"
	sed -e "s/@VERSION@/$PKG_VERSION/" -e "s/@DATE@/${DATE%%T*}/" -e "s/@LICENSE@/$LICENSE_ID/" \
		"$PKG/linux/exmail-notifier.metainfo.xml.in" >"$s/io.github.exmail_notifier.metainfo.xml"

	for size in 16 22 24 32 48 64 128 256 512; do
		install -D -m 0644 "$WORK/icons/$NAME-$size.png" "$s/icons/hicolor/${size}x${size}/apps/$NAME.png"
	done
	install -D -m 0644 "$WORK/icons/$NAME.svg" "$s/icons/hicolor/scalable/apps/$NAME.svg"

	debian_copyright "$NAME" >"$s/copyright"

	# nfpm changelog (chglog format) → changelog.Debian.gz / rpm %changelog.
	cat >"$s/changelog.yml" <<-EOF
		- semver: $PKG_VERSION
		  date: $DATE
		  packager: ${PKG_MAINTAINER:-Exmail Notifier maintainers <exmail-notifier@users.noreply.github.com>}
		  deb:
		    urgency: low
		    distributions: [unstable]
		  changes:
		    - note: "Build of $VERSION ($COMMIT). See the project's release notes."
	EOF
}

# help2man_page NAME BIN H2M SUMMARY OUT [help2man options]: a man page from
# "NAME --help", with one subsection per command taken from "NAME <command>
# --help" appended to the include file H2M.
help2man_page() {
	local name=$1 bin=$2 h2m=$3 summary=$4 out=$5 inc cmds cmd help
	shift 5
	inc=$WORK/$name.h2m
	cp "$h2m" "$inc"
	cmds=$("$bin" --help 2>&1 | awk '/^Commands:/ {f = 1; next} f && /^[[:space:]]*$/ {exit} f {print $1}')
	if [[ -n $cmds ]]; then
		printf '\n[COMMANDS]\n' >>"$inc"
		for cmd in $cmds; do
			help=$(timeout 10 "$bin" "$cmd" --help 2>&1 </dev/null) || true
			[[ $help == *Usage:* ]] || { log "skipping '$cmd' in the man page of $name: its --help prints no usage"; continue; }
			printf '.SS "%s %s"\n.nf\n' "$name" "$cmd"
			printf '%s\n' "$help" | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
			printf '.fi\n'
		done >>"$inc"
	fi
	# --locale: help2man writes anything not ASCII as "?" in its default C locale.
	help2man --no-info --no-discard-stderr --locale=C.UTF-8 --section=1 --name="$summary" "$@" \
		--include="$inc" --output="$WORK/$name.1" "$bin" ||
		die "help2man failed for $name: do '$name --help' and '$name --version' work (help2man options: ${*:-none})?"
	gzip -9n -c "$WORK/$name.1" >"$out"
}

man_page() {
	log "man page (help2man)"
	local host bin
	host=$(go env GOARCH)
	bin=$WORK/linux-$host/$NAME
	[[ -x $bin ]] || { bin=$WORK/man-$NAME; gobuild linux "$host" "$bin"; }
	help2man_page "$NAME" "$bin" "$PKG/linux/man.h2m" "new-mail notifier for Tencent Enterprise Mail" "$WORK/share/$NAME.1.gz"
}

build_linux() {
	local arch
	for arch in amd64 arm64; do
		log "linux/$arch binary"
		gobuild linux $arch "$WORK/linux-$arch/$NAME"
	done
	stage_linux_share
	man_page
	for arch in amd64 arm64; do
		nfpm_config "$PKG/linux/nfpm.yaml" $arch "$WORK/linux-$arch/$NAME" "$WORK/share" >"$WORK/nfpm-$arch.yaml"
		for fmt in deb rpm; do
			log "linux/$arch .$fmt"
			gotool nfpm package --config "$WORK/nfpm-$arch.yaml" --packager $fmt --target "$DIST/" >/dev/null
		done
	done
	build_relay
}

# nfpm_config TEMPLATE ARCH BINARY SHARE: an nfpm.yaml with the placeholders filled in.
nfpm_config() {
	sed -e "s|@ARCH@|$2|" -e "s|@PKG_VERSION@|$PKG_VERSION|" -e "s|@LICENSE@|$LICENSE_ID|" \
		-e "s|@MAINTAINER@|${PKG_MAINTAINER:-Exmail Notifier maintainers <exmail-notifier@users.noreply.github.com>}|" \
		-e "s|@VENDOR@|Exmail Notifier|" -e "s|@BIN@|$3|" -e "s|@SHARE@|$4|g" -e "s|@SCRIPTS@|$PKG/relay|g" "$1"
}

# The relay server's packages: binary, hardened systemd unit, sample
# settings (a conffile, no secret), man page, licence, maintainer scripts
# that never enable or start the service. Files from packaging/relay/.
build_relay() {
	local arch s=$WORK/relay-share host bin
	[[ -f $WORK/src/cmd/$RELAY/main.go ]] || die "no cmd/$RELAY/main.go in the tree: the $RELAY packages need it"
	for arch in amd64 arm64; do
		log "linux/$arch $RELAY binary"
		gobuild_relay linux $arch "$WORK/relay-$arch/$RELAY"
	done
	mkdir -p "$s"
	install -m 0644 "$ROOT/LICENSE" "$s/LICENSE"
	install -m 0644 "$PKG/relay/$RELAY.service" "$PKG/relay/relay.env" "$PKG/relay/lintian-overrides" "$s/"
	install -m 0644 "$WORK/share/changelog.yml" "$s/changelog.yml"
	debian_copyright "$RELAY" >"$s/copyright"

	log "$RELAY man page (help2man)"
	host=$(go env GOARCH)
	bin=$WORK/relay-$host/$RELAY
	[[ -x $bin ]] || { bin=$WORK/man-$RELAY; gobuild_relay linux "$host" "$bin"; }
	help2man_page "$RELAY" "$bin" "$PKG/relay/man.h2m" "relay server for exmail-notifier desktops" "$s/$RELAY.1.gz"

	for arch in amd64 arm64; do
		nfpm_config "$PKG/relay/nfpm.yaml" $arch "$WORK/relay-$arch/$RELAY" "$s" >"$WORK/nfpm-relay-$arch.yaml"
		for fmt in deb rpm; do
			log "linux/$arch $RELAY .$fmt"
			gotool nfpm package --config "$WORK/nfpm-relay-$arch.yaml" --packager $fmt --target "$DIST/" >/dev/null
		done
	done
}

# Authenticode: a real certificate from the environment, or a throw-away one.
signing_setup() {
	SIGN_ARGS=()
	if [[ -n ${SIGN_PKCS12:-} ]]; then
		SIGN_ARGS+=(-pkcs12 "$SIGN_PKCS12")
	elif [[ -n ${SIGN_CERT:-} && -n ${SIGN_KEY:-} ]]; then
		SIGN_ARGS+=(-certs "$SIGN_CERT" -key "$SIGN_KEY")
	else
		log "signing with a throw-away self-signed certificate (set SIGN_PKCS12 or SIGN_CERT/SIGN_KEY for a real one)"
		local out
		out=$(openssl req -x509 -newkey rsa:3072 -nodes -days 30 -subj "/CN=Exmail Notifier TEST ONLY/O=Exmail Notifier" \
			-addext "extendedKeyUsage=codeSigning" -addext "keyUsage=digitalSignature" \
			-keyout "$WORK/sign.key" -out "$WORK/sign.crt" 2>&1) ||
			die "openssl could not make the throw-away signing certificate: $out"
		SIGN_ARGS+=(-certs "$WORK/sign.crt" -key "$WORK/sign.key")
		install -m 0644 "$WORK/sign.crt" "$DIST/TEST-ONLY-signing-cert.pem"
	fi
	if [[ -n ${SIGN_PASS:-} ]]; then
		(umask 077 && printf '%s' "$SIGN_PASS" >"$WORK/sign.pass")
		SIGN_ARGS+=(-readpass "$WORK/sign.pass")
	fi
	if [[ -n ${SIGN_TIMESTAMP_URL:-} ]]; then
		SIGN_ARGS+=(-ts "$SIGN_TIMESTAMP_URL")
	else
		SIGN_ARGS+=(-time "$SOURCE_DATE_EPOCH")
	fi
}

sign() { # sign IN OUT
	osslsigncode sign "${SIGN_ARGS[@]}" -h sha256 -n "Exmail Notifier" \
		-i https://github.com/exmail-notifier/exmail-notifier -in "$1" -out "$2" >/dev/null
}

build_windows() {
	local w=$WORK/winres exe msi
	log "windows resources (go-winres)"
	mkdir -p "$w"
	for size in 16 24 32 48 64 256; do cp "$WORK/icons/$NAME-$size.png" "$w/icon-$size.png"; done
	sed -e "s/@FILE_VERSION@/$FILE_VERSION/g" -e "s/@VERSION@/$VERSION/g" "$PKG/windows/winres.json.in" >"$w/winres.json"
	gotool go-winres make --in "$w/winres.json" --arch amd64 --out "$WORK/src/rsrc"

	log "windows/amd64 exe"
	gobuild windows amd64 "$WORK/win/$NAME.exe" "-H=windowsgui"
	rm -f "$WORK"/src/rsrc_windows_*.syso

	signing_setup
	exe=$WORK/win-signed/$NAME.exe
	mkdir -p "$WORK/win-signed"
	sign "$WORK/win/$NAME.exe" "$exe"
	install -m 0644 "$exe" "$DIST/$NAME-$PKG_VERSION-windows-amd64.exe"

	log "windows MSI (wixl)"
	local fake=() stamp
	stamp=$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')
	command -v faketime >/dev/null && fake=(env TZ=UTC faketime "$stamp")
	install -m 0644 "$ROOT/LICENSE" "$WORK/LICENSE.txt"
	touch -d "@$SOURCE_DATE_EPOCH" "$exe" "$WORK/icons/$NAME.ico" "$WORK/icons/$NAME-256.png" "$WORK/LICENSE.txt"
	msi=$WORK/$NAME.msi
	# wixl wants source paths relative to the working directory.
	(cd "$WORK" && "${fake[@]}" wixl --arch x64 \
		-D Version="$MSI_VERSION" -D DisplayVersion="$VERSION" \
		-D ProductCode="$(guid "product:$VERSION:$COMMIT")" -D PackageCode="$(guid "package:$VERSION:$COMMIT")" \
		-D ExeFile="win-signed/$NAME.exe" -D IconFile="icons/$NAME.ico" -D PngFile="icons/$NAME-256.png" \
		-D LicenseFile=LICENSE.txt -D License="$LICENSE_ID" \
		-o "$msi" "$PKG/windows/$NAME.wxs")
	local q
	while IFS= read -r q; do
		[[ -z $q || $q == --* ]] && continue
		"${fake[@]}" msibuild "$msi" -q "${q//@MSI_VERSION@/$MSI_VERSION}"
	done <"$PKG/windows/msi-fixups.sql"
	"${fake[@]}" msibuild "$msi" -i "$PKG/windows/MsiShortcutProperty.idt"
	# wixl ignores Package/@Id; set the package code (and summary) here.
	"${fake[@]}" msibuild "$msi" -s "Exmail Notifier $VERSION" "Exmail Notifier" "x64;1033" "{$(guid "package:$VERSION:$COMMIT")}"
	sign "$msi" "$DIST/$NAME-$PKG_VERSION-x64.msi"
}

# ---------------------------------------------------------------- main

main() {
	cd "$ROOT"
	need_tools
	versions
	log "$NAME $VERSION ($COMMIT, $DATE): packages $PKG_VERSION, MSI $MSI_VERSION"

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/$NAME-build.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	rm -rf "$DIST"
	mkdir -p "$DIST"
	snapshot
	icons
	case $ONLY in all | linux) build_linux ;; esac
	case $ONLY in all | windows) build_windows ;; esac

	cat >"$DIST/build-info.txt" <<-EOF
		VERSION=$VERSION
		COMMIT=$COMMIT
		DATE=$DATE
		SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH
		PKG_VERSION=$PKG_VERSION
		MSI_VERSION=$MSI_VERSION
		FILE_VERSION=$FILE_VERSION
	EOF
	(cd "$DIST" && find . -maxdepth 1 -type f ! -name SHA256SUMS ! -name 'TEST-ONLY-*' -printf '%P\n' |
		LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
	log "done: $DIST"
	(cd "$DIST" && ls -l)
}

main "$@"
