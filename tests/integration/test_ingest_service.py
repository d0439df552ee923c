"""Ingest on the real broker and PostgreSQL: every door, §3 batch semantics, quarantine, dedupe, freshness."""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.ingest import repository as repo
from services.ingest.app import create_app
from shared.db.engine import make_engine
from shared.events.topics import INGEST_ALERTS, INGEST_RAW, SALES

pytestmark = pytest.mark.integration
ADMIN = "test-admin-token"
NOW = datetime.now(UTC).replace(microsecond=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], object], seconds: float) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    return None


class Clock:
    """The wall clock the freshness timers read; tests move it forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Server:
    def __init__(self, settings, clock: Clock) -> None:
        self.port = settings.port
        app = create_app(settings, clock=clock, freshness_every_s=0.0)
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.port}"
        assert wait_for(self._ready, 60), "ingest never became ready"

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def ingest(settings_for) -> Iterator[dict]:
    clock = Clock()
    settings = settings_for("ingest", port=free_port())
    server = Server(settings, clock)
    tokens = {role: httpx.post(f"{server.base}/v1/tokens", json={"name": f"{role}.test", "role": role},
                               headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
              for role in ("ingest", "planner", "ops")}
    box = {"server": server, "tokens": tokens, "settings": settings, "clock": clock,
           "kafka": settings.kafka_bootstrap_servers}
    yield box
    box["server"].stop()


def call(box: dict, method: str, path: str, role: str = "ingest", **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {box['tokens'][role]}", **kwargs.pop("headers", {})}
    return httpx.request(method, f"{box['server'].base}{path}", headers=headers, timeout=60, **kwargs)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def event(source: str, ident: str, kind: str, data: dict, at: datetime = NOW) -> dict:
    return {"id": ident, "source": source, "type": kind, "time": at.isoformat(), "data": data}


def master(t: str) -> list[dict]:
    return [event(f"erp/{t}", f"item-{t}", "item", {"sku": f"SKU-{t}", "name": "Tea", "base_unit": "each",
                                                     "unit_conversions": {"case": 12},
                                                     "aliases": [f"690{t}"]}, NOW - timedelta(days=2)),
            event(f"erp/{t}", f"loc-{t}", "location", {"location": f"store-{t}", "name": "S", "kind": "store"},
                  NOW - timedelta(days=2))]


def sale(t: str, ident: str, qty: float = 1, sku: str | None = None, at: datetime = NOW, **data) -> dict:
    return event(f"pos/{t}", ident, "sale", {"sku": sku or f"SKU-{t}", "location": f"store-{t}",
                                             "quantity": qty, **data}, at)


def read_topic(kafka: str, topic: str, match: Callable[[dict], bool], count: int, seconds: float = 20) -> list:
    async def run() -> list:
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka, auto_offset_reset="earliest",
                                    enable_auto_commit=False, group_id=None)
        await consumer.start()
        found: list[dict] = []
        try:
            deadline = time.monotonic() + seconds
            while len(found) < count and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    found += [v for v in (json.loads(r.value) for r in records) if match(v)]
        finally:
            await consumer.stop()
        return found

    return asyncio.run(run())


def test_batch_counts_accepted_duplicates_rejected_and_pending(ingest):
    t = tag()
    batch = [*master(t), sale(t, "s1", 2), sale(t, "s1", 2), sale(t, "s2", 0),
             sale(t, "s3", 1, sku=f"SKU-NEW-{t}"), "not an object", sale(t, "s4", 1, sku=f"690{t}", unit="case")]
    r = call(ingest, "POST", "/v1/events", json=batch)
    assert r.status_code == 200
    body = r.json()
    # 2 master + s1 + s3 (pending) + s4 accepted; s1 again is a duplicate; s2 and the string rejected.
    assert body["accepted"] == 5 and body["duplicates"] == 1
    assert [(x["index"], x["id"]) for x in body["rejected"]] == [(4, "s2"), (6, None)]
    assert "data.quantity: must be > 0" in body["rejected"][0]["errors"][0]
    assert body["pending"] == [{"index": 5, "id": "s3", "reason": "unknown_sku"}]
    again = call(ingest, "POST", "/v1/events", json=[sale(t, "s1", 2), sale(t, "s4", 1)]).json()
    assert again["accepted"] == 0 and again["duplicates"] == 2
    sales = read_topic(ingest["kafka"], SALES, lambda v: v["data"]["location"] == f"store-{t}", 2)
    assert sorted((v["data"]["event_id"], v["data"]["quantity"]) for v in sales) == [("s1", 2), ("s4", 12)]
    assert {v["subject"] for v in sales} == {f"store-{t}:SKU-{t}"}


def test_bad_bodies_and_roles(ingest):
    too_many = [sale("x", f"b{i}") for i in range(10_001)]
    assert call(ingest, "POST", "/v1/events", json=too_many).status_code == 413
    r = call(ingest, "POST", "/v1/events", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("body is not JSON")
    assert call(ingest, "POST", "/v1/events", json={"id": "x"}).status_code == 400
    assert httpx.post(f"{ingest['server'].base}/v1/events", json=[]).status_code == 401
    assert call(ingest, "POST", "/v1/events", role="ops", json=[]).status_code == 403
    assert call(ingest, "POST", "/v1/quarantine/1/dismiss", json={"reason": "x"}).status_code == 403
    assert call(ingest, "PUT", "/v1/sources/x/mapping", json={}).status_code == 403


def test_csv_door_keeps_codes_as_text_and_names_missing_columns(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    barcode = f"00{t}"  # leading zeros: a number would lose them
    item = f"id,source,time,sku,name,base_unit,aliases\ni2-{t},erp/{t},{NOW.isoformat()},{barcode},B,each,\n"
    assert call(ingest, "POST", "/v1/events.csv?type=item", content=item.encode()).json()["accepted"] == 1
    rows = (f"id,source,time,sku,location,quantity\nc1,pos/{t},{NOW.isoformat()},{barcode},store-{t},3\n"
            f"c2,pos/{t},{NOW.isoformat()},{barcode},store-{t},-1\n")
    body = call(ingest, "POST", "/v1/events.csv?type=sale", content=rows.encode()).json()
    assert body["accepted"] == 1 and body["rejected"][0]["index"] == 1 and body["pending"] == []
    sales = read_topic(ingest["kafka"], SALES, lambda v: v["data"].get("event_id") == "c1"
                       and v["data"]["location"] == f"store-{t}", 1)
    assert sales[0]["data"]["sku"] == barcode
    missing = call(ingest, "POST", "/v1/events.csv?type=sale", content=b"id,source,time,sku,quantity\n")
    assert missing.status_code == 400
    assert "header: missing required column 'location'" in missing.json()["error"]["details"]


def test_mapping_door_maps_native_records_and_quarantines_the_unmappable(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    bad = call(ingest, "PUT", f"/v1/sources/pos-{t}/mapping", role="planner",
               json={"fields": {"id": {"path": "r", "const": 1}}})
    assert bad.status_code == 422 and bad.json()["error"]["details"]
    mapping = {"timezone": "Asia/Shanghai", "fields": {
        "id": "receipt", "type": {"const": "sale"}, "time": {"path": "at", "format": "%Y-%m-%d %H:%M:%S"},
        "data.sku": {"path": "ean", "as": "string"}, "data.location": {"const": f"store-{t}"},
        "data.quantity": {"path": "qty", "as": "number"}, "data.unit": {"path": "uom", "optional": True}},
        "units": {"箱": "case"}}
    put = call(ingest, "PUT", f"/v1/sources/pos-{t}/mapping", role="planner", json=mapping)
    assert put.status_code == 200 and put.json()["version"] == 1
    assert call(ingest, "GET", f"/v1/sources/pos-{t}/mapping").json()["version"] == 1
    local = (NOW + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    records = [{"receipt": "m1", "at": local, "ean": f"690{t}", "qty": 1, "uom": "箱"},
               {"receipt": "m2", "at": local, "ean": f"690{t}", "qty": 2, "uom": "箱"}, {"receipt": "m3"}]
    body = call(ingest, "POST", f"/v1/sources/pos-{t}/events", json={"records": records}).json()
    assert body["accepted"] == 2 and [x["index"] for x in body["rejected"]] == [2]
    sales = read_topic(ingest["kafka"], SALES, lambda v: v["data"]["location"] == f"store-{t}", 2)
    assert sorted(v["data"]["quantity"] for v in sales) == [12, 24]
    assert {v["time"][:19] for v in sales} == {NOW.isoformat()[:19]}
    listed = call(ingest, "GET", f"/v1/quarantine?source=pos-{t}&status=rejected", role="planner").json()["items"]
    assert listed[0]["door"] == "mapping" and listed[0]["event"] == {"receipt": "m3"}


def test_pending_events_are_released_in_event_time_order(ingest):
    t = tag()
    early, late = NOW - timedelta(hours=3), NOW - timedelta(hours=1)
    body = call(ingest, "POST", "/v1/events", json=[sale(t, "late", 2, at=late), sale(t, "early", 1, at=early)]
                ).json()
    assert body["accepted"] == 2 and {p["reason"] for p in body["pending"]} == {"unknown_sku"}
    call(ingest, "POST", "/v1/events", json=master(t))
    sales = read_topic(ingest["kafka"], SALES, lambda v: v["data"]["location"] == f"store-{t}", 2)
    assert [v["data"]["event_id"] for v in sales] == ["early", "late"]
    rows = call(ingest, "GET", f"/v1/quarantine?source=pos/{t}", role="planner").json()["items"]
    assert {r["status"] for r in rows} == {"processed"}


def test_raw_topic_door_ingests_and_quarantines(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=ingest["kafka"])
        await producer.start()
        await producer.send_and_wait(INGEST_RAW, json.dumps(sale(t, "raw-1", 5)).encode())
        await producer.send_and_wait(INGEST_RAW, json.dumps(sale(t, "raw-2", -5)).encode())
        await producer.stop()

    asyncio.run(send())
    sales = read_topic(ingest["kafka"], SALES, lambda v: v["data"]["location"] == f"store-{t}", 1, 30)
    assert sales[0]["data"]["quantity"] == 5
    bad = wait_for(lambda: call(ingest, "GET", f"/v1/quarantine?source=pos/{t}", role="planner").json()["items"], 20)
    assert bad and bad[0]["event_id"] == "raw-2" and bad[0]["door"] == "raw"


def test_quarantine_retry_and_dismiss(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=[sale(t, "q1", 1, unit="crate"), sale(t, "q2", 1, unit="crate")])
    call(ingest, "POST", "/v1/events", json=master(t))
    rejected = call(ingest, "GET", f"/v1/quarantine?source=pos/{t}&status=rejected", role="planner").json()
    assert len(rejected["items"]) == 2  # crate is not a unit of the item
    first, second = rejected["items"]
    r = call(ingest, "POST", f"/v1/quarantine/{first['id']}/dismiss", role="planner", json={"reason": "test"})
    assert r.status_code == 200 and r.json()["resolved_by"] == "planner.test"
    assert call(ingest, "POST", f"/v1/quarantine/{first['id']}/retry", role="planner").status_code == 409
    retried = call(ingest, "POST", f"/v1/quarantine/{second['id']}/retry", role="planner").json()
    assert retried["status"] == "retried" and len(retried["result"]["rejected"]) == 1
    page = call(ingest, "GET", f"/v1/quarantine?source=pos/{t}&limit=1", role="planner").json()
    assert len(page["items"]) == 1 and page["next_cursor"] == page["items"][0]["id"]


def test_feed_stale_fires_past_cadence_and_resolves_when_data_flows(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    put = call(ingest, "PUT", f"/v1/sources/pos/{t}", json={"expected_cadence_seconds": 60})
    assert put.status_code == 200 and put.json()["expected_cadence_seconds"] == 60
    call(ingest, "POST", "/v1/events", json=[sale(t, "f1")])
    ingest["clock"].offset = timedelta(minutes=10)  # quiet for 10 min, cadence 1 min: stale
    key = f"feed_stale:pos/{t}"
    fired = read_topic(ingest["kafka"], INGEST_ALERTS, lambda v: v["data"]["key"] == key, 1)
    assert fired[0]["data"]["status"] == "firing" and fired[0]["type"] == "replenish.alert"
    ingest["clock"].offset = timedelta()
    call(ingest, "POST", "/v1/events", json=[sale(t, "f2")])
    both = read_topic(ingest["kafka"], INGEST_ALERTS, lambda v: v["data"]["key"] == key, 2)
    assert [v["data"]["status"] for v in both] == ["firing", "resolved"]


def test_quality_and_watermark(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    stock = event(f"wms/{t}", "cnt1", "stock_count", {"sku": f"SKU-{t}", "location": f"store-{t}", "on_hand": 10},
                  NOW - timedelta(hours=5))
    later = event(f"wms/{t}", "cnt2", "stock_count", {"sku": f"SKU-{t}", "location": f"store-{t}", "on_hand": 5},
                  NOW - timedelta(hours=1))
    call(ingest, "POST", "/v1/events", json=[stock, sale(t, "qs1", 3, at=NOW - timedelta(hours=3)), later])
    report = call(ingest, "GET", "/v1/quality", role="planner").json()
    mine = [d for d in report["ledger_discrepancies"] if d["location"] == f"store-{t}"]
    assert [(d["expected"], d["counted"], d["difference"]) for d in mine] == [(7, 5, -2)]  # 10 − 3, counted 5
    assert any(s["source"] == f"pos/{t}" and s["accepted"] == 1 for s in report["sources"])
    mark = wait_for(lambda: call(ingest, "GET", "/v1/watermark", role="planner").json()["event_time"], 10)
    assert mark is not None


def test_dedupe_survives_a_restart(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    assert call(ingest, "POST", "/v1/events", json=[sale(t, "r1")]).json()["accepted"] == 1
    ingest["server"].stop()
    ingest["server"] = Server(ingest["settings"], ingest["clock"])
    again = call(ingest, "POST", "/v1/events", json=[sale(t, "r1")]).json()
    assert again["accepted"] == 0 and again["duplicates"] == 1


def test_fast_lane_claims_ids_that_look_like_array_syntax_exactly(ingest):
    t = tag()
    call(ingest, "POST", "/v1/events", json=master(t))
    literal = [sale(t, ident) for ident in ("a,b", "{x}", "NULL", "店-1", "x y")]  # one array literal per column
    escaped = [sale(t, ident) for ident in ('q"uote', "back\\slash")]  # the claim's general statement
    for batch in (literal, escaped):
        assert call(ingest, "POST", "/v1/events", json=batch).json()["accepted"] == len(batch)
        again = call(ingest, "POST", "/v1/events", json=[*batch, sale(t, f"new-{len(batch)}")]).json()
        assert (again["accepted"], again["duplicates"]) == (1, len(batch))


def test_hand_written_claim_rolls_back_with_its_batch(ingest):
    """Statements on the bare asyncpg connection belong to the batch's transaction, first one included."""
    key = (f"pos/{tag()}", "atomic-1")

    async def run() -> set:
        engine = make_engine(ingest["settings"].database_url, pool_size=1)
        sessions = async_sessionmaker(engine)
        try:
            with contextlib.suppress(RuntimeError):
                async with sessions() as session, session.begin():
                    assert await repo.existing_keys(session, [key]) == set()  # by hand, before any ORM statement
                    await repo.record_received(session, [{
                        "source": key[0], "event_id": key[1], "type": "sale", "event_time": NOW,
                        "location": "store-1", "sku": "SKU-1", "quantity": -1.0}])
                    raise RuntimeError("the batch fails after its claim")
            async with sessions() as session:
                return await repo.existing_keys(session, [key])
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == set()
