"""planner catchments on a district: every unit zoned once per stage, zones
contiguous (re-checked with networkx), no school over the places its indicators
allow (hand-computed, and re-checked by the indicator engine at full turnover),
intake that follows the zones (the year-by-year path, district_after, indicator
21 from the assignment), stability as a price and as a level, honest gaps, a
district without an outline, one shortfall line per stage, deterministic; every
CatchmentParams field has an effect; user errors are PlanInputError; an infeasible
stage is an outcome with its closest plan and exit 3."""

import csv
import dataclasses
import json
import math

import geopandas as gpd
import networkx as nx
import pytest
import yaml
from conftest import write_tiny
from verify_helpers import said

from geodata.cells import rook_adjacency
from models.status import Status
from planner.cli import main
from planner.core.errors import PlanInputError
from planner.core.params import CatchmentParams, SolveParams
from planner.core.rules import STANDARDS_DIR, load_rules
from planner.indicators.engine import check
from planner.io.load import bundled_district, load_district
from planner.outputs import catchments as presenter
from planner.plans.catchment_places import school_places
from planner.plans.catchments import (
    GRADES,
    _cells,
    catchment_plan,
    catchments,
    district_after,
    plan_status,
    seats,
    share_for_indicator_21,
    take_up,
    zoned_schools,
    zoning_order,
)
from planner.verify import verify_dir
from planner.verify.catchments import verify_catchments

#: the faster restriction, for the tests that compare settings on the bundled district;
#: 16 candidates: with the places of every indicator two primary units of the raw
#: district reach no school with room among their 8 nearest under the sweep rule
SWEEP = CatchmentParams(contiguity="sweep", k_nearest=16)


def units_rows(folder):
    with (folder / "units.csv").open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def yunxi():
    return load_district(bundled_district())


@pytest.fixture(scope="module")
def yunxi_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("cat")
    assert main(["catchments", "--out", str(out), "--contiguity", "sweep",
                 "--k-nearest", "16"]) == 0
    return out


@pytest.fixture(scope="module")
def base(yunxi):
    """The sweep plan of each stage of the bundled district (zoned in turn)."""
    return {o.stage: o for o in catchment_plan(yunxi, SWEEP)}


@pytest.fixture
def staffed(tmp_path):
    """The tiny district without a roster: no teacher limits (no data), so the
    places come from the rooms and resources alone."""
    return load_district(write_tiny(tmp_path / "staffed", teachers=None))


def variant_rules(tmp_path, primary: int, junior: int):
    """A copy of the Hunan standard with other class-size limits (indicator 13)."""
    data = yaml.safe_load((STANDARDS_DIR / "hunan-2023.yaml").read_text(encoding="utf-8"))
    for ind in data["indicators"]:
        if ind["id"] == 13:
            ind["params"]["max_class"] = {"primary": primary, "junior": junior}
    path = tmp_path / f"variant-{primary}-{junior}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ---------------------------------------------------------------- places


def test_places_hand_computed(staffed):
    r = staffed.rules
    p = school_places(staffed, "primary", zoned_schools(staffed, "primary"), r)
    # S1, primary only: 13: 16 rooms x 45 = 720; 4: 3000 / 4.5 = 666; 5: 5000 / 7.5 =
    # 666; 6: 1,300,000 / 2000 = 650; 7: 100 x 15 / 2.3 = 652; 11: 12 x 2 rooms x 45 =
    # 1080; 12: 2000. Binding: 6 (equipment) at 650.
    s1 = p["S1"]
    assert (s1.places, s1.binding) == (650, "6")
    assert dict(s1.limits) == {"1": None, "2": None, "3": None, "4": 666, "5": 666, "6": 650,
                               "7": 652, "11": 1080, "12": 2000, "13": 720}
    # S3, nine-year, junior held at today's 210 pupils (weight 1.1): multimedia 9 rooms,
    # W <= 100 x 9 x min(1/2.3, 1.1/2.4) = 391.3, so primary <= 391.3 - 231 = 160;
    # rooms: 45 x (12 - 6 junior classes) = 270; size: 2500 - 210 = 2290.
    s3 = p["S3"]
    assert (s3.places, s3.binding) == (160, "7")
    assert (s3.limit("13"), s3.limit("12"), s3.limit("6")) == (270, 2290, 165)
    # S4, teaching point of 40 pupils: equipment 50,000 / 2000 = 25 and multimedia
    # 43 would bind, but under 50 pupils it is out of 1-7, so it takes up to 49.
    s4 = p["S4"]
    assert (s4.places, s4.limit("6"), s4.limit("11")) == (49, 49, None)
    # the other stage as the plan leaves it: 156 primary pupils at S3 give its junior
    # (391.3 - 156) / 1.1 = 213 places instead of (391.3 - 166) / 1.1 = 204 with today's
    pj = school_places(staffed, "junior", zoned_schools(staffed, "junior"), r)
    assert (pj["S3"].places, pj["S2"].places, pj["S2"].binding) == (204, 416, "7")
    later = school_places(staffed, "junior", zoned_schools(staffed, "junior"), r,
                          {"S3": (156, 4)})
    assert later["S3"].places == 213


