"""Consolidation of small schools with school buses (pure model: no planner import).

Two modes share one data model (:class:`Problem`: schools with the facts the
hard limits need, the units where the pupils of the schools that may close live,
travel-time and distance matrices between the schools and the units' stop sites,
teachers of the schools that may close, teacher shortages):

- :func:`evaluate_plan` (plan mode): the closures are given as
  ``(school_id, receiving_school_id, share)``; a school may be split over
  several receivers (shares of a school sum to 1). Pupils are apportioned per
  stage by largest remainder (ties to the earlier row). Buses are routed and
  timetabled, the receivers and routes are checked, and every violated limit is
  explained.
- :func:`optimise` (optimise mode): choose which candidates close and where
  their pupils go (a MIP in pulp, solved through :func:`models.mip.solve_problem`),
  then route and timetable the buses.

Boarding (pupils board near home)
---------------------------------
A closed school's pupils live in units (villages, communities): ``Problem.homes``
gives, per closed school and stage, the pupils of each unit and how many of them
are in grades 1-3. Each unit offers one stop site (a node of the matrices, chosen
by the caller: where the village meets its road, or the village itself).
:func:`models.stops.choose_stops` opens the fewest stops, then the least walking,
such that a unit with pupils of grades 1-3 has a stop at its own site (they ride
from their own village) and every other unit is within ``walk_limit_m`` of a stop
(``Problem.walk_m``). Stops are chosen over all closed schools together (a village
stop may serve two schools' pupils). Where a school is split over receivers, its
units' pupils are divided by :func:`models.stops.split_to_receivers` (least pupil
minutes, villages kept whole where the shares allow). A closed school with no home
in ``Problem.homes`` keeps the old reading: its pupils board at the school's site.
Every pupil of a closed school rides (none is assumed to walk to a receiver).

Buses, trips and the timetable
------------------------------
A *trip* is an open route from its first stop to **one** receiving school; a stop
with more pupils than one bus holds gets several trips
(:func:`models.routing.solve_vrp`). One trip may collect the pupils of several
closed schools bound for the same receiver. Each stop costs ``dwell_min`` minutes
(boarding); a pupil's ride runs from the bus's arrival at the pupil's stop to its
arrival at school, so the first pupil rides longest and the trip's ``minutes`` is
that ride. Trips are built per receiver by PyVRP on the time budget
``route_seconds`` (:func:`models.routing.budget_iterations`: iterations calibrated
to the budget, deterministic), fewest trips first, then km (the cheaper of PyVRP's
routes and one direct trip per full load is kept). Then the trips are chained
into buses (:func:`models.timetable.chain_trips`, the second step of BiRD): a bus
may run up to ``max_trips`` trips, one after the other, when after unloading
(``dwell_min``) and the empty run to the next first stop the next trip still
arrives within its school's window: no later than ``latest_before_min`` minutes
before the school's bell (``bells``, else ``bell_min``), no earlier than
``earliest_before_min`` minutes before it. The objective is lexicographic:
buses, then bus-km (trips + empty runs), then pupil ride minutes (the last only
breaks ties between PyVRP's and the direct trips). Every departure is a whole
minute; each stop's pick-up time is the departure plus its offset.

Why our own chaining and not PyVRP's reload depots: PyVRP 0.14's multi-trip
routes (``reload_depots``, ``max_reloads``) limit a route's whole duration, not
each trip's, and cannot tie a pupil to the depot (school) where he must be
dropped, so a bus serving two receivers, or a per-trip ride limit, cannot be
expressed; ``bench/bench_consolidation.py --reload`` measures both on one
receiver (where PyVRP's reloads do apply, with client time windows standing in
for the ride limit).

Hard limits (both modes; :class:`Settings`)
-------------------------------------------
Every number of the standard is a required input of :class:`Settings` (and
:attr:`School.size_limit`); the adapter (``planner.plans.consolidation``) fills
them from the standard's ``Rules``. Nothing here has a default for them.

- Ride: no pupil rides longer than ``max_ride_min`` (the standard's transport
  rule). A stop whose direct trip (its road time plus one dwell) to its receiver
  exceeds the limit cannot be served: in plan mode this is explained (``ride``
  when the stop is the school's own site, ``stop_ride`` for a village); in
  optimise mode a pair (school, receiver) whose direct road time exceeds the
  limit is *forbidden* (no MIP variable).
- Bus capacity ``bus_capacity`` seats.
- Classes (indicator 13): new pupils first fill the free seats of the
  receiver's existing classes up to the stage's cap (``class_cap``), then need
  new classes: ``new = ceil(max(0, added - max(0, classes*cap - pupils)) / cap)``.
  All classes of the school (both stages) must fit its ``classrooms``. The merge
  never puts a pupil into a class at or above the cap, so a receiver whose
  largest class is already over the cap keeps failing 13 for reasons of its own
  (reported as a warning, not as a fault of the plan).
- Music and art rooms (indicator 11): ``classes <= classes_per_room * rooms``
  after the merge when the school adds classes (room sizes are unchanged by a
  merge).
- School size (12): ``pupils <= size_limit`` (per school: the adapter sets
  :attr:`School.size_limit` from the standard by school type).
- Floor and sports area (4, 5): ``area >= f_P P + f_J J`` and
  ``sports >= s_P P + s_J J`` (P, J primary and junior pupils after the merge;
  ``f``, ``s`` the per-pupil floors ``floor_m2`` and ``sports_m2``).
  For a two-stage receiver the whole school is compared with this weighted
  requirement (a simplification of the weighted split of docs/rules.md, documented
  choice). Missing data (NaN) means "not checked" and is listed as a warning.
- A limit that a receiver already fails before the merge gives it no room: it
  may receive no pupil that would make that limit worse.
- Optimise mode only: ``Problem.keep`` rows (:class:`KeepRow`) keep a receiver's
  school part at or above the thresholds of indicators 1-3, 6 and 7 it passes
  today, counting the resources that follow the pupils (teachers, equipment), and
  ``Problem.intake_caps`` cap a receiver's intake. The adapter fills both from the
  indicator engine and tightens the caps while the engine still finds a
  regression (the hook where the remediation model may later price a fix instead
  of forbidding it).

Outcome and words
-----------------
:class:`Result` carries a :class:`models.status.Status` (``has_plan``). A plan
that breaks a hard limit is ``INFEASIBLE``; in plan mode (and when the routing of
an optimised plan breaks a limit) the result still holds that plan with every
broken limit measured, and ``closest`` says so. Limits that bind are
:class:`Explanation` codes with their numbers (``kind``, ids, ``values``), and
the required steps of a proposal are the codes :data:`STEPS`; the words are the
output layer's (``planner.outputs.consolidation`` and its catalogue).

Annual cost (yuan per year, :func:`annual_cost`; unit costs in :class:`Costs`)
---------------------------------------------------------------------------
``cost = B * (bus_yuan_per_year + driver_yuan_per_year + attendant_yuan_per_year)``
``     + (directions * loaded_km + empty_km) * trips_per_day * school_days * yuan_per_bus_km``
``     + ride_min * trips_per_day * school_days * yuan_per_pupil_minute``
``     - closed * school_yuan_per_year``

with B buses, ``loaded_km`` the length of all trips (first stop to school),
``empty_km`` the empty runs between the trips of one bus, ``ride_min`` the sum
over pupils of their one-way ride. ``directions`` (2) counts each loaded km once
more for the empty return and positioning runs that are not measured.

Optimise-mode MIP (pairs A: school i, receiver r, stage s with
``minutes[i][r] <= max_ride_min`` and r teaching s)::

    min  sum_{ir} b_ir (F + K d_ir) + sum_{irs} R t_ir n_irs - S sum_i z_i
    s.t. sum_r n_irs = P_is z_i                      every candidate i, stage s
         cap * b_ir >= sum_s n_irs                    every pair (i, r)
         sum_i n_irs - free_rs <= C_s k_rs            every receiver r, stage s
         sum_s k_rs <= rooms_r - classes_r            (classrooms)
         sum_s k_rs <= per_room min(music, art) - classes_r (indicator 11, if known)
         sum_is n_irs <= size_r - pupils_r            (indicator 12)
         f_P sum n_irp + f_J sum n_irj <= area headroom (4), same for sports (5)
         keep rows (1-3, 6, 7) and intake caps        (see above)
         z binary; n, b, k non-negative integers

F = a bus with its driver and attendant per year, K = per route-km per year, R =
per pupil-minute per year, S = saving per closed school, C_s the class cap of
stage s, the other right-hand sides the receiver's headroom (:func:`_headroom`).
The MIP prices every pair with its own direct buses from the school's site; the
routing from the villages with the timetable then decides the buses, and the
reported cost is the routed plan's (it may differ from the MIP's estimate).

Travel
------
``Problem.minutes`` and ``Problem.km`` are the caller's (the planner passes its
one travel-time service, ``geodata.travel.TravelMatrix``: road paths with the
access legs, or the straight-line fallback); this module never measures a trip.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from models.mip import solve_problem
from models.routing import solve_vrp
from models.status import Status
from models.stops import choose_stops, split_to_receivers
from models.timetable import chain_trips

STAGES = ("primary", "junior")

#: required steps of a consolidation proposal (docs/rules.md), in order; their names
#: are the output layer's (catalogue ``consolidation.step.<id>``)
STEPS = ("assessment", "public_notice", "hearing", "approval")

#: indicators a receiver is checked on by the model's own arithmetic (keys of
#: :func:`receiver_values`); the adapter checks every school-level A indicator
#: with the indicator engine
IND_FLOOR, IND_SPORTS, IND_ROOMS, IND_SIZE, IND_CLASS = 4, 5, 11, 12, 13  # not-a-rule: ids
RECEIVER_INDICATORS = (IND_FLOOR, IND_SPORTS, IND_ROOMS, IND_SIZE, IND_CLASS)

#: the flags of :class:`Teacher` a redeployment may make up for, in the order a
#: teacher's flags are tried (reason codes ``short_<flag>``)
SHORTAGE_FLAGS = ("backbone", "pe_art", "qualified")


# --------------------------------------------------------------------- settings


def _cost(default: float, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Costs:
    """Annual unit costs (yuan); see the module docstring. The one home of their
    defaults (the scenario's ``consolidation.costs`` and the command's cost
    options start from them); where each default comes from is :data:`COST_SOURCES`
    (its words: the output catalogue ``consolidation.cost_source.<field>``)."""

    bus_yuan_per_year: float = _cost(80_000.0, "annual cost of one bus: depreciation, "
                                               "insurance, inspection and repair (yuan)")
    driver_yuan_per_year: float = _cost(36_000.0, "annual pay of one bus driver (yuan)")
    attendant_yuan_per_year: float = _cost(18_000.0, "annual pay of one bus attendant "
                                                     "(照管人员, yuan)")
    yuan_per_bus_km: float = _cost(2.5, "running cost per bus-km: fuel, tyres (yuan)")
    yuan_per_pupil_minute: float = _cost(0.1,  # not-a-rule: a value of time, not indicator 19
                                         "value of a pupil's ride minute (yuan)")
    school_yuan_per_year: float = _cost(200_000.0, "annual running cost saved by closing a "
                                                   "school, besides its teachers (yuan)")
    trips_per_day: int = _cost(2, "loaded runs per school day (morning and afternoon)")
    directions: int = _cost(2, "each loaded km once more for the unmeasured empty "
                               "return and positioning runs")
    school_days: int = _cost(190, "school days a year")

    @property
    def per_bus(self) -> float:
        """Yuan per year of one bus with its driver and attendant."""
        return self.bus_yuan_per_year + self.driver_yuan_per_year + self.attendant_yuan_per_year

    @property
    def km_factor(self) -> float:
        """Yuan per year per km of a trip (loaded length, with its unmeasured return)."""
        return self.yuan_per_bus_km * self.trips_per_day * self.directions * self.school_days

    @property
    def empty_km_factor(self) -> float:
        """Yuan per year per km of a measured empty run between two trips."""
        return self.yuan_per_bus_km * self.trips_per_day * self.school_days

    @property
    def ride_factor(self) -> float:
        """Yuan per year per pupil-minute of a one-way ride."""
        return self.yuan_per_pupil_minute * self.trips_per_day * self.school_days


#: where each default unit cost comes from (codes; words: catalogue
#: ``consolidation.cost_source.<code>``)
COST_SOURCES = {
    "bus_yuan_per_year": "bus", "driver_yuan_per_year": "driver",
    "attendant_yuan_per_year": "attendant", "yuan_per_bus_km": "bus_km",
    "yuan_per_pupil_minute": "ride_time", "school_yuan_per_year": "school",
}


@dataclass(frozen=True)
class Settings:
    """The hard limits (numbers of the standard, all required), the timetable and
    the solver settings (required too: their one default is the caller's)."""

    max_ride_min: float                         # longest ride of a pupil (min)
    bus_capacity: int                           # seats per bus
    class_cap: tuple[tuple[str, int], ...]      # indicator 13, per stage
    floor_m2: tuple[tuple[str, float], ...]     # indicator 4, per pupil and stage
    sports_m2: tuple[tuple[str, float], ...]    # indicator 5, per pupil and stage
    classes_per_room: int                       # indicator 11: rooms >= ceil(classes / this)
    music_room_min_m2: float                    # indicator 11: size of a music room
    art_room_min_m2: float                      # indicator 11: size of an art room
    time_limit: float                           # MIP time limit (s)
    seed: int                                   # PyVRP seed
    solver: str                                 # MIP solver (highs | cbc)
    costs: Costs = field(default_factory=Costs)
    walk_limit_m: float = field(kw_only=True)   # longest walk to a stop (grades 4+)
    bell_min: float = field(kw_only=True)       # default bell, minutes after midnight
    bells: tuple[tuple[str, float], ...] = field(kw_only=True)  # per receiver
    latest_before_min: float = field(kw_only=True)    # arrive at least this before the bell
    earliest_before_min: float = field(kw_only=True)  # and at most this before it
    dwell_min: float = field(kw_only=True)      # boarding at a stop, unloading at school
    max_trips: int = field(kw_only=True)        # trips of one bus before the bell
    route_seconds: float = field(kw_only=True)  # routing time budget per receiver (s)

    def cap(self, stage: str) -> int:
        return dict(self.class_cap)[stage]

    def floor(self, stage: str) -> float:
        return dict(self.floor_m2)[stage]

    def sports(self, stage: str) -> float:
        return dict(self.sports_m2)[stage]

    def bell(self, receiver_id: str) -> float:
        """The bell of a receiving school, minutes after midnight."""
        return float(dict(self.bells).get(receiver_id, self.bell_min))

    def window(self, receiver_id: str) -> tuple[float, float]:
        """(earliest, latest) arrival at a receiving school, minutes after midnight."""
        b = self.bell(receiver_id)
        return b - self.earliest_before_min, b - self.latest_before_min


# ------------------------------------------------------------------------ data


@dataclass
class School:
    """A school site (candidate, receiver or both). NaN area/room fields mean
    "no data" (that limit is not checked)."""

    id: str
    name: str
    stages: tuple[str, ...] = ("primary",)
    pupils_primary: int = 0
    pupils_junior: int = 0
    classes_primary: int = 0
    classes_junior: int = 0
    max_class_primary: int = 0
    max_class_junior: int = 0
    classrooms: int = 0
    building_area_m2: float = math.nan
    sports_area_m2: float = math.nan
    music_rooms: float = math.nan
    music_room_min_m2: float = math.nan
    art_rooms: float = math.nan
    art_room_min_m2: float = math.nan
    size_limit: int = field(kw_only=True)       # indicator 12 for this school's type

    def pupils(self, stage: str) -> int:
        return int(self.pupils_primary if stage == "primary" else self.pupils_junior)

    def classes(self, stage: str) -> int:
        return int(self.classes_primary if stage == "primary" else self.classes_junior)

    def max_class(self, stage: str) -> int:
        return int(self.max_class_primary if stage == "primary" else self.max_class_junior)

    @property
    def total_pupils(self) -> int:
        return int(self.pupils_primary + self.pupils_junior)

    @property
    def total_classes(self) -> int:
        return int(self.classes_primary + self.classes_junior)


@dataclass(frozen=True)
class Teacher:
    id: str
    school_id: str
    stage: str
    qualified: bool = False
    backbone: bool = False
    pe_art: bool = False


@dataclass(frozen=True)
class Unit:
    """A residential unit whose stop site is node ``node`` of the matrices."""

    id: str
    name: str
    node: int


@dataclass(frozen=True)
class Home:
    """``pupils`` of closed school ``school_id`` (stage ``stage``) live in unit
    ``unit`` (index into ``Problem.units``), ``young`` of them in grades 1-3."""

    school_id: str
    unit: int
    stage: str
    pupils: int
    young: int = 0


@dataclass(frozen=True)
class KeepRow:
    """Optimise mode: keep a receiver's school part at or above a threshold,
    ``(resource + sum_i follow_i * n_i) * multiplier >= threshold * (pupils + sum_i n_i)``
    with ``n_i`` the pupils of candidate i (this stage) it receives and ``follow_i``
    the resource per pupil that moves with them (teachers, equipment; 0 for rooms)."""

    receiver_id: str
    stage: str
    indicator: int
    resource: float
    pupils: int
    threshold: float
    multiplier: float
    follow: tuple[tuple[str, float], ...] = ()


@dataclass
class Problem:
    """Schools, where the pupils of the closing schools live, and the travel.

    ``minutes[i][j]`` and ``km[i][j]``: bus travel from node i to node j; nodes
    ``0..len(schools)-1`` are the schools (position in ``schools``), further nodes
    are the units' stop sites (``Unit.node``); ``inf`` where no road connects them.
    ``walk_m[u][k]``: walk from unit u's homes to unit k's stop site (metres).
    ``shortages[(school_id, stage)]``: teachers missing for indicators 1-3 after
    the merge, ``{"qualified": n, "backbone": n, "pe_art": n}``.
    """

    schools: list[School]
    minutes: np.ndarray
    km: np.ndarray
    teachers: list[Teacher] = field(default_factory=list)
    shortages: dict = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    walk_m: np.ndarray | None = None
    keep: list[KeepRow] = field(default_factory=list)
    intake_caps: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.minutes = np.asarray(self.minutes, dtype=float)
        self.km = np.asarray(self.km, dtype=float)
        n = len(self.schools)
        shape = self.minutes.shape
        if (len(shape) != 2 or shape[0] != shape[1] or shape[0] < n
                or self.km.shape != shape):
            raise ValueError(f"minutes and km must be square, at least {n}x{n} for {n} "
                             f"schools, and of one shape")
        ids = [s.id for s in self.schools]
        if len(set(ids)) != n:
            raise ValueError("school ids must be unique")
        self.index = {s.id: k for k, s in enumerate(self.schools)}
        for u in self.units:
            if not 0 <= u.node < shape[0]:
                raise ValueError(f"unit {u.id}: node {u.node} is not in the matrices")
        nu = len(self.units)
        if self.walk_m is None:
            self.walk_m = np.zeros((nu, nu))
        self.walk_m = np.asarray(self.walk_m, dtype=float)
        if self.walk_m.shape != (nu, nu):
            raise ValueError(f"walk_m must be {nu}x{nu} for {nu} units")
        for h in self.homes:
            if not 0 <= h.unit < nu:
                raise ValueError(f"home of {h.school_id}: unit {h.unit} is not in units")
            if h.school_id not in self.index:
                raise ValueError(f"home of unknown school {h.school_id!r}")

    def school(self, sid: str) -> School:
        return self.schools[self.index[sid]]


# --------------------------------------------------------------------- results


@dataclass
class Assignment:
    school_id: str
    school: str
    receiving_school_id: str
    receiving_school: str
    stage: str
    pupils: int
    ride_min: float | None  # longest ride of these pupils (None: not routed)


@dataclass
class Route:
    """One trip: from its first stop to its receiving school, on bus ``bus`` (its
    ``trip``-th trip of the morning), leaving the first stop at minute ``depart``
    after midnight. ``stops[k] = (stop_id, pupils boarding)``, ``nodes[k]`` the
    stop's node; ``arrive_min[k]`` minutes after the first stop (the last entry is
    the school)."""

    route_id: str
    bus: int
    receiving_school_id: str
    stops: list[tuple[str, int]]        # (stop id, pupils boarding), in order
    arrive_min: list[float]             # per stop, then the receiving school
    km_from_start: list[float]
    km: float
    minutes: float
    nodes: list[int] = field(default_factory=list)
    trip: int = 1
    depart: float = 0.0

    @property
    def pupils(self) -> int:
        return sum(q for _, q in self.stops)

    @property
    def arrive(self) -> float:
        """Arrival at the school, minutes after midnight."""
        return self.depart + self.minutes


@dataclass(frozen=True)
class Boarding:
    """``pupils`` of closed school ``school_id`` (stage, from unit ``unit_id``)
    board trip ``route_id`` at stop ``stop_id`` after a walk of ``walk_m``."""

    route_id: str
    stop_id: str
    unit_id: str
    school_id: str
    stage: str
    pupils: int
    walk_m: float


#: reason codes of a redeployment: the teacher follows the pupils, makes up a
#: shortage of a flag (``short_backbone`` ...), or has no receiver
REASONS = ("follows_pupils", *(f"short_{f}" for f in SHORTAGE_FLAGS), "no_receiver")


@dataclass
class Redeployment:
    teacher_id: str
    from_school_id: str
    to_school_id: str           # "" when no receiver (reason ``no_receiver``)
    stage: str
    reason: str                 # one of :data:`REASONS`


@dataclass(frozen=True)
class Explanation:
    """A limit that binds (or a warning), as a code and its numbers.

    ``kind`` is one of ``ride`` (a pair beyond the ride limit: ``minutes``,
    ``limit``), ``stop_ride`` (a village stop beyond it: ``stop``, ``minutes``,
    ``limit``), ``no_road``, ``classrooms`` (``more``, ``classes``,
    ``classrooms``), ``size`` (``pupils``, ``limit``), ``floor`` / ``sports``
    (``area``, ``need``, ``short`` in m²), ``rooms11`` (``classes``,
    ``rooms_needed``, ``have``), ``stage`` (``stage``, ``pupils``); warnings
    ``floor_no_data`` / ``sports_no_data``, ``class_size`` (``stage``,
    ``max_class``, ``cap``); from :func:`verify`: ``capacity`` (``route``,
    ``pupils``, ``capacity``), ``route`` (``route``), ``route_ride`` (``route``,
    ``minutes``, ``limit``), ``unrouted`` (``missing``), ``window`` (``route``,
    ``clock``), ``overlap`` (``route``, ``bus``). ``values`` also hold the names
    ``school`` and ``receiver`` (data, not words)."""

    kind: str
    school_id: str
    receiver_id: str = ""
    values: tuple[tuple[str, Any], ...] = ()

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.values)


