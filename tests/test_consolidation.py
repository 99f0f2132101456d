"""Tests for models.consolidation and planner consolidate (fast: tiny instances)."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from models import consolidation as M
from models.status import Status
from planner.core.params import ConsolidationParams, SolveParams
from planner.core.rules import ByStage, load_rules
from planner.outputs.consolidation import explanation_text
from tests.conftest import TINY_SCHOOLS, write_tiny

#: the limits of hunan-2023, written out: the tests below compute by hand with them
HUNAN = {"max_ride_min": 30.0, "bus_capacity": 56,
         "class_cap": (("primary", 45), ("junior", 50)),
         "floor_m2": (("primary", 4.5), ("junior", 5.8)),
         "sports_m2": (("primary", 7.5), ("junior", 10.2)),
         "classes_per_room": 12, "music_room_min_m2": 96.0, "art_room_min_m2": 90.0,
         "time_limit": 60.0, "seed": 0, "solver": "highs"}


def S(**kw) -> M.Settings:
    """Model settings: the hunan-2023 limits unless ``kw`` says otherwise."""
    return M.Settings(**{**HUNAN, **kw})


FAST = S(route_iterations=300)


def en(items) -> list[str]:
    return [explanation_text(e, "en") for e in items]


def line_problem(positions: dict[str, float], schools: list[M.School]) -> M.Problem:
    """Schools on a straight road at the given km; the bus runs 60 km/h, so
    minutes equal km."""
    ids = [s.id for s in schools]
    x = np.array([positions[i] for i in ids], dtype=float)
    km = np.abs(x[:, None] - x[None, :])
    return M.Problem(schools, km.copy(), km)


def receiver(sid="R", name="中心小学", pupils=400, classes=10, rooms=12, **kw) -> M.School:
    base = {"pupils_primary": pupils, "classes_primary": classes, "classrooms": rooms,
            "max_class_primary": 42, "building_area_m2": 1e5, "sports_area_m2": 1e5,
            "size_limit": 2000}
    base.update(kw)
    return M.School(sid, name, ("primary",), **base)


def small(sid, name, pupils) -> M.School:
    return M.School(sid, name, ("primary",), pupils_primary=pupils, classes_primary=2,
                    classrooms=3, max_class_primary=pupils, size_limit=2000)


# ------------------------------------------------------------- arithmetic


def test_new_classes_fill_existing_then_open():
    # 24 classes of 45 seats hold 1080; 1000 pupils leave 80 free seats.
    assert M.free_seats(1000, 24, 45) == 80
    assert M.new_classes_needed(1000, 24, 80, 45) == 0      # fits in free seats
    assert M.new_classes_needed(1000, 24, 81, 45) == 1      # 1 pupil spills over
    assert M.new_classes_needed(1000, 24, 80 + 90, 45) == 2
    assert M.new_classes_needed(1100, 24, 1, 45) == 1       # already over: no free seat
    assert M.new_classes_needed(1000, 24, 0, 45) == 0


def test_apportion_largest_remainder():
    assert M.apportion(48, [0.25] * 4) == [12, 12, 12, 12]
    assert M.apportion(62, [0.5, 0.5]) == [31, 31]
    assert M.apportion(7, [0.5, 0.5]) == [4, 3]             # tie: earlier row first
    assert M.apportion(10, [1 / 3] * 3) == [4, 3, 3]
    assert sum(M.apportion(97, [0.2, 0.3, 0.5])) == 97


def test_receiver_classrooms_message():
    # 24 classes, 1080 pupils (all 45-seat classes full), 24 rooms; 120 new
    # pupils need ceil(120/45) = 3 new classes -> 27 classes for 24 rooms.
    r = receiver("R", "岳化一小", pupils=1080, classes=24, rooms=24)
    newc, errs, _ = M.check_receiver(r, {"primary": 120}, S())
    assert newc["primary"] == 3
    assert en(errs) == ["岳化一小 needs 3 more classrooms: 27 classes for 24 rooms"]
    assert explanation_text(errs[0], "zh") == "岳化一小还需3间教室：27个班只有24间教室"
    assert errs[0].args == {"school": "岳化一小", "more": 3, "classes": 27, "classrooms": 24}


def test_receiver_size_area_and_rooms_messages():
    s = S()
    # size: 1990 + 20 > 2000
    r = receiver(pupils=1990, classes=45, rooms=60)
    _, errs, _ = M.check_receiver(r, {"primary": 20}, s)
    assert any(e.kind == "size" and "2010 pupils > 2000" in t for e, t in zip(errs, en(errs)))
    # floor area: 4.5 m² x (400 + 40) = 1980 needed, 1900 there -> 80 short
    r = receiver(building_area_m2=1900.0)
    _, errs, _ = M.check_receiver(r, {"primary": 40}, s)
    assert en([e for e in errs if e.kind == "floor"]) == [
        "中心小学 has 1900 m² of floor area, needs 1980 m² after the merge (indicator 4): 80 m² short"]
    assert explanation_text([e for e in errs if e.kind == "floor"][0], "zh") == \
        "中心小学校舍面积1900㎡，合并后需1980㎡（指标4），差80㎡"
    # sports: 7.5 x 440 = 3300 needed
    r = receiver(sports_area_m2=3000.0)
    _, errs, _ = M.check_receiver(r, {"primary": 40}, s)
    assert any(e.kind == "sports" and "needs 3300 m²" in t for e, t in zip(errs, en(errs)))
    # indicator 11: 12 classes + 1 new = 13 need 2 music and art rooms, has 1
    r = receiver(pupils=540, classes=12, rooms=20, music_rooms=1, art_rooms=1)
    _, errs, _ = M.check_receiver(r, {"primary": 10}, s)
    assert any(e.kind == "rooms11" for e in errs)
    # a junior pupil sent to a primary school
    _, errs, _ = M.check_receiver(receiver(), {"junior": 5}, s)
    assert any(e.kind == "stage" for e in errs)


def test_two_stage_receiver_weighted_area():
    # nine-year school: 300 primary + 200 junior need 4.5*300 + 5.8*200 = 2510 m²
    r = M.School("N", "九年制", ("primary", "junior"), pupils_primary=300, pupils_junior=200,
                 classes_primary=8, classes_junior=5, classrooms=20, building_area_m2=2600,
                 sports_area_m2=1e5, size_limit=2500)
    _, errs, _ = M.check_receiver(r, {"primary": 20}, S())   # 2600 = 2510 + 90
    assert not errs
    _, errs, _ = M.check_receiver(r, {"primary": 21}, S())   # 2604.5 > 2600
    assert [e.kind for e in errs] == ["floor"]


# ---------------------------------------------------------- plan mode routes


def test_hand_route_on_a_line():
    # A (km 0, 30 pupils) -- B (km 5, 20 pupils) -- R (km 10). One bus picks up
    # A then B: 10 km, 10 min; A's pupils ride 10 min, B's 5 min.
    # cost = 1 bus 100000 + 10 km x 2.5 x 2 x 2 x 190 (19000)
    #      + (30x10 + 20x5) pupil-min x 0.1 x 2 x 190 (15200) - 2 x 200000
    p = line_problem({"A": 0, "B": 5, "R": 10},
                     [small("A", "甲小学", 30), small("B", "乙小学", 20), receiver()])
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], FAST)
    assert res.status is Status.FEASIBLE and not res.closest
    assert [(r.stops, r.km, r.minutes) for r in res.routes] == [([("A", 30), ("B", 20)], 10, 10)]
    assert res.routes[0].arrive_min == [0, 5, 10]
    assert res.cost["buses_yuan"] == 100000 and res.cost["bus_km_yuan"] == 19000
    assert res.cost["ride_yuan"] == 15200
    assert res.cost["total_yuan"] == 100000 + 19000 + 15200 - 400000
    assert {a.school_id: a.ride_min for a in res.assignments} == {"A": 10, "B": 5}
    assert res.steps == ("assessment", "public_notice", "hearing", "approval")


def test_full_stop_gets_several_buses():
    # A has 60 pupils: one full bus (56) alone, 4 left; B 20 on the way.
    # Best: A(56) direct + A(4)->B(20) ; 2 buses, 20 km.
    p = line_problem({"A": 0, "B": 5, "R": 10},
                     [small("A", "甲小学", 60), small("B", "乙小学", 20), receiver()])
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], FAST)
    assert res.status is Status.FEASIBLE and res.buses == 2
    assert sorted(r.stops for r in res.routes) == [[("A", 4), ("B", 20)], [("A", 56)]]
    assert res.bus_km == 20
    assert all(r.pupils <= 56 for r in res.routes)


def test_ride_limit_explained_and_no_road():
    p = line_problem({"W": 0, "Y": 38}, [small("W", "五星小学", 48), receiver("Y", "云鹰小学")])
    res = M.evaluate_plan(p, [("W", "Y", 1)], S())
    assert res.status is Status.INFEASIBLE and res.closest    # the plan, with its shortfall
    assert en(res.explanations) == ["五星小学 → 云鹰小学: 38 min by road > 30 min limit"]
    assert [explanation_text(e, "zh") for e in res.explanations] == [
        "五星小学 → 云鹰小学：车程38分钟，超过30分钟上限"]
    assert res.routes == []
    p.minutes[0, 1] = p.km[0, 1] = math.inf
    res = M.evaluate_plan(p, [("W", "Y", 1)], S())
    assert [e.kind for e in res.explanations] == ["no_road"]


def test_split_school_over_receivers_and_verify():
    p = line_problem({"W": 0, "R1": 3, "R2": 6},
                     [small("W", "五星小学", 48), receiver("R1", "一小"), receiver("R2", "二小")])
    res = M.evaluate_plan(p, [("W", "R1", 0.5), ("W", "R2", 0.5)], FAST)
    assert sorted((a.receiving_school_id, a.pupils) for a in res.assignments) == [("R1", 24), ("R2", 24)]
    assert M.verify(p, res, FAST) == []
    assert res.closed == ["W"]


# ---------------------------------------------------------- optimise mode


def direct_cost(p: M.Problem, flows: dict, closed: list, s: M.Settings) -> float:
    c = s.costs
    tot = -len(closed) * c.school_yuan_per_year
    for (i, r), q in flows.items():
        a, b = p.index[i], p.index[r]
        tot += math.ceil(q / s.bus_capacity) * (c.bus_yuan_per_year + c.km_factor * p.km[a, b])
        tot += q * p.minutes[a, b] * c.ride_factor
    return tot


def brute_force(p: M.Problem, cands, recvs, s: M.Settings) -> float:
    """Enumerate every closure set and every integer split of each closed
    school's pupils over the reachable receivers; receivers limited by classrooms."""
    best = 0.0  # close nothing
    for k in range(1, len(cands) + 1):
        for closed in itertools.combinations(cands, k):
            options = []
            for i in closed:
                P = p.school(i).pupils_primary
                ok = [r for r in recvs if p.minutes[p.index[i], p.index[r]] <= s.max_ride_min]
                opts = [dict(zip(ok, split)) for split in itertools.product(range(P + 1), repeat=len(ok))
                        if sum(split) == P]
                options.append(opts)
            for combo in itertools.product(*options):
                flows, added = {}, {}
                for i, split in zip(closed, combo):
                    for r, q in split.items():
                        if q:
                            flows[(i, r)] = q
                            added[r] = added.get(r, 0) + q
                feasible = all(not M.check_receiver(p.school(r), {"primary": q}, s)[1]
                               for r, q in added.items())
                if feasible:
                    best = min(best, direct_cost(p, flows, list(closed), s))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_optimise_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    cands = ["A", "B", "C"]
    recvs = ["R1", "R2"]
    schools = [small(i, f"小{i}", int(rng.integers(2, 7))) for i in cands]
    # receivers with little room: 1 free seat and at most one new class of 4
    schools += [receiver(r, f"中心{r}", pupils=7, classes=2, rooms=int(rng.integers(2, 4)))
                for r in recvs]
    xy = rng.uniform(0, 20, size=(5, 2))
    km = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    p = M.Problem(schools, km * 2.0, km)
    costs = M.Costs(bus_yuan_per_year=3000, yuan_per_bus_km=1.0, yuan_per_pupil_minute=0.5,
                    school_yuan_per_year=6000)
    s = S(max_ride_min=30, bus_capacity=5, class_cap=(("primary", 4), ("junior", 50)),
          costs=costs, route_iterations=200)
    res = M.optimise(p, cands, recvs, s)
    assert res.status is Status.OPTIMAL
    want = brute_force(p, cands, recvs, s)
    assert res.mip_objective == pytest.approx(want, abs=1e-4)
    # routing may merge stops: never worse than the MIP's direct buses
    assert res.cost["total_yuan"] <= res.mip_objective + 0.05
    assert not res.explanations and M.verify(p, res, s) == []


