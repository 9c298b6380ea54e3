"""gadugi benchmark harness. Normally started by Benchmarks/run (which builds gadugi and
installs the comparison tools); can be run directly:

    /usr/bin/python3 Benchmarks/bench.py --gadugi .build-bench/release/gadugi [--quick] [--only pickup,throughput]

Writes Benchmarks/results/{results.json,<measurement>.json,table.md,bench.png} and prints the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import benchlib  # noqa: E402
import measurements  # noqa: E402,F401  (registers the measurements)
from benchlib import (REGISTRY, BenchError, Config, Context, Recorder, markdown, now_iso,  # noqa: E402
                      rm_tree_counting, write_json)
from plot import plot  # noqa: E402

SIZES = {
    "full": {"pickup_prompts": 200, "throughput_tasks": 1000, "backlog_tasks": 10000,
             "scaling_tasks": [100, 1000, 10000], "status_runs": 30,
             "worktree_pickup_files": 10000, "backlog_deps_tasks": 10000, "slurm_tasks": 200,
             "slurm_pending_tasks": 500},
    "quick": {"pickup_prompts": 50, "throughput_tasks": 200, "backlog_tasks": 1000,
              "scaling_tasks": [100, 200, 1000], "status_runs": 10,
              "worktree_pickup_files": 1000, "backlog_deps_tasks": 1000, "slurm_tasks": 40,
              "slurm_pending_tasks": 100},
}


def disk_probe(ctx: Context, n: int = 2000) -> float:
    """Empty-file creations per second right now (the disk slows down after bulk deletions)."""
    d = ctx.workdir("diskprobe")
    t0 = time.perf_counter()
    for i in range(n):
        os.close(os.open(d / f"f{i}", os.O_CREAT | os.O_WRONLY, 0o644))
    return n / (time.perf_counter() - t0)


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over `seconds` (whatever else runs on the machine)."""
    def snap():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(v), v[3] + v[4]
    t0, i0 = snap()
    time.sleep(seconds)
    t1, i1 = snap()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return f"{os.cpu_count()} CPUs ({model}), Linux {platform.release()}"


