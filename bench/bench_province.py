"""Benchmark of ``planner province``: serial vs a LocalCluster, check and scenario.

Usage::

    python bench/bench_province.py [--counties 20] [--seed 0] [--median 40] [--min 20]
                                   [--max 80] [--workers 2] [--repeat N] [--out DIR]
                                   [--modes check plan]

e.g. ``--counties 20 --repeat 3 --mode check`` (check only, median of 3) or
``--counties 20 --mode plan`` (the demo-like scenario once).

Writes a synthetic province (:func:`planner.io.synth_province.synth_province`; by
default counties of 20–80 schools around a median of 40, the size of the bundled
Yunxi district with its 34 schools, so that the demo-like scenario takes seconds per
county), then for each mode — ``check`` (load and check every county) and ``plan``
(the demo-like scenario ``scenarios/province-demo.yaml``: the demo's
``yunxi-2024.yaml`` settings, with the model choosing the closures since a synthetic
county has no closure list of its own: consolidation ``optimise``, rotation 10 % / 20 %,
catchments of both stages, time limit 60 s, seed 0) — runs the province twice: serially
in this process (``--workers 0``, no Dask) and on a ``LocalCluster`` of ``--workers``
processes with one thread each, ``--repeat`` times in turn (serial, cluster, serial ...).
It prints the median wall times and every run's, the ratio serial / cluster (the
speed-up), every county's task time (median) with its size, the machine's load
average before, after each repeat and at the end, whether both first runs wrote the
same files and which counties differ, the counties
with a solve stopped at its time limit (not reproducible: a difference there is
expected, any other is flagged), and estimates the time for 122 counties on 16 cores
from the measured per-county cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.core.params import ProvinceParams, SynthProvinceParams
from planner.io.synth_province import county_sizes, synth_province
from planner.plans.scenario import load_scenario
from planner.province import run_province

#: the demo's settings on every county, the closures chosen by the model
TEMPLATE = Path(__file__).resolve().parents[1] / "scenarios" / "province-demo.yaml"


def _tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` but the province's timings.json (the plans'
    summary.json hold no time: solve_seconds is null, times are in timings.json)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix() != "timings.json"}


def _run(counties: Path, out: Path, scen, workers: int) -> tuple[float, object]:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = run_province(counties, out, scen, ProvinceParams(workers=workers))
    return time.perf_counter() - t0, res


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _cluster_start(workers: int) -> float:
    """Seconds to start and close a LocalCluster like the province's, with no task."""
    import logging

    import dask
    from distributed import Client, LocalCluster
    t0 = time.perf_counter()
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
    Client(cluster).close()
    cluster.close()
    return time.perf_counter() - t0


