"""Issue 14, no repeats: the optional rotation_history table (loaded and checked by
planner.io.load), the cycle and the returns of ended exchanges in the plan
(planner.plans.rotation), the file verifier's own recomputation, and
``planner rotate --record YEAR`` appending the list atomically."""

from __future__ import annotations

import csv
import os

import openpyxl
import pytest
from test_rotate import WIDE, two_schools

from planner.cli import main
from planner.core.errors import DataError
from planner.core.rules import load_rules
from planner.io.load import load_district
from planner.outputs import rotation as presenter
from planner.plans.rotation import rotate
from planner.verify.rotation import verify_rotation

#: A03 came to A in 2021 (within a 6-year cycle of 2025), A05 in 2018 (outside it);
#: A07 went to A for three years in 2022 and A09 for one year in 2024: both exchanges
#: end in 2025, the year after the latest (2024), so both return to B. B02 is not
#: eligible anyway.
HISTORY = ("教师编号,学年,原学校代码,交流学校代码,交流形式,交流年限\n"
           "A03,2021,B,A,交流,\n"
           "A05,2018,B,A,交流,\n"
           "A07,2022,B,A,支教,3\n"
           "A09,2024,B,A,跟岗,1\n"
           "B02,2020,A,B,交流,\n")


def with_history(folder, text=HISTORY, encoding="utf-8"):
    d = two_schools(folder)
    (d / "rotation_history.csv").write_bytes(text.encode(encoding))
    return d


@pytest.fixture
def hist(tmp_path):
    return with_history(tmp_path / "d")


def test_history_removes_eligible_teachers_and_returns_exchanges(hist):
    """two_schools: 20 eligible teachers at A. The history keeps A03 (2021), A07 and
    A09 (returning) back: 17 eligible → R = ceil(1.7) = 2; with WIDE the one backbone
    teacher A01 allows M = 5 movers, none of them A03, A07 or A09. The returns are on
    the list (reason return, the history's move type), not among the movers."""
    d = load_district(hist)
    o = rotate(d, WIDE)
    assert o.params.school_year == 2025
    assert o.result.counts["eligible"] == 17 and o.result.counts["required_movers"] == 2
    assert o.summary["history_excluded"] == 3 and o.summary["returns"] == 2
    movers = {m.teacher_id for m in o.result.moves}
    assert len(movers) == 5 and not movers & {"A03", "A07", "A09"}
    assert [(m.teacher_id, m.from_school, m.to_school, m.reason, m.kind)
            for m in o.history.returns] == [("A07", "A", "B", "return", "return"),
                                            ("A09", "A", "B", "return", "return")]
    # the plan starts from the district after the returns: B has 22 teachers
    start = o.district_start.teachers
    assert (start["school_id"] == "B").sum() == 22
    rows = presenter.rotation_table(o, "zh")
    back = rows[rows["teacher_id"].isin(["A07", "A09"])]
    assert list(back["reason"]) == ["交流期满返回"] * 2
    assert list(back["move_type"]) == ["支教", "跟岗"]
    assert len(rows) == 7
    assert o.violations == []


def test_effect_cycle_years(hist):
    """cycle_years 3: 2025 − 2021 = 4 is outside the cycle, A03 is eligible again."""
    o = rotate(load_district(hist), WIDE.replace(cycle_years=3))
    assert o.result.counts["eligible"] == 18 and o.summary["history_excluded"] == 2


def test_effect_school_year(hist):
    """school_year 2024: A09's move of 2024 is in the cycle (as is A07's of 2022) and
    no exchange has ended yet: no return, 17 eligible (A03, A07, A09 kept back)."""
    o = rotate(load_district(hist), WIDE.replace(school_year=2024))
    assert o.summary["returns"] == 0 and o.summary["school_year"] == 2024
    assert o.result.counts["eligible"] == 17


def test_no_history_no_year(tmp_path):
    o = rotate(load_district(two_schools(tmp_path / "d")), WIDE)
    assert o.params.school_year is None and o.summary["returns"] == 0


