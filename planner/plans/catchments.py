"""Enrolment catchment zones for a district: ``planner catchments`` and the scenario step.

For one stage:

- **Schools** zoned: public schools teaching the stage, teaching points and
  boarding schools included, special schools never; private schools are out of
  scope by default (``include_private``). A reading: indicator 21 leaves boarding
  schools out of its *share*, but a rural boarding junior school still takes the
  children of its area, and without it whole towns have no junior school to be
  zoned to; ``include_boarding=False`` (``--exclude-boarding``) zones without them.
- **Seats**: ``classrooms × class-size cap`` (45 primary, 50 junior, indicator 13);
  a two-stage school's classrooms are shared in proportion to its classes of each
  stage; without a classroom count, its classes are used.
- **Cells**: when the units are points, the district outline is cut into Voronoi
  cells of the unit points *and the school points*; each school's own cell (no
  children) is its home, so two schools in one village never fight over a unit. A
  school standing within 1 m of a unit point is moved 20 m north-east for the cells
  only. When the units are polygons they are used as they are and a school's home is
  the unit containing it (two schools in one unit polygon: an error naming both).
  Adjacency is a shared edge (``geodata.cells.rook_adjacency``), not a corner.
- **Cost**: road distance (km, along the fastest road path) from the unit to the
  school, else straight-line distance × 1.3; unreachable pairs are forbidden.
- **Contiguity** is exact in the model (``models.catchment``) and re-checked with
  networkx on the adjacency graph. The default "sweep" condition (a unit may join a
  school only if a neighbour met earlier in a cheapest-first sweep from the school's
  own cell joins too) never strands a unit; the "nearer neighbour" condition
  ("cheap") cost 0.7–3.6 % more on the benchmark grids.

Indicator 21 is computed from the plan: the share of the stage's children living in
a zone (every zoned child belongs to exactly one school's catchment).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models import catchment as cm

from planner.core.district import District, school_stages
from planner.io.export import write_csv, write_json, write_text

CLASS_CAP = {"primary": 45, "junior": 50}
STAGE_ZH = {"primary": "小学", "junior": "初中"}


@dataclass
class CatchmentOutcome:
    stage: str
    result: cm.CatchmentResult
    problem: cm.CatchmentProblem
    zones: object              # GeoDataFrame, WGS84
    units: pd.DataFrame        # units.csv rows
    summary: dict
    violations: list[str]


def zoned_schools(district: District, stage: str, include_boarding: bool = True,
                  include_private: bool = False) -> pd.DataFrame:
    s = district.schools
    teaches = s.apply(lambda r: stage in school_stages(r), axis=1) if len(s) else s["type"] == ""
    keep = teaches & (s["type"] != "special")
    if not include_private:
        keep &= s["public"].fillna(True).astype(bool)
    if not include_boarding:
        keep &= ~s["boarding"].fillna(False).astype(bool)
    return s[keep].sort_values("school_id").reset_index(drop=True)


def seats(row: pd.Series, stage: str) -> int:
    cp, cj = int(row["classes_primary"]), int(row["classes_junior"])
    own = cp if stage == "primary" else cj
    rooms = row.get("classrooms")
    if rooms is None or pd.isna(rooms):
        rooms_stage = own
    else:
        total = cp + cj
        rooms_stage = rooms * own / total if total > 0 else rooms
    return int(np.floor(rooms_stage + 1e-9)) * CLASS_CAP[stage]


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
                raise ValueError(f"school {row.school_id} ({row.name}) lies in no unit polygon")
            homes.append(hit["unit_id"].iloc[0])
        dup = pd.Series(homes).duplicated(keep=False)
        if dup.any():
            ids = [sid for sid, d in zip(schools["school_id"], dup) if d]
            raise ValueError(f"schools {', '.join(ids)} lie in the same unit polygon; catchments "
                             f"need one school per unit (split the unit)")
        return cells, homes
    crs = utm_crs(float(units.geometry.x.mean()), float(units.geometry.y.mean()))
    upts = units.to_crs(crs)
    ux, uy = upts.geometry.x.to_numpy(), upts.geometry.y.to_numpy()
    spts = gpd.GeoSeries(gpd.points_from_xy(schools["lon"], schools["lat"]), crs=4326).to_crs(crs)
    sx, sy = spts.x.to_numpy().copy(), spts.y.to_numpy().copy()
    for i in range(len(sx)):
        d = np.hypot(ux - sx[i], uy - sy[i])
        others = np.hypot(np.delete(sx, i) - sx[i], np.delete(sy, i) - sy[i])
        if (d < 1.0).any() or (others < 1.0).any():
            sx[i] += 14.142
            sy[i] += 14.142
    pts = gpd.GeoDataFrame(
        {"unit_id": ["U:" + str(u) for u in units["unit_id"]] +
                    ["S:" + str(s) for s in schools["school_id"]]},
        geometry=list(gpd.points_from_xy(ux, uy)) + list(gpd.points_from_xy(sx, sy)), crs=crs
    ).to_crs(4326)
    cells = unit_cells(pts, district.boundary)
    return cells, ["S:" + str(s) for s in schools["school_id"]]


def _costs(district: District, cell_pts: list[tuple[float, float]],
           schools: pd.DataFrame) -> np.ndarray:
    """km from each cell's seed point to each school: road where possible."""
    spts = list(zip(schools["lon"].astype(float), schools["lat"].astype(float)))
    if district.roads is not None and len(district.roads):
        from geodata.roads import travel_matrices
        net = district.road_network()
        a = net.snap(cell_pts)
        b = net.snap(spts)
        _, length = travel_matrices(net, a, b, weight="time_s")
        access = np.array([p.snap_m for p in a.points])[:, None] + \
            np.array([p.snap_m for p in b.points])[None, :]
        return np.round((length + access) / 1000.0, 4)
    from pyproj import Transformer

    from geodata.roads import utm_crs
    lon = np.array([p[0] for p in cell_pts + spts])
    lat = np.array([p[1] for p in cell_pts + spts])
    tr = Transformer.from_crs(4326, utm_crs(float(lon.mean()), float(lat.mean())), always_xy=True)
    x, y = tr.transform(lon, lat)
    n = len(cell_pts)
    return np.round(np.hypot(x[:n, None] - x[None, n:], y[:n, None] - y[None, n:]) * 1.3 / 1000, 4)


