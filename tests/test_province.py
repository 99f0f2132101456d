"""The province view (issue 20): a synthetic province, every county checked and planned on
dask.distributed, failures isolated, results written as they finish, --resume, results
independent of the number of workers, the dashboard and its workbook."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from planner.core.params import SynthProvinceParams
from planner.io.load import load_district
from planner.io.synth_province import CHILD_SHARE, county_sizes, synth_province

#: small counties of varied sizes: the tests stay within a minute or two
SIZES = [12, 10, 16, 11, 14, 13]
BROKEN = "439904"


def _tree(root: Path, skip: tuple[str, ...] = ("timings.json",)) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (the province's timings.json left out:
    it is the one wall-clock file)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix() not in skip}


def _same(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    """The files that differ, byte for byte (the plans' summary.json hold no time since
    issue 12: their solve_seconds is null, times are in timings.json)."""
    assert sorted(a) == sorted(b)
    return [k for k in a if a[k] != b[k]]


def _break(folder: Path) -> None:
    """A pupil count that is not a number in row 3 of schools.csv."""
    path = folder / "schools.csv"
    rows = path.read_text(encoding="utf-8").split("\n")
    cells = rows[2].split(",")
    cells[9] = "八十"
    rows[2] = ",".join(cells)
    path.write_text("\n".join(rows), encoding="utf-8")


# ---------------------------------------------------------------------------
# the synthetic province
# ---------------------------------------------------------------------------

def test_county_sizes_are_varied_and_within_bounds():
    sizes = county_sizes(122, SynthProvinceParams(seed=1))
    assert len(sizes) == 122 and min(sizes) >= 40 and max(sizes) <= 600
    assert len(set(sizes)) > 60                          # varied, not one size
    assert 110 <= sorted(sizes)[61] <= 190               # median about 150
    assert county_sizes(122, SynthProvinceParams(seed=1)) == sizes
    assert county_sizes(122, SynthProvinceParams(seed=2)) != sizes
    small = county_sizes(30, SynthProvinceParams(min_schools=10, max_schools=20))
    assert min(small) >= 10 and max(small) <= 20


def test_synth_province_places_names_and_children(tmp_path):
    folders = synth_province(4, tmp_path / "a", SynthProvinceParams(seed=5), sizes=[10, 30, 12, 20])
    assert [f.name for f in folders] == ["439901", "439902", "439903", "439904"]
    districts = [load_district(f) for f in folders]
    names = [d.name for d in districts]
    assert len(set(names)) == 4 and all(n.endswith("县") for n in names)
    assert [len(d.schools) for d in districts] == [10, 30, 12, 20]
    # the outlines tile the map: no two overlap
    for i in range(4):
        for j in range(i + 1, 4):
            assert districts[i].boundary.intersection(districts[j].boundary).area == 0
    # schools and units stay inside their own county after the shift
    for d in districts:
        s = d.schools
        x0, y0, x1, y1 = d.boundary.bounds
        assert s["lon"].between(x0, x1).all() and s["lat"].between(y0, y1).all()
        # resident children = 97 % of the public schools' pupils, per stage
        pub = s[s["public"].astype(bool) & (s["type"] != "special")]
        for stage in ("primary", "junior"):
            assert int(d.units[f"children_{stage}"].sum()) == round(
                int(pub[f"students_{stage}"].sum()) * CHILD_SHARE)
    # same seed and sizes: the same bytes
    synth_province(4, tmp_path / "b", SynthProvinceParams(seed=5), sizes=[10, 30, 12, 20])
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_synth_province_villages_on_one_point_are_moved_apart(tmp_path):
    """Villages on one point (synth_district of some seeds put two or three there) are
    moved apart: the k-th one k × 30 m east, so catchment cells can be drawn; every other
    village stays where it was."""
    import numpy as np
    import pandas as pd

    from geodata.cells import unit_cells
    from planner.io.synth_province import _separate_units
    folder = synth_province(1, tmp_path / "p", SynthProvinceParams(seed=0), sizes=[37])[0]
    raw = pd.read_csv(folder / "units.csv", dtype={"lon": str, "lat": str})
    # put units 1 and 2 on unit 0's point, unit 4 on unit 3's (three on one, two on one)
    for k, at in ((1, 0), (2, 0), (4, 3)):
        raw.loc[k, ["lon", "lat"]] = raw.loc[at, ["lon", "lat"]].to_numpy()
    raw.to_csv(folder / "units.csv", index=False, encoding="utf-8")
    _separate_units(folder)
    units = pd.read_csv(folder / "units.csv")
    before = raw.astype({"lon": float, "lat": float})
    assert not units.duplicated(["lon", "lat"]).any()
    d = units[["lon", "lat"]] - before[["lon", "lat"]]
    moved = d["lon"].abs() > 1e-9
    assert list(np.flatnonzero(moved)) == [1, 2, 4]
    assert np.allclose(d["lat"], 0) and np.allclose(d.loc[~moved, "lon"], 0)
    east = d.loc[moved, "lon"] * 111_320.0 * np.cos(np.radians(units.loc[moved, "lat"]))
    assert np.allclose(east, [30.0, 60.0, 30.0], atol=0.5)
    dist = load_district(folder)
    assert len(unit_cells(dist.units, dist.boundary)) == len(units)   # the cells can be drawn


def test_synth_province_road_links_keep_their_nodes(tmp_path):
    """The shift moves a school and the end of its road link by the same rounding: the
    road network stays one connected graph."""
    import networkx as nx
    folder = synth_province(2, tmp_path, SynthProvinceParams(seed=2), sizes=[10, 10])[1]
    roads = json.loads((folder / "roads.geojson").read_text(encoding="utf-8"))
    g = nx.Graph()
    for f in roads["features"]:
        a, b = f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][-1]
        g.add_edge(tuple(a), tuple(b))
    assert nx.is_connected(g)
    with (folder / "schools.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert (float(row["lon"]), float(row["lat"])) in g


# ---------------------------------------------------------------------------
# the province run
# ---------------------------------------------------------------------------

TEMPLATE = """\
schema: 1
name: 省级测算
district: .            # replaced by each county
solver: highs
time_limit: 120      # headroom: two counties share the two cores (see the test)
seed: 0
consolidation:
  mode: optimise