def test_optimise_forbids_far_pairs():
    p = line_problem({"A": 0, "R": 40}, [small("A", "甲小学", 20), receiver()])
    res = M.optimise(p, ["A"], ["R"], S())
    assert res.closed == [] and res.routes == []
    assert any("40 min by road > 30 min limit" in w for w in en(res.warnings))


# ------------------------------------------------------------- adapter + CLI


CLOSURES_OK = "school_id,receiving_school_id,share\nS4,S1,1\n"


@pytest.fixture
def tiny(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    return folder


def test_consolidate_tiny_district(tiny):
    from planner.plans.consolidation import consolidate
    from planner.io.load import load_district
    d = load_district(tiny)
    o = consolidate(d, ConsolidationParams(closures=[("S4", "S1", 1.0)]), check_indicators=False)
    r = o.result
    assert o.status is Status.FEASIBLE and r.status is o.status and r.closed == ["S4"]
    assert r.routes[0].stops == [("S4", 40)] and r.routes[0].km > 5
    assert o.travel_source == "roads" and set(o.snap_m) == {"S1", "S4"}
    after = o.district_after
    assert "S4" not in set(after.schools["school_id"])
    s1 = after.schools.set_index("school_id").loc["S1"]
    # 600 pupils in 14 classes of 45 (630 seats): 30 free, 10 spill -> 1 new class
    assert s1["students_primary"] == 640 and s1["classes_primary"] == 15
    assert set(after.teachers.loc[after.teachers["teacher_id"] == "T08", "school_id"]) == {"S1"}
    assert [(x.teacher_id, x.to_school_id) for x in r.redeployments] == [("T08", "S1")]


def run_cli(args):
    from planner.cli import main
    return main(args)


def test_cli_writes_files_deterministically(tiny, tmp_path, capsys):
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES_OK, encoding="utf-8")
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}"
        assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(out),
                        "--lang", "en"]) == 0
        outs.append(out)
    names = sorted(p.name for p in outs[0].iterdir())
    assert names == ["assignments.csv", "consolidation.xlsx", "redeployment.csv", "routes.csv",
                     "routes.geojson",
                     "summary.json"]
    for n in names:
        a, b = (outs[0] / n).read_bytes(), (outs[1] / n).read_bytes()
        if n == "summary.json":
            ja, jb = json.loads(a), json.loads(b)
            ja.pop("solve_seconds"), jb.pop("solve_seconds")
            assert ja == jb
        else:
            assert a == b, n
    routes = (outs[0] / "routes.csv").read_text(encoding="utf-8-sig").splitlines()
    assert routes[0] == "route_id,bus,stop_order,stop_id,stop,pupils_boarding,arrive_min,km_from_start"
    assert routes[-1].split(",")[3] == "S1"           # last stop: the receiving school
    assign = (outs[0] / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()
    assert assign[0] == "school_id,school,receiving_school_id,receiving_school,stage,pupils,ride_min"
    summary = json.loads((outs[0] / "summary.json").read_text(encoding="utf-8"))
    for key in ("status", "objective", "gap", "solve_seconds", "solver", "closed", "buses",
                "bus_km", "max_ride_min", "annual_cost", "steps", "receivers"):
        assert key in summary
    assert summary["receivers"]["S1"]["after"]["12"]["value"] == 640
    gj = json.loads((outs[0] / "routes.geojson").read_text(encoding="utf-8"))
    f = gj["features"][0]
    assert f["geometry"]["type"] == "LineString" and len(f["geometry"]["coordinates"]) >= 2
    lon, lat = f["geometry"]["coordinates"][0]
    assert 113.0 <= lon <= 113.1 and 29.0 <= lat <= 29.1
    assert set(f["properties"]) >= {"route_id", "bus", "receiving_school", "km", "minutes"}
    assert not list(outs[0].glob(".*"))              # no temporary files left


@pytest.mark.parametrize("text, needle", [
    ("school_id,receiving_school_id,share\nS4,S1,0.5\nS4,S2,0.4\n", "row 3, column share"),
    ("school_id,receiving_school_id,share\nS9,S1,1\n", "row 2, column school_id: unknown school 'S9'"),
    ("school_id,share\nS4,1\n", "row 1, column receiving_school_id"),
    ("school_id,receiving_school_id,share\nS4,S1,abc\n", "row 2, column share"),
])
def test_cli_bad_closures_exit_2(tiny, tmp_path, capsys, text, needle):
    plan = tmp_path / "closures.csv"
    plan.write_text(text, encoding="utf-8")
    rc = run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "closures.csv" in err and needle in err


def test_cli_usage_errors(tiny, tmp_path, capsys):
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES_OK, encoding="utf-8")
    assert run_cli(["consolidate", str(tiny), "--out", str(tmp_path / "o")]) == 2
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(tiny / "out")]) == 2
    assert "refusing" in capsys.readouterr().err
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(tmp_path / "o"),
                    "--bus-capacity", "0"]) == 2


