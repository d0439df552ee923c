"""The sender's bookkeeping of push outcomes over an in-memory repository: the stored schedule, the unresponsive
threshold, failing for good (exhausted or 410), delivery, and a resend that starts the schedule again."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from services.orders import handlers, sender
from services.orders.domain import idempotency_key, mark_delivery_failed, resend, unresponsive_alert
from services.orders.settings import OrdersSettings

from .builders import T0, sent
from .fakes import FakeRepo, FakeRuntime, FakeUow, FrozenClock

CFG = OrdersSettings(push_jitter=0.0, unresponsive_after_attempt=5)
OFFSETS = [0, 5, 305, 2105, 9305, 27305, 63305, 149705, 236105]  # the default schedule, no jitter


class Wall:
    """The sender's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def env(monkeypatch):
    repo, wall = FakeRepo(hooks={"SUP-1": ("http://supplier.example/hook", "s3cret")}), Wall()
    for module in (sender, handlers):
        monkeypatch.setattr(module, "repo", repo)
    monkeypatch.setattr(sender, "utcnow", wall)
    monkeypatch.setattr(handlers, "utcnow", wall)
    po = sent()
    repo.pos[po.po_id] = po
    key = idempotency_key(po.po_id, po.send_revision)
    repo.deliveries.append(_row(1, po.po_id, po.send_revision, key))
    return repo, wall, FakeRuntime(FakeUow()), po


def _row(id_: int, po_id: str, revision: int, key: str) -> SimpleNamespace:
    return SimpleNamespace(id=id_, po_id=po_id, revision=revision, supplier_id="SUP-1", channel="webhook",
                           idempotency_key=key, body="{}", status="pending", attempts=0, first_attempt_at=None,
                           next_attempt_at=T0, last_status_code=None, last_error=None)


async def _fail(env, code: int | None = 503, row_id: int = 1) -> None:
    repo, wall, runtime, _ = env
    row = next(d for d in repo.deliveries if d.id == row_id)
    wall.at = row.next_attempt_at  # the attempt happens when it is due, and answers at once
    await sender.record_outcome(runtime, CFG, row, code, f"HTTP {code}" if code else "ConnectTimeout: ",
                                random.Random(0), FrozenClock(wall.at), wall.at)


def _alert(repo, po_id: str, now: datetime) -> dict:
    return unresponsive_alert("SUP-1", [repo.pos[po_id]], now, 86400 * 30, CFG.unresponsive_after_attempt)


async def test_failed_attempts_follow_the_stored_schedule_then_fail_for_good(env):
    repo, wall, _, po = env
    row = repo.deliveries[0]
    seen = []
    for n in range(1, 10):
        seen.append((wall.at if n == 1 else row.next_attempt_at) - T0)
        await _fail(env, 503 if n % 2 else None)
        assert row.attempts == n and row.first_attempt_at == T0
    assert [s.total_seconds() for s in seen] == OFFSETS
    assert (row.status, row.next_attempt_at) == ("failed", None)
    after = repo.pos[po.po_id]
    assert (after.delivery_status, after.delivery_attempts) == ("failed", 9)
    assert "after 9 attempt(s)" in after.delivery_error and "push schedule exhausted" in after.delivery_error
    assert after.delivery_failed_at == wall.at
    (_, entry), = [(p, e) for p, e in repo.audit if e.action == "delivery"]
    assert "failed for good" in entry.reason and entry.actor == "system"
    alert = _alert(repo, po.po_id, wall.at)
    assert (alert["status"], alert["severity"]) == ("firing", "critical")


async def test_supplier_unresponsive_fires_only_once_the_configured_attempt_failed(env):
    repo, wall, _, po = env
    for n in range(1, 5):
        await _fail(env)
        assert _alert(repo, po.po_id, wall.at)["status"] == "resolved", f"fired after attempt {n}"
        assert repo.pos[po.po_id].delivery_status == "pending"
    await _fail(env)  # the 5th attempt (the one 2 h after the 4th) fails
    alert = _alert(repo, po.po_id, wall.at)
    assert (alert["status"], alert["severity"], alert["po_id"]) == ("firing", "warning", po.po_id)
    assert alert["explanation"]["delivery_attempts"] == {po.po_id: 5}
    assert "still retrying" in alert["summary"] and "HTTP 503 after 5 attempt(s)" in alert["summary"]


async def test_410_gone_stops_at_once(env):
    repo, _, _, po = env
    await _fail(env, 410)
    row = repo.deliveries[0]
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 410)
    assert "410 Gone" in repo.pos[po.po_id].delivery_error
    assert repo.pos[po.po_id].delivery_status == "failed"


async def test_delivery_after_failures_marks_it_delivered_and_closes_the_breaker(env):
    repo, wall, runtime, po = env
    for _ in range(5):
        await _fail(env)
    assert repo.breakers["SUP-1"].state == "open"
    row = repo.deliveries[0]
    wall.at = row.next_attempt_at
    await sender.record_outcome(runtime, CFG, row, 200, None, random.Random(0), FrozenClock(wall.at), wall.at)
    assert (row.status, row.attempts, row.next_attempt_at) == ("delivered", 6, None)
    assert repo.pos[po.po_id].delivery_status == "delivered" and repo.pos[po.po_id].delivery_error is None
    assert repo.breakers["SUP-1"].state == "closed"
    assert _alert(repo, po.po_id, wall.at)["status"] == "resolved"


async def test_resend_starts_the_schedule_again_with_the_same_key(env):
    repo, wall, _, po = env
    for _ in range(9):
        await _fail(env)
    failed_at = wall.at
    wall.at = failed_at + timedelta(days=1)
    repo.pos[po.po_id], _ = resend(repo.pos[po.po_id], "approver-1", wall.at, "endpoint fixed")
    await handlers.redeliver(FakeUow(), repo.pos[po.po_id], wall.at)
    row = repo.deliveries[0]
    assert (row.status, row.attempts, row.idempotency_key) == ("pending", 0, idempotency_key(po.po_id, 1))
    restart = wall.at
    await _fail(env)
    assert row.first_attempt_at == restart  # a new round: its max age counts from here
    assert row.next_attempt_at == restart + timedelta(seconds=5)


async def test_an_older_revisions_outcome_leaves_the_po_alone(env):
    repo, _, _, po = env
    repo.pos[po.po_id] = replace(po, send_revision=2)
    await _fail(env)
    assert repo.deliveries[0].attempts == 1 and repo.deliveries[0].status == "pending"
    assert repo.pos[po.po_id].delivery_attempts == 0 and repo.pos[po.po_id].delivery_error is None


async def test_a_failed_po_is_not_made_pending_by_a_late_outcome(env):
    repo, _, _, po = env
    repo.pos[po.po_id] = mark_delivery_failed(po, 3, T0, "webhook: HTTP 503 after 3 attempt(s)")
    await _fail(env)
    assert repo.pos[po.po_id].delivery_status == "failed"
