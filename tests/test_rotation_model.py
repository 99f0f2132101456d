"""Tests of :mod:`models.rotation`: hand-solved instances, brute force, prechecks,
closest plans, determinism, the independent verifier and solver agreement."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest

from models.mip import available_solvers
from models.rotation import (
    Diagnostic,
    Move,
    RotationProblem,
    RotationSettings,
    School,
    Teacher,
    plan_levels,
    precheck,
    solve,
    verify_rotation,
)
from models.status import Status

#: the floors of indicators 1-3 per 100 pupils the hand computations below use (the
#: Hunan standard's; the model has none of its own)
FLOORS = {"primary": (4.2, 1.0, 0.9), "junior": (5.3, 1.0, 0.9)}


def settings(**kw) -> RotationSettings:
    """The model's settings: indicator 19's 10 % / 20 % of movers, a 10 % band, a
    30 % send limit, no direction rule, unless a test says otherwise."""
    base = {"share": 0.10, "backbone_share": 0.20, "floors": FLOORS,
            "backbone_base": "rotated", "band": 0.10, "max_send_share": 0.30,
            "direction_rule": False, "urban_moves": False, "exchange_partners": 2}
    return RotationSettings(**{**base, **kw})


def P(teachers, schools, s: RotationSettings | None = None, travel=None) -> RotationProblem:
    return RotationProblem(tuple(teachers), tuple(schools), s or settings(), travel)


def T(id, school, subject="语文", q=False, b=False, elig=True, stage="primary", years=6):
    return Teacher(id, school, stage, subject, q, b, subject in ("体育", "音乐", "美术"),
                   elig, years_at_school=years)


def S(id, pupils=100, area="town", stages=("primary",), quota=None):
    return School(id, frozenset(stages), {st: pupils for st in stages}, area, quota)


def check(problem, result):
    """Every plan a test makes passes the verifier and its objective is recomputed."""
    if result.status is not Status.INFEASIBLE:
        assert verify_rotation(problem, result.moves) == []
    again = plan_levels(problem, result.moves)
    for key in ("shortfall", "spread", "travel"):
        assert result.objective[key] == pytest.approx(again[key], abs=1e-9)


# ------------------------------------------------------------------ hand-solved
def hand_instance() -> RotationProblem:
    """A (urban, 100 pupils, 10 teachers, all eligible) and B (rural, 100, 4, none).

    Floors per 100 pupils: qualified 4.2, backbone 1.0, PE/art 0.9, so each school
    needs 4.2 / 1 / 0.9 teachers.  A has 9 qualified, 2 backbone, 2 PE/art; B none.
    E = 10 → R = ceil(1.0) = 1 mover; 5·B ≥ M → the mover is backbone.
    Band: B has 4 teachers, allowed [floor(3.6), ceil(4.4)] = [3, 5]; A [9, 11].
    B sends nothing (no eligible), so B gains at most... A → B moves only; B gains
    ≤ 1, so exactly one move.  Candidates: A1 (qualified + backbone) leaves B short
    3.2 + 0 + 0.9 = 4.1; A2 (backbone only) leaves 4.2 + 0 + 0.9 = 5.1.  A keeps
    8 ≥ 4.2 qualified and 1 ≥ 1 backbone either way.  Optimum: A1 → B, level 1 = 4.1,
    reason "backbone" (PE/art is checked first, then backbone).
    """
    a = [T("A1", "A", "语文", q=True, b=True), T("A2", "A", "数学", b=True)]
    a += [T(f"A{i}", "A", s, q=True) for i, s in
          zip(range(3, 9), ["语文", "数学", "英语", "语文", "数学", "英语"])]
    a += [T("A9", "A", "体育", q=True), T("A10", "A", "音乐", q=True)]
    b = [T(f"B{i}", "B", s, elig=False) for i, s in enumerate(["语文", "数学", "英语", "科学"])]
    return P(a + b, (S("A", area="urban"), S("B", area="rural")))


def test_hand_instance_best_move():
    p = hand_instance()
    r = solve(p)
    assert r.status is Status.OPTIMAL and not r.closest
    assert [(m.teacher_id, m.from_school, m.to_school, m.reason) for m in r.moves] == [
        ("A1", "A", "B", "floor_2")]
    assert r.objective["shortfall"] == pytest.approx(4.1)
    assert r.counts == {"eligible": 10, "required_movers": 1, "rotated": 1,
                        "backbone_rotated": 1, "backbone_required": 1, "exchanges": 0,
                        "not_toward_need": 0, "backbone_not_toward_need": 0,
                        "wish_teachers": 0, "wishes_granted": 0}
    b_after = next(v for v in r.parts if v.school_id == "B")
    assert b_after.before == (0.0, 0.0, 0.0) and b_after.after == (1.0, 1.0, 0.0)
    check(p, r)


def test_floors_are_the_settings_not_the_models():
    """The same instance with a backbone floor of 0: A1 (qualified + backbone) still
    moves (the backbone share needs one backbone mover) but B has no backbone
    shortfall to credit, so its reason is "qualified"; level 1 is 3.2 + 0 + 0.9."""
    base = hand_instance()
    floors = {"primary": (4.2, 0.0, 0.9), "junior": (5.3, 0.0, 0.9)}
    p = replace(base, settings=settings(floors=floors))
    r = solve(p)
    assert [(m.teacher_id, m.to_school, m.reason) for m in r.moves] == [
        ("A1", "B", "floor_1")]
    assert r.objective["shortfall"] == pytest.approx(4.1)
    check(p, r)


def test_rule_numbers_are_required():
    """The model has no number of the standard: floors and shares must be given."""
    with pytest.raises(TypeError):
        RotationSettings(backbone_base="rotated", band=0.1, max_send_share=0.3,
                         direction_rule=False)
    with pytest.raises(ValueError, match="floors for stage 'primary'"):
        solve(replace(hand_instance(), settings=settings(floors={})))


def test_pe_teacher_goes_where_pe_is_short():
    """Add a second PE teacher A11 at A (11 teachers, E = 11), band 0.5 (B's band
    [floor(2), ceil(6)] = [2, 6]: B gains at most 2) and share 0.15 → R = 2.
    B's shortfall 6.1 falls by 2 with A1 (qualified + backbone), by 1.9 with a
    qualified PE teacher (1 qualified + 0.9 PE; A9 and A11 are interchangeable, the
    id rule picks "A11"; the last 体育 and the only 音乐 teacher must stay), and by 1
    with any other qualified teacher.  Best pair: 6.1 − 2 − 1.9 = 2.2.
    PE/art is credited first: A11's reason is pe_art."""
    base = hand_instance()
    p = replace(base, teachers=base.teachers + (T("A11", "A", "体育", q=True),),
                settings=settings(share=0.15, band=0.5))
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert r.objective["shortfall"] == pytest.approx(2.2)
    assert [(m.teacher_id, m.reason) for m in r.moves] == [("A1", "floor_2"),
                                                           ("A11", "floor_3")]
    check(p, r)


