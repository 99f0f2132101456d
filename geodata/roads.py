"""Road graph, snapping and travel-time matrices for school-bus planning.

The road lines of a district (WGS84 LineStrings, ``data-spec.md`` § roads) become
a :class:`RoadNetwork`: a directed ``networkx.DiGraph`` in the district's UTM
zone, plus the road *pieces* it was built from and a cached sparse matrix for fast
shortest paths.

Building (:func:`build_road_graph`)
    1. Lines are projected to the UTM zone of their centre (or a given CRS).
       MultiLineStrings are split into their parts.
    2. Endpoints are snapped: an endpoint within ``snap_tol_m`` of a vertex of
       another line is moved onto that vertex (a cluster of endpoints moves to one
       representative point); a still-dangling endpoint within ``snap_tol_m`` of a
       segment of another line is moved onto the segment, and a vertex is inserted
       there. Lines that cross without sharing a vertex (bridges, overpasses) are
       *not* joined.
    3. Every endpoint and every vertex shared by two lines (or visited twice by
       one) is a node; lines are split at nodes into *pieces*.
    4. Each piece gets ``length_m``, ``speed_kmh`` and ``time_s`` (see
       :data:`HIGHWAY_SPEEDS_KMH` and :func:`bus_speed_kmh`), and an arc in each
       permitted direction. Where two pieces join the same two nodes the graph
       keeps, per direction, the *fastest* one (a ``DiGraph``, not a
       ``MultiDiGraph``); all pieces stay in :attr:`RoadNetwork.pieces` for
       snapping, and distance-weighted queries use the shortest piece.

Units: metres, seconds, km/h. Graph nodes are integers ``0 .. n-1`` with ``x``,
``y`` (projected metres) attributes.

Snapping (:meth:`RoadNetwork.snap`) puts each point at the nearest point *on* a
road piece, without splitting it: the piece and the fraction ``t`` along it are
kept, and travel from the point to the piece's end nodes costs the proportional
share of the piece (``t`` and ``1 - t``). The straight leg from the point to the
road (``snap_m``) is reported per point and counted in travel matrices only when
``access_speed_kmh`` is given (e.g. :data:`WALK_SPEED_KMH` for children walking to
a stop).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj import Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import LineString, MultiLineString, Point
from shapely.ops import substring

WGS84 = "EPSG:4326"

#: Speed (km/h) by OSM ``highway`` class, used when a road has no ``speed_kmh``.
#: ``*_link`` classes take the speed of their class. Unknown or missing classes
#: take :data:`DEFAULT_SPEED_KMH`.
HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,
    "trunk": 60.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "track": 20.0,
    "road": 30.0,
}

#: Speed (km/h) of a road with neither ``speed_kmh`` nor a known ``highway`` class.
DEFAULT_SPEED_KMH = 30.0

#: School-bus speed limits (rules.md, "School buses"): ordinary roads,
#: expressways (OSM ``motorway``/``motorway_link``), and sharp bends, steep or
#: narrow roads and narrow bridges (the ``hazardous`` column).
BUS_MAX_SPEED_ORDINARY_KMH = 60.0
BUS_MAX_SPEED_EXPRESSWAY_KMH = 80.0
BUS_MAX_SPEED_HAZARDOUS_KMH = 20.0
EXPRESSWAY_CLASSES = frozenset({"motorway", "motorway_link"})

#: Walking speed (km/h) a caller may pass as ``access_speed_kmh``.
WALK_SPEED_KMH = 4.0

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "-1", "reverse"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", ""})
_KEY_DECIMALS = 3  # vertices equal to the millimetre are the same vertex


class RoadDataError(ValueError):
    """A road line or attribute that cannot be used."""


# --------------------------------------------------------------------------- CRS


def utm_crs(lon: float, lat: float) -> pyproj.CRS:
    """Return the WGS84 UTM zone CRS containing a point.

    Parameters
    ----------
    lon, lat
        Longitude and latitude in degrees (WGS84).

    Returns
    -------
    pyproj.CRS
        ``EPSG:326zz`` north of the equator, ``EPSG:327zz`` south of it. The
        Norway/Svalbard exceptions are ignored.

    Raises
    ------
    ValueError
        When the coordinates are not finite or out of range.

    Examples
    --------
    >>> utm_crs(113.3, 29.5).to_epsg()
    32649
    """
    if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lat) > 90 or abs(lon) > 180:
        raise ValueError(f"not a WGS84 longitude/latitude: ({lon}, {lat})")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _to_wgs84(gs: gpd.GeoSeries | gpd.GeoDataFrame) -> Any:
    if gs.crs is None:  # data-spec: coordinates are WGS84 longitude/latitude
        return gs.set_crs(WGS84)
    return gs.to_crs(WGS84) if not gs.crs.equals(pyproj.CRS(WGS84)) else gs


# ------------------------------------------------------------------- attributes


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_bool(value: Any, row: int, column: str) -> bool:
    if _is_missing(value):
        return False
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return value != 0
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise RoadDataError(f"roads row {row}: {column} is {value!r}, not true/false")


def _highway_class(value: Any) -> str:
    if isinstance(value, (list, tuple)):  # osmnx may give a list of classes
        value = value[0] if value else None
    if _is_missing(value):
        return ""
    return str(value).strip().lower()


def bus_speed_kmh(
    speed_kmh: float | None, highway: str = "", hazardous: bool = False
) -> float:
    """Return the school-bus speed on a road.

    The road's own speed (``speed_kmh``, else :data:`HIGHWAY_SPEEDS_KMH` by class,
    else :data:`DEFAULT_SPEED_KMH`) is capped at 80 km/h on expressways (OSM
    ``motorway``), 60 km/h on other roads, and 20 km/h where ``hazardous``.

    Parameters
    ----------
    speed_kmh
        Posted or design speed; ``None`` or NaN when unknown.
    highway
        OSM ``highway`` class (lower case), may be empty.
    hazardous
        Sharp bend, steep or narrow road, or narrow bridge.

    Returns
    -------
    float
        Speed in km/h.

    Examples
    --------
    >>> bus_speed_kmh(80.0, "secondary")
    60.0
    >>> bus_speed_kmh(None, "motorway")
    80.0
    >>> bus_speed_kmh(None, "primary", hazardous=True)
    20.0
    """
    if speed_kmh is None or _is_missing(speed_kmh):
        base = highway[:-5] if highway.endswith("_link") else highway
        speed = HIGHWAY_SPEEDS_KMH.get(base, DEFAULT_SPEED_KMH)
    else:
        speed = float(speed_kmh)
    cap = (
        BUS_MAX_SPEED_EXPRESSWAY_KMH
        if highway in EXPRESSWAY_CLASSES
        else BUS_MAX_SPEED_ORDINARY_KMH
    )
    if hazardous:
        cap = min(cap, BUS_MAX_SPEED_HAZARDOUS_KMH)
    return min(speed, cap)


# ------------------------------------------------------------------ data types


@dataclass(frozen=True)
class SnappedPoint:
    """A point placed on a road piece.

    Attributes
    ----------
    id
        The caller's identifier of the point.
    piece
        Index into :attr:`RoadNetwork.pieces`.
    u, v
        The piece's start and end node (``t`` runs from ``u`` to ``v``).
    t
        Fraction of the piece's length from ``u`` (0 at ``u``, 1 at ``v``).
    snap_m
        Straight distance from the point to the road, metres.
    component
        Index of the connected piece of the network (0 is the largest; see
        :meth:`RoadNetwork.components`).
    x, y
        The snapped position on the road, projected metres.
    """

    id: Any
    piece: int
    u: int
    v: int
    t: float
    snap_m: float
    component: int
    x: float
    y: float

    @property
    def node(self) -> int:
        """The nearer end node of the piece (by length)."""
        return self.u if self.t <= 0.5 else self.v

    @property
    def on_main(self) -> bool:
        """Whether the point is on the largest connected piece."""
        return self.component == 0


@dataclass(frozen=True)
class SnapResult:
    """Snapped points in input order; nothing is dropped.

    Attributes
    ----------
    points
        One :class:`SnappedPoint` per input point.
    crs
        The network's projected CRS (of ``x``, ``y``).
    """

    points: tuple[SnappedPoint, ...]
    crs: pyproj.CRS

    def __len__(self) -> int:
        return len(self.points)

    def __iter__(self):  # noqa: ANN204 - an iterator of SnappedPoint
        return iter(self.points)

    def __getitem__(self, i: int) -> SnappedPoint:
        return self.points[i]

    @property
    def ids(self) -> list[Any]:
        """The point ids in input order."""
        return [p.id for p in self.points]

    @property
    def off_main(self) -> list[SnappedPoint]:
        """Points whose nearest road is not on the largest connected piece."""
        return [p for p in self.points if p.component != 0]

    def to_frame(self) -> pd.DataFrame:
        """Return one row per point: id, piece, u, v, t, node, snap_m, component, x, y."""
        return pd.DataFrame(
            {
                "id": [p.id for p in self.points],
                "piece": [p.piece for p in self.points],
                "u": [p.u for p in self.points],
                "v": [p.v for p in self.points],
                "t": [p.t for p in self.points],
                "node": [p.node for p in self.points],
                "snap_m": [p.snap_m for p in self.points],
                "component": [p.component for p in self.points],
                "x": [p.x for p in self.points],
                "y": [p.y for p in self.points],
            }
        )


@dataclass
class _Arcs:
    """Directed arcs deduplicated per (tail, head), sorted by tail then head."""

    tail: np.ndarray
    head: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    piece: np.ndarray
    forward: np.ndarray  # True when the arc runs along the piece's geometry
    matrix: csr_matrix  # weighted by the dedup weight
    reverse: csr_matrix  # transpose, for searches towards destinations
    keys: np.ndarray  # tail * n + head, sorted, to look arcs up
    other: np.ndarray  # the other weight (length for time arcs), per arc


@dataclass
class RoadNetwork:
    """A projected, directed road network.

    Attributes
    ----------
    graph
        ``networkx.DiGraph``; nodes ``0..n-1`` with ``x``, ``y``; edges with
        ``length_m``, ``speed_kmh``, ``time_s``, ``geometry`` (projected
        LineString in the direction of travel), ``name``, ``highway``,
        ``piece`` and ``row`` (1-based row of the input table).
    crs
        The projected CRS of the graph.
    pieces
        GeoDataFrame of all road pieces (projected), one row per piece with
        ``u``, ``v``, ``length_m``, ``speed_kmh``, ``time_s``, ``forward``,
        ``backward`` (travel allowed along / against the geometry), ``name``,
        ``highway``, ``row``.
    node_xy
        ``(n, 2)`` array of node coordinates.
    """

    graph: nx.DiGraph
    crs: pyproj.CRS
    pieces: gpd.GeoDataFrame
    node_xy: np.ndarray
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    # -------------------------------------------------------------- structure

    def components(self) -> list[set[int]]:
        """Return the weakly connected pieces of the network.

        Returns
        -------
        list of set of int
            Node sets, largest first (ties: smallest node id first). A one-way
            dead end can still make a pair unreachable inside a component; the
            travel matrices show that as ``inf``.
        """
        if "components" not in self._cache:
            comps = [set(c) for c in nx.weakly_connected_components(self.graph)]
            comps.sort(key=lambda c: (-len(c), min(c)))
            label = np.full(self.graph.number_of_nodes(), -1, dtype=np.int64)
            for i, comp in enumerate(comps):
                label[sorted(comp)] = i
            self._cache["components"] = comps
            self._cache["component_of_node"] = label
        return [set(c) for c in self._cache["components"]]

    def component_of_node(self) -> np.ndarray:
        """Return the component index (see :meth:`components`) of every node."""
        self.components()
        return self._cache["component_of_node"]

    def _arcs(self, weight: str) -> _Arcs:
        key = f"arcs_{weight}"
        if key not in self._cache:
            self._cache[key] = _build_arcs(self.pieces, len(self.node_xy), weight)
        return self._cache[key]

    # --------------------------------------------------------------- snapping

    def snap(
        self,
        points: gpd.GeoSeries | Sequence[tuple[float, float]],
        ids: Sequence[Any] | None = None,
        restrict_to_main: bool = False,
    ) -> SnapResult:
        """Place points on the nearest point of the nearest road piece.

        Parameters
        ----------
        points
            ``(lon, lat)`` pairs in WGS84, or a GeoSeries of points (any CRS; no
            CRS means WGS84).
        ids
            One id per point; default ``0..n-1`` (or the GeoSeries index).
        restrict_to_main
            Snap only to the largest connected piece. By default the nearest road
            wins, and points on a smaller piece are listed in
            :attr:`SnapResult.off_main`.

        Returns
        -------
        SnapResult
            One :class:`SnappedPoint` per input point, in input order. Ties
            between equally near pieces go to the lowest piece index.

        Raises
        ------
        ValueError
            When ``ids`` has the wrong length, a point is empty or not finite, or
            the network has no roads.
        """
        geoms = _points_projected(points, self.crs)
        if ids is None:
            ids = list(points.index) if isinstance(points, gpd.GeoSeries) else list(range(len(geoms)))
        ids = list(ids)
        if len(ids) != len(geoms):
            raise ValueError(f"`ids` has {len(ids)} entries for {len(geoms)} points")
        if len(self.pieces) == 0:
            raise ValueError("the road network has no roads to snap to")
        comp_of_node = self.component_of_node()
        piece_u = self.pieces["u"].to_numpy()
        piece_comp = comp_of_node[piece_u]
        candidates = np.arange(len(self.pieces))
        if restrict_to_main:
            candidates = candidates[piece_comp == 0]
        tree_key = f"tree_main_{restrict_to_main}"
        if tree_key not in self._cache:
            self._cache[tree_key] = shapely.STRtree(
                self.pieces.geometry.to_numpy()[candidates]
            )
        tree = self._cache[tree_key]
        (inp, hit), dist = tree.query_nearest(geoms, return_distance=True, all_matches=True)
        # lowest piece index among ties, per input point
        best: dict[int, tuple[int, float]] = {}
        for i, j, d in zip(inp.tolist(), candidates[hit].tolist(), dist.tolist(), strict=True):
            if i not in best or j < best[i][0]:
                best[i] = (j, d)
        j_arr = np.array([best[i][0] for i in range(len(geoms))], dtype=np.int64)
        d_arr = np.array([best[i][1] for i in range(len(geoms))], dtype=float)
        lines = self.pieces.geometry.to_numpy()[j_arr]
        lengths = self.pieces["length_m"].to_numpy(dtype=float)[j_arr]
        offset = shapely.line_locate_point(lines, geoms)
        on = shapely.get_coordinates(shapely.line_interpolate_point(lines, offset))
        t = np.clip(offset / lengths, 0.0, 1.0)
        piece_v = self.pieces["v"].to_numpy()
        out = [
            SnappedPoint(
                id=ids[i],
                piece=int(j_arr[i]),
                u=int(piece_u[j_arr[i]]),
                v=int(piece_v[j_arr[i]]),
                t=float(t[i]),
                snap_m=float(d_arr[i]),
                component=int(piece_comp[j_arr[i]]),
                x=float(on[i, 0]),
                y=float(on[i, 1]),
            )
            for i in range(len(geoms))
        ]
        return SnapResult(points=tuple(out), crs=self.crs)


def _points_projected(
    points: gpd.GeoSeries | Sequence[tuple[float, float]], crs: pyproj.CRS
) -> np.ndarray:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        gs = points.set_crs(WGS84) if points.crs is None else points
        geoms = gs.to_crs(crs).to_numpy()
    else:
        xy = np.asarray(list(points), dtype=float).reshape(-1, 2)
        tr = Transformer.from_crs(WGS84, crs, always_xy=True)
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        geoms = shapely.points(np.asarray(x), np.asarray(y))
    for i, g in enumerate(geoms):
        if g is None or g.is_empty or not np.all(np.isfinite(shapely.get_coordinates(g))):
            raise ValueError(f"point {i} is empty or not finite")
    return np.asarray(geoms)


# -------------------------------------------------------------------- building


def build_road_graph(
    lines: gpd.GeoDataFrame,
    crs: pyproj.CRS | str | None = None,
    snap_tol_m: float = 5.0,
) -> RoadNetwork:
    """Build a directed road network from road centre-lines.

    Parameters
    ----------
    lines
        Road lines (WGS84; no CRS means WGS84) with optional columns
        ``speed_kmh``, ``oneway``, ``name``, ``highway``, ``hazardous``.
        ``oneway`` true means travel along the drawing direction only; ``-1`` or
        ``reverse`` means against it.
    crs
        Projected CRS to work in; default the UTM zone of the lines' centre.
    snap_tol_m
        Endpoints closer than this to another line's vertex or segment are
        joined to it (see the module docstring). ``0`` disables snapping.

    Returns
    -------
    RoadNetwork
        The network; a ``DiGraph`` keeping the fastest of parallel pieces.

    Raises
    ------
    RoadDataError
        (a ``ValueError``) naming the 1-based row, e.g. ``roads row 12: geometry
        is a Point, not a line``, or a bad ``speed_kmh``/``oneway``/``hazardous``.
    ValueError
        When ``crs`` is geographic.
    """
    lines = _to_wgs84(lines)
    if crs is None:
        if len(lines) == 0:
            crs = utm_crs(113.3, 29.5)
        else:
            x0, y0, x1, y1 = lines.total_bounds
            crs = utm_crs((x0 + x1) / 2, (y0 + y1) / 2)
    crs = pyproj.CRS(crs)
    if crs.is_geographic:
        raise ValueError(f"`crs` must be projected (metres), got {crs.name}")

    # --- validate and collect parts with their attributes
    parts: list[np.ndarray] = []
    attrs: list[dict[str, Any]] = []
    geoms_proj = lines.geometry.to_crs(crs).to_numpy()
    cols = set(lines.columns)
    for pos, (geom, geom_wgs) in enumerate(zip(geoms_proj, lines.geometry.to_numpy(), strict=True)):
        row = pos + 1
        if geom_wgs is None or geom_wgs.is_empty:
            raise RoadDataError(f"roads row {row}: geometry is empty, not a line")
        if not isinstance(geom_wgs, (LineString, MultiLineString)):
            raise RoadDataError(f"roads row {row}: geometry is a {geom_wgs.geom_type}, not a line")
        rec = lines.iloc[pos]
        speed = rec["speed_kmh"] if "speed_kmh" in cols else None
        if speed is not None and not _is_missing(speed):
            try:
                speed = float(speed)
            except (TypeError, ValueError):
                raise RoadDataError(f"roads row {row}: speed_kmh is {speed!r}, not a number") from None
            if not (speed > 0 and math.isfinite(speed)):
                raise RoadDataError(f"roads row {row}: speed_kmh is {speed}, must be positive")
        else:
            speed = None
        highway = _highway_class(rec["highway"]) if "highway" in cols else ""
        hazardous = _as_bool(rec["hazardous"], row, "hazardous") if "hazardous" in cols else False
        oneway_raw = rec["oneway"] if "oneway" in cols else None
        oneway = _as_bool(oneway_raw, row, "oneway")
        reverse = oneway and str(oneway_raw).strip().lower() in {"-1", "reverse"}
        name = rec["name"] if "name" in cols else None
        info = {
            "row": row,
            "speed_kmh": bus_speed_kmh(speed, highway, hazardous),
            "highway": highway,
            "name": "" if _is_missing(name) else str(name),
            "forward": not reverse,
            "backward": (not oneway) or reverse,
        }
        for sub in getattr(geom, "geoms", [geom]):
            xy = _dedupe_consecutive(shapely.get_coordinates(sub))
            if len(xy) >= 2:
                parts.append(xy)
                attrs.append(info)

    if snap_tol_m > 0 and parts:
        parts = _snap_endpoints(parts, snap_tol_m)
        keep = [i for i, p in enumerate(parts) if len(p) >= 2]
        parts = [parts[i] for i in keep]
        attrs = [attrs[i] for i in keep]

    # --- nodes: endpoints and shared vertices
    node_of_key: dict[tuple[float, float], int] = {}
    node_xy: list[tuple[float, float]] = []
    counts: dict[tuple[float, float], int] = {}
    part_keys = []
    for xy in parts:
        keys = [tuple(k) for k in np.round(xy, _KEY_DECIMALS).tolist()]
        part_keys.append(keys)
        for k in keys:
            counts[k] = counts.get(k, 0) + 1

    def node_id(key: tuple[float, float], xy: np.ndarray) -> int:
        if key not in node_of_key:
            node_of_key[key] = len(node_xy)
            node_xy.append((float(xy[0]), float(xy[1])))
        return node_of_key[key]

    rows = []
    for xy, keys, info in zip(parts, part_keys, attrs, strict=True):
        cut = [0] + [i for i in range(1, len(keys) - 1) if counts[keys[i]] > 1] + [len(keys) - 1]
        for a, b in zip(cut[:-1], cut[1:], strict=True):
            seg = xy[a : b + 1]
            geom = LineString(seg)
            length = float(geom.length)
            if length <= 0:
                continue
            u = node_id(keys[a], xy[a])
            v = node_id(keys[b], xy[b])
            rows.append(
                {
                    "u": u,
                    "v": v,
                    "length_m": length,
                    "speed_kmh": info["speed_kmh"],
                    "time_s": length / (info["speed_kmh"] / 3.6),
                    "forward": info["forward"],
                    "backward": info["backward"],
                    "name": info["name"],
                    "highway": info["highway"],
                    "row": info["row"],
                    "geometry": geom,
                }
            )
    columns = ["u", "v", "length_m", "speed_kmh", "time_s", "forward", "backward",
               "name", "highway", "row", "geometry"]
    pieces = gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry="geometry", crs=crs)
    nodes = np.asarray(node_xy, dtype=float).reshape(-1, 2)

    graph = nx.DiGraph(crs=crs)
    for i, (x, y) in enumerate(nodes.tolist()):
        graph.add_node(i, x=x, y=y)
    arcs = _build_arcs(pieces, len(nodes), "time_s")
    geoms = pieces.geometry.to_numpy()
    length = pieces["length_m"].to_numpy(dtype=float)
    speed = pieces["speed_kmh"].to_numpy(dtype=float)
    time_s = pieces["time_s"].to_numpy(dtype=float)
    names = pieces["name"].to_numpy(dtype=object)
    highways = pieces["highway"].to_numpy(dtype=object)
    src_rows = pieces["row"].to_numpy(dtype=np.int64)
    graph.add_edges_from(
        (
            int(u),
            int(v),
            {
                "length_m": float(length[p]),
                "speed_kmh": float(speed[p]),
                "time_s": float(time_s[p]),
                "geometry": geoms[p] if f else geoms[p].reverse(),
                "name": names[p],
                "highway": highways[p],
                "piece": int(p),
                "row": int(src_rows[p]),
            },
        )
        for u, v, p, f in zip(
            arcs.tail.tolist(), arcs.head.tolist(), arcs.piece.tolist(), arcs.forward.tolist(), strict=True
        )
    )
    network = RoadNetwork(graph=graph, crs=crs, pieces=pieces, node_xy=nodes)
    network._cache["arcs_time_s"] = arcs
    return network


def _dedupe_consecutive(xy: np.ndarray) -> np.ndarray:
    xy = xy[:, :2]
    if len(xy) < 2:
        return xy
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.abs(np.diff(xy, axis=0)) > 10.0**-_KEY_DECIMALS, axis=1)
    return xy[keep]


def _snap_endpoints(parts: list[np.ndarray], tol: float) -> list[np.ndarray]:
    """Join endpoints to nearby vertices, then dangling endpoints to segments."""
    parts = [p.copy() for p in parts]
    sizes = np.array([len(p) for p in parts])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    verts = np.concatenate(parts)
    owner = np.repeat(np.arange(len(parts)), sizes)
    is_end = np.zeros(len(verts), dtype=bool)
    is_end[start] = True
    is_end[start + sizes - 1] = True

    # 1. endpoint -> vertex clusters (union-find), representative: an interior
    #    vertex if the cluster has one (so through roads stay put), else the
    #    lowest-numbered endpoint.
    parent = np.arange(len(verts))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = cKDTree(verts).query_pairs(tol, output_type="ndarray")
    if len(pairs):
        pairs = pairs[(is_end[pairs[:, 0]] | is_end[pairs[:, 1]]) & (owner[pairs[:, 0]] != owner[pairs[:, 1]])]
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(i) for i in range(len(verts))])
    members: dict[int, list[int]] = {}
    for i in np.flatnonzero(roots != np.arange(len(verts))).tolist() + np.unique(roots).tolist():
        members.setdefault(int(roots[i]), []).append(i)
    snapped = np.zeros(len(verts), dtype=bool)
    for root in sorted(members):
        group = sorted(set(members[root]))
        if len(group) < 2:
            continue
        rep = min(group, key=lambda i: (bool(is_end[i]), i))
        verts[group] = verts[rep]
        snapped[group] = True
    for k, p in enumerate(parts):
        p[:] = verts[start[k] : start[k] + sizes[k]]

    # 2. dangling endpoint -> nearest segment of another line
    lines = [LineString(p) if len(_dedupe_consecutive(p)) >= 2 else None for p in parts]
    valid = [i for i, g in enumerate(lines) if g is not None]
    if not valid:
        return parts
    tree = shapely.STRtree([lines[i] for i in valid])
    inserts: dict[int, list[tuple[float, np.ndarray]]] = {}
    moves: list[tuple[int, np.ndarray]] = []
    ends = np.flatnonzero(is_end & ~snapped)
    for e in ends.tolist():
        pt = Point(verts[e])
        hits = tree.query(pt, predicate="dwithin", distance=tol)
        best = None
        for h in sorted(hits.tolist()):
            j = valid[h]
            if j == owner[e]:
                continue
            d = lines[j].distance(pt)
            if best is None or d < best[0]:
                best = (d, j)
        if best is None:
            continue
        j = best[1]
        offset = lines[j].project(pt)
        on = np.asarray(lines[j].interpolate(offset).coords[0])
        inserts.setdefault(j, []).append((offset, on))
        moves.append((e, on))
    for e, on in moves:
        k = owner[e]
        parts[k][e - start[k]] = on
    for j in sorted(inserts):
        xy = parts[j]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        new = list(map(tuple, xy))
        extra = sorted(inserts[j], key=lambda item: item[0])
        # insert from the end so earlier positions stay valid
        for offset, on in reversed(extra):
            pos = int(np.searchsorted(cum, offset, side="right"))
            pos = min(max(pos, 1), len(new) - 1)
            new.insert(pos, tuple(on))
        parts[j] = _dedupe_consecutive(np.asarray(new))
    return [_dedupe_consecutive(p) for p in parts]


def _build_arcs(pieces: gpd.GeoDataFrame, n: int, weight: str) -> _Arcs:
    """Directed arcs, one per (tail, head): the piece with the least ``weight``."""
    if weight not in ("time_s", "length_m"):
        raise ValueError(f"`weight` must be 'time_s' or 'length_m', got {weight!r}")
    other_name = "length_m" if weight == "time_s" else "time_s"
    u = pieces["u"].to_numpy(dtype=np.int64)
    v = pieces["v"].to_numpy(dtype=np.int64)
    fwd = pieces["forward"].to_numpy(dtype=bool)
    bwd = pieces["backward"].to_numpy(dtype=bool)
    w = pieces[weight].to_numpy(dtype=float)
    o = pieces[other_name].to_numpy(dtype=float)
    idx = np.arange(len(pieces))
    tail = np.concatenate([u[fwd], v[bwd]])
    head = np.concatenate([v[fwd], u[bwd]])
    wt = np.concatenate([w[fwd], w[bwd]])
    ot = np.concatenate([o[fwd], o[bwd]])
    piece = np.concatenate([idx[fwd], idx[bwd]])
    forward = np.concatenate([np.ones(fwd.sum(), bool), np.zeros(bwd.sum(), bool)])
    loop = tail == head  # a loop never shortens a path; kept only for snapping
    tail, head, wt, ot, piece, forward = (a[~loop] for a in (tail, head, wt, ot, piece, forward))
    order = np.lexsort((piece, wt, head, tail))
    tail, head, wt, ot, piece, forward = (a[order] for a in (tail, head, wt, ot, piece, forward))
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    tail, head, wt, ot, piece, forward = (a[first] for a in (tail, head, wt, ot, piece, forward))
    # csgraph ignores stored zeros in some paths; pieces are > 0 long anyway
    data = np.maximum(wt, 1e-9)
    matrix = csr_matrix((data, (tail, head)), shape=(n, n))
    matrix.sort_indices()
    reverse = csr_matrix((data, (head, tail)), shape=(n, n))
    reverse.sort_indices()
    if weight == "time_s":
        time_s, length_m = wt, ot
    else:
        time_s, length_m = ot, wt
    return _Arcs(
        tail=tail, head=head, time_s=time_s, length_m=length_m, piece=piece,
        forward=forward, matrix=matrix, reverse=reverse, keys=tail * n + head, other=ot,
    )


# -------------------------------------------------------------------- matrices


def _as_points(snapped: SnapResult | Sequence[SnappedPoint]) -> list[SnappedPoint]:
    pts = list(snapped)
    for p in pts:
        if not isinstance(p, SnappedPoint):
            raise TypeError("expected snapped points: call RoadNetwork.snap() first")
    return pts


def _access(
    network: RoadNetwork, pts: list[SnappedPoint], outbound: bool, weight: str,
    access_speed_kmh: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Access nodes and costs, shape (len(pts), 2): [via u, via v].

    ``outbound`` means leaving the point (origin); otherwise arriving (destination).
    Returns the nodes, the cost in ``weight`` and the cost in the other measure.
    """
    pieces = network.pieces
    n = len(pts)
    nodes = np.zeros((n, 2), dtype=np.int64)
    cost = np.full((n, 2), np.inf)
    other = np.full((n, 2), np.inf)
    fwd_all = pieces["forward"].to_numpy()
    bwd_all = pieces["backward"].to_numpy()
    w_all = pieces[weight].to_numpy()
    o_all = pieces["length_m" if weight == "time_s" else "time_s"].to_numpy()
    for i, p in enumerate(pts):
        fwd, bwd, w, o = fwd_all[p.piece], bwd_all[p.piece], w_all[p.piece], o_all[p.piece]
        nodes[i] = (p.u, p.v)
        # origin: to u needs travel against the geometry, to v along it;
        # destination: from u along it, from v against it.
        ok_u = bwd if outbound else fwd
        ok_v = fwd if outbound else bwd
        if ok_u:
            cost[i, 0], other[i, 0] = p.t * w, p.t * o
        if ok_v:
            cost[i, 1], other[i, 1] = (1 - p.t) * w, (1 - p.t) * o
        if access_speed_kmh is not None:
            extra_t = p.snap_m / (access_speed_kmh / 3.6)
            if weight == "time_s":
                cost[i] += extra_t
                other[i] += p.snap_m
            else:
                cost[i] += p.snap_m
                other[i] += extra_t
    return nodes, cost, other


