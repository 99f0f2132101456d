"""The consolidation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

The library outcome (:class:`planner.plans.consolidation.ConsolidationOutcome`)
holds codes and numbers; the words come from the catalogue
(``planner/outputs/catalogue/consolidation.yaml``) in the reader's language:

- ``write_files`` writes ``assignments.csv``, ``routes.csv``, ``redeployment.csv``
  (column names of docs/data-format.md; stage codes; the redeployment reason in the language),
  ``routes.geojson``, ``summary.json`` (keys as in docs/data-format.md; texts in the
  language) and ``consolidation.xlsx`` (sheet names and headers in the language),
  each written atomically.
- ``console_lines``, ``workbook_sheets``, ``report_sections``, ``compare_figures``
  and ``map_layers`` as the contract says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from models.consolidation import Explanation
from planner.io.export import check_out_dir, safe_frame, write_text, write_xlsx
from planner.outputs.i18n import label, tr
from planner.outputs.report import display_table, summary_figures
from planner.outputs.sections import ReportSection, Table
from planner.plans.consolidation import ConsolidationOutcome, json_default

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "REDEPLOY_COLUMNS",
    "ROUTE_COLUMNS",
    "compare_figures",
    "console_lines",
    "explanation_text",
    "map_layers",
    "map_routes",
    "notes",
    "reason_text",
    "report_sections",
    "routes_geojson",
    "summary_dict",
    "tables",
    "workbook_sheets",
    "write_files",
]

ASSIGNMENT_COLUMNS = ["school_id", "school", "receiving_school_id", "receiving_school", "stage",
                      "pupils", "ride_min"]
ROUTE_COLUMNS = ["route_id", "bus", "stop_order", "stop_id", "stop", "pupils_boarding",
                 "arrive_min", "km_from_start"]
REDEPLOY_COLUMNS = ["teacher_id", "name", "stage", "from_school_id", "from_school", "to_school_id",
                    "to_school", "reason"]
#: decimals of the written figures
KM_DECIMALS = 3  # not-a-rule: rounding of bus-km in summary.json and routes.geojson
COORD_DECIMALS = 6
SECONDS_DECIMALS = 3  # not-a-rule: rounding of the solve time


# ------------------------------------------------------------------- words


def _fmt(x: float) -> str:
    """A whole number without decimals, else one decimal (areas, limits)."""
    return f"{x:.0f}" if abs(x - round(x)) < 1e-9 else f"{x:.1f}"


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
        else:
            fmt[k] = str(v)
    fmt["s"] = "s" if int(values.get("more", 0)) > 1 else ""
    return tr(f"consolidation.explain.{e.kind}", lang, **fmt)


def reason_text(reason: str, lang: str = "zh") -> str:
    """The model's reason code of a redeployment in words."""
    return tr(f"consolidation.reason.{reason}", lang)


def notes(o: ConsolidationOutcome, lang: str = "zh") -> list[str]:
    """How travel was measured, when it is not on roads."""
    if o.matrix.source == "roads":
        return []
    s = o.matrix.settings
    return [tr("consolidation.note.straight_line", lang, detour=f"{s.detour_factor:g}",
               speed=f"{s.fallback_speed_kmh:g}")]


# ------------------------------------------------------------------ tables


