#!/usr/bin/env bash
# A real single-node Slurm cluster for the tests (`make test-slurm`), started by hand: these machines
# run no init system. Everything it writes (slurm.conf, cgroup.conf, state, spool, logs, pid files)
# lives in DIR; only munged's socket is shared (/run/munge), and a munged this script did not start
# is used, never stopped.
#
#   Tests/slurm/cluster.sh start DIR    write the config, start munged (if needed), slurmctld, slurmd;
#                                       return once `srun -n1 true` succeeds (at most 30 s)
#   Tests/slurm/cluster.sh stop DIR     stop by pid what `start DIR` started; wait for the exits
#   Tests/slurm/cluster.sh env DIR      print `export SLURM_CONF=DIR/slurm.conf`
#   Tests/slurm/cluster.sh status DIR   say what runs (exit 0 when the cluster answers)
#
# It installs nothing (`make test-slurm` does: slurmctld slurmd slurm-client munge). The daemons run
# as root, so when run as another user it runs itself again through sudo. Both verbs are safe to
# repeat; `start` refuses while another cluster from this script is up (one machine has one pair of
# Slurm ports), naming that cluster's DIR.
set -euo pipefail

# Which cluster from this script is up: its DIR, written by `start`, removed by `stop`.
REGISTRY=/run/gadugi-slurm-cluster
READY_TIMEOUT=30

usage() {
    echo "usage: $0 start|stop|env|status DIR" >&2
    exit 2
}

die() {
    echo "cluster.sh: $*" >&2
    exit 1
}

[ $# -eq 2 ] || usage
verb=$1
[ -n "$2" ] || usage

case $verb in
    start|stop|status|env) ;;
    *) usage ;;
esac

if [ "$verb" = env ]; then
    dir=$(cd "$2" 2>/dev/null && pwd -P) || die "$2 is not a directory (run \`$0 start $2\` first)"
    printf "export SLURM_CONF='%s'\n" "$dir/slurm.conf"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "the Slurm daemons run as root: run this as root (no sudo here)"
    exec sudo -- "$0" "$@"
fi

if [ "$verb" = start ]; then
    mkdir -p "$2"
fi
dir=$(cd "$2" 2>/dev/null && pwd -P) || die "$2 is not a directory"
conf=$dir/slurm.conf
export SLURM_CONF=$conf

# Whether process PID is alive (not a zombie) and named NAME: a recycled pid is not ours.
is_alive() {
    local pid=$1 name=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    case $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) in Z|X|"") return 1 ;; esac
}

# The pid in FILE if that process is alive and named NAME.
live_pid() {
    local file=$1 name=$2 pid
    [ -r "$file" ] || return 1
    pid=$(tr -dc 0-9 <"$file")
    is_alive "$pid" "$name" || return 1
    echo "$pid"
}