def test_member_choice_is_longest_serving_then_id():
    """Three interchangeable 语文 teachers at A; the one with most years leaves."""
    ts = [T("A1", "A", years=7), T("A2", "A", years=9), T("A3", "A", years=9),
          T("A4", "A", "数学", elig=False), T("B1", "B", elig=False)]
    p = P(ts, (S("A"), S("B")), settings(backbone_share=0))
    r = solve(p)
    assert [m.teacher_id for m in r.moves] == ["A2"]


TRAVEL = {("A", "B"): 7.5, ("A", "C"): 41.0, ("B", "A"): 7.5, ("B", "C"): 35.0,
          ("C", "A"): 41.0, ("C", "B"): 35.0}


def test_travel_picks_nearest_receiver():
    """Same shortfall at B and C; B is nearer to A (7.5 against 41 minutes), so level 3
    picks B and the travel level is that move's cost."""
    ts = [T(f"A{i}", "A", s, q=True) for i, s in enumerate(["语文", "语文", "数学", "数学"])]
    ts += [T("B1", "B", elig=False), T("C1", "C", elig=False)]
    p = P(ts, (S("A"), S("B"), S("C")), settings(backbone_share=0, band=1.0), TRAVEL)
    r = solve(p)
    assert [m.to_school for m in r.moves] == ["B"]
    assert r.moves[0].cost == 7.5 and r.objective["travel"] == 7.5
    check(p, r)
    # the same problem with C nearer: C
    far_b = {**TRAVEL, ("A", "B"): 50.0}
    r = solve(replace(p, travel=far_b))
    assert [m.to_school for m in r.moves] == ["C"] and r.objective["travel"] == 41.0


