"""Framework for the gadugi benchmarks: configuration, the measurement registry,
statistics, process helpers and the per-measurement recorder.

A measurement is one function registered with @measurement(...) in measurements.py.
It receives a Recorder `m` (m.ctx is the shared Context) and records:
  m.row(metric, values, unit)      one table row; `values` has one number per repetition
  m.target(text, met, value)       a pass/fail target
  m.note(text)                     free text shown under the table
  m.data[...] = ...                raw data kept in the JSON results
Raise BenchError with a precise message when gadugi (or a tool) misbehaves; the harness
records it, marks the measurement as failed and goes on with the next one.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime as _dt
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

# ----------------------------------------------------------------------------- errors


class BenchError(Exception):
    """Something misbehaved (gadugi, a tool, the machine). The message must say what, precisely."""


# ----------------------------------------------------------------------------- registry

REGISTRY: list["Measurement"] = []


@dataclasses.dataclass
class Measurement:
    name: str
    title: str
    func: Callable[["Recorder"], None]
    needs_gadugi: bool


def measurement(name: str, title: str, needs_gadugi: bool = False):
    """Register a measurement. Order of registration is the order of the runs."""

    def deco(func):
        REGISTRY.append(Measurement(name, title, func, needs_gadugi))
        return func

    return deco


# ----------------------------------------------------------------------------- statistics


def percentile(sorted_vals: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(-(-p * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def median(vals: list[float]) -> float:
    s = sorted(v for v in vals if v is not None)
    if not s:
        return float("nan")
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def summary(vals: list[float]) -> dict:
    s = [v for v in vals if v is not None]
    if not s:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    return {"median": median(s), "min": min(s), "max": max(s), "n": len(s), "values": s}


# ----------------------------------------------------------------------------- config / context


@dataclasses.dataclass
class Config:
    quick: bool
    reps: int
    gadugi: str | None          # path of the gadugi binary, None = skip gadugi measurements
    max_parallel: int
    bench_dir: Path             # Benchmarks/
    work_dir: Path              # Benchmarks/work/<run id>/
    results_dir: Path           # Benchmarks/results/
    sizes: dict                 # size knobs, see bench.py
    keep_work: bool
    run_id: str


class Context:
    def __init__(self, config: Config):
        self.cfg = config
        self._counter = 0
        self.cache: dict = {}          # shared between measurements (e.g. identical gadugi drains)
        self.live_children: set[int] = set()
        config.work_dir.mkdir(parents=True, exist_ok=True)
        _become_subreaper()

    @property
    def has_gadugi(self) -> bool:
        return bool(self.cfg.gadugi)

    # --- directories --------------------------------------------------------------------

    def workdir(self, label: str) -> Path:
        """A fresh, never reused directory. Nothing is deleted before the very end of the run,
        so one measurement's clean-up cannot slow the next one's file creation (see README)."""
        self._counter += 1
        d = self.cfg.work_dir / f"{self._counter:03d}-{label}"
        d.mkdir(parents=True)
        return d

    # --- gadugi ---------------------------------------------------------------------------

    def gadugi(self, *args: str, check: bool = True, timeout: float = 120, env=None) -> subprocess.CompletedProcess:
        if not self.cfg.gadugi:
            raise BenchError("gadugi binary not available")
        cmd = [self.cfg.gadugi, *args]
        try:
            cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or clean_env(),
                                stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise BenchError(f"`{shlex.join(cmd)}` did not finish within {timeout} s (hang?)") from e
        if check and cp.returncode != 0:
            raise BenchError(f"`{shlex.join(cmd)}` exited {cp.returncode}; stderr: {cp.stderr.strip()[-800:]!r}")
        return cp

    def init_root(self, label: str) -> Path:
        root = self.workdir(label)
        self.gadugi("init", "--root", str(root))
        q = root / ".gadugi" / "queue"
        for sub in ("tmp", "incoming"):
            if not (q / sub).is_dir():
                raise BenchError(f"`gadugi init --root {root}` did not create {q / sub}")
        return root

    @staticmethod
    def queue(root: Path) -> Path:
        return root / ".gadugi" / "queue"

    def place_prompts(self, root: Path, n: int, prefix: str = "t", into: str = "incoming",
                      front_matter: str | Callable[[int], str] = "") -> list[str]:
        """Write n one-line prompts Maildir style (queue/tmp, then rename into queue/<into>).
        into="tmp" leaves them in tmp (for the latency measurement). front_matter: text put before
        each prompt's line (e.g. "---\\nisolation: none\\n---\\n"), or a function of the prompt's
        number (1-based) returning it. Returns the file names."""
        q = self.queue(root)
        names = []
        width = max(5, len(str(n)))
        for i in range(1, n + 1):
            name = f"{prefix}{i:0{width}d}.md"
            tmp = q / "tmp" / name
            fm = front_matter(i) if callable(front_matter) else front_matter
            with open(tmp, "w") as f:
                f.write(f"{fm}Benchmark prompt {i}: do nothing.\n")
            if into != "tmp":
                os.rename(tmp, q / into / name)
            names.append(name)
        return names

    def write_prompt_files(self, d: Path, n: int, prefix: str = "t") -> list[str]:
        d.mkdir(parents=True, exist_ok=True)
        width = max(5, len(str(n)))
        out = []
        for i in range(1, n + 1):
            p = d / f"{prefix}{i:0{width}d}.md"
            p.write_text(f"Benchmark prompt {i}: do nothing.\n")
            out.append(str(p))
        return out

    def states(self, root: Path) -> dict:
        """Count the files per queue folder (the truth about task states). .reason files excluded."""
        q = self.queue(root)
        out = {}
        for sub in ("incoming", "claimed", "running", "done", "failed", "rejected"):
            try:
                names = os.listdir(q / sub)
            except FileNotFoundError:
                names = []
            if sub == "rejected":
                names = [x for x in names if not x.endswith(".reason")]
            out[sub] = len(names)
        return out

    def expect_all_done(self, root: Path, n: int, what: str) -> dict:
        st = self.states(root)
        want = {"incoming": 0, "claimed": 0, "running": 0, "done": n, "failed": 0, "rejected": 0}
        if st != want:
            detail = ""
            q = self.queue(root)
            failed = sorted(os.listdir(q / "failed"))[:1] if (q / "failed").is_dir() else []
            if failed:
                tid = failed[0].rsplit(".", 1)[0]
                tdir = root / ".gadugi" / "monitoring" / "tasks" / tid
                for fn in ("progress.json", "output.log", "outcome"):
                    p = tdir / fn
                    if p.exists():
                        detail += f"\n    {fn} of {tid}: {p.read_text(errors='replace')[:400]!r}"
            raise BenchError(f"{what}: expected every one of {n} tasks in done/, found {st}{detail}")
        return st

    # --- processes --------------------------------------------------------------------------

    def launch(self, cmd: list[str], out: Path, err: Path, env=None, sample_rss: bool = True) -> "Tracked":
        """Start cmd as a grandchild through a tiny /bin/sh (which exits at once), so that:
        - its ru_maxrss is not polluted by this Python process' memory (on exec, Linux records
          the old mm's high-water mark, and a vfork/fork child of Python carries Python's);
        - it is re-parented to us (we are a child subreaper), so we can read its own CPU time
          from /proc/<pid>/stat while it is a zombie, then reap it with wait4 for ru_maxrss.
        `env --default-signal` undoes sh's SIG_IGN of INT/QUIT for background jobs."""
        script = 'o=$1; e=$2; shift 2; env --default-signal=INT,QUIT "$@" </dev/null >"$o" 2>"$e" & echo $!'
        t0_real = time.time_ns()
        t0 = time.perf_counter_ns()
        cp = subprocess.run(["/bin/sh", "-c", script, "sh", str(out), str(err), *cmd],
                            stdout=subprocess.PIPE, text=True, env=env or clean_env())
        pid = int(cp.stdout.split()[-1])
        tr = Tracked(self, pid, t0, cmd, out, err, sample_rss)
        tr.t0_real = t0_real
        return tr

    def reap_orphans(self):
        """Reap re-parented zombies (e.g. agents that outlived their coordinator)."""
        if self.live_children:
            return
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return


