"""What a run writes for a planner to read: map.html, report.html, the workbook,
figures.json (the numbers ``planner compare`` puts side by side)."""

from __future__ import annotations

from typing import Any

from planner.plans.scenario import RunResult, Scenario


def figures(res: RunResult) -> dict:
    """The numbers `planner compare` puts side by side."""
    a = res.after.to_dict()
    f = {"recognised": a["recognised"], "a_passed": a["a_passed"], "a_total": a["a_total"],
         "b_score": a["b_score"], "b_grade": a["b_grade"], "veto": a["veto"],
         "verified": not res.verification}
    for ind in a["indicators"]:
        if ind["id"] <= 7:
            for st, v in (ind.get("cv") or {}).items():
                f[f"cv_{ind['id']}_{st}"] = v
            for st, v in (ind.get("county_value") or {}).items():
                f[f"value_{ind['id']}_{st}"] = v
    for presenter, outcome in plans_of(res):
        f.update(presenter.compare_figures(outcome))
    return f



def school_status(report, closed: set[str], lang: str = "zh",
                  school_ids: list[str] = ()) -> dict:
    """Per school: pass / fail / closed / no_data, with popup rows of 1–7 and the
    other A indicators that list it. A school outside the scope of 1–7 (private,
    special) passes unless another A indicator lists it."""
    rep = report.to_dict()
    parts = report.parts_table()
    out: dict[str, dict] = {sid: {"status": "pass", "rows": []} for sid in school_ids}
    stage_zh = {"primary": "小学", "junior": "初中"}
    for _, p in parts.iterrows():
        sid = p["school_id"]
        rows = out.setdefault(sid, {"status": "pass", "rows": []})["rows"]
        for k in range(1, 8):
            v, thr = p.get(f"value_{k}"), p.get(f"threshold_{k}")
            ok = p.get(f"passed_{k}")
            ok = None if ok is None or (isinstance(ok, float) and ok != ok) else bool(ok)
            rows.append((str(k), stage_zh[p["stage"]] if lang == "zh" else p["stage"],
                         None if v is None or v != v else round(float(v), 2),
                         None if thr is None or thr != thr else float(thr), ok))
            if ok is None:
                out[sid]["status"] = "no_data"
    for ind in rep["indicators"]:
        if ind["class"] != "A":
            continue
        for fs in ind.get("failing_schools") or []:
            sid = fs.get("school_id")
            if not sid:
                continue
            e = out.setdefault(sid, {"status": "pass", "rows": []})
            e["status"] = "fail"
            if ind["id"] > 7:
                e["rows"].append((str(ind["id"]), fs.get("stage") or "",
                                  fs.get("value"), fs.get("threshold"), False))
    for sid in closed:
        out[sid] = {"status": "closed", "rows": []}
    return out



def plans_of(res: RunResult) -> list[tuple[Any, Any]]:
    """(presenter module, outcome) of every plan the run made, in run order."""
    from planner.outputs import catchments, consolidation, rotation
    out: list[tuple[Any, Any]] = []
    if res.consolidation is not None:
        out.append((consolidation, res.consolidation))
    if res.rotation is not None:
        out.append((rotation, res.rotation))
    if res.catchments:
        out.append((catchments, res.catchments))
    return out


def _write_views(district, current, res: RunResult, scenario: Scenario, meta: dict,
                 lang: str) -> None:
    """map.html, report.html and the workbook."""
    from planner.io.export import write_text, write_xlsx
    from planner.outputs.maps import build_map
    from planner.outputs.report import build_report

    plans = plans_of(res)
    closed = set(res.consolidation.result.closed) if res.consolidation is not None else set()
    status = school_status(res.after, closed, lang, list(district.schools["school_id"]))
    layers: dict[str, Any] = {}
    for presenter, outcome in plans:
        layers.update(presenter.map_layers(outcome))
    html_map = build_map(district, school_status=status, lang=lang, title=scenario.name, **layers)
    write_text(html_map, res.out / "map.html")

    sections = [sec for presenter, outcome in plans
                for sec in presenter.report_sections(outcome, lang)]
    thresholds = _thresholds(res.after)
    html_report = build_report(scenario_name=scenario.name, before=res.before.to_dict(),
                               after=res.after.to_dict(), parts_after=res.after.parts_table(),
                               thresholds=thresholds, sections=sections,
                               verification=res.verification, map_html=html_map,
                               meta={"input_sha256": meta["input_sha256"][:16],
                                     "version": meta["toolkit_version"]}, lang=lang)
    write_text(html_report, res.out / "report.html")

    sheets = _workbook_sheets(res, lang)
    write_xlsx(sheets, res.out / ("方案工作簿.xlsx" if lang == "zh" else "workbook.xlsx"))


def _thresholds(report) -> dict:
    out = {}
    for ind in report.to_dict()["indicators"]:
        if ind["id"] <= 7 and ind.get("threshold"):
            out[str(ind["id"])] = ind["threshold"]
    return out


def _workbook_sheets(res: RunResult, lang: str) -> dict:
    import pandas as pd

    from planner.outputs.checkfiles import cv_frame
    zh = lang == "zh"
    sheets = {}

    def ind_table(rep):
        rows = []
        for ind in rep.to_dict()["indicators"]:
            rows.append({("指标" if zh else "indicator"): ind["id"],
                         ("名称" if zh else "name"): ind["name"] if zh else ind.get("name_en", ind["name"]),
                         ("类别" if zh else "class"): ind["class"],
                         ("是否达标" if zh else "passed"): ("无数据" if zh else "no data") if ind["no_data"]
                         else (("是" if ind["passed"] else "否") if zh else ind["passed"]),
                         ("未达标学校数" if zh else "failing schools"): len(ind.get("failing_schools") or [])})
        return pd.DataFrame(rows)

    sheets["方案前指标" if zh else "indicators_before"] = ind_table(res.before)
    sheets["方案后指标" if zh else "indicators_after"] = ind_table(res.after)
    sheets["差异系数" if zh else "cv"] = cv_frame(res.after, lang)
    sheets["各校指标" if zh else "school_parts"] = res.after.parts_table()
    for presenter, outcome in plans_of(res):
        sheets.update(presenter.workbook_sheets(outcome, lang))
    return sheets