def test_no_travel_costs_every_move_zero():
    """Without travel costs level 3 has nothing to minimise: every move costs 0 and the
    tie between B and C is broken by the decoding order (destination id)."""
    ts = [T(f"A{i}", "A", s, q=True) for i, s in enumerate(["语文", "语文", "数学", "数学"])]
    ts += [T("B1", "B", elig=False), T("C1", "C", elig=False)]
    p = P(ts, (S("A"), S("B"), S("C")), settings(backbone_share=0, band=1.0))
    r = solve(p)
    assert len(r.moves) == 1 and r.moves[0].cost == 0.0 and r.objective["travel"] == 0.0
    check(p, r)


def test_missing_or_infinite_travel_cost_is_a_bug():
    """A travel table must cover every pair a move may join, with finite costs: the
    adapter guarantees it, so a gap is a ValueError (an internal error), not a plan."""
    ts = [T(f"A{i}", "A", s, q=True) for i, s in enumerate(["语文", "语文", "数学", "数学"])]
    ts += [T("B1", "B", elig=False), T("C1", "C", elig=False)]
    p = P(ts, (S("A"), S("B"), S("C")), settings(backbone_share=0, band=1.0),
          {k: v for k, v in TRAVEL.items() if k != ("A", "C")})
    with pytest.raises(ValueError, match="travel cost from A to C is missing"):
        solve(p)
    with pytest.raises(ValueError, match="not a finite cost"):
        solve(replace(p, travel={**TRAVEL, ("A", "C"): float("inf")}))


# ------------------------------------------------------------------ brute force
def random_instance(seed: int) -> RotationProblem:
    rng = random.Random(seed)
    schools = tuple(S(f"S{i}", pupils=rng.randint(40, 160), area=rng.choice(
        ["urban", "town", "rural"]), quota=rng.choice([None, 6, 9])) for i in range(3))
    teachers, n_elig = [], 0
    for s in schools:
        for j in range(rng.randint(3, 6)):
            elig = n_elig < 8 and rng.random() < 0.6
            n_elig += elig
            subj = rng.choice(["语文", "数学", "体育", "音乐"])
            teachers.append(T(f"{s.id}t{j}", s.id, subj, q=rng.random() < 0.5,
                              b=rng.random() < 0.35, elig=elig))
    return P(teachers, schools, settings(share=rng.choice([0.1, 0.3]), band=0.3,
                                         max_send_share=0.5))


def brute_force(problem: RotationProblem) -> tuple[float, float] | None:
    """Best (level 1, level 2) over every feasible move set, lexicographically."""
    schools = [s.id for s in problem.schools]
    elig = [t for t in problem.teachers if t.eligible]
    best = None
    for choice in itertools.product([None] + schools, repeat=len(elig)):
        moves = [Move(t.id, t.school_id, to, t.stage, t.subject, "quota", "", 0.0)
                 for t, to in zip(elig, choice) if to is not None and to != t.school_id]
        if len(moves) != sum(1 for t, to in zip(elig, choice) if to is not None):
            continue  # "moving" to one's own school is the same as staying
        if verify_rotation(problem, moves):
            continue
        lv = plan_levels(problem, moves)
        key = (round(lv["shortfall"], 9), round(lv["spread"], 9))
        if best is None or key < best:
            best = key
    return best


def solved_as_brute_force(p):
    """The solve of ``p``, asserted infeasible when the brute force finds no plan (then
    ``None``), else optimal at the brute force's shortfall and spread."""
    best = brute_force(p)
    r = solve(p)
    if best is None:
        assert r.status is Status.INFEASIBLE
        return None
    assert r.status is Status.OPTIMAL
    assert r.objective["shortfall"] == pytest.approx(best[0], abs=1e-6)
    assert r.objective["spread"] == pytest.approx(best[1], abs=1e-6)
    return r


@pytest.mark.parametrize("seed", range(6))
def test_brute_force_levels_1_and_2(seed):
    p = random_instance(seed)
    r = solved_as_brute_force(p)
    if r is not None:
        check(p, r)


