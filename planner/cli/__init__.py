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
  output that may not be written: see the output contract in
  :mod:`planner.io.export`) or a missing solver;
- 3: no plan satisfies the hard limits: a plan's status has no plan
  (:attr:`models.status.Status.has_plan` false: infeasible, no plan within the time
  limit, solver error); the lines printed name the limit and where;
- 1: internal error only: any other exception (one line; ``--debug`` shows the
  traceback), or a plan the toolkit made that its independent verifier rejects;
- 130: interrupted (Ctrl-C, at any moment, the imports included), 143: terminated
  (SIGTERM); one line, no traceback, no partial output (the output contract).

Startup is light: this module and ``planner/__init__.py`` import only the
standard library, so an interrupt during the heavy imports is caught here; only
the module of the command asked for is imported (``planner check`` never loads
the optimisation stack), all of them only for ``planner --help`` or an unknown
command. Everything printed passes through :func:`planner.cli.common.clean_text`
(terminal control sequences in names are dropped; the files keep the data).
"""

from __future__ import annotations

import time

#: when the command line started (before the heavy imports): ``timings.json``'s
#: ``startup`` is measured from here (from the call of :func:`main` when it is
#: called with arguments, e.g. by a test)
STARTED = time.perf_counter()

import argparse  # noqa: E402
import importlib  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from planner import __version__  # noqa: E402

#: one module per command, in the order ``planner --help`` lists them
COMMAND_MODULES = ("info", "check", "rotate", "consolidate", "catchments", "remediate", "run",
                   "compare", "verify", "synth", "project", "serve",
                   "province")
#: commands registered by another command's module
COMMAND_ALIASES = {"demo": "run", "synth-province": "province"}

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every clean-up runs."""


#: the signals received during this command (a library may turn the
#: KeyboardInterrupt raised inside its import or its C code into another error,
#: e.g. numpy's ImportError: the command line still knows it was interrupted)
_RECEIVED: list[int] = []


def _on_sigint(signum, frame):
    _RECEIVED.append(signum)
    raise KeyboardInterrupt()


def _on_sigterm(signum, frame):
    _RECEIVED.append(signum)
    raise Terminated()


def _wanted_command(argv: list[str]) -> str | None:
    """The command named on the command line (the first word that is not an
    option), or ``None``."""
    for a in argv:
        if a == "--":
            return None
        if not a.startswith("-"):
            return a
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; with ``argv``, only the module of the command it names is imported
    (all of them for ``--help``, no command or an unknown one)."""
    ap = argparse.ArgumentParser(
        prog="planner",
        description="县域义务教育优质均衡规划工具 / planning toolkit for high-quality "
                    "balanced compulsory education")
    ap.add_argument("--version", action="version", version=f"planner {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    wanted = _wanted_command(argv) if argv is not None else None
    module = COMMAND_ALIASES.get(wanted or "", wanted)
    names = [module] if module in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        importlib.import_module(f"planner.cli.{name}").register(sub)
    return ap


def _lang_of(argv: list[str]) -> str:
    """``--lang`` from the raw arguments (for messages before or without parsing)."""
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            return argv[i + 1] if argv[i + 1] in ("zh", "en") else "zh"
        if a.startswith("--lang="):
            return a.split("=", 1)[1] if a.split("=", 1)[1] in ("zh", "en") else "zh"
    return "zh"


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (the console script's entry point)."""
    entry = argv is None                    # the console script: the process ends after
    started = STARTED if entry else time.perf_counter()
    argv = list(sys.argv[1:] if argv is None else argv)
    del _RECEIVED[:]
    old = {}
    streams = (sys.stdout, sys.stderr)
    try:
        for sig, handler in ((signal.SIGINT, _on_sigint), (signal.SIGTERM, _on_sigterm)):
            try:
                if signal.getsignal(sig) is not signal.SIG_IGN:    # nohup & co. keep theirs
                    old[sig] = signal.signal(sig, handler)
            except (ValueError, OSError, AttributeError):   # not the main thread
                pass
        from planner.cli.common import CleanStream
        sys.stdout, sys.stderr = CleanStream(streams[0]), CleanStream(streams[1])
        return _main(argv, started)
    except KeyboardInterrupt as e:          # during the imports, the parsing or a command
        return _interrupted(e, argv)
    except Exception as e:                  # outside a command (the parser's imports)
        if _RECEIVED:
            return _interrupted(Terminated() if _RECEIVED[0] == signal.SIGTERM
                                else KeyboardInterrupt(), argv)
        if "--debug" in argv:
            raise
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1
    finally:
        sys.stdout, sys.stderr = streams
        for sig, handler in old.items():
            try:
                # the process ends now: a late signal may not print a traceback
                signal.signal(sig, signal.SIG_IGN if entry else handler)
            except (ValueError, OSError):
                pass


def _interrupted(e: BaseException, argv: list[str]) -> int:
    """One line, in the chosen language when the catalogue can be read."""
    term = isinstance(e, Terminated)
    key = "cli.terminated" if term else "cli.interrupted"
    try:
        from planner.outputs.i18n import tr
        text = tr(key, _lang_of(argv))
    except BaseException:                   # a second Ctrl-C, or no catalogue yet
        text = "terminated" if term else "interrupted"
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except BaseException:
        pass
    return EXIT_TERMINATED if term else EXIT_INTERRUPTED


def _main(argv: list[str], started: float) -> int:
    ap = build_parser(argv)
    args = ap.parse_args(argv)
    if not args.command:
        ap.print_help()
        return 2
    args.started = started
    from planner.cli.common import Timer
    args._timer = Timer(started)
    args._timer.step("startup")                 # imports and parsing
    # a command that fails leaves no output folder it made: the output contract
    # (planner.io.export.OutputFolder) removes it, and only it, when it is empty
    return _run_command(args)


def _message(e: BaseException, lang: str) -> str:
    """The words of a user error: a catalogue entry when it carries a key
    (:class:`planner.io.export.OutputRefused`), else its text."""
    key = getattr(e, "key", None)
    if key:
        try:
            from planner.outputs.i18n import label, tr
            fields = dict(getattr(e, "fields", {}))
            if "kind" in fields:
                fields["kind"] = label("output.kind", fields["kind"], lang)
            return tr(key, lang, **fields)
        except KeyError:
            pass
    return str(e)


def _run_command(args) -> int:
    from planner.core.errors import DataError, OutputError, PlanInputError
    lang = getattr(args, "lang", None) or "zh"
    try:
        return args.func(args)
    except DataError as e:
        for line in e.problems:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except (PlanInputError, OutputError) as e:
        print(f"error: {_message(e, lang)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.: stop quietly
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        raise
    except Exception as e:  # an internal error: one line unless --debug
        if _RECEIVED:           # an interrupt that a library turned into another error
            raise (Terminated() if _RECEIVED[0] == signal.SIGTERM
                   else KeyboardInterrupt()) from e
        mip = sys.modules.get("models.mip")     # imported by whatever raised it
        if mip is not None and isinstance(e, mip.SolverUnavailable):
            print(f"error: {e}", file=sys.stderr)
            return 2
        if args.debug:
            raise
        print(f"internal error: {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
