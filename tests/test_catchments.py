"""planner catchments on a district: every unit zoned once per stage, zones
contiguous (re-checked with networkx), no school over its seats, deterministic;
the standard's class-size limits drive the seats (and the verifier); every
CatchmentParams field has an effect; user errors are PlanInputError; an
infeasible stage is an outcome with its closest plan and exit 3."""

import csv
import dataclasses
import json
import math

import geopandas as gpd
import networkx as nx
import pytest
import yaml
from conftest import TINY_SCHOOLS, write_tiny

from geodata.cells import rook_adjacency
from models.status import Status
from planner.cli import main
from planner.core.errors import PlanInputError
from planner.core.params import CatchmentParams, SolveParams
from planner.core.rules import STANDARDS_DIR, load_rules
from planner.io.load import bundled_district, load_district
from planner.outputs import catchments as presenter
from planner.plans.catchments import (
    _cells,
    catchment_plan,
    catchments,
    plan_status,
    seats,
    zoned_schools,
)
from planner.verify import verify_dir
from planner.verify.catchments import verify_catchments


def units_rows(folder):
    with (folder / "units.csv").open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def yunxi():
    return load_district(bundled_district())


@pytest.fixture(scope="module")
def yunxi_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("cat")
    assert main(["catchments", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def base(yunxi):
    """The default plan of each stage of the bundled district."""
    return {st: catchments(yunxi, st) for st in ("primary", "junior")}


def variant_rules(tmp_path, primary: int, junior: int):
    """A copy of the Hunan standard with other class-size limits (indicator 13)."""
    data = yaml.safe_load((STANDARDS_DIR / "hunan-2023.yaml").read_text(encoding="utf-8"))
    for ind in data["indicators"]:
        if ind["id"] == 13:
            ind["params"]["max_class"] = {"primary": primary, "junior": junior}
    path = tmp_path / f"variant-{primary}-{junior}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the plan


def test_every_unit_zoned_within_seats(yunxi_out, yunxi):
    rows = units_rows(yunxi_out)
    for stage in ("primary", "junior"):
        r = [x for x in rows if x["stage"] == stage]
        assert sorted(x["unit_id"] for x in r) == sorted(yunxi.units["unit_id"])
        assert all(x["school_id"] for x in r)
        load = {}
        for x in r:
            load[x["school_id"]] = load.get(x["school_id"], 0) + int(x["children"])
        cap = {s: seats(row, stage, yunxi.rules) for s, row in
               zoned_schools(yunxi, stage).set_index("school_id", drop=False).iterrows()}
        assert all(load[s] <= cap[s] for s in load)
        assert sum(load.values()) == int(yunxi.units[f"children_{stage}"].sum())


def test_zones_are_contiguous_on_the_cells(yunxi_out, yunxi):
    rows = units_rows(yunxi_out)
    for stage in ("primary", "junior"):
        schools = zoned_schools(yunxi, stage)
        cells, homes = _cells(yunxi, schools)
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
    assert s["status"] == "optimal" and s["primary"]["stability_reference"] == "nearest_school"
    assert verify_catchments(yunxi, yunxi_out) == []


def test_catchments_deterministic(yunxi_out, tmp_path):
    assert main(["catchments", "--out", str(tmp_path)]) == 0
    for f in ("units.csv", "catchments.geojson", "catchments.gpkg"):
        assert (tmp_path / f).read_bytes() == (yunxi_out / f).read_bytes()


def test_outcome_is_typed(base):
    o = base["primary"]
    assert o.status is Status.OPTIMAL and o.has_plan and not o.closest
    assert o.params == CatchmentParams() and o.solve == SolveParams()
    assert o.travel["source"] == "roads"
    assert plan_status(list(base.values())) is Status.OPTIMAL


def test_plan_status_is_the_worst_stage(tiny_dir):
    d = load_district(tiny_dir)
    d.schools.loc[d.schools["school_id"] == "S1", "classrooms"] = 2
    outcomes = catchment_plan(d)
    assert [o.status for o in outcomes] == [Status.INFEASIBLE, Status.OPTIMAL]
    assert plan_status(outcomes) is Status.INFEASIBLE


# ---------------------------------------------------------------- the standard


def test_seats_follow_the_standard(tmp_path, tiny_dir):
    d = load_district(tiny_dir)
    hunan = d.rules
    # S1: 16 classrooms, primary only; S3: 12 classrooms shared 6/6 by its classes
    s1 = d.school("S1")
    s3 = d.school("S3")
    assert seats(s1, "primary", hunan) == 16 * hunan.max_class["primary"]
    assert seats(s3, "junior", hunan) == 6 * hunan.max_class["junior"]
    variant = load_rules(variant_rules(tmp_path, 40, 42))
    assert seats(s1, "primary", variant) == 640 and seats(s3, "junior", variant) == 252
    # the plan: with the variant the 700 children of U1 no longer fit S1's 640 seats
    o = catchments(d, "primary")
    assert o.status is Status.OPTIMAL and o.problem.seats == [720, 270, 135]
    v = catchments(d, "primary", rules=variant)
    assert v.problem.seats == [640, 240, 120]
    assert v.status is Status.INFEASIBLE and v.closest
    assert [sf.unit for sf in v.result.shortfalls] == ["U:U1"]
    # the district's own standard (district.yaml standard: <path>) is the default
    dv = dataclasses.replace(d, standard=str(variant_rules(tmp_path, 40, 42)))
    assert catchments(dv, "primary").problem.seats == [640, 240, 120]


def test_verifier_follows_the_standard(tmp_path, tiny_dir):
    d = load_district(tiny_dir)
    out = tmp_path / "out"
    out.mkdir()
    presenter.write_files(catchment_plan(d), out)
    assert verify_catchments(d, out, CatchmentParams()) == []
    strict = load_rules(variant_rules(tmp_path, 40, 42))
    errs = verify_catchments(d, out, CatchmentParams(), rules=strict)
    assert "catchments primary: S1 has 700 children for 640 seats" in errs


# ---------------------------------------------------------------- every setting


def test_setting_stages(tiny_dir, tmp_path):
    d = load_district(tiny_dir)
    outcomes = catchment_plan(d, CatchmentParams(stages=("junior",)))
    assert [o.stage for o in outcomes] == ["junior"]
    presenter.write_files(outcomes, tmp_path)
    assert {r["stage"] for r in units_rows(tmp_path)} == {"junior"}
    both = catchment_plan(d)
    assert [o.stage for o in both] == ["primary", "junior"]


def test_setting_k_nearest(yunxi, base):
    # one candidate school per unit: each unit may only go to its nearest school,
    # so the over-full town schools leave children unzoned (the closest plan)
    o = catchments(yunxi, "primary", CatchmentParams(k_nearest=1))
    assert o.status is Status.INFEASIBLE and o.closest and o.result.unassigned_children > 0
    assert o.result.pupils_changed == 0        # every zoned child is at its nearest school
    assert base["primary"].result.unassigned_children == 0
    # three candidates: feasible for the junior stage but dearer than eight
    o3 = catchments(yunxi, "junior", CatchmentParams(k_nearest=3))
    assert o3.status.has_plan
    assert o3.result.objective > base["junior"].result.objective + 1


def test_setting_contiguity(yunxi, base):
    cheap = catchments(yunxi, "junior", CatchmentParams(contiguity="cheap"))
    assert cheap.summary["mode"] == "cheap" and base["junior"].summary["mode"] == "sweep"
    assert cheap.result.assignment != base["junior"].result.assignment
    # both are proven optimal under their own rule; here the sweep rule is cheaper
    assert cheap.result.objective > base["junior"].result.objective + 1
    assert cheap.summary["contiguous"] and cheap.violations == []


def test_setting_stability_penalty(yunxi, base):
    b = base["junior"].result
    o = catchments(yunxi, "junior", CatchmentParams(stability_penalty=5.0))
    r = o.result
    # fewer children change school, at a longer total journey
    assert r.pupils_changed < b.pupils_changed
    assert r.travel_cost > b.travel_cost
    assert r.stability_cost == pytest.approx(5.0 * r.pupils_changed)
    assert r.objective == pytest.approx(r.travel_cost + r.stability_cost)
    assert b.stability_cost == 0 and b.objective == pytest.approx(b.travel_cost)


def test_stability_reference_is_the_nearest_school(tiny_dir):
    # tiny district, primary: U1 -> S1, U2 -> S3, U3 -> S4 are each unit's nearest
    # school and fit (720, 270, 135 seats): nobody changes. Give S4 one classroom
    # (45 seats): U3's 50 children must go elsewhere: exactly 50 change.
    d = load_district(tiny_dir)
    o = catchments(d, "primary")
    assert o.problem.current["U:U3"] == "S4" and o.result.pupils_changed == 0
    d.schools.loc[d.schools["school_id"] == "S4", "classrooms"] = 1
    o = catchments(d, "primary")
    assert o.status is Status.OPTIMAL and o.result.assignment["U:U3"] != "S4"
    assert o.result.pupils_changed == 50 and o.summary["pupils_changed"] == 50
    assert {o.problem.current[f"S:{s}"] for s in ("S1", "S3", "S4")} == {"S1", "S3", "S4"}


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


def test_setting_include_boarding(yunxi, base):
    boarding = set(yunxi.schools.loc[yunxi.schools["boarding"].astype(bool), "school_id"])
    zoned = set(base["primary"].zones["school_id"])
    assert zoned & boarding                     # Y019 and Y024 teach primary pupils
    o = catchments(yunxi, "primary", CatchmentParams(include_boarding=False))
    assert not set(o.zones["school_id"]) & boarding
    assert set(o.zones["school_id"]) == zoned - boarding


def test_setting_include_private(yunxi, base):
    private = set(yunxi.schools.loc[~yunxi.schools["public"].astype(bool), "school_id"])
    assert private == {"Y011"} and "Y011" not in set(base["primary"].zones["school_id"])
    o = catchments(yunxi, "primary", CatchmentParams(include_private=True))
    assert "Y011" in set(o.zones["school_id"])
    assert o.result.objective < base["primary"].result.objective


def test_solve_params_reach_the_model(tiny_dir):
    d = load_district(tiny_dir)
    o = catchments(d, "junior", solve=SolveParams(time_limit=5.0))
    assert o.summary["solver"] == "highs" and o.solve.time_limit == 5.0


# ---------------------------------------------------------------- travel


def test_costs_come_from_the_travel_service(tiny_dir):
    # without roads: great-circle km × the district's detour factor. U1 and S1 are
    # 0.01° of latitude apart: 6371.0088 km × 0.01 × π/180 = 1.11195 km.
    d = load_district(tiny_dir)
    flat = dataclasses.replace(d, roads=None)
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


def test_far_from_roads_is_a_user_error(tiny_dir):
    d = load_district(tiny_dir)
    strict = dataclasses.replace(d, settings=dataclasses.replace(d.settings, max_access_m=1.0))
    with pytest.raises(PlanInputError, match=r"max_access_m.*unit U1"):
        catchments(strict, "primary")


# ---------------------------------------------------------------- user errors


def test_no_units_no_outline_no_school(tiny_dir):
    d = load_district(tiny_dir)
    with pytest.raises(PlanInputError, match="units.csv"):
        catchments(dataclasses.replace(d, units=None), "primary")
    with pytest.raises(PlanInputError, match="boundary.geojson"):
        catchments(dataclasses.replace(d, boundary=None), "primary")
    primary_only = d.with_schools(d.schools[d.schools["type"] == "primary"].copy())
    with pytest.raises(PlanInputError, match="junior stage"):
        catchments(primary_only, "junior")
    with pytest.raises(PlanInputError, match="unknown stage 'senior'"):
        catchments(d, "senior")


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
    assert not out.exists()


# ---------------------------------------------------------------- infeasible


def test_capacity_shortfall_is_explained(tiny_dir):
    d = load_district(tiny_dir)
    # junior: S2 has 10 rooms x 50 = 500 seats and S3 6/12 of 12 rooms -> 6 x 50 = 300;
    # 410 children fit.  Primary: S1 16 x 45 = 720, S3 6 x 45 = 270, S4 3 x 45 = 135
    # for 930 children: fits too; shrink S1 to 2 rooms (90 seats) to force a shortfall:
    # 90 + 270 + 135 = 495 seats for 930 children, 435 missing; U1 (700) is left out.
    d.schools.loc[d.schools["school_id"] == "S1", "classrooms"] = 2
    o = catchments(d, "primary", solve=SolveParams(time_limit=20))
    assert o.status is Status.INFEASIBLE and o.closest
    assert o.summary["unassigned_children"] == 700
    (sf,) = o.result.shortfalls
    assert (sf.unit, sf.code, sf.seats_within_reach, sf.demand_within_reach,
            sf.seats_missing) == ("U:U1", "seats_missing", 495, 930, 435)
    assert "seats missing" in o.summary["shortfalls"][0]["reason"]
    zh = presenter.console_lines([o], "zh")
    en = presenter.console_lines([o], "en")
    assert any("城关社区 (U1)" in x and "缺 435 个学位" in x for x in zh)
    assert any("城关社区 (U1)" in x and "435 seats missing" in x for x in en)
    sec = presenter.report_sections([o], "en")[0]
    assert any("435 seats missing" in w for w in sec.warnings)


def test_cli_infeasible_exits_3(tmp_path, capsys):
    schools = TINY_SCHOOLS.replace("S1,城关小学,primary,urban,true,false,,113.02,29.02,600,0,14,0,"
                                   "44,0,16,", "S1,城关小学,primary,urban,true,false,,113.02,"
                                   "29.02,600,0,14,0,44,0,2,")
    assert schools != TINY_SCHOOLS
    d = write_tiny(tmp_path / "small", schools=schools)
    out = tmp_path / "out"
    assert main(["catchments", str(d), "--out", str(out), "--stage", "primary",
                 "--lang", "en"]) == 3
    printed = capsys.readouterr().out
    assert "infeasible" in printed and "435 seats missing" in printed
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["status"] == "infeasible"


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
    assert main(["catchments", "--out", str(out), "--stage", "primary",
                 "--exclude-boarding"]) == 0
    # the zoned schools are read from catchments.geojson, so the cells are rebuilt
    # from the same schools as the plan's
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
    other = next(r for r in prim if r["school_id"] != far["school_id"] and
                 float(r["km"]) < 3)
    other["school_id"] = far["school_id"]
    with (out / "units.csv").open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    errs = verify_catchments(yunxi, out, CatchmentParams())
    assert f"catchments primary: the zone of {far['school_id']} is not connected" in errs


# ---------------------------------------------------------------- words


def test_presenter_words_in_both_languages(base):
    outcomes = [base["primary"], base["junior"]]
    zh = presenter.report_sections(outcomes, "zh")
    en = presenter.report_sections(outcomes, "en")
    assert [s.title for s in zh] == ["划片 小学", "划片 初中"]
    assert [s.title for s in en] == ["Catchments primary", "Catchments junior"]
    fz, fe = dict(zh[0].figures), dict(en[0].figures)
    assert fz["学段"] == "小学" and fz["求解状态"] == "最优" and fz["片区连通"] == "是"
    assert fz["模式"] == "扫描连通约束" and fz["换校学生数"] == base["primary"].result.pupils_changed
    assert fe["stage"] == "primary" and fe["solver status"] == "optimal"
    assert fe["school changes counted against"].startswith("each unit's nearest zoned school")
    table = zh[0].tables[0].frame
    assert list(table.columns)[:3] == ["学校代码", "学校", "学段"] and set(table["学段"]) == {"小学"}
    assert list(presenter.workbook_sheets(outcomes, "zh")) == ["划片primary", "划片junior"]
    assert list(presenter.workbook_sheets(outcomes, "en")) == ["catchments_primary",
                                                               "catchments_junior"]
    lines = presenter.console_lines(outcomes, "en")
    assert lines[0].startswith("primary catchments: 56 units") and "status optimal" in lines[0]
    assert presenter.console_lines(outcomes, "zh")[1].startswith("初中划片：56 个居住单元")


def test_scenario_passes_the_catchment_settings(tiny_dir, tmp_path):
    from planner.plans.scenario import load_scenario
    from planner.runner import run_scenario
    sp = tmp_path / "s.yaml"
    sp.write_text(yaml.safe_dump({"schema": 1, "name": "t", "district": str(tiny_dir),
                                  "time_limit": 10,
                                  "catchments": {"stages": ["junior"], "k_nearest": 1,
                                                 "stability_penalty": 3}}), encoding="utf-8")
    res = run_scenario(load_scenario(sp), tmp_path / "run", quiet=True)
    (o,) = res.catchments
    assert o.stage == "junior" and o.params.k_nearest == 1
    assert o.params.stability_penalty == 3.0 and o.problem.stability_penalty == 3.0
    assert res.verification == []
