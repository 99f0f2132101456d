"""Numbers and indicator values as the 督导室 reads them (report, workbook, map, compare).

Rules every document follows:

- **No value rounded onto its threshold.** A number is shown with ``digits`` decimals,
  more when that rounding would put it on (or across) the threshold it is compared
  with: indicator 17's 0.9956 against 100 % reads 99.56 %, never 100 %; a CV of
  0.5004 against 0.50 reads 0.5004, never 0.500. A value equal to its threshold
  (within the engine's 1e-9 relative tolerance) keeps ``digits``.
- **CVs with three decimals** (the unrounded CV, ``cv_exact``), shares as percentages
  (two decimals at most, trailing zeros dropped), yuan and head counts grouped by
  thousands.
- **差 is the amount missing, positive**, for a floor (``threshold − value``) and a
  ceiling (``value − threshold``, 12 and 13) alike (the engine's ``gap``).
- **Words, not codes**: a county fact, a stage, a truth value is put into the reader's
  language from the catalogue (``value.*``, ``check.fact.*``, ``check.item.*`` in
  ``catalogue/indicators.yaml``); nothing prints a Python ``dict``, ``True`` or ``nan``.

Indicators are told apart by the standard's ``kind`` (``IndicatorResult.kind``), so a
variant standard with other numbers reads the same.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from planner.outputs.i18n import label, tr, yes_no

__all__ = ["AT_MOST_KINDS", "PCT_KINDS", "decimals", "num", "pct", "cv_text", "county_text",
           "listing",
           "threshold_text", "failing_texts", "value_text", "gap_value", "stage_word",
           "short_name", "input_warning_text"]

#: kinds whose values are shares (shown as percentages)
PCT_KINDS = frozenset({"training_hours", "certification", "catchment", "county_share",
                       "training_funds"})
#: kinds whose limit is a ceiling (the value must not exceed it)
AT_MOST_KINDS = frozenset({"school_size", "class_size"})
#: the most decimals a value is ever given to stay off its threshold
MAX_DIGITS = 6
#: the engine's relative tolerance: a value this close to its threshold equals it
RTOL = 1e-9


def _isnum(x: Any) -> bool:
    if isinstance(x, bool) or x is None:
        return False
    try:
        return not math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def decimals(value: float, threshold: float | None, digits: int, scale: float = 1.0) -> int:
    """The decimals that show ``value`` (times ``scale``) on its own side of
    ``threshold``: ``digits``, more while the rounding lands on or across it."""
    if threshold is None or not _isnum(threshold) or not _isnum(value):
        return digits
    v, t = float(value), float(threshold)
    if abs(v - t) <= RTOL * max(abs(t), 1.0):
        return digits
    d = digits
    while d < MAX_DIGITS:
        r = round(v * scale, d)
        ts = t * scale
        if (v < t and r < ts - 1e-12) or (v > t and r > ts + 1e-12):
            return d
        d += 1
    return d


def _strip(s: str) -> str:
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def num(value: Any, digits: int = 2, threshold: Any = None, *, fixed: bool = False,
        grouping: bool = True) -> str:
    """A number with ``digits`` decimals (trailing zeros dropped unless ``fixed``), more
    when needed to stay off ``threshold``; "—" for a missing value."""
    if not _isnum(value):
        return "—"
    d = decimals(float(value), threshold if _isnum(threshold) else None, digits)
    s = f"{float(value):,.{d}f}" if grouping else f"{float(value):.{d}f}"
    return s if fixed else _strip(s)


def pct(share: Any, threshold: Any = None, digits: int = 2) -> str:
    """A share as a percentage: 0.9956 → "99.56 %", 0.97 → "97 %"; more decimals when
    two would put it on ``threshold`` (0.99996 against 1 → "99.996 %")."""
    if not _isnum(share):
        return "—"
    thr = float(threshold) if _isnum(threshold) else None
    d = decimals(float(share), thr, digits, scale=100.0)
    return _strip(f"{float(share) * 100:.{d}f}") + " %"


def cv_text(cv: Any, limit: Any = None) -> str:
    """A coefficient of variation: three decimals (0.083, 0.504), more when three would
    read as its limit."""
    if not _isnum(cv):
        return "—"
    d = decimals(float(cv), limit if _isnum(limit) else None, 3)
    return f"{float(cv):.{d}f}"


def listing(items: list[str], lang: str) -> str:
    """Items of a list in a sentence: 甲、乙、丙 / a, b, c."""
    return ("、" if lang == "zh" else ", ").join(items)


def stage_word(code: Any, lang: str) -> str:
    """A stage code in words; a part of two stages (``primary+junior``) part by part."""
    code = "" if code is None else str(code)
    if not code:
        return ""
    return "+".join(label("stage", c, lang) for c in code.split("+"))


def short_name(ind_id: int, lang: str, fallback: str | None = None) -> str:
    """A short name of indicators 1-7 for column headers and map popups (catalogue
    ``ind.short.<id>``), else ``fallback`` (the full name), else the number."""
    from planner.outputs.i18n import catalogue
    key = f"ind.short.{ind_id}"
    if key in catalogue():
        return tr(key, lang)
    return fallback if fallback else str(ind_id)


def _unit(ind, lang: str) -> str:
    det = getattr(ind, "details", None) or {}
    u = det.get("unit_en" if lang == "en" else "unit_zh")
    return str(u) if u else ""


# ----------------------------------------------------------------- county values

def _fact_value(key: str, v: Any, lang: str, threshold: Any = None) -> str:
    """One county fact in words: a truth value, a share, yuan, a count."""
    if isinstance(v, (bool, np.bool_)):
        return yes_no(bool(v), lang)
    if isinstance(v, str):
        return yes_no(v.strip().lower() in ("true", "1", "yes", "是", "y"), lang) \
            if v.strip().lower() in ("true", "false", "1", "0", "yes", "no", "是", "否") else v
    if not _isnum(v):
        return tr("no_data", lang)
    if key.endswith("share"):
        return pct(v, threshold)
    if key.endswith("_yuan"):
        return tr("value.yuan", lang, v=num(v, 0, threshold))
    return num(v, 2, threshold)


def _facts(d: dict, lang: str, thresholds: dict | None = None) -> str:
    thresholds = thresholds or {}
    parts = []
    for k, v in d.items():
        if isinstance(v, dict):
            parts.append(f"{label('check.fact', k, lang)}：{_stages(v, lang)}" if lang == "zh"
                         else f"{label('check.fact', k, lang)}: {_stages(v, lang)}")
            continue
        word = label("check.fact", k, lang)
        sep = "：" if lang == "zh" else ": "
        parts.append(f"{word}{sep}{_fact_value(k, v, lang, thresholds.get(k))}")
    return tr("check.sep", lang).join(parts)


def _stages(d: dict, lang: str, fmt=None, thresholds: dict | None = None) -> str:
    """Per-stage values: "小学 6.62；初中 8.11"."""
    thresholds = thresholds or {}
    out = []
    for st, v in d.items():
        text = fmt(v, thresholds.get(st)) if fmt else num(v, 2, thresholds.get(st))
        out.append(f"{stage_word(st, lang)} {text}")
    return tr("check.sep", lang).join(out) if out else "—"


def county_text(ind, lang: str = "zh") -> str:
    """The county value of an indicator in words (every kind; "—" when there is none)."""
    cv, kind, thr = ind.county_value, ind.kind, ind.threshold
    if cv is None or (isinstance(cv, dict) and not cv):
        return "—"
    if kind == "per_pupil":
        return _stages(cv, lang, thresholds=thr if isinstance(thr, dict) else None)
    if kind == "catchment":
        return _stages(cv, lang, fmt=lambda v, t: pct(v, t),
                       thresholds=thr if isinstance(thr, dict) else None)
    if kind in PCT_KINDS and not isinstance(cv, dict):
        return pct(cv, thr)
    if kind == "special_school_funds":
        return tr("value.yuan_per_pupil", lang, v=num(cv, 0, thr))
    if kind == "school_size" and isinstance(cv, dict):
        return tr("value.largest_school", lang, v=num(cv.get("largest"), 0))
    if kind == "class_size" and isinstance(cv, dict):
        largest = cv.get("largest_class") or {}
        return tr("value.largest_class", lang, v=_stages(
            {k: v for k, v in largest.items() if v is not None}, lang,
            fmt=lambda v, t: tr("value.pupils", lang, v=num(v, 0))))
    if kind in ("art_rooms", "small_school_funds") and isinstance(cv, dict):
        return tr("value.schools", lang, n=num(cv.get("schools"), 0))
    if kind == "rotation" and isinstance(cv, dict):
        return tr("value.rotation", lang, eligible=num(cv.get("eligible"), 0),
                  rotated=num(cv.get("rotated"), 0),
                  rotated_share=pct(cv.get("rotated_share"),
                                    (thr or {}).get("rotated_share")),
                  backbone=num(cv.get("backbone_rotated"), 0),
                  backbone_share=pct(cv.get("backbone_share"),
                                     (thr or {}).get("backbone_share")))
    if kind == "training_funds" and isinstance(cv, dict):
        return _facts(cv, lang, {"share": thr})
    if kind == "teacher_pay" and isinstance(cv, dict):
        return _facts(cv, lang)
    if isinstance(cv, dict):
        return _facts(cv, lang, thr if isinstance(thr, dict) else None)
    if isinstance(cv, bool):
        return yes_no(cv, lang)
    return num(cv, 2, thr if _isnum(thr) else None)


def threshold_text(ind, lang: str = "zh") -> str:
    """The standard an indicator's value is held to, in words ("—" when the name says
    all of it)."""
    thr, kind = ind.threshold, ind.kind
    if thr is None:
        return "—"
    ge, le = "≥", "≤"
    if kind == "per_pupil" and isinstance(thr, dict):
        return _stages(thr, lang, fmt=lambda v, t: f"{ge} {num(v, 2)}")
    if kind == "catchment" and isinstance(thr, dict):
        return _stages(thr, lang, fmt=lambda v, t: f"{ge} {pct(v)}")
    if kind in PCT_KINDS and _isnum(thr):
        return f"{ge} {pct(thr)}"
    if kind == "class_size" and isinstance(thr, dict):
        return _stages(thr, lang, fmt=lambda v, t: f"{le} {tr('value.pupils', lang, v=num(v, 0))}")
    if kind == "school_size" and isinstance(thr, dict):
        return tr("value.school_size_limit", lang,
                  single=num(thr.get("single_stage"), 0),
                  through=num(thr.get("nine_or_twelve_year"), 0))
    if kind == "special_school_funds" and _isnum(thr):
        return f"{ge} " + tr("value.yuan_per_pupil", lang, v=num(thr, 0))
    if kind == "art_rooms" and isinstance(thr, dict):
        return tr("value.art_rooms_rule", lang, classes=num(thr.get("classes_per_room"), 0),
                  music=num(thr.get("music_room_min_m2"), 0),
                  art=num(thr.get("art_room_min_m2"), 0))
    if kind == "rotation" and isinstance(thr, dict):
        return tr("value.rotation_rule", lang, share=pct(thr.get("rotated_share")),
                  backbone=pct(thr.get("backbone_share")))
    if kind == "teacher_pay" and isinstance(thr, dict):
        v = thr.get("teacher_pay_avg_yuan")
        return f"{ge} " + tr("value.yuan", lang, v=num(v, 0)) if _isnum(v) else "—"
    if kind == "quality_monitoring" and isinstance(thr, dict):
        return tr("value.quality_rule", lang, level=num(thr.get("min_level"), 0),
                  difference=num(thr.get("max_difference"), 2))
    if kind == "b":
        return f"{ge} " + tr("value.points", lang, v=num(thr, 1))
    if _isnum(thr):
        return f"{ge} {num(thr, 2)}"
    return "—"


# ------------------------------------------------------------- failing schools

def _is_yuan(ind, check: str | None) -> bool:
    return ind.kind in ("small_school_funds", "special_school_funds") or \
        (check or "").endswith("_yuan")


def value_text(ind, v: Any, threshold: Any = None, check: str | None = None,
               lang: str = "zh") -> str:
    """One school's value of ``ind`` as the tables show it (a share as a percentage,
    yuan grouped, counts whole, per-pupil figures with two decimals kept off the
    threshold)."""
    if not _isnum(v):
        return "—"
    if ind.kind in PCT_KINDS:
        return pct(v, threshold)
    if _is_yuan(ind, check):
        return num(v, 0, threshold)
    if ind.kind in ("school_size", "class_size") or check in ("music_rooms", "art_rooms"):
        return num(v, 0, threshold)
    if check == "staff_quota":
        return num(v, 1, threshold)
    return num(v, 2, threshold)


def gap_value(f: dict) -> float | None:
    """The amount missing of a failing record, positive (the engine's ``gap``; taken
    as ``|threshold − value|`` for a record written before the sign was fixed)."""
    g = f.get("gap")
    if _isnum(g):
        return abs(float(g))
    v, t = f.get("value"), f.get("threshold")
    if _isnum(v) and _isnum(t):
        return abs(float(t) - float(v))
    return None


def failing_texts(ind, f: dict, lang: str = "zh") -> tuple[str, str, str, str]:
    """(value, threshold, 差, what is checked) of one failing school, in words."""
    check = f.get("check")
    v, t = f.get("value"), f.get("threshold")
    at_most = ind.kind in AT_MOST_KINDS
    gap = gap_value(f)
    vt = value_text(ind, v, t, check, lang)
    tt = value_text(ind, t, None, check, lang)
    if ind.kind in PCT_KINDS:
        gt = pct(gap) if gap is not None else "—"
    elif gap is not None:
        # the gap keeps the decimals the value needed
        d = 0 if (_is_yuan(ind, check) or at_most or check in ("music_rooms", "art_rooms")) \
            else max(2, decimals(float(v), float(t), 2) if _isnum(v) and _isnum(t) else 2)
        gt = num(gap, d)
    else:
        gt = "—"
    what = label("check.item", check, lang) if check else ""
    if ind.kind in ("training_hours", "certification") and f.get("teachers") is not None:
        what = tr("value.teachers_short", lang, short=num(f.get("short"), 0),
                  teachers=num(f.get("teachers"), 0))
    sign = "≤" if at_most else "≥"
    return vt, f"{sign} {tt}" if tt != "—" else "—", gt, what


# ------------------------------------------------------------------ input check

def input_warning_text(w: dict, lang: str = "zh") -> str:
    """A loader warning (``planner.io.load``: a row whose figures contradict each other)
    in words: where (table, row, school, column) and what."""
    def n(key):
        return num(w.get(key), 0)
    figures = {"largest": n("largest"), "pupils": n("pupils"), "classes": n("classes"),
               "classrooms": n("classrooms"),
               "average": num(w["pupils"] / w["classes"], 2)
               if _isnum(w.get("pupils")) and _isnum(w.get("classes")) and w["classes"] else "—"}
    column = w.get("column_zh") if lang == "zh" else w.get("column")
    where = tr("input.where", lang, file=w.get("file", ""), row=w.get("row", ""),
               school=w.get("school", ""), column=column or "")
    return where + tr(f"input.{w.get('code')}", lang, stage=stage_word(w.get("stage"), lang),
                      **figures)
