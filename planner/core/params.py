"""Every setting a user can give, typed, with exactly one default each.

A scenario section (``rotation:``, ``consolidation:``, ``catchments:`` ...), the
options of the matching command and the library call all go through one frozen
parameters class here:

- ``Cls.from_dict(mapping, where)`` checks every key and value and raises
  :class:`~planner.core.errors.DataError` with one line per problem
  (``"<where> key rotation.share: 1.5 is not a number between 0 and 1"``); an
  unknown key is an error that lists the allowed ones;
- :func:`add_options` adds a command's options for some fields (default ``None``
  on the command line, so the default stays here) and :func:`from_args` builds
  the parameters from the parsed options;
- ``to_dict()`` is what ``scenario.json`` records.

A field whose default is ``None`` takes its value from the standard
(:class:`~planner.core.rules.Rules`) or the district's settings, as its help says:
the standard's number is not repeated here.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

from models.consolidation import Costs
from planner.core.errors import DataError

__all__ = ["Check", "setting", "Params", "SolveParams", "RotationParams",
           "ConsolidationParams", "CatchmentParams", "add_options", "from_args", "Costs"]

T = TypeVar("T", bound="Params")


# ---------------------------------------------------------------------------
# value checks
# ---------------------------------------------------------------------------

def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


@dataclass(frozen=True)
class Check:
    """A value test and the words for what it expects (``"a positive number"``)."""

    ok: Callable[[Any], bool]
    what: str
    convert: Callable[[Any], Any] = lambda v: v


FRACTION = Check(lambda v: _num(v) and 0 <= v <= 1, "a number between 0 and 1", float)
POSITIVE = Check(lambda v: _num(v) and v > 0, "a positive number", float)
NON_NEGATIVE = Check(lambda v: _num(v) and v >= 0, "a non-negative number", float)
POSITIVE_INT = Check(lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
                     "a positive whole number", int)
NON_NEGATIVE_INT = Check(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                         "a non-negative whole number", int)
BOOL = Check(lambda v: isinstance(v, bool), "true or false")
TEXT = Check(lambda v: isinstance(v, str) and v.strip() != "", "a text", str)


def _is_clock(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    parts = v.strip().split(":")
    return (len(parts) == 2 and all(p.isdigit() for p in parts) and len(parts[1]) == 2
            and int(parts[0]) < 24 and int(parts[1]) < 60)  # not-a-rule: hours and minutes


CLOCK = Check(_is_clock, "a time of day HH:MM", lambda v: v.strip())
BELLS = Check(lambda v: v is None or (isinstance(v, Mapping) and all(
    isinstance(k, (str, int)) and not isinstance(k, bool) and _is_clock(t)
    for k, t in v.items())), "a mapping of school ids to times of day HH:MM",
    lambda v: None if v is None else {str(k): str(t).strip() for k, t in v.items()})


def one_of(*choices: str) -> Check:
    return Check(lambda v: v in choices, "one of " + ", ".join(choices))


def optional(check: Check) -> Check:
    return Check(lambda v: v is None or check.ok(v), check.what,
                 lambda v: None if v is None else check.convert(v))


def setting(default: Any = MISSING, check: Check | None = None, help: str = "",
            default_factory: Any = MISSING) -> Any:
    """A parameters field: its one default, its value check and its help text."""
    meta = {"check": check, "help": help}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


# ---------------------------------------------------------------------------
# the mechanism
# ---------------------------------------------------------------------------

class Params:
    """Mixin of the frozen parameters dataclasses."""

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str,
                  prefix: str = "", option: bool = False) -> T:
        """Parameters from a mapping (a scenario section); every problem at once.
        ``option``: the values are command-line options, named ``--name`` in messages."""
        data = {} if data is None else data
        label = f"{where} key {prefix}" if prefix else f"{where} key "
        if option:
            label = "--"
        if not isinstance(data, Mapping):
            raise DataError([f"{label.rstrip('.').rstrip()}: {data!r} is not a mapping of "
                             f"{', '.join(cls.names())}"])
        problems: list[str] = []
        kw: dict[str, Any] = {}
        allowed = cls.names()
        for k in data:
            if k not in allowed:
                problems.append(f"{label}{k}: unknown key; allowed: {', '.join(allowed)}")
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name not in data:
                continue
            v = data[f.name]
            default = field_default(f)
            check: Check | None = f.metadata.get("check")
            if is_dataclass(default) and not isinstance(default, type):
                try:
                    kw[f.name] = _nested_from_dict(type(default), v, where, f"{prefix}{f.name}.")
                except DataError as e:
                    problems += e.problems
                continue
            if check is None:
                check = NON_NEGATIVE if _num(default) else None
            if check is not None and not check.ok(v):
                name = f.name.replace("_", "-") if option else f.name
                shown = v if option else repr(v)
                problems.append(f"{label}{name} {shown}: not {check.what}" if option
                                else f"{label}{name}: {shown} is not {check.what}")
                continue
            kw[f.name] = check.convert(v) if check is not None else v
        if problems:
            raise DataError(problems)
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            if is_dataclass(v) and not isinstance(v, type):
                v = {g.name: getattr(v, g.name) for g in fields(v)}
            elif isinstance(v, Path):
                v = v.as_posix()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def replace(self: T, **changes: Any) -> T:
        return replace(self, **changes)  # type: ignore[type-var]


def field_default(f) -> Any:
    """A dataclass field's default (its factory called), else None."""
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None


