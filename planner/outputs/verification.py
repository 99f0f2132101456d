"""The independent verifier's findings in words (``planner verify``, the run's console
line, report.html's verification block, the web app's run page).

The verifiers (:mod:`planner.verify`) return :class:`~planner.verify.problems.Problem`:
a catalogue key (``planner/outputs/catalogue/verify.yaml``), its fields and the file
it is in. :func:`problem_text` says one in the chosen language; a plain text (a
caller's own line) passes through as it is.

Fields that carry codes are worded here: ``stage`` (小学/初中), ``action`` (a
remediation action), ``school_column`` / ``teacher_column`` (the table's Chinese
header), ``parts`` (``"S1 junior, S2"``: each school's stage), ``cv`` (``"primary
0.51"``: CV by stage), ``level_from`` / ``level_to`` (backbone levels); in Chinese a
value ``True`` / ``False`` is 是/否 and ``None`` / ``nan`` 无数据. A field that holds a
problem is worded in the same language.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from planner.outputs.i18n import label, tr

if TYPE_CHECKING:       # not imported at run time: planner.verify pulls in the library
    from planner.verify.problems import Problem

__all__ = ["problem_text", "problem_message", "problem_file"]


def problem_text(p: Problem | str, lang: str = "zh") -> str:
    """One finding as a line: its file and what is wrong (``rotation/rotation.csv：教师
    T0012 …``); a plain ``str`` is returned as it is."""
    if not _is_problem(p):
        return str(p)
    text = problem_message(p, lang)
    return tr("verify.at", lang, file=p.where, text=text) if p.where else text


def problem_message(p: Problem | str, lang: str = "zh") -> str:
    """What is wrong, without the file (``planner verify`` puts the plan and file in
    front itself); a plain ``str`` is returned as it is."""
    if not _is_problem(p):
        return str(p)
    return tr(p.key, lang, **{k: _value(k, v, lang) for k, v in p.fields.items()})


def problem_file(p: Problem | str) -> str:
    """The file a finding is in (``rotation/rotation.csv``); for a plain text the part
    before its first ``": "`` (the verifiers' sentences start with their file)."""
    if _is_problem(p):
        return p.where
    return str(p).partition(": ")[0]


def _is_problem(p: Any) -> bool:
    """A :class:`~planner.verify.problems.Problem` (by its shape: importing
    :mod:`planner.verify` would load the whole library into every document)."""
    return hasattr(p, "key") and hasattr(p, "fields") and hasattr(p, "where")


def _value(name: str, v: Any, lang: str) -> str:
    if _is_problem(v):
        return problem_message(v, lang)
    v = str(v)
    if lang == "en":                    # the English sentence names the codes
        return v
    if name == "stage":
        return label("stage", v, lang)
    if name == "action":
        return label("remediation.action", v, lang)
    if name in ("level_from", "level_to"):
        return label("backbone", v, lang)
    if name in ("school_column", "teacher_column"):
        return _headers(name).get(v, v)
    if name == "parts":
        return "、".join(_part(x, lang) for x in v.split(", ") if x)
    if name == "cv":
        return "、".join(_stage_first(x, lang) for x in v.split(", ") if x)
    if v in ("True", "False"):
        return label("bool", v == "True", lang)
    if v in ("None", "nan", "NaN"):
        return tr("no_data", lang)
    return v


def _part(x: str, lang: str) -> str:
    """``"S1 junior"`` → ``S1 初中`` (a school and its stage)."""
    sid, _, st = x.rpartition(" ")
    if sid and st in ("primary", "junior", "senior"):
        return f"{sid} {label('stage', st, lang)}"
    return x


def _stage_first(x: str, lang: str) -> str:
    """``"primary 0.51"`` → ``小学 0.51``."""
    st, _, rest = x.partition(" ")
    return f"{label('stage', st, lang)} {rest}".strip()


@lru_cache(maxsize=2)
def _headers(name: str) -> dict[str, str]:
    from planner.io.load import SCHOOL_COLUMNS, TEACHER_COLUMNS
    cols = SCHOOL_COLUMNS if name == "school_column" else TEACHER_COLUMNS
    return {c.name: c.zh for c in cols}
