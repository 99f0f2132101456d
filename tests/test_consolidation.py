"""Tests for models.consolidation and planner consolidate (fast: tiny instances)."""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from models import consolidation as M
from models.status import Status
from planner.core.params import ConsolidationParams, SolveParams
from planner.core.rules import ByStage, load_rules
from planner.outputs.consolidation import explanation_text
from tests.conftest import TINY_SCHOOLS, TINY_UNITS, write_tiny

#: the limits of hunan-2023, written out: the tests below compute by hand with them
HUNAN = {"max_ride_min": 30.0, "bus_capacity": 56,
         "class_cap": (("primary", 45), ("junior", 50)),
         "floor_m2": (("primary", 4.5), ("junior", 5.8)),
         "sports_m2": (("primary", 7.5), ("junior", 10.2)),
         "classes_per_room": 12, "music_room_min_m2": 96.0, "art_room_min_m2": 90.0,
         "time_limit": 60.0, "seed": 0, "solver": "highs",
         # the timetable and routing defaults of ConsolidationParams, written out
         "walk_limit_m": 1000.0, "bell_min": 480.0, "bells": (), "latest_before_min": 5.0,
         "earliest_before_min": 30.0, "dwell_min": 1.0, "max_trips": 3, "route_seconds": 2.0}


def S(**kw) -> M.Settings:
    """Model settings: the hunan-2023 limits and the default timetable unless ``kw``
    says otherwise."""
    return M.Settings(**{**HUNAN, **kw})


#: hand-checked routing: no dwell at stops, one trip per bus, a short budget
HAND = {"dwell_min": 0.0, "max_trips": 1, "route_seconds": 0.2}
FAST = S(**HAND)


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
        ("中心小学 has 1900 m² of floor area, needs 1980 m² after the merge (indicator 4): "
         "80 m² short")]
    assert explanation_text(next(e for e in errs if e.kind == "floor"), "zh") == \
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
    # cost = 1 bus 80000 + a driver 36000 + an attendant 18000
    #      + 10 km x 2.5 x 2 x 2 x 190 (19000)
    #      + (30x10 + 20x5) pupil-min x 0.1 x 2 x 190 (15200) - 2 x 200000
    p = line_problem({"A": 0, "B": 5, "R": 10},
                     [small("A", "甲小学", 30), small("B", "乙小学", 20), receiver()])
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], FAST)
    assert res.status is Status.FEASIBLE and not res.closest
    assert [(r.stops, r.km, r.minutes) for r in res.routes] == [([("A", 30), ("B", 20)], 10, 10)]
    assert res.routes[0].arrive_min == [0, 5, 10]
    assert res.cost["buses_yuan"] == 80000 and res.cost["bus_km_yuan"] == 19000
    assert res.cost["drivers_yuan"] == 36000 and res.cost["attendants_yuan"] == 18000
    assert res.cost["ride_yuan"] == 15200
    assert res.cost["total_yuan"] == 80000 + 36000 + 18000 + 19000 + 15200 - 400000
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
    res = M.evaluate_plan(p, [("W", "Y", 1)], FAST)
    assert res.status is Status.INFEASIBLE and res.closest    # the plan, with its shortfall
    assert en(res.explanations) == ["五星小学 → 云鹰小学: 38 min by road > 30 min limit"]
    assert [explanation_text(e, "zh") for e in res.explanations] == [
        "五星小学 → 云鹰小学：车程38分钟，超过30分钟上限"]
    assert res.routes == []
    p.minutes[0, 1] = p.km[0, 1] = math.inf
    res = M.evaluate_plan(p, [("W", "Y", 1)], FAST)
    assert [e.kind for e in res.explanations] == ["no_road"]


def test_split_school_over_receivers_and_verify():
    p = line_problem({"W": 0, "R1": 3, "R2": 6},
                     [small("W", "五星小学", 48), receiver("R1", "一小"), receiver("R2", "二小")])
    res = M.evaluate_plan(p, [("W", "R1", 0.5), ("W", "R2", 0.5)], FAST)
    assert sorted((a.receiving_school_id, a.pupils) for a in res.assignments) == [
        ("R1", 24), ("R2", 24)]
    assert M.verify(p, res, FAST) == []
    assert res.closed == ["W"]


# ---------------------------------------------------------- optimise mode


