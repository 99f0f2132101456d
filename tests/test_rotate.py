"""planner rotate on a district: the list meets indicator 19, is verified, and
no school part's indicators 1-3 get worse than needed."""

import csv
import json
import math

import pytest

from planner.cli import main
from planner.io.load import bundled_district
from planner.io.load import load_district


@pytest.fixture(scope="module")
def yunxi_rotation(tmp_path_factory):
    out = tmp_path_factory.mktemp("rot")
    assert main(["rotate", "--out", str(out)]) == 0
    return out


def test_yunxi_rotation_meets_indicator_19(yunxi_rotation):
    s = json.loads((yunxi_rotation / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "optimal" and s["verified"]
    rows = list(csv.DictReader((yunxi_rotation / "rotation.csv").open(encoding="utf-8-sig")))
    assert len(rows) == s["rotated"]
    # indicator 19: movers >= ceil(10 % of eligible), backbone >= 20 % of movers
    assert s["rotated"] >= math.ceil(0.10 * s["eligible"])
    backbone = sum(r["backbone"] in ("county", "city", "province", "national") for r in rows)
    assert backbone == s["backbone_rotated"] and 5 * backbone >= len(rows)
    # recomputed from the roster: the movers were eligible and move within their stage
    d = load_district(bundled_district())
    t = d.teachers.set_index("teacher_id")
    stages = {sid: set(d.stages_of(sid)) for sid in d.schools["school_id"]}
    for r in rows:
        assert t.loc[r["teacher_id"], "eligible"]
        assert t.loc[r["teacher_id"], "school_id"] == r["from_school_id"] != r["to_school_id"]
        assert r["stage"] in stages[r["to_school_id"]]


def test_yunxi_rotation_lifts_floors_and_cvs(yunxi_rotation):
    s = json.loads((yunxi_rotation / "summary.json").read_text(encoding="utf-8"))
    assert s["floors_met_after"] >= s["floors_met_before"]
    for k in ("1", "2", "3"):
        for st, v in s["cv_after"][k].items():
            assert v <= s["cv_before"][k][st] + 1e-9


def test_rotation_is_deterministic(yunxi_rotation, tmp_path):
    assert main(["rotate", "--out", str(tmp_path)]) == 0
    for f in ("rotation.csv", "rotation.xlsx"):
        assert (tmp_path / f).read_bytes() == (yunxi_rotation / f).read_bytes()


def test_infeasible_rotation_explained(tiny_dir, tmp_path, capsys):
    # every eligible teacher of the tiny district is the last of their subject
    assert main(["rotate", str(tiny_dir), "--out", str(tmp_path), "--lang", "en"]) == 3
    out = capsys.readouterr().out
    assert "10 % of 4 eligible teachers needs 1 movers" in out
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "infeasible" and s["shortfalls"][0]["short"] == 1


def test_refuses_to_write_into_the_district(tiny_dir, capsys):
    assert main(["rotate", str(tiny_dir), "--out", str(tiny_dir / "out")]) == 2
    assert "refusing to write into the district's input folder" in capsys.readouterr().err
