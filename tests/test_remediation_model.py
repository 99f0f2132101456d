"""Tests of :mod:`models.remediation`: one hand-computed least-cost case per action kind,
moving pupils against building, a binding CV (by hand and by brute force), the staff
quota binding, infeasible inputs explained, costs adding up, and an independent check
that recomputes every part value, county value and CV from the data plus the actions.

Units and numbers: the Hunan 2023 standard (given to the model as ``Limits``) and the
illustrative unit costs ``COSTS`` below (yuan): floor area 3000/m², sports ground 300/m²,
equipment 1 per yuan, multimedia room 30 000, music room 400 000, art room 380 000,
classroom 250 000, a hire 100 000 a year, backbone development 20 000, a training hour
50, a certificate 2 000.  A hire is also trained 360 hours: 18 000, so a hire costs
118 000 the first year.
"""

from __future__ import annotations

import io
import itertools
import math
import tokenize
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from models.remediation import (
    ACTIONS,
    REASON_CODES,
    Limits,
    MoveOption,
    Part,
    RemediationProblem,
    RemediationSettings,
    School,
    Teacher,
    UnitCosts,
    evaluate,
    solve,
)
from models.status import Status
from planner.indicators.engine import weighted_cv

LIM = Limits(
    floors={1: {"primary": 4.2, "junior": 5.3}, 2: {"primary": 1.0, "junior": 1.0},
            3: {"primary": 0.9, "junior": 0.9}, 4: {"primary": 4.5, "junior": 5.8},
            5: {"primary": 7.5, "junior": 10.2}, 6: {"primary": 2000.0, "junior": 2500.0},
            7: {"primary": 2.3, "junior": 2.4}},
    multipliers={1: 100, 2: 100, 3: 100, 4: 1, 5: 1, 6: 1, 7: 100},
    cv_limit={"primary": 0.50, "junior": 0.45}, classes_per_room=12,
    max_class={"primary": 45, "junior": 50},
    pupils_per_quota={"primary": 19, "junior": 13.5},
    funds_per_pupil_yuan={"primary": 600, "junior": 800}, special_funds_per_pupil_yuan=6000,
    training_min_hours=360, training_min_share=1.0, certification_min_share=1.0,
    training_funds_share=0.08)
COSTS = UnitCosts(building_m2=3000, sports_m2=300, equipment_yuan=1.0, multimedia_room=30000,
                  music_room=400000, art_room=380000, classroom=250000,
                  teacher_hire_per_year=100000, backbone_development=20000, training_hour=50,
                  certification=2000)
HIRE = 100000 + 360 * 50          # first-year cost of one hire with its training
PER = {"primary": {"b": 5.0, "s": 8.0, "e": 2100.0, "m": 3, "q": 5, "bb": 1.2, "pe": 1.0},
       "junior": {"b": 6.5, "s": 11.0, "e": 2700.0, "m": 3, "q": 6, "bb": 1.2, "pe": 1.0}}


def ok_school(sid: str, pupils: int = 500, stage: str = "primary", part: dict | None = None,
              **school) -> tuple[School, Part]:
    """A school (one part) that passes every indicator; keywords override."""
    r = PER[stage]
    base: dict[str, Any] = {
        "building_area_m2": pupils * r["b"], "sports_area_m2": pupils * r["s"],
        "equipment_yuan": pupils * r["e"],
        "multimedia_rooms": math.ceil(pupils * r["m"] / 100), "classrooms": 20}
    base.update(school)
    p: dict[str, Any] = {
        "classes": 12, "max_class": 42, "qualified": math.ceil(pupils * r["q"] / 100),
        "backbone": math.ceil(pupils * r["bb"] / 100),
        "pe_art": math.ceil(pupils * r["pe"] / 100), "teachers": math.ceil(pupils * 7 / 100)}
    p.update(part or {})
    return School(sid, **base), Part(sid, stage, pupils, **p)


def county(*pairs, teachers=(), moves=(), costs=COSTS) -> RemediationProblem:
    schools = [s for s, _ in pairs]
    parts = [p for _, p in pairs]
    return RemediationProblem(tuple(schools), tuple(parts), tuple(teachers), costs, LIM,
                              tuple(moves))


def kinds(result) -> list[tuple]:
    return [(a.kind, a.school_id, a.stage, a.quantity) for a in result.actions]


