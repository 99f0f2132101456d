"""Tests of the contiguous catchment model (models.catchment).

Instances are small enough for hand arithmetic or brute-force enumeration; the
brute force and the contiguity checks use networkx directly, not the model.
"""

from __future__ import annotations

import itertools
import math
import random

import networkx as nx
import pytest

from models.catchment import (
    MODES,
    CatchmentProblem,
    _prepare,
    solve_catchments,
    verify_catchments,
    zones_contiguous,
)
from models.status import Status

# ------------------------------------------------------------------ helpers


def solve(p: CatchmentProblem, mode: str = "cheap", **kw):
    """The model with HiGHS and no time limit (every setting explicit)."""
    return solve_catchments(p, mode, "highs", None, **kw)


def path(n: int) -> tuple[list[str], list[tuple[str, str]]]:
    units = [chr(ord("A") + i) for i in range(n)]
    return units, [(units[i], units[i + 1]) for i in range(n - 1)]


def grid(rows: int, cols: int) -> tuple[list[tuple[int, int]], list]:
    units = [(r, c) for r in range(rows) for c in range(cols)]
    adj = [((r, c), (r, c + 1)) for r in range(rows) for c in range(cols - 1)]
    adj += [((r, c), (r + 1, c)) for r in range(rows - 1) for c in range(cols)]
    return units, adj


def plan_cost(p: CatchmentProblem, plan: dict) -> float:
    six = {s: j for j, s in enumerate(p.school_ids)}
    cost = p.cost_array()
    total = 0.0
    for i, u in enumerate(p.unit_ids):
        s = plan[u]
        total += p.children[i] * cost[i, six[s]]
        cur = (p.current or {}).get(u)
        if cur is not None and cur != s:
            total += p.children[i] * p.stability_penalty
    return total


def brute_force(p: CatchmentProblem, contiguous: bool = True) -> float:
    """Exact optimum by enumeration, checked with the independent verifier
    (``contiguous=False``: capacity and reachability only)."""
    homes = dict(zip(p.home_units, p.school_ids))
    free = [u for u in p.unit_ids if u not in homes]
    best = math.inf
    for combo in itertools.product(p.school_ids, repeat=len(free)):
        plan = {**homes, **dict(zip(free, combo))}
        msgs = verify_catchments(p, plan)
        if not contiguous:
            msgs = [m for m in msgs if "contiguous" not in m]
        if not msgs:
            best = min(best, plan_cost(p, plan))
    return best


def satisfies_cheap_rule(p: CatchmentProblem, plan: dict) -> bool:
    """Every non-home member has a neighbour in its zone with a smaller key
    (not home, cost, unit index) for its school."""
    g = nx.Graph(list(p.adjacency))
    idx = {u: i for i, u in enumerate(p.unit_ids)}
    six = {s: j for j, s in enumerate(p.school_ids)}
    cost = p.cost_array()

    def key(v, s):
        return (v != p.home_units[six[s]], cost[idx[v], six[s]], idx[v])

    return all(u == p.home_units[six[s]]
               or any(plan[v] == s and key(v, s) < key(u, s) for v in g.neighbors(u))
               for u, s in plan.items())


def zones_connected_nx(p: CatchmentProblem, plan: dict) -> bool:
    g = nx.Graph(list(p.adjacency))
    g.add_nodes_from(p.unit_ids)
    for s, h in zip(p.school_ids, p.home_units):
        zone = [u for u in p.unit_ids if plan[u] == s]
        if h not in zone or not nx.is_connected(g.subgraph(zone)):
            return False
    return True


def random_grid(seed: int, rows: int = 3, cols: int = 3, n_schools: int = 2,
                slack: float = 1.3) -> CatchmentProblem:
    rng = random.Random(seed)
    units, adj = grid(rows, cols)
    pts = {u: (u[1] + rng.uniform(-0.3, 0.3), u[0] + rng.uniform(-0.3, 0.3)) for u in units}
    homes = sorted(rng.sample(units, n_schools))
    kids = [rng.randint(1, 9) for _ in units]
    cost = [[round(1.3 * math.dist(pts[u], pts[h]), 3) for h in homes] for u in units]
    per = math.ceil(slack * sum(kids) / n_schools)
    return CatchmentProblem(units, kids, [f"S{j}" for j in range(n_schools)],
                            [per] * n_schools, homes, cost, adj)


