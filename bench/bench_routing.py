"""Benchmark of :func:`models.routing.solve_vrp` on a time budget (issue 18 item 3).

Usage::

    python bench/bench_routing.py [--bench-dir tests/data/cvrplib] [--budget 10]
                                  [--seeds 0 1 2] [--only NAME ...]

Every CVRPLIB instance of ``tests/data/cvrplib`` with a known optimum (the table of
``tests/data/README.md``) is solved once per seed with the budget as the stopping
rule (:func:`models.routing.budget_iterations`: iterations calibrated to the budget,
deterministic). Printed per instance and seed: the cost, the optimum, the gap in
percent, the iterations run out of the budget's, what stopped the search and the wall
time; then the median gap and wall time per instance and whether every run is within
1 % of the optimum. Distances are Euclidean rounded to the nearest integer (TSPLIB
``nint``), read with the ``vrplib`` package. Exit 1 when a run is more than 1 % above
its optimum. Not run in CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import vrplib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.routing import budget_iterations, solve_vrp  # noqa: E402

#: optimum of each instance (CVRPLIB; tests/data/README.md)
OPTIMUM = {"E-n13-k4": 247, "P-n16-k8": 450, "E-n22-k4": 375, "B-n31-k5": 672,
           "A-n32-k5": 784, "E-n51-k5": 521, "F-n72-k4": 237, "M-n101-k10": 820,
           "X-n101-k25": 27591}
TOLERANCE_PCT = 1.0


def read(path: Path) -> tuple[np.ndarray, list[int], int]:
    inst = vrplib.read_instance(str(path))
    dist = np.floor(np.asarray(inst["edge_weight"], dtype=float) + 0.5)
    return dist, [int(q) for q in inst["demand"]], int(inst["capacity"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-dir", type=Path, default=ROOT / "tests" / "data" / "cvrplib")
    ap.add_argument("--budget", type=float, default=10.0, help="seconds per solve")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--only", nargs="+", help="instance names")
    args = ap.parse_args(argv)
    worst_ok = True
    print(f"budget {args.budget:g} s per solve; seeds {' '.join(map(str, args.seeds))}")
    print(f"{'instance':<11} {'seed':>4} {'cost':>7} {'opt':>6} {'gap %':>6} "
          f"{'iterations':>12} {'stopped by':<15} {'wall s':>6}")
    summary = []
    for name, opt in OPTIMUM.items():
        if args.only and name not in args.only:
            continue
        path = args.bench_dir / f"{name}.vrp"
        if not path.exists():
            print(f"{name:<11} missing: {path}")
            continue
        dist, demands, capacity = read(path)
        gaps, walls = [], []
        for seed in args.seeds:
            r = solve_vrp(dist, demands, capacity, seed=seed, time_limit=args.budget)
            gap = 100.0 * (r.cost - opt) / opt
            gaps.append(gap)
            walls.append(r.seconds)
            print(f"{name:<11} {seed:>4} {r.cost:>7.0f} {opt:>6} {gap:>6.2f} "
                  f"{r.iterations:>5}/{r.max_iterations:<6} {r.stopped_by:<15} "
                  f"{r.seconds:>6.2f}", flush=True)
        ok = max(gaps) <= TOLERANCE_PCT + 1e-9
        worst_ok &= ok
        n = sum(1 for q in demands if q > 0)
        summary.append((name, n, statistics.median(gaps), max(gaps), statistics.median(walls),
                        budget_iterations(n, args.budget), ok))
    print(f"\n{'instance':<11} {'visits':>6} {'median gap %':>12} {'worst gap %':>11} "
          f"{'median wall s':>13} {'budget it.':>10}  within 1 %")
    for name, n, med, worst, wall, it, ok in summary:
        print(f"{name:<11} {n:>6} {med:>12.2f} {worst:>11.2f} {wall:>13.2f} {it:>10}  "
              f"{'yes' if ok else 'NO'}")
    return 0 if worst_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
