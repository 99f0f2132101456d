"""The consolidation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

The library outcome (:class:`planner.plans.consolidation.ConsolidationOutcome`)
holds codes and numbers; the words come from the catalogue
(``planner/outputs/catalogue/consolidation.yaml``) in the reader's language:

- ``write_files`` writes ``assignments.csv``, ``routes.csv`` (one row per stop, with
  its clock time), ``boarding.csv`` (who boards where: unit, school, walk),
  ``redeployment.csv`` (column names of docs/data-format.md; stage codes; the
  redeployment reason in the language), ``routes.geojson``, ``summary.json`` (keys
  as in docs/data-format.md; texts in the language) and ``consolidation.xlsx``
  (sheet names and headers in the language: the tables, the yearly cost, the bus
  licence table, the procedure checklist and the receivers' indicators), each
  written atomically.
- ``console_lines``, ``workbook_sheets``, ``report_sections``, ``compare_figures``
  and ``map_layers`` as the contract says. The report section lists every
  regression at a receiver in red (:attr:`ReportSection.warnings`), the receivers'
  problems from before the merge, the yearly cost and saving table with each unit
  cost and its source, the required steps per closed school as a checklist
  (先建后撤 where a receiver is short of room) and the bus licence table
  (校车安全管理条例 art. 14: route, stops in order with times, seats, pupils);
  solver details go to ``technical``.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pandas as pd

from models.consolidation import COST_SOURCES, Explanation
from models.timetable import clock
from planner.io.export import check_out_dir, safe_frame, write_text, write_xlsx
from planner.outputs.i18n import label, tr
from planner.outputs.report import display_table
from planner.outputs.sections import ReportSection, Table
from planner.plans.consolidation import ConsolidationOutcome, json_default

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "BOARDING_COLUMNS",
    "REDEPLOY_COLUMNS",
    "ROUTE_COLUMNS",
    "checklist",
    "compare_figures",
    "console_lines",
    "cost_table",
    "explanation_text",
    "licence_table",
    "map_layers",
    "map_routes",
    "notes",
    "reason_text",
    "regression_text",
    "report_sections",
    "routes_geojson",
    "summary_dict",
    "tables",
    "workbook_sheets",
    "write_files",
]

ASSIGNMENT_COLUMNS = ["school_id", "school", "receiving_school_id", "receiving_school", "stage",
                      "pupils", "ride_min"]
#: routes.csv: the columns of docs/data-format.md, then the timetable and the stop
ROUTE_COLUMNS = ["route_id", "bus", "stop_order", "stop_id", "stop", "pupils_boarding",
                 "arrive_min", "km_from_start", "trip", "clock", "stop_kind", "lon", "lat"]
BOARDING_COLUMNS = ["route_id", "bus", "stop_id", "stop", "clock", "unit_id", "unit",
                    "school_id", "school", "stage", "pupils", "walk_m"]
REDEPLOY_COLUMNS = ["teacher_id", "name", "stage", "from_school_id", "from_school", "to_school_id",
                    "to_school", "reason"]
#: decimals of the written figures
KM_DECIMALS = 3  # not-a-rule: rounding of bus-km in summary.json and routes.geojson
COORD_DECIMALS = 6
SECONDS_DECIMALS = 3  # not-a-rule: rounding of the solve time
#: indicators whose limit is an upper bound (school size, class size): the amount
#: missing is value - limit
UPPER_LIMITS = (12, 13)  # not-a-rule: indicator ids
#: indicators whose regression at a receiver means building before the closure
BUILD_INDICATORS = (4, 5, 11)  # not-a-rule: indicator ids


# ------------------------------------------------------------------- words


def _fmt(x: float) -> str:
    """A whole number without decimals, else one decimal (areas, limits)."""
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


def _num(x, nd: int = 2) -> str:
    """A value as the 督导室 reads it: enough decimals that it never rounds onto
    its threshold (two, or three when two would)."""
    if x is None:
        return "—"
    v = float(x)
    if abs(v - round(v)) < 1e-9:
        return f"{v:.0f}"
    return f"{v:.{nd}f}"


def explanation_text(e: Explanation, lang: str = "zh") -> str:
    """An explanation (a limit that binds, or a warning) in words."""
    values = e.args
    fmt: dict[str, str] = {}
    for k, v in values.items():
        if k == "stage":
            fmt[k] = label("stage", v, lang)
        elif k == "minutes":
            fmt[k] = f"{float(v):.0f}"
        elif k in ("limit", "area", "need", "short"):
            fmt[k] = _fmt(float(v))
        elif k == "clock":
            fmt[k] = clock(float(v))
        else:
            fmt[k] = str(v)
    fmt["s"] = "s" if int(values.get("more", 0)) > 1 else ""
    return tr(f"consolidation.explain.{e.kind}", lang, **fmt)


def reason_text(reason: str, lang: str = "zh") -> str:
    """The model's reason code of a redeployment in words."""
    return tr(f"consolidation.reason.{reason}", lang)


