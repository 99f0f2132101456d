"""Enrolment catchment zones of a district (划片入学): the library call behind
``planner catchments`` and the catchments step of ``planner run``.

``catchments(district, stage, params, solve, rules=...)`` zones one stage and
returns a typed :class:`CatchmentOutcome` (no words: the presenter
:mod:`planner.outputs.catchments` writes the files and says it in zh/en);
``catchment_plan(...)`` zones every stage of ``params.stages`` in that order; the
plan's status is :func:`plan_status` (the worst stage's, :func:`models.status.worst`);
:func:`district_after` is the district at full turnover, which the runner checks.

For one stage:

- **Schools** zoned: public schools teaching the stage, teaching points and
  boarding schools included, special schools never; private schools are out of
  scope by default (``include_private``). A reading: indicator 21 leaves boarding
  schools out of its *share*, but a rural boarding junior school still takes the
  children of its area, and without it whole towns have no junior school to be
  zoned to; ``include_boarding=False`` (``--exclude-boarding``) zones without them.
- **Places** (:mod:`planner.plans.catchment_places`): the most pupils a school can
  take while still passing every school-level A indicator that depends on pupils
  (1–3 with its teachers after the earlier plans, 4–7, 11, 12, 13 with its
  classrooms), from the standard; the smallest limit *binds* and the summary names
  it per school. A two-stage school's other stage is held at what the plan gives it
  (the stages are zoned in turn) or, not zoned, at today's.
- **Take-up**: the children of a unit are everyone of the stage's age living there;
  some attend private or special schools or none in the district. A unit's entrants
  to its zoned school are its children × the take-up ``a`` (``take_up``; default
  today's: the zoned schools' pupils ÷ the stage's children, at most 1; Yunxi junior
  4,490 ÷ 4,760). A zone of ``C`` children fits when ``a·C ≤ places``: the model's
  seats are ``⌊places / a⌋`` children, exactly.
- **Intake and full turnover**: zoning acts on the entrants (grade 1, grade 7). With
  ``keep_current`` (default) today's pupils stay until they finish the stage, so a
  school of ``P₀`` pupils today and ``N = round(a·C)`` at full turnover has
  ``P₀·(G−y)/G + N·y/G`` pupils in year ``y`` (``G`` = 6 primary, 3 junior years;
  the grades taken as equal); without it every pupil is at the zone's school from
  year 1. The classes at full turnover: today's where the rooms allow, more when
  needed, the largest ``⌈N / classes⌉`` (:func:`catchment_places.classes_after`).
  :func:`district_after` writes ``N``, the classes and the largest class into the
  school table; the staffing quota and the public and training funds follow the
  pupils at the school's own rate (the county sets them per pupil), the teachers,
  rooms, areas and equipment are unchanged.
- **Cells**: when the units are points, the district outline is cut into Voronoi
  cells of the unit points *and the school points*; each school's own cell (no
  children) is its home, so two schools in one village never fight over a unit. A
  school standing within 1 m of a unit point or another school is moved 20 m
  north-east for the cells only; units sharing one location are spread 10 m apart
  east (cells only; listed in the summary). Without ``boundary.geojson`` the outline
  is derived: the convex hull of the units and schools, buffered 1 km
  (:func:`geodata.cells.derived_outline`; the summary says ``outline: derived``).
  When the units are polygons they are used as they are and a school's home is the
  unit containing it (two schools in one unit polygon: an error naming both); the
  outline is then not needed. Adjacency is a shared edge
  (``geodata.cells.rook_adjacency``), not a corner.
- **Cost**: km from the cell's seed point (the unit point, a polygon's
  representative point, or the school point for a school's own cell) to the
  school, from the district's one travel service (``District.travel``,
  :mod:`geodata.travel`), rounded to 0.1 m; unreachable pairs are forbidden.
- **Today's school** (the reference of ``stability_penalty``, ``max_changed`` and
  ``pupils_changed``): the unit's ``school_<stage>`` column (``小学就读学校代码`` /
  ``初中就读学校代码``) when the data give it (an id that is no zoned school — a
  closed or private one — makes every zone a change for that unit); else the unit's
  *nearest zoned school by the same cost* (ties: the lower school id); a school's own
  cell has that school. ``stability_penalty`` km are added per child zoned elsewhere
  (the priced form), ``max_changed`` caps the pupils at full turnover who change (the
  level form); with neither the zones may move anyone. ``pupils_changed``: pupils at
  full turnover whose school is not today's, ``round(a × children)``.
- **Contiguity and optimality**: ``exact`` (default) proves the optimum of the
  contiguous problem by separator cuts; ``sweep`` and ``cheap`` are restrictions,
  ``flow`` the exact flow model; every mode's ``gap`` is against a valid bound of
  the contiguous problem (:mod:`models.catchment`, "Honest optimality"). Zones are
  re-checked with networkx on the adjacency graph. ``k_nearest`` candidate schools
  per unit are where the model starts; for ``exact``, ``sweep`` and ``flow`` it
  doubles while they are proven too few (a maximum flow of the children into the
  seats cannot carry them all, or the sweep rule has no plan and no cut round gave
  one; not after half the time), and the summary's ``k_nearest`` is the ``k`` used:
  the bundled district's primary stage needs 16 with the places of every indicator.
- **Indicator 21** (:func:`share_for_indicator_21`): per stage, of the children
  zoned to urban and town public non-boarding schools (every public non-boarding
  school when the district gives no area types), the share living in their school's
  zone at full turnover — every assigned unit is, an unassigned unit whose reference
  school counts is not; boarding schools are left out of the share. A stage the plan
  does not zone keeps the county's figure.

User errors (no units, no school of the stage, a unit polygon holding two schools,
a point too far from the roads) are :class:`PlanInputError` naming the file or the
stage; a plan that cannot meet the places or contiguity is an outcome with
:data:`Status.INFEASIBLE`, the closest plan (``closest``) and one
:class:`StageShortfall` saying what is missing and where.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from geodata.travel import FarFromRoads
from models import catchment as cm
from models.status import Status, worst
from planner.core.district import District, school_stages
from planner.core.errors import PlanInputError
from planner.core.params import CatchmentParams, SolveParams
from planner.core.rules import Rules
from planner.plans.catchment_places import Places, classes_after, school_places

__all__ = ["GRADES", "PLAN_HEADERS", "STABILITY_REFERENCE", "CatchmentOutcome", "SchoolAfter",
           "StageShortfall", "catchment_plan", "catchments", "combined_summary",
           "district_after", "given_result", "plan_status", "read_plan", "reserved_other",
           "seats",
           "share_for_indicator_21", "take_up", "unit_cells", "zoned_schools", "zoning_order"]

#: the defaults of the entry points: the parameters classes' own (frozen, so shared)
_PARAMS = CatchmentParams()
_SOLVE = SolveParams()

#: what ``pupils_changed`` and ``stability_penalty`` are measured against when the
#: data do not say (see the module docstring); written to each stage's summary
STABILITY_REFERENCE = "nearest_school"

#: school years of each stage (the 6-3 system): the years to full turnover
GRADES = {"primary": 6, "junior": 3}  # not-a-rule: years of schooling, not indicator data

#: the share of ``solve.time_limit`` :func:`catchment_plan` solves in; the rest is
#: kept for loading the district and writing the files (a 200-school county: 3 s)
PLAN_SHARE = 0.9  # not-a-rule: a share of the time limit

#: the derived outline runs this far beyond the outermost unit or school (metres)
OUTLINE_MARGIN_M = 1000.0

#: units sharing a location are spread this far apart for the cells (metres)
COINCIDENT_STEP_M = 10.0

#: the units' columns naming today's school of each stage (English, Chinese header)
CURRENT_COLUMNS = {"primary": ("school_primary", "小学就读学校代码"),
                   "junior": ("school_junior", "初中就读学校代码")}


@dataclass(frozen=True)
class SchoolAfter:
    """A zoned school at full turnover: its zone's ``children``, the ``pupils`` they
    bring (``round(take-up × children)``) against ``places`` (``binding``: the
    indicator that limits them), its ``classes`` and ``max_class`` then, and the
    pupils it has ``today``."""

    school_id: str
    today: int
    children: int
    pupils: int
    places: int
    binding: str
    classes: int
    max_class: int


@dataclass(frozen=True)
class StageShortfall:
    """Why a stage has no plan within the places, in one message's numbers.

    ``need``: pupils the stage's children bring (take-up × children); ``places``:
    the places of every zoned school; ``missing = max(0, need − places)``;
    ``unzoned_units``/``unzoned_children``: the units the closest plan leaves out
    (cell ids, most children first) and their children; ``sites``: for each group of
    adjacent unzoned units, the unit with the most children and the places a school
    there would need; ``codes``: how many units each :data:`models.catchment.SHORTFALL_CODES`
    reason explains."""

    need: int
    places: int
    missing: int
    unzoned_units: tuple[str, ...]
    unzoned_children: int
    sites: tuple[tuple[str, int], ...]
    codes: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class CatchmentOutcome:
    """One stage's catchment plan.

    ``status`` is the model's :class:`~models.status.Status`; ``closest`` is true
    when the plan is the relaxed closest plan of an infeasible stage (some units
    unassigned, each explained in ``result.shortfalls`` and, for the stage, in
    ``shortfall``). ``params`` and ``solve`` are the settings it was made with;
    ``travel`` says how the costs were measured
    (:meth:`geodata.travel.TravelMatrix.describe`). ``places``: every zoned school's
    :class:`~planner.plans.catchment_places.Places`; ``take_up`` the share of
    children who enter; ``after``: every zoned school at full turnover
    (:class:`SchoolAfter`); ``path``: pupils per school and year (``school_id, year,
    pupils``; year 0 today, ``GRADES[stage]`` full turnover); ``outline``:
    ``boundary``, ``derived`` or ``unit_polygons``; ``share_21``: indicator 21's
    share of the stage (``None`` when no school counts); ``district``: the district
    zoned. ``summary`` is the stage's part of ``summary.json`` (codes and numbers, no
    words).
    """

    stage: str
    status: Status
    closest: bool
    params: CatchmentParams
    solve: SolveParams
    result: cm.CatchmentResult
    problem: cm.CatchmentProblem
    zones: Any                 # GeoDataFrame, WGS84
    units: pd.DataFrame        # units.csv rows
    summary: dict
    violations: list[str]
    travel: dict
    places: dict[str, Places]
    take_up: float
    after: dict[str, SchoolAfter]
    path: pd.DataFrame
    outline: str
    share_21: float | None
    district: District
    shortfall: StageShortfall | None = None

    @property
    def has_plan(self) -> bool:
        return self.status.has_plan


def zoned_schools(district: District, stage: str,
                  params: CatchmentParams = _PARAMS) -> pd.DataFrame:
    """The schools zoned for ``stage`` (see the module docstring), by school id."""
    s = district.schools
    teaches = s.apply(lambda r: stage in school_stages(r), axis=1) if len(s) else s["type"] == ""
    keep = teaches & (s["type"] != "special")
    if not params.include_private:
        keep &= s["public"].fillna(True).astype(bool)
    if not params.include_boarding:
        keep &= ~s["boarding"].fillna(False).astype(bool)
    return s[keep].sort_values("school_id").reset_index(drop=True)


def seats(row: pd.Series, stage: str, rules: Rules) -> int:
    """Indicator 13 alone: a school's classrooms of ``stage`` (shared with the other
    stage in proportion to today's classes) × the standard's class-size limit. The
    plan's places use every indicator (:mod:`planner.plans.catchment_places`); this
    is the classroom part, for callers that want only it."""
    cp, cj = int(row["classes_primary"]), int(row["classes_junior"])
    own = cp if stage == "primary" else cj
    rooms = row.get("classrooms")
    if rooms is None or pd.isna(rooms):
        rooms_stage = own
    else:
        total = cp + cj
        rooms_stage = rooms * own / total if total > 0 else rooms
    return int(np.floor(rooms_stage + 1e-9)) * int(rules.max_class[stage])


def take_up(district: District, stage: str, schools: pd.DataFrame,
            params: CatchmentParams = _PARAMS) -> float:
    """The share of a unit's children who enter a zoned school: ``params.take_up``,
    else the zoned schools' pupils of the stage today ÷ the stage's children (at
    most 1; 1 when there are no children or no pupils)."""
    if params.take_up is not None:
        return float(params.take_up)
    kids = int(district.units[f"children_{stage}"].sum())
    pupils = int(schools[f"students_{stage}"].sum())
    if kids <= 0 or pupils <= 0:
        return 1.0
    return min(1.0, pupils / kids)


def _cells(district: District, schools: pd.DataFrame):
    """(cells GeoDataFrame with unit_id = 'U:<id>' / 'S:<id>', home ids, outline
    source, unit ids spread apart)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geodata.cells import derived_outline, spread_coincident, unit_cells
    from geodata.roads import utm_crs
    units = district.units
    if (units.geometry.geom_type != "Point").all():
        cells = units[["unit_id", "geometry"]].copy()
        cells["unit_id"] = "U:" + cells["unit_id"].astype(str)
        homes = []
        for row in schools.itertuples(index=False):
            hit = cells[cells.contains(Point(row.lon, row.lat))]
            if hit.empty:
                raise PlanInputError(f"units.csv: school {row.school_id} ({row.name}) lies in "
                                     f"no unit polygon")
            homes.append(hit["unit_id"].iloc[0])
        dup = pd.Series(homes).duplicated(keep=False)
        if dup.any():
            ids = [sid for sid, d in zip(schools["school_id"], dup) if d]
            raise PlanInputError(f"units.csv: schools {', '.join(ids)} lie in the same unit "
                                 f"polygon; catchments need one school per unit (split the unit)")
        return cells, homes, "unit_polygons", []
    boundary, outline = district.boundary, "boundary"
    if boundary is None:
        pts = list(zip(units.geometry.x, units.geometry.y)) + \
            list(zip(schools["lon"].astype(float), schools["lat"].astype(float)))
        boundary, outline = derived_outline(pts, OUTLINE_MARGIN_M), "derived"
    crs = utm_crs(*_centre(units, schools))
    upts = units.to_crs(crs)
    uxy, spread = spread_coincident(np.column_stack([upts.geometry.x, upts.geometry.y]),
                                    COINCIDENT_STEP_M)
    ux, uy = uxy[:, 0], uxy[:, 1]
    spts = gpd.GeoSeries(gpd.points_from_xy(schools["lon"], schools["lat"]), crs=4326).to_crs(crs)
    sx, sy = spts.x.to_numpy().copy(), spts.y.to_numpy().copy()
    for i in range(len(sx)):
        d = np.hypot(ux - sx[i], uy - sy[i])
        others = np.hypot(np.delete(sx, i) - sx[i], np.delete(sy, i) - sy[i])
        if (d < 1.0).any() or (others < 1.0).any():
            sx[i] += 14.142     # a step north-east (14.142 m on each axis), cells only
            sy[i] += 14.142
    pts_gdf = gpd.GeoDataFrame(
        {"unit_id": ["U:" + str(u) for u in units["unit_id"]] +
                    ["S:" + str(s) for s in schools["school_id"]]},
        geometry=list(gpd.points_from_xy(ux, uy)) + list(gpd.points_from_xy(sx, sy)), crs=crs
    ).to_crs(4326)
    try:
        cells = unit_cells(pts_gdf, boundary)
    except ValueError as e:   # units sharing a location and the like: the data's fault
        raise PlanInputError(f"units.csv: {e}") from None
    moved = [str(units["unit_id"].iloc[i]) for i in spread]
    return cells, ["S:" + str(s) for s in schools["school_id"]], outline, moved


