# Sourced: finding English sentences in what an operator reads.
# An English sentence: three English words in a row, in what is left once
# codes (wrong-pin, card.pulled), options (--profiles), paths, serials,
# mail addresses and the names of programs and standards are taken out.
english() {
	sed -E -e 's#[^ ]*/[^ ]*##g' -e 's/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+//g' \
		-e 's/--?[a-z][a-z0-9-]*//g' -e 's/\b[a-z0-9]+([.-][a-z0-9]+)+\b//g' \
		-e 's/(OpenSSL|OpenSC|PKCS#(12|15)|UPKI|P12|PIN|PUK|CA|ATR|PC\/SC)//g' |
		grep -oE '[A-Za-z]{2,}( [A-Za-z]{2,}){2,}' | head -n 3 || true
}

no_english() { # text label
	local e
	e=$(english <<<"$1")
	[ -z "$e" ] || fail "$2 has English sentences: $e"$'\n'"$1"
}

# The detector itself finds an English sentence.
[ -n "$(english <<<"the card is set aside as partial")" ] ||
	fail "the English detector finds nothing"