def indicator_words(o: ConsolidationOutcome, k: int, lang: str) -> str:
    """``7（每百名学生拥有网络多媒体教室数）``: the number and the standard's name."""
    d = o.rules.standard.indicator(int(k))
    return tr("consolidation.indicator", lang, id=k,
              name=d["name_zh"] if lang == "zh" else d["name_en"])


def _short(item: dict) -> float | None:
    """The amount missing (positive) of a failing part."""
    v, t = item.get("after", item.get("value")), item.get("threshold")
    if v is None or t is None:
        return None
    return float(v) - float(t) if int(item["indicator"]) in UPPER_LIMITS \
        else float(t) - float(v)


def regression_text(o: ConsolidationOutcome, g: dict, lang: str = "zh") -> str:
    """A regression at a receiver in words: school, stage, indicator, before, after,
    the threshold and the amount missing."""
    return tr("consolidation.regression", lang, school=g["name"],
              stage=label("stage", g["stage"], lang) if g["stage"] in ("primary", "junior")
              else "", indicator=indicator_words(o, g["indicator"], lang),
              before=_num(g.get("before")), after=_num(g.get("after")),
              threshold=_num(g.get("threshold")), short=_num(_short(g)))


def _preexisting_text(o: ConsolidationOutcome, g: dict, lang: str) -> str:
    after = (tr("consolidation.pre.fixed", lang) if g.get("after") is None
             else tr("consolidation.pre.still", lang, after=_num(g["after"])))
    return tr("consolidation.pre.line", lang, school=g["name"],
              stage=label("stage", g["stage"], lang) if g["stage"] in ("primary", "junior")
              else "", indicator=indicator_words(o, g["indicator"], lang),
              value=_num(g.get("value")), threshold=_num(g.get("threshold")),
              short=_num(_short({**g, "after": g.get("value")})), after_text=after)


def notes(o: ConsolidationOutcome, lang: str = "zh") -> list[str]:
    """How travel was measured, when it is not on roads."""
    if o.matrix.source == "roads":
        return []
    s = o.matrix.settings
    return [tr("consolidation.note.straight_line", lang, detour=f"{s.detour_factor:g}",
               speed=f"{s.fallback_speed_kmh:g}")]


# ------------------------------------------------------------------ tables


def _stop_rows(o: ConsolidationOutcome):
    """Per trip, per stop: (route, k, site, pupils, clock minute) and the school last."""
    for rt in o.result.routes:
        for k, v in enumerate(rt.nodes):
            yield rt, k, o.site(v), rt.stops[k][1], rt.depart + rt.arrive_min[k]
        rnode = o.problem.index[rt.receiving_school_id]
        yield rt, len(rt.nodes), o.site(rnode), 0, rt.arrive


