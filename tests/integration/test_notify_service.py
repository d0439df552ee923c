"""Notify wired end to end: real broker, PostgreSQL, SMTP server (aiosmtpd) and JSON webhooks."""
from __future__ import annotations

import asyncio
import email
import email.policy
import http.server
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.events.envelope import make_envelope
from shared.events.topics import POLICY_ALERTS
from shared.runtime.ports import free_port


class Webhook:
    """Records every POST; `delay_first` makes the first N requests answer too late (a timing-out receiver).

    `effects` counts distinct Idempotency-Key values: what a receiver that dedupes by key acts on.
    """

    def __init__(self, *, delay_first: int = 0, delay_s: float = 0.0) -> None:
        self.port, self.hits, self.delay_first, self.delay_s = free_port(), [], delay_first, delay_s
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer._lock:
                    late = outer.delay_first > 0
                    outer.delay_first -= 1
                    outer.hits.append({"path": self.path, "json": json.loads(body or b"{}"),
                                       "key": self.headers.get("Idempotency-Key"), "late": late})
                if late:
                    time.sleep(outer.delay_s)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/alerts") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def for_sku(self, sku: str) -> list[dict]:
        return [h for h in self.hits if sku in json.dumps(h["json"], ensure_ascii=False)]

    @property
    def effects(self) -> set[str | None]:
        return {h["key"] for h in self.hits}

    def close(self) -> None:
        self.server.shutdown()


