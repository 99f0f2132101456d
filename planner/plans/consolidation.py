"""Consolidation of small schools with school buses: District + Rules + params →
:class:`ConsolidationOutcome` (adapter of :mod:`models.consolidation`).

:func:`consolidate` is the library call; it takes no language and returns codes
and numbers (the words are :mod:`planner.outputs.consolidation`'s):

- Sites are the schools themselves (pupils board at their old school). Travel
  between sites is the district's one travel-time service,
  ``district.travel(district.school_points(ids))`` (:mod:`geodata.travel`): on the
  district's roads (shortest-time paths at school-bus speeds, the distance along
  them, and the straight access leg from a school to its road at the district's
  access speed), or without roads the straight line × the district's detour
  factor at its fallback speed. ``matrix.describe()`` says which, in the summary.
- Every number of the standard comes from ``rules`` (default: the district's):
  class caps, floor and sports area per pupil, the room rule of indicator 11,
  school-size limits by type, the floors of indicators 1-3 for teacher
  shortages; the ride limit, bus capacity and the optimise-mode candidates
  threshold when ``params`` leave them ``None``. :attr:`ConsolidationOutcome.params`
  holds the resolved values.
- Plan mode takes closures ``(school_id, receiving_school_id, share)`` from
  ``params.closures``: a CSV/XLSX file (:func:`read_closures`) or a list of
  dicts/tuples. Optimise mode takes as candidates the public schools and teaching
  points under ``candidates_max_pupils`` pupils (or ``candidates``) and as
  receivers the other public primary, junior, nine-year, twelve-year and complete
  middle schools (or ``receivers``); ``must_close`` schools close whatever it costs.
- Teachers of closed schools are redeployed (to their pupils' receivers or to
  schools short of teachers in indicators 1-3 after the merge).
- The outcome holds the result, its :class:`~models.status.Status` and the district
  after the plan (closed schools removed, pupils and new classes added to the
  receivers, teachers moved), for the scenario runner.

User errors (unknown schools, a closures file that does not hold up, an option
that does not fit the mode, a school far from every road) are
:class:`~planner.core.errors.PlanInputError` / :class:`~planner.core.errors.DataError`;
a plan that breaks a hard limit is an outcome with ``Status.INFEASIBLE`` whose
explanations name the limit and where.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.travel import FarFromRoads, TravelMatrix
from models import consolidation as M
from models.status import Status
from planner.core.district import District, derive_teacher_flags, school_stages
from planner.core.errors import DataError, PlanInputError
from planner.core.params import ConsolidationParams, SolveParams
from planner.core.rules import Rules

__all__ = [
    "FOLLOWS_PUPILS",
    "RECEIVER_TYPES",
    "ConsolidationOutcome",
    "apply_result",
    "candidate_ids",
    "consolidate",
    "engine_view",
    "model_settings",
    "read_closures",
    "receiver_ids",
    "resolve_params",
    "teacher_shortages",
]

RECEIVER_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_middle")
CLOSURE_HEADERS = {"school_id": "school_id", "学校代码": "school_id",
                   "receiving_school_id": "receiving_school_id",
                   "接收学校代码": "receiving_school_id",
                   "share": "share", "比例": "share", "分流比例": "share"}
#: a closure given as a tuple: (school_id, receiving_school_id[, share])
CLOSURE_FIELDS = ("school_id", "receiving_school_id", "share")
#: teacher_counts() columns of indicators 1, 2, 3, in the order of Rules.teacher_floors
TEACHER_FLAGS = ("qualified", "backbone", "pe_art")


@dataclass
class ConsolidationOutcome:
    """A consolidation plan and everything its presenter needs (no words)."""

    result: M.Result
    status: Status
    params: ConsolidationParams          # resolved: ride limit, capacity, threshold filled in
    solve: SolveParams
    rules: Rules
    plan: list[tuple[str, str, float]]   # (school_id, receiving_school_id, share)
    district: District
    district_after: District
    problem: M.Problem
    settings: M.Settings
    matrix: TravelMatrix                 # travel between the plan's schools
    network: Any = None                  # geodata.roads.RoadNetwork | None
    matrix_seconds: float = 0.0
    indicators: dict | None = None       # engine's view of the receivers (engine_view)
    _route_coords: list | None = field(default=None, repr=False, compare=False)

    @property
    def travel_source(self) -> str:
        """``"roads"`` or ``"straight_line"``."""
        return self.matrix.source

    @property
    def snap_m(self) -> dict[str, float]:
        """Straight leg (m) from each school of the plan to its road (0 without roads)."""
        return {str(i): float(m) for i, m in zip(self.matrix.origins,
                                                 self.matrix.access_m_origins, strict=True)}

    def route_coords(self) -> list[list[tuple[float, float]]]:
        """Each bus route's line, (lon, lat) per vertex, in route order: along the
        roads between the snapped stops (:func:`geodata.roads.route_geometry`), or
        straight from stop to stop without roads (or where the road geometry
        cannot be traced). Computed once."""
        if self._route_coords is not None:
            return self._route_coords
        ids = list(self.matrix.origins)
        pts = {sid: (lon, lat) for sid, lon, lat in self.district.school_points(ids)}
        snapped: dict = {}
        if self.network is not None:
            snapped = {p.id: p for p in self.network.snap([pts[i] for i in ids], ids=ids)}
        out = []
        for rt in self.result.routes:
            seq = [sid for sid, _ in rt.stops] + [rt.receiving_school_id]
            coords = None
            if snapped and all(x in snapped for x in seq):
                from geodata.roads import route_geometry
                try:
                    line = route_geometry(self.network, [snapped[x] for x in seq])
                    coords = [(float(x), float(y)) for x, y in line.coords]
                except ValueError:
                    coords = None
            if coords is None:
                coords = [pts[x] for x in seq]
                if len(coords) == 1:
                    coords.append(coords[0])
            out.append(coords)
        self._route_coords = out
        return out


# ----------------------------------------------------------------- closures


def read_closures(path: str | Path, district: District) -> list[tuple[str, str, float]]:
    """Read a closures CSV/XLSX; raise :class:`DataError` with one line per problem."""
    from planner.io.load import _read_csv, _read_xlsx
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise DataError([f"{label} row -, column -: file not found"])
    df = _read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(path)
    df = df.rename(columns={c: CLOSURE_HEADERS.get(str(c).strip(), str(c).strip())
                            for c in df.columns})
    hr = df.attrs.get("header_row", 1)
    problems = [f"{label} row {hr}, column {c}: required column is missing"
                for c in ("school_id", "receiving_school_id") if c not in df.columns]
    dup = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    problems += [f"{label} row {hr}, column {c}: column {c} is given twice" for c in dup]
    if problems:
        raise DataError(problems)
    if "share" not in df.columns:
        df["share"] = ""
    known = set(district.schools["school_id"])
    rows = []
    for rowno, rec in df.iterrows():
        sid, rid, sh = rec["school_id"], rec["receiving_school_id"], rec["share"]
        ok = True
        for col, v in (("school_id", sid), ("receiving_school_id", rid)):
            if v == "":
                problems.append(f"{label} row {rowno}, column {col}: empty")
                ok = False
            elif v not in known:
                problems.append(f"{label} row {rowno}, column {col}: unknown school {v!r}")
                ok = False
        share = _share(sh)
        if share is None:
            problems.append(f"{label} row {rowno}, column share: {sh!r} is not a number in (0, 1]")
            ok = False
        if ok and sid == rid:
            problems.append(f"{label} row {rowno}, column receiving_school_id: "
                            f"{sid} cannot receive its own pupils")
            ok = False
        rows.append((rowno, sid, rid, share, ok))
    problems += _plan_problems([(r, s, t, w) for r, s, t, w, ok in rows if ok], label)
    if problems:
        raise DataError(problems)
    return [(s, t, w) for _, s, t, w, _ in rows]


def _share(v: Any) -> float | None:
    """A share in (0, 1] (empty: 1), else ``None``."""
    if v is None or v == "":
        return 1.0
    try:
        w = float(v)
    except (TypeError, ValueError):
        return None
    return w if 0 < w <= 1 else None


def _plan_problems(rows, label: str) -> list[str]:
    out = []
    by: dict[str, list] = {}
    for r, s, t, w in rows:
        by.setdefault(s, []).append((r, t, w))
    closed = set(by)
    for s, lst in by.items():
        total = sum(w for _, _, w in lst)
        if abs(total - 1.0) > 1e-6:
            out.append(f"{label} row {lst[-1][0]}, column share: shares of {s} sum to "
                       f"{total:g}, not 1 (rows {', '.join(str(r) for r, _, _ in lst)})")
        seen = set()
        for r, t, _ in lst:
            if t in seen:
                out.append(f"{label} row {r}, column receiving_school_id: {s} → {t} is given twice")
            seen.add(t)
            if t in closed:
                out.append(f"{label} row {r}, column receiving_school_id: {t} is itself closed")
    return out


def _check_plan_list(plan: Sequence, district: District) -> list[tuple[str, str, float]]:
    """Closures given as a list of ``{school_id, receiving_school_id, share}`` or
    ``(school_id, receiving_school_id[, share])``; the same checks as a file."""
    known = set(district.schools["school_id"])
    rows, problems = [], []
    for k, item in enumerate(plan, start=1):
        if isinstance(item, dict):
            s, t, w = item.get("school_id"), item.get("receiving_school_id"), item.get("share")
        elif isinstance(item, (list, tuple)) and 2 <= len(item) <= len(CLOSURE_FIELDS):
            s, t, *rest = item
            w = rest[0] if rest else None
        else:
            problems.append(f"closures row {k}: {item!r} is not (school_id, "
                            f"receiving_school_id, share)")
            continue
        s, t = str(s), str(t)
        ok = True
        for col, v in (("school_id", s), ("receiving_school_id", t)):
            if v not in known:
                problems.append(f"closures row {k}, column {col}: unknown school {v!r}")
                ok = False
        share = _share(w)
        if share is None:
            problems.append(f"closures row {k}, column share: {w!r} is not a number in (0, 1]")
            continue
        if ok and s == t:
            problems.append(f"closures row {k}, column receiving_school_id: "
                            f"{s} cannot receive its own pupils")
            continue
        rows.append((k, s, t, share))
    problems += _plan_problems(rows, "closures")
    if problems:
        raise DataError(problems)
    return [(s, t, w) for _, s, t, w in rows]


# -------------------------------------------------------------- the problem


def resolve_params(params: ConsolidationParams, rules: Rules) -> ConsolidationParams:
    """``params`` with the settings left ``None`` taken from the standard: the ride
    limit and bus capacity (``transport:``), the candidates threshold
    (``consolidation:``)."""
    t = rules.transport
    ride = params.max_ride_min if params.max_ride_min is not None else t.max_ride_min
    cap = params.bus_capacity if params.bus_capacity is not None else t.bus_capacity
    below = (params.candidates_max_pupils if params.candidates_max_pupils is not None
             else rules.candidates_max_pupils)
    return params.replace(max_ride_min=float(ride), bus_capacity=int(cap),
                          candidates_max_pupils=int(below))


def model_settings(params: ConsolidationParams, solve: SolveParams, rules: Rules) -> M.Settings:
    """The model's limits from the standard and the resolved ``params``."""
    stages = M.STAGES
    return M.Settings(
        max_ride_min=float(params.max_ride_min), bus_capacity=int(params.bus_capacity),
        class_cap=tuple((st, rules.max_class[st]) for st in stages),
        floor_m2=tuple((st, rules.area_per_pupil(st)[0]) for st in stages),
        sports_m2=tuple((st, rules.area_per_pupil(st)[1]) for st in stages),
        classes_per_room=rules.classes_per_room, music_room_min_m2=rules.music_room_min_m2,
        art_room_min_m2=rules.art_room_min_m2, costs=params.costs,
        time_limit=float(solve.time_limit), seed=int(solve.seed), solver=solve.solver)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _school(row, rules: Rules) -> M.School:
    rooms = _num(row.get("classrooms"))
    return M.School(
        id=str(row["school_id"]), name=str(row["name"]), stages=tuple(school_stages(row)),
        pupils_primary=int(row["students_primary"]), pupils_junior=int(row["students_junior"]),
        classes_primary=int(row["classes_primary"]), classes_junior=int(row["classes_junior"]),
        max_class_primary=int(row["max_class_primary"]),
        max_class_junior=int(row["max_class_junior"]),
        classrooms=0 if math.isnan(rooms) else int(rooms),
        building_area_m2=_num(row.get("building_area_m2")),
        sports_area_m2=_num(row.get("sports_area_m2")),
        music_rooms=_num(row.get("music_rooms")),
        music_room_min_m2=_num(row.get("music_room_min_m2")),
        art_rooms=_num(row.get("art_rooms")), art_room_min_m2=_num(row.get("art_room_min_m2")),
        size_limit=rules.school_size_limit(str(row["type"])))


