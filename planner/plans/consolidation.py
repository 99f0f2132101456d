"""Consolidation of small schools with school buses: District + Rules + params →
:class:`ConsolidationOutcome` (adapter of :mod:`models.consolidation`).

:func:`consolidate` is the library call; it takes no language and returns codes
and numbers (the words are :mod:`planner.outputs.consolidation`'s):

- Pupils board near home (:func:`homes_of`). A closed school's pupils live in the
  units of its former catchment: the catchment plan given as
  ``params.catchment_units`` (a ``units.csv`` of ``planner catchments``), else the
  nearest-school split (each unit to the nearest school of the stage, great-circle
  distance, ties to the lower school id). Its pupils of a stage are apportioned over
  those units by their children of the stage (largest remainder); of a primary
  school's pupils ``young_share`` are in grades 1-3 (the data hold no grades),
  apportioned the same way. A school with no unit (no ``units.csv``, or no unit
  nearest to it) keeps its pupils at its own site. Each unit's stop site is where it
  meets its road (the nearest road point) when that is within the walking limit,
  else the unit itself (the bus drives in); without roads, the unit itself. A walk is
  the straight line from the unit's point (polygons: a point inside) to the site.
- Travel between the schools and the stop sites is the district's one travel-time
  service, ``district.travel(points)`` (:mod:`geodata.travel`): on the district's
  roads (shortest-time paths at school-bus speeds, the distance along them, and the
  straight access leg from a point to its road at the district's access speed), or
  without roads the straight line × the district's detour factor at its fallback
  speed. ``matrix.describe()`` says which, in the summary.
- The timetable: every receiving school's bell (``bell_time``, ``bell_times``),
  arrival margins, dwell at stops, trips per bus, and the routing time budget per
  receiving school (``route_seconds``) come from ``params``.
- Receivers are checked on every school-level A indicator (1-7, 11, 12, 13) by the
  indicator engine before and after the pupils and the redeployed teachers arrive
  (:func:`engine_view`); a school part that passed before and fails after is a
  *regression* (:func:`regressions`), one that fails before too a pre-existing
  problem. Plan mode reports them; optimise mode avoids them (keep rows for 1-3, 6
  and 7, then intake caps tightened while the engine still finds one: the hook
  where the remediation model may price a fix instead).
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
from planner.core.district import District, derive_teacher_flags, repoint_parents, school_stages
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


@dataclass(frozen=True)
class Site:
    """A node of the plan's travel matrix: a school or a unit's stop site."""

    id: str
    name: str
    kind: str            # "school" | "unit"
    lon: float
    lat: float
    walk_m: float = 0.0  # a unit's walk from its homes to its own site


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
    sites: dict = field(default_factory=dict)   # node -> Site (stops and schools)
    regressions: list = field(default_factory=list)   # see regressions()
    preexisting: list = field(default_factory=list)   # receivers' problems before the merge
    regression_rounds: int = 0           # optimise: solves while tightening intake caps
    _route_coords: list | None = field(default=None, repr=False, compare=False)

    @property
    def travel_source(self) -> str:
        """``"roads"`` or ``"straight_line"``."""
        return self.matrix.source

    @property
    def snap_m(self) -> dict[str, float]:
        """Straight leg (m) from each school of the plan to its road (0 without roads)."""
        return {str(i): float(m) for i, m in zip(self.matrix.origins,
                                                 self.matrix.access_m_origins, strict=True)
                if not str(i).startswith("@")}

    def site(self, node: int) -> Site:
        return self.sites[node]

    def route_coords(self) -> list[list[tuple[float, float]]]:
        """Each bus route's line, (lon, lat) per vertex, in route order: along the
        roads between the snapped stops (:func:`geodata.roads.route_geometry`), or
        straight from stop to stop without roads (or where the road geometry
        cannot be traced). Computed once."""
        if self._route_coords is not None:
            return self._route_coords
        ids = list(self.matrix.origins)
        node_of = {o: k for k, o in enumerate(ids)}
        pts = {o: (self.sites[node_of[o]].lon, self.sites[node_of[o]].lat) for o in ids}
        snapped: dict = {}
        if self.network is not None:
            snapped = {p.id: p for p in self.network.snap([pts[i] for i in ids], ids=ids)}
        out = []
        for rt in self.result.routes:
            rnode = self.problem.index[rt.receiving_school_id]
            seq = [ids[v] for v in rt.nodes] + [ids[rnode]]
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
    from models.timetable import parse_clock
    stages = M.STAGES
    bells = tuple(sorted((sid, float(parse_clock(t)))
                         for sid, t in (params.bell_times or {}).items()))
    return M.Settings(
        max_ride_min=float(params.max_ride_min), bus_capacity=int(params.bus_capacity),
        class_cap=tuple((st, rules.max_class[st]) for st in stages),
        floor_m2=tuple((st, rules.area_per_pupil(st)[0]) for st in stages),
        sports_m2=tuple((st, rules.area_per_pupil(st)[1]) for st in stages),
        classes_per_room=rules.classes_per_room, music_room_min_m2=rules.music_room_min_m2,
        art_room_min_m2=rules.art_room_min_m2, costs=params.costs,
        time_limit=float(solve.time_limit), seed=int(solve.seed), solver=solve.solver,
        walk_limit_m=float(params.walk_limit_m), bell_min=float(parse_clock(params.bell_time)),
        bells=bells, latest_before_min=float(params.arrival_margin_min),
        earliest_before_min=float(params.earliest_arrival_min),
        dwell_min=float(params.stop_dwell_min), max_trips=int(params.max_trips),
        route_seconds=float(params.route_seconds))


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


def _unit_points(units) -> list[tuple[float, float]]:
    """(lon, lat) of each unit: its point, or a point inside its polygon."""
    return [(float(g.x), float(g.y)) if g.geom_type == "Point" else
            (float(g.representative_point().x), float(g.representative_point().y))
            for g in units.geometry]


def read_catchment_units(path: str | Path, district: District) -> dict[tuple[str, str], str]:
    """A catchment plan's ``units.csv`` (unit_id, stage, school_id; the English or the
    Chinese headers) as ``{(unit_id, stage): school_id}``; :class:`DataError` with one
    line per problem."""
    from planner.io.load import _read_csv
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise DataError([f"{label} row -, column -: file not found "
                         f"(consolidation.catchment_units)"])
    df = _read_csv(path)
    heads = {"unit_id": "unit_id", "单元编码": "unit_id", "stage": "stage", "学段": "stage",
             "school_id": "school_id", "学校代码": "school_id"}
    df = df.rename(columns={c: heads.get(str(c).strip(), str(c).strip()) for c in df.columns})
    hr = df.attrs.get("header_row", 1)
    problems = [f"{label} row {hr}, column {c}: required column is missing"
                for c in ("unit_id", "stage", "school_id") if c not in df.columns]
    if problems:
        raise DataError(problems)
    units = set(district.units["unit_id"].astype(str)) if district.units is not None else set()
    schools = set(district.schools["school_id"])
    out: dict[tuple[str, str], str] = {}
    stage_words = {"primary": "primary", "小学": "primary", "junior": "junior", "初中": "junior"}
    for rowno, rec in df.iterrows():
        u, st, sid = str(rec["unit_id"]), str(rec["stage"]), str(rec["school_id"])
        if u not in units:
            problems.append(f"{label} row {rowno}, column unit_id: unknown unit {u!r}")
        if st not in stage_words:
            problems.append(f"{label} row {rowno}, column stage: {st!r} is not primary or "
                            f"junior")
        if sid not in schools:
            problems.append(f"{label} row {rowno}, column school_id: unknown school {sid!r}")
        if not problems:
            out[(u, stage_words[st])] = sid
    if problems:
        raise DataError(problems)
    return out


def former_catchments(district: District, params: ConsolidationParams
                      ) -> dict[tuple[str, str], list[int]]:
    """``{(school_id, stage): [unit row, ...]}``: the units each school served before the
    plan (the catchment plan of ``params.catchment_units``, else the nearest school of
    the stage by great-circle distance among the public schools teaching it, ties to
    the lower id)."""
    from geodata.travel import haversine_km
    units = district.units
    if units is None or len(units) == 0:
        return {}
    out: dict[tuple[str, str], list[int]] = {}
    if params.catchment_units:
        plan = read_catchment_units(params.catchment_units, district)
        ids = list(units["unit_id"].astype(str))
        for (u, st), sid in sorted(plan.items()):
            out.setdefault((sid, st), []).append(ids.index(u))
        return out
    pts = np.array(_unit_points(units))
    s = district.schools
    public = s["public"].fillna(True).astype(bool)
    for st in M.STAGES:
        teach = [k for k, row in enumerate(s.to_dict("records"))
                 if public.iat[k] and row["type"] != "special" and st in school_stages(row)
                 and int(row[f"students_{st}"]) > 0]
        if not teach:
            continue
        sid = s["school_id"].to_numpy(dtype=object)[teach]
        order = np.argsort(sid.astype(str), kind="stable")
        sid = sid[order]
        lon = s["lon"].to_numpy(float)[teach][order]
        lat = s["lat"].to_numpy(float)[teach][order]
        d = haversine_km(pts[:, None, 0], pts[:, None, 1], lon[None, :], lat[None, :])
        near = np.argmin(d, axis=1)   # first minimum: the lower id
        for u, k in enumerate(near):
            out.setdefault((str(sid[k]), st), []).append(u)
    return out


def homes_of(district: District, params: ConsolidationParams, closing: Sequence[str]
             ) -> list[tuple[str, int, str, int, int]]:
    """``(school_id, unit row, stage, pupils, young)`` for the pupils of the schools
    ``closing`` (see the module docstring)."""
    catch = former_catchments(district, params)
    if not catch:
        return []
    units = district.units
    rows = district.schools.set_index("school_id")
    out = []
    for sid in sorted(closing):
        for st in M.STAGES:
            n = int(rows.loc[sid, f"students_{st}"])
            mine = sorted(catch.get((sid, st), []))
            weights = [int(units[f"children_{st}"].iat[u]) for u in mine]
            if n <= 0 or not mine or sum(weights) <= 0:
                continue
            pupils = M.apportion(n, weights)
            young = (math.floor(params.young_share * n + 1e-9 + HALF) if st == "primary"
                     else 0)
            ys = M.apportion(young, pupils)
            for u, q, y in zip(mine, pupils, ys, strict=True):
                if q > 0:
                    out.append((sid, u, st, int(q), int(y)))
    return out


#: rounding half up
HALF = 0.5  # not-a-rule: rounding half up, not a CV limit


def _stop_sites(district: District, rows: list[int], walk_limit_m: float
                ) -> list[tuple[float, float, float]]:
    """``(lon, lat, walk_m)`` of each unit's stop site: the nearest road point when
    within the walking limit, else the unit's own point (walk 0)."""
    pts = _unit_points(district.units.iloc[rows]) if rows else []
    net = district.road_network()
    if net is None or not pts:
        return [(lon, lat, 0.0) for lon, lat in pts]
    from geodata.roads import road_points
    out = []
    for (lon, lat), (rlon, rlat, m) in zip(pts, road_points(net, pts), strict=True):
        out.append((rlon, rlat, m) if m <= walk_limit_m else (lon, lat, 0.0))
    return out


