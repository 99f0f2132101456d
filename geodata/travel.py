"""One travel-time service: :func:`travel_matrix` → :class:`TravelMatrix`.

Every plan (rotation, consolidation, catchments), the map and the verifier get
travel times and distances from here, so they agree on how a trip is measured:

- **On roads** (the district has roads): each point is snapped to its nearest
  road piece (:meth:`geodata.roads.RoadNetwork.snap`); the trip is the shortest
  path on the road graph (school-bus speeds) plus, at both ends, the straight
  *access leg* from the point to the road at ``access_speed_kmh`` (its length is
  counted in ``km`` too). A point farther than ``max_access_m`` from every road is
  an error (:class:`FarFromRoads`) that names it: a road network that does not
  reach a school would otherwise give it its neighbour's travel time. Pairs on
  two unconnected pieces of the network are ``inf`` (unreachable).
- **Without roads**: great-circle distance × ``detour_factor`` at
  ``fallback_speed_kmh``.

``TravelMatrix.source`` says which (``"roads"`` or ``"straight_line"``) and
``settings`` with which numbers, for the summaries. The arrays are read-only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["TravelSettings", "TravelMatrix", "FarFromRoads", "travel_matrix", "haversine_km",
           "EARTH_RADIUS_KM"]

EARTH_RADIUS_KM = 6371.0088
_MIN_PER_H = 60.0   # not-a-rule: minutes per hour
_S_PER_MIN = 60.0   # not-a-rule: seconds per minute


@dataclass(frozen=True)
class TravelSettings:
    """How trips are measured (the caller's defaults: district settings)."""

    detour_factor: float            # straight-line fallback: road km ≈ great-circle km × this
    fallback_speed_kmh: float       # straight-line fallback speed
    access_speed_kmh: float | None  # the leg from a point to its road; None: not counted
    max_access_m: float | None      # a point farther from every road is an error; None: no limit


class FarFromRoads(ValueError):
    """Points farther from every road than ``max_access_m``; ``points`` holds
    ``(id, metres)`` for each, in input order."""

    def __init__(self, points: list[tuple[Any, float]], limit_m: float):
        self.points = points
        self.limit_m = limit_m
        listed = ", ".join(f"{i} ({m:,.0f} m)" for i, m in points[:10])
        more = f" and {len(points) - 10} more" if len(points) > 10 else ""
        super().__init__(f"{len(points)} point(s) lie farther than {limit_m:,.0f} m from every "
                         f"road: {listed}{more}")


@dataclass(frozen=True)
class TravelMatrix:
    """Travel between ``origins`` and ``destinations`` (ids in row / column order)."""

    origins: tuple[Any, ...]
    destinations: tuple[Any, ...]
    minutes: np.ndarray                 # (n, m), inf where unreachable
    km: np.ndarray                      # (n, m), inf where unreachable
    source: str                         # "roads" | "straight_line"
    settings: TravelSettings
    access_m_origins: np.ndarray        # straight leg to the road, metres (0 without roads)
    access_m_destinations: np.ndarray

    def __post_init__(self) -> None:
        for a in (self.minutes, self.km, self.access_m_origins, self.access_m_destinations):
            a.setflags(write=False)

    def index(self) -> tuple[dict[Any, int], dict[Any, int]]:
        return ({o: i for i, o in enumerate(self.origins)},
                {d: j for j, d in enumerate(self.destinations)})

    def minutes_between(self, origin: Any, destination: Any) -> float:
        oi, di = self.index()
        return float(self.minutes[oi[origin], di[destination]])

    def km_between(self, origin: Any, destination: Any) -> float:
        oi, di = self.index()
        return float(self.km[oi[origin], di[destination]])

    def pairs(self, measure: str = "minutes", decimals: int | None = None) -> dict[tuple, float]:
        """``{(origin, destination): value}`` for every pair with different ids."""
        arr = self.minutes if measure == "minutes" else self.km
        out = {}
        for i, o in enumerate(self.origins):
            for j, d in enumerate(self.destinations):
                if o != d:
                    v = float(arr[i, j])
                    out[(o, d)] = round(v, decimals) if decimals is not None else v
        return out

    def describe(self) -> dict[str, Any]:
        """How the matrix was obtained, for a plan's summary."""
        s = self.settings
        out: dict[str, Any] = {"source": self.source}
        if self.source == "roads":
            out["access_speed_kmh"] = s.access_speed_kmh
            out["max_access_m"] = s.max_access_m
            acc = np.concatenate([self.access_m_origins, self.access_m_destinations])
            out["longest_access_m"] = round(float(acc.max()), 1) if acc.size else 0.0
        else:
            out["detour_factor"] = s.detour_factor
            out["speed_kmh"] = s.fallback_speed_kmh
        return out


def haversine_km(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> np.ndarray:
    """Great-circle distance (km) between points; arrays broadcast."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float))
                              for v in (lon1, lat1, lon2, lat2))
    a = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def travel_matrix(origins: Sequence[tuple[Any, float, float]],
                  destinations: Sequence[tuple[Any, float, float]] | None,
                  network: Any, settings: TravelSettings, weight: str = "time_s",
                  limit_min: float | None = None) -> TravelMatrix:
    """Travel from each ``(id, lon, lat)`` origin to each destination.

    Parameters
    ----------
    origins, destinations
        ``(id, lon, lat)`` in WGS84; ``destinations=None`` means the origins.
    network
        A :class:`geodata.roads.RoadNetwork`, or ``None`` for straight lines.
    settings
        See :class:`TravelSettings`.
    weight
        ``"time_s"``: fastest paths (km along them); ``"length_m"``: shortest
        paths (minutes along them).
    limit_min
        Stop searching beyond this many minutes of road time (pairs further
        apart are ``inf``); fastest paths only.

    Raises
    ------
    FarFromRoads
        A point lies farther than ``settings.max_access_m`` from every road.
    """
    dests = origins if destinations is None else destinations
    o_ids = tuple(p[0] for p in origins)
    d_ids = tuple(p[0] for p in dests)
    if network is None:
        ol = np.array([(p[1], p[2]) for p in origins], dtype=float).reshape(-1, 2)
        dl = np.array([(p[1], p[2]) for p in dests], dtype=float).reshape(-1, 2)
        km = haversine_km(ol[:, None, 0], ol[:, None, 1], dl[None, :, 0], dl[None, :, 1])
        km = km * settings.detour_factor
        return TravelMatrix(o_ids, d_ids, km / settings.fallback_speed_kmh * _MIN_PER_H, km,
                            "straight_line", settings, np.zeros(len(o_ids)),
                            np.zeros(len(d_ids)))
    from geodata.roads import travel_matrices
    a = network.snap([(p[1], p[2]) for p in origins], ids=list(o_ids))
    b = a if destinations is None else network.snap([(p[1], p[2]) for p in dests],
                                                      ids=list(d_ids))
    acc_a = np.array([p.snap_m for p in a.points], dtype=float)
    acc_b = acc_a if destinations is None else np.array([p.snap_m for p in b.points], dtype=float)
    if settings.max_access_m is not None:
        far = [(i, float(m)) for i, m in zip(o_ids, acc_a) if m > settings.max_access_m]
        if destinations is not None:
            far += [(i, float(m)) for i, m in zip(d_ids, acc_b) if m > settings.max_access_m]
        if far:
            raise FarFromRoads(far, settings.max_access_m)
    limit = None
    if limit_min is not None and weight == "time_s":
        limit = float(limit_min) * _S_PER_MIN
    sec, metres = travel_matrices(network, a, b, weight=weight, limit=limit)
    access_m = acc_a[:, None] + acc_b[None, :]
    if settings.access_speed_kmh:
        sec = sec + access_m / (settings.access_speed_kmh / 3.6)
    metres = metres + access_m
    same = np.equal.outer(np.array(o_ids, dtype=object), np.array(d_ids, dtype=object))
    sec = np.where(same, 0.0, sec)
    metres = np.where(same, 0.0, metres)
    return TravelMatrix(o_ids, d_ids, sec / _S_PER_MIN, metres / 1000.0, "roads", settings,
                        acc_a, acc_b)
