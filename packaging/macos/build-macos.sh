#!/usr/bin/env bash
# packaging/macos/build-macos.sh: build, sign and notarise "Exmail Notifier.app"
# ON A MAC (Xcode command line tools; Go). fyne.io/systray needs cgo on macOS,
# so this cannot run on Linux.
#
#   packaging/macos/build-macos.sh              # universal (arm64 + x86_64) .app and .zip in dist/
#
# Environment:
#   VERSION, SOURCE_DATE_EPOCH   as for packaging/build.sh (default: from git)
#   MACOS_SIGN_IDENTITY          codesign identity, e.g. "Developer ID Application: Example Ltd (TEAMID1234)";
#                                unset: ad-hoc signature ("-"), which runs locally but cannot be notarised
#   Notarisation (skipped when none is set), either
#     NOTARY_PROFILE             a keychain profile made with `xcrun notarytool store-credentials`, or
#     NOTARY_APPLE_ID, NOTARY_TEAM_ID, NOTARY_PASSWORD (an app-specific password), or
#     NOTARY_KEY (path to AuthKey_XXXX.p8), NOTARY_KEY_ID, NOTARY_ISSUER (App Store Connect API key)
#   MACOSX_DEPLOYMENT_TARGET     default 11.0 (matches LSMinimumSystemVersion)
#
# Every failure says why: a "build-macos.sh: …" line, or for anything
# unforeseen the failing command and its line.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIST=${DIST:-$ROOT/dist}
NAME=exmail-notifier
APP_NAME="Exmail Notifier"
export MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-11.0}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build-macos.sh: %s\n' "$*" >&2; exit 1; }
trap 'printf "build-macos.sh: failed (exit %s) at line %s: %s\n" "$?" "$LINENO" "$BASH_COMMAND" >&2' ERR

[[ $(uname -s) == Darwin ]] || die "run this on macOS (cgo + the macOS SDK are needed for the tray)"
command -v go >/dev/null || die "go not found on PATH: install Go 1.26 or later (https://go.dev/dl/)"
for t in git lipo codesign ditto xcrun plutil; do
	command -v $t >/dev/null || die "missing $t: install the Xcode command line tools (xcode-select --install)"
done
[[ -f $ROOT/LICENSE ]] || die "no LICENSE at the top of the repository: the app ships it in Contents/Resources"