def _explain(kind: str, school_id: str, receiver_id: str = "", **values: Any) -> Explanation:
    return Explanation(kind, school_id, receiver_id, tuple(values.items()))


@dataclass
class Result:
    status: Status
    mode: str                      # plan | optimise
    closed: list[str]
    assignments: list[Assignment]
    routes: list[Route]
    cost: dict                     # see annual_cost
    objective: float | None
    gap: float | None
    solver: str
    solve_seconds: float
    redeployments: list[Redeployment]
    receivers: dict                # id -> {"before": {...}, "after": {...}}
    explanations: list[Explanation]
    warnings: list[Explanation]
    new_classes: dict              # (receiver_id, stage) -> classes added
    mip_objective: float | None = None
    steps: tuple[str, ...] = STEPS
    closest: bool = False          # INFEASIBLE, and this is the plan with its shortfalls
    boarding: list[Boarding] = field(default_factory=list)
    empty_km: float = 0.0          # empty runs between the trips of one bus
    routing: list[dict] = field(default_factory=list)   # per receiver: PyVRP's stopping
    chaining: dict = field(default_factory=dict)        # status and gap of the bus chaining

    @property
    def buses(self) -> int:
        return len({r.bus for r in self.routes})

    @property
    def trips(self) -> int:
        return len(self.routes)

    @property
    def loaded_km(self) -> float:
        return float(sum(r.km for r in self.routes))

    @property
    def bus_km(self) -> float:
        """Km of the morning timetable: the trips and the empty runs between them."""
        return self.loaded_km + float(self.empty_km)

    @property
    def max_ride_min(self) -> float:
        return float(max((r.minutes for r in self.routes), default=0.0))

    def moved(self) -> dict:
        """(receiver_id, stage) -> pupils received."""
        out: dict = {}
        for a in self.assignments:
            out[(a.receiving_school_id, a.stage)] = out.get(
                (a.receiving_school_id, a.stage), 0) + a.pupils
        return out


