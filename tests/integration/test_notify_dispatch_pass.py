"""The dispatcher pass on the real PostgreSQL: a fixed number of statements per pass, and a burst decided as
the same alerts routed one pass each."""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from services.notify import models
from services.notify.bench_dispatch import alert_payload, counting, quiet_dispatcher, store_alerts
from services.notify.dispatcher import Dispatcher
from shared.db.outbox import BATCH_HEADER, decode_messages
from shared.events.topics import DELIVERIES
from shared.service import ServiceRuntime

CONFIG = """
notify:
  receivers:
    - name: chat
      urls: ["json://127.0.0.1:9/alerts", "json://127.0.0.1:9/mirror"]
      send_resolved: true
  route:
    receiver: chat
    group_by: [type, sku, location]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 4h
  inhibit_rules:
    - source_matchers: ['type="po_late"']
      target_matchers: ['type="stockout_risk"']
      equal: [sku, location]
"""


@pytest.fixture
def runtime(settings_for, tmp_path: Path) -> Iterator[tuple[ServiceRuntime, Path]]:
    path = tmp_path / "notify.yaml"
    path.write_text(CONFIG)
    rt = ServiceRuntime(settings_for("notify"), models.metadata)
    yield rt, path


async def settle(dispatcher: Dispatcher, now: datetime) -> int:
    """Passes until nothing is left to route (alerts flagged again by a pass are routed by the next)."""
    routed = 0
    for _ in range(6):
        done, _ = await dispatcher.dispatch(dispatcher.config.current, now)
        routed += done
        if not done:
            break
    return routed


async def test_a_pass_over_25_alerts_costs_the_statements_of_a_pass_over_one(runtime):
    rt, path = runtime
    dispatcher = quiet_dispatcher(rt, path)
    try:
        await settle(dispatcher, datetime.now(UTC))  # alerts other tests left flagged
        counts = {}
        for burst in (1, 25):
            tag = uuid.uuid4().hex[:6]
            await store_alerts(rt, [alert_payload(f"SKU-{tag}-{i}") for i in range(burst)])
            with counting(rt) as statements:
                routed, flushed = await dispatcher.dispatch(dispatcher.config.current, datetime.now(UTC))
            assert (routed, flushed) == (burst, burst)
            counts[burst] = len(statements)
    finally:
        await rt.engine.dispose()
    assert counts[1] == counts[25]
    assert counts[25] <= 8


def _firing(location: str) -> list[dict]:
    """Two late POs first (they inhibit their SKU's stockout_risk), then stockout risks and a critical one."""
    at = datetime.now(UTC) - timedelta(minutes=5)
    late = [alert_payload(f"SKU-{i}", type_="po_late", location=location, at=at) for i in range(2)]
    risks = [alert_payload(f"SKU-{i}", location=location, at=at, severity="critical" if i == 7 else "warning")
             for i in range(22)]
    return late + risks + [alert_payload("SKU-X", type_="overstock", location=location, at=at)]


def _resolving(location: str) -> list[dict]:
    """The late PO of SKU-1 resolves (its stockout_risk reaches receivers now), and three risks resolve."""
    at = datetime.now(UTC) - timedelta(minutes=4)
    return [alert_payload("SKU-1", type_="po_late", location=location, status="resolved", at=at)] + [
        alert_payload(f"SKU-{i}", location=location, status="resolved", at=at) for i in (0, 3, 4)]


async def _run(rt: ServiceRuntime, path: Path, location: str, *, burst: bool) -> tuple[list, list]:
    dispatcher = quiet_dispatcher(rt, path)
    await settle(dispatcher, datetime.now(UTC))
    start = datetime.now(UTC)
    for phase, now in ((_firing(location), start), (_resolving(location), start + timedelta(minutes=2))):
        for batch in ([phase] if burst else [[p] for p in phase]):
            await store_alerts(rt, batch)
            await settle(dispatcher, now)
    return await _outcome(rt, dispatcher, location)


async def _outcome(rt: ServiceRuntime, dispatcher: Dispatcher, location: str) -> tuple[list, list]:
    """Deliveries and groups of one location, named by alert type and SKU (ids differ between locations)."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(text(
            "SELECT a.type, a.sku, da.revision, d.receiver, d.target, d.status, d.occasion, d.title "
            "FROM notify.deliveries d JOIN notify.delivery_alerts da ON da.delivery_id = d.id "
            "JOIN notify.alerts a ON a.id = da.alert_id WHERE a.location = :loc"), {"loc": location})).all()
        names = dict((await session.execute(text(
            "SELECT id, type || ':' || sku FROM notify.alerts WHERE location = :loc"), {"loc": location})).all())
    deliveries = sorted((r[0], r[1], r[2], r[3], r[4], r[5], r[6].split(":")[0] + ":" + r[6].split(":")[1]
                         if r[6].startswith("suppressed") else r[6], r[7].replace(location, "LOC")) for r in rows)
    groups = sorted((key.replace(location, "LOC"), sorted((names[m], rev) for m, rev in g.state.members.items()),
                     sorted(names[m] for m in g.state.firing), g.state.flush_count)
                    for key, g in dispatcher.groups.items() if location in key)
    return deliveries, groups


async def _delivery_events(rt: ServiceRuntime, location: str) -> list[tuple[str, str, int]]:
    """(status, alert key, revision) of the delivery events in notify's outbox about this location."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(text("SELECT topic, payload, headers FROM notify.outbox"))).all()
    messages = []
    for topic, payload, headers in rows:
        batch = decode_messages(payload) if (headers or {}).get(BATCH_HEADER) else [(topic, None, payload)]
        messages += [json.loads(value) for name, _, value in batch if name == DELIVERIES]
    return sorted((m["data"]["status"], m["data"]["alert_key"], m["data"]["revision"]) for m in messages
                  if location in m["data"]["alert_key"])


async def test_a_burst_is_delivered_as_the_same_alerts_routed_one_pass_each(runtime):
    rt, path = runtime
    try:
        location = f"burst-{uuid.uuid4().hex[:6]}"
        burst = await _run(rt, path, location, burst=True)
        single = await _run(rt, path, f"single-{uuid.uuid4().hex[:6]}", burst=False)
        events = await _delivery_events(rt, location)
    finally:
        await rt.engine.dispose()
    deliveries, groups = burst
    assert (deliveries, groups) == single
    suppressed = [d for d in deliveries if d[5] == "suppressed"]
    # the two risks the late POs explain, and SKU-0's resolution (its late PO still holds it back)
    assert [(d[1], d[2]) for d in suppressed] == [("SKU-0", 1), ("SKU-0", 2), ("SKU-1", 1)]
    risk = f"stockout_risk:{location}:SKU-"
    assert events == [("suppressed", f"{risk}0", 1), ("suppressed", f"{risk}0", 2), ("suppressed", f"{risk}1", 1)]
    # 24 alerts fired to 2 URLs; SKU-1's risk after its late PO resolved; 2 of 3 risks' resolutions (SKU-0's
    # was never said); the late PO's resolution
    sent = [d for d in deliveries if d[5] == "sending"]
    assert len(sent) == 2 * (2 + 20 + 1 + 1 + 2 + 1)
