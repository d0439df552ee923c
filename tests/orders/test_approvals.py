"""Approval thresholds: auto below T1, one approver from T1 to T2, two distinct above T2; reject; edits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.orders.domain import (
    ApprovalRules,
    IllegalTransition,
    ValidationError,
    approve,
    edit_line,
    reject,
    required_approvals,
    submit,
)

from .builders import RULES, T0, later, proposed


def po_worth(total_packs: int):
    """One line of `total_packs` packs of 12 at 2.5: 30 per pack."""
    return proposed(("SKU-1", "store-1", total_packs * 12))


@pytest.mark.parametrize(("packs", "total", "needed"), [
    (33, 990.0, 0),     # below 1000: automatic
    (34, 1020.0, 1),    # at/above 1000: one approver
    (333, 9990.0, 1),
    (334, 10020.0, 2),  # above 10000: two
])
def test_required_approvals_follow_the_thresholds(packs, total, needed):
    po = po_worth(packs)
    assert po.total == total
    assert required_approvals(po, RULES) == needed


def test_exact_thresholds_belong_to_the_one_approver_band():
    rules = ApprovalRules(auto_below=90.0, second_above=90.0)
    assert required_approvals(po_worth(3), rules) == 1  # total exactly 90


def test_small_po_is_auto_approved_by_the_system():
    po, entry = submit(po_worth(1), RULES, T0)
    assert po.status == "approved" and entry.actor == "system" and entry.action == "auto_approve"
    assert "below auto-approval limit 1000" in entry.reason


def test_requires_approval_forces_one_approver_on_a_small_po():
    po, entry = submit(replace(po_worth(1), requires_approval=True), RULES, T0)
    assert po.status == "pending_approval" and "requires approval" in entry.reason


def test_one_approver_band_approves_on_first_approval():
    po, _ = submit(po_worth(34), RULES, T0)
    po, entry = approve(po, "alice", later(hours=1), RULES)
    assert po.status == "approved" and po.approvals == ("alice",)
    assert (entry.actor, entry.from_status, entry.to_status) == ("alice", "pending_approval", "approved")


def test_two_distinct_approvers_needed_above_the_upper_threshold():
    po, entry = submit(po_worth(334), RULES, T0)
    assert po.status == "pending_approval" and "two distinct approvers" in entry.reason
    po, first = approve(po, "alice", later(hours=1), RULES)
    assert po.status == "pending_approval" and first.to_status == "pending_approval"
    assert first.reason == "approval 1 of 2"
    with pytest.raises(IllegalTransition, match="already approved"):
        approve(po, "alice", later(hours=2), RULES)
    po, second = approve(po, "bob", later(hours=2), RULES)
    assert po.status == "approved" and po.approvals == ("alice", "bob") and second.to_status == "approved"


def test_manual_approve_from_proposed_ends_consolidation():
    po, entry = approve(po_worth(1), "alice", T0, RULES, "urgent")
    assert po.status == "approved" and entry.from_status == "proposed" and entry.reason == "urgent"


def test_approve_after_sending_is_illegal():
    with pytest.raises(IllegalTransition):
        approve(replace(po_worth(1), status="sent"), "alice", T0, RULES)


def test_reject_needs_a_reason_and_records_it():
    po, _ = submit(po_worth(34), RULES, T0)
    with pytest.raises(ValidationError, match="reason"):
        reject(po, "alice", T0, "  ")
    po, entry = reject(po, "alice", T0, "duplicate of PO-7")
    assert po.status == "rejected" and entry.reason == "duplicate of PO-7" and po.closed_at == T0


def test_edit_rounds_up_to_pack_and_is_audited():
    po, _ = submit(po_worth(34), RULES, T0)
    po, entry = edit_line(po, "SKU-1", "store-1", 50, "planner-1", later(hours=1), "less shelf space")
    assert po.lines[0].quantity == 60 and po.total == 150.0
    assert entry.action == "edit" and entry.from_status == entry.to_status == "pending_approval"
    assert entry.reason == "SKU-1@store-1: 408 -> 60 (asked 50, pack 12, moq 12); less shelf space"


def test_edit_clears_earlier_approvals():
    po, _ = submit(po_worth(334), RULES, T0)
    po, _ = approve(po, "alice", T0, RULES)
    po, _ = edit_line(po, "SKU-1", "store-1", 12 * 400, "planner-1", T0)
    assert po.approvals == ()
    po, _ = approve(po, "alice", T0, RULES)
    assert po.status == "pending_approval"


def test_edit_to_zero_drops_a_line_but_not_the_last():
    po = proposed(("SKU-1", "store-1", 12), ("SKU-2", "store-1", 12))
    po, _ = edit_line(po, "SKU-2", "store-1", 0, "planner-1", T0)
    assert [ln.sku for ln in po.lines] == ["SKU-1"]
    with pytest.raises(ValidationError, match="last line"):
        edit_line(po, "SKU-1", "store-1", 0, "planner-1", T0)


def test_edit_of_unknown_line_or_after_approval_fails():
    po = proposed()
    with pytest.raises(ValidationError, match="no line"):
        edit_line(po, "SKU-9", "store-1", 12, "planner-1", T0)
    approved, _ = submit(po, RULES, T0)
    with pytest.raises(IllegalTransition):
        edit_line(approved, "SKU-1", "store-1", 24, "planner-1", T0)


def test_rules_must_be_ordered():
    with pytest.raises(ValueError):
        ApprovalRules(auto_below=500, second_above=100)