def _nested_from_dict(cls: type, data: Any, where: str, prefix: str) -> Any:
    """A dataclass field of a parameters class (e.g. consolidation costs): every
    field is a non-negative number unless the class is a :class:`Params`."""
    if issubclass(cls, Params):
        return cls.from_dict(data, where, prefix)
    names = [f.name for f in fields(cls)]
    if not isinstance(data, Mapping):
        raise DataError([f"{where} key {prefix.rstrip('.')}: {data!r} is not a mapping of "
                         f"{', '.join(names)}"])
    problems, kw = [], {}
    for k, v in data.items():
        if k not in names:
            problems.append(f"{where} key {prefix}{k}: unknown key; allowed: {', '.join(names)}")
        elif not NON_NEGATIVE.ok(v):
            problems.append(f"{where} key {prefix}{k}: {v!r} is not {NON_NEGATIVE.what}")
        else:
            kw[k] = float(v)
    if problems:
        raise DataError(problems)
    return cls(**kw)


def add_options(parser: argparse.ArgumentParser, cls: type[Params], names: list[str],
                prefix: str = "") -> None:
    """Add ``--<name>`` options for these fields of ``cls``; their default on the
    command line is ``None`` so that the parameters class keeps the one default."""
    by = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    for name in names:
        f = by[name]
        default = field_default(f)
        check: Check | None = f.metadata.get("check")
        opt = "--" + (prefix + name).replace("_", "-")
        text = f.metadata.get("help", "")
        shown = "" if default is None else f" (default {default})"
        if check is BOOL or isinstance(default, bool):
            parser.add_argument(opt, dest=prefix + name, action="store_true", default=None,
                                help=text)
            continue
        kind: Callable[[str], Any] = (int if isinstance(default, int) else float
                                      if _num(default) else str)
        if default is None and check is not None:
            kind = _option_value  # a number if it reads as one; the check decides
        parser.add_argument(opt, dest=prefix + name, type=kind, default=None,
                            help=(text + shown).replace("%", "%%"))


