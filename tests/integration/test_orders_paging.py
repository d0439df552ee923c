"""Orders' PO list pages by cursor, newest first, over the real PostgreSQL (one pagination style everywhere)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.orders import models, routes
from services.orders import repository as repo
from shared.service import ServiceRuntime
from tests.integration.api_client import AUTH, api_client
from tests.integration.test_service_kpis import purchase_order

pytestmark = pytest.mark.integration


async def test_purchase_orders_page_by_cursor_newest_first(settings_for):
    runtime = ServiceRuntime(settings_for("orders"), models.metadata)
    supplier, t = f"SUP-PAGE-{uuid.uuid4().hex[:6]}", datetime(2019, 6, 1, 9, tzinfo=UTC)
    # two POs created at the same instant: po_id breaks the tie
    made = [purchase_order(f"{supplier}-{name}", supplier, at, "sent", None) for name, at in (
        ("a", t), ("b", t + timedelta(hours=1)), ("c", t + timedelta(hours=1)))]
    async with runtime.uow() as uow:
        for po in made:
            await repo.save_po(uow.session, po)
    seen, cursor = [], None
    async with api_client(routes.router, sessionmaker=runtime.sessionmaker) as client:
        for _ in range(4):
            page = (await client.get("/v1/purchase-orders", params={
                "supplier_id": supplier, "limit": 2, **({"cursor": cursor} if cursor else {})}, headers=AUTH)).json()
            seen += [po["po_id"] for po in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        bad = await client.get("/v1/purchase-orders?cursor=yesterday|x", headers=AUTH)
    await runtime.engine.dispose()
    assert seen == [f"{supplier}-b", f"{supplier}-c", f"{supplier}-a"]
    assert bad.status_code == 422
