"""Reading a YAML file a user wrote, safely: :func:`load_yaml`.

``yaml.safe_load`` is safe against code execution but not against three things a
user's (or an attacker's) file can do, and this reader refuses each with one
:class:`~planner.core.errors.DataError` line naming the file, the line and the key:

- **a key given twice** in one mapping (``yaml.safe_load`` keeps the last one
  silently: a second ``county:`` block replaced the first). Keys are compared as
  YAML reads them, so ``1:`` and ``01:`` are the same key; keys brought in by a
  merge key (``<<: *base``) may be overridden, as YAML intends;
- **an alias bomb**: ``&a [x, x, ...]``, ``&b [*a, *a, ...]`` ... is a few hundred
  bytes but expands to billions of nodes. PyYAML shares the aliased objects, so
  loading is cheap, but anything that walks the result (a check, an error
  message, JSON) hangs or fills memory. The document is measured with every alias
  expanded before it is built (in time proportional to the file); aliases may add at
  most :data:`MAX_ALIAS_NODES` nodes. An alias that refers to a node containing
  itself is refused as well;
- **a huge file**: at most :data:`MAX_BYTES` bytes are read (a district.yaml or a
  scenario is a few kilobytes).

Syntax errors keep PyYAML's wording (``FILE line N, key -: not valid YAML (...)``).
No message echoes more than :data:`MAX_ECHO` characters of the input
(:func:`short`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from planner.core.errors import DataError

__all__ = ["MAX_ALIAS_NODES", "MAX_BYTES", "MAX_ECHO", "load_yaml", "short"]

#: the largest YAML file read (bytes)
MAX_BYTES = 1 << 20  # not-a-rule: 1 MiB, a size in bits
#: how many nodes aliases may add to a document when expanded
MAX_ALIAS_NODES = 100_000
#: how many characters of a user's value a message repeats
MAX_ECHO = 60  # not-a-rule: characters of a value echoed in a message


def short(value: Any, limit: int = MAX_ECHO) -> str:
    """``str(value)`` cut to ``limit`` characters (an ellipsis marks the cut), so a
    message never repeats an unbounded input."""
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


class _Loader(yaml.SafeLoader):
    """The safe loader; only the checks below are added."""


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _text(source: str | bytes | os.PathLike, label: str) -> str:
    if isinstance(source, os.PathLike):
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise DataError([(f"{label} line -, key -: the file is {size:,} bytes; a YAML "
                                 f"file is read up to {MAX_BYTES:,} bytes")])
            with path.open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except IsADirectoryError:
            raise DataError([f"{label} line -, key -: a folder, not a YAML file"]) from None
        except OSError as e:
            raise DataError([(f"{label} line -, key -: cannot be read "
                             f"({short(e.strerror or e)})")]) from None
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BYTES:
        raise DataError([(f"{label} line -, key -: the text is {len(data):,} bytes; a YAML "
                         f"file is read up to {MAX_BYTES:,} bytes")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError([(f"{label} line {_line_of(data, e.start)}, key -: not UTF-8 "
                         f"text")]) from None
    return text.removeprefix("\ufeff")


def _syntax_error(e: yaml.YAMLError, label: str) -> DataError:
    mark = getattr(e, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "line -"
    return DataError([(f"{label} {where}, key -: not valid YAML "
                      f"({short(getattr(e, 'problem', None) or e, 200)})")])


def _key_text(loader: _Loader, node: yaml.Node) -> str | None:
    """The key as a path part, or ``None`` for a key that is not a scalar."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    return short(node.value, 40).replace(":", "_") or '""'