def direct_cost(p: M.Problem, flows: dict, closed: list, s: M.Settings) -> float:
    c = s.costs
    tot = -len(closed) * c.school_yuan_per_year
    for (i, r), q in flows.items():
        a, b = p.index[i], p.index[r]
        tot += math.ceil(q / s.bus_capacity) * (c.per_bus + c.km_factor * p.km[a, b])
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
                opts = [dict(zip(ok, split))
                        for split in itertools.product(range(P + 1), repeat=len(ok))
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
    costs = M.Costs(bus_yuan_per_year=3000, driver_yuan_per_year=0, attendant_yuan_per_year=0,
                    yuan_per_bus_km=1.0, yuan_per_pupil_minute=0.5, school_yuan_per_year=6000)
    s = S(max_ride_min=30, bus_capacity=5, class_cap=(("primary", 4), ("junior", 50)),
          costs=costs, **HAND)
    res = M.optimise(p, cands, recvs, s)
    assert res.status is Status.OPTIMAL
    want = brute_force(p, cands, recvs, s)
    assert res.mip_objective == pytest.approx(want, abs=1e-4)
    # routing may merge stops (fewest trips first): never more buses than the MIP's
    # direct buses, one per pair and full load
    direct = sum(math.ceil(a.pupils / s.bus_capacity) for a in res.assignments)
    assert res.buses <= direct
    assert not res.explanations and M.verify(p, res, s) == []


def test_optimise_forbids_far_pairs():
    p = line_problem({"A": 0, "R": 40}, [small("A", "甲小学", 20), receiver()])
    res = M.optimise(p, ["A"], ["R"], FAST)
    assert res.closed == [] and res.routes == []
    assert any("40 min by road > 30 min limit" in w for w in en(res.warnings))


# ------------------------------------------------------------- adapter + CLI


CLOSURES_OK = "school_id,receiving_school_id,share\nS4,S1,1\n"


@pytest.fixture
def tiny(tmp_path):
    folder = write_tiny(tmp_path / "tiny")
    return folder


def test_consolidate_tiny_district(tiny):
    from planner.io.load import load_district
    from planner.plans.consolidation import consolidate
    d = load_district(tiny)
    o = consolidate(d, ConsolidationParams(closures=[("S4", "S1", 1.0)]), check_indicators=False)
    r = o.result
    assert o.status is Status.FEASIBLE and r.status is o.status and r.closed == ["S4"]
    # S4's pupils live in 山背村 (U3, its nearest unit), 1,108 m beyond the end of the
    # village road: more than the walking limit, so the bus drives in (access leg)
    assert r.routes[0].stops == [("U3", 40)]
    assert r.routes[0].km == pytest.approx(5.6271 + 1.1080, abs=1e-3)
    assert [(b.unit_id, b.school_id, b.pupils, b.walk_m) for b in r.boarding] == [
        ("U3", "S4", 40, 0.0)]
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
    # the output contract adds its marker (hidden) and timings.json (times: differ)
    assert (outs[0] / ".planner-output.json").is_file() and (outs[0] / "timings.json").is_file()
    names = sorted(p.name for p in outs[0].iterdir()
                   if not p.name.startswith(".") and p.name != "timings.json")
    assert names == ["assignments.csv", "boarding.csv", "consolidation.xlsx",
                     "redeployment.csv", "routes.csv", "routes.geojson", "summary.json"]
    for n in names:
        a, b = (outs[0] / n).read_bytes(), (outs[1] / n).read_bytes()
        if n == "summary.json":
            ja, jb = json.loads(a), json.loads(b)
            ja.pop("solve_seconds"), jb.pop("solve_seconds")
            assert ja == jb
        else:
            assert a == b, n
    routes = (outs[0] / "routes.csv").read_text(encoding="utf-8-sig").splitlines()
    assert routes[0] == ("route_id,bus,stop_order,stop_id,stop,pupils_boarding,arrive_min,"
                         "km_from_start,trip,clock,stop_kind,lon,lat")
    # 15.58 min to arrive by 07:55 (bell 08:00, 5 min margin): leaves at 07:39
    assert routes[1].split(",")[8:11] == ["1", "07:39", "unit"]
    assert routes[-1].split(",")[8:11] == ["1", "07:54", "school"]
    assert routes[-1].split(",")[3] == "S1"           # last stop: the receiving school
    assign = (outs[0] / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()
    assert assign[0] == ("school_id,school,receiving_school_id,receiving_school,stage,pupils,"
                         "ride_min")
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
    assert [p.name for p in outs[0].glob(".*")] == [".planner-output.json"]  # no temp files


@pytest.mark.parametrize("text, needle", [
    ("school_id,receiving_school_id,share\nS4,S1,0.5\nS4,S2,0.4\n", "row 3, column share"),
    ("school_id,receiving_school_id,share\nS9,S1,1\n",
     "row 2, column school_id: unknown school 'S9'"),
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
    assert run_cli(["consolidate", str(folder), "--plan", str(plan),
                    "--out", str(tmp_path / "o")]) == 0
    text = (tmp_path / "o" / "boarding.csv").read_text(encoding="utf-8-sig")
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
    from planner.io.load import load_district
    from planner.plans.consolidation import consolidate
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
        assert e.kind in ("classrooms", "size", "floor", "sports", "rooms11", "ride",
                          "stop_ride"), e


def test_must_close_chooses_receivers():
    # Closing A saves less than its bus costs, so optimise leaves it open;
    # must_close forces it and picks the nearer receiver (R1 at 4 km, R2 at 9 km).
    p = line_problem({"A": 0, "R1": 4, "R2": 9},
                     [small("A", "甲小学", 20), receiver("R1", "一小"), receiver("R2", "二小")])
    s = S(costs=M.Costs(school_yuan_per_year=50_000), **HAND)
    assert M.optimise(p, ["A"], ["R1", "R2"], s).closed == []
    res = M.optimise(p, ["A"], ["R1", "R2"], s, must_close=["A"])
    assert res.closed == ["A"]
    assert [(a.receiving_school_id, a.pupils) for a in res.assignments] == [("R1", 20)]


def test_workbook_has_chinese_headers_and_costs_options(tiny, tmp_path):
    from openpyxl import load_workbook
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES_OK, encoding="utf-8")
    out = tmp_path / "wb"
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(out),
                    "--bus-yuan-per-year", "0", "--school-yuan-per-year", "0"]) == 0
    wb = load_workbook(out / "consolidation.xlsx")
    assert wb.sheetnames == ["撤并安排", "校车线路", "乘车安排", "教师安置", "年度成本与节约",
                             "校车线路许可", "撤并程序", "接收学校指标"]
    assert [c.value for c in wb["校车线路"][1]][:4] == ["线路", "车辆", "站序", "站点代码"]
    cost = json.loads((out / "summary.json").read_text(encoding="utf-8"))["annual_cost"]
    # no vehicle cost and no saving: the net cost is the crew, bus-km and ride time
    assert cost["buses_yuan"] == 0 and cost["saving_yuan"] == 0
    assert cost["drivers_yuan"] == 36000 and cost["attendants_yuan"] == 18000
    assert cost["total_yuan"] == pytest.approx(cost["bus_km_yuan"] + cost["ride_yuan"]
                                               + 36000 + 18000)
    costs = [[c.value for c in row] for row in wb["年度成本与节约"].iter_rows()]
    assert costs[0] == ["项目", "数量", "单价", "每年（元）", "单价来源"]
    assert [row[3] for row in costs[1:]][-1] == round(cost["total_yuan"])
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan), "--out", str(tmp_path / "x"),
                    "--yuan-per-bus-km", "-1"]) == 2


# ------------------------------------------- one source of rules and settings


def tiny_district(tmp_path, schools: str = TINY_SCHOOLS):
    from planner.io.load import load_district
    return load_district(write_tiny(tmp_path / "tiny", schools=schools))


def plan(closures=(("S4", "S1", 1.0),), **kw) -> ConsolidationParams:
    return ConsolidationParams(closures=list(closures), **kw)


def run(d, params, **kw):
    from planner.plans.consolidation import consolidate
    return consolidate(d, params, kw.pop("solve", SolveParams()), check_indicators=False, **kw)


