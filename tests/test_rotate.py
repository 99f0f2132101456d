"""Teacher rotation on a district (planner.plans.rotation, its presenter, its verifier
and ``planner rotate``): the list meets indicator 19 and is verified; the standard
drives the floors and shares; every RotationParams field has an effect; user errors
are PlanInputError; the words come from the catalogue."""

import csv
import json
import math
from pathlib import Path

import openpyxl
import pytest
import yaml
from conftest import TINY_UNITS, TINY_YAML, write_tiny

from geodata.travel import haversine_km
from models.status import Status
from planner.cli import main
from planner.core.errors import PlanInputError
from planner.core.params import RotationParams, SolveParams
from planner.core.rules import STANDARDS_DIR, load_rules
from planner.io.load import bundled_district, load_district
from planner.outputs import rotation as presenter
from planner.outputs.i18n import tr
from planner.plans.rotation import rotate
from planner.verify import verify_dir
from planner.verify.rotation import verify_rotation


@pytest.fixture(scope="module")
def yunxi_rotation(tmp_path_factory):
    """The bundled district's list in English (column names and codes as in
    docs/data-format.md)."""
    out = tmp_path_factory.mktemp("rot")
    assert main(["rotate", "--out", str(out), "--lang", "en"]) == 0
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
    # and the file verifier, from the files alone, with the standard's shares
    assert verify_dir(yunxi_rotation, d) == []


def test_yunxi_rotation_lifts_floors_and_cvs(yunxi_rotation):
    """Floors hold; the spread falls in each stage (the sum of the CVs of 1-3) and
    every CV stays within the standard's limit.  One CV may rise a little: purpose
    comes first, and backbone teachers going to village schools that already have
    their share can raise the backbone CV of a stage (issue 14)."""
    s = json.loads((yunxi_rotation / "summary.json").read_text(encoding="utf-8"))
    assert s["floors_met_after"] >= s["floors_met_before"]
    limit = load_rules("hunan-2023").cv_limit
    for st in ("primary", "junior"):
        before = sum(s["cv_before"][k][st] for k in ("1", "2", "3"))
        after = sum(s["cv_after"][k][st] for k in ("1", "2", "3"))
        assert after < before
        for k in ("1", "2", "3"):
            assert s["cv_after"][k][st] <= limit[st]


def test_rotation_is_deterministic(yunxi_rotation, tmp_path):
    assert main(["rotate", "--out", str(tmp_path), "--lang", "en"]) == 0
    for f in ("rotation.csv", "rotation.xlsx"):
        assert (tmp_path / f).read_bytes() == (yunxi_rotation / f).read_bytes()


def test_infeasible_rotation_explained(tiny_dir, tmp_path, capsys):
    # every eligible teacher of the tiny district is the last of their subject
    assert main(["rotate", str(tiny_dir), "--out", str(tmp_path), "--lang", "en"]) == 3
    out = capsys.readouterr().out
    assert "10 % of 4 eligible teachers needs 1 movers" in out
    s = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert s["status"] == "infeasible" and s["shortfalls"][0]["short"] == 1
    assert s["messages"][0]["code"] == "movers_unreachable"


def test_refuses_to_write_into_the_district(tiny_dir, capsys):
    assert main(["rotate", str(tiny_dir), "--out", str(tiny_dir / "out")]) == 2
    assert "refusing to write into the district's input folder" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# a two-school district whose optimum is computed by hand
# ---------------------------------------------------------------------------

HEAD = ("school_id,name,type,area_type,public,boarding,parent_id,lon,lat,students_primary,"
        "students_junior,classes_primary,classes_junior,max_class_primary,max_class_junior,"
        "classrooms,building_area_m2,sports_area_m2,equipment_yuan,multimedia_rooms,"
        "music_rooms,music_room_min_m2,art_rooms,art_room_min_m2,staff_quota,"
        "public_funds_yuan,training_funds_yuan\n")
THEAD = ("teacher_id,name,school_id,stage,subject,degree,backbone,certified,full_time,"
         "years_at_school,age,training_hours_5y,exempt\n")


