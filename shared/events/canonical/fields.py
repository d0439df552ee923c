"""Field rules of the §3 input events: codes, texts, units, numbers, times, with contract-style errors."""
from __future__ import annotations

import contextlib
import json
import math
import re
import unicodedata
import zoneinfo
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, PlainValidator
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


# docs/contract.md §3 types are strict: a code is a JSON string, a quantity a JSON number. Events stored before the
# rule (master data, pending events) were accepted with integer codes and numeric strings; they are re-read
# under `lenient_types()` so that tightening the door never loses what is already inside.
_LENIENT: ContextVar[bool] = ContextVar("replenish_lenient_types", default=False)


@contextlib.contextmanager
def lenient_types() -> Iterator[None]:
    token = _LENIENT.set(True)
    try:
        yield
    finally:
        _LENIENT.reset(token)


# What PostgreSQL text cannot hold (NUL), what UTF-8 cannot encode (unpaired surrogates), and the other C0
# controls and DEL, which no code means; texts (names, notes) may hold tab, LF and CR.
_CODE_REFUSED = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_TEXT_REFUSED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _refused(text: str, pattern: re.Pattern[str]) -> None:
    found = pattern.search(text)
    if found is None:
        return
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        raise _fail("must be valid Unicode text (an unpaired surrogate or a byte that is not UTF-8)")
    raise _fail(f"must not contain control characters (U+{ord(char):04X})")


def _code(value: Any) -> str:
    """A code (sku, location, id...): a non-empty JSON string without control characters."""
    if type(value) is str and value.isascii() and value.isprintable():  # the common case: NFKC keeps ASCII
        text = value.strip()
        if text and len(text) <= MAX_CODE_LENGTH:
            return text
    if isinstance(value, int) and not isinstance(value, bool) and _LENIENT.get():
        value = str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _fail("must be a string (codes are text: send 6901234567892 as \"6901234567892\")")
    if not isinstance(value, str):
        raise _fail("must be a string")
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise _fail("must not be empty")
    if len(text) > MAX_CODE_LENGTH:
        raise _fail(f"must be at most {MAX_CODE_LENGTH} characters")
    _refused(text, _CODE_REFUSED)
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("must be a string")
    text = value.strip()
    if not text:
        raise _fail("must not be empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise _fail(f"must be at most {MAX_TEXT_LENGTH} characters")
    _refused(text, _TEXT_REFUSED)
    return text


def unit_name(value: Any) -> str:
    """Units compare after NFKC, trimming and case folding: 'Case', ' case ' and 'ＣＡＳＥ' are one unit."""
    return _code(value).casefold()


def _number(value: Any) -> float:
    """A finite JSON number with |x| ≤ 1e9; strings and booleans are not numbers."""
    if type(value) is float and -MAX_QUANTITY <= value <= MAX_QUANTITY:  # the common case (NaN fails the test)
        return value
    if type(value) is int and -MAX_QUANTITY <= value <= MAX_QUANTITY:
        return float(value)
    if isinstance(value, bool):
        raise _fail("must be a number")
    if isinstance(value, str):
        if not _LENIENT.get():
            raise _fail(f"must be a number, not the text {json.dumps(value[:20])}")
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
