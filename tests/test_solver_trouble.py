"""Solver trouble: a time limit gives "feasible" with its gap (never "optimal"),
a missing solver names the package to install, an interrupted run leaves no
half-written output folder."""

import numpy as np
import pulp
import pytest

from models import mip
from planner.cli import main


def _hard_knapsack():
    # a 400-item, 40-constraint 0/1 multidimensional knapsack: far from solved in 1 s
    rng = np.random.default_rng(0)
    n, m = 400, 40
    w = rng.integers(10, 100, (m, n))
    v = rng.integers(10, 100, n)
    p = pulp.LpProblem("mkp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{i}", cat="Binary") for i in range(n)]
    p += pulp.lpSum(int(v[i]) * x[i] for i in range(n))
    for k in range(m):
        p += pulp.lpSum(int(w[k, i]) * x[i] for i in range(n)) <= int(w[k].sum() // 2)
    return p


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_time_limit_is_feasible_not_optimal(solver):
    if solver not in mip.available_solvers():
        pytest.skip(f"{solver} not installed")
    info = mip.solve_problem(_hard_knapsack(), solver, time_limit=1.0)
    assert info.status == "feasible"
    assert info.objective is not None and info.objective > 0
    if solver == "highs":
        assert info.gap is not None and info.gap > 0
    else:
        assert info.gap is None          # CBC reports no bound through pulp


def test_a_node_limit_stops_the_same_way_every_time_and_says_so():
    # the work limit of a local re-solve: HiGHS stops after that many nodes with the
    # same incumbent on every run (a time limit gives whatever the clock allowed)
    runs = [mip.solve_problem(_hard_knapsack(), "highs", time_limit=60, nodes=3)
            for _ in range(2)]
    assert [r.stopped_by for r in runs] == ["nodes", "nodes"]
    assert runs[0].status == "feasible" and runs[0].objective == runs[1].objective
    assert runs[0].gap is not None and runs[0].gap > 0 and runs[0].seconds < 30
    timed = mip.solve_problem(_hard_knapsack(), "highs", time_limit=0.5)
    assert timed.status == "feasible" and timed.stopped_by == "time"
    done = mip.solve_problem(_hard_knapsack(), "highs", time_limit=60, gap=0.5, nodes=3)
    assert done.status == "optimal" and done.stopped_by is None


def test_missing_solver_names_the_package(monkeypatch):
    monkeypatch.setattr(pulp, "listSolvers", lambda onlyAvailable=False: [])
    with pytest.raises(mip.SolverUnavailable, match="pip install highspy"):
        mip.make_solver("highs")
    with pytest.raises(mip.SolverUnavailable, match="coinor-cbc"):
        mip.make_solver("cbc")


def test_missing_solver_on_the_command_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(pulp, "listSolvers", lambda onlyAvailable=False: [])
    assert main(["rotate", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("error: solver HiGHS is not available: install it with "
                           "'pip install highspy'")


def test_failed_run_leaves_no_folder(monkeypatch, tmp_path):
    from pathlib import Path

    import planner.verify as v

    def boom(*a, **k):
        raise KeyboardInterrupt            # as if killed during verification
    monkeypatch.setattr(v, "verify_outcomes", boom)
    out = tmp_path / "run"
    scen = Path(__file__).resolve().parents[1] / "scenarios" / "yunxi-2024.yaml"
    assert main(["run", str(scen), "--out", str(out), "--quiet"]) == 130
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
