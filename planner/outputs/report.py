"""The scenario report (``report.html``): self-contained, prints on A4.

Built from plain data — the indicator reports before and after (the
``--json`` shape of data-spec.md), the per-school-part tables of indicators
1–7, each plan's summary and table — so it can be re-made from an output folder.
Every text from the data is escaped; there are no scripts except the embedded
map (an ``<iframe srcdoc>``), and nothing is fetched from the network.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from planner.outputs.sections import ReportSection

T = {
    "zh": {
        "title": "县域义务教育优质均衡发展 方案评估报告",
        "verdict": "评估结论", "recognised": "达到优质均衡认定条件",
        "not_recognised": "未达到优质均衡认定条件",
        "a_passed": "A 类指标达标", "b_score": "B 类指标得分", "veto": "一票否决",
        "none": "无", "before": "方案前", "after": "方案后", "change": "变化",
        "indicator": "指标", "stage": "学段", "county": "全县值", "cv": "差异系数",
        "threshold": "标准值", "passed": "是否达标", "yes": "达标", "no": "未达标",
        "nodata": "无数据", "failing": "未达标学校", "a_table": "A 类指标 方案前后对比",
        "schools_table": "各校指标 1–7（方案后）", "school": "学校", "pupils": "在校生",
        "plans": "方案", "map": "地图", "why": "未通过的原因",
        "primary": "小学", "junior": "初中", "improved": "改善", "worsened": "变差",
        "verified": "方案校验", "verified_ok": "全部硬性约束经独立校验通过",
        "verified_bad": "独立校验发现问题", "chart": "图", "scenario": "方案文件",
        "input_hash": "输入数据指纹", "grade": "等级", "more": "其余",
        "b_rule": "B 类：每项 ≥ 80 % 且总分 ≥ 80",
    },
    "en": {
        "title": "High-quality balanced compulsory education: scenario report",
        "verdict": "Verdict", "recognised": "Meets the conditions for recognition",
        "not_recognised": "Does not meet the conditions for recognition",
        "a_passed": "A indicators passed", "b_score": "B score", "veto": "Vetoes",
        "none": "none", "before": "Before", "after": "After", "change": "Change",
        "indicator": "Indicator", "stage": "Stage", "county": "County value", "cv": "CV",
        "threshold": "Threshold", "passed": "Passed", "yes": "pass", "no": "fail",
        "nodata": "no data", "failing": "Failing schools", "a_table": "A indicators before and after",
        "schools_table": "Indicators 1–7 by school (after)", "school": "School", "pupils": "Pupils",
        "plans": "Plans", "map": "Map", "why": "Why it does not pass",
        "primary": "primary", "junior": "junior", "improved": "improved", "worsened": "worse",
        "verified": "Plan verification", "verified_ok": "every hard rule re-checked independently: passed",
        "verified_bad": "the independent check found problems", "chart": "Chart",
        "scenario": "Scenario", "input_hash": "Input fingerprint", "grade": "grade", "more": "more",
        "b_rule": "B: each indicator ≥ 80 % of its points and total ≥ 80",
    },
}

CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC",
       sans-serif; font-size: 10.5pt; color: #1b1b1b; max-width: 190mm; margin: 0 auto; }
h1 { font-size: 17pt; margin: 0 0 4mm; } h2 { font-size: 13pt; margin: 7mm 0 2mm;
     border-bottom: 1px solid #999; break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1mm; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eef1f5; } tr { break-inside: avoid; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.st { white-space: nowrap; }
.pass { color: #17663a; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.nodata { color: #8a6d00; font-weight: 600; }
tr.changed td { background: #fff6d6; }
.verdict { padding: 3mm; border: 2px solid; margin: 2mm 0; }
.verdict.ok { border-color: #17663a; } .verdict.bad { border-color: #b3261e; }
.meta { color: #555; font-size: 8.5pt; }
.mapframe { width: 100%; height: 150mm; border: 1px solid #999; }
svg text { font-size: 8px; }
@media print { .mapframe { height: 120mm; } }
"""


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def fmt(x: Any, nd: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int,)) or (isinstance(x, float) and x.is_integer() and abs(x) >= 100):
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return esc(x)


def _status(ind: dict, t: dict) -> str:
    if ind.get("no_data"):
        return f'<span class="nodata">{t["nodata"]}</span>'
    return f'<span class="pass">{t["yes"]}</span>' if ind.get("passed") else \
        f'<span class="fail">{t["no"]}</span>'


