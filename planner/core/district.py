"""The district data model: what a loaded district is.

A :class:`District` is what :func:`planner.io.load_district` returns after every
check has passed, so the rest of the code can trust it:

- ``schools``: one row per school or teaching point, English column names of
  ``docs/data-format.md``; counts (pupils, classes, largest class) are ``int64`` (an empty
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
    """``settings:`` of district.yaml; defaults as in docs/data-format.md / docs/rules.md."""

    school_rule: str = "hunan"                  # hunan | national
    teaching_points: str = "exclude_below_50"   # exclude_below_50 | exclude_all | merge_into_parent
    private_schools: str = "exclude"            # exclude | include (indicators 1-7)
    special_schools: str = "exclude"            # exclude | include (indicators 1-7)
    rotation_min_years: int = 6
    rotation_max_age: int = 55
    backbone_base: str = "rotated"              # rotated | eligible (indicator 19)
    crs: str | None = None                      # projected CRS for areas; default: UTM zone
    # travel (geodata.travel): the straight-line fallback without roads, and the
    # leg from a point to its nearest road
    travel_detour_factor: float = 1.3           # road km ≈ great-circle km × this
    # speed on that straight line
    travel_fallback_speed_kmh: float = 30.0     # not-a-rule: a speed, not the ride limit
    access_speed_kmh: float | None = None       # None: the standard's narrow-road bus cap
    # a school or unit farther than this from every road is an error naming it (null:
    # no limit). 3 km of unmapped track at the narrow-road cap is ~9 minutes, a third
    # of the usual ride limit: farther, the roads that serve the point are missing
    # and any ride time would be a guess. The bundled district's points lie on its
    # roads (0 m) and synth districts' within 5 m (docs/data-format.md).
    max_access_m: float | None = 3000.0         # not-a-rule: data-quality limit, metres

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
    #: optional enrolment_history.csv: ``school_id, school_year, grade, pupils`` (ints)
    enrolment_history: pd.DataFrame | None = None
    #: optional births.csv: ``unit_id, year, births`` (ints)
    births: pd.DataFrame | None = None
    #: the optional rotation_history table (pandas.DataFrame, planner.io.load) or None
    rotation_history: Any = None
    _network: Any = field(default=None, repr=False, compare=False)
    #: indicator reports of this object (planner.indicators.engine.check); a derived
    #: district (``with_schools``, ``anonymise``) starts with none
    _reports: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def road_network(self):
        """The road graph of ``roads`` (``geodata.roads.RoadNetwork``), built once and
        shared by every plan made on this district and on the districts derived from
        it (a plan changes schools and teachers, never roads); ``None`` without roads."""
        if self.roads is None or len(self.roads) == 0:
            return None
        if self._network is None:
            from geodata.roads import SpeedCaps, build_road_graph
            t = self.rules.transport
            self._network = build_road_graph(self.roads, speed_caps=SpeedCaps(
                t.speed_cap_ordinary_kmh, t.speed_cap_expressway_kmh, t.speed_cap_hazardous_kmh))
        return self._network

    def travel_settings(self):
        """:class:`geodata.travel.TravelSettings` from the district's settings."""
        from geodata.travel import TravelSettings
        st = self.settings
        access = st.access_speed_kmh
        if access is None:
            access = self.rules.transport.speed_cap_hazardous_kmh
        return TravelSettings(detour_factor=st.travel_detour_factor,
                              fallback_speed_kmh=st.travel_fallback_speed_kmh,
                              access_speed_kmh=access, max_access_m=st.max_access_m)

    def travel(self, origins, destinations=None, weight: str = "time_s",
               limit_min: float | None = None):
        """:func:`geodata.travel.travel_matrix` between ``(id, lon, lat)`` points on
        this district's roads (straight lines without roads)."""
        from geodata.travel import travel_matrix
        return travel_matrix(origins, destinations, self.road_network(), self.travel_settings(),
                             weight=weight, limit_min=limit_min)

    def school_points(self, school_ids=None) -> list[tuple[str, float, float]]:
        """``(school_id, lon, lat)`` of these schools (all, in table order, by default)."""
        s = self.schools
        if school_ids is not None:
            s = s.set_index("school_id", drop=False).loc[list(school_ids)]
        return list(zip(s["school_id"].astype(str), s["lon"].astype(float),
                        s["lat"].astype(float)))

    @property
    def rules(self):
        """The :class:`~planner.core.rules.Rules` of this district's standard."""
        from planner.core.rules import load_rules
        return load_rules(self.standard or "hunan-2023")

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
        Every school part (school, stage taught; see :func:`stage_masks`) has a
        row, zero when empty; teachers of an unknown school or of a stage their
        school does not teach are not counted. Vectorised (a province has
        400,000 teachers).

        Without a roster, the school table's ``teachers_qualified``,
        ``teachers_backbone`` and ``teachers_pe_art`` are used; a school teaching
        two stages has them split in proportion to its pupils (half each when it
        has none), and ``full_time`` is NaN (a documented reading: docs/data-format.md
        gives one count per school).
        """
        s = self.schools
        typ = s["type"].astype(str).to_numpy(dtype=object)
        a = s["students_primary"].to_numpy(dtype=float)
        b = s["students_junior"].to_numpy(dtype=float)
        has = stage_masks(typ, a, b)
        ids = s["school_id"].astype(str).to_numpy(dtype=object)
        n = len(s)
        frames = []
        if self.teachers is not None:
            t = self.teachers
            idx, code = roster_codes(t, ids)
            full_time = t["full_time"].astype("boolean").fillna(True)
            flags = {"full_time": full_time.to_numpy(dtype=bool),
                     "qualified": t["qualified"].to_numpy(dtype=bool),
                     "backbone": t["is_backbone"].to_numpy(dtype=bool),
                     "pe_art": t["pe_art"].to_numpy(dtype=bool)}
            for si, st in enumerate(STAGES):
                m = (idx >= 0) & (code == si)
                f = pd.DataFrame({"school_id": ids[has[st]], "stage": st})
                for c, fl in flags.items():
                    f[c] = np.bincount(idx[m], weights=fl[m].astype(float), minlength=n)[has[st]]
                frames.append(f)
            return pd.concat(frames, ignore_index=True).set_index(["school_id", "stage"])
        nst = has["primary"].astype(int) + has["junior"].astype(int)
        total = np.where(has["primary"], a, 0) + np.where(has["junior"], b, 0)
        for st, pup in (("primary", a), ("junior", b)):
            m = has[st]
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(total > 0, pup / np.where(total > 0, total, 1),
                                 1.0 / np.maximum(nst, 1))
            f = pd.DataFrame({"school_id": ids[m], "stage": st})
            f["full_time"] = np.nan
            for c, sc in (("qualified", "teachers_qualified"), ("backbone", "teachers_backbone"),
                          ("pe_art", "teachers_pe_art")):
                col = s[sc].to_numpy(dtype=float) if sc in s.columns else np.full(n, np.nan)
                f[c] = (col * share)[m]
            frames.append(f)
        return pd.concat(frames, ignore_index=True).set_index(["school_id", "stage"])

    def with_schools(self, schools: pd.DataFrame,
                     teachers: pd.DataFrame | None = ...) -> "District":
        """A copy with other school (and teacher) tables: how plans are applied."""
        return replace(self, schools=schools,
                       teachers=self.teachers if teachers is ... else teachers)


def stage_masks(typ: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, np.ndarray]:
    """Vectorised :func:`school_stages`: which rows (types ``typ``, primary pupils
    ``a``, junior pupils ``b``) have a primary / junior part."""
    out = {}
    for st in STAGES:
        types = [t for t, sts in TYPE_STAGES.items() if st in sts and t != "special"]
        out[st] = np.isin(typ, types)
    sp = typ == "special"
    out["primary"] = out["primary"] | (sp & ((a > 0) | ((a <= 0) & (b <= 0))))
    out["junior"] = out["junior"] | (sp & (b > 0))
    return out


def roster_codes(teachers: pd.DataFrame, school_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row of each teacher's school in ``school_ids`` (−1: unknown school) and
    stage code (0 primary, 1 junior, −1 other): hash look-ups, no string sort."""
    idx = pd.Index(school_ids).get_indexer(teachers["school_id"].astype(str).to_numpy(dtype=object))
    stage = teachers["stage"].astype(str).to_numpy(dtype=object)
    code = np.where(stage == "primary", 0, np.where(stage == "junior", 1, -1))
    return idx, code


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


def repoint_parents(schools: pd.DataFrame, moves) -> pd.DataFrame:
    """Schools whose central school (``parent_id``) closes: their parent becomes the
    receiver that takes most of the closed school's pupils (ties: the smaller id), so the
    district after a closure names no school that is gone. ``moves``: (closed school,
    receiver, pupils) triples."""
    pupils_to: dict[str, dict[str, int]] = {}
    for closed, to, n in moves:
        r = pupils_to.setdefault(str(closed), {})
        r[str(to)] = r.get(str(to), 0) + int(n)
    if "parent_id" not in schools.columns or not pupils_to:
        return schools
    new = {c: min(r, key=lambda k: (-r[k], k)) for c, r in pupils_to.items() if r}
    parents = schools["parent_id"].astype(str)
    hit = parents.isin(list(new))
    if not hit.any():
        return schools
    out = schools.copy()
    out.loc[hit, "parent_id"] = parents[hit].map(new)
    return out