# --------------------------------------------------------------------------- the checker
def recompute(problem: RemediationProblem, actions) -> dict:
    """Apply ``actions`` to the data and recompute every limit, independently of the
    model's code: per-part values with the weighted facility split, county values and
    the enrolment-weighted CV with the indicator engine's ``weighted_cv``.  Returns the
    figures; asserts every limit of the plan."""
    lim = problem.limits
    sch = {s.id: s for s in problem.schools}
    parts = {(p.school_id, p.stage): p for p in problem.parts}
    pupils = {k: p.pupils for k, p in parts.items()}
    classes = {k: p.classes for k, p in parts.items()}
    cnt = {k: [p.qualified, p.backbone, p.pe_art] for k, p in parts.items()}
    res = {h: {4: s.building_area_m2, 5: s.sports_area_m2, 6: s.equipment_yuan,
               7: s.multimedia_rooms} for h, s in sch.items()}
    rooms = {(h, kind): [getattr(s, f"{kind}_rooms"), getattr(s, f"{kind}_rooms_undersized")]
             for h, s in sch.items() for kind in ("music", "art")}
    classrooms = {h: s.classrooms for h, s in sch.items()}
    quota = {h: s.staff_quota for h, s in sch.items()}
    funds = {h: s.public_funds_yuan for h, s in sch.items()}
    train = {h: s.training_funds_yuan for h, s in sch.items()}
    hires = {h: 0 for h in sch}
    hours = {t.id: t.training_hours or 0.0 for t in problem.teachers}
    cert = {t.id: t.certified for t in problem.teachers}
    tmap = {t.id: t for t in problem.teachers}
    new_teachers, new_hours, max_after = 0, 0.0, {}
    field = {"build_floor_area": 4, "build_sports_area": 5, "buy_equipment": 6,
             "equip_multimedia_rooms": 7}
    for a in actions:
        k = (a.school_id, a.stage)
        assert a.cost_yuan == pytest.approx(a.quantity * a.unit_cost_yuan)
        assert a.column == ACTIONS[a.kind].column.format(stage=a.stage)
        if a.kind in field:
            res[a.school_id][field[a.kind]] += a.quantity
        elif a.kind == "move_pupils":
            pupils[k] -= a.quantity
            pupils[(a.to_school_id, a.stage)] += a.quantity
        elif a.kind in ("hire_qualified", "hire_pe_art"):
            cnt[k][0] += a.quantity
            cnt[k][2] += a.quantity if a.kind == "hire_pe_art" else 0
            hires[a.school_id] += a.quantity
            new_teachers += a.quantity
        elif a.kind == "develop_backbone":
            cnt[k][1] += a.quantity
        elif a.kind == "replace_teacher":
            t = tmap[a.teacher_ids[0]]
            cnt[k][0] += 0 if t.qualified else 1
            cnt[k][1] -= 1 if t.backbone else 0
            del hours[t.id], cert[t.id]
            new_teachers += 1
        elif a.kind == "train_new_hires":
            new_hours += a.quantity
        elif a.kind == "train_teacher":
            hours[a.teacher_ids[0]] += a.quantity
        elif a.kind == "certify_teacher":
            cert[a.teacher_ids[0]] = True
        elif a.kind == "add_classes":
            classes[k] += a.quantity
        elif a.kind == "add_classrooms":
            classrooms[a.school_id] += a.quantity
        elif a.kind.startswith("build_") and a.kind.endswith("_rooms"):
            rooms[(a.school_id, a.kind.split("_")[1])][0] += a.quantity
        elif a.kind.startswith("rebuild_"):
            rooms[(a.school_id, a.kind.split("_")[1])][1] -= a.quantity
        elif a.kind.startswith("retire_"):
            r = rooms[(a.school_id, a.kind.split("_")[1])]
            r[0] -= a.quantity
            r[1] -= a.quantity
        elif a.kind == "raise_staff_quota":
            quota[a.school_id] += a.quantity
            assert quota[a.school_id] == a.value_after
        elif a.kind == "raise_public_funds":
            funds[a.school_id] += a.quantity
        elif a.kind == "raise_training_funds":
            train[a.school_id] += a.quantity
        elif a.kind == "rebalance_classes":
            max_after[k] = a.value_after
    # class size: rebalanced parts have the largest class the action says, and it is
    # what pupils and classes allow; the others keep theirs
    for k, p in parts.items():
        if pupils[k] <= 0:
            continue
        largest = max_after.get(k, p.max_class)
        even = math.ceil(pupils[k] / classes[k])
        assert largest >= even
        if k in max_after:
            assert largest in (even, max(p.max_class, even))
        if sch[k[0]].class_rule:
            assert largest <= lim.max_class[k[1]], k
    figures: dict[str, dict] = {"parts": {}, "county": {}}
    for h, s in sch.items():
        ks = [k for k in parts if k[0] == h]
        w = sum(parts[k].facility_weight * pupils[k] for k in ks) + s.senior_weighted_pupils
        if s.size_limit is not None:
            assert sum(pupils[k] for k in ks) <= s.size_limit
        new = sum(classes[k] - parts[k].classes for k in ks)
        spare = max(0, s.classrooms - sum(parts[k].classes for k in ks))
        assert new <= spare + classrooms[h] - s.classrooms
        if s.rooms_rule:
            total = sum(classes[k] for k in ks)
            for kind in ("music", "art"):
                assert rooms[(h, kind)][1] == 0
                assert rooms[(h, kind)][0] >= math.ceil(total / lim.classes_per_room)
        q_after, f_after, t_after = quota[h], funds[h], train[h]
        if s.staff_quota is not None:
            assert q_after is not None
            need = sum(pupils[k] / lim.pupils_per_quota[k[1]] for k in ks)
            if s.quota_rule:
                assert q_after >= need - 1e-9
                assert q_after <= max(s.staff_quota, math.ceil(need - 1e-9))
            assert hires[h] <= max(0, q_after - s.staff)
        if s.public_funds_yuan is not None and s.funds_rule is not None:
            assert f_after is not None
            per = {k[1]: (lim.special_funds_per_pupil_yuan if s.funds_rule == "special"
                          else lim.funds_per_pupil_yuan[k[1]]) for k in ks}
            assert f_after >= max(s.funds_min_yuan, sum(per[k[1]] * pupils[k] for k in ks)) - 1e-6
        if s.training_funds_rule:
            assert f_after is not None and t_after is not None
            assert t_after >= lim.training_funds_share * f_after - 1e-6
        for k in ks:
            if not parts[k].in_scope or pupils[k] <= 0:
                continue
            share = parts[k].facility_weight * pupils[k] / w
            held: dict[int, float] = {1: cnt[k][0], 2: cnt[k][1], 3: cnt[k][2]}
            held.update({j: share * res[h][j] for j in (4, 5, 6, 7)})
            figures["parts"][k] = (pupils[k], held)
    for stage in ("primary", "junior"):
        ks = [k for k in figures["parts"] if k[1] == stage]
        if not ks:
            continue
        for j in range(1, 8):
            pup = [figures["parts"][k][0] for k in ks]
            have = [figures["parts"][k][1][j] for k in ks]
            m = lim.multipliers[j]
            for n, x, k in zip(pup, have, ks):
                assert m * x / n >= lim.floors[j][stage] * (1 - 1e-9), (j, k, m * x / n)
            mean, cv = weighted_cv(pup, have, m)
            assert mean >= lim.floors[j][stage] * (1 - 1e-9)
            assert cv <= lim.cv_limit[stage] * (1 + 1e-9) + 1e-12, (j, stage, cv)
            figures["county"][(j, stage)] = (mean, cv)
    n_all = len(hours) + new_teachers
    ok = sum(v >= lim.training_min_hours for v in hours.values())
    if new_teachers:
        assert new_hours / new_teachers >= lim.training_min_hours
        ok += new_teachers
    assert ok >= math.ceil(lim.training_min_share * n_all - 1e-9)
    ft = [tid for tid in cert if tmap[tid].full_time]
    assert sum(cert[t] for t in ft) + new_teachers >= math.ceil(
        lim.certification_min_share * (len(ft) + new_teachers) - 1e-9)
    return figures


