"""Reading a plan's written files back (CSV with formula-safe cells)."""

from __future__ import annotations

import csv
from pathlib import Path


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))



def _unescape(v: str) -> str:
    return v[1:] if v.startswith("'") and len(v) > 1 and v[1] in "=+-@\t\r" else v
