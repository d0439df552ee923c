"""Event and action handlers over an in-memory repository: reorder -> PO, receipts, supplier ack/ship, email
outcomes, transfers and resend, without a database or a broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pytest

from services.orders import actions, handlers, timers
from services.orders.domain import (
    IllegalTransition,
    acknowledge,
    idempotency_key,
    resend,
    ship,
    submit,
    unresponsive_alert,
)
from services.orders.settings import OrdersSettings
from shared.bus.consumer import PoisonMessage
from shared.events.envelope import make_envelope

from .builders import T0, item, later
from .fakes import FakeRepo, FakeRuntime, FakeUow, FrozenClock

CFG = OrdersSettings(window_s=2.0, auto_approve_below=1000.0)
SNAPSHOT = "replenish.orders.purchase_order"
CLOCK = FrozenClock(T0)


@pytest.fixture
def repo(monkeypatch) -> FakeRepo:
    fake = FakeRepo(items={("SUP-1", "SKU-1"): item()})
    for module in (handlers, actions, timers):
        monkeypatch.setattr(module, "repo", fake)
    monkeypatch.setattr(handlers, "utcnow", lambda: T0)
    return fake


def _reorder_env(rid: str, quantity: float = 30, **extra):
    data = {"reorder_id": rid, "kind": "purchase", "sku": "SKU-1", "location": "store-1", "supplier_id": "SUP-1",
            "quantity": quantity, "need_by": "2026-11-09", "decided_at": T0.isoformat(), **extra}
    return make_envelope(source="policy", type="replenish.policy.reorder", time=T0, data=data)


def _stock_env(event_id: str, quantity: float, reason: str = "receipt", po_id: str | None = None,
               location: str = "store-1"):
    data = {"event_id": event_id, "source": "wms", "type": "stock_adjustment", "sku": "SKU-1",
            "location": location, "quantity": quantity, "reason": reason, "po_id": po_id,
            "time": later(days=3).isoformat()}
    return make_envelope(source="ingest", type="replenish.ingest.stock_adjustment", time=T0, data=data)


def _outcome_env(po_id: str, key: str, status: str, reason: str | None = None):
    data = {"kind": "po_email", "alert_id": f"po:{po_id}", "alert_key": f"po_email:{po_id}", "revision": 1,
            "receiver": "po_email", "channel": "email", "status": status, "attempts": 2,
            "at": later(hours=1).isoformat(), "idempotency_key": key, "po_id": po_id, "reason": reason}
    return make_envelope(source="notify", type="replenish.notify.delivery", time=T0, data=data,
                         id=f"{key}:{status}")


async def _sent_po(repo: FakeRepo, uow: FakeUow, **reorder_extra):
    """One reorder through consolidation, the window closer's approval and dispatch."""
    await handlers.on_reorder(uow, _reorder_env("r-1", **reorder_extra), CFG, CLOCK)
    (po,) = repo.pos.values()
    current, _ = submit(po, CFG.approval_rules, later(hours=1))
    return await timers.dispatch_po(uow, current, later(hours=1))


async def test_reorder_opens_a_po_rounded_to_packs_and_priced_from_supplier_item(repo):
    uow = FakeUow()
    await handlers.on_reorder(uow, _reorder_env("r-1", quantity=30), CFG, CLOCK)
    (po,) = repo.pos.values()
    assert (po.status, po.lines[0].quantity, po.total) == ("proposed", 36, 90.0)  # 3 packs of 12 at 2.5
    assert [p["data"]["po_id"] for p in uow.of_type(SNAPSHOT)] == [po.po_id]
    assert repo.index == {"r-1": po.po_id} and repo.audit[0][1].action == "create"


async def test_redelivered_reorder_adds_no_second_po_or_line(repo):
    uow = FakeUow()
    await handlers.on_reorder(uow, _reorder_env("r-1"), CFG, CLOCK)
    await handlers.on_reorder(uow, _reorder_env("r-1"), CFG, CLOCK)  # new envelope id, same reorder
    await handlers.on_reorder(uow, _reorder_env("r-2", quantity=10), CFG, CLOCK)
    (po,) = repo.pos.values()
    # 30 + 10 = 40 requested on one line -> 4 packs of 12
    assert [ln.quantity for ln in po.lines] == [48] and len(uow.of_type(SNAPSHOT)) == 2