rotation:
catchments:
  stages: [primary, junior]
remediation:
"""


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Path:
    """Six small synthetic counties; 439904's schools.csv has a bad number."""
    root = tmp_path_factory.mktemp("province") / "counties"
    synth_province(6, root, SynthProvinceParams(seed=3), sizes=SIZES)
    _break(root / BROKEN)
    return root


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("template") / "province.yaml"
    p.write_text(TEMPLATE, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def planned(province, template, tmp_path_factory):
    """``planner province`` with the scenario on a local cluster of 2 workers."""
    from planner.cli import main
    out = tmp_path_factory.mktemp("planned") / "out"
    rc = main(["province", str(province), "--out", str(out), "--scenario", str(template),
               "--workers", "2", "--quiet"])
    return rc, out


def _results(out: Path) -> dict[str, dict]:
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {r["key"]: r for r in data["results"]}


def test_a_broken_county_gives_five_results_and_one_clear_error(planned, province):
    rc, out = planned
    assert rc == 2                                   # a county with bad data: exit 2
    res = _results(out)
    assert sorted(res) == [f.name for f in sorted(province.iterdir())]
    ok = [k for k, r in res.items() if r["status"] == "ok"]
    assert len(ok) == 5 and BROKEN not in ok
    bad = res[BROKEN]
    assert bad["status"] == "bad_input"
    assert bad["messages"] == ['schools.csv row 3, column students_primary: "八十" is not a '
                               'number']
    assert bad["name"] == load_district(province / "439901").name or bad["name"].endswith("县")
    assert not (out / "counties" / BROKEN / "report.html").exists()
    for k in ok:
        folder = out / "counties" / k
        # the county's whole run folder, its result written last, its figures read back
        for f in ("report.html", "map.html", "figures.json", "indicators_before.json",
                  "indicators_after.json", "scenario.json", "rotation/rotation.csv",
                  "consolidation/assignments.csv", "result.json"):
            assert (folder / f).is_file(), (k, f)
        assert not (folder / "timings.json").exists()   # wall-clock: the province's file
        figures = json.loads((folder / "figures.json").read_text(encoding="utf-8"))
        assert res[k]["figures"] == figures
        before = json.loads((folder / "indicators_before.json").read_text(encoding="utf-8"))
        assert res[k]["check"]["a_passed"] == before["a_passed"]
        assert res[k]["name"] == before["district"]
        assert json.loads((folder / "result.json").read_text(encoding="utf-8")) == res[k]
    assert not [p for p in (out / "counties").iterdir() if p.name.startswith(".")]
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    assert timings["workers"] == 2 and timings["scheduler"] == "local"
    assert sorted(timings["computed"]) == sorted(res)


def test_results_are_equal_with_one_and_two_workers(planned, province, template, tmp_path):
    from planner.core.params import ProvinceParams
    from planner.plans.scenario import load_scenario
    from planner.province import run_province
    _, out2 = planned
    res = run_province(province, tmp_path / "one", load_scenario(template),
                       ProvinceParams(workers=1))
    assert res.workers == 1
    # plan mode, and every solve of every plan finished within its time limit: a plan
    # stopped at its limit is not reproducible, so the test would prove nothing there
    # — in both runs (the two workers' run shares the cores: it is the slower one)
    two_res = _results(out2)
    planned_ok = [c for c in res.counties if c["status"] == "ok"]
    assert len(planned_ok) == 5
    for c in planned_ok + [two_res[c["key"]] for c in planned_ok]:
        assert sorted(c["plans"]) == ["catchments", "consolidation", "remediation", "rotation"]
        assert c["time_limited"] == {}, c["key"]
        assert c["within_limits"] == {k: True for k in c["plans"]}, c["key"]
    one, two = _tree(tmp_path / "one"), _tree(out2)
    assert _same(one, two) == []
    # the province's own files and every county's result: byte for byte
    for k in ["results.json", "province.html", "province.xlsx"] + [
            f"counties/{c}/result.json" for c in res.computed]:
        assert one[k] == two[k], k


def test_resume_after_an_interruption_redoes_nothing_finished(province, tmp_path):
    from planner.core.params import ProvinceParams
    from planner.province import run_province
    out = tmp_path / "out"
    seen: list[str] = []

    def interrupt(p):
        if p.last is not None:
            seen.append(p.last["key"])
            if len(seen) == 2:
                raise KeyboardInterrupt      # Ctrl-C after two counties are written

    with pytest.raises(KeyboardInterrupt):
        run_province(province, out, None, ProvinceParams(workers=2), progress=interrupt)
    cdir = out / "counties"
    done = sorted(p.name for p in cdir.iterdir() if (p / "result.json").exists())
    assert done == sorted(seen) and len(done) == 2
    assert not (out / "province.html").exists()
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns)
              for k in done for p in sorted((cdir / k).rglob("*"))}
    # a county being written when the run was killed leaves its staging folder
    todo = sorted(set(p.name for p in province.iterdir()) - set(done))
    half = cdir / f".{todo[0]}.partial"
    half.mkdir()
    (half / "report.html").write_text("half", encoding="utf-8")
    res = run_province(province, out, None, ProvinceParams(workers=2, resume=True))
    assert res.resumed == done and res.computed == todo
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in stamps} == stamps
    assert not [p for p in cdir.iterdir() if p.name.startswith(".")]
    timings = json.loads((out / "timings.json").read_text(encoding="utf-8"))
    assert timings["resumed"] == done and timings["computed"] == todo
    # the same files as one run without interruption, made without Dask
    run_province(province, tmp_path / "full", None, ProvinceParams(workers=0))
    assert _same(_tree(out), _tree(tmp_path / "full")) == []
    # a resume with nothing to do starts no cluster and changes nothing
    again = run_province(province, out, None, ProvinceParams(workers=2, resume=True))
    assert again.computed == [] and again.workers == 0
    assert _tree(out) == _tree(tmp_path / "full")


