"""Safe exports and personal data: no cell can start a formula, names are escaped
in HTML, identity numbers never appear in full, --anonymise hides every name."""

import csv

from conftest import TINY_TEACHERS, write_tiny
from openpyxl import load_workbook

from planner.cli import main
from planner.io.export import mask_id_number, safe_cell, write_csv, write_xlsx
from planner.outputs.report import build_report


def test_safe_cell():
    assert safe_cell("=1+1") == "'=1+1" and safe_cell("+86") == "'+86"
    assert safe_cell("-x") == "'-x" and safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("城关小学") == "城关小学" and safe_cell(-3) == -3


def test_csv_and_xlsx_cells_never_start_a_formula(tmp_path):
    import pandas as pd
    df = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "@cmd", "正常"], "n": [-1, 2, 3]})
    write_csv(df, tmp_path / "t.csv")
    rows = list(csv.reader((tmp_path / "t.csv").open(encoding="utf-8-sig")))
    assert rows[1][0] == "'=HYPERLINK(\"http://x\")" and rows[2][0] == "'@cmd"
    assert rows[1][1] == "-1"                    # numbers stay numbers
    write_xlsx({"s": df}, tmp_path / "t.xlsx")
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert ws["A2"].value == "'=HYPERLINK(\"http://x\")" and ws["A2"].data_type == "s"
    assert ws["B2"].value == -1


def test_report_escapes_names():
    from dataclasses import replace

    from indicator_helpers import make_district, school

    from planner.indicators import check
    d = make_district([school(name="<img src=x onerror=alert(2)>", max_class_primary=46)])
    rep = check(replace(d, name="<script>alert(1)</script>"))
    assert not rep.indicator(13).passed               # the school is named in the report
    html = build_report(scenario_name="<b>x</b>", before=rep, after=rep)
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "<img src=x" not in html and "<b>x</b>" not in html


def test_identity_numbers_masked_and_names_anonymised(tmp_path):
    # give the tiny roster identity numbers and movable teachers
    t = TINY_TEACHERS.replace("exempt\n", "exempt,id_number\n")
    lines = t.splitlines()
    t = "\n".join([lines[0]] + [ln + f",43060319800101{k:04d}"
                                 for k, ln in enumerate(lines[1:])]) + "\n"
    t += "".join(f"T1{k},新{k},S1,primary,语文,bachelor,none,true,true,9,40,400,,"
                 f"43060319900101{k:04d}\n"
                 for k in range(6))
    d = write_tiny(tmp_path / "d", teachers=t)
    out = tmp_path / "out"
    assert main(["rotate", str(d), "--out", str(out), "--lang", "en"]) in (0, 3)
    text = "".join(p.read_text(encoding="utf-8-sig", errors="ignore")
                   for p in out.iterdir() if p.suffix in (".csv", ".json"))
    assert "430603199001010000" not in text and "430603198001010000" not in text
    rows = list(csv.DictReader((out / "rotation.csv").open(encoding="utf-8-sig")))
    assert rows and all(r["id_number"].startswith("430") and "*" in r["id_number"] for r in rows)
    assert mask_id_number("430603199001010000") == "430*************00"
    out2 = tmp_path / "anon"
    assert main(["rotate", str(d), "--out", str(out2), "--anonymise"]) in (0, 3)
    rows2 = list(csv.DictReader((out2 / "rotation.csv").open(encoding="utf-8-sig")))
    assert [r["teacher_id"] for r in rows2] == [r["teacher_id"] for r in rows]
    assert all(r["name"].startswith("教师") and r["name"] not in t for r in rows2)
    assert "id_number" not in rows2[0]          # dropped, not even masked