def test_formula_cells_escaped(tmp_path):
    schools = TINY_SCHOOLS.replace("山背教学点", "=HYPERLINK(1)")
    folder = write_tiny(tmp_path / "evil", schools=schools)
    plan = tmp_path / "c.csv"
    plan.write_text(CLOSURES_OK, encoding="utf-8")
    assert run_cli(["consolidate", str(folder), "--plan", str(plan), "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "routes.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


def test_cli_optimise_tiny(tiny, tmp_path):
    assert run_cli(["consolidate", str(tiny), "--optimise", "--out", str(tmp_path / "o"),
                    "--time-limit", "20"]) == 0
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert Status(s["status"]).has_plan and s["mode"] == "optimise"


# ----------------------------------------------------------------- Yunxi


YUNXI = Path(__file__).resolve().parents[1] / "geodata" / "yunxi" / "schools.csv"
PLAN = Path(__file__).resolve().parents[1] / "scenarios" / "yunxi-2024-closures.csv"


@pytest.mark.skipif(not YUNXI.exists(), reason="Yunxi bundle not present")
def test_yunxi_plan():
    from planner.plans.consolidation import consolidate
    from planner.io.load import load_district
    d = load_district(YUNXI.parent)
    o = consolidate(d, ConsolidationParams(closures=PLAN), check_indicators=False)
    r = o.result
    names = d.school_names()
    assert sorted(names[x] for x in r.closed) == sorted(
        ["滨湖小学", "南太小学", "和平小学", "臣山小学", "白荆小学", "黄皋小学", "望城小学",
         "五星小学", "八一小学"])
    assert r.max_ride_min <= 30 + 1e-6 and all(rt.pupils <= 56 for rt in r.routes)
    moved = sum(a.pupils for a in r.assignments)
    assert moved == sum(int(d.school(x)["students_primary"]) for x in r.closed)
    # every explanation is a real limit of a receiver, stated with numbers
    for e in r.explanations:
        assert e.kind in ("classrooms", "size", "floor", "sports", "rooms11", "ride"), e


def test_must_close_chooses_receivers():
    # Closing A saves less than its bus costs, so optimise leaves it open;
    # must_close forces it and picks the nearer receiver (R1 at 4 km, R2 at 9 km).
    p = line_problem({"A": 0, "R1": 4, "R2": 9},
                     [small("A", "甲小学", 20), receiver("R1", "一小"), receiver("R2", "二小")])
    s = S(costs=M.Costs(school_yuan_per_year=50_000), route_iterations=200)
    assert M.optimise(p, ["A"], ["R1", "R2"], s).closed == []
    res = M.optimise(p, ["A"], ["R1", "R2"], s, must_close=["A"])
    assert res.closed == ["A"] and [(a.receiving_school_id, a.pupils) for a in res.assignments] == [("R1", 20)]


def test_workbook_has_chinese_headers_and_costs_options(tiny, tmp_path):
    from openpyxl import load_workbook
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES_OK, encoding="utf-8")
    out = tmp_path / "wb"
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(out),
                    "--bus-yuan-per-year", "0", "--school-yuan-per-year", "0"]) == 0
    wb = load_workbook(out / "consolidation.xlsx")
    assert wb.sheetnames == ["撤并安排", "校车线路", "教师安置"]
    assert [c.value for c in wb["校车线路"][1]][:4] == ["线路", "车辆", "站序", "站点学校代码"]
    cost = json.loads((out / "summary.json").read_text(encoding="utf-8"))["annual_cost"]
    # no bus cost and no saving: the net cost is bus-km plus ride time alone
    assert cost["buses_yuan"] == 0 and cost["saving_yuan"] == 0
    assert cost["total_yuan"] == pytest.approx(cost["bus_km_yuan"] + cost["ride_yuan"])
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(tmp_path / "x"),
                    "--yuan-per-bus-km", "-1"]) == 2
