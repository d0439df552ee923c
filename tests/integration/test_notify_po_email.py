"""POs by email end to end: orders' request on the purchase-orders topic → SMTP (aiosmtpd) with the CSV attached."""
from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller

from services.notify.app import create_app
from services.notify.settings import NotifySettings
from shared.events.envelope import make_envelope
from shared.events.topics import DELIVERIES, PURCHASE_ORDERS
from shared.runtime.ports import free_port
from tests.integration.test_notify_service import ADMIN, _ready, wait_for


class Mailbox:
    """A real SMTP server (aiosmtpd); `refuse` makes it answer the next N messages with a temporary error."""

    def __init__(self) -> None:
        self.port, self.messages, self.refused, self.refuse = free_port(), [], 0, 0
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if outer.refuse > 0:
                    outer.refuse -= 1
                    outer.refused += 1
                    return "451 4.3.0 try again later"
                outer.messages.append(envelope)
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    yield box
    box.close()


@pytest.fixture(scope="module")
def service(settings_for, mailbox, tmp_path_factory) -> Iterator[dict]:
    path = tmp_path_factory.mktemp("notify-po") / "notify.yaml"
    path.write_text(f"""
notify:
  receivers:
    - name: ops
      urls: []
  route:
    receiver: ops
  po_email:
    url: "mailto://127.0.0.1:{mailbox.port}?from=replenish@example.com"
    from: purchasing@shop.example
    bcc: [buyer@shop.example]
""")
    port = free_port()
    settings = settings_for("notify", config_path=path, port=port)
    app = create_app(settings, NotifySettings(tick_s=0.05, retry_base_s=0.3, po_email_every_s=0.2))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    assert wait_for(lambda: _ready(base), 60), "notify never became ready"
    reader = httpx.post(f"{base}/v1/tokens", json={"name": "wu", "role": "ops"},
                        headers={"Authorization": f"Bearer {ADMIN}"}).json()["token"]
    yield {"base": base, "token": reader, "kafka": settings.kafka_bootstrap_servers}
    server.should_exit = True
    thread.join(30)


def po_request(po_id: str, *, to: str | None = "sales@sup1.example", revision: int = 1) -> dict:
    key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{po_id}:{revision}"))
    data = {"po_id": po_id, "supplier_id": "SUP-1", "revision": revision, "status": "sent", "to": to,
            "supplier_name": "Acme Foods", "idempotency_key": key,
            "subject": f"Purchase order {po_id} (revision {revision})",
            "attachment": {"filename": f"{po_id}.csv", "content_type": "text/csv",
                           "content": f"po_id,sku,location,quantity\n{po_id},SKU-1,store-1,24\n"}}
    return make_envelope(source="orders", type="replenish.orders.po_email", time=datetime.now(UTC), data=data,
                         subject=po_id, id=key).model_dump(mode="json")


def po_snapshot(po_id: str) -> dict:
    return make_envelope(source="orders", type="replenish.orders.purchase_order", time=datetime.now(UTC),
                         data={"po_id": po_id, "supplier_id": "SUP-1", "status": "sent", "lines": []},
                         subject=po_id).model_dump(mode="json")


async def publish(service: dict, *envelopes: dict) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=service["kafka"], acks="all")
    await producer.start()
    try:
        for env in envelopes:
            await producer.send_and_wait(PURCHASE_ORDERS, json.dumps(env).encode(), key=env["subject"].encode())
    finally:
        await producer.stop()


