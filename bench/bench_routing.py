"""Benchmark of :func:`models.routing.solve_vrp` on CVRPLIB instances.

Usage::

    python bench/bench_routing.py [--bench-dir tests/data/cvrplib]
                                  [--repeats 3] [--max-iterations 3000]

For each instance prints the cost found, the best known cost (optimum), the gap
in percent and the median wall time of ``--repeats`` runs (seeds 0, 1, ...).
Distances are Euclidean rounded to the nearest integer (TSPLIB ``nint``), read
with the ``vrplib`` package. Not run in CI.
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

from models.routing import solve_vrp  # noqa: E402

BEST_KNOWN = {"E-n13-k4": 247, "P-n16-k8": 450, "E-n22-k4": 375,
              "B-n31-k5": 672, "A-n32-k5": 784}


def read(path: Path) -> tuple[np.ndarray, list[int], int]:
    inst = vrplib.read_instance(str(path))
    dist = np.floor(np.asarray(inst["edge_weight"], dtype=float) + 0.5)
    return dist, [int(q) for q in inst["demand"]], int(inst["capacity"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-dir", type=Path,
                    default=ROOT / "tests" / "data" / "cvrplib")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-iterations", type=int, default=3000)
    ap.add_argument("--time-limit", type=float, default=10.0)
    args = ap.parse_args(argv)
    print(f"{'instance':<10} {'cost':>8} {'best':>6} {'gap %':>7} {'time s':>7} "
          f"{'buses':>5}  (median of {args.repeats}, worst cost)")
    for name, best in BEST_KNOWN.items():
        path = args.bench_dir / f"{name}.vrp"
        if not path.exists():
            print(f"{name:<10} missing: {path}")
            continue
        dist, demands, capacity = read(path)
        runs = [solve_vrp(dist, demands, capacity, seed=s, time_limit=args.time_limit,
                          max_iterations=args.max_iterations)
                for s in range(args.repeats)]
        cost = statistics.median(r.cost for r in runs)
        secs = statistics.median(r.seconds for r in runs)
        worst = max(r.cost for r in runs)
        gap = 100.0 * (cost - best) / best
        print(f"{name:<10} {cost:>8.0f} {best:>6} {gap:>7.2f} {secs:>7.2f} "
              f"{runs[0].num_vehicles:>5}  ({worst:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
