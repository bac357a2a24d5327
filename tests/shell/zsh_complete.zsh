# SPDX-License-Identifier: MIT
# zsh -f zsh_complete.zsh FPATH_DIR OUT_FILE "command line"
# Types the command line into an interactive zsh (on a pseudo-terminal, through zsh/zpty),
# presses a key bound to completion, and appends every word the completion system offers
# to OUT_FILE, one per line: compadd is wrapped to record its matches (compadd -O).
zmodload zsh/zpty || exit 1
local dir=$1 out=$2 line=$3 i
# wait_for FILE: up to 10 s.
wait_for() { for i in {1..100}; do [[ -e $1 ]] && return 0; sleep 0.1; done; return 1 }

zpty -b ksign_z zsh -f -i || exit 1
zpty -w ksign_z "PS1=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w ksign_z "compadd() { local -a m; builtin compadd -O m \"\$@\"; print -rl -- \$m >>${(q)out}; builtin compadd \"\$@\" }"
zpty -w ksign_z "zle -C ksign-complete complete-word _main_complete; bindkey '^X' ksign-complete"
# A second key, read only after the completion is over (zle handles keys in order), says done.
zpty -w ksign_z "ksign-done() { BUFFER=; : >${(q)out}.done }; zle -N ksign-done; bindkey '^Y' ksign-done"
zpty -w ksign_z ": >${(q)out}.ready"
wait_for $out.ready || { print -u2 "zsh did not start"; zpty -d ksign_z; exit 1 }
: >>$out
zpty -n -w ksign_z "$line"$'\x18\x19'
wait_for $out.done || { print -u2 "zsh did not finish completing '$line'"; zpty -d ksign_z; exit 1 }
zpty -d ksign_z
rm -f $out.ready $out.done