def _centre(units, schools: pd.DataFrame) -> tuple[float, float]:
    """Mean longitude and latitude of the unit points (of the schools when no unit
    point has coordinates), for the metric projection of the cells. A
    :class:`PlanInputError` naming units.csv when neither has any: the mean of no
    point is no place (it ended a province run in ``utm_crs`` with ``(nan, nan)``)."""
    pts = [g for g in units.geometry if g is not None and not g.is_empty]
    xs = pd.Series([g.x for g in pts], dtype=float)
    ys = pd.Series([g.y for g in pts], dtype=float)
    good = np.isfinite(xs.to_numpy(dtype=float)) & np.isfinite(ys.to_numpy(dtype=float))
    if not good.any():
        xs = pd.to_numeric(schools["lon"], errors="coerce")
        ys = pd.to_numeric(schools["lat"], errors="coerce")
        good = np.isfinite(xs.to_numpy(dtype=float)) & np.isfinite(ys.to_numpy(dtype=float))
    if not good.any():
        raise PlanInputError(f"units.csv: none of the {len(units)} unit(s) has a location "
                             f"(lon, lat): catchment cells need them")
    return float(xs.to_numpy(dtype=float)[good].mean()), \
        float(ys.to_numpy(dtype=float)[good].mean())


def _costs(district: District, cells: list[tuple[str, float, float]],
           schools: pd.DataFrame) -> tuple[np.ndarray, dict]:
    """km from each cell's seed point ``(cell id, lon, lat)`` to each school
    (``District.travel``, fastest road paths), rounded to 0.1 m; and how they were
    measured. The schools are named ``T:<id>`` so that no cell id equals one."""
    dests = [("T:" + str(r.school_id), float(r.lon), float(r.lat))
             for r in schools.itertuples(index=False)]
    try:
        tm = district.travel(cells, dests, weight="time_s")
    except FarFromRoads as e:
        seen: dict[str, str] = {}
        for pid, m in e.points:
            kind, _, raw = str(pid).partition(":")
            what = "unit" if kind == "U" else "school"
            seen.setdefault(f"{what} {raw}", f"{what} {raw} ({m:,.0f} m)")
        listed = list(seen.values())
        raise PlanInputError(
            f"units.csv/schools.csv: {len(listed)} point(s) lie farther than "
            f"{e.limit_m:,.0f} m from every road (district.yaml settings.max_access_m): "
            + ", ".join(listed[:10]) + (" …" if len(listed) > 10 else "")) from None
    cost = np.round(np.asarray(tm.km, dtype=float), 4)
    return np.where(np.isfinite(cost), cost, np.inf), tm.describe()


