"""Turn a valid event into its canonical topic record: aliases to SKUs, units to base units, keys."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.ingest.domain.codes import code_key
from services.ingest.domain.master import MasterSnapshot
from services.ingest.domain.outcomes import Normalized, Outcome, Pending, Rejected
from shared.events.canonical import (
    MAX_QUANTITY,
    CanonicalEvent,
    ItemData,
    LaneData,
    PolicyData,
    PromotionData,
    SupplierItemData,
)
from shared.events.topics import MASTER, PROMOTIONS, SALES, STOCK

DAY_CLOSE_TOPICS = "*day_close*"  # not a topic: the marker goes to SALES and STOCK, every partition
MOVEMENT_TOPICS = {"sale": SALES, "return": SALES, "stock_count": STOCK, "stock_adjustment": STOCK}


def normalize(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    """The canonical record of `event` under `snapshot`, or why it waits, or why it is rejected."""
    if event.type in MOVEMENT_TOPICS:
        return _movement(event, snapshot)
    if event.type == "promotion":
        return _promotion(event, snapshot)
    if event.type == "day_close":
        return _day_close(event, snapshot)
    if event.type == "item":
        return _item(event, snapshot)
    return _master(event, snapshot)


def _pending_sku(event: CanonicalEvent, snapshot: MasterSnapshot, code: str | None) -> Pending | str | None:
    if code is None:
        return None
    sku = snapshot.resolve_sku(code)
    return sku if sku is not None else Pending(event, "unknown_sku", f"no item or alias '{code}'")


def _pending_location(event: CanonicalEvent, snapshot: MasterSnapshot,
                      code: str | None) -> Pending | str | None:
    if code is None:
        return None
    found = snapshot.location(code)
    if found is None:
        return Pending(event, "unknown_location", f"no location '{code}'")
    return found.location


def _movement(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    data = event.data
    sku = _pending_sku(event, snapshot, data.sku)
    if isinstance(sku, Pending):
        return sku
    location = _pending_location(event, snapshot, data.location)
    if isinstance(location, Pending):
        return location
    item = snapshot.items[sku]
    unit = data.unit or item.base_unit
    factor = item.conversions.get(unit)
    if factor is None:
        known = ", ".join(item.known_units())
        return Rejected([f"data.unit: unknown unit '{unit}' for {sku} (known: {known})"], event)
    payload: dict[str, Any] = {"event_id": event.id, "source": event.source, "type": event.type, "sku": sku,
                               "location": location, "time": event.time.isoformat()}
    # Read the model's __dict__: getattr of a field the model lacks takes pydantic's slow path.
    errors = converted(payload, data.__dict__, factor, unit, item.base_unit)
    if errors:
        return Rejected(errors, event)
    return Normalized(event, MOVEMENT_TOPICS[event.type], f"{location}:{sku}", payload)


def converted(payload: dict[str, Any], fields: dict[str, Any], factor: float, unit: str,
              base_unit: str) -> list[str]:
    """Copy the movement's data fields into `payload`, quantities in base units and prices per base unit."""
    errors = []
    for name in ("quantity", "on_hand"):
        value = fields.get(name)
        if value is None:
            continue
        base = value * factor
        if abs(base) > MAX_QUANTITY:
            errors.append(f"data.{name}: {value:g} {unit} = {base:g} {base_unit}, more than 1e9")
        payload[name] = base
    price = fields.get("unit_price")
    if price is not None:
        payload["unit_price"] = price / factor
    for name in ("channel", "order_id", "reason", "po_id"):
        if fields.get(name) is not None:
            payload[name] = fields[name]
    return errors


def local_day(value: date | datetime, timezone: str) -> date:
    """A date stays a date; a datetime becomes the calendar day at the location."""
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(timezone)).date()
    return value