def _stage_values(d: dict | None, t: dict) -> str:
    if not d:
        return "—"
    if isinstance(d, dict):
        return "<br>".join(f"{t.get(k, esc(k))} {fmt(v)}" for k, v in d.items())
    return fmt(d)


def _ind_name(ind: dict, lang: str) -> str:
    name = ind.get("name") if lang == "zh" else ind.get("name_en", ind.get("name"))
    return f'{ind["id"]}. {esc(name)}'


def verdict_html(rep: dict, t: dict, lang: str) -> str:
    ok = bool(rep.get("recognised"))
    fails = [i for i in rep.get("indicators", []) if i.get("class") == "A" and not i.get("passed")]
    lines = [f'<div class="verdict {"ok" if ok else "bad"}"><b>'
             f'{t["recognised"] if ok else t["not_recognised"]}</b><br>'
             f'{t["a_passed"]}: {rep.get("a_passed")} / {rep.get("a_total")}'
             f' · {t["b_score"]}: {fmt(rep.get("b_score"), 1)} '
             f'({esc(rep.get("b_grade" if lang == "zh" else "b_grade_en") or "—")})'
             f' · {t["veto"]}: {esc("、".join(rep.get("veto") or []) or t["none"])}</div>']
    if not ok and fails:
        lines.append(f"<h3>{t['why']}</h3><ul>")
        for i in fails:
            why = t["nodata"] if i.get("no_data") else t["no"]
            fs = i.get("failing_schools") or []
            extra = ""
            if fs:
                names = "、".join(esc(f.get("name") or f.get("school_id")) for f in fs[:6])
                more = f" … (+{len(fs) - 6})" if len(fs) > 6 else ""
                extra = f" — {t['failing']}: {names}{more}"
            lines.append(f"<li>{_ind_name(i, lang)}: {why}{extra}</li>")
        lines.append("</ul>")
    return "\n".join(lines)


def a_table_html(before: dict, after: dict | None, t: dict, lang: str) -> str:
    bmap = {i["id"]: i for i in before.get("indicators", []) if i.get("class") == "A"}
    amap = {i["id"]: i for i in (after or before).get("indicators", []) if i.get("class") == "A"}
    rows = [f"<table><tr><th>{t['indicator']}</th><th>{t['before']}</th><th>{t['after']}</th>"
            f"<th>{t['county']} ({t['after']})</th><th>{t['cv']} ({t['after']})</th>"
            f"<th>{t['failing']} ({t['before']} → {t['after']})</th></tr>"]
    for iid in sorted(amap):
        b, a = bmap.get(iid, {}), amap[iid]
        changed = (b.get("passed"), b.get("no_data")) != (a.get("passed"), a.get("no_data")) or \
            len(b.get("failing_schools") or []) != len(a.get("failing_schools") or [])
        rows.append(f'<tr class="{"changed" if changed else ""}"><td>{_ind_name(a, lang)}</td>'
                    f"<td class='st'>{_status(b, t)}</td><td class='st'>{_status(a, t)}</td>"
                    f"<td class='num'>{_stage_values(a.get('county_value'), t)}</td>"
                    f"<td class='num'>{_stage_values(a.get('cv'), t)}</td>"
                    f"<td class='num'>{len(b.get('failing_schools') or [])} → "
                    f"{len(a.get('failing_schools') or [])}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def bar_chart_svg(labels: list[str], values: list[float], threshold: float, title: str,
                  width: int = 680) -> str:
    """A horizontal bar chart (inline SVG) of school values against a threshold line."""
    n = len(values)
    if n == 0:
        return ""
    bar_h, left, top = 11, 150, 16
    h = top + n * (bar_h + 3) + 14
    vmax = max([v for v in values if v == v] + [threshold]) * 1.1 or 1.0
    sx = (width - left - 40) / vmax
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{h}" '
             f'role="img" aria-label="{esc(title)}"><text x="0" y="10" '
             f'style="font-size:10px;font-weight:600">{esc(title)}</text>']
    for k, (lab, v) in enumerate(zip(labels, values)):
        y = top + k * (bar_h + 3)
        ok = v == v and v >= threshold * (1 - 1e-9)
        w = 0 if v != v else v * sx
        parts.append(f'<text x="{left - 4}" y="{y + 9}" text-anchor="end">{esc(lab)}</text>'
                     f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'fill="{"#4c9a6a" if ok else "#c8473e"}"/>'
                     f'<text x="{left + w + 3:.1f}" y="{y + 9}">{fmt(v)}</text>')
    tx = left + threshold * sx
    parts.append(f'<line x1="{tx:.1f}" y1="{top - 3}" x2="{tx:.1f}" y2="{h - 10}" '
                 f'stroke="#222" stroke-dasharray="3,2"/><text x="{tx + 2:.1f}" y="{h - 2}">'
                 f'{fmt(threshold)}</text></svg>')
    return "".join(parts)


