"""Policy's stock KPIs and position history over the real handlers and PostgreSQL: end-of-day on-hand rebuilt
from the ledger and counts, in-stock rate, stockout days, estimated fill rate, inventory value and turns."""
from __future__ import annotations

from datetime import timedelta

import pytest

from services.policy import kpi_routes
from tests.integration.api_client import AUTH, api_client
from tests.integration.test_policy_flow import T0, PolicyWorld

pytestmark = pytest.mark.integration
H = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture
async def client_and_world(database_url):
    """Sep 1–6 at one store (UTC, unit cost 2.5): a count of 30, three sales of 10 (out on Sep 3's evening), an
    empty Sep 4, a receipt of 50 and a sale of 5 on Sep 5, a count of 45 on Sep 6 that agrees with the ledger."""
    world = PolicyWorld(database_url)
    await world.skeleton_master()
    await world.count(30, T0)
    for d in range(3):
        await world.sale(10, T0 + d * DAY + 12 * H)
    await world.adjust(50, T0 + 4 * DAY + 6 * H)
    await world.sale(5, T0 + 4 * DAY + 12 * H)
    await world.count(45, T0 + 5 * DAY + 10 * H)
    async with api_client(kpi_routes.router, sessionmaker=world.sessionmaker, uow=world.uow) as client:
        yield client, world
    await world.close()


async def test_stock_kpis_follow_the_end_of_day_on_hand(client_and_world):
    client, world = client_and_world
    body = (await client.get(f"/v1/kpis?location={world.location}&days=6", headers=AUTH)).json()
    assert body["window"] == {"start": "2026-09-01", "end": "2026-09-06", "days": 6}
    stock = body["stock"]
    # end of day: 20, 10, 0, 0, 45, 45 → four of six days in stock
    assert (stock["sku_location_days"], stock["in_stock_days"], stock["stockout_days"]) == (6, 4, 2)
    assert stock["in_stock_rate"] == pytest.approx(4 / 6)
    # sold 10, 10, 5, 0 on days with stock: 6.25 a day; Sep 3 sold 10 (nothing lost), Sep 4 lost 6.25
    assert (stock["served"], stock["estimated_lost_demand"]) == (35, 6.25)
    assert stock["estimated_fill_rate"] == pytest.approx(35 / 41.25)
    assert stock["inventory_value"] == 45 * 2.5 and stock["mean_inventory_value"] == pytest.approx(120 * 2.5 / 6)
    assert stock["turns"] == pytest.approx(35 * 2.5 * 365 / 6 / (120 * 2.5 / 6))
    assert sum(body["positions_by_status"].values()) == 1


async def test_a_window_before_the_key_existed_counts_no_days(client_and_world):
    client, world = client_and_world
    body = (await client.get(f"/v1/kpis?location={world.location}&end=2026-08-31&days=5", headers=AUTH)).json()
    assert body["stock"]["sku_location_days"] == 0 and body["stock"]["in_stock_rate"] is None
    empty = (await client.get("/v1/kpis?location=nowhere", headers=AUTH)).json()
    assert empty["window"]["end"] is None and empty["stock"]["estimated_fill_rate"] is None
    assert (await client.get("/v1/kpis?days=400", headers=AUTH)).status_code == 422


async def test_position_history_has_on_hand_and_levels_per_day(client_and_world):
    client, world = client_and_world
    body = (await client.get(f"/v1/positions/{world.location}/{world.sku}/history?days=6", headers=AUTH)).json()
    items = body["items"]
    assert [(d["date"][-2:], d["on_hand"], d["sold"]) for d in items] == [
        ("01", 20, 10), ("02", 10, 10), ("03", 0, 10), ("04", 0, 0), ("05", 45, 5), ("06", 45, 0)]
    position = await world.position()
    last = items[-1]
    assert (last["reorder_point"], last["order_up_to"], last["status"]) == (
        position["reorder_point"], position["order_up_to"], position["status"])
    assert all(d["reorder_point"] is not None for d in items)  # Sep 4 had no decision: Sep 3's levels hold
    missing = await client.get(f"/v1/positions/{world.location}/nope/history", headers=AUTH)
    assert missing.status_code == 404
