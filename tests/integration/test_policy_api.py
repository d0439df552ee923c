"""Policy read and rules API over the real database: filters, paging, explain, validation, versions."""
from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI

from services.policy import routes
from shared.auth.principals import Principal
from shared.http.errors import install_error_handlers
from tests.integration.test_policy_flow import T0, PolicyWorld

pytestmark = pytest.mark.integration
AUTH = {"authorization": "Bearer planner-token"}


class _Tokens:
    async def lookup(self, token: str) -> Principal | None:
        return Principal(name="planner-1", role="planner") if token == "planner-token" else None


@pytest.fixture
async def client_and_world(database_url):
    world = PolicyWorld(database_url)
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(routes.router)
    app.state.runtime = SimpleNamespace(sessionmaker=world.sessionmaker, uow=world.uow)
    app.state.tokens = _Tokens()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://policy") as client:
        yield client, world
    await world.close()


async def test_positions_filter_and_page_with_a_cursor(client_and_world):
    client, world = client_and_world
    other = PolicyWorld(world.url)
    other.location = world.location
    for w in (world, other):
        await w.skeleton_master()
        await w.count(500, T0)
    await other.close()
    first = (await client.get(f"/v1/positions?location={world.location}&limit=1", headers=AUTH)).json()
    second = (await client.get(f"/v1/positions?location={world.location}&limit=1&cursor={first['next_cursor']}",
                               headers=AUTH)).json()
    skus = [first["items"][0]["sku"], second["items"][0]["sku"]]
    assert sorted(skus) == sorted([world.sku, other.sku]) and skus[0] < skus[1]
    ok = (await client.get(f"/v1/positions?location={world.location}&status=ok", headers=AUTH)).json()
    assert ok["items"] == []  # no sales: D = 0 so S = 0, and IP 500 > S + 30·D = 0 → overstock
    over = (await client.get(f"/v1/positions?location={world.location}&status=overstock", headers=AUTH)).json()
    assert len(over["items"]) == 2
    bad = await client.get("/v1/positions?status=fine", headers=AUTH)
    assert bad.status_code == 422 and bad.json()["error"]["message"].startswith("status must be one of")


async def test_reorders_and_explain_answer_why(client_and_world):
    client, world = client_and_world
    await world.skeleton()
    listed = (await client.get(f"/v1/reorders?location={world.location}&sku={world.sku}", headers=AUTH)).json()
    assert [(r["quantity"], r["status"]) for r in listed["items"]] == [(72.0, "open")]
    why = (await client.get(f"/v1/positions/{world.location}/{world.sku}/explain", headers=AUTH)).json()
    assert why["reordered"] is False and "IP 92 > ROP 70" in why["answer"]
    assert why["last_reorder"]["reorder_id"] == listed["items"][0]["reorder_id"]
    missing = await client.get(f"/v1/positions/{world.location}/nope/explain", headers=AUTH)
    assert missing.status_code == 404


async def test_invalid_rules_get_422_with_field_paths(client_and_world):
    client, _ = client_and_world
    bad = {"rules": [{"id": "r1", "when": {"field": "colour", "op": "eq", "value": "red"},
                      "then": [{"action": "set_service_level", "value": 1.5}]}]}
    resp = await client.put("/v1/rules", json=bad, headers=AUTH)
    details = resp.json()["error"]["details"]
    assert resp.status_code == 422
    assert any(d.startswith("rules[0].when.field") for d in details)
    assert any(d.startswith("rules[0].then[0].value") for d in details)


async def test_supplier_a_rule_is_versioned_and_forces_order_and_alert(client_and_world):
    client, world = client_and_world
    supplier = f"SUP-A-{uuid.uuid4().hex[:6]}"
    current = (await client.get("/v1/rules", headers=AUTH)).json()
    rule = {"id": f"supplier-a-low-{supplier}",
            "when": {"all": [{"field": "supplier", "op": "eq", "value": supplier},
                             {"field": "on_hand", "op": "lt", "value": 20}]},
            "then": [{"action": "reorder"},
                     {"action": "route_alert", "receiver": "buyer-email", "alert_types": ["below_safety_stock"],
                      "fire": True}]}
    put = await client.put("/v1/rules", json={"version": current["version"], "rules": [*current["rules"], rule]},
                           headers=AUTH)
    assert put.status_code == 200 and put.json()["version"] == current["version"] + 1
    stale = await client.put("/v1/rules", json={"version": current["version"], "rules": []}, headers=AUTH)
    assert stale.status_code == 409
    await world.master("item", {"sku": world.sku, "name": "Item", "base_unit": "each", "unit_cost": 2.5})
    await world.master("supplier_item", {"supplier_id": supplier, "sku": world.sku, "lead_time_days": 7,
                                         "moq": 12, "pack_size": 12})
    await world.count(25, T0)
    assert await world.reorders() == []          # no demand, on hand 25: nothing due
    await world.adjust(-6, T0 + timedelta(hours=1), reason="scrap")  # 19 < 20: the rule orders and alerts
    (reorder,) = await world.reorders()
    assert reorder["quantity"] == 12 and reorder["explanation"]["reason"].startswith("a rule forces an order")
    (alert,) = await world.alerts("below_safety_stock")
    assert alert["labels"]["receiver"] == "buyer-email" and alert["status"] == "firing"