cd "$ROOT"
git rev-parse --git-dir >/dev/null 2>&1 || die "$ROOT is not a git checkout: the version comes from git describe"
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
COMMIT=$(git rev-parse --short=12 HEAD)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
DATE=$(date -u -r "$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
YEAR=${DATE%%-*}
# CFBundleShortVersionString must be a.b.c; CFBundleVersion may add a build number.
v=${VERSION#v}
if [[ $v =~ ^([0-9]+\.[0-9]+\.[0-9]+)(-[^-]+)?(-([0-9]+)-g[0-9a-f]+)?(-dirty)?$ ]]; then
	SHORT_VERSION=${BASH_REMATCH[1]}
	BUILD=$SHORT_VERSION.${BASH_REMATCH[4]:-0}
else
	SHORT_VERSION=0.0.$(git rev-list --count HEAD)
	BUILD=$SHORT_VERSION.0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
APP=$WORK/$APP_NAME.app
mkdir -p "$APP/Contents/MacOS" "$APP/Contents/Resources" "$DIST"

ldflags="-s -w -X main.version=$VERSION -X main.commit=$COMMIT -X main.date=$DATE"
for arch in arm64 amd64; do
	log "darwin/$arch"
	CGO_ENABLED=1 GOOS=darwin GOARCH=$arch CGO_CFLAGS="-mmacosx-version-min=$MACOSX_DEPLOYMENT_TARGET" \
		CGO_LDFLAGS="-mmacosx-version-min=$MACOSX_DEPLOYMENT_TARGET" \
		go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$WORK/$NAME-$arch" .
done
lipo -create -output "$APP/Contents/MacOS/$NAME" "$WORK/$NAME-arm64" "$WORK/$NAME-amd64"
lipo -info "$APP/Contents/MacOS/$NAME"

log "Info.plist and icon"
sed -e "s/@VERSION@/$VERSION/g" -e "s/@SHORT_VERSION@/$SHORT_VERSION/g" -e "s/@BUILD@/$BUILD/g" -e "s/@YEAR@/$YEAR/g" \
	packaging/macos/Info.plist.in >"$APP/Contents/Info.plist"
plutil -lint "$APP/Contents/Info.plist"
# The exmail-notifier:// handler: without it a click on an enrollment link
# finds no app (on Linux the .desktop file, on Windows the MSI registers it).
schemes=$(plutil -extract CFBundleURLTypes.0.CFBundleURLSchemes json -o - "$APP/Contents/Info.plist" | tr -d ' \n') ||
	die "Info.plist has no CFBundleURLTypes[0].CFBundleURLSchemes: the exmail-notifier:// link handler is missing"
[[ $schemes == '["exmail-notifier"]' ]] || die "Info.plist CFBundleURLSchemes is $schemes, want [\"exmail-notifier\"]"
printf 'APPL????' >"$APP/Contents/PkgInfo"
go run ./assets/cmd/render -out "$WORK/icons"
cp "$WORK/icons/$NAME.icns" "$APP/Contents/Resources/$NAME.icns"
cp LICENSE "$APP/Contents/Resources/LICENSE"

log "codesign (${MACOS_SIGN_IDENTITY:-ad-hoc})"
sign_args=(--force --options runtime --sign "${MACOS_SIGN_IDENTITY:--}")
[[ -n ${MACOS_SIGN_IDENTITY:-} ]] && sign_args+=(--timestamp)
codesign "${sign_args[@]}" "$APP"
codesign --verify --strict --verbose=2 "$APP"

ZIP=$DIST/$NAME-${VERSION#v}-macos-universal.zip
ditto -c -k --sequesterRsrc --keepParent "$APP" "$ZIP"

notary=()
if [[ -n ${NOTARY_PROFILE:-} ]]; then
	notary=(--keychain-profile "$NOTARY_PROFILE")
elif [[ -n ${NOTARY_APPLE_ID:-} ]]; then
	# notarytool takes this password only as an argument, so it is visible in
	# the process list while notarytool runs; prefer NOTARY_PROFILE or NOTARY_KEY.
	log "warning: NOTARY_PASSWORD goes on notarytool's command line; NOTARY_PROFILE or NOTARY_KEY keep it off"
	[[ -n ${NOTARY_TEAM_ID:-} && -n ${NOTARY_PASSWORD:-} ]] || die "NOTARY_APPLE_ID needs NOTARY_TEAM_ID and NOTARY_PASSWORD (an app-specific password) too"
	notary=(--apple-id "$NOTARY_APPLE_ID" --team-id "$NOTARY_TEAM_ID" --password "$NOTARY_PASSWORD")
elif [[ -n ${NOTARY_KEY:-} ]]; then
	[[ -n ${NOTARY_KEY_ID:-} && -n ${NOTARY_ISSUER:-} ]] || die "NOTARY_KEY needs NOTARY_KEY_ID and NOTARY_ISSUER too"
	notary=(--key "$NOTARY_KEY" --key-id "$NOTARY_KEY_ID" --issuer "$NOTARY_ISSUER")
fi
if ((${#notary[@]})); then
	[[ -n ${MACOS_SIGN_IDENTITY:-} ]] || die "notarisation needs a Developer ID signature (MACOS_SIGN_IDENTITY)"
	log "notarytool submit (waits for Apple)"
	xcrun notarytool submit "$ZIP" "${notary[@]}" --wait
	xcrun stapler staple "$APP"
	xcrun stapler validate "$APP"
	spctl --assess --type execute --verbose "$APP"
	rm -f "$ZIP"
	ditto -c -k --sequesterRsrc --keepParent "$APP" "$ZIP" # again, with the ticket stapled
else
	log "not notarised (set NOTARY_PROFILE, NOTARY_APPLE_ID… or NOTARY_KEY…)"
fi
(cd "$DIST" && shasum -a 256 "$(basename "$ZIP")" >"$(basename "$ZIP").sha256")
log "done: $ZIP"
