"""Supplier pushes on the stored schedule, against a local receiver: retried until the supplier answers, across a
restart of the service, one webhook-id per revision, both signatures verifiable, supplier_unresponsive only after
the configured attempt, 410 stops, and a hanging supplier holds up no one else.

The schedule is shortened to seconds by settings; delay passes are driven explicitly (check_delays).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from sqlalchemy import insert, select
from standardwebhooks import Webhook

from services.orders import repository as repo
from services.orders.app import create_app
from services.orders.domain import idempotency_key
from services.orders.models import deliveries
from services.orders.settings import OrdersSettings
from services.orders.timers import check_delays
from shared.db.engine import make_engine, make_sessionmaker
from shared.events.topics import ORDERS_ALERTS, REORDERS
from shared.runtime.ports import free_port
from tests.integration.test_orders_delivery import Topic
from tests.integration.test_orders_service import ADMIN, _auth, _poll, _publish

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:6]
SECRET = "whsec_" + base64.b64encode(b"replenish-push-schedule-test-key").decode()
HANG = -1  # a scripted answer: hold the request past the sender's timeout
DROP = 0  # a scripted answer: close the connection without answering (a transport error)
# waits after failed attempts 1..4 (the last repeats); supplier_unresponsive once 3 attempts failed
CFG = OrdersSettings(window_s=0.5, tick_s=0.2, delay_check_s=3600, push_schedule="0.3s,2.5s,6s,0.3s",
                     push_max_age="2m", unresponsive_after_attempt=3, breaker_failures=50, unack_timeout_s=3600,
                     push_timeout_s=1.5, send_batch=6, push_per_supplier=2)


class Receiver:
    """Suppliers' webhooks: records every request (headers, raw body, time) and answers from a script per path."""

    def __init__(self) -> None:
        self.hits: list[dict] = []
        self.script: dict[str, list[int]] = {}
        lock, outer = threading.Lock(), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with lock:
                    codes = outer.script.get(self.path, [])
                    code = codes.pop(0) if codes else 200
                    outer.hits.append({"path": self.path, "body": body, "headers": dict(self.headers),
                                       "at": time.time(), "code": code})
                if code == HANG:
                    time.sleep(CFG.push_timeout_s + 0.5)
                elif code == DROP:
                    self.close_connection = True
                else:
                    self.send_response(code)
                    self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict]:
        return [h for h in self.hits if h["path"] == path]

    def most_in_flight(self, path: str, lasting: float) -> int:
        """Most requests to `path` the sender had open at once, each held `lasting` seconds (hanging): those
        that arrived while an earlier one was still open overlap it."""
        starts = [h["at"] for h in self.at(path)]
        return max((sum(1 for t in starts if s <= t < s + lasting) for s in starts), default=0)


class Orders:
    """The orders service in this process, stoppable and startable again on the same database."""

    def __init__(self, settings_for) -> None:
        self.settings_for, self.server, self.task, self.app, self.client = settings_for, None, None, None, None

    async def start(self) -> Orders:
        port = free_port()
        self.app = create_app(self.settings_for("orders", port=port), CFG)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port, log_config=None))
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(600):
            if self.server.started:
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(asyncio.gather(*(loop.started.wait() for loop in self.runtime.loops)), 30)
        self.client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)
        return self

    async def stop(self) -> None:
        await self.client.aclose()
        self.server.should_exit = True
        await self.task

    @property
    def runtime(self):
        return self.app.state.runtime


@pytest.fixture(scope="module")
async def o(settings_for, kafka, database_url):
    orders = await Orders(settings_for).start()
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    alerts = await Topic(kafka, ORDERS_ALERTS).start()
    receiver, engine = Receiver(), make_engine(database_url)  # the test's own look at the database
    yield {"orders": orders, "producer": producer, "alerts": alerts, "receiver": receiver,
           "db": make_sessionmaker(engine)}
    await alerts.consumer.stop()
    await producer.stop()
    receiver.server.shutdown()
    await orders.stop()
    await engine.dispose()


async def _webhook(o, sup: str) -> None:
    r = await o["orders"].client.put(f"/v1/suppliers/{sup}/webhook", headers=_auth(ADMIN),
                                     json={"url": o["receiver"].url + f"/{sup}", "secret": SECRET})
    assert r.status_code == 200


