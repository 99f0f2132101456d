"""The one zh/en catalogue (planner/outputs/catalogue/*.yaml): a key given twice is an
error, every entry has both languages, and every key the code asks for by name exists."""

import ast
from pathlib import Path

import pytest

from planner.outputs import i18n

ROOT = Path(__file__).resolve().parents[1]


def _load(tmp_path, monkeypatch, files: dict[str, str]):
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOGUE_DIR", tmp_path)
    i18n.catalogue.cache_clear()
    try:
        return i18n.catalogue()
    finally:
        monkeypatch.undo()
        i18n.catalogue.cache_clear()


def test_a_key_given_twice_is_an_error(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="a.yaml line 2: key 'x.a' is given twice"):
        _load(tmp_path, monkeypatch, {"a.yaml": "x.a: {zh: 甲, en: a}\nx.a: {zh: 乙, en: b}\n"})
    d = tmp_path / "two"
    d.mkdir()
    with pytest.raises(ValueError, match="'x.b' is in a.yaml and b.yaml"):
        _load(d, monkeypatch, {"a.yaml": "x.b: {zh: 甲, en: a}\n",
                               "b.yaml": "x.b: {zh: 乙, en: b}\n"})


def test_every_entry_has_both_languages(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="needs exactly zh and en"):
        _load(tmp_path, monkeypatch, {"a.yaml": "x.c: {zh: 甲}\n"})
    cat = i18n.catalogue()
    assert len(cat) > 300 and all(set(v) == {"zh", "en"} for v in cat.values())


def _literal_keys() -> list[tuple[str, str]]:
    """(file:line, key) of every tr("literal", ...) call in planner/."""
    out = []
    for p in sorted((ROOT / "planner").rglob("*.py")):
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "tr" and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)):
                out.append((f"{p.relative_to(ROOT)}:{node.lineno}", node.args[0].value))
    return out


def test_every_key_the_code_names_exists():
    keys = _literal_keys()
    assert len(keys) > 30
    cat = i18n.catalogue()
    assert [(w, k) for w, k in keys if k not in cat] == []
