"""The remediation programme as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

The library's :class:`~planner.plans.remediation.RemediationOutcome` holds codes and
numbers; the words come from ``catalogue/remediation.yaml`` (and the common kinds
``stage``, ``status``):

- ``remediation.csv`` (docs/data-format.md columns): one row per action; ``stage``,
  ``action``, ``unit`` and ``column`` stay codes, ``reason`` is words in the output
  language naming the receiving school of a move and the teachers of an action on
  named teachers by id; ``recurring``, ``to_school_id``, ``teacher_ids`` (``;``-joined)
  and ``value_after`` follow for scripts and the verifier;
- ``remediation.xlsx``: the same rows with words and headers in the output language,
  and the totals by indicator and by school;
- ``summary.json``: the outcome's language-free summary;
- ``district_after/``: the district with every action applied, in the district format
  (:func:`planner.io.load.save_district`), for ``planner check``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from planner.io.export import write_csv, write_json, write_xlsx
from planner.io.load import save_district
from planner.outputs.checkfiles import indicator_name
from planner.outputs.i18n import label, tr, yes_no
from planner.outputs.sections import ReportSection, Table
from planner.plans.remediation import ActionRow, RemediationOutcome

__all__ = ["COLUMNS", "REPORT_COLUMNS", "by_indicator", "by_school", "compare_figures",
           "console_lines", "map_layers", "not_fixable_table", "reason_text",
           "remediation_sheet", "remediation_table", "report_sections", "warnings",
           "workbook_sheets", "write_files"]

#: remediation.csv columns (docs/data-format.md)
COLUMNS = ["school_id", "school", "stage", "indicator", "action", "column", "quantity", "unit",
           "unit_cost_yuan", "cost_yuan", "reason", "recurring", "to_school_id", "teacher_ids",
           "value_after"]
#: what the report's list shows
REPORT_COLUMNS = ["school", "stage", "indicator", "action", "quantity", "unit", "cost_yuan",
                  "reason"]
DISTRICT_AFTER = "district_after"
#: the most schools a warning lists by name
LISTED_SCHOOLS = 8


def _yuan(x: Any) -> float:
    return round(float(x or 0.0), 2) + 0.0


def _num(x: float) -> Any:
    """A number as shown: whole numbers without decimals."""
    return int(x) if float(x).is_integer() else round(float(x), 2)


# ---------------------------------------------------------------------------
# the list of actions
# ---------------------------------------------------------------------------

def reason_text(r: ActionRow, names: dict[str, str], lang: str = "zh") -> str:
    """Why a row is in the list, in words: the reason code with its indicator, the
    receiving school of a move, the teachers by id, the value a row sets."""
    parts = [tr(f"remediation.reason.{r.reason}", lang, ind=r.indicator)]
    if r.to_school_id:
        parts.append(tr("remediation.reason.to_school", lang,
                        school=names.get(r.to_school_id, r.to_school_id)))
    if r.teacher_ids:
        parts.append(tr("remediation.reason.teachers", lang,
                        ids=tr("remediation.id_sep", lang).join(r.teacher_ids)))
    if r.value_after is not None and r.action == "raise_staff_quota":
        parts.append(tr("remediation.reason.quota_after", lang, value=_num(r.value_after)))
    if r.value_after is not None and r.action == "rebalance_classes":
        parts.append(tr("remediation.reason.largest_class", lang, value=_num(r.value_after)))
    return tr("remediation.list_sep", lang).join(parts)


def remediation_table(o: RemediationOutcome, lang: str = "zh") -> pd.DataFrame:
    """The rows of remediation.csv: one per action, in the model's order (school,
    stage, kind)."""
    names = o.district.school_names()
    rows = []
    for r in o.rows:
        rows.append({"school_id": r.school_id, "school": names.get(r.school_id, r.school_id),
                     "stage": r.stage, "indicator": r.indicator, "action": r.action,
                     "column": r.column, "quantity": _num(r.quantity), "unit": r.unit,
                     "unit_cost_yuan": _yuan(r.unit_cost_yuan), "cost_yuan": _yuan(r.cost_yuan),
                     "reason": reason_text(r, names, lang),
                     "recurring": "true" if r.recurring else "false",
                     "to_school_id": r.to_school_id, "teacher_ids": ";".join(r.teacher_ids),
                     "value_after": "" if r.value_after is None else _num(r.value_after)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _stage_word(code: str, lang: str) -> str:
    return label("stage", code, lang) if code else tr("remediation.stage.school", lang)


def _column_word(code: str, lang: str) -> str:
    """The data column an action changes, as the planner's own table names it (the
    schools table's Chinese header in zh, its code in en; ``teachers``: the teachers
    table)."""
    if lang != "zh" or not code:
        return code
    from planner.io.load import SCHOOL_COLUMNS
    headers = {c.name: c.zh for c in SCHOOL_COLUMNS}
    if code in headers:
        return headers[code]
    return tr("remediation.column_word.teachers", lang) if code == "teachers" else code


def remediation_sheet(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """remediation.xlsx: the rows of :func:`remediation_table` with words for the stage,
    the action, the unit and ``recurring``, and headers in ``lang``."""
    x = table.copy()
    words = {"stage": lambda v: _stage_word(v, lang),
             "action": lambda v: tr(f"remediation.action.{v}", lang),
             "unit": lambda v: tr(f"remediation.unit.{v}", lang),
             "recurring": lambda v: yes_no(v == "true", lang),
             "column": lambda v: _column_word(v, lang)}
    for col, word in words.items():
        if col in x.columns:
            x[col] = [word(v) for v in x[col]]
    return x.rename(columns={c: tr(f"remediation.column.{c}", lang) for c in x.columns})


def _costs_by(o: RemediationOutcome, key, heads, lang: str) -> pd.DataFrame:
    """One row per ``key(row)`` in key order: the ``heads(k)`` columns, then one-off,
    yearly and first-year cost and the number of actions."""
    agg: dict[Any, list[float]] = {}
    for r in o.rows:
        e = agg.setdefault(key(r), [0.0, 0.0, 0])
        e[1 if r.recurring else 0] += r.cost_yuan
        e[2] += 1
    return pd.DataFrame([{**heads(k),
                          tr("remediation.column.capital_yuan", lang): _yuan(c),
                          tr("remediation.column.recurring_yuan", lang): _yuan(y),
                          tr("remediation.column.total_yuan", lang): _yuan(c + y),
                          tr("remediation.column.actions", lang): int(n)}
                         for k, (c, y, n) in sorted(agg.items())])


def by_indicator(o: RemediationOutcome, lang: str = "zh") -> pd.DataFrame:
    """Costs per indicator: one-off, yearly, first-year total and the number of actions."""
    return _costs_by(o, lambda r: r.indicator, lambda k: {
        tr("remediation.column.indicator", lang): k,
        tr("remediation.column.indicator_name", lang): indicator_name(o.after.indicator(k),
                                                                     lang)}, lang)


def by_school(o: RemediationOutcome, lang: str = "zh") -> pd.DataFrame:
    """Costs per school (the sender of a move), in school-id order."""
    names = o.district.school_names()
    return _costs_by(o, lambda r: r.school_id, lambda k: {
        tr("remediation.column.school_id", lang): k,
        tr("remediation.column.school", lang): names.get(k, k)}, lang)


# ---------------------------------------------------------------------------
# what no resource fixes
# ---------------------------------------------------------------------------

def _veto_names(o: RemediationOutcome, lang: str) -> dict[str, str]:
    return {v["key"]: v.get(lang, v["key"])
            for v in o.district.rules.standard.data.get("vetoes", [])}


def _item(x: dict, o: RemediationOutcome, lang: str) -> str:
    if x["kind"] == "indicator":
        return tr("remediation.item.indicator", lang, id=x["id"],
                  name=indicator_name(o.after.indicator(x["id"]), lang))
    if x["kind"] == "county_fact":
        return tr("remediation.item.county_fact", lang, id=x["id"],
                  fact=tr(f"remediation.fact.{x['fact']}", lang))
    if x["kind"] == "b_score":
        score = x.get("score")
        return tr("remediation.item.b_score", lang,
                  score="—" if score is None else f"{float(score):g}")
    key = str(x["id"]).split(".", 1)[1]
    return tr("remediation.item.veto", lang, name=_veto_names(o, lang).get(key, key))


def _state(x: dict, lang: str) -> str:
    if x["kind"] == "veto":
        code = "veto_unknown" if x["no_data"] else ("veto_absent" if x["passed"]
                                                     else "veto_present")
    else:
        code = "no_data" if x["no_data"] else ("passed" if x["passed"] else "failed")
    return tr(f"remediation.state.{code}", lang)


def _evidence(x: dict, lang: str) -> str:
    code = "veto" if x["kind"] == "veto" else x["evidence"]
    return tr(f"remediation.evidence.{code}", lang)


def not_fixable_table(o: RemediationOutcome, lang: str = "zh") -> pd.DataFrame:
    """What no resource fixes: the item, its state after the programme, and what the
    bureau must show instead."""
    return pd.DataFrame([{tr("remediation.column.item", lang): _item(x, o, lang),
                          tr("remediation.column.state", lang): _state(x, lang),
                          tr("remediation.column.evidence", lang): _evidence(x, lang)}
                         for x in o.not_fixable])


def _open_items(o: RemediationOutcome, lang: str) -> list[str]:
    return [_item(x, o, lang) for x in o.not_fixable if not x["passed"]]


# ---------------------------------------------------------------------------
# the files
# ---------------------------------------------------------------------------

def write_files(o: RemediationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    """remediation.csv, remediation.xlsx, summary.json and district_after/ in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = remediation_table(o, lang)
    files = [write_csv(table, out / "remediation.csv"),
             write_xlsx({tr("remediation.sheet", lang): remediation_sheet(table, lang),
                         tr("remediation.sheet.by_indicator", lang): by_indicator(o, lang),
                         tr("remediation.sheet.by_school", lang): by_school(o, lang)},
                        out / "remediation.xlsx"),
             write_json(o.summary, out / "summary.json")]
    after = out / DISTRICT_AFTER
    if after.is_dir() and (after / "district.yaml").exists():
        shutil.rmtree(after)           # an earlier run's district_after, replaced whole
    files.append(save_district(o.district_after, after))
    return files


