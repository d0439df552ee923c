"""The bundled memory-only broker killed mid-stream (docs/contract.md §12): `replenish up` starts it again empty, the
services notice its new cluster id, recreate the topics, republish from their outboxes what no reader recorded
as consumed and read the new log from its beginning. 0 events lost: every position ends right."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import pytest

from tests.e2e.chaos import Stream, chaos_platform, purchase_order_duplicates, seed, wait_positions
from tests.e2e.conftest import Client, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]


def test_a_broker_restart_mid_stream_loses_no_event():
    with chaos_platform() as (platform, receiver):
        client = Client(platform)
        seed(client)
        stream = Stream(client, rate=100).start()
        try:
            assert wait_for(lambda: stream.sent >= 1000, 60, every=0.2)
            broker = platform.broker
            old_id, old_pid = broker.cluster_id, broker.proc.pid
            os.kill(old_pid, signal.SIGKILL)
            killed = time.monotonic()
            assert wait_for(lambda: broker.proc is not None and broker.proc.pid != old_pid, 30, every=0.2)
            restarted_in = time.monotonic() - killed
            assert broker.cluster_id != old_id
            assert wait_for(lambda: stream.sent >= 3000, 120, every=0.2)
        finally:
            stream.finish()
        settled = wait_positions(client, stream, timeout=180)
        said = (platform.logs / "supervisor.log").read_text()
        assert "broker restarted" in said
        logs = {s: (platform.logs / f"{s}.log").read_text() for s in platform.services}
        recovered = sorted(s for s, text in logs.items() if "broker recovered" in text)
        assert set(recovered) >= {"ingest", "forecast", "policy", "orders", "notify"}, recovered
        requeued = {s: sum(int(n) for n in re.findall(r"(\d+) outbox row\(s\) queued again", text))
                    for s, text in logs.items()}
        assert requeued["ingest"] > 0, requeued  # sales published in the last moments were not consumed yet
        dupes = asyncio.run(purchase_order_duplicates(platform.database_url, client))
        assert dupes["doubled_lines"] == 0 and dupes["unknown_on_a_po"] == 0, dupes
        assert wait_for(lambda: asyncio.run(purchase_order_duplicates(platform.database_url, client))
                        ["not_on_a_po"] == 0, 60), dupes
        print(f"\nbroker SIGKILLed after {1000}+ events: restarted in {restarted_in:.1f} s; {stream.sent} sales "
              f"({stream.retries} batch retries), every position right {settled:.1f} s after the stream ended; "
              f"outbox rows queued again: {requeued}; POs: {dupes}; notifications: {len(receiver.bodies)} "
              f"({sum(receiver.repeats().values())} repeats)")
