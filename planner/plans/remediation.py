"""The remediation programme for a district (达标整改测算): the library call behind
``planner remediate`` and the ``remediation:`` step of a scenario.

:func:`remediate` turns a :class:`~planner.core.district.District` (today's, or the one
after a scenario's plans) into a :class:`models.remediation.RemediationProblem`, solves
it, applies every action to the district (``district_after``, the same data format) and
returns a typed :class:`RemediationOutcome` of codes and numbers (the words are
:mod:`planner.outputs.remediation`'s).

Unit costs
----------
The cost table ``planner/standards/<params.cost_table>.yaml`` (default
``costs-hunan-2023``, each value with its basis) gives yuan per unit for every key of
:data:`COST_KEYS`; ``params.costs`` overrides keys: a YAML file of ``key: yuan`` (the
command's ``--costs FILE``) or, in a scenario, the same mapping. An unknown key, or a
value that is not a non-negative number, is a :class:`~planner.core.errors.DataError`
naming the file and the key and listing the allowed keys. Besides the model's keys
(:data:`models.remediation.COST_KEYS`), two price a pupil move: a moved pupil costs
``pupil_move_per_year + pupil_move_per_km_year × km`` a year (km: the one-way road
distance between the two schools by ``district.travel``). The least-cost plan weighs
``params.recurring_years`` years (default 10, not the model's 1: a building is weighed
against a decade of a salary or a bus seat) of every recurring cost against the one-off
costs; ``total_cost_yuan`` is the one-off cost plus one year of the recurring cost.

The problem (readings of the adapter, each a choice)
----------------------------------------------------
* **Parts and scope** are the indicator engine's: a part per stage a school's type
  teaches (a special school: the stages it has pupils in) with pupils; private and
  special schools are out of 1–7 unless the district's settings include them, teaching
  points as ``settings.teaching_points`` says. ``merge_into_parent`` is not supported (a
  merged part's resources belong to two schools, which the model cannot build for): a
  :class:`PlanInputError`. Teacher counts are ``District.teacher_counts()``; the
  development pool of a part is its rostered teachers. A roster is required
  (indicators 1–3, 17 and 20 are counted from it).
* **Facility split.** A part's facility weight and a school's weighted senior pupils
  are the standard's ``facility_weights`` (types without weights: one stage, weight 1).
* **Limits per school**, as the engine applies them: 12 to primary, junior, complete
  middle schools and teaching points (single-stage limit) and nine- and twelve-year
  schools (through limit), special schools out; 13 to every non-special school;
  11 to every school but special schools and teaching points that has classes, a room
  counted as undersized when the smallest room of its kind is below the area; 10's
  quota rule and funds to every public non-special school with pupils, 15's funds to
  public special schools with pupils, 14's floor to public rural schools and teaching
  points under the standard's pupils (``min_pupils × (g_p P_p + g_j P_j) / P``), 28 to
  every public school with public funds and pupils.
* **Staff posts.** The quota is the school's ``staff_quota`` in whole posts (a
  fractional quota, as a consolidation shares a closed school's quota, counts its
  whole posts); the head count on it is the school's rostered teachers.
* **Certification.** A teacher can be certified unless the degree is below what the
  Teachers Law (教师法 art. 11) requires for a certificate of the stage: junior
  teachers need a college (associate) degree, so a junior teacher with a secondary
  degree is replaced instead.
* **Pupil moves.** A school part failing 4–7, 12 or 13 today may send pupils to the
  ``params.move_candidates`` nearest school parts of the same stage and scope (by
  road travel time, within ``params.max_move_min``, default the standard's ride limit;
  a school the roads do not reach is no candidate),
  each taking at most the free seats of its classes (``classes × largest class allowed
  − pupils``, and its size limit in the model); schools under indicator 14's floor
  neither send nor receive. Without move candidates (``0``) no pupil moves.
* **Missing data** a limit needs (a resource of an in-scope school, a room count, a
  largest class, funds, a teaching point's own quota) is a :class:`DataError` naming
  ``schools.csv``, the row and the column: a plan cannot be costed on no data.

The district after the plan
---------------------------
Every action changes the column its row names: areas, equipment, rooms, classrooms,
classes, quota, funds are added; a rebalanced or filled class sets ``max_class_*`` to
the model's largest class after; pupils move between the two schools' ``students_*``.
Rooms: the data hold a room count and the smallest room's area; a rebuilt undersized
room (or one retired from use) leaves rooms that meet the area, so the smallest area
becomes the standard's (the other rooms are read as meeting it, the model's reading);
new rooms meet the area. Teachers: a hire is a new roster row (id ``<school>-<stage>-N<k>``,
subject ``待定`` or, for a PE/art hire, ``体育``; a bachelor's degree, certified, full time,
the training hours of 17); a replacement takes the replaced teacher's row's place with
the same subject (id ``<old id>-R``); trained teachers gain the hours short; certified
teachers become certified; developed teachers become county-level backbone teachers —
the part's non-backbone teachers who stay, most years at the school first (then id),
then its new hires — and the rows name them.

What no resource can fix
------------------------
:data:`NOT_FIXABLE` (16, 18, 19, 21, 22, 24, 25, 26, 31, 36), the county facts inside
fixable indicators (10 ``unified_standards``, 15 without a special school, 17
``training_records_kept``, 28 ``training_plan_exists``), the B rule and the vetoes are
listed in :attr:`RemediationOutcome.not_fixable` with their state after the plan and a
code for what the bureau must show instead. Vacant posts left after the plan (有编不补
is a veto) are listed per school.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geodata.travel import FarFromRoads
from models import remediation as rm
from models.status import Status
from planner.core.district import District, derive_teacher_flags, school_stages
from planner.core.errors import DataError, PlanInputError
from planner.core.params import RemediationParams, SolveParams
from planner.core.rules import STANDARDS_DIR, Rules
from planner.indicators.engine import Report, check
from planner.io.yamlsafe import load_yaml, short

__all__ = ["COST_KEYS", "CostTable", "NOT_FIXABLE", "SCHOOL_LEVEL", "ActionRow",
           "RemediationOutcome", "apply_actions", "build_problem", "load_cost_table",
           "move_options", "not_fixable", "remediate"]

#: every key of a cost table: the model's, then the two prices of a moved pupil
MOVE_KEYS = ("pupil_move_per_year", "pupil_move_per_km_year")
COST_KEYS: tuple[str, ...] = tuple(rm.COST_KEYS) + MOVE_KEYS
#: the school-level A indicators a plan must make pass (issue 13, "done when")
SCHOOL_LEVEL = (1, 2, 3, 4, 5, 6, 7, 11, 12, 13, 17, 20)  # not-a-rule: indicator ids
#: the A indicators the model remediates (per pupil, rooms, size, classes, funds, roster)
FIXABLE = SCHOOL_LEVEL + (10, 14, 15, 28)  # not-a-rule: indicator ids
#: A indicators no resource fixes, with what the bureau shows instead (catalogue
#: ``remediation.not_fixable.<code>``); 19 and 21 are made by the rotation and the
#: catchment plans
_NOT_FIXABLE_IDS = (16, 18, 19, 21, 22, 24, 25, 26, 31, 36)  # not-a-rule: indicator ids
NOT_FIXABLE: dict[int, str] = dict(zip(_NOT_FIXABLE_IDS, (
    "teacher_pay", "quota_management", "rotation", "catchment", "hs_quota", "migrant",
    "retention", "disabled", "quality", "recognition")))
#: county facts inside the fixable indicators: (indicator, fact)
FACTS = ((10, "unified_standards"), (17, "training_records_kept"),  # not-a-rule: ids
         (28, "training_plan_exists"))
#: subjects of new teachers (data values of teachers.csv)
HIRE_SUBJECT = "待定"
PE_SUBJECT = "体育"
HIRE_DEGREE = "bachelor"
#: stages whose certificate needs more than a secondary degree (教师法 art. 11)
CERT_NEEDS_COLLEGE = frozenset({"junior"})


# ---------------------------------------------------------------------------
# the cost table
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CostTable:
    """Yuan per unit of every key of :data:`COST_KEYS`; ``basis`` the table's basis of
    each value, ``overridden`` the keys set by ``params.costs`` (and where)."""

    name: str
    yuan: Mapping[str, float]
    basis: Mapping[str, str]
    overridden: Mapping[str, str] = field(default_factory=dict)
    title: Mapping[str, str] = field(default_factory=dict)     # {"zh": ..., "en": ...}

    def unit_costs(self) -> rm.UnitCosts:
        return rm.UnitCosts(**{k: float(self.yuan[k]) for k in rm.COST_KEYS})

    def move_cost(self, km: float) -> float:
        """Yuan a year of one pupil moved ``km`` (one way)."""
        return float(self.yuan["pupil_move_per_year"]
                     + self.yuan["pupil_move_per_km_year"] * km)


def _table_path(name: str) -> Path:
    p = Path(name)
    if p.suffix not in (".yaml", ".yml"):
        p = STANDARDS_DIR / f"{name}.yaml"
    return p


def _cost_values(data: Any, label: str, prefix: str = "") -> tuple[dict[str, float],
                                                                  list[str]]:
    """``key: yuan`` of an override mapping; problems name ``label`` and the key."""
    if not isinstance(data, Mapping):
        return {}, [f"{label} key {prefix.rstrip('.') or '-'}: not a mapping of cost keys "
                    f"({', '.join(COST_KEYS)})"]
    out, problems = {}, []
    for k, v in data.items():
        if k not in COST_KEYS:
            problems.append(f"{label} key {prefix}{short(k)}: unknown cost key; allowed: "
                            f"{', '.join(COST_KEYS)}")
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v < 0:
            problems.append(f"{label} key {prefix}{k}: {short(repr(v))} is not a non-negative "
                            f"number of yuan")
        else:
            out[str(k)] = float(v)
    return out, problems


def load_cost_table(params: RemediationParams = RemediationParams(),  # noqa: B008 (frozen)
                    where: str = "remediation.costs") -> CostTable:
    """The cost table of ``params`` with its overrides applied (see the module
    docstring); a :class:`DataError` lists every problem."""
    path = _table_path(params.cost_table)
    if not path.exists():
        raise DataError([f"{where}: cost table {params.cost_table!r} not found "
                         f"({path.name}; a name in planner/standards or a path)"])
    raw = load_yaml(path, path.name)
    costs = raw.get("costs") if isinstance(raw, dict) else None
    problems = []
    yuan: dict[str, float] = {}
    basis: dict[str, str] = {}
    if not isinstance(costs, Mapping):
        raise DataError([f"{path.name} key costs: the table has no costs: mapping"])
    for k in COST_KEYS:
        e = costs.get(k)
        v = e.get("yuan") if isinstance(e, Mapping) else None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
            problems.append(f"{path.name} key costs.{k}.yuan: missing or not a non-negative "
                            f"number")
            continue
        yuan[k] = float(v)
        basis[k] = str(e.get("basis", ""))
    for k in costs:
        if k not in COST_KEYS:
            problems.append(f"{path.name} key costs.{short(k)}: unknown cost key; allowed: "
                            f"{', '.join(COST_KEYS)}")
    over: dict[str, float] = {}
    source = ""
    c = params.costs
    if isinstance(c, (str, Path)):
        p = Path(c)
        if not p.exists():
            problems.append(f"{where}: {p} does not exist (a YAML file of cost keys)")
        else:
            data = load_yaml(p, p.name)
            over, more = _cost_values({} if data is None else data, p.name)
            problems += more
            source = p.name
    elif c is not None:
        over, more = _cost_values(c, where.split(" key ")[0],
                                  "" if " key " not in where else where.split(" key ")[1] + ".")
        problems += more
        source = "scenario"
    if problems:
        raise DataError(problems)
    yuan.update(over)
    name = str(raw.get("name", path.stem))
    return CostTable(name=name, yuan=yuan, basis=basis, overridden={k: source for k in over},
                     title={lang: str(raw.get(f"title_{lang}", name)) for lang in ("zh", "en")})


# ---------------------------------------------------------------------------
# the outcome
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ActionRow:
    """One row of ``remediation.csv`` in codes: the model's action with the teachers it
    names (developed teachers chosen here) and the receiving school of a move."""

    school_id: str
    stage: str
    indicator: int
    action: str
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
    cost_key: str | None = None


@dataclass(frozen=True)
class RemediationOutcome:
    """A remediation programme for a district, as the library returns it.

    ``status`` is the model's (a closest plan when infeasible: ``result.closest``);
    ``district`` the district it was made on and ``district_after`` that district with
    every action applied; ``before``/``after`` the indicator engine's reports of the two
    (with the same rotation and catchment figures); ``summary`` the language-free
    figures of ``summary.json``; ``violations`` the limits the model's own exact check
    finds broken after the plan (empty for a sound plan that is not a closest plan).
    """

    status: Status
    params: RemediationParams
    costs: CostTable
    problem: rm.RemediationProblem
    result: rm.RemediationResult
    district: District
    district_after: District
    rows: tuple[ActionRow, ...]
    before: Report
    after: Report
    not_fixable: tuple[dict, ...]
    summary: dict[str, Any]
    violations: tuple[str, ...] = ()
    indicator_inputs: dict = field(default_factory=dict)


def remediate(district: District,
              params: RemediationParams = RemediationParams(),  # noqa: B008 (frozen)
              solve: SolveParams = SolveParams(),  # noqa: B008 (frozen)
              *, rules: Rules | None = None, rotation: Mapping[str, int] | None = None,
              catchments: Mapping[str, float] | None = None,
              where: str = "remediation.costs") -> RemediationOutcome:
    """The least-cost remediation programme of ``district``.

    ``rotation`` and ``catchments`` are the figures of indicators 19 and 21 the
    verdicts before and after use (a scenario's plans; ``None``: the county facts).

    Raises
    ------
    DataError
        A cost table or override is bad, or data a limit needs is missing.
    PlanInputError
        No teacher roster, or ``teaching_points: merge_into_parent``.
    models.mip.SolverUnavailable
        The requested solver is not installed.
    """
    rules = district.rules if rules is None else rules
    costs = load_cost_table(params, where)
    problem = build_problem(district, rules, costs, params)
    settings = rm.RemediationSettings(
        solver=solve.solver, time_limit=solve.time_limit, gap=params.gap,
        recurring_years=params.recurring_years, area_step=params.area_step,
        money_step=params.money_step)
    result = rm.solve(problem, settings)
    rows = action_rows(district, result, costs)
    after_d = apply_actions(district, rows, rules)
    extras = {"rotation": None if rotation is None else dict(rotation),
              "catchments": None if catchments is None else dict(catchments)}
    before = check(district, rotation=extras["rotation"], catchments=extras["catchments"],
                   rules=rules)
    after = check(after_d, rotation=extras["rotation"], catchments=extras["catchments"],
                  rules=rules)
    nf = tuple(not_fixable(after, after_d, rules))
    violations = tuple(f"{v.code} {v.indicator} {v.school_id} {v.stage} {v.value:g} {v.limit:g}"
                       for v in result.after.violations)
    summary = _summary(district, after_d, result, rows, costs, before, after, nf, extras,
                       len(problem.moves))
    return RemediationOutcome(status=result.status, params=params, costs=costs,
                              problem=problem, result=result, district=district,
                              district_after=after_d, rows=tuple(rows), before=before,
                              after=after, not_fixable=nf, summary=summary,
                              violations=violations, indicator_inputs=extras)


# ---------------------------------------------------------------------------
# District → problem
# ---------------------------------------------------------------------------

def limits_of(rules: Rules) -> rm.Limits:
    """Every number of the standard the model applies, from ``rules``."""
    return rm.Limits(
        floors={r.id: r.threshold.as_dict() for r in rules.per_pupil},
        multipliers={r.id: r.multiplier for r in rules.per_pupil},
        cv_limit=rules.cv_limit.as_dict(), classes_per_room=rules.classes_per_room,
        max_class={k: int(v) for k, v in rules.max_class.items()},
        pupils_per_quota=rules.pupils_per_quota.as_dict(),
        funds_per_pupil_yuan=rules.funds_per_pupil_yuan.as_dict(),
        special_funds_per_pupil_yuan=rules.special_funds_per_pupil_yuan,
        training_min_hours=rules.training_min_hours,
        training_min_share=rules.training_min_share,
        certification_min_share=rules.certification_min_share,
        training_funds_share=rules.training_funds_share)


def _scope(district: District, rules: Rules) -> np.ndarray:
    """In scope of 1–7, per school row (the engine's rules; see the module docstring)."""
    s = district.schools
    st = district.settings
    typ = s["type"].astype(str).to_numpy(dtype=object)
    pupils = (s["students_primary"] + s["students_junior"]).to_numpy(dtype=float)
    public = s["public"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    ok = np.ones(len(s), dtype=bool)
    if st.private_schools == "exclude":
        ok &= public
    if st.special_schools == "exclude":
        ok &= typ != "special"
    tp = typ == "teaching_point"
    if st.teaching_points == "exclude_all":
        ok &= ~tp
    elif st.teaching_points == "exclude_below_50":
        ok &= ~(tp & (pupils < rules.teaching_point_min_pupils))
    return ok


def _float(v: Any) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def build_problem(district: District, rules: Rules, costs: CostTable,
                  params: RemediationParams = RemediationParams(),  # noqa: B008 (frozen)
                  ) -> rm.RemediationProblem:
    """The model's problem for ``district`` (see the module docstring); a
    :class:`DataError` lists every missing value a limit needs."""
    if district.teachers is None:
        raise PlanInputError("teachers.csv: the district has no teacher roster; a "
                             "remediation needs one (indicators 1-3, 17 and 20 count it)")
    if district.settings.teaching_points == "merge_into_parent":
        raise PlanInputError("district.yaml key settings.teaching_points: merge_into_parent "
                             "is not supported by remediation (a merged part's resources "
                             "belong to two schools); use exclude_below_50 or exclude_all")
    s = district.schools.reset_index(drop=True)
    t = district.teachers
    scope = _scope(district, rules)
    weights = {ty: dict(ws) for ty, ws in rules.facility_weights}
    counts = district.teacher_counts()
    head = t["school_id"].astype(str).value_counts().to_dict()
    part_heads = t.groupby([t["school_id"].astype(str), t["stage"].astype(str)]).size().to_dict()
    problems: list[str] = []
    schools, parts = [], []
    fp = rules.small_school_funds_per_pupil_yuan

    def need(i: int, col: str, why: str) -> float:
        v = _float(s.at[i, col]) if col in s.columns else None
        if v is None:
            problems.append(f"schools.csv row {i + 2}, column {col}: no value; the "
                            f"remediation needs it ({why})")
            return 0.0
        return v

    for i, row in s.iterrows():
        sid = str(row["school_id"])
        typ = str(row["type"])
        public = bool(pd.isna(row["public"]) or row["public"])
        a, b = int(row["students_primary"]), int(row["students_junior"])
        pupils = a + b
        stages = [st for st in school_stages(row) if int(row[f"students_{st}"]) > 0]
        in_scope = bool(scope[i]) and bool(stages)
        res: dict[str, float] = {}
        for j in rm.FACILITY_INDICATORS:
            col = rm.FACILITY_FIELD[j]
            res[col] = (need(i, col, f"indicator {j}") if in_scope
                        else (_float(row.get(col)) or 0.0))
        classes = {st: int(row[f"classes_{st}"]) for st in ("primary", "junior")}
        cls_total = sum(classes[st] for st in stages)
        rooms_rule = typ not in ("special", "teaching_point") and cls_total > 0
        rooms = {}
        for kind, min_m2 in (("music", rules.music_room_min_m2), ("art", rules.art_room_min_m2)):
            n = _float(row.get(f"{kind}_rooms"))
            if rooms_rule and n is None:
                need(i, f"{kind}_rooms", "indicator 11")
            n = int(n or 0)
            small = _float(row.get(f"{kind}_room_min_m2"))
            if rooms_rule and n > 0 and small is None:
                need(i, f"{kind}_room_min_m2", "indicator 11")
            rooms[kind] = (n, int(n > 0 and small is not None
                                  and small < min_m2 * (1 - rm.RTOL)))
        quota = _float(row.get("staff_quota"))
        funds = _float(row.get("public_funds_yuan"))
        training = _float(row.get("training_funds_yuan"))
        quota_rule = public and typ != "special" and pupils > 0
        funds_rule = None
        if public and pupils > 0:
            funds_rule = "special" if typ == "special" else "standard"
            if quota_rule and quota is None:
                need(i, "staff_quota", "indicator 10")
            if funds is None:
                need(i, "public_funds_yuan", "indicators 10, 15 and 28")
            elif training is None:
                need(i, "training_funds_yuan", "indicator 28")
        small_school = (public and 0 < pupils < rules.small_school_pupils
                        and (typ == "teaching_point" or (
                            str(row["area_type"]) == "rural" and typ in (
                                "primary", "junior", "nine_year", "twelve_year",
                                "complete_middle"))))
        funds_min = (rules.small_school_pupils * (a * fp.primary + b * fp.junior) / pupils
                     if small_school else 0.0)
        size_limit = (None if typ == "special" else rules.school_size_limit(typ))
        senior = 0.0
        if typ in weights and "students_senior" in s.columns:
            senior = weights[typ].get("senior", 0.0) * float(row.get("students_senior") or 0)
        classrooms = _float(row.get("classrooms"))
        schools.append(rm.School(
            id=sid, building_area_m2=res["building_area_m2"],
            sports_area_m2=res["sports_area_m2"], equipment_yuan=res["equipment_yuan"],
            multimedia_rooms=int(round(res["multimedia_rooms"])),
            classrooms=int(classrooms) if classrooms is not None else cls_total,
            senior_weighted_pupils=senior, size_limit=size_limit,
            class_rule=typ != "special", rooms_rule=rooms_rule,
            music_rooms=rooms["music"][0], music_rooms_undersized=rooms["music"][1],
            art_rooms=rooms["art"][0], art_rooms_undersized=rooms["art"][1],
            staff_quota=None if quota is None else int(math.floor(quota + 1e-9)),
            staff=int(head.get(sid, 0)), quota_rule=quota_rule and quota is not None,
            funds_rule=funds_rule if funds is not None else None, public_funds_yuan=funds,
            funds_min_yuan=funds_min if funds is not None else 0.0,
            training_funds_rule=public and pupils > 0 and funds is not None,
            training_funds_yuan=training))
        for st in stages:
            n = int(row[f"students_{st}"])
            mc = int(row[f"max_class_{st}"])
            if typ != "special" and mc <= 0:
                problems.append(f"schools.csv row {i + 2}, column max_class_{st}: no value; "
                                f"the remediation needs it (indicator 13)")
            c = counts.loc[(sid, st)] if (sid, st) in counts.index else None
            w = (weights[typ].get(st, 0.0) if typ in weights else 1.0)
            parts.append(rm.Part(
                school_id=sid, stage=st, pupils=n, classes=classes[st], max_class=mc,
                qualified=int(c["qualified"]) if c is not None else 0,
                backbone=int(c["backbone"]) if c is not None else 0,
                pe_art=int(c["pe_art"]) if c is not None else 0,
                teachers=int(part_heads.get((sid, st), 0)), facility_weight=w,
                in_scope=in_scope))
    if problems:
        raise DataError(problems)
    teachers = []
    for r in t.itertuples(index=False):
        cert = r.certified
        hours = None if pd.isna(r.training_hours_5y) else float(r.training_hours_5y)
        teachers.append(rm.Teacher(
            id=str(r.teacher_id), school_id=str(r.school_id), stage=str(r.stage),
            training_hours=hours, certified=bool(False if pd.isna(cert) else cert),
            full_time=bool(True if pd.isna(r.full_time) else r.full_time),
            qualified=bool(r.qualified), backbone=bool(r.is_backbone), pe_art=bool(r.pe_art),
            certifiable=not (str(r.stage) in CERT_NEEDS_COLLEGE
                             and str(r.degree) == "secondary")))
    problem = rm.RemediationProblem(schools=tuple(schools), parts=tuple(parts),
                                    teachers=tuple(teachers), costs=costs.unit_costs(),
                                    limits=limits_of(rules))
    moves = move_options(district, rules, costs, params, problem)
    return rm.RemediationProblem(schools=problem.schools, parts=problem.parts,
                                 teachers=problem.teachers, costs=problem.costs,
                                 limits=problem.limits, moves=tuple(moves))


def move_options(district: District, rules: Rules, costs: CostTable,
                 params: RemediationParams, problem: rm.RemediationProblem
                 ) -> list[rm.MoveOption]:
    """Where pupils may move (see the module docstring), in sender, receiver order."""
    if params.move_candidates <= 0:
        return []
    today = rm.evaluate(problem)
    failing = {v.school_id for v in today.violations
               if v.school_id and (v.indicator in rm.FACILITY_INDICATORS and v.code == "floor"
                                   or v.code in ("size", "class_size"))}
    if not failing:
        return []
    sch = {h.id: h for h in problem.schools}
    parts = {(p.school_id, p.stage): p for p in problem.parts}
    lim = problem.limits
    eligible = [k for k, p in parts.items() if p.pupils > 0 and sch[k[0]].funds_min_yuan <= 0]
    senders = [k for k in eligible if k[0] in failing and parts[k].pupils > 1]
    if not senders:
        return []
    ids = sorted({k[0] for k in eligible})
    try:
        tm = district.travel(district.school_points(ids))
    except FarFromRoads as e:
        raise PlanInputError(f"schools.csv: {e} (settings.max_access_m in district.yaml)"
                             ) from None
    oi, di = tm.index()
    limit = params.max_move_min if params.max_move_min is not None else \
        rules.transport.max_ride_min
    out = []
    for k in sorted(senders, key=lambda k: (k[0], rm.STAGES.index(k[1]))):
        p = parts[k]
        cands = []
        for q in eligible:
            if q[1] != k[1] or q[0] == k[0] or parts[q].in_scope != p.in_scope:
                continue
            r = parts[q]
            seats = r.classes * lim.max_class[q[1]] - r.pupils
            if seats <= 0:
                continue
            minutes = float(tm.minutes[oi[k[0]], di[q[0]]])
            if not math.isfinite(minutes) or minutes > limit:
                continue
            cands.append((round(minutes, 3), q[0], seats, float(tm.km[oi[k[0]], di[q[0]]])))
        for _minutes, to, seats, km in sorted(cands)[:params.move_candidates]:
            out.append(rm.MoveOption(from_school=k[0], to_school=to, stage=k[1],
                                     cost_per_pupil_yuan=round(costs.move_cost(km), 2),
                                     max_pupils=int(seats)))
    return out


# ---------------------------------------------------------------------------
# actions → rows → the district after
# ---------------------------------------------------------------------------

def action_rows(district: District, result: rm.RemediationResult,
                costs: CostTable) -> list[ActionRow]:
    """The model's actions as rows; ``develop_backbone`` names the teachers developed."""
    t = district.teachers
    replaced = {tid for a in result.actions if a.kind == "replace_teacher"
                for tid in a.teacher_ids}
    rows = []
    for a in result.actions:
        ids = tuple(a.teacher_ids)
        if a.kind == "develop_backbone":
            ids = _developed(t, a.school_id, a.stage, int(a.quantity), replaced,
                             _hired(result, a.school_id, a.stage))
        rows.append(ActionRow(
            school_id=a.school_id, stage=a.stage, indicator=int(a.indicator), action=a.kind,
            column=a.column, quantity=_q(a.quantity), unit=a.unit,
            unit_cost_yuan=float(a.unit_cost_yuan), cost_yuan=float(a.cost_yuan),
            recurring=bool(a.recurring), reason=a.reason, teacher_ids=ids,
            to_school_id=a.to_school_id, value_after=a.value_after,
            cost_key=rm.ACTIONS[a.kind].cost_key))
    return rows


def _q(x: float) -> float:
    """A quantity as a plain number: whole numbers as int."""
    return int(x) if float(x).is_integer() else float(x)


def _hired(result: rm.RemediationResult, school: str, stage: str) -> list[str]:
    """Ids of the new teachers of a part (hires, then replacements), as
    :func:`apply_actions` names them."""
    n = sum(int(a.quantity) for a in result.actions if a.school_id == school
            and a.stage == stage and a.kind in ("hire_qualified", "hire_pe_art"))
    return [_new_id(school, stage, k) for k in range(1, n + 1)]


def _new_id(school: str, stage: str, k: int) -> str:
    return f"{school}-{stage}-N{k}"


def _developed(t: pd.DataFrame, school: str, stage: str, n: int, replaced: set[str],
               hires: list[str]) -> tuple[str, ...]:
    """The ``n`` teachers of a part developed into backbone teachers: non-backbone
    teachers who stay, most years at the school first (then id), then new hires."""
    m = ((t["school_id"].astype(str) == school) & (t["stage"].astype(str) == stage)
         & ~t["is_backbone"].astype(bool) & ~t["teacher_id"].astype(str).isin(replaced))
    c = t.loc[m, ["teacher_id", "years_at_school"]].copy()
    c["teacher_id"] = c["teacher_id"].astype(str)
    c["_y"] = -pd.to_numeric(c["years_at_school"], errors="coerce").fillna(0)
    ids = list(c.sort_values(["_y", "teacher_id"], kind="stable")["teacher_id"])
    return tuple((ids + hires)[:n])


def apply_actions(district: District, rows: Sequence[ActionRow], rules: Rules) -> District:
    """``district`` with every row applied (see the module docstring)."""
    s = district.schools.copy()
    pos = {sid: i for i, sid in enumerate(s["school_id"].astype(str))}
    for col in ("building_area_m2", "sports_area_m2", "equipment_yuan", "multimedia_rooms",
                "music_rooms", "art_rooms", "music_room_min_m2", "art_room_min_m2",
                "classrooms", "staff_quota", "public_funds_yuan", "training_funds_yuan"):
        if col in s.columns:
            s[col] = s[col].astype(float)
    rooms: dict[tuple[str, str], list[int]] = {}
    t = district.teachers.copy()
    new_rows: list[dict] = []
    drop: set[str] = set()
    tid = t["teacher_id"].astype(str)

    def at(sid: str) -> Any:
        return s.index[pos[sid]]

    def add(sid: str, col: str, q: float) -> None:
        i = at(sid)
        v = s.at[i, col]
        s.at[i, col] = (0.0 if pd.isna(v) else float(v)) + q

    hours = rules.training_min_hours
    for r in rows:
        k = r.action
        if k in ("build_floor_area", "build_sports_area", "buy_equipment",
                 "equip_multimedia_rooms", "add_classrooms", "raise_public_funds",
                 "raise_training_funds"):
            add(r.school_id, r.column, float(r.quantity))
        elif k == "raise_staff_quota":
            s.at[at(r.school_id), "staff_quota"] = float(r.value_after)
        elif k.endswith(("_music_rooms", "_art_rooms")):
            kind = "music" if "music" in k else "art"
            e = rooms.setdefault((r.school_id, kind), [0, 0, 0])   # built, rebuilt, retired
            e[("build_", "rebuild_", "retire_").index(k[:k.index("_") + 1])] += int(r.quantity)
        elif k == "add_classes":
            i = at(r.school_id)
            s.at[i, r.column] = int(s.at[i, r.column]) + int(r.quantity)
        elif k == "rebalance_classes":
            s.at[at(r.school_id), r.column] = int(r.value_after)
        elif k == "move_pupils":
            i, j = at(r.school_id), at(r.to_school_id)
            s.at[i, r.column] = int(s.at[i, r.column]) - int(r.quantity)
            s.at[j, r.column] = int(s.at[j, r.column]) + int(r.quantity)
        elif k in ("hire_qualified", "hire_pe_art"):
            n0 = sum(1 for x in new_rows if x["_part"] == (r.school_id, r.stage)
                     and not x["_replaces"])
            for n in range(int(r.quantity)):
                new_rows.append(_new_teacher(_new_id(r.school_id, r.stage, n0 + n + 1),
                                             r.school_id, r.stage,
                                             PE_SUBJECT if k == "hire_pe_art" else HIRE_SUBJECT,
                                             hours))
        elif k == "replace_teacher":
            for x in r.teacher_ids:
                old = t.loc[tid == x].iloc[0]
                drop.add(x)
                new_rows.append(_new_teacher(f"{x}-R", r.school_id, r.stage,
                                             str(old["subject"]), hours, replaces=x))
        elif k == "train_teacher":
            for x in r.teacher_ids:
                i = t.index[tid == x][0]
                v = t.at[i, "training_hours_5y"]
                t.at[i, "training_hours_5y"] = ((0.0 if pd.isna(v) else float(v))
                                                + float(r.quantity) / len(r.teacher_ids))
        elif k == "certify_teacher":
            t.loc[tid.isin(r.teacher_ids), "certified"] = True
        # develop_backbone after the new teachers exist; train_new_hires: hours set above
    for (sid, kind), (built, rebuilt, retired) in sorted(rooms.items()):
        i = at(sid)
        n0 = int(0 if pd.isna(s.at[i, f"{kind}_rooms"]) else s.at[i, f"{kind}_rooms"])
        n1 = n0 + built - retired
        s.at[i, f"{kind}_rooms"] = float(n1)
        area = rules.music_room_min_m2 if kind == "music" else rules.art_room_min_m2
        small = s.at[i, f"{kind}_room_min_m2"]
        if n1 <= 0:
            s.at[i, f"{kind}_room_min_m2"] = float("nan")
        elif rebuilt or retired or n0 == 0 or pd.isna(small):
            s.at[i, f"{kind}_room_min_m2"] = float(area)
        else:
            s.at[i, f"{kind}_room_min_m2"] = float(min(float(small), float(area)))
    keep = t[~tid.isin(drop)].drop(columns=["qualified", "is_backbone", "pe_art", "eligible"])
    if new_rows:
        add_df = pd.DataFrame([{c: v for c, v in x.items() if not c.startswith("_")}
                               for x in new_rows])
        keep = pd.concat([keep, add_df.reindex(columns=keep.columns)], ignore_index=True)
    keep = keep.reset_index(drop=True)
    ids = keep["teacher_id"].astype(str)
    for r in rows:
        if r.action == "develop_backbone":
            keep.loc[ids.isin(r.teacher_ids), "backbone"] = "county"
    for col, kind in (("certified", "boolean"), ("full_time", "boolean")):
        if col in keep.columns:
            keep[col] = keep[col].astype(kind)
    return district.with_schools(s, derive_teacher_flags(keep, district.settings))


def _new_teacher(teacher_id: str, school: str, stage: str, subject: str, hours: float,
                 replaces: str = "") -> dict:
    return {"teacher_id": teacher_id, "name": "", "school_id": school, "stage": stage,
            "subject": subject, "degree": HIRE_DEGREE, "backbone": "none", "certified": True,
            "full_time": True, "years_at_school": 0.0, "age": float("nan"),
            "training_hours_5y": float(hours), "exempt": "", "id_number": "",
            "_part": (school, stage), "_replaces": replaces}


# ---------------------------------------------------------------------------
# what no resource fixes, and the summary
# ---------------------------------------------------------------------------

def not_fixable(after: Report, district_after: District, rules: Rules) -> list[dict]:
    """The A indicators, county facts, B rule and vetoes no action of the model fixes,
    with their state after the plan (``passed``, ``no_data``) and a code of what the
    bureau shows instead (``evidence``)."""
    out: list[dict] = []
    for ind in after.a_results:
        if ind.id in NOT_FIXABLE:
            out.append({"id": ind.id, "kind": "indicator", "passed": bool(ind.passed),
                        "no_data": bool(ind.no_data), "evidence": NOT_FIXABLE[ind.id]})
    county = district_after.county or {}
    for ind_id, fact in FACTS:
        v = county.get(fact)
        ok = v is not None and not (isinstance(v, float) and math.isnan(v)) and \
            str(v).strip().lower() in ("true", "1", "yes", "是", "y")
        out.append({"id": ind_id, "kind": "county_fact", "fact": fact, "passed": ok,
                    "no_data": v is None, "evidence": fact})
    s = district_after.schools
    if not ((s["type"] == "special") & s["public"].astype("boolean").fillna(True)
            & ((s["students_primary"] + s["students_junior"]) > 0)).any():
        ind = after.indicator(15)  # not-a-rule: indicator id
        out.append({"id": 15, "kind": "county_fact",  # not-a-rule: indicator id
                    "fact": "special_school_funds_per_pupil_yuan", "passed": bool(ind.passed),
                    "no_data": bool(ind.no_data), "evidence": "special_school_funds"})
    out.append({"id": "B", "kind": "b_score", "passed": bool(after.b_rule), "no_data": False,
                "evidence": "b_score", "score": after.b_score})
    for key in (v["key"] for v in rules.standard.data.get("vetoes", [])):
        flag = (district_after.veto or {}).get(key)
        out.append({"id": f"veto.{key}", "kind": "veto", "passed": flag is False,
                    "no_data": flag is None, "evidence": f"veto.{key}"})
    return out


def vacant_posts(district_after: District) -> list[dict]:
    """Posts of the quota no rostered teacher fills after the plan, per school
    (有编不补 is a veto): ``{school_id, quota, staff, vacant}``."""
    s = district_after.schools
    head = district_after.teachers["school_id"].astype(str).value_counts().to_dict()
    out = []
    for r in s.itertuples(index=False):
        if pd.isna(r.staff_quota):
            continue
        staff = int(head.get(str(r.school_id), 0))
        vacant = int(math.floor(float(r.staff_quota) + 1e-9)) - staff
        if vacant > 0:
            out.append({"school_id": str(r.school_id), "quota": float(r.staff_quota),
                        "staff": staff, "vacant": vacant})
    return out


def _round(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(float(x), nd) + 0.0


def _summary(district: District, after_d: District, result: rm.RemediationResult,
             rows: Sequence[ActionRow], costs: CostTable, before: Report, after: Report,
             nf: Sequence[dict], extras: dict, n_moves: int) -> dict[str, Any]:
    """The language-free figures of ``summary.json``."""
    school_level = {str(k): bool(after.indicator(k).passed) for k in SCHOOL_LEVEL}
    fixable = {str(k): bool(after.indicator(k).passed) for k in FIXABLE}
    by_ind: dict[str, float] = {}
    by_school: dict[str, float] = {}
    cap = rec = 0.0
    for r in rows:
        by_ind[str(r.indicator)] = by_ind.get(str(r.indicator), 0.0) + r.cost_yuan
        by_school[r.school_id] = by_school.get(r.school_id, 0.0) + r.cost_yuan
        if r.recurring:
            rec += r.cost_yuan
        else:
            cap += r.cost_yuan
    by_ind = {k: _round(v) for k, v in sorted(by_ind.items(), key=lambda x: int(x[0]))}
    by_school = {k: _round(v) for k, v in sorted(by_school.items())}
    return {
        "status": result.status.value, "closest": bool(result.closest),
        "total_cost_yuan": _round(cap + rec), "capital_yuan": _round(cap),
        "recurring_yuan_per_year": _round(rec),
        "cost_by_indicator": by_ind, "cost_by_school": by_school,
        "actions": len(rows),
        "a_total": after.a_total, "a_passed_before": before.a_passed,
        "a_passed_after": after.a_passed, "recognised_after": bool(after.recognised),
        "school_level_passed_after": all(school_level.values()),
        "school_level_after": school_level, "fixable_after": fixable,
        "not_fixable": [dict(x, score=_round(x["score"], 1)) if "score" in x else dict(x)
                        for x in nf],
        "quota": [{"school_id": q.school_id, "quota": q.quota, "quota_after": q.quota_after,
                   "staff": q.staff, "posts": q.posts, "hires": q.hires,
                   "binding": q.binding, "vacant_after": q.vacant_after}
                  for q in result.quota],
        "vacant_posts_after": vacant_posts(after_d),
        "shortfalls": [{"code": x.code, "school_id": x.school_id, "stage": x.stage,
                        "indicator": x.indicator, "needed": x.needed, "allowed": x.allowed}
                       for x in result.shortfalls],
        "cost_table": costs.name,
        "unit_costs": {k: costs.yuan[k] for k in COST_KEYS},
        "costs_overridden": dict(costs.overridden),
        "move_options": n_moves,
        "objective": _round(result.objective), "lower_bound": _round(result.lower_bound),
        "gap": None if result.gap is None else round(result.gap, 6),
        "solve_seconds": None, "solver": result.solver,  # times: timings.json
        "rounds": result.rounds, "cuts": result.cuts, "moves_fixed": result.moves_fixed,
        "messages": list(result.messages),
        "indicator_inputs": extras,
    }
