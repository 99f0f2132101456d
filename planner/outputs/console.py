"""Console text of the district summary (``planner info``)."""

from __future__ import annotations


def district_summary(d, lang: str = "zh") -> str:
    s = d.schools
    types = s["type"].value_counts().sort_index()
    road_km = 0.0
    if d.roads is not None and len(d.roads):
        from geodata.roads import utm_crs
        c = d.roads.geometry.union_all().centroid
        road_km = float(d.roads.to_crs(utm_crs(c.x, c.y)).length.sum() / 1000)
    n_teachers = len(d.teachers) if d.teachers is not None else 0
    n_units = len(d.units) if d.units is not None else 0
    zh = lang == "zh"
    tnames = TYPE_NAMES_ZH if zh else {k: k for k in TYPE_NAMES_ZH}
    lines = [
        f"{'区县' if zh else 'District'}: {d.name}  ({d.standard})",
        f"{'学校' if zh else 'Schools'}: {len(s)}  (" +
        ", ".join(f"{tnames.get(t, t)} {n}" for t, n in types.items()) + ")",
        f"{'小学在校生' if zh else 'Primary pupils'}: {int(s['students_primary'].sum())}",
        f"{'初中在校生' if zh else 'Junior pupils'}: {int(s['students_junior'].sum())}",
        f"{'百人以下学校' if zh else 'Schools under 100 pupils'}: "
        f"{int(((s['students_primary'] + s['students_junior']) < 100).sum())}",
        f"{'教师' if zh else 'Teachers'}: {n_teachers}",
        f"{'居住单元' if zh else 'Residential units'}: {n_units}",
        f"{'道路' if zh else 'Roads'}: {road_km:.1f} km",
    ]
    return "\n".join(lines)



TYPE_NAMES_ZH = {"primary": "小学", "junior": "初中", "nine_year": "九年一贯制学校",
                 "twelve_year": "十二年一贯制学校", "complete_middle": "完全中学",
                 "teaching_point": "教学点", "special": "特殊教育学校"}
