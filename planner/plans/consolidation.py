"""``planner consolidate``: close small schools and bus their pupils (adapter).

District → :mod:`models.consolidation`:

- Sites are the schools themselves (pupils board at their old school). Travel
  between sites comes from the district's roads (:func:`geodata.roads.build_road_graph`,
  schools snapped to the nearest road, shortest-time paths at school-bus speeds,
  the distance along those paths). The straight leg from a school to its road is
  not driven; it is reported per school (``snap_m`` in summary.json). Without
  roads, travel is the straight line × 1.3 at 30 km/h (said in the summary).
- Plan mode takes closures ``(school_id, receiving_school_id, share)`` from a
  CSV/XLSX file (:func:`read_closures`) or a list; optimise mode takes as
  candidates the public schools and teaching points under ``candidates_max_pupils``
  (default 100) pupils and as receivers the other public primary, junior,
  nine-year, twelve-year and complete middle schools.
- Teachers of closed schools are redeployed (to their pupils' receivers or to
  schools short of teachers in indicators 1-3 after the merge).
- :func:`consolidate` returns a :class:`ConsolidationOutcome` with the result and
  the district after the plan (closed schools removed, pupils and new classes
  added to the receivers, teachers moved), for the scenario runner.
- :func:`write_outputs` writes ``assignments.csv``, ``routes.csv``,
  ``routes.geojson``, ``redeployment.csv`` and ``summary.json`` atomically.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from models import consolidation as M

from planner.core.district import District, derive_teacher_flags, school_stages
from planner.io.export import check_out_dir as _check_out_dir
from planner.io.export import safe_frame, write_text, write_xlsx
from planner.io.load import DataError

RECEIVER_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_middle")
NO_ROAD_DETOUR = 1.3
NO_ROAD_SPEED_KMH = 30.0
#: indicators 1-3 thresholds per 100 pupils (rules.md), for teacher shortages
TEACHER_THRESHOLDS = {"qualified": {"primary": 4.2, "junior": 5.3},
                      "backbone": {"primary": 1.0, "junior": 1.0},
                      "pe_art": {"primary": 0.9, "junior": 0.9}}
CLOSURE_HEADERS = {"school_id": "school_id", "学校代码": "school_id",
                   "receiving_school_id": "receiving_school_id", "接收学校代码": "receiving_school_id",
                   "share": "share", "比例": "share", "分流比例": "share"}

ASSIGNMENT_COLUMNS = ["school_id", "school", "receiving_school_id", "receiving_school", "stage",
                      "pupils", "ride_min"]
ROUTE_COLUMNS = ["route_id", "bus", "stop_order", "stop_id", "stop", "pupils_boarding",
                 "arrive_min", "km_from_start"]
REDEPLOY_COLUMNS = ["teacher_id", "name", "stage", "from_school_id", "from_school", "to_school_id",
                    "to_school", "reason"]


@dataclass
class ConsolidationOutcome:
    result: M.Result
    plan: list[tuple[str, str, float]]
    district: District
    district_after: District
    problem: M.Problem
    settings: M.Settings
    snap_m: dict[str, float] = field(default_factory=dict)
    travel_source: str = "roads"
    network: Any = None
    snapped: dict = field(default_factory=dict)      # school_id -> SnappedPoint
    matrix_seconds: float = 0.0
    indicators: dict | None = None                   # engine's view of the receivers
    notes: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- closures


def read_closures(path: str | Path, district: District) -> list[tuple[str, str, float]]:
    """Read a closures CSV/XLSX; raise :class:`DataError` with one line per problem."""
    from planner.io.load import _read_csv, _read_xlsx
    path = Path(path)
    label = path.name
    if not path.is_file():
        raise DataError([f"{label} row -, column -: file not found"])
    df = _read_xlsx(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _read_csv(path)
    df = df.rename(columns={c: CLOSURE_HEADERS.get(str(c).strip(), str(c).strip()) for c in df.columns})
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
        try:
            share = 1.0 if sh == "" else float(sh)
            if not (0 < share <= 1):
                raise ValueError
        except ValueError:
            problems.append(f"{label} row {rowno}, column share: {sh!r} is not a number in (0, 1]")
            ok = False
            share = 0.0
        if ok and sid == rid:
            problems.append(f"{label} row {rowno}, column receiving_school_id: "
                            f"{sid} cannot receive its own pupils")
            ok = False
        rows.append((rowno, sid, rid, share, ok))
    problems += _plan_problems([(r, s, t, w) for r, s, t, w, ok in rows if ok], label)
    if problems:
        raise DataError(problems)
    return [(s, t, w) for _, s, t, w, _ in rows]


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


def _check_plan_list(plan, district: District) -> list[tuple[str, str, float]]:
    known = set(district.schools["school_id"])
    rows, problems = [], []
    for k, item in enumerate(plan, start=1):
        if isinstance(item, dict):
            s, t, w = item.get("school_id"), item.get("receiving_school_id"), item.get("share", 1.0)
        else:
            s, t, *rest = item
            w = rest[0] if rest else 1.0
        s, t = str(s), str(t)
        for col, v in (("school_id", s), ("receiving_school_id", t)):
            if v not in known:
                problems.append(f"closures row {k}, column {col}: unknown school {v!r}")
        try:
            w = float(1.0 if w is None else w)
            if not 0 < w <= 1:
                raise ValueError
        except (TypeError, ValueError):
            problems.append(f"closures row {k}, column share: {w!r} is not a number in (0, 1]")
            continue
        rows.append((k, s, t, w))
    problems += _plan_problems(rows, "closures")
    if problems:
        raise DataError(problems)
    return [(s, t, w) for _, s, t, w in rows]


# -------------------------------------------------------------- the problem


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _school(row) -> M.School:
    typ = row["type"]
    return M.School(
        id=str(row["school_id"]), name=str(row["name"]), stages=tuple(school_stages(row)),
        pupils_primary=int(row["students_primary"]), pupils_junior=int(row["students_junior"]),
        classes_primary=int(row["classes_primary"]), classes_junior=int(row["classes_junior"]),
        max_class_primary=int(row["max_class_primary"]), max_class_junior=int(row["max_class_junior"]),
        classrooms=int(_num(row.get("classrooms")) if not math.isnan(_num(row.get("classrooms"))) else 0),
        building_area_m2=_num(row.get("building_area_m2")), sports_area_m2=_num(row.get("sports_area_m2")),
        music_rooms=_num(row.get("music_rooms")), music_room_min_m2=_num(row.get("music_room_min_m2")),
        art_rooms=_num(row.get("art_rooms")), art_room_min_m2=_num(row.get("art_room_min_m2")),
        size_limit=2500 if typ in ("nine_year", "twelve_year") else 2000)


def candidate_ids(district: District, max_pupils: int = 100) -> list[str]:
    s = district.schools
    total = s["students_primary"] + s["students_junior"]
    public = s["public"].fillna(True).astype(bool)
    mask = (total < max_pupils) & public & (s["type"] != "special")
    return sorted(s.loc[mask, "school_id"])


def receiver_ids(district: District, exclude: Sequence[str] = ()) -> list[str]:
    s = district.schools
    public = s["public"].fillna(True).astype(bool)
    mask = s["type"].isin(RECEIVER_TYPES) & public & ~s["school_id"].isin(list(exclude))
    return sorted(s.loc[mask, "school_id"])


def travel(district: District, ids: Sequence[str], network=None):
    """(minutes, km, snap_m, source, network, snapped) between the schools ``ids``."""
    s = district.schools.set_index("school_id").loc[list(ids)]
    lonlat = list(zip(s["lon"].astype(float), s["lat"].astype(float)))
    if network is None:
        network = district.road_network()
    if network is not None:
        from geodata.roads import travel_matrices
        snapped = network.snap(lonlat, ids=list(ids))
        sec, metres = travel_matrices(network, snapped, snapped, weight="time_s")
        return (sec / 60.0, metres / 1000.0, {p.id: float(p.snap_m) for p in snapped},
                "roads", network, {p.id: p for p in snapped})
    lon = np.radians([p[0] for p in lonlat])
    lat = np.radians([p[1] for p in lonlat])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(a)) * NO_ROAD_DETOUR
    return km / NO_ROAD_SPEED_KMH * 60.0, km, {i: 0.0 for i in ids}, "straight_line", None, {}


def teacher_shortages(district: District, added: dict | None = None,
                      removed: Sequence[str] = ()) -> dict:
    """Teachers missing per (school_id, stage) for indicators 1-3 after adding
    ``added[(school_id, stage)]`` pupils (closed schools ``removed``)."""
    added = added or {}
    counts = district.teacher_counts()
    out = {}
    s = district.schools
    public = s["public"].fillna(True).astype(bool)
    for row, pub in zip(s.to_dict("records"), public):
        sid = row["school_id"]
        if sid in removed or not pub or row["type"] == "special":
            continue
        for st in school_stages(row):
            pupils = int(row[f"students_{st}"]) + int(added.get((sid, st), 0))
            if pupils <= 0 or (sid, st) not in counts.index:
                continue
            c = counts.loc[(sid, st)]
            d = {}
            for f, th in TEACHER_THRESHOLDS.items():
                have = c[f]
                if pd.isna(have):
                    continue
                need = math.ceil(th[st] * pupils / 100.0 - 1e-9)
                if need > have:
                    d[f] = int(need - have)
            if d:
                out[(sid, st)] = d
    return out


def build_problem(district: District, ids: Sequence[str], network=None):
    t0 = time.perf_counter()
    minutes, km, snap, source, network, snapped = travel(district, ids, network)
    secs = time.perf_counter() - t0
    rows = district.schools.set_index("school_id", drop=False)
    schools = [_school(rows.loc[i]) for i in ids]
    teachers = []
    if district.teachers is not None:
        t = district.teachers
        for rec in t[t["school_id"].isin(list(ids))].to_dict("records"):
            teachers.append(M.Teacher(str(rec["teacher_id"]), str(rec["school_id"]), str(rec["stage"]),
                                      bool(rec.get("qualified", False)),
                                      bool(rec.get("is_backbone", False)),
                                      bool(rec.get("pe_art", False))))
    problem = M.Problem(schools, minutes, km, teachers=teachers)
    return problem, snap, source, network, snapped, secs


# ------------------------------------------------------------------ main API


def consolidate(district: District, plan=None, optimise: bool = False, *,
                max_ride_min: float = 30.0, bus_capacity: int = 56,
                candidates_max_pupils: int = 100, receivers: Sequence[str] | None = None,
                time_limit: float = 60.0, seed: int = 0, solver: str = "highs",
                costs: M.Costs | None = None, network=None, check_indicators: bool = True,
                must_close: Sequence[str] = (), candidates: Sequence[str] | None = None,
                **_ignored) -> ConsolidationOutcome:
    """Evaluate a closures plan (``plan``: a path or a list of
    ``(school_id, receiving_school_id, share)``) or choose one (``optimise``).

    Optimise mode: candidates are ``candidates`` or the public schools under
    ``candidates_max_pupils``; receivers are ``receivers`` or the other public
    schools; ``must_close`` schools close whatever the cost."""
    if (plan is None) == (not optimise):
        raise ValueError("give either a plan or optimise=True")
    settings = M.Settings(max_ride_min=float(max_ride_min), bus_capacity=int(bus_capacity),
                          costs=costs or M.Costs(), time_limit=float(time_limit), seed=int(seed),
                          solver=solver)
    if plan is not None:
        closures = (read_closures(plan, district) if isinstance(plan, (str, Path))
                    else _check_plan_list(plan, district))
        ids = sorted({x for s, r, _ in closures for x in (s, r)})
        problem, snap, source, network, snapped, secs = build_problem(district, ids, network)
        problem.shortages = _shortages_for(district, closures, problem)
        result = M.evaluate_plan(problem, closures, settings)
    else:
        cands = (sorted(candidates) if candidates is not None
                 else candidate_ids(district, candidates_max_pupils))
        cands = sorted(set(cands) | set(must_close))
        recv = sorted(receivers) if receivers is not None else receiver_ids(district, cands)
        ids = sorted(set(cands) | set(recv))
        problem, snap, source, network, snapped, secs = build_problem(district, ids, network)
        result = M.optimise(problem, cands, recv, settings, must_close=must_close)
        closures = []
        for i in result.closed:
            tot: dict[str, int] = {}
            for a in result.assignments:
                if a.school_id == i:
                    tot[a.receiving_school_id] = tot.get(a.receiving_school_id, 0) + a.pupils
            allp = sum(tot.values())
            closures += [(i, r, round(q / allp, 6) if allp else 1.0) for r, q in sorted(tot.items())]
    # teachers: shortages after the merge, then redeploy
    problem.shortages = teacher_shortages(district, result.moved(), result.closed)
    flows = {(a.school_id, a.receiving_school_id, a.stage): a.pupils for a in result.assignments}
    result.redeployments = M.redeploy_teachers(problem, result.closed, flows)
    after = apply_result(district, result)
    outcome = ConsolidationOutcome(result=result, plan=closures, district=district,
                                   district_after=after, problem=problem, settings=settings,
                                   snap_m=snap, travel_source=source, network=network,
                                   snapped=snapped, matrix_seconds=secs)
    if source != "roads":
        outcome.notes.append("no roads: travel is the straight line x 1.3 at 30 km/h")
    if check_indicators:
        outcome.indicators = engine_view(district, after, sorted(result.receivers), outcome.notes)
    return outcome


def _shortages_for(district, closures, problem) -> dict:
    added: dict = {}
    by: dict = {}
    for s, r, w in closures:
        by.setdefault(s, []).append((r, w))
    for s, lst in by.items():
        sch = problem.school(s)
        for st in M.STAGES:
            for (r, _), q in zip(lst, M.apportion(sch.pupils(st), [w for _, w in lst])):
                added[(r, st)] = added.get((r, st), 0) + q
    return teacher_shortages(district, added, list(by))


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
            v = s.loc[k_from, col] if col in s.columns else float("nan")
            if v == v and s.loc[k_to, col] == s.loc[k_to, col]:
                s.loc[k_to, col] = round(float(s.loc[k_to, col]) + float(v) * a.pupils / total, 2)
    for (rid, st), q in moved.items():
        k = s.index[idx[rid]]
        s.loc[k, f"students_{st}"] = int(s.loc[k, f"students_{st}"]) + int(q)
        s.loc[k, f"classes_{st}"] = int(s.loc[k, f"classes_{st}"]) + int(result.new_classes.get((rid, st), 0))
        after = result.receivers.get(rid, {}).get("after", {})
        mc = after.get(13, {}).get("max_class", {}).get(st)
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


def engine_view(before: District, after: District, receivers: list[str], notes: list) -> dict | None:
    """Indicators 4, 5, 11, 12, 13 of the receivers by the indicator engine."""
    try:
        from planner.indicators.engine import check
        rb, ra = check(before), check(after)
    except Exception as e:  # the engine is optional here; our own checker still runs
        notes.append(f"indicator engine not used ({type(e).__name__}: {e}); own checker only")
        return None
    out = {}
    for rep, key in ((rb, "before"), (ra, "after")):
        for ind in (4, 5, 11, 12, 13):
            try:
                r = rep.indicator(ind)
            except KeyError:
                continue
            fails = [f for f in r.failing_schools if f.get("school_id") in receivers]
            out.setdefault(str(ind), {})[key] = {
                "passed_county": bool(r.passed), "no_data": bool(r.no_data),
                "failing_receivers": json.loads(json.dumps(fails, default=_json_default))}
    return out


# ------------------------------------------------------------------- outputs


def _csv_text(columns: list[str], rows: list[list]) -> str:
    df = safe_frame(pd.DataFrame(rows, columns=columns, dtype=object))
    return "\ufeff" + df.to_csv(index=False, lineterminator="\n")


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, (Path,)):
        return o.as_posix()
    if isinstance(o, (set, tuple)):
        return list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_out_dir(out: str | Path, district: District) -> Path:
    return _check_out_dir(out, district.path)


def summary_dict(o: ConsolidationOutcome, lang: str = "zh") -> dict:
    r = o.result
    names = o.district.school_names()
    s = o.settings
    recv = {}
    for rid in sorted(r.receivers):
        info = r.receivers[rid]
        recv[rid] = {"name": names.get(rid, rid), "added": info["added"],
                     "before": {str(k): v for k, v in info["before"].items()},
                     "after": {str(k): v for k, v in info["after"].items()}}
    c = s.costs
    return {
        "status": r.status,
        "objective": r.objective,
        "gap": r.gap,
        "solve_seconds": round(r.solve_seconds, 3),
        "solver": r.solver,
        "mode": r.mode,
        "closed": r.closed,
        "closed_names": [names.get(x, x) for x in r.closed],
        "buses": r.buses,
        "bus_km": round(r.bus_km, 3),
        "max_ride_min": round(r.max_ride_min, 2),
        "pupils_moved": int(sum(a.pupils for a in r.assignments)),
        "annual_cost": r.cost,
        "mip_objective": None if r.mip_objective is None else round(r.mip_objective, 2),
        "settings": {"max_ride_min": s.max_ride_min, "bus_capacity": s.bus_capacity,
                     "class_cap": dict(s.class_cap),
                     "costs": {"bus_yuan_per_year": c.bus_yuan_per_year,
                               "yuan_per_bus_km": c.yuan_per_bus_km,
                               "yuan_per_pupil_minute": c.yuan_per_pupil_minute,
                               "school_yuan_per_year": c.school_yuan_per_year,
                               "trips_per_day": c.trips_per_day, "directions": c.directions,
                               "school_days": c.school_days}},
        "plan": [{"school_id": a, "receiving_school_id": b, "share": w} for a, b, w in o.plan],
        "steps": [{"step": x["step"], "id": x["id"], "name": x[lang]} for x in M.STEPS],
        "steps_note": M.STEPS_NOTE[lang],
        "receivers": recv,
        "receivers_indicator_engine": o.indicators,
        "explanations": [e.text(lang) for e in r.explanations],
        "warnings": [e.text(lang) for e in r.warnings],
        "redeployed_teachers": len([x for x in r.redeployments if x.to_school_id]),
        "travel": o.travel_source,
        "snap_m": {k: round(v, 1) for k, v in sorted(o.snap_m.items())},
        "notes": o.notes,
    }


def write_outputs(o: ConsolidationOutcome, out_dir: str | Path, lang: str = "zh") -> list[Path]:
    out = check_out_dir(out_dir, o.district)
    files: dict[str, str] = {}
    t = tables(o, lang)
    files["assignments.csv"] = _csv_text(ASSIGNMENT_COLUMNS, t["assignments"].values.tolist())
    files["routes.csv"] = _csv_text(ROUTE_COLUMNS, t["routes"].values.tolist())
    files["redeployment.csv"] = _csv_text(REDEPLOY_COLUMNS, t["redeployment"].values.tolist())
    files["routes.geojson"] = json.dumps(_routes_geojson(o), ensure_ascii=False, indent=1) + "\n"
    files["summary.json"] = json.dumps(summary_dict(o, lang), ensure_ascii=False, indent=2,
                                       default=_json_default) + "\n"
    written = []
    for name in sorted(files):
        p = out / name
        write_text(files[name], p)
        written.append(p)
    written.append(write_xlsx(workbook_sheets(t, lang), out / "consolidation.xlsx"))
    return written


HEADERS_ZH = {
    "school_id": "学校代码", "school": "撤并学校", "receiving_school_id": "接收学校代码",
    "receiving_school": "接收学校", "stage": "学段", "pupils": "学生数", "ride_min": "最长车程（分钟）",
    "route_id": "线路", "bus": "车辆", "stop_order": "站序", "stop_id": "站点学校代码",
    "stop": "站点", "pupils_boarding": "上车人数", "arrive_min": "到站时间（分钟）",
    "km_from_start": "累计里程（km）", "teacher_id": "教师编号", "name": "姓名",
    "from_school_id": "原学校代码", "from_school": "原学校", "to_school_id": "安置学校代码",
    "to_school": "安置学校", "reason": "原因",
}
SHEETS_ZH = {"assignments": "撤并安排", "routes": "校车线路", "redeployment": "教师安置"}


def tables(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The plan's three tables with the data-spec column names (English)."""
    r = o.result
    names = o.district.school_names()
    assign = pd.DataFrame([[a.school_id, a.school, a.receiving_school_id, a.receiving_school,
                            a.stage, a.pupils, "" if a.ride_min is None else round(a.ride_min, 1)]
                           for a in r.assignments], columns=ASSIGNMENT_COLUMNS)
    rows = []
    for rt in r.routes:
        for k, (sid, q) in enumerate(rt.stops):
            rows.append([rt.route_id, rt.bus, k + 1, sid, names.get(sid, sid), q,
                         round(rt.arrive_min[k], 1), round(rt.km_from_start[k], 2)])
        rid = rt.receiving_school_id
        rows.append([rt.route_id, rt.bus, len(rt.stops) + 1, rid, names.get(rid, rid), 0,
                     round(rt.arrive_min[-1], 1), round(rt.km_from_start[-1], 2)])
    tnames = {}
    if o.district.teachers is not None:
        tnames = dict(zip(o.district.teachers["teacher_id"].astype(str),
                          o.district.teachers["name"].astype(str)))
    redeploy = pd.DataFrame([[x.teacher_id, tnames.get(x.teacher_id, ""), x.stage,
                              x.from_school_id, names.get(x.from_school_id, ""), x.to_school_id,
                              names.get(x.to_school_id, ""), reason_text(x.reason, lang)]
                             for x in r.redeployments], columns=REDEPLOY_COLUMNS)
    return {"assignments": assign, "routes": pd.DataFrame(rows, columns=ROUTE_COLUMNS),
            "redeployment": redeploy}


