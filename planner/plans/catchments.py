"""Enrolment catchment zones of a district (划片入学): the library call behind
``planner catchments`` and the catchments step of ``planner run``.

``catchments(district, stage, params, solve, rules=...)`` zones one stage and
returns a typed :class:`CatchmentOutcome` (no words: the presenter
:mod:`planner.outputs.catchments` writes the files and says it in zh/en);
``catchment_plan(...)`` zones every stage of ``params.stages``; the plan's status
is :func:`plan_status` (the worst stage's, :func:`models.status.worst`).

For one stage:

- **Schools** zoned: public schools teaching the stage, teaching points and
  boarding schools included, special schools never; private schools are out of
  scope by default (``include_private``). A reading: indicator 21 leaves boarding
  schools out of its *share*, but a rural boarding junior school still takes the
  children of its area, and without it whole towns have no junior school to be
  zoned to; ``include_boarding=False`` (``--exclude-boarding``) zones without them.
- **Seats**: ``classrooms × the standard's class-size limit of the stage``
  (``rules.max_class``, indicator 13); a two-stage school's classrooms are shared
  in proportion to its classes of each stage; without a classroom count, its
  classes are used.
- **Cells**: when the units are points, the district outline is cut into Voronoi
  cells of the unit points *and the school points*; each school's own cell (no
  children) is its home, so two schools in one village never fight over a unit. A
  school standing within 1 m of a unit point or another school is moved 20 m
  north-east for the cells only. When the units are polygons they are used as they
  are and a school's home is the unit containing it (two schools in one unit
  polygon: an error naming both); the outline is then not needed. Adjacency is a
  shared edge (``geodata.cells.rook_adjacency``), not a corner.
- **Cost**: km from the cell's seed point (the unit point, a polygon's
  representative point, or the school point for a school's own cell) to the
  school, from the district's one travel service (``District.travel``,
  :mod:`geodata.travel`): along the fastest road path with the straight access
  legs at both ends when the district has roads, else the great-circle distance ×
  the district's detour factor; rounded to 0.1 m; unreachable pairs are forbidden.
- **Today's school** (the reference of ``stability_penalty`` and of
  ``pupils_changed``): the data do not say which school a unit's children attend
  today, so it is taken to be the unit's *nearest zoned school by the same cost*
  (ties: the lower school id); a school's own unit (its cell, or the polygon that
  contains it) has that school. ``stability_penalty`` km are added per child
  zoned elsewhere; ``pupils_changed`` counts those children. The summary says so
  (``stability_reference: nearest_school``).
- **Contiguity** is exact in the model (``models.catchment``) and re-checked with
  networkx on the adjacency graph. The default "sweep" condition (a unit may join a
  school only if a neighbour met earlier in a cheapest-first sweep from the school's
  own cell joins too) never strands a unit; the "nearer neighbour" condition
  ("cheap") cost 0.7–3.6 % more on the benchmark grids.

Indicator 21 is computed from the plan: the share of the stage's children living in
a zone (every zoned child belongs to exactly one school's catchment).

User errors (no units, no outline, no school of the stage, a unit polygon holding
two schools, a point too far from the roads) are :class:`PlanInputError` naming
the file or the stage; a plan that cannot meet the seats or contiguity is an
outcome with :data:`Status.INFEASIBLE` and the closest plan (``closest``).
"""

from __future__ import annotations

from dataclasses import dataclass
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

__all__ = ["STABILITY_REFERENCE", "CatchmentOutcome", "catchment_plan", "catchments",
           "combined_summary", "plan_status", "seats", "share_for_indicator_21", "zoned_schools",
           "PLAN_HEADERS", "read_plan", "given_result", "unit_cells"]

#: the defaults of the entry points: the parameters classes' own (frozen, so shared)
_PARAMS = CatchmentParams()
_SOLVE = SolveParams()

#: what ``pupils_changed`` and ``stability_penalty`` are measured against (see the
#: module docstring); written to each stage's summary
STABILITY_REFERENCE = "nearest_school"


