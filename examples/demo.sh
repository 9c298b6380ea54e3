#!/bin/sh
# `make demo`: the example prompts (with dependencies, a shared file and a deliberate failure)
# run through the built-in simulated agent, four at a time, in a throw-away git repository.
#
# On a terminal the coordinator runs in the background (its log in ROOT/run.log) while
# `gadugi watch` shows it live; without one (CI) the coordinator runs in the foreground and
# prints its progress. Either way it then shows the final table, the branches, `gadugi review`
# and where to look next, and exits 0 when flaky-test is the only task that failed (it fails
# on purpose: its line `simulate: fail`). Anything else fails the demo.
#
# Usage: examples/demo.sh [GADUGI_BINARY] [DEMO_ROOT]   (run from the repository's top level)
set -eu

bin=${1:-.build/debug/gadugi}
root=${2:-.build/demo}
prompts=examples/prompts

rm -rf "$root" && mkdir -p "$root"
git -C "$root" init -q
printf '# demo project\n' > "$root/README.md"
git -C "$root" add README.md
git -C "$root" -c user.name=gadugi-demo -c user.email=demo@gadugi.invalid commit -qm "demo project"

echo "\$ gadugi plan $prompts/*"
"$bin" plan --root "$root" "$prompts"/*
echo

# Whether anything of the run is in the queue yet (it queues its files once it holds the spool).
queued() {
    for folder in incoming claimed running done failed; do
        [ -n "$(ls -A "$root/.gadugi/queue/$folder" 2>/dev/null)" ] && return 0
    done
    return 1
}

status=0
if [ -t 1 ] && [ "${TERM:-dumb}" != dumb ]; then
    # Slow enough to watch: each simulated task takes 4 steps of this many seconds.
    GADUGI_SIMULATE_STEP=${GADUGI_SIMULATE_STEP:-1}
    export GADUGI_SIMULATE_STEP
    echo "\$ gadugi run --agent gadugi:simulate --max-parallel 4 $prompts/*   (in the background; log: $root/run.log)"
    # In the background of a script it ignores SIGINT (as every background job of sh does), so
    # Ctrl-C stops the live view and the demo; the coordinator is then stopped with SIGTERM.
    "$bin" run --root "$root" --agent gadugi:simulate --max-parallel 4 "$prompts"/* > "$root/run.out" 2> "$root/run.log" &
    run_pid=$!
    interrupted=0
    trap 'interrupted=1' INT
    while kill -0 "$run_pid" 2>/dev/null && ! queued; do sleep 0.1; done
    echo "\$ gadugi watch --all --until-idle"
    "$bin" watch --root "$root" --all --until-idle || true
    if [ "$interrupted" = 1 ]; then
        kill -TERM "$run_pid" 2>/dev/null || true
        wait "$run_pid" || true
        echo "demo interrupted; what was done is in $root/.gadugi"
        exit 130
    fi
    trap - INT
    wait "$run_pid" || status=$?
    echo
    cat "$root/run.out"
else
    echo "\$ gadugi run --agent gadugi:simulate --max-parallel 4 $prompts/*"
    "$bin" run --root "$root" --agent gadugi:simulate --max-parallel 4 "$prompts"/* || status=$?
fi

# `gadugi run` exits 1 because flaky-test failed; accept exactly that.
failed=$(ls "$root/.gadugi/queue/failed")
if [ "$status" -ne 1 ] || [ "$failed" != flaky-test.md ]; then
    echo "demo failed: gadugi run exited $status (expected 1) with these failed: ${failed:-none} (expected flaky-test.md)" >&2
    [ -f "$root/run.log" ] && tail -20 "$root/run.log" >&2
    exit 1
fi

echo
echo "\$ gadugi status --all"
"$bin" status --root "$root" --all
echo
echo "\$ git log --oneline --graph --all   (each task's branch gadugi/<id>, in the demo repository)"
git -C "$root" log --oneline --graph --all | head -30
echo
echo "\$ gadugi review"
"$bin" review --root "$root"
echo
echo "Where to look next (the demo's spool is in $root/.gadugi):"
next() { printf '  %-56s %s\n' "$1" "$2"; }
next "$bin status --root $root --all" "the table again (--json for scripts)"
next "$bin watch --root $root --all" "the live view (q quits)"
next "$bin logs --root $root flaky-test" "a task's log: why flaky-test failed"
next "$root/.gadugi/monitoring/tasks/fix-login/" "a task's files: progress.json, output.log (spool-layout.md)"
next "$bin merge --root $root --done" "merge the branches that succeeded into the demo's branch"