def test_consolidate_signature():
    from planner.plans.consolidation import consolidate
    sig = inspect.signature(consolidate)
    assert [(p.name, p.kind.name, p.default) for p in sig.parameters.values()] == [
        ("district", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("params", "POSITIONAL_OR_KEYWORD", ConsolidationParams()),
        ("solve", "POSITIONAL_OR_KEYWORD", SolveParams()),
        ("rules", "KEYWORD_ONLY", None), ("receivers", "KEYWORD_ONLY", None),
        ("candidates", "KEYWORD_ONLY", None), ("must_close", "KEYWORD_ONLY", ()),
        ("check_indicators", "KEYWORD_ONLY", True)]


def test_model_settings_come_from_the_standard():
    # every limit of the model is the standard's: the adapter builds exactly the
    # hunan-2023 numbers written out above, and nothing in the model has a default
    from planner.plans.consolidation import model_settings, resolve_params
    rules = load_rules("hunan-2023")
    params = resolve_params(ConsolidationParams(), rules)
    assert (params.max_ride_min, params.bus_capacity, params.candidates_max_pupils) == (
        30.0, 56, 100)
    assert model_settings(params, SolveParams(), rules) == S()
    required = [f.name for f in dataclasses.fields(M.Settings)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    assert required == list(HUNAN)
    assert dataclasses.fields(M.School)[-1].name == "size_limit"
    with pytest.raises(TypeError):
        M.School("X", "x")                        # no size limit: no default of the standard


def test_mode_has_an_effect(tmp_path):
    # plan: the closures as given (S4 to the nine-year school S3, 14.5 km);
    # optimise: the model chooses, and S4's pupils go to the nearer S1 (5.6 km)
    d = tiny_district(tmp_path)
    p = run(d, plan([("S4", "S3", 1.0)]))
    o = run(d, ConsolidationParams(mode="optimise"))
    assert (p.result.mode, p.result.solver, p.result.mip_objective) == ("plan", "pyvrp", None)
    assert [(a.receiving_school_id, a.pupils) for a in p.result.assignments] == [("S3", 40)]
    assert (o.result.mode, o.result.solver) == ("optimise", "highs")
    assert [(a.receiving_school_id, a.pupils) for a in o.result.assignments] == [("S1", 40)]
    assert o.status is Status.OPTIMAL and o.plan == [("S4", "S1", 1.0)]


def test_closures_have_an_effect(tmp_path):
    d = tiny_district(tmp_path)
    whole = run(d, plan())
    split = run(d, plan([("S4", "S1", 0.5), {"school_id": "S4", "receiving_school_id": "S3",
                                              "share": 0.5}]))
    assert [(a.receiving_school_id, a.pupils) for a in whole.result.assignments] == [("S1", 40)]
    assert [(a.receiving_school_id, a.pupils) for a in split.result.assignments] == [
        ("S1", 20), ("S3", 20)]
    assert split.result.buses == 2 and whole.result.buses == 1
    f = tmp_path / "closures.csv"
    f.write_text("学校代码,接收学校代码,比例\nS4,S1,0.5\nS4,S3,0.5\n", encoding="utf-8")
    from_file = run(d, ConsolidationParams(closures=f))
    assert from_file.plan == split.plan and from_file.result.cost == split.result.cost


def test_max_ride_min_has_an_effect(tmp_path):
    # U3 (山背村) → S1: the 1,108 m access leg at 20 km/h (3.32 min), S4's site → S1
    # 5.63 km on a 30 km/h road (11.25 min), one minute at the stop: 15.58 min
    d = tiny_district(tmp_path)
    ok = run(d, plan())
    assert ok.status is Status.FEASIBLE
    access = 1108.5 / (20 / 3.6) / 60        # 1,108.5 m in UTM metres at 20 km/h
    assert ok.result.max_ride_min == pytest.approx(11.2544 + access + 1.0, abs=1e-3)
    short = run(d, plan(max_ride_min=15))
    assert short.status is Status.INFEASIBLE and short.result.closest
    assert en(short.result.explanations) == [
        "山背村 (山背教学点 pupils) → 城关小学: 16 min by road > 15 min limit"]
    assert short.params.max_ride_min == 15.0 and short.settings.max_ride_min == 15.0


def test_bus_capacity_has_an_effect(tmp_path):
    d = tiny_district(tmp_path)
    assert [rt.pupils for rt in run(d, plan()).result.routes] == [40]
    small_buses = run(d, plan(bus_capacity=15))
    assert sorted(rt.pupils for rt in small_buses.result.routes) == [10, 15, 15]
    assert small_buses.result.cost["buses_yuan"] == 3 * M.Costs().bus_yuan_per_year


def test_candidates_max_pupils_has_an_effect(tmp_path):
    # S4 has 40 pupils: a candidate under 100 (the standard's), not under 40
    d = tiny_district(tmp_path)
    assert run(d, ConsolidationParams(mode="optimise")).result.closed == ["S4"]
    o = run(d, ConsolidationParams(mode="optimise", candidates_max_pupils=40))
    assert o.result.closed == [] and o.result.assignments == []
    assert o.params.candidates_max_pupils == 40


COST_FIELDS = [f.name for f in dataclasses.fields(M.Costs)]


def expected_cost(c: M.Costs, buses: int, km: float, pupil_minutes: float, closed: int) -> float:
    """The annual cost of the module docstring, by hand (no empty runs: one trip)."""
    return (buses * (c.bus_yuan_per_year + c.driver_yuan_per_year + c.attendant_yuan_per_year)
            + km * c.yuan_per_bus_km * c.trips_per_day * c.directions * c.school_days
            + pupil_minutes * c.yuan_per_pupil_minute * c.trips_per_day * c.school_days
            - closed * c.school_yuan_per_year)


@pytest.mark.parametrize("name", COST_FIELDS)
def test_every_cost_has_its_effect(tmp_path, name):
    from planner.outputs.consolidation import summary_dict
    d = tiny_district(tmp_path)
    base = run(d, plan())
    r = base.result
    km = r.bus_km
    pm = sum(q * (rt.arrive_min[-1] - rt.arrive_min[k]) for rt in r.routes
             for k, (_, q) in enumerate(rt.stops))
    assert r.cost["total_yuan"] == pytest.approx(expected_cost(M.Costs(), 1, km, pm, 1), abs=0.02)
    costs = dataclasses.replace(M.Costs(), **{name: 2 * getattr(M.Costs(), name)})
    o = run(d, plan(costs=costs))
    assert o.result.cost["total_yuan"] == pytest.approx(expected_cost(costs, 1, km, pm, 1),
                                                        abs=0.02)
    assert o.result.cost["total_yuan"] != r.cost["total_yuan"]
    assert summary_dict(o)["settings"]["costs"][name] == 2 * getattr(M.Costs(), name)


def test_costs_change_the_optimised_plan(tmp_path):
    # with no saving from a closed school, closing S4 only costs: optimise keeps it open
    d = tiny_district(tmp_path)
    o = run(d, ConsolidationParams(mode="optimise", costs=M.Costs(school_yuan_per_year=0)))
    assert o.result.closed == [] and o.status is Status.OPTIMAL


def test_variant_standard_drives_plan_and_verifier(tmp_path):
    from planner.outputs.consolidation import write_files
    from planner.verify.consolidation import verify_consolidation
    d = tiny_district(tmp_path)
    hunan = load_rules("hunan-2023")
    # class cap 30: S1's 14 classes (600 pupils) have no free seat, so its 40 new
    # pupils need ceil(40 / 30) = 2 new classes (1 with the cap of 45)
    cap30 = dataclasses.replace(hunan, max_class=ByStage(30, 50))
    o = run(d, plan(), rules=cap30)
    assert o.result.new_classes == {("S1", "primary"): 2} and o.status is Status.FEASIBLE
    assert run(d, plan()).result.new_classes == {("S1", "primary"): 1}
    s1 = o.district_after.schools.set_index("school_id").loc["S1"]
    assert s1["classes_primary"] == 16
    out = write_files(o, tmp_path / "cap30")
    assert out and verify_consolidation(d, tmp_path / "cap30", o.params, cap30) == []
    # school size 620: S1 would have 640 pupils; the model and the verifier both say so
    small_schools = dataclasses.replace(hunan, school_size_single=620)
    o = run(d, plan(), rules=small_schools)
    assert o.status is Status.INFEASIBLE
    assert en(o.result.explanations) == ["城关小学 would have 640 pupils > 620 (indicator 12)"]
    write_files(o, tmp_path / "size")
    assert verify_consolidation(d, tmp_path / "size", o.params, small_schools) == [
        "consolidation: S1 would have 640 pupils > 620"]
    assert verify_consolidation(d, tmp_path / "size", o.params, hunan) == []
    # ride limit, bus capacity and the candidates threshold of the standard's
    # transport and consolidation sections, used when the params leave them unset
    strict = dataclasses.replace(hunan, candidates_max_pupils=30, transport=dataclasses.replace(
        hunan.transport, bus_capacity=15, max_ride_min=16.0))
    o = run(d, plan(), rules=strict)
    assert (o.params.max_ride_min, o.params.bus_capacity) == (16.0, 15)
    assert sorted(rt.pupils for rt in o.result.routes) == [10, 15, 15]
    assert run(d, ConsolidationParams(mode="optimise"), rules=strict).result.closed == []
    assert run(d, plan(max_ride_min=10), rules=strict).params.max_ride_min == 10.0


def test_teacher_shortages_from_the_floors(tmp_path):
    # S1 (primary) after taking S4's 40 pupils: 640 pupils; its roster has 2
    # qualified, 1 backbone and 1 PE/art teacher. Floors 4.2, 1.0 and 0.9 per 100:
    # ceil(26.88) - 2 = 25, ceil(6.4) - 1 = 6, ceil(5.76) - 1 = 5
    from planner.plans.consolidation import teacher_shortages
    d = tiny_district(tmp_path)
    hunan = load_rules("hunan-2023")
    short = teacher_shortages(d, hunan, {("S1", "primary"): 40}, ["S4"])
    assert short[("S1", "primary")] == {"qualified": 25, "backbone": 6, "pe_art": 5}
    rule1 = dataclasses.replace(hunan.rule(1), threshold=ByStage(1.0, 5.3))
    lower = dataclasses.replace(hunan, per_pupil=(rule1, *hunan.per_pupil[1:]))
    assert teacher_shortages(d, lower, {("S1", "primary"): 40}, ["S4"])[("S1", "primary")] == {
        "qualified": 5, "backbone": 6, "pe_art": 5}


def test_user_errors_are_plan_input_errors(tmp_path):
    from planner.core.errors import DataError, PlanInputError
    d = tiny_district(tmp_path)
    cases = [
        (ConsolidationParams(), {}, "mode plan needs a closures file or list"),
        (ConsolidationParams(mode="optimise", closures=[("S4", "S1")]), {},
         "consolidation.closures: given, but mode is optimise"),
        (ConsolidationParams(mode="optimise"), {"must_close": ["S9"]},
         "consolidation must_close: unknown school(s) S9"),
        (plan(), {"candidates": ["S4"]}, "candidates apply to mode optimise only"),
        (ConsolidationParams(mode="guess"), {}, "consolidation.mode: 'guess' is not one of"),
    ]
    for params, kw, needle in cases:
        with pytest.raises(PlanInputError, match=re.escape(needle)):
            run(d, params, **kw)
    with pytest.raises(DataError, match="closures row 1, column receiving_school_id: S4 cannot"):
        run(d, plan([("S4", "S4")]))
    # a school farther from every road than the district allows
    far = d.schools.copy()
    far.loc[far["school_id"] == "S4", "lon"] = 113.031          # about 100 m off its road
    d2 = dataclasses.replace(d.with_schools(far), settings=dataclasses.replace(
        d.settings, max_access_m=50.0))
    with pytest.raises(PlanInputError, match=r"schools\.csv: 1 point\(s\) lie farther than 50 m "
                                             r"from every road: S4"):
        run(d2, plan())


def test_straight_line_travel_from_the_district_settings(tmp_path):
    from geodata.travel import haversine_km
    from planner.outputs.consolidation import routes_geojson, summary_dict
    d = tiny_district(tmp_path)
    flat = dataclasses.replace(d, roads=None, settings=dataclasses.replace(
        d.settings, travel_detour_factor=2.0, travel_fallback_speed_kmh=40.0))
    o = run(flat, plan())
    # the pupils board in 山背村 (U3, 113.03 / 29.08); one minute at the stop
    km = 2.0 * float(haversine_km(113.03, 29.08, 113.02, 29.02))
    assert o.result.bus_km == pytest.approx(km) and o.travel_source == "straight_line"
    assert o.result.max_ride_min == pytest.approx(km / 40.0 * 60.0 + 1.0)
    s = summary_dict(o, "zh")
    assert s["travel"] == "straight_line"
    assert s["travel_matrix"] == {"source": "straight_line", "detour_factor": 2.0,
                                  "speed_kmh": 40.0}
    assert s["notes"] == ["无道路数据：车程按直线距离×2、时速40公里估算"]
    assert summary_dict(o, "en")["notes"] == [
        "no roads: travel is the straight line x 2 at 40 km/h"]
    assert routes_geojson(o)["features"][0]["geometry"]["coordinates"] == [[113.03, 29.08],
                                                                          [113.02, 29.02]]
    on_roads = summary_dict(run(d, plan()))
    assert on_roads["travel"] == "roads" and on_roads["travel_matrix"]["source"] == "roads"
    assert on_roads["notes"] == [] and on_roads["snap_m"] == {"S1": 0.0, "S4": 0.0}


def test_infeasible_plan_exits_3_and_names_the_limit(tiny, tmp_path, capsys):
    plan_file = tmp_path / "closures.csv"
    plan_file.write_text(CLOSURES_OK, encoding="utf-8")
    out = tmp_path / "o"
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan_file), "--out", str(out),
                    "--max-ride-min", "5", "--lang", "en"]) == 3
    printed = capsys.readouterr().out.splitlines()
    assert "status: infeasible" in printed
    # even from the school's own site the ride is too long: the pair is named
    why = "山背教学点 → 城关小学: 11 min by road > 5 min limit"
    assert f"infeasible: {why}" in printed
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible" and summary["settings"]["max_ride_min"] == 5.0
    assert summary["explanations"] == [why]


