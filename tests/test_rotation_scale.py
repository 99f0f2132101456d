"""Tests of how :mod:`models.rotation` solves large counties (issue 18 item 2): the LP
relaxations of the levels after the first are solved by the interior point method
(with crossover) once the model has :data:`models.rotation._IPM_COLUMNS` columns.

The interior point path is forced on small cases here (the threshold set to 0) and
checked against something independent of it: a brute force over every move set, and
the same county solved by the simplex path (the threshold out of reach), level by
level.
"""

from __future__ import annotations

import random

import pytest

import models.rotation as rm
from models.mip import available_solvers
from models.rotation import RotationProblem, School, Teacher, solve, verify_rotation
from models.status import Status
from tests.test_rotation_model import random_instance, settings, solved_as_brute_force

pytestmark = pytest.mark.skipif("highs" not in available_solvers(), reason="HiGHS missing")


def county(n_schools: int, seed: int) -> RotationProblem:
    """A small county like the bench's: urban, town and rural schools of differing
    enrolment and shares of qualified / backbone teachers, about a third eligible,
    travel the straight line between random points."""
    rng = random.Random(seed)
    area = {"urban": (400, 900, 0.9, 0.2), "town": (150, 450, 0.8, 0.08),
            "rural": (30, 160, 0.6, 0.03)}
    subjects = ["语文", "数学", "英语", "体育", "音乐", "美术", "科学"]
    schools, teachers = [], []
    for i in range(n_schools):
        kind = rng.choice(list(area))
        lo, hi, q, b = area[kind]
        sid = f"S{i:02d}"
        pupils = rng.randint(lo, hi)
        n = max(4, pupils // 17)
        for j in range(n):
            subj = subjects[j] if j < 3 else rng.choice(subjects)
            teachers.append(Teacher(f"{sid}-{j:02d}", sid, "primary", subj,
                                    rng.random() < q, rng.random() < b,
                                    subj in ("体育", "音乐", "美术"), rng.random() < 0.35,
                                    years_at_school=rng.randint(0, 20)))
        schools.append(School(sid, frozenset({"primary"}), {"primary": pupils}, kind,
                              staff_quota=n + rng.randint(-1, 3)))
    xy = {h.id: (rng.random() * 30, rng.random() * 30) for h in schools}
    travel = {(a, b): round(((xy[a][0] - xy[b][0]) ** 2 + (xy[a][1] - xy[b][1]) ** 2) ** 0.5, 3)
              for a in xy for b in xy if a != b}
    return RotationProblem(tuple(teachers), tuple(schools), settings(), travel)


@pytest.fixture
def solvers_used(monkeypatch):
    """The LP method of every relaxation HiGHS solves (``"ipm"`` or not)."""
    used: list[str] = []
    orig = rm._HighsBackend._relaxation

    def spy(self, c, time_limit):
        out = orig(self, c, time_limit)
        used.append(self.hl.getOptionValue("solver")[1])
        return out

    monkeypatch.setattr(rm._HighsBackend, "_relaxation", spy)
    return used


@pytest.mark.parametrize("seed", range(6))
def test_interior_point_path_reaches_the_brute_force_optimum(seed, monkeypatch, solvers_used):
    monkeypatch.setattr(rm, "_IPM_COLUMNS", 0)
    p = random_instance(seed)
    r = solved_as_brute_force(p)
    if r is not None:
        assert verify_rotation(p, r.moves) == []
    assert "ipm" in solvers_used[1:]     # the later levels went by the interior point


@pytest.mark.parametrize("seed", [3, 7])
def test_interior_point_and_simplex_paths_give_the_same_levels(seed, monkeypatch,
                                                               solvers_used):
    p = county(24, seed)
    monkeypatch.setattr(rm, "_IPM_COLUMNS", 10**9)
    simplex = solve(p, gap=0.0)
    assert "ipm" not in solvers_used
    monkeypatch.setattr(rm, "_IPM_COLUMNS", 0)
    ipm = solve(p, gap=0.0)
    assert "ipm" in solvers_used
    for r in (simplex, ipm):
        assert r.status is Status.OPTIMAL
        assert verify_rotation(p, r.moves) == []
    assert simplex.counts["rotated"] >= simplex.counts["required_movers"] > 0
    for level in ("purpose", "shortfall", "spread", "travel"):
        assert ipm.objective[level] == pytest.approx(simplex.objective[level], rel=1e-6,
                                                     abs=1e-6), level
