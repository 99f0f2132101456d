"""What a run writes for a planner to read: map.html, report.html, the workbook,
figures.json (the numbers ``planner compare`` puts side by side)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from planner.indicators.engine import Report, plain
from planner.outputs.checkfiles import b_grade, indicator_name
from planner.outputs.i18n import label, tr
from planner.plans.scenario import RunResult, Scenario


def figures(res: RunResult) -> dict:
    """The numbers ``planner compare`` puts side by side (``figures.json``): the
    verdict after the plans, the county values and CVs of 1-7 (rounded as the JSON
    report rounds them), and each plan's ``compare_figures``."""
    a = res.after
    f = {"recognised": bool(a.recognised), "a_passed": a.a_passed, "a_total": a.a_total,
         "b_score": plain(a.b_score), "b_grade": a.b_grade, "veto": list(a.veto),
         "verified": res.verified}
    for ind in a.a_results:
        if ind.id <= 7:
            for st, v in plain(ind.cv or {}).items():
                f[f"cv_{ind.id}_{st}"] = v
            for st, v in plain(ind.county_value or {}).items():
                f[f"value_{ind.id}_{st}"] = v
    for presenter, outcome in plans_of(res):
        f.update(presenter.compare_figures(outcome))
    return f


def _known(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def school_status(report: Report, closed: set[str], school_ids: list[str] = ()) -> dict:
    """Per school: pass / fail / closed / no_data, with popup rows of 1–7 and the
    other A indicators that list it (``(indicator, stage code, value, threshold,
    passed)``; the map puts them into words). A school outside the scope of 1–7
    (private, special) passes unless another A indicator lists it."""
    parts = report.parts_table()
    out: dict[str, dict] = {sid: {"status": "pass", "rows": []} for sid in school_ids}
    for _, p in parts.iterrows():
        sid = p["school_id"]
        rows = out.setdefault(sid, {"status": "pass", "rows": []})["rows"]
        for k in range(1, 8):
            v, thr = p.get(f"value_{k}"), p.get(f"threshold_{k}")
            ok = p.get(f"passed_{k}")
            ok = bool(ok) if _known(ok) else None
            rows.append((str(k), p["stage"], round(float(v), 2) if _known(v) else None,
                         float(thr) if _known(thr) else None, ok))
            if ok is None:
                out[sid]["status"] = "no_data"
    for ind in report.a_results:
        for fs in plain(ind.failing_schools):
            sid = fs.get("school_id")
            if not sid:
                continue
            e = out.setdefault(sid, {"status": "pass", "rows": []})
            e["status"] = "fail"
            if ind.id > 7:
                e["rows"].append((str(ind.id), fs.get("stage") or "",
                                  fs.get("value"), fs.get("threshold"), False))
    for sid in closed:
        out[sid] = {"status": "closed", "rows": []}
    return out


def plans_of(res: RunResult, keyed: bool = False) -> list:
    """(presenter module, outcome) of every plan the run made, in run order;
    ``keyed``: (kind, (presenter, outcome))."""
    from planner.outputs import catchments, consolidation, remediation, rotation
    presenters = {"consolidation": consolidation, "rotation": rotation,
                  "catchments": catchments, "remediation": remediation}
    if keyed:
        return [(kind, (presenters[kind], o)) for kind, o in res.plans()]
    return [(presenters[kind], o) for kind, o in res.plans()]


def write_views(district, res: RunResult, scenario: Scenario, meta: dict, lang: str) -> None:
    """map.html, report.html and the workbook, from the typed reports and outcomes
    through the plans' presenters."""
    from planner.io.export import write_text, write_xlsx
    from planner.outputs.maps import build_map
    from planner.outputs.report import build_report

    plans = plans_of(res)
    closed = set(res.consolidation.result.closed) if res.consolidation is not None else set()
    status = school_status(res.after, closed, list(district.schools["school_id"]))
    layers: dict[str, Any] = {}
    for presenter, outcome in plans:
        layers.update(presenter.map_layers(outcome))
    html_map = build_map(district, school_status=status, lang=lang, title=scenario.name, **layers)
    write_text(html_map, res.out / "map.html")

    sections = [sec for presenter, outcome in plans
                for sec in presenter.report_sections(outcome, lang)]
    html_report = build_report(scenario_name=scenario.name, before=res.before, after=res.after,
                               sections=sections, verification=res.verification,
                               every_plan_made=res.every_plan_made, map_html=html_map,
                               meta={"input_sha256": meta["input_sha256"][:16],
                                     "version": meta["toolkit_version"]}, lang=lang)
    write_text(html_report, res.out / "report.html")
    write_xlsx(workbook_sheets(res, lang), res.out / tr("run.workbook", lang))


def indicator_table(report: Report, lang: str = "zh"):
    """One row per indicator: id, name, class, passed (or no data), failing schools."""
    import pandas as pd
    col = {k: tr(f"run.col.{k}", lang) for k in ("indicator", "name", "class", "passed",
                                                    "failing")}
    rows = []
    for ind in report.indicators:
        # the Chinese sheet says 是/否; the English one keeps TRUE/FALSE cells
        passed: Any = tr("no_data", lang) if ind.no_data else (
            label("bool", bool(ind.passed), lang) if lang == "zh" else bool(ind.passed))
        rows.append({col["indicator"]: ind.id, col["name"]: indicator_name(ind, lang),
                     col["class"]: ind.cls, col["passed"]: passed,
                     col["failing"]: len(ind.failing_schools)})
    return pd.DataFrame(rows)


def workbook_sheets(res: RunResult, lang: str = "zh") -> dict:
    """The run workbook: indicators before and after, the CVs, the school parts, and
    every plan's sheets from its presenter."""
    from planner.outputs.checkfiles import cv_frame
    sheets = {tr("run.sheet.indicators_before", lang): indicator_table(res.before, lang),
              tr("run.sheet.indicators_after", lang): indicator_table(res.after, lang),
              tr("run.sheet.cv", lang): cv_frame(res.after, lang),
              tr("run.sheet.school_parts", lang): res.after.parts_table()}
    for presenter, outcome in plans_of(res):
        sheets.update(presenter.workbook_sheets(outcome, lang))
    return sheets


# --------------------------------------------------------------------- console

def console_lines(res: RunResult, lang: str = "zh") -> list[str]:
    """What ``planner run`` / ``planner demo`` print: the verdict, the A indicators
    that fail, each plan's figures, every plan that could not be made with the
    limits that bind (its presenter's lines), the verification and the report."""
    f = res.figures
    after = res.after
    verdict = tr("run.verdict.recognised" if f["recognised"] else "run.verdict.not_recognised",
                 lang)
    grade = b_grade(after, lang)
    lines = [tr("run.verdict", lang, verdict=verdict, a_passed=f["a_passed"],
                a_total=f["a_total"], b_score=f["b_score"], b_grade=grade),
             tr("run.a_change", lang, before=res.before.a_passed, after=after.a_passed,
                total=after.a_total)]
    for ind in after.a_results:
        if ind.passed:
            continue
        n = len(ind.failing_schools)
        name = indicator_name(ind, lang)
        tail = tr("run.fail.no_data", lang) if ind.no_data else (
            tr("run.fail.schools", lang, n=n) if n else tr("run.fail.county", lang))
        lines.append(f"  ✗ {ind.id}. {name}: {tail}")
    if res.consolidation is not None:
        lines.append(tr("run.consolidation", lang, **f))
        from planner.outputs.consolidation import explanation_text
        for e in res.consolidation.result.explanations:
            lines.append("  " + explanation_text(e, lang))
    if res.rotation is not None:
        lines.append(tr("run.rotation", lang, **f))
    if res.catchments:
        lines.append(tr("run.catchments", lang, **f))
    if res.remediation is not None and res.remediation.status.has_plan:
        from planner.outputs.remediation import console_lines as remediation_lines
        lines += remediation_lines(res.remediation, lang)[:2]
    presenters = dict(plans_of(res, keyed=True))
    for kind, status in res.statuses().items():
        if status.has_plan:
            continue
        lines.append(tr("run.no_plan", lang, plan=tr(f"run.plan.{kind}", lang),
                        status=label("status", status.value, lang)))
        presenter, outcome = presenters[kind]
        lines += ["  " + x for x in presenter.console_lines(outcome, lang)]
    if res.verification:
        lines.append(tr("run.verify.problems", lang) + "; ".join(res.verification))
    elif res.every_plan_made:
        lines.append(tr("run.verify.ok", lang))
    else:
        lines.append(tr("run.verify.partial", lang))
    lines.append(tr("run.output", lang) + str(res.out / "report.html"))
    return lines


# --------------------------------------------------------------------- compare

#: the figures ``planner compare`` shows first (labels: catalogue ``compare.<key>``)
COMPARE_KEYS = ("recognised", "a_passed", "b_score", "verified", "closed", "buses", "bus_km",
                "max_ride_min", "pupils_moved", "teachers_moved", "backbone_moved",
                "pupils_school_changes", "max_load_ratio", "remediation_cost_yuan",
                "remediation_capital_yuan", "remediation_recurring_yuan", "remediation_a_passed")


def comparison_frame(names: list[str], figs: list[dict], lang: str = "zh"):
    """One row per figure, one column per scenario (``comparison.csv``)."""
    import pandas as pd

    from planner.outputs.i18n import catalogue
    keys = list(COMPARE_KEYS) + sorted(
        {k for f in figs for k in f if k.startswith(("cv_", "value_"))})
    known = catalogue()
    rows = []
    for k in keys:
        row = {tr("compare.figure", lang): tr(f"compare.{k}", lang) if f"compare.{k}" in known
               else k}
        for n, f in zip(names, figs):
            v = f.get(k)
            row[n] = "" if v is None else v
        rows.append(row)
    return pd.DataFrame(rows)


def write_comparison(names: list[str], figs: list[dict], out: Path, lang: str = "zh"):
    """``comparison.csv`` and ``comparison.html`` in ``out``; returns the table."""
    from planner.io.export import write_csv, write_text
    from planner.outputs.report import esc, table_html
    df = comparison_frame(names, figs, lang)
    write_csv(df, out / "comparison.csv")
    title = tr("compare.title", lang)
    html = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>" + esc(title) +
            "</title><style>body{font-family:'Noto Sans CJK SC',sans-serif;margin:2em}"
            "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 8px}"
            "th{background:#eef1f5}</style></head><body><h1>" + esc(title) + "</h1>" +
            table_html(df.astype(str)) + "</body></html>\n")
    write_text(html, out / "comparison.html")
    return df
