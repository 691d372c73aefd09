#!/bin/bash
# bench.sh - `cardstation encode` on PIV tokens against the sequence a
# YubiKey administrator scripts with yubico-piv-tool, per card, side by
# side in one run, on cardsim PIV tokens (--applet piv) with the latency of
# a real card (issue 14). Runs inside the test bench with one reader:
#
#   tests/testbed/testbed --readers 1 -- tests/bench/piv/bench.sh
#
# station   one `cardstation encode --until-done` writes BENCH_REPS blank
#           tokens in turn: from the moment PC/SC sees the token to the DONE
#           line (its probe and identity, the libykpiv write, the check:
#           certificate read back, PIN, a signature over a fresh challenge
#           verified with the certificate's key; the journal).
# baseline  the same people's keys and certificates, on identical blank
#           tokens: yubico-piv-tool -a import-key, import-certificate,
#           set-chuid, change-pin, change-puk, set-mgm-key (one command
#           each, as a script runs them; the factory management key).
# +check    the baseline plus `yubico-piv-tool -a verify-pin -a
#           test-signature`, so that it proves what the station proves.
# APDUs from cardsim --stats; the station's by phase from cardsim --trace,
# split at its "step 3 of" (writing) and "step 4 of" (checking) lines.
#
# A benchmark, never a timed test: it fails only if a card is not written.
# Environment: CS_BIN, UPKIGEN, CS_SRC (ctest sets them), BENCH_REPS (3),
# BENCH_WORK (report dir).
set -euo pipefail
: "${CS_BIN:?}" "${UPKIGEN:?}" "${CS_SRC:?}"
# shellcheck source=../../testbed/testbed.sh
source "$TB_LIB"

REPS=${BENCH_REPS:-3}
OUTDIR=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-piv.XXXXXX)}
REPORT=$OUTDIR/report.txt
INST="National Institute of Informatics, Academe Campus"
export CARDSTATION_PROFILES=${CARDSTATION_PROFILES:-$CS_SRC/cardprofiles}
# The office's PIN and PUK (test values), and a blank YubiKey's defaults.
export CS_PIN=246810 CS_PUK=13572468
DEF_PIN=123456 DEF_PUK=12345678
mkdir -p "$OUTDIR"
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; its CPU time means little" >&2
fi

fail() { echo "bench: $*" >&2; exit 1; }
say() { echo "$*" | tee -a "$REPORT"; }
apdus() { sed -E 's/.*"apdus": ([0-9]+).*/\1/' "$1"; }
card_ms() { sed -E 's/.*"model_ms": ([0-9.]+).*/\1/' "$1" | awk '{ printf "%d", $1 }'; }
ms() { echo "$1 $2" | awk '{ printf "%d", ($2 - $1) * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }

# The station: one encode process, REPS tokens in turn in reader 0; a
# fresh one goes in as soon as the last says DONE.
station() { # DIR
	local d=$1 fd pid line ts n=0
	mkdir -p "$d"
	for ((n = 0; n < REPS; n++)); do
		tb_card_create "$d/card.$n" "$(printf '00BC61%02X' "$n")" --applet piv >/dev/null
	done
	insert() {
		tb_swap 0 "$d/card.$1" --latency real --stats "$d/card.$1.stats" \
			--trace "$d/card.$1.trace" >/dev/null
		echo "$EPOCHREALTIME" >"$d/inserted.$1"
	}
	exec {fd}< <(exec env LC_ALL=C /usr/bin/time -f "%e %U %S" -o "$d/encode.time" \
		"$CS_BIN" encode --run 1 --reader "$(tb_reader 0)" --pin env:CS_PIN \
		--puk env:CS_PUK --operator bench --until-done 2>&1)
	pid=$!
	n=0
	: >"$d/encode.log"
	while IFS= read -r -u "$fd" line; do
		ts=$EPOCHREALTIME
		echo "$ts $line" >>"$d/encode.log"
		case $line in
		"[0] waiting: insert a card")
			[ "$n" -eq 0 ] && [ ! -e "$d/inserted.0" ] && insert 0 ;;
		"[0] step 3 of"*) echo "$ts" >"$d/write.$n" ;;
		"[0] step 4 of"*) echo "$ts" >"$d/check.$n" ;;
		"[0] DONE "*)
			echo "$ts" >"$d/done.$n"
			n=$((n + 1))
			[ "$n" -lt "$REPS" ] && insert "$n" ;;
		*FAILED*) echo "bench: $line" >&2 ;;
		esac
	done
	wait "$pid" || true
	exec {fd}<&-
	tb_remove 0 >/dev/null 2>&1 || true
	[ "$n" -eq "$REPS" ] || fail "only $n of $REPS tokens done (see $d/encode.log)"
}

