"""Teacher rotation for a district: the library call behind ``planner rotate`` and
the ``rotation:`` step of a scenario.

:func:`rotate` turns the district's roster into a :class:`models.rotation.RotationProblem`,
solves it and returns a typed :class:`RotationOutcome` (codes and numbers, no words:
the rotation list a planner reads is made by :mod:`planner.outputs.rotation`).

- **Rules.** The floors of indicators 1–3 are the standard's
  (``rules.teacher_floors(stage)``); the rotation shares of indicator 19 are the
  standard's (``rules.rotation_share``, ``rules.rotation_backbone_share``) unless
  the parameters set them; ``backbone_base`` is the district's setting unless the
  parameters set it (:meth:`RotationParams.resolved`). ``rules`` defaults to the
  district's standard; the summary's coefficients of variation are always the
  indicator engine's, which reads the district's standard.
- **Scope.** Every rostered teacher of a public, non-special school enters the
  model with the derived flags of :func:`planner.core.district.derive_teacher_flags`
  (qualified, backbone, PE/art, eligible under the district's ``rotation_min_years``
  / ``rotation_max_age``); private and special-education schools take no part in
  the county rotation. Pupils per school part are the school table's.
- **Travel.** The cost of a move is the travel time in minutes between the two
  schools from the one travel-time service, ``district.travel(...)``
  (:class:`geodata.travel.TravelMatrix`): on the district's roads, or the
  straight-line fallback (great-circle km × the district's detour factor at its
  fallback speed) without roads. Reading taken: when two schools are on
  unconnected pieces of the road network (an infinite road time), the whole matrix
  is the service's straight-line fallback, so every cost has one unit and one
  method. Costs are rounded to 0.001 min (the plan does not depend on the last
  bits of a float).
- **Checks.** The plan is re-checked by :func:`models.rotation.verify_rotation`
  (``violations``) and by the indicator engine (CVs of 1–3 before and after).

User errors (no roster, a school far from every road) are
:class:`~planner.core.errors.PlanInputError` naming the file; a ``ValueError``
from the model is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geodata.travel import FarFromRoads, TravelMatrix, travel_matrix
from models import rotation as rm
from models.status import Status
from planner.core.district import District, derive_teacher_flags, school_stages
from planner.core.errors import PlanInputError
from planner.core.params import RotationParams, SolveParams
from planner.core.rules import Rules
from planner.indicators.engine import check

__all__ = ["RotationOutcome", "apply_moves", "build_problem", "flows", "in_scope_schools",
           "model_settings", "rotate", "rotation_summary", "travel_costs"]

#: decimals of a travel cost (minutes)
TRAVEL_DECIMALS = 3


@dataclass(frozen=True)
class RotationOutcome:
    """A rotation plan for a district, as the library returns it.

    ``status`` is the result's (:class:`models.status.Status`; a relaxed closest
    plan is ``result.closest``); ``params`` the parameters as applied, every
    ``None`` filled from the standard and the district; ``summary`` the
    language-free figures written to ``summary.json``; ``violations`` what the
    model's independent check found (empty for a sound plan); ``travel`` how trips
    were measured.
    """

    status: Status
    params: RotationParams
    result: rm.RotationResult
    problem: rm.RotationProblem
    district_after: District
    summary: dict[str, Any]
    violations: list[str]
    travel: TravelMatrix | None = None

    def indicator_19(self) -> dict[str, int]:
        """``{"eligible", "rotated", "backbone_rotated"}`` of the plan, for the
        indicator check after it (``check(district_after, rotation=...)``)."""
        c = self.result.counts
        return {"eligible": c["eligible"], "rotated": c["rotated"],
                "backbone_rotated": c["backbone_rotated"]}


def rotate(district: District,
           params: RotationParams = RotationParams(),  # noqa: B008 (frozen)
           solve: SolveParams = SolveParams(),  # noqa: B008 (frozen)
           *, rules: Rules | None = None) -> RotationOutcome:
    """Make the year's rotation plan for ``district``.

    Raises
    ------
    PlanInputError
        The district has no teacher roster, or a school lies too far from every road.
    models.mip.SolverUnavailable
        The requested solver is not installed.
    """
    _require_roster(district)
    rules = district.rules if rules is None else rules
    params = params.resolved(rules, district.settings.backbone_base)
    tm = travel_costs(district, in_scope_schools(district))
    problem = build_problem(district, model_settings(params, rules), tm)
    result = rm.solve(problem, solver=solve.solver, time_limit=solve.time_limit)
    violations = rm.verify_rotation(problem, result.moves)
    after = apply_moves(district, result.moves)
    summary = rotation_summary(district, after, result, problem)
    summary["verified"] = not violations
    summary["violations"] = violations
    return RotationOutcome(result.status, params, result, problem, after, summary,
                           violations, tm)


def model_settings(params: RotationParams, rules: Rules) -> rm.RotationSettings:
    """The model's settings: resolved ``params`` and the floors of ``rules``."""
    if params.share is None or params.backbone_share is None or params.backbone_base is None:
        raise ValueError("model_settings needs resolved parameters (RotationParams.resolved)")
    return rm.RotationSettings(
        share=params.share, backbone_share=params.backbone_share,
        floors={st: _floors(rules, st) for st in rm.STAGES},
        backbone_base=params.backbone_base, band=params.band,
        max_send_share=params.max_send_share, direction_rule=params.direction_rule)


def _floors(rules: Rules, stage: str) -> tuple[float, float, float]:
    """The thresholds of indicators 1-3 in the model's unit (teachers per
    ``rm.FLOOR_PUPILS`` pupils); converted only if the standard counts per another
    number of pupils."""
    out = []
    for k, t in zip(rm.INDICATORS, rules.teacher_floors(stage)):
        per = rules.rule(k).multiplier
        out.append(t if per == rm.FLOOR_PUPILS else t * rm.FLOOR_PUPILS / per)
    return (out[0], out[1], out[2])