def test_verifier_checks_the_history_itself(hist, tmp_path):
    d = load_district(hist)
    out = tmp_path / "out"
    out.mkdir()
    presenter.write_files(rotate(d, WIDE), out)
    rules = load_rules("hunan-2023")
    assert verify_rotation(d, out, WIDE, rules) == []
    rows = list(csv.DictReader((out / "rotation.csv").open(encoding="utf-8-sig")))
    # A03 moved in 2021: listing it as a mover breaks the cycle; dropping A07's return
    # leaves an ended exchange without its return
    a03 = dict(rows[-1], teacher_id="A03", from_school_id="A", to_school_id="B")
    kept = [r for r in rows if r["teacher_id"] != "A07"] + [a03]
    with open(out / "rotation.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(kept)
    errs = verify_rotation(d, out, WIDE, rules)
    assert "rotation: A03 moved in 2021, within the cycle before 2025" in errs
    assert "rotation: A07's exchange has ended; the return A → B is missing" in errs


def test_bad_history_rows_name_file_row_and_column(tmp_path):
    text = ("teacher_id,school_year,from_school_id,to_school_id,move_type,period_years\n"
            "A03,二〇二一,B,A,transfer,\n"
            "A04,2021,B,B,transfer,\n"
            "A05,2021,B,X9,transfer,\n"
            "A06,2021.5,B,A,transfer,1.5\n"
            "A07,2022,B,A,loan,\n"
            "A08,2022,B,A,,\n"
            "A08,2022,B,A,,\n"
            ",2022,B,A,,\n")
    with pytest.raises(DataError) as e:
        load_district(with_history(tmp_path / "d", text))
    got = e.value.problems
    want = ['rotation_history.csv row 2, column school_year: "二〇二一" is not a number',
            "rotation_history.csv row 3, column to_school_id: the teacher moves to the school "
            "they come from (B)",
            'rotation_history.csv row 4, column to_school_id: "X9" is not a school in '
            "schools.csv",
            "rotation_history.csv row 5, column school_year: 2021.5 is not a whole number of "
            "years",
            "rotation_history.csv row 5, column period_years: 1.5 is not a whole number of "
            "years",
            'rotation_history.csv row 6, column move_type: "loan" is not one of transfer 交流, '
            "support 支教, itinerant 走教, shadowing 跟岗, return 返回",
            'rotation_history.csv row 8, column school_year: teacher "A08" moves twice in 2022 '
            "(first at row 7)",
            "rotation_history.csv row 9, column teacher_id: empty id"]
    for w in want:
        assert w in got
    assert len(got) == len(want)


def test_bad_preferences_name_file_row_and_column(tmp_path):
    d = two_schools(tmp_path / "d")
    text = (d / "teachers.csv").read_text(encoding="utf-8").splitlines()
    text[0] += ",交流意向"
    # the roster alternates A01, B01, A02, ...: lines 1, 3, 5, 7, 9 are A01 ... A05
    wishes = {1: "B", 3: "B，X9", 5: "A", 7: "B;B", 9: "B C D E"}
    text = [text[0]] + [line + "," + (f'"{wishes[i]}"' if i in wishes else "")
                        for i, line in enumerate(text[1:], 1)]
    (d / "teachers.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        load_district(d)
    got = e.value.problems
    assert got == ['teachers.csv row 4, column preferences: "X9" is not a school in '
                   "schools.csv",
                   "teachers.csv row 6, column preferences: \"A\" is the teacher's own school",
                   'teachers.csv row 8, column preferences: "B;B" names a school twice',
                   'teachers.csv row 10, column preferences: "B C D E" names 4 schools; at most 3',
                   'teachers.csv row 10, column preferences: "C" is not a school in schools.csv',
                   'teachers.csv row 10, column preferences: "D" is not a school in schools.csv',
                   'teachers.csv row 10, column preferences: "E" is not a school in schools.csv']


def test_preferences_column_reaches_the_model(tmp_path):
    """Row 2 (A01, the backbone teacher who moves anyway) wishes for B: granted."""
    d = two_schools(tmp_path / "d")
    text = (d / "teachers.csv").read_text(encoding="utf-8").splitlines()
    text = [text[0] + ",preferences"] + [line + ("," + "B" if i == 1 else ",")
                                         for i, line in enumerate(text[1:], 1)]
    (d / "teachers.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    o = rotate(load_district(d), WIDE)
    assert o.summary["wish_teachers"] == 1 and o.summary["wishes_granted"] == 1
    assert {m.teacher_id: m.wish for m in o.result.moves}["A01"] == 1


# ---------------------------------------------------------------------------
# planner rotate --record YEAR
# ---------------------------------------------------------------------------

WIDE_ARGS = ["--band", "0.5", "--max-send-share", "0.5"]


def test_record_appends_the_list_and_next_year_continues(hist, tmp_path, capsys):
    before = (hist / "rotation_history.csv").read_bytes()
    assert main(["rotate", str(hist), "--out", str(tmp_path / "o"), "--record", "2025",
                 *WIDE_ARGS]) == 0
    assert "已将 7 条交流记录（2025—2026学年）追加到" in capsys.readouterr().out
    after = (hist / "rotation_history.csv").read_bytes()
    assert after.startswith(before)                  # the user's bytes are kept
    new = list(csv.reader(after.decode("utf-8").splitlines()))[6:]
    assert len(new) == 7 and {r[1] for r in new} == {"2025"}
    assert {r[0]: (r[4], r[5]) for r in new}["A07"] == ("返回", "")
    assert {r[4] for r in new if r[0] not in ("A07", "A09")} == {"交流"}
    assert {r[5] for r in new if r[0] not in ("A07", "A09")} == {"3"}
    # the same year again: refused before anything is made, the file unchanged
    assert main(["rotate", str(hist), "--out", str(tmp_path / "o2"), "--record", "2025",
                 *WIDE_ARGS]) == 2
    err = capsys.readouterr().err
    assert "rotation_history.csv row 7, column school_year: the history already holds " \
           "school year 2025" in err
    assert not (tmp_path / "o2").exists()
    assert (hist / "rotation_history.csv").read_bytes() == after
    # next year: this year's movers are in the cycle, the returns are done
    d = load_district(hist)
    o = rotate(d, WIDE)
    assert o.params.school_year == 2026 and o.summary["returns"] == 0
    moved = {r[0] for r in new if r[4] != "返回"}
    assert not moved & {m.teacher_id for m in o.result.moves}
    assert o.result.counts["eligible"] == 20 - 3 - len(moved)


def test_record_keeps_a_gbk_file_with_crlf(tmp_path):
    d = with_history(tmp_path / "d", HISTORY.replace("\n", "\r\n"), "gbk")
    before = (d / "rotation_history.csv").read_bytes()
    assert main(["rotate", str(d), "--out", str(tmp_path / "o"), "--record", "2025",
                 *WIDE_ARGS]) == 0
    after = (d / "rotation_history.csv").read_bytes()
    assert after.startswith(before) and after.endswith(b"\r\n")
    text = after.decode("gbk")
    assert text.count("\r\n") == text.count("\n") == 6 + 7
    assert load_district(d).rotation_history["school_year"].max() == 2025


def test_record_makes_a_new_history_in_the_language(tmp_path):
    d = two_schools(tmp_path / "d")
    assert main(["rotate", str(d), "--out", str(tmp_path / "o"), "--record", "2025",
                 "--lang", "en", *WIDE_ARGS]) == 0
    rows = list(csv.DictReader((d / "rotation_history.csv").open(encoding="utf-8-sig")))
    assert list(rows[0]) == ["teacher_id", "school_year", "from_school_id", "to_school_id",
                             "move_type", "period_years"]
    assert len(rows) == 5 and {r["move_type"] for r in rows} == {"transfer"}
    h = load_district(d).rotation_history
    assert list(h["move_type"]) == ["transfer"] * 5


def test_record_never_loses_the_users_file(hist, tmp_path, monkeypatch):
    """The new history is written beside the old one and renamed over it: when the
    rename fails the user's file is as it was and no temporary file is left."""
    before = (hist / "rotation_history.csv").read_bytes()

    def broken(a, b):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        presenter.record_history(rotate(load_district(hist), WIDE), hist, 2025)
    assert (hist / "rotation_history.csv").read_bytes() == before
    assert sorted(p.name for p in hist.iterdir() if p.name.startswith(".")) == []


def test_record_refuses_bad_years_and_workbooks(hist, tmp_path, capsys):
    assert main(["rotate", str(hist), "--out", str(tmp_path / "o"), "--record", "soon"]) == 2
    assert "--record soon: not a school year" in capsys.readouterr().err
    assert main(["rotate", str(hist), "--out", str(tmp_path / "o"), "--record", "2025",
                 "--school-year", "2024"]) == 2
    assert "--record 2025: the list is for school year 2024" in capsys.readouterr().err
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "交流记录"
    for row in csv.reader(HISTORY.splitlines()):
        ws.append(row)
    wb.save(hist / "rotation_history.xlsx")
    (hist / "rotation_history.csv").unlink()
    assert load_district(hist).rotation_history["school_year"].max() == 2024
    assert main(["rotate", str(hist), "--out", str(tmp_path / "o"), "--record", "2025"]) == 2
    assert "rotation_history.xlsx: --record appends to a CSV history only" in \
        capsys.readouterr().err
