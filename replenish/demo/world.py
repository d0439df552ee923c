"""The demo's world (docs/contract.md §9's, compressed): named products at four stores, their demand with known truth
(`synthetic.generate`), suppliers with lead times, the demo clock, and the history as §3 events."""
from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from replenish.replay.dataset import Key
from replenish.replay.feed import announced_on, promotion_runs
from replenish.replay.synthetic import generate

TIMEZONE, COUNTRY = "Asia/Shanghai", "CN"
ZONE = ZoneInfo(TIMEZONE)
STORES = {"store-sh-01": "Shanghai Jing'an", "store-sh-02": "Shanghai Pudong", "store-bj-01": "Beijing Chaoyang",
          "store-gz-01": "Guangzhou Tianhe"}
# supplier → (lead time, its spread) in days: what the master data says and what the demo supplier does
SUPPLIERS = {"SUP-FRESH": (3.0, 1.0), "SUP-DRY": (7.0, 1.0), "SUP-IMPORT": (12.0, 2.0)}
TAIL_DAYS = 400  # demand drawn beyond the compressed live days, for a demo left running in real time


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    supplier: str
    kind: str  # a synthetic.KINDS demand kind: a grocery mix, mostly steady sellers
    pack: int
    cost: float


CATALOGUE = (
    Product("SKU-1001", "Jasmine rice 5kg", "SUP-DRY", "smooth", 4, 9.8),
    Product("SKU-1002", "Soy sauce 500ml", "SUP-DRY", "smooth", 12, 1.6),
    Product("SKU-1003", "Oolong tea", "SUP-IMPORT", "trend", 6, 6.5),
    Product("SKU-1004", "Instant noodles", "SUP-DRY", "promotion", 24, 0.55),
    Product("SKU-1005", "Sesame oil", "SUP-IMPORT", "smooth", 6, 3.2),
    Product("SKU-1006", "Dumplings 1kg", "SUP-FRESH", "promotion", 6, 4.9),
    Product("SKU-1007", "Green tea 100g", "SUP-IMPORT", "erratic", 6, 4.1),
    Product("SKU-1008", "Rice vinegar", "SUP-DRY", "intermittent", 6, 1.9),
    Product("SKU-1009", "Chili crisp", "SUP-FRESH", "level_shift", 12, 2.7),
    Product("SKU-1010", "Tofu 400g", "SUP-FRESH", "smooth", 10, 0.9),
    Product("SKU-1011", "Imported olive oil", "SUP-IMPORT", "trend", 6, 8.5),
    Product("SKU-1012", "Dark chocolate", "SUP-IMPORT", "intermittent", 12, 2.2),
)


def _env(name: str, default: float) -> float:
    value = os.environ.get(f"REPLENISH_DEMO_{name}")
    return float(value) if value else default


@dataclass(frozen=True)
class Settings:
    """How fast the demo runs. One demo day lasts `day_s` wall seconds for demand and lead times alike."""

    day_s: float = 20.0
    live_days: int = 30  # compressed days between the history and now; then the world runs in real time
    history_days: int = 60
    tick_s: float = 1.0
    approve_after_s: float = 4.0  # the planner looks at a PO waiting for approval this long, then approves it
    count_every_days: int = 7  # the WMS counts each series once a week (staggered over the week)
    target_fill: float = 0.95  # the baseline's goal when k = 0 already reaches the platform's fill (§9)
    review_days: float = 7.0  # the baseline's review period and the opening stock's order cycle
    seed: int = 7

    @classmethod
    def from_env(cls, **given: Any) -> Settings:
        """REPLENISH_DEMO_DAY_S and REPLENISH_DEMO_LIVE_DAYS, then anything given explicitly."""
        base = {"day_s": _env("DAY_S", cls.day_s), "live_days": int(_env("LIVE_DAYS", cls.live_days))}
        return cls(**{**base, **{k: v for k, v in given.items() if v is not None}})


