"""`validate_event`, the never-raising gate of ingest, and the short path for plain movements."""
from __future__ import annotations

import functools
import json
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from shared.events.canonical.fields import MAX_FUTURE, SECRET_KEYS, _code, _instant, _non_negative, _positive, unit_name
from shared.events.canonical.models import (
    DATA_MODELS,
    CanonicalEvent,
    ItemData,
    LaneData,
    PolicyData,
    PromotionData,
    ReturnData,
    SaleData,
    StockCountData,
    _Data,
    _Envelope,
)

_PYDANTIC_MESSAGES = {
    "missing": "required",
    "string_type": "must be a string",
    "dict_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "list_type": "must be a list",
    "bool_type": "must be true or false",
}


def _path(prefix: str, loc: tuple[Any, ...]) -> str:
    path = prefix
    for part in loc:
        if part == "[key]":
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        elif path and not str(part).isidentifier():
            path += "[" + json.dumps(str(part), ensure_ascii=False) + "]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "event"


def _messages(error: ValidationError, prefix: str) -> list[str]:
    out = []
    for item in error.errors(include_url=False, include_input=False):
        kind = item["type"]
        if kind == "literal_error":
            message = "must be one of " + item["ctx"]["expected"].replace("'", "")
        else:
            message = _PYDANTIC_MESSAGES.get(kind, item["msg"])
        out.append(f"{_path(prefix, item['loc'])}: {message}")
    return out


def _cloudevent_errors(obj: dict[str, Any]) -> list[str]:
    errors = []
    if obj.get("specversion") != "1.0":
        errors.append("specversion: must be '1.0'")
    content_type = obj.get("datacontenttype")
    if content_type is not None and (not isinstance(content_type, str) or "json" not in content_type):
        errors.append("datacontenttype: must be a JSON content type")
    if "data_base64" in obj:
        errors.append("data_base64: binary data is not accepted, send JSON in data")
    subject = obj.get("subject")
    if subject is not None and not isinstance(subject, str):
        errors.append("subject: must be a string")
    return errors


def _type_errors(kind: Any) -> list[str]:
    if kind is None:
        return ["type: required"]
    if not isinstance(kind, str):
        return ["type: must be a string"]
    if kind.strip() not in DATA_MODELS:
        shown = kind if len(kind) <= 60 else kind[:60] + "…"
        return [f"type: unknown event type '{shown}'"]
    return []


def _secret_errors(data: dict[str, Any]) -> list[str]:
    return [f"data.{key}: secrets must not be sent as master data" for key in data
            if isinstance(key, str) and key.strip().lower() in SECRET_KEYS]


def _as_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _cross_field_errors(data: _Data) -> list[str]:
    """Rules spanning two fields, checked only once each field is valid on its own."""
    if isinstance(data, PromotionData) and _as_day(data.end) < _as_day(data.start):
        return ["data.end: must not be before start"]
    if isinstance(data, PolicyData) and data.min is not None and data.max is not None and data.min > data.max:
        return ["data.max: must be ≥ min"]
    if isinstance(data, LaneData) and data.from_location == data.to_location:
        return ["data.to_location: must differ from from_location"]
    if isinstance(data, ItemData) and data.unit_conversions:
        factor = data.unit_conversions.get(data.base_unit)
        if factor is not None and factor != 1:
            return [f"data.unit_conversions.{data.base_unit}: the base unit converts to 1, not {factor:g}"]
    return []


_REQUIRED, _OPTIONAL = True, False
_FAST_FIELDS: dict[str, tuple[type[_Data], tuple[tuple[str, Any, bool], ...]]] = {
    "sale": (SaleData, (("sku", _code, _REQUIRED), ("location", _code, _REQUIRED),
                        ("quantity", _positive, _REQUIRED), ("unit", unit_name, _OPTIONAL),
                        ("unit_price", _non_negative, _OPTIONAL), ("channel", _code, _OPTIONAL),
                        ("order_id", _code, _OPTIONAL))),
    "return": (ReturnData, (("sku", _code, _REQUIRED), ("location", _code, _REQUIRED),
                            ("quantity", _positive, _REQUIRED), ("unit", unit_name, _OPTIONAL))),
    "stock_count": (StockCountData, (("sku", _code, _REQUIRED), ("location", _code, _REQUIRED),
                                     ("on_hand", _non_negative, _REQUIRED), ("unit", unit_name, _OPTIONAL))),
}


