"""The scenario report (``report.html``): self-contained, prints on A4.

Built from the typed indicator reports before and after
(:class:`planner.indicators.Report`: verdict, A indicators before and after, the
per-school-part tables of indicators 1–7) and each plan's
:class:`~planner.outputs.sections.ReportSection` from its presenter. Words come from
the catalogue (``report.*`` in ``catalogue/run.yaml``); numbers are shown as the
JSON report rounds them (:func:`planner.indicators.engine.plain`). Every text from
the data is escaped; there are no scripts except the embedded map (an
``<iframe srcdoc>``), and nothing is fetched from the network.
"""

from __future__ import annotations

import html
import math
from functools import lru_cache
from typing import Any

import pandas as pd

from planner.indicators.engine import IndicatorResult, Report, plain
from planner.outputs.checkfiles import b_grade, indicator_name
from planner.outputs.i18n import catalogue, label
from planner.outputs.sections import ReportSection


@lru_cache(maxsize=None)
def words(lang: str = "zh") -> dict[str, str]:
    """The report's words (catalogue ``report.*``, run.yaml) by short key."""
    return {k[len("report."):]: v[lang] for k, v in catalogue().items()
            if k.startswith("report.") and not k.startswith("report.label.")}


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


def _status(ind: IndicatorResult | None, t: dict) -> str:
    if ind is not None and ind.no_data:
        return f'<span class="nodata">{t["nodata"]}</span>'
    return f'<span class="pass">{t["yes"]}</span>' if ind is not None and ind.passed else \
        f'<span class="fail">{t["no"]}</span>'


def _stage_values(d: Any, t: dict) -> str:
    d = plain(d)
    if not d:
        return "—"
    if isinstance(d, dict):
        return "<br>".join(f"{t.get(k, esc(k))} {fmt(v)}" for k, v in d.items())
    return fmt(d)


def _ind_name(ind: IndicatorResult, lang: str) -> str:
    return f'{ind.id}. {esc(indicator_name(ind, lang))}'


def verdict_html(rep: Report, t: dict, lang: str) -> str:
    ok = bool(rep.recognised)
    fails = [i for i in rep.a_results if not i.passed]
    grade = b_grade(rep, lang)
    lines = [f'<div class="verdict {"ok" if ok else "bad"}"><b>'
             f'{t["recognised"] if ok else t["not_recognised"]}</b><br>'
             f'{t["a_passed"]}: {rep.a_passed} / {rep.a_total}'
             f' · {t["b_score"]}: {fmt(plain(rep.b_score), 1)} ({esc(grade or "—")})'
             f' · {t["veto"]}: {esc("、".join(rep.veto) or t["none"])}</div>']
    if not ok and fails:
        lines.append(f"<h3>{t['why']}</h3><ul>")
        for i in fails:
            why = t["nodata"] if i.no_data else t["no"]
            fs = plain(i.failing_schools)
            extra = ""
            if fs:
                names = "、".join(esc(f.get("name") or f.get("school_id")) for f in fs[:6])
                more = f" … (+{len(fs) - 6})" if len(fs) > 6 else ""
                extra = f" — {t['failing']}: {names}{more}"
            lines.append(f"<li>{_ind_name(i, lang)}: {why}{extra}</li>")
        lines.append("</ul>")
    return "\n".join(lines)


def a_table_html(before: Report, after: Report | None, t: dict, lang: str) -> str:
    bmap = {i.id: i for i in before.a_results}
    amap = {i.id: i for i in (after or before).a_results}
    rows = [f"<table><tr><th>{t['indicator']}</th><th>{t['before']}</th><th>{t['after']}</th>"
            f"<th>{t['county']} ({t['after']})</th><th>{t['cv']} ({t['after']})</th>"
            f"<th>{t['failing']} ({t['before']} → {t['after']})</th></tr>"]
    for iid in sorted(amap):
        b, a = bmap.get(iid), amap[iid]
        nb = len(b.failing_schools) if b is not None else 0
        na = len(a.failing_schools)
        state_b = (b.passed, b.no_data) if b is not None else (None, None)
        changed = state_b != (a.passed, a.no_data) or nb != na
        rows.append(f'<tr class="{"changed" if changed else ""}"><td>{_ind_name(a, lang)}</td>'
                    f"<td class='st'>{_status(b, t)}</td><td class='st'>{_status(a, t)}</td>"
                    f"<td class='num'>{_stage_values(a.county_value, t)}</td>"
                    f"<td class='num'>{_stage_values(a.cv, t)}</td>"
                    f"<td class='num'>{nb} → {na}</td></tr>")
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
        rows.append(f"<p class='meta'>… {len(df) - max_rows} {(t or words('en'))['more']}</p>")
    return "\n".join(rows)


def _label(x, lang: str) -> str:
    """A plan figure's or column's label (catalogue ``report.label.<code>``; the English
    report shows the code), a word for a boolean, stage or status; else the value."""
    return label("report.label", str(x), lang)


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
    t = words(lang)
    head = (t["figure_key"], t["figure_value"])
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


def _thresholds(report: Report) -> dict:
    """Thresholds of indicators 1-7 by stage, keyed ``"1"``..``"7"`` (for the charts)."""
    out = {}
    for ind in report.a_results:
        thr = plain(ind.threshold)
        if ind.id <= 7 and thr:
            out[str(ind.id)] = thr
    return out


def build_report(*, scenario_name: str, before: Report, after: Report | None,
                 sections: list[ReportSection] = (), verification: list[str] | None = None,
                 every_plan_made: bool = True, map_html: str | None = None,
                 meta: dict | None = None, lang: str = "zh") -> str:
    """Return the report as one HTML string.

    ``before``/``after``: the indicator reports (``after`` ``None``: no plan).
    ``sections``: the plans' sections (:class:`planner.outputs.sections.ReportSection`).
    ``verification``: problems found by the independent verifier (empty: none),
    ``None`` when no verification ran; ``every_plan_made`` false when a plan could not
    meet its hard limits (the report then does not say that every plan passed).
    """
    t = words(lang)
    rep = after or before
    body = [f"<h1>{esc(t['title'])}</h1>",
            f"<p class='meta'>{esc(rep.district)} · {esc(scenario_name)} · "
            f"{esc(rep.standard)}</p>",
            f"<h2>{t['verdict']}</h2>", verdict_html(rep, t, lang)]
    if verification is not None:
        body.append(f"<h3>{t['verified']}</h3>")
        if verification:
            body.append(f"<p class='fail'>{t['verified_bad']}</p><ul>" +
                        "".join(f"<li>{esc(v)}</li>" for v in verification) + "</ul>")
        elif every_plan_made:
            body.append(f"<p class='pass'>{t['verified_ok']}</p>")
        else:
            body.append(f"<p class='fail'>{t['verified_partial']}</p>")
    body.append(f"<h2>{t['a_table']}</h2>")
    body.append(a_table_html(before, after, t, lang))
    body.append(parts_html(rep.parts_table(), t, lang, _thresholds(rep)))
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
    return ("<!DOCTYPE html>\n<html lang=\"" + t["html_lang"] + "\"><head>"
            "<meta charset=\"utf-8\"><title>" + esc(t["title"]) + "</title><style>" + CSS +
            "</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
