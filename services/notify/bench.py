"""Notify's share of alert latency: alert event on the policy topic → chat webhook, under ingest load.

`python -m services.notify.bench [--probes 40] [--rate 1000]` starts the platform (like `replenish up`),
loads ingest with background sales, publishes probe alerts straight onto `replenish.policy.alerts.v1`
and times their arrival at a local JSON webhook (group_wait 0s). Upstream stages are out of the picture.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
from aiokafka import AIOKafkaProducer

from replenish.latency import background_sales
from replenish.latency_probes import Receiver
from shared.events.envelope import make_envelope
from shared.events.topics import POLICY_ALERTS
from shared.runtime.platform import Platform
from shared.runtime.ports import free_port
from shared.settings import SERVICES


def probe_alert(sku: str) -> dict:
    key = f"stockout_risk:store-b:{sku}"
    now = datetime.now(UTC)
    data = {"key": key, "type": "stockout_risk", "severity": "warning", "status": "firing", "sku": sku,
            "location": "store-b", "summary": f"{sku} runs out in 1 day", "explanation": {"on_hand": 3},
            "occurred_at": now.isoformat()}
    return make_envelope(source="bench/policy", type="replenish.alert", time=now, data=data,
                         subject=key).model_dump(mode="json")


async def measure(p: Platform, receiver: Receiver, probes: int, rate: int, gap_s: float,
                  sent_wall: dict[str, float]) -> list[float]:
    run = uuid.uuid4().hex[:6]
    producer = AIOKafkaProducer(bootstrap_servers=p.kafka, acks="all", linger_ms=0)
    await producer.start()
    stop = asyncio.Event()
    async with httpx.AsyncClient(timeout=60) as client:
        bg = asyncio.create_task(background_sales(client, p.services["ingest"], p.tokens["ingest"], rate, stop))
        await asyncio.sleep(5)  # load first, so probes meet a busy machine
        sent_at: dict[str, float] = {}
        try:
            for i in range(probes):
                sku = f"PROBE-{run}-{i}"
                env = probe_alert(sku)
                sent_at[sku], sent_wall[sku] = time.monotonic(), time.time()
                await producer.send_and_wait(POLICY_ALERTS, json.dumps(env).encode(), key=env["subject"].encode())
                await asyncio.sleep(gap_s)
            deadline = time.monotonic() + 20
            while not set(sent_at) <= set(receiver.arrivals) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
        finally:
            stop.set()
            await bg
            await producer.stop()
    return [receiver.arrivals[k] - t for k, t in sent_at.items() if k in receiver.arrivals]


STAGES = """
SELECT a.sku, extract(epoch FROM a.updated_at) AS stored, extract(epoch FROM d.created_at) AS claimed,
       extract(epoch FROM d.at) AS recorded
FROM notify.alerts a JOIN notify.delivery_alerts da ON da.alert_id = a.id
JOIN notify.deliveries d ON d.id = da.delivery_id WHERE a.sku = ANY($1)
"""


async def stages(database_url: str, sent_wall: dict[str, float]) -> dict:
    """Where the time went, from notify's own rows: consume (published → alert stored), dispatch (stored →
    delivery row claimed), send (claimed → outcome recorded, which includes the webhook's answer)."""
    import asyncpg

    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(STAGES, list(sent_wall))
        load = await conn.fetchrow("SELECT count(*) AS alerts, coalesce(sum(fire_count), 0) AS alert_events, "
                                   "(SELECT count(*) FROM notify.deliveries) AS deliveries FROM notify.alerts")
    finally:
        await conn.close()
    spans: dict[str, list[float]] = {"consume": [], "dispatch": [], "send": []}
    for row in rows:
        t0 = sent_wall[row["sku"]]
        spans["consume"].append(float(row["stored"]) - t0)
        spans["dispatch"].append(float(row["claimed"] - row["stored"]))
        spans["send"].append(float(row["recorded"] - row["claimed"]))
    out: dict = {name: _percentiles(np.array(values) * 1000) for name, values in spans.items() if values}
    return out | {"notify_totals": {k: int(v) for k, v in load.items()}}


def _percentiles(ms: np.ndarray) -> dict[str, float]:
    out = {f"p{q}_ms": round(float(np.percentile(ms, q)), 1) for q in (50, 90, 99)}
    return out | {"max_ms": round(float(ms.max()), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.notify.bench")
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--rate", type=int, default=1000, help="background events per second at ingest")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between probes")
    args = parser.parse_args(argv)
    receiver = Receiver()
    data = Path(tempfile.mkdtemp(prefix="replenish-notify-bench-"))
    config = data / "config.yaml"
    config.write_text(f"notify:\n  receivers:\n    - name: chat\n      urls: [\"json://127.0.0.1:{receiver.port}/hook\"]\n"
                      f"  route:\n    receiver: chat\n    group_wait: 0s\n    group_by: [sku, location]\n")
    env = {"REPLENISH_CONFIG": str(config), "REPLENISH_BROKER_PORT": str(free_port()),
           **{f"REPLENISH_{s.upper()}_PORT": str(free_port()) for s in SERVICES}}
    inherited = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    p = Platform(data / "platform", env={**inherited, **env})
    sent_wall: dict[str, float] = {}
    try:
        p.start()
        lat = asyncio.run(measure(p, receiver, args.probes, args.rate, args.gap, sent_wall))
        breakdown = asyncio.run(stages(p.database_url, sent_wall))
    finally:
        p.stop()
    figures = {"probes": args.probes, "delivered": len(lat), "background_events_per_s": args.rate}
    if lat:
        figures |= _percentiles(np.array(lat) * 1000)
    print(json.dumps({**figures, "stages": breakdown}))
    return 0 if len(lat) == args.probes else 1


if __name__ == "__main__":
    raise SystemExit(main())