def check(problem, result):
    """Every plan: the independent recompute passes, the model's own evaluation finds no
    violation, and the costs add up."""
    figures = recompute(problem, result.actions)
    assert evaluate(problem, result.actions).violations == ()
    assert result.after.violations == ()
    total = sum(a.cost_yuan for a in result.actions)
    assert result.total_cost_yuan == pytest.approx(total)
    assert result.capital_yuan + result.recurring_yuan_per_year == pytest.approx(total)
    assert sum(result.cost_by_indicator.values()) == pytest.approx(total)
    assert sum(result.cost_by_school.values()) == pytest.approx(total)
    for a in result.actions:
        assert a.reason in REASON_CODES, a
        assert a.indicator in (1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 17, 20, 28), a
    for (j, stage), (mean, cv) in figures["county"].items():
        c = result.after.county_figures(j, stage)
        assert c.value == pytest.approx(mean) and c.cv == pytest.approx(cv, abs=1e-12)
    return figures


# --------------------------------------------------------------------------- facilities
def test_floor_area_least_cost():
    """A has 500 pupils and 1950 m²: it needs 4.5 × 500 = 2250 m², so 300 m² at 3000 =
    900 000 yuan, one-off."""
    p = county(ok_school("A", building_area_m2=1950.0), ok_school("B"))
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.gap <= 1e-4
    assert kinds(r) == [("build_floor_area", "A", "", 300.0)]
    assert r.total_cost_yuan == pytest.approx(900000) and r.capital_yuan == pytest.approx(900000)
    assert r.actions[0].reason == "floor" and r.actions[0].indicator == 4
    check(p, r)


def test_sports_equipment_multimedia_least_cost():
    """A (500 pupils): sports 3500 m² < 7.5 × 500 = 3750 → 250 m² × 300 = 75 000;
    equipment 900 000 < 2000 × 500 = 1 000 000 → 100 000 yuan × 1 = 100 000;
    multimedia rooms 10 < 2.3 × 500 / 100 = 11.5 → 12 rooms: 2 × 30 000 = 60 000 (whole
    rooms).  Total 235 000."""
    p = county(ok_school("A", sports_area_m2=3500.0, equipment_yuan=900000.0,
                         multimedia_rooms=10), ok_school("B"))
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert sorted(kinds(r)) == [("build_sports_area", "A", "", 250.0),
                                ("buy_equipment", "A", "", 100000.0),
                                ("equip_multimedia_rooms", "A", "", 2)]
    assert r.total_cost_yuan == pytest.approx(235000)
    assert r.cost_by_indicator == {5: 75000, 6: 100000, 7: 60000}
    check(p, r)


def test_two_stage_school_split_by_weighted_enrolment():
    """Nine-year school N: 400 primary and 300 junior pupils, weights 1 : 1.1, so W =
    400 + 330 = 730 and a part's floor area per pupil is w·R / W.  Primary needs
    R ≥ 4.5 × 730 = 3285, junior R ≥ 5.8 × 730 / 1.1 = 3849.09 m²; it has 3500, so it
    builds 349.09 → 350 m² (whole m²) = 1 050 000 yuan, and the one addition raises both
    parts (primary 3850/730 = 5.27, junior 1.1 × 3850/730 = 5.801)."""
    s, pp = ok_school("N", 400)
    _, pj = ok_school("N", 300, "junior")
    s = replace(s, building_area_m2=3500.0, sports_area_m2=7500.0, equipment_yuan=2e6,
                multimedia_rooms=22, classrooms=40)
    pp, pj = replace(pp, facility_weight=1.0), replace(pj, facility_weight=1.1)
    others = [ok_school("A"), ok_school("J", 500, "junior")]
    p = RemediationProblem((s,) + tuple(x for x, _ in others),
                           (pp, pj) + tuple(y for _, y in others), (), COSTS, LIM)
    assert {(v.school_id, v.stage, v.indicator) for v in evaluate(p).violations} == {
        ("N", "junior", 4)}
    r = solve(p)
    assert kinds(r) == [("build_floor_area", "N", "", 350.0)]
    assert r.total_cost_yuan == pytest.approx(1050000)
    fig = check(p, r)
    assert fig["parts"][("N", "primary")][1][4] / 400 == pytest.approx(3850 / 730)
    assert fig["parts"][("N", "junior")][1][4] / 300 == pytest.approx(1.1 * 3850 / 730)
    assert r.after.part("N", "junior").values[4] == pytest.approx(1.1 * 3850 / 730)


def test_music_and_art_rooms_build_rebuild_retire():
    """30 classes need ceil(30 / 12) = 3 rooms of each kind.
    A: 2 music rooms → build 1 (400 000); art 4 rooms of which 1 below the area: the 3
    others suffice, so the small one is retired (no cost).  B: art 3 rooms, 1 below the
    area → the 2 others are too few, so it is rebuilt (380 000).  Total 780 000."""
    base = {"rooms_rule": True, "classrooms": 40}
    a = ok_school("A", 1300, part={"classes": 30, "max_class": 44}, music_rooms=2,
                  art_rooms=4, art_rooms_undersized=1, **base)
    b = ok_school("B", 1300, part={"classes": 30, "max_class": 44}, music_rooms=3,
                  art_rooms=3, art_rooms_undersized=1, **base)
    p = county(a, b)
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert sorted(kinds(r)) == [("build_music_rooms", "A", "", 1),
                                ("rebuild_art_rooms", "B", "", 1),
                                ("retire_art_rooms", "A", "", 1)]
    assert r.total_cost_yuan == pytest.approx(780000)
    assert r.cost_by_indicator == {11: 780000}
    check(p, r)