def parts_html(parts: pd.DataFrame | None, t: dict, lang: str, thresholds: dict | None) -> str:
    """Per-school tables of indicators 1–7 (after), with a chart per indicator and stage
    for the values below threshold (a picture reads faster than a table)."""
    if parts is None or len(parts) == 0:
        return ""
    out = [f"<h2>{t['schools_table']}</h2>"]
    val_cols = [c for c in parts.columns if c.startswith("value_")]
    for stage in ("primary", "junior"):
        p = parts[parts["stage"] == stage]
        if p.empty:
            continue
        out.append(f"<h3>{t[stage]}</h3><table><tr><th>{t['school']}</th><th>{t['pupils']}</th>")
        for c in val_cols:
            out.append(f"<th>{esc(c.replace('value_', ''))}</th>")
        out.append("</tr>")
        for _, r in p.iterrows():
            out.append(f"<tr><td>{esc(r.get('name', r.get('school_id')))}</td>"
                       f"<td class='num'>{fmt(r.get('pupils'))}</td>")
            for c in val_cols:
                k = c.replace("value_", "")
                ok = r.get(f"passed_{k}")
                cls = "" if ok is None or (isinstance(ok, float) and math.isnan(ok)) else (
                    "pass" if bool(ok) else "fail")
                out.append(f"<td class='num {cls}'>{fmt(r.get(c))}</td>")
            out.append("</tr>")
        out.append("</table>")
        if thresholds:
            for c in val_cols:
                k = c.replace("value_", "")
                thr = (thresholds.get(k) or {}).get(stage)
                if thr is None:
                    continue
                vals = p[c].astype(float)
                if not (vals < thr * (1 - 1e-9)).any():
                    continue
                order = vals.sort_values().index[:25]
                out.append(bar_chart_svg([str(p.loc[i, "name"]) for i in order],
                                         [float(vals[i]) for i in order], float(thr),
                                         f"{t['indicator']} {k} · {t[stage]}"))
    return "\n".join(out)


