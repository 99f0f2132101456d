"""Loading and validating a district (docs/data-format.md).

A district is a folder holding ``district.yaml`` and the tables ``schools``,
``teachers`` (optional), ``units`` (optional) as CSV or XLSX, ``roads.geojson`` /
``roads.gpkg`` and ``boundary.geojson`` (optional); or a GeoPackage
(``district.gpkg`` in the folder, or a ``.gpkg`` path with ``district.yaml`` or
``<stem>.yaml`` beside it) whose layers ``schools``, ``teachers``, ``units``,
``roads`` and ``boundary`` replace those files.

Every check runs before anything is returned, and *all* problems are reported
at once in a :class:`DataError`, one line each, naming file, row and column.
Rows are numbered as a spreadsheet shows them: the header is row 1, the first
data row is row 2 (GeoJSON features are numbered from 1 as ``feature N``).
CSV files may be UTF-8 (with or without BOM) or GBK/GB18030.
"""

from __future__ import annotations

import gc
import json
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from planner.core.district import TYPE_STAGES, District, Settings, derive_teacher_flags
from planner.core.errors import DataError
from planner.io.yamlsafe import MAX_ECHO, load_yaml, short

# --------------------------------------------------------------------------
# Schema: English name, Chinese header, kind, required, default
# kinds: id, text, int (count: empty -> default), float (empty -> NaN), bool,
# enum:<name>
# --------------------------------------------------------------------------

ENUMS: dict[str, dict[str, str]] = {
    "school_type": {
        "primary": "primary", "小学": "primary",
        "junior": "junior", "初中": "junior", "初级中学": "junior",
        "nine_year": "nine_year", "九年一贯制学校": "nine_year", "九年一贯制": "nine_year",
        "twelve_year": "twelve_year", "十二年一贯制学校": "twelve_year",
        "十二年一贯制": "twelve_year",
        "complete_middle": "complete_middle", "完全中学": "complete_middle",
        "teaching_point": "teaching_point", "教学点": "teaching_point",
        "special": "special", "特殊教育学校": "special",
    },
    "area_type": {"urban": "urban", "城区": "urban", "town": "town", "镇区": "town",
                  "rural": "rural", "乡村": "rural"},
    "stage": {"primary": "primary", "小学": "primary", "junior": "junior", "初中": "junior"},
    "degree": {"secondary": "secondary", "中专及以下": "secondary", "中专": "secondary",
               "高中": "secondary", "associate": "associate", "大专": "associate",
               "bachelor": "bachelor", "本科": "bachelor", "postgraduate": "postgraduate",
               "研究生": "postgraduate", "硕士": "postgraduate", "博士": "postgraduate"},
    "backbone": {"none": "none", "无": "none", "": "none", "county": "county", "县级": "county",
                 "city": "city", "市级": "city", "province": "province", "省级": "province",
                 "national": "national", "国家级": "national"},
}

ENUM_LABELS = {
    "school_type": "primary 小学, junior 初中, nine_year 九年一贯制学校, "
                   "twelve_year 十二年一贯制学校, complete_middle 完全中学, teaching_point 教学点, "
                   "special 特殊教育学校",
    "area_type": "urban 城区, town 镇区, rural 乡村",
    "stage": "primary 小学, junior 初中",
    "degree": "secondary 中专及以下, associate 大专, bachelor 本科, postgraduate 研究生",
    "backbone": "none 无, county 县级, city 市级, province 省级, national 国家级",
}

TRUE = {"true", "1", "是", "yes", "y", "t", "1.0", "真"}
FALSE = {"false", "0", "否", "no", "n", "f", "0.0", "假"}


@dataclass(frozen=True)
class Col:
    name: str
    zh: str
    kind: str
    required: bool = False
    default: Any = None


SCHOOL_COLUMNS = [
    Col("school_id", "学校代码", "id", True),
    Col("name", "学校名称", "text", True),
    Col("type", "办学类型", "enum:school_type", True),
    Col("area_type", "城乡分类", "enum:area_type", True),
    Col("public", "是否公办", "bool", False, True),
    Col("boarding", "是否寄宿制学校", "bool", False, False),
    Col("parent_id", "所属中心校代码", "text", False, ""),
    Col("lon", "经度", "float", True),
    Col("lat", "纬度", "float", True),
    Col("students_primary", "小学在校生数", "int", True, 0),
    Col("students_junior", "初中在校生数", "int", True, 0),
    Col("classes_primary", "小学班级数", "int", False, 0),
    Col("classes_junior", "初中班级数", "int", False, 0),
    Col("max_class_primary", "小学最大班额", "int", False, 0),
    Col("max_class_junior", "初中最大班额", "int", False, 0),
    Col("students_senior", "高中在校生数", "int", False, 0),
    Col("classrooms", "普通教室数", "float"),
    Col("building_area_m2", "教学及辅助用房面积", "float"),
    Col("sports_area_m2", "体育运动场馆面积", "float"),
    Col("equipment_yuan", "教学仪器设备值", "float"),
    Col("multimedia_rooms", "网络多媒体教室数", "float"),
    Col("music_rooms", "音乐专用教室数", "float"),
    Col("music_room_min_m2", "音乐专用教室最小面积", "float"),
    Col("art_rooms", "美术专用教室数", "float"),
    Col("art_room_min_m2", "美术专用教室最小面积", "float"),
    Col("staff_quota", "核定编制数", "float"),
    Col("public_funds_yuan", "年度公用经费", "float"),
    Col("training_funds_yuan", "教师培训经费", "float"),
    Col("teachers_qualified", "高于规定学历教师数", "float"),
    Col("teachers_backbone", "县级以上骨干教师数", "float"),
    Col("teachers_pe_art", "体育艺术专任教师数", "float"),
]

TEACHER_COLUMNS = [
    Col("teacher_id", "教师编号", "id", True),
    Col("name", "姓名", "text", False, ""),
    Col("school_id", "学校代码", "text", True),
    Col("stage", "任教学段", "enum:stage", True),
    Col("subject", "任教学科", "text", True),
    Col("degree", "最高学历", "enum:degree", True),
    Col("backbone", "骨干教师级别", "enum:backbone", False, "none"),
    Col("certified", "是否持有教师资格证", "bool", False, None),
    Col("full_time", "是否专任教师", "bool", False, True),
    Col("years_at_school", "本校连续任教年限", "float"),
    Col("age", "年龄", "float"),
    Col("training_hours_5y", "近五年培训学时", "float"),
    Col("exempt", "暂缓交流原因", "text", False, ""),
    Col("id_number", "身份证号", "text", False, ""),
    Col("preferences", "交流意向", "text", False, ""),
]

UNIT_COLUMNS = [
    Col("unit_id", "单元编码", "id", True),
    Col("name", "名称", "text", False, ""),
    Col("lon", "经度", "float"),
    Col("lat", "纬度", "float"),
    Col("population", "常住人口", "int", False, 0),
    Col("children_primary", "小学适龄儿童数", "int", False, 0),
    Col("children_junior", "初中适龄少年数", "int", False, 0),
]

# numbers that may not be negative (all numeric columns but coordinates)
_NON_NEGATIVE_EXEMPT = {"lon", "lat"}

YAML_KEYS = ("name", "standard", "settings", "county", "b_scores", "veto")

#: what district.yaml's county facts hold (a missing one makes its indicator "no data")
COUNTY_NUMBER_KEYS = (
    "teacher_pay_avg_yuan", "civil_servant_pay_avg_yuan", "rotation_eligible",
    "rotation_rotated", "rotation_backbone", "catchment_share_primary",
    "catchment_share_junior", "quality_hs_quota_share", "migrant_public_share",
    "junior_retention_rate", "disabled_enrolment_rate",
    "special_school_funds_per_pupil_yuan", "quality_monitoring_level",
    "quality_monitoring_difference", "social_recognition")
COUNTY_BOOL_KEYS = ("unified_standards", "allowances_paid", "performance_pay_full",
                    "training_records_kept", "quota_managed_by_county",
                    "training_plan_exists", "village_schools_run_by_central",
                    "quality_hs_quota_rural_weighted")
VETO_KEYS = ("exam_admission", "illegal_school_choice", "key_schools_or_classes",
             "vacant_posts_unfilled", "major_safety_incident", "falsification")


# --------------------------------------------------------------------------
# reading raw tables
#
# Every reader returns the table as text: a DataFrame of ``object`` columns holding
# ``str`` (stripped of surrounding whitespace, once), indexed by spreadsheet row
# number, blank rows dropped, the header as its columns and its row number in
# ``attrs["header_row"]``. Work is done a column at a time (``map(str.strip, ...)``,
# numpy comparisons), never a Python call per cell through pandas.
# --------------------------------------------------------------------------

#: sheet names (lower case) taken as the table itself, besides the file's stem
TABLE_SHEETS = {"schools": ("学校",), "teachers": ("教师",), "units": ("单元", "居住单元"),
                "closures": ("撤并",), "rotation_history": ("交流记录", "交流轮岗记录")}


def _short(value: Any, limit: int = MAX_ECHO) -> str:
    return short(value, limit)


