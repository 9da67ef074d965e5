# bash completion for helios-agent. The candidates come from the binary
# itself (`helios-agent help complete WORD...`, from the same tables as its
# parser and help): objects, commands, keywords, option values, device
# names, and the services and nodes pinned under --bpffs.
_helios_agent()
{
	local cur line cands i w skip=0
	local -a all words globals

	# The words before the one being completed, split on blanks only (a
	# service VIP:PORT/PROTO holds a colon); global options set apart.
	line=${COMP_LINE:0:COMP_POINT}
	read -r -a all <<<"$line"
	if [[ $line =~ [[:blank:]]$ ]]; then
		cur=
	else
		cur=${all[-1]}
		unset 'all[-1]'
	fi
	for ((i = 1; i < ${#all[@]}; i++)); do
		w=${all[i]}
		if ((skip)); then
			globals+=("$w")
			skip=0
		elif [[ $w == --bpffs ]]; then
			globals+=("$w")
			skip=1
		elif [[ $w != -* ]]; then
			words+=("$w")
		fi
	done
	if ((skip)); then
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W '--json --pretty --verbose --bpffs --version --help' -- "$cur")
		return
	fi

	cands=$("${all[0]:-helios-agent}" "${globals[@]}" help complete "${words[@]}" 2>/dev/null)
	if [[ $cands == @files ]]; then
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	else
		mapfile -t COMPREPLY < <(compgen -W "$cands" -- "$cur")
	fi
	# Readline replaces only the part after the last ':' (COMP_WORDBREAKS).
	if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local pfx=${cur%"${cur##*:}"}
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$pfx"}
		done
	fi
} &&
complete -F _helios_agent helios-agent
