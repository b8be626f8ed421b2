# Shared by scripts/tasks/{sentiment,pos,kjv_qa,kjv_modern}.sh and bench/lora_step.sh
# (sourced, not run).
# ZY: the zhuyi binary (default build/zhuyi). RUNS: where runs go (default build/runs).
ZY=${ZY:-build/zhuyi}
RUNS=${RUNS:-build/runs}
PY=/usr/bin/python3

# has_command "CMD [SUBCMD]": does this zhuyi build have `zhuyi CMD [SUBCMD]`? (An unknown
# command or kind exits non-zero with "unknown ..."; a built one prints its help and
# exits 0.)
has_command() {
    # shellcheck disable=SC2086 # "finetune lm" is two words on purpose
    "$ZY" $1 --help >/dev/null 2>&1
}

# has_flag "CMD [SUBCMD]" FLAG: does `zhuyi CMD [SUBCMD] --help` name FLAG?
has_flag() {
    # shellcheck disable=SC2086
    "$ZY" $1 --help 2>/dev/null | grep -q -e "$2\b"
}

# need_commands WHAT ITEM...: say clearly, and return 1, when a command or flag this
# script needs is not in this build yet. ITEM is "CMD [SUBCMD]" or "CMD [SUBCMD]:FLAG"
# (the command must have FLAG). WHAT names the issue it waits for. Everything before
# (data, baseline) has run by then; the caller sets FT_MISSING=1 so show_or_run prints
# the commands instead of running them, and exits 3 at the end.
need_commands() {
    what=$1
    shift
    missing=""
    for item in "$@"; do
        c=${item%%:*}
        if ! has_command "$c"; then
            missing="$missing zhuyi $c,"
        elif [ "$c" != "$item" ] && ! has_flag "$c" "${item#*:}"; then
            missing="$missing zhuyi $c ${item#*:},"
        fi
    done
    if [ -n "$missing" ]; then
        echo "scripts/tasks: not built yet:${missing%,} ($what); what ran above is" >&2
        echo "scripts/tasks: ready; the commands this script will run once they exist:" >&2
        return 1
    fi
    return 0
}

# need_finetune: need_commands for the fine-tuning commands of issue 11.
need_finetune() {
    need_commands "issue 11" finetune evaluate predict
}

# show_or_run CMD...: run the command, or only print it when fine-tuning is missing.
show_or_run() {
    if [ "${FT_MISSING:-0}" = 1 ]; then
        echo "    $*" >&2
    else
        echo "+ $*"
        "$@"
    fi
}

# pretrained_ok DIR [KIND]: a finished pretraining run in DIR (its model written, and no
# DIR.running marker of scripts/tasks/pretrain_*.sh: a run still going saves
# intermediate models into DIR). Stops the script when the run is still going. KIND
# (bert, the default, or gpt) is only for the message.
pretrained_ok() {
    if [ -e "$1.running" ]; then
        echo "scripts/tasks: the pretraining run $1 is still going ($(cat "$1.running")); log: $1.log" >&2
        echo "scripts/tasks: wait for it (or remove $1.running if it died, then resume it:" >&2
        echo "scripts/tasks:   $ZY pretrain ${2:-bert} --out $1 --resume)" >&2
        exit 1
    fi
    [ -s "$1/model.safetensors" ] && [ -s "$1/config.json" ]
}

# best_val_accuracy DIR: "EPOCH ACCURACY" of the best val_accuracy in a finetune run's
# DIR/metrics.jsonl (the first, if tied; evaluations are once an epoch).
best_val_accuracy() {
    sed -n 's/.*"val_accuracy":\([0-9.e+-]*\).*/\1/p' "$1/metrics.jsonl" |
        awk '$1 > best { best = $1; at = NR } END { print at, best }'
}
