"""The rotation plan as a planner reads it (presenter; contract in
:mod:`planner.outputs.sections`).

The library's :class:`~planner.plans.rotation.RotationOutcome` holds codes and
numbers; the words come from the catalogue (``catalogue/rotation.yaml`` and the
common kinds ``stage``, ``degree``, ``backbone``, ``area_type``, ``status``):

- ``rotation.csv`` (docs/data-format.md columns, the first twelve as before, the
  office's columns after them): the contract's column names, values in the output
  language (Chinese in ``zh``: 小学, 本科, 县级, 城区, 交流 …); ``id_number`` (masked) is
  added when the roster has identity numbers. The list holds the year's returns (an
  exchange that has ended) and the plan's moves, by teacher id;
- ``rotation.xlsx`` and the run workbook's sheet: the office's columns in the order
  a list is signed in, headers and values in the output language;
- ``summary.json``: the outcome's language-free summary.

:func:`record_history` appends a list to the district's ``rotation_history.csv``
(``planner rotate --record YEAR``), atomically.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd

from planner.core.errors import PlanInputError
from planner.io.export import mask_id_number, write_csv, write_json, write_xlsx
from planner.io.load import ROTATION_HISTORY_COLUMNS
from planner.outputs.i18n import label, tr, yes_no
from planner.outputs.sections import ReportSection, Table
from planner.plans.rotation import RotationOutcome, flows

__all__ = ["COLUMNS", "OFFICE_COLUMNS", "REPORT_COLUMNS", "check_record", "compare_figures",
           "console_lines", "diagnostic_text", "map_layers", "record_history", "report_sections",
           "rotation_sheet", "rotation_table", "shortfall_text", "workbook_sheets",
           "write_files"]

#: rotation.csv columns (docs/data-format.md); ``id_number`` follows when the roster has one
COLUMNS = ["teacher_id", "name", "stage", "subject", "degree", "backbone", "from_school_id",
           "from_school", "to_school_id", "to_school", "direction", "reason",
           "years_at_school", "age", "from_area", "to_area", "move_type", "period_years",
           "minutes", "exchange_with", "wish"]
#: rotation.xlsx and the run workbook: the order a personnel office signs a list in
OFFICE_COLUMNS = ["teacher_id", "name", "id_number", "stage", "subject", "degree", "backbone",
                  "years_at_school", "age", "from_school_id", "from_school", "from_area",
                  "to_school_id", "to_school", "to_area", "direction", "move_type",
                  "period_years", "minutes", "reason", "exchange_with", "wish"]
#: a report shows a teacher by name, subject, degree and backbone level
REPORT_COLUMNS = ["name", "subject", "degree", "backbone", "from_school", "to_school",
                  "direction", "move_type", "reason"]
#: the most schools a diagnostic lists by name
LISTED_SCHOOLS = 8
#: the move type of a move's kind (the plan's own moves take the setting)
KIND_TYPES = {"exchange_out": "shadowing"}
#: the history columns --record writes
HISTORY_FIELDS = [c.name for c in ROTATION_HISTORY_COLUMNS]


# ---------------------------------------------------------------------------
# the rotation list
# ---------------------------------------------------------------------------

def direction_text(direction: str, lang: str = "zh") -> str:
    """``"town->rural"`` (a move's area types) as 镇区→乡村 / town→village."""
    a, b = direction.split("->")
    return tr("rotation.direction", lang, a=tr(f"rotation.direction.{a}", lang),
              b=tr(f"rotation.direction.{b}", lang))


def reason_text(code: str, subject: str, lang: str = "zh") -> str:
    """The words of a reason code (``models.rotation.REASON_CODES`` and ``return``)."""
    return tr(f"rotation.reason.{code}", lang, subject=subject)


def _move_type(o: RotationOutcome, m) -> str:
    if m.kind == "return":
        return dict(o.history.types).get(m.teacher_id) or "return"
    return KIND_TYPES.get(m.kind, o.params.move_type)


def _number(v: Any) -> Any:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return int(v) if float(v) == int(v) else v


def _records(o: RotationOutcome) -> list[dict[str, Any]]:
    """One row of codes and numbers per listed move (returns and the plan's)."""
    start = o.district_start or o.district_after
    names = start.school_names()
    area = dict(zip(start.schools["school_id"], start.schools["area_type"]))
    t = start.teachers.set_index("teacher_id")
    orig = {m.teacher_id: m.from_school for m in o.history.returns}
    rows = []
    for m in o.listed():
        r = t.loc[m.teacher_id]
        period = "" if m.kind == "return" else o.params.period_years
        rows.append({"teacher_id": m.teacher_id, "name": r["name"], "stage": m.stage,
                     "subject": m.subject, "degree": r["degree"], "backbone": r["backbone"],
                     "from_school_id": m.from_school, "from_school": names[m.from_school],
                     "to_school_id": m.to_school, "to_school": names[m.to_school],
                     "direction": m.direction, "reason": m.reason,
                     "years_at_school": _number(r["years_at_school"])
                     if m.teacher_id not in orig else "",
                     "age": _number(r["age"]), "from_area": area[m.from_school],
                     "to_area": area[m.to_school], "move_type": _move_type(o, m),
                     "period_years": period, "minutes": round(m.cost, 1),
                     "exchange_with": m.pair, "wish": m.wish, "kind": m.kind})
    return rows


#: the code columns of the list and the kind of their words
_CODE_KINDS = (("stage", "stage"), ("degree", "degree"), ("backbone", "backbone"),
               ("from_area", "area_type"), ("to_area", "area_type"))


def _words(r: dict[str, Any], lang: str) -> dict[str, Any]:
    """A record of :func:`_records` with every code in words of ``lang``."""
    x = dict(r)
    for col, kind in _CODE_KINDS:
        x[col] = label(kind, r[col], lang)
    x["move_type"] = tr(f"rotation.move_type.{r['move_type']}", lang)
    x["direction"] = direction_text(r["direction"], lang)
    x["reason"] = reason_text(r["reason"], r["subject"], lang)
    x["wish"] = tr("rotation.wish", lang, rank=r["wish"]) if r["wish"] else ""
    if r["period_years"] == 0:
        x["period_years"] = tr("rotation.period.for_good", lang)
    return x


def _id_numbers(o: RotationOutcome, ids: list[str]) -> list[str] | None:
    start = o.district_start or o.district_after
    t = start.teachers.set_index("teacher_id")
    if "id_number" not in t.columns or not (t["id_number"].astype(str).str.strip() != "").any():
        return None
    # identity numbers are never written in full
    return [mask_id_number(t["id_number"].get(x, "")) for x in ids]


def _table(o: RotationOutcome, columns: list[str], lang: str) -> pd.DataFrame:
    rows = [_words(r, lang) for r in _records(o)]
    table = pd.DataFrame(rows, columns=[c for c in COLUMNS + ["id_number"]])
    masked = _id_numbers(o, list(table["teacher_id"]))
    if masked is None:
        columns = [c for c in columns if c != "id_number"]
    else:
        table["id_number"] = masked
    return table[columns]


def rotation_table(o: RotationOutcome, lang: str = "zh") -> pd.DataFrame:
    """The rows of rotation.csv: one per listed teacher, in teacher-id order, values in
    ``lang`` under the column names of docs/data-format.md (:data:`COLUMNS`, then
    ``id_number`` masked when the roster has identity numbers).

    Reading taken: the CSV is the file scripts read, so its headers stay the contract's
    names in every language (extend, don't rename); the office's Chinese headers are
    those of rotation.xlsx and the run workbook (:func:`rotation_sheet`)."""
    return _table(o, COLUMNS + ["id_number"], lang)


def rotation_sheet(o: RotationOutcome, lang: str = "zh") -> pd.DataFrame:
    """rotation.xlsx and the run workbook: the office's columns
    (:data:`OFFICE_COLUMNS`), headers and values in ``lang``."""
    table = _table(o, OFFICE_COLUMNS, lang)
    return table.rename(columns={c: tr(f"rotation.column.{c}", lang) for c in table.columns})


def write_files(o: RotationOutcome, out: Path, lang: str = "zh") -> list[Path]:
    """rotation.csv, rotation.xlsx and summary.json in ``out``."""
    table = rotation_table(o, lang)
    return [write_csv(table, out / "rotation.csv"),
            write_xlsx({tr("rotation.sheet", lang): rotation_sheet(o, lang)},
                       out / "rotation.xlsx"),
            write_json(o.summary, out / "summary.json")]


# ---------------------------------------------------------------------------
# the contract's other views
# ---------------------------------------------------------------------------

def workbook_sheets(o: RotationOutcome, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """The run workbook's sheet: the office's list, headers and values in ``lang``."""
    return {tr("rotation.sheet", lang): rotation_sheet(o, lang)}


def _figures(o: RotationOutcome, lang: str) -> tuple[tuple[str, Any], ...]:
    s = o.summary
    f = [("eligible", s["eligible"]), ("required", s["required"]),
         ("rotated", s["rotated"]), ("backbone_rotated", s["backbone_rotated"]),
         ("backbone_toward_need", s["backbone_toward_need"]),
         ("exchanges", s["exchanges"]), ("not_toward_need", s["not_toward_need"]),
         ("quota_reasons", s["quota_reasons"])]
    if s.get("wish_teachers"):
        f += [("wish_teachers", s["wish_teachers"]), ("wishes_granted", s["wishes_granted"])]
    if s.get("school_year") is not None:
        f += [("school_year", tr("rotation.school_year", lang, year=s["school_year"],
                                 next=s["school_year"] + 1)),
              ("history_excluded", s["history_excluded"]), ("returns", s["returns"])]
    f += [("floors", tr("rotation.floors_change", lang, before=s["floors_met_before"],
                        after=s["floors_met_after"], parts=s["school_parts"])),
          ("verified", yes_no(bool(s.get("verified")), lang))]
    return tuple((tr(f"rotation.figure.{k}", lang), v) for k, v in f)


def _technical(o: RotationOutcome, lang: str) -> tuple[tuple[str, str], ...]:
    s = o.summary
    gap = "" if s["gap"] is None else f"{s['gap']:.2%}"
    out = [(tr("rotation.tech.status", lang), label("status", s["status"], lang)),
           (tr("rotation.tech.gap", lang), gap),
           (tr("rotation.tech.solver", lang), str(s["solver"]))]
    for lv in s.get("levels", []):
        g = "" if lv["gap"] is None else f"{lv['gap']:.2%}"
        out.append((tr(f"rotation.level.{lv['level']}", lang),
                    f"{label('status', lv['status'], lang)} {g}".strip()))
    return tuple(out)


def _reason_table(o: RotationOutcome, lang: str) -> pd.DataFrame:
    rows = _records(o)
    c = Counter(reason_text(r["reason"], r["subject"], lang) for r in rows)
    return pd.DataFrame({tr("rotation.column.reason", lang): list(c),
                         tr("rotation.column.teachers", lang): list(c.values())})


def report_sections(o: RotationOutcome, lang: str = "zh") -> list[ReportSection]:
    """The rotation section: the figures of the list (purpose, exchanges, wishes,
    history), why a count cannot be met or a goal was missed (in red), the reasons
    counted and the list by name, subject, degree and backbone level; solver
    details go to the technical notes."""
    sheet = rotation_sheet(o, lang)
    cols = [tr(f"rotation.column.{c}", lang) for c in REPORT_COLUMNS]
    if sheet.empty:
        sheet = pd.DataFrame(columns=cols)
    return [ReportSection(key="rotation", title=tr("rotation.title", lang),
                          figures=_figures(o, lang),
                          tables=(Table(tr("rotation.caption.reasons", lang),
                                        _reason_table(o, lang)),
                                  Table(tr("rotation.caption.list", lang), sheet[cols])),
                          notes=(tr("rotation.note.purpose", lang),),
                          warnings=tuple(_explanations(o, lang)),
                          technical=_technical(o, lang))]


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
             tr("rotation.console.purpose", lang, toward=s["backbone_toward_need"],
                backbone=s["backbone_rotated"], exchanges=s["exchanges"],
                none=s["not_toward_need"], quota=s["quota_reasons"])]
    if s.get("wish_teachers"):
        lines.append(tr("rotation.console.wishes", lang, teachers=s["wish_teachers"],
                        granted=s["wishes_granted"]))
    if s.get("school_year") is not None:
        lines.append(tr("rotation.console.history", lang, year=s["school_year"],
                        excluded=s["history_excluded"], returns=s["returns"]))
    lines.append(tr("rotation.console.floors", lang, before=s["floors_met_before"],
                    after=s["floors_met_after"], parts=s["school_parts"]))
    for k in ("1", "2", "3"):
        b, a = s["cv_before"].get(k) or {}, s["cv_after"].get(k) or {}
        values = [tr("rotation.console.cv_stage", lang, stage=label("stage", st, lang),
                     before=_cv(b.get(st)), after=_cv(a.get(st)))
                  for st in ("primary", "junior") if st in b or st in a]
        lines.append(tr("rotation.console.cv", lang, k=k, values=", ".join(values)))
    lines += _explanations(o, lang)
    if o.violations and o.status.has_plan:   # a closest plan misses the counts by design
        lines.append(tr("rotation.console.verify_failed", lang, problems="; ".join(o.violations)))
    return lines


# ---------------------------------------------------------------------------
# diagnostics and shortfalls
# ---------------------------------------------------------------------------

def _cv(value: Any) -> str:
    """A CV for the console: three decimals (the workbook keeps it unrounded); — when
    the stage has none."""
    return "—" if value is None else f"{float(value):.3f}"


def _explanations(o: RotationOutcome, lang: str) -> list[str]:
    """Why the hard counts cannot be met or a goal was missed, then what the closest
    plan misses, then returns that could not happen."""
    names = (o.district_start or o.district_after).school_names()
    out = [diagnostic_text(d.code, d.figures, lang, names) for d in o.result.messages]
    out += [shortfall_text(sf.rule, sf.required, sf.achieved, sf.short, lang)
            for sf in o.result.shortfalls]
    for tid, school in o.history.blocked:
        out.append(tr("rotation.history.blocked", lang, teacher=tid,
                      school=names.get(school, school)))
    return out


def _pct(x: float) -> str:
    """A share as a percentage without float noise: 0.1 → "10 %"."""
    return f"{float(Fraction(str(x)) * 100):g} %"


def _school(h: str, names: dict | None, lang: str = "zh") -> str:
    if names and h in names:
        return tr("rotation.diagnostic.school", lang, name=names[h], id=h)
    return str(h)


def _listing(at: Any, lang: str, names: dict | None = None) -> str:
    """``(school, n)`` pairs (most first): the first few by school, then the rest summed."""
    at = [(str(h), int(n)) for h, n in at]
    if not at:
        return tr("rotation.diagnostic.at_none", lang)
    text = tr("rotation.diagnostic.at_sep", lang).join(
        tr("rotation.diagnostic.at", lang, school=_school(h, names, lang) if names else h, n=n)
        for h, n in at[:LISTED_SCHOOLS])
    rest = at[LISTED_SCHOOLS:]
    if rest:
        text += tr("rotation.diagnostic.at_more", lang, schools=len(rest),
                   n=sum(n for _, n in rest))
    return text


def _full_listing(full: Any, lang: str, names: dict | None) -> str:
    full = list(full)
    if not full:
        return tr("rotation.diagnostic.at_none", lang)
    sep = tr("rotation.diagnostic.at_sep", lang)
    text = sep.join(_school(h, names, lang) for h, _ in full[:LISTED_SCHOOLS])
    if len(full) > LISTED_SCHOOLS:
        text += tr("rotation.diagnostic.more_schools", lang, schools=len(full) - LISTED_SCHOOLS)
    return text


def _kept_listing(kept: Any, lang: str, names: dict | None) -> str:
    kept = list(kept)
    if not kept:
        return tr("rotation.diagnostic.at_none", lang)
    sep = tr("rotation.diagnostic.at_sep", lang)
    text = sep.join(tr("rotation.diagnostic.kept_one", lang, school=_school(h, names, lang),
                       stage=label("stage", st, lang), subject=subj)
                    for h, st, subj in kept[:LISTED_SCHOOLS])
    if len(kept) > LISTED_SCHOOLS:
        text += tr("rotation.diagnostic.more_subjects", lang, n=len(kept) - LISTED_SCHOOLS)
    return text


def diagnostic_text(code: str, figures: dict, lang: str = "zh",
                    names: dict | None = None) -> str:
    """One planner-actionable sentence for a :class:`models.rotation.Diagnostic`
    (``names``: school id → name, to name schools)."""
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
    if code == "direction_unreachable":
        text = tr("rotation.diagnostic.direction_unreachable", lang,
                  required=f["required"], reached=f["reached"],
                  backbone_required=f["backbone_required"],
                  backbone_reached=f["backbone_reached"],
                  full=_full_listing(f["full"], lang, names),
                  kept=_kept_listing(f["kept"], lang, names))
        if f.get("needy") == 0:
            text += tr("rotation.diagnostic.direction_no_need", lang)
        return text
    if code == "backbone_not_toward_need":
        return tr("rotation.diagnostic.backbone_not_toward_need", lang, teachers=f["teachers"],
                  full=_full_listing(f["full"], lang, names))
    return tr(f"rotation.diagnostic.{code}", lang)


def shortfall_text(rule: str, required: int, achieved: int, short: int,
                   lang: str = "zh") -> str:
    """How far a closest plan misses a count (``rule``: movers or backbone)."""
    return tr(f"rotation.shortfall.{rule}", lang, required=required, achieved=achieved,
              short=short)


# ---------------------------------------------------------------------------
# the history: planner rotate --record YEAR
# ---------------------------------------------------------------------------

def history_rows(o: RotationOutcome, year: int) -> list[dict[str, Any]]:
    """The list as ``rotation_history`` rows (codes): every listed move of ``year``."""
    return [{"teacher_id": r["teacher_id"], "school_year": year,
             "from_school_id": r["from_school_id"], "to_school_id": r["to_school_id"],
             "move_type": r["move_type"] if r["kind"] != "return" else "return",
             "period_years": "" if r["kind"] == "return" else r["period_years"]}
            for r in _records(o)]


def record_history(o: RotationOutcome, folder: Path, year: int, lang: str = "zh") -> Path:
    """Append the list to ``folder/rotation_history.csv`` (made when missing, with
    headers in ``lang``), keeping the file's own bytes, encoding, line ends and
    headers: the new file is written beside it and renamed over it, so the user's
    file is never lost or half written.

    Raises
    ------
    PlanInputError
        The history is a workbook (append to a CSV only), or already holds ``year``.
    """
    folder = Path(folder)
    path = folder / "rotation_history.csv"
    check_record(o.district_start or o.district_after, folder, year)
    rows = history_rows(o, year)
    old = path.read_bytes() if path.exists() else b""
    encoding, bom, text = _decode(old)
    newline = "\r\n" if "\r\n" in text else "\n"
    if text:
        header = next(csv.reader(io.StringIO(text.splitlines()[0])))
        fields = _history_fields(header)
    else:
        header = [tr(f"rotation.history.column.{c.name}", lang) for c in ROTATION_HISTORY_COLUMNS]
        fields = HISTORY_FIELDS
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    if not text:
        w.writerow(header)
    for r in rows:
        values = dict(r, move_type=tr(f"rotation.move_type.{r['move_type']}", lang))
        w.writerow(["" if f is None else values.get(f, "") for f in fields])
    if text and not text.endswith(("\n", "\r")):
        text += newline
    data = (bom + (text + buf.getvalue()).encode(encoding)) if old else \
        ("\ufeff" + buf.getvalue()).encode("utf-8")
    if old and not data.startswith(old.rstrip(b"\r\n")):
        raise RuntimeError("internal: the history would not keep its own bytes")
    tmp = folder / f".rotation_history.csv.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def check_record(district, folder: Path, year: int) -> None:
    """Refuse, before anything is made, a ``--record`` that cannot be done: a history
    kept in a workbook or a GeoPackage layer, or one that already holds ``year``.

    Raises
    ------
    PlanInputError
        Naming the file (and the row holding the year).
    """
    if (Path(folder) / "rotation_history.xlsx").exists():
        raise PlanInputError("rotation_history.xlsx: --record appends to a CSV history only; "
                             "save the workbook as rotation_history.csv and run again")
    h = district.rotation_history
    if h is None or not len(h):
        return
    label_ = str(h.attrs.get("label", "rotation_history.csv"))
    if ":" in label_:
        raise PlanInputError(f"{label_}: --record appends to rotation_history.csv only, not "
                             f"to a GeoPackage layer")
    if (h["school_year"] == year).any():
        row = int(h.index[h["school_year"] == year][0])
        raise PlanInputError(f"{label_} row {row}, column school_year: the history already "
                             f"holds school year {year}; --record adds a year once")


def _decode(raw: bytes) -> tuple[str, bytes, str]:
    """(encoding, BOM, text) of an existing CSV (UTF-8 with or without BOM, else GBK)."""
    if not raw:
        return "utf-8", b"", ""
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8", b"\xef\xbb\xbf", raw[3:].decode("utf-8")
    try:
        return "utf-8", b"", raw.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030", b"", raw.decode("gb18030")


def _history_fields(header: list[str]) -> list[str | None]:
    """The history field each column of an existing header holds (``None``: a column
    the toolkit does not read, left empty)."""
    zh = {c.zh: c.name for c in ROTATION_HISTORY_COLUMNS}
    out: list[str | None] = []
    for h in header:
        h2 = h.replace("\ufeff", "").strip()
        key = zh.get(h2, h2.lower())
        out.append(key if key in HISTORY_FIELDS else None)
    return out
