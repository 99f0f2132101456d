"""The multi-year roadmap: the budget rule on hand cases, the bundled 2025-2027 scenario
(first year it can apply, costs within budgets, no teacher twice, every year verified),
the verifier catching tampered files, and every roadmap setting having an effect."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from verify_helpers import said

from planner.core.errors import DataError, PlanInputError
from planner.core.params import RoadmapParams
from planner.io.load import bundled_district, load_district
from planner.plans import roadmap as road
from planner.plans.remediation import ActionRow
from planner.plans.scenario import load_scenario
from planner.runner import run_scenario
from planner.verify.roadmap import verify_roadmap

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "yunxi-2025-2027.yaml"
CLOSURES = ROOT / "scenarios" / "yunxi-2024-closures.csv"


def row(school, indicator, cost, action="buy_equipment", stage="", unit_cost=1.0):
    return ActionRow(school_id=school, stage=stage, indicator=indicator, action=action,
                     column="equipment_yuan", quantity=cost / unit_cost, unit="yuan",
                     unit_cost_yuan=unit_cost, cost_yuan=cost, recurring=False, reason="floor")


# ------------------------------------------------------------------ the budget rule
def test_most_indicators_first_then_least_cost():
    rows = [row("S1", 5, 600.0, "build_sports_area"), row("S2", 5, 300.0, "build_sports_area"),
            row("S1", 6, 500.0), row("S3", 7, 200.0, "equip_multimedia_rooms"),
            row("S4", 11, 250.0, "build_music_rooms")]
    bought, left, short = road.choose_within_budget(rows, 1000.0)
    # indicator 7 (200), 11 (250), 6 (500) close whole: three indicators for 950;
    # 5 needs 900 and does not fit; no single package of it fits the 50 left, which
    # starts S1's sports ground (a building is phased over years)
    whole = [r for r in bought if r.indicator != 5]
    assert {(r.school_id, r.indicator) for r in whole} == {("S3", 7), ("S4", 11), ("S1", 6)}
    part = [r for r in bought if r.indicator == 5]
    assert [(r.school_id, r.cost_yuan) for r in part] == [("S1", 50.0)]
    assert sum(r.cost_yuan for r in bought) == 1000.0 and short == []
    assert {(r.school_id, r.indicator, r.cost_yuan) for r in left} == {("S1", 5, 550.0),
                                                                        ("S2", 5, 300.0)}
    # without a limit, everything
    assert len(road.choose_within_budget(rows, None)[0]) == len(rows)


def test_receivers_first_and_a_building_phased_over_years():
    rows = [row("R", 4, 800.0, "build_floor_area", unit_cost=4.0), row("S", 6, 150.0),
            row("T", 6, 100.0)]
    bought, left, short = road.choose_within_budget(rows, 700.0, first=["R"], steps=(10.0, 0))
    assert short == ["R"]                       # the receiver's 800 does not fit in 700
    # 6 closes whole (250); the 450 left buys 110 m² of R's 200 m² (whole 10 m² steps)
    part = [r for r in bought if r.school_id == "R"]
    assert len(part) == 1 and part[0].quantity == 110 and part[0].cost_yuan == 440.0
    rest = [r for r in left if r.school_id == "R"]
    assert rest[0].quantity == 90 and rest[0].cost_yuan == 360.0
    bought, _, short = road.choose_within_budget(rows, 900.0, first=["R"])
    assert short == [] and bought[0].school_id == "R" and bought[0].cost_yuan == 800.0


def test_teacher_actions_of_a_school_are_one_package():
    rows = [row("S", 1, 100.0, "hire_qualified", "primary"),
            row("S", 17, 10.0, "train_new_hires", "primary"), row("S", 6, 50.0)]
    pk = road.packages(rows)
    assert pk[("S", "", 0)] == [0, 1] and pk[("S", "", 6)] == [2]
    bought, _, _ = road.choose_within_budget(rows, 60.0)
    assert [r.action for r in bought] == ["buy_equipment"]     # no training without the hire


# ------------------------------------------------------------------ the bundled road
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("road") / "run"
    res = run_scenario(load_scenario(SCENARIO), out, quiet=True)
    return res, out


def test_bundled_roadmap_applies_in_2025_within_budgets(run):
    res, out = run
    assert res.verification == [] and res.every_plan_made
    s = json.loads((out / "roadmap" / "roadmap_summary.json").read_text(encoding="utf-8"))
    assert [y["school_year"] for y in s["years"]] == [2025, 2026, 2027]
    assert s["first_recognisable_year"] == 2025
    budgets = {2025: 2400000.0, 2026: 1500000.0, 2027: 1500000.0}
    for y in s["years"]:
        assert y["budget_yuan"] == budgets[y["school_year"]]
        assert 0 < y["cost_yuan"] <= y["budget_yuan"]
    y25 = s["years"][0]
    assert y25["a_passed"] and y25["recognised"] and y25["open_indicators"] == {}
    # the phased urban closures in 2026, the village schools already under 100 in 2025
    closed = {c["school_id"]: c["year"] for c in s["closures"]}
    assert closed["Y006"] == closed["Y007"] == 2026
    assert {k for k, v in closed.items() if v == 2025} == {"Y015", "Y016", "Y017", "Y020",
                                                           "Y030", "Y031", "Y032"}
    # the junior bulge: 云溪中学 over the size limit from 2026 without zones; the
    # scenario's catchments zone its intake from 2025, so every year can apply
    assert s["zoning"]["year"] == 2025 and s["zoning"]["stages"] == ["junior"]
    assert [y["recognised"] for y in s["years"]] == [True, True, True]
    assert all("12" not in y["open_indicators"] for y in s["years"])
    z = {r["school_year"]: r for r in s["zoning"]["schools"] if r["school_id"] == "Y008"}
    assert all(z[y]["without_zoning"] > 2000 for y in (2026, 2027))
    assert z[2027]["with_zoning"] <= 2000
    df = pd.read_csv(out / "roadmap" / "roadmap.csv", dtype={"school_id": str})
    assert list(df.columns)[:7] == ["school_year", "kind", "school_id", "school", "action",
                                    "quantity", "cost_yuan"]
    for yr, grp in df.groupby("school_year"):
        assert grp["cost_yuan"].sum() == pytest.approx(
            next(y["cost_yuan"] for y in s["years"] if y["school_year"] == yr), abs=0.01)


def test_no_teacher_twice_within_the_cycle(run):
    res, out = run
    rot = pd.read_csv(out / "roadmap" / "roadmap_rotation.csv", dtype=str)
    assert not rot["teacher_id"].duplicated().any()
    years = res.roadmap.years
    n = [len(y.rotation.result.moves) for y in years]
    assert all(k > 0 for k in n) and len(rot) == sum(n)
    # the pool of each year leaves out the teachers moved before
    assert len(years[1].excluded_teachers) == n[0]
    assert len(years[2].excluded_teachers) == n[0] + n[1]
    moved0 = {m.teacher_id for m in years[0].rotation.result.moves}
    t1 = years[1].rotation.problem.teachers
    assert not any(t.eligible for t in t1 if t.id in moved0)
    # the shares of indicator 19 are met every year
    for y in years:
        c = y.rotation.indicator_19()
        assert c["rotated"] >= 0.10 * c["eligible"]  # the standard's share, as a test input


def test_build_then_close_order_and_closed_schools_gone(run):
    res, out = run
    df = pd.read_csv(out / "roadmap" / "roadmap.csv", dtype={"school_id": str})
    y = df[df.school_year == 2025].reset_index(drop=True)
    first_close = y.index[(y.kind == "closure") & (y.action == "close")].min()
    receivers = set(y.loc[:first_close, "school_id"]) - {""}
    assert {"Y014"} <= receivers                # 文桥中心小学 is built for before closures
    assert not (y.loc[first_close:, "school_id"] == "Y014").any()
    later = df[df.school_year > 2025]
    assert not later.school_id.isin(["Y015", "Y016", "Y017", "Y020", "Y030", "Y031",
                                     "Y032"]).any()
    d26 = res.roadmap.years[1].district
    assert "Y006" not in set(d26.schools.school_id) and "Y015" not in set(d26.schools.school_id)


def test_report_and_workbook_have_the_roadmap(run):
    _, out = run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "创建路线图" in html and "2025学年起可申报评估认定" in html and "<svg" in html
    import openpyxl
    wb = openpyxl.load_workbook(out / "roadmap" / "roadmap.xlsx", read_only=True)
    assert wb.sheetnames == ["路线图", "划片学校", "2025学年", "2026学年", "2027学年"]
    assert "2025学年起按划片方案招生（初中）" in html and "划片学校在校生数" in html


def tamper(out: Path, tmp: Path, edit) -> Path:
    new = tmp / "copy"
    shutil.copytree(out / "roadmap", new)
    edit(new)
    return new


def test_verifier_catches_tampered_files(run, tmp_path):
    res, out = run
    assert verify_roadmap(res.roadmap, out / "roadmap") == []

    def overspend(f: Path):
        p = f / "roadmap_summary.json"
        s = json.loads(p.read_text(encoding="utf-8"))
        s["years"][2]["budget_yuan"] = 1000.0
        p.write_text(json.dumps(s), encoding="utf-8")

    errs = said(verify_roadmap(res.roadmap, tamper(out, tmp_path, overspend)))
    assert any("exceeds the budget" in e for e in errs)

    def twice(f: Path):
        p = f / "roadmap_rotation.csv"
        rows = list(csv.reader(open(p, encoding="utf-8-sig")))
        with open(p, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows + [rows[1]])

    shutil.rmtree(tmp_path / "copy")
    errs = said(verify_roadmap(res.roadmap, tamper(out, tmp_path, twice)))
    assert any("moves 2 times within the cycle" in e for e in errs)

    def reorder(f: Path):
        p = f / "roadmap.csv"
        df = pd.read_csv(p, dtype=str, keep_default_na=False)
        y = df[df.school_year == "2025"]
        recv = y[(y.school_id == "Y014")]
        df = pd.concat([df.drop(recv.index), recv])          # receiver built after closing
        df.to_csv(p, index=False)

    shutil.rmtree(tmp_path / "copy")
    errs = said(verify_roadmap(res.roadmap, tamper(out, tmp_path, reorder)))
    assert any("build, then close" in e for e in errs)


# ------------------------------------------------------------------ settings
@pytest.fixture(scope="module")
def yunxi():
    return load_district(bundled_district())


def one_year(d, **kw):
    p = RoadmapParams(first_year=2025, last_year=2025, closures=CLOSURES,
                      **{"budget_yuan": 2400000.0, **kw})
    return road.roadmap(d, p)


def test_budget_phasing_and_rotation_settings_have_an_effect(yunxi):
    full = one_year(yunxi)
    assert full.first_recognisable_year == 2025
    poor = one_year(yunxi, budget_yuan=500000.0)
    assert poor.first_recognisable_year is None and poor.years[0].cost_yuan <= 500000.0
    assert poor.years[0].open_cost                # which indicators stay open, at what cost
    assert all(v is None or v > 0 for v in poor.years[0].open_cost.values())
    later = one_year(yunxi, phasing={"Y015": 2026})
    assert "Y015" not in later.years[0].closed and "Y015" in full.years[0].closed
    none = one_year(yunxi, rotation=False)
    assert none.years[0].rotation is None and full.years[0].rotation is not None


def test_a_budget_per_year_mapping_and_a_year_without_money(yunxi):
    o = one_year(yunxi, budget_yuan={2025: 0.0})
    assert o.years[0].budget_yuan == 0.0 and o.years[0].cost_yuan == 0.0
    assert o.years[0].not_bought


def test_roadmap_input_errors(yunxi, tmp_path):
    with pytest.raises(PlanInputError, match="phasing"):
        one_year(yunxi, phasing={"Y001": 2025})
    with pytest.raises(PlanInputError, match="first_year"):
        road.roadmap(yunxi, RoadmapParams(first_year=2024))
    bad = tmp_path / "s.yaml"
    bad.write_text("schema: 1\ndistrict: " + str(ROOT / "geodata" / "yunxi") +
                   "\nroadmap:\n  closures: nowhere.csv\n  budget_yuan: -5\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_scenario(bad)
    text = "\n".join(e.value.problems)
    assert "roadmap.closures: nowhere.csv does not exist" in text
    assert "roadmap.budget_yuan: -5 is not yuan a year" in text


def test_report_headline_says_the_first_year_and_the_fall_back(run, tmp_path):
    """Under the verdict: the first year the county can apply and, when later years fall
    back, which ones (2026 and 2027 on the bundled road without its catchments:
    云溪中学's junior bulge; with them, none)."""
    res, out = run
    html = (out / "report.html").read_text(encoding="utf-8")
    lines = re.findall(r"<p class='headline'>([^<]*)</p>", html)
    f = res.roadmap.first_recognisable_year
    # the run's own zoning (the scenario's catchments) says its transition years first
    assert lines[-1] == f"路线图：{f}学年起可申报评估认定"
    assert [x for x in lines[:-1] if not x.startswith("划片按新生逐年过渡：")] == []
    text = SCENARIO.read_text(encoding="utf-8").split("\ncatchments:")[0]
    plain = tmp_path / "s.yaml"
    plain.write_text(text.replace("../geodata", str(ROOT / "geodata")).replace(
        "yunxi-2024-closures.csv", str(CLOSURES)), encoding="utf-8")
    res2 = run_scenario(load_scenario(plain), tmp_path / "run", quiet=True)
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    lines = re.findall(r"<p class='headline'>([^<]*)</p>", html)
    back = [y.school_year for y in res2.roadmap.years
            if y.school_year > f and not y.report.recognised]
    assert lines[0] == f"路线图：{f}学年起可申报评估认定"
    assert back == [2026, 2027] and str(back[0]) in lines[1] and len(lines) == 2