def _decode_csv(raw: bytes, name: str) -> tuple[str, bool]:
    """``(text, was UTF-8)``: UTF-8 (BOM or not), else GBK/GB18030.

    The file's encoding is that of its first line that is not plain ASCII (the
    header, or the first row with Chinese text): when that line is UTF-8 and a later
    one is not (a GBK row pasted into a UTF-8 file), the file is refused at that
    row, instead of being read as GBK (every Chinese cell mojibake) or failing at
    "row 1". Only the first such line decides: in a long GBK file a few lines may
    happen to be valid UTF-8 too."""
    try:
        return raw.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    first = next(i for i, line in enumerate(lines) if not line.isascii())
    try:
        lines[first].decode("utf-8-sig" if first == 0 else "utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if utf8:
        for i in range(first + 1, len(lines)):
            try:
                lines[i].decode("utf-8")
            except UnicodeDecodeError:
                raise DataError([(f"{name} row {i + 1}, column -: this row is not UTF-8 text "
                                  f"but the rest of the file is (row {first + 1}); save the "
                                  f"whole file as UTF-8")]) from None
    try:
        return raw.decode("gb18030"), False
    except UnicodeDecodeError as e:
        row = raw.count(b"\n", 0, e.start) + 1
        raise DataError([(f"{name} row {row}, column -: cannot be read as UTF-8 or GBK "
                          f"text")]) from None


#: UTF-8 bytes of every character ``str.strip`` removes, but ``\n`` and ``\r``
#: (``\xe2\x80`` also starts other characters, such as “: a false alarm only costs time)
_SPACE_BYTES = (b" ", b"\t", b"\x0b", b"\x0c", b"\x1c", b"\x1d", b"\x1e", b"\x1f",
                b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80", b"\xe2\x80", b"\xe2\x81\x9f",
                b"\xe3\x80\x80")


def _may_need_strip(raw: bytes, utf8: bool) -> bool:
    """False only when no cell can hold whitespace to strip: the UTF-8 file holds no
    whitespace character but line ends, and no quote (a quoted cell may hold a line
    end). A few ``bytes.find`` scans, instead of a ``str.strip`` per cell."""
    # a multi-byte sequence is looked for only when its lead byte is there (memchr)
    if not utf8 or b'"' in raw or any(b in raw for b in _SPACE_BYTES
                                       if len(b) == 1 or b[:1] in raw):
        return True
    return raw.count(b"\r") != raw.count(b"\r\n")


def _read_csv(path: Path) -> pd.DataFrame:
    """A CSV table as text (see above). UTF-8 with or without BOM, or GBK."""
    import io as _io
    raw = path.read_bytes()
    text, utf8 = _decode_csv(raw, path.name)
    text = text.lstrip("\ufeff")
    if not text or text.isspace():
        raise DataError([f"{path.name} row 1, column -: the file is empty"])
    if b"\x00" in raw and "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError([(f"{path.name} row {line}, column -: the file holds a NUL character "
                         f"(not a text table)")])
    try:
        # header=None: a header given twice stays visible (pandas would rename it);
        # object columns of str: nothing is typed or stripped here
        df = pd.read_csv(_io.StringIO(text), dtype=object, keep_default_na=False,
                         na_filter=False, header=None, skip_blank_lines=False, engine="c")
    except pd.errors.ParserError as e:
        m = re.search(r"line (\d+)", str(e)) or re.search(r"row (\d+)", str(e))
        row = m.group(1) if m else "-"
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else "cannot be parsed"
        raise DataError([(f"{path.name} row {row}, column -: not a valid CSV table "
                         f"({_short(msg, 200)})")]) from None
    except pd.errors.EmptyDataError:
        raise DataError([f"{path.name} row 1, column -: the file is empty"]) from None
    return _with_header([df[c].to_numpy(dtype=object) for c in df.columns], path.name,
                        strip=_may_need_strip(raw, utf8))



def _cell_text(v) -> str:
    """A workbook value as the text a CSV would hold: an Excel error cell
    (``#VALUE!``) stays its text, a whole number stored as 600.0 is ``600``."""
    import datetime as _dt
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
        return v.isoformat()
    return str(v)


def _pick_sheet(wb, table: str, name: str):
    """The visible sheet named like the table (``schools`` or 学校 for
    schools.xlsx), else the first visible sheet. A hidden or very hidden sheet is
    never read, even when it is the first."""
    visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    if not visible:
        raise DataError([f"{name} row -, column -: the workbook has no visible sheet"])
    wanted = {table.strip().lower(), *TABLE_SHEETS.get(table, ())}
    named = [ws for ws in visible if ws.title.strip().lower() in wanted]
    return named[0] if named else visible[0]


def _sheet_rows(wb, ws) -> tuple[list[list[str]], dict[tuple[int, int], str]]:
    """Every row of a read-only sheet as text, and the formula cells that hold no
    saved value: ``{(row, column): formula}``, both 1-based.

    The sheet's own ``<dimension>`` record is not used (a stale one cut a table to
    its first rows): rows and cells are placed by their own references. A formula
    cell is read from its saved (cached) value; one whose ``<v>`` is missing or empty
    (written by a program that does not calculate, e.g. openpyxl) is reported, never
    read as empty. A formula whose saved value is the empty text (``t="str"``, as
    Excel writes ``=IF(A1="","",A1)``) is an empty cell.
    """
    from openpyxl.worksheet._reader import FORMULA_TAG, VALUE_TAG, WorkSheetParser

    formulas: dict[tuple[int, int], str] = {}

    class Parser(WorkSheetParser):
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and not element.findtext(VALUE_TAG) \
                    and element.get("t") != "str":
                f = element.find(FORMULA_TAG)
                if f is not None:
                    formulas[(cell["row"], cell["column"])] = f.text or ""
            return cell

    rows: list[list[str]] = []
    with ws._get_source() as src:
        parser = Parser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                        date_formats=wb._date_formats, timedelta_formats=wb._timedelta_formats)
        for idx, cells in parser.parse():
            while len(rows) < idx - 1:
                rows.append([])
            width = max((c["column"] for c in cells), default=0)
            row = [""] * width
            for c in cells:
                row[c["column"] - 1] = _cell_text(c["value"])
            rows.append(row)
    return rows, formulas


