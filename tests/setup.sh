#!/bin/bash
# Install everything the build, the demo and the test suite need, from
# Debian 12's packages only. Idempotent; run as root on a fresh machine.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config
	libpcsclite-dev libp11-kit-dev libzip-dev libssl-dev libsqlite3-dev libusb-1.0-0-dev
	# the card stack the station drives
	pcscd opensc opensc-pkcs11
	# tests: virtual reader, unit tests, tools that check our output
	vsmartcard-vpcd libcmocka-dev openssl zip unzip sqlite3 util-linux jq bc
	# PIV cards: Yubico's library (the station writes PIV cards with it)
	# and tool (tests/e2e/piv judges the PIV token with yubico-piv-tool)
	yubico-piv-tool libykpiv-dev
	# a clock two days ahead for one process (a certificate expiring
	# between import and encoding)
	faketime
	# doctor and udev tests: emulated USB devices, udevadm, polkit's JS engine
	umockdev udev duktape
	# the operators' language: gettext's msgfmt builds the catalogues (po/),
	# xgettext and msgcmp check them; locales gives ja_JP.UTF-8
	gettext locales
	# man pages: mandoc checks them (mandoc -T lint)
	mandoc
	# install folders: bash-completion.pc names where completions go
	bash-completion
	# benchmarks: GNU time for wall time and peak RSS
	time
	# fuzzing (tests/fuzz): Clang and its libFuzzer runtime (a Recommends of
	# clang-14 only, so named here)
	clang-14 libclang-rt-14-dev
	# kiosk: its web server library; its browser tests (Chromium, Node) and
	# the screen's font: Noto Sans CJK JP, Japanese with proportional Latin
	# letters (kiosk/www/style.css)
	libmicrohttpd-dev chromium nodejs fonts-noto-cjk
	# kiosk: operators log in with their machine accounts through PAM
	libpam0g-dev
)
# npm: Debian's package, unless the installed nodejs already carries npm.
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Japanese locale the operators use and the tests run commands in
# (LANG=ja_JP.UTF-8), generated once.
if ! locale -a 2>/dev/null | grep -qix 'ja_JP.utf8'; then
	localedef -i ja_JP -f UTF-8 ja_JP.UTF-8 2>/dev/null ||
		localedef -i ja_JP -f UTF-8 ja_JP.UTF-8 >/dev/null
fi
# Debian starts pcscd by socket activation; the tests never use it (each
# starts its own in a private mount namespace), so it may stay as it is.