def _today(district: District, stage: str, unit_ids: list[str], homes: list[str],
           school_ids: list[str], cost: np.ndarray) -> tuple[dict[str, str], str]:
    """Today's school of each cell (the stability reference, see the module
    docstring) and which reference it is (``nearest_school``, ``data`` or
    ``data_and_nearest_school``)."""
    home_of = dict(zip(homes, school_ids))
    given = _given_schools(district, stage)
    out: dict[str, str] = {}
    used_data = used_nearest = False
    for i, u in enumerate(unit_ids):
        if u in home_of:
            out[u] = home_of[u]
        elif u in given:
            out[u] = given[u]
            used_data = True
        elif np.isfinite(cost[i]).any():
            out[u] = school_ids[int(np.argmin(cost[i]))]
            used_nearest = True
    if used_data:
        return out, "data_and_nearest_school" if used_nearest else "data"
    return out, STABILITY_REFERENCE


def _given_schools(district: District, stage: str) -> dict[str, str]:
    """``U:<unit id> → school id`` from the units' column of today's school, if any."""
    units = district.units
    col = next((c for c in CURRENT_COLUMNS[stage] if c in units.columns), None)
    if col is None:
        return {}
    out = {}
    for u, v in zip(units["unit_id"], units[col]):
        if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == "":
            continue
        out["U:" + str(u)] = str(v).strip()
    return out


