"""Reading a JSON body or message the way every ingest door does: strict RFC 8259, whatever its bytes.

orjson first (several times faster); it refuses unpaired surrogates and numbers that overflow a double,
which are valid JSON, so the standard parser then reads them and the per-event checks reject them with a
reason. A byte that is not UTF-8 inside a string is read as a lone surrogate (surrogateescape), so it too
costs only its own event. Only text that is not JSON at all (or NaN, which JSON lacks) is refused whole.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

MAX_INT_DIGITS = 4000  # Python refuses to read longer integers (sys.get_int_max_str_digits): they overflow


class NotJson(ValueError):
    """The text is not JSON; the message says where."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _integer(text: str) -> int | float:
    return int(text) if len(text) <= MAX_INT_DIGITS else float(text)  # float() of that many digits is inf


def parse_json(body: bytes | bytearray | str) -> Any:
    """The JSON value, or NotJson."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    text = bytes(body).decode("utf-8", "surrogateescape") if isinstance(body, bytes | bytearray) else body
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_integer)
    except (ValueError, RecursionError) as exc:
        raise NotJson(str(exc)[:200]) from exc
