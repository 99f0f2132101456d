"""Faithful reading (issue 12, items 5, 6, 7, 12, 14, 15) and the single-read fast
paths of the loader (issue 18, item 1).

Each defect test failed on the loader before this change; the names are listed
in the closing note of the issue.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from conftest import TINY_ROADS, TINY_SCHOOLS, TINY_YAML, write_tiny
from openpyxl import Workbook

from planner.core.rules import STANDARDS_DIR, load_rules
from planner.io.load import DataError, load_district
from planner.io.yamlsafe import MAX_BYTES, load_yaml

ROWS = list(csv.reader(io.StringIO(TINY_SCHOOLS)))
ROOT = Path(__file__).resolve().parents[1]


def _problems(folder) -> list[str]:
    with pytest.raises(DataError) as e:
        load_district(folder)
    return e.value.problems


def _xlsx(path: Path, rows=ROWS, *, hidden_first: bool = False, cells: dict | None = None,
          title: str | None = None) -> None:
    wb = Workbook()
    ws = wb.active
    if hidden_first:
        ws.title = "旧表"
        ws.append(["school_id", "name"])
        ws.append(["X1", "不该读到的学校"])
        ws.sheet_state = "hidden"
        ws = wb.create_sheet(title or "Sheet2")
    elif title:
        ws.title = title
    for r in rows:
        ws.append([(int(v) if v.isdigit() else v) or None for v in r])
    for ref, v in (cells or {}).items():
        ws[ref] = v
    wb.save(path)


def _rewrite_sheet(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["xl/worksheets/sheet1.xml"] = edit(files["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in files.items():
            z.writestr(n, b)


def _xlsx_district(tmp_path: Path, name: str, **kw) -> Path:
    d = write_tiny(tmp_path / name)
    (d / "schools.csv").unlink()
    _xlsx(d / "schools.xlsx", **kw)
    return d


# ------------------------------------------------------------------ XLSX formulas

def test_formula_without_saved_value_is_an_error_naming_the_cell(tmp_path):
    # openpyxl writes formulas without a cached value: "=600*2" pupils read as 0 before
    d = _xlsx_district(tmp_path, "f", cells={"J2": "=600*2"})
    p = _problems(d)
    assert p == [('schools.xlsx row 2, column students_primary: cell J2 of sheet "Sheet" holds '
                 'the formula =600*2 with no saved value (open and save the file in Excel, '
                 'or type the value)')]


def test_formula_with_saved_value_reads_the_value(tmp_path):
    d = _xlsx_district(tmp_path, "f", cells={"J2": "=600*2"})
    # what Excel saves: the formula and its value
    _rewrite_sheet(d / "schools.xlsx", lambda x: x.replace(b"<f>600*2</f><v />",
                                                           b"<f>600*2</f><v>1200</v>"))
    s = load_district(d).schools
    assert s.loc[0, "students_primary"] == 1200
    assert s["students_primary"].sum() == 1200 + 166 + 40


def test_formula_in_a_column_not_read_is_kept_as_its_text(tmp_path):
    rows = [ROWS[0] + ["备注"]] + [r + [""] for r in ROWS[1:]]
    d = _xlsx_district(tmp_path, "f", rows=rows, cells={"AB3": "=1+1"})
    s = load_district(d).schools
    assert s.loc[1, "备注"] == "=1+1"


def test_formula_with_empty_text_result_is_an_empty_cell(tmp_path):
    d = _xlsx_district(tmp_path, "f", cells={"G2": '=IF(1=1,"","x")'})
    _rewrite_sheet(d / "schools.xlsx", lambda x: re.sub(
        rb'<c r="G2"><f>(.*?)</f><v ?/>', rb'<c r="G2" t="str"><f>\1</f><v></v>', x))
    assert load_district(d).schools.loc[0, "parent_id"] == ""


def test_closures_formula_without_value_is_refused(tmp_path):
    from planner.io.load import _read_xlsx
    p = tmp_path / "closures.xlsx"
    _xlsx(p, rows=[["school_id", "receiving_school_id", "share"], ["S4", "S1", "1"]],
          cells={"C2": "=1/2"})
    with pytest.raises(DataError, match=r"closures.xlsx row 2, column share: cell C2"):
        _read_xlsx(p)


# ------------------------------------------------------------------ XLSX extent, sheets

def test_stale_dimension_record_does_not_cut_the_table(tmp_path):
    # the sheet says A1:AA2 (header and one school); every row must still be read
    d = _xlsx_district(tmp_path, "dim")
    _rewrite_sheet(d / "schools.xlsx",
                   lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:AA2"', x))
    s = load_district(d).schools
    assert list(s["school_id"]) == ["S1", "S2", "S3", "S4"]


def test_dimension_narrower_than_the_data_keeps_every_column(tmp_path):
    d = _xlsx_district(tmp_path, "dim")
    _rewrite_sheet(d / "schools.xlsx",
                   lambda x: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C5"', x))
    s = load_district(d).schools
    assert s.loc[0, "training_funds_yuan"] == 40000


def test_hidden_first_sheet_is_not_read(tmp_path):
    d = _xlsx_district(tmp_path, "hid", hidden_first=True)
    s = load_district(d).schools
    assert list(s["school_id"]) == ["S1", "S2", "S3", "S4"]


def test_sheet_named_like_the_table_is_read(tmp_path):
    d = write_tiny(tmp_path / "named")
    (d / "schools.csv").unlink()
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表说明", "请勿修改"])
    wb.active.append(["一", "二"])
    ws = wb.create_sheet("学校")
    for r in ROWS:
        ws.append([(int(v) if v.isdigit() else v) or None for v in r])
    wb.save(d / "schools.xlsx")
    assert len(load_district(d).schools) == 4


def test_two_files_for_one_table_is_an_error_naming_both(tmp_path):
    d = write_tiny(tmp_path / "two")
    _xlsx(d / "schools.xlsx")
    assert _problems(d) == [("schools.csv row -, column -: the schools table is given twice, "
                            "as schools.csv and as schools.xlsx; keep one")]


def test_two_files_for_an_optional_table_or_the_roads(tmp_path):
    d = write_tiny(tmp_path / "two")
    _xlsx(d / "teachers.xlsx", rows=[["teacher_id"], ["T1"]])
    shutil.copy(d / "roads.geojson", d / "roads.json")
    p = _problems(d)
    assert "teachers.csv row -, column -: the teachers table is given twice, as teachers.csv " \
           "and as teachers.xlsx; keep one" in p
    assert "roads.geojson feature -, column -: the roads are given twice, as roads.geojson " \
           "and as roads.json; keep one" in p


# ------------------------------------------------------------------ YAML

def test_duplicate_key_in_district_yaml_names_key_and_line(tmp_path):
    y = TINY_YAML + "county:\n  unified_standards: false\n"
    p = _problems(write_tiny(tmp_path / "d", yaml_text=y))
    assert p == [("district.yaml line 14, key county: the key county is given twice in one "
                 "mapping (first at line 5)")]


def test_duplicate_nested_key_names_its_path():
    text = "name: x\nsettings:\n  school_rule: hunan\n  school_rule: national\n"
    with pytest.raises(DataError) as e:
        load_yaml(text, "scenario.yaml")
    assert e.value.problems == [("scenario.yaml line 4, key settings.school_rule: the key "
                                "school_rule is given twice in one mapping (first at line 3)")]


def test_same_key_spelled_twice_is_a_duplicate():
    # +8 and 8 are one integer key (b_scores: {8: ..., +8: ...} would lose one)
    with pytest.raises(DataError, match=r"line 2, key \+8: the key \+8 is given twice"):
        load_yaml("8: [1]\n+8: [2]\n", "d.yaml")


def test_merge_keys_may_be_overridden():
    assert load_yaml("a: &a {x: 1, y: 2}\nb:\n  <<: *a\n  x: 3\n", "d.yaml") == \
        {"a": {"x": 1, "y": 2}, "b": {"x": 3, "y": 2}}


def _bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_fails_fast_with_one_line(tmp_path):
    text = TINY_YAML + _bomb(9)
    assert len(_bomb(9)) < 600
    d = write_tiny(tmp_path / "d", yaml_text=text)
    t = time.perf_counter()
    p = _problems(d)
    assert time.perf_counter() - t < 5
    assert len(p) == 1 and len(p[0]) < 300, p
    assert p[0].startswith("district.yaml line 22, key a8: its aliases expand to ")
    assert "alias bomb" in p[0]


def test_alias_bomb_in_any_yaml_and_small_aliases_are_fine():
    with pytest.raises(DataError, match="alias bomb"):
        load_yaml(_bomb(8), "scenario.yaml")
    assert load_yaml("a: &a [1, 2]\nb: *a\n", "s.yaml") == {"a": [1, 2], "b": [1, 2]}


def test_recursive_alias_is_refused():
    with pytest.raises(DataError, match=r"s.yaml line 1, key a\[1\]: an alias refers to a node"):
        load_yaml("a: &a [1, *a]\n", "s.yaml")


def test_huge_yaml_is_refused_without_reading_it(tmp_path):
    p = tmp_path / "district.yaml"
    p.write_bytes(b"name: x\n" + b"#" * MAX_BYTES)
    with pytest.raises(DataError) as e:
        load_yaml(p, "district.yaml")
    assert e.value.problems == [(f"district.yaml line -, key -: the file is {MAX_BYTES + 8:,} "
                                f"bytes; a YAML file is read up to {MAX_BYTES:,} bytes")]


def test_yaml_errors_keep_their_line_and_never_echo_unbounded_input(tmp_path):
    long = "x" * 100_000
    y = TINY_YAML.replace("school_rule: hunan", f"school_rule: {long}")
    p = _problems(write_tiny(tmp_path / "d", yaml_text=y + f"{'k' * 1000}: 1\n"))
    assert all(len(x) < 400 for x in p), [len(x) for x in p]
    assert len(p) == 2
    assert p[0].startswith("district.yaml key kkkk") and "unknown key" in p[0]
    assert p[1].startswith('district.yaml key settings.school_rule: "xxxx')
    with pytest.raises(DataError, match=r"^x.yaml line 2, key -: not valid YAML"):
        load_yaml("a: 1\n  b: 2\n", "x.yaml")
    with pytest.raises(DataError, match=r"^x.yaml line 2, key -: not UTF-8 text$"):
        load_yaml(b"a: 1\nb: \xff\n", "x.yaml")


def test_yaml_reader_matches_safe_load_on_the_project_files():
    files = [*STANDARDS_DIR.glob("*.yaml"), *(ROOT / "scenarios").glob("*.yaml"),
             ROOT / "geodata/yunxi/district.yaml"]
    assert len(files) >= 4
    for p in files:
        assert load_yaml(p, p.name) == yaml.safe_load(p.read_text(encoding="utf-8")), p


def test_long_cell_values_are_cut_in_messages(tmp_path):
    bad = TINY_SCHOOLS.replace("S2,城关中学,junior", "S2,城关中学," + "z" * 10_000)
    p = _problems(write_tiny(tmp_path / "d", schools=bad, teachers=None))
    assert len(p) == 1 and len(p[0]) < 400
    assert p[0].startswith('schools.csv row 3, column type: "zzzz')


# ------------------------------------------------------------------ messages that pointed wrong

def test_gbk_row_in_a_utf8_csv_is_reported_at_its_row(tmp_path):
    d = write_tiny(tmp_path / "d")
    lines = TINY_SCHOOLS.splitlines(True)
    (d / "schools.csv").write_bytes(b"".join(
        x.encode("gbk") if i == 3 else x.encode("utf-8") for i, x in enumerate(lines)))
    assert _problems(d) == [("schools.csv row 4, column -: this row is not UTF-8 text but the "
                            "rest of the file is (row 2); save the whole file as UTF-8")]


def test_gbk_file_still_loads_and_undecodable_bytes_name_their_row(tmp_path):
    d = write_tiny(tmp_path / "d")
    (d / "schools.csv").write_bytes(TINY_SCHOOLS.encode("gbk"))
    assert load_district(d).schools.loc[0, "name"] == "城关小学"
    data = TINY_SCHOOLS.encode("gbk").split(b"\n")
    data[2] = data[2] + b"\xff\xff"
    (d / "schools.csv").write_bytes(b"\n".join(data))
    assert _problems(d) == ["schools.csv row 3, column -: cannot be read as UTF-8 or GBK text"]


def test_gbk_file_with_a_row_that_is_also_valid_utf8_loads(tmp_path):
    # 伟业 in GBK (ce b0 d2 b5) is also valid UTF-8; the GBK header decides
    d = write_tiny(tmp_path / "d")
    zh = TINY_SCHOOLS.replace("school_id,name,", "学校代码,学校名称,").replace("城关中学", "伟业")
    (d / "schools.csv").write_bytes(zh.encode("gbk"))
    assert "伟业".encode("gbk").decode("utf-8")
    assert load_district(d).schools.loc[1, "name"] == "伟业"


def test_one_point_line_is_reported_at_its_feature(tmp_path):
    d = write_tiny(tmp_path / "d")
    roads = json.loads(json.dumps(TINY_ROADS))
    roads["features"][1]["geometry"]["coordinates"] = [[113.02, 29.02]]
    (d / "roads.geojson").write_text(json.dumps(roads), encoding="utf-8")
    assert _problems(d) == [("roads.geojson feature 2, column geometry: a line needs at least "
                            "2 points (this one has 1)")]


def test_one_point_line_in_a_geopackage_is_reported_at_its_feature(tmp_path):
    import struct

    import pyogrio

    from planner.io.load import save_district
    d = load_district(write_tiny(tmp_path / "d"))
    g = save_district(d, tmp_path / "g", fmt="gpkg") / "district.gpkg"
    # a LineString of one point as WKB: GEOS refuses to build it
    wkb = np.array([shapely.to_wkb(x) for x in d.roads.geometry], dtype=object)
    wkb[1] = struct.pack("<BII2d", 1, 2, 1, 113.02, 29.02)
    pyogrio.raw.write(g, geometry=wkb, field_data=[d.roads["name"].to_numpy(dtype=object)],
                      fields=["name"], layer="roads", driver="GPKG", geometry_type="LineString",
                      crs="EPSG:4326", append=False)
    p = _problems(g)
    assert len(p) == 1 and p[0].startswith("district.gpkg:roads feature 2, column geometry: "
                                           "not a valid geometry"), p


# ------------------------------------------------------------------ standard as a path

def test_standard_may_be_a_path_relative_to_the_district(tmp_path, monkeypatch):
    d = write_tiny(tmp_path / "d", yaml_text=TINY_YAML.replace("standard: hunan-2023",
                                                                "standard: my-variant.yaml"))
    text = (STANDARDS_DIR / "hunan-2023.yaml").read_text(encoding="utf-8")
    (d / "my-variant.yaml").write_text(text.replace("name: hunan-2023", "name: my-variant"),
                                       encoding="utf-8")
    monkeypatch.chdir(tmp_path)         # not the district folder
    dist = load_district(d)
    assert dist.standard == str((d / "my-variant.yaml").resolve())
    assert dist.rules == load_rules(d / "my-variant.yaml")


def test_missing_standard_path_is_an_error(tmp_path):
    d = write_tiny(tmp_path / "d", yaml_text=TINY_YAML.replace("standard: hunan-2023",
                                                                "standard: nowhere.yaml"))
    p = _problems(d)
    assert len(p) == 1 and p[0].startswith('district.yaml key standard: "')
    assert "nowhere.yaml" in p[0] and "is not a known standard" in p[0]


# ------------------------------------------------------------------ control characters

def test_control_characters_in_names_are_kept_as_data(tmp_path):
    name = "\x1b[31m城关\x07小学\x1b[0m"
    d = write_tiny(tmp_path / "d", schools=TINY_SCHOOLS.replace("城关小学", name))
    assert load_district(d).schools.loc[0, "name"] == name


# ------------------------------------------------------------------ fast paths = slow paths

def _reference_text(path: Path, encoding: str) -> pd.DataFrame:
    """What the loader read before (every cell stripped by pandas)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, header=None, encoding=encoding)
    df = df.map(str.strip)
    body = df.iloc[1:]
    body = body.loc[~(body == "").all(axis=1)]
    body.index = body.index + 1
    body.columns = list(df.iloc[0])
    return body