def catchments(district: District, stage: str, params: CatchmentParams = _PARAMS,
               solve: SolveParams = _SOLVE, *, rules: Rules | None = None,
               other: dict[str, tuple[int, int]] | None = None,
               time_share: float = 1.0) -> CatchmentOutcome:
    """Zone ``stage`` of ``district`` (see the module docstring).

    ``time_share``: the share of ``solve.time_limit`` this stage's model may use
    (:func:`catchment_plan` splits the limit between its stages).

    ``rules`` default to the district's standard (``district.rules``): the places
    follow it. ``other``: ``school_id → (pupils, classes)`` of the other stage at
    full turnover for two-stage schools zoned earlier (:func:`catchment_plan` passes
    it). Raises :class:`PlanInputError` for input a plan cannot be made from; an
    infeasible stage is an outcome, not an exception.
    """
    started = time.perf_counter()
    rules = rules if rules is not None else district.rules
    if stage not in rules.stages:
        raise PlanInputError(f"catchments: unknown stage {stage!r}; stages: "
                             f"{', '.join(rules.stages)}")
    if district.units is None or len(district.units) == 0:
        raise PlanInputError("the district has no residential units (units.csv): catchments "
                             "need them")
    schools = zoned_schools(district, stage, params)
    if schools.empty:
        raise PlanInputError(
            f"catchments {stage}: schools.csv has no school of the {stage} stage to zone "
            f"(special schools are never zoned; private schools only with include_private, "
            f"boarding schools only with include_boarding)")
    cells, homes, outline, spread = _cells(district, schools)
    units = district.units
    kids = dict(zip("U:" + units["unit_id"].astype(str), units[f"children_{stage}"].astype(int)))
    ids = list(cells["unit_id"])
    seeds = units.geometry.map(lambda g: g if g.geom_type == "Point" else g.representative_point())
    upos = {"U:" + str(u): (g.x, g.y) for u, g in zip(units["unit_id"], seeds)}
    spos = {"S:" + str(r.school_id): (float(r.lon), float(r.lat)) for r in schools.itertuples()}
    seed_pts = [(cid, *(upos.get(cid) or spos[cid])) for cid in ids]
    cost, travel = _costs(district, seed_pts, schools)
    from geodata.cells import rook_adjacency
    adj = rook_adjacency(cells)
    school_ids = [str(s) for s in schools["school_id"]]
    places = school_places(district, stage, schools, rules, other)
    a = take_up(district, stage, schools, params)
    current, reference = _today(district, stage, ids, homes, school_ids, cost)
    cap = None if params.max_changed is None else int(math.floor(params.max_changed / a + 1e-9))
    problem = cm.CatchmentProblem(
        unit_ids=ids, children=[int(kids.get(c, 0)) for c in ids], school_ids=school_ids,
        seats=[int(math.floor(places[s].places / a + 1e-9)) for s in school_ids],
        home_units=homes, cost=cost, adjacency=sorted(tuple(sorted(e)) for e in adj.edges()),
        current=current, stability_penalty=params.stability_penalty,
        k_nearest=params.k_nearest, max_changed=cap)
    limit = None if solve.time_limit is None else \
        max(1.0, solve.time_limit * time_share - (time.perf_counter() - started))
    if params.plan is not None:   # a given plan (catchments: {plan: FILE}): checked, not solved
        result = given_result(problem, read_plan(params.plan, district, stage, params))
    else:
        result = cm.solve_catchments(problem, mode=params.contiguity, solver=solve.solver,
                                     time_limit=limit, gap=params.gap or None, widen=True)
        if result.k_nearest != problem.k_nearest:   # the model widened the candidates
            problem = replace(problem, k_nearest=result.k_nearest)
    violations = cm.verify_catchments(problem, result.assignment) \
        if result.status.has_plan or params.plan is not None else []
    after = _after(result, schools, places, a, stage, rules)
    path = _path(after, params, stage)
    zones = _zones(cells, result, schools, stage, after)
    table = _unit_table(district, result, schools, problem, stage)
    share = _share_21(result, schools, problem)
    shortfall = _stage_shortfall(result, problem, places, a) if result.closest else None
    summary = _summary(result, problem, zones, stage, violations, after, a, reference,
                       outline, spread, share, shortfall, params)
    return CatchmentOutcome(stage=stage, status=result.status, closest=result.closest,
                            params=params, solve=solve, result=result, problem=problem,
                            zones=zones, units=table, summary=summary, violations=violations,
                            travel=travel, places=places, take_up=a, after=after, path=path,
                            outline=outline, share_21=share, district=district,
                            shortfall=shortfall)


