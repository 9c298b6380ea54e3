"""The measurements. Each one is a single function registered with @measurement; they run in
the order written here. To add one (e.g. worktree cost), write:

    @measurement("worktree", "Worktree cost", needs_gadugi=True)
    def worktree(m):
        walls = []
        for rep in m.reps():
            root = m.ctx.init_root("worktree")
            ...                                   # set up, then time what matters
            walls.append(seconds)
        m.row("git worktree add", [w * 1000 for w in walls], "ms")
        m.target("worktree add < 1 s", median(walls) < 1, f"{median(walls):.2f} s")

and, if it has a size, a default in SIZES in bench.py (full and quick).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchlib import (BenchError, Context, Recorder, Tracked, clean_env, measurement, median, percentile,
                      run_timed)

HERE = Path(__file__).resolve().parent

# ============================================================================= helpers


class Observer:
    """observe.py in its own process: inotify IN_CREATE on a directory, CLOCK_MONOTONIC stamps."""

    def __init__(self, ctx: Context, d: Path):
        self.ctx, self.d = ctx, d
        self.out = d.parent / (d.name + ".observed")
        self.p = subprocess.Popen([sys.executable, str(HERE / "observe.py"), str(d), str(self.out)],
                                  stdout=subprocess.PIPE, text=True, env=clean_env())
        ctx.live_children.add(self.p.pid)
        line = self.p.stdout.readline()
        if line.strip() != "READY":
            raise BenchError(f"inotify observer did not start: {line!r}")

    def stop(self) -> dict[str, int]:
        (self.d / "__stop").touch()
        try:
            self.p.wait(10)
        finally:
            self.ctx.live_children.discard(self.p.pid)
        out = {}
        for line in self.out.read_text().splitlines():
            name, t = line.rsplit(" ", 1)
            out.setdefault(name, int(t))
        return out


def sleep_until(t_ns: int):
    while True:
        left = t_ns - time.monotonic_ns()
        if left <= 0:
            return
        time.sleep(left / 1e9 if left > 2_000_000 else left / 2e9)


def wait_for(pred, timeout: float, step: float = 0.005) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def lat_stats(lat_ms: list[float]) -> dict:
    s = sorted(lat_ms)
    return {"p50": percentile(s, 50), "p90": percentile(s, 90), "p99": percentile(s, 99), "max": s[-1],
            "min": s[0], "n": len(s)}


def parse_iso_ns(s: str | None) -> int | None:
    if not s:
        return None
    try:
        d = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(d.timestamp() * 1e9)


PROMPT_AGE_S = 3.0


def gadugi_drain(ctx: Context, n: int, rep: int, aged: bool = True, deps: bool = False) -> dict:
    """`gadugi run --until-idle --max-parallel 2 --agent true` on n prompts already in incoming,
    in a fresh root. Timed from the spawn of the coordinator to its exit. Memoized per (n, rep):
    throughput, backlog and scaling share identical runs instead of repeating them.
    aged: start the coordinator only once every prompt is PROMPT_AGE_S old; aged=False starts it
    right after writing them. gadugi's start-up scan claims a file at once when no other process
    has it open (a write-lease probe), and falls back to a 2 s quiet period only where it cannot
    ask; the fresh variant shows that freshly written prompts cost nothing extra.
    deps: every prompt gets the front matter of _dep_front_matter (chains of 10, and more)."""
    key = ("drain", n, rep, aged, deps)
    if key in ctx.cache:
        return ctx.cache[key]
    root = ctx.init_root(f"drain{n}-r{rep}" + ("" if aged else "-fresh") + ("-deps" if deps else ""))
    t_placed = time.monotonic()
    if n:
        ctx.place_prompts(root, n, front_matter=(lambda i: _dep_front_matter(i, n)) if deps else "")
    if aged and n:
        time.sleep(max(0.0, PROMPT_AGE_S - (time.monotonic() - t_placed)))
    mp = str(ctx.cfg.max_parallel)
    cmd = [ctx.cfg.gadugi, "run", "--root", str(root), "--isolation", "none", "--until-idle", "--max-parallel", mp, "--agent", "true"]
    coord = ctx.launch(cmd, root / "coordinator.out", root / "coordinator.err")
    timeout = max(60.0, n * 0.05)
    seen = {}
    st = coord.wait(timeout, before_kill=lambda: seen.update(ctx.states(root)))
    ctx.reap_orphans()
    if st.timed_out:
        raise BenchError(f"`{shlex.join(cmd)}` with {n} prompts waiting did not exit within {timeout:.0f} s "
                         f"(killed; queue then: {seen}); stderr: {coord.stderr_tail()!r}")
    if st.exit_code != 0:
        raise BenchError(f"`{shlex.join(cmd)}` exited {st.exit_code} (signal {st.signal}) with {n} prompts; "
                         f"queue: {ctx.states(root)}; stderr: {coord.stderr_tail()!r}")
    ctx.expect_all_done(root, n, f"`gadugi run --until-idle` on {n} prompts")
    first_claim = None
    try:
        with open(root / ".gadugi" / "monitoring" / "events.jsonl") as f:
            for line in f:
                ev = json.loads(line)
                if ev.get("state") == "claimed":
                    t = parse_iso_ns(ev.get("at"))
                    first_claim = (t - coord.t0_real) / 1e9 if t else None
                    break
    except (OSError, ValueError):
        pass
    res = {"root": str(root), "n": n, "aged": aged, "first_claim_s": first_claim, **st.as_dict()}
    ctx.cache[key] = res
    return res


def _dep_names(i: int, n: int) -> list[str]:
    """What prompt i (1-based, file t<i>.md, so task name t<i>) depends on: the one before it within
    chains of 10 (1-10, 11-20, ...), and every 100th also on two in other chains (i-25 and i-75)."""
    width = max(5, len(str(n)))
    deps = []
    if (i - 1) % 10:
        deps.append(i - 1)
    if i % 100 == 0:
        deps += [i - 25, i - 75]
    return [f"t{j:0{width}d}" for j in deps]


def _dep_front_matter(i: int, n: int) -> str:
    d = _dep_names(i, n)
    return f"---\ndepends_on: [{', '.join(d)}]\n---\n" if d else ""


# ============================================================================= 1. pickup latency


def _floor_once(m: Recorder, n: int, gap_ns: int) -> list[float]:
    """The same trivial agent, `/bin/sh -c ': > FILE'`, started by the harness directly with
    posix_spawn on the same 30 ms schedule and timed the same way (right before the spawn call
    -> the observer's inotify stamp)."""
    d = m.ctx.workdir("floor")
    lat = d / "lat"
    lat.mkdir()
    obs = Observer(m.ctx, lat)
    env = clean_env()
    t_start = {}
    pids = []
    t_next = time.monotonic_ns() + 200_000_000
    for i in range(1, n + 1):
        name = f"f{i:05d}"
        cmd = ": > " + shlex.quote(str(lat / name))
        sleep_until(t_next + (i - 1) * gap_ns)
        t0 = time.monotonic_ns()
        pid = os.posix_spawn("/bin/sh", ["sh", "-c", cmd], env)
        t_start[name] = t0
        pids.append(pid)
        pids = [p for p in pids if os.waitpid(p, os.WNOHANG)[0] == 0]
    for p in pids:
        os.waitpid(p, 0)
    if not wait_for(lambda: len(os.listdir(lat)) >= n, 10):
        raise BenchError(f"floor: only {len(os.listdir(lat))} of {n} files created")
    seen = obs.stop()
    return [(seen[k] - t0) / 1e6 for k, t0 in t_start.items()]


def _schedstat(pid: int) -> dict[str, tuple[int, int]]:
    """Per thread of pid: (ns on a CPU, ns waiting on a run queue), from /proc/<pid>/task/*/schedstat."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait, _ = f.read().split()
            out[tid] = (int(run), int(wait))
        except (OSError, ValueError):
            pass
    return out


def _sched_delta(a: dict, b: dict) -> dict:
    cpu = sum(v[0] - a.get(t, (0, 0))[0] for t, v in b.items())
    wait = sum(v[1] - a.get(t, (0, 0))[1] for t, v in b.items())
    return {"cpu_ms": cpu / 1e6, "runqueue_wait_ms": wait / 1e6}


def _gadugi_latency_once(m: Recorder, n: int, gap_ns: int, warm: int = 5, root: Path | None = None,
                         tag: str = "", isolation: str | None = "none", front_matter: str = "",
                         max_parallel: int | None = None, load: "WorktreeFeeder | None" = None,
                         while_loaded=None) -> dict:
    """One latency run: a long-running `gadugi run` with the agent ': > "$LAT/$GADUGI_TASK_ID"', `warm`
    warm-up prompts, then n prompts renamed from queue/tmp into queue/incoming gap_ns apart.
    Defaults are the pickup measurement's (fresh root, `--isolation none`). For other uses: root (an
    existing, initialised root; its agent files then go to a fresh directory outside it), tag (name
    prefix, so several runs can share a root: warm-ups w<tag>…, measured p<tag>…), isolation (None: no
    --isolation option), front_matter (put before every prompt), max_parallel, and load (a
    WorktreeFeeder: started after the warm-up, measuring starts once it is under way, and it is
    drained before the coordinator is stopped); while_loaded (called after the measurement, the load
    still running; with the window the load was under way in, returned as "while_loaded")."""
    ctx = m.ctx
    if root is None:
        root = ctx.init_root("pickup")
        lat = root / "lat"
        lat.mkdir()
    else:
        lat = ctx.workdir(f"lat-{tag.rstrip('-') or 'run'}") / "lat"
        lat.mkdir()
    q = ctx.queue(root)
    done_before = ctx.states(root)["done"]
    agent = ": > " + shlex.quote(str(lat) + "/") + '"$GADUGI_TASK_ID"'
    warm_names = ctx.place_prompts(root, warm, prefix=f"w{tag}", into="tmp", front_matter=front_matter)
    names = ctx.place_prompts(root, n, prefix=f"p{tag}", into="tmp", front_matter=front_matter)
    ours = {x[:-3] for x in warm_names + names}
    obs = Observer(ctx, lat)
    mp = max_parallel or ctx.cfg.max_parallel
    cmd = [ctx.cfg.gadugi, "run", "--root", str(root)]
    if isolation:
        cmd += ["--isolation", isolation]
    cmd += ["--max-parallel", str(mp), "--agent", agent]
    log = "coordinator" + (f"-{tag.rstrip('-')}" if tag else "")
    coord = ctx.launch(cmd, root / f"{log}.out", root / f"{log}.err")
    problems = []
    load_info = extra = sched = None
    try:
        # Warm-up: proves the coordinator is watching and the pipeline works; not counted.
        for w in warm_names:
            os.rename(q / "tmp" / w, q / "incoming" / w)
            tid = w[:-3]
            if not wait_for(lambda: (lat / tid).exists() or not coord.alive(), 30):
                raise BenchError(f"no agent started within 30 s for warm-up prompt {w} renamed into "
                                 f"queue/incoming of a running `gadugi run`; queue: {ctx.states(root)}; "
                                 f"stderr: {coord.stderr_tail()!r}")
            if not coord.alive():
                raise BenchError(f"`gadugi run` exited during warm-up; stderr: {coord.stderr_tail()!r}")
        if load is not None:
            load.start()
            load.wait_under_way(coord, lat)
        time.sleep(0.3)
        t_mono, t_real = {}, {}
        sched0 = _schedstat(coord.pid)
        t_next = time.monotonic_ns() + 100_000_000
        for i, name in enumerate(names):
            src, dst = q / "tmp" / name, q / "incoming" / name
            sleep_until(t_next + i * gap_ns)
            tr = time.time_ns()
            t0 = time.monotonic_ns()
            os.rename(src, dst)
            t_mono[name[:-3]] = t0
            t_real[name[:-3]] = tr
        ok = wait_for(lambda: len(ours.intersection(os.listdir(lat))) >= n + warm, 30, 0.01)
        # The coordinator's threads over the measurement: CPU, and time spent ready but not running.
        sched = _sched_delta(sched0, _schedstat(coord.pid))
        seen = obs.stop()
        if not ok:
            missing = sorted(set(t_mono) - set(seen))
            raise BenchError(f"{len(missing)} of {n} prompts renamed into incoming (30 ms apart) never started "
                             f"an agent within 30 s (e.g. {missing[:5]}); queue: {ctx.states(root)}")
        if load is not None:
            window = (min(t_mono.values()), max(seen[k] for k in t_mono))
            load_info = load.window_stats(window)
            if while_loaded is not None:
                a = time.monotonic_ns()
                value = while_loaded()
                extra = {"value": value, "load": load.window_stats((a, time.monotonic_ns()))}
    finally:
        if obs.p.poll() is None:
            obs.stop()
        if load is not None:
            load.stop(coord)    # stop feeding, let the worktree tasks in flight finish
        if not coord.alive() and not (load is not None and any("exited before" in x for x in load.problems)):
            problems.append(f"`gadugi run` exited before the harness stopped it; stderr: {coord.stderr_tail(300)!r}")
        coord.signal(signal.SIGTERM)
        st = coord.wait(15, before_kill=lambda: problems.append(
            "`gadugi run` did not exit within 15 s of SIGTERM (killed with SIGKILL)"))
        ctx.reap_orphans()
    if not st.timed_out and st.exit_code != 0:
        problems.append(f"`gadugi run` exited {st.exit_code} (signal {st.signal}) on SIGTERM; contract says 0; "
                        f"stderr: {coord.stderr_tail(300)!r}")
    states = ctx.states(root)
    want = done_before + n + warm + (load.done_count() if load is not None else 0)
    if states["done"] != want or any(states[k] for k in ("incoming", "claimed", "running", "failed", "rejected")):
        problems.append(f"after the latency run: expected {want} in done/ and nothing elsewhere, queue is {states}")
    if load is not None:
        problems += load.problems
    lat_ms = {k: (seen[k] - t0) / 1e6 for k, t0 in t_mono.items()}
    # Where the time goes (ms resolution, wall clock): rename -> claimed_at / started_at.
    claim, start = [], []
    for tid, tr in t_real.items():
        try:
            pj = json.loads((root / ".gadugi" / "monitoring" / "tasks" / tid / "progress.json").read_text())
        except (OSError, ValueError):
            continue
        c, s = parse_iso_ns(pj.get("claimed_at")), parse_iso_ns(pj.get("started_at"))
        if c:
            claim.append((c - tr) / 1e6)
        if s:
            start.append((s - tr) / 1e6)
    return {"lat_ms": list(lat_ms.values()), "claim_ms": claim, "start_ms": start, "problems": problems,
            "coordinator": st.as_dict(), "load": load_info, "while_loaded": extra, "sched": sched}


@measurement("pickup", "Pickup latency")
def pickup(m: Recorder):
    n = m.cfg.sizes["pickup_prompts"]
    gap_ns = 30_000_000
    floors, gads = [], []
    for rep in m.reps():
        m.log(f"rep {rep}: floor ({n} x /bin/sh -c ': > file', 30 ms apart)")
        floors.append(_floor_once(m, n, gap_ns))
        if m.ctx.has_gadugi:
            m.log(f"rep {rep}: gadugi ({n} renames into incoming, 30 ms apart)")
            gads.append(_gadugi_latency_once(m, n, gap_ns))
    fs = [lat_stats(x) for x in floors]
    gs = [lat_stats(x["lat_ms"]) for x in gads]
    for p in ("p50", "p90", "p99", "max"):
        if gs:
            m.row(f"gadugi {p}", [s[p] for s in gs], "ms", 2)
        m.row(f"floor {p}", [s[p] for s in fs], "ms", 2, note="sh started by the harness")
    if gads:
        cl = [median(x["claim_ms"]) for x in gads if x["claim_ms"]]
        sl = [median(x["start_ms"]) for x in gads if x["start_ms"]]
        if cl:
            m.row("rename → claimed_at p50", cl, "ms", 1, note="progress.json, truncated to ms")
        if sl:
            m.row("rename → started_at p50", sl, "ms", 1, note="progress.json, truncated to ms")
        for x in gads:
            for pr in x["problems"]:
                m.problem(pr)
        p50, p99 = median([s["p50"] for s in gs]), median([s["p99"] for s in gs])
        m.target("pickup p50 ≤ 3 ms", p50 <= 3, f"{p50:.2f} ms (floor {median([s['p50'] for s in fs]):.2f})")
        m.target("pickup p99 ≤ 10 ms", p99 <= 10, f"{p99:.2f} ms (floor {median([s['p99'] for s in fs]):.2f})")
    else:
        m.target("pickup p50 ≤ 3 ms", None, "gadugi not measured")
        m.target("pickup p99 ≤ 10 ms", None, "gadugi not measured")
    m.note(f"{n} prompts per repetition, renamed from queue/tmp into queue/incoming 30 ms apart into a running "
           f"`gadugi run --max-parallel {m.cfg.max_parallel} --agent ': > \"$LAT_DIR/$GADUGI_TASK_ID\"'` "
           "(5 warm-up prompts first, not counted). Latency = agent's file creation (inotify IN_CREATE, stamped "
           "with CLOCK_MONOTONIC by a separate observer process) − monotonic time right before rename(2). "
           "The floor is the same agent started straight by the harness with posix_spawn(/bin/sh -c), timed from "
           "right before the spawn. File mtimes are not used: they move in 4 ms steps on this kernel (HZ=250).")
    m.data = {"floor_ms": floors, "gadugi_ms": [x["lat_ms"] for x in gads],
              "claim_ms": [x["claim_ms"] for x in gads], "start_ms": [x["start_ms"] for x in gads],
              "floor_stats": fs, "gadugi_stats": gs, "coordinators": [x["coordinator"] for x in gads]}


# ============================================================================= 2. throughput


def _tp_gadugi_queued(m: Recorder, n: int, rep: int) -> float:
    return gadugi_drain(m.ctx, n, rep)["wall_s"]


def _tp_gadugi_fresh(m: Recorder, n: int, rep: int) -> float:
    return gadugi_drain(m.ctx, n, rep, aged=False)["wall_s"]


def _tp_gadugi_files(m: Recorder, n: int, rep: int) -> float:
    ctx = m.ctx
    root = ctx.init_root("runfiles")
    files = ctx.write_prompt_files(root / "src", n)
    cmd = [ctx.cfg.gadugi, "run", "--root", str(root), "--isolation", "none", "--max-parallel", str(ctx.cfg.max_parallel),
           "--agent", "true", *files]
    coord = ctx.launch(cmd, root / "coordinator.out", root / "coordinator.err")
    seen = {}
    st = coord.wait(max(60.0, n * 0.05), before_kill=lambda: seen.update(ctx.states(root)))
    ctx.reap_orphans()
    shown = f"gadugi run --root {root} --max-parallel {ctx.cfg.max_parallel} --agent true FILE×{n}"
    if st.timed_out:
        raise BenchError(f"`{shown}` did not exit (killed); queue: {seen}")
    if st.exit_code != 0:
        raise BenchError(f"`{shown}` exited {st.exit_code}; queue: {ctx.states(root)}; "
                         f"stderr: {coord.stderr_tail()!r}")
    ctx.expect_all_done(root, n, f"`gadugi run FILE...` with {n} files")
    return st.wall_s


def _tp_xargs(m: Recorder, n: int, rep: int) -> float:
    wall, _ = run_timed(f"seq {n} | xargs -P2 -n1 sh -c true")
    return wall


def _tp_parallel(m: Recorder, n: int, rep: int) -> float:
    d = m.ctx.workdir("parallel")
    env = clean_env(PARALLEL_HOME=d / "home", TMPDIR=d)
    wall, _ = run_timed(f"seq {n} | parallel --will-cite -j2 sh -c true", env=env)
    return wall


def _tp_tsp(m: Recorder, n: int, rep: int) -> float:
    d = m.ctx.workdir("tsp")
    env = clean_env(TS_SOCKET=d / "socket", TMPDIR=d, TS_MAXFINISHED=n + 10, TS_SLOTS=2)
    run_timed("tsp -S 2", env=env)          # start the private server (untimed), 2 slots
    try:
        wall, _ = run_timed(
            f"for i in $(seq {n}); do tsp -n sh -c true >/dev/null; done; tsp -w >/dev/null; "
            "while tsp -l | grep -qE '^[0-9]+ +(queued|running|allocating)'; do sleep 0.002; done", env=env)
        _, cp = run_timed("tsp -l", env=env)
        finished = sum(1 for line in cp.stdout.splitlines() if " finished " in line)
        if finished != n:
            raise BenchError(f"task-spooler: {finished} of {n} jobs finished")
    finally:
        subprocess.run(["tsp", "-K"], env=env, capture_output=True)
    return wall


def _tp_nq(m: Recorder, n: int, rep: int) -> float:
    d = m.ctx.workdir("nq")
    env = clean_env(NQDIR=d / "nq")
    (d / "nq").mkdir()
    wall, _ = run_timed(f"for i in $(seq {n}); do nq -q sh -c true; done; nq -w", env=env, timeout=1200)
    def finished() -> tuple[int, int]:
        logs = [p for p in (d / "nq").iterdir() if p.name.startswith(",")]
        return sum(1 for p in logs if "exited with status 0" in p.read_text(errors="replace")), len(logs)
    # `nq -w` can return a moment before the last job's nq has written its closing log line (seen
    # once in the 20-job warm-up): the wall is taken; give the line a few seconds before judging.
    wait_for(lambda: finished()[0] == n, 5.0, 0.01)
    ok, logs = finished()
    if ok != n:
        raise BenchError(f"nq: {ok} of {n} jobs logged 'exited with status 0' ({logs} logs)")
    return wall


THROUGHPUT_TOOLS = [
    # key, label, function, needs gadugi
    ("gadugi", "gadugi run --until-idle (queued)", _tp_gadugi_queued, True),
    ("gadugi-fresh", "gadugi run --until-idle (prompts < 2 s old)", _tp_gadugi_fresh, True),
    ("gadugi-files", "gadugi run FILE... (incl. submit)", _tp_gadugi_files, True),
    ("xargs", "xargs -P2", _tp_xargs, False),
    ("tsp", "task-spooler -S 2", _tp_tsp, False),
    ("parallel", "GNU parallel -j2", _tp_parallel, False),
    ("nq", "nq (one at a time)", _tp_nq, False),
]


@measurement("throughput", "Throughput")
def throughput(m: Recorder):
    n = m.cfg.sizes["throughput_tasks"]
    tools = [t for t in THROUGHPUT_TOOLS if m.ctx.has_gadugi or not t[3]]
    # Warm caches (binaries, perl modules), untimed.
    for key, label, fn, _ in tools:
        fn(m, 20, 0)
    walls = {t[0]: [] for t in tools}
    for rep in m.reps():  # repetitions outermost, so slow drift hits every tool alike
        for key, label, fn, _ in tools:
            w = fn(m, n, rep)
            walls[key].append(w)
            m.log(f"rep {rep}: {label}: {n / w:,.0f} tasks/s")
    rate = {k: [n / w for w in v] for k, v in walls.items()}
    for key, label, _, _ in tools:
        m.row(label, rate[key], "tasks/s", 0)
    if "gadugi" in rate:
        for other in ("xargs", "tsp", "parallel", "nq"):
            ratios = [a / b for a, b in zip(rate["gadugi"], rate[other])]
            m.row(f"gadugi ÷ {dict((t[0], t[1]) for t in tools)[other]}", ratios, "×", 2, note="paired by repetition")
        g = median(rate["gadugi"])
        rx, rt, rp = median(rate["xargs"]), median(rate["tsp"]), median(rate["parallel"])
        m.target("throughput ≥ 0.5× xargs -P2", g >= 0.5 * rx, f"{g:,.0f} vs {rx:,.0f} tasks/s ({g / rx:.2f}×)")
        m.target("throughput > task-spooler", g > rt, f"{g:,.0f} vs {rt:,.0f} tasks/s ({g / rt:.2f}×)")
        m.target("throughput > GNU parallel", g > rp, f"{g:,.0f} vs {rp:,.0f} tasks/s ({g / rp:.2f}×)")
    else:
        for t in ("throughput ≥ 0.5× xargs -P2", "throughput > task-spooler", "throughput > GNU parallel"):
            m.target(t, None, "gadugi not measured")
    m.note(f"{n} no-op jobs, concurrency 2. gadugi (queued): prompts already in queue/incoming (written ≥ "
           f"{PROMPT_AGE_S:.0f} s earlier), timed from the spawn of `gadugi run --until-idle --max-parallel 2 --agent "
           "true` to its exit. '(prompts < 2 s old)': the same, started right after writing the prompts (the start-up "
           "scan claims files nobody has open at once; the 2 s quiet period is only its fallback where that cannot be asked). "
           "gadugi run FILE...: one "
           "command that submits the files and waits for them. xargs/parallel: `seq N | ... sh -c true`. "
           "task-spooler: private server started untimed, then N `tsp -n sh -c true` plus waiting for all, timed. "
           "nq: N `nq -q sh -c true` + `nq -w`; nq runs one job at a time by design (no concurrency setting).")
    m.data = {"n": n, "walls_s": walls, "rates": rate, "labels": {t[0]: t[1] for t in tools}}


# ============================================================================= 3. backlog


def _time_command(m: Recorder, argv: list[str], runs: int) -> list[float]:
    """Wall times in ms of `argv`, with hyperfine (no shell) if present."""
    out = m.ctx.workdir("hyperfine") / "hf.json"
    cmd = shlex.join(argv)
    cp = subprocess.run(["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out), cmd],
                        capture_output=True, text=True, env=clean_env())
    if cp.returncode != 0:
        raise BenchError(f"hyperfine on `{cmd}` failed ({cp.returncode}): {cp.stderr.strip()[-500:]!r}")
    return [t * 1000 for t in json.loads(out.read_text())["results"][0]["times"]]


@measurement("backlog", "Backlog", needs_gadugi=True)
def backlog(m: Recorder):
    n = m.cfg.sizes["backlog_tasks"]
    runs = [gadugi_drain(m.ctx, n, rep) for rep in m.reps()]
    for r in runs:
        m.log(f"drained {n} in {r['wall_s']:.2f} s, VmHWM {r['vmhwm_kb']} kB, ru_maxrss {r['ru_maxrss_kb']} kB")
    m.row(f"drain {n:,} waiting, agent true", [r["wall_s"] for r in runs], "s", 2)
    m.row("drain rate", [n / r["wall_s"] for r in runs], "tasks/s", 0)
    if all(r["first_claim_s"] is not None for r in runs):
        m.row("coordinator start → first claim", [r["first_claim_s"] * 1000 for r in runs], "ms", 0,
              note="events.jsonl, ms resolution")
    hwm = [r["vmhwm_kb"] / 1024 if r["vmhwm_kb"] else None for r in runs]
    mrss = [r["ru_maxrss_kb"] / 1024 for r in runs]
    m.row("coordinator peak RSS (VmHWM)", hwm, "MB", 1, note="last sample, every 20 ms, before exit")
    m.row("coordinator peak RSS (ru_maxrss)", mrss, "MB", 1, note="wait4; includes its children")
    m.row("coordinator CPU (user+sys)", [r["self_cpu_s"] for r in runs], "s", 2)
    root = runs[-1]["root"]
    st = json.loads(m.ctx.gadugi("status", "--json", "--root", root).stdout)
    if (st.get("counts") or {}).get("done") != n or st.get("coordinator") is not None:
        m.problem(f"`gadugi status --json` after draining {n}: counts {st.get('counts')}, coordinator "
                  f"{st.get('coordinator')} (expected done={n}, coordinator null)")
    hf_runs = m.cfg.sizes["status_runs"]
    t_json = _time_command(m, [m.cfg.gadugi, "status", "--json", "--root", root], hf_runs)
    t_all = _time_command(m, [m.cfg.gadugi, "status", "--json", "--all", "--root", root], hf_runs)
    t_txt = _time_command(m, [m.cfg.gadugi, "status", "--root", root], hf_runs)
    m.row(f"status --json, {n:,} finished", t_json, "ms", 1, note=f"hyperfine, {hf_runs} runs")
    m.row(f"status --json --all, {n:,} finished", t_all, "ms", 1, note=f"hyperfine, {hf_runs} runs")
    m.row(f"status (text), {n:,} finished", t_txt, "ms", 1, note=f"hyperfine, {hf_runs} runs")
    peak = median([max(h or 0, r) for h, r in zip(hwm, mrss)])
    m.target(f"≤ 30 MB peak RSS with {n:,} waiting", peak <= 30, f"{peak:.1f} MB")
    sj = median(t_json)
    m.target(f"status --json on {n:,} finished < 300 ms", sj < 300, f"{sj:.1f} ms")
    m.note(f"{n:,} prompts placed in queue/incoming before `gadugi run --until-idle --max-parallel "
           f"{m.cfg.max_parallel} --agent true` starts; the RSS target uses the larger of VmHWM and ru_maxrss.")
    m.data = {"n": n, "runs": runs, "status_json_ms": t_json, "status_json_all_ms": t_all, "status_text_ms": t_txt,
              "status_json_sample": {k: st.get(k) for k in ("counts", "coordinator", "schema_version")}}


def _deps_events(root: Path, n: int) -> dict:
    """From events.jsonl (one line per transition, in the order they happened): tasks that went to
    `running` before every task they depend on was `done` ("violations"), the dependencies checked
    ("edges"), and the most tasks claimed but not finished at once ("max_active") and of those the
    most waiting for a dependency ("max_waiting"); a task that becomes ready again is logged as
    `claimed` once more, so tasks are counted by their latest state, not by claim lines."""
    width = max(5, len(str(n)))
    done_at, started_at = {}, {}
    state: dict[str, str] = {}
    count = {"claimed": 0, "waiting": 0, "running": 0, "blocked": 0}
    max_active = max_waiting = 0
    with open(root / ".gadugi" / "monitoring" / "events.jsonl") as f:
        for k, line in enumerate(f):
            ev = json.loads(line)
            tid, st = ev.get("id"), ev.get("state")
            if st == "done":
                done_at.setdefault(tid, k)
            elif st == "running":
                started_at.setdefault(tid, k)
            old = state.get(tid)
            if old in count:
                count[old] -= 1
            state[tid] = st
            if st in count:
                count[st] += 1
            max_active = max(max_active, sum(count.values()))
            max_waiting = max(max_waiting, count["waiting"])
    bad, edges = [], 0
    for i in range(1, n + 1):
        tid = f"t{i:0{width}d}"
        for dep in _dep_names(i, n):
            edges += 1
            if tid not in started_at or dep not in done_at or started_at[tid] < done_at[dep]:
                bad.append(f"{tid} started (event line {started_at.get(tid)}) before {dep} was done "
                           f"(event line {done_at.get(dep)})")
    return {"violations": bad, "edges": edges, "max_active": max_active, "max_waiting": max_waiting}


@measurement("backlog-deps", "Backlog with dependencies", needs_gadugi=True)
def backlog_deps(m: Recorder):
    """The backlog drain with a dependency graph: each of the prompts depends on the one before it
    within chains of 10, and every 100th on two more in other chains."""
    n = m.cfg.sizes["backlog_deps_tasks"]
    runs = [gadugi_drain(m.ctx, n, rep, deps=True) for rep in m.reps()]
    edges = 0
    evs = []
    for r in runs:
        ev = _deps_events(Path(r["root"]), n)
        evs.append(ev)
        edges = ev["edges"]
        m.log(f"drained {n} with dependencies in {r['wall_s']:.2f} s, VmHWM {r['vmhwm_kb']} kB, "
              f"ru_maxrss {r['ru_maxrss_kb']} kB; at most {ev['max_active']} claimed at once, {ev['max_waiting']} "
              "of them waiting")
        if ev["violations"]:
            m.problem(f"{len(ev['violations'])} of {edges} dependencies not respected in {r['root']} (events.jsonl "
                      f"order), e.g. {ev['violations'][:3]}")
    m.row(f"drain {n:,} waiting with dependencies, agent true", [r["wall_s"] for r in runs], "s", 2)
    m.row("drain rate", [n / r["wall_s"] for r in runs], "tasks/s", 0)
    if all(r["first_claim_s"] is not None for r in runs):
        m.row("coordinator start → first claim", [r["first_claim_s"] * 1000 for r in runs], "ms", 0,
              note="events.jsonl, ms resolution")
    hwm = [r["vmhwm_kb"] / 1024 if r["vmhwm_kb"] else None for r in runs]
    mrss = [r["ru_maxrss_kb"] / 1024 for r in runs]
    m.row("coordinator peak RSS (VmHWM)", hwm, "MB", 1, note="last sample, every 20 ms, before exit")
    m.row("coordinator peak RSS (ru_maxrss)", mrss, "MB", 1, note="wait4; includes its children")
    m.row("coordinator CPU (user+sys)", [r["self_cpu_s"] for r in runs], "s", 2)
    m.row("most tasks claimed and not finished at once", [e["max_active"] for e in evs], "tasks", 0,
          note="events.jsonl")
    m.row("most tasks waiting for a dependency at once", [e["max_waiting"] for e in evs], "tasks", 0,
          note="events.jsonl")
    peak = median([max(h or 0, r) for h, r in zip(hwm, mrss)])
    m.target(f"< 40 MB peak RSS with {n:,} waiting with dependencies", peak < 40, f"{peak:.1f} MB")
    m.note(f"{n:,} prompts placed in queue/incoming (≥ {PROMPT_AGE_S:.0f} s before the start) of a fresh root, then "
           f"`gadugi run --until-idle --isolation none --max-parallel {m.cfg.max_parallel} --agent true`. Each prompt "
           "t<i> has front matter `depends_on`: t<i−1> within chains of 10 (t1–t10, t11–t20, …), and every 100th "
           f"also t<i−25> and t<i−75> (in other chains): {edges:,} dependencies, names from the file names. "
           "Checked: every task in done/ and nothing elsewhere, and from events.jsonl (one line per transition, in "
           "order) that no task went to `running` before all it depends on were `done`; from the same lines, the "
           "most tasks claimed and not yet finished at once, and of those waiting for a dependency. The RSS target "
           "uses the larger of VmHWM and ru_maxrss.")
    m.data = {"n": n, "edges": edges, "runs": runs,
              "events": [{k: v for k, v in e.items() if k != "violations"} | {"violations": len(e["violations"])}
                         for e in evs]}


# ============================================================================= 4. scaling


@measurement("scaling", "Scaling", needs_gadugi=True)
def scaling(m: Recorder):
    sizes = m.cfg.sizes["scaling_tasks"]
    base = [gadugi_drain(m.ctx, 0, rep) for rep in m.reps()]
    cpu0 = median([b["self_cpu_s"] for b in base])
    m.row("empty queue: coordinator start → exit", [b["wall_s"] * 1000 for b in base], "ms", 1)
    m.row("empty queue: coordinator CPU", [b["self_cpu_s"] * 1000 for b in base], "ms", 0)
    per = {}
    for n in sizes:
        runs = [gadugi_drain(m.ctx, n, rep) for rep in m.reps()]
        cpu = [r["self_cpu_s"] * 1000 / n for r in runs]
        marg = [(r["self_cpu_s"] - cpu0) * 1000 / n for r in runs]
        wall = [r["wall_s"] * 1000 / n for r in runs]
        kids = [r["children_cpu_s"] * 1000 / n for r in runs]
        m.row(f"{n:,} tasks: throughput", [n / r["wall_s"] for r in runs], "tasks/s", 0)
        m.row(f"{n:,} tasks: coordinator CPU per task", cpu, "ms", 3)
        m.row(f"{n:,} tasks: coordinator CPU per task, minus empty-queue run", marg, "ms", 3)
        m.row(f"{n:,} tasks: wall per task", wall, "ms", 3)
        m.row(f"{n:,} tasks: agents' + wrappers' CPU per task", kids, "ms", 3)
        m.row(f"{n:,} tasks: coordinator peak RSS (VmHWM)", [(r["vmhwm_kb"] or 0) / 1024 for r in runs], "MB", 1)
        per[n] = {"cpu_ms": cpu, "marginal_cpu_ms": marg, "wall_ms": wall, "children_cpu_ms": kids,
                  "runs": runs}
    big, small = sizes[-1], sizes[:-1]
    mc_big, w_big = median(per[big]["marginal_cpu_ms"]), median(per[big]["wall_ms"])
    mc_ref = min(median(per[s]["marginal_cpu_ms"]) for s in small)
    w_ref = min(median(per[s]["wall_ms"]) for s in small)
    flat = mc_big <= 1.5 * mc_ref and w_big <= 1.5 * w_ref
    m.target(f"per-task cost flat from {sizes[0]:,} to {big:,}", flat,
             f"CPU/task {mc_big:.3f} ms at {big:,} vs best {mc_ref:.3f} below; wall/task {w_big:.3f} vs {w_ref:.3f} ms")
    m.note("coordinator CPU is utime+stime of the coordinator process alone, read from /proc/<pid>/stat while "
           "it is a zombie (10 ms resolution), so agents are not counted; 'minus empty-queue run' subtracts the "
           "median CPU of `gadugi run --until-idle` on an empty queue (start-up and shut-down). Flat = at the "
           "largest size, both that CPU per task and wall per task are within 1.5× of the best smaller size. "
           "Runs of the same size are shared with the throughput/backlog measurements (same command).")
    m.data = {"sizes": sizes, "empty_queue": base, "per_size": per}


# ============================================================================= worktrees

_GIT_ID = ["-c", "user.name=gadugi-bench", "-c", "user.email=bench@gadugi.invalid",
           "-c", "commit.gpgsign=false", "-c", "gc.auto=0"]


def _git(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = ["git", *_GIT_ID, *args]
    try:
        cp = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env=clean_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"`{shlex.join(cmd)}` in {cwd} did not finish within {timeout} s") from e
    if cp.returncode != 0:
        raise BenchError(f"`{shlex.join(cmd)}` in {cwd} exited {cp.returncode}; stderr: {cp.stderr.strip()[-600:]!r}")
    return cp


def _make_repo(ctx: Context, files: int) -> Path:
    """A git repository with `files` small files in 10 folders (src/d0 … src/d9) and one commit."""
    repo = ctx.workdir(f"wt-repo-{files}")
    _git("init", "-q", "-b", "main", cwd=repo)
    for i in range(files):
        d = repo / "src" / f"d{i % 10}"
        if i < 10:
            d.mkdir(parents=True)
        (d / f"f{i:05d}.txt").write_text(f"file {i}\n")
    _git("add", "-A", cwd=repo)
    _git("commit", "-q", "-m", "initial", cwd=repo)
    return repo


def _bare_worktrees(repo: Path, n: int, tag: str) -> list[float]:
    """n × (`git worktree add -b` + `git worktree remove`), sequential; seconds per task. The remove is
    the plain one the target names: it checks that nothing is left uncommitted, as anyone removing
    an agent's worktree must (gadugi's remove does the same check); `--force` would skip it."""
    per = []
    for i in range(1, n + 1):
        path = repo / ".bare-wt" / f"{tag}-{i}"
        t0 = time.perf_counter_ns()
        _git("worktree", "add", "-q", "-b", f"b{tag}-{i}", str(path), "HEAD", cwd=repo)
        _git("worktree", "remove", str(path), cwd=repo)
        per.append((time.perf_counter_ns() - t0) / 1e9)
    return per


def _gadugi_files_run(m: Recorder, repo: Path, files: list[str], isolation: str | None) -> float:
    ctx = m.ctx
    n = len(files)
    cmd = [ctx.cfg.gadugi, "run", "--root", str(repo)]
    if isolation:
        cmd += ["--isolation", isolation]
    cmd += ["--max-parallel", "1", "--agent", "true", *files]
    tag = isolation or "worktree"
    out_dir = repo.parent / (repo.name + "-logs")
    out_dir.mkdir(exist_ok=True)
    before = ctx.states(repo)["done"]
    coord = ctx.launch(cmd, out_dir / f"{tag}-{before}.out", out_dir / f"{tag}-{before}.err")
    seen = {}
    st = coord.wait(max(120.0, n * 30.0), before_kill=lambda: seen.update(ctx.states(repo)))
    ctx.reap_orphans()
    shown = f"gadugi run --root {repo}{' --isolation ' + isolation if isolation else ''} --max-parallel 1 --agent true FILE×{n}"
    if st.timed_out:
        raise BenchError(f"`{shown}` did not exit (killed); queue: {seen}")
    if st.exit_code != 0:
        raise BenchError(f"`{shown}` exited {st.exit_code}; queue: {ctx.states(repo)}; stderr: {coord.stderr_tail()!r}")
    ctx.expect_all_done(repo, before + n, f"`{shown}`")
    return st.wall_s


@measurement("worktree", "Worktree cost", needs_gadugi=True)
def worktree(m: Recorder):
    """Per-task cost of worktree isolation vs bare `git worktree add -b` + `remove`, on a 100-file and
    a 10,000-file repository that is also the gadugi root; then `worktree add` right after removing a
    large worktree vs 60 s later (this disk: ext4 without a journal, slow after bulk deletions)."""
    ctx = m.ctx
    # tasks per repetition, by repository size: 20 on the small one; 5 on the large one, where one
    # add right after a remove can take 5-15 s on this disk (20 × 3 reps × 2 would take ~20 min)
    tasks = m.cfg.sizes.get("worktree_tasks", {100: 5, 1000: 5} if m.cfg.quick else {100: 20, 10000: 5})
    sizes = list(tasks)
    data = {"tasks": tasks, "sizes": sizes, "per_size": {}}
    ratios_all = {}
    big_repo = None
    for files in sizes:
        n = tasks[files]
        repo = _make_repo(ctx, files)
        ctx.gadugi("init", "--root", str(repo))
        prompts = ctx.workdir(f"wt-prompts-{files}")
        bare, wt, none = [], [], []
        bare_max = []
        for rep in m.reps():
            per = _bare_worktrees(repo, n, f"r{rep}")
            bare.append(sum(per) / n)
            bare_max.append(max(per))
            files_wt = ctx.write_prompt_files(prompts / f"wt{rep}", n, prefix=f"w{rep}-")
            wt.append(_gadugi_files_run(m, repo, files_wt, None))
            files_none = ctx.write_prompt_files(prompts / f"none{rep}", n, prefix=f"n{rep}-")
            none.append(_gadugi_files_run(m, repo, files_none, "none"))
            m.log(f"{files:,} files, rep {rep}: bare {bare[-1] * 1000:.0f} ms/task, gadugi worktree "
                  f"{wt[-1] * 1000 / n:.0f} ms/task, none {none[-1] * 1000 / n:.0f} ms/task")
        over = [(w - x) / n for w, x in zip(wt, none)]
        ratio = [o / b for o, b in zip(over, bare)]
        label = f"{files:,} files, {n} tasks"
        m.row(f"{label}: bare git worktree add -b + remove, per task", [b * 1000 for b in bare], "ms", 0)
        m.row(f"{label}: bare, slowest single task", [b * 1000 for b in bare_max], "ms", 0)
        m.row(f"{label}: gadugi run, worktrees, wall per task", [w * 1000 / n for w in wt], "ms", 0)
        m.row(f"{label}: gadugi run --isolation none, wall per task", [x * 1000 / n for x in none], "ms", 0)
        m.row(f"{label}: worktree overhead per task (worktrees − none)", [o * 1000 for o in over], "ms", 0)
        m.row(f"{label}: overhead ÷ bare", ratio, "×", 2)
        r = median(ratio)
        ratios_all[files] = r
        m.target(f"worktree overhead ≤ 1.1× bare git, {label}", r <= 1.1,
                 f"{r:.2f}× ({median(over) * 1000:.0f} vs {median(bare) * 1000:.0f} ms per task)")
        data["per_size"][files] = {"bare_s": bare, "bare_max_s": bare_max, "worktree_wall_s": wt,
                                   "none_wall_s": none, "overhead_s": over, "ratio": ratio, "repo": str(repo)}
        big_repo = repo
    # add right after removing another large worktree, and 60 s after such a removal
    repo, files = big_repo, sizes[-1]
    wt_dir = repo / ".bare-wt"
    for name in ("pa", "pb"):
        _git("worktree", "add", "-q", "-b", f"b{name}", str(wt_dir / name), "HEAD", cwd=repo)
    _git("worktree", "remove", "--force", str(wt_dir / "pa"), cwd=repo)
    t0 = time.perf_counter_ns()
    _git("worktree", "add", "-q", "-b", "bpc", str(wt_dir / "pc"), "HEAD", cwd=repo)
    t_now = (time.perf_counter_ns() - t0) / 1e9
    _git("worktree", "remove", "--force", str(wt_dir / "pb"), cwd=repo)
    time.sleep(60)
    t0 = time.perf_counter_ns()
    _git("worktree", "add", "-q", "-b", "bpd", str(wt_dir / "pd"), "HEAD", cwd=repo)
    t_later = (time.perf_counter_ns() - t0) / 1e9
    m.row(f"{files:,} files: git worktree add right after a remove", t_now * 1000, "ms", 0, note="once")
    m.row(f"{files:,} files: git worktree add 60 s after a remove", t_later * 1000, "ms", 0, note="once")
    data["add_after_remove_s"] = {"immediately": t_now, "after_60s": t_later}
    m.note(f"{', '.join(f'{v} tasks ({k:,} files)' for k, v in tasks.items())} in a row per repetition. Bare: `git worktree add -q -b <b> <path> HEAD` "
           "then `git worktree remove <path>` (no --force: like gadugi's, it checks nothing is left uncommitted), each task timed from Python (process starts included). "
           "gadugi: the repository is the root, `gadugi run --root <repo> --max-parallel 1 --agent true FILE×N` "
           "(prompts outside the repo) from spawn to exit, with and without `--isolation none`; overhead per task "
           "= (worktrees wall − none wall) / N, so gadugi's fixed start-up cancels out. Ratios are paired by repetition.")
    m.data = data


# ============================================================================= pickup under worktree load


class WorktreeFeeder:
    """Keeps `in_flight` worktree tasks in a running coordinator's queue at all times, from a thread:
    plain prompts <prefix>NNNNN.md (no front matter, so each gets a worktree: `git worktree add`, the
    agent, `git worktree remove`), renamed from queue/tmp into queue/incoming; a new one is dropped as
    soon as one is seen in done/ or failed/ (polled every 50 ms). Records when each was dropped and
    seen finished (CLOCK_MONOTONIC, the clock the latency harness uses), and samples how many were in
    queue/running/. The tasks are staggered (see wait_under_way): started together they would stay in
    lockstep and could all be mid-way through a whole measurement, none finishing in it."""

    POLL_S = 0.05

    def __init__(self, ctx: Context, root: Path, prefix: str, in_flight: int = 2, ready_timeout: float = 180):
        self.ctx, self.root, self.prefix, self.in_flight = ctx, root, prefix, in_flight
        self.q = ctx.queue(root)
        self.ready_timeout = ready_timeout
        self.dropped: dict[str, int] = {}       # task id -> monotonic ns when renamed into incoming
        self.finished: dict[str, tuple[int, bool]] = {}   # task id -> (monotonic ns seen, in done/)
        self.running_samples: list[tuple[int, int]] = []  # (monotonic ns, how many in running/)
        self.problems: list[str] = []
        self._feeding = threading.Event()
        self._quit = threading.Event()
        self._thread: threading.Thread | None = None
        self._k = 0
        self.target = 0

    def _drop(self):
        self._k += 1
        name = f"{self.prefix}{self._k:05d}.md"
        with open(self.q / "tmp" / name, "w") as f:
            f.write(f"Worktree load task {self._k}: do nothing.\n")
        t = time.monotonic_ns()
        os.rename(self.q / "tmp" / name, self.q / "incoming" / name)
        self.dropped[name[:-3]] = t

    def _pending(self) -> list[str]:
        return [t for t in self.dropped if t not in self.finished]

    def _loop(self):
        try:
            while not self._quit.is_set():
                now = time.monotonic_ns()
                pend = self._pending()
                running = 0
                for tid in pend:
                    if os.path.exists(self.q / "done" / f"{tid}.md"):
                        self.finished[tid] = (now, True)
                    elif os.path.exists(self.q / "failed" / f"{tid}.md"):
                        self.finished[tid] = (now, False)
                    elif os.path.exists(self.q / "running" / f"{tid}.md"):
                        running += 1
                self.running_samples.append((now, running))
                if self._feeding.is_set():
                    for _ in range(self.target - len(self._pending())):
                        self._drop()
                elif not self._pending():
                    return
                self._quit.wait(self.POLL_S)
        except Exception as e:  # reported, never swallowed
            self.problems.append(f"worktree feeder thread: {e!r}")

    def start(self):
        self.target = 1
        self._feeding.set()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def wait_under_way(self, coord: Tracked, lat: Path):
        """Staggers the load and blocks until it is under way: one task alone until it finishes (its
        time T), then the next, and half of T later the others (up to in_flight); then waits until one
        task in flight has run its agent (lat/<id> exists: its `git worktree add` is over, its
        `remove` is next, so it finishes soon) while another has not (its worktree is being made).
        Measuring then starts with a worktree being created and one about to finish."""
        def check(what: str, pred, timeout: float):
            if not wait_for(lambda: pred() or not coord.alive() or self.problems, timeout, 0.05) \
                    or not coord.alive() or self.problems:
                raise BenchError(f"worktree load did not get under way: {what} within {timeout:.0f} s (dropped "
                                 f"{len(self.dropped)}, finished {len(self.finished)}; coordinator alive: "
                                 f"{coord.alive()}; {self.problems}); queue: {self.ctx.states(self.root)}; "
                                 f"stderr: {coord.stderr_tail()!r}")
        check("no worktree task finished", lambda: self.finished, self.ready_timeout)
        first = next(iter(self.finished))
        t_one = (self.finished[first][0] - self.dropped[first]) / 1e9
        time.sleep(min(t_one / 2, 30))
        self.target = self.in_flight

        def staggered():
            pend = self._pending()
            made = [t for t in pend if (lat / t).exists()]
            return len(pend) >= 2 and made and len(made) < len(pend)
        check("no task in flight ran its agent while another was still being set up", staggered, self.ready_timeout)

    def window_stats(self, window: tuple[int, int]) -> dict:
        """What the load did during window = (first rename, last measured agent start), monotonic ns."""
        a, b = window
        fins, drops = dict(self.finished), dict(self.dropped)   # copies: the thread goes on
        samples = [r for t, r in list(self.running_samples) if a <= t <= b]
        durations = [(fins[t][0] - d) / 1e9 for t, d in drops.items() if t in fins]
        return {
            "window_s": (b - a) / 1e9,
            "completed_in_window": sum(1 for t, ok in fins.values() if a <= t <= b),
            "dropped_in_window": sum(1 for d in drops.values() if a <= d <= b),
            "running_samples_in_window": len(samples),
            "share_of_window_with_one_running": (sum(1 for r in samples if r > 0) / len(samples)) if samples else None,
            "mean_running_in_window": (sum(samples) / len(samples)) if samples else None,
            "task_drop_to_done_s": durations,
        }

    def stop(self, coord: Tracked, timeout: float = 180):
        """Stop feeding; wait for the worktree tasks in flight to finish (so the coordinator can be stopped
        with nothing running)."""
        if self._thread is None:
            return
        self._feeding.clear()
        end = time.monotonic() + timeout
        while self._thread.is_alive() and coord.alive() and time.monotonic() < end:
            self._thread.join(0.2)
        if self._thread.is_alive():
            self._quit.set()
            self._thread.join(5)
            if not coord.alive():
                self.problems.append(f"`gadugi run` exited before the harness stopped it, with worktree tasks "
                                     f"{self._pending()} in flight; queue: {self.ctx.states(self.root)}; stderr: "
                                     f"{coord.stderr_tail(300)!r}")
            else:
                self.problems.append(f"worktree tasks {self._pending()} did not finish within {timeout:.0f} s of "
                                     f"the measurement's end; queue: {self.ctx.states(self.root)}")
        failed = [t for t, (_, ok) in self.finished.items() if not ok]
        if failed:
            tdir = self.root / ".gadugi" / "monitoring" / "tasks" / failed[0]
            detail = ""
            for fn in ("progress.json", "output.log"):
                if (tdir / fn).exists():
                    detail += f" {fn}: {(tdir / fn).read_text(errors='replace')[:300]!r}"
            self.problems.append(f"{len(failed)} worktree load task(s) failed (e.g. {failed[0]}):{detail}")
        self._thread = None

    def done_count(self) -> int:
        return sum(1 for _, ok in self.finished.values() if ok)


WTPICKUP_MAX_PARALLEL = 4
WTPICKUP_IN_FLIGHT = 2
NO_ISOLATION = "---\nisolation: none\n---\n"


@measurement("worktree-pickup", "Pickup under worktree load", needs_gadugi=True)
def worktree_pickup(m: Recorder):
    """Pickup latency of tasks with front matter `isolation: none` in a root that is a git repository of
    many files (every other task gets a worktree), with and without worktree tasks in flight, in the same
    repetition, same harness, same `--max-parallel 4`."""
    ctx = m.ctx
    n = m.cfg.sizes["pickup_prompts"]
    files = m.cfg.sizes["worktree_pickup_files"]
    gap_ns = 30_000_000
    mp = WTPICKUP_MAX_PARALLEL
    t0 = time.perf_counter()
    repo = _make_repo(ctx, files)
    ctx.gadugi("init", "--root", str(repo))
    m.log(f"repository of {files:,} files made in {time.perf_counter() - t0:.1f} s: {repo}")
    base, loaded, loads, floor0, floor1, floor_loads = [], [], [], [], [], []
    for rep in m.reps():
        m.log(f"rep {rep}: no load ({n} `isolation: none` prompts, 30 ms apart, --max-parallel {mp}; then the floor)")
        b = _gadugi_latency_once(m, n, gap_ns, root=repo, tag=f"b{rep}-", isolation=None,
                                 front_matter=NO_ISOLATION, max_parallel=mp)
        floor0.append(_floor_once(m, n, gap_ns))
        m.log(f"rep {rep}: under load ({WTPICKUP_IN_FLIGHT} worktree tasks kept in flight; then the floor)")
        feeder = WorktreeFeeder(ctx, repo, prefix=f"g{rep}-", in_flight=WTPICKUP_IN_FLIGHT)
        x = _gadugi_latency_once(m, n, gap_ns, root=repo, tag=f"l{rep}-", isolation=None,
                                 front_matter=NO_ISOLATION, max_parallel=mp, load=feeder,
                                 while_loaded=lambda: _floor_once(m, n, gap_ns))
        for pr in b["problems"] + x["problems"]:
            m.problem(pr)
        li = x["load"]
        floor1.append(x["while_loaded"]["value"])
        floor_loads.append(x["while_loaded"]["load"])
        bs, xs = sorted(b["lat_ms"]), sorted(x["lat_ms"])
        f0, f1 = sorted(floor0[-1]), sorted(floor1[-1])
        m.log(f"rep {rep}: p50 {percentile(bs, 50):.2f} → {percentile(xs, 50):.2f} ms, p95 {percentile(bs, 95):.2f} → "
              f"{percentile(xs, 95):.2f} ms (floor p50 {percentile(f0, 50):.2f} → {percentile(f1, 50):.2f} ms); "
              f"{li['completed_in_window']} worktree task(s) finished and {li['dropped_in_window']} dropped in the "
              f"{li['window_s']:.1f} s window ({floor_loads[-1]['completed_in_window']} during the floor), "
              f"{len(feeder.dropped)} in all")
        base.append(b)
        loaded.append(x)
        loads.append(li)
    valid = [i for i, li in enumerate(loads) if li["completed_in_window"] > 0]
    invalid = [i + 1 for i in range(len(loads)) if i not in valid]

    def pct(runs, p):
        return [percentile(sorted(r["lat_ms"]), p) for r in runs]

    for p in (50, 95, 99, 100):
        label = "max" if p == 100 else f"p{p}"
        m.row(f"no load: {label}", pct(base, p), "ms", 2)
        m.row(f"worktree load: {label}", pct(loaded, p), "ms", 2)
    r50 = [a / b for a, b in zip(pct(loaded, 50), pct(base, 50))]
    r95 = [a / b for a, b in zip(pct(loaded, 95), pct(base, 95))]
    m.row("p50 under load ÷ no load", r50, "×", 2, note="paired by repetition")
    m.row("p95 under load ÷ no load", r95, "×", 2, note="paired by repetition")

    def fpct(runs, p):
        return [percentile(sorted(r), p) for r in runs]

    fr50 = [a / b for a, b in zip(fpct(floor1, 50), fpct(floor0, 50))]
    m.row("floor, no load: p50", fpct(floor0, 50), "ms", 2, note="sh started by the harness")
    m.row("floor, worktree load: p50", fpct(floor1, 50), "ms", 2, note="sh started by the harness")
    m.row("floor, worktree load: p95", fpct(floor1, 95), "ms", 2, note="sh started by the harness")
    m.row("floor p50 under load ÷ no load", fr50, "×", 2, note="what the load does to any process start")
    m.row("gadugi p50 − floor p50, no load", [a - b for a, b in zip(pct(base, 50), fpct(floor0, 50))], "ms", 2)
    m.row("gadugi p50 − floor p50, worktree load", [a - b for a, b in zip(pct(loaded, 50), fpct(floor1, 50))], "ms", 2)
    for label, runs in (("no load", base), ("worktree load", loaded)):
        if all(x["sched"] for x in runs):
            m.row(f"{label}: coordinator run-queue wait per prompt", [x["sched"]["runqueue_wait_ms"] / n for x in runs],
                  "ms", 2, note="schedstat, all its threads, first rename → last agent start")
            m.row(f"{label}: coordinator CPU per prompt", [x["sched"]["cpu_ms"] / n for x in runs], "ms", 2,
                  note="schedstat, same span")
    m.row("worktree tasks finished during the floor under load", [x["completed_in_window"] for x in floor_loads],
          "tasks", 0)
    m.row("worktree tasks finished during the measurement", [li["completed_in_window"] for li in loads], "tasks", 0,
          note="first rename → last agent start")
    m.row("measurement window", [li["window_s"] for li in loads], "s", 1)
    m.row("share of the window with a worktree task in running/", [li["share_of_window_with_one_running"]
                                                                      for li in loads], "", 2, note="sampled every 50 ms")
    durs = [median(li["task_drop_to_done_s"]) for li in loads if li["task_drop_to_done_s"]]
    if durs:
        m.row("worktree task, dropped → seen in done/", durs, "s", 1, note="median per repetition")
    for label, runs in (("no load", base), ("worktree load", loaded)):
        cl = [median(x["claim_ms"]) for x in runs if x["claim_ms"]]
        sl = [median(x["start_ms"]) for x in runs if x["start_ms"]]
        if cl:
            m.row(f"{label}: rename → claimed_at p50", cl, "ms", 1, note="progress.json, truncated to ms")
        if sl:
            m.row(f"{label}: rename → started_at p50", sl, "ms", 1, note="progress.json, truncated to ms")
    if not valid:
        m.target("pickup p50 under worktree load ≤ 1.10× without", None,
                 "invalid: no worktree task finished during the measurement in any repetition")
    else:
        r = median([r50[i] for i in valid])
        r95v = median([r95[i] for i in valid])
        m.target("pickup p50 under worktree load ≤ 1.10× without", r <= 1.10,
                 f"{r:.2f}× ({median([pct(loaded, 50)[i] for i in valid]):.2f} vs "
                 f"{median([pct(base, 50)[i] for i in valid]):.2f} ms; p95 {r95v:.2f}×)")
    if invalid:
        m.note(f"INVALID repetition(s) {', '.join(map(str, invalid))}: no worktree task finished during the "
               "measurement, so the load was not shown to be real; the target uses only the other repetitions.")
    m.note(f"A git repository of {files:,} files (10 folders, one commit) is the gadugi root, so every task gets a "
           f"worktree unless its front matter says `isolation: none`. Each repetition runs the pickup harness twice "
           f"with `gadugi run --max-parallel {mp}` (no --isolation option) and the pickup agent: {n} prompts with "
           "front matter `isolation: none`, renamed into incoming 30 ms apart (5 warm-ups first), once alone and "
           f"once while a feeder thread keeps {WTPICKUP_IN_FLIGHT} plain prompts (each a `git worktree add` + "
           "agent + `git worktree remove`) in the queue, dropping a new one as soon as one reaches done/. "
           "The worktree tasks are staggered (one alone until it finishes in T, the next, and T/2 later the second), "
           "and measuring under load starts once one task in flight has run its agent (its `git worktree add` is "
           "over, its `remove` is next) while the other's worktree is still being made. After each "
           "gadugi run the floor (the pickup measurement's: the same agent started by the harness with posix_spawn, "
           "same schedule) is measured too, the second time with the load still running, to show what the load "
           "does to any process start on this machine. Ratios are "
           "paired by repetition; the run without load comes first in each repetition, so it follows the previous "
           "repetition's worktree removals (this disk creates files slowly for minutes after bulk deletions).")
    m.data = {"files": files, "repo": str(repo), "max_parallel": mp, "in_flight": WTPICKUP_IN_FLIGHT,
              "no_load_ms": [b["lat_ms"] for b in base], "load_ms": [x["lat_ms"] for x in loaded],
              "floor_no_load_ms": floor0, "floor_load_ms": floor1, "floor_load": floor_loads,
              "load": loads, "ratio_p50": r50, "ratio_p95": r95, "invalid_reps": invalid,
              "coordinators": {"no_load": [b["coordinator"] for b in base],
                               "load": [x["coordinator"] for x in loaded]}}


# ============================================================================= slurm

REPO = HERE.parent


def _slurm_files_run(m: Recorder, n: int, executor: str, env: dict) -> float:
    """`gadugi run --executor E FILE×n` (agent `true`, no worktrees); its wall time in seconds."""
    ctx = m.ctx
    root = ctx.init_root(f"slurm-{executor}")
    files = ctx.write_prompt_files(root / "src", n)
    cmd = [ctx.cfg.gadugi, "run", "--root", str(root), "--isolation", "none", "--executor", executor,
           "--max-parallel", str(ctx.cfg.max_parallel), "--agent", "true", *files]
    coord = ctx.launch(cmd, root / "coordinator.out", root / "coordinator.err", env=env)
    st = coord.wait(max(120.0, n * 1.0))
    ctx.reap_orphans()
    if st.timed_out or st.exit_code != 0:
        raise BenchError(f"`gadugi run --executor {executor}` with {n} files: exit {st.exit_code}, "
                         f"timed out {st.timed_out}; stderr: {coord.stderr_tail()!r}")
    ctx.expect_all_done(root, n, f"`gadugi run --executor {executor}` with {n} files")
    return st.wall_s


def _bare_srun(m: Recorder, n: int, env: dict) -> float:
    """n × `srun -n1 true`, max_parallel at a time (xargs -P), the floor of any Slurm executor."""
    t0 = time.perf_counter()
    cp = subprocess.run(["sh", "-c", f"seq {n} | xargs -P{m.cfg.max_parallel} -I{{}} srun -n1 -J bench-{{}} true"],
                        capture_output=True, text=True, env=env, timeout=max(120.0, n * 1.0))
    if cp.returncode != 0:
        raise BenchError(f"bare srun ×{n} exited {cp.returncode}: {cp.stderr.strip()[-300:]!r}")
    return time.perf_counter() - t0


@measurement("slurm", "Slurm executor overhead", needs_gadugi=True)
def slurm(m: Recorder):
    if subprocess.run(["sh", "-c", "command -v srun"], capture_output=True).returncode != 0:
        for t in ("slurm per-task overhead measured",):
            m.target(t, None, "no srun here ('make test-slurm' installs Slurm)")
        return
    n = m.cfg.sizes["slurm_tasks"]
    started = None
    conf = os.environ.get("SLURM_CONF")
    if not conf:
        started = m.ctx.workdir("slurm-cluster")
        subprocess.run([str(REPO / "Tests/slurm/cluster.sh"), "start", str(started)], check=True,
                       capture_output=True, text=True, timeout=120)
        conf = str(started / "slurm.conf")
    env = clean_env(SLURM_CONF=conf)
    try:
        walls = {"bare": [], "local": [], "slurm": []}
        for rep in m.reps():
            walls["bare"].append(_bare_srun(m, n, env))
            walls["local"].append(_slurm_files_run(m, n, "local", env))
            walls["slurm"].append(_slurm_files_run(m, n, "slurm", env))
            m.log(f"rep {rep}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in walls.items()))
    finally:
        if started:
            subprocess.run([str(REPO / "Tests/slurm/cluster.sh"), "stop", str(started)], capture_output=True, timeout=120)
    p = m.cfg.max_parallel
    # Slot time per task: wall × slots ÷ tasks (what one task costs a slot, start to end).
    per = {k: [w * p / n * 1000 for w in v] for k, v in walls.items()}
    m.row(f"bare `srun -n1 true`, {n} at {p} at a time", per["bare"], "ms/task", 1, note="slot time: wall × slots ÷ tasks")
    m.row("gadugi, executor local, agent true", per["local"], "ms/task", 1)
    m.row("gadugi, executor slurm, agent true", per["slurm"], "ms/task", 1)
    over_bare = [s - b for s, b in zip(per["slurm"], per["bare"])]
    over_local = [s - lo for s, lo in zip(per["slurm"], per["local"])]
    m.row("slurm executor − bare srun", over_bare, "ms/task", 1, note="paired by repetition")
    m.row("slurm executor − local executor", over_local, "ms/task", 1, note="paired by repetition")
    m.target("slurm per-task overhead measured", True,
             f"{median(over_bare):.1f} ms/task over bare srun, {median(over_local):.1f} ms/task over local")
    m.note(f"{n} prompt files per run through `gadugi run --isolation none --max-parallel {p} --agent true "
           "[--executor slurm]` on a single-node Slurm (Tests/slurm/cluster.sh, batch_sched_delay=0); bare: "
           f"`seq {n} | xargs -P{p} srun -n1 true`.")
    m.data = {"n": n, "walls_s": walls, "per_task_ms": per}


# ============================================================================= slurm_pending

# A stand-in srun: a task named hold-* stays pending for good (as a job Slurm never starts: its
# step never runs, so no slurm_job file is written); any other runs at once, as on a node.
_STANDIN_SRUN = """#!/bin/sh
for a in "$@"; do case $a in --job-name=gadugi-hold-*) exec sleep 100000;; esac; done
while [ $# -gt 0 ]; do case $1 in -*) shift;; *) break;; esac; done
SLURM_JOB_ID=1; export SLURM_JOB_ID
exec "$@"
"""


def _pending_round_trips(m: Recorder, pending: int, probes: int) -> list[float]:
    """With `pending` tasks held pending in (stand-in) Slurm, drop `probes` prompts one at a time
    and time each from its rename into incoming/ to its prompt in done/ (ms)."""
    ctx = m.ctx
    root = ctx.init_root(f"slurm-pending-{pending}")
    q = ctx.queue(root)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(_STANDIN_SRUN)
    (bin_dir / "srun").chmod(0o755)
    env = clean_env(PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    for i in range(pending):
        (q / "incoming" / f"hold-{i:05d}.md").write_text("Stays pending.\n")
    cmd = [ctx.cfg.gadugi, "run", "--root", str(root), "--isolation", "none", "--executor", "slurm",
           "--max-parallel", str(pending + 1), "--agent", "true"]
    coord = ctx.launch(cmd, root / "coordinator.out", root / "coordinator.err", env=env)
    lat = []
    try:
        running = q / "running"
        if not wait_for(lambda: len(os.listdir(running)) >= pending, max(60.0, pending * 0.2), 0.05):
            raise BenchError(f"{pending} tasks did not all start: {len(os.listdir(running))} in running/; "
                             f"stderr: {coord.stderr_tail()!r}")
        time.sleep(1.0)  # past the coordinator's first ticks over them
        for i in range(probes):
            name = f"probe-{i:03d}.md"
            tmp = q / "tmp" / name
            tmp.write_text("Runs at once.\n")
            done = q / "done" / name
            t0 = time.perf_counter()
            os.rename(tmp, q / "incoming" / name)
            if not wait_for(done.exists, 30.0, 0.0002):
                raise BenchError(f"probe {name} did not finish with {pending} pending; stderr: {coord.stderr_tail()!r}")
            lat.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.02)
    finally:
        if pending:
            ctx.gadugi("cancel", "--root", str(root), "--all", check=False, timeout=120, env=env)
            wait_for(lambda: not os.listdir(q / "running"), 60.0, 0.05)
        coord.signal(signal.SIGTERM)
        coord.wait(60)
        ctx.reap_orphans()
    return lat


@measurement("slurm-pending", "Coordinator latency with tasks pending in Slurm", needs_gadugi=True)
def slurm_pending(m: Recorder):
    n = m.cfg.sizes["slurm_pending_tasks"]
    probes = 30
    runs = {0: [], n: []}
    for rep in m.reps():
        for pending in runs:
            trips = _pending_round_trips(m, pending, probes)
            runs[pending].append(median(trips))
            m.log(f"rep {rep}: {pending} pending: median round trip {runs[pending][-1]:.2f} ms")
    m.row("round trip of a `true` task, nothing pending", runs[0], "ms", 2,
          note=f"median of {probes} per repetition: rename into incoming/ → prompt in done/")
    m.row(f"the same with {n} tasks pending in Slurm", runs[n], "ms", 2)
    ratio = median(runs[n]) / median(runs[0])
    m.target(f"latency flat with {n} pending (≤ 1.5× of none)", ratio <= 1.5,
             f"{median(runs[n]):.2f} vs {median(runs[0]):.2f} ms ({ratio:.2f}×)")
    m.note("A stand-in srun on PATH keeps tasks named hold-* pending for good (no step runs, no slurm_job "
           f"file) and runs others at once; `gadugi run --executor slurm --max-parallel {n}+1 --agent true`, "
           "then one probe prompt at a time.")
    m.data = {"pending": n, "median_round_trip_ms": {str(k): v for k, v in runs.items()}}
