"""Reading a plan's written files back (CSV with formula-safe cells).

A plan file the verifier needs is read with its columns checked first: a missing
file, a missing column or a value that is not the number it must be is a
:class:`~planner.core.errors.DataError` naming the file, row and column (``planner
verify`` exits 2: bad input, not an internal error).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from planner.core.errors import DataError

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
        raise DataError([f"{label} row -, column -: the file is missing (the plan's files "
                         f"are incomplete)"]) from None
    except IsADirectoryError:
        raise DataError([f"{label} row -, column -: a folder, not a plan file"]) from None
    except UnicodeDecodeError as e:
        raise DataError([f"{label} row -, column -: not UTF-8 text ({e.reason})"]) from None
    except csv.Error as e:
        raise DataError([f"{label} row -, column -: not a readable CSV file ({e})"]) from None
    need = FILE_COLUMNS.get(path.name)
    if need:
        _check(label, header, rows, need)
    return rows


def _label(path: Path) -> str:
    """The file as messages name it: its folder and name (``rotation/rotation.csv``)."""
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def _check(label: str, header: list[str], rows: list[dict], need: dict[str, str]) -> None:
    problems = [f"{label} row 1, column {c}: the column is missing" for c in need
                if c not in header]
    for i, r in enumerate(rows, start=2):
        if None in r:
            problems.append(f"{label} row {i}, column -: more cells than the header has")
        for c, kind in need.items():
            if c not in header or kind == "text":
                continue
            v = _unescape((r.get(c) or "").strip())
            if not _is_number(v, kind):
                what = "a whole number" if kind == "int" else "a number"
                problems.append(f'{label} row {i}, column {c}: "{v[:40]}" is not {what}')
        if len(problems) > 20:  # not-a-rule: enough lines to act on
            break
    if problems:
        raise DataError(problems)


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