def test_a_failing_county_never_stops_the_others_and_resume_retries_it(province, tmp_path,
                                                                       monkeypatch):
    """Serial (workers 0): an internal error in one county is its result; --resume
    retries it, keeps the others, and redoes a county whose data changed."""
    import planner.province as prov
    from planner.core.params import ProvinceParams
    real = prov._check_county

    def crash(job, district, tmp):
        if job.key == "439902":
            raise RuntimeError("the solver crashed")
        return real(job, district, tmp)

    monkeypatch.setattr(prov, "_check_county", crash)
    out = tmp_path / "out"
    res = prov.run_province(province, out, None, ProvinceParams(workers=0))
    status = {c["key"]: c["status"] for c in res.counties}
    assert status == {"439901": "ok", "439902": "error", "439903": "ok", BROKEN: "bad_input",
                      "439905": "ok", "439906": "ok"}
    assert res.counties[1]["messages"] == ["RuntimeError: the solver crashed"]
    assert res.counties[1]["name"] == load_district(province / "439902").name
    monkeypatch.undo()
    res = prov.run_province(province, out, None, ProvinceParams(workers=0, resume=True))
    assert res.computed == ["439902"] and res.counties[1]["status"] == "ok"
    yaml_path = province / "439903" / "district.yaml"
    text = yaml_path.read_text(encoding="utf-8")
    try:
        yaml_path.write_text(text.replace("migrant_public_share: 0.9",
                                          "migrant_public_share: 0.5"), encoding="utf-8")
        res = prov.run_province(province, out, None, ProvinceParams(workers=0, resume=True))
        assert res.computed == ["439903"]
        ind24 = [i for i in res.counties[2]["check"]["indicators"] if i["id"] == 24][0]
        assert ind24["passed"] is False          # the changed fact was read
    finally:
        yaml_path.write_text(text, encoding="utf-8")