def test_command_line_options_make_the_params(tmp_path):
    from planner.cli import build_parser
    from planner.cli.consolidate import params_from_args
    args = build_parser().parse_args([
        "consolidate", "--plan", "c.csv", "--out", "o", "--max-ride-min", "40",
        "--bus-capacity", "30", "--candidates-max-pupils", "50", "--time-limit", "5",
        "--seed", "3", "--solver", "cbc", "--bus-yuan-per-year", "1", "--yuan-per-bus-km", "2",
        "--yuan-per-pupil-minute", "3", "--school-yuan-per-year", "4"])
    params, solve = params_from_args(args)
    assert params == ConsolidationParams(
        mode="plan", closures=Path("c.csv"), max_ride_min=40.0, bus_capacity=30,
        candidates_max_pupils=50, costs=M.Costs(bus_yuan_per_year=1, yuan_per_bus_km=2,
                                                yuan_per_pupil_minute=3, school_yuan_per_year=4))
    assert solve == SolveParams(solver="cbc", time_limit=5.0, seed=3)
    args = build_parser().parse_args(["consolidate", "--optimise", "--out", "o"])
    assert params_from_args(args) == (ConsolidationParams(mode="optimise"), SolveParams())


def test_verify_dir_uses_the_folders_settings(tmp_path):
    # S4 with 60 pupils goes to S1 in one 70-seat bus: right for the plan's own
    # settings (summary.json), wrong for the standard's 56 seats
    from planner.io.load import load_district
    from planner.verify import verify_dir
    from planner.verify.consolidation import verify_consolidation
    schools = TINY_SCHOOLS.replace("S1,113.03,29.07,40,0,3,0,15,0", "S1,113.03,29.07,60,0,3,0,20,0")
    folder = write_tiny(tmp_path / "sixty", schools=schools)
    closures = tmp_path / "closures.csv"
    closures.write_text(CLOSURES_OK, encoding="utf-8")
    out = tmp_path / "o"
    assert run_cli(["consolidate", str(folder), "--plan", str(closures), "--out", str(out),
                    "--bus-capacity", "70"]) == 0
    d = load_district(folder)
    assert verify_dir(out, d) == []
    assert verify_consolidation(d, out, ConsolidationParams()) == [
        "consolidation: route S1-01 carries 60 pupils > bus capacity 56"]


