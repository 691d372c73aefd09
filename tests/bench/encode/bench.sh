#!/bin/bash
# bench.sh - `cardstation encode` against the administrator's pkcs15-init
# script, on cardsim cards with the latency of a real card (issue 4, item 8).
# Runs inside the test bench with 8 readers:
#
#   tests/testbed/testbed --readers 8 -- tests/bench/encode/bench.sh
#
# Part 1, per card (one reader; BENCH_REPS cards each side, one side after the other, on
# identical blank cards with the same people's keys):
#   station   `cardstation encode` writes one blank card: from the moment
#             PC/SC sees the card to the DONE line (its own probe, the
#             pkcs15-init write, the PKCS#11 read-back and signature check,
#             the journal);
#   baseline  DESIGN.md's three pkcs15-init commands, default opensc.conf;
#   +sign     the baseline plus `pkcs11-tool --login --sign`.
#   APDUs from cardsim --stats; the station's APDUs grouped by phase from
#   cardsim --trace, split at the station's own "step 3 of" (writing: its
#   PUK, then pkcs15-init) and "step 4 of" (checking) lines, timed as they
#   arrive. (pkcs15-init runs by the absolute path the build found, so a
#   shim on PATH no longer sees it.)
# Part 2, cards per hour with 1, 2, 4, 8 readers: one encode process, each
#   reader fed a fresh blank card as soon as it says DONE, BENCH_PER_READER
#   cards per reader; CPU of the station (with its pkcs15-init children),
#   of pcscd and of the whole machine next to the wall time.
#
# A benchmark, never a timed test: it fails only if a card is not written.
# Environment: CS_BIN, UPKIGEN, CS_SRC (ctest sets them), BENCH_REPS (5),
# BENCH_PER_READER (4), BENCH_READERS ("1 2 4 8"), BENCH_WORK (report dir).
set -euo pipefail
: "${CS_BIN:?}" "${UPKIGEN:?}" "${CS_SRC:?}"
# WORK, PIN, PUK, P11, fail, cs_personalise: the cardsim benches' steps.
source "$CS_SRC/tests/e2e/cardsim/lib.sh"

REPS=${BENCH_REPS:-5}
PER_READER=${BENCH_PER_READER:-4}
READER_COUNTS=${BENCH_READERS:-1 2 4 8}
OUTDIR=${BENCH_WORK:-$(mktemp -d /tmp/cs-bench-encode.XXXXXX)}
REPORT=$OUTDIR/report.txt
INST="National Institute of Informatics, Academe Campus"
export CARDSTATION_PROFILES=${CARDSTATION_PROFILES:-$CS_SRC/cardprofiles}
export CS_PIN=$PIN CS_PUK=$PUK
unset OPENSC_CONF # the baseline runs with the default opensc.conf
mkdir -p "$OUTDIR"
if ldd "$CS_BIN" 2>/dev/null | grep -q libasan; then
	echo "bench: WARNING: $CS_BIN is built with ASan; figures mean little" >&2
fi