class Clock:
    """Demo time: from the first live day's 00:00 it runs one day per `day_s` wall seconds until it meets the
    wall clock, then with it. Events carry demo time; the platform, on the wall clock, decides by event time."""

    def __init__(self, start: datetime, day_s: float) -> None:
        self.start, self.day_s = start, day_s
        self.wall0, self.started_at = time.monotonic(), datetime.now(UTC)

    def now(self) -> datetime:
        return self.at(self.started_at + timedelta(seconds=time.monotonic() - self.wall0))

    def at(self, wall: datetime) -> datetime:
        """The demo time of a wall-clock instant (the live start for anything before it)."""
        compressed = self.start + timedelta(days=max((wall - self.started_at).total_seconds(), 0.0) / self.day_s)
        return min(compressed, wall.astimezone(ZONE))

    @property
    def caught_up(self) -> bool:
        return self.now() >= datetime.now(UTC).astimezone(ZONE) - timedelta(seconds=1)

    def wall_s(self, days: float) -> float:
        """Wall seconds that `days` of demo time take from now (estimated: the pace may change at catch-up)."""
        return days * (86400.0 if self.caught_up else self.day_s)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=ZONE)


@dataclass
class World:
    """Every series' true daily demand over history, live days and tail; the opening stock at the live start."""

    keys: list[Key]
    products: dict[str, Product]
    first: date  # the first history day
    live_start: date  # the first live day (its 00:00 is where the demo clock starts)
    history_days: int
    demand: dict[Key, np.ndarray]
    promo: dict[Key, np.ndarray]
    uplift: dict[Key, float | None]  # a promotion series' true uplift: the planner announces it with its promotions
    opening: dict[Key, float]
    tag: str  # this run's id prefix: a second demo on the same data dir is not taken for duplicates

    def day(self, index: int) -> date:
        return self.first + timedelta(days=index)

    def index(self, day: date) -> int:
        return (day - self.first).days

    def lead(self, key: Key) -> tuple[float, float]:
        return SUPPLIERS[self.products[key[0]].supplier]

    def history(self, key: Key) -> np.ndarray:
        return self.demand[key][:self.history_days]

    def demand_on(self, key: Key, day: date) -> float:
        i = self.index(day)
        return float(self.demand[key][i]) if 0 <= i < len(self.demand[key]) else 0.0


def build(settings: Settings, now: datetime) -> World:
    """History of `history_days` ending where `live_days` compressed days start; those end today."""
    today = now.astimezone(ZONE).date()
    live_start = today - timedelta(days=settings.live_days)
    first = live_start - timedelta(days=settings.history_days)
    span = settings.history_days + settings.live_days + TAIL_DAYS
    keys, demand, promo, uplift, opening = [], {}, {}, {}, {}
    rng = random.Random(settings.seed)
    for s, store in enumerate(STORES):
        for i, p in enumerate(CATALOGUE):
            series = generate(1, span, seed=settings.seed * 10_000 + s * 100 + i, start=first,
                              mix={p.kind: 1.0}, location=store).series[0]
            key = (p.sku, store)
            keys.append(key)
            demand[key], promo[key] = series.demand.astype(float), series.promo.astype(float)
            uplift[key] = series.truth.params.get("uplift")
            h = settings.history_days
            opening[key] = _opening(series.truth.mean[h:], series.demand[:h], p, settings.review_days, rng.random())
    tag = "demo-" + now.strftime("%Y%m%dT%H%M%S")
    return World(keys, {p.sku: p for p in CATALOGUE}, first, live_start, settings.history_days, demand, promo,
                 uplift, opening, tag)


def _opening(expected: np.ndarray, history: np.ndarray, product: Product, review_days: float,
             cycle: float) -> float:
    """A well-run store at a random point of its weekly order cycle (`cycle` in [0, 1)): the expected demand
    (promotions and trends included) over the lead time and the rest of its cycle, plus two standard deviations
    of lead-time demand (demand and lead-time spread); at least a pack. It is not the platform's levels: the
    demo's starting shelf must not depend on what the demo is there to show."""
    lead, lead_std = SUPPLIERS[product.supplier]
    days = lead + cycle * review_days
    whole = int(days)
    mean = float(expected[:whole].sum() + (days - whole) * expected[whole])
    recent = history[-28:]
    sigma = math.sqrt(lead * recent.var() + (recent.mean() * lead_std) ** 2)
    return float(max(math.ceil(mean + 2 * sigma), product.pack))


def event(world: World, kind: str, source: str, name: str, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"{world.tag}:{name}", "source": f"demo/{source}", "type": kind, "time": when.isoformat(),
            "data": data}


