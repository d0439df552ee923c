"""Every action against every status: the legal ones move as docs/contract.md §5 says, the rest raise."""

from __future__ import annotations

import pytest

from services.orders.domain import STATUSES, IllegalTransition, legal_from, mark_delivery_failed, resend, transition
from services.orders.domain.model import CANCELLED, RECEIVED, SENT

from .builders import T0, later, sent, with_status

OPEN = ["proposed", "pending_approval", "approved", "sent", "acknowledged", "shipped", "partially_received"]
WITH_SUPPLIER = ["sent", "acknowledged", "shipped", "partially_received"]

# Written out by hand from the contract, independently of the module's table.
LEGAL = {
    ("submit", "proposed"): "pending_approval",
    ("auto_approve", "proposed"): "approved",
    ("approve", "proposed"): "approved",
    ("approve", "pending_approval"): "approved",
    ("reject", "proposed"): "rejected",
    ("reject", "pending_approval"): "rejected",
    ("edit", "proposed"): "proposed",
    ("edit", "pending_approval"): "pending_approval",
    ("send", "approved"): "sent",
    ("acknowledge", "sent"): "acknowledged",
    ("acknowledge", "acknowledged"): "acknowledged",
    ("ship", "sent"): "shipped",
    ("ship", "acknowledged"): "shipped",
    ("ship", "shipped"): "shipped",
    ("ship", "partially_received"): "partially_received",
    **{("receive_part", s): "partially_received" for s in WITH_SUPPLIER},
    **{("receive_all", s): "received" for s in WITH_SUPPLIER},
    **{("cancel", s): "cancelled" for s in OPEN},
    **{("reschedule", s): s for s in OPEN},
    **{("resend", s): s for s in WITH_SUPPLIER},
}
ACTIONS = sorted({a for a, _ in LEGAL})
PAIRS = [(a, s) for a in ACTIONS for s in STATUSES]


def test_contract_statuses_are_the_ten_of_section_5():
    assert set(STATUSES) == {"proposed", "pending_approval", "approved", "sent", "acknowledged", "shipped",
                             "partially_received", "received", "rejected", "cancelled"}


@pytest.mark.parametrize(("action", "status"), [p for p in PAIRS if p in LEGAL])
def test_legal_transition_moves_and_audits(action, status):
    po, entry = transition(with_status(status), action, "alice", T0, "because")
    assert po.status == LEGAL[(action, status)]
    assert (entry.at, entry.actor, entry.action) == (T0, "alice", action)
    assert (entry.from_status, entry.to_status, entry.reason) == (status, LEGAL[(action, status)], "because")


@pytest.mark.parametrize(("action", "status"), [p for p in PAIRS if p not in LEGAL])
def test_illegal_transition_raises_with_a_clear_message(action, status):
    po = with_status(status)
    with pytest.raises(IllegalTransition) as err:
        transition(po, action, "alice", T0)
    assert err.value.status == status and err.value.action == action
    assert po.po_id in str(err.value) and status in str(err.value)


@pytest.mark.parametrize("status", ["received", "rejected", "cancelled"])
def test_terminal_statuses_allow_nothing(status):
    for action in ACTIONS:
        with pytest.raises(IllegalTransition):
            transition(with_status(status), action, "alice", T0)


def test_unknown_action_is_illegal():
    with pytest.raises(IllegalTransition, match="unknown action"):
        transition(with_status("proposed"), "teleport", "alice", T0)


def test_send_stamps_sent_at_and_closing_stamps_closed_at():
    po, _ = transition(with_status("approved"), "send", "system", T0)
    assert po.status == SENT and po.sent_at == T0
    po, _ = transition(po, "cancel", "bob", T0, "supplier closed")
    assert po.status == CANCELLED and po.closed_at == T0


def test_receive_all_stamps_received_at():
    po, _ = transition(with_status("shipped"), "receive_all", "system", T0)
    assert po.status == RECEIVED and po.received_at == T0


def test_audit_entry_serialises_all_six_fields():
    _, entry = transition(with_status("pending_approval"), "reject", "carol", T0, "too dear")
    assert entry.to_dict() == {
        "at": "2026-11-02T09:00:00+00:00", "actor": "carol", "action": "reject",
        "from_status": "pending_approval", "to_status": "rejected", "reason": "too dear"}


def test_legal_from_lists_the_contract_sources_of_approve():
    assert set(legal_from("approve")) == {"proposed", "pending_approval"}
    assert legal_from("nonsense") == ()


def test_resend_is_legal_only_for_a_failed_delivery_and_keeps_status_and_revision():
    po = sent()
    with pytest.raises(IllegalTransition):
        resend(po, "approver-1", later(hours=1))
    failed = mark_delivery_failed(po, 6, later(hours=1), "HTTP 503")
    again, entry = resend(failed, "approver-1", later(hours=2), "endpoint is back")
    assert (again.status, again.send_revision, again.delivery_status, again.delivery_error) == (
        "sent", 1, "pending", None)
    assert (entry.action, entry.actor) == ("resend", "approver-1") and "endpoint is back" in entry.reason