def _same_piece(
    network: RoadNetwork, o: list[SnappedPoint], d: list[SnappedPoint], weight: str,
    access_speed_kmh: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Direct along-piece cost for pairs on the same piece (inf elsewhere)."""
    cost = np.full((len(o), len(d)), np.inf)
    other = np.full((len(o), len(d)), np.inf)
    by_piece: dict[int, list[int]] = {}
    for j, p in enumerate(d):
        by_piece.setdefault(p.piece, []).append(j)
    if not by_piece:
        return cost, other
    pieces = network.pieces
    oname = "length_m" if weight == "time_s" else "time_s"
    for i, p in enumerate(o):
        if p.piece not in by_piece:
            continue
        rec = pieces.iloc[p.piece]
        for j in by_piece[p.piece]:
            q = d[j]
            dt = q.t - p.t
            if (dt >= 0 and rec["forward"]) or (dt <= 0 and rec["backward"]):
                cost[i, j] = abs(dt) * rec[weight]
                other[i, j] = abs(dt) * rec[oname]
                if access_speed_kmh is not None:
                    snap = p.snap_m + q.snap_m
                    extra_t = snap / (access_speed_kmh / 3.6)
                    cost[i, j] += extra_t if weight == "time_s" else snap
                    other[i, j] += snap if weight == "time_s" else extra_t
    return cost, other


def _accumulate_other(arcs: _Arcs, pred: np.ndarray, n: int) -> np.ndarray:
    """Sum the other weight along shortest-path trees by pointer jumping.

    ``pred`` is (sources, n) from ``dijkstra(..., return_predecessors=True)`` on
    ``arcs.matrix`` (or on its transpose, in which case pred[s, x] is the *next*
    node from x towards s and the arc is (x, pred)).
    """
    rows, cols = np.nonzero(pred >= 0)
    p = pred[rows, cols].astype(np.int64)
    acc = np.zeros(pred.shape, dtype=float)
    # arc p -> col on the forward graph; on the reverse graph the caller swaps
    keys = p * n + cols if not getattr(arcs, "_reverse_mode", False) else cols * n + p
    pos = np.searchsorted(arcs.keys, keys)
    acc[rows, cols] = arcs.other[pos]
    ptr = np.where(pred >= 0, pred, np.arange(n)[None, :]).astype(np.int64)
    while True:
        nxt = np.take_along_axis(ptr, ptr, axis=1)
        acc += np.take_along_axis(acc, ptr, axis=1)
        if np.array_equal(nxt, ptr):
            break
        ptr = nxt
    return acc


def travel_matrices(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str = "time_s",
    access_speed_kmh: float | None = None,
    block: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest travel costs between snapped points, with the other measure.

    Parameters
    ----------
    network
        The road network.
    origins, destinations
        Snapped points (:meth:`RoadNetwork.snap`).
    weight
        ``"time_s"``: shortest-time paths; returns (seconds, metres along those
        paths). ``"length_m"``: shortest-distance paths; returns (seconds along
        those paths, metres). The first array is always time, the second length.
    access_speed_kmh
        When given, the straight leg from each point to the road (``snap_m``) is
        added at this speed; by default it is not counted.
    block
        Dijkstra sources per batch (memory: ``block x nodes`` floats).

    Returns
    -------
    (time_s, length_m)
        Two ``(len(origins), len(destinations))`` arrays; ``np.inf`` where no
        path exists (other piece of the network, one-way trap).

    Notes
    -----
    Shortest paths run once per *unique* access node (a snapped point reaches
    the two end nodes of its piece) with ``scipy.sparse.csgraph.dijkstra`` on a
    CSR matrix cached on the network; from the origins' nodes, or on the
    reversed graph from the destinations' nodes when those are fewer. The
    second measure is summed along the predecessor trees (pointer jumping),
    so it belongs to the same path as the first.

    Raises
    ------
    ValueError
        For an unknown ``weight``.
    TypeError
        When the points were not snapped.
    """
    cost, other = _matrices(network, origins, destinations, weight, access_speed_kmh, block, True)
    return (cost, other) if weight == "time_s" else (other, cost)


def travel_matrix(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str = "time_s",
    access_speed_kmh: float | None = None,
    block: int = 256,
) -> np.ndarray:
    """Shortest travel times (s) or distances (m) between snapped points.

    Parameters
    ----------
    network
        The road network.
    origins, destinations
        Snapped points (:meth:`RoadNetwork.snap`).
    weight
        ``"time_s"`` (seconds) or ``"length_m"`` (metres).
    access_speed_kmh
        See :func:`travel_matrices`.
    block
        Dijkstra sources per batch.

    Returns
    -------
    numpy.ndarray
        ``(len(origins), len(destinations))``; ``np.inf`` where unreachable.
        Includes the along-road legs from each point to its piece's end nodes.

    Raises
    ------
    ValueError
        For an unknown ``weight``.
    TypeError
        When the points were not snapped.
    """
    cost, _ = _matrices(network, origins, destinations, weight, access_speed_kmh, block, False)
    return cost


def _matrices(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str,
    access_speed_kmh: float | None,
    block: int,
    with_other: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    if weight not in ("time_s", "length_m"):
        raise ValueError(f"`weight` must be 'time_s' or 'length_m', got {weight!r}")
    o_pts, d_pts = _as_points(origins), _as_points(destinations)
    n_o, n_d = len(o_pts), len(d_pts)
    cost = np.full((n_o, n_d), np.inf)
    other = np.full((n_o, n_d), np.inf) if with_other else None
    if n_o == 0 or n_d == 0:
        return cost, other
    arcs = network._arcs(weight)
    n = len(network.node_xy)
    o_nodes, o_cost, o_other = _access(network, o_pts, True, weight, access_speed_kmh)
    d_nodes, d_cost, d_other = _access(network, d_pts, False, weight, access_speed_kmh)
    src_o = np.unique(o_nodes)
    src_d = np.unique(d_nodes)
    backward = len(src_d) < len(src_o)
    sources = src_d if backward else src_o
    targets = src_o if backward else src_d
    # node-to-node tables restricted to the nodes we need: (len(src_o), len(src_d))
    node_cost = np.full((len(src_o), len(src_d)), np.inf)
    node_other = np.full_like(node_cost, np.inf) if with_other else None
    graph = arcs.reverse if backward else arcs.matrix
    for s0 in range(0, len(sources), block):
        chunk = sources[s0 : s0 + block]
        if with_other:
            dist, pred = dijkstra(graph, directed=True, indices=chunk, return_predecessors=True)
            arcs_mode = _ReverseView(arcs) if backward else arcs
            acc = _accumulate_other(arcs_mode, pred, n)
            acc[~np.isfinite(dist)] = np.inf
        else:
            dist = dijkstra(graph, directed=True, indices=chunk)
            acc = None
        sub = dist[:, targets]
        if backward:
            node_cost[:, s0 : s0 + len(chunk)] = sub.T
            if with_other:
                node_other[:, s0 : s0 + len(chunk)] = acc[:, targets].T
        else:
            node_cost[s0 : s0 + len(chunk), :] = sub
            if with_other:
                node_other[s0 : s0 + len(chunk), :] = acc[:, targets]
    oi = np.searchsorted(src_o, o_nodes)  # (n_o, 2)
    di = np.searchsorted(src_d, d_nodes)  # (n_d, 2)
    for a in range(2):
        for b in range(2):
            c = o_cost[:, a][:, None] + node_cost[np.ix_(oi[:, a], di[:, b])] + d_cost[:, b][None, :]
            better = c < cost
            cost = np.where(better, c, cost)
            if with_other:
                oc = o_other[:, a][:, None] + node_other[np.ix_(oi[:, a], di[:, b])] + d_other[:, b][None, :]
                other = np.where(better, oc, other)
    sc, so = _same_piece(network, o_pts, d_pts, weight, access_speed_kmh)
    better = sc < cost
    cost = np.where(better, sc, cost)
    if with_other:
        other = np.where(better, so, other)
    return cost, other


class _ReverseView:
    """Arcs looked up as (head, tail) for predecessor trees of the reverse graph."""

    _reverse_mode = True

    def __init__(self, arcs: _Arcs) -> None:
        self.keys = arcs.keys
        self.other = arcs.other


# ----------------------------------------------------------------------- routes


def route_geometry(
    network: RoadNetwork, stops: SnapResult | Sequence[SnappedPoint]
) -> LineString:
    """The road path through stops in order, as a WGS84 LineString.

    Parameters
    ----------
    network
        The road network.
    stops
        Snapped stops, in visiting order (at least one).

    Returns
    -------
    shapely.LineString
        Shortest-time path along the roads from each stop to the next, starting
        and ending at the snapped positions of the first and last stop. A single
        stop (or stops at one place) gives a degenerate two-point line.

    Raises
    ------
    ValueError
        When there are no stops or a stop cannot be reached from the one before
        (the message names both).
    """
    pts = _as_points(stops)
    if not pts:
        raise ValueError("`stops` is empty")
    coords: list[tuple[float, float]] = [(pts[0].x, pts[0].y)]
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        coords.extend(_leg_coords(network, a, b))
    if len(coords) == 1:
        coords.append(coords[0])
    tr = Transformer.from_crs(network.crs, WGS84, always_xy=True)
    xy = np.asarray(coords)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return LineString(np.column_stack([lon, lat]))


def _piece_part(network: RoadNetwork, piece: int, t0: float, t1: float) -> list[tuple[float, float]]:
    """Coordinates of a piece from fraction t0 to t1 (either direction)."""
    line = network.pieces.geometry.iat[piece]
    lo, hi = sorted((t0, t1))
    part = substring(line, lo, hi, normalized=True)
    xy = list(map(tuple, shapely.get_coordinates(part)))
    return xy if t0 <= t1 else xy[::-1]


def _leg_coords(network: RoadNetwork, a: SnappedPoint, b: SnappedPoint) -> list[tuple[float, float]]:
    arcs = network._arcs("time_s")
    n = len(network.node_xy)
    o_nodes, o_cost, _ = _access(network, [a], True, "time_s", None)
    d_nodes, d_cost, _ = _access(network, [b], False, "time_s", None)
    same, _ = _same_piece(network, [a], [b], "time_s", None)
    dist, pred = dijkstra(arcs.matrix, directed=True, indices=np.unique(o_nodes[0]), return_predecessors=True)
    srcs = np.unique(o_nodes[0]).tolist()
    best = (same[0, 0], None, None, None)
    for ka in range(2):
        for kb in range(2):
            s = srcs.index(int(o_nodes[0, ka]))
            c = o_cost[0, ka] + dist[s, d_nodes[0, kb]] + d_cost[0, kb]
            if c < best[0]:
                best = (c, ka, kb, s)
    if not np.isfinite(best[0]):
        raise ValueError(f"stop {b.id!r} cannot be reached by road from stop {a.id!r}")
    _, ka, kb, s = best
    if ka is None:
        return _piece_part(network, a.piece, a.t, b.t)[1:] or [(b.x, b.y)]
    start, end = int(o_nodes[0, ka]), int(d_nodes[0, kb])
    path = [end]
    while path[-1] != start:
        path.append(int(pred[s, path[-1]]))
    path.reverse()
    out = _piece_part(network, a.piece, a.t, 0.0 if ka == 0 else 1.0)
    geoms = network.pieces.geometry.to_numpy()
    for u, v in zip(path[:-1], path[1:], strict=True):
        k = int(np.searchsorted(arcs.keys, u * n + v))
        xy = list(map(tuple, shapely.get_coordinates(geoms[arcs.piece[k]])))
        out.extend(xy if arcs.forward[k] else xy[::-1])
    out.extend(_piece_part(network, b.piece, 0.0 if kb == 0 else 1.0, b.t))
    dedup = [out[0]]
    for c in out[1:]:
        if c != dedup[-1]:
            dedup.append(c)
    return dedup[1:]
