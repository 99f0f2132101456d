"""The province view for a planner: ``province.html`` (offline, Chinese by default),
``province.xlsx``, a county's check files, the progress bar and the console lines.

Built from the language-free county results of :mod:`planner.province` (each
county's ``result.json``): the verdict and every indicator's state today, the CV
table of 1–7 and, with a scenario, the state after the plans and the run's
``figures.json``. The dashboard:

1. the counties ranked by A indicators passed (ties: fewer indicators without data,
   then the higher B score; equal counties share a rank), each linked to its report;
2. a county × A indicator grid of pass / fail / no data;
3. the indicators failing in most counties (counties assessed only);
4. the CVs of indicators 1–7 per county and stage, red above the limit;
5. with a scenario: the plans' figures per county and the province total — every
   key of the runs' ``figures.json`` except the CVs and county values, so a figure a
   plan adds later (remediation costs ...) appears without code here; its label is
   the catalogue's ``compare.<key>`` (else ``report.label.<key>``, else a plan's
   ``<plan>.figure.<key>``). The total sums a
   figure unless its key names a ratio, a share, a maximum or minimum, a CV, a county
   value, a gap, a score or an A count (``remediation_a_passed``) (:func:`summable`);
   ``true`` counts the counties;
6. the counties not completed, with their status and the lines that say why;
7. a province map (inline SVG, no tiles, no script) when counties have outlines:
   each county coloured by the number of A indicators failing, linked to its report.

Words come from the catalogue (``province.*``); text from the data is escaped.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from planner.outputs import values as V
from planner.outputs.i18n import catalogue, label, tr
from planner.outputs.report import esc, fmt

if TYPE_CHECKING:  # pragma: no cover
    from planner.province import Progress, ProvinceResult

__all__ = ["write_county_check", "county_report_html", "write_dashboard",
           "dashboard_html", "workbook_sheets", "console_lines", "ProgressBar", "duration",
           "ranking", "failing_counts", "summable", "plan_keys"]

_MINUTE = 60  # not-a-rule: seconds in a minute, minutes in an hour
#: figures of a run's figures.json shown elsewhere, not in the plan table
_NOT_PLAN = ("recognised", "a_passed", "a_total", "a_failing", "b_score", "b_grade",
             "b_grade_en", "veto", "verified")
#: key parts of a figure that must not be summed over counties
_NOT_SUMMED = ("ratio", "share", "max_", "min_", "cv_", "value_", "gap", "score", "mean",
               "avg", "rate", "per_", "a_passed")


# ---------------------------------------------------------------------------
# one county
# ---------------------------------------------------------------------------

def write_county_check(district, report, folder: Path, lang: str = "zh") -> str:
    """A county checked without a scenario: ``indicators.json``, the check workbook
    and ``report.html`` (:func:`county_report_html`, with the district's map) in
    ``folder``; returns the name of the report."""
    from planner.io.export import write_text
    from planner.outputs.checkfiles import write_json, write_xlsx
    from planner.outputs.maps import build_map
    from planner.outputs.run import school_status
    write_json(report, folder / "indicators.json")
    write_xlsx(report, folder / tr("province.county_workbook", lang), lang=lang)
    status = school_status(report, set(), list(district.schools["school_id"]))
    html_map = build_map(district, school_status=status, lang=lang, title=district.name)
    write_text(county_report_html(report, lang, html_map), folder / "report.html")
    return "report.html"


def county_report_html(report, lang: str = "zh", map_html: str | None = None) -> str:
    """A county's current-state report (no plan): the run's report
    (:func:`planner.outputs.report.build_report`) made of the same parts, with the
    headings of a check instead of "before and after the plan" (its ``after=None``
    report keeps those headings): the verdict and why, the A table (one state), the
    failing schools and teachers, the B and veto tables, the per-school tables of 1-7,
    the map and the loader's warnings."""
    from planner.indicators.engine import plain
    from planner.outputs import report as R
    from planner.outputs.checkfiles import indicator_name
    t = {**R.words(lang), **{k: tr(f"province.county.{k}", lang)
                            for k in ("title", "a_table", "schools_table",
                                      "failing_schools_after", "short_teachers")}}
    title = report.standard_title_en if lang == "en" else report.standard_title_zh
    names = {i.id: indicator_name(i, lang) for i in report.a_results}
    thresholds = {str(i.id): plain(i.threshold) for i in report.a_results
                  if i.kind == "per_pupil" and plain(i.threshold)}
    body = [f"<h1>{esc(t['title'])}</h1>",
            f"<p class='meta'>{esc(report.district)} · {esc(tr('province.check_title', lang))}"
            f" · {esc(title or report.standard)}</p>",
            f"<h2>{t['verdict']}</h2>", R.verdict_html(report, report, t, lang),
            f"<h2>{esc(t['a_table'])}</h2>", R.a_table_html(report, None, t, lang),
            R.failing_html(report, t, lang), R.short_teachers_html(report, t, lang),
            f"<h2>{t['b_table']}</h2>", R.b_table_html(report, t, lang),
            f"<h2>{t['veto_table']}</h2>", R.veto_html(report, t, lang),
            R.parts_html(report.parts_table(), t, lang, thresholds, names)]
    if map_html:
        body.append(f"<h2>{t['map']}</h2>")
        body.append(f'<iframe class="mapframe" title="{esc(t["map"])}" '
                    f'srcdoc="{esc(map_html)}"></iframe>')
    body.append(R.warnings_html(report, t, lang))
    return ("<!DOCTYPE html>\n<html lang=\"" + t["html_lang"] + "\"><head>"
            "<meta charset=\"utf-8\"><title>" + esc(t["title"]) + "</title><style>" + R.CSS +
            "</style></head><body>\n" + "\n".join(x for x in body if x) + "\n</body></html>\n")


# ---------------------------------------------------------------------------
# the province's numbers (language-free)
# ---------------------------------------------------------------------------

def _assessed(counties: list[dict]) -> list[dict]:
    return [c for c in counties if c.get("check")]


def _sort_key(c: dict) -> tuple:
    ch = c["check"]
    b = ch.get("b_score")
    return (-ch["a_passed"], ch["a_no_data"], -(b if b is not None else -math.inf))


def ranking(counties: list[dict]) -> list[tuple[int, dict]]:
    """(rank, county) of the assessed counties, best first; equal counties share a
    rank (1, 2, 2, 4 ...), and are listed by key."""
    ordered = sorted(_assessed(counties), key=lambda c: (_sort_key(c), c["key"]))
    out: list[tuple[int, dict]] = []
    for i, c in enumerate(ordered):
        rank = out[-1][0] if out and _sort_key(out[-1][1]) == _sort_key(c) else i + 1
        out.append((rank, c))
    return out


def _a_indicators(counties: list[dict]) -> list[dict]:
    """The A indicators of the assessed counties (id, name, name_en), by id."""
    seen: dict[int, dict] = {}
    for c in _assessed(counties):
        for i in c["check"]["indicators"]:
            if i["class"] == "A":
                seen.setdefault(i["id"], i)
    return [seen[k] for k in sorted(seen)]


def _state(ind: dict) -> str:
    return "no_data" if ind["no_data"] else ("pass" if ind["passed"] else "fail")


def failing_counts(counties: list[dict]) -> list[tuple[dict, list[dict]]]:
    """(indicator, counties failing it) of every A indicator failing somewhere, most
    counties first (then by indicator number); "no data" is not counted as failing."""
    out = []
    for ind in _a_indicators(counties):
        fails = [c for c in sorted(_assessed(counties), key=lambda c: c["key"])
                 for i in c["check"]["indicators"]
                 if i["id"] == ind["id"] and _state(i) == "fail"]
        if fails:
            out.append((ind, fails))
    out.sort(key=lambda x: (-len(x[1]), x[0]["id"]))
    return out


def summable(key: str) -> bool:
    """Whether a plan figure adds up over counties (see the module docstring)."""
    return not any(p in key for p in _NOT_SUMMED)


def plan_keys(counties: list[dict]) -> list[str]:
    """The plan figures of the runs: ``compare``'s order first, then the others by
    name."""
    from planner.outputs.run import COMPARE_KEYS
    found = {k for c in counties for k in (c.get("figures") or {})
             if k not in _NOT_PLAN and not k.startswith(("cv_", "value_"))}
    first = [k for k in COMPARE_KEYS if k in found]
    return first + sorted(found - set(first))


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def plan_totals(counties: list[dict], keys: list[str]) -> dict[str, Any]:
    """The province total of each plan figure (``None``: not summed or no value)."""
    out: dict[str, Any] = {}
    for k in keys:
        vals = [(c.get("figures") or {}).get(k) for c in counties]
        vals = [v for v in vals if v is not None]
        if vals and all(isinstance(v, bool) for v in vals):
            out[k] = sum(vals)
        elif vals and summable(k) and all(_num(v) for v in vals):
            s = sum(vals)
            out[k] = round(s, 6) if isinstance(s, float) else s
        else:
            out[k] = None
    return out


# ---------------------------------------------------------------------------
# words
# ---------------------------------------------------------------------------

def _county(c: dict) -> str:
    return str(c.get("name") or c["key"])


def _ind_name(ind: dict, lang: str) -> str:
    return str(ind["name_en"] if lang == "en" else ind["name"])


def _grade(ch: dict, lang: str) -> str:
    g = ch.get("b_grade_en") if lang == "en" else ch.get("b_grade")
    return str(g) if g else "—"


def _figure_label(key: str, lang: str) -> str:
    cat = catalogue()
    for k in (f"compare.{key}", f"report.label.{key}"):
        if k in cat:
            return tr(k, lang)
    # a plan's own figure label (``consolidation.figure.regressions``)
    own = sorted(k for k in cat if k.endswith(f".figure.{key}"))
    return tr(own[0], lang) if own else key


def _sep(lang: str) -> str:
    """The list separator: 、 in Chinese, a comma in English."""
    return ", " if lang == "en" else "、"


def _figure_value(v: Any, lang: str) -> Any:
    if isinstance(v, bool):
        return label("bool", v, lang)
    if v is None or (isinstance(v, (list, dict)) and not v):
        return "—"
    if isinstance(v, list):
        return _sep(lang).join(map(str, v))
    if isinstance(v, dict):
        return _sep(lang).join(f"{k} {x}" for k, x in v.items())
    return v


def _failing_ids(ch: dict, lang: str) -> str:
    ids = [str(i["id"]) for i in ch["indicators"] if i["class"] == "A" and _state(i) == "fail"]
    return _sep(lang).join(ids) if ids else "—"


def _status_text(c: dict, lang: str) -> str:
    return tr(f"province.status.{c['status']}", lang)


def _messages(c: dict) -> list[str]:
    return [str(x) for x in (c.get("messages") or [])] + \
        [str(x) for x in (c.get("plan_lines") or [])]


def duration(seconds: float, lang: str = "zh") -> str:
    """Seconds in words: ``45秒``, ``3分05秒``, ``1小时02分``."""
    s = int(round(max(0.0, seconds)))
    m, sec = divmod(s, _MINUTE)
    h, m = divmod(m, _MINUTE)
    if not m and not h:
        return tr("province.time.s", lang, s=sec)
    if not h:
        return tr("province.time.m", lang, m=m, s=sec)
    return tr("province.time.h", lang, h=h, m=m)


# ---------------------------------------------------------------------------
# the workbook
# ---------------------------------------------------------------------------

def _col(key: str, lang: str) -> str:
    return tr(f"province.col.{key}", lang)


def workbook_sheets(res: ProvinceResult) -> dict[str, pd.DataFrame]:
    """province.xlsx: ranking, the grid, the failing indicators, the CVs, the plans
    (with a scenario) and the counties not completed; headers in the result's
    language."""
    lang = res.lang
    counties = res.counties
    yes = {True: label("bool", True, lang), False: label("bool", False, lang)}
    rows = []
    for rank, c in ranking(counties):
        ch = c["check"]
        rows.append({_col("rank", lang): rank, _col("county", lang): _county(c),
                     _col("code", lang): c["key"],
                     _col("a_passed", lang): ch["a_passed"],
                     _col("a_no_data", lang): ch["a_no_data"],
                     _col("b_score", lang): ch.get("b_score"),
                     _col("b_grade", lang): _grade(ch, lang),
                     _col("recognised", lang): yes[bool(ch["recognised"])],
                     _col("failing", lang): _failing_ids(ch, lang)})
    sheets = {tr("province.sheet.rank", lang): pd.DataFrame(rows)}
    inds = _a_indicators(counties)
    word = {"pass": tr("province.grid.pass", lang), "fail": tr("province.grid.fail", lang),
            "no_data": tr("no_data", lang)}
    grid = []
    for _, c in ranking(counties):
        states = {i["id"]: _state(i) for i in c["check"]["indicators"]}
        row: dict[str, Any] = {_col("county", lang): _county(c), _col("code", lang): c["key"]}
        for ind in inds:
            row[f"{ind['id']}. {_ind_name(ind, lang)}"] = word.get(states.get(ind["id"], ""),
                                                                   "—")
        grid.append(row)
    sheets[tr("province.sheet.grid", lang)] = pd.DataFrame(grid)
    n = len(_assessed(counties))
    worst = [{_col("indicator", lang): f"{ind['id']}. {_ind_name(ind, lang)}",
              _col("n_fail", lang): len(fails),
              _col("share", lang): round(len(fails) / n, 4) if n else None,
              _col("counties_failing", lang): _sep(lang).join(_county(c) for c in fails)}
             for ind, fails in failing_counts(counties)]
    sheets[tr("province.sheet.worst", lang)] = pd.DataFrame(
        worst, columns=[_col(k, lang) for k in ("indicator", "n_fail", "share",
                                                 "counties_failing")])
    cvrows = []
    for _, c in ranking(counties):
        row = {_col("county", lang): _county(c), _col("code", lang): c["key"]}
        for r in c["check"]["cv"]:
            row[f"{r['indicator']} {label('stage', r['stage'], lang)}"] = r.get("cv")
        cvrows.append(row)
    sheets[tr("province.sheet.cv", lang)] = pd.DataFrame(cvrows)
    if res.scenario is not None:
        sheets[tr("province.sheet.plans", lang)] = _plan_frame(res, lang)
    bad = [c for c in counties if c["status"] != "ok"]
    if bad:
        sheets[tr("province.sheet.errors", lang)] = pd.DataFrame([
            {_col("county", lang): _county(c), _col("code", lang): c["key"],
             _col("status", lang): _status_text(c, lang),
             _col("message", lang): "\n".join(_messages(c))} for c in bad])
    return sheets


def _plan_frame(res: ProvinceResult, lang: str) -> pd.DataFrame:
    keys = plan_keys(res.counties)
    rows = []
    runs = [c for c in sorted(res.counties, key=lambda c: c["key"]) if c.get("figures")]
    for c in runs:
        row: dict[str, Any] = {_col("county", lang): _county(c), _col("code", lang): c["key"],
                               _col("a_before_after", lang): _before_after(c),
                               _col("recognised_after", lang):
                                   label("bool", bool(c["after"]["recognised"]), lang),
                               _col("plans", lang): _plans_made(c, lang)}
        for k in keys:
            row[_figure_label(k, lang)] = _figure_value(c["figures"].get(k), lang)
        rows.append(row)
    total: dict[str, Any] = {_col("county", lang): tr("province.plan.total", lang),
                             _col("code", lang): "", _col("a_before_after", lang): "",
                             _col("recognised_after", lang):
                                 sum(bool(c["after"]["recognised"]) for c in runs),
                             _col("plans", lang): ""}
    for k, v in plan_totals(runs, keys).items():
        total[_figure_label(k, lang)] = "—" if v is None else v
    rows.append(total)
    return pd.DataFrame(rows)


def _plans_made(c: dict, lang: str) -> str:
    """全部得到, or each plan without a plan and its status."""
    from models.status import Status
    missing = [(k, v) for k, v in (c.get("plans") or {}).items() if not Status(v).has_plan]
    if not missing:
        return tr("province.plan.made", lang)
    return _sep(lang).join(tr("province.plan.missing", lang, plan=tr(f"run.plan.{k}", lang),
                              status=label("status", v, lang)) for k, v in missing)


def _before_after(c: dict) -> str:
    b, a = c["check"], c.get("after") or c["check"]
    return f"{b['a_passed']} → {a['a_passed']} / {a['a_total']}"


# ---------------------------------------------------------------------------
# the dashboard
# ---------------------------------------------------------------------------

CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", "PingFang SC",
       sans-serif; font-size: 10.5pt; color: #1b1b1b; margin: 1.5em auto; max-width: 1500px;
       padding: 0 1em; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #999; }
table { border-collapse: collapse; margin: 2mm 0; font-size: 9pt; }
th, td { border: 1px solid #bbb; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 8.5pt; }
.meta { color: #555; font-size: 9pt; }
.figs td:first-child { color: #333; }
.pass { color: #17663a; font-weight: 600; } .fail { color: #b3261e; font-weight: 600; }
.nodata { color: #8a6d00; font-weight: 600; }
table.grid td, table.grid th { padding: 0.5mm 1mm; text-align: center; min-width: 1.6em; }
table.grid td.name, table.grid th.name { text-align: left; white-space: nowrap; }
table.grid td.pass { background: #dff0e3; } table.grid td.fail { background: #f8d9d6; }
table.grid td.nodata { background: #fbefc4; }
td.over { background: #f8d9d6; color: #b3261e; font-weight: 600; }
tr.total td { font-weight: 600; background: #f4f4f4; }
.map svg { border: 1px solid #999; background: #fbfbf8; }
.map a:hover path { stroke: #000; stroke-width: 2; }
.legend span { display: inline-block; width: 1em; height: 1em; vertical-align: middle;
               margin: 0 0.3em 0 1em; border: 1px solid #777; }
"""

#: map colours by the number of A indicators failing: 0, 1–2, 3–6, 7+, not completed
_COLOURS = (("all", "#4c9a6a"), ("near", "#b5d99c"), ("some", "#f2c46d"),
            ("many", "#d9685b"), ("none", "#c9c9c9"))


def _band(c: dict) -> str:
    ch = c.get("check")
    if not ch:
        return "none"
    fails = sum(1 for i in ch["indicators"] if i["class"] == "A" and not i["passed"])
    return "all" if fails == 0 else "near" if fails <= 2 else "some" if fails <= 6 else "many"


def _href(c: dict) -> str:
    """The county's report, relative to province.html."""
    return f"counties/{c['key']}/{c['report']}"


def _link(c: dict, text: str) -> str:
    if c.get("report"):
        return f'<a href="{esc(_href(c))}">{esc(text)}</a>'
    return esc(text)


def _table(head: list[str] | None, rows: list[list[str]], cls: str = "",
           row_cls: list[str] | None = None) -> str:
    out = [f'<table class="{cls}">']
    if head:
        out.append("<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>")
    for i, r in enumerate(rows):
        rc = f' class="{row_cls[i]}"' if row_cls and row_cls[i] else ""
        out.append(f"<tr{rc}>" + "".join(r) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _td(v: Any, num: bool = False, cls: str = "", title: str = "") -> str:
    c = " ".join(x for x in ("num" if num else "", cls) if x)
    t = f' title="{esc(title)}"' if title else ""
    return f'<td class="{c}"{t}>{v}</td>' if c else f"<td{t}>{v}</td>"


def _summary_html(res: ProvinceResult) -> str:
    lang = res.lang
    counties = res.counties
    done = _assessed(counties)
    figs = [("counties", len(counties)), ("ok", len(done)),
            ("failed", len(counties) - len(done)),
            ("all_a", sum(1 for c in done if c["check"]["a_passed"] == c["check"]["a_total"])),
            ("recognised", sum(1 for c in done if c["check"]["recognised"]))]
    if res.scenario is not None:
        figs.append(("recognised_after", sum(1 for c in counties if c.get("after")
                                             and c["after"]["recognised"])))
    rows = [[_td(esc(tr(f"province.fig.{k}", lang))),
             _td(esc(tr("province.fig.unit", lang, n=v)), num=True)] for k, v in figs]
    return (f"<h2>{esc(tr('province.summary', lang))}</h2>" +
            _table(None, rows, "figs"))


def _rank_html(res: ProvinceResult) -> str:
    lang = res.lang
    head = [esc(_col(k, lang)) for k in ("rank", "county", "code", "a_passed", "a_no_data",
                                          "b_score", "b_grade", "recognised", "failing",
                                          "report")]
    rows = []
    for rank, c in ranking(res.counties):
        ch = c["check"]
        ok = bool(ch["recognised"])
        rows.append([_td(rank, num=True), _td(_link(c, _county(c))), _td(esc(c["key"])),
                     _td(f"{ch['a_passed']} / {ch['a_total']}", num=True,
                         cls="pass" if ch["a_passed"] == ch["a_total"] else ""),
                     _td(ch["a_no_data"], num=True), _td(fmt(ch.get("b_score"), 1), num=True),
                     _td(esc(_grade(ch, lang))),
                     _td(esc(label("bool", ok, lang)), cls="pass" if ok else "fail"),
                     _td(esc(_failing_ids(ch, lang))),
                     _td(_link(c, tr("province.link", lang)))])
    return (f"<h2>{esc(tr('province.rank.title', lang))}</h2>"
            f"<p class='meta'>{esc(tr('province.today', lang))} "
            f"{esc(tr('province.rank.note', lang))}</p>" + _table(head, rows))


def _grid_html(res: ProvinceResult) -> str:
    lang = res.lang
    inds = _a_indicators(res.counties)
    head = [f'<span title="{esc(_ind_name(i, lang))}">{i["id"]}</span>' for i in inds]
    mark = {"pass": ("✓", "pass"), "fail": ("✗", "fail"), "no_data": ("?", "nodata")}
    word = {"pass": tr("province.grid.pass", lang), "fail": tr("province.grid.fail", lang),
            "no_data": tr("no_data", lang)}
    rows = []
    for _, c in ranking(res.counties):
        states = {i["id"]: _state(i) for i in c["check"]["indicators"]}
        cells = [f'<td class="name">{_link(c, _county(c))}</td>']
        for i in inds:
            st = states.get(i["id"])
            if st is None:
                cells.append(_td("—"))
                continue
            sym, cls = mark[st]
            cells.append(_td(sym, cls=cls, title=f"{_county(c)} · {i['id']}. "
                                                 f"{_ind_name(i, lang)}: {word[st]}"))
        rows.append(cells)
    return (f"<h2>{esc(tr('province.grid.title', lang))}</h2>"
            f"<p class='meta'>{esc(tr('province.grid.note', lang))}</p>" +
            _table([f'<span class="name">{esc(_col("county", lang))}</span>'] + head, rows,
                   "grid"))


def _worst_html(res: ProvinceResult) -> str:
    lang = res.lang
    worst = failing_counts(res.counties)
    title = f"<h2>{esc(tr('province.worst.title', lang))}</h2>"
    if not worst:
        return title + f"<p>{esc(tr('province.worst.none', lang))}</p>"
    n = len(_assessed(res.counties))
    head = [esc(_col(k, lang)) for k in ("indicator", "n_fail", "share", "counties_failing")]
    rows = [[_td(esc(f"{ind['id']}. {_ind_name(ind, lang)}")), _td(len(f), num=True),
             _td(f"{100.0 * len(f) / n:.0f}%", num=True),
             _td(_sep(lang).join(_link(c, _county(c)) for c in f))] for ind, f in worst]
    return title + _table(head, rows)


def _cv_html(res: ProvinceResult) -> str:
    lang = res.lang
    ranked = ranking(res.counties)
    cols: list[tuple[int, str]] = sorted({(r["indicator"], r["stage"]) for _, c in ranked
                                          for r in c["check"]["cv"]},
                                         key=lambda x: (x[0], x[1] != "primary"))
    if not cols:
        return ""
    limits: dict[tuple[int, str], Any] = {}
    for _, c in ranked:
        for r in c["check"]["cv"]:
            limits.setdefault((r["indicator"], r["stage"]), r.get("cv_limit"))
    head = [esc(_col("county", lang))] + [
        f"{k} {esc(label('stage', st, lang))}" for k, st in cols]
    rows = [[_td(esc(tr("province.cv.limit", lang)))] +
            [_td(V.num(limits.get(x), 2, fixed=True), num=True) for x in cols]]
    for _, c in ranked:
        by = {(r["indicator"], r["stage"]): r for r in c["check"]["cv"]}
        cells = [_td(_link(c, _county(c)))]
        for x in cols:
            r = by.get(x)
            if r is None or r.get("cv") is None:
                cells.append(_td("—", num=True))
            else:
                over = r.get("cv_ok") is False
                cells.append(_td(esc(V.cv_text(r["cv"], limits.get(x))), num=True,
                                 cls="over" if over else ""))
        rows.append(cells)
    return (f"<h2>{esc(tr('province.cv.title', lang))}</h2>"
            f"<p class='meta'>{esc(tr('province.cv.note', lang))}</p>" +
            _table(head, rows, row_cls=["total"] + [""] * len(ranked)))


def _plans_html(res: ProvinceResult) -> str:
    lang = res.lang
    df = _plan_frame(res, lang)
    runs = [c for c in sorted(res.counties, key=lambda c: c["key"]) if c.get("figures")]
    head = [esc(str(h)) for h in df.columns]
    rows = []
    for i, rec in enumerate(df.itertuples(index=False)):
        cells = []
        for j, v in enumerate(rec):
            if j == 0 and i < len(runs):
                cells.append(_td(_link(runs[i], str(v))))
            elif _num(v):
                cells.append(_td(fmt(v), num=True))
            else:
                cells.append(_td(esc(v)))
        rows.append(cells)
    return (f"<h2>{esc(tr('province.plan.title', lang))}</h2>"
            f"<p class='meta'>{esc(tr('province.plan.note', lang))}</p>" +
            _table(head, rows, row_cls=[""] * len(runs) + ["total"]))


def _errors_html(res: ProvinceResult) -> str:
    lang = res.lang
    bad = [c for c in res.counties if c["status"] != "ok"]
    title = f"<h2>{esc(tr('province.err.title', lang))}</h2>"
    if not bad:
        return title + f"<p>{esc(tr('province.err.none', lang))}</p>"
    head = [esc(_col(k, lang)) for k in ("county", "code", "status", "message")]
    rows = [[_td(_link(c, _county(c))), _td(esc(c["key"])),
             _td(esc(_status_text(c, lang)), cls="fail"),
             _td("<br>".join([f"<code>{esc(m)}</code>" for m in c.get("messages") or []] +
                             [esc(m) for m in c.get("plan_lines") or []]) or "—")]
            for c in bad]
    return title + _table(head, rows)


def _map_html(res: ProvinceResult, width: int = 900, height: int = 700) -> str:
    """The counties' outlines as an inline SVG (equirectangular, scaled by the cosine
    of the mean latitude), coloured by A indicators failing."""
    lang = res.lang
    shapes = [c for c in res.counties if c.get("outline")]
    if not shapes:
        return ""
    pts = [p for c in shapes for p in _coords(c["outline"])]
    lon0, lon1 = min(p[0] for p in pts), max(p[0] for p in pts)
    lat0, lat1 = min(p[1] for p in pts), max(p[1] for p in pts)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    w_deg, h_deg = max((lon1 - lon0) * k, 1e-9), max(lat1 - lat0, 1e-9)
    pad = 10.0
    s = min((width - 2 * pad) / w_deg, (height - 2 * pad) / h_deg)
    width, height = int(math.ceil(w_deg * s + 2 * pad)), int(math.ceil(h_deg * s + 2 * pad))

    def xy(p) -> str:
        return f"{pad + (p[0] - lon0) * k * s:.1f},{pad + (lat1 - p[1]) * s:.1f}"

    colour = dict(_COLOURS)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{esc(tr("province.map.title", lang))}">']
    labels = []
    for c in sorted(shapes, key=lambda c: c["key"]):
        d = " ".join("M" + " L".join(xy(p) for p in ring) + " Z"
                     for ring in _rings(c["outline"]))
        ch = c.get("check")
        tip = (tr("province.map.tip", lang, county=_county(c), a_passed=ch["a_passed"],
                  a_total=ch["a_total"]) if ch else
               tr("province.map.tip_failed", lang, county=_county(c),
                  status=_status_text(c, lang)))
        shape = (f'<path d="{d}" fill="{colour[_band(c)]}" stroke="#555" stroke-width="0.8" '
                 f'fill-rule="evenodd"><title>{esc(tip)}</title></path>')
        if c.get("report"):
            shape = f'<a href="{esc(_href(c))}">{shape}</a>'
        parts.append(shape)
        lx, ly = xy(c["outline"]["label"]).split(",")
        labels.append(f'<text x="{lx}" y="{ly}" text-anchor="middle" font-size="11" '
                      f'pointer-events="none">{esc(_county(c))}</text>')
    parts += labels
    parts.append("</svg>")
    legend = "".join(f'<span style="background:{col}"></span>'
                     f'{esc(tr(f"province.map.{key}", lang))}' for key, col in _COLOURS)
    return (f"<h2>{esc(tr('province.map.title', lang))}</h2><div class='map'>" +
            "".join(parts) + f"</div><p class='legend meta'>{legend}</p>")


def _rings(geom: dict) -> list[list]:
    if geom["type"] == "Polygon":
        return list(geom["coordinates"])
    if geom["type"] == "MultiPolygon":
        return [r for poly in geom["coordinates"] for r in poly]
    return []


def _coords(geom: dict) -> list:
    return [p for r in _rings(geom) for p in r]


def dashboard_html(res: ProvinceResult) -> str:
    """province.html as one string: no script, nothing fetched."""
    from planner import __version__
    lang = res.lang
    meta = (tr("province.meta.scenario", lang, name=res.scenario.name) if res.scenario
            is not None else tr("province.meta.check_only", lang))
    standards = sorted({(c["check"].get("standard_title") or {}).get(lang)
                        or c["check"]["standard"] for c in _assessed(res.counties)})
    body = [f"<h1>{esc(tr('province.title', lang))}</h1>",
            f"<p class='meta'>{esc(meta)} · {esc(_sep(lang).join(standards))} · "
            f"{esc(tr('province.meta.version', lang, version=__version__))}</p>",
            _summary_html(res)]
    if _assessed(res.counties):
        body += [_rank_html(res), _grid_html(res), _worst_html(res), _cv_html(res)]
    if res.scenario is not None and any(c.get("figures") for c in res.counties):
        body.append(_plans_html(res))
    body += [_errors_html(res), _map_html(res)]
    html_lang = "en" if lang == "en" else "zh-CN"
    return ("<!DOCTYPE html>\n<html lang=\"" + html_lang + "\"><head><meta charset=\"utf-8\">"
            "<title>" + esc(tr("province.title", lang)) + "</title><style>" + CSS +
            "</style></head><body>\n" + "\n".join(b for b in body if b) + "\n</body></html>\n")


def write_dashboard(res: ProvinceResult, out: Path) -> list[Path]:
    """``province.html`` and ``province.xlsx`` in ``out`` (atomic, deterministic)."""
    from planner.io.export import write_text, write_xlsx
    return [write_text(dashboard_html(res), out / "province.html"),
            write_xlsx(workbook_sheets(res), out / "province.xlsx")]


# ---------------------------------------------------------------------------
# the console
# ---------------------------------------------------------------------------

def console_lines(res: ProvinceResult) -> list[str]:
    """What ``planner province`` prints at the end: the counts, the verdicts, every
    county not completed with the first line of why, the dashboard's path."""
    lang = res.lang
    n = {s: len(res.by_status(s)) for s in ("ok", "no_plan", "bad_input", "error")}
    done = _assessed(res.counties)
    lines = [tr("province.console.summary", lang, n=len(res.counties), **n),
             tr("province.console.verdict", lang,
                all_a=sum(1 for c in done if c["check"]["a_passed"] == c["check"]["a_total"]),
                recognised=sum(1 for c in done if c["check"]["recognised"]))]
    if res.scenario is not None:
        lines.append(tr("province.console.verdict_after", lang, recognised=sum(
            1 for c in res.counties if c.get("after") and c["after"]["recognised"])))
    for c in res.counties:
        if c["status"] == "ok":
            continue
        lines.append(tr("province.console.county", lang, county=_county(c), code=c["key"],
                        status=_status_text(c, lang)))
        lines += ["    " + m for m in _messages(c)[:3]]
    lines.append(tr("run.output", lang) + str(res.out / "province.html"))
    return lines


class ProgressBar:
    """The progress bar on stderr: counties done / total, time used and left. On a
    terminal one line redrawn in place, else one line per county."""

    WIDTH = 24

    def __init__(self, lang: str = "zh", stream: TextIO | None = None, quiet: bool = False):
        self.lang = lang
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        if p.last is None:                 # the start
            w = (tr("province.where.serial", self.lang) if p.where == "serial" else
                 tr("province.where.local", self.lang, n=p.workers) if p.where == "local"
                 else tr("province.where.cluster", self.lang, address=p.where))
            print(tr("province.progress.start", self.lang, total=p.total, resumed=p.done,
                     todo=p.total - p.done, where=w), file=self.stream, flush=True)
            if not self.tty or p.done == p.total:
                return
        filled = int(self.WIDTH * p.done / p.total) if p.total else self.WIDTH
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        left = (duration(p.left, self.lang) if p.left is not None else
                tr("province.progress.estimating", self.lang))
        text = f"{bar} " + tr("province.progress", self.lang, done=p.done, total=p.total,
                              elapsed=duration(p.elapsed, self.lang), left=left)
        if p.last is not None and not self.tty:
            text += f" · {_county(p.last)} {_status_text(p.last, self.lang)}"
        if self.tty:
            end = "\n" if p.done == p.total else ""
            print("\r" + text, end=end, file=self.stream, flush=True)
        else:
            print(text, file=self.stream, flush=True)
