"""The scenario report (``report.html``): self-contained, prints on A4.

Built from the typed indicator reports before and after
(:class:`planner.indicators.Report`) and each plan's
:class:`~planner.outputs.sections.ReportSection` from its presenter, in this order:

1. the verdict (recognised or not, A passed before → after, the B score and grade,
   the vetoes) and why it does not pass: every failing A indicator with its failing
   schools by name; the independent verification;
2. the A indicators before and after: status, county value, the standard, the CVs of
   1-7 (three decimals) and the failing schools, each before → after; then the failing
   schools after the plans (value, standard, 差 = the amount missing, positive) and the
   teachers short of training hours or a certificate, by name (17, 20);
3. the B indicators by item (points, score, the 80 % line of each indicator and the
   total rule) and the veto table;
4. indicators 1-7 by school (after), with a chart per indicator and stage that fails;
5. the plans' sections, the map (``<iframe srcdoc>``; the map collapses its layer panel
   when it sits in a frame), the data warnings of the loader;
6. 技术说明, collapsed (``<details>``): every section's ``technical`` items (solver,
   status, gap, objective ...), and any plan figure whose catalogue key names one of
   them (:data:`TECHNICAL`), the input fingerprint and the toolkit version.

Words come from the catalogue (``report.*`` in ``catalogue/run.yaml``), values from
:mod:`planner.outputs.values` (no value rounded onto its threshold, CVs with three
decimals, shares as percentages). Every text from the data is escaped; there are no
scripts except the embedded map, and nothing is fetched from the network.
"""

from __future__ import annotations

import html
import math
import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from planner.indicators.engine import IndicatorResult, Report, plain
from planner.outputs import values as V
from planner.outputs.checkfiles import b_grade, indicator_name
from planner.outputs.i18n import catalogue, label, tr, yes_no
from planner.outputs.sections import ReportSection
from planner.outputs.verification import problem_text

__all__ = ["build_report", "display_table", "summary_figures", "table_html", "esc", "fmt",
           "words", "TECHNICAL", "is_technical", "TechnicalFigure"]