def _read_xlsx(path: Path, table: str | None = None, reads=None) -> pd.DataFrame:
    """A workbook table as text (see above), read with openpyxl's streaming parser.

    The sheet is :func:`_pick_sheet`'s (``table`` defaults to the file's stem); a
    merged title row above the header is skipped. A formula cell without a saved
    value is an error naming the file, sheet, row and column when ``reads(header)``
    names the schema column it fills (``reads`` None: every column is read, by its
    header); in a column the toolkit does not read it is kept as its formula text.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = _pick_sheet(wb, table or path.stem, path.name)
            sheet = ws.title
            rows, formulas = _sheet_rows(wb, ws)
        finally:
            wb.close()
    except DataError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl and zipfile raise many kinds
        raise DataError([(f"{path.name} row -, column -: not a readable XLSX workbook "
                         f"({type(e).__name__}: {_short(e, 200)})")]) from None
    width = max((len(r) for r in rows), default=0)
    cols = [np.array([r[j] if j < len(r) else "" for r in rows], dtype=object)
            for j in range(width)]
    body = _with_header(cols, path.name, title_rows=True)
    if formulas:
        _formula_cells(body, formulas, path.name, sheet, reads)
    return body


def _formula_cells(body: pd.DataFrame, formulas: dict, label: str, sheet: str, reads) -> None:
    from openpyxl.utils import get_column_letter
    header_row = body.attrs["header_row"]
    problems = []
    for (r, c), f in sorted(formulas.items()):
        ref = f"{get_column_letter(c)}{r}"
        head = str(body.columns[c - 1]) if c - 1 < len(body.columns) else ""
        if r < header_row:
            continue            # a title row above the header
        if reads is not None and r > header_row:
            name = reads(head) if head else None
            if name is None:    # a column the toolkit does not read
                if r in body.index:
                    body.iloc[body.index.get_loc(r), c - 1] = f"={f}"
                continue
            head = name
        problems.append(f"{label} row {r}, column {_short(head, 40) or ref}: cell {ref} of "
                        f'sheet "{_short(sheet, 40)}" holds the formula ={_short(f, 40)} with '
                        f"no saved value (open and save the file in Excel, or type the value)")
    if problems:
        raise DataError(problems)


def _clean(arr: np.ndarray) -> np.ndarray:
    """Text cells (``str``) stripped of surrounding whitespace (one C-level pass)."""
    out = np.empty(len(arr), dtype=object)
    out[:] = list(map(str.strip, arr.tolist()))
    return out


def _with_header(cols: list[np.ndarray], label: str, title_rows: bool = False,
                 strip: bool = True) -> pd.DataFrame:
    """Take the first row as the header (in a workbook: the first row with more
    than one filled cell, so a merged title row above it is skipped), drop blank
    rows and number the data rows as a spreadsheet shows them. ``cols`` hold
    ``str``; ``strip=False`` when the caller knows no cell has whitespace to strip."""
    n = len(cols[0]) if cols else 0
    clean = [_clean(c) for c in cols] if strip else cols
    # blank rows: column by column, looking only at the rows still blank
    blank = np.ones(n, dtype=bool)
    for c in clean:
        at = np.flatnonzero(blank)
        if not len(at):
            break
        blank[at] = c[at] == ""
    if n == 0 or blank.all():
        raise DataError([f"{label} row 1, column -: the file is empty"])
    h = 0
    if title_rows and len(cols) > 1:
        filled = np.zeros(min(n, 11), dtype=np.int64)
        for c in clean:
            filled += c[:11] != ""
        while h < min(n - 1, 10) and filled[h] <= 1:
            h += 1
        if filled[h] <= 1:
            h = 0
    header = []
    for c in cols:
        v = c[h]
        v = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        header.append("" if v.startswith("Unnamed:") else v.replace("\ufeff", "").strip())
    keep = ~blank[h + 1:]
    index = pd.RangeIndex(h + 2, n + 1)
    if keep.all():
        body = pd.DataFrame({j: c[h + 1:] for j, c in enumerate(clean)}, index=index,
                            dtype=object, copy=False)
    else:
        # a header of duplicate names is kept as given; _rename_headers reports it
        body = pd.DataFrame({j: c[h + 1:][keep] for j, c in enumerate(clean)},
                            index=index[keep], dtype=object, copy=False)
    body.columns = header
    body.attrs["header_row"] = h + 1
    if len(body) == 0:
        raise DataError([(f"{label} row {h + 2}, column -: no data rows below the header "
                         f"(row {h + 1})")])
    return body


def _header_reader(cols: list[Col]):
    """``reads(header)``: the schema column a header names (as
    :func:`_rename_headers` maps it), or None."""
    names = {c.name for c in cols}
    zh = {c.zh: c.name for c in cols}

    def reads(h: str) -> str | None:
        h2 = str(h).replace("\ufeff", "").strip()
        key = zh.get(h2, h2)
        return key if key in names else key.lower() if key.lower() in names else None
    return reads


def _read_table(folder: Path, stem: str, gpkg: Path | None, cols: list[Col] | None = None,
                check_files: bool = True) -> tuple[pd.DataFrame | None, str, Any]:
    """Return (attribute table as text, file label, geometry or None).

    Two files for one table (``schools.csv`` and ``schools.xlsx``, or a layer of
    the folder's ``district.gpkg`` and a table file beside it) is an error naming
    both: which one is meant cannot be guessed."""
    files = [folder / f"{stem}{ext}" for ext in (".csv", ".xlsx")]
    files = [p for p in files if p.exists()] if check_files else []
    if gpkg is not None:
        import geopandas as gpd
        import pyogrio
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem not in layers:
            return None, f"{gpkg.name}:{stem}", None
        if files:
            raise DataError([(f"{files[0].name} row -, column -: the {stem} table is given "
                             f"twice, as {files[0].name} and as layer {stem} of {gpkg.name}; "
                             f"keep one")])
        try:
            gdf = _read_ogr(gpkg, stem, f"{gpkg.name}:{stem}", row_base=2)
        except DataError:
            raise
        except Exception as e:  # noqa: BLE001 - any failure of the library is the file's
            raise DataError([(f"{gpkg.name}:{stem} row -, column -: the layer cannot be read "
                             f"({type(e).__name__}: {_short(e, 200)})")]) from None
        geom = None
        if isinstance(gdf, gpd.GeoDataFrame) and "geometry" in gdf.columns:
            geom = gdf.geometry
            if geom.crs is not None and geom.crs.to_epsg() != 4326:
                try:    # a layer in a projected CRS: coordinates are WGS84 lon/lat
                    geom = geom.to_crs(4326)
                except Exception as e:  # noqa: BLE001 - any failure of the library is the file's
                    raise DataError([(f"{gpkg.name}:{stem} row -, column geometry: unknown "
                                     f"coordinate system ({_short(e, 200)})")]) from None
        attrs = pd.DataFrame(gdf.drop(columns=[c for c in ("geometry",) if c in gdf.columns]))
        attrs = attrs.astype(object).where(attrs.notna(), "").astype(str)
        attrs = pd.DataFrame({c: _clean(attrs[c].to_numpy(dtype=object)) for c in attrs.columns},
                             index=pd.RangeIndex(2, 2 + len(attrs)), dtype=object)
        if geom is not None:
            geom = geom.set_axis(attrs.index)
        return attrs, f"{gpkg.name}:{stem}", geom
    if len(files) > 1:
        raise DataError([(f"{files[0].name} row -, column -: the {stem} table is given twice, "
                         f"as {files[0].name} and as {files[1].name}; keep one")])
    for p in files:
        if p.suffix == ".csv":
            return _read_csv(p), p.name, None
        reads = _header_reader(cols) if cols is not None else None
        return _read_xlsx(p, stem, reads), p.name, None
    return None, f"{stem}.csv", None


def _table_or_problem(folder: Path, stem: str, gpkg: Path | None, problems: list[str],
                      cols: list[Col] | None = None, check_files: bool = True):
    """:func:`_read_table`, but an unreadable optional table becomes a problem
    (label None) so the other files are still checked."""
    try:
        return _read_table(folder, stem, gpkg, cols, check_files)
    except DataError as e:
        problems.extend(e.problems)
        return None, None, None


def _rename_headers(df: pd.DataFrame, cols: list[Col], label: str,
                    problems: list[str]) -> pd.DataFrame:
    zh = {c.zh: c.name for c in cols}
    names = {c.name for c in cols}
    # the header is the row above the first data row (a workbook may have a title row)
    header_row = int(df.attrs.get("header_row", 1))
    new: list[str] = []
    seen: dict[str, str] = {}
    for i, h in enumerate(df.columns):
        h2 = str(h).replace("\ufeff", "").strip()
        key = zh.get(h2, h2)
        if key.lower() in names:
            key = key.lower()
        if key in seen:
            if key in names:
                problems.append(f"{label} row {header_row}, column {_short(h2, 40)}: column "
                                f"{key} is given twice (also as {_short(seen[key], 40)})")
            key = f"__dup_{i}"
        seen.setdefault(key, h2)
        new.append(key if key else f"__blank_{i}")
    df = df.copy(deep=False)
    df.columns = new
    for c in cols:
        if c.required and c.name not in df.columns:
            problems.append(f"{label} row {header_row}, column {c.name}: required column is "
                            f"missing (header {c.name} or {c.zh})")
    return df


#: a column of plain decimal numbers, which numpy converts exactly as pandas.to_numeric
_PLAIN_NUMBERS = re.compile(r"[0-9.+\-\x00]*")


def _numbers(raw: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Text cells as float (NaN where empty or not a number), exactly as
    ``pandas.to_numeric(cells without thousands commas, errors="coerce")``.

    A column of plain decimals (digits, sign, point) is converted by numpy in one
    C call (the same correctly rounded values; ``-0`` in a column of whole numbers
    is 0, as pandas makes it an integer); anything else goes through pandas."""
    full = raw[~empty]
    out = np.full(len(raw), np.nan)
    if len(full) == 0:
        return out
    joined = "\x00".join(full.tolist())
    if _PLAIN_NUMBERS.fullmatch(joined):
        try:
            vals = np.asarray(full, dtype=np.float64)
            if "." not in joined:
                vals = vals + 0.0
            out[~empty] = vals
            return out
        except ValueError:
            pass
    if "," in joined:
        full = np.array([s.replace(",", "") for s in full.tolist()], dtype=object)
    out[~empty] = pd.to_numeric(full, errors="coerce").astype(float)
    return out


def _parse_columns(df: pd.DataFrame, cols: list[Col], label: str,
                   problems: list[str]) -> pd.DataFrame:
    """Type every schema column, a column at a time; append one problem per bad
    cell. ``df`` holds stripped text (a reader's output)."""
    data: dict[str, Any] = {}
    n = len(df)
    index = df.index
    for c in cols:
        if c.name not in df.columns:
            if c.kind == "int":
                data[c.name] = np.zeros(n, dtype=np.int64)
            elif c.kind == "float":
                data[c.name] = np.full(n, np.nan)
            elif c.kind == "bool":
                data[c.name] = pd.array([c.default] * n, dtype="boolean")
            else:
                data[c.name] = pd.Series([c.default if c.default is not None else ""] * n,
                                         index=index, dtype=object)
            continue
        raw = df[c.name].to_numpy(dtype=object)
        rows = index.to_numpy()
        if c.kind in ("id", "text"):
            if c.kind == "id":
                for r in rows[raw == ""]:
                    problems.append(f"{label} row {r}, column {c.name}: empty id")
            data[c.name] = pd.Series(raw, index=index, dtype=object)
        elif c.kind in ("int", "float"):
            empty = raw == ""
            arr = _numbers(raw, empty)
            nan = np.isnan(arr)
            for k in np.flatnonzero(nan & ~empty):
                problems.append(f'{label} row {rows[k]}, column {c.name}: "{_short(raw[k])}" '
                                f"is not a number")
            fin = np.isfinite(arr) | nan
            for k in np.flatnonzero(~fin):
                problems.append(f'{label} row {rows[k]}, column {c.name}: "{_short(raw[k])}" '
                                f"is not a finite number")
            arr[~fin] = np.nan
            if c.name not in _NON_NEGATIVE_EXEMPT:
                neg = arr < 0
                for k in np.flatnonzero(neg):
                    problems.append(f"{label} row {rows[k]}, column {c.name}: "
                                    f"{_short(raw[k])} is negative")
                arr[neg] = np.nan
            big = np.abs(arr) > 1e12
            for k in np.flatnonzero(big):
                problems.append(f"{label} row {rows[k]}, column {c.name}: {_short(raw[k])} "
                                f"is too large")
            arr[big] = np.nan
            if c.kind == "int":
                frac = ~np.isnan(arr) & (arr != np.floor(arr))
                for k in np.flatnonzero(frac):
                    problems.append(f"{label} row {rows[k]}, column {c.name}: "
                                    f"{_short(raw[k])} is not a whole number")
                arr[frac] = np.nan
                d = c.default if c.default is not None else 0
                data[c.name] = np.where(np.isnan(arr), d, arr).astype(np.int64)
            else:
                data[c.name] = arr
        elif c.kind == "bool":
            words = pd.Index(sorted(TRUE) + sorted(FALSE))
            pos = words.get_indexer(raw)
            miss = pos < 0
            if miss.any():
                pos[miss] = words.get_indexer([x.lower() for x in raw[miss].tolist()])
            is_t = (pos >= 0) & (pos < len(TRUE))
            is_f = pos >= len(TRUE)
            empty = raw == ""
            val = pd.array(np.where(is_t, True, False), dtype="boolean")
            val[~(is_t | is_f)] = pd.NA
            if c.default is not None:
                val[empty] = c.default
            for k in np.flatnonzero(~(is_t | is_f | empty)):
                problems.append(f'{label} row {rows[k]}, column {c.name}: "{_short(raw[k])}" '
                                f"is not a yes/no value (true/false, 1/0, 是/否)")
            data[c.name] = val
        elif c.kind.startswith("enum:"):
            enum = c.kind[5:]
            table = ENUMS[enum]
            codes = pd.Index(list(table))
            pos = codes.get_indexer(raw)
            miss = pos < 0
            if miss.any():
                pos[miss] = codes.get_indexer([x.lower() for x in raw[miss].tolist()])
            values = np.asarray([table[k] for k in codes], dtype=object)
            key = values[np.maximum(pos, 0)]
            bad = pos < 0
            if c.default is not None:
                key[bad & (raw == "")] = c.default
                bad &= raw != ""
            for k in np.flatnonzero(bad):
                problems.append(f'{label} row {rows[k]}, column {c.name}: "{_short(raw[k])}" '
                                f"is not one of {ENUM_LABELS[enum]}")
            key[bad] = ""
            data[c.name] = pd.Series(key, index=index, dtype=object)
    # extra columns are kept as text, after the schema's
    for extra in df.columns:
        if extra not in data and not extra.startswith("__"):
            data[extra] = pd.Series(df[extra].to_numpy(dtype=object), index=index, dtype=object)
    return pd.DataFrame(data, index=index, copy=False)


def _check_unique(df: pd.DataFrame, col: str, label: str, problems: list[str]) -> None:
    v = df[col]
    dup = v.duplicated(keep="first") & (v != "")
    if dup.any():
        first = v[~v.duplicated(keep="first")]
        first = dict(zip(first.to_numpy(), first.index))
        for r in v.index[dup]:
            problems.append(f'{label} row {r}, column {col}: "{_short(v[r])}" is used again '
                            f"(first at row {first[v[r]]})")


# --------------------------------------------------------------------------
# the district
# --------------------------------------------------------------------------

def _find_sources(path: Path) -> tuple[Path, Path | None, Path]:
    """Return (folder, gpkg or None, yaml path)."""
    if not path.exists():
        raise DataError([f"{path}: no such file or folder"])
    if path.is_file():
        if path.suffix.lower() == ".gpkg":
            for y in (path.with_suffix(".yaml"), path.parent / "district.yaml"):
                if y.exists():
                    return path.parent, path, y
            raise DataError([(f"{path.parent / 'district.yaml'} row -, column -: district.yaml is "
                             f"missing beside {path.name}")])
        if path.name in ("district.yaml", "district.yml"):
            path = path.parent
        else:
            raise DataError([f"{path}: not a district folder, district.yaml or .gpkg file"])
    y = path / "district.yaml"
    if not y.exists():
        raise DataError([(f"{y} row -, column -: district.yaml is missing "
                         f"(a district folder needs it)")])
    gpkg = path / "district.gpkg"
    return path, (gpkg if gpkg.exists() else None), y


def _load_yaml(path: Path, problems: list[str]) -> dict:
    """district.yaml, read by :func:`planner.io.yamlsafe.load_yaml` (a key given
    twice, an alias bomb or a huge file is an error). ``standard:`` is a standard's
    name (``planner/standards/<name>.yaml``) or a path to a ``.yaml`` file, relative
    to the district folder; a path is replaced by its absolute form."""
    label = path.name
    try:
        data = load_yaml(path, label)
    except DataError as e:
        problems.extend(e.problems)
        return {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{label} line 1, key -: expected a mapping of keys "
                        f"({', '.join(YAML_KEYS)})")
        return {}
    for k in data:
        if k not in YAML_KEYS:
            problems.append(f"{label} key {_short(k, 40)}: unknown key; allowed: "
                            f"{', '.join(YAML_KEYS)}")
    name = data.get("name")
    if name is None or name == "":
        problems.append(f"{label} key name: the district name is missing")
    elif not isinstance(name, (str, int, float)) or isinstance(name, bool):
        problems.append(f"{label} key name: {_short(repr(name))} is not a name (expected text)")
        data["name"] = str(name)
    std = data.get("standard")
    if std is not None:
        if not isinstance(std, str) or not std.strip():
            problems.append(f"{label} key standard: {_short(repr(std))} is not a standard name")
        else:
            from planner.core.rules import STANDARDS_DIR, load_rules
            if Path(std).suffix.lower() in (".yaml", ".yml"):
                std = str((path.parent / std).resolve())
                data["standard"] = std
            try:
                if std.endswith((".yaml", ".yml")) and not Path(std).is_file():
                    raise ValueError(f"no such file {std}")
                load_rules(std)
            except Exception as e:  # noqa: BLE001 - unknown name, unreadable or malformed file
                known = ", ".join(sorted(x.stem for x in STANDARDS_DIR.glob("*.yaml")))
                problems.append(f'{label} key standard: "{_short(data["standard"], 200)}" is not '
                                f"a known standard (known: {known}; {type(e).__name__}: "
                                f"{_short(e, 200)})")
        if problems and problems[-1].startswith(f"{label} key standard"):
            data["standard"] = None
    for k in ("settings", "county", "b_scores", "veto"):
        if k in data and data[k] is not None and not isinstance(data[k], dict):
            problems.append(f"{label} key {k}: expected a mapping")
            data[k] = {}
    return data


def _settings(raw: dict | None, label: str, problems: list[str]) -> Settings:
    raw = dict(raw or {})
    allowed = Settings.names()
    kwargs = {}
    for k, v in raw.items():
        if k not in allowed:
            problems.append(f"{label} key settings.{_short(k, 40)}: unknown setting; allowed: "
                            f"{', '.join(allowed)}")
            continue
        if k in Settings.CHOICES and v not in Settings.CHOICES[k]:
            problems.append(f'{label} key settings.{_short(k, 40)}: "{_short(v)}" is not one of '
                            f"{', '.join(Settings.CHOICES[k])}")
            continue
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if k in ("rotation_min_years", "rotation_max_age") and (not number or v < 0):
            problems.append(f'{label} key settings.{_short(k, 40)}: "{_short(v)}" is not a '
                            f"non-negative number")
            continue
        if k in ("travel_detour_factor", "travel_fallback_speed_kmh", "access_speed_kmh",
                 "max_access_m") and not (number and v > 0) \
                and not (v is None and k in ("access_speed_kmh", "max_access_m")):
            problems.append(f'{label} key settings.{_short(k, 40)}: "{_short(v)}" is not a '
                            f"positive number")
            continue
        kwargs[k] = v
    return Settings(**kwargs)


def _county(raw: dict | None, label: str, problems: list[str]) -> dict:
    out = {}
    for k, v in (raw or {}).items():
        if k in COUNTY_BOOL_KEYS:
            if not isinstance(v, bool):
                problems.append(f'{label} key county.{_short(k, 40)}: "{_short(v)}" is not '
                                f"true or false")
                continue
        elif k in COUNTY_NUMBER_KEYS:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) \
                    or v < 0:
                problems.append(f'{label} key county.{_short(k, 40)}: "{_short(v)}" is not a '
                                f"non-negative number")
                continue
        else:
            problems.append(f"{label} key county.{_short(k, 40)}: unknown county fact; allowed: "
                            f"{', '.join(COUNTY_BOOL_KEYS + COUNTY_NUMBER_KEYS)}")
            continue
        out[k] = v
    return out


