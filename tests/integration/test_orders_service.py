"""The orders service on the real broker and PostgreSQL: reorder -> PO -> signed push, retries, scoping, receipts."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.orders.app import create_app
from services.orders.domain import idempotency_key
from services.orders.settings import OrdersSettings
from shared.events.envelope import make_envelope
from shared.events.topics import MASTER, ORDERS_ALERTS, REORDERS, STOCK
from shared.runtime.ports import free_port

pytestmark = pytest.mark.integration
ADMIN = "test-admin-token"
SECRET = "s3cret-supplier"
RUN = uuid.uuid4().hex[:6]


class Supplier:
    """A supplier's webhook: verifies the HMAC signature, answers from a script of status codes per path."""

    def __init__(self) -> None:
        self.hits: list[dict] = []
        self.script: dict[str, list[int]] = {}
        self.applied: set[str] = set()  # idempotency keys whose effect happened (2xx answered)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                key = self.headers.get("idempotency-key")
                codes = outer.script.get(self.path, [])
                code = codes.pop(0) if codes else 200
                outer.hits.append({"path": self.path, "body": json.loads(body), "key": key,
                                   "signed": hmac.compare_digest(expected, self.headers.get(
                                       "x-replenish-signature", "")), "code": code})
                if code < 300:
                    outer.applied.add(key)
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_po(self, po_id: str) -> list[dict]:
        return [h for h in self.hits if h["body"]["po_id"] == po_id]


@pytest.fixture(scope="module")
async def orders(settings_for, kafka):
    port = free_port()
    cfg = OrdersSettings(window_s=1.0, tick_s=0.2, delay_check_s=0.5, retry_base_s=0.2, retry_cap_s=0.5,
                         retry_max_attempts=3, breaker_failures=10, unack_timeout_s=3600)
    app = create_app(settings_for("orders", port=port), cfg)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(600):  # uvicorn exposes `started` as a flag only
        if server.started:
            break
        await asyncio.sleep(0.05)
    supplier = Supplier()
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        tokens = {}
        for role in ("planner", "approver", "ops"):
            r = await client.post("/v1/tokens", json={"name": f"{role}-1", "role": role}, headers=_auth(ADMIN))
            tokens[role] = r.json()["token"]
        tokens["admin"] = ADMIN
        await _wait_consuming(app)
        yield {"client": client, "tokens": tokens, "supplier": supplier, "producer": producer, "kafka": kafka}
    await producer.stop()
    supplier.server.shutdown()
    server.should_exit = True
    await task


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _wait_consuming(app) -> None:
    loops = app.state.runtime.loops
    await asyncio.wait_for(asyncio.gather(*(loop.started.wait() for loop in loops)), 30)


async def _publish(o, topic: str, key: str, type_: str, data: dict, event_id: str | None = None) -> None:
    env = make_envelope(source="test", type=type_, time=datetime.now(UTC), data=data, subject=key, id=event_id)
    await o["producer"].send_and_wait(topic, value=env.to_bytes(), key=key.encode())


async def _reorder(o, supplier: str, rid: str, sku: str = "SKU-1", qty: float = 30, **extra) -> None:
    data = {"reorder_id": rid, "kind": "purchase", "sku": sku, "location": "store-1", "supplier_id": supplier,
            "quantity": qty, "need_by": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
            "decided_at": datetime.now(UTC).isoformat(), "explanation": {}, **extra}
    await _publish(o, REORDERS, f"store-1:{sku}", "replenish.policy.reorder", data)


async def _supplier_item(o, supplier: str, sku: str = "SKU-1", pack: float = 12, cost: float = 2.5) -> None:
    data = {"type": "supplier_item", "time": datetime.now(UTC).isoformat(),
            "data": {"supplier_id": supplier, "sku": sku, "lead_time_days": 5, "moq": 12, "pack_size": pack,
                     "unit_cost": cost}}
    await _publish(o, MASTER, f"supplier_item:{supplier}:{sku}", "replenish.ingest.supplier_item", data)


async def _poll(fn, within: float = 20.0, every: float = 0.2):
    deadline = asyncio.get_running_loop().time() + within
    while True:
        got = await fn()
        if got:
            return got
        if asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(every)


async def _pos(o, supplier: str) -> list[dict]:
    r = await o["client"].get(f"/v1/purchase-orders?supplier_id={supplier}", headers=_auth(ADMIN))
    return r.json()["items"]


