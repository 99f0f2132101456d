"""The province view (issue 20): a synthetic province, every county checked and planned on
dask.distributed, failures isolated, results written as they finish, --resume, results
independent of the number of workers, the dashboard and its workbook."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from planner.core.params import SynthProvinceParams
from planner.io.load import load_district
from planner.io.synth_province import CHILD_SHARE, county_sizes, synth_province

#: small counties of varied sizes: the tests stay within a minute or two
SIZES = [12, 10, 16, 11, 14, 13]
BROKEN = "439904"


def _tree(root: Path, skip: tuple[str, ...] = ("timings.json",)) -> dict[str, bytes]:
    """Every file under ``root`` by relative path (the province's timings.json left out:
    it is the one wall-clock file)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix() not in skip}


def _break(folder: Path) -> None:
    """A pupil count that is not a number in row 3 of schools.csv."""
    path = folder / "schools.csv"
    rows = path.read_text(encoding="utf-8").split("\n")
    cells = rows[2].split(",")
    cells[9] = "八十"
    rows[2] = ",".join(cells)
    path.write_text("\n".join(rows), encoding="utf-8")


# ---------------------------------------------------------------------------
# the synthetic province
# ---------------------------------------------------------------------------

def test_county_sizes_are_varied_and_within_bounds():
    sizes = county_sizes(122, SynthProvinceParams(seed=1))
    assert len(sizes) == 122 and min(sizes) >= 40 and max(sizes) <= 600
    assert len(set(sizes)) > 60                          # varied, not one size
    assert 110 <= sorted(sizes)[61] <= 190               # median about 150
    assert county_sizes(122, SynthProvinceParams(seed=1)) == sizes
    assert county_sizes(122, SynthProvinceParams(seed=2)) != sizes
    small = county_sizes(30, SynthProvinceParams(min_schools=10, max_schools=20))
    assert min(small) >= 10 and max(small) <= 20


def test_synth_province_places_names_and_children(tmp_path):
    folders = synth_province(4, tmp_path / "a", SynthProvinceParams(seed=5), sizes=[10, 30, 12, 20])
    assert [f.name for f in folders] == ["439901", "439902", "439903", "439904"]
    districts = [load_district(f) for f in folders]
    names = [d.name for d in districts]
    assert len(set(names)) == 4 and all(n.endswith("县") for n in names)
    assert [len(d.schools) for d in districts] == [10, 30, 12, 20]
    # the outlines tile the map: no two overlap
    for i in range(4):
        for j in range(i + 1, 4):
            assert districts[i].boundary.intersection(districts[j].boundary).area == 0
    # schools and units stay inside their own county after the shift
    for d in districts:
        s = d.schools
        x0, y0, x1, y1 = d.boundary.bounds
        assert s["lon"].between(x0, x1).all() and s["lat"].between(y0, y1).all()
        # resident children = 97 % of the public schools' pupils, per stage
        pub = s[s["public"].astype(bool) & (s["type"] != "special")]
        for stage in ("primary", "junior"):
            assert int(d.units[f"children_{stage}"].sum()) == round(
                int(pub[f"students_{stage}"].sum()) * CHILD_SHARE)
    # same seed and sizes: the same bytes
    synth_province(4, tmp_path / "b", SynthProvinceParams(seed=5), sizes=[10, 30, 12, 20])
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_synth_province_road_links_keep_their_nodes(tmp_path):
    """The shift moves a school and the end of its road link by the same rounding: the
    road network stays one connected graph."""
    import networkx as nx
    folder = synth_province(2, tmp_path, SynthProvinceParams(seed=2), sizes=[10, 10])[1]
    roads = json.loads((folder / "roads.geojson").read_text(encoding="utf-8"))
    g = nx.Graph()
    for f in roads["features"]:
        a, b = f["geometry"]["coordinates"][0], f["geometry"]["coordinates"][-1]
        g.add_edge(tuple(a), tuple(b))
    assert nx.is_connected(g)
    with (folder / "schools.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            assert (float(row["lon"]), float(row["lat"])) in g
