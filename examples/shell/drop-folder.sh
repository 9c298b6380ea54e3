#!/bin/sh
# drop-folder.sh DIR [ROOT]
#
# Queues every prompt in folder DIR (files ending in .md, .markdown, .txt or .prompt; dotfiles and
# subfolders are skipped) into the spool under ROOT, the safe way a producer without gadugi can:
# each is copied into .gadugi/queue/tmp/ first and then renamed into .gadugi/queue/incoming/, so a
# coordinator never sees half a prompt (README, "Dropping prompts"). A name already waiting in
# incoming/ is never replaced: the copy gets -2, -3... before its extension. Prints each queued
# name; a running `gadugi run` claims them at once, or the next one will.
#
#   examples/shell/drop-folder.sh prompts/            # ROOT: $GADUGI_ROOT, else the git top-level, else .
#   examples/shell/drop-folder.sh prompts/ ~/shop && gadugi run --root ~/shop --until-idle
#
# `gadugi submit prompts/*` does the same and also fsyncs, reserves and prints task ids, and
# checks each file first; this script shows the protocol for tools that only have a shell.
# Exit status: 0 when every prompt was queued, 1 otherwise, 2 for a usage error.
#
# Needs: POSIX sh, cp, mv (with -n: GNU coreutils, BSD, busybox).
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ ! -d "$1" ]; then
    echo "usage: drop-folder.sh DIR [ROOT]   (DIR: a folder of prompt files)" >&2
    exit 2
fi
dir=$1
root=${2:-${GADUGI_ROOT:-$(git rev-parse --show-toplevel 2>/dev/null || pwd)}}
tmp=$root/.gadugi/queue/tmp
incoming=$root/.gadugi/queue/incoming
mkdir -p "$tmp" "$incoming"

# Renames FILE (in tmp/) to incoming/NAME, or NAME-2, NAME-3... when that name is waiting there.
# mv -n never replaces a file; whether it moved is told by FILE being gone.
deliver() {
    stem=${2%.*}
    ext=${2##*.}
    target=$2
    n=1
    while :; do
        mv -n "$1" "$incoming/$target" 2>/dev/null || true
        [ -e "$1" ] || { echo "$target"; return 0; }
        n=$((n + 1))
        [ "$n" -le 100 ] || { echo "drop-folder.sh: no free name for $2 in $incoming" >&2; return 1; }
        target=$stem-$n.$ext
    done
}

status=0
count=0
for f in "$dir"/*; do
    name=${f##*/}
    [ -f "$f" ] || continue
    case $name in
        .*) continue ;;
        *.md | *.markdown | *.txt | *.prompt) ;;
        *) continue ;;
    esac
    scratch=$tmp/.drop.$$.$count
    count=$((count + 1))
    if ! cp "$f" "$scratch"; then
        echo "drop-folder.sh: cannot copy $f into $tmp" >&2
        rm -f "$scratch"
        status=1
        continue
    fi
    deliver "$scratch" "$name" || { rm -f "$scratch"; status=1; }
done
[ "$count" -gt 0 ] || echo "drop-folder.sh: no prompt files (.md .markdown .txt .prompt) in $dir" >&2
exit "$status"