def two_schools(folder: Path, a_area: str = "urban", b_lonlat: str = "113.05,29.05",
                yaml_text: str = TINY_YAML, roads: dict | None = None) -> Path:
    """A (primary, 100 pupils, 20 teachers, all eligible and qualified, one county
    backbone teacher A01; 语文/数学 alternate) and B (rural primary, 300 pupils,
    20 unqualified teachers, none eligible).

    Floors (Hunan, primary) per 100 pupils: qualified 4.2, backbone 1.0, PE/art 0.9:
    B needs 12.6 / 3 / 2.7 and has none, so every qualified arrival lowers level 1 by
    one; A keeps ≥ 4.2 qualified for up to 15 leavers; A01 leaving costs A one backbone
    and gives B one (level 1 unchanged). Only A sends (B's teachers are not eligible),
    so the number of movers M is the largest the limits allow:

    - required R = ceil(share · 20); backbone (rotated base): M ≤ B / backbone_share
      with B ≤ 1, so M ≤ 5 for a fifth; (eligible base): B ≥ ceil(backbone_share · R);
    - band: A's head count ≥ floor((1 − band) · 20), B's ≤ ceil((1 + band) · 20);
    - send limit: A sends ≤ max(1, floor(max_send_share · 20)).
    """
    a_lonlat = "113.02,29.02"
    schools = HEAD + (
        f"A,甲小学,primary,{a_area},true,false,,{a_lonlat},100,0,3,0,34,0,4,1000,1000,"
        "300000,3,1,100,1,95,40,100000,10000\n"
        f"B,乙小学,primary,rural,true,false,,{b_lonlat},300,0,7,0,43,0,8,3000,3000,"
        "600000,7,1,100,1,95,40,200000,20000\n")
    rows = []
    for i in range(1, 21):
        subject = "语文" if i % 2 else "数学"
        backbone = "county" if i == 1 else "none"
        rows.append(f"A{i:02d},甲{i},A,primary,{subject},bachelor,{backbone},true,true,8,40,400,")
        rows.append(f"B{i:02d},乙{i},B,primary,{subject},secondary,none,true,true,2,30,400,")
    folder = write_tiny(folder, schools=schools, teachers=THEAD + "\n".join(rows) + "\n",
                        units=TINY_UNITS, yaml_text=yaml_text)
    if roads is not None:
        (folder / "roads.geojson").write_text(json.dumps(roads), encoding="utf-8")
    return folder


def twin_urban(folder: Path) -> Path:
    """Two urban primary schools, A and B, 100 pupils each, each with 10 qualified
    teachers of 语文/数学 (A0/B0 county backbone, A9/B9 体育), all eligible: the same
    values of indicators 1-3 at both, so neither is below the county value, and both
    are above the floors (10 qualified, 1 backbone, 1 PE per 100 pupils). R = 2."""
    schools = HEAD + (
        "A,甲小学,primary,urban,true,false,,113.02,29.02,100,0,3,0,34,0,4,1000,1000,"
        "300000,3,1,100,1,95,40,100000,10000\n"
        "B,乙小学,primary,urban,true,false,,113.05,29.05,100,0,3,0,34,0,4,1000,1000,"
        "300000,3,1,100,1,95,40,100000,10000\n")
    rows = []
    for h in "AB":
        for i in range(10):
            subject = "体育" if i == 9 else ("语文" if i % 2 else "数学")
            backbone = "county" if i == 0 else "none"
            rows.append(f"{h}{i},{h}{i},{h},primary,{subject},bachelor,{backbone},true,true,"
                        f"8,40,400,")
    return write_tiny(folder, schools=schools, teachers=THEAD + "\n".join(rows) + "\n",
                      units=TINY_UNITS, yaml_text=TINY_YAML)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    return load_district(two_schools(tmp_path_factory.mktemp("two") / "d"))


#: the base of the effect tests: band and send limit wide enough that the backbone
#: rule binds (M = 5)
WIDE = RotationParams(band=0.5, max_send_share=0.5)


def counts(o) -> tuple[int, int, int]:
    c = o.result.counts
    return c["required_movers"], c["rotated"], c["backbone_rotated"]