def test_class_size_split_with_classroom_and_rebalance():
    """A: 500 pupils in 11 classes, largest 50 > 45: it needs ceil(500/45) = 12 classes,
    one more, and with 11 classrooms for 11 classes no room is spare: one classroom
    (250 000); the classes are rebalanced to ceil(500/12) = 42.  B: 500 pupils in 12
    classes, largest 48: rebalancing alone (ceil(500/12) = 42) fixes it, at no cost."""
    a = ok_school("A", part={"classes": 11, "max_class": 50}, classrooms=11)
    b = ok_school("B", part={"classes": 12, "max_class": 48})
    p = county(a, b)
    r = solve(p)
    assert sorted(kinds(r)) == [("add_classes", "A", "primary", 1), ("add_classrooms", "A", "", 1),
                                ("rebalance_classes", "A", "primary", 12),
                                ("rebalance_classes", "B", "primary", 12)]
    assert {a.school_id: a.value_after for a in r.actions if a.kind == "rebalance_classes"} == {
        "A": 42, "B": 42}
    assert r.total_cost_yuan == pytest.approx(250000)
    check(p, r)


# --------------------------------------------------------------------------- teachers
def test_hire_qualified_teachers():
    """A (500 pupils) has 19 qualified teachers; 4.2 × 500/100 = 21 are needed: 2 hires,
    200 000 a year, plus their training 2 × 360 h × 50 = 36 000 one-off."""
    p = county(ok_school("A", part={"qualified": 19}), ok_school("B"))
    r = solve(p)
    assert kinds(r) == [("hire_qualified", "A", "primary", 2),
                        ("train_new_hires", "A", "primary", 720.0)]
    assert r.recurring_yuan_per_year == pytest.approx(200000)
    assert r.capital_yuan == pytest.approx(36000)
    assert r.cost_by_indicator == {1: 200000, 17: 36000}
    check(p, r)


def test_pe_art_hires_count_for_qualified_too():
    """A (500 pupils) is short of 2 qualified (19 of 21) and of 2 PE/art teachers (3 of
    0.9 × 5 = 4.5 → 5).  A PE/art hire has the degree, so 2 PE/art hires fix both:
    2 × 118 000 = 236 000, not 4 hires."""
    p = county(ok_school("A", part={"qualified": 19, "pe_art": 3}), ok_school("B"))
    r = solve(p)
    assert kinds(r) == [("hire_pe_art", "A", "primary", 2),
                        ("train_new_hires", "A", "primary", 720.0)]
    assert r.total_cost_yuan == pytest.approx(2 * HIRE)
    check(p, r)


def test_develop_backbone_teachers():
    """A (500 pupils) has 3 backbone teachers; 1.0 × 5 = 5 are needed: develop 2 of its
    32 other teachers, 2 × 20 000 = 40 000 one-off."""
    p = county(ok_school("A", part={"backbone": 3}), ok_school("B"))
    r = solve(p)
    assert kinds(r) == [("develop_backbone", "A", "primary", 2)]
    assert r.total_cost_yuan == pytest.approx(40000) and r.recurring_yuan_per_year == 0
    check(p, r)


def test_training_certification_and_replacement():
    """T1 has 300 of 360 hours: 60 h × 50 = 3 000.  T2 is uncertified: a certificate,
    2 000.  T3 is uncertified and cannot be certified: replaced by a certified,
    qualified teacher (118 000 with training); T3 was not qualified, so A's qualified
    count rises by one.  T4 has no hours recorded: 360 h × 50 = 18 000.  Total 141 000."""
    teachers = [Teacher("T1", "A", "primary", 300.0, qualified=True),
                Teacher("T2", "A", "primary", 400.0, certified=False, qualified=True),
                Teacher("T3", "A", "primary", 400.0, certified=False, certifiable=False),
                Teacher("T4", "B", "primary", None, qualified=True)]
    p = county(ok_school("A"), ok_school("B"), teachers=teachers)
    r = solve(p)
    assert sorted((a.kind, a.teacher_ids, a.quantity) for a in r.actions) == [
        ("certify_teacher", ("T2",), 1), ("replace_teacher", ("T3",), 1),
        ("train_new_hires", (), 360.0), ("train_teacher", ("T1",), 60),
        ("train_teacher", ("T4",), 360)]
    assert r.total_cost_yuan == pytest.approx(3000 + 2000 + HIRE + 18000)
    assert r.cost_by_indicator == {17: 3000 + 18000 + 18000, 20: 2000 + 100000}
    rep = next(a for a in r.actions if a.kind == "replace_teacher")
    assert rep.reason == "not_certifiable" and rep.column == "teachers"
    fig = check(p, r)
    assert fig["parts"][("A", "primary")][1][1] == 25 + 1


def test_replacement_beats_certificate_plus_hire():
    """A is short of one qualified teacher (20 of 21) and has an uncertified, unqualified
    teacher U who could be certified.  Certificate (2 000) + a hire (118 000) = 120 000;
    replacing U by a qualified teacher uses no post and does both: 118 000."""
    teachers = [Teacher("U", "A", "primary", 400.0, certified=False, qualified=False)]
    p = county(ok_school("A", part={"qualified": 20}), ok_school("B"), teachers=teachers)
    r = solve(p)
    assert sorted((a.kind, a.teacher_ids) for a in r.actions) == [
        ("replace_teacher", ("U",)), ("train_new_hires", ())]
    assert r.total_cost_yuan == pytest.approx(HIRE)
    check(p, r)


