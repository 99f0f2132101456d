"""The multi-year roadmap (三年攻坚路线图): the ``roadmap:`` step of a scenario.

:func:`roadmap` walks the school years ``first_year … last_year`` on projected enrolment
and returns a typed :class:`RoadmapOutcome` of codes and numbers (the words are
:mod:`planner.outputs.roadmap`'s). Each year, in this order:

1. **Enrolment.** Every school's pupils per stage are the projection's for that year
   (:func:`planner.plans.projection.project`, point projection, rounded half up) from
   the district's history, with the closures executed so far and those due this year;
   a school's largest class scales with its pupils (``ceil(largest × new / old)``), its
   classes stay (a school keeps its classes; the remediation adds or rebalances them).
   Teachers are one year older and one year longer at their school per year past the
   last history year (nobody retires: a reading; the roster has no retirement data).
   **Zoning** (划片入学; the scenario's ``catchments:``, the same settings as the run's
   catchments step): in the first year the county is zoned once,
   :func:`planner.plans.catchments.catchment_plan` on that year's schools after its
   closures (their teachers one year on, before the rotation: the rotation then
   balances the teachers on the zoned enrolment) with *today's* pupils — a closed
   school's moved to its receivers in the closures' shares — since the units' children
   (units.csv) are today's: the year's projected pupils over today's children would
   count a growing cohort twice in the take-up. From that year on every projection of
   the roadmap gets the zones (:func:`zoning_of`: unit → its zone's school, share 1,
   per zoned stage; a unit a closest plan leaves out keeps today's nearest school) as
   a :class:`models.projection.Zoning`: the pupils enrolled stay (the catchments'
   ``keep_current``), each year's grade 1 and grade 7 are the zone's children at the
   zoned schools' pooled entry ratio (the model's "Zoning"). A stage without a plan is
   not zoned (the summary says its status). A school closing later keeps its zone
   until it closes; from then its zone's entrants go with its pupils to the receivers
   in the closures' shares (the model applies closures after the zones), so no unit
   is zoned again. The closure years chosen from the projection (no ``phasing``) and
   ``closed_pupils`` are of the projection without closures and zones. Per year the
   roadmap also projects without the zones (same closures): the zoned schools over
   their size limit (indicator 12) there in some year are the schools the zoning is
   for (:attr:`RoadmapOutcome.zoned_schools`).
2. **Closures** (先建后撤). A school of ``closures`` closes in its ``phasing`` year, or —
   without one — in the first year the projection (without closures) puts it under the
   standard's candidate size (``Rules.candidates_max_pupils``; already under it: the
   first year). The closed school's row leaves the school table; its pupils and its
   zone's entrants go to the receivers in the closures' shares (the projection's
   :class:`models.projection.Closure`); its teachers move to the receiver with the
   largest share teaching their stage (0 years there) and its staff quota is shared by
   the receivers in the same shares. The remediation actions at a receiver of a closure
   that year are scheduled first; when they do not fit in the year's budget the closure
   waits a year (its pupils stay where they are) — room is built before a school closes.
3. **Rotation** (indicator 19) on the year's district with
   :func:`planner.plans.rotation.rotate`. *No teacher twice within the cycle*: every
   teacher moved in an earlier roadmap year is marked not eligible (``exempt``) in the
   district given to the rotation, so the eligible pool and the required movers are of
   the others; the mark is removed again in the district carried on. Exchanges that end
   and return: the rotation on main makes transfers without a term, so no teacher returns
   within the roadmap; when the rotation's history (``rotation_history.csv``, the cycle,
   ``--record``) lands, this step should pass the year's history in memory instead of
   the ``exempt`` mark and take the returning exchange teachers from its output.
4. **Remediation** (:func:`planner.plans.remediation.remediate`, pupils never moved: the
   closures move pupils) on the district after the rotation gives every action that would
   close the year's gaps. **Within the budget**: actions are grouped in packages (a school
   part's actions for one indicator; every teacher action of a school — hires, their
   training, backbone development, certification, replacement, staff quota — is one
   package, since they name each other's teachers). The receivers' packages of the
   year's closures come first; then, repeatedly, the A indicator whose remaining
   packages cost least and fit in what is left is closed whole (most indicators closed
   first, then least cost; ties by indicator number); what is left of the budget then
   buys single packages, cheapest first (ties by school and indicator), so schools
   still move toward the floors. Packages not bought are the year's open work:
   :attr:`YearPlan.open_cost` says, per A indicator still failing, what would close it.
   The year's cost is the one-off cost plus the first year of the recurring cost of the
   actions bought that year (the remediation's ``total_cost_yuan`` convention); the
   recurring cost of earlier years' actions is carried in the bureau's running budget
   and reported (``recurring_carried_yuan``), not charged to the year's budget.
5. **Verdict.** The indicator engine on the year's district after the actions, with the
   rotation's indicator-19 figures. The first recognisable year is the first year with
   every A indicator passed, the B rule met and no veto (``Report.recognised``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from models import projection as pm
from models.status import Status
from planner.core.district import District, derive_teacher_flags, school_stages
from planner.core.errors import PlanInputError
from planner.core.params import (
    CatchmentParams,
    RemediationParams,
    RoadmapParams,
    RotationParams,
    SolveParams,
)
from planner.indicators.engine import Report, check
from planner.plans import projection as pp
from planner.plans import remediation as rem
from planner.plans import rotation as rot

__all__ = ["EXEMPT_MARK", "TEACHER_ACTIONS", "ClosureStep", "RoadmapOutcome", "YearPlan",
           "ZonedSchoolYear", "choose_within_budget", "packages", "resolve_closures",
           "roadmap", "zoning_of"]

#: the exempt reason marking a teacher moved earlier in the roadmap's cycle
EXEMPT_MARK = "roadmap_moved"
#: remediation actions on named teachers: one package per school
TEACHER_ACTIONS = frozenset({"hire_qualified", "hire_pe_art", "train_new_hires",
                             "develop_backbone", "certify_teacher", "replace_teacher",
                             "train_teacher", "raise_staff_quota"})
_TOL = 1e-6


@dataclass(frozen=True)
class ClosureStep:
    """A closure of the roadmap: the school, its receivers ``(school_id, share)``, the
    year it was planned and the year it happened (``None``: not within the roadmap)."""

    school_id: str
    receivers: tuple[tuple[str, float], ...]
    planned_year: int | None
    year: int | None = None
    chosen: bool = False          # the year was chosen from the projection (no phasing)


@dataclass(frozen=True)
class YearPlan:
    """One school year of the roadmap."""

    school_year: int
    budget_yuan: float | None
    district: District                    # the year's district before the rotation
    district_after: District              # after the rotation and the actions bought
    closed: tuple[str, ...]               # schools closed this year
    postponed: tuple[str, ...]            # closures due this year that wait
    rotation: Any                         # RotationOutcome | None
    excluded_teachers: tuple[str, ...]    # moved earlier in the cycle: not eligible
    remediation: Any                      # RemediationOutcome (every action) | None
    chosen: tuple[rem.ActionRow, ...]     # the actions bought this year
    not_bought: tuple[rem.ActionRow, ...]
    cost_yuan: float
    recurring_carried_yuan: float
    report: Report
    open_cost: dict[int, float | None]    # failing A indicator → cost of what would close it
    pupils: int
    violations: tuple[str, ...] = ()

    @property
    def a_passed(self) -> bool:
        return bool(self.report.a_passed == self.report.a_total)


@dataclass(frozen=True)
class RoadmapOutcome:
    status: Status
    params: RoadmapParams
    years: tuple[YearPlan, ...]
    closures: tuple[ClosureStep, ...]
    projection: pp.ProjectionOutcome       # with its band, under the closures made
    first_recognisable_year: int | None
    district: District
    district_after: District
    summary: dict[str, Any] = field(default_factory=dict)
    #: pupils a closed school would have had in its closure year (no closures)
    closed_pupils: dict[str, int] = field(default_factory=dict)
    #: the catchment plan of the first year (one outcome per stage; () without
    #: ``catchments``), the zones given to the projection and the year they apply from
    catchments: tuple[Any, ...] = ()
    zoning: pm.Zoning | None = None
    zoning_year: int | None = None
    #: per year, the zoned schools the zoning is for: over their size limit without it
    zoned_schools: tuple[ZonedSchoolYear, ...] = ()


@dataclass(frozen=True)
class ZonedSchoolYear:
    """A school the zoning is for in one year: its pupils (both stages) projected
    without the zones and with them (the roadmap's closures in both) and its size limit
    (indicator 12)."""

    school_year: int
    school_id: str
    without_zoning: int
    with_zoning: int
    limit: int


# ---------------------------------------------------------------------------
# closures
# ---------------------------------------------------------------------------

def resolve_closures(district: District, params: RoadmapParams) -> list[tuple[str, str, float]]:
    """``(school_id, receiving_school_id, share)`` of ``params.closures`` (a file or a
    list), checked as a consolidation's closures."""
    from planner.plans.consolidation import _check_plan_list, read_closures
    c = params.closures
    if c is None:
        return []
    if isinstance(c, (str, bytes)) or hasattr(c, "is_file"):
        return read_closures(c, district)
    return _check_plan_list(list(c), district)


def _model_closure(step: ClosureStep, year: int) -> pm.Closure:
    return pm.Closure(step.school_id, year,
                      tuple(pm.Receiver(r, s) for r, s in step.receivers))


def _apply_closure(d: District, step: ClosureStep) -> District:
    """``d`` without the closed school: its teachers and its staff quota go to its
    receivers (module docstring, step 2)."""
    s = d.schools
    sid = step.school_id
    row = s.loc[s["school_id"] == sid].iloc[0]
    recv = sorted(step.receivers, key=lambda x: (-x[1], x[0]))
    s = s[s["school_id"] != sid].copy()
    quota = float(row["staff_quota"]) if pd.notna(row["staff_quota"]) else 0.0
    for rid, share in step.receivers:
        i = s.index[s["school_id"] == rid][0]
        if pd.notna(s.at[i, "staff_quota"]):
            s.at[i, "staff_quota"] = float(s.at[i, "staff_quota"]) + quota * share
    t = d.teachers
    if t is not None:
        t = t.copy()
        stages = {rid: set(school_stages(s.loc[s["school_id"] == rid].iloc[0]))
                  for rid, _ in recv}
        for i in t.index[t["school_id"] == sid]:
            st = t.at[i, "stage"]
            to = next((r for r, _ in recv if st in stages[r]), recv[0][0])
            t.at[i, "school_id"] = to
            t.at[i, "years_at_school"] = 0.0
        t = derive_teacher_flags(t.drop(columns=["qualified", "is_backbone", "pe_art",
                                                 "eligible"]), d.settings)
    return d.with_schools(s.reset_index(drop=True), t)


# ---------------------------------------------------------------------------
# the year's district
# ---------------------------------------------------------------------------

def _with_enrolment(d: District, enrol: dict[tuple[str, str], int]) -> District:
    s = d.schools.copy()
    for i in s.index:
        sid = str(s.at[i, "school_id"])
        for st in ("primary", "junior"):
            key = (sid, st)
            if key not in enrol:
                continue
            old, new = int(s.at[i, f"students_{st}"]), int(enrol[key])
            s.at[i, f"students_{st}"] = new
            mc = int(s.at[i, f"max_class_{st}"])
            if old > 0 and mc > 0:
                s.at[i, f"max_class_{st}"] = max(1, math.ceil(mc * new / old - _TOL))
    return d.with_schools(s)


def _today_after(today: District, d: District, closing: Sequence[ClosureStep]
                 ) -> dict[tuple[str, str], int]:
    """Pupils per ``(school_id, stage)`` of the schools of ``d``: ``today``'s (the last
    history year), a closed school's moved to its receivers teaching the stage in the
    closure's shares (rounded half up)."""
    s = today.schools
    pupils = {(str(r.school_id), st): float(getattr(r, f"students_{st}"))
              for r in s.itertuples(index=False) for st in ("primary", "junior")}
    keep = {str(x) for x in d.schools["school_id"]}
    teaches = {str(r.school_id): set(school_stages(r)) for r in d.schools.itertuples(index=False)}
    for step in closing:
        for st in ("primary", "junior"):
            n = pupils.pop((step.school_id, st), 0.0)
            recv = [(r, w) for r, w in step.receivers if st in teaches.get(r, set())]
            tot = sum(w for _, w in recv)
            for r, w in recv:
                pupils[(r, st)] = pupils.get((r, st), 0.0) + n * w / tot
    return {k: int(math.floor(v + 0.5)) for k, v in pupils.items()  # not-a-rule: half up
            if k[0] in keep}


def _older(d: District, years: int) -> District:
    """Teachers ``years`` older and longer at their school."""
    if d.teachers is None or years == 0:
        return d
    t = d.teachers.drop(columns=["qualified", "is_backbone", "pe_art", "eligible"])
    t = t.assign(age=t["age"] + years, years_at_school=t["years_at_school"] + years)
    return d.with_schools(d.schools, derive_teacher_flags(t, d.settings))


def _mark_moved(d: District, moved: set[str]) -> District:
    t = d.teachers.drop(columns=["qualified", "is_backbone", "pe_art", "eligible"])
    hit = t["teacher_id"].astype(str).isin(moved)
    ex = t["exempt"].fillna("").astype(str)
    t = t.assign(exempt=np.where(hit & (ex.str.strip() == ""), EXEMPT_MARK, ex))
    return d.with_schools(d.schools, derive_teacher_flags(t, d.settings))


def _unmark(d: District) -> District:
    if d.teachers is None:
        return d
    t = d.teachers.drop(columns=["qualified", "is_backbone", "pe_art", "eligible"])
    ex = t["exempt"].fillna("").astype(str)
    t = t.assign(exempt=np.where(ex == EXEMPT_MARK, "", ex))
    return d.with_schools(d.schools, derive_teacher_flags(t, d.settings))


# ---------------------------------------------------------------------------
# the budget
# ---------------------------------------------------------------------------

def packages(rows: Sequence[rem.ActionRow]) -> dict[tuple[str, str, int], list[int]]:
    """Row numbers of each package (module docstring, step 4): ``(school_id, stage,
    indicator)``; every teacher action of a school is ``(school_id, "", 0)``."""
    out: dict[tuple[str, str, int], list[int]] = {}
    for k, r in enumerate(rows):
        key = (r.school_id, "", 0) if r.action in TEACHER_ACTIONS else \
            (r.school_id, r.stage, int(r.indicator))
        out.setdefault(key, []).append(k)
    return out


#: actions bought in part when a package does not fit: a building or equipment is
#: phased over years (areas in whole ``area_step`` m², money in whole ``money_step`` yuan)
DIVISIBLE = {"build_floor_area": "area", "build_sports_area": "area", "buy_equipment": "money"}


def _part_of(r: rem.ActionRow, money: float, steps: tuple[float, float]) -> rem.ActionRow | None:
    """The largest part of ``r`` that ``money`` buys (``None``: not a whole step)."""
    step = steps[0] if DIVISIBLE[r.action] == "area" else steps[1]
    q = money / r.unit_cost_yuan if r.unit_cost_yuan > 0 else 0.0
    if step > 0:
        q = math.floor(q / step + _TOL) * step
    q = min(q, float(r.quantity))
    if q <= _TOL:
        return None
    return replace(r, quantity=round(q, 6), cost_yuan=round(q * r.unit_cost_yuan, 2),
                   value_after=None)


def choose_within_budget(rows: Sequence[rem.ActionRow], budget: float | None,
                         first: Sequence[str] = (), steps: tuple[float, float] = (0.0, 0.0)
                         ) -> tuple[list[rem.ActionRow], list[rem.ActionRow], list[str]]:
    """``(bought, not bought, short)``: the rows bought within ``budget`` (``None``: all)
    and the schools of ``first`` (the receivers of the year's closures) whose packages
    did not fit. Order: ``first``'s packages, then whole indicators cheapest first, then
    single packages cheapest first, then a part of the first building or equipment
    package left (by indicator, school) that the rest of the money buys — a building
    phased over years. ``steps``: (area step m², money step yuan) of a part."""
    pk = packages(rows)
    cost = {k: sum(rows[i].cost_yuan for i in v) for k, v in pk.items()}
    if budget is None:
        return list(rows), [], []
    left = float(budget)
    bought: set[tuple[str, str, int]] = set()
    short: list[str] = []
    for sid in first:
        mine = sorted(k for k in pk if k[0] == sid)
        need = sum(cost[k] for k in mine if k not in bought)
        if need <= left + _TOL:
            bought.update(mine)
            left -= need
        else:
            short.append(sid)
    ind_of: dict[int, set[tuple[str, str, int]]] = {}
    for k, idx in pk.items():
        for i in idx:
            ind_of.setdefault(int(rows[i].indicator), set()).add(k)
    while True:
        options = []
        for ind, ks in ind_of.items():
            rest = ks - bought
            if not rest:
                continue
            c = sum(cost[k] for k in rest)
            if c <= left + _TOL:
                options.append((c, ind, rest))
        if not options:
            break
        c, _, rest = min(options, key=lambda x: (x[0], x[1]))
        bought |= rest
        left -= c
    for k in sorted(pk, key=lambda k: (cost[k], k)):
        if k not in bought and cost[k] <= left + _TOL:
            bought.add(k)
            left -= cost[k]
    chosen = [rows[i] for k in sorted(bought) for i in pk[k]]
    rest_rows = [rows[i] for k in sorted(pk) if k not in bought for i in pk[k]]
    for k in sorted((k for k in pk if k not in bought), key=lambda k: (k[2], k[0], k[1])):
        idx = pk[k]
        if len(idx) != 1 or rows[idx[0]].action not in DIVISIBLE or left <= _TOL:
            continue
        part = _part_of(rows[idx[0]], left, steps)
        if part is None:
            continue
        r = rows[idx[0]]
        chosen.append(part)
        pos = rest_rows.index(r)
        rest_rows[pos] = replace(r, quantity=round(float(r.quantity) - part.quantity, 6),
                                 cost_yuan=round(r.cost_yuan - part.cost_yuan, 2),
                                 value_after=None)
        left -= part.cost_yuan
    return chosen, rest_rows, short


def _budget_of(params: RoadmapParams, year: int) -> float | None:
    b = params.budget_yuan
    if b is None:
        return None
    if isinstance(b, dict):
        return b.get(year, 0.0)
    return float(b)


def _open_cost(report: Report, not_bought: Sequence[rem.ActionRow]) -> dict[int, float | None]:
    """Failing A indicator → the cost of the packages not bought that touch it (``None``:
    no action of the remediation closes it)."""
    by: dict[int, float] = {}
    for idx in packages(not_bought).values():
        c = sum(not_bought[i].cost_yuan for i in idx)
        for ind in {int(not_bought[i].indicator) for i in idx}:
            by[ind] = by.get(ind, 0.0) + c
    return {int(r.id): (round(by[int(r.id)], 2) if int(r.id) in by else None)
            for r in report.a_results if not r.passed}


def zoning_of(outcomes: Sequence[Any], shares: pd.DataFrame, year: int) -> pm.Zoning | None:
    """The projection's :class:`~models.projection.Zoning` of a catchment plan: from
    ``year`` on, each unit's children of a zoned stage go to its zone's school (share
    1). Stages without a plan are not zoned; a unit a closest plan leaves unzoned keeps
    its row of ``shares`` (today's nearest school). ``None``: no stage has a plan."""
    rows = []
    stages = []
    for o in outcomes:
        if not o.has_plan:
            continue
        stages.append(o.stage)
        u = o.units
        got = u[u["school_id"].fillna("").astype(str) != ""]
        rows.append(pd.DataFrame({"unit_id": got["unit_id"].astype(str),
                                  "school_id": got["school_id"].astype(str),
                                  "stage": o.stage, "share": 1.0}))
        keep = set(got["unit_id"].astype(str))
        old = shares[(shares["stage"] == o.stage) & ~shares["unit_id"].astype(str).isin(keep)]
        rows.append(old[["unit_id", "school_id", "stage", "share"]])
    if not stages:
        return None
    z = pd.concat(rows, ignore_index=True).sort_values(["stage", "unit_id"], kind="stable")
    return pm.Zoning(int(year), z.reset_index(drop=True), tuple(stages))


def _totals(enrol: dict[tuple[str, str], int]) -> dict[str, int]:
    out: dict[str, int] = {}
    for (sid, _), v in enrol.items():
        out[sid] = out.get(sid, 0) + int(v)
    return out


def _zoned_for(district: District, zoning: pm.Zoning, both: dict[int, tuple[dict, dict]]
               ) -> tuple[ZonedSchoolYear, ...]:
    """The rows of :attr:`RoadmapOutcome.zoned_schools`: the schools zoned in a stage of
    ``zoning`` whose pupils without the zones exceed their size limit in some year
    (``both``: year → (without, with) pupils per school)."""
    rules = district.rules
    zoned = set(zoning.shares["school_id"].astype(str))
    types = dict(zip(district.schools["school_id"].astype(str), district.schools["type"]))
    limit = {sid: int(rules.school_size_limit(str(types[sid]))) for sid in zoned
             if sid in types}
    watch = sorted({sid for wo, _ in both.values() for sid, v in wo.items()
                    if sid in limit and v > limit[sid]})
    return tuple(ZonedSchoolYear(y, sid, int(both[y][0].get(sid, 0)),
                                 int(both[y][1].get(sid, 0)), limit[sid])
                 for y in sorted(both) for sid in watch)


def _year_ids(after: District, before: District, year: int) -> District:
    """New teachers of the year's actions get the year in their id (``<id>-<year>``):
    the remediation numbers its hires from 1 every time it runs."""
    if after.teachers is None or before.teachers is None:
        return after
    old = set(before.teachers["teacher_id"].astype(str))
    t = after.teachers.copy()
    ids = t["teacher_id"].astype(str)
    t["teacher_id"] = [x if x in old else f"{x}-{year}" for x in ids]
    return after.with_schools(after.schools, t)


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------

def roadmap(district: District, params: RoadmapParams = RoadmapParams(),  # noqa: B008
            solve: SolveParams = SolveParams(),  # noqa: B008 (frozen)
            *, rotation: RotationParams | None = None,
            remediation: RemediationParams | None = None,
            catchments: CatchmentParams | None = None) -> RoadmapOutcome:
    """The roadmap of ``district`` (module docstring).

    Raises
    ------
    PlanInputError
        No history or births, years outside the projection, a bad closure.
    """
    rules = district.rules
    if district.enrolment_history is None:
        raise PlanInputError("enrolment_history.csv: a roadmap projects enrolment; the "
                             "district has no enrolment history")
    base_year = int(district.enrolment_history["school_year"].max())
    first = params.first_year if params.first_year is not None else base_year + 1
    last = params.last_year if params.last_year is not None else first + 2
    if first <= base_year or last < first:
        raise PlanInputError(f"roadmap.first_year {first}, last_year {last}: the road must "
                             f"start after the last history year {base_year} and end "
                             f"no earlier than it starts")
    horizon = last - base_year
    proj_p = params.projection
    free = pp.project(district, proj_p, horizon=max(horizon, proj_p.years))
    flags = free.candidates if free.candidates is not None else free.result.flags
    first_below = dict(zip(flags["school_id"].astype(str), flags["first_year"].astype(int)))
    plan = resolve_closures(district, params)
    phasing = params.phasing or {}
    recv: dict[str, list[tuple[str, float]]] = {}
    for s, r, w in plan:
        recv.setdefault(s, []).append((r, w))
    unknown = sorted(set(phasing) - set(recv))
    if unknown:
        raise PlanInputError(f"roadmap.phasing: {', '.join(unknown)} is not a school of "
                             f"roadmap.closures")
    steps: dict[str, ClosureStep] = {}
    for sid in sorted(recv):
        if sid in phasing:
            yr: int | None = int(phasing[sid])
            chosen = False
        else:
            fb = first_below.get(sid)
            yr = None if fb is None or fb > last else max(first, fb)
            chosen = True
        steps[sid] = ClosureStep(sid, tuple(recv[sid]), yr, None, chosen)

    rot_p = rotation or RotationParams()
    rem_p = remediation or RemediationParams()
    current = district
    done: dict[str, int] = {}
    moved: set[str] = set()
    carried = 0.0
    closed_pupils: dict[str, int] = {}
    years: list[YearPlan] = []
    shares = free.problem.shares
    zoning: pm.Zoning | None = None
    zoned_plan: tuple[Any, ...] = ()
    both: dict[int, tuple[dict, dict]] = {}
    for year in range(first, last + 1):
        due = [sid for sid, st in steps.items() if sid not in done and st.planned_year
               is not None and st.planned_year <= year]
        postponed: list[str] = []
        while True:
            closing = [s for s in due if s not in postponed]
            cl = [_model_closure(steps[s], y) for s, y in done.items()] + \
                 [_model_closure(steps[s], year) for s in closing]
            proj = pp.project(district, proj_p, horizon=horizon, closures=cl, draws=0,
                              shares=shares, zoning=zoning)
            d0 = _older(current, 1 if year > first else year - base_year)
            for sid in closing:
                d0 = _apply_closure(d0, steps[sid])
            d = _with_enrolment(d0, pp.enrolment_of(proj.result, year))
            if catchments is not None and year == first:
                # zoned on the first year's schools after its closures, with today's
                # pupils (module docstring, step 1)
                from planner.plans import catchments as cat
                dz = _with_enrolment(d0, _today_after(district, d0, [steps[s] for s in closing]))
                zoned_plan = tuple(cat.catchment_plan(dz, catchments, solve, rules=rules))
                zoning = zoning_of(zoned_plan, shares, year)
                if zoning is not None:
                    proj = pp.project(district, proj_p, horizon=horizon, closures=cl,
                                      draws=0, shares=shares, zoning=zoning)
                    d = _with_enrolment(d0, pp.enrolment_of(proj.result, year))
            ro = None
            counts = None
            d_rot = d
            if params.rotation and d.teachers is not None:
                ro = rot.rotate(_mark_moved(d, moved), rot_p, solve, rules=rules)
                if ro.status.has_plan:
                    counts = ro.indicator_19()
                    d_rot = _unmark(ro.district_after)
            rm = rem.remediate(d_rot, rem_p, solve, rules=rules, rotation=counts)
            rows = list(rm.rows)
            receivers = sorted({r for s in closing for r, _ in steps[s].receivers})
            bought, not_bought, short = choose_within_budget(
                rows, _budget_of(params, year), receivers, (rem_p.area_step, rem_p.money_step))
            late = [s for s in closing if any(r in short for r, _ in steps[s].receivers)]
            if not late:
                break
            postponed += late
        if zoning is not None:
            unzoned = pp.project(district, proj_p, horizon=horizon, closures=cl, draws=0,
                                 shares=shares)
            both[year] = (_totals(pp.enrolment_of(unzoned.result, year)),
                          _totals(pp.enrolment_of(proj.result, year)))
        after = _year_ids(rem.apply_actions(d_rot, bought, rules), d_rot, year)
        report = check(after, rotation=counts, rules=rules)
        free_now = pp.enrolment_of(free.result, year)
        for s in closing:
            done[s] = year
            closed_pupils[s] = sum(v for (sid, _), v in free_now.items() if sid == s)
        viol = tuple(ro.violations) if ro is not None else ()
        if ro is not None and ro.status.has_plan:
            twice = sorted({m.teacher_id for m in ro.result.moves} & moved)
            viol += tuple(f"rotation: {t} moved twice within the cycle" for t in twice)
            moved |= {str(m.teacher_id) for m in ro.result.moves}
        cost = round(sum(r.cost_yuan for r in bought), 2)
        years.append(YearPlan(
            school_year=year, budget_yuan=_budget_of(params, year), district=d,
            district_after=after, closed=tuple(closing), postponed=tuple(postponed),
            rotation=ro, excluded_teachers=tuple(sorted(moved - {str(m.teacher_id) for m in
                                                                (ro.result.moves if ro
                                                                 is not None else ())})),
            remediation=rm, chosen=tuple(bought),
            not_bought=tuple(not_bought), cost_yuan=cost,
            recurring_carried_yuan=round(carried, 2), report=report,
            open_cost=_open_cost(report, not_bought),
            pupils=int(d.schools["students_primary"].sum() + d.schools["students_junior"].sum()),
            violations=viol))
        # pupil moves are decided again every year on the year's enrolment
        carried += sum(r.cost_yuan for r in bought if r.recurring and r.action != "move_pupils")
        for s in postponed:
            steps[s] = replace(steps[s], planned_year=year + 1)
        current = after
    final_steps = tuple(replace(st, year=done.get(sid)) for sid, st in sorted(steps.items()))
    frec = next((y.school_year for y in years if y.report.recognised), None)
    status = Status.OPTIMAL
    for y in years:           # a remediation without a full plan is an open indicator
        if y.rotation is not None and not y.rotation.status.has_plan:
            status = y.rotation.status
    made = tuple(_model_closure(steps[s], y) for s, y in sorted(done.items()))
    banded = pp.project(district, proj_p, horizon=max(horizon, proj_p.years), closures=made,
                        shares=shares, zoning=zoning)
    out = RoadmapOutcome(status=status, params=params, years=tuple(years),
                         closures=final_steps, projection=banded,
                         first_recognisable_year=frec, district=district,
                         district_after=current, closed_pupils=closed_pupils,
                         catchments=zoned_plan, zoning=zoning,
                         zoning_year=zoning.year if zoning is not None else None,
                         zoned_schools=_zoned_for(district, zoning, both)
                         if zoning is not None else ())
    return replace(out, summary=summary_of(out))


def summary_of(o: RoadmapOutcome) -> dict[str, Any]:
    """The language-free figures of ``roadmap_summary.json``."""
    years = []
    for y in o.years:
        rotated = len(y.rotation.result.moves) if y.rotation is not None and \
            y.rotation.status.has_plan else 0
        years.append({
            "school_year": y.school_year, "a_passed": y.a_passed,
            "a_passed_count": int(y.report.a_passed), "a_total": int(y.report.a_total),
            "recognised": bool(y.report.recognised),
            "cost_yuan": y.cost_yuan, "budget_yuan": y.budget_yuan,
            "recurring_carried_yuan": y.recurring_carried_yuan,
            "pupils": y.pupils, "closed": list(y.closed), "postponed": list(y.postponed),
            "rotated": rotated, "excluded_teachers": len(y.excluded_teachers),
            "open_indicators": {str(k): v for k, v in sorted(y.open_cost.items())},
            "not_bought_yuan": round(sum(r.cost_yuan for r in y.not_bought), 2),
            "violations": list(y.violations)})
    return {"status": o.status.value, "years": years,
            "first_recognisable_year": o.first_recognisable_year,
            "closures": [{"school_id": c.school_id, "planned_year": c.planned_year,
                          "year": c.year, "chosen": c.chosen,
                          "receivers": [{"school_id": r, "share": w} for r, w in c.receivers]}
                         for c in o.closures],
            "projection_base_year": o.projection.result.base_year,
            "zoning": None if not o.catchments else {
                "year": o.zoning_year,
                "stages": list(o.zoning.stages) if o.zoning is not None else [],
                "status": {c.stage: c.status.value for c in o.catchments},
                "schools": [{"school_year": z.school_year, "school_id": z.school_id,
                             "without_zoning": z.without_zoning,
                             "with_zoning": z.with_zoning, "limit": z.limit}
                            for z in o.zoned_schools]}}
