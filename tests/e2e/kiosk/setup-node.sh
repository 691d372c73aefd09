#!/bin/bash
# setup-node.sh DIR VERSION - playwright-core, pinned, into DIR (under the
# build folder). playwright-core downloads no browser: the tests use
# Debian's /usr/bin/chromium.
set -euo pipefail
dir=$1 version=$2
have=$(node -p "require('$dir/node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$have" = "$version" ]; then
	echo "playwright-core $version already in $dir"
	exit 0
fi
mkdir -p "$dir"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm install --prefix "$dir" --no-audit --no-fund --no-save \
	"playwright-core@$version"
node -p "require('$dir/node_modules/playwright-core/package.json').version" |
	grep -qx "$version"
[ -x /usr/bin/chromium ] || { echo "no /usr/bin/chromium: run tests/setup.sh" >&2; exit 1; }
echo "playwright-core $version installed in $dir"
