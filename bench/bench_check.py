"""``planner check`` against the pandas read floor of the same files (issue 18, item 1).

    .venv/bin/python bench/bench_check.py [--schools 20000] [--seed 0] [--repeat 3]
                                          [--dir DIR] [--indicators]

Makes the synthetic province (``planner synth --schools N --seed S DIR``, kept in
``DIR`` when given) and times, alternately and ``--repeat`` times each (medians):

- **floor**: a fresh Python process that imports pandas and pyogrio and reads every
  file of the district with the plainest call there is: ``pandas.read_csv(path)``
  for each CSV, ``pyogrio.read_dataframe(path)`` for each GeoJSON;
- **check**: a fresh ``planner check DIR --lang en`` process (load, validate, the
  indicators, the printed report).

Both are wall times of whole processes (interpreter start and imports included).
It prints the two medians and their ratio (the target is ≤ 3), and the same ratio
measured inside one process without imports (``load_district`` + ``check`` against
the reads alone). Not collected by pytest.

``--indicators`` times only ``planner.indicators.check`` on loaded districts of
300 and 20,000 schools (the earlier benchmark; targets 0.5 s and 10 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 3.0
TARGET_S = {300: 0.5, 20000: 10.0}

FLOOR = r"""
import sys, time
from pathlib import Path
t0 = time.perf_counter()
import pandas as pd
import pyogrio
d = Path(sys.argv[1])
t1 = time.perf_counter()
for p in sorted(d.glob("*.csv")):
    pd.read_csv(p)
for p in sorted(d.glob("*.geojson")):
    pyogrio.read_dataframe(p)
print(f"{time.perf_counter() - t1:.6f}")
"""


def _python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _planner() -> list[str]:
    return [_python(), "-m", "planner.cli"] if not (ROOT / ".venv/bin/planner").exists() \
        else [str(ROOT / ".venv/bin/planner")]


def _wall(cmd: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return wall, r.stdout


def _in_process(d: Path, repeat: int) -> tuple[float, float]:
    import pandas as pd
    import pyogrio

    from planner.indicators.engine import check
    from planner.io.load import load_district
    floor, full = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        for p in sorted(d.glob("*.csv")):
            pd.read_csv(p)
        for p in sorted(d.glob("*.geojson")):
            pyogrio.read_dataframe(p)
        floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        check(load_district(d))
        full.append(time.perf_counter() - t)
    return statistics.median(floor), statistics.median(full)


def bench_ratio(n: int, seed: int, repeat: int, folder: Path | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        d = folder or Path(tmp) / f"province{n}"
        if not (d / "district.yaml").exists():
            t = time.perf_counter()
            _wall(_planner() + ["synth", "--schools", str(n), "--seed", str(seed), str(d)])
            print(f"synth {n} schools, seed {seed}: {time.perf_counter() - t:.1f} s -> {d}")
        size = sum(p.stat().st_size for p in d.iterdir()) / 1e6
        print(f"district {d} ({size:.0f} MB); load average {os.getloadavg()[0]:.2f}")
        floor, full, reads = [], [], []
        for _ in range(repeat):
            w, out = _wall([_python(), "-c", FLOOR, str(d)])
            floor.append(w)
            reads.append(float(out.strip().splitlines()[-1]))
            w, _ = _wall(_planner() + ["check", str(d), "--lang", "en"])
            full.append(w)
        f, c = statistics.median(floor), statistics.median(full)
        ratio = c / f
        print(f"floor (process: pandas.read_csv + pyogrio.read_dataframe): median {f:.2f} s "
              f"{[round(x, 2) for x in floor]} (reads alone {statistics.median(reads):.2f} s)")
        print(f"planner check (process):                                    median {c:.2f} s "
              f"{[round(x, 2) for x in full]}")
        print(f"ratio check / floor: {ratio:.2f} (median of {repeat}; target <= {TARGET_RATIO})"
              f"{' OK' if ratio <= TARGET_RATIO else ' SLOW'}")
        fi, ci = _in_process(d, repeat)
        print(f"in one process, no imports: reads {fi:.2f} s, load_district + check {ci:.2f} s, "
              f"ratio {ci / fi:.2f}")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        return 0 if ratio <= TARGET_RATIO else 1


def bench_indicators(sizes: list[int], repeat: int) -> int:
    from planner.indicators.engine import check
    from planner.io.load import load_district
    from planner.io.synth import synth_district
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            d = load_district(synth_district(n, 1, Path(tmp) / f"d{n}"))
            reps = repeat if n <= 1000 else max(3, repeat // 2)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                r = check(d)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            target = TARGET_S.get(n)
            flag = "" if target is None else (
                " OK" if med <= target else f" SLOW (target {target} s)")
            ok &= target is None or med <= target
            print(f"{n:>6} schools ({len(d.teachers) if d.teachers is not None else 0} teachers): "
                  f"median {med:.3f} s over {reps} runs (min {min(times):.3f}){flag}; "
                  f"A passed {r.a_passed}/{r.a_total}, parts {len(r.parts)}")
    return 0 if ok else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schools", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", type=Path, help="keep (or reuse) the synthetic district here")
    ap.add_argument("--indicators", action="store_true",
                    help="time only the indicator arithmetic (300 and 20,000 schools)")
    a = ap.parse_args(argv)
    if a.indicators:
        return bench_indicators([300, 20000], max(a.repeat, 3))
    return bench_ratio(a.schools, a.seed, a.repeat, a.dir)


if __name__ == "__main__":
    sys.exit(main())
