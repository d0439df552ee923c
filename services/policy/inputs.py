"""Everything the decider reads for a pass of keys, in a fixed number of statements whatever the key count.

Each statement takes the keys as arrays (unnest / = ANY) through `text`, which SQLAlchemy compiles once: a
per-key select would cost more in client-side compilation than the database spends answering it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.domain.assemble import HISTORY_DAYS, local_day_in
from services.policy.domain.reorder import reorder_id
from services.policy.repository import OPEN_PO_STATUSES

Key = tuple[str, str]
ALERT_TYPES = ("stockout_risk", "below_safety_stock", "stockout", "overstock", "dead_stock")
KEYS = "unnest(CAST(:locs AS text[]), CAST(:skus AS text[])) WITH ORDINALITY AS v(location, sku, n)"


@dataclass
class KeyInputs:
    """What one key's decision reads; `lanes` are (sender, lane, sender's stored position or None)."""

    location: str
    sku: str
    on_hand: float
    as_of: datetime
    last_sale_at: datetime | None
    day: date
    item: dict[str, Any] = field(default_factory=dict)
    si: dict[str, Any] | None = None
    on_order: float = 0.0
    arrivals: list[tuple[date, float]] = field(default_factory=list)
    forecast: dict[str, Any] | None = None
    first_sale: date | None = None
    sales: dict[date, float] = field(default_factory=dict)
    receipts: tuple[int, float, float] = (0, 0.0, 0.0)
    segment: Any = None
    promotions: list[dict[str, Any]] = field(default_factory=list)
    lanes: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)
    reordered_today: bool = False
    alerts: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return self.location, self.sku

    @property
    def reorder_id(self) -> str:
        return reorder_id(self.location, self.sku, self.day)


def _arrays(keys: list[Key]) -> dict[str, list[str]]:
    return {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys]}


async def read_inputs(session: AsyncSession, keys: list[Key]) -> list[KeyInputs]:
    """Inputs of the keys that have stock in event time, in the order given (keys without one are skipped)."""
    found = await _stock(session, keys)
    if not found:
        return []
    out = list(found.values())
    keyed = [k.key for k in out]
    skus = sorted({k.sku for k in out})
    await _add_master(session, out, skus)
    await _add_on_order(session, found, keyed)
    await _add_forecasts(session, found, keyed)
    await _add_history(session, [k for k in out if not (k.forecast and k.forecast.get("horizon"))])
    await _add_receipts(session, out)
    await _add_segments(session, found, keyed)
    await _add_promotions(session, out, skus)
    await _add_lanes(session, found, keyed)
    await _add_taken(session, out)
    await _add_alerts(session, out)
    return out


async def _stock(session: AsyncSession, keys: list[Key]) -> dict[Key, KeyInputs]:
    rows = await session.execute(text(
        f"SELECT s.location, s.sku, s.count_on_hand, s.delta_since_count, s.last_event_at, s.last_sale_at, "
        f"l.data->>'timezone' AS tz FROM {KEYS} JOIN policy.stock s ON s.location = v.location AND s.sku = v.sku "
        "LEFT JOIN policy.locations l ON l.location = s.location "
        "WHERE s.last_event_at IS NOT NULL ORDER BY v.n"), _arrays(keys))
    # backorder stays 0: stores lose unserved sales (a sale is only recorded when it is served)
    return {(r.location, r.sku): KeyInputs(
        location=r.location, sku=r.sku, on_hand=(r.count_on_hand or 0.0) + r.delta_since_count,
        as_of=r.last_event_at, last_sale_at=r.last_sale_at, day=local_day_in(r.tz, r.last_event_at))
        for r in rows}


async def _add_master(session: AsyncSession, out: list[KeyInputs], skus: list[str]) -> None:
    """Item data, and the primary supplier item of each SKU (else any; ties by supplier id)."""
    items = {r.sku: r.data for r in await session.execute(text(
        "SELECT sku, data FROM policy.items WHERE sku = ANY(CAST(:skus AS text[]))"), {"skus": skus})}
    supplier = {r.sku: r.data for r in await session.execute(text(
        'SELECT DISTINCT ON (sku) sku, data FROM policy.supplier_items WHERE sku = ANY(CAST(:skus AS text[])) '
        'ORDER BY sku, "primary" DESC NULLS LAST, supplier_id'), {"skus": skus})}
    for k in out:
        k.item, k.si = items.get(k.sku) or {}, supplier.get(k.sku)


async def _add_on_order(session: AsyncSession, found: dict[Key, KeyInputs], keys: list[Key]) -> None:
    """Open PO quantity plus reorders emitted that no PO has confirmed yet (so nothing is ordered twice)."""
    lines = await session.execute(text(
        f"SELECT p.location, p.sku, p.open_quantity, p.expected_date FROM {KEYS} JOIN policy.po_lines p "
        "ON p.location = v.location AND p.sku = v.sku WHERE p.status = ANY(CAST(:open AS text[])) "
        "ORDER BY v.n, p.po_id"), {**_arrays(keys), "open": list(OPEN_PO_STATUSES)})
    for r in lines:
        k = found[(r.location, r.sku)]
        k.on_order += r.open_quantity
        if r.expected_date:
            k.arrivals.append((r.expected_date, r.open_quantity))
    waiting = await session.execute(text(
        f"SELECT r.location, r.sku, SUM(r.quantity) AS quantity FROM {KEYS} JOIN policy.reorders r "
        "ON r.location = v.location AND r.sku = v.sku WHERE r.status = 'open' GROUP BY r.location, r.sku"),
        _arrays(keys))
    for r in waiting:
        found[(r.location, r.sku)].on_order += float(r.quantity)


async def _add_forecasts(session: AsyncSession, found: dict[Key, KeyInputs], keys: list[Key]) -> None:
    rows = await session.execute(text(
        f"SELECT f.location, f.sku, f.payload FROM {KEYS} JOIN policy.forecasts f "
        "ON f.location = v.location AND f.sku = v.sku"), _arrays(keys))
    for r in rows:
        found[(r.location, r.sku)].forecast = r.payload


async def _add_history(session: AsyncSession, cold: list[KeyInputs]) -> None:
    """First sale day and the daily sales of the fallback window of keys without a forecast."""
    if not cold:
        return
    rows = await session.execute(text(
        "SELECT v.location, v.sku, f.first, d.day, d.quantity "
        "FROM unnest(CAST(:locs AS text[]), CAST(:skus AS text[]), CAST(:since AS date[])) AS v(location, sku, since) "
        "CROSS JOIN LATERAL (SELECT min(day) AS first FROM policy.daily_sales s "
        " WHERE s.location = v.location AND s.sku = v.sku) f "
        "LEFT JOIN policy.daily_sales d ON d.location = v.location AND d.sku = v.sku "
        " AND d.day >= GREATEST(f.first, v.since)"),
        {**_arrays([k.key for k in cold]), "since": [k.day - timedelta(days=HISTORY_DAYS - 1) for k in cold]})
    by_key = {k.key: k for k in cold}
    for r in rows:
        k = by_key[(r.location, r.sku)]
        k.first_sale = r.first
        if r.day is not None:
            k.sales[r.day] = r.quantity


async def _add_receipts(session: AsyncSession, out: list[KeyInputs]) -> None:
    """Learned lead times (count, mean, sample std of sent→received days) per supplier item."""
    pairs = sorted({(k.si["supplier_id"], k.si["sku"]) for k in out if k.si})
    if not pairs:
        return
    rows = await session.execute(text(
        "SELECT v.supplier_id, v.sku, count(l.days) AS n, avg(l.days) AS mean, "
        "COALESCE(stddev_samp(l.days), 0.0) AS std "
        "FROM unnest(CAST(:sups AS text[]), CAST(:skus AS text[])) AS v(supplier_id, sku) "
        "LEFT JOIN policy.lead_times l ON l.supplier_id = v.supplier_id AND l.sku = v.sku "
        "GROUP BY v.supplier_id, v.sku"), {"sups": [p[0] for p in pairs], "skus": [p[1] for p in pairs]})
    stats = {(r.supplier_id, r.sku): (int(r.n), float(r.mean or 0), float(r.std or 0)) for r in rows}
    for k in out:
        if k.si:
            k.receipts = stats.get((k.si["supplier_id"], k.si["sku"]), (0, 0.0, 0.0))


async def _add_segments(session: AsyncSession, found: dict[Key, KeyInputs], keys: list[Key]) -> None:
    rows = await session.execute(text(
        f"SELECT g.location, g.sku, g.abc, g.xyz, g.pattern FROM {KEYS} JOIN policy.segments g "
        "ON g.location = v.location AND g.sku = v.sku"), _arrays(keys))
    for r in rows:
        found[(r.location, r.sku)].segment = r


async def _add_promotions(session: AsyncSession, out: list[KeyInputs], skus: list[str]) -> None:
    """Promotions of the SKU at the key's location or at every location ("*"); the day filter is the caller's."""
    rows = await session.execute(text(
        'SELECT location, sku, data FROM policy.promotions WHERE sku = ANY(CAST(:skus AS text[])) '
        'ORDER BY sku, location, start'), {"skus": skus})
    by_sku: dict[str, list[Any]] = defaultdict(list)
    for r in rows:
        by_sku[r.sku].append(r)
    for k in out:
        k.promotions = [r.data for r in by_sku.get(k.sku, ()) if r.location in (k.location, "*")]


async def _add_lanes(session: AsyncSession, found: dict[Key, KeyInputs], keys: list[Key]) -> None:
    """Inbound lanes with the sender's stored position (None when it has none yet: this pass may add it)."""
    rows = await session.execute(text(
        f"SELECT v.location, v.sku, l.from_location AS sender, l.data, p.data AS pos FROM {KEYS} "
        "JOIN policy.lanes l "
        "ON l.to_location = v.location LEFT JOIN policy.positions p "
        "ON p.location = l.from_location AND p.sku = v.sku ORDER BY v.n, l.from_location"), _arrays(keys))
    for r in rows:
        found[(r.location, r.sku)].lanes.append((r.sender, r.data, r.pos))


async def _add_taken(session: AsyncSession, out: list[KeyInputs]) -> None:
    """Keys already decided a reorder on their decision day (a reorder id is never emitted twice)."""
    ids = [k.reorder_id for k in out]
    taken = {r.reorder_id for r in await session.execute(text(
        "SELECT reorder_id FROM policy.reorders WHERE reorder_id = ANY(CAST(:ids AS text[]))"), {"ids": ids})}
    for k in out:
        k.reordered_today = k.reorder_id in taken


async def _add_alerts(session: AsyncSession, out: list[KeyInputs]) -> None:
    """Stored alert states (status, severity, since) of every alert type of every key."""
    names = {f"{t}:{k.location}:{k.sku}": k for k in out for t in ALERT_TYPES}
    rows = await session.execute(text(
        "SELECT key, status, severity, since FROM policy.alert_states WHERE key = ANY(CAST(:keys AS text[]))"),
        {"keys": list(names)})
    for r in rows:
        names[r.key].alerts[r.key] = r