def test_a_county_without_a_plan_is_its_result(province, tmp_path):
    """Rotation that one county cannot meet (every teacher eligible, 40 % to move, at
    most 30 % of a school may leave): that county has no plan, its run's files are
    written and say why; the other county is planned."""
    import shutil

    from planner.core.params import ProvinceParams
    from planner.plans.scenario import load_scenario
    from planner.province import run_province
    root = tmp_path / "counties"
    for k in ("439901", "439902"):
        shutil.copytree(province / k, root / k)
    path = root / "439902" / "teachers.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for r in rows:
        r.update(years_at_school="12", age="40", exempt="", full_time="true")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    scen = tmp_path / "rot.yaml"
    scen.write_text("schema: 1\nname: 轮岗\ndistrict: .\nrotation:\n  share: 0.4\n",
                    encoding="utf-8")
    res = run_province(root, tmp_path / "out", load_scenario(scen), ProvinceParams(workers=0))
    a, b = res.counties
    assert a["status"] == "ok" and a["plans"] == {"rotation": "optimal"}
    assert b["status"] == "no_plan" and b["plans"] == {"rotation": "infeasible"}
    assert b["plan_lines"][0] == "未得到满足全部硬性约束的方案：教师交流轮岗（不可行）"
    assert (tmp_path / "out" / "counties" / "439902" / "rotation" / "rotation.csv").exists()
    html = (tmp_path / "out" / "province.html").read_text(encoding="utf-8")
    assert "教师交流轮岗（不可行）" in html
    from planner.cli.province import province_exit_code
    assert province_exit_code(res) == 3


def test_an_existing_scheduler_runs_the_counties_and_a_lost_task_is_an_error(
        province, tmp_path, monkeypatch):
    """--scheduler: the counties run on that cluster's workers (here an in-process
    one); a task whose worker fails is that county's error, the others go on."""
    from distributed import LocalCluster

    import planner.province as prov
    from planner.core.params import ProvinceParams
    real = prov.county_task

    def lost(job):
        if job.key == "439905":
            raise OSError("worker lost")     # not caught by the task: as if it died
        return real(job)

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        addr = cluster.scheduler_address
        res = prov.run_province(province, tmp_path / "a", None, ProvinceParams(scheduler=addr))
        assert res.scheduler == addr
        monkeypatch.setattr(prov, "county_task", lost)
        res2 = prov.run_province(province, tmp_path / "b", None,
                                 ProvinceParams(scheduler=addr))
    timings = json.loads((tmp_path / "a" / "timings.json").read_text(encoding="utf-8"))
    assert timings["scheduler"] == addr
    status = {c["key"]: c["status"] for c in res2.counties}
    assert status["439905"] == "error" and status[BROKEN] == "bad_input"
    assert [k for k, s in status.items() if s == "ok"] == ["439901", "439902", "439903",
                                                          "439906"]
    assert res2.counties[4]["messages"] == ["OSError: worker lost"]
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    for k in ("439901", "439906"):
        assert a[f"counties/{k}/report.html"] == b[f"counties/{k}/report.html"]


# ---------------------------------------------------------------------------
# the dashboard and its workbook
# ---------------------------------------------------------------------------

def _section(html: str, title: str) -> str:
    start = html.index(f"<h2>{title}</h2>")
    end = html.find("<h2>", start + 1)
    return html[start:end if end > 0 else len(html)]


def _befores(out: Path, res: dict) -> dict[str, dict]:
    """Each assessed county's own indicators_before.json (read independently of the
    province's results)."""
    return {k: json.loads((out / "counties" / k / "indicators_before.json")
                          .read_text(encoding="utf-8"))
            for k, r in res.items() if r["status"] == "ok"}


