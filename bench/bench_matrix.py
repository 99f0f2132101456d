"""Benchmark: road-graph build and travel matrices on a synthetic county network.

A perturbed lattice of about 50,000 road lines (one line per lattice edge, each
with a bend vertex, ~12 % of edges missing, ~10 % one-way) near Yunxi, in WGS84.
Timings are medians of 3 runs. Not part of the test suite::

    /work/venv/bin/python bench/bench_matrix.py [--size 160] [--seed 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer

from geodata.roads import build_road_graph, travel_matrices, travel_matrix, utm_crs


def synthetic_roads(size: int, seed: int) -> gpd.GeoDataFrame:
    """A ``size x size`` lattice (~2 size² lines) with 400 m spacing, perturbed."""
    rng = np.random.default_rng(seed)
    crs = utm_crs(113.3, 29.5)
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(113.0, 29.3)
    gx, gy = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    px = x0 + gx * 400.0 + rng.uniform(-120, 120, gx.shape)
    py = y0 + gy * 400.0 + rng.uniform(-120, 120, gy.shape)
    a_list, b_list = [], []
    for di, dj in ((1, 0), (0, 1)):
        i, j = np.meshgrid(np.arange(size - di), np.arange(size - dj), indexing="ij")
        a_list.append(np.column_stack([i.ravel(), j.ravel()]))
        b_list.append(np.column_stack([i.ravel() + di, j.ravel() + dj]))
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    keep = rng.random(len(a)) > 0.12
    a, b = a[keep], b[keep]
    ax, ay = px[a[:, 0], a[:, 1]], py[a[:, 0], a[:, 1]]
    bx, by = px[b[:, 0], b[:, 1]], py[b[:, 0], b[:, 1]]
    mx = (ax + bx) / 2 + rng.uniform(-40, 40, len(a))
    my = (ay + by) / 2 + rng.uniform(-40, 40, len(a))
    xs = np.column_stack([ax, mx, bx])
    ys = np.column_stack([ay, my, by])
    lon, lat = to_wgs.transform(xs, ys)
    coords = np.stack([lon, lat], axis=-1)  # (n, 3, 2)
    geoms = shapely.linestrings(coords)
    speed = rng.choice([20.0, 30.0, 40.0, 60.0, 80.0], size=len(a), p=[0.2, 0.4, 0.2, 0.15, 0.05])
    highway = np.where(speed >= 80, "motorway", "secondary")
    oneway = rng.random(len(a)) < 0.10
    return gpd.GeoDataFrame(
        {"speed_kmh": speed, "highway": highway, "oneway": oneway},
        geometry=geoms,
        crs="EPSG:4326",
    )


def median_time(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=170, help="lattice side (170 -> ~50,000 lines)")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--runs", type=int, default=3, help="timings per figure (median)")
    args = parser.parse_args()

    lines = synthetic_roads(args.size, args.seed)
    build_s = median_time(lambda: build_road_graph(lines), args.runs)
    net = build_road_graph(lines)
    g = net.graph
    print(f"roads: {len(lines):,} lines -> {g.number_of_nodes():,} nodes, "
          f"{len(net.pieces):,} pieces, {g.number_of_edges():,} arcs, "
          f"{len(net.components())} components")
    print(f"build_road_graph: {build_s:.2f} s (median of {args.runs})")

    rng = np.random.default_rng(args.seed)
    lon0, lat0, lon1, lat1 = lines.total_bounds

    def points(k: int) -> list[tuple[float, float]]:
        return list(zip(rng.uniform(lon0, lon1, k), rng.uniform(lat0, lat1, k), strict=True))

    t0 = time.perf_counter()
    snapped = net.snap(points(3000))
    print(f"snap 3,000 points: {time.perf_counter() - t0:.2f} s")

    for n_o, n_d in ((60, 1000), (2000, 40)):
        o, d = list(snapped)[:n_o], list(snapped)[n_o : n_o + n_d]
        net._cache.pop("arcs_length_m", None)
        t_time = median_time(lambda o=o, d=d: travel_matrix(net, o, d), args.runs)
        t_both = median_time(lambda o=o, d=d: travel_matrices(net, o, d), args.runs)
        t_len = median_time(lambda o=o, d=d: travel_matrix(net, o, d, weight="length_m"),
                            args.runs)
        t_lim = median_time(lambda o=o, d=d: travel_matrix(net, o, d, limit=1800.0), args.runs)
        m = travel_matrix(net, o, d)
        print(f"{n_o:>5} x {n_d:<5} travel_matrix(time_s) {t_time:.2f} s | "
              f"travel_matrices(time+length) {t_both:.2f} s | "
              f"travel_matrix(length_m) {t_len:.2f} s | "
              f"travel_matrix(limit=1800 s) {t_lim:.2f} s | "
              f"unreachable {np.isinf(m).mean():.1%}")


if __name__ == "__main__":
    main()
