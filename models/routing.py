"""Capacitated vehicle routing (school buses) on a distance matrix, with PyVRP.

:func:`solve_vrp` takes a square distance matrix (any units, integer or
float), the number of pupils waiting at every node and the bus capacity, and
returns a :class:`VRPResult` with routes given by original node indices.

Two route shapes are supported:

- **closed tours** (default): every bus leaves node ``depot`` and returns to
  it; the cost of a route is ``d[depot][r0] + d[r0][r1] + ... + d[rk][depot]``.
- **open routes to a school** (``open_end=school``): every bus starts at its
  first pickup (a dummy start depot with zero-cost edges to every node is
  added for PyVRP, so the approach run to the first stop is free and not
  counted) and ends at the school node; the cost of a route is
  ``d[r0][r1] + ... + d[rk][school]``. ``depot`` is then not used as a start:
  it is an ordinary node (visited only if its demand is positive).

Per-pupil ride limit. On an open route to a school the pupil picked up first
rides longest, so limiting the route's length (``max_route``, in distance
units) or duration (``durations`` + ``max_duration``, in the durations'
units) limits every pupil's ride. On closed tours the same arguments limit the
whole tour, depot to depot.

Conventions
-----------
- Only nodes with positive demand are visited; nodes with zero demand (road
  junctions, an empty garage) and the depot / school are not. The depot and
  the school must have zero demand.
- Oversized stops: a node with demand ``q > capacity`` is split into
  ``q // capacity`` full-bus chunks and a remainder ``q % capacity`` (if any).
  A full bus cannot pick anyone else up, so every full-bus chunk gets its own
  route ``[node]`` (closed: depot -> node -> depot; open: node -> school); the
  remainder is an ordinary visit routed by PyVRP. ``VRPResult.loads`` gives
  the pupils picked up at each visit, so a split node appears in several
  routes with loads summing to its demand.
- Missing edges: an entry ``inf`` means there is no direct edge (given to
  PyVRP as ``2**40``; a route using one is rejected). Prefer ``inf`` to a
  large sentinel number.
- Integer data. PyVRP needs integer distances. A matrix whose finite entries
  are all whole numbers is used as is; otherwise it is multiplied by
  ``10**k``, the smallest power of ten (k >= 0) that brings its largest finite
  entry to at least ``10**6`` and its median positive entry to at least
  ``10**4`` (but the largest to at most ``10**12``), and rounded to the
  nearest integer (limits are scaled the same way). Each edge is then off by
  at most half a scaled unit, a relative error of at most ``5e-7`` of the
  largest entry and ``5e-5`` of a typical one; reported costs are
  recomputed from the original matrix. Durations are scaled independently.
- The matrix should hold shortest-path distances (as from a road network):
  a bus drives directly from one stop to the next and never passes through
  a zero-demand node.
- PyVRP caps its penalty per unit of excess load at ``1e5`` by default, which
  is small next to scaled distances of ``1e6``; the cap is raised to
  ``100 x`` the largest scaled distance or duration so overloaded routes never
  look cheap.
- Limits that cannot be met: a node whose shortest possible route (Dijkstra
  through the matrix, to the school or depot and back) exceeds ``max_route``
  or ``max_duration`` is left out and listed in ``VRPResult.unserved`` with
  the numbers in ``message``; the other nodes are still routed, the status
  is ``Status.INFEASIBLE`` and ``closest`` is true (the routes are the closest
  plan: every other pupil carried within the limits). A node PyVRP could not
  place on a feasible route gets a bus of its own if that is within the limits
  (noted in ``message``), else it is unserved too. Returned routes always
  respect capacity and limits (in the scaled integer data).
- Objective: total distance (bus-km). The number of buses is not limited and
  not minimised unless ``vehicle_cost`` (a cost per bus in distance units) is
  given.
- Stopping rule (the time budget, deterministic). ``time_limit`` is the
  user's budget in seconds. Without ``max_iterations`` the search runs
  :func:`budget_iterations` iterations of PyVRP's iterated local search: the
  budget times a fixed calibrated rate that falls with the number of visits
  ``n`` (``ITERATIONS_PER_SECOND * (100 / n) ** (2/3)``, measured on the
  project's 2-core reference machine with the CVRPLIB instances of
  ``bench/bench_routing.py``, kept conservative so that the budget is rarely
  exceeded), or stops earlier after :func:`stall_iterations` iterations without
  improvement (small instances converge in a fraction of the budget). Both
  counts depend only on ``n`` and the budget, so the same inputs and ``seed``
  give the same routes on any machine, loaded or not. A wall-clock cap of
  ``SAFETY_FACTOR`` times the budget stops a run on a machine far slower than
  the reference; only then does the result depend on the machine, and
  ``VRPResult.stopped_by`` says ``"time_cap"``. With ``max_iterations`` given,
  exactly that many iterations run (no stall rule) and ``time_limit`` is the
  wall-clock cap.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from pyvrp import (
    Client,
    Depot,
    Location,
    PenaltyParams,
    ProblemData,
    SolveParams,
    VehicleType,
    solve,
)
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, NoImprovement
from scipy.sparse.csgraph import csgraph_from_dense, dijkstra

from models.status import Status

SOLVER = "pyvrp"
#: iterations per second of budget at 100 visits on the reference machine
#: (measured about 850 to 1,350 per second for 101 to 51 visits; see the module doc)
ITERATIONS_PER_SECOND = 700.0
_SIZE_EXPONENT = 2.0 / 3.0   # iteration speed falls as n ** (2/3) (measured)
_SIZE_REFERENCE = 100.0      # not-a-rule: visits at which ITERATIONS_PER_SECOND holds
_STALL_BASE = 1000           # stall rule: 1,000 + 150 n iterations without improvement
_STALL_PER_VISIT = 150
SAFETY_FACTOR = 3.0          # wall-clock cap = this x the budget
_TARGET_MAX = 1e6     # scaled largest finite entry at least this
_TARGET_TYPICAL = 1e4  # scaled median positive entry at least this
_CEILING = 1e12        # scaled largest finite entry at most this
_MISSING = 1 << 40     # integer stand-in for an infinite (missing) edge
_HALF = 0.5            # not-a-rule: rounding half up to the nearest integer


@dataclass
class VRPResult:
    """Routes found by :func:`solve_vrp`.

    Attributes
    ----------
    routes
        One list of original node indices per bus, in visiting order, depot
        (closed) or school (open) excluded. Routes are sorted
        lexicographically.
    loads
        Pupils picked up at each visit, aligned with ``routes``.
    cost
        Total distance recomputed from the input matrix, in its own units
        (without ``vehicle_cost``).
    status
        :class:`models.status.Status`: ``FEASIBLE`` when every pupil is carried
        within all limits, ``INFEASIBLE`` otherwise (see ``unserved``,
        ``message`` and ``closest``). The solver is a heuristic, so never
        ``OPTIMAL``.
    solver
        Always ``"pyvrp"``.
    seconds
        Wall-clock time of the whole call.
    num_vehicles
        Number of routes (buses).
    route_distances
        Distance of each route in the input units.
    route_durations
        Duration of each route when ``durations`` was given, else ``None``.
    unserved
        Nodes that no route can serve within the limits (sorted).
    message
        A note for the developer when ``status`` is ``INFEASIBLE`` or nodes
        fell back to buses of their own (the planner reads the consolidation
        model's explanations, not this).
    """

    routes: list[list[int]]
    loads: list[list[int]]
    cost: float
    status: Status
    solver: str
    seconds: float
    num_vehicles: int
    route_distances: list[float] = field(default_factory=list)
    route_durations: list[float] | None = None
    unserved: list[int] = field(default_factory=list)
    message: str = ""
    closest: bool = False
    iterations: int = 0          # iterations PyVRP ran (0: nothing to search)
    max_iterations: int = 0      # the iteration budget of the run
    stopped_by: str = ""         # "iterations" | "no_improvement" | "time_cap" | "" (no search)


def budget_iterations(visits: int, seconds: float) -> int:
    """Iterations a budget of ``seconds`` buys for ``visits`` clients (module doc)."""
    n = max(1, int(visits))
    rate = ITERATIONS_PER_SECOND * (_SIZE_REFERENCE / n) ** _SIZE_EXPONENT
    return max(1, math.ceil(rate * float(seconds)))


def stall_iterations(visits: int) -> int:
    """Iterations without improvement after which a budgeted search stops."""
    return _STALL_BASE + _STALL_PER_VISIT * max(1, int(visits))


def solve_vrp(
    distances: Sequence[Sequence[float]] | np.ndarray,
    demands: Sequence[int] | np.ndarray,
    capacity: int,
    depot: int = 0,
    max_route: float | None = None,
    open_end: int | None = None,
    time_limit: float = 10.0,
    seed: int = 0,
    durations: Sequence[Sequence[float]] | np.ndarray | None = None,
    max_duration: float | None = None,
    *,
    max_iterations: int | None = None,
    vehicle_cost: float = 0.0,
) -> VRPResult:
    """Route buses of equal capacity to pick up all pupils.

    Parameters
    ----------
    distances
        Square matrix, ``distances[i][j]`` >= 0 from node i to node j (may be
        asymmetric, ``inf`` = no edge). The diagonal is ignored.
    demands
        Pupils (non-negative integers) waiting at each node.
    capacity
        Seats per bus (positive integer).
    depot
        Start and end of closed tours. Ignored when ``open_end`` is given.
    max_route
        Maximum distance of one route (closed: whole tour; open: from the
        first pickup to the school, i.e. the longest ride of a pupil).
    open_end
        School node: routes start free at their first pickup and end here.
    time_limit
        The time budget in seconds: it sets the number of iterations
        (:func:`budget_iterations`) unless ``max_iterations`` is given, in
        which case it is only the wall-clock cap.
    seed
        Seed for PyVRP's random number generator.
    durations
        Optional travel-time matrix with the same shape as ``distances``.
    max_duration
        Maximum duration of one route, in the units of ``durations``.
    max_iterations
        Iterations of the local search; default: from the budget.
    vehicle_cost
        Cost per bus used, in distance units, added to the objective.

    Returns
    -------
    VRPResult

    Raises
    ------
    ValueError
        On a non-square or negative matrix, NaN or -inf entries, demands of the wrong
        length, negative or fractional demands, a non-positive capacity, a
        depot or school index out of range, positive demand at the depot or
        school, ``max_duration`` without ``durations``, or non-positive
        limits.
    """
    t0 = time.perf_counter()
    dist = _check_matrix(distances, "distances")
    n = dist.shape[0]
    dem = _check_demands(demands, n)
    if isinstance(capacity, bool) or int(capacity) != capacity or capacity < 1:
        raise ValueError(f"capacity must be a positive integer, got {capacity!r}.")
    capacity = int(capacity)
    end = depot if open_end is None else open_end
    for name, idx in (("depot", depot), ("open_end", open_end)):
        if idx is not None and not 0 <= idx < n:
            raise ValueError(f"{name} {idx} is out of range for {n} nodes.")
    if dem[end] != 0:
        what = "school (open_end)" if open_end is not None else "depot"
        raise ValueError(f"the {what} node {end} has demand {dem[end]}; it must be 0.")
    dur = None
    if durations is not None:
        dur = _check_matrix(durations, "durations")
        if dur.shape != dist.shape:
            raise ValueError(
                f"durations has shape {dur.shape}, distances has shape {dist.shape}.")
    if max_duration is not None and dur is None:
        raise ValueError("max_duration needs a durations matrix.")
    for name, val in (("max_route", max_route), ("max_duration", max_duration),
                      ("time_limit", time_limit)):
        if val is not None and not val > 0:
            raise ValueError(f"{name} must be positive, got {val!r}.")
    if max_iterations is not None and max_iterations < 1:
        raise ValueError(f"max_iterations must be positive, got {max_iterations!r}.")
    if vehicle_cost < 0:
        raise ValueError(f"vehicle_cost must be >= 0, got {vehicle_cost!r}.")

    open_route = open_end is not None
    dscale = _scale_factor(dist)
    idist = _to_int(dist, dscale)
    tscale = _scale_factor(dur) if dur is not None else 1.0
    idur = _to_int(dur, tscale) if dur is not None else np.zeros_like(idist)
    dist_cap = _int_limit(max_route, dscale)
    dur_cap = _int_limit(max_duration, tscale)

    # Nodes that no route can serve: even the shortest path through the
    # matrix (a lower bound on any route containing the node) is too long.
    stops = [v for v in range(n) if v != end and dem[v] > 0]
    unserved, reasons = [], []
    for mat in (dist, dur):
        if mat is not None and np.isinf(mat).any():
            reach = _shortest_round_trip(mat, end, open_route)
            for v in stops:
                if np.isinf(reach[v]) and v not in unserved:
                    unserved.append(v)
                    reasons.append(f"node {v} has no finite route "
                                   f"{'to' if open_route else 'from and to'} node {end}")
    for cap, imat, mat, name, lim in ((dist_cap, idist, dist, "max_route", max_route),
                                      (dur_cap, idur, dur, "max_duration", max_duration)):
        if cap is None:
            continue
        assert mat is not None  # a limit on durations needs durations (checked above)
        need = _shortest_round_trip(imat, end, open_route)
        real = _shortest_round_trip(mat, end, open_route)
        for v in stops:
            if need[v] > cap and v not in unserved:
                unserved.append(v)
                reasons.append(f"node {v} needs at least {real[v]:g} > {name} {lim:g}")

    # Full-bus chunks get their own route; remainders go to PyVRP.
    routes: list[list[int]] = []
    loads: list[list[int]] = []
    visits: list[tuple[int, int]] = []  # (node, load) routed by PyVRP
    for v in stops:
        if v in unserved:
            continue
        full, rest = divmod(int(dem[v]), capacity)
        routes += [[v] for _ in range(full)]
        loads += [[capacity] for _ in range(full)]
        if rest:
            visits.append((v, rest))

    fallback: list[int] = []
    iters = (0, 0, "")
    if visits:
        r, ld, failed, iters = _run_pyvrp(idist, idur, visits, capacity, end, open_route,
                                          dist_cap, dur_cap, dscale, vehicle_cost,
                                          time_limit, seed, max_iterations)
        routes += r
        loads += ld
        # Rare: PyVRP could not place a node on a feasible route (e.g. the only
        # short path to the school passes a stop whose pupils do not fit).
        for v in failed:
            rest = int(dem[v]) % capacity
            solo_d = idist[v, end] + (0 if open_route else idist[end, v])
            solo_t = idur[v, end] + (0 if open_route else idur[end, v])
            if (solo_d < _MISSING and solo_t < _MISSING
                    and (dist_cap is None or solo_d <= dist_cap)
                    and (dur_cap is None or solo_t <= dur_cap)):
                routes.append([v])
                loads.append([rest])
                fallback.append(v)
            else:
                unserved.append(v)
                reasons.append(f"node {v}: no feasible route found (alone it needs "
                               f"{_path_length(dist, [v], end, open_route):g})")

    order = sorted(range(len(routes)), key=lambda k: (routes[k], loads[k]))
    routes = [routes[k] for k in order]
    loads = [loads[k] for k in order]
    route_dist = [_path_length(dist, r, end, open_route) for r in routes]
    route_dur = ([_path_length(dur, r, end, open_route) for r in routes]
                 if dur is not None else None)

    status, message = Status.FEASIBLE, ""
    if fallback:
        message = (f"PyVRP left node(s) {', '.join(map(str, fallback))} on infeasible "
                   "routes; each got a bus of its own. A longer search may do better. ")
    if unserved:
        status = Status.INFEASIBLE
        message += (f"{len(unserved)} node(s) cannot be served and are left out: "
                    + "; ".join(reasons) + ".")
    return VRPResult(
        routes=routes, loads=loads, cost=float(sum(route_dist)), status=status,
        solver=SOLVER, seconds=time.perf_counter() - t0, num_vehicles=len(routes),
        route_distances=route_dist, route_durations=route_dur,
        unserved=sorted(unserved), message=message, closest=bool(unserved),
        iterations=iters[0], max_iterations=iters[1], stopped_by=iters[2])


def route_cost(distances: Sequence[Sequence[float]] | np.ndarray,
               routes: Sequence[Sequence[int]], depot: int = 0,
               open_end: int | None = None) -> float:
    """Total length of ``routes`` with the conventions of :func:`solve_vrp`."""
    dist = np.asarray(distances, dtype=float)
    end = depot if open_end is None else open_end
    return float(sum(_path_length(dist, r, end, open_end is not None) for r in routes))


def _run_pyvrp(idist: np.ndarray, idur: np.ndarray, visits: list[tuple[int, int]],
               capacity: int, end: int, open_route: bool, dist_cap: int | None,
               dur_cap: int | None, dscale: float, vehicle_cost: float,
               time_limit: float, seed: int, max_iterations: int | None,
               ) -> tuple[list[list[int]], list[list[int]], list[int], tuple[int, int, str]]:
    """Route the ``visits`` with PyVRP; return feasible routes, their loads,
    the nodes PyVRP left on infeasible routes or unplanned, and (iterations
    run, iteration budget, what stopped the search)."""
    n = idist.shape[0]
    size = n + 1 if open_route else n
    dmat = np.zeros((size, size), dtype=np.int64)
    tmat = np.zeros((size, size), dtype=np.int64)
    dmat[:n, :n] = idist
    tmat[:n, :n] = idur
    # Location n (open routes only) is the dummy start: zero edges to and from
    # every node.
    locations = [Location(0.0, 0.0) for _ in range(size)]
    clients = [Client(location=v, delivery=[q]) for v, q in visits]
    big = np.iinfo(np.int64).max
    if open_route:
        depots = [Depot(location=end), Depot(location=n)]
        start, stop_depot = 1, 0
    else:
        depots = [Depot(location=end)]
        start, stop_depot = 0, 0
    vehicle = VehicleType(
        num_available=len(visits), capacity=[capacity], start_depot=start,
        end_depot=stop_depot, fixed_cost=round(vehicle_cost * dscale),
        shift_duration=big if dur_cap is None else dur_cap,
        max_distance=big if dist_cap is None else dist_cap)
    data = ProblemData(locations, clients, depots, [vehicle], [dmat], [tmat])
    # PyVRP caps its penalty per unit of excess load / duration / distance at
    # 1e5 by default; with large (scaled) distances overloaded routes would
    # then look cheap, so the cap grows with the data.
    top = max(1e5, 100.0 * float(max(dmat[dmat < _MISSING].max(),
                                      tmat[tmat < _MISSING].max())))
    if max_iterations is None:
        budget = budget_iterations(len(visits), time_limit)
        cap = SAFETY_FACTOR * time_limit
        stall = stall_iterations(len(visits))
        stop = MultipleCriteria([MaxIterations(budget), NoImprovement(stall), MaxRuntime(cap)])
    else:
        budget, cap = int(max_iterations), time_limit
        stop = MultipleCriteria([MaxIterations(budget), MaxRuntime(cap)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        res = solve(data, stop, seed=seed, collect_stats=False, display=False,
                    params=SolveParams(penalty=PenaltyParams(max_penalty=top)))
    routes, loads, failed = [], [], []
    for route in res.best.routes():
        idx = [act.idx for act in route if act.is_client()]
        path = [visits[c][0] for c in idx] + [end]
        if not open_route:
            path = [end] + path
        missing = any(dmat[a, b] >= _MISSING or tmat[a, b] >= _MISSING
                      for a, b in itertools.pairwise(path))
        if route.is_feasible() and not missing:
            routes.append([visits[c][0] for c in idx])
            loads.append([visits[c][1] for c in idx])
        else:
            failed += idx
    planned = {act.idx for act in res.best.unplanned() if act.is_client()}
    failed += sorted(planned)
    done = int(res.num_iterations)
    why = ("iterations" if done >= budget else
           "time_cap" if res.runtime >= cap * (1 - 1e-3) else "no_improvement")
    return routes, loads, [visits[c][0] for c in failed], (done, budget, why)


def _shortest_round_trip(mat: np.ndarray, end: int, open_route: bool) -> np.ndarray:
    """Shortest length of a route through each node: to ``end`` (open) or
    from ``end`` and back (closed), passing through any nodes."""
    mat = np.where(mat >= _MISSING, np.inf, mat.astype(float))
    graph = csgraph_from_dense(mat, null_value=np.inf)
    back = dijkstra(graph.T.tocsr(), indices=end)  # node -> end
    if open_route:
        return back
    return dijkstra(graph, indices=end) + back


def _path_length(mat: np.ndarray, route: Sequence[int], end: int,
                 open_route: bool) -> float:
    path = list(route) + [end]
    if not open_route:
        path = [end] + path
    return float(sum(mat[a, b] for a, b in itertools.pairwise(path)))


def _check_matrix(matrix, name: str) -> np.ndarray:
    try:
        arr = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric square matrix: {exc}") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square matrix, got shape {arr.shape}.")
    if np.any(np.isnan(arr) | (arr == -np.inf)):
        i, j = np.argwhere(np.isnan(arr) | (arr == -np.inf))[0]
        raise ValueError(f"{name}[{i}][{j}] is {arr[i, j]}; use inf for a missing edge.")
    off = ~np.eye(arr.shape[0], dtype=bool)
    if np.any(arr[off] < 0):
        i, j = np.argwhere((arr < 0) & off)[0]
        raise ValueError(f"{name}[{i}][{j}] = {arr[i, j]:g} is negative.")
    arr = arr.copy()
    np.fill_diagonal(arr, 0.0)
    return arr


def _check_demands(demands, n: int) -> np.ndarray:
    arr = np.asarray(demands, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"demands has shape {arr.shape}; expected ({n},) for {n} nodes.")
    bad = np.flatnonzero((arr < 0) | (arr != np.round(arr)) | ~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"demands must be non-negative integers; node {bad[0]} has {arr[bad[0]]:g}.")
    return arr.astype(np.int64)


def _scale_factor(mat: np.ndarray) -> float:
    """1 for whole-number data, else the power of ten described in the module doc."""
    finite = mat[np.isfinite(mat)]
    if np.all(finite == np.round(finite)):
        return 1.0
    top = float(finite.max())
    typical = float(np.median(finite[finite > 0]))
    k = max(0, math.ceil(math.log10(_TARGET_MAX / top)),
            math.ceil(math.log10(_TARGET_TYPICAL / typical)))
    while k > 0 and top * 10 ** k > _CEILING:
        k -= 1
    return float(10 ** k)


def _to_int(mat: np.ndarray, scale: float) -> np.ndarray:
    out = np.full(mat.shape, _MISSING, dtype=np.int64)
    finite = np.isfinite(mat)
    out[finite] = np.floor(mat[finite] * scale + _HALF)
    return out


def _int_limit(limit: float | None, scale: float) -> int | None:
    if limit is None:
        return None
    return math.floor(limit * scale + _HALF)