def table_html(df: pd.DataFrame, max_rows: int = 300, t: dict | None = None) -> str:
    if df is None or len(df) == 0:
        return "<p>—</p>"
    cols = list(df.columns)
    rows = ["<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>"]
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in cols:
            v = r[c]
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            cells.append(f"<td class='{'num' if num else ''}'>{fmt(v) if num else esc(v)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    if len(df) > max_rows:
        rows.append(f"<p class='meta'>… {len(df) - max_rows} {(t or T['en'])['more']}</p>")
    return "\n".join(rows)


#: what a Chinese report calls the figures and columns of the plans
LABELS_ZH = {
    "status": "求解状态", "objective": "目标值", "gap": "最优性差距", "solver": "求解器",
    "mode": "模式", "buses": "校车数", "bus_km": "线路总长（km）", "max_ride_min": "最长车程（分钟）",
    "pupils_moved": "转学学生数", "mip_objective": "优化模型目标值", "steps_note": "程序要求",
    "redeployed_teachers": "安置教师数", "travel": "出行时间来源", "eligible": "符合交流条件教师数",
    "required": "应交流人数", "rotated": "交流人数", "backbone_rotated": "其中骨干教师",
    "floors_met_before": "达到指标1–3底线的学校学段（前）",
    "floors_met_after": "达到指标1–3底线的学校学段（后）", "school_parts": "学校学段数",
    "verified": "独立校验通过", "stage": "学段", "units": "居住单元数", "schools": "学校数",
    "max_load_ratio": "最大负荷率", "contiguous": "片区连通", "pupils_changed": "换校学生数",
    "unassigned_children": "未能划入片区的儿童", "catchment_share": "划片覆盖率",
    "school_id": "学校代码", "school": "学校", "receiving_school_id": "接收学校代码",
    "receiving_school": "接收学校", "pupils": "学生数", "ride_min": "最长车程（分钟）",
    "name": "姓名", "subject": "学科", "from_school": "原学校", "to_school": "交流学校",
    "direction": "交流方向", "reason": "交流原因", "children": "适龄儿童", "seats": "学位",
    "load_ratio": "负荷率", "n_units": "单元数", "area_km2": "面积（km²）",
    "polsby_popper": "紧凑度（Polsby-Popper）", "n_parts": "图斑数",
    "primary": "小学", "junior": "初中", "True": "是", "False": "否",
    "optimal": "最优", "feasible": "可行", "infeasible": "不可行", "plan": "按既定方案",
    "optimise": "模型优化", "roads": "路网", "sweep": "扫描连通约束", "cheap": "近邻连通约束",
    "flow": "流连通约束",
}


def _label(x, lang: str) -> str:
    return LABELS_ZH.get(str(x), str(x)) if lang == "zh" else str(x)


def summary_figures(summary: dict, lang: str = "en") -> tuple[tuple[str, Any], ...]:
    """(label, value) pairs of a plan summary's flat figures. Wall-clock times stay
    out of the report (they live in timings.json), so the same scenario gives the
    same report byte for byte."""
    keep = {k: v for k, v in summary.items()
            if not isinstance(v, (dict, list)) and "seconds" not in k}
    return tuple((_label(k, lang), _label(v, lang) if isinstance(v, (bool, str)) else v)
                 for k, v in keep.items())


def display_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A plan table with report headers and words for booleans and stages."""
    table = table.rename(columns=lambda c: _label(c, lang))
    for c in table.columns:
        if table[c].dtype == object:
            table[c] = table[c].map(lambda v: _label(v, lang) if isinstance(v, bool)
                                    or v in ("primary", "junior") else v)
    return table


def figures_html(figures, lang: str = "en") -> str:
    head = ("项目", "数值") if lang == "zh" else ("key", "value")
    return table_html(pd.DataFrame({head[0]: [k for k, _ in figures],
                                    head[1]: [v for _, v in figures]}))


def section_html(sec: ReportSection, t: dict, lang: str) -> str:
    """One plan section (:class:`planner.outputs.sections.ReportSection`)."""
    out = [f"<h3>{esc(sec.title)}</h3>"]
    if sec.figures:
        out.append(figures_html(sec.figures, lang))
    for w in sec.warnings:
        out.append(f"<p class='fail'>{esc(w)}</p>")
    for tb in sec.tables:
        if tb.caption:
            out.append(f"<h4>{esc(tb.caption)}</h4>")
        out.append(table_html(tb.frame, t=t))
        if tb.note:
            out.append(f"<p class='meta'>{esc(tb.note)}</p>")
    for n in sec.notes:
        out.append(f"<p class='meta'>{esc(n)}</p>")
    return "\n".join(out)


def build_report(*, scenario_name: str, before: dict, after: dict | None,
                 parts_after: pd.DataFrame | None = None, thresholds: dict | None = None,
                 sections: list[ReportSection] = (),
                 verification: list[str] | None = None, map_html: str | None = None,
                 meta: dict | None = None, lang: str = "zh") -> str:
    """Return the report as one HTML string.

    ``sections``: the plans' sections (:class:`planner.outputs.sections.ReportSection`).
    ``verification``: problems found by the independent verifier (empty: none),
    ``None`` when no verification ran.
    """
    t = T[lang]
    rep = after or before
    body = [f"<h1>{esc(t['title'])}</h1>",
            f"<p class='meta'>{esc(rep.get('district'))} · {esc(scenario_name)} · "
            f"{esc(rep.get('standard'))}</p>",
            f"<h2>{t['verdict']}</h2>", verdict_html(rep, t, lang)]
    if verification is not None:
        body.append(f"<h3>{t['verified']}</h3>")
        if verification:
            body.append(f"<p class='fail'>{t['verified_bad']}</p><ul>" +
                        "".join(f"<li>{esc(v)}</li>" for v in verification) + "</ul>")
        else:
            body.append(f"<p class='pass'>{t['verified_ok']}</p>")
    body.append(f"<h2>{t['a_table']}</h2>")
    body.append(a_table_html(before, after, t, lang))
    body.append(parts_html(parts_after, t, lang, thresholds))
    if sections:
        body.append(f"<h2>{t['plans']}</h2>")
        for sec in sections:
            body.append(section_html(sec, t, lang))
    if map_html:
        body.append(f"<h2>{t['map']}</h2>")
        body.append(f'<iframe class="mapframe" title="map" srcdoc="{esc(map_html)}"></iframe>')
    if meta:
        body.append("<p class='meta'>" + " · ".join(f"{esc(k)}: {esc(v)}" for k, v in meta.items())
                    + "</p>")
    return ("<!DOCTYPE html>\n<html lang=\"" + ("zh-CN" if lang == "zh" else "en") + "\"><head>"
            "<meta charset=\"utf-8\"><title>" + esc(t["title"]) + "</title><style>" + CSS +
            "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
