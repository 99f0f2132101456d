"""Loading and validating a district (data-spec.md).

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

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from planner.core.errors import DataError
from planner.core.district import (TYPE_STAGES, District, Settings,
                       derive_teacher_flags)




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
        "twelve_year": "twelve_year", "十二年一贯制学校": "twelve_year", "十二年一贯制": "twelve_year",
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
    "school_type": "primary 小学, junior 初中, nine_year 九年一贯制学校, twelve_year 十二年一贯制学校, "
                   "complete_middle 完全中学, teaching_point 教学点, special 特殊教育学校",
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
# --------------------------------------------------------------------------

def _read_csv(path: Path) -> pd.DataFrame:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise DataError([f"{path.name} row 1, column -: cannot be read as UTF-8 or GBK text"])
    import io as _io
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise DataError([f"{path.name} row 1, column -: the file is empty"])
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DataError([f"{path.name} row {line}, column -: the file holds a NUL character "
                         f"(not a text table)"])
    try:
        # header=None: a header given twice stays visible (pandas would rename it)
        df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, header=None,
                         skip_blank_lines=False, engine="c")
    except pd.errors.ParserError as e:
        import re
        m = re.search(r"line (\d+)", str(e)) or re.search(r"row (\d+)", str(e))
        row = m.group(1) if m else "-"
        msg = str(e).strip().splitlines()[-1] if str(e).strip() else "cannot be parsed"
        raise DataError([f"{path.name} row {row}, column -: not a valid CSV table "
                         f"({msg})"]) from None
    except pd.errors.EmptyDataError:
        raise DataError([f"{path.name} row 1, column -: the file is empty"]) from None
    return _with_header(df, path.name)


def _read_xlsx(path: Path) -> pd.DataFrame:
    """The first sheet as text. Read with openpyxl directly: an Excel error cell
    (``#VALUE!``, ``#N/A``) stays visible as its text instead of becoming an
    empty cell, and a whole number stored as 600.0 reads as ``600``."""
    import datetime as _dt

    from openpyxl import load_workbook

    def text(v) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
        if isinstance(v, (_dt.datetime, _dt.date, _dt.time)):
            return v.isoformat()
        return str(v)

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = [[text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except Exception as e:  # openpyxl raises many kinds
        raise DataError([f"{path.name} row -, column -: not a readable XLSX workbook "
                         f"({type(e).__name__}: {e})"]) from None
    width = max((len(r) for r in rows), default=0)
    df = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
    return _with_header(df, path.name, title_rows=True)


def _with_header(df: pd.DataFrame, label: str, title_rows: bool = False) -> pd.DataFrame:
    """Take the first row as the header (in a workbook: the first row with more
    than one filled cell, so a merged title row above it is skipped) and number
    the data rows as a spreadsheet shows them."""
    df = df.fillna("").astype(str)
    if len(df) == 0 or (df.map(str.strip) == "").all(axis=None):
        raise DataError([f"{label} row 1, column -: the file is empty"])
    h = 0
    if title_rows and df.shape[1] > 1:
        filled = (df.map(str.strip) != "").sum(axis=1).to_numpy()
        while h < min(len(df) - 1, 10) and filled[h] <= 1:
            h += 1
        if filled[h] <= 1:
            h = 0
    header = ["" if str(c).startswith("Unnamed:") else str(c).replace("\ufeff", "").strip()
              for c in df.iloc[h]]
    body = df.iloc[h + 1:].copy()
    body.columns = range(len(header))
    body = _drop_blank_rows(body, first_row=h + 2)
    # a header of duplicate names is kept as given; _rename_headers reports it
    body.columns = header
    body.attrs["header_row"] = h + 1
    if len(body) == 0:
        raise DataError([f"{label} row {h + 2}, column -: no data rows below the header "
                         f"(row {h + 1})"])
    return body


def _drop_blank_rows(df: pd.DataFrame, first_row: int = 2) -> pd.DataFrame:
    df = df.fillna("").astype(str)
    for c in df.columns:
        df[c] = df[c].str.strip()
    blank = (df == "").all(axis=1).to_numpy()
    # rows keep their spreadsheet number: header is row first_row - 1
    df.index = pd.RangeIndex(first_row, first_row + len(df))
    return df.loc[~blank]


def _read_table(folder: Path, stem: str, gpkg: Path | None) -> tuple[pd.DataFrame | None, str, Any]:
    """Return (attribute table as text, file label, geometry or None)."""
    if gpkg is not None:
        import geopandas as gpd
        import pyogrio
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem not in layers:
            return None, f"{gpkg.name}:{stem}", None
        try:
            gdf = pyogrio.read_dataframe(gpkg, layer=stem)
        except Exception as e:
            raise DataError([f"{gpkg.name}:{stem} row -, column -: the layer cannot be read "
                             f"({type(e).__name__}: {e})"]) from None
        geom = None
        if isinstance(gdf, gpd.GeoDataFrame) and "geometry" in gdf.columns:
            geom = gdf.geometry
            if geom.crs is not None and geom.crs.to_epsg() != 4326:
                try:    # a layer in a projected CRS: coordinates are WGS84 lon/lat
                    geom = geom.to_crs(4326)
                except Exception as e:
                    raise DataError([f"{gpkg.name}:{stem} row -, column geometry: unknown "
                                     f"coordinate system ({e})"]) from None
        attrs = pd.DataFrame(gdf.drop(columns=[c for c in ("geometry",) if c in gdf.columns]))
        attrs = attrs.astype(object).where(attrs.notna(), "").astype(str)
        attrs.index = pd.RangeIndex(2, 2 + len(attrs))
        if geom is not None:
            geom = geom.set_axis(attrs.index)
        return attrs, f"{gpkg.name}:{stem}", geom
    for ext, reader in ((".csv", _read_csv), (".xlsx", _read_xlsx)):
        p = folder / f"{stem}{ext}"
        if p.exists():
            return reader(p), p.name, None
    return None, f"{stem}.csv", None


def _table_or_problem(folder: Path, stem: str, gpkg: Path | None, problems: list[str]):
    """:func:`_read_table`, but an unreadable optional table becomes a problem
    (label None) so the other files are still checked."""
    try:
        return _read_table(folder, stem, gpkg)
    except DataError as e:
        problems.extend(e.problems)
        return None, None, None


def _rename_headers(df: pd.DataFrame, cols: list[Col], label: str, problems: list[str]) -> pd.DataFrame:
    zh = {c.zh: c.name for c in cols}
    names = {c.name for c in cols}
    # the header is the row above the first data row (a workbook may have a title row)
    header_row = int(df.attrs.get("header_row", 1))
    new, seen = [], {}
    for i, h in enumerate(df.columns):
        h2 = str(h).replace("\ufeff", "").strip()
        key = zh.get(h2, h2)
        if key.lower() in names:
            key = key.lower()
        if key in seen:
            if key in names:
                problems.append(f"{label} row {header_row}, column {h2}: column {key} is "
                                f"given twice (also as {seen[key]})")
            key = f"__dup_{i}"
        seen.setdefault(key, h2)
        new.append(key if key else f"__blank_{i}")
    df = df.copy()
    df.columns = new
    for c in cols:
        if c.required and c.name not in df.columns:
            problems.append(f"{label} row {header_row}, column {c.name}: required column is missing "
                            f"(header {c.name} or {c.zh})")
    return df


def _parse_columns(df: pd.DataFrame, cols: list[Col], label: str,
                   problems: list[str]) -> pd.DataFrame:
    """Type every schema column (vectorised); append one problem per bad cell."""
    out = pd.DataFrame(index=df.index)
    n = len(df)
    for c in cols:
        if c.name not in df.columns:
            if c.kind == "int":
                out[c.name] = np.zeros(n, dtype=np.int64)
            elif c.kind == "float":
                out[c.name] = np.full(n, np.nan)
            elif c.kind == "bool":
                out[c.name] = pd.array([c.default] * n, dtype="boolean")
            else:
                out[c.name] = pd.Series([c.default if c.default is not None else ""] * n,
                                        index=df.index, dtype=object)
            continue
        raw = df[c.name].astype(str).str.strip()
        if c.kind in ("id", "text"):
            if c.kind == "id":
                for r in raw.index[raw == ""]:
                    problems.append(f"{label} row {r}, column {c.name}: empty id")
            out[c.name] = raw.astype(object)
        elif c.kind in ("int", "float"):
            empty = raw == ""
            nums = pd.to_numeric(raw.str.replace(",", "", regex=False).where(~empty, None),
                                 errors="coerce").astype(float)
            bad = nums.isna() & ~empty
            for r in raw.index[bad]:
                problems.append(f'{label} row {r}, column {c.name}: "{raw[r]}" is not a number')
            arr = nums.to_numpy(copy=True)
            fin = np.isfinite(arr) | np.isnan(arr)
            for r in raw.index[~fin]:
                problems.append(f'{label} row {r}, column {c.name}: "{raw[r]}" is not a finite number')
            arr[~fin] = np.nan
            if c.name not in _NON_NEGATIVE_EXEMPT:
                neg = arr < 0
                for r in raw.index[neg]:
                    problems.append(f"{label} row {r}, column {c.name}: {raw[r]} is negative")
                arr[neg] = np.nan
            big = np.abs(arr) > 1e12
            for r in raw.index[big]:
                problems.append(f"{label} row {r}, column {c.name}: {raw[r]} is too large")
            arr[big] = np.nan
            if c.kind == "int":
                frac = ~np.isnan(arr) & (arr != np.floor(arr))
                for r in raw.index[frac]:
                    problems.append(f"{label} row {r}, column {c.name}: {raw[r]} is not a whole number")
                arr[frac] = np.nan
                d = c.default if c.default is not None else 0
                out[c.name] = np.where(np.isnan(arr), d, arr).astype(np.int64)
            else:
                out[c.name] = arr
        elif c.kind == "bool":
            low = raw.str.lower()
            val = pd.Series(pd.NA, index=raw.index, dtype="boolean")
            val[low.isin(TRUE)] = True
            val[low.isin(FALSE)] = False
            if c.default is not None:
                val[low == ""] = c.default
            bad = ~(low.isin(TRUE) | low.isin(FALSE) | (low == ""))
            for r in raw.index[bad]:
                problems.append(f'{label} row {r}, column {c.name}: "{raw[r]}" is not a yes/no '
                                f"value (true/false, 1/0, 是/否)")
            out[c.name] = val
        elif c.kind.startswith("enum:"):
            enum = c.kind[5:]
            table = ENUMS[enum]
            key = raw.map(table)
            key = key.where(key.notna(), raw.str.lower().map(table))
            if c.default is not None:
                key = key.where(~((raw == "") & key.isna()), c.default)
            for r in raw.index[key.isna()]:
                problems.append(f'{label} row {r}, column {c.name}: "{raw[r]}" is not one of '
                                f"{ENUM_LABELS[enum]}")
            out[c.name] = key.fillna("").astype(object)
    # extra columns are kept as text, after the schema's
    for extra in df.columns:
        if extra not in out.columns and not extra.startswith("__"):
            out[extra] = df[extra].astype(object)
    return out


def _check_unique(df: pd.DataFrame, col: str, label: str, problems: list[str]) -> None:
    v = df[col]
    dup = v.duplicated(keep="first") & (v != "")
    if dup.any():
        first = {x: r for r, x in zip(v.index[::-1], v[::-1])}
        for r in v.index[dup]:
            problems.append(f'{label} row {r}, column {col}: "{v[r]}" is used again '
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
            raise DataError([f"{path.parent / 'district.yaml'} row -, column -: district.yaml is "
                             f"missing beside {path.name}"])
        if path.name in ("district.yaml", "district.yml"):
            path = path.parent
        else:
            raise DataError([f"{path}: not a district folder, district.yaml or .gpkg file"])
    y = path / "district.yaml"
    if not y.exists():
        raise DataError([f"{y} row -, column -: district.yaml is missing "
                         f"(a district folder needs it)"])
    gpkg = path / "district.gpkg"
    return path, (gpkg if gpkg.exists() else None), y


def _load_yaml(path: Path, problems: list[str]) -> dict:
    label = path.name
    try:
        with open(path, encoding="utf-8-sig") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "line -"
        problems.append(f"{label} {where}, key -: not valid YAML ({getattr(e, 'problem', e)})")
        return {}
    except UnicodeDecodeError:
        problems.append(f"{label} line 1, key -: not UTF-8 text")
        return {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{label} line 1, key -: expected a mapping of keys "
                        f"({', '.join(YAML_KEYS)})")
        return {}
    for k in data:
        if k not in YAML_KEYS:
            problems.append(f"{label} key {k}: unknown key; allowed: {', '.join(YAML_KEYS)}")
    name = data.get("name")
    if name is None or name == "":
        problems.append(f"{label} key name: the district name is missing")
    elif not isinstance(name, (str, int, float)) or isinstance(name, bool):
        problems.append(f"{label} key name: {name!r} is not a name (expected text)")
        data["name"] = str(name)
    std = data.get("standard")
    if std is not None:
        if not isinstance(std, str) or not std.strip():
            problems.append(f"{label} key standard: {std!r} is not a standard name")
        else:
            from planner.core.rules import STANDARDS_DIR, load_standard
            try:
                load_standard(std)
            except Exception as e:  # unknown name, unreadable or malformed file
                known = ", ".join(sorted(x.stem for x in STANDARDS_DIR.glob("*.yaml")))
                problems.append(f'{label} key standard: "{std}" is not a known standard '
                                f"(known: {known}; {type(e).__name__}: {e})")
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
            problems.append(f"{label} key settings.{k}: unknown setting; allowed: "
                            f"{', '.join(allowed)}")
            continue
        if k in Settings.CHOICES and v not in Settings.CHOICES[k]:
            problems.append(f'{label} key settings.{k}: "{v}" is not one of '
                            f"{', '.join(Settings.CHOICES[k])}")
            continue
        number = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if k in ("rotation_min_years", "rotation_max_age"):
            if not number or v < 0:
                problems.append(f'{label} key settings.{k}: "{v}" is not a non-negative number')
                continue
        if k in ("travel_detour_factor", "travel_fallback_speed_kmh", "access_speed_kmh",
                 "max_access_m") and not (number and v > 0) \
                and not (v is None and k in ("access_speed_kmh", "max_access_m")):
            problems.append(f'{label} key settings.{k}: "{v}" is not a positive number')
            continue
        kwargs[k] = v
    return Settings(**kwargs)


def _county(raw: dict | None, label: str, problems: list[str]) -> dict:
    out = {}
    for k, v in (raw or {}).items():
        if k in COUNTY_BOOL_KEYS:
            if not isinstance(v, bool):
                problems.append(f'{label} key county.{k}: "{v}" is not true or false')
                continue
        elif k in COUNTY_NUMBER_KEYS:
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                problems.append(f'{label} key county.{k}: "{v}" is not a non-negative number')
                continue
        else:
            problems.append(f"{label} key county.{k}: unknown county fact; allowed: "
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
            problems.append(f'{label} key b_scores.{k}: "{k}" is not an indicator number')
            continue
        if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                              and math.isfinite(x) and x >= 0 for x in v):
            problems.append(f"{label} key b_scores.{k}: expected a list of non-negative item scores")
            continue
        out[ik] = [float(x) for x in v]
    return out


def _veto(raw: dict | None, label: str, problems: list[str]) -> dict[str, bool]:
    out = {}
    for k, v in (raw or {}).items():
        if k not in VETO_KEYS:
            problems.append(f"{label} key veto.{k}: unknown veto condition; allowed: "
                            f"{', '.join(VETO_KEYS)}")
            continue
        if not isinstance(v, bool):
            problems.append(f'{label} key veto.{k}: "{v}" is not true or false')
            continue
        out[k] = v
    return out


def _read_geo(folder: Path, stem: str, gpkg: Path | None, problems: list[str]):
    """Read roads or boundary: (GeoDataFrame or None, label). GDAL's warnings
    (a column of mixed types, say) are not shown: the checks below say what matters."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _read_geo_quiet(folder, stem, gpkg, problems)


def _read_geo_quiet(folder: Path, stem: str, gpkg: Path | None, problems: list[str]):
    import geopandas as gpd
    import pyogrio
    if gpkg is not None:
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem in layers:
            label = f"{gpkg.name}:{stem}"
            try:
                gdf = gpd.read_file(gpkg, layer=stem)
            except Exception as e:
                problems.append(f"{label} feature -, column geometry: cannot be read "
                                f"({type(e).__name__}: {e})")
                return None, label
            if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
                problems.append(f"{label} feature -, column geometry: the layer has no geometry")
                return None, label
            return gdf, label
    for ext in (".gpkg", ".geojson", ".json"):
        p = folder / f"{stem}{ext}"
        if p.exists():
            if ext != ".gpkg" and not _check_geojson(p, problems):
                return None, p.name
            try:
                gdf = gpd.read_file(p)
            except Exception as e:
                problems.append(f"{p.name} feature -, column geometry: cannot be read "
                                f"({type(e).__name__}: {e})")
                return None, p.name
            if not isinstance(gdf, gpd.GeoDataFrame) or "geometry" not in gdf.columns:
                problems.append(f"{p.name} feature -, column geometry: the file has no geometry")
                return None, p.name
            return gdf, p.name
    return None, f"{stem}.geojson"


GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection")


def _check_geojson(p: Path, problems: list[str]) -> bool:
    """Check what GDAL passes over silently: JSON syntax (with its line), the
    GeoJSON structure, and a ``crs`` member naming a system nobody knows (GDAL
    would read the coordinates as WGS84)."""
    label = p.name
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        problems.append(f"{label} line {line}, key -: not UTF-8 text")
        return False
    if not text.strip():
        problems.append(f"{label} line 1, key -: the file is empty")
        return False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        problems.append(f"{label} line {e.lineno}, column {e.colno}: not valid JSON ({e.msg})")
        return False
    except RecursionError:
        problems.append(f"{label} line 1, key -: nested too deeply to be GeoJSON")
        return False
    typ = obj.get("type") if isinstance(obj, dict) else None
    if typ not in ("FeatureCollection", "Feature") + GEOMETRY_TYPES:
        problems.append(f"{label} line 1, key type: not a GeoJSON FeatureCollection, Feature "
                        f"or geometry")
        return False
    ok = True
    if typ == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            problems.append(f"{label} line 1, key features: a FeatureCollection needs a list "
                            f"of features")
            return False
        for i, f in enumerate(feats, start=1):
            if not isinstance(f, dict) or f.get("type") != "Feature":
                problems.append(f"{label} feature {i}, column -: not a GeoJSON Feature")
                ok = False
                continue
            g = f.get("geometry")
            if g is not None and not _geometry_ok(g):
                problems.append(f"{label} feature {i}, column geometry: not a valid GeoJSON "
                                f"geometry")
                ok = False
            props = f.get("properties")
            if props is not None and not isinstance(props, dict):
                problems.append(f"{label} feature {i}, column properties: not an object")
                ok = False
    elif typ == "Feature":
        g = obj.get("geometry")
        if g is not None and not _geometry_ok(g):
            problems.append(f"{label} feature 1, column geometry: not a valid GeoJSON geometry")
            ok = False
    elif not _geometry_ok(obj):
        problems.append(f"{label} feature 1, column geometry: not a valid GeoJSON geometry")
        ok = False
    crs = obj.get("crs")
    if crs is not None:
        line = text.count("\n", 0, max(0, text.find('"crs"'))) + 1
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) and isinstance(
            crs.get("properties"), dict) else None
        try:
            if not isinstance(name, str):
                raise ValueError
            from pyproj import CRS
            CRS.from_user_input(name)
        except Exception:
            problems.append(f"{label} line {line}, key crs: unknown coordinate system "
                            f"{json.dumps(crs, ensure_ascii=False)[:120]} (use WGS84 "
                            f"longitude/latitude, EPSG:4326)")
            ok = False
    return ok


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


