"""Dotted paths with array indexes ('lines[0].ean') into raw JSON records, for source mappings."""
from __future__ import annotations

import re
from typing import Any

_SEGMENT = re.compile(r"^([^\[\]]*)((?:\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")
MISSING = object()


def parse_path(path: str) -> list[str | int] | str:
    """The steps of `path` (keys and list indexes), or why it is not a path."""
    if not isinstance(path, str) or not path.strip():
        return "must be a non-empty path such as 'lines[0].ean'"
    steps: list[str | int] = []
    for segment in path.split("."):
        match = _SEGMENT.match(segment)
        if match is None or (not match.group(1) and not match.group(2)):
            return f"invalid path '{path}': bad segment '{segment}'"
        if match.group(1):
            steps.append(match.group(1))
        steps.extend(int(index) for index in _INDEX.findall(match.group(2)))
    return steps


def get_path(record: Any, steps: list[str | int]) -> Any:
    """The value at `steps`, or MISSING when any step does not exist."""
    value = record
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        else:
            if not isinstance(value, dict) or step not in value:
                return MISSING
            value = value[step]
    return value


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set a dotted key path ('data.unit_conversions.case') in nested dicts, creating them."""
    *parents, last = dotted.split(".")
    node = target
    for name in parents:
        node = node.setdefault(name, {})
    node[last] = value
