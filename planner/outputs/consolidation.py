"""The consolidation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planner.outputs.report import display_table, summary_figures
from planner.outputs.sections import ReportSection, Table
from planner.plans.consolidation import (ConsolidationOutcome, _routes_geojson, summary_dict,
                                         tables, write_outputs)
from planner.plans.consolidation import workbook_sheets as _sheets


def write_files(o: ConsolidationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    return write_outputs(o, out, lang)


def console_lines(o: ConsolidationOutcome, lang: str = "zh") -> list[str]:
    r = o.result
    zh = lang == "zh"
    names = o.district.school_names()
    lines = [("状态" if zh else "status") + f": {r.status}",
             ("撤并" if zh else "closed") + f": {', '.join(names[x] for x in r.closed) or '-'}",
             ("校车" if zh else "buses") + f": {r.buses}, {r.bus_km:.1f} km, "
             + ("最长车程" if zh else "longest ride") + f" {r.max_ride_min:.0f} min",
             ("年度净成本" if zh else "net annual cost") + f": {r.cost['total_yuan']:,.0f} yuan"]
    lines += [("不可行: " if zh else "infeasible: ") + e.text(lang) for e in r.explanations]
    lines += [("提示: " if zh else "note: ") + e.text(lang) for e in r.warnings]
    return lines


def workbook_sheets(o: ConsolidationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    return _sheets(tables(o, lang), lang)


def report_sections(o: ConsolidationOutcome, lang: str = "zh") -> list[ReportSection]:
    table = pd.DataFrame([vars(a) for a in o.result.assignments])
    return [ReportSection(key="consolidation",
                          title="撤并与校车" if lang == "zh" else "Consolidation and school buses",
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
    gj = _routes_geojson(outcome)
    out = []
    for feat, rt in zip(gj["features"], outcome.result.routes):
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
