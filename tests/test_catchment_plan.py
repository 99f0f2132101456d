"""``catchments: {plan: FILE}``: a scenario may use a catchment file (units.csv of a run,
or one saved by ``planner serve``'s zones page) instead of solving. The file is read and
checked, its figures computed like a solved plan's, its hard limits verified."""

import textwrap

import pandas as pd
import pytest

from models.status import Status
from planner.core.errors import DataError
from planner.core.params import CatchmentParams
from planner.io.load import load_district
from planner.plans.catchments import catchments, read_plan
from planner.plans.scenario import load_scenario
from tests.conftest import TINY_UNITS, write_tiny


@pytest.fixture
def tiny_dir(tmp_path):
    """The tiny district without teachers.csv and with 120 primary children in U2 (was
    180). Issue 16: places follow every indicator. Its primary teachers (3 at S1 for 600
    pupils) would hold the places of indicators 1-3 below the children, so that no plan
    exists; without the file, floor area, rooms and classes give them (S1 650, S3 160 at
    indicators 6 and 7: 750 and 184 seats at the take-up), and with 120 children U2 and
    U3 (50) fit S3 together, so that a plan other than the solved one exists."""
    units = TINY_UNITS.replace("U2,河口村,113.08,29.07,3000,180,90", "U2,河口村,113.08,29.07,3000,120,90")
    return write_tiny(tmp_path / "tiny", teachers=None, units=units)


@pytest.fixture
def tiny(tiny_dir):
    return load_district(tiny_dir)


def _write(path, rows):
    path.write_text("unit_id,stage,school_id\n" + "".join(f"{u},{s},{k}\n" for u, s, k in rows),
                    encoding="utf-8")
    return path


def test_solved_plan_read_back_gives_the_same_plan(tiny, tmp_path):
    solved = catchments(tiny, "primary")
    assert solved.status.has_plan
    f = tmp_path / "units.csv"
    solved.units.to_csv(f, index=False)
    given = catchments(tiny, "primary", CatchmentParams(plan=str(f)))
    assert given.status == Status.FEASIBLE and not given.closest
    assert given.result.assignment == solved.result.assignment
    assert {s: ld.children for s, ld in given.result.loads.items()} == \
        {s: ld.children for s, ld in solved.result.loads.items()}
    assert given.summary["objective"] == pytest.approx(solved.summary["objective"], abs=1e-3)
    assert given.summary["mode"] == "plan" and given.summary["verified"]
    assert list(given.units["school_id"]) == list(solved.units["school_id"])


def test_a_plan_over_capacity_is_infeasible_and_says_where(tiny, tmp_path):
    # S1 城关小学: 650 places (indicator 6, its sports ground), 701 seats at the take-up;
    # U1 (700) and U2 (120) together are 820 children
    f = _write(tmp_path / "p.csv", [("U1", "primary", "S1"), ("U2", "primary", "S1"),
                                    ("U3", "primary", "S1")])
    o = catchments(tiny, "primary", CatchmentParams(plan=str(f)))
    assert o.status == Status.INFEASIBLE and o.closest
    assert o.result.loads["S1"].children == 700 + 120 + 50
    assert any("'S1'" in v and "seats" in v for v in o.violations)


def test_bad_plan_files_name_row_and_column(tiny, tmp_path):
    f = _write(tmp_path / "bad.csv", [("U1", "primary", "S1"), ("U1", "primary", "S3"),
                                      ("U9", "primary", "S1"), ("U2", "primary", "S2"),
                                      ("U3", "primary", "X7")])
    with pytest.raises(DataError) as e:
        read_plan(f, tiny, "primary")
    lines = e.value.problems
    assert "bad.csv row 3, column unit_id: unit U1 is given twice for stage primary" in lines
    assert "bad.csv row 4, column unit_id: unknown unit 'U9'" in lines
    assert "bad.csv row 5, column school_id: school S2 is not zoned for stage primary" in lines
    assert "bad.csv row 6, column school_id: unknown school 'X7'" in lines
    f2 = _write(tmp_path / "short.csv", [("U1", "primary", "S1")])
    with pytest.raises(DataError) as e:
        read_plan(f2, tiny, "primary")
    assert e.value.problems == ["short.csv row -, column unit_id: 2 unit(s) of the district "
                                "have no row for stage primary: U2, U3"]
    with pytest.raises(DataError, match="no row of stage junior"):
        read_plan(f2, tiny, "junior")
    (tmp_path / "cols.csv").write_text("unit_id,school_id\nU1,S1\n", encoding="utf-8")
    with pytest.raises(DataError, match="cols.csv row 1, column stage: required column"):
        read_plan(tmp_path / "cols.csv", tiny, "primary")


def test_chinese_headers_and_unzoned_units(tiny, tmp_path):
    f = tmp_path / "zh.csv"
    f.write_text("单元编码,学段,学校代码\nU1,primary,S1\nU2,primary,S3\nU3,primary,\n",
                 encoding="utf-8")
    a = read_plan(f, tiny, "primary")
    assert a == {"U:U1": "S1", "U:U2": "S3", "U:U3": None}
    o = catchments(tiny, "primary", CatchmentParams(plan=str(f)))
    assert o.status == Status.INFEASIBLE and o.result.unassigned_children == 50
    assert o.summary["catchment_share"] == pytest.approx(1 - 50 / (700 + 120 + 50))


def test_scenario_plan_key_is_relative_and_changes_the_run(tiny_dir, tmp_path):
    from planner.runner import run_scenario
    (tmp_path / "plans").mkdir()
    _write(tmp_path / "plans" / "mine.csv", [("U1", "primary", "S1"), ("U2", "primary", "S3"),
                                             ("U3", "primary", "S3")])
    scen = tmp_path / "s.yaml"
    scen.write_text(textwrap.dedent(f"""\
        schema: 1
        district: {tiny_dir}
        catchments:
          stages: [primary]
          plan: plans/mine.csv
        """), encoding="utf-8")
    s = load_scenario(scen)
    assert s.catchments.plan == (tmp_path / "plans" / "mine.csv").resolve()
    assert s.resolved()["catchments"]["plan"] == "mine.csv"
    res = run_scenario(s, tmp_path / "out", quiet=True)
    units = pd.read_csv(tmp_path / "out" / "catchments" / "units.csv", dtype=str)
    assert dict(zip(units["unit_id"], units["school_id"])) == {"U1": "S1", "U2": "S3",
                                                               "U3": "S3"}
    assert res.every_plan_made and res.verified
    # the solved plan of the same district zones U3 elsewhere: the key has an effect
    solved = catchments(load_district(tiny_dir), "primary")
    assert solved.result.assignment["U:U3"] != "S3"
    scen.write_text(scen.read_text(encoding="utf-8").replace("mine.csv", "gone.csv"),
                    encoding="utf-8")
    with pytest.raises(DataError, match="s.yaml key catchments.plan: gone.csv does not exist"):
        load_scenario(scen)
