"""SIGKILL of each service in turn during a stream (docs/contract.md §12), on one platform: `replenish up` starts each
again, and in the end 0 events are lost (every position right), 0 reorders are on two POs or two lines, and a
notification is repeated at most once (a message notify had in flight when it was killed), never lost."""
from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter

import httpx
import pytest

from shared.settings import SERVICES
from tests.e2e.chaos import Stream, chaos_platform, purchase_order_duplicates, seed, wait_positions
from tests.e2e.conftest import Client, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_each_service_killed_mid_stream_loses_nothing_and_doubles_nothing():
    with chaos_platform() as (platform, receiver):
        client = Client(platform)
        seed(client)
        stream = Stream(client, rate=100).start()
        back: dict[str, float] = {}
        try:
            for service in SERVICES:
                assert wait_for(lambda n=stream.sent: stream.sent >= n + 500, 60, every=0.2)
                victim = platform.procs[service]
                os.kill(victim.pid, signal.SIGKILL)
                killed = time.monotonic()
                assert wait_for(lambda s=service, v=victim: platform.procs[s] is not v
                                and _ready(platform.services[s]), 120, every=0.2), f"{service} did not come back"
                back[service] = time.monotonic() - killed
            assert wait_for(lambda n=stream.sent: stream.sent >= n + 500, 60, every=0.2)
        finally:
            stream.finish()
        settled = wait_positions(client, stream, timeout=180)
        said = (platform.logs / "supervisor.log").read_text()
        assert all(f"{s} restarted" in said for s in SERVICES), said
        assert wait_for(lambda: asyncio.run(purchase_order_duplicates(platform.database_url, client))
                        ["not_on_a_po"] == 0, 60)
        dupes = asyncio.run(purchase_order_duplicates(platform.database_url, client))
        assert dupes["doubled_lines"] == 0 and dupes["unknown_on_a_po"] == 0, dupes
        alerts = (client.get("notify", "/v1/alerts?limit=1000", "ops") or {}).get("items", [])
        repeats = receiver.repeats()
        assert max(repeats.values(), default=0) <= 1, repeats  # at most one repeat per message in flight
        print(f"\nSIGKILL of each service during a stream of {stream.sent} sales ({stream.retries} batch retries): "
              f"answering again after {', '.join(f'{s} {t:.1f} s' for s, t in back.items())}; every position "
              f"right {settled:.1f} s after the stream ended; POs {dupes}; {len(alerts)} alerts, "
              f"{len(receiver.bodies)} notifications, {sum(repeats.values())} repeated "
              f"({Counter(receiver.bodies).most_common(1)[0][1] if receiver.bodies else 0} at most of one)",
              file=sys.stderr)
