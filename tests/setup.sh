#!/bin/bash
# Install everything the build, the demo and the test suite need, from
# Debian 12's packages only. Idempotent; run as root on a fresh machine.
set -euo pipefail

PACKAGES=(
	# build: debian/control's Build-Depends names these (all but
	# build-essential); tests/package/builddeps.sh checks both against
	# what the CMake files look for
	build-essential cmake pkg-config debhelper gettext
	libpcsclite-dev libp11-kit-dev libzip-dev libssl-dev libsqlite3-dev libusb-1.0-0-dev
	libpq-dev
	libykpiv-dev libmicrohttpd-dev libpam0g-dev
	# (their .pc files say where udev rules, units and completions go)
	udev systemd bash-completion
	# the card stack the station drives
	pcscd opensc opensc-pkcs11
	# tests: virtual reader, unit tests, tools that check our output
	vsmartcard-vpcd libcmocka-dev openssl zip unzip sqlite3 util-linux jq bc
	# PIV cards: Yubico's tool (tests/e2e/piv judges the PIV token with
	# yubico-piv-tool; the library the station writes them with is built
	# against, above)
	yubico-piv-tool
	# a TLS 1.3 client login with a PIV card's key: openssl s_client loads
	# it through OpenSC's PKCS#11 module with libp11's pkcs11 engine
	libengine-pkcs11-openssl
	# a journal shared by stations: the tests start a PostgreSQL 15 server
	# of their own (tests/pg/pgtest.sh: initdb, pg_ctl, psql)
	postgresql-15
	# a clock two days ahead for one process (a certificate expiring
	# between import and encoding)
	faketime
	# doctor and udev tests: emulated USB devices, udevadm, polkit's JS engine
	umockdev duktape
	# the operators' language: gettext's msgfmt builds the catalogues (po/),
	# xgettext and msgcmp check them; locales gives ja_JP.UTF-8
	locales
	# man pages: mandoc checks them (mandoc -T lint)
	mandoc
	# benchmarks: GNU time for wall time and peak RSS
	time
	# fuzzing (tests/fuzz): Clang and its libFuzzer runtime (a Recommends of
	# clang-14 only, so named here)
	clang-14 libclang-rt-14-dev
	# kiosk: its browser tests (Chromium, Node) and the screen's font: Noto
	# Sans CJK JP, Japanese with proportional Latin letters (kiosk/www/style.css)
	chromium nodejs fonts-noto-cjk
	# the package test (tests/package/deb.sh): lintian, man-db's man
	lintian man-db dpkg-dev fakeroot
)
# npm: Debian's package, unless the installed nodejs already carries npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

# One line per step; what apt and the others say goes to a log, shown
# only when a step fails.
log=${CS_SETUP_LOG:-/tmp/cardstation-setup.log}
: >"$log"
step() { # WHAT COMMAND...: run COMMAND quietly, or show its log and stop
	local what=$1
	shift
	echo "setup: $what"
	if ! "$@" >>"$log" 2>&1; then
		echo "setup: FAILED: $what; the end of $log:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	step "apt-get update" apt-get update
	step "installing ${#missing[@]} packages: ${missing[*]}" \
		apt-get install -y --no-install-recommends "${missing[@]}"
else
	echo "setup: all ${#PACKAGES[@]} packages are installed"
fi
# The Japanese locale the operators use and the tests run commands in
# (LANG=ja_JP.UTF-8), generated once.
if ! locale -a 2>/dev/null | grep -qix 'ja_JP.utf8'; then
	step "generating the locale ja_JP.UTF-8" localedef -i ja_JP -f UTF-8 ja_JP.UTF-8
fi
# Debian starts pcscd by socket activation; the tests never use it (each
# starts its own in a private mount namespace), so it may stay as it is.
