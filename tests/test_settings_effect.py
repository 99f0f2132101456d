"""Every setting of district.yaml's ``settings:`` (planner.core.district.Settings)
has an effect: change it and the check, the eligibility or the travel times change.
(The scope and school-rule settings are proved in test_indicators.py; the plan
parameters in the plans' own tests; the scenario's solve settings and lang in
test_scenario.py.)"""

from dataclasses import replace

import pytest
from conftest import write_tiny

from planner.core.district import Settings, derive_teacher_flags
from planner.indicators import check
from planner.io.load import load_district


@pytest.fixture
def tiny(tmp_path):
    return load_district(write_tiny(tmp_path / "tiny"))


def _with(d, **kw):
    st = replace(d.settings, **kw)
    t = derive_teacher_flags(d.teachers, st) if d.teachers is not None else None
    return replace(d, settings=st, teachers=t)


def test_every_setting_is_listed_here():
    tested = {"rotation_min_years", "rotation_max_age", "backbone_base", "travel_detour_factor",
              "travel_fallback_speed_kmh", "access_speed_kmh", "max_access_m", "crs",
              # test_indicators.py: scope and school rule
              "school_rule", "teaching_points", "private_schools", "special_schools"}
    assert set(Settings.names()) == tested


def test_rotation_years_and_age_decide_who_is_eligible(tiny):
    # tiny roster: years 8 3 12 7 6 9 10 20, ages 40 30 50 45 33 56 38 54; T07 is exempt
    # and T08 part-time. Eligible by default (≥ 6 years, < 55): T01 T03 T04 T05 → 4
    assert sorted(tiny.teachers.loc[tiny.teachers["eligible"], "teacher_id"]) == [
        "T01", "T03", "T04", "T05"]
    assert int(_with(tiny, rotation_min_years=8).teachers["eligible"].sum()) == 2   # T01, T03
    assert int(_with(tiny, rotation_max_age=45).teachers["eligible"].sum()) == 2    # T01, T05
    assert int(_with(tiny, rotation_max_age=60).teachers["eligible"].sum()) == 5    # + T06


def test_backbone_base_changes_what_indicator_19_asks(tiny):
    # county facts: 10 eligible, 1 rotated, 1 backbone; share 0.10, backbone 0.20
    r = check(tiny).indicator(19)
    assert r.threshold["backbone_base"] == "rotated" and r.threshold["backbone_min"] == 0.2
    e = check(_with(tiny, backbone_base="eligible")).indicator(19)
    assert e.threshold["backbone_base"] == "eligible" and e.threshold["backbone_min"] == 2.0
    assert r.passed and not e.passed


def test_straight_line_travel_follows_detour_and_speed(tiny):
    d = replace(tiny, roads=None)
    pts = d.school_points(["S1", "S2"])
    base = d.travel(pts)
    assert base.source == "straight_line"
    km = base.km[0, 1]
    longer = _with(d, travel_detour_factor=2.6).travel(pts)
    assert longer.km[0, 1] == pytest.approx(2 * km)                  # 1.3 → 2.6
    slower = _with(d, travel_fallback_speed_kmh=15.0).travel(pts)
    assert slower.minutes[0, 1] == pytest.approx(2 * base.minutes[0, 1])   # 30 → 15 km/h


def test_access_leg_speed_and_limit(tiny):
    from geodata.travel import FarFromRoads
    far = [("X", 113.095, 29.005)]                                  # a corner, far from roads
    pts = tiny.school_points(["S1"]) + far
    # 6.6 km from the roads: beyond the default limit (3 km), so no limit here
    slow = _with(tiny, access_speed_kmh=5.0, max_access_m=None).travel(pts)
    fast = _with(tiny, access_speed_kmh=50.0, max_access_m=None).travel(pts)
    assert slow.source == "roads" and slow.minutes[0, 1] > fast.minutes[0, 1]
    assert slow.km[0, 1] == pytest.approx(fast.km[0, 1])
    with pytest.raises(FarFromRoads, match="X"):
        _with(tiny, max_access_m=500.0).travel(pts)


def test_crs_is_the_projection_of_areas_and_maps(tiny):
    from planner.outputs.maps import _projected_crs
    assert _projected_crs(tiny) == "EPSG:32649"                      # UTM zone of 113° E
    assert _projected_crs(_with(tiny, crs="EPSG:4547")) == "EPSG:4547"
