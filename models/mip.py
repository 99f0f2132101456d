"""Solver selection and honest status reading for pulp models.

Every model in :mod:`models` builds a ``pulp.LpProblem`` and calls
:func:`solve_problem`, which returns a :class:`SolveInfo` with

- ``status``: a :class:`models.status.Status`. ``OPTIMAL`` only when the solver
  proved optimality (pulp's ``status == 1`` *and* ``sol_status ==
  LpSolutionOptimal``); a time-limited run that stopped with an incumbent is
  ``FEASIBLE``; no solution is ``INFEASIBLE`` (proven) or ``NO_PLAN_IN_TIME`` (time
  limit before any incumbent); an unbounded model is ``ERROR``.
- ``stopped_by``: what stopped a solve that did not prove its plan — ``"time"``
  (its time limit: the plan depends on the machine's speed and load) or
  ``"nodes"`` (its node limit, ``nodes=``: deterministic, the same on every
  machine; HiGHS only — CBC through pulp does not say which limit stopped it, so
  its stops read ``"time"``); ``None`` for a solve that ended by itself.
- ``gap``: the relative MIP gap as reported by HiGHS (0.0 when proven optimal,
  ``None`` when the solver gives no bound, e.g. CBC stopped by the time limit).

The default solver is HiGHS (``highspy``); CBC is used only when asked for and
present (PuLP 4 no longer bundles it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pulp

from models.status import Status

SOLVERS = ("highs", "cbc")


class SolverUnavailable(RuntimeError):
    """The requested solver is not installed."""


@dataclass(frozen=True)
class SolveInfo:
    status: Status
    objective: float | None
    gap: float | None
    solver: str
    seconds: float
    stopped_by: str | None = None      # "time" or "nodes" (a limit stopped it)


def available_solvers() -> list[str]:
    names = set(pulp.listSolvers(onlyAvailable=True))
    out = []
    if "HiGHS" in names:
        out.append("highs")
    if "PULP_CBC_CMD" in names or "COIN_CMD" in names:
        out.append("cbc")
    return out


def make_solver(name: str = "highs", time_limit: float | None = None,
                gap: float | None = None, msg: bool = False, nodes: int | None = None):
    """Return a pulp solver object; raise :class:`SolverUnavailable` with the
    package to install when it is missing. ``nodes``: at most that many
    branch-and-bound nodes (a work limit, unlike the time limit the same on every
    machine)."""
    name = name.lower()
    if name not in SOLVERS:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
    names = set(pulp.listSolvers(onlyAvailable=True))
    if name == "highs":
        if "HiGHS" not in names:
            raise SolverUnavailable(
                "solver HiGHS is not available: install it with 'pip install highspy'")
        _silence_highs_banner()
        # threads=1 and a fixed seed keep HiGHS deterministic run to run.
        more = {} if nodes is None else {"mip_max_nodes": int(nodes)}
        return _interruptible_highs()(msg=msg, timeLimit=time_limit, gapRel=gap, threads=1,
                                      random_seed=0, **more)
    if "PULP_CBC_CMD" in names:
        return pulp.PULP_CBC_CMD(msg=msg, timeLimit=time_limit, gapRel=gap, threads=1,
                                 maxNodes=nodes, options=["randomSeed 0", "randomCbcSeed 0"])
    if "COIN_CMD" in names:
        return pulp.COIN_CMD(msg=msg, timeLimit=time_limit, gapRel=gap, threads=1,
                             maxNodes=nodes)
    raise SolverUnavailable(
        "solver CBC is not available: install the 'coinor-cbc' system package "
        "or use --solver highs")


_HIGHS_CLASS = None


def _interruptible_highs():
    """pulp's HiGHS solver with a solve that Ctrl-C stops at once.

    pulp runs ``Highs.run()`` in the calling thread: SIGINT then waits for the
    time limit and is lost (the solve ends normally). This subclass runs the solve
    in highspy's worker thread with its user-interrupt callback on; the calling
    thread waits in short, interruptible steps and, on ``KeyboardInterrupt``,
    cancels the solve, waits for the worker to stop and raises the interrupt again.
    The solve itself (threads=1, fixed seed) is the same, so plans do not change."""
    global _HIGHS_CLASS
    if _HIGHS_CLASS is None:
        class InterruptibleHiGHS(pulp.HiGHS):  # type: ignore[misc, valid-type]
            def callSolver(self, lp):
                h = lp.solverModel
                if not hasattr(h, "startSolve"):   # an old highspy: pulp's own call
                    return super().callSolver(lp)
                h.HandleUserInterrupt = True
                h.startSolve()
                try:
                    while not h.wait(0.05)[0]:  # not-a-rule: seconds between checks
                        pass
                except KeyboardInterrupt:
                    h.cancelSolve()
                    h.joinSolve(None, 0)         # wait for the worker, quietly
                    raise

            def findSolutionValues(self, lp):
                try:
                    return super().findSolutionValues(lp)
                except KeyError:
                    # pulp has no reading of a node limit (kSolutionLimit); the values
                    # are set by then: read it as pulp reads a time limit
                    import highspy
                    h = lp.solverModel
                    if h.getModelStatus() != highspy.HighsModelStatus.kSolutionLimit:
                        raise
                    if h.getInfo().primal_solution_status == 0:     # no incumbent
                        return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
                    return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
        _HIGHS_CLASS = InterruptibleHiGHS
    return _HIGHS_CLASS


_BANNER_DONE = False


def _silence_highs_banner() -> None:
    """HiGHS prints a copyright banner on stdout the first time a ``Highs``
    object is made in a process, whatever ``output_flag`` says; make that first
    object with stdout pointed at /dev/null so command output stays clean."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    _BANNER_DONE = True
    import os
    import sys
    try:
        import highspy
        sys.stdout.flush()
        fd = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highspy.Highs()
        finally:
            os.dup2(fd, 1)
            os.close(fd)
    except (ImportError, OSError, ValueError):  # no fd 1 (embedded use): keep the banner
        pass


