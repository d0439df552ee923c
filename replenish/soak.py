"""The soak (issue 14): a steady stream of sales through the ingest door for minutes, sampling every platform
process's RSS and every service's consumer lag, to show both stay flat. `make soak`, never in `make test`:

    python -m replenish.soak --rate 2000 --minutes 10 [--endpoints DIR/endpoints.json] [--out soak.json]

Without --endpoints it starts a platform of its own (like `replenish up`, in a temporary directory) and stops
it at the end. The rate is paced on the clock; when the door cannot keep up, the rate achieved is what is
reported (and `sustained` says whether it held within 5 % of the target with the lag staying bounded).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

LOCATIONS, SKUS, OPENING = 10, 20, 10**8
MB = 1024 * 1024


def _master() -> list[dict]:
    """Locations, items and an opening count per series, so every sale is accepted and decided on."""
    at = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    events = [{"id": f"soak-loc-{loc}", "source": "soak/erp", "type": "location", "time": at,
               "data": {"location": f"soak-{loc}", "name": f"soak {loc}", "kind": "store"}} for loc in range(LOCATIONS)]
    events += [{"id": f"soak-item-{sku}", "source": "soak/erp", "type": "item", "time": at,
                "data": {"sku": f"SOAK-{sku}", "name": f"soak {sku}", "base_unit": "each"}} for sku in range(SKUS)]
    events += [{"id": f"soak-count-{loc}-{sku}", "source": "soak/wms", "type": "stock_count", "time": at,
                "data": {"sku": f"SOAK-{sku}", "location": f"soak-{loc}", "on_hand": OPENING}}
               for loc in range(LOCATIONS) for sku in range(SKUS)]
    return events


def _sales(start: int, count: int, run: str) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [{"id": f"soak-{run}-{n}", "source": "soak/pos", "type": "sale", "time": now,
             "data": {"sku": f"SOAK-{n % SKUS}", "location": f"soak-{(n // SKUS) % LOCATIONS}", "quantity": 1}}
            for n in range(start, start + count)]


class Sampler:
    """RSS of every platform process (PostgreSQL: the PSS of the postmaster and its backends, which share their
    buffers, so RSS would count those once per backend) and the consumer lag of every service."""

    def __init__(self, endpoints: dict, pids: dict[str, int]) -> None:
        self.endpoints, self.pids = endpoints, pids
        self.samples: list[dict] = []

    def rss(self) -> dict[str, float]:
        out = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(pid)
                if name == "postgres":
                    size = sum(p.memory_full_info().pss for p in [proc, *proc.children(recursive=True)])
                else:
                    size = proc.memory_info().rss
                out[name] = round(size / MB, 1)
        return out

    async def lag(self, http: httpx.AsyncClient) -> tuple[dict[str, int], dict[str, float]]:
        """Per service: messages behind (consumer lag + unpublished outbox rows), and seconds its event-time
        watermark is behind now (the sales carry their sending time, so this is end-to-end delay)."""
        lag, behind = {}, {}
        for name, url in self.endpoints["services"].items():
            with contextlib.suppress(httpx.HTTPError, ValueError, TypeError):
                mark = (await http.get(f"{url}/v1/watermark")).json()
                if isinstance(mark, dict) and "consumer_lag" in mark:
                    lag[name] = sum((mark.get("consumer_lag") or {}).values()) + (mark.get("outbox_backlog") or 0)
                    if mark.get("event_time"):
                        seen = datetime.fromisoformat(mark["event_time"])
                        behind[name] = round((datetime.now(UTC) - seen).total_seconds(), 1)
        return lag, behind

    async def sample(self, http: httpx.AsyncClient, elapsed: float, sent: int) -> dict:
        lag, behind = await self.lag(http)
        row = {"t": round(elapsed, 1), "sent": sent, "rss_mb": self.rss(), "lag": lag, "behind_s": behind}
        self.samples.append(row)
        print(json.dumps(row), flush=True)
        return row


async def _post(http: httpx.AsyncClient, url: str, events: list[dict]) -> None:
    """One batch, sent again (same ids: duplicates have no effect) until the door takes it."""
    while True:
        with contextlib.suppress(httpx.HTTPError):
            reply = await http.post(f"{url}/v1/events", json=events)
            if reply.status_code == 200:
                return
        await asyncio.sleep(0.2)


async def soak(endpoints: dict, pids: dict[str, int], rate: float, seconds: float, batch: int,
               every: float) -> dict:
    headers = {"Authorization": f"Bearer {endpoints['tokens']['admin']}"}
    ingest = endpoints["services"]["ingest"]
    sampler = Sampler(endpoints, pids)
    run = f"{time.time_ns():x}"
    async with httpx.AsyncClient(timeout=60, headers=headers) as http:
        await _post(http, ingest, _master())
        sent, inflight = 0, set()
        start = next_sample = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds:
            if time.monotonic() >= next_sample:
                await sampler.sample(http, elapsed, sent)
                next_sample += every
            due = int(elapsed * rate) - sent
            if due >= batch and len(inflight) < 4:  # at most 4 requests in flight, like a few feeding systems
                task = asyncio.create_task(_post(http, ingest, _sales(sent, batch, run)))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
                sent += batch
            else:
                await asyncio.sleep(0.005)
        await asyncio.gather(*inflight)
        elapsed = time.monotonic() - start
        drained_at = time.monotonic()
        while time.monotonic() - drained_at < 300:  # the backlog left when the stream stops
            row = await sampler.sample(http, time.monotonic() - start, sent)
            if row["lag"] and not any(row["lag"].values()):
                break
            await asyncio.sleep(2)
        drain_s = time.monotonic() - drained_at
    return summarize(sampler.samples, rate, sent, elapsed, drain_s)


def summarize(samples: list[dict], rate: float, sent: int, elapsed: float, drain_s: float) -> dict:
    """Per process RSS first/last/max and per service lag, delay and throughput, over the stream after its first
    minute (warm-up); the rate achieved; `sustained` when it held within 5 % of the target and no service's
    backlog grew by more than 5 s of input from the first third of the run to the last."""
    steady = [s for s in samples if 60 <= s["t"] <= elapsed] or samples
    first, last = steady[0], steady[-1]
    span = max(last["t"] - first["t"], 1e-9)
    names = sorted({n for s in steady for n in s["rss_mb"]})
    rss = {n: {"first": first["rss_mb"].get(n), "last": last["rss_mb"].get(n),
               "max": max(s["rss_mb"].get(n, 0) for s in steady)} for n in names}
    third = max(len(steady) // 3, 1)
    services, growing = {}, []
    for name in sorted({n for s in steady for n in s["lag"]}):
        lags = [s["lag"].get(name, 0) for s in steady]
        early, late = statistics.mean(lags[:third]), statistics.mean(lags[-third:])
        if late - early > 5 * rate:
            growing.append(name)
        # Every sale reaches ingest, forecast and policy: what they applied per second is what came in minus
        # what their backlog grew by.
        applied = (last["sent"] - lags[-1]) - (first["sent"] - lags[0])
        services[name] = {"lag_first_third": round(early), "lag_last_third": round(late), "lag_max": max(lags),
                          "applied_per_s": round(applied / span), "behind_s_last": last.get("behind_s", {}).get(name)}
    achieved = sent / elapsed if elapsed else 0.0
    return {"target_rate": rate, "achieved_rate": round(achieved, 1), "events": sent, "seconds": round(elapsed, 1),
            "sustained": achieved >= 0.95 * rate and not growing, "backlog_growing": growing, "rss_mb": rss,
            "services": services, "drain_s_after_stream": round(drain_s, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replenish.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=2000.0, help="events per second (default 2000)")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--batch", type=int, default=200, help="events per POST")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--endpoints", type=Path, help="endpoints.json of a running platform (else one is started)")
    parser.add_argument("--out", type=Path, help="write the samples and the summary here as JSON")
    args = parser.parse_args(argv)
    from shared.runtime.platform import Platform

    platform, root = None, None
    if args.endpoints:
        endpoints = json.loads(args.endpoints.read_text())
        pids: dict[str, int] = {}
    else:
        root = Path(tempfile.mkdtemp(prefix="replenish-soak-"))
        platform = Platform(root / "data")
        endpoints = platform.start()
        pids = {name: proc.pid for name, proc in platform.procs.items()}
        pids["broker"] = platform.broker.proc.pid
        if platform.postgres:  # the postmaster; its backends are counted with it
            with contextlib.suppress(OSError, ValueError):
                pids["postgres"] = int((platform.postgres.pgdata / "postmaster.pid").read_text().split()[0])
    try:
        summary = asyncio.run(soak(endpoints, pids, args.rate, args.minutes * 60, args.batch, args.every))
    finally:
        if platform:
            platform.stop()
            shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
