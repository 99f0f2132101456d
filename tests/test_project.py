"""Enrolment projection through the application: the loader's history and births, the
adapter (zones, cohorts, closures), ``planner project`` and its backtest."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from models.projection import Closure, Receiver
from planner.cli import main
from planner.core.errors import DataError, PlanInputError
from planner.core.params import ProjectionParams
from planner.io.load import bundled_district, load_district
from planner.plans import projection as pp

YEARS = range(2019, 2025)


def tiny(tmp_path: Path, ratio: float = 1.0, births: int = 100, second: bool = False,
         zh: bool = False) -> Path:
    """A district of one primary school A (and B with ``second``) and a unit beside each:
    every grade of the history is ``births × ratio^(g-1)`` every year, births constant."""
    d = tmp_path / "tiny"
    d.mkdir()
    (d / "district.yaml").write_text("name: 小县\n", encoding="utf-8")
    schools = [("A", "甲小学", 113.0, 29.0)] + ([("B", "乙小学", 113.2, 29.0)] if second else [])
    primary = round(sum(births * ratio ** g for g in range(6)))
    pd.DataFrame([{"school_id": s, "name": n, "type": "primary", "area_type": "rural",
                   "lon": x, "lat": y, "students_primary": primary, "students_junior": 0,
                   "classes_primary": 12, "max_class_primary": 45}
                  for s, n, x, y in schools]).to_csv(d / "schools.csv", index=False)
    units = [("U1", 113.001, 29.0)] + ([("U2", 113.199, 29.0)] if second else [])
    pd.DataFrame([{"unit_id": u, "lon": x, "lat": y} for u, x, y in units]).to_csv(
        d / "units.csv", index=False)
    hist = [{"school_id": s, "school_year": t, "grade": g, "pupils": round(births * ratio ** (g - 1))}
            for s, *_ in schools for t in YEARS for g in range(1, 7)]
    bir = [{"unit_id": u, "year": y, "births": births} for u, *_ in units
           for y in range(2005, 2025)]
    h, b = pd.DataFrame(hist), pd.DataFrame(bir)
    if zh:
        h = h.rename(columns={"school_id": "学校代码", "school_year": "学年", "grade": "年级",
                              "pupils": "在校生数"})
        b = b.rename(columns={"unit_id": "单元编码", "year": "出生年份", "births": "出生人数"})
    h.to_csv(d / "enrolment_history.csv", index=False)
    b.to_csv(d / "births.csv", index=False)
    return d


def stage_total(o, school, year, stage="primary"):
    t = o.result.totals
    return float(t[(t.school_id == school) & (t.school_year == year) & (t.stage == stage)]
                 ["pupils"].iloc[0])


# ------------------------------------------------------------------ the loader
def test_history_and_births_load_with_chinese_headers(tmp_path):
    d = load_district(tiny(tmp_path, zh=True))
    assert list(d.enrolment_history.columns) == ["school_id", "school_year", "grade", "pupils"]
    assert d.enrolment_history["pupils"].dtype.kind == "i"
    assert len(d.enrolment_history) == 6 * 6 and len(d.births) == 20
    assert pp.cohorts(d)["school_year"].min() == 2011          # born 2005, enter at 6


@pytest.mark.parametrize("file, edit, words", [
    ("enrolment_history.csv", lambda df: df.assign(grade=df.grade.where(df.index != 3, 10)),
     "enrolment_history.csv row 5, column grade: 10 is not a grade 1-9"),
    ("enrolment_history.csv", lambda df: df.assign(school_id=df.school_id.where(
        df.index != 0, "Z")), 'enrolment_history.csv row 2, column school_id: "Z" is not in'),
    ("enrolment_history.csv", lambda df: df[df.school_year != 2021],
     "the years are not consecutive (2021 is missing)"),
    ("enrolment_history.csv", lambda df: pd.concat([df, df.iloc[[0]]]),
     "enrolment_history.csv row 38, column grade: the row of school_id A, school_year 2019, "
     "grade 1 is given twice"),
    ("births.csv", lambda df: df.assign(births=df.births.astype(object).where(
        df.index != 1, "many")), 'births.csv row 3, column births: "many" is not a number'),
    ("births.csv", lambda df: df.assign(unit_id="X"),
     'births.csv row 2, column unit_id: "X" is not in the units table'),
])
def test_bad_history_and_births_are_named(tmp_path, file, edit, words):
    d = tiny(tmp_path)
    df = pd.read_csv(d / file, dtype=str if "births" in file and "many" in words else None)
    edit(df).to_csv(d / file, index=False)
    with pytest.raises(DataError) as e:
        load_district(d)
    assert any(words in p for p in e.value.problems), e.value.problems


def test_a_district_without_history_cannot_be_projected(tmp_path):
    d = tiny(tmp_path)
    (d / "enrolment_history.csv").unlink()
    dist = load_district(d)
    assert dist.enrolment_history is None
    with pytest.raises(PlanInputError, match="enrolment_history.csv"):
        pp.project(dist)


# ------------------------------------------------------------------ hand cases
def test_constant_cohort_stays_constant(tmp_path):
    o = pp.project(load_district(tiny(tmp_path)), ProjectionParams(draws=0), horizon=6)
    for t in range(2025, 2031):
        assert stage_total(o, "A", t) == pytest.approx(600.0)
    c = o.result.county
    assert c[c.stage == "primary"]["pupils"].tolist() == pytest.approx([600.0] * 6)


def test_known_progression_ratio_is_reproduced(tmp_path):
    # each grade keeps 90 % of the last (a teaching point losing pupils up the grades);
    # the history is rounded to whole pupils, so the ratios are 0.9 to within rounding
    o = pp.project(load_district(tiny(tmp_path, ratio=0.9)), ProjectionParams(draws=0),
                   horizon=3)
    t = o.result.table
    for g in range(1, 7):
        got = float(t[(t.school_id == "A") & (t.grade == g) & (t.school_year == 2027)]
                    ["pupils"].iloc[0])
        assert got == pytest.approx(100 * 0.9 ** (g - 1), abs=0.6), g
    r = o.result.ratios
    est = r[(r.school_id == "A") & (r.grade == 4)]["estimate"].iloc[0]
    assert est == pytest.approx(0.9, abs=0.006)


def test_closure_moves_entrants_to_the_receiver(tmp_path):
    d = load_district(tiny(tmp_path, second=True))
    sh = pp.nearest_shares(d)
    assert dict(zip(sh.unit_id, sh.school_id)) == {"U1": "A", "U2": "B"}   # nearest school
    free = pp.project(d, ProjectionParams(draws=0), horizon=4)
    shut = pp.project(d, ProjectionParams(draws=0), horizon=4,
                      closures=[Closure("A", 2026, (Receiver("B", 1.0),))])
    assert stage_total(shut, "A", 2025) == pytest.approx(600.0)
    for t in (2026, 2027, 2028):
        assert stage_total(shut, "A", t) == pytest.approx(0.0)
        assert stage_total(shut, "B", t) == pytest.approx(stage_total(free, "A", t)
                                                           + stage_total(free, "B", t))
    g1 = shut.result.table
    g1 = g1[(g1.grade == 1) & (g1.school_year == 2028)].set_index("school_id")["pupils"]
    assert g1["B"] == pytest.approx(200.0) and g1["A"] == pytest.approx(0.0)
    assert pp.enrolment_of(shut.result, 2027) == {("A", "primary"): 0, ("B", "primary"): 1200}


def test_settings_change_the_projection(tmp_path):
    d = load_district(bundled_district())
    a = pp.project(d, ProjectionParams(draws=0), horizon=2)
    b = pp.project(d, ProjectionParams(draws=0, window=2), horizon=2)
    c = pp.project(d, ProjectionParams(draws=0, shrink_pupils=0.0), horizon=2)
    assert not a.result.totals["pupils"].equals(b.result.totals["pupils"])
    assert not a.result.totals["pupils"].equals(c.result.totals["pupils"])
    band = pp.project(d, ProjectionParams(draws=200), horizon=2).result.totals
    assert (band["high"] > band["low"]).any()
    none = a.result.totals
    assert (none["low"] == none["pupils"]).all() and (none["high"] == none["pupils"]).all()


# ------------------------------------------------------------------ the command
def test_planner_project_backtest_on_the_bundled_history(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["project", "--years", "6", "--backtest", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "1 年预测误差" in text and "5 年预测误差" in text
    df = pd.read_csv(out / "projection.csv", dtype={"school_id": str})
    assert list(df.columns) == ["school_id", "school", "stage", "school_year", "pupils", "low",
                                "high"]
    assert sorted(df.school_year.unique()) == list(range(2025, 2031))
    assert (df.low <= df.pupils).all() and (df.pupils <= df.high).all()
    bt = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    m1, m5 = bt["county_mape"]["1"], bt["county_mape"]["5"]
    assert 0 < m1 < m5 < 0.03 and m1 < 0.015
    assert bt["base_years"] == list(range(2016, 2024))
    per = pd.read_csv(out / "backtest.csv")
    assert set(per.horizon) == set(range(1, 9)) and (per.mape >= 0).all()
    cand = pd.read_csv(out / "projection_candidates.csv", dtype={"school_id": str})
    seed = {"滨湖小学", "白荆小学", "五星小学", "臣山小学", "八一小学", "黄皋小学", "和平小学",
            "望城小学", "南太小学"}
    assert seed <= set(cand.school) and "云溪区特殊教育学校" not in set(cand.school)
    assert cand.set_index("school").loc[sorted(seed), "already_below"].all()
    # the county: births fell, so primary falls by 2030 while junior still rises to 2027
    county = pd.read_csv(out / "projection_county.csv").set_index(["stage", "school_year"])
    assert county.loc[("primary", 2030), "pupils"] < 0.7 * 10035
    assert county.loc[("junior", 2027), "pupils"] > 4722


def test_planner_project_options_have_an_effect_and_english_works(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["project", "--years", "2", "--draws", "0", "--out", str(a)]) == 0
    assert main(["project", "--years", "2", "--draws", "0", "--decay", "1", "--lang", "en",
                 "--out", str(b)]) == 0
    text = capsys.readouterr().out
    assert "consolidation candidates" in text
    pa, pb = (pd.read_csv(x / "projection.csv") for x in (a, b))
    assert len(pa) == len(pb) and not pa["pupils"].equals(pb["pupils"])
    assert (pa["low"] == pa["pupils"]).all()
    assert main(["project", "--years", "0", "--out", str(tmp_path / "c")]) == 2


def test_same_inputs_same_bytes(tmp_path):
    for k in ("a", "b"):
        assert main(["project", "--years", "3", "--out", str(tmp_path / k)]) == 0
    for f in ("projection.csv", "projection_candidates.csv", "projection_county.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_births_short_of_the_horizon_is_an_input_error(tmp_path):
    d = tiny(tmp_path)
    b = pd.read_csv(d / "births.csv")
    b[b.year <= 2018].to_csv(d / "births.csv", index=False)        # enter up to 2024 only
    with pytest.raises(PlanInputError, match="births.csv"):
        pp.project(load_district(d), horizon=2)
    shutil.rmtree(d)
    assert math.isfinite(1.0)