def _differing(a: Path, b: Path) -> list[str]:
    """The counties whose files differ between two runs (the province's timings.json
    aside), and ``province`` for the province's files."""
    ta, tb = _tree(a), _tree(b)
    out = set()
    for k in sorted(set(ta) | set(tb)):
        if ta.get(k) != tb.get(k):
            out.add(k.split("/")[1] if k.startswith("counties/") else "province")
    return sorted(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counties", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--median", type=int, default=40)
    ap.add_argument("--min", type=int, default=20)
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs of each (serial, then the cluster, in turn); the median is shown")
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-province"))
    ap.add_argument("--modes", "--mode", nargs="+", default=["check", "plan"],
                    choices=["check", "plan"])
    a = ap.parse_args()
    if a.repeat < 1 or a.workers < 1:
        ap.error("--repeat and --workers: at least 1")

    params = SynthProvinceParams(seed=a.seed, min_schools=a.min, max_schools=a.max,
                                 median_schools=a.median)
    sizes = county_sizes(a.counties, params)
    shutil.rmtree(a.out, ignore_errors=True)
    t0 = time.perf_counter()
    folders = synth_province(a.counties, a.out / "counties", params, sizes=sizes)
    print(f"synthetic province: {a.counties} counties, {sum(sizes)} schools "
          f"({min(sizes)}-{max(sizes)}, median {statistics.median(sizes):.0f}), "
          f"written in {time.perf_counter() - t0:.1f} s")
    size = {f.name: n for f, n in zip(folders, sizes)}
    print(f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) before: {_load()}")
    start = statistics.median(_cluster_start(a.workers) for _ in range(a.repeat))
    print(f"LocalCluster of {a.workers} workers started and closed, no task: {start:.1f} s "
          f"(median of {a.repeat})")

    for mode in a.modes:
        scen = load_scenario(TEMPLATE) if mode == "plan" else None
        serial: list[float] = []
        par: list[float] = []
        tasks: dict[str, list[float]] = {}
        loads = []
        for r in range(a.repeat):      # in turn, so that a change of load hits both
            ts, rs = _run(a.out / "counties", a.out / f"{mode}-serial-{r}", scen, 0)
            tp, rp = _run(a.out / "counties", a.out / f"{mode}-dask{a.workers}-{r}", scen,
                          a.workers)
            serial.append(ts)
            par.append(tp)
            loads.append(_load())
            for k, v in rs.seconds.items():
                tasks.setdefault(k, []).append(v)
            if r == 0:
                first_s, first_p = rs, rp
        s_med, p_med = statistics.median(serial), statistics.median(par)
        task = {k: statistics.median(v) for k, v in tasks.items()}
        total_task = sum(task.values())
        statuses = sorted({c["status"] for c in first_s.counties})
        print(f"\n== {mode}: {'scenario ' + scen.name if scen else 'check only'}"
              f" (median of {a.repeat})")
        print(f"serial (this process, no Dask): {s_med:8.1f} s   runs "
              + ", ".join(f"{x:.1f}" for x in serial)
              + f"   (sum of county tasks {total_task:.1f} s)")
        print(f"LocalCluster {a.workers} workers:     {p_med:8.1f} s   runs "
              + ", ".join(f"{x:.1f}" for x in par))
        print(f"ratio serial / {a.workers} workers: {s_med / p_med:.2f}x (speed-up; "
              f"per run " + ", ".join(f"{x / y:.2f}" for x, y in zip(serial, par)) + ")")
        print("load average (1, 5, 15 min) after each repeat: " + "; ".join(loads))
        print(f"statuses: {statuses}")
        stopped = {c["key"]: sorted(c.get("time_limited") or {})
                   for res in (first_s, first_p) for c in res.counties
                   if c.get("time_limited")}
        diff = _differing(a.out / f"{mode}-serial-0", a.out / f"{mode}-dask{a.workers}-0")
        print(f"same files serial and {a.workers} workers (first repeat): {not diff}"
              + (f"; differing: {', '.join(diff)}" if diff else ""))
        print("counties with a solve stopped at its time limit (not reproducible): "
              + (", ".join(f"{k} ({'/'.join(v)})" for k, v in sorted(stopped.items()))
                 or "none"))
        unexplained = [k for k in diff if k != "province" and k not in stopped]
        if unexplained:
            print(f"DIFFERING WITHOUT A TIME LIMIT: {', '.join(unexplained)}")
        per = sorted(task.items(), key=lambda kv: (size[kv[0]], kv[0]))
        print("per county (serial task seconds, median): " +
              ", ".join(f"{k} {size[k]} schools {v:.1f}" for k, v in per))
        mean = total_task / len(task)
        per_school = total_task / sum(size[k] for k in task)
        print(f"mean per county {mean:.2f} s, {1000 * per_school:.0f} ms per school")
        # 122 counties on 16 cores: the serial cost spread over 16 workers at the
        # parallel efficiency measured here (speed-up / workers), once with the cluster's
        # start-up counted in the efficiency (pessimistic: 16 workers start in about the
        # same seconds as 2) and once as a fixed cost plus the work at the efficiency
        # of the tasks alone
        eff = min(1.0, (s_med / p_med) / a.workers)
        work_eff = min(1.0, total_task / a.workers / max(p_med - start, 1e-9))
        real = county_sizes(122, SynthProvinceParams(seed=a.seed))
        for what, work in (("at these sizes", 122 * mean),
                           (f"for {sum(real)} schools of Hunan-sized counties (median 150), "
                            "if the cost per school held", sum(real) * per_school)):
            a_s, b_s = work / (16 * eff), start + work / (16 * work_eff)
            print(f"estimate, 122 counties on 16 cores {what}: "
                  f"{a_s / 60:.1f} min = {a_s:.0f} s (efficiency {eff:.2f}, start-up "
                  f"included); {b_s / 60:.1f} min = {b_s:.0f} s (start-up "
                  f"{start:.0f} s + tasks at efficiency {work_eff:.2f})")
    print(f"\nload average (1, 5, 15 min) at the end: {_load()}")


if __name__ == "__main__":
    main()
