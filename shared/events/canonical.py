"""Input events of CONTRACT §3 as pydantic models, and `validate_event`, the never-raising gate of ingest."""
from __future__ import annotations

import functools
import json
import math
import unicodedata
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

MAX_CODE_LENGTH = 200
MAX_TEXT_LENGTH = 1000
MAX_QUANTITY = 1e9
MAX_LIST_LENGTH = 1000
MAX_FUTURE = timedelta(days=1)
ADJUSTMENT_REASONS = ("receipt", "scrap", "damage", "correction", "transfer_in", "transfer_out")
# Keys a supplier record must never carry: the bus is readable by every service.
SECRET_KEYS = ("password", "secret", "token", "api_key", "apikey", "webhook_secret", "private_key")


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("replenish", message)


def _code(value: Any) -> str:
    """A code (sku, location, id...): a non-empty string; integers are accepted (barcodes sent as numbers)."""
    if type(value) is str and value.isascii():  # the common case: NFKC leaves ASCII as it is
        text = value.strip()
        if text and len(text) <= MAX_CODE_LENGTH:
            return text
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _fail("must be a string")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise _fail("must not be empty")
    if len(text) > MAX_CODE_LENGTH:
        raise _fail(f"must be at most {MAX_CODE_LENGTH} characters")
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("must be a string")
    text = value.strip()
    if not text:
        raise _fail("must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _fail(f"must be at most {MAX_TEXT_LENGTH} characters")
    return text


def unit_name(value: Any) -> str:
    """Units compare after NFKC, trimming and case folding: 'Case', ' case ' and 'ＣＡＳＥ' are one unit."""
    return _code(value).casefold()


def _number(value: Any) -> float:
    """A finite number with |x| ≤ 1e9; numeric strings are accepted, booleans are not."""
    if type(value) is float and -MAX_QUANTITY <= value <= MAX_QUANTITY:  # the common case (NaN fails the test)
        return value
    if type(value) is int and -MAX_QUANTITY <= value <= MAX_QUANTITY:
        return float(value)
    if isinstance(value, bool):
        raise _fail("must be a number")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail("must be a number") from None
    if not isinstance(value, int | float):
        raise _fail("must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise _fail("must be at most 1e9 in absolute value") from None
    if not math.isfinite(number):
        raise _fail("must be a finite number")
    if abs(number) > MAX_QUANTITY:
        raise _fail("must be at most 1e9 in absolute value")
    return number


def _positive(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise _fail("must be > 0")
    return number


def _non_negative(value: Any) -> float:
    number = _number(value)
    if number < 0:
        raise _fail("must be ≥ 0")
    return number


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0 < number < 1:
        raise _fail("must be between 0 and 1 (exclusive)")
    return number


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail("must be true or false")
    return value


def _instant(value: Any) -> datetime:
    """A timezone-aware instant, returned in UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise _fail("must be an ISO 8601 date-time") from None
    if not isinstance(value, datetime):
        raise _fail("must be an ISO 8601 date-time string")
    if value.tzinfo is None or value.utcoffset() is None:
        raise _fail("timezone required")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise _fail("out of range") from None


def _day_or_instant(value: Any) -> date | datetime:
    """An ISO date (a local calendar day) or a timezone-aware datetime (kept with its offset)."""
    if isinstance(value, str) and len(value.strip()) == 10:
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _fail("must be an ISO date or a timezone-aware date-time") from None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise _fail("must be an ISO date or a timezone-aware date-time") from None
    if not isinstance(parsed, datetime):
        raise _fail("must be an ISO date or a timezone-aware date-time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _fail("timezone required (or give a plain date)")
    return parsed


def _timezone(value: Any) -> str:
    name = _code(value)
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise _fail(f"unknown IANA timezone '{name}'") from None
    return name


def _country(value: Any) -> str:
    code = _code(value).upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise _fail("must be an ISO 3166-1 alpha-2 code such as 'CN'")
    return code


def _email(value: Any) -> str:
    text = _text(value)
    local, _, domain = text.partition("@")
    if not local or "." not in domain or " " in text:
        raise _fail("must be an e-mail address")
    return text


def _aliases(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _fail("must be a list of strings")
    if len(value) > MAX_LIST_LENGTH:
        raise _fail(f"must have at most {MAX_LIST_LENGTH} entries")
    return value


def _conversions(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail("must be a JSON object such as {\"case\": 12}")
    if len(value) > MAX_LIST_LENGTH:
        raise _fail(f"must have at most {MAX_LIST_LENGTH} entries")
    return value


def _rule(func: Any, schema_type: Any = str) -> PlainValidator:
    return PlainValidator(func, json_schema_input_type=schema_type)


Code = Annotated[str, _rule(_code)]
Text = Annotated[str, _rule(_text)]
Unit = Annotated[str, _rule(unit_name)]
Quantity = Annotated[float, _rule(_number, float)]
Positive = Annotated[float, _rule(_positive, float)]
NonNegative = Annotated[float, _rule(_non_negative, float)]
Fraction = Annotated[float, _rule(_fraction, float)]
Flag = Annotated[bool, _rule(_flag, bool)]
# An explicit ISO serializer: pydantic's own datetime serializer misreads plain-validated values.
_ISO = PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json")
Instant = Annotated[datetime, _rule(_instant), _ISO]
DayOrInstant = Annotated[date | datetime, _rule(_day_or_instant), _ISO]
TimeZone = Annotated[str, _rule(_timezone)]
Country = Annotated[str, _rule(_country)]
Email = Annotated[str, _rule(_email)]
AliasList = Annotated[list[Code], BeforeValidator(_aliases)]
ConversionMap = Annotated[dict[Unit, Positive], BeforeValidator(_conversions)]


class _Data(BaseModel):
    # Unknown fields are ignored rather than rejected: feeds carry extra columns, and a typo in a required
    # field still surfaces as "required".
    model_config = ConfigDict(extra="ignore", frozen=True)


class SaleData(_Data):
    sku: Code
    location: Code
    quantity: Positive
    unit: Unit | None = None
    unit_price: NonNegative | None = None
    channel: Code | None = None
    order_id: Code | None = None


class ReturnData(_Data):
    sku: Code
    location: Code
    quantity: Positive
    unit: Unit | None = None


class StockCountData(_Data):
    sku: Code
    location: Code
    on_hand: NonNegative
    unit: Unit | None = None


class StockAdjustmentData(_Data):
    sku: Code
    location: Code
    quantity: Quantity
    reason: Literal["receipt", "scrap", "damage", "correction", "transfer_in", "transfer_out"]
    po_id: Code | None = None
    unit: Unit | None = None


class ItemData(_Data):
    sku: Code
    name: Text
    base_unit: Unit
    category: Text | None = None
    unit_conversions: ConversionMap | None = None
    aliases: AliasList | None = None
    unit_cost: NonNegative | None = None
    unit_price: NonNegative | None = None
    status: Literal["active", "discontinued"] | None = None
    launch_date: DayOrInstant | None = None
    like_sku: Code | None = None


class LocationData(_Data):
    location: Code
    name: Text
    kind: Literal["store", "warehouse", "online"]
    timezone: TimeZone = "UTC"
    country: Country | None = None
    subdivision: Text | None = None


class LaneData(_Data):
    from_location: Code
    to_location: Code
    lead_time_days: NonNegative
    unit_cost: NonNegative | None = None


class SupplierData(_Data):
    supplier_id: Code
    name: Text
    email: Email | None = None
    phone: Text | None = None
    chat: Text | None = None


class SupplierItemData(_Data):
    supplier_id: Code
    sku: Code
    lead_time_days: NonNegative
    lead_time_std_days: NonNegative | None = None
    moq: NonNegative | None = None
    pack_size: Positive | None = None
    unit_cost: NonNegative | None = None
    primary: Flag | None = None


class PromotionData(_Data):
    sku: Code
    location: Code | None = None
    start: DayOrInstant
    end: DayOrInstant
    kind: Text | None = None
    expected_uplift: Quantity | None = None


class PolicyData(_Data):
    sku: Code | None = None
    category: Text | None = None
    location: Code | None = None
    service_level: Fraction | None = None
    review_days: NonNegative | None = None
    min: NonNegative | None = None
    max: NonNegative | None = None
    safety_days: NonNegative | None = None
    fixed_order_cost: NonNegative | None = None
    holding_rate: NonNegative | None = None


EventData = (SaleData | ReturnData | StockCountData | StockAdjustmentData | ItemData | LocationData | LaneData
             | SupplierData | SupplierItemData | PromotionData | PolicyData)
EventType = Literal["sale", "return", "stock_count", "stock_adjustment", "item", "location", "lane",
                    "supplier", "supplier_item", "promotion", "policy"]
DATA_MODELS: dict[str, type[_Data]] = {
    "sale": SaleData, "return": ReturnData, "stock_count": StockCountData,
    "stock_adjustment": StockAdjustmentData, "item": ItemData, "location": LocationData, "lane": LaneData,
    "supplier": SupplierData, "supplier_item": SupplierItemData, "promotion": PromotionData,
    "policy": PolicyData,
}
EVENT_TYPES = tuple(DATA_MODELS)
MASTER_TYPES = ("item", "location", "lane", "supplier", "supplier_item", "policy")


class CanonicalEvent(BaseModel):
    """A valid §3 event: codes trimmed and NFKC-normalized, units case-folded, `time` in UTC."""

    model_config = ConfigDict(frozen=True)

    id: Code
    source: Code
    type: EventType
    time: Instant
    data: EventData
    subject: str | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Code
    source: Code
    time: Instant



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