async def _sent_po(o, sup: str) -> dict:
    await _webhook(o, sup)
    await _publish(o, REORDERS, "store-1:SKU-1", "replenish.policy.reorder", {
        "reorder_id": f"r-{sup}", "kind": "purchase", "sku": "SKU-1", "location": "store-1", "supplier_id": sup,
        "quantity": 24, "unit_cost": 2.0, "need_by": (datetime.now(UTC) + timedelta(days=7)).date().isoformat(),
        "decided_at": datetime.now(UTC).isoformat()})
    po = await _view(o, sup, lambda p: p["status"] == "sent")
    assert po is not None
    return po


async def _view(o, sup: str, check) -> dict | None:
    async def get():
        c = o["orders"].client
        items = (await c.get(f"/v1/purchase-orders?supplier_id={sup}", headers=_auth(ADMIN))).json()["items"]
        if not items:
            return None
        po = (await c.get(f"/v1/purchase-orders/{items[0]['po_id']}", headers=_auth(ADMIN))).json()
        return po if check(po) else None
    return await _poll(get, within=30, every=0.1)


async def _alert_state(o, key: str):
    async with o["db"]() as session:
        return (await repo.alert_state(session, [key])).get(key)


def _attempts(n: int):
    # the PO's count: the view reads the PO before its deliveries, and both change in one transaction
    return lambda p: p["delivery_attempts"] >= n


def _verify(hit: dict, key: str) -> None:
    """What a supplier does with a push: both signatures, with code of its own (the reference library)."""
    headers, body = {k.lower(): v for k, v in hit["headers"].items()}, hit["body"]
    assert headers["idempotency-key"] == headers["webhook-id"] == key
    ours = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-replenish-signature"], ours)
    assert abs(int(headers["webhook-timestamp"]) - hit["at"]) <= 2  # this attempt's time, not the first's
    assert Webhook(SECRET).verify(body, headers)["po_id"] == json.loads(body)["po_id"]


async def test_push_survives_failures_and_a_restart_with_one_webhook_id_and_a_late_alert(o):
    sup, rec = f"SUP-P{RUN}", o["receiver"]
    rec.script[f"/{sup}"] = [503, DROP, 500, 429]  # four failed attempts, then 200
    po = await _sent_po(o, sup)
    key, alert_key = idempotency_key(po["po_id"], 1), f"supplier_unresponsive:{sup}"

    assert await _view(o, sup, _attempts(2))  # 503, then a dropped connection: 2.5 s until the 3rd attempt
    await check_delays(o["orders"].runtime, CFG, datetime.now(UTC))
    if (await _view(o, sup, lambda p: True))["delivery_attempts"] == 2:  # the pass saw 2 attempts, not 3
        assert await _alert_state(o, alert_key) is None  # not after 2 failed attempts
    third = await _view(o, sup, _attempts(3))
    await check_delays(o["orders"].runtime, CFG, datetime.now(UTC))
    state = await _alert_state(o, alert_key)
    assert state is not None and (state.status, state.severity) == ("firing", "warning")
    assert third["delivery_status"] == "pending" and "after 3 attempt(s)" in third["delivery_error"]

    # restart while the 4th attempt waits its 6 s: the schedule is in the database, not in the process
    await o["orders"].stop()
    stopped_with = len(rec.at(f"/{sup}"))
    async with o["db"]() as session:
        row = (await session.execute(select(deliveries).where(deliveries.c.po_id == po["po_id"]))).one()
    assert (row.attempts, row.status) == (3, "pending") and row.next_attempt_at > datetime.now(UTC)
    await asyncio.sleep(0.5)
    assert len(rec.at(f"/{sup}")) == stopped_with == 3
    await o["orders"].start()

    done = await _view(o, sup, lambda p: p["delivery_status"] == "delivered")
    assert done is not None and done["delivery_error"] is None
    (delivery,) = done["deliveries"]  # one delivery for the one revision
    assert (delivery["revision"], delivery["status"], delivery["attempts"]) == (1, "delivered", 5)
    hits = rec.at(f"/{sup}")
    assert [h["code"] for h in hits] == [503, DROP, 500, 429, 200]
    assert len({h["body"] for h in hits}) == 1  # the revision's frozen body, byte for byte
    for hit in hits:
        _verify(hit, key)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(hits)]
    assert gaps[1] >= 2.5 * 0.9 - 0.05 and gaps[2] >= 6 * 0.9 - 0.05  # the schedule's waits, jittered by 10 %
    await check_delays(o["orders"].runtime, CFG, datetime.now(UTC))
    assert (await _alert_state(o, alert_key)).status == "resolved"
    async def published_alerts():
        got = [e["data"] for e in await o["alerts"].read() if e["data"]["key"] == alert_key]
        return got if len(got) >= 2 else None
    published = await _poll(published_alerts, within=10)
    assert [(a["status"], a["severity"]) for a in published] == [("firing", "warning"), ("resolved", "warning")]
    assert published[0]["explanation"]["delivery_attempts"] == {po["po_id"]: 3}


