"""The master data ingest resolves against: items with units and aliases, locations, suppliers."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from services.ingest.domain.codes import code_key
from shared.events.canonical import CanonicalEvent, ItemData, LocationData, SupplierData

MASTER_APPLIED = ("item", "location", "supplier")  # the master types other events resolve against


@dataclass(frozen=True)
class ItemMaster:
    sku: str
    base_unit: str
    conversions: dict[str, float]  # unit -> base units per unit, the base unit included as 1
    aliases: tuple[str, ...] = ()
    category: str | None = None

    def known_units(self) -> list[str]:
        return list(self.conversions)


@dataclass(frozen=True)
class LocationMaster:
    location: str
    timezone: str = "UTC"
    kind: str = "store"
    country: str | None = None


@dataclass
class MasterSnapshot:
    """Lookup tables keyed by `code_key`; treat as immutable outside this module (see `apply_master`)."""

    items: dict[str, ItemMaster] = field(default_factory=dict)  # canonical sku -> item
    codes: dict[str, str] = field(default_factory=dict)  # code_key(sku or alias) -> canonical sku
    locations: dict[str, LocationMaster] = field(default_factory=dict)  # code_key(location) -> location
    suppliers: dict[str, str] = field(default_factory=dict)  # code_key(supplier_id) -> supplier_id

    def copy(self) -> MasterSnapshot:
        return replace(self, items=dict(self.items), codes=dict(self.codes), locations=dict(self.locations),
                       suppliers=dict(self.suppliers))

    def resolve_sku(self, code: str) -> str | None:
        return self.codes.get(code_key(code))

    def item(self, code: str) -> ItemMaster | None:
        sku = self.resolve_sku(code)
        return self.items.get(sku) if sku is not None else None

    def location(self, code: str) -> LocationMaster | None:
        return self.locations.get(code_key(code))

    def supplier(self, code: str) -> str | None:
        return self.suppliers.get(code_key(code))


def item_master(data: ItemData) -> ItemMaster:
    conversions = {data.base_unit: 1.0, **(data.unit_conversions or {})}
    return ItemMaster(sku=data.sku, base_unit=data.base_unit, conversions=conversions,
                      aliases=tuple(data.aliases or ()), category=data.category)


def apply_master(snapshot: MasterSnapshot, event: CanonicalEvent) -> MasterSnapshot:
    """The snapshot after a (valid, normalized) master event; non-master events leave it unchanged.

    Pure: the argument is not modified. Batches use `apply_master_in_place` on one private copy instead,
    so a 10,000-item load costs one copy, not 10,000.
    """
    if event.type not in MASTER_APPLIED:
        return snapshot
    updated = snapshot.copy()
    apply_master_in_place(updated, event)
    return updated


def apply_master_in_place(snapshot: MasterSnapshot, event: CanonicalEvent) -> None:
    data = event.data
    if isinstance(data, ItemData):
        _put_item(snapshot, item_master(data))
    elif isinstance(data, LocationData):
        snapshot.locations[code_key(data.location)] = LocationMaster(
            location=data.location, timezone=data.timezone, kind=data.kind, country=data.country)
    elif isinstance(data, SupplierData):
        snapshot.suppliers[code_key(data.supplier_id)] = data.supplier_id


def _put_item(snapshot: MasterSnapshot, item: ItemMaster) -> None:
    # An item event is the full record: aliases it no longer lists stop resolving to it.
    previous = snapshot.items.get(item.sku)
    if previous is not None:
        for alias in previous.aliases:
            if snapshot.codes.get(code_key(alias)) == item.sku:
                del snapshot.codes[code_key(alias)]
    snapshot.items[item.sku] = item
    snapshot.codes[code_key(item.sku)] = item.sku
    for alias in item.aliases:
        snapshot.codes[code_key(alias)] = item.sku