# --------------------------------------------------------- hand-known optima


def test_path_two_schools_capacity_shifts_boundary():
    # 1x6 path A..F, 10 children each, school s at A, t at F, cost = hops.
    # seats 40/20: s takes A-D (0+1+2+3)*10 = 60, t takes E,F (1+0)*10 = 10 -> 70.
    units, adj = path(6)
    cost = [[i, 5 - i] for i in range(6)]
    p = CatchmentProblem(units, [10] * 6, ["s", "t"], [40, 20], ["A", "F"], cost, adj)
    for mode in MODES:
        r = solve(p, mode=mode)
        assert r.status is Status.OPTIMAL and r.gap == 0.0
        assert r.objective == pytest.approx(70)
        assert r.assignment == {"A": "s", "B": "s", "C": "s", "D": "s", "E": "t", "F": "t"}
        assert r.loads["s"].children == 40 and r.loads["s"].ratio == pytest.approx(1.0)
        assert r.loads["t"].children == 20
    # seats 30/30: the boundary is in the middle, (0+1+2)*10*2 = 60.
    p.seats = [30, 30]
    r = solve(p)
    assert r.objective == pytest.approx(60)
    assert [r.assignment[u] for u in units] == ["s"] * 3 + ["t"] * 3
    assert r.contiguous and r.violations == [] and r.zoned_share == 1.0
    assert r.status is Status.OPTIMAL and r.status.has_plan and not r.closest


def test_grid_3x3_corners():
    # 3x3 grid, schools at corners (0,0) and (2,2), manhattan cost, 1 child each,
    # 5 seats each. Each school takes its corner (0) and two neighbours (1+1);
    # the anti-diagonal units are 2 from both: 2*(0+1+1) + 3*2 = 10.
    units, adj = grid(3, 3)
    cost = [[r + c, 4 - r - c] for (r, c) in units]
    p = CatchmentProblem(units, [1] * 9, ["a", "b"], [5, 5], [(0, 0), (2, 2)], cost, adj)
    for mode in ("cheap", "flow"):
        r = solve(p, mode=mode)
        assert r.objective == pytest.approx(10)
        assert zones_connected_nx(p, r.assignment)
        assert all(ld.children <= 5 for ld in r.loads.values())


# ------------------------------------------------------------ contiguity


def test_unconstrained_optimum_not_contiguous():
    # Path A-B-C-D-E, s at A (11 seats), t at E (12 seats); children 1,1,10,1,1.
    # cost to (s, t): B (1, 3), C (2, 2.5), D (3, 1).
    # Ignoring contiguity: C->s fills s (1+10 = 11), so B must go to t across C:
    #   B 3 + C 10*2 + D 1 = 24 (zone t = {B, D, E} is cut by C).
    # Contiguous: C->s forces B->s: 1+1+10 = 12 > 11, impossible; so C->t:
    #   B 1 + C 10*2.5 + D 1 = 27.
    units, adj = path(5)
    cost = [[0, 4], [1, 3], [2, 2.5], [3, 1], [4, 0]]
    p = CatchmentProblem(units, [1, 1, 10, 1, 1], ["s", "t"], [11, 12], ["A", "E"],
                         cost, adj)
    assert brute_force(p, contiguous=False) == pytest.approx(24)
    assert brute_force(p, contiguous=True) == pytest.approx(27)
    free = solve(p, mode="none")
    assert free.objective == pytest.approx(24)
    assert free.assignment == {"A": "s", "B": "t", "C": "s", "D": "t", "E": "t"}
    assert not zones_connected_nx(p, free.assignment) and not free.contiguous
    assert any("not contiguous" in m for m in verify_catchments(p, free.assignment))
    for mode in ("cheap", "flow"):
        r = solve(p, mode=mode)
        assert r.status is Status.OPTIMAL
        assert r.objective == pytest.approx(27)
        assert r.assignment == {"A": "s", "B": "s", "C": "t", "D": "t", "E": "t"}
        assert r.contiguous and zones_connected_nx(p, r.assignment)


