"""Dispatcher pass benchmark: time and statements of a pass over 1, 25, 100 changed alerts, and of consuming them."""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from services.notify import models
from services.notify import repository as repo
from services.notify.alert_batch import on_alerts
from services.notify.dispatcher import Dispatcher
from services.notify.domain import apply_event
from services.notify.handlers import ALERT_TYPE, alert_id_for, on_alert
from services.notify.reload import ConfigSource
from services.notify.settings import NotifySettings
from shared.db.migrate import upgrade
from shared.events.envelope import make_envelope
from shared.events.topics import AlertRaised
from shared.runtime.postgres import EmbeddedPostgres
from shared.service import ServiceRuntime
from shared.settings import load_settings

# The shape the latency bench uses (group_wait 0s, one group per SKU and location) plus one inhibition rule,
# so the pass also pays for its inhibition lookups as a production config would.
CONFIG = """
notify:
  receivers:
    - name: chat
      urls: ["json://127.0.0.1:9/alerts"]
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


INBOX_BATCH = text("INSERT INTO notify.inbox (consumer, event_id) SELECT 'bench', unnest(CAST(:ids AS text[])) "
                   "ON CONFLICT DO NOTHING RETURNING event_id")


def alert_payload(sku: str, *, status: str = "firing", severity: str = "warning", type_: str = "stockout_risk",
                  location: str = "store-1", at: datetime | None = None) -> dict[str, Any]:
    """One alert event's data (the topic payload), as the consumer hands it to the lifecycle."""
    return AlertRaised(key=f"{type_}:{location}:{sku}", type=type_, severity=severity, status=status,
                       summary=f"{sku} at {location} runs out in 2 days", sku=sku, location=location,
                       explanation={"on_hand": 4, "days_of_cover": 1.5},
                       occurred_at=at or datetime.now(UTC)).model_dump()


async def store_alerts(runtime: ServiceRuntime, payloads: list[dict[str, Any]]) -> None:
    """What the alert consumer does for each event (lifecycle fold, upsert flagged for dispatch), in one commit."""
    async with runtime.uow() as uow:
        for payload in payloads:
            current = await repo.alert_by_key(uow.session, payload["key"], lock=True)
            change = apply_event(current, payload, alert_id=alert_id_for(payload["key"]), now=datetime.now(UTC))
            if change.state is not None:
                await repo.save_alert(uow.session, change.state, dispatch=True)


@contextmanager
def counting(runtime: ServiceRuntime) -> Iterator[list[str]]:
    """Every SQL statement the engine sends while inside the block (BEGIN/COMMIT are not statements here)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", record)


def quiet_dispatcher(runtime: ServiceRuntime, config_path: Path) -> Dispatcher:
    """A dispatcher whose claimed sends are dropped (the pass is measured, not the webhook)."""
    dispatcher = Dispatcher(runtime, NotifySettings(), ConfigSource(config_path))
    dispatcher.sender.start = lambda rows: None
    return dispatcher


async def timed_pass(runtime: ServiceRuntime, dispatcher: Dispatcher, burst: int) -> tuple[float, int]:
    tag = uuid.uuid4().hex[:6]
    await store_alerts(runtime, [alert_payload(f"SKU-{tag}-{i}") for i in range(burst)])
    with counting(runtime) as statements:
        started = time.perf_counter()
        routed, _ = await dispatcher.dispatch(dispatcher.config.current, datetime.now(UTC))
        took = time.perf_counter() - started
    assert routed == burst, (routed, burst)
    return took, len(statements)


async def timed_consume(runtime: ServiceRuntime, burst: int, *, batch: bool) -> tuple[float, int]:
    """The alert consumer's transaction for a polled burst: one event at a time (on_alert) or as a batch."""
    tag = uuid.uuid4().hex[:6]
    envs = [make_envelope(source="bench", type=ALERT_TYPE, time=datetime.now(UTC), subject=p["key"], data=p)
            for p in (alert_payload(f"SKU-{tag}-{i}") for i in range(burst))]
    with counting(runtime) as statements:
        started = time.perf_counter()
        async with runtime.uow() as uow:
            if batch:  # as the consumer's batch path: one inbox statement, then the batch handler
                await uow.session.execute(INBOX_BATCH, {"ids": [env.id for env in envs]})
                await on_alerts(uow, envs)
            else:
                for env in envs:
                    await uow.mark_processed("bench", env.id)
                    await on_alert(uow, env)
        took = time.perf_counter() - started
    return took, len(statements)


async def consume_costs(runtime: ServiceRuntime, bursts: list[int], repeat: int) -> dict:
    out: dict[str, Any] = {}
    for mode in ("per_event", "batch"):
        for burst in bursts:
            runs = [await timed_consume(runtime, burst, batch=mode == "batch") for _ in range(repeat)]
            out[f"{mode}:{burst}"] = {"ms_median": round(statistics.median(t * 1000 for t, _ in runs), 1),
                                      "statements": max(n for _, n in runs)}
    return out


async def run(url: str, bursts: list[int], repeat: int, config_path: Path) -> dict:
    runtime = ServiceRuntime(load_settings("notify", database_url=url, admin_token="bench"), models.metadata)
    dispatcher = quiet_dispatcher(runtime, config_path)
    out: dict[str, Any] = {}
    try:
        await timed_pass(runtime, dispatcher, 5)  # warm-up: connections, statement caches
        for burst in bursts:
            times, counts = [], []
            for _ in range(repeat):
                took, count = await timed_pass(runtime, dispatcher, burst)
                times.append(took * 1000)
                counts.append(count)
            out[str(burst)] = {"pass_ms_median": round(statistics.median(times), 1),
                               "pass_ms_min": round(min(times), 1), "statements": max(counts)}
        out["consume"] = await consume_costs(runtime, bursts, repeat)
    finally:
        await runtime.engine.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notify.bench_dispatch")
    parser.add_argument("--bursts", default="1,25,100")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="notify-dispatch-bench-"))
    config_path = root / "notify.yaml"
    config_path.write_text(CONFIG)
    pg = EmbeddedPostgres(root / "pg")
    url = pg.start()
    try:
        upgrade(url, ["notify"])
        bursts = [int(b) for b in args.bursts.split(",")]
        print(json.dumps(asyncio.run(run(url, bursts, args.repeat, config_path))))
    finally:
        pg.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