EXPLANATION_SAMPLES = [
    ("stage", {"stage": "junior", "pupils": 5}),
    ("classrooms", {"more": 1, "classes": 25, "classrooms": 24}),
    ("size", {"pupils": 2010, "limit": 2000}),
    ("floor", {"area": 1900.0, "need": 1980.0, "short": 80.0}),
    ("sports", {"area": 3000.0, "need": 3300.0, "short": 300.0}),
    ("floor_no_data", {}), ("sports_no_data", {}),
    ("rooms11", {"classes": 13, "rooms_needed": 2, "have": 1}),
    ("class_size", {"stage": "primary", "max_class": 51, "cap": 45}),
    ("no_road", {"receiver": "乙"}), ("ride", {"receiver": "乙", "minutes": 38.2, "limit": 30.0}),
    ("capacity", {"route": "R-01", "pupils": 60, "capacity": 56}), ("route", {"route": "R-01"}),
    ("route_ride", {"route": "R-01", "minutes": 31.0, "limit": 30.0}),
    ("unrouted", {"receiver": "乙", "missing": 3}),
]


@pytest.mark.parametrize("kind, values", EXPLANATION_SAMPLES)
def test_every_explanation_has_words_in_both_languages(kind, values):
    e = M.Explanation(kind, "A", "B", tuple({"school": "甲", **values}.items()))
    for lang in ("zh", "en"):
        text = explanation_text(e, lang)
        assert text and "{" not in text and "}" not in text
    assert explanation_text(e, "zh") != explanation_text(e, "en")


def test_explanation_words_as_before():
    # the texts summary.json had before the words moved to the catalogue
    def mk(kind, **v):
        return M.Explanation(kind, "A", "", tuple(v.items()))
    assert explanation_text(mk("class_size", school="云溪小学", stage="primary", max_class=51,
                               cap=45), "zh") == (
                                   "云溪小学合并前最大班额51人已超过45人（指标13），新生不进入满额班")
    assert explanation_text(mk("stage", school="甲", stage="junior", pupils=5), "zh") == \
        "甲没有初中学段，不能接收5名初中生"
    assert explanation_text(mk("classrooms", school="甲", more=2, classes=26, classrooms=24),
                            "en") == "甲 needs 2 more classrooms: 26 classes for 24 rooms"
    assert explanation_text(mk("sports", school="甲", area=3000.5, need=3300.0, short=299.5),
                            "zh") == "甲运动场馆面积3000.5㎡，合并后需3300㎡（指标5），差299.5㎡"


def test_redeployment_reasons_are_codes(tiny, tmp_path):
    from planner.outputs.consolidation import reason_text
    assert M.REASONS == ("follows_pupils", "short_backbone", "short_pe_art", "short_qualified",
                         "no_receiver")
    assert [reason_text(r, "zh") for r in M.REASONS] == [
        "随学生到接收学校", "补足骨干教师（指标2）", "补足体育艺术教师（指标3）",
        "补足高学历教师（指标1）", "无接收学校，由教育局安排"]
    assert reason_text("short_qualified", "en") == "indicator 1: qualified short"
    plan_file = tmp_path / "closures.csv"
    plan_file.write_text(CLOSURES_OK, encoding="utf-8")
    out = tmp_path / "o"
    assert run_cli(["consolidate", str(tiny), "--plan", str(plan_file), "--out", str(out)]) == 0
    text = (out / "redeployment.csv").read_text(encoding="utf-8-sig").splitlines()
    assert text[1].endswith(",随学生到接收学校")


@pytest.mark.parametrize("status", [Status.NO_PLAN_IN_TIME, Status.ERROR, Status.INFEASIBLE])
def test_solver_status_is_passed_through(monkeypatch, status):
    # no plan from the MIP: the solver's own status, not "infeasible" for all
    real = M.solve_problem

    def no_plan(prob, **kw):
        return dataclasses.replace(real(prob, **kw), status=status, objective=None)

    monkeypatch.setattr(M, "solve_problem", no_plan)
    p = line_problem({"A": 0, "R": 4}, [small("A", "甲小学", 20), receiver()])
    res = M.optimise(p, ["A"], ["R"], FAST)
    assert res.status is status and not res.status.has_plan
    assert not res.closest and res.closed == [] and res.routes == []


def test_bad_option_values_exit_2(tiny, tmp_path, capsys):
    plan_file = tmp_path / "closures.csv"
    plan_file.write_text(CLOSURES_OK, encoding="utf-8")
    base = ["consolidate", str(tiny), "--plan", str(plan_file), "--out", str(tmp_path / "o")]
    for extra, needle in ((["--bus-capacity", "2.5"],
                           "--bus-capacity 2.5: not a positive whole number"),
                          (["--max-ride-min", "soon"], "--max-ride-min soon: not a positive"),
                          (["--max-ride-min", "-3"], "--max-ride-min -3: not a positive"),
                          (["--solver", "gurobi"], "--solver gurobi: not one of highs, cbc")):
        assert run_cli(base + extra) == 2
        assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# --------------------------------------------- pupils board near home, on a timetable


def village_problem(schools: list[M.School], at: dict[str, float], villages: dict[str, float],
                    homes: list[tuple[str, str, int, int]]) -> M.Problem:
    """Schools and villages on a straight road at the given km (60 km/h: minutes equal
    km); ``homes``: (school, village, pupils, of them grades 1-3), all primary."""
    ids = [s.id for s in schools] + list(villages)
    x = np.array([at[s.id] for s in schools] + list(villages.values()), dtype=float)
    km = np.abs(x[:, None] - x[None, :])
    units = [M.Unit(v, f"{v}村", len(schools) + k) for k, v in enumerate(villages)]
    pos = {v: k for k, v in enumerate(villages)}
    vx = np.array(list(villages.values())) * 1000.0
    walk = np.abs(vx[:, None] - vx[None, :])
    assert len(ids) == len(set(ids))
    return M.Problem(schools, km.copy(), km, units=units, walk_m=walk,
                     homes=[M.Home(s, pos[v], "primary", q, y) for s, v, q, y in homes])