def _b_scores(raw: dict | None, label: str, problems: list[str]) -> dict[int, list[float]]:
    out = {}
    for k, v in (raw or {}).items():
        try:
            ik = int(k)
        except (TypeError, ValueError):
            problems.append(f'{label} key b_scores.{_short(k, 40)}: "{_short(k, 40)}" is not '
                            f"an indicator number")
            continue
        if not isinstance(v, list) or not all(isinstance(x, (int, float))
                                              and not isinstance(x, bool)
                                              and math.isfinite(x) and x >= 0 for x in v):
            problems.append(f"{label} key b_scores.{_short(k, 40)}: expected a list of "
                            f"non-negative item scores")
            continue
        out[ik] = [float(x) for x in v]
    return out


def _veto(raw: dict | None, label: str, problems: list[str]) -> dict[str, bool]:
    out = {}
    for k, v in (raw or {}).items():
        if k not in VETO_KEYS:
            problems.append(f"{label} key veto.{_short(k, 40)}: unknown veto condition; allowed: "
                            f"{', '.join(VETO_KEYS)}")
            continue
        if not isinstance(v, bool):
            problems.append(f'{label} key veto.{_short(k, 40)}: "{_short(v)}" is not true or false')
            continue
        out[k] = v
    return out


def _read_geo(folder: Path, stem: str, gpkg: Path | None, problems: list[str],
              check_files: bool = True):
    """Read roads or boundary: (GeoDataFrame or None, label). GDAL's warnings
    (a column of mixed types, say) are not shown: the checks below say what matters."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_geo_quiet(folder, stem, gpkg, problems, check_files)


def _read_geo_quiet(folder: Path, stem: str, gpkg: Path | None, problems: list[str],
                    check_files: bool = True):
    import geopandas as gpd
    import pyogrio
    files = [folder / f"{stem}{ext}" for ext in (".gpkg", ".geojson", ".json")]
    files = [p for p in files if p.exists()]
    if gpkg is not None:
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem in layers:
            label = f"{gpkg.name}:{stem}"
            if files and check_files:
                problems.append(f"{files[0].name} feature -, column -: the {stem} are given "
                                f"twice, as {files[0].name} and as layer {stem} of "
                                f"{gpkg.name}; keep one")
                return None, label
            try:
                gdf = _read_ogr(gpkg, stem, label)
            except DataError as e:
                problems.extend(e.problems)
                return None, label
            except Exception as e:  # noqa: BLE001 - any failure of the library is the file's
                problems.append(f"{label} feature -, column geometry: cannot be read "
                                f"({type(e).__name__}: {_short(e, 200)})")
                return None, label
            if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
                problems.append(f"{label} feature -, column geometry: the layer has no geometry")
                return None, label
            return gdf, label
    if len(files) > 1:
        problems.append(f"{files[0].name} feature -, column -: the {stem} are given twice, "
                        f"as {files[0].name} and as {files[1].name}; keep one")
        return None, files[0].name
    for p in files:
        gdf = None
        if p.suffix != ".gpkg":
            got = _load_geojson(p, problems)
            if got is None:
                return None, p.name
            gdf = _geojson_lines(*got)
        if gdf is None:
            try:
                gdf = _read_ogr(p, None, p.name)
            except DataError as e:
                problems.extend(e.problems)
                return None, p.name
            except Exception as e:  # noqa: BLE001 - any failure of the library is the file's
                problems.append(f"{p.name} feature -, column geometry: cannot be read "
                                f"({type(e).__name__}: {_short(e, 200)})")
                return None, p.name
        if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
            problems.append(f"{p.name} feature -, column geometry: the file has no geometry")
            return None, p.name
        return gdf, p.name
    return None, f"{stem}.geojson"


def _read_ogr(path: Path, layer: str | None, label: str, row_base: int | None = None):
    """A file or layer read by GDAL: ``pyogrio.read_dataframe`` for a table layer
    (``row_base`` given: its rows are numbered from it), ``geopandas.read_file``
    for roads and boundary. A geometry GEOS cannot build (a one-point line in a
    GeoPackage, say) is reported at its row or feature instead of failing the
    whole file."""
    import geopandas as gpd
    import pyogrio
    import shapely
    try:
        if row_base is not None:
            return pyogrio.read_dataframe(path, layer=layer)
        return gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except shapely.errors.GEOSException as e:
        _, _, wkb, _ = pyogrio.raw.read(path, layer=layer, columns=[])
        if wkb is None:
            raise
        geoms = shapely.from_wkb(wkb, on_invalid="ignore")
        bad = np.flatnonzero(pd.isna(geoms) & ~pd.isna(wkb))
        if not len(bad):
            raise
        where = (f"row {bad[0] + row_base}" if row_base is not None
                 else f"feature {bad[0] + 1}")
        raise DataError([(f"{label} {where}, column geometry: not a valid geometry "
                         f"({_short(e, 120)})")]) from None


GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection")


def _load_geojson(p: Path, problems: list[str]):
    """``(parsed GeoJSON, its lines or None)`` of ``p`` (see :func:`_lines_summary`),
    or None after adding its problems.

    Checks what GDAL passes over silently: JSON syntax (with its line), the
    GeoJSON structure (every member of ``features`` a Feature, its ``properties``
    an object, every geometry well formed with finite coordinates), lines of one
    point and rings that do not close (GEOS would refuse the whole file), and a
    ``crs`` member naming a system nobody knows (GDAL would read the coordinates as
    WGS84)."""
    label = p.name
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problems.append(f"{label} line {line}, key -: not UTF-8 text")
        return None
    if not text.strip():
        problems.append(f"{label} line 1, key -: the file is empty")
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(f"{label} line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})")
        return None
    except RecursionError:
        problems.append(f"{label} line 1, key -: nested too deeply to be GeoJSON")
        return None
    typ = obj.get("type") if isinstance(obj, dict) else None
    if typ not in ("FeatureCollection", "Feature") + GEOMETRY_TYPES:
        problems.append(f"{label} line 1, key type: not a GeoJSON FeatureCollection, Feature "
                        f"or geometry")
        return None
    found: list[tuple[int, int, str]] = []      # (feature, order, message)
    lines = None
    if typ == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            problems.append(f"{label} line 1, key features: a FeatureCollection needs a list "
                            f"of features")
            return None
        lines = _check_features(feats, label, found)
    elif typ == "Feature":
        g = obj.get("geometry")
        if g is not None:
            _check_geometry(g, 1, label, found)
    else:
        _check_geometry(obj, 1, label, found)
    found.sort(key=lambda x: (x[0], x[1]))
    problems.extend(m for _, _, m in found)
    ok = not found
    crs = obj.get("crs")
    if crs is not None:
        line = text.count("\n", 0, max(0, text.find('"crs"'))) + 1
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) and isinstance(
            crs.get("properties"), dict) else None
        try:
            if not isinstance(name, str):
                raise TypeError(name)
            from pyproj import CRS
            CRS.from_user_input(name)
        except Exception:  # noqa: BLE001 - any failure of the library is the file's
            problems.append(f"{label} line {line}, key crs: unknown coordinate system "
                            f"{json.dumps(crs, ensure_ascii=False)[:120]} (use WGS84 "
                            f"longitude/latitude, EPSG:4326)")
            ok = False
    return (obj, lines) if ok else None


_LINES = ("LineString", "MultiLineString")


@dataclass
class _Lines:
    """A FeatureCollection whose members are all plain Features with line (or no)
    geometry and object (or no) properties, taken apart column-wise."""

    geoms: list          # the geometry member of each feature (None: none)
    props: list          # the properties member of each feature (None: none)
    parts: list          # coordinate lists: one per LineString, one per part of a multi
    take: np.ndarray     # parts per feature with a geometry (LineString 1)
    counts: list         # positions per part
    xy: np.ndarray | None   # every position, (n, 2), when all are 2-D


def _lines_summary(feats: list) -> _Lines | None:
    """:class:`_Lines` when every feature is regular and every line well formed
    (positions of 2 to 4 finite numbers, no line of one point), else None. Uses
    C-level ``map`` passes over the columns instead of a Python loop per feature."""
    from itertools import chain, repeat
    if set(map(type, feats)) != {dict} or \
            set(map(dict.get, feats, repeat("type"))) != {"Feature"}:
        return None
    geoms = list(map(dict.get, feats, repeat("geometry")))
    props = list(map(dict.get, feats, repeat("properties")))
    if not set(map(type, props)) <= {dict, type(None)}:
        return None
    gs = [g for g in geoms if g is not None]
    if gs and set(map(type, gs)) != {dict}:
        return None
    kinds = set(map(dict.get, gs, repeat("type")))
    if not kinds <= set(_LINES):
        return None
    coords: list[Any] = list(map(dict.get, gs, repeat("coordinates")))
    if gs and set(map(type, coords)) != {list}:
        return None
    if kinds <= {"LineString"}:
        parts, take = coords, np.ones(len(gs), dtype=np.int64)
    else:
        parts = []
        for g, c in zip(gs, coords):
            parts.extend([c] if g["type"] == "LineString" else c)
        take = np.array([1 if g["type"] == "LineString" else len(c)
                         for g, c in zip(gs, coords)], dtype=np.int64)
        if parts and set(map(type, parts)) != {list}:
            return None
    counts = list(map(len, parts))
    if 1 in counts:
        return None
    pos = list(chain.from_iterable(parts))
    xy = None
    if pos:
        if set(map(type, pos)) != {list}:
            return None
        dims = set(map(len, pos))
        if not dims <= {2, 3, 4}:
            return None
        nums = list(chain.from_iterable(pos))
        if not set(map(type, nums)) <= {int, float}:
            return None
        try:
            flat = np.array(nums, dtype=float)
        except OverflowError:
            return None
        if not np.isfinite(flat).all():
            return None
        if dims == {2}:
            xy = flat.reshape(-1, 2)
    return _Lines(geoms, props, parts, take, counts, xy)


def _check_features(feats: list, label: str, found: list) -> _Lines | None:
    """The members of a FeatureCollection. A road network (thousands of plain
    line features) is checked column-wise by :func:`_lines_summary`; anything else,
    and any collection with a problem, feature by feature."""
    summary = _lines_summary(feats)
    if summary is not None:
        return summary
    for i, f in enumerate(feats, start=1):
        if type(f) is not dict or f.get("type") != "Feature":
            found.append((i, 0, f"{label} feature {i}, column -: not a GeoJSON Feature"))
            continue
        g = f.get("geometry")
        if g is not None:
            _check_geometry(g, i, label, found)
        props = f.get("properties")
        if props is not None and type(props) is not dict:
            found.append((i, 2, f"{label} feature {i}, column properties: not an object"))
    return None


def _check_geometry(g, i: int, label: str, found: list) -> None:
    if not _geometry_ok(g):
        found.append((i, 1, (f"{label} feature {i}, column geometry: not a valid GeoJSON "
                            f"geometry")))
        return
    short_part = _too_short(g)
    if short_part:
        found.append((i, 1, f"{label} feature {i}, column geometry: {short_part}"))


def _too_short(g) -> str:
    """What GEOS cannot build from a well-formed GeoJSON geometry: a line of one
    point or a ring that is not closed ("" when buildable)."""
    t = g["type"]
    if t == "GeometryCollection":
        return next((m for m in map(_too_short, g["geometries"]) if m), "")
    c = g["coordinates"]
    lines = c if t == "MultiLineString" else [c] if t == "LineString" else []
    for line in lines:
        if len(line) == 1:
            return "a line needs at least 2 points (this one has 1)"
    rings = c if t == "Polygon" else [r for p in c for r in p] if t == "MultiPolygon" else []
    for ring in rings:
        if ring and ring[0] != ring[-1]:
            return "a polygon ring must end at the point where it starts (this one does not)"
    return ""


def _geometry_ok(g) -> bool:
    if not isinstance(g, dict) or g.get("type") not in GEOMETRY_TYPES:
        return False
    if g["type"] == "GeometryCollection":
        gs = g.get("geometries")
        return isinstance(gs, list) and all(_geometry_ok(x) for x in gs)
    depth = {"Point": 0, "MultiPoint": 1, "LineString": 1, "MultiLineString": 2,
             "Polygon": 2, "MultiPolygon": 3}[g["type"]]

    def pos_ok(c, d) -> bool:
        if not isinstance(c, list):
            return False
        if d == 0:
            return 2 <= len(c) <= 4 and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
                for x in c)
        return all(pos_ok(x, d - 1) for x in c)
    return pos_ok(g.get("coordinates"), depth)


#: strings GDAL may read as a date, time or date-time field (then GDAL reads the file)
_DATE_LIKE = re.compile(r"\d:\d|\d[-/]\d")


def _geojson_lines(obj, lines: _Lines | None) -> Any:
    """The GeoDataFrame GDAL (``pyogrio.read_dataframe``) makes of a checked
    FeatureCollection of plain 2-D lines, built from the JSON already parsed so the
    file is decoded once; ``None`` for anything else (then GDAL reads it).

    Built here only where GDAL's result is certain: no ``crs``, ``bbox`` or ``id``
    members; every feature's properties with the same keys in the same order (or
    none); each property column all booleans, all whole numbers (int32, else int64;
    float64 when some are missing), all numbers (float64), all text that cannot
    be a date or time, or all missing; every line of at least 2 points. The tests
    (``tests/test_loader_faithful.py``) compare the two readers.
    """
    from itertools import chain
    if lines is None or not set(obj) <= {"type", "features", "name"} or not lines.geoms:
        return None
    feats = obj["features"]
    if not set(chain.from_iterable(feats)) <= {"type", "properties", "geometry"}:
        return None
    gs = [g for g in lines.geoms if g is not None]
    if not set(chain.from_iterable(gs)) <= {"type", "coordinates"}:
        return None
    if lines.parts and (lines.xy is None or 0 in lines.counts):
        return None     # 3-D positions, or an empty line: left to GDAL
    if (lines.take == 0).any():
        return None
    props = lines.props
    keysets = {tuple(p) for p in props if p}
    if len(keysets) > 1:
        return None
    keys = next(iter(keysets), ())
    low = [k.lower() for k in keys]
    if len(set(low)) != len(low) or {"geometry", "", "fid"} & set(low):
        return None
    if None in props or {} in props:
        props = [p or {} for p in props]
    columns = {}
    for k in keys:
        col = _gdal_column(list(map(dict.get, props, [k] * len(props))))
        if col is None:
            return None
        columns[k] = col
    import geopandas as gpd
    return gpd.GeoDataFrame(columns, geometry=_line_geometries(lines), crs="EPSG:4326")


def _gdal_column(vals: list):
    """A property column as GDAL types it, or None when unsure."""
    types = set(map(type, vals))
    missing = type(None) in types
    types.discard(type(None))
    if not types:
        return np.array(vals, dtype=object)
    if types == {bool}:
        return None if missing else np.array(vals, dtype=bool)
    if types == {int}:
        present = [v for v in vals if v is not None] if missing else vals
        lo, hi = min(present), max(present)
        if missing:
            if max(-lo, hi) > 2 ** 53:
                return None
            return np.array([np.nan if v is None else float(v) for v in vals])
        if -2 ** 31 <= lo and hi < 2 ** 31:
            return np.array(vals, dtype=np.int32)
        if -2 ** 63 <= lo and hi < 2 ** 63:
            return np.array(vals, dtype=np.int64)
        return None
    if types <= {int, float}:
        try:
            arr = np.array([np.nan if v is None else v for v in vals], dtype=float)
        except OverflowError:
            return None
        if not np.isfinite(arr[[v is not None for v in vals]]).all():
            return None
        return arr
    if types == {str}:
        text = "\x00".join(v for v in vals if v is not None)
        if _DATE_LIKE.search(text):
            return None
        return pd.Series(np.array(vals, dtype=object))
    return None


def _line_geometries(lines: _Lines) -> np.ndarray:
    """shapely LineStrings / MultiLineStrings of :class:`_Lines` whose positions
    are all 2-D and every part has 2 points or more (None stays None), built with
    shapely's vectorised constructors."""
    import shapely
    out = np.full(len(lines.geoms), None, dtype=object)
    have = np.array([k for k, g in enumerate(lines.geoms) if g is not None], dtype=np.int64)
    if not len(have):
        return out
    counts = np.array(lines.counts, dtype=np.int64)
    parts = shapely.linestrings(lines.xy, indices=np.repeat(np.arange(len(counts)), counts))
    take = lines.take
    multi = np.array([lines.geoms[k]["type"] == "MultiLineString" for k in have])
    starts = np.concatenate([[0], np.cumsum(take)[:-1]]).astype(np.int64)
    out[have[~multi]] = parts[starts[~multi]]
    if multi.any():
        sel = np.concatenate([np.arange(s, s + t) for s, t in zip(starts[multi], take[multi])])
        out[have[multi]] = shapely.multilinestrings(
            parts[sel], indices=np.repeat(np.arange(int(multi.sum())), take[multi]))
    return out


