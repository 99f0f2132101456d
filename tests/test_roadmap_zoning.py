"""The roadmap's zoning: the projection's Zoning on a hand-computed district (a junior
school over its size limit without the zones, under it with them), and the bundled
roadmap zoning 云溪中学's junior intake (shares = zones, the county's entrants kept,
the outputs in zh and en)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models import projection as pm
from planner.core.params import CatchmentParams, RoadmapParams
from planner.io.load import bundled_district, load_district
from planner.outputs import roadmap as road_out
from planner.plans import roadmap as road
from planner.plans.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "yunxi-2025-2027.yaml"
CLOSURES = ROOT / "scenarios" / "yunxi-2024-closures.csv"

YEARS = range(2019, 2025)


# ------------------------------------------------------------------ the model, by hand
def hand_problem(zoning: pm.Zoning | None) -> pm.ProjectionProblem:
    """Primary school P (100 a grade, every unit's primary zone), junior schools A and B.
    Units U1 (60 children a year) and U2 (40). Today U1 is A's junior zone, U2 B's, but
    A takes 90 of the 100 grade-6 leavers a year and B 10: A's own grade-7 ratio is
    90 / (100 × 0.6) = 1.5, B's 10 / (100 × 0.4) = 0.25, the pooled one 100 / 100 = 1."""
    hist = []
    for t in YEARS:
        hist += [("P", t, g, 100) for g in range(1, 7)]
        hist += [("A", t, g, 90) for g in (7, 8, 9)]
        hist += [("B", t, g, 10) for g in (7, 8, 9)]
    h = pd.DataFrame(hist, columns=["school_id", "school_year", "grade", "pupils"])
    coh = pd.DataFrame([(u, y, n) for u, n in (("U1", 60), ("U2", 40))
                        for y in range(2013, 2031)],
                       columns=["unit_id", "school_year", "children"])
    sh = pd.DataFrame([("U1", "P", "primary", 1.0), ("U2", "P", "primary", 1.0),
                       ("U1", "A", "junior", 1.0), ("U2", "B", "junior", 1.0)],
                      columns=["unit_id", "school_id", "stage", "share"])
    return pm.ProjectionProblem(history=h, cohorts=coh, shares=sh, small_school_pupils=1.0,
                                horizon=3, zoning=zoning)


def junior(res: pm.ProjectionResult, school: str) -> list[float]:
    t = res.totals
    t = t[(t.school_id == school) & (t.stage == "junior")].sort_values("school_year")
    return [round(float(x), 6) for x in t["pupils"]]


def test_zoning_cuts_a_school_over_its_size_limit_by_hand():
    settings = pm.ProjectionSettings(shrink_pupils=0.0, draws=0)
    limit = 250                                  # a test input, not the standard's
    free = pm.project(hand_problem(None), settings)
    # without zones A keeps taking 1.5 × 100 × 0.6 = 90 a year: 270 pupils, over 250
    assert junior(free, "A") == [270.0, 270.0, 270.0]
    assert all(v > limit for v in junior(free, "A"))
    zones = pd.DataFrame([("U1", "A", "junior", 1.0), ("U2", "B", "junior", 1.0)],
                         columns=["unit_id", "school_id", "stage", "share"])
    zoned = pm.project(hand_problem(pm.Zoning(2025, zones, ("junior",))), settings)
    # from 2025 grade 7 is the zone's children at the pooled ratio 1: A 60, B 40; the
    # pupils enrolled stay: A 60+90+90, 60+60+90, 60+60+60
    assert junior(zoned, "A") == [240.0, 210.0, 180.0]
    assert junior(zoned, "B") == [60.0, 90.0, 120.0]
    assert all(v <= limit for v in junior(zoned, "A"))
    # the county's entrants are kept; the primary stage (not zoned) is untouched
    c0, c1 = free.county, zoned.county
    assert list(c1[c1.stage == "junior"]["pupils"]) == \
        pytest.approx(list(c0[c0.stage == "junior"]["pupils"]))
    assert junior(zoned, "P") == [] and \
        list(zoned.totals[zoned.totals.school_id == "P"]["pupils"]) == \
        pytest.approx(list(free.totals[free.totals.school_id == "P"]["pupils"]))
    # a zoning year later than the horizon changes nothing
    late = pm.project(hand_problem(pm.Zoning(2030, zones, ("junior",))), settings)
    assert junior(late, "A") == junior(free, "A")


def test_zoning_shares_are_checked():
    bad = pd.DataFrame([("U1", "A", "junior", 0.7), ("U1", "B", "junior", 0.7)],
                       columns=["unit_id", "school_id", "stage", "share"])
    with pytest.raises(ValueError, match="U1 junior shares sum to more than 1"):
        pm.project(hand_problem(pm.Zoning(2025, bad, ("junior",))),
                   pm.ProjectionSettings(draws=0))
    other = pd.DataFrame([("U1", "P", "primary", 1.0)],
                         columns=["unit_id", "school_id", "stage", "share"])
    with pytest.raises(ValueError, match="not a zoned stage"):
        pm.project(hand_problem(pm.Zoning(2025, other, ("junior",))),
                   pm.ProjectionSettings(draws=0))


# ------------------------------------------------------------------ the bundled road
@pytest.fixture(scope="module")
def zoned():
    d = load_district(bundled_district())
    sc = load_scenario(SCENARIO)
    p = RoadmapParams(first_year=2025, last_year=2027, closures=CLOSURES,
                      phasing={"Y006": 2026, "Y007": 2026}, rotation=False)
    with_z = road.roadmap(d, p, sc.solve, remediation=sc.remediation,
                          catchments=CatchmentParams(stages=("junior",)))
    without = road.roadmap(d, p, sc.solve, remediation=sc.remediation)
    return with_z, without


def test_the_projection_gets_the_zones(zoned):
    o, _ = zoned
    assert o.zoning_year == 2025 and o.zoning is not None and o.zoning.stages == ("junior",)
    (plan,) = o.catchments
    assert plan.stage == "junior" and plan.has_plan
    zones = {(str(u), str(s)) for u, s in zip(plan.units["unit_id"], plan.units["school_id"])}
    given = o.projection.problem.zoning
    assert given is o.zoning and set(given.shares["share"]) == {1.0}
    assert {(u, s) for u, s in zip(given.shares["unit_id"], given.shares["school_id"])} == zones
    assert len(given.shares) == len(zones) == len(plan.units)
    # the zones were drawn on 2025's schools: the schools closed in 2025 have no zone
    closed25 = set(o.years[0].closed)
    assert closed25 and not closed25 & set(given.shares["school_id"])


def test_zoning_keeps_yunxi_zhongxue_under_its_size_limit(zoned):
    o, free = zoned
    rows = {(z.school_year, z.school_id): z for z in o.zoned_schools}
    assert {sid for _, sid in rows} == {"Y008"}           # 云溪中学, junior, 2,040 today
    for y in (2025, 2026, 2027):
        z = rows[(y, "Y008")]
        without = free.years[y - 2025].district.schools.set_index("school_id")
        assert z.without_zoning == int(without.at["Y008", "students_junior"]) > z.limit
        mine = o.years[y - 2025].district.schools.set_index("school_id")
        assert z.with_zoning == int(mine.at["Y008", "students_junior"]) < z.without_zoning
    # the grades 8 and 9 enrolled before the zones stay: under the limit (the
    # standard's 2,000, read back) once the zoned intakes fill every grade in 2027;
    # in 2025 and 2026 the few pupils over it are moved by the remediation
    assert rows[(2027, "Y008")].with_zoning <= rows[(2027, "Y008")].limit == 2000
    assert [rows[(y, "Y008")].with_zoning for y in (2025, 2026, 2027)] == \
        sorted([rows[(y, "Y008")].with_zoning for y in (2025, 2026, 2027)], reverse=True)
    # without zoning 2026 and 2027 fail indicator 12, which no action closes
    assert free.years[1].open_cost.get(12, 0) is None
    assert all(12 not in y.open_cost for y in o.years)
    # the county's junior pupils stay nearly what they were: the zones move entrants at
    # the pooled grade-7 ratio, while without them each school's own ratio meets its
    # nearest zone's growing cohort (云溪中学's 2.3 amplifies the town's growth)
    for a, b in zip(o.years, free.years):
        na = int(a.district.schools["students_junior"].sum())
        nb = int(b.district.schools["students_junior"].sum())
        assert abs(na - nb) <= 0.03 * nb


def test_the_outputs_say_the_zoning_in_zh_and_en(zoned, tmp_path):
    o, free = zoned
    zh = road_out.report_sections(o, "zh")[0]
    en = road_out.report_sections(o, "en")[0]
    assert ("划片入学", "2025学年起按划片方案招生（初中）") in zh.figures
    assert ("catchment zones", "zones apply to the intake from 2025 (junior)") in en.figures
    t = next(t for t in zh.tables if t.caption.startswith("划片学校在校生数")).frame
    assert list(t["学校"]) == ["云溪中学"] * 3 and list(t["划片后是否不超上限"]) == ["否", "否", "是"]
    assert not any(t.caption.startswith("划片") for t in road_out.report_sections(free)[0].tables)
    road_out.write_files(o, tmp_path / "z", "en")
    csv = pd.read_csv(tmp_path / "z" / "roadmap_zoning.csv", dtype={"school_id": str})
    assert list(csv.columns) == road_out.ZONING_COLUMNS
    assert list(csv["school_id"]) == ["Y008"] * 3 and (csv["limit"] == 2000).all()
    sheets = pd.read_excel(tmp_path / "z" / "roadmap.xlsx", sheet_name=None)
    assert "zoned schools" in sheets
    road_out.write_files(free, tmp_path / "f", "zh")
    assert not (tmp_path / "f" / "roadmap_zoning.csv").exists()
    assert road_out.console_lines(o, "zh")[1] == "2025学年起按划片方案招生（初中）"
