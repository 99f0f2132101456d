"""Benchmark of ``planner province``: serial vs a LocalCluster, check and scenario.

Usage::

    python bench/bench_province.py [--counties 20] [--seed 0] [--median 40] [--min 20]
                                   [--max 80] [--workers 2] [--out DIR] [--modes check plan]

Writes a synthetic province (:func:`planner.io.synth_province.synth_province`; by
default counties of 20–80 schools around a median of 40, the size of the bundled
Yunxi district with its 34 schools, so that the demo-like scenario takes seconds per
county), then for each mode — ``check`` (load and check every county) and ``plan``
(the demo-like scenario ``scenarios/province-demo.yaml``: the demo's
``yunxi-2024.yaml`` settings, with the model choosing the closures since a synthetic
county has no closure list of its own: consolidation ``optimise``, rotation 10 % / 20 %,
catchments of both stages, time limit 60 s, seed 0) — runs the province twice: serially
in this process (``--workers 0``, no Dask) and on a ``LocalCluster`` of ``--workers`` processes with
one thread each. It prints the wall times, the speed-up, every county's task time
with its size, the machine's load average before and after, checks that both runs
wrote the same files (the plans' ``solve_seconds`` aside) and estimates the time for
122 counties on 16 cores from the measured per-county cost.
"""

from __future__ import annotations

import argparse
import json
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


def _tree(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if not p.is_file() or rel == "timings.json":
            continue
        data = p.read_bytes()
        if rel.endswith("summary.json"):
            out[rel] = _drop_seconds(json.loads(data))
        else:
            out[rel] = data
    return out


def _drop_seconds(x):
    if isinstance(x, dict):
        return {k: _drop_seconds(v) for k, v in x.items() if k != "solve_seconds"}
    if isinstance(x, list):
        return [_drop_seconds(v) for v in x]
    return x


def _run(counties: Path, out: Path, scen, workers: int) -> tuple[float, object]:
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    res = run_province(counties, out, scen, ProvinceParams(workers=workers))
    return time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counties", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--median", type=int, default=40)
    ap.add_argument("--min", type=int, default=20)
    ap.add_argument("--max", type=int, default=80)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("/tmp/bench-province"))
    ap.add_argument("--modes", nargs="+", default=["check", "plan"], choices=["check", "plan"])
    a = ap.parse_args()

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
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
          f"(1 min) before")

    for mode in a.modes:
        scen = load_scenario(TEMPLATE) if mode == "plan" else None
        serial, rs = _run(a.out / "counties", a.out / f"{mode}-serial", scen, 0)
        load_mid = os.getloadavg()[0]
        par, rp = _run(a.out / "counties", a.out / f"{mode}-dask{a.workers}", scen, a.workers)
        same = _tree(a.out / f"{mode}-serial") == _tree(a.out / f"{mode}-dask{a.workers}")
        task = rs.seconds
        total_task = sum(task.values())
        statuses = {c["status"] for c in rs.counties}
        print(f"\n== {mode}: {'scenario ' + scen.name if scen else 'check only'}")
        print(f"serial (this process, no Dask): {serial:8.1f} s   "
              f"(sum of county tasks {total_task:.1f} s; load avg {load_mid:.2f} after)")
        print(f"LocalCluster {a.workers} workers:     {par:8.1f} s   "
              f"(speed-up {serial / par:.2f}x; load avg {os.getloadavg()[0]:.2f} after)")
        print(f"same files serial and parallel: {same}; statuses: {sorted(statuses)}")
        per = sorted(task.items(), key=lambda kv: size[kv[0]])
        print("per county (serial task seconds): " +
              ", ".join(f"{size[k]} schools {v:.1f}" for k, v in per))
        mean = total_task / len(task)
        per_school = total_task / sum(size[k] for k in task)
        print(f"mean per county {mean:.2f} s, {1000 * per_school:.0f} ms per school")
        # 122 counties on 16 cores: the serial cost spread over 16 workers at the
        # parallel efficiency measured here (speed-up / workers, start-up included)
        eff = min(1.0, (serial / par) / a.workers)
        same_sizes = 122 * mean / (16 * eff)
        real = county_sizes(122, SynthProvinceParams(seed=a.seed))
        real_sizes = sum(real) * per_school / (16 * eff)
        print(f"estimate, 122 counties on 16 cores (efficiency {eff:.2f}): "
              f"{same_sizes / 60:.1f} min at these sizes; {real_sizes / 60:.1f} min for "
              f"{sum(real)} schools of Hunan-sized counties (median 150) if the cost per "
              f"school held")


if __name__ == "__main__":
    main()