# --------------------------------------------------------------------------- funding
def test_quota_raise_public_and_training_funds():
    """A (500 primary pupils): quota 20 < 500/19 = 26.3 → raised to 27 (administrative, no
    cost, listed); public funds 250 000 < 600 × 500 = 300 000 → +50 000 a year; training
    funds 20 000 < 8 % × 300 000 = 24 000 → +4 000 a year.  Total 54 000 recurring."""
    rules = {"staff_quota": 20, "staff": 20, "quota_rule": True, "funds_rule": "standard",
             "public_funds_yuan": 250000.0, "training_funds_rule": True,
             "training_funds_yuan": 20000.0}
    p = county(ok_school("A", **rules), ok_school("B"))
    r = solve(p)
    assert sorted(kinds(r)) == [("raise_public_funds", "A", "", 50000.0),
                                ("raise_staff_quota", "A", "", 7),
                                ("raise_training_funds", "A", "", 4000.0)]
    q = next(a for a in r.actions if a.kind == "raise_staff_quota")
    assert q.value_after == 27 and q.cost_yuan == 0 and q.column == "staff_quota"
    assert r.recurring_yuan_per_year == pytest.approx(54000) and r.capital_yuan == 0
    assert r.cost_by_indicator == {10: 50000, 28: 4000}
    check(p, r)


def test_small_school_and_special_school_funds():
    """V (60 pupils, indicator 14): funded as 100 pupils, floor 60 000; it has 50 000 →
    +10 000 (indicator 14).  X (special school, 20 pupils, indicator 15): 6 000 × 20 =
    120 000; it has 100 000 → +20 000.  Total 30 000 a year."""
    v = ok_school("V", 60, funds_rule="standard", public_funds_yuan=50000.0,
                  funds_min_yuan=60000.0)
    x = ok_school("X", 20, funds_rule="special", public_funds_yuan=100000.0)
    x = (x[0], replace(x[1], in_scope=False))
    p = county(v, x, ok_school("B"))
    r = solve(p)
    assert sorted((a.kind, a.school_id, a.quantity, a.indicator) for a in r.actions) == [
        ("raise_public_funds", "V", 10000.0, 14), ("raise_public_funds", "X", 20000.0, 15)]
    assert r.total_cost_yuan == pytest.approx(30000)
    check(p, r)


# --------------------------------------------------------------------------- pupil moves
def test_school_size_fixed_by_moving_pupils():
    """A has 2040 pupils, limit 2000: 40 must move; B (500 pupils, rich) takes them at
    1 500 yuan a pupil a year: 60 000.  B then has 540 pupils in 12 classes (ceil(540/12)
    = 45, at the limit: rebalanced, no cost) and keeps every floor."""
    a = ok_school("A", 2040, part={"classes": 50, "max_class": 44}, size_limit=2000,
                  classrooms=60)
    b = ok_school("B", 500, building_area_m2=4000.0, sports_area_m2=6000.0,
                  equipment_yuan=2e6, multimedia_rooms=20,
                  part={"qualified": 40, "backbone": 10, "pe_art": 10, "teachers": 50})
    p = county(a, b, ok_school("C"), moves=[MoveOption("A", "B", "primary", 1500.0)])
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert ("move_pupils", "A", "primary", 40) in kinds(r)
    mv = next(x for x in r.actions if x.kind == "move_pupils")
    assert mv.to_school_id == "B" and mv.reason == "school_size" and mv.indicator == 12
    assert mv.recurring and mv.cost_yuan == pytest.approx(60000)
    assert r.total_cost_yuan == pytest.approx(60000)
    check(p, r)


def moving_county(cost_per_pupil=2000.0):
    """A: 500 pupils, 2000 m² (4.0 per pupil < 4.5); B: a rich neighbour with room."""
    a = ok_school("A", building_area_m2=2000.0)
    b = ok_school("B", building_area_m2=3500.0, sports_area_m2=6000.0, equipment_yuan=1.5e6,
                  multimedia_rooms=20,
                  part={"qualified": 40, "backbone": 10, "pe_art": 10, "teachers": 50})
    return county(a, b, ok_school("C"), moves=[MoveOption("A", "B", "primary", cost_per_pupil)])


def test_moving_pupils_beats_building():
    """Building: 4.5 × 500 − 2000 = 250 m² × 3000 = 750 000.  Moving k pupils to B at
    2 000 a year: A then needs 4.5(500 − k) ≤ 2000 → k ≥ 55.6 → 56 pupils = 112 000
    (a mix costs 2 000 k + 3 000 × (250 − 4.5 k), falling in k until k = 56).  B gets
    556 pupils: 13 classes (ceil(556/45)), one from its spare classrooms, largest
    ceil(556/13) = 43."""
    p = moving_county()
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.gap <= 1e-4
    assert sorted(kinds(r)) == [("add_classes", "B", "primary", 1),
                                ("move_pupils", "A", "primary", 56),
                                ("rebalance_classes", "B", "primary", 13)]
    assert r.total_cost_yuan == pytest.approx(112000)
    assert next(a for a in r.actions if a.kind == "move_pupils").reason == \
        "cheaper_than_building"
    assert not r.moves_fixed          # the relaxation's plan passed: proven in phase 1
    check(p, r)


def test_recurring_years_turns_the_choice_to_building():
    """With the yearly cost weighted over 10 years, a pupil moved costs 20 000 against
    4.5 m² × 3000 = 13 500 of building: building 250 m² (750 000) wins."""
    p = moving_county()
    r = solve(p, RemediationSettings(recurring_years=10))
    assert kinds(r) == [("build_floor_area", "A", "", 250.0)]
    assert r.objective == pytest.approx(750000)
    check(p, r)


