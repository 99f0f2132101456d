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

Symbols
-------
``P_p``            pupils of part ``p``; ``P_s`` pupils of stage ``s`` (in-scope parts)
``T_pk``           teachers of part ``p`` counting for indicator ``k`` (1 qualified,
                   2 backbone, 3 PE/art) today; ``T_k`` the stage total (constant)
``f_k``            floor of indicator ``k`` per 100 pupils for the part's stage
``n_h``            head count of school ``h`` today (all stages);
                   ``[lo_h, hi_h]`` its band, ``cap_h`` its send limit
``E, R``           eligible teachers, ``R = ceil(share · E)`` required movers
``y_g ∈ Z``        members of group ``g`` who leave, ``0 ≤ y_g ≤ n_g``
``in_pt ∈ Z``      teachers of type ``t`` arriving at part ``p``
``x_pqt ∈ Z``      teachers of type ``t`` moving from part ``p`` to part ``q`` (level 3)
``out_pt``         ``Σ_{g ∈ (p,t)} y_g``;  ``M = Σ_g y_g``;  ``B = Σ_{g backbone} y_g``
``a_pk``           ``T_pk − Σ_{t∋k} out_pt + Σ_{t∋k} in_pt`` (after the plan)

Constraints (the numbers are used in the constraint names)
----------------------------------------------------------
(1) movers:    ``M ≥ R``
(2) backbone:  ``backbone_base="rotated"``: ``den · B ≥ num · M`` with
    ``num/den = backbone_share`` as an exact fraction (``5 B ≥ M`` for a fifth);
    ``backbone_base="eligible"``: ``B ≥ ceil(backbone_share · R)``, i.e. the share is
    taken of the *required* movers ``ceil(share · eligible)``, so moving extra
    non-backbone teachers does not raise the backbone requirement.
(3) conservation per stage and type: ``Σ_p out_pt = Σ_p in_pt``; moves stay within
    the stage and go only to parts of that stage.
(4) no move to one's own school: ``out_pt ≤ Σ_{q≠p} in_qt``.  With (3) this is exactly
    the condition for a transport plan without diagonal to exist (Gale/Hall), so
    levels 1–2 need no arc variables.
(5) subject: for every part and subject it teaches today, at least one of its *own*
    teachers of that subject stays: ``Σ_{g ∈ (p, subject)} y_g ≤ count − 1``.
    (Reading taken: a school may not rely on an incoming rotating teacher to keep
    a subject; this is stricter than "after ≥ 1" and is what the verifier checks.)
(6) band and quota: ``lo_h ≤ n_h − out_h + in_h ≤ hi_h`` with
    ``lo_h = floor((1−band) n_h)``, ``hi_h = min(ceil((1+band) n_h), quota_h)``, and
    ``hi_h = n_h`` when the school is already above its quota (it may not gain).
(7) send limit: ``out_h ≤ cap_h = max(1, floor(max_send_share · n_h))`` where the
    school has an eligible teacher.
(8) direction rule (optional, off by default): a move ``h → h'`` is allowed only if
    ``h`` is urban/town and ``h'`` rural, or the part at ``h`` meets all three floors
    today and the part at ``h'`` is below at least one.  When on, arc variables
    ``x`` replace (4) on all levels, restricted to allowed arcs.

Objective: true lexicographic, solved in sequence
-------------------------------------------------
Level 1, shortfall (teachers): ``min Σ_{p,k} u_pk``, ``u_pk ≥ f_k P_p / 100 − a_pk``,
``u ≥ 0``.
Level 2, spread: ``min Σ_{p,k} d_pk``, ``d_pk ≥ ±(a_pk − P_p T_k / P_s) / T_k``, which is
exactly the enrolment-weighted absolute deviation ``(P_p/P_s)·|X_pk − X̄_k| / X̄_k``
(``X̄_k`` is constant: moves stay within county and stage).  Indicators with
``T_k = 0`` have no spread and are skipped; parts with no pupils have no value.
Level 3, travel: ``min Σ c_{hh'} x_pqt`` over arc variables linked by
``Σ_q x_pqt = out_pt``, ``Σ_p x_pqt = in_qt``.  ``c_{hh'}`` is the problem's
``travel`` cost from school ``h`` to ``h'`` (the caller's unit, e.g. minutes);
a problem without ``travel`` costs every move 0, so level 3 only breaks ties by
the decoding order below.
Hull cuts (9a), (9b): ``a_pk`` is an integer, so the convex hulls of
``max(0, f − a)`` and ``|a − τ|`` over the integers are added as one extra line each:
``u ≥ δ (⌊f⌋ + 1 − a)`` and ``d ≥ (δ' + (a − ⌊τ⌋)(1 − 2δ')) / T_k`` with ``δ``, ``δ'``
the fractional parts of the need ``f = f_k P_p/100`` and the target
``τ = P_p T_k / P_s``.  They cut off no integer point and close most of the LP gap
(on the 300-school bench the level-2 root bound went from 0.30 to the optimum's
neighbourhood).
After each level its value ``v`` is pinned (``level ≤ v + 1e-6·max(1, |v|)``) and
the next level is solved on the same model, so level 2 never trades away level 1.
This is more honest than big weights, which need a weight bound that depends on
the data and lose precision.  When a level stops on the time limit, the pinned
value is the incumbent's, and the status is :attr:`Status.FEASIBLE`.

