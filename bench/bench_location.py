"""Benchmark of :mod:`models.location` on OR-Library instances.

Usage::

    python bench/bench_location.py [--bench-dir tests/data/orlib]
                                   [--repeats 3] [--solver highs]

p-median pmed1..pmed5 (cost matrix = all-pairs shortest paths of the edge
list; a repeated edge takes its LAST cost) and capacitated warehouse location
cap41 (split demand, then with capacities ignored). Prints cost, optimum, gap
in percent, solver status and the median wall time of ``--repeats`` runs.
Not run in CI.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import shortest_path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.location import solve_facility_location, solve_p_median  # noqa: E402

PMED = {1: 5819, 2: 4093, 3: 4250, 4: 3034, 5: 1355}
CAP41 = {"cap41": 1_040_444.375, "cap41-uncap": 932_615.750}


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    tokens = path.read_text().split()
    n, m, p = (int(t) for t in tokens[:3])
    last: dict[tuple[int, int], float] = {}
    for k in range(m):
        i, j, c = (int(t) for t in tokens[3 + 3 * k: 6 + 3 * k])
        last[min(i, j), max(i, j)] = c  # the last occurrence wins
    graph = np.full((n, n), np.inf)
    for (i, j), c in last.items():
        graph[i - 1, j - 1] = graph[j - 1, i - 1] = c
    return shortest_path(graph, method="D", directed=False), p


def read_cap(path: Path):
    tokens = path.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos, caps, fixed = 2, [], []
    for _ in range(m):
        caps.append(float(tokens[pos]))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demands, costs = [], []
    for _ in range(n):
        demands.append(float(tokens[pos]))
        costs.append([float(t) for t in tokens[pos + 1: pos + 1 + m]])
        pos += 1 + m
    return costs, demands, caps, fixed


def report(name: str, best: float, runs) -> None:
    cost = statistics.median(r.cost for r in runs)
    secs = statistics.median(r.seconds for r in runs)
    gap = 100.0 * (cost - best) / best
    print(f"{name:<12} {cost:>14,.3f} {best:>14,.3f} {gap:>7.3f} {runs[0].status:>8} "
          f"{secs:>7.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-dir", type=Path,
                    default=ROOT / "tests" / "data" / "orlib")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--solver", default="highs")
    args = ap.parse_args(argv)
    print(f"{'instance':<12} {'cost':>14} {'optimum':>14} {'gap %':>7} {'status':>8} "
          f"{'time s':>7}  (median of {args.repeats})")
    for k, best in PMED.items():
        dist, p = read_pmed(args.bench_dir / f"pmed{k}.txt")
        runs = [solve_p_median(dist, p, solver=args.solver) for _ in range(args.repeats)]
        report(f"pmed{k}", best, runs)
    costs, demands, caps, fixed = read_cap(args.bench_dir / "cap41.txt")
    for name, best in CAP41.items():
        cap = None if name.endswith("uncap") else caps
        runs = [solve_facility_location(costs, demands, cap, fixed, solver=args.solver)
                for _ in range(args.repeats)]
        report(name, best, runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