def catchments(district: District, stage: str, mode: str = "sweep", k_nearest: int | None = 8,
               solver: str = "highs", time_limit: float | None = 60.0,
               include_boarding: bool = True, include_private: bool = False) -> CatchmentOutcome:
    if district.units is None or len(district.units) == 0:
        raise ValueError("the district has no residential units (units.csv): catchments need them")
    if district.boundary is None:
        raise ValueError("the district has no outline (boundary.geojson): catchment cells need it")
    schools = zoned_schools(district, stage, include_boarding, include_private)
    if schools.empty:
        raise ValueError(f"no school is zoned for the {stage} stage")
    cells, homes = _cells(district, schools)
    units = district.units
    kids = dict(zip("U:" + units["unit_id"].astype(str), units[f"children_{stage}"].astype(int)))
    ids = list(cells["unit_id"])
    seed_pts = []
    seeds = units.geometry.map(lambda g: g if g.geom_type == "Point" else g.representative_point())
    upos = {"U:" + str(u): (g.x, g.y) for u, g in zip(units["unit_id"], seeds)}
    spos = {"S:" + str(r.school_id): (float(r.lon), float(r.lat)) for r in schools.itertuples()}
    for cid in ids:
        seed_pts.append(upos.get(cid) or spos[cid])
    cost = _costs(district, seed_pts, schools)
    cost = np.where(np.isfinite(cost), cost, np.inf)
    from geodata.cells import rook_adjacency
    adj = rook_adjacency(cells)
    problem = cm.CatchmentProblem(
        unit_ids=ids, children=[int(kids.get(c, 0)) for c in ids],
        school_ids=list(schools["school_id"]),
        seats=[seats(r, stage) for _, r in schools.iterrows()],
        home_units=homes, cost=cost, adjacency=sorted(tuple(sorted(e)) for e in adj.edges()),
        k_nearest=k_nearest)
    result = cm.solve_catchments(problem, mode=mode, solver=solver, time_limit=time_limit)
    violations = cm.verify_catchments(problem, result.assignment) if result.status in (
        "optimal", "feasible") else []
    zones = _zones(cells, result, schools, problem, stage)
    table = _unit_table(district, result, schools, problem, stage)
    summary = _summary(result, problem, zones, stage, violations)
    return CatchmentOutcome(stage, result, problem, zones, table, summary, violations)


