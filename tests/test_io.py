"""Loading districts: every format and header language, and every validation
message on its wording (file, row, column)."""

import pandas as pd
import pytest
from conftest import TINY_SCHOOLS, TINY_TEACHERS, TINY_UNITS, TINY_YAML, write_tiny

from planner.io.load import DataError, load_district, save_district


def _problems(folder):
    with pytest.raises(DataError) as e:
        load_district(folder)
    return e.value.problems


def _same(a, b):
    pd.testing.assert_frame_equal(a.schools, b.schools, check_dtype=True)
    cols = [c for c in a.teachers.columns]
    pd.testing.assert_frame_equal(a.teachers[cols], b.teachers[cols])
    assert list(a.units["unit_id"]) == list(b.units["unit_id"])
    assert [g.wkt for g in a.units.geometry] == [g.wkt for g in b.units.geometry]
    assert a.boundary.equals(b.boundary)
    assert len(a.roads) == len(b.roads)
    assert (a.name, a.settings, a.county, a.b_scores, a.veto) == \
        (b.name, b.settings, b.county, b.b_scores, b.veto)


def test_tiny_loads_typed(tiny_dir):
    d = load_district(tiny_dir)
    s = d.schools
    assert list(s["school_id"]) == ["S1", "S2", "S3", "S4"]
    assert s["students_primary"].dtype == "int64"
    # 是/否 and 1/0 booleans
    assert bool(s.loc[1, "public"]) and not bool(s.loc[1, "boarding"])
    assert bool(s.loc[2, "public"])
    # an empty float cell is "no data"
    assert pd.isna(s.loc[3, "music_room_min_m2"])
    t = d.teachers.set_index("teacher_id")
    # T03 primary with secondary degree: not qualified; T05 junior associate: not qualified
    assert not t.loc["T03", "qualified"] and not t.loc["T05", "qualified"]
    assert t.loc["T02", "qualified"]  # primary + associate
    # eligibility: 6+ years, under 55, full-time, not exempt
    assert t.loc["T01", "eligible"] and not t.loc["T02", "eligible"]   # 3 years
    assert not t.loc["T06", "eligible"]    # age 56
    assert not t.loc["T07", "eligible"]    # exempt 孕期
    assert not t.loc["T08", "eligible"]    # not full-time
    c = d.teacher_counts()
    # S1 primary: T01 (bachelor, county), T02 (体育 associate), T03 (secondary)
    assert c.loc[("S1", "primary")].tolist() == [3, 2, 1, 1]
    # S3 is nine-year: one primary (T06 美术) and one junior (T07) teacher
    assert c.loc[("S3", "primary"), "pe_art"] == 1 and c.loc[("S3", "junior"), "backbone"] == 1
    # S4 has only a part-time teacher: counted nowhere
    assert c.loc[("S4", "primary")].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("fmt,lang", [("csv", "en"), ("csv", "zh"), ("xlsx", "en"),
                                      ("xlsx", "zh"), ("gpkg", "en")])
def test_round_trip(tiny_dir, tmp_path, fmt, lang):
    d = load_district(tiny_dir)
    out = save_district(d, tmp_path / f"rt_{fmt}_{lang}", fmt=fmt, lang=lang)
    d2 = load_district(out)
    _same(d, d2)


def test_gbk_csv_and_bom(tiny_dir):
    d = load_district(tiny_dir)
    (tiny_dir / "schools.csv").write_bytes(TINY_SCHOOLS.encode("gbk"))
    (tiny_dir / "teachers.csv").write_bytes(b"\xef\xbb\xbf" + TINY_TEACHERS.encode("utf-8"))
    d2 = load_district(tiny_dir)
    assert list(d2.schools["name"]) == list(d.schools["name"])
    assert list(d2.teachers["teacher_id"]) == list(d.teachers["teacher_id"])


def test_chinese_headers_and_values(tmp_path):
    zh = (TINY_SCHOOLS.replace("school_id", "学校代码").replace(",name,", ",学校名称,")
          .replace("primary,urban", "小学,城区"))
    d = load_district(write_tiny(tmp_path / "zh", schools=zh))
    assert d.schools.loc[0, "type"] == "primary" and d.schools.loc[0, "area_type"] == "urban"


def test_gpkg_single_file(tiny_dir, tmp_path):
    d = load_district(tiny_dir)
    folder = save_district(d, tmp_path / "g", fmt="gpkg")
    d2 = load_district(folder / "district.gpkg")
    _same(d, d2)


def test_trailing_blank_rows_ignored(tiny_dir):
    (tiny_dir / "schools.csv").write_text(TINY_SCHOOLS + ",,,,,,,,,,\n\n", encoding="utf-8")
    assert len(load_district(tiny_dir).schools) == 4


# ---------------------------------------------------------------- validation

