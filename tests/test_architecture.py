"""Checks that keep the architecture (docs/architecture.md):

(a) import layers, read from the AST of every ``.py`` file of the project (imports
    inside functions included): ``models/`` and ``geodata/`` never import ``planner``,
    ``geodata/`` never imports ``models``, nothing outside ``planner/cli`` imports
    ``planner.cli``, and the library (core, io, indicators, plans, verify) never imports
    the documents (``planner.outputs``) or the runner (``planner.runner``);
(b) no rule literal: every number of the standard file's indicator thresholds and
    params, its CV limits and its transport and consolidation sections (except 0, 1
    and 100, too common to mean a rule) that appears as a numeric literal token in
    ``planner/``, ``models/`` or ``geodata/`` is an error unless its line carries the
    marker ``# not-a-rule: <why>``. Indicator 31's ``min_level`` (quality level Ⅲ)
    is an ordinal grade and left out. Numbers are compared by value (``0.5`` finds
    ``0.50``; ``45`` finds ``45.0``); strings, comments and docstrings are not code and
    are not searched. The rules belong in ``planner/standards/*.yaml`` and reach the
    code through ``planner.core.rules.Rules``.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("planner", "models", "geodata")
STANDARD = ROOT / "planner" / "standards" / "hunan-2023.yaml"
MARKER = "# not-a-rule:"
#: numbers too common to mean a rule
COMMON = {0, 1, 100}
#: params that are ordinal grades, not quantities: indicator 31's monitoring level Ⅲ
#: (as a literal, 3 is the decimals of round() and an index everywhere)
ORDINAL = {"min_level"}


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = _module(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            # ``from planner import cli`` imports planner.cli too
            out += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return out


#: the library below the documents: it makes plans and checks, never words or files of a run
LIBRARY = ("planner/core/", "planner/io/", "planner/indicators/", "planner/plans/",
           "planner/verify/")


def _is(mod: str, prefix: str) -> bool:
    return mod == prefix or mod.startswith(prefix + ".")


def layer_violations() -> list[str]:
    found = []
    for path in _sources(*PACKAGES):
        rel = path.relative_to(ROOT).as_posix()
        in_cli = rel.startswith("planner/cli/")
        for line, mod in _imports(path):
            where = f"{rel}:{line} imports {mod}"
            if rel.startswith(("models/", "geodata/")) and _is(mod, "planner"):
                found.append(f"{where} (models and geodata never import planner)")
            elif rel.startswith("geodata/") and _is(mod, "models"):
                found.append(f"{where} (geodata never imports models)")
            elif not in_cli and _is(mod, "planner.cli"):
                found.append(f"{where} (only planner/cli imports planner.cli)")
            elif rel.startswith(LIBRARY) and (_is(mod, "planner.outputs")
                                              or _is(mod, "planner.runner")):
                found.append(f"{where} (the library never imports the outputs or the runner)")
    return sorted(set(found))


def test_import_layers():
    assert layer_violations() == []


def test_the_layer_check_sees_imports_inside_functions(tmp_path, monkeypatch):
    """The check reads imports hidden inside functions and relative ones."""
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "m.py").write_text("def f():\n    from planner.core import rules\n", encoding="utf-8")
    (tmp_path / "geodata").mkdir()
    (tmp_path / "geodata" / "g.py").write_text("from models import m\n", encoding="utf-8")
    (tmp_path / "planner" / "plans").mkdir(parents=True)
    (tmp_path / "planner" / "plans" / "p.py").write_text(
        "from ..cli import main\nfrom planner.outputs import report\n", encoding="utf-8")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert layer_violations() == [
        "geodata/g.py:1 imports models (geodata never imports models)",
        "geodata/g.py:1 imports models.m (geodata never imports models)",
        "models/m.py:2 imports planner.core (models and geodata never import planner)",
        "models/m.py:2 imports planner.core.rules (models and geodata never import planner)",
        "planner/plans/p.py:1 imports planner.cli (only planner/cli imports planner.cli)",
        "planner/plans/p.py:1 imports planner.cli.main (only planner/cli imports planner.cli)",
        "planner/plans/p.py:2 imports planner.outputs (the library never imports the outputs "
        "or the runner)",
        "planner/plans/p.py:2 imports planner.outputs.report (the library never imports the "
        "outputs or the runner)"]


# ------------------------------------------------------------------ rule literals

def _numbers(x) -> set[float]:
    if isinstance(x, bool):
        return set()
    if isinstance(x, (int, float)):
        return {float(x)}
    if isinstance(x, dict):
        return set().union(*(_numbers(v) for v in x.values())) if x else set()
    if isinstance(x, (list, tuple)):
        return set().union(*(_numbers(v) for v in x)) if x else set()
    return set()


def rule_numbers(path: Path = STANDARD) -> set[float]:
    """The numbers of the standard's indicator thresholds and params, CV limits,
    transport and consolidation sections, minus the common ones."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    nums = _numbers(data["cv_limit"]) | _numbers(data["transport"]) | \
        _numbers(data["consolidation"])
    for ind in data["indicators"]:
        params = {k: v for k, v in (ind.get("params") or {}).items() if k not in ORDINAL}
        nums |= _numbers(ind.get("threshold")) | _numbers(params)
    return {v for v in nums if v not in COMMON}


def literal_hits(paths: list[Path], numbers: set[float]) -> list[str]:
    """``file:line: literal`` of every rule number written as a numeric literal on a
    line without the marker."""
    hits = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type != tokenize.NUMBER:
                continue
            try:
                value = float(ast.literal_eval(tok.string))
            except (ValueError, SyntaxError, TypeError):
                continue          # complex literals
            if value not in numbers:
                continue
            row = tok.start[0]
            if MARKER in lines[row - 1]:
                continue
            hits.append(f"{path.relative_to(ROOT).as_posix()}:{row}: {tok.string}")
    return hits


def test_rule_numbers_are_the_standards():
    nums = rule_numbers()
    # a few by name: class sizes, school sizes, CV limits, bus seats and ride, shares
    for v in (45, 50, 2000, 2500, 0.5, 0.45, 56, 30, 60, 80, 20, 0.1, 0.2, 4.2, 13.5, 96, 6000):
        assert float(v) in nums, v
    assert not nums & {0.0, 1.0, 100.0}


def test_the_literal_check_finds_a_rule_and_honours_the_marker(tmp_path, monkeypatch):
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    p = tmp_path / "m.py"
    p.write_text('MAX_CLASS = 45\nBAND = 0.10  # not-a-rule: a head-count band\n'
                 'LIMIT = 0.50\nTEXT = "45 pupils"  # a string, not code\nN = 100\n',
                 encoding="utf-8")
    assert literal_hits([p], rule_numbers()) == ["m.py:1: 45", "m.py:3: 0.50"]


def test_no_rule_literal_in_the_code():
    hits = literal_hits(_sources(*PACKAGES), rule_numbers())
    if hits:
        pytest.fail(f"{len(hits)} rule number(s) written in code (read them from Rules, or "
                    f"mark a coincidence with '{MARKER} <why>'):\n" + "\n".join(hits))
