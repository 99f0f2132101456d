"""Facility location: p-median and capacitated facility location (pulp MIPs).

Both models take a cost matrix ``costs[i][j]``: the cost of serving client i
(its whole demand) from site j. A fraction x of the client served from j costs
``x * costs[i][j]``. An entry that is
``None`` or ``inf`` marks a forbidden pair (no variable is created, which keeps
large sparse models small); ``nan`` is an error. Models are solved with
:func:`models.mip.solve_problem` (HiGHS by default).

Formulations (strong linking, ``x_ij <= y_j`` for every allowed pair):

p-median::

    min  sum_{(i,j) in A} w_i c_ij x_ij
    s.t. sum_{j:(i,j) in A} x_ij = 1          for every client i
         x_ij <= y_j                          for every (i,j) in A
         sum_j y_j = p
         y_j in {0,1},  0 <= x_ij <= 1

For fixed ``y`` an optimal ``x`` sends each client to its cheapest open
allowed site, so ``x`` can stay continuous; the reported assignment is that
cheapest site.

Capacitated facility location::

    min  sum_j f_j y_j + sum_{(i,j) in A} c_ij x_ij
    s.t. sum_{j:(i,j) in A} x_ij = 1          for every client i
         sum_{i:(i,j) in A} d_i x_ij <= s_j y_j  for every site j
         x_ij <= y_j                          for every (i,j) in A
         sum_j s_j y_j >= sum_i d_i           (valid cut, capacitated only)
         y_j in {0,1},  0 <= x_ij <= 1  (x_ij in {0,1} if single_source)

``A`` is the set of allowed pairs: finite cost, site in ``candidates`` and,
for the p-median with ``k_nearest``, among the client's k cheapest candidate
sites. Restricting ``A`` by ``k_nearest`` is a modelling choice: the optimum
is then the optimum of the restricted problem.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pulp

from models.mip import solve_problem
from models.status import Status

_EPS = 1e-9
MIP_GAP = 1e-7  # relative gap asked of the solver (HiGHS default is 1e-4)


@dataclass
class LocationResult:
    """Solution of a location model.

    Attributes
    ----------
    open
        Sorted indices of the open sites.
    assignment
        p-median and single-source: site of each client (list of int).
        Split demand: for each client a list of ``(site, fraction)`` pairs
        with fractions summing to 1.
    cost
        Objective recomputed from the solution (weighted service cost, plus
        fixed costs for facility location); ``None`` without a solution.
    status
        :class:`models.status.Status` as read by :mod:`models.mip`
        (``has_plan`` for ``OPTIMAL`` and ``FEASIBLE``).
    gap
        Relative MIP gap reported by the solver (``None`` if unknown).
    solver
        Solver name.
    seconds
        Wall-clock time including model building.
    message
        Explanation when there is no solution.
    """

    open: list[int]
    assignment: list[Any]
    cost: float | None
    status: Status
    gap: float | None
    solver: str
    seconds: float
    message: str = ""


def solve_p_median(
    costs: Sequence[Sequence[float | None]] | np.ndarray,
    p: int,
    weights: Sequence[float] | None = None,
    candidates: Sequence[int] | None = None,
    k_nearest: int | None = None,
    solver: str = "highs",
    time_limit: float | None = None,
) -> LocationResult:
    """Open ``p`` sites minimising the weighted cost of serving every client
    from its cheapest open site.

    Parameters
    ----------
    costs
        ``costs[i][j]`` cost for client i at site j; ``None``/``inf`` forbids.
    p
        Number of sites to open.
    weights
        Client weights (e.g. pupils); default 1 each.
    candidates
        Sites that may open; default all columns.
    k_nearest
        Keep only each client's ``k_nearest`` cheapest allowed candidates.
    solver, time_limit
        Passed to :func:`models.mip.solve_problem`.

    Returns
    -------
    LocationResult

    Raises
    ------
    ValueError
        On a bad matrix, weights, candidates, ``p`` outside
        ``1..len(candidates)``, or a client with no allowed site.
    """
    t0 = time.perf_counter()
    c = _cost_matrix(costs)
    n, m = c.shape
    w = _vector(weights, n, "weights", default=1.0)
    cand = _candidates(candidates, m)
    if isinstance(p, bool) or int(p) != p or not 1 <= p <= len(cand):
        raise ValueError(f"p must be an integer in 1..{len(cand)} "
                         f"(number of candidate sites), got {p!r}.")
    if k_nearest is not None and k_nearest < 1:
        raise ValueError(f"k_nearest must be positive, got {k_nearest!r}.")
    allowed = _allowed_pairs(c, cand, k_nearest)
    sites = sorted({j for row in allowed for j in row})

    prob = pulp.LpProblem("p_median", pulp.LpMinimize)
    y = {j: _var(prob, f"y_{j}", "Binary") for j in sites}
    x = {(i, j): _var(prob, f"x_{i}_{j}") for i, row in enumerate(allowed) for j in row}
    prob += _expr((v, w[i] * c[i, j]) for (i, j), v in x.items())
    for i, row in enumerate(allowed):
        prob += _expr((x[i, j], 1) for j in row) == 1, f"assign_{i}"
    for (i, j), v in x.items():
        prob += _expr([(v, 1), (y[j], -1)]) <= 0, f"link_{i}_{j}"
    prob += _expr((v, 1) for v in y.values()) == int(p), "num_open"

    info = solve_problem(prob, solver=solver, time_limit=time_limit, gap=MIP_GAP)
    if not info.status.has_plan:
        msg = f"no solution ({info.status})"
        if info.status is Status.INFEASIBLE:
            msg = (f"no {p} sites can serve every client from an allowed site "
                   f"(forbidden pairs{', k_nearest=' + str(k_nearest) if k_nearest else ''}"
                   f"{', candidates' if candidates is not None else ''}); "
                   "raise p or allow more pairs.")
        return LocationResult([], [], None, info.status, info.gap, info.solver,
                              time.perf_counter() - t0, msg)
    opened = sorted(j for j in sites if round(y[j].value() or 0) == 1)
    assign = []
    is_open = set(opened)
    for i, row in enumerate(allowed):
        options = [j for j in row if j in is_open]
        assign.append(min(options, key=lambda j: (c[i, j], j)))
    cost = float(sum(w[i] * c[i, a] for i, a in enumerate(assign)))
    return LocationResult(opened, assign, cost, info.status, info.gap, info.solver,
                          time.perf_counter() - t0)


def solve_facility_location(
    costs: Sequence[Sequence[float | None]] | np.ndarray,
    demands: Sequence[float],
    capacities: Sequence[float | None] | None,
    fixed_costs: Sequence[float],
    single_source: bool = False,
    solver: str = "highs",
    time_limit: float | None = None,
) -> LocationResult:
    """Choose sites to open and serve all demand at least total cost.

    Parameters
    ----------
    costs
        ``costs[i][j]`` cost of serving all of client i's demand from site j;
        ``None``/``inf`` forbids the pair.
    demands
        Demand of each client (>= 0).
    capacities
        Capacity of each site; ``None`` (whole argument or an entry) or
        ``inf`` means uncapacitated.
    fixed_costs
        Cost of opening each site.
    single_source
        If true each client is served by exactly one site.
    solver, time_limit
        Passed to :func:`models.mip.solve_problem`.

    Returns
    -------
    LocationResult

    Raises
    ------
    ValueError
        On bad input, or when the instance is infeasible on its face: total
        demand above total capacity, a client with no allowed site, a client
        whose demand exceeds what its allowed sites can hold (or, with
        ``single_source``, the largest of them).
    """
    t0 = time.perf_counter()
    c = _cost_matrix(costs)
    n, m = c.shape
    d = _vector(demands, n, "demands")
    f = _vector(fixed_costs, m, "fixed_costs")
    if capacities is None:
        s = np.full(m, np.inf)
    else:
        s = np.array([math.inf if v is None else float(v) for v in capacities])
        if s.shape != (m,) or np.any(np.isnan(s)) or np.any(s < 0):
            raise ValueError(f"capacities must be {m} non-negative numbers or None.")
    allowed = _allowed_pairs(c, list(range(m)), None)
    _check_capacity(d, s, allowed, single_source)
    capacitated = bool(np.any(np.isfinite(s)))

    prob = pulp.LpProblem("facility_location", pulp.LpMinimize)
    y = {j: _var(prob, f"y_{j}", "Binary") for j in range(m)}
    cat = "Binary" if single_source else "Continuous"
    x = {(i, j): _var(prob, f"x_{i}_{j}", cat) for i, row in enumerate(allowed) for j in row}
    prob += _expr([(y[j], f[j]) for j in range(m)]
                  + [(v, c[i, j]) for (i, j), v in x.items()])
    clients_of: dict[int, list[int]] = {j: [] for j in range(m)}
    for i, row in enumerate(allowed):
        prob += _expr((x[i, j], 1) for j in row) == 1, f"assign_{i}"
        for j in row:
            clients_of[j].append(i)
    for j in range(m):
        if np.isfinite(s[j]) and clients_of[j]:
            prob += (_expr([(x[i, j], d[i]) for i in clients_of[j]]
                           + [(y[j], -s[j])]) <= 0), f"cap_{j}"
    for (i, j), v in x.items():
        prob += _expr([(v, 1), (y[j], -1)]) <= 0, f"link_{i}_{j}"
    if capacitated and np.all(np.isfinite(s)):
        prob += _expr((y[j], s[j]) for j in range(m)) >= float(d.sum()), "cover"

    info = solve_problem(prob, solver=solver, time_limit=time_limit, gap=MIP_GAP)
    if not info.status.has_plan:
        msg = f"no solution ({info.status})"
        if info.status is Status.INFEASIBLE:
            msg = ("capacities cannot hold every client's demand on its allowed "
                   "sites" + (" with single sourcing" if single_source else "") + ".")
        return LocationResult([], [], None, info.status, info.gap, info.solver,
                              time.perf_counter() - t0, msg)
    xv = {k: max(0.0, min(1.0, v.value() or 0.0)) for k, v in x.items()}
    opened = sorted(j for j in range(m) if round(y[j].value() or 0) == 1)
    assign: list[Any] = []
    for i, row in enumerate(allowed):
        if single_source:
            assign.append(max(row, key=lambda j: (xv[i, j], -j)))
        else:
            assign.append([(j, xv[i, j]) for j in row if xv[i, j] > _EPS])
    if single_source:
        service = sum(c[i, a] for i, a in enumerate(assign))
    else:
        service = sum(c[i, j] * v for (i, j), v in xv.items())
    cost = float(sum(f[j] for j in opened) + service)
    return LocationResult(opened, assign, cost, info.status, info.gap, info.solver,
                          time.perf_counter() - t0)


def _var(prob: pulp.LpProblem, name: str, cat: str = "Continuous") -> pulp.LpVariable:
    """A variable in [0, 1]; ``prob.add_variable`` where pulp has it (PuLP 4)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=0, upBound=1, cat=cat)
    return pulp.LpVariable(name, lowBound=0, upBound=1, cat=cat)


