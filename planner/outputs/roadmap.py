"""The multi-year roadmap as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

Files (docs/data-format.md):

- ``roadmap.csv``: ``school_year, kind, school_id, school, action, quantity, cost_yuan``
  then ``stage, indicator``; ``kind`` is ``closure`` (``action`` ``close``: quantity the
  pupils the school would have had; ``postpone``: a closure that waits a year),
  ``rotation`` (``action`` ``rotate``: quantity the teachers moving, one row a year) or
  ``remediation`` (``action`` a remediation action code). Within a year the receivers'
  actions come before the closure they serve (先建后撤), then the rotation, then the
  other actions;
- ``roadmap_rotation.csv``: every year's rotation list (``rotation.csv``'s columns) with
  ``school_year`` first;
- ``roadmap_open.csv``: ``school_year, indicator, cost_yuan`` — the A indicators still
  failing at the end of each year and what the actions not bought would cost (empty:
  no remediation action closes it);
- ``roadmap_zoning.csv`` (with ``catchments:``): ``school_year, school_id, school,
  without_zoning, with_zoning, limit`` — the pupils of each school the zoning is for
  (over its size limit without the zones in some year) projected without and with them;
- ``roadmap_summary.json``: :attr:`RoadmapOutcome.summary`;
- ``roadmap.xlsx``: the timeline and one sheet per school year;
- ``<year>/rotation.csv``: each year's rotation list as the rotation verifier reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from planner.io.export import write_csv, write_json, write_xlsx
from planner.outputs import projection as pro_out
from planner.outputs import rotation as rot_out
from planner.outputs import values as V
from planner.outputs.checkfiles import indicator_name
from planner.outputs.i18n import tr, yes_no
from planner.outputs.sections import ReportSection, Table
from planner.plans.roadmap import RoadmapOutcome, YearPlan

__all__ = ["COLUMNS", "compare_figures", "console_lines", "map_layers", "open_table",
           "report_sections", "roadmap_table", "rotation_lists", "timeline",
           "workbook_sheets", "write_files"]

#: the indicator a year's rotation serves (交流轮岗比例)
ROTATION_INDICATOR = 19  # not-a-rule: an indicator id

COLUMNS = ["school_year", "kind", "school_id", "school", "action", "quantity", "cost_yuan",
           "stage", "indicator"]


def _num(x: float) -> Any:
    x = float(x)
    return int(x) if x.is_integer() else round(x, 2)


def _year_rows(o: RoadmapOutcome, y: YearPlan) -> list[dict]:
    names = o.district.school_names()
    first = {r for s in y.closed for st in o.closures if st.school_id == s
             for r, _ in st.receivers}
    rows: list[dict] = []

    def action(r) -> dict:
        return {"school_year": y.school_year, "kind": "remediation", "school_id": r.school_id,
                "school": names.get(r.school_id, r.school_id), "action": r.action,
                "quantity": _num(r.quantity), "cost_yuan": round(float(r.cost_yuan), 2),
                "stage": r.stage, "indicator": int(r.indicator)}

    rows += [action(r) for r in y.chosen if r.school_id in first]
    for s in y.closed:
        rows.append({"school_year": y.school_year, "kind": "closure", "school_id": s,
                     "school": names.get(s, s), "action": "close",
                     "quantity": int(o.closed_pupils.get(s, 0)), "cost_yuan": 0.0,
                     "stage": "", "indicator": ""})
    for s in y.postponed:
        rows.append({"school_year": y.school_year, "kind": "closure", "school_id": s,
                     "school": names.get(s, s), "action": "postpone", "quantity": 0,
                     "cost_yuan": 0.0, "stage": "", "indicator": ""})
    if y.rotation is not None:
        n = len(y.rotation.result.moves) if y.rotation.status.has_plan else 0
        rows.append({"school_year": y.school_year, "kind": "rotation", "school_id": "",
                     "school": "", "action": "rotate", "quantity": n, "cost_yuan": 0.0,
                     "stage": "", "indicator": ROTATION_INDICATOR})
    rows += [action(r) for r in y.chosen if r.school_id not in first]
    return rows


def roadmap_table(o: RoadmapOutcome) -> pd.DataFrame:
    rows = [r for y in o.years for r in _year_rows(o, y)]
    return pd.DataFrame(rows, columns=COLUMNS)


def rotation_lists(o: RoadmapOutcome, lang: str = "zh") -> pd.DataFrame:
    frames = []
    for y in o.years:
        if y.rotation is None or not y.rotation.status.has_plan:
            continue
        t = rot_out.rotation_table(y.rotation, lang)
        t.insert(0, "school_year", y.school_year)
        frames.append(t)
    if not frames:
        return pd.DataFrame(columns=["school_year", *rot_out.COLUMNS])
    return pd.concat(frames, ignore_index=True)


def open_table(o: RoadmapOutcome) -> pd.DataFrame:
    rows = [{"school_year": y.school_year, "indicator": k,
             "cost_yuan": "" if v is None else v}
            for y in o.years for k, v in sorted(y.open_cost.items())]
    return pd.DataFrame(rows, columns=["school_year", "indicator", "cost_yuan"])


ZONING_COLUMNS = ["school_year", "school_id", "school", "without_zoning", "with_zoning",
                  "limit"]


def zoning_table(o: RoadmapOutcome) -> pd.DataFrame:
    """``roadmap_zoning.csv``: :attr:`RoadmapOutcome.zoned_schools` with the names."""
    names = o.district.school_names()
    return pd.DataFrame([{"school_year": z.school_year, "school_id": z.school_id,
                          "school": names.get(z.school_id, z.school_id),
                          "without_zoning": z.without_zoning, "with_zoning": z.with_zoning,
                          "limit": z.limit} for z in o.zoned_schools], columns=ZONING_COLUMNS)


def _zoning_view(o: RoadmapOutcome, lang: str) -> pd.DataFrame:
    t = zoning_table(o)
    return pd.DataFrame({
        tr("roadmap.col.school_year", lang): [tr("roadmap.school_year", lang, year=y)
                                              for y in t["school_year"]],
        tr("roadmap.col.school", lang): list(t["school"]),
        tr("roadmap.col.without_zoning", lang): [V.num(v, 0) for v in t["without_zoning"]],
        tr("roadmap.col.with_zoning", lang): [V.num(v, 0) for v in t["with_zoning"]],
        tr("roadmap.col.size_limit", lang): [V.num(v, 0) for v in t["limit"]],
        tr("roadmap.col.within_limit", lang): [yes_no(bool(w <= m), lang)
                                               for w, m in zip(t["with_zoning"], t["limit"])]})


def _zoning_text(o: RoadmapOutcome, lang: str) -> str:
    if o.zoning is None:
        return tr("roadmap.zoning.none", lang)
    stages = V.listing([V.stage_word(st, lang) for st in o.zoning.stages], lang)
    return tr("roadmap.zoning.from", lang, year=o.zoning_year, stages=stages)


def write_files(o: RoadmapOutcome, out: Path, lang: str = "zh") -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = [write_csv(roadmap_table(o), out / "roadmap.csv"),
             write_csv(rotation_lists(o, lang), out / "roadmap_rotation.csv"),
             write_csv(open_table(o), out / "roadmap_open.csv"),
             write_json(o.summary, out / "roadmap_summary.json"),
             write_xlsx(workbook_sheets(o, lang), out / "roadmap.xlsx")]
    if o.catchments:
        files.append(write_csv(zoning_table(o), out / "roadmap_zoning.csv"))
    for y in o.years:
        if y.rotation is not None:
            (out / str(y.school_year)).mkdir(exist_ok=True)
            files.append(write_csv(rot_out.rotation_table(y.rotation, lang),
                                   out / str(y.school_year) / "rotation.csv"))
    return files


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

def _yuan_l(x: Any, lang: str) -> str:
    return "—" if x is None or x == "" else tr("roadmap.yuan", lang, value=V.num(float(x), 0))


def _ind(k: int, lang: str, report: Any = None) -> str:
    """指标4（生均教学用房）: the short name of 1-7, else the standard's name."""
    full = None
    if report is not None:
        try:
            full = indicator_name(report.indicator(int(k)), lang)
        except (KeyError, ValueError, StopIteration):
            full = None
    return tr("roadmap.indicator", lang, id=k, name=V.short_name(int(k), lang, full))


