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
- **Purpose.** The indicator engine on the district (after the year's returns, see
  *History*) gives the model the county values of indicators 1–3 per stage and the
  parts below a floor of 4–7 (``School.weak_stages``); the model then classes every
  part as strong or in need (:mod:`models.rotation`, *Purpose*).
- **History.** With a ``rotation_history`` table the list has a school year
  (``school_year``, default: the year after the latest in the table). A teacher with a
  move (not a return) in the ``cycle_years`` school years before it, or in it or
  later, is not eligible. A teacher whose latest move has a period that has ended
  (``school_year + period_years ≤`` the list's year) and who is still at the school
  they went to returns to the school they came from: the return is on the list
  (kind ``return``), happens before the plan (the plan starts from the district after
  the returns), is not one of the year's movers and is not eligible. A return to a
  school that takes no part in the rotation (closed, private, another stage) cannot
  happen; the summary lists it. Reading taken: the roster lists a teacher at the
  school where they teach now (for a teacher on an exchange, the school they went to).
- **Wishes.** A teacher's ``preferences`` (up to three school ids, best first) are
  offered to the model's level 4; a wish for a school outside the rotation is dropped.
- **Travel.** The cost of a move is the travel time in minutes between the two
  schools from the one travel-time service, ``district.travel(...)``
  (:class:`geodata.travel.TravelMatrix`): on the district's roads, or the
  straight-line fallback (great-circle km × the district's detour factor at its
  fallback speed) without roads. Reading taken: when two schools are on
  unconnected pieces of the road network (an infinite road time), the whole matrix
  is the service's straight-line fallback, so every cost has one unit and one
  method. Costs are rounded to 0.001 min (the plan does not depend on the last
  bits of a float).
- **Time.** The user's time limit covers the whole call: what loading the roster,
  the engine and the travel times took is taken off before the model gets the rest.
- **Checks.** The plan is re-checked by :func:`models.rotation.verify_rotation`
  (``violations``) and by the indicator engine (CVs of 1–3 before and after).

User errors (no roster, a school far from every road) are
:class:`~planner.core.errors.PlanInputError` naming the file; a ``ValueError``
from the model is a bug.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
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
from planner.io.load import parse_preferences

__all__ = ["History", "Minutes", "RotationOutcome", "apply_moves", "build_problem", "engine_inputs",
           "flows", "history_effects", "in_scope_schools", "model_settings", "rotate",
           "rotation_summary", "travel_costs"]

#: decimals of a travel cost (minutes)
TRAVEL_DECIMALS = 3
#: indicators 4-7 (facilities): a part below one of their floors is weak
FACILITY_INDICATORS = (4, 5, 6, 7)


@dataclass(frozen=True)
class History:
    """What ``rotation_history`` means for this year's list.

    ``school_year`` the list's year (``None`` without history and setting);
    ``excluded`` teacher ids not eligible because they moved within the cycle;
    ``returns`` the moves back of exchanges that have ended (kind ``return``, reason
    ``return``); ``blocked`` ``(teacher, school)`` returns to a school outside the
    rotation; ``types`` ``(teacher, move type code)`` of each returning teacher's move
    (``""`` when the table has none); ``removed`` how many teachers eligible by the
    roster the history made not eligible.
    """

    school_year: int | None
    excluded: tuple[str, ...] = ()
    returns: tuple[rm.Move, ...] = ()
    blocked: tuple[tuple[str, str], ...] = ()
    types: tuple[tuple[str, str], ...] = ()
    removed: int = 0


@dataclass(frozen=True)
class RotationOutcome:
    """A rotation plan for a district, as the library returns it.

    ``status`` is the result's (:class:`models.status.Status`; a relaxed closest
    plan is ``result.closest``); ``params`` the parameters as applied, every
    ``None`` filled from the standard, the district and the history; ``summary`` the
    language-free figures written to ``summary.json``; ``violations`` what the
    model's independent check found (empty for a sound plan); ``travel`` how trips
    were measured; ``history`` what the rotation history did (returns are in
    ``history.returns``, not in ``result.moves``); ``district_start`` the district the
    plan starts from (after the returns).
    """

    status: Status
    params: RotationParams
    result: rm.RotationResult
    problem: rm.RotationProblem
    district_after: District
    summary: dict[str, Any]
    violations: list[str]
    travel: TravelMatrix | None = None
    history: History = History(None)
    district_start: District | None = None

    def indicator_19(self) -> dict[str, int]:
        """``{"eligible", "rotated", "backbone_rotated"}`` of the plan, for the
        indicator check after it (``check(district_after, rotation=...)``)."""
        c = self.result.counts
        return {"eligible": c["eligible"], "rotated": c["rotated"],
                "backbone_rotated": c["backbone_rotated"]}

    def listed(self) -> tuple[rm.Move, ...]:
        """Every row of the list: the returns, then the plan's moves, by teacher id."""
        return tuple(sorted(self.history.returns + self.result.moves,
                            key=lambda m: m.teacher_id))


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
    t0 = time.perf_counter()
    _require_roster(district)
    rules = district.rules if rules is None else rules
    params = params.resolved(rules, district.settings.backbone_base)
    hist = history_effects(district, params)
    params = replace(params, school_year=hist.school_year)
    tm = travel_costs(district, in_scope_schools(district))
    hist = replace(hist, returns=tuple(replace(m, cost=_minutes(tm, m.from_school, m.to_school))
                                       for m in hist.returns))
    start = apply_moves(district, hist.returns) if hist.returns else district
    county, weak = engine_inputs(start, rules)
    problem = build_problem(start, model_settings(params, rules), tm, county=county,
                            weak=weak, excluded=set(hist.excluded))
    left = solve.time_limit - (time.perf_counter() - t0)
    result = rm.solve(problem, solver=solve.solver, time_limit=max(1.0, left))
    violations = rm.verify_rotation(problem, result.moves)
    after = apply_moves(start, result.moves)
    summary = rotation_summary(district, after, result, problem, hist)
    summary["verified"] = not violations
    summary["violations"] = violations
    return RotationOutcome(result.status, params, result, problem, after, summary,
                           violations, tm, hist, start)


def model_settings(params: RotationParams, rules: Rules) -> rm.RotationSettings:
    """The model's settings: resolved ``params`` and the floors of ``rules``."""
    if params.share is None or params.backbone_share is None or params.backbone_base is None:
        raise ValueError("model_settings needs resolved parameters (RotationParams.resolved)")
    return rm.RotationSettings(
        share=params.share, backbone_share=params.backbone_share,
        floors={st: _floors(rules, st) for st in rm.STAGES},
        backbone_base=params.backbone_base, band=params.band,
        max_send_share=params.max_send_share, direction_rule=params.direction_rule,
        urban_moves=params.urban_moves, exchange_partners=params.exchange_partners)


def _floors(rules: Rules, stage: str) -> tuple[float, float, float]:
    """The thresholds of indicators 1-3 in the model's unit (teachers per
    ``rm.FLOOR_PUPILS`` pupils); converted only if the standard counts per another
    number of pupils."""
    out = []
    for k, t in zip(rm.INDICATORS, rules.teacher_floors(stage)):
        per = rules.rule(k).multiplier
        out.append(t if per == rm.FLOOR_PUPILS else t * rm.FLOOR_PUPILS / per)
    return (out[0], out[1], out[2])


def engine_inputs(district: District, rules: Rules
                  ) -> tuple[dict[str, tuple[float, float, float]], dict[str, frozenset[str]]]:
    """From the indicator engine on ``district``: the county values of indicators 1–3
    per stage (teachers per ``rm.FLOOR_PUPILS`` pupils) and, per school, the stages in
    which it is below a floor of 4–7."""
    report = check(district, rules=rules)
    county: dict[str, tuple[float, float, float]] = {}
    for st in rm.STAGES:
        values = []
        for k in rm.INDICATORS:
            v = (report.indicator(k).county_value or {}).get(st)
            per = rules.rule(k).multiplier
            values.append(np.nan if v is None else float(v) * rm.FLOOR_PUPILS / per)
        if not any(np.isnan(values)):
            county[st] = (values[0], values[1], values[2])
    parts = report.parts_table()
    weak: dict[str, set[str]] = {}
    for k in FACILITY_INDICATORS:
        col = f"passed_{k}"
        if col not in parts.columns:
            continue
        bad = parts[(~parts[col].astype(bool)) & parts[f"value_{k}"].notna()]
        for sid, st in zip(bad["school_id"], bad["stage"]):
            weak.setdefault(str(sid), set()).add(str(st))
    return county, {h: frozenset(v) for h, v in sorted(weak.items())}


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


def _minutes(tm: TravelMatrix | None, a: str, b: str) -> float:
    if tm is None or a == b:
        return 0.0
    return round(float(tm.minutes_between(a, b)), TRAVEL_DECIMALS)


def build_problem(district: District, settings: rm.RotationSettings,
                  travel: TravelMatrix | None = None, *,
                  county: dict[str, tuple[float, float, float]] | None = None,
                  weak: dict[str, frozenset[str]] | None = None,
                  excluded: set[str] | frozenset[str] = frozenset()) -> rm.RotationProblem:
    """The model's problem for the district's in-scope schools and their teachers;
    move costs are ``travel``'s minutes (none: every move costs 0); ``county`` and
    ``weak`` as :func:`engine_inputs` gives them (none: the model's own means, no
    part weak in 4–7); teachers in ``excluded`` are not eligible (history)."""
    _require_roster(district)
    ids = in_scope_schools(district)
    weak = weak or {}
    s = district.schools.set_index("school_id", drop=False).loc[ids]
    schools = []
    stages_of: dict[str, frozenset[str]] = {}
    for row in s.itertuples(index=False):
        stages = school_stages(row)
        stages_of[row.school_id] = frozenset(stages)
        quota = None if pd.isna(row.staff_quota) else int(row.staff_quota)
        schools.append(rm.School(id=row.school_id, stages=frozenset(stages),
                                 pupils={st: int(getattr(row, f"students_{st}")) for st in stages},
                                 area_type=row.area_type, staff_quota=quota,
                                 weak_stages=weak.get(row.school_id, frozenset())))
    t = district.teachers[district.teachers["school_id"].isin(ids)]
    prefs = t["preferences"] if "preferences" in t.columns else pd.Series("", index=t.index)
    teachers = []
    for r, wish in zip(t.itertuples(index=False), prefs):
        ok = tuple(q for q in parse_preferences(wish)
                   if q in stages_of and r.stage in stages_of[q] and q != r.school_id)
        teachers.append(rm.Teacher(
            id=r.teacher_id, school_id=r.school_id, stage=r.stage, subject=str(r.subject),
            qualified=bool(r.qualified), backbone=bool(r.is_backbone), pe_art=bool(r.pe_art),
            eligible=bool(r.eligible) and r.teacher_id not in excluded, name=str(r.name),
            years_at_school=int(r.years_at_school) if pd.notna(r.years_at_school) else 0,
            preferences=ok[:rm.MAX_WISHES]))
    cost = None if travel is None else Minutes(travel)
    return rm.RotationProblem(teachers=teachers, schools=schools, settings=settings,
                              travel=cost, county=county)


class Minutes(Mapping):
    """The model's travel costs: minutes between two schools of a
    :class:`~geodata.travel.TravelMatrix`, rounded to ``TRAVEL_DECIMALS``, as a
    mapping ``(from, to) -> minutes`` and, at once, as ``matrix(ids)`` (what the model
    uses on a large county instead of one look-up per pair)."""

    def __init__(self, tm: TravelMatrix):
        self.oi, self.di = tm.index()
        self.values = np.round(np.asarray(tm.minutes, dtype=float), TRAVEL_DECIMALS)

    def __getitem__(self, key: tuple[str, str]) -> float:
        return float(self.values[self.oi[key[0]], self.di[key[1]]])

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((a, b) for a in self.oi for b in self.di if a != b)

    def __len__(self) -> int:
        return len(self.oi) * len(self.di) - len(set(self.oi) & set(self.di))

    def matrix(self, ids: list[str]) -> np.ndarray:
        rows = [self.oi[h] for h in ids]
        cols = [self.di[h] for h in ids]
        return self.values[np.ix_(rows, cols)]


def _require_roster(district: District) -> None:
    if district.teachers is None:
        where = f" in {district.path}" if district.path is not None else ""
        raise PlanInputError(f"teachers.csv: the district has no teacher roster (teachers.csv "
                             f"or teachers.xlsx{where}); a rotation needs one")


# ---------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------

def history_effects(district: District, params: RotationParams) -> History:
    """What the district's ``rotation_history`` means for the list's school year
    (see *History*); without a table, nothing (the year is the setting's)."""
    h = district.rotation_history
    year = params.school_year
    if h is None or len(h) == 0:
        return History(year)
    years = h["school_year"].to_numpy(dtype=float)
    if year is None:
        year = int(np.nanmax(years)) + 1
    types = h["move_type"].astype(str).to_numpy(dtype=object)
    moved = (types != "return") & (years > year - params.cycle_years)
    excluded = set(h.loc[moved, "teacher_id"].astype(str))
    t = district.teachers.set_index("teacher_id", drop=False) if district.teachers is not None \
        else None
    scope = set(in_scope_schools(district))
    stages = {sid: set(school_stages(r)) for sid, r in district.schools.set_index(
        "school_id").iterrows()}
    latest = h.sort_values(["teacher_id", "school_year"], kind="stable") \
        .groupby("teacher_id", sort=True).tail(1)
    returns, blocked, kinds = [], [], []
    for r in latest.itertuples(index=False):
        tid = str(r.teacher_id)
        period = r.period_years
        if r.move_type == "return" or pd.isna(period) or period <= 0:
            continue
        if r.school_year + period > year or t is None or tid not in t.index:
            continue
        x = t.loc[tid]
        if x["school_id"] != r.to_school_id:
            continue                       # moved again, or back already
        excluded.add(tid)
        home = str(r.from_school_id)
        if home not in scope or x["stage"] not in stages.get(home, set()):
            blocked.append((tid, home))
            continue
        returns.append(rm.Move(tid, str(r.to_school_id), home, str(x["stage"]),
                               str(x["subject"]), "return",
                               _area_dir(district, str(r.to_school_id), home), 0.0,
                               str(x["name"]), kind="return"))
        kinds.append((tid, str(r.move_type or "")))
    removed = 0
    if t is not None:
        elig = t["eligible"].astype(bool)
        removed = int(elig[elig.index.isin(list(excluded))].sum())
    return History(year, tuple(sorted(excluded)),
                   tuple(sorted(returns, key=lambda m: m.teacher_id)),
                   tuple(sorted(blocked)), tuple(sorted(kinds)), removed)


def _area_dir(district: District, a: str, b: str) -> str:
    area = dict(zip(district.schools["school_id"], district.schools["area_type"]))
    return f"{area[a]}->{area[b]}"


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
                     problem: rm.RotationProblem, history: History | None = None
                     ) -> dict[str, Any]:
    """The language-free figures of ``summary.json`` (codes and numbers only)."""
    history = history or History(None)
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
                      "floors_met_before": ok_b, "floors_met_after": ok_a,
                      "lacks": list(p.lacks), "weak": p.weak, "strong": p.strong})
    reasons = Counter(m.reason for m in result.moves)
    by_id = {t.id: t for t in problem.teachers}
    backbone_toward = sum(1 for m in result.moves if by_id[m.teacher_id].backbone) \
        - counts.get("backbone_not_toward_need", 0)
    levels = [{"level": n, "status": i.status.value,
               "gap": None if i.gap is None else round(i.gap, 6)}
              for n, i in zip(result.level_names, result.levels)]
    return {
        "status": result.status.value,
        "objective": {k: round(v, 6) for k, v in result.objective.items()},
        "gap": result.gap, "solve_seconds": None, "solver": result.solver,  # times: timings.json
        "eligible": counts.get("eligible"), "required": counts.get("required_movers"),
        "rotated": counts.get("rotated"), "backbone_rotated": counts.get("backbone_rotated"),
        "backbone_toward_need": backbone_toward,
        "backbone_not_toward_need": counts.get("backbone_not_toward_need"),
        "not_toward_need": counts.get("not_toward_need"),
        "exchanges": counts.get("exchanges"),
        "quota_reasons": reasons.get("quota", 0),
        "wish_teachers": counts.get("wish_teachers"),
        "wishes_granted": counts.get("wishes_granted"),
        "school_year": history.school_year,
        "history_excluded": history.removed,
        "returns": len(history.returns),
        "returns_blocked": [{"teacher_id": a, "school_id": b} for a, b in history.blocked],
        "cv_before": _cv13(rb), "cv_after": _cv13(ra),
        "floors_met_before": met_before, "floors_met_after": met_after,
        "school_parts": len(parts),
        "reasons": dict(sorted(reasons.items())),
        "levels": levels,
        "messages": [{"code": d.code, **d.figures} for d in result.messages],
        "shortfalls": [{"rule": s.rule, "required": s.required, "achieved": s.achieved,
                        "short": s.short} for s in result.shortfalls],
        "parts": parts,
    }


def flows(outcome: RotationOutcome) -> list[dict]:
    """Teachers moving between each pair of schools (for the map), returns included,
    and how many of them are backbone teachers (``backbone``)."""
    backbone = {t.id: t.backbone for t in outcome.problem.teachers}
    c: dict[tuple[str, str], int] = {}
    bb: dict[tuple[str, str], int] = {}
    for m in outcome.listed():
        key = (m.from_school, m.to_school)
        c[key] = c.get(key, 0) + 1
        bb[key] = bb.get(key, 0) + int(backbone.get(m.teacher_id, False))
    return [{"from_school_id": a, "to_school_id": b, "teachers": n, "backbone": bb[(a, b)]}
            for (a, b), n in sorted(c.items())]