# ------------------------------------------------------------------ infeasible
def test_backbone_shortage_message_and_closest_plan():
    """E = 50 → R = 5 movers → 20 % needs 1 backbone; no eligible backbone exists.
    Closest plan: 5 movers, backbone short by 1."""
    ts = []
    for h in ("S01", "S02", "S03"):
        ts += [T(f"{h}-{i}", h, ["语文", "数学", "英语"][i % 3], elig=True) for i in range(17)]
    ts += [T("S01-bb", "S01", "语文", b=True, elig=False)]
    ts = ts[:50] + [t for t in ts[50:] if not t.eligible]
    p = P(ts, (S("S01"), S("S02"), S("S03")))
    msgs = precheck(p)
    assert msgs == [Diagnostic("backbone_unreachable", {
        "backbone_share": 0.20, "base": "rotated", "movers": 5, "needed": 1,
        "available": 0, "at": ()})]
    r = solve(p)
    assert r.status is Status.INFEASIBLE and r.closest
    assert [(s.rule, s.required, s.achieved, s.short) for s in r.shortfalls] == [
        ("backbone", 1, 0, 1)]
    assert r.counts["rotated"] == 5
    assert r.messages == tuple(msgs)
    assert verify_rotation(p, r.moves) == ["(2) 0 backbone movers < 1/5 of 5"]


def test_backbone_message_lists_schools():
    """E = 450 → R = 45 → 9 backbone needed; 6 eligible: 3 at S01, 2 at S07, 1 at S12."""
    ts = []
    ids = [f"S{i:02d}" for i in range(1, 16)]
    for h in ids:
        for i in range(30):
            ts.append(T(f"{h}-{i}", h, ["语文", "数学", "英语", "科学"][i % 4]))
    bb = {"S01": 3, "S07": 2, "S12": 1}
    ts = [replace(t, backbone=int(t.id.split("-")[1]) < bb.get(t.school_id, 0))
          for t in ts]
    p = P(ts, [S(h) for h in ids])
    assert precheck(p) == [Diagnostic("backbone_unreachable", {
        "backbone_share": 0.20, "base": "rotated", "movers": 45, "needed": 9,
        "available": 6, "at": (("S01", 3), ("S07", 2), ("S12", 1))})]


def test_mover_shortage_from_subject_rule():
    """Each school has one teacher per subject: none may leave (one kept per subject)."""
    ts = [T(f"{h}{s}", h, s) for h in "AB" for s in ["语文", "数学", "英语"]]
    p = P(ts, (S("A"), S("B")), settings(backbone_share=0))
    assert precheck(p) == [Diagnostic("movers_unreachable", {
        "share": 0.10, "eligible": 6, "required": 1, "most": 0, "max_send_share": 0.30,
        "at": ()})]
    r = solve(p)
    assert r.status is Status.INFEASIBLE and r.moves == () and r.closest
    assert [(s.rule, s.short) for s in r.shortfalls] == [("movers", 1)]


def test_single_school_stage_message():
    ts = [T(f"J{i}", "A", "数学", stage="junior") for i in range(5)]
    ts += [T("P1", "A", elig=False), T("P2", "B", elig=False)]
    schools = (S("A", stages=("primary", "junior")), S("B"))
    msgs = precheck(P(ts, schools))
    assert msgs[0] == Diagnostic("single_school_stage",
                                 {"stage": "junior", "school": "A", "teachers": 5})


def test_solver_proves_band_infeasible():
    """A may send (precheck passes) but B is at its quota and sends nothing, so no
    move fits the band: the solver proves it and the closest plan is empty."""
    ts = [T(f"A{i}", "A", ["语文", "数学"][i % 2]) for i in range(10)]
    ts += [T("B1", "B", elig=False), T("B2", "B", "数学", elig=False)]
    p = P(ts, (S("A"), S("B", quota=2)), settings(backbone_share=0))
    assert precheck(p) == []
    r = solve(p)
    assert r.status is Status.INFEASIBLE and r.closest
    assert r.messages == (Diagnostic("solver_infeasible", {}),)
    assert [(s.rule, s.short) for s in r.shortfalls] == [("movers", 1)]