def candidate_ids(district: District, max_pupils: int) -> list[str]:
    """Public schools and teaching points (not special schools) under ``max_pupils``."""
    s = district.schools
    total = s["students_primary"] + s["students_junior"]
    public = s["public"].fillna(True).astype(bool)
    mask = (total < max_pupils) & public & (s["type"] != "special")
    return sorted(s.loc[mask, "school_id"])


def receiver_ids(district: District, exclude: Sequence[str] = ()) -> list[str]:
    """Public schools of :data:`RECEIVER_TYPES` not in ``exclude``."""
    s = district.schools
    public = s["public"].fillna(True).astype(bool)
    mask = s["type"].isin(RECEIVER_TYPES) & public & ~s["school_id"].isin(list(exclude))
    return sorted(s.loc[mask, "school_id"])


def teacher_shortages(district: District, rules: Rules, added: dict | None = None,
                      removed: Sequence[str] = ()) -> dict:
    """Teachers missing per (school_id, stage) for indicators 1-3 after adding
    ``added[(school_id, stage)]`` pupils (closed schools ``removed``):
    ``ceil(floor × pupils / multiplier) − have`` per flag, where positive."""
    added = added or {}
    counts = district.teacher_counts()
    per = {f: rules.rule(k).multiplier for k, f in enumerate(TEACHER_FLAGS, start=1)}
    out = {}
    s = district.schools
    public = s["public"].fillna(True).astype(bool)
    for row, pub in zip(s.to_dict("records"), public, strict=True):
        sid = row["school_id"]
        if sid in removed or not pub or row["type"] == "special":
            continue
        for st in school_stages(row):
            pupils = int(row[f"students_{st}"]) + int(added.get((sid, st), 0))
            if pupils <= 0 or (sid, st) not in counts.index:
                continue
            c = counts.loc[(sid, st)]
            d = {}
            for f, th in zip(TEACHER_FLAGS, rules.teacher_floors(st), strict=True):
                have = c[f]
                if pd.isna(have):
                    continue
                need = math.ceil(th * pupils / per[f] - 1e-9)
                if need > have:
                    d[f] = int(need - have)
            if d:
                out[(sid, st)] = d
    return out