def _action_word(kind: str, action: str, lang: str) -> str:
    if kind == "remediation":
        return tr(f"remediation.action.{action}", lang)
    return tr(f"roadmap.action.{action}", lang)


def _open_text(y: YearPlan, lang: str) -> str:
    if not y.open_cost:
        return tr("roadmap.none_open", lang)
    parts = []
    for k, v in sorted(y.open_cost.items()):
        ind = _ind(k, lang, y.report)
        parts.append(tr("roadmap.open_item", lang, indicator=ind, cost=_yuan_l(v, lang))
                     if v is not None else
                     tr("roadmap.open_item_no_action", lang, indicator=ind))
    return V.listing(parts, lang)


def timeline(o: RoadmapOutcome, lang: str = "zh") -> pd.DataFrame:
    names = o.district.school_names()
    rows = []
    for y in o.years:
        rotated = len(y.rotation.result.moves) if y.rotation is not None and \
            y.rotation.status.has_plan else 0
        rows.append({
            tr("roadmap.col.school_year", lang): tr("roadmap.school_year", lang,
                                                    year=y.school_year),
            tr("roadmap.col.pupils", lang): V.num(y.pupils, 0),
            tr("roadmap.col.closed", lang): V.listing([names.get(s, s) for s in y.closed],
                                                      lang) or "—",
            tr("roadmap.col.rotated", lang): V.num(rotated, 0),
            tr("roadmap.col.cost", lang): _yuan_l(y.cost_yuan, lang),
            tr("roadmap.col.budget", lang): (_yuan_l(y.budget_yuan, lang)
                                             if y.budget_yuan is not None
                                             else tr("roadmap.no_limit", lang)),
            tr("roadmap.col.a_passed", lang): f"{y.report.a_passed}/{y.report.a_total}",
            tr("roadmap.col.verdict", lang): tr("roadmap.verdict." + (
                "recognised" if y.report.recognised else "not_recognised"), lang),
            tr("roadmap.col.open", lang): _open_text(y, lang)})
    return pd.DataFrame(rows)


