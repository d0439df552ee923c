"""End-to-end alert latency: stock or sale event at ingest → chat webhook, under background load (a benchmark)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from replenish.latency_probes import Receiver, Tap
from shared.events.topics import SALES, STOCK
from shared.runtime.cpu import service_cpu
from shared.runtime.platform import Platform
from shared.runtime.ports import free_port
from shared.settings import SERVICES


def _master(sku: str, location: str, at: datetime) -> list[dict]:
    t = at.isoformat()
    return [{"id": f"item-{sku}", "source": "bench/erp", "type": "item", "time": t,
             "data": {"sku": sku, "name": sku, "base_unit": "each"}},
            {"id": f"si-{sku}", "source": "bench/erp", "type": "supplier_item", "time": t,
             "data": {"supplier_id": "SUP-B", "sku": sku, "lead_time_days": 7}}] + [
            {"id": f"s-{sku}-{d}", "source": "bench/pos", "type": "sale",
             "time": (at + timedelta(days=d + 1)).isoformat(),
             "data": {"sku": sku, "location": location, "quantity": 10}} for d in range(14)] + [
            {"id": f"c0-{sku}", "source": "bench/wms", "type": "stock_count", "time": t,
             "data": {"sku": sku, "location": location, "on_hand": 10_000}}]


async def background_sales(client: httpx.AsyncClient, url: str, token: str, rate: int, stop: asyncio.Event) -> int:
    """POST `rate` sales a second to ingest, in batches every 0.1 s, until `stop`: the load probes run under.
    The number sent."""
    sent, n = 0, 0
    while not stop.is_set():
        tick = time.monotonic()
        now = datetime.now(UTC).isoformat()
        batch = [{"id": f"bg-{n}-{i}", "source": "bench/bg", "type": "sale", "time": now,
                  "data": {"sku": f"BG-{i % 50}", "location": "store-bg", "quantity": 1}} for i in range(rate // 10)]
        n += 1
        await client.post(f"{url}/v1/events", json=batch, headers={"Authorization": f"Bearer {token}"})
        sent += len(batch)
        await asyncio.sleep(max(0.1 - (time.monotonic() - tick), 0))
    return sent


WARM_UP_S = 3.0  # the background load runs this long before the first probe: probes measure its steady state


def probe_event(kind: str, sku: str) -> dict:
    """The event that should raise the probe's `stockout_risk`: a count of 3, or a sale that leaves 3 on hand
    (the setup counted 10,000, then sold 14 × 10)."""
    now = datetime.now(UTC).isoformat()
    if kind == "sale":
        return {"id": f"c1-{sku}", "source": "bench/pos", "type": "sale", "time": now,
                "data": {"sku": sku, "location": "store-b", "quantity": 10_000 - 140 - 3}}
    return {"id": f"c1-{sku}", "source": "bench/wms", "type": "stock_count", "time": now,
            "data": {"sku": sku, "location": "store-b", "on_hand": 3}}


async def measure(p: Platform, receiver: Receiver, tap: Tap, probes: int, rate: int,
                  kind: str = "count") -> tuple[dict[str, float], dict[str, float], dict[str, float], dict]:
    ingest, token = p.services["ingest"], p.tokens["ingest"]
    auth = {"Authorization": f"Bearer {token}"}
    start = datetime.now(UTC) - timedelta(days=20)
    async with httpx.AsyncClient(timeout=60) as client:
        setup = [{"id": "loc", "source": "bench/erp", "type": "location", "time": start.isoformat(),
                  "data": {"location": "store-b", "name": "b", "kind": "store"}},
                 {"id": "locbg", "source": "bench/erp", "type": "location", "time": start.isoformat(),
                  "data": {"location": "store-bg", "name": "bg", "kind": "store"}},
                 {"id": "sup", "source": "bench/erp", "type": "supplier", "time": start.isoformat(),
                  "data": {"supplier_id": "SUP-B", "name": "b"}}]
        setup += [{"id": f"bgi-{i}", "source": "bench/erp", "type": "item", "time": start.isoformat(),
                   "data": {"sku": f"BG-{i}", "name": "bg", "base_unit": "each"}} for i in range(50)]
        for i in range(probes):
            setup += _master(f"PROBE-{i}", "store-b", start)
        await client.post(f"{ingest}/v1/events", json=setup, headers=auth)
        await asyncio.sleep(15)  # let the history settle (forecasts, positions) before measuring
        stop = asyncio.Event()
        decided_before = _decided_keys((await client.get(f"{p.services['policy']}/metrics")).text)
        cpu_before, cpu_began = _cpu(p), time.monotonic()
        tapping = asyncio.create_task(tap.run(stop))
        bg = asyncio.create_task(background_sales(client, ingest, token, rate, stop))
        await asyncio.sleep(WARM_UP_S)
        sent_at: dict[str, float] = {}
        for i in range(probes):
            sku = f"PROBE-{i}"
            sent_at[sku] = time.time()
            receiver.armed.add(sku)
            await client.post(f"{ingest}/v1/events", headers=auth, json=[probe_event(kind, sku)])
            await asyncio.sleep(0.5)
        deadline = time.monotonic() + 120
        while len(receiver.arrivals) < probes and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await bg
        await tapping
        took = time.monotonic() - cpu_began
        cpu_share = {name: round((used - cpu_before[name]) / took, 3) for name, used in _cpu(p).items()}
        reply = await client.get(f"{p.services['policy']}/metrics")
    notify_rows = await _notify_times(p.database_url, sorted(tap.alert))
    policy = {"consume_mean_ms": _consume_latency(reply.text),
              "decided_keys_per_s": {due: round((n - decided_before.get(due, 0.0)) / took, 1)
                                     for due, n in _decided_keys(reply.text).items()}}
    return sent_at, policy, cpu_share, notify_rows


NOTIFY_TIMES = """
SELECT a.sku, min(extract(epoch FROM a.updated_at)) AS stored, min(extract(epoch FROM d.created_at)) AS claimed
FROM notify.alerts a JOIN notify.delivery_alerts da ON da.alert_id = a.id
JOIN notify.deliveries d ON d.id = da.delivery_id
WHERE a.sku = ANY($1) AND a.type = 'stockout_risk' GROUP BY a.sku
"""


async def _notify_times(database_url: str, skus: list[str]) -> dict[str, dict[str, float]]:
    """Each probe's alert row stored and its delivery row claimed, by notify's own clock (same machine)."""
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(NOTIFY_TIMES, skus)
    finally:
        await conn.close()
    return {"stored": {r["sku"]: float(r["stored"]) for r in rows},
            "claimed": {r["sku"]: float(r["claimed"]) for r in rows}}


def _cpu(p: Platform) -> dict[str, float]:
    """CPU seconds so far of each service, PostgreSQL (postmaster and backends) and the broker: where the
    two cores went while measuring."""
    pids = {name: proc.pid for name, proc in p.procs.items()}
    if p.postgres:
        pids["postgres"] = int((p.postgres.pgdata / "postmaster.pid").read_text().split()[0])
    if p.broker and p.broker.proc:
        pids["broker"] = p.broker.proc.pid
    return {name: service_cpu(pid) for name, pid in pids.items()}


def _decided_keys(metrics: str) -> dict[str, float]:
    """Keys policy's decider has taken so far, by why they were due."""
    found = re.findall(r'^replenish_policy_decided_keys_total\{due="(\w+)"\} (\S+)$', metrics, re.M)
    return {due: float(n) for due, n in found}


