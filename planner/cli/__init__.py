"""The ``planner`` command line: a leaf that nothing in the library imports.

One module per command (``planner/cli/<command>.py``), each with ``register(sub)``
that adds its parser and sets ``func``. Exit codes, the same for every command
(README "Exit codes"):

- 0: done: every plan asked for was made (and, for ``run``/``demo``/``compare``,
  verified);
- 2: bad input: a :class:`~planner.core.errors.DataError` (one line per problem
  naming file, row and column, or key), a
  :class:`~planner.core.errors.PlanInputError` (a plan cannot be asked of this
  input; a bad option value), an :class:`~planner.core.errors.OutputError` (an
  output folder that may not be written) or a missing solver;
- 3: no plan satisfies the hard limits: a plan's status has no plan
  (:attr:`models.status.Status.has_plan` false: infeasible, no plan within the time
  limit, solver error); the lines printed name the limit and where;
- 1: internal error only: any other exception (one line; ``--debug`` shows the
  traceback), or a plan the toolkit made that its independent verifier rejects;
- 130: interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from planner import __version__

#: one module per command, in the order ``planner --help`` lists them
COMMAND_MODULES = ("info", "check", "rotate", "consolidate", "catchments", "remediate", "run",
                   "compare", "verify", "synth", "project", "serve")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="planner",
        description="县域义务教育优质均衡规划工具 / planning toolkit for high-quality "
                    "balanced compulsory education")
    ap.add_argument("--version", action="version", version=f"planner {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"planner.cli.{name}").register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 2
    out = getattr(args, "out", None)
    fresh = out is not None and not Path(out).exists()
    rc = _run_command(args)
    if rc != 0 and fresh:
        # a command that fails leaves no output folder it created and left empty
        _remove_empty_tree(Path(out))
    return rc


def _remove_empty_tree(folder: Path) -> None:
    """Remove ``folder`` if it holds no file (only empty folders); never a file."""
    if not folder.is_dir():
        return
    for p in sorted(folder.rglob("*"), key=lambda x: len(x.parts), reverse=True):
        if p.is_dir() and not p.is_symlink():
            try:
                p.rmdir()
            except OSError:
                return
        else:
            return
    try:
        folder.rmdir()
    except OSError:
        pass


def _run_command(args) -> int:
    from models.mip import SolverUnavailable
    from planner.core.errors import DataError, OutputError, PlanInputError
    try:
        return args.func(args)
    except DataError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except (PlanInputError, OutputError, SolverUnavailable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.: stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: one line unless --debug
        if args.debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
