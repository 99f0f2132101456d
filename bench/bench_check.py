"""Time ``planner.indicators.check`` on synthetic districts (not collected by pytest).

    /work/venv/bin/python bench/bench_check.py [--sizes 300 20000] [--repeat 5] [--numpy]

Uses ``planner.synth.synth_district`` + ``planner.io.load_district`` when they are
available (loading is not timed), else builds a District directly with numpy
(``--numpy`` forces that). Targets: median ≤ 0.5 s at 300 schools, ≤ 10 s at 20 000.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from planner.core.district import District, Settings, derive_teacher_flags  # noqa: E402
from planner.indicators.engine import check  # noqa: E402

TARGET_S = {300: 0.5, 20000: 10.0}


def numpy_district(n: int, seed: int = 1) -> District:
    """A synthetic district built with vectorised numpy (about 20 teachers a school)."""
    rng = np.random.default_rng(seed)
    types = rng.choice(["primary", "junior", "nine_year", "twelve_year", "complete_middle",
                        "teaching_point", "special"], n, p=[0.52, 0.17, 0.09, 0.01, 0.02, 0.18, 0.01])
    prim = np.isin(types, ["primary", "nine_year", "twelve_year", "teaching_point", "special"])
    jun = np.isin(types, ["junior", "nine_year", "twelve_year", "complete_middle"])
    sp = np.where(prim, rng.integers(20, 1500, n), 0)
    sp = np.where(types == "teaching_point", rng.integers(5, 120, n), sp)
    sj = np.where(jun, rng.integers(100, 1500, n), 0)
    total = sp + sj
    ids = np.char.add("S", np.arange(n).astype(str)).astype(object)
    parent = np.where(types == "teaching_point", ids[rng.integers(0, n, n)], "").astype(object)
    schools = pd.DataFrame({
        "school_id": ids, "name": np.char.add("学校", np.arange(n).astype(str)).astype(object),
        "type": types.astype(object), "area_type": rng.choice(["urban", "town", "rural"], n).astype(object),
        "public": pd.array(rng.random(n) > 0.05, dtype="boolean"),
        "boarding": pd.array(rng.random(n) > 0.8, dtype="boolean"), "parent_id": parent,
        "lon": 112 + rng.random(n), "lat": 27.5 + rng.random(n),
        "students_primary": sp.astype("int64"), "students_junior": sj.astype("int64"),
        "classes_primary": np.ceil(sp / 42).astype("int64"), "classes_junior": np.ceil(sj / 48).astype("int64"),
        "max_class_primary": np.where(sp > 0, rng.integers(20, 50, n), 0).astype("int64"),
        "max_class_junior": np.where(sj > 0, rng.integers(30, 56, n), 0).astype("int64"),
        "classrooms": (np.ceil(total / 40) + 2).astype("int64"),
        "building_area_m2": total * rng.uniform(3, 9, n), "sports_area_m2": total * rng.uniform(5, 15, n),
        "equipment_yuan": total * rng.uniform(1500, 4000, n),
        "multimedia_rooms": np.ceil(total * rng.uniform(0.015, 0.04, n)),
        "music_rooms": rng.integers(0, 4, n).astype(float), "music_room_min_m2": rng.uniform(80, 120, n),
        "art_rooms": rng.integers(0, 4, n).astype(float), "art_room_min_m2": rng.uniform(80, 120, n),
        "staff_quota": np.ceil(total / 15.0), "public_funds_yuan": total * rng.uniform(550, 900, n),
        "training_funds_yuan": total * rng.uniform(40, 90, n),
        "teachers_qualified": np.nan, "teachers_backbone": np.nan, "teachers_pe_art": np.nan,
    })
    nt = np.maximum(1, np.round(total / 14).astype(int))
    sch = np.repeat(np.arange(n), nt)
    m = len(sch)
    stage = np.where(rng.random(m) < sp[sch] / np.maximum(total[sch], 1), "primary", "junior")
    teachers = pd.DataFrame({
        "teacher_id": np.char.add("T", np.arange(m).astype(str)).astype(object), "name": "某某",
        "school_id": ids[sch], "stage": stage.astype(object),
        "subject": rng.choice(["语文", "数学", "英语", "体育", "音乐", "美术"], m, p=[.3, .3, .2, .1, .05, .05]).astype(object),
        "degree": rng.choice(["secondary", "associate", "bachelor", "postgraduate"], m, p=[.05, .3, .6, .05]).astype(object),
        "backbone": rng.choice(["none", "county", "city"], m, p=[.8, .15, .05]).astype(object),
        "certified": pd.array(rng.random(m) > 0.01, dtype="boolean"),
        "full_time": pd.array(np.ones(m, dtype=bool), dtype="boolean"),
        "years_at_school": rng.integers(0, 20, m), "age": rng.integers(22, 60, m),
        "training_hours_5y": rng.uniform(200, 500, m), "exempt": "",
    })
    st = Settings()
    county = dict(unified_standards=True, teacher_pay_avg_yuan=98000, civil_servant_pay_avg_yuan=95000,
                  allowances_paid=True, performance_pay_full=True, training_records_kept=True,
                  quota_managed_by_county=True, rotation_eligible=300, rotation_rotated=32,
                  rotation_backbone=7, catchment_share_primary=1.0, catchment_share_junior=0.97,
                  quality_hs_quota_share=0.55, migrant_public_share=0.9, junior_retention_rate=0.97,
                  disabled_enrolment_rate=0.96, training_plan_exists=True, quality_monitoring_level=3,
                  quality_monitoring_difference=0.12, social_recognition=0.88)
    return District(name=f"synthetic-{n}", schools=schools, teachers=derive_teacher_flags(teachers, st),
                    settings=st, county=county)


def synth_loaded(n: int, seed: int, tmp: Path) -> District:
    from planner.io.load import load_district
    from planner.io.synth import synth_district
    return load_district(synth_district(n, seed, tmp / f"d{n}"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 20000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--numpy", action="store_true", help="skip synth/io; build with numpy")
    a = ap.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for n in a.sizes:
            src = "numpy"
            if not a.numpy:
                try:
                    d = synth_loaded(n, 1, Path(tmp))
                    src = "synth+io"
                except Exception as e:  # noqa: BLE001 - fall back to the numpy builder
                    print(f"synth/io unavailable ({type(e).__name__}: {e}); using numpy builder")
                    d = numpy_district(n)
            else:
                d = numpy_district(n)
            reps = a.repeat if n <= 1000 else max(3, a.repeat // 2)
            times = []
            for _ in range(reps):
                t0 = time.perf_counter()
                r = check(d)
                times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            target = TARGET_S.get(n)
            flag = "" if target is None else (" OK" if med <= target else f" SLOW (target {target} s)")
            ok &= target is None or med <= target
            print(f"{n:>6} schools ({src}, {len(d.teachers) if d.teachers is not None else 0} teachers): "
                  f"median {med:.3f} s over {reps} runs (min {min(times):.3f}){flag}; "
                  f"A passed {r.a_passed}/{r.a_total}, parts {len(r.parts)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
