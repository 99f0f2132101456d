"""Independent verification of a roadmap from its files and each year's district.

What is re-checked, one line per breach:

- **Budget.** Per school year, the ``cost_yuan`` of ``roadmap.csv`` adds up to the
  summary's ``cost_yuan`` and stays within ``budget_yuan``.
- **No teacher twice.** No ``teacher_id`` appears twice in ``roadmap_rotation.csv``.
- **Each year's rotation** (``<year>/rotation.csv``) by :func:`planner.verify.rotation.
  verify_rotation` against the district that year's rotation was made on (the teachers
  moved in earlier years marked not eligible): eligibility, shares, floors, head counts.
- **Each year's verdict** recomputed: the year's actions applied to the district after
  its rotation and the indicator engine run again; the A indicators passed and the
  recognition must be the summary's, the first recognisable year the first such year.
- **Build, then close** (先建后撤). In ``roadmap.csv`` every action at a receiver of a
  school closed that year comes before that closure's row; a closed school has no row
  (action, rotation) in a later year.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from planner.indicators.engine import check
from planner.plans import remediation as rem
from planner.plans.roadmap import RoadmapOutcome, _mark_moved, _unmark
from planner.verify.files import _rows, _unescape
from planner.verify.rotation import verify_rotation

_TOL = 0.01


def verify_roadmap(o: RoadmapOutcome, folder: Path) -> list[str]:
    folder = Path(folder)
    errs: list[str] = []
    summary = json.loads((folder / "roadmap_summary.json").read_text(encoding="utf-8"))
    rows = _rows(folder / "roadmap.csv")
    rot_rows = _rows(folder / "roadmap_rotation.csv")
    by_year = {int(y["school_year"]): y for y in summary["years"]}
    cost: Counter = Counter()
    for r in rows:
        cost[int(r["school_year"])] += float(r["cost_yuan"] or 0)
    for yr, y in sorted(by_year.items()):
        if abs(cost[yr] - float(y["cost_yuan"])) > _TOL:
            errs.append(f"roadmap {yr}: roadmap.csv costs {cost[yr]:.2f} yuan, the summary "
                        f"{y['cost_yuan']}")
        if y["budget_yuan"] is not None and cost[yr] > float(y["budget_yuan"]) + _TOL:
            errs.append(f"roadmap {yr}: cost {cost[yr]:.2f} yuan exceeds the budget "
                        f"{y['budget_yuan']}")
    ids = Counter(_unescape(r["teacher_id"]) for r in rot_rows)
    for tid, n in sorted(ids.items()):
        if n > 1:
            errs.append(f"roadmap: teacher {tid} moves {n} times within the cycle")
    rules = o.district.rules
    first = None
    for y in o.years:
        s = by_year.get(y.school_year)
        if s is None:
            errs.append(f"roadmap {y.school_year}: missing from roadmap_summary.json")
            continue
        after_rot = y.district
        if y.rotation is not None:
            seen = _mark_moved(y.district, set(y.excluded_teachers))
            errs += [f"roadmap {y.school_year}: {e}" for e in verify_rotation(
                seen, folder / str(y.school_year), y.rotation.params, rules)]
            if y.rotation.status.has_plan:
                after_rot = _unmark(y.rotation.district_after)
        counts = y.rotation.indicator_19() if y.rotation is not None and \
            y.rotation.status.has_plan else None
        again = check(rem.apply_actions(after_rot, list(y.chosen), rules), rotation=counts,
                      rules=rules)
        if again.a_passed != s["a_passed_count"] or bool(again.recognised) != s["recognised"]:
            errs.append(f"roadmap {y.school_year}: recomputed A passed {again.a_passed}, "
                        f"recognised {again.recognised}; the summary says "
                        f"{s['a_passed_count']}, {s['recognised']}")
        if again.recognised and first is None:
            first = y.school_year
    if first != summary.get("first_recognisable_year"):
        errs.append(f"roadmap: the first recognisable year is {first}, the summary says "
                    f"{summary.get('first_recognisable_year')}")
    errs += _build_then_close(o, rows, rot_rows)
    return errs


def _build_then_close(o: RoadmapOutcome, rows: list[dict], rot_rows: list[dict]) -> list[str]:
    errs = []
    recv = {c.school_id: {r for r, _ in c.receivers} for c in o.closures}
    closed_in: dict[str, int] = {}
    for k, r in enumerate(rows):
        yr = int(r["school_year"])
        if r["kind"] == "closure" and r["action"] == "close":
            sid = r["school_id"]
            closed_in[sid] = yr
            later = [j for j in range(k + 1, len(rows)) if int(rows[j]["school_year"]) == yr
                     and rows[j]["kind"] == "remediation"
                     and rows[j]["school_id"] in recv.get(sid, set())]
            if later:
                errs.append(f"roadmap {yr}: an action at receiver {rows[later[0]]['school_id']} "
                            f"comes after the closure of {sid} (build, then close)")
    for r in rows:
        sid, yr = r["school_id"], int(r["school_year"])
        if sid in closed_in and yr > closed_in[sid]:
            errs.append(f"roadmap {yr}: {sid} has a row after its closure in {closed_in[sid]}")
    for r in rot_rows:
        yr = int(r["school_year"])
        for col in ("from_school_id", "to_school_id"):
            sid = r[col]
            if sid in closed_in and yr >= closed_in[sid]:
                errs.append(f"roadmap {yr}: teacher {r['teacher_id']} moves "
                            f"{'from' if col == 'from_school_id' else 'to'} {sid}, closed in "
                            f"{closed_in[sid]}")
    return errs