def test_two_closed_schools_share_one_bus():
    # A (20 pupils, village UA at km -1) and B (15 pupils, village UB at km 2) both
    # go to R at km 10. One trip: UA -> UB (3 km + 1 min at the stop) -> R (8 km + 1
    # min): 13 minutes, 11 km, 35 pupils in one 56-seat bus (two direct trips would
    # need two buses: one trip each, as max_trips is 1 here).
    p = village_problem([small("A", "甲小学", 20), small("B", "乙小学", 15), receiver()],
                        {"A": 0, "B": 3, "R": 10}, {"UA": -1, "UB": 2},
                        [("A", "UA", 20, 10), ("B", "UB", 15, 7)])
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], S(max_trips=1))
    assert res.status is Status.FEASIBLE and res.buses == 1 and res.trips == 1
    rt = res.routes[0]
    assert rt.stops == [("UA", 20), ("UB", 15)] and rt.km == 11 and rt.minutes == 13
    assert rt.arrive_min == [0, 4, 13]
    assert sorted((b.unit_id, b.school_id, b.pupils) for b in res.boarding) == [
        ("UA", "A", 20), ("UB", "B", 15)]
    # bell 08:00, 5 minutes' margin: it leaves UA at 07:42 and arrives 07:55
    assert (rt.depart, rt.arrive) == (462, 475)
    assert {a.school_id: a.ride_min for a in res.assignments} == {"A": 13, "B": 9}
    assert M.verify(p, res, S(max_trips=1)) == []


def test_clock_times_right_across_the_hour():
    # the same trip to a school ringing at 08:10: arrive by 08:05, leave 07:52,
    # second stop 07:56 -- pick-ups before the hour, arrival after it
    from models.timetable import clock
    p = village_problem([small("A", "甲小学", 20), small("B", "乙小学", 15), receiver()],
                        {"A": 0, "B": 3, "R": 10}, {"UA": -1, "UB": 2},
                        [("A", "UA", 20, 10), ("B", "UB", 15, 7)])
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], S(bells=(("R", 490.0),)))
    rt = res.routes[0]
    assert [clock(rt.depart + m) for m in rt.arrive_min] == ["07:52", "07:56", "08:05"]
    # the default bell for a school not named: 08:00
    res = M.evaluate_plan(p, [("A", "R", 1), ("B", "R", 1)], S(bells=(("X", 490.0),)))
    assert clock(res.routes[0].arrive) == "07:55"


def two_receivers(**kw) -> tuple[M.Problem, M.Settings]:
    # A's 40 pupils (village UA, km 0) go to R1 at km 5; B's 40 (UB, km 20) to R2 at
    # km 15. Each trip takes 5 km + 1 min at the stop = 6 min; after the first the bus
    # unloads 1 min and runs 15 km empty (R1 -> UB): 6 + 1 + 15 + 6 = 28 minutes.
    p = village_problem([small("A", "甲小学", 40), small("B", "乙小学", 40),
                         receiver("R1", "一小"), receiver("R2", "二小")],
                        {"A": 1, "B": 19, "R1": 5, "R2": 15}, {"UA": 0, "UB": 20},
                        [("A", "UA", 40, 20), ("B", "UB", 40, 20)])
    return p, S(**kw)


def test_a_second_trip_before_the_bell_saves_a_bus():
    p, s = two_receivers(max_trips=2)
    res = M.evaluate_plan(p, [("A", "R1", 1), ("B", "R2", 1)], s)
    assert res.status is Status.FEASIBLE and res.buses == 1 and res.trips == 2
    first, second = res.routes
    assert (first.receiving_school_id, first.trip, second.trip) == ("R1", 1, 2)
    # latest schedule: trip 2 leaves UB 07:49, arrives 07:55; trip 1 leaves UA at
    # 07:49 - 15 - 1 - 6 = 07:27 and arrives 07:33 (within 07:30-07:55)
    assert (first.depart, first.arrive, second.depart, second.arrive) == (447, 453, 469, 475)
    assert res.empty_km == 15 and res.bus_km == 25
    assert M.verify(p, res, s) == []
    one, s1 = two_receivers(max_trips=1)
    alone = M.evaluate_plan(one, [("A", "R1", 1), ("B", "R2", 1)], s1)
    assert alone.buses == 2 and alone.empty_km == 0
    c = M.Costs()
    assert alone.cost["total_yuan"] - res.cost["total_yuan"] == pytest.approx(
        c.per_bus - 15 * c.empty_km_factor)
    # buses may not arrive before 07:40: no time for the second trip
    late, s2 = two_receivers(max_trips=2, earliest_before_min=20.0)
    assert M.evaluate_plan(late, [("A", "R1", 1), ("B", "R2", 1)], s2).buses == 2


def test_verify_catches_overlapping_trips_and_a_missed_window():
    p, s = two_receivers(max_trips=2)
    res = M.evaluate_plan(p, [("A", "R1", 1), ("B", "R2", 1)], s)
    res.routes[1].depart = 460.0                      # 7 minutes after trip 1 arrives
    assert [e.kind for e in M.verify(p, res, s)] == ["overlap"]
    res.routes[1].depart = 471.0                      # arrives 07:57 > 07:55
    assert [e.kind for e in M.verify(p, res, s)] == ["window"]


def test_walking_limit_village_needs_its_own_stop_in_the_plan():
    # a school's older pupils (no grades 1-3) in three villages at km 0, 0.6 and 2.1:
    # the first two share a stop (1 km limit), the third gets its own
    p = village_problem([small("A", "甲小学", 23), receiver()], {"A": 0.5, "R": 8},
                        {"U1": 0, "U2": 0.6, "U3": 2.1},
                        [("A", "U1", 10, 0), ("A", "U2", 5, 0), ("A", "U3", 8, 0)])
    res = M.evaluate_plan(p, [("A", "R", 1)], S())
    assert sorted({b.stop_id for b in res.boarding}) == ["U1", "U3"]
    walk = {b.unit_id: (b.stop_id, b.walk_m) for b in res.boarding}
    assert walk == {"U1": ("U1", 0.0), "U2": ("U1", 600.0), "U3": ("U3", 0.0)}
    # with young pupils in U2 it boards at home and U1's pupils walk to it
    p.homes[1] = M.Home("A", 1, "primary", 5, 2)
    res = M.evaluate_plan(p, [("A", "R", 1)], S())
    assert sorted({b.stop_id for b in res.boarding}) == ["U2", "U3"]


def test_keep_rows_and_intake_caps_steer_the_optimised_plan():
    # R1 is nearer, but a keep row (indicator 7: 10 rooms, 400 pupils, 2.3 per 100
    # allows 434 pupils) leaves room for 34: A's 40 go to R2. An intake cap does the
    # same.
    p = line_problem({"A": 0, "R1": 4, "R2": 9},
                     [small("A", "甲小学", 40), receiver("R1", "一小"), receiver("R2", "二小")])
    s = S(**HAND)
    assert {a.receiving_school_id for a in M.optimise(p, ["A"], ["R1", "R2"], s).assignments} \
        == {"R1"}
    p.keep = [M.KeepRow("R1", "primary", 7, 10.0, 400, 2.3, 100.0, (("A", 0.0),))]
    res = M.optimise(p, ["A"], ["R1", "R2"], s)
    assert res.closed == ["A"] and sum(a.pupils for a in res.assignments
                                       if a.receiving_school_id == "R1") <= 34
    p.keep = []
    p.intake_caps = {"R1": 0}
    res = M.optimise(p, ["A"], ["R1", "R2"], s)
    assert {a.receiving_school_id for a in res.assignments} == {"R2"}