#: the parts of the report that a check-only report (the province's county report,
#: planner.outputs.province.county_report_html) assembles in its own order
__all__ += ["CSS", "verdict_html", "a_table_html", "failing_html", "short_teachers_html",
            "b_table_html", "veto_html", "parts_html", "warnings_html"]


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
h4 { font-size: 10pt; margin: 3mm 0 1mm; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eef1f5; } tr { break-inside: avoid; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.atable { table-layout: fixed; }
table.atable td { overflow-wrap: anywhere; }
table.atable td.nw { overflow-wrap: normal; }
td.st, td.nw { white-space: nowrap; }
table.parts td:first-child { white-space: nowrap; }
.pass { color: #17663a; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.nodata { color: #8a6d00; font-weight: 600; }
tr.changed td { background: #fff6d6; }
tr.total td { font-weight: 600; background: #f6f7f9; }
.verdict { padding: 3mm; border: 2px solid; margin: 2mm 0; }
.verdict.ok { border-color: #17663a; } .verdict.bad { border-color: #b3261e; }
.verdict ul { margin: 1mm 0 0; padding-left: 5mm; }
.headline { font-weight: 600; color: #0d47a1; margin: 2mm 0; }
.meta { color: #555; font-size: 8.5pt; }
.warn { color: #8a4b00; }
.mapframe { width: 100%; height: 165mm; border: 1px solid #999; display: block; }
svg text { font-size: 8px; }
details.tech { margin-top: 8mm; border-top: 1px solid #999; padding-top: 2mm; }
details.tech summary { font-size: 13pt; font-weight: 600; cursor: pointer; }
@media print { .mapframe { height: 130mm; } }
"""


def esc(x: Any) -> str:
    return html.escape("" if x is None else str(x), quote=True)


def fmt(x: Any, nd: int = 2, lang: str = "zh") -> str:
    """A value of a table cell: numbers grouped by thousands with ``nd`` decimals at most,
    a truth value as 是/否 (yes/no), nothing as "—" (never ``nan``/``None``/``True``)."""
    if x is None or x is pd.NA:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return esc(yes_no(bool(x), lang))
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        if math.isnan(float(x)):
            return "—"
        return V.num(float(x), nd)
    if isinstance(x, (dict, list, tuple, set)):
        return "—"
    return esc(x)


# ------------------------------------------------------------------- figures

#: figure keys that describe the solver, not the plan: shown in 技术说明 only
TECHNICAL = ("status", "objective", "gap", "solver", "mip_objective", "solve_seconds",
             "seconds", "time_limit", "seed", "iterations")


class TechnicalFigure(tuple):
    """A (label, value) pair of a solver figure: the report moves it to 技术说明."""


@lru_cache(maxsize=None)
def _technical_labels(lang: str) -> frozenset[str]:
    """The words of every catalogue key whose last part names a solver figure (any
    presenter's ``<plan>.figure.status``, ``report.label.gap`` ...)."""
    return frozenset(v[lang] for k, v in catalogue().items()
                     if k.rsplit(".", 1)[-1] in TECHNICAL and not k.startswith("status."))


def is_technical(fig: tuple, lang: str) -> bool:
    """True for a figure of a section that belongs in 技术说明."""
    return isinstance(fig, TechnicalFigure) or (bool(fig) and str(fig[0]) in
                                                _technical_labels(lang))


def _label(x, lang: str) -> str:
    """A plan figure's or column's label (catalogue ``report.label.<code>``), a word for
    a boolean, stage or status; else the value."""
    return label("report.label", str(x), lang)


def _figure_value(v: Any, lang: str) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return yes_no(bool(v), lang)
    if isinstance(v, str):
        return _label(v, lang)
    return v


def summary_figures(summary: dict, lang: str = "en") -> tuple[tuple[str, Any], ...]:
    """(label, value) pairs of a plan summary's flat figures. Solver figures
    (:data:`TECHNICAL`) come as :class:`TechnicalFigure` (the report shows them in
    技术说明). Wall-clock times stay out of the report (they live in timings.json), so
    the same scenario gives the same report byte for byte."""
    out: list[tuple[str, Any]] = []
    for k, v in summary.items():
        if isinstance(v, (dict, list, tuple)) or "seconds" in k or v is None:
            continue
        pair = (_label(k, lang), _figure_value(v, lang))
        out.append(TechnicalFigure(pair) if k in TECHNICAL else pair)
    return tuple(out)


def display_table(table: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A plan table with report headers and words for booleans and stages."""
    table = table.rename(columns=lambda c: _label(c, lang))
    for c in table.columns:
        col = table[c]
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col) \
                or pd.api.types.is_bool_dtype(col):
            table[c] = [_label(v, lang) if isinstance(v, (bool, np.bool_))
                        or v in ("primary", "junior") else v for v in col]
    return table


# ------------------------------------------------------------------- pieces

def _status(ind: IndicatorResult | None, t: dict) -> str:
    if ind is None:
        return "—"
    if ind.no_data:
        return f'<span class="nodata">{t["nodata"]}</span>'
    return f'<span class="pass">{t["yes"]}</span>' if ind.passed else \
        f'<span class="fail">{t["no"]}</span>'


def _ind_name(ind: IndicatorResult, lang: str) -> str:
    return f'{ind.id}. {esc(indicator_name(ind, lang))}'


_NUMBER = re.compile(r"^(-?[\d,]+)(?:\.(\d+))?( %)?$")


def _same_decimals(a: str, b: str) -> tuple[str, str]:
    """Two shown numbers with the same decimals: the one whose trailing zeros were
    dropped gets them back ("1.41", "1.4" → "1.41", "1.40"); anything else as it is."""
    ma, mb = _NUMBER.match(a), _NUMBER.match(b)
    if not ma or not mb or ma.group(3) != mb.group(3):
        return a, b
    d = max(len(ma.group(2) or ""), len(mb.group(2) or ""))

    def pad(m: re.Match) -> str:
        frac = (m.group(2) or "").ljust(d, "0")
        return m.group(1) + (f".{frac}" if frac else "") + (m.group(3) or "")
    return pad(ma), pad(mb)


def _arrow(a: str, b: str | None) -> str:
    """"a → b", or a alone when nothing changed (or there is no after); two numbers
    with the same decimals (1.41 → 1.40)."""
    if b is None or a == b:
        return a
    a, b = _same_decimals(a, b)
    return f"{a} → {b}"


def _per_stage(b: IndicatorResult | None, a: IndicatorResult, getter, lang: str) -> str:
    """Per stage lines "小学 a → b" of a per-pupil indicator."""
    stages = [st for st in ("primary", "junior")
              if st in (a.county_value or {}) or (b is not None and st in (b.county_value or {}))]
    out = []
    for st in stages:
        vb = getter(b, st) if b is not None else None
        va = getter(a, st)
        out.append(f"{esc(V.stage_word(st, lang))} {_arrow(vb, va) if vb is not None else va}")
    return "<br>".join(out) or "—"


def _county(ind: IndicatorResult | None, st: str) -> str:
    if ind is None:
        return "—"
    thr = (ind.threshold or {}).get(st) if isinstance(ind.threshold, dict) else None
    return V.num((ind.county_value or {}).get(st), 2, thr)


def _cv(ind: IndicatorResult | None, st: str) -> str:
    if ind is None:
        return "—"
    lim = (ind.cv_limit or {}).get(st)
    return V.cv_text((ind.cv_exact or {}).get(st), lim)


def verdict_html(before: Report, rep: Report, t: dict, lang: str) -> str:
    ok = bool(rep.recognised)
    fails = [i for i in rep.a_results if not i.passed]
    grade = b_grade(rep, lang)
    b = (f"{V.num(plain(rep.b_score), 1)} {t['points']}（{esc(grade or '—')}）" if lang == "zh"
         else f"{V.num(plain(rep.b_score), 1)} ({esc(grade or '—')})") \
        if rep.b_score is not None else esc(t["b_incomplete"])
    vetoes = [rep.veto_names.get(k, {}).get(lang, k) for k in rep.veto]
    unknown = [rep.veto_names.get(k, {}).get(lang, k) for k in rep.veto_unknown]
    veto = V.listing(vetoes, lang) if vetoes else t["none"]
    if unknown:
        veto += f"（{t['veto_unknown']}：{V.listing(unknown, lang)}）" if lang == "zh" else \
            f" ({t['veto_unknown']}: {', '.join(unknown)})"
    a_line = f"{rep.a_passed} / {rep.a_total}"
    if before is not rep:
        a_line = f"{t['before']} {before.a_passed} / {before.a_total} → {t['after']} {a_line}"
    lines = [f'<div class="verdict {"ok" if ok else "bad"}"><b>'
             f'{t["recognised"] if ok else t["not_recognised"]}</b><br>'
             f'{t["a_passed"]}: {a_line}'
             f' · {t["b_score"]}: {b}'
             f' · {t["veto"]}: {esc(veto)}</div>']
    if not ok and fails:
        lines.append(f"<h3>{t['why']}</h3><ul>")
        for i in fails:
            why = t["nodata"] if i.no_data else t["no"]
            fs = i.failing_schools
            if fs:
                names = V.listing([esc(f.get("name") or f.get("school_id")) for f in fs[:6]],
                                  lang)
                more = f" …（+{len(fs) - 6}）" if len(fs) > 6 else ""
                extra = f" — {t['failing']}: {names}{more}"
            elif not i.no_data:
                extra = f" — {t['county_fails']}: {esc(V.county_text(i, lang))}"
            else:
                extra = ""
            lines.append(f"<li>{_ind_name(i, lang)}: {why}{extra}</li>")
        lines.append("</ul>")
    if not rep.b_rule and rep.b_score is not None:
        lines.append(f"<p class='fail'>{esc(t['b_rule_fails'])}</p>")
    return "\n".join(lines)


def _lines(text: str) -> str:
    """Escaped text with one line per part ("；" / "; " separated)."""
    return "<br>".join(esc(x) for x in text.replace("; ", "；").split("；"))


def a_table_html(before: Report, after: Report | None, t: dict, lang: str) -> str:
    """The A indicators: status, county value, standard, CV and failing schools, each
    before → after (one state when there is no plan)."""
    two = after is not None
    after = after or before
    bmap = {i.id: i for i in before.a_results}
    head = [t["indicator"]]
    head += [t["before"], t["after"]] if two else [t["passed"]]
    head += [t["county"], t["threshold"], t["cv"], t["cv_limit"], t["failing_n"]]
    widths = ([20, 5.5, 5.5] if two else [26, 6]) + [21, 14, 20, 6.5, 7.5]  # not-a-rule: col %
    rows = ([f"<p class='meta'>{esc(t['a_table_note'])}</p>"] if two else []) + [
        "<table class='atable'><colgroup>" + "".join(f"<col style='width:{w}%'>"
                                                         for w in widths) + "</colgroup><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for a in after.a_results:
        b = bmap.get(a.id) if two else None
        nb = len(b.failing_schools) if b is not None else None
        na = len(a.failing_schools)
        changed = two and (b is None or (b.passed, b.no_data) != (a.passed, a.no_data)
                           or nb != na)
        if a.kind == "per_pupil":
            county = _per_stage(b, a, _county, lang)
            cv = _per_stage(b, a, _cv, lang)
            # one line per stage, as the county value and CV cells beside it
            stages = [st for st in ("primary", "junior")
                      if st in (a.county_value or {}) or (b is not None and
                                                          st in (b.county_value or {}))]
            lim = "<br>".join(f"≤ {V.num((a.cv_limit or {}).get(st), 2, fixed=True)}"
                              for st in stages)
        else:
            cb = _lines(V.county_text(b, lang)) if b is not None else None
            ca = _lines(V.county_text(a, lang))
            county = ca if cb is None or cb == ca else f"{cb}<br>→ {ca}"
            cv, lim = "—", "—"
        cells = [f"<td>{_ind_name(a, lang)}</td>"]
        if two:
            cells.append(f"<td class='st'>{_status(b, t)}</td>")
        cells.append(f"<td class='st'>{_status(a, t)}</td>")
        nw = " nw" if a.kind == "per_pupil" else ""
        cells += [f"<td class='num{nw}'>{county}</td>",
                  f"<td>{_lines(V.threshold_text(a, lang))}</td>",
                  f"<td class='num nw'>{cv}</td>", f"<td class='num nw'>{lim}</td>",
                  f"<td class='num'>{_arrow(str(nb), str(na)) if two else na}</td>"]
        rows.append(f'<tr class="{"changed" if changed else ""}">' + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def failing_html(rep: Report, t: dict, lang: str) -> str:
    """Every failing school of an A indicator: value, standard and 差 (positive)."""
    rows = []
    for ind in rep.a_results:
        for f in ind.failing_schools:
            v, thr, gap, what = V.failing_texts(ind, f, lang)
            rows.append(f"<tr><td>{_ind_name(ind, lang)}</td>"
                        f"<td>{esc(f.get('name') or f.get('school_id'))}</td>"
                        f"<td class='st'>{esc(V.stage_word(f.get('stage'), lang))}</td>"
                        f"<td>{esc(what)}</td><td class='num nw fail'>{v}</td>"
                        f"<td class='num nw'>{esc(thr)}</td><td class='num nw'>{gap}</td></tr>")
    if not rows:
        return ""
    head = [t["indicator"], t["school"], t["stage"], t["checked"], t["value"], t["threshold"],
            t["gap"]]
    return (f"<h3>{t['failing_schools_after']}</h3><table><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"
            + f"<p class='meta'>{esc(t['gap_note'])}</p>")


def short_teachers_html(rep: Report, t: dict, lang: str) -> str:
    """The teachers short of training hours (17) or of a certificate (20), by name."""
    rows = []
    for ind in rep.a_results:
        if ind.kind not in ("training_hours", "certification"):
            continue
        for x in (ind.details or {}).get("short_teachers", []):
            v = x.get("value")
            if ind.kind == "training_hours":
                rec = (tr("report.hours", lang, v=V.num(v, 1)) if v is not None
                       else t["not_recorded"])
            else:
                rec = yes_no(v, lang) if v is not None else t["not_recorded"]
            rows.append(f"<tr><td>{_ind_name(ind, lang)}</td><td>{esc(x.get('name'))}</td>"
                        f"<td>{esc(x.get('school') or x.get('school_id'))}</td>"
                        f"<td class='st'>{esc(V.stage_word(x.get('stage'), lang))}</td>"
                        f"<td class='num'>{esc(rec)}</td></tr>")
    if not rows:
        return ""
    head = [t["indicator"], t["teacher"], t["school"], t["stage"], t["recorded"]]
    return (f"<h3>{t['short_teachers']}</h3><table><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>")


def b_table_html(rep: Report, t: dict, lang: str) -> str:
    """The B indicators by item: points and score, each indicator against 80 % of its
    points, and the total rule."""
    rows = []
    for ind in rep.b_results:
        det = ind.details or {}
        items = det.get("items") or []
        full = det.get("points")
        n = max(1, len(items))
        score = V.num(ind.county_value, 1) if ind.county_value is not None else "—"
        head = (f"<td rowspan='{n}'>{_ind_name(ind, lang)}</td>")
        tail = (f"<td rowspan='{n}' class='num'>{score} / {V.num(full, 1)}</td>"
                f"<td rowspan='{n}' class='num'>{esc(V.num(ind.threshold, 1))}</td>"
                f"<td rowspan='{n}' class='st'>{_status(ind, t)}</td>")
        prop = det.get("proposed")
        for k, it in enumerate(items or [{}]):
            text = esc(it.get("zh", "")) if lang == "zh" else ""
            name = f"{esc(it.get('item', ''))} {text}".strip()
            if prop and it.get("item") == f"{ind.id}.{prop.get('item')}":
                key = "report.b_proposed" if prop.get("units_checked") else \
                    "report.b_proposed_none"
                name += "<br><span class='meta'>" + esc(tr(
                    key, lang, score=V.num(prop.get("score"), 1),
                    served=prop.get("served"), units=prop.get("units_checked"))) + "</span>"
            sc = it.get("score")
            cells = (f"<td>{name}</td><td class='num'>{V.num(it.get('points'), 1)}</td>"
                     f"<td class='num'>{V.num(sc, 1) if sc is not None else '—'}</td>")
            rows.append("<tr>" + (head if k == 0 else "") + cells + (tail if k == 0 else "")
                        + "</tr>")
    head = [t["indicator"], t["b_item"], t["b_points"], t["b_item_score"], t["b_score_full"],
            t["b_line"], t["passed"]]
    total = V.num(rep.b_score, 1) if rep.b_score is not None else "—"
    grade = b_grade(rep, lang) or "—"
    full = sum(float((i.details or {}).get("points") or 0) for i in rep.b_results)
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows)
           + f"<tr class='total'><td colspan='4'>{t['b_total']}</td>"
           f"<td class='num'>{total} / {V.num(full, 1)}</td>"
           f"<td class='num'>≥ {V.num(rep.b_total_min, 1)}</td>"
           f"<td class='st'>{esc(grade)}</td></tr></table>"]
    rule = tr("report.b_rule", lang, share=V.pct(rep.b_indicator_min_share),
              total=V.num(rep.b_total_min, 1))
    verdict = yes_no(rep.b_rule, lang) if rep.b_score is not None else t["b_incomplete"]
    out.append(f"<p class='meta'>{esc(rule)}{esc(t['colon'])}{esc(verdict)}</p>")
    for e in rep.b_errors:
        out.append(f"<p class='fail'>{esc(e)}</p>")
    return "\n".join(out)


def veto_html(rep: Report, t: dict, lang: str) -> str:
    rows = []
    for k, names in rep.veto_names.items():
        if k in rep.veto:
            state, cls = t["veto_on"], "fail"
        elif k in rep.veto_unknown:
            state, cls = t["veto_unknown"], "nodata"
        else:
            state, cls = t["veto_off"], "pass"
        rows.append(f"<tr><td>{esc(names.get(lang, k))}</td>"
                    f"<td class='st {cls}'>{esc(state)}</td></tr>")
    return (f"<table><tr><th>{t['veto_item']}</th><th>{t['veto_state']}</th></tr>"
            + "".join(rows) + "</table>")


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
                     f'<text x="{left + w + 3:.1f}" y="{y + 9}">{V.num(v, 2, threshold)}</text>')
    tx = left + threshold * sx
    parts.append(f'<line x1="{tx:.1f}" y1="{top - 3}" x2="{tx:.1f}" y2="{h - 10}" '
                 f'stroke="#222" stroke-dasharray="3,2"/><text x="{tx + 2:.1f}" y="{h - 2}">'
                 f'{V.num(threshold, 2)}</text></svg>')
    return "".join(parts)


def _known(x) -> bool:
    return x is not None and x is not pd.NA and not (isinstance(x, float) and math.isnan(x))


def parts_html(parts: pd.DataFrame | None, t: dict, lang: str, thresholds: dict | None,
               names: dict | None = None) -> str:
    """Per-school tables of indicators 1–7 (after), with a chart per indicator and stage
    for the values below threshold (a picture reads faster than a table)."""
    if parts is None or len(parts) == 0:
        return ""
    names = names or {}
    out = [f"<h2>{t['schools_table']}</h2>"]
    keys = [c.replace("value_", "") for c in parts.columns if c.startswith("value_")]
    for stage in ("primary", "junior"):
        p = parts[parts["stage"] == stage]
        if p.empty:
            continue
        out.append(f"<h3>{t[stage]}</h3><table class='parts'><tr><th>{t['school']}</th>"
                   f"<th>{t['pupils']}</th>")
        for k in keys:
            out.append(f"<th>{k}. {esc(V.short_name(int(k), lang, names.get(int(k))))}</th>")
        out.append("</tr>")
        for _, r in p.iterrows():
            out.append(f"<tr><td>{esc(r.get('name', r.get('school_id')))}</td>"
                       f"<td class='num'>{fmt(r.get('pupils'), lang=lang)}</td>")
            for k in keys:
                ok = r.get(f"passed_{k}")
                cls = "" if not _known(ok) else ("pass" if bool(ok) else "fail")
                thr = r.get(f"threshold_{k}")
                out.append(f"<td class='num {cls}'>"
                           f"{V.num(r.get(f'value_{k}'), 2, thr if _known(thr) else None)}</td>")
            out.append("</tr>")
        out.append("</table>")
        if thresholds:
            for k in keys:
                thr = (thresholds.get(k) or {}).get(stage)
                if thr is None:
                    continue
                vals = p[f"value_{k}"].astype(float)
                if not (vals < thr * (1 - 1e-9)).any():
                    continue
                order = vals.sort_values().index[:25]
                out.append(bar_chart_svg(
                    [str(p.loc[i, "name"]) for i in order], [float(vals[i]) for i in order],
                    float(thr), f"{k}. {V.short_name(int(k), lang, names.get(int(k)))} · "
                                f"{t[stage]}"))
    return "\n".join(out)


def table_html(df: pd.DataFrame, max_rows: int = 300, t: dict | None = None,
               lang: str | None = None) -> str:
    """A table of display values: numbers right-aligned and grouped, truth values and
    empty cells in words (``lang``; from ``t`` when not given)."""
    lang = lang or ("en" if t is not None and t.get("html_lang") == "en" else "zh")
    if df is None or len(df) == 0:
        return "<p>—</p>"
    cols = list(df.columns)
    rows = ["<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>"]
    for r in df.head(max_rows).itertuples(index=False, name=None):
        cells = []
        for v in r:
            num = isinstance(v, (int, float, np.integer, np.floating)) and \
                not isinstance(v, (bool, np.bool_))
            cells.append(f"<td class='{'num' if num else ''}'>{fmt(v, lang=lang)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    if len(df) > max_rows:
        rows.append(f"<p class='meta'>… {len(df) - max_rows} {(t or words(lang))['more']}</p>")
    return "\n".join(rows)


def figures_html(figures, lang: str = "en") -> str:
    t = words(lang)
    head = (t["figure_key"], t["figure_value"])
    return table_html(pd.DataFrame({head[0]: [k for k, _ in figures],
                                    head[1]: [v for _, v in figures]}, dtype=object),
                      lang=lang)


def split_figures(sec: ReportSection, lang: str) -> tuple[tuple, tuple]:
    """(the plan's figures, its technical items) of a section: the ``technical`` items
    and every figure that :func:`is_technical` finds among the figures."""
    plain_f = tuple(f for f in sec.figures if not is_technical(f, lang))
    tech = tuple(f for f in sec.figures if is_technical(f, lang)) + tuple(sec.technical)
    return plain_f, tech


def section_html(sec: ReportSection, t: dict, lang: str) -> str:
    """One plan section (:class:`planner.outputs.sections.ReportSection`) without its
    technical items."""
    out = [f"<h3>{esc(sec.title)}</h3>"]
    figures, _ = split_figures(sec, lang)
    if figures:
        out.append(figures_html(figures, lang))
    for w in sec.warnings:
        out.append(f"<p class='fail'>{esc(w)}</p>")
    for svg in getattr(sec, "charts", ()):
        out.append(f"<div class='chart'>{svg}</div>")
    for tb in sec.tables:
        if tb.caption:
            out.append(f"<h4>{esc(tb.caption)}</h4>")
        out.append(table_html(tb.frame, t=t, lang=lang))
        if tb.note:
            out.append(f"<p class='meta'>{esc(tb.note)}</p>")
    for n in sec.notes:
        out.append(f"<p class='meta'>{esc(n)}</p>")
    return "\n".join(out)


def technical_html(sections, meta: dict | None, t: dict, lang: str) -> str:
    """技术说明: collapsed; each section's technical items, then the run's meta."""
    parts = []
    for sec in sections:
        _, tech = split_figures(sec, lang)
        if tech:
            parts.append(f"<h4>{esc(sec.title)}</h4>" + figures_html(tech, lang))
    if meta:
        parts.append("<h4>" + esc(t["run_meta"]) + "</h4>" + figures_html(
            [(tr(f"report.meta.{k}", lang) if f"report.meta.{k}" in catalogue() else k, v)
             for k, v in meta.items()], lang))
    if not parts:
        return ""
    return (f"<details class='tech'><summary>{t['technical']}</summary>"
            f"<p class='meta'>{esc(t['technical_note'])}</p>" + "\n".join(parts) + "</details>")


def warnings_html(rep: Report, t: dict, lang: str) -> str:
    """The loader's data warnings (figures of a row that contradict each other)."""
    if not rep.input_warnings:
        return ""
    return (f"<h2>{t['input_warnings']}</h2><ul>" + "".join(
        f"<li class='warn'>{esc(V.input_warning_text(w, lang))}</li>"
        for w in rep.input_warnings) + "</ul>")


def _thresholds(report: Report) -> dict:
    """Thresholds of indicators 1-7 by stage, keyed ``"1"``..``"7"`` (for the charts)."""
    out = {}
    for ind in report.a_results:
        thr = plain(ind.threshold)
        if ind.kind == "per_pupil" and thr:
            out[str(ind.id)] = thr
    return out


def build_report(*, scenario_name: str, before: Report, after: Report | None,
                 sections: list[ReportSection] = (), verification: list | None = None,
                 every_plan_made: bool = True, map_html: str | None = None,
                 meta: dict | None = None, headline: list[str] | tuple[str, ...] = (),
                 lang: str = "zh") -> str:
    """Return the report as one HTML string.

    ``before``/``after``: the indicator reports (``after`` ``None``: no plan).
    ``sections``: the plans' sections (:class:`planner.outputs.sections.ReportSection`).
    ``verification``: problems found by the independent verifier
    (:class:`~planner.verify.problems.Problem` or text; empty: none),
    ``None`` when no verification ran; ``every_plan_made`` false when a plan could not
    meet its hard limits (the report then does not say that every plan passed).
    ``headline``: lines under the verdict that lead from it to recognition (the
    remediation list's cost, the roadmap's first year; presenters' ``headline``).
    ``meta``: figures of the run for 技术说明 (``input_sha256``, ``version``; catalogue
    ``report.meta.<key>``).
    """
    t = words(lang)
    rep = after or before
    title = rep.standard_title_en if lang == "en" else rep.standard_title_zh
    body = [f"<h1>{esc(t['title'])}</h1>",
            f"<p class='meta'>{esc(rep.district)} · {esc(scenario_name)} · "
            f"{esc(title or rep.standard)}</p>",
            f"<h2>{t['verdict']}</h2>", verdict_html(before, rep, t, lang)]
    body += [f"<p class='headline'>{esc(h)}</p>" for h in headline]
    if verification is not None:
        body.append(f"<h3>{t['verified']}</h3>")
        if verification:
            body.append(f"<p class='fail'>{t['verified_bad']}</p><ul>" +
                        "".join(f"<li>{esc(problem_text(v, lang))}</li>"
                                for v in verification) + "</ul>")
        elif every_plan_made and not any(sec.warnings for sec in sections):
            body.append(f"<p class='pass'>{t['verified_ok']}</p>")
        elif every_plan_made:
            n = sum(len(sec.warnings) for sec in sections)
            body.append(f"<p class='fail'>{esc(tr('report.verified_warn', lang, n=n))}</p>")
        else:
            body.append(f"<p class='fail'>{t['verified_partial']}</p>")
    body.append(f"<h2>{t['a_table']}</h2>")
    body.append(a_table_html(before, after, t, lang))
    body.append(failing_html(rep, t, lang))
    body.append(short_teachers_html(rep, t, lang))
    body.append(f"<h2>{t['b_table']}</h2>")
    body.append(b_table_html(rep, t, lang))
    body.append(f"<h2>{t['veto_table']}</h2>")
    body.append(veto_html(rep, t, lang))
    names = {i.id: indicator_name(i, lang) for i in rep.a_results}
    body.append(parts_html(rep.parts_table(), t, lang, _thresholds(rep), names))
    if sections:
        body.append(f"<h2>{t['plans']}</h2>")
        for sec in sections:
            body.append(section_html(sec, t, lang))
    if map_html:
        body.append(f"<h2>{t['map']}</h2>")
        body.append(f'<iframe class="mapframe" title="{esc(t["map"])}" '
                    f'srcdoc="{esc(map_html)}"></iframe>')
    body.append(warnings_html(before, t, lang))
    body.append(technical_html(sections, meta, t, lang))
    return ("<!DOCTYPE html>\n<html lang=\"" + t["html_lang"] + "\"><head>"
            "<meta charset=\"utf-8\"><title>" + esc(t["title"]) + "</title><style>" + CSS +
            "</style></head><body>\n" + "\n".join(x for x in body if x) + "\n</body></html>\n")
