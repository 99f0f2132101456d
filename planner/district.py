"""The district data model: what a loaded district is.

A :class:`District` is what :func:`planner.io.load_district` returns after every
check has passed, so the rest of the code can trust it:

- ``schools``: one row per school or teaching point, English column names of
  ``data-spec.md``; counts (pupils, classes, largest class) are ``int64`` (an empty
  cell is 0); every other number is ``float64`` with ``NaN`` meaning "no data";
  booleans are pandas ``boolean``; ``parent_id`` is ``""`` when empty.
- ``teachers``: the roster (or ``None``) with the derived columns ``qualified``,
  ``is_backbone``, ``pe_art`` and ``eligible`` (see :func:`derive_teacher_flags`).
- ``units``: residential units as a GeoDataFrame in WGS84 (points or polygons).
- ``roads``: road centre-lines as a GeoDataFrame in WGS84.
- ``boundary``: the district outline (shapely geometry, WGS84).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STAGES = ("primary", "junior")

SCHOOL_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_middle",
                "teaching_point", "special")

#: stages each school type teaches (a special school may teach either; its
#: stages come from its pupils)
TYPE_STAGES = {
    "primary": ("primary",),
    "junior": ("junior",),
    "nine_year": ("primary", "junior"),
    "twelve_year": ("primary", "junior"),
    "complete_middle": ("junior",),
    "teaching_point": ("primary",),
    "special": ("primary", "junior"),
}

PE_ART_SUBJECTS = frozenset({"体育", "体育与健康", "音乐", "美术", "艺术",
                             "pe", "physical education", "music", "art", "arts"})

#: degrees that count as "above the required degree" per stage (indicator 1)
QUALIFIED_DEGREES = {
    "primary": frozenset({"associate", "bachelor", "postgraduate"}),
    "junior": frozenset({"bachelor", "postgraduate"}),
}


@dataclass(frozen=True)
class Settings:
    """``settings:`` of district.yaml; defaults as in data-spec.md / rules.md."""

    school_rule: str = "hunan"                  # hunan | national
    teaching_points: str = "exclude_below_50"   # exclude_below_50 | exclude_all | merge_into_parent
    private_schools: str = "exclude"            # exclude | include (indicators 1-7)
    special_schools: str = "exclude"            # exclude | include (indicators 1-7)
    rotation_min_years: int = 6
    rotation_max_age: int = 55
    backbone_base: str = "rotated"              # rotated | eligible (indicator 19)
    crs: str | None = None                      # projected CRS for areas; default: UTM zone

    CHOICES = {
        "school_rule": ("hunan", "national"),
        "teaching_points": ("exclude_below_50", "exclude_all", "merge_into_parent"),
        "private_schools": ("exclude", "include"),
        "special_schools": ("exclude", "include"),
        "backbone_base": ("rotated", "eligible"),
    }

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass
class District:
    name: str
    schools: pd.DataFrame
    teachers: pd.DataFrame | None = None
    units: Any = None          # geopandas.GeoDataFrame | None
    roads: Any = None          # geopandas.GeoDataFrame | None
    boundary: Any = None       # shapely geometry | None
    standard: str = "hunan-2023"
    settings: Settings = field(default_factory=Settings)
    county: dict = field(default_factory=dict)
    b_scores: dict = field(default_factory=dict)
    veto: dict = field(default_factory=dict)
    path: Path | None = None
    _network: Any = field(default=None, repr=False, compare=False)

    def road_network(self):
        """The road graph of ``roads`` (``geodata.roads.RoadNetwork``), built once and
        shared by every plan made on this district and on the districts derived from
        it (a plan changes schools and teachers, never roads); ``None`` without roads."""
        if self.roads is None or len(self.roads) == 0:
            return None
        if self._network is None:
            from geodata.roads import build_road_graph
            self._network = build_road_graph(self.roads)
        return self._network

    def school(self, school_id: str) -> pd.Series:
        return self.schools.loc[self.schools["school_id"] == school_id].iloc[0]

    def school_names(self) -> dict[str, str]:
        return dict(zip(self.schools["school_id"], self.schools["name"]))

    def stages_of(self, school_id: str) -> tuple[str, ...]:
        row = self.school(school_id)
        return school_stages(row)

    def teacher_counts(self) -> pd.DataFrame:
        """Teachers per school and stage, indexed by ``(school_id, stage)``.

        Columns: ``full_time`` (full-time teachers), ``qualified`` (full-time,
        above the required degree of the stage), ``backbone`` (county level or
        higher, any rostered teacher), ``pe_art`` (full-time PE, music or art).
        Every school part (school, stage taught) has a row, zero when empty.

        Without a roster, the school table's ``teachers_qualified``,
        ``teachers_backbone`` and ``teachers_pe_art`` are used; a school teaching
        two stages has them split in proportion to its pupils (a documented
        reading: data-spec.md gives one count per school).
        """
        parts = [(sid, st) for sid, row in zip(self.schools["school_id"],
                                               self.schools.itertuples(index=False))
                 for st in school_stages(row)]
        index = pd.MultiIndex.from_tuples(parts, names=["school_id", "stage"])
        cols = ["full_time", "qualified", "backbone", "pe_art"]
        if self.teachers is not None:
            t = self.teachers
            g = pd.DataFrame({
                "school_id": t["school_id"], "stage": t["stage"],
                "full_time": t["full_time"].astype(bool).astype(int),
                "qualified": t["qualified"].astype(int),
                "backbone": t["is_backbone"].astype(int),
                "pe_art": t["pe_art"].astype(int),
            }).groupby(["school_id", "stage"])[cols].sum()
            out = g.reindex(index, fill_value=0).astype(float)
            return out
        out = pd.DataFrame(0.0, index=index, columns=cols)
        src = {"qualified": "teachers_qualified", "backbone": "teachers_backbone",
               "pe_art": "teachers_pe_art"}
        s = self.schools.set_index("school_id")
        for (sid, st) in parts:
            row = s.loc[sid]
            stages = school_stages(row)
            pupils = {x: row[f"students_{x}"] for x in stages}
            total = sum(pupils.values())
            share = (pupils[st] / total) if total > 0 else 1.0 / len(stages)
            for c, sc in src.items():
                v = row.get(sc, np.nan) if sc in s.columns else np.nan
                out.loc[(sid, st), c] = v * share if pd.notna(v) else np.nan
            out.loc[(sid, st), "full_time"] = np.nan
        return out

    def with_schools(self, schools: pd.DataFrame, teachers: pd.DataFrame | None = ...) -> "District":
        """A copy with other school (and teacher) tables: how plans are applied."""
        return replace(self, schools=schools,
                       teachers=self.teachers if teachers is ... else teachers)


def school_stages(row) -> tuple[str, ...]:
    """Compulsory stages a school part exists for: those its type teaches
    (a special school: those it has pupils in)."""
    typ = row["type"] if isinstance(row, (pd.Series, dict)) else row.type
    if typ == "special":
        sp = row["students_primary"] if isinstance(row, (pd.Series, dict)) else row.students_primary
        sj = row["students_junior"] if isinstance(row, (pd.Series, dict)) else row.students_junior
        out = tuple(s for s, n in (("primary", sp), ("junior", sj)) if n > 0)
        return out or ("primary",)
    return TYPE_STAGES[typ]


def derive_teacher_flags(teachers: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add ``qualified``, ``is_backbone``, ``pe_art`` and ``eligible``.

    - qualified: full-time, primary with associate or above, junior with
      bachelor or above (indicator 1);
    - is_backbone: backbone level county, city, province or national (2, 19);
    - pe_art: full-time teacher of 体育, 音乐 or 美术 (3);
    - eligible to rotate: full-time, not exempt, ≥ ``rotation_min_years`` at
      the school and younger than ``rotation_max_age`` (19). A missing years or
      age value makes a teacher not eligible.
    """
    t = teachers.copy()
    ft = t["full_time"].fillna(True).astype(bool)
    qual = [(d in QUALIFIED_DEGREES.get(s, ())) for d, s in zip(t["degree"], t["stage"])]
    t["qualified"] = np.array(qual, dtype=bool) & ft.to_numpy()
    t["is_backbone"] = t["backbone"].isin(["county", "city", "province", "national"]).to_numpy()
    subj = t["subject"].astype(str).str.strip().str.lower()
    t["pe_art"] = subj.isin(PE_ART_SUBJECTS).to_numpy() & ft.to_numpy()
    years = t["years_at_school"]
    age = t["age"]
    exempt = t["exempt"].fillna("").astype(str).str.strip() != ""
    t["eligible"] = (ft.to_numpy() & ~exempt.to_numpy()
                     & (years >= settings.rotation_min_years).fillna(False).to_numpy()
                     & (age < settings.rotation_max_age).fillna(False).to_numpy())
    return t


def pseudonym(teacher_id: str) -> str:
    """A stable pseudonym: the same teacher id always gives the same name."""
    import hashlib
    return "教师" + hashlib.sha256(str(teacher_id).encode("utf-8")).hexdigest()[:6].upper()


def anonymise(district: District) -> District:
    """The district with every teacher's name replaced by :func:`pseudonym` and
    identity numbers dropped (``--anonymise``)."""
    if district.teachers is None:
        return district
    t = district.teachers.copy()
    t["name"] = t["teacher_id"].map(pseudonym)
    if "id_number" in t.columns:
        t["id_number"] = ""
    return replace(district, teachers=t)