async def _po_in(o, supplier: str, *statuses: str) -> dict | None:
    async def check():
        pos = await _pos(o, supplier)
        return pos[0] if pos and pos[0]["status"] in statuses else None
    return await _poll(check)


async def _webhook(o, supplier: str) -> None:
    r = await o["client"].put(f"/v1/suppliers/{supplier}/webhook",
                              json={"url": o["supplier"].url + f"/{supplier}", "secret": SECRET},
                              headers=_auth(ADMIN))
    assert r.status_code == 200 and SECRET not in r.text


async def _sent_po(o, supplier: str) -> dict:
    await _webhook(o, supplier)
    await _supplier_item(o, supplier)
    await asyncio.sleep(0.3)  # master data first: the line takes pack size and price from it
    await _reorder(o, supplier, f"store-1:SKU-1:{supplier}")
    po = await _po_in(o, supplier, "sent")
    assert po is not None, await _pos(o, supplier)
    return po


async def test_reorder_becomes_a_signed_push_and_redelivery_adds_nothing(orders):
    o, sup = orders, f"SUP-A{RUN}"
    po = await _sent_po(o, sup)
    assert po["lines"][0]["quantity"] == 36  # 30 rounded up to packs of 12
    assert po["total"] == 90.0
    hits = await _poll(lambda: asyncio.sleep(0, o["supplier"].for_po(po["po_id"])))
    assert hits and hits[0]["signed"]
    assert hits[0]["key"] == idempotency_key(po["po_id"], 1)
    await _reorder(o, sup, f"store-1:SKU-1:{sup}")  # same reorder, new envelope id
    await asyncio.sleep(2.5)  # longer than the window: a second PO would be there by now
    pos = await _pos(o, sup)
    assert len(pos) == 1 and len(pos[0]["lines"]) == 1 and pos[0]["lines"][0]["quantity"] == 36
    detail = (await o["client"].get(f"/v1/purchase-orders/{po['po_id']}", headers=_auth(ADMIN))).json()
    assert [a["to_status"] for a in detail["audit"]][-2:] == ["approved", "sent"]


async def test_push_retried_after_500_with_one_key_and_one_effect(orders):
    o, sup = orders, f"SUP-R{RUN}"
    o["supplier"].script[f"/{sup}"] = [500, 503]
    po = await _sent_po(o, sup)

    async def delivered():
        r = await o["client"].get(f"/v1/purchase-orders/{po['po_id']}", headers=_auth(ADMIN))
        return r.json()["delivery_status"] == "delivered"
    assert await _poll(delivered)
    hits = o["supplier"].for_po(po["po_id"])
    assert [h["code"] for h in hits] == [500, 503, 200]
    assert len({h["key"] for h in hits}) == 1 and len({json.dumps(h["body"]) for h in hits}) == 1
    assert hits[0]["key"] in o["supplier"].applied


async def test_last_failed_retry_raises_supplier_unresponsive(orders):
    o, sup = orders, f"SUP-D{RUN}"
    o["supplier"].script[f"/{sup}"] = [500] * 10
    po = await _sent_po(o, sup)
    consumer = AIOKafkaConsumer(bootstrap_servers=o["kafka"])
    await consumer.start()
    try:
        parts = [TopicPartition(ORDERS_ALERTS, p) for p in consumer.partitions_for_topic(ORDERS_ALERTS) or []]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        found = []

        async def alert():
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(json.loads(r.value)["data"] for r in records)
            return [a for a in found if a["key"] == f"supplier_unresponsive:{sup}"]
        alerts = await _poll(alert, within=20)
    finally:
        await consumer.stop()
    assert alerts and alerts[0]["status"] == "firing" and alerts[0]["po_id"] == po["po_id"]
    assert len(o["supplier"].for_po(po["po_id"])) == 3  # retry_max_attempts