say() { echo "$*" | tee -a "$REPORT"; }
apdus() { sed -E 's/.*"apdus": ([0-9]+).*/\1/' "$1"; }
# the time cardsim's latency model charged so far (ms): the card's share
card_ms() { sed -E 's/.*"model_ms": ([0-9.]+).*/\1/' "$1" | awk '{ printf "%d", $1 }'; }
ms() { echo "$1 $2" | awk '{ printf "%d", ($2 - $1) * 1000 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
# busy and total jiffies of the whole machine (/proc/stat)
cpu_now() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
# user + system seconds of a live process
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# A bundle of N people and a run over it in a fresh journal ($1 dir).
new_run() { # DIR N
	mkdir -p "$1"
	export CARDSTATION_JOURNAL=$1/journal.db
	"$UPKIGEN" --out "$1/b" --people "$2" --seed 1 >/dev/null 2>&1 ||
		fail "upkigen"
	"$CS_BIN" run new "$1/b/clientAll.zip" "$1/b/clientAllPin.zip" \
		--institution "$INST" --operator bench >/dev/null || [ $? -eq 1 ] ||
		fail "run new"
}

# feed DIR READERS PER_READER [CARDSIM ARGS]: run `cardstation encode
# --until-done` on slots 0..READERS-1 and put a fresh blank card into a
# slot whenever its reader says DONE. Every station line is logged with its
# time in DIR/encode.log; DIR/inserted.SLOT.N holds when PC/SC saw card N
# of SLOT. Slots count from FEED_FIRST (default 0). With one reader the
# swap is done in the foreground (per-card timing); with more, in the
# background so no reader waits for another.
feed() {
	local dir=$1 nr=$2 per=$3 i n line ts slot fd pid waiting=0 total=0
	local first=${FEED_FIRST:-0}
	shift 3
	local -a done_n args=() bg=()
	for ((i = 0; i < nr; i++)); do
		done_n[i]=0
		args+=(--reader "$(tb_reader $((first + i)))")
		for ((n = 0; n < per; n++)); do
			tb_card_create "$dir/card.$i.$n" "$(printf '%02X%02X' $((nr * 16 + i)) "$n")" >/dev/null
		done
	done
	insert() { # SLOT N
		local extra=()
		[ -z "${STATS_DIR:-}" ] || extra=(--stats "$STATS_DIR/card.$1.$2.stats"
			--trace "$STATS_DIR/card.$1.$2.trace")
		tb_swap $((first + $1)) "$dir/card.$1.$2" "${CARDSIM_ARGS[@]}" "${extra[@]}" >/dev/null
		echo "$EPOCHREALTIME" >"$dir/inserted.$1.$2"
	}
	CARDSIM_ARGS=("$@")
	exec {fd}< <(exec env LC_ALL=C /usr/bin/time -f "%e %U %S" -o "$dir/encode.time" \
		"$CS_BIN" encode --run 1 --pin env:CS_PIN --puk env:CS_PUK \
		--operator bench --until-done "${args[@]}" 2>&1)
	pid=$!
	: >"$dir/encode.log"
	while IFS= read -r -u "$fd" line; do
		ts=$EPOCHREALTIME
		echo "$ts $line" >>"$dir/encode.log"
		case $line in
		"["*"] waiting: insert a card")
			waiting=$((waiting + 1))
			[ "$waiting" -eq "$nr" ] || continue
			# every reader is ready: the clock starts with the cards
			cpu_now >"$dir/cpu.start"
			proc_cpu "$(cat "$TB_DIR/pcscd.pid")" >"$dir/pcscd.start"
			echo "$EPOCHREALTIME" >"$dir/t0"
			for ((i = 0; i < nr; i++)); do
				if [ "$nr" -eq 1 ]; then insert "$i" 0; else insert "$i" 0 & bg+=($!); fi
			done ;;
		"["*"] DONE "*)
			slot=${line#[}; slot=${slot%%]*}
			echo "$ts" >"$dir/done.$slot.${done_n[slot]}"
			done_n[slot]=$((done_n[slot] + 1))
			total=$((total + 1))
			if [ "${done_n[slot]}" -lt "$per" ]; then
				if [ "$nr" -eq 1 ]; then insert "$slot" "${done_n[slot]}"
				else insert "$slot" "${done_n[slot]}" & bg+=($!); fi
			fi ;;
		*FAILED*)
			echo "bench: $line" >&2 ;;
		esac
	done
	cpu_now >"$dir/cpu.end"
	proc_cpu "$(cat "$TB_DIR/pcscd.pid")" >"$dir/pcscd.end"
	wait "$pid" || true
	exec {fd}<&-
	# the background swaps (a plain wait would wait for the cards too)
	[ "${#bg[@]}" -eq 0 ] || wait "${bg[@]}" || true
	for ((i = 0; i < nr; i++)); do tb_remove $((first + i)) >/dev/null 2>&1 || true; done
	[ "$total" -eq $((nr * per)) ] ||
		fail "only $total of $((nr * per)) cards done (see $dir/encode.log)"
}