def build_problem(district: District, ids: Sequence[str], rules: Rules
                  ) -> tuple[M.Problem, TravelMatrix, float]:
    """The model's problem for the schools ``ids``, the travel matrix between
    them and the seconds it took."""
    t0 = time.perf_counter()
    try:
        matrix = district.travel(district.school_points(ids))
    except FarFromRoads as e:
        raise PlanInputError(f"schools.csv: {e} (district.yaml settings.max_access_m)") from None
    secs = time.perf_counter() - t0
    rows = district.schools.set_index("school_id", drop=False)
    schools = [_school(rows.loc[i], rules) for i in ids]
    teachers = []
    if district.teachers is not None:
        t = district.teachers
        for rec in t[t["school_id"].isin(list(ids))].to_dict("records"):
            teachers.append(M.Teacher(str(rec["teacher_id"]), str(rec["school_id"]),
                                      str(rec["stage"]), bool(rec.get("qualified", False)),
                                      bool(rec.get("is_backbone", False)),
                                      bool(rec.get("pe_art", False))))
    problem = M.Problem(schools, matrix.minutes, matrix.km, teachers=teachers)
    return problem, matrix, secs


# ------------------------------------------------------------------ main API


#: the defaults of :func:`consolidate` (frozen, so one instance serves every call)
DEFAULT_PARAMS = ConsolidationParams()
DEFAULT_SOLVE = SolveParams()


