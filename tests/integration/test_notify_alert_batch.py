"""Alert events folded a batch at a time on the real PostgreSQL: same alerts as one at a time, fixed statements."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from services.notify import models
from services.notify.alert_batch import on_alerts
from services.notify.bench_dispatch import alert_payload, counting
from services.notify.handlers import ALERT_TYPE, on_alert
from shared.events.envelope import Envelope, make_envelope
from shared.service import ServiceRuntime


@pytest.fixture
async def runtime(settings_for):
    rt = ServiceRuntime(settings_for("notify"), models.metadata)
    yield rt
    await rt.engine.dispose()


def envelope(payload: dict) -> Envelope:
    return make_envelope(source="test/policy", type=ALERT_TYPE, time=payload["occurred_at"], data=payload,
                         subject=payload["key"])


def events(location: str) -> list[Envelope]:
    """New risks; SKU-2 fires, resolves and fires again; SKU-3 turns critical; a redelivered event; an old one."""
    t = datetime.now(UTC) - timedelta(minutes=10)
    fired = [alert_payload(f"SKU-{i}", location=location, at=t) for i in range(6)]
    later = [alert_payload("SKU-2", location=location, status="resolved", at=t + timedelta(seconds=1)),
             alert_payload("SKU-2", location=location, at=t + timedelta(seconds=2)),
             alert_payload("SKU-3", location=location, severity="critical", at=t + timedelta(seconds=3)),
             alert_payload("SKU-4", location=location, status="resolved", at=t - timedelta(seconds=5))]
    return [envelope(p) for p in fired + later + [fired[0]]]


async def _stored(rt: ServiceRuntime, location: str) -> list[tuple]:
    async with rt.sessionmaker() as session:
        rows = (await session.execute(text(
            "SELECT sku, status, severity, revision, fire_count, needs_dispatch, "
            "(SELECT array_agg(h->>'action') FROM jsonb_array_elements(history) h) "
            "FROM notify.alerts WHERE location = :loc ORDER BY sku"), {"loc": location})).all()
    return [tuple(r) for r in rows]


async def test_a_batch_stores_the_alerts_that_one_event_at_a_time_stores(runtime):
    batch_loc, single_loc = f"batch-{uuid.uuid4().hex[:6]}", f"single-{uuid.uuid4().hex[:6]}"
    async with runtime.uow() as uow:
        assert await on_alerts(uow, events(batch_loc))
    async with runtime.uow() as uow:
        for env in events(single_loc):
            await on_alert(uow, env)
    batch = await _stored(runtime, batch_loc)
    assert batch == await _stored(runtime, single_loc)
    assert [(r[0], r[1], r[2], r[3]) for r in batch][2:4] == [("SKU-2", "firing", "warning", 3),
                                                            ("SKU-3", "firing", "critical", 2)]


async def test_a_batch_of_25_alerts_costs_the_statements_of_one(runtime):
    counts = {}
    for size in (1, 25):
        location = f"count-{uuid.uuid4().hex[:6]}"
        envs = [envelope(alert_payload(f"SKU-{i}", location=location)) for i in range(size)]
        async with runtime.uow() as uow:
            with counting(runtime) as statements:
                await on_alerts(uow, envs)
        counts[size] = len(statements)
        assert len(await _stored(runtime, location)) == size
    assert counts == {1: 2, 25: 2}


async def test_a_batch_of_known_alerts_changes_nothing_and_wakes_no_one(runtime):
    location = f"again-{uuid.uuid4().hex[:6]}"
    envs = [envelope(alert_payload(f"SKU-{i}", location=location)) for i in range(3)]
    async with runtime.uow() as uow:
        assert await on_alerts(uow, envs)
    async with runtime.uow() as uow:
        assert not await on_alerts(uow, envs)