def test_teacher_limits_and_a_short_stage_in_one_line(tiny_dir):
    # with the roster S1 has 2 teachers above the required degree (T01 bachelor, T02
    # associate): 100 x 2 / 4.2 = 47 places; S3 no backbone primary teacher: 0;
    # S4 (40 pupils) may take 49. 96 places for 0.8667 x 930 = 806 pupils.
    d = load_district(tiny_dir)
    p = school_places(d, "primary", zoned_schools(d, "primary"), d.rules)
    assert [(p[s].places, p[s].binding) for s in ("S1", "S3", "S4")] == \
        [(47, "1"), (0, "2"), (49, "1")]
    o = catchments(d, "primary", solve=SolveParams(time_limit=20))
    assert o.status is Status.INFEASIBLE and o.closest
    sf = o.shortfall
    assert (sf.need, sf.places, sf.missing) == (806, 96, 710)
    assert sf.unzoned_units == ("U:U1", "U:U2") and sf.unzoned_children == 880
    zh = presenter.shortfall_lines(o, "zh")
    en = presenter.shortfall_lines(o, "en")
    assert len(zh) == len(en) == 1
    assert zh[0].startswith("小学学位不足：按入学比例需 806 个学位，各校按指标核定共 96 个，缺 710 个")
    assert "城关社区 (U1)、河口村 (U2)" in zh[0]
    assert "710 missing" in en[0] and "City" not in zh[0]
    # places enough but the units left out: with a proven-infeasible closest plan the
    # line blames indivisible units and contiguity and suggests a site; when the
    # solve found no plan in its time, it says so and suggests none
    from dataclasses import replace
    enough = replace(sf, missing=0)
    proven = presenter.shortfall_lines(replace(o, shortfall=enough), "zh")[0]
    assert "受单元不可分割和片区连通所限" in proven and "新建或扩建" in proven
    timed = replace(o, shortfall=enough, status=Status.NO_PLAN_IN_TIME)
    zh_t, en_t = (presenter.shortfall_lines(timed, lang)[0] for lang in ("zh", "en"))
    assert zh_t.startswith("小学学位总数够（需 806 个，共 96 个），但在求解时限内未找到")
    assert "新建或扩建" not in zh_t and "城关社区 (U1)、河口村 (U2)" in zh_t
    assert "within the time limit" in en_t and "would need about" not in en_t


def test_places_bind_in_the_plan_and_the_engine_agrees(yunxi):
    """Every zoned school at full turnover passes the indicator engine's school-level
    checks of 1-7, 12 and 13 (no failing part among the zoned schools), in a plan
    where the places bind: the demo's junior stage after consolidation and rotation."""
    from planner.plans import consolidation as con
    from planner.plans import rotation as rot
    from planner.plans.scenario import load_scenario
    sc = load_scenario(bundled_district().parents[1] / "scenarios" / "yunxi-2024.yaml")
    d = rot.rotate(con.consolidate(yunxi, sc.consolidation, sc.solve).district_after,
                   sc.rotation, sc.solve).district_after
    outs = catchment_plan(d, CatchmentParams(stages=("junior",)))
    (o,) = outs
    assert o.has_plan and o.summary["mode"] == "exact"
    a = o.take_up
    assert a == pytest.approx(4490 / 4760)
    after = district_after(d, outs)
    rep = check(after)
    zoned = set(o.after)
    for ind in rep.a_results:
        if ind.id <= 7 or ind.id in (12, 13):
            bad = [f for f in ind.failing_schools if f["school_id"] in zoned
                   and f.get("stage") in ("junior", None, "")]
            assert not bad, (ind.id, bad)
    # the seed's goal: 云溪中学 under the size limit, 岳化三中 at its floor-area limit
    yx, yh = o.after["Y008"], o.after["Y009"]
    assert yx.today == 2040 and yx.pupils <= 2000 and yx.places == 1900
    assert yh.binding == "4" and yh.pupils <= 576
    assert 3340.8 / yh.pupils >= 5.8
    # the pupils are the zone's children x take-up, and they fit the places
    for x in o.after.values():
        assert x.pupils == round(a * x.children) <= x.places
        assert x.max_class <= 50 and x.classes <= 38
    assert after.school("Y008")["students_junior"] == yx.pupils


def test_seats_follow_the_standard(tmp_path, staffed):
    # indicator 13 alone (seats) and in the places: a class limit of 40 gives S1
    # 16 x 40 = 640 classroom places, below its equipment limit of 650
    hunan = staffed.rules
    s1 = staffed.school("S1")
    assert seats(s1, "primary", hunan) == 16 * hunan.max_class["primary"]
    variant = load_rules(variant_rules(tmp_path, 40, 42))
    assert seats(s1, "primary", variant) == 640
    o = catchments(staffed, "primary")
    assert o.places["S1"].places == 650 and o.problem.seats[0] == math.floor(650 / o.take_up)
    v = catchments(staffed, "primary", rules=variant)
    assert (v.places["S1"].places, v.places["S1"].binding) == (640, "13")
    # the district's own standard (district.yaml standard: <path>) is the default
    dv = dataclasses.replace(staffed, standard=str(variant_rules(tmp_path, 40, 42)))
    assert catchments(dv, "primary").places["S1"].places == 640


def test_verifier_checks_the_places_itself(tmp_path, staffed):
    out = tmp_path / "out"
    out.mkdir()
    presenter.write_files(catchment_plan(staffed), out)
    assert verify_catchments(staffed, out, CatchmentParams()) == []
    # S1 takes U1 (700 children x 0.8667 = 607 pupils): under a class limit of 36,
    # 607 pupils need 17 classes for its 16 classrooms
    strict = load_rules(variant_rules(tmp_path, 36, 42))
    errs = said(verify_catchments(staffed, out, CatchmentParams(), rules=strict))
    assert "catchments primary: S1 at 607 pupils fails indicator 13 17 classes for 16 " \
           "classrooms" in errs
    # less equipment than the plan assumed: indicator 6 fails at S1
    poor = staffed.with_schools(staffed.schools.assign(
        equipment_yuan=staffed.schools["equipment_yuan"] * 0.9))
    errs = said(verify_catchments(poor, out, CatchmentParams()))
    assert any(e.startswith("catchments primary: S1 at 607 pupils fails indicator 6 ")
               for e in errs), errs