# ------------------------------------------------------------------ settings
def test_backbone_base_eligible_reading():
    """share 0.1 of E = 20 → R = 2; base "eligible": ceil(0.2·2) = 1 backbone, even
    when more teachers move (here band and floors make 4 moves attractive)."""
    a = [T(f"A{i}", "A", ["语文", "数学"][i % 2], q=True, b=i == 0) for i in range(20)]
    b = [T("B1", "B", elig=False), T("B2", "B", "数学", elig=False)] * 1
    b = [replace(t, id=f"B{i}") for i, t in enumerate(b * 5)]
    p = P(a + b, (S("A", 100, "urban"), S("B", 300, "rural")),
          settings(backbone_base="eligible", band=0.5, max_send_share=0.5))
    r = solve(p)
    assert r.counts["backbone_required"] == 1
    assert r.counts["rotated"] > 2 and r.counts["backbone_rotated"] >= 1
    check(p, r)


def test_direction_rule_town_to_village():
    """Direction on: A (town) and B (rural) are both in need, so every move is toward
    need; E = 20 → R = 2; band 0.3 lets B gain 3 and A keep 7.  A's teachers are
    qualified and B has none: the shortfall level sends A's teachers to B, never the
    other way.  A move into a strong part (urban, above every floor and the county
    values) is a breach the verifier names."""
    ts = [T(f"A{i}", "A", ["语文", "数学"][i % 2], q=True) for i in range(10)]
    ts += [T(f"B{i}", "B", ["语文", "数学"][i % 2]) for i in range(10)]
    schools = (S("A", area="town"), S("B", area="rural"))
    p = P(ts, schools, settings(backbone_share=0, direction_rule=True, band=0.3))
    r = solve(p)
    assert r.status is Status.OPTIMAL
    assert r.moves and all(m.from_school == "A" and m.direction == "town->rural"
                           for m in r.moves)
    strong = (S("A", area="urban", pupils=50), S("B", area="rural"))
    bad = [Move("B0", "B", "A", "primary", "语文", "quota", "", 0.0),
           Move("B1", "B", "A", "primary", "数学", "quota", "", 0.0)]
    assert "(9) 2 moves serve no need" in verify_rotation(P(ts, strong, p.settings), bad)


# ------------------------------------------------------------------ verifier
def test_verifier_catches_each_rule():
    p = hand_instance()
    def m(t, a, b):
        return Move(t, a, b, "primary", "", "quota", "", 0.0)
    v = verify_rotation(p, [m("B1", "B", "A")])
    assert "B1: not eligible to rotate" in v
    assert any(s.startswith("(2)") for s in v)
    v = verify_rotation(p, [m("A1", "A", "B"), m("A1", "A", "B")])
    assert "A1: moves more than once" in v
    v = verify_rotation(p, [m("A1", "A", "A")])
    assert "A1: moves to their own school" in v
    v = verify_rotation(p, [m("A1", "A", "B"), m("A2", "A", "B")])
    assert "(6) B: head count 6 outside [3, 5]" in v
    assert verify_rotation(p, [m("A1", "A", "B")]) == []
    assert "A1: from B but teaches at A" in verify_rotation(p, [m("A1", "B", "B")])
    v = verify_rotation(p, [m("A9", "A", "B")])
    assert "(5) A primary keeps none of its own 体育 teachers" in v


def test_quota_above_today_may_not_gain():
    """B is above its quota (4 > 3): it may not gain, so nothing can move."""
    p = replace(hand_instance(), schools=(S("A", area="urban"), S("B", area="rural",
                                                                    quota=3)))
    r = solve(p)
    assert r.status is Status.INFEASIBLE and r.moves == ()


# ------------------------------------------------------------------ determinism
def test_same_input_same_plan():
    p = random_instance(3)
    r1, r2 = solve(p), solve(p)
    assert r1.moves == r2.moves and r1.objective == r2.objective
    shuffled = replace(p, teachers=tuple(reversed(p.teachers)),
                       schools=tuple(reversed(p.schools)))
    assert solve(shuffled).moves == r1.moves


@pytest.mark.skipif("cbc" not in available_solvers(), reason="CBC not installed")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cbc_and_highs_agree():
    for p in (hand_instance(), random_instance(1), random_instance(4)):
        h, c = solve(p, "highs"), solve(p, "cbc")
        assert h.status == c.status
        for key in ("shortfall", "spread", "travel"):
            assert h.objective[key] == pytest.approx(c.objective[key], abs=1e-6)