# ------------------------------------- the adapter: homes, settings, receivers, verifier


#: a fourth unit 490 m east of 山背村 (U3), nearest to 山背教学点 (S4) too
TWO_VILLAGES = (TINY_UNITS if TINY_UNITS.endswith("\n") else TINY_UNITS + "\n") + \
    "U4,山背新村,113.035,29.08,600,40,10\n"


def two_village_district(tmp_path):
    from planner.io.load import load_district
    return load_district(write_tiny(tmp_path / "two", units=TWO_VILLAGES))


def test_homes_from_the_nearest_school_split(tmp_path):
    # S4's 40 pupils live in U3 (50 children) and U4 (40): 22 and 18; half of each
    # in grades 1-3 (young_share 0.5: 20 of 40, apportioned 11 and 9)
    from planner.plans.consolidation import homes_of, resolve_params
    d = two_village_district(tmp_path)
    params = resolve_params(plan(), d.rules)
    assert homes_of(d, params, ["S4"]) == [("S4", 2, "primary", 22, 11),
                                           ("S4", 3, "primary", 18, 9)]
    # a school without units keeps its pupils at its site
    assert homes_of(dataclasses.replace(d, units=None), params, ["S4"]) == []


def test_young_share_and_walk_limit_have_an_effect(tmp_path):
    d = two_village_district(tmp_path)
    both = run(d, plan())                         # grades 1-3 in both villages: two stops
    assert sorted({b.stop_id for b in both.result.boarding}) == ["U3", "U4"]
    older = run(d, plan(young_share=0.0))         # 490 m apart: one stop, U4 walks to U3
    assert sorted({b.stop_id for b in older.result.boarding}) == ["U3"]
    assert {b.unit_id: round(b.walk_m) for b in older.result.boarding} == {"U3": 0, "U4": 486}
    short = run(d, plan(young_share=0.0, walk_limit_m=400))
    assert sorted({b.stop_id for b in short.result.boarding}) == ["U3", "U4"]
    # a walking limit beyond U3's 1,108 m to the road puts its stop on the road: the
    # bus no longer drives the 3.3-minute access leg
    onroad = run(d, plan(walk_limit_m=1200))
    assert onroad.result.max_ride_min < both.result.max_ride_min - 3
    sites = {onroad.site(v).id: onroad.site(v) for rt in onroad.result.routes for v in rt.nodes}
    assert sites["U3"].walk_m == pytest.approx(1108.5, abs=1) and sites["U4"].walk_m == 0


def test_catchment_units_have_an_effect(tmp_path):
    d = two_village_district(tmp_path)
    f = tmp_path / "units.csv"
    f.write_text("unit_id,unit,stage,school_id\nU2,河口村,primary,S4\n", encoding="utf-8")
    o = run(d, plan(catchment_units=str(f)))
    assert {b.unit_id for b in o.result.boarding} == {"U2"}
    f.write_text("unit_id,stage,school_id\nU9,primary,S4\n", encoding="utf-8")
    from planner.core.errors import DataError
    with pytest.raises(DataError, match="units.csv row 2, column unit_id: unknown unit 'U9'"):
        run(d, plan(catchment_units=str(f)))


def test_timetable_settings_have_an_effect(tmp_path):
    from models.timetable import clock
    d = tiny_district(tmp_path)
    base = run(d, plan()).result.routes[0]
    assert clock(base.arrive) == "07:54" and clock(base.depart) == "07:39"
    assert clock(run(d, plan(bell_time="07:30")).result.routes[0].depart) == "07:09"
    assert clock(run(d, plan(bell_times={"S1": "08:20"})).result.routes[0].depart) == "07:59"
    assert clock(run(d, plan(arrival_margin_min=0)).result.routes[0].arrive) == "07:59"
    quick = run(d, plan(stop_dwell_min=0)).result.routes[0]
    assert quick.minutes == pytest.approx(base.minutes - 1.0)
    # S4 split over S1 and S3: two trips from 山背村; a bus can run both only when the
    # school gates open an hour before the bell
    split = [("S4", "S1", 0.5), ("S4", "S3", 0.5)]
    assert run(d, plan(split)).result.buses == 2
    wide = run(d, plan(split, earliest_arrival_min=60))
    assert wide.result.buses == 1 and wide.result.trips == 2
    assert run(d, plan(split, earliest_arrival_min=60, max_trips=1)).result.buses == 2


def test_route_seconds_is_the_routing_budget():
    # six villages of 10 pupils each (more than EXACT_VISITS): PyVRP searches, with
    # the iterations the budget buys; up to four visits the trips are enumerated
    from models.routing import budget_iterations
    villages = {f"U{k}": float(k) for k in range(6)}
    p = village_problem([small("A", "甲小学", 60), receiver()], {"A": 0, "R": 8}, villages,
                        [("A", v, 10, 0) for v in villages])
    for seconds in (1.0, 3.0):
        res = M.evaluate_plan(p, [("A", "R", 1)], S(route_seconds=seconds, walk_limit_m=100.0))
        (stats,) = res.routing
        assert stats["max_iterations"] == budget_iterations(6, seconds)
        assert stats["stopped_by"] in ("iterations", "no_improvement")
        assert res.buses == 1 and res.trips == 2          # 60 pupils: two 56-seat trips
    few = village_problem([small("A", "甲小学", 30), receiver()], {"A": 0, "R": 8},
                          {"U0": 0.0, "U1": 1.0, "U2": 2.0}, [("A", f"U{k}", 10, 0)
                                                             for k in range(3)])
    res = M.evaluate_plan(few, [("A", "R", 1)], S(walk_limit_m=100.0))
    assert [x["stopped_by"] for x in res.routing] == ["exact"]
    assert [rt.stops for rt in res.routes] == [[("U0", 10), ("U1", 10), ("U2", 10)]]


MULTIMEDIA_14 = TINY_SCHOOLS.replace("1300000,15,2,100", "1300000,14,2,100")


def test_a_receiver_that_fails_7_after_the_merge_is_reported(tmp_path):
    # S1 has 14 multimedia rooms for 600 pupils (2.33 per 100 >= 2.3); with S4's 40
    # pupils 14 / 640 = 2.19 < 2.3: indicator 7 newly fails at S1
    from planner.io.load import load_district
    from planner.outputs.consolidation import (
        console_lines,
        map_layers,
        regressions_by_school,
        report_sections,
        summary_dict,
    )
    from planner.plans.consolidation import consolidate
    d = load_district(write_tiny(tmp_path / "mm", schools=MULTIMEDIA_14))
    o = consolidate(d, plan())
    assert o.status is Status.FEASIBLE                  # plan mode reports, does not refuse
    reg = [g for g in o.regressions if g["indicator"] == 7]
    assert [(g["school_id"], g["stage"], round(g["before"], 4), round(g["after"], 4))
            for g in reg] == [("S1", "primary", 2.3333, 2.1875)]
    sec = report_sections(o, "zh")[0]
    assert any(w.startswith("城关小学（小学）：指标7（每百名学生拥有网络多媒体教室数）合并后不达标")
               and "合并前2.33，合并后2.19，标准2.30，差0.11" in w for w in sec.warnings)
    assert summary_dict(o, "en")["regressions"][0]["indicator"] in {g["indicator"]
                                                                  for g in o.regressions}
    assert any("regression: 城关小学 (primary): indicator 7" in x for x in console_lines(o, "en"))
    assert regressions_by_school(o)["S1"][0]["indicator"] in {1, 2, 3, 7}
    assert "routes" in map_layers(o)
    # optimise mode avoids it: S4's pupils do not go to S1
    opt = consolidate(d, ConsolidationParams(mode="optimise"))
    assert all(a.receiving_school_id != "S1" for a in opt.result.assignments)
    assert [g for g in opt.regressions if g["indicator"] == 7] == []