def solve_problem(prob: pulp.LpProblem, solver: str = "highs",
                  time_limit: float | None = None, gap: float | None = None,
                  msg: bool = False, warm_start: bool = False,
                  nodes: int | None = None) -> SolveInfo:
    """Solve ``prob`` and read both pulp status fields into a :class:`SolveInfo`.

    ``warm_start``: start from the variables' current values (a MIP start; HiGHS
    through ``setSolution``, CBC through pulp's ``warmStart``), e.g. the solution of
    an earlier stage of a lexicographic model that is feasible for this one.
    ``nodes``: a node limit (:func:`make_solver`).
    """
    s = make_solver(solver, time_limit=time_limit, gap=gap, msg=msg, nodes=nodes)
    if warm_start:
        _set_warm_start(s, solver)
    t0 = time.perf_counter()
    prob.solve(s)
    seconds = time.perf_counter() - t0
    status = _status(prob)
    objective = None
    if status.has_plan:
        objective = pulp.value(prob.objective)
        objective = float(objective) if objective is not None else 0.0
    rel_gap = _gap(prob, solver, status)
    if status is Status.OPTIMAL and rel_gap is not None and gap is not None and rel_gap > gap:
        status = Status.FEASIBLE
    return SolveInfo(status=status, objective=objective, gap=rel_gap,
                     solver=solver.lower(), seconds=seconds,
                     stopped_by=_stopped_by(prob, solver, status, nodes))


def _stopped_by(prob: pulp.LpProblem, solver: str, status: Status,
                nodes: int | None) -> str | None:
    """``"nodes"`` or ``"time"`` for a solve stopped before it proved its plan
    (:class:`SolveInfo`), ``None`` otherwise."""
    if status not in (Status.FEASIBLE, Status.NO_PLAN_IN_TIME):
        return None
    model = getattr(prob, "solverModel", None)
    if nodes is not None and solver.lower() == "highs" and model is not None:
        import highspy
        if model.getModelStatus() == highspy.HighsModelStatus.kSolutionLimit:
            return "nodes"
    return "time"


def _set_warm_start(s, solver: str) -> None:
    if solver.lower() == "highs":
        import highspy

        run = s.callSolver

        def call(lp: pulp.LpProblem) -> None:
            start = highspy.HighsSolution()
            start.col_value = [float(v.varValue or 0.0) for v in lp.variables()]
            start.value_valid = True
            lp.solverModel.setSolution(start)
            run(lp)

        s.callSolver = call
    else:
        s.optionsDict["warmStart"] = True


def _status(prob: pulp.LpProblem) -> Status:
    st, sol = prob.status, prob.sol_status
    if sol == pulp.LpSolutionOptimal and st == pulp.LpStatusOptimal:
        return Status.OPTIMAL
    if sol == pulp.LpSolutionIntegerFeasible:
        return Status.FEASIBLE
    if st == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return Status.INFEASIBLE
    if st == pulp.LpStatusUnbounded or sol == pulp.LpSolutionUnbounded:
        return Status.ERROR
    if st == pulp.LpStatusOptimal:
        # pulp reports status 1 for a time-limited CBC run with an incumbent
        return Status.FEASIBLE
    return Status.NO_PLAN_IN_TIME


def _gap(prob: pulp.LpProblem, solver: str, status: Status) -> float | None:
    model = getattr(prob, "solverModel", None)
    if solver.lower() == "highs" and model is not None:
        try:
            info = model.getInfo()
            g = float(info.mip_gap)
            if g == float("inf") or g != g:
                return None if status != "optimal" else 0.0
            if not prob.isMIP():
                return 0.0
            return max(0.0, g)
        except Exception:  # pragma: no cover - depends on highspy version
            pass
    return 0.0 if status == "optimal" else None
