"""The one zh/en catalogue of the outputs (``planner/outputs/catalogue/*.yaml``).

Library calls take no language and return typed outcomes; the output layer turns
them into words with :func:`tr` (a catalogue entry, formatted with keyword
arguments) and :func:`label` (a code of a kind: ``label("stage", "primary", "zh")``
is 小学). Chinese is the default language of everything a planner sees.

A key missing from the catalogue is a ``KeyError`` (a bug, found by the tests that
render every output in both languages); a code without an entry in
:func:`label` is shown as it is (it is data, e.g. a subject name).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

__all__ = ["tr", "label", "yes_no", "catalogue", "LANGS"]

CATALOGUE_DIR = Path(__file__).with_name("catalogue")
LANGS = ("zh", "en")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A YAML loader that refuses a key given twice in one mapping."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[Any, int] = {}
    for k, _ in node.value:
        key = loader.construct_object(k, deep=deep)
        if key in seen:
            raise ValueError(f"{node.start_mark.name} line {k.start_mark.line + 1}: "
                             f"key {key!r} is given twice (first at line {seen[key]})")
        seen[key] = k.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """Every entry of every catalogue file; a key given twice is an error."""
    out: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        with path.open(encoding="utf-8") as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader) or {}
        for key, entry in data.items():
            if key in out:
                raise ValueError(f"catalogue key {key!r} is in {where[key]} and {path.name}")
            if not isinstance(entry, dict) or set(entry) != set(LANGS):
                raise ValueError(f"{path.name}: {key!r} needs exactly zh and en")
            out[key] = {lang: str(entry[lang]) for lang in LANGS}
            where[key] = path.name
    return out


def tr(key: str, lang: str = "zh", **fmt: Any) -> str:
    """The catalogue entry ``key`` in ``lang``, ``str.format``-ed with ``fmt``."""
    text = catalogue()[key][lang]
    return text.format(**fmt) if fmt else text


def label(kind: str, code: Any, lang: str = "zh") -> str:
    """The word for a code of a kind (stage, school_type, area_type, degree,
    backbone, bool, status ...); a code without an entry is shown as it is."""
    if isinstance(code, bool):
        code = "true" if code else "false"
    entry = catalogue().get(f"{kind}.{code}")
    return entry[lang] if entry else str(code)


def yes_no(value: Any, lang: str = "zh") -> str:
    """是/否 (yes/no) for a truth value; 无数据 (no data) for ``None``/NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return tr("no_data", lang)
    return label("bool", bool(value), lang)
