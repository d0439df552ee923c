"""Declarative per-source mappings for feeds that cannot send the canonical shape, and their validation."""
from __future__ import annotations

import re
import zoneinfo
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from services.ingest.domain.paths import parse_path
from shared.events.canonical import DATA_MODELS, EVENT_TYPES

TIME_FORMATS = ("iso", "epoch_s", "epoch_ms")  # or any strptime pattern (contains '%')
VALUE_KINDS = ("string", "number", "integer", "boolean", "date", "datetime", "list")
ENVELOPE_TARGETS = ("id", "source", "type", "time", "subject")
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


class FieldRule(BaseModel):
    """Where one canonical field comes from: exactly one of `path`, `const`, `template`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: str | None = None
    const: Any = None
    template: str | None = None  # e.g. "{store}-{receipt}-{line}", placeholders are paths
    default: Any = None  # used when the path is missing or empty
    optional: bool = False  # a missing value leaves the field out instead of failing the record
    map: dict[str, Any] | None = None  # value map applied to the raw value ('S' -> 'sale')
    as_: Literal["string", "number", "integer", "boolean", "date", "datetime", "list"] | None = Field(
        default=None, alias="as")
    format: str | None = None  # date/time: iso | epoch_s | epoch_ms | strptime pattern
    timezone: str | None = None  # IANA zone for naive local times; falls back to the mapping's
    separator: str = "|"  # for as=list
    only_for: list[str] | None = None  # event types this rule applies to (one feed, several types)

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [name for name in ("path", "const", "template") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of path, const or template")
        return self


class SourceMapping(BaseModel):
    """How one source's records become canonical §3 events."""

    model_config = ConfigDict(extra="forbid")

    source: str | None = None  # the `source` of every event unless fields.source says otherwise
    timezone: str | None = None  # IANA zone of naive local times in this feed
    fields: dict[str, FieldRule]  # target ('id', 'time', 'type', 'data.sku', ...) -> rule
    units: dict[str, str] = Field(default_factory=dict)  # feed unit code -> item unit ('CS' -> 'case')
    aliases: dict[str, str] = Field(default_factory=dict)  # feed SKU code -> SKU or known alias

    def constant_type(self) -> str | None:
        rule = self.fields.get("type")
        return rule.const if rule is not None and rule.const is not None else None


def _shorthand(raw: dict[str, Any]) -> dict[str, Any]:
    """`"data.sku": "ean"` is short for `"data.sku": {"path": "ean"}`."""
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        return raw
    expanded = {key: {"path": rule} if isinstance(rule, str) else rule for key, rule in fields.items()}
    return {**raw, "fields": expanded}


def validate_mapping(raw: object) -> SourceMapping | list[str]:
    """A checked mapping, or errors with paths such as "fields.time.format: ..."; never raises."""
    if not isinstance(raw, dict):
        return ["mapping: must be a JSON object"]
    try:
        mapping = SourceMapping.model_validate(_shorthand(raw))
    except ValidationError as exc:
        return [_pydantic_error(item) for item in exc.errors(include_url=False)]
    except Exception as exc:  # never a 5xx for a bad mapping
        return [f"mapping: could not be validated ({type(exc).__name__})"]
    errors = _zone_errors("timezone", mapping.timezone) + _required_errors(mapping)
    for target, rule in mapping.fields.items():
        errors += _rule_errors(target, rule, mapping.constant_type())
    return errors or mapping


def _pydantic_error(item: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in item["loc"]) or "mapping"
    message = item["msg"].removeprefix("Value error, ")
    if item["type"] == "extra_forbidden":
        message = "unknown setting"
    return f"{loc}: {message}"


def _zone_errors(where: str, zone: str | None) -> list[str]:
    if zone is None:
        return []
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return [f"{where}: unknown IANA timezone '{zone}'"]
    return []


def _required_errors(mapping: SourceMapping) -> list[str]:
    errors = [f"fields.{name}: required" for name in ("id", "time", "type") if name not in mapping.fields]
    if "source" not in mapping.fields and not mapping.source:
        errors.append("source: required (or map fields.source)")
    kind = mapping.constant_type()
    if kind is not None and kind not in EVENT_TYPES:
        errors.append(f"fields.type.const: unknown event type '{kind}'")
    type_rule = mapping.fields.get("type")
    if type_rule is not None and type_rule.map:
        errors += [f"fields.type.map.{key}: unknown event type '{value}'"
                   for key, value in type_rule.map.items() if value not in EVENT_TYPES]
    return errors


def _rule_errors(target: str, rule: FieldRule, kind: str | None) -> list[str]:
    where = f"fields.{target}"
    kinds = rule.only_for or ([kind] if kind else [])
    errors = [f"{where}.only_for: unknown event type '{name}'" for name in rule.only_for or ()
              if name not in EVENT_TYPES]
    for name in kinds:
        errors += _target_errors(where, target, name)
    if rule.path is not None and isinstance(parse_path(rule.path), str):
        errors.append(f"{where}.path: {parse_path(rule.path)}")
    if rule.template is not None:
        placeholders = _PLACEHOLDER.findall(rule.template)
        if not placeholders:
            errors.append(f"{where}.template: has no {{placeholder}}")
        bad = [parse_path(p) for p in placeholders if isinstance(parse_path(p), str)]
        errors += [f"{where}.template: {problem}" for problem in bad]
    if rule.format is not None and rule.format not in TIME_FORMATS and "%" not in rule.format:
        errors.append(f"{where}.format: must be iso, epoch_s, epoch_ms or a strptime pattern like '%d/%m/%Y'")
    return errors + _zone_errors(f"{where}.timezone", rule.timezone)


def _target_errors(where: str, target: str, kind: str) -> list[str]:
    if target in ENVELOPE_TARGETS:
        return []
    name = target.removeprefix("data.").partition(".")[0]
    if not target.startswith("data.") or not name:
        return [f"{where}: target must be id, source, type, time, subject or data.<field>"]
    if kind in DATA_MODELS and name not in DATA_MODELS[kind].model_fields:
        known = ", ".join(DATA_MODELS[kind].model_fields)
        return [f"{where}: '{name}' is not a field of {kind} (known: {known})"]
    return []
