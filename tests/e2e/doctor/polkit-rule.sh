#!/bin/bash
# polkit-rule.sh RULES_FILE - run the polkit rule in duktape, the JavaScript
# engine polkitd itself embeds, with a stand-in `polkit` object: a member
# of the kiosk group gets YES for both pcsc-lite actions, anyone else and
# any other action is left to polkit's defaults.
set -euo pipefail
rules=${1:?usage: polkit-rule.sh RULES_FILE}
command -v duk >/dev/null || { echo "needs duk (tests/setup.sh: duktape)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
	cat <<'JS'
var rules = [];
var polkit = { Result: { YES: "yes", NO: "no", NOT_HANDLED: null },
	addRule: function (f) { rules.push(f); } };
function ask(id, groups) {
	var subject = { user: "kiosk", isInGroup: function (g) {
		return groups.indexOf(g) >= 0; } };
	for (var i = 0; i < rules.length; i++) {
		var r = rules[i]({ id: id, lookup: function () { return ""; } }, subject);
		if (r !== null && r !== undefined) return r;
	}
	return "default";
}
JS
	cat "$rules"
	cat <<'JS'
print("pcsc member " + ask("org.debian.pcsc-lite.access_pcsc", ["cardstation"]));
print("card member " + ask("org.debian.pcsc-lite.access_card", ["users", "cardstation"]));
print("pcsc other " + ask("org.debian.pcsc-lite.access_pcsc", ["users"]));
print("shutdown member " + ask("org.freedesktop.login1.power-off", ["cardstation"]));
JS
} >"$tmp/t.js"
duk "$tmp/t.js" >"$tmp/out"
cat "$tmp/out"
diff -u - "$tmp/out" <<'EOF2'
pcsc member yes
card member yes
pcsc other default
shutdown member default
EOF2
