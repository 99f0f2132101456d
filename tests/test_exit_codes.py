"""One exit-code convention (0 / 2 bad input / 3 no feasible plan / 1 internal only):
each user error of issue 12 item 13 (and 15) exits 2 with one line naming the file,
row and column, key or option; plans are tied to the roads (item 10); synth
districts of 10 schools are valid for every command (item 15)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest
from conftest import TINY_BOUNDARY, TINY_ROADS, TINY_SCHOOLS, TINY_UNITS, write_tiny

from planner.cli import main
from planner.core.district import Settings
from planner.io.load import bundled_district, load_district
from planner.io.synth import synth_district

CLOSURES = "school_id,receiving_school_id,share\nS4,S1,1\n"


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert "Traceback" not in err[0] and "internal error" not in err[0]
    return err[0]


@pytest.fixture
def tiny(tmp_path):
    return write_tiny(tmp_path / "tiny")


def scenario(root: Path, district: Path, extra: str = "") -> Path:
    (root / "closures.csv").write_text(CLOSURES, encoding="utf-8")
    p = root / "s.yaml"
    p.write_text(f"schema: 1\nname: t\ndistrict: {os.path.relpath(district, root)}\n"
                 f"time_limit: 10\n" + extra, encoding="utf-8")
    return p


# ---------------------------------------------------------------------------
# item 13: user errors that used to exit 1
# ---------------------------------------------------------------------------

def test_scenario_path_is_a_folder(tmp_path, capsys):
    (tmp_path / "scen").mkdir()
    assert main(["run", str(tmp_path / "scen"), "--out", str(tmp_path / "o")]) == 2
    assert one_error(capsys) == "error: scen line -, key -: a folder, not a YAML file"
    assert not (tmp_path / "o").exists()


def test_scenario_not_utf8(tmp_path, capsys):
    (tmp_path / "s.yaml").write_bytes("name: 云溪\n".encode("gbk"))
    assert main(["run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "o")]) == 2
    assert "s.yaml line 1, key -: not UTF-8 text" in one_error(capsys)


@pytest.mark.parametrize("option, value, words", [
    ("--bus-capacity", "1e+20", "not a positive whole number"),
    ("--max-ride-min", "inf", "not a positive number"),
    ("--max-ride-min", "nan", "not a positive number"),
    ("--time-limit", "nan", "not a positive number")])
def test_unbounded_option_values(tiny, tmp_path, capsys, option, value, words):
    assert main(["consolidate", str(tiny), "--optimise", "--out", str(tmp_path / "o"),
                 option, value]) == 2
    assert one_error(capsys) == f"error: {option} {value}: {words}"
    assert not (tmp_path / "o").exists()


def test_time_limit_nan_for_rotate(tiny, tmp_path, capsys):
    assert main(["rotate", str(tiny), "--out", str(tmp_path / "o"), "--time-limit", "nan"]) == 2
    assert one_error(capsys) == "error: --time-limit nan: not a positive number"


@pytest.mark.parametrize("column, value", [("oneway", "maybe"), ("hazardous", "sometimes")])
def test_road_flag_that_is_not_a_truth_value(tiny, tmp_path, capsys, column, value):
    roads = json.loads(json.dumps(TINY_ROADS))
    roads["features"][1]["properties"][column] = value
    (tiny / "roads.geojson").write_text(json.dumps(roads, ensure_ascii=False), encoding="utf-8")
    for argv in (["check", str(tiny)],
                 ["consolidate", str(tiny), "--optimise", "--out", str(tmp_path / "o")]):
        assert main(argv) == 2
        assert one_error(capsys) == (f'error: roads.geojson feature 2, column {column}: '
                                     f'"{value}" is not true/false')


def test_road_flags_the_graph_reads_still_load(tiny):
    roads = json.loads(json.dumps(TINY_ROADS))
    for f, v in zip(roads["features"], ("yes", "-1")):
        f["properties"]["oneway"] = v
    roads["features"][0]["properties"]["hazardous"] = "否"
    (tiny / "roads.geojson").write_text(json.dumps(roads, ensure_ascii=False), encoding="utf-8")
    assert load_district(tiny).road_network() is not None


def test_rotation_without_a_roster_names_the_file(tmp_path, capsys):
    d = write_tiny(tmp_path / "d", teachers=None)
    assert main(["rotate", str(d), "--out", str(tmp_path / "o"), "--lang", "en"]) == 2
    assert "teachers.csv" in one_error(capsys)
    scen = scenario(tmp_path, d, "rotation:\n  share: 0.1\n")
    assert main(["run", str(scen), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "teachers.csv" in one_error(capsys)
    assert not (tmp_path / "o").exists()


def test_catchments_for_a_stage_with_no_school(tmp_path, capsys):
    schools = "\n".join(ln for ln in TINY_SCHOOLS.splitlines() if not ln.startswith(("S2", "S3")))
    d = write_tiny(tmp_path / "d", schools=schools + "\n", teachers=None)
    assert main(["catchments", str(d), "--out", str(tmp_path / "o"), "--stage", "junior"]) == 2
    assert "schools.csv has no school of the junior stage" in one_error(capsys)
    assert not (tmp_path / "o").exists()


def test_synth_negative_seed_and_existing_district(tiny, tmp_path, capsys):
    assert main(["synth", "--schools", "10", "--seed", "-1", str(tmp_path / "s")]) == 2
    assert one_error(capsys) == "error: --seed -1: not a non-negative whole number"
    before = {p.name: p.read_bytes() for p in tiny.iterdir()}
    assert main(["synth", "--schools", "10", str(tiny), "--lang", "en"]) == 2
    assert "synth never overwrites a district" in one_error(capsys)
    assert {p.name: p.read_bytes() for p in tiny.iterdir()} == before
    (tmp_path / "empty").mkdir()
    assert main(["synth", "--schools", "10", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "schools.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "tiny"]   # nothing staged


def _rotation_folder(tiny: Path, out: Path) -> Path:
    assert main(["rotate", str(tiny), "--out", str(out)]) == 3
    return out


def test_verify_missing_file_or_column(tiny, tmp_path, capsys):
    out = _rotation_folder(tiny, tmp_path / "r")
    rows = (out / "rotation.csv").read_text(encoding="utf-8-sig").splitlines()
    (out / "rotation.csv").write_text("\n".join(r.split(",", 1)[1] for r in rows) + "\n",
                                      encoding="utf-8")
    capsys.readouterr()
    assert main(["verify", str(out), "--district", str(tiny), "--lang", "en"]) == 2
    assert one_error(capsys) == ("error: r/rotation.csv row 1, column teacher_id: "
                                 "the column is missing")
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES, encoding="utf-8")
    c = tmp_path / "c"
    assert main(["consolidate", str(tiny), "--plan", str(plan), "--out", str(c)]) == 0
    (c / "routes.csv").unlink()
    capsys.readouterr()
    assert main(["verify", str(c), "--district", str(tiny), "--lang", "en"]) == 2
    assert one_error(capsys).startswith("error: c/routes.csv row -, column -: the file is missing")


def test_verify_a_value_that_is_not_a_number(tiny, tmp_path, capsys):
    plan = tmp_path / "closures.csv"
    plan.write_text(CLOSURES, encoding="utf-8")
    c = tmp_path / "c"
    assert main(["consolidate", str(tiny), "--plan", str(plan), "--out", str(c)]) == 0
    text = (c / "routes.csv").read_text(encoding="utf-8-sig").splitlines()
    head = text[0].split(",")
    cells = text[1].split(",")
    cells[head.index("pupils_boarding")] = "forty"
    (c / "routes.csv").write_text("\n".join([text[0], ",".join(cells), *text[2:]]) + "\n",
                                  encoding="utf-8")
    capsys.readouterr()
    assert main(["verify", str(c), "--district", str(tiny), "--lang", "en"]) == 2
    assert one_error(capsys) == ('error: c/routes.csv row 2, column pupils_boarding: "forty" '
                                 'is not a whole number')
    k = tmp_path / "k"
    # issue 16: the tiny roster's teachers hold the places of indicators 1-3 below the
    # children; without teachers.csv the tiny district zones
    zoned = write_tiny(tmp_path / "zoned", teachers=None)
    assert main(["catchments", str(zoned), "--out", str(k)]) == 0
    rows = (k / "units.csv").read_text(encoding="utf-8-sig").splitlines()
    (k / "units.csv").write_text("\n".join(r.split(",", 1)[1] for r in rows) + "\n",
                                 encoding="utf-8")
    capsys.readouterr()
    assert main(["verify", str(k), "--district", str(zoned), "--lang", "en"]) == 2
    assert one_error(capsys) == "error: k/units.csv row 1, column unit_id: the column is missing"


# ---------------------------------------------------------------------------
# item 10: plans tied to the roads
# ---------------------------------------------------------------------------

def _moved_roads(folder: Path, dlat: float) -> None:
    roads = json.loads(json.dumps(TINY_ROADS))
    for f in roads["features"]:
        f["geometry"]["coordinates"] = [[x, y + dlat] for x, y in f["geometry"]["coordinates"]]
    (folder / "roads.geojson").write_text(json.dumps(roads, ensure_ascii=False),
                                          encoding="utf-8")


@pytest.mark.parametrize("command", ["rotate", "consolidate", "catchments", "run"])
def test_roads_1000_km_away(tmp_path, capsys, command):
    """Item 10: roads 1,000 km away gave a feasible plan with 0 bus-km."""
    d = write_tiny(tmp_path / "d")
    _moved_roads(d, 9.0)                                  # 9° of latitude: ~1,000 km
    out = str(tmp_path / "o")
    argv = {"rotate": ["rotate", str(d), "--out", out],
            "catchments": ["catchments", str(d), "--out", out],
            "consolidate": ["consolidate", str(d), "--plan", str(tmp_path / "c.csv"),
                            "--out", out],
            "run": ["run", str(scenario(tmp_path, d, "consolidation:\n  mode: plan\n"
                                                   "  closures: closures.csv\n")),
                    "--out", out, "--quiet"]}[command]
    (tmp_path / "c.csv").write_text(CLOSURES, encoding="utf-8")
    assert main(argv + ["--lang", "en"]) == 2
    err = one_error(capsys)
    assert "farther than 3,000 m from every road" in err and "max_access_m" in err
    assert "S1" in err or "unit U1" in err or "school S1" in err
    assert not (tmp_path / "o").exists()


def test_a_school_6_km_beyond_the_end_of_the_network(tmp_path, capsys):
    """Item 10: a school 6 km beyond the end of the network got its neighbour's
    8-minute ride."""
    schools = TINY_SCHOOLS.replace("S4,山背教学点,teaching_point,rural,true,false,S1,113.03,29.07",
                                   "S4,山背教学点,teaching_point,rural,true,false,S1,113.03,29.124")
    d = write_tiny(tmp_path / "d", schools=schools)
    boundary = json.loads(json.dumps(TINY_BOUNDARY))
    boundary["features"][0]["geometry"]["coordinates"][0][2:4] = [[113.1, 29.2], [113.0, 29.2]]
    (d / "boundary.geojson").write_text(json.dumps(boundary), encoding="utf-8")
    (tmp_path / "c.csv").write_text(CLOSURES, encoding="utf-8")
    for argv in (["consolidate", str(d), "--plan", str(tmp_path / "c.csv")],
                 ["rotate", str(d)]):
        assert main(argv + ["--out", str(tmp_path / "o"), "--lang", "en"]) == 2
        err = one_error(capsys)
        assert re.search(r"schools.csv: 1 point\(s\) lie farther than 3,000 m from every road: "
                         r"S4 \(5,9\d\d m\)", err), err
    # with no limit (null) the plan is made, the ride measured from the school itself:
    # 6 km of access at the narrow-road cap (20 km/h) alone is 18 minutes
    y = (d / "district.yaml").read_text(encoding="utf-8")
    (d / "district.yaml").write_text(y.replace("  school_rule: hunan\n",
                                               "  school_rule: hunan\n  max_access_m: null\n"),
                                     encoding="utf-8")
    out = tmp_path / "o"
    assert main(["consolidate", str(d), "--plan", str(tmp_path / "c.csv"), "--out", str(out),
                 "--max-ride-min", "60"]) == 0
    ride = [r.split(",")[-1] for r in
            (out / "assignments.csv").read_text(encoding="utf-8-sig").splitlines()[1:]]
    assert ride and float(ride[0]) >= 18


def test_the_default_access_limit_passes_the_bundled_and_synth_districts(tmp_path):
    """The default (3 km) against the largest access distance measured: the bundled
    district's schools and units lie on its roads, synth districts' within a few m."""
    assert Settings().max_access_m == 3000.0
    worst = []
    with tempfile.TemporaryDirectory() as td:
        paths = [bundled_district()] + [synth_district(n, s, Path(td) / f"s{n}-{s}")
                                        for n in (10, 120) for s in range(3)]
        for p in paths:
            d = load_district(p)
            net = d.road_network()
            pts = [(x[1], x[2]) for x in d.school_points()]
            if d.units is not None:
                c = d.units.geometry.representative_point()
                pts += list(zip(c.x, c.y))
            worst.append(max(sn.snap_m for sn in net.snap(pts).points))
    assert max(worst) < 50 and max(worst) < Settings().max_access_m / 10


def test_units_far_from_the_roads_are_named(tmp_path, capsys):
    units = TINY_UNITS + "U9,远山村,113.09,29.01,500,30,10\n"
    d = write_tiny(tmp_path / "d", units=units)
    assert main(["catchments", str(d), "--out", str(tmp_path / "o"), "--lang", "en"]) == 2
    assert "unit U9 (" in one_error(capsys)


# ---------------------------------------------------------------------------
# item 15: synth districts of 10 schools are valid for every command
# ---------------------------------------------------------------------------

#: issue 16: a synthetic district whose places by the indicators are really short:
#: seed 2's complete middle school S00004 has 1,104 junior pupils for the equipment
#: (indicator 6) of 684, and no other junior school has room for the rest, so
#: catchments end infeasible (exit 3) with one line for the stage
SHORT_SYNTH = {2: "初中学位不足：按入学比例需 1909 个学位，各校按指标核定共 1665 个，缺 244 个；"
                  "未能划入片区的单元 5 个（246 名儿童）"}


@pytest.mark.parametrize("seed", range(6))
def test_small_synth_districts_work_with_every_command(tmp_path, seed, capsys):
    """synth --schools 10 failed catchments for 4 of 6 seeds (units on one spot).
    Seed 0's twelve-year school is over its shared limits today (1,654 pupils for
    the equipment of 1,139): zoned again with the other stage at the least it must
    take, both stages zone (issue 16). Seed 2 is really short (SHORT_SYNTH)."""
    d = synth_district(10, seed, tmp_path / "d")
    assert main(["check", str(d)]) == 0 and main(["info", str(d)]) == 0
    capsys.readouterr()
    code = main(["catchments", str(d), "--out", str(tmp_path / "k")])
    said = capsys.readouterr().out
    if seed in SHORT_SYNTH:
        assert code == 3
        short = [x for x in said.splitlines() if "学位不足" in x]
        assert len(short) == 1 and short[0].startswith(SHORT_SYNTH[seed])
    else:
        assert code == 0 and "学位不足" not in said
    scen = tmp_path / "s.yaml"
    scen.write_text("schema: 1\nname: 合成\ndistrict: d\ntime_limit: 20\n"
                    "consolidation:\n  mode: optimise\nrotation:\n  share: 0.1\n"
                    "catchments:\n  stages: [primary, junior]\n", encoding="utf-8")
    assert main(["run", str(scen), "--out", str(tmp_path / "r"), "--quiet"]) == \
        (3 if seed in SHORT_SYNTH else 0), capsys.readouterr().err


def test_a_control_character_in_a_name_is_written_not_an_internal_error(tmp_path, capsys):
    """Item 11: a vertical tab in a school's name (XLSX cannot hold it) used to end
    `consolidate` and `check --xlsx` with exit 1 (IllegalCharacterError). The workbook
    drops the character; the CSV keeps the name as it was."""
    import openpyxl
    d = write_tiny(tmp_path / "d", schools=TINY_SCHOOLS.replace("山背教学点", "山背\x0b教学点"))
    assert main(["check", str(d), "--xlsx", str(tmp_path / "c.xlsx")]) == 0
    names = {c.value for ws in openpyxl.load_workbook(tmp_path / "c.xlsx").worksheets
             for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert "山背教学点" in names and not any("\x0b" in n for n in names)
    (tmp_path / "closures.csv").write_text(CLOSURES, encoding="utf-8")
    out = tmp_path / "cons"
    assert main(["consolidate", str(d), "--plan", str(tmp_path / "closures.csv"),
                 "--out", str(out)]) == 0
    assert "山背\x0b教学点" in (out / "assignments.csv").read_text(encoding="utf-8")
    capsys.readouterr()
