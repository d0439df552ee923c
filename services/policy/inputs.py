"""Everything the decider reads for a pass of keys: four statements whatever the key count.

Each statement takes the keys as arrays (unnest / = ANY) through `text`, which SQLAlchemy compiles once: a
per-key select would cost more in client-side compilation and round trips than the database spends answering.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.policy.domain.assemble import HISTORY_DAYS, local_day_in
from services.policy.domain.model import AlertState
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
    waiting: float = 0.0        # unconfirmed reorders counted in on_order
    expired_reorders: int = 0   # unconfirmed reorders past their time to live, no longer counted
    alerts: dict[str, AlertState] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return self.location, self.sku

    @property
    def reorder_id(self) -> str:
        return reorder_id(self.location, self.sku, self.day)


def _arrays(keys: list[Key]) -> dict[str, list[str]]:
    return {"locs": [k[0] for k in keys], "skus": [k[1] for k in keys]}


async def read_inputs(session: AsyncSession, keys: list[Key], *, reorder_ttl_h: float = 24.0,
                      as_of: datetime | None = None) -> list[KeyInputs]:
    """Inputs of the keys that have stock in event time, in the order given (keys without one are skipped):
    one statement for everything keyed by the key or its SKU, then its alert states and the two reads that
    depend on its decision day. An unconfirmed reorder counts as on order for `reorder_ttl_h` hours of wall
    clock after policy emitted it: a timeout on orders listing it in a PO, not a decision about the past (in
    event time a replay of history would expire every reorder before its PO could exist)."""
    statement = KEY_INPUTS if as_of is None else KEY_INPUTS_AS_OF
    params = {**_arrays(keys), "open": list(OPEN_PO_STATUSES), "ttl": reorder_ttl_h * 3600.0}
    rows = await session.execute(text(statement), params if as_of is None else {**params, "as_of": as_of})
    out = [_key_inputs(r, as_of) for r in rows]
    await _add_history(session, [k for k in out if not (k.forecast and k.forecast.get("horizon"))])
    await _add_taken(session, out)
    await _add_alerts(session, out)
    return out


# Per key: stock and the location's zone, item, primary supplier item (else any; ties by supplier id) and its
# learned lead times, forecast, segment, open PO lines and unconfirmed reorders, promotions here or
# everywhere, inbound lanes with the sender's stored position. Lists come as parallel arrays in a
# fixed order so every value keeps its PostgreSQL type (jsonb is decoded inside arrays too).
# A PO line's open quantity less what the warehouse already booked against it (receipts with its po_id, up to the
# decision) beyond what orders has seen received: the same receipt never counts on hand AND on order, whichever of
# the two streams policy read first.
RECEIVED_BY = "CAST('infinity' AS timestamptz)"
KEY_INPUTS = f"""
SELECT s.location, s.sku, s.count_on_hand, s.delta_since_count, s.last_event_at, s.last_sale_at,
  loc.data->>'timezone' AS tz, it.data AS item, si.data AS si, lt.n, lt.mean, lt.std, f.payload AS forecast,
  g.abc, g.xyz, g.pattern, po.qty, po.expected, ro.waiting, ro.expired, pr.promos, ln.senders, ln.lanes,
  ln.sender_positions
FROM {KEYS}
JOIN policy.stock s ON s.location = v.location AND s.sku = v.sku
LEFT JOIN policy.locations loc ON loc.location = s.location
LEFT JOIN policy.items it ON it.sku = s.sku
LEFT JOIN LATERAL (SELECT x.data FROM policy.supplier_items x WHERE x.sku = s.sku
  ORDER BY x."primary" DESC NULLS LAST, x.supplier_id LIMIT 1) si ON true
LEFT JOIN LATERAL (SELECT count(*) AS n, avg(x.days) AS mean, COALESCE(stddev_samp(x.days), 0.0) AS std
  FROM policy.lead_times x WHERE x.supplier_id = si.data->>'supplier_id' AND x.sku = si.data->>'sku') lt ON true
