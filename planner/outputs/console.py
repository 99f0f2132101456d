"""Console text of the district summary (``planner info``); words from the catalogue
(``info.*`` in ``catalogue/common.yaml``, school types ``school_type.*``)."""

from __future__ import annotations

from planner.outputs.i18n import label, tr


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
    small = d.rules.candidates_max_pupils
    lines = [
        f"{tr('info.district', lang)}: {d.name}  ({d.standard})",
        f"{tr('info.schools', lang)}: {len(s)}  (" +
        ", ".join(f"{label('school_type', t, lang)} {n}" for t, n in types.items()) + ")",
        f"{tr('info.pupils_primary', lang)}: {int(s['students_primary'].sum())}",
        f"{tr('info.pupils_junior', lang)}: {int(s['students_junior'].sum())}",
        f"{tr('info.small_schools', lang, n=small)}: "
        f"{int(((s['students_primary'] + s['students_junior']) < small).sum())}",
        f"{tr('info.teachers', lang)}: {n_teachers}",
        f"{tr('info.units', lang)}: {n_units}",
        f"{tr('info.roads', lang)}: {road_km:.1f} km",
    ]
    return "\n".join(lines)
