"""Clock times and bus days: trips chained into buses before the bell (pure model).

Clock times
-----------
A time of day is a number of minutes after midnight (float); :func:`clock` writes it
as ``HH:MM`` (the minute it falls in, i.e. rounded down: a pick-up printed 07:31 is
due within that minute, so pupils who are there at 07:31 never miss the bus) and
:func:`parse_clock` reads ``H:MM`` / ``HH:MM`` back. Minutes wrap at midnight
(24:00 is 00:00) so that a time just after the hour is never written 07:60.

Bus days (:func:`chain_trips`)
------------------------------
The second step of BiRD (Bertsimas, Delarue & Martin, PNAS 116(13), 2019): the
trips were built per receiving school with the ride limit; here they are chained
into buses. Trip ``t`` takes ``duration[t]`` minutes from its first stop to its
school and must arrive there within ``[earliest[t], latest[t]]`` (minutes after
midnight; the school's bell minus the margins). A bus may run trip ``b`` after trip
``a`` when, after ``a`` arrives, there is time to unload (``dwell``), drive empty
from ``a``'s school to ``b``'s first stop (``gap_min[a][b]``) and run ``b``::

    x_ab in {0,1}   for a != b with earliest[a] + dwell + gap_min[a][b] + duration[b]
                                     <= latest[b]                (b may follow a)
    s_t integer     departure minute of trip t from its first stop,
                    ceil(earliest[t] - duration[t]) <= s_t <= floor(latest[t] - duration[t])
    sum_b x_ab <= 1,  sum_a x_ab <= 1                          (one successor, one predecessor)
    s_b >= s_a + duration[a] + dwell + gap_min[a][b] - M_ab (1 - x_ab)
    1 <= p_t <= K,    p_b >= p_a + 1 - K (1 - x_ab)            (at most K = max_trips a bus)
    min  W * (T - sum x) + sum gap_km[a][b] x_ab               (buses, then empty km)

with ``T`` trips (buses = T minus the links), ``W`` one more than the largest possible
sum of empty km (so one bus fewer always wins) and ``M_ab`` the smallest big-M that
keeps the row valid. Departures are whole minutes, so every printed time is exact.
After the solve each bus's times are recomputed as the **latest** whole-minute
schedule (backwards from the last trip: as late as its window and the next trip
allow), so pupils wait as little as possible at school and the times do not depend
on which of several optimal times the solver returned. A solver that stops without a
plan (time limit) leaves every trip on a bus of its own (always feasible: each trip
fits its own window), and the status says so.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pulp

from models.mip import solve_problem
from models.status import Status

MINUTES_PER_DAY = 24 * 60  # not-a-rule: minutes in a day
_MIN_PER_H = 60  # not-a-rule: minutes in an hour
_EPS = 1e-9


def clock(minutes: float) -> str:
    """``HH:MM`` of a time of day given in minutes after midnight (rounded down to
    its minute; wraps at midnight)."""
    m = int(math.floor(float(minutes) + _EPS)) % MINUTES_PER_DAY
    return f"{m // _MIN_PER_H:02d}:{m % _MIN_PER_H:02d}"


def parse_clock(text: str) -> int:
    """Minutes after midnight of ``H:MM`` or ``HH:MM`` (00:00-23:59); ``ValueError``
    otherwise."""
    s = str(text).strip()
    parts = s.split(":")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[1]) != 2:
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    h, m = int(parts[0]), int(parts[1])
    if not (0 <= h < MINUTES_PER_DAY // _MIN_PER_H and 0 <= m < _MIN_PER_H):
        raise ValueError(f"{text!r} is not a time of day HH:MM")
    return h * _MIN_PER_H + m


@dataclass
class Chains:
    """Buses of :func:`chain_trips`: ``buses[k]`` lists the trips of bus k in running
    order; ``depart[t]`` is trip t's departure minute from its first stop (after
    midnight) and ``arrive[t] = depart[t] + duration[t]``."""

    buses: list[list[int]]
    depart: list[int]
    arrive: list[float]
    empty_km: float                       # empty running between chained trips
    status: Status
    gap: float | None = None
    seconds: float = 0.0
    links: list[tuple[int, int]] = field(default_factory=list)


def chain_trips(duration: Sequence[float], earliest: Sequence[float], latest: Sequence[float],
                gap_min: np.ndarray, gap_km: np.ndarray, *, dwell: float, max_trips: int,
                solver: str, time_limit: float) -> Chains:
    """Chain trips into the fewest buses, then the least empty km (module docstring).

    ``gap_min[a][b]`` / ``gap_km[a][b]``: empty run from trip a's school to trip b's
    first stop (``inf``: no road). Raises ``ValueError`` when a trip cannot meet its
    own window (its duration leaves no whole departure minute)."""
    t0 = time.perf_counter()
    dur = [float(d) for d in duration]
    lo = [float(e) for e in earliest]
    hi = [float(e) for e in latest]
    n = len(dur)
    gmin = np.asarray(gap_min, dtype=float).reshape(n, n) if n else np.zeros((0, 0))
    gkm = np.asarray(gap_km, dtype=float).reshape(n, n) if n else np.zeros((0, 0))
    s_lo = [math.ceil(lo[t] - dur[t] - _EPS) for t in range(n)]
    s_hi = [math.floor(hi[t] - dur[t] + _EPS) for t in range(n)]
    for t in range(n):
        if s_lo[t] > s_hi[t]:
            raise ValueError(f"trip {t} ({dur[t]:g} min) cannot arrive within "
                             f"[{lo[t]:g}, {hi[t]:g}] with a whole-minute departure")
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b
             and math.isfinite(gmin[a, b])
             and s_lo[a] + dur[a] + dwell + gmin[a, b] <= s_hi[b] + _EPS]
    links: list[tuple[int, int]] = []
    status: Status = Status.OPTIMAL
    gap: float | None = 0.0
    if pairs and max_trips > 1:
        links, status, gap = _solve_links(n, pairs, dur, s_lo, s_hi, gmin, gkm, dwell,
                                          max_trips, solver, time_limit)
    nxt = dict(links)
    has_prev = {b for _, b in links}
    buses = []
    for t in range(n):
        if t in has_prev:
            continue
        chain = [t]
        while chain[-1] in nxt:
            chain.append(nxt[chain[-1]])
        buses.append(chain)
    depart = [0] * n
    for chain in buses:
        later: int | None = None
        for k in range(len(chain) - 1, -1, -1):
            t = chain[k]
            s = s_hi[t]
            if later is not None:
                b = chain[k + 1]
                s = min(s, math.floor(later - gmin[t, b] - dwell - dur[t] + _EPS))
            if s < s_lo[t]:  # cannot happen for links the solver accepted
                raise RuntimeError(f"chained trip {t} has no feasible time")
            depart[t] = s
            later = s
    empty = float(sum(gkm[a, b] for a, b in links))
    buses.sort(key=lambda c: (depart[c[0]], c))
    return Chains(buses=buses, depart=depart, arrive=[depart[t] + dur[t] for t in range(n)],
                  empty_km=empty, status=status, gap=gap, seconds=time.perf_counter() - t0,
                  links=sorted(links))


def _solve_links(n: int, pairs: list[tuple[int, int]], dur: list[float], s_lo: list[int],
                 s_hi: list[int], gmin: np.ndarray, gkm: np.ndarray, dwell: float,
                 max_trips: int, solver: str, time_limit: float
                 ) -> tuple[list[tuple[int, int]], Status, float | None]:
    prob = pulp.LpProblem("chains", pulp.LpMinimize)
    x = {(a, b): pulp.LpVariable(f"x_{a}_{b}", cat="Binary") for a, b in pairs}
    s = [pulp.LpVariable(f"s_{t}", lowBound=s_lo[t], upBound=s_hi[t], cat="Integer")
         for t in range(n)]
    p = [pulp.LpVariable(f"p_{t}", lowBound=1, upBound=max_trips) for t in range(n)]
    weight = 1.0 + float(sum(max(0.0, gkm[a, b]) for a, b in pairs
                             if math.isfinite(gkm[a, b])))
    prob += weight * (n - pulp.lpSum(x.values())) + pulp.lpSum(
        (gkm[a, b] if math.isfinite(gkm[a, b]) else 0.0) * v for (a, b), v in x.items())
    for t in range(n):
        out_t = [v for (a, _), v in x.items() if a == t]
        in_t = [v for (_, b), v in x.items() if b == t]
        if len(out_t) > 1:
            prob += pulp.lpSum(out_t) <= 1
        if len(in_t) > 1:
            prob += pulp.lpSum(in_t) <= 1
    for (a, b), v in x.items():
        need = dur[a] + dwell + gmin[a, b]
        big = s_hi[a] + need - s_lo[b]
        if big > 0:
            prob += s[b] >= s[a] + need - big * (1 - v)
        prob += p[b] >= p[a] + 1 - max_trips * (1 - v)
    info = solve_problem(prob, solver=solver, time_limit=time_limit)
    if not info.status.has_plan:
        return [], info.status, None
    links = sorted((a, b) for (a, b), v in x.items() if round(v.value() or 0) == 1)
    return links, info.status, info.gap
