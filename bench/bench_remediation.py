"""Benchmark of :mod:`models.remediation` on a synthetic county.

Usage::

    python bench/bench_remediation.py [--schools 300] [--seed 0] [--repeats 3]
                                      [--time-limit 60] [--solver highs]

The county is built here from plain data (no ``planner`` import), deterministically
from ``--seed``: 70 % primary, 18 % junior and 12 % nine-year schools (two parts, the
facility split by weighted enrolment 1 : 1.1); urban, town and rural schools differ
in size and resources.  Failing on purpose, so that every kind of action is needed:

- per-part floors of 1, 2, 3 (teachers), 4, 5, 6, 7 (facilities) at about 6 % of the
  parts each, some at schools whose staff quota allows few hires;
- a binding CV: primary equipment (6) — every part reaches the floor but a few large
  urban "model" schools hold five times the county's equipment per pupil, so the CV
  is above its limit (0.50) with every floor passed;
- 11 (too few or undersized music/art rooms), 12 (schools above 2000 / 2500 pupils,
  with move options to their three nearest schools of the stage), 13 (largest class
  above 45 / 50), 17 (teachers short of 360 hours), 20 (uncertified teachers, a few
  who cannot be certified), 10 (quota and public funds below the standard), 28.

Each run prints the time, status, proven gap, rounds of the CV loop, cuts, cost and
the plan's figures, and re-checks the plan with :func:`models.remediation.evaluate`
(every floor, county value and CV recomputed from the data plus the actions).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.remediation import (
    Limits,
    MoveOption,
    Part,
    RemediationProblem,
    RemediationSettings,
    School,
    Teacher,
    UnitCosts,
    evaluate,
    solve,
)

# The Hunan 2023 numbers, as plain data (the model takes them as inputs).
HUNAN = Limits(
    floors={1: {"primary": 4.2, "junior": 5.3}, 2: {"primary": 1.0, "junior": 1.0},
            3: {"primary": 0.9, "junior": 0.9}, 4: {"primary": 4.5, "junior": 5.8},
            5: {"primary": 7.5, "junior": 10.2}, 6: {"primary": 2000.0, "junior": 2500.0},
            7: {"primary": 2.3, "junior": 2.4}},
    multipliers={1: 100, 2: 100, 3: 100, 4: 1, 5: 1, 6: 1, 7: 100},
    cv_limit={"primary": 0.50, "junior": 0.45}, classes_per_room=12,
    max_class={"primary": 45, "junior": 50},
    pupils_per_quota={"primary": 19, "junior": 13.5},
    funds_per_pupil_yuan={"primary": 600, "junior": 800}, special_funds_per_pupil_yuan=6000,
    training_min_hours=360, training_min_share=1.0, certification_min_share=1.0,
    training_funds_share=0.08)
# Illustrative unit costs (yuan), Hunan county order of magnitude.
COSTS = UnitCosts(building_m2=3000, sports_m2=300, equipment_yuan=1.0, multimedia_room=30000,
                  music_room=350000, art_room=330000, classroom=250000,
                  teacher_hire_per_year=110000, backbone_development=20000, training_hour=60,
                  certification=1500)
FLOOR = {j: HUNAN.floors[j] for j in range(1, 8)}
AREA = {"urban": (0.2, 900, 2100), "town": (0.35, 300, 1100), "rural": (0.45, 60, 420)}


def make_instance(n_schools: int = 300, seed: int = 0,
                  receivers: str = "single") -> RemediationProblem:
    """``receivers``: ``single`` — an oversize school may send pupils to its three
    nearest single-stage schools of the stage; ``any`` — to any school of the stage
    (nine-year schools included, whose facility split then moves with the pupils)."""
    rng = random.Random(seed)
    schools, parts, teachers, xy = [], [], [], {}
    for i in range(n_schools):
        sid = f"S{i:04d}"
        area = rng.choices(list(AREA), weights=[a[0] for a in AREA.values()])[0]
        _, lo, hi = AREA[area]
        kind = rng.choices(["primary", "junior", "nine"], weights=[70, 18, 12])[0]
        stages = {"primary": ["primary"], "junior": ["junior"],
                  "nine": ["primary", "junior"]}[kind]
        pupils = {st: rng.randint(lo, hi) // (2 if kind == "nine" else 1) for st in stages}
        model_school = area == "urban" and kind == "primary" and rng.random() < 0.25
        size_limit = 2500 if kind == "nine" else 2000
        if area == "urban" and rng.random() < 0.06:          # 12: above the size limit
            st = stages[-1]
            pupils[st] += size_limit - sum(pupils.values()) + rng.randint(10, 80)
        xy[sid] = (rng.uniform(0, 60), rng.uniform(0, 60))
        w = {"primary": 1.0, "junior": 1.1 if kind == "nine" else 1.0}
        wsum = sum(w[st] * pupils[st] for st in stages)
        res = {}
        for j in (4, 5, 6, 7):
            # the requirement of the part with the highest floor per weight
            need = max(FLOOR[j][st] * wsum / w[st] for st in stages)
            if j == 7:
                need /= 100
            mult = rng.uniform(1.05, 1.5)
            if rng.random() < 0.06:
                mult = rng.uniform(0.8, 0.97)                 # a failing part
            if j == 6:
                mult = rng.uniform(1.0, 1.3)
                if model_school:
                    mult = rng.uniform(4.0, 4.6)              # the binding CV of 6
                elif rng.random() < 0.03:
                    mult = rng.uniform(0.9, 0.98)
            res[j] = need * mult
        classes_total = short = 0
        for st in stages:
            cap = HUNAN.max_class[st]
            avg = rng.uniform(0.78, 0.95) * cap
            classes = max(1, math.ceil(pupils[st] / avg))
            max_class = min(cap, math.ceil(pupils[st] / classes) + rng.randint(0, 3))
            if rng.random() < 0.07:
                max_class = cap + rng.randint(1, 8)           # 13
                if rng.random() < 0.5:
                    classes = max(1, math.ceil(pupils[st] / (cap + 2)))
            classes_total += classes
            n = pupils[st]
            teach = max(3, round(n / (17.5 if st == "primary" else 12.5)))
            q = round(teach * rng.uniform(0.85, 0.98))
            b = math.ceil(n * rng.uniform(1.05, 1.4) / 100)
            pe = math.ceil(n * rng.uniform(0.95, 1.5) / 100)
            r = rng.random()
            if r < 0.05:
                q = max(0, math.floor(FLOOR[1][st] * n / 100) - rng.randint(1, 3))
            elif r < 0.10:
                b = max(0, math.floor(n / 100) - rng.randint(0, 1))
            elif r < 0.15:
                pe = max(0, math.floor(0.9 * n / 100) - rng.randint(0, 1))
            q, b, pe = min(q, teach), min(b, teach), min(pe, teach)
            short += max(0, math.ceil(FLOOR[1][st] * n / 100 - 1e-9) - q,
                         math.ceil(FLOOR[3][st] * n / 100 - 1e-9) - pe)
            parts.append(Part(sid, st, n, classes=classes, max_class=max_class, qualified=q,
                              backbone=b, pe_art=pe, teachers=teach,
                              facility_weight=w[st]))
            for t in range(teach):
                tid = f"{sid}{st[0]}{t:03d}"
                hours = rng.uniform(370, 520)
                if rng.random() < 0.004:
                    hours = rng.uniform(200, 355)             # 17
                cert = rng.random() > 0.004                   # 20
                teachers.append(Teacher(tid, sid, st, training_hours=round(hours, 1),
                                        certified=cert, qualified=t < q, backbone=t < b,
                                        pe_art=t >= teach - pe,
                                        certifiable=rng.random() > 0.2))
        need_rooms = math.ceil(classes_total / HUNAN.classes_per_room)
        music = need_rooms + rng.choice([0, 0, 0, 1]) - (1 if rng.random() < 0.05 else 0)
        art = need_rooms + rng.choice([0, 0, 1]) - (1 if rng.random() < 0.05 else 0)
        staff = sum(p.teachers for p in parts if p.school_id == sid)
        quota_need = sum(pupils[st] / HUNAN.pupils_per_quota[st] for st in stages)
        quota = max(staff + short + rng.randint(1, 6), math.ceil(quota_need))
        if short and rng.random() < 0.3:
            quota = staff + short                              # every post needed: binds
        elif not short and rng.random() < 0.06:
            quota = math.floor(quota_need * 0.95)              # 10: quota below the standard
        funds_need = sum(HUNAN.funds_per_pupil_yuan[st] * pupils[st] for st in stages)
        funds = funds_need * (rng.uniform(0.92, 0.99) if rng.random() < 0.05
                              else rng.uniform(1.02, 1.3))
        training = funds * (rng.uniform(0.06, 0.079) if rng.random() < 0.05
                            else rng.uniform(0.081, 0.12))
        schools.append(School(
            sid, building_area_m2=round(res[4], 1), sports_area_m2=round(res[5], 1),
            equipment_yuan=round(res[6], -2), multimedia_rooms=math.ceil(res[7]),
            classrooms=classes_total + rng.randint(0, 3), size_limit=size_limit,
            rooms_rule=True, music_rooms=max(1, music),
            music_rooms_undersized=1 if rng.random() < 0.04 else 0, art_rooms=max(1, art),
            art_rooms_undersized=1 if rng.random() < 0.04 else 0, staff_quota=quota,
            staff=staff, quota_rule=True, funds_rule="standard",
            public_funds_yuan=round(funds, -2), training_funds_rule=True,
            training_funds_yuan=round(training, -2)))
    moves = []
    stages_of: dict[str, int] = {}
    for p in parts:
        stages_of[p.school_id] = stages_of.get(p.school_id, 0) + 1
    by_stage = {st: [p.school_id for p in parts if p.stage == st and (
        receivers == "any" or stages_of[p.school_id] == 1)] for st in ("primary", "junior")}
    for h in schools:
        total = sum(p.pupils for p in parts if p.school_id == h.id)
        if h.size_limit is None or total <= h.size_limit:
            continue
        for p in (p for p in parts if p.school_id == h.id):
            near = sorted((math.dist(xy[h.id], xy[o]), o) for o in by_stage[p.stage]
                          if o != h.id)[:3]
            for km, o in near:
                moves.append(MoveOption(h.id, o, p.stage, round(800 + 60 * km, 1),
                                        max_pupils=60))
    return RemediationProblem(tuple(schools), tuple(parts), tuple(teachers), COSTS, HUNAN,
                              tuple(moves))


def run(n: int, seed: int, solver: str, time_limit: float | None,
        receivers: str = "single") -> dict:
    problem = make_instance(n, seed, receivers)
    before = evaluate(problem)
    t0 = time.perf_counter()
    r = solve(problem, RemediationSettings(solver=solver, time_limit=time_limit))
    seconds = time.perf_counter() - t0
    again = evaluate(problem, r.actions)
    assert again.violations == (), again.violations[:5]
    cv6 = before.county_figures(6, "primary")
    return {"seconds": seconds, "status": str(r.status), "gap": r.gap, "rounds": r.rounds,
            "phases": ",".join(m for m in r.messages if m in ("moves_fixed", "phase_3")) or "1",
            "cuts": r.cuts, "cost": r.total_cost_yuan, "capital": r.capital_yuan,
            "recurring": r.recurring_yuan_per_year, "actions": len(r.actions),
            "violations_before": len(before.violations),
            "cv6_before": cv6.cv, "cv6_after": again.county_figures(6, "primary").cv,
            "parts": len(problem.parts), "teachers": len(problem.teachers),
            "move_options": len(problem.moves), "solves": len(r.solves),
            "by_indicator": {k: round(v) for k, v in r.cost_by_indicator.items()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--schools", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--receivers", choices=("single", "any"), default="single",
                    help="move options to single-stage neighbours only, or to any school")
    a = ap.parse_args(argv)
    times = []
    for i in range(a.repeats):
        out = run(a.schools, a.seed, a.solver, a.time_limit, a.receivers)
        times.append(out["seconds"])
        print(f"run {i + 1}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                          for k, v in out.items()), flush=True)
    print(f"median {statistics.median(times):.2f} s over {len(times)} runs "
          f"({a.schools} schools, seed {a.seed}, {a.solver})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
