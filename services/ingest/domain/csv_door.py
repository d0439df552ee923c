"""The CSV door (`POST /v1/events.csv?type=...`): header = data fields plus id, source, time.

Header problems (a missing required column, an unknown column) fail the whole file with one clear error
each, since every row would fail the same way; problems inside a row fail only that row.
"""
from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from typing import Any

from services.ingest.domain.outcomes import Unreadable
from shared.events.canonical import DATA_MODELS, EVENT_TYPES

ENVELOPE_COLUMNS = ("id", "source", "time")
LIST_SEPARATOR = "|"  # aliases column: "6901234567892|OLD-001"
MAX_ROW_ERRORS = 10_000  # unreadable rows reported before the rest of the file is given up
# A JSON-style number: what a number column's cell must look like to become a number (codes stay text).
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d{1,30}")


@functools.cache
def number_columns(kind: str) -> frozenset[str]:
    """The data fields of `kind` that docs/contract.md §3 types as numbers (read from the model's JSON schema)."""
    properties = DATA_MODELS[kind].model_json_schema().get("properties", {})
    return frozenset(name for name, prop in properties.items()
                     if prop.get("type") == "number" or any(p.get("type") == "number" for p in prop.get("anyOf", ())))


def _cell_number(value: str) -> Any:
    """The number a cell spells, or the text itself (the validator then says it is not a number)."""
    if _INTEGER.fullmatch(value):
        return int(value)
    if _NUMBER.fullmatch(value):
        return float(value)  # 1e309 reads as inf: the validator rejects it as not finite
    return value


@dataclass(frozen=True)
class CsvBatch:
    records: list[dict[str, Any] | Unreadable]  # one per data row, ready for process_batch


def _header_errors(header: list[str], kind: str, source: str | None) -> list[str]:
    model = DATA_MODELS[kind]
    known = set(model.model_fields) | set(ENVELOPE_COLUMNS)
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    required = [name for name in ENVELOPE_COLUMNS if not (name == "source" and source)] + required
    errors = [f"header: missing required column '{name}'" for name in required if name not in header]
    for name in header:
        if name.split(".")[0] not in known:
            errors.append(f"header: unknown column '{name}' for {kind} (known: {', '.join(sorted(known))})")
    seen = set()
    for name in header:
        if name in seen:
            errors.append(f"header: column '{name}' appears twice")
        seen.add(name)
    return errors


def parse_csv(text: str, kind: str, *, source: str | None = None,
              delimiter: str = ",") -> CsvBatch | list[str]:
    """Rows as §3 event dicts, or whole-file errors; `source` fills a missing source column."""
    if kind not in EVENT_TYPES:
        return [f"type: unknown event type '{kind}'"]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        return ["file: empty, expected a header row"]
    except csv.Error as exc:
        return [f"file: not readable as CSV ({exc})"]
    errors = _header_errors(header, kind, source)
    if errors:
        return errors
    records: list[dict[str, Any] | Unreadable] = []
    errors = 0
    while errors < MAX_ROW_ERRORS:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # one unreadable row; the reader carries on with the next line
            errors += 1
            records.append(Unreadable([f"row {len(records) + 1}: not readable as CSV ({exc})"]))
            continue
        if any(cell.strip() for cell in row):
            records.append(_record(header, row, kind, source, len(records)))
    return CsvBatch(records)


def _record(header: list[str], row: list[str], kind: str, source: str | None,
            index: int) -> dict[str, Any] | Unreadable:
    cells = dict(zip(header, row, strict=False))
    if len(row) != len(header):
        return Unreadable([f"row {index + 1}: {len(row)} cells, the header has {len(header)}"],
                          cells.get("id") or None)
    event: dict[str, Any] = {"type": kind, "data": {}}
    if source:
        event["source"] = source
    for name, cell in cells.items():
        value = cell.strip()
        if not value:
            continue  # an empty cell is an absent optional field
        if name in ENVELOPE_COLUMNS:
            event[name] = value
        else:
            _put(event["data"], name, value, number_columns(kind))
    return event


def _put(data: dict[str, Any], column: str, value: str, numbers: frozenset[str]) -> None:
    name, _, unit = column.partition(".")
    if name == "unit_conversions" and unit:
        data.setdefault(name, {})[unit] = _cell_number(value)  # "unit_conversions.case" = 12
    elif name == "aliases":
        data[name] = [alias.strip() for alias in value.split(LIST_SEPARATOR) if alias.strip()]
    elif name == "primary":
        data[name] = {"true": True, "false": False, "1": True, "0": False}.get(value.lower(), value)
    elif name in numbers:
        data[name] = _cell_number(value)  # a number column's cell becomes a JSON number
    else:
        data[name] = value  # codes stay text: barcodes keep their leading zeros