LEFT JOIN policy.forecasts f ON f.location = s.location AND f.sku = s.sku
LEFT JOIN policy.segments g ON g.location = s.location AND g.sku = s.sku
LEFT JOIN LATERAL (SELECT array_agg(GREATEST(x.open_quantity - GREATEST(COALESCE(
    (SELECT SUM(r.delta) FROM policy.ledger r WHERE r.po_id = x.po_id AND r.location = x.location AND r.sku = x.sku
     AND r.delta > 0 AND r.event_time <= {RECEIVED_BY}), 0.0) - x.received_quantity, 0.0), 0.0)
    ORDER BY x.po_id) AS qty,
  array_agg(x.expected_date ORDER BY x.po_id) AS expected FROM policy.po_lines x
  WHERE x.location = s.location AND x.sku = s.sku AND x.status = ANY(CAST(:open AS text[]))) po ON true
LEFT JOIN LATERAL (SELECT SUM(x.quantity) FILTER (WHERE x.created_at > now() - make_interval(secs => :ttl))
  AS waiting, count(*) FILTER (WHERE x.created_at <= now() - make_interval(secs => :ttl)) AS expired
  FROM policy.reorders x WHERE x.location = s.location AND x.sku = s.sku AND x.status = 'open') ro ON true
LEFT JOIN LATERAL (SELECT array_agg(x.data ORDER BY x.location, x.start) AS promos FROM policy.promotions x
  WHERE x.sku = s.sku AND x.location IN (s.location, '*')) pr ON true
LEFT JOIN LATERAL (SELECT array_agg(x.from_location ORDER BY x.from_location) AS senders,
  array_agg(x.data ORDER BY x.from_location) AS lanes, array_agg(p.data ORDER BY x.from_location) AS sender_positions
  FROM policy.lanes x LEFT JOIN policy.positions p ON p.location = x.from_location AND p.sku = s.sku
  WHERE x.to_location = s.location) ln ON true
WHERE s.last_event_at IS NOT NULL
ORDER BY v.n
"""
# On-hand as of :as_of: the latest of the last count at or before it and the on-hand the previous closed-day
# decision saw (a count at the same instant wins), plus the ledger's movements after that up to :as_of. Only
# a day's movements are summed in a replay, whatever was applied of later days.
ON_HAND_AS_OF = """
LEFT JOIN LATERAL (SELECT c.count_at, c.on_hand FROM policy.counts c WHERE c.location = s.location
  AND c.sku = s.sku AND c.count_at <= CAST(:as_of AS timestamptz) ORDER BY c.count_at DESC LIMIT 1) cc ON true
LEFT JOIN LATERAL (SELECT CASE WHEN s.snap_at IS NOT NULL AND s.snap_at <= CAST(:as_of AS timestamptz)
    AND (cc.count_at IS NULL OR s.snap_at > cc.count_at) THEN s.snap_at ELSE cc.count_at END AS at,
  CASE WHEN s.snap_at IS NOT NULL AND s.snap_at <= CAST(:as_of AS timestamptz)
    AND (cc.count_at IS NULL OR s.snap_at > cc.count_at) THEN s.snap_on_hand ELSE cc.on_hand END AS base) b ON true
LEFT JOIN LATERAL (SELECT COALESCE(b.base, 0.0) AS base, COALESCE(SUM(l.delta), 0.0) AS delta FROM policy.ledger l
  WHERE l.location = s.location AND l.sku = s.sku AND l.event_time <= CAST(:as_of AS timestamptz)
  AND (b.at IS NULL OR l.event_time > b.at)) oh ON true
