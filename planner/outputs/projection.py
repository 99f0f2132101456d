"""The enrolment projection as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

- ``projection.csv`` (docs/data-format.md): ``school_id, school, stage, school_year,
  pupils, low, high`` — whole pupils (rounded half up), the 80 % band;
- ``projection_candidates.csv``: schools projected under the standard's candidate size
  (``school_id, school, base_pupils, first_year, pupils, already_below``);
- ``projection_county.csv``: the county per stage and year with its band;
- with a backtest, ``backtest.csv`` (MAPE per school, stage and horizon) and
  ``backtest.json`` (the county MAPE per stage and horizon, the band's coverage).
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import pandas as pd

from planner.io.export import write_csv, write_json, write_xlsx
from planner.outputs import values as V
from planner.outputs.i18n import tr
from planner.outputs.sections import ReportSection, Table
from planner.plans.projection import BacktestOutcome, ProjectionOutcome

__all__ = ["COLUMNS", "backtest_lines", "chart_svg", "compare_figures", "console_lines",
           "map_layers", "projection_table", "report_sections", "workbook_sheets",
           "write_backtest", "write_files"]

COLUMNS = ["school_id", "school", "stage", "school_year", "pupils", "low", "high"]
CANDIDATE_COLUMNS = ["school_id", "school", "base_pupils", "first_year", "pupils",
                     "already_below"]
#: horizons of the backtest's headline (the issue's 1 and 5 years)
HEADLINE = (1, 5)


def _whole(x: Any) -> int:
    return int(math.floor(float(x) + 0.5))  # not-a-rule: rounding half up


def projection_table(o: ProjectionOutcome) -> pd.DataFrame:
    """The rows of ``projection.csv`` (codes, whole pupils)."""
    t = o.result.totals
    return pd.DataFrame({
        "school_id": t["school_id"].astype(str),
        "school": [o.names.get(s, s) for s in t["school_id"]],
        "stage": t["stage"].astype(str), "school_year": t["school_year"].astype(int),
        "pupils": [_whole(x) for x in t["pupils"]], "low": [_whole(x) for x in t["low"]],
        "high": [_whole(x) for x in t["high"]]}, columns=COLUMNS)


def _candidates(o: ProjectionOutcome) -> pd.DataFrame:
    f = o.result.flags if o.candidates is None else o.candidates
    return pd.DataFrame({
        "school_id": f["school_id"].astype(str),
        "school": [o.names.get(s, s) for s in f["school_id"]],
        "base_pupils": [_whole(x) for x in f["base_pupils"]],
        "first_year": f["first_year"].astype(int), "pupils": [_whole(x) for x in f["pupils"]],
        "already_below": f["already_below"].astype(bool)}, columns=CANDIDATE_COLUMNS)


def _county(o: ProjectionOutcome) -> pd.DataFrame:
    c = o.result.county
    return pd.DataFrame({"stage": c["stage"].astype(str),
                         "school_year": c["school_year"].astype(int),
                         "pupils": [_whole(x) for x in c["pupils"]],
                         "low": [_whole(x) for x in c["low"]],
                         "high": [_whole(x) for x in c["high"]]})


def write_backtest(b: BacktestOutcome, out: Path) -> list[Path]:
    s = b.result.schools
    df = pd.DataFrame({"school_id": s["school_id"].astype(str),
                       "school": [b.names.get(x, x) for x in s["school_id"]],
                       "stage": s["stage"].astype(str), "horizon": s["horizon"].astype(int),
                       "mape": [round(float(x), 6) for x in s["mape"]],
                       "origins": s["origins"].astype(int)})
    c = b.result.county
    summary = {"base_years": list(b.result.base_years),
               "county": [{"stage": str(r.stage), "horizon": int(r.horizon),
                           "mape": round(float(r.mape), 6), "origins": int(r.origins)}
                          for r in c.itertuples(index=False)],
               "coverage": [{"horizon": int(r.horizon), "inside": round(float(r.inside), 6),
                             "rows": int(r.rows)} for r in b.result.coverage.itertuples()],
               "county_mape": {str(h): _r6(b.county_mape(h)) for h in HEADLINE}}
    return [write_csv(df, out / "backtest.csv"), write_json(summary, out / "backtest.json")]


def _r6(x: float) -> float | None:
    return None if x != x else round(float(x), 6)


def write_files(o: ProjectionOutcome, out: Path, lang: str = "zh") -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = [write_csv(projection_table(o), out / "projection.csv"),
             write_csv(_candidates(o), out / "projection_candidates.csv"),
             write_csv(_county(o), out / "projection_county.csv")]
    if o.backtest is not None:
        files += write_backtest(o.backtest, out)
    files.append(write_xlsx(workbook_sheets(o, lang), out / "projection.xlsx"))
    return files


def _headers(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    return df.rename(columns={c: tr(f"projection.col.{c}", lang) for c in df.columns})


def _words(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    df = df.copy()
    if "stage" in df.columns:
        df["stage"] = [V.stage_word(s, lang) for s in df["stage"]]
    if "first_year" in df.columns:
        df["first_year"] = [tr("projection.year", lang, year=int(y)) for y in df["first_year"]]
    if "already_below" in df.columns:
        df["already_below"] = [tr("projection.already_below." + ("yes" if v else "no"), lang)
                               for v in df["already_below"]]
    return df


def workbook_sheets(o: ProjectionOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    return {tr("projection.sheet", lang): _headers(_words(projection_table(o), lang), lang),
            tr("projection.sheet.candidates", lang):
                _headers(_words(_candidates(o), lang), lang)}


def chart_svg(o: ProjectionOutcome, lang: str = "zh") -> str:
    """County pupils per stage: the history's last years and the projection with its band
    (an inline SVG; every text escaped)."""
    hist = o.problem.history
    hist = hist.assign(stage=["primary" if g <= 6 else "junior" for g in hist["grade"]])
    hy = hist.groupby(["stage", "school_year"])["pupils"].sum()
    c = o.result.county
    years_h = sorted({int(y) for y in hist["school_year"]})[-5:]
    years = years_h + [int(y) for y in o.result.years]
    vals = [float(v) for v in c["high"]] + [float(hy.get((s, y), 0)) for s in ("primary",
                                                                            "junior")
                                            for y in years_h]
    top = max(vals + [1.0]) * 1.1
    w, h, left, bottom, right, topm = 560, 240, 56, 28, 96, 24  # not-a-rule: chart pixels
    pw, ph = w - left - right, h - bottom - topm

    def x(y: int) -> float:
        return left + pw * (years.index(y) / max(1, len(years) - 1))

    def yv(v: float) -> float:
        return topm + ph * (1 - v / top)

    colours = {"primary": "#1f77b4", "junior": "#d62728"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'role="img" aria-label="{html.escape(tr("projection.chart.title", lang))}">',
             f'<line x1="{left}" y1="{topm + ph}" x2="{left + pw}" y2="{topm + ph}" '
             f'stroke="#999"/>',
             f'<line x1="{left}" y1="{topm}" x2="{left}" y2="{topm + ph}" stroke="#999"/>']
    for k in range(5):
        v = top * k / 4
        parts.append(f'<text x="{left - 4}" y="{yv(v) + 3:.1f}" text-anchor="end">'
                     f'{html.escape(V.num(round(v), 0))}</text>')
    for yr in years:
        parts.append(f'<text x="{x(yr):.1f}" y="{topm + ph + 12}" text-anchor="middle">'
                     f'{yr}</text>')
    base = o.result.base_year
    parts.append(f'<line x1="{x(base):.1f}" y1="{topm}" x2="{x(base):.1f}" y2="{topm + ph}" '
                 f'stroke="#bbb" stroke-dasharray="3,3"/>')
    for st, col in colours.items():
        cs = c[c["stage"] == st]
        up = [(x(int(r.school_year)), yv(float(r.high))) for r in cs.itertuples()]
        lo = [(x(int(r.school_year)), yv(float(r.low))) for r in cs.itertuples()][::-1]
        poly = " ".join(f"{a:.1f},{b:.1f}" for a, b in up + lo)
        parts.append(f'<polygon points="{poly}" fill="{col}" fill-opacity="0.15" stroke="none"/>')
        pts = [(x(yr), yv(float(hy.get((st, yr), 0)))) for yr in years_h]
        pts += [(x(int(r.school_year)), yv(float(r.pupils))) for r in cs.itertuples()]
        line = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{col}" stroke-width="1.5"/>')
        ly = pts[-1][1]
        parts.append(f'<text x="{left + pw + 4}" y="{ly + 3:.1f}" fill="{col}">'
                     f'{html.escape(V.stage_word(st, lang))}</text>')
    parts.append(f'<text x="{x(base) + 3:.1f}" y="{topm - 8}">'
                 f'{html.escape(tr("projection.chart.projected", lang))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _fig(o: ProjectionOutcome, lang: str, backtest: bool = True) -> list[tuple[str, str]]:
    c = o.result.county
    last = max(o.result.years)
    hist = o.problem.history
    now = hist[hist["school_year"] == o.result.base_year]
    out = []
    for st, grades in (("primary", range(1, 7)), ("junior", range(7, 10))):
        n0 = int(now[now["grade"].isin(list(grades))]["pupils"].sum())
        r = c[(c["stage"] == st) & (c["school_year"] == last)].iloc[0]
        out.append((tr("projection.figure.stage", lang, stage=V.stage_word(st, lang),
                       base=o.result.base_year, last=last),
                    tr("projection.figure.stage_value", lang, now=V.num(n0, 0),
                       then=V.num(_whole(r.pupils), 0), low=V.num(_whole(r.low), 0),
                       high=V.num(_whole(r.high), 0))))
    out.append((tr("projection.figure.candidates", lang, pupils=o.threshold),
                V.num(len(_candidates(o)), 0)))
    if backtest and o.backtest is not None:
        for hz in HEADLINE:
            m = o.backtest.county_mape(hz)
            out.append((tr("projection.figure.mape", lang, years=hz),
                        "—" if m != m else V.pct(m)))
    return out


def report_sections(o: ProjectionOutcome, lang: str = "zh") -> list[ReportSection]:
    cand = _headers(_words(_candidates(o), lang), lang)
    return [ReportSection(
        key="projection", title=tr("projection.title", lang), figures=tuple(_fig(o, lang)),
        tables=(Table(tr("projection.candidates.caption", lang, pupils=o.threshold), cand),),
        notes=(tr("projection.note", lang, band=V.pct(o.params.band, digits=0)),),
        charts=(chart_svg(o, lang),))]


def backtest_lines(b: BacktestOutcome, lang: str = "zh") -> list[str]:
    lines = [tr("projection.console.backtest", lang, first=min(b.result.base_years),
                last=max(b.result.base_years))]
    for hz in HEADLINE:
        m, rows = b.county_mape(hz), b.result.schools
        med = rows[rows["horizon"] == hz]["mape"].median() if len(rows) else float("nan")
        lines.append(tr("projection.console.mape", lang, years=hz,
                        county="—" if m != m else V.pct(m),
                        school="—" if med != med else V.pct(med)))
    return lines


def console_lines(o: ProjectionOutcome, lang: str = "zh") -> list[str]:
    lines = [tr("projection.console.figure", lang, label=a, value=b)
             for a, b in _fig(o, lang, backtest=False)]
    f = _candidates(o)
    if len(f):
        lines.append(tr("projection.console.candidates", lang, pupils=o.threshold,
                        schools=V.listing([tr("projection.console.school_year", lang,
                                              school=n, year=y)
                                           for n, y in zip(f["school"], f["first_year"])],
                                          lang)))
    if o.backtest is not None:
        lines += backtest_lines(o.backtest, lang)
    return lines


def compare_figures(o: ProjectionOutcome) -> dict:
    last = max(o.result.years)
    c = o.result.county
    c = c[c["school_year"] == last]
    return {"projection_pupils_last": _whole(c["pupils"].sum()),
            "projection_candidates": len(_candidates(o))}


def map_layers(o: ProjectionOutcome) -> dict:
    return {}
