"""The independent verifier's findings in the planner's language: typed problems
(planner/verify: a catalogue key, its fields, its file) worded zh/en by
planner.outputs.verification from planner/outputs/catalogue/verify.yaml."""

from __future__ import annotations

import ast
import csv
import re
import string
from pathlib import Path

import browser
import pytest

from planner.cli import main
from planner.outputs.i18n import catalogue
from planner.outputs.verification import problem_file, problem_message, problem_text
from planner.verify.problems import Problem

ROOT = Path(__file__).resolve().parents[1]
VERIFY = ROOT / "planner" / "verify"
#: implicit fields of the helpers that make a problem (planner/verify/files.py ``_bad``,
#: the row context of planner/verify/remediation.py ``**where``)
IMPLICIT = {"_bad": {"file", "row", "column"}}
WHERE = {"row", "school", "action"}
#: Latin words a Chinese finding may hold: file names and the codes of the data
ZH_ALLOWED = {"summary.json", "teachers.csv", "boarding.csv", "routes.csv", "district_after",
              "roadmap_summary.json", "UTF-8", "CSV", "km", "A", "CV"}


def _placeholders(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _uses() -> dict[str, list[tuple[set[str], bool]]]:
    """Every ``verify.*`` key made in planner/verify: (the fields the call names,
    whether the call names them all)."""
    out: dict[str, list[tuple[set[str], bool]]] = {}
    for path in sorted(VERIFY.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            choice = [first.body, first.orelse] if isinstance(first, ast.IfExp) else [first]
            keys = [a.value for a in choice if isinstance(a, ast.Constant)
                    and isinstance(a.value, str) and a.value.startswith("verify.")]
            if not keys:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            fields = set(IMPLICIT.get(name, set()))
            complete = True
            for k in node.keywords:
                if k.arg is None:            # **where: the row context of remediation.csv
                    if isinstance(k.value, ast.Name) and k.value.id == "where":
                        fields |= WHERE
                    else:
                        complete = False
                else:
                    fields.add(k.arg)
            for a in node.args[1:2]:
                if isinstance(a, ast.Dict):
                    fields |= {k.value for k in a.keys if isinstance(k, ast.Constant)}
            for key in keys:
                out.setdefault(key, []).append((fields, complete))
        # a key chosen from a table (``for name, mine, key in ((...), ...)``): used, its
        # fields not seen here
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(r"verify(\.[a-z_]+)+", node.value):
                out.setdefault(node.value, [])
    return out


def test_every_verify_key_is_in_the_catalogue_with_the_fields_the_code_gives():
    uses = _uses()
    cat = catalogue()
    assert len(uses) > 90, sorted(uses)                 # every module's findings found
    for key, calls in sorted(uses.items()):
        assert key in cat, key
        zh, en = _placeholders(cat[key]["zh"]), _placeholders(cat[key]["en"])
        assert zh == en, (key, zh, en)
        for fields, complete in calls:
            assert fields <= en, (key, fields - en)
            if complete:
                assert fields == en, (key, en - fields)
    # and every finding of the catalogue is made somewhere (verify.at: the line's frame)
    made = {k for k in cat if k.startswith("verify.") and k.split(".")[1] in
            ("file", "rotation", "consolidation", "remediation", "roadmap", "catchments")}
    assert made == set(uses)


def test_every_finding_reads_in_chinese_and_english():
    cat = catalogue()
    for key in sorted(_uses()):
        fields = {f: "X1" for f in _placeholders(cat[key]["en"])}
        zh = problem_text(Problem(key, fields, "rotation/rotation.csv"), "zh")
        en = problem_text(Problem(key, fields, "rotation/rotation.csv"), "en")
        assert zh.startswith("rotation/rotation.csv：") and en.startswith(
            "rotation/rotation.csv: ")
        assert re.search(r"[\u4e00-\u9fff]", zh), key
        assert browser.latin_words(zh, ZH_ALLOWED | {"rotation", "rotation.csv"}) == [], key
        assert browser.reprs(zh) == [] and not re.search(r"[\u4e00-\u9fff]", en.replace(
            "X1", "")), key


def test_codes_are_worded_and_text_passes_through():
    p = Problem("verify.rotation.no_stage", {"teacher": "T00016", "stage": "junior",
                                              "school": "Y001"}, "rotation.csv")
    assert problem_text(p, "zh") == ("rotation.csv：教师交流轮岗：教师 T00016 任教初中，但 Y001 "
                                     "没有初中学段")
    assert problem_text(p, "en") == ("rotation.csv: rotation: T00016 teaches junior but Y001 "
                                     "has no junior stage")
    assert str(p) == "rotation.csv: verify.rotation.no_stage: teacher=T00016; stage=junior; " \
                     "school=Y001"
    assert p.at("rotation/").where == "rotation/rotation.csv" and problem_file(p) == \
        "rotation.csv"
    year = Problem("verify.roadmap.year", {"year": 2025, "problem": Problem(p.key, p.fields)},
                   "2025/rotation.csv").at("roadmap/")
    assert problem_text(year, "en") == ("roadmap/2025/rotation.csv: roadmap 2025: rotation: "
                                        "T00016 teaches junior but Y001 has no junior stage")
    assert problem_message(year, "zh") == ("创建路线图 2025 学年：教师交流轮岗：教师 T00016 任教"
                                           "初中，但 Y001 没有初中学段")
    cols = Problem("verify.remediation.school_changed", {
        "school": "S2", "school_column": "equipment_yuan", "before": "nan", "value": "9.0"})
    assert problem_message(cols, "zh") == "整改方案：S2「教学仪器设备值」由 无数据 变为 9.0，" \
                                          "但没有对应的整改措施"
    assert problem_message(cols, "en") == ("remediation: S2 equipment_yuan changed from nan to "
                                           "9.0 without a row")
    at = Problem("verify.remediation.indicator_fails_at", {"indicator": 6,
                                                            "parts": "S2 junior, S3"})
    assert problem_message(at, "zh") == "整改方案：整改后指标 6 仍未达标（S2 初中、S3）"
    assert problem_message(at, "en") == ("remediation: indicator 6 fails in district_after at "
                                         "S2 junior, S3")
    row = Problem("verify.remediation.row_cost", {"row": 2, "school": "S1",
                                                  "action": "build_floor_area", "cost": "1",
                                                  "quantity": "2", "unit_cost": "3"})
    assert "新建教学及辅助用房" in problem_message(row, "zh")
    assert problem_message(row, "en") == ("remediation.csv row 2 (S1 build_floor_area): cost 1 "
                                          "is not quantity 2 × unit cost 3")
    line = "catchments/units.csv: catchments primary: the zone of Y001 is not connected"
    assert problem_text(line, "zh") == line and problem_file(line) == "catchments/units.csv"
    assert hash(p) == hash(Problem(p.key, dict(p.fields), p.where)) and len({p, p}) == 1


@pytest.fixture(scope="module")
def own_school(tmp_path_factory):
    """The bundled district's rotation list, hand-edited: the first mover's new school is
    the school he is at."""
    out = tmp_path_factory.mktemp("verify-words") / "rot"
    assert main(["rotate", "--out", str(out), "--lang", "en"]) == 0
    path = out / "rotation.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    first = rows[0]
    first["to_school_id"], first["to_school"] = first["from_school_id"], first["from_school"]
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(first))
        w.writeheader()
        w.writerows(rows)
    return out, first["teacher_id"], first["from_school_id"]


def test_a_teacher_moved_to_his_own_school_is_said_in_chinese(own_school, capsys):
    out, teacher, school = own_school
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    lines = [x for x in capsys.readouterr().out.splitlines() if teacher in x]
    assert lines == [f"【教师交流轮岗】rotation.csv：教师交流轮岗：教师 {teacher} 交流去向仍是本校 "
                     f"{school}"]
    assert browser.latin_words(lines[0], {"rotation.csv"}) == [] and browser.reprs(lines[0]) == []
    assert main(["verify", str(out), "--lang", "en"]) == 1
    lines = [x for x in capsys.readouterr().out.splitlines() if teacher in x]
    assert lines == [f"[rotation] rotation.csv: rotation: {teacher} moves to the same school "
                     f"{school}"]


def test_the_report_says_the_findings_in_its_language():
    from planner.indicators.engine import check
    from planner.io.load import bundled_district, load_district
    from planner.outputs.report import build_report
    rep = check(load_district(bundled_district()))
    found = [Problem("verify.consolidation.ride_too_long", {"route": "Y014-01", "ride": "31.2",
                                                            "limit": "30"},
                     "consolidation/routes.csv"), "catchments/units.csv: as it was"]
    zh = build_report(scenario_name="s", before=rep, after=None, verification=found)
    assert ("<li>consolidation/routes.csv：撤并与校车：线路 Y014-01 乘车 31.2 分钟，超过上限 30 分钟"
            "</li><li>catchments/units.csv: as it was</li>") in zh
    en = build_report(scenario_name="s", before=rep, after=None, verification=found, lang="en")
    assert "<li>consolidation/routes.csv: consolidation: route Y014-01 rides 31.2 min &gt; 30 min" \
           "</li>" in en


def test_planner_remediate_says_the_verifiers_findings(tmp_path, monkeypatch, capsys):
    """``planner remediate`` re-verifies what it wrote: a finding is said in the chosen
    language (the verifier stubbed to find one: a programme it wrote always passes)."""
    from test_remediate import mixed

    import planner.cli.remediate as cli
    d = mixed(tmp_path / "d")
    found = [Problem("verify.remediation.not_certified", {"teacher": "S2-T003"},
                     "remediation.csv")]
    monkeypatch.setattr(cli, "verify_remediation", lambda *a: found)
    capsys.readouterr()
    assert main(["remediate", str(d), "--out", str(tmp_path / "zh")]) == 1
    assert "remediation.csv：整改方案：教师 S2-T003 列为取得教师资格证，但名册中没有资格证" in \
        capsys.readouterr().out
    assert main(["remediate", str(d), "--out", str(tmp_path / "en"), "--lang", "en"]) == 1
    assert "remediation.csv: remediation: teacher S2-T003 is listed as certified but is not" in \
        capsys.readouterr().out
