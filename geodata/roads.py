"""Road graph, snapping and travel-time matrices for school-bus planning.

The road lines of a district (WGS84 LineStrings, ``docs/data-format.md`` § roads) become
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

import itertools
import math
from collections.abc import Iterator, Sequence
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
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import LineString
from shapely.ops import substring

WGS84 = "EPSG:4326"

#: Speed (km/h) by OSM ``highway`` class, used when a road has no ``speed_kmh``.
#: ``*_link`` classes take the speed of their class. Unknown or missing classes
#: take :data:`DEFAULT_SPEED_KMH`. These are typical free-flow speeds of the road
#: classes, not the standard's school-bus caps (:class:`SpeedCaps`, from the caller),
#: which are applied on top of them.
HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 80.0,  # not-a-rule: OSM class speed, not the expressway bus cap
    "trunk": 60.0,  # not-a-rule: OSM class speed, not the ordinary-road bus cap
    "primary": 60.0,  # not-a-rule: OSM class speed, not the ordinary-road bus cap
    "secondary": 50.0,  # not-a-rule: OSM class speed, not a class size
    "tertiary": 40.0,
    "unclassified": 30.0,  # not-a-rule: OSM class speed, not the ride limit
    "residential": 30.0,  # not-a-rule: OSM class speed, not the ride limit
    "living_street": 10.0,
    "service": 20.0,  # not-a-rule: OSM class speed, not the hazardous-road bus cap
    "track": 20.0,  # not-a-rule: OSM class speed, not the hazardous-road bus cap
    "road": 30.0,  # not-a-rule: OSM class speed, not the ride limit
}

#: Speed (km/h) of a road with neither ``speed_kmh`` nor a known ``highway`` class.
DEFAULT_SPEED_KMH = 30.0  # not-a-rule: a road speed, not the ride limit

#: OSM classes that are expressways for the school-bus speed caps.
EXPRESSWAY_CLASSES = frozenset({"motorway", "motorway_link"})

#: Walking speed (km/h) a caller may pass as ``access_speed_kmh``.
WALK_SPEED_KMH = 4.0

_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "是", "-1", "reverse"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "否", ""})
_KEY_DECIMALS = 3  # not-a-rule: vertices equal to the millimetre are the same vertex


@dataclass(frozen=True)
class SpeedCaps:
    """School-bus speed limits (km/h): ordinary roads, expressways (OSM
    ``motorway``/``motorway_link``), and sharp bends, steep or narrow roads and
    narrow bridges (the ``hazardous`` column). The numbers come from the caller
    (the standard's ``transport:`` section, 校车安全管理条例 art. 35)."""

    ordinary_kmh: float
    expressway_kmh: float
    hazardous_kmh: float


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
    finite = math.isfinite(lon) and math.isfinite(lat)
    if not finite or abs(lat) > 90 or abs(lon) > 180:  # not-a-rule: degrees of WGS84
        raise ValueError(f"not a WGS84 longitude/latitude: ({lon}, {lat})")
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)  # not-a-rule: UTM zones 1-60
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _to_wgs84(gs: gpd.GeoSeries | gpd.GeoDataFrame) -> Any:
    if gs.crs is None:  # docs/data-format.md: coordinates are WGS84 longitude/latitude
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