# The administrator's script on one blank token: APDUs per command.
baseline() { # DIR K
	local d=$1 k=$2 serial pin s t0 t1 t2 a b
	serial=$(awk -F'\t' -v n=$((k + 2)) 'NR == n { print $1 }' "$OUTDIR/b/expect.tsv")
	pin=$(awk -F'\t' -v n=$((k + 2)) 'NR == n { print $8 }' "$OUTDIR/b/expect.tsv")
	unzip -p "$OUTDIR/b/clientAll.zip" "$serial.p12" >"$d/$k.p12"
	P12IN=$pin openssl pkcs12 -legacy -in "$d/$k.p12" -passin env:P12IN -nodes \
		-nocerts -out "$d/$k.key" 2>/dev/null || fail "openssl pkcs12 (key)"
	P12IN=$pin openssl pkcs12 -legacy -in "$d/$k.p12" -passin env:P12IN \
		-clcerts -nokeys -out "$d/$k.crt" 2>/dev/null || fail "openssl pkcs12 (cert)"
	tb_card_create "$d/card.$k" "$(printf '00BD61%02X' "$k")" --applet piv >/dev/null
	s=$d/card.$k.stats
	tb_swap 0 "$d/card.$k" --latency real --stats "$s" --trace "$d/card.$k.trace" >/dev/null
	R=$(tb_reader 0)
	yk() { # STEP ARGS...
		local step=$1 before
		shift
		before=$(apdus "$s")
		yubico-piv-tool -r "$R" "$@" >/dev/null 2>&1 </dev/null || fail "baseline $step"
		echo "$step $(($(apdus "$s") - before))" >>"$d/steps.$k"
	}
	: >"$d/steps.$k"
	t0=$EPOCHREALTIME
	yk import-key -a import-key -s 9a -i "$d/$k.key"
	yk import-certificate -a import-certificate -s 9a -i "$d/$k.crt"
	yk set-chuid -a set-chuid
	yk change-pin -a change-pin -P "$DEF_PIN" -N "$CS_PIN"
	yk change-puk -a change-puk -P "$DEF_PUK" -N "$CS_PUK"
	yk set-mgm-key -a set-mgm-key -n 0807060504030201080706050403020108070605040302AA
	t1=$EPOCHREALTIME
	a=$(apdus "$s") b=$(card_ms "$s")
	yk check -a verify-pin -P "$CS_PIN" -a test-signature -s 9a -i "$d/$k.crt"
	t2=$EPOCHREALTIME
	# APDUs, wall ms, card ms; then the same with the check
	echo "$a $(ms "$t0" "$t1") $b $(apdus "$s") $(ms "$t0" "$t2") $(card_ms "$s")" >"$d/result.$k"
}

# The station's APDUs of one card by phase (its trace, split at the step
# lines' times) and by instruction.
phases() { # TRACE INSERTED WRITE CHECK DONE
	awk -v t0="$2" -v tw="$3" -v tc="$4" -v td="$5" '
	$2 == ">" { p = ($1 < tw) ? 1 : ($1 < tc ? 2 : 3); n[p]++
		ins[p] = ins[p] " " substr($3, 3, 2) }
	END { name[1] = "probe+identity"; name[2] = "write"; name[3] = "check"
		ms[1] = tw - t0; ms[2] = tc - tw; ms[3] = td - tc
		for (p = 1; p <= 3; p++)
			printf "    %-15s %3d APDUs %6d ms  INS:%s\n", name[p], n[p],
			    ms[p] * 1000, ins[p] }' "$1"
}