async def test_purchase_without_supplier_and_transfer_without_source_are_poison(repo):
    with pytest.raises(PoisonMessage):
        await handlers.on_reorder(FakeUow(), _reorder_env("r-1", supplier_id=None), CFG, CLOCK)
    with pytest.raises(PoisonMessage):
        await handlers.on_reorder(FakeUow(), _reorder_env("r-2", kind="transfer", supplier_id=None), CFG, CLOCK)
    assert repo.pos == {}


async def test_supplier_without_webhook_gets_an_email_request_with_the_push_key(repo):
    uow = FakeUow()
    repo.masters["SUP-1"] = {"email": "po@sup1.example", "name": "Sup One"}
    po = await _sent_po(repo, uow)
    (request,) = uow.of_type(handlers.PO_EMAIL_TYPE)
    key = idempotency_key(po.po_id, 1)
    assert (request["id"], request["data"]["idempotency_key"], request["data"]["to"]) == (
        key, key, "po@sup1.example")
    assert [(d.channel, d.status) for d in repo.deliveries] == [("email", "requested")]


async def test_email_sent_outcome_marks_the_po_delivered(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    await handlers.on_delivery_outcome(uow, _outcome_env(po.po_id, idempotency_key(po.po_id, 1), "sent"), CLOCK)
    assert repo.pos[po.po_id].delivery_status == "delivered"
    assert (repo.deliveries[0].status, repo.deliveries[0].attempts) == ("delivered", 2)
    assert repo.audit[-1][1].action == "delivery"


@pytest.mark.parametrize("status", ["failed", "suppressed"])
async def test_failed_or_suppressed_email_fails_the_delivery_and_makes_the_supplier_unresponsive(repo, status):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    env = _outcome_env(po.po_id, idempotency_key(po.po_id, 1), status, reason="no mail server")
    await handlers.on_delivery_outcome(uow, env, CLOCK)
    after = repo.pos[po.po_id]
    assert (after.status, after.delivery_status) == ("sent", "failed")
    assert after.delivery_error == f"email {status}: no mail server"
    alert = unresponsive_alert("SUP-1", [after], later(hours=2), 86400)
    assert (alert["status"], alert["severity"], alert["po_id"]) == ("firing", "critical", po.po_id)
    assert "no mail server" in alert["summary"]


async def test_outcome_of_an_alert_notification_or_unknown_key_changes_nothing(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    await handlers.on_delivery_outcome(uow, _outcome_env(po.po_id, "someone-elses-key", "failed"), CLOCK)
    alert_env = _outcome_env(po.po_id, idempotency_key(po.po_id, 1), "failed")
    alert_env.data["kind"] = "alert"
    await handlers.on_delivery_outcome(uow, alert_env, CLOCK)
    assert repo.pos[po.po_id].delivery_status == "pending" and repo.deliveries[0].status == "requested"


async def test_resend_after_failed_webhook_push_requeues_the_same_revision_and_key(repo):
    uow = FakeUow()
    repo.hooks["SUP-1"] = ("http://sup1.example/po", "secret")
    po = await _sent_po(repo, uow)
    await repo.update_delivery(None, 1, status="failed", attempts=6, last_error="HTTP 500")
    repo.pos[po.po_id] = replace(po, delivery_status="failed", delivery_error="HTTP 500")
    after = await actions.change_po(FakeRuntime(uow), po.po_id,
                                    actions.single(resend, actor="approver-1", reason="endpoint fixed"),
                                    redeliver_after=True, clock=CLOCK)
    row = repo.deliveries[0]
    assert (row.status, row.attempts, row.idempotency_key) == ("pending", 0, idempotency_key(po.po_id, 1))
    assert (after.send_revision, after.delivery_status) == (1, "pending") and len(repo.deliveries) == 1
    entry = repo.audit[-1][1]
    assert (entry.action, entry.actor, entry.from_status, entry.to_status) == ("resend", "approver-1", "sent", "sent")


async def test_resend_by_email_publishes_a_new_request_with_the_same_idempotency_key(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    await handlers.on_delivery_outcome(uow, _outcome_env(po.po_id, idempotency_key(po.po_id, 1), "failed"), CLOCK)
    await actions.change_po(FakeRuntime(uow), po.po_id, actions.single(resend, actor="admin"),
                            redeliver_after=True, clock=CLOCK)
    first, again = uow.of_type(handlers.PO_EMAIL_TYPE)
    assert first["data"]["idempotency_key"] == again["data"]["idempotency_key"] == idempotency_key(po.po_id, 1)
    assert again["id"] != first["id"] and again["data"]["resend"] is True
    assert repo.deliveries[0].status == "requested"


async def test_resend_is_refused_while_the_delivery_has_not_failed(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    with pytest.raises(IllegalTransition, match="only a failed delivery"):
        await actions.change_po(FakeRuntime(uow), po.po_id, actions.single(resend, actor="admin"),
                                redeliver_after=True, clock=CLOCK)


async def test_supplier_acknowledges_and_ships_its_own_po_but_not_anothers(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    rt = FakeRuntime(uow)
    await actions.change_po(rt, po.po_id, actions.single(acknowledge, promised_date="2026-11-06", lines=None,
                                                         actor="SUP-1"), supplier_id="SUP-1", clock=CLOCK)
    lines = [{"sku": "SKU-1", "location": "store-1", "quantity": 36}]
    after = await actions.change_po(rt, po.po_id, actions.single(ship, eta="2026-11-06", lines=lines,
                                                                 actor="SUP-1", tracking="T-1"),
                                    supplier_id="SUP-1", clock=CLOCK)
    assert (after.status, str(after.promised_date), str(after.eta)) == ("shipped", "2026-11-06", "2026-11-06")
    assert [p["data"]["status"] for p in uow.of_type(SNAPSHOT)][-2:] == ["acknowledged", "shipped"]
    with pytest.raises(actions.NotFound):
        await actions.change_po(rt, po.po_id, actions.single(ship, eta="2026-11-07", lines=lines, actor="SUP-2"),
                                supplier_id="SUP-2", clock=CLOCK)


async def test_receipts_book_partially_then_fully_and_a_redelivery_once(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow)
    await handlers.on_receipt(uow, _stock_env("rc-1", 12, po_id=po.po_id), CLOCK)
    await handlers.on_receipt(uow, _stock_env("rc-1", 12, po_id=po.po_id), CLOCK)  # redelivered
    assert (repo.pos[po.po_id].status, repo.pos[po.po_id].lines[0].received_quantity) == ("partially_received", 12)
    await handlers.on_receipt(uow, _stock_env("rc-2", 24, po_id=po.po_id), CLOCK)
    assert repo.pos[po.po_id].status == "received" and repo.flags == []


async def test_receipt_for_unknown_po_is_flagged_and_other_adjustments_ignored(repo):
    uow = FakeUow()
    await handlers.on_receipt(uow, _stock_env("rc-9", 5, po_id="PO-nope"), CLOCK)
    await handlers.on_receipt(uow, _stock_env("adj-1", -2, reason="shrink"), CLOCK)
    assert [(f["kind"], f["po_id"]) for f in repo.flags] == [("unknown_po", "PO-nope")]
    assert uow.published == []


async def test_transfer_becomes_an_internal_po_never_pushed_and_closed_by_transfer_in(repo):
    uow = FakeUow()
    repo.hooks["transfer:dc-1"] = ("http://never.example", "x")  # even a stray webhook is never used
    po = await _sent_po(repo, uow, kind="transfer", supplier_id=None, from_location="dc-1", unit_cost=1.0)
    assert (po.supplier_id, po.status, po.delivery_status) == ("transfer:dc-1", "sent", "none")
    assert repo.deliveries == [] and uow.of_type(handlers.PO_EMAIL_TYPE) == []
    assert po.lines[0].quantity == 30  # no supplier pack size on a transfer
    await handlers.on_receipt(uow, _stock_env("tin-1", 20, reason="transfer_in"), CLOCK)  # no po_id: by sku+location
    assert repo.pos[po.po_id].status == "partially_received"
    await handlers.on_receipt(uow, _stock_env("tin-2", 10, reason="transfer_in", po_id=po.po_id), CLOCK)
    assert repo.pos[po.po_id].status == "received"
    assert repo.pos[po.po_id].received_at is not None and repo.pos[po.po_id].received_at.tzinfo == UTC


async def test_transfer_in_for_another_location_books_nothing(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow, kind="transfer", supplier_id=None, from_location="dc-1")
    await handlers.on_receipt(uow, _stock_env("tin-1", 20, reason="transfer_in", location="store-9"), CLOCK)
    assert repo.pos[po.po_id].status == "sent" and repo.flags == []


async def test_resend_of_a_transfer_is_refused(repo):
    uow = FakeUow()
    po = await _sent_po(repo, uow, kind="transfer", supplier_id=None, from_location="dc-1")
    repo.pos[po.po_id] = replace(po, delivery_status="failed")
    with pytest.raises(IllegalTransition, match="internal transfer"):
        await actions.change_po(FakeRuntime(uow), po.po_id, actions.single(resend, actor="admin"),
                                redeliver_after=True, clock=CLOCK)
