"""Bad input, tried at scale (issue "Reliability and safety", part 1).

Hypothesis corrupts the tiny district of ``conftest.py`` (and closures and
scenario files) in many ways and asserts, for every command that reads a
district (check, info, rotate, catchments, consolidate --plan/--optimise, run):

- exit code 2;
- every stderr line starts with ``error: `` and names the file, a
  row/feature/line and a column/key (``FILE row R, column C: ...``);
- where one cell was corrupted, a line names exactly that file, row and column;
- no ``Traceback`` and no Python warning anywhere;
- no output folder half written: ``--out`` does not exist afterwards (nor any
  staging folder beside it).

Input that only *looks* different (Chinese/English header mixes, GBK, UTF-8 with
BOM, CRLF, XLSX with a merged title row and trailing blank rows, a GeoPackage in
a projected CRS) must load to the same district.

Every example gets its own temporary folder; all tests are derandomised.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import yaml
from conftest import (
    TINY_BOUNDARY,
    TINY_ROADS,
    TINY_SCHOOLS,
    TINY_TEACHERS,
    TINY_UNITS,
    TINY_YAML,
    write_tiny,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.io.load import (
    SCHOOL_COLUMNS,
    TEACHER_COLUMNS,
    UNIT_COLUMNS,
    DataError,
    load_district,
)


def cfg(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# ----------------------------------------------------------------------------
# the base district as editable tables
# ----------------------------------------------------------------------------

def _parse(text: str) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


BASE = {"schools": _parse(TINY_SCHOOLS), "teachers": _parse(TINY_TEACHERS),
        "units": _parse(TINY_UNITS)}
SCHEMA = {"schools": SCHOOL_COLUMNS, "teachers": TEACHER_COLUMNS, "units": UNIT_COLUMNS}
ID = {"schools": "school_id", "teachers": "teacher_id", "units": "unit_id"}
ZH = {t: {c.name: c.zh for c in cols} for t, cols in SCHEMA.items()}
TABLES = ("schools", "teachers", "units")
COORDS = {"lon", "lat"}

CLOSURES_OK = "school_id,receiving_school_id,share\nS4,S1,1\n"


class Case:
    """A district to write: tables (header, rows), how they are written, raw
    file overrides and what the loader must say."""

    def __init__(self):
        self.tables = {t: (list(h), [list(r) for r in rows]) for t, (h, rows) in BASE.items()}
        self.fmt = {t: "csv" for t in TABLES}
        self.encoding = "utf-8"
        self.newline = "\n"
        self.title_row = False            # xlsx: a merged title row above the header
        self.blank_tail = 0               # xlsx/csv: trailing blank rows
        self.raw: dict[str, bytes | None] = {}   # file name -> bytes (None: delete)
        self.yaml_text = TINY_YAML
        self.post: list = []                     # edits of the written folder
        self.where: list[tuple[str, ...]] = []   # a line must start with one of each

    def __repr__(self):
        return (f"Case(fmt={self.fmt}, enc={self.encoding!r}, nl={self.newline!r}, "
                f"title={self.title_row}, tail={self.blank_tail}, raw={self.raw!r}, "
                f"where={self.where}, tables={self.tables}, yaml={self.yaml_text!r})")

    def label(self, t: str) -> str:
        return f"{t}.{self.fmt[t]}"

    def first_row(self, t: str) -> int:
        """Spreadsheet row of the first data row."""
        return 3 if (self.fmt[t] == "xlsx" and self.title_row) else 2

    def expect_cell(self, t: str, r: int, col: str) -> None:
        row = self.first_row(t) + r
        cols = ["lon", "lat"] if col in COORDS else [col]
        self.where.append(tuple(f"{self.label(t)} row {row}, column {c}:" for c in cols))

    def write(self, folder: Path) -> Path:
        write_tiny(folder)
        for t in TABLES:
            header, rows = self.tables[t]
            (folder / f"{t}.csv").unlink(missing_ok=True)
            if self.fmt[t] == "xlsx":
                _write_xlsx(folder / f"{t}.xlsx", header, rows, self.title_row, self.blank_tail)
            else:
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator=self.newline)
                w.writerow(header)
                w.writerows(rows)
                text = buf.getvalue() + ("," * (len(header) - 1) + self.newline) * self.blank_tail
                enc = self.encoding
                try:
                    data = text.encode(enc)
                except UnicodeEncodeError:
                    data = text.encode("utf-8")
                (folder / f"{t}.csv").write_bytes(data)
        (folder / "district.yaml").write_text(self.yaml_text, encoding="utf-8")
        for name, data in self.raw.items():
            p = folder / name
            if data is None:
                p.unlink(missing_ok=True)
            else:
                p.write_bytes(data)
        for edit in self.post:
            edit(folder)
        return folder


_NUM = re.compile(r"-?\d{1,9}(\.\d{1,6})?")


def _write_xlsx(path: Path, header, rows, title_row: bool, blank_tail: int) -> None:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    if title_row:
        ws.append(["云溪区学校基本情况表（2024年）"] + [None] * (len(header) - 1))
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(2, len(header)))
    ws.append(list(header))
    for r in rows:
        ws.append([(float(v) if "." in v else int(v)) if _NUM.fullmatch(v) else (v or None)
                   for v in r])
    last = ws.max_row
    for k in range(blank_tail):       # formatted but empty, or only spaces
        for c in range(1, len(header) + 1):
            cell = ws.cell(row=last + 1 + k, column=c)
            cell.number_format = "0.00"
            if k % 2:
                cell.value = " "
    wb.save(path)


# ----------------------------------------------------------------------------
# running and judging
# ----------------------------------------------------------------------------

LINE = re.compile(r"^error: (?P<file>\S+) (?:(?P<pos>row|feature|line) (?P<n>\d+|-), "
                  r"(?P<ck>column|key)|(?P<yk>key)) (?P<col>[^:]+): \S.*$")
DEFAULT_FILES = None


def _check_line(line: str, files: set[str] | None = None) -> None:
    m = LINE.match(line)
    assert m, f"error line does not name file, row/feature/line and column/key: {line!r}"
    # a YAML file names the key path alone (``district.yaml key settings.x: ...``)
    assert m["pos"] or m["file"].endswith((".yaml", ".yml")), line
    if files is not None:
        base = m["file"].split(":")[0]
        assert base in files or m["file"] in files, f"unexpected file in {line!r}"


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main(argv)
    text = err.getvalue() + "".join(f"warning: {w.category.__name__}: {w.message}\n"
                                    for w in caught)
    return rc, out.getvalue(), text


def assert_rejected(rc: int, out: str, err: str, case_where=(), files=None) -> None:
    assert "Traceback" not in out + err, err
    assert rc == 2, f"exit {rc}\n{err}"
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines, "no error message"
    for x in lines:
        _check_line(x, files)
    for alts in case_where:
        assert any(x[len("error: "):].startswith(a) for x in lines for a in alts), (
            f"no line names {alts}:\n{err}")


def assert_problems(problems: list[str], case_where=(), files=None) -> None:
    assert problems
    for p in problems:
        _check_line("error: " + p, files)
    for alts in case_where:
        assert any(p.startswith(a) for p in problems for a in alts), (
            f"no problem names {alts}:\n" + "\n".join(problems))


def assert_no_output(root: Path, before: set[str]) -> None:
    """Nothing new beside the inputs: no --out folder (not even an empty one),
    no staging folder."""
    new = sorted(str(p) for p in root.iterdir() if p.name not in before)
    assert not new, f"output left behind: {new} {[str(x) for p in new for x in Path(p).rglob('*')]}"


COMMANDS = ("check", "info", "rotate", "catchments", "consolidate-plan", "consolidate-opt", "run")
FAST_COMMANDS = ("check", "info")


def argv_for(command: str, root: Path, district: Path, closures: str = CLOSURES_OK,
             scenario_extra: dict | None = None) -> list[str]:
    out = str(root / "out")
    if command in ("check", "info"):
        return [command, str(district), "--lang", "en"]
    if command in ("rotate", "catchments"):
        return [command, str(district), "--out", out, "--lang", "en"]
    if command == "consolidate-opt":
        return ["consolidate", str(district), "--optimise", "--out", out, "--time-limit", "10"]
    if command == "consolidate-plan":
        p = root / "closures.csv"
        p.write_text(closures, encoding="utf-8")
        return ["consolidate", str(district), "--plan", str(p), "--out", out]
    if command == "run":
        p = root / "closures.csv"
        p.write_text(closures, encoding="utf-8")
        scen = {"schema": 1, "name": "t", "district": district.name, "time_limit": 10,
                "consolidation": {"mode": "plan", "closures": "closures.csv"},
                "rotation": {"share": 0.1}}
        scen.update(scenario_extra or {})
        sp = root / "scenario.yaml"
        sp.write_text(yaml.safe_dump(scen, allow_unicode=True), encoding="utf-8")
        return ["run", str(sp), "--out", out, "--quiet"]
    raise AssertionError(command)


def run_rejected(case: Case, command: str, files=None) -> None:
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        d = case.write(root / "d")
        argv = argv_for(command, root, d)
        before = {p.name for p in root.iterdir()}
        rc, out, err = run_cli(argv)
        assert_rejected(rc, out, err, case.where, files)
        assert_no_output(root, before)


# ----------------------------------------------------------------------------
# strategies
# ----------------------------------------------------------------------------

LETTERS = st.from_regex(r"\A[a-zA-Z\u4e00-\u9fa5]{1,8}\Z")
NOT_A_NUMBER = st.one_of(
    st.sampled_from(["abc", "十二", "1O", "12abc", "nan", "NaN", "inf", "-inf", "Infinity",
                     "1e400", "--5", "1.2.3", "0x1F", "N/A", "#VALUE!", "#DIV/0!"]),
    LETTERS)
NOT_AN_ENUM = st.one_of(st.sampled_from(["0", "1", "2", "3.5", "-1", "1e3", "nan"]),
                        st.from_regex(r"\A[qxz]{2,6}\Z"))
NOT_A_BOOL = st.sampled_from(["2", "-1", "maybe", "yesno", "对", "0.5", "nan"])


@st.composite
def bad_value(draw, col):
    if col.kind in ("int", "float"):
        opts = [NOT_A_NUMBER, st.sampled_from(["1e13", "99999999999999999999", "-1e13"])]
        if col.name not in COORDS:
            opts.append(st.sampled_from(["-1", "-0.5", "-100000"]))
        else:
            opts.append(st.sampled_from(["200", "-200", "95", "-95", "0", "-113.05"]))
        if col.kind == "int":
            opts.append(st.sampled_from(["1.5", "2.25", "0.001"]))
        return draw(st.one_of(*opts))
    if col.kind.startswith("enum:"):
        return draw(NOT_AN_ENUM)
    if col.kind == "bool":
        return draw(NOT_A_BOOL)
    if col.kind == "id":
        return draw(st.sampled_from(["", "   "]))
    raise AssertionError(col)


@st.composite
def containers(draw, case: Case, allow_xlsx: bool = True) -> Case:
    """How the tables are written: header language, format, encoding, line ends."""
    lang = draw(st.sampled_from(["en", "zh", "mixed", "en"]))
    for t in TABLES:
        header = case.tables[t][0]
        for i, h in enumerate(header):
            if h in ZH[t] and (lang == "zh" or (lang == "mixed" and draw(st.booleans()))):
                header[i] = ZH[t][h]
        if allow_xlsx and draw(st.integers(0, 5)) == 0:
            case.fmt[t] = "xlsx"
    case.encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    case.newline = draw(st.sampled_from(["\n", "\r\n"]))
    case.title_row = draw(st.booleans())
    case.blank_tail = draw(st.integers(0, 3))
    return case


@st.composite
def bad_cell_cases(draw):
    case = Case()
    t = draw(st.sampled_from(TABLES))
    header, rows = case.tables[t]
    col = draw(st.sampled_from([c for c in SCHEMA[t] if c.kind != "text" and c.name in header]))
    r = draw(st.integers(0, len(rows) - 1))
    rows[r][header.index(col.name)] = draw(bad_value(col))
    case = draw(containers(case))
    case.expect_cell(t, r, col.name)
    return case


@st.composite
def bad_structure_cases(draw):
    """Missing required columns, a column given twice, duplicate ids, a teacher
    at an unknown school, a school whose parent does not exist."""
    case = Case()
    t = draw(st.sampled_from(TABLES))
    header, rows = case.tables[t]
    kind = draw(st.sampled_from(["missing", "twice", "dup_id", "dup_id", "ref"]))
    case = draw(containers(case))
    header = case.tables[t][0]
    names = [next((c.name for c in SCHEMA[t] if h in (c.name, c.zh)), h) for h in header]
    if kind == "missing":
        req = [c for c in SCHEMA[t] if c.required and c.name in names]
        if t == "units":   # no required column but the id
            req = [c for c in SCHEMA[t] if c.name == "unit_id"]
        col = draw(st.sampled_from(req))
        i = names.index(col.name)
        del header[i]
        for r in rows:
            del r[i]
        hr = case.first_row(t) - 1
        case.where.append((f"{case.label(t)} row {hr}, column {col.name}:",))
    elif kind == "twice":
        i = draw(st.integers(0, len(header) - 1))
        col = next(c for c in SCHEMA[t] if c.name == names[i])
        other = draw(st.sampled_from([col.name, col.zh, col.name.upper()]))
        header.append(other)
        for r in rows:
            r.append(r[i])
        hr = case.first_row(t) - 1
        case.where.append((f"{case.label(t)} row {hr}, column ",))
    elif kind == "dup_id":
        i, j = sorted(draw(st.lists(st.integers(0, len(rows) - 1), min_size=2, max_size=2,
                                    unique=True)))
        k = names.index(ID[t])
        rows[j][k] = rows[i][k]
        case.expect_cell(t, j, ID[t])
    else:
        if t == "units":
            k = names.index("unit_id")
            rows[0][k] = ""
            case.expect_cell(t, 0, "unit_id")
        else:
            col = "parent_id" if t == "schools" else "school_id"
            k = names.index(col)
            r = draw(st.integers(0, len(rows) - 1))
            rows[r][k] = draw(st.sampled_from(["S9", "X-1", "s1", "学校"]))
            case.expect_cell(t, r, col)
    return case


@st.composite
def empty_file_cases(draw):
    case = Case()
    t = draw(st.sampled_from(TABLES))
    header = case.tables[t][0]
    body = draw(st.sampled_from([b"", b"\xef\xbb\xbf", b"   \n\n", b"\r\n", "header", "header-crlf",
                                 "header-blank", "xlsx-empty", "xlsx-header"]))
    case.fmt[t] = "csv"
    if body == "header":
        case.tables[t] = (header, [])
    elif body == "header-crlf":
        case.tables[t] = (header, [])
        case.newline = "\r\n"
    elif body == "header-blank":
        case.tables[t] = (header, [])
        case.blank_tail = 3
    elif body == "xlsx-header":
        case.tables[t] = (header, [])
        case.fmt[t] = "xlsx"
    elif body == "xlsx-empty":
        from openpyxl import Workbook
        buf = io.BytesIO()
        Workbook().save(buf)
        case.fmt[t] = "xlsx"
        case.raw[f"{t}.xlsx"] = buf.getvalue()
    else:
        case.raw[f"{t}.csv"] = body
    case.where.append((f"{case.label(t)} row ",))
    return case


def _geo_bytes(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


POINT = {"type": "Point", "coordinates": [113.05, 29.05]}
POLY = {"type": "Polygon", "coordinates": [[[113.0, 29.0], [113.1, 29.0], [113.1, 29.1],
                                            [113.0, 29.0]]]}
LINE_G = {"type": "LineString", "coordinates": [[113.02, 29.02], [113.05, 29.05]]}
BAD_JSON = ['{"type": "FeatureCollection", "features": [', "not json at all", "{}", "[]",
            "null", '{"type": "FeatureCollection"}', '{"type": "Feature"}', "\x00\x01\x02",
            ('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
            '{"type": "Point", "coordinates": ["a", "b"]}, "properties": {}}]}'),
            '{"type": "FeatureCollection", "features": [1, 2]}']
ODD_CRS = ["urn:ogc:def:crs:EPSG::999999", "EPSG:0", "foo", "urn:ogc:def:crs:OGC:1.3:CRS99",
           "本地坐标系", "urn:ogc:def:crs:EPSG::abc"]


@st.composite
def geo_cases(draw):
    case = Case()
    target = draw(st.sampled_from(["roads", "boundary"]))
    kind = draw(st.sampled_from(["geometry", "text", "crs", "speed", "geometry"]))
    label = f"{target}.geojson"
    base = json.loads(json.dumps(TINY_ROADS if target == "roads" else TINY_BOUNDARY))
    if kind == "speed" and target == "boundary":
        kind = "geometry"
    if kind == "geometry":
        n = len(base["features"])
        i = draw(st.integers(0, n - 1))
        if target == "roads":
            g = draw(st.sampled_from([POINT, POLY, None, {"type": "MultiPoint", "coordinates":
                                                          [[113.02, 29.02], [113.03, 29.03]]},
                                      {"type": "GeometryCollection", "geometries": [POINT]}]))
        else:
            g = draw(st.sampled_from([POINT, LINE_G, None, {"type": "MultiLineString",
                                                            "coordinates": [LINE_G["coordinates"]]}]))
        base["features"][i]["geometry"] = g
        case.raw[label] = _geo_bytes(base)
        case.where.append((f"{label} feature {i + 1}, column geometry:",))
    elif kind == "text":
        case.raw[label] = draw(st.sampled_from(BAD_JSON)).encode("utf-8")
        case.where.append((f"{label} ",))
    elif kind == "crs":
        base["crs"] = {"type": "name", "properties": {"name": draw(st.sampled_from(ODD_CRS))}}
        case.raw[label] = _geo_bytes(base)
        case.where.append((f"{label} ",))
    else:
        i = draw(st.integers(0, len(base["features"]) - 1))
        base["features"][i]["properties"]["speed_kmh"] = draw(
            st.sampled_from(["fast", -5, 0, "-1", "nan", "inf", "快"]))
        case.raw[label] = _geo_bytes(base)
        case.where.append((f"{label} feature {i + 1}, column speed_kmh:",))
    return case


TINY_META = yaml.safe_load(TINY_YAML)


@st.composite
def yaml_cases(draw):
    case = Case()
    kind = draw(st.sampled_from(["text", "edit", "edit", "edit"]))
    if kind == "text":
        case.yaml_text = draw(st.sampled_from([
            "- a\n- b\n", "just some text\n", "42\n", "[1, 2]\n", "'名字'\n",
            "name: x\nsettings:\n\tschool_rule: hunan\n", "name:\tx\n\tstandard: y\n",
            "name: [unclosed\n", "name: x\n  bad: indent\n", "{[1, 2]: x}\n", "name: x\nname: : :\n",
            "\ufeff- 1\n", "name: &a x\nstandard: *b\n"]))
        case.where.append(("district.yaml line ",))
        return case
    meta = json.loads(json.dumps(TINY_META))
    edits = [
        ("colour", "red", "colour"), ("name", [1, 2], "name"), ("name", {"a": 1}, "name"),
        ("name", None, "name"), ("name", "", "name"),
        ("standard", 5, "standard"), ("standard", "hunan-2099", "standard"),
        ("standard", ["hunan-2023"], "standard"),
        ("settings", "hunan", "settings"), ("settings", [1, 2], "settings"),
        ("settings.colour", "blue", "settings.colour"),
        ("settings.school_rule", "strict", "settings.school_rule"),
        ("settings.school_rule", ["hunan"], "settings.school_rule"),
        ("settings.teaching_points", 3, "settings.teaching_points"),
        ("settings.rotation_min_years", "six", "settings.rotation_min_years"),
        ("settings.rotation_min_years", -1, "settings.rotation_min_years"),
        ("settings.rotation_min_years", float("nan"), "settings.rotation_min_years"),
        ("settings.rotation_max_age", float("inf"), "settings.rotation_max_age"),
        ("settings.rotation_max_age", True, "settings.rotation_max_age"),
        ("county", [1, 2], "county"), ("county.colour", 1, "county.colour"),
        ("county.unified_standards", "yes", "county.unified_standards"),
        ("county.unified_standards", 1, "county.unified_standards"),
        ("county.teacher_pay_avg_yuan", "lots", "county.teacher_pay_avg_yuan"),
        ("county.teacher_pay_avg_yuan", -5, "county.teacher_pay_avg_yuan"),
        ("county.catchment_share_primary", float("inf"), "county.catchment_share_primary"),
        ("county.catchment_share_primary", float("nan"), "county.catchment_share_primary"),
        ("county.rotation_eligible", [3], "county.rotation_eligible"),
        ("b_scores", [3, 2], "b_scores"), ("b_scores.8", "abc", "b_scores.8"),
        ("b_scores.8", [-1, 2], "b_scores.8"), ("b_scores.8", [float("inf")], "b_scores.8"),
        ("b_scores.8", [float("nan")], "b_scores.8"), ("b_scores.8", [True], "b_scores.8"),
        ("b_scores.eight", [1], "b_scores.eight"),
        ("veto", True, "veto"), ("veto.colour", False, "veto.colour"),
        ("veto.exam_admission", "no", "veto.exam_admission"),
        ("veto.exam_admission", 0, "veto.exam_admission"),
    ]
    picked = draw(st.lists(st.sampled_from(edits), min_size=1, max_size=3,
                           unique_by=lambda e: e[0].split(".")[0]))
    for key, value, where in picked:
        parts = key.split(".")
        node = meta
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                node[p] = {}
            node = node[p]
        k = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
        node[k] = value
        case.where.append((f"district.yaml key {where}:",))
    case.yaml_text = yaml.safe_dump(meta, allow_unicode=True)
    return case


# ----------------------------------------------------------------------------
# 1. bad cells, columns, ids, empty files, geometry, YAML: every command says
#    exit 2, file-row-column lines, no traceback, no output folder
# ----------------------------------------------------------------------------

@cfg(260)
@given(case=bad_cell_cases(), command=st.sampled_from(FAST_COMMANDS * 4 + COMMANDS))
def test_bad_cells_are_rejected(case, command):
    run_rejected(case, command)


@cfg(160)
@given(case=bad_structure_cases(), command=st.sampled_from(FAST_COMMANDS * 4 + COMMANDS))
def test_bad_columns_and_ids_are_rejected(case, command):
    run_rejected(case, command)


@cfg(60)
@given(case=empty_file_cases(), command=st.sampled_from(FAST_COMMANDS * 2 + COMMANDS))
def test_empty_tables_are_rejected(case, command):
    run_rejected(case, command)


@cfg(100)
@given(case=geo_cases(), command=st.sampled_from(FAST_COMMANDS * 2 + COMMANDS))
def test_broken_geometry_is_rejected(case, command):
    run_rejected(case, command)


@cfg(130)
@given(case=yaml_cases(), command=st.sampled_from(FAST_COMMANDS * 3 + COMMANDS))
def test_bad_district_yaml_is_rejected(case, command):
    run_rejected(case, command)


# ----------------------------------------------------------------------------
# 2. any text in any cell: the loader loads or says where, never crashes
# ----------------------------------------------------------------------------

CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@cfg(100)
@given(t=st.sampled_from(TABLES), data=st.data(), value=CELL_TEXT)
def test_any_cell_text_loads_or_names_the_cell(t, data, value):
    case = Case()
    header, rows = case.tables[t]
    i = data.draw(st.integers(0, len(header) - 1))
    r = data.draw(st.integers(0, len(rows) - 1))
    rows[r][i] = value
    with tempfile.TemporaryDirectory() as td:
        d = case.write(Path(td) / "d")
        try:
            load_district(d)
        except DataError as e:
            assert_problems(e.problems)


# ----------------------------------------------------------------------------
# 3. valid input that only looks different loads to the same district
# ----------------------------------------------------------------------------

_BASELINE = {}


def baseline():
    if not _BASELINE:
        with tempfile.TemporaryDirectory() as td:
            _BASELINE["d"] = load_district(Case().write(Path(td) / "d"))
    return _BASELINE["d"]


def assert_same_district(d) -> None:
    b = baseline()
    for name in ("schools", "teachers"):
        x, y = getattr(d, name), getattr(b, name)
        pd.testing.assert_frame_equal(x[list(y.columns)], y, check_dtype=True)
    cols = [c for c in b.units.columns if c != "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(d.units[cols]), pd.DataFrame(b.units[cols]))
    assert [g.wkt for g in d.units.geometry] == [g.wkt for g in b.units.geometry]
    assert (d.name, d.settings, d.county, d.b_scores, d.veto) == \
        (b.name, b.settings, b.county, b.b_scores, b.veto)


@st.composite
def valid_variants(draw):
    case = draw(containers(Case()))
    # header cells may carry stray spaces or a BOM, English headers any case
    for t in TABLES:
        header = case.tables[t][0]
        for i, h in enumerate(header):
            h2 = draw(st.sampled_from([h, h, f" {h} ", h.upper() if h.isascii() else h]))
            header[i] = h2
    # extra columns nobody reads are kept, never an error
    if draw(st.booleans()):
        t = draw(st.sampled_from(TABLES))
        header, rows = case.tables[t]
        extra = draw(st.sampled_from(["备注", "remark", "geometry", "qualified", "eligible",
                                      "index", "Unnamed: 3", "nan", "school_id.1", "联系电话"]))
        if t != "teachers" and extra in ("qualified", "eligible"):
            extra = "备注"
        header.append(extra)
        for r in rows:
            r.append(draw(st.sampled_from(["", "x", "=1+1", "13800000000", "无"])))
    return case


@cfg(120)
@given(case=valid_variants())
def test_valid_variants_load_the_same(case):
    with tempfile.TemporaryDirectory() as td:
        d = case.write(Path(td) / "d")
        assert_same_district(load_district(d))


@cfg(16)
@given(case=valid_variants(), command=st.sampled_from(COMMANDS))
def test_valid_variants_run_every_command(case, command):
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        d = case.write(root / "d")
        rc, out, err = run_cli(argv_for(command, root, d))
        assert "Traceback" not in out + err
        assert rc in (0, 3), f"{command}: exit {rc}\n{err}"
        if command not in FAST_COMMANDS:
            assert any((root / "out").rglob("summary.json"))


def _projected_gpkg(folder: Path, epsg: int, schools_as_points: bool) -> Path:
    import geopandas as gpd

    from planner.io.load import save_district
    save_district(baseline(), folder, fmt="gpkg")
    gpkg = folder / "district.gpkg"
    if schools_as_points:
        s = gpd.read_file(gpkg, layer="schools")
        pts = gpd.points_from_xy(s["lon"].astype(float), s["lat"].astype(float), crs=4326)
        s = gpd.GeoDataFrame(s.drop(columns=["lon", "lat", "geometry"], errors="ignore"),
                             geometry=pts).to_crs(epsg)
        s.to_file(gpkg, layer="schools", driver="GPKG")
    for layer in ("units", "roads", "boundary"):
        g = gpd.read_file(gpkg, layer=layer)
        g.to_crs(epsg).to_file(gpkg, layer=layer, driver="GPKG")
    return gpkg


@cfg(8)
@given(epsg=st.sampled_from([32649, 3857, 4490, 4547]), points=st.booleans())
def test_projected_geopackage_is_reprojected(epsg, points):
    with tempfile.TemporaryDirectory() as td:
        gpkg = _projected_gpkg(Path(td) / "g", epsg, points)
        d = load_district(gpkg)
        b = baseline()
        pd.testing.assert_series_equal(d.schools["lon"], b.schools["lon"], atol=1e-6)
        pd.testing.assert_series_equal(d.schools["lat"], b.schools["lat"], atol=1e-6)
        for g1, g2 in zip(d.units.geometry, b.units.geometry):
            assert g1.distance(g2) < 1e-6
        assert d.boundary.symmetric_difference(b.boundary).area < 1e-9
        assert d.roads.crs.to_epsg() == 4326


# ----------------------------------------------------------------------------
# 4. extreme but valid numbers: check must not crash
# ----------------------------------------------------------------------------

@cfg(30)
@given(data=st.data())
def test_extreme_valid_numbers_do_not_crash_check(data):
    case = Case()
    header, rows = case.tables["schools"]
    for _ in range(data.draw(st.integers(1, 4))):
        col = data.draw(st.sampled_from([c for c in SCHOOL_COLUMNS if c.kind in ("int", "float")
                                         and c.name not in COORDS and c.name in header]))
        r = data.draw(st.integers(0, len(rows) - 1))
        rows[r][header.index(col.name)] = data.draw(st.sampled_from(
            ["0", "999999999999", "1e11", "0.000001", "1,000,000", ""]))
    with tempfile.TemporaryDirectory() as td:
        d = case.write(Path(td) / "d")
        rc, out, err = run_cli(["check", str(d), "--lang", "en"])
        assert "Traceback" not in out + err
        assert rc in (0, 2), err
        if rc == 2:
            for x in err.splitlines():
                _check_line(x)


# ----------------------------------------------------------------------------
# 5. closures files and scenario files
# ----------------------------------------------------------------------------

@st.composite
def bad_closures(draw):
    kind = draw(st.sampled_from(["unknown", "sum", "negative", "text", "nan", "self", "closed",
                                 "twice", "missing_col", "empty", "header", "zero", "big", "twice_header",
                                 "ragged"]))
    h = "school_id,receiving_school_id,share\n"
    body = {
        "unknown": (h + "S4,S9,1\n", "row 2, column receiving_school_id"),
        "sum": (h + "S4,S1,0.5\nS4,S3,0.3\n", "row 3, column share"),
        "negative": (h + "S4,S1,-0.5\nS4,S3,1.5\n", "row 2, column share"),
        "text": (h + "S4,S1,half\n", "row 2, column share"),
        "nan": (h + "S4,S1,nan\n", "row 2, column share"),
        "self": (h + "S4,S4,1\n", "row 2, column receiving_school_id"),
        "closed": (h + "S4,S1,1\nS1,S3,1\n", "row 2, column receiving_school_id"),
        "twice": (h + "S4,S1,0.5\nS4,S1,0.5\n", "row 3, column receiving_school_id"),
        "missing_col": ("school_id,share\nS4,1\n", "row 1, column receiving_school_id"),
        "empty": ("", "row "),
        "header": (h, "row "),
        "zero": (h + "S4,S1,0\n", "row 2, column share"),
        "big": (h + "S4,S1,1e400\n", "row 2, column share"),
        "twice_header": (h.strip() + ",学校代码\nS4,S1,1,S4\n", "row 1, column school_id"),
        "ragged": (h + "S4,S1,1,extra,cells\n", "row 2, column"),
    }[kind]
    return body


@cfg(40)
@given(closures=bad_closures(), command=st.sampled_from(["consolidate-plan", "run"]),
       crlf=st.booleans(), bom=st.booleans())
def test_bad_closures_are_rejected(closures, command, crlf, bom):
    text, where = closures
    if crlf:
        text = text.replace("\n", "\r\n")
    if bom:
        text = "\ufeff" + text
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        d = Case().write(root / "d")
        argv = argv_for(command, root, d, closures=text)
        before = {p.name for p in root.iterdir()}
        rc, out, err = run_cli(argv)
        assert_rejected(rc, out, err, [(f"closures.csv {where}",)])
        assert_no_output(root, before)


SCENARIO_EDITS = [
    ({"colour": "red"}, "colour"), ({"schema": 2}, "schema"), ({"schema": "1"}, "schema"),
    ({"schema": None}, "schema"), ({"schema": 1.5}, "schema"), ({"district": None}, "district"),
    ({"district": 5}, "district"), ({"district": "nowhere"}, "district"),
    ({"time_limit": "long"}, "time_limit"), ({"time_limit": -1}, "time_limit"),
    ({"seed": 1.5}, "seed"), ({"solver": "gurobi"}, "solver"), ({"lang": "fr"}, "lang"),
    ({"consolidation": [1, 2]}, "consolidation"),
    ({"consolidation": {"mode": "plan", "closures": 5}}, "consolidation.closures"),
    ({"consolidation": {"mode": "plan", "closures": [1, 2]}}, "consolidation.closures"),
    ({"consolidation": {"mode": "plan", "closures": [{"school_id": "S4"}]}},
     "consolidation.closures"),
    ({"consolidation": {"mode": "plan", "closures": [{"school_id": "S4",
                                                      "receiving_school_id": "S9"}]}},
     "consolidation.closures"),
    ({"consolidation": {"mode": "plan", "closures": [{"school_id": "S4",
                                                      "receiving_school_id": "S1",
                                                      "share": "all"}]}},
     "consolidation.closures"),
    ({"consolidation": {"mode": "plan", "closures": "nothere.csv"}}, "consolidation.closures"),
    ({"consolidation": {"mode": "guess"}}, "consolidation.mode"),
    ({"consolidation": {"mode": "optimise", "max_ride_min": "x"}}, "consolidation.max_ride_min"),
    ({"consolidation": {"mode": "optimise", "max_ride_min": -3}}, "consolidation.max_ride_min"),
    ({"consolidation": {"mode": "optimise", "bus_capacity": 0}}, "consolidation.bus_capacity"),
    ({"consolidation": {"mode": "optimise", "bus_capacity": "big"}},
     "consolidation.bus_capacity"),
    ({"consolidation": {"mode": "optimise", "colour": 1}}, "consolidation.colour"),
    ({"rotation": {"share": "abc"}}, "rotation.share"), ({"rotation": {"share": 2}}, "rotation.share"),
    ({"rotation": {"backbone_share": -0.1}}, "rotation.backbone_share"),
    ({"rotation": {"direction_rule": "maybe"}}, "rotation.direction_rule"),
    ({"rotation": {"colour": 1}}, "rotation.colour"), ({"rotation": "yes"}, "rotation"),
    ({"catchments": {"stages": 5}}, "catchments.stages"),
    ({"catchments": {"stages": ["senior"]}}, "catchments.stages"),
    ({"catchments": {"k_nearest": "x"}}, "catchments.k_nearest"),
    ({"catchments": {"k_nearest": 0}}, "catchments.k_nearest"),
    ({"catchments": {"contiguity": "weird"}}, "catchments.contiguity"),
    ({"catchments": {"stability_penalty": "x"}}, "catchments.stability_penalty"),
]


@cfg(90)
@given(edits=st.lists(st.sampled_from(SCENARIO_EDITS), min_size=1, max_size=2,
                      unique_by=lambda e: next(iter(e[0]))))
def test_bad_scenarios_are_rejected(edits):
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        d = Case().write(root / "d")
        extra = {}
        for e, _ in edits:
            extra.update(e)
        argv = argv_for("run", root, d, scenario_extra=extra)
        before = {p.name for p in root.iterdir()}
        rc, out, err = run_cli(argv)
        # an unknown school in a closures list shows only once the district is loaded
        late = [e for e in edits if "S9" in repr(e)]
        wanted = [(f"scenario.yaml key {k}:", f"scenario.yaml key {k}[", "closures row ")
                  for e, k in edits if not (late and len(edits) > 1 and (e, k) in late)]
        assert_rejected(rc, out, err, wanted)
        assert_no_output(root, before)


@cfg(12)
@given(text=st.sampled_from(["- 1\n- 2\n", "schema: [1\n", "a:\tb\n\tc: d\n", "", "42\n",
                             "schema: 1\ndistrict: d\n\tname: x\n"]))
def test_unreadable_scenarios_are_rejected(text):
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        Case().write(root / "d")
        sp = root / "scenario.yaml"
        sp.write_text(text, encoding="utf-8")
        rc, out, err = run_cli(["run", str(sp), "--out", str(root / "out"), "--quiet"])
        assert_rejected(rc, out, err, [("scenario.yaml line ",)])
        assert not (root / "out").exists()


# ----------------------------------------------------------------------------
# 6. XLSX as other programs write it, YAML bombs and keys given twice (issue 12)
# ----------------------------------------------------------------------------

def _edit_sheet(path: Path, edit) -> None:
    import zipfile
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["xl/worksheets/sheet1.xml"] = edit(files["xl/worksheets/sheet1.xml"])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, b in files.items():
            z.writestr(n, b)


def _stale_dimension(t: str, ref: str):
    def edit(folder: Path) -> None:
        _edit_sheet(folder / f"{t}.xlsx",
                    lambda x: re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'
                                     .encode(), x))
    return edit


def _hidden_first_sheet(t: str, state: str):
    def edit(folder: Path) -> None:
        from openpyxl import load_workbook
        wb = load_workbook(folder / f"{t}.xlsx")
        ws = wb.create_sheet("旧数据", 0)
        ws.append(["school_id", "teacher_id", "unit_id", "name"])
        ws.append(["X9", "X9", "X9", "不该读到"])
        ws.sheet_state = state
        wb.active = 1
        wb.save(folder / f"{t}.xlsx")
    return edit


@st.composite
def xlsx_odd_cases(draw):
    """A workbook with a formula cell that has no saved value in a column the
    loader reads (what openpyxl and scripts write): rejected, naming the cell."""
    case = draw(containers(Case(), allow_xlsx=False))
    t = draw(st.sampled_from(TABLES))
    case.fmt[t] = "xlsx"
    header, rows = case.tables[t]
    names = [next((c.name for c in SCHEMA[t] if h.strip().upper() in (c.name.upper(), c.zh)), h)
             for h in header]
    i = draw(st.integers(0, len(header) - 1))
    r = draw(st.integers(0, len(rows) - 1))
    rows[r][i] = draw(st.sampled_from(["=600*2", "=A2", "=SUM(J2:J3)", '=IF(1,"x","y")',
                                       "=1/0", "=TODAY()"]))
    row = case.first_row(t) + r
    case.where.append((f"{t}.xlsx row {row}, column {names[i]}: cell ",))
    return case


@st.composite
def xlsx_same_cases(draw):
    """Workbooks that only look odd: a stale or narrow <dimension> record, a hidden
    first sheet, a formula in a column nobody reads (kept as its text)."""
    case = draw(containers(Case(), allow_xlsx=False))
    t = draw(st.sampled_from(TABLES))
    case.fmt[t] = "xlsx"
    kind = draw(st.sampled_from(["dimension", "hidden", "very", "extra"]))
    if kind == "dimension":
        case.post.append(_stale_dimension(t, draw(st.sampled_from(["A1:B2", "A1", "A1:C3",
                                                                   "A1:ZZ2"]))))
    elif kind in ("hidden", "very"):
        case.post.append(_hidden_first_sheet(t, "hidden" if kind == "hidden" else "veryHidden"))
    else:
        header, rows = case.tables[t]
        header.append("备注")
        for r in rows:
            r.append(draw(st.sampled_from(["", "=1+1", "=A2", "x"])))
    return case


@cfg(40)
@given(case=xlsx_odd_cases(), command=st.sampled_from(FAST_COMMANDS * 3 + COMMANDS))
def test_xlsx_formula_without_value_is_rejected(case, command):
    run_rejected(case, command)


@cfg(30)
@given(case=xlsx_same_cases())
def test_xlsx_oddities_load_the_same(case):
    with tempfile.TemporaryDirectory() as td:
        d = case.write(Path(td) / "d")
        assert_same_district(load_district(d))


@cfg(20)
@given(t=st.sampled_from(TABLES), command=st.sampled_from(FAST_COMMANDS * 2 + COMMANDS))
def test_two_files_for_one_table_are_rejected(t, command):
    case = Case()
    case.post.append(lambda folder: _write_xlsx(folder / f"{t}.xlsx", *case.tables[t],
                                                False, 0))
    case.where.append((f"{t}.csv row -, column -: the {t} table is given twice",))
    run_rejected(case, command)


def _bomb(levels: int, width: int) -> str:
    lines = [f"b0: &b0 [{', '.join(['lol'] * width)}]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


@st.composite
def yaml_key_cases(draw):
    """district.yaml with a key given twice (anywhere), or an alias bomb."""
    case = Case()
    lines = TINY_YAML.splitlines()
    kind = draw(st.sampled_from(["top", "nested", "b_scores", "bomb", "bomb"]))
    if kind == "top":
        key = draw(st.sampled_from(["name", "county", "settings", "veto", "standard"]))
        extra = {"name": ["name: 另一个区"], "standard": ["standard: hunan-2023"],
                 "county": ["county:", "  unified_standards: false"],
                 "settings": ["settings:", "  school_rule: national"],
                 "veto": ["veto:", "  falsification: true"]}[key]
        first = next(k for k, x in enumerate(lines) if x.startswith(f"{key}:")) + 1
        case.yaml_text = "\n".join(lines + extra) + "\n"
        case.where.append(((f"district.yaml line {len(lines) + 1}, key {key}: the key {key} is "
                           f"given twice in one mapping (first at line {first})"),))
    elif kind == "nested":
        k = next(i for i, x in enumerate(lines) if x.strip().startswith("rotation_rotated:"))
        lines.insert(k + 1, "  rotation_rotated: 99")
        case.yaml_text = "\n".join(lines) + "\n"
        case.where.append((f"district.yaml line {k + 2}, key county.rotation_rotated: ",))
    elif kind == "b_scores":
        k = next(i for i, x in enumerate(lines) if x.strip().startswith("8:"))
        lines.insert(k + 1, f"  {draw(st.sampled_from(['8', '+8', '010', '0x8']))}: [1, 1, 1, 1]")
        case.yaml_text = "\n".join(lines) + "\n"
        case.where.append((f"district.yaml line {k + 2}, key b_scores.",))
    else:
        levels, width = draw(st.integers(7, 10)), draw(st.integers(8, 10))
        where = draw(st.sampled_from(["top", "county"]))
        bomb = _bomb(levels, width)
        if where == "county":
            bomb = "".join("  " + x + "\n" for x in bomb.splitlines())
            k = next(i for i, x in enumerate(lines) if x.startswith("county:"))
            lines = lines[:k + 1] + bomb.rstrip("\n").splitlines() + lines[k + 1:]
            case.yaml_text = "\n".join(lines) + "\n"
        else:
            case.yaml_text = TINY_YAML + bomb
        case.where.append(("district.yaml line ",))
    return case


@cfg(40)
@given(case=yaml_key_cases(), command=st.sampled_from(FAST_COMMANDS * 3 + COMMANDS))
def test_yaml_keys_given_twice_and_alias_bombs_are_rejected(case, command):
    import time
    t = time.perf_counter()
    run_rejected(case, command)
    assert time.perf_counter() - t < 30


# ----------------------------------------------------------------------------
# 7. output safety (issue 12 items 1-4, 11): whatever already exists where an
#    output goes, a command writes its output or refuses in one line, and never
#    changes, replaces or leaves behind anything else
# ----------------------------------------------------------------------------

OUTPUT_TARGETS = ("new", "new_nested", "regular", "empty_folder", "user_folder",
                  "user_same_name", "toolkit_folder", "fifo", "device", "link_to_input",
                  "hardlink_to_input", "input_file", "input_folder")


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: its kind and, for a file, its bytes (links are not
    followed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = ("link", str(p.readlink()))
        elif p.is_file():
            out[rel] = ("file", p.read_bytes())
        else:
            out[rel] = ("dir" if p.is_dir() else "other", st_.st_mode)
    return out


def _make_target(root: Path, district: Path, kind: str, data: bytes, user_name: str) -> Path:
    import os
    t = root / "target"
    if kind == "new":
        return t
    if kind == "new_nested":
        return root / "a" / "b" / "target"
    if kind == "regular":
        t.write_bytes(data)
    elif kind == "empty_folder":
        t.mkdir()
    elif kind == "user_folder":
        t.mkdir()
        (t / user_name).write_bytes(data)
    elif kind == "user_same_name":
        t.mkdir()
        (t / "summary.json").write_bytes(data)
    elif kind == "toolkit_folder":
        # issue 16: the tiny roster's teachers hold the places of indicators 1-3 below
        # the children; without teachers.csv the tiny district zones
        zoned = write_tiny(t.parent / "zoned", teachers=None)
        assert main(["catchments", str(zoned), "--out", str(t)]) == 0
    elif kind == "fifo":
        os.mkfifo(t)
    elif kind == "device":
        return Path("/dev/null")
    elif kind == "link_to_input":
        t.symlink_to(district / "schools.csv")
    elif kind == "hardlink_to_input":
        os.link(district / "schools.csv", t)
    elif kind == "input_file":
        return district / "units.csv"
    elif kind == "input_folder":
        return district / "sub"
    return t


#: (target kind, option) pairs that must be written; every other pair is refused
_WRITTEN = {("new", "file"), ("new_nested", "file"), ("regular", "file"),
            ("new", "folder"), ("new_nested", "folder"), ("empty_folder", "folder"),
            ("toolkit_folder", "folder")}


@cfg(40)
@given(kind=st.sampled_from(OUTPUT_TARGETS),
       option=st.sampled_from(["--json", "--xlsx", "catchments", "rotate"]),
       data=st.binary(min_size=1, max_size=30),
       user_name=st.sampled_from(["thesis.docx", "units.csv", "notes.txt", "summary.json"]),
       force=st.booleans())
def test_outputs_never_replace_what_is_not_theirs(kind, option, data, user_name, force):
    import stat as stat_
    with tempfile.TemporaryDirectory() as td:
        root = Path(td)
        d = write_tiny(root / "d")
        target = _make_target(root, d, kind, data, user_name)
        before = _snapshot(root)
        if option in ("--json", "--xlsx"):
            argv = ["check", str(d), option, str(target), "--lang", "en"]
            if force:
                return                            # check has no --force
        else:
            argv = [option, str(d), "--out", str(target), "--lang", "en"] + (
                ["--force"] if force else [])
        rc, out, err = run_cli(argv)
        assert "Traceback" not in err and "internal error" not in err, err
        shape = "file" if option.startswith("--") else "folder"
        own = {"catchments": ("units.csv", "summary.json"),
               "rotate": ("rotation.csv", "summary.json")}.get(option, ())
        written = (kind, shape) in _WRITTEN or (
            force and shape == "folder" and kind == "user_folder" and user_name not in own)
        after = _snapshot(root)
        leftover = [k for k in after if Path(k).name.startswith(".")
                    and ".planner-output.json" not in k]
        assert not leftover, leftover               # no .part, staging or lock anywhere
        if not written:
            assert rc == 2, (rc, err)
            lines = [x for x in err.splitlines() if x.strip()]
            assert len(lines) == 1 and lines[0].startswith("error: "), err
            assert after == before
            if kind == "device":
                assert stat_.S_ISCHR(Path("/dev/null").lstat().st_mode)
            return
        assert rc in (0, 3), (rc, err)                # rotate: the tiny roster cannot rotate
        rel = target.relative_to(root).as_posix()
        changed = {k for k in set(before) | set(after)
                   if before.get(k) != after.get(k)}
        assert all(k == rel or k.startswith(rel + "/") or rel.startswith(k + "/")
                   for k in changed), changed
        for k, v in before.items():                  # a user's file inside survives
            if k.startswith(rel + "/") and k.split("/")[-1] == user_name and kind == "user_folder":
                assert after[k] == v