@pytest.mark.parametrize("variant", ["plain", "spaces", "crlf", "fullwidth", "gbk", "quoted",
                                     "lone-cr"])
def test_csv_reading_strips_exactly_once(tmp_path, variant):
    from planner.io.load import _read_csv
    text = TINY_SCHOOLS + ",,,,\n"
    if variant == "spaces":
        text = text.replace(",城关小学,", ",  城关小学 ,").replace(",600,", ",\t600 ,")
    elif variant == "fullwidth":
        text = text.replace(",城关小学,", ",\u3000城关小学\u00a0,")
    elif variant == "crlf":
        text = text.replace("\n", "\r\n")
    elif variant == "quoted":     # a line end inside a quoted cell, at its end
        text = text.replace(",城关小学,", ',"城关小学\n",')
    elif variant == "lone-cr":
        text = text.replace(",城关小学,", ",城关小学\r,")
    p = tmp_path / "schools.csv"
    p.write_bytes(text.encode("gbk" if variant == "gbk" else "utf-8"))
    got = _read_csv(p)
    ref = _reference_text(p, "gbk" if variant == "gbk" else "utf-8")
    assert list(got.columns) == list(ref.columns)
    assert got.to_numpy().tolist() == ref.to_numpy().tolist()
    if variant != "lone-cr":        # pandas ends a line at a lone \r, as it did before
        assert list(got.index) == [2, 3, 4, 5]
        assert got.loc[2, "name"] == "城关小学"