def workbook_sheets(t: dict[str, pd.DataFrame], lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The tables as workbook sheets: Chinese sheet names and headers by default."""
    if lang != "zh":
        return dict(t)
    stage_zh = {"primary": "小学", "junior": "初中"}
    out = {}
    for name, df in t.items():
        df = df.copy()
        if "stage" in df.columns:
            df["stage"] = df["stage"].map(stage_zh).fillna(df["stage"])
        out[SHEETS_ZH[name]] = df.rename(columns=HEADERS_ZH)
    return out


REASON_ZH = {"qualified": "补足高学历教师（指标1）", "backbone": "补足骨干教师（指标2）",
             "pe_art": "补足体育艺术教师（指标3）"}


def reason_text(reason: str, lang: str = "zh") -> str:
    """The model's reason code of a redeployment in the output language."""
    if lang != "zh":
        return reason
    if reason == "follows pupils":
        return "随学生到接收学校"
    if reason.startswith("no receiver"):
        return "无接收学校，由教育局安排"
    for flag, text in REASON_ZH.items():
        if reason.endswith(f"{flag} short"):
            return text
    return reason


def _routes_geojson(o: ConsolidationOutcome) -> dict:
    names = o.district.school_names()
    pts = o.district.schools.set_index("school_id")
    feats = []
    for rt in o.result.routes:
        seq = [sid for sid, _ in rt.stops] + [rt.receiving_school_id]
        coords = None
        if o.network is not None and all(x in o.snapped for x in seq):
            from geodata.roads import route_geometry
            try:
                line = route_geometry(o.network, [o.snapped[x] for x in seq])
                coords = [[round(x, 6), round(y, 6)] for x, y in line.coords]
            except ValueError:
                coords = None
        if coords is None:
            coords = [[round(float(pts.loc[x, "lon"]), 6), round(float(pts.loc[x, "lat"]), 6)]
                      for x in seq]
            if len(coords) == 1:
                coords.append(coords[0])
        feats.append({"type": "Feature",
                      "properties": {"route_id": rt.route_id, "bus": rt.bus,
                                     "receiving_school_id": rt.receiving_school_id,
                                     "receiving_school": names.get(rt.receiving_school_id, ""),
                                     "stops": [sid for sid, _ in rt.stops], "pupils": rt.pupils,
                                     "km": round(rt.km, 3), "minutes": round(rt.minutes, 2)},
                      "geometry": {"type": "LineString", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": feats}


# ------------------------------------------------------------------------ CLI


