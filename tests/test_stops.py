"""Tests for models.stops: stops under a walking limit, pupils split over receivers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from models.stops import choose_stops, split_to_receivers


def line_walks(xs) -> np.ndarray:
    x = np.asarray(xs, dtype=float)
    return np.abs(x[:, None] - x[None, :])


def stops(walk, pupils, young, limit):
    return choose_stops(walk, pupils, young, limit, solver="highs", time_limit=30.0)


def test_a_village_beyond_the_walking_limit_needs_its_own_stop():
    # villages at 0, 600 and 2,100 m on a lane; older pupils only (a junior school).
    # 0 and 600 share a stop (at 0: 5 x 600 m of walking beats 10 x 600 m); the
    # village at 2,100 m is beyond 1 km of both and gets its own.
    w = line_walks([0, 600, 2100])
    plan = stops(w, [10, 5, 8], [False] * 3, 1000)
    assert plan.stops == (0, 2) and plan.board == (0, 0, 2)
    assert plan.walk_m == (0.0, 600.0, 0.0)
    # a longer walking limit: one stop, at the middle village (2,100 -> 0 is too far)
    plan = stops(w, [10, 5, 8], [False] * 3, 2000)
    assert plan.stops == (1,) and plan.board == (1, 1, 1)
    assert plan.walk_m == (600.0, 0.0, 1500.0)


def test_grades_1_3_ride_from_their_own_village():
    w = line_walks([0, 600, 2100])
    # the middle village has young pupils: it has its stop, the first walks to it
    plan = stops(w, [10, 5, 8], [False, True, False], 1000)
    assert plan.stops == (1, 2) and plan.board == (1, 1, 2)
    # every village with young pupils has its own stop, whatever the limit
    plan = stops(w, [10, 5, 8], [True, True, True], 5000)
    assert plan.stops == (0, 1, 2)


def test_a_unit_without_pupils_boards_nowhere_and_need_not_have_a_stop():
    w = line_walks([0, 300, 900])
    plan = stops(w, [4, 0, 3], [False] * 3, 1000)
    assert plan.board[1] == -1 and len(plan.stops) == 1


def test_no_site_within_the_limit_is_an_error():
    w = line_walks([0, 5000])
    w[1, 1] = 1500.0                               # its own site is 1.5 km from the village
    with pytest.raises(ValueError, match="no stop site within"):
        stops(w, [1, 1], [False, False], 1000)
    with pytest.raises(ValueError, match="own stop is 1500 m away"):
        stops(w, [1, 1], [False, True], 1000)


@pytest.mark.parametrize("seed", range(5))
def test_fewest_stops_then_least_walking_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 6
    xy = rng.uniform(0, 2500, (n, 2))
    w = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    pupils = list(rng.integers(1, 20, n))
    young = list(rng.random(n) < 0.3)
    limit = 1000.0
    plan = stops(w, pupils, young, limit)
    best = None
    for r in range(1, n + 1):
        for sites in itertools.combinations(range(n), r):
            if not all(u in sites for u in range(n) if young[u]):
                continue
            walk = 0.0
            for u in range(n):
                if young[u]:
                    continue
                near = [w[u, k] for k in sites if w[u, k] <= limit]
                if not near:
                    walk = None
                    break
                walk += pupils[u] * min(near)
            if walk is not None and (best is None or (r, walk) < best):
                best = (r, walk)
        if best is not None:
            break
    got = sum(p * wk for p, wk, y in zip(pupils, plan.walk_m, young) if not y)
    assert (len(plan.stops), round(got, 6)) == (best[0], round(best[1], 6))


def test_split_keeps_villages_together_and_meets_the_quotas():
    # 30 and 20 pupils to receivers of 25 each; village 0 is nearer receiver 0
    x = split_to_receivers([30, 20], [25, 25], np.array([[1.0, 9.0], [9.0, 1.0]]))
    assert x == [[25, 5], [0, 20]]
    assert split_to_receivers([7, 3], [10], np.array([[5.0], [2.0]])) == [[7], [3]]
    with pytest.raises(ValueError, match="10 pupils for quotas summing to 9"):
        split_to_receivers([7, 3], [9], np.array([[5.0], [2.0]]))