def catchment_plan(district: District, params: CatchmentParams = _PARAMS,
                   solve: SolveParams = _SOLVE, *, rules: Rules | None = None
                   ) -> list[CatchmentOutcome]:
    """One :class:`CatchmentOutcome` per stage of ``params.stages``, in that order.

    The stages are *zoned* in the order of :func:`zoning_order` (the tightest first),
    and a two-stage school's places of a later stage see the earlier stage's full
    turnover (when that stage has a plan), so the final state keeps the limits the
    two stages share. ``solve.time_limit`` is the whole command's: the plan uses
    :data:`PLAN_SHARE` of it (the rest is kept for loading the district and writing
    the files), each stage an equal share of the time the earlier stages left (its
    cells, costs and places included), so the plan ends within it. A stage proven
    short of places is zoned once more with :func:`reserved_other`."""
    rules = rules if rules is not None else district.rules
    t0 = time.perf_counter()
    done: dict[str, CatchmentOutcome] = {}
    for st in zoning_order(district, params, rules):
        # each stage: an equal share of the time the earlier stages left
        left = len(params.stages) - len(done)
        share = 1.0 / max(1, left) if solve.time_limit is None else \
            max(0.0, PLAN_SHARE - (time.perf_counter() - t0) / solve.time_limit) / max(1, left)
        other: dict[str, tuple[int, int]] = {}
        for o in done.values():
            if o.has_plan:
                other.update({sid: (x.pupils, x.classes) for sid, x in o.after.items()})
        out = catchments(district, st, params, solve, rules=rules, other=other,
                         time_share=share)
        later = [t for t in params.stages if t != st and t not in done]
        if out.status is Status.INFEASIBLE and out.closest and later and params.plan is None:
            held = reserved_other(district, st, params, rules)
            if held:
                again = catchments(district, st, params, solve, rules=rules,
                                   other={**held, **other}, time_share=share)
                if again.has_plan:
                    out = again
        done[st] = out
    return [done[st] for st in params.stages]


