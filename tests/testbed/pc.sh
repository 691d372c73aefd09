#!/bin/bash
# pc.sh - one station's PC, for the story and the bench of several stations
# on one journal (tests/e2e/journal/stations.sh, tests/bench/pg): what a counter of an
# office is, a computer with its own pcscd, its own readers and its own
# host name; only the journal's server is shared.
#
#   pc.sh HOST READERS -- COMMAND...
#       COMMAND in a test bench of its own (tests/testbed/testbed --readers
#       READERS: its pcscd, its mount and PID namespaces) under the host
#       name HOST (a UTS namespace). Every bench names its readers alike
#       ("Testbed 0 00 00") and the journal knows a reader in use by host
#       and name: under one host name the stations would wait for each
#       other's readers. One PC, one bench, one host name. Works from
#       inside another bench too (a bench started there is a bench of
#       its own, nested in that one's namespaces; it sees its files).
#   source pc.sh; (pc_encode OPERATOR [ARGS...])
#       inside the bench: `cardstation encode` on run 1 over every reader
#       of the bench (by name), the office's PIN and PUK from $CS_PIN and
#       $CS_PUK; it execs, so run it in a subshell ($! is then encode).

pc_encode() {
	local args=() r i
	for ((i = 0; i < TB_READERS; i++)); do
		# By name: an index counts PC/SC's list, whose order is pcscd's.
		r=$(tb_reader "$i") || return 1
		args+=(--reader "$r")
	done
	exec "${CS_BIN:?}" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK \
		--operator "$1" "${args[@]}" "${@:2}"
}

[ "${BASH_SOURCE[0]}" = "$0" ] || return 0
set -euo pipefail

if [ $# -lt 4 ] || [ "$3" != -- ]; then
	echo "usage: pc.sh HOST READERS -- COMMAND..." >&2
	exit 2
fi
host=$1 readers=$2
shift 3
testbed=${CS_TESTBED:-$(dirname "$(readlink -f "$0")")/testbed}
# TB_INSIDE (set inside a bench) would make testbed skip its namespaces.
# shellcheck disable=SC2016 # sh expands them
exec env -u TB_INSIDE unshare --uts sh -c 'hostname "$0" && exec "$@"' "$host" \
	"$testbed" --readers "$readers" -- "$@"