# --------------------------------------------------------------------------- the CV
def test_cv_binds_with_every_floor_passed():
    """Two parts of 100 pupils: A 2000 yuan of equipment per pupil, B 7000.  Floors and
    the county value pass, but CV = |b − a| / (a + b) = 5000/9000 = 0.556 > 0.50.  Adding
    to B only raises the CV; at A the least a is b/3: (7000 − a)/(7000 + a) ≤ 0.5 ⇔
    a ≥ 2333.33, i.e. 33 333.33 yuan → 33 334 (whole yuan)."""
    p = county(ok_school("A", 100, equipment_yuan=200000.0),
               ok_school("B", 100, equipment_yuan=700000.0))
    before = evaluate(p)
    assert [(v.code, v.indicator, v.stage) for v in before.violations] == [
        ("cv", 6, "primary")]
    assert before.county_figures(6, "primary").cv == pytest.approx(5 / 9)
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.gap <= 1e-4
    assert kinds(r) == [("buy_equipment", "A", "", 33334.0)]
    assert r.actions[0].reason == "cv"
    assert r.lower_bound <= 100000 / 3 + 1e-6 <= r.total_cost_yuan
    fig = check(p, r)
    assert fig["county"][(6, "primary")][1] <= 0.5
    assert r.cuts > 0 and r.rounds > 1


def test_cv_binds_integer_rooms_brute_force():
    """Multimedia rooms (whole rooms) at three parts of 200, 300 and 500 pupils: 5, 7 and
    40 rooms (2.5, 2.33 and 8 per 100 pupils; floors pass) give CV 0.539 > 0.50.  The
    least number of added rooms (30 000 each) is found by enumerating 0–10 rooms at
    each school; the model's plan costs the same and meets the CV."""
    pairs = [ok_school("A", 200, multimedia_rooms=5), ok_school("B", 300, multimedia_rooms=7),
             ok_school("C", 500, multimedia_rooms=40)]
    p = county(*pairs)
    base = evaluate(p)
    assert [(v.code, v.indicator) for v in base.violations] == [("cv", 7)]
    best = None
    for add in itertools.product(range(11), repeat=3):
        rooms = [5 + add[0], 7 + add[1], 40 + add[2]]
        _, cv = weighted_cv([200, 300, 500], rooms, 100)
        if cv <= 0.5 and (best is None or sum(add) < best):
            best = sum(add)
    assert best is not None
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert r.total_cost_yuan == pytest.approx(best * 30000)
    assert all(a.kind == "equip_multimedia_rooms" for a in r.actions)
    check(p, r)


def test_moves_in_a_binding_cv_stage_are_proven_optimal():
    """A (2040 pupils, limit 2000, 2100 yuan of equipment a pupil) must send 40 pupils;
    B (400 pupils, 9000 a pupil) and C (400, 2200) take up to 25 each at 1 000 a pupil a
    year.  The equipment CV (0.78) binds and the moves change B's and C's values, so the
    range relaxation of phase 1 cannot prove its plan: its moves are fixed (phase 2) and
    the perspective relaxation (phase 3) proves the optimum.  Checks: the plan is optimal
    for its moves (the same problem with those enrolments and no move options, solved
    apart, costs the same less the moves); the brute-force optimum over every split of
    the moves (B, C ≤ 25, B + C ≥ 40) lies between the proven lower bound and the plan's
    cost; the status agrees with the gap."""
    room = {"building_area_m2": 3000.0, "sports_area_m2": 5000.0, "multimedia_rooms": 16,
            "classrooms": 14}
    teach = {"classes": 12, "max_class": 36, "qualified": 30, "backbone": 8, "pe_art": 8,
             "teachers": 40}
    a = ok_school("A", 2040, part={"classes": 50, "max_class": 44}, size_limit=2000,
                  classrooms=60, equipment_yuan=2040 * 2100.0)
    b = ok_school("B", 400, part=teach, equipment_yuan=400 * 9000.0, **room)
    c = ok_school("C", 400, part=teach, equipment_yuan=400 * 2200.0, **room)
    moves = [MoveOption("A", "B", "primary", 1000.0, 25),
             MoveOption("A", "C", "primary", 1000.0, 25)]
    p = county(a, b, c, moves=moves)
    assert ("cv", 6) in {(v.code, v.indicator) for v in evaluate(p).violations}
    r = solve(p)
    assert r.status.has_plan
    check(p, r)
    assert r.moves_fixed and "moves_fixed" in r.messages and "phase_3" in r.messages
    assert r.lower_bound <= r.objective + 1e-6
    assert (r.status is Status.OPTIMAL) == (r.gap <= 1e-4)
    assert r.status is Status.OPTIMAL
    mv = {x.to_school_id: int(x.quantity) for x in r.actions if x.kind == "move_pupils"}

    def fixed(nb, nc):
        parts = [replace(x, pupils=x.pupils + {"A": -nb - nc, "B": nb, "C": nc}[x.school_id])
                 for x in p.parts]
        return solve(replace(p, parts=tuple(parts), moves=())).objective + 1000.0 * (nb + nc)

    assert fixed(mv.get("B", 0), mv.get("C", 0)) == pytest.approx(r.objective, rel=1e-6)
    best = min(fixed(nb, nc) for nb in range(26) for nc in range(26) if nb + nc >= 40)
    assert r.lower_bound <= best * (1 + 1e-6)
    assert best <= r.objective * (1 + 1e-6)


# --------------------------------------------------------------------------- the quota
def test_staff_quota_binds_and_is_reported():
    """A needs 3 more qualified teachers (18 of 21) and its quota 29 (≥ 500/19 = 26.3)
    with 26 on staff leaves exactly 3 posts: hired, and the quota is reported binding
    with no vacant post left."""
    p = county(ok_school("A", part={"qualified": 18}, staff_quota=29, staff=26, quota_rule=True),
               ok_school("B"))
    r = solve(p)
    assert kinds(r)[0] == ("hire_qualified", "A", "primary", 3)
    assert [(q.school_id, q.posts, q.hires, q.binding, q.vacant_after) for q in r.quota] == [
        ("A", 3, 3, True, 0)]
    check(p, r)


