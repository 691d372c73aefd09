#!/bin/bash
# The demo's story, as an ID-card office lives it: a UPKI download, its
# check, a run, three staff cards encoded in turn (the demo plays the
# operator: it swaps the cards and types their printed numbers), a
# verification at the service desk, and the journal.
#
# Cards are virtual (drivers/cardsim) in virtual readers of a private pcscd
# (tests/testbed): nothing touches this machine's own pcscd or readers.
set -euo pipefail
: "${CS_BIN:?}" "${CS_BUILD:?}" "${CS_SRC:?}"
export CS_BIN CS_BUILD CS_SRC CS_DEMO_SYSTEM
exec "$CS_SRC/tests/testbed/testbed" --readers 1 -- bash "$CS_SRC/tests/demo/cards.sh"