def test_cheap_rule_binds_flow_is_exact():
    # Path A-B-C-D, s at A, t at D, 1 child each, ample seats.
    # cost to (s, t): B (5, 6), C (3, 4)  (C has a direct road to s, B does not).
    # Cheap: C may join s only via a closer neighbour of s; B (5) is farther, so
    # C -> t (4); B may join t only via C, and C (4) is closer than B (6), but B
    # -> s (5) is cheaper anyway: 5 + 4 = 9.  Flow: B, C -> s: 5 + 3 = 8.
    units, adj = path(4)
    cost = [[0, 9], [5, 6], [3, 4], [9, 0]]
    p = CatchmentProblem(units, [1] * 4, ["s", "t"], [10, 10], ["A", "D"], cost, adj)
    cheap, flow = solve(p, "cheap"), solve(p, "flow")
    assert cheap.objective == pytest.approx(9)
    assert flow.objective == pytest.approx(8) == brute_force(p)
    assert cheap.contiguous and flow.contiguous
    assert not satisfies_cheap_rule(p, flow.assignment)


def test_sweep_order_frees_diagonal_local_minimum():
    # 2x2 rook grid, one school at (0,0). Unit (1,1) is diagonal to it with a
    # direct road of 1.0; its rook neighbours (0,1), (1,0) cost 1.2. By cost,
    # (1,1) has no closer neighbour: the cheap rule strands it. The sweep from
    # (0,0) reaches (0,1) first, then (1,0), then (1,1): allowed via either.
    units, adj = grid(2, 2)
    p = CatchmentProblem(units, [1] * 4, ["s"], [4], [(0, 0)],
                         [[0], [1.2], [1.2], [1.0]], adj)
    cheap = solve(p, "cheap")
    assert cheap.status is Status.INFEASIBLE
    assert [f.unit for f in cheap.shortfalls] == [(1, 1)]
    for mode in ("sweep", "flow"):
        r = solve(p, mode)
        assert r.status is Status.OPTIMAL and r.objective == pytest.approx(3.4)
        assert r.contiguous


@pytest.mark.parametrize("seed", range(6))
def test_flow_exact_and_not_above_cheap(seed):
    p = random_grid(seed)
    best = brute_force(p)
    flow, cheap = solve(p, "flow"), solve(p, "cheap")
    sweep = solve(p, "sweep")
    assert flow.objective == pytest.approx(best)
    assert flow.objective <= min(cheap.objective, sweep.objective) + 1e-6
    for r in (flow, cheap, sweep):
        assert zones_connected_nx(p, r.assignment) and r.contiguous
        assert verify_catchments(p, r.assignment) == []
    if satisfies_cheap_rule(p, flow.assignment):
        # the cheap condition does not bind: same optimum
        assert cheap.objective == pytest.approx(flow.objective)


def test_cheap_equals_flow_on_manhattan_grid():
    # manhattan costs on a full grid: every unit has a strictly closer
    # neighbour towards each school, so the cheap rule does not bind here.
    units, adj = grid(4, 4)
    homes = [(0, 0), (3, 3), (0, 3)]
    cost = [[abs(r - hr) + abs(c - hc) for (hr, hc) in homes] for (r, c) in units]
    kids = [(3 * r + 5 * c) % 7 + 1 for (r, c) in units]
    p = CatchmentProblem(units, kids, ["a", "b", "c"], [25, 25, 25], homes, cost, adj)
    cheap, flow = solve(p, "cheap"), solve(p, "flow")
    assert satisfies_cheap_rule(p, flow.assignment)
    assert cheap.objective == pytest.approx(flow.objective)
    assert cheap.contiguous and flow.contiguous


# ------------------------------------------------------------ infeasibility


