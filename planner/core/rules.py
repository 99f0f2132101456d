"""The official standard as data: :class:`Standard` (the YAML file as read) and
:class:`Rules` (every number a plan, a check or a verifier applies, typed).

Every threshold, coefficient-of-variation limit, class-size and school-size
limit, rotation share, area and room rule lives in ``planner/standards/<name>.yaml``
and nowhere else. A variant standard (another province, a stricter county target)
is a copy of that file with other numbers: ``district.yaml`` names it
(``standard: my-variant`` for ``planner/standards/my-variant.yaml``, or a path), and
the indicator check, every plan and every verifier follow it.

``Rules`` is frozen; its tables are :class:`ByStage` pairs (``rules.max_class["junior"]``)
or plain tuples, so a ``Rules`` is picklable (for Dask workers) and a plan cannot
change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Standard", "Rules", "ByStage", "PerPupilRule", "Transport", "load_standard",
           "load_rules", "rules_of", "STANDARDS_DIR", "STAGES"]

STANDARDS_DIR = Path(__file__).resolve().parents[1] / "standards"
STAGES = ("primary", "junior")


# ---------------------------------------------------------------------------
# the standard file as read
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Standard:
    """A standard loaded from YAML (see ``planner/standards/hunan-2023.yaml``)."""

    name: str
    data: dict

    @property
    def indicators(self) -> list[dict]:
        return self.data["indicators"]

    def indicator(self, ind_id: int) -> dict:
        for d in self.indicators:
            if d["id"] == ind_id:
                return d
        raise KeyError(ind_id)

    def ids(self, cls: str) -> list[int]:
        return [d["id"] for d in self.indicators if d["class"] == cls]

    def b_points(self) -> dict[int, list[float]]:
        return {d["id"]: [it["points"] for it in d["items"]]
                for d in self.indicators if d["class"] == "B"}


def standard_path(name_or_path: str | Path) -> Path:
    """``planner/standards/<name>.yaml`` for a name, the path itself for a path."""
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = STANDARDS_DIR / f"{name_or_path}.yaml"
    return p.resolve()


def load_standard(name_or_path: str | Path = "hunan-2023") -> Standard:
    """Load a standard by name (``planner/standards/<name>.yaml``) or path."""
    return _load_standard_cached(str(standard_path(name_or_path)))


def known_standards() -> list[str]:
    return sorted(x.stem for x in STANDARDS_DIR.glob("*.yaml"))


@lru_cache(maxsize=16)
def _load_standard_cached(path: str) -> Standard:
    p = Path(path)
    if not p.exists():
        raise ValueError(f"unknown standard {p.stem!r}; known: {', '.join(known_standards())}")
    from planner.io.yamlsafe import load_yaml  # duplicate keys and alias bombs are errors
    data = load_yaml(p, p.name)
    ids = [d["id"] for d in data["indicators"]]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{p}: duplicate indicator ids")
    for d in data["indicators"]:
        if d["class"] not in ("A", "B"):
            raise ValueError(f"{p}: indicator {d['id']}: class must be A or B")
        if d["class"] == "B" and not d.get("items"):
            raise ValueError(f"{p}: B indicator {d['id']} has no items")
    return Standard(name=data.get("name", p.stem), data=data)


# ---------------------------------------------------------------------------
# typed rules
# ---------------------------------------------------------------------------

def _number(v: Any) -> float:
    """A number of the standard file: an ``int`` stays an ``int`` (45 pupils), else float."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{v!r} is not a number")
    return v if isinstance(v, int) else float(v)


@dataclass(frozen=True)
class ByStage:
    """One number per compulsory stage: ``x["primary"]``, ``x.junior``."""

    primary: float
    junior: float

    def __getitem__(self, stage: str) -> float:
        if stage == "primary":
            return self.primary
        if stage == "junior":
            return self.junior
        raise KeyError(stage)

    def items(self) -> Iterator[tuple[str, float]]:
        yield "primary", self.primary
        yield "junior", self.junior

    def as_dict(self) -> dict[str, float]:
        return {"primary": self.primary, "junior": self.junior}

    @classmethod
    def of(cls, value: Any, where: str) -> "ByStage":
        if isinstance(value, dict):
            try:
                return cls(_number(value["primary"]), _number(value["junior"]))
            except KeyError as e:
                raise ValueError(f"{where}: no value for {e.args[0]}") from None
        return cls(_number(value), _number(value))