async def test_supplier_sees_only_its_own_and_roles_are_enforced(orders):
    o, c = orders, orders["client"]
    sup_a, sup_b = f"SUP-S{RUN}", f"SUP-T{RUN}"
    po = await _sent_po(o, sup_a)
    key_a = (await c.post(f"/v1/suppliers/{sup_a}/keys", headers=_auth(ADMIN))).json()
    key_b = (await c.post(f"/v1/suppliers/{sup_b}/keys", headers=_auth(ADMIN))).json()
    a, b = _auth(key_a["token"]), _auth(key_b["token"])
    path = f"/v1/supplier/purchase-orders/{po['po_id']}"
    assert [p["po_id"] for p in (await c.get("/v1/supplier/purchase-orders", headers=a)).json()["items"]] == [
        po["po_id"]]
    assert (await c.get("/v1/supplier/purchase-orders", headers=b)).json()["items"] == []
    assert (await c.get(path, headers=b)).status_code == 404
    assert (await c.post(path + "/acknowledge", json={"promised_date": "2099-01-01"}, headers=b)).status_code == 404
    assert (await c.get("/v1/purchase-orders", headers=a)).status_code == 403
    assert (await c.get("/v1/purchase-orders")).status_code == 401
    assert (await c.get(path, headers=_auth(o["tokens"]["planner"]))).status_code == 403
    internal = f"/v1/purchase-orders/{po['po_id']}"
    assert (await c.post(internal + "/approve", headers=_auth(o["tokens"]["planner"]))).status_code == 403
    assert (await c.post(internal + "/approve", headers=_auth(o["tokens"]["approver"]))).status_code == 409
    hook = {"url": "http://127.0.0.1:1/x", "secret": "x"}
    assert (await c.put(f"/v1/suppliers/{sup_a}/webhook", json=hook,
                        headers=_auth(o["tokens"]["ops"]))).status_code == 403
    assert (await c.get(path, headers=a)).status_code == 200
    assert (await c.delete(f"/v1/suppliers/{sup_a}/keys/{key_a['key_id']}", headers=_auth(ADMIN))).status_code == 204
    await asyncio.sleep(0.1)
    assert (await c.get(path, headers=a)).status_code == 401


async def test_partial_then_over_receipt_is_booked_and_flagged(orders):
    o, c, sup = orders, orders["client"], f"SUP-P{RUN}"
    po = await _sent_po(o, sup)
    token = (await c.post(f"/v1/suppliers/{sup}/keys", headers=_auth(ADMIN))).json()["token"]
    path = f"/v1/supplier/purchase-orders/{po['po_id']}"
    eta = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    assert (await c.post(path + "/acknowledge", json={"promised_date": eta}, headers=_auth(token))).status_code == 200
    ship = {"eta": eta, "tracking": "TRK-1", "lines": [{"sku": "SKU-1", "location": "store-1", "quantity": 36}]}
    assert (await c.post(path + "/ship", json=ship, headers=_auth(token))).status_code == 200
    bad = {"eta": eta, "lines": [{"sku": "SKU-9", "location": "store-1", "quantity": 1}]}
    r = await c.post(path + "/ship", json=bad, headers=_auth(token))
    assert r.status_code == 422 and r.json()["error"]["details"]
    for n, qty in enumerate((12, 30)):
        await _publish(o, STOCK, "store-1:SKU-1", "replenish.ingest.stock_adjustment", {
            "event_id": f"rcpt-{sup}-{n}", "source": "wms", "type": "stock_adjustment", "sku": "SKU-1",
            "location": "store-1", "quantity": qty, "reason": "receipt", "po_id": po["po_id"],
            "time": datetime.now(UTC).isoformat()})
        got = await _po_in(o, sup, "partially_received" if n == 0 else "received")
        assert got is not None, await _pos(o, sup)
    detail = (await c.get(f"/v1/purchase-orders/{po['po_id']}", headers=_auth(ADMIN))).json()
    assert detail["lines"][0]["received_quantity"] == 42
    assert [(f["kind"], f["quantity"]) for f in detail["receipt_flags"]] == [("over_receipt", 6.0)]


async def test_approval_required_waits_for_an_approver_then_sends(orders):
    o, c, sup = orders, orders["client"], f"SUP-Q{RUN}"
    await _webhook(o, sup)
    await _reorder(o, sup, f"store-1:SKU-1:{sup}", requires_approval=True, unit_cost=4.0)
    po = await _po_in(o, sup, "pending_approval")
    assert po is not None and po["total"] == 120.0
    internal = f"/v1/purchase-orders/{po['po_id']}"
    edit = {"lines": [{"sku": "SKU-1", "location": "store-1", "quantity": 25}], "reason": "round"}
    r = await c.patch(internal + "/lines", json=edit, headers=_auth(o["tokens"]["planner"]))
    assert r.status_code == 200 and r.json()["lines"][0]["quantity"] == 25
    r = await c.post(internal + "/approve", json={}, headers=_auth(o["tokens"]["approver"]))
    assert r.status_code == 200 and r.json()["approvals"] == ["approver-1"]
    assert await _po_in(o, sup, "sent")
    assert await _poll(lambda: asyncio.sleep(0, o["supplier"].for_po(po["po_id"])))
