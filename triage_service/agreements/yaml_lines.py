"""YAML loading that remembers the line of every value, for error messages like
``dermatologie.yaml:14: tariffs.s3_tariff_cents: Not a valid integer``."""

from __future__ import annotations

from typing import Any

import yaml

Path_ = tuple[str | int, ...]


def load_with_lines(text: str) -> tuple[Any, dict[Path_, int]]:
    """Plain data (safe types only) and a map from each path to its 1-based line."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    lines: dict[Path_, int] = {}
    if node is None:
        return None, lines

    def walk(n: yaml.Node, path: Path_) -> None:
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                walk(value, (*path, key.value))
                lines[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for index, value in enumerate(n.value):
                walk(value, (*path, index))

    walk(node, ())
    return yaml.safe_load(text), lines


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of ``path``, or of its nearest ancestor present in the file (for missing keys)."""
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def flatten_errors(messages: Any, path: Path_ = ()) -> list[tuple[Path_, str]]:
    """marshmallow's nested error dict as (path, message) pairs."""
    out: list[tuple[Path_, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            sub = (*path, int(key) if isinstance(key, int) or (isinstance(key, str) and key.isdigit()) else key)
            if key == "_schema":
                sub = path
            out.extend(flatten_errors(value, sub))
    elif isinstance(messages, list):
        for message in messages:
            out.extend(flatten_errors(message, path))
    else:
        out.append((path, str(messages)))
    return out