def _option_value(text: str) -> Any:
    """An option of a field whose default is ``None``: an ``int`` or ``float`` when
    the text reads as one, else the text (the field's check then judges it)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def from_args(cls: type[T], args: argparse.Namespace, where: str = "command line",
              prefix: str = "", base: T | None = None) -> T:
    """Parameters from parsed options (only those given), checked like a scenario
    section (messages name the option: ``--bus-capacity 2.5: not a positive whole
    number``); ``base`` gives the values of options not given."""
    given = {}
    for f in fields(cls):  # type: ignore[arg-type]
        v = getattr(args, prefix + f.name, None)
        if v is not None:
            given[f.name] = v
    out = cls.from_dict(given, where, option=True)
    if base is not None:
        out = replace(base, **{k: getattr(out, k) for k in given})
    return out


# ---------------------------------------------------------------------------
# the parameters
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SolveParams(Params):
    """How every optimisation of a run is solved (top-level keys of a scenario)."""

    solver: str = setting("highs", one_of("highs", "cbc"), "MIP solver")
    time_limit: float = setting(60.0,  # not-a-rule: seconds, not a speed
                                POSITIVE, "seconds per optimisation")
    seed: int = setting(0, NON_NEGATIVE_INT, "random seed of the routing heuristic")


@dataclass(frozen=True)
class RotationParams(Params):
    """``rotation:`` of a scenario; ``planner rotate`` options."""

    share: float | None = setting(None, optional(FRACTION),
                                  "fraction 0-1 of the eligible teachers who must move "
                                  "(0.10 = 10 %); default: the standard's, indicator 19")
    backbone_share: float | None = setting(None, optional(FRACTION),
                                           "fraction 0-1 of the movers (or of the required "
                                           "movers, see backbone-base) who must be backbone "
                                           "teachers; default: the standard's, indicator 19")
    backbone_base: str | None = setting(None, optional(one_of("rotated", "eligible")),
                                        "what the backbone share is taken of: rotated (the "
                                        "movers) or eligible (the required movers, "
                                        "ceil(share x eligible)); default: the district's "
                                        "setting")
    band: float = setting(0.10, FRACTION,  # not-a-rule: a head-count band, not indicator 19
                          "head-count band, a fraction 0-1: each school keeps between "
                          "(1 - band) and (1 + band) times today's teachers (0.10 = +-10 %)")
    max_send_share: float = setting(0.30, FRACTION,
                                    "fraction 0-1: the most of a school's teachers it may send "
                                    "(at least one)")
    direction_rule: bool = setting(False, BOOL,
                                   "make the purpose a hard rule: every move goes toward need "
                                   "(a town or village school, or a weak school that lacks "
                                   "what the teacher brings) or is a leg of an exchange, and "
                                   "every backbone mover goes toward need; without it this is "
                                   "the first goal of the plan")
    urban_moves: bool = setting(False, BOOL,
                                "allow moves into urban schools that are not weak (without "
                                "it only the learning leg of an exchange goes there)")
    exchange_partners: int = setting(2, NON_NEGATIVE_INT,
                                     "a whole number: each school in need may exchange "
                                     "teachers with this many of its nearest urban schools "
                                     "that are not weak (0: no exchanges)")
    move_type: str = setting("transfer", one_of("transfer", "support", "itinerant"),
                             "the form of this year's moves on the list: transfer (交流), "
                             "support (支教) or itinerant (走教); the learning leg of an "
                             "exchange is always shadowing (跟岗)")
    period_years: int = setting(3, NON_NEGATIVE_INT,
                                "a whole number of years: how long this year's moves last "
                                "(the list's period; rotation history returns the teacher when "
                                "it ends); 0: for good")
    cycle_years: int = setting(6, POSITIVE_INT,
                               "a whole number of school years: a teacher who moved within "
                               "this many years before the list's school year "
                               "(rotation_history) is not eligible")
    school_year: int | None = setting(None, optional(POSITIVE_INT),
                                      "the school year of the list, as the year it starts "
                                      "(2025 = 2025/26); default: the year after the latest "
                                      "of rotation_history, or none without history")

    def resolved(self, rules: Any, backbone_base: str) -> RotationParams:
        """These parameters with every ``None`` filled: the shares from ``rules``
        (:class:`~planner.core.rules.Rules`, indicator 19), ``backbone_base`` from the
        given default (the district's ``settings.backbone_base``)."""
        return replace(
            self, share=rules.rotation_share if self.share is None else self.share,
            backbone_share=(rules.rotation_backbone_share if self.backbone_share is None
                            else self.backbone_share),
            backbone_base=backbone_base if self.backbone_base is None else self.backbone_base)


@dataclass(frozen=True)
class ConsolidationParams(Params):
    """``consolidation:`` of a scenario; ``planner consolidate`` options."""

    mode: str = setting("plan", one_of("plan", "optimise"),
                        "plan: the closures given; optimise: the model chooses")
    closures: Any = setting(None, None, "plan mode: a closures file (CSV/XLSX) or a list "
                                        "of {school_id, receiving_school_id, share}")
    max_ride_min: float | None = setting(None, optional(POSITIVE),
                                         "longest ride of a pupil, minutes (default: the "
                                         "standard's transport rule)")
    bus_capacity: int | None = setting(None, optional(POSITIVE_INT),
                                       "seats per bus (default: the standard's)")
    candidates_max_pupils: int | None = setting(None, optional(NON_NEGATIVE_INT),
                                                "optimise: schools under this many pupils "
                                                "may close (default: the standard's)")
    costs: Costs = setting(default_factory=Costs, help="yuan a year; see models.consolidation")
    walk_limit_m: float = setting(1000.0, POSITIVE,
                                  "longest walk from home to a bus stop, metres (grades 1-3 "
                                  "board in their own village)")
    young_share: float = setting(0.5,  # not-a-rule: three of six primary grades, no CV limit
                                 FRACTION, "share of a primary school's pupils in grades 1-3 "
                                           "(the data hold no grades)")
    catchment_units: Any = setting(None, optional(TEXT),
                                   "the former catchments: a units.csv of a catchment plan "
                                   "(unit_id, stage, school_id); default: each unit to its "
                                   "nearest school")
    bell_time: str = setting("08:00", CLOCK, "school bell of every receiving school (HH:MM)")
    bell_times: Any = setting(None, BELLS, "bell of a receiving school, by school id "
                                           "({school_id: HH:MM}); others ring at bell_time")
    arrival_margin_min: float = setting(5.0, NON_NEGATIVE,
                                        "buses arrive at least this many minutes before "
                                        "the bell")
    earliest_arrival_min: float = setting(30.0,  # not-a-rule: a school gate, not the ride limit
                                          POSITIVE, "and at most this many minutes before it "
                                                    "(when the school opens its gate)")
    stop_dwell_min: float = setting(1.0, NON_NEGATIVE,
                                    "minutes a bus stands at a stop to board (and at school "
                                    "to unload)")
    max_trips: int = setting(3, POSITIVE_INT, "trips one bus may run before the bell")
    route_seconds: float = setting(2.0, POSITIVE,
                                   "routing time budget per receiving school, seconds "
                                   "(iterations calibrated to it: deterministic)")


@dataclass(frozen=True)
class CatchmentParams(Params):
    """``catchments:`` of a scenario; ``planner catchments`` options."""

    stages: tuple[str, ...] = setting(("primary", "junior"), Check(
        lambda v: isinstance(v, (list, tuple, str)) and all(
            s in ("primary", "junior") for s in ([v] if isinstance(v, str) else v)),
        "a list of stages (primary, junior)",
        lambda v: (v,) if isinstance(v, str) else tuple(v)), "stages to zone")
    k_nearest: int = setting(8, POSITIVE_INT, "candidate schools per unit (exact, sweep and "
                                              "flow double it while they are proven too "
                                              "few; the summary gives the k used)")
    contiguity: str = setting("exact", one_of("exact", "sweep", "cheap", "flow"),
                              "exact (default): contiguous zones proven optimal by "
                              "separator cuts; sweep: a unit joins a school only through a "
                              "neighbour met earlier in a cheapest-first sweep from the "
                              "school (faster, a restriction); cheap: through a neighbour "
                              "nearer to the school; flow: the exact flow formulation "
                              "(slower than exact)")
    stability_penalty: float = setting(0.0, NON_NEGATIVE,
                                       "cost (km) added per child whose school changes")
    include_boarding: bool = setting(True, BOOL, "zone boarding schools too")
    include_private: bool = setting(False, BOOL, "zone private schools too")
    keep_current: bool = setting(True, BOOL,
                                 "today's pupils stay at their school until they finish the "
                                 "stage (false: they move to their zone's school at once)")
    take_up: float | None = setting(None, optional(Check(
        lambda v: _num(v) and 0 < v <= 1, "a number above 0 and at most 1", float)),
        "share of a unit's children who enter a zoned school (default: today's, the "
        "zoned schools' pupils over the children of the stage, at most 1)")
    max_changed: int | None = setting(None, optional(NON_NEGATIVE_INT),
                                      "at most this many pupils (at full turnover) may "
                                      "change school; default: no cap")
    gap: float = setting(0.01, FRACTION,  # not-a-rule: an optimality tolerance, not a share
                         "relative gap, against a valid bound of the contiguous problem, "
                         "at which a plan counts as proven (0: to the solver's default)")
    plan: Any = setting(None, optional(TEXT), "a catchment file (units.csv of a run, or one "
                                              "saved by planner serve: unit_id, stage, "
                                              "school_id) used as the plan instead of solving")


# ---------------------------------------------------------------------------
# remediation (issue 13): a class of its own at the end of the file
# ---------------------------------------------------------------------------

def _remediation_defaults() -> Any:
    """The model's solver settings (:class:`models.remediation.RemediationSettings`):
    their defaults are the ones :class:`RemediationParams` offers."""
    from models.remediation import RemediationSettings
    return RemediationSettings()


_REM = _remediation_defaults()


def _is_cost_value(v: Any) -> bool:
    return _num(v) and v >= 0


#: a cost override: a YAML file of cost keys (a path), or a mapping of them to yuan
COST_OVERRIDES = Check(
    lambda v: v is None or isinstance(v, Path) or (isinstance(v, str) and v.strip() != "")
    or (isinstance(v, Mapping) and all(isinstance(k, str) and _is_cost_value(x)
                                       for k, x in v.items())),
    "a cost file or a mapping of cost keys to non-negative yuan",
    lambda v: None if v is None else Path(v) if isinstance(v, str) else
    (v if isinstance(v, Path) else {str(k): float(x) for k, x in v.items()}))


@dataclass(frozen=True)
class RemediationParams(Params):
    """``remediation:`` of a scenario; ``planner remediate`` options (the solver and
    its time limit are the run's :class:`SolveParams`)."""

    cost_table: str = setting("costs-hunan-2023", TEXT,
                              "the unit-cost table: planner/standards/<name>.yaml, or a path")
    costs: Any = setting(None, COST_OVERRIDES,
                         "unit costs overriding the table: a YAML file of cost keys "
                         "(yuan per unit) or, in a scenario, a mapping of them")
    # not the model's 1 year: a planner weighs a building against a decade of a
    # recurring cost (a bus seat, a salary), not against one year of it
    recurring_years: float = setting(10.0, POSITIVE,
                                     "years of recurring cost (hires, funds, pupil moves) "
                                     "weighed against one-off cost in the least-cost plan")
    gap: float = setting(_REM.gap, FRACTION, "relative optimality gap of the plan")
    move_candidates: int = setting(8, NON_NEGATIVE_INT,
                                   "nearest receiving schools offered to a school part that "
                                   "fails indicator 4-7, 12 or 13 (0: pupils never move)")
    max_move_min: float | None = setting(None, optional(POSITIVE),
                                         "longest trip to a receiving school, minutes "
                                         "(default: the standard's ride limit)")
    area_step: float = setting(_REM.area_step, NON_NEGATIVE,
                               "areas are built in whole multiples of this many m²")
    money_step: float = setting(_REM.money_step, NON_NEGATIVE,
                                "money is rounded up to whole multiples of this many yuan")


# ---------------------------------------------------------------------------
# projection and roadmap (issue 19): classes of their own at the end of the file
# ---------------------------------------------------------------------------

def _projection_defaults() -> Any:
    """The model's settings (:class:`models.projection.ProjectionSettings`): their
    defaults are the ones :class:`ProjectionParams` offers."""
    from models.projection import ProjectionSettings
    return ProjectionSettings()


_PRO = _projection_defaults()


@dataclass(frozen=True)
class ProjectionParams(Params):
    """``planner project`` options and ``roadmap.projection`` of a scenario (the
    formulation: :mod:`models.projection`)."""

    years: int = setting(6, POSITIVE_INT, "school years projected past the last history year")
    window: int = setting(_PRO.window, POSITIVE_INT, "history years of ratios used")
    decay: float = setting(_PRO.decay, Check(lambda v: _num(v) and 0 < v <= 1,
                                             "a number in (0, 1]", float),
                           "weight of a history year relative to the next one")
    shrink_pupils: float = setting(_PRO.shrink_pupils, NON_NEGATIVE,
                                   "pupils at risk at which a school's own ratio and its "
                                   "group's weigh equal")
    prior_dof: float = setting(_PRO.prior_dof, NON_NEGATIVE,
                               "pseudo-years of the group's variance in the band")
    band: float = setting(_PRO.band, Check(lambda v: _num(v) and 0 < v < 1,
                                           "a number between 0 and 1", float),
                          "coverage of the prediction band")
    draws: int = setting(_PRO.draws, NON_NEGATIVE_INT,
                         "simulations of the band (0: no band)")
    seed: int = setting(_PRO.seed, NON_NEGATIVE_INT, "random seed of the band")
    min_base_years: int = setting(_PRO.min_base_years, POSITIVE_INT,
                                  "backtest: history years needed up to a base year")


def _is_year(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1900 < v < 2200  # not-a-rule


def _is_budget(v: Any) -> bool:
    if v is None or (_num(v) and v >= 0):
        return True
    return isinstance(v, Mapping) and len(v) > 0 and all(
        _is_year(k) and _num(x) and x >= 0 for k, x in v.items())


BUDGET = Check(_is_budget, "yuan a year, or a mapping of school years to yuan",
               lambda v: None if v is None else float(v) if _num(v) else
               {int(k): float(x) for k, x in sorted(v.items())})
YEAR = Check(_is_year, "a school year such as 2025", int)
PHASING = Check(lambda v: v is None or (isinstance(v, Mapping) and all(
    isinstance(k, (str, int)) and not isinstance(k, bool) and _is_year(y)
    for k, y in v.items())), "a mapping of school ids to school years",
    lambda v: None if v is None else {str(k): int(y) for k, y in sorted(
        v.items(), key=lambda kv: str(kv[0]))})


@dataclass(frozen=True)
class RoadmapParams(Params):
    """``roadmap:`` of a scenario: the years, the budget and the closures of the road
    (:mod:`planner.plans.roadmap`)."""

    first_year: int | None = setting(None, optional(YEAR),
                                     "first school year of the road (default: the year "
                                     "after the last history year)")
    last_year: int | None = setting(None, optional(YEAR),
                                    "last school year of the road (default: first + 2)")
    budget_yuan: Any = setting(None, BUDGET,
                               "money for new remediation actions each year: one figure, or "
                               "a mapping of school years to yuan (default: no limit)")
    closures: Any = setting(None, None,
                            "schools to close and their receivers: a closures file (as "
                            "consolidation.closures) or a list of {school_id, "
                            "receiving_school_id, share}")
    phasing: Any = setting(None, PHASING,
                           "school id → school year of its closure; a school of closures "
                           "without a year closes in the first year its projected pupils "
                           "are under the standard's candidate size")
    rotation: bool = setting(True, BOOL, "rotate teachers every year")
    projection: ProjectionParams = setting(default_factory=ProjectionParams)


@dataclass(frozen=True)
class ProvinceParams(Params):
    """``planner province`` options: how the counties of a province are run
    (:func:`planner.province.run_province`)."""

    workers: int | None = setting(None, optional(NON_NEGATIVE_INT),
                                  "worker processes of the local Dask cluster, one thread "
                                  "each (default: the machine's cores, at most one per "
                                  "county); 0: one county after another in this process, "
                                  "without Dask")
    scheduler: str | None = setting(None, optional(TEXT),
                                    "address of a running Dask scheduler (tcp://host:8786) "
                                    "whose workers run the counties, instead of a local "
                                    "cluster")
    resume: bool = setting(False, BOOL,
                           "keep the counties whose results are written and whose inputs "
                           "have not changed; run only the others")


@dataclass(frozen=True)
class SynthProvinceParams(Params):
    """``planner synth-province`` options (:func:`planner.io.synth_province.synth_province`)."""

    seed: int = setting(0, NON_NEGATIVE_INT, "random seed")
    min_schools: int = setting(40, POSITIVE_INT,  # not-a-rule: smallest synthetic county
                               "fewest schools of a county (at least 10)")
    max_schools: int = setting(600, POSITIVE_INT,  # not-a-rule: largest synthetic county
                               "most schools of a county")
    median_schools: int = setting(150, POSITIVE_INT,  # not-a-rule: a Hunan county's median
                                  "median number of schools of a county (teaching points "
                                  "included)")
