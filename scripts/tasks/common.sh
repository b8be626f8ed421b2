# Shared by scripts/tasks/{sentiment,pos,kjv_qa}.sh (sourced, not run).
# ZY: the zhuyi binary (default build/zhuyi). RUNS: where runs go (default build/runs).
ZY=${ZY:-build/zhuyi}
RUNS=${RUNS:-build/runs}
PY=/usr/bin/python3

# has_command CMD: does this zhuyi build have `zhuyi CMD`? (An unknown command exits 2
# with "unknown command"; a built one prints its help and exits 0.)
has_command() {
    "$ZY" "$1" --help >/dev/null 2>&1
}

# need_finetune: say clearly, and stop the script (status 3), when the fine-tuning
# commands of issue 11 are not in this build yet. Everything before (data, baseline)
# has run by then.
need_finetune() {
    missing=""
    for c in finetune evaluate predict; do
        has_command "$c" || missing="$missing zhuyi $c,"
    done
    if [ -n "$missing" ]; then
        echo "scripts/tasks: not built yet:${missing%,} (issue 11); the data and the baseline above" >&2
        echo "scripts/tasks: are ready; the commands this script will run once it exists:" >&2
        return 1
    fi
    return 0
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

# pretrained_ok DIR: a finished pretraining run in DIR (its model written, and no
# DIR.running marker of scripts/tasks/pretrain_sentiment.sh: a run still going saves
# intermediate models into DIR). Stops the script when the run is still going.
pretrained_ok() {
    if [ -e "$1.running" ]; then
        echo "scripts/tasks: the pretraining run $1 is still going ($(cat "$1.running")); log: $1.log" >&2
        echo "scripts/tasks: wait for it (or remove $1.running if it died, then resume it:" >&2
        echo "scripts/tasks:   $ZY pretrain bert --out $1 --resume)" >&2
        exit 1
    fi
    [ -s "$1/model.safetensors" ] && [ -s "$1/config.json" ]
}