def test_defaults_come_from_the_standard_and_the_district(two):
    """Defaults: share 10 %, backbone 20 % of movers (the standard's indicator 19),
    base "rotated" (district setting), band 0.1 → A keeps ≥ 18: R = 2, M = 2, A01 moves."""
    o = rotate(two)
    rules = load_rules("hunan-2023")
    assert o.params == RotationParams(share=rules.rotation_share,
                                      backbone_share=rules.rotation_backbone_share,
                                      backbone_base="rotated")
    assert o.problem.settings.floors == {st: rules.teacher_floors(st)
                                         for st in ("primary", "junior")}
    assert o.status is Status.OPTIMAL and counts(o) == (2, 2, 1)
    assert "A01" in {m.teacher_id for m in o.result.moves}
    assert o.indicator_19() == {"eligible": 20, "rotated": 2, "backbone_rotated": 1}
    assert o.violations == [] and o.summary["verified"]


def test_wide_limits_backbone_rule_binds(two):
    o = rotate(two, WIDE)
    assert o.status is Status.OPTIMAL and counts(o) == (2, 5, 1)
    assert o.result.objective["shortfall"] == pytest.approx((12.6 - 5) + 2 + 2.7 + 0.9 + 1)


# one test per RotationParams field: change it (from WIDE), the plan changes as computed
def test_effect_share(two):
    """share 0.3 → R = 6 needs ceil(1.2) = 2 backbone movers; there is one: infeasible.
    The closest plan takes the one slack teacher on the backbone count, so up to
    5 · (1 + 1) = 10 may move, and 10 do (A's send limit); the report says why in red."""
    o = rotate(two, WIDE.replace(share=0.3))
    assert o.status is Status.INFEASIBLE and o.result.closest
    assert counts(o) == (6, 10, 1)
    assert o.summary["messages"][0]["code"] == "backbone_unreachable"
    assert o.summary["shortfalls"] == [{"rule": "backbone", "required": 2, "achieved": 1,
                                        "short": 1}]
    assert presenter.report_sections(o, "en")[0].warnings == (
        "20 % of 6 movers needs 2 backbone teachers; only 1 are eligible to leave: 1 at A",
        "backbone short by 1: 1 of the 2 required")
    assert presenter.report_sections(o, "zh")[0].warnings == (
        "交流人数 6 人的 20 % 需骨干教师 2 人；符合条件可交流的骨干教师只有 1 人：A 1 人",
        "骨干教师缺 1 人：要求 2 人，仅 1 人")


def test_effect_backbone_share(two):
    """backbone_share 0.25 → M ≤ 4 · B = 4."""
    assert counts(rotate(two, WIDE.replace(backbone_share=0.25))) == (2, 4, 1)


def test_effect_backbone_base(two):
    """base "eligible": B ≥ ceil(0.2 · R) = 1 whatever M, so M reaches A's send limit
    floor(0.5 · 20) = 10."""
    o = rotate(two, WIDE.replace(backbone_base="eligible"))
    assert counts(o) == (2, 10, 1) and o.result.counts["backbone_required"] == 1


def test_effect_band(two):
    """band 0.15 → A keeps ≥ floor(0.85 · 20) = 17: M = 3."""
    assert counts(rotate(two, WIDE.replace(band=0.15))) == (2, 3, 1)


def test_effect_max_send_share(two):
    """max_send_share 0.1 → A sends ≤ floor(0.1 · 20) = 2."""
    assert counts(rotate(two, WIDE.replace(max_send_share=0.1))) == (2, 2, 1)


def test_effect_direction_rule(tmp_path):
    """Two urban schools with the same pupils and the same teachers: neither lacks
    anything (the county values are theirs), so no move between them serves a need.
    Without the direction rule the plan moves R = 2 teachers anyway (the purpose level
    counts them, their reason is the rotation share); with it no plan exists and the
    explanation says so."""
    d = load_district(twin_urban(tmp_path / "d"))
    o = rotate(d, WIDE)
    assert o.status is Status.OPTIMAL and o.result.counts["rotated"] == 2
    assert o.summary["not_toward_need"] == 2 and o.summary["quota_reasons"] == 2
    o = rotate(d, WIDE.replace(direction_rule=True))
    assert o.status is Status.INFEASIBLE and o.result.moves == ()
    assert [m.code for m in o.result.messages] == ["solver_infeasible", "direction_unreachable"]
    # the explanation says why: no school is in need (both urban, neither weak)
    text = presenter.diagnostic_text("direction_unreachable", o.result.messages[1].figures)
    assert o.result.messages[1].figures["needy"] == 0 and "全县没有需求学校" in text


