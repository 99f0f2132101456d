"""Outputs of ``planner check``: a console table, the JSON report, an XLSX workbook.

- :func:`render_console` — the verdict line, each indicator with pass / fail /
  no data, county values and CVs of 1-7, and the failing schools with their gap
  to the threshold (``岳化一小 小学 3.9 < 4.2 (差 0.3)``). Chinese by default,
  English with ``lang="en"``.
- :func:`write_json` — ``Report.to_dict()`` as UTF-8 JSON, keys sorted, floats
  already rounded by the report (6 decimals; ``cv`` and ``cv_exact`` unrounded),
  same input gives the same bytes.
- :func:`write_xlsx` — sheets 指标 / 学校指标 / 差异系数 / 未达标学校 (English
  names with ``lang="en"``); CVs are the unrounded values shown with three decimals
  (number formats; a cell keeps its full value), 差距 the amount missing (positive).
  Any text cell starting with ``= + - @`` (or a tab / carriage return) is written as
  a text cell with a quote prefix, never as a formula. Document properties carry a
  fixed date so the bytes are stable.

Both writers write to a temporary file in the target folder and rename it, so
a failed run never leaves a half-written file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from planner.indicators.engine import PER_PUPIL, Report
from planner.io.export import FORMULA_START, save_workbook, write_text, xlsx_value
from planner.outputs.i18n import label, tr, yes_no

__all__ = ["render_console", "write_json", "write_xlsx", "write_sheets", "fmt_number",
           "safe_cell_text"]

#: the workbook's columns, in order (headers: catalogue ``check.<table>.<column>``)
IND_COLUMNS = ("indicator", "name", "class", "stage", "county_value", "cv", "cv_limit",
               "threshold", "passed", "no_data", "failing", "notes")
CV_COLUMNS = ("indicator", "stage", "parts", "pupils", "county_value", "threshold",
              "county_ok", "cv", "cv_exact", "cv_limit", "cv_ok", "missing")
FAIL_COLUMNS = ("indicator", "school_id", "name", "stage", "value", "threshold", "gap", "check")
PARTS_HEADERS = ("school_id", "name", "stage", "pupils", "value", "threshold", "passed", "met",
                 "passed_all")
SHEETS = ("indicators", "schools", "cv", "failing")
_TEXT_KEYS = ("recognised", "not_recognised", "summary", "b_none", "points", "none", "pass",
              "fail", "no_data", "a_head", "b_head", "veto_head", "county", "cv", "gap", "more",
              "veto_on", "veto_off", "veto_unknown", "b_errors", "missing", "proposed",
              "county_fails", "out_of_scope", "tolerated")


def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def b_grade(report: Report, lang: str = "zh") -> str | None:
    """The B grade in ``lang`` (the standard file's ``zh``/``en`` word of the band)."""
    return report.b_grade_en if _lang(lang) == "en" else report.b_grade


def indicator_name(r, lang: str = "zh") -> str:
    """An indicator's name as the standard file gives it in ``lang`` (``name_zh`` or
    ``name_en``)."""
    return r.name_en if _lang(lang) == "en" else r.name


@lru_cache(maxsize=None)
def _words(lang: str) -> dict[str, str]:
    """The console's words (catalogue ``check.*``, indicators.yaml)."""
    return {k: tr(f"check.{k}", lang) for k in _TEXT_KEYS}


@lru_cache(maxsize=None)
def _head(lang: str) -> dict:
    """The workbook's sheet names and headers in ``lang``."""
    return {"sheets": tuple(tr(f"check.sheet.{k}", lang) for k in SHEETS),
            "ind": [tr(f"check.ind.{c}", lang) for c in IND_COLUMNS],
            "cv": [tr(f"check.cv.{c}", lang) for c in CV_COLUMNS],
            "fail": [tr(f"check.fail.{c}", lang) for c in FAIL_COLUMNS],
            "parts": {c: tr(f"check.parts.{c}", lang) for c in PARTS_HEADERS},
            "yes": label("bool", True, lang), "no": label("bool", False, lang)}


def _stage(code, lang: str) -> str:
    """A stage code in words (a code that is not a stage is shown as it is)."""
    return label("stage", code, lang) if code in ("primary", "junior") else code


MAX_SCHOOLS_SHOWN = 20  # not-a-rule: how many failing schools the console lists


def fmt_number(x, digits: int = 2, lang: str = "zh") -> str:
    """A number with at most ``digits`` decimals, trailing zeros dropped (a truth value
    as 是/否, yes/no)."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return yes_no(x, lang)
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


def _school_line(r, f: dict, lang: str, t: dict) -> str:
    """``岳化一小 小学 3.9 < 4.2 (差 0.3)``: value and standard with enough digits to stay
    off each other, 差 the amount missing (positive), what was checked."""
    from planner.outputs import values as V
    st = "+".join(_stage(x, lang) for x in str(f.get("stage", "")).split("+") if x)
    v, th = f.get("value"), f.get("threshold")
    vt, tt, gt, what = V.failing_texts(r, f, lang)
    rel = ">" if r.kind in V.AT_MOST_KINDS else "<"
    tt = tt.split(" ", 1)[1] if " " in tt else tt
    extra = f" [{what}]" if what else ""
    name = f.get("name") or f.get("school_id")
    if v is None or th is None:
        return f"{name} {st}{extra}"
    return f"{name} {st} {vt} {rel} {tt} ({t['gap']} {gt}){extra}"


def render_console(report: Report, lang: str = "zh") -> str:
    """The report as readable text (Chinese by default)."""
    lang = _lang(lang)
    t = _words(lang)
    lines = []
    verdict = t["recognised"] if report.recognised else t["not_recognised"]
    b = (f"{fmt_number(report.b_score, 1)} {t['points']} "
         f"{b_grade(report, lang)}") if report.b_score is not None else t["b_none"]
    veto = ", ".join((report.veto_names.get(k, {}).get(lang, k)) for k in report.veto) or t["none"]
    title = report.standard_title_en if lang == "en" else report.standard_title_zh
    lines.append(f"{report.district} · {title or report.standard}")
    lines.append(f"{verdict}: " + t["summary"].format(ap=report.a_passed, at=report.a_total,
                                                     and_=report.a_no_data, b=b, veto=veto))
    lines.append("")
    lines.append(t["a_head"])
    for r in report.a_results:
        name = indicator_name(r, lang)
        lines.append(f"  {r.id:>2} {name} — {_status(r, t)}")
        if r.id in PER_PUPIL:
            for st, v in (r.county_value or {}).items():
                cv = (r.cv or {}).get(st)
                th = (r.threshold or {}).get(st)
                lim = (r.cv_limit or {}).get(st)
                from planner.outputs.values import cv_text, num
                cve = (r.cv_exact or {}).get(st, cv)
                lines.append(f"       {_stage(st, lang)}: {t['county']} {num(v, 2, th)} "
                             f"(≥ {fmt_number(th)}), "
                             f"{t['cv']} {cv_text(cve, lim)} (≤ {fmt_number(lim)})")
        elif r.county_value is not None:
            from planner.outputs.values import county_text
            lines.append(f"       {t['county']}: {county_text(r, lang)}")
        det = r.details or {}
        if det.get("county_fails"):
            lines.append(f"       {t['county_fails']}: {', '.join(map(str, det['county_fails']))}")
        for key in ("missing_county", "missing"):
            if det.get(key):
                m = det[key]
                if isinstance(m, list):
                    m = ", ".join(x if isinstance(x, str) else str(x.get("school_id", x))
                                  for x in m[:10]) + \
                        (" …" if len(det[key]) > 10 else "")
                lines.append(f"       {t['missing']}: {m}")
        for f in r.failing_schools[:MAX_SCHOOLS_SHOWN]:
            lines.append("       " + _school_line(r, f, lang, t))
        if len(r.failing_schools) > MAX_SCHOOLS_SHOWN:
            lines.append("       " + t["more"].format(n=len(r.failing_schools) - MAX_SCHOOLS_SHOWN))
        if det.get("tolerated"):
            lines.append(f"       {t['tolerated']}: {len(det['tolerated'])}")
    lines.append("")
    lines.append(t["b_head"])
    for r in report.b_results:
        name = indicator_name(r, lang)
        pts = (r.details or {}).get("points")
        sc = fmt_number(r.county_value, 1) if r.county_value is not None else "—"
        lines.append(f"  {r.id:>2} {name} — {sc}/{fmt_number(pts)} {_status(r, t)}")
        prop = (r.details or {}).get("proposed")
        if prop:
            lines.append(f"       {t['proposed']} {r.id}.{prop['item']}: "
                         f"{fmt_number(prop['score'], 1)}/"
                         f"{fmt_number(prop['points'])} ({prop['served']}/{prop['units_checked']})")
    for e in report.b_errors:
        lines.append(f"  {t['b_errors']}: {e}")
    lines.append("")
    lines.append(t["veto_head"])
    for k, names in report.veto_names.items():
        state = t["veto_on"] if k in report.veto else (
            t["veto_unknown"] if k in report.veto_unknown else t["veto_off"])
        lines.append(f"  {names.get(lang, k)}: {state}")
    if report.out_of_scope:
        lines.append("")
        lines.append(f"{t['out_of_scope']}: {len(report.out_of_scope)}")
    if report.input_warnings:
        from planner.outputs.values import input_warning_text
        lines.append("")
        lines.append(tr("input.head", lang))
        lines += ["  " + input_warning_text(w, lang) for w in report.input_warnings]
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


def _cell(v, lang):
    if v is None:
        return None
    if isinstance(v, bool):
        return _head(lang)["yes"] if v else _head(lang)["no"]
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
        if isinstance(v, bool):
            return _head(lang)["yes"] if v else _head(lang)["no"]
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False, sort_keys=True)
    return v


def _append(ws, values, lang):
    row = [xlsx_value(_cell(v, lang)) for v in values]
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

    lang = _lang(lang)
    h = _head(lang)
    t = _words(lang)
    wb = Workbook()
    fixed = _dt.datetime(2000, 1, 1)  # not-a-rule: a fixed date, so the bytes are stable
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "junheng-planner"
    ws = wb.active
    ws.title = h["sheets"][0]
    _append(ws, h["ind"], lang)
    for r in report.indicators:
        name = indicator_name(r, lang)
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
                _append(ws, [r.id, name, r.cls, _stage(st, lang), v, (r.cv_exact or {}).get(st),
                             (r.cv_limit or {}).get(st), (r.threshold or {}).get(st), status,
                             bool(r.no_data), nf, note], lang)
        else:
            from planner.outputs.values import county_text, threshold_text
            cv = r.county_value
            thr = r.threshold
            _append(ws, [r.id, name, r.cls, None,
                         cv if isinstance(cv, (int, float)) and not isinstance(cv, bool)
                         else county_text(r, lang), None, None,
                         thr if isinstance(thr, (int, float)) and not isinstance(thr, bool)
                         else threshold_text(r, lang), status,
                         bool(r.no_data), len(r.failing_schools), note], lang)

    ws2 = wb.create_sheet(h["sheets"][1])
    parts = report.parts_table()
    ph = h["parts"]
    cols = ["school_id", "name", "stage", "pupils"]
    heads = [ph[c] for c in cols]
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
        sub["stage"] = sub["stage"].map(lambda x: _stage(x, lang))
        for row in sub.itertuples(index=False, name=None):
            _append(ws2, list(row), lang)

    ws3 = wb.create_sheet(h["sheets"][2])
    _append(ws3, h["cv"], lang)
    cvt = report.cv_table()
    for row in cvt.itertuples(index=False):
        _append(ws3, [row.indicator, _stage(row.stage, lang), row.parts, row.pupils,
                      row.county_value, row.threshold, bool(row.county_ok), row.cv_exact,
                      row.cv_exact,
                      row.cv_limit, bool(row.cv_ok), row.missing], lang)

    ws4 = wb.create_sheet(h["sheets"][3])
    _append(ws4, h["fail"], lang)
    for r in report.a_results:
        for f in r.failing_schools:
            _append(ws4, [r.id, f.get("school_id"), f.get("name"),
                          "+".join(_stage(x, lang) for x in str(f.get("stage") or "").split("+")
                                   if x),
                          f.get("value"), f.get("threshold"), f.get("gap"),
                          label("check.item", f["check"], lang) if f.get("check") else None],
                    lang)
    cv_heads = {h["cv"][CV_COLUMNS.index("cv")], h["cv"][CV_COLUMNS.index("cv_exact")],
                h["ind"][IND_COLUMNS.index("cv")]}
    for w in wb.worksheets:
        w.freeze_panes = "A2"
        _number_formats(w, cv_heads)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return save_workbook(wb, path)


def _display_width(v) -> int:
    """Columns a value takes in a spreadsheet cell (a CJK character counts two)."""
    import unicodedata
    text = "" if v is None else str(v)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _default_format(values) -> str | None:
    """The number format of a column without one: whole numbers grouped, other numbers
    with two decimals (a cell keeps its full value; only the display is rounded)."""
    vals = [v for v in values if isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_)) and not (isinstance(v, float) and
                                                              math.isnan(v))]
    if not vals:
        return None
    if all(float(v).is_integer() for v in vals):
        return "#,##0"
    return "#,##0.00"


def _sheet_cell(v, lang: str):
    """A display table's value as a cell: missing → empty, a truth value in words, a
    list joined with 、 (never a Python repr)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (list, tuple, set)):
        from planner.outputs.values import listing
        return listing([str(x) for x in v], lang)
    if isinstance(v, dict):
        return tr("check.sep", lang).join(f"{k} {x}" for k, x in v.items())
    return _cell(v, lang)


