"""Bus stops under a walking limit, and pupils split over their receiving schools
(pure model: plain data in, plan out).

Stops (:func:`choose_stops`)
----------------------------
Units ``u`` (villages, communities) each offer one stop site (the caller's: where
the village meets its road, or the village itself). ``walk_m[u][k]`` is the walk
from unit u's homes to unit k's site. A unit with pupils of grades 1-3 (``young``)
has a stop at its own site: young pupils ride from their own village (2012 国办发48号,
2018 国办发27号). A unit with only older pupils (``needs``) may walk to another
unit's stop within ``limit_m``. Schittekat et al. (EJOR 229, 2013) choose stops,
assign pupils and route together; here the stops come first (the fewest, then the
least walking), which keeps every stop a village a parent knows::

    y_k in {0,1}  stop at site k;  z_uk in {0,1}  unit u boards at site k
    sum_k z_uk = 1                      every unit with pupils (over sites within the limit)
    z_uk <= y_k ;  y_u = 1, z_uu = 1    for a unit with young pupils
    min  W * sum_k y_k + sum_uk pupils_u * walk_m[u][k] * z_uk

``W`` exceeds any possible walking total, so one stop fewer always wins. A unit whose
own site is beyond the limit and has no other site within it is an error for the
caller (it chose the sites): ``ValueError``. Ties go to the lower site index (HiGHS
is deterministic; the result is then made canonical: each unit boards at its
nearest chosen stop, ties to the lower index).

Pupils to receivers (:func:`split_to_receivers`)
------------------------------------------------
A closed school sending ``quota[r]`` pupils of a stage to several receivers: which
pupils go where is a transportation problem over its units (``pupils[u]``), least
``sum pupils * minutes(stop of u -> r)``; the data are whole numbers and the
constraint matrix is totally unimodular, so the integer optimum keeps villages
together where it can (a village is split only where a quota forces it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pulp

from models.mip import solve_problem

_EPS = 1e-9


@dataclass(frozen=True)
class StopPlan:
    """``stops``: chosen site indices (sorted); ``board[u]``: the site unit u boards
    at (``-1`` for a unit without pupils); ``walk_m[u]``: its walk (0 without pupils)."""

    stops: tuple[int, ...]
    board: tuple[int, ...]
    walk_m: tuple[float, ...]


def choose_stops(walk_m: np.ndarray, pupils: Sequence[int], young: Sequence[bool],
                 limit_m: float, solver: str, time_limit: float) -> StopPlan:
    """The fewest stops, then the least walking (module docstring)."""
    w = np.asarray(walk_m, dtype=float)
    n = len(pupils)
    if w.shape != (n, n):
        raise ValueError(f"walk_m must be {n}x{n}")
    need = [u for u in range(n) if pupils[u] > 0]
    forced = sorted({u for u in need if young[u]})
    for u in forced:
        if not w[u, u] <= limit_m + _EPS:
            raise ValueError(f"unit {u}: its own stop is {w[u, u]:.0f} m away > {limit_m:g} m")
    free = [u for u in need if u not in forced]
    reach = {u: [k for k in range(n) if w[u, k] <= limit_m + _EPS] for u in free}
    for u in free:
        if not reach[u]:
            raise ValueError(f"unit {u}: no stop site within {limit_m:g} m")
    open_ = set(forced)
    if free:
        cand = sorted({k for u in free for k in reach[u]} | set(forced))
        prob = pulp.LpProblem("stops", pulp.LpMinimize)
        y = {k: pulp.LpVariable(f"y_{k}", cat="Binary") for k in cand}
        z = {(u, k): pulp.LpVariable(f"z_{u}_{k}", cat="Binary") for u in free for k in reach[u]}
        big = 1.0 + float(sum(pupils[u] * w[u, k] for (u, k) in z))
        prob += big * pulp.lpSum(y.values()) + pulp.lpSum(
            pupils[u] * w[u, k] * v for (u, k), v in z.items())
        for k in forced:
            prob += y[k] == 1
        for u in free:
            prob += pulp.lpSum(z[(u, k)] for k in reach[u]) == 1
        for (_u, k), v in z.items():
            prob += v <= y[k]
        info = solve_problem(prob, solver=solver, time_limit=time_limit)
        if not info.status.has_plan:  # cannot happen for a set cover; keep every candidate
            open_ |= set(cand)
        else:
            open_ |= {k for k, v in y.items() if round(v.value() or 0) == 1}
    stops = tuple(sorted(open_))
    board, walk = [], []
    for u in range(n):
        if pupils[u] <= 0:
            board.append(-1)
            walk.append(0.0)
        elif u in forced:
            board.append(u)
            walk.append(float(w[u, u]))
        else:
            k = min((k for k in stops if w[u, k] <= limit_m + _EPS), key=lambda k: (w[u, k], k))
            board.append(k)
            walk.append(float(w[u, k]))
    return StopPlan(stops=stops, board=tuple(board), walk_m=tuple(walk))


def split_to_receivers(pupils: Sequence[int], quota: Sequence[int], minutes: np.ndarray,
                       solver: str = "highs") -> list[list[int]]:
    """``x[u][r]`` pupils of unit u going to receiver r: every unit's pupils placed,
    every quota met, least pupil-minutes (module docstring). ``sum(pupils)`` must
    equal ``sum(quota)``; ties go to the earlier unit and receiver."""
    nu, nr = len(pupils), len(quota)
    if sum(pupils) != sum(quota):
        raise ValueError(f"{sum(pupils)} pupils for quotas summing to {sum(quota)}")
    if nr == 1:
        return [[int(p)] for p in pupils]
    t = np.asarray(minutes, dtype=float).reshape(nu, nr)
    big = 1e6 + float(np.nanmax(np.where(np.isfinite(t), t, 0.0), initial=0.0))
    cost = np.where(np.isfinite(t), t, big)
    prob = pulp.LpProblem("split", pulp.LpMinimize)
    x = {(u, r): pulp.LpVariable(f"x_{u}_{r}", lowBound=0, upBound=int(pupils[u]),
                                 cat="Integer")
         for u in range(nu) if pupils[u] > 0 for r in range(nr) if quota[r] > 0}
    # a tiny tie-break by index keeps the optimum unique and deterministic
    prob += pulp.lpSum((cost[u, r] + 1e-7 * (u * nr + r)) * v for (u, r), v in x.items())
    for u in range(nu):
        if pupils[u] > 0:
            prob += pulp.lpSum(x[(u, r)] for r in range(nr) if quota[r] > 0) == int(pupils[u])
    for r in range(nr):
        if quota[r] > 0:
            prob += pulp.lpSum(x[(u, r)] for u in range(nu) if pupils[u] > 0) == int(quota[r])
    info = solve_problem(prob, solver=solver)
    if not info.status.has_plan:
        raise RuntimeError(f"the pupil split has no solution ({info.status})")
    out = [[0] * nr for _ in range(nu)]
    for (u, r), v in x.items():
        out[u][r] = int(round(v.value() or 0))
    return out