def test_solve_params_reach_the_model(two, monkeypatch):
    """The solver and time limit of SolveParams are the model's (captured at the call)."""
    import models.rotation as rm
    seen = {}
    real = rm.solve

    def spy(problem, solver="highs", time_limit=None, gap=None):
        seen.update(solver=solver, time_limit=time_limit)
        return real(problem, solver=solver, time_limit=time_limit, gap=gap)
    monkeypatch.setattr(rm, "solve", spy)
    o = rotate(two, WIDE, SolveParams(time_limit=7.5))
    # the model gets what is left of the user's limit after loading the roster, the
    # engine and the travel times
    assert seen["solver"] == "highs" and 5.0 < seen["time_limit"] <= 7.5
    assert o.result.solver == "highs"
    rotate(two, WIDE)
    assert SolveParams().time_limit - 5 < seen["time_limit"] <= SolveParams().time_limit


# ---------------------------------------------------------------------------
# a variant standard drives the plan and the verifier
# ---------------------------------------------------------------------------

def variant_standard(folder: Path) -> Path:
    """hunan-2023 with rotation shares 15 % / 25 % and a backbone floor of 2 per 100."""
    data = yaml.safe_load((STANDARDS_DIR / "hunan-2023.yaml").read_text(encoding="utf-8"))
    for ind in data["indicators"]:
        if ind["id"] == 19:
            ind["params"]["rotated_share"] = 0.15
            ind["params"]["backbone_share"] = 0.25
        if ind["id"] == 2:
            ind["threshold"] = {"primary": 2.0, "junior": 2.0}
    data["name"] = "variant"
    path = folder / "variant.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_variant_standard_drives_plan_and_verifier(tmp_path, two):
    std = variant_standard(tmp_path)
    d = load_district(two_schools(tmp_path / "d", yaml_text=TINY_YAML.replace(
        "standard: hunan-2023", f"standard: {std}")))
    o = rotate(d, WIDE)
    # R = ceil(0.15 · 20) = 3; a quarter of the movers backbone: M ≤ 4 · 1
    assert (o.params.share, o.params.backbone_share) == (0.15, 0.25)
    assert counts(o) == (3, 4, 1)
    assert o.problem.settings.floors["primary"][1] == 2.0
    assert o.violations == []
    # the verifier takes the standard's shares when the parameters leave them open:
    # the Hunan plan (5 movers, 1 backbone) misses a quarter of 5
    out = tmp_path / "hunan"
    out.mkdir()
    presenter.write_files(rotate(two, WIDE), out)       # Chinese headers: read as well
    assert verify_rotation(two, out, WIDE, load_rules("hunan-2023")) == []
    assert verify_rotation(two, out, WIDE, load_rules(std)) == [
        "rotation: 1 backbone movers < 1.25 required"]


# ---------------------------------------------------------------------------
# travel from the one travel-time service
# ---------------------------------------------------------------------------

def test_travel_on_roads(two):
    o = rotate(two, WIDE)
    assert o.travel.source == "roads"
    cost = round(o.travel.minutes_between("A", "B"), 3)
    assert cost > 0 and all(m.cost == cost for m in o.result.moves)
    assert o.result.objective["travel"] == pytest.approx(5 * cost)


def test_travel_falls_back_to_straight_lines_when_roads_do_not_join(tmp_path):
    """Two road pieces that do not meet: the road time A → B is infinite, so the
    service's straight-line matrix is used: great-circle km × 1.3 at 30 km/h."""
    roads = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"highway": "primary", "speed_kmh": 60},
         "geometry": {"type": "LineString", "coordinates": [[113.02, 29.02], [113.025, 29.02]]}},
        {"type": "Feature", "properties": {"highway": "primary", "speed_kmh": 60},
         "geometry": {"type": "LineString", "coordinates": [[113.05, 29.05], [113.055, 29.05]]}},
    ]}
    d = load_district(two_schools(tmp_path / "d", roads=roads))
    o = rotate(d, WIDE)
    assert o.travel.source == "straight_line"
    km = float(haversine_km(113.02, 29.02, 113.05, 29.05))
    assert o.result.moves[0].cost == round(km * 1.3 / 30 * 60, 3)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