# The station's APDUs of one card by phase, from its trace and its step
# lines: before writing (probe), writing (the PUK, pkcs15-init), after it
# (the PKCS#11 check, the journal). Phase time: card seen -> writing starts
# -> checking starts -> DONE.
phases() { # TRACE MARKS INSERTED DONE
	awk -v marks="$2" -v t0="$3" -v t3="$4" '
	BEGIN { while ((getline l < marks) > 0) { split(l, f, " ");
		if (f[1] == "start") s = f[2]; else e = f[2] } }
	$2 == ">" { p = ($1 < s) ? 1 : ($1 <= e ? 2 : 3);
		n[p]++; ins[p, substr($3, 3, 2)]++ }
	END { name[1] = "station probe"; name[2] = "PUK+pkcs15-init"
		name[3] = "PKCS#11 check"; ms[1] = s - t0; ms[2] = e - s; ms[3] = t3 - e
		for (p = 1; p <= 3; p++)
			printf "    %-18s %4d APDUs %6d ms  (SELECT %d, READ BINARY %d, " \
			    "UPDATE BINARY %d, VERIFY %d)\n", name[p], n[p], ms[p] * 1000,
			    ins[p, "A4"], ins[p, "B0"], ins[p, "D6"], ins[p, "20"] }' "$1"
}

# OpenSC's default opensc.conf gives PKCS#11 16 virtual slots, 4 per reader:
# pkcs11-tool sees only 4 of the bench's 8 readers. The per-card part uses
# one it sees (the station, with its own view of one reader, sees all).
p11_visible_slot() {
	local list i
	list=$(pkcs11-tool --module "$P11" -L 2>/dev/null)
	for ((i = 0; i < TB_READERS; i++)); do
		grep -qF "$(tb_reader "$i")" <<<"$list" && { echo "$i"; return; }
	done
	fail "pkcs11-tool sees none of the bench's readers"
}

