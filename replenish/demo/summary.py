"""What the live summary shows: the true shelf's fill and stockouts next to §9's static min/max on the same live
demand, and the platform's own view (positions, POs by status, alerts, the chat)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table

from replenish.demo.live import Store, fill
from replenish.demo.world import Settings, World
from replenish.replay import baseline
from replenish.replay.platform_io import PlatformIO

PO_ORDER = ("proposed", "pending_approval", "approved", "sent", "acknowledged", "shipped", "partially_received",
            "received", "rejected", "cancelled")
POSITION_ORDER = ("ok", "watch", "critical", "stockout", "overstock")


@dataclass
class Comparison:
    """The platform and §9's baseline over the same completed live days (one k for all series)."""

    days: int
    fill: float
    mean_on_hand: float
    k: float | None
    baseline_fill: float | None
    baseline_on_hand: float | None
    dominates: bool

    @property
    def vs_baseline(self) -> float | None:
        return 1 - self.mean_on_hand / self.baseline_on_hand if self.baseline_on_hand else None


def compare(world: World, store: Store, settings: Settings, today: date) -> Comparison | None:
    """§9's baseline simulated on the live days before `today`: same demand, opening stock, lead-time draws and
    lost sales; min = k × mean history demand × L, max = min + mean × review days; the smallest k reaching the
    platform's fill (or the target, when k = 0 already does)."""
    rows = store.rows(before=today)
    days = sorted({r["date"] for r in rows})
    if not days:
        return None
    platform_fill, _, _ = fill(rows)
    on_hand = float(np.mean([sum(r["on_hand_end"] for r in rows if r["date"] == d) for d in days]))
    keys = world.keys
    leads = [world.lead(k) for k in keys]
    w = baseline.World(keys, days, np.array([[world.demand_on(k, d) for d in days] for k in keys]),
                       np.array([world.history(k).mean() for k in keys]),
                       np.array([world.opening[k] for k in keys]),
                       baseline.lead_matrix(keys, days, seed=settings.seed, lead_times=leads),
                       np.array([float(world.products[k[0]].pack) for k in keys]),
                       np.array([lead for lead, _ in leads]), settings.review_days)
    dominates = baseline.simulate(w, 0.0).fill_rate >= platform_fill
    k, out = baseline.bisect_k(w, settings.target_fill if dominates else platform_fill)
    return Comparison(len(days), platform_fill, on_hand, k if out else None, out.fill_rate if out else None,
                      out.mean_on_hand if out else None, dominates)


@dataclass
class View:
    """The platform's side, read through its HTTP API."""

    positions: Counter = field(default_factory=Counter)
    purchase_orders: Counter = field(default_factory=Counter)
    latest: list[dict[str, Any]] = field(default_factory=list)
    alerts_firing: int = 0


async def read_view(io: PlatformIO) -> View:
    positions = await io.call("GET", "policy", "/v1/positions", params={"limit": 1000})
    pos = await io.purchase_orders()
    alerts = await io.call("GET", "notify", "/v1/alerts", params={"status": "firing"})
    return View(Counter(p["status"] for p in positions["items"]), Counter(p["status"] for p in pos),
                sorted(pos, key=lambda p: p.get("created_at") or "")[-5:], len(alerts.get("items", [])))


def _counts(counter: Counter, order: tuple[str, ...]) -> str:
    return " · ".join(f"{name} {counter[name]}" for name in order if counter[name]) or "none yet"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def _less(vs: float | None) -> str:
    if vs is None:
        return "–"
    return f"platform holds {_pct(vs)} less stock" if vs >= 0 else f"platform holds {_pct(-vs)} more stock"


def render(*, now: datetime, live_day: float, caught_up: bool, settings: Settings, store: Store, view: View,
           comparison: Comparison | None, worst: float | None, chat: list[dict] | None) -> Group:
    rate, served, demand = fill(store.rows())
    pace = "real time (caught up with now)" if caught_up else f"{settings.day_s:g} s a day"
    head = Table(title=f"Replenish demo — {now:%Y-%m-%d %H:%M} {now.tzname()} · live day {live_day:.1f} · {pace}",
                 show_header=False, title_justify="left")
    head.add_column("what", style="bold")
    head.add_column("value")
    head.add_row("live fill (true shelf)", f"{_pct(rate)}  — served {served:,.0f} of {demand:,.0f} units demanded")
    if comparison and comparison.baseline_on_hand is not None:
        head.add_row(f"vs §9 static min/max ({comparison.days} whole days)",
                     f"platform fill {_pct(comparison.fill)}, mean on-hand {comparison.mean_on_hand:,.0f} · "
                     f"min/max k={comparison.k:.2f}: fill {_pct(comparison.baseline_fill)}, mean on-hand "
                     f"{comparison.baseline_on_hand:,.0f} ({_less(comparison.vs_baseline)})"
                     + (" · min/max dominates: compared at the target fill" if comparison.dominates else ""))
    else:
        head.add_row("vs §9 static min/max", "after the first whole live day")
    out = sum(1 for k in store.world.keys if store.shelf.on_hand(k) <= 0)
    head.add_row("stockout now (true shelf)", f"{out} of {len(store.world.keys)} ({_pct(store.stockout_share())})"
                 f" · worst sample after the first minute {_pct(worst)}")
    head.add_row("positions by status", _counts(view.positions, POSITION_ORDER))
    head.add_row("purchase orders", _counts(view.purchase_orders, PO_ORDER))
    head.add_row("alerts", f"firing {view.alerts_firing} · delivered to the demo chat "
                 f"{len(chat) if chat is not None else '-'}")
    recent = Table(title="latest purchase orders and chat messages", title_justify="left")
    recent.add_column("what")
    recent.add_column("detail")
    for po in view.latest:
        recent.add_row(f"PO {po.get('po_id')}", f"{po.get('status')} · {po.get('supplier_id')} · "
                       f"{len(po.get('lines', []))} lines · total {po.get('total')}")
    for message in (chat or [])[-4:]:
        recent.add_row("chat", str(message.get("title") or message.get("message") or message)[:100])
    return Group(head, recent)