def _zones(cells, result, schools, problem, stage):
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
        "stage": stage, "status": result.status,
        "objective": None if result.objective is None else round(result.objective, 4),
        "gap": result.gap, "solve_seconds": round(result.seconds, 3), "solver": result.solver,
        "mode": result.mode, "units": sum(1 for u in problem.unit_ids if str(u).startswith("U:")),
        "schools": len(problem.school_ids),
        "max_load_ratio": round(max(loads), 4) if loads else None,
        # contiguity on the unit adjacency graph (shared edges), verified with networkx
        "contiguous": bool(result.contiguous) and not violations,
        # a zone drawn in several pieces although its units are adjacent: a cell cut
        # in two by a bend of the district outline
        "multipart_zones": [s for s, n in zip(zones["school_id"], zones["n_parts"]) if int(n) > 1],
        "pupils_changed": result.pupils_changed,
        "unassigned_children": result.unassigned_children,
        "catchment_share": round(result.zoned_share, 6),
        "shortfalls": [vars(s) if not hasattr(s, "_asdict") else s._asdict()
                       for s in result.shortfalls],
        "verified": not violations, "violations": violations,
        "notes": list(result.notes),
    }


def write_outputs(outcomes: list[CatchmentOutcome], out: Path) -> list[Path]:
    import geopandas as gpd
    zones = pd.concat([o.zones for o in outcomes], ignore_index=True)
    zones = gpd.GeoDataFrame(zones, geometry="geometry", crs=4326)
    files = []
    gj = zones.copy()
    gj["geometry"] = gj.geometry.map(lambda g: _round_geom(g))
    files.append(write_text(gj.to_json(drop_id=True, ensure_ascii=False, sort_keys=True),
                            out / "catchments.geojson"))
    import pyogrio
    # GeoPackages stamp the current time; a fixed date keeps the file identical run to run
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    gpkg = out / ".part.catchments.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    for o in outcomes:
        o.zones.to_file(gpkg, layer=f"zones_{o.stage}", driver="GPKG")
    gpkg.replace(out / "catchments.gpkg")
    files.append(out / "catchments.gpkg")
    files.append(write_csv(pd.concat([o.units for o in outcomes], ignore_index=True),
                           out / "units.csv"))
    summary = {o.stage: o.summary for o in outcomes}
    summary.update(_combined(outcomes))
    files.append(write_json(summary, out / "summary.json"))
    return files


def _combined(outcomes) -> dict:
    """Top-level keys data-spec.md promises for a catchments summary."""
    st = [o.summary for o in outcomes]
    status = "optimal" if all(s["status"] == "optimal" for s in st) else (
        "infeasible" if any(s["status"] == "infeasible" for s in st) else "feasible")
    gaps = [s["gap"] for s in st if s["gap"] is not None]
    return {"status": status, "objective": round(sum(s["objective"] or 0 for s in st), 4),
            "gap": max(gaps) if gaps else None,
            "solve_seconds": round(sum(s["solve_seconds"] for s in st), 3),
            "solver": st[0]["solver"], "units": st[0]["units"],
            "schools": sum(s["schools"] for s in st),
            "max_load_ratio": max((s["max_load_ratio"] or 0) for s in st),
            "contiguous": all(s["contiguous"] for s in st),
            "pupils_changed": sum(s["pupils_changed"] for s in st)}


def _round_geom(g, nd: int = 6):
    from shapely import set_precision
    return set_precision(g, 10 ** -nd)


def share_for_indicator_21(outcomes: list[CatchmentOutcome]) -> dict[str, float]:
    return {o.stage: o.summary["catchment_share"] for o in outcomes}


# ------------------------------------------------------------------ command line