def _consume_latency(metrics: str) -> dict[str, float]:
    """Policy's mean record → committed time per input topic, from its event-latency histogram."""
    sums: dict[str, dict[str, float]] = {}
    for line in metrics.splitlines():
        if line.startswith("replenish_event_latency_seconds_") and "policy" in line:
            name, _, value = line.rpartition(" ")
            kind = name.split("{")[0].rsplit("_", 1)[-1]
            topic = name.split('topic="')[1].split('"')[0] if 'topic="' in name else "?"
            if kind in ("sum", "count"):
                sums.setdefault(topic, {})[kind] = float(value)
    return {t: round(v["sum"] / v["count"] * 1000, 1) for t, v in sums.items() if v.get("count")}


def _stats(seconds: list[float]) -> dict[str, float]:
    if not seconds:
        return {"n": 0}
    ms = np.array(seconds) * 1000
    return {"n": len(ms), "p50_ms": round(float(np.percentile(ms, 50)), 1),
            "p90_ms": round(float(np.percentile(ms, 90)), 1), "p99_ms": round(float(np.percentile(ms, 99)), 1),
            "max_ms": round(float(ms.max()), 1)}


def report(sent_at: dict[str, float], receiver: Receiver, tap: Tap, probes: int, rate: int,
           notify_rows: dict[str, dict[str, float]]) -> dict:
    """End to end (POST → webhook) and its stages split at the broker's record times."""
    def stage(end: dict[str, float], start: dict[str, float]) -> dict[str, float]:
        return _stats([end[k] - start[k] for k in start if k in end])

    total = stage(receiver.arrivals, sent_at)
    return {"probes": probes, "delivered": total["n"], "webhook_posts": receiver.posts,
            "background_events_per_s": rate, **total,
            "stages": {"ingest": stage(tap.stock, sent_at), "policy": stage(tap.alert, tap.stock),
                       "notify": stage(receiver.arrivals, tap.alert)},
            # notify's share split by its own rows: alert record → alert stored → delivery claimed → webhook
            "notify_split": {"consume": stage(notify_rows["stored"], tap.alert),
                             "dispatch": stage(notify_rows["claimed"], notify_rows["stored"]),
                             "send": stage(receiver.arrivals, notify_rows["claimed"])}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replenish bench latency")
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--rate", type=int, default=1000, help="background events per second")
    parser.add_argument("--probe", choices=("count", "sale"), default="count",
                        help="the probe's event: a stock count of 3, or a sale that leaves 3 on hand")
    args = parser.parse_args(argv)
    receiver = Receiver()
    data = Path(tempfile.mkdtemp(prefix="replenish-latency-"))
    config = data / "config.yaml"
    config.write_text(f"notify:\n  receivers:\n    - name: chat\n      urls: [\"json://127.0.0.1:{receiver.port}/hook\"]\n"
                      f"  route:\n    receiver: chat\n    group_wait: 0s\n    group_by: [type, sku, location]\n"
                      # one group per alert type: the setup's overstock for a probe would otherwise hold its
                      # stockout_risk for group_interval, as an Alertmanager group does with a change
                      # no inhibition: the setup's 20-day-old events could make a feed_stale hold the probes back
                      f"  inhibit_rules: []\n")
    broker_port = free_port()
    env = {"REPLENISH_CONFIG": str(config), "REPLENISH_BROKER_PORT": str(broker_port),
           **{f"REPLENISH_{s.upper()}_PORT": str(free_port()) for s in SERVICES}}
    p = Platform(data / "platform", env={**{k: v for k, v in os.environ.items()
                                            if k not in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}, **env})
    tap = Tap("", SALES if args.probe == "sale" else STOCK)
    try:
        p.start()
        tap.kafka = p.kafka
        sent_at, policy, cpu_share, notify_rows = asyncio.run(
            measure(p, receiver, tap, args.probes, args.rate, args.probe))
    finally:
        p.stop()
    (data / "webhook-bodies.txt").write_text("\n".join(receiver.bodies))
    (data / "probes.json").write_text(json.dumps({  # each probe's times, to line up with the services' logs
        sku: {"sent": at, "stock_record": tap.stock.get(sku), "alert_record": tap.alert.get(sku),
              "webhook": receiver.arrivals.get(sku)} for sku, at in sent_at.items()}, indent=1))
    result = report(sent_at, receiver, tap, args.probes, args.rate, notify_rows)
    result["probe"] = args.probe
    result["policy"] = policy
    result["cpu_cores_used"] = cpu_share
    result["data_dir"] = str(data)
    print(json.dumps(result))
    return 0 if result["delivered"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