def _to_wgs84(gdf, label: str, problems: list[str]):
    if gdf is None:
        return None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif not gdf.crs.equals("EPSG:4326") and gdf.crs.to_epsg() != 4326:
        try:
            gdf = gdf.to_crs(4326)
        except Exception as e:
            problems.append(f"{label} feature -, column geometry: unknown coordinate system ({e})")
            return None
    return gdf


def bundled_district() -> Path:
    """The folder of the bundled Yunxi district (``geodata/yunxi``)."""
    import geodata
    return Path(geodata.__file__).resolve().parent / "yunxi"


def load_district(path: str | Path) -> District:
    """Load, validate and type a district; raise :class:`DataError` listing
    every problem (file, row, column) when anything is wrong."""
    path = Path(path)
    folder, gpkg, ypath = _find_sources(path)
    problems: list[str] = []
    meta = _load_yaml(ypath, problems)
    settings = _settings(meta.get("settings"), ypath.name, problems)
    county = _county(meta.get("county"), ypath.name, problems)
    b_scores = _b_scores(meta.get("b_scores"), ypath.name, problems)
    veto = _veto(meta.get("veto"), ypath.name, problems)
    standard = meta.get("standard", "hunan-2023") or "hunan-2023"

    # boundary first: coordinates are checked against it
    boundary = None
    bgdf, blabel = _read_geo(folder, "boundary", gpkg, problems)
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
        sraw, slabel, sgeom = _read_table(folder, "schools", gpkg)
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
        problems[:] = [p for p in problems if not (p.startswith(f"{slabel} row 1, column lo")
                                                   or p.startswith(f"{slabel} row 1, column la"))]
    schools = _parse_columns(sraw, SCHOOL_COLUMNS, slabel, problems)
    if all(c.name in sraw.columns for c in SCHOOL_COLUMNS if c.required):
        _check_unique(schools, "school_id", slabel, problems)
        _check_schools(schools, slabel, boundary, problems)

    # teachers
    teachers = None
    traw, tlabel, _ = _table_or_problem(folder, "teachers", gpkg, problems)
    if traw is not None:
        traw = _rename_headers(traw, TEACHER_COLUMNS, tlabel, problems)
        teachers = _parse_columns(traw, TEACHER_COLUMNS, tlabel, problems)
        if all(c.name in traw.columns for c in TEACHER_COLUMNS if c.required):
            _check_unique(teachers, "teacher_id", tlabel, problems)
            _check_teachers(teachers, schools, slabel, tlabel, problems)

    # units
    units = None
    uraw, ulabel, ugeom = _table_or_problem(folder, "units", gpkg, problems)
    if uraw is None and ulabel is not None and (folder / "units.gpkg").exists():
        uraw, ulabel, ugeom = _table_or_problem(folder, "units", folder / "units.gpkg", problems)
    if uraw is not None:
        uraw = _rename_headers(uraw, UNIT_COLUMNS, ulabel, problems)
        udf = _parse_columns(uraw, UNIT_COLUMNS, ulabel, problems)
        if "unit_id" in uraw.columns:
            _check_unique(udf, "unit_id", ulabel, problems)
        units = _units_geo(udf, ugeom, ulabel, boundary, problems)

    # roads
    roads, rlabel = _read_geo(folder, "roads", gpkg, problems)
    roads = _to_wgs84(roads, rlabel, problems)
    if roads is not None:
        for i, g in enumerate(roads.geometry, start=1):
            if g is None or g.is_empty:
                problems.append(f"{rlabel} feature {i}, column geometry: empty geometry, not a line")
            elif g.geom_type not in ("LineString", "MultiLineString"):
                problems.append(f"{rlabel} feature {i}, column geometry: {g.geom_type} is not a line")
        if "speed_kmh" in roads.columns:
            sp = pd.to_numeric(roads["speed_kmh"], errors="coerce")
            for i, (v, x) in enumerate(zip(roads["speed_kmh"], sp), start=1):
                if v is not None and not (isinstance(v, float) and math.isnan(v)) and (
                        pd.isna(x) or not math.isfinite(x) or x <= 0):
                    problems.append(f'{rlabel} feature {i}, column speed_kmh: "{v}" is not a '
                                    f"positive speed")

    if problems:
        raise DataError(problems)

    schools = schools.reset_index(drop=True)
    if teachers is not None:
        teachers = derive_teacher_flags(teachers.reset_index(drop=True), settings)
    return District(name=str(meta.get("name")), schools=schools, teachers=teachers,
                    units=units, roads=roads, boundary=boundary, standard=str(standard),
                    settings=settings, county=county, b_scores=b_scores, veto=veto,
                    path=folder)


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
    ids = set(s["school_id"])
    lon, lat = s["lon"].to_numpy(float), s["lat"].to_numpy(float)
    wgs = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)  # not-a-rule: latitude range
    out = _outside(boundary, np.where(wgs, lon, np.nan), np.where(wgs, lat, np.nan))
    for k, r in enumerate(s.index):
        if np.isnan(lon[k]) or np.isnan(lat[k]):
            problems.append(f"{label} row {r}, column {'lon' if np.isnan(lon[k]) else 'lat'}: "
                            f"coordinate is missing")
        elif not wgs[k]:
            col = "lon" if abs(lon[k]) > 180 else "lat"
            problems.append(f"{label} row {r}, column {col}: ({lon[k]}, {lat[k]}) is not a WGS84 "
                            f"longitude/latitude")
        elif out[k]:
            problems.append(f"{label} row {r}, column lon: ({lon[k]}, {lat[k]}) is outside the "
                            f"district boundary")
    for st in ("primary", "junior"):
        n = s[f"students_{st}"]
        has = s["type"].map(lambda t, st=st: st in TYPE_STAGES.get(t, (st,)))
        for r in s.index[(n > 0) & ~has]:
            problems.append(f"{label} row {r}, column students_{st}: a {s.at[r, 'type']} school "
                            f"has no {st} stage but {n[r]} {st} pupils")
        for r in s.index[(n > 0) & (s[f"classes_{st}"] == 0)]:
            problems.append(f"{label} row {r}, column classes_{st}: 0 classes for "
                            f"{n[r]} {st} pupils")
    pid = s["parent_id"]
    for r in s.index[(pid != "") & ~pid.isin(list(ids))]:
        problems.append(f'{label} row {r}, column parent_id: "{pid[r]}" is not a school '
                        f"in {label}")