def _to_wgs84(gdf, label: str, problems: list[str]):
    if gdf is None:
        return None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326") and gdf.crs.to_epsg() != 4326:
        try:
            gdf = gdf.to_crs(4326)
        except Exception as e:  # noqa: BLE001 - any failure of the library is the file's
            problems.append(f"{label} feature -, column geometry: unknown coordinate system "
                            f"({_short(e, 200)})")
            return None
    return gdf


def bundled_district() -> Path:
    """The folder of the bundled Yunxi district (``geodata/yunxi``)."""
    import geodata
    return Path(geodata.__file__).resolve().parent / "yunxi"


@contextmanager
def _gc_paused():
    """Python's cyclic garbage collector paused while a district is read. Reading
    makes millions of small containers that hold no cycles (the lists of a road
    network's JSON, the cells of a table), and every collection the allocations
    trigger walks all of them again: ``json.loads`` of a 25 MB road network takes
    2.1 s with the collector and 0.7 s without. It runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_district(path: str | Path) -> District:
    """Load, validate and type a district; raise :class:`DataError` listing
    every problem (file, row, column) when anything is wrong."""
    with _gc_paused():
        return _load_district(Path(path))


def _load_district(path: Path) -> District:
    folder, gpkg, ypath = _find_sources(path)
    # a GeoPackage named on the command line is the district; the folder's own
    # district.gpkg shares the folder with any table files beside it
    check_files = gpkg is None or gpkg.name == "district.gpkg"
    problems: list[str] = []
    meta = _load_yaml(ypath, problems)
    settings = _settings(meta.get("settings"), ypath.name, problems)
    county = _county(meta.get("county"), ypath.name, problems)
    b_scores = _b_scores(meta.get("b_scores"), ypath.name, problems)
    veto = _veto(meta.get("veto"), ypath.name, problems)
    standard = meta.get("standard", "hunan-2023") or "hunan-2023"

    # boundary first: coordinates are checked against it
    boundary = None
    bgdf, blabel = _read_geo(folder, "boundary", gpkg, problems, check_files)
    bgdf = _to_wgs84(bgdf, blabel, problems)
    if bgdf is not None:
        geoms = [g for g in bgdf.geometry if g is not None and not g.is_empty]
        bad = [i + 1 for i, g in enumerate(bgdf.geometry)
               if g is None or g.geom_type not in ("Polygon", "MultiPolygon")]
        if bad or not geoms:
            problems.append(f"{blabel} feature {bad[0] if bad else 1}, column geometry: "
                            f"the outline must be a polygon")
        else:
            from shapely.ops import unary_union
            from shapely.validation import make_valid
            boundary = make_valid(unary_union(geoms))

    # schools
    try:
        sraw, slabel, sgeom = _read_table(folder, "schools", gpkg, SCHOOL_COLUMNS, check_files)
    except DataError as e:
        raise DataError(problems + e.problems) from None
    if sraw is None:
        problems.append(f"{slabel} row -, column -: the schools table is missing "
                        f"(schools.csv or schools.xlsx)")
        raise DataError(problems)
    sraw = _rename_headers(sraw, SCHOOL_COLUMNS, slabel, problems)
    if sgeom is not None and ("lon" not in sraw.columns or "lat" not in sraw.columns):
        sraw["lon"] = [f"{g.x}" if g is not None else "" for g in sgeom]
        sraw["lat"] = [f"{g.y}" if g is not None else "" for g in sgeom]
        problems[:] = [p for p in problems if not p.startswith(
            (f"{slabel} row 1, column lo", f"{slabel} row 1, column la"))]
    schools = _parse_columns(sraw, SCHOOL_COLUMNS, slabel, problems)
    if all(c.name in sraw.columns for c in SCHOOL_COLUMNS if c.required):
        _check_unique(schools, "school_id", slabel, problems)
        _check_schools(schools, slabel, boundary, problems)
        schools.attrs["input_warnings"] = _check_consistency(schools, slabel)

    # teachers
    teachers = None
    traw, tlabel, _ = _table_or_problem(folder, "teachers", gpkg, problems, TEACHER_COLUMNS,
                                        check_files)
    if traw is not None:
        traw = _rename_headers(traw, TEACHER_COLUMNS, tlabel, problems)
        teachers = _parse_columns(traw, TEACHER_COLUMNS, tlabel, problems)
        if all(c.name in traw.columns for c in TEACHER_COLUMNS if c.required):
            _check_unique(teachers, "teacher_id", tlabel, problems)
            _check_teachers(teachers, schools, slabel, tlabel, problems)
    rot_history = _rotation_history(folder, gpkg, schools, slabel, teachers, tlabel, problems,
                                check_files)

    # units
    units = None
    uraw, ulabel, ugeom = _table_or_problem(folder, "units", gpkg, problems, UNIT_COLUMNS,
                                            check_files)
    if ulabel is not None and (folder / "units.gpkg").exists() and check_files:
        if uraw is None:
            uraw, ulabel, ugeom = _table_or_problem(folder, "units", folder / "units.gpkg",
                                                    problems, UNIT_COLUMNS, False)
        else:
            problems.append(f"{ulabel.split(':')[0]} row -, column -: the units table is "
                            f"given twice, as {ulabel} and as units.gpkg; keep one")
            uraw = None
    if uraw is not None:
        uraw = _rename_headers(uraw, UNIT_COLUMNS, ulabel, problems)
        udf = _parse_columns(uraw, UNIT_COLUMNS, ulabel, problems)
        if "unit_id" in uraw.columns:
            _check_unique(udf, "unit_id", ulabel, problems)
        units = _units_geo(udf, ugeom, ulabel, boundary, problems)

    # the history of enrolment and births (issue 19): optional
    enrolment, births = _time_tables(folder, gpkg, check_files, schools, units, problems)

    # roads
    roads, rlabel = _read_geo(folder, "roads", gpkg, problems, check_files)
    roads = _to_wgs84(roads, rlabel, problems)
    if roads is not None:
        _check_roads(roads, rlabel, problems)
        _check_road_flags(roads, rlabel, problems)

    if problems:
        raise DataError(problems)

    schools = schools.reset_index(drop=True)
    if teachers is not None:
        teachers = derive_teacher_flags(teachers.reset_index(drop=True), settings)
    return District(name=str(meta.get("name")), schools=schools, teachers=teachers,
                    units=units, roads=roads, boundary=boundary, standard=str(standard),
                    settings=settings, county=county, b_scores=b_scores, veto=veto,
                    path=folder, enrolment_history=enrolment, births=births,
                    rotation_history=rot_history)


ENROLMENT_HISTORY_COLUMNS = [
    Col("school_id", "学校代码", "text", True),
    Col("school_year", "学年", "int", True),
    Col("grade", "年级", "int", True),
    Col("pupils", "在校生数", "int", True),
]

BIRTH_COLUMNS = [
    Col("unit_id", "单元编码", "text", True),
    Col("year", "出生年份", "int", True),
    Col("births", "出生人数", "int", True),
]


def _time_tables(folder: Path, gpkg: Path | None, check_files: bool, schools, units,
                 problems: list[str]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The optional ``enrolment_history`` and ``births`` tables (docs/data-format.md),
    typed and checked: every column given, ids known, grades 1-9, one row per key,
    consecutive history years. ``None`` for a table not given."""
    out: list[pd.DataFrame | None] = []
    specs = (("enrolment_history", ENROLMENT_HISTORY_COLUMNS,
              ("school_id", "school_year", "grade")),
             ("births", BIRTH_COLUMNS, ("unit_id", "year")))
    for stem, cols, key in specs:
        raw, label, _ = _table_or_problem(folder, stem, gpkg, problems, cols, check_files)
        if raw is None or label is None:
            out.append(None)
            continue
        raw = _rename_headers(raw, cols, label, problems)
        if any(c.name not in raw.columns for c in cols):   # named by _rename_headers
            out.append(None)
            continue
        n0 = len(problems)
        df = _parse_columns(raw, cols, label, problems)
        rows = df.index.to_numpy()
        idc = key[0]
        ids = df[idc].to_numpy(dtype=object)
        for k in np.flatnonzero(ids == ""):
            problems.append(f"{label} row {rows[k]}, column {idc}: empty id")
        known = (set(schools["school_id"]) if stem != "births" else
                 (set(units["unit_id"]) if units is not None else None))
        if known is None:
            problems.append(f"{label} row -, column -: births need the units table")
        else:
            for k in np.flatnonzero(~pd.Series(ids).isin(known).to_numpy() & (ids != "")):
                where = "schools" if stem != "births" else "units"
                problems.append(f'{label} row {rows[k]}, column {idc}: "{_short(ids[k])}" is '
                                f"not in the {where} table")
        if stem == "enrolment_history":
            g = df["grade"].to_numpy()
            for k in np.flatnonzero((g < 1) | (g > 9)):  # not-a-rule: grades 1-9
                problems.append(f"{label} row {rows[k]}, column grade: {g[k]} is not a "
                                f"grade 1-9")
            years = sorted(set(df["school_year"].tolist()))
            if years and years != list(range(years[0], years[-1] + 1)):
                gap = next(y for y in range(years[0], years[-1]) if y not in years)
                problems.append(f"{label} row -, column school_year: the years are not "
                                f"consecutive ({gap} is missing)")
        dup = df.duplicated(list(key), keep="first").to_numpy()
        for k in np.flatnonzero(dup):
            problems.append(f"{label} row {rows[k]}, column {key[-1]}: the row of "
                            + ", ".join(f"{c} {df[c].iloc[k]}" for c in key)
                            + " is given twice")
        bad = len(problems) > n0
        out.append(None if bad else df[[c.name for c in cols]].reset_index(drop=True))
    return out[0], out[1]