def test_preexisting_problems_of_a_receiver_are_listed(tmp_path):
    from planner.io.load import load_district
    from planner.outputs.consolidation import report_sections
    from planner.plans.consolidation import consolidate
    big = TINY_SCHOOLS.replace("600,0,14,0,44,0,16", "600,0,14,0,51,0,16")   # a class of 51
    d = load_district(write_tiny(tmp_path / "big", schools=big))
    o = consolidate(d, plan())
    pre = [g for g in o.preexisting if g["indicator"] == 13]
    assert [(g["school_id"], g["value"], g["threshold"]) for g in pre] == [("S1", 51.0, 45.0)]
    sec = report_sections(o, "zh")[0]
    assert any("城关小学（小学）合并前已不达标：指标13" in n and "为51，标准45，差6" in n
               for n in sec.notes)


def written_plan(tmp_path, d, params=None):
    from planner.outputs.consolidation import write_files
    o = run(d, params or plan())
    out = tmp_path / "plan"
    write_files(o, out, "en")
    return o, out


def test_verifier_catches_an_emptied_routes_csv(tmp_path):
    from planner.verify.consolidation import verify_consolidation
    d = tiny_district(tmp_path)
    o, out = written_plan(tmp_path, d)
    assert verify_consolidation(d, out, o.params) == []
    routes = out / "routes.csv"
    routes.write_text(routes.read_text(encoding="utf-8-sig").splitlines()[0] + "\n",
                      encoding="utf-8")
    errs = verify_consolidation(d, out, o.params)
    assert "consolidation: boarding.csv puts pupils on route S1-01, which routes.csv does " \
           "not have" in errs
    assert "consolidation: 40 primary pupils of S4 go to S1 but buses carry 0" in errs
    (out / "boarding.csv").write_text("route_id,bus,stop_id,stop,clock,unit_id,unit,school_id,"
                                      "school,stage,pupils,walk_m\n", encoding="utf-8")
    assert verify_consolidation(d, out, o.params) == [
        "consolidation: 40 primary pupils of S4 go to S1 but buses carry 0"]


def test_verifier_catches_pupils_sent_to_a_closed_school(tmp_path):
    from planner.verify.consolidation import verify_consolidation
    d = tiny_district(tmp_path)
    o, out = written_plan(tmp_path, d)
    f = out / "assignments.csv"
    f.write_text(f.read_text(encoding="utf-8-sig") + "S1,城关小学,S3,河口学校,primary,600,\n",
                 encoding="utf-8")
    errs = verify_consolidation(d, out, o.params)
    assert "consolidation: S4 sends pupils to S1, which is itself closed" in errs
    assert "consolidation: 600 primary pupils of S1 go to S3 but buses carry 0" in errs


def test_verifier_recomputes_times_and_walks(tmp_path):
    from planner.verify.consolidation import verify_consolidation
    d = two_village_district(tmp_path)
    o, out = written_plan(tmp_path, d, plan(young_share=0.0))
    assert verify_consolidation(d, out, o.params) == []
    f = out / "routes.csv"
    good = f.read_text(encoding="utf-8-sig")
    f.write_text(good.replace(",07:39,", ",07:29,", 1), encoding="utf-8")     # a wrong clock
    assert any("is not the departure plus" in e or "outside its window" in e
               for e in verify_consolidation(d, out, o.params))
    f.write_text(good, encoding="utf-8")
    assert any("walk 486 m to stop U3 > 400 m" in e for e in verify_consolidation(
        d, out, o.params.replace(walk_limit_m=400)))


@pytest.mark.skipif(not YUNXI.exists(), reason="Yunxi bundle not present")
def test_yunxi_bayi_and_wuxing_need_at_most_two_buses():
    # 八一 (62 pupils, half to 云溪小学, half to 岳化一小) and 五星 (48, a quarter to each
    # of four schools): five trips to five receivers; three trips a bus before the bell
    from planner.io.load import load_district
    from planner.plans.consolidation import consolidate
    d = load_district(YUNXI.parent)
    closures = [c for c in __import__("csv").DictReader(PLAN.open(encoding="utf-8-sig"))
                if c["school_id"] in ("Y006", "Y007")]
    o = consolidate(d, ConsolidationParams(closures=[(c["school_id"], c["receiving_school_id"],
                                                      float(c["share"])) for c in closures]),
                    check_indicators=False)
    r = o.result
    assert r.status is Status.FEASIBLE and r.trips == 5 and r.buses <= 2
    assert r.max_ride_min <= 30 + 1e-6
    # stops are villages with clock times
    kinds = {o.site(v).kind for rt in r.routes for v in rt.nodes}
    assert kinds == {"unit"}
    names = {o.site(v).name for rt in r.routes for v in rt.nodes}
    assert {"八一村", "洞庭社区", "洗马塘社区", "金盆社区"} <= names
    assert all(450 <= rt.arrive <= 475 for rt in r.routes)


def test_a_school_whose_central_school_closes_gets_the_receiver_as_parent(tmp_path):
    """A school's parent_id named a closed school: the district after could not be saved
    and read again ("parent_id S4 is not a school"), so the remediation of such a county
    ended in an internal error. Now the parent becomes the closed school's main receiver,
    the same in the plan and in the verifier's rebuild from the files."""
    from planner.io.load import load_district, save_district
    from planner.outputs import consolidation as presenter
    from planner.plans.consolidation import consolidate
    from planner.verify import district_after_files
    schools = TINY_SCHOOLS.replace("S3,河口学校,nine_year,rural,1,0,,",
                                   "S3,河口学校,nine_year,rural,1,0,S4,")
    d = load_district(write_tiny(tmp_path / "tiny", schools=schools))
    o = consolidate(d, ConsolidationParams(closures=[("S4", "S1", 1.0)]), check_indicators=False)
    assert o.status.has_plan
    parents = dict(zip(o.district_after.schools["school_id"],
                       o.district_after.schools["parent_id"]))
    assert parents["S3"] == "S1"
    save_district(o.district_after, tmp_path / "after")
    assert load_district(tmp_path / "after").schools.set_index("school_id").loc["S3",
                                                                              "parent_id"] == "S1"
    presenter.write_files(o, tmp_path / "plan", "en")
    rebuilt = district_after_files(d, tmp_path / "plan", "consolidation")
    assert rebuilt.schools.set_index("school_id").loc["S3", "parent_id"] == "S1"