def consolidate(district: District, params: ConsolidationParams = DEFAULT_PARAMS,
                solve: SolveParams = DEFAULT_SOLVE, *, rules: Rules | None = None,
                receivers: Sequence[str] | None = None, candidates: Sequence[str] | None = None,
                must_close: Sequence[str] = (), check_indicators: bool = True
                ) -> ConsolidationOutcome:
    """Evaluate the closures of ``params`` (mode ``plan``) or choose closures and
    receivers at least annual cost (mode ``optimise``); see the module docstring.

    ``receivers``, ``candidates`` and ``must_close`` (school ids) are for the
    optimise mode only. ``check_indicators`` adds the indicator engine's view of
    the receivers before and after (indicators 4, 5, 11, 12, 13)."""
    rules = rules if rules is not None else district.rules
    params = resolve_params(params, rules)
    settings = model_settings(params, solve, rules)
    known = set(district.schools["school_id"])
    if params.mode == "plan":
        extra = [k for k, v in (("receivers", receivers), ("candidates", candidates),
                                ("must_close", must_close)) if v]
        if extra:
            raise PlanInputError(f"consolidation: {', '.join(extra)} apply to mode optimise "
                                 f"only; mode plan takes its closures as given")
        if params.closures is None or (not isinstance(params.closures, (str, Path))
                                       and len(params.closures) == 0):
            raise PlanInputError("consolidation.closures: mode plan needs a closures file "
                                 "or list")
        closures = (read_closures(params.closures, district)
                    if isinstance(params.closures, (str, Path))
                    else _check_plan_list(params.closures, district))
        ids = sorted({x for s, r, _ in closures for x in (s, r)})
        problem, matrix, secs = build_problem(district, ids, rules)
        result = M.evaluate_plan(problem, closures, settings)
    elif params.mode == "optimise":
        if params.closures:
            raise PlanInputError("consolidation.closures: given, but mode is optimise (the "
                                 "model chooses the closures); remove them or use mode plan")
        for name, given in (("candidates", candidates), ("receivers", receivers),
                            ("must_close", must_close)):
            bad = sorted(set(given or ()) - known)
            if bad:
                raise PlanInputError(f"consolidation {name}: unknown school(s) "
                                     f"{', '.join(map(str, bad))}")
        cands = (sorted(candidates) if candidates is not None
                 else candidate_ids(district, params.candidates_max_pupils))
        cands = sorted(set(cands) | set(must_close))
        recv = sorted(receivers) if receivers is not None else receiver_ids(district, cands)
        ids = sorted(set(cands) | set(recv))
        problem, matrix, secs = build_problem(district, ids, rules)
        result = M.optimise(problem, cands, recv, settings, must_close=must_close)
        closures = _closures_of(result)
    else:
        raise PlanInputError(f"consolidation.mode: {params.mode!r} is not one of plan, optimise")
    # teachers: shortages after the merge, then redeploy
    problem.shortages = teacher_shortages(district, rules, result.moved(), result.closed)
    flows = {(a.school_id, a.receiving_school_id, a.stage): a.pupils for a in result.assignments}
    result.redeployments = M.redeploy_teachers(problem, result.closed, flows)
    after = apply_result(district, result)
    outcome = ConsolidationOutcome(
        result=result, status=result.status, params=params, solve=solve, rules=rules,
        plan=closures, district=district, district_after=after, problem=problem,
        settings=settings, matrix=matrix, network=district.road_network(), matrix_seconds=secs)
    if check_indicators:
        outcome.indicators = engine_view(district, after, sorted(result.receivers), rules)
    return outcome


