"""Reading a plan's written files back (CSV with formula-safe cells).

A plan file the verifier needs is read with its columns checked first: a missing
file, a missing column or a value that is not the number it must be is a
:class:`PlanFileError` (a :class:`~planner.core.errors.DataError`) whose problems
(:class:`~planner.verify.problems.Problem`, ``verify.file.*``) name the file, row and
column (``planner verify`` says them in the chosen language and exits 2: bad input,
not an internal error).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from planner.core.errors import DataError
from planner.verify.problems import Problem

#: the columns the verifiers read from each plan file (docs/data-format.md "Plan
#: tables"), and what each value must be
FILE_COLUMNS: dict[str, dict[str, str]] = {
    "rotation.csv": {"teacher_id": "text", "from_school_id": "text", "to_school_id": "text"},
    "assignments.csv": {"school_id": "text", "receiving_school_id": "text", "stage": "text",
                        "pupils": "int"},
    "routes.csv": {"route_id": "text", "stop_order": "int", "stop_id": "text",
                   "pupils_boarding": "int", "arrive_min": "float"},
    "units.csv": {"unit_id": "text", "stage": "text", "school_id": "text", "children": "int"},
}


class PlanFileError(DataError):
    """A plan file that cannot be read: ``problems`` are
    :class:`~planner.verify.problems.Problem` (``verify.file.*``, the file a field)."""

    def __init__(self, problems: list[Problem]):
        Exception.__init__(self, "\n".join(str(p) for p in problems))
        self.problems = list(problems)       # type: ignore[assignment]


def _bad(key: str, label: str, row: int | str = "-", column: str = "-", **fields) -> Problem:
    return Problem(key, {"file": label, "row": row, "column": column, **fields})


def _rows(path: Path) -> list[dict]:
    """The rows of a plan file as dicts; checked against :data:`FILE_COLUMNS` when
    the file is one of those."""
    path = Path(path)
    label = _label(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except FileNotFoundError:
        raise PlanFileError([_bad("verify.file.missing", label)]) from None
    except IsADirectoryError:
        raise PlanFileError([_bad("verify.file.folder", label)]) from None
    except UnicodeDecodeError as e:
        raise PlanFileError([_bad("verify.file.not_utf8", label, reason=e.reason)]) from None
    except csv.Error as e:
        raise PlanFileError([_bad("verify.file.not_csv", label, reason=e)]) from None
    need = FILE_COLUMNS.get(path.name)
    if need:
        _check(label, header, rows, need)
    return rows


def _label(path: Path) -> str:
    """The file as messages name it: its folder and name (``rotation/rotation.csv``)."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _check(label: str, header: list[str], rows: list[dict], need: dict[str, str]) -> None:
    problems = [_bad("verify.file.column_missing", label, 1, c) for c in need
                if c not in header]
    for i, r in enumerate(rows, start=2):
        if None in r:
            problems.append(_bad("verify.file.extra_cells", label, i))
        for c, kind in need.items():
            if c not in header or kind == "text":
                continue
            v = _unescape((r.get(c) or "").strip())
            if not _is_number(v, kind):
                problems.append(_bad("verify.file.not_whole" if kind == "int" else
                                     "verify.file.not_number", label, i, c, value=v[:40]))
        if len(problems) > 20:  # not-a-rule: enough lines to act on
            break
    if problems:
        raise PlanFileError(problems)


def _is_number(v: str, kind: str) -> bool:
    try:
        x = float(v)
    except ValueError:
        return False
    if not math.isfinite(x):
        return False
    if kind == "int":
        try:
            int(v)
        except ValueError:
            return False
    return True


def _unescape(v: str) -> str:
    return v[1:] if v.startswith("'") and len(v) > 1 and v[1] in "=+-@\t\r" else v