def _is_reverse(value: Any) -> bool:
    """OSM ``oneway=-1``: one-way against the drawing direction."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return value == -1
    return str(value).strip().lower() in {"-1", "reverse"}


def _highway_class(value: Any) -> str:
    if isinstance(value, (list, tuple)):  # osmnx may give a list of classes
        value = value[0] if value else None
    if _is_missing(value):
        return ""
    return str(value).strip().lower()


def bus_speed_kmh(
    speed_kmh: float | None, highway: str = "", hazardous: bool = False,
    caps: SpeedCaps | None = None,
) -> float:
    """Return the school-bus speed on a road.

    The road's own speed (``speed_kmh``, else :data:`HIGHWAY_SPEEDS_KMH` by class,
    else :data:`DEFAULT_SPEED_KMH`), capped by ``caps``: the expressway cap on
    OSM ``motorway``, the ordinary cap on other roads, and the hazardous cap where
    ``hazardous``. Without ``caps`` the road's own speed is returned.

    Parameters
    ----------
    speed_kmh
        Posted or design speed; ``None`` or NaN when unknown.
    highway
        OSM ``highway`` class (lower case), may be empty.
    hazardous
        Sharp bend, steep or narrow road, or narrow bridge.
    caps
        School-bus speed limits.

    Returns
    -------
    float
        Speed in km/h.

    Examples
    --------
    >>> caps = SpeedCaps(ordinary_kmh=60.0, expressway_kmh=80.0, hazardous_kmh=20.0)
    >>> bus_speed_kmh(80.0, "secondary", caps=caps)
    60.0
    >>> bus_speed_kmh(None, "motorway", caps=caps)
    80.0
    >>> bus_speed_kmh(None, "primary", hazardous=True, caps=caps)
    20.0
    """
    if speed_kmh is None or _is_missing(speed_kmh):
        base = highway.removesuffix("_link")
        speed = HIGHWAY_SPEEDS_KMH.get(base, DEFAULT_SPEED_KMH)
    else:
        speed = float(speed_kmh)
    if caps is None:
        return speed
    cap = caps.expressway_kmh if highway in EXPRESSWAY_CLASSES else caps.ordinary_kmh
    if hazardous:
        cap = min(cap, caps.hazardous_kmh)
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
        return self.u if self.t <= 0.5 else self.v  # not-a-rule: half-way along

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

    def __iter__(self) -> Iterator[SnappedPoint]:
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
            ids = (list(points.index) if isinstance(points, gpd.GeoSeries)
                   else list(range(len(geoms))))
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
    speed_caps: SpeedCaps | None = None,
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
    speed_caps
        School-bus speed limits (:func:`bus_speed_kmh`); ``None``: none.

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
            raise ValueError("`lines` is empty: no roads to build a network from")
        x0, y0, x1, y1 = lines.total_bounds
        crs = utm_crs((x0 + x1) / 2, (y0 + y1) / 2)
    crs = pyproj.CRS(crs)
    if crs.is_geographic:
        raise ValueError(f"`crs` must be projected (metres), got {crs.name}")

    # --- validate rows and read their attributes
    geoms_wgs = lines.geometry.to_numpy()
    n_rows = len(geoms_wgs)

    def column(name: str) -> np.ndarray:
        if name in lines.columns:
            return lines[name].to_numpy(dtype=object)
        return np.full(n_rows, None, dtype=object)

    speeds_in, highways_in = column("speed_kmh"), column("highway")
    hazardous_in, oneway_in, names_in = column("hazardous"), column("oneway"), column("name")
    row_speed = np.zeros(n_rows)
    row_fwd = np.ones(n_rows, dtype=bool)
    row_bwd = np.ones(n_rows, dtype=bool)
    row_name = np.empty(n_rows, dtype=object)
    row_highway = np.empty(n_rows, dtype=object)
    for pos in range(n_rows):
        row = pos + 1
        geom = geoms_wgs[pos]
        if geom is None or geom.is_empty:
            raise RoadDataError(f"roads row {row}: geometry is empty, not a line")
        if geom.geom_type not in ("LineString", "MultiLineString"):
            raise RoadDataError(f"roads row {row}: geometry is a {geom.geom_type}, not a line")
        speed = speeds_in[pos]
        if _is_missing(speed):
            speed = None
        else:
            try:
                speed = float(speed)
            except (TypeError, ValueError):
                raise RoadDataError(
                    f"roads row {row}: speed_kmh is {speed!r}, not a number") from None
            if not (speed > 0 and math.isfinite(speed)):
                raise RoadDataError(f"roads row {row}: speed_kmh is {speed:g}, must be positive")
        highway = _highway_class(highways_in[pos])
        hazardous = _as_bool(hazardous_in[pos], row, "hazardous")
        oneway = _as_bool(oneway_in[pos], row, "oneway")
        reverse = oneway and _is_reverse(oneway_in[pos])
        row_speed[pos] = bus_speed_kmh(speed, highway, hazardous, speed_caps)
        row_fwd[pos] = not reverse
        row_bwd[pos] = (not oneway) or reverse
        row_name[pos] = "" if _is_missing(names_in[pos]) else str(names_in[pos])
        row_highway[pos] = highway

    # --- all vertices of all line parts, projected, consecutive repeats removed
    geoms = lines.geometry.to_crs(crs).to_numpy()
    parts, part_row = shapely.get_parts(geoms, return_index=True)
    xy, vpart = shapely.get_coordinates(parts, return_index=True)
    keep = np.ones(len(xy), dtype=bool)
    if len(xy):
        keep[1:] = (vpart[1:] != vpart[:-1]) | np.any(
            np.abs(np.diff(xy, axis=0)) > 10.0**-_KEY_DECIMALS, axis=1
        )
    xy, vpart = xy[keep], vpart[keep]
    xy, vpart, part_row = _drop_short_parts(xy, vpart, part_row)

    if snap_tol_m > 0 and len(xy):
        xy, vpart = _snap_endpoints(xy, vpart, snap_tol_m)
        xy, vpart, part_row = _drop_short_parts(*_dedupe(xy, vpart), part_row)

    # --- nodes: part endpoints and vertices used more than once
    keys = np.round(xy, _KEY_DECIMALS)
    uniq, key_of_vertex, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    key_of_vertex = key_of_vertex.ravel()
    first = np.r_[True, vpart[1:] != vpart[:-1]] if len(vpart) else np.zeros(0, bool)
    last = np.r_[vpart[1:] != vpart[:-1], True] if len(vpart) else np.zeros(0, bool)
    is_node_key = np.zeros(len(uniq), dtype=bool)
    is_node_key[counts > 1] = True
    is_node_key[key_of_vertex[first | last]] = True
    node_of_key = np.full(len(uniq), -1, dtype=np.int64)
    node_of_key[is_node_key] = np.arange(int(is_node_key.sum()))
    # a node sits at the first vertex that has its key
    first_vertex = np.full(len(uniq), len(xy), dtype=np.int64)
    np.minimum.at(first_vertex, key_of_vertex, np.arange(len(xy)))
    nodes = xy[first_vertex[is_node_key]] if len(xy) else np.zeros((0, 2))

    # --- pieces: runs of vertices between consecutive node vertices of a part
    cuts = np.flatnonzero(is_node_key[key_of_vertex])
    a, b = cuts[:-1], cuts[1:]
    same = vpart[a] == vpart[b]
    a, b = a[same], b[same]
    sizes = b - a + 1
    offsets = np.repeat(a - np.r_[0, np.cumsum(sizes)[:-1]], sizes)
    vidx = np.arange(int(sizes.sum())) + offsets
    piece_geom = shapely.linestrings(xy[vidx], indices=np.repeat(np.arange(len(a)), sizes))
    piece_geom = np.asarray(piece_geom, dtype=object).reshape(-1)
    length = shapely.length(piece_geom) if len(a) else np.zeros(0)
    ok = length > 0
    a, b, piece_geom, length = a[ok], b[ok], piece_geom[ok], length[ok]
    prow = part_row[vpart[a]]
    speed = row_speed[prow]
    pieces = gpd.GeoDataFrame(
        {
            "u": node_of_key[key_of_vertex[a]],
            "v": node_of_key[key_of_vertex[b]],
            "length_m": length,
            "speed_kmh": speed,
            "time_s": length / (speed / 3.6),
            "forward": row_fwd[prow],
            "backward": row_bwd[prow],
            "name": row_name[prow],
            "highway": row_highway[prow],
            "row": prow + 1,
        },
        geometry=piece_geom,
        crs=crs,
    )

    graph = nx.DiGraph(crs=crs)
    graph.add_nodes_from((i, {"x": x, "y": y}) for i, (x, y) in enumerate(nodes.tolist()))
    arcs = _build_arcs(pieces, len(nodes), "time_s")
    reversed_geom = shapely.reverse(piece_geom) if len(piece_geom) else piece_geom
    time_s = pieces["time_s"].to_numpy()
    graph.add_edges_from(
        (
            u,
            v,
            {
                "length_m": float(length[p]),
                "speed_kmh": float(speed[p]),
                "time_s": float(time_s[p]),
                "geometry": piece_geom[p] if f else reversed_geom[p],
                "name": row_name[prow[p]],
                "highway": row_highway[prow[p]],
                "piece": p,
                "row": int(prow[p]) + 1,
            },
        )
        for u, v, p, f in zip(
            arcs.tail.tolist(), arcs.head.tolist(), arcs.piece.tolist(), arcs.forward.tolist(),
            strict=True
        )
    )
    network = RoadNetwork(graph=graph, crs=crs, pieces=pieces, node_xy=nodes)
    network._cache["arcs_time_s"] = arcs
    return network


def _dedupe(xy: np.ndarray, vpart: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices equal (to the millimetre) to the one before in the same part."""
    keep = np.ones(len(xy), dtype=bool)
    if len(xy):
        keep[1:] = (vpart[1:] != vpart[:-1]) | np.any(
            np.abs(np.diff(xy, axis=0)) > 10.0**-_KEY_DECIMALS, axis=1
        )
    return xy[keep], vpart[keep]