@functools.cache
def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Every field of `model` with its default (None where required), in declaration order."""
    return {name: None if field.is_required() else field.get_default(call_default_factory=True)
            for name, field in model.model_fields.items()}


def _construct(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """What `model_construct(**values)` builds (same __dict__, fields set, no extra, no private), without its
    per-field alias handling, which was the fast path's largest cost (cProfile: ~40 %)."""
    instance = model.__new__(model)
    fields = dict(_defaults(model))
    fields.update(values)
    object.__setattr__(instance, "__dict__", fields)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def plain_movement(obj: dict[str, Any], now: datetime) -> tuple[str, str, str, datetime, dict[str, Any]] | None:
    """(id, source, type, time, data fields) of a valid plain sale/return/stock_count, checked by the very
    rules of the models below but without building them; None whenever anything is unusual or invalid (the
    full validator then decides and words the errors)."""
    kind = obj.get("type")
    spec = _FAST_FIELDS.get(kind) if type(kind) is str else None
    raw = obj.get("data")
    if spec is None or type(raw) is not dict or "specversion" in obj:
        return None
    try:
        values = {}
        for name, check, required in spec[1]:
            value = raw.get(name)
            if value is not None:
                values[name] = check(value)
            elif required or name in raw:
                return None
        at = _instant(obj.get("time"))
        event_id, source = _code(obj.get("id")), _code(obj.get("source"))
    except PydanticCustomError:
        return None
    if at > (now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)) + MAX_FUTURE:
        return None
    return event_id, source, kind, at, values


def _fast_movement(obj: dict[str, Any], now: datetime) -> CanonicalEvent | None:
    """The common valid plain movement as an event, without pydantic's validation machinery."""
    checked = plain_movement(obj, now)
    if checked is None:
        return None
    event_id, source, kind, at, values = checked
    return _construct(CanonicalEvent, {"id": event_id, "source": source, "type": kind, "time": at,
                                       "data": _construct(_FAST_FIELDS[kind][0], values), "subject": None})


def _validate(obj: Any, now: datetime) -> CanonicalEvent | list[str]:
    if not isinstance(obj, dict):
        return ["event: must be a JSON object"]
    fast = _fast_movement(obj, now)
    if fast is not None:
        return fast
    errors = _cloudevent_errors(obj) if "specversion" in obj else []
    envelope = None
    try:
        envelope = _Envelope.model_validate(obj)
    except ValidationError as exc:
        errors += _messages(exc, "")
    errors += _type_errors(obj.get("type"))
    raw = obj.get("data")
    data = None
    if not isinstance(raw, dict):
        errors.append("data: required" if raw is None else "data: must be a JSON object")
    elif not _type_errors(obj.get("type")):
        kind = obj["type"].strip()
        if kind == "supplier":
            errors += _secret_errors(raw)
        try:
            data = DATA_MODELS[kind].model_validate(raw)
            errors += _cross_field_errors(data)
        except ValidationError as exc:
            errors += _messages(exc, "data")
    now_utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    if envelope is not None and envelope.time > now_utc + MAX_FUTURE:
        errors.append("time: more than 1 day in the future")
    if errors or envelope is None or data is None:
        return errors
    subject = obj.get("subject") if "specversion" in obj else None
    return CanonicalEvent.model_construct(id=envelope.id, source=envelope.source, type=obj["type"].strip(),
                                          time=envelope.time, data=data, subject=subject)


def validate_event(obj: object, now: datetime) -> CanonicalEvent | list[str]:
    """Validate one §3 event (plain or CloudEvents structured envelope).

    Errors carry field paths, e.g. 'data.quantity: must be > 0'.

    Never raises: whatever arrives, the answer is an event or a list of errors.
    """
    try:
        return _validate(obj, now)
    except Exception as exc:  # a bad event must never turn into a 5xx
        return [f"event: could not be validated ({type(exc).__name__})"]