def write_sheets(sheets: dict[str, pd.DataFrame], path: str | os.PathLike,
                 lang: str = "zh") -> Path:
    """Write display tables as one workbook: a sheet per table, bold wrapped headers,
    frozen header row and filters, column widths from the content (CJK counted double),
    text cells as text (a value that could start a formula never becomes one), truth
    values as 是/否 only if the table has them as words already (the tables are built
    in words), and number formats: ``df.attrs["cell_formats"]`` (``{(row, column):
    format}``), else ``df.attrs["formats"]`` (``{column: format}``), else whole numbers
    ``#,##0`` and other numbers ``#,##0.00``. The same tables give the same bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for name, df in sheets.items():
        title = str(name)[:31]
        for ch in "[]:*?/\\":
            title = title.replace(ch, "_")
        k = 2
        while title in used:
            title = f"{str(name)[:28]}_{k}"
            k += 1
        used.add(title)
        ws = wb.create_sheet(title=title)
        names = list(df.columns)
        # plain rows first: a frame's attrs are deep-copied by every pandas operation
        cell_formats = df.attrs.get("cell_formats") or {}
        col_formats = dict(df.attrs.get("formats") or {})
        rows = [[xlsx_value(_sheet_cell(v, lang)) for v in r] for r in
                df.to_numpy(dtype=object, na_value=None).tolist()]
        defaults = [_default_format([r[j] for r in rows]) for j in range(len(names))]
        ws.append([xlsx_value(str(c)) for c in names])
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="EEF1F5")
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for i, values in enumerate(rows):
            ws.append(values)
            for cell, c, v, default in zip(ws[ws.max_row], names, values, defaults):
                if isinstance(v, str):
                    cell.data_type = "s"
                    if safe_cell_text(v):
                        cell.quotePrefix = True
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    fm = cell_formats.get((i, c)) or col_formats.get(c) or default
                    if fm:
                        cell.number_format = fm
        for j, c in enumerate(names, start=1):
            width = max([_display_width(c) / 1.6] +
                        [_display_width(r[j - 1]) for r in rows[:300]]) + 2
            ws.column_dimensions[get_column_letter(j)].width = min(48, max(8, width))
        ws.freeze_panes = "A2"
        if names:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(names))}{max(1, len(rows) + 1)}"
    fixed = _dt.datetime(2000, 1, 1)  # not-a-rule: a fixed date, so the bytes are stable
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.properties.creator = "junheng-planner"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return save_workbook(wb, path)


def _number_formats(ws, cv_heads: set[str]) -> None:
    """Number formats of a sheet written cell by cell: CVs with three decimals, other
    fractional numbers with two, whole numbers grouped (the cells keep full values)."""
    heads = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        for head, c in zip(heads, row):
            v = c.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if head in cv_heads:
                c.number_format = "0.000"
            elif float(v).is_integer():
                c.number_format = "#,##0"
            else:
                c.number_format = "#,##0.00"


def cv_frame(report: Report, lang: str = "zh") -> pd.DataFrame:
    """The CV table with the sheet's headers (for HTML reports)."""
    df = report.cv_table()
    head = _head(_lang(lang))["cv"]
    if len(df.columns) == len(head):
        df.columns = head
    return df