"""
# Under the event clock (docs/clock.md) a key is decided as of its closed day's end `:as_of`: the forecast is
# the latest one made before that day began (as of D - 1 or earlier), and an unconfirmed reorder's time to live
# runs in event time from its decision.
KEY_INPUTS_AS_OF = KEY_INPUTS.replace(RECEIVED_BY, "CAST(:as_of AS timestamptz)").replace(
    "SELECT s.location, s.sku, s.count_on_hand, s.delta_since_count,",
    "SELECT s.location, s.sku, oh.base AS count_on_hand, oh.delta AS delta_since_count,").replace(
    "LEFT JOIN policy.locations loc ON loc.location = s.location",
    "LEFT JOIN policy.locations loc ON loc.location = s.location " + ON_HAND_AS_OF).replace(
    "LEFT JOIN policy.forecasts f ON f.location = s.location AND f.sku = s.sku",
    "LEFT JOIN LATERAL (SELECT h.payload FROM policy.forecast_history h WHERE h.location = s.location "
    "AND h.sku = s.sku AND h.as_of < CAST(CAST(:as_of AS timestamptz) AT TIME ZONE "
    "COALESCE(loc.data->>'timezone', 'UTC') AS date) ORDER BY h.as_of DESC LIMIT 1) f ON true").replace(
    "x.created_at > now() - make_interval(secs => :ttl)",
    "x.decided_at > CAST(:as_of AS timestamptz) - make_interval(secs => :ttl)").replace(
    "x.created_at <= now() - make_interval(secs => :ttl)",
    "x.decided_at <= CAST(:as_of AS timestamptz) - make_interval(secs => :ttl)")


def _key_inputs(r: Any, as_of: datetime | None = None) -> KeyInputs:
    """One row of KEY_INPUTS as the key's inputs; backorder stays 0 (stores lose unserved sales: a sale is
    only recorded when it is served). `as_of` is the closed day's end under the event clock."""
    at = as_of or r.last_event_at
    k = KeyInputs(location=r.location, sku=r.sku, on_hand=(r.count_on_hand or 0.0) + r.delta_since_count,
                  as_of=at, last_sale_at=r.last_sale_at, day=local_day_in(r.tz, at),
                  item=r.item or {}, si=r.si, forecast=r.forecast,
                  segment=r if r.abc is not None else None,
                  promotions=list(r.promos or ()))
    lines = list(zip(r.qty or (), r.expected or (), strict=True))
    k.waiting, k.expired_reorders = float(r.waiting or 0.0), int(r.expired or 0)
    k.on_order = sum(q for q, _ in lines) + k.waiting
    k.arrivals = [(d, q) for q, d in lines if d]
    if k.si:
        k.receipts = (int(r.n), float(r.mean or 0), float(r.std or 0))
    k.lanes = [(sender, lane, pos) for sender, lane, pos
               in zip(r.senders or (), r.lanes or (), r.sender_positions or (), strict=True)]
    return k


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
        " AND d.day >= GREATEST(f.first, v.since) AND d.day < v.since + CAST(:span AS int)"),
        {**_arrays([k.key for k in cold]), "since": [k.day - timedelta(days=HISTORY_DAYS - 1) for k in cold],
         "span": HISTORY_DAYS})  # never a day after the decision's (a history posted at once is all applied)
    by_key = {k.key: k for k in cold}
    for r in rows:
        k = by_key[(r.location, r.sku)]
        k.first_sale = r.first
        if r.day is not None:
            k.sales[r.day] = r.quantity










async def _add_taken(session: AsyncSession, out: list[KeyInputs]) -> None:
    """Keys already decided a reorder on their decision day (a reorder id is never emitted twice)."""
    ids = [k.reorder_id for k in out]
    taken = {r.reorder_id for r in await session.execute(text(
        "SELECT reorder_id FROM policy.reorders WHERE reorder_id = ANY(CAST(:ids AS text[]))"), {"ids": ids})}
    for k in out:
        k.reordered_today = k.reorder_id in taken


async def _add_alerts(session: AsyncSession, out: list[KeyInputs]) -> None:
    """Stored alert states of every alert type of every key. One lookup for the whole pass: inside the
    per-key statement, a small alert table without statistics is scanned once per key."""
    names = {f"{t}:{k.location}:{k.sku}": k for k in out for t in ALERT_TYPES}
    rows = await session.execute(text(
        "SELECT key, status, severity, since FROM policy.alert_states WHERE key = ANY(CAST(:keys AS text[]))"),
        {"keys": list(names)})
    for r in rows:
        names[r.key].alerts[r.key] = AlertState(r.status, r.severity, r.since)


async def read_rules(session: AsyncSession) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The current rules document (None before the first) and every override by scope, in one statement."""
    row = (await session.execute(text(
        "SELECT (SELECT doc FROM policy.rules ORDER BY version DESC LIMIT 1) AS doc, "
        "ARRAY(SELECT data FROM policy.overrides ORDER BY scope) AS overrides"))).one()
    return row.doc, list(row.overrides)
