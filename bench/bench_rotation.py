"""Benchmark of :mod:`models.rotation` on synthetic counties.

Usage::

    python bench/bench_rotation.py [--sizes 300 2000] [--solvers highs cbc]
                                   [--repeats 3] [--time-limit 120] [--gap 0.01]

Instances are generated here, deterministically from ``--seed``: about 40 teachers
per school (300 schools ≈ 12 000 teachers, 2 000 ≈ 80 000), 70 % primary, 20 %
junior and 10 % nine-year schools; urban, town and rural schools differ in
enrolment, share of qualified and backbone teachers; ~35 % of teachers are
eligible.  The floors and rotation shares are the Hunan standard's
(:func:`planner.core.rules.load_rules`), band and send limit the defaults of
:class:`planner.core.params.RotationParams`; a move costs the great-circle km between
the two schools (:func:`geodata.travel.haversine_km`, one matrix per instance).
Each run prints solve time, status, per-level gap and the plan's figures, and checks
the plan with :func:`models.rotation.verify_rotation`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geodata.travel import haversine_km
from models.mip import available_solvers
from models.rotation import (
    STAGES,
    RotationProblem,
    RotationSettings,
    School,
    Teacher,
    solve,
    verify_rotation,
)
from planner.core.params import RotationParams
from planner.core.rules import load_rules


class Km(Mapping):
    """Great-circle km between schools, ``{(a, b): km}``, from one numpy matrix."""

    def __init__(self, ids: list[str], lon: list[float], lat: list[float]):
        self.index = {h: i for i, h in enumerate(ids)}
        lo, la = np.asarray(lon), np.asarray(lat)
        self.km = np.round(haversine_km(lo[:, None], la[:, None], lo[None, :], la[None, :]), 6)

    def __getitem__(self, key: tuple[str, str]) -> float:
        return float(self.km[self.index[key[0]], self.index[key[1]]])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((a, b) for a in self.index for b in self.index)

    def __len__(self) -> int:
        return len(self.index) ** 2

    def matrix(self, ids: list[str]) -> np.ndarray:
        """The costs between these schools at once (what the model uses on a large
        county instead of one look-up per pair)."""
        idx = [self.index[h] for h in ids]
        return self.km[np.ix_(idx, idx)]


def settings() -> RotationSettings:
    rules, params = load_rules("hunan-2023"), RotationParams()
    return RotationSettings(share=rules.rotation_share,
                            backbone_share=rules.rotation_backbone_share,
                            floors={st: rules.teacher_floors(st) for st in STAGES},
                            backbone_base="rotated", band=params.band,
                            max_send_share=params.max_send_share,
                            direction_rule=params.direction_rule,
                            urban_moves=params.urban_moves,
                            exchange_partners=params.exchange_partners)

SUBJECTS = (("语文", 30), ("数学", 25), ("英语", 12), ("体育", 6), ("音乐", 4),
            ("美术", 4), ("科学", 7), ("道德与法治", 5), ("信息技术", 3), ("历史", 2),
            ("地理", 2))
AREA = {"urban": (0.15, 800, 2000, 0.92, 0.16), "town": (0.35, 300, 900, 0.80, 0.07),
        "rural": (0.50, 40, 320, 0.62, 0.02)}


def make_instance(n_schools: int, seed: int = 0) -> RotationProblem:
    """Return a synthetic county of ``n_schools`` schools (deterministic by seed)."""
    rng = random.Random(seed)
    subjects = [s for s, w in SUBJECTS for _ in range(w)]
    schools, teachers, lon, lat = [], [], [], []
    for i in range(n_schools):
        area = rng.choices(list(AREA), weights=[a[0] for a in AREA.values()])[0]
        _, lo, hi, q_rate, b_rate = AREA[area]
        kind = rng.choices(["primary", "junior", "nine"], weights=[70, 20, 10])[0]
        stages = {"primary": ["primary"], "junior": ["junior"],
                  "nine": ["primary", "junior"]}[kind]
        pupils = {st: rng.randint(lo, hi) // (2 if kind == "nine" else 1) for st in stages}
        sid = f"S{i:04d}"
        n_total = 0
        for st in stages:
            ratio = 17 if st == "primary" else 12
            n = max(4, round(pupils[st] / ratio * rng.uniform(0.85, 1.15)))
            n_total += n
            for j in range(n):
                subj = subjects[j] if j < 3 else rng.choice(subjects)
                years = rng.randint(0, 20)
                age = rng.randint(23, 59)
                teachers.append(Teacher(
                    id=f"{sid}-{st[0]}{j:03d}", school_id=sid, stage=st, subject=subj,
                    qualified=rng.random() < q_rate, backbone=rng.random() < b_rate,
                    pe_art=subj in ("体育", "音乐", "美术"),
                    eligible=years >= 6 and age < 55 and rng.random() < 0.8,
                    years_at_school=years))
        lon.append(112.0 + rng.random() * 0.8)
        lat.append(28.0 + rng.random() * 0.6)
        schools.append(School(sid, frozenset(stages), pupils, area,
                              staff_quota=n_total + rng.randint(-2, 5)))
    travel = Km([h.id for h in schools], lon, lat)
    return RotationProblem(tuple(teachers), tuple(schools), settings(), travel)


def run(n_schools: int, solver: str, seed: int, time_limit: float, gap: float) -> dict:
    problem = make_instance(n_schools, seed)
    t0 = time.perf_counter()
    result = solve(problem, solver=solver, time_limit=time_limit, gap=gap)
    wall = time.perf_counter() - t0
    violations = verify_rotation(problem, result.moves)
    return {"schools": n_schools, "teachers": len(problem.teachers), "solver": solver,
            "status": str(result.status), "wall_s": wall,
            "levels": list(result.level_names),
            "build_s": round(result.build_seconds, 2),
            "level_s": [round(i.seconds, 2) for i in result.levels],
            "level_gap": [None if i.gap is None else round(i.gap, 5) for i in result.levels],
            "level_status": [str(i.status) for i in result.levels],
            "objective": {k: round(v, 4) for k, v in result.objective.items()},
            "counts": result.counts, "arcs": result.travel_arcs,
            "violations": len(violations)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 2000])
    ap.add_argument("--solvers", nargs="+", default=["highs", "cbc"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--gap", type=float, default=0.01)
    args = ap.parse_args(argv)
    have = available_solvers()
    for n in args.sizes:
        for solver in args.solvers:
            if solver not in have:
                print(f"{n} schools, {solver}: not installed, skipped")
                continue
            reps = args.repeats
            rows = []
            for _ in range(reps):
                rows.append(run(n, solver, args.seed, args.time_limit, args.gap))
                print(rows[-1], flush=True)
            med = statistics.median(r["wall_s"] for r in rows)
            # the test: every level proven within the gap, wall time within the limit
            proven = sum(all(g is not None and g <= args.gap for g in r["level_gap"])
                         for r in rows)
            inside = sum(r["wall_s"] <= args.time_limit for r in rows)
            print(f"== {n} schools / {rows[0]['teachers']} teachers, {solver}: "
                  f"median wall {med:.1f} s over {reps} (limit {args.time_limit:g} s; "
                  f"{inside}/{reps} inside), every level proven within {args.gap:.0%}: "
                  f"{proven}/{reps}; last run: status {rows[-1]['status']}, levels "
                  f"{rows[-1]['levels']} gaps {rows[-1]['level_gap']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