def build_problem(district: District, ids: Sequence[str], rules: Rules,
                  params: ConsolidationParams | None = None, closing: Sequence[str] = ()
                  ) -> tuple[M.Problem, TravelMatrix, float, dict[int, Site]]:
    """The model's problem for the schools ``ids`` and the homes of the schools
    ``closing``, the travel matrix between the schools and the stop sites, the
    seconds it took and the nodes as :class:`Site`."""
    from geodata.travel import haversine_km
    t0 = time.perf_counter()
    params = params if params is not None else resolve_params(DEFAULT_PARAMS, rules)
    homes = homes_of(district, params, closing) if closing else []
    unit_rows = sorted({h[1] for h in homes})
    sites = _stop_sites(district, unit_rows, params.walk_limit_m)
    school_pts = district.school_points(ids)
    unit_ids = ([str(u) for u in district.units["unit_id"].iloc[unit_rows]]
                if unit_rows else [])
    unit_names = ([str(u) for u in district.units["name"].iloc[unit_rows]]
                  if unit_rows else [])
    points = list(school_pts) + [(f"@{u}", lon, lat)
                                 for u, (lon, lat, _) in zip(unit_ids, sites, strict=True)]
    try:
        matrix = district.travel(points)
    except FarFromRoads as e:
        far_s = [(i, m) for i, m in e.points if not str(i).startswith("@")]
        far_u = [(str(i)[1:], m) for i, m in e.points if str(i).startswith("@")]
        where = "schools.csv" if far_s else "units.csv"
        raise PlanInputError(f"{where}: {FarFromRoads(far_s or far_u, e.limit_m)} "
                             f"(district.yaml settings.max_access_m)") from None
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
    n = len(ids)
    units = [M.Unit(unit_ids[k], unit_names[k], n + k) for k in range(len(unit_rows))]
    pos = {u: k for k, u in enumerate(unit_rows)}
    mhomes = [M.Home(sid, pos[u], st, q, y) for sid, u, st, q, y in homes]
    walk = np.zeros((len(unit_rows), len(unit_rows)))
    if unit_rows:
        home_pts = np.array(_unit_points(district.units.iloc[unit_rows]))
        site_pts = np.array([(lon, lat) for lon, lat, _ in sites])
        walk = 1000.0 * haversine_km(home_pts[:, None, 0], home_pts[:, None, 1],
                                     site_pts[None, :, 0], site_pts[None, :, 1])
        np.fill_diagonal(walk, [w for _, _, w in sites])
    problem = M.Problem(schools, matrix.minutes, matrix.km, teachers=teachers, units=units,
                        homes=mhomes, walk_m=walk)
    info: dict[int, Site] = {}
    for k, (sid, lon, lat) in enumerate(school_pts):
        info[k] = Site(sid, str(rows.loc[sid, "name"]), "school", float(lon), float(lat))
    for k, (lon, lat, w) in enumerate(sites):
        info[n + k] = Site(unit_ids[k], unit_names[k], "unit", float(lon), float(lat),
                           round(float(w), 1))
    return problem, matrix, secs, info


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
    optimise mode only. ``check_indicators`` checks the receivers with the indicator
    engine (every school-level A indicator, before and after: :func:`engine_view`,
    :func:`regressions`); in optimise mode it also makes the plan avoid regressions.
    Without it neither is done (quick tests)."""
    from planner.indicators import check
    rules = rules if rules is not None else district.rules
    params = resolve_params(params, rules)
    settings = model_settings(params, solve, rules)
    known = set(district.schools["school_id"])
    rounds = 0
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
        closing = sorted({s for s, _, _ in closures})
        problem, matrix, secs, sites = build_problem(district, ids, rules, params, closing)
        result = M.evaluate_plan(problem, closures, settings)
        after = _redeploy_and_apply(district, rules, problem, result)
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
        problem, matrix, secs, sites = build_problem(district, ids, rules, params, cands)
        if check_indicators:
            problem.keep = keep_rows(district, check(district, rules=rules), cands, recv, rules)
        while True:
            rounds += 1
            result = M.optimise(problem, cands, recv, settings, must_close=must_close)
            after = _redeploy_and_apply(district, rules, problem, result)
            if not check_indicators or rounds >= MAX_ROUNDS or not result.status.has_plan:
                break
            regs = regressions(district, after, _touched(result), rules)
            if not regs:
                break
            intake: dict[str, int] = {}
            for asg in result.assignments:
                intake[asg.receiving_school_id] = (intake.get(asg.receiving_school_id, 0)
                                                   + asg.pupils)
            for rid in sorted({g["school_id"] for g in regs}):
                q = intake.get(rid, 0)
                problem.intake_caps[rid] = max(0, q - max(1, q // CAP_STEP))
        closures = _closures_of(result)
    else:
        raise PlanInputError(f"consolidation.mode: {params.mode!r} is not one of plan, optimise")
    outcome = ConsolidationOutcome(
        result=result, status=result.status, params=params, solve=solve, rules=rules,
        plan=closures, district=district, district_after=after, problem=problem,
        settings=settings, matrix=matrix, network=district.road_network(), matrix_seconds=secs,
        sites=sites, regression_rounds=rounds)
    if check_indicators:
        touched = _touched(result)
        outcome.indicators = engine_view(district, after, touched, rules)
        outcome.regressions = regressions(district, after, touched, rules)
        outcome.preexisting = preexisting(district, after, touched, rules)
    return outcome


#: optimise mode: solves while tightening the intake of a receiver that still
#: regresses (each round takes a twentieth of its intake, at least one pupil)
MAX_ROUNDS = 6
CAP_STEP = 20  # not-a-rule: a twentieth of the intake per round


def _redeploy_and_apply(district: District, rules: Rules, problem: M.Problem,
                        result: M.Result) -> District:
    """Teachers: shortages after the merge, then redeployment; the district after."""
    problem.shortages = teacher_shortages(district, rules, result.moved(), result.closed)
    flows = {(a.school_id, a.receiving_school_id, a.stage): a.pupils for a in result.assignments}
    result.redeployments = M.redeploy_teachers(problem, result.closed, flows)
    return apply_result(district, result)


def _touched(result: M.Result) -> list[str]:
    """The open schools a plan changes: its receivers and the schools teachers go to."""
    out = set(result.receivers) | {r.to_school_id for r in result.redeployments
                                   if r.to_school_id}
    return sorted(out - set(result.closed))


#: the school-level A indicators a receiver is checked on after the merge
SCHOOL_INDICATORS = (1, 2, 3, 4, 5, 6, 7, 11, 12, 13)  # not-a-rule: indicator ids
#: the per-pupil indicators whose resources move with the pupils (teachers, equipment)
#: or stay (multimedia rooms): kept by the optimise MIP's keep rows; 4 and 5 have
#: the model's own area rows
KEEP_INDICATORS = (1, 2, 3, 6, 7)  # not-a-rule: indicator ids


def keep_rows(district: District, before, candidates: Sequence[str], receivers: Sequence[str],
              rules: Rules) -> list[M.KeepRow]:
    """Optimise mode: one :class:`models.consolidation.KeepRow` per receiver part and
    indicator of :data:`KEEP_INDICATORS` it passes today (the engine's values):
    the part's resource is ``value × pupils / multiplier``; what follows a
    candidate's pupils per pupil: its teachers of the flag (1-3) or its equipment
    (6, shared over all its pupils); multimedia rooms (7) stay behind."""
    parts = before.parts_table()
    s = district.schools.set_index("school_id")
    counts = district.teacher_counts()
    flags = dict(zip((1, 2, 3), TEACHER_FLAGS))  # not-a-rule: indicator ids
    recv = set(receivers)
    out = []
    for _, p in parts.iterrows():
        rid, st = str(p["school_id"]), str(p["stage"])
        if rid not in recv:
            continue
        for k in KEEP_INDICATORS:
            ok, v, thr = p.get(f"passed_{k}"), p.get(f"value_{k}"), p.get(f"threshold_{k}")
            if not (isinstance(ok, (bool, np.bool_)) and ok) or pd.isna(v) or pd.isna(thr):
                continue
            mult = float(rules.rule(k).multiplier)
            follow = []
            for i in candidates:
                pupils = int(s.loc[i, f"students_{st}"])
                total = int(s.loc[i, "students_primary"] + s.loc[i, "students_junior"])
                if pupils <= 0:
                    continue
                if k in flags:
                    have = counts.loc[(i, st), flags[k]] if (i, st) in counts.index else 0.0
                    per = 0.0 if pd.isna(have) else float(have) / pupils
                elif k == 6 and total > 0:  # not-a-rule: indicator id (equipment)
                    eq = s.loc[i, "equipment_yuan"]
                    per = 0.0 if pd.isna(eq) else float(eq) / total
                else:
                    per = 0.0
                follow.append((i, per))
            out.append(M.KeepRow(rid, st, k, float(v) * float(p["pupils"]) / mult,
                                 int(p["pupils"]), float(thr), mult, tuple(follow)))
    return out


def _failing(report, ids: set[str]) -> dict[tuple[str, str, int], dict]:
    out = {}
    for k in SCHOOL_INDICATORS:
        try:
            ind = report.indicator(k)
        except KeyError:
            continue
        for f in ind.failing_schools:
            sid = str(f.get("school_id"))
            if sid in ids:
                out[(sid, str(f.get("stage") or ""), k)] = f
    return out


def _parts_values(report) -> dict[tuple[str, str, int], float]:
    parts = report.parts_table()
    out = {}
    for _, p in parts.iterrows():
        for k in range(1, 8):
            v = p.get(f"value_{k}")
            if v is not None and not pd.isna(v):
                out[(str(p["school_id"]), str(p["stage"]), k)] = float(v)
    return out


def regressions(before: District, after: District, schools: Sequence[str],
                rules: Rules | None = None) -> list[dict]:
    """School parts of ``schools`` that pass an indicator of :data:`SCHOOL_INDICATORS`
    before the plan and fail it after, by the indicator engine: ``{school_id, name,
    indicator, stage, before, after, threshold, gap}`` (``gap``: the amount missing,
    positive; ``before`` ``None`` where the engine gives no school value), ordered by
    school, indicator, stage."""
    from planner.indicators import check
    kw = {} if rules is None else {"rules": rules}
    rb, ra = check(before, **kw), check(after, **kw)
    ids = set(schools)
    fb, fa = _failing(rb, ids), _failing(ra, ids)
    vb = _parts_values(rb)
    out = []
    for key in sorted(set(fa) - set(fb), key=lambda k: (k[0], k[2], k[1])):
        sid, st, k = key
        f = fa[key]
        out.append({"school_id": sid, "name": str(f.get("name") or sid), "indicator": k,
                    "stage": st, "before": vb.get((sid, st, k)),
                    "after": f.get("value"), "threshold": f.get("threshold"),
                    "gap": f.get("gap")})
    return json.loads(json.dumps(out, default=json_default))


def preexisting(before: District, after: District, schools: Sequence[str],
                rules: Rules | None = None) -> list[dict]:
    """Problems the plan's schools have before it (the engine's failing parts of
    :data:`SCHOOL_INDICATORS`): ``{school_id, name, indicator, stage, value, threshold,
    gap, after}`` (``after``: the value after the plan, ``None`` when it passes then)."""
    from planner.indicators import check
    kw = {} if rules is None else {"rules": rules}
    rb, ra = check(before, **kw), check(after, **kw)
    ids = set(schools)
    fb, fa = _failing(rb, ids), _failing(ra, ids)
    out = []
    for key in sorted(fb, key=lambda k: (k[0], k[2], k[1])):
        sid, st, k = key
        f = fb[key]
        out.append({"school_id": sid, "name": str(f.get("name") or sid), "indicator": k,
                    "stage": st, "value": f.get("value"), "threshold": f.get("threshold"),
                    "gap": f.get("gap"),
                    "after": fa[key].get("value") if key in fa else None})
    return json.loads(json.dumps(out, default=json_default))


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
    s = repoint_parents(s, ((a.school_id, a.receiving_school_id, a.pupils)
                            for a in result.assignments))
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
    """Every school-level A indicator (:data:`SCHOOL_INDICATORS`) of the receivers by
    the indicator engine, before and after: ``{"7": {"before": {passed_county,
    no_data, failing_receivers}, "after": {...}}, ...}``."""
    from planner.indicators import check
    kw = {} if rules is None else {"rules": rules}
    rb, ra = check(before, **kw), check(after, **kw)
    out: dict = {}
    for rep, key in ((rb, "before"), (ra, "after")):
        for ind in SCHOOL_INDICATORS:
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