def in_scope_schools(district: District) -> list[str]:
    """Ids of the schools that take part in the county rotation (public, not special),
    in table order."""
    s = district.schools
    scope = s["public"].fillna(True).astype(bool) & (s["type"] != "special")
    return [str(x) for x in s.loc[scope, "school_id"]]


def travel_costs(district: District, school_ids: list[str]) -> TravelMatrix:
    """Travel between these schools from ``district.travel`` (roads, else straight
    lines); the straight-line matrix of the same service when some pair is
    unreachable on the roads. A school too far from every road is a
    :class:`PlanInputError` naming schools.csv."""
    points = district.school_points(school_ids)
    try:
        tm = district.travel(points)
    except FarFromRoads as e:
        raise PlanInputError(f"schools.csv: {e} (settings.max_access_m in district.yaml)"
                             ) from None
    if not np.isfinite(tm.minutes).all():
        tm = travel_matrix(points, None, None, district.travel_settings())
    return tm


def build_problem(district: District, settings: rm.RotationSettings,
                  travel: TravelMatrix | None = None) -> rm.RotationProblem:
    """The model's problem for the district's in-scope schools and their teachers;
    move costs are ``travel``'s minutes (none: every move costs 0)."""
    _require_roster(district)
    ids = in_scope_schools(district)
    s = district.schools.set_index("school_id", drop=False).loc[ids]
    schools = []
    for row in s.itertuples(index=False):
        stages = school_stages(row)
        quota = None if pd.isna(row.staff_quota) else int(row.staff_quota)
        schools.append(rm.School(id=row.school_id, stages=frozenset(stages),
                                 pupils={st: int(getattr(row, f"students_{st}")) for st in stages},
                                 area_type=row.area_type, staff_quota=quota))
    t = district.teachers[district.teachers["school_id"].isin(ids)]
    teachers = [rm.Teacher(id=r.teacher_id, school_id=r.school_id, stage=r.stage,
                           subject=str(r.subject), qualified=bool(r.qualified),
                           backbone=bool(r.is_backbone), pe_art=bool(r.pe_art),
                           eligible=bool(r.eligible), name=str(r.name),
                           years_at_school=(int(r.years_at_school)
                                            if pd.notna(r.years_at_school) else 0))
                for r in t.itertuples(index=False)]
    cost = None
    if travel is not None:
        cost = travel.pairs("minutes", decimals=TRAVEL_DECIMALS)
    return rm.RotationProblem(teachers=teachers, schools=schools, settings=settings,
                              travel=cost)


def _require_roster(district: District) -> None:
    if district.teachers is None:
        raise PlanInputError("teachers.csv: the district has no teacher roster; "
                             "a rotation needs one")


def apply_moves(district: District, moves) -> District:
    """The district after the plan: movers belong to their new school (0 years there)."""
    t = district.teachers.copy()
    idx = {tid: i for i, tid in enumerate(t["teacher_id"])}
    for m in moves:
        i = t.index[idx[m.teacher_id]]
        t.at[i, "school_id"] = m.to_school
        t.at[i, "years_at_school"] = 0.0
    return district.with_schools(district.schools, derive_teacher_flags(
        t.drop(columns=["qualified", "is_backbone", "pe_art", "eligible"]), district.settings))


def _cv13(report) -> dict:
    return {str(k): report.indicator(k).to_dict().get("cv") for k in rm.INDICATORS}


def rotation_summary(before: District, after: District, result: rm.RotationResult,
                     problem: rm.RotationProblem) -> dict[str, Any]:
    """The language-free figures of ``summary.json`` (codes and numbers only)."""
    rb, ra = check(before), check(after)
    counts = dict(result.counts)
    parts = []
    floors = problem.settings.floors
    met_before = met_after = 0
    for p in result.parts:
        f = floors[p.stage]
        ok_b = all(v + 1e-9 >= fl for v, fl in zip(p.before, f))
        ok_a = all(v + 1e-9 >= fl for v, fl in zip(p.after, f))
        met_before += ok_b
        met_after += ok_a
        parts.append({"school_id": p.school_id, "stage": p.stage, "pupils": p.pupils,
                      "before": [round(v, 4) for v in p.before],
                      "after": [round(v, 4) for v in p.after],
                      "floors_met_before": ok_b, "floors_met_after": ok_a})
    return {
        "status": result.status.value,
        "objective": {k: round(v, 6) for k, v in result.objective.items()},
        "gap": result.gap, "solve_seconds": None, "solver": result.solver,  # times: timings.json
        "eligible": counts.get("eligible"), "required": counts.get("required_movers"),
        "rotated": counts.get("rotated"), "backbone_rotated": counts.get("backbone_rotated"),
        "cv_before": _cv13(rb), "cv_after": _cv13(ra),
        "floors_met_before": met_before, "floors_met_after": met_after,
        "school_parts": len(parts),
        "messages": [{"code": d.code, **d.figures} for d in result.messages],
        "shortfalls": [{"rule": s.rule, "required": s.required, "achieved": s.achieved,
                        "short": s.short} for s in result.shortfalls],
        "parts": parts,
    }


def flows(outcome: RotationOutcome) -> list[dict]:
    """Teachers moving between each pair of schools (for the map)."""
    c: dict[tuple[str, str], int] = {}
    for m in outcome.result.moves:
        c[(m.from_school, m.to_school)] = c.get((m.from_school, m.to_school), 0) + 1
    return [{"from_school_id": a, "to_school_id": b, "teachers": n}
            for (a, b), n in sorted(c.items())]