def test_no_roster_is_a_user_error(tmp_path, capsys):
    folder = write_tiny(tmp_path / "noroster", teachers=None)
    with pytest.raises(PlanInputError, match="teachers.csv"):
        rotate(load_district(folder))
    assert main(["rotate", str(folder), "--out", str(tmp_path / "out")]) == 2
    assert "teachers.csv: the district has no teacher roster" in capsys.readouterr().err


def test_school_far_from_roads_is_a_user_error(tmp_path):
    yaml_text = TINY_YAML.replace("  school_rule: hunan", "  school_rule: hunan\n"
                                  "  max_access_m: 100")
    d = load_district(two_schools(tmp_path / "d", b_lonlat="113.09,29.01",
                                  yaml_text=yaml_text))
    with pytest.raises(PlanInputError, match=r"schools.csv: .*B \("):
        rotate(d)


def test_bad_options_name_the_option(tiny_dir, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["rotate", str(tiny_dir), "--out", str(out), "--share", "1.5"]) == 2
    assert "--share 1.5: not a number between 0 and 1" in capsys.readouterr().err
    assert main(["rotate", str(tiny_dir), "--out", str(out), "--backbone-base", "all"]) == 2
    assert "--backbone-base all: not one of rotated, eligible" in capsys.readouterr().err
    assert main(["rotate", str(tiny_dir), "--out", str(out), "--time-limit", "0"]) == 2
    assert not out.exists()


def test_model_value_error_is_internal(tiny_dir, tmp_path, monkeypatch, capsys):
    """A ValueError inside the model is a bug: exit 1, not 'bad input'."""
    import models.rotation as rm

    def broken(*a, **k):
        raise ValueError("internal: something the adapter should have prevented")
    monkeypatch.setattr(rm, "solve", broken)
    assert main(["rotate", str(tiny_dir), "--out", str(tmp_path / "o")]) == 1
    assert "internal error: ValueError" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# the command line and the words
# ---------------------------------------------------------------------------

def test_cli_options_reach_the_plan(tmp_path):
    folder = two_schools(tmp_path / "d")
    out = tmp_path / "out"
    assert main(["rotate", str(folder), "--out", str(out), "--band", "0.5",
                 "--max-send-share", "0.5", "--backbone-base", "eligible"]) == 0
    rows = list(csv.DictReader((out / "rotation.csv").open(encoding="utf-8-sig")))
    assert len(rows) == 10
    out2 = tmp_path / "out2"
    assert main(["rotate", str(folder), "--out", str(out2), "--band", "0.5",
                 "--max-send-share", "0.5", "--backbone-share", "0.25"]) == 0
    assert json.loads((out2 / "summary.json").read_text(encoding="utf-8"))["rotated"] == 4
    out3 = tmp_path / "out3"
    assert main(["rotate", str(folder), "--out", str(out3), "--band", "0.5",
                 "--max-send-share", "0.5", "--share", "0.3", "--lang", "en"]) == 3


def test_rotation_list_words(two, tmp_path, capsys):
    """rotation.csv and rotation.xlsx: Chinese headers and values in zh (the office's
    columns); English names and words in en."""
    o = rotate(two, WIDE)
    presenter.write_files(o, tmp_path)
    rows = list(csv.DictReader((tmp_path / "rotation.csv").open(encoding="utf-8-sig")))
    assert list(rows[0]) == presenter.COLUMNS          # the contract's names, in any language
    by = {r["teacher_id"]: r for r in rows}
    # A01 (backbone) is credited against B's backbone floor, the others against its
    # qualified floor; every move goes from an urban school to a village school
    assert by["A01"]["reason"] == "提升每百名学生骨干教师数（未达底线）"
    assert {r["reason"] for t, r in by.items() if t != "A01"} == {
        "提升每百名学生高于规定学历教师数（未达底线）"}
    assert {(r["direction"], r["stage"], r["degree"], r["move_type"], r["period_years"])
            for r in rows} == {("城区→乡村", "小学", "本科", "交流", "3")}
    assert by["A01"]["backbone"] == "县级" and by["A02"]["backbone"] == "无"
    assert (by["A01"]["years_at_school"], by["A01"]["age"]) == ("8", "40")
    assert (by["A01"]["from_area"], by["A01"]["to_area"]) == ("城区", "乡村")
    assert float(by["A01"]["minutes"]) > 0
    ws = openpyxl.load_workbook(tmp_path / "rotation.xlsx").active
    assert ws.title == "交流轮岗名单"
    head = [c.value for c in ws[1]]
    assert head == [tr(f"rotation.column.{c}", "zh") for c in presenter.OFFICE_COLUMNS
                    if c != "id_number"]
    assert head[:4] == ["教师编号", "姓名", "任教学段", "任教学科"]
    values = {c.value for row in ws.iter_rows(min_row=2) for c in row}
    assert {"小学", "本科", "县级", "无", "城区", "乡村", "交流"} <= values
    en = presenter.rotation_table(o, "en")
    assert list(en.columns) == presenter.COLUMNS
    assert set(en["direction"]) == {"urban→village"}
    assert set(en["reason"]) == {
        "raises backbone teachers per 100 pupils (below the floor)",
        "raises teachers above the required degree per 100 pupils (below the floor)"}
    lines = presenter.console_lines(o, "zh")
    assert lines[0] == ("交流轮岗：符合条件 20 人，需交流 ≥ 2 人，安排交流 5 人，"
                        "其中骨干 1 人；状态 最优")
    assert lines[1] == ("交流方向：骨干教师 1/1 人流向需求学校，对口交流 0 对，未服务需求 0 人，"
                        "原因为“完成交流比例” 0 人")


