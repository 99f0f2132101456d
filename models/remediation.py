r"""Least-cost remediation (达标整改测算): which actions, per school and stage part, make
every in-scope school part and the county pass the A indicators that resources can fix.

Pure model: plain frozen data in (:class:`RemediationProblem`), a frozen
:class:`RemediationResult` out, ``solve(problem, params) -> RemediationResult``. It does
not import ``planner``. Every number of the standard (thresholds, CV limits, class and
school sizes, classes per room, quota and funds ratios, training hours and shares) comes
in :class:`Limits`, every unit cost in :class:`UnitCosts`; none is written here.

Symbols
-------
``h`` school, ``p = (h, s)`` a part (school, stage ``s`` ∈ primary, junior) with pupils;
``I_s`` the in-scope parts of stage ``s`` (indicators 1–7); ``a = (h → h', s)`` a move
option; ``t`` a teacher.  Data: ``P⁰_p`` pupils, ``C_p`` classes, ``M_p`` largest class,
``q_p, b_p, e_p`` qualified, backbone, PE/art teachers, ``n_p`` teachers; ``R⁰_hj`` the
school's resource of indicator ``j`` (4 floor area, 5 sports area, 6 equipment value,
7 multimedia rooms); ``w_p`` the facility weight of the part's stage at that school
and ``E_h`` the school's weighted senior pupils; ``f_js`` the floor, ``m_j`` the
multiplier (per hundred pupils, or 1), ``c_s`` the CV limit, ``L_s`` the largest class,
``K`` classes per music (art) room, ``r_s`` pupils per staff post, ``g_s`` public funds
per pupil, ``τ`` the training-funds share, ``H`` the training hours.

Decisions (integer where the world is)
--------------------------------------
``x_hj ≥ 0``: floor area and sports area in whole ``params.area_step`` m² (integer
multiples; continuous when the step is 0), equipment value in yuan (continuous), multimedia
rooms integer.  ``u_p, v_p ∈ Z₊``: hired qualified teachers and hired PE/art teachers;
``d_p ∈ Z₊``: teachers developed into county-level backbone teachers; ``k_p ∈ Z₊``: new
classes; ``o_h ∈ Z₊``: new classrooms; ``β_h, γ_h ∈ Z₊``: music and art rooms built
(each of the required area); ``n_a ∈ Z₊``: pupils moved along option ``a``;
``y_t, κ_t, z_t ∈ {0, 1}``: train teacher ``t`` the hours short, certify, replace;
``φ_h, ψ_h ≥ 0``: public funds and training funds raised (yuan a year).

Affine quantities::

    P_p  = P⁰_p + Σ_{a into p} n_a − Σ_{a out of p} n_a
    W_h  = Σ_{p ∈ h} w_p P_p + E_h                       (weighted enrolment)
    T_p1 = q_p + u_p + v_p + Σ_{t ∈ p} z_t (1 − q_t)     T_p2 = b_p + d_p − Σ_{t ∈ p} z_t b_t
    T_p3 = e_p + v_p                                     R_hj = R⁰_hj + x_hj

Constraints
-----------
(1–3 floors)    ``m_k T_pk ≥ f_ks P_p`` for ``p ∈ I_s``.
(4–7 floors)    ``m_j w_p R_hj ≥ f_js W_h``: the part's value is ``m_j w_p R_hj / W_h``
                (its share ``w_p P_p / W_h`` of the school's resource, per pupil), so the
                weighted split is linear even when pupils move.
(county)        ``m_k Σ_{I_s} T_pk ≥ f_ks P_s`` and ``m_j Σ_h σ_hs R_hj ≥ f_js P_s`` with
                ``σ_hs = w_s P_hs / W_h``; ``P_s`` is constant (moves stay in the stage
                and in scope).
(CV)            see *The CV limits* below.
(develop)       ``d_p ≤ n_p − b_p + u_p + v_p + Σ_t z_t b_t``.
(posts, 10)     ``Σ_{p ∈ h} (u_p + v_p) ≤ A_h = max(0, Q_h − staff_h)`` with
                ``Q_h = max(quota_h, ⌈Σ_p P_p / r_s⌉)`` where indicator 10's quota rule
                applies to the school, else ``quota_h``; no limit when the quota is
                unknown.
(11)            ``K (rooms_h − undersized_h + β_h) ≥ Σ_{p ∈ h} (C_p + k_p)``, music and art.
(12)            ``Σ_{p ∈ h} P_p ≤ size_h``.
(13)            ``L_s (C_p + k_p) ≥ P_p``;  ``o_h ≥ Σ_{p ∈ h} k_p − spare_h`` with
                ``spare_h = max(0, classrooms_h − Σ_p C_p)``.
(10, 14, 15)    ``F_h + φ_h ≥ Σ_p g_s P_p`` (``g`` of indicator 10, or of 15 for a special
                school) and ``F_h + φ_h ≥ F^min_h`` (indicator 14's floor).
(28)            ``Tr_h + ψ_h ≥ τ (F_h + φ_h)``.
(17)            ``#ok + Σ_{t short} (y_t + z_t) ≥ ⌈share · #teachers⌉``, ``y_t + z_t ≤ 1``.
(20)            ``#certified + Σ_{t uncertified} (κ_t + z_t) ≥ ⌈share · #full-time⌉``,
                ``κ_t + z_t ≤ 1``, ``κ_t = 0`` for a teacher who cannot be certified.
(moves)         ``Σ_{a out of p} n_a ≤ P⁰_p − 1``, ``n_a ≤ capacity_a``.

Objective: ``min capital + Y · recurring`` where capital (one-off) is building, sports
ground, equipment, rooms, classrooms, backbone development, training hours and
certification, and recurring (yuan a year) is hires and replacements, funds raised and
pupil moves; ``Y = params.recurring_years``.  Tie-breaks, part of the objective and of
the gap but of no reported cost: ``1e-6`` of the hire cost per PE/art hire (it costs as
much as a qualified hire, so PE/art hires go only where indicator 3 needs them) and
0.01 yuan per new class, per moved pupil and per unit of a resource whose unit cost is
0 (no decision without a cost is left arbitrary).

The CV limits
-------------
For indicator ``j`` and stage ``s``, with ``X_p = m T_p / P_p``, ``X̄ = m ΣT / P`` and
weights ``ω_p = P_p/P``: ``CV = S / X̄``, ``S = sqrt(Σ_p ω_p (X_p − X̄)²)``.  With the
enrolment fixed, ``S`` is the norm of a linear map of the resources and ``X̄`` is linear:
``S ≤ c X̄`` is a second-order cone.  It is written with a free centre ``μ`` (exact: the
weighted mean minimises ``Σ ω_p (X_p − μ)²``) and disaggregated (Vielma, Dunning,
Huchette & Lubin 2017, "Extended formulations in mixed integer conic quadratic
programming")::

    t = c X̄,    Σ_p r_p ≤ t,    r_p ≥ g_p² / t,    g_p = sqrt(ω_p) (X_p − μ)

and each 3-dimensional cone ``r_p t ≥ g_p²`` is enforced by outer approximation: solve
the MILP, compute the true CV of the plan (rounded as it is reported), and for every
``(indicator, stage)`` above its limit add, for every part it separates, the tangent cut
``r_p ≥ 2α g_p − α² t`` with ``α = g_p^k / t^k`` (valid for every ``t > 0`` since
``(g − α t)² ≥ 0``; linear in the decisions).  The cone is created the first time a
stage's CV is above its limit.  The loop stops when every unrounded CV is ≤ ``c`` with
the indicator engine's tolerance (``1e-9`` relative); the cuts aim at ``c' = c·(1 −
params.cv_tol)`` so that the loop ends after finitely many rounds even where resources
are continuous (the margin grows by 8× should solver tolerances eat it).  Those
constraints are slightly stronger than valid; once the plan passes, the MILP is solved
once more with ``t = c X̄`` (every cut valid): that solve's bound is the proven lower
bound of the result and ``gap = (objective − bound) / objective``.  Intermediate rounds
are solved to a MIP gap of 1e-3 (they only need a point to cut); the round that passes
is solved again, and the bound solved, each at half ``params.gap`` (so that the two
together can meet it).

Pupil moves
-----------
When pupils move, the part enrolments change and the CV is not convex in the joint
variables (``S`` is then homogeneous of degree ½ in resources and pupils together).
Treatment, in up to three phases; every constraint except the CV is exact and linear in
the joint variables throughout, but for two relaxations in phases 1 and 3: a county value
of 4–7 counts a two-stage school whose weighted enrolment can change with the part's
largest possible share, and the posts ``A_h`` of a school that sends or receives pupils
are taken at its largest possible enrolment.

1. *Range relaxation, moves free.*  For a stage with parts whose value can change with
   the moves (set ``D``; the rest ``F``), the cone keeps the terms of ``F`` and bounds a
   term of ``D`` below by ``ω_p^lo dist(μ, [X_p^lo, X_p^hi])²`` (the part's value over
   its enrolment range, linear in its resource; the distance is convex), with ``X̄^hi``
   (largest shares) in ``t``.  ``μ = X̄`` shows every feasible plan satisfies it, so its
   optimum is a lower bound.  A sender's range is capped by its size limit (every plan
   meets 12).  If the plan passes the exact check (every CV, county value and post at its
   own enrolment), it is optimal; otherwise this stage is refined only to 1e-3.
2. *Moves fixed.*  The exact model on the enrolment after the relaxation's moves (no
   move options), with the loop above: optimal among plans with these moves.
3. *Perspective relaxation, moves free*, when phase 2's plan is not within ``params.gap``
   of the bound.  Since ``P = Σ P_p`` is constant, ``CV ≤ c`` ⇔ ::

       Σ_p (m²/P) T_p² / P_p  ≤  (1 + c²) X̄²

   The left side is a sum of perspectives, jointly convex in resources and pupils: its
   tangent cuts ``r_p ≥ (m²/P)(2α T_p − α² P_p)`` (``α = T_p^k / P_p^k``, exact along the
   whole ray of that value) are valid for every enrolment.  The right side is the one
   nonconvex piece, a function of the scalar ``X̄``: it is over-estimated by the
   piecewise-linear interpolation of ``X̄²`` with segment binaries (the λ formulation)
   on ``[X̄^lo, X̄^hi]``, ``X̄^hi`` what phase 2's cost can buy at the least unit cost
   (no cheaper plan buys more), refined by a breakpoint wherever a solution uses the
   interpolation's slack.  Every part is seeded with tangents on a geometric grid of
   values (ratio 1.15) spanning today's and phase 2's values and at 0.96–1.04 times its
   own values there; breakpoints start around phase 2's county value.
   A two-stage school whose weighted enrolment ``W_h`` changes
   keeps a bound: its term is ``(m² w_p/P)·share_p·R²/W_h`` with ``R²/W_h`` a perspective
   (exact in ``W_h``) and ``share_p`` at its least.  The relaxation is therefore exact
   up to the breakpoints for the teacher indicators 1–3 always, and for 4–7 whenever the
   schools that send or receive pupils are single-stage schools; the phase's plan, if it
   passes the exact check, is optimal within its gap; otherwise its moves are fixed as
   in phase 2 (and a gap may remain: it is reported).

The result is the best plan found, with the best proven bound (phase 1's or phase 3's):
``status`` is ``optimal`` only when the gap to that bound is within ``params.gap``;
``moves_fixed`` and ``messages`` (``moves_fixed``, ``phase_3``) say which phases ran.

Infeasibility
-------------
Only two limits can make a plan impossible: the staff posts (hires outside the quota,
编外, are the veto 长期聘用编外教师 and not an action) and the school size (too few
receivers with room).  When the MILP is infeasible, the model is solved again with an
integer slack on each of them, the total slack minimised first (with the CV loop), then
the cost with that slack pinned: the result has status ``infeasible``, ``closest =
True``, that closest plan and :class:`Shortfall` records (codes and numbers: which
school, which stage and indicator, how many teachers or pupils needed and allowed).

Readings (each a choice of this model)
--------------------------------------
* A hired teacher has the required degree and a certificate; a PE/art hire counts for
  indicators 1 and 3.  Every hired or replacing teacher is trained the ``H`` hours of
  indicator 17 at the programme's cost (action ``train_new_hires``), so the roster
  after the plan still passes 17.
* Replacing an uncertified teacher (indicator 20) is a hire that uses no post: the
  teacher leaves the school's establishment and a certified, qualified teacher of the
  same subject (so PE/art stays PE/art) who is not a backbone teacher comes.
* A new hire may be developed into a backbone teacher (or be recruited as one) at the
  development cost.
* Teachers do not follow moved pupils; funds do not follow them either (a receiver's
  funds requirement rises, a sender's falls).  A part keeps at least one pupil: closing
  a school is the consolidation plan's business.
* The data hold the number of music (art) rooms and the area of the smallest only;
  the problem says how many rooms are below the area (``*_undersized``; from those data
  it can only be 0 or 1).  Such a room is either rebuilt to the area (the cost of a
  room) or retired from use as a music room (no cost); new rooms meet the area.
* Class size: a part whose largest class is above the limit rebalances its classes
  (largest class ``⌈P/C⌉``); otherwise the largest class after is ``max(M_p, ⌈P/C⌉)``
  (new pupils fill the smallest classes).  New classrooms are needed only for new
  classes beyond the spare classrooms; an existing shortage of classrooms is not an
  indicator and is left as it is.
* New classrooms and rooms are not added to the floor area of indicator 4 (a
  conservative reading: the building action alone changes it).
* The quota is raised (an administrative action without cost, listed) exactly to
  indicator 10's requirement ``⌈Σ P / r⌉`` where that rule applies, never beyond; posts
  are per school (no county pool).  Schools whose posts are all used by the plan are
  listed as binding in :attr:`RemediationResult.quota` (vacant posts left are listed
  too: 有编不补 is a veto).
* Training funds raised are new money (yuan a year), as is public funds raised.
* New classes are the least the pupils need (``⌈P/L⌉ − C``): more never helps.
* For a training or certification share below 1, new teachers are not counted in the
  share's base (conservative); at the Hunan share of 1 every teacher must meet it.
* Areas are decided in whole ``params.area_step`` m², so the optimum and its bound are
  over such plans; money (equipment, funds) is decided in yuan and rounded up to
  ``params.money_step`` before it is checked and reported (at most one step per action,
  counted in the reported gap).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache

import pulp  # type: ignore[import-untyped]

from models import mip
from models.mip import SolveInfo
from models.status import Status

__all__ = [
    "ACTIONS",
    "COST_KEYS",
    "REASON_CODES",
    "STAGES",
    "Action",
    "ActionKind",
    "CountyFigures",
    "Evaluation",
    "Limits",
    "MoveOption",
    "Part",
    "PartFigures",
    "QuotaUse",
    "RemediationProblem",
    "RemediationResult",
    "RemediationSettings",
    "School",
    "Shortfall",
    "Teacher",
    "UnitCosts",
    "Violation",
    "evaluate",
    "solve",
]

STAGES = ("primary", "junior")
TEACHER_INDICATORS = (1, 2, 3)
FACILITY_INDICATORS = (4, 5, 6, 7)
PER_PUPIL = TEACHER_INDICATORS + FACILITY_INDICATORS
# indicator ids of the standard's table (numbers of rows, not thresholds)
I_QUOTA, I_ROOMS, I_SIZE, I_CLASS, I_SMALL, I_SPECIAL, I_HOURS, I_CERT, I_TFUNDS = (
    10, 11, 12, 13, 14, 15, 17, 20, 28)  # not-a-rule: indicator ids
FACILITY_FIELD = {4: "building_area_m2", 5: "sports_area_m2", 6: "equipment_yuan",
                  7: "multimedia_rooms"}
COST_KEYS = ("building_m2", "sports_m2", "equipment_yuan", "multimedia_room", "music_room",
             "art_room", "classroom", "teacher_hire_per_year", "backbone_development",
             "training_hour", "certification")
RTOL = 1e-9          # the indicator engine's tolerance on thresholds and CV limits
_TIE = 1e-6          # PE/art hire tie-break, share of the hire cost
_TIE_UNIT = 1e-2     # yuan per unit of a decision without a cost of its own (classes, ...)
_INT_TOL = 1e-6


# =========================================================================== inputs
@dataclass(frozen=True)
class Limits:
    """Every number of the standard the model applies (the adapter fills it from the
    standard; nothing here has a default).

    ``floors[j][stage]`` threshold of indicator ``j`` in 1–7 (value units);
    ``multipliers[j]`` the "per hundred pupils" factor, else 1; ``cv_limit[stage]`` inclusive;
    ``classes_per_room`` (11); ``max_class[stage]`` (13); ``pupils_per_quota[stage]``
    and ``funds_per_pupil_yuan[stage]`` (10); ``special_funds_per_pupil_yuan`` (15);
    ``training_min_hours`` and ``training_min_share`` (17); ``certification_min_share``
    (20); ``training_funds_share`` (28).
    """

    floors: Mapping[int, Mapping[str, float]]
    multipliers: Mapping[int, float]
    cv_limit: Mapping[str, float]
    classes_per_room: int
    max_class: Mapping[str, int]
    pupils_per_quota: Mapping[str, float]
    funds_per_pupil_yuan: Mapping[str, float]
    special_funds_per_pupil_yuan: float
    training_min_hours: float
    training_min_share: float
    certification_min_share: float
    training_funds_share: float


@dataclass(frozen=True)
class UnitCosts:
    """Yuan per unit, the cost table keys (:data:`COST_KEYS`); no defaults here."""

    building_m2: float
    sports_m2: float
    equipment_yuan: float
    multimedia_room: float
    music_room: float
    art_room: float
    classroom: float
    teacher_hire_per_year: float
    backbone_development: float
    training_hour: float
    certification: float


@dataclass(frozen=True)
class School:
    """A school's facts (school-level resources are split between its parts).

    ``senior_weighted_pupils``: weight × senior pupils (twelve-year, complete middle
    schools), part of the weighted enrolment ``W_h``.  ``size_limit``: indicator 12
    (``None``: not assessed).  ``class_rule``: indicator 13 applies.  ``rooms_rule``:
    indicator 11 applies; ``*_undersized`` rooms are below the area.  ``staff_quota``
    (``None``: no quota limit on hiring), ``staff`` the head count on it today,
    ``quota_rule``: indicator 10's quota requirement applies.  ``funds_rule``:
    ``"standard"`` (10), ``"special"`` (15) or ``None``; ``funds_min_yuan``:
    indicator 14's floor.  ``training_funds_rule``: indicator 28 applies.
    """

    id: str
    building_area_m2: float = 0.0
    sports_area_m2: float = 0.0
    equipment_yuan: float = 0.0
    multimedia_rooms: int = 0
    classrooms: int = 0
    senior_weighted_pupils: float = 0.0
    size_limit: int | None = None
    class_rule: bool = True
    rooms_rule: bool = False
    music_rooms: int = 0
    music_rooms_undersized: int = 0
    art_rooms: int = 0
    art_rooms_undersized: int = 0
    staff_quota: int | None = None
    staff: int = 0
    quota_rule: bool = False
    funds_rule: str | None = None
    public_funds_yuan: float | None = None
    funds_min_yuan: float = 0.0
    training_funds_rule: bool = False
    training_funds_yuan: float | None = None


@dataclass(frozen=True)
class Part:
    """One stage of a school: pupils, classes and teacher counts (the counts of
    indicators 1–3 as the indicator engine counts them), the facility weight of its
    stage at this school (1 for a single-stage school) and whether indicators 1–7
    assess it (``in_scope``)."""

    school_id: str
    stage: str
    pupils: int
    classes: int = 0
    max_class: int = 0
    qualified: int = 0
    backbone: int = 0
    pe_art: int = 0
    teachers: int = 0
    facility_weight: float = 1.0
    in_scope: bool = True


@dataclass(frozen=True)
class Teacher:
    """A rostered teacher (indicators 17 and 20; flags for a replacement's effect on 1–3).
    ``training_hours`` ``None``: none recorded (counted as 0)."""

    id: str
    school_id: str
    stage: str
    training_hours: float | None = None
    certified: bool = True
    full_time: bool = True
    qualified: bool = False
    backbone: bool = False
    pe_art: bool = False
    certifiable: bool = True


@dataclass(frozen=True)
class MoveOption:
    """Pupils of ``stage`` may move from ``from_school`` to ``to_school`` (a neighbour
    with room, e.g. through its catchment) at ``cost_per_pupil_yuan`` a year (e.g. the
    bus), at most ``max_pupils`` (``None``: no limit of its own)."""

    from_school: str
    to_school: str
    stage: str
    cost_per_pupil_yuan: float
    max_pupils: int | None = None


@dataclass(frozen=True)
class RemediationProblem:
    schools: Sequence[School]
    parts: Sequence[Part]
    teachers: Sequence[Teacher]
    costs: UnitCosts
    limits: Limits
    moves: Sequence[MoveOption] = ()


@dataclass(frozen=True)
class RemediationSettings:
    """How the model is solved.

    ``time_limit`` seconds for the whole solve (``None``: none); ``gap`` the relative
    MIP gap, also the gap within which a result is called optimal; ``cv_tol`` the
    relative margin the CV cuts aim below the limit; ``max_rounds`` outer-approximation
    rounds per phase; ``recurring_years`` the weight of one year's recurring cost
    against one-off cost in the objective; ``area_step`` (m²) and ``money_step`` (yuan)
    the units continuous quantities are rounded up to (0: not rounded).
    """

    solver: str = "highs"
    time_limit: float | None = None
    gap: float = 1e-4
    cv_tol: float = 1e-6
    max_rounds: int = 200
    recurring_years: float = 1.0
    area_step: float = 1.0
    money_step: float = 1.0


# =========================================================================== outputs
@dataclass(frozen=True)
class ActionKind:
    """What an action changes: the district data ``column`` (``{stage}`` filled in),
    its ``unit``, the cost-table key of its unit cost (``"yuan"``: 1 yuan a yuan;
    ``"move"``: the option's cost; ``None``: no cost), whether it recurs every year,
    and the indicator whose cost it carries by default."""

    column: str
    unit: str
    cost_key: str | None
    recurring: bool
    indicator: int


ACTIONS: dict[str, ActionKind] = {
    "build_floor_area": ActionKind("building_area_m2", "m2", "building_m2", False, 4),
    "build_sports_area": ActionKind("sports_area_m2", "m2", "sports_m2", False, 5),
    "buy_equipment": ActionKind("equipment_yuan", "yuan", "equipment_yuan", False, 6),
    "equip_multimedia_rooms": ActionKind("multimedia_rooms", "room", "multimedia_room",
                                         False, 7),
    "build_music_rooms": ActionKind("music_rooms", "room", "music_room", False, I_ROOMS),
    "rebuild_music_rooms": ActionKind("music_room_min_m2", "room", "music_room", False, I_ROOMS),
    "retire_music_rooms": ActionKind("music_rooms", "room", None, False, I_ROOMS),
    "build_art_rooms": ActionKind("art_rooms", "room", "art_room", False, I_ROOMS),
    "rebuild_art_rooms": ActionKind("art_room_min_m2", "room", "art_room", False, I_ROOMS),
    "retire_art_rooms": ActionKind("art_rooms", "room", None, False, I_ROOMS),
    "add_classrooms": ActionKind("classrooms", "classroom", "classroom", False, I_CLASS),
    "add_classes": ActionKind("classes_{stage}", "class", None, False, I_CLASS),
    "rebalance_classes": ActionKind("max_class_{stage}", "class", None, False, I_CLASS),
    "hire_qualified": ActionKind("teachers", "teacher", "teacher_hire_per_year", True, 1),
    "hire_pe_art": ActionKind("teachers", "teacher", "teacher_hire_per_year", True, 3),
    "train_new_hires": ActionKind("teachers", "hour", "training_hour", False, I_HOURS),
    "develop_backbone": ActionKind("teachers", "teacher", "backbone_development", False, 2),
    "train_teacher": ActionKind("teachers", "hour", "training_hour", False, I_HOURS),
    "certify_teacher": ActionKind("teachers", "teacher", "certification", False, I_CERT),
    "replace_teacher": ActionKind("teachers", "teacher", "teacher_hire_per_year", True, I_CERT),
    "raise_staff_quota": ActionKind("staff_quota", "post", None, False, I_QUOTA),
    "raise_public_funds": ActionKind("public_funds_yuan", "yuan", "yuan", True, I_QUOTA),
    "raise_training_funds": ActionKind("training_funds_yuan", "yuan", "yuan", True, I_TFUNDS),
    "move_pupils": ActionKind("students_{stage}", "pupil", "move", True, I_SIZE),
}

#: reason codes of actions (the adapter words them): ``floor`` a part is below the
#: indicator's floor; ``county`` the county value is below it; ``cv`` the CV is above its
#: limit; ``receives_pupils`` the school receives moved pupils; ``rule`` the indicator's
#: own requirement (10, 11, 13, 14, 15, 17, 20, 28); ``school_size`` the sender is above
#: its size limit; ``cheaper_than_building`` moving costs less than building;
#: ``new_hires`` training of the new teachers; ``not_certifiable`` the replaced teacher
#: cannot be certified; ``replacement`` replacing costs less than a certificate and a hire
REASON_CODES: tuple[str, ...] = (
    "floor", "county", "cv", "receives_pupils", "rule", "school_size",
    "cheaper_than_building", "new_hires", "not_certifiable", "replacement")


@dataclass(frozen=True)
class Action:
    """One action of the plan (a row of ``remediation.csv``).

    ``stage`` is ``""`` for a school-level action; ``teacher_ids`` names the teachers of
    an action on named teachers; ``to_school_id`` the receiver of a move (the action's
    school is the sender); ``value_after`` the new value of a column an action sets
    (quota after, largest class after).  ``cost_yuan = quantity · unit_cost_yuan``;
    recurring costs are yuan a year.
    """

    kind: str
    school_id: str
    stage: str
    indicator: int
    column: str
    quantity: float
    unit: str
    unit_cost_yuan: float
    cost_yuan: float
    recurring: bool
    reason: str
    teacher_ids: tuple[str, ...] = ()
    to_school_id: str = ""
    value_after: float | None = None


@dataclass(frozen=True)
class PartFigures:
    """A part after the actions: pupils, classes, largest class and the values of 1–7
    (``None`` for an out-of-scope part)."""

    school_id: str
    stage: str
    pupils: int
    classes: int
    max_class: int
    values: Mapping[int, float | None]


@dataclass(frozen=True)
class CountyFigures:
    indicator: int
    stage: str
    value: float
    threshold: float
    cv: float | None
    cv_limit: float
    passed: bool


@dataclass(frozen=True)
class Violation:
    """A limit a plan (or today's data) breaks: ``code`` (floor, county, cv, rooms,
    undersized_rooms, size, class_size, classrooms, develop, posts, quota, quota_raise,
    funds, training_funds, training_hours, certification, moves), where, the value and
    the limit."""

    code: str
    indicator: int
    school_id: str = ""
    stage: str = ""
    value: float = 0.0
    limit: float = 0.0


@dataclass(frozen=True)
class Evaluation:
    parts: tuple[PartFigures, ...]
    county: tuple[CountyFigures, ...]
    violations: tuple[Violation, ...]

    def county_figures(self, indicator: int, stage: str) -> CountyFigures:
        for c in self.county:
            if c.indicator == indicator and c.stage == stage:
                return c
        raise KeyError((indicator, stage))

    def part(self, school_id: str, stage: str) -> PartFigures:
        for p in self.parts:
            if p.school_id == school_id and p.stage == stage:
                return p
        raise KeyError((school_id, stage))


@dataclass(frozen=True)
class Shortfall:
    """Why no plan meets every limit (closest plan): ``code``

    - ``staff_quota``: at ``school_id``/``stage`` the floor of ``indicator`` needs
      ``needed`` more teachers but the school's posts allow ``allowed``;
    - ``staff_quota_cv``: the school's floors fit its posts, but the CV limit of
      ``indicator`` needs ``needed`` teachers there (``allowed`` posts);
    - ``school_size``: the school must send ``needed`` pupils, its receivers take
      ``allowed``.
    """

    code: str
    school_id: str
    stage: str
    indicator: int
    needed: int
    allowed: int


@dataclass(frozen=True)
class QuotaUse:
    """Staff posts of a school that hires or is short of teachers: ``posts`` free before
    hiring (after the quota raise), ``hires``; ``binding`` when the plan uses every post
    (relaxing the quota might make the plan cheaper); ``vacant_after`` posts left empty
    (有编不补)."""

    school_id: str
    quota: int
    quota_after: int
    staff: int
    posts: int
    hires: int
    binding: bool
    vacant_after: int


@dataclass(frozen=True)
class RemediationResult:
    """The plan and its figures.

    ``status``: ``optimal`` (cost within ``gap`` of the proven ``lower_bound``),
    ``feasible`` (a plan, not proven: time limit, or fixed moves with a larger gap),
    ``infeasible`` (``closest`` plan and ``shortfalls``), ``no_plan_in_time``, ``error``.
    ``total_cost_yuan = capital_yuan + recurring_yuan_per_year`` (one year), the sum of
    the actions' costs; ``objective`` = capital + ``recurring_years`` × recurring (+ the
    tie-breaks); ``lower_bound`` the proven bound of ``objective``.
    ``before``/``after``: the exact figures of today and of the plan.  ``messages`` are
    codes: ``moves_fixed`` (phase 2 ran), ``phase_3``, ``max_rounds`` / ``time_limit``
    (the CV loop stopped there, no plan).
    """

    status: Status
    closest: bool
    actions: tuple[Action, ...]
    total_cost_yuan: float
    capital_yuan: float
    recurring_yuan_per_year: float
    objective: float
    lower_bound: float | None
    gap: float | None
    cost_by_indicator: Mapping[int, float]
    cost_by_school: Mapping[str, float]
    before: Evaluation
    after: Evaluation
    shortfalls: tuple[Shortfall, ...]
    quota: tuple[QuotaUse, ...]
    moves_fixed: bool
    rounds: int
    cuts: int
    solves: tuple[SolveInfo, ...]
    seconds: float
    solver: str
    messages: tuple[str, ...] = ()


# =========================================================================== helpers
@lru_cache(maxsize=256)
def _frac(x: float) -> Fraction:
    return Fraction(str(x))


def _ceil_frac(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _ceil_step(x: float, step: float) -> float:
    """``x`` rounded up to a multiple of ``step`` (solver noise below 1e-6 of a step is
    dropped); ``step`` 0 keeps ``x``."""
    if x <= 0:
        return 0.0
    if step <= 0:
        return float(x)
    k = math.ceil(x / step - _INT_TOL)
    return float(max(k, 0) * step)


def _ge(value: float, threshold: float) -> bool:
    return value >= threshold * (1 - RTOL) - 1e-12


def _le(value: float, limit: float) -> bool:
    return value <= limit * (1 + RTOL) + 1e-12


def _need_quota(limits: Limits, pupils: Mapping[str, int]) -> Fraction:
    return sum((Fraction(int(n)) / _frac(limits.pupils_per_quota[s])
                for s, n in pupils.items() if n > 0), Fraction(0))


def _funds_need(limits: Limits, school: School, pupils: Mapping[str, int]) -> float:
    if school.funds_rule == "special":
        need = limits.special_funds_per_pupil_yuan * sum(pupils.values())
    elif school.funds_rule == "standard":
        need = sum(limits.funds_per_pupil_yuan[s] * n for s, n in pupils.items())
    else:
        need = 0.0
    return max(float(need), float(school.funds_min_yuan))


def _quota_after(limits: Limits, school: School, pupils: Mapping[str, int]) -> int:
    """The quota after indicator 10's raise (never beyond its requirement); the school's
    quota must be known."""
    assert school.staff_quota is not None
    q = int(school.staff_quota)
    if school.quota_rule:
        q = max(q, _ceil_frac(_need_quota(limits, pupils)))
    return q


def _posts(limits: Limits, school: School, pupils: Mapping[str, int]) -> int | None:
    """Free posts after the raise (``None``: no quota known, no limit)."""
    if school.staff_quota is None:
        return None
    return max(0, _quota_after(limits, school, pupils) - int(school.staff))


def _cv_of(weights: Sequence[float], values: Sequence[float], mean: float) -> float:
    if mean <= 0:
        return float("nan")
    s2 = sum(w * (x - mean) ** 2 for w, x in zip(weights, values))
    return math.sqrt(max(s2, 0.0)) / mean


# =========================================================================== validation
def _validate(problem: RemediationProblem) -> None:
    lim = problem.limits
    for j in PER_PUPIL:
        if j not in lim.floors or j not in lim.multipliers:
            raise ValueError(f"limits: indicator {j} needs a floor and a multiplier")
        for s in STAGES:
            if s not in lim.floors[j]:
                raise ValueError(f"limits: indicator {j} has no floor for {s}")
        if not lim.multipliers[j] > 0:
            raise ValueError(f"limits: multiplier of indicator {j} must be positive")
    for name in ("cv_limit", "max_class", "pupils_per_quota", "funds_per_pupil_yuan"):
        m = getattr(lim, name)
        for s in STAGES:
            if s not in m:
                raise ValueError(f"limits.{name} has no value for {s}")
    if lim.classes_per_room <= 0 or any(lim.max_class[s] <= 0 for s in STAGES):
        raise ValueError("limits: classes per room and class sizes must be positive")
    if any(lim.pupils_per_quota[s] <= 0 for s in STAGES):
        raise ValueError("limits: pupils per staff post must be positive")
    for name in ("training_min_share", "certification_min_share", "training_funds_share"):
        v = getattr(lim, name)
        if not 0 <= v <= 1:
            raise ValueError(f"limits.{name} must be between 0 and 1")
    for k in COST_KEYS:
        v = getattr(problem.costs, k)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"cost {k} must be a non-negative number")
    ids = [h.id for h in problem.schools]
    if len(set(ids)) != len(ids):
        raise ValueError("school ids must be unique")
    schools = {h.id: h for h in problem.schools}
    for h in problem.schools:
        for f in ("building_area_m2", "sports_area_m2", "equipment_yuan",
                  "senior_weighted_pupils", "funds_min_yuan"):
            v = getattr(h, f)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"school {h.id}: {f} must be a non-negative number")
        for kind in ("music", "art"):
            if not 0 <= getattr(h, f"{kind}_rooms_undersized") <= getattr(h, f"{kind}_rooms"):
                raise ValueError(f"school {h.id}: {kind}_rooms_undersized must be between 0 "
                                 f"and {kind}_rooms")
        if h.funds_rule not in (None, "standard", "special"):
            raise ValueError(f"school {h.id}: funds_rule must be standard, special or None")
    keys = set()
    for p in problem.parts:
        key = (p.school_id, p.stage)
        if p.school_id not in schools:
            raise ValueError(f"part {key}: unknown school")
        if p.stage not in STAGES:
            raise ValueError(f"part {key}: stage must be primary or junior")
        if key in keys:
            raise ValueError(f"part {key} is given twice")
        keys.add(key)
        if p.pupils < 0 or p.classes < 0 or p.max_class < 0 or p.facility_weight <= 0:
            raise ValueError(f"part {key}: negative pupils or classes, or weight not positive")
        if min(p.qualified, p.backbone, p.pe_art) < 0 or p.backbone > p.teachers:
            raise ValueError(f"part {key}: teacher counts must be non-negative and backbone "
                             "teachers at most the teachers")
    tids = [t.id for t in problem.teachers]
    if len(set(tids)) != len(tids):
        raise ValueError("teacher ids must be unique")
    for t in problem.teachers:
        if t.school_id not in schools:
            raise ValueError(f"teacher {t.id}: unknown school {t.school_id!r}")
    part_of = {(p.school_id, p.stage): p for p in problem.parts}
    seen = set()
    for a in problem.moves:
        arc = (a.from_school, a.to_school, a.stage)
        if arc in seen:
            raise ValueError(f"move option {arc} is given twice")
        seen.add(arc)
        if a.from_school == a.to_school:
            raise ValueError(f"move option {arc}: a school cannot send pupils to itself")
        src, dst = part_of.get((a.from_school, a.stage)), part_of.get((a.to_school, a.stage))
        if src is None or dst is None or src.pupils <= 0 or dst.pupils <= 0:
            raise ValueError(f"move option {arc}: both schools must teach {a.stage} with pupils")
        if src.in_scope != dst.in_scope:
            raise ValueError(f"move option {arc}: both parts must be in (or out of) the scope "
                             "of indicators 1-7")
        if schools[a.from_school].funds_min_yuan > 0 or schools[a.to_school].funds_min_yuan > 0:
            raise ValueError(f"move option {arc}: a school with indicator 14's floor takes no "
                             "part in moves")
        if not (math.isfinite(a.cost_per_pupil_yuan) and a.cost_per_pupil_yuan >= 0):
            raise ValueError(f"move option {arc}: the cost must be a non-negative number")
        if a.max_pupils is not None and a.max_pupils < 0:
            raise ValueError(f"move option {arc}: max_pupils must be non-negative")


# =========================================================================== prepared data
@dataclass
class _Data:
    problem: RemediationProblem
    closest: bool
    schools: dict[str, School]
    sids: list[str]
    parts: dict[tuple[str, str], Part]
    pkeys: list[tuple[str, str]]
    parts_of: dict[str, list[tuple[str, str]]]
    scope: dict[str, list[tuple[str, str]]]       # in-scope parts with pupils, per stage
    stage_pupils: dict[str, int]
    teachers: list[Teacher]
    teachers_of: dict[tuple[str, str], list[Teacher]]
    arcs: list[MoveOption]
    cap: list[int]
    arcs_in: dict[tuple[str, str], list[int]]
    arcs_out: dict[tuple[str, str], list[int]]
    p_lo: dict[tuple[str, str], int]
    p_hi: dict[tuple[str, str], int]
    w0: dict[str, float]
    w_lo: dict[str, float]
    w_hi: dict[str, float]
    touched: set[str]                             # schools that send or receive
    posts: dict[str, int | None]                  # at the largest enrolment for touched
    short: dict[str, int]                         # 17: hours short, per teacher
    uncert: list[str]                             # full-time uncertified teachers


def _prepare(problem: RemediationProblem, closest: bool = False) -> _Data:
    _validate(problem)
    schools = {h.id: h for h in sorted(problem.schools, key=lambda h: h.id)}
    parts = {(p.school_id, p.stage): p
             for p in sorted(problem.parts, key=lambda p: (p.school_id, STAGES.index(p.stage)))}
    pkeys = list(parts)
    parts_of: dict[str, list] = {h: [] for h in schools}
    for k in pkeys:
        parts_of[k[0]].append(k)
    scope = {s: [k for k in pkeys if k[1] == s and parts[k].in_scope and parts[k].pupils > 0]
             for s in STAGES}
    teachers = sorted(problem.teachers, key=lambda t: t.id)
    teachers_of: dict[tuple[str, str], list[Teacher]] = {}
    for t in teachers:
        teachers_of.setdefault((t.school_id, t.stage), []).append(t)
    arcs = sorted(problem.moves, key=lambda a: (a.from_school, a.to_school,
                                                STAGES.index(a.stage)))
    cap: list[int] = []
    arcs_in: dict[tuple[str, str], list[int]] = {k: [] for k in pkeys}
    arcs_out: dict[tuple[str, str], list[int]] = {k: [] for k in pkeys}
    for i, a in enumerate(arcs):
        src = (a.from_school, a.stage)
        c = parts[src].pupils - 1
        if a.max_pupils is not None:
            c = min(c, int(a.max_pupils))
        cap.append(max(0, c))
        arcs_out[src].append(i)
        arcs_in[(a.to_school, a.stage)].append(i)
    p_lo = {k: max(min(1, parts[k].pupils),
                   parts[k].pupils - sum(cap[i] for i in arcs_out[k])) for k in pkeys}
    p_hi = {k: parts[k].pupils + sum(cap[i] for i in arcs_in[k]) for k in pkeys}
    if not closest:       # a plan meets the size limit, which bounds a receiver
        for h, ks in parts_of.items():
            lim = schools[h].size_limit
            if lim is None:
                continue
            for k in ks:
                room = lim - sum(p_lo[q] for q in ks if q != k)
                p_hi[k] = max(p_lo[k], min(p_hi[k], room))
    touched = {a.from_school for a in arcs} | {a.to_school for a in arcs}

    def weighted(h, pupils):
        return sum(parts[k].facility_weight * pupils[k] for k in parts_of[h]) + \
            schools[h].senior_weighted_pupils

    p0 = {k: parts[k].pupils for k in pkeys}
    w0 = {h: weighted(h, p0) for h in schools}
    w_lo = {h: weighted(h, p_lo) for h in schools}
    w_hi = {h: weighted(h, p_hi) for h in schools}
    posts = {}
    for h, sch in schools.items():
        pupils = {k[1]: (p_hi[k] if h in touched else p0[k]) for k in parts_of[h]}
        posts[h] = _posts(problem.limits, sch, pupils)
    hmin = problem.limits.training_min_hours
    short = {}
    for t in teachers:
        hours = 0.0 if t.training_hours is None else float(t.training_hours)
        if not _ge(hours, hmin):
            short[t.id] = max(1, math.ceil(hmin - hours - _INT_TOL))
    uncert = [t.id for t in teachers if t.full_time and not t.certified]
    stage_pupils = {s: sum(parts[k].pupils for k in scope[s]) for s in STAGES}
    return _Data(problem, closest, schools, list(schools), parts, pkeys, parts_of, scope,
                 stage_pupils, teachers, teachers_of, arcs, cap, arcs_in, arcs_out, p_lo,
                 p_hi, w0, w_lo, w_hi, touched, posts, short, uncert)


# =========================================================================== evaluation
@dataclass
class _State:
    """The district after a list of actions (everything the limits read)."""

    pupils: dict
    classes: dict
    max_class: dict
    counts: dict               # part -> [qualified, backbone, pe_art]
    pool: dict                 # part -> non-backbone teachers (development limit)
    developed: dict
    hires: dict                # school -> hires (posts used)
    new_teachers: dict         # part -> hires + replacements
    new_hours: dict            # part -> training hours given to new teachers
    res: dict                  # school -> {j: resource}
    classrooms: dict
    new_classes: dict          # school -> classes added
    rooms: dict                # (school, kind) -> [count, undersized]
    quota: dict
    funds: dict
    training: dict
    hours: dict                # teacher -> hours (None: replaced)
    certified: dict            # teacher -> bool (None: replaced)
    moved_out: dict


def _apply(problem: RemediationProblem, d: _Data, actions: Iterable[Action]) -> _State:
    parts, schools = d.parts, d.schools
    st = _State(
        pupils={k: p.pupils for k, p in parts.items()},
        classes={k: p.classes for k, p in parts.items()},
        max_class={k: p.max_class for k, p in parts.items()},
        counts={k: [p.qualified, p.backbone, p.pe_art] for k, p in parts.items()},
        pool={k: p.teachers - p.backbone for k, p in parts.items()},
        developed={k: 0 for k in parts},
        hires={h: 0 for h in schools}, new_teachers={k: 0 for k in parts},
        new_hours={k: 0.0 for k in parts},
        res={h: {j: float(getattr(s, FACILITY_FIELD[j])) for j in FACILITY_INDICATORS}
             for h, s in schools.items()},
        classrooms={h: s.classrooms for h, s in schools.items()},
        new_classes={h: 0 for h in schools},
        rooms={(h, kind): [getattr(s, f"{kind}_rooms"), getattr(s, f"{kind}_rooms_undersized")]
               for h, s in schools.items() for kind in ("music", "art")},
        quota={h: s.staff_quota for h, s in schools.items()},
        funds={h: s.public_funds_yuan for h, s in schools.items()},
        training={h: s.training_funds_yuan for h, s in schools.items()},
        hours={t.id: (0.0 if t.training_hours is None else float(t.training_hours))
               for t in d.teachers},
        certified={t.id: bool(t.certified) for t in d.teachers},
        moved_out={k: 0 for k in parts},
    )
    by_id = {t.id: t for t in d.teachers}
    facility_kind = {"build_floor_area": 4, "build_sports_area": 5, "buy_equipment": 6,
                     "equip_multimedia_rooms": 7}
    for a in actions:
        if a.kind not in ACTIONS:
            raise ValueError(f"unknown action kind {a.kind!r}")
        h, key, q = a.school_id, (a.school_id, a.stage), a.quantity
        if h not in schools:
            raise ValueError(f"action {a.kind}: unknown school {h!r}")
        if a.kind in facility_kind:
            st.res[h][facility_kind[a.kind]] += q
        elif a.kind.startswith(("build_music", "build_art")):
            st.rooms[(h, a.kind.split("_")[1])][0] += int(q)
        elif a.kind.startswith(("rebuild_music", "rebuild_art")):
            st.rooms[(h, a.kind.split("_")[1])][1] -= int(q)
        elif a.kind.startswith(("retire_music", "retire_art")):
            r = st.rooms[(h, a.kind.split("_")[1])]
            r[0] -= int(q)
            r[1] -= int(q)
        elif a.kind == "add_classrooms":
            st.classrooms[h] += int(q)
        elif a.kind == "add_classes":
            st.classes[key] += int(q)
            st.new_classes[h] += int(q)
        elif a.kind in ("hire_qualified", "hire_pe_art"):
            st.counts[key][0] += int(q)
            if a.kind == "hire_pe_art":
                st.counts[key][2] += int(q)
            st.pool[key] += int(q)
            st.hires[h] += int(q)
            st.new_teachers[key] += int(q)
        elif a.kind == "train_new_hires":
            st.new_hours[key] += q
        elif a.kind == "develop_backbone":
            st.counts[key][1] += int(q)
            st.pool[key] -= int(q)
            st.developed[key] += int(q)
        elif a.kind == "train_teacher":
            for tid in a.teacher_ids:
                st.hours[tid] += q / len(a.teacher_ids)
        elif a.kind == "certify_teacher":
            for tid in a.teacher_ids:
                st.certified[tid] = True
        elif a.kind == "replace_teacher":
            for tid in a.teacher_ids:
                t = by_id[tid]
                k = (t.school_id, t.stage)
                st.counts[k][0] += 0 if t.qualified else 1
                if t.backbone:
                    st.counts[k][1] -= 1
                    st.pool[k] += 1
                st.new_teachers[k] += 1
                st.hours[tid] = None
                st.certified[tid] = None
        elif a.kind == "raise_staff_quota":
            st.quota[h] = (st.quota[h] or 0) + int(q)
        elif a.kind == "raise_public_funds":
            st.funds[h] = (st.funds[h] or 0.0) + q
        elif a.kind == "raise_training_funds":
            st.training[h] = (st.training[h] or 0.0) + q
        elif a.kind == "move_pupils":
            dst = (a.to_school_id, a.stage)
            st.pupils[key] -= int(q)
            st.pupils[dst] += int(q)
            st.moved_out[key] += int(q)
        elif a.kind == "rebalance_classes":
            pass                  # the largest class follows from pupils and classes
    lim = problem.limits
    for k, p in parts.items():
        cls = st.classes[k]
        if st.pupils[k] <= 0 or cls <= 0:
            continue
        even = -(-st.pupils[k] // cls)
        if p.max_class > lim.max_class[k[1]]:
            st.max_class[k] = even
        else:
            st.max_class[k] = max(p.max_class, even)
    return st


def _values(problem: RemediationProblem, d: _Data, st: _State):
    """Per-part values ``X[(j, part)]`` and per-part resources ``T[(j, part)]`` of 1–7."""
    lim = problem.limits
    X, T = {}, {}
    for h, ks in d.parts_of.items():
        w = sum(d.parts[k].facility_weight * st.pupils[k] for k in ks) + \
            d.schools[h].senior_weighted_pupils
        for k in ks:
            p = d.parts[k]
            n = st.pupils[k]
            if not p.in_scope or n <= 0:
                continue
            for j in TEACHER_INDICATORS:
                T[(j, k)] = float(st.counts[k][j - 1])
                X[(j, k)] = lim.multipliers[j] * T[(j, k)] / n
            for j in FACILITY_INDICATORS:
                share = p.facility_weight * n / w
                T[(j, k)] = share * st.res[h][j]
                X[(j, k)] = lim.multipliers[j] * p.facility_weight * st.res[h][j] / w
    return X, T


def _county(problem: RemediationProblem, d: _Data, st: _State, X, T):
    """``{(j, stage): (county value, CV, weights, values)}`` over the in-scope parts."""
    lim = problem.limits
    out = {}
    for s in STAGES:
        ks = [k for k in d.pkeys if k[1] == s and d.parts[k].in_scope and st.pupils[k] > 0]
        if not ks:
            continue
        total = sum(st.pupils[k] for k in ks)
        wts = [st.pupils[k] / total for k in ks]
        for j in PER_PUPIL:
            mean = lim.multipliers[j] * sum(T[(j, k)] for k in ks) / total
            vals = [X[(j, k)] for k in ks]
            out[(j, s)] = (mean, _cv_of(wts, vals, mean), ks, wts, vals)
    return out


def _evaluate(problem: RemediationProblem, d: _Data, actions: Sequence[Action]):
    st = _apply(problem, d, actions)
    X, T = _values(problem, d, st)
    county = _county(problem, d, st, X, T)
    lim = problem.limits
    viol: list[Violation] = []
    # 1-7
    for k in d.pkeys:
        p = d.parts[k]
        if not p.in_scope or st.pupils[k] <= 0:
            continue
        for j in PER_PUPIL:
            f = lim.floors[j][k[1]]
            if not _ge(X[(j, k)], f):
                viol.append(Violation("floor", j, k[0], k[1], X[(j, k)], f))
    cfig = []
    for (j, s), (mean, cv, _, _, _) in sorted(county.items(), key=lambda x: (x[0][0],
                                                                            STAGES.index(x[0][1]))):
        f, c = lim.floors[j][s], lim.cv_limit[s]
        ok_mean = _ge(mean, f)
        ok_cv = (not math.isnan(cv)) and _le(cv, c)
        if not ok_mean:
            viol.append(Violation("county", j, "", s, mean, f))
        if not ok_cv:
            viol.append(Violation("cv", j, "", s, cv, c))
        cfig.append(CountyFigures(j, s, mean, f, None if math.isnan(cv) else cv, c,
                                  ok_mean and ok_cv))
    # school-level rules
    for h, sch in d.schools.items():
        ks = d.parts_of[h]
        pupils = {k[1]: st.pupils[k] for k in ks}
        classes = sum(st.classes[k] for k in ks)
        if sch.rooms_rule:
            for kind in ("music", "art"):
                cnt, und = st.rooms[(h, kind)]
                if cnt * lim.classes_per_room < classes:
                    viol.append(Violation("rooms", I_ROOMS, h, kind, cnt, classes))
                if und > 0:
                    viol.append(Violation("undersized_rooms", I_ROOMS, h, kind, und, 0))
                if und < 0 or cnt < 0:
                    viol.append(Violation("rooms", I_ROOMS, h, kind, cnt, und))
        if sch.size_limit is not None and sum(pupils.values()) > sch.size_limit:
            viol.append(Violation("size", I_SIZE, h, "", sum(pupils.values()), sch.size_limit))
        if sch.class_rule:
            for k in ks:
                if st.pupils[k] > 0 and st.max_class[k] > lim.max_class[k[1]]:
                    viol.append(Violation("class_size", I_CLASS, h, k[1], st.max_class[k],
                                          lim.max_class[k[1]]))
        spare = max(0, sch.classrooms - sum(d.parts[k].classes for k in ks))
        if st.new_classes[h] > spare + st.classrooms[h] - sch.classrooms:
            viol.append(Violation("classrooms", I_CLASS, h, "", st.new_classes[h],
                                  spare + st.classrooms[h] - sch.classrooms))
        for k in ks:
            if st.developed[k] > 0 and st.pool[k] < 0:
                viol.append(Violation("develop", 2, h, k[1], st.developed[k],
                                      st.developed[k] + st.pool[k]))
        if sch.staff_quota is not None:
            allowed = _quota_after(lim, sch, pupils)
            quota = st.quota[h]
            if sch.quota_rule and quota < _need_quota(lim, pupils):
                viol.append(Violation("quota", I_QUOTA, h, "", quota,
                                      float(_need_quota(lim, pupils))))
            if quota > max(allowed, sch.staff_quota):
                viol.append(Violation("quota_raise", I_QUOTA, h, "", quota, allowed))
            posts = max(0, quota - sch.staff)
            if st.hires[h] > posts:
                viol.append(Violation("posts", I_QUOTA, h, "", st.hires[h], posts))
        if sch.funds_rule is not None or sch.funds_min_yuan > 0:
            need = _funds_need(lim, sch, pupils)
            have = st.funds[h]
            if have is None or not _ge(have, need):
                ind = I_SPECIAL if sch.funds_rule == "special" else I_QUOTA
                viol.append(Violation("funds", ind, h,
                                      "", have or 0.0, need))
        if sch.training_funds_rule and st.funds[h] is not None:
            need = lim.training_funds_share * st.funds[h]
            have = st.training[h] or 0.0
            if not _ge(have, need):
                viol.append(Violation("training_funds", I_TFUNDS, h, "", have, need))
    # training hours and certificates over the roster after the plan (replaced teachers
    # leave, their replacements
    # and every hire arrive)
    hmin = lim.training_min_hours
    n_all = ok17 = 0
    for t in d.teachers:
        if st.hours[t.id] is None:
            continue
        n_all += 1
        ok17 += _ge(st.hours[t.id], hmin)
    for k, n_new in st.new_teachers.items():
        if n_new:
            n_all += n_new
            if _ge(st.new_hours[k] / n_new, hmin):
                ok17 += n_new
    if n_all and ok17 < _ceil_frac(_frac(lim.training_min_share) * n_all):
        viol.append(Violation("training_hours", I_HOURS, "", "", ok17, n_all))
    n_ft = ok20 = 0
    for t in d.teachers:
        if st.certified[t.id] is None or not t.full_time:
            continue
        n_ft += 1
        ok20 += bool(st.certified[t.id])
    new = sum(st.new_teachers.values())
    n_ft += new
    ok20 += new
    if n_ft and ok20 < _ceil_frac(_frac(lim.certification_min_share) * n_ft):
        viol.append(Violation("certification", I_CERT, "", "", ok20, n_ft))
    for k in d.pkeys:
        if d.parts[k].pupils > 0 and st.pupils[k] < 1:
            viol.append(Violation("moves", I_SIZE, k[0], k[1], st.pupils[k], 1))
    pfig = tuple(PartFigures(k[0], k[1], st.pupils[k], st.classes[k], st.max_class[k],
                             {j: X.get((j, k)) for j in PER_PUPIL})
                 for k in d.pkeys if st.pupils[k] > 0)
    return Evaluation(pfig, tuple(cfig), tuple(viol)), st, X, T, county


def evaluate(problem: RemediationProblem, actions: Sequence[Action] = ()) -> Evaluation:
    """The exact figures of ``problem`` after ``actions`` (today with none): every part
    value and county value of 1–7 with the weighted split and the enrolment-weighted CV,
    and every limit broken (:class:`Violation`). Independent of any solver variable."""
    return _evaluate(problem, _prepare(problem), list(actions))[0]


# =========================================================================== the MILP
@dataclass
class _Cone:
    """The disaggregated CV constraint of one (indicator, stage): ``t = c X̄``,
    ``Σ_p r_p ≤ t``, ``r_p ≥ g_p² / t`` (by cuts) with ``g_p = sqrt(P_p/P)(X_p − μ)``."""

    j: int
    stage: str
    mu: pulp.LpVariable
    t: pulp.LpVariable
    r: dict
    tight: float                       # the cuts aim at c·(1 − tight)


@dataclass
class _Persp:
    """Phase 3's CV constraint of one (indicator, stage) whose parts' enrolment can
    change: ``Σ_p r_p ≤ (1 + c²) q``, ``r_p ≥ (m²/P) T_p² / P_p`` (perspective cuts,
    valid for every enrolment), ``q ≤`` the piecewise-linear interpolation of ``X̄²`` at
    ``breaks`` (segment binaries; an over-estimate on ``[breaks[0], breaks[-1]]``)."""

    j: int
    stage: str
    r: dict
    breaks: list
    tight: float
    lam: list = field(default_factory=list)      # weights of the breakpoints
    seg: list = field(default_factory=list)      # segment binaries
    built: tuple = ()                            # the breakpoints lam and seg belong to


class _Model:
    """The MILP of one phase (see the module docstring), without the CV cuts.

    ``persp_ub``: phase 3 — the cost of a known plan; the CV of a stage whose parts'
    enrolment can change is then the perspective formulation (:class:`_Persp`), its
    county value bounded by what that cost can buy."""

    def __init__(self, d: _Data, params: RemediationSettings, persp_ub: float | None = None,
                 incumbent: _State | None = None):
        self.d = d
        self.params = params
        self.persp_ub = persp_ub
        self.incumbent = incumbent                 # phase 3: the plan that gave persp_ub
        self.persps: dict[tuple[int, str], _Persp] = {}
        self.prob = pulp.LpProblem("remediation", pulp.LpMinimize)
        self.cuts: list[pulp.LpAffineExpression] = []       # each ≥ 0
        self.cones: dict[tuple[int, str], _Cone] = {}
        self._means: dict[tuple[int, str], pulp.LpAffineExpression] = {}
        self.static: list[str] = []
        self.pin: float | None = None          # closest plan: slack pinned at this value
        self._n = 0
        self._build()

    # -- variables
    def _var(self, prefix: str, low=0, up=None, cat=pulp.LpContinuous) -> pulp.LpVariable:
        self._n += 1
        name = f"{prefix}_{self._n}"
        if hasattr(self.prob, "add_variable"):
            return self.prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
        return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)  # pragma: no cover

    def _build(self) -> None:
        d, lim, costs, prob = self.d, self.d.problem.limits, self.d.problem.costs, self.prob
        I, C = pulp.LpInteger, pulp.LpContinuous  # noqa: E741 (I for integer, as in the docstring)
        self.n = [self._var("n", 0, d.cap[i], I) for i in range(len(d.arcs))]
        self.P = {}
        for k in d.pkeys:
            terms = [(self.n[i], 1) for i in d.arcs_in[k]] + [(self.n[i], -1)
                                                              for i in d.arcs_out[k]]
            self.P[k] = pulp.LpAffineExpression(terms, constant=d.parts[k].pupils)
            if d.arcs_out[k]:
                prob += pulp.lpSum(self.n[i] for i in d.arcs_out[k]) <= d.parts[k].pupils - 1
        scoped = {h for s in STAGES for (h, _) in d.scope[s]}
        # areas in whole steps (integer multiples of area_step), equipment in yuan
        # (continuous, rounded up to money_step afterwards), rooms whole
        step = self.params.area_step
        self.scale = {4: step or 1.0, 5: step or 1.0, 6: 1.0, 7: 1.0}
        area = I if step > 0 else C
        self.x = {}
        for h in sorted(scoped):
            self.x[h] = {4: self._var("xb", 0, None, area), 5: self._var("xs", 0, None, area),
                         6: self._var("xe", 0, None, C), 7: self._var("xm", 0, None, I)}
        self.R = {(j, h): self.scale[j] * self.x[h][j]
                  + float(getattr(d.schools[h], FACILITY_FIELD[j]))
                  for h in self.x for j in FACILITY_INDICATORS}
        self.W = {h: pulp.lpSum(d.parts[k].facility_weight * self.P[k] for k in d.parts_of[h])
                  + d.schools[h].senior_weighted_pupils for h in d.schools}
        # teachers
        self.y = {tid: self._var("y", 0, 1, I) for tid in d.short}
        by_id = {t.id: t for t in d.teachers}
        self.kap = {tid: self._var("c", 0, 1, I) for tid in d.uncert if by_id[tid].certifiable}
        self.z = {tid: self._var("z", 0, 1, I) for tid in d.uncert}
        self.hq, self.ha, self.dv = {}, {}, {}
        self.T = {}
        for s in STAGES:
            for k in d.scope[s]:
                p = d.parts[k]
                self.hq[k] = self._var("hq", 0, None, I)
                self.ha[k] = self._var("ha", 0, None, I)
                self.dv[k] = self._var("dv", 0, None, I)
                rep = [t for t in d.teachers_of.get(k, []) if t.id in self.z]
                self.T[(1, k)] = (self.hq[k] + self.ha[k] + p.qualified
                                  + pulp.lpSum(self.z[t.id] for t in rep if not t.qualified))
                self.T[(2, k)] = (self.dv[k] + p.backbone
                                  - pulp.lpSum(self.z[t.id] for t in rep if t.backbone))
                self.T[(3, k)] = self.ha[k] + p.pe_art
                prob += self.dv[k] <= (p.teachers - p.backbone + self.hq[k] + self.ha[k]
                                       + pulp.lpSum(self.z[t.id] for t in rep if t.backbone))
                for j in TEACHER_INDICATORS:
                    prob += lim.multipliers[j] * self.T[(j, k)] >= lim.floors[j][s] * self.P[k]
                for j in FACILITY_INDICATORS:
                    prob += (lim.multipliers[j] * p.facility_weight * self.R[(j, k[0])]
                             >= lim.floors[j][s] * self.W[k[0]])
        # county values
        for s in STAGES:
            if not d.scope[s]:
                continue
            total = d.stage_pupils[s]
            for j in TEACHER_INDICATORS:
                prob += (lim.multipliers[j] * pulp.lpSum(self.T[(j, k)] for k in d.scope[s])
                         >= lim.floors[j][s] * total)
            for j in FACILITY_INDICATORS:
                prob += (lim.multipliers[j] * pulp.lpSum(
                    self._share_hi(k) * self.R[(j, k[0])] for k in d.scope[s])
                    >= lim.floors[j][s] * total)
        # posts (10), with the closest plan's slack
        self.sig = {}
        for h in d.sids:
            ks = [k for k in d.parts_of[h] if k in self.hq]
            if not ks or d.posts[h] is None:
                continue
            hires = pulp.lpSum(self.hq[k] + self.ha[k] for k in ks)
            if d.closest:
                self.sig[h] = self._var("sig", 0, None, I)
                prob += hires <= d.posts[h] + self.sig[h]
            else:
                prob += hires <= d.posts[h]
        # rooms, classes, classrooms
        self.k, self.cr, self.rooms = {}, {}, {}
        for h in d.sids:
            sch = d.schools[h]
            ks = d.parts_of[h]
            if sch.class_rule:
                for k in ks:
                    if d.parts[k].pupils > 0:
                        self.k[k] = self._var("k", 0, None, I)
                        prob += (lim.max_class[k[1]] * (d.parts[k].classes + self.k[k])
                                 >= self.P[k])
                new = [self.k[k] for k in ks if k in self.k]
                if new:
                    spare = max(0, sch.classrooms - sum(d.parts[k].classes for k in ks))
                    self.cr[h] = self._var("cr", 0, None, I)
                    prob += self.cr[h] >= pulp.lpSum(new) - spare
            if sch.rooms_rule:
                classes = pulp.lpSum(d.parts[k].classes for k in ks) + \
                    pulp.lpSum(self.k[k] for k in ks if k in self.k)
                for kind in ("music", "art"):
                    v = self._var("rm", 0, None, I)
                    self.rooms[(h, kind)] = v
                    usable = (getattr(sch, f"{kind}_rooms")
                              - getattr(sch, f"{kind}_rooms_undersized"))
                    prob += lim.classes_per_room * (usable + v) >= classes
        # school size, with the closest plan's slack
        self.eps = {}
        for h in d.sids:
            sch = d.schools[h]
            if sch.size_limit is None:
                continue
            size = pulp.lpSum(self.P[k] for k in d.parts_of[h])
            if d.closest:
                self.eps[h] = self._var("eps", 0, None, I)
                prob += size <= sch.size_limit + self.eps[h]
            elif h in d.touched:
                prob += size <= sch.size_limit
            elif sum(d.parts[k].pupils for k in d.parts_of[h]) > sch.size_limit:
                self.static.append(h)      # above its size limit and nowhere to send pupils
        # funds 10/14/15, 28
        self.fp, self.ft = {}, {}
        for h in d.sids:
            sch = d.schools[h]
            if (sch.public_funds_yuan is None
                    or (sch.funds_rule is None and sch.funds_min_yuan <= 0)):
                continue
            self.fp[h] = self._var("fp", 0, None, C)
            have = float(sch.public_funds_yuan)
            if sch.funds_rule == "special":
                need = lim.special_funds_per_pupil_yuan * pulp.lpSum(
                    self.P[k] for k in d.parts_of[h])
            elif sch.funds_rule == "standard":
                need = pulp.lpSum(lim.funds_per_pupil_yuan[k[1]] * self.P[k] for k in d.parts_of[h])
            else:
                need = None
            if need is not None:
                prob += have + self.fp[h] >= need
            if sch.funds_min_yuan > 0:
                prob += have + self.fp[h] >= float(sch.funds_min_yuan)
            if sch.training_funds_rule:
                self.ft[h] = self._var("ft", 0, None, C)
                prob += (float(sch.training_funds_yuan or 0.0) + self.ft[h]
                         >= lim.training_funds_share * (have + self.fp[h]))
        # training hours, certificates
        ok17 = sum(1 for t in d.teachers if t.id not in d.short)
        need17 = _ceil_frac(_frac(lim.training_min_share) * len(d.teachers))
        if d.short and ok17 < need17:
            prob += ok17 + pulp.lpSum(self.y[t] + self.z.get(t, 0) for t in d.short) >= need17
        for t in d.short:
            if t in self.z:
                prob += self.y[t] + self.z[t] <= 1
        ft = [t for t in d.teachers if t.full_time]
        ok20 = sum(1 for t in ft if t.certified)
        need20 = _ceil_frac(_frac(lim.certification_min_share) * len(ft))
        if d.uncert and ok20 < need20:
            prob += ok20 + pulp.lpSum(self.kap.get(t, 0) + self.z[t] for t in d.uncert) >= need20
        for t in d.uncert:
            if t in self.kap:
                prob += self.kap[t] + self.z[t] <= 1
        # objective
        hour = costs.training_hour * lim.training_min_hours
        cap_terms, rec_terms = [], []
        unit = {4: costs.building_m2, 5: costs.sports_m2, 6: costs.equipment_yuan,
                7: costs.multimedia_room}
        for xs in self.x.values():
            cap_terms += [(xs[j], (unit[j] or _TIE_UNIT) * self.scale[j])
                          for j in FACILITY_INDICATORS]
        for (_, kind), v in self.rooms.items():
            cap_terms.append((v, costs.music_room if kind == "music" else costs.art_room))
        cap_terms += [(v, costs.classroom) for v in self.cr.values()]
        cap_terms += [(v, costs.backbone_development) for v in self.dv.values()]
        cap_terms += [(self.y[t], d.short[t] * costs.training_hour) for t in self.y]
        cap_terms += [(v, costs.certification) for v in self.kap.values()]
        for k in self.hq:
            cap_terms += [(self.hq[k], hour), (self.ha[k], hour)]
            rec_terms += [(self.hq[k], costs.teacher_hire_per_year),
                          (self.ha[k], costs.teacher_hire_per_year)]
        for v in self.z.values():
            cap_terms.append((v, hour))
            rec_terms.append((v, costs.teacher_hire_per_year))
        rec_terms += [(v, 1.0) for v in self.fp.values()]
        rec_terms += [(v, 1.0) for v in self.ft.values()]
        rec_terms += [(self.n[i], a.cost_per_pupil_yuan) for i, a in enumerate(d.arcs)]
        self.capital = pulp.LpAffineExpression(cap_terms)
        self.recurring = pulp.LpAffineExpression(rec_terms)
        tie = _TIE * max(1.0, costs.teacher_hire_per_year)
        self.tie = pulp.LpAffineExpression(
            [(v, tie) for v in self.ha.values()] + [(v, _TIE_UNIT) for v in self.k.values()]
            + [(v, _TIE_UNIT) for v in self.n])
        self.cost = self.capital + self.params.recurring_years * self.recurring + self.tie
        self.slack = pulp.lpSum(list(self.sig.values()) + list(self.eps.values()))
        prob.setObjective(self.cost)

    # -- facility shares and ranges
    def _share0(self, k) -> float:
        d = self.d
        return d.parts[k].facility_weight * d.parts[k].pupils / d.w0[k[0]]

    def _share_hi(self, k) -> float:
        """The part's largest share of its school's facilities over the enrolment range
        (today's share for a school no move touches)."""
        d = self.d
        h = k[0]
        if h not in d.touched:
            return self._share0(k)
        others = sum(d.parts[q].facility_weight * d.p_lo[q] for q in d.parts_of[h] if q != k)
        top = d.parts[k].facility_weight * d.p_hi[k]
        return top / (top + others + d.schools[h].senior_weighted_pupils)

    def varies(self, j: int, k) -> bool:
        """Can the value of indicator ``j`` at part ``k`` change with the moves?"""
        d = self.d
        if j in TEACHER_INDICATORS:
            return d.p_lo[k] != d.p_hi[k]
        return k[0] in d.touched

    def relaxed(self, j: int, s: str) -> bool:
        return any(self.varies(j, k) for k in self.d.scope[s])

    # -- value expressions
    def x_expr(self, j: int, k):
        """Value of a part whose value does not vary (an affine expression)."""
        lim = self.d.problem.limits
        if j in TEACHER_INDICATORS:
            return (lim.multipliers[j] / self.d.parts[k].pupils) * self.T[(j, k)]
        return (lim.multipliers[j] * self.d.parts[k].facility_weight / self.d.w0[k[0]]) * \
            self.R[(j, k[0])]

    def x_range(self, j: int, k):
        """(lo, hi) expressions of a varying part's value over its enrolment range."""
        d, lim = self.d, self.d.problem.limits
        m = lim.multipliers[j]
        if j in TEACHER_INDICATORS:
            return (m / d.p_hi[k]) * self.T[(j, k)], (m / d.p_lo[k]) * self.T[(j, k)]
        w = d.parts[k].facility_weight
        return (m * w / d.w_hi[k[0]]) * self.R[(j, k[0])], \
            (m * w / d.w_lo[k[0]]) * self.R[(j, k[0])]

    def mean_expr(self, j: int, s: str):
        """County value (the largest-share bound for a relaxed facility stage)."""
        d, lim = self.d, self.d.problem.limits
        total = d.stage_pupils[s]
        if j in TEACHER_INDICATORS:
            return (lim.multipliers[j] / total) * pulp.lpSum(self.T[(j, k)] for k in d.scope[s])
        return (lim.multipliers[j] / total) * pulp.lpSum(
            self._share_hi(k) * self.R[(j, k[0])] for k in d.scope[s])

    def cone(self, j: int, s: str) -> _Cone:
        if (j, s) not in self.cones:
            self.cones[(j, s)] = _Cone(
                j, s, self._var("mu", None, None, pulp.LpContinuous),
                self._var("t", 0, None, pulp.LpContinuous),
                {k: self._var("r", 0, None, pulp.LpContinuous) for k in self.d.scope[s]},
                self.params.cv_tol)
        return self.cones[(j, s)]

    def mean(self, j: int, s: str) -> pulp.LpAffineExpression:
        if (j, s) not in self._means:
            self._means[(j, s)] = self.mean_expr(j, s)
        return self._means[(j, s)]

    # -- phase 3
    def unit_cost(self, j: int) -> float:
        """The least objective cost of one more unit of resource ``j`` in a stage."""
        c, lim, y = self.d.problem.costs, self.d.problem.limits, self.params.recurring_years
        hire = y * c.teacher_hire_per_year + lim.training_min_hours * c.training_hour
        return {1: hire, 2: c.backbone_development, 3: hire, 4: c.building_m2,
                5: c.sports_m2, 6: c.equipment_yuan, 7: c.multimedia_room}[j]

    def uses_persp(self, j: int, s: str) -> bool:
        return self.persp_ub is not None and self.relaxed(j, s) and self.unit_cost(j) > 0

    def single(self, k) -> bool:
        """A part that is its school's only possible part (its share is always 1)."""
        d = self.d
        return d.schools[k[0]].senior_weighted_pupils == 0 and all(
            d.p_hi[q] == 0 for q in d.parts_of[k[0]] if q != k)

    def lin_t(self, j: int, k):
        """The part's resource as an affine expression, or ``None`` when its share of a
        two-stage school changes with the moves."""
        if j in TEACHER_INDICATORS:
            return self.T[(j, k)]
        if k[0] not in self.d.touched:
            return self._share0(k) * self.R[(j, k[0])]
        if self.single(k):
            return self.R[(j, k[0])]
        return None

    def persp(self, j: int, s: str, st: _State, T) -> _Persp:
        """Create (once) the perspective constraint of ``(j, s)``: the county value's
        range ``[lo, hi]`` (``hi``: what the incumbent's cost can buy at the least unit
        cost), breakpoints around the incumbent's county value, and tangent cuts of every
        part on a geometric grid of values (the tangent of ``T²/P`` at a value is exact
        along the whole ray of that value, whatever the enrolment)."""
        if (j, s) in self.persps:
            return self.persps[(j, s)]
        d, lim = self.d, self.d.problem.limits
        total = d.stage_pupils[s]
        m = lim.multipliers[j]
        if j in TEACHER_INDICATORS:
            s0 = sum(getattr(d.parts[k], ("qualified", "backbone", "pe_art")[j - 1])
                     for k in d.scope[s])
        else:
            s0 = sum(self._share_hi(k) * float(getattr(d.schools[k[0]], FACILITY_FIELD[j]))
                     for k in d.scope[s])
        lo = max(lim.floors[j][s], m * s0 / total)
        assert self.persp_ub is not None
        hi = max(m * (s0 + self.persp_ub / self.unit_cost(j)) / total, lo * (1 + 1e-6))
        points = [st]
        if self.incumbent is not None:
            points.append(self.incumbent)
        y_inc = min(max(_mean_hi(self, points[-1], _values(d.problem, d, points[-1])[1], j, s),
                        lo), hi)   # the incumbent's (or the point's) county value
        breaks = sorted({lo, hi} | {min(max(y_inc * f, lo), hi)
                                    for f in (1 - 1e-2, 1 - 1e-3, 1, 1 + 1e-3, 1 + 1e-2)})
        ps = _Persp(j, s, {k: self._var("pr", 0, None, pulp.LpContinuous)
                           for k in d.scope[s]}, breaks, self.params.cv_tol)
        self.persps[(j, s)] = ps
        xs = [_values(d.problem, d, pt)[0] for pt in points]
        values = [lim.floors[j][s]] + [X[(j, k)] for X in xs for k in d.scope[s] if (j, k) in X]
        lo_x, hi_x = max(min(values), 1e-9) / 1.1, max(values) * 1.1
        grid = [lo_x * (1.15 ** i) for i in range(int(math.log(hi_x / lo_x) / math.log(1.15)) + 2)]
        near = (0.96, 0.98, 0.99, 0.995, 1.0, 1.005, 1.01, 1.02, 1.04)
        for k in d.scope[s]:
            own = {X[(j, k)] * f for X in xs if (j, k) in X for f in near}
            for x in sorted(set(grid) | own):
                self.cuts.append(ps.r[k] - self._persp_tangent(j, k, x))
        return ps

    def _persp_tangent(self, j: int, k, x: float):
        """The tangent (a lower bound of part ``k``'s term ``(P_k/P) X_k²``) at value ``x``."""
        d, lim = self.d, self.d.problem.limits
        total = d.stage_pupils[k[1]]
        m = lim.multipliers[j]
        lin = self.lin_t(j, k)
        if lin is not None:
            a = x / m
            return (m * m / total) * (2 * a * lin - (a * a) * self.P[k])
        # two-stage part whose share moves: (P_k/P) X_k² = (m² w/P)·share·R²/W with R²/W
        # a perspective in (R, W) (exact in the school's weighted enrolment W) and the
        # share at its least
        w = d.parts[k].facility_weight
        rho = x / (m * w)
        coef = m * m * w * self._share_lo(k) / total
        return coef * (2 * rho * self.R[(j, k[0])] - (rho * rho) * self.W[k[0]])

    def _share_lo(self, k) -> float:
        d = self.d
        h = k[0]
        others = sum(d.parts[q].facility_weight * d.p_hi[q] for q in d.parts_of[h] if q != k)
        low = d.parts[k].facility_weight * d.p_lo[k]
        return low / (low + others + d.schools[h].senior_weighted_pupils)

    # -- solving
    def lp(self, cut_limit: str) -> pulp.LpProblem:
        """The model with its CV constraints at ``c'`` (``"tight"``) or at the limit ``c``
        (``"valid"``: every cut valid, the optimum a lower bound)."""
        prob = self.prob.copy()
        lim = self.d.problem.limits
        for (j, s), cone in self.cones.items():
            c = lim.cv_limit[s]
            if cut_limit == "tight":
                c *= 1 - cone.tight
            prob += cone.t - c * self.mean(j, s) == 0, f"cone_t_{j}_{s}"
            prob += pulp.lpSum(cone.r.values()) - cone.t <= 0, f"cone_sum_{j}_{s}"
        for (j, s), ps in self.persps.items():
            c = lim.cv_limit[s]
            if cut_limit == "tight":
                c *= 1 - ps.tight
            b = ps.breaks
            if ps.built != tuple(b):
                ps.lam = [self._var("lam", 0, 1, pulp.LpContinuous) for _ in b]
                ps.seg = [self._var("seg", 0, 1, pulp.LpInteger) for _ in b[1:]]
                ps.built = tuple(b)
            lam = ps.lam
            prob += pulp.lpSum(lam) == 1, f"pw_sum_{j}_{s}"
            prob += self.mean(j, s) - pulp.lpSum(x * v for x, v in zip(b, lam)) == 0, \
                f"pw_y_{j}_{s}"
            prob += (pulp.lpSum(ps.r.values()) - (1 + c * c) * pulp.lpSum(
                x * x * v for x, v in zip(b, lam)) <= 0), f"pw_q_{j}_{s}"
            if len(b) > 2:
                z = ps.seg
                prob += pulp.lpSum(z) == 1, f"pw_z_{j}_{s}"
                for i, v in enumerate(lam):
                    near = ([z[i - 1]] if i > 0 else []) + ([z[i]] if i < len(z) else [])
                    prob += v - pulp.lpSum(near) <= 0, f"pw_adj_{j}_{s}_{i}"
        for i, cut in enumerate(self.cuts):
            prob += cut >= 0, f"cut_{i}"
        if self.pin is not None:
            prob += self.slack <= self.pin + 1e-6, "pin_slack"
        return prob


def _int(v) -> int:
    return round(v.varValue or 0.0) if v is not None else 0


def _num(v) -> float:
    return max(0.0, float(v.varValue or 0.0))


# =========================================================================== decoding
def _unit_cost(kind: str, costs: UnitCosts, move_cost: float = 0.0) -> float:
    key = ACTIONS[kind].cost_key
    if key is None:
        return 0.0
    if key == "yuan":
        return 1.0
    if key == "move":
        return float(move_cost)
    return float(getattr(costs, key))


def _action(kind: str, school: str, stage: str, quantity: float, costs: UnitCosts,
            reason: str = "", indicator: int | None = None, **kw) -> Action:
    spec = ACTIONS[kind]
    unit_cost = _unit_cost(kind, costs, kw.pop("move_cost", 0.0))
    return Action(kind=kind, school_id=school, stage=stage,
                  indicator=spec.indicator if indicator is None else indicator,
                  column=spec.column.format(stage=stage), quantity=quantity, unit=spec.unit,
                  unit_cost_yuan=unit_cost, cost_yuan=quantity * unit_cost,
                  recurring=spec.recurring, reason=reason, **kw)


def _decode(model: _Model, rounded: bool) -> list[Action]:
    """The solver's values as actions (continuous quantities rounded up when
    ``rounded``), without the zero-cost actions that follow from the state."""
    d, params, costs = model.d, model.params, model.d.problem.costs
    lim = d.problem.limits
    acts: list[Action] = []
    rnd = (lambda x, step: _ceil_step(x, step)) if rounded else (lambda x, step: x)
    for i, a in enumerate(d.arcs):
        moved = _int(model.n[i])
        if moved:
            acts.append(_action("move_pupils", a.from_school, a.stage, moved, costs,
                                to_school_id=a.to_school, move_cost=a.cost_per_pupil_yuan))
    kinds = {4: "build_floor_area", 5: "build_sports_area", 6: "buy_equipment",
             7: "equip_multimedia_rooms"}
    whole = {4: params.area_step > 0, 5: params.area_step > 0, 6: False, 7: True}
    for h, xs in model.x.items():
        for j in FACILITY_INDICATORS:
            q: float
            if whole[j]:
                q = _int(xs[j]) * model.scale[j]
                q = int(q) if j == 7 else float(q)
            else:
                q = rnd(_num(xs[j]), params.money_step if j == 6 else 0.0)
            if q > (0 if whole[j] or rounded else 1e-9):
                acts.append(_action(kinds[j], h, "", q, costs))
    for (h, kind), v in model.rooms.items():
        b = _int(v)
        und = getattr(d.schools[h], f"{kind}_rooms_undersized")
        rebuild = min(b, und)
        if rebuild:
            acts.append(_action(f"rebuild_{kind}_rooms", h, "", rebuild, costs))
        if b - rebuild:
            acts.append(_action(f"build_{kind}_rooms", h, "", b - rebuild, costs))
        if und - rebuild:
            acts.append(_action(f"retire_{kind}_rooms", h, "", und - rebuild, costs))
    for h, v in model.cr.items():
        if _int(v):
            acts.append(_action("add_classrooms", h, "", _int(v), costs))
    for k in model.k:          # the least number of classes the pupils need
        need = max(0, -(-round(pulp.value(model.P[k])) // lim.max_class[k[1]])
                   - d.parts[k].classes)
        if need:
            acts.append(_action("add_classes", k[0], k[1], need, costs))
    replaced = {t for t, v in model.z.items() if _int(v)}
    for k in model.hq:
        for kind, var in (("hire_qualified", model.hq[k]), ("hire_pe_art", model.ha[k])):
            if _int(var):
                acts.append(_action(kind, k[0], k[1], _int(var), costs))
        if _int(model.dv[k]):
            acts.append(_action("develop_backbone", k[0], k[1], _int(model.dv[k]), costs))
    by_id = {t.id: t for t in d.teachers}
    for tid in sorted(replaced):
        t = by_id[tid]
        acts.append(_action("replace_teacher", t.school_id, t.stage, 1, costs,
                            reason="replacement" if t.certifiable else "not_certifiable",
                            teacher_ids=(tid,)))
    new: dict[tuple[str, str], int] = {}
    for act in acts:
        if act.kind in ("hire_qualified", "hire_pe_art", "replace_teacher"):
            key = (act.school_id, act.stage)
            new[key] = new.get(key, 0) + int(act.quantity)
    for k in sorted(new, key=lambda k: (k[0], STAGES.index(k[1]))):
        acts.append(_action("train_new_hires", k[0], k[1], new[k] * lim.training_min_hours,
                            costs, reason="new_hires"))
    for tid in sorted(d.short):
        if _int(model.y[tid]) and tid not in replaced:
            t = by_id[tid]
            acts.append(_action("train_teacher", t.school_id, t.stage, d.short[tid], costs,
                                reason="rule", teacher_ids=(tid,)))
    for tid in sorted(model.kap):
        if _int(model.kap[tid]) and tid not in replaced:
            t = by_id[tid]
            acts.append(_action("certify_teacher", t.school_id, t.stage, 1, costs,
                                reason="rule", teacher_ids=(tid,)))
    return acts


def _complete(problem: RemediationProblem, d: _Data, actions: list[Action],
              params: RemediationSettings) -> list[Action]:
    """Add the actions that follow from the state after ``actions``: the quota raise of
    10, the funds raises of 10/14/15 and 28 (the least that meets them, rounded up), and
    the rebalanced largest classes of 13."""
    costs, lim = problem.costs, problem.limits
    base = [a for a in actions if a.kind not in ("raise_staff_quota", "raise_public_funds",
                                                 "raise_training_funds", "rebalance_classes")]
    st = _apply(problem, d, base)
    extra: list[Action] = []
    for h, sch in d.schools.items():
        pupils = {k[1]: st.pupils[k] for k in d.parts_of[h]}
        if sch.staff_quota is not None and sch.quota_rule:
            q = _quota_after(lim, sch, pupils)
            if q > sch.staff_quota:
                extra.append(_action("raise_staff_quota", h, "", q - sch.staff_quota, costs,
                                     reason="rule", value_after=q))
        if sch.public_funds_yuan is None:
            continue
        have = float(sch.public_funds_yuan)
        if sch.funds_rule is not None or sch.funds_min_yuan > 0:
            need = _funds_need(lim, sch, pupils)
            raise_f = _ceil_step(need - have, params.money_step) if not _ge(have, need) else 0.0
            if raise_f > 0:
                ind = I_SPECIAL if sch.funds_rule == "special" else (
                    I_SMALL if 0 < sch.funds_min_yuan >= need else I_QUOTA)
                extra.append(_action("raise_public_funds", h, "", raise_f, costs, reason="rule",
                                     indicator=ind))
                have += raise_f
        if sch.training_funds_rule:
            tneed = lim.training_funds_share * have
            thave = float(sch.training_funds_yuan or 0.0)
            if not _ge(thave, tneed):
                extra.append(_action("raise_training_funds", h, "",
                                     _ceil_step(tneed - thave, params.money_step), costs,
                                     reason="rule"))
    for k, p in d.parts.items():
        if st.pupils[k] > 0 and st.max_class[k] != p.max_class and d.schools[k[0]].class_rule:
            extra.append(_action("rebalance_classes", k[0], k[1], st.classes[k], costs,
                                 reason="rule", value_after=st.max_class[k]))
    return base + extra


def _annotate(problem: RemediationProblem, d: _Data, actions: list[Action],
              before: Evaluation) -> list[Action]:
    """Reason codes and the indicator of the per-pupil and move actions."""
    below = {(v.indicator, v.school_id, v.stage) for v in before.violations if v.code == "floor"}
    county = {(v.indicator, v.stage) for v in before.violations if v.code == "county"}
    received = {(a.to_school_id, a.stage) for a in actions if a.kind == "move_pupils"}
    received_school = {h for h, _ in received}
    over = {v.school_id for v in before.violations if v.code == "size"}
    facility = {"build_floor_area": 4, "build_sports_area": 5, "buy_equipment": 6,
                "equip_multimedia_rooms": 7}
    out = []
    for a in actions:
        reason = a.reason
        if a.kind in facility or a.kind in ("hire_qualified", "hire_pe_art", "develop_backbone"):
            j = facility.get(a.kind, a.indicator)
            ks = [k for k in d.parts_of[a.school_id] if not a.stage or k[1] == a.stage]
            if any((j, k[0], k[1]) in below for k in ks):
                reason = "floor"
            elif any(k in received for k in ks) or (a.kind in facility
                                                    and a.school_id in received_school):
                reason = "receives_pupils"
            elif any((j, k[1]) in county for k in ks):
                reason = "county"
            else:
                reason = "cv"
        elif a.kind == "move_pupils":
            if a.school_id in over:
                reason, ind = "school_size", I_SIZE
            else:
                reason = "cheaper_than_building"
                fails = sorted(v.indicator for v in before.violations
                               if v.school_id == a.school_id and v.indicator in
                               PER_PUPIL + (I_CLASS,))
                ind = fails[0] if fails else I_SIZE
            a = replace(a, indicator=ind)
        elif a.kind in ("add_classrooms", "add_classes", "build_music_rooms", "build_art_rooms",
                        "raise_public_funds", "raise_training_funds", "raise_staff_quota",
                        "rebalance_classes"):
            if a.school_id in received_school and not reason.startswith("receives"):
                ks = [k for k in d.parts_of[a.school_id] if k in received]
                if ks:
                    reason = "receives_pupils"
            reason = reason or "rule"
        out.append(replace(a, reason=reason or "rule"))
    return out


# =========================================================================== the loop
@dataclass
class _Outcome:
    status: Status
    actions: list[Action]
    infos: list[SolveInfo]
    lower_bound: float | None
    objective: float | None
    rounds: int
    cuts: int
    needs_fixing: bool = False
    messages: list[str] = field(default_factory=list)


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(1.0, deadline - time.perf_counter())


_ROUND_GAP = 1e-3     # MIP gap of the intermediate rounds (they only need a point to cut)


def _solve(model: _Model, prob: pulp.LpProblem, deadline, gap: float | None = None,
           warm: bool = False) -> SolveInfo:
    """Solve; ``warm``: start from the variables' values (the previous round's plan,
    which the new cuts may cut off: HiGHS repairs or drops it)."""
    return mip.solve_problem(prob, model.params.solver, time_limit=_remaining(deadline),
                             gap=model.params.gap if gap is None else gap, warm_start=warm)


def _plan_objective(problem: RemediationProblem, actions: Sequence[Action],
                    params: RemediationSettings) -> float:
    """The MILP's objective of a plan: capital + recurring_years × recurring + the
    tie-breaks (PE/art hires, classes, moved pupils, resources without a unit cost)."""
    cap = sum(a.cost_yuan for a in actions if not a.recurring)
    rec = sum(a.cost_yuan for a in actions if a.recurring)
    tie = _TIE * max(1.0, problem.costs.teacher_hire_per_year) * sum(
        a.quantity for a in actions if a.kind == "hire_pe_art")
    free = {"build_floor_area", "build_sports_area", "buy_equipment", "equip_multimedia_rooms"}
    tie += _TIE_UNIT * sum(a.quantity for a in actions if a.kind in ("add_classes", "move_pupils")
                           or (a.kind in free and a.unit_cost_yuan == 0))
    return cap + params.recurring_years * rec + tie


def _mean_hi(model: _Model, st: _State, T, j: int, s: str) -> float:
    """The value of :meth:`_Model.mean_expr` at a state."""
    d, lim = model.d, model.d.problem.limits
    total = d.stage_pupils[s]
    if j in TEACHER_INDICATORS:
        return lim.multipliers[j] * sum(T[(j, k)] for k in d.scope[s]) / total
    return lim.multipliers[j] * sum(model._share_hi(k) * st.res[k[0]][j]
                                    for k in d.scope[s]) / total


def _deviation(model: _Model, st: _State, X, T, j: int, k, mu_k: float, mu):
    """``(g_k, g_expr)`` of part ``k`` at the point: ``sqrt(P_k/P)(X_k − μ)`` for a part
    whose value is fixed by its resource, ``sqrt(P_k^lo/P)·dist(μ, [X^lo, X^hi])`` (its
    active affine piece) for a part whose value varies with the moves; ``(0, None)``
    when that distance is 0."""
    d, lim = model.d, model.d.problem.limits
    total = d.stage_pupils[k[1]]
    if not model.varies(j, k):
        sw = math.sqrt(d.parts[k].pupils / total)
        return sw * (X[(j, k)] - mu_k), sw * (model.x_expr(j, k) - mu)
    m = lim.multipliers[j]
    if j in TEACHER_INDICATORS:
        lo, hi = m * T[(j, k)] / d.p_hi[k], m * T[(j, k)] / d.p_lo[k]
    else:
        r, w = st.res[k[0]][j], d.parts[k].facility_weight
        lo, hi = m * w * r / d.w_hi[k[0]], m * w * r / d.w_lo[k[0]]
    lo_e, hi_e = model.x_range(j, k)
    sw = math.sqrt(d.p_lo[k] / total)
    if mu_k < lo:
        return sw * (lo - mu_k), sw * (lo_e - mu)
    if mu_k > hi:
        return sw * (mu_k - hi), sw * (mu - hi_e)
    return 0.0, None


def _persp_cuts(model: _Model, st: _State, T, j: int, s: str, solved: bool) -> tuple[int, bool]:
    """Phase 3: perspective cuts ``r_p ≥ (m²/P)(2α T_p − α² P_p)`` (``α = T_p^k/P_p^k``;
    the tangent plane of the homogeneous convex ``T²/P``) of every part whose term is
    above its ``r_p``, and a new breakpoint where the solution used the
    interpolation's slack.  Returns (cuts and breakpoints added, whether the
    relaxation is violated at the point)."""
    d, lim = model.d, model.d.problem.limits
    solved = solved and (j, s) in model.persps
    ps = model.persp(j, s, st, T)
    total = d.stage_pupils[s]
    m = lim.multipliers[j]
    c = lim.cv_limit[s] * (1 - ps.tight)
    terms = []
    for k in d.scope[s]:
        lin = model.lin_t(j, k)
        if lin is not None:
            t_k, p_k = T[(j, k)], st.pupils[k]
            a = t_k / p_k
            terms.append((k, m * m * t_k * t_k / (p_k * total),
                          (m * m / total) * (2 * a * lin - (a * a) * model.P[k])))
        else:
            h = k[0]
            r, w = st.res[h][j], d.parts[k].facility_weight
            wk = sum(d.parts[q].facility_weight * st.pupils[q] for q in d.parts_of[h]) + \
                d.schools[h].senior_weighted_pupils
            coef = m * m * w * model._share_lo(k) / total
            terms.append((k, coef * r * r / wk, model._persp_tangent(j, k, m * w * r / wk)))
    y = _mean_hi(model, st, T, j, s)
    lhs = sum(v for _, v, _ in terms)
    if lhs <= (1 + c * c) * y * y * (1 + model.params.cv_tol):
        return 0, False
    n = 0
    for k, v, cut in terms:
        r_k = float(ps.r[k].varValue or 0.0) if solved else 0.0
        if v > r_k * (1 + 1e-9) + 1e-12:
            model.cuts.append(ps.r[k] - cut)
            n += 1
    if solved and ps.lam:
        y_s = float(pulp.value(model.mean(j, s)) or 0.0)
        q_s = sum(b * b * float(v.varValue or 0.0) for b, v in zip(ps.breaks, ps.lam))
        if q_s > y_s * y_s * (1 + model.params.cv_tol) and all(
                abs(y_s - b) > 1e-9 * max(1.0, b) for b in ps.breaks):
            ps.breaks = sorted(ps.breaks + [y_s])
            n += 1
    if not n and ps.tight < 1e-2:
        ps.tight *= 8             # solver tolerance ate the margin: aim lower
        n = 1
    return n, n > 0


def _add_cuts(model: _Model, st: _State, X, T, county, solved: set) -> tuple[int, bool]:
    """For every (indicator, stage) whose CV is above its limit at the state, add the
    tangent cut ``r_p ≥ 2α g_p − α² t`` (``α = g_p^k / t^k``; valid for every ``t > 0``
    since ``(g − α t)² ≥ 0``) of every part it separates. ``solved``: the cones the
    last MILP had (their solver values are the point). Returns (cuts added, a CV no
    cut can lower: the moves must be fixed)."""
    lim = model.d.problem.limits
    added, stuck = 0, False
    for (j, s), (mean, cv, _, _, _) in sorted(county.items(), key=lambda x: (
            x[0][0], STAGES.index(x[0][1]))):
        c = lim.cv_limit[s]
        if not math.isnan(cv) and _le(cv, c):
            continue
        if model.uses_persp(j, s):
            n, sep = _persp_cuts(model, st, T, j, s, (j, s) in solved)
            added += n
            stuck = stuck or not sep
            continue
        fresh = (j, s) not in solved
        cone = model.cone(j, s)
        target = c * (1 - cone.tight)
        t_k = target * _mean_hi(model, st, T, j, s)
        mu_k = mean
        if not fresh and cone.t.varValue is not None and cone.t.varValue > 0:
            t_k, mu_k = float(cone.t.varValue), float(cone.mu.varValue or 0.0)
        if t_k <= 0:
            continue
        devs = [(k, *_deviation(model, st, X, T, j, k, mu_k, cone.mu))
                for k in model.d.scope[s]]
        q_k = sum(g * g for _, g, e in devs if e is not None) / t_k
        n = 0
        # a range-relaxed stage is refined only to _ROUND_GAP: its bound stays valid and
        # phases 2 and 3 take over where it binds
        tol = max(model.params.cv_tol, _ROUND_GAP) if model.relaxed(j, s) else \
            model.params.cv_tol
        if q_k > t_k * (1 + tol):      # the cone is violated at the point
            for k, g_k, g_expr in devs:
                if g_expr is None:
                    continue
                r_k = 0.0 if fresh else float(cone.r[k].varValue or 0.0)
                if g_k * g_k / t_k <= r_k + 1e-12 * max(1.0, t_k):
                    continue
                a = g_k / t_k
                model.cuts.append(cone.r[k] - 2 * a * g_expr + (a * a) * cone.t)
                n += 1
        if n:
            added += n
        elif model.relaxed(j, s):
            stuck = True          # the relaxation holds here: only fixing the moves helps
        elif cone.tight < 1e-2:
            cone.tight *= 8       # solver tolerance ate the margin: aim lower
            added += 1
        else:
            raise RuntimeError(f"remediation model: the CV of indicator {j} ({s}) stays "
                               "above its limit and no cut separates the plan")
    return added, stuck


def _loop(model: _Model, deadline, objective, allowed: set[str], infos: list[SolveInfo],
          counters: dict) -> _Outcome:
    """Outer approximation: solve, check the rounded plan exactly, cut, repeat."""
    d, params = model.d, model.params
    problem = d.problem
    model.prob.setObjective(objective)
    if model.static:
        return _Outcome(Status.INFEASIBLE, [], infos, None, None, counters["rounds"], 0)
    gap = max(params.gap, _ROUND_GAP)
    warm = False
    while True:
        if counters["rounds"] >= params.max_rounds:
            return _Outcome(Status.NO_PLAN_IN_TIME, [], infos, None, None, counters["rounds"],
                            len(model.cuts), messages=["max_rounds"])
        counters["rounds"] += 1
        solved = set(model.cones) | set(model.persps)
        prob = model.lp("tight")
        info = _solve(model, prob, deadline, gap, warm and bool(model.persps))
        warm = True
        infos.append(info)
        if not info.status.has_plan:
            return _Outcome(info.status, [], infos, None, None, counters["rounds"],
                            len(model.cuts))
        raw = _complete(problem, d, _decode(model, rounded=False), params)
        acts = _complete(problem, d, _decode(model, rounded=True), params)
        ev, st, X, T, county = _evaluate(problem, d, acts)
        bad = [v for v in ev.violations if v.code not in allowed]
        if not bad:
            final = params.gap / 2        # the plan and its bound share the requested gap
            if gap > final and info.status is Status.OPTIMAL and (
                    info.gap is None or info.gap > final):
                gap = final               # confirm at the requested gap
                continue
            return _Outcome(info.status, acts, infos, None, info.objective, counters["rounds"],
                            len(model.cuts))
        _, st_r, X_r, T_r, county_r = _evaluate(problem, d, raw)
        added, stuck = _add_cuts(model, st_r, X_r, T_r, county_r, solved)
        if not added:
            added, stuck2 = _add_cuts(model, st, X, T, county, solved)
            stuck = stuck or stuck2
        other = [v for v in bad if v.code != "cv"]
        fixable = {"county", "posts"} if d.arcs else set()
        if any(v.code not in fixable for v in other):
            raise RuntimeError("remediation model: the plan breaks a limit the MILP enforces: "
                               + ", ".join(f"{v.code} {v.indicator} {v.school_id} {v.stage} "
                                           f"{v.value:g} vs {v.limit:g}" for v in other))
        if other:
            stuck = True
        if not added:
            if stuck:
                return _Outcome(info.status, acts, infos, None, info.objective,
                                counters["rounds"], len(model.cuts), needs_fixing=True)
            raise RuntimeError("remediation model: a CV is above its limit and no cut "
                               "separates the plan")
        if deadline is not None and time.perf_counter() > deadline:
            return _Outcome(Status.NO_PLAN_IN_TIME, [], infos, None, None, counters["rounds"],
                            len(model.cuts), messages=["time_limit"])


def _bound(model: _Model, out: _Outcome, deadline) -> float | None:
    """A proven lower bound of the phase's optimum: the MILP with every cut valid."""
    if out.objective is None:
        return None
    info = out.infos[-1]
    if model.cones or model.persps:
        saved = {v.name: v.varValue for v in model.prob.variables()}
        prob = model.lp("valid")
        info = _solve(model, prob, deadline, model.params.gap / 2, warm=True)  # plan feasible
        out.infos.append(info)
        for v in model.prob.variables():
            v.varValue = saved.get(v.name)
        if not info.status.has_plan:
            return None
    if info.objective is None:
        return None
    g = info.gap if info.gap is not None else None
    if g is None:
        return None
    return info.objective - g * abs(info.objective)


def _phase(problem: RemediationProblem, params: RemediationSettings, deadline,
           closest: bool, infos: list[SolveInfo], counters: dict,
           persp_ub: float | None = None, incumbent: _State | None = None,
           bound: bool = True) -> tuple[_Outcome, _Model]:
    d = _prepare(problem, closest)
    model = _Model(d, params, persp_ub, incumbent)
    out, model = _phase_run(model, params, deadline, closest, infos, counters, bound)
    counters["cuts"] = counters.get("cuts", 0) + len(model.cuts)
    return out, model


def _phase_run(model: _Model, params: RemediationSettings, deadline, closest: bool,
               infos: list[SolveInfo], counters: dict,
               bound: bool = True) -> tuple[_Outcome, _Model]:
    if not closest:
        out = _loop(model, deadline, model.cost, set(), infos, counters)
        if out.status.has_plan and bound:
            out.lower_bound = _bound(model, out, deadline)
        return out, model
    # Lexicographic: the least slack subject to the cuts found so far (a relaxation of
    # the true least slack), pinned; then the cost with the CV loop. When the cuts make
    # the pinned slack infeasible, the least slack is solved again with them.
    allowed = {"posts", "size"}
    while True:
        model.prob.setObjective(model.slack)
        model.pin = None
        counters["rounds"] += 1
        info = _solve(model, model.lp("tight"), deadline)
        infos.append(info)
        if not info.status.has_plan:
            return _Outcome(info.status, [], infos, None, None, counters["rounds"],
                            len(model.cuts)), model
        model.pin = float(info.objective or 0.0)
        out = _loop(model, deadline, model.cost, allowed, infos, counters)
        if out.status is not Status.INFEASIBLE:
            return out, model


def _fix_moves(problem: RemediationProblem, moves: Sequence[Action]) -> RemediationProblem:
    """The problem with the pupils after ``moves`` and no move options."""
    delta: dict[tuple[str, str], int] = {}
    for a in moves:
        delta[(a.school_id, a.stage)] = delta.get((a.school_id, a.stage), 0) - int(a.quantity)
        delta[(a.to_school_id, a.stage)] = delta.get((a.to_school_id, a.stage), 0) + int(a.quantity)
    parts = [replace(p, pupils=p.pupils + delta.get((p.school_id, p.stage), 0))
             for p in problem.parts]
    return replace(problem, parts=tuple(parts), moves=())


# =========================================================================== solve
def solve(problem: RemediationProblem,
          params: RemediationSettings | None = None) -> RemediationResult:
    """The least-cost remediation plan of ``problem`` (see the module docstring).

    Raises ``ValueError`` on inconsistent input and
    :class:`models.mip.SolverUnavailable` when the solver is missing; an infeasible plan
    is a result (status ``infeasible``, ``closest``, ``shortfalls``), never an exception.
    """
    params = params or RemediationSettings()
    t0 = time.perf_counter()
    deadline = None if params.time_limit is None else t0 + params.time_limit
    d0 = _prepare(problem)
    before = _evaluate(problem, d0, [])[0]
    infos: list[SolveInfo] = []
    counters = {"rounds": 0}
    out, moves_fixed = _two_phases(problem, params, deadline, False, infos, counters)
    lower = out.lower_bound
    closest = False
    shortfalls: tuple[Shortfall, ...] = ()
    if out.status is Status.INFEASIBLE:
        out, _ = _two_phases(problem, params, deadline, True, infos, counters)
        lower = None
        if out.status.has_plan:
            closest = True
            shortfalls = _shortfalls(problem, d0, out.actions)
            out.status = Status.INFEASIBLE
        elif out.status is Status.NO_PLAN_IN_TIME:
            out.status = Status.INFEASIBLE     # proven infeasible; no closest plan in time
    actions = out.actions if (out.status.has_plan or closest) else []
    if actions:
        actions = _order(_annotate(problem, d0, _complete(problem, d0, actions, params),
                                   before))
    after = _evaluate(problem, d0, actions)[0]
    cap = sum(a.cost_yuan for a in actions if not a.recurring)
    rec = sum(a.cost_yuan for a in actions if a.recurring)
    objective = _plan_objective(problem, actions, params)
    status, gap = out.status, None
    if status.has_plan:
        if lower is not None:
            gap = max(0.0, (objective - lower) / objective) if objective > 0 else 0.0
            if status is Status.OPTIMAL and gap > params.gap:
                status = Status.FEASIBLE
        elif status is Status.OPTIMAL:
            status = Status.FEASIBLE
    by_ind: dict[int, float] = {}
    by_school: dict[str, float] = {}
    for a in actions:
        by_ind[a.indicator] = by_ind.get(a.indicator, 0.0) + a.cost_yuan
        by_school[a.school_id] = by_school.get(a.school_id, 0.0) + a.cost_yuan
    messages = list(out.messages)
    if moves_fixed:
        messages.append("moves_fixed")
    return RemediationResult(
        status=status, closest=closest, actions=tuple(actions), total_cost_yuan=cap + rec,
        capital_yuan=cap, recurring_yuan_per_year=rec, objective=objective,
        lower_bound=lower, gap=gap, cost_by_indicator=dict(sorted(by_ind.items())),
        cost_by_school=dict(sorted(by_school.items())), before=before, after=after,
        shortfalls=shortfalls, quota=_quota_uses(problem, d0, actions, before),
        moves_fixed=moves_fixed, rounds=counters["rounds"], cuts=counters.get("cuts", 0),
        solves=tuple(infos), seconds=time.perf_counter() - t0, solver=params.solver,
        messages=tuple(messages))


def _two_phases(problem: RemediationProblem, params: RemediationSettings, deadline,
                closest: bool, infos: list[SolveInfo], counters: dict) -> tuple[_Outcome, bool]:
    """Phase 1 (moves free, range relaxation); when its plan fails the exact check,
    phase 2 (its moves fixed, exact); and when that plan is not within ``gap`` of the
    bound, phase 3 (the perspective relaxation, its own plan's moves fixed in turn).
    Returns the best plan with the best proven bound, and whether moves were fixed."""
    out, _ = _phase(problem, params, deadline, closest, infos, counters)
    if not (out.status.has_plan and out.needs_fixing):
        return out, False
    best = _fixed(problem, params, deadline, closest, infos, counters, out)
    lower = out.lower_bound
    if best.status.has_plan and not closest:
        ub = _plan_objective(problem, best.actions, params)
        if lower is None or ub - lower > params.gap * ub:
            inc = _apply(problem, _prepare(problem), best.actions)
            out3, _ = _phase(problem, params, deadline, closest, infos, counters, persp_ub=ub,
                             incumbent=inc)
            if out3.lower_bound is not None:
                lower = out3.lower_bound if lower is None else max(lower, out3.lower_bound)
            cand = out3
            if out3.status.has_plan and out3.needs_fixing:
                cand = _fixed(problem, params, deadline, closest, infos, counters, out3)
            if cand.status.has_plan and _plan_objective(problem, cand.actions, params) < ub:
                best = cand
            best.messages = best.messages + ["phase_3"]
    best.lower_bound = lower
    return best, True


def _fixed(problem, params, deadline, closest, infos, counters, out: _Outcome) -> _Outcome:
    """The exact plan with the moves of ``out`` fixed (phase 2)."""
    moves = [a for a in out.actions if a.kind == "move_pupils"]
    out2, _ = _phase(_fix_moves(problem, moves), params, deadline, closest, infos, counters,
                     bound=False)      # its bound would hold for these moves only
    if out2.status.has_plan:
        out2.actions = moves + out2.actions
    return _Outcome(out2.status, out2.actions, infos, None, None, counters["rounds"],
                    out.cuts + out2.cuts, messages=out.messages + out2.messages)


_KIND_ORDER = {k: i for i, k in enumerate(ACTIONS)}


def _order(actions: list[Action]) -> list[Action]:
    return sorted(actions, key=lambda a: (a.school_id, STAGES.index(a.stage) + 1 if a.stage
                                          else 0, _KIND_ORDER[a.kind], a.teacher_ids,
                                          a.to_school_id))


def _quota_uses(problem: RemediationProblem, d: _Data, actions: Sequence[Action],
                before: Evaluation) -> tuple[QuotaUse, ...]:
    st = _apply(problem, d, actions)
    short = {v.school_id for v in before.violations
             if v.code == "floor" and v.indicator in TEACHER_INDICATORS}
    out = []
    for h, sch in d.schools.items():
        if sch.staff_quota is None or (st.hires[h] == 0 and h not in short):
            continue
        pupils = {k[1]: st.pupils[k] for k in d.parts_of[h]}
        q_after = _quota_after(problem.limits, sch, pupils)
        posts = max(0, q_after - sch.staff)
        out.append(QuotaUse(h, int(sch.staff_quota), int(q_after), int(sch.staff), posts,
                            st.hires[h], st.hires[h] >= posts, max(0, posts - st.hires[h])))
    return tuple(out)


def _shortfalls(problem: RemediationProblem, d: _Data,
                actions: Sequence[Action]) -> tuple[Shortfall, ...]:
    """Explain a closest plan: where it needs more posts or more room than exists."""
    lim = problem.limits
    st = _apply(problem, d, actions)
    out = []
    for h, sch in d.schools.items():
        pupils = {k[1]: st.pupils[k] for k in d.parts_of[h]}
        if sch.size_limit is not None and sum(pupils.values()) > sch.size_limit:
            moved = sum(st.moved_out[k] for k in d.parts_of[h])
            need = sum(d.parts[k].pupils for k in d.parts_of[h]) - sch.size_limit
            out.append(Shortfall("school_size", h, "", I_SIZE, int(need), int(moved)))
        posts = _posts(lim, sch, pupils)
        if posts is None or st.hires[h] <= posts:
            continue
        found = False
        for k in d.parts_of[h]:
            p = d.parts[k]
            if not p.in_scope or st.pupils[k] <= 0:
                continue
            hires_here = sum(int(a.quantity) for a in actions if a.school_id == h
                             and a.stage == k[1] and a.kind in ("hire_qualified", "hire_pe_art"))
            gain = [0, 0, 0]
            for a in actions:
                if a.kind == "replace_teacher" and (a.school_id, a.stage) == k:
                    t = next(t for t in d.teachers if t.id == a.teacher_ids[0])
                    gain[0] += 0 if t.qualified else 1
            best = None
            for j in (1, 3):
                need = lim.floors[j][k[1]] * st.pupils[k] / lim.multipliers[j]
                have = (p.qualified + gain[0]) if j == 1 else p.pe_art
                short = max(0, math.ceil(need * (1 - RTOL) - have))
                if short > posts and (best is None or short > best[1]):
                    best = (j, short)
            if best is not None:
                out.append(Shortfall("staff_quota", h, k[1], best[0], best[1], posts))
                found = True
            elif hires_here:
                pe = sum(int(a.quantity) for a in actions if a.school_id == h
                         and a.stage == k[1] and a.kind == "hire_pe_art")
                out.append(Shortfall("staff_quota_cv", h, k[1], 3 if pe else 1, hires_here,
                                     posts))
                found = True
        if not found:
            out.append(Shortfall("staff_quota", h, "", 1, st.hires[h], posts))
    return tuple(out)