def test_capacity_shortfall_explained():
    # Path A-B-C-D, one school at A with 5 seats; children 2, 2, 3, 4 (11).
    # A (2) + B (2) = 4 fits; adding C (3) makes 7 > 5, and D needs C.
    # Closest plan: {A, B}, 4/5 seats; C and D (7 children) unassigned.
    # Demand within reach 11 vs 5 seats: 6 seats missing; a new school at D
    # (largest unassigned unit) would need 7 seats for C and D.
    units, adj = path(4)
    p = CatchmentProblem(units, [2, 2, 3, 4], ["s"], [5], ["A"],
                         [[0], [1], [2], [3]], adj)
    r = solve(p)
    assert r.status is Status.INFEASIBLE
    assert r.assignment == {"A": "s", "B": "s", "C": None, "D": None}
    assert r.unassigned_children == 7 and r.zoned_share == pytest.approx(4 / 11)
    assert r.loads["s"].children == 4
    by_unit = {f.unit: f for f in r.shortfalls}
    assert sorted(by_unit) == ["C", "D"]
    c = by_unit["C"]
    assert (c.children, c.seats_within_reach, c.demand_within_reach) == (3, 5, 11)
    assert c.seats_missing == 6 and c.largest_spare == 1
    assert r.closest and not r.status.has_plan
    assert c.code == "seats_missing" and c.reachable_by_cost == 1
    assert c.suggested_site == "D" and c.group_children == 7
    assert "6 seats missing" in c.reason
    assert r.notes[0] == "11 children for 5 seats"          # caught by the pre-check
    assert any("not assigned" in m for m in r.violations)


def test_indivisible_unit_strict_model_infeasible():
    # Path A-B-C, s at A and t at C with 4 seats each; children 2, 3, 2.
    # 7 children <= 8 seats, so the pre-check passes, but B (3) fits in
    # neither school (2 + 3 = 5 > 4): the strict model is infeasible.
    units, adj = path(3)
    p = CatchmentProblem(units, [2, 3, 2], ["s", "t"], [4, 4], ["A", "C"],
                         [[0, 2], [1, 1], [2, 0]], adj)
    r = solve(p)
    assert r.status is Status.INFEASIBLE
    assert r.assignment == {"A": "s", "B": None, "C": "t"}
    (f,) = r.shortfalls
    assert f.unit == "B" and f.seats_missing == 0 and f.largest_spare == 2
    assert f.code == "seats_fragmented" and r.closest
    assert f.seats_within_reach == 8 and f.demand_within_reach == 7
    assert "at most 2 spare seats" in f.reason
    assert "strict model is infeasible" in r.notes[0]


def test_unreachable_units():
    # Path A-B-C-D, school s at A. C has no finite cost (no road); D has one
    # (0.5) but its only neighbour is C, so no zone of s can reach it.
    units, adj = path(4)
    cost = [[0], [1], [None], [0.5]]
    p = CatchmentProblem(units, [1, 1, 1, 1], ["s"], [10], ["A"], cost, adj)
    r = solve(p)
    assert r.status is Status.INFEASIBLE
    reasons = {f.unit: f.reason for f in r.shortfalls}
    assert sorted(reasons) == ["C", "D"]
    assert "every cost is infinite" in reasons["C"]
    assert "no contiguous path" in reasons["D"]
    codes = {f.unit: (f.code, f.reachable_by_cost) for f in r.shortfalls}
    assert codes == {"C": ("no_school_in_reach", 0), "D": ("no_contiguous_path", 1)}
    assert r.assignment["B"] == "s"


def test_flow_reaches_what_cheap_cannot():
    # A-B-C, s at A; C has a direct road (3) shorter than B's (5): the cheap
    # rule leaves C without a closer neighbour, the flow model takes it via B.
    units, adj = path(3)
    p = CatchmentProblem(units, [1, 1, 1], ["s"], [5], ["A"], [[0], [5], [3]], adj)
    assert solve(p, "cheap").status is Status.INFEASIBLE
    flow = solve(p, "flow")
    assert flow.status is Status.OPTIMAL and flow.objective == pytest.approx(8)


# ------------------------------------------------------------ stability, data


def test_stability_penalty_changes_answer():
    # Path A-B-C-D, s at A, t at D, cost = hops, 10 children each; today B, C
    # go to t.  Without penalty B -> s: 10*1 + 10*1 = 20, 10 pupils change.
    # Penalty 5/pupil: moving B costs 20 + 50 = 70 > keeping it in t, 10*2 +
    # 10*1 = 30.  Penalty 0.5: 20 + 5 = 25 < 30, B moves.
    units, adj = path(4)
    cost = [[0, 3], [1, 2], [2, 1], [3, 0]]
    cur = {"A": "s", "B": "t", "C": "t", "D": "t"}
    base = {"unit_ids": units, "children": [10] * 4, "school_ids": ["s", "t"], "seats": [40, 40],
                "home_units": ["A", "D"], "cost": cost, "adjacency": adj, "current": cur}
    r0 = solve(CatchmentProblem(**base))
    assert r0.assignment["B"] == "s" and r0.pupils_changed == 10
    r5 = solve(CatchmentProblem(**base, stability_penalty=5))
    assert r5.assignment == cur and r5.pupils_changed == 0
    assert r5.objective == pytest.approx(30) and r5.stability_cost == 0
    r05 = solve(CatchmentProblem(**base, stability_penalty=0.5))
    assert r05.assignment["B"] == "s" and r05.objective == pytest.approx(25)
    assert r05.stability_cost == pytest.approx(5) and r05.travel_cost == pytest.approx(20)


