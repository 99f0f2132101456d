"""Small builders for indicator tests: District objects from a few rows.

``school(**kw)`` gives one schools row with every docs/data-format.md column filled with a
value that passes every indicator for a one-stage primary school of 100 pupils;
``make_district(schools, teachers=None, ...)`` types the columns the way
``planner.io`` does (counts int64, other numbers float64, booleans ``boolean``)
and derives teacher flags. ``good_county()`` / ``good_b()`` / ``no_veto()`` give
facts that pass everything, so each test changes only what it is about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.core.district import District, Settings, derive_teacher_flags

INT_COLS = ["students_primary", "students_junior", "classes_primary", "classes_junior",
            "max_class_primary", "max_class_junior", "classrooms"]
FLOAT_COLS = ["lon", "lat", "building_area_m2", "sports_area_m2", "equipment_yuan",
              "multimedia_rooms", "music_rooms", "music_room_min_m2", "art_rooms",
              "art_room_min_m2", "staff_quota", "public_funds_yuan", "training_funds_yuan",
              "teachers_qualified", "teachers_backbone", "teachers_pe_art"]
BOOL_COLS = ["public", "boarding"]
STR_COLS = ["school_id", "name", "type", "area_type", "parent_id"]


def school(school_id="S1", **kw) -> dict:
    """A primary school of 100 pupils (4 classes) that passes 1-7 and 10-14, 28."""
    row = dict(
        school_id=school_id, name=kw.pop("name", f"学校{school_id}"), type="primary",
        area_type="urban", public=True, boarding=False, parent_id="", lon=113.3, lat=29.5,
        students_primary=100, students_junior=0, classes_primary=4, classes_junior=0,
        max_class_primary=25, max_class_junior=0, classrooms=6,
        building_area_m2=600.0, sports_area_m2=1000.0, equipment_yuan=250000.0,
        multimedia_rooms=3.0, music_rooms=1.0, music_room_min_m2=100.0, art_rooms=1.0,
        art_room_min_m2=95.0, staff_quota=6.0, public_funds_yuan=70000.0,
        training_funds_yuan=6000.0, teachers_qualified=5.0, teachers_backbone=2.0,
        teachers_pe_art=1.0)
    row.update(kw)
    return row


def good_county(**kw) -> dict:
    c = dict(
        unified_standards=True, teacher_pay_avg_yuan=98000, civil_servant_pay_avg_yuan=95000,
        allowances_paid=True, performance_pay_full=True, training_records_kept=True,
        quota_managed_by_county=True, rotation_eligible=300, rotation_rotated=32,
        rotation_backbone=7, catchment_share_primary=1.0, catchment_share_junior=0.97,
        quality_hs_quota_share=0.55, migrant_public_share=0.90, junior_retention_rate=0.97,
        disabled_enrolment_rate=0.96, training_plan_exists=True,
        special_school_funds_per_pupil_yuan=6500, quality_monitoring_level=3,
        quality_monitoring_difference=0.12, social_recognition=0.88)
    c.update(kw)
    return c


def good_b(**kw) -> dict:
    """Full points (100); override single indicators by id, e.g. good_b(**{"8": [...]})."""
    b = {8: [3, 2, 3, 2], 9: [1, 2, 2], 23: [2, 1, 2], 27: [1, 3, 1, 2, 2, 1], 29: [3, 2, 5],
         30: [1, 2, 1, 1, 1, 1, 2, 1], 32: [3, 6, 5, 3, 3], 33: [3, 2, 3, 2], 34: [4, 6],
         35: [2, 2, 4, 2]}
    for k, v in kw.items():
        b[int(k)] = v
    return b


def no_veto(**kw) -> dict:
    v = {k: False for k in ("exam_admission", "illegal_school_choice", "key_schools_or_classes",
                            "vacant_posts_unfilled", "major_safety_incident", "falsification")}
    v.update(kw)
    return v


def schools_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows to a typed schools table; missing columns get defaults (counts 0,
    numbers NaN, public True, boarding False, text "")."""
    df = pd.DataFrame(rows)
    for c in INT_COLS:
        df[c] = (pd.to_numeric(df[c], errors="coerce").fillna(0) if c in df else 0)
        df[c] = df[c].astype("int64")
    for c in FLOAT_COLS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64") if c in df else np.nan
    for c, default in (("public", True), ("boarding", False)):
        df[c] = (df[c] if c in df else default)
        df[c] = df[c].astype("boolean")
    for c in STR_COLS:
        df[c] = df[c].fillna("").astype(str) if c in df else ""
    if "students_senior" in df:
        df["students_senior"] = pd.to_numeric(df["students_senior"]).fillna(0).astype("int64")
    return df


def teacher(teacher_id, school_id, stage="primary", **kw) -> dict:
    row = dict(teacher_id=teacher_id, name=f"教师{teacher_id}", school_id=school_id, stage=stage,
               subject="语文", degree="bachelor", backbone="none", certified=True, full_time=True,
               years_at_school=3, age=35, training_hours_5y=400.0, exempt="")
    row.update(kw)
    return row


def teachers_frame(rows: list[dict], settings: Settings) -> pd.DataFrame:
    t = pd.DataFrame(rows)
    t["certified"] = t["certified"].astype("boolean")
    t["full_time"] = t["full_time"].astype("boolean")
    t["training_hours_5y"] = pd.to_numeric(t["training_hours_5y"]).astype("float64")
    return derive_teacher_flags(t, settings)


def make_district(schools: list[dict], teachers: list[dict] | None = None, *, county=None,
                  b_scores=None, veto=None, units=None, name="测试区", **settings) -> District:
    st = Settings(**settings)
    return District(
        name=name, schools=schools_frame(schools),
        teachers=None if teachers is None else teachers_frame(teachers, st),
        units=units, settings=st,
        county=good_county() if county is None else county,
        b_scores=good_b() if b_scores is None else b_scores,
        veto=no_veto() if veto is None else veto)


def roster(school_id="S1", stage="primary") -> list[dict]:
    """Five teachers that make a 100-pupil school pass 1-3 (5 qualified, 2
    county backbone, 1 PE teacher), all certified with 400 training hours."""
    return [teacher(f"{school_id}-{i}", school_id, stage,
                    subject="体育" if i == 0 else "语文",
                    backbone="county" if i in (1, 2) else "none") for i in range(5)]