def test_the_dashboard_ranks_grids_and_counts_from_the_counties_files(planned):
    _, out = planned
    html = (out / "province.html").read_text(encoding="utf-8")
    res = _results(out)
    befores = _befores(out, res)
    # ranked by A passed (then fewer no-data, higher B score, code)
    expected = sorted(befores, key=lambda k: (-befores[k]["a_passed"], befores[k]["a_no_data"],
                                              -befores[k]["b_score"], k))
    rank = _section(html, "各县排名（按 A 类指标达标数）")
    order = list(dict.fromkeys(re.findall(r'href="counties/(\d+)/report\.html"', rank)))
    assert order == expected
    for k in expected:
        assert f"{befores[k]['a_passed']} / {befores[k]['a_total']}" in rank
    # the grid: one ✓ / ✗ / ? per county and A indicator
    grid = _section(html, "县 × A 类指标达标情况")
    a_inds = [[i for i in b["indicators"] if i["class"] == "A"] for b in befores.values()]
    n_fail = sum(1 for inds in a_inds for i in inds if not i["passed"] and not i["no_data"])
    n_pass = sum(1 for inds in a_inds for i in inds if i["passed"])
    assert grid.count(">✗</td>") == n_fail and grid.count(">✓</td>") == n_pass
    assert n_fail > 0
    # the indicators failing in most counties, counted from the counties' own files
    counts: dict[int, int] = {}
    for inds in a_inds:
        for i in inds:
            if not i["passed"] and not i["no_data"]:
                counts[i["id"]] = counts.get(i["id"], 0) + 1
    worst = _section(html, "未达标县数最多的指标")
    shown = [(int(a), int(b)) for a, b in
             re.findall(r"<td>(\d+)\. [^<]*</td><td class=\"num\">(\d+)</td>", worst)]
    assert shown == sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    # CVs above their limit are marked, as many as the counties' files have
    cv = _section(html, "各县差异系数（指标 1–7）")
    over = sum(1 for b in befores.values() for i in b["indicators"] if i.get("cv")
               for st, v in i["cv_exact"].items() if v is not None and v > i["cv_limit"][st])
    assert cv.count('class="num over"') == over
    first = befores[expected[0]]
    ind1 = first["indicators"][0]          # three decimals, as the run's report shows CVs
    assert f">{ind1['cv_exact']['primary']:.3f}</td>" in cv
    # the broken county: its status and its message
    err = _section(html, "未能完成的县")
    assert "数据有误" in err and "students_primary" in err and BROKEN in err
    # every link leads to a file; nothing is fetched
    for href in re.findall(r'href="([^"]+)"', html):
        assert (out / href).is_file(), href
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "") and "<script" not in html
    # a map of the six outlines, the broken county grey
    m = _section(html, "全省地图（按 A 类指标未达标项数着色，点击县进入县报告）")
    assert m.count("<path ") == 6 and m.count('fill="#c9c9c9"') == 1


def test_the_zh_dashboard_has_no_latin_words(planned):
    _, out = planned
    html = (out / "province.html").read_text(encoding="utf-8")
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    html = re.sub(r"<code>.*?</code>", "", html, flags=re.S)   # the loader's own message
    text = re.sub(r"<[^>]+>", " ", html)
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    assert words <= {"CV", "km", "hunan"}, words


def test_the_plan_table_and_the_province_total(planned):
    from openpyxl import load_workbook

    from planner.outputs.i18n import tr
    _, out = planned
    res = _results(out)
    ok = sorted(k for k, r in res.items() if r["status"] == "ok")
    figs = {k: json.loads((out / "counties" / k / "figures.json").read_text(encoding="utf-8"))
            for k in ok}
    wb = load_workbook(out / "province.xlsx")
    assert wb.sheetnames == ["排名", "达标情况", "未达标指标", "差异系数", "方案测算", "未完成的县"]
    head = [c.value for c in wb["排名"][1]]
    assert head == ["名次", "县（市、区）", "代码", "A 类达标", "无数据项", "B 类得分", "B 类等级",
                    "达到认定条件", "未达标的 A 类指标"]
    ws = wb["方案测算"]
    head = [c.value for c in ws[1]]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert [r[1] for r in rows[:-1]] == ok and rows[-1][0] == "全省合计"
    col = {h: i for i, h in enumerate(head)}
    assert "交流教师数" in col and "撤并学校数" in col
    for key in ("teachers_moved", "closed", "buses", "pupils_moved", "remediation_capital_yuan"):
        label = tr(f"compare.{key}", "zh")
        assert [r[col[label]] for r in rows[:-1]] == [figs[k][key] for k in ok]
        assert rows[-1][col[label]] == sum(figs[k][key] for k in ok)
    assert rows[-1][col[tr("compare.max_ride_min", "zh")]] == "—"   # a maximum is not summed
    # a plan's own label for a figure compare has none for
    assert "接收学校合并后新不达标（项）" in col
    # the remediation's costs, read from figures.json, summed; its A count is not
    cost = col["整改费用（首年）元"]
    assert [r[cost] for r in rows[:-1]] == [figs[k]["remediation_cost_yuan"] for k in ok]
    assert rows[-1][cost] == pytest.approx(sum(figs[k]["remediation_cost_yuan"] for k in ok))
    assert rows[-1][col["整改后 A 类达标数"]] == "—"
    assert sum(figs[k]["teachers_moved"] for k in ok) > 0
    ws = wb["未完成的县"]
    assert [c.value for c in ws[2]][:3] == [res[BROKEN]["name"], BROKEN, "数据有误"]


