"""`replenish up --demo`: §9's world through the public doors — generated history, then live days compressed to
`day_s` wall seconds each, played by a POS, a WMS, a supplier and a planner — with a live summary."""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.live import Live

from replenish.demo.chat import ChatSink
from replenish.demo.live import Store, fill
from replenish.demo.partners import Planner, Supplier
from replenish.demo.summary import Comparison, View, compare, read_view, render
from replenish.demo.world import Clock, Settings, World, at, build, first_count, history_events, setup_events
from replenish.replay.platform_io import PlatformIO

# a planner's rule, not a policy change: imports wait for a person's approval, so approval shows in the demo
IMPORTS_NEED_APPROVAL = {"id": "demo-imports-need-approval", "priority": 10,
                         "when": {"field": "supplier", "op": "eq", "value": "SUP-IMPORT"},
                         "then": [{"action": "require_approval"}]}
VIEW_EVERY_S = 2.0


@dataclass
class DemoResult:
    """What a run measured: the true shelf's scores and what the platform reached."""

    ready_s: float  # from run_demo's start to the first live tick (rules and history posted)
    live_s: float = 0.0
    demo_days: float = 0.0
    fill: float = 1.0
    served: float = 0.0
    demand: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)  # (live seconds, stockout share)
    purchase_orders: dict[str, int] = field(default_factory=dict)  # by status at the end
    statuses_seen: set[str] = field(default_factory=set)
    positions: dict[str, int] = field(default_factory=dict)
    comparison: Comparison | None = None
    chat_messages: int = 0
    approved: int = 0
    out_of_stock: list[str] = field(default_factory=list)  # series with an empty shelf at the end
    out_seconds: dict[str, float] = field(default_factory=dict)  # per series, live seconds with an empty shelf

    def worst(self, after_s: float = 60.0) -> float | None:
        """The largest stockout share sampled after `after_s` live seconds."""
        return max((share for t, share in self.samples if t >= after_s), default=None)

    def summary(self) -> dict[str, Any]:
        body = asdict(self)
        body.update(samples=len(self.samples), worst_after_first_minute=self.worst(),
                    final_stockout_share=self.samples[-1][1] if self.samples else None,
                    statuses_seen=sorted(self.statuses_seen))
        return body


async def run_demo(endpoints: dict, sink: ChatSink | None = None, tick_s: float = 1.0, *,
                   seconds: float | None = None, settings: Settings | None = None, show: bool = True) -> DemoResult:
    """Post the history, then play the live world until `seconds` have passed (forever when None)."""
    started = time.monotonic()
    settings = settings or Settings.from_env(tick_s=tick_s)
    world = build(settings, datetime.now(UTC))
    io = PlatformIO(endpoints)
    try:
        await _planner_rules(io)
        await io.post_events(setup_events(world))
        await _counted(io, world, first_count(world), timeout=30)
        await io.post_events(history_events(world))
        return await _live(io, world, settings, sink, seconds, show, time.monotonic() - started)
    finally:
        await io.close()


async def _planner_rules(io: PlatformIO) -> None:
    current = await io.call("GET", "policy", "/v1/rules", "planner") or {}
    rules = [r for r in current.get("rules", []) if r.get("id") != IMPORTS_NEED_APPROVAL["id"]]
    await io.call("PUT", "policy", "/v1/rules", "planner", json={"version": current.get("version", 0),
                                                                 "rules": [*rules, IMPORTS_NEED_APPROVAL]})


async def _counted(io: PlatformIO, world: World, counts: dict, timeout: float) -> None:
    """Until policy holds every series at its first count. Sales and counts travel on two topics that Kafka does
    not order against each other: a history sale applied before that count would drive on-hand negative, and
    policy on the wall clock decides at once (it would order for a shortage that never was)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = await io.call("GET", "policy", "/v1/positions", params={"limit": 1000})
        held = {(p["sku"], p["location"]): p["on_hand"] for p in body["items"]}
        if all(held.get(key) == on_hand for key, on_hand in counts.items()):
            return
        await asyncio.sleep(0.25)
    raise RuntimeError(f"policy did not apply the demo's first stock counts within {timeout:.0f} s")


def _count_out(result: DemoResult, store: Store, seconds: float) -> None:
    for sku, loc in store.world.keys:
        if store.shelf.on_hand((sku, loc)) <= 0:
            name = f"{sku}@{loc}"
            result.out_seconds[name] = result.out_seconds.get(name, 0.0) + seconds


async def _live(io: PlatformIO, world: World, settings: Settings, sink: ChatSink | None, seconds: float | None,
                show: bool, ready_s: float) -> DemoResult:
    clock = Clock(at(world.live_start, 0), settings.day_s)
    store = Store(world, settings, clock.start)
    supplier, planner = Supplier(io, world, settings, clock, store), Planner(io, settings)
    result, view, comparison = DemoResult(ready_s=ready_s), View(), None
    compared_on, viewed_at, previous = None, 0.0, clock.wall0
    live = Live(console=Console(), refresh_per_second=2, transient=False) if show else contextlib.nullcontext()
    with live:
        while seconds is None or time.monotonic() - clock.wall0 < seconds:
            tick = time.monotonic()
            reading = tick - viewed_at >= VIEW_EVERY_S
            _, _, seen = await asyncio.gather(supplier.step(), planner.step(),
                                              read_view(io) if reading else asyncio.sleep(0))
            if reading:
                view, viewed_at = seen, tick
                result.statuses_seen |= set(view.purchase_orders)
            now = clock.now()
            await io.post_events(store.step(now))
            result.samples.append((tick - clock.wall0, store.stockout_share()))
            _count_out(result, store, tick - previous)
            previous = tick
            if compared_on != now.date():
                comparison, compared_on = compare(world, store, settings, now.date()), now.date()
            if show:
                live_day = (now - clock.start).total_seconds() / 86400 + 1
                live.update(render(now=now, live_day=live_day, settings=settings, store=store, view=view,
                                   comparison=comparison, worst=result.worst(), chat=sink.messages if sink else None))
            await asyncio.sleep(max(0.0, settings.tick_s - (time.monotonic() - tick)))
    view = await read_view(io)
    result.statuses_seen |= set(view.purchase_orders)
    result.fill, result.served, result.demand = fill(store.rows())
    result.live_s = time.monotonic() - clock.wall0
    result.demo_days = (clock.now() - clock.start).total_seconds() / 86400
    result.purchase_orders, result.positions = dict(view.purchase_orders), dict(view.positions)
    result.comparison, result.chat_messages = comparison, len(sink.messages) if sink else 0
    result.approved = planner.approved
    result.out_of_stock = [f"{sku}@{loc}" for sku, loc in world.keys if store.shelf.on_hand((sku, loc)) <= 0]
    return result
