"""The province view: every county of a folder checked, and planned, on dask.distributed.

``run_province(counties_dir, out, scenario, params)`` treats every sub-folder of
``counties_dir`` (hidden ones, ``.x`` and ``_x``, left out) as a district, the folder
name as the county's key. For each county one task, on a Dask worker:

- without a scenario: load and check the district (:func:`planner.io.load.load_district`,
  :func:`planner.indicators.check`) and write its indicator JSON, workbook and report;
- with a scenario template: run it with its ``district:`` replaced by the county
  (``dataclasses.replace(scenario, district=...)`` and
  :func:`planner.runner.run_scenario`), which writes the county's whole run folder.

Each task works in a temporary folder of its worker and returns a language-free
result (:func:`county_result` keys below) and the bytes of the files it made; the
client writes them into ``out/counties/<key>/`` through a hidden staging folder
that is renamed when complete, the result (``result.json``) written last. So a run
that is killed leaves every finished county complete and nothing half written,
workers need no access to the output folder (only to the counties' data), and the
client is the only writer.

Robust at scale, and the readings taken:

- a county that fails never stops the others. Its result has ``status``
  ``bad_input`` (a :class:`~planner.core.errors.DataError`,
  :class:`~planner.core.errors.PlanInputError`, OutputError or a missing solver:
  the lines name the file, row and column), ``no_plan`` (a plan the scenario asks
  for has no plan within its hard limits: infeasible, no plan within the time
  limit, a solver error; the run's files are still written) or ``error`` (any other
  exception, a worker that died, or a plan the independent verifier rejects);
  ``ok`` otherwise. Not meeting the standard is an ``ok`` result;
- ``--resume`` keeps a county whose ``result.json`` is there, whose fingerprint
  (:func:`fingerprint`: the bytes of the county's files, the scenario template and
  its closures file, the language, the toolkit version) is unchanged and whose
  status is not ``error`` (an internal error may be transient, so it is retried);
  every other county is run again;
- results are byte-identical whatever the number of workers or their order:
  each county is computed alone from its own files, results are kept by key and
  written sorted, nothing holds a time or a worker's name, and wall-clock times go
  only into ``out/timings.json``. (A solve stopped by its time limit returns the
  best plan found by then, which depends on the machine's speed and load: only
  plans solved within their limits are reproducible, here as in ``planner run``.
  Each result says so per plan: ``within_limits`` and ``time_limited``, read from
  the plans' ``summary.json`` by :func:`time_limited`; the dashboard lists the
  counties that are not reproducible.)
- tasks are submitted largest county first (by input bytes), so the long ones do
  not finish last on an otherwise idle cluster.

Scheduling: a ``LocalCluster`` of ``params.workers`` processes with one thread each
(each solver is single-threaded; HiGHS runs with ``threads=1``), or the workers of
a running scheduler (``params.scheduler``, e.g. ``tcp://host:8786`` of
``dask scheduler``); ``workers=0`` runs the counties one after another in this
process, without Dask. With a remote cluster, the workers must see the counties'
folders (and the scenario) under the same paths, as on a shared file system.

This module holds no words: the dashboard and the progress bar are made by
:mod:`planner.outputs.province`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from planner.core.errors import DataError, OutputError, PlanInputError
from planner.core.params import ProvinceParams
from planner.plans.scenario import Scenario

__all__ = ["County", "Job", "Progress", "ProvinceResult", "discover", "fingerprint",
           "run_province", "county_task", "report_summary", "time_limited", "STATUSES"]

#: a county's result status, from done to failed
STATUSES = ("ok", "no_plan", "bad_input", "error")
RESULT_FILE = "result.json"
COUNTIES = "counties"
PROVINCE_FILE = "results.json"
TIMINGS_FILE = "timings.json"
#: a run's wall-clock file: its times go into the province's timings.json instead
RUN_TIMINGS = "timings.json"
_DEFAULTS = ProvinceParams()
OUTLINE_POINTS = 400          # at most this many points of a county's outline
#: a solve's status in a plan's summary.json when it stopped before it finished: a plan
#: not proven optimal (the time limit, or a gap it could not close in time) or none found
STOPPED = ("feasible", "no_plan_in_time")


@dataclass(frozen=True)
class County:
    """One district folder of the province; ``key`` is its folder name."""

    key: str
    path: Path


@dataclass(frozen=True)
class Job:
    """What one task needs (pickled to a worker)."""

    key: str
    path: Path
    scenario: Scenario | None
    lang: str
    anonymise: bool
    fingerprint: str
    size: int = 0


@dataclass(frozen=True)
class Progress:
    """The state after each finished county (``last`` its result; ``None`` at the
    start). ``left``: seconds still to go, from the pace of the counties computed in
    this run (``None`` before the first one); ``workers`` and ``where`` (``local``,
    ``serial`` or the scheduler's address) say what runs them."""

    done: int
    total: int
    computed: int
    elapsed: float
    left: float | None
    last: dict | None = None
    workers: int = 0
    where: str = ""


@dataclass
class ProvinceResult:
    """What :func:`run_province` made: every county's result by key (sorted), which
    were computed now and which kept (``--resume``), the wall-clock seconds."""

    out: Path
    counties: list[dict]
    computed: list[str]
    resumed: list[str]
    scenario: Scenario | None
    lang: str
    workers: int
    scheduler: str
    seconds: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def by_status(self, status: str) -> list[dict]:
        return [c for c in self.counties if c["status"] == status]

    @property
    def all_ok(self) -> bool:
        return all(c["status"] == "ok" for c in self.counties)


# ---------------------------------------------------------------------------
# the counties
# ---------------------------------------------------------------------------

def discover(counties_dir: str | Path) -> list[County]:
    """Every sub-folder of ``counties_dir`` (not hidden), sorted by name."""
    d = Path(counties_dir)
    if not d.is_dir():
        raise PlanInputError(f"{d}: not a folder (a folder with one sub-folder per county)")
    subs = sorted((p for p in d.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))),
                  key=lambda p: p.name)
    if not subs:
        raise PlanInputError(f"{d}: holds no county folder (one sub-folder per district)")
    return [County(p.name, p.resolve()) for p in subs]