def test_a_figure_a_plan_adds_later_appears_with_its_total(planned, tmp_path):
    """A new key in the runs' figures.json (a cost no plan writes today, so no label
    either: the key is its header) becomes a column and is summed; a share is shown but
    not summed."""
    import copy
    from types import SimpleNamespace

    from planner.outputs.province import dashboard_html, plan_totals, summable, workbook_sheets
    from planner.province import ProvinceResult
    _, out = planned
    counties = [copy.deepcopy(r) for r in _results(out).values() if r["status"] == "ok"][:2]
    counties[0]["figures"].update(sports_ground_cost_yuan=1200000.0, staff_share=0.4)
    counties[1]["figures"].update(sports_ground_cost_yuan=350000.5, staff_share=0.6)
    res = ProvinceResult(out=tmp_path, counties=counties, computed=[], resumed=[],
                         scenario=SimpleNamespace(name="测算"), lang="zh", workers=0,
                         scheduler="serial")
    assert summable("sports_ground_cost_yuan") and not summable("staff_share")
    assert not summable("max_ride_min") and not summable("max_load_ratio")
    totals = plan_totals(counties, ["sports_ground_cost_yuan", "staff_share", "buses"])
    assert totals["sports_ground_cost_yuan"] == 1550000.5 and totals["staff_share"] is None
    sheet = workbook_sheets(res)["方案测算"]
    assert list(sheet["sports_ground_cost_yuan"]) == [1200000.0, 350000.5, 1550000.5]
    assert list(sheet["staff_share"])[-1] == "—"
    assert "1,550,000.5" in dashboard_html(res)


def test_the_english_dashboard(planned):
    from planner.outputs.province import dashboard_html
    from planner.province import ProvinceResult
    _, out = planned
    counties = list(_results(out).values())
    res = ProvinceResult(out=out, counties=counties, computed=[], resumed=[], scenario=None,
                         lang="en", workers=0, scheduler="serial")
    html = dashboard_html(res)
    for heading in ("Counties ranked by A indicators passed", "Counties × A indicators",
                    "Indicators failing in most counties", "Counties not completed"):
        assert f"<h2>{heading}</h2>" in html
    text = re.sub(r"<code>.*?</code>|<style>.*?</style>", "", html, flags=re.S)
    for c in counties:
        text = text.replace(c["name"], "")
    assert not re.findall(r"[\u4e00-\u9fff]", re.sub(r"<[^>]+>", " ", text))


def test_the_progress_bar():
    from planner.outputs.province import ProgressBar, duration
    from planner.province import Progress
    buf = io.StringIO()
    bar = ProgressBar("zh", stream=buf)
    bar(Progress(1, 6, 0, 0.5, None, None, 2, "local"))
    bar(Progress(2, 6, 1, 30.0, 120.0, {"key": "439902", "name": "凤湖县", "status": "ok"},
                 2, "local"))
    bar(Progress(6, 6, 5, 3725.0, 0.0, {"key": "439904", "name": "石松县",
                                         "status": "bad_input"}, 2, "local"))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "共 6 个县：沿用已有结果 1 个，待算 5 个（本机 2 个进程）"
    assert lines[1].endswith("县 2/6 · 已用 30秒 · 剩余约 2分00秒 · 凤湖县 完成")
    assert lines[2].endswith("县 6/6 · 已用 1小时02分 · 剩余约 0秒 · 石松县 数据有误")
    assert lines[2].startswith("█" * 24)
    assert duration(65, "en") == "1 min 05 s"
    quiet = io.StringIO()
    ProgressBar("zh", stream=quiet, quiet=True)(Progress(1, 2, 1, 1.0, 1.0, None))
    assert quiet.getvalue() == ""


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------