@dataclass(frozen=True)
class PerPupilRule:
    """Indicators 1-7: ``multiplier · resource / pupils ≥ threshold`` per school part."""

    id: int
    resource: str          # teacher_counts() column (1-3) or schools column (4-7)
    multiplier: float      # 100 for "per 100 pupils", else 1
    threshold: ByStage
    name_zh: str
    name_en: str
    unit_zh: str
    unit_en: str

    @property
    def is_teacher(self) -> bool:
        return self.id in (1, 2, 3)


@dataclass(frozen=True)
class Transport:
    """School transport (the ``transport:`` section of the standard)."""

    bus_capacity: int
    max_ride_min: float
    speed_cap_ordinary_kmh: float
    speed_cap_expressway_kmh: float
    speed_cap_hazardous_kmh: float


@dataclass(frozen=True)
class Rules:
    """Every number of the standard that a plan, a check or a verifier applies.

    Built by :func:`load_rules` from the standard file; nothing else holds these
    numbers. ``standard`` is the file as read (names, B items, vetoes) for the
    indicator engine's per-kind logic and the outputs.
    """

    name: str
    title_zh: str
    title_en: str
    stages: tuple[str, ...]
    per_pupil: tuple[PerPupilRule, ...]          # indicators 1-7, by id
    cv_limit: ByStage                            # 1-7, inclusive, unrounded CV
    facility_weights: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]
    teaching_point_min_pupils: int
    national_min_met: int
    national_floor_share: float
    # 10: staffing quota and public funds
    pupils_per_quota: ByStage
    funds_per_pupil_yuan: ByStage
    # 11: music and art rooms
    classes_per_room: int
    music_room_min_m2: float   # an int in the file stays an int (reports show 96, not 96.0)
    art_room_min_m2: float
    # 12: school size
    school_size_single: int
    school_size_through: int
    # 13: class size
    max_class: ByStage
    # 14: small schools funded as this many pupils, at these yuan per pupil
    small_school_pupils: int
    small_school_funds_per_pupil_yuan: ByStage
    # 15: special schools
    special_funds_per_pupil_yuan: float
    # 17, 20: training and certification
    training_min_hours: float
    training_min_share: float
    certification_min_share: float
    # 19: rotation
    rotation_share: float
    rotation_backbone_share: float
    # 21: catchment enrolment share
    catchment_share: ByStage
    # 28: training funds
    training_funds_share: float
    # plans
    transport: Transport
    candidates_max_pupils: int
    standard: Standard

    # -- lookups ---------------------------------------------------------
    def rule(self, ind_id: int) -> PerPupilRule:
        for r in self.per_pupil:
            if r.id == ind_id:
                return r
        raise KeyError(ind_id)

    def threshold(self, ind_id: int, stage: str) -> float:
        """The per-school-part threshold of indicator 1-7 for ``stage``."""
        return self.rule(ind_id).threshold[stage]

    def teacher_floors(self, stage: str) -> tuple[float, float, float]:
        """Thresholds of indicators 1, 2, 3 (teachers per 100 pupils) for ``stage``."""
        return (self.threshold(1, stage), self.threshold(2, stage), self.threshold(3, stage))

    def area_per_pupil(self, stage: str) -> tuple[float, float]:
        """Floor area (4) and sports area (5) per pupil for ``stage``."""
        return (self.threshold(4, stage), self.threshold(5, stage))

    def facility_weight(self, school_type: str, stage: str) -> float:
        for t, ws in self.facility_weights:
            if t == school_type:
                return dict(ws).get(stage, 0.0)
        return 1.0

    def school_size_limit(self, school_type: str) -> int:
        """Indicator 12: the largest compulsory enrolment a school of this type may have."""
        if school_type in ("nine_year", "twelve_year"):
            return self.school_size_through
        return self.school_size_single

    def rooms_needed(self, classes: int) -> int:
        """Indicator 11: music (and art) rooms a school of ``classes`` classes needs."""
        return -(-int(classes) // self.classes_per_room) if classes > 0 else 0

    def quota_needed(self, pupils_primary: float, pupils_junior: float) -> float:
        """Indicator 10: the staffing quota (unrounded) for these pupils."""
        return (pupils_primary / self.pupils_per_quota.primary
                + pupils_junior / self.pupils_per_quota.junior)

    def funds_needed(self, pupils_primary: float, pupils_junior: float) -> float:
        """Indicator 10: public funds (yuan a year) for these pupils."""
        return (pupils_primary * self.funds_per_pupil_yuan.primary
                + pupils_junior * self.funds_per_pupil_yuan.junior)


def load_rules(name_or_path: str | Path = "hunan-2023") -> Rules:
    """The :class:`Rules` of a standard (by name or path); cached per file."""
    return _rules_cached(str(standard_path(name_or_path)))


@lru_cache(maxsize=16)
def _rules_cached(path: str) -> Rules:
    return rules_of(_load_standard_cached(path), Path(path).name)


def rules_of(std: Standard, where: str | None = None) -> Rules:
    """The :class:`Rules` of a standard already read (``where`` names it in messages).
    :func:`load_rules` caches this per file; this builds a new one each call."""
    d = std.data
    where = where or std.name

    def ind(k: int) -> dict:
        try:
            return std.indicator(k)
        except KeyError:
            raise ValueError(f"{where}: indicator {k} is missing") from None

    def param(k: int, key: str) -> Any:
        p = ind(k).get("params") or {}
        if key not in p:
            raise ValueError(f"{where}: indicator {k} has no params.{key}")
        return p[key]

    def section(name: str) -> dict:
        v = d.get(name)
        if not isinstance(v, dict):
            raise ValueError(f"{where}: the {name}: section is missing")
        return v

    per_pupil = []
    for k in range(1, 8):
        x = ind(k)
        per_pupil.append(PerPupilRule(
            id=k, resource=str(x["resource"]), multiplier=float(x.get("multiplier", 1)),
            threshold=ByStage.of(x["threshold"], f"{where} indicator {k} threshold"),
            name_zh=x["name_zh"], name_en=x["name_en"], unit_zh=x.get("unit_zh", ""),
            unit_en=x.get("unit_en", "")))
    national = section("national_rule")
    if "min_met" not in national or "floor" not in national:
        raise ValueError(f"{where}: national_rule needs min_met and floor")
    if "teaching_point_min_pupils" not in d:
        raise ValueError(f"{where}: teaching_point_min_pupils is missing")
    transport = section("transport")
    speeds = transport.get("speed_cap_kmh") or {}
    try:
        tr = Transport(bus_capacity=int(transport["bus_capacity"]),
                       max_ride_min=float(transport["max_ride_min"]),
                       speed_cap_ordinary_kmh=float(speeds["ordinary"]),
                       speed_cap_expressway_kmh=float(speeds["expressway"]),
                       speed_cap_hazardous_kmh=float(speeds["hazardous"]))
    except KeyError as e:
        raise ValueError(f"{where}: transport.{e.args[0]} is missing") from None
    weights = tuple(sorted((t, tuple(sorted((s, float(w)) for s, w in ws.items())))
                           for t, ws in (d.get("facility_weights") or {}).items()))
    return Rules(
        name=std.name, title_zh=d.get("title_zh", std.name), title_en=d.get("title_en", std.name),
        stages=tuple(d.get("stages", STAGES)), per_pupil=tuple(per_pupil),
        cv_limit=ByStage.of(d["cv_limit"], f"{where} cv_limit"),
        facility_weights=weights,
        teaching_point_min_pupils=int(d["teaching_point_min_pupils"]),
        national_min_met=int(national["min_met"]),
        national_floor_share=float(national["floor"]),
        pupils_per_quota=ByStage.of(param(10, "pupils_per_quota"), f"{where} indicator 10"),
        funds_per_pupil_yuan=ByStage.of(param(10, "funds_per_pupil_yuan"), f"{where} indicator 10"),
        classes_per_room=int(param(11, "classes_per_room")),
        music_room_min_m2=_number(param(11, "music_room_min_m2")),
        art_room_min_m2=_number(param(11, "art_room_min_m2")),
        school_size_single=int(param(12, "single_stage_max")),  # not-a-rule: indicator ids
        school_size_through=int(param(12, "through_max")),  # not-a-rule: indicator ids
        max_class=ByStage.of(param(13, "max_class"), f"{where} indicator 13"),
        small_school_pupils=int(param(14, "min_pupils")),
        small_school_funds_per_pupil_yuan=ByStage.of(param(14, "funds_per_pupil_yuan"),
                                                     f"{where} indicator 14"),
        special_funds_per_pupil_yuan=float(param(15, "funds_per_pupil_yuan")),
        training_min_hours=float(param(17, "min_hours")),
        training_min_share=float(param(17, "min_share")),
        certification_min_share=float(param(20, "min_share")),  # not-a-rule: indicator ids
        rotation_share=float(param(19, "rotated_share")),  # not-a-rule: indicator ids
        rotation_backbone_share=float(param(19, "backbone_share")),  # not-a-rule: indicator ids
        catchment_share=ByStage.of(ind(21)["threshold"], f"{where} indicator 21"),
        training_funds_share=float(param(28, "min_share")),
        transport=tr,
        candidates_max_pupils=int(section("consolidation")["candidates_max_pupils"]),
        standard=std,
    )