def _check_roads(roads, label: str, problems: list[str]) -> None:
    """Lines only (column-wise with shapely), and a positive ``speed_kmh``."""
    import shapely
    geoms = roads.geometry.to_numpy()
    missing = pd.isna(geoms)
    kind = shapely.get_type_id(geoms)          # -1 for a missing geometry
    empty = missing | shapely.is_empty(geoms)
    line = np.isin(kind, (shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING))
    for k in np.flatnonzero(empty | ~line):
        if empty[k]:
            problems.append(f"{label} feature {k + 1}, column geometry: empty geometry, "
                            f"not a line")
        else:
            problems.append(f"{label} feature {k + 1}, column geometry: {geoms[k].geom_type} "
                            f"is not a line")
    if "speed_kmh" in roads.columns:
        col = roads["speed_kmh"]
        sp = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        present = ~pd.isna(col.to_numpy(dtype=object))
        with np.errstate(invalid="ignore"):
            bad = present & (np.isnan(sp) | ~np.isfinite(sp) | (sp <= 0))
        values = col.to_numpy(dtype=object)
        for k in np.flatnonzero(bad):
            problems.append(f'{label} feature {k + 1}, column speed_kmh: "{_short(values[k])}" '
                            f"is not a positive speed")


def _check_road_flags(roads, label: str, problems: list[str]) -> None:
    """``oneway`` and ``hazardous`` read as the road graph reads them (true/false,
    1/0, yes/no, 是/否; ``oneway`` also -1 / reverse); anything else is an error
    here, naming the feature, instead of failing later inside a plan. The graph's
    own reader (``geodata.roads``, which imports networkx) is consulted only for
    words other than the common ones."""
    common = {"true", "false", "yes", "no", "1", "0", "-1", "是", "否", ""}
    for column in ("oneway", "hazardous"):
        if column not in roads.columns:
            continue
        values = roads[column].to_numpy(dtype=object)
        odd = [k for k, v in enumerate(values) if isinstance(v, str)
               and v.strip().lower() not in common or not isinstance(v, (str, bool, int, float,
                                                                        np.number, type(None)))]
        if not odd:
            continue
        from geodata.roads import RoadDataError, _as_bool
        for k in odd:
            try:
                _as_bool(values[k], k + 1, column)
            except (RoadDataError, TypeError, ValueError):
                problems.append(f'{label} feature {k + 1}, column {column}: '
                                f'"{_short(values[k])}" is not true/false')


