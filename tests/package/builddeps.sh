#!/bin/bash
# Build-Depends (debian/control) is exactly tests/setup.sh's build group
# (less build-essential), and holds the package of every pkg-config module
# and program the CMake files require: a dependency added to the build
# cannot miss the package or the set-up.
set -euo pipefail
: "${CS_SRC:?}"
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

bd=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' "$CS_SRC/debian/control" |
	sed '$d; s/^Build-Depends://; s/#.*//' | tr ',' '\n' |
	sed 's/(.*)//; s/\[.*\]//; s/[[:space:]]//g; /^$/d; s/^debhelper-compat$/debhelper/' | sort -u)
# setup.sh's build group: after its "# build:" comment, to the next comment
# that does not start with "# (" (a remark inside the group), as words.
group=$(awk '/^\t# build:/ {on=1; next} on == 1 && /^\t#/ {next}
	on && !/^\t#/ {on=2; print; next} on == 2 && /^\t# \(/ {next} on == 2 {exit}' \
	"$CS_SRC/tests/setup.sh" | tr -s ' \t' '\n\n' | sed '/^$/d' | grep -vx build-essential | sort -u)
[ -n "$group" ] || bad "no build group in tests/setup.sh"
only=$(comm -23 <(echo "$bd") <(echo "$group") | tr '\n' ' ')
[ -z "${only// }" ] || bad "in Build-Depends, not in setup.sh's build group: $only"
only=$(comm -13 <(echo "$bd") <(echo "$group") | tr '\n' ' ')
[ -z "${only// }" ] || bad "in setup.sh's build group, not in Build-Depends: $only"

# What the CMake files look for, and the package that has it here.
cmakes=$(find "$CS_SRC" -name CMakeLists.txt -not -path '*/build*' -not -path '*/tests/*' -not -path '*/debian/*')
modules=$(cat $cmakes | grep -oE 'pkg_check_modules\([A-Z0-9_]+ +REQUIRED( +IMPORTED_TARGET)? +[a-z0-9._+-]+' |
	awk '{print $NF}' | sort -u)
modules+=$'\n'$(cat $cmakes | grep -oE 'cs_pc_dir\([A-Z_]+ +[a-z0-9._+-]+' | awk '{print $NF}' | sort -u)
for m in $modules; do
	dir=$(pkg-config --variable=pcfiledir "$m" 2>/dev/null) || { bad "no pkg-config module $m here"; continue; }
	pkg=$(dpkg -S "$dir/$m.pc" 2>/dev/null | cut -d: -f1 | head -1)
	[ -n "$pkg" ] || { bad "no package owns $dir/$m.pc"; continue; }
	grep -qx "$pkg" <<<"$bd" || bad "pkg-config $m is in $pkg, not in Build-Depends"
done
for prog in $(cat $cmakes | grep -oE 'find_program\([A-Z0-9_]+ +[a-z0-9._+-]+ +REQUIRED' | awk '{print $2}'); do
	path=$(command -v "$prog") || { bad "no $prog here"; continue; }
	pkg=$(dpkg -S "$(realpath "$path")" 2>/dev/null | cut -d: -f1 | head -1)
	[ -n "$pkg" ] && grep -qx "$pkg" <<<"$bd" || bad "$prog ($pkg) is not in Build-Depends"
done
for p in cmake pkg-config debhelper; do
	grep -qx "$p" <<<"$bd" || bad "$p is not in Build-Depends"
done
[ "$fail" = 0 ] && echo "Build-Depends: $(wc -l <<<"$bd") packages, as setup.sh and the CMake files say"
exit $fail
