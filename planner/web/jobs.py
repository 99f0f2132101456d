"""Runs of ``planner serve``: one scenario run per job, one at a time, in a worker thread.

A job gets its own run folder (:meth:`Workspace.new_run_id`, created when the job is
queued), so two runs of one scenario never write over each other. The run itself is
:func:`planner.runner.run_scenario`, which builds the folder under a hidden name and
renames it when complete; its ``progress`` callback fills the job's steps as they end.
A run that fails (bad scenario, bad data, an internal error) records its error lines,
removes its own empty folder and touches nothing else: earlier runs stay as they were.

A job's record is ``WORKSPACE/.web/jobs/<id>.json`` (status, steps with seconds, the
error lines, the figures); a job left queued or running by a stopped server is
marked failed (``interrupted``) when the next one starts.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from planner.web.workspace import Workspace, remove_tree

#: the steps of a run in order (catalogue ``run.step.<step>``); the plan steps only
#: when the scenario makes that plan
STEPS = ("load", "before", "consolidation", "rotation", "catchments", "after", "verify", "write")
PLAN_STEPS = ("consolidation", "rotation", "catchments")


@dataclass
class Job:
    """One run: ``status`` queued, running, done (every plan made and verified),
    no_plan (a plan could not meet its hard limits), unverified (the verifier found
    a problem) or failed (the run stopped: ``error`` says why)."""

    id: str
    scenario: str                       # the scenario's workspace name
    title: str = ""
    lang: str = "zh"
    status: str = "queued"
    planned: list[str] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)
    error: list[str] = field(default_factory=list)
    error_kind: str = ""                # data, plan_input, internal, interrupted
    queued_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    figures: dict[str, Any] = field(default_factory=dict)
    verification: list[str] = field(default_factory=list)
    no_plan: list[str] = field(default_factory=list)
    input_sha256: str = ""

    @property
    def finished(self) -> bool:
        return self.status not in ("queued", "running")

    @property
    def has_files(self) -> bool:
        return self.status in ("done", "no_plan", "unverified")

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return round(self.finished_at - self.started_at, 1)
        return None

    def to_json(self) -> dict:
        d = asdict(self)
        d["steps"] = [list(s) for s in self.steps]
        d["finished"] = self.finished
        d["has_files"] = self.has_files
        d["seconds"] = self.seconds
        return d

    @classmethod
    def from_json(cls, d: dict) -> Job:
        keep = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        keep["steps"] = [tuple(s) for s in keep.get("steps", [])]
        return cls(**keep)


class Runner:
    """The job queue of a workspace and its one worker thread."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.queue: queue.Queue[str] = queue.Queue()
        self._load()
        self.worker = threading.Thread(target=self._work, name="planner-runs", daemon=True)
        self.worker.start()

    # ---------------------------------------------------------------- records

    def _path(self, job_id: str) -> Path:
        return self.ws.state / "jobs" / f"{job_id}.json"

    def _load(self) -> None:
        for p in sorted((self.ws.state / "jobs").glob("*.json")):
            try:
                job = Job.from_json(json.loads(p.read_text(encoding="utf-8")))
            except (ValueError, TypeError):
                continue
            if not job.finished:
                job.status, job.error_kind = "failed", "interrupted"
                job.finished_at = job.finished_at or time.time()
                folder = self.ws.runs / job.id
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
                self._save(job)
            self.jobs[job.id] = job

    def _save(self, job: Job) -> None:
        p = self._path(job.id)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(json.dumps(job.to_json(), ensure_ascii=False, indent=1),
                       encoding="utf-8")
        tmp.replace(p)

    def get(self, job_id: str) -> Job | None:
        with self.lock:
            return self.jobs.get(job_id)

    def all(self) -> list[Job]:
        with self.lock:
            return sorted(self.jobs.values(), key=lambda j: (j.queued_at, j.id), reverse=True)

    # ------------------------------------------------------------------ runs

    def submit(self, scenario_name: str, lang: str) -> Job:
        """Queue a run of ``scenarios/<scenario_name>.yaml`` (checked first: a bad
        scenario is a job that failed at once, with the loader's lines)."""
        from planner.core.errors import DataError
        from planner.plans.scenario import load_scenario
        path = self.ws.scenario_path(scenario_name)
        job_id = self.ws.new_run_id(scenario_name)
        job = Job(id=job_id, scenario=scenario_name, lang=lang, queued_at=time.time())
        try:
            scen = load_scenario(path)
            job.title = scen.name
            job.planned = [s for s in STEPS if s not in PLAN_STEPS
                           or getattr(scen, s) is not None]
        except DataError as e:
            job.status, job.error_kind, job.error = "failed", "data", list(e.problems)
            job.started_at = job.finished_at = time.time()
            (self.ws.runs / job_id).rmdir()
        with self.lock:
            self.jobs[job_id] = job
            self._save(job)
        if not job.finished:
            self.queue.put(job_id)
        return job

    def _work(self) -> None:
        while True:
            job_id = self.queue.get()
            try:
                self._execute(self.jobs[job_id])
            finally:
                self.queue.task_done()

    def _execute(self, job: Job) -> None:
        from models.mip import SolverUnavailable
        from planner.core.errors import DataError, OutputError, PlanInputError
        from planner.plans.scenario import input_hash, load_scenario
        from planner.runner import run_language, run_scenario
        folder = self.ws.runs / job.id

        def progress(step: str, seconds: float) -> None:
            with self.lock:
                job.steps.append((step, seconds))
                self._save(job)

        with self.lock:
            job.status, job.started_at = "running", time.time()
            self._save(job)
        try:
            scen = load_scenario(self.ws.scenario_path(job.scenario))
            lang = run_language(scen, None if scen.lang else job.lang)
            job.input_sha256 = input_hash(scen)
            res = run_scenario(scen, folder, lang=lang, quiet=True, progress=progress)
        except DataError as e:
            self._fail(job, "data", list(e.problems))
        except (PlanInputError, OutputError, SolverUnavailable) as e:
            self._fail(job, "plan_input", [str(e)])
        except Exception as e:  # an internal error: one line, the run's folder gone
            self._fail(job, "internal", [f"{type(e).__name__}: {e}"])
        else:
            with self.lock:
                job.figures = dict(res.figures)
                job.verification = list(res.verification)
                job.no_plan = [k for k, st in res.statuses().items() if not st.has_plan]
                job.status = ("no_plan" if not res.every_plan_made else
                              "unverified" if res.verification else "done")
                job.finished_at = time.time()
                self._save(job)

    def _fail(self, job: Job, kind: str, lines: list[str]) -> None:
        folder = self.ws.runs / job.id
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        elif folder.exists() and not (folder / "scenario.json").exists():
            remove_tree(folder)
        with self.lock:
            job.status, job.error_kind, job.error = "failed", kind, lines
            job.finished_at = time.time()
            self._save(job)

    def wait(self, timeout: float = 120.0) -> None:
        """Block until every queued job has finished (tests)."""
        t0 = time.time()
        while self.queue.unfinished_tasks and time.time() - t0 < timeout:
            time.sleep(0.05)