def _outside(boundary, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a point is outside the outline (with ~100 m of slack for
    coordinates rounded or digitised against another outline)."""
    import shapely
    if boundary is None:
        return np.zeros(len(lon), dtype=bool)
    zone = boundary.buffer(0.001)
    shapely.prepare(zone)
    ok = np.isnan(lon) | np.isnan(lat)
    inside = np.zeros(len(lon), dtype=bool)
    inside[~ok] = shapely.contains_xy(zone, lon[~ok], lat[~ok])
    return ~inside & ~ok


def _check_schools(s: pd.DataFrame, label: str, boundary, problems: list[str]) -> None:
    lon, lat = s["lon"].to_numpy(float), s["lat"].to_numpy(float)
    wgs = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)  # not-a-rule: latitude range
    out = _outside(boundary, np.where(wgs, lon, np.nan), np.where(wgs, lat, np.nan))
    nan = np.isnan(lon) | np.isnan(lat)
    rows = s.index.to_numpy()
    for k in np.flatnonzero(nan | ~wgs | out):
        r = rows[k]
        if nan[k]:
            problems.append(f"{label} row {r}, column {'lon' if np.isnan(lon[k]) else 'lat'}: "
                            f"coordinate is missing")
        elif not wgs[k]:
            col = "lon" if abs(lon[k]) > 180 else "lat"
            problems.append(f"{label} row {r}, column {col}: ({lon[k]}, {lat[k]}) is not a WGS84 "
                            f"longitude/latitude")
        else:
            problems.append(f"{label} row {r}, column lon: ({lon[k]}, {lat[k]}) is outside the "
                            f"district boundary")
    typ = s["type"].to_numpy(dtype=object)
    for st in ("primary", "junior"):
        n = s[f"students_{st}"]
        # a type the table does not know (reported already) is taken to teach it
        has = np.isin(typ, [t for t, sts in TYPE_STAGES.items() if st in sts]) \
            | ~np.isin(typ, list(TYPE_STAGES))
        for r in s.index[(n > 0) & ~has]:
            problems.append(f"{label} row {r}, column students_{st}: a {s.at[r, 'type']} school "
                            f"has no {st} stage but {n[r]} {st} pupils")
        for r in s.index[(n > 0) & (s[f"classes_{st}"] == 0)]:
            problems.append(f"{label} row {r}, column classes_{st}: 0 classes for "
                            f"{n[r]} {st} pupils")
    pid = s["parent_id"]
    for r in s.index[(pid != "") & ~pid.isin(s["school_id"].unique())]:
        problems.append(f'{label} row {r}, column parent_id: "{_short(pid[r])}" is not a school '
                        f"in {label}")


def _check_consistency(s: pd.DataFrame, label: str) -> list[dict]:
    """Figures of a school row that contradict each other, one warning each, returned
    for the commands and the report to show (kept in ``schools.attrs["input_warnings"]``;
    the indicator report carries them). A warning is data, not words: ``code``, the
    ``file``, ``row`` and ``column`` (and its Chinese header ``column_zh``), the school
    and stage, and the figures (``pupils``, ``classes``, ``largest``, ``classrooms``);
    ``planner.outputs`` puts it into words (catalogue ``input.<code>``).

    Impossible: a largest class below the average class size (``largest_below_average``:
    ``max_class × classes < pupils``, some class would be larger than the largest), a
    largest class of more pupils than the stage has (``largest_above_pupils``), more
    classes than pupils (``classes_above_pupils``). Odd but possible: classes without
    pupils (``classes_without_pupils``), fewer classrooms than classes
    (``classrooms_below_classes``: rooms shared or borrowed). A largest class or a
    classroom count of 0 or empty is "not given" and not compared. They are warnings,
    not errors: a bureau's table is read as it is, and the documents say loudly which
    figures cannot all be right."""
    zh = {c.name: c.zh for c in SCHOOL_COLUMNS}
    rows = s.index.to_numpy()
    ids = s["school_id"].to_numpy(dtype=object)
    names = s["name"].to_numpy(dtype=object)
    found: list[tuple[int, int, dict]] = []

    def warn(k: int, order: int, code: str, column: str, stage: str | None, **figures) -> None:
        w = {"code": code, "file": label, "row": int(rows[k]), "column": column,
             "column_zh": zh[column], "school_id": str(ids[k]), "school": str(names[k]),
             "stage": stage}
        w.update({key: float(v) for key, v in figures.items()})
        found.append((k, order, w))

    for j, st in enumerate(("primary", "junior")):
        n = s[f"students_{st}"].to_numpy(dtype=float)
        c = s[f"classes_{st}"].to_numpy(dtype=float)
        m = s[f"max_class_{st}"].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            low = (n > 0) & (c > 0) & (m > 0) & (m * c < n)
            big = (n > 0) & (m > n)
            many = (n > 0) & (c > n)
            empty = (n == 0) & (c > 0)
        for k in np.flatnonzero(low):
            warn(k, 4 * j, "largest_below_average", f"max_class_{st}", st, largest=m[k],
                 pupils=n[k], classes=c[k])
        for k in np.flatnonzero(big & ~low):
            warn(k, 4 * j + 1, "largest_above_pupils", f"max_class_{st}", st, largest=m[k],
                 pupils=n[k])
        for k in np.flatnonzero(many):
            warn(k, 4 * j + 2, "classes_above_pupils", f"classes_{st}", st, classes=c[k],
                 pupils=n[k])
        for k in np.flatnonzero(empty):
            warn(k, 4 * j + 3, "classes_without_pupils", f"classes_{st}", st, classes=c[k])
    rooms = s["classrooms"].to_numpy(dtype=float)
    classes = (s["classes_primary"].to_numpy(dtype=float)
               + s["classes_junior"].to_numpy(dtype=float))
    with np.errstate(invalid="ignore"):
        short = (rooms > 0) & (rooms < classes)
    for k in np.flatnonzero(short):
        warn(k, 8, "classrooms_below_classes", "classrooms", None, classrooms=rooms[k],
             classes=classes[k])
    return [w for _, _, w in sorted(found, key=lambda x: (x[0], x[1]))]


def _check_teachers(t: pd.DataFrame, s: pd.DataFrame, slabel: str, tlabel: str,
                    problems: list[str]) -> None:
    """Every teacher at a school of the table, in a stage that school teaches
    (hash look-ups, column-wise: a province has 400,000 teachers)."""
    typ = s["type"].to_numpy(dtype=object)
    typed = np.isin(typ, list(TYPE_STAGES))
    ids = s["school_id"].to_numpy(dtype=object)[typed]
    typ = typ[typed]
    last = ~pd.Index(ids).duplicated(keep="last")      # an id given twice: its last row
    ids, typ = ids[last], typ[last]
    teaches = {st: np.isin(typ, [t for t, sts in TYPE_STAGES.items() if st in sts])
               for st in ("primary", "junior")}
    at = pd.Index(ids).get_indexer(t["school_id"].to_numpy(dtype=object))
    known = at >= 0
    rows = t.index.to_numpy()
    sid = t["school_id"].to_numpy(dtype=object)
    stage = t["stage"].to_numpy(dtype=object)
    for k in np.flatnonzero(~known):
        problems.append(f'{tlabel} row {rows[k]}, column school_id: "{_short(sid[k])}" is not a '
                        f"school in {slabel}")
    pos = np.maximum(at, 0)
    ok = ((stage == "primary") & teaches["primary"][pos]) | \
        ((stage == "junior") & teaches["junior"][pos]) if len(ids) else np.zeros(len(t), bool)
    for k in np.flatnonzero(known & ~ok & (stage != "")):
        problems.append(f"{tlabel} row {rows[k]}, column stage: school {_short(sid[k])} does "
                        f"not teach the {stage[k]} stage")


def _units_geo(udf: pd.DataFrame, ugeom, label: str, boundary, problems: list[str]):
    import geopandas as gpd
    import shapely
    lon, lat = udf["lon"].to_numpy(float), udf["lat"].to_numpy(float)
    if ugeom is not None:
        geoms = np.array(list(ugeom), dtype=object)
        has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    else:
        geoms = np.full(len(udf), None, dtype=object)
        has = np.zeros(len(udf), dtype=bool)
    missing = ~has & (np.isnan(lon) | np.isnan(lat))
    for r in udf.index[missing]:
        problems.append(f"{label} row {r}, column lon: a unit needs lon/lat or a geometry")
    pts = ~has & ~missing
    out = _outside(boundary, np.where(pts, lon, np.nan), np.where(pts, lat, np.nan))
    for k in np.flatnonzero(out):
        r = udf.index[k]
        problems.append(f"{label} row {r}, column lon: ({lon[k]}, {lat[k]}) is outside the "
                        f"district boundary")
    geoms[pts] = shapely.points(lon[pts], lat[pts])
    kids = udf["children_primary"] + udf["children_junior"]
    for r in udf.index[(kids > udf["population"]) & (udf["population"] > 0)]:
        problems.append(f"{label} row {r}, column children_primary: more children "
                        f"({kids[r]}) than residents ({udf.at[r, 'population']})")
    return gpd.GeoDataFrame(udf.reset_index(drop=True), geometry=list(geoms), crs=4326)


# --------------------------------------------------------------------------
# writing (round trip; also how a scenario's resulting district is saved)
# --------------------------------------------------------------------------

#: columns a loaded table gains that are derived, never written back
_DERIVED = {"qualified", "is_backbone", "pe_art", "eligible", "geometry"}


def _table_out(df: pd.DataFrame, cols: list[Col], lang: str) -> pd.DataFrame:
    keep = [c for c in cols if c.name in df.columns]
    out = pd.DataFrame({(c.zh if lang == "zh" else c.name): df[c.name] for c in keep})
    for c in keep:
        h = c.zh if lang == "zh" else c.name
        if c.kind == "bool":
            out[h] = df[c.name].map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
        elif c.kind == "float":
            out[h] = df[c.name].map(lambda v: "" if pd.isna(v) else repr(float(v)))
    # the loader keeps extra columns (as text) after the schema's: so does the writer
    known = {c.name for c in cols}
    for extra in df.columns:
        if extra not in known and extra not in _DERIVED and extra not in out.columns:
            out[extra] = df[extra].map(lambda v: "" if v is None or (
                isinstance(v, float) and math.isnan(v)) else v)
    return out


def save_district(district: District, folder: str | Path, fmt: str = "csv",
                  lang: str = "en") -> Path:
    """Write ``district`` as a folder (``fmt`` csv, xlsx or gpkg; headers in
    ``lang`` en or zh) that :func:`load_district` reads back."""
    import geopandas as gpd
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"name": district.name, "standard": district.standard,
            "settings": {k: getattr(district.settings, k) for k in Settings.names()
                         if getattr(district.settings, k) != getattr(Settings(), k)},
            "county": dict(district.county),
            "b_scores": {int(k): list(v) for k, v in district.b_scores.items()},
            "veto": dict(district.veto)}
    with open(folder / "district.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(meta, fh, allow_unicode=True, sort_keys=False)
    tables = {"schools": _table_out(district.schools, SCHOOL_COLUMNS, lang)}
    if district.teachers is not None:
        tables["teachers"] = _table_out(district.teachers, TEACHER_COLUMNS, lang)
    if district.units is not None:
        u = district.units
        pts = u.geometry.geom_type == "Point"
        udf = pd.DataFrame(u.drop(columns="geometry"))
        udf.loc[pts, "lon"] = u.geometry[pts].x
        udf.loc[pts, "lat"] = u.geometry[pts].y
        tables["units"] = _table_out(udf, UNIT_COLUMNS, lang)
    if fmt == "gpkg":
        gpkg = folder / "district.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        for name, df in tables.items():
            g = None
            if name == "units" and district.units is not None:
                g = district.units.geometry.values
            gdf = gpd.GeoDataFrame(df.astype(str), geometry=g, crs=4326 if g is not None else None)
            gdf.to_file(gpkg, layer=name, driver="GPKG")
        if district.roads is not None:
            district.roads.to_file(gpkg, layer="roads", driver="GPKG")
        if district.boundary is not None:
            gpd.GeoDataFrame(geometry=[district.boundary], crs=4326).to_file(
                gpkg, layer="boundary", driver="GPKG")
        return folder
    if district.units is not None and "units" in tables and \
            (district.units.geometry.geom_type != "Point").any():
        # units drawn as polygons: a table cannot hold them, units.gpkg does
        gdf = gpd.GeoDataFrame(tables.pop("units").astype(str),
                               geometry=district.units.geometry.values, crs=4326)
        if (folder / "units.gpkg").exists():
            (folder / "units.gpkg").unlink()
        gdf.to_file(folder / "units.gpkg", layer="units", driver="GPKG")
    for name, df in tables.items():
        if fmt == "xlsx":
            df.to_excel(folder / f"{name}.xlsx", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
    if district.roads is not None:
        district.roads.to_file(folder / "roads.geojson", driver="GeoJSON")
    if district.boundary is not None:
        gpd.GeoDataFrame(geometry=[district.boundary], crs=4326).to_file(
            folder / "boundary.geojson", driver="GeoJSON")
    return folder


# --------------------------------------------------------------------------
# teacher rotation: the history table and the teachers' wishes
# --------------------------------------------------------------------------

#: rotation_history.csv / .xlsx (docs/data-format.md): one row per past move
ROTATION_HISTORY_COLUMNS = [
    Col("teacher_id", "教师编号", "id", True),
    Col("school_year", "学年", "float", True),
    Col("from_school_id", "原学校代码", "text", True),
    Col("to_school_id", "交流学校代码", "text", True),
    Col("move_type", "交流形式", "enum:move_type", False, ""),
    Col("period_years", "交流年限", "float"),
]

ENUMS["move_type"] = {
    "transfer": "transfer", "交流": "transfer", "support": "support", "支教": "support",
    "itinerant": "itinerant", "走教": "itinerant", "shadowing": "shadowing",
    "跟岗": "shadowing", "跟岗学习": "shadowing", "return": "return", "返回": "return",
    "期满返回": "return", "交流期满返回": "return"}
ENUM_LABELS["move_type"] = ("transfer 交流, support 支教, itinerant 走教, shadowing 跟岗, "
                            "return 返回")

#: separators between the school ids of a teacher's ``preferences`` cell
_WISH_SPLIT = re.compile(r"[\s,，;；、/|]+")
#: the most schools a teacher may name in ``preferences``
MAX_PREFERENCES = 3


def parse_preferences(text: Any) -> tuple[str, ...]:
    """The school ids of a ``preferences`` cell (``"Y002，Y005"`` → ``("Y002", "Y005")``),
    in the order given; separators: spaces, commas, semicolons, 、 / |."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    return tuple(x for x in _WISH_SPLIT.split(str(text).strip()) if x)


def _rotation_history(folder: Path, gpkg: Path | None, schools: pd.DataFrame, slabel: str,
                      teachers: pd.DataFrame | None, tlabel: str | None,
                      problems: list[str], check_files: bool) -> pd.DataFrame | None:
    """Check the teachers' ``preferences`` and read the optional ``rotation_history``
    table (``rotation_history.csv`` / ``.xlsx`` or the layer of that name).

    History: every cell is checked (file, row, column): ``school_year`` a whole
    number, ``from_school_id`` and ``to_school_id`` two different schools of the
    school table, ``period_years`` empty (for good) or a whole number, one row per
    teacher and school year. A teacher no longer on the roster is kept (they moved
    in the past). Returns the typed table indexed by spreadsheet row, or None.
    """
    known = set(schools["school_id"]) if "school_id" in schools.columns else set()
    if teachers is not None and tlabel is not None and "preferences" in teachers.columns:
        _check_preferences(teachers, schools, slabel, tlabel, known, problems)
    raw, label, _ = _table_or_problem(folder, "rotation_history", gpkg, problems,
                                      ROTATION_HISTORY_COLUMNS, check_files)
    if raw is None:
        return None
    raw = _rename_headers(raw, ROTATION_HISTORY_COLUMNS, label, problems)
    h = _parse_columns(raw, ROTATION_HISTORY_COLUMNS, label, problems)
    if not all(c.name in raw.columns for c in ROTATION_HISTORY_COLUMNS if c.required):
        return None
    rows = h.index.to_numpy()
    for col in ("school_year", "period_years"):
        v = h[col].to_numpy(dtype=float)
        given = raw[col].to_numpy(dtype=object) != "" if col in raw.columns else \
            np.zeros(len(h), dtype=bool)
        if col == "school_year":
            for k in np.flatnonzero(~given):
                problems.append(f"{label} row {rows[k]}, column {col}: empty school year")
        frac = ~np.isnan(v) & (v != np.floor(v))
        for k in np.flatnonzero(frac):
            problems.append(f"{label} row {rows[k]}, column {col}: {_short(v[k])} is not a "
                            f"whole number of years")
    for col in ("from_school_id", "to_school_id"):
        v = h[col].to_numpy(dtype=object)
        for k in np.flatnonzero(v == ""):
            problems.append(f"{label} row {rows[k]}, column {col}: empty school id")
        for k in np.flatnonzero((v != "") & ~np.isin(v, list(known))):
            problems.append(f'{label} row {rows[k]}, column {col}: "{_short(v[k])}" is not a '
                            f"school in {slabel}")
    same = (h["from_school_id"] == h["to_school_id"]) & (h["from_school_id"] != "")
    for r in h.index[same]:
        problems.append(f"{label} row {r}, column to_school_id: the teacher moves to the "
                        f"school they come from ({_short(h.at[r, 'to_school_id'])})")
    key = h["teacher_id"].astype(str) + "\x00" + h["school_year"].astype(str)
    dup = key.duplicated(keep="first") & (h["teacher_id"] != "")
    if dup.any():
        first = dict(zip(key[~key.duplicated(keep="first")], h.index[~key.duplicated()]))
        for r in h.index[dup]:
            year = h.at[r, "school_year"]
            problems.append(f'{label} row {r}, column school_year: teacher '
                            f'"{_short(h.at[r, "teacher_id"])}" moves twice in '
                            f"{int(year) if year == year else ''} (first at row "
                            f"{first[key[r]]})")
    h.attrs["label"] = label
    return h


def _check_preferences(t: pd.DataFrame, schools: pd.DataFrame, slabel: str, tlabel: str,
                       known: set, problems: list[str]) -> None:
    """Each ``preferences`` cell: at most three different schools of the table that
    teach the teacher's stage, not the teacher's own school."""
    stages = {}
    for sid, typ in zip(schools["school_id"], schools["type"]):
        stages[sid] = set(TYPE_STAGES.get(typ, ("primary", "junior")))
    cells = t["preferences"].to_numpy(dtype=object)
    for k in np.flatnonzero(cells != ""):
        r = t.index[k]
        ids = parse_preferences(cells[k])
        where = f"{tlabel} row {r}, column preferences"
        if len(ids) > MAX_PREFERENCES:
            problems.append(f'{where}: "{_short(cells[k])}" names {len(ids)} schools; at most '
                            f"{MAX_PREFERENCES}")
        if len(set(ids)) != len(ids):
            problems.append(f'{where}: "{_short(cells[k])}" names a school twice')
        for q in ids:
            if q not in known:
                problems.append(f'{where}: "{_short(q)}" is not a school in {slabel}')
            elif q == t.at[r, "school_id"]:
                problems.append(f'{where}: "{_short(q)}" is the teacher\'s own school')
            elif t.at[r, "stage"] not in stages.get(q, set()):
                problems.append(f'{where}: "{_short(q)}" does not teach the '
                                f"{t.at[r, 'stage']} stage")