def test_teacher_at_unknown_school(tmp_path):
    bad = TINY_TEACHERS.replace("T08,吴八,S4", "T08,吴八,Y099")
    p = _problems(write_tiny(tmp_path / "d", teachers=bad))
    # T08 is on data row 8 -> spreadsheet row 9
    assert 'teachers.csv row 9, column school_id: "Y099" is not a school in schools.csv' in p


def test_teacher_stage_not_taught(tmp_path):
    bad = TINY_TEACHERS.replace("T04,赵四,S2,junior", "T04,赵四,S2,primary")
    p = _problems(write_tiny(tmp_path / "d", teachers=bad))
    assert "teachers.csv row 5, column stage: school S2 does not teach the primary stage" in p


def test_missing_required_column(tmp_path):
    bad = "\n".join(",".join(x for i, x in enumerate(line.split(",")) if i != 8)
                    for line in TINY_SCHOOLS.splitlines())
    p = _problems(write_tiny(tmp_path / "d", schools=bad))
    assert "schools.csv row 1, column lat: required column is missing (header lat or 纬度)" in p


def test_unknown_enum_lists_allowed(tmp_path):
    bad = TINY_SCHOOLS.replace("S2,城关中学,junior", "S2,城关中学,middle")
    p = _problems(write_tiny(tmp_path / "d", schools=bad))
    assert any(x.startswith('schools.csv row 3, column type: "middle" is not one of primary 小学, '
                            'junior 初中, nine_year') for x in p), p


def test_non_numeric_negative_fractional(tmp_path):
    bad = (TINY_SCHOOLS.replace("113.02,29.02,600", "113.02,29.02,六百")
           .replace("0,400,0,8", "0,-400,0,8").replace("166,210,6,6", "166,210,6.5,6"))
    p = _problems(write_tiny(tmp_path / "d", schools=bad))
    assert 'schools.csv row 2, column students_primary: "六百" is not a number' in p
    assert "schools.csv row 3, column students_junior: -400 is negative" in p
    assert "schools.csv row 4, column classes_primary: 6.5 is not a whole number" in p


def test_duplicate_ids(tmp_path):
    bad = TINY_SCHOOLS.replace("S4,山背教学点", "S2,山背教学点").replace(",S1,113.03", ",,113.03")
    p = _problems(write_tiny(tmp_path / "d", schools=bad, teachers=None))
    assert 'schools.csv row 5, column school_id: "S2" is used again (first at row 3)' in p


def test_pupils_without_classes(tmp_path):
    bad = TINY_SCHOOLS.replace("166,210,6,6", "166,210,0,6")
    p = _problems(write_tiny(tmp_path / "d", schools=bad))
    assert "schools.csv row 4, column classes_primary: 0 classes for 166 primary pupils" in p


def test_coordinates_outside_boundary(tmp_path):
    bad = TINY_SCHOOLS.replace("113.05,29.05", "113.55,29.05")
    p = _problems(write_tiny(tmp_path / "d", schools=bad))
    assert "schools.csv row 3, column lon: (113.55, 29.05) is outside the district boundary" in p
    badu = TINY_UNITS.replace("113.08,29.07", "112.5,29.07")
    p = _problems(write_tiny(tmp_path / "e", units=badu))
    assert "units.csv row 3, column lon: (112.5, 29.07) is outside the district boundary" in p


def test_road_not_a_line(tiny_dir):
    import json
    roads = json.loads((tiny_dir / "roads.geojson").read_text(encoding="utf-8"))
    roads["features"].append({"type": "Feature", "properties": {},
                              "geometry": {"type": "Point", "coordinates": [113.05, 29.05]}})
    (tiny_dir / "roads.geojson").write_text(json.dumps(roads), encoding="utf-8")
    p = _problems(tiny_dir)
    assert "roads.geojson feature 3, column geometry: Point is not a line" in p


def test_all_problems_reported_at_once(tmp_path):
    bad_s = TINY_SCHOOLS.replace("S2,城关中学,junior", "S2,城关中学,middle")
    bad_t = TINY_TEACHERS.replace("T08,吴八,S4", "T08,吴八,Y099")
    p = _problems(write_tiny(tmp_path / "d", schools=bad_s, teachers=bad_t))
    assert len(p) >= 2


def test_bad_yaml_keys(tmp_path):
    y = TINY_YAML.replace("school_rule: hunan", "school_rule: strict\n  colour: red")
    p = _problems(write_tiny(tmp_path / "d", yaml_text=y))
    assert 'district.yaml key settings.school_rule: "strict" is not one of hunan, national' in p
    assert any(x.startswith("district.yaml key settings.colour: unknown setting; allowed:") for x in p)


def test_missing_folder_and_schools(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_district(tmp_path / "nowhere")
    d = write_tiny(tmp_path / "d")
    (d / "schools.csv").unlink()
    p = _problems(d)
    assert p == ["schools.csv row -, column -: the schools table is missing (schools.csv or schools.xlsx)"]