def gadugi_version(path: str | None) -> str | None:
    """gadugi has no --version: name the binary by its build time and a hash prefix."""
    if not path:
        return None
    import hashlib
    h = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    built = time.strftime("%Y-%m-%d %H:%M", time.gmtime(os.stat(path).st_mtime))
    return f"{path} (built {built} UTC, sha256 {h})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, smaller sizes (smoke test)")
    ap.add_argument("--reps", type=int, help="repetitions (default 3, quick 1)")
    ap.add_argument("--gadugi", help="gadugi binary; without it only the other tools are measured")
    ap.add_argument("--only", help="comma-separated measurement names: " + ",".join(m.name for m in REGISTRY))
    ap.add_argument("--max-parallel", type=int, default=2)
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="S",
                    help="first wait up to S seconds for the CPUs to be idle (<10%% busy for 5 s in a row)")
    ap.add_argument("--keep-work", action="store_true", help="do not delete Benchmarks/work/<run> at the end")
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--replot", action="store_true",
                    help="only redo table.md and bench.png from results/results.json")
    a = ap.parse_args()
    if a.replot:
        import json
        rd = Path(a.results)
        results = json.loads((rd / "results.json").read_text())
        why = plot(results, rd / "bench.png")
        table = markdown(results["measurements"], results["meta"])
        (rd / "table.md").write_text(table + "\n")
        print(table)
        sys.exit(f"bench: no plot: {why}" if why else 0)

    mode = "quick" if a.quick else "full"
    run_id = time.strftime("%Y%m%d-%H%M%S")
    gadugi = None
    if a.gadugi:
        gadugi = str(Path(a.gadugi).resolve())
        if not os.access(gadugi, os.X_OK):
            sys.exit(f"bench: {gadugi} is not an executable")
    results_dir = Path(a.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    cfg = Config(quick=a.quick, reps=a.reps or (1 if a.quick else 3), gadugi=gadugi, max_parallel=a.max_parallel,
                 bench_dir=HERE, work_dir=HERE / "work" / run_id, results_dir=results_dir,
                 sizes=SIZES[mode], keep_work=a.keep_work, run_id=run_id)
    stale = [p for p in (HERE / "work").iterdir() if p.name != run_id] if (HERE / "work").is_dir() else []
    ctx = Context(cfg)
    meta = {"mode": mode, "reps": cfg.reps, "started_at": now_iso(), "run_id": run_id, "machine": machine(),
            "gadugi": gadugi_version(gadugi), "max_parallel": cfg.max_parallel, "sizes": cfg.sizes,
            "work_dir": str(cfg.work_dir), "notes": []}
    if a.wait_quiet > 0:
        deadline, quiet = time.monotonic() + a.wait_quiet, 0
        print(f"bench: waiting up to {a.wait_quiet:.0f} s for an idle machine", flush=True)
        while quiet < 5 and time.monotonic() < deadline:
            quiet = quiet + 1 if cpu_busy() < 0.10 else 0
        meta["waited_for_quiet"] = quiet >= 5
    meta["cpu_busy_before"] = round(cpu_busy(), 3)
    meta["disk_creates_per_s_at_start"] = round(disk_probe(ctx))
    meta["notes"].append(f"disk check at start: {meta['disk_creates_per_s_at_start']:,} empty-file creations/s "
                         "(normally ~13,000/s here; a few thousand means the disk is still slow after a bulk deletion)")
    meta["notes"].append("Every measurement works in a fresh directory under Benchmarks/work/<run>/ and nothing is "
                         "deleted until all measurements are done, so no clean-up slows a later measurement.")
    if stale:
        meta["notes"].append(f"left alone (not deleted, to keep this run's disk fast): earlier work dirs "
                             f"{', '.join(p.name for p in stale)}")
    if not gadugi:
        meta["notes"].append("gadugi was not measured (no --gadugi): only the other tools and the floor.")
    print(f"bench: {mode} mode, {cfg.reps} repetition(s), work dir {cfg.work_dir}", flush=True)
    print(f"bench: disk {meta['disk_creates_per_s_at_start']:,} creates/s, CPUs {meta['cpu_busy_before']:.0%} busy "
          "before start", flush=True)
    if meta["cpu_busy_before"] > 0.15:
        print("bench: WARNING: something else is using the CPUs; numbers will be noisy", flush=True)

    only = set(a.only.split(",")) if a.only else None
    if only and only - {m.name for m in REGISTRY}:
        sys.exit(f"bench: unknown measurement(s): {', '.join(only - {m.name for m in REGISTRY})}")
    for meas in REGISTRY:  # no stale per-measurement files from an earlier run
        (results_dir / f"{meas.name}.json").unlink(missing_ok=True)
    out = []
    failed = False
    for meas in REGISTRY:
        if only and meas.name not in only:
            continue
        rec = Recorder(ctx, meas)
        if meas.needs_gadugi and not gadugi:
            rec.error = "skipped: no gadugi binary"
            out.append(rec.as_dict())
            continue
        print(f"bench: {meas.title} ...", flush=True)
        t0 = time.perf_counter()
        try:
            meas.func(rec)
        except BenchError as e:
            rec.error = str(e)
            failed = True
            print(f"bench: {meas.title} FAILED: {e}", flush=True)
        except Exception as e:  # a harness bug: keep going, but say so loudly
            rec.error = f"harness error: {e!r}\n{traceback.format_exc()}"
            failed = True
            traceback.print_exc()
        rec.seconds = round(time.perf_counter() - t0, 1)
        failed = failed or bool(rec.problems)
        d = rec.as_dict()
        out.append(d)
        write_json(results_dir / f"{meas.name}.json", d)

    meta["finished_at"] = now_iso()
    meta["cpu_busy_after"] = round(cpu_busy(), 3)
    meta["notes"].insert(0, f"other load: CPUs {meta['cpu_busy_before']:.0%} busy in the second before the run, "
                         f"{meta['cpu_busy_after']:.0%} in the second after it (should be ~0% for clean numbers)")
    results = {"meta": meta, "measurements": out}
    why = plot(results, results_dir / "bench.png")
    if why:
        meta["notes"].append(f"no plot: {why}")
    table = markdown(out, meta)
    (results_dir / "table.md").write_text(table + "\n")
    write_json(results_dir / "results.json", results)
    hist = results_dir / "history"
    hist.mkdir(exist_ok=True)
    write_json(hist / f"{run_id}-{mode}.json", results)
    print()
    print(table)
    print(f"bench: results in {results_dir}/ (results.json, table.md{', bench.png' if not why else ''})")

    if cfg.keep_work:
        print(f"bench: kept {cfg.work_dir}")
    else:
        t0 = time.perf_counter()
        n = rm_tree_counting(cfg.work_dir)
        print(f"bench: deleted {n:,} files and folders of {cfg.work_dir} in {time.perf_counter() - t0:.1f} s; "
              "file creation on this disk may be slow for a few minutes now", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