# Sends SIGTERM to the NAME whose pid is in FILE and waits for that pid (the daemons remove their
# pid files before they are gone: slurmctld takes over a second to shut down), up to 20 s; then
# SIGKILL.
stop_pid() {
    local file=$1 name=$2 pid
    if pid=$(live_pid "$file" "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 200); do
            is_alive "$pid" "$name" || break
            sleep 0.1
        done
        if is_alive "$pid" "$name"; then
            echo "cluster.sh: $name (pid $pid) ignored SIGTERM for 20 s; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                is_alive "$pid" "$name" || break
                sleep 0.1
            done
        fi
        echo "stopped $name (pid $pid)"
    fi
    rm -f "$file"
}

srun_ok() {
    timeout 10 srun -n1 -t 1 true </dev/null >/dev/null 2>&1
}

show_logs() {
    local f
    for f in "$dir"/log/*.log; do
        [ -e "$f" ] || continue
        echo "--- last lines of $f ---" >&2
        tail -n 25 "$f" >&2
    done
}

do_stop() {
    stop_pid "$dir/slurmd.pid" slurmd
    stop_pid "$dir/slurmctld.pid" slurmctld
    # Only a munged that `start DIR` started itself (its pid was recorded here).
    stop_pid "$dir/munged.pid" munged
    if [ -r "$REGISTRY" ] && [ "$(cat "$REGISTRY")" = "$dir" ]; then
        rm -f "$REGISTRY"
    fi
}

do_status() {
    local name pid up=0
    for name in munged slurmctld slurmd; do
        if pid=$(live_pid "$dir/$name.pid" "$name"); then
            echo "$name: running (pid $pid)"
        elif [ "$name" = munged ]; then
            if munge_ok; then echo "munged: answers (not started by this cluster)"; else echo "munged: not running"; fi
        else
            echo "$name: not running"
        fi
    done
    if live_pid "$dir/slurmctld.pid" slurmctld >/dev/null && srun_ok; then
        echo "cluster $dir: up (srun -n1 true succeeds; $(printf "export SLURM_CONF='%s'" "$conf"))"
    else
        echo "cluster $dir: down"
        up=1
    fi
    return $up
}

write_config() {
    local host cpus tracker
    host=$(hostname)
    cpus=$(nproc)
    tracker=$(proctrack)
    [ "$tracker" = proctrack/cgroup ] \
        || echo "cluster.sh: no writable cgroup v1 freezer here: $tracker (a cancelled job's setsid children survive it)" >&2
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    cat >"$conf" <<EOF
# Single-node cluster for gadugi's tests, written by Tests/slurm/cluster.sh.
ClusterName=gadugi-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# proctrack/cgroup kills a cancelled job's every process, even one that left its session (setsid).
ProctrackType=$tracker
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# Without it a pending job starts ~2.3 s after a CPU frees; with it ~0.9 s.
SchedulerParameters=batch_sched_delay=0
KillWait=5
MailProg=/bin/true
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    # Slurm 22.05 reads cgroup.conf from beside slurm.conf. The machine mounts the cgroup v1
    # controllers itself (freezer included); Slurm must not try to mount or constrain anything.
    cat >"$dir/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupAutomount=no
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainSwapSpace=no
ConstrainDevices=no
EOF
}

# proctrack/cgroup where Slurm can use it: cgroup v1 with a writable freezer controller (as here; it
# kills a cancelled job's every process, one that left its session with setsid too). Elsewhere
# (cgroup v2 wants systemd to delegate a subtree, which these machines do not run) proctrack/linuxproc,
# which follows the process tree, so a setsid child escapes a cancel.
proctrack() {
    if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ] && [ -d /sys/fs/cgroup/freezer ] \
        && [ -w /sys/fs/cgroup/freezer ]; then
        echo proctrack/cgroup
    else
        echo proctrack/linuxproc
    fi
}

munge_ok() {
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1
}

start_munged() {
    munge_ok && return 0
    [ -r /etc/munge/munge.key ] || die "no /etc/munge/munge.key (the munge package makes it; try: mungekey --create, then chown munge:munge it)"
    mkdir -p /run/munge
    chown munge:munge /run/munge
    chmod 755 /run/munge
    runuser -u munge -- /usr/sbin/munged
    cp /run/munge/munged.pid "$dir/munged.pid"
    for _ in $(seq 50); do
        munge_ok && return 0
        sleep 0.1
    done
    die "munged started but does not answer (see /var/log/munge/munged.log)"
}

do_start() {
    local d pid name
    for name in slurmctld slurmd srun munge munged; do
        command -v "$name" >/dev/null || die "$name is not installed: apt-get install slurmctld slurmd slurm-client munge (make test-slurm does it)"
    done
    if [ -r "$REGISTRY" ]; then
        d=$(cat "$REGISTRY")
        if live_pid "$d/slurmctld.pid" slurmctld >/dev/null || live_pid "$d/slurmd.pid" slurmd >/dev/null; then
            if [ "$d" = "$dir" ]; then
                if srun_ok; then
                    echo "cluster $dir is already up"
                    return 0
                fi
                die "cluster $dir is started but srun fails; run \`$0 stop $dir\` and start it again"
            fi
            die "another cluster from this script is up in $d (it holds Slurm's ports); stop it first: $0 stop $d"
        fi
        rm -f "$REGISTRY"
    fi
    # (A daemon that exited may linger as a zombie until this machine's pid 1 reaps it: not running.)
    for name in slurmctld slurmd; do
        for pid in $(pgrep -x "$name" || true); do
            if is_alive "$pid" "$name"; then
                die "a $name not started by this script runs already (pid $pid) and holds Slurm's port; stop it first"
            fi
        done
    done

    write_config
    echo "$dir" >"$REGISTRY"
    start_munged
    local t0
    t0=$(date +%s.%N)
    slurmctld -f "$conf" || { show_logs; do_stop; die "slurmctld did not start"; }
    slurmd -f "$conf" || { show_logs; do_stop; die "slurmd did not start"; }
    SECONDS=0
    # An srun sent before slurmd has registered waits seconds for the node; sinfo does not
    # (at most 10 s of it: srun below has the last word).
    while [ "$SECONDS" -lt 10 ] && [ "$(sinfo -h -o %T 2>/dev/null)" != idle ]; do
        sleep 0.05
    done
    while [ "$SECONDS" -lt "$READY_TIMEOUT" ]; do
        if srun_ok; then
            echo "cluster $dir up in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
            echo "  $(printf "export SLURM_CONF='%s'" "$conf")"
            return 0
        fi
        sleep 0.1
    done
    echo "cluster.sh: srun -n1 true still fails after ${READY_TIMEOUT} s:" >&2
    timeout 5 srun -n1 -t 1 true </dev/null || true
    show_logs
    do_stop
    exit 1
}

case $verb in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
