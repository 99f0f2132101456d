"""Tests for models.location: hand-checked cases, brute force, OR-Library optima."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.sparse.csgraph import shortest_path

from models.location import solve_facility_location, solve_p_median

BENCH = Path(__file__).resolve().parent / "data" / "orlib"   # see tests/data/README.md
INF = math.inf


@pytest.fixture(scope="module")
def orlib_dir() -> Path:
    assert BENCH.is_dir(), f"benchmark instances missing: {BENCH}"
    return BENCH


def read_pmed(path: Path) -> tuple[np.ndarray, int]:
    """All-pairs shortest paths of an OR-Library pmed graph and p. A repeated
    edge takes the cost of its LAST occurrence."""
    tokens = path.read_text().split()
    n, m, p = (int(t) for t in tokens[:3])
    last: dict[tuple[int, int], float] = {}
    for k in range(m):
        i, j, c = (int(t) for t in tokens[3 + 3 * k: 6 + 3 * k])
        last[min(i, j), max(i, j)] = c
    graph = np.full((n, n), np.inf)
    for (i, j), c in last.items():
        graph[i - 1, j - 1] = graph[j - 1, i - 1] = c
    return shortest_path(graph, method="D", directed=False), p


def read_cap(path: Path):
    """OR-Library capacitated warehouse file: costs, demands, capacities, fixed."""
    tokens = path.read_text().split()
    m, n = int(tokens[0]), int(tokens[1])
    pos, caps, fixed = 2, [], []
    for _ in range(m):
        caps.append(float(tokens[pos]))
        fixed.append(float(tokens[pos + 1]))
        pos += 2
    demands, costs = [], []
    for _ in range(n):
        demands.append(float(tokens[pos]))
        costs.append([float(t) for t in tokens[pos + 1: pos + 1 + m]])
        pos += 1 + m
    assert pos == len(tokens)
    return costs, demands, caps, fixed


# ---------------------------------------------------------------- hand-checked

def test_one_median_on_a_line_is_weighted_median():
    # Clients at x = 0, 1, 2, 10 with weights 1, 1, 1, 2; sites at the same
    # points. Site x=2: 2+1+0+2*8 = 19; x=1: 1+0+1+2*9 = 20; x=10: 10+9+8 = 27.
    xs, w = [0, 1, 2, 10], [1, 1, 1, 2]
    costs = [[abs(a - b) for b in xs] for a in xs]
    res = solve_p_median(costs, 1, weights=w)
    assert res.open == [2] and res.assignment == [2, 2, 2, 2]
    assert res.cost == 19 and res.status == "optimal" and res.gap == 0
    assert res.status.has_plan


def test_two_medians_split_the_line():
    # Two clusters {0,1} and {10,11}: open one site in each, cost 1 + 1 = 2.
    xs = [0, 1, 10, 11]
    costs = [[abs(a - b) for b in xs] for a in xs]
    res = solve_p_median(costs, 2)
    assert res.cost == 2
    assert len(res.open) == 2 and {res.open[0], res.open[1]} & {0, 1} and \
        {res.open[0], res.open[1]} & {2, 3}


def test_facility_location_hand_checked():
    # Two clients of demand 6 each, two sites of capacity 10, fixed cost 5.
    # Site 0 is cheap for both (cost 1 per whole demand) but holds only 10:
    # open both sites and split: client 1 sends 2/6 to site 1 at cost 4 each
    # whole demand. Cost = 5+5 + 1 + (4/6*1 + 2/6*4) = 10 + 1 + 2 = 13.
    res = solve_facility_location([[1, 4], [1, 4]], [6, 6], [10, 10], [5, 5])
    assert res.open == [0, 1]
    assert res.cost == pytest.approx(13)
    shipped_to_0 = sum(6 * f for a in res.assignment for j, f in a if j == 0)
    assert shipped_to_0 == pytest.approx(10)


# ----------------------------------------------------------------- brute force

def brute_p_median(c, p, w, cand, allowed):
    best = INF
    for sites in itertools.combinations(cand, p):
        total = 0.0
        for i in range(len(c)):
            opts = [c[i][j] for j in sites if j in allowed[i]]
            if not opts:
                total = INF
                break
            total += w[i] * min(opts)
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(5))
def test_p_median_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = 8, 6
    c = rng.integers(1, 50, size=(n, m)).astype(float)
    c[rng.random((n, m)) < 0.2] = INF  # forbidden pairs
    c[:, 0] = rng.integers(1, 50, size=n)  # every client can use site 0
    w = rng.integers(1, 5, size=n).tolist()
    p = 1 + seed % 3
    res = solve_p_median(c, p, weights=w)
    allowed = [{j for j in range(m) if np.isfinite(c[i, j])} for i in range(n)]
    assert res.cost == pytest.approx(brute_p_median(c, p, w, range(m), allowed))
    assert len(res.open) == p
    for i, j in enumerate(res.assignment):
        assert np.isfinite(c[i, j]) and j in res.open
        assert c[i, j] == min(c[i, k] for k in res.open if np.isfinite(c[i, k]))


@pytest.mark.parametrize("seed", range(3))
def test_p_median_candidates_and_k_nearest(seed):
    rng = np.random.default_rng(10 + seed)
    n, m, k = 8, 7, 3
    c = rng.integers(1, 60, size=(n, m)).astype(float)
    cand = [0, 2, 3, 5, 6]
    res = solve_p_median(c.tolist(), 2, candidates=cand, k_nearest=k)
    allowed = [set(sorted(cand, key=lambda j: (c[i, j], j))[:k]) for i in range(n)]
    assert res.cost == pytest.approx(brute_p_median(c, 2, [1] * n, cand, allowed))
    assert set(res.open) <= set(cand)
    assert all(res.assignment[i] in allowed[i] for i in range(n))


def brute_facility_split(c, d, s, f):
    """Best over every open set of a transportation LP (scipy linprog)."""
    n, m = len(c), len(c[0])
    best = INF
    for r in range(1, m + 1):
        for sites in itertools.combinations(range(m), r):
            if sum(s[j] for j in sites) < sum(d):
                continue
            pairs = [(i, j) for i in range(n) for j in sites if np.isfinite(c[i][j])]
            cost = [c[i][j] for i, j in pairs]
            a_eq = [[1.0 if pi == i else 0.0 for pi, _ in pairs] for i in range(n)]
            a_ub = [[d[pi] if pj == j else 0.0 for pi, pj in pairs] for j in sites]
            lp = linprog(cost, A_ub=a_ub, b_ub=[s[j] for j in sites], A_eq=a_eq,
                         b_eq=[1.0] * n, bounds=(0, 1), method="highs")
            if lp.status == 0:
                best = min(best, lp.fun + sum(f[j] for j in sites))
    return best


def brute_facility_single(c, d, s, f):
    n, m = len(c), len(c[0])
    best = INF
    for assign in itertools.product(range(m), repeat=n):
        load = [0.0] * m
        for i, j in enumerate(assign):
            load[j] += d[i]
        if any(load[j] > s[j] for j in range(m)):
            continue
        total = sum(c[i][j] for i, j in enumerate(assign))
        total += sum(f[j] for j in set(assign))
        best = min(best, total)
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("single", [False, True])
def test_facility_location_matches_brute_force(seed, single):
    rng = np.random.default_rng(seed)
    n, m = 6, 4
    c = rng.integers(5, 80, size=(n, m)).astype(float).tolist()
    d = rng.integers(1, 10, size=n).astype(float).tolist()
    s = rng.integers(8, 25, size=m).astype(float).tolist()
    s[0] = max(s[0], sum(d))  # always feasible
    f = rng.integers(10, 60, size=m).astype(float).tolist()
    res = solve_facility_location(c, d, s, f, single_source=single)
    brute = brute_facility_single if single else brute_facility_split
    assert res.status == "optimal"
    assert res.cost == pytest.approx(brute(c, d, s, f), rel=1e-6)
    # capacities respected and every client fully served by open sites
    load = [0.0] * m
    for i, a in enumerate(res.assignment):
        parts = [(a, 1.0)] if single else a
        assert sum(x for _, x in parts) == pytest.approx(1)
        for j, x in parts:
            assert j in res.open
            load[j] += d[i] * x
    assert all(load[j] <= s[j] + 1e-6 for j in range(m))


def test_uncapacitated_ignores_capacity():
    # Without capacities every client goes to its cheapest open site.
    c = [[1, 9], [1, 9], [9, 1]]
    res = solve_facility_location(c, [5, 5, 5], None, [3, 3])
    assert res.open == [0, 1] and res.cost == 3 + 3 + 1 + 1 + 1
    res = solve_facility_location(c, [5, 5, 5], [None, None], [3, 20])
    assert res.open == [0] and res.cost == 3 + 1 + 1 + 9


# ----------------------------------------------------------- infeasible input

def test_total_demand_above_capacity_message():
    with pytest.raises(ValueError, match="total demand 5,200 > total capacity 4,800"):
        solve_facility_location([[1, 2]] * 2, [2600, 2600], [2400, 2400], [1, 1])


def test_single_source_client_too_big_message():
    with pytest.raises(ValueError, match="client 1 has demand 30 > largest"):
        solve_facility_location([[1, 2], [1, 2]], [5, 30], [25, 25], [1, 1],
                                single_source=True)


def test_client_without_allowed_site():
    with pytest.raises(ValueError, match="client 1 has no allowed site"):
        solve_p_median([[1, 2], [None, INF]], 1)
    with pytest.raises(ValueError, match="client 0 has no allowed site"):
        solve_p_median([[INF, 2], [3, 4]], 1, candidates=[0])


@pytest.mark.parametrize("p", [0, 4, 1.5])
def test_p_out_of_range(p):
    with pytest.raises(ValueError, match="p must be"):
        solve_p_median([[1, 2, 3]] * 2, p)


def test_nan_cost_rejected():
    with pytest.raises(ValueError, match="NaN"):
        solve_p_median([[1, float("nan")]], 1)


def test_forbidden_pairs_make_p_median_infeasible_not_wrong():
    # p = 1 but client 0 can only use site 0 and client 1 only site 1.
    from models.status import Status
    res = solve_p_median([[1, None], [None, 1]], 1)
    assert res.status is Status.INFEASIBLE and res.cost is None and res.open == []
    assert not res.status.has_plan
    assert "raise p" in res.message


# ------------------------------------------------------------- OR-Library

@pytest.mark.parametrize("k, optimum", [(1, 5819), (4, 3034)])
def test_orlib_pmed(orlib_dir, k, optimum):
    dist, p = read_pmed(orlib_dir / f"pmed{k}.txt")
    res = solve_p_median(dist, p)
    assert res.status == "optimal"
    assert res.cost == optimum and len(res.open) == p


def test_pmed_last_duplicate_edge_wins(orlib_dir):
    # The file has repeated edges with different costs; the reader keeps the
    # last one. Taking the minimum instead changes the matrix.
    tokens = (orlib_dir / "pmed1.txt").read_text().split()
    m = int(tokens[1])
    seen: dict = {}
    dup = 0
    for k in range(m):
        i, j, c = (int(t) for t in tokens[3 + 3 * k: 6 + 3 * k])
        key = (min(i, j), max(i, j))
        dup += key in seen and seen[key] != c
        seen[key] = c
    assert dup > 0


@pytest.mark.parametrize("capacitated, optimum", [(True, 1_040_444.375),
                                                   (False, 932_615.750)])
def test_orlib_cap41(orlib_dir, capacitated, optimum):
    costs, demands, caps, fixed = read_cap(orlib_dir / "cap41.txt")
    res = solve_facility_location(costs, demands, caps if capacitated else None, fixed)
    assert res.status == "optimal"
    assert res.cost == pytest.approx(optimum, abs=1e-3)


def test_k_nearest_keeps_cheapest_sites_and_ties_by_index():
    # Client 0 costs: site 0 = 5, site 1 = 1, site 2 = 1, site 3 = inf.
    # k=2 keeps sites 1 and 2 for client 0 (cheapest; site 0 dropped), and
    # sites 0 and 2 for client 1 (costs 2, 3). With p=1 only site 2 serves
    # both: total 1 + 3 = 4 (site 0 alone would be 5 + 2 = 7 without k).
    c = np.array([[5, 1, 1, INF], [2, INF, 3, INF]])
    res = solve_p_median(c, 1, k_nearest=2)
    assert res.open == [2] and res.cost == 4
    with pytest.raises(ValueError, match="k_nearest"):
        solve_p_median(c, 1, k_nearest=0)


@pytest.mark.parametrize("costs", [[], [[]], [[1, 2], [3]]])
def test_bad_matrix_shape(costs):
    with pytest.raises(ValueError, match="matrix"):
        solve_p_median(costs, 1)