# ------------------------------------------------------------- arithmetic


def free_seats(pupils: int, classes: int, cap: int) -> int:
    """Seats left in existing classes filled up to ``cap``."""
    return max(0, classes * cap - pupils)


def new_classes_needed(pupils: int, classes: int, added: int, cap: int) -> int:
    """New classes for ``added`` pupils after the free seats are used."""
    rest = added - free_seats(pupils, classes, cap)
    return max(0, math.ceil(rest / cap)) if rest > 0 else 0


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` (ties: earlier first)."""
    wsum = float(sum(weights))
    if total <= 0 or wsum <= 0:
        return [0] * len(weights)
    raw = [total * w / wsum for w in weights]
    out = [math.floor(x + 1e-9) for x in raw]
    rest = total - sum(out)
    order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - out[k]), k))
    for k in order[:rest]:
        out[k] += 1
    return out


# ------------------------------------------------------ receiver indicators


def receiver_values(s: School, settings: Settings, added: dict | None = None,
                    new_classes: dict | None = None) -> dict:
    """Indicators 4, 5, 11, 12, 13 of a school, after adding ``added[stage]``
    pupils in ``new_classes[stage]`` new classes (the model's own checker)."""
    added = added or {}
    new_classes = new_classes or {}
    p = {st: s.pupils(st) + added.get(st, 0) for st in STAGES}
    c = {st: s.classes(st) + new_classes.get(st, 0) for st in STAGES}
    total = p["primary"] + p["junior"]
    out: dict = {}
    need_floor = sum(settings.floor(st) * p[st] for st in STAGES)
    need_sports = sum(settings.sports(st) * p[st] for st in STAGES)
    for key, area, need in ((IND_FLOOR, s.building_area_m2, need_floor),
                            (IND_SPORTS, s.sports_area_m2, need_sports)):
        if total == 0 or _nan(area):
            out[key] = {"value": None, "threshold": None, "passed": None}
        else:
            out[key] = {"value": round(area / total, 2),
                        "threshold": round(need / total, 2),
                        "passed": bool(area >= need - 1e-9)}
    classes = c["primary"] + c["junior"]
    need_rooms = math.ceil(classes / settings.classes_per_room) if classes else 0
    ok11 = None
    if not (_nan(s.music_rooms) or _nan(s.art_rooms)):
        ok11 = bool(s.music_rooms >= need_rooms and s.art_rooms >= need_rooms)
        if not _nan(s.music_room_min_m2) and s.music_rooms > 0:
            ok11 = ok11 and s.music_room_min_m2 >= settings.music_room_min_m2
        if not _nan(s.art_room_min_m2) and s.art_rooms > 0:
            ok11 = ok11 and s.art_room_min_m2 >= settings.art_room_min_m2
    out[IND_ROOMS] = {"classes": classes, "rooms_needed": need_rooms,
               "music_rooms": None if _nan(s.music_rooms) else int(s.music_rooms),
               "art_rooms": None if _nan(s.art_rooms) else int(s.art_rooms),
               "passed": ok11}
    out[IND_SIZE] = {"value": total, "threshold": s.size_limit, "passed": total <= s.size_limit}
    mc = {}
    for st in s.stages:
        base = s.max_class(st)
        if added.get(st, 0) > 0 and c[st] > 0:
            # pupils spread over the classes, never above the cap
            base = max(base, min(settings.cap(st), math.ceil(p[st] / c[st])))
        mc[st] = base
    out[IND_CLASS] = {"max_class": mc,
               "passed": all(mc[st] <= settings.cap(st) for st in mc)}
    out["classes"] = {"classes": classes, "classrooms": s.classrooms,
                      "passed": classes <= s.classrooms}
    return out


def _nan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _headroom(s: School, settings: Settings) -> dict:
    """Room a receiver has before any limit gets worse (never negative)."""
    need_floor = sum(settings.floor(st) * s.pupils(st) for st in STAGES)
    need_sports = sum(settings.sports(st) * s.pupils(st) for st in STAGES)
    h = {
        "classrooms": max(0, s.classrooms - s.total_classes),
        "size": max(0, s.size_limit - s.total_pupils),
        "floor": None if _nan(s.building_area_m2) else max(0.0, s.building_area_m2 - need_floor),
        "sports": None if _nan(s.sports_area_m2) else max(0.0, s.sports_area_m2 - need_sports),
        "rooms11": None,
    }
    if not (_nan(s.music_rooms) or _nan(s.art_rooms)):
        rooms = min(s.music_rooms, s.art_rooms)
        h["rooms11"] = max(0, int(settings.classes_per_room * rooms) - s.total_classes)
    return h


def check_receiver(s: School, added: dict, settings: Settings
                   ) -> tuple[dict, list[Explanation], list[Explanation]]:
    """New classes per stage, violations and warnings for pupils ``added``."""
    errs: list[Explanation] = []
    warns: list[Explanation] = []
    newc = {st: new_classes_needed(s.pupils(st), s.classes(st), added.get(st, 0),
                                   settings.cap(st)) for st in STAGES}
    total_add = sum(added.values())
    if total_add <= 0:
        return newc, errs, warns
    for st, q in added.items():
        if q > 0 and st not in s.stages:
            errs.append(_explain("stage", s.id, school=s.name, stage=st, pupils=q))
    classes = s.total_classes + sum(newc.values())
    if classes > s.classrooms:
        errs.append(_explain("classrooms", s.id, school=s.name, more=classes - s.classrooms,
                             classes=classes, classrooms=s.classrooms))
    total = s.total_pupils + total_add
    if total > s.size_limit:
        errs.append(_explain("size", s.id, school=s.name, pupils=total, limit=s.size_limit))
    for kind, area, per in (("floor", s.building_area_m2, settings.floor),
                            ("sports", s.sports_area_m2, settings.sports)):
        if _nan(area):
            warns.append(_explain(f"{kind}_no_data", s.id, school=s.name))
            continue
        need = sum(per(st) * (s.pupils(st) + added.get(st, 0)) for st in STAGES)
        if area < need - 1e-9:
            errs.append(_explain(kind, s.id, school=s.name, area=float(area), need=need,
                                 short=need - area))
    if sum(newc.values()) > 0 and not (_nan(s.music_rooms) or _nan(s.art_rooms)):
        rooms_needed = math.ceil(classes / settings.classes_per_room)
        have = int(min(s.music_rooms, s.art_rooms))
        if have < rooms_needed:
            errs.append(_explain("rooms11", s.id, school=s.name, classes=classes,
                                 rooms_needed=rooms_needed, have=have))
    for st in s.stages:
        mc = s.max_class(st)
        if mc > settings.cap(st):
            warns.append(_explain("class_size", s.id, school=s.name, stage=st, max_class=mc,
                                  cap=settings.cap(st)))
    return newc, errs, warns


# ---------------------------------------------------------------- routing


def annual_cost(routes: Iterable[Route], closed: int, costs: Costs,
                ride_pupil_minutes: float | None = None, empty_km: float = 0.0,
                buses: int | None = None) -> dict:
    """Yearly cost and saving (module docstring), each part in yuan."""
    routes = list(routes)
    if ride_pupil_minutes is None:
        ride_pupil_minutes = sum(_route_ride_minutes(r) for r in routes)
    nb = len({r.bus for r in routes}) if buses is None else int(buses)
    loaded = sum(r.km for r in routes)
    vehicles = nb * costs.bus_yuan_per_year
    drivers = nb * costs.driver_yuan_per_year
    attendants = nb * costs.attendant_yuan_per_year
    km = loaded * costs.km_factor + empty_km * costs.empty_km_factor
    ride = ride_pupil_minutes * costs.ride_factor
    saving = closed * costs.school_yuan_per_year
    total = vehicles + drivers + attendants + km + ride - saving
    return {"buses_yuan": round(vehicles, 2), "drivers_yuan": round(drivers, 2),
            "attendants_yuan": round(attendants, 2), "bus_km_yuan": round(km, 2),
            "ride_yuan": round(ride, 2), "saving_yuan": round(saving, 2),
            "total_yuan": round(total, 2),
            "buses": nb, "closed": int(closed),
            "bus_km_per_year": round((loaded * costs.directions + empty_km)
                                     * costs.trips_per_day * costs.school_days, 1),
            "pupil_ride_minutes": round(ride_pupil_minutes, 2)}


def _route_ride_minutes(r: Route) -> float:
    end = r.arrive_min[-1]
    return sum(q * (end - r.arrive_min[k]) for k, (_, q) in enumerate(r.stops))


def _make_route(stops: list[tuple[str, int]], nodes: list[int], receiver: str,
                problem: Problem, dwell: float) -> Route:
    """A trip through ``nodes`` (one per stop) to ``receiver``: each stop costs
    ``dwell`` minutes before the bus drives on."""
    path = list(nodes) + [problem.index[receiver]]
    arrive, kms = [0.0], [0.0]
    for a, b in itertools.pairwise(path):
        arrive.append(arrive[-1] + float(problem.minutes[a, b]) + dwell)
        kms.append(kms[-1] + float(problem.km[a, b]))
    return Route(route_id="", bus=0, receiving_school_id=receiver, stops=list(stops),
                 arrive_min=[round(x, 4) for x in arrive], km_from_start=[round(x, 4) for x in kms],
                 km=kms[-1], minutes=arrive[-1], nodes=list(nodes))


def _trips_key(routes: list[Route]) -> tuple[int, float, float]:
    """What the routing minimises: trips, then km, then pupil minutes."""
    return (len(routes), round(sum(r.km for r in routes), 9),
            round(sum(_route_ride_minutes(r) for r in routes), 9))


#: up to this many visits (remainders of stops) the trips are enumerated, not searched
EXACT_VISITS = 4


def _set_partitions(items: list[int]):
    """Every partition of ``items`` into blocks (the block of the first item first)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for k in range(len(rest) + 1):
        for others in itertools.combinations(rest, k):
            left = [x for x in rest if x not in others]
            for tail in _set_partitions(left):
                yield [[first, *others], *tail]


def _exact_trips(visits: list[int], load: dict[int, int], mins: np.ndarray, kms: np.ndarray,
                 cap: int, limit: float) -> list[list[int]]:
    """The fewest trips, then the least km, then the least pupil minutes, for a few
    visits (local indices, the school is 0): every partition, every order of each
    block, within the capacity and the ride limit. A visit alone always fits (the
    caller checked its direct ride)."""
    best_block: dict[tuple[int, ...], tuple[float, float, tuple[int, ...]] | None] = {}

    def block(b: tuple[int, ...]):
        if b not in best_block:
            res = None
            if sum(load[v] for v in b) <= cap:
                for perm in itertools.permutations(b):
                    path = [*perm, 0]
                    t = [0.0]
                    for x, y in itertools.pairwise(path):
                        t.append(t[-1] + float(mins[x, y]))
                    if t[-1] > limit:
                        continue
                    km = float(sum(kms[x, y] for x, y in itertools.pairwise(path)))
                    ride = sum(load[v] * (t[-1] - t[k]) for k, v in enumerate(perm))
                    key = (round(km, 9), round(ride, 9), perm)
                    if res is None or key < res:
                        res = key
            best_block[b] = res
        return best_block[b]

    best = None
    for part in _set_partitions(sorted(visits)):
        keys = [block(tuple(b)) for b in part]
        if any(k is None for k in keys):
            continue
        total = (len(part), round(sum(k[0] for k in keys), 9), round(sum(k[1] for k in keys), 9),
                 sorted(k[2] for k in keys))
        if best is None or total < best:
            best = total
    assert best is not None
    return [list(p) for p in best[3]]


def route_receiver(problem: Problem, receiver: str, demand: dict[int, int],
                   settings: Settings, names: dict[int, str] | None = None
                   ) -> tuple[list[Route], list[int], dict]:
    """Trips to one receiver for ``demand[node] = pupils``; returns the trips (the
    better of PyVRP's and one direct trip per full load: fewer trips, then km, then
    pupil minutes), the nodes no trip can serve within the ride limit, and PyVRP's
    stopping (``visits``, ``iterations``, ``max_iterations``, ``stopped_by``)."""
    names = names or {}
    stops = sorted(v for v, q in demand.items() if q > 0)
    stats = {"receiver": receiver, "visits": 0, "iterations": 0, "max_iterations": 0,
             "stopped_by": ""}
    if not stops:
        return [], [], stats
    r = problem.index[receiver]
    dwell = settings.dwell_min
    nodes = [r] + stops
    mins = problem.minutes[np.ix_(nodes, nodes)] + dwell
    np.fill_diagonal(mins, 0.0)
    mins[0, :] = problem.minutes[r, nodes]          # leaving the school: never used
    kms = problem.km[np.ix_(nodes, nodes)]
    cap = settings.bus_capacity
    limit = settings.max_ride_min + 1e-9
    ok = [k for k in range(1, len(nodes)) if mins[k, 0] <= limit]
    bad = [stops[k - 1] for k in range(1, len(nodes)) if k not in ok]
    label = names.get

    def make(seq: list[tuple[int, int]]) -> Route:
        return _make_route([(label(v, str(v)), q) for v, q in seq], [v for v, _ in seq],
                           receiver, problem, dwell)

    direct: list[Route] = []
    for k in ok:
        q = demand[stops[k - 1]]
        while q > 0:
            direct.append(make([(stops[k - 1], min(q, cap))]))
            q -= min(q, cap)
    best = direct
    rest = [k for k in ok if demand[stops[k - 1]] % cap]
    multi = len(rest) > 1
    if multi and len(rest) <= EXACT_VISITS:
        full = [rt for rt in direct if rt.pupils == cap]
        seqs = _exact_trips(rest, {k: demand[stops[k - 1]] % cap for k in rest}, mins, kms,
                            cap, limit)
        exact = full + [make([(stops[k - 1], demand[stops[k - 1]] % cap) for k in seq])
                        for seq in seqs]
        stats.update(visits=len(rest), stopped_by="exact")
        if _trips_key(exact) < _trips_key(direct):
            best = exact
    elif multi:
        sub = [0] + ok
        m = mins[np.ix_(sub, sub)]
        d = kms[np.ix_(sub, sub)]
        dem = [0] + [demand[stops[k - 1]] for k in ok]
        finite = d[np.isfinite(d)]
        vcost = 1.0 + float(finite.sum()) if finite.size else 1.0  # one trip fewer wins
        res = solve_vrp(d, dem, cap, open_end=0, durations=m,
                        max_duration=settings.max_ride_min + 1e-6,
                        time_limit=settings.route_seconds, seed=settings.seed,
                        vehicle_cost=vcost)
        stats.update(visits=sum(1 for q in dem if q % cap), iterations=res.iterations,
                     max_iterations=res.max_iterations, stopped_by=res.stopped_by)
        if res.status.has_plan:
            vrp = [make([(stops[ok[v - 1] - 1], q) for v, q in zip(rt, ld)])
                   for rt, ld in zip(res.routes, res.loads)]
            if (all(rt.minutes <= settings.max_ride_min + 1e-6 for rt in vrp)
                    and _trips_key(vrp) < _trips_key(direct)):
                best = vrp
    return best, bad, stats


# ------------------------------------------------------------- explanations


def _ride_explanation(problem: Problem, sid: str, rid: str, settings: Settings) -> Explanation:
    s, r = problem.school(sid), problem.school(rid)
    t = float(problem.minutes[problem.index[sid], problem.index[rid]])
    if not math.isfinite(t):
        return _explain("no_road", sid, rid, school=s.name, receiver=r.name)
    return _explain("ride", sid, rid, school=s.name, receiver=r.name, minutes=t,
                    limit=settings.max_ride_min)


# ------------------------------------------------------------ the two modes


def evaluate_plan(problem: Problem, closures: Sequence[tuple[str, str, float]],
                  settings: Settings) -> Result:
    """Route and check a given plan (see the module docstring). The caller has
    checked the closures (known ids, no school receiving its own pupils, shares
    of a school summing to 1); a ``ValueError`` here is a caller's bug."""
    t0 = time.perf_counter()
    by_school: dict[str, list[tuple[str, float]]] = {}
    for sid, rid, share in closures:
        for x in (sid, rid):
            if x not in problem.index:
                raise ValueError(f"unknown school id {x!r}")
        if sid == rid:
            raise ValueError(f"{sid} cannot receive its own pupils")
        by_school.setdefault(sid, []).append((rid, float(share)))
    flows: dict[tuple[str, str, str], int] = {}
    for sid, lst in by_school.items():
        s = problem.school(sid)
        for st in STAGES:
            n = s.pupils(st)
            for (rid, _), q in zip(lst, apportion(n, [w for _, w in lst])):
                if q > 0:
                    flows[(sid, rid, st)] = flows.get((sid, rid, st), 0) + q
    res = _finish(problem, sorted(by_school), flows, settings, mode="plan",
                  status=Status.FEASIBLE, gap=None, solver="pyvrp", t0=t0)
    return res


def optimise(problem: Problem, candidates: Sequence[str], receivers: Sequence[str],
             settings: Settings, must_close: Sequence[str] = ()) -> Result:
    """Choose closures and receivers by the MIP of the module docstring, then route.

    ``must_close``: candidates that close whatever it costs (``z_i = 1``); the
    MIP then only chooses where their pupils go (infeasible if it cannot). A
    candidate with no receiver within the ride limit stays open (a warning
    names the nearest receiver)."""
    t0 = time.perf_counter()
    cand = sorted(set(candidates))
    recv = sorted(set(receivers) - set(cand))
    prob = pulp.LpProblem("consolidation", pulp.LpMinimize)
    z, n, b = _mip_variables(problem, cand, recv, settings)
    c = settings.costs
    obj = []
    for (i, r), var in b.items():
        d = problem.km[problem.index[i], problem.index[r]]
        obj.append((c.per_bus + c.km_factor * d) * var)
    for (i, r, _), var in n.items():
        t = problem.minutes[problem.index[i], problem.index[r]]
        obj.append(c.ride_factor * t * var)
    obj.append(-c.school_yuan_per_year * pulp.lpSum(z.values()))
    prob += pulp.lpSum(obj)
    for i in must_close:
        if i not in z:
            raise ValueError(f"must_close {i!r} is not a candidate")
        prob += z[i] == 1
    expl: list[Explanation] = []
    for i in cand:
        _candidate_rows(prob, problem.school(i), z[i], n, b, settings)
        if all(a != i for (a, _) in b) and problem.school(i).total_pupils > 0 and recv:
            row = problem.minutes[problem.index[i]]
            nearest = min(recv, key=lambda r: (row[problem.index[r]], r))
            expl.append(_ride_explanation(problem, i, nearest, settings))
    for kr, r in enumerate(recv):
        into = {st: [v for (_, r2, s2), v in n.items() if r2 == r and s2 == st] for st in STAGES}
        if any(into.values()):
            _receiver_rows(prob, problem.school(r), kr, into, settings)
            _keep_rows(prob, problem, r, n)
    info = solve_problem(prob, solver=settings.solver, time_limit=settings.time_limit, gap=1e-7)
    if not info.status.has_plan:
        res = _finish(problem, [], {}, settings, mode="optimise", status=info.status,
                      gap=info.gap, solver=info.solver, t0=t0)
        res.explanations = expl + res.explanations
        return res
    closed = [i for i in cand if round(z[i].value() or 0) == 1]
    flows = {}
    for key, var in n.items():
        q = round(var.value() or 0)
        if q > 0 and key[0] in closed:
            flows[key] = q
    res = _finish(problem, closed, flows, settings, mode="optimise", status=info.status,
                  gap=info.gap, solver=info.solver, t0=t0)
    res.mip_objective = float(info.objective) if info.objective is not None else None
    res.warnings = expl + res.warnings  # candidates that cannot close
    return res


def _mip_variables(problem: Problem, cand: list[str], recv: list[str], settings: Settings
                   ) -> tuple[dict, dict, dict]:
    """``z[i]`` (candidate i closes), ``n[(i, r, stage)]`` (its pupils of a stage
    going to r) and ``b[(i, r)]`` (buses from i to r), for the pairs within the
    ride limit where r teaches a stage i has pupils in."""
    z = {i: pulp.LpVariable(f"z_{k}", cat="Binary") for k, i in enumerate(cand)}
    n: dict = {}
    b: dict = {}
    for ki, i in enumerate(cand):
        si = problem.school(i)
        stages = [st for st in STAGES if si.pupils(st) > 0]
        for kr, r in enumerate(recv):
            sr = problem.school(r)
            t = problem.minutes[problem.index[i], problem.index[r]]
            if not t <= settings.max_ride_min + 1e-9:
                continue
            pair_st = [st for st in stages if st in sr.stages]
            if not pair_st:
                continue
            for st in pair_st:
                n[(i, r, st)] = pulp.LpVariable(f"n_{ki}_{kr}_{st[0]}", lowBound=0, cat="Integer")
            b[(i, r)] = pulp.LpVariable(f"b_{ki}_{kr}", lowBound=0, cat="Integer")
    return z, n, b


def _candidate_rows(prob: pulp.LpProblem, si: School, zi: pulp.LpVariable, n: dict, b: dict,
                    settings: Settings) -> None:
    """A closed candidate sends all its pupils of every stage, in enough buses."""
    i = si.id
    for st in STAGES:
        q = si.pupils(st)
        if q <= 0:
            continue
        vs = [v for (a, _, s2), v in n.items() if a == i and s2 == st]
        if vs:
            prob += pulp.lpSum(vs) == q * zi
        else:
            prob += zi == 0
    mine = []
    for (a, r), var in b.items():
        if a == i:
            mine.append(var)
            load = pulp.lpSum(v for (a2, r2, _), v in n.items() if a2 == i and r2 == r)
            prob += settings.bus_capacity * var >= load
            # valid and tighter when the school is smaller than a bus
            if 0 < si.total_pupils < settings.bus_capacity:
                prob += si.total_pupils * var >= load
    if mine and si.total_pupils > 0:  # a closed school needs its full buses
        prob += pulp.lpSum(mine) >= math.ceil(si.total_pupils / settings.bus_capacity) * zi


def _receiver_rows(prob: pulp.LpProblem, sr: School, kr: int, into: dict,
                   settings: Settings) -> None:
    """A receiver's limits on what it takes (``into[stage]``: the variables of
    the pupils coming): new classes within its classrooms and music/art rooms,
    its size, its floor and sports area (see :func:`_headroom`)."""
    h = _headroom(sr, settings)
    k = {}
    for st in STAGES:
        if not into[st]:
            continue
        k[st] = pulp.LpVariable(f"k_{kr}_{st[0]}", lowBound=0, cat="Integer")
        free = free_seats(sr.pupils(st), sr.classes(st), settings.cap(st))
        prob += pulp.lpSum(into[st]) - free <= settings.cap(st) * k[st]
    prob += pulp.lpSum(k.values()) <= h["classrooms"]
    if h["rooms11"] is not None:
        prob += pulp.lpSum(k.values()) <= h["rooms11"]
    allv = [v for st in STAGES for v in into[st]]
    prob += pulp.lpSum(allv) <= h["size"]
    if h["floor"] is not None:
        prob += pulp.lpSum(settings.floor(st) * v for st in STAGES for v in into[st]) \
            <= h["floor"]
    if h["sports"] is not None:
        prob += pulp.lpSum(settings.sports(st) * v for st in STAGES for v in into[st]) \
            <= h["sports"]


def _keep_rows(prob: pulp.LpProblem, problem: Problem, r: str, n: dict) -> None:
    """The receiver's :class:`KeepRow` rows and intake cap (optimise mode): no
    indicator it passes today may fail after the merge. HOOK: this is where the
    remediation model may price the fix (a slack with its cost) instead of
    forbidding the intake."""
    for row in problem.keep:
        if row.receiver_id != r:
            continue
        follow = dict(row.follow)
        vs = [(i, v) for (i, r2, s2), v in n.items() if r2 == r and s2 == row.stage]
        if not vs:
            continue
        prob += (row.multiplier * (row.resource + pulp.lpSum(follow.get(i, 0.0) * v
                                                             for i, v in vs))
                 >= row.threshold * (row.pupils + pulp.lpSum(v for _, v in vs)))
    cap = problem.intake_caps.get(r)
    if cap is not None:
        prob += pulp.lpSum(v for (_, r2, _), v in n.items() if r2 == r) <= int(cap)


# ------------------------------------------------------------ boarding


def _boarding_groups(problem: Problem, closed: list[str], flows: dict, settings: Settings
                     ) -> tuple[dict, list[Explanation], dict[int, str], dict]:
    """Stops and who boards where: ``groups[(receiver, node)]`` lists
    ``(unit_id, school_id, stage, pupils, walk_m)``; the explanations of a unit no
    stop can serve; node labels (stop ids); and per node the stop's units served."""
    closed_set = set(closed)
    units = problem.units
    walk = problem.walk_m
    assert walk is not None
    homes = [h for h in problem.homes if h.school_id in closed_set and h.pupils > 0]
    with_home = {h.school_id for h in homes}
    labels = {problem.index[i]: i for i in closed}
    expl: list[Explanation] = []
    # stops over every unit where pupils of a closed school live
    pup = [0] * len(units)
    young = [False] * len(units)
    for h in homes:
        pup[h.unit] += h.pupils
        young[h.unit] = young[h.unit] or h.young > 0
    plan = None
    if homes:
        try:
            plan = choose_stops(walk, pup, young, settings.walk_limit_m, solver=settings.solver,
                                time_limit=settings.time_limit)
        except ValueError:
            plan = None
    board = list(plan.board) if plan is not None else [k if pup[k] else -1
                                                        for k in range(len(units))]
    walk_of = list(plan.walk_m) if plan is not None else [float(walk[k, k]) for k in
                                                           range(len(units))]
    for k in range(len(units)):
        if board[k] >= 0:
            labels[units[board[k]].node] = units[board[k]].id
    groups: dict[tuple[str, int], list] = {}
    by_school_stage: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for (i, r, st), q in sorted(flows.items()):
        by_school_stage.setdefault((i, st), []).append((r, q))
    for (i, st), lst in sorted(by_school_stage.items()):
        mine = [h for h in homes if h.school_id == i and h.stage == st]
        if i not in with_home or not mine:
            node = problem.index[i]
            for r, q in lst:
                groups.setdefault((r, node), []).append((i, i, st, q, 0.0))
            continue
        total = sum(h.pupils for h in mine)
        quota = [q for _, q in lst]
        if total != sum(quota):  # homes disagree with the school's pupils: rescale
            scaled = apportion(sum(quota), [h.pupils for h in mine])
        else:
            scaled = [h.pupils for h in mine]
        stop_nodes = [units[board[h.unit]].node for h in mine]
        tmin = np.array([[problem.minutes[v, problem.index[r]] for r, _ in lst]
                         for v in stop_nodes])
        x = split_to_receivers(scaled, quota, tmin, solver=settings.solver)
        for hk, h in enumerate(mine):
            for rk, (r, _) in enumerate(lst):
                if x[hk][rk] > 0:
                    groups.setdefault((r, stop_nodes[hk]), []).append(
                        (units[h.unit].id, i, st, x[hk][rk], walk_of[h.unit]))
    served: dict[int, list[str]] = {}
    for k in range(len(units)):
        if board[k] >= 0:
            served.setdefault(units[board[k]].node, []).append(units[k].id)
    return groups, expl, labels, served


def _split_boarding(route_loads: list[tuple[str, int]], rows: list) -> list[list]:
    """Share the boarding rows of one stop over its trips (``route_loads``:
    ``(route_id, pupils)`` in trip order), in row order, splitting a row where a
    trip is full."""
    out: list[list] = [[] for _ in route_loads]
    queue = [list(r) for r in rows]
    k = 0
    for t, (_, load) in enumerate(route_loads):
        left = load
        while left > 0 and k < len(queue):
            take = min(left, queue[k][3])
            row = list(queue[k])
            row[3] = take
            out[t].append(row)
            queue[k][3] -= take
            left -= take
            if queue[k][3] == 0:
                k += 1
    return out


def _finish(problem: Problem, closed: list[str], flows: dict, settings: Settings, *,
            mode: str, status: Status, gap: float | None, solver: str, t0: float) -> Result:
    """Check receivers, choose stops, route and timetable buses, cost and redeploy for
    given flows. A broken limit makes the status ``INFEASIBLE``; the plan is kept
    (``closest``)."""
    explanations: list[Explanation] = []
    warnings: list[Explanation] = []
    groups, expl, labels, _served = _boarding_groups(problem, closed, flows, settings)
    explanations += expl
    # receivers
    receivers = sorted({r for (_, r, _) in flows})
    recv_info: dict = {}
    new_classes: dict = {}
    for r in receivers:
        sr = problem.school(r)
        added = {st: sum(v for (_, r2, s2), v in flows.items() if r2 == r and s2 == st)
                 for st in STAGES}
        newc, errs, warns = check_receiver(sr, added, settings)
        explanations += errs
        warnings += warns
        for st in STAGES:
            if newc[st]:
                new_classes[(r, st)] = newc[st]
        recv_info[r] = {"before": receiver_values(sr, settings),
                        "after": receiver_values(sr, settings, added, newc),
                        "added": {st: q for st, q in added.items() if q}}
    # trips per receiver
    trips: list[Route] = []
    routing: list[dict] = []
    for r in receivers:
        demand: dict[int, int] = {}
        for (r2, node), rows in groups.items():
            if r2 == r:
                demand[node] = demand.get(node, 0) + sum(x[3] for x in rows)
        rs, bad, stats = route_receiver(problem, r, demand, settings, labels)
        explanations += _stop_explanations(problem, r, bad, groups, settings)
        trips += rs
        if stats["visits"]:
            routing.append(stats)
    # bus days and clock times
    trips.sort(key=lambda x: (x.receiving_school_id, x.nodes, [-q for _, q in x.stops]))
    chains = _chain(problem, trips, settings)
    order = sorted(range(len(trips)), key=lambda t: (trips[t].receiving_school_id,
                                                     chains.depart[t], trips[t].nodes))
    count: dict[str, int] = {}
    rid_of = {}
    for t in order:
        rt = trips[t]
        count[rt.receiving_school_id] = count.get(rt.receiving_school_id, 0) + 1
        rid_of[t] = f"{rt.receiving_school_id}-{count[rt.receiving_school_id]:02d}"
    routes: list[Route] = []
    for bus, chain in enumerate(chains.buses, start=1):
        for k, t in enumerate(chain, start=1):
            rt = trips[t]
            rt.route_id, rt.bus, rt.trip, rt.depart = rid_of[t], bus, k, float(chains.depart[t])
            routes.append(rt)
    routes.sort(key=lambda x: (x.bus, x.trip))
    # who boards which trip
    boarding: list[Boarding] = []
    ride: dict[tuple[str, str, str], float] = {}
    for (r, node), rows in sorted(groups.items()):
        mine = [(rt, k) for rt in routes if rt.receiving_school_id == r
                for k, v in enumerate(rt.nodes) if v == node]
        if not mine:
            continue
        parts = _split_boarding([(rt.route_id, rt.stops[k][1]) for rt, k in mine], rows)
        for (rt, k), part in zip(mine, parts):
            for unit_id, sid, st, q, w in part:
                boarding.append(Boarding(rt.route_id, rt.stops[k][0], unit_id, sid, st, int(q),
                                         round(float(w), 1)))
                key = (sid, r, st)
                ride[key] = max(ride.get(key, 0.0), rt.minutes - rt.arrive_min[k])
    boarding.sort(key=lambda b: (b.route_id, b.stop_id, b.school_id, b.stage, b.unit_id))
    assignments = []
    for (i, r, st), q in sorted(flows.items()):
        si, sr = problem.school(i), problem.school(r)
        rm = ride.get((i, r, st))
        assignments.append(Assignment(i, si.name, r, sr.name, st, int(q),
                                      None if rm is None else round(rm, 2)))
    cost = annual_cost(routes, len(closed), settings.costs, empty_km=chains.empty_km,
                       buses=len(chains.buses))
    redeploy = redeploy_teachers(problem, closed, flows)
    if explanations:
        status = Status.INFEASIBLE
    res = Result(status=status, mode=mode, closed=sorted(closed), assignments=assignments,
                 routes=routes, cost=cost, objective=cost["total_yuan"], gap=gap, solver=solver,
                 solve_seconds=time.perf_counter() - t0, redeployments=redeploy,
                 receivers=recv_info, explanations=_dedup(explanations),
                 warnings=_dedup(warnings), new_classes=new_classes, boarding=boarding,
                 empty_km=round(chains.empty_km, 4), routing=routing,
                 chaining={"status": str(chains.status), "gap": chains.gap,
                           "max_trips": settings.max_trips})
    problems = verify(problem, res, settings)
    if problems:
        res.status = Status.INFEASIBLE
        known = set(res.explanations)
        unreachable = {(e.school_id, e.receiver_id) for e in res.explanations
                       if e.kind in ("ride", "no_road", "stop_ride")}
        res.explanations += [e for e in problems if e not in known and not (
            e.kind == "unrouted" and (e.school_id, e.receiver_id) in unreachable)]
    res.closest = res.status is Status.INFEASIBLE and bool(res.assignments)
    return res


def _stop_explanations(problem: Problem, r: str, bad: list[int], groups: dict,
                       settings: Settings) -> list[Explanation]:
    """Why the pupils at the stops ``bad`` cannot ride to ``r`` within the limit: per
    closed school, the school's own trip (``ride``, ``no_road``) when even its site is
    beyond the limit, else each village stop beyond it (``stop_ride``)."""
    out: list[Explanation] = []
    by_school: dict[str, list[int]] = {}
    for node in bad:
        for row in groups[(r, node)]:
            if node not in by_school.setdefault(row[1], []):
                by_school[row[1]].append(node)
    sr = problem.school(r)
    for sid, nodes in sorted(by_school.items()):
        site = float(problem.minutes[problem.index[sid], problem.index[r]])
        if not site + settings.dwell_min <= settings.max_ride_min + 1e-9:
            out.append(_ride_explanation(problem, sid, r, settings))
            continue
        si = problem.school(sid)
        for node in sorted(nodes):
            t = float(problem.minutes[node, problem.index[r]])
            out.append(_explain("stop_ride", sid, r, school=si.name, receiver=sr.name,
                                stop=_stop_name(problem, node), minutes=t + settings.dwell_min,
                                limit=settings.max_ride_min) if math.isfinite(t) else
                       _explain("no_road", sid, r, school=si.name, receiver=sr.name))
    return out


def _stop_name(problem: Problem, node: int) -> str:
    """The name of a stop node (a unit's or a school's)."""
    if node < len(problem.schools):
        return problem.schools[node].name
    return next((u.name for u in problem.units if u.node == node), str(node))


def _chain(problem: Problem, trips: list[Route], settings: Settings):
    """The trips as buses (:func:`models.timetable.chain_trips`)."""
    n = len(trips)
    gmin = np.full((n, n), math.inf)
    gkm = np.full((n, n), math.inf)
    for a, ta in enumerate(trips):
        ra = problem.index[ta.receiving_school_id]
        for b, tb in enumerate(trips):
            if a != b:
                gmin[a, b] = problem.minutes[ra, tb.nodes[0]]
                gkm[a, b] = problem.km[ra, tb.nodes[0]]
    windows = [settings.window(t.receiving_school_id) for t in trips]
    return chain_trips([t.minutes for t in trips], [w[0] for w in windows],
                       [w[1] for w in windows], gmin, gkm, dwell=settings.dwell_min,
                       max_trips=settings.max_trips, solver=settings.solver,
                       time_limit=settings.time_limit)


def _dedup(items: list[Explanation]) -> list[Explanation]:
    """The explanations in order, each once."""
    return list(dict.fromkeys(items))


# ----------------------------------------------------------------- checking


def verify(problem: Problem, res: Result, settings: Settings) -> list[Explanation]:
    """Independent check of a result: every assigned pupil carried once, no bus
    over capacity, no ride over the limit, route figures recomputed, every trip
    within its school's window, no bus on two trips at once. Returns explanations
    of what is wrong (empty: fine)."""
    out: list[Explanation] = []
    carried: dict[tuple[str, str, str], int] = {}
    at_stop: dict[tuple[str, str], int] = {}
    receiver_of = {rt.route_id: rt.receiving_school_id for rt in res.routes}
    for bd in res.boarding:
        key = (bd.school_id, receiver_of.get(bd.route_id, ""), bd.stage)
        carried[key] = carried.get(key, 0) + bd.pupils
        at_stop[(bd.route_id, bd.stop_id)] = at_stop.get((bd.route_id, bd.stop_id), 0) \
            + bd.pupils
    for rt in res.routes:
        if rt.pupils > settings.bus_capacity:
            out.append(_explain("capacity", rt.receiving_school_id, route=rt.route_id,
                                pupils=rt.pupils, capacity=settings.bus_capacity))
        chk = _make_route(rt.stops, rt.nodes, rt.receiving_school_id, problem,
                          settings.dwell_min)
        if abs(chk.minutes - rt.minutes) > 1e-6 or abs(chk.km - rt.km) > 1e-6:
            out.append(_explain("route", rt.receiving_school_id, route=rt.route_id))
        if rt.minutes > settings.max_ride_min + 1e-6:
            out.append(_explain("route_ride", rt.stops[0][0], route=rt.route_id,
                                minutes=rt.minutes, limit=settings.max_ride_min))
        lo, hi = settings.window(rt.receiving_school_id)
        if not lo - 1e-6 <= rt.arrive <= hi + 1e-6:
            out.append(_explain("window", rt.receiving_school_id, route=rt.route_id,
                                clock=rt.arrive))
        for sid, q in rt.stops:
            if at_stop.get((rt.route_id, sid), 0) != q:
                out.append(_explain("route", rt.receiving_school_id, route=rt.route_id))
    by_bus: dict[int, list[Route]] = {}
    for rt in res.routes:
        by_bus.setdefault(rt.bus, []).append(rt)
    for bus, lst in sorted(by_bus.items()):
        lst = sorted(lst, key=lambda x: x.depart)
        if len(lst) > settings.max_trips:
            out.append(_explain("overlap", lst[0].receiving_school_id, route=lst[0].route_id,
                                bus=bus))
        for first, then in itertools.pairwise(lst):
            gap = problem.minutes[problem.index[first.receiving_school_id], then.nodes[0]]
            if then.depart < first.arrive + settings.dwell_min + gap - 1e-6:
                out.append(_explain("overlap", then.receiving_school_id, route=then.route_id,
                                    bus=bus))
    want: dict[tuple[str, str, str], int] = {}
    for asg in res.assignments:
        key = (asg.school_id, asg.receiving_school_id, asg.stage)
        want[key] = want.get(key, 0) + asg.pupils
    for key, q in sorted(want.items()):
        if carried.get(key, 0) != q:
            si, sr = problem.school(key[0]), problem.school(key[1])
            out.append(_explain("unrouted", key[0], key[1], school=si.name, receiver=sr.name,
                                missing=q - carried.get(key, 0)))
    return out


# ------------------------------------------------------------ teachers


def redeploy_teachers(problem: Problem, closed: Sequence[str], flows: dict) -> list[Redeployment]:
    """Teachers of closed schools go where their pupils go, or where a school
    is short of teachers for indicators 1-3.

    Per closed school and stage, the teachers are apportioned to the receivers
    in proportion to the pupils each receives (largest remainder). Teachers are
    taken in order (most flags first, then id); a teacher with a flag
    (qualified, backbone, PE/art) whose indicator is short at one of the
    school's receivers goes there; else, if another school teaching the stage
    is short (``problem.shortages``), there; else to the receiver with the most
    places left. Shortages are used up as teachers arrive.
    """
    short = {k: dict(v) for k, v in problem.shortages.items()}
    stages_of = {s.id: s.stages for s in problem.schools}
    out: list[Redeployment] = []
    closed_set = set(closed)
    for i in sorted(closed_set):
        for st in STAGES:
            teachers = sorted((t for t in problem.teachers if t.school_id == i and t.stage == st),
                              key=lambda t: (-(t.qualified + t.backbone + t.pe_art), t.id))
            if not teachers:
                continue
            recv = sorted((r, q) for (a, r, s2), q in flows.items() if a == i and s2 == st)
            if not recv:  # no pupils of this stage moved: follow the school's other pupils
                recv = sorted({(r, 0) for (a, r, _), q in flows.items()
                               if a == i and st in stages_of.get(r, ())})
                recv = [(r, 1) for r, _ in recv]
            quota = dict(zip([r for r, _ in recv], apportion(len(teachers), [q for _, q in recv])))
            for t in teachers:
                flags = [f for f in SHORTAGE_FLAGS if getattr(t, f)]
                dest, reason = None, ""
                for f in flags:
                    cands = [r for r, _ in recv if short.get((r, st), {}).get(f, 0) > 0]
                    if cands:
                        dest = max(cands, key=lambda r: (short[(r, st)][f], quota.get(r, 0), r))
                        reason = f"short_{f}"
                        break
                    others = [k for k, v in short.items() if k[1] == st and v.get(f, 0) > 0
                              and k[0] not in closed_set]
                    if others and not any(quota.get(r, 0) > 0 for r, _ in recv):
                        key = max(others, key=lambda k: (short[k][f], k[0]))
                        dest = key[0]
                        reason = f"short_{f}"
                        break
                if dest is None and recv:
                    dest = max((r for r, _ in recv), key=lambda r: (quota.get(r, 0), r))
                    reason = "follows_pupils"
                if dest is None:
                    out.append(Redeployment(t.id, i, "", st, "no_receiver"))
                    continue
                quota[dest] = quota.get(dest, 0) - 1
                for f in flags:
                    if short.get((dest, st), {}).get(f, 0) > 0:
                        short[(dest, st)][f] -= 1
                out.append(Redeployment(t.id, i, dest, st, reason))
    out.sort(key=lambda x: x.teacher_id)
    return out
