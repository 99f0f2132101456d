"""Outputs of ``planner check``: a console table, the JSON report, an XLSX workbook.

- :func:`render_console` — the verdict line, each indicator with pass / fail /
  no data, county values and CVs of 1-7, and the failing schools with their gap
  to the threshold (``岳化一小 小学 3.9 < 4.2 (差 0.3)``). Chinese by default,
  English with ``lang="en"``.
- :func:`write_json` — ``Report.to_dict()`` as UTF-8 JSON, keys sorted, floats
  already rounded by the report (6 decimals; ``cv`` 2; ``cv_exact`` unrounded),
  same input gives the same bytes.
- :func:`write_xlsx` — sheets 指标 / 学校指标 / 差异系数 / 未达标学校 (English
  names with ``lang="en"``). Any text cell starting with ``= + - @`` (or a tab /
  carriage return) is written as a text cell with a quote prefix, never as a
  formula. Document properties carry a fixed date so the bytes are stable.

Both writers write to a temporary file in the target folder and rename it, so
a failed run never leaves a half-written file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import Path

import pandas as pd

from planner.io.export import FORMULA_START, save_workbook, write_text
from planner.indicators.engine import PER_PUPIL, Report

__all__ = ["render_console", "write_json", "write_xlsx", "fmt_number", "safe_cell_text"]

STAGE = {"zh": {"primary": "小学", "junior": "初中"}, "en": {"primary": "primary", "junior": "junior"}}

TEXT = {
    "zh": {
        "recognised": "通过认定", "not_recognised": "未通过认定",
        "summary": "A类 {ap}/{at} 项达标（{and_} 项无数据）；B类 {b}；一票否决：{veto}",
        "b_none": "未完整填报或有错误", "points": "分", "none": "无",
        "pass": "达标", "fail": "未达标", "no_data": "无数据",
        "a_head": "A类指标", "b_head": "B类指标", "veto_head": "一票否决",
        "county": "全县值", "cv": "差异系数", "gap": "差", "more": "……另有 {n} 所",
        "veto_on": "存在", "veto_off": "不存在", "veto_unknown": "未填报",
        "b_errors": "B类得分错误", "missing": "缺少数据", "proposed": "建议得分",
        "county_fails": "未达标项", "out_of_scope": "不参与1-7项计算的学校",
        "tolerated": "按国家办法容许",
    },
    "en": {
        "recognised": "RECOGNISED", "not_recognised": "NOT RECOGNISED",
        "summary": "A: {ap}/{at} passed ({and_} no data); B: {b}; veto: {veto}",
        "b_none": "incomplete or invalid", "points": "points", "none": "none",
        "pass": "pass", "fail": "FAIL", "no_data": "no data",
        "a_head": "A indicators", "b_head": "B indicators", "veto_head": "Vetoes",
        "county": "county", "cv": "CV", "gap": "short by", "more": "... and {n} more",
        "veto_on": "present", "veto_off": "absent", "veto_unknown": "not stated",
        "b_errors": "B score errors", "missing": "missing", "proposed": "proposed",
        "county_fails": "failing facts", "out_of_scope": "schools outside 1-7",
        "tolerated": "tolerated by the national rule",
    },
}

MAX_SCHOOLS_SHOWN = 20


def fmt_number(x, digits: int = 2) -> str:
    """A number with at most ``digits`` decimals, trailing zeros dropped."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "是" if x else "否"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return "—"
    s = f"{v:.{digits}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _status(r, t) -> str:
    if r.no_data:
        return t["no_data"]
    return t["pass"] if r.passed else t["fail"]


FACT_ZH = {
    "unified_standards": "四个统一", "teacher_pay_avg_yuan": "教师平均工资",
    "civil_servant_pay_avg_yuan": "公务员平均工资", "allowances_paid": "补贴到位",
    "performance_pay_full": "绩效工资足额", "quota_managed_by_county": "县统筹编制岗位",
    "village_schools_run_by_central": "中心校统管村小", "eligible": "符合交流条件",
    "rotated": "交流轮岗", "backbone_rotated": "其中骨干", "rotated_share": "交流比例",
    "backbone_share": "骨干比例", "share": "比例", "training_plan_exists": "培训计划",
    "quality_monitoring_level": "学业水平等级", "quality_monitoring_difference": "校际差异率",
    "schools": "学校数", "largest": "最大规模", "largest_class": "最大班额",
}


