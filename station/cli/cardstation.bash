# bash completion for cardstation(1): subcommands, their options and the
# readers PC/SC sees. The options are read from `cardstation COMMAND --help`
# (what the man pages are checked against), so this file names none itself.

_cardstation_readers()
{
	local r cur=$1
	while IFS= read -r r; do
		[[ $r == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$r")")
	done < <("$2" --complete readers 2>/dev/null)
}

_cardstation()
{
	local cur prev words cword
	_init_completion || return
	local prog=${words[0]} cmd=${words[1]-}

	if ((cword == 1)); then
		local cmds
		cmds=$("$prog" --help 2>/dev/null | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
		COMPREPLY=($(compgen -W "$cmds --help --version" -- "$cur"))
		return
	fi
	case $prev in
	--reader)
		_cardstation_readers "$cur" "$prog"
		return ;;
	--pin | --puk | --new-pin)
		COMPREPLY=($(compgen -W "env: prompt" -- "$cur"))
		[[ ${COMPREPLY[0]-} == env: ]] && compopt -o nospace
		return ;;
	--mode)
		COMPREPLY=($(compgen -W "queue pairing" -- "$cur"))
		return ;;
	--profiles | --www | --import-root | --pam-confdir)
		_filedir -d
		return ;;
	--journal | --ca | --out | --pairing | --key-file)
		_filedir
		return ;;
	--institution | --operator | --profile | --run | --holder | --mail | \
	--serial | --chip | --printed | --admin-mail | --reason | --comment | \
	--listen | --idle | --key-fd | --pam-service | --role-groups | --soon | \
	--skip | --max-entries | --max-bytes | --max-ratio)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$prog" "$cmd" --help 2>/dev/null |
			grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)" -- "$cur"))
		return
	fi
	# The word after run, log and card names what to do.
	if ((cword == 2)); then
		case $cmd in
		run) COMPREPLY=($(compgen -W "new list status" -- "$cur")); return ;;
		log) COMPREPLY=($(compgen -W "check handovers" -- "$cur")); return ;;
		card) COMPREPLY=($(compgen -W "lost returned pin-reset" -- "$cur")); return ;;
		esac
	fi
	case $cmd in
	inspect | run) _filedir zip ;;
	esac
} && complete -F _cardstation cardstation