def master_events(world: World) -> list[dict[str, Any]]:
    """Stores, suppliers, items and supplier items (lead times, their spread, packs). No `policy` event: the
    demo runs the platform's own default service levels."""
    when = at(world.first, 0)
    ev = [event(world, "location", "erp", f"location:{loc}", when, {
        "location": loc, "name": name, "kind": "store", "timezone": TIMEZONE, "country": COUNTRY})
        for loc, name in STORES.items()]
    ev += [event(world, "supplier", "erp", f"supplier:{s}", when, {
        "supplier_id": s, "name": s.split("-")[1].title(), "email": f"{s.lower()}@example.test"}) for s in SUPPLIERS]
    for p in CATALOGUE:
        lead, std = SUPPLIERS[p.supplier]
        ev.append(event(world, "item", "erp", f"item:{p.sku}", when, {
            "sku": p.sku, "name": p.name, "base_unit": "each", "category": "grocery",
            "unit_conversions": {"case": p.pack}, "aliases": [f"69{p.sku[4:]}000"], "unit_cost": p.cost}))
        ev.append(event(world, "supplier_item", "erp", f"supplier_item:{p.sku}", when, {
            "supplier_id": p.supplier, "sku": p.sku, "lead_time_days": lead, "lead_time_std_days": std,
            "moq": p.pack, "pack_size": p.pack, "unit_cost": p.cost, "primary": True}))
    return ev


def promotions(world: World) -> list[tuple[date, dict[str, Any]]]:
    """(announcement day, event) of every promoted run, announced 28 days ahead (never before the first day)."""
    days = [world.day(i) for i in range(len(next(iter(world.demand.values()))))]
    out = []
    for key in world.keys:
        for start, end in promotion_runs(days, list(world.promo[key])):
            day = announced_on(start, world.first)
            data = {"sku": key[0], "location": key[1], "start": start.isoformat(), "end": end.isoformat()}
            if world.uplift.get(key):  # the planner's estimate: the true uplift, to one decimal
                data["expected_uplift"] = round(world.uplift[key], 1)
            out.append((day, event(world, "promotion", "planner", f"promo:{key[1]}:{key[0]}:{start}", at(day, 8),
                                   data)))
    return sorted(out, key=lambda x: (x[0], x[1]["id"]))


def first_count(world: World) -> dict[Key, float]:
    """§9's count before the history: Σ history demand + opening stock + 1, so no history day is censored."""
    return {key: float(world.history(key).sum()) + world.opening[key] + 1 for key in world.keys}


def setup_events(world: World) -> list[dict[str, Any]]:
    """Master data and the count before the history: they must be applied before the first sale (below)."""
    return master_events(world) + [event(world, "stock_count", "wms", f"count:pre:{loc}:{sku}", at(world.first, 0), {
        "sku": sku, "location": loc, "on_hand": on_hand}) for (sku, loc), on_hand in first_count(world).items()]


def history_events(world: World) -> list[dict[str, Any]]:
    """One sale per series and day at 12:00, each day closed at 23:59:59 (promotions announced on their day),
    then the opening count at 00:00 of the first live day."""
    ev: list[dict[str, Any]] = []
    announced = [(d, e) for d, e in promotions(world) if d < world.live_start]
    for i in range(world.history_days):
        day = world.day(i)
        ev += [e for d, e in announced if d == day]
        ev += [event(world, "sale", f"pos/{loc}", f"sale:{loc}:{sku}:{day}", at(day, 12), {
            "sku": sku, "location": loc, "quantity": float(world.demand[(sku, loc)][i])})
            for sku, loc in world.keys if world.demand[(sku, loc)][i] > 0]
        ev += [day_close(world, loc, day) for loc in STORES]
    ev += [event(world, "stock_count", "wms", f"count:opening:{loc}:{sku}", at(world.live_start, 0), {
        "sku": sku, "location": loc, "on_hand": world.opening[(sku, loc)]}) for sku, loc in world.keys]
    return ev


def day_close(world: World, location: str, day: date) -> dict[str, Any]:
    return event(world, "day_close", "wms", f"close:{location}:{day}", at(day, 23, 59, 59), {
        "location": location, "date": day.isoformat()})