class Mailbox:
    """A real SMTP server (aiosmtpd) keeping every message it accepts."""

    def __init__(self) -> None:
        self.port, self.messages = free_port(), []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                outer.messages.append(envelope)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def texts(self) -> list[str]:
        """Each message as readable text: decoded subject and text parts."""
        out = []
        for envelope in list(self.messages):
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            parts = [part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"]
            out.append(str(message["subject"]) + "\n" + "\n".join(parts))
        return out

    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=replenish@example.com&to=ops@example.com"

    def close(self) -> None:
        self.controller.stop()


def wait_for(condition: Callable[[], object], timeout: float = 15.0, every: float = 0.05) -> object:
    """Poll until `condition()` is truthy; return its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    value = condition()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = condition()
    return value


# --- the service under test, on its own thread and event loop --------------------------------------------

ADMIN = "test-admin-token"


@pytest.fixture(scope="module")
def receivers() -> Iterator[dict]:
    hook, flaky, mailbox, pager = Webhook(), Webhook(delay_first=1, delay_s=2.5), Mailbox(), Webhook()
    yield {"hook": hook, "flaky": flaky, "mail": mailbox, "pager": pager}
    pager.close()
    hook.close()
    flaky.close()
    mailbox.close()


def config_text(receivers: dict) -> str:
    return f"""
notify:
  receivers:
    - name: hook
      urls: ["{receivers['hook'].url()}"]
    - name: mail
      urls: ["{receivers['mail'].url()}"]
    - name: flaky
      urls: ["{receivers['flaky'].url()}"]
    - name: pager
      urls: ["{receivers['pager'].url()}"]
  route:
    receiver: hook
    group_by: [sku]
    group_wait: 0s
    group_interval: 1s
    routes:
      - matchers: ['test="mail"']
        receiver: mail
      - matchers: ['test="flaky"']
        receiver: flaky
      - matchers: ['test="esc"']
        escalation: page
  escalation_policies:
    - name: page
      steps:
        - {{after: 2s, receivers: [pager]}}
"""


@pytest.fixture(scope="module")
def service(settings_for, receivers, tmp_path_factory) -> Iterator[dict]:
    path = tmp_path_factory.mktemp("notify") / "notify.yaml"
    path.write_text(config_text(receivers))
    port = free_port()
    settings = settings_for("notify", config_path=path, port=port)  # no public URL: messages link to the API
    fast = NotifySettings(tick_s=0.05, send_timeout_s=1.0, retry_base_s=0.3, escalation_every_s=0.5)
    app = create_app(settings, fast)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: _ready(base), 60), "notify never became ready"
    ops = httpx.post(f"{base}/v1/tokens", json={"name": "li.na", "role": "ops"},
                     headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
    yield {"base": base, "ops": ops, "kafka": settings.kafka_bootstrap_servers, "config_path": path}
    server.should_exit = True
    thread.join(30)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def api(service: dict, method: str, path: str, body: dict | None = None) -> httpx.Response:
    return httpx.request(method, f"{service['base']}{path}", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {service['ops']}"})


def alert_event(sku: str, *, test: str = "hook", status: str = "firing", severity: str = "warning",
                at: datetime | None = None) -> dict:
    key = f"stockout_risk:store-9:{sku}"
    data = {"key": key, "type": "stockout_risk", "severity": severity, "status": status, "sku": sku,
            "location": "store-9", "summary": f"{sku} runs out in 2 days", "labels": {"test": test},
            "explanation": {"on_hand": 4, "daily_demand": 2.0, "lead_time_days": 5},
            "occurred_at": (at or datetime.now(UTC)).isoformat()}
    return make_envelope(source="test/policy", type="replenish.alert", time=at or datetime.now(UTC), data=data,
                         subject=key).model_dump(mode="json")


async def publish(service: dict, *envelopes: dict) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=service["kafka"], acks="all")
    await producer.start()
    try:
        for env in envelopes:
            await producer.send_and_wait(POLICY_ALERTS, json.dumps(env).encode(), key=env["subject"].encode())
    finally:
        await producer.stop()


def alert_for(service: dict, sku: str) -> dict | None:
    items = api(service, "GET", f"/v1/alerts?sku={sku}").json()["items"]
    return items[0] if items else None


def sku_name() -> str:
    return f"SKU-{uuid.uuid4().hex[:8]}"


# --- behaviour ---------------------------------------------------------------------------------------------

async def test_alert_event_is_delivered_once_to_the_webhook(service, receivers):
    sku = sku_name()
    await publish(service, alert_event(sku))
    hits = await asyncio.to_thread(wait_for, lambda: receivers["hook"].for_sku(sku))
    assert len(hits) == 1
    payload = json.loads(hits[0]["json"]["message"])["alerts"][0]
    assert payload["sku"] == sku and payload["status"] == "firing"
    assert payload["ack_url"].startswith(service["base"] + "/v1/alerts/")
    alert = await asyncio.to_thread(wait_for, lambda: (a := alert_for(service, sku)) and a["deliveries"]
                                    and a["deliveries"][0]["status"] == "sent" and a)
    assert alert["key"] == f"stockout_risk:store-9:{sku}" and alert["status"] == "firing"
    assert alert["deliveries"][0]["channel"] == "json" and alert["deliveries"][0]["attempts"] == 1


async def test_redelivered_event_is_not_sent_twice(service, receivers):
    sku = sku_name()
    first = alert_event(sku)
    again = {**first, "id": str(uuid.uuid4())}  # the same alert re-published under a new envelope id
    await publish(service, first, first, again)
    assert await asyncio.to_thread(wait_for, lambda: receivers["hook"].for_sku(sku))
    await asyncio.sleep(1.5)  # time for a second send, if there were one
    assert len(receivers["hook"].for_sku(sku)) == 1
    alert = alert_for(service, sku)
    assert alert["fire_count"] == 1 and alert["revision"] == 1
    assert len(api(service, "GET", f"/v1/alerts?sku={sku}").json()["items"]) == 1


async def test_timing_out_receiver_gets_one_effect_per_key(service, receivers):
    sku = sku_name()
    await publish(service, alert_event(sku, test="flaky"))
    alert = await asyncio.to_thread(wait_for, lambda: (a := alert_for(service, sku)) and a["deliveries"]
                                    and a["deliveries"][0]["status"] == "sent" and a, 20)
    hits = receivers["flaky"].for_sku(sku)
    assert len(hits) >= 2 and hits[0]["late"]  # the first answer came too late, so it was sent again
    assert len({h["key"] for h in hits}) == 1  # ... under the same idempotency key: one effect
    assert alert["deliveries"][0]["attempts"] == len(hits)


async def test_email_reaches_the_smtp_server(service, receivers):
    sku = sku_name()
    await publish(service, alert_event(sku, test="mail", severity="critical"))
    mail = await asyncio.to_thread(wait_for, lambda: [m for m in receivers["mail"].texts() if sku in m])
    assert len(mail) == 1
    assert mail[0].startswith(f"[CRITICAL] Stockout risk · {sku} @ store-9")
    assert "/ack" in mail[0] and receivers["mail"].messages[-1].rcpt_tos == ["ops@example.com"]


async def test_ack_with_comment_is_recorded_with_the_principal(service, receivers):
    sku = sku_name()
    await publish(service, alert_event(sku))
    alert = await asyncio.to_thread(wait_for, lambda: alert_for(service, sku))
    reply = api(service, "POST", f"/v1/alerts/{alert['id']}/ack", {"comment": "ordering now"})
    assert reply.status_code == 200
    got = api(service, "GET", f"/v1/alerts/{alert['id']}").json()
    assert got["status"] == "acknowledged" and got["acked_by"] == "li.na" and got["ack_comment"] == "ordering now"
    assert got["history"][-1]["action"] == "acknowledged" and got["history"][-1]["actor"] == "li.na"
    listed = api(service, "GET", f"/v1/alerts?status=acknowledged&sku={sku}").json()["items"]
    assert [a["id"] for a in listed] == [alert["id"]]
    assert api(service, "POST", f"/v1/alerts/{alert['id']}/resolve").json()["status"] == "resolved"
    assert api(service, "POST", f"/v1/alerts/{alert['id']}/ack", {}).status_code == 409


async def test_silence_suppresses_delivery_until_it_ends(service, receivers):
    sku = sku_name()
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    reply = api(service, "POST", "/v1/silences", {"matchers": [f'sku="{sku}"'], "ends_at": ends,
                                                   "reason": "stocktake"})
    assert reply.status_code == 201 and reply.json()["created_by"] == "li.na"
    await publish(service, alert_event(sku))
    alert = await asyncio.to_thread(wait_for, lambda: (a := alert_for(service, sku)) and a["deliveries"] and a)
    await asyncio.sleep(1.0)
    assert receivers["hook"].for_sku(sku) == []
    assert [d["status"] for d in alert["deliveries"]] == ["suppressed"]
    silences = api(service, "GET", "/v1/silences").json()["items"]
    assert reply.json()["id"] in [s["id"] for s in silences]
    assert api(service, "DELETE", f"/v1/silences/{reply.json()['id']}").status_code == 204
    # Still firing when the silence ends: now the receiver hears about it, once.
    assert await asyncio.to_thread(wait_for, lambda: receivers["hook"].for_sku(sku))
    await asyncio.sleep(1.0)
    assert len(receivers["hook"].for_sku(sku)) == 1


def test_reader_without_ops_role_cannot_ack(service):
    planner = httpx.post(f"{service['base']}/v1/tokens", json={"name": "wu", "role": "planner"},
                         headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
    headers = {"Authorization": f"Bearer {planner}"}
    assert httpx.get(f"{service['base']}/v1/alerts", headers=headers).status_code == 200
    assert httpx.post(f"{service['base']}/v1/alerts/x/ack", json={}, headers=headers).status_code == 403
    assert httpx.get(f"{service['base']}/v1/alerts").status_code == 401


async def test_late_po_for_the_sku_inhibits_its_stockout_risk(service, receivers):
    sku = sku_name()
    late = alert_event(sku)
    late["data"].update(key=f"po_late:PO-{sku}", type="po_late", po_id=f"PO-{sku}", supplier_id="SUP-1",
                        location=None, summary=f"PO-{sku} is 3 days late")
    late["subject"] = late["data"]["key"]
    await publish(service, late)
    assert await asyncio.to_thread(wait_for, lambda: receivers["hook"].for_sku(sku))
    await publish(service, alert_event(sku))
    risk = await asyncio.to_thread(wait_for, lambda: [a for a in api(service, "GET", f"/v1/alerts?sku={sku}")
                                                      .json()["items"] if a["type"] == "stockout_risk"
                                                      and a["deliveries"]])
    assert [d["status"] for d in risk[0]["deliveries"]] == ["suppressed"]
    assert "inhibited" in risk[0]["deliveries"][0]["occasion"]
    assert [json.loads(h["json"]["message"])["alerts"][0]["type"] for h in receivers["hook"].for_sku(sku)] == [
        "po_late"]
    # The late PO resolves while the risk still stands: the risk is no longer explained away.
    done = alert_event(sku, status="resolved")
    done["data"].update(key=late["data"]["key"], type="po_late", po_id=f"PO-{sku}", location=None)
    done["subject"] = done["data"]["key"]
    await publish(service, done)
    hits = await asyncio.to_thread(wait_for, lambda: [h for h in receivers["hook"].for_sku(sku)
                                                      if '"stockout_risk"' in h["json"]["message"]])
    assert len(hits) == 1


async def test_unacknowledged_alert_escalates_and_an_acknowledged_one_does_not(service, receivers):
    ignored, owned = sku_name(), sku_name()
    await publish(service, alert_event(ignored, test="esc", severity="critical"),
                  alert_event(owned, test="esc", severity="critical"))
    alert = await asyncio.to_thread(wait_for, lambda: alert_for(service, owned))
    assert api(service, "POST", f"/v1/alerts/{alert['id']}/ack", {"comment": "mine"}).status_code == 200
    paged = await asyncio.to_thread(wait_for, lambda: receivers["pager"].for_sku(ignored))
    assert len(paged) == 1 and receivers["hook"].for_sku(ignored)  # route receiver first, then the page
    await asyncio.sleep(1.0)
    assert receivers["pager"].for_sku(owned) == []
    history = [h["action"] for h in alert_for(service, ignored)["history"]]
    assert history == ["fired", "escalated"]


async def test_refire_seconds_after_resolve_keeps_the_acknowledgement_and_pages_no_one(service, receivers):
    sku, start = sku_name(), datetime.now(UTC)
    await publish(service, alert_event(sku, at=start))
    alert = await asyncio.to_thread(wait_for, lambda: alert_for(service, sku))
    assert api(service, "POST", f"/v1/alerts/{alert['id']}/ack", {"comment": "on it"}).status_code == 200
    await publish(service, alert_event(sku, status="resolved", at=start + timedelta(seconds=2)),
                  alert_event(sku, at=start + timedelta(seconds=4)))
    back = await asyncio.to_thread(wait_for, lambda: (a := alert_for(service, sku)) and a["fire_count"] == 2 and a)
    assert (back["status"], back["acked_by"], back["ack_comment"]) == ("acknowledged", "li.na", "on it")
    assert [h["action"] for h in back["history"]] == ["fired", "acknowledged", "resolved", "refired"]
    await asyncio.sleep(1.0)
    firing = [h for h in receivers["hook"].for_sku(sku) if '"status": "firing"' in h["json"]["message"]]
    assert len(firing) == 1  # the first fire only: the flap did not page again


async def test_alerts_are_listed_page_by_page_newest_first(service, receivers):
    supplier = f"SUP-{uuid.uuid4().hex[:8]}"
    events = []
    for minutes in (3, 2, 1, 1):  # two fired at the same moment: the id orders them
        env = alert_event(sku_name(), test="paging", at=datetime.now(UTC) - timedelta(minutes=minutes))
        env["data"]["supplier_id"] = supplier
        events.append(env)
    await publish(service, *events)
    listed = f"/v1/alerts?supplier_id={supplier}"
    await asyncio.to_thread(wait_for, lambda: len(api(service, "GET", listed).json()["items"]) == 4 or None)
    everything = [a["id"] for a in api(service, "GET", listed).json()["items"]]
    pages, cursor = [], None
    while True:
        reply = api(service, "GET", f"{listed}&limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        pages.append([a["id"] for a in reply["items"]])
        if not (cursor := reply["next_cursor"]):
            break
    assert [len(p) for p in pages] == [3, 1] and [i for page in pages for i in page] == everything
    fired = [a["last_fired_at"] for a in api(service, "GET", listed).json()["items"]]
    assert fired == sorted(fired, reverse=True)
    assert api(service, "GET", f"{listed}&cursor=yesterday").status_code == 422
