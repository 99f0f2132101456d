"""The zones page's re-check: move a unit to another school's zone, and see at once
what it does to the seats, the contiguity and the schools' indicators 12, 13 and 21.

This is the one module of the app that knows the catchment plan's internals; it
calls :mod:`planner.plans.catchments` (the plan's cells, its problem, the result of
a given assignment) and :mod:`planner.verify.catchments` (the independent check of
a saved file), and copies none of them.

A session starts from a run's catchment plan (``runs/<id>/catchments/units.csv``):

- the district the plan was made on is the run's: its district, after the run's
  consolidation when the scenario has one (closed schools gone, receivers enlarged;
  the rotation moves teachers only and changes nothing here). The consolidation is
  made again from the scenario (it is deterministic); when the scenario or its data
  changed since the run (another input fingerprint), the page says so;
- the run's file is read as a given plan (:func:`planner.plans.catchments.catchments`
  with ``plan``), which gives the stage's problem: cells, children, seats,
  adjacency, costs, the schools' own cells.

After every move, per stage (:func:`recheck`):

- **seats and contiguity**: :func:`planner.plans.catchments.given_result` of the
  edited assignment (loads, zoned share, the verifier's violations) and, per school,
  :func:`models.catchment.zones_contiguous` of its zone alone;
- **indicators 12, 13 and 21**, by the indicator engine itself
  (:func:`planner.indicators.check`), on the district as it would be if every zone's
  children enrolled at its school. A reading: the children of a zone become the
  school's pupils of the stage; its classes of the stage are today's, more when the
  children need more (``ceil(children / class-size limit)``), at most its classrooms
  of the stage (as the seats count them, :func:`planner.plans.catchments.seats`);
  its largest class is the children spread evenly over those classes, ``ceil(children
  / classes)``. Indicator 21 takes the zoned share of each stage of the session.

:func:`save` writes the edited plan as a catchment file (``units.csv`` columns, the
file a scenario names with ``catchments: {plan: FILE}``) and re-verifies it with
:func:`planner.verify.catchments.verify_catchments`, as ``planner verify`` does.
"""

from __future__ import annotations

import json
import math
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planner.core.district import District
from planner.core.params import CatchmentParams

#: the indicators re-checked (ids of rules.md: school size, class size, catchment share)
SIZE, CLASS_SIZE, CATCHMENT = 12, 13, 21  # not-a-rule: indicator numbers, not thresholds
#: candidate schools listed for a unit on the map, nearest first
CANDIDATES = 8
#: decimals of the cells' coordinates sent to the browser (about 0.1 m)
DECIMALS = 6


@dataclass
class StageState:
    stage: str
    outcome: Any                      # CatchmentOutcome of the run's plan, read back
    cells: Any                        # GeoDataFrame of the cells (U:/S: ids), WGS84
    assignment: dict                  # cell id -> school id (None: unzoned)
    original: dict

    @property
    def problem(self):
        return self.outcome.problem