async def deliveries_for(service: dict, po_id: str, count: int, timeout_s: float = 15) -> list[dict]:
    """DeliveryRecorded events keyed by this PO, read from the start of the deliveries topic."""
    consumer = AIOKafkaConsumer(DELIVERIES, bootstrap_servers=service["kafka"], group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                found += [env["data"] for r in records if r.key == po_id.encode()
                          for env in [json.loads(r.value)]]
    finally:
        await consumer.stop()
    return found


def emails(service: dict, po_id: str) -> list[dict]:
    reply = httpx.get(f"{service['base']}/v1/po-emails?po_id={po_id}", timeout=10,
                      headers={"Authorization": f"Bearer {service['token']}"})
    return reply.json()["items"]


def mails_for(mailbox: Mailbox, po_id: str) -> list:
    return [m for m in list(mailbox.messages) if po_id.encode() in m.original_content]


async def test_po_reaches_the_supplier_once_with_the_csv_attached_even_when_redelivered(service, mailbox):
    po_id = f"PO-{uuid.uuid4().hex[:8]}"
    first = po_request(po_id)
    again = {**first, "id": str(uuid.uuid4())}  # the same request re-published under a new envelope id
    await publish(service, po_snapshot(po_id), first, first, again)
    got = await asyncio.to_thread(wait_for, lambda: mails_for(mailbox, po_id))
    await asyncio.sleep(1.5)  # time for a second mail, if there were one
    assert len(mails_for(mailbox, po_id)) == 1
    envelope = got[0]
    assert sorted(envelope.rcpt_tos) == ["buyer@shop.example", "sales@sup1.example"]
    assert envelope.mail_from == "purchasing@shop.example"
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert str(message["subject"]) == f"Purchase order {po_id} (revision 1)"
    assert message["X-Replenish-Idempotency-Key"] == first["id"]
    [csv] = [p for p in message.walk() if p.get_filename() == f"{po_id}.csv"]
    assert csv.get_content_type() == "text/csv"
    assert csv.get_content().splitlines() == ["po_id,sku,location,quantity", f"{po_id},SKU-1,store-1,24"]
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()
    assert text.startswith("Dear Acme Foods,")
    [row] = await asyncio.to_thread(wait_for, lambda: [e for e in emails(service, po_id) if e["status"] == "sent"])
    assert (row["to"], row["attempts"], row["revision"]) == ("sales@sup1.example", 1, 1)
    [recorded] = await deliveries_for(service, po_id, 1)
    assert (recorded["status"], recorded["channel"], recorded["idempotency_key"]) == ("sent", "email", first["id"])


async def test_supplier_without_address_is_recorded_as_failed_and_nothing_is_mailed(service, mailbox):
    po_id = f"PO-{uuid.uuid4().hex[:8]}"
    await publish(service, po_request(po_id, to=None))
    [row] = await asyncio.to_thread(wait_for, lambda: emails(service, po_id))
    assert row["status"] == "failed" and "SUP-1 has no email address" in row["reason"]
    [recorded] = await deliveries_for(service, po_id, 1)
    assert recorded["status"] == "failed" and "no email address" in recorded["reason"]
    assert mails_for(mailbox, po_id) == []


async def test_each_po_revision_is_mailed_once(service, mailbox):
    po_id = f"PO-{uuid.uuid4().hex[:8]}"
    await publish(service, po_request(po_id, revision=1), po_request(po_id, revision=2))
    got = await asyncio.to_thread(wait_for, lambda: len(mails_for(mailbox, po_id)) == 2 and mails_for(mailbox, po_id))
    subjects = sorted(str(email.message_from_bytes(m.original_content, policy=email.policy.default)["subject"])
                      for m in got)
    assert subjects == [f"Purchase order {po_id} (revision 1)", f"Purchase order {po_id} (revision 2)"]


async def test_mail_server_refusing_once_is_retried_and_the_po_arrives_once(service, mailbox):
    po_id = f"PO-{uuid.uuid4().hex[:8]}"
    mailbox.refuse = 1
    await publish(service, po_request(po_id))
    [row] = await asyncio.to_thread(wait_for, lambda: [e for e in emails(service, po_id) if e["status"] == "sent"])
    assert row["attempts"] == 2 and mailbox.refused == 1
    assert len(mails_for(mailbox, po_id)) == 1


async def test_a_resend_after_a_final_failure_mails_the_same_po_once_more(service, mailbox):
    po_id = f"PO-{uuid.uuid4().hex[:8]}"
    failed = po_request(po_id, to=None)
    await publish(service, failed)
    await asyncio.to_thread(wait_for, lambda: [e for e in emails(service, po_id) if e["status"] == "failed"])
    fixed = po_request(po_id)  # the supplier's address arrived; orders asks again under the same key
    resend = {**fixed, "id": str(uuid.uuid4()), "data": {**fixed["data"], "resend": True}}
    await publish(service, resend, {**resend, "id": str(uuid.uuid4())})
    [row] = await asyncio.to_thread(wait_for, lambda: [e for e in emails(service, po_id) if e["status"] == "sent"])
    assert row["attempts"] == 1
    await asyncio.sleep(1.0)
    assert len(mails_for(mailbox, po_id)) == 1
    outcomes = await deliveries_for(service, po_id, 2)
    assert [o["status"] for o in outcomes] == ["failed", "sent"]
