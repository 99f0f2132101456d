"""Residential-unit cells, their adjacency and dissolved catchment zones.

Units (villages, communities) usually come as points. :func:`unit_cells` gives
each one a Voronoi cell clipped to the district boundary, so a catchment zone can
be drawn as the union of its units' cells (:func:`dissolve_zones`) and contiguity
can be checked on the rook adjacency of the cells (:func:`rook_adjacency`).

All geometry is computed in the UTM zone of the boundary (metres) and returned in
WGS84 longitude/latitude (``docs/data-format.md``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely.geometry import MultiPoint
from shapely.geometry.base import BaseGeometry

from geodata.roads import WGS84, utm_crs

#: Two cells are rook neighbours when their common boundary is longer than this.
MIN_SHARED_EDGE_M = 1.0

#: Units named at most in an error message.
LISTED = 20  # not-a-rule: how many ids an error message lists

#: Grid (metres) that cell unions are snapped to, so float noise along shared
#: edges leaves no slivers.
UNION_GRID_M = 1e-3


def _boundary_geometry(boundary: Any) -> BaseGeometry:
    """A single WGS84 geometry from a shapely geometry, GeoSeries or GeoDataFrame."""
    if isinstance(boundary, (gpd.GeoSeries, gpd.GeoDataFrame)):
        gs = boundary.geometry if isinstance(boundary, gpd.GeoDataFrame) else boundary
        if gs.crs is not None and not gs.crs.equals(pyproj.CRS(WGS84)):
            gs = gs.to_crs(WGS84)
        boundary = shapely.union_all(gs.to_numpy())
    if not isinstance(boundary, BaseGeometry) or boundary.is_empty:
        raise ValueError("`boundary` must be a non-empty polygon")
    if boundary.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"`boundary` is a {boundary.geom_type}, not a polygon")
    return boundary


def _projected_crs(geoms: gpd.GeoSeries) -> pyproj.CRS:
    lon0, lat0, lon1, lat1 = geoms.to_crs(WGS84).total_bounds
    return utm_crs((lon0 + lon1) / 2, (lat0 + lat1) / 2)


def _with_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return gdf.set_crs(WGS84) if gdf.crs is None else gdf


def unit_cells(units: gpd.GeoDataFrame, boundary: Any) -> gpd.GeoDataFrame:
    """One polygon per residential unit: its Voronoi cell inside the boundary.

    Parameters
    ----------
    units
        GeoDataFrame with a ``unit_id`` column and point geometry (WGS84; no CRS
        means WGS84). When every geometry is already a (Multi)Polygon the units'
        own polygons are returned unchanged (in WGS84).
    boundary
        The district outline: a shapely (Multi)Polygon in WGS84, or a
        GeoSeries/GeoDataFrame (unioned).

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``unit_id`` and ``geometry`` (WGS84), in the input order. The
        cells of point units tile the boundary; a unit outside the boundary may
        get an empty or partial cell.

    Raises
    ------
    ValueError
        When ``unit_id`` is missing or repeated, geometries mix points and
        polygons, a geometry is empty, or two units share one location (their
        cell could not be split; give them distinct points or polygons).
    """
    if "unit_id" not in units.columns:
        raise ValueError("`units` has no unit_id column")
    units = _with_crs(units)
    ids = units["unit_id"].tolist()
    dup = sorted({str(u) for u in ids if ids.count(u) > 1})
    if dup:
        raise ValueError(f"unit_id repeated: {', '.join(dup)}")
    for uid, g in zip(ids, units.geometry, strict=True):
        if g is None or g.is_empty:
            raise ValueError(f"unit {uid}: geometry is empty")
    types = set(units.geometry.geom_type)
    if types <= {"Polygon", "MultiPolygon"}:
        out = units[["unit_id"]].copy()
        return gpd.GeoDataFrame(out, geometry=units.geometry.to_crs(WGS84).to_numpy(), crs=WGS84)
    if types != {"Point"}:
        raise ValueError(
            f"unit geometries must be all points or all polygons, got {', '.join(sorted(types))}"
        )
    outline = gpd.GeoSeries([_boundary_geometry(boundary)], crs=WGS84)
    crs = _projected_crs(outline)
    outline_p = outline.to_crs(crs).iloc[0]
    pts = units.geometry.to_crs(crs).to_numpy()
    xy = shapely.get_coordinates(pts)
    seen: dict[tuple[float, float], Any] = {}
    for uid, (x, y) in zip(ids, np.round(xy, 3).tolist(), strict=True):
        if (x, y) in seen:
            raise ValueError(f"units {seen[(x, y)]} and {uid} share one location")
        seen[(x, y)] = uid
    if len(pts) == 1:
        cells = [outline_p]
    else:
        # the extent must cover the boundary and every point
        extent = shapely.union_all([outline_p.envelope, MultiPoint(xy).envelope])
        extent = extent.envelope.buffer(1000.0)
        voronoi = shapely.voronoi_polygons(MultiPoint(xy), extend_to=extent, ordered=True)
        cells = list(voronoi.geoms)
    clipped = [shapely.intersection(c, outline_p) for c in cells]
    out = units[["unit_id"]].copy()
    geometry = gpd.GeoSeries(clipped, crs=crs).to_crs(WGS84).to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=WGS84)


def derived_outline(points: Any, margin_m: float) -> BaseGeometry:
    """An outline for a district that has none: the convex hull of ``points``
    buffered by ``margin_m`` metres (in their UTM zone), in WGS84.

    Parameters
    ----------
    points
        ``(lon, lat)`` pairs (WGS84): the units and the schools. Road vertices are
        not used on purpose: roads often run on past the populated area (the trunk
        roads of a district leave it), and a hull over them would give the edge units
        long thin cells reaching into the neighbouring county.
    margin_m
        How far beyond the outermost point the outline runs (> 0).

    Returns
    -------
    shapely Polygon
        Every point lies at least ``margin_m`` inside it; one point gives a disc,
        two a capsule.

    Raises
    ------
    ValueError
        When there is no point, a coordinate is not finite, or ``margin_m`` is not
        positive.
    """
    xy = np.asarray(list(points), dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        raise ValueError("no point to draw an outline around")
    if not np.isfinite(xy).all():
        raise ValueError("a point has no finite coordinates")
    if not margin_m > 0:
        raise ValueError("`margin_m` must be positive")
    lon0, lat0 = xy.min(axis=0)
    lon1, lat1 = xy.max(axis=0)
    crs = utm_crs((lon0 + lon1) / 2, (lat0 + lat1) / 2)
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=WGS84).to_crs(crs)
    hull = shapely.convex_hull(MultiPoint(shapely.get_coordinates(pts.to_numpy())))
    outline = gpd.GeoSeries([hull.buffer(margin_m)], crs=crs).to_crs(WGS84).iloc[0]
    return outline


def spread_coincident(xy: np.ndarray, step_m: float) -> tuple[np.ndarray, list[int]]:
    """Projected points (metres) with every point that repeats an earlier one
    (within 1 mm) moved ``k × step_m`` east, ``k`` its rank among the repeats, so a
    Voronoi diagram can give each its own cell. Returns the new array and the
    indices moved (in order)."""
    out = np.array(xy, dtype=float, copy=True)
    seen: dict[tuple[float, float], int] = {}
    moved = []
    for i, (x, y) in enumerate(np.round(out, 3).tolist()):
        k = seen.get((x, y), 0)
        seen[(x, y)] = k + 1
        if k:
            out[i, 0] += k * step_m
            moved.append(i)
    return out, moved


def rook_adjacency(cells: gpd.GeoDataFrame, min_shared_m: float = MIN_SHARED_EDGE_M) -> nx.Graph:
    """Rook adjacency of unit cells: a shared edge, not a touching corner.

    Parameters
    ----------
    cells
        GeoDataFrame with ``unit_id`` and polygon geometry (WGS84, or any CRS).
    min_shared_m
        Shared boundary length (metres, in the UTM zone) above which two cells
        are neighbours.

    Returns
    -------
    networkx.Graph
        Nodes: every ``unit_id`` (isolated units included); edges carry
        ``shared_m``. Nodes and edges are added in sorted order.

    Raises
    ------
    ValueError
        When ``unit_id`` is missing or repeated.

    Notes
    -----
    The common boundary is measured exactly; polygons digitised separately
    whose borders do not coincide (gaps, overlaps) may need cleaning first.
    """
    if "unit_id" not in cells.columns:
        raise ValueError("`cells` has no unit_id column")
    cells = _with_crs(cells)
    ids = cells["unit_id"].tolist()
    if len(set(ids)) != len(ids):
        raise ValueError("unit_id repeated in `cells`")
    geoms = cells.geometry
    if geoms.crs.is_geographic:
        geoms = geoms.to_crs(_projected_crs(geoms))
    arr = geoms.to_numpy()
    graph = nx.Graph()
    graph.add_nodes_from(sorted(ids, key=str))
    tree = shapely.STRtree(arr)
    left, right = tree.query(arr, predicate="intersects")
    edges = []
    boundaries = shapely.boundary(arr)
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i >= j:
            continue
        shared = shapely.intersection(boundaries[i], boundaries[j]).length
        if shared > min_shared_m:
            a, b = sorted((ids[i], ids[j]), key=str)
            edges.append((a, b, float(shared)))
    edges.sort(key=lambda e: (str(e[0]), str(e[1])))
    graph.add_edges_from((a, b, {"shared_m": s}) for a, b, s in edges)
    return graph


def dissolve_zones(cells: gpd.GeoDataFrame, assignment: Mapping[Any, Any]) -> gpd.GeoDataFrame:
    """Union the cells of each zone and measure its compactness.

    Parameters
    ----------
    cells
        GeoDataFrame with ``unit_id`` and polygon geometry.
    assignment
        ``unit_id -> zone_id`` for every unit in ``cells``.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per zone, sorted by ``zone_id``: ``zone_id``, ``n_units``,
        ``area_km2``, ``polsby_popper`` (4πA/P², 1 for a disc, π/4 for a square,
        over all parts), ``n_parts`` (polygons in the zone; more than 1 means the
        zone is not contiguous on the map) and ``geometry`` (WGS84).

    Raises
    ------
    ValueError
        When a unit has no zone or the assignment names an unknown unit.
    """
    if "unit_id" not in cells.columns:
        raise ValueError("`cells` has no unit_id column")
    cells = _with_crs(cells)
    ids = cells["unit_id"].tolist()
    missing = sorted(str(u) for u in ids if u not in assignment)
    if missing:
        listed = ", ".join(missing[:LISTED])
        more = " …" if len(missing) > LISTED else ""
        raise ValueError(f"units without a zone: {listed}{more}")
    known = set(ids)
    unknown = sorted(str(u) for u in assignment if u not in known)
    if unknown:
        raise ValueError(f"assignment names unknown units: {', '.join(unknown[:LISTED])}")
    geoms = cells.geometry
    crs = geoms.crs if not geoms.crs.is_geographic else _projected_crs(geoms)
    arr = geoms.to_crs(crs).to_numpy()
    by_zone: dict[Any, list[int]] = {}
    for i, uid in enumerate(ids):
        by_zone.setdefault(assignment[uid], []).append(i)
    rows = []
    try:
        zones = sorted(by_zone)
    except TypeError:  # mixed id types
        zones = sorted(by_zone, key=str)
    for zone in zones:
        union = shapely.union_all(arr[by_zone[zone]], grid_size=UNION_GRID_M)
        polys = [g for g in getattr(union, "geoms", [union])
                 if g.geom_type == "Polygon" and not g.is_empty]
        area = float(union.area)
        perimeter = float(union.length)
        rows.append(
            {
                "zone_id": zone,
                "n_units": len(by_zone[zone]),
                "area_km2": area / 1e6,
                "polsby_popper": 4 * math.pi * area / perimeter**2 if perimeter > 0 else 0.0,
                "n_parts": len(polys),
                "geometry": union,
            }
        )
    columns = ["zone_id", "n_units", "area_km2", "polsby_popper", "n_parts", "geometry"]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)
    return frame.to_crs(WGS84)