def _promotion(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    data: PromotionData = event.data
    sku = _pending_sku(event, snapshot, data.sku)
    if isinstance(sku, Pending):
        return sku
    location = _pending_location(event, snapshot, data.location)
    if isinstance(location, Pending):
        return location
    # Without a location a datetime keeps the calendar day of its own offset.
    zone = snapshot.location(location).timezone if location else None
    start = local_day(data.start, zone) if zone else _own_day(data.start)
    end = local_day(data.end, zone) if zone else _own_day(data.end)
    if end < start:
        return Rejected(["data.end: must not be before start"], event)
    payload = {"sku": sku, "start": start.isoformat(), "end": end.isoformat()}
    if location:
        payload["location"] = location
    for name in ("kind", "expected_uplift"):
        if getattr(data, name) is not None:
            payload[name] = getattr(data, name)
    return Normalized(event, PROMOTIONS, f"{location or '*'}:{sku}", payload)


def _day_close(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    """A closed business day: a marker for every partition of the sales and stock topics (docs/clock.md)."""
    location = _pending_location(event, snapshot, event.data.location)
    if isinstance(location, Pending):
        return location
    zone = snapshot.location(location).timezone
    day = local_day(event.data.date, zone)
    return Normalized(event, DAY_CLOSE_TOPICS, location, {"stream": "ingest", "location": location,
                                                          "date": day.isoformat(), "time": event.time.isoformat()})


def _own_day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _item(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    data: ItemData = event.data
    owner = snapshot.resolve_sku(data.sku)
    sku = data.sku
    if owner is not None and code_key(owner) != code_key(data.sku):
        return Rejected([f"data.sku: '{data.sku}' is already an alias of {owner}"], event)
    if owner is not None:
        sku = owner  # same code spelled differently: keep the first spelling
    errors = []
    for index, alias in enumerate(data.aliases or ()):
        holder = snapshot.resolve_sku(alias)
        if holder is not None and holder != sku:
            errors.append(f"data.aliases[{index}]: '{alias}' already names {holder}")
    if errors:
        return Rejected(errors, event)
    fields = _dump(data)
    fields["sku"] = sku
    if data.like_sku is not None:
        fields["like_sku"] = snapshot.resolve_sku(data.like_sku) or data.like_sku
    item = data if sku == data.sku else data.model_copy(update={"sku": sku})
    normalized_event = event if item is data else event.model_copy(update={"data": item})
    return _master_record(normalized_event, f"item:{sku}", fields)


def _dump(data: Any) -> dict[str, Any]:
    return data.model_dump(mode="json", exclude_none=True)


def _master_record(event: CanonicalEvent, key: str, fields: dict[str, Any]) -> Normalized:
    payload = {"type": event.type, "time": event.time.isoformat(), "data": fields}
    return Normalized(event, MASTER, key, payload)


def _master(event: CanonicalEvent, snapshot: MasterSnapshot) -> Outcome:
    data = event.data
    fields = _dump(data)
    if event.type == "location":
        return _master_record(event, f"location:{data.location}", fields)
    if event.type == "supplier":
        return _master_record(event, f"supplier:{data.supplier_id}", fields)
    if isinstance(data, LaneData):
        return _lane(event, snapshot, fields)
    if isinstance(data, SupplierItemData):
        return _supplier_item(event, snapshot, fields)
    return _policy(event, snapshot, fields)


def _lane(event: CanonicalEvent, snapshot: MasterSnapshot, fields: dict[str, Any]) -> Outcome:
    for name in ("from_location", "to_location"):
        found = _pending_location(event, snapshot, fields[name])
        if isinstance(found, Pending):
            return found
        fields[name] = found
    return _master_record(event, f"lane:{fields['from_location']}:{fields['to_location']}", fields)


def _supplier_item(event: CanonicalEvent, snapshot: MasterSnapshot, fields: dict[str, Any]) -> Outcome:
    supplier = snapshot.supplier(fields["supplier_id"])
    if supplier is None:
        return Pending(event, "unknown_supplier", f"no supplier '{fields['supplier_id']}'")
    sku = _pending_sku(event, snapshot, fields["sku"])
    if isinstance(sku, Pending):
        return sku
    fields.update(supplier_id=supplier, sku=sku)
    return _master_record(event, f"supplier_item:{supplier}:{sku}", fields)


def _policy(event: CanonicalEvent, snapshot: MasterSnapshot, fields: dict[str, Any]) -> Outcome:
    data: PolicyData = event.data
    sku = _pending_sku(event, snapshot, data.sku)
    if isinstance(sku, Pending):
        return sku
    location = _pending_location(event, snapshot, data.location)
    if isinstance(location, Pending):
        return location
    if sku:
        fields["sku"] = sku
        scope = sku
    else:
        scope = f"category={data.category}" if data.category else "*"
    if location:
        fields["location"] = location
    return _master_record(event, f"policy:{location or '*'}:{scope}", fields)