def test_province_command_errors(province, tmp_path, capsys):
    from planner.cli import main
    cases = [
        (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--workers, --scheduler"),
        (["--workers", "-1"], "--workers -1: not a non-negative whole number"),
        (["--scenario", str(tmp_path / "nope.yaml")], "no such scenario file"),
    ]
    for extra, msg in cases:
        rc = main(["province", str(province), "--out", str(tmp_path / "o"), *extra])
        assert rc == 2 and msg in capsys.readouterr().err, extra
    assert main(["province", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["province", str(province), "--out", str(province / "out")]) == 2
    assert "refusing to write into" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x", encoding="utf-8")
    assert main(["province", str(province), "--out", str(tmp_path / "mine")]) == 2
    assert "not a province folder" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_synth_province_command(tmp_path, capsys):
    from planner.cli import main
    rc = main(["synth-province", "3", str(tmp_path / "p"), "--seed", "4", "--min-schools", "10",
               "--max-schools", "12"])
    assert rc == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["439901", "439902", "439903"]
    assert "3 个县，学校 " in capsys.readouterr().out
    sizes = [len(load_district(tmp_path / "p" / k).schools) for k in ("439901", "439902",
                                                                        "439903")]
    assert sizes == county_sizes(3, SynthProvinceParams(seed=4, min_schools=10,
                                                        max_schools=12))
    assert main(["synth-province", "3", str(tmp_path / "q"), "--min-schools", "5"]) == 2
    assert "need 10 <= min <= max" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# solves stopped at their time limit: not reproducible, and said so
# ---------------------------------------------------------------------------

def test_time_limited_reads_the_plans_summaries():
    """Where a plan's summary.json says a solve stopped at its time limit: a feasible
    or no-plan-in-time status at any depth, a routing stopped by its wall-clock cap, a
    remediation's time_limit code, a catchment note naming the limit; never an optimal
    or proven infeasible solve, nor a given consolidation plan's feasible."""
    from planner.province import time_limited
    optimal = {"status": "optimal", "gap": 0.0,
               "primary": {"stage": "primary", "status": "optimal", "gap": 7e-05, "notes": []}}
    assert time_limited("catchments", optimal) == []
    stage = {"status": "feasible", "gap": 0.03,
             "primary": {"stage": "primary", "status": "optimal", "notes": []},
             "junior": {"stage": "junior", "status": "feasible", "gap": 0.03, "notes": []}}
    assert time_limited("catchments", stage) == ["", "junior"]
    closest = {"status": "infeasible", "junior": {
        "status": "infeasible", "notes": ["solved the relaxed model with an unassigned option",
                                          "stopped at the gap or time limit: more time may "
                                          "assign more units"]}}
    assert time_limited("catchments", closest) == ["junior"]
    proven = {"status": "infeasible", "junior": {"status": "infeasible", "notes": [
        "the strict model is infeasible (seats, indivisible units or contiguity)"]}}
    assert time_limited("catchments", proven) == []
    rot = {"status": "feasible", "levels": [{"level": "shortfall", "status": "optimal"},
                                            {"level": "spread", "status": "feasible"}]}
    assert time_limited("rotation", rot) == ["", "levels/spread"]
    routed = {"status": "feasible", "mode": "plan", "routing": {
        "receivers": [{"receiver": "S01", "stopped_by": "no_improvement"},
                      {"receiver": "S07", "stopped_by": "time_cap"}],
        "chaining": {"status": "optimal", "gap": 0.0}}}
    assert time_limited("consolidation", routed) == ["routing/receivers/S07"]
    routed["mode"] = "optimise"          # an optimised plan's feasible: its MIP stopped
    assert time_limited("consolidation", routed) == ["", "routing/receivers/S07"]
    assert time_limited("remediation", {"status": "no_plan_in_time", "messages": []}) == [""]
    assert time_limited("remediation", {"status": "infeasible",
                                        "messages": ["time_limit"]}) == [""]
    assert time_limited("remediation", {"status": "optimal", "messages": []}) == []


def test_a_county_stopped_at_its_time_limit_is_shown_not_reproducible(planned, tmp_path):
    """A county whose catchment solve stopped at its time limit: its result, the plan
    table, the list of such counties, the workbook and the console say it is not
    reproducible; the others are."""
    import copy
    from types import SimpleNamespace

    from openpyxl import load_workbook

    from planner.io.export import write_xlsx
    from planner.outputs.province import (
        console_lines,
        dashboard_html,
        time_limited_counties,
        workbook_sheets,
    )
    from planner.province import ProvinceResult
    _, out = planned
    counties = [copy.deepcopy(r) for r in _results(out).values()]
    ok = [c for c in counties if c["status"] == "ok"]
    stopped = ok[1]
    stopped["within_limits"]["catchments"] = False
    stopped["time_limited"] = {"catchments": ["", "junior"]}
    res = ProvinceResult(out=tmp_path, counties=counties, computed=[], resumed=[],
                         scenario=SimpleNamespace(name="测算"), lang="zh", workers=0,
                         scheduler="serial")
    assert time_limited_counties(counties) == [stopped]
    html = dashboard_html(res)
    part = _section(html, "结果不可复现的县（求解达到时间上限）")
    assert stopped["name"] in part and "划片" in part
    assert all(c["name"] not in part for c in ok if c is not stopped)
    plans = _section(html, "各县方案测算")
    assert plans.count("否：求解达到时间上限，结果不可复现（划片）") == 1
    assert "<th>结果可复现</th>" in plans
    write_xlsx(workbook_sheets(res), tmp_path / "p.xlsx")
    wb = load_workbook(tmp_path / "p.xlsx")
    rows = [[c.value for c in r] for r in wb["结果不可复现的县"].iter_rows()]
    assert rows == [["县（市、区）", "代码", "达到时间上限的方案"],
                    [stopped["name"], stopped["key"], "划片"]]
    ws = wb["方案测算"]
    head = [c.value for c in ws[1]]
    col = head.index("结果可复现")
    vals = {r[1].value: r[col].value for r in ws.iter_rows(min_row=2) if r[1].value}
    assert vals == {c["key"]: ("否：求解达到时间上限，结果不可复现（划片）" if c is stopped else "是")
                    for c in ok}
    assert f"求解达到时间上限、结果不可复现的县 1 个：{stopped['name']}" in console_lines(res)
    # none stopped: no list, no sheet
    stopped["time_limited"] = {}
    assert "结果不可复现的县" not in dashboard_html(res)
    assert "结果不可复现的县" not in workbook_sheets(res)


def test_a_catchment_solve_without_a_plan_in_time_is_a_no_plan_county(province, tmp_path,
                                                                      monkeypatch):
    """The cause of the "not a WGS84 longitude/latitude: (nan, nan)" errors of a loaded
    2-worker province run: a catchment solve that reaches its time limit before any plan
    (here forced: the solver answers "no plan in time") must give a county without a
    plan, said to be time-limited, not an internal error."""
    import shutil

    import models.catchment as cm
    from models.mip import SolveInfo
    from models.status import Status
    from planner.core.params import ProvinceParams
    from planner.plans.scenario import load_scenario
    from planner.province import run_province
    root = tmp_path / "counties"
    shutil.copytree(province / "439901", root / "439901")
    scen = tmp_path / "cat.yaml"
    scen.write_text("schema: 1\nname: 划片\ndistrict: .\ntime_limit: 60\ncatchments:\n"
                    "  stages: [primary]\n", encoding="utf-8")
    monkeypatch.setattr(cm, "solve_problem", lambda *a, **k: SolveInfo(
        Status.NO_PLAN_IN_TIME, None, None, "highs", 60.0))
    # and the contiguous start plan (issue 16) finds none either: nothing is zoned
    monkeypatch.setattr(cm._Run, "start_plan", lambda self: None)
    res = run_province(root, tmp_path / "out", load_scenario(scen), ProvinceParams(workers=0))
    (c,) = res.counties
    assert c["messages"] == [] and c["status"] == "no_plan"
    assert c["plans"] == {"catchments": "no_plan_in_time"}
    assert c["time_limited"] == {"catchments": ["", "primary"]}


def test_the_county_report_uses_only_the_reports_public_parts():
    """planner/outputs/province.py builds the county report from planner.outputs.report's
    parts: every one it uses is in that module's __all__."""
    from planner.outputs import report
    src = (Path(__file__).resolve().parents[1] / "planner" / "outputs" / "province.py"
           ).read_text(encoding="utf-8")
    used = set(re.findall(r"\bR\.([A-Za-z_]\w*)", src))
    used |= {n.strip() for m in re.findall(r"from planner\.outputs\.report import ([^\n(]+)",
                                           src) for n in m.split(",")}
    assert len(used) >= 10 and used <= set(report.__all__), used - set(report.__all__)
