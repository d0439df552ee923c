"""Every consumer of every service declares, for each type its topics carry, whether it handles or skips it."""
from __future__ import annotations

import importlib

import pytest

from shared.events.markers import DAY_CLOSED
from shared.events.topics import (
    ALERT_TOPICS,
    DELIVERIES,
    DEMAND,
    INGEST_RAW,
    MASTER,
    PROMOTIONS,
    PURCHASE_ORDERS,
    REORDERS,
    SALES,
    STOCK,
)
from shared.settings import SERVICES, load_settings

# What each topic carries (docs/contract.md §7 and §10: day markers on sales, stock, forecast demand, reorders and
# purchase orders).
TOPIC_TYPES = {
    INGEST_RAW: {"replenish.ingest.raw"},  # ingest's decoder wraps every raw message in this type
    SALES: {"replenish.ingest.sale", "replenish.ingest.return", DAY_CLOSED},
    STOCK: {"replenish.ingest.stock_count", "replenish.ingest.stock_adjustment", DAY_CLOSED},
    MASTER: {f"replenish.ingest.{t}" for t in ("item", "location", "lane", "supplier", "supplier_item", "policy")},
    PROMOTIONS: {"replenish.ingest.promotion"},
    DEMAND: {"replenish.forecast.demand", DAY_CLOSED},
    REORDERS: {"replenish.policy.reorder", DAY_CLOSED},
    PURCHASE_ORDERS: {"replenish.orders.purchase_order", "replenish.orders.po_email", DAY_CLOSED},
    DELIVERIES: {"replenish.notify.delivery"},
    **{topic: {"replenish.alert"} for topic in ALERT_TOPICS},
}


def _consumers(service: str):
    app = importlib.import_module(f"services.{service}.app").create_app(load_settings(service))
    return app.state.runtime.consumers


@pytest.mark.parametrize("service", SERVICES)
def test_each_consumer_handles_or_skips_every_type_of_its_topics(service):
    for spec in _consumers(service):
        assert spec.types is not None, f"{service}.{spec.name} declares no event types"
        carried = set().union(*(TOPIC_TYPES[t] for t in spec.topics))
        assert spec.types.covers(carried) == set(), f"{service}.{spec.name}"
        assert spec.types.handles <= carried, f"{service}.{spec.name} handles types its topics never carry"
