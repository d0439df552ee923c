"""`replenish up --demo`: §9's world through the public doors — generated history, then live days compressed to
`day_s` wall seconds each, played by a POS, a WMS, a supplier and a planner — with a live summary."""
from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from rich.console import Console, Group
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
        fresh = await _fresh(io, world)
        await _planner_rules(io)
        await io.post_events(setup_events(world))
        if fresh:
            await _counted(io, world, first_count(world), timeout=90)
        await io.post_events(history_events(world))
        return await _live(io, world, settings, sink, seconds, show, time.monotonic() - started)
    finally:
        await io.close()


async def _fresh(io: PlatformIO, world: World) -> bool:
    """False (and a note) when the data dir already holds an earlier demo: its events interleave with this
    one's on the same days, so the world is no longer the one the summary scores."""
    body = await io.call("GET", "policy", "/v1/positions", params={"limit": 1000})
    if not any((p["sku"], p["location"]) in world.opening for p in body["items"]):
        return True
    print("This data dir already holds an earlier demo, whose sales and counts mix with this one's. For a clean "
          "world stop (Ctrl-C), `make clean` (or remove the data dir) and start again.", flush=True)
    return False


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
    print(f"policy has not applied the demo's first stock counts within {timeout:.0f} s; going on", flush=True)


class _Loop:
    """One live demo: every tick the supplier and the planner act, the stores move to the demo clock's now and
    post what happened, the shelf is sampled; every VIEW_EVERY_S the platform's view is read."""

    def __init__(self, io: PlatformIO, world: World, settings: Settings, sink: ChatSink | None, ready_s: float):
        self.io, self.world, self.settings, self.sink = io, world, settings, sink
        self.clock = Clock(at(world.live_start, 0), settings.day_s)
        self.store = Store(world, settings, self.clock.start)
        self.supplier = Supplier(io, world, settings, self.clock, self.store)
        self.planner = Planner(io, settings)
        self.result, self.view, self.comparison = DemoResult(ready_s=ready_s), View(), None
        self.compared_on: date | None = None
        self.viewed_at, self.previous = 0.0, self.clock.wall0

    async def tick(self) -> None:
        tick = time.monotonic()
        reading = tick - self.viewed_at >= VIEW_EVERY_S
        _, _, seen = await asyncio.gather(self.supplier.step(), self.planner.step(),
                                          read_view(self.io) if reading else asyncio.sleep(0))
        if reading:
            self.view, self.viewed_at = seen, tick
            self.result.statuses_seen |= set(self.view.purchase_orders)
        now = self.clock.now()
        await self.io.post_events(self.store.step(now))
        self._sample(tick)
        if self.compared_on != now.date():
            self.comparison, self.compared_on = compare(self.world, self.store, self.settings, now.date()), now.date()

    def _sample(self, tick: float) -> None:
        self.result.samples.append((tick - self.clock.wall0, self.store.stockout_share()))
        for sku, loc in self.world.keys:
            if self.store.shelf.on_hand((sku, loc)) <= 0:
                name = f"{sku}@{loc}"
                self.result.out_seconds[name] = self.result.out_seconds.get(name, 0.0) + tick - self.previous
        self.previous = tick

    def draw(self) -> Group:
        now = self.clock.now()
        return render(now=now, live_day=(now - self.clock.start).total_seconds() / 86400 + 1,
                      caught_up=self.clock.caught_up, settings=self.settings, store=self.store, view=self.view,
                      comparison=self.comparison, worst=self.result.worst(),
                      chat=self.sink.messages if self.sink else None)

    async def finish(self) -> DemoResult:
        r, store = self.result, self.store
        self.view = await read_view(self.io)
        r.statuses_seen |= set(self.view.purchase_orders)
        r.fill, r.served, r.demand = fill(store.rows())
        r.live_s = time.monotonic() - self.clock.wall0
        r.demo_days = (self.clock.now() - self.clock.start).total_seconds() / 86400
        r.purchase_orders, r.positions = dict(self.view.purchase_orders), dict(self.view.positions)
        r.comparison, r.chat_messages = self.comparison, len(self.sink.messages) if self.sink else 0
        r.approved = self.planner.approved
        r.out_of_stock = [f"{sku}@{loc}" for sku, loc in self.world.keys if store.shelf.on_hand((sku, loc)) <= 0]
        return r


async def _live(io: PlatformIO, world: World, settings: Settings, sink: ChatSink | None, seconds: float | None,
                show: bool, ready_s: float) -> DemoResult:
    loop = _Loop(io, world, settings, sink, ready_s)
    live = Live(console=Console(), refresh_per_second=2) if show else contextlib.nullcontext()
    with live:
        while seconds is None or time.monotonic() - loop.clock.wall0 < seconds:
            started = time.monotonic()
            await loop.tick()
            if show:
                live.update(loop.draw())
            await asyncio.sleep(max(0.0, settings.tick_s - (time.monotonic() - started)))
    return await loop.finish()