def _expr(terms) -> pulp.LpAffineExpression:
    """Linear expression from (variable, coefficient) pairs (faster than lpSum)."""
    return pulp.LpAffineExpression([(v, float(a)) for v, a in terms])


def _cost_matrix(costs) -> np.ndarray:
    if isinstance(costs, np.ndarray) and costs.dtype.kind in "fiu":
        c = costs.astype(float)
    else:
        rows = [[math.inf if v is None else float(v) for v in row] for row in costs]
        if not rows or any(len(r) != len(rows[0]) for r in rows):
            raise ValueError("costs must be a rectangular matrix (clients x sites).")
        c = np.array(rows, dtype=float)
    if c.ndim != 2 or c.size == 0:
        raise ValueError("costs must be a non-empty matrix (clients x sites), "
                         f"got shape {c.shape}.")
    if np.any(np.isnan(c)):
        i, j = np.argwhere(np.isnan(c))[0]
        raise ValueError(f"costs[{i}][{j}] is NaN; use None or inf to forbid a pair.")
    if np.any(c == -np.inf):
        raise ValueError("costs must not contain -inf.")
    return c


def _vector(values, size: int, name: str, default: float | None = None) -> np.ndarray:
    if values is None:
        if default is None:
            raise ValueError(f"{name} is required.")
        return np.full(size, default)
    arr = np.asarray(values, dtype=float)
    if arr.shape != (size,):
        raise ValueError(f"{name} has shape {arr.shape}; expected ({size},).")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and non-negative.")
    return arr


