"""Issue 14 in the model (models.rotation): the purpose level (toward need, paired
exchanges, no move between urban schools that are not weak, backbone toward need),
the direction rule as a hard rule, teachers' wishes as a tie-breaking level, and the
readable reason codes; each case computed by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from models.rotation import (
    Move,
    RotationProblem,
    RotationSettings,
    School,
    Teacher,
    classify,
    plan_levels,
    solve,
    verify_rotation,
)
from models.status import Status

FLOORS = {"primary": (4.2, 1.0, 0.9), "junior": (5.3, 1.0, 0.9)}


def settings(**kw) -> RotationSettings:
    base = {"share": 0.10, "backbone_share": 0.20, "floors": FLOORS,
            "backbone_base": "rotated", "band": 0.10, "max_send_share": 0.30,
            "direction_rule": False, "urban_moves": False, "exchange_partners": 2}
    return RotationSettings(**{**base, **kw})


def T(id, school, subject="语文", q=False, b=False, elig=True, years=8, wishes=()):
    return Teacher(id, school, "primary", subject, q, b, subject in ("体育", "音乐", "美术"),
                   elig, years_at_school=years, preferences=tuple(wishes))


def S(id, pupils=100, area="town", quota=None):
    return School(id, frozenset({"primary"}), {"primary": pupils}, area, quota)


def check(problem, result):
    assert verify_rotation(problem, result.moves) == []
    again = plan_levels(problem, result.moves)
    for key in ("purpose", "shortfall", "spread", "wishes", "travel"):
        assert result.objective[key] == pytest.approx(again[key], abs=1e-9)


# ---------------------------------------------------------------------------
# a quota that only exchanges can meet
# ---------------------------------------------------------------------------

def exchange_case(**kw) -> RotationProblem:
    """U (urban, 100 pupils) has 10 qualified teachers, U0/U1 backbone, U9 体育:
    10 / 2 / 1 per 100 pupils. R (rural, 100 pupils) has 10 teachers, R0–R4 qualified,
    no backbone, R9 体育: 5 / 0 / 1. The county values are the means, 7.5 / 1 / 1, so R
    lacks 1 (5 < 7.5) and 2 (0 < the floor 1); U lacks nothing and is urban: strong.

    Both schools are at their quota (10), so neither may gain a teacher: the plan can
    only swap, and each sends at most max(1, floor(0.1 · 10)) = 1. E = 20 → R = 2
    movers, a fifth backbone → one backbone mover (only U has backbone teachers). A U teacher going to R goes toward need (a village
    school); an R teacher going to U (strong) serves no need unless it is the
    learning leg of an exchange with U. So the only plan that serves a need is one
    exchange: U's backbone teacher to R (credited to R's backbone floor), an R teacher
    to U (对口交流（跟岗学习）)."""
    u = [T(f"U{i}", "U", ["语文", "数学"][i % 2] if i < 9 else "体育", q=True, b=i < 2)
         for i in range(10)]
    r = [T(f"R{i}", "R", ["语文", "数学"][i % 2] if i < 9 else "体育", q=i < 5)
         for i in range(10)]
    schools = (S("U", area="urban", quota=10), S("R", area="rural", quota=10))
    return RotationProblem(tuple(u + r), schools, settings(max_send_share=0.1, **kw))


def test_classes_of_the_exchange_case():
    c = classify(exchange_case())
    assert c[("U", "primary")] == (frozenset(), False, True)
    assert c[("R", "primary")] == (frozenset({1, 2}), True, False)


def test_quota_met_only_by_an_exchange():
    p = exchange_case()
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.objective["purpose"] == 0
    assert r.counts["rotated"] == 2 and r.counts["exchanges"] == 1
    assert r.counts["not_toward_need"] == 0 and r.counts["backbone_not_toward_need"] == 0
    by = {m.from_school: m for m in r.moves}
    out, back = by["R"], by["U"]
    assert (out.kind, out.to_school, out.reason) == ("exchange_out", "U", "exchange_out")
    assert (back.kind, back.to_school, back.reason) == ("exchange_back", "R", "floor_2")
    assert back.teacher_id in ("U0", "U1") and out.pair == back.teacher_id
    assert back.pair == out.teacher_id
    check(p, r)


def test_without_exchanges_the_move_back_serves_no_need():
    """exchange_partners = 0: the same swap is the only plan, but the R teacher's move
    to the strong school U now serves no need (purpose 1) and its reason is the
    rotation share; with the direction rule no plan exists."""
    p = exchange_case(exchange_partners=0)
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.objective["purpose"] == 1
    assert r.counts["not_toward_need"] == 1 and r.counts["exchanges"] == 0
    assert {m.from_school: m.reason for m in r.moves} == {"U": "floor_2", "R": "quota"}
    check(p, r)
    hard = solve(exchange_case(exchange_partners=0, direction_rule=True))
    assert hard.status is Status.INFEASIBLE and hard.closest
    assert [d.code for d in hard.messages] == ["solver_infeasible", "direction_unreachable"]
    f = hard.messages[1].figures
    assert (f["required"], f["reached"]) == (2, 0)
    # both schools are at their quota: the school in need has no room
    assert f["full"] == (("R", 0),)
    # with exchanges the direction rule finds the exchange
    ok = solve(exchange_case(direction_rule=True))
    assert ok.status is Status.OPTIMAL and ok.counts["exchanges"] == 1


# ---------------------------------------------------------------------------
# urban schools: no move between two that are not weak; backbone toward need
# ---------------------------------------------------------------------------

def three_urban(**kw) -> RotationProblem:
    """A, B, C urban, 100 pupils each. A and B are alike and strong (10 qualified,
    2 backbone, 2 体育); C has 10 qualified teachers, no backbone, 2 体育, so it lacks 2
    (below the floor 1). Only A and B have eligible teachers; band 0.3 and send limit
    0.3. E = 20 → R = 2, one backbone. A backbone teacher of A or B going to C brings
    what C lacks (toward need); any other move into C brings nothing it lacks, and a
    move between A and B joins two urban schools that are not weak."""
    def school(h, bb, elig):
        return [T(f"{h}{i}", h, ["语文", "数学"][i % 2] if i < 8 else "体育", q=True,
                  b=i < bb, elig=elig) for i in range(10)]
    teachers = school("A", 2, True) + school("B", 2, True) + school("C", 0, False)
    schools = (S("A", area="urban"), S("B", area="urban"), S("C", area="urban"))
    return RotationProblem(tuple(teachers), schools, settings(band=0.3, **kw))


def test_no_move_between_strong_urban_schools():
    """The plan sends C two backbone teachers (purpose 0); C's backbone floor needs one
    per 100 pupils, the second lifts it toward the county value."""
    p = three_urban()
    r = solve(p)
    assert r.status is Status.OPTIMAL and r.objective["purpose"] == 0
    assert {m.to_school for m in r.moves} == {"C"}
    assert all(m.teacher_id[1] in "01" for m in r.moves)        # backbone teachers
    assert sorted(m.reason for m in r.moves) == ["county_2", "floor_2"]
    check(p, r)
    # a move A -> B serves no need: the direction rule's verifier names it
    bad = [Move("A2", "A", "B", "primary", "数学", "quota", "", 0.0),
           Move("A0", "A", "C", "primary", "语文", "floor_2", "", 0.0)]
    assert "(9) 1 moves serve no need" in verify_rotation(
        replace(p, settings=settings(band=0.3, direction_rule=True)), bad)
    assert plan_levels(p, bad)["purpose"] == 1


def test_urban_moves_allowed_when_asked():
    """urban_moves: a move between A and B now counts as toward need; the plan is the
    same (C still needs backbone teachers) but the two-school move is no longer
    counted against the purpose."""
    p = three_urban(urban_moves=True)
    bad = [Move("A2", "A", "B", "primary", "数学", "quota", "", 0.0)]
    assert plan_levels(p, bad)["purpose"] == 0
    assert plan_levels(three_urban(), bad)["purpose"] == 1


def test_backbone_from_a_village_school_is_not_toward_need():
    """A village backbone teacher moving to a weak urban school that lacks backbone
    teachers goes the wrong way (village → town): it counts twice in the purpose
    (a move serving no need, a backbone mover not toward need)."""
    teachers = [T(f"V{i}", "V", ["语文", "数学"][i % 2], q=True, b=i < 2) for i in range(10)]
    teachers += [T(f"C{i}", "C", ["语文", "数学"][i % 2], q=True, elig=False)
                 for i in range(10)]
    p = RotationProblem(tuple(teachers), (S("V", area="rural"), S("C", area="urban")),
                        settings())
    wrong = [Move("V0", "V", "C", "primary", "语文", "quota", "", 0.0)]
    assert plan_levels(p, wrong)["purpose"] == 2


# ---------------------------------------------------------------------------
# wishes
# ---------------------------------------------------------------------------

def wish_case(wishes=()) -> RotationProblem:
    """A (town) has four 语文 teachers, all qualified with 8 years and eligible, and two
    数学 teachers who are not; B and C (village) are alike (100 pupils, four
    unqualified teachers each, none eligible) and equally far (no travel costs).
    E = 4 → R = 1, no backbone needed
    (backbone_share 0). Any one qualified 语文 teacher to B or to C is optimal at every
    level: without wishes the decoder picks A1 (id order) and B (id order)."""
    a = [T(f"A{i}", "A", "语文", q=True, wishes=wishes if i == 3 else ()) for i in range(1, 5)]
    a += [T("A5", "A", "数学", q=True, elig=False), T("A6", "A", "数学", q=True, elig=False)]
    b = [T(f"{h}{i}", h, ["语文", "数学"][i % 2], elig=False) for h in "BC" for i in range(4)]
    schools = (S("A"), S("B", area="rural"), S("C", area="rural"))
    return RotationProblem(tuple(a + b), schools, settings(backbone_share=0, band=0.3))


def test_a_wish_decides_between_equal_plans():
    plain = solve(wish_case())
    assert [(m.teacher_id, m.to_school, m.wish) for m in plain.moves] == [("A1", "B", 0)]
    p = wish_case(wishes=("C",))
    r = solve(p)
    assert [(m.teacher_id, m.to_school, m.wish) for m in r.moves] == [("A3", "C", 1)]
    assert r.counts["wish_teachers"] == 1 and r.counts["wishes_granted"] == 1
    for key in ("purpose", "shortfall", "spread"):
        assert r.objective[key] == pytest.approx(plain.objective[key], abs=1e-9)
    check(p, r)


def full_b(wishes) -> RotationProblem:
    """The wish case with B at its quota (4 teachers, it may not gain): C is the only
    place a teacher can go."""
    base = wish_case(wishes=wishes)
    return replace(base, schools=(S("A"), S("B", area="rural", quota=4),
                                  S("C", area="rural")))


def test_a_wish_never_outweighs_a_limit():
    """A3 wishes for B only: B cannot take anyone, so the wish is not granted (the
    summary says 0 of 1) and A1 goes to C as without wishes."""
    p = full_b(("B",))
    r = solve(p)
    assert [(m.teacher_id, m.to_school, m.wish) for m in r.moves] == [("A1", "C", 0)]
    assert r.counts["wish_teachers"] == 1 and r.counts["wishes_granted"] == 0
    check(p, r)


def test_a_second_choice_is_granted_when_the_first_cannot_be():
    p = full_b(("B", "C"))
    r = solve(p)
    assert [(m.teacher_id, m.to_school, m.wish) for m in r.moves] == [("A3", "C", 2)]
    assert r.counts["wishes_granted"] == 1
    check(p, r)


def test_direction_rule_explains_school_and_subject_in_chinese():
    """The exchange case with R's ten teachers each of their own subject: under the
    direction rule R can send no one (rule (5) keeps the only teacher of each subject)
    and, at its quota, can receive no one without sending; so no plan exists. The
    explanation names the schools with no room and, school by school, the subjects
    whose only teacher must stay, in Chinese by default."""
    from planner.outputs.rotation import diagnostic_text
    subjects = ["语文", "数学", "英语", "科学", "音乐", "美术", "体育", "道德与法治",
                "信息技术", "劳动"]
    u = [T(f"U{i}", "U", ["语文", "数学"][i % 2] if i < 9 else "体育", q=True, b=i < 2)
         for i in range(10)]
    r = [T(f"R{i}", "R", subjects[i], q=i < 5) for i in range(10)]
    schools = (S("U", area="urban", quota=10), S("R", area="rural", quota=10))
    p = RotationProblem(tuple(u + r), schools,
                        settings(max_send_share=0.1, direction_rule=True))
    res = solve(p)
    assert res.status is Status.INFEASIBLE
    d = next(m for m in res.messages if m.code == "direction_unreachable")
    # every subject of R has one teacher; U's only 体育 teacher too
    assert sorted(d.figures["kept"]) == sorted(
        [("R", "primary", s) for s in subjects] + [("U", "primary", "体育")])
    assert ("R", 0) in d.figures["full"]
    names = {"U": "城区小学", "R": "南山小学"}
    zh = diagnostic_text(d.code, d.figures, "zh", names)
    assert "南山小学（R）小学体育" in zh and "已无编制" in zh
    en = diagnostic_text(d.code, d.figures, "en", names)
    assert "南山小学" in en and "Under the direction rule" in en and "已" not in en