def test_k_nearest_keeps_current_and_home():
    units, adj = path(4)
    cost = [[0, 3, 1], [1, 2, 9], [2, 1, 9], [3, 0, 9]]
    p = CatchmentProblem(units, [1] * 4, ["s", "t", "u"], [9, 9, 9], ["A", "D", "B"],
                         cost, adj, current={"C": "s"}, k_nearest=1)
    d = _prepare(p, "none")
    assert d.cand == [[0], [2], [0, 1], [1]]   # C: nearest t plus current s


def test_deterministic_and_order_independent():
    p = random_grid(11, rows=4, cols=4, n_schools=3, slack=1.2)
    first = solve(p)
    assert solve(p).assignment == first.assignment
    p.adjacency = list(reversed(p.adjacency))
    assert solve(p).assignment == first.assignment


def test_verifier_finds_each_violation():
    units, adj = path(4)
    cost = [[0, 3], [1, None], [2, 1], [3, 0]]
    p = CatchmentProblem(units, [1, 1, 1, 1], ["s", "t"], [3, 1], ["A", "D"], cost, adj)
    assert verify_catchments(p, {"A": "s", "B": "s", "C": "s", "D": "t"}) == []
    msgs = verify_catchments(p, {"A": "s", "B": "t", "C": "s", "D": "t", "Z": "s"})
    text = "\n".join(msgs)
    assert "unknown unit 'Z'" in text
    assert "infinite cost" in text                     # B cannot reach t
    assert "2 children for 1 seats" in text            # t holds B and D
    assert "not contiguous" in text                    # C cut off from A
    msgs = verify_catchments(p, {"A": "t", "B": "s", "D": "t"})
    assert any("home unit 'A' is not in its zone" in m for m in msgs)
    assert any("'C' is not assigned" in m for m in msgs)
    assert not zones_contiguous(p, {"A": "s", "B": "t", "C": "s", "D": "t"})


def test_invalid_data_rejected():
    units, adj = path(2)
    with pytest.raises(ValueError, match="share a home unit"):
        CatchmentProblem(units, [1, 1], ["s", "t"], [2, 2], ["A", "A"],
                         [[0, 0], [1, 1]], adj).validate()
    with pytest.raises(ValueError, match="unknown unit"):
        CatchmentProblem(units, [1, 1], ["s"], [2], ["A"], [[0], [1]],
                         [("A", "Q")]).validate()
    with pytest.raises(ValueError, match="cannot serve its own unit"):
        CatchmentProblem(units, [1, 1], ["s"], [2], ["A"], [[None], [1]], adj).validate()
    with pytest.raises(ValueError, match="unknown mode"):
        solve(CatchmentProblem(units, [1, 1], ["s"], [2], ["A"], [[0], [1]],
                                          adj), mode="weird")


def test_home_unit_over_seats_is_explained():
    # Path A-B, one school at A with 3 seats; A itself has 4 children: no plan can
    # zone A (its own unit), so the pre-check sends the model to the relaxed one.
    units, adj = path(2)
    p = CatchmentProblem(units, [4, 1], ["s"], [3], ["A"], [[0], [1]], adj)
    r = solve(p, "sweep")
    assert r.status is Status.INFEASIBLE and r.closest
    assert r.notes[0] == "home unit of school 's' has more children than seats"
    codes = {f.unit: f.code for f in r.shortfalls}
    assert codes["A"] == "home_over_seats"
    assert next(f for f in r.shortfalls if f.unit == "A").seats_within_reach == 3