# ---------------------------------------------------------------- the plan


def test_every_unit_zoned_within_places(yunxi_out, yunxi):
    rows = units_rows(yunxi_out)
    with (yunxi_out / "places.csv").open(encoding="utf-8-sig") as fh:
        places = {(r["stage"], r["school_id"]): r for r in csv.DictReader(fh)}
    summary = json.loads((yunxi_out / "summary.json").read_text(encoding="utf-8"))
    for stage in ("primary", "junior"):
        r = [x for x in rows if x["stage"] == stage]
        assert sorted(x["unit_id"] for x in r) == sorted(yunxi.units["unit_id"])
        assert all(x["school_id"] for x in r)
        load = {}
        for x in r:
            load[x["school_id"]] = load.get(x["school_id"], 0) + int(x["children"])
        a = summary[stage]["take_up"]
        for sid, kids in load.items():
            row = places[(stage, sid)]
            assert int(row["pupils"]) == round(a * kids) <= int(row["places"])
        assert sum(load.values()) == int(yunxi.units[f"children_{stage}"].sum())


def test_zones_are_contiguous_on_the_cells(yunxi_out, yunxi):
    rows = units_rows(yunxi_out)
    for stage in ("primary", "junior"):
        schools = zoned_schools(yunxi, stage)
        cells, homes, outline, spread = _cells(yunxi, schools)
        assert outline == "boundary" and spread == []
        g = rook_adjacency(cells)
        zone = {("U:" + x["unit_id"]): x["school_id"] for x in rows if x["stage"] == stage}
        zone.update({h: sid for h, sid in zip(homes, schools["school_id"])})
        for sid in schools["school_id"]:
            members = [u for u, s in zone.items() if s == sid]
            assert nx.is_connected(g.subgraph(members)), (stage, sid)
    z = gpd.read_file(yunxi_out / "catchments.geojson")
    assert set(z["stage"]) == {"primary", "junior"}
    assert (z["load_ratio"] <= 1.0 + 1e-9).all()
    s = json.loads((yunxi_out / "summary.json").read_text(encoding="utf-8"))
    assert s["contiguous"] and s["primary"]["catchment_share"] == 1.0
    assert s["primary"]["stability_reference"] == "nearest_school"
    assert verify_catchments(yunxi, yunxi_out) == []


def test_catchments_deterministic(yunxi_out, tmp_path):
    assert main(["catchments", "--out", str(tmp_path), "--contiguity", "sweep",
                 "--k-nearest", "16"]) == 0
    for f in ("units.csv", "catchments.geojson", "catchments.gpkg", "places.csv", "path.csv"):
        assert (tmp_path / f).read_bytes() == (yunxi_out / f).read_bytes(), f


def test_outcome_is_typed(base):
    o = base["primary"]
    assert o.status.has_plan and o.has_plan and not o.closest
    assert o.params == SWEEP and o.solve == SolveParams()
    assert o.travel["source"] == "roads" and o.outline == "boundary"
    assert plan_status(list(base.values())).has_plan


def test_plan_status_is_the_worst_stage(staffed):
    staffed.schools.loc[staffed.schools["school_id"] == "S1", "classrooms"] = 2
    outcomes = catchment_plan(staffed)
    assert [o.status for o in outcomes] == [Status.INFEASIBLE, Status.OPTIMAL]
    assert plan_status(outcomes) is Status.INFEASIBLE


def test_stages_zoned_tightest_first(staffed, tmp_path):
    # tiny: primary has 859 places for 806 pupils (1.07), junior 620 for 410 (1.51)
    assert zoning_order(staffed) == ["primary", "junior"]
    # shrink the primary rooms and equipment of nothing; give the junior school S2 few
    # multimedia rooms instead: junior becomes the tighter stage and goes first
    staffed.schools.loc[staffed.schools["school_id"] == "S2", "multimedia_rooms"] = 5
    assert zoning_order(staffed) == ["junior", "primary"]
    outs = catchment_plan(staffed)
    assert [o.stage for o in outs] == ["primary", "junior"]     # reported in params order
    # junior, zoned first, has no plan at these places (its units are indivisible): the
    # primary stage then sees the junior pupils of S3 as today's
    assert not outs[1].has_plan and outs[0].places["S3"].pupils_other == 210
    # with the rooms back, primary goes first and junior sees its full turnover at S3
    staffed.schools.loc[staffed.schools["school_id"] == "S2", "multimedia_rooms"] = 10
    outs = catchment_plan(staffed)
    assert all(o.has_plan for o in outs)
    p = outs[0].after["S3"]
    assert outs[1].places["S3"].pupils_other == p.pupils != 166


# ---------------------------------------------------------------- intake, turnover, 21