def test_diagnostic_words():
    at = tuple((f"S{i:02d}", 10 - i) for i in range(10))
    f = {"backbone_share": 0.2, "base": "rotated", "movers": 45, "needed": 9,
         "available": 45, "at": at}
    assert presenter.diagnostic_text("backbone_unreachable", f, "en") == (
        "20 % of 45 movers needs 9 backbone teachers; only 45 are eligible to leave: "
        "10 at S00, 9 at S01, 8 at S02, 7 at S03, 6 at S04, 5 at S05, 4 at S06, 3 at S07, "
        "and 3 at 2 more schools")
    assert presenter.diagnostic_text("backbone_unreachable", {**f, "at": ()}, "zh") == (
        "交流人数 45 人的 20 % 需骨干教师 9 人；符合条件可交流的骨干教师只有 45 人：无")
    assert presenter.diagnostic_text("single_school_stage", {
        "stage": "junior", "school": None, "teachers": 5}, "en") == (
        "junior has only one school (no school); its 5 eligible teachers cannot rotate "
        "within the stage")
    assert presenter.shortfall_text("movers", 5, 4, 1, "en") == (
        "movers short by 1: 4 of the 5 required")


def test_file_verifier_follows_the_parameters(two, tmp_path):
    """The Wide plan (A sends 5: A01 and four more, all to B) checked from its files
    under other parameters: each limit is recomputed from the roster."""
    presenter.write_files(rotate(two, WIDE), tmp_path, "en")
    rules = load_rules("hunan-2023")
    assert verify_rotation(two, tmp_path, WIDE, rules) == []
    # band 0.1: A may keep [18, 22] teachers, B the same; 15 and 25 are outside
    assert verify_rotation(two, tmp_path, RotationParams(max_send_share=0.5), rules) == [
        "rotation: A head count 20 → 15 outside [18, 22]",
        "rotation: B head count 20 → 25 outside [18, 22]"]
    assert verify_rotation(two, tmp_path, WIDE.replace(max_send_share=0.2), rules) == [
        "rotation: A sends 5 of 20 teachers (> 4)"]
    assert verify_rotation(two, tmp_path, WIDE.replace(share=0.3), rules) == [
        "rotation: 5 movers < ceil(30% × 20 eligible) = 6"]
    # a teacher who is not eligible, and every 语文 teacher of A leaving
    rows = list(csv.DictReader((tmp_path / "rotation.csv").open(encoding="utf-8-sig")))
    extra = [dict(rows[0], teacher_id="B01", from_school_id="B", to_school_id="A")]
    extra += [dict(rows[0], teacher_id=f"A{i:02d}") for i in range(1, 21, 2)]
    listed = {r["teacher_id"] for r in rows}
    with open(tmp_path / "rotation.csv", "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows + [r for r in extra if r["teacher_id"] not in listed])
    errs = verify_rotation(two, tmp_path, RotationParams(band=1.0, max_send_share=1.0), rules)
    assert "rotation: B01 is not eligible to rotate" in errs
    assert "rotation: A loses every primary teacher of 语文" in errs