def _check_tree(root: yaml.Node, loader: _Loader, label: str) -> None:
    """Duplicate keys and alias expansion, without recursion (a deep document
    must not overflow the stack)."""
    expanded: dict[int, int] = {}     # id(node) -> nodes when every alias is expanded
    distinct = 0
    on_path: set[int] = set()
    # (node, key path, children pushed?)
    stack: list[tuple[yaml.Node, str, bool]] = [(root, "-", False)]
    while stack:
        node, path, done = stack.pop()
        nid = id(node)
        if done:
            on_path.discard(nid)
            if isinstance(node, yaml.SequenceNode):
                kids = node.value
            elif isinstance(node, yaml.MappingNode):
                kids = [x for kv in node.value for x in kv]
            else:
                kids = []
            expanded[nid] = 1 + sum(expanded[id(k)] for k in kids)
            continue
        if nid in expanded:
            continue
        if nid in on_path:
            raise DataError([(f"{label} line {node.start_mark.line + 1}, key {path}: an "
                             f"alias refers to a node that contains it")])
        distinct += 1
        if isinstance(node, yaml.ScalarNode):
            expanded[nid] = 1
            continue
        on_path.add(nid)
        stack.append((node, path, True))
        if isinstance(node, yaml.SequenceNode):
            for i, child in enumerate(node.value):
                stack.append((child, f"{path}[{i}]" if path != "-" else f"[{i}]", False))
            continue
        seen: dict[Any, int] = {}
        for knode, vnode in node.value:
            part = _key_text(loader, knode)
            sub = path if part is None else part if path == "-" else f"{path}.{part}"
            if part is not None and knode.tag != "tag:yaml.org,2002:merge":
                try:
                    key = loader.construct_object(knode, deep=True)
                    hash(key)
                except (yaml.YAMLError, TypeError):
                    key = (knode.tag, knode.value)
                if key in seen:
                    raise DataError([(f"{label} line {knode.start_mark.line + 1}, key {sub}: "
                                     f"the key {short(knode.value, 40)} is given twice in one "
                                     f"mapping (first at line {seen[key]})")])
                seen[key] = knode.start_mark.line + 1
            stack.append((knode, sub, False))
            stack.append((vnode, sub, False))
    added = expanded[id(root)] - distinct
    if added > MAX_ALIAS_NODES:
        # name the top-level key whose value carries the expansion
        where, line = "-", root.start_mark.line + 1
        if isinstance(root, yaml.MappingNode):
            big = max(root.value, key=lambda kv: expanded.get(id(kv[1]), 0), default=None)
            name = _key_text(loader, big[0]) if big is not None else None
            if big is not None and name is not None:
                where, line = name, big[0].start_mark.line + 1
        raise DataError([(f"{label} line {line}, key {where}: its aliases expand to "
                         f"{expanded[id(root)]:,} nodes (at most {MAX_ALIAS_NODES:,} more "
                         f"than written); an alias bomb is not read")])


def load_yaml(source: str | bytes | os.PathLike, label: str) -> Any:
    """Read one YAML document safely.

    ``source`` is a path (any ``os.PathLike``: the file is read, at most
    :data:`MAX_BYTES`), or the YAML itself as ``str`` or UTF-8 ``bytes`` (a BOM is
    allowed). ``label`` names the source in messages (``district.yaml``). Returns
    what ``yaml.safe_load`` would (``None`` for an empty document). Raises
    :class:`~planner.core.errors.DataError` with one line, ``LABEL line N, key K:
    ...``, for text that is not UTF-8, too large, not valid YAML, a key given twice
    or an alias bomb.
    """
    text = _text(source, label)
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as e:
            raise _syntax_error(e, label) from None
        except RecursionError:
            raise DataError([f"{label} line -, key -: nested too deeply to be read"]) from None
        if node is None:
            return None
        _check_tree(node, loader, label)
        loader.constructed_objects = {}
        loader.recursive_objects = {}
        try:
            return loader.construct_document(node)
        except yaml.YAMLError as e:
            raise _syntax_error(e, label) from None
        except RecursionError:
            raise DataError([f"{label} line -, key -: nested too deeply to be read"]) from None
    finally:
        loader.dispose()
