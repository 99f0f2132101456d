"""Benchmark planner.synth: median of 3 runs at 300 schools, one run at 20,000.

    python bench/bench_synth.py [--big N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.io.synth import synth_district  # noqa: E402


def _run(n: int, seed: int, root: Path) -> tuple[float, dict]:
    out = root / f"n{n}_s{seed}"
    t = time.perf_counter()
    synth_district(n, seed, out)
    secs = time.perf_counter() - t
    rows = {f: sum(1 for _ in open(out / f, encoding="utf-8")) - 1
            for f in ("schools.csv", "teachers.csv", "units.csv")}
    rows["roads"] = sum(1 for line in open(out / "roads.geojson", encoding="utf-8")
                        if line.startswith('{"type":"Feature"'))
    rows["MB"] = round(sum(p.stat().st_size for p in out.iterdir()) / 1e6, 1)
    return secs, rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", type=int, default=20000)
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small = [_run(300, s, root) for s in (1, 2, 3)]
        med = statistics.median(t for t, _ in small)
        print(f"synth 300 schools: median {med:.3f} s of 3 "
              f"({', '.join(f'{t:.3f}' for t, _ in small)}); {small[0][1]}")
        t, rows = _run(a.big, 1, root)
        print(f"synth {a.big} schools: {t:.2f} s (1 run); {rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
