"""The bundled 云溪区 district: files, columns, census sums, plan facts, rebuild."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from shapely.geometry import Point, shape

from geodata.yunxi import build as yb

D = Path(yb.__file__).resolve().parent
FILES = ["district.yaml", "schools.csv", "teachers.csv", "units.csv", "roads.geojson",
         "boundary.geojson"]
SCHOOL_COLS = [
    "school_id", "name", "type", "area_type", "public", "boarding", "parent_id", "lon", "lat",
    "students_primary", "students_junior", "classes_primary", "classes_junior",
    "max_class_primary", "max_class_junior", "classrooms", "building_area_m2", "sports_area_m2",
    "equipment_yuan", "multimedia_rooms", "music_rooms", "music_room_min_m2", "art_rooms",
    "art_room_min_m2", "staff_quota", "public_funds_yuan", "training_funds_yuan"]
TEACHER_COLS = ["teacher_id", "name", "school_id", "stage", "subject", "degree", "backbone",
                "certified", "full_time", "years_at_school", "age", "training_hours_5y", "exempt"]
UNIT_COLS = ["unit_id", "name", "lon", "lat", "population", "children_primary", "children_junior"]


@pytest.fixture(scope="module")
def tables():
    sc = pd.read_csv(D / "schools.csv", dtype={"school_id": str, "parent_id": str})
    te = pd.read_csv(D / "teachers.csv", dtype={"teacher_id": str, "school_id": str, "exempt": str})
    un = pd.read_csv(D / "units.csv", dtype={"unit_id": str})
    return sc, te, un


def test_files_exist_and_columns(tables):
    for f in FILES:
        assert (D / f).is_file(), f
    sc, te, un = tables
    assert set(SCHOOL_COLS) <= set(sc.columns)
    assert set(TEACHER_COLS) <= set(te.columns)
    assert set(UNIT_COLS) <= set(un.columns)
    assert sc["school_id"].is_unique and te["teacher_id"].is_unique and un["unit_id"].is_unique
    assert set(te["school_id"]) <= set(sc["school_id"])
    # booleans are written true/false
    text = (D / "schools.csv").read_text(encoding="utf-8")
    assert "True" not in text and "False" not in text
    assert set(sc["public"].astype(str).str.lower()) == {"true", "false"}


def test_district_yaml_keys():
    y = yaml.safe_load((D / "district.yaml").read_text(encoding="utf-8"))
    assert y["name"] == "云溪区" and y["standard"] == "hunan-2023"
    assert {"school_rule", "teaching_points", "rotation_min_years",
            "rotation_max_age"} <= set(y["settings"])
    for k in ["unified_standards", "teacher_pay_avg_yuan", "civil_servant_pay_avg_yuan",
              "allowances_paid", "performance_pay_full", "training_records_kept",
              "quota_managed_by_county", "rotation_eligible", "rotation_rotated",
              "rotation_backbone", "catchment_share_primary", "catchment_share_junior",
              "quality_hs_quota_share", "migrant_public_share", "junior_retention_rate",
              "disabled_enrolment_rate", "training_plan_exists",
              "special_school_funds_per_pupil_yuan", "quality_monitoring_level",
              "quality_monitoring_difference", "social_recognition"]:
        assert k in y["county"], k
    assert sorted(y["b_scores"]) == [8, 9, 23, 27, 29, 30, 32, 33, 34, 35]
    maxima = {8: 10, 9: 5, 23: 5, 27: 10, 29: 10, 30: 10, 32: 20, 33: 10, 34: 10, 35: 10}
    total = sum(sum(v) for v in y["b_scores"].values())
    assert 85 <= total <= 90
    for k, v in y["b_scores"].items():
        assert sum(v) >= 0.8 * maxima[k]
    assert len(y["veto"]) == 6 and not any(y["veto"].values())


def test_units_real_codes_and_census_sums(tables):
    _, _, un = tables
    assert len(un) == 56
    assert un["unit_id"].str.fullmatch(r"430603\d{6}").all()
    src = pd.read_csv(D / "sources" / "yunxi_admin_units_nbs2023.csv", dtype=str)
    src = src[src["level"] == "village_or_community"]
    assert dict(zip(un["unit_id"], un["name"])) == dict(zip(src["code"], src["name"]))
    assert un["population"].sum() == 153657
    assert un["children_primary"].sum() == 10200
    assert un["children_junior"].sum() == 4760
    code = un["unit_id"].str[9:12].astype(int)
    urban = (code < 200) | (code >= 400)
    assert un.loc[urban, "population"].sum() == round(153657 * 0.599)


def test_school_system(tables):
    sc, te, _ = tables
    assert 30 <= len(sc) <= 40
    pupils = sc.set_index("name")[["students_primary", "students_junior"]].sum(axis=1)
    for n in yb.PLAN_SMALL:
        assert pupils[n] < 100, n
    plan = pd.read_csv(D / "sources" / "yunxi_schools_from_plan.csv")
    assert set(plan["name"]) <= set(sc["name"])
    t = sc.set_index("name")["type"]
    assert t["松杨湖中学"] == "nine_year"
    assert (sc["type"] == "special").sum() == 1
    assert (sc["public"].astype(str).str.lower() == "false").sum() >= 1
    tp = sc[sc["type"] == "teaching_point"]
    assert 2 <= len(tp) <= 4 and tp["parent_id"].isin(sc["school_id"]).all()
    assert (tp["students_primary"] < 50).any()
    assert 2 <= (sc["type"] == "nine_year").sum() <= 3
    assert 9500 <= sc["students_primary"].sum() <= 10200
    assert 4400 <= sc["students_junior"].sum() <= 4760


def test_roster(tables):
    sc, te, _ = tables
    assert 1100 <= len(te) <= 1400
    st = sc.set_index("school_id")
    for stage in ("primary", "junior"):
        sids = te.loc[te["stage"] == stage, "school_id"]
        assert (st.loc[sids, f"students_{stage}"] > 0).all(), stage
    assert te["age"].between(22, 59).all()
    assert te["degree"].isin(["secondary", "associate", "bachelor", "postgraduate"]).all()
    assert te["backbone"].isin(["none", "county", "city", "province", "national"]).all()
    bb = (te["backbone"] != "none").mean()
    assert 0.08 <= bb <= 0.18
    assert te["exempt"].fillna("").isin(["", "孕期", "病休", "待退休"]).all()
    small = sc[sc["name"].isin(yb.PLAN_SMALL)]["school_id"]
    per = te[te["school_id"].isin(small)].groupby("school_id").size()
    assert per.between(3, 6).all()


def test_points_inside_boundary(tables):
    sc, _, un = tables
    gj = json.loads((D / "boundary.geojson").read_text(encoding="utf-8"))
    poly = shape(gj["features"][0]["geometry"])
    for df in (sc, un):
        assert all(poly.contains(Point(x, y)) for x, y in zip(df["lon"], df["lat"]))


def test_roads_connected(tables):
    import networkx as nx
    sc, _, un = tables
    gj = json.loads((D / "roads.geojson").read_text(encoding="utf-8"))
    G = nx.Graph()
    for f in gj["features"]:
        c = [tuple(p) for p in f["geometry"]["coordinates"]]
        assert f["properties"]["speed_kmh"] in (20, 30, 40, 60)
        G.add_edge(c[0], c[-1])
    assert nx.is_connected(G)
    for x, y in list(zip(sc["lon"], sc["lat"])) + list(zip(un["lon"], un["lat"])):
        assert (x, y) in G


def test_baseline_failures_are_the_intended_ones():
    sc, te = yb.read_bundle(D)
    res = yb.baseline_check(sc, te)
    failing = {k for k, (ok, _) in res.items() if not ok}
    assert failing == yb.EXPECTED_FAILURES


def test_rebuild_is_byte_identical(tmp_path):
    yb.build(tmp_path)
    for f in FILES:
        assert (tmp_path / f).read_bytes() == (D / f).read_bytes(), f
