"""bench.png from the results, with gnuplot (Debian gnuplot-nox, pngcairo terminal).

Panels: pickup latency CDF (gadugi vs the floor), throughput bars with min–max whiskers
against the other tools, and per-task cost against the number of tasks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from benchlib import median


SHORT = {"gadugi": "gadugi\\n(queued)", "gadugi-fresh": "gadugi\\n(fresh)", "gadugi-files": "gadugi\\nrun FILE",
         "xargs": "xargs -P2", "tsp": "tsp -S 2", "parallel": "parallel -j2", "nq": "nq\\n(serial)"}


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _cdf(path: Path, samples: list[float]):
    s = sorted(samples)
    with open(path, "w") as f:
        for i, v in enumerate(s, 1):
            f.write(f"{max(v, 0.001):.4f} {i / len(s):.5f}\n")


def plot(results: dict, out_png: Path) -> str | None:
    """Returns None on success, else why not."""
    if not shutil.which("gnuplot"):
        return "gnuplot not installed"
    d = out_png.parent / "plot-data"
    d.mkdir(parents=True, exist_ok=True)
    by = {r["name"]: r for r in results["measurements"]}
    gp = [
        "set terminal pngcairo size 1650,520 font 'DejaVu Sans,10'",
        f"set output {_q(str(out_png))}",
        f"set multiplot layout 1,3 title {_q('gadugi benchmarks — ' + results['meta']['mode'] + ' mode, ' + results['meta']['started_at'])}",
        "set grid",
    ]

    # --- 1. latency CDF
    pk = (by.get("pickup") or {}).get("data") or {}
    g = [v for rep in pk.get("gadugi_ms", []) for v in rep]
    fl = [v for rep in pk.get("floor_ms", []) for v in rep]
    gp += ["set title 'Pickup latency: rename into incoming → agent start'", "set logscale x",
           "set xlabel 'latency (ms, log scale)'", "set ylabel 'fraction of prompts'", "set yrange [0:1]",
           "set key bottom right", f"set xrange [0.1:{max(30, max(g + fl + [1]) * 1.2):.0f}]"]
    series = []
    if g:
        _cdf(d / "lat_gadugi.dat", g)
        series.append(f"{_q(str(d / 'lat_gadugi.dat'))} using 1:2 with steps lw 2 lc rgb '#1f77b4' "
                      f"title 'gadugi (p50 {median(g):.2f} ms)'")
    if fl:
        _cdf(d / "lat_floor.dat", fl)
        series.append(f"{_q(str(d / 'lat_floor.dat'))} using 1:2 with steps lw 2 lc rgb '#7f7f7f' "
                      f"title 'floor: sh started directly (p50 {median(fl):.2f} ms)'")
    gp += ["set arrow 1 from 3, graph 0 to 3, graph 1 nohead dt 2 lc rgb '#2ca02c'",
           "set arrow 2 from 10, graph 0 to 10, graph 1 nohead dt 2 lc rgb '#d62728'",
           "set label 1 'p50 target' at 3, graph 0.75 rotate by 90 offset -1,0 tc rgb '#2ca02c'",
           "set label 2 'p99 target' at 10, graph 0.75 rotate by 90 offset -1,0 tc rgb '#d62728'"]
    gp += ["plot " + ", ".join(series) if series else "plot [1:10] NaN title 'not measured'"]
    gp += ["unset arrow", "unset label", "unset logscale", "set xrange [*:*]", "set yrange [*:*]"]

    # --- 2. throughput bars
    tp = (by.get("throughput") or {}).get("data") or {}
    rates, labels = tp.get("rates") or {}, tp.get("labels") or {}
    with open(d / "throughput.dat", "w") as f:
        for i, (k, v) in enumerate(rates.items()):
            lab = SHORT.get(k, labels.get(k, k))
            f.write(f'{i} "{lab}" {median(v):.1f} {min(v):.1f} {max(v):.1f} {1 if k.startswith("gadugi") else 0}\n')
    gp += [f"set title {_q('Throughput: ' + str(tp.get('n', '?')) + ' no-op tasks, concurrency 2 (median, min–max)' + chr(10) + '(fresh: prompts < 2 s old at start)')}",
           "set xlabel ''", "set ylabel 'tasks per second'", "set style fill solid 0.8 border -1",
           "set boxwidth 0.6", "set xtics font ',9' nomirror", "set bmargin 4", "set yrange [0:*]", "set offsets 0,0,graph 0.08,0", "unset key",
           "set xrange [-0.6:*]"]
    if rates:
        f = _q(str(d / "throughput.dat"))
        gp += [f"plot {f} using 1:3:($6 > 0 ? 0x1f77b4 : 0xaaaaaa):xtic(2) with boxes lc rgb variable, "
               f"{f} using 1:3:4:5 with yerrorbars lc rgb 'black' pt 0, "
               f"{f} using 1:5:(sprintf('%.0f', $3)) with labels offset 0,0.8"]
    else:
        gp += ["plot [0:1] NaN title 'not measured'"]
    gp += ["set offsets 0,0,0,0", "unset bmargin", "set xtics norotate font ',10'", "set yrange [*:*]", "set xrange [*:*]", "set key top right"]

    # --- 3. scaling
    sc = (by.get("scaling") or {}).get("data") or {}
    per = sc.get("per_size") or {}
    with open(d / "scaling.dat", "w") as f:
        for n, v in sorted(((int(k), v) for k, v in per.items())):
            c, w = v["marginal_cpu_ms"], v["wall_ms"]
            f.write(f"{n} {median(c):.4f} {min(c):.4f} {max(c):.4f} {median(w):.4f} {min(w):.4f} {max(w):.4f}\n")
    gp += ["set title 'Per-task cost vs number of tasks (agent true, --max-parallel 2)'", "set logscale x",
           "set xlabel 'tasks in the queue (log scale)'", "set ylabel 'ms per task'", "set yrange [0:*]",
           "set key top right"]
    if per:
        f = _q(str(d / "scaling.dat"))
        gp += [f"plot {f} using 1:5:6:7 with yerrorlines lw 2 lc rgb '#ff7f0e' title 'wall per task', "
               f"{f} using 1:2:3:4 with yerrorlines lw 2 lc rgb '#1f77b4' title 'coordinator CPU per task'"]
    else:
        gp += ["plot [1:10] NaN title 'not measured'"]
    gp += ["unset multiplot"]
    script = d / "bench.gp"
    script.write_text("\n".join(gp) + "\n")
    cp = subprocess.run(["gnuplot", str(script)], capture_output=True, text=True)
    if cp.returncode != 0:
        return f"gnuplot failed: {cp.stderr.strip()[-500:]}"
    return None