def _check_teachers(t: pd.DataFrame, s: pd.DataFrame, slabel: str, tlabel: str,
                    problems: list[str]) -> None:
    stages = {}
    for sid, typ in zip(s["school_id"], s["type"]):
        if typ in TYPE_STAGES:
            stages[sid] = ("primary", "junior") if typ == "special" else TYPE_STAGES[typ]
    known = t["school_id"].isin(list(stages))
    for r in t.index[~known]:
        problems.append(f'{tlabel} row {r}, column school_id: "{t.at[r, "school_id"]}" is not a '
                        f"school in {slabel}")
    pairs = {(sid, st) for sid, sts in stages.items() for st in sts}
    ok = pd.Series([(a, b) in pairs for a, b in zip(t["school_id"], t["stage"])], index=t.index)
    for r in t.index[known & ~ok & (t["stage"] != "")]:
        problems.append(f"{tlabel} row {r}, column stage: school {t.at[r, 'school_id']} does not "
                        f"teach the {t.at[r, 'stage']} stage")


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

def _table_out(df: pd.DataFrame, cols: list[Col], lang: str) -> pd.DataFrame:
    keep = [c for c in cols if c.name in df.columns]
    out = pd.DataFrame({(c.zh if lang == "zh" else c.name): df[c.name] for c in keep})
    for c in keep:
        h = c.zh if lang == "zh" else c.name
        if c.kind == "bool":
            out[h] = df[c.name].map(lambda v: "" if pd.isna(v) else ("true" if v else "false"))
        elif c.kind == "float":
            out[h] = df[c.name].map(lambda v: "" if pd.isna(v) else repr(float(v)))
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
            "county": dict(district.county), "b_scores": {int(k): list(v) for k, v in district.b_scores.items()},
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