def _closures_of(result: M.Result) -> list[tuple[str, str, float]]:
    """The closures of an optimised plan: each closed school's share per receiver."""
    closures = []
    for i in result.closed:
        tot: dict[str, int] = {}
        for a in result.assignments:
            if a.school_id == i:
                tot[a.receiving_school_id] = tot.get(a.receiving_school_id, 0) + a.pupils
        allp = sum(tot.values())
        closures += [(i, r, round(q / allp, 6) if allp else 1.0) for r, q in sorted(tot.items())]
    return closures


#: what follows the pupils of a closed school to their receivers, in proportion to
#: the pupils each receiver takes: the staffing quota, the public and training
#: funds (both are set per pupil), and the movable teaching equipment. Rooms and
#: land stay behind.
FOLLOWS_PUPILS = ("staff_quota", "public_funds_yuan", "training_funds_yuan", "equipment_yuan")


def apply_result(district: District, result: M.Result) -> District:
    """The district after the plan: closed schools removed, receivers enlarged,
    teachers redeployed (years at school reset to 0), and the closed schools'
    quota, funds and equipment (:data:`FOLLOWS_PUPILS`) shared among their
    receivers in proportion to the pupils each takes."""
    s = district.schools.copy()
    moved = result.moved()
    idx = {sid: k for k, sid in enumerate(s["school_id"])}
    for col in FOLLOWS_PUPILS:
        if col in s.columns:
            s[col] = s[col].astype(float)
    for a in result.assignments:
        k_from, k_to = s.index[idx[a.school_id]], s.index[idx[a.receiving_school_id]]
        total = int(s.loc[k_from, "students_primary"] + s.loc[k_from, "students_junior"])
        if total <= 0:
            continue
        for col in FOLLOWS_PUPILS:
            if col not in s.columns:
                continue
            v, have = s.loc[k_from, col], s.loc[k_to, col]
            if pd.notna(v) and pd.notna(have):
                s.loc[k_to, col] = round(float(have) + float(v) * a.pupils / total, 2)
    for (rid, st), q in moved.items():
        k = s.index[idx[rid]]
        s.loc[k, f"students_{st}"] = int(s.loc[k, f"students_{st}"]) + int(q)
        s.loc[k, f"classes_{st}"] = (int(s.loc[k, f"classes_{st}"])
                                     + int(result.new_classes.get((rid, st), 0)))
        after = result.receivers.get(rid, {}).get("after", {})
        mc = after.get(M.IND_CLASS, {}).get("max_class", {}).get(st)
        if mc is not None:
            s.loc[k, f"max_class_{st}"] = int(mc)
    s = s[~s["school_id"].isin(result.closed)].reset_index(drop=True)
    teachers = district.teachers
    if teachers is not None:
        t = teachers.copy()
        dest = {r.teacher_id: r.to_school_id for r in result.redeployments}
        ids = t["teacher_id"].astype(str)
        moving = ids.isin(list(dest))
        t.loc[moving, "school_id"] = ids[moving].map(dest)
        if "years_at_school" in t.columns:
            t.loc[moving, "years_at_school"] = 0
        t = t[t["school_id"].isin(set(s["school_id"]))].reset_index(drop=True)
        t = derive_teacher_flags(t, district.settings)
        teachers = t
    return district.with_schools(s, teachers)


def engine_view(before: District, after: District, receivers: list[str],
                rules: Rules | None = None) -> dict:
    """Indicators 4, 5, 11, 12, 13 of the receivers by the indicator engine,
    before and after: ``{"4": {"before": {passed_county, no_data,
    failing_receivers}, "after": {...}}, ...}``."""
    from planner.indicators import check
    kw = {} if rules is None or rules is before.rules else {"standard": rules.standard}
    rb, ra = check(before, **kw), check(after, **kw)
    out: dict = {}
    for rep, key in ((rb, "before"), (ra, "after")):
        for ind in M.RECEIVER_INDICATORS:
            try:
                r = rep.indicator(ind)
            except KeyError:
                continue
            fails = [f for f in r.failing_schools if f.get("school_id") in receivers]
            out.setdefault(str(ind), {})[key] = {
                "passed_county": bool(r.passed), "no_data": bool(r.no_data),
                "failing_receivers": json.loads(json.dumps(fails, default=json_default))}
    return out


def json_default(o):
    """JSON for numpy scalars, paths, sets and tuples."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return o.as_posix()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