Large counties: level 3 keeps all arcs when ``Σ_t sources × destinations ≤
arc_limit``; otherwise each source gets its ``travel_candidates`` nearest
destinations plus the arcs of a greedy transport plan of the level-2 solution (so
level 3 stays feasible), and with ``travel_mode="auto"`` (or ``"fixed"``) the
leavers ``y`` and arrivals ``in`` are fixed at their level-2 values, so level 3 is
a transport problem.  Levels 1–2 are then still exact; level 3 is optimal over that
arc set and those counts, not over all level-2 optima
(``RotationResult.travel_arcs`` says which case applied).  ``travel_mode="full"``
keeps the counts free (true lexicographic level 3, slow on large counties).

Infeasibility
-------------
Before solving, :func:`precheck` bounds the movers and backbone movers any plan
can reach (send limits, subject rule, one-part stages) and returns one
:class:`Diagnostic` (a code and its figures) per failed check.  When the checks
fail or the solver proves (1)–(2) infeasible, the model is re-solved with integer
slacks on (1) and (2) minimised first (level 0), then levels 1–3.  If the slacks
stay positive the result has status :attr:`Status.INFEASIBLE`, ``closest=True``,
the measured ``shortfalls`` and this closest plan in ``moves``; if they are 0 (a
one-school stage flagged by the checks, the other stage reaching the counts) it
is an ordinary plan.

Decoding
--------
Within a group, the teachers who leave are the first ``y_g`` sorted by
``years_at_school`` descending, then teacher id.  The leavers of a part and type
(sorted the same way) are sent to destinations in increasing travel cost, then
destination id.  Reason codes: at the receiving part, the incoming teachers
(sorted by teacher id) are credited against the shortfall left after that part's
own leavers, in the order PE/art (``pe_art``), backbone (``backbone``),
qualified (``qualified``); a move that reduces none of them is ``quota`` (it is
there to reach the rotation share).  The words for the codes are the output
layer's (``planner/outputs/catalogue/rotation.yaml``).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pulp

from models import mip
from models.mip import SolveInfo
from models.status import Status