per_card() {
	local d=$OUTDIR/percard k serial pin p12 s t0 t1 t2 a1 a2 a3 m3
	rm -rf "$d"; mkdir -p "$d/st" "$d/bl"
	new_run "$d" "$REPS"
	# The station: one process, REPS cards in turn in reader 0.
	STATS_DIR=$d/st FEED_FIRST=$PC_SLOT feed "$d/st" 1 "$REPS" --latency real
	# Where its pkcs15-init starts and ends, per card: the k-th "writing"
	# step line (just before it) and the k-th "checking" line (just after).
	for ((k = 0; k < REPS; k++)); do
		awk -v k=$((k + 1)) '
			/\] step 3 of / && ++w == k { print "start", $1 }
			/\] step 4 of / && ++c == k { print "end", $1 }' \
			"$d/st/encode.log" >"$d/st/marks.$k"
		[ "$(wc -l <"$d/st/marks.$k")" -eq 2 ] ||
			fail "no write/check step lines for card $k (see $d/st/encode.log)"
	done
	# The baseline: the same people's keys and certificates, as PKCS#12
	# with key and own certificate only (the station leaves the CA off the
	# card too), re-wrapped with AES for OpenSSL 3 as an administrator would.
	for ((k = 0; k < REPS; k++)); do
		serial=$(awk -F'\t' -v n=$((k + 2)) 'NR == n { print $1 }' "$d/b/expect.tsv")
		pin=$(awk -F'\t' -v n=$((k + 2)) 'NR == n { print $8 }' "$d/b/expect.tsv")
		unzip -p "$d/b/clientAll.zip" "$serial.p12" >"$d/bl/$k.in.p12"
		P12IN=$pin openssl pkcs12 -legacy -in "$d/bl/$k.in.p12" -passin env:P12IN \
			-nodes -clcerts -out "$d/bl/$k.pem" || fail "openssl pkcs12 (read)"
		openssl pkcs12 -export -in "$d/bl/$k.pem" -passout pass:p12pass \
			-out "$d/bl/$k.p12" || fail "openssl pkcs12 -export"
		rm -f "$d/bl/$k.pem"
		tb_card_create "$d/bl/card.$k" "$(printf 'B0%02X' "$k")" >/dev/null
		s=$d/bl/card.$k.stats
		tb_swap "$PC_SLOT" "$d/bl/card.$k" --latency real --stats "$s" \
			--trace "$d/bl/card.$k.trace" >/dev/null
		R=$(tb_reader "$PC_SLOT")
		head -c 64 /dev/urandom >"$d/bl/challenge"
		t0=$EPOCHREALTIME
		/usr/bin/time -a -o "$d/bl/time.$k" -f "%U %S" \
			pkcs15-init -r "$R" --create-pkcs15 --no-so-pin >/dev/null 2>&1 ||
			fail "baseline create-pkcs15"
		a1=$(apdus "$s")
		/usr/bin/time -a -o "$d/bl/time.$k" -f "%U %S" \
			pkcs15-init -r "$R" --store-pin --auth-id 01 --pin "$PIN" \
			--puk "$PUK" --label User >/dev/null 2>&1 || fail "baseline store-pin"
		a2=$(apdus "$s")
		/usr/bin/time -a -o "$d/bl/time.$k" -f "%U %S" \
			pkcs15-init -r "$R" --store-private-key "$d/bl/$k.p12" \
			--format pkcs12 --passphrase p12pass --auth-id 01 --pin "$PIN" \
			>/dev/null 2>&1 || fail "baseline store-private-key"
		t1=$EPOCHREALTIME
		a3=$(apdus "$s") m3=$(card_ms "$s")
		/usr/bin/time -a -o "$d/bl/time.$k" -f "%U %S" \
			pkcs11-tool --module "$P11" --slot-description "$R" --login \
			--pin env:CS_PIN --sign -m SHA256-RSA-PKCS -i "$d/bl/challenge" \
			-o "$d/bl/sig" >/dev/null 2>&1 || fail "baseline sign"
		t2=$EPOCHREALTIME
		echo "$a1 $((a2 - a1)) $((a3 - a2)) $(($(apdus "$s") - a3)) $(ms "$t0" "$t1") $(ms "$t0" "$t2") $m3 $(card_ms "$s")" \
			>"$d/bl/result.$k"
	done
	tb_remove "$PC_SLOT" >/dev/null

	say "== Per card, latency real, $REPS cards each (medians) =="
	local st_a st_ms st_card bl_card bls_card bl_a bls_a bl_ms bls_ms st_cpu bl_cpu bls_cpu
	for ((k = 0; k < REPS; k++)); do
		echo "$(apdus "$d/st/card.0.$k.stats") $(card_ms "$d/st/card.0.$k.stats") $(ms "$(cat "$d/st/inserted.0.$k")" "$(cat "$d/st/done.0.$k")")"
	done >"$d/st/results"
	st_a=$(cut -d' ' -f1 "$d/st/results" | median)
	st_ms=$(cut -d' ' -f3 "$d/st/results" | median)
	st_card=$(cut -d' ' -f2 "$d/st/results" | median)
	bl_card=$(cat "$d"/bl/result.* | cut -d' ' -f7 | median)
	bls_card=$(cat "$d"/bl/result.* | cut -d' ' -f8 | median)
	bl_a=$(for k in $(seq 0 $((REPS - 1))); do awk '{ print $1 + $2 + $3 }' "$d/bl/result.$k"; done | median)
	bls_a=$(for k in $(seq 0 $((REPS - 1))); do awk '{ print $1 + $2 + $3 + $4 }' "$d/bl/result.$k"; done | median)
	bl_ms=$(cat "$d"/bl/result.* | cut -d' ' -f5 | median)
	bls_ms=$(cat "$d"/bl/result.* | cut -d' ' -f6 | median)
	# CPU: the encode process and its pkcs15-init children, per card; the
	# baseline's commands, per card.
	st_cpu=$(awk -v n="$REPS" '{ printf "%.2f", ($2 + $3) / n }' "$d/st/encode.time")
	bl_cpu=$(cat "$d"/bl/time.* | awk -v n="$REPS" 'NR % 4 != 0 { c += $1 + $2 } END { printf "%.2f", c / n }')
	bls_cpu=$(cat "$d"/bl/time.* | awk -v n="$REPS" '{ c += $1 + $2 } END { printf "%.2f", c / n }')
	{
		printf '%-31s %6s %8s %8s %6s %7s %7s\n' side APDUs wall_ms card_ms cpu_s "APDU x" "wall x"
		printf '%-31s %6s %8s %8s %6s %7s %7s\n' "baseline (3 x pkcs15-init)" "$bl_a" "$bl_ms" "$bl_card" "$bl_cpu" 1.00 1.00
		printf '%-31s %6s %8s %8s %6s %7s %7s\n' "baseline + pkcs11-tool sign" "$bls_a" "$bls_ms" "$bls_card" "$bls_cpu" \
			"$(ratio "$bls_a" "$bl_a")" "$(ratio "$bls_ms" "$bl_ms")"
		printf '%-31s %6s %8s %8s %6s %7s %7s\n' "cardstation encode (verifies)" "$st_a" "$st_ms" "$st_card" "$st_cpu" \
			"$(ratio "$st_a" "$bl_a")" "$(ratio "$st_ms" "$bl_ms")"
		printf '%-31s %6s %8s %8s %6s %7s %7s\n' "  station vs baseline + sign" "" "" "" "" \
			"$(ratio "$st_a" "$bls_a")" "$(ratio "$st_ms" "$bls_ms")"
		echo "baseline APDUs per step (card 0): create-pkcs15, store-pin, store-private-key, sign:" \
			"$(cut -d' ' -f1-4 "$d/bl/result.0")"
		echo "station, card 0, by phase (cardsim --trace, split at its writing and checking steps):"
		phases "$d/st/card.0.0.trace" "$d/st/marks.0" "$(cat "$d/st/inserted.0.0")" \
			"$(cat "$d/st/done.0.0")"
		echo "station APDUs per card: $(cut -d' ' -f1 "$d/st/results" | tr '\n' ' ')" \
			" wall ms: $(cut -d' ' -f3 "$d/st/results" | tr '\n' ' ')"
		echo "(card_ms: time cardsim's latency model charged, the card's share of the wall time;" \
			"cpu_s: user+sys per card, the station's includes its pkcs15-init child)"
	} | tee -a "$REPORT"
}