def _year_sheet(o: RoadmapOutcome, y: YearPlan, lang: str) -> pd.DataFrame:
    rows = _year_rows(o, y)
    return pd.DataFrame({
        tr("roadmap.col.kind", lang): [tr(f"roadmap.kind.{r['kind']}", lang) for r in rows],
        tr("roadmap.col.school", lang): [r["school"] or "—" for r in rows],
        tr("roadmap.col.action", lang): [_action_word(r["kind"], r["action"], lang)
                                         for r in rows],
        tr("roadmap.col.indicator", lang): [_ind(r["indicator"], lang, y.report)
                                            if r["indicator"] != ""
                                            else "—" for r in rows],
        tr("roadmap.col.quantity", lang): [r["quantity"] for r in rows],
        tr("roadmap.col.cost_yuan", lang): [r["cost_yuan"] for r in rows]})


def workbook_sheets(o: RoadmapOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    out = {tr("roadmap.sheet", lang): timeline(o, lang)}
    if o.catchments:
        out[tr("roadmap.sheet.zoning", lang)] = _zoning_view(o, lang)
    for y in o.years:
        out[tr("roadmap.sheet.year", lang, year=y.school_year)] = _year_sheet(o, y, lang)
    return out


def _first_text(o: RoadmapOutcome, lang: str) -> str:
    if o.first_recognisable_year is None:
        return tr("roadmap.first.none", lang, last=o.years[-1].school_year)
    return tr("roadmap.first.year", lang, year=o.first_recognisable_year)


def warnings(o: RoadmapOutcome, lang: str = "zh") -> list[str]:
    out = []
    names = o.district.school_names()
    f = o.first_recognisable_year
    if f is not None:
        back = [y.school_year for y in o.years if y.school_year > f and not y.report.recognised]
        if back:
            out.append(tr("roadmap.warning.falls_back", lang, year=f,
                          years=V.listing([str(b) for b in back], lang)))
    for y in o.years:
        if y.postponed:
            out.append(tr("roadmap.warning.postponed", lang, year=y.school_year,
                          schools=V.listing([names.get(s, s) for s in y.postponed], lang)))
        for v in y.violations:
            out.append(tr("roadmap.warning.violation", lang, year=y.school_year, text=v))
    never = [c.school_id for c in o.closures if c.year is None]
    if never:
        out.append(tr("roadmap.warning.not_closed", lang,
                      schools=V.listing([names.get(s, s) for s in never], lang)))
    return out


def report_sections(o: RoadmapOutcome, lang: str = "zh") -> list[ReportSection]:
    total = sum(y.cost_yuan for y in o.years)
    figures = [(tr("roadmap.figure.first", lang), _first_text(o, lang)),
               (tr("roadmap.figure.years", lang),
                tr("roadmap.years_span", lang, first=o.years[0].school_year,
                   last=o.years[-1].school_year)),
               (tr("roadmap.figure.total", lang), _yuan_l(total, lang)),
               (tr("roadmap.figure.closures", lang), V.num(sum(len(y.closed)
                                                              for y in o.years), 0)),
               (tr("roadmap.figure.rotated", lang),
                V.num(len(rotation_lists(o, lang)), 0))]
    tables = [Table(tr("roadmap.table.timeline", lang), timeline(o, lang),
                    note=tr("roadmap.table.timeline_note", lang))]
    notes = (tr("roadmap.note.method", lang), tr("roadmap.note.cycle", lang))
    if o.catchments:
        figures.append((tr("roadmap.figure.zoning", lang), _zoning_text(o, lang)))
        notes += (tr("roadmap.note.zoning", lang),)
        if o.zoned_schools:
            tables.append(Table(tr("roadmap.table.zoning", lang), _zoning_view(o, lang),
                                note=tr("roadmap.table.zoning_note", lang)))
    for y in o.years:
        tables.append(Table(tr("roadmap.table.year", lang, year=y.school_year),
                            _year_sheet(o, y, lang)))
    secs = [ReportSection(key="roadmap", title=tr("roadmap.title", lang),
                          figures=tuple(figures), tables=tuple(tables),
                          notes=notes,
                          warnings=tuple(warnings(o, lang)))]
    return secs + pro_out.report_sections(o.projection, lang)


def compare_figures(o: RoadmapOutcome) -> dict:
    return {"roadmap_first_year": o.first_recognisable_year or "",
            "roadmap_cost_yuan": round(sum(y.cost_yuan for y in o.years), 2)}


def map_layers(o: RoadmapOutcome) -> dict:
    return {}


def headline(o: RoadmapOutcome, lang: str = "zh") -> list[str]:
    """The lines under the report's verdict: the first year the county can apply, and
    the later years that fall back (enrolment changes), which the planner must see there."""
    out = [tr("roadmap.console.first", lang, text=_first_text(o, lang))]
    f = o.first_recognisable_year
    back = [y.school_year for y in o.years
            if f is not None and y.school_year > f and not y.report.recognised]
    if back:
        out.append(tr("roadmap.warning.falls_back", lang, year=f,
                      years=V.listing([str(b) for b in back], lang)))
    return out


def console_lines(o: RoadmapOutcome, lang: str = "zh") -> list[str]:
    lines = [tr("roadmap.console.first", lang, text=_first_text(o, lang))]
    if o.catchments:
        lines.append(_zoning_text(o, lang))
    for y in o.years:
        lines.append(tr("roadmap.console.year", lang, year=y.school_year,
                        cost=_yuan_l(y.cost_yuan, lang),
                        budget=(_yuan_l(y.budget_yuan, lang) if y.budget_yuan is not None
                                else tr("roadmap.no_limit", lang)),
                        passed=y.report.a_passed, total=y.report.a_total,
                        open=_open_text(y, lang)))
    lines += warnings(o, lang)
    return lines

