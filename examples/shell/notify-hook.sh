#!/bin/sh
# notify-hook.sh: an `on_finish` hook that tells you when a task ends.
#
# Install it in .gadugi/config.yaml (spool-layout.md, "The completion hook"):
#
#   on_finish: sh /path/to/examples/shell/notify-hook.sh
#
# The coordinator runs it after each task ends with GADUGI_TASK_ID, GADUGI_TASK_NAME,
# GADUGI_STATE (done, failed, timeout, cancelled), GADUGI_EXIT_CODE (empty without one) and
# GADUGI_LOG_FILE in its environment. It shows a desktop notification with notify-send when that
# is installed and works (a failure is "critical"); otherwise it appends one line to the file
# $GADUGI_NOTIFY_FILE when that is set, else writes the line to stderr, which the coordinator
# keeps in .gadugi/monitoring/tasks/<id>/on-finish.log. The line is
#
#   <UTC time> <task id> <state> exit=<code or -> log=<log file>
#
# To try it by hand:
#   GADUGI_TASK_ID=fix-login GADUGI_STATE=failed GADUGI_EXIT_CODE=3 \
#   GADUGI_LOG_FILE=/tmp/x.log GADUGI_NOTIFY_FILE=/tmp/notes sh examples/shell/notify-hook.sh
#   cat /tmp/notes
#
# Needs: POSIX sh, date. Optional: notify-send (libnotify-bin).
set -eu

id=${GADUGI_TASK_ID:?notify-hook.sh is an on_finish hook: GADUGI_TASK_ID is not set}
state=${GADUGI_STATE:-unknown}
code=${GADUGI_EXIT_CODE:-}
log=${GADUGI_LOG_FILE:-}
name=${GADUGI_TASK_NAME:-$id}

line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $id $state exit=${code:--} log=${log:--}"

if command -v notify-send >/dev/null 2>&1; then
    urgency=normal
    [ "$state" = "done" ] || urgency=critical
    body="$name: $state${code:+ (exit $code)}"
    if notify-send --app-name=gadugi --urgency="$urgency" "gadugi: $id $state" "$body
$log" 2>/dev/null; then
        exit 0
    fi
fi

if [ -n "${GADUGI_NOTIFY_FILE:-}" ]; then
    # One short write with O_APPEND: lines of hooks running at once do not interleave.
    printf '%s\n' "$line" >>"$GADUGI_NOTIFY_FILE"
else
    printf '%s\n' "$line" >&2
fi
