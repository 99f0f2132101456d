"""Small hand-made districts for the remediation tests (tests/test_remediate.py).

:func:`write_district` writes a district folder whose schools pass every A indicator
by construction, unless a test changes a value: each school part has exactly the
resources its floors need (rounded up) and a roster of teachers that meets 1-3, 17
and 20, the county facts of docs/data-format.md and full B scores. Numbers are the
Hunan 2023 standard's (the tests compute the expected plans by hand from them).
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

from conftest import TINY_BOUNDARY, TINY_ROADS

#: a district.yaml whose county facts, B scores and vetoes all pass
YAML = textwrap.dedent("""\
    name: 整改测试区
    standard: hunan-2023
    county:
      unified_standards: true
      teacher_pay_avg_yuan: 98000
      civil_servant_pay_avg_yuan: 95000
      allowances_paid: true
      performance_pay_full: true
      training_records_kept: true
      quota_managed_by_county: true
      rotation_eligible: 300
      rotation_rotated: 32
      rotation_backbone: 7
      catchment_share_primary: 1.0
      catchment_share_junior: 0.97
      quality_hs_quota_share: 0.55
      migrant_public_share: 0.90
      junior_retention_rate: 0.97
      disabled_enrolment_rate: 0.96
      training_plan_exists: true
      special_school_funds_per_pupil_yuan: 6500
      quality_monitoring_level: 3
      quality_monitoring_difference: 0.12
      social_recognition: 0.88
    b_scores:
      8: [3, 2, 3, 2]
      9: [1, 2, 2]
      23: [2, 1, 2]
      27: [1, 3, 1, 2, 2, 1]
      29: [3, 2, 5]
      30: [1, 2, 1, 1, 1, 1, 2, 1]
      32: [3, 6, 5, 3, 3]
      33: [3, 2, 3, 2]
      34: [4, 6]
      35: [2, 2, 4, 2]
    veto:
      exam_admission: false
      illegal_school_choice: false
      key_schools_or_classes: false
      vacant_posts_unfilled: false
      major_safety_incident: false
      falsification: false
    """)

#: per pupil (or per 100 pupils) floors of 1-7 by stage (Hunan 2023)
FLOORS = {"primary": {1: 4.2, 2: 1.0, 3: 0.9, 4: 4.5, 5: 7.5, 6: 2000, 7: 2.3},
          "junior": {1: 5.3, 2: 1.0, 3: 0.9, 4: 5.8, 5: 10.2, 6: 2500, 7: 2.4}}
MAX_CLASS = {"primary": 45, "junior": 50}
PER_QUOTA = {"primary": 19, "junior": 13.5}
FUNDS = {"primary": 600, "junior": 800}
#: the road points of conftest.TINY_ROADS: schools stand on them
POINTS = [(113.02, 29.02), (113.05, 29.05), (113.08, 29.08), (113.03, 29.07)]

COLUMNS = ["school_id", "name", "type", "area_type", "public", "boarding", "parent_id", "lon",
           "lat", "students_primary", "students_junior", "classes_primary", "classes_junior",
           "max_class_primary", "max_class_junior", "classrooms", "building_area_m2",
           "sports_area_m2", "equipment_yuan", "multimedia_rooms", "music_rooms",
           "music_room_min_m2", "art_rooms", "art_room_min_m2", "staff_quota",
           "public_funds_yuan", "training_funds_yuan"]


def _up(x: float) -> int:
    return math.ceil(x - 1e-9)


def school(sid: str, name: str, stage: str, pupils: int, point: int = 0, **kw) -> dict:
    """A single-stage school that meets every floor exactly (rounded up); ``kw``
    overrides a column (``teachers`` and the teacher extras go to :func:`roster`)."""
    f = FLOORS[stage]
    classes = _up(pupils / MAX_CLASS[stage])
    row = {"school_id": sid, "name": name, "type": stage, "area_type": "urban",
           "public": "true", "boarding": "false", "parent_id": "",
           "lon": POINTS[point][0], "lat": POINTS[point][1],
           "students_primary": pupils if stage == "primary" else 0,
           "students_junior": pupils if stage == "junior" else 0,
           "classes_primary": classes if stage == "primary" else 0,
           "classes_junior": classes if stage == "junior" else 0,
           "max_class_primary": _up(pupils / classes) if stage == "primary" else 0,
           "max_class_junior": _up(pupils / classes) if stage == "junior" else 0,
           "classrooms": classes + 2, "building_area_m2": _up(f[4] * pupils),
           "sports_area_m2": _up(f[5] * pupils), "equipment_yuan": _up(f[6] * pupils),
           "multimedia_rooms": _up(f[7] * pupils / 100), "music_rooms": _up(classes / 12),
           "music_room_min_m2": 100, "art_rooms": _up(classes / 12), "art_room_min_m2": 95,
           "staff_quota": None, "public_funds_yuan": FUNDS[stage] * pupils,
           "training_funds_yuan": _up(0.1 * FUNDS[stage] * pupils)}
    row.update({k: v for k, v in kw.items() if k in COLUMNS})
    return row


def roster(sid: str, stage: str, pupils: int, qualified: int | None = None,
           backbone: int | None = None, pe_art: int | None = None, extra: int | None = None,
           short_hours: dict[int, float] | None = None, uncertified: tuple[int, ...] = (),
           secondary: tuple[int, ...] = ()) -> list[dict]:
    """Teachers of a part: ``qualified`` of them above the required degree (the first
    ``pe_art`` teach PE, the first ``backbone`` are county backbone teachers), then
    ``extra`` unqualified ones (default: as many as fill indicator 10's quota, so that
    no post is vacant); ``short_hours`` {index: hours}, ``uncertified`` and
    ``secondary`` (a secondary degree) by index."""
    f = FLOORS[stage]
    q = _up(f[1] * pupils / 100) if qualified is None else qualified
    if extra is None:
        extra = max(0, _up(pupils / PER_QUOTA[stage]) - q)
    b = _up(f[2] * pupils / 100) if backbone is None else backbone
    e = _up(f[3] * pupils / 100) if pe_art is None else pe_art
    low = "secondary" if stage == "primary" else "associate"
    out = []
    for i in range(q + extra):
        degree = "bachelor" if i < q else low
        if i in secondary:
            degree = "secondary"
        out.append({"teacher_id": f"{sid}-T{i + 1:03d}", "name": f"教师{sid}{i + 1}",
                    "school_id": sid, "stage": stage, "subject": "体育" if i < e else "语文",
                    "degree": degree, "backbone": "county" if i < b else "none",
                    "certified": "false" if i in uncertified else "true", "full_time": "true",
                    "years_at_school": 10 - i % 7, "age": 40, "training_hours_5y":
                    (short_hours or {}).get(i, 400), "exempt": ""})
    return out


def write_district(folder: Path, schools: list[dict], teachers: list[dict],
                   yaml_text: str = YAML) -> Path:
    """The district folder (the conftest roads and boundary)."""
    import pandas as pd
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "district.yaml").write_text(yaml_text, encoding="utf-8")
    s = pd.DataFrame(schools, columns=COLUMNS)
    heads = pd.Series([t["school_id"] for t in teachers]).value_counts()
    for i, r in s.iterrows():
        if pd.isna(r["staff_quota"]):
            pupils = {"primary": r["students_primary"], "junior": r["students_junior"]}
            need = sum(pupils[st] / PER_QUOTA[st] for st in pupils)
            s.at[i, "staff_quota"] = max(_up(need), int(heads.get(r["school_id"], 0)))
    s.to_csv(folder / "schools.csv", index=False)
    pd.DataFrame(teachers).to_csv(folder / "teachers.csv", index=False)
    (folder / "boundary.geojson").write_text(json.dumps(TINY_BOUNDARY), encoding="utf-8")
    (folder / "roads.geojson").write_text(json.dumps(TINY_ROADS, ensure_ascii=False),
                                          encoding="utf-8")
    return folder