def tables(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The plan's three tables with the column names of docs/data-format.md (English); the
    redeployment reason in ``lang``."""
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
                          o.district.teachers["name"].astype(str), strict=True))
    redeploy = pd.DataFrame([[x.teacher_id, tnames.get(x.teacher_id, ""), x.stage,
                              x.from_school_id, names.get(x.from_school_id, ""), x.to_school_id,
                              names.get(x.to_school_id, ""), reason_text(x.reason, lang)]
                             for x in r.redeployments], columns=REDEPLOY_COLUMNS)
    return {"assignments": assign, "routes": pd.DataFrame(rows, columns=ROUTE_COLUMNS),
            "redeployment": redeploy}


def workbook_sheets(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The tables as workbook sheets: sheet names, headers and stages in ``lang``."""
    return _sheets(tables(o, lang), lang)


def _sheets(t: dict[str, pd.DataFrame], lang: str) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in t.items():
        df = df.copy()
        if "stage" in df.columns:
            df["stage"] = df["stage"].map(lambda v: label("stage", v, lang))
        df = df.rename(columns={c: tr(f"consolidation.column.{c}", lang) for c in df.columns})
        out[tr(f"consolidation.sheet.{name}", lang)] = df
    return out


# ------------------------------------------------------------------- files


def summary_dict(o: ConsolidationOutcome, lang: str = "zh") -> dict:
    """summary.json: figures, settings, the plan, the receivers before and after,
    the explanations in ``lang``, and how travel was measured."""
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
        "status": str(r.status),
        "objective": r.objective,
        "gap": r.gap,
        "solve_seconds": None,          # times: timings.json (same inputs, same bytes)
        "solver": r.solver,
        "mode": r.mode,
        "closed": r.closed,
        "closed_names": [names.get(x, x) for x in r.closed],
        "buses": r.buses,
        "bus_km": round(r.bus_km, KM_DECIMALS),
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
        "steps": [{"step": k, "id": x, "name": tr(f"consolidation.step.{x}", lang)}
                  for k, x in enumerate(r.steps, start=1)],
        "steps_note": tr("consolidation.steps_note", lang),
        "receivers": recv,
        "receivers_indicator_engine": o.indicators,
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
    files["redeployment.csv"] = _csv_text(REDEPLOY_COLUMNS, t["redeployment"].values.tolist())
    files["routes.geojson"] = json.dumps(routes_geojson(o), ensure_ascii=False, indent=1) + "\n"
    files["summary.json"] = json.dumps(summary_dict(o, lang), ensure_ascii=False, indent=2,
                                       default=json_default) + "\n"
    written = []
    for name in sorted(files):
        p = folder / name
        write_text(files[name], p)
        written.append(p)
    written.append(write_xlsx(_sheets(t, lang), folder / "consolidation.xlsx"))
    return written


def routes_geojson(o: ConsolidationOutcome) -> dict:
    """The bus routes as GeoJSON LineStrings (along the roads where there are roads)."""
    names = o.district.school_names()
    feats = []
    for rt, line in zip(o.result.routes, o.route_coords(), strict=True):
        coords = [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)] for x, y in line]
        feats.append({"type": "Feature",
                      "properties": {"route_id": rt.route_id, "bus": rt.bus,
                                     "receiving_school_id": rt.receiving_school_id,
                                     "receiving_school": names.get(rt.receiving_school_id, ""),
                                     "stops": [sid for sid, _ in rt.stops], "pupils": rt.pupils,
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
             tr("consolidation.console.buses", lang, buses=r.buses, km=f"{r.bus_km:.1f}",
                ride=f"{r.max_ride_min:.0f}"),
             tr("consolidation.console.cost", lang, cost=f"{r.cost['total_yuan']:,.0f}")]
    lines += [tr("consolidation.console.infeasible", lang, text=explanation_text(e, lang))
              for e in r.explanations]
    if r.closest:
        lines.append(tr("consolidation.console.closest", lang))
    lines += [tr("consolidation.console.note", lang, text=explanation_text(e, lang))
              for e in r.warnings]
    lines += [tr("consolidation.console.note", lang, text=n) for n in notes(o, lang)]
    return lines


def report_sections(o: ConsolidationOutcome, lang: str = "zh") -> list[ReportSection]:
    table = pd.DataFrame([vars(a) for a in o.result.assignments])
    return [ReportSection(key="consolidation", title=tr("consolidation.title", lang),
                          figures=summary_figures(summary_dict(o, lang), lang),
                          tables=(Table("", display_table(table, lang)),))]


def compare_figures(o: ConsolidationOutcome) -> dict:
    r = o.result
    return {"closed": len(r.closed), "buses": r.buses, "bus_km": round(r.bus_km, 2),
            "max_ride_min": round(r.max_ride_min, 1),
            "pupils_moved": int(sum(x.pupils for x in r.assignments))}


def map_layers(o: ConsolidationOutcome) -> dict:
    closures = [{"school_id": a.school_id, "receiving_school_id": a.receiving_school_id,
                 "pupils": a.pupils} for a in o.result.assignments]
    return {"closures": closures, "routes": map_routes(o)}


def closed_schools(o: ConsolidationOutcome) -> set[str]:
    return set(o.result.closed)


def map_routes(outcome: ConsolidationOutcome) -> list[dict]:
    names = outcome.district.school_names()
    pts = outcome.district.schools.set_index("school_id")
    gj = routes_geojson(outcome)
    out = []
    for feat, rt in zip(gj["features"], outcome.result.routes, strict=True):
        stops = []
        for k, (sid, q) in enumerate(rt.stops):
            stops.append({"order": k + 1, "stop_id": sid, "name": names.get(sid, sid),
                          "lon": float(pts.loc[sid, "lon"]), "lat": float(pts.loc[sid, "lat"]),
                          "arrive_min": round(rt.arrive_min[k], 1), "pupils": q})
        rid = rt.receiving_school_id
        stops.append({"order": len(rt.stops) + 1, "stop_id": rid, "name": names.get(rid, rid),
                      "lon": float(pts.loc[rid, "lon"]), "lat": float(pts.loc[rid, "lat"]),
                      "arrive_min": round(rt.arrive_min[-1], 1), "pupils": 0})
        out.append({"route_id": rt.route_id, "bus": rt.bus, "receiving_school_id": rid,
                    "coords": [tuple(c) for c in feat["geometry"]["coordinates"]],
                    "km": round(rt.km, 2), "minutes": round(rt.minutes, 1), "stops": stops})
    return out