def _value_str(v, lang: str) -> str:
    if isinstance(v, dict):
        parts = []
        for k, x in v.items():
            label = STAGE[lang].get(k, FACT_ZH.get(k, k) if lang == "zh" else k)
            if isinstance(x, dict):
                x = _value_str(x, lang)
            parts.append(f"{label} {fmt_number(x, 4) if not isinstance(x, str) else x}")
        return "；".join(parts) if lang == "zh" else "; ".join(parts)
    return fmt_number(v, 4)


def _school_line(f: dict, lang: str, t: dict) -> str:
    st = "+".join(STAGE[lang].get(x, x) for x in str(f.get("stage", "")).split("+"))
    v, th = f.get("value"), f.get("threshold")
    gap = abs(float(th) - float(v)) if v is not None and th is not None else None
    rel = "<" if (v is not None and th is not None and v < th) else ">"
    extra = f" [{f['check']}]" if f.get("check") else ""
    name = f.get("name") or f.get("school_id")
    return f"{name} {st} {fmt_number(v)} {rel} {fmt_number(th)} ({t['gap']} {fmt_number(gap)}){extra}"


def render_console(report: Report, lang: str = "zh") -> str:
    """The report as readable text (Chinese by default)."""
    t = TEXT["en" if lang == "en" else "zh"]
    lang = "en" if lang == "en" else "zh"
    lines = []
    verdict = t["recognised"] if report.recognised else t["not_recognised"]
    b = (f"{fmt_number(report.b_score, 1)} {t['points']} "
         f"{report.b_grade if lang == 'zh' else report.b_grade_en}") if report.b_score is not None else t["b_none"]
    veto = ", ".join((report.veto_names.get(k, {}).get(lang, k)) for k in report.veto) or t["none"]
    lines.append(f"{report.district} · {report.standard}")
    lines.append(f"{verdict}: " + t["summary"].format(ap=report.a_passed, at=report.a_total,
                                                     and_=report.a_no_data, b=b, veto=veto))
    lines.append("")
    lines.append(t["a_head"])
    for r in report.a_results:
        name = r.name if lang == "zh" else r.name_en
        lines.append(f"  {r.id:>2} {name} — {_status(r, t)}")
        if r.id in PER_PUPIL:
            for st, v in (r.county_value or {}).items():
                cv = (r.cv or {}).get(st)
                th = (r.threshold or {}).get(st)
                lim = (r.cv_limit or {}).get(st)
                lines.append(f"       {STAGE[lang][st]}: {t['county']} {fmt_number(v)} (≥ {fmt_number(th)}), "
                             f"{t['cv']} {fmt_number(cv)} (≤ {fmt_number(lim)})")
        elif r.county_value is not None:
            lines.append(f"       {t['county']}: {_value_str(r.county_value, lang)}")
        det = r.details or {}
        if det.get("county_fails"):
            lines.append(f"       {t['county_fails']}: {', '.join(map(str, det['county_fails']))}")
        for key in ("missing_county", "missing"):
            if det.get(key):
                m = det[key]
                if isinstance(m, list):
                    m = ", ".join(x if isinstance(x, str) else str(x.get("school_id", x)) for x in m[:10]) + \
                        (" …" if len(det[key]) > 10 else "")
                lines.append(f"       {t['missing']}: {m}")
        for f in r.failing_schools[:MAX_SCHOOLS_SHOWN]:
            lines.append("       " + _school_line(f, lang, t))
        if len(r.failing_schools) > MAX_SCHOOLS_SHOWN:
            lines.append("       " + t["more"].format(n=len(r.failing_schools) - MAX_SCHOOLS_SHOWN))
        if det.get("tolerated"):
            lines.append(f"       {t['tolerated']}: {len(det['tolerated'])}")
    lines.append("")
    lines.append(t["b_head"])
    for r in report.b_results:
        name = r.name if lang == "zh" else r.name_en
        pts = (r.details or {}).get("points")
        sc = fmt_number(r.county_value, 1) if r.county_value is not None else "—"
        lines.append(f"  {r.id:>2} {name} — {sc}/{fmt_number(pts)} {_status(r, t)}")
        prop = (r.details or {}).get("proposed")
        if prop:
            lines.append(f"       {t['proposed']} {r.id}.{prop['item']}: {fmt_number(prop['score'], 1)}/"
                         f"{fmt_number(prop['points'])} ({prop['served']}/{prop['units_checked']})")
    for e in report.b_errors:
        lines.append(f"  {t['b_errors']}: {e}")
    lines.append("")
    lines.append(t["veto_head"])
    for k, names in report.veto_names.items():
        state = t["veto_on"] if k in report.veto else (t["veto_unknown"] if k in report.veto_unknown else t["veto_off"])
        lines.append(f"  {names.get(lang, k)}: {state}")
    if report.out_of_scope:
        lines.append("")
        lines.append(f"{t['out_of_scope']}: {len(report.out_of_scope)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------

def write_json(report: Report, path: str | os.PathLike) -> Path:
    """Write ``report.to_dict()`` as UTF-8 JSON (keys sorted, deterministic)."""
    text = json.dumps(report.to_dict(), ensure_ascii=False, sort_keys=True, indent=2,
                      allow_nan=False) + "\n"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_text(text, path)


def safe_cell_text(v) -> bool:
    """True when a text value must be forced to text (it could start a formula)."""
    return isinstance(v, str) and v.startswith(FORMULA_START)


HEAD = {
    "zh": {
        "sheets": ("指标", "学校指标", "差异系数", "未达标学校"),
        "ind": ["指标", "名称", "类别", "学段", "全县值", "差异系数", "差异系数上限", "标准值",
                "是否达标", "无数据", "未达标学校数", "说明"],
        "parts": {"school_id": "学校代码", "name": "学校名称", "stage": "学段", "pupils": "在校生数",
                  "value": "指标{k}值", "threshold": "指标{k}标准", "passed": "指标{k}达标",
                  "met": "达标项数", "passed_all": "学校是否达标"},
        "cv": ["指标", "学段", "学校数", "学生数", "全县值", "标准值", "全县值达标", "差异系数",
               "差异系数（未舍入）", "差异系数上限", "差异系数达标", "缺数据学校数"],
        "fail": ["指标", "学校代码", "学校名称", "学段", "实际值", "标准值", "差距", "检查项"],
        "yes": "是", "no": "否",
    },
    "en": {
        "sheets": ("indicators", "schools", "cv", "failing schools"),
        "ind": ["indicator", "name", "class", "stage", "county value", "CV", "CV limit", "threshold",
                "passed", "no data", "failing schools", "notes"],
        "parts": {"school_id": "school_id", "name": "name", "stage": "stage", "pupils": "pupils",
                  "value": "value_{k}", "threshold": "threshold_{k}", "passed": "passed_{k}",
                  "met": "met", "passed_all": "passed"},
        "cv": ["indicator", "stage", "parts", "pupils", "county value", "threshold", "county ok", "CV",
               "CV (exact)", "CV limit", "CV ok", "parts missing data"],
        "fail": ["indicator", "school_id", "name", "stage", "value", "threshold", "gap", "check"],
        "yes": "yes", "no": "no",
    },
}


def _cell(v, lang):
    if v is None:
        return None
    if isinstance(v, bool):
        return HEAD[lang]["yes"] if v else HEAD[lang]["no"]
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
        if isinstance(v, bool):
            return HEAD[lang]["yes"] if v else HEAD[lang]["no"]
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def _append(ws, values, lang):
    row = [_cell(v, lang) for v in values]
    ws.append(row)
    r = ws.max_row
    for j, v in enumerate(row, start=1):
        if safe_cell_text(v):
            c = ws.cell(row=r, column=j)
            c.value = v
            c.data_type = "s"
            c.quotePrefix = True


def write_xlsx(report: Report, path: str | os.PathLike, lang: str = "zh") -> Path:
    """Write the indicator, per-school, CV and failing-school sheets."""
    from openpyxl import Workbook

    lang = "en" if lang == "en" else "zh"
    h = HEAD[lang]
    t = TEXT[lang]
    wb = Workbook()
    fixed = _dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "junheng-planner"
    ws = wb.active
    ws.title = h["sheets"][0]
    _append(ws, h["ind"], lang)
    for r in report.indicators:
        name = r.name if lang == "zh" else r.name_en
        status = bool(r.passed)
        note = ""
        det = r.details or {}
        if det.get("county_fails"):
            note = f"{t['county_fails']}: {', '.join(map(str, det['county_fails']))}"
        elif det.get("missing_county") or det.get("missing"):
            note = t["missing"]
        if r.id in PER_PUPIL and isinstance(r.county_value, dict) and r.county_value:
            for st, v in r.county_value.items():
                nf = sum(1 for f in r.failing_schools if f.get("stage") == st)
                _append(ws, [r.id, name, r.cls, STAGE[lang][st], v, (r.cv or {}).get(st),
                             (r.cv_limit or {}).get(st), (r.threshold or {}).get(st), status,
                             bool(r.no_data), nf, note], lang)
        else:
            cv = r.county_value
            thr = r.threshold
            _append(ws, [r.id, name, r.cls, None,
                         cv if not isinstance(cv, dict) else _value_str(cv, lang), None, None,
                         thr if not isinstance(thr, dict) else _value_str(thr, lang), status,
                         bool(r.no_data), len(r.failing_schools), note], lang)

    ws2 = wb.create_sheet(h["sheets"][1])
    parts = report.parts_table()
    ph = h["parts"]
    cols, heads = ["school_id", "name", "stage", "pupils"], [ph["school_id"], ph["name"], ph["stage"], ph["pupils"]]
    for k in PER_PUPIL:
        for kind in ("value", "threshold", "passed"):
            c = f"{kind}_{k}"
            if c in parts.columns:
                cols.append(c)
                heads.append(ph[kind].format(k=k))
    cols += ["met", "passed"]
    heads += [ph["met"], ph["passed_all"]]
    _append(ws2, heads, lang)
    if len(parts):
        sub = parts.reindex(columns=cols).copy()
        sub["stage"] = sub["stage"].map(STAGE[lang])
        for row in sub.itertuples(index=False, name=None):
            _append(ws2, list(row), lang)

    ws3 = wb.create_sheet(h["sheets"][2])
    _append(ws3, h["cv"], lang)
    cvt = report.cv_table()
    for row in cvt.itertuples(index=False):
        _append(ws3, [row.indicator, STAGE[lang].get(row.stage, row.stage), row.parts, row.pupils,
                      row.county_value, row.threshold, bool(row.county_ok), row.cv, row.cv_exact,
                      row.cv_limit, bool(row.cv_ok), row.missing], lang)

    ws4 = wb.create_sheet(h["sheets"][3])
    _append(ws4, h["fail"], lang)
    for r in report.a_results:
        for f in r.failing_schools:
            _append(ws4, [r.id, f.get("school_id"), f.get("name"), STAGE[lang].get(f.get("stage"), f.get("stage")),
                          f.get("value"), f.get("threshold"), f.get("gap"), f.get("check")], lang)
    for w in wb.worksheets:
        w.freeze_panes = "A2"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return save_workbook(wb, path)


def cv_frame(report: Report, lang: str = "zh") -> pd.DataFrame:
    """The CV table with the sheet's headers (for HTML reports)."""
    df = report.cv_table()
    if len(df.columns) == len(HEAD[lang]["cv"]):
        df.columns = HEAD[lang]["cv"]
    return df
