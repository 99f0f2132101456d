"""Safe, atomic, deterministic file output for every command.

- A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab/CR) gets a
  leading apostrophe, so Excel and WPS cannot read it as a formula (CSV
  injection). Numbers are left as numbers.
- Every file is written to a hidden temporary name in the target folder and
  renamed when complete: a killed run leaves no half-written file.
- :func:`check_out_dir` refuses an output folder inside the district's input
  folder (outputs must never overwrite the data they came from).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from planner.core.errors import OutputError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.part")


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """UTF-8 with BOM (so Excel opens Chinese text correctly), LF line ends."""
    path = Path(path)
    tmp = _tmp(path)
    safe_frame(df).to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")
    os.replace(tmp, path)
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook, a sheet per table; text cells written as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=str(name)[:31])
        df = safe_frame(df)
        ws.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            vals = []
            for v in row:
                if v is None or (isinstance(v, float) and v != v):
                    vals.append(None)
                elif hasattr(v, "item") and not isinstance(v, str):
                    vals.append(v.item())
                else:
                    vals.append(v)
            ws.append(vals)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for k, c in enumerate(df.columns, start=1):
            width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)]) + 2
            ws.column_dimensions[get_column_letter(k)].width = min(40, max(8, width * 1.2))
        ws.freeze_panes = "A2"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    return save_workbook(wb, path)


def save_workbook(wb, path: str | Path) -> Path:
    """Save an openpyxl workbook atomically, with fixed zip entry times and document
    dates so the same tables give the same bytes (openpyxl stamps the clock)."""
    import io
    import re
    import zipfile
    path = Path(path)
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    tmp = _tmp(path)
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in items:
            if name == "docProps/core.xml":
                data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>",
                              rb"<dcterms:\1\2>2000-01-01T00:00:00Z</dcterms:\1>", data)
            # a fixed date, so the bytes are stable
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # not-a-rule: date
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, path)
    return path


def write_json(obj: Any, path: str | Path) -> Path:
    path = Path(path)
    text = json.dumps(obj, ensure_ascii=False, indent=2, default=_default) + "\n"
    return write_text(text, path)


def write_text(text: str, path: str | Path) -> Path:
    path = Path(path)
    tmp = _tmp(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def _default(o):
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return o.as_posix()
    if isinstance(o, (set, frozenset, tuple)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def check_out_dir(out: str | Path, district_path: str | Path | None) -> Path:
    """Create ``out`` and make sure it is not the district's input folder (or inside it)."""
    out = Path(out).resolve()
    if district_path is not None:
        d = Path(district_path).resolve()
        d = d if d.is_dir() else d.parent
        if out == d or d in out.parents:
            raise OutputError(f"--out {out}: refusing to write into the district's input "
                              f"folder {d}; choose another folder")
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def mask_id_number(v: Any) -> str:
    """Mask an identity number: keep the first 3 and last 2 characters
    (``430603********12``)."""
    s = "" if v is None else str(v).strip()
    if len(s) <= 5:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 5) + s[-2:]
