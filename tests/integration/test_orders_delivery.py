"""Orders on the real broker and PostgreSQL: PO email outcomes, resend, transfers, incremental delay alerts.

Delay passes are driven explicitly with a chosen `now` (the background pass runs once at start only), so
hours and days of wall-clock time are crossed in milliseconds.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.orders import repository as repo
from services.orders.app import create_app
from services.orders.domain import idempotency_key
from services.orders.settings import OrdersSettings
from services.orders.timers import check_delays
from shared.events.topics import DELIVERIES, ORDERS_ALERTS, PURCHASE_ORDERS, REORDERS, STOCK
from shared.runtime.ports import free_port
from tests.integration.test_orders_service import ADMIN, SECRET, Supplier, _auth, _poll, _publish, _supplier_item

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:6]
# two push attempts (0.1 s apart; the next wait, 1 h, would end past the 30 s max age): then failed for good
CFG = OrdersSettings(window_s=0.5, tick_s=0.2, delay_check_s=3600, push_schedule="0.1s,1h", push_max_age="30s",
                     breaker_failures=50, unack_timeout_s=60)


class Topic:
    """Everything on one topic from the beginning, read on demand."""

    def __init__(self, kafka: str, topic: str) -> None:
        self.kafka, self.topic, self.seen, self.consumer = kafka, topic, [], None

    async def start(self) -> Topic:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.kafka)
        await self.consumer.start()
        parts = [TopicPartition(self.topic, p) for p in self.consumer.partitions_for_topic(self.topic) or []]
        self.consumer.assign(parts)
        await self.consumer.seek_to_beginning(*parts)
        return self

    async def read(self) -> list[dict]:
        for records in (await self.consumer.getmany(timeout_ms=200)).values():
            self.seen.extend(json.loads(r.value) for r in records)
        return self.seen


@pytest.fixture(scope="module")
async def o(settings_for, kafka):
    port = free_port()
    app = create_app(settings_for("orders", port=port), CFG)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    task = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        await asyncio.sleep(0.05)
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    alerts, pos = await Topic(kafka, ORDERS_ALERTS).start(), await Topic(kafka, PURCHASE_ORDERS).start()
    runtime = app.state.runtime
    await asyncio.wait_for(asyncio.gather(*(loop.started.wait() for loop in runtime.loops)), 30)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        approver = (await client.post("/v1/tokens", json={"name": "approver-9", "role": "approver"},
                                      headers=_auth(ADMIN))).json()["token"]
        yield {"client": client, "producer": producer, "kafka": kafka, "runtime": runtime, "alerts": alerts,
               "pos": pos, "supplier": Supplier(), "approver": approver}
    for t in (alerts, pos):
        await t.consumer.stop()
    await producer.stop()
    server.should_exit = True
    await task


async def _reorder(o, rid: str, **fields) -> None:
    data = {"reorder_id": rid, "kind": "purchase", "sku": "SKU-1", "location": "store-1", "quantity": 30,
            "need_by": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
            "decided_at": datetime.now(UTC).isoformat(), **fields}
    await _publish(o, REORDERS, "store-1:SKU-1", "replenish.policy.reorder", data)


async def _po(o, party: str, *statuses: str, check=None) -> dict | None:
    async def get():
        r = await o["client"].get(f"/v1/purchase-orders?supplier_id={party}", headers=_auth(ADMIN))
        items = r.json()["items"]
        if not items or items[0]["status"] not in statuses:
            return None
        po = (await o["client"].get(f"/v1/purchase-orders/{items[0]['po_id']}", headers=_auth(ADMIN))).json()
        return po if check is None or check(po) else None
    return await _poll(get)


async def _outcome(o, po_id: str, status: str, reason: str | None, event_id: str) -> None:
    key = idempotency_key(po_id, 1)
    await _publish(o, DELIVERIES, po_id, "replenish.notify.delivery", {
        "kind": "po_email", "alert_id": f"po:{po_id}", "alert_key": f"po_email:{po_id}", "revision": 1,
        "receiver": "po_email", "channel": "email", "status": status, "attempts": 1,
        "at": datetime.now(UTC).isoformat(), "idempotency_key": key, "po_id": po_id, "reason": reason}, event_id)


async def _alert(o, key: str, status: str) -> dict | None:
    async def find():
        got = [e["data"] for e in await o["alerts"].read() if e["data"]["key"] == key]
        return got[-1] if got and got[-1]["status"] == status else None
    return await _poll(find, within=10)


async def _email_requests(o, po_id: str) -> list[dict]:
    return [e for e in await o["pos"].read() if e["type"] == "replenish.orders.po_email"
            and e["data"]["po_id"] == po_id]


async def test_failed_email_fails_the_delivery_alerts_and_a_resend_delivers_with_the_same_key(o):
    sup = f"SUP-E{RUN}"
    await _reorder(o, f"r-{sup}", supplier_id=sup, unit_cost=2.0)
    po = await _po(o, sup, "sent")
    assert po is not None and po["delivery_status"] == "pending"
    assert [(d["channel"], d["status"]) for d in po["deliveries"]] == [("email", "requested")]
    assert len(await _poll(lambda: _email_requests(o, po["po_id"]))) == 1

    await _outcome(o, po["po_id"], "suppressed", "no mail server configured", f"{sup}-1")
    failed = await _po(o, sup, "sent", check=lambda p: p["delivery_status"] == "failed")
    assert failed is not None and failed["deliveries"][0]["status"] == "failed"
    assert "no mail server configured" in failed["deliveries"][0]["last_error"]
    await check_delays(o["runtime"], CFG, datetime.now(UTC))
    alert = await _alert(o, f"supplier_unresponsive:{sup}", "firing")
    assert alert is not None and alert["severity"] == "critical" and alert["po_id"] == po["po_id"]
    assert "no mail server configured" in alert["summary"]

    r = await o["client"].post(f"/v1/purchase-orders/{po['po_id']}/resend", json={"reason": "mail fixed"},
                               headers=_auth(o["approver"]))
    assert r.status_code == 200 and r.json()["delivery_status"] == "pending" and r.json()["send_revision"] == 1
    assert r.json()["audit"][-1]["action"] == "resend" and r.json()["audit"][-1]["actor"] == "approver-9"
    requests = await _poll(lambda: _poll_len(_email_requests(o, po["po_id"]), 2), within=10)
    assert {q["data"]["idempotency_key"] for q in requests} == {idempotency_key(po["po_id"], 1)}
    assert len({q["id"] for q in requests}) == 2

    await _outcome(o, po["po_id"], "sent", None, f"{sup}-2")
    assert await _po(o, sup, "sent", check=lambda p: p["delivery_status"] == "delivered")
    await check_delays(o["runtime"], CFG, datetime.now(UTC))
    assert await _alert(o, f"supplier_unresponsive:{sup}", "resolved")


async def _poll_len(coro, n: int) -> list:
    got = await coro
    return got if len(got) >= n else []


async def test_resend_after_failed_webhook_push_repeats_revision_and_key(o):
    sup, c = f"SUP-W{RUN}", o["client"]
    o["supplier"].script[f"/{sup}"] = [500, 500]  # both attempts of the schedule: the delivery fails for good
    hook = {"url": o["supplier"].url + f"/{sup}", "secret": SECRET}
    r = await c.put(f"/v1/suppliers/{sup}/webhook", json=hook, headers=_auth(ADMIN))
    assert r.status_code == 200
    await _reorder(o, f"r-{sup}", supplier_id=sup, unit_cost=2.0)
    po = await _po(o, sup, "sent", check=lambda p: p["delivery_status"] == "failed")
    assert po is not None and "push schedule exhausted" in po["delivery_error"]
    assert po["deliveries"][0]["attempts"] == 2 and po["audit"][-1]["action"] == "delivery"
    path = f"/v1/purchase-orders/{po['po_id']}/resend"
    assert (await c.post(path, headers=_auth(o["approver"]))).status_code == 200
    assert (await c.post(path, headers=_auth(o["approver"]))).status_code == 409  # not failed any more
    assert await _po(o, sup, "sent", check=lambda p: p["delivery_status"] == "delivered")
    hits = o["supplier"].for_po(po["po_id"])
    assert [h["code"] for h in hits] == [500, 500, 200] and all(h["signed"] for h in hits)
    assert {h["key"] for h in hits} == {idempotency_key(po["po_id"], 1)}
    assert len({json.dumps(h["body"]) for h in hits}) == 1  # the frozen body of revision 1, byte for byte


async def test_transfer_is_never_pushed_or_emailed_and_closes_on_transfer_in(o):
    src, loc = f"dc{RUN}", f"store-t{RUN}"
    party = f"transfer:{src}"
    await _publish(o, REORDERS, f"{loc}:SKU-1", "replenish.policy.reorder", {
        "reorder_id": f"t-{RUN}", "kind": "transfer", "sku": "SKU-1", "location": loc, "from_location": src,
        "quantity": 20, "need_by": datetime.now(UTC).date().isoformat(), "decided_at": datetime.now(UTC).isoformat()})
    po = await _po(o, party, "sent")
    assert po is not None and po["delivery_status"] == "none" and po["deliveries"] == []
    assert await _email_requests(o, po["po_id"]) == []
    async def sent_snapshot():
        return [e["data"] for e in await o["pos"].read()
                if e["type"] == "replenish.orders.purchase_order" and e["data"]["po_id"] == po["po_id"]
                and e["data"]["status"] == "sent"]
    snaps = await _poll(sent_snapshot, within=10)
    assert snaps and snaps[-1]["lines"][0]["open_quantity"] == 20  # policy counts it on order until it arrives
    for n, qty in enumerate((15, 5)):
        await _publish(o, STOCK, f"{loc}:SKU-1", "replenish.ingest.stock_adjustment", {
            "event_id": f"tin-{RUN}-{n}", "source": "wms", "type": "stock_adjustment", "sku": "SKU-1",
            "location": loc, "quantity": qty, "reason": "transfer_in", "time": datetime.now(UTC).isoformat()})
        assert await _po(o, party, "partially_received" if n == 0 else "received")
    r = await o["client"].post(f"/v1/purchase-orders/{po['po_id']}/resend", headers=_auth(ADMIN))
    assert r.status_code == 409


async def _ack_token(o, sup: str) -> str:
    return (await o["client"].post(f"/v1/suppliers/{sup}/keys", headers=_auth(ADMIN))).json()["token"]


async def test_delay_pass_fires_and_resolves_po_late_and_supplier_unresponsive_incrementally(o):
    sup, c, rt = f"SUP-L{RUN}", o["client"], o["runtime"]
    await _supplier_item(o, sup)
    await asyncio.sleep(0.3)
    await _reorder(o, f"r-{sup}", supplier_id=sup)
    po = await _po(o, sup, "sent")
    assert po is not None
    sent_at = datetime.fromisoformat(po["sent_at"])
    await check_delays(rt, CFG, sent_at + timedelta(seconds=30))
    async with rt.sessionmaker() as s:
        left = [p.po_id for p, _ in await repo.delay_candidates(s, sent_at + timedelta(seconds=30), 100_000)]
    assert po["po_id"] not in left  # evaluated once; untouched until its next deadline

    await check_delays(rt, CFG, sent_at + timedelta(seconds=61))  # unack timeout is 60 s
    fired = await _alert(o, f"supplier_unresponsive:{sup}", "firing")
    assert fired is not None and fired["severity"] == "warning" and fired["po_id"] == po["po_id"]

    token = await _ack_token(o, sup)
    promised = (sent_at + timedelta(days=1)).date()
    r = await c.post(f"/v1/supplier/purchase-orders/{po['po_id']}/acknowledge",
                     json={"promised_date": promised.isoformat()}, headers=_auth(token))
    assert r.status_code == 200
    await check_delays(rt, CFG, sent_at + timedelta(seconds=62))
    assert await _alert(o, f"supplier_unresponsive:{sup}", "resolved")

    late = datetime.combine(promised + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=1)
    await check_delays(rt, CFG, late - timedelta(hours=2))  # still the promised day: not late
    await check_delays(rt, CFG, late)
    alert = await _alert(o, f"po_late:{po['po_id']}", "firing")
    assert alert is not None and alert["explanation"]["days_late"] == 1
    await _publish(o, STOCK, "store-1:SKU-1", "replenish.ingest.stock_adjustment", {
        "event_id": f"rc-{sup}", "source": "wms", "type": "stock_adjustment", "sku": "SKU-1", "location": "store-1",
        "quantity": 36, "reason": "receipt", "po_id": po["po_id"], "time": datetime.now(UTC).isoformat()})
    assert await _po(o, sup, "received")
    await check_delays(rt, CFG, late + timedelta(minutes=1))
    assert await _alert(o, f"po_late:{po['po_id']}", "resolved")