@dataclass(frozen=True)
class CatchmentOutcome:
    """One stage's catchment plan.

    ``status`` is the model's :class:`~models.status.Status`; ``closest`` is true
    when the plan is the relaxed closest plan of an infeasible stage (some units
    unassigned, each explained in ``result.shortfalls``). ``params`` and ``solve``
    are the settings it was made with; ``travel`` says how the costs were measured
    (:meth:`geodata.travel.TravelMatrix.describe`). ``summary`` is the stage's part
    of ``summary.json`` (codes and numbers, no words).
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
    """Seats of a school's ``stage``: its classrooms of the stage × the standard's
    class-size limit (``rules.max_class``)."""
    cp, cj = int(row["classes_primary"]), int(row["classes_junior"])
    own = cp if stage == "primary" else cj
    rooms = row.get("classrooms")
    if rooms is None or pd.isna(rooms):
        rooms_stage = own
    else:
        total = cp + cj
        rooms_stage = rooms * own / total if total > 0 else rooms
    return int(np.floor(rooms_stage + 1e-9)) * int(rules.max_class[stage])


def _cells(district: District, schools: pd.DataFrame):
    """(cells GeoDataFrame with unit_id = 'U:<id>' / 'S:<id>', home ids)."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geodata.cells import unit_cells
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
        return cells, homes
    if district.boundary is None:
        raise PlanInputError("the district has no outline (boundary.geojson): catchment cells "
                             "need it")
    crs = utm_crs(float(units.geometry.x.mean()), float(units.geometry.y.mean()))
    upts = units.to_crs(crs)
    ux, uy = upts.geometry.x.to_numpy(), upts.geometry.y.to_numpy()
    spts = gpd.GeoSeries(gpd.points_from_xy(schools["lon"], schools["lat"]), crs=4326).to_crs(crs)
    sx, sy = spts.x.to_numpy().copy(), spts.y.to_numpy().copy()
    for i in range(len(sx)):
        d = np.hypot(ux - sx[i], uy - sy[i])
        others = np.hypot(np.delete(sx, i) - sx[i], np.delete(sy, i) - sy[i])
        if (d < 1.0).any() or (others < 1.0).any():
            sx[i] += 14.142     # a step north-east (14.142 m on each axis), cells only
            sy[i] += 14.142
    pts = gpd.GeoDataFrame(
        {"unit_id": ["U:" + str(u) for u in units["unit_id"]] +
                    ["S:" + str(s) for s in schools["school_id"]]},
        geometry=list(gpd.points_from_xy(ux, uy)) + list(gpd.points_from_xy(sx, sy)), crs=crs
    ).to_crs(4326)
    try:
        cells = unit_cells(pts, district.boundary)
    except ValueError as e:   # units sharing a location and the like: the data's fault
        raise PlanInputError(f"units.csv: {e}") from None
    return cells, ["S:" + str(s) for s in schools["school_id"]]


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


def _today(unit_ids: list[str], homes: list[str], school_ids: list[str],
           cost: np.ndarray) -> dict[str, str]:
    """Today's school of each cell (the stability reference, see the module
    docstring): its own school for a school's home, else the nearest zoned school
    by ``cost`` (ties: the lower school index); none when every cost is infinite."""
    home_of = dict(zip(homes, school_ids))
    out: dict[str, str] = {}
    for i, u in enumerate(unit_ids):
        if u in home_of:
            out[u] = home_of[u]
        elif np.isfinite(cost[i]).any():
            out[u] = school_ids[int(np.argmin(cost[i]))]
    return out


def catchments(district: District, stage: str, params: CatchmentParams = _PARAMS,
               solve: SolveParams = _SOLVE, *, rules: Rules | None = None
               ) -> CatchmentOutcome:
    """Zone ``stage`` of ``district`` (see the module docstring).

    ``rules`` default to the district's standard (``district.rules``): the seats
    follow its class-size limits. Raises :class:`PlanInputError` for input a plan
    cannot be made from; an infeasible stage is an outcome, not an exception.
    """
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
    cells, homes = _cells(district, schools)
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
    school_ids = list(schools["school_id"])
    problem = cm.CatchmentProblem(
        unit_ids=ids, children=[int(kids.get(c, 0)) for c in ids], school_ids=school_ids,
        seats=[seats(r, stage, rules) for _, r in schools.iterrows()],
        home_units=homes, cost=cost, adjacency=sorted(tuple(sorted(e)) for e in adj.edges()),
        current=_today(ids, homes, school_ids, cost),
        stability_penalty=params.stability_penalty, k_nearest=params.k_nearest)
    if params.plan is not None:   # a given plan (catchments: {plan: FILE}): checked, not solved
        result = given_result(problem, read_plan(params.plan, district, stage, params))
    else:
        result = cm.solve_catchments(problem, mode=params.contiguity, solver=solve.solver,
                                     time_limit=solve.time_limit)
    violations = cm.verify_catchments(problem, result.assignment) \
        if result.status.has_plan or params.plan is not None else []
    zones = _zones(cells, result, schools, stage)
    table = _unit_table(district, result, schools, problem, stage)
    summary = _summary(result, problem, zones, stage, violations)
    return CatchmentOutcome(stage=stage, status=result.status, closest=result.closest,
                            params=params, solve=solve, result=result, problem=problem,
                            zones=zones, units=table, summary=summary, violations=violations,
                            travel=travel)


