"""Places of a school for one stage: the most pupils it can take while still passing
every school-level A indicator that depends on pupils (issue 16, part 1).

For a zoned school ``s`` and stage ``t`` with ``n`` pupils of the stage at full
turnover, each indicator gives a largest ``n`` (all numbers from
:class:`~planner.core.rules.Rules`; ``m`` the indicator's multiplier, ``thr`` its
threshold of the stage):

- **1–3** (teachers of the stage after the plan, ``District.teacher_counts``):
  ``m · T / n ≥ thr`` → ``n ≤ m · T / thr``.
- **4–7** (building and sports area, equipment, multimedia rooms, split by weighted
  enrolment as the engine does, ``facility_weights``): with ``W = Σ_k w_k n_k`` the
  school's weighted pupils (the other compulsory stage and a senior part count with
  their weights), stage ``k``'s value is ``m · R · w_k / W``; every compulsory stage
  present must pass, so ``W ≤ m · R · min_k (w_k / thr_k)`` and
  ``n ≤ (that − W_other) / w_t``. A single-stage school: ``n ≤ m · R / thr``.
- **11** (music and art rooms, one per ``classes_per_room`` classes; not teaching
  points): ``⌈n / L⌉ + c_other ≤ classes_per_room · min(music, art rooms)``,
  ``L`` the class-size limit of the stage.
- **12** (school size): ``n ≤ limit`` of the type; a nine- or twelve-year school
  counts both compulsory stages, ``n ≤ limit − n_other``.
- **13** (class size in its classrooms): the stage's classes are at least ``⌈n / L⌉``
  and share the classrooms with the other stage's ``c_other`` classes:
  ``n ≤ L · (classrooms − c_other)``; without a classroom count, today's classes of
  the stage (``n ≤ L · classes``).

``places = min`` of the limits that apply (floored, never below 0); ``binding`` is
the indicator of the smallest (ties: the lower id). A limit whose data are missing
(NaN) does not apply and is listed as ``None``.

Readings:

- *The other stage* of a two-stage school is held at what it will have: its
  full-turnover pupils and classes when it was zoned earlier in the same plan
  (``other``), else today's. Zoning the stages in turn therefore keeps the joint
  limits (4–7, 11, 12, 13) of the final state exactly.
- *Scope of 1–7* follows the district's settings as the engine does: a private
  school is out of scope unless ``private_schools: include``; a teaching point is out
  under ``exclude_all``, and under ``exclude_below_50`` while it has fewer than the
  standard's ``teaching_point_min_pupils`` pupils, so it may always take up to one
  below that; under ``merge_into_parent`` it is judged on its own (a conservative
  reading: the merged part is at least as strong as its weaker member only if the
  parent has spare resources).
- *Indicators 10 and 14* (staffing quota, public funds) are not limits: the county
  sets them per pupil (编制标准, 生均公用经费基准定额), so they follow the pupils; the
  after-plan check at full turnover still shows any school left short.
- *Classes at full turnover* (:func:`classes_after`): a zoned stage keeps today's
  classes where its classrooms (13) and music and art rooms (11) allow, and opens
  ``⌈n / L⌉`` when that is more; its largest class is ``⌈n / classes⌉`` (the
  entrants spread evenly).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from planner.core.district import District
from planner.core.rules import Rules

__all__ = ["Places", "classes_after", "school_places", "LIMIT_ORDER"]

#: the indicators that limit places, in the order ties are broken
LIMIT_ORDER = ("1", "2", "3", "4", "5", "6", "7", "11", "12", "13")

#: headroom for floating-point noise when a limit is floored (pupils)
_EPS = 1e-9

_TEACHER_RESOURCE = {1: "qualified", 2: "backbone", 3: "pe_art"}


@dataclass(frozen=True)
class Places:
    """Places of one school part, and why.

    ``limits``: each indicator's largest number of pupils (``None`` when its data
    are missing or it does not apply), in :data:`LIMIT_ORDER`; ``binding``: the
    indicator of the smallest. ``pupils_other``/``classes_other``: the other stage
    as assumed (see the module docstring)."""

    school_id: str
    stage: str
    places: int
    binding: str
    limits: tuple[tuple[str, int | None], ...]
    pupils_other: int
    classes_other: int
    rooms: float              # classrooms available to the stage (13)
    art_classes: float        # classes the music and art rooms allow the stage (11)

    def limit(self, ind: str) -> int | None:
        return dict(self.limits).get(ind)


def _num(row: pd.Series, col: str) -> float:
    v = row.get(col)
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    return v


def _floor(x: float) -> int:
    return max(0, int(math.floor(x + _EPS)))


def _in_scope_17(row: pd.Series, district: District) -> bool:
    st = district.settings
    if not bool(row.get("public", True)) and st.private_schools == "exclude":
        return False
    if row["type"] == "special" and st.special_schools == "exclude":
        return False
    return not (row["type"] == "teaching_point" and st.teaching_points == "exclude_all")


def school_places(district: District, stage: str, schools: pd.DataFrame, rules: Rules,
                  other: Mapping[str, tuple[int, int]] | None = None) -> dict[str, Places]:
    """:class:`Places` of each school of ``schools`` for ``stage`` (see the module
    docstring); ``other``: ``school_id → (pupils, classes)`` of the other stage at
    full turnover, for two-stage schools zoned earlier in the plan."""
    other = other or {}
    ostage = "junior" if stage == "primary" else "primary"
    tc = district.teacher_counts()
    weights = {t: dict(ws) for t, ws in rules.facility_weights}
    lim_class = int(rules.max_class[stage])
    out = {}
    for _, row in schools.iterrows():
        sid = str(row["school_id"])
        typ = str(row["type"])
        if sid in other:
            n_o, c_o = other[sid]
        else:
            n_o, c_o = int(row[f"students_{ostage}"]), int(row[f"classes_{ostage}"])
        senior = _num(row, "students_senior")
        senior = 0.0 if math.isnan(senior) else senior
        limits: dict[str, int | None] = {k: None for k in LIMIT_ORDER}
        if _in_scope_17(row, district):
            for k in range(1, 8):
                limits[str(k)] = _per_pupil_limit(rules, k, stage, ostage, row, tc, weights,
                                                  n_o, senior)
            if typ == "teaching_point" and district.settings.teaching_points == \
                    "exclude_below_50":
                below = rules.teaching_point_min_pupils - 1 - n_o
                for k in range(1, 8):
                    v = limits[str(k)]
                    if v is not None:
                        limits[str(k)] = max(v, _floor(below))
        rooms = _num(row, "classrooms")
        rooms_t = float(row[f"classes_{stage}"]) if math.isnan(rooms) else rooms - c_o
        limits["13"] = _floor(lim_class * rooms_t)
        allow = math.inf
        if typ not in ("special", "teaching_point"):
            music, art = _num(row, "music_rooms"), _num(row, "art_rooms")
            if not (math.isnan(music) or math.isnan(art)):
                allow = rules.classes_per_room * min(music, art) - c_o
                limits["11"] = _floor(lim_class * allow)
        size = rules.school_size_limit(typ)
        limits["12"] = _floor(size - n_o if typ in ("nine_year", "twelve_year") else size)
        known = [(v, k) for k, v in limits.items() if v is not None]
        best, binding = min(known, key=lambda vk: (vk[0], LIMIT_ORDER.index(vk[1])))
        out[sid] = Places(school_id=sid, stage=stage, places=best, binding=binding,
                          limits=tuple((k, limits[k]) for k in LIMIT_ORDER),
                          pupils_other=int(n_o), classes_other=int(c_o),
                          rooms=max(0.0, rooms_t), art_classes=max(0.0, allow))
    return out


def _per_pupil_limit(rules: Rules, k: int, stage: str, ostage: str, row: pd.Series, tc,
                     weights: dict, n_o: int, senior: float) -> int | None:
    rule = rules.rule(k)
    thr = float(rule.threshold[stage])
    if thr <= 0:
        return None
    m = rule.multiplier
    if k in _TEACHER_RESOURCE:
        key = (str(row["school_id"]), stage)
        if key not in tc.index:
            return None
        t = float(tc.loc[key, _TEACHER_RESOURCE[k]])
        return None if math.isnan(t) else _floor(m * t / thr)
    r = _num(row, rule.resource)
    if math.isnan(r):
        return None
    w = weights.get(str(row["type"]))
    if w is None:                                # a single-stage school: all its own
        return _floor(m * r / thr)
    w_t = float(w.get(stage, 1.0)) or 1.0
    w_o = float(w.get(ostage, 0.0))
    ratio = w_t / thr
    if n_o > 0 and w_o > 0:
        ratio = min(ratio, w_o / float(rule.threshold[ostage]))
    w_max = m * r * ratio
    w_other = w_o * n_o + float(w.get("senior", 0.0)) * senior
    return _floor((w_max - w_other) / w_t)


def classes_after(p: Places, pupils: int, classes_today: int, class_limit: int) -> int:
    """Classes of a zoned stage at full turnover (module docstring): today's where
    the classrooms and the music and art rooms allow, ``⌈pupils / limit⌉`` when more."""
    if pupils <= 0:
        return 0
    need = -(-int(pupils) // int(class_limit))
    keep = min(float(classes_today), p.rooms, p.art_classes)
    return max(need, int(math.floor(keep + _EPS)))
