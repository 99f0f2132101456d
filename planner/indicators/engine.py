"""The indicator engine: does a district (or a plan applied to it) pass?

``check(district, rotation=None, catchments=None, standard=None, rules=None) ->
Report`` evaluates the 26 A indicators, the 10 B indicators and the six vetoes of a
standard (``planner/standards/<name>.yaml``, default ``hunan-2023``, read into
:class:`~planner.core.rules.Rules`). Every number of the official table
(thresholds, CV limits, B item points, grade bands, veto names, parameters of
10-36) lives in that YAML file; this module holds only the logic, chosen per
indicator by its ``kind``. A district state is evaluated once per standard
(reports are cached on the District object, see :func:`check`).

Formulas (``docs/rules.md``)
----------------------------
For indicator j of 1-7 and stage s (primary, junior), over the in-scope school
parts i of that stage::

    P = Σ P_i                X_i = m·T_i / P_i        X̄ = m·ΣT_i / P  (county value)
    S = sqrt(Σ (P_i/P)·(X_i − X̄)²)                   CV = S / X̄

population-weighted, no n−1. The CV is compared *unrounded* with the limit
(≤ 0.50 primary, ≤ 0.45 junior, inclusive). The attribute ``IndicatorResult.cv`` is
the CV rounded to 2 decimals (kept for callers of the library), ``cv_exact`` the
unrounded value; the JSON report writes both ``cv`` and ``cv_exact`` unrounded (a CV
of 0.504 must never read 0.50 next to a fail), and the documents print three decimals.

Failing schools: every record has ``value``, ``threshold`` and ``gap``, the amount
missing to pass, always positive: ``threshold − value`` for an indicator of "at
least" (1-7, 10, 11, 14, 15, 17, 20, 28), ``value − threshold`` for one of "at most"
(12 school size, 13 class size). Indicators 17 and 20 also list the teachers short
of the hours or the certificate (``details["short_teachers"]``: id, name, school,
stage and the recorded value).

Readings of ambiguities (each is a choice of this toolkit)
-----------------------------------------------------------
Scope and parts (1-7)
  * A *school part* is (school, stage) for the stages its type teaches
    (``district.school_stages``); a twelve-year school's and a complete middle
    school's senior part is never assessed. Pupils are never split. A part with
    0 pupils is not a part (it is dropped before any computation).
  * Teacher indicators 1-3 use ``District.teacher_counts()`` (roster counts per
    school and stage; without a roster the school-table counts split by
    pupils). Facility indicators 4-7 are split by weighted enrolment with the
    weights of the standard (nine-year 1 : 1.1; twelve-year 1 : 1.1 : 1.32 with
    senior pupils from an optional ``students_senior`` column, else 0; complete
    middle junior 1 : senior 1.2). A special school teaching both stages is split
    like a nine-year school.
  * ``public`` empty (NA) is read as public. Private schools and special schools
    are out of 1-7 unless the settings say ``include``.
  * Teaching points: ``exclude_below_50`` drops a teaching point with fewer than
    50 compulsory pupils; ``exclude_all`` drops every one; ``merge_into_parent``
    adds its pupils, teachers and (primary) resources to its parent school's
    *primary* part (all of a teaching point's resources are primary resources;
    a parent without a primary part gets one). A teaching point whose parent is
    empty or unknown is assessed on its own (noted in ``details``); one whose
    parent is out of scope (e.g. private) is out of scope too.
  * A small school is never counted as 100 pupils in 1-7 (that is indicator 14).
  * If any in-scope part lacks the resource (NaN), the indicator is ``no_data``;
    the county value and CV over the parts that have data are still shown.
  * Thresholds are reached with ``value ≥ threshold`` ("以上" is inclusive); a
    1e-9 relative tolerance absorbs float error so that 21 teachers for 500
    pupils is exactly 4.2. The same tolerance is used for CV ≤ limit.
  * County value 0 (no resource at all): CV is undefined, reported as ``None``,
    and the stage fails.
  * ``school_rule: hunan`` — the county value, every in-scope part and the CV
    must pass, per stage present. ``school_rule: national`` — a part passes when
    it meets at least 6 of the 7 thresholds and none of its 7 values is below
    85 % of its threshold; indicator j then fails for a part that is below the
    threshold of j *and* fails that composite rule (a tolerated shortfall is
    listed in ``details['tolerated']``). County values and CVs are required in
    both rules.

Indicators 10-36
  * 10: staffing quota ≥ P_primary/19 + P_junior/13.5 (unrounded; for integer
    quotas this equals quota ≥ ceil) and public funds ≥ 600·P_primary +
    800·P_junior at every public, non-special school with pupils; senior
    pupils are not counted and ``staff_quota`` is read as the compulsory-stage
    quota. A teaching point with empty quota (or funds) is counted with its
    parent (its pupils added to the parent's requirement). County fact
    ``unified_standards`` must be true.
  * 11: every primary/junior/nine-year/twelve-year/complete-middle school
    (public and private; special schools and teaching points excluded) with
    classes needs music rooms ≥ ceil(C/12) and art rooms ≥ ceil(C/12), C = its
    compulsory classes; the smallest room of each kind ≥ 96 / 90 m².
  * 12: primary and junior schools ≤ 2000 compulsory pupils (a complete middle
    school is a junior school here: its junior pupils ≤ 2000); nine- and
    twelve-year schools ≤ 2500; teaching points ≤ 2000; special schools out.
  * 13: largest primary class ≤ 45, junior ≤ 50, at every non-special school
    with pupils in the stage; a largest class of 0 with pupils is "no data".
  * 14: public schools in ``area_type: rural`` and every public teaching point
    with 1-99 compulsory pupils: funds ≥ 100 × (600·P_primary + 800·P_junior)/P
    (the stage mix scaled to 100 pupils). Schools with 0 pupils are out.
  * 15: public special schools with pupils: funds ≥ 6000 × pupils; with none
    listed, the county fact ``special_school_funds_per_pupil_yuan`` ≥ 6000.
  * 16: county teacher_pay_avg_yuan ≥ civil_servant_pay_avg_yuan, and
    allowances_paid, performance_pay_full true.
  * 17: every rostered teacher has training_hours_5y ≥ 360 (100 %) and the
    county fact training_records_kept is true. A teacher with no hours recorded
    counts as not completed; no roster or an all-empty column is "no data".
  * 18: county quota_managed_by_county true (and, when given,
    village_schools_run_by_central true).
  * 19: rotated ≥ 0.10 × eligible (for integer counts identical to rotated ≥
    ceil(10 % × eligible)) and backbone ≥ 0.20 × rotated (``backbone_base:
    eligible`` in settings, if present, uses eligible). From ``rotation`` if
    given, else county rotation_eligible / rotation_rotated / rotation_backbone.
  * 20: every full-time rostered teacher certified; an empty ``certified``
    counts as not certified; no roster or an all-empty column is "no data".
  * 21: per stage with at least one urban/town public non-boarding school with
    pupils of that stage: share ≥ 1.00 (primary), ≥ 0.95 (junior), from
    ``catchments`` if given, else county catchment_share_primary/junior.
  * 22, 24, 25, 26, 36: county shares; a share above 1 (and ≤ 100) is read as a
    percentage. 22 also requires quality_hs_quota_rural_weighted true when given.
  * 28: every public school with public funds (teaching points with empty funds
    are counted with their parent) has training_funds ≥ 8 % × public funds; the
    county fact training_plan_exists is true.
  * 31: quality_monitoring_level ≥ 3 and quality_monitoring_difference < 0.15.

B indicators and verdict
  * Item scores are validated against item points (0 ≤ score ≤ points, the
    number of items as in the table); a bad score is an error message naming
    the item (``Report.b_errors``), and the B rule then does not hold.
  * The B rule holds when all 10 indicators are entered, valid, each ≥ 80 % of
    its points, and the total ≥ 80. Grade bands are half-open on their lower
    bounds: [80, 86) 合格, [86, 91) 良好, [91, 100] 优秀 — 85.5 is 合格, 90.5 良好.
  * 9.2 proposal: units of ≥ 10 000 people need a school teaching primary
    within 2 km, units of ≥ 30 000 a school teaching junior within 3 km,
    straight-line (great-circle) distance from the unit point (or polygon
    representative point) to the school; proposed points = 2 × share of such
    units served, rounded down to 0.5; all served (or none that large) → 2.
    The evidence is in the indicator's ``details``; the entered score is used.
  * A veto flag that is missing from ``district.veto`` is "unknown", which
    blocks recognition (listed in ``Report.veto_unknown``).
  * ``recognised`` = all 26 A passed, the B rule holds and no veto applies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.core.district import TYPE_STAGES, District
from planner.core.district import roster_codes as _roster_codes
from planner.core.district import stage_masks as _has_stage
from planner.core.rules import Rules, Standard, load_rules, load_standard, rules_of

__all__ = ["check", "Report", "IndicatorResult", "load_standard", "Standard",
           "validate_b_scores", "weighted_cv", "facility_shares", "plain", "stats"]

STAGES = ("primary", "junior")
RTOL = 1e-9

PER_PUPIL = (1, 2, 3, 4, 5, 6, 7)
TEACHER_RESOURCES = ("qualified", "backbone", "pe_art")


# ---------------------------------------------------------------------------
# the standard
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------

@dataclass
class IndicatorResult:
    id: int
    cls: str
    name: str
    name_en: str
    passed: bool
    no_data: bool = False
    county_value: Any = None
    threshold: Any = None
    cv: dict | None = None
    cv_exact: dict | None = None
    cv_limit: dict | None = None
    failing_schools: list[dict] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    #: the standard's ``kind`` of the indicator (``per_pupil``, ``class_size`` ...;
    #: ``b`` for a B indicator): how the documents put its values into words
    kind: str = ""

    def to_dict(self) -> dict:
        d = {"id": self.id, "class": self.cls, "name": self.name, "name_en": self.name_en,
             "passed": bool(self.passed), "no_data": bool(self.no_data),
             "county_value": _clean(self.county_value), "threshold": _clean(self.threshold),
             "failing_schools": [_clean(x) for x in self.failing_schools]}
        if self.cv is not None:
            # full precision: a rounded CV can read as its limit while it fails
            d["cv"] = _clean(self.cv_exact, digits=None)
            d["cv_exact"] = _clean(self.cv_exact, digits=None)
            d["cv_limit"] = _clean(self.cv_limit)
        if self.details:
            d["details"] = _clean(self.details)
        return d


@dataclass
class Report:
    """The outcome of :func:`check`.

    ``indicators``: one :class:`IndicatorResult` per indicator, by id.
    ``parts``: the per-school-part table of 1-7 (see :meth:`parts_table`).
    ``cv_rows``: the county value / CV table of 1-7 (see :meth:`cv_table`).
    """

    district: str
    standard: str
    indicators: list[IndicatorResult]
    b_score: float | None
    b_grade: str | None
    b_grade_en: str | None
    b_rule: bool
    b_errors: list[str]
    veto: list[str]
    veto_unknown: list[str]
    veto_names: dict
    recognised: bool
    settings: dict
    parts: pd.DataFrame
    cv_rows: pd.DataFrame
    out_of_scope: list[dict] = field(default_factory=list)
    #: the standard's title (``title_zh``, ``title_en`` of its file)
    standard_title_zh: str = ""
    standard_title_en: str = ""
    #: what the loader found contradictory in the input tables (``planner.io.load``:
    #: code, file, row, column and figures), put into words by the documents
    input_warnings: list[dict] = field(default_factory=list)
    #: the B rule of the standard: each indicator ≥ this share of its points, total ≥ this
    b_indicator_min_share: float | None = None
    b_total_min: float | None = None

    # -- summary figures
    @property
    def a_results(self) -> list[IndicatorResult]:
        return [r for r in self.indicators if r.cls == "A"]

    @property
    def b_results(self) -> list[IndicatorResult]:
        return [r for r in self.indicators if r.cls == "B"]

    @property
    def a_total(self) -> int:
        return len(self.a_results)

    @property
    def a_passed(self) -> int:
        return sum(r.passed for r in self.a_results)

    @property
    def a_no_data(self) -> int:
        return sum(r.no_data for r in self.a_results)

    def indicator(self, ind_id: int) -> IndicatorResult:
        for r in self.indicators:
            if r.id == ind_id:
                return r
        raise KeyError(ind_id)

    def __getitem__(self, ind_id: int) -> IndicatorResult:
        return self.indicator(ind_id)

    def parts_table(self) -> pd.DataFrame:
        """One row per in-scope school part of 1-7: school_id, name, stage, pupils,
        value_1..value_7, threshold_1..threshold_7, passed_1..passed_7 (the
        threshold reached), met (how many of 7), passed (the school rule)."""
        return self.parts.copy()

    def cv_table(self) -> pd.DataFrame:
        """One row per indicator 1-7 and stage: county value, threshold, CV
        (rounded and exact), CV limit, parts, and whether each test holds."""
        return self.cv_rows.copy()

    def to_dict(self) -> dict:
        """The ``--json`` report of docs/data-format.md (extra keys allowed)."""
        return {
            "district": self.district,
            "standard": self.standard,
            "a_total": self.a_total,
            "a_passed": self.a_passed,
            "a_no_data": self.a_no_data,
            "b_score": _clean(self.b_score),
            "b_grade": self.b_grade,
            "b_grade_en": self.b_grade_en,
            "b_rule": self.b_rule,
            "b_errors": list(self.b_errors),
            "veto": list(self.veto),
            "veto_unknown": list(self.veto_unknown),
            "recognised": bool(self.recognised),
            "settings": dict(self.settings),
            "out_of_scope": [_clean(x) for x in self.out_of_scope],
            "standard_title_zh": self.standard_title_zh,
            "standard_title_en": self.standard_title_en,
            "input_warnings": [_clean(w) for w in self.input_warnings],
            "indicators": [r.to_dict() for r in self.indicators],
        }


def plain(x, digits: int | None = 6):
    """JSON-safe plain values, as the JSON report shows them: numpy scalars to
    Python, NaN to None, floats rounded to ``digits`` (recursively in dicts and lists)."""
    return _clean(x, digits)


def _clean(x, digits: int | None = 6):
    """JSON-safe plain values: numpy scalars to Python, NaN to None, floats rounded."""
    if isinstance(x, dict):
        return {str(k): _clean(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v, digits) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if math.isnan(x) or math.isinf(x):
            return None
        if digits is not None:
            x = round(x, digits) + 0.0   # + 0.0 turns -0.0 into 0.0
        return x
    if x is pd.NA:
        return None
    return x


# ---------------------------------------------------------------------------
# numeric helpers
# ---------------------------------------------------------------------------

def _ge(value, threshold):
    """value ≥ threshold with a 1e-9 relative tolerance (vectorised)."""
    return np.asarray(value, dtype=float) >= np.asarray(threshold, dtype=float) * (1 - RTOL) - 1e-12


def _le(value, limit):
    return np.asarray(value, dtype=float) <= np.asarray(limit, dtype=float) * (1 + RTOL) + 1e-12


def weighted_cv(pupils, resource, multiplier: float = 1.0) -> tuple[float, float]:
    """County value and population-weighted CV of one indicator and stage.

    ``pupils`` P_i and ``resource`` T_i per school part (pupils > 0). Returns
    ``(X̄, CV)`` with X̄ = m·ΣT/ΣP and CV = sqrt(Σ(P_i/P)(X_i − X̄)²)/X̄; CV is NaN
    when X̄ is 0 or there are no pupils.

    >>> round(weighted_cv([45, 37, 89, 76, 55], [279, 137, 935, 160, 402])[1], 4)
    0.5153
    """
    p = np.asarray(pupils, dtype=float)
    t = np.asarray(resource, dtype=float)
    total = p.sum()
    if total <= 0:
        return float("nan"), float("nan")
    mean = multiplier * t.sum() / total
    x = multiplier * t / p
    s = math.sqrt(float(np.sum((p / total) * (x - mean) ** 2)))
    cv = s / mean if mean > 0 else float("nan")
    return float(mean), float(cv)


def facility_shares(schools: pd.DataFrame, weights: dict) -> pd.DataFrame:
    """Share of each school's facility resources belonging to its primary and
    junior parts (columns ``primary``, ``junior``), by weighted enrolment.

    Single-stage schools give their stage 1. Weights per type come from the
    standard's ``facility_weights`` (nine-year A : 1.1B, twelve-year
    A : 1.1B : 1.32C, complete middle B : 1.2C). A school with no weighted
    pupils gives 0 to every stage.
    """
    typ = schools["type"].astype(str).to_numpy()
    a = schools["students_primary"].to_numpy(dtype=float)
    b = schools["students_junior"].to_numpy(dtype=float)
    if "students_senior" in schools.columns:
        c = pd.to_numeric(schools["students_senior"], errors="coerce").fillna(0)
        c = c.to_numpy(dtype=float)
    else:
        c = np.zeros(len(schools))
    out = {"primary": np.zeros(len(schools)), "junior": np.zeros(len(schools))}
    # single-stage types
    for t, stages in TYPE_STAGES.items():
        if t in weights or len(stages) != 1:
            continue
        m = typ == t
        out[stages[0]][m] = 1.0
    for t, w in weights.items():
        m = typ == t
        if not m.any():
            continue
        wp = w.get("primary", 0.0) * a[m]
        wj = w.get("junior", 0.0) * b[m]
        ws = w.get("senior", 0.0) * c[m]
        tot = wp + wj + ws
        with np.errstate(invalid="ignore", divide="ignore"):
            out["primary"][m] = np.where(tot > 0, wp / np.where(tot > 0, tot, 1), 0.0)
            out["junior"][m] = np.where(tot > 0, wj / np.where(tot > 0, tot, 1), 0.0)
    return pd.DataFrame(out, index=schools.index)


_NUM_DEFAULTS = {
    "students_primary": 0, "students_junior": 0, "classes_primary": 0, "classes_junior": 0,
    "max_class_primary": 0, "max_class_junior": 0, "classrooms": 0,
}


def _col(s: pd.DataFrame, name: str) -> np.ndarray:
    """A numeric column as float array (missing column: NaN, or 0 for counts)."""
    if name in s.columns:
        return pd.to_numeric(s[name], errors="coerce").to_numpy(dtype=float)
    return np.full(len(s), float(_NUM_DEFAULTS.get(name, np.nan)))


def _bool_col(s: pd.DataFrame, name: str, default: bool) -> np.ndarray:
    if name not in s.columns:
        return np.full(len(s), default)
    return s[name].astype("boolean").fillna(default).to_numpy(dtype=bool)


def _str_col(s: pd.DataFrame, name: str) -> np.ndarray:
    if name not in s.columns:
        return np.full(len(s), "", dtype=object)
    return s[name].fillna("").astype(str).to_numpy(dtype=object)


# ---------------------------------------------------------------------------
# indicators 1-7
# ---------------------------------------------------------------------------

def _build_parts(district: District, rules: Rules) -> tuple[pd.DataFrame, list[dict], list[str]]:
    """In-scope school parts with pupils and the resources of 1-7.

    Returns (parts, out_of_scope, notes); ``parts`` has columns school_id, name,
    stage, pupils and one resource column per indicator (``T1``..``T7``)."""
    s = district.schools.reset_index(drop=True)
    st = district.settings
    n = len(s)
    ids = s["school_id"].astype(str).to_numpy(dtype=object)
    names = _str_col(s, "name")
    typ = s["type"].astype(str).to_numpy(dtype=object)
    a = _col(s, "students_primary")
    b = _col(s, "students_junior")
    public = _bool_col(s, "public", True)
    parent = _str_col(s, "parent_id")
    is_tp = typ == "teaching_point"
    notes: list[str] = []

    reason = np.full(n, "", dtype=object)
    if getattr(st, "private_schools", "exclude") == "exclude":
        reason[~public & (reason == "")] = "private"
    if getattr(st, "special_schools", "exclude") == "exclude":
        reason[(typ == "special") & (reason == "")] = "special"
    tp_rule = getattr(st, "teaching_points", "exclude_below_50")
    min_tp = rules.teaching_point_min_pupils
    if tp_rule == "exclude_all":
        reason[is_tp & (reason == "")] = "teaching_point"
    elif tp_rule == "exclude_below_50":
        reason[is_tp & (a + b < min_tp) & (reason == "")] = f"teaching_point_below_{min_tp}"

    target = ids.copy()
    if tp_rule == "merge_into_parent":
        pos = {}
        for i, sid in enumerate(ids):
            pos.setdefault(sid, i)
        for i in np.flatnonzero(is_tp & (reason == "")):
            p = parent[i]
            if p and p in pos and p != ids[i]:
                j = pos[p]
                if reason[j]:
                    reason[i] = f"parent_out_of_scope:{reason[j]}"
                else:
                    target[i] = p
            else:
                notes.append(f"teaching point {ids[i]} has no known parent school; "
                             f"assessed on its own")

    out_of_scope = [{"school_id": ids[i], "name": names[i], "reason": reason[i]}
                    for i in np.flatnonzero(reason != "")]
    inscope = reason == ""

    shares = facility_shares(s, {t: dict(ws) for t, ws in rules.facility_weights})
    tc = district.teacher_counts()
    has = _has_stage(typ, a, b)
    per_pupil = {r.id: r for r in rules.per_pupil}

    frames = []
    for stage, pup in (("primary", a), ("junior", b)):
        m = has[stage] & inscope
        if tp_rule == "merge_into_parent" and stage == "primary":
            m = m | (is_tp & inscope)
        idx = np.flatnonzero(m)
        f = pd.DataFrame({"school_id": target[idx], "stage": stage, "pupils": pup[idx],
                          "_src": ids[idx]})
        # a merged teaching point brings everything to the primary part
        merged = target[idx] != ids[idx]
        f.loc[merged, "pupils"] = (a + b)[idx][merged]
        key = pd.MultiIndex.from_arrays([ids[idx], np.full(len(idx), stage)])
        tci = tc.reindex(key)
        for k, rule in per_pupil.items():
            res = rule.resource
            if res in TEACHER_RESOURCES:
                vals = (tci[res].to_numpy(dtype=float) if res in tci.columns
                        else np.full(len(idx), np.nan))
                if merged.any():   # a merged teaching point: all its teachers (its only
                    vals = vals.copy()          # part is primary)
                    key_m = pd.MultiIndex.from_arrays(
                        [ids[idx][merged], np.full(int(merged.sum()), "primary")])
                    vals[merged] = tc[res].reindex(key_m).to_numpy(dtype=float)
            else:
                col = _col(s, res)[idx]
                sh = shares[stage].to_numpy()[idx].copy()
                sh[merged] = 1.0
                vals = col * sh
            f[f"T{k}"] = vals
        frames.append(f)
    parts = pd.concat(frames, ignore_index=True)
    tcols = [c for c in parts.columns if c.startswith("T")]
    if tp_rule == "merge_into_parent" and (parts["school_id"] != parts["_src"]).any():
        nan_flags = parts[tcols].isna()
        g = parts.groupby(["school_id", "stage"], sort=False)
        summed = g[["pupils"] + tcols].sum()
        anynan = nan_flags.groupby([parts["school_id"], parts["stage"]], sort=False).any()
        summed[tcols] = summed[tcols].mask(anynan.reindex(summed.index).to_numpy())
        parts = summed.reset_index()
    else:
        parts = parts.drop(columns="_src")
    parts = parts[parts["pupils"] > 0].reset_index(drop=True)
    parts["pupils"] = parts["pupils"].round().astype("int64")
    name_of = pd.Series(names, index=ids)
    name_of = name_of[~name_of.index.duplicated()]
    parts.insert(1, "name", name_of.reindex(parts["school_id"]).to_numpy())
    order = {"primary": 0, "junior": 1}
    parts = (parts.assign(_o=parts["stage"].map(order))
             .sort_values(["_o", "school_id"], kind="stable").drop(columns="_o")
             .reset_index(drop=True))
    return parts, out_of_scope, notes


def _per_pupil_results(district: District, rules: Rules):
    parts, out_of_scope, notes = _build_parts(district, rules)
    rule = getattr(district.settings, "school_rule", "hunan")
    limits = rules.cv_limit.as_dict()
    defs = rules.per_pupil

    thr = {}
    for d in defs:
        k = d.id
        t = parts["stage"].map(d.threshold.as_dict()).to_numpy(dtype=float)
        thr[k] = t
        with np.errstate(invalid="ignore", divide="ignore"):
            parts[f"value_{k}"] = (d.multiplier * parts[f"T{k}"].to_numpy(dtype=float)
                                   / parts["pupils"].to_numpy(dtype=float))
        parts[f"threshold_{k}"] = t
        v = parts[f"value_{k}"].to_numpy()
        parts[f"passed_{k}"] = np.where(np.isnan(v), False, _ge(v, t))
    met = sum(parts[f"passed_{d.id}"].astype(int) for d in defs) if defs else 0
    parts["met"] = met
    floor_ok = np.ones(len(parts), dtype=bool)
    for d in defs:
        v = parts[f"value_{d.id}"].to_numpy()
        floor_ok &= ~np.isnan(v) & _ge(v, rules.national_floor_share * thr[d.id])
    if rule == "national":
        parts["passed"] = (parts["met"] >= rules.national_min_met) & floor_ok
    else:
        parts["passed"] = parts["met"] == len(defs)

    results = []
    cv_rows = []
    for d in defs:
        k = d.id
        threshold = d.threshold.as_dict()
        county, cvr, cve, reasons = {}, {}, {}, []
        failing, tolerated = [], []
        no_data = False
        stage_pass = True
        stages_present = []
        for stage in STAGES:
            sel = (parts["stage"] == stage).to_numpy()
            if not sel.any():
                continue
            stages_present.append(stage)
            p = parts["pupils"].to_numpy(dtype=float)[sel]
            t = parts[f"T{k}"].to_numpy(dtype=float)[sel]
            ok = ~np.isnan(t)
            if not ok.all():
                no_data = True
            if not ok.any():
                county[stage] = None
                cvr[stage] = cve[stage] = None
                stage_pass = False
                cv_rows.append({"indicator": k, "stage": stage, "parts": int(sel.sum()),
                                "pupils": float(p.sum()), "county_value": np.nan,
                                "threshold": threshold[stage], "county_ok": False,
                                "cv": np.nan, "cv_exact": np.nan, "cv_limit": limits[stage],
                                "cv_ok": False, "missing": int((~ok).sum())})
                continue
            mean, cv = weighted_cv(p[ok], t[ok], d.multiplier)
            th = threshold[stage]
            county_ok = bool(_ge(mean, th))
            cv_ok = (not math.isnan(cv)) and bool(_le(cv, limits[stage]))
            county[stage] = mean
            cve[stage] = None if math.isnan(cv) else cv
            cvr[stage] = None if math.isnan(cv) else round(cv, 2)
            if not county_ok:
                reasons.append(f"county_below_threshold:{stage}")
            if not cv_ok:
                reasons.append(f"cv_above_limit:{stage}")
            stage_pass &= county_ok and cv_ok
            cv_rows.append({"indicator": k, "stage": stage, "parts": int(sel.sum()),
                            "pupils": float(p.sum()), "county_value": mean, "threshold": th,
                            "county_ok": county_ok,
                            "cv": cvr[stage] if cvr[stage] is not None else np.nan,
                            "cv_exact": cv, "cv_limit": limits[stage], "cv_ok": cv_ok,
                            "missing": int((~ok).sum())})
        sub = parts[~parts[f"passed_{k}"] & parts[f"value_{k}"].notna()]
        if rule == "national":
            tol = sub[sub["passed"]]
            sub = sub[~sub["passed"]]
            tolerated = _failing_records(tol, k)
        failing = _failing_records(sub, k)
        if failing:
            reasons.append("school_below_threshold")
        passed = bool(stages_present) and stage_pass and not failing and not no_data
        if not stages_present:
            no_data = True
        det = {"reasons": reasons, "school_rule": rule, "unit_zh": d.unit_zh,
               "unit_en": d.unit_en,
               "parts": {st: int((parts["stage"] == st).sum()) for st in stages_present}}
        if tolerated:
            det["tolerated"] = tolerated
        missing = parts.loc[parts[f"T{k}"].isna(), ["school_id", "stage"]]
        if len(missing):
            det["missing"] = missing.to_dict("records")
        results.append(IndicatorResult(
            id=k, cls="A", name=d.name_zh, name_en=d.name_en, passed=passed,
            no_data=no_data, county_value=county,
            threshold={st: threshold[st] for st in stages_present} or dict(threshold),
            cv=cvr, cv_exact=cve,
            cv_limit={st: limits[st] for st in stages_present} or dict(limits),
            failing_schools=failing, details=det, kind="per_pupil"))
    tcols = [c for c in parts.columns if c.startswith("T") and c[1:].isdigit()]
    parts = parts.drop(columns=tcols)
    return results, parts, pd.DataFrame(cv_rows), out_of_scope, notes


def _failing_records(sub: pd.DataFrame, k: int) -> list[dict]:
    """Failing parts as records, primary first, then by relative shortfall, then id."""
    if sub.empty:
        return []
    v = sub[f"value_{k}"].to_numpy(dtype=float)
    t = sub[f"threshold_{k}"].to_numpy(dtype=float)
    sid = sub["school_id"].to_numpy(dtype=object)
    name = sub["name"].to_numpy(dtype=object)
    stage = sub["stage"].to_numpy(dtype=object)
    pupils = sub["pupils"].to_numpy()
    gap = t - v
    o = (stage == "junior").astype(int)
    order = np.lexsort((sid.astype(str), -(gap / t), o))
    return [{"school_id": sid[i], "name": name[i], "stage": stage[i], "value": float(v[i]),
             "threshold": float(t[i]), "gap": float(gap[i]), "pupils": int(pupils[i])}
            for i in order]


# ---------------------------------------------------------------------------
# indicators 10-36
# ---------------------------------------------------------------------------

_MISSING = object()


def _fact(county: dict, key: str):
    v = county.get(key, _MISSING)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return _MISSING
    return v


def _share(v):
    v = float(v)
    return v / 100.0 if 1.0 < v <= 100.0 else v


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes", "是", "y")
    return bool(v)


class _Ctx:
    def __init__(self, district: District, rules: Rules, rotation, catchments):
        self.d = district
        self.rules = rules
        self.std = rules.standard
        self.rotation = rotation
        self.catchments = catchments
        s = district.schools.reset_index(drop=True)
        self.s = s
        self.ids = s["school_id"].astype(str).to_numpy(dtype=object)
        self.names = _str_col(s, "name")
        self.typ = s["type"].astype(str).to_numpy(dtype=object)
        self.a = _col(s, "students_primary")
        self.b = _col(s, "students_junior")
        self.public = _bool_col(s, "public", True)
        self.county = district.county or {}


def _res(d: dict, passed, no_data=False, county_value=None, threshold=None,
         failing=None, details=None) -> IndicatorResult:
    return IndicatorResult(id=d["id"], cls=d["class"], name=d["name_zh"], name_en=d["name_en"],
                           passed=bool(passed) and not no_data, no_data=bool(no_data),
                           county_value=county_value, threshold=threshold,
                           failing_schools=failing or [], details=details or {},
                           kind=str(d.get("kind", "")))


def _fail_rows(c: _Ctx, idx, value, threshold, stage=None, extra=None,
               at_most: bool = False) -> list[dict]:
    """Failing schools as records; ``gap`` is the amount missing, positive: threshold −
    value, or value − threshold for a limit of "at most" (``at_most``)."""
    idx = np.asarray(idx, dtype=int)
    if len(idx) == 0:
        return []
    value = np.asarray(value, dtype=float).tolist()
    threshold = np.asarray(threshold, dtype=float).tolist()
    if stage is None:
        lab = np.array(["", "primary", "junior", "primary+junior"], dtype=object)
        stages = lab[(c.a[idx] > 0).astype(int) + 2 * (c.b[idx] > 0).astype(int)].tolist()
    elif isinstance(stage, str):
        stages = [stage] * len(idx)
    else:
        stages = list(stage)
    ex = {k: (np.asarray(v).tolist() if not isinstance(v, list) else v)
          for k, v in (extra or {}).items()}
    ids, names = c.ids[idx].tolist(), c.names[idx].tolist()
    out = []
    for n in range(len(idx)):
        gap = value[n] - threshold[n] if at_most else threshold[n] - value[n]
        row = {"school_id": ids[n], "name": names[n], "stage": stages[n], "value": value[n],
               "threshold": threshold[n], "gap": gap}
        for k, v in ex.items():
            row[k] = v[n]
        out.append(row)
    return out


def _stage_label(c: _Ctx, i: int) -> str:
    sts = [st for st, p in (("primary", c.a[i]), ("junior", c.b[i])) if p > 0]
    return "+".join(sts) if sts else ""


def _county_facts(c: _Ctx, keys) -> tuple[dict, list[str]]:
    vals, missing = {}, []
    for k in keys:
        v = _fact(c.county, k)
        if v is _MISSING:
            missing.append(k)
        else:
            vals[k] = v
    return vals, missing


def _funding_units(c: _Ctx, funds_col: str, mask: np.ndarray):
    """Rows of ``mask`` grouped so that a teaching point with an empty value of
    ``funds_col`` is counted with its parent. Returns (unit index per row)."""
    vals = _col(c.s, funds_col)
    parent = _str_col(c.s, "parent_id")
    pos = {sid: i for i, sid in enumerate(c.ids)}
    unit = np.arange(len(c.ids))
    for i in np.flatnonzero(mask & (c.typ == "teaching_point") & np.isnan(vals)):
        j = pos.get(parent[i])
        if j is not None and mask[j]:
            unit[i] = j
    return unit


def _ind_unified(c: _Ctx, d: dict) -> IndicatorResult:
    quota, funds_pp = c.rules.pupils_per_quota, c.rules.funds_per_pupil_yuan
    mask = c.public & (c.typ != "special") & ((c.a + c.b) > 0)
    facts, missing = _county_facts(c, ["unified_standards"])
    failing, missing_schools = [], []
    det: dict = {}
    for col in ("staff_quota", "public_funds_yuan"):
        unit = _funding_units(c, col, mask)
        if col == "staff_quota":
            need_row = c.a / quota.primary + c.b / quota.junior
        else:
            need_row = c.a * funds_pp.primary + c.b * funds_pp.junior
        have = _col(c.s, col)
        rows = np.flatnonzero(mask)
        need = np.bincount(unit[rows], weights=need_row[rows], minlength=len(c.ids))
        units = np.unique(unit[rows])
        hv = have[units]
        nd = np.isnan(hv)
        missing_schools += [{"school_id": c.ids[i], "column": col} for i in units[nd]]
        bad = units[~nd & ~_ge(hv, need[units])]
        failing += _fail_rows(c, bad, have[bad], need[bad],
                              extra={"check": [col] * len(bad)})
    if missing_schools:
        det["missing"] = missing_schools
    if missing:
        det["missing_county"] = missing
    unified = facts.get("unified_standards")
    ok_county = unified is not None and _truthy(unified)
    if not ok_county and not missing:
        det["county_fails"] = ["unified_standards"]
    no_data = bool(missing or missing_schools)
    return _res(d, ok_county and not failing, no_data,
                county_value={"unified_standards": facts.get("unified_standards")},
                threshold={"pupils_per_quota": quota.as_dict(),
                           "funds_per_pupil_yuan": funds_pp.as_dict()},
                failing=failing, details=det)


def _ind_art_rooms(c: _Ctx, d: dict) -> IndicatorResult:
    r = c.rules
    classes = _col(c.s, "classes_primary") + _col(c.s, "classes_junior")
    mask = ~np.isin(c.typ, ["special", "teaching_point"]) & (classes > 0)
    need = np.ceil(classes / r.classes_per_room)
    failing, missing = [], []
    for rooms_col, min_col, min_m2 in (("music_rooms", "music_room_min_m2", r.music_room_min_m2),
                                       ("art_rooms", "art_room_min_m2", r.art_room_min_m2)):
        rooms = _col(c.s, rooms_col)
        size = _col(c.s, min_col)
        nd = mask & np.isnan(rooms)
        missing += [{"school_id": c.ids[i], "column": rooms_col} for i in np.flatnonzero(nd)]
        bad = np.flatnonzero(mask & ~np.isnan(rooms) & ~_ge(rooms, need))
        failing += _fail_rows(c, bad, rooms[bad], need[bad],
                              extra={"check": [rooms_col] * len(bad)})
        has_rooms = mask & ~np.isnan(rooms) & (rooms > 0)
        nd2 = has_rooms & np.isnan(size)
        missing += [{"school_id": c.ids[i], "column": min_col} for i in np.flatnonzero(nd2)]
        bad2 = np.flatnonzero(has_rooms & ~np.isnan(size) & ~_ge(size, min_m2))
        failing += _fail_rows(c, bad2, size[bad2], np.full(len(bad2), float(min_m2)),
                              extra={"check": [min_col] * len(bad2)})
    det = {"schools": int(mask.sum()), "teaching_points": "excluded"}
    if missing:
        det["missing"] = missing
    return _res(d, not failing, bool(missing), county_value={"schools": int(mask.sum())},
                threshold={"classes_per_room": r.classes_per_room,
                           "music_room_min_m2": r.music_room_min_m2,
                           "art_room_min_m2": r.art_room_min_m2},
                failing=failing, details=det)


def _ind_school_size(c: _Ctx, d: dict) -> IndicatorResult:
    r = c.rules
    through = np.isin(c.typ, ["nine_year", "twelve_year"])
    single = np.isin(c.typ, ["primary", "junior", "complete_middle", "teaching_point"])
    size = np.where(c.typ == "complete_middle", c.b, np.where(c.typ == "primary", c.a,
                    np.where(c.typ == "junior", c.b, c.a + c.b)))
    limit = np.where(through, r.school_size_through, r.school_size_single).astype(float)
    mask = (through | single)
    bad = np.flatnonzero(mask & (size > limit))
    failing = _fail_rows(c, bad, size[bad], limit[bad], at_most=True)
    largest = float(size[mask].max()) if mask.any() else None
    return _res(d, not failing, county_value={"largest": largest},
                threshold={"single_stage": r.school_size_single,
                           "nine_or_twelve_year": r.school_size_through},
                failing=failing, details={"schools": int(mask.sum())})


def _ind_class_size(c: _Ctx, d: dict) -> IndicatorResult:
    p = c.rules.max_class
    mask0 = c.typ != "special"
    failing, missing, largest = [], [], {}
    for stage, pup in (("primary", c.a), ("junior", c.b)):
        mc = _col(c.s, f"max_class_{stage}")
        m = mask0 & (pup > 0)
        nd = m & (np.isnan(mc) | (mc <= 0))
        missing += [{"school_id": c.ids[i], "stage": stage} for i in np.flatnonzero(nd)]
        ok = m & ~nd
        largest[stage] = float(mc[ok].max()) if ok.any() else None
        bad = np.flatnonzero(ok & (mc > p[stage]))
        failing += _fail_rows(c, bad, mc[bad], np.full(len(bad), float(p[stage])), stage=stage,
                              at_most=True)
    det = {"missing": missing} if missing else {}
    return _res(d, not failing, bool(missing), county_value={"largest_class": largest},
                threshold=p.as_dict(), failing=failing, details=det)


def _ind_small_funds(c: _Ctx, d: dict) -> IndicatorResult:
    min_pupils = c.rules.small_school_pupils
    area = _str_col(c.s, "area_type")
    pupils = c.a + c.b
    mask = c.public & ((c.typ == "teaching_point") | ((area == "rural") & np.isin(
        c.typ, ["primary", "junior", "nine_year", "twelve_year", "complete_middle"]))) \
        & (pupils > 0) & (pupils < min_pupils)
    fp = c.rules.small_school_funds_per_pupil_yuan
    with np.errstate(invalid="ignore", divide="ignore"):
        need = min_pupils * (c.a * fp.primary + c.b * fp.junior) / np.where(pupils > 0, pupils, 1)
    funds = _col(c.s, "public_funds_yuan")
    nd = mask & np.isnan(funds)
    bad = np.flatnonzero(mask & ~nd & ~_ge(funds, need))
    failing = _fail_rows(c, bad, funds[bad], need[bad], extra={"pupils": pupils[bad]})
    det = {"schools": int(mask.sum())}
    if nd.any():
        det["missing"] = [{"school_id": c.ids[i], "column": "public_funds_yuan"}
                          for i in np.flatnonzero(nd)]
    return _res(d, not failing, bool(nd.any()), county_value={"schools": int(mask.sum())},
                threshold={"pupils_counted": min_pupils, "funds_per_pupil_yuan": fp.as_dict()},
                failing=failing, details=det)


def _ind_special_funds(c: _Ctx, d: dict) -> IndicatorResult:
    need_pp = float(c.rules.special_funds_per_pupil_yuan)
    pupils = c.a + c.b
    mask = (c.typ == "special") & c.public & (pupils > 0)
    if not mask.any():
        v = _fact(c.county, "special_school_funds_per_pupil_yuan")
        if v is _MISSING:
            return _res(d, False, True, threshold=need_pp,
                        details={"missing_county": ["special_school_funds_per_pupil_yuan"]})
        ok = bool(_ge(float(v), need_pp))
        return _res(d, ok, county_value=float(v), threshold=need_pp,
                    details={"source": "county", **({} if ok else {
                        "county_fails": ["special_school_funds_per_pupil_yuan"]})})
    funds = _col(c.s, "public_funds_yuan")
    nd = mask & np.isnan(funds)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = funds / np.where(pupils > 0, pupils, 1)
    bad = np.flatnonzero(mask & ~nd & ~_ge(per, need_pp))
    failing = _fail_rows(c, bad, per[bad], np.full(len(bad), need_pp))
    okm = mask & ~nd
    cv = float(funds[okm].sum() / pupils[okm].sum()) if okm.any() else None
    det = {"source": "schools", "schools": int(mask.sum())}
    if nd.any():
        det["missing"] = [{"school_id": c.ids[i], "column": "public_funds_yuan"}
                          for i in np.flatnonzero(nd)]
    return _res(d, not failing, bool(nd.any()), county_value=cv, threshold=need_pp,
                failing=failing, details=det)


def _ind_teacher_pay(c: _Ctx, d: dict) -> IndicatorResult:
    keys = ["teacher_pay_avg_yuan", "civil_servant_pay_avg_yuan", "allowances_paid",
            "performance_pay_full"]
    f, missing = _county_facts(c, keys)
    if missing:
        return _res(d, False, True, county_value=f, details={"missing_county": missing})
    fails = []
    if not _ge(float(f["teacher_pay_avg_yuan"]), float(f["civil_servant_pay_avg_yuan"])):
        fails.append("teacher_pay_avg_yuan")
    for k in ("allowances_paid", "performance_pay_full"):
        if not _truthy(f[k]):
            fails.append(k)
    return _res(d, not fails, county_value=f,
                threshold={"teacher_pay_avg_yuan": f["civil_servant_pay_avg_yuan"]},
                details={"county_fails": fails} if fails else {})


def _roster_share(c: _Ctx, d: dict, col: str, ok_fn, population_mask_fn, threshold_label,
                  county_key: str | None, min_share: float) -> IndicatorResult:
    t = c.d.teachers
    det: dict = {}
    missing_county = []
    if county_key is not None and _fact(c.county, county_key) is _MISSING:
        missing_county.append(county_key)
    if t is None or col not in t.columns or t[col].isna().all():
        det["missing"] = "roster" if t is None else f"teachers.{col}"
        if missing_county:
            det["missing_county"] = missing_county
        return _res(d, False, True, threshold=min_share, details=det)
    pop = population_mask_fn(t)
    tt = t.loc[pop]
    ok = ok_fn(tt[col])
    n = len(tt)
    share = float(ok.sum() / n) if n else 1.0
    okv = ok.to_numpy(dtype=bool)
    idx, code = _roster_codes(tt, c.ids)
    # group key: school row × 3 + stage code (unknown schools / stages are grouped by raw value)
    sid_raw = tt["school_id"].astype(str).to_numpy(dtype=object)
    st_raw = tt["stage"].astype(str).to_numpy(dtype=object)
    key = np.where((idx >= 0) & (code >= 0), idx * 2 + code, -1)
    uniq_keys, codes = np.unique(key, return_inverse=True)
    size = np.bincount(codes, minlength=len(uniq_keys))
    good = np.bincount(codes, weights=okv.astype(float), minlength=len(uniq_keys))
    first = np.full(len(uniq_keys), -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    uniq = [((c.ids[k // 2], STAGES[k % 2]) if k >= 0 else ("?", "?")) for k in uniq_keys]
    if (uniq_keys < 0).any():      # teachers of unknown schools: one group, shown as such
        j = int(np.flatnonzero(uniq_keys < 0)[0])
        uniq[j] = (str(sid_raw[first[j]]) + ("…" if size[j] > 1 else ""), str(st_raw[first[j]]))
    mean = np.divide(good, size, out=np.ones(len(uniq_keys)), where=size > 0)
    name_of = dict(zip(c.ids, c.names))
    failing = [{"school_id": sid, "name": name_of.get(sid, ""), "stage": st,
                "value": float(mean[i]), "threshold": min_share, "gap": float(min_share - mean[i]),
                "teachers": int(size[i]), "short": int(size[i] - good[i])}
               for i, (sid, st) in enumerate(uniq) if mean[i] < min_share * (1 - RTOL)]
    failing.sort(key=lambda f: (f["stage"] != "primary", -f["gap"], f["school_id"]))
    det["teachers"] = n
    det["short_teacher_ids"] = (
        sorted(tt.loc[~ok.to_numpy(dtype=bool), "teacher_id"].astype(str).tolist())
        if "teacher_id" in tt.columns else [])
    det["short_teachers"] = _short_teachers(tt.loc[~okv], col, name_of)
    county_ok = True
    if county_key is not None:
        if missing_county:
            det["missing_county"] = missing_county
        elif not _truthy(c.county[county_key]):
            county_ok = False
            det["county_fails"] = [county_key]
    return _res(d, county_ok and bool(_ge(share, min_share)), bool(missing_county),
                county_value=share, threshold=min_share, failing=failing, details=det)


def _short_teachers(short: pd.DataFrame, col: str, school_names: dict) -> list[dict]:
    """The teachers short of a roster requirement, by school then id: who they are and
    what the roster records (hours, or the certificate flag; ``None`` when empty)."""
    out = []
    for _, t in short.iterrows():
        v = t.get(col)
        v = None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v
        if isinstance(v, (np.bool_, bool)):
            v = bool(v)
        elif v is not None:
            v = float(v)
        sid = str(t.get("school_id", ""))
        out.append({"teacher_id": str(t.get("teacher_id", "")), "name": str(t.get("name", "")),
                    "school_id": sid, "school": school_names.get(sid, ""),
                    "stage": str(t.get("stage", "")), "value": v})
    out.sort(key=lambda x: (x["school_id"], x["teacher_id"]))
    return out


def _ind_training_hours(c: _Ctx, d: dict) -> IndicatorResult:
    h = float(c.rules.training_min_hours)
    return _roster_share(c, d, "training_hours_5y",
                         lambda s: pd.to_numeric(s, errors="coerce").fillna(-1) >= h * (1 - RTOL),
                         lambda t: np.ones(len(t), dtype=bool), "hours", "training_records_kept",
                         float(c.rules.training_min_share))


def _ind_certification(c: _Ctx, d: dict) -> IndicatorResult:
    def ft(t):
        if "full_time" not in t.columns:
            return np.ones(len(t), dtype=bool)
        return t["full_time"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    return _roster_share(c, d, "certified",
                         lambda s: s.astype("boolean").fillna(False).astype(bool),
                         ft, "certified", None, float(c.rules.certification_min_share))


def _ind_quota_mgmt(c: _Ctx, d: dict) -> IndicatorResult:
    f, missing = _county_facts(c, ["quota_managed_by_county"])
    if missing:
        return _res(d, False, True, details={"missing_county": missing})
    fails = [] if _truthy(f["quota_managed_by_county"]) else ["quota_managed_by_county"]
    v = _fact(c.county, "village_schools_run_by_central")
    if v is not _MISSING:
        f["village_schools_run_by_central"] = v
        if not _truthy(v):
            fails.append("village_schools_run_by_central")
    return _res(d, not fails, county_value=f, details={"county_fails": fails} if fails else {})


def _ind_rotation(c: _Ctx, d: dict) -> IndicatorResult:
    share, backbone_share = c.rules.rotation_share, c.rules.rotation_backbone_share
    if c.rotation is not None:
        src = "plan"
        r = c.rotation
        vals = {"eligible": r.get("eligible"), "rotated": r.get("rotated"),
                "backbone_rotated": r.get("backbone_rotated", r.get("backbone"))}
    else:
        src = "county"
        vals = {"eligible": c.county.get("rotation_eligible"),
                "rotated": c.county.get("rotation_rotated"),
                "backbone_rotated": c.county.get("rotation_backbone")}
    missing = [k for k, v in vals.items() if v is None or (isinstance(v, float) and math.isnan(v))]
    base_setting = getattr(c.d.settings, "backbone_base", "rotated")
    if missing:
        return _res(d, False, True, county_value=vals, details={"source": src, "missing": missing})
    e, r_, bb = (float(vals[k]) for k in ("eligible", "rotated", "backbone_rotated"))
    need_r = share * e
    base = e if base_setting == "eligible" else r_
    need_b = backbone_share * base
    fails = []
    if not _ge(r_, need_r):
        fails.append("rotated")
    if not _ge(bb, need_b):
        fails.append("backbone_rotated")
    cv = dict(vals)
    cv["rotated_share"] = r_ / e if e > 0 else None
    cv["backbone_share"] = bb / base if base > 0 else None
    return _res(d, not fails, county_value=cv,
                threshold={"rotated_share": share, "backbone_share": backbone_share,
                           "rotated_min": need_r, "backbone_min": need_b,
                           "backbone_base": base_setting},
                details={"source": src, **({"county_fails": fails} if fails else {})})


def _ind_catchment(c: _Ctx, d: dict) -> IndicatorResult:
    area = _str_col(c.s, "area_type")
    boarding = _bool_col(c.s, "boarding", False)
    if (area == "").all():      # no urban/rural classification: every public non-boarding school
        base = c.public & ~boarding & (c.typ != "special")
    else:
        base = c.public & np.isin(area, ["urban", "town"]) & ~boarding & (c.typ != "special")
    need_stage = [st for st, pup in (("primary", c.a), ("junior", c.b)) if (base & (pup > 0)).any()]
    src = "plan" if c.catchments is not None else "county"
    vals, missing, fails = {}, [], []
    for st in STAGES:
        if c.catchments is not None:
            v = c.catchments.get(st)
        else:
            v = c.county.get(f"catchment_share_{st}")
        if v is None or (isinstance(v, float) and math.isnan(v)):
            if st in need_stage:
                missing.append(st)
            continue
        vals[st] = _share(v)
        if st in need_stage and not _ge(vals[st], c.rules.catchment_share[st]):
            fails.append(st)
    det = {"source": src, "stages_required": need_stage,
           "schools": {st: int((base & (pup > 0)).sum())
                       for st, pup in (("primary", c.a), ("junior", c.b))}}
    if missing:
        det["missing"] = missing
    if fails:
        det["county_fails"] = fails
    return _res(d, not fails, bool(missing), county_value=vals,
                threshold=c.rules.catchment_share.as_dict(), details=det)


def _ind_county_share(c: _Ctx, d: dict) -> IndicatorResult:
    key = d["fact"]
    v = _fact(c.county, key)
    if v is _MISSING:
        return _res(d, False, True, threshold=d["threshold"], details={"missing_county": [key]})
    v = _share(v)
    ok = bool(_ge(v, d["threshold"]))
    det = {} if ok else {"county_fails": [key]}
    if d["id"] == 22:
        w = _fact(c.county, "quality_hs_quota_rural_weighted")
        if w is not _MISSING and not _truthy(w):
            ok = False
            det.setdefault("county_fails", []).append("quality_hs_quota_rural_weighted")
    return _res(d, ok, county_value=v, threshold=d["threshold"], details=det)


def _ind_training_funds(c: _Ctx, d: dict) -> IndicatorResult:
    share = float(c.rules.training_funds_share)
    funds = _col(c.s, "public_funds_yuan")
    train = _col(c.s, "training_funds_yuan")
    mask = c.public & ((c.a + c.b) > 0) & ~((c.typ == "teaching_point") & np.isnan(funds))
    nd_rows = mask & (np.isnan(funds) | np.isnan(train))
    ok_rows = mask & ~nd_rows
    need = share * funds
    bad = np.flatnonzero(ok_rows & ~_ge(train, need))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(funds > 0, train / np.where(funds > 0, funds, 1), np.inf)
    failing = _fail_rows(c, bad, ratio[bad], np.full(len(bad), share),
                         extra={"training_funds_yuan": train[bad], "required_yuan": need[bad]})
    det: dict = {"schools": int(mask.sum())}
    if nd_rows.any():
        det["missing"] = [{"school_id": c.ids[i]} for i in np.flatnonzero(nd_rows)]
    plan = _fact(c.county, "training_plan_exists")
    county_ok = True
    if plan is _MISSING:
        det["missing_county"] = ["training_plan_exists"]
    elif not _truthy(plan):
        county_ok = False
        det["county_fails"] = ["training_plan_exists"]
    tot = (float(train[ok_rows].sum() / funds[ok_rows].sum())
           if ok_rows.any() and funds[ok_rows].sum() > 0 else None)
    return _res(d, county_ok and not failing, bool(nd_rows.any()) or plan is _MISSING,
                county_value={"share": tot,
                              "training_plan_exists": None if plan is _MISSING else plan},
                threshold=share, failing=failing, details=det)


def _ind_quality(c: _Ctx, d: dict) -> IndicatorResult:
    p = d["params"]
    f, missing = _county_facts(c, ["quality_monitoring_level", "quality_monitoring_difference"])
    if missing:
        return _res(d, False, True, county_value=f, details={"missing_county": missing})
    fails = []
    if not _ge(float(f["quality_monitoring_level"]), p["min_level"]):
        fails.append("quality_monitoring_level")
    if not float(f["quality_monitoring_difference"]) < p["max_difference"]:
        fails.append("quality_monitoring_difference")
    return _res(d, not fails, county_value=f,
                threshold={"min_level": p["min_level"], "max_difference": p["max_difference"]},
                details={"county_fails": fails} if fails else {})


_KINDS = {
    "unified_standards": _ind_unified,
    "art_rooms": _ind_art_rooms,
    "school_size": _ind_school_size,
    "class_size": _ind_class_size,
    "small_school_funds": _ind_small_funds,
    "special_school_funds": _ind_special_funds,
    "teacher_pay": _ind_teacher_pay,
    "training_hours": _ind_training_hours,
    "quota_management": _ind_quota_mgmt,
    "rotation": _ind_rotation,
    "certification": _ind_certification,
    "catchment": _ind_catchment,
    "county_share": _ind_county_share,
    "training_funds": _ind_training_funds,
    "quality_monitoring": _ind_quality,
}


# ---------------------------------------------------------------------------
# B indicators
# ---------------------------------------------------------------------------

def validate_b_scores(b_scores: dict, std: Standard) -> list[str]:
    """Messages (Chinese / English) for every bad B score; empty when valid.

    A score above its item's points names the item, e.g.
    ``b_scores 8.2: 得分 3 超过该项分值 2 / item 8.2: score 3 exceeds its 2 points``.
    """
    return [m for _, m in _b_problems(b_scores, std)]


def _b_problems(b_scores: dict, std: Standard) -> list[tuple[int | None, str]]:
    pts = std.b_points()
    errs: list[tuple[int | None, str]] = []
    for key, scores in (b_scores or {}).items():
        try:
            k = int(key)
        except (TypeError, ValueError):
            errs.append((None, f"b_scores: 未知指标 {key!r} / unknown indicator {key!r}"))
            continue
        if k not in pts:
            errs.append((None, f"b_scores: 指标 {k} 不是B类指标 / "
                               f"indicator {k} is not a B indicator"))
            continue
        if not isinstance(scores, (list, tuple)):
            errs.append((k, f"b_scores {k}: 应为各项得分列表 / expected a list of item scores"))
            continue
        if len(scores) != len(pts[k]):
            errs.append((k, f"b_scores {k}: 应有 {len(pts[k])} 项得分，实有 {len(scores)} 项 / "
                            f"expected {len(pts[k])} item scores, got {len(scores)}"))
        for j, (sc, pt) in enumerate(zip(scores, pts[k]), start=1):
            if sc is None:
                continue
            if isinstance(sc, bool) or not _isnum(sc):
                errs.append((k, f"b_scores {k}.{j}: 得分 {sc!r} 不是数字 / "
                                f"score {sc!r} is not a number"))
                continue
            v = float(sc)
            if math.isnan(v) or v < 0:
                errs.append((k, f"b_scores {k}.{j}: 得分 {sc} 不能为负或空 / "
                                f"score {sc} is negative or empty"))
            elif v > pt + 1e-9:
                errs.append((k, f"b_scores {k}.{j}: 得分 {_num(v)} 超过该项分值 {_num(pt)} / "
                                f"item {k}.{j}: score {_num(v)} exceeds its {_num(pt)} points"))
    return errs


def _num(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"


def grade_of(total: float, std: Standard) -> tuple[str, str]:
    """(zh, en) grade of a B total that already satisfies the B rule."""
    for g in std.data["b_rule"]["grades"]:
        if total >= g["min"] - 1e-9:
            return g["zh"], g["en"]
    f = std.data["b_rule"]["fail"]
    return f["zh"], f["en"]


def _haversine_km(lon1, lat1, lon2, lat2):
    r = 6371.0088
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    dlon = lon2 - lon1
    dlat = lat2 - lat1
    h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(h))


def propose_9_2(district: District, d: dict) -> dict | None:
    """Evidence-backed proposal for item 9.2 (large residential units have a school)."""
    u = district.units
    if u is None or len(u) == 0 or "population" not in u.columns:
        return None
    if "lon" in u.columns and "lat" in u.columns:
        ulon = pd.to_numeric(u["lon"], errors="coerce").to_numpy(dtype=float)
        ulat = pd.to_numeric(u["lat"], errors="coerce").to_numpy(dtype=float)
    elif hasattr(u, "geometry"):
        pts = u.geometry.representative_point()
        ulon, ulat = pts.x.to_numpy(dtype=float), pts.y.to_numpy(dtype=float)
    else:
        return None
    pp = d.get("propose_params")
    if not pp:
        return None
    s = district.schools
    slon, slat = _col(s, "lon"), _col(s, "lat")
    typ = s["type"].astype(str).to_numpy()
    a, b = _col(s, "students_primary"), _col(s, "students_junior")
    has = _has_stage(typ, a, b)
    pop = pd.to_numeric(u["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
    uid = (u["unit_id"].astype(str).to_numpy() if "unit_id" in u.columns
           else np.arange(len(u)).astype(str))
    uname = u["name"].astype(str).to_numpy() if "name" in u.columns else uid
    sid = s["school_id"].astype(str).to_numpy()
    evidence, served, total = [], 0, 0
    for stage, min_pop, reach in (("primary", pp["primary_min_population"], pp["primary_reach_km"]),
                                  ("junior", pp["junior_min_population"], pp["junior_reach_km"])):
        cand = has[stage] & ~np.isnan(slon) & ~np.isnan(slat) & (typ != "special")
        for i in np.flatnonzero((pop >= min_pop) & ~np.isnan(ulon) & ~np.isnan(ulat)):
            total += 1
            if cand.any():
                dist = _haversine_km(ulon[i], ulat[i], slon[cand], slat[cand])
                j = int(np.argmin(dist))
                near, km = sid[cand][j], float(dist[j])
            else:
                near, km = None, None
            ok = km is not None and km <= reach
            served += ok
            evidence.append({"unit_id": uid[i], "name": uname[i], "population": pop[i],
                             "stage": stage, "nearest_school": near,
                             "km": None if km is None else round(km, 3),
                             "reach_km": reach, "served": bool(ok)})
    pts_item = d["items"][1]["points"]
    score = pts_item if total == 0 else math.floor(pts_item * served / total * 2) / 2
    return {"item": 2, "score": score, "points": pts_item, "units_checked": total, "served": served,
            "method": "straight-line (great-circle) km from unit point to nearest school "
                      "teaching the stage",
            "evidence": evidence}


def _b_results(district: District, std: Standard):
    problems = _b_problems(district.b_scores, std)
    errs = [m for _, m in problems]
    bad_ids = {k for k, _ in problems if k is not None}
    scores = {}
    for k, v in (district.b_scores or {}).items():
        try:
            scores[int(k)] = v
        except (TypeError, ValueError):
            pass
    share_min = std.data["b_rule"]["indicator_min_share"]
    results, total, complete = [], 0.0, True
    for d in std.indicators:
        if d["class"] != "B":
            continue
        k = d["id"]
        pts = [it["points"] for it in d["items"]]
        full = float(sum(pts))
        sc = scores.get(k)
        if sc is not None and not isinstance(sc, (list, tuple)):
            sc = None if k not in bad_ids else []
        items = []
        no_data = sc is None or any(x is None for x in sc) or len(sc) < len(pts)
        for j, it in enumerate(d["items"], start=1):
            listed = sc is not None and isinstance(sc, (list, tuple)) and j - 1 < len(sc)
            v = sc[j - 1] if listed else None
            items.append({"item": f"{k}.{j}", "zh": it.get("zh", ""), "points": it["points"],
                          "score": None if v is None else float(v) if _isnum(v) else v})
        det: dict = {"items": items, "points": full}
        if d.get("items") and any(it.get("propose") == "residential_areas" for it in d["items"]):
            prop = propose_9_2(district, d)
            if prop is not None:
                det["proposed"] = prop
        invalid = k in bad_ids
        if invalid:
            det["errors"] = [m for kk, m in problems if kk == k]
        if no_data or invalid:
            complete = False
            results.append(IndicatorResult(k, "B", d["name_zh"], d["name_en"], False,
                                           no_data=no_data, county_value=None,
                                           threshold=share_min * full, details=det, kind="b"))
            continue
        val = float(sum(float(x) for x in sc))
        total += val
        results.append(IndicatorResult(k, "B", d["name_zh"], d["name_en"],
                                       passed=bool(val >= share_min * full - 1e-9),
                                       county_value=val,
                                       threshold=share_min * full, details=det, kind="b"))
    rule_ok = complete and not errs and all(r.passed for r in results) and \
        total >= std.data["b_rule"]["total_min"] - 1e-9
    if rule_ok:
        gz, ge = grade_of(total, std)
    elif complete and not errs:
        gz, ge = std.data["b_rule"]["fail"]["zh"], std.data["b_rule"]["fail"]["en"]
    else:
        gz = ge = None
    return results, (total if complete and not errs else None), gz, ge, rule_ok, errs


def _isnum(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------
# entry point
# ---------------------------------------------------------------------------

#: kinds whose result depends on the plan inputs of :func:`check` (``rotation``,
#: ``catchments``), not only on the district; all others are evaluated once per
#: district state and standard
_PLAN_KINDS = ("rotation", "catchment")

#: how often :func:`check` really evaluated a district (a cache miss), and how often
#: it was called; ``stats()`` reads them
_STATS = {"calls": 0, "evaluations": 0}


def stats() -> dict[str, int]:
    """``{"calls", "evaluations"}`` of :func:`check` since the process started: an
    evaluation is a district state checked for the first time against a standard
    (a call on the same district object and standard reuses it)."""
    return dict(_STATS)


@dataclass
class _Base:
    """Everything of a report that depends only on the district and the standard."""

    by_id: dict
    b: tuple
    veto_on: list
    veto_unknown: list
    parts: pd.DataFrame
    cv_rows: pd.DataFrame
    out_of_scope: list


def _state(district: District) -> tuple:
    """What the cached report of a district object was computed from: a District is
    not changed once loaded (plans derive new ones with ``with_schools``), but a
    table or setting replaced on the object invalidates its reports."""
    return (id(district.schools), id(district.teachers), id(district.units),
            district.settings, district.standard, id(district.county), id(district.b_scores),
            id(district.veto))


def _key(x: dict | None):
    if x is None:
        return None
    try:
        key = tuple(sorted((str(k), v) for k, v in x.items()))
        hash(key)
        return key
    except TypeError:
        return _UNCACHED


_UNCACHED = object()


def _evaluate(district: District, rules: Rules) -> _Base:
    std = rules.standard
    ctx = _Ctx(district, rules, None, None)
    pp_results, parts, cv_rows, out_of_scope, notes = _per_pupil_results(district, rules)
    by_id = {r.id: r for r in pp_results}
    for d in std.indicators:
        if d["class"] == "A" and d.get("kind") in _KINDS:
            if d["kind"] not in _PLAN_KINDS:
                by_id[d["id"]] = _KINDS[d["kind"]](ctx, d)
        elif d["class"] == "A" and d["id"] not in by_id:
            raise ValueError(f"standard {std.name}: indicator {d['id']} has unknown kind "
                             f"{d.get('kind')!r}")
    b = _b_results(district, std)
    for r in b[0]:
        by_id[r.id] = r
    if notes:
        for k in PER_PUPIL:
            if k in by_id:
                by_id[k].details.setdefault("notes", notes)
    veto_on, veto_unknown = [], []
    vd = district.veto or {}
    for v in std.data.get("vetoes", []):
        val = vd.get(v["key"])
        if val is None:
            veto_unknown.append(v["key"])
        elif _truthy(val):
            veto_on.append(v["key"])
    return _Base(by_id, b, veto_on, veto_unknown, parts, cv_rows, out_of_scope)


def check(district: District, rotation: dict | None = None, catchments: dict | None = None,
          standard: str | Standard | None = None, rules: Rules | None = None) -> Report:
    """Check a district against its standard (``district.standard``).

    Parameters
    ----------
    district : District
    rotation : dict, optional
        ``{"eligible", "rotated", "backbone_rotated"}`` from a rotation plan
        (indicator 19); default: the county facts rotation_*.
    catchments : dict, optional
        ``{"primary": share, "junior": share}`` of pupils living in their
        school's catchment (indicator 21); default: county catchment_share_*.
    standard : str or Standard, optional
        Overrides ``district.standard`` (a name or a YAML path).
    rules : Rules, optional
        The standard as typed rules (overrides ``standard``); every number the
        check applies comes from it, the per-kind data (B items, vetoes, the facts
        of the county-share indicators) from ``rules.standard``.

    Returns
    -------
    Report
        Read-only by convention: the same district object checked again with the
        same inputs returns the same report. A district is evaluated once per
        standard; another ``rotation`` or ``catchments`` re-evaluates only
        indicators 19 and 21 (see :func:`stats`).
    """
    if rules is None:
        if isinstance(standard, Standard):
            rules = rules_of(standard)
        else:
            rules = load_rules(standard or district.standard or "hunan-2023")
    _STATS["calls"] += 1
    cache = district._reports
    state = _state(district)
    plan_key = (_key(rotation), _key(catchments))
    cacheable = _UNCACHED not in plan_key
    entry = cache.get(id(rules))
    if entry is None or entry[0] is not rules or entry[1] != state:
        _STATS["evaluations"] += 1
        entry = (rules, state, _evaluate(district, rules), {})
        cache[id(rules)] = entry
    reports = entry[3]
    if cacheable and plan_key in reports:
        return reports[plan_key]
    report = _assemble(district, rules, entry[2], rotation, catchments)
    if cacheable:
        reports[plan_key] = report
    return report


def _assemble(district: District, rules: Rules, base: _Base, rotation, catchments) -> Report:
    """The report of a district from its cached part and the plan inputs."""
    std = rules.standard
    ctx = _Ctx(district, rules, rotation, catchments)
    by_id = dict(base.by_id)
    for d in std.indicators:
        if d["class"] == "A" and d.get("kind") in _PLAN_KINDS:
            by_id[d["id"]] = _KINDS[d["kind"]](ctx, d)
    b_res, b_score, gz, ge, b_rule, b_errs = base.b
    vetoes = std.data.get("vetoes", [])
    indicators = [by_id[k] for k in sorted(by_id)]
    a_ok = all(r.passed for r in indicators if r.cls == "A")
    recognised = a_ok and b_rule and not base.veto_on and not base.veto_unknown
    st = district.settings
    settings = {k: getattr(st, k) for k in ("school_rule", "teaching_points", "private_schools",
                                              "special_schools") if hasattr(st, k)}
    return Report(district=district.name, standard=std.name, indicators=indicators,
                  b_score=b_score, b_grade=gz, b_grade_en=ge, b_rule=b_rule,
                  b_errors=list(b_errs), veto=list(base.veto_on),
                  veto_unknown=list(base.veto_unknown),
                  veto_names={v["key"]: {"zh": v["zh"], "en": v["en"]} for v in vetoes},
                  recognised=recognised, settings=settings, parts=base.parts,
                  cv_rows=base.cv_rows, out_of_scope=base.out_of_scope,
                  standard_title_zh=str(std.data.get("title_zh", std.name)),
                  standard_title_en=str(std.data.get("title_en", std.name)),
                  input_warnings=list(district.schools.attrs.get("input_warnings", [])),
                  b_indicator_min_share=float(std.data["b_rule"]["indicator_min_share"]),
                  b_total_min=float(std.data["b_rule"]["total_min"]))
