"""Enrolment projection for a district: the library call behind ``planner project`` and
the enrolment of every year of a roadmap.

:func:`build_problem` turns a :class:`~planner.core.district.District` with the optional
tables ``enrolment_history`` and ``births`` into a :class:`models.projection.ProjectionProblem`;
:func:`project` and :func:`backtest` solve it and return typed outcomes of codes and
numbers (the words are :mod:`planner.outputs.projection`'s).

Readings of the adapter (each a choice)
---------------------------------------
* **Children of entry age.** The births of year ``y`` reach grade 1 in school year
  ``y + 6`` (docs/data-format.md, ``births``): ``K[u, y + 6] = births[u, y]``.
* **Zones (today's nearest-school split).** Without a catchment plan each unit's
  children of a stage go to its nearest public, non-special school that has pupils of
  that stage today, by road travel time (``District.travel``; straight lines where
  roads do not reach): share 1. A catchment plan's assignment can be given instead
  (``shares``). Private and special schools, and a school no unit is nearest to, have
  the county as their zone (the model's reading).
* **Groups.** A school's ratios are shrunk toward the pooled ratios of the schools of
  its ``area_type`` (urban, town, rural), not the whole county: a village school's
  entry ratio looks like other villages', not the town's.
* **Consolidation candidates.** The flag threshold is the standard's candidate size
  (``Rules.candidates_max_pupils``, the 撤并百人以下 rule).
* **Closures.** A :class:`models.projection.Closure` moves a closed school's pupils
  and its zone's entrants to its receivers from the closure year on.
* **Zoning.** A :class:`models.projection.Zoning` (``zoning``; the roadmap's catchments)
  gives the entrants from its year on by the catchment zones, the ratios still estimated
  on ``shares`` (the model's "Zoning").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geodata.travel import FarFromRoads, travel_matrix
from models import projection as pm
from planner.core.district import District, school_stages
from planner.core.errors import PlanInputError
from planner.core.params import ProjectionParams

__all__ = ["ENTRY_AGE", "BacktestOutcome", "ProjectionOutcome", "backtest", "build_problem",
           "cohorts", "enrolment_of", "nearest_shares", "project", "settings_of"]

#: births of year y enter grade 1 in school year y + ENTRY_AGE (docs/data-format.md)
ENTRY_AGE = 6  # not-a-rule: school entry age, not a threshold of the standard


@dataclass(frozen=True)
class ProjectionOutcome:
    """A projection: the model's result and what it was made from.

    ``stages``: school id → stages it teaches (for the tables); ``threshold``: the flag's
    pupils (the standard's candidate size); ``result.totals`` holds the school-stage rows
    of ``projection.csv``."""

    params: ProjectionParams
    result: pm.ProjectionResult
    problem: pm.ProjectionProblem
    names: Mapping[str, str]
    threshold: int
    backtest: BacktestOutcome | None = None
    #: the model's flags of public, non-special schools: the consolidation candidates
    #: (a special school is small by nature; a private one is not the bureau's to close)
    candidates: pd.DataFrame | None = None


@dataclass(frozen=True)
class BacktestOutcome:
    """Re-projections from earlier base years against the history."""

    result: pm.BacktestResult
    names: Mapping[str, str]

    def county_mape(self, horizon: int, stage: str = "all") -> float:
        return self.result.county_mape(horizon, stage)


def settings_of(params: ProjectionParams, draws: int | None = None) -> pm.ProjectionSettings:
    """The model's settings from the parameters (``draws`` overrides: 0 for no band)."""
    return pm.ProjectionSettings(window=params.window, decay=params.decay,
                                 shrink_pupils=params.shrink_pupils, prior_dof=params.prior_dof,
                                 band=params.band,
                                 draws=params.draws if draws is None else draws,
                                 seed=params.seed, min_base_years=params.min_base_years)


def _require(district: District) -> None:
    if district.enrolment_history is None or len(district.enrolment_history) == 0:
        raise PlanInputError("enrolment_history.csv: the district has no enrolment history; "
                             "a projection needs one (docs/data-format.md)")
    if district.births is None or len(district.births) == 0:
        raise PlanInputError("births.csv: the district has no births; a projection needs the "
                             "children who will enter (docs/data-format.md)")


def cohorts(district: District) -> pd.DataFrame:
    """``unit_id, school_year, children``: births of year y enter in y + :data:`ENTRY_AGE`."""
    b = district.births
    return pd.DataFrame({"unit_id": b["unit_id"].astype(str),
                         "school_year": b["year"].astype(int) + ENTRY_AGE,
                         "children": b["births"].astype(float)})


def _zone_schools(district: District, stage: str) -> list[str]:
    s = district.schools
    out = []
    for row in s.itertuples(index=False):
        if row.type == "special" or not bool(pd.notna(row.public) and row.public):
            continue
        if stage in school_stages(row) and int(getattr(row, f"students_{stage}")) > 0:
            out.append(str(row.school_id))
    return out


def nearest_shares(district: District) -> pd.DataFrame:
    """``unit_id, school_id, stage, share``: each unit's children of a stage go to its
    nearest public, non-special school with pupils of that stage (road minutes; ties by
    table order)."""
    u = district.units
    if u is None or len(u) == 0:
        raise PlanInputError("units.csv: the district has no residential units; a projection "
                             "needs the units the children live in")
    cent = u.geometry.representative_point()
    upts = [(str(i), float(p.x), float(p.y)) for i, p in zip(u["unit_id"], cent)]
    rows = []
    for stage in ("primary", "junior"):
        ids = _zone_schools(district, stage)
        if not ids:
            continue
        spts = district.school_points(ids)
        try:
            tm = district.travel(upts, spts)
            minutes = np.asarray(tm.minutes, dtype=float)
        except FarFromRoads:
            minutes = np.full((len(upts), len(spts)), np.inf)
        if not np.isfinite(minutes).all():
            alt = np.asarray(travel_matrix(upts, spts, None, district.travel_settings()).minutes,
                             dtype=float)
            minutes = np.where(np.isfinite(minutes), minutes, alt)
        best = np.argmin(np.round(minutes, 6), axis=1)
        rows += [(uid, ids[int(j)], stage, 1.0) for (uid, _, _), j in zip(upts, best)]
    return pd.DataFrame(rows, columns=["unit_id", "school_id", "stage", "share"])


def build_problem(district: District, horizon: int, *, base_year: int | None = None,
                  closures: Sequence[pm.Closure] = (), shares: pd.DataFrame | None = None,
                  zoning: pm.Zoning | None = None) -> pm.ProjectionProblem:
    """The model's problem for ``district`` (module docstring)."""
    _require(district)
    rules = district.rules
    h = district.enrolment_history
    known = set(district.schools["school_id"].astype(str))
    h = h[h["school_id"].astype(str).isin(known)]
    groups = {str(k): str(v) for k, v in zip(district.schools["school_id"],
                                             district.schools["area_type"])}
    return pm.ProjectionProblem(
        history=h.assign(school_id=h["school_id"].astype(str)).reset_index(drop=True),
        cohorts=cohorts(district),
        shares=nearest_shares(district) if shares is None else shares,
        small_school_pupils=float(rules.candidates_max_pupils), horizon=int(horizon),
        base_year=base_year, closures=tuple(closures), groups=groups, zoning=zoning)


def project(district: District, params: ProjectionParams = ProjectionParams(),  # noqa: B008
            *, horizon: int | None = None, closures: Sequence[pm.Closure] = (),
            shares: pd.DataFrame | None = None, draws: int | None = None,
            with_backtest: bool = False, zoning: pm.Zoning | None = None
            ) -> ProjectionOutcome:
    """Project ``district``'s enrolment ``horizon`` years (default ``params.years``) past
    the last history year; with ``with_backtest`` the backtest too.

    Raises
    ------
    PlanInputError
        No enrolment history, births or units.
    ValueError
        From the model: history and births that do not reach the horizon are
        re-raised as a :class:`PlanInputError` naming births.csv.
    """
    hz = params.years if horizon is None else int(horizon)
    problem = build_problem(district, hz, closures=closures, shares=shares, zoning=zoning)
    try:
        result = pm.project(problem, settings_of(params, draws))
    except ValueError as e:
        raise PlanInputError(f"births.csv: {e}") from None
    names = district.school_names()
    bt = backtest(district, params, shares=problem.shares) if with_backtest else None
    s = district.schools
    ours = set(s.loc[s["public"].fillna(True).astype(bool) & (s["type"] != "special"),
                     "school_id"].astype(str))
    f = result.flags
    cand = f[f["school_id"].astype(str).isin(ours)].reset_index(drop=True)
    return ProjectionOutcome(params, result, problem, names,
                             int(district.rules.candidates_max_pupils), bt, cand)


def backtest(district: District, params: ProjectionParams = ProjectionParams(),  # noqa: B008
             *, shares: pd.DataFrame | None = None) -> BacktestOutcome:
    """Re-project from every earlier base year to the last history year."""
    problem = build_problem(district, 1, shares=shares)
    try:
        res = pm.backtest(problem, settings_of(params))
    except ValueError as e:
        raise PlanInputError(f"enrolment_history.csv: {e}") from None
    return BacktestOutcome(res, district.school_names())


def enrolment_of(result: pm.ProjectionResult, year: int) -> dict[tuple[str, str], int]:
    """Whole pupils per ``(school_id, stage)`` in ``year`` (the point projection, rounded
    half up)."""
    t = result.totals
    t = t[t["school_year"] == int(year)]
    return {(str(s), str(st)): int(math.floor(float(p) + 0.5))  # not-a-rule: half up
            for s, st, p in zip(t["school_id"], t["stage"], t["pupils"])}
