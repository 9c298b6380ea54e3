#!/bin/sh
# wait-and-report.sh [ROOT]
#
# Waits until the spool under ROOT has no task left to run, then prints the tasks that did not
# succeed (failed, timeout, cancelled, and blocked: those that can no longer run unless retried),
# one line each with how they ended and the path of their log.
#
#   examples/shell/wait-and-report.sh            # ROOT: $GADUGI_ROOT, else the git top-level, else .
#   examples/shell/wait-and-report.sh ~/shop && echo "all good"
#
# Exit status: 0 when no task failed, 1 when one did, 2 when ROOT holds no spool.
#
# It reads only the spool's files (spool-layout.md): the queue folders and, with jq,
# .gadugi/monitoring/tasks/<id>/progress.json. "Not finished" means a prompt in queue/incoming/,
# queue/running/, or queue/claimed/ unless its progress.json says "blocked". It waits on inotify
# (inotifywait, from inotify-tools) when installed, else polls once a second. A coordinator must be
# running (or start later) for queued tasks to finish; this script never starts one. It reports
# every failed and cancelled task the spool holds, older runs' too: `gadugi retry` or
# `gadugi clean` them, or use a fresh spool per batch.
#
# Needs: POSIX sh, jq. Optional: inotifywait.
set -eu

root=${1:-${GADUGI_ROOT:-$(git rev-parse --show-toplevel 2>/dev/null || pwd)}}
queue=$root/.gadugi/queue
tasks=$root/.gadugi/monitoring/tasks
if [ ! -d "$queue" ]; then
    echo "wait-and-report: no spool in $root (no .gadugi/queue); run 'gadugi init' or pass ROOT" >&2
    exit 2
fi
root=$(cd "$root" && pwd)
command -v jq >/dev/null 2>&1 || { echo "wait-and-report: needs jq (apt-get install jq)" >&2; exit 2; }

# The field FIELD of task ID's progress.json, or nothing (no record yet, or no such field).
field() {
    jq -r --arg f "$2" '.[$f] // empty | tostring' "$tasks/$1/progress.json" 2>/dev/null || true
}

# Whether NAME, a file in incoming/, is a prompt the coordinator will claim (README, "Use").
is_prompt() {
    case $1 in
        .*) return 1 ;;
        *.md | *.markdown | *.txt | *.prompt) return 0 ;;
        *) return 1 ;;
    esac
}

# Succeeds while some task may still run: queued, claimed (unless blocked) or running. The folders
# are read in the order prompts move through them, so a prompt moving on during the look is seen.
unfinished() {
    for f in "$queue"/incoming/*; do
        [ -f "$f" ] && is_prompt "${f##*/}" && return 0
    done
    for f in "$queue"/claimed/*; do
        [ -e "$f" ] || continue
        name=${f##*/}
        [ "$(field "${name%.*}" state)" = blocked ] || return 0
    done
    for f in "$queue"/running/*; do
        [ -e "$f" ] && return 0
    done
    return 1
}

# Blocks until something in the queue may have changed (or 2 s pass, to catch a change made
# between the last look and the start of the watch). inotifywait exits 0 on an event, 2 on the
# timeout and 1 when it cannot watch (a folder missing): then this waits a second instead.
pause() {
    rc=1
    if command -v inotifywait >/dev/null 2>&1; then
        rc=0
        inotifywait -qq -t 2 -e create -e moved_to -e moved_from -e delete -e close_write \
            "$queue/incoming" "$queue/claimed" "$queue/running" "$tasks" 2>/dev/null || rc=$?
    fi
    if [ "$rc" -eq 1 ]; then sleep 1; fi
}

# One line for task file FILE (a name in failed/, cancelled/ or claimed/) found in state DIR.
report() {
    name=${1##*/}
    id=${name%.*}
    state=$(field "$id" state)
    [ -n "$state" ] || state=$2
    code=$(field "$id" exit_code)
    signal=$(field "$id" signal)
    if [ -n "$signal" ]; then how="signal $signal"
    elif [ -n "$code" ]; then how="exit $code"
    else how="-"
    fi
    log=$(field "$id" log)
    if [ -n "$log" ]; then log=$root/$log; else log="(no log: never started)"; fi
    printf '%-24s %-9s %-10s %s\n' "$id" "$state" "$how" "$log"
}

# Idle twice, a second apart: a prompt moving backwards (a retry, running/ to claimed/) between the
# folders of one look is not missed.
while :; do
    while unfinished; do pause; done
    sleep 1
    unfinished || break
done

bad=0
for dir in failed cancelled claimed; do
    for f in "$queue/$dir"/*; do
        [ -e "$f" ] || continue
        report "$f" "$dir"
        bad=$((bad + 1))
    done
done
done_count=0
for f in "$queue"/done/*; do
    if [ -e "$f" ]; then done_count=$((done_count + 1)); fi
done
if [ "$bad" -eq 0 ]; then
    echo "wait-and-report: all $done_count finished tasks succeeded" >&2
    exit 0
fi
echo "wait-and-report: $bad task(s) did not succeed ($done_count done)" >&2
exit 1
