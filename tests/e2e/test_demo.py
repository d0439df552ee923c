"""`make demo` closes the loop (issue 13, item 6): the demo's world through a platform started as `replenish up`
starts it, for a bounded time — POs go all the way to `received`, few shelves are empty, live fill ≥ 90 %."""
from __future__ import annotations

import asyncio
import json

import pytest

from replenish.demo import ChatSink, Settings, run_demo

pytestmark = pytest.mark.e2e

LIVE_S, DAY_S = 75.0, 10.0  # 7.5 demo days: the fresh supplier's POs (3 days) are back well within them


def test_demo_closes_the_loop_within_its_targets(platform_factory, tmp_path):
    sink = ChatSink()
    try:
        p = platform_factory(tmp_path / "demo", REPLENISH_CONFIG=str(sink.write_config(tmp_path / "demo.yaml")))
        endpoints = {"services": p.services, "tokens": p.tokens}
        result = asyncio.run(run_demo(endpoints, sink, seconds=LIVE_S, settings=Settings(day_s=DAY_S), show=False))
    finally:
        sink.close()
    print(json.dumps(result.summary(), default=str))
    assert result.demand > 0 and sum(result.positions.values()) >= 48, result.summary()
    assert {"sent", "acknowledged", "shipped", "received"} <= result.statuses_seen, result.summary()
    assert result.purchase_orders.get("received", 0) >= 1, result.purchase_orders
    assert result.samples[-1][1] <= 0.05, result.out_of_stock
    assert result.fill >= 0.9, result.summary()