def test_path_year_by_year(staffed):
    (o,) = catchment_plan(staffed, CatchmentParams(stages=("primary",)))
    x = o.after["S1"]
    g = GRADES["primary"]
    path = o.path[o.path["school_id"] == "S1"].set_index("year")["pupils"].to_dict()
    assert sorted(path) == list(range(g + 1))
    assert path[0] == x.today == 600 and path[g] == x.pupils
    for y in range(g + 1):
        assert path[y] == round((x.today * (g - y) + x.pupils * y) / g)
    (m,) = catchment_plan(staffed, CatchmentParams(stages=("primary",), keep_current=False))
    moved = m.path[m.path["school_id"] == "S1"].set_index("year")["pupils"].to_dict()
    assert moved[0] == 600 and all(moved[y] == m.after["S1"].pupils for y in range(1, g + 1))
    assert m.summary["keep_current"] is False and o.summary["keep_current"] is True
    sec = presenter.report_sections([o], "zh")[0]
    table = sec.tables[1].frame
    assert list(table.columns)[:3] == ["学校代码", "学校", "现状"]
    assert "第 6 年（完全更替）" in table.columns


def test_district_after_carries_full_turnover(staffed):
    outs = catchment_plan(staffed)
    after = district_after(staffed, outs)
    for o in outs:
        for sid, x in o.after.items():
            row = after.school(sid)
            assert row[f"students_{o.stage}"] == x.pupils
            assert row[f"classes_{o.stage}"] == x.classes
            assert row[f"max_class_{o.stage}"] == -(-x.pupils // x.classes)
    # quota and public funds follow the pupils at each school's own rate
    s3b, s3a = staffed.school("S3"), after.school("S3")
    r = staffed.rules
    ratio = r.funds_needed(s3a["students_primary"], s3a["students_junior"]) / \
        r.funds_needed(s3b["students_primary"], s3b["students_junior"])
    assert s3a["public_funds_yuan"] == pytest.approx(s3b["public_funds_yuan"] * ratio, abs=0.01)
    assert after.school("S2")["building_area_m2"] == staffed.school("S2")["building_area_m2"]
    # a stage without a plan is left as it is
    staffed.schools.loc[staffed.schools["school_id"] == "S1", "classrooms"] = 2
    outs = catchment_plan(staffed)
    after = district_after(staffed, outs)
    assert after.school("S1")["students_primary"] == 600


def test_indicator_21_from_the_assignment(staffed):
    outs = catchment_plan(staffed)
    shares = share_for_indicator_21(outs, staffed)
    assert shares == {"primary": 1.0, "junior": 1.0}
    # a closest plan leaves U1 (700 children, today at the urban S1) unzoned: of the
    # children whose school counts (urban/town public non-boarding: S1, S2), none of
    # U1's is in a catchment; S3 and S4 are rural and do not count
    staffed.schools.loc[staffed.schools["school_id"] == "S1", "classrooms"] = 2
    outs = catchment_plan(staffed, CatchmentParams(stages=("primary",)))
    (o,) = outs
    assert o.closest and o.result.assignment["U:U1"] is None
    assert o.share_21 == 0.0
    # a stage not zoned keeps the county's figure (here none), an unzoned district too
    county = dataclasses.replace(staffed, county={**staffed.county,
                                                  "catchment_share_junior": 0.97})
    assert share_for_indicator_21(outs, county) == {"primary": 0.0, "junior": 0.97}


def test_run_checks_the_full_turnover(tmp_path):
    """The runner's after-plan check counts the zones' pupils, not today's."""
    from planner.plans.scenario import load_scenario
    from planner.runner import run_scenario
    d = write_tiny(tmp_path / "t", teachers=None)
    sp = tmp_path / "s.yaml"
    sp.write_text(yaml.safe_dump({"schema": 1, "name": "t", "district": str(d),
                                  "time_limit": 20, "catchments": {}}), encoding="utf-8")
    res = run_scenario(load_scenario(sp), tmp_path / "run", quiet=True)
    after = {o.stage: o.after for o in res.catchments}
    rep = res.after
    parts = rep.parts_table()
    seen = 0
    for st in ("primary", "junior"):
        for sid, x in after[st].items():
            got = parts[(parts["school_id"] == sid) & (parts["stage"] == st)]["pupils"]
            if len(got):              # the teaching point S4 (under 50) is out of 1-7
                assert int(got.iloc[0]) == x.pupils, (st, sid)
                seen += 1
    assert seen == 4 and after["primary"]["S3"].pupils != 166    # S3 today: 166
    assert res.verification == []


# ---------------------------------------------------------------- every setting


def test_setting_stages(staffed, tmp_path):
    outcomes = catchment_plan(staffed, CatchmentParams(stages=("junior",)))
    assert [o.stage for o in outcomes] == ["junior"]
    presenter.write_files(outcomes, tmp_path)
    assert {r["stage"] for r in units_rows(tmp_path)} == {"junior"}
    both = catchment_plan(staffed)
    assert [o.stage for o in both] == ["primary", "junior"]


def test_setting_k_nearest(yunxi, base):
    """k_nearest is the candidate schools per unit a plan starts from; the modes that
    contain the sweep rule double it while the candidates are proven too few, and the
    summary says the k used. cheap keeps the setting, so its effect shows directly."""
    # one candidate per unit, cheap: each unit may only go to its nearest school, so
    # the over-full town schools leave children unzoned (the closest plan)
    o = catchments(yunxi, "primary", SWEEP.replace(contiguity="cheap", k_nearest=1))
    assert o.status is Status.INFEASIBLE and o.closest and o.result.unassigned_children > 0
    assert o.summary["k_nearest"] == 1
    assert o.result.pupils_changed == 0        # every zoned child is at its nearest school
    assert base["primary"].result.unassigned_children == 0
    # three junior candidates, cheap: 文桥社区 reaches no school with room
    o3 = catchments(yunxi, "junior", SWEEP.replace(contiguity="cheap", k_nearest=3))
    assert o3.closest and o3.shortfall.unzoned_units == ("U:430603001003",)
    # sweep widens 3 -> 6 (the sweep rule has no plan with 3) and the summary says so;
    # four suffice, and both give the plan of 16 candidates
    w3 = catchments(yunxi, "junior", SWEEP.replace(k_nearest=3))
    w4 = catchments(yunxi, "junior", SWEEP.replace(k_nearest=4))
    assert (w3.summary["k_nearest"], w4.summary["k_nearest"]) == (6, 4)
    assert w3.has_plan and not w3.closest
    assert "k_nearest 3 -> 6" in w3.summary["notes"][0]
    assert w3.result.objective == pytest.approx(base["junior"].result.objective)
    assert w4.result.objective == pytest.approx(base["junior"].result.objective)
    # primary from one candidate: 1 -> 2 -> 4 -> 8, one note per doubling
    p1 = catchments(yunxi, "primary", SWEEP.replace(k_nearest=1))
    assert p1.has_plan and p1.summary["k_nearest"] == 8
    assert [n.split(":")[0] for n in p1.summary["notes"][:3]] == \
        ["k_nearest 1 -> 2", "k_nearest 2 -> 4", "k_nearest 4 -> 8"]


def test_setting_contiguity_and_honest_gaps(yunxi, base):
    """cheap and sweep are restrictions: their gap is against the bound of the
    contiguous problem, which exact proves; flow agrees with exact."""
    junior = dict(other={})
    ex = catchments(yunxi, "junior", CatchmentParams(gap=0.0), **junior)
    sw = catchments(yunxi, "junior", SWEEP.replace(gap=0.0), **junior)
    ch = catchments(yunxi, "junior", SWEEP.replace(contiguity="cheap", gap=0.0), **junior)
    fl = catchments(yunxi, "junior", SWEEP.replace(contiguity="flow", gap=0.0), **junior)
    assert ex.summary["mode"] == "exact" and ex.status is Status.OPTIMAL
    assert ex.result.gap <= 1e-4 and fl.result.gap <= 1e-4
    assert fl.result.objective == pytest.approx(ex.result.objective, rel=1e-4)
    for r in (sw.result, ch.result):
        # the bound is valid: never above the exact optimum; the gap is measured to it
        assert r.bound <= ex.result.objective * (1 + 1e-9)
        assert r.gap == pytest.approx((r.objective - r.bound) / r.objective)
        assert r.objective >= ex.result.objective - 1e-6
    assert ch.result.objective > sw.result.objective > ex.result.objective
    assert ch.status is Status.FEASIBLE and ch.result.solver_gap <= 1e-4  # own model: proven
    for o in (ex, sw, ch, fl):
        assert o.summary["contiguous"] and o.violations == []


def test_setting_gap(yunxi):
    loose = catchments(yunxi, "junior", CatchmentParams(gap=0.05), other={})
    tight = catchments(yunxi, "junior", CatchmentParams(gap=0.0), other={})
    assert loose.result.gap <= 0.05 and tight.result.gap <= 1e-4
    assert loose.result.objective >= tight.result.objective - 1e-6
    assert loose.result.rounds <= tight.result.rounds


def test_setting_stability_penalty(yunxi, base):
    b = base["junior"].result
    o = catchments(yunxi, "junior", SWEEP.replace(stability_penalty=5.0))
    r = o.result
    # fewer children change school, at a longer total journey
    assert r.pupils_changed < b.pupils_changed
    assert r.travel_cost > b.travel_cost
    assert r.stability_cost == pytest.approx(5.0 * r.pupils_changed)
    assert r.objective == pytest.approx(r.travel_cost + r.stability_cost)
    assert b.stability_cost == 0 and b.objective == pytest.approx(b.travel_cost)


def test_setting_max_changed(yunxi, base):
    b = base["junior"]
    cap = 9 * b.summary["pupils_changed"] // 10     # at half, the places do not allow
    o = catchments(yunxi, "junior", SWEEP.replace(max_changed=cap))
    assert o.status.has_plan and o.summary["pupils_changed"] <= cap
    assert o.result.travel_cost > b.result.travel_cost
    assert o.problem.max_changed == math.floor(cap / o.take_up + 1e-9)
    none = catchments(yunxi, "junior", SWEEP.replace(max_changed=0))
    # nobody may change: every unit at today's (nearest) school does not fit the places
    assert none.closest or none.summary["pupils_changed"] == 0


def test_stability_reference_is_the_nearest_school(staffed):
    # tiny, primary: U1 -> S1, U2 -> S3, U3 -> S4 are each unit's nearest school and
    # fit (607 <= 650, 156 <= 160, 43 <= 49 pupils): nobody changes. Give S4 one
    # classroom (45 places): U3's 50 children (43 pupils) still fit; give it none: U3
    # must go elsewhere: exactly 50 children (43 pupils) change.
    o = catchments(staffed, "primary")
    assert o.problem.current["U:U3"] == "S4" and o.result.pupils_changed == 0
    staffed.schools.loc[staffed.schools["school_id"] == "S4", "classrooms"] = 0
    # U3 touches only S3 and S4: S3 must take it, so its multimedia rooms (7) and its
    # equipment (6: 165 places) are raised; its 11 and 13 (270 places) then bind
    staffed.schools.loc[staffed.schools["school_id"] == "S3", "multimedia_rooms"] = 12
    staffed.schools.loc[staffed.schools["school_id"] == "S3", "equipment_yuan"] *= 10
    o = catchments(staffed, "primary")
    assert o.places["S3"].places == 270 and o.places["S3"].binding == "11"
    assert o.status.has_plan and o.result.assignment["U:U3"] == "S3"
    assert o.result.pupils_changed == 50 and o.summary["pupils_changed"] == round(50 * o.take_up)
    assert {o.problem.current[f"S:{s}"] for s in ("S1", "S3", "S4")} == {"S1", "S3", "S4"}


def test_stability_reference_from_the_data(staffed):
    units = staffed.units.copy()
    units["school_primary"] = ["S3", "", ""]          # the data say U1 goes to S3 today
    d = dataclasses.replace(staffed, units=units)
    o = catchments(d, "primary")
    assert o.problem.current["U:U1"] == "S3" and o.problem.current["U:U2"] == "S3"
    assert o.summary["stability_reference"] == "data_and_nearest_school"
    assert o.result.assignment["U:U1"] == "S1" and o.result.pupils_changed == 700
    assert "居住单元表所填现就读学校" in presenter.console_lines([o], "zh")[0]


def test_pupils_changed_recomputed_from_travel(yunxi, base):
    # independent of the model: a unit's children changed school when the plan's
    # km exceeds the km to its nearest zoned school (District.travel)
    o = base["junior"]
    schools = zoned_schools(yunxi, "junior")
    units = yunxi.units
    tm = yunxi.travel([("u" + str(u), g.x, g.y) for u, g in zip(units["unit_id"], units.geometry)],
                      [(s, lon, lat) for s, lon, lat in zip(schools["school_id"], schools["lon"],
                                                            schools["lat"])])
    nearest = tm.km.min(axis=1)
    km = o.units["km"].to_numpy()
    changed = sum(int(c) for c, k, n in zip(o.units["children"], km, nearest) if k > n + 0.01)
    assert changed == o.result.pupils_changed > 0
    assert o.summary["pupils_changed"] == round(o.take_up * changed)
    assert int(o.units["changes"].sum()) == sum(1 for k, n in zip(km, nearest) if k > n + 0.01)


def test_setting_take_up(staffed):
    o = catchments(staffed, "primary")
    assert o.take_up == pytest.approx(806 / 930)
    assert take_up(staffed, "primary", zoned_schools(staffed, "primary")) == o.take_up
    full = catchments(staffed, "primary", CatchmentParams(take_up=1.0))
    # every child enters: U1 brings 700 pupils, more than S1's 650 places
    assert full.take_up == 1.0 and full.status is Status.INFEASIBLE
    assert full.problem.seats[0] == 650 and o.problem.seats[0] == 750


def test_setting_keep_current_in_the_cli(tmp_path):
    from planner.cli import build_parser
    from planner.cli.catchments import params_from_args
    args = build_parser().parse_args(["catchments", "--out", str(tmp_path), "--move-current",
                                      "--take-up", "0.9", "--max-changed", "100",
                                      "--gap", "0.02"])
    params, _ = params_from_args(args)
    assert params == CatchmentParams(keep_current=False, take_up=0.9, max_changed=100, gap=0.02)


def test_setting_include_boarding(yunxi, base):
    boarding = set(yunxi.schools.loc[yunxi.schools["boarding"].astype(bool), "school_id"])
    zoned = set(base["primary"].zones["school_id"])
    assert zoned & boarding                     # Y019 and Y024 teach primary pupils
    o = catchments(yunxi, "primary", SWEEP.replace(include_boarding=False))
    assert not set(o.places) & boarding
    assert set(o.places) == set(base["primary"].places) - boarding


def test_setting_include_private(yunxi, base):
    private = set(yunxi.schools.loc[~yunxi.schools["public"].astype(bool), "school_id"])
    assert private == {"Y011"} and "Y011" not in set(base["primary"].zones["school_id"])
    o = catchments(yunxi, "primary", SWEEP.replace(include_private=True))
    assert "Y011" in set(o.zones["school_id"])
    # a private school is out of the scope of 1-7 by the district's setting: only its
    # rooms (13, 11) and size (12) limit it
    assert {k for k, v in o.places["Y011"].limits if v is not None} == {"11", "12", "13"}


def test_solve_params_reach_the_model(staffed):
    o = catchments(staffed, "junior", solve=SolveParams(time_limit=5.0))
    assert o.summary["solver"] == "highs" and o.solve.time_limit == 5.0


# ---------------------------------------------------------------- travel


def test_costs_come_from_the_travel_service(staffed):
    # without roads: great-circle km × the district's detour factor. U1 and S1 are
    # 0.01° of latitude apart: 6371.0088 km × 0.01 × π/180 = 1.11195 km.
    flat = dataclasses.replace(staffed, roads=None)
    o = catchments(flat, "primary")
    assert o.travel == {"source": "straight_line", "detour_factor": 1.3, "speed_kmh": 30.0}
    arc = 6371.0088 * math.radians(0.01)
    km = dict(zip(o.units["unit_id"], o.units["km"]))
    assert o.result.assignment["U:U1"] == "S1"
    assert km["U1"] == round(round(arc * 1.3, 4), 2) == 1.45
    wider = dataclasses.replace(flat, settings=dataclasses.replace(
        flat.settings, travel_detour_factor=2.0))
    o2 = catchments(wider, "primary")
    assert dict(zip(o2.units["unit_id"], o2.units["km"]))["U1"] == round(arc * 2.0, 2) == 2.22


def test_far_from_roads_is_a_user_error(staffed):
    strict = dataclasses.replace(staffed, settings=dataclasses.replace(staffed.settings,
                                                                       max_access_m=1.0))
    with pytest.raises(PlanInputError, match=r"max_access_m.*unit U1"):
        catchments(strict, "primary")


# ---------------------------------------------------------------- any district


def test_no_outline_derives_one(staffed):
    bare = dataclasses.replace(staffed, boundary=None)
    outs = catchment_plan(bare)
    for o in outs:
        assert o.outline == "derived" and o.summary["outline"] == "derived"
        assert o.has_plan and o.summary["contiguous"] and o.violations == []
    # every unit and school lies at least 1 km inside the derived outline
    cells, _, _, _ = _cells(bare, zoned_schools(bare, "primary"))
    hull = cells.to_crs(cells.estimate_utm_crs()).union_all()
    pts = gpd.GeoSeries(list(bare.units.geometry) + list(gpd.points_from_xy(
        bare.schools["lon"], bare.schools["lat"])), crs=4326).to_crs(cells.estimate_utm_crs())
    # (the buffer's arcs are polygons: a chord lies up to ~1.3 m inside the circle)
    assert all(hull.exterior.distance(p) >= 998 for p in pts) if hull.geom_type == "Polygon" \
        else True
    sec = presenter.report_sections(outs, "zh")[0]
    assert dict(sec.figures)["片区边界依据"].startswith("无区县边界")
    assert any("未提供边界文件" in n for n in sec.notes)


def test_units_on_one_spot_are_spread(staffed):
    units = staffed.units.copy()
    units.loc[2, "geometry"] = units.loc[1, "geometry"]       # U3 on top of U2
    d = dataclasses.replace(staffed, units=units)
    o = catchments(d, "primary")
    assert o.summary["units_spread"] == ["U3"] and o.has_plan
    assert o.summary["contiguous"]


def test_user_errors(staffed):
    with pytest.raises(PlanInputError, match="units.csv"):
        catchments(dataclasses.replace(staffed, units=None), "primary")
    primary_only = staffed.with_schools(staffed.schools[staffed.schools["type"] == "primary"]
                                        .copy())
    with pytest.raises(PlanInputError, match="junior stage"):
        catchments(primary_only, "junior")
    with pytest.raises(PlanInputError, match="unknown stage 'senior'"):
        catchments(staffed, "senior")


def test_cli_user_errors_exit_2(tmp_path, capsys):
    d = write_tiny(tmp_path / "nounits", units=None)
    out = tmp_path / "out"
    assert main(["catchments", str(d), "--out", str(out)]) == 2
    assert "units.csv" in capsys.readouterr().err and not out.exists()
    good = write_tiny(tmp_path / "good")
    assert main(["catchments", str(good), "--out", str(out), "--contiguity", "weird"]) == 2
    assert "contiguity" in capsys.readouterr().err
    assert main(["catchments", str(good), "--out", str(out), "--k-nearest", "0"]) == 2
    assert "--k-nearest 0: not a positive whole number" in capsys.readouterr().err
    assert main(["catchments", str(good), "--out", str(out), "--take-up", "0"]) == 2
    assert "--take-up 0: not a number above 0 and at most 1" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- infeasible


def test_capacity_shortfall_is_explained(staffed):
    # S1 shrunk to 2 rooms (90 places); 90 + 160 + 49 = 299 places for 806 pupils:
    # 507 missing; U1 (700 children) is left out.
    staffed.schools.loc[staffed.schools["school_id"] == "S1", "classrooms"] = 2
    o = catchments(staffed, "primary", solve=SolveParams(time_limit=20))
    assert o.status is Status.INFEASIBLE and o.closest
    assert o.summary["unassigned_children"] == 700
    (sf,) = o.result.shortfalls
    assert (sf.unit, sf.code) == ("U:U1", "seats_missing")
    assert o.summary["shortfall"]["missing"] == 806 - 299 == 507
    assert o.summary["shortfall"]["unzoned_units"] == ["U1"]
    zh = presenter.console_lines([o], "zh")
    en = presenter.console_lines([o], "en")
    assert sum("学位不足" in x for x in zh) == 1
    assert any("城关社区 (U1)" in x and "缺 507 个" in x for x in zh)
    assert any("城关社区 (U1)" in x and "507 missing" in x for x in en)
    sec = presenter.report_sections([o], "en")[0]
    assert sum("507 missing" in w for w in sec.warnings) == 1


def test_cli_infeasible_exits_3(tmp_path, capsys):
    d = write_tiny(tmp_path / "small")                 # with the roster: 96 places
    out = tmp_path / "out"
    assert main(["catchments", str(d), "--out", str(out), "--stage", "primary",
                 "--lang", "en"]) == 3
    printed = capsys.readouterr().out
    assert "infeasible" in printed and "710 missing" in printed
    assert len([x for x in printed.splitlines() if "missing" in x]) == 1
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "infeasible" and s["contiguous"] is False


# ---------------------------------------------------------------- command line, verifier


def test_cli_options_build_the_params(tmp_path):
    from planner.cli import build_parser
    from planner.cli.catchments import params_from_args
    args = build_parser().parse_args(
        ["catchments", "--out", str(tmp_path), "--stage", "junior", "--contiguity", "cheap",
         "--k-nearest", "3", "--stability-penalty", "2.5", "--include-private",
         "--exclude-boarding", "--solver", "highs", "--time-limit", "12"])
    params, solve = params_from_args(args)
    assert params == CatchmentParams(stages=("junior",), k_nearest=3, contiguity="cheap",
                                     stability_penalty=2.5, include_boarding=False,
                                     include_private=True)
    assert solve == SolveParams(solver="highs", time_limit=12.0)
    args = build_parser().parse_args(["catchments", "--out", str(tmp_path)])
    assert params_from_args(args) == (CatchmentParams(), SolveParams())


def test_verify_a_folder_made_without_boarding_schools(tmp_path, yunxi, capsys):
    out = tmp_path / "out"
    assert main(["catchments", "--out", str(out), "--stage", "junior",
                 "--exclude-boarding", "--contiguity", "sweep", "--take-up", "0.6"]) == 0
    # the zoned schools are read from catchments.geojson, so the cells are rebuilt
    # from the same schools as the plan's; the take-up from summary.json
    assert verify_catchments(yunxi, out) == []
    assert verify_dir(out, yunxi) == []
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()


def test_verifier_finds_a_cut_zone(tmp_path, yunxi_out, yunxi):
    out = tmp_path / "bad"
    out.mkdir()
    for f in ("catchments.geojson", "summary.json"):
        (out / f).write_bytes((yunxi_out / f).read_bytes())
    rows = units_rows(yunxi_out)
    prim = [r for r in rows if r["stage"] == "primary"]
    far = max(prim, key=lambda r: float(r["km"]))
    # move a unit of another zone to the school of the farthest unit: its zone is cut
    # (the unit nearest its own school: deep inside another zone)
    other = min((r for r in prim if r["school_id"] != far["school_id"]),
                key=lambda r: (float(r["km"]), r["unit_id"]))
    other["school_id"] = far["school_id"]
    with (out / "units.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    errs = said(verify_catchments(yunxi, out, SWEEP))
    assert f"catchments primary: the zone of {far['school_id']} is not connected" in errs


# ---------------------------------------------------------------- words


def test_presenter_words_in_both_languages(base):
    outcomes = [base["primary"], base["junior"]]
    zh = presenter.report_sections(outcomes, "zh")
    en = presenter.report_sections(outcomes, "en")
    assert [s.title for s in zh] == ["划片 小学", "划片 初中"]
    assert [s.title for s in en] == ["Catchments primary", "Catchments junior"]
    fz, fe = dict(zh[0].figures), dict(en[0].figures)
    assert fz["学段"] == "小学" and fz["片区连通"] == "是"
    assert fz["完全更替后换校学生数"] == base["primary"].summary["pupils_changed"]
    assert fz["就近划片入学比例（指标21）"] == "100.00%"
    tz = dict(zh[0].technical)
    assert tz["连通约束"] == "扫描连通约束" and tz["求解状态"] in ("最优", "可行（未证明最优）")
    assert fe["stage"] == "primary"
    assert fe["school changes counted against"].startswith("each unit's nearest zoned school")
    table = zh[0].tables[0].frame
    assert list(table.columns)[:3] == ["学校代码", "学校", "片区适龄儿童"]
    assert set(table["限制学位的指标"]) <= {f"指标{k}" for k in range(1, 14)} | {
        v for v in table["限制学位的指标"] if v.startswith("指标")}
    sheets = presenter.workbook_sheets(outcomes, "zh")
    assert list(sheets)[:3] == ["划片小学", "划片小学逐年在校生", "划片小学学位测算"]
    assert set(sheets["划片小学"]["是否换校"]) <= {"是", "否"}
    assert list(presenter.workbook_sheets(outcomes, "en"))[0] == "catchments_primary"
    lines = presenter.console_lines(outcomes, "en")
    assert lines[0].startswith("primary catchments: 56 units")
    zh_lines = presenter.console_lines(outcomes, "zh")
    assert zh_lines[0].startswith("小学划片：56 个居住单元")
    # the raw district's primary zones leave its small schools without children
    assert any(x.startswith("小学划片后无生源：") for x in zh_lines)
    assert any(x.startswith("初中划片：56 个居住单元") for x in zh_lines)


def test_scenario_passes_the_catchment_settings(tmp_path):
    from planner.plans.scenario import load_scenario
    from planner.runner import run_scenario
    d = write_tiny(tmp_path / "t", teachers=None)
    sp = tmp_path / "s.yaml"
    sp.write_text(yaml.safe_dump({"schema": 1, "name": "t", "district": str(d),
                                  "time_limit": 10,
                                  "catchments": {"stages": ["junior"], "k_nearest": 1,
                                                 "stability_penalty": 3, "take_up": 0.9,
                                                 "keep_current": False, "gap": 0.02}}),
                  encoding="utf-8")
    res = run_scenario(load_scenario(sp), tmp_path / "run", quiet=True)
    (o,) = res.catchments
    assert o.stage == "junior" and o.params.k_nearest == 1
    assert o.params.stability_penalty == 3.0 and o.problem.stability_penalty == 3.0
    assert o.take_up == 0.9 and o.params.keep_current is False and o.params.gap == 0.02
    assert res.verification == []


def test_units_without_a_location_are_a_located_error(staffed):
    """The cells' projection is centred on the unit points: units with no location
    (empty points) and schools without coordinates gave "not a WGS84 longitude/latitude:
    (nan, nan)" from utm_crs in a province run; now one line naming units.csv."""
    from shapely.geometry import Point
    units = staffed.units.copy()
    units["geometry"] = [Point() for _ in range(len(units))]
    schools = staffed.schools.copy()
    schools["lon"] = math.nan
    schools["lat"] = math.nan
    bare = dataclasses.replace(staffed, units=gpd.GeoDataFrame(units, geometry="geometry",
                                                               crs=4326))
    with pytest.raises(PlanInputError, match=r"^units\.csv: none of the 3 unit\(s\) has a "
                                             r"location \(lon, lat\)"):
        _cells(bare, schools)
