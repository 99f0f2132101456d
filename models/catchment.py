r"""Contiguous school catchment zones as a pure assignment MIP.

Each territorial unit (村/社区, grid cell, …) is assigned, whole, to exactly one
school of the stage; each school's zone must be contiguous on the unit adjacency
graph and contain the school's own (home) unit.

Formulation
-----------
Sets: units :math:`U`, schools :math:`S`, home unit :math:`h(s)` of school
:math:`s`, shared-edge neighbours :math:`N(u)`. Data: children :math:`c_u`,
seats :math:`q_s` (the school's places for the zone, in children), cost
:math:`d_{us}` (road km or minutes; ``inf``/``None`` means *forbidden*, never a big
number), optional current school :math:`\sigma(u)`, stability penalty :math:`\pi`
per pupil whose school changes and an optional cap :math:`L` on those pupils.

Candidates :math:`C_u \subseteq S`: schools with finite cost, optionally only
the ``k_nearest`` by ``(cost, school index)``, always keeping the current school
and the school(s) whose home unit :math:`u` is.  A home unit may only go to its
school (``x[h(s), s] = 1``).  *The contiguous problem* of this module is the one
on these candidates: every bound and gap below is relative to it.

.. math::

    \min \; & \sum_{u,s} c_u\,(d_{us} + \pi\,[s \ne \sigma(u)])\,x_{us} \\
    \text{s.t. } & \sum_{s \in C_u} x_{us} = 1 \quad \forall u
      \qquad \sum_u c_u x_{us} \le q_s \quad \forall s
      \qquad x_{h(s)s} = 1, \; x \in \{0,1\} \\
    & \sum_{u,\, s \ne \sigma(u)} c_u x_{us} \le L \quad \text{(when a cap is given)}

The stability term is the *priced* form (:attr:`CatchmentProblem.stability_penalty`),
the cap the *level* form (:attr:`CatchmentProblem.max_changed`); with neither, the
zones may move anyone.  A unit without a current school never counts as changed.

Contiguity (``mode``, required: the planner's default lives in its parameters,
``planner.core.params.CatchmentParams.contiguity``):

``"cheap"`` (sufficient, a *restriction*):
    order the units for school :math:`s` by the key
    :math:`k_s(u) = ([u \ne h(s)],\ d_{us},\ \text{index}(u))`;
    :math:`x_{us} \le \sum_{v \in N(u),\ k_s(v) < k_s(u)} x_{vs}` for
    :math:`u \ne h(s)`.  Every member of the zone then has a path of strictly
    decreasing key to :math:`h(s)` inside the zone, so the zone is connected.
    A unit with no closer neighbour (that can itself join) cannot join
    :math:`s`; such pairs are removed before the model is built.
``"sweep"`` (sufficient, a *restriction*, a variant of ``cheap``):
    the same constraint, with the units ordered by a sweep from
    :math:`h(s)` instead of by cost: the region grows through candidate units,
    always adding the frontier unit of smallest cost.  Every unit connected to
    :math:`h(s)` then has an earlier neighbour, so the rule never strands a
    unit that is a local minimum of cost.  Neither rule dominates the other.
``"exact"`` (exact: row generation with separator cuts, Validi, Buchanan &
Lykhovyd 2022):
    start from the assignment with the length-one separators
    :math:`x_{us} \le \sum_{v \in N(u)} x_{vs}` (a non-home member has a
    neighbour in its zone), solve, and for every component :math:`K` of a zone
    that misses :math:`h(s)` add, for each :math:`u \in K`,
    :math:`x_{us} \le \sum_{w \in Q} x_{ws}` with :math:`Q` a minimal
    :math:`K`–:math:`h(s)` vertex separator in the graph of the candidates of
    :math:`s` (the neighbours of :math:`K` that touch the component of
    :math:`h(s)` once the neighbours are removed); resolve until every zone is
    connected or the best contiguous plan so far (a MIP start of every later
    round) is within the gap of the bound.  Every contiguous plan satisfies every
    cut, so each round's dual bound is a valid bound of the contiguous problem.
    Each round is solved to half the gap asked for (:meth:`_Run.round_gap`). A
    round's plan that is cut is *mended* into a contiguous incumbent: by moves of
    the cut pieces (:func:`_repair`), else by re-solving exactly, with the same
    loop, only the zones with a cut piece and their neighbours, every other zone
    fixed (:meth:`_Run._local`); on the bundled district's primary stage this
    proves the first round's mended plan within 0.94 % where a second round cost
    more than the first. Only when nothing mends a plan does the loop solve the
    ``sweep`` model for an incumbent; if time runs out before a contiguous plan,
    the ``sweep`` plan is given, judged against the loop's bound.
``"flow"`` (exact, Shirabe 2009; kept for comparison, slower than ``exact``):
    a single-commodity flow per school from :math:`h(s)`; every other member of
    the zone consumes one unit, arcs may only enter members:
    :math:`\sum_{i} f^s_{iu} - \sum_{j} f^s_{uj} = x_{us}` and
    :math:`f^s_{iu} \le M_s x_{us}`, with :math:`M_s` the largest number of
    non-home units that fit in the school's spare seats; warm-started from the
    ``sweep`` plan (its flows along a breadth-first tree of each zone).
``"none"``:
    no contiguity (for comparison only: the price of contiguity).

For ``exact`` and ``flow``, units not connected to :math:`h(s)` through
candidates of :math:`s` are removed first.

Honest optimality
-----------------
``gap`` and ``bound`` of a result are against a valid lower bound of the
*contiguous* problem, never against the restricted model's own bound: for
``cheap`` and ``sweep`` the bound is the dual bound of the first round of
``exact`` (the assignment with the length-one separators: a relaxation of every
contiguous plan), solved after the restricted model, warm-started from its plan;
for ``exact`` and ``flow`` it is the model's own dual bound. ``solver_gap`` is the
restricted model's own gap (0 when the restriction is solved to optimality).
With CBC (no dual bound through pulp) the bound of a proven run is
``objective × (1 − gap)`` of the gap asked for, else unknown.

Infeasibility
-------------
A pre-check finds units that no school can serve (no finite cost, no
contiguous path of candidates, a home unit larger than its school, demand over
total seats).  If the pre-check fails or the strict model is infeasible, a
relaxed model with an "unassigned" option :math:`y_u` is solved, each
unassigned child carrying a big penalty (ten times the largest candidate cost
per child; a plan therefore assigns a child whenever some reachable school can
take it at less than that).  The relaxed model uses the mode's contiguity rule,
``sweep`` for ``exact`` (a closest plan is a heuristic answer in any case).
``exact`` without a contiguous plan (no round's plan connected, no sweep plan) stops
its loop at :data:`STALL_SHARE` of the time limit and gives the closest plan with
status ``NO_PLAN_IN_TIME`` (infeasibility not proven).  The
result has status :data:`~models.status.Status.INFEASIBLE`, ``closest=True``, the
closest plan, and one :class:`Shortfall` per unassigned unit with the numbers
(children, seats and demand within reach, seats missing, a suggested site for a
new school) and a ``code`` saying which limit binds (the words are the caller's).

Rules (indicator 21)
--------------------
Indicator 21 asks that a share of the pupils of urban and town schools live in
their school's catchment: every unassigned child of a catchment plan is a direct
failure of it, so :attr:`CatchmentResult.zoned_share` is reported (the planner
computes the indicator itself, per school, from the assignment).

This module does not import :mod:`planner`; it only uses
:func:`models.mip.solve_problem`.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import pulp

from models.mip import SolveInfo, solve_problem
from models.status import Status

MODES = ("cheap", "sweep", "exact", "flow", "none")

#: the modes whose plan is proven against the contiguous problem itself
EXACT_MODES = ("exact", "flow")

#: HiGHS's default relative MIP gap, used as the proof tolerance when none is asked
DEFAULT_GAP = 1e-4

#: ``exact``: the share of the time limit one local re-solve of a cut plan may use
LOCAL_SHARE = 0.1  # not-a-rule: a share of the time limit
#: ``exact``: the node limit of every solve of a local re-solve — a work limit, so
#: that its plan, the start of the rounds after it, is the same on any machine
#: (LOCAL_SHARE stays as a guard; a re-solve stopped by it is noted TIMED_OUT)
LOCAL_NODES = 500

#: ``exact``: the share of the time limit after which a cut loop that has no
#: contiguous plan (and no sweep plan to start from) stops, leaving the rest of the
#: time for the closest plan
STALL_SHARE = 0.3  # not-a-rule: a share of the time limit
#: the cut loop hands a problem of at most FLOW_MAX_VARS assignment variables to the
#: exact flow model after FLOW_AFTER_ROUNDS round(s) whose plan is cut (small, tight
#: counties: 30 units × 4 junior schools took 8 rounds and 56 s unproven; the flow
#: model, warm-started from the best plan, proves it within the gap in ~10 s)
FLOW_AFTER_ROUNDS = 1
FLOW_MAX_VARS = 2000  # not-a-rule: a model size, not the school size limit
#: a cut plan of a problem that goes to the flow model is not mended locally when the
#: local re-solve would free more than this share of the units (it would solve
#: nearly the whole problem twice: the province's small counties free all of them)
LOCAL_MAX_FREE = 0.75  # not-a-rule: a share of the units
#: ``exact``: the node limit of the flow model the cut loop hands a problem to — a
#: work limit, so that its plan is the same on any machine and under any load (the
#: time limit stays as a guard, noted TIMED_OUT). The flow model's LP is weak: on
#: the synthetic counties of 20–60 schools it explores 15–55 nodes a second (500
#: nodes: 8–25 s on the 2-core benchmark machine; 1000 nodes never fitted in the 60 s
#: province scenario's stage budgets), proves the gap within a few hundred nodes when
#: it can (225, 483 seen), and otherwise gains a few tenths of a per cent of bound per
#: thousand nodes; stopped here the plan is ``FEASIBLE`` with its honest gap and
#: ``stopped_by == "nodes"``
FLOW_NODES = 500  # not-a-rule: a solver's effort

#: the note of a plan one of whose solves was stopped by its time limit or share
#: (a plan that depends on the machine's speed and load; the province flags it)
TIMED_OUT = "a solve stopped at its time limit: the plan depends on the machine's speed"

__all__ = [
    "EXACT_MODES",
    "MODES",
    "SHORTFALL_CODES",
    "CatchmentProblem",
    "CatchmentResult",
    "SchoolLoad",
    "Shortfall",
    "solve_catchments",
    "verify_catchments",
    "zones_contiguous",
]


# --------------------------------------------------------------------------- data


@dataclass
class CatchmentProblem:
    """Plain data of a catchment problem for one stage.

    Parameters
    ----------
    unit_ids : sequence of hashable
        Unit identifiers (unique).
    children : sequence of int
        Children of the stage living in each unit (same order as ``unit_ids``).
    school_ids : sequence of hashable
        School identifiers (unique).
    seats : sequence of int
        Seats available for the zone of each school, in children.
    home_units : sequence of hashable
        Unit containing each school.  Two schools may not share a home unit
        (split the unit or merge the co-located schools).
    cost : array-like, shape (n_units, n_schools)
        Road distance (km) or time (minutes); ``None``, ``nan`` or ``inf``
        means unreachable (forbidden, not a big cost).
    adjacency : sequence of (unit, unit)
        Shared-edge neighbours (undirected; duplicates and self-loops ignored).
    current : mapping unit -> school, optional
        Today's school of each unit (may name a school not in ``school_ids``,
        e.g. a closed one: then every option is a change).
    stability_penalty : float
        Cost added per pupil whose school changes (same unit as ``cost``).
    k_nearest : int, optional
        Keep only the ``k`` cheapest schools per unit (plus the current school
        and the unit's own school) to make the model sparse.
    max_changed : int, optional
        At most this many children may change school (the level form of
        stability); ``None``: no cap.
    """

    unit_ids: Sequence[Hashable]
    children: Sequence[int]
    school_ids: Sequence[Hashable]
    seats: Sequence[int]
    home_units: Sequence[Hashable]
    cost: Any
    adjacency: Sequence[tuple[Hashable, Hashable]]
    current: Mapping[Hashable, Hashable] | None = None
    stability_penalty: float = 0.0
    k_nearest: int | None = None
    max_changed: int | None = None

    def cost_array(self) -> np.ndarray:
        """Return the cost matrix as floats with ``inf`` for forbidden pairs."""
        rows = [[math.inf if v is None else float(v) for v in row] for row in self.cost]
        arr = np.array(rows, dtype=float).reshape(len(self.unit_ids), len(self.school_ids))
        arr[np.isnan(arr)] = math.inf
        return arr

    def validate(self) -> None:
        """Raise ``ValueError`` with the reason when the data are inconsistent."""
        nu, ns = len(self.unit_ids), len(self.school_ids)
        if len(set(self.unit_ids)) != nu:
            raise ValueError("unit ids are not unique")
        if len(set(self.school_ids)) != ns:
            raise ValueError("school ids are not unique")
        if len(self.children) != nu:
            raise ValueError(f"children has {len(self.children)} entries for {nu} units")
        if len(self.seats) != ns or len(self.home_units) != ns:
            raise ValueError("seats and home_units need one entry per school")
        if any(c < 0 for c in self.children) or any(q < 0 for q in self.seats):
            raise ValueError("children and seats must be non-negative")
        units = set(self.unit_ids)
        for s, h in zip(self.school_ids, self.home_units):
            if h not in units:
                raise ValueError(f"home unit {h!r} of school {s!r} is not a unit")
        if len(set(self.home_units)) != ns:
            raise ValueError("two schools share a home unit: split the unit or merge "
                             "the co-located schools into one school")
        for a, b in self.adjacency:
            if a not in units or b not in units:
                raise ValueError(f"adjacency pair ({a!r}, {b!r}) names an unknown unit")
        if self.stability_penalty < 0:
            raise ValueError("stability_penalty must be >= 0")
        if self.k_nearest is not None and self.k_nearest < 1:
            raise ValueError("k_nearest must be >= 1")
        if self.max_changed is not None and self.max_changed < 0:
            raise ValueError("max_changed must be >= 0")
        cost = self.cost_array()
        if np.any(cost < 0):
            raise ValueError("costs must be non-negative")
        uix = {u: i for i, u in enumerate(self.unit_ids)}
        for j, h in enumerate(self.home_units):
            if not math.isfinite(cost[uix[h], j]):
                raise ValueError(f"school {self.school_ids[j]!r} cannot serve its own unit")


@dataclass(frozen=True)
class SchoolLoad:
    """Children assigned to a school against its seats."""

    school: Hashable
    children: int
    seats: int
    ratio: float


#: why a unit is left out of the closest plan (:attr:`Shortfall.code`)
SHORTFALL_CODES = (
    "home_over_seats",       # the school's own unit has more children than its seats
    "no_school_in_reach",    # every cost of the unit is infinite
    "no_contiguous_path",    # reachable schools, but no path of joinable units to one
    "seats_missing",         # demand within reach exceeds the seats within reach
    "seats_fragmented",      # seats exist but no school it can join has room for it
)


@dataclass(frozen=True)
class Shortfall:
    """Why a unit could not be assigned, with the numbers.

    Attributes
    ----------
    unit, children : the unassigned unit and its children.
    code : which limit binds, one of :data:`SHORTFALL_CODES`.
    reason : the same in plain English (for library users; a planner's words are
        made from ``code`` and the numbers).
    reachable_by_cost : schools of finite cost from the unit.
    reachable_schools : schools the unit could join in this model (finite cost,
        candidate, contiguous path under the mode's rule).
    seats_within_reach : seats of those schools.
    demand_within_reach : children of every unit that can reach one of them.
    seats_missing : ``max(0, demand_within_reach - seats_within_reach)`` (or the
        unit's children when no school is reachable).
    largest_spare : the most spare seats at a reachable school in the closest plan.
    suggested_site : unit with the most children in the connected group of
        unassigned units containing this one: where a new school would help.
    group_children : children of that group (seats the new school would need).
    """

    unit: Hashable
    children: int
    code: str
    reason: str
    reachable_by_cost: int
    reachable_schools: tuple
    seats_within_reach: int
    demand_within_reach: int
    seats_missing: int
    largest_spare: int
    suggested_site: Hashable
    group_children: int


@dataclass
class CatchmentResult:
    """Outcome of :func:`solve_catchments`.

    ``status`` is a :class:`~models.status.Status`: ``OPTIMAL`` (proven within the
    gap asked for, against the contiguous problem's bound for ``exact`` and
    ``flow``; against the restricted model's own for ``cheap`` and ``sweep``, whose
    honest distance is ``gap``), ``FEASIBLE`` (with ``gap``), ``NO_PLAN_IN_TIME`` or
    ``ERROR`` as the solver reports, or ``INFEASIBLE`` when some units could not be
    assigned. ``closest`` is true when ``assignment`` is then the relaxed *closest
    plan* (``None`` for the unassigned units; ``shortfalls`` explains each of them);
    it is false for a plan that meets every hard limit and when there is no plan at
    all.  ``bound``: a valid lower bound of the contiguous problem's objective (the
    module docstring, "Honest optimality"); ``gap = (objective − bound) / objective``;
    ``solver_gap``: the solved model's own gap.  ``rounds`` and ``cuts``: the
    ``exact`` loop's solves and separator rows.  ``seconds`` is the whole call
    (pre-processing, model build, solves, bound); ``solver_seconds`` the solver
    alone; ``notes`` lists the pre-check findings and whether the relaxed model was
    used.  ``objective`` is recomputed from the plan: travel cost (children × cost)
    plus stability cost (penalty × pupils whose school changes), unassigned units
    excluded.  ``k_nearest``: the candidate schools per unit the plan was made with
    (the problem's, or more when ``widen`` doubled it).  ``stopped_by``: why a plan
    is not proven within the gap — ``"time"`` (a solve stopped by the clock: the notes
    say :data:`TIMED_OUT`, the plan depends on the machine), ``"nodes"`` (the flow
    model stopped at :data:`FLOW_NODES`: the same plan on any machine) or ``None``.
    """

    assignment: dict
    loads: dict
    objective: float | None
    travel_cost: float
    stability_cost: float
    status: Status
    gap: float | None
    solver: str
    seconds: float
    mode: str
    pupils_changed: int
    unassigned_children: int
    zoned_share: float
    contiguous: bool
    closest: bool = False
    shortfalls: list = field(default_factory=list)
    violations: list = field(default_factory=list)
    n_variables: int = 0
    n_constraints: int = 0
    solver_seconds: float = 0.0
    notes: list = field(default_factory=list)
    bound: float | None = None
    solver_gap: float | None = None
    rounds: int = 0
    cuts: int = 0
    k_nearest: int | None = None
    stopped_by: str | None = None


# ------------------------------------------------------------------ preprocessing


@dataclass
class _Data:
    p: CatchmentProblem
    cost: np.ndarray
    children: list[int]
    seats: list[int]
    home: list[int]                       # home unit index per school
    home_of: dict[int, int]               # unit index -> school index
    nbrs: list[list[int]]
    current: list[int]                    # school index, -1 none, -2 unknown school
    cand: list[list[int]]                 # candidate schools per unit
    viable: list[list[int]] = field(default_factory=list)    # units per school
    closer: dict = field(default_factory=dict)               # (u, s) -> [v]


def _prepare(p: CatchmentProblem, mode: str) -> _Data:
    p.validate()
    uix = {u: i for i, u in enumerate(p.unit_ids)}
    six = {s: j for j, s in enumerate(p.school_ids)}
    nu = len(p.unit_ids)
    nb: list[set[int]] = [set() for _ in range(nu)]
    for a, b in p.adjacency:
        i, k = uix[a], uix[b]
        if i != k:
            nb[i].add(k)
            nb[k].add(i)
    home = [uix[h] for h in p.home_units]
    cur = []
    for u in p.unit_ids:
        c = None if p.current is None else p.current.get(u)
        cur.append(-1 if c is None else six.get(c, -2))
    d = _Data(p=p, cost=p.cost_array(), children=[int(c) for c in p.children],
              seats=[int(q) for q in p.seats], home=home,
              home_of={h: j for j, h in enumerate(home)},
              nbrs=[sorted(s) for s in nb], current=cur, cand=[])
    d.cand = [_candidates(d, u) for u in range(nu)]
    d.viable = [_viable_units(d, s, mode) for s in range(len(home))]
    return d


def _with_mode(d: _Data, mode: str) -> _Data:
    """The same data with the viable units (and the cheap rule's neighbours) of
    another mode; the candidates are shared."""
    e = _Data(p=d.p, cost=d.cost, children=d.children, seats=d.seats, home=d.home,
              home_of=d.home_of, nbrs=d.nbrs, current=d.current, cand=d.cand)
    e.viable = [_viable_units(e, s, mode) for s in range(len(d.home))]
    return e


def _candidates(d: _Data, u: int) -> list[int]:
    """Candidate schools of unit ``u`` (sorted indices)."""
    if u in d.home_of:
        return [d.home_of[u]]
    row = d.cost[u]
    finite = [j for j in range(len(row)) if math.isfinite(row[j]) and d.home[j] != u]
    k = d.p.k_nearest
    keep = set(sorted(finite, key=lambda j: (row[j], j))[:k] if k else finite)
    if d.current[u] >= 0 and math.isfinite(row[d.current[u]]):
        keep.add(d.current[u])
    return sorted(keep)


def _key(d: _Data, s: int, u: int) -> tuple:
    return (u != d.home[s], d.cost[u, s], u)


def _cost_rank(d: _Data, s: int, members: set[int]) -> dict[int, int]:
    """Rank of each candidate unit of ``s`` by the key (not home, cost, index)."""
    order = sorted(members, key=lambda u: _key(d, s, u))
    return {u: r for r, u in enumerate(order)}


def _sweep_rank(d: _Data, s: int, members: set[int]) -> dict[int, int]:
    """Rank of each unit in the order a sweep from the home unit reaches it.

    The sweep grows a connected region from ``h(s)`` through candidate units,
    always adding the frontier unit of smallest (cost, index); units it never
    reaches get no rank.
    """
    h = d.home[s]
    rank: dict[int, int] = {}
    heap = [(0.0, h)]
    queued = {h}
    while heap:
        _, u = heapq.heappop(heap)
        rank[u] = len(rank)
        for v in d.nbrs[u]:
            if v in members and v not in queued:
                queued.add(v)
                heapq.heappush(heap, (float(d.cost[v, s]), v))
    return rank


def _component(d: _Data, s: int, members: set[int]) -> list[int]:
    """Candidate units of ``s`` connected to its home unit through candidates."""
    return sorted(_bfs(d, d.home[s], members))


def _viable_units(d: _Data, s: int, mode: str) -> list[int]:
    """Units that can join school ``s`` under ``mode`` (sorted indices).

    For ``cheap`` and ``sweep`` also fills ``d.closer[(u, s)]`` with the
    earlier (closer) viable neighbours of each viable non-home unit.
    """
    h = d.home[s]
    members = {u for u in range(len(d.cand)) if s in d.cand[u]}
    if mode == "none":
        return sorted(members)
    if mode in EXACT_MODES:
        return _component(d, s, members)
    rank = (_cost_rank if mode == "cheap" else _sweep_rank)(d, s, members)
    ok: set[int] = set()
    for u in sorted(rank, key=rank.__getitem__):
        closer = sorted(v for v in d.nbrs[u] if v in ok and rank[v] < rank[u])
        if u == h or closer:
            ok.add(u)
        if closer and u != h:
            d.closer[(u, s)] = closer
    return sorted(ok)


# -------------------------------------------------------------------------- model


@dataclass
class _Model:
    prob: pulp.LpProblem
    x: dict                      # (u, s) -> var
    y: dict                      # u -> var (relaxed model only)
    f: dict = field(default_factory=dict)    # (s, i, j) -> flow var (flow model only)


def _options(d: _Data) -> list[list[int]]:
    """Schools unit ``u`` can join in the model (viable), sorted."""
    opts: list[list[int]] = [[] for _ in d.cand]
    for s, units in enumerate(d.viable):
        for u in units:
            opts[u].append(s)
    return opts


def _changes(d: _Data, u: int, s: int) -> bool:
    return d.current[u] != -1 and d.current[u] != s


def _unit_cost(d: _Data, u: int, s: int) -> float:
    pen = d.p.stability_penalty if _changes(d, u, s) else 0.0
    return d.children[u] * (float(d.cost[u, s]) + pen)


def _build(d: _Data, mode: str, relaxed: bool) -> _Model:
    prob = pulp.LpProblem("catchment", pulp.LpMinimize)
    opts = _options(d)
    x = {(u, s): _var(prob, f"x_{u}_{s}", 0, 1, pulp.LpBinary)
         for u in range(len(opts)) for s in opts[u]}
    y = {u: _var(prob, f"y_{u}", 0, 1, pulp.LpBinary)
         for u in range(len(opts))} if relaxed else {}
    prob += _expr([(x[u, s], _unit_cost(d, u, s)) for (u, s) in x])
    for u in range(len(opts)):
        terms = [(x[u, s], 1) for s in opts[u]] + ([(y[u], 1)] if relaxed else [])
        prob += _expr(terms) == 1, f"assign_{u}"
    for s, units in enumerate(d.viable):
        prob += _expr([(x[u, s], d.children[u]) for u in units]) <= d.seats[s], f"cap_{s}"
    if d.p.max_changed is not None:
        moved = [(x[u, s], d.children[u]) for (u, s) in sorted(x) if _changes(d, u, s)]
        prob += _expr(moved) <= d.p.max_changed, "max_changed"
    model = _Model(prob, x, y)
    if mode in ("cheap", "sweep"):
        _add_cheap(d, prob, x)
    elif mode == "flow":
        model.f = _add_flow(d, prob, x)
        # valid for every contiguous plan, and they tighten the flow model's LP: at
        # county size it proves its plans in about half the time
        _add_neighbour_cuts(d, prob, x)
    elif mode == "exact":
        _add_neighbour_cuts(d, prob, x)
    return model


def _var(prob: pulp.LpProblem, name: str, low: float, up: float,
         cat: str = pulp.LpContinuous) -> pulp.LpVariable:
    """New variable attached to ``prob`` (PuLP >= 3.3 API, older fallback)."""
    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def _expr(terms: list) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(terms)


def _add_cheap(d: _Data, prob: pulp.LpProblem, x: dict) -> None:
    for (u, s) in sorted(d.closer):
        terms = [(x[u, s], 1)] + [(x[v, s], -1) for v in d.closer[(u, s)]]
        prob += _expr(terms) <= 0, f"near_{u}_{s}"


def _add_neighbour_cuts(d: _Data, prob: pulp.LpProblem, x: dict) -> None:
    """The length-one separators: a non-home member has a neighbour in its zone."""
    for s, units in enumerate(d.viable):
        inside, h = set(units), d.home[s]
        for u in units:
            if u == h:
                continue
            nb = [v for v in d.nbrs[u] if v in inside]
            prob += _expr([(x[u, s], 1)] + [(x[v, s], -1) for v in nb]) <= 0, f"nb_{u}_{s}"


def _flow_bound(d: _Data, s: int) -> int:
    """Largest number of non-home units that fit in the spare seats of ``s``."""
    h = d.home[s]
    spare = d.seats[s] - d.children[h]
    count = 0
    for c in sorted(d.children[u] for u in d.viable[s] if u != h):
        if c > spare:
            break
        spare -= c
        count += 1
    return count


def _add_flow(d: _Data, prob: pulp.LpProblem, x: dict) -> dict:
    out = {}
    for s, units in enumerate(d.viable):
        h, inside = d.home[s], set(units)
        big = _flow_bound(d, s)
        if big == 0:
            for u in units:
                if u != h:
                    prob += x[u, s] <= 0, f"nofit_{u}_{s}"
            continue
        f = {(i, j): _var(prob, f"f_{s}_{i}_{j}", 0, big)
             for i in units for j in d.nbrs[i] if j in inside and j != h}
        inflow: dict[int, list] = {u: [] for u in units}
        outflow: dict[int, list] = {u: [] for u in units}
        for (i, j), var in f.items():
            outflow[i].append(var)
            inflow[j].append(var)
            prob += _expr([(var, 1), (x[j, s], -big)]) <= 0, f"fcap_{s}_{i}_{j}"
            out[s, i, j] = var
        for u in units:
            if u == h:
                continue
            terms = [(v, 1) for v in inflow[u]] + [(v, -1) for v in outflow[u]]
            prob += _expr(terms + [(x[u, s], -1)]) == 0, f"bal_{s}_{u}"
    return out


# ------------------------------------------------------------------- separation


def _zones_of(d: _Data, plan: Mapping[int, int]) -> list[set[int]]:
    zones: list[set[int]] = [set() for _ in d.home]
    for u, s in plan.items():
        zones[s].add(u)
    return zones


def _bfs(d: _Data, start: int, allowed: set[int]) -> set[int]:
    seen, queue = {start}, deque([start])
    while queue:
        u = queue.popleft()
        for v in d.nbrs[u]:
            if v in allowed and v not in seen:
                seen.add(v)
                queue.append(v)
    return seen


def _separators(d: _Data, plan: Mapping[int, int]) -> list[tuple[int, list[int], list[int]]]:
    """``(school, component, separator)`` for every component of a zone that misses
    the school's home unit (empty when every zone is connected); the separator is
    minimal: the neighbours of the component, in the candidates of the school, that
    touch the home unit's component once all neighbours are removed."""
    out = []
    for s, zone in enumerate(_zones_of(d, plan)):
        h = d.home[s]
        if not zone or zone <= {h}:
            continue
        cand = set(d.viable[s])
        left = set(zone)
        for start in sorted(zone):
            if start not in left:
                continue
            comp = _bfs(d, start, zone)
            left -= comp
            if h in comp:
                continue
            ring = {w for v in comp for w in d.nbrs[v] if w in cand and w not in comp}
            reach = _bfs(d, h, cand - ring) if h not in ring else set()
            sep = sorted(w for w in ring if w == h or any(v in reach for v in d.nbrs[w]))
            out.append((s, sorted(comp), sep))
    return out


def _add_separator_cuts(prob: pulp.LpProblem, x: dict, found: list, round_no: int) -> int:
    n = 0
    for s, comp, sep in found:
        for u in comp:
            prob += (_expr([(x[u, s], 1)] + [(x[w, s], -1) for w in sep]) <= 0,
                     f"sep_{round_no}_{u}_{s}")
            n += 1
    return n


def _repair(d: _Data, plan: Mapping[int, int]) -> dict[int, int] | None:
    """A contiguous plan near a cut one (an incumbent for the cut loop), or ``None``.

    Each piece of a zone cut off from its home unit (largest pieces first, then by
    unit index) is mended by the cheapest of three moves that keep every other zone
    connected, the seats and the cap on changed pupils: the whole piece joins a
    neighbouring zone (every unit of it a candidate there, touching the part of that
    zone that holds its home unit); its units join neighbouring zones one by one; or
    the piece is joined back to its own zone through a cheapest path of units taken
    from the zones between. A few passes; ``None`` when a piece has nowhere to go."""
    out = dict(plan)
    load = [0] * len(d.home)
    for u, s in out.items():
        load[s] += d.children[u]
    viable = [set(v) for v in d.viable]
    for _ in range(REPAIR_PASSES):
        pieces = [(s, comp) for s, comp, _ in _separators(d, out)]
        if not pieces:
            break
        pieces.sort(key=lambda sc: (-len(sc[1]), sc[1][0]))
        for s, comp in pieces:
            if any(out.get(u) != s for u in comp):
                continue                    # changed by an earlier move of this pass
            moves = [m for m in (_move_whole(d, out, load, viable, s, comp),
                                 _move_units(d, out, load, viable, s, comp),
                                 _join_back(d, out, load, viable, s, comp)) if m is not None]
            if not moves:
                continue
            cost, change = min(moves, key=lambda m: (m[0], sorted(m[1].items())))
            for u, t in change.items():
                load[out[u]] -= d.children[u]
                load[t] += d.children[u]
                out[u] = t
    cap = d.p.max_changed
    if cap is not None and sum(d.children[u] for u, s in out.items() if _changes(d, u, s)) > cap:
        return None
    return out if not _separators(d, out) else None


#: passes of :func:`_repair` over the pieces still cut off
REPAIR_PASSES = 3  # not-a-rule: a heuristic's effort


def _core(d: _Data, out: Mapping[int, int], t: int) -> set[int]:
    """The units of zone ``t`` connected to its home unit inside the zone."""
    return _bfs(d, d.home[t], {u for u, x in out.items() if x == t})


def _delta(d: _Data, change: Mapping[int, int], out: Mapping[int, int]) -> float:
    return sum(_unit_cost(d, u, t) - _unit_cost(d, u, out[u]) for u, t in change.items())


def _move_whole(d: _Data, out: dict[int, int], load: list[int], viable: list[set[int]],
                s: int, comp: list[int]) -> tuple[float, dict[int, int]] | None:
    """(extra cost, {unit: school}) moving the whole piece to one neighbouring zone."""
    kids = sum(d.children[u] for u in comp)
    best = None
    for t in range(len(d.home)):
        if t == s or load[t] + kids > d.seats[t] or not all(u in viable[t] for u in comp):
            continue
        core = _core(d, out, t)
        if not any(v in core for u in comp for v in d.nbrs[u]):
            continue
        change = {u: t for u in comp}
        c = _delta(d, change, out)
        if best is None or c < best[0] - 1e-9:
            best = (c, change)
    return best


def _move_units(d: _Data, out: dict[int, int], load: list[int], viable: list[set[int]],
                s: int, comp: list[int]) -> tuple[float, dict[int, int]] | None:
    """(extra cost, {unit: school}) moving the piece's units one by one, each to a
    neighbouring zone whose connected part it touches (cheapest move first)."""
    left = set(comp)
    change: dict[int, int] = {}
    extra = list(load)
    cores = {t: _core(d, out, t) for t in range(len(d.home)) if t != s}
    while left:
        pick = None
        for u in sorted(left):
            for t in sorted({out[v] if v not in change else change[v]
                             for v in d.nbrs[u] if v not in left} - {s}):
                if u not in viable[t] or extra[t] + d.children[u] > d.seats[t]:
                    continue
                if not any(v in cores[t] for v in d.nbrs[u]):
                    continue
                c = _unit_cost(d, u, t) - _unit_cost(d, u, s)
                if pick is None or c < pick[0] - 1e-9:
                    pick = (c, u, t)
        if pick is None:
            return None
        _, u, t = pick
        change[u] = t
        extra[t] += d.children[u]
        left.discard(u)
        cores[t].add(u)
    return _delta(d, change, out), change


def _join_back(d: _Data, out: dict[int, int], load: list[int], viable: list[set[int]],
               s: int, comp: list[int]) -> tuple[float, dict[int, int]] | None:
    """(extra cost, {unit: school}) joining the piece to the connected part of its
    own zone through a cheapest path of units (candidates of the school) taken from
    the zones between, none of which is left cut off."""
    core = _core(d, out, s)
    piece = set(comp)
    homes = set(d.home)
    dist: dict[int, float] = {}
    prev: dict[int, int] = {}
    heap: list[tuple[float, int]] = []
    for u in sorted(piece):
        for v in d.nbrs[u]:
            if v in viable[s] and v not in piece and v not in core and v not in homes:
                c = _unit_cost(d, v, s) - _unit_cost(d, v, out[v])
                if c < dist.get(v, math.inf) - 1e-12:
                    dist[v], prev[v] = c, -1
                    heapq.heappush(heap, (c, v))
    end = None
    while heap:
        c, v = heapq.heappop(heap)
        if c > dist[v] + 1e-12:
            continue
        if any(w in core for w in d.nbrs[v]):
            end = v
            break
        for w in d.nbrs[v]:
            if w in viable[s] and w not in piece and w not in core and w not in homes:
                nc = c + max(0.0, _unit_cost(d, w, s) - _unit_cost(d, w, out[w]))
                if nc < dist.get(w, math.inf) - 1e-12:
                    dist[w], prev[w] = nc, v
                    heapq.heappush(heap, (nc, w))
    if end is None:
        return None
    path, v = [], end
    while v != -1:
        path.append(v)
        v = prev[v]
    kids = sum(d.children[u] for u in path)
    if load[s] + kids > d.seats[s]:
        return None
    change = {u: s for u in path}
    for t in sorted({out[u] for u in path}):
        before = _core(d, out, t)
        after = _bfs(d, d.home[t], {u for u in before if u not in change})
        if after != before - set(path):
            return None                 # taking the path would cut zone t
    return _delta(d, change, out), change


def _local_problem(d: _Data, plan: Mapping[int, int], schools: set[int]
                   ) -> tuple[CatchmentProblem, list[int]]:
    """The sub-problem of the zones ``schools`` of ``plan``: their units and schools,
    every other zone fixed (a pair outside the model's candidates forbidden; the cap
    on changed pupils less the changed pupils of the fixed zones)."""
    p = d.p
    free = sorted(u for u, t in plan.items() if t in schools)
    cols = sorted(schools)
    inside = set(free)
    viable = [set(d.viable[t]) for t in cols]
    cost = np.full((len(free), len(cols)), np.inf)
    for i, u in enumerate(free):
        for j, t in enumerate(cols):
            if u in viable[j]:
                cost[i, j] = d.cost[u, t]
    cap = d.p.max_changed
    if cap is not None:
        cap -= sum(d.children[u] for u, t in plan.items()
                   if t not in schools and _changes(d, u, t))
    current = None if p.current is None else \
        {p.unit_ids[u]: p.current[p.unit_ids[u]] for u in free if p.unit_ids[u] in p.current}
    sub = CatchmentProblem(
        unit_ids=[p.unit_ids[u] for u in free], children=[d.children[u] for u in free],
        school_ids=[p.school_ids[t] for t in cols], seats=[d.seats[t] for t in cols],
        home_units=[p.unit_ids[d.home[t]] for t in cols], cost=cost,
        adjacency=[(p.unit_ids[u], p.unit_ids[v]) for u in free for v in d.nbrs[u]
                   if v in inside and u < v],
        current=current, stability_penalty=p.stability_penalty, k_nearest=None,
        max_changed=None if cap is None else max(0, cap))
    return sub, free


def _flows_of(d: _Data, plan: Mapping[int, int]) -> dict[tuple[int, int, int], float]:
    """Flows of a contiguous plan for the flow model: along a breadth-first tree of
    each zone from its home unit, each arc carries the units below it."""
    out: dict[tuple[int, int, int], float] = {}
    for s, zone in enumerate(_zones_of(d, plan)):
        h = d.home[s]
        parent, order, queue = {h: -1}, [h], deque([h])
        while queue:
            u = queue.popleft()
            for v in d.nbrs[u]:
                if v in zone and v not in parent:
                    parent[v] = u
                    order.append(v)
                    queue.append(v)
        below = {u: 1.0 for u in order if u != h}
        for u in reversed(order):
            p = parent[u]
            if p >= 0:
                out[s, p, u] = below[u]
                if p != h:
                    below[p] += below[u]
    return out


# ------------------------------------------------------------------ a start plan


#: :func:`_start_plan`: states one chain search of the repair may open
CHAIN_STATES = 4000  # not-a-rule: a heuristic's effort

#: :func:`_start_plan`: zones one chain may pass through
CHAIN_DEPTH = 12  # not-a-rule: a heuristic's effort


def _start_plan(d: _Data) -> tuple[dict[int, int], list[int]]:
    """A contiguous plan within the seats, fast (a start for the cut loop, or the
    closest plan when nothing better is found): ``(plan, stranded units)``.

    *Growth* (:func:`_grow`): every zone starts at its home unit and grows through
    neighbouring viable units, cheapest pair first, while its seats allow; units
    walled in by full zones are *stranded*. The growth is repeated
    :data:`GROW_ROUNDS` times, each stranded unit's key lowered by the median
    pair cost per time it was stranded (it is taken earlier), and the plan leaving
    the fewest children stranded is kept (ties: the first).
    *Chains*: a stranded unit next to a zone is placed by an ejection chain — it
    enters a zone, which hands one of its border units (its zone staying connected,
    the unit a viable pair of the next zone) on to a neighbouring zone, and so on
    until a zone has the room; the cheapest chain of at most :data:`CHAIN_DEPTH`
    zones found within :data:`CHAIN_STATES` states (best first by the change of
    cost); the first zone may hand on a unit smaller than it needs, and do so again
    (:data:`CHAIN_PUSHES`). Every zone stays connected and within its seats
    throughout; the cap on changed pupils is not considered here."""
    viable = [set(v) for v in d.viable]
    pairs = [float(d.cost[u, s]) for s, units in enumerate(d.viable) for u in units]
    step = float(np.median(pairs)) if pairs else 1.0
    bonus = [0.0] * len(d.children)
    best: tuple[int, dict[int, int]] | None = None
    for _ in range(GROW_ROUNDS):
        plan = _grow(d, viable, bonus)
        out = [u for u in range(len(d.children)) if u not in plan]
        lost = sum(d.children[u] for u in out)
        if best is None or lost < best[0]:
            best = (lost, plan)
        if not out:
            break
        for u in out:
            bonus[u] += step
    assert best is not None
    plan = best[1]
    load = [0] * len(d.home)
    for u, s in plan.items():
        load[s] += d.children[u]
    members: list[set[int]] = [set() for _ in d.home]
    for u, s in plan.items():
        members[s].add(u)
    stranded = sorted(u for u in range(len(d.children)) if u not in plan)
    progress = True
    while stranded and progress:
        progress = False
        for u in list(stranded):
            for _ in range(CHAIN_PUSHES):
                chain = _chain(d, u, plan, load, members, viable)
                if chain is None:
                    break
                whole = load[chain[0][1]] + d.children[u] <= d.seats[chain[0][1]] or \
                    len(chain) == 1
                for v, s in (chain if whole else chain[1:]):
                    old = plan.get(v)
                    if old is not None:
                        members[old].discard(v)
                        load[old] -= d.children[v]
                    plan[v] = s
                    members[s].add(v)
                    load[s] += d.children[v]
                if whole:
                    stranded.remove(u)
                    progress = True
                    break
    return plan, stranded


#: :func:`_start_plan`: growths, each taking the units stranded before earlier
GROW_ROUNDS = 12  # not-a-rule: a heuristic's effort


def _grow(d: _Data, viable: list[set[int]], bonus: list[float]) -> dict[int, int]:
    """One growth of :func:`_start_plan`: pairs taken by ``(cost − bonus of the
    unit, unit, school)``, ascending, while the school's seats allow."""
    plan = {h: s for s, h in enumerate(d.home)}
    load = [0] * len(d.home)
    for h, s in plan.items():
        load[s] += d.children[h]
    heap: list[tuple[float, int, int]] = []

    def push(s: int, u: int) -> None:
        for v in d.nbrs[u]:
            if v not in plan and v in viable[s]:
                heapq.heappush(heap, (float(d.cost[v, s]) - bonus[v], v, s))

    for s, h in enumerate(d.home):
        push(s, h)
    while heap:
        _, u, s = heapq.heappop(heap)
        if u in plan or load[s] + d.children[u] > d.seats[s]:
            continue
        plan[u], load[s] = s, load[s] + d.children[u]
        push(s, u)
    return plan


#: :func:`_start_plan`: pushes out of one zone to make room for one stranded unit
CHAIN_PUSHES = 8  # not-a-rule: a heuristic's effort


def _chain(d: _Data, u: int, plan: Mapping[int, int], load: list[int],
           members: list[set[int]], viable: list[set[int]]) -> list[tuple[int, int]] | None:
    """The cheapest ejection chain placing the stranded unit ``u`` (see
    :func:`_start_plan`): ``[(unit, new school), ...]`` or ``None``."""
    heap: list[tuple[float, int, list[tuple[int, int]]]] = []
    tick = 0
    for t in sorted({plan[v] for v in d.nbrs[u] if v in plan}):
        if u in viable[t]:
            heap.append((_unit_cost(d, u, t), tick, [(u, t)]))
            tick += 1
    heapq.heapify(heap)
    opened = 0
    while heap and opened < CHAIN_STATES:
        cost, _, chain = heapq.heappop(heap)
        opened += 1
        w, t = chain[-1]
        first = len(chain) == 1
        need = load[t] + d.children[w] - d.seats[t]
        if need <= 0:
            return chain
        if len(chain) >= CHAIN_DEPTH:
            continue
        seen = {s for _, s in chain} | {plan[v] for v, _ in chain if v in plan}
        # the first zone may shed a unit smaller than its need (a push, repeated by
        # the caller); it must stay connected without ``u``, which still touches it
        zone = members[t] if first else members[t] | {w}
        for v in sorted(members[t]):
            if v == d.home[t] or (not first and d.children[v] < need):
                continue
            if first and not any(x in members[t] and x != v for x in d.nbrs[u]):
                continue                # u must still touch its zone
            nxt = sorted({plan[x] for x in d.nbrs[v] if x in plan} - seen)
            nxt = [t2 for t2 in nxt if v in viable[t2]]
            if not nxt:
                continue
            rest = zone - {v}
            if _bfs(d, d.home[t], rest) != rest:
                continue
            for t2 in nxt:
                step = _unit_cost(d, v, t2) - _unit_cost(d, v, t)
                heapq.heappush(heap, (cost + step, tick, chain + [(v, t2)]))
                tick += 1
    return None



# ------------------------------------------------------------------------- solve


def solve_catchments(problem: CatchmentProblem, mode: str, solver: str,
                     time_limit: float | None, gap: float | None = None,
                     widen: bool = False, *, local: bool = True,
                     start: bool = True, nodes: int | None = None) -> CatchmentResult:
    """Solve the contiguous catchment assignment.

    Parameters
    ----------
    problem : CatchmentProblem
    mode : {"cheap", "sweep", "exact", "flow", "none"}
        Contiguity formulation (see the module docstring).
    solver : {"highs", "cbc"}
    time_limit : float or None
        Seconds for the whole call (every solve, the bound, the relaxed model if
        needed); ``None``: no limit.
    gap : float, optional
        Relative gap at which a solve may stop (e.g. 0.01); HiGHS's default
        (:data:`DEFAULT_GAP`) when not given.
    widen : bool
        For the modes of :data:`WIDEN_MODES`: when the candidates are proven too few
        (a maximum flow of the children into the seats cannot carry every child, the
        ``sweep`` rule has no plan on them and no round of ``exact`` gave a
        contiguous plan, or the strict model is infeasible), double ``k_nearest`` (up
        to every school) and solve again, before any closest plan; the result's
        ``k_nearest`` says the ``k`` used. The decision rests on proofs, never on
        the clock, so the same inputs give the same ``k`` (unless more than
        :data:`WIDEN_BEFORE` of the time had passed: then it does not widen, and the
        notes say :data:`TIMED_OUT`).
    local : bool
        ``exact``: mend a cut round's plan by re-solving the zones around the cut
        pieces (:meth:`_Run._local`; that re-solve itself does not).
    start : bool
        ``exact``: when the loop ends without a contiguous plan in time, the
        contiguous start plan of :func:`_start_plan` (a second or two at county
        size): the plan (``FEASIBLE``, its gap against the loop's bound) when it
        places every unit, else the closest plan (status ``NO_PLAN_IN_TIME``)
        instead of the relaxed model, which finds poor plans at county size.
    nodes : int, optional
        A node limit of every solve of the call (a work limit: the same plan on any
        machine; :meth:`_Run._local` uses it).

    Returns
    -------
    CatchmentResult
        Status ``INFEASIBLE`` with ``closest=True`` comes with the closest plan
        and ``shortfalls``; ``gap`` and ``bound`` are against the contiguous
        problem (module docstring).
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    t0 = time.perf_counter()
    d = _prepare(problem, mode)
    notes = _precheck(d)
    k, n = problem.k_nearest, len(problem.school_ids)
    can_widen = widen and mode in WIDEN_MODES and k is not None and k < n
    run = _Run(d=d, mode=mode, solver=solver, t0=t0, limit=time_limit, gap=gap,
               widen=can_widen, local=local, start=start, nodes=nodes)
    model, info = None, None
    if can_widen and not notes and _carried(d) < sum(d.children):
        info = SolveInfo(status=Status.INFEASIBLE, objective=None, gap=None,
                         solver=solver.lower(), seconds=0.0)     # proven by the flow
    elif not notes:
        if mode in EXACT_MODES:
            model, info = run.exact()
        else:
            model, info = run.restricted()
    too_few = can_widen and k is not None and _too_few(d, notes, info, run)
    if too_few and run._past(WIDEN_BEFORE):
        run.timed_out()         # the clock, not the candidates, decides: not reproducible
    elif too_few and k is not None:
        wider = min(2 * k, n)
        res = solve_catchments(replace(problem, k_nearest=wider), mode, solver,
                               run.remaining(), gap, widen=True, local=local, start=start,
                               nodes=nodes)
        res.notes = [f"k_nearest {k} -> {wider}: no contiguous plan with {k} candidate "
                     "schools per unit"] + res.notes
        if TIMED_OUT in run.notes and TIMED_OUT not in res.notes:
            res.notes.append(TIMED_OUT)
            res.stopped_by = _stopped_by(res, node_stopped=False)
        res.seconds = time.perf_counter() - t0
        res.solver_seconds += run.solver_seconds
        return res
    if info is not None:
        if info.status is Status.INFEASIBLE:
            notes.append("the strict model is infeasible (seats, indivisible units "
                         "or contiguity)")
        elif info.status is Status.NO_PLAN_IN_TIME:
            notes.append("no plan found within the time limit: raise it, use "
                         "mode='sweep' or a smaller k_nearest")
    unproven = info is not None and info.status is Status.NO_PLAN_IN_TIME \
        and mode == "exact" and run.stalled
    if unproven:
        notes.append("no contiguous plan found and the sweep rule has none: the closest "
                     "plan follows (infeasibility not proven)")
    no_plan = unproven or (info is not None and info.status is Status.NO_PLAN_IN_TIME)
    full = run.start_plan() if no_plan and start and mode == "exact" else None
    partial = run.partial if no_plan and full is None else None
    if full is not None:
        notes.append("no contiguous plan of the loop: the start plan of the greedy growth "
                     "places every unit")
        model = _build(d, "exact", relaxed=False)
        _set_start(model, full, d)
        obj = _plan_cost(d, full)
        info = SolveInfo(status=Status.FEASIBLE, objective=obj, gap=_rel_gap(obj, run.bound),
                         solver=solver.lower(), seconds=0.0)
        d_res, unproven = d, False
    elif partial is not None:
        notes.append(f"the start plan leaves {len(d.children) - len(partial)} unit(s) out: "
                     "it is the closest plan")
        model = _build(d, "exact", relaxed=True)
        _set_start(model, partial, d)
        for u, var in model.y.items():
            var.setInitialValue(0.0 if u in partial else 1.0)
        info = SolveInfo(status=Status.FEASIBLE, objective=_plan_cost(d, partial), gap=None,
                         solver=solver.lower(), seconds=0.0)
        run.bound = None
        d_res = d
        unproven = True
    elif (info is None or info.status is Status.INFEASIBLE or unproven) and run.out_of_time():
        notes.append("no time left for the closest plan")
        run.timed_out()
        info = SolveInfo(status=Status.NO_PLAN_IN_TIME, objective=None, gap=None,
                         solver=solver.lower(), seconds=0.0)
        d_res = d
    elif info is None or info.status is Status.INFEASIBLE or unproven:
        notes.append("solved the relaxed model with an unassigned option")
        rd = d if mode not in ("exact",) else _with_mode(d, "sweep")
        model, info, more = _solve_relaxed(rd, "sweep" if mode == "exact" else mode,
                                           solver, run.remaining(), gap)
        run.solver_seconds += info.seconds
        run.bound = None
        notes += more
        d_res = rd
    else:
        d_res = d
    res = _result(d_res, mode, model, info, time.perf_counter() - t0, run)
    res.k_nearest = problem.k_nearest
    if unproven and res.closest:
        res.status = Status.NO_PLAN_IN_TIME       # a closest plan, infeasibility unproven
    res.notes = notes + run.notes
    res.stopped_by = _stopped_by(res, run.node_stopped)
    return res


def _stopped_by(res: CatchmentResult, node_stopped: bool) -> str | None:
    """:attr:`CatchmentResult.stopped_by` from the notes and whether a solve of the
    run stopped at its node limit."""
    if TIMED_OUT in res.notes:
        return "time"
    return "nodes" if node_stopped and res.status is Status.FEASIBLE else None


#: the share of the time limit after which :func:`solve_catchments` no longer widens
#: (a wider model needs the time: the plan at the setting, or its closest, is given)
WIDEN_BEFORE = 0.5  # not-a-rule: a share of the time limit

#: the modes :func:`solve_catchments` may widen (their plans contain the sweep rule's;
#: ``cheap`` keeps its own restriction at the setting)
WIDEN_MODES = ("sweep", "exact", "flow")


def _carried(d: _Data) -> int:
    """The most children the schools' seats can take when units may split: a maximum
    flow from the units (their children) through their options in the model to the
    schools (their seats). Less than every child proves that no plan exists on these
    candidates, contiguous or not (a transportation problem relaxes every plan); a
    fraction of a second at county size, where the MIP takes minutes to say so."""
    g = nx.DiGraph()
    for u, opts in enumerate(_options(d)):
        if d.children[u] > 0:
            g.add_edge("in", ("u", u), capacity=d.children[u])
            for s in opts:
                g.add_edge(("u", u), ("s", s))
    for s in range(len(d.home)):
        g.add_edge(("s", s), "out", capacity=d.seats[s])
    if "in" not in g:
        return 0
    return int(nx.maximum_flow_value(g, "in", "out"))


def _too_few(d: _Data, notes: list[str], info: SolveInfo | None, run: _Run) -> bool:
    """Whether the candidates are proven too few for a plan: a unit has no school it
    can join (pre-check), the seats cannot carry every child even split
    (:func:`_carried`), the strict model or the first relaxation is infeasible, or
    (``exact``) no round gave a contiguous plan and the sweep rule has none."""
    if notes:       # more candidates help a stranded unit, not a shortage of seats
        stranded = any(not o for o in _options(d))
        short = sum(d.children) > sum(d.seats) or \
            any(d.children[h] > d.seats[s] for s, h in enumerate(d.home))
        return stranded and not short
    if info is None:
        return False
    if info.status is Status.INFEASIBLE:
        return True
    return run.sweep_infeasible and not info.status.has_plan


@dataclass
class _Run:
    """One call's solves, their clock and their bound."""

    d: _Data
    mode: str
    solver: str
    t0: float
    limit: float | None
    gap: float | None
    bound: float | None = None
    solver_gap: float | None = None
    solver_seconds: float = 0.0
    rounds: int = 0
    cuts: int = 0
    plan: dict | None = None               # unit index -> school index, when set
    notes: list = field(default_factory=list)
    stalled: bool = False                  # exact: stopped early with no contiguous plan
    widen: bool = False                    # the caller widens when the sweep rule fails
    local: bool = True                     # exact: mend cut plans by a local re-solve
    sweep_infeasible: bool = False         # the sweep rule was proven to have no plan
    start: bool = True                     # exact: begin with a start plan
    partial: dict | None = None            # exact: a start plan that leaves units out
    nodes: int | None = None               # a node limit of every solve (a local re-solve)
    node_stopped: bool = False             # a solve of this run stopped at a node limit

    def remaining(self) -> float | None:
        return _remaining(self.t0, self.limit)

    def out_of_time(self) -> bool:
        return self.limit is not None and time.perf_counter() - self.t0 >= self.limit

    def _past(self, share: float) -> bool:
        return self.limit is not None and \
            time.perf_counter() - self.t0 >= share * self.limit

    def tol(self) -> float:
        return self.gap if self.gap is not None else DEFAULT_GAP

    def round_gap(self) -> float:
        """The gap each round (and each bound) is solved to: half the gap asked for
        (HiGHS's default when that is smaller): a round's plan is then proven with
        room to spare, and a mended plan up to half the gap dearer still is."""
        return max(DEFAULT_GAP, self.tol() / 2) if self.tol() > DEFAULT_GAP else self.tol()

    def solve(self, model: _Model, warm: Mapping[int, int] | None = None,
              bound: bool = False, share: float | None = None,
              nodes: int | None = None) -> SolveInfo:
        """One solve in the time left; ``bound``: a relaxation solved for its dual
        bound, to :meth:`round_gap`, so that a plan within the gap asked for can be
        proven by it; ``nodes``: a node limit of this solve (the run's, when it has
        one, still applies)."""
        if warm is not None:
            _set_start(model, warm, self.d)
        gap = self.round_gap() if bound else self.gap
        limit = self.remaining()
        if share is not None and self.limit is not None and limit is not None:
            # at most until ``share`` of the whole limit has passed (at least 1 s)
            limit = min(limit, max(1.0, share * self.limit - (time.perf_counter() - self.t0)))
        if self.nodes is not None:
            nodes = self.nodes if nodes is None else min(nodes, self.nodes)
        info = solve_problem(model.prob, solver=self.solver, time_limit=limit,
                             gap=gap, warm_start=warm is not None, nodes=nodes)
        self.solver_seconds += info.seconds
        if info.stopped_by == "time":
            self.timed_out()    # what follows depends on the machine's speed
        elif info.stopped_by == "nodes":
            self.node_stopped = True
        return info

    def timed_out(self) -> None:
        if TIMED_OUT not in self.notes:
            self.notes.append(TIMED_OUT)

    def restricted(self) -> tuple[_Model, SolveInfo]:
        """``cheap``, ``sweep`` or ``none``, then the honest bound."""
        model = _build(self.d, self.mode, relaxed=False)
        info = self.solve(model)
        self.solver_gap = info.gap
        if info.status.has_plan:
            plan = _plan_of(model)
            if self.mode == "none":
                self.bound = _dual_bound(model.prob, info, self.solver, self.tol())
            else:
                self.bound = self._relaxation_bound(plan)
        return model, info

    def _relaxation_bound(self, plan: dict[int, int]) -> float | None:
        """The dual bound of the first round of ``exact``, warm-started from ``plan``."""
        if self.out_of_time():
            self.notes.append("no time left for the bound of the contiguous problem")
            self.timed_out()
            return None
        e = _with_mode(self.d, "exact")
        model = _build(e, "exact", relaxed=False)
        info = self.solve(model, warm=plan, bound=True)
        return _dual_bound(model.prob, info, self.solver, self.tol())

    def exact(self) -> tuple[_Model, SolveInfo]:
        """``exact``: the separator-cut loop (:meth:`_cuts`); ``flow``: the flow model
        started from the sweep plan."""
        if self.mode == "flow":
            return self._flow(self._sweep_plan())
        return self._cuts()

    def _sweep_plan(self, share: float | None = None) -> dict[int, int] | None:
        seed_model = _build(_with_mode(self.d, "sweep"), "sweep", relaxed=False)
        seed_info = self.solve(seed_model, share=share)
        if not seed_info.status.has_plan:
            self.sweep_infeasible = seed_info.status is Status.INFEASIBLE
            self.notes.append("the sweep rule found no start plan")
            return None
        return _plan_of(seed_model)

    def _local(self, plan: dict[int, int], flow_next: bool) -> dict[int, int] | None:
        """A contiguous plan from a cut one by re-solving, exactly (the ``flow``
        model), only the zones that have a piece cut off and the zones next to them,
        every other zone as it is; ``None`` when that sub-problem has no plan in its
        time (at most :data:`LOCAL_SHARE` of the limit)."""
        cut = {s for s, _, _ in _separators(self.d, plan)}
        zones = set(cut)
        for u, s in plan.items():
            if s in cut:
                zones.update(plan[v] for v in self.d.nbrs[u] if v in plan)
        if flow_next and sum(t in zones for t in plan.values()) > \
                LOCAL_MAX_FREE * len(self.d.children):
            return None          # hardly smaller than the whole, which the flow model solves
        sub, free = _local_problem(self.d, plan, zones)
        limit = self.remaining()
        if limit is not None and self.limit is not None:
            limit = max(1.0, min(limit, LOCAL_SHARE * self.limit))
        res = solve_catchments(sub, "exact", self.solver, limit, self.gap, local=False,
                               nodes=LOCAL_NODES)
        self.solver_seconds += res.solver_seconds
        if TIMED_OUT in res.notes:
            self.timed_out()
        if not res.status.has_plan or res.closest:
            return None
        six = {sid: j for j, sid in enumerate(self.d.p.school_ids)}
        out = dict(plan)
        for u in free:
            out[u] = six[res.assignment[self.d.p.unit_ids[u]]]
        return out if not _separators(self.d, out) else None

    def _flow(self, seed: dict[int, int] | None, nodes: int | None = None
              ) -> tuple[_Model, SolveInfo]:
        model = _build(self.d, "flow", relaxed=False)
        if seed is not None:
            flows = _flows_of(self.d, seed)
            for key, var in model.f.items():
                var.setInitialValue(flows.get(key, 0.0))
        info = self.solve(model, warm=seed, nodes=nodes)
        self.solver_gap = info.gap
        self.bound = _dual_bound(model.prob, info, self.solver, self.tol()) \
            if info.status.has_plan else None
        self.rounds = 1
        return model, info

    def _switch_to_flow(self, best: dict[int, int] | None, lb: float
                        ) -> tuple[_Model, SolveInfo]:
        """The flow model, warm-started from ``best``, to :data:`FLOW_NODES` nodes in
        the time left; its bound and the cut loop's are both valid bounds of the
        contiguous problem."""
        rounds = self.rounds
        model, info = self._flow(best, nodes=FLOW_NODES)
        self.rounds = rounds + 1
        bounds = [b for b in (self.bound, lb if math.isfinite(lb) else None) if b is not None]
        self.bound = max(bounds) if bounds else None
        if not info.status.has_plan:
            if best is None:
                return model, info
            _set_start(model, best, self.d)
            obj = _plan_cost(self.d, best)
        else:
            obj = _plan_cost(self.d, _plan_of(model))
            if best is not None and _plan_cost(self.d, best) < obj - 1e-9:
                _set_start(model, best, self.d)
                obj = _plan_cost(self.d, best)
        g = _rel_gap(obj, self.bound)
        self.solver_gap = g
        status = Status.OPTIMAL if g is not None and g <= self.tol() + 1e-12 \
            else Status.FEASIBLE
        return model, SolveInfo(status=status, objective=obj, gap=g, solver=info.solver,
                                seconds=info.seconds)

    def start_plan(self) -> dict[int, int] | None:
        """The start plan (:func:`_start_plan`) when it places every unit within the
        cap on changed pupils, else ``None`` (a plan leaving units out is kept as
        ``partial``, the closest plan)."""
        d = self.d
        plan, stranded = _start_plan(d)
        if stranded:
            self.partial = plan
            return None
        cap = d.p.max_changed
        if cap is not None and \
                sum(d.children[u] for u, s in plan.items() if _changes(d, u, s)) > cap:
            return None
        return plan

    def flow_next(self, model: _Model) -> bool:
        """Whether a cut plan of this round goes to the flow model (a problem of at
        most :data:`FLOW_MAX_VARS` assignment variables, after
        :data:`FLOW_AFTER_ROUNDS` rounds); then a local re-solve that would free
        more than :data:`LOCAL_MAX_FREE` of the units is skipped: the flow model
        solves the whole problem exactly right after."""
        return self.rounds >= FLOW_AFTER_ROUNDS and len(model.x) <= FLOW_MAX_VARS

    def _cuts(self) -> tuple[_Model, SolveInfo]:
        """The separator-cut loop. Round 1 is the assignment with the length-one
        separators, from scratch (HiGHS solves it several times faster than the sweep
        model; on the benchmark grids it is already contiguous). When a round's plan
        is cut and no contiguous plan is known yet, the sweep plan becomes the
        incumbent (a MIP start of every later round, and often already within the gap
        of the first bound); the loop stops when the best contiguous plan is within
        the gap of the bound, when a round's plan is contiguous (then it is the
        optimum within the gap), at the time limit, or when the relaxation is
        infeasible (then the contiguous problem is)."""
        model = _build(self.d, "exact", relaxed=False)
        best: dict[int, int] | None = None
        best_obj, lb = math.inf, -math.inf
        seeded = False
        info: SolveInfo | None = None
        while True:
            self.rounds += 1
            # without a contiguous plan, a round may use the time up to STALL_SHARE
            info = self.solve(model, warm=best, bound=True,
                              share=STALL_SHARE if best is None else None)
            if info.status is Status.INFEASIBLE:
                break                       # no plan satisfies even the relaxation
            if best is None and info.status is Status.NO_PLAN_IN_TIME:
                self.stalled = True
                self.notes.append("stopped the cut loop: no plan of a round after "
                                  f"{STALL_SHARE:.0%} of the time limit")
                break
            b = _dual_bound(model.prob, info, self.solver, self.tol())
            if b is not None:
                lb = max(lb, b)
            if not info.status.has_plan:
                break
            plan = _plan_of(model)
            found = _separators(self.d, plan)
            if not found:
                obj = _plan_cost(self.d, plan)
                if obj < best_obj - 1e-9:
                    best, best_obj = plan, obj
            else:
                fixed = _repair(self.d, plan)
                if self.local and not self.out_of_time() and \
                        (fixed is None or _plan_cost(self.d, fixed) - lb >
                         self.tol() * _plan_cost(self.d, fixed)):
                    local = self._local(plan, self.flow_next(model))
                    if local is not None and (fixed is None or _plan_cost(self.d, local)
                                              < _plan_cost(self.d, fixed)):
                        fixed = local
                if fixed is not None and _plan_cost(self.d, fixed) < best_obj - 1e-9:
                    best, best_obj = fixed, _plan_cost(self.d, fixed)
                elif best is None and not seeded:
                    seeded = True
                    # when the caller widens, the sweep rule's answer decides it: let
                    # it prove infeasibility in the time left, not the clock
                    best = self._sweep_plan(share=None if self.widen else STALL_SHARE)
                    best_obj = _plan_cost(self.d, best) if best is not None else math.inf
                    if best is None and self.sweep_infeasible and self.widen:
                        self.notes.append("stopped the cut loop: the sweep rule has no "
                                          "plan on these candidates")
                        info = SolveInfo(status=Status.NO_PLAN_IN_TIME, objective=None,
                                         gap=None, solver=info.solver, seconds=info.seconds)
                        break
            proven = best is not None and best_obj - lb <= self.tol() * max(best_obj, 1e-9)
            if proven or not found:
                break
            if found and self.flow_next(model) and not self.out_of_time():
                # a small, tight problem the cuts do not close: the flow model is exact
                # and proves it faster, from the best plan known
                self.notes.append(f"switched to the flow model after {self.rounds} cut round(s)")
                return self._switch_to_flow(best, lb)
            if self.out_of_time():
                self.notes.append("stopped the cut loop at the time limit")
                self.stalled = best is None
                self.timed_out()
                break
            if best is None and seeded and self._past(STALL_SHARE):
                # neither a round nor the sweep rule has a contiguous plan: keep the
                # rest of the time for the closest plan
                self.notes.append("stopped the cut loop: no contiguous plan after "
                                  f"{STALL_SHARE:.0%} of the time limit")
                self.stalled = True
                self.timed_out()
                break
            self.cuts += _add_separator_cuts(model.prob, model.x, found, self.rounds)
        assert info is not None
        self.bound = lb if math.isfinite(lb) else None
        if best is None and not seeded and info.status is not Status.INFEASIBLE:
            best = self._sweep_plan()
            best_obj = _plan_cost(self.d, best) if best is not None else math.inf
        if best is None:
            if info.status.has_plan:      # every round disconnected: no plan yet
                info = SolveInfo(status=Status.NO_PLAN_IN_TIME, objective=None, gap=None,
                                 solver=info.solver, seconds=info.seconds)
            return model, info
        _set_start(model, best, self.d)        # the answer is the best contiguous plan
        g = _rel_gap(best_obj, self.bound)
        self.solver_gap = g
        status = Status.OPTIMAL if g is not None and g <= self.tol() + 1e-12 \
            else Status.FEASIBLE
        return model, SolveInfo(status=status, objective=best_obj, gap=g,
                                solver=info.solver, seconds=info.seconds)


def _set_start(model: _Model, plan: Mapping[int, int], d: _Data) -> None:
    """Variable values of a plan (a MIP start; also what the result reads)."""
    for (u, s), var in model.x.items():
        var.setInitialValue(1.0 if plan.get(u) == s else 0.0)
    for var in model.y.values():
        var.setInitialValue(0.0)


def _plan_of(model: _Model) -> dict[int, int]:
    out = {}
    for (u, s) in sorted(model.x):
        val = model.x[u, s].value()
        if val is not None and val > 0.5:  # not-a-rule: a binary variable read as 0/1
            out[u] = s
    return out


def _plan_cost(d: _Data, plan: Mapping[int, int]) -> float:
    return float(sum(_unit_cost(d, u, s) for u, s in plan.items()))


def _rel_gap(obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    if obj <= 1e-9:
        return 0.0
    return max(0.0, (obj - bound) / obj)


def _dual_bound(prob: pulp.LpProblem, info: SolveInfo, solver: str,
                tol: float) -> float | None:
    """The solve's valid lower bound: HiGHS's MIP dual bound; with CBC, the
    objective of a proven run less the gap asked for (else unknown)."""
    model = getattr(prob, "solverModel", None)
    if solver.lower() == "highs" and model is not None:
        try:
            b = float(model.getInfo().mip_dual_bound)
        except (AttributeError, TypeError, ValueError):  # pragma: no cover - highspy API
            b = math.nan
        if math.isfinite(b):
            return b
        if info.status is Status.OPTIMAL and info.objective is not None:
            return float(info.objective)
        return None
    if info.status is Status.OPTIMAL and info.objective is not None:
        return float(info.objective) * (1.0 - tol)
    return None


def _remaining(t0: float, limit: float | None) -> float | None:
    if limit is None:
        return None
    return max(1.0, limit - (time.perf_counter() - t0))


def _precheck(d: _Data) -> list[str]:
    """Reasons the strict model is certainly infeasible (empty when none found)."""
    out = []
    opts = _options(d)
    out += [f"unit {d.p.unit_ids[u]!r} has no school it can join"
            for u in range(len(opts)) if not opts[u]]
    out += [f"home unit of school {d.p.school_ids[s]!r} has more children than seats"
            for s, h in enumerate(d.home) if d.children[h] > d.seats[s]]
    if sum(d.children) > sum(d.seats):
        out.append(f"{sum(d.children)} children for {sum(d.seats)} seats")
    return out


def _solve_relaxed(d: _Data, mode: str, solver: str, time_limit: float | None,
                   gap: float | None) -> tuple[_Model, SolveInfo, list[str]]:
    """Relaxed model: each unassigned child costs a big penalty.

    The penalty per child is ten times the largest cost (travel plus stability)
    of any candidate pair, plus a smaller one per unit so that units without
    children are assigned too.  A strictly lexicographic version (minimise the
    unassigned children first) was tried: HiGHS finds poor incumbents for it at
    county size (on a 500-unit instance it left 3 651 children unassigned after
    30 s where the penalty model left 777, against a bound of 767).
    """
    model = _build(d, mode, relaxed=True)
    per_child = 10.0 * max([_unit_cost(d, u, s) / max(d.children[u], 1)
                            for (u, s) in model.x] + [1.0])
    per_unit = per_child / 10.0
    terms = [(var, d.children[u] * per_child + per_unit) for u, var in model.y.items()]
    model.prob.setObjective(model.prob.objective + _expr(terms))
    info = solve_problem(model.prob, solver=solver, time_limit=time_limit, gap=gap)
    notes = [(f"penalty {per_child:.4g} per unassigned child and {per_unit:.4g} per "
              "unassigned unit")]
    if info.status is Status.FEASIBLE:
        notes.append("stopped at the gap or time limit: more time may assign more units")
    return model, info, notes


# ------------------------------------------------------------------------ result


def _read_assignment(d: _Data, model: _Model | None) -> dict:
    out: dict = {u: None for u in d.p.unit_ids}
    if model is None:
        return out
    for (u, s) in sorted(model.x):
        val = model.x[u, s].value()
        if val is not None and val > 0.5:  # not-a-rule: a binary variable read as 0/1
            out[d.p.unit_ids[u]] = d.p.school_ids[s]
    return out


def _result(d: _Data, mode: str, model: _Model | None, info: SolveInfo,
            seconds: float, run: _Run) -> CatchmentResult:
    p = d.p
    solved = info.status.has_plan
    assignment = _read_assignment(d, model if solved else None)
    six = {s: j for j, s in enumerate(p.school_ids)}
    travel = stab = 0.0
    changed = unassigned = 0
    for i, u in enumerate(p.unit_ids):
        s = assignment[u]
        if s is None:
            unassigned += d.children[i]
            continue
        travel += d.children[i] * float(d.cost[i, six[s]])
        if _changes(d, i, six[s]):
            changed += d.children[i]
            stab += d.children[i] * p.stability_penalty
    status = info.status
    closest = False
    shortfalls: list[Shortfall] = []
    objective = (travel + stab) if solved else None
    bound = run.bound if solved else None
    gap = _rel_gap(objective, bound) if bound is not None else (
        info.gap if mode in EXACT_MODES or mode == "none" else None)
    if solved and any(v is None for v in assignment.values()):
        status, closest = Status.INFEASIBLE, True
        shortfalls = _shortfalls(d, assignment)
        gap = bound = None
    elif status is Status.OPTIMAL and gap is not None and gap > run.tol() + 1e-12:
        status = Status.FEASIBLE      # proven for the restriction, not the problem
    total = sum(d.children)
    return CatchmentResult(
        assignment=assignment, loads=_loads(d, assignment),
        objective=objective, travel_cost=travel,
        stability_cost=stab, status=status, gap=gap, solver=info.solver,
        seconds=seconds, mode=mode, pupils_changed=changed,
        unassigned_children=unassigned if solved else total,
        zoned_share=(1.0 - unassigned / total if total else 1.0) if solved else 0.0,
        contiguous=solved and zones_contiguous(p, assignment),
        closest=closest, shortfalls=shortfalls,
        violations=verify_catchments(p, assignment) if solved else [],
        n_variables=model.prob.numVariables() if model else 0,
        n_constraints=model.prob.numConstraints() if model else 0,
        solver_seconds=run.solver_seconds, bound=bound,
        solver_gap=run.solver_gap if run.solver_gap is not None else info.gap,
        rounds=run.rounds, cuts=run.cuts)


def _loads(d: _Data, assignment: dict) -> dict:
    kids = {s: 0 for s in d.p.school_ids}
    for i, u in enumerate(d.p.unit_ids):
        if assignment[u] is not None:
            kids[assignment[u]] += d.children[i]
    return {s: SchoolLoad(s, kids[s], d.seats[j],
                          kids[s] / d.seats[j] if d.seats[j] else (math.inf if kids[s] else 0.0))
            for j, s in enumerate(d.p.school_ids)}


def _shortfalls(d: _Data, assignment: dict) -> list[Shortfall]:
    p = d.p
    opts = _options(d)
    uix = {u: i for i, u in enumerate(p.unit_ids)}
    loads = _loads(d, assignment)
    missing = [uix[u] for u in p.unit_ids if assignment[u] is None]
    groups = _unassigned_groups(d, set(missing))
    out = []
    for u in missing:
        reach = opts[u]
        seats = sum(d.seats[s] for s in reach)
        demand = sum(d.children[v] for v in range(len(opts)) if set(opts[v]) & set(reach))
        spare = max((d.seats[s] - loads[p.school_ids[s]].children for s in reach), default=0)
        lack = max(0, demand - seats) if reach else d.children[u]
        site, group_kids = groups[u]
        code, reason = _reason(d, u, reach, seats, demand, spare)
        out.append(Shortfall(
            unit=p.unit_ids[u], children=d.children[u], code=code, reason=reason,
            reachable_by_cost=int(np.isfinite(d.cost[u]).sum()),
            reachable_schools=tuple(p.school_ids[s] for s in reach),
            seats_within_reach=seats, demand_within_reach=demand, seats_missing=lack,
            largest_spare=max(0, spare), suggested_site=p.unit_ids[site],
            group_children=group_kids))
    return out


def _reason(d: _Data, u: int, reach: list[int], seats: int, demand: int,
            spare: int) -> tuple[str, str]:
    """(code of :data:`SHORTFALL_CODES`, the same in plain English)."""
    kids = d.children[u]
    if u in d.home_of and kids > d.seats[d.home_of[u]]:
        return "home_over_seats", (f"home unit of its school has {kids} children for "
                                   f"{d.seats[d.home_of[u]]} seats")
    if not reach:
        finite = int(np.isfinite(d.cost[u]).sum())
        if finite == 0:
            return "no_school_in_reach", "no school within reach (every cost is infinite)"
        extra = (f"; k_nearest={d.p.k_nearest} keeps {len(d.cand[u])} of {finite} "
                 "reachable schools") if d.p.k_nearest else ""
        return "no_contiguous_path", (f"no contiguous path of units to any of its {finite} "
                                      f"reachable schools under the contiguity rule{extra}")
    if demand > seats:
        return "seats_missing", (f"{demand} children can only use {len(reach)} school(s) "
                                 f"with {seats} seats: {demand - seats} seats missing")
    return "seats_fragmented", (f"{kids} children but at most {max(0, spare)} spare seats "
                                "at a school it can join contiguously (seats are "
                                "fragmented or blocked by other zones)")


def _unassigned_groups(d: _Data, missing: set[int]) -> dict[int, tuple[int, int]]:
    """Map each unassigned unit to (suggested site, children of its group)."""
    g = nx.Graph()
    g.add_nodes_from(sorted(missing))
    g.add_edges_from((u, v) for u in sorted(missing) for v in d.nbrs[u] if v in missing)
    out = {}
    for comp in sorted(sorted(c) for c in nx.connected_components(g)):
        site = min(comp, key=lambda u: (-d.children[u], u))
        total = sum(d.children[u] for u in comp)
        out.update({u: (site, total) for u in comp})
    return out


def sweep_feasibility(problem: CatchmentProblem, solver: str,
                      time_limit: float | None) -> Status:
    """Whether the ``sweep`` restriction of ``problem`` has a plan: its model with a zero
    objective (a search for any plan, usually a fraction of a second).

    ``OPTIMAL`` (a plan exists, so the contiguous problem on these candidates is
    feasible), ``INFEASIBLE`` (proven: the sweep rule has no plan; the contiguous
    problem may still have one) or ``NO_PLAN_IN_TIME``.
    """
    d = _prepare(problem, "sweep")
    if _precheck(d):
        return Status.INFEASIBLE
    model = _build(d, "sweep", relaxed=False)
    model.prob.setObjective(pulp.LpAffineExpression())
    return solve_problem(model.prob, solver=solver, time_limit=time_limit).status


# ---------------------------------------------------------------------- verifier


def _graph(problem: CatchmentProblem) -> nx.Graph:
    g = nx.Graph()
    g.add_nodes_from(problem.unit_ids)
    g.add_edges_from((a, b) for a, b in problem.adjacency if a != b)
    return g


def zones_contiguous(problem: CatchmentProblem, assignment: Mapping) -> bool:
    """True when every non-empty zone is connected and contains its home unit."""
    g = _graph(problem)
    for s, h in zip(problem.school_ids, problem.home_units):
        zone = sorted((u for u in problem.unit_ids if assignment.get(u) == s), key=str)
        if zone and (assignment.get(h) != s or not nx.is_connected(g.subgraph(zone))):
            return False
    return True


def verify_catchments(problem: CatchmentProblem, assignment: Mapping) -> list[str]:
    """Check a plan against the rules, independently of the model.

    Checks: every unit assigned exactly once to a known school, no forbidden
    (infinite-cost) pair, each school's home unit in its zone, seats, and
    contiguity (the zone's connected component, on the adjacency graph, that
    contains the home unit must be the whole zone).

    Returns
    -------
    list of str
        One message per violation; empty when the plan is valid.
    """
    msgs: list[str] = []
    six = {s: j for j, s in enumerate(problem.school_ids)}
    uix = {u: i for i, u in enumerate(problem.unit_ids)}
    cost = problem.cost_array()
    for u in sorted(set(assignment) - set(uix), key=str):
        msgs.append(f"unknown unit {u!r} in the plan")
    zones: dict = {s: [] for s in problem.school_ids}
    for u in problem.unit_ids:
        if u not in assignment or assignment[u] is None:
            msgs.append(f"unit {u!r} is not assigned")
        elif assignment[u] not in six:
            msgs.append(f"unit {u!r} assigned to unknown school {assignment[u]!r}")
        else:
            s = assignment[u]
            zones[s].append(u)
            if not math.isfinite(cost[uix[u], six[s]]):
                msgs.append(f"unit {u!r} cannot reach school {s!r} (infinite cost)")
    g = _graph(problem)
    for j, s in enumerate(problem.school_ids):
        msgs += _check_zone(problem, g, uix, j, s, zones[s])
    return msgs


def _check_zone(problem: CatchmentProblem, g: nx.Graph, uix: dict, j: int,
                s: Hashable, zone: list) -> list[str]:
    msgs = []
    h = problem.home_units[j]
    kids = sum(int(problem.children[uix[u]]) for u in zone)
    if kids > problem.seats[j]:
        msgs.append(f"school {s!r}: {kids} children for {problem.seats[j]} seats")
    if not zone:
        return msgs
    if h not in zone:
        msgs.append(f"school {s!r}: home unit {h!r} is not in its zone")
        return msgs
    comp = nx.node_connected_component(g.subgraph(zone), h)
    cut_off = [u for u in zone if u not in comp]
    if cut_off:
        msgs.append(f"school {s!r}: zone not contiguous, {len(cut_off)} unit(s) "
                    f"cut off from the home unit, e.g. {cut_off[0]!r}")
    return msgs