@dataclasses.dataclass
class ProcStats:
    pid: int
    exit_code: int | None      # None when killed by a signal
    signal: int | None
    wall_s: float
    self_cpu_s: float | None   # utime+stime of the process itself (10 ms resolution)
    children_cpu_s: float | None  # of its reaped children (agents, wrappers)
    ru_maxrss_kb: int          # max RSS of it and its reaped children (wait4)
    vmhwm_kb: int | None       # last VmHWM sample of the process itself
    timed_out: bool = False

    def as_dict(self):
        return dataclasses.asdict(self)


class Tracked:
    """A process started by Context.launch."""

    def __init__(self, ctx: Context, pid: int, t0: int, cmd, out: Path, err: Path, sample_rss: bool):
        self.ctx, self.pid, self.t0, self.cmd, self.out, self.err = ctx, pid, t0, cmd, out, err
        self.pidfd = os.pidfd_open(pid)
        ctx.live_children.add(pid)
        self.vmhwm_kb: int | None = None
        self._stop = threading.Event()
        self._sampler = None
        if sample_rss:
            self._sampler = threading.Thread(target=self._sample, daemon=True)
            self._sampler.start()

    def _sample(self):
        path = f"/proc/{self.pid}/status"
        while not self._stop.is_set():
            try:
                with open(path) as f:
                    txt = f.read()
            except OSError:
                return
            for line in txt.splitlines():
                if line.startswith("VmHWM:"):
                    self.vmhwm_kb = int(line.split()[1])
                    break
            else:
                return  # zombie: no memory any more
            self._stop.wait(0.02)

    def alive(self) -> bool:
        r, _, _ = select.select([self.pidfd], [], [], 0)
        return not r

    def signal(self, sig: int):
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float, before_kill=None) -> ProcStats:
        """Wait for exit (SIGKILL after `timeout` s; `before_kill()` runs first, for diagnostics)."""
        r, _, _ = select.select([self.pidfd], [], [], timeout)
        t1 = time.perf_counter_ns()
        timed_out = not r
        if timed_out:
            if before_kill:
                before_kill()
            self.signal(signal.SIGKILL)
            select.select([self.pidfd], [], [], 10)
            t1 = time.perf_counter_ns()
        self._stop.set()
        if self._sampler:
            self._sampler.join()
        self_cpu = children_cpu = None
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            tck = os.sysconf("SC_CLK_TCK")
            self_cpu = (int(fields[11]) + int(fields[12])) / tck
            children_cpu = (int(fields[13]) + int(fields[14])) / tck
        except (OSError, ValueError, IndexError):
            pass
        _, status, ru = os.wait4(self.pid, 0)
        os.close(self.pidfd)
        self.ctx.live_children.discard(self.pid)
        ec = os.waitstatus_to_exitcode(status)
        return ProcStats(
            pid=self.pid,
            exit_code=ec if ec >= 0 else None,
            signal=-ec if ec < 0 else None,
            wall_s=(t1 - self.t0) / 1e9,
            self_cpu_s=self_cpu,
            children_cpu_s=children_cpu,
            ru_maxrss_kb=ru.ru_maxrss,
            vmhwm_kb=self.vmhwm_kb,
            timed_out=timed_out,
        )

    def stderr_tail(self, n: int = 800) -> str:
        try:
            return self.err.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def run_timed(script: str, env=None, timeout: float = 600, cwd=None) -> tuple[float, subprocess.CompletedProcess]:
    """Run a bash script; return (wall seconds from spawn to exit, completed process)."""
    t0 = time.perf_counter_ns()
    try:
        cp = subprocess.run(["/bin/bash", "-c", script], capture_output=True, text=True, env=env or clean_env(),
                            timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"`{script}` did not finish within {timeout} s") from e
    t1 = time.perf_counter_ns()
    if cp.returncode != 0:
        raise BenchError(f"`{script}` exited {cp.returncode}; stderr: {cp.stderr.strip()[-600:]!r}")
    return (t1 - t0) / 1e9, cp