def catchment_plan(district: District, params: CatchmentParams = _PARAMS,
                   solve: SolveParams = _SOLVE, *, rules: Rules | None = None
                   ) -> list[CatchmentOutcome]:
    """One :class:`CatchmentOutcome` per stage of ``params.stages``, in that order."""
    return [catchments(district, st, params, solve, rules=rules) for st in params.stages]


def plan_status(outcomes: list[CatchmentOutcome]) -> Status:
    """The status of a plan of several stages: the worst stage's."""
    return worst(o.status for o in outcomes)


def _zones(cells, result, schools, stage):
    from geodata.cells import dissolve_zones
    assign = {u: s for u, s in result.assignment.items() if s is not None}
    sub = cells[cells["unit_id"].isin(list(assign))]
    z = dissolve_zones(sub, assign).rename(columns={"zone_id": "school_id"})
    names = dict(zip(schools["school_id"], schools["name"]))
    load = {s: result.loads[s] for s in result.loads}
    z["school"] = z["school_id"].map(names)
    z["stage"] = stage
    z["children"] = z["school_id"].map(lambda s: load[s].children)
    z["seats"] = z["school_id"].map(lambda s: load[s].seats)
    z["load_ratio"] = z["school_id"].map(lambda s: round(load[s].ratio, 4))
    z["n_units"] = z["school_id"].map(
        lambda s: sum(1 for u, x in assign.items() if x == s and u.startswith("U:")))
    z["area_km2"] = z["area_km2"].round(3)
    z["polsby_popper"] = z["polsby_popper"].round(4)
    cols = ["school_id", "school", "stage", "children", "seats", "load_ratio", "n_units",
            "area_km2", "polsby_popper", "n_parts", "geometry"]
    return z[cols].sort_values("school_id").reset_index(drop=True)


def _unit_table(district, result, schools, problem, stage) -> pd.DataFrame:
    names = dict(zip(schools["school_id"], schools["name"]))
    col = {s: j for j, s in enumerate(problem.school_ids)}
    row = {u: i for i, u in enumerate(problem.unit_ids)}
    cost = np.asarray(problem.cost, dtype=float)
    rows = []
    for u, name, kids in zip(district.units["unit_id"], district.units["name"],
                             district.units[f"children_{stage}"]):
        cid = "U:" + str(u)
        s = result.assignment.get(cid)
        km = float(cost[row[cid], col[s]]) if s is not None else float("nan")
        rows.append({"unit_id": u, "unit": name, "stage": stage, "school_id": s or "",
                     "school": names.get(s, ""), "children": int(kids), "km": round(km, 2)})
    return pd.DataFrame(rows)


def _summary(result, problem, zones, stage, violations) -> dict:
    loads = [ld.ratio for ld in result.loads.values() if ld.seats > 0]
    return {
        "stage": stage, "status": result.status.value,
        "objective": None if result.objective is None else round(result.objective, 4),
        "gap": result.gap, "solve_seconds": None, "solver": result.solver,  # times: timings.json
        "mode": result.mode, "units": sum(1 for u in problem.unit_ids if str(u).startswith("U:")),
        "schools": len(problem.school_ids),
        "max_load_ratio": round(max(loads), 4) if loads else None,
        # contiguity on the unit adjacency graph (shared edges), verified with networkx
        "contiguous": bool(result.contiguous) and not violations,
        # a zone drawn in several pieces although its units are adjacent: a cell cut
        # in two by a bend of the district outline
        "multipart_zones": [s for s, n in zip(zones["school_id"], zones["n_parts"]) if int(n) > 1],
        "pupils_changed": result.pupils_changed,
        "stability_reference": STABILITY_REFERENCE,
        "unassigned_children": result.unassigned_children,
        "catchment_share": round(result.zoned_share, 6),
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
        "pupils_changed": sum(s["pupils_changed"] for s in st)})
    return out


def share_for_indicator_21(outcomes: list[CatchmentOutcome]) -> dict[str, float]:
    return {o.stage: o.summary["catchment_share"] for o in outcomes}


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
    import math
    import time
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
                              else math.inf * (kids[s] > 0))
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
    cells, _ = _cells(district, schools)
    return cells, schools
