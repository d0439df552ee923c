"""Apply a `SourceMapping` to one raw record: the canonical §3 event dict, or per-field errors."""
from __future__ import annotations

import math
from typing import Any

from services.ingest.domain.mapping import _PLACEHOLDER, FieldRule, SourceMapping
from services.ingest.domain.paths import MISSING, get_path, parse_path, set_path
from services.ingest.domain.times import parse_time


class _FieldError(ValueError):
    """One field's failure; caught per field so a record reports all of them."""


def apply_mapping(mapping: SourceMapping, record: object) -> dict[str, Any] | list[str]:
    """The canonical event for `record` (still to be checked by `validate_event`), or errors. Never raises."""
    if not isinstance(record, dict):
        return ["record: must be a JSON object"]
    event: dict[str, Any] = {"data": {}}
    if mapping.source:
        event["source"] = mapping.source
    errors = []
    # The type goes first: rules with `only_for` depend on it.
    for target, rule in sorted(mapping.fields.items(), key=lambda entry: entry[0] != "type"):
        if rule.only_for is not None and event.get("type") not in rule.only_for:
            continue
        try:
            value = _value(rule, record, target, mapping)
        except ValueError as exc:  # _FieldError and parse_time's messages
            errors.append(f"{target}: {exc}")
            continue
        except Exception as exc:  # a hostile record must not escape as a 5xx
            errors.append(f"{target}: could not be read ({type(exc).__name__})")
            continue
        if value is not MISSING:
            set_path(event, target, value)
    if errors:
        return errors
    _translate(event["data"], mapping)
    return event


def _translate(data: dict[str, Any], mapping: SourceMapping) -> None:
    """The feed's own unit and SKU codes, turned into the item master's words."""
    unit = data.get("unit")
    if isinstance(unit, str) and unit.strip() in mapping.units:
        data["unit"] = mapping.units[unit.strip()]
    for name in ("sku", "like_sku"):
        code = data.get(name)
        if isinstance(code, str | int) and str(code).strip() in mapping.aliases:
            data[name] = mapping.aliases[str(code).strip()]


def _raw(rule: FieldRule, record: dict[str, Any]) -> Any:
    if rule.const is not None:
        return rule.const
    if rule.template is not None:
        parts = {p: get_path(record, parse_path(p)) for p in _PLACEHOLDER.findall(rule.template)}
        missing = [p for p, value in parts.items() if value is MISSING or value is None or value == ""]
        if missing:
            raise _FieldError(f"source field '{missing[0]}' missing")
        return _PLACEHOLDER.sub(lambda m: _text(parts[m.group(1)]), rule.template)
    return get_path(record, parse_path(rule.path))


def _value(rule: FieldRule, record: dict[str, Any], target: str, mapping: SourceMapping) -> Any:
    value = _raw(rule, record)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        if rule.default is not None:
            return rule.default
        if rule.optional:
            return MISSING
        raise _FieldError(f"source field '{rule.path}' missing" if rule.path else "no value")
    if rule.map is not None:
        key = _text(value).strip()
        if key not in rule.map:
            raise _FieldError(f"'{key}' not in value map (known: {', '.join(rule.map)})")
        value = rule.map[key]
    kind = rule.as_ or ("datetime" if target == "time" else None)
    return _convert(value, kind, rule, mapping.timezone)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 12.0 from a spreadsheet means the code "12"
    return str(value)


def _convert(value: Any, kind: str | None, rule: FieldRule, zone: str | None) -> Any:
    if kind is None:
        return value
    if kind == "string":
        return _text(value).strip()
    if kind in ("number", "integer"):
        return _number(value, kind)
    if kind == "boolean":
        return _boolean(value)
    if kind == "list":
        items = value if isinstance(value, list) else _text(value).split(rule.separator)
        return [_text(item).strip() for item in items if _text(item).strip()]
    moment = parse_time(value, rule.format or "iso", rule.timezone or zone, date_only=kind == "date")
    return moment.isoformat()


def _number(value: Any, kind: str) -> float | int:
    try:
        number = float(value.strip().replace("_", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        raise _FieldError(f"'{value}' is not a number") from None
    if kind == "integer" and (not math.isfinite(number) or not number.is_integer()):
        raise _FieldError(f"'{value}' is not a whole number")
    return int(number) if kind == "integer" else number


_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f", ""}


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise _FieldError(f"'{value}' is not true or false")