async def test_410_gone_fails_at_once_with_a_critical_alert_and_resend_delivers_with_the_same_key(o):
    sup, rec = f"SUP-G{RUN}", o["receiver"]
    rec.script[f"/{sup}"] = [410]
    po = await _sent_po(o, sup)
    failed = await _view(o, sup, lambda p: p["delivery_status"] == "failed")
    assert failed is not None and "410 Gone" in failed["delivery_error"]
    assert failed["deliveries"][0]["attempts"] == 1
    await check_delays(o["orders"].runtime, CFG, datetime.now(UTC))
    state = await _alert_state(o, f"supplier_unresponsive:{sup}")
    assert (state.status, state.severity) == ("firing", "critical")

    approver = (await o["orders"].client.post("/v1/tokens", json={"name": f"approver-{sup}", "role": "approver"},
                                              headers=_auth(ADMIN))).json()["token"]
    r = await o["orders"].client.post(f"/v1/purchase-orders/{po['po_id']}/resend", headers=_auth(approver))
    assert r.status_code == 200
    done = await _view(o, sup, lambda p: p["delivery_status"] == "delivered")
    assert done is not None and done["deliveries"][0]["attempts"] == 1  # the schedule started again
    hits = rec.at(f"/{sup}")
    assert [h["code"] for h in hits] == [410, 200]
    for hit in hits:
        _verify(hit, idempotency_key(po["po_id"], 1))


async def test_a_newer_revision_waits_until_the_older_one_is_settled(o):
    sup, rec = f"SUP-V{RUN}", o["receiver"]
    await _webhook(o, sup)
    po_id, now = f"PO-{sup}", datetime.now(UTC)
    # revision 1 waits on its schedule (due in 1.5 s); revision 2 (a cancel, say) is due at once
    rows = [{"po_id": po_id, "revision": rev, "supplier_id": sup, "channel": "webhook",
             "idempotency_key": idempotency_key(po_id, rev), "body": json.dumps({"po_id": po_id, "revision": rev}),
             "status": "pending", "attempts": rev % 2, "next_attempt_at": now + timedelta(seconds=1.5 * (rev % 2))}
            for rev in (1, 2)]
    async with o["db"]() as session:
        await session.execute(insert(deliveries), rows)
        await session.commit()
    hits = await _poll(lambda: asyncio.sleep(0, rec.at(f"/{sup}") if len(rec.at(f"/{sup}")) >= 2 else None))
    assert [json.loads(h["body"])["revision"] for h in hits] == [1, 2]
    assert hits[0]["at"] >= now.timestamp() + 1.5 * 0.9 - 0.1  # revision 2 did not overtake it meanwhile


async def test_a_hanging_supplier_holds_up_no_one_else(o):
    slow, fast, rec = f"SUP-H{RUN}", f"SUP-F{RUN}", o["receiver"]
    rec.script[f"/{slow}"] = [HANG] * 100
    await _webhook(o, slow)
    rows = [{"po_id": f"PO-{slow}-{n}", "revision": 1, "supplier_id": slow, "channel": "webhook",
             "idempotency_key": idempotency_key(f"PO-{slow}-{n}", 1), "body": json.dumps({"po_id": f"PO-{slow}-{n}"}),
             "status": "pending", "next_attempt_at": datetime.now(UTC)} for n in range(CFG.send_batch)]
    async with o["db"]() as session:
        await session.execute(insert(deliveries), rows)
        await session.commit()
    try:
        assert await _poll(lambda: asyncio.sleep(0, len(rec.at(f"/{slow}")) >= 2), within=10)
        po = await _sent_po(o, fast)
        done = await _view(o, fast, lambda p: p["delivery_status"] == "delivered")
        assert done is not None and done["po_id"] == po["po_id"]
        queued = datetime.fromisoformat(done["sent_at"]).timestamp()
        # delivered well before the hanging pushes time out: they never filled the batch
        assert rec.at(f"/{fast}")[0]["at"] - queued < 1.0
        assert len(rec.at(f"/{slow}")) >= CFG.push_per_supplier
        assert rec.most_in_flight(f"/{slow}", CFG.push_timeout_s - 0.2) <= CFG.push_per_supplier
    finally:
        rec.script[f"/{slow}"] = []  # let the rest of them through, so nothing keeps hanging after this test