@pytest.mark.parametrize("cells", [
    ["1", "2", "-0", "007"], ["1.5", "-0", "2"], ["1,000", "2"], ["1e3", "2"], ["+5", ".5", "5."],
    ["99999999999999999999", "1"], ["0.1234567890123456789", "3"], ["１２", "3"], ["1_000"],
    ["nan", "1"], ["inf"], ["--5"], ["1.2.3"], ["0x1F"]])
def test_numbers_are_read_as_pandas_reads_them(cells):
    from planner.io.load import _numbers
    raw = np.array(cells + [""], dtype=object)
    got = _numbers(raw, raw == "")
    want = pd.to_numeric(pd.Series(cells).str.replace(",", "", regex=False),
                         errors="coerce").astype(float).to_numpy()
    np.testing.assert_array_equal(got[:-1], want)
    assert np.array_equal(np.signbit(got[:-1]), np.signbit(want))
    assert np.isnan(got[-1])


def _same_as_gdal(path: Path) -> bool:
    """The single-read GeoJSON reader gives what GDAL gives (True), or leaves the
    file to GDAL (False)."""
    import planner.io.load as L
    problems: list[str] = []
    got = L._load_geojson(path, problems)
    assert not problems
    fast = L._geojson_lines(*got)
    ref = gpd.read_file(path)
    if fast is None:
        return False
    assert list(fast.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(pd.DataFrame(fast.drop(columns="geometry")),
                                  pd.DataFrame(ref.drop(columns="geometry")), check_dtype=True)
    assert fast.crs == ref.crs
    assert (shapely.to_wkb(fast.geometry.values) == shapely.to_wkb(ref.geometry.values)).all()
    return True


def test_roads_read_once_are_what_gdal_reads(tmp_path):
    assert _same_as_gdal(ROOT / "geodata/yunxi/roads.geojson")
    from planner.io.synth import synth_district
    d = synth_district(300, 3, tmp_path / "s")
    assert _same_as_gdal(d / "roads.geojson")


PROPS = [
    [{"a": 1}, {"a": 2}], [{"a": 1}, {"a": 2 ** 40}], [{"a": 1}, {"a": None}], [{"a": 1}, {}],
    [{"a": 1}, {"a": 2.5}], [{"a": True}, {"a": False}], [{"a": True}, {"a": None}],
    [{"a": "x"}, {"a": None}], [{"a": "x"}, {"a": 5}], [{"a": "2024-01-01"}, {"a": "x"}],
    [{"a": "12:30"}, {"a": None}], [{"a": None}, {"a": None}], [{"a": [1, 2]}, {"a": None}],
    [{"a": {"x": 1}}, {"a": None}], [{"b": 1}, {"a": 1, "b": 2}], [None, {"a": 1}],
    [{"a": 1, "b": "主路"}, {"a": 2, "b": "村道"}], [{"a": -5}, {"a": 2 ** 31}],
    [{"a": 1e300}, {"a": 1}], [{"Name": "x", "name": "y"}, {"Name": "x", "name": "y"}],
    [{}, {}], [None, None], [{"a": 2 ** 70}, {"a": 1}],
]


#: the cases read without GDAL (the others are left to it)
FAST = {0, 1, 2, 3, 4, 5, 7, 11, 15, 16, 17, 18, 20, 21}


@pytest.mark.filterwarnings("ignore:Could not parse column")     # geopandas, on mixed text
@pytest.mark.parametrize("k", range(len(PROPS)))
def test_property_columns_are_typed_as_gdal_types_them(tmp_path, k):
    props = PROPS[k]
    line = {"type": "LineString", "coordinates": [[113.02, 29.02], [113.05, 29.05]]}
    multi = {"type": "MultiLineString", "coordinates": [[[113.0, 29.0], [113.01, 29.0]],
                                                        [[113.02, 29.0], [113.03, 29.01]]]}
    feats = [{"type": "Feature", "properties": p, "geometry": g}
             for p, g in zip(props, [line, multi])]
    feats.append({"type": "Feature", "properties": props[0], "geometry": None})
    p = tmp_path / "roads.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats},
                            ensure_ascii=False), encoding="utf-8")
    assert _same_as_gdal(p) == (k in FAST)