# ---------------------------------------------------------------------------
# the contract's other views
# ---------------------------------------------------------------------------

def workbook_sheets(o: RemediationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The run workbook's sheet: the list of actions in words."""
    return {tr("remediation.sheet", lang): remediation_sheet(remediation_table(o, lang), lang)}


def _school_level_text(o: RemediationOutcome, lang: str) -> str:
    bad = [k for k, ok in o.summary["school_level_after"].items() if not ok]
    return tr("remediation.all_pass", lang) if not bad else tr("remediation.some_fail", lang,
                                                              n=len(bad))


def _table_title(o: RemediationOutcome, lang: str) -> str:
    return o.costs.title.get(lang) or o.costs.name


def _fmt_yuan(x: float) -> str:
    return f"{float(x):,.2f}"


def warnings(o: RemediationOutcome, lang: str = "zh") -> list[str]:
    """In red: an infeasible programme and its shortfalls, posts that bind, vacant
    posts (有编不补), limits still broken, what still fails that no resource fixes."""
    names = o.district.school_names()
    out = []
    s = o.summary
    if o.result.closest or not o.status.has_plan:
        out.append(tr("remediation.warning.infeasible", lang))
    for sf in s["shortfalls"]:
        out.append(tr(f"remediation.warning.shortfall.{sf['code']}", lang,
                      school=names.get(sf["school_id"], sf["school_id"]),
                      stage=tr("remediation.stage_paren", lang,
                               stage=label("stage", sf["stage"], lang)) if sf["stage"] else "",
                      ind=sf["indicator"], needed=sf["needed"], allowed=sf["allowed"]))
    short = {sf["school_id"] for sf in s["shortfalls"]}
    for q in s["quota"]:
        if q["binding"] and q["hires"] and q["school_id"] not in short:
            out.append(tr("remediation.warning.quota_binding", lang,
                          school=names.get(q["school_id"], q["school_id"]),
                          quota=q["quota_after"], staff=q["staff"], hires=q["hires"]))
    vac = s["vacant_posts_after"]
    if vac:
        at = tr("remediation.id_sep", lang).join(
            tr("remediation.warning.vacant_at", lang,
               school=names.get(v["school_id"], v["school_id"]), n=v["vacant"])
            for v in vac[:LISTED_SCHOOLS])
        if len(vac) > LISTED_SCHOOLS:
            at += tr("remediation.warning.vacant_more", lang, schools=len(vac),
                     rest=len(vac) - LISTED_SCHOOLS)
        out.append(tr("remediation.warning.vacant", lang, at=at,
                      posts=sum(v["vacant"] for v in vac)))
    items = _open_items(o, lang)
    if items:
        out.append(tr("remediation.warning.not_fixable", lang,
                      items=tr("remediation.id_sep", lang).join(items)))
    return out


def report_sections(o: RemediationOutcome, lang: str = "zh") -> list[ReportSection]:
    """整改清单: the totals (first year, one-off, yearly, over the horizon), the verdict
    after the programme, the costs by indicator and by school, the list of actions and
    what no resource fixes."""
    s = o.summary
    years = o.params.recurring_years
    after = o.after
    verdict = tr("remediation.verdict.recognised" if after.recognised
                 else "remediation.verdict.not_recognised", lang)
    figures = (
        (tr("remediation.figure.status", lang), label("status", s["status"], lang)),
        (tr("remediation.figure.total", lang), _fmt_yuan(s["total_cost_yuan"])),
        (tr("remediation.figure.capital", lang), _fmt_yuan(s["capital_yuan"])),
        (tr("remediation.figure.recurring", lang), _fmt_yuan(s["recurring_yuan_per_year"])),
        (tr("remediation.figure.horizon", lang, years=f"{years:g}"),
         _fmt_yuan(s["capital_yuan"] + years * s["recurring_yuan_per_year"])),
        (tr("remediation.figure.actions", lang), str(s["actions"])),
        (tr("remediation.figure.a_before", lang), f"{s['a_passed_before']}/{s['a_total']}"),
        (tr("remediation.figure.a_after_closest" if s["closest"] else
            "remediation.figure.a_after", lang), f"{s['a_passed_after']}/{s['a_total']}"),
        (tr("remediation.figure.school_level", lang), _school_level_text(o, lang)),
        (tr("remediation.figure.verdict", lang), verdict),
        (tr("remediation.figure.cost_table", lang), _table_title(o, lang)),
    )
    table = remediation_table(o, lang)
    shown = remediation_sheet(table[REPORT_COLUMNS], lang)
    technical = (
        (tr("remediation.technical.solver", lang), str(s["solver"])),
        (tr("remediation.technical.objective", lang), _fmt_yuan(s["objective"] or 0.0)),
        (tr("remediation.technical.lower_bound", lang),
         "—" if s["lower_bound"] is None else _fmt_yuan(s["lower_bound"])),
        (tr("remediation.technical.gap", lang), "—" if s["gap"] is None else f"{s['gap']:.2e}"),
        (tr("remediation.technical.rounds", lang), str(s["rounds"])),
        (tr("remediation.technical.cuts", lang), str(s["cuts"])),
        (tr("remediation.technical.moves", lang), str(s["move_options"])),
        (tr("remediation.technical.moves_fixed", lang), yes_no(s["moves_fixed"], lang)),
    )
    note = tr("remediation.table.note", lang, table=_table_title(o, lang), years=f"{years:g}")
    return [ReportSection(
        key="remediation", title=tr("remediation.title", lang), figures=figures,
        tables=(Table(tr("remediation.table.by_indicator", lang), by_indicator(o, lang)),
                Table(tr("remediation.table.by_school", lang), by_school(o, lang)),
                Table(tr("remediation.table.actions", lang), shown, note=note),
                Table(tr("remediation.table.not_fixable", lang), not_fixable_table(o, lang))),
        notes=(tr("remediation.note.district_after", lang),),
        warnings=tuple(warnings(o, lang)), technical=technical)]


def compare_figures(o: RemediationOutcome) -> dict:
    s = o.summary
    return {"remediation_cost_yuan": s["total_cost_yuan"],
            "remediation_capital_yuan": s["capital_yuan"],
            "remediation_recurring_yuan": s["recurring_yuan_per_year"],
            "remediation_a_passed": s["a_passed_after"]}


def map_layers(o: RemediationOutcome) -> dict:
    return {}


def headline(o: RemediationOutcome, lang: str = "zh") -> list[str]:
    """The line under the report's verdict: what the remediation list costs and what it
    brings (the way from today's verdict to recognition)."""
    s = o.summary
    if not o.status.has_plan:
        return []
    key = "remediation.headline.recognised" if s.get("recognised_after") else \
        "remediation.headline.not_recognised"
    return [tr(key, lang, actions=s["actions"], after=s["a_passed_after"], total=s["a_total"],
               cost=_fmt_yuan(s["total_cost_yuan"]), capital=_fmt_yuan(s["capital_yuan"]),
               recurring=_fmt_yuan(s["recurring_yuan_per_year"]))]


def console_lines(o: RemediationOutcome, lang: str = "zh") -> list[str]:
    s = o.summary
    lines = [tr("remediation.console.summary", lang, actions=s["actions"],
                total=_fmt_yuan(s["total_cost_yuan"]), capital=_fmt_yuan(s["capital_yuan"]),
                recurring=_fmt_yuan(s["recurring_yuan_per_year"]),
                status=label("status", s["status"], lang)),
             tr("remediation.console.after_closest" if s["closest"] else
                "remediation.console.after", lang, before=s["a_passed_before"],
                after=s["a_passed_after"], total=s["a_total"],
                school_level=_school_level_text(o, lang))]
    lines += warnings(o, lang)
    return lines