def tables(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The plan's tables with the column names of docs/data-format.md (English); the
    redeployment reason in ``lang``."""
    r = o.result
    names = o.district.school_names()
    assign = pd.DataFrame([[a.school_id, a.school, a.receiving_school_id, a.receiving_school,
                            a.stage, a.pupils, "" if a.ride_min is None else round(a.ride_min, 1)]
                           for a in r.assignments], columns=ASSIGNMENT_COLUMNS)
    rows = []
    for rt, k, site, q, when in _stop_rows(o):
        rows.append([rt.route_id, rt.bus, k + 1, site.id, site.name, q,
                     round(rt.arrive_min[k], 1), round(rt.km_from_start[k], 2), rt.trip,
                     clock(when), site.kind, round(site.lon, COORD_DECIMALS),
                     round(site.lat, COORD_DECIMALS)])
    unit_names = {}
    if o.district.units is not None:
        unit_names = dict(zip(o.district.units["unit_id"].astype(str),
                              o.district.units["name"].astype(str), strict=True))
    stop_clock = {(rt.route_id, site.id): (rt.bus, site.name, clock(when))
                  for rt, _, site, _, when in _stop_rows(o)}
    board = []
    for b in r.boarding:
        bus, stop_name, when = stop_clock[(b.route_id, b.stop_id)]
        board.append([b.route_id, bus, b.stop_id, stop_name, when, b.unit_id,
                      unit_names.get(b.unit_id, names.get(b.unit_id, b.unit_id)), b.school_id,
                      names.get(b.school_id, b.school_id), b.stage, b.pupils, round(b.walk_m)])
    tnames = {}
    if o.district.teachers is not None:
        tnames = dict(zip(o.district.teachers["teacher_id"].astype(str),
                          o.district.teachers["name"].astype(str), strict=True))
    redeploy = pd.DataFrame([[x.teacher_id, tnames.get(x.teacher_id, ""), x.stage,
                              x.from_school_id, names.get(x.from_school_id, ""), x.to_school_id,
                              names.get(x.to_school_id, ""), reason_text(x.reason, lang)]
                             for x in r.redeployments], columns=REDEPLOY_COLUMNS)
    return {"assignments": assign, "routes": pd.DataFrame(rows, columns=ROUTE_COLUMNS),
            "boarding": pd.DataFrame(board, columns=BOARDING_COLUMNS),
            "redeployment": redeploy}


def cost_table(o: ConsolidationOutcome, lang: str = "zh") -> pd.DataFrame:
    """The yearly cost and saving: item, quantity, unit cost, yuan a year, source."""
    c = o.settings.costs
    k = o.result.cost
    r = o.result
    col = {x: tr(f"consolidation.cost.col.{x}", lang)
           for x in ("item", "quantity", "unit_cost", "yuan", "source")}

    def src(field: str) -> str:
        return tr(f"consolidation.cost_source.{COST_SOURCES[field]}", lang)

    def row(item, qty, unit, yuan, source):
        return {col["item"]: tr(f"consolidation.cost.item.{item}", lang), col["quantity"]: qty,
                col["unit_cost"]: unit, col["yuan"]: round(float(yuan)), col["source"]: source}

    buses = r.buses
    rows = [
        row("buses", tr("consolidation.cost.qty.buses", lang, n=buses),
            tr("consolidation.cost.unit.per_bus", lang, yuan=f"{c.bus_yuan_per_year:,.0f}"),
            k["buses_yuan"], src("bus_yuan_per_year")),
        row("drivers", tr("consolidation.cost.qty.people", lang, n=buses),
            tr("consolidation.cost.unit.per_person", lang, yuan=f"{c.driver_yuan_per_year:,.0f}"),
            k["drivers_yuan"], src("driver_yuan_per_year")),
        row("attendants", tr("consolidation.cost.qty.people", lang, n=buses),
            tr("consolidation.cost.unit.per_person", lang,
               yuan=f"{c.attendant_yuan_per_year:,.0f}"),
            k["attendants_yuan"], src("attendant_yuan_per_year")),
        row("bus_km", tr("consolidation.cost.qty.km", lang, km=f"{k['bus_km_per_year']:,.0f}"),
            tr("consolidation.cost.unit.per_km", lang, yuan=f"{c.yuan_per_bus_km:g}"),
            k["bus_km_yuan"], src("yuan_per_bus_km")),
        row("ride", tr("consolidation.cost.qty.minutes", lang,
                       minutes=f"{k['pupil_ride_minutes'] * c.trips_per_day * c.school_days:,.0f}"),
            tr("consolidation.cost.unit.per_minute", lang, yuan=f"{c.yuan_per_pupil_minute:g}"),
            k["ride_yuan"], src("yuan_per_pupil_minute")),
        row("saving", tr("consolidation.cost.qty.schools", lang, n=len(r.closed)),
            tr("consolidation.cost.unit.per_school", lang,
               yuan=f"{c.school_yuan_per_year:,.0f}"),
            -k["saving_yuan"], src("school_yuan_per_year")),
        row("total", "", "", k["total_yuan"], tr("consolidation.cost_source.total", lang)),
    ]
    return pd.DataFrame(rows)


def licence_table(o: ConsolidationOutcome, lang: str = "zh") -> pd.DataFrame:
    """One row per trip, as the licence (校车安全管理条例 art. 14) needs it: route,
    bus, seats, pupils, departure, arrival, the stops in order with their times, km,
    longest ride."""
    col = {x: tr(f"consolidation.licence.{x}", lang)
           for x in ("route", "bus", "seats", "pupils", "depart", "arrive", "stops", "km",
                     "ride")}
    seq: dict[str, list[str]] = {}
    for rt, _, site, _, when in _stop_rows(o):
        seq.setdefault(rt.route_id, []).append(f"{site.name} {clock(when)}")
    rows = []
    for rt in o.result.routes:
        rows.append({col["route"]: rt.route_id,
                     col["bus"]: tr("consolidation.licence.bus_trip", lang, bus=rt.bus,
                                    trip=rt.trip),
                     col["seats"]: o.settings.bus_capacity, col["pupils"]: rt.pupils,
                     col["depart"]: clock(rt.depart), col["arrive"]: clock(rt.arrive),
                     col["stops"]: " → ".join(seq[rt.route_id]),
                     col["km"]: round(rt.km, 1), col["ride"]: round(rt.minutes, 1)})
    return pd.DataFrame(rows)


def short_of_room(o: ConsolidationOutcome) -> set[str]:
    """Receivers that must build before the closure (先建后撤): a limit of rooms,
    area or size binds there (the model's explanations), or the engine finds a
    regression of floor area, sports area or music and art rooms
    (:data:`BUILD_INDICATORS`)."""
    room = {"classrooms", "size", "floor", "sports", "rooms11"}
    out = {e.school_id for e in o.result.explanations if e.kind in room}
    out |= {g["school_id"] for g in o.regressions if int(g["indicator"]) in BUILD_INDICATORS}
    return out


def checklist(o: ConsolidationOutcome, lang: str = "zh") -> pd.DataFrame:
    """The required steps per closed school (assessment, public notice, hearing,
    approval) as boxes to tick, and 先建后撤 where a receiver is short of room."""
    names = o.district.school_names()
    short = short_of_room(o)
    box = tr("consolidation.check.box", lang)
    recv: dict[str, list[str]] = {}
    for a in o.result.assignments:
        if a.receiving_school not in recv.setdefault(a.school_id, []):
            recv[a.school_id].append(a.receiving_school)
    rows = []
    for sid in o.result.closed:
        rids = sorted({a.receiving_school_id for a in o.result.assignments if a.school_id == sid})
        row = {tr("consolidation.check.school", lang): names.get(sid, sid),
               tr("consolidation.check.receivers", lang): "、".join(recv.get(sid, []))}
        for step in o.result.steps:
            row[tr(f"consolidation.step.{step}", lang)] = box
        need = [names.get(r, r) for r in rids if r in short]
        row[tr("consolidation.check.build_first", lang)] = (
            tr("consolidation.check.build_first_yes", lang, schools="、".join(need)) if need
            else tr("consolidation.check.build_first_no", lang))
        rows.append(row)
    return pd.DataFrame(rows)


def indicator_table(o: ConsolidationOutcome, lang: str = "zh") -> pd.DataFrame:
    """Every regression and pre-existing problem at the plan's schools, one row each."""
    col = {x: tr(f"consolidation.ind.col.{x}", lang)
           for x in ("school", "stage", "indicator", "before", "after", "threshold", "short",
                     "kind")}
    rows = []
    for kind, items in (("regression", o.regressions), ("preexisting", o.preexisting)):
        for g in items:
            after = g.get("after")
            before = g.get("before") if kind == "regression" else g.get("value")
            rows.append({col["school"]: g["name"],
                         col["stage"]: label("stage", g["stage"], lang),
                         col["indicator"]: indicator_words(o, g["indicator"], lang),
                         col["before"]: _num(before), col["after"]: _num(after),
                         col["threshold"]: _num(g.get("threshold")),
                         col["short"]: _num(_short({**g, "after": after if after is not None
                                                    else before})),
                         col["kind"]: tr(f"consolidation.ind.kind.{kind}", lang)})
    return pd.DataFrame(rows)


def workbook_sheets(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The tables as workbook sheets (names, headers and stages in ``lang``), the
    yearly cost, the bus licence table, the checklist and the receivers' indicators."""
    out = _sheets(tables(o, lang), lang)
    out[tr("consolidation.sheet.costs", lang)] = cost_table(o, lang)
    out[tr("consolidation.sheet.licence", lang)] = licence_table(o, lang)
    out[tr("consolidation.sheet.checklist", lang)] = checklist(o, lang)
    out[tr("consolidation.sheet.indicators", lang)] = indicator_table(o, lang)
    return out


def _sheets(t: dict[str, pd.DataFrame], lang: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in t.items():
        df = df.copy()
        if "stage" in df.columns:
            df["stage"] = df["stage"].map(lambda v: label("stage", v, lang))
        if "stop_kind" in df.columns:
            df["stop_kind"] = df["stop_kind"].map(
                lambda v: tr(f"consolidation.stop_kind.{v}", lang))
        df = df.rename(columns={c: tr(f"consolidation.column.{c}", lang) for c in df.columns})
        out[tr(f"consolidation.sheet.{name}", lang)] = df
    return out


# ------------------------------------------------------------------- files


def summary_dict(o: ConsolidationOutcome, lang: str = "zh") -> dict:
    """summary.json: figures, settings, the plan, the timetable, the receivers before
    and after, the regressions, the cost table, the explanations in ``lang``, and how
    travel was measured and the routing stopped."""
    r = o.result
    names = o.district.school_names()
    s = o.settings
    p = o.params
    recv = {}
    for rid in sorted(r.receivers):
        info = r.receivers[rid]
        recv[rid] = {"name": names.get(rid, rid), "added": info["added"],
                     "before": {str(k): v for k, v in info["before"].items()},
                     "after": {str(k): v for k, v in info["after"].items()}}
    c = s.costs
    stops = sorted({(b.stop_id) for b in r.boarding})
    return {
        "status": str(r.status),
        "objective": r.objective,
        "objective_is": "total_yuan",
        "gap": r.gap,
        "solve_seconds": None,          # times: timings.json (same inputs, same bytes)
        "solver": r.solver,
        "mode": r.mode,
        "closed": r.closed,
        "closed_names": [names.get(x, x) for x in r.closed],
        "buses": r.buses,
        "trips": r.trips,
        "bus_km": round(r.bus_km, KM_DECIMALS),
        "loaded_km": round(r.loaded_km, KM_DECIMALS),
        "empty_km": round(r.empty_km, KM_DECIMALS),
        "max_ride_min": round(r.max_ride_min, 2),
        "stops": len(stops),
        "pupils_moved": int(sum(a.pupils for a in r.assignments)),
        "annual_cost": r.cost,
        "cost_table": json.loads(cost_table(o, lang).to_json(orient="records", force_ascii=False)),
        "mip_objective": None if r.mip_objective is None else round(r.mip_objective, 2),
        "settings": {"max_ride_min": s.max_ride_min, "bus_capacity": s.bus_capacity,
                     "class_cap": dict(s.class_cap), "walk_limit_m": s.walk_limit_m,
                     "young_share": p.young_share, "bell_time": p.bell_time,
                     "bell_times": p.bell_times or {},
                     "arrival_margin_min": p.arrival_margin_min,
                     "earliest_arrival_min": p.earliest_arrival_min,
                     "stop_dwell_min": p.stop_dwell_min, "max_trips": p.max_trips,
                     "route_seconds": p.route_seconds,
                     "catchment_units": None if p.catchment_units is None
                     else Path(str(p.catchment_units)).name,
                     "costs": {"bus_yuan_per_year": c.bus_yuan_per_year,
                               "driver_yuan_per_year": c.driver_yuan_per_year,
                               "attendant_yuan_per_year": c.attendant_yuan_per_year,
                               "yuan_per_bus_km": c.yuan_per_bus_km,
                               "yuan_per_pupil_minute": c.yuan_per_pupil_minute,
                               "school_yuan_per_year": c.school_yuan_per_year,
                               "trips_per_day": c.trips_per_day, "directions": c.directions,
                               "school_days": c.school_days}},
        "plan": [{"school_id": a, "receiving_school_id": b, "share": w} for a, b, w in o.plan],
        "timetable": [{"route_id": rt.route_id, "bus": rt.bus, "trip": rt.trip,
                       "receiving_school_id": rt.receiving_school_id,
                       "depart_clock": clock(rt.depart), "arrive_clock": clock(rt.arrive),
                       "bell": clock(s.bell(rt.receiving_school_id)), "pupils": rt.pupils,
                       "km": round(rt.km, KM_DECIMALS), "minutes": round(rt.minutes, 2)}
                      for rt in r.routes],
        "routing": {"stopping_rule": tr("consolidation.routing_rule", lang,
                                        seconds=f"{p.route_seconds:g}"),
                    "receivers": r.routing, "chaining": r.chaining},
        "steps": [{"step": k, "id": x, "name": tr(f"consolidation.step.{x}", lang)}
                  for k, x in enumerate(r.steps, start=1)],
        "steps_note": tr("consolidation.steps_note", lang),
        "build_first": sorted(short_of_room(o)),
        "receivers": recv,
        "receivers_indicator_engine": o.indicators,
        "regressions": o.regressions,
        "regressions_text": [regression_text(o, g, lang) for g in o.regressions],
        "preexisting": o.preexisting,
        "preexisting_text": [_preexisting_text(o, g, lang) for g in o.preexisting],
        "explanations": [explanation_text(e, lang) for e in r.explanations],
        "warnings": [explanation_text(e, lang) for e in r.warnings],
        "redeployed_teachers": len([x for x in r.redeployments if x.to_school_id]),
        "travel": o.matrix.source,
        "travel_matrix": o.matrix.describe(),
        "snap_m": {k: round(v, 1) for k, v in sorted(o.snap_m.items())},
        "notes": notes(o, lang),
    }


def _csv_text(columns: list[str], rows: list[list]) -> str:
    df = safe_frame(pd.DataFrame(rows, columns=columns, dtype=object))
    return "\ufeff" + df.to_csv(index=False, lineterminator="\n")


def write_files(o: ConsolidationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    """The plan's files in ``out`` (see the module docstring); their paths."""
    folder = check_out_dir(out, o.district.path)
    files: dict[str, str] = {}
    t = tables(o, lang)
    files["assignments.csv"] = _csv_text(ASSIGNMENT_COLUMNS, t["assignments"].values.tolist())
    files["routes.csv"] = _csv_text(ROUTE_COLUMNS, t["routes"].values.tolist())
    files["boarding.csv"] = _csv_text(BOARDING_COLUMNS, t["boarding"].values.tolist())
    files["redeployment.csv"] = _csv_text(REDEPLOY_COLUMNS, t["redeployment"].values.tolist())
    files["routes.geojson"] = json.dumps(routes_geojson(o), ensure_ascii=False, indent=1) + "\n"
    files["summary.json"] = json.dumps(summary_dict(o, lang), ensure_ascii=False, indent=2,
                                       default=json_default) + "\n"
    written = []
    for name in sorted(files):
        p = folder / name
        write_text(files[name], p)
        written.append(p)
    written.append(write_xlsx(workbook_sheets(o, lang), folder / "consolidation.xlsx"))
    return written


def routes_geojson(o: ConsolidationOutcome) -> dict:
    """The bus trips as GeoJSON LineStrings (along the roads where there are roads)."""
    names = o.district.school_names()
    feats = []
    for rt, line in zip(o.result.routes, o.route_coords(), strict=True):
        coords = [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)] for x, y in line]
        feats.append({"type": "Feature",
                      "properties": {"route_id": rt.route_id, "bus": rt.bus, "trip": rt.trip,
                                     "receiving_school_id": rt.receiving_school_id,
                                     "receiving_school": names.get(rt.receiving_school_id, ""),
                                     "stops": [sid for sid, _ in rt.stops],
                                     "stop_names": [o.site(v).name for v in rt.nodes],
                                     "pupils": rt.pupils,
                                     "depart_clock": clock(rt.depart),
                                     "arrive_clock": clock(rt.arrive),
                                     "km": round(rt.km, KM_DECIMALS),
                                     "minutes": round(rt.minutes, 2)},
                      "geometry": {"type": "LineString", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": feats}


# ------------------------------------------------------- console and report


def console_lines(o: ConsolidationOutcome, lang: str = "zh") -> list[str]:
    """What ``planner consolidate`` (and the run) prints about the plan."""
    r = o.result
    names = o.district.school_names()
    lines = [tr("consolidation.console.status", lang, status=label("status", r.status, lang)),
             tr("consolidation.console.closed", lang,
                names=", ".join(names[x] for x in r.closed) or "-"),
             tr("consolidation.console.buses", lang, buses=r.buses, trips=r.trips,
                km=f"{r.bus_km:.1f}", ride=f"{r.max_ride_min:.0f}"),
             tr("consolidation.console.cost", lang, cost=f"{r.cost['total_yuan']:,.0f}")]
    lines += [tr("consolidation.console.infeasible", lang, text=explanation_text(e, lang))
              for e in r.explanations]
    if r.closest:
        lines.append(tr("consolidation.console.closest", lang))
    lines += [tr("consolidation.console.regression", lang, text=regression_text(o, g, lang))
              for g in o.regressions]
    lines += [tr("consolidation.console.note", lang, text=explanation_text(e, lang))
              for e in r.warnings]
    lines += [tr("consolidation.console.note", lang, text=n) for n in notes(o, lang)]
    return lines


def _figures(o: ConsolidationOutcome, lang: str) -> tuple[tuple[str, str], ...]:
    r = o.result
    f = o.result.cost
    stops = len({b.stop_id for b in r.boarding})

    def fig(key: str, value: str) -> tuple[str, str]:
        return tr(f"consolidation.figure.{key}", lang), value

    return (
        fig("mode", tr(f"consolidation.mode.{r.mode}", lang)),
        fig("closed", str(len(r.closed))),
        fig("pupils_moved", str(sum(a.pupils for a in r.assignments))),
        fig("stops", str(stops)),
        fig("buses", tr("consolidation.figure.buses_value", lang, buses=r.buses, trips=r.trips)),
        fig("bus_km", tr("consolidation.figure.bus_km_value", lang, km=f"{r.bus_km:.1f}",
                         empty=f"{r.empty_km:.1f}")),
        fig("max_ride_min", f"{r.max_ride_min:.1f}"),
        fig("bell", tr("consolidation.figure.bell_value", lang, bell=o.params.bell_time,
                       latest=clock(o.settings.bell_min - o.settings.latest_before_min),
                       earliest=clock(o.settings.bell_min - o.settings.earliest_before_min))),
        fig("net_cost", f"{f['total_yuan']:,.0f}"),
        fig("regressions", str(len(o.regressions))),
        fig("redeployed_teachers", str(len([x for x in r.redeployments if x.to_school_id]))),
    )


def _technical(o: ConsolidationOutcome, lang: str) -> tuple[tuple[str, str], ...]:
    r = o.result
    gap = "—" if r.gap is None else f"{100 * float(r.gap):.2f} %"
    its = "；".join(tr("consolidation.tech.routing_one", lang, school=o.site(
        o.problem.index[x["receiver"]]).name, iterations=x["iterations"],
        budget=x["max_iterations"], stopped=tr(f"consolidation.stopped.{x['stopped_by']}", lang))
        if x["stopped_by"] != "exact" else
        tr("consolidation.tech.routing_exact", lang, school=o.site(
            o.problem.index[x["receiver"]]).name)
        for x in r.routing) or "—"
    return (
        (tr("consolidation.tech.status", lang), label("status", r.status, lang)),
        (tr("consolidation.tech.solver", lang), r.solver),
        (tr("consolidation.tech.gap", lang), gap),
        (tr("consolidation.tech.objective", lang),
         tr("consolidation.tech.objective_value", lang, yuan=f"{r.cost['total_yuan']:,.0f}")),
        (tr("consolidation.tech.routing_rule", lang),
         tr("consolidation.routing_rule", lang, seconds=f"{o.params.route_seconds:g}")),
        (tr("consolidation.tech.routing", lang), its),
        (tr("consolidation.tech.chaining", lang),
         label("status", r.chaining.get("status", "optimal"), lang)),
        (tr("consolidation.tech.travel", lang), tr(f"consolidation.travel.{o.matrix.source}",
                                                   lang)),
    )


def report_sections(o: ConsolidationOutcome, lang: str = "zh") -> list[ReportSection]:
    """The plan's section: figures, regressions in red, the tables (assignments, cost,
    receivers' indicators, checklist, licence), notes; solver details as technical."""
    r = o.result
    assign = pd.DataFrame([{**vars(a), "stage": label("stage", a.stage, lang)}
                           for a in r.assignments])
    warnings = [regression_text(o, g, lang) for g in o.regressions]
    warnings += [explanation_text(e, lang) for e in r.explanations]
    if r.closest:
        warnings.append(tr("consolidation.console.closest", lang))
    tabs = [Table(tr("consolidation.table.assignments", lang), display_table(assign, lang)),
            Table(tr("consolidation.table.costs", lang), cost_table(o, lang),
                  tr("consolidation.table.costs_note", lang))]
    if o.regressions or o.preexisting:
        tabs.append(Table(tr("consolidation.table.indicators", lang), indicator_table(o, lang)))
    tabs += [Table(tr("consolidation.table.checklist", lang), checklist(o, lang),
                   tr("consolidation.steps_note", lang)),
             Table(tr("consolidation.table.licence", lang), licence_table(o, lang),
                   tr("consolidation.table.licence_note", lang,
                      seats=o.settings.bus_capacity))]
    notes_ = [tr("consolidation.note.stops", lang, walk=f"{o.params.walk_limit_m:,.0f}")]
    notes_ += [_preexisting_text(o, g, lang) for g in o.preexisting]
    notes_ += [explanation_text(e, lang) for e in r.warnings
               if e.kind != "class_size"]
    notes_ += notes(o, lang)
    return [ReportSection(key="consolidation", title=tr("consolidation.title", lang),
                          figures=_figures(o, lang), tables=tuple(tabs), notes=tuple(notes_),
                          warnings=tuple(warnings), technical=_technical(o, lang))]


def compare_figures(o: ConsolidationOutcome) -> dict:
    r = o.result
    return {"closed": len(r.closed), "buses": r.buses, "bus_km": round(r.bus_km, 2),
            "max_ride_min": round(r.max_ride_min, 1),
            "pupils_moved": int(sum(x.pupils for x in r.assignments)),
            "regressions": len(o.regressions)}


def regressions_by_school(o: ConsolidationOutcome) -> dict[str, list[dict]]:
    """``{school_id: [{indicator, stage, before, after, threshold}]}``: the map's
    ``regressions`` layer entry per school."""
    out: dict[str, list[dict]] = {}
    for g in o.regressions:
        out.setdefault(g["school_id"], []).append(
            {"indicator": g["indicator"], "stage": g["stage"], "before": g.get("before"),
             "after": g.get("after"), "threshold": g.get("threshold")})
    return out


def map_layers(o: ConsolidationOutcome) -> dict:
    """``closures`` and ``routes`` for the map, and ``regressions`` (per school) when
    the map draws them."""
    closures = [{"school_id": a.school_id, "receiving_school_id": a.receiving_school_id,
                 "pupils": a.pupils} for a in o.result.assignments]
    out = {"closures": closures, "routes": map_routes(o)}
    from planner.outputs.maps import build_map
    if "regressions" in inspect.signature(build_map).parameters:
        out["regressions"] = regressions_by_school(o)
    return out


def closed_schools(o: ConsolidationOutcome) -> set[str]:
    return set(o.result.closed)


def map_routes(outcome: ConsolidationOutcome) -> list[dict]:
    """The trips for the map: the keys the map reads (route_id, bus, receiving_school_id,
    coords, km, minutes, stops[order, stop_id, name, lon, lat, arrive_min, pupils]),
    each stop's ``clock`` (HH:MM) and each trip's ``depart_clock``, ``arrive_clock``
    and ``trip``."""
    gj = routes_geojson(outcome)
    stops_of: dict[str, list[dict]] = {}
    for rt, k, site, q, when in _stop_rows(outcome):
        stops_of.setdefault(rt.route_id, []).append(
            {"order": k + 1, "stop_id": site.id, "name": site.name, "lon": site.lon,
             "lat": site.lat, "arrive_min": round(rt.arrive_min[k], 1), "pupils": q,
             "clock": clock(when)})
    out = []
    for feat, rt in zip(gj["features"], outcome.result.routes, strict=True):
        out.append({"route_id": rt.route_id, "bus": rt.bus, "trip": rt.trip,
                    "receiving_school_id": rt.receiving_school_id,
                    "coords": [tuple(c) for c in feat["geometry"]["coordinates"]],
                    "km": round(rt.km, 2), "minutes": round(rt.minutes, 1),
                    "depart_clock": clock(rt.depart), "arrive_clock": clock(rt.arrive),
                    "stops": stops_of[rt.route_id]})
    return out