def reserved_other(district: District, stage: str, params: CatchmentParams = _PARAMS,
                   rules: Rules | None = None) -> dict[str, tuple[int, int]]:
    """``school_id → (pupils, classes)`` of the *other* stage of every two-stage
    school zoned for both, held at the least that stage must take there: the pupils
    its children bring (take-up × children) less the places of every other school of
    that stage (with ``stage`` as today), at least 0; the classes ``⌈pupils / L⌉``.

    :func:`catchment_plan` zones a stage again with these when, holding the other
    stage at today's, it has no plan: a two-stage school over its shared limits today
    (the synthetic districts' twelve-year school, 1,654 pupils for the equipment of
    1,139) leaves neither stage room at today's, although the two stages together
    fit. The stage zoned first then takes what the other does not need; the other
    is zoned within what is left (:func:`zoning_order`)."""
    rules = rules if rules is not None else district.rules
    ostage = "junior" if stage == "primary" else "primary"
    if ostage not in rules.stages or district.units is None or len(district.units) == 0:
        return {}
    mine = set(zoned_schools(district, stage, params)["school_id"].astype(str))
    theirs = zoned_schools(district, ostage, params)
    both = [sid for sid in theirs["school_id"].astype(str) if sid in mine]
    if not both:
        return {}
    places = school_places(district, ostage, theirs, rules)
    need = take_up(district, ostage, theirs, params) * \
        int(district.units[f"children_{ostage}"].sum())
    total = sum(p.places for p in places.values())
    limit = int(rules.max_class[ostage])
    out = {}
    for sid in both:
        least = max(0, int(math.ceil(need - (total - places[sid].places) - 1e-9)))
        out[sid] = (least, -(-least // limit))
    return out


def zoning_order(district: District, params: CatchmentParams = _PARAMS,
                 rules: Rules | None = None) -> list[str]:
    """The stages of ``params.stages`` in the order they are zoned: the smallest
    margin of places over need first (places with the other stage as today ÷
    take-up × children; ties and stages without schools keep ``params.stages``'
    order). A reading of a joint problem: the resources a two-stage school shares
    between its stages (floor area, rooms, its size limit) go first to the stage
    where places are scarcest; the other stage is then zoned within what is left."""
    rules = rules if rules is not None else district.rules
    margin = {}
    for k, st in enumerate(params.stages):
        schools = zoned_schools(district, st, params)
        kids = int(district.units[f"children_{st}"].sum()) if district.units is not None \
            and len(district.units) else 0
        if schools.empty or kids <= 0:
            margin[st] = (math.inf, k)
            continue
        total = sum(p.places for p in school_places(district, st, schools, rules).values())
        margin[st] = (total / (take_up(district, st, schools, params) * kids), k)
    return sorted(params.stages, key=margin.__getitem__)


def plan_status(outcomes: list[CatchmentOutcome]) -> Status:
    """The status of a plan of several stages: the worst stage's."""
    return worst(o.status for o in outcomes)


# ---------------------------------------------------------------- full turnover


def _after(result: cm.CatchmentResult, schools: pd.DataFrame, places: dict[str, Places],
           a: float, stage: str, rules: Rules) -> dict[str, SchoolAfter]:
    limit = int(rules.max_class[stage])
    out = {}
    for r in schools.itertuples(index=False):
        sid = str(r.school_id)
        kids = result.loads[sid].children
        pupils = int(round(a * kids))
        p = places[sid]
        classes = classes_after(p, pupils, int(getattr(r, f"classes_{stage}")), limit)
        out[sid] = SchoolAfter(school_id=sid, today=int(getattr(r, f"students_{stage}")),
                               children=int(kids), pupils=pupils, places=p.places,
                               binding=p.binding, classes=classes,
                               max_class=-(-pupils // classes) if classes else 0)
    return out


def _path(after: dict[str, SchoolAfter], params: CatchmentParams, stage: str) -> pd.DataFrame:
    g = GRADES[stage]
    rows = []
    for sid, x in after.items():
        for y in range(g + 1):
            if params.keep_current:
                n = int(round((x.today * (g - y) + x.pupils * y) / g))
            else:
                n = x.today if y == 0 else x.pupils
            rows.append({"school_id": sid, "year": y, "pupils": n})
    return pd.DataFrame(rows, columns=["school_id", "year", "pupils"])


#: the school columns set per pupil by the county, which follow the pupils at full
#: turnover (:func:`district_after`): the staffing quota (编制标准) and the public and
#: training funds (生均公用经费基准定额; training funds are a share of the public funds)
FOLLOWS_PUPILS = ("staff_quota", "public_funds_yuan", "training_funds_yuan")


def district_after(district: District, outcomes: list[CatchmentOutcome]) -> District:
    """``district`` at full turnover of the plan: each zoned school's pupils of a
    stage with a plan are its zone's (:class:`SchoolAfter`), with the classes and
    largest class then. The columns of :data:`FOLLOWS_PUPILS` follow the pupils at
    the school's own rate: each is scaled by the school's need under indicator 10
    after ÷ before (``Σ pupils / pupils per quota``, ``Σ pupils × funds per pupil``;
    a school with no pupils today gets the standard's need), rounded up to the cent,
    so a school meets indicator 10 after the zoning exactly when it does today.
    Stages without a plan, unzoned schools, teachers, rooms, areas and equipment are
    as they are."""
    return district_at_turnover(district, {
        o.stage: {sid: (x.pupils, x.classes, x.max_class) for sid, x in o.after.items()}
        for o in outcomes if o.has_plan})


def district_at_turnover(district: District,
                         after: dict[str, dict[str, tuple[int, int, int]]]) -> District:
    """:func:`district_after` from ``stage → school_id → (pupils, classes, largest
    class)`` at full turnover (the plan's, or a run's ``summary.json``
    ``<stage>.schools_after``: :func:`planner.verify.district_after_files`)."""
    s = district.schools.copy()
    rules = district.rules
    idx = {str(sid): k for sid, k in zip(s["school_id"], s.index)}
    before = s[["students_primary", "students_junior"]].copy()
    changed: set = set()
    for st, schools in after.items():
        for sid, (pupils, classes, max_class) in schools.items():
            k = idx.get(sid)
            if k is None:
                continue
            s.loc[k, f"students_{st}"] = pupils
            s.loc[k, f"classes_{st}"] = classes
            s.loc[k, f"max_class_{st}"] = max_class
            changed.add(k)
    for col in FOLLOWS_PUPILS:
        if col not in s.columns:
            continue
        s[col] = s[col].astype(float)
        quota = col == "staff_quota"
        for k in sorted(changed):
            a0, b0 = float(before.at[k, "students_primary"]), float(before.at[k, "students_junior"])
            a1, b1 = float(s.at[k, "students_primary"]), float(s.at[k, "students_junior"])
            need0 = rules.quota_needed(a0, b0) if quota else rules.funds_needed(a0, b0)
            need1 = rules.quota_needed(a1, b1) if quota else rules.funds_needed(a1, b1)
            v = s.at[k, col]
            if pd.isna(v) or need1 == need0:
                continue
            new = v * need1 / need0 if need0 > 0 else (need1 if col != "training_funds_yuan"
                                                       else v)
            s.at[k, col] = math.ceil(new * 100 - 1e-6) / 100
    return district.with_schools(s)


def _share_21(result: cm.CatchmentResult, schools: pd.DataFrame,
              problem: cm.CatchmentProblem) -> float | None:
    """Indicator 21's share of the stage (module docstring)."""
    area = schools["area_type"].fillna("").astype(str) if "area_type" in schools.columns \
        else pd.Series([""] * len(schools))
    public = schools["public"].fillna(True).astype(bool)
    boarding = schools["boarding"].fillna(False).astype(bool)
    ok = public & ~boarding & (schools["type"] != "special")
    if (area != "").any():
        ok &= area.isin(["urban", "town"])
    counted = set(schools.loc[ok.to_numpy(), "school_id"].astype(str))
    kids = dict(zip(problem.unit_ids, problem.children))
    cur = problem.current or {}
    inside = outside = 0
    for u, s in result.assignment.items():
        if not str(u).startswith("U:"):
            continue
        if s is not None and s in counted:
            inside += kids[u]
        elif s is None and cur.get(u) in counted:
            outside += kids[u]
    if inside + outside == 0:
        return None
    return inside / (inside + outside)


def share_for_indicator_21(outcomes: list[CatchmentOutcome],
                           district: District | None = None) -> dict[str, float]:
    """Indicator 21's share per stage for the after-plan check: each zoned stage's
    (:func:`_share_21`); a stage not zoned, or with no school that counts, keeps the
    county's figure (``district.county``) when one is given."""
    out: dict[str, float] = {}
    county = (district.county or {}) if district is not None else {}
    for st in ("primary", "junior"):
        o = next((x for x in outcomes if x.stage == st), None)
        if o is not None and o.share_21 is not None:
            out[st] = round(o.share_21, 6)
        elif county.get(f"catchment_share_{st}") is not None:
            out[st] = county[f"catchment_share_{st}"]
    return out


# ---------------------------------------------------------------- shortfall


def _stage_shortfall(result: cm.CatchmentResult, problem: cm.CatchmentProblem,
                     places: dict[str, Places], a: float) -> StageShortfall:
    kids = dict(zip(problem.unit_ids, problem.children))
    missing_units = sorted((u for u, s in result.assignment.items() if s is None),
                           key=lambda u: (-kids[u], str(u)))
    need = int(math.ceil(a * sum(problem.children) - 1e-9))
    total = sum(p.places for p in places.values())
    sites: dict[str, int] = {}
    codes: dict[str, int] = {}
    for sf in result.shortfalls:
        sites.setdefault(str(sf.suggested_site), int(math.ceil(a * sf.group_children - 1e-9)))
        codes[sf.code] = codes.get(sf.code, 0) + 1
    return StageShortfall(
        need=need, places=total, missing=max(0, need - total),
        unzoned_units=tuple(str(u) for u in missing_units),
        unzoned_children=int(sum(kids[u] for u in missing_units)),
        sites=tuple(sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))),
        codes=tuple(sorted(codes.items())))


# ---------------------------------------------------------------- tables


def _zones(cells, result, schools, stage, after: dict[str, SchoolAfter]):
    import geopandas as gpd

    from geodata.cells import dissolve_zones
    assign = {u: s for u, s in result.assignment.items() if s is not None}
    cols = ["school_id", "school", "stage", "children", "seats", "load_ratio", "pupils_today",
            "pupils", "places", "binding", "n_units", "area_km2", "polsby_popper", "n_parts",
            "geometry"]
    if not assign:                      # no plan: no zone to draw
        return gpd.GeoDataFrame({c: [] for c in cols if c != "geometry"},
                                geometry=[], crs=4326)[cols]
    sub = cells[cells["unit_id"].isin(list(assign))]
    z = dissolve_zones(sub, assign).rename(columns={"zone_id": "school_id"})
    names = dict(zip(schools["school_id"].astype(str), schools["name"]))
    load = {s: result.loads[s] for s in result.loads}
    z["school"] = z["school_id"].map(names)
    z["stage"] = stage
    z["children"] = z["school_id"].map(lambda s: load[s].children)
    z["seats"] = z["school_id"].map(lambda s: load[s].seats)
    z["load_ratio"] = z["school_id"].map(lambda s: round(load[s].ratio, 4))
    z["pupils_today"] = z["school_id"].map(lambda s: after[s].today)
    z["pupils"] = z["school_id"].map(lambda s: after[s].pupils)
    z["places"] = z["school_id"].map(lambda s: after[s].places)
    z["binding"] = z["school_id"].map(lambda s: after[s].binding)
    z["n_units"] = z["school_id"].map(
        lambda s: sum(1 for u, x in assign.items() if x == s and u.startswith("U:")))
    z["area_km2"] = z["area_km2"].round(3)
    z["polsby_popper"] = z["polsby_popper"].round(4)
    return z[cols].sort_values("school_id").reset_index(drop=True)


def _unit_table(district, result, schools, problem, stage) -> pd.DataFrame:
    names = dict(zip(schools["school_id"].astype(str), schools["name"]))
    col = {s: j for j, s in enumerate(problem.school_ids)}
    row = {u: i for i, u in enumerate(problem.unit_ids)}
    cost = np.asarray(problem.cost, dtype=float)
    cur = problem.current or {}
    rows = []
    for u, name, kids in zip(district.units["unit_id"], district.units["name"],
                             district.units[f"children_{stage}"]):
        cid = "U:" + str(u)
        s = result.assignment.get(cid)
        km = float(cost[row[cid], col[s]]) if s is not None else float("nan")
        rows.append({"unit_id": u, "unit": name, "stage": stage, "school_id": s or "",
                     "school": names.get(s, ""), "children": int(kids), "km": round(km, 2),
                     "school_today_id": cur.get(cid, ""),
                     "changes": bool(s is not None and cur.get(cid) not in (None, s))})
    return pd.DataFrame(rows)


def _summary(result, problem, zones, stage, violations, after, a, reference, outline,
             spread, share, shortfall, params) -> dict:
    loads = [ld.ratio for ld in result.loads.values() if ld.seats > 0]
    gap = result.gap
    return {
        "stage": stage, "status": result.status.value,
        "objective": None if result.objective is None else round(result.objective, 4),
        "gap": None if gap is None else round(gap, 6),
        "bound": None if result.bound is None else round(result.bound, 4),
        "solver_gap": None if result.solver_gap is None else round(result.solver_gap, 6),
        "rounds": result.rounds, "cuts": result.cuts,
        # why a plan is not proven within the gap: "time" (not reproducible) or
        # "nodes" (a work limit: the same plan on any machine); null when proven
        "stopped_by": result.stopped_by,
        "solve_seconds": None, "solver": result.solver,  # times: timings.json
        "mode": result.mode, "units": sum(1 for u in problem.unit_ids if str(u).startswith("U:")),
        "schools": len(problem.school_ids),
        "k_nearest": problem.k_nearest,     # candidate schools per unit (the model may widen)
        "max_load_ratio": round(max(loads), 4) if loads else None,
        # contiguity on the unit adjacency graph (shared edges), verified with networkx
        "contiguous": bool(result.contiguous) and not violations and not result.closest,
        # a zone drawn in several pieces although its units are adjacent: a cell cut
        # in two by a bend of the district outline
        "multipart_zones": [s for s, n in zip(zones["school_id"], zones["n_parts"]) if int(n) > 1],
        "take_up": round(a, 6),
        "keep_current": params.keep_current,
        "years_to_full_turnover": GRADES[stage],
        "children_changed": result.pupils_changed,
        "pupils_changed": int(round(a * result.pupils_changed)),
        "stability_reference": reference,
        "unassigned_children": result.unassigned_children,
        "catchment_share": round(result.zoned_share, 6),
        "indicator_21_share": None if share is None else round(share, 6),
        "outline": outline,
        "units_spread": list(spread),
        "schools_after": [
            {"school_id": x.school_id, "pupils_today": x.today, "children": x.children,
             "pupils": x.pupils, "places": x.places, "binding": x.binding,
             "classes": x.classes, "max_class": x.max_class} for x in after.values()],
        "shortfall": None if shortfall is None else {
            "need": shortfall.need, "places": shortfall.places, "missing": shortfall.missing,
            "unzoned_units": [u.partition(":")[2] for u in shortfall.unzoned_units],
            "unzoned_children": shortfall.unzoned_children,
            "sites": [[s.partition(":")[2], n] for s, n in shortfall.sites],
            "codes": dict(shortfall.codes)},
        "shortfalls": [vars(s) for s in result.shortfalls],
        "verified": not violations, "violations": violations,
        "notes": list(result.notes),
    }


def combined_summary(outcomes: list[CatchmentOutcome]) -> dict:
    """``summary.json``: each stage's summary under its name, then the top-level
    keys data-format.md promises for a catchments summary (status: :func:`plan_status`)."""
    out: dict[str, Any] = {o.stage: o.summary for o in outcomes}
    st = [o.summary for o in outcomes]
    gaps = [s["gap"] for s in st if s["gap"] is not None]
    out.update({
        "status": plan_status(outcomes).value,
        "objective": round(sum(s["objective"] or 0 for s in st), 4),
        "gap": max(gaps) if gaps else None,
        "solve_seconds": None,          # times: timings.json (same inputs, same bytes)
        "solver": st[0]["solver"], "units": st[0]["units"],
        "schools": sum(s["schools"] for s in st),
        "max_load_ratio": max((s["max_load_ratio"] or 0) for s in st),
        "contiguous": all(s["contiguous"] for s in st),
        "pupils_changed": sum(s["pupils_changed"] for s in st),
        "stopped_by": next((by for by in ("time", "nodes")
                            if any(s.get("stopped_by") == by for s in st)), None)})
    return out


# ---------------------------------------------------------------------------
# a given plan: ``catchments: {plan: FILE}`` of a scenario (planner serve's zones page)
# ---------------------------------------------------------------------------

#: the columns of a catchment file read by :func:`read_plan` (English or Chinese
#: headers); ``units.csv`` of a run has them, other columns are ignored
PLAN_HEADERS = {"unit_id": "unit_id", "单元编码": "unit_id", "stage": "stage", "学段": "stage",
                "school_id": "school_id", "学校代码": "school_id"}

#: ``mode`` and ``solver`` of a given plan's result (it was checked, not solved)
GIVEN_MODE = "plan"


def read_plan(path: Any, district: District, stage: str,
              params: CatchmentParams = _PARAMS) -> dict[str, str | None]:
    """The assignment of ``stage`` in a catchment file: ``{"U:<unit_id>": school_id}``
    (``None``: the unit is left unzoned, an empty ``school_id``).

    The file is a CSV or XLSX with ``unit_id, stage, school_id`` (``units.csv`` of a
    run). Checked, every problem at once in a :class:`DataError` naming the file, row
    and column: a unit or school the district does not have, a school that is not
    zoned for the stage (:func:`zoned_schools` with ``params``), a unit given twice
    for the stage, a unit of the district missing from the stage's rows, a stage
    without rows. Rows of other stages are ignored here."""
    from pathlib import Path

    from planner.core.errors import DataError
    from planner.io.load import _read_csv, _read_xlsx
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise DataError([f"{label} row -, column -: file not found"])
    df = _read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(path)
    df = df.rename(columns={c: PLAN_HEADERS.get(str(c).strip(), str(c).strip())
                            for c in df.columns})
    hr = df.attrs.get("header_row", 1)
    problems = [f"{label} row {hr}, column {c}: required column is missing"
                for c in ("unit_id", "stage", "school_id") if c not in df.columns]
    if problems:
        raise DataError(problems)
    units = [str(u) for u in district.units["unit_id"]] if district.units is not None else []
    known_units = set(units)
    all_schools = set(district.schools["school_id"].astype(str))
    zoned = set(zoned_schools(district, stage, params)["school_id"].astype(str))
    out: dict[str, str | None] = {}
    for rowno, rec in df.iterrows():
        if str(rec["stage"]).strip() != stage:
            continue
        u, sid = str(rec["unit_id"]).strip(), str(rec["school_id"]).strip()
        if u not in known_units:
            problems.append(f"{label} row {rowno}, column unit_id: unknown unit {u!r}")
            continue
        if "U:" + u in out:
            problems.append(f"{label} row {rowno}, column unit_id: unit {u} is given twice "
                            f"for stage {stage}")
            continue
        if sid and sid not in all_schools:
            problems.append(f"{label} row {rowno}, column school_id: unknown school {sid!r}")
        elif sid and sid not in zoned:
            problems.append(f"{label} row {rowno}, column school_id: school {sid} is not "
                            f"zoned for stage {stage}")
        out["U:" + u] = sid or None
    if not out and not problems:
        problems.append(f"{label} row -, column stage: no row of stage {stage}")
    elif not problems:
        missing = [u for u in units if "U:" + u not in out]
        if missing:
            problems.append(f"{label} row -, column unit_id: {len(missing)} unit(s) of the "
                            f"district have no row for stage {stage}: "
                            + ", ".join(missing[:10]) + (" …" if len(missing) > 10 else ""))
    if problems:
        raise DataError(problems)
    return out


def given_result(problem: cm.CatchmentProblem, assignment: dict) -> cm.CatchmentResult:
    """The result of a given assignment of the units of ``problem`` (no solver): a
    school's own cell always goes to its school; the figures (loads, travel and
    stability cost, pupils changed, zoned share, contiguity) are computed from the
    plan as :func:`models.catchment.solve_catchments` computes them for its own.

    Its status is ``FEASIBLE`` when :func:`models.catchment.verify_catchments` finds
    nothing (every unit zoned, seats, contiguity with the school's own cell), else
    ``INFEASIBLE`` with ``closest`` true (the plan as given, drawn and explained by
    its violations). ``mode`` is ``"plan"``, ``solver`` empty, ``gap`` none."""
    t0 = time.perf_counter()
    full = {u: assignment.get(u) for u in problem.unit_ids}
    for s, h in zip(problem.school_ids, problem.home_units):
        full[h] = s
    six = {s: j for j, s in enumerate(problem.school_ids)}
    cost = problem.cost_array()
    kids = {s: 0 for s in problem.school_ids}
    travel = stab = 0.0
    changed = unassigned = 0
    current = problem.current or {}
    for i, u in enumerate(problem.unit_ids):
        s, c = full[u], int(problem.children[i])
        if s is None:
            unassigned += c
            continue
        kids[s] += c
        travel += c * float(cost[i, six[s]])
        if u in current and current[u] != s:
            changed += c
            stab += c * problem.stability_penalty
    loads = {s: cm.SchoolLoad(s, kids[s], int(problem.seats[j]),
                              kids[s] / problem.seats[j] if problem.seats[j]
                              else (math.inf if kids[s] else 0.0))
             for j, s in enumerate(problem.school_ids)}
    violations = cm.verify_catchments(problem, full)
    total = sum(int(c) for c in problem.children)
    ok = not violations
    return cm.CatchmentResult(
        assignment=full, loads=loads, objective=travel + stab, travel_cost=travel,
        stability_cost=stab, status=Status.FEASIBLE if ok else Status.INFEASIBLE, gap=None,
        solver="", seconds=time.perf_counter() - t0, mode=GIVEN_MODE, pupils_changed=changed,
        unassigned_children=unassigned,
        zoned_share=1.0 - unassigned / total if total else 1.0,
        contiguous=cm.zones_contiguous(problem, full), closest=not ok, violations=violations)


def unit_cells(district: District, stage: str, params: CatchmentParams = _PARAMS):
    """The cells the plan of ``stage`` zones (GeoDataFrame, WGS84, ``unit_id``
    ``U:<unit>`` or a school's own cell ``S:<school>``) and the zoned schools."""
    schools = zoned_schools(district, stage, params)
    cells = _cells(district, schools)[0]
    return cells, schools