def test_infeasible_staff_quota_names_the_school():
    """Same school with quota 27 and 26 on staff: 1 post for 3 teachers needed.  No plan:
    status infeasible, a closest plan, and the reason "A primary: indicator 1 needs 3
    more teachers, the quota allows 1"."""
    p = county(ok_school("A", part={"qualified": 18}, staff_quota=27, staff=26, quota_rule=True),
               ok_school("B"))
    r = solve(p)
    assert r.status is Status.INFEASIBLE and not r.status.has_plan and r.closest
    assert [(s.code, s.school_id, s.stage, s.indicator, s.needed, s.allowed)
            for s in r.shortfalls] == [("staff_quota", "A", "primary", 1, 3, 1)]
    assert [(v.code, v.school_id, v.value, v.limit) for v in r.after.violations] == [
        ("posts", "A", 3, 1)]
    assert r.gap is None and r.lower_bound is None


def test_quota_bound_school_moves_pupils_instead_of_hiring():
    """A has no free post (quota 27 = staff) and is short of 1 qualified teacher (20 of
    21 for 500 pupils).  Moving 24 pupils to B (4.2 × 476 / 100 = 19.99 ≤ 20) at 100 a
    pupil a year (2 400) is the only way; A's quota is reported binding."""
    a = ok_school("A", part={"qualified": 20}, staff_quota=27, staff=27, quota_rule=True)
    b = ok_school("B", building_area_m2=3500.0, sports_area_m2=6000.0, equipment_yuan=1.5e6,
                  multimedia_rooms=20,
                  part={"qualified": 40, "backbone": 10, "pe_art": 10, "teachers": 50})
    p = county(a, b, ok_school("C"), moves=[MoveOption("A", "B", "primary", 100.0)])
    r = solve(p)
    assert ("move_pupils", "A", "primary", 24) in kinds(r)
    assert not any(x.kind.startswith("hire") for x in r.actions)
    assert [(q.school_id, q.posts, q.binding) for q in r.quota] == [("A", 0, True)]
    check(p, r)


def test_infeasible_cv_needs_a_post_the_quota_lacks():
    """PE/art teachers per 100 pupils: A (100 pupils) has 4, B (100) has 1 — both above
    the floor 0.9, but CV = (4 − 1)/(4 + 1) = 0.6 > 0.50.  Only a hire at B lowers it
    ((4 − 1 − x)/(5 + x) ≤ 0.5 ⇔ x ≥ 1/3: one PE/art teacher), and B has no free post:
    infeasible, the reason names B and indicator 3's CV (1 teacher needed, 0 allowed)."""
    a = ok_school("A", 100, part={"pe_art": 4})
    b = ok_school("B", 100, part={"pe_art": 1}, staff_quota=7, staff=7)
    p = county(a, b)
    assert [(v.code, v.indicator) for v in evaluate(p).violations] == [("cv", 3)]
    r = solve(p)
    assert r.status is Status.INFEASIBLE and r.closest
    assert [(s.code, s.school_id, s.stage, s.indicator, s.needed, s.allowed)
            for s in r.shortfalls] == [("staff_quota_cv", "B", "primary", 3, 1, 0)]
    assert kinds(r)[0] == ("hire_pe_art", "B", "primary", 1)


def test_official_cv_check_vector():
    """rules.md: five primary parts with pupils 45, 37, 89, 76, 55 and resources 279,
    137, 935, 160, 402 have CV 0.5153 (enrolment-weighted, no n − 1); the model's own
    evaluation gives the same for equipment values in those proportions."""
    pupils, books = [45, 37, 89, 76, 55], [279, 137, 935, 160, 402]
    pairs = [ok_school(f"S{i}", n, equipment_yuan=b * 1000.0) for i, (n, b)
             in enumerate(zip(pupils, books))]
    cv = evaluate(county(*pairs)).county_figures(6, "primary").cv
    assert round(cv, 4) == 0.5153
    assert cv == pytest.approx(weighted_cv(pupils, books)[1], rel=1e-12)


def test_infeasible_school_size_without_receivers():
    """A has 2040 pupils (limit 2000) and no school to send them to: infeasible, the
    reason names A, 40 pupils needed, 0 allowed."""
    a = ok_school("A", 2040, part={"classes": 50, "max_class": 44}, size_limit=2000,
                  classrooms=60)
    r = solve(county(a, ok_school("B")))
    assert r.status is Status.INFEASIBLE and r.closest
    assert [(s.code, s.school_id, s.indicator, s.needed, s.allowed) for s in r.shortfalls] == [
        ("school_size", "A", 12, 40, 0)]


# --------------------------------------------------------------------------- the whole
def mixed_county() -> RemediationProblem:
    """Every kind of action at once: a nine-year school, moves, rooms, classes, teachers,
    funds."""
    n, np_ = ok_school("N", 400, rooms_rule=True, music_rooms=1, art_rooms=2,
                       art_rooms_undersized=1, classrooms=40, staff_quota=60, staff=50,
                       quota_rule=True, funds_rule="standard", public_funds_yuan=400000.0,
                       training_funds_rule=True, training_funds_yuan=20000.0,
                       building_area_m2=3600.0, sports_area_m2=8000.0,
                       equipment_yuan=1.6e6, multimedia_rooms=18,
                       part={"qualified": 15, "backbone": 3, "pe_art": 3})
    _, nj = ok_school("N", 300, "junior", part={"classes": 5, "max_class": 60,
                                                 "qualified": 17})
    np_, nj = replace(np_, facility_weight=1.0), replace(nj, facility_weight=1.1)
    a = ok_school("A", 2030, part={"classes": 48, "max_class": 44}, size_limit=2000,
                  classrooms=50, equipment_yuan=2030 * 2050.0)
    b = ok_school("B", 400, building_area_m2=4000.0, sports_area_m2=6000.0,
                  equipment_yuan=1.2e6, multimedia_rooms=16, classrooms=14,
                  part={"qualified": 30, "backbone": 8, "pe_art": 8, "teachers": 40})
    j = ok_school("J", 600, "junior", multimedia_rooms=12)
    teachers = [Teacher("T1", "N", "primary", 350.0, qualified=True),
                Teacher("T2", "N", "junior", 500.0, certified=False, qualified=True),
                Teacher("T3", "A", "primary", 500.0, certified=False, backbone=True)]
    schools = (n, a[0], b[0], j[0])
    parts = (np_, nj, a[1], b[1], j[1])
    return RemediationProblem(schools, parts, tuple(teachers), COSTS, LIM,
                              (MoveOption("A", "B", "primary", 1200.0),))