def test_widen_doubles_k_when_the_seats_cannot_carry_the_children():
    """Path A-B-C-D, s at A (3 seats), t at D (10). With one candidate each, B and C
    (2 children each) may only join s, nearer to both: a maximum flow carries 3 of
    the 4 children, which proves no plan, so ``widen`` doubles k to 2 and the plan
    sends C (then B, contiguously) to t. Without ``widen`` the closest plan leaves a
    unit unzoned."""
    units, adj = path(4)
    cost = [[0, 3], [1, 2], [1.5, 1.6], [3, 0]]
    p = CatchmentProblem(units, [0, 2, 2, 0], ["s", "t"], [3, 10], ["A", "D"], cost, adj,
                         k_nearest=1)
    narrow = solve_catchments(p, "exact", "highs", None)
    assert narrow.closest and narrow.k_nearest == 1 and narrow.unassigned_children == 2
    wide = solve_catchments(p, "exact", "highs", None, widen=True)
    assert wide.k_nearest == 2 and not wide.closest and wide.status is Status.OPTIMAL
    assert wide.assignment == {"A": "s", "B": "s", "C": "t", "D": "t"}
    assert wide.notes[0].startswith("k_nearest 1 -> 2")
    assert wide.objective == pytest.approx(2 * 1 + 2 * 1.6)


# ------------------------------------------------ the start plan (issue 16, p5)


@pytest.mark.parametrize("seed", range(8))
def test_start_plan_is_contiguous_within_seats(seed):
    """The greedy growth and its ejection chains never cut a zone or pass a school's
    seats; the stranded units are exactly those left out; with ample seats on a
    grid nothing is stranded."""
    from models.catchment import _prepare, _start_plan
    for slack, ample in ((1.02, False), (1.6, True)):
        p = random_grid(seed, rows=6, cols=6, n_schools=4, slack=slack)
        plan, stranded = _start_plan(_prepare(p, "exact"))
        assignment = {p.unit_ids[u]: p.school_ids[s] for u, s in plan.items()}
        full = {u: assignment.get(u) for u in p.unit_ids}
        out = [u for u in p.unit_ids if full[u] is None]
        assert sorted(p.unit_ids.index(u) for u in out) == stranded
        problems = verify_catchments(p, full)
        assert all("is not assigned" in m for m in problems), problems
        assert zones_connected_nx(p, full)
        if ample:
            assert stranded == []


# ------------------------------------------------- reproducible under any load


def _cut_path() -> CatchmentProblem:
    # Path A-B-C-D-E-F-G, s at A, t at G, 4 seats each, 1 child per unit; cost to
    # (s, t): B (1, 9), C (10, 1), D (10, 1), E (1, 5), F (1, 5). Without contiguity
    # A, B, E, F -> s and C, D, G -> t cost 0+1+1+1 + 1+1+0 = 5: two islands, {E, F}
    # of s and {C, D} of t, each pair holding the other up (the first round's
    # length-one neighbour cuts allow it). Contiguous zones are intervals of at most
    # 4 units: s = A-C, t = D-G costs 0+1+10 + 1+5+5+0 = 22 (s = A-D: 31).
    units, adj = path(7)
    cost = [[0, 9], [1, 9], [10, 1], [10, 1], [1, 5], [1, 5], [9, 0]]
    return CatchmentProblem(units, [1] * 7, ["s", "t"], [4, 4], ["A", "G"], cost, adj)


def _spy_solves(monkeypatch) -> list:
    import models.catchment as cm
    seen: list = []
    real = cm.solve_problem

    def spy(prob, **kw):
        info = real(prob, **kw)
        seen.append((kw.get("nodes"), info))
        return info
    monkeypatch.setattr(cm, "solve_problem", spy)
    return seen


def test_a_local_re_solve_works_to_a_node_limit(monkeypatch):
    # the mended plan must not depend on the clock: every solve of the local re-solve
    # has the node limit, the rounds of the loop have none
    import models.catchment as cm
    p = _cut_path()
    assert brute_force(p, contiguous=False) == pytest.approx(5)
    assert brute_force(p) == pytest.approx(22)
    monkeypatch.setattr(cm, "FLOW_MAX_VARS", 0)          # mend locally, no flow model
    seen = _spy_solves(monkeypatch)
    r = solve_catchments(p, "exact", "highs", 60.0, 0.0)
    assert r.status is Status.OPTIMAL and r.objective == pytest.approx(22)
    assert r.assignment == dict(zip("ABCDEFG", "ssstttt"))
    limits = [n for n, _ in seen]
    assert None in limits and cm.LOCAL_NODES in limits
    assert set(limits) == {None, cm.LOCAL_NODES}
    assert cm.TIMED_OUT not in r.notes