@dataclass
class ZoneSession:
    id: str
    run_id: str
    district: District
    params: CatchmentParams
    scenario_path: Path
    stages: dict[str, StageState]
    changed_inputs: bool = False
    moves: list[tuple[str, str, str | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self) -> dict[str, str]:
        s = self.district.schools
        return dict(zip(s["school_id"].astype(str), s["name"].astype(str)))


class ZoneError(Exception):
    """A zones request that cannot be served: ``code`` is ``web.zones.<code>``."""

    def __init__(self, code: str, **values: Any):
        self.code, self.values = code, values
        super().__init__(code)


def run_district(scenario, district: District) -> District:
    """The district a run's catchment plan was made on (see the module docstring)."""
    if scenario.consolidation is None:
        return district
    from planner.plans.consolidation import consolidate
    out = consolidate(district, scenario.consolidation, scenario.solve, check_indicators=False)
    return out.district_after if out.status.has_plan else district


def open_session(run_folder: Path, scenario_path: Path, run_id: str) -> ZoneSession:
    """A zones session on the catchment plan of a run folder."""
    from planner.io.load import load_district
    from planner.plans.catchments import catchment_plan, unit_cells
    from planner.plans.scenario import input_hash, load_scenario
    plan = run_folder / "catchments" / "units.csv"
    if not plan.is_file():
        raise ZoneError("no_plan")
    scen = load_scenario(scenario_path)
    changed = False
    meta = run_folder / "scenario.json"
    if meta.is_file():
        recorded = json.loads(meta.read_text(encoding="utf-8")).get("input_sha256")
        changed = bool(recorded) and recorded != input_hash(scen)
    district = run_district(scen, load_district(scen.district))
    if (run_folder / "consolidation" / "assignments.csv").is_file() or \
            (run_folder / "rotation" / "rotation.csv").is_file():
        # the run's own district, rebuilt from its files: the places of indicators 1-3
        # follow the teachers after the rotation (issue 16)
        from planner.verify import district_after_files
        district = load_district(scen.district)
        for kind, mark in (("consolidation", "assignments.csv"), ("rotation", "rotation.csv")):
            if (run_folder / kind / mark).is_file():
                district = district_after_files(district, run_folder / kind, kind)
    base = scen.catchments if scen.catchments is not None else CatchmentParams()
    params = base.replace(plan=plan)
    written = pd.read_csv(plan, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    stages = [st for st in params.stages if (written["stage"] == st).any()]
    if not stages:
        raise ZoneError("no_plan")
    out: dict[str, StageState] = {}
    # as the run zoned them: a two-stage school's later stage sees the earlier's zones
    made = {o.stage: o for o in catchment_plan(district, params.replace(stages=tuple(stages)),
                                                scen.solve)}
    for st in stages:
        o = made[st]
        cells, _ = unit_cells(district, st, params)
        assign = dict(o.result.assignment)
        out[st] = StageState(st, o, cells, assign, dict(assign))
    return ZoneSession(id=secrets.token_hex(8), run_id=run_id, district=district,
                       params=params, scenario_path=scenario_path, stages=out,
                       changed_inputs=changed)


# --------------------------------------------------------------------- the re-check

def _classes(row: pd.Series, stage: str, children: int, rules) -> tuple[int, int]:
    """(classes, largest class) of a school part whose pupils are ``children`` (the
    reading of the module docstring)."""
    from planner.plans.catchments import seats
    if children <= 0:
        return 0, 0
    limit = int(rules.max_class[stage])
    rooms = seats(row, stage, rules) // limit if limit else 0
    today = int(row[f"classes_{stage}"])
    classes = max(today, math.ceil(children / limit))
    if rooms > 0:
        classes = min(classes, rooms)
    classes = max(classes, 1)
    return classes, math.ceil(children / classes)


def zoned_district(session: ZoneSession) -> tuple[District, dict]:
    """The district as it would be if every zone's children enrolled at its school,
    and per (school, stage) the pupils, classes and largest class given to it."""
    from planner.plans.catchments import given_result
    d = session.district
    rules = d.rules
    s = d.schools.copy()
    idx = {sid: i for i, sid in zip(s.index, s["school_id"].astype(str))}
    parts: dict = {}
    for st, state in session.stages.items():
        res = given_result(state.problem, state.assignment)
        for sid, ld in res.loads.items():
            i = idx[str(sid)]
            # the classrooms and today's classes as the plan counted them (not the
            # other stage's classes of this reading)
            classes, largest = _classes(d.schools.loc[i], st, int(ld.children), rules)
            parts[(str(sid), st)] = {"pupils": int(ld.children), "classes": classes,
                                     "largest": largest}
        for sid, v in ((k[0], p) for k, p in parts.items() if k[1] == st):
            i = idx[sid]
            s.loc[i, f"students_{st}"] = v["pupils"]
            s.loc[i, f"classes_{st}"] = v["classes"]
            s.loc[i, f"max_class_{st}"] = v["largest"]
    return d.with_schools(s.reset_index(drop=True)), parts


def recheck(session: ZoneSession) -> dict:
    """Seats, contiguity and indicators 12, 13 and 21 of the edited plan (codes and
    numbers; the page says them in words)."""
    from models.catchment import zones_contiguous
    from planner.indicators import check
    from planner.plans.catchments import given_result
    names = session.names()
    d = session.district
    out: dict[str, Any] = {"stages": {}, "moves": len(session.moves)}
    shares: dict[str, float] = {}
    results = {}
    for st, state in session.stages.items():
        res = given_result(state.problem, state.assignment)
        results[st] = res
        shares[st] = round(res.zoned_share, 6)
    for st in ("primary", "junior"):
        if st not in shares and d.county.get(f"catchment_share_{st}") is not None:
            shares[st] = d.county[f"catchment_share_{st}"]
    after_d, parts = zoned_district(session)
    report = check(after_d, catchments=shares)
    today = check(d)
    fails = {k: {(str(f.get("school_id")), f.get("stage") or "") for f in
                 report.indicator(k).failing_schools} for k in (SIZE, CLASS_SIZE)}
    fails_today = {k: {(str(f.get("school_id")), f.get("stage") or "") for f in
                       today.indicator(k).failing_schools} for k in (SIZE, CLASS_SIZE)}
    ind21 = report.indicator(CATCHMENT)
    out["indicator_21"] = {"passed": bool(ind21.passed), "no_data": bool(ind21.no_data),
                           "value": {k: v for k, v in (ind21.county_value or {}).items()},
                           "threshold": dict(ind21.threshold or {})}
    schools = d.schools.set_index(d.schools["school_id"].astype(str))
    for st, state in session.stages.items():
        res = results[st]
        p = state.problem
        rows = []
        for sid in p.school_ids:
            sid = str(sid)
            ld = res.loads[sid]
            alone = {u: (s if s == sid else None) for u, s in state.assignment.items()}
            part = parts.get((sid, st), {})
            row = schools.loc[sid]
            other = "junior" if st == "primary" else "primary"
            pupils_school = part.get("pupils", 0) + int(
                parts.get((sid, other), {}).get("pupils", row[f"students_{other}"]))
            rows.append({
                "school_id": sid, "school": names.get(sid, sid),
                "children": int(ld.children), "seats": int(ld.seats),
                "load": None if not math.isfinite(ld.ratio) else round(ld.ratio, 4),
                "over": ld.children > ld.seats,
                "contiguous": bool(zones_contiguous(p, alone)),
                "units": sum(1 for u, s in state.assignment.items()
                             if s == sid and str(u).startswith("U:")),
                "school_pupils": pupils_school,
                "ok_12": not any(f[0] == sid for f in fails[SIZE]),
                "ok_12_today": not any(f[0] == sid for f in fails_today[SIZE]),
                "largest_class": part.get("largest", 0), "limit_13": int(d.rules.max_class[st]),
                "ok_13": (sid, st) not in fails[CLASS_SIZE],
                "ok_13_today": (sid, st) not in fails_today[CLASS_SIZE],
                "pupils_today": int(row[f"students_{st}"]),
                "max_class_today": int(row[f"max_class_{st}"]),
            })
        out["stages"][st] = {
            "schools": rows, "zoned_share": shares[st],
            "unassigned_children": int(res.unassigned_children),
            "contiguous": bool(res.contiguous), "violations": list(res.violations),
            "feasible": res.status.has_plan,
            "assignment": {str(u)[2:]: s for u, s in state.assignment.items()
                           if str(u).startswith("U:")},
            "changed": sorted(str(u)[2:] for u, s in state.assignment.items()
                              if str(u).startswith("U:") and state.original.get(u) != s),
        }
    return out


def move(session: ZoneSession, stage: str, unit_id: str, school_id: str | None) -> dict:
    """Reassign ``unit_id`` of ``stage`` to ``school_id`` (a school zoned for the
    stage with a finite cost from the unit; ``None``: leave it unzoned)."""
    state = session.stages.get(stage)
    if state is None:
        raise ZoneError("bad_stage", stage=stage)
    cid = "U:" + str(unit_id)
    p = state.problem
    if cid not in state.assignment:
        raise ZoneError("bad_unit", unit=unit_id)
    if school_id is not None:
        if school_id not in [str(x) for x in p.school_ids]:
            raise ZoneError("bad_school", school=school_id)
        i = list(p.unit_ids).index(cid)
        j = [str(x) for x in p.school_ids].index(school_id)
        if not math.isfinite(float(p.cost_array()[i, j])):
            raise ZoneError("unreachable", unit=unit_id, school=school_id)
    with session.lock:
        before = state.assignment.get(cid)
        state.assignment[cid] = school_id
        session.moves.append((stage, str(unit_id), before, school_id or ""))
        return recheck(session)


def reset(session: ZoneSession) -> dict:
    with session.lock:
        for state in session.stages.values():
            state.assignment = dict(state.original)
        session.moves.clear()
        return recheck(session)


# ------------------------------------------------------------------------- the map

def map_data(session: ZoneSession) -> dict:
    """What the page's Leaflet map draws: per stage the cells (GeoJSON, with the unit,
    its children, its school and its candidate schools by km), the schools zoned."""
    import shapely
    d = session.district
    names = session.names()
    units = d.units.set_index(d.units["unit_id"].astype(str))
    schools = d.schools.set_index(d.schools["school_id"].astype(str))
    out: dict[str, Any] = {"stages": {}, "bounds": None}
    if d.boundary is not None:
        w, s, e, n = d.boundary.bounds
        out["bounds"] = [[round(s, DECIMALS), round(w, DECIMALS)],
                         [round(n, DECIMALS), round(e, DECIMALS)]]
        out["boundary"] = json.loads(shapely.to_geojson(
            shapely.set_precision(d.boundary, 10 ** -DECIMALS)))
    for st, state in session.stages.items():
        p = state.problem
        cost = p.cost_array()
        sids = [str(x) for x in p.school_ids]
        row_of = {u: i for i, u in enumerate(p.unit_ids)}
        feats = []
        for cid, geom in zip(state.cells["unit_id"], state.cells.geometry):
            kind, _, raw = str(cid).partition(":")
            i = row_of.get(cid)
            props: dict[str, Any] = {"cell": str(cid), "kind": kind, "id": raw}
            if kind == "U":
                props["name"] = str(units.loc[raw, "name"]) if raw in units.index else raw
                props["children"] = int(p.children[i]) if i is not None else 0
                order = sorted((c, j) for j, c in enumerate(cost[i]) if math.isfinite(c))
                near = order[:CANDIDATES]
                cur = state.assignment.get(cid)
                near += [(c, j) for c, j in order[CANDIDATES:] if sids[j] == cur]
                props["candidates"] = [[sids[j], round(float(c), 2)] for c, j in near]
            else:
                props["name"] = names.get(raw, raw)
                props["children"] = 0
            g = shapely.set_precision(geom, 10 ** -DECIMALS)
            feats.append({"type": "Feature", "properties": props,
                          "geometry": json.loads(shapely.to_geojson(g))})
        out["stages"][st] = {
            "cells": {"type": "FeatureCollection", "features": feats},
            "schools": [{"id": sid, "name": names.get(sid, sid),
                         "lon": round(float(schools.loc[sid, "lon"]), DECIMALS),
                         "lat": round(float(schools.loc[sid, "lat"]), DECIMALS)}
                        for sid in sids]}
    return out


# ------------------------------------------------------------------------- saving

def plan_table(session: ZoneSession) -> pd.DataFrame:
    """The edited plan as ``units.csv`` rows: unit_id, unit, stage, school_id,
    school, children, km (km of the unit's cell to its school, as the plan measures)."""
    d = session.district
    names = session.names()
    rows = []
    for st, state in session.stages.items():
        p = state.problem
        cost = p.cost_array()
        sids = [str(x) for x in p.school_ids]
        row_of = {u: i for i, u in enumerate(p.unit_ids)}
        for u, name, kids in zip(d.units["unit_id"].astype(str), d.units["name"],
                                 d.units[f"children_{st}"]):
            cid = "U:" + u
            s = state.assignment.get(cid)
            km = float(cost[row_of[cid], sids.index(s)]) if s is not None else float("nan")
            rows.append({"unit_id": u, "unit": name, "stage": st, "school_id": s or "",
                         "school": names.get(s, "") if s else "", "children": int(kids),
                         "km": round(km, 2)})
    return pd.DataFrame(rows)


def save(session: ZoneSession, path: Path) -> list[str]:
    """Write the edited plan to ``path`` (a catchment file) and re-verify it with
    :func:`planner.verify.catchments.verify_catchments` on the session's district;
    returns the verifier's problems (empty: verified)."""
    from planner.io.export import write_csv
    from planner.verify.catchments import verify_catchments
    with session.lock:
        table = plan_table(session)
    write_csv(table, path)
    with tempfile.TemporaryDirectory(prefix="pl-zones-") as tmp:
        write_csv(table, Path(tmp) / "units.csv")
        return verify_catchments(session.district, Path(tmp), session.params.replace(plan=None))