def _input_files(path: Path) -> list[Path]:
    return sorted((p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def fingerprint(county: County, scenario: Scenario | None, lang: str,
                anonymise: bool = False) -> str:
    """SHA-256 over what a county's result depends on: the names and bytes of the
    county folder's files, the scenario template's settings and bytes (and its
    closures file), the language, ``anonymise`` and the toolkit version."""
    from planner import __version__
    h = hashlib.sha256()
    head: dict[str, Any] = {"version": __version__, "lang": lang, "anonymise": anonymise}
    if scenario is not None:
        resolved = scenario.resolved()
        resolved.pop("district", None)
        head["scenario"] = resolved
    h.update(json.dumps(head, sort_keys=True, ensure_ascii=False, default=str).encode())
    files = [("county/" + p.name, p) for p in _input_files(county.path)]
    if scenario is not None:
        files.append(("scenario", scenario.path))
        c = scenario.consolidation.closures if scenario.consolidation is not None else None
        if isinstance(c, Path) and c.exists():
            files.append(("closures", c))
    for name, p in files:
        h.update(b"\0" + name.encode("utf-8") + b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------
# one county (runs on a worker)
# ---------------------------------------------------------------------------

def report_summary(report) -> dict:
    """The language-free summary of an indicator report that the province view
    needs: the verdict, each indicator's state, the CV table of 1-7 (``cv`` unrounded,
    as in the ``--json`` report: the presenters round it)."""
    from planner.indicators.engine import plain
    inds = [{"id": r.id, "class": r.cls, "name": r.name, "name_en": r.name_en,
             "passed": bool(r.passed), "no_data": bool(r.no_data),
             "failing_schools": len(r.failing_schools)} for r in report.indicators]
    cv = []
    for row in report.cv_table().to_dict("records"):
        r = plain({k: row.get(k) for k in ("indicator", "stage", "county_value", "threshold",
                                           "county_ok", "cv", "cv_limit", "cv_ok")})
        r["cv"] = plain(row.get("cv_exact", row.get("cv")))   # unrounded, as the JSON report
        cv.append(r)
    return plain({"a_total": report.a_total, "a_passed": report.a_passed,
                  "a_no_data": report.a_no_data, "b_score": report.b_score,
                  "b_grade": report.b_grade, "b_grade_en": report.b_grade_en,
                  "recognised": bool(report.recognised), "veto": list(report.veto),
                  "standard": report.standard,
                  "standard_title": {"zh": report.standard_title_zh,
                                     "en": report.standard_title_en},
                  "indicators": inds, "cv": cv})


def _outline(boundary) -> dict | None:
    """The county's outline as GeoJSON (simplified to at most OUTLINE_POINTS
    points, 5 decimals) and a point inside it for its label."""
    if boundary is None or boundary.is_empty:
        return None
    from shapely.geometry import mapping
    g = boundary
    x0, y0, x1, y1 = g.bounds
    tol = max(x1 - x0, y1 - y0) / 1000.0
    while _points(g) > OUTLINE_POINTS:
        g = boundary.simplify(tol, preserve_topology=True)
        tol *= 2
    p = boundary.representative_point()

    def rnd(c):
        if isinstance(c, (int, float)):
            return round(float(c), 5)
        return [rnd(x) for x in c]

    geom = mapping(g)
    return {"type": geom["type"], "coordinates": rnd(geom["coordinates"]),
            "label": [round(p.x, 5), round(p.y, 5)]}


def _points(g) -> int:
    import shapely
    return int(shapely.get_num_coordinates(g))


def _name_of(path: Path) -> str | None:
    """The ``name:`` of a county's district.yaml, when it can be read."""
    try:
        from planner.io.yamlsafe import load_yaml
        meta = load_yaml(path / "district.yaml", "district.yaml")
        name = meta.get("name") if isinstance(meta, dict) else None
        return str(name) if isinstance(name, (str, int)) and str(name).strip() else None
    except Exception:
        return None


def _outline_of(path: Path) -> dict | None:
    """The outline of a county that could not be loaded, from its boundary.geojson
    when that file can be read (so the map still shows where the county is)."""
    try:
        from shapely.geometry import shape
        from shapely.ops import unary_union
        data = json.loads((path / "boundary.geojson").read_text(encoding="utf-8"))
        return _outline(unary_union([shape(f["geometry"]) for f in data["features"]]))
    except Exception:
        return None


def time_limited(plan: str, summary: dict) -> list[str]:
    """Where the ``summary.json`` of ``plan`` says a solve stopped at its time limit,
    as paths into the summary (``""`` the plan itself, ``"junior"`` a stage,
    ``"levels/3"`` a rotation level, ``"routing/receivers/S07"`` a bus routing);
    empty when every solve finished within its limit. The readings:

    - a ``status`` of ``feasible`` or ``no_plan_in_time`` at any depth (the plan, a
      stage, a level, the bus chaining): the solver was stopped before it proved its
      plan optimal or before it found one. The models report ``optimal`` when the
      requested gap is reached, so ``feasible`` means a limit stopped them. One
      exception: consolidation in ``mode: plan`` evaluates a given closure list and
      reports ``feasible`` without solving (its routing is read as below);
    - a bus routing ``stopped_by: time_cap`` (PyVRP's wall-clock cap; its iteration
      budget is deterministic); a ``feasible`` catchment stage (and the catchments
      plan) with ``stopped_by: nodes`` was stopped by a node limit, a work limit, and
      is reproducible;
    - a remediation ``messages`` code ``time_limit``, and a model's developer
      ``notes`` that name the time limit (a catchment's relaxed "closest plan" is
      ``infeasible`` while its own solve may have been stopped).

    A plan stopped this way keeps the best plan found by then, which depends on the
    machine's speed and load: it is not reproducible."""
    out: list[str] = []

    def walk(x: Any, path: str) -> None:
        if isinstance(x, dict):
            st = x.get("status")
            given = plan == "consolidation" and path == "" and x.get("mode") == "plan"
            work = x.get("stopped_by") == "nodes"      # a work limit: reproducible
            if isinstance(st, str) and st in STOPPED and not given and not work:
                out.append(path)
            elif x.get("stopped_by") == "time_cap":
                out.append(path)
            elif "time_limit" in (x.get("messages") or []) or any(
                    isinstance(n, str) and "time limit" in n for n in x.get("notes") or []):
                out.append(path)
            for k, v in x.items():
                walk(v, f"{path}/{k}" if path else str(k))
        elif isinstance(x, list):
            for i, v in enumerate(x):
                key = next((v[k] for k in ("receiver", "level", "stage") if isinstance(v, dict)
                            and isinstance(v.get(k), (str, int))), i)
                walk(v, f"{path}/{key}")

    walk(summary, "")
    return sorted(set(out))


def _limits(plans: dict[str, str], files: dict[str, bytes]) -> dict[str, list[str]]:
    """:func:`time_limited` of each plan that ran, from its folder's summary files
    (``<plan>/summary.json``, ``<plan>/*summary.json``)."""
    out = {}
    for plan in sorted(plans):
        where: list[str] = []
        for rel in sorted(f for f in files if f.startswith(plan + "/") and
                          f.endswith("summary.json") and f.count("/") == 1):
            try:
                summary = json.loads(files[rel])
            except ValueError:
                continue
            where += time_limited(plan, summary)
        out[plan] = sorted(set(where))
    return out


def _failed(job: Job, status: str, lines: list[str], name: str | None = None) -> dict:
    return {"key": job.key, "name": name or _name_of(job.path) or job.key, "status": status,
            "messages": [str(x) for x in lines], "fingerprint": job.fingerprint,
            "check": None, "after": None, "figures": None, "plans": {}, "plan_lines": [],
            "within_limits": {}, "time_limited": {}, "report": None,
            "outline": _outline_of(job.path)}


def _collect(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _check_county(job: Job, district, tmp: Path) -> tuple[dict, dict[str, bytes]]:
    from planner.indicators.engine import check
    from planner.outputs.province import write_county_check
    report = check(district)
    report_file = write_county_check(district, report, tmp, job.lang)
    result = {"key": job.key, "name": district.name, "status": "ok", "messages": [],
              "fingerprint": job.fingerprint, "check": report_summary(report), "after": None,
              "figures": None, "plans": {}, "plan_lines": [], "within_limits": {},
              "time_limited": {}, "report": report_file, "outline": _outline(district.boundary)}
    return result, _collect(tmp)


def _run_county(job: Job, district, tmp: Path) -> tuple[dict, dict[str, bytes], dict]:
    from planner.outputs.run import no_plan_lines
    from planner.outputs.verification import problem_text
    from planner.runner import run_scenario
    assert job.scenario is not None
    scen = replace(job.scenario, district=job.path)
    res = run_scenario(scen, tmp / "run", lang=job.lang, quiet=True, anonymise=job.anonymise)
    files = _collect(res.out)
    run_t = json.loads(files.pop(RUN_TIMINGS, b"{}") or b"{}")
    timings = {**run_t.get("seconds", {}), "solve_seconds": run_t.get("solve_seconds")}
    if not res.every_plan_made:
        status, messages = "no_plan", []
    elif res.verification:
        status, messages = "error", [problem_text(p, job.lang) for p in res.verification]
    else:
        status, messages = "ok", []
    plans = {k: s.value for k, s in res.statuses().items()}
    limits = _limits(plans, files)
    result = {"key": job.key, "name": district.name, "status": status, "messages": messages,
              "fingerprint": job.fingerprint, "check": report_summary(res.before),
              "after": report_summary(res.after), "figures": res.figures,
              "plans": plans, "plan_lines": no_plan_lines(res, job.lang),
              "within_limits": {k: not v for k, v in limits.items()},
              "time_limited": {k: v for k, v in limits.items() if v},
              "report": "report.html",
              "outline": _outline(district.boundary)}
    return result, files, timings


def county_task(job: Job) -> tuple[dict, dict[str, bytes], dict]:
    """One county, start to end, in a temporary folder: ``(result, files, timings)``
    (``files``: relative path → bytes; ``timings``: wall-clock seconds, kept out of
    the result). Never raises for the county's own failures: they are its result."""
    from models.mip import SolverUnavailable
    from planner.core.district import anonymise
    from planner.io.load import load_district
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="planner-county-"))
    files: dict[str, bytes] = {}
    timings: dict = {}
    name = None
    try:
        district = load_district(job.path)
        name = district.name
        if job.anonymise:
            district = anonymise(district)
        if job.scenario is None:
            result, files = _check_county(job, district, tmp)
        else:
            result, files, timings = _run_county(job, district, tmp)
    except DataError as e:
        result, files = _failed(job, "bad_input", e.problems, name), {}
    except (PlanInputError, OutputError, SolverUnavailable) as e:
        result, files = _failed(job, "bad_input", [str(e)], name), {}
    except Exception as e:  # an internal error of this county only
        result, files = _failed(job, "error", [f"{type(e).__name__}: {e}"], name), {}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    timings = {**timings, "total": round(time.perf_counter() - t0, 3)}
    return result, files, timings


# ---------------------------------------------------------------------------
# the province (the client)
# ---------------------------------------------------------------------------

def _read_result(folder: Path) -> dict | None:
    try:
        data = json.loads((folder / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("status") in STATUSES else None


def _write_county(folder: Path, result: dict, files: dict[str, bytes]) -> None:
    """The county's folder, complete or not at all: files and result.json into a
    hidden staging folder, renamed over the old folder at the end."""
    from planner.io.export import write_json
    stage = folder.parent / f".{folder.name}.partial"
    old = folder.parent / f".{folder.name}.old"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for rel, data in sorted(files.items()):
        p = stage / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    write_json(result, stage / RESULT_FILE)
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    stage.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _check_out(out: Path, counties_dir: Path) -> Path:
    from planner.io.export import check_out_dir
    out = out.resolve()
    if out.exists() and out.is_dir() and any(out.iterdir()) and \
            not (out / COUNTIES).is_dir() and not (out / PROVINCE_FILE).exists():
        raise OutputError(f"--out {out}: the folder exists and is not a province folder; "
                          f"choose a new or empty folder")
    return check_out_dir(out, counties_dir)


def run_province(counties_dir: str | Path, out: str | Path, scenario: Scenario | None = None,
                 params: ProvinceParams = _DEFAULTS, lang: str = "zh",
                 anonymise: bool = False,
                 progress: Callable[[Progress], None] | None = None) -> ProvinceResult:
    """Check (and with ``scenario`` plan) every county of ``counties_dir``; write each
    county's folder as it finishes, then ``results.json``, the dashboard
    (``province.html``, ``province.xlsx``) and ``timings.json`` into ``out``.

    ``progress`` is called at the start and after every county. An interruption
    (``KeyboardInterrupt``) leaves every finished county written: rerun with
    ``params.resume``."""
    if params.workers is not None and params.scheduler is not None:
        raise PlanInputError("--workers, --scheduler: give one (a running cluster has its "
                             "own workers)")
    t0 = time.perf_counter()
    counties = discover(counties_dir)
    out = _check_out(Path(out), Path(counties_dir))
    cdir = out / COUNTIES
    cdir.mkdir(exist_ok=True)
    for stale in cdir.glob(".*"):          # staging folders of an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    jobs = [Job(c.key, c.path, scenario, lang, anonymise, fingerprint(c, scenario, lang,
                                                                          anonymise),
                sum(p.stat().st_size for p in _input_files(c.path))) for c in counties]
    results: dict[str, dict] = {}
    if params.resume:
        for j in jobs:
            r = _read_result(cdir / j.key)
            if r is not None and r.get("fingerprint") == j.fingerprint and \
                    r["status"] != "error":
                results[j.key] = r
    resumed = sorted(results)
    todo = sorted((j for j in jobs if j.key not in results), key=lambda j: (-j.size, j.key))
    keys = {j.key for j in jobs}
    for old in cdir.iterdir():             # counties no longer in the folder
        if old.is_dir() and old.name not in keys and (old / RESULT_FILE).exists():
            shutil.rmtree(old)

    total = len(jobs)
    seconds: dict[str, float] = {}
    county_timings: dict[str, dict] = {}
    computed: list[str] = []

    def report(last: dict | None) -> None:
        if progress is None:
            return
        el = time.perf_counter() - t0
        left = el / len(computed) * (total - len(results)) if computed else None
        progress(Progress(len(results), total, len(computed), el, left, last, workers, where))

    workers, where = _executor_info(params, len(todo))
    report(None)
    with closing(_execute(todo, params, workers)) as finished:
        for job, (result, files, timings) in finished:
            _write_county(cdir / job.key, result, files)
            results[job.key] = result
            computed.append(job.key)
            county_timings[job.key] = timings
            seconds[job.key] = timings.get("total", 0.0)
            report(result)

    ordered = [results[k] for k in sorted(results)]
    res = ProvinceResult(out=out, counties=ordered, computed=sorted(computed), resumed=resumed,
                         scenario=scenario, lang=lang, workers=workers, scheduler=where,
                         seconds=seconds)
    _write_province(res)
    res.wall = round(time.perf_counter() - t0, 3)
    from planner.io.export import write_json
    write_json({"seconds": {"total": res.wall, "counties": dict(sorted(seconds.items()))},
                "steps": dict(sorted(county_timings.items())), "workers": workers,
                "scheduler": where, "computed": res.computed, "resumed": resumed,
                "note": "wall-clock times and the cluster used; every other file is "
                        "identical whatever the workers"}, out / TIMINGS_FILE)
    return res


def _write_province(res: ProvinceResult) -> None:
    from planner.io.export import write_json
    from planner.outputs.province import write_dashboard
    scen = None
    if res.scenario is not None:
        scen = res.scenario.resolved()
        scen.pop("district", None)
    write_json({"counties": len(res.counties), "lang": res.lang, "scenario": scen,
                "results": res.counties}, res.out / PROVINCE_FILE)
    write_dashboard(res, res.out)


def _executor_info(params: ProvinceParams, n_todo: int) -> tuple[int, str]:
    """(workers, where) of this run, as recorded in timings.json."""
    if params.scheduler is not None:
        return 0, params.scheduler
    if params.workers == 0:
        return 0, "serial"
    n = params.workers if params.workers is not None else (os.cpu_count() or 1)
    return max(0, min(n, n_todo)), "local"


def _execute(todo: list[Job], params: ProvinceParams,
             workers: int) -> Iterator[tuple[Job, tuple[dict, dict[str, bytes], dict]]]:
    """(job, task output) of every county as it finishes."""
    if not todo:
        return
    if params.scheduler is None and params.workers == 0:
        for job in todo:
            yield job, county_task(job)
        return
    yield from _dask(todo, params, workers)


def _dask(todo: list[Job], params: ProvinceParams,
          workers: int) -> Iterator[tuple[Job, tuple[dict, dict[str, bytes], dict]]]:
    import logging

    import dask
    from distributed import Client, LocalCluster, as_completed
    cluster = None
    if params.scheduler is not None:
        try:
            client = Client(params.scheduler, timeout="30s")
        except (OSError, ValueError, TypeError) as e:
            raise PlanInputError(f"--scheduler {params.scheduler}: no Dask scheduler answers "
                                 f"there ({type(e).__name__}: {e})") from None
    else:
        # the workers' statistical profiler samples every task's stack each 10 ms: about
        # 8 % of a pure-Python county task here, and nobody reads it
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        futures = {}
        for job in todo:   # submitted largest first: the scheduler runs them in this order
            futures[client.submit(county_task, job, pure=False)] = job
        for fut in as_completed(futures):
            job = futures[fut]
            try:
                output = fut.result()
            except Exception as e:   # the worker died, the task could not be sent ...
                output = (_failed(job, "error", [f"{type(e).__name__}: {e}"]), {}, {})
            fut.release()
            yield job, output
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