def _drop_short_parts(
    xy: np.ndarray, vpart: np.ndarray, part_row: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop parts with fewer than two vertices and renumber parts 0..k-1."""
    n_parts = len(part_row)
    count = np.bincount(vpart, minlength=n_parts)
    good = count >= 2
    new_id = np.cumsum(good) - 1
    keep = good[vpart]
    return xy[keep], new_id[vpart[keep]], part_row[good]


def _snap_endpoints(xy: np.ndarray, vpart: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Join endpoints to nearby vertices, then dangling endpoints to segments.

    ``xy`` holds all vertices, ``vpart`` the part of each (parts are contiguous
    and numbered from 0). Returns new arrays (vertices may be inserted).
    """
    xy = xy.copy()
    n = len(xy)
    first = np.r_[True, vpart[1:] != vpart[:-1]]
    last = np.r_[vpart[1:] != vpart[:-1], True]
    is_end = first | last

    # 1. endpoint -> vertex clusters; representative: an interior vertex if the
    #    cluster has one (so through roads stay put), else the lowest endpoint.
    pairs = cKDTree(xy).query_pairs(tol, output_type="ndarray")
    if len(pairs):
        pairs = pairs[(is_end[pairs[:, 0]] | is_end[pairs[:, 1]])
                      & (vpart[pairs[:, 0]] != vpart[pairs[:, 1]])]
    snapped = np.zeros(n, dtype=bool)
    if len(pairs):
        adj = csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        order = np.lexsort((np.arange(n), is_end, label))  # by label, interior first, index
        rep_of_label = np.full(label.max() + 1, -1, dtype=np.int64)
        rep_of_label[label[order[::-1]]] = order[::-1]  # last write wins: the first in order
        size = np.bincount(label)
        snapped = size[label] > 1
        xy[snapped] = xy[rep_of_label[label[snapped]]]

    # 2. dangling endpoint -> nearest segment of another line
    n_parts = int(vpart.max()) + 1
    lines = np.asarray(shapely.linestrings(xy, indices=vpart), dtype=object).reshape(-1)
    ends = np.flatnonzero(is_end & ~snapped)
    if len(ends) == 0 or n_parts < 2:
        return xy, vpart
    tree = shapely.STRtree(lines)
    end_pts = shapely.points(xy[ends])
    qi, qj = tree.query(end_pts, predicate="dwithin", distance=tol)
    other = vpart[ends[qi]] != qj
    qi, qj = qi[other], qj[other]
    if len(qi) == 0:
        return xy, vpart
    dist = shapely.distance(end_pts[qi], lines[qj])
    order = np.lexsort((qj, dist, qi))  # per endpoint: nearest, then lowest part
    qi, qj = qi[order], qj[order]
    best = np.r_[True, qi[1:] != qi[:-1]]
    qi, qj = qi[best], qj[best]
    offset = shapely.line_locate_point(lines[qj], end_pts[qi])
    on = shapely.get_coordinates(shapely.line_interpolate_point(lines[qj], offset))
    xy[ends[qi]] = on
    # insert the new vertices into the target parts, in order along each part
    cum = np.zeros(n)
    seg = np.hypot(*np.diff(xy, axis=0).T) if n > 1 else np.zeros(0)
    seg = np.where(vpart[1:] == vpart[:-1], seg, 0.0)
    cum[1:] = np.cumsum(seg)
    part_start = np.flatnonzero(first)
    along = cum - cum[part_start[vpart]]
    # an inserted vertex goes between the last vertex of its part whose distance
    # along is <= its offset and the next one (rank i + 0.5); ties by offset
    pos = np.empty(len(qj), dtype=np.float64)
    for k, (j, off) in enumerate(zip(qj.tolist(), offset.tolist(), strict=True)):
        lo, hi = part_start[j], (part_start[j + 1] if j + 1 < len(part_start) else n)
        i = lo + int(np.searchsorted(along[lo:hi], off, side="right")) - 1
        pos[k] = min(max(i, lo), hi - 2) + 0.5  # not-a-rule: between two ranks
    all_xy = np.concatenate([xy, on])
    all_along = np.concatenate([along, offset])
    all_rank = np.concatenate([np.arange(n, dtype=np.float64), pos])
    order = np.lexsort((all_along, all_rank))
    return _dedupe(all_xy[order], np.concatenate([vpart, qj])[order])


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
    if weight == "time_s":
        time_s, length_m = wt, ot
    else:
        time_s, length_m = ot, wt
    return _Arcs(
        tail=tail, head=head, time_s=time_s, length_m=length_m, piece=piece,
        forward=forward, matrix=matrix, keys=tail * n + head, other=ot,
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def travel_matrices(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str = "time_s",
    access_speed_kmh: float | None = None,
    block: int = 256,
    limit: float | None = None,
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
    limit
        Stop searching beyond this cost (in ``weight`` units, e.g. the longest
        allowed ride in seconds); pairs further apart are ``inf``. Saves time
        on large networks.

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
    cost, other = _matrices(network, origins, destinations, weight, access_speed_kmh, block,
                            True, limit)
    assert other is not None  # with_other=True
    return (cost, other) if weight == "time_s" else (other, cost)


def travel_matrix(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str = "time_s",
    access_speed_kmh: float | None = None,
    block: int = 256,
    limit: float | None = None,
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
    limit
        See :func:`travel_matrices`.

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
    cost, _ = _matrices(network, origins, destinations, weight, access_speed_kmh, block,
                        False, limit)
    return cost


def _accumulate_other(keys: np.ndarray, other: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    """Sum the other measure along shortest-path trees by pointer jumping.

    ``pred`` is ``(sources, n)`` from ``dijkstra(..., return_predecessors=True)``;
    the tree arc into x is (pred[x], x), found in ``other`` through ``keys``
    (tail * n + head, sorted).
    """
    rows, cols = np.nonzero(pred >= 0)
    p = pred[rows, cols].astype(np.int64)
    acc = np.zeros(pred.shape, dtype=float)
    acc[rows, cols] = other[np.searchsorted(keys, p * n + cols)]
    ptr = np.where(pred >= 0, pred, np.arange(n)[None, :]).astype(np.int64)
    while True:  # after k rounds acc[x] sums the 2**k arcs above x
        nxt = np.take_along_axis(ptr, ptr, axis=1)
        if np.array_equal(nxt, ptr):
            break
        acc += np.take_along_axis(acc, ptr, axis=1)
        ptr = nxt
    return acc


def _dedup_min(
    tail: np.ndarray, head: np.ndarray, weight: np.ndarray, other: np.ndarray, n: int
) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """CSR of the cheapest arc per (tail, head), its sorted keys and other measure."""
    order = np.lexsort((other, weight, head, tail))
    tail, head, weight, other = tail[order], head[order], weight[order], other[order]
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    tail, head, weight, other = tail[first], head[first], weight[first], other[first]
    # explicit zeros are arcs for csgraph, but keep them strictly positive anyway
    matrix = csr_matrix((np.maximum(weight, 1e-12), (tail, head)), shape=(n, n))
    matrix.sort_indices()
    return matrix, tail * n + head, other


def _matrices(
    network: RoadNetwork,
    origins: SnapResult | Sequence[SnappedPoint],
    destinations: SnapResult | Sequence[SnappedPoint],
    weight: str,
    access_speed_kmh: float | None,
    block: int,
    with_other: bool,
    limit: float | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Shortest paths between snapped points on a graph with the points added.

    Each distinct origin becomes a virtual node with arcs to the end nodes of
    its piece, each distinct destination a virtual node with arcs from them, so
    one Dijkstra per distinct origin (or, on the reversed graph, per distinct
    destination when those are fewer) gives the whole matrix. Pairs on the same
    piece may also travel directly along it.
    """
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

    def distinct(pts: list[SnappedPoint]) -> tuple[list[SnappedPoint], np.ndarray]:
        index: dict[tuple[int, float, float], int] = {}
        inverse = np.array([index.setdefault((p.piece, p.t, p.snap_m), len(index)) for p in pts])
        reps: dict[int, SnappedPoint] = {}
        for p, k in zip(pts, inverse.tolist(), strict=True):
            reps.setdefault(k, p)
        return [reps[k] for k in range(len(reps))], inverse

    o_uniq, o_inv = distinct(o_pts)
    d_uniq, d_inv = distinct(d_pts)
    o_nodes, o_cost, o_other = _access(network, o_uniq, True, weight, access_speed_kmh)
    d_nodes, d_cost, d_other = _access(network, d_uniq, False, weight, access_speed_kmh)
    n_ou, n_du = len(o_uniq), len(d_uniq)
    o_virtual = n + np.arange(n_ou)
    d_virtual = n + n_ou + np.arange(n_du)
    total = n + n_ou + n_du
    base_w = arcs.time_s if weight == "time_s" else arcs.length_m
    base_o = arcs.length_m if weight == "time_s" else arcs.time_s
    o_ok, d_ok = np.isfinite(o_cost), np.isfinite(d_cost)
    tail = np.concatenate([arcs.tail, np.repeat(o_virtual[:, None], 2, axis=1)[o_ok],
                           d_nodes[d_ok]])
    head = np.concatenate([arcs.head, o_nodes[o_ok],
                           np.repeat(d_virtual[:, None], 2, axis=1)[d_ok]])
    w = np.concatenate([base_w, o_cost[o_ok], d_cost[d_ok]])
    ow = np.concatenate([base_o, o_other[o_ok], d_other[d_ok]])
    backward = n_du < n_ou
    search_limit = np.inf if limit is None else float(limit)
    if backward:
        graph, keys, other_sorted = _dedup_min(head, tail, w, ow, total)
        sources, targets = d_virtual, o_virtual
    else:
        graph, keys, other_sorted = _dedup_min(tail, head, w, ow, total)
        sources, targets = o_virtual, d_virtual
    # virtual-to-virtual table (distinct origins x distinct destinations)
    vcost = np.full((n_ou, n_du), np.inf)
    vother = np.full((n_ou, n_du), np.inf) if with_other else None
    for s0 in range(0, len(sources), block):
        chunk = sources[s0 : s0 + block]
        if with_other:
            dist, pred = dijkstra(
                graph, directed=True, indices=chunk, return_predecessors=True, limit=search_limit
            )
            # on the reversed graph the keys are of reversed arcs too, so the
            # tree arc into x is (pred[x], x) either way
            acc = _accumulate_other(keys, other_sorted, pred, total)
            acc = acc[:, targets]
            acc[~np.isfinite(dist[:, targets])] = np.inf
        else:
            dist = dijkstra(graph, directed=True, indices=chunk, limit=search_limit)
            acc = None
        sub = dist[:, targets]
        rows = slice(s0, s0 + len(chunk))
        if backward:
            vcost[:, rows] = sub.T
            if vother is not None and acc is not None:
                vother[:, rows] = acc.T
        else:
            vcost[rows, :] = sub
            if vother is not None and acc is not None:
                vother[rows, :] = acc
    cost = vcost[np.ix_(o_inv, d_inv)]
    if vother is not None:
        other = vother[np.ix_(o_inv, d_inv)]
    sc, so = _same_piece(network, o_pts, d_pts, weight, access_speed_kmh)
    if limit is not None:
        sc[sc > limit] = np.inf
    better = sc < cost
    cost = np.where(better, sc, cost)
    if other is not None:
        other = np.where(better, so, other)
    return cost, other


def road_points(network: RoadNetwork, points: Sequence[tuple[float, float]]
                ) -> list[tuple[float, float, float]]:
    """The nearest road point of each ``(lon, lat)`` (WGS84) and how far it is:
    ``(lon, lat, metres)`` per point, in input order (where a bus can stop for a
    village that lies off the road; :meth:`RoadNetwork.snap` places it)."""
    if not points:
        return []
    snapped = network.snap(list(points))
    tr = Transformer.from_crs(network.crs, WGS84, always_xy=True)
    xs = np.array([p.x for p in snapped.points])
    ys = np.array([p.y for p in snapped.points])
    lon, lat = tr.transform(xs, ys)
    return [(float(a), float(b), float(p.snap_m))
            for a, b, p in zip(lon, lat, snapped.points, strict=True)]


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
    for a, b in itertools.pairwise(pts):
        coords.extend(_leg_coords(network, a, b))
    if len(coords) == 1:
        coords.append(coords[0])
    tr = Transformer.from_crs(network.crs, WGS84, always_xy=True)
    xy = np.asarray(coords)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    return LineString(np.column_stack([lon, lat]))


def _piece_part(network: RoadNetwork, piece: int, t0: float, t1: float
                ) -> list[tuple[float, float]]:
    """Coordinates of a piece from fraction t0 to t1 (either direction)."""
    line = network.pieces.geometry.iat[piece]
    lo, hi = sorted((t0, t1))
    part = substring(line, lo, hi, normalized=True)
    xy = list(map(tuple, shapely.get_coordinates(part)))
    return xy if t0 <= t1 else xy[::-1]


def _leg_coords(network: RoadNetwork, a: SnappedPoint, b: SnappedPoint
                ) -> list[tuple[float, float]]:
    arcs = network._arcs("time_s")
    n = len(network.node_xy)
    o_nodes, o_cost, _ = _access(network, [a], True, "time_s", None)
    d_nodes, d_cost, _ = _access(network, [b], False, "time_s", None)
    same, _ = _same_piece(network, [a], [b], "time_s", None)
    dist, pred = dijkstra(arcs.matrix, directed=True, indices=np.unique(o_nodes[0]),
                          return_predecessors=True)
    srcs = np.unique(o_nodes[0]).tolist()
    best: tuple[float, int | None, int | None, int | None] = (same[0, 0], None, None, None)
    for ka in range(2):
        for kb in range(2):
            s = srcs.index(int(o_nodes[0, ka]))
            c = o_cost[0, ka] + dist[s, d_nodes[0, kb]] + d_cost[0, kb]
            if c < best[0]:
                best = (c, ka, kb, s)
    if not np.isfinite(best[0]):
        raise ValueError(f"stop {b.id!r} cannot be reached by road from stop {a.id!r}")
    _, ka_best, kb_best, s_best = best
    if ka_best is None or kb_best is None or s_best is None:
        return _piece_part(network, a.piece, a.t, b.t)[1:] or [(b.x, b.y)]
    ka, kb, s = ka_best, kb_best, s_best
    start, end = int(o_nodes[0, ka]), int(d_nodes[0, kb])
    path = [end]
    while path[-1] != start:
        path.append(int(pred[s, path[-1]]))
    path.reverse()
    out = _piece_part(network, a.piece, a.t, 0.0 if ka == 0 else 1.0)
    geoms = network.pieces.geometry.to_numpy()
    for u, v in itertools.pairwise(path):
        k = int(np.searchsorted(arcs.keys, u * n + v))
        xy = list(map(tuple, shapely.get_coordinates(geoms[arcs.piece[k]])))
        out.extend(xy if arcs.forward[k] else xy[::-1])
    out.extend(_piece_part(network, b.piece, 0.0 if kb == 0 else 1.0, b.t))
    dedup = [out[0]]
    for c in out[1:]:
        if c != dedup[-1]:
            dedup.append(c)
    return dedup[1:]
