"""Tests for geodata.roads: graph building, speeds, snapping, matrices, routes.

Networks are drawn in local metres around Yunxi (UTM zone 49N) and converted to
WGS84, so expected lengths and times are exact round numbers.
"""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import LineString, MultiLineString, Point, Polygon

from geodata.roads import (
    WALK_SPEED_KMH,
    RoadNetwork,
    SpeedCaps,
    build_road_graph,
    bus_speed_kmh,
    route_geometry,
    travel_matrices,
    travel_matrix,
    utm_crs,
)

CRS = utm_crs(113.3, 29.5)
_TO_WGS = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
_TO_UTM = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
X0, Y0 = _TO_UTM.transform(113.3, 29.5)


CAPS = SpeedCaps(ordinary_kmh=60, expressway_kmh=80, hazardous_kmh=20)


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS84 of a point given in metres east/north of the origin."""
    return _TO_WGS.transform(X0 + x, Y0 + y)


def line(*xy: tuple[float, float]) -> LineString:
    return LineString([lonlat(x, y) for x, y in xy])


def roads(geoms: list, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs="EPSG:4326")


def build(geoms: list, **columns) -> RoadNetwork:
    return build_road_graph(roads(geoms, **columns), crs=CRS, speed_caps=CAPS)


@pytest.fixture(scope="module")
def cross() -> RoadNetwork:
    """A 6 km east-west road at 60 km/h and a 6 km north-south road at 30 km/h
    sharing the vertex (3000, 0): 5 nodes, 4 pieces of 3 km."""
    return build(
        [line((0, 0), (3000, 0), (6000, 0)), line((3000, -3000), (3000, 0), (3000, 3000))],
        speed_kmh=[60, 30],
        name=["east-west", "north-south"],
    )


# ------------------------------------------------------------------- CRS, speeds


def test_utm_crs_zones():
    """Yunxi (113.3E, 29.5N) is UTM 49N; the southern hemisphere uses 327xx."""
    assert utm_crs(113.3, 29.5).to_epsg() == 32649
    assert utm_crs(-0.5, -10).to_epsg() == 32730
    assert utm_crs(180.0, 0).to_epsg() == 32660
    with pytest.raises(ValueError):
        utm_crs(200, 0)


def test_bus_speed_caps():
    """Bus limits: 60 ordinary, 80 expressway, 20 hazardous; table otherwise."""
    caps = SpeedCaps(ordinary_kmh=60, expressway_kmh=80, hazardous_kmh=20)
    assert bus_speed_kmh(80, "secondary", caps=caps) == 60
    assert bus_speed_kmh(120, "motorway", caps=caps) == 80
    assert bus_speed_kmh(None, "motorway_link", caps=caps) == 80
    assert bus_speed_kmh(None, "tertiary", caps=caps) == 40
    assert bus_speed_kmh(None, "primary", hazardous=True, caps=caps) == 20
    assert bus_speed_kmh(15, "primary", hazardous=True, caps=caps) == 15
    assert bus_speed_kmh(float("nan"), "nonsense", caps=caps) == 30
    assert bus_speed_kmh(120, "motorway") == 120   # no caps: the road's own speed


# ------------------------------------------------------------------ building


def test_split_at_shared_vertex(cross):
    """The shared vertex becomes a node; each road splits into two 3 km pieces."""
    g = cross.graph
    assert isinstance(g, nx.DiGraph)
    assert g.number_of_nodes() == 5
    assert len(cross.pieces) == 4
    assert g.number_of_edges() == 8  # two-way
    centre = [n for n in g if g.degree(n) == 8]  # in 4 + out 4
    assert len(centre) == 1
    lengths = sorted(round(d["length_m"], 3) for _, _, d in g.edges(data=True))
    assert lengths == [3000.0] * 8
    # 3 km at 60 km/h = 180 s; 3 km at 30 km/h = 360 s
    times = sorted(round(d["time_s"], 6) for _, _, d in g.edges(data=True))
    assert times == [180.0] * 4 + [360.0] * 4
    names = {d["name"] for _, _, d in g.edges(data=True)}
    assert names == {"east-west", "north-south"}
    edge = next(iter(g.edges(data=True)))[2]
    assert edge["geometry"].length == pytest.approx(3000.0)
    assert cross.crs.to_epsg() == 32649


def test_default_crs_is_utm_of_centre():
    net = build_road_graph(roads([line((0, 0), (1000, 0))]))
    assert net.crs.to_epsg() == 32649
    assert net.pieces["length_m"].iat[0] == pytest.approx(1000.0, abs=0.01)


def test_crossing_without_shared_vertex_is_a_bridge():
    """Lines that cross between vertices are not joined (overpass)."""
    net = build([line((0, 0), (6000, 0)), line((3000, -3000), (3000, 3000))])
    assert len(net.components()) == 2
    assert net.graph.number_of_nodes() == 4


def test_endpoints_snap_within_tolerance():
    """An end 3.6 m from another end is joined at 5 m tolerance, not at 1 m."""
    geoms = [line((0, 0), (3000, 0)), line((3003, 2), (6000, 0))]
    assert len(build_road_graph(roads(geoms), crs=CRS, snap_tol_m=5.0).components()) == 1
    assert len(build_road_graph(roads(geoms), crs=CRS, snap_tol_m=1.0).components()) == 2


def test_endpoint_snaps_onto_segment():
    """A side road ending 3 m short of the main road (T junction) is joined, and
    the main road is split there."""
    net = build(
        [line((0, 0), (6000, 0)), line((2000, 3), (2000, 3000))],
        speed_kmh=[60, 30],
    )
    assert len(net.components()) == 1
    assert len(net.pieces) == 3
    s = net.snap([lonlat(0, 0), lonlat(2000, 3000)])
    # the side road's end moves onto the main road, so it is 3 km long:
    # 2 km at 60 km/h = 120 s, then 3 km at 30 km/h = 360 s
    t = travel_matrix(net, s, s)
    assert t[0, 1] == pytest.approx(480, abs=1e-6)


def test_endpoint_prefers_through_vertex():
    """An end 2 m from an interior vertex of a through road joins it there;
    the through road keeps its geometry."""
    net = build([line((0, 0), (1000, 0), (2000, 0)), line((1001, 2), (1000, 900))])
    assert len(net.components()) == 1
    xy = net.node_xy - np.array([X0, Y0])
    assert any(np.allclose(p, (1000, 0), atol=1e-6) for p in xy)


def test_speed_from_highway_table_and_caps():
    """Five separate 6 km roads: secondary posted 80 is capped to 60 (360 s),
    motorway takes 80 (270 s), tertiary 40 by the table (540 s), a hazardous
    primary 20 (1080 s), unknown class 30 (720 s)."""
    geoms = [line((0, 1000 * k), (6000, 1000 * k)) for k in range(5)]
    net = build(
        geoms,
        speed_kmh=[80, None, None, None, None],
        highway=["secondary", "motorway", "tertiary", "primary", None],
        hazardous=[False, False, "否", "是", 0],
    )
    times = net.pieces.sort_values("row")["time_s"].round(6).tolist()
    assert times == [360.0, 270.0, 540.0, 1080.0, 720.0]


def test_oneway():
    """A one-way road: along it 6 km at 60 km/h = 360 s, against it inf; "-1"
    means against the drawing direction."""
    for flag, forward in [("yes", True), (True, True), ("-1", False), (-1.0, False), ("no", None),
                          ("否", None)]:
        net = build([line((0, 0), (6000, 0))], oneway=[flag], speed_kmh=[60])
        s = net.snap([lonlat(0, 0), lonlat(6000, 0)])
        t = travel_matrix(net, s, s)
        there, back = t[0, 1], t[1, 0]
        if forward is None:
            assert there == pytest.approx(360) and back == pytest.approx(360)
        elif forward:
            assert there == pytest.approx(360) and back == np.inf
        else:
            assert there == np.inf and back == pytest.approx(360)


def test_parallel_pieces_keep_fastest_for_time_and_shortest_for_length():
    """Two roads between the same ends: direct 6 km at 20 km/h (1080 s) and a
    detour of 8 km at 60 km/h (480 s). Time takes the detour, distance the
    direct road."""
    net = build(
        [line((0, 0), (6000, 0)), line((0, 0), (0, 1000), (6000, 1000), (6000, 0))],
        speed_kmh=[20, 60],
    )
    assert net.graph.number_of_edges() == 2  # one arc per direction
    s = net.snap([lonlat(0, -50), lonlat(6000, -50)])
    t, d = travel_matrices(net, s, s)
    assert t[0, 1] == pytest.approx(480)
    assert d[0, 1] == pytest.approx(8000)  # length of the time-shortest path
    t2, d2 = travel_matrices(net, s, s, weight="length_m")
    assert d2[0, 1] == pytest.approx(6000)
    assert t2[0, 1] == pytest.approx(1080)
    assert travel_matrix(net, s, s, weight="length_m")[0, 1] == pytest.approx(6000)


def test_multilinestring_rows_are_split_into_parts():
    geom = MultiLineString([[lonlat(0, 0), lonlat(1000, 0)], [lonlat(1000, 0), lonlat(1000, 1000)]])
    net = build([geom])
    assert len(net.pieces) == 2
    assert set(net.pieces["row"]) == {1}


@pytest.mark.parametrize(
    ("geom", "kind"),
    [(Point(113.3, 29.5), "Point"),
     (Polygon([(113.3, 29.5), (113.31, 29.5), (113.3, 29.51)]), "Polygon")],
)
def test_bad_geometry_names_the_row(geom, kind):
    """Rows count from 1: the second row is row 2."""
    with pytest.raises(ValueError, match=f"^roads row 2: geometry is a {kind}, not a line$"):
        build([line((0, 0), (10, 0)), geom, line((0, 0), (0, 10))])


def test_bad_attributes_name_the_row():
    with pytest.raises(ValueError, match="roads row 1: speed_kmh is -5"):
        build([line((0, 0), (10, 0))], speed_kmh=[-5])
    with pytest.raises(ValueError, match="roads row 1: oneway is 'maybe'"):
        build([line((0, 0), (10, 0))], oneway=["maybe"])


def test_build_is_deterministic():
    geoms = [line((0, 0), (3000, 0), (6000, 0)), line((3000, -3000), (3000, 0), (3000, 3000))]
    a, b = build(geoms), build(geoms)
    assert np.array_equal(a.node_xy, b.node_xy)
    assert a.pieces.drop(columns="geometry").equals(b.pieces.drop(columns="geometry"))
    assert sorted(a.graph.edges) == sorted(b.graph.edges)


# ------------------------------------------------------------------- snapping


def test_snap_on_edge_with_offset_and_distance(cross):
    """A point 40 m north of the east-west road at x=1500 sits mid-piece."""
    s = cross.snap([lonlat(1500, 40)], ids=["village"])
    p = s[0]
    assert p.id == "village"
    assert p.snap_m == pytest.approx(40, abs=1e-6)
    assert p.x - X0 == pytest.approx(1500, abs=1e-6)
    piece = cross.pieces.iloc[p.piece]
    assert p.t * piece["length_m"] == pytest.approx(abs(cross.node_xy[p.u][0] - (X0 + 1500)),
                                                    abs=1e-6)
    assert p.on_main and p.component == 0
    frame = s.to_frame()
    assert list(frame.columns) == ["id", "piece", "u", "v", "t", "node", "snap_m", "component",
                                   "x", "y"]


def test_snap_accepts_geoseries(cross):
    gs = gpd.GeoSeries([Point(lonlat(1500, 40))], index=["v1"], crs="EPSG:4326")
    assert cross.snap(gs).ids == ["v1"]
    gs_utm = gs.to_crs(CRS)
    assert cross.snap(gs_utm)[0].snap_m == pytest.approx(40, abs=1e-6)


def test_disconnected_pieces_are_reported_with_their_points():
    """An island road far away: the point near it snaps there, is listed in
    off_main, and is unreachable (inf); restrict_to_main moves it to the main
    network."""
    net = build(
        [
            line((0, 0), (3000, 0), (6000, 0)),
            line((3000, 0), (3000, 3000)),
            line((20000, 0), (21000, 0)),
        ]
    )
    comps = net.components()
    assert [len(c) for c in comps] == [4, 2]
    s = net.snap([lonlat(100, 10), lonlat(20500, 10)], ids=["a", "island"])
    assert [p.id for p in s.off_main] == ["island"]
    assert s[1].component == 1
    t = travel_matrix(net, s, s)
    assert t[0, 1] == np.inf and t[1, 0] == np.inf
    assert t[1, 1] == 0
    main = net.snap([lonlat(20500, 10)], restrict_to_main=True)
    assert main[0].component == 0
    assert main[0].snap_m == pytest.approx(math.hypot(14500, 10), abs=1e-3)


# ------------------------------------------------------------------- matrices


def test_matrix_hand_computed(cross):
    """West end -> north end: 3 km at 60 (180 s) + 3 km at 30 (360 s) = 540 s.
    West end -> mid of west piece: 1.5 km at 60 = 90 s."""
    s = cross.snap([lonlat(0, 0), lonlat(3000, 3000), lonlat(1500, 0)])
    t, d = travel_matrices(cross, s, s)
    assert t[0, 1] == pytest.approx(540)
    assert d[0, 1] == pytest.approx(6000)
    assert t[0, 2] == pytest.approx(90)
    assert t[2, 1] == pytest.approx(90 + 360)
    assert np.allclose(np.diag(t), 0)


def test_same_piece_direct_and_oneway():
    """Two points on one 6 km one-way piece at 1 km and 4 km: along it
    3 km at 60 = 180 s; against it there is no way back (inf)."""
    net = build([line((0, 0), (6000, 0))], oneway=[True], speed_kmh=[60])
    s = net.snap([lonlat(1000, 5), lonlat(4000, 5)])
    t = travel_matrix(net, s, s)
    assert t[0, 1] == pytest.approx(180)
    assert t[1, 0] == np.inf


def test_access_leg_counted_when_asked(cross):
    """Each point 100 m off the road: 100 m at 4 km/h = 90 s per end."""
    s = cross.snap([lonlat(0, 100), lonlat(6000, 100)])
    plain = travel_matrix(cross, s, s)[0, 1]
    walked = travel_matrix(cross, s, s, access_speed_kmh=WALK_SPEED_KMH)[0, 1]
    assert plain == pytest.approx(360)
    assert walked == pytest.approx(360 + 2 * 90)


def test_bad_weight(cross):
    s = cross.snap([lonlat(0, 0)])
    with pytest.raises(ValueError, match="weight"):
        travel_matrix(cross, s, s, weight="minutes")


def _random_network(seed: int, n: int = 9) -> tuple[RoadNetwork, np.random.Generator]:
    """A perturbed n x n lattice with random speeds, gaps and one-way streets."""
    rng = np.random.default_rng(seed)
    pts = {(i, j): (i * 500 + rng.uniform(-150, 150), j * 500 + rng.uniform(-150, 150))
           for i in range(n) for j in range(n)}
    geoms, speed, oneway = [], [], []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if (i + di, j + dj) in pts and rng.random() > 0.15:
                    mid = ((pts[i, j][0] + pts[i + di, j + dj][0]) / 2 + rng.uniform(-60, 60),
                           (pts[i, j][1] + pts[i + di, j + dj][1]) / 2 + rng.uniform(-60, 60))
                    geoms.append(line(pts[i, j], mid, pts[i + di, j + dj]))
                    speed.append(float(rng.choice([20, 30, 40, 60])))
                    oneway.append(bool(rng.random() < 0.2))
    return build(geoms, speed_kmh=speed, oneway=oneway), rng


def _reference(net: RoadNetwork, pts: list, weight: str) -> tuple[nx.DiGraph, list]:
    """Independent check: a networkx graph with every snapped point inserted as
    a node that splits its piece, with costs split in proportion."""
    g = nx.DiGraph()
    by_piece: dict[int, list] = {}
    for k, p in enumerate(pts):
        by_piece.setdefault(p.piece, []).append((p.t, ("pt", k)))
    for idx, rec in enumerate(net.pieces.itertuples()):
        chain = ([(0.0, rec.u)] + sorted(by_piece.get(idx, []), key=lambda c: (c[0], c[1][1]))
                 + [(1.0, rec.v)])
        for (ta, a), (tb, b) in itertools.pairwise(chain):
            share = tb - ta
            attrs = {"time_s": share * rec.time_s, "length_m": share * rec.length_m}
            for tail, head, ok in ((a, b, rec.forward), (b, a, rec.backward)):
                if ok and tail != head:
                    old = g.get_edge_data(tail, head)
                    if old is None or attrs[weight] < old[weight]:
                        g.add_edge(tail, head, **attrs)
    return g, [("pt", k) for k in range(len(pts))]


@pytest.mark.parametrize(("seed", "n_o", "n_d"), [(1, 12, 5), (2, 4, 15), (3, 10, 10)])
def test_matrices_match_networkx_on_random_graphs(seed, n_o, n_d):
    """Both search directions (more origins or more destinations), small Dijkstra
    batches, time and distance weights, against networkx on split graphs."""
    net, rng = _random_network(seed)
    xy = rng.uniform(-200, 4200, size=(n_o + n_d, 2))
    snapped = net.snap([lonlat(x, y) for x, y in xy])
    o, d = list(snapped)[:n_o], list(snapped)[n_o:]
    t, dist_on_t = travel_matrices(net, o, d, block=3)
    dist = travel_matrix(net, o, d, weight="length_m", block=3)
    g_t, nodes = _reference(net, o + d, "time_s")
    g_l, _ = _reference(net, o + d, "length_m")
    for i in range(n_o):
        ref_t = nx.single_source_dijkstra_path_length(g_t, nodes[i], weight="time_s")
        ref_l = nx.single_source_dijkstra_path_length(g_l, nodes[i], weight="length_m")
        paths = nx.single_source_dijkstra_path(g_t, nodes[i], weight="time_s")
        for j in range(n_d):
            target = nodes[n_o + j]
            assert t[i, j] == pytest.approx(ref_t.get(target, np.inf), rel=1e-9, abs=1e-6)
            assert dist[i, j] == pytest.approx(ref_l.get(target, np.inf), rel=1e-9, abs=1e-6)
            if target in paths:
                path = paths[target]
                length = sum(g_t[a][b]["length_m"] for a, b in itertools.pairwise(path))
                assert dist_on_t[i, j] == pytest.approx(length, rel=1e-9, abs=1e-6)
            else:
                assert dist_on_t[i, j] == np.inf


# --------------------------------------------------------------------- routes


def test_route_geometry_follows_roads(cross):
    """West end -> north end -> east end: starts and ends at the snapped stops,
    is as long as the road path (6 km + 6 km), and is in WGS84."""
    s = cross.snap([lonlat(0, 20), lonlat(3000, 3000), lonlat(6000, -20)])
    route = route_geometry(cross, s)
    start = _TO_UTM.transform(*route.coords[0])
    end = _TO_UTM.transform(*route.coords[-1])
    assert math.dist(start, (s[0].x, s[0].y)) < 0.01
    assert math.dist(end, (s[2].x, s[2].y)) < 0.01
    projected = gpd.GeoSeries([route], crs="EPSG:4326").to_crs(CRS).iloc[0]
    _, d = travel_matrices(cross, s, s)
    assert projected.length == pytest.approx(d[0, 1] + d[1, 2], abs=0.01)
    assert projected.length == pytest.approx(12000, abs=0.01)


def test_route_geometry_random_matches_distance():
    net, rng = _random_network(5)
    stops = net.snap([lonlat(*rng.uniform(0, 4000, 2)) for _ in range(4)])
    _, d = travel_matrices(net, stops, stops)
    legs = [d[k, k + 1] for k in range(3)]
    if not all(np.isfinite(legs)):
        with pytest.raises(ValueError, match="cannot be reached"):
            route_geometry(net, stops)
        return
    route = gpd.GeoSeries([route_geometry(net, stops)], crs="EPSG:4326").to_crs(CRS).iloc[0]
    assert route.length == pytest.approx(sum(legs), abs=0.05)


def test_route_unreachable_names_the_stops():
    net = build([line((0, 0), (1000, 0)), line((5000, 0), (6000, 0))])
    s = net.snap([lonlat(0, 0), lonlat(6000, 0)], ids=["school", "village"])
    with pytest.raises(ValueError, match="'village' cannot be reached by road from stop 'school'"):
        route_geometry(net, s)


def test_limit_cuts_far_pairs(cross):
    """West end -> east end is 360 s; with a 300 s limit it is inf, 90 s pairs stay."""
    s = cross.snap([lonlat(0, 0), lonlat(6000, 0), lonlat(1500, 0)])
    t, d = travel_matrices(cross, s, s, limit=300)
    assert t[0, 1] == np.inf and d[0, 1] == np.inf
    assert t[0, 2] == pytest.approx(90) and d[0, 2] == pytest.approx(1500)


def test_several_side_roads_snap_onto_one_segment():
    """Three side roads end 2-4 m off one 6 km main road (both sides); each is
    joined, the main road splits into 4 pieces in order along it."""
    net = build(
        [
            line((0, 0), (6000, 0)),
            line((4000, 3), (4000, 1000)),
            line((1000, -2), (1000, -1000)),
            line((2500, 4), (2500, 1000)),
        ],
        speed_kmh=[60, 30, 30, 30],
    )
    assert len(net.components()) == 1
    main = net.pieces[net.pieces["row"] == 1].sort_values("length_m")
    assert sorted(main["length_m"].round(3)) == [1000.0, 1500.0, 1500.0, 2000.0]
    s = net.snap([lonlat(1000, -1000), lonlat(4000, 1000)])
    # side-road ends move onto the main road, so each side road is 1 km:
    # 1 km at 30 (120 s) + 3 km at 60 (180 s) + 1 km at 30 (120 s) = 420 s
    assert travel_matrix(net, s, s)[0, 1] == pytest.approx(420, abs=1e-6)