__all__ = [
    "DIAGNOSTIC_CODES",
    "FLOOR_PUPILS",
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
REASON_CODES = ("pe_art", "backbone", "qualified", "quota")
#: the codes of :class:`Diagnostic`
DIAGNOSTIC_CODES = ("single_school_stage", "movers_unreachable", "backbone_unreachable",
                    "solver_infeasible")
_REASON_ORDER = ((3, "pe_art"), (2, "backbone"), (1, "qualified"))
_TOL = 1e-6


# --------------------------------------------------------------------------- data
@dataclass(frozen=True)
class Teacher:
    """One teacher of the roster, as the model sees them.

    ``eligible`` is computed by the caller (years, age, exemptions).
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

    def flags(self) -> tuple[bool, bool, bool]:
        """Return the type ``(qualified, backbone, pe_art)``."""
        return (self.qualified, self.backbone, self.pe_art)


@dataclass(frozen=True)
class School:
    """A school; ``pupils`` maps stage to enrolment, ``stages`` the stages taught."""

    id: str
    stages: frozenset[str]
    pupils: Mapping[str, int]
    area_type: str = "town"
    staff_quota: int | None = None


@dataclass(frozen=True, kw_only=True)
class RotationSettings:
    """Rules and limits; see the module docstring for each constraint.

    Every field a planner can set or the standard fixes is required (the caller
    holds the one default): ``share`` and ``backbone_share`` (indicator 19),
    ``floors`` (stage -> thresholds of indicators 1, 2, 3 in teachers per
    :data:`FLOOR_PUPILS` pupils),
    ``backbone_base`` (``"rotated"`` or ``"eligible"``, constraint (2)), ``band``
    (6), ``max_send_share`` (7) and ``direction_rule`` (8).  The last three are
    how large counties are solved (see *Large counties*).
    """

    share: float
    backbone_share: float
    floors: Mapping[str, tuple[float, float, float]]
    backbone_base: str
    band: float
    max_send_share: float
    direction_rule: bool
    travel_candidates: int = 10
    arc_limit: int = 60_000
    travel_mode: str = "auto"


@dataclass(frozen=True)
class RotationProblem:
    """Teachers, schools, settings and an optional travel cost ``(from, to) -> cost``.

    ``travel`` is any mapping (it is only looked up, never copied, so a lazy one
    serves a large county); it must hold a finite cost for every pair of
    different schools a move may join.  Without ``travel`` every move costs 0.
    """

    teachers: Sequence[Teacher]
    schools: Sequence[School]
    settings: RotationSettings
    travel: Mapping[tuple[str, str], float] | None = None


@dataclass(frozen=True)
class Move:
    """One teacher's move: ``reason`` is one of :data:`REASON_CODES`, ``direction``
    the area types ``"<from>-><to>"`` (e.g. ``"town->rural"``)."""

    teacher_id: str
    from_school: str
    to_school: str
    stage: str
    subject: str
    reason: str
    direction: str
    cost: float
    name: str = ""


@dataclass(frozen=True)
class PartValues:
    """Indicators 1–3 per 100 pupils of one school part, before and after."""

    school_id: str
    stage: str
    pupils: int
    before: tuple[float, ...]          # indicators 1, 2, 3
    after: tuple[float, ...]


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
    """Why the hard rotation counts cannot be met, as a code and its figures.

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
      under the band, quota, send and subject rules.
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
    ``shortfalls`` measures what it misses.  ``objective`` maps ``shortfall``,
    ``spread``, ``travel`` (and ``slack`` for a relaxed solve) to the level values
    recomputed from the moves; ``gap`` is the largest level gap.  ``messages``
    explains an unreachable count (:class:`Diagnostic`).
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


# ------------------------------------------------------------------ preparation
def _frac(x: float) -> Fraction:
    """Exact fraction of a decimal setting (0.1 -> 1/10, not the binary float)."""
    return Fraction(str(x))


def _ceil(f: Fraction) -> int:
    return -((-f.numerator) // f.denominator)


def _floor(f: Fraction) -> int:
    return f.numerator // f.denominator


@dataclass
class _Data:
    """Derived, sorted view of a problem."""

    problem: RotationProblem
    schools: dict[str, School]
    parts: list[tuple[str, str]]                  # (school, stage), sorted
    parts_of_stage: dict[str, list[tuple[str, str]]]
    teachers_of_part: dict[tuple[str, str], list[Teacher]]
    head: dict[str, int]
    band: dict[str, tuple[int, int]]
    send_cap: dict[str, int]
    groups: dict[tuple, list[Teacher]]            # (part, subject, flags) -> teachers
    subject_count: dict[tuple, int]               # (part, subject) -> all teachers
    before: dict[tuple[str, str], tuple[int, int, int]]
    eligible: int
    required: int

    def need(self, part: tuple[str, str], k: int) -> float:
        """Teachers needed for floor ``k`` at ``part``."""
        school, stage = part
        floors = self.problem.settings.floors[stage]
        return floors[k - 1] * self.schools[school].pupils.get(stage, 0) / FLOOR_PUPILS

    def pupils(self, part: tuple[str, str]) -> int:
        return int(self.schools[part[0]].pupils.get(part[1], 0))


def _member_key(t: Teacher) -> tuple:
    return (-t.years_at_school, t.id)


def _prepare(problem: RotationProblem) -> _Data:
    s = problem.settings
    schools = {h.id: h for h in sorted(problem.schools, key=lambda h: h.id)}
    _validate(problem, schools)
    parts = sorted((h, st) for h in schools for st in schools[h].stages if st in STAGES)
    parts_of_stage = {st: [p for p in parts if p[1] == st] for st in STAGES}
    tp: dict[tuple[str, str], list[Teacher]] = defaultdict(list)
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
    return _Data(problem, schools, parts, parts_of_stage, dict(tp), head, band,
                 send_cap, dict(sorted(groups.items())), dict(subject_count), before,
                 eligible, required)


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
    ids = [t.id for t in problem.teachers]
    if len(set(ids)) != len(ids):
        raise ValueError("teacher ids must be unique")
    for t in problem.teachers:
        if t.school_id not in schools:
            raise ValueError(f"teacher {t.id}: school {t.school_id!r} is not in the schools")
        if t.stage not in STAGES:
            raise ValueError(f"teacher {t.id}: stage {t.stage!r} must be primary or junior")
    for st in sorted({st for h in schools.values() for st in h.stages if st in STAGES}):
        if len(s.floors.get(st, ())) != len(INDICATORS):
            raise ValueError(f"floors for stage {st!r} must be three numbers (indicators 1-3)")


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


def _weak(data: _Data, part: tuple[str, str]) -> bool:
    if data.pupils(part) <= 0:
        return False
    return any(data.before[part][k - 1] < data.need(part, k) - 1e-9 for k in INDICATORS)


def _allowed(data: _Data, p: tuple[str, str], q: tuple[str, str]) -> bool:
    """Arc rule (8); always true when the direction rule is off."""
    if p[0] == q[0]:
        return False
    if not data.problem.settings.direction_rule:
        return True
    ap, aq = data.schools[p[0]].area_type, data.schools[q[0]].area_type
    if ap in ("urban", "town") and aq == "rural":
        return True
    strong = data.pupils(p) > 0 and not _weak(data, p)
    return strong and _weak(data, q)


# ------------------------------------------------------------------- pre-checks
def _movable(data: _Data, backbone_only: bool) -> dict[str, int]:
    """Upper bound on leavers per school from rules (5), (7) and one-part stages."""
    by_part_subject: dict[tuple, int] = defaultdict(int)
    for (part, subject, flags), members in data.groups.items():
        if len(data.parts_of_stage[part[1]]) < 2:
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


# ------------------------------------------------------------------------ model
@dataclass
class _Model:
    prob: pulp.LpProblem
    y: dict[tuple, pulp.LpVariable]
    inflow: dict[tuple, pulp.LpAffineExpression]
    out: dict[tuple, pulp.LpAffineExpression]
    level1: pulp.LpAffineExpression
    level2: pulp.LpAffineExpression
    slack: pulp.LpAffineExpression | None
    x: dict[tuple, pulp.LpVariable]
    in_vars: dict[tuple, pulp.LpVariable]


def _types(data: _Data, stage: str) -> list[tuple[bool, bool, bool]]:
    return sorted({f for (p, _, f) in data.groups if p[1] == stage})


def _sources(data: _Data) -> list[tuple[tuple[str, str], tuple]]:
    return sorted({(p, f) for (p, _, f) in data.groups
                   if len(data.parts_of_stage[p[1]]) >= 2})


def _build(data: _Data, relaxed: bool) -> _Model:
    s = data.problem.settings
    prob = pulp.LpProblem("rotation", pulp.LpMinimize)
    y = {}
    for i, (g, members) in enumerate(data.groups.items()):
        ub = len(members) if len(data.parts_of_stage[g[0][1]]) >= 2 else 0
        y[g] = prob.add_variable(f"y_{i}", 0, ub, cat="Integer")
    out: dict[tuple, pulp.LpAffineExpression] = defaultdict(pulp.LpAffineExpression)
    for (p, _, f), var in y.items():
        out[(p, f)] += var
    x: dict[tuple, pulp.LpVariable] = {}
    in_vars: dict[tuple, pulp.LpVariable] = {}
    if s.direction_rule:
        inflow = _add_arcs(prob, data, out, x, _all_arcs(data))
    else:
        inflow = _add_net_flows(prob, data, out, in_vars)
    slack = _add_counts(prob, data, y, relaxed)
    _add_subject_rule(prob, data, y)
    _add_school_rules(prob, data, out, inflow)
    level1, level2 = _add_levels(prob, data, out, inflow)
    return _Model(prob, y, inflow, dict(out), level1, level2, slack, x, in_vars)


def _add_net_flows(prob, data: _Data, out, in_vars) -> dict:
    inflow: dict[tuple, pulp.LpAffineExpression] = {}
    for st in STAGES:
        parts = data.parts_of_stage[st]
        if len(parts) < 2:
            continue
        for ti, f in enumerate(_types(data, st)):
            for pi, p in enumerate(parts):
                in_vars[(p, f)] = prob.add_variable(
                    f"in_{st}_{ti}_{pi}", 0, None, cat="Integer")
                inflow[(p, f)] = pulp.lpSum([in_vars[(p, f)]])
            total_in = prob.add_variable(f"total_{st}_{ti}", 0, None)
            prob += (pulp.lpSum(in_vars[(p, f)] for p in parts) == total_in,
                     f"c3_total_{st}_{ti}")
            prob += (pulp.lpSum(out.get((p, f), 0) for p in parts) == total_in,
                     f"c3_conserve_{st}_{ti}")
            for pi, p in enumerate(parts):
                if (p, f) in out:
                    prob += (out[(p, f)] + in_vars[(p, f)] <= total_in,
                             f"c4_noself_{st}_{ti}_{pi}")
    return inflow


def _all_arcs(data: _Data) -> list[tuple]:
    arcs = []
    for p, f in _sources(data):
        for q in data.parts_of_stage[p[1]]:
            if _allowed(data, p, q):
                arcs.append((p, q, f))
    return arcs


def _add_arcs(prob, data: _Data, out, x, arcs: list[tuple]) -> dict:
    """Arc variables; returns inflow expressions and links outflow (level 3 / rule 8)."""
    inflow: dict[tuple, pulp.LpAffineExpression] = defaultdict(pulp.LpAffineExpression)
    outflow: dict[tuple, pulp.LpAffineExpression] = defaultdict(pulp.LpAffineExpression)
    base = len(x)
    for i, (p, q, f) in enumerate(sorted(arcs)):
        if (p, q, f) in x:
            continue
        var = prob.add_variable(f"x_{base + i}", 0, None, cat="Integer")
        x[(p, q, f)] = var
        inflow[(q, f)] += var
        outflow[(p, f)] += var
    for i, key in enumerate(sorted(out)):
        prob += (outflow.get(key, pulp.LpAffineExpression()) == out[key],
                 f"c3_arcs_out_{base}_{i}")
    return dict(inflow)


def _add_counts(prob, data: _Data, y, relaxed: bool):
    s = data.problem.settings
    movers = pulp.lpSum(y.values())
    backbone = pulp.lpSum(v for (p, subj, f), v in y.items() if f[1])
    slack = None
    movers_lhs, backbone_lhs = movers, backbone
    if relaxed:
        s_m = prob.add_variable("slack_movers", 0, None, cat="Integer")
        s_b = prob.add_variable("slack_backbone", 0, None, cat="Integer")
        movers_lhs, backbone_lhs = movers + s_m, backbone + s_b
        slack = s_m + s_b
    prob += movers_lhs >= data.required, "c1_movers"
    share = _frac(s.backbone_share)
    if s.backbone_base == "eligible":
        prob += backbone_lhs >= _ceil(share * data.required), "c2_backbone"
    else:
        prob += (share.denominator * backbone_lhs >= share.numerator * movers,
                 "c2_backbone")
    return slack


def _add_subject_rule(prob, data: _Data, y) -> None:
    by: dict[tuple, list] = defaultdict(list)
    for (p, subject, f), v in y.items():
        by[(p, subject)].append((v, len(data.groups[(p, subject, f)])))
    for i, key in enumerate(sorted(by)):
        keep = data.subject_count[key] - 1
        if sum(n for _, n in by[key]) > keep:
            prob += pulp.lpSum(v for v, _ in by[key]) <= keep, f"c5_subject_{i}"


def _add_school_rules(prob, data: _Data, out, inflow) -> None:
    out_h: dict[str, pulp.LpAffineExpression] = defaultdict(pulp.LpAffineExpression)
    in_h: dict[str, pulp.LpAffineExpression] = defaultdict(pulp.LpAffineExpression)
    for (p, _), e in sorted(out.items()):
        out_h[p[0]] += e
    for (p, _), e in sorted(inflow.items()):
        in_h[p[0]] += e
    for hi_, h in enumerate(data.schools):
        lo, hi = data.band[h]
        n = data.head[h]
        change = in_h.get(h, pulp.LpAffineExpression()) - out_h.get(h, pulp.LpAffineExpression())
        if h in out_h or h in in_h:
            prob += change <= hi - n, f"c6_band_hi_{hi_}"
            prob += change >= lo - n, f"c6_band_lo_{hi_}"
        if h in out_h:
            prob += out_h[h] <= data.send_cap[h], f"c7_send_{hi_}"


def _after_expr(data: _Data, part, k: int, out, inflow):
    e = pulp.LpAffineExpression(constant=data.before[part][k - 1])
    for (p, f), ex in out.items():
        if p == part and f[k - 1]:
            e -= ex
    for (p, f), ex in inflow.items():
        if p == part and f[k - 1]:
            e += ex
    return e


def _add_levels(prob, data: _Data, out, inflow):
    out_p: dict = defaultdict(dict)
    in_p: dict = defaultdict(dict)
    for (p, f), e in out.items():
        out_p[p][(p, f)] = e
    for (p, f), e in inflow.items():
        in_p[p][(p, f)] = e
    l1, l2 = [], []
    for st in STAGES:
        parts = [p for p in data.parts_of_stage[st] if data.pupils(p) > 0]
        total_p = sum(data.pupils(p) for p in parts)
        totals = [sum(data.before[q][k - 1] for q in parts) for k in INDICATORS]
        for pi, p in enumerate(parts):
            for k in INDICATORS:
                a = _after_expr(data, p, k, out_p[p], in_p[p])
                tag = f"{st}_{pi}_{k}"
                need = data.need(p, k)
                u = prob.add_variable(f"u_{tag}", 0)
                prob += u >= need - a, f"l1_{tag}"
                low, frac = math.floor(need), need - math.floor(need)
                if frac > 1e-9:  # hull cut (9a): a is integer
                    prob += u >= frac * (low + 1 - a), f"l1h_{tag}"
                l1.append(u)
                t_k = totals[k - 1]
                if t_k <= 0:
                    continue
                d = prob.add_variable(f"d_{tag}", 0)
                target = data.pupils(p) * t_k / total_p
                prob += d >= (a - target) * (1.0 / t_k), f"l2p_{tag}"
                prob += d >= (target - a) * (1.0 / t_k), f"l2m_{tag}"
                low, frac = math.floor(target), target - math.floor(target)
                if frac > 1e-9:  # hull cut (9b): a is integer
                    prob += (d >= (frac + (a - low) * (1 - 2 * frac)) * (1.0 / t_k),
                             f"l2h_{tag}")
                l2.append(d)
    return pulp.lpSum(l1), pulp.lpSum(l2)


# ------------------------------------------------------------------ solving
def _pin(prob, expr, value: float, name: str) -> None:
    prob += expr <= value + _TOL * max(1.0, abs(value)), name


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(1.0, deadline - time.perf_counter())


def _solve_warm(prob: pulp.LpProblem, solver: str, time_limit: float | None,
                gap: float | None, warm: bool) -> SolveInfo:
    """:func:`models.mip.solve_problem`, with a MIP start from the variables' values
    when ``warm``: the previous level's solution satisfies the pinned model, so
    every level after the first starts with an incumbent."""
    return mip.solve_problem(prob, solver, time_limit, gap, warm_start=warm)


def _run_level(model: _Model, expr, name: str, solver, deadline, gap,
               warm: bool = False) -> SolveInfo:
    model.prob.setObjective(expr)
    info = _solve_warm(model.prob, solver, _remaining(deadline), gap, warm)
    if info.status.has_plan:
        value = float(pulp.value(expr) or 0.0)
        _pin(model.prob, expr, value, f"pin_{name}")
    return info


def _int(v) -> int:
    return round(v.value() or 0.0)


def _travel_arcs(data: _Data, model: _Model,
                 flows: dict[tuple, int]) -> tuple[list[tuple], str]:
    """Arc set of level 3: all arcs, or nearest candidates plus the start plan's."""
    s = data.problem.settings
    if s.direction_rule:
        return [], "all"
    srcs = _sources(data)
    total = sum(len(data.parts_of_stage[p[1]]) - 1 for p, _ in srcs)
    if total <= s.arc_limit:
        return [(p, q, f) for p, f in srcs for q in data.parts_of_stage[p[1]]
                if q != p], "all"
    arcs = set(flows)
    for p, f in srcs:
        qs = sorted((q for q in data.parts_of_stage[p[1]] if q[0] != p[0]),
                    key=lambda q: (_cost(data, p[0], q[0]), q))
        arcs.update((p, q, f) for q in qs[:s.travel_candidates])
    return sorted(arcs), f"nearest {s.travel_candidates} + start plan"


def _greedy_flows(data: _Data, model: _Model) -> dict[tuple, int]:
    """A transport plan for the level-2 in/out values, nearest destination first.

    It is level 3's MIP start and, for large counties, guarantees that the restricted
    arc set is feasible.  Where the greedy gets stuck (only its own school left), all
    source-sink arcs of that type are added with zero flow.
    """
    supply: dict[tuple, dict] = defaultdict(dict)
    demand: dict[tuple, dict] = defaultdict(dict)
    for (p, f), e in model.out.items():
        v = round(pulp.value(e) or 0)
        if v:
            supply[(p[1], f)][p] = v
    for (p, f), var in model.in_vars.items():
        v = _int(var)
        if v:
            demand[(p[1], f)][p] = v
    arcs: dict[tuple, int] = {}
    for key in sorted(supply):
        sup, dem = dict(supply[key]), dict(demand.get(key, {}))
        order = sorted(sup, key=lambda p: (-(sup[p] + dem.get(p, 0)), p))
        ok = True
        for p in order:
            for q in sorted((q for q in dem if q != p and dem[q] > 0),
                            key=lambda q: (_cost(data, p[0], q[0]), q)):
                if sup[p] == 0:
                    break
                n = min(sup[p], dem[q])
                sup[p] -= n
                dem[q] -= n
                arcs[(p, q, key[1])] = arcs.get((p, q, key[1]), 0) + n
            ok = ok and sup[p] == 0
        if not ok:  # fall back to every source-sink pair of this type
            for p in supply[key]:
                for q in demand[key]:
                    if q != p:
                        arcs.setdefault((p, q, key[1]), 0)
    return arcs


def _decode_flows(data: _Data, model: _Model) -> dict[tuple, int]:
    return {k: _int(v) for k, v in sorted(model.x.items()) if _int(v) > 0}


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
        Seconds for all levels together (each level gets what is left, at least 1).
    gap
        Relative MIP gap accepted at each level (``None``: solver default).

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
    ...                          direction_rule=False)
    >>> r = solve(RotationProblem(t, s, rules))
    >>> str(r.status), r.counts["rotated"], r.counts["backbone_rotated"]
    ('optimal', 1, 1)
    """
    t0 = time.perf_counter()
    deadline = None if time_limit is None else t0 + time_limit
    data = _prepare(problem)
    messages = _precheck(data)
    infos: list[SolveInfo] = []
    relaxed = bool(messages)
    model, arcs_note = _solve_levels(data, relaxed, solver, deadline, gap, infos)
    if not relaxed and infos and infos[0].status is Status.INFEASIBLE:
        messages.append(Diagnostic("solver_infeasible", {}))
        infos.clear()
        relaxed = True
        model, arcs_note = _solve_levels(data, relaxed, solver, deadline, gap, infos)
    return _result(data, model, infos, relaxed, messages, arcs_note, solver,
                   time.perf_counter() - t0)


def _solve_levels(data, relaxed, solver, deadline, gap, infos):
    model = _build(data, relaxed)
    levels = [("shortfall", model.level1), ("spread", model.level2)]
    if relaxed:
        levels.insert(0, ("slack", model.slack))
    for i, (name, expr) in enumerate(levels):
        snapshot = {v.name: v.varValue for v in model.prob.variables()}
        info = _run_level(model, expr, name, solver, deadline, gap, warm=i > 0)
        if i > 0 and info.status is Status.NO_PLAN_IN_TIME:
            # the previous level's plan is feasible here: keep it, unproven
            for v in model.prob.variables():
                v.varValue = snapshot.get(v.name)
            value = float(pulp.value(expr) or 0.0)
            _pin(model.prob, expr, value, f"pin_{name}")
            info = SolveInfo(Status.FEASIBLE, value, None, info.solver, info.seconds)
        infos.append(info)
        if not info.status.has_plan:
            return model, "all"
    flows = {} if data.problem.settings.direction_rule else _greedy_flows(data, model)
    arcs, note = _travel_arcs(data, model, flows)
    mode = data.problem.settings.travel_mode
    if mode == "fixed" or (mode == "auto" and note != "all"):
        _fix_counts(model)
        note += ", counts fixed"
    if arcs:
        model.inflow = _add_arcs_level3(model, data, arcs)
        for arc, var in model.x.items():
            var.varValue = flows.get(arc, 0)
    cost = pulp.lpSum(_cost(data, p[0], q[0]) * v for (p, q, f), v in sorted(model.x.items()))
    infos.append(_run_level(model, cost, "travel", solver, deadline, gap, warm=True))
    return model, note


def _fix_counts(model: _Model) -> None:
    """Fix leavers and arrivals at their level-2 values: level 3 becomes a transport
    problem (totally unimodular), fast for large counties."""
    for var in list(model.y.values()) + list(model.in_vars.values()):
        value = _int(var)
        var.lowBound = var.upBound = value


def _add_arcs_level3(model: _Model, data: _Data, arcs) -> dict:
    inflow = _add_arcs(model.prob, data, model.out, model.x, arcs)
    for i, ((p, f), var) in enumerate(sorted(model.in_vars.items())):
        prob_in = inflow.get((p, f), pulp.LpAffineExpression())
        model.prob += prob_in == var, f"c3_arcs_in_{i}"
    return model.inflow


# ------------------------------------------------------------------ decoding
def _result(data, model, infos, relaxed, messages, arcs_note, solver, seconds):
    ok = bool(infos) and all(i.status.has_plan for i in infos)
    if not ok:
        status = infos[-1].status if infos else Status.NO_PLAN_IN_TIME
        return RotationResult(status, (), {}, None, solver, seconds,
                              _count_figures(data, ()), _part_values(data, ()),
                              tuple(messages), (), tuple(infos), arcs_note)
    moves = tuple(_decode(data, model))
    status = (Status.OPTIMAL if all(i.status is Status.OPTIMAL for i in infos)
              else Status.FEASIBLE)
    shortfalls = _shortfalls(data, moves) if relaxed else []
    closest = bool(shortfalls)
    if closest:
        status = Status.INFEASIBLE
    gaps = [i.gap for i in infos]
    gap = None if any(g is None for g in gaps) else max(gaps)
    objective = plan_levels(data.problem, moves)
    if relaxed:
        objective["slack"] = float(sum(sf.short for sf in shortfalls))
    return RotationResult(status, moves, objective, gap, solver, seconds,
                          _count_figures(data, moves), _part_values(data, moves),
                          tuple(messages), tuple(shortfalls), tuple(infos), arcs_note,
                          closest)


def _decode(data: _Data, model: _Model) -> list[Move]:
    leavers: dict[tuple, list[Teacher]] = defaultdict(list)
    for (p, subject, f), var in model.y.items():
        n = _int(var)
        leavers[(p, f)].extend(data.groups[(p, subject, f)][:n])
    flows = _decode_flows(data, model)
    dests: dict[tuple, list[tuple]] = defaultdict(list)
    for (p, q, f), n in flows.items():
        dests[(p, f)].append((_cost(data, p[0], q[0]), q, n))
    pairs: list[tuple[Teacher, tuple[str, str]]] = []
    for key in sorted(leavers):
        people = sorted(leavers[key], key=_member_key)
        slots = [q for _, q, n in sorted(dests[key]) for _ in range(n)]
        if len(slots) != len(people):
            raise RuntimeError(f"internal: {len(people)} leavers but {len(slots)} places "
                               f"for {key}")
        pairs.extend(zip(people, slots))
    reasons = _reasons(data, pairs)
    moves = [Move(t.id, t.school_id, q[0], t.stage, t.subject, reasons[t.id],
                  _direction(data, t.school_id, q[0]), _cost(data, t.school_id, q[0]),
                  t.name) for t, q in pairs]
    return sorted(moves, key=lambda m: m.teacher_id)


def _direction(data: _Data, a: str, b: str) -> str:
    return f"{data.schools[a].area_type}->{data.schools[b].area_type}"


def _reasons(data: _Data, pairs) -> dict[str, str]:
    remaining: dict[tuple, list[float]] = {}
    leaving: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for t, _ in pairs:
        for i, flag in enumerate(t.flags()):
            leaving[(t.school_id, t.stage)][i] += flag
    for p in data.parts:
        remaining[p] = [max(0.0, data.need(p, k) - (data.before[p][k - 1] - leaving[p][k - 1]))
                        for k in INDICATORS]
    out: dict[str, str] = {}
    for t, q in sorted(pairs, key=lambda tq: (tq[1], tq[0].id)):
        out[t.id] = "quota"
        for k, code in _REASON_ORDER:
            if t.flags()[k - 1] and remaining[q][k - 1] > 1e-9:
                remaining[q][k - 1] = max(0.0, remaining[q][k - 1] - 1)
                out[t.id] = code
                break
    return out


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


def _count_figures(data: _Data, moves: Sequence[Move]) -> dict[str, int]:
    by_id = {t.id: t for t in data.problem.teachers}
    return {"eligible": data.eligible, "required_movers": data.required,
            "rotated": len(moves),
            "backbone_rotated": sum(1 for m in moves if by_id[m.teacher_id].backbone),
            "backbone_required": _backbone_needed(data, len(moves))}


def _part_values(data: _Data, moves: Sequence[Move]) -> tuple[PartValues, ...]:
    after = _after_counts(data, moves)
    rows = []
    for p in data.parts:
        n = data.pupils(p)
        if n <= 0:
            continue
        rows.append(PartValues(p[0], p[1], n,
                               tuple(FLOOR_PUPILS * c / n for c in data.before[p]),
                               tuple(FLOOR_PUPILS * c / n for c in after[p])))
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


def plan_levels(problem: RotationProblem, moves: Sequence[Move]) -> dict[str, float]:
    """Recompute the three objective levels of a plan from its moves alone.

    Parameters
    ----------
    problem
        The rotation problem.
    moves
        The plan.

    Returns
    -------
    dict
        ``shortfall`` (teachers), ``spread`` (normalised weighted deviation) and
        ``travel`` (sum of move costs).
    """
    data = _prepare(problem)
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
    travel = sum(_cost(data, m.from_school, m.to_school) for m in moves)
    return {"shortfall": short, "spread": spread, "travel": travel}


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
        rotation counts (1)–(2) included, so a closest plan reports its shortfall).
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
    elif (data.problem.settings.direction_rule and m.to_school != t.school_id
          and not _allowed(data, (t.school_id, t.stage), (m.to_school, t.stage))):
        errs.append(f"{t.id}: {t.school_id} -> {m.to_school} breaks the direction rule")
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