def _candidates(candidates, m: int) -> list[int]:
    if candidates is None:
        return list(range(m))
    cand = sorted({int(j) for j in candidates})
    if not cand or cand[0] < 0 or cand[-1] >= m:
        raise ValueError(f"candidates must be a non-empty subset of 0..{m - 1}.")
    return cand


def _allowed_pairs(c: np.ndarray, cand: list[int], k: int | None) -> list[list[int]]:
    """Allowed sites of each client (sorted): finite cost, candidate, and among
    the ``k`` cheapest (ties broken by site index) when ``k`` is given."""
    sub = c[:, cand]
    cand_arr = np.asarray(cand)
    if k is not None and k < len(cand):
        order = np.argsort(sub, axis=1, kind="stable")[:, :k]
        keep = np.zeros_like(sub, dtype=bool)
        np.put_along_axis(keep, order, True, axis=1)
        finite = keep & np.isfinite(sub)
    else:
        finite = np.isfinite(sub)
    empty = np.flatnonzero(~finite.any(axis=1))
    if empty.size:
        raise ValueError(f"client {empty[0]} has no allowed site (all its costs to "
                         "candidate sites are None/inf).")
    return [cand_arr[row].tolist() for row in finite]


def _check_capacity(d: np.ndarray, s: np.ndarray, allowed: list[list[int]],
                    single_source: bool) -> None:
    total_d, total_s = float(d.sum()), float(s.sum())
    if total_d > total_s + _EPS:
        raise ValueError(f"infeasible: total demand {total_d:,g} > total capacity "
                         f"{total_s:,g}.")
    for i, row in enumerate(allowed):
        reach = max(s[j] for j in row) if single_source else sum(s[j] for j in row)
        if d[i] > reach + _EPS:
            what = "largest allowed site capacity" if single_source else \
                "total capacity of its allowed sites"
            raise ValueError(f"infeasible: client {i} has demand {d[i]:,g} > "
                             f"{what} {reach:,g}.")
