"""The rotation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

The library's :class:`~planner.plans.rotation.RotationOutcome` holds codes and
numbers; the words come from the catalogue (``catalogue/rotation.yaml`` and the
common kinds ``stage``, ``degree``, ``backbone``, ``status``):

- ``rotation.csv`` (docs/data-format.md columns): ``stage``, ``degree`` and ``backbone``
  stay codes, ``direction`` and ``reason`` are words in the output language;
  ``id_number`` (masked) is added when the roster has identity numbers;
- ``rotation.xlsx``: the same rows with words for stage, degree and backbone level
  and headers in the output language;
- ``summary.json``: the outcome's language-free summary.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from planner.io.export import mask_id_number, write_csv, write_json, write_xlsx
from planner.outputs.i18n import label, tr
from planner.outputs.report import display_table, summary_figures
from planner.outputs.sections import ReportSection, Table
from planner.plans.rotation import RotationOutcome, flows

__all__ = ["COLUMNS", "REPORT_COLUMNS", "compare_figures", "console_lines", "diagnostic_text",
           "map_layers", "report_sections", "rotation_sheet", "rotation_table",
           "shortfall_text", "workbook_sheets", "write_files"]

#: rotation.csv columns (docs/data-format.md); ``id_number`` follows when the roster has one
COLUMNS = ["teacher_id", "name", "stage", "subject", "degree", "backbone", "from_school_id",
           "from_school", "to_school_id", "to_school", "direction", "reason"]
#: a report shows a teacher only by name and subject
REPORT_COLUMNS = ["name", "subject", "from_school", "to_school", "direction", "reason"]
#: the most schools a diagnostic lists by name
LISTED_SCHOOLS = 8


# ---------------------------------------------------------------------------
# the rotation list
# ---------------------------------------------------------------------------

def direction_text(direction: str, lang: str = "zh") -> str:
    """``"town->rural"`` (a move's area types) as 城镇→乡村 / town→village."""
    a, b = direction.split("->")
    return tr("rotation.direction", lang, a=tr(f"rotation.direction.{a}", lang),
              b=tr(f"rotation.direction.{b}", lang))


def rotation_table(o: RotationOutcome, lang: str = "zh") -> pd.DataFrame:
    """The rows of rotation.csv: one per moving teacher, in teacher-id order."""
    d = o.district_after           # a plan moves teachers, never renames or edits them
    names = d.school_names()
    t = d.teachers.set_index("teacher_id")
    rows = []
    for m in o.result.moves:
        r = t.loc[m.teacher_id]
        rows.append({"teacher_id": m.teacher_id, "name": r["name"], "stage": m.stage,
                     "subject": m.subject, "degree": r["degree"], "backbone": r["backbone"],
                     "from_school_id": m.from_school, "from_school": names[m.from_school],
                     "to_school_id": m.to_school, "to_school": names[m.to_school],
                     "direction": direction_text(m.direction, lang),
                     "reason": tr(f"rotation.reason.{m.reason}", lang)})
    out = pd.DataFrame(rows, columns=COLUMNS)
    ids = t["id_number"] if "id_number" in t.columns else None
    if ids is not None and (ids.astype(str).str.strip() != "").any():
        # identity numbers are never written in full
        out["id_number"] = [mask_id_number(ids.get(x, "")) for x in out["teacher_id"]]
    return out


def rotation_sheet(table: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """rotation.xlsx: the rows of :func:`rotation_table` with words for the stage,
    degree and backbone level and headers in ``lang``."""
    x = table.copy()
    for col, kind in (("stage", "stage"), ("degree", "degree"), ("backbone", "backbone")):
        x[col] = [label(kind, v, lang) if isinstance(v, str) else v for v in x[col]]
    return x.rename(columns={c: tr(f"rotation.column.{c}", lang) for c in x.columns})


def write_files(o: RotationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    """rotation.csv, rotation.xlsx and summary.json in ``out``."""
    table = rotation_table(o, lang)
    return [write_csv(table, out / "rotation.csv"),
            write_xlsx({tr("rotation.sheet", lang): rotation_sheet(table, lang)},
                       out / "rotation.xlsx"),
            write_json(o.summary, out / "summary.json")]


# ---------------------------------------------------------------------------
# the contract's other views
# ---------------------------------------------------------------------------

def workbook_sheets(o: RotationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The run workbook's sheet: the rows of rotation.csv as they are."""
    return {tr("rotation.sheet", lang): rotation_table(o, lang)}


def report_sections(o: RotationOutcome, lang: str = "zh") -> list[ReportSection]:
    """The rotation section: the summary's figures, why a count cannot be met and by
    how much the closest plan misses it (in red), and the list by name and subject."""
    table = rotation_table(o, lang)
    return [ReportSection(key="rotation", title=tr("rotation.title", lang),
                          figures=summary_figures(o.summary, lang),
                          tables=(Table("", display_table(table[REPORT_COLUMNS], lang)),),
                          warnings=tuple(_explanations(o, lang)))]


def compare_figures(o: RotationOutcome) -> dict:
    s = o.summary
    return {"teachers_moved": s["rotated"], "backbone_moved": s["backbone_rotated"]}


def map_layers(o: RotationOutcome) -> dict:
    return {"rotation_flows": flows(o)}


def console_lines(o: RotationOutcome, lang: str = "zh") -> list[str]:
    s = o.summary
    lines = [tr("rotation.console.counts", lang, eligible=s["eligible"], required=s["required"],
                rotated=s["rotated"], backbone_rotated=s["backbone_rotated"],
                status=label("status", s["status"], lang)),
             tr("rotation.console.floors", lang, before=s["floors_met_before"],
                after=s["floors_met_after"], parts=s["school_parts"])]
    for k in ("1", "2", "3"):
        b, a = s["cv_before"].get(k) or {}, s["cv_after"].get(k) or {}
        values = [tr("rotation.console.cv_stage", lang, stage=label("stage", st, lang),
                     before=b.get(st), after=a.get(st))
                  for st in ("primary", "junior") if st in b or st in a]
        lines.append(tr("rotation.console.cv", lang, k=k, values=", ".join(values)))
    lines += _explanations(o, lang)
    if o.violations:
        lines.append(tr("rotation.console.verify_failed", lang, problems="; ".join(o.violations)))
    return lines


# ---------------------------------------------------------------------------
# diagnostics and shortfalls
# ---------------------------------------------------------------------------

def _explanations(o: RotationOutcome, lang: str) -> list[str]:
    """Why the hard counts cannot be met, then what the closest plan misses."""
    return ([diagnostic_text(d.code, d.figures, lang) for d in o.result.messages]
            + [shortfall_text(sf.rule, sf.required, sf.achieved, sf.short, lang)
               for sf in o.result.shortfalls])


def _pct(x: float) -> str:
    """A share as a percentage without float noise: 0.1 → "10 %"."""
    return f"{float(Fraction(str(x)) * 100):g} %"


def _listing(at: Any, lang: str) -> str:
    """``(school, n)`` pairs (most first): the first few by school, then the rest summed."""
    at = [(str(h), int(n)) for h, n in at]
    if not at:
        return tr("rotation.diagnostic.at_none", lang)
    text = tr("rotation.diagnostic.at_sep", lang).join(
        tr("rotation.diagnostic.at", lang, school=h, n=n) for h, n in at[:LISTED_SCHOOLS])
    rest = at[LISTED_SCHOOLS:]
    if rest:
        text += tr("rotation.diagnostic.at_more", lang, schools=len(rest),
                   n=sum(n for _, n in rest))
    return text


def diagnostic_text(code: str, figures: dict, lang: str = "zh") -> str:
    """One planner-actionable sentence for a :class:`models.rotation.Diagnostic`."""
    f = dict(figures)
    if code == "single_school_stage":
        school = f["school"] or tr("rotation.diagnostic.no_school", lang)
        return tr("rotation.diagnostic.single_school_stage", lang,
                  stage=label("stage", f["stage"], lang), school=school, teachers=f["teachers"])
    if code == "movers_unreachable":
        return tr("rotation.diagnostic.movers_unreachable", lang, share=_pct(f["share"]),
                  eligible=f["eligible"], required=f["required"], most=f["most"],
                  max_send_share=_pct(f["max_send_share"]), at=_listing(f["at"], lang))
    if code == "backbone_unreachable":
        return tr(f"rotation.diagnostic.backbone_unreachable.{f['base']}", lang,
                  backbone_share=_pct(f["backbone_share"]), movers=f["movers"],
                  needed=f["needed"], available=f["available"], at=_listing(f["at"], lang))
    return tr(f"rotation.diagnostic.{code}", lang)


def shortfall_text(rule: str, required: int, achieved: int, short: int,
                   lang: str = "zh") -> str:
    """How far a closest plan misses a count (``rule``: movers or backbone)."""
    return tr(f"rotation.shortfall.{rule}", lang, required=required, achieved=achieved,
              short=short)
