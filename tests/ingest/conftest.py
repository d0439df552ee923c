"""Shared builders for ingest tests: a clock and a small master snapshot."""
from datetime import UTC, datetime

import pytest

from services.ingest.domain.master import MasterSnapshot, apply_master
from shared.events.canonical import validate_event

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def valid(kind, data, *, id="e-1", source="erp", time="2026-11-21T10:00:00Z"):
    event = validate_event({"id": id, "source": source, "type": kind, "time": time, "data": data}, NOW)
    assert not isinstance(event, list), event
    return event


def make_snapshot():
    """Tea (each; case = 12, 箱 = 24; barcode and legacy alias) at store-12 (Shanghai), supplier ACME."""
    master = MasterSnapshot()
    for event in (
        valid("item", {"sku": "SKU-1", "name": "Tea", "base_unit": "each",
                       "unit_conversions": {"case": 12, "箱": 24}, "aliases": ["6901234567892", "OLD-001"]}),
        valid("location", {"location": "store-12", "name": "Store 12", "kind": "store",
                           "timezone": "Asia/Shanghai", "country": "CN"}),
        valid("location", {"location": "dc-1", "name": "DC", "kind": "warehouse"}),
        valid("supplier", {"supplier_id": "ACME", "name": "Acme"}),
    ):
        master = apply_master(master, event)
    return master


@pytest.fixture
def snapshot():
    return make_snapshot()