def test_a_small_problem_goes_to_the_flow_model_without_a_local_re_solve(monkeypatch):
    # the local re-solve would free all six units: the flow model, exact, solves the
    # whole problem once instead
    import models.catchment as cm
    seen = _spy_solves(monkeypatch)
    r = solve_catchments(_cut_path(), "exact", "highs", 60.0, 0.0)
    assert r.status is Status.OPTIMAL and r.objective == pytest.approx(22)
    # round 1 (cut), the sweep plan (the start), the flow model (to its node limit):
    # no local re-solve
    assert [n for n, _ in seen] == [None, None, cm.FLOW_NODES]
    assert any("switched to the flow model" in n for n in r.notes)
    assert cm.TIMED_OUT not in r.notes


def test_a_solve_stopped_by_the_clock_is_noted_and_the_province_flags_it(monkeypatch):
    # a solve stopped by its time limit or share, even one whose plan was then proven
    # within the gap, makes the plan depend on the machine: the note says so, and the
    # province reads the note as a time-limited plan
    from dataclasses import replace

    import models.catchment as cm
    from planner.province import time_limited
    real = cm.solve_problem
    calls = []

    def first_timed(prob, **kw):
        info = real(prob, **kw)
        calls.append(1)
        return replace(info, stopped_by="time") if len(calls) == 1 else info
    monkeypatch.setattr(cm, "solve_problem", first_timed)
    r = solve_catchments(_cut_path(), "exact", "highs", 60.0, 0.0)
    assert r.status is Status.OPTIMAL and cm.TIMED_OUT in r.notes
    summary = {"status": "optimal", "junior": {"status": "optimal", "notes": r.notes}}
    assert time_limited("catchments", summary) == ["junior"]
    monkeypatch.setattr(cm, "solve_problem", real)
    clean = solve_catchments(_cut_path(), "exact", "highs", 60.0, 0.0)
    assert cm.TIMED_OUT not in clean.notes
    assert time_limited("catchments", {"junior": {"status": "optimal",
                                                   "notes": clean.notes}}) == []


def test_the_flow_model_stops_at_its_node_limit_the_same_way_every_time(monkeypatch):
    # a 6 x 6 grid, 4 schools, solved to a zero gap: the cut loop hands it to the flow
    # model, which needs more than one node; stopped at a node limit, the plan is
    # FEASIBLE with its gap, the same on every run, and read as reproducible (not
    # time-limited) by the province
    import models.catchment as cm
    from planner.province import time_limited
    p = random_grid(2, rows=6, cols=6, n_schools=4)
    full = solve_catchments(p, "exact", "highs", 120.0, 0.0)
    assert full.status is Status.OPTIMAL and full.stopped_by is None
    assert any("switched to the flow model" in n for n in full.notes)
    monkeypatch.setattr(cm, "FLOW_NODES", 1)
    runs = [solve_catchments(p, "exact", "highs", 120.0, 0.0) for _ in range(2)]
    for r in runs:
        assert r.status is Status.FEASIBLE and r.stopped_by == "nodes"
        assert cm.TIMED_OUT not in r.notes
        assert r.gap is not None and r.gap > 0
        assert r.objective >= full.objective - 1e-6
        assert zones_connected_nx(p, r.assignment) and verify_catchments(p, r.assignment) == []
    assert runs[0].assignment == runs[1].assignment
    assert runs[0].objective == runs[1].objective and runs[0].gap == runs[1].gap
    stage = {"status": "feasible", "stopped_by": "nodes", "notes": runs[0].notes}
    assert time_limited("catchments", {"status": "feasible", "stopped_by": "nodes",
                                       "junior": stage}) == []
    # the same stage stopped by the clock is flagged
    timed = dict(stage, stopped_by="time", notes=runs[0].notes + [cm.TIMED_OUT])
    assert time_limited("catchments", {"status": "feasible", "stopped_by": "time",
                                       "junior": timed}) == ["", "junior"]
