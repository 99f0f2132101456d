"""Tests for models.timetable: clock times and trips chained into buses before the bell."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from models.status import Status
from models.timetable import MINUTES_PER_DAY, chain_trips, clock, parse_clock

BELL = 8 * 60  # 08:00


# ------------------------------------------------------------------- clock times

@pytest.mark.parametrize("minutes, text", [
    (0, "00:00"), (59.6, "00:59"), (60, "01:00"), (7 * 60 + 59.99, "07:59"),
    (BELL, "08:00"), (BELL + 0.4, "08:00"), (BELL + 3.6, "08:03"), (23 * 60 + 59.5, "23:59"),
    (MINUTES_PER_DAY, "00:00"), (MINUTES_PER_DAY + 61, "01:01"),
])
def test_clock_rounds_down_to_the_minute_across_the_hour(minutes, text):
    assert clock(minutes) == text


def test_parse_clock_and_back():
    assert parse_clock("7:05") == 425 and parse_clock("08:00") == BELL
    assert clock(parse_clock("23:59")) == "23:59"
    for bad in ("8", "08:60", "24:00", "8:5", "ab:cd", "08-00"):
        with pytest.raises(ValueError):
            parse_clock(bad)


# --------------------------------------------------------------------- chaining

def solve(duration, earliest, latest, gap, *, dwell=0.0, max_trips=3, km=None):
    n = len(duration)
    gap = np.asarray(gap, dtype=float).reshape(n, n)
    km = gap if km is None else np.asarray(km, dtype=float).reshape(n, n)
    return chain_trips(duration, earliest, latest, gap, km, dwell=dwell, max_trips=max_trips,
                       solver="highs", time_limit=30.0)


def test_a_second_trip_saves_a_bus_hand_checked():
    # Two 6-minute trips, both to arrive 07:30-07:55; 15 min empty between them and
    # 1 min to unload: 6 + 1 + 15 + 6 = 28 min for one bus, 25 min of window + ...
    # trip 0 arrives by 07:33 at the latest so that trip 1 arrives by 07:55.
    lo, hi = BELL - 30, BELL - 5
    gap = [[0, 15], [15, 0]]
    two = solve([6, 6], [lo, lo], [hi, hi], gap, dwell=1.0, max_trips=2)
    assert two.buses == [[0, 1]] and two.status is Status.OPTIMAL
    # the latest schedule: trip 1 leaves 07:49 and arrives 07:55; trip 0 leaves at
    # 07:49 - 15 - 1 - 6 = 07:27 and arrives 07:33
    assert two.depart == [447, 469] and two.arrive == [453.0, 475.0]
    assert two.empty_km == 15
    one = solve([6, 6], [lo, lo], [hi, hi], gap, dwell=1.0, max_trips=1)
    assert sorted(one.buses) == [[0], [1]] and one.empty_km == 0
    # a window of 15 minutes leaves no time for the empty run
    narrow = solve([6, 6], [BELL - 20, BELL - 20], [hi, hi], gap, dwell=1.0, max_trips=2)
    assert len(narrow.buses) == 2


def test_unreachable_follow_on_is_not_chained():
    lo, hi = BELL - 60, BELL - 5
    res = solve([5, 5], [lo, lo], [hi, hi], [[0, math.inf], [math.inf, 0]], max_trips=3)
    assert len(res.buses) == 2


def test_fewer_buses_first_then_empty_km():
    # trips 0 and 1 can both follow trip 2; linking 2 -> 1 is 1 km empty, 2 -> 0 is 5
    lo, hi = BELL - 60, BELL - 5
    gap_min = [[0, 99, 99], [99, 0, 99], [3, 3, 0]]
    gap_km = [[0, 99, 99], [99, 0, 99], [5, 1, 0]]
    res = solve([5, 5, 5], [lo] * 3, [hi] * 3, gap_min, km=gap_km, max_trips=2)
    assert len(res.buses) == 2 and [2, 1] in res.buses and res.empty_km == 1


def test_a_trip_that_cannot_meet_its_window_is_an_error():
    with pytest.raises(ValueError, match="cannot arrive within"):
        solve([10.5], [BELL - 10.2], [BELL - 10.1], [[0]])


def brute_min_buses(duration, lo, hi, gap, dwell, max_trips) -> int:
    """The fewest buses by enumeration: every ordered partition into chains of at
    most ``max_trips`` trips, each chain checked with earliest-time propagation on
    whole-minute departures."""
    n = len(duration)
    s_lo = [math.ceil(lo[t] - duration[t] - 1e-9) for t in range(n)]
    s_hi = [math.floor(hi[t] - duration[t] + 1e-9) for t in range(n)]

    def ok(chain) -> bool:
        s = s_lo[chain[0]]
        if s > s_hi[chain[0]]:
            return False
        for a, b in itertools.pairwise(chain):
            s = max(s_lo[b], math.ceil(s + duration[a] + dwell + gap[a][b] - 1e-9))
            if s > s_hi[b]:
                return False
        return True

    best = n
    trips = list(range(n))

    def search(rest, buses):
        nonlocal best
        if buses >= best:
            return
        if not rest:
            best = buses
            return
        first = rest[0]
        others = rest[1:]
        for k in range(0, min(max_trips, len(rest)) ):
            for more in itertools.permutations(others, k):
                for pos in range(k + 1):
                    chain = list(more[:pos]) + [first] + list(more[pos:])
                    if ok(chain):
                        search([t for t in rest if t not in chain], buses + 1)

    search(trips, 0)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_chaining_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 5
    duration = [float(x) for x in rng.uniform(3, 12, n).round(1)]
    bells = rng.choice([BELL, BELL + 10], n)
    lo = [float(b - 30) for b in bells]
    hi = [float(b - 5) for b in bells]
    gap = rng.uniform(1, 10, (n, n)).round(1)
    np.fill_diagonal(gap, 0)
    res = solve(duration, lo, hi, gap, dwell=1.0, max_trips=3)
    assert len(res.buses) == brute_min_buses(duration, lo, hi, gap, 1.0, 3)
    # every bus day holds: windows, order, whole minutes, at most three trips
    for chain in res.buses:
        assert len(chain) <= 3
        for t in chain:
            assert lo[t] - 1e-9 <= res.arrive[t] <= hi[t] + 1e-9
            assert res.depart[t] == int(res.depart[t])
        for a, b in itertools.pairwise(chain):
            assert res.depart[b] >= res.arrive[a] + 1.0 + gap[a][b] - 1e-9
