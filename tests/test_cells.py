"""Tests for geodata.cells: Voronoi unit cells, rook adjacency, zone dissolve."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import pytest
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box

from geodata.cells import dissolve_zones, rook_adjacency, unit_cells
from geodata.roads import utm_crs

CRS = utm_crs(113.3, 29.5)
_TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
_TO_UTM = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
X0, Y0 = _TO_UTM.transform(113.3, 29.5)


def lonlat(x: float, y: float) -> tuple[float, float]:
    return _TO_WGS.transform(X0 + x, Y0 + y)


def square_wgs(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """A square drawn in local metres, as a WGS84 polygon."""
    return Polygon([lonlat(x0, y0), lonlat(x1, y0), lonlat(x1, y1), lonlat(x0, y1)])


@pytest.fixture(scope="module")
def boundary() -> Polygon:
    """A 3 km x 3 km district."""
    return square_wgs(0, 0, 3000, 3000)


@pytest.fixture(scope="module")
def grid_units() -> gpd.GeoDataFrame:
    """Nine villages at the centres of a 3 x 3 grid of 1 km squares, ids r<row>c<col>."""
    ids, pts = [], []
    for r in range(3):
        for c in range(3):
            ids.append(f"r{r}c{c}")
            pts.append(Point(lonlat(500 + 1000 * c, 500 + 1000 * r)))
    return gpd.GeoDataFrame({"unit_id": ids}, geometry=pts, crs="EPSG:4326")


@pytest.fixture(scope="module")
def grid_cells(grid_units, boundary) -> gpd.GeoDataFrame:
    return unit_cells(grid_units, boundary)


def test_cells_one_per_unit_in_order(grid_cells, grid_units):
    assert grid_cells["unit_id"].tolist() == grid_units["unit_id"].tolist()
    assert grid_cells.crs.to_epsg() == 4326
    for point, cell in zip(grid_units.geometry, grid_cells.geometry):
        assert cell.contains(point)


def test_cells_cover_the_boundary(grid_cells):
    """Nine 1 km² cells; together the 9 km² district, no overlaps."""
    projected = grid_cells.to_crs(CRS)
    areas = projected.area
    assert areas.sum() == pytest.approx(9e6, rel=1e-9)
    assert areas.to_numpy() == pytest.approx([1e6] * 9, rel=1e-6)
    assert projected.union_all().area == pytest.approx(9e6, rel=1e-9)


def test_cells_are_deterministic(grid_units, boundary, grid_cells):
    again = unit_cells(grid_units, boundary)
    assert again.geometry.to_wkb().tolist() == grid_cells.geometry.to_wkb().tolist()


def test_rook_adjacency_of_3x3_grid(grid_cells):
    """A 3 x 3 grid has 2*3 horizontal + 2*3 vertical = 12 shared edges; the
    diagonal neighbours (touching at a corner only) are not adjacent."""
    g = rook_adjacency(grid_cells)
    assert sorted(g.nodes) == sorted(grid_cells["unit_id"])
    assert g.number_of_edges() == 12
    assert not g.has_edge("r0c0", "r1c1")
    assert not g.has_edge("r0c2", "r1c1")
    assert g.degree("r1c1") == 4
    assert g.degree("r0c0") == 2
    assert g["r0c0"]["r0c1"]["shared_m"] == pytest.approx(1000, rel=1e-6)


def test_rook_adjacency_corner_only_squares():
    """Two squares meeting at one corner are not neighbours; sharing a 0.5 m
    sliver of edge is not enough either (> 1 m)."""
    cells = gpd.GeoDataFrame(
        {"unit_id": ["a", "b", "c"]},
        geometry=[square_wgs(0, 0, 100, 100), square_wgs(100, 100, 200, 200), square_wgs(100, -99.5, 200, 0.5)],
        crs="EPSG:4326",
    )
    g = rook_adjacency(cells)
    assert sorted(g.nodes) == ["a", "b", "c"]
    assert g.number_of_edges() == 0


def test_polygon_units_are_used_as_is(boundary):
    polys = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"]},
        geometry=[square_wgs(0, 0, 1000, 1000), square_wgs(1000, 0, 2000, 1000)],
        crs="EPSG:4326",
    )
    cells = unit_cells(polys, boundary)
    assert cells.geometry.to_wkb().tolist() == polys.geometry.to_wkb().tolist()
    assert list(rook_adjacency(cells).edges) == [("a", "b")]


def test_unit_errors(boundary):
    twins = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"]}, geometry=[Point(lonlat(10, 10)), Point(lonlat(10, 10))], crs="EPSG:4326"
    )
    with pytest.raises(ValueError, match="units a and b share one location"):
        unit_cells(twins, boundary)
    mixed = gpd.GeoDataFrame(
        {"unit_id": ["a", "b"]}, geometry=[Point(lonlat(10, 10)), square_wgs(0, 0, 5, 5)], crs="EPSG:4326"
    )
    with pytest.raises(ValueError, match="all points or all polygons"):
        unit_cells(mixed, boundary)


def test_single_unit_gets_the_whole_district(boundary):
    one = gpd.GeoDataFrame({"unit_id": ["only"]}, geometry=[Point(lonlat(100, 100))], crs="EPSG:4326")
    cell = unit_cells(one, boundary).to_crs(CRS).geometry.iloc[0]
    assert cell.area == pytest.approx(9e6, rel=1e-9)


def test_dissolve_square_compactness(grid_cells):
    """All nine cells in one zone: a 3 km square, area 9 km², Polsby-Popper
    4π·9/12² = π/4."""
    zones = dissolve_zones(grid_cells, {u: "Z" for u in grid_cells["unit_id"]})
    assert zones["zone_id"].tolist() == ["Z"]
    row = zones.iloc[0]
    assert row["area_km2"] == pytest.approx(9.0, rel=1e-6)
    assert row["polsby_popper"] == pytest.approx(math.pi / 4, rel=1e-6)
    assert row["n_parts"] == 1
    assert row["n_units"] == 9
    assert zones.crs.to_epsg() == 4326


def test_dissolve_reports_parts(grid_cells):
    """Opposite corners in zone A (two 1 km² parts), the rest in zone B (7 km²,
    one part)."""
    assignment = {u: ("A" if u in ("r0c0", "r2c2") else "B") for u in grid_cells["unit_id"]}
    zones = dissolve_zones(grid_cells, assignment).set_index("zone_id")
    assert zones.loc["A", "n_parts"] == 2
    assert zones.loc["A", "area_km2"] == pytest.approx(2.0, rel=1e-6)
    assert zones.loc["B", "n_parts"] == 1
    assert zones.loc["B", "area_km2"] == pytest.approx(7.0, rel=1e-6)
    # a 1 km square part: 4π·1/4² = π/4 for each part; over both, 4π·2/8² = π/8
    assert zones.loc["A", "polsby_popper"] == pytest.approx(math.pi / 8, rel=1e-6)
    g = rook_adjacency(grid_cells)
    assert nx.is_connected(g.subgraph([u for u, z in assignment.items() if z == "B"]))


def test_dissolve_errors(grid_cells):
    with pytest.raises(ValueError, match="units without a zone: r2c2"):
        dissolve_zones(grid_cells, {u: 1 for u in grid_cells["unit_id"] if u != "r2c2"})
    full = {u: 1 for u in grid_cells["unit_id"]}
    with pytest.raises(ValueError, match="unknown units: ghost"):
        dissolve_zones(grid_cells, {**full, "ghost": 2})


def test_boundary_as_geodataframe(grid_units, boundary):
    frame = gpd.GeoDataFrame(geometry=[boundary], crs="EPSG:4326").to_crs(CRS)
    cells = unit_cells(grid_units, frame)
    assert cells.to_crs(CRS).area.sum() == pytest.approx(9e6, rel=1e-9)
    with pytest.raises(ValueError, match="not a polygon"):
        unit_cells(grid_units, box(0, 0, 1, 1).boundary)