throughput() {
	local nr d t0 t1 secs cph base="" cpu0 cpu1 p0 p1
	say ""
	say "== Cards per hour, latency real, $PER_READER cards per reader =="
	printf '%-8s %6s %8s %10s %7s %12s %9s %11s\n' readers cards wall_s cards/h "x 1" \
		"station cpu" "pcscd cpu" "machine cpu" | tee -a "$REPORT"
	for nr in $READER_COUNTS; do
		[ "$nr" -le "$TB_READERS" ] || { say "skip $nr readers (bench has $TB_READERS)"; continue; }
		d=$OUTDIR/r$nr
		rm -rf "$d"
		new_run "$d" $((nr * PER_READER))
		STATS_DIR= feed "$d" "$nr" "$PER_READER" --latency real
		t0=$(cat "$d/t0")
		t1=$(cat "$d"/done.* | sort -g | tail -1)
		secs=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
		cph=$(echo "$nr $PER_READER $t0 $t1" | awk '{ printf "%d", $1 * $2 * 3600 / ($4 - $3) }')
		[ -n "$base" ] || base=$cph
		read -r cpu0 tot0 <"$d/cpu.start"; read -r cpu1 tot1 <"$d/cpu.end"
		p0=$(cat "$d/pcscd.start"); p1=$(cat "$d/pcscd.end")
		printf '%-8s %6s %8s %10s %7s %12s %9s %11s\n' "$nr" $((nr * PER_READER)) "$secs" "$cph" \
			"$(ratio "$cph" "$base")" \
			"$(awk '{ printf "%.1fs", $2 + $3 }' "$d/encode.time")" \
			"$(echo "$p0 $p1" | awk '{ printf "%.1fs", $2 - $1 }')" \
			"$(echo "$cpu0 $cpu1 $tot0 $tot1" | awk '{ printf "%d%%", 100 * ($2 - $1) / ($4 - $3) }')" |
			tee -a "$REPORT"
	done
	say "(station cpu: user+sys of cardstation encode and its pkcs15-init children;"
	say " machine cpu: busy share of all $(nproc) cores from /proc/stat while cards were written)"
}

: >"$REPORT"
say "# cardstation encode bench, $(date -u +%FT%TZ), $(nproc) cores, OpenSC $(dpkg-query -W -f '${Version}' opensc 2>/dev/null)"
say "# station: $CS_BIN"
PC_SLOT=$(p11_visible_slot)
per_card
throughput
say "report: $REPORT"
