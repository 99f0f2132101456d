"""What every command shares: the district argument, --lang/--anonymise, --out/--force,
usage errors, clean printing and the command's timings.

Imports here are light (the standard library and the error types): a command's
heavy modules are imported inside its function, so building the parser of one
command never loads another's (``planner check`` never imports pyvrp, networkx
or scipy).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from pathlib import Path
from typing import Any, Iterator

from planner.core.errors import PlanInputError


class UsageError(PlanInputError):
    """A bad command-line value (exit 2)."""


# ---------------------------------------------------------------------------
# printing: no terminal control sequences from the data
# ---------------------------------------------------------------------------

#: ANSI/VT escape sequences (CSI ... final byte, OSC ... BEL or ST, two-byte ESC x),
#: then any other C0/C1 control character but tab and newline, DEL, and the
#: bidirectional overrides that can make a printed name read differently
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without terminal control sequences or control characters (tabs and
    newlines kept): what the command line prints of a name can never move the
    cursor, recolour or retitle the terminal, or hide text."""
    return _CONTROL.sub("", text)


class CleanStream:
    """A text stream (stdout, stderr) that writes :func:`clean_text` of everything."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(clean_text(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# ---------------------------------------------------------------------------
# arguments
# ---------------------------------------------------------------------------

def district_arg(p: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        p.add_argument("district", nargs="?", default=None,
                       help="district folder or .gpkg (default: the bundled Yunxi district)")
    else:
        p.add_argument("district", help="district folder or .gpkg")


def lang_arg(p: argparse.ArgumentParser, scenario: bool = False) -> None:
    """The options every command takes: --lang and --anonymise. A command that runs
    scenario files (``scenario=True``) leaves ``--lang`` unset by default: the run's
    language is then the scenario's ``lang:``, else zh."""
    if scenario:
        p.add_argument("--lang", choices=("zh", "en"), default=None,
                       help="language of the printed and written output (default: the "
                            "scenario's lang:, else zh)")
    else:
        p.add_argument("--lang", choices=("zh", "en"), default="zh",
                       help="language of the printed and written output (default zh)")
    p.add_argument("--anonymise", action="store_true",
                   help="replace teachers' names with stable pseudonyms in every output")


def out_arg(p: argparse.ArgumentParser, default: Path | None = None) -> None:
    """``--out DIR`` (required unless ``default``) and ``--force``: the output
    contract of :mod:`planner.io.export`."""
    if default is None:
        p.add_argument("--out", type=Path, required=True, help="output folder")
    else:
        p.add_argument("--out", type=Path, default=default,
                       help=f"output folder (default {default})")
    p.add_argument("--force", action="store_true",
                   help="write into an existing folder planner did not make (its files are "
                        "kept), and replace planner's own files changed since")


def load_arg(args) -> "District":  # noqa: F821
    """The district named on the command line, else the bundled one."""
    from planner.io.load import bundled_district, load_district
    d = load_district(args.district if args.district else bundled_district())
    if getattr(args, "anonymise", False):
        from planner.core.district import anonymise
        d = anonymise(d)
    timer_of(args).step("load")
    return d


# ---------------------------------------------------------------------------
# timings and a plan command's output folder
# ---------------------------------------------------------------------------

class Timer:
    """Wall-clock seconds of a command's steps, from the entry point
    (``planner.cli.STARTED``, before the heavy imports): ``startup`` (imports and
    parsing), then the steps the command marks; ``total`` at the end."""

    def __init__(self, started: float | None = None):
        self.t0 = time.perf_counter() if started is None else started
        self.last = self.t0
        self.seconds: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self.last, 3)
        self.last = now

    def plan(self, outcome: Any) -> None:
        """Mark the end of the plan step and keep the solver's seconds of ``outcome``."""
        from planner.runner import solve_seconds
        self.step("plan")
        self.solve = solve_seconds(outcome)

    def to_dict(self) -> dict:
        out = dict(self.seconds)
        out["total"] = round(time.perf_counter() - self.t0, 3)
        return {"seconds": out, "solve_seconds": getattr(self, "solve", None),
                "note": "wall-clock times; every other file is identical run to run"}


def timer_of(args) -> Timer:
    """The command's :class:`Timer` (made on first use, started at the entry point)."""
    t = getattr(args, "_timer", None)
    if t is None:
        t = Timer(getattr(args, "started", None))
        t.step("startup")
        args._timer = t
    return t


@contextlib.contextmanager
def plan_output(args, command: str, district: Any,
                inputs: tuple = ()) -> Iterator[Path]:
    """The output folder of a plan command (``rotate``, ``consolidate``,
    ``catchments``) under the output contract: yields the private staging folder
    to write the plan's files into; when the block ends without an error, adds
    ``timings.json`` and commits the files into ``--out`` as one set."""
    from planner.io.export import output_folder, write_json
    timer = timer_of(args)
    with output_folder(args.out, command, districts=[getattr(district, "path", None)],
                       inputs=inputs, force=getattr(args, "force", False)) as of:
        yield of.staging
        timer.step("write")
        write_json(timer.to_dict(), of.staging / "timings.json")
        of.commit()
