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

from .district import (SCHOOL_TYPES, TYPE_STAGES, District, Settings,
                       derive_teacher_flags)


class DataError(Exception):
    """Invalid district data; ``problems`` holds one message per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


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
    if not text.strip():
        raise DataError([f"{path.name} row 1, column -: the file is empty"])
    try:
        df = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False,
                         skip_blank_lines=True)
    except pd.errors.ParserError as e:
        raise DataError([f"{path.name} row -, column -: not a valid CSV table ({e})"]) from None
    return _drop_blank_rows(df)


def _read_xlsx(path: Path) -> pd.DataFrame:
    try:
        df = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl")
    except Exception as e:  # openpyxl raises many kinds
        raise DataError([f"{path.name} row -, column -: not a readable XLSX workbook ({e})"]) from None
    df.columns = ["" if str(c).startswith("Unnamed:") else str(c) for c in df.columns]
    return _drop_blank_rows(df)


def _drop_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    df = df.fillna("")
    df = df.map(lambda v: str(v).strip())
    blank = (df == "").all(axis=1).to_numpy()
    # rows keep their spreadsheet number: header is row 1
    df.index = pd.RangeIndex(2, 2 + len(df))
    return df.loc[~blank]


def _read_table(folder: Path, stem: str, gpkg: Path | None) -> tuple[pd.DataFrame | None, str, Any]:
    """Return (attribute table as text, file label, geometry or None)."""
    if gpkg is not None:
        import pyogrio
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem not in layers:
            return None, f"{gpkg.name}:{stem}", None
        gdf = pyogrio.read_dataframe(gpkg, layer=stem)
        geom = gdf.geometry if "geometry" in gdf and hasattr(gdf, "geometry") and gdf.geometry is not None else None
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


def _rename_headers(df: pd.DataFrame, cols: list[Col], label: str, problems: list[str]) -> pd.DataFrame:
    zh = {c.zh: c.name for c in cols}
    names = {c.name for c in cols}
    new, seen = [], {}
    for i, h in enumerate(df.columns):
        h2 = str(h).replace("\ufeff", "").strip()
        key = zh.get(h2, h2)
        if key.lower() in names:
            key = key.lower()
        if key in seen and key in names:
            problems.append(f"{label} row 1, column {h2}: column {key} is given twice "
                            f"(also as {seen[key]})")
            key = f"__dup_{i}"
        seen.setdefault(key, h2)
        new.append(key if key else f"__blank_{i}")
    df = df.copy()
    df.columns = new
    for c in cols:
        if c.required and c.name not in df.columns:
            problems.append(f"{label} row 1, column {c.name}: required column is missing "
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
    if not data.get("name"):
        problems.append(f"{label} key name: the district name is missing")
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
        if k in ("rotation_min_years", "rotation_max_age"):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                problems.append(f'{label} key settings.{k}: "{v}" is not a non-negative number')
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
                                              and x >= 0 for x in v):
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
    """Read roads or boundary: (GeoDataFrame or None, label)."""
    import geopandas as gpd
    import pyogrio
    if gpkg is not None:
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        if stem in layers:
            return gpd.read_file(gpkg, layer=stem), f"{gpkg.name}:{stem}"
    for ext in (".gpkg", ".geojson", ".json"):
        p = folder / f"{stem}{ext}"
        if p.exists():
            try:
                gdf = gpd.read_file(p)
            except Exception as e:
                problems.append(f"{p.name} feature -, column geometry: cannot be read ({e})")
                return None, p.name
            return gdf, p.name
    return None, f"{stem}.geojson"


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
    sraw, slabel, sgeom = _read_table(folder, "schools", gpkg)
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
    traw, tlabel, _ = _read_table(folder, "teachers", gpkg)
    if traw is not None:
        traw = _rename_headers(traw, TEACHER_COLUMNS, tlabel, problems)
        teachers = _parse_columns(traw, TEACHER_COLUMNS, tlabel, problems)
        if all(c.name in traw.columns for c in TEACHER_COLUMNS if c.required):
            _check_unique(teachers, "teacher_id", tlabel, problems)
            _check_teachers(teachers, schools, slabel, tlabel, problems)

    # units
    units = None
    uraw, ulabel, ugeom = _read_table(folder, "units", gpkg)
    if uraw is None and (folder / "units.gpkg").exists():
        uraw, ulabel, ugeom = _read_table(folder, "units", folder / "units.gpkg")
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
                        pd.isna(x) or x <= 0):
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
    wgs = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    out = _outside(boundary, np.where(wgs, lon, np.nan), np.where(wgs, lat, np.nan))
    for k, r in enumerate(s.index):
        if np.isnan(lon[k]) or np.isnan(lat[k]):
            problems.append(f"{label} row {r}, column {'lon' if np.isnan(lon[k]) else 'lat'}: "
                            f"coordinate is missing")
        elif not wgs[k]:
            problems.append(f"{label} row {r}, column lon: ({lon[k]}, {lat[k]}) is not a WGS84 "
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