def test_mixed_county_costs_add_up_and_recompute():
    """Every row's cost is quantity × unit cost, the rows add up to the total, to
    capital + one year's recurring cost, by indicator and by school; every part value,
    county value and CV recomputed from the data plus the actions passes."""
    p = mixed_county()
    before = evaluate(p)
    assert len(before.violations) >= 8
    r = solve(p)
    assert r.status.has_plan
    check(p, r)
    used = {a.kind for a in r.actions}
    assert {"move_pupils", "build_music_rooms", "add_classes", "hire_qualified",
            "develop_backbone", "train_teacher", "certify_teacher", "raise_training_funds",
            "raise_public_funds", "buy_equipment"} <= used
    for a in r.actions:
        assert a.cost_yuan == pytest.approx(a.quantity * a.unit_cost_yuan)
        assert a.recurring == ACTIONS[a.kind].recurring
    assert r.objective == pytest.approx(r.capital_yuan + r.recurring_yuan_per_year, rel=1e-6)


def test_deterministic():
    p = mixed_county()
    assert solve(p).actions == solve(p).actions


def test_rounding_steps_have_an_effect():
    """area_step 1 rounds 349.09 m² up to 350; 0 keeps 349.0909…; money_step 100 rounds
    a 33 333.33-yuan purchase up to 33 400."""
    s, pp = ok_school("N", 400)
    _, pj = ok_school("N", 300, "junior")
    s = replace(s, building_area_m2=3500.0, sports_area_m2=20000.0, equipment_yuan=2e6,
                multimedia_rooms=30, classrooms=40)
    p = RemediationProblem((s,), (pp, replace(pj, facility_weight=1.1)), (), COSTS, LIM)
    exact = solve(p, RemediationSettings(area_step=0))
    assert exact.actions[0].quantity == pytest.approx(5.8 * 730 / 1.1 - 3500)
    assert solve(p).actions[0].quantity == 350.0
    cv = county(ok_school("A", 100, equipment_yuan=200000.0),
                ok_school("B", 100, equipment_yuan=700000.0))
    assert solve(cv, RemediationSettings(money_step=100)).actions[0].quantity == 33400.0


def test_max_rounds_and_cv_tol_have_an_effect():
    """One round cannot finish a binding CV (no plan in time); a coarser cv_tol aims
    lower and costs more."""
    p = county(ok_school("A", 100, equipment_yuan=200000.0),
               ok_school("B", 100, equipment_yuan=700000.0))
    r = solve(p, RemediationSettings(max_rounds=1))
    assert r.status is Status.NO_PLAN_IN_TIME and r.actions == ()
    coarse = solve(p, RemediationSettings(cv_tol=0.01, money_step=0))
    fine = solve(p, RemediationSettings(money_step=0))
    assert coarse.total_cost_yuan > fine.total_cost_yuan + 100


def test_bad_input_raises_value_error():
    good = county(ok_school("A"), ok_school("B"))
    with pytest.raises(ValueError, match="unknown school"):
        solve(replace(good, parts=good.parts + (Part("Z", "primary", 10),)))
    with pytest.raises(ValueError, match="both schools must teach"):
        solve(replace(good, moves=(MoveOption("A", "B", "junior", 1.0),)))
    with pytest.raises(ValueError, match="cost building_m2"):
        solve(replace(good, costs=replace(COSTS, building_m2=-1)))


def _standard_numbers() -> set[float]:
    """Every number of the standard's CV limits, transport and consolidation sections and
    indicator thresholds and params (0, 1, 100 and indicator 31's ordinal level aside)."""
    path = Path(__file__).resolve().parents[1] / "planner" / "standards" / "hunan-2023.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def nums(x) -> set[float]:
        if isinstance(x, bool):
            return set()
        if isinstance(x, (int, float)):
            return {float(x)}
        if isinstance(x, dict):
            return set().union(set(), *(nums(v) for v in x.values()))
        if isinstance(x, (list, tuple)):
            return set().union(set(), *(nums(v) for v in x))
        return set()

    out = nums(data["cv_limit"]) | nums(data["transport"]) | nums(data["consolidation"])
    for ind in data["indicators"]:
        params = {k: v for k, v in (ind.get("params") or {}).items() if k != "min_level"}
        out |= nums(ind.get("threshold")) | nums(params)
    return out - {0.0, 1.0, 100.0}


def test_no_rule_numbers_in_the_model():
    """The standard's numbers reach the model only through Limits: none of them is a
    numeric literal of models/remediation.py's code (docstrings and comments are not
    code; a line marked not-a-rule holds indicator ids).  The same definition as the
    project-wide architecture check."""
    rule = _standard_numbers()
    assert {4.2, 0.45, 45.0, 2000.0, 360.0, 0.08, 12.0, 96.0} <= rule
    src = Path(__file__).resolve().parents[1] / "models" / "remediation.py"
    text = src.read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if (tok.type == tokenize.NUMBER and "# not-a-rule:" not in lines[tok.start[0] - 1]
                and float(tok.string) in rule):
            found.append((tok.start[0], tok.string))
    assert found == []
