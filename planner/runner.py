"""The main job: a scenario run from the district to the documents (``planner run``).

Baseline check → consolidation → rotation on the consolidated district → catchments →
the remediation programme on the post-plan district → check again → independent
verification → the plans' files, the indicator files, the map, the report and the
workbook. The runner sits above the plans and the outputs
(docs/architecture.md): it is the one place that ties them together.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from planner.plans.scenario import RunResult, Scenario, input_hash


class _Progress:
    """One line per step on stderr, with elapsed seconds (kept out of the files)."""

    def __init__(self, quiet: bool = False, lang: str = "zh", started: float | None = None,
                 progress=None):
        self.t0 = time.perf_counter() if started is None else started
        self.last = self.t0
        self.quiet = quiet
        self.lang = lang
        self.timings: dict[str, float] = {}
        self.progress = progress

    def step(self, name: str, show: bool = True) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.last, 3)
        self.last = now
        if show and self.progress is not None:   # e.g. planner serve's live progress
            self.progress(name, round(now - self.t0, 3))
        if show and not self.quiet:
            from planner.outputs.i18n import tr
            print(f"[{now - self.t0:6.1f} s] {tr('run.step.' + name, self.lang)}",
                  file=sys.stderr, flush=True)



def run_language(scenario: Scenario, lang: str | None = None) -> str:
    """The language of a run: ``lang`` (``--lang``) when given, else the scenario's
    ``lang:``, else Chinese."""
    return lang or scenario.lang or "zh"



def run_scenario(scenario: Scenario, out: str | Path, lang: str | None = None,
                 quiet: bool = False, anonymise: bool = False, force: bool = False,
                 started: float | None = None,
                 progress: Callable[[str, float], None] | None = None) -> RunResult:
    """Baseline check → consolidation → rotation on the consolidated district →
    catchments → check again → verify → files, in the language of
    :func:`run_language`.

    ``out`` is written under the output contract (:class:`planner.io.export.OutputFolder`):
    it is locked against a second run, everything is written into this run's own
    staging folder inside it and moved into place as one set at the end, so a run
    that is killed or fails leaves the earlier complete output as it was; only the
    toolkit's own files are replaced (``force``: see the contract). A plan that no
    choice can make meet its hard limits is not an exception: its outcome's status
    says so (:attr:`RunResult.every_plan_made`). ``started`` is when the command
    line started (``timings.json``'s ``startup``: imports and parsing); the times
    of loading and of every step follow. ``progress(step, seconds)`` is called as
    each step ends (``run.step.<step>`` of the catalogue: load, before,
    consolidation, rotation, catchments, after, verify, write), with the seconds
    since the run began."""
    from planner.core.district import anonymise as _anon
    from planner.io.export import output_folder
    from planner.io.load import load_district
    lang = run_language(scenario, lang)
    prog = _Progress(quiet, lang, started, progress)
    if started is not None:
        prog.step("startup", show=False)
    district = load_district(scenario.district)
    if anonymise:
        district = _anon(district)
    prog.step("load")
    cons = scenario.consolidation
    closures = cons.closures if cons is not None and isinstance(cons.closures, Path) else None
    with output_folder(out, "run", districts=[scenario.district],
                       inputs=(scenario.path, closures), force=force) as of:
        res = _run(scenario, district, of.staging, lang, prog=prog)
        of.commit()
    res.out = of.path
    return res



def _run(scenario: Scenario, district, out: Path, lang: str, quiet: bool = False,
         prog: _Progress | None = None, progress=None) -> RunResult:
    from planner.indicators.engine import check
    from planner.io.export import write_json
    from planner.plans import catchments as cat
    from planner.plans import rotation as rot

    rules = district.rules
    solve = scenario.solve
    if prog is None:                    # called without run_scenario: time from here
        prog = _Progress(quiet, lang, progress=progress)
        prog.step("load")
    before = check(district, rules=rules)
    prog.step("before")
    res = RunResult(out=out, before=before, after=None, lang=lang)
    current = district

    if scenario.consolidation is not None:
        from planner.plans import consolidation as con
        c = scenario.consolidation
        res.consolidation = con.consolidate(current, c, solve)
        if res.consolidation.status.has_plan:
            current = res.consolidation.district_after
        (out / "consolidation").mkdir(exist_ok=True)
        from planner.outputs import consolidation as con_out
        con_out.write_files(res.consolidation, out / "consolidation", lang)
        prog.step("consolidation")

    rotation_counts = None
    if scenario.rotation is not None:
        r = scenario.rotation
        res.rotation = rot.rotate(current, r, solve)
        (out / "rotation").mkdir(exist_ok=True)
        from planner.outputs import rotation as rot_out
        rot_out.write_files(res.rotation, out / "rotation", lang)
        rotation_counts = res.rotation.indicator_19()
        if res.rotation.status.has_plan:
            current = res.rotation.district_after
        prog.step("rotation")

    catchment_shares = None
    if scenario.catchments is not None:
        k = scenario.catchments
        res.catchments = cat.catchment_plan(current, k, solve)
        (out / "catchments").mkdir(exist_ok=True)
        from planner.outputs import catchments as cat_out
        cat_out.write_files(res.catchments, out / "catchments", lang)
        catchment_shares = cat.share_for_indicator_21(res.catchments, current)
        # the check after the plans sees the zones: enrolment at full turnover
        current = cat.district_after(current, res.catchments)
        prog.step("catchments")

    if scenario.remediation is not None:
        # the programme that closes what the plans leave open, on the post-plan district
        from planner.plans import remediation as rem
        res.remediation = rem.remediate(current, scenario.remediation, solve, rules=rules,
                                        rotation=rotation_counts, catchments=catchment_shares,
                                        where=f"{scenario.path.name} key remediation.costs")
        (out / "remediation").mkdir(exist_ok=True)
        from planner.outputs import remediation as rem_out
        rem_out.write_files(res.remediation, out / "remediation", lang)
        prog.step("remediation")

    if getattr(scenario, "roadmap", None) is not None:
        # the road from today's district, year by year on projected enrolment (issue 19)
        from planner.plans import roadmap as road
        res.roadmap = road.roadmap(district, scenario.roadmap, solve,
                                   rotation=scenario.rotation, remediation=scenario.remediation,
                                   catchments=scenario.catchments)
        from planner.outputs import roadmap as road_out
        road_out.write_files(res.roadmap, out / "roadmap", lang)
        prog.step("roadmap")

    res.after = check(current, rotation=rotation_counts, catchments=catchment_shares,
                      rules=rules)
    prog.step("after")

    from planner.verify import recorded_paths, verify_outcomes
    res.verification = verify_outcomes(district, res)
    prog.step("verify")

    meta = {"scenario": scenario.resolved(), "input_sha256": input_hash(scenario),
            "toolkit_version": _version(),
            # the district and closures relative to the run folder: `planner verify`
            # finds them from any working folder
            "paths": recorded_paths(scenario, out)}
    write_json(meta, out / "scenario.json")
    before_d = before.to_dict()
    after_d = res.after.to_dict()
    before_d["scenario"] = after_d["scenario"] = meta
    write_json(before_d, out / "indicators_before.json")
    write_json(after_d, out / "indicators_after.json")
    from planner.outputs.run import figures, write_views
    write_views(district, res, scenario, meta, lang)
    res.figures = figures(res)
    write_json(res.figures, out / "figures.json")
    prog.step("write")
    res.timings = dict(prog.timings, total=round(time.perf_counter() - prog.t0, 3))
    write_json({"seconds": res.timings,
                "solve_seconds": {kind: solve_seconds(o) for kind, o in res.plans()},
                "note": "wall-clock times; every other file is identical run to run"},
               out / "timings.json")
    return res



def solve_seconds(outcome) -> float | None:
    """The solver's seconds of a plan's outcome (of a list of outcomes: their sum), for
    ``timings.json`` (a plan's ``summary.json`` keeps ``solve_seconds: null`` so that
    identical runs give identical files)."""
    if isinstance(outcome, (list, tuple)):
        found = [v for v in (solve_seconds(o) for o in outcome) if v is not None]
        return round(sum(found), 3) if found else None
    result = getattr(outcome, "result", None)
    for name in ("seconds", "solve_seconds"):
        v = getattr(result, name, None)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return round(float(v), 3)
    return None


def _version() -> str:
    from planner import __version__
    return __version__