def clean_env(**extra) -> dict:
    """The environment for everything we start: no GADUGI_* from the caller, no pyenv noise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GADUGI_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


# ----------------------------------------------------------------------------- recorder


class Recorder:
    def __init__(self, ctx: Context, meas: Measurement):
        self.ctx = ctx
        self.name = meas.name
        self.title = meas.title
        self.rows: list[dict] = []
        self.targets: list[dict] = []
        self.notes: list[str] = []
        self.data: dict = {}
        self.error: str | None = None
        self.problems: list[str] = []
        self.seconds: float | None = None

    @property
    def cfg(self) -> Config:
        return self.ctx.cfg

    def reps(self) -> range:
        return range(1, self.cfg.reps + 1)

    def row(self, metric: str, values: list[float] | float, unit: str = "", digits: int = 1, note: str = ""):
        if not isinstance(values, list):
            values = [values]
        s = summary(values)
        self.rows.append({"metric": metric, "unit": unit, "digits": digits, "note": note, **s})
        return s

    def target(self, text: str, met: bool | None, value: str):
        self.targets.append({"target": text, "met": met, "value": value})

    def note(self, text: str):
        self.notes.append(text)

    def problem(self, text: str):
        """gadugi did something wrong but the numbers are still usable: shown prominently."""
        self.problems.append(text)
        self.log("PROBLEM: " + text)

    def log(self, text: str):
        print(f"  [{self.name}] {text}", flush=True)

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "rows": self.rows, "targets": self.targets,
                "notes": self.notes, "problems": self.problems, "data": self.data, "error": self.error, "seconds": self.seconds}


# ----------------------------------------------------------------------------- output


def fmt_num(v, digits: int) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    if abs(v) >= 1000 and digits <= 1:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def markdown(results: list[dict], meta: dict) -> str:
    L = []
    L.append(f"## gadugi benchmarks ({meta['mode']} mode, {meta['reps']} repetition(s), {meta['started_at']})")
    L.append("")
    L.append(f"Machine: {meta['machine']}. gadugi: {meta.get('gadugi') or 'not measured'}. "
             f"Concurrency 2 everywhere (`--max-parallel {meta['max_parallel']}`, `-P2`, `-j2`, `tsp -S 2`).")
    L.append("")
    L.append("| measurement | metric | median | min – max | unit |")
    L.append("|---|---|---:|---:|---|")
    for r in results:
        if r["error"] and not r["rows"]:
            L.append(f"| {r['title']} | **ERROR** | | | {r['error'].splitlines()[0][:150]} |")
            continue
        first = True
        for row in r["rows"]:
            d = row["digits"]
            rng = "–" if row["n"] <= 1 else f"{fmt_num(row['min'], d)} – {fmt_num(row['max'], d)}"
            metric = row["metric"] + (f" ({row['note']})" if row["note"] else "")
            L.append(f"| {r['title'] if first else ''} | {metric} | {fmt_num(row['median'], d)} | {rng} | {row['unit']} |")
            first = False
        if r["error"]:
            L.append(f"| | **ERROR** | | | {r['error'].splitlines()[0][:150]} |")
    L.append("")
    targets = [(r["title"], t) for r in results for t in r["targets"]]
    if targets:
        L.append("| target | value | result |")
        L.append("|---|---|---|")
        for _, t in targets:
            res = {True: "**met**", False: "**missed**", None: "not measured"}[t["met"]]
            L.append(f"| {t['target']} | {t['value']} | {res} |")
        L.append("")
    notes = [(r["title"], n) for r in results for n in r["notes"]]
    errors = [(r["title"], r["error"]) for r in results if r["error"]]
    problems = [(r["title"], p) for r in results for p in r.get("problems", [])]
    if notes or errors or problems or meta.get("notes"):
        L.append("Notes:")
        L.append("")
        for n in meta.get("notes", []):
            L.append(f"- {n}")
        for title, n in notes:
            L.append(f"- {title}: {n}")
        for title, p in problems:
            L.append(f"- **{title}, problem with gadugi**: {p}")
        for title, e in errors:
            L.append(f"- **{title} failed**: {e}")
        L.append("")
    return "\n".join(L)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(path: Path, obj):
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str) + "\n")
    os.replace(tmp, path)


def rm_tree_counting(path: Path) -> int:
    n = 0
    for _, dirs, files in os.walk(path):
        n += len(files) + len(dirs)
    shutil.rmtree(path, ignore_errors=True)
    return n
