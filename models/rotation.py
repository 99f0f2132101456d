r"""Teacher rotation (交流轮岗, indicator 19) as a lexicographic integer programme.

Plain data in (:class:`RotationProblem`), a named rotation list out
(:class:`RotationResult`).  This module is pure: it does not import ``planner``,
and it holds no number of the standard: the floors of indicators 1–3 and the
rotation shares are required fields of :class:`RotationSettings` (the caller
reads them from the standard).  It returns codes and figures, never words: a
move's reason is a code, a failed pre-check is a :class:`Diagnostic`.

Aggregation
-----------
Eligible teachers of the same school part ``p`` (school, stage), the same subject
and the same flags (qualified, backbone, PE/art) are interchangeable; they form a
*group* ``g`` with ``n_g`` members.  Indicators 1–3 only see the flags, so the flows
between schools are by *type* ``t = (qualified, backbone, pe_art)`` (at most 8).
Named teachers are picked after solving (see *Decoding*).

Purpose: need, strong parts and exchanges
-----------------------------------------
A part *lacks* indicator ``k ∈ {1, 2, 3}`` when, before the plan, it is below the
floor ``f_k`` or below the county value ``c_k`` of its stage (the problem's
``county``; without it the model's own stage mean ``100·T_k/P_s``).  A part is *weak*
when it lacks one of 1–3 or its school lists the stage in ``weak_stages`` (the caller:
below a floor of another indicator, 4–7).  A part is *strong* when its school is urban
and the part is not weak; every other part is *in need*.

A teacher of type ``t`` arriving at part ``q`` goes *toward need*, ``toward(q, t)``, when
``q``'s school is not urban (town or rural: 支援乡村、镇区学校), or ``q`` is weak and
either ``t`` brings an indicator ``q`` lacks or ``q`` is weak in another indicator
(``weak_stages``: any help serves a 薄弱学校).  Reading taken: the issue's "to a rural
or town school, or to a school part that is weak, bringing the subject or
qualification it lacks" binds the "bringing" clause to weak parts only; a subject is
not a flow type, so at the level of the model "what it lacks" is an indicator of 1–3.
With ``urban_moves`` every arrival at a strong part also counts as toward need (the
planner asked for moves between urban schools that are not weak).

An *exchange* (对口交流) joins a part ``p`` in need with one of its
``exchange_partners`` nearest strong parts ``q`` of the stage (travel cost, then id):
``xo_pqt`` teachers of type ``t`` go ``p → q`` to learn (跟岗学习, kind
``exchange_out``) and as many ``xb_qpt`` go back ``q → p`` (kind ``exchange_back``),
each of a type toward ``p``'s need.  Every other move is in the *pool*.

Symbols
-------
``P_p``            pupils of part ``p``; ``P_s`` pupils of stage ``s`` (in-scope parts)
``T_pk``           teachers of part ``p`` counting for indicator ``k`` (1 qualified,
                   2 backbone, 3 PE/art) today; ``T_k`` the stage total (constant)
``n_h``            head count of school ``h`` today (all stages);
                   ``[lo_h, hi_h]`` its band, ``cap_h`` its send limit
``E, R``           eligible teachers, ``R = ceil(share · E)`` required movers
``y_g ≥ 0``        members of group ``g`` who leave (continuous: see below)
``po_pt ∈ Z``      teachers of type ``t`` leaving part ``p`` through the pool
``in_pt ∈ Z``      teachers of type ``t`` arriving at part ``p`` through the pool
``xo_pqt, xb_qpt`` exchange legs (integers), only for the pairs above
``out_pt``         ``po_pt + Σ_q xo_pqt + Σ_q xb_pqt``  (every leaver of type ``t``)
``A_pt``           ``in_pt + Σ xo_·pt + Σ xb_·pt``  (every arrival of type ``t``)
``a_pk``           ``T_pk − Σ_{t∋k} out_pt + Σ_{t∋k} A_pt`` (after the plan)
``w_iq ∈ {0,1}``   teacher ``i`` is granted their wish ``q`` (``preferences``)

Constraints (the numbers are used in the constraint names)
----------------------------------------------------------
(0) leavers: ``Σ_{subject} y_{p,subject,t} = out_pt``, ``0 ≤ y_g ≤ n_g`` (0 in a stage of
    one part).  The groups of the subjects (5) cannot bind at a part (not every
    teacher of the subject there is eligible) are merged per part and type into one
    group of subject ``""``: they need no subject of their own, and the decoder takes
    their longest serving members.  ``y`` need not be integer: for integer ``out`` the
    ``y`` of a part form a bipartite flow (types → subjects with the capacities of
    (5)), whose vertices are integral; the decoder finds an integral one (a max-flow
    per part).
(1) movers:    ``M = Σ out ≥ R``
(2) backbone:  ``backbone_base="rotated"``: ``den · B ≥ num · M`` with
    ``num/den = backbone_share`` as an exact fraction (``5 B ≥ M`` for a fifth);
    ``backbone_base="eligible"``: ``B ≥ ceil(backbone_share · R)``, i.e. the share is
    taken of the *required* movers ``ceil(share · eligible)``, so moving extra
    non-backbone teachers does not raise the backbone requirement.
(3) pool conservation per stage and type: ``Σ_p po_pt = Σ_p in_pt`` (``= tot_st``);
    moves stay within the stage and go only to parts of that stage.
(4) no move to one's own school: ``po_pt + in_pt ≤ tot_st``.  With (3) this is exactly
    the condition for a transport plan without diagonal to exist (Gale/Hall), so
    levels before travel need no pool arc variables.  With granted wishes ``G`` routed
    through the pool the rows read ``(po − G_out) + (in − G_in) ≤ tot − G_tot`` (the
    same condition for what remains once the wishes' arcs are fixed).
(5) subject: for every part and subject it teaches today, at least one of its *own*
    teachers of that subject stays: ``Σ_{g ∈ (p, subject)} y_g ≤ count − 1``.
    (Reading taken: a school may not rely on an incoming rotating teacher to keep
    a subject; this is stricter than "after ≥ 1" and is what the verifier checks.)
(6) band and quota: ``lo_h ≤ n_h − out_h + A_h ≤ hi_h`` with
    ``lo_h = floor((1−band) n_h)``, ``hi_h = min(ceil((1+band) n_h), quota_h)``, and
    ``hi_h = n_h`` when the school is already above its quota (it may not gain).
(7) send limit: ``out_h ≤ cap_h = max(1, floor(max_send_share · n_h))`` where the
    school has an eligible teacher.
(8) exchange pairs: ``Σ_t xo_pqt = Σ_t xb_qpt`` for every pair.
(9) direction rule (``direction_rule``, off by default): the purpose level below is a
    hard rule, i.e. its variables are not created (pool arrivals not toward need,
    backbone exchange legs out of a part in need).
(10) wishes: ``Σ_q w_iq ≤ 1``; ``Σ_{i∈g} Σ_q w_iq ≤ y_g``; a wish from a part in need
    to one of its exchange partners is granted through that exchange
    (``Σ_{i∈(p,t)} w_iq ≤ xo_pqt``), any other through the pool
    (``G_out_pt ≤ po_pt``, ``G_in_qt ≤ in_qt`` and the rows (4)).

Objective: true lexicographic, solved in sequence
-------------------------------------------------
Level 1, purpose: ``min Σ_{¬toward(q,t)} (1 + [t backbone]) in_qt + Σ_{t backbone} xo``:
moves that serve no need, plus backbone teachers who do not go toward need (a backbone
teacher moving between two strong parts counts twice).  With ``direction_rule`` it is
0 by construction and is not solved.
Level 2, shortfall (teachers): ``min Σ_{p,k} u_pk``, ``u_pk ≥ f_k P_p / 100 − a_pk``.
Level 3, spread: ``min Σ_{p,k} d_pk / T_k``, ``d_pk ≥ ±(a_pk − P_p T_k / P_s)`` (``d`` in
teachers, so every row has unit coefficients), which is exactly the enrolment-weighted
absolute deviation ``(P_p/P_s)·|X_pk − X̄_k| / X̄_k``
(``X̄_k`` is constant: moves stay within county and stage).  Indicators with
``T_k = 0`` have no spread and are skipped; parts with no pupils have no value.
Level 4, wishes: ``max Σ (C + 3 − r_iq) w_iq`` with ``r`` the rank of the choice (1–3)
and ``C = 2·(wishes) + 1``: the most teachers granted one of their choices, then the
better choices (the rank never outweighs one more teacher granted).
Level 5, travel: ``min Σ c_{hh'} x_pqt + Σ c·xo + Σ c·xb`` over pool arc variables
``x`` linked by ``Σ_q x_pqt = po_pt``, ``Σ_p x_pqt = in_qt``, ``x ≥ G`` (granted wishes).
``c_{hh'}`` is the problem's ``travel`` cost from school ``h`` to ``h'`` (the caller's
unit, e.g. minutes); a problem without ``travel`` costs every move 0.  Each move also
costs ``_MOVE_TIE`` (1e-4) in the solver, so that of two plans with the same minutes
the one with fewer moves is taken (A → C rather than A → B and B → C when the minutes
add up); the reported travel is the minutes alone.
Hull cuts (11a), (11b): ``a_pk`` is an integer, so the convex hulls of
``max(0, f − a)`` and ``|a − τ|`` over the integers are added as one extra line each:
``u ≥ δ (⌊f⌋ + 1 − a)`` and ``d ≥ δ' + (a − ⌊τ⌋)(1 − 2δ')`` with ``δ``, ``δ'``
the fractional parts of the need ``f = f_k P_p/100`` and the target
``τ = P_p T_k / P_s``.  They cut off no integer point and close most of the LP gap.
After each level its value ``v`` is pinned (``level ≤ v + 1e-6·max(1, |v|)``) and
the next level is solved on the same model from the previous plan (a MIP start), so
a later level never trades away an earlier one.  When a level stops on its time
budget, the pinned value is the incumbent's, and the status is ``FEASIBLE``.

Time
----
``time_limit`` covers everything :func:`solve` does, model building and decoding
included: the levels share what is left after building, a level getting at most its
weight's share of the rest (purpose 1, shortfall 1, spread 4, wishes 1, travel 1),
and what a level leaves unused passes on; twice the build time is kept back for
the travel level's arcs, decoding and checking the plan.  A first level that finds
no plan in its share goes on with all the time left (from where its relaxation
stopped).  HiGHS (1.x) measures
its time limit against the object's summed run time, so each run's limit is added to
it.  After a level whose value is 0 with only non-negative terms (purpose), its
columns are fixed at 0 rather than pinned.  HiGHS is driven directly through
``highspy`` (the model is built once as arrays and kept between levels); CBC goes
through ``pulp``.

Large counties: level 5 keeps all pool arcs when ``Σ_t sources × destinations ≤
arc_limit``; otherwise each source gets its ``travel_candidates`` nearest
destinations plus the arcs of a greedy transport plan of the level-4 solution (so
level 5 stays feasible), and with ``travel_mode="auto"`` (or ``"fixed"``) the
counts (``po``, ``in``, exchange legs, wishes) are fixed at their level-4 values, so
level 5 is a transport problem.  Levels 1–4 are then still exact; level 5 is optimal
over that arc set and those counts (``RotationResult.travel_arcs`` says which case
applied).  ``travel_mode="full"`` keeps the counts free.

Infeasibility
-------------
Before solving, :func:`precheck` bounds the movers and backbone movers any plan
can reach (send limits, subject rule, one-part stages) and returns one
:class:`Diagnostic` (a code and its figures) per failed check.  When the checks
fail or the solver proves (1)–(2) infeasible, the model is re-solved with integer
slacks on (1) and (2) minimised first (level 0), then the other levels.  If the
slacks stay positive the result has status :attr:`Status.INFEASIBLE`,
``closest=True``, the measured ``shortfalls`` and this closest plan in ``moves``; with
the direction rule on, a ``direction_unreachable`` diagnostic names the parts in need
that are full and the subjects that keep teachers of parts in need at home.

Decoding
--------
Within a group, the teachers who leave are first those granted a wish, then the
longest serving (``years_at_school`` descending, then teacher id).  The other leavers
of a part and type (sorted the same way) are sent to the remaining places in
increasing travel cost, then destination id (exchange legs after pool moves at equal
cost).  The legs of an exchange between two schools are paired in teacher-id order
(``Move.pair``).  Reason codes (:data:`REASON_CODES`): an exchange leg out of a part in
need is ``exchange_out``; every other move is credited at the receiving part (its
incoming teachers in teacher-id order, against what is left after its own leavers): a
floor of 3, 2, 1 still short (``floor_3``, ``floor_2``, ``floor_1``), then the county
value of 3, 2, 1 (``county_3`` …), then a subject the part has fewer teachers of than
the county's rate per pupil of the stage (``subject``), then a part weak in another
indicator (``weak_school``), then a town or rural school (``support_town``,
``support_rural``); an exchange's back leg that credits none of these is
``exchange_back``, any other move ``quota`` (it is there to reach the rotation share).
The words for the codes are the output layer's.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from models import mip
from models.mip import SolveInfo
from models.status import Status

__all__ = [
    "DIAGNOSTIC_CODES",
    "FLOOR_PUPILS",
    "KINDS",
    "LEVELS",
    "REASON_CODES",
    "STAGES",
    "Diagnostic",
    "Move",
    "PartValues",
    "RotationProblem",
    "RotationResult",
    "RotationSettings",
    "School",
    "Shortfall",
    "Teacher",
    "classify",
    "plan_levels",
    "precheck",
    "solve",
    "verify_rotation",
]

STAGES = ("primary", "junior")
INDICATORS = (1, 2, 3)
#: the unit of the floors and of :class:`PartValues`: teachers per this many pupils
FLOOR_PUPILS = 100.0  # not-a-rule: the unit the floors are given in, not a limit
#: the reason codes of a move (see *Decoding*)
REASON_CODES = ("floor_3", "floor_2", "floor_1", "county_3", "county_2", "county_1",
                "subject", "weak_school", "support_town", "support_rural", "exchange_out",
                "exchange_back", "quota")
#: a move's kind: a pool move, or a leg of an exchange
KINDS = ("move", "exchange_out", "exchange_back")
#: the objective levels in the order they are solved (``slack`` first when relaxed)
LEVELS = ("purpose", "shortfall", "spread", "wishes", "travel")
#: the codes of :class:`Diagnostic`
DIAGNOSTIC_CODES = ("single_school_stage", "movers_unreachable", "backbone_unreachable",
                    "solver_infeasible", "direction_unreachable", "backbone_not_toward_need")
#: the most wishes a teacher may give
MAX_WISHES = 3
_FLAG_ORDER = (3, 2, 1)               # PE/art first, then backbone, then qualified
_WEIGHTS = {"slack": 1.0, "purpose": 1.0, "shortfall": 1.0, "spread": 4.0,
            "wishes": 1.0, "travel": 1.0}
_TOL = 1e-6
_HALF = 0.5  # not-a-rule: the rounding point of an integer variable
_DECODE_SHARE = 2.0  # not-a-rule: seconds kept for travel arcs and decoding per build second
#: when a list, every HiGHS step of every level is appended to it as
#: ``(step, seconds, status, value, bound)`` (the benchmark's diagnostics)
TRACE: list | None = None
_EPS = 1e-9
_MIN_STEP = 0.5  # not-a-rule: the fewest seconds given to one HiGHS step
#: added to each move's travel cost at level 5 to break ties toward fewer moves: a
#: hundred moves weigh 0.01, below the last decimal of the minutes
_MOVE_TIE = 1e-4


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Teacher:
    """One teacher of the roster, as the model sees them.

    ``eligible`` is computed by the caller (years, age, exemptions, history);
    ``preferences`` are up to three school ids the teacher would like to go to, best
    first (the caller has checked them).
    """

    id: str
    school_id: str
    stage: str
    subject: str
    qualified: bool
    backbone: bool
    pe_art: bool
    eligible: bool
    name: str = ""
    years_at_school: int = 0
    preferences: tuple[str, ...] = ()

    def flags(self) -> tuple[bool, bool, bool]:
        """Return the type ``(qualified, backbone, pe_art)``."""
        return (self.qualified, self.backbone, self.pe_art)


@dataclass(frozen=True)
class School:
    """A school; ``pupils`` maps stage to enrolment, ``stages`` the stages taught;
    ``weak_stages`` the stages in which the school is below a floor of an indicator
    the model does not see (4–7, the caller's), which makes the part weak."""

    id: str
    stages: frozenset[str]
    pupils: Mapping[str, int]
    area_type: str = "town"
    staff_quota: int | None = None
    weak_stages: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class RotationSettings:
    """Rules and limits; see the module docstring for each constraint.

    Every field a planner can set or the standard fixes is required (the caller
    holds the one default): ``share`` and ``backbone_share`` (indicator 19),
    ``floors`` (stage -> thresholds of indicators 1, 2, 3 in teachers per
    :data:`FLOOR_PUPILS` pupils), ``backbone_base`` (``"rotated"`` or ``"eligible"``,
    constraint (2)), ``band`` (6), ``max_send_share`` (7), ``direction_rule`` (9),
    ``urban_moves`` (moves into strong parts count as toward need) and
    ``exchange_partners`` (how many nearest strong parts a part in need may exchange
    with; 0: no exchanges).  The last three are how large counties are solved (see
    *Large counties*).
    """

    share: float
    backbone_share: float
    floors: Mapping[str, tuple[float, float, float]]
    backbone_base: str
    band: float
    max_send_share: float
    direction_rule: bool
    urban_moves: bool
    exchange_partners: int
    travel_candidates: int = 10
    arc_limit: int = 60_000
    travel_mode: str = "auto"


@dataclass(frozen=True)
class RotationProblem:
    """Teachers, schools, settings, an optional travel cost ``(from, to) -> cost`` and
    the optional county values of indicators 1–3 (``stage -> (v1, v2, v3)`` per
    :data:`FLOOR_PUPILS` pupils, e.g. the indicator engine's; without them the model's
    own stage means).

    ``travel`` is any mapping (it is only looked up, never copied, so a lazy one
    serves a large county); it must hold a finite cost for every pair of
    different schools a move may join.  Without ``travel`` every move costs 0.
    """

    teachers: Sequence[Teacher]
    schools: Sequence[School]
    settings: RotationSettings
    travel: Mapping[tuple[str, str], float] | None = None
    county: Mapping[str, tuple[float, float, float]] | None = None


@dataclass(frozen=True)
class Move:
    """One teacher's move: ``reason`` is one of :data:`REASON_CODES`, ``direction``
    the area types ``"<from>-><to>"`` (e.g. ``"town->rural"``), ``kind`` one of
    :data:`KINDS`, ``pair`` the teacher id of the other leg of an exchange, ``wish``
    the rank (1–3) of the granted choice (0: none)."""

    teacher_id: str
    from_school: str
    to_school: str
    stage: str
    subject: str
    reason: str
    direction: str
    cost: float
    name: str = ""
    kind: str = "move"
    pair: str = ""
    wish: int = 0


@dataclass(frozen=True)
class PartValues:
    """Indicators 1–3 per 100 pupils of one school part, before and after;
    ``lacks`` the indicators of 1–3 it lacks before (floor or county value),
    ``weak`` and ``strong`` its class (see *Purpose*)."""

    school_id: str
    stage: str
    pupils: int
    before: tuple[float, ...]          # indicators 1, 2, 3
    after: tuple[float, ...]
    lacks: tuple[int, ...] = ()
    weak: bool = False
    strong: bool = False


@dataclass(frozen=True)
class Shortfall:
    """How far a closest plan misses a hard rotation count (``rule``: ``"movers"``
    or ``"backbone"``)."""

    rule: str
    required: int
    achieved: int
    short: int


@dataclass(frozen=True)
class Diagnostic:
    """Why the hard rotation counts cannot be met, or what stopped a goal, as a code
    and its figures.

    ``code`` and ``figures``:

    - ``single_school_stage``: ``stage``, ``school`` (its only school, or ``None``),
      ``teachers`` (eligible teachers of the stage who therefore cannot rotate);
    - ``movers_unreachable``: ``share``, ``eligible``, ``required``, ``most`` (the
      most teachers any plan can send), ``max_send_share``, ``at`` (``(school,
      teachers it can send)`` pairs, most first, then school id);
    - ``backbone_unreachable``: ``backbone_share``, ``base`` (``"rotated"`` or
      ``"eligible"``), ``movers`` (the movers the share is taken of), ``needed``,
      ``available`` (eligible backbone teachers who can leave), ``at`` (as above);
    - ``solver_infeasible``: no figures; the solver proved (1)–(2) unreachable
      under the band, quota, send and subject rules;
    - ``direction_unreachable`` (direction rule on, counts unreachable): ``required``,
      ``reached`` (movers of the closest plan), ``backbone_required``,
      ``backbone_reached``, ``full`` (``(school, room left)`` of schools in need whose
      head count cannot grow any more, by school id), ``kept`` (``(school, stage,
      subject)`` where the subject rule keeps a part in need's only teachers of a
      subject at home, by school id);
    - ``backbone_not_toward_need`` (a goal, not a hard count): ``teachers`` (backbone
      movers not going toward need), ``full`` (as above).
    """

    code: str
    figures: Mapping[str, Any]


@dataclass(frozen=True)
class RotationResult:
    """The rotation plan and its figures.

    ``status`` (:class:`models.status.Status`) is ``OPTIMAL`` (every level
    proven), ``FEASIBLE`` (a level stopped on a limit), ``INFEASIBLE`` (the hard
    counts are unreachable) or ``NO_PLAN_IN_TIME`` / ``ERROR`` (no plan).  When
    infeasible, ``closest`` says that ``moves`` is the relaxed closest plan, and
    ``shortfalls`` measures what it misses.  ``objective`` maps the level names of
    :data:`LEVELS` (and ``slack`` for a relaxed solve) to the level values
    recomputed from the moves (``wishes``: the weighted grants of level 4); ``gap`` is
    the largest level gap.  ``messages`` explains an unreachable count or a goal
    missed (:class:`Diagnostic`).  ``counts``: ``eligible``, ``required_movers``,
    ``rotated``, ``backbone_rotated``, ``backbone_required``, ``exchanges`` (pairs),
    ``not_toward_need`` (moves that serve no need), ``backbone_not_toward_need``,
    ``wish_teachers`` (eligible teachers with a wish), ``wishes_granted``.
    """

    status: Status
    moves: tuple[Move, ...]
    objective: dict[str, float]
    gap: float | None
    solver: str
    seconds: float
    counts: dict[str, int]
    parts: tuple[PartValues, ...]
    messages: tuple[Diagnostic, ...] = ()
    shortfalls: tuple[Shortfall, ...] = ()
    levels: tuple[SolveInfo, ...] = ()
    travel_arcs: str = "all"
    closest: bool = False
    level_names: tuple[str, ...] = ()
    build_seconds: float = 0.0


# ------------------------------------------------------------------ preparation
def _frac(x: float) -> Fraction:
    """Exact fraction of a decimal setting (0.1 -> 1/10, not the binary float)."""
    return Fraction(str(x))


def _ceil(f: Fraction) -> int:
    return -((-f.numerator) // f.denominator)


def _floor(f: Fraction) -> int:
    return f.numerator // f.denominator


Part = tuple[str, str]
Flags = tuple[bool, bool, bool]


@dataclass
class _Data:
    """Derived, sorted view of a problem."""

    problem: RotationProblem
    schools: dict[str, School]
    parts: list[Part]                              # (school, stage), sorted
    parts_of_stage: dict[str, list[Part]]
    teachers_of_part: dict[Part, list[Teacher]]
    head: dict[str, int]
    band: dict[str, tuple[int, int]]
    send_cap: dict[str, int]
    groups: dict[tuple, list[Teacher]]             # (part, subject, flags) -> teachers
    subject_count: dict[tuple, int]                # (part, subject) -> all teachers
    before: dict[Part, tuple[int, int, int]]
    eligible: int
    required: int
    lacks: dict[Part, frozenset[int]] = field(default_factory=dict)
    weak: set[Part] = field(default_factory=set)
    strong: set[Part] = field(default_factory=set)
    county_target: dict[tuple[Part, int], float] = field(default_factory=dict)
    subject_rate: dict[tuple[str, str], float] = field(default_factory=dict)
    pairs: list[tuple[Part, Part]] = field(default_factory=list)
    #: leaver groups of the model: a group whose subject the rule (5) can bind (every
    #: teacher of the subject at the part is eligible), else all eligible teachers of
    #: the part and type in subjects it cannot bind, as one group of subject ""
    lgroups: dict[tuple, list[Teacher]] = field(default_factory=dict)
    binding: set[tuple[Part, str]] = field(default_factory=set)

    _matrix: Any = None
    _index: dict[str, int] = field(default_factory=dict)
    _orders: dict[str, list[str]] = field(default_factory=dict)

    def matrix(self) -> np.ndarray | None:
        """The travel costs between all schools (sorted ids) when ``travel`` offers
        them at once (a ``matrix(ids)`` method), else ``None`` (look-ups then)."""
        travel = self.problem.travel
        if travel is None or not hasattr(travel, "matrix"):
            return None
        if self._matrix is None:
            ids = list(self.schools)
            m = np.asarray(travel.matrix(ids), dtype=float)
            off = ~np.eye(len(ids), dtype=bool)
            bad = off & ~(np.isfinite(m) & (m >= 0))
            if bad.any():
                i, j = map(int, np.argwhere(bad)[0])
                raise ValueError(f"travel cost from {ids[i]} to {ids[j]} is {m[i, j]!r}, "
                                 f"not a finite cost")
            self._matrix = np.where(off, m, 0.0)
            self._index = {h: i for i, h in enumerate(ids)}
        return self._matrix

    def nearest(self, h: str, cands: Sequence[str], k: int | None = None) -> list[str]:
        """``cands`` (school ids) by travel cost from ``h``, then id; the first ``k``."""
        mat = self.matrix()
        if mat is None:
            ranked = sorted(cands, key=lambda q: (_cost(self, h, q), q))
        else:
            js = np.array([self._index[q] for q in cands], dtype=np.int64)
            order = np.lexsort((js, mat[self._index[h], js])) if len(js) else js
            ranked = [cands[i] for i in order]
        return ranked if k is None else ranked[:k]

    def order(self, h: str) -> list[str]:
        """Every school by travel cost from ``h``, then position (cached)."""
        if h not in self._orders:
            mat = self.matrix()
            if mat is None:
                self._orders[h] = self.nearest(h, list(self.schools))
            else:
                ids = list(self.schools)
                row = mat[self._index[h]]
                self._orders[h] = [ids[i] for i in np.lexsort((np.arange(len(ids)), row))]
        return self._orders[h]

    def lgroup(self, t: Teacher) -> tuple:
        p = (t.school_id, t.stage)
        return (p, t.subject if (p, t.subject) in self.binding else "", t.flags())

    def need(self, part: Part, k: int) -> float:
        """Teachers needed for floor ``k`` at ``part``."""
        school, stage = part
        floors = self.problem.settings.floors[stage]
        return floors[k - 1] * self.schools[school].pupils.get(stage, 0) / FLOOR_PUPILS

    def pupils(self, part: Part) -> int:
        return int(self.schools[part[0]].pupils.get(part[1], 0))

    def urban(self, part: Part) -> bool:
        return self.schools[part[0]].area_type == "urban"

    def toward(self, q: Part, flags: Flags, from_urban: bool) -> bool:
        """Whether a teacher of type ``flags`` coming from an urban school (or not)
        and arriving at ``q`` goes toward need."""
        if not self.urban(q):
            return True
        if not from_urban:
            return False
        if self.problem.settings.urban_moves:
            return True
        if q not in self.weak:
            return False
        lacks = self.lacks.get(q, frozenset())
        return 4 in lacks or any(flags[k - 1] and k in lacks for k in INDICATORS)

    def movable(self, part: Part) -> bool:
        return len(self.parts_of_stage[part[1]]) >= 2


def _member_key(t: Teacher) -> tuple:
    return (-t.years_at_school, t.id)


def _prepare(problem: RotationProblem) -> _Data:
    s = problem.settings
    schools = {h.id: h for h in sorted(problem.schools, key=lambda h: h.id)}
    _validate(problem, schools)
    parts = sorted((h, st) for h in schools for st in schools[h].stages if st in STAGES)
    parts_of_stage = {st: [p for p in parts if p[1] == st] for st in STAGES}
    tp: dict[Part, list[Teacher]] = defaultdict(list)
    for t in sorted(problem.teachers, key=lambda t: t.id):
        tp[(t.school_id, t.stage)].append(t)
    head = {h: sum(len(tp.get((h, st), [])) for st in STAGES) for h in schools}
    band = {h: _band(head[h], s.band, schools[h].staff_quota) for h in schools}
    groups: dict[tuple, list[Teacher]] = defaultdict(list)
    subject_count: dict[tuple, int] = defaultdict(int)
    elig_at: dict[str, int] = defaultdict(int)
    for part in sorted(tp):
        for t in tp[part]:
            subject_count[(part, t.subject)] += 1
            if t.eligible:
                groups[(part, t.subject, t.flags())].append(t)
                elig_at[part[0]] += 1
    for members in groups.values():
        members.sort(key=_member_key)
    cap_share = _frac(s.max_send_share)
    send_cap = {h: (max(1, _floor(cap_share * head[h])) if elig_at[h] else 0)
                for h in schools}
    before = {p: _counts(tp.get(p, [])) for p in parts}
    eligible = sum(1 for t in problem.teachers if t.eligible)
    required = _ceil(_frac(s.share) * eligible)
    data = _Data(problem, schools, parts, parts_of_stage, dict(tp), head, band,
                 send_cap, dict(sorted(groups.items())), dict(subject_count), before,
                 eligible, required)
    _classify_parts(data)
    data.pairs = _exchange_pairs(data)
    _leaver_groups(data)
    return data


def _leaver_groups(data: _Data) -> None:
    """Merge the groups of subjects the rule (5) cannot bind: their leavers need no
    subject of their own in the model (constraint (0) then only sums the part's
    leavers of a type), which makes the model much smaller on large counties; the
    decoder takes the longest serving of the merged group."""
    eligible: dict[tuple[Part, str], int] = defaultdict(int)
    for (p, subject, _), members in data.groups.items():
        eligible[(p, subject)] += len(members)
    data.binding = {key for key, n in eligible.items() if n > data.subject_count[key] - 1}
    merged: dict[tuple, list[Teacher]] = defaultdict(list)
    for (p, subject, f), members in data.groups.items():
        key = (p, subject if (p, subject) in data.binding else "", f)
        merged[key].extend(members)
    for members in merged.values():
        members.sort(key=_member_key)
    data.lgroups = dict(sorted(merged.items()))


def _classify_parts(data: _Data) -> None:
    """``lacks``, ``weak``, ``strong``, the county targets and the subject rates."""
    county = data.problem.county or {}
    for st in STAGES:
        parts = [p for p in data.parts_of_stage[st] if data.pupils(p) > 0]
        total_p = sum(data.pupils(p) for p in parts)
        for k in INDICATORS:
            if st in county:
                rate = float(county[st][k - 1]) / FLOOR_PUPILS
            else:
                rate = (sum(data.before[p][k - 1] for p in parts) / total_p) if total_p else 0.0
            for p in parts:
                data.county_target[(p, k)] = rate * data.pupils(p)
        by_subject: dict[str, int] = defaultdict(int)
        for p in data.parts_of_stage[st]:
            for t in data.teachers_of_part.get(p, []):
                by_subject[t.subject] += 1
        for subject, n in by_subject.items():
            data.subject_rate[(st, subject)] = n / total_p if total_p else 0.0
    for p in data.parts:
        lacks = set()
        if data.pupils(p) > 0:
            for k in INDICATORS:
                a = data.before[p][k - 1]
                if a < data.need(p, k) - _EPS or a < data.county_target[(p, k)] - _EPS:
                    lacks.add(k)
        if p[1] in data.schools[p[0]].weak_stages:
            lacks.add(4)
        data.lacks[p] = frozenset(lacks)
        if lacks:
            data.weak.add(p)
        if data.urban(p) and not lacks:
            data.strong.add(p)


def _exchange_pairs(data: _Data) -> list[tuple[Part, Part]]:
    """(part in need, stronger part) pairs that may exchange: each part in need with
    eligible teachers and its ``exchange_partners`` nearest stronger parts with
    eligible teachers (travel cost, then school id); stronger is urban for a town or
    rural part, strong for an urban part that is weak."""
    k = data.problem.settings.exchange_partners
    if k <= 0:
        return []
    senders = {p for (p, _, _) in data.groups if data.movable(p)}
    out = []
    for st in STAGES:
        urban = [q for q in data.parts_of_stage[st] if data.urban(q) and q in senders]
        for p in data.parts_of_stage[st]:
            if p in data.strong or p not in senders:
                continue
            cand = [q[0] for q in urban if q[0] != p[0]
                    and (q in data.strong or not data.urban(p))]
            out += [(p, (h, st)) for h in data.nearest(p[0], cand, k)]
    return sorted(out)


def classify(problem: RotationProblem) -> dict[Part, tuple[frozenset[int], bool, bool]]:
    """``(school, stage) -> (lacks, weak, strong)`` of every part, as the model reads
    them (see *Purpose*): for the caller's reports and for tests."""
    data = _prepare(problem)
    return {p: (data.lacks[p], p in data.weak, p in data.strong) for p in data.parts}


def _validate(problem: RotationProblem, schools: dict[str, School]) -> None:
    s = problem.settings
    if s.backbone_base not in ("rotated", "eligible"):
        raise ValueError(f"backbone_base must be 'rotated' or 'eligible', not {s.backbone_base!r}")
    if s.travel_mode not in ("auto", "fixed", "full"):
        raise ValueError(f"travel_mode must be auto, fixed or full, not {s.travel_mode!r}")
    for name in ("share", "backbone_share", "band", "max_send_share"):
        v = getattr(s, name)
        if not 0 <= v <= 1:
            raise ValueError(f"{name} must be between 0 and 1, not {v!r}")
    if s.exchange_partners < 0:
        raise ValueError(f"exchange_partners must be 0 or more, not {s.exchange_partners!r}")
    ids = [t.id for t in problem.teachers]
    if len(set(ids)) != len(ids):
        raise ValueError("teacher ids must be unique")
    for t in problem.teachers:
        if t.school_id not in schools:
            raise ValueError(f"teacher {t.id}: school {t.school_id!r} is not in the schools")
        if t.stage not in STAGES:
            raise ValueError(f"teacher {t.id}: stage {t.stage!r} must be primary or junior")
        if len(t.preferences) > MAX_WISHES or len(set(t.preferences)) != len(t.preferences):
            raise ValueError(f"teacher {t.id}: at most {MAX_WISHES} different wishes")
        for q in t.preferences:
            if q not in schools or t.stage not in schools[q].stages or q == t.school_id:
                raise ValueError(f"teacher {t.id}: wish {q!r} is not another school of "
                                 f"the stage")
    for st in sorted({st for h in schools.values() for st in h.stages if st in STAGES}):
        if len(s.floors.get(st, ())) != len(INDICATORS):
            raise ValueError(f"floors for stage {st!r} must be three numbers (indicators 1-3)")
    county = problem.county or {}
    for st, values in county.items():
        if len(values) != len(INDICATORS):
            raise ValueError(f"county values for stage {st!r} must be three numbers")


def _band(n: int, band: float, quota: int | None) -> tuple[int, int]:
    b = _frac(band)
    lo, hi = _floor((1 - b) * n), _ceil((1 + b) * n)
    if quota is not None:
        hi = n if n > quota else min(hi, quota)
    return lo, hi


def _counts(teachers: Iterable[Teacher]) -> tuple[int, int, int]:
    q = b = a = 0
    for t in teachers:
        q += t.qualified
        b += t.backbone
        a += t.pe_art
    return (q, b, a)


def _cost(data: _Data, a: str, b: str) -> float:
    """The travel cost of a move from school ``a`` to ``b``: the problem's, 0 without."""
    travel = data.problem.travel
    if a == b or travel is None:
        return 0.0
    try:
        c = float(travel[(a, b)])
    except KeyError:
        raise ValueError(f"travel cost from {a} to {b} is missing") from None
    if not (math.isfinite(c) and c >= 0):
        raise ValueError(f"travel cost from {a} to {b} is {c!r}, not a finite cost")
    return c


# ------------------------------------------------------------------- pre-checks
def _movable(data: _Data, backbone_only: bool) -> dict[str, int]:
    """Upper bound on leavers per school from rules (5), (7) and one-part stages."""
    by_part_subject: dict[tuple, int] = defaultdict(int)
    for (part, subject, flags), members in data.groups.items():
        if not data.movable(part):
            continue
        if backbone_only and not flags[1]:
            continue
        by_part_subject[(part, subject)] += len(members)
    per_school: dict[str, int] = defaultdict(int)
    for (part, subject), n in sorted(by_part_subject.items()):
        per_school[part[0]] += min(n, data.subject_count[(part, subject)] - 1)
    return {h: min(per_school[h], data.send_cap[h]) for h in sorted(per_school)
            if min(per_school[h], data.send_cap[h]) > 0}


def _backbone_needed(data: _Data, movers: int) -> int:
    s = data.problem.settings
    if s.backbone_base == "eligible":
        return _ceil(_frac(s.backbone_share) * data.required)
    return _ceil(_frac(s.backbone_share) * movers)


def _ranked(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    """``(school, n)`` pairs, most first, then school id."""
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def precheck(problem: RotationProblem) -> list[Diagnostic]:
    """Explain, before solving, why the hard rotation counts cannot be met.

    Parameters
    ----------
    problem
        The rotation problem.

    Returns
    -------
    list of Diagnostic
        One per failed check (see :class:`Diagnostic` for the codes and figures);
        empty when the counts look reachable (the solver may still prove otherwise).
    """
    return _precheck(_prepare(problem))


def _precheck(data: _Data) -> list[Diagnostic]:
    s = data.problem.settings
    out: list[Diagnostic] = []
    for st in STAGES:
        parts = data.parts_of_stage[st]
        stuck = sum(len(m) for (p, _, _), m in data.groups.items() if p[1] == st)
        if len(parts) < 2 and stuck:
            out.append(Diagnostic("single_school_stage", {
                "stage": st, "school": parts[0][0] if parts else None, "teachers": stuck}))
    movable = _movable(data, backbone_only=False)
    most = sum(movable.values())
    if most < data.required:
        out.append(Diagnostic("movers_unreachable", {
            "share": s.share, "eligible": data.eligible, "required": data.required,
            "most": most, "max_send_share": s.max_send_share, "at": _ranked(movable)}))
    bb = _movable(data, backbone_only=True)
    base_n = min(data.required, most) if s.backbone_base == "rotated" else data.required
    need = _backbone_needed(data, base_n)
    if sum(bb.values()) < need:
        out.append(Diagnostic("backbone_unreachable", {
            "backbone_share": s.backbone_share, "base": s.backbone_base, "movers": base_n,
            "needed": need, "available": sum(bb.values()), "at": _ranked(bb)}))
    return out


# ------------------------------------------------------------ matrix model
class _Lp:
    """A MIP as arrays: columns (bounds, integrality) and rows (sparse, ranged).

    Linear expressions are ``dict[column, coefficient]``; :meth:`row` adds
    ``lo ≤ Σ c·x ≤ hi``.  A backend (:class:`_HighsBackend`, :class:`_PulpBackend`) takes
    the columns and rows added since it last looked (:meth:`_Backend.sync`).
    """

    def __init__(self) -> None:
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[bool] = []
        self.row_idx: list[list[int]] = []
        self.row_val: list[list[float]] = []
        self.row_lo: list[float] = []
        self.row_hi: list[float] = []

    @property
    def ncol(self) -> int:
        return len(self.lo)

    def var(self, lo: float = 0.0, hi: float = math.inf, integer: bool = False) -> int:
        self.lo.append(float(lo))
        self.hi.append(float(hi))
        self.integer.append(bool(integer))
        return len(self.lo) - 1

    def row(self, expr: Mapping[int, float], lo: float = -math.inf, hi: float = math.inf,
            const: float = 0.0) -> None:
        """``lo ≤ expr + const ≤ hi``."""
        idx = [i for i, c in expr.items() if c != 0]
        self.row_idx.append(idx)
        self.row_val.append([float(expr[i]) for i in idx])
        self.row_lo.append(lo - const)
        self.row_hi.append(hi - const)


def _add(e: dict[int, float], terms: Iterable[tuple[int, float]]) -> dict[int, float]:
    for i, c in terms:
        e[i] = e.get(i, 0.0) + c
    return e


def _value(expr: Mapping[int, float], x: np.ndarray, const: float = 0.0) -> float:
    return const + float(sum(c * x[i] for i, c in expr.items()))


class _Backend:
    """What the levels need from a solver: sync new columns and rows, change bounds,
    solve one objective from a start, read the values."""

    def sync(self, lp: _Lp) -> None:
        raise NotImplementedError

    def set_bounds(self, cols: Sequence[int], lo: Sequence[float], hi: Sequence[float]) -> None:
        raise NotImplementedError

    def solve(self, cost: Mapping[int, float], time_limit: float | None, gap: float | None,
              start: np.ndarray | None, trusted: bool = True
              ) -> tuple[SolveInfo, np.ndarray | None]:
        """Minimise ``cost``; ``start`` is a MIP start, ``trusted`` when it is known to
        be feasible (the previous level's plan)."""
        raise NotImplementedError


class _HighsBackend(_Backend):
    """HiGHS through highspy: the model lives in one ``Highs`` object between levels
    (only the objective, a pin row or some bounds change), and its LP relaxation in a
    second one, whose simplex basis carries over from level to level.

    A level is solved as: the LP relaxation (a lower bound ``L`` and a point ``x*``);
    then RENS, the MIP restricted to the integer box ``[⌊x*⌋, ⌈x*⌉]`` around the LP
    point (most integers are fixed); when its plan ``v`` is within the gap of ``L``
    (``(v − L) ≤ gap·|v|``) the level is done and proven within the gap by ``L``; else
    the whole MIP is solved from the best plan known, with what is left of the level's
    time.  On the counties of the bench the LP relaxation is within a fraction of a
    per cent of the optimum at every level, so the whole MIP is rarely needed.
    """

    def __init__(self) -> None:
        mip.make_solver("highs")         # raises SolverUnavailable when missing
        try:
            import highspy
        except ImportError:  # pragma: no cover - depends on the installation
            raise mip.SolverUnavailable(
                "solver HiGHS is not available: install it with 'pip install highspy'"
            ) from None
        mip._silence_highs_banner()
        self.hs = highspy
        self.h = self._new()
        self.hl = self._new()
        self.ncol = 0
        self.nrow = 0
        self.lo = np.zeros(0)
        self.hi = np.zeros(0)
        self.ints = np.zeros(0, dtype=np.int32)

    def _new(self):
        h = self.hs.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("random_seed", 0)
        return h

    def sync(self, lp: _Lp) -> None:
        inf = self.hs.kHighsInf
        n = lp.ncol - self.ncol
        if n:
            lo = np.array(lp.lo[self.ncol:], dtype=float)
            hi = np.array(lp.hi[self.ncol:], dtype=float)
            hi[np.isinf(hi)] = inf
            lo[np.isinf(lo)] = -inf
            for h in (self.h, self.hl):
                h.addVars(n, lo, hi)
            ints = [i for i in range(self.ncol, lp.ncol) if lp.integer[i]]
            if ints:
                self.h.changeColsIntegrality(len(ints), np.array(ints, dtype=np.int32),
                                             np.full(len(ints),
                                                     self.hs.HighsVarType.kInteger))
            self.lo = np.concatenate([self.lo, lo])
            self.hi = np.concatenate([self.hi, hi])
            self.ints = np.concatenate([self.ints, np.array(ints, dtype=np.int32)])
            self.ncol = lp.ncol
        m = len(lp.row_lo) - self.nrow
        if m:
            idx = lp.row_idx[self.nrow:]
            starts = np.cumsum([0] + [len(r) for r in idx[:-1]]).astype(np.int32)
            flat = np.array([i for r in idx for i in r], dtype=np.int32)
            vals = np.array([v for r in lp.row_val[self.nrow:] for v in r], dtype=float)
            lo = np.array(lp.row_lo[self.nrow:], dtype=float)
            hi = np.array(lp.row_hi[self.nrow:], dtype=float)
            lo[np.isinf(lo)] = -inf
            hi[np.isinf(hi)] = inf
            for h in (self.h, self.hl):
                h.addRows(m, lo, hi, len(flat), starts, flat, vals)
            self.nrow = len(lp.row_lo)

    def set_bounds(self, cols, lo, hi) -> None:
        if len(cols):
            c = np.array(cols, dtype=np.int32)
            a, b = np.array(lo, dtype=float), np.array(hi, dtype=float)
            for h in (self.h, self.hl):
                h.changeColsBounds(len(c), c, a, b)
            self.lo[c], self.hi[c] = a, b

    def _cost(self, cost) -> np.ndarray:
        c = np.zeros(self.ncol)
        for i, v in cost.items():
            c[i] = v
        idx = np.arange(self.ncol, dtype=np.int32)
        for h in (self.h, self.hl):
            h.changeColsCost(self.ncol, idx, c)
        return c

    def _limit(self, h, time_limit) -> float:
        """HiGHS (1.x) compares ``time_limit`` with the object's run time summed over
        all its runs (ERGO-Code/HiGHS#1477): this run's limit is added to it."""
        if not time_limit:
            return self.hs.kHighsInf
        return float(h.getRunTime()) + float(time_limit)

    def _relaxation(self, c, time_limit) -> tuple[float | None, np.ndarray | None]:
        h = self.hl
        h.setOptionValue("time_limit", self._limit(h, time_limit))
        h.run()
        if h.getModelStatus() != self.hs.HighsModelStatus.kOptimal:
            # stopped by the time: the next run goes on from this (dual) basis
            return None, None
        # later levels change the costs of an optimal basis: primal simplex from it
        h.setOptionValue("simplex_strategy", 4)
        x = np.array(h.getSolution().col_value, dtype=float)
        return float(c @ x), x

    def _mip(self, time_limit, gap, start) -> tuple[Any, np.ndarray | None, float | None]:
        h, hs = self.h, self.hs
        h.setOptionValue("time_limit", self._limit(h, time_limit))
        h.setOptionValue("mip_rel_gap", float(gap))
        if start is not None:
            sol = hs.HighsSolution()
            sol.col_value = list(map(float, start))
            sol.value_valid = True
            h.setSolution(sol)
        h.run()
        info = h.getInfo()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        x = np.array(h.getSolution().col_value, dtype=float) if has else None
        bound = float(info.mip_dual_bound) if math.isfinite(info.mip_dual_bound) else None
        return h.getModelStatus(), x, bound

    def solve(self, cost, time_limit, gap, start, trusted=True):
        hs = self.hs
        M = hs.HighsModelStatus
        target = 1e-4 if gap is None else float(gap)
        t0 = time.perf_counter()
        deadline = None if time_limit is None else t0 + time_limit
        c = self._cost(cost)

        def left() -> float | None:
            return None if deadline is None else max(_MIN_STEP, deadline - time.perf_counter())

        t1 = time.perf_counter()
        bound, xr = self._relaxation(c, left())
        _trace("lp", t1, "ok" if xr is not None else "none", bound, bound)
        best = start if start is not None and trusted else None
        best_v = float(c @ best) if best is not None else None
        if xr is not None and bound is not None:
            ints = self.ints
            near = np.abs(xr[ints] - np.round(xr[ints])) < _TOL
            for step in ("rens", "rins"):
                if step == "rens":   # the integers boxed around the LP point
                    lo = np.maximum(self.lo[ints], np.floor(xr[ints] + _TOL))
                    hi = np.maximum(lo, np.minimum(self.hi[ints], np.ceil(xr[ints] - _TOL)))
                    warm = None
                elif best is not None:   # fix what the LP point and the best plan agree on
                    same = near & (np.abs(np.round(xr[ints]) - best[ints]) < _TOL)
                    lo = np.where(same, best[ints], self.lo[ints])
                    hi = np.where(same, best[ints], self.hi[ints])
                    warm = best
                else:
                    break
                self.h.changeColsBounds(len(ints), ints, lo, hi)
                t1 = time.perf_counter()
                ms, x, _ = self._mip(left(), target / 2, warm)
                _trace(step, t1, str(ms), None if x is None else float(c @ x), bound)
                self.h.changeColsBounds(len(ints), ints, self.lo[ints], self.hi[ints])
                if x is not None and (best_v is None or float(c @ x) < best_v):
                    best, best_v = x, float(c @ x)
                if best_v is not None and _within(best_v, bound, target):
                    return SolveInfo(Status.OPTIMAL, best_v, _rel_gap(best_v, bound), "highs",
                                     time.perf_counter() - t0), best
        t1 = time.perf_counter()
        ms, x, mb = self._mip(left(), target, best if best is not None else start)
        _trace("mip", t1, str(ms), None if x is None else float(c @ x), mb)
        seconds = time.perf_counter() - t0
        if bound is not None and mb is not None:
            mb = max(mb, bound)
        if x is not None and (best_v is None or float(c @ x) <= best_v + _EPS):
            best, best_v = x, float(c @ x)
        if ms == M.kOptimal:
            status = Status.OPTIMAL
        elif ms in (M.kInfeasible, M.kUnboundedOrInfeasible):
            return SolveInfo(Status.INFEASIBLE, None, None, "highs", seconds), None
        elif ms == M.kUnbounded:
            return SolveInfo(Status.ERROR, None, None, "highs", seconds), None
        elif best is not None:
            status = Status.FEASIBLE
        elif ms in (M.kTimeLimit, M.kIterationLimit, M.kInterrupt, M.kSolutionLimit):
            return SolveInfo(Status.NO_PLAN_IN_TIME, None, None, "highs", seconds), None
        else:
            return SolveInfo(Status.ERROR, None, None, "highs", seconds), None
        g = None if mb is None or best_v is None else _rel_gap(best_v, mb)
        if status is Status.OPTIMAL and g is not None and g > target + _EPS:
            status = Status.FEASIBLE
        if status is Status.FEASIBLE and g is not None and g <= target:
            status = Status.OPTIMAL
        return SolveInfo(status, best_v, g, "highs", seconds), best



def _trace(step: str, t0: float, status: str, value, bound) -> None:
    if TRACE is not None:
        TRACE.append((step, round(time.perf_counter() - t0, 2), status, value, bound))


def _rel_gap(value: float, bound: float) -> float:
    """HiGHS's relative gap: ``(value − bound) / |value|`` (0 when both are 0)."""
    diff = max(0.0, value - bound)
    if diff <= _EPS:
        return 0.0
    return diff / abs(value) if abs(value) > _EPS else math.inf


def _within(value: float, bound: float, gap: float) -> bool:
    return _rel_gap(value, bound) <= gap


class _PulpBackend(_Backend):
    """CBC (or any pulp solver :func:`models.mip.make_solver` knows) through pulp."""

    def __init__(self, solver: str) -> None:
        import pulp
        mip.make_solver(solver)          # raises SolverUnavailable when missing
        self.pulp = pulp
        self.solver = solver
        self.prob = pulp.LpProblem("rotation", pulp.LpMinimize)
        self.vars: list[Any] = []
        self.nrow = 0

    def sync(self, lp: _Lp) -> None:
        pulp = self.pulp
        for i in range(len(self.vars), lp.ncol):
            hi = None if math.isinf(lp.hi[i]) else lp.hi[i]
            lo = None if math.isinf(lp.lo[i]) else lp.lo[i]
            self.vars.append(pulp.LpVariable(f"v{i}", lo, hi,
                                             cat="Integer" if lp.integer[i] else "Continuous"))
        for r in range(self.nrow, len(lp.row_lo)):
            e = pulp.LpAffineExpression(
                [(self.vars[i], c) for i, c in zip(lp.row_idx[r], lp.row_val[r])])
            lo, hi = lp.row_lo[r], lp.row_hi[r]
            if lo == hi:
                self.prob += pulp.LpConstraint(e, pulp.LpConstraintEQ, f"r{r}", lo)
                continue
            if not math.isinf(lo):
                self.prob += pulp.LpConstraint(e, pulp.LpConstraintGE, f"r{r}l", lo)
            if not math.isinf(hi):
                self.prob += pulp.LpConstraint(e, pulp.LpConstraintLE, f"r{r}u", hi)
        self.nrow = len(lp.row_lo)

    def set_bounds(self, cols, lo, hi) -> None:
        for i, a, b in zip(cols, lo, hi):
            self.vars[i].lowBound, self.vars[i].upBound = a, b

    def solve(self, cost, time_limit, gap, start, trusted=True):
        pulp = self.pulp
        self.prob.setObjective(pulp.LpAffineExpression(
            [(self.vars[i], c) for i, c in sorted(cost.items())]))
        if start is not None:
            for v, s in zip(self.vars, start):
                v.varValue = float(s)
        info = mip.solve_problem(self.prob, self.solver, time_limit, gap,
                                 warm_start=start is not None)
        if not info.status.has_plan:
            return info, None
        x = np.array([v.varValue or 0.0 for v in self.vars], dtype=float)
        return info, x


def _backend(solver: str) -> _Backend:
    if solver.lower() == "highs":
        return _HighsBackend()
    if solver.lower() not in mip.SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(mip.SOLVERS)}")
    return _PulpBackend(solver.lower())


# ------------------------------------------------------------------------ model
@dataclass
class _Model:
    lp: _Lp
    y: dict[tuple, int]                            # group -> column
    po: dict[tuple[Part, Flags], int]              # pool leavers
    inn: dict[tuple[Part, Flags, str], int]        # pool arrivals (by origin class)
    xo: dict[tuple[Part, Part, Flags], int]        # exchange legs out of a part in need
    xb: dict[tuple[Part, Part, Flags], int]        # exchange legs back (strong -> need)
    w: dict[tuple[str, str], int]                  # (teacher, wish) -> column
    w_route: dict[tuple[str, str], str]            # "pool" or "exchange"
    out: dict[tuple[Part, Flags], dict[int, float]]
    arrive: dict[tuple[Part, Flags], dict[int, float]]
    levels: dict[str, dict[int, float]]
    x: dict[tuple[Part, Part, Flags], int] = field(default_factory=dict)
    slack: dict[int, float] | None = None
    after: dict[tuple[Part, int], int] = field(default_factory=dict)   # a_pk columns


def _types(data: _Data, stage: str) -> list[Flags]:
    return sorted({f for (p, _, f) in data.groups if p[1] == stage and data.movable(p)})


def _sources(data: _Data) -> list[tuple[Part, Flags]]:
    return sorted({(p, f) for (p, _, f) in data.groups if data.movable(p)})


def _wishes(data: _Data) -> list[tuple[Teacher, str, int]]:
    """(teacher, school, rank) of every wish of an eligible teacher who can move."""
    out = []
    for t in sorted(data.problem.teachers, key=lambda t: t.id):
        if t.eligible and t.preferences and data.movable((t.school_id, t.stage)):
            out += [(t, q, r + 1) for r, q in enumerate(t.preferences)]
    return out


def _sink(data: _Data, p: Part, q: Part, f: Flags) -> tuple[Part, Flags, str]:
    """The pool arrival a move ``p → q`` of type ``f`` lands in: at an urban part by the
    class of its origin (``"U"`` urban, ``"R"`` not), elsewhere ``"N"``."""
    if data.urban(q):
        return (q, f, "U" if data.urban(p) else "R")
    return (q, f, "N")


def _build(data: _Data, relaxed: bool) -> _Model:
    s = data.problem.settings
    lp = _Lp()
    hard = s.direction_rule
    # (0) leavers by (leaver) group, continuous
    y = {g: lp.var(0, len(members) if data.movable(g[0]) else 0)
         for g, members in data.lgroups.items()}
    sources = _sources(data)
    supply: dict[tuple[Part, Flags], int] = defaultdict(int)
    for (p, _, f), m in data.groups.items():
        if data.movable(p):
            supply[(p, f)] += len(m)
    po = {key: lp.var(0, supply[key], True) for key in sources}
    stage_supply: dict[tuple[str, Flags], int] = defaultdict(int)
    for (p, f), n in supply.items():
        stage_supply[(p[1], f)] += n
    inn: dict[tuple[Part, Flags, str], int] = {}
    for st in STAGES:
        if len(data.parts_of_stage[st]) < 2:
            continue
        for f in _types(data, st):
            for q in data.parts_of_stage[st]:
                for cls in (("U", "R") if data.urban(q) else ("N",)):
                    if hard and not data.toward(q, f, cls != "R"):
                        continue
                    inn[(q, f, cls)] = lp.var(0, stage_supply[(st, f)], True)
    # exchange legs
    xo: dict[tuple[Part, Part, Flags], int] = {}
    xb: dict[tuple[Part, Part, Flags], int] = {}
    types_at: dict[Part, list[Flags]] = defaultdict(list)
    for (src, f) in sources:
        types_at[src].append(f)
    for p, q in data.pairs:
        for f in types_at[p]:
            if not (hard and f[1]):
                xo[(p, q, f)] = lp.var(0, supply[(p, f)], True)
        for f in types_at[q]:
            if data.toward(p, f, True):
                xb[(q, p, f)] = lp.var(0, supply[(q, f)], True)
    out: dict[tuple[Part, Flags], dict[int, float]] = {k: {po[k]: 1.0} for k in sources}
    arrive: dict[tuple[Part, Flags], dict[int, float]] = defaultdict(dict)
    for (q, f, _cls), col in inn.items():
        arrive[(q, f)][col] = 1.0
    for (a, b, f), col in list(xo.items()) + list(xb.items()):
        out[(a, f)][col] = 1.0
        arrive[(b, f)][col] = 1.0
    by_pt: dict[tuple[Part, Flags], list[int]] = defaultdict(list)
    for (p, _, f), col in y.items():
        by_pt[(p, f)].append(col)
    for key in sources:
        e = {col: 1.0 for col in by_pt[key]}
        lp.row(_add(e, ((c, -v) for c, v in out[key].items())), 0.0, 0.0)   # (0)
    # (8) exchange pairs
    pair_out: dict[tuple[Part, Part], dict[int, float]] = defaultdict(dict)
    for (p, q, _f), col in xo.items():
        pair_out[(p, q)][col] = 1.0
    for (q, p, _f), col in xb.items():
        pair_out[(p, q)][col] = -1.0
    for pair in data.pairs:
        if pair_out.get(pair):
            lp.row(pair_out[pair], 0.0, 0.0)
    # (10) wishes; those through the pool are G: by source part and by sink
    w, w_route = _add_wishes(lp, data, y, xo, xb)
    g_out: dict[tuple[Part, Flags], dict[int, float]] = defaultdict(dict)
    g_in: dict[tuple[Part, Flags, str], dict[int, float]] = defaultdict(dict)
    by_id = {t.id: t for t in data.problem.teachers}
    for (tid, q), col in w.items():
        if w_route[(tid, q)] != "pool":
            continue
        t = by_id[tid]
        p = (t.school_id, t.stage)
        g_out[(p, t.flags())][col] = 1.0
        g_in[_sink(data, p, (q, t.stage), t.flags())][col] = 1.0
    for key, e in g_out.items():
        lp.row(_add(dict(e), [(po[key], -1.0)]), hi=0.0)
    for sink, e in g_in.items():
        if sink in inn:
            lp.row(_add(dict(e), [(inn[sink], -1.0)]), hi=0.0)
        else:  # a wish toward a part the direction rule closes to this type
            for col in e:
                lp.hi[col] = 0.0
    _add_pool(lp, data, po, inn, g_out, g_in)
    slack = _add_counts(lp, data, out, relaxed)
    _add_subject_rule(lp, data, y)
    _add_school_rules(lp, data, out, arrive)
    levels = _add_levels(lp, data, out, arrive, inn, xo, w)
    return _Model(lp, y, po, inn, xo, xb, w, w_route, out, dict(arrive), levels,
                  slack=slack)


def _add_pool(lp: _Lp, data: _Data, po, inn, g_out, g_in) -> None:
    """(3), (4): a transport of the pool exists, without a move to one's own school and
    with arrivals at urban parts split by the origin's class, for what is left once
    the granted wishes' arcs are fixed (Hall's condition on the residual).

    With ``SU``/``SR`` the residual pool leavers of urban / other parts, ``A``, ``B``
    the residual arrivals at urban parts from urban / other origins and ``C`` those
    at other parts: ``SU + SR = A + B + C``, ``SU ≤ A + C``, ``SR ≤ B + C``, for an urban
    part ``po_p + a_p ≤ SU`` and for another part ``po_p + c_p ≤ B + C``.  Every other
    set of sources in Hall's condition is implied by these.
    """
    for st in STAGES:
        parts = data.parts_of_stage[st]
        if len(parts) < 2:
            continue
        for f in _types(data, st):
            groups: dict[str, dict[int, float]] = {k: {} for k in ("SU", "SR", "A", "B", "C")}
            for p in parts:
                key = (p, f)
                if key in po:
                    g = groups["SU" if data.urban(p) else "SR"]
                    _add(g, [(po[key], 1.0)])
                    _add(g, ((c, -1.0) for c in g_out.get(key, {})))
                for cls, name in (("U", "A"), ("R", "B"), ("N", "C")):
                    k2 = (p, f, cls)
                    if k2 in inn:
                        _add(groups[name], [(inn[k2], 1.0)])
                        _add(groups[name], ((c, -1.0) for c in g_in.get(k2, {})))
            tot: dict[str, int] = {}
            for name, e in groups.items():
                col = lp.var(-math.inf, math.inf)
                tot[name] = col
                lp.row(_add(dict(e), [(col, -1.0)]), 0.0, 0.0)
            T = tot
            lp.row({T["SU"]: 1.0, T["SR"]: 1.0, T["A"]: -1.0, T["B"]: -1.0, T["C"]: -1.0},
                   0.0, 0.0)                                                   # (3)
            lp.row({T["SU"]: 1.0, T["A"]: -1.0, T["C"]: -1.0}, hi=0.0)         # (4)
            lp.row({T["SR"]: 1.0, T["B"]: -1.0, T["C"]: -1.0}, hi=0.0)
            for p in parts:
                key = (p, f)
                if key not in po:
                    continue
                own = (p, f, "U" if data.urban(p) else "N")
                e = {po[key]: 1.0}
                _add(e, ((c, -1.0) for c in g_out.get(key, {})))
                if own in inn:
                    _add(e, [(inn[own], 1.0)])
                    _add(e, ((c, -1.0) for c in g_in.get(own, {})))
                if data.urban(p):
                    _add(e, [(T["SU"], -1.0)])
                else:
                    _add(e, [(T["B"], -1.0), (T["C"], -1.0)])
                lp.row(e, hi=0.0)


def _add_wishes(lp: _Lp, data: _Data, y, xo, xb):
    w: dict[tuple[str, str], int] = {}
    route: dict[tuple[str, str], str] = {}
    per_group: dict[tuple, dict[int, float]] = defaultdict(dict)
    per_xo: dict[tuple, dict[int, float]] = defaultdict(dict)
    per_teacher: dict[str, dict[int, float]] = defaultdict(dict)
    for t, q, _ in _wishes(data):
        p = (t.school_id, t.stage)
        g = data.lgroup(t)
        col = lp.var(0, 1, True)
        w[(t.id, q)] = col
        per_group[g][col] = 1.0
        per_teacher[t.id][col] = 1.0
        arc = (p, (q, t.stage), t.flags())
        if arc in xo:
            route[(t.id, q)] = "exchange"
            per_xo[arc][col] = 1.0
        else:
            route[(t.id, q)] = "pool"
    for e in per_teacher.values():
        if len(e) > 1:
            lp.row(e, hi=1.0)
    for g, e in per_group.items():
        lp.row(_add(dict(e), [(y[g], -1.0)]), hi=0.0)
    for arc, e in per_xo.items():
        lp.row(_add(dict(e), [(xo[arc], -1.0)]), hi=0.0)
    return w, route


def _add_counts(lp: _Lp, data: _Data, out, relaxed: bool):
    s = data.problem.settings
    movers: dict[int, float] = {}
    backbone: dict[int, float] = {}
    for (_p, f), e in out.items():
        _add(movers, e.items())
        if f[1]:
            _add(backbone, e.items())
    slack = None
    m_lhs, b_lhs = dict(movers), dict(backbone)
    if relaxed:
        s_m = lp.var(0, math.inf, True)
        s_b = lp.var(0, math.inf, True)
        m_lhs[s_m] = 1.0
        b_lhs[s_b] = 1.0
        slack = {s_m: 1.0, s_b: 1.0}
    lp.row(m_lhs, lo=data.required)                                      # (1)
    share = _frac(s.backbone_share)
    if s.backbone_base == "eligible":
        lp.row(b_lhs, lo=_ceil(share * data.required))                  # (2)
    else:
        e = {c: share.denominator * v for c, v in b_lhs.items()}
        _add(e, ((c, -share.numerator * v) for c, v in movers.items()))
        lp.row(e, lo=0.0)
    return slack


def _add_subject_rule(lp: _Lp, data: _Data, y) -> None:
    by: dict[tuple, list] = defaultdict(list)
    for (p, subject, f), col in y.items():
        if subject == "":
            continue
        by[(p, subject)].append((col, len(data.lgroups[(p, subject, f)])))
    for key in sorted(by):
        keep = data.subject_count[key] - 1
        if sum(n for _, n in by[key]) > keep:
            lp.row({c: 1.0 for c, _ in by[key]}, hi=keep)                # (5)


def _add_school_rules(lp: _Lp, data: _Data, out, arrive) -> None:
    out_h: dict[str, dict[int, float]] = defaultdict(dict)
    in_h: dict[str, dict[int, float]] = defaultdict(dict)
    for (p, _), e in sorted(out.items()):
        _add(out_h[p[0]], e.items())
    for (p, _), e in sorted(arrive.items()):
        _add(in_h[p[0]], e.items())
    for h in data.schools:
        lo, hi = data.band[h]
        n = data.head[h]
        if h in out_h or h in in_h:
            change = dict(in_h.get(h, {}))
            _add(change, ((c, -v) for c, v in out_h.get(h, {}).items()))
            lp.row(change, lo - n, hi - n)                               # (6)
        if h in out_h:
            lp.row(out_h[h], hi=data.send_cap[h])                        # (7)


def _after_expr(data: _Data, part: Part, k: int, out, arrive) -> tuple[dict[int, float], float]:
    e: dict[int, float] = {}
    for (_p, f), ex in out.get(part, {}).items():
        if f[k - 1]:
            _add(e, ((c, -v) for c, v in ex.items()))
    for (_p, f), ex in arrive.get(part, {}).items():
        if f[k - 1]:
            _add(e, ex.items())
    return e, float(data.before[part][k - 1])


def _add_levels(lp: _Lp, data: _Data, out, arrive, inn, xo, w) -> dict[str, dict[int, float]]:
    """The purpose and wishes levels (their columns are the model's own); the rows of
    the shortfall and spread levels are added when those levels come
    (:func:`_level_rows`), so the earlier levels solve a smaller model."""
    purpose: dict[int, float] = {}
    for (q, f, cls), col in inn.items():
        if not data.toward(q, f, cls != "R"):
            purpose[col] = 1.0 + f[1]
    for (_p, _q, f), col in xo.items():
        if f[1]:
            purpose[col] = purpose.get(col, 0.0) + 1.0
    wishes: dict[int, float] = {}
    if w:
        big = 2 * len(w) + 1
        ranks = {(t.id, q): r for t, q, r in _wishes(data)}
        for key, col in w.items():
            wishes[col] = -(big + MAX_WISHES - ranks[key])
    return {"purpose": purpose, "wishes": wishes}


def _level_rows(lp: _Lp, data: _Data, model: _Model, name: str) -> dict[int, float]:
    """Add the rows of level ``shortfall`` (with the columns ``a_pk``) or ``spread``
    and return the level's expression."""
    if not model.after:
        out_p: dict[Part, dict] = defaultdict(dict)
        in_p: dict[Part, dict] = defaultdict(dict)
        for (p, f), e in model.out.items():
            out_p[p][(p, f)] = e
        for (p, f), e in model.arrive.items():
            in_p[p][(p, f)] = e
        for p in data.parts:
            if data.pupils(p) <= 0:
                continue
            for k in INDICATORS:
                e, e0 = _after_expr(data, p, k, out_p, in_p)
                # a_pk after the plan as one column: the level rows stay two terms long
                av = lp.var(-math.inf, math.inf)
                lp.row(_add({av: 1.0}, ((c, -v) for c, v in e.items())), e0, e0)
                model.after[(p, k)] = av
    expr: dict[int, float] = {}
    for st in STAGES:
        parts = [p for p in data.parts_of_stage[st] if data.pupils(p) > 0]
        total_p = sum(data.pupils(p) for p in parts)
        totals = [sum(data.before[q][k - 1] for q in parts) for k in INDICATORS]
        for p in parts:
            for k in INDICATORS:
                av = model.after[(p, k)]
                if name == "shortfall":
                    need = data.need(p, k)
                    u = lp.var(0)
                    expr[u] = 1.0
                    lp.row({u: 1.0, av: 1.0}, lo=need)                  # u >= need - a
                    low, frac = math.floor(need), need - math.floor(need)
                    if frac > _EPS:  # hull cut (11a): a is integer
                        lp.row({u: 1.0, av: frac}, lo=frac * (low + 1))
                    continue
                t_k = totals[k - 1]
                if t_k <= 0:
                    continue
                # d in teachers (rows of unit coefficients), weighted 1/t_k in the level
                d = lp.var(0)
                expr[d] = 1.0 / t_k
                target = data.pupils(p) * t_k / total_p
                lp.row({d: 1.0, av: -1.0}, lo=-target)                 # d >= a - target
                lp.row({d: 1.0, av: 1.0}, lo=target)                   # d >= target - a
                low, frac = math.floor(target), target - math.floor(target)
                if frac > _EPS:  # hull cut (11b): a is integer
                    slope = 1 - 2 * frac
                    lp.row({d: 1.0, av: -slope}, lo=frac - low * slope)
    return expr


# ------------------------------------------------------------------ solving
def solve(problem: RotationProblem, solver: str = "highs",
          time_limit: float | None = None, gap: float | None = None) -> RotationResult:
    """Make a rotation plan.

    Parameters
    ----------
    problem
        Teachers, schools, settings and optional travel costs.
    solver
        ``"highs"`` (default) or ``"cbc"``.
    time_limit
        Seconds for everything this call does, building and decoding included (each
        level gets a share of what is left, see *Time*).
    gap
        Relative MIP gap accepted at each level (``None``: the solver's default).

    Returns
    -------
    RotationResult
        The plan, its per-level objective, status, gap and figures.

    Raises
    ------
    ValueError
        On inconsistent input (unknown school, duplicate teacher id, ...).
    models.mip.SolverUnavailable
        When the requested solver is not installed.

    Examples
    --------
    >>> s = [School("A", frozenset({"primary"}), {"primary": 100}),
    ...      School("B", frozenset({"primary"}), {"primary": 100})]
    >>> t = [Teacher(f"T{i}", "A", "primary", "语文", True, i == 0, False, True)
    ...      for i in range(4)] + [Teacher("U0", "B", "primary", "语文", True, False, False, False)]
    >>> rules = RotationSettings(share=0.25, backbone_share=0.5, floors={"primary": (3, 1, 0)},
    ...                          backbone_base="rotated", band=1.0, max_send_share=0.5,
    ...                          direction_rule=False, urban_moves=False, exchange_partners=2)
    >>> r = solve(RotationProblem(t, s, rules))
    >>> str(r.status), r.counts["rotated"], r.counts["backbone_rotated"]
    ('optimal', 1, 1)
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    data = _prepare(problem)
    messages = _precheck(data)
    infos: list[tuple[str, SolveInfo]] = []
    relaxed = bool(messages)
    model, x, note, built = _solve_levels(data, relaxed, solver, deadline, gap, infos, t0)
    if not relaxed and infos and infos[0][1].status is Status.INFEASIBLE:
        messages.append(Diagnostic("solver_infeasible", {}))
        infos.clear()
        relaxed = True
        model, x, note, built = _solve_levels(data, relaxed, solver, deadline, gap, infos, t0)
    return _result(data, model, x, infos, relaxed, messages, note, solver, t0, built)


def _budget(name: str, names: Sequence[str], deadline: float | None,
            reserve: float) -> float | None:
    """This level's share of the time left (see *Time*), at least one second."""
    if deadline is None:
        return None
    left = deadline - reserve - time.perf_counter()
    rest = names[names.index(name):]
    share = _WEIGHTS[name] / sum(_WEIGHTS[n] for n in rest)
    return max(1.0, left * share)


def _solve_levels(data: _Data, relaxed: bool, solver: str, deadline, gap, infos, t0):
    model = _build(data, relaxed)
    backend = _backend(solver)
    backend.sync(model.lp)
    built = time.perf_counter() - t0
    # decoding and the checks after the last level take about a tenth of building
    reserve = _DECODE_SHARE * built
    names = [n for n in LEVELS if n != "travel"]
    exprs = dict(model.levels)
    if relaxed and model.slack is not None:
        names.insert(0, "slack")
        exprs["slack"] = model.slack
    if data.problem.settings.direction_rule:
        names.remove("purpose")
    if not model.w:
        names.remove("wishes")
    x: np.ndarray | None = None
    all_names = names + ["travel"]
    for name in names:
        if name in ("shortfall", "spread"):
            exprs[name] = _level_rows(model.lp, data, model, name)
            backend.sync(model.lp)
            if x is not None:   # the new columns take their values from the plan
                x = _extend(model, data, x)
        expr = exprs[name]
        info, xi = backend.solve(expr, _budget(name, all_names, deadline, reserve), gap, x)
        if xi is None and x is not None and info.status is Status.NO_PLAN_IN_TIME:
            # the previous level's plan is feasible here: keep it, unproven
            info = SolveInfo(Status.FEASIBLE, _value(expr, x), None, info.solver, info.seconds)
            xi = x
        elif xi is None and x is None and info.status is Status.NO_PLAN_IN_TIME \
                and deadline is not None:
            # no plan yet at all (the relaxation ran out of the level's share): go on
            # with all the time left, from where the relaxation stopped
            left = deadline - reserve - time.perf_counter()
            if left > _MIN_STEP:
                again, xi = backend.solve(expr, left, gap, None)
                info = SolveInfo(again.status, again.objective, again.gap, info.solver,
                                 info.seconds + again.seconds)
        infos.append((name, info))
        if xi is None or not info.status.has_plan:
            return model, None, "all", built
        x = xi
        value = _value(expr, x)
        if abs(value) < _TOL and all(v > 0 for v in expr.values()) \
                and all(model.lp.lo[c] >= 0 for c in expr):
            # a sum of non-negative terms at 0: each term is 0 (exact, and leaves the
            # later levels a smaller model than a pin row would)
            cols = sorted(expr)
            backend.set_bounds(cols, [0.0] * len(cols), [0.0] * len(cols))
            for c in cols:
                model.lp.lo[c] = model.lp.hi[c] = 0.0
                x[c] = 0.0
        else:
            _pin(model.lp, expr, value)
            backend.sync(model.lp)
    assert x is not None
    x, note = _travel_level(data, model, backend, x, gap, deadline, reserve, infos)
    return model, x, note, built


def _extend(model: _Model, data: _Data, x: np.ndarray) -> np.ndarray:
    """The plan ``x`` with values for the columns added since (``a_pk`` and the
    shortfall ``u`` or spread ``d`` of each part), so it stays a MIP start."""
    lp = model.lp
    y = np.concatenate([x, np.zeros(lp.ncol - len(x))])
    # a_pk from its defining row, then u or d: the smallest value its rows allow
    # (columns in the order they were made, so every value a row needs is known)
    rows_of: dict[int, list[int]] = defaultdict(list)
    for r in range(len(lp.row_lo)):
        for i in lp.row_idx[r]:
            if i >= len(x):
                rows_of[i].append(r)
    for col in range(len(x), lp.ncol):
        lo = lp.lo[col] if math.isfinite(lp.lo[col]) else -math.inf
        val = lo
        for r in rows_of[col]:
            idx, vals = lp.row_idx[r], lp.row_val[r]
            own = vals[idx.index(col)]
            rest = sum(v * y[i] for i, v in zip(idx, vals) if i != col)
            if lp.row_lo[r] == lp.row_hi[r]:          # a_pk = its expression
                val = (lp.row_lo[r] - rest) / own
                break
            if math.isfinite(lp.row_lo[r]) and own > 0:
                val = max(val, (lp.row_lo[r] - rest) / own)
        y[col] = val
    return y


def _pin(lp: _Lp, expr: Mapping[int, float], value: float) -> None:
    lp.row(dict(expr), hi=value + _TOL * max(1.0, abs(value)))


def _travel_level(data: _Data, model: _Model, backend: _Backend, x: np.ndarray, gap,
                  deadline, reserve, infos) -> tuple[np.ndarray | None, str]:
    """Level 5: pool arcs (all, or nearest plus a greedy start), counts fixed on large
    counties, exchange legs costed directly."""
    s = data.problem.settings
    flows, complete = _greedy_flows(data, model, x)
    arcs, note = _travel_arcs(data, model, flows)
    fixed = s.travel_mode == "fixed" or (s.travel_mode == "auto" and note != "all")
    lp = model.lp
    if fixed:
        cols = (list(model.po.values()) + list(model.inn.values()) + list(model.xo.values())
                + list(model.xb.values()) + list(model.w.values()))
        vals = [float(round(x[c])) for c in cols]
        backend.set_bounds(cols, vals, vals)
        note += ", counts fixed"
    src: dict[tuple[Part, Flags], dict[int, float]] = defaultdict(dict)
    dst: dict[tuple[Part, Flags, str], dict[int, float]] = defaultdict(dict)
    granted = _granted_pool(data, model, x)
    for arc in arcs:
        p, q, f = arc
        col = lp.var(granted.get(arc, 0), math.inf, True)
        model.x[arc] = col
        src[(p, f)][col] = 1.0
        dst[_sink(data, p, q, f)][col] = 1.0
    for key, col in model.po.items():
        if key in src or x[col] > _HALF or not fixed:
            lp.row(_add(dict(src.get(key, {})), [(col, -1.0)]), 0.0, 0.0)
    for key3, col in model.inn.items():
        if key3 in dst or x[col] > _HALF or not fixed:
            lp.row(_add(dict(dst.get(key3, {})), [(col, -1.0)]), 0.0, 0.0)
    backend.sync(lp)
    start = np.concatenate([x, np.zeros(lp.ncol - len(x))])
    for arc, col in model.x.items():
        start[col] = flows.get(arc, 0)
    # each move also costs _MOVE_TIE: of two transports with the same travel the one
    # with fewer moves (A → C rather than A → B and B → C when the minutes add up)
    cost: dict[int, float] = {}
    for (p, q, _f), col in model.x.items():
        cost[col] = _cost(data, p[0], q[0]) + _MOVE_TIE
    for (p, q, _f), col in list(model.xo.items()) + list(model.xb.items()):
        cost[col] = _cost(data, p[0], q[0]) + _MOVE_TIE
    info, xi = backend.solve(cost, _budget("travel", ["travel"], deadline, reserve), gap,
                             start, trusted=complete)
    if xi is None and complete:
        # keep the greedy transport, unproven
        xi = start
        info = SolveInfo(Status.FEASIBLE, _value(cost, start), None, info.solver, info.seconds)
    infos.append(("travel", info))
    return xi, note


def _granted_pool(data: _Data, model: _Model, x: np.ndarray) -> dict[tuple, int]:
    by_id = {t.id: t for t in data.problem.teachers}
    out: dict[tuple, int] = defaultdict(int)
    for (tid, q), col in model.w.items():
        if model.w_route[(tid, q)] == "pool" and x[col] > _HALF:
            t = by_id[tid]
            out[((t.school_id, t.stage), (q, t.stage), t.flags())] += 1
    return dict(out)


def _serves(data: _Data, p: Part, sink: tuple[Part, Flags, str]) -> bool:
    """Whether source part ``p`` may fill this pool arrival."""
    q, _, cls = sink
    if q == p:
        return False
    return cls == "N" or (cls == "U") == data.urban(p)


def _travel_arcs(data: _Data, model: _Model,
                 flows: dict[tuple, int]) -> tuple[list[tuple], str]:
    """Arc set of level 5: all pool arcs, or nearest candidates plus the start plan's."""
    s = data.problem.settings
    srcs = sorted(model.po)
    sinks: dict[tuple[str, Flags], list[tuple]] = defaultdict(list)
    for key in sorted(model.inn):
        sinks[(key[0][1], key[1])].append(key)
    # the schools a source may fill depend only on its stage, type and whether it is
    # urban (_serves), less its own school
    allowed: dict[tuple[str, Flags, bool], set[str]] = {}
    for p, f in srcs:
        kind = (p[1], f, data.urban(p))
        if kind not in allowed:
            allowed[kind] = {k[0][0] for k in sinks[(p[1], f)]
                             if k[2] == "N" or (k[2] == "U") == kind[2]}
    own = [p[0] in allowed[(p[1], f, data.urban(p))] for p, f in srcs]
    total = sum(len(allowed[(p[1], f, data.urban(p))]) for p, f in srcs) - sum(own)
    if total <= s.arc_limit:
        dests = {(p, f): [k[0] for k in sinks[(p[1], f)] if _serves(data, p, k)]
                 for p, f in srcs}
        return [(p, q, f) for p, f in srcs for q in dests[(p, f)]], "all"
    arcs = set(flows)
    k = s.travel_candidates
    big = data.matrix() is not None
    for p, f in srcs:
        ok = allowed[(p[1], f, data.urban(p))]
        if big:   # walk the school's own order (cached) until k candidates are found
            near = []
            for h in data.order(p[0]):
                if h != p[0] and h in ok:
                    near.append(h)
                    if len(near) == k:
                        break
        else:
            near = data.nearest(p[0], sorted(h for h in ok if h != p[0]), k)
        arcs.update((p, (h, p[1]), f) for h in near)
    return sorted(arcs), f"nearest {k} + start plan"


def _greedy_flows(data: _Data, model: _Model, x: np.ndarray
                  ) -> tuple[dict[tuple, int], bool]:
    """A transport plan of the pool for the solution ``x``: the granted wishes' arcs,
    then nearest destination first.

    It is level 5's MIP start and, for large counties, guarantees that the restricted
    arc set is feasible.  Where the greedy gets stuck (only its own school or arrivals
    of the other origin class left), all allowed source-sink arcs of that type are
    added with zero flow, and the plan is not complete (the second value is False).
    """
    supply: dict[tuple, dict] = defaultdict(dict)
    demand: dict[tuple, dict] = defaultdict(dict)
    for (p, f), col in model.po.items():
        v = round(x[col])
        if v:
            supply[(p[1], f)][p] = v
    for key, col in model.inn.items():
        v = round(x[col])
        if v:
            demand[(key[0][1], key[1])][key] = v
    arcs: dict[tuple, int] = {}
    complete = True
    for (p, q, f), n in sorted(_granted_pool(data, model, x).items()):
        arcs[(p, q, f)] = n
        supply[(p[1], f)][p] -= n
        demand[(p[1], f)][_sink(data, p, q, f)] -= n
    big = data.matrix() is not None
    for key in sorted(supply):
        sup, dem = dict(supply[key]), dict(demand.get(key, {}))
        at: dict[str, list[tuple]] = defaultdict(list)       # school -> sinks of it
        for k in sorted(dem):
            at[k[0][0]].append(k)
        order = sorted(sup, key=lambda p: (-(sup[p] + dem.get((p, key[1], "U"), 0)
                                              + dem.get((p, key[1], "N"), 0)), p))
        stuck = []
        for p in order:
            if big:
                schools: Iterable[str] = (h for h in data.order(p[0]) if h in at)
            else:
                schools = data.nearest(p[0], sorted(at))
            for h in schools:
                if sup[p] == 0:
                    break
                for k in at[h]:
                    if dem[k] > 0 and _serves(data, p, k) and sup[p] > 0:
                        n = min(sup[p], dem[k])
                        sup[p] -= n
                        dem[k] -= n
                        arcs[(p, k[0], key[1])] = arcs.get((p, k[0], key[1]), 0) + n
            if sup[p]:
                stuck.append(p)
        if stuck:
            # a transport exists (Hall): swaps through these arcs reach it
            complete = False
            left = [k for k in dem if dem[k] > 0]
            for p in supply[key]:
                for k in demand[key]:
                    if _serves(data, p, k) and (p in stuck or k in left):
                        arcs.setdefault((p, k[0], key[1]), 0)
    return arcs, complete


# ------------------------------------------------------------------ decoding
def _result(data: _Data, model: _Model, x, infos, relaxed, messages, note, solver, t0,
            built) -> RotationResult:
    names = tuple(n for n, _ in infos)
    levels = tuple(i for _, i in infos)
    ok = bool(infos) and x is not None and all(i.status.has_plan for i in levels)
    if not ok:
        status = levels[-1].status if levels else Status.NO_PLAN_IN_TIME
        return RotationResult(status, (), {}, None, solver, time.perf_counter() - t0,
                              _count_figures(data, ()), _part_values(data, ()),
                              tuple(messages), (), levels, note, level_names=names,
                              build_seconds=built)
    moves = tuple(_decode(data, model, x))
    status = (Status.OPTIMAL if all(i.status is Status.OPTIMAL for i in levels)
              else Status.FEASIBLE)
    shortfalls = _shortfalls(data, moves) if relaxed else []
    closest = bool(shortfalls)
    if closest:
        status = Status.INFEASIBLE
    gaps = [i.gap for i in levels]
    gap = None if any(g is None for g in gaps) else max(gaps)
    objective = _levels_of(data, moves)
    if relaxed:
        objective["slack"] = float(sum(sf.short for sf in shortfalls))
    counts = _count_figures(data, moves)
    messages = list(messages)
    if closest and data.problem.settings.direction_rule:
        messages.append(_direction_diagnostic(data, moves, counts))
    if counts["backbone_not_toward_need"]:
        messages.append(Diagnostic("backbone_not_toward_need", {
            "teachers": counts["backbone_not_toward_need"], "full": _full(data, moves)}))
    return RotationResult(status, moves, objective, gap, solver, time.perf_counter() - t0,
                          counts, _part_values(data, moves), tuple(messages),
                          tuple(shortfalls), levels, note, closest, names, built)


def _integral_y(data: _Data, model: _Model, x: np.ndarray) -> dict[tuple, int]:
    """Integral leavers per group for the solution's integer ``out``: the solution's own
    ``y`` when it is integral and consistent, else a max-flow per part (types →
    subjects, the subject rule (5) as capacities, granted wishes as lower bounds)."""
    granted: dict[tuple, int] = defaultdict(int)
    by_id = {t.id: t for t in data.problem.teachers}
    for (tid, _q), col in model.w.items():
        if x[col] > _HALF:
            t = by_id[tid]
            granted[data.lgroup(t)] += 1
    outs = {key: int(round(_value(e, x))) for key, e in model.out.items()}
    by_part: dict[Part, list[tuple]] = defaultdict(list)
    for g in data.lgroups:
        by_part[g[0]].append(g)
    result: dict[tuple, int] = {}
    for p, gs in sorted(by_part.items()):
        ys = {g: x[model.y[g]] for g in gs}
        ok = all(abs(v - round(v)) < 1e-6 for v in ys.values())
        cand = {g: int(round(v)) for g, v in ys.items()}
        ok = ok and _y_ok(data, p, gs, cand, outs, granted)
        result.update(cand if ok else _y_flow(data, p, gs, outs, granted))
    return result


def _y_ok(data, p, gs, y, outs, granted) -> bool:
    per_type: dict[Flags, int] = defaultdict(int)
    per_subject: dict[str, int] = defaultdict(int)
    for g in gs:
        if not granted.get(g, 0) <= y[g] <= len(data.lgroups[g]):
            return False
        per_type[g[2]] += y[g]
        per_subject[g[1]] += y[g]
    if any(per_type[f] != outs.get((p, f), 0) for f in {g[2] for g in gs}):
        return False
    return all(s == "" or n == 0 or n <= data.subject_count[(p, s)] - 1
               for s, n in per_subject.items())


def _y_flow(data, p, gs, outs, granted) -> dict[tuple, int]:
    """Integral leavers of part ``p``: start at the granted wishes, then augmenting
    paths types → groups → subjects (deterministic order)."""
    y = {g: granted.get(g, 0) for g in gs}
    need = {f: outs.get((p, f), 0) - sum(y[g] for g in gs if g[2] == f)
            for f in sorted({g[2] for g in gs})}
    subj_left = {s: (math.inf if s == "" else data.subject_count[(p, s)] - 1)
                 - sum(y[g] for g in gs if g[1] == s) for s in sorted({g[1] for g in gs})}
    for f in need:
        while need[f] > 0:
            path = _augment(f, gs, y, data, subj_left, granted)
            if path is None:
                raise RuntimeError(f"internal: no integral leavers for {p} type {f}")
            for g, sign in path:
                y[g] += sign
            need[f] -= 1
    if not _y_ok(data, p, gs, y, outs, granted):
        raise RuntimeError(f"internal: no integral leavers for {p}")
    return y


def _augment(f, gs, y, data, subj_left, granted):
    """One augmenting path from type ``f`` to a subject with room (BFS over groups:
    raise a group of type ``f``; if its subject is full, lower another type's group
    of that subject and raise that type's group of another subject, ...)."""
    from collections import deque
    start = [g for g in gs if g[2] == f and y[g] < len(data.lgroups[g])]
    prev: dict[tuple, Any] = {g: None for g in start}
    queue = deque(start)
    while queue:
        g = queue.popleft()
        s = g[1]
        if subj_left[s] > 0:
            path = []
            node: Any = g
            while node is not None:
                raised, lowered = node, prev[node]
                path.append((raised, +1))
                if lowered is None:
                    break
                path.append((lowered[0], -1))
                node = lowered[1]
            subj_left[s] -= 1
            return path
        # subject s is full: move one leaver of another type out of s ...
        for h in gs:
            if h[1] == s and h != g and y[h] > granted.get(h, 0):
                # ... and give that type a leaver in another subject
                for k in gs:
                    if k[2] == h[2] and k[1] != s and y[k] < len(data.lgroups[k]) \
                            and k not in prev:
                        prev[k] = ((h, g))
                        queue.append(k)
    return None


def _decode(data: _Data, model: _Model, x: np.ndarray) -> list[Move]:
    ranks = {(t.id, q): r for t, q, r in _wishes(data)}
    wish_of: dict[str, tuple[str, str]] = {}           # teacher -> (school, route)
    for (tid, q), col in sorted(model.w.items()):
        if x[col] > _HALF:
            wish_of[tid] = (q, model.w_route[(tid, q)])
    ys = _integral_y(data, model, x)
    leavers: dict[tuple[Part, Flags], list[Teacher]] = defaultdict(list)
    for g, members in data.lgroups.items():
        n = ys.get(g, 0)
        first = [t for t in members if t.id in wish_of]
        rest = [t for t in members if t.id not in wish_of]
        leavers[(g[0], g[2])].extend((first + rest)[:n])
    slots: dict[tuple[Part, Flags], list[tuple]] = defaultdict(list)
    kind_order = {"move": 0, "exchange_out": 1, "exchange_back": 2}
    for (p, dest, f), col in model.x.items():
        n = int(round(x[col]))
        slots[(p, f)] += [(dest, "move")] * n
    for (p, dest, f), col in model.xo.items():
        slots[(p, f)] += [(dest, "exchange_out")] * int(round(x[col]))
    for (p, dest, f), col in model.xb.items():
        slots[(p, f)] += [(dest, "exchange_back")] * int(round(x[col]))
    placed: list[tuple[Teacher, Part, str]] = []
    for key in sorted(leavers):
        people = sorted(leavers[key], key=_member_key)
        free = list(slots[key])
        for t in [t for t in people if t.id in wish_of]:
            q, route = wish_of[t.id]
            want = ((q, t.stage), "move" if route == "pool" else "exchange_out")
            free.remove(want)
            placed.append((t, want[0], want[1]))
        rest = [t for t in people if t.id not in wish_of]
        free.sort(key=lambda s: (_cost(data, key[0][0], s[0][0]), s[0], kind_order[s[1]]))
        if len(free) != len(rest):
            raise RuntimeError(f"internal: {len(rest)} leavers but {len(free)} places for {key}")
        placed += [(t, q, kind) for t, (q, kind) in zip(rest, free)]
    pair = _pair_legs(placed)
    reasons = _reasons(data, placed)
    moves = [Move(t.id, t.school_id, q[0], t.stage, t.subject, reasons[t.id],
                  _direction(data, t.school_id, q[0]), _cost(data, t.school_id, q[0]),
                  t.name, kind, pair.get(t.id, ""), ranks.get((t.id, q[0]), 0))
             for t, q, kind in placed]
    return sorted(moves, key=lambda m: m.teacher_id)


def _pair_legs(placed) -> dict[str, str]:
    """The two legs of each exchange, paired in teacher-id order per school pair."""
    legs: dict[tuple, dict[str, list[str]]] = defaultdict(lambda: {"o": [], "b": []})
    for t, q, kind in placed:
        if kind == "exchange_out":
            legs[(t.school_id, q[0], t.stage)]["o"].append(t.id)
        elif kind == "exchange_back":
            legs[(q[0], t.school_id, t.stage)]["b"].append(t.id)
    out = {}
    for key in sorted(legs):
        for a, b in zip(sorted(legs[key]["o"]), sorted(legs[key]["b"])):
            out[a], out[b] = b, a
    return out


def _direction(data: _Data, a: str, b: str) -> str:
    return f"{data.schools[a].area_type}->{data.schools[b].area_type}"


def _reasons(data: _Data, placed) -> dict[str, str]:
    """Reason codes (see *Decoding*)."""
    count: dict[Part, list[float]] = {p: list(map(float, data.before[p])) for p in data.parts}
    subjects: dict[tuple[Part, str], int] = defaultdict(int)
    for p, ts in data.teachers_of_part.items():
        for t in ts:
            subjects[(p, t.subject)] += 1
    for t, _q, _kind in placed:
        src = (t.school_id, t.stage)
        for i, flag in enumerate(t.flags()):
            count[src][i] -= flag
        subjects[(src, t.subject)] -= 1
    out: dict[str, str] = {}
    for t, q, kind in sorted(placed, key=lambda tq: (tq[1], tq[0].id)):
        flags = t.flags()
        if kind == "exchange_out":
            code = "exchange_out"
        elif kind == "move" and not data.toward(q, flags, data.urban((t.school_id, t.stage))):
            code = "quota"
        else:
            credit = _credit(data, q, t, count[q], subjects)
            if credit is not None:
                code = credit
            else:
                code = "exchange_back" if kind == "exchange_back" else _fallback(data, q, flags)
        out[t.id] = code
        for i, flag in enumerate(flags):
            count[q][i] += flag
        subjects[(q, t.subject)] += 1
    return out


def _credit(data: _Data, q: Part, t: Teacher, count, subjects) -> str | None:
    flags = t.flags()
    if data.pupils(q) <= 0:
        return None
    for k in _FLAG_ORDER:
        if flags[k - 1] and count[k - 1] < data.need(q, k) - _EPS:
            return f"floor_{k}"
    for k in _FLAG_ORDER:
        if flags[k - 1] and count[k - 1] < data.county_target[(q, k)] - _EPS:
            return f"county_{k}"
    rate = data.subject_rate.get((q[1], t.subject), 0.0)
    if subjects[(q, t.subject)] < rate * data.pupils(q) - _EPS:
        return "subject"
    return None


def _fallback(data: _Data, q: Part, flags: Flags) -> str:
    """Why a move toward need serves it when nothing is short any more."""
    lacks = data.lacks.get(q, frozenset())
    if 4 in lacks:
        return "weak_school"
    area = data.schools[q[0]].area_type
    if area == "rural":
        return "support_rural"
    if area != "urban":
        return "support_town"
    for k in _FLAG_ORDER:
        if flags[k - 1] and k in lacks:
            before = data.before[q][k - 1]
            return f"floor_{k}" if before < data.need(q, k) - _EPS else f"county_{k}"
    return "quota"


# --------------------------------------------------------- independent checks
def _after_counts(data: _Data, moves: Sequence[Move]) -> dict:
    by_id = {t.id: t for t in data.problem.teachers}
    after = {p: list(data.before[p]) for p in data.parts}
    for m in moves:
        t = by_id[m.teacher_id]
        src, dst = (t.school_id, t.stage), (m.to_school, t.stage)
        for i, flag in enumerate(t.flags()):
            after[src][i] -= flag
            if dst in after:
                after[dst][i] += flag
    return after


def _purpose_terms(data: _Data, moves: Sequence[Move]) -> tuple[int, int, int]:
    """(moves serving no need, backbone movers not toward need, exchange pairs) of a
    plan, from its moves and their kinds alone (an exchange leg counts as one only
    when its pair of schools may exchange and both directions have as many legs)."""
    by_id = {t.id: t for t in data.problem.teachers}
    legs: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for m in moves:
        if m.kind == "exchange_out":
            legs[((m.from_school, m.stage), (m.to_school, m.stage))][0] += 1
        elif m.kind == "exchange_back":
            legs[((m.to_school, m.stage), (m.from_school, m.stage))][1] += 1
    pairs = set(data.pairs)
    valid = {k for k, (o, b) in legs.items() if o == b and k in pairs}
    none = backbone = 0
    for m in moves:
        t = by_id[m.teacher_id]
        f = t.flags()
        q = (m.to_school, t.stage)
        if m.kind == "exchange_out" and ((t.school_id, t.stage), q) in valid:
            backbone += f[1]
            continue
        if m.kind == "exchange_back" and (q, (t.school_id, t.stage)) in valid \
                and data.toward(q, f, True):
            continue
        if q not in data.lacks or not data.toward(q, f, data.urban((t.school_id, t.stage))):
            none += 1
            backbone += f[1]
    return none, backbone, sum(legs[k][0] for k in valid)


def _count_figures(data: _Data, moves: Sequence[Move]) -> dict[str, int]:
    by_id = {t.id: t for t in data.problem.teachers}
    none, backbone, pairs = _purpose_terms(data, moves)
    wishers = {t.id for t, _, _ in _wishes(data)}
    return {"eligible": data.eligible, "required_movers": data.required,
            "rotated": len(moves),
            "backbone_rotated": sum(1 for m in moves if by_id[m.teacher_id].backbone),
            "backbone_required": _backbone_needed(data, len(moves)),
            "exchanges": pairs, "not_toward_need": none,
            "backbone_not_toward_need": backbone, "wish_teachers": len(wishers),
            "wishes_granted": sum(1 for m in moves if m.to_school in
                                  by_id[m.teacher_id].preferences and m.teacher_id in wishers)}


def _part_values(data: _Data, moves: Sequence[Move]) -> tuple[PartValues, ...]:
    after = _after_counts(data, moves)
    rows = []
    for p in data.parts:
        n = data.pupils(p)
        if n <= 0:
            continue
        rows.append(PartValues(p[0], p[1], n,
                               tuple(FLOOR_PUPILS * c / n for c in data.before[p]),
                               tuple(FLOOR_PUPILS * c / n for c in after[p]),
                               tuple(sorted(data.lacks[p])), p in data.weak, p in data.strong))
    return tuple(rows)


def _shortfalls(data: _Data, moves: Sequence[Move]) -> list[Shortfall]:
    figs = _count_figures(data, moves)
    out = []
    if figs["rotated"] < data.required:
        out.append(Shortfall("movers", data.required, figs["rotated"],
                             data.required - figs["rotated"]))
    need = figs["backbone_required"]
    if figs["backbone_rotated"] < need:
        out.append(Shortfall("backbone", need, figs["backbone_rotated"],
                             need - figs["backbone_rotated"]))
    return out


def _head_after(data: _Data, moves: Sequence[Move]) -> dict[str, int]:
    after = dict(data.head)
    for m in moves:
        after[m.from_school] -= 1
        after[m.to_school] += 1
    return after


def _full(data: _Data, moves: Sequence[Move]) -> tuple[tuple[str, int], ...]:
    """``(school, room left)`` of the schools with a part in need whose head count
    cannot grow any more under the plan (room 0), by school id."""
    after = _head_after(data, moves)
    need = sorted({p[0] for p in data.parts if p not in data.strong})
    return tuple((h, data.band[h][1] - after[h]) for h in need
                 if data.band[h][1] - after[h] <= 0)


def _direction_diagnostic(data: _Data, moves, counts) -> Diagnostic:
    kept = []
    elig_of: dict[tuple, int] = defaultdict(int)
    for (q, subject, _), m in data.groups.items():
        elig_of[(q, subject)] += len(m)
    for (p, subject), n in sorted(data.subject_count.items()):
        if p in data.strong or not data.movable(p):
            continue
        # the only teacher of a subject at a school in need (rule (5) keeps them)
        if elig_of[(p, subject)] and n == 1:
            kept.append((p[0], p[1], subject))
    return Diagnostic("direction_unreachable", {
        "required": data.required, "reached": counts["rotated"],
        "backbone_required": counts["backbone_required"],
        "backbone_reached": counts["backbone_rotated"],
        "full": _full(data, moves), "kept": tuple(kept),
        # school parts a mover could go to toward need (not urban-and-not-weak)
        "needy": sum(1 for p in data.parts if p not in data.strong and data.movable(p))})


def _levels_of(data: _Data, moves: Sequence[Move]) -> dict[str, float]:
    after = _after_counts(data, moves)
    short = spread = 0.0
    for st in STAGES:
        parts = [p for p in data.parts_of_stage[st] if data.pupils(p) > 0]
        total_p = sum(data.pupils(p) for p in parts)
        for k in INDICATORS:
            t_k = sum(data.before[p][k - 1] for p in parts)
            for p in parts:
                a = after[p][k - 1]
                short += max(0.0, data.need(p, k) - a)
                if t_k > 0:
                    spread += abs(a - data.pupils(p) * t_k / total_p) / t_k
    none, backbone, _ = _purpose_terms(data, moves)
    wishes = _wishes(data)
    big = 2 * len(wishes) + 1
    rank = {(t.id, q): r for t, q, r in wishes}
    score = sum(big + MAX_WISHES - rank[(m.teacher_id, m.to_school)] for m in moves
                if (m.teacher_id, m.to_school) in rank)
    travel = sum(_cost(data, m.from_school, m.to_school) for m in moves)
    return {"purpose": float(none + backbone), "shortfall": short, "spread": spread,
            "wishes": float(score), "travel": travel}


def plan_levels(problem: RotationProblem, moves: Sequence[Move]) -> dict[str, float]:
    """Recompute the objective levels of a plan from its moves alone.

    Parameters
    ----------
    problem
        The rotation problem.
    moves
        The plan (with each move's ``kind``).

    Returns
    -------
    dict
        ``purpose`` (moves serving no need plus backbone movers not toward need),
        ``shortfall`` (teachers), ``spread`` (normalised weighted deviation),
        ``wishes`` (the weighted grants of level 4) and ``travel`` (sum of move costs).
    """
    return _levels_of(_prepare(problem), moves)


def verify_rotation(problem: RotationProblem, moves: Sequence[Move]) -> list[str]:
    """Check every hard rule of a plan from the moves alone.

    Parameters
    ----------
    problem
        The rotation problem.
    moves
        The plan to check.

    Returns
    -------
    list of str
        One line per violation; empty when the plan keeps every hard rule (the
        rotation counts (1)–(2) included, so a closest plan reports its shortfall;
        with the direction rule, a move that serves no need and a backbone mover not
        toward need).
    """
    data = _prepare(problem)
    s = problem.settings
    by_id = {t.id: t for t in problem.teachers}
    errors: list[str] = []
    seen: set[str] = set()
    valid: list[Move] = []
    for m in moves:
        errors.extend(_check_move(data, by_id, seen, m))
        seen.add(m.teacher_id)
        if m.teacher_id in by_id:
            valid.append(m)
    rotated = len({m.teacher_id for m in valid})
    backbone = len({m.teacher_id for m in valid if by_id[m.teacher_id].backbone})
    if rotated < data.required:
        errors.append(f"(1) {rotated} movers < required {data.required}")
    share = _frac(s.backbone_share)
    if s.backbone_base == "eligible":
        need = _ceil(share * data.required)
        if backbone < need:
            errors.append(f"(2) {backbone} backbone movers < required {need}")
    elif share.denominator * backbone < share.numerator * rotated:
        errors.append(f"(2) {backbone} backbone movers < {share} of {rotated}")
    errors.extend(_check_schools(data, by_id, valid))
    if s.direction_rule:
        none, bb, _ = _purpose_terms(data, valid)
        if none:
            errors.append(f"(9) {none} moves serve no need")
        if bb:
            errors.append(f"(9) {bb} backbone movers do not go toward need")
    return errors


def _check_move(data: _Data, by_id, seen, m: Move) -> list[str]:
    t = by_id.get(m.teacher_id)
    if t is None:
        return [f"{m.teacher_id}: unknown teacher"]
    errs = []
    if m.teacher_id in seen:
        errs.append(f"{t.id}: moves more than once")
    if not t.eligible:
        errs.append(f"{t.id}: not eligible to rotate")
    if m.from_school != t.school_id:
        errs.append(f"{t.id}: from {m.from_school} but teaches at {t.school_id}")
    if m.to_school == t.school_id:
        errs.append(f"{t.id}: moves to their own school")
    dst = data.schools.get(m.to_school)
    if dst is None or t.stage not in dst.stages:
        errs.append(f"{t.id}: {m.to_school} does not teach {t.stage}")
    return errs


def _check_schools(data: _Data, by_id, moves: Sequence[Move]) -> list[str]:
    errs = []
    out_h: dict[str, int] = defaultdict(int)
    in_h: dict[str, int] = defaultdict(int)
    left: dict[tuple, int] = defaultdict(int)
    for m in moves:
        t = by_id[m.teacher_id]
        out_h[t.school_id] += 1
        in_h[m.to_school] += 1
        left[((t.school_id, t.stage), t.subject)] += 1
    for key, n in sorted(left.items()):
        if n >= data.subject_count[key]:
            errs.append(f"(5) {key[0][0]} {key[0][1]} keeps none of its own {key[1]} teachers")
    for h in data.schools:
        after = data.head[h] - out_h[h] + in_h[h]
        lo, hi = data.band[h]
        if not lo <= after <= hi:
            errs.append(f"(6) {h}: head count {after} outside [{lo}, {hi}]")
        if out_h[h] > data.send_cap[h]:
            errs.append(f"(7) {h}: sends {out_h[h]} > limit {data.send_cap[h]}")
    return errs