: >"$REPORT"
say "# cardstation PIV bench, $(date -u +%FT%TZ), $(nproc) cores, OpenSC $(dpkg-query -W -f '${Version}' opensc 2>/dev/null), yubico-piv-tool $(dpkg-query -W -f '${Version}' yubico-piv-tool 2>/dev/null)"
say "# station: $CS_BIN"
rm -rf "$OUTDIR/st" "$OUTDIR/bl" "$OUTDIR/b"
mkdir -p "$OUTDIR/bl"
export CARDSTATION_JOURNAL=$OUTDIR/journal.db
rm -f "$CARDSTATION_JOURNAL"
"$UPKIGEN" --out "$OUTDIR/b" --people "$REPS" --seed 1 >/dev/null 2>&1 || fail "upkigen"
"$CS_BIN" run new "$OUTDIR/b/clientAll.zip" "$OUTDIR/b/clientAllPin.zip" \
	--institution "$INST" --operator bench >/dev/null || [ $? -eq 1 ] || fail "run new"
station "$OUTDIR/st"
for ((k = 0; k < REPS; k++)); do baseline "$OUTDIR/bl" "$k"; done
tb_remove 0 >/dev/null

d=$OUTDIR
for ((k = 0; k < REPS; k++)); do
	echo "$(apdus "$d/st/card.$k.stats") $(ms "$(cat "$d/st/inserted.$k")" "$(cat "$d/st/done.$k")") $(card_ms "$d/st/card.$k.stats")"
done >"$d/st/results"
col() { cut -d' ' -f"$1" "$2" | median; }
cat "$d"/bl/result.* >"$d/bl/results"
st_a=$(col 1 "$d/st/results") st_ms=$(col 2 "$d/st/results") st_card=$(col 3 "$d/st/results")
bl_a=$(col 1 "$d/bl/results") bl_ms=$(col 2 "$d/bl/results") bl_card=$(col 3 "$d/bl/results")
blc_a=$(col 4 "$d/bl/results") blc_ms=$(col 5 "$d/bl/results") blc_card=$(col 6 "$d/bl/results")
{
	echo "== Per PIV token, cardsim --latency real, $REPS tokens each side (medians) =="
	printf '%-34s %6s %8s %8s %7s %7s\n' side APDUs wall_ms card_ms "APDU x" "wall x"
	printf '%-34s %6s %8s %8s %7s %7s\n' "baseline (6 x yubico-piv-tool)" "$bl_a" "$bl_ms" "$bl_card" 1.00 1.00
	printf '%-34s %6s %8s %8s %7s %7s\n' "baseline + verify-pin, test-sig." "$blc_a" "$blc_ms" "$blc_card" \
		"$(ratio "$blc_a" "$bl_a")" "$(ratio "$blc_ms" "$bl_ms")"
	printf '%-34s %6s %8s %8s %7s %7s\n' "cardstation encode (checks)" "$st_a" "$st_ms" "$st_card" \
		"$(ratio "$st_a" "$bl_a")" "$(ratio "$st_ms" "$bl_ms")"
	printf '%-34s %6s %8s %8s %7s %7s\n' "  station vs baseline + check" "" "" "" \
		"$(ratio "$st_a" "$blc_a")" "$(ratio "$st_ms" "$blc_ms")"
	echo "baseline APDUs per command (token 0): $(tr '\n' ' ' <"$d/bl/steps.0")"
	echo "station, token 0, by phase (cardsim --trace, split at its step lines):"
	phases "$d/st/card.0.trace" "$(cat "$d/st/inserted.0")" "$(cat "$d/st/write.0")" \
		"$(cat "$d/st/check.0")" "$(cat "$d/st/done.0")"
	echo "station APDUs per token: $(cut -d' ' -f1 "$d/st/results" | tr '\n' ' ')" \
		" wall ms: $(cut -d' ' -f2 "$d/st/results" | tr '\n' ' ')"
	echo "(card_ms: the time cardsim's latency model charged, the card's share of the wall time)"
} | tee -a "$REPORT"
say "report: $REPORT"
