"""A decider pass over many keys decides exactly as deciding them one at a time, on the real PostgreSQL."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy import text as sa_text

from services.policy import decide as decide_module
from services.policy import models, wake
from services.policy import repository as repo
from services.policy.batch import apply_batch
from services.policy.decide import decide_keys, recompute
from services.policy.decider import decide_dirty, pause, pause_s
from shared.db.engine import make_engine, make_sessionmaker
from shared.db.uow import UnitOfWork
from shared.events.envelope import make_envelope

pytestmark = pytest.mark.integration
T0 = datetime(2026, 9, 1, tzinfo=UTC)
LAST = T0 + timedelta(days=60, hours=12)  # the last setup sale; the pass's events come later that day


class Copy:
    """One copy of the mixed state under its own names (prefix), built through the real handlers."""

    def __init__(self, url: str) -> None:
        self.p = f"b{uuid.uuid4().hex[:8]}"
        self.store, self.dc = f"{self.p}-store", f"{self.p}-dc"
        self.engine = make_engine(url)
        self.sessionmaker = make_sessionmaker(self.engine)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, models.outbox, models.inbox, source="test/policy")

    def sku(self, name: str) -> str:
        return f"{self.p}-{name}"

    async def decide(self) -> None:
        """Decide every key of this copy (decide_dirty would also decide the other copy's pending keys)."""
        async with self.uow() as uow:
            await decide_keys(uow, [(loc, self.sku(n)) for loc in (self.dc, self.store) for n in "FHPRAX"])

    async def send(self, *events: tuple[str, dict[str, Any], datetime]) -> None:
        envs = [make_envelope(source="test", type=t, time=at, data=data, id=str(uuid.uuid4()))
                for t, data, at in events]
        async with self.uow() as uow:
            await apply_batch(uow, envs)

    def master(self, kind: str, data: dict[str, Any]) -> tuple[str, dict[str, Any], datetime]:
        return f"replenish.ingest.{kind}", {"type": kind, "time": T0.isoformat(), "data": data}, T0

    def stock(self, kind: str, sku: str, at: datetime, location: str | None = None,
              **extra: Any) -> tuple[str, dict[str, Any], datetime]:
        data = {"event_id": f"{self.p}-{uuid.uuid4().hex}", "source": "test", "type": kind, "sku": self.sku(sku),
                "location": location or self.store, "time": at.isoformat(), **extra}
        topic = "sale" if kind == "sale" else kind
        return f"replenish.ingest.{topic}", data, at

    def po(self, po_id: str, sku: str, status: str, qty: float, reorder_id: str | None = None,
           received_days: float | None = None):
        received = {"sent_at": T0.isoformat(), "received_at": (T0 + timedelta(days=received_days)).isoformat()
                    } if received_days else {}
        return "replenish.orders.purchase_order", {
            "po_id": f"{self.p}-{po_id}", "supplier_id": "SUP-1", "status": status, "total": qty * 2.5, **received,
            "created_at": T0.isoformat(), "eta": (LAST + timedelta(days=3)).date().isoformat(),
            "lines": [{"sku": self.sku(sku), "location": self.store, "quantity": qty, "unit_cost": 2.5,
                       "received_quantity": 0, "reorder_id": reorder_id}]}, T0


async def build(c: Copy) -> list[tuple[str, str]]:
    """Setup decided as it arrives; then the pass's inputs, left dirty. Returns the pass's keys."""
    masters = [c.master("location", {"location": loc, "name": loc, "kind": kind, "timezone": "Europe/Paris"})
               for loc, kind in ((c.store, "store"), (c.dc, "warehouse"))]
    for name in "FHPRAX":
        masters.append(c.master("item", {"sku": c.sku(name), "name": name, "base_unit": "each",
                                         "category": "grocery", "unit_cost": 2.5}))
    for name in "FHPRA":  # X has no supplier: only a transfer can refill it
        masters.append(c.master("supplier_item", {"supplier_id": "SUP-1", "sku": c.sku(name), "lead_time_days": 7,
                                                  "moq": 12, "pack_size": 12, "unit_cost": 2.5, "primary": True}))
    masters.append(c.master("lane", {"from_location": c.dc, "to_location": c.store, "lead_time_days": 1,
                                     "unit_cost": 0.5}))
    await c.send(*masters)
    horizon = [{"date": (LAST + timedelta(days=d)).date().isoformat(), "mean": 12.0, "p10": 6.0, "p50": 12.0,
                "p90": 18.0} for d in range(1, 29)]
    await c.send(("replenish.forecast.demand", {"sku": c.sku("F"), "location": c.store, "model": "ets",
                                                "as_of": LAST.date().isoformat(), "generated_at": LAST.isoformat(),
                                                "horizon": horizon}, LAST),
                 ("replenish.ingest.promotion", {"sku": c.sku("F"), "location": c.store, "kind": "price",
                                                 "start": (LAST + timedelta(days=2)).date().isoformat(),
                                                 "end": (LAST + timedelta(days=4)).date().isoformat(),
                                                 "expected_uplift": 2.0}, LAST))
    await c.send(*[c.stock("stock_count", n, T0, on_hand=620) for n in "FHPRA"],
                 c.stock("stock_count", "X", T0, on_hand=100))
    await c.send(*[c.stock("sale", n, T0 + timedelta(days=d + 1, hours=12), quantity=10)
                   for n in "FHPRA" for d in range(60)])
    await c.send(c.po("PO-P", "P", "sent", 48), c.po("PO-F", "F", "received", 24, received_days=11))
    async with c.uow() as uow:  # H is a fast mover: its segment sets a higher default service level
        await repo.upsert(uow.session, models.segments, {"location": c.store, "sku": c.sku("H"), "abc": "A",
                                                         "xyz": "X", "pattern": "smooth", "annual_value": 1.0,
                                                         "computed_at": T0})
    await c.decide()  # R and A (20 on hand, IP ≤ ROP) order today; A's stockout_risk fires
    reorder_r = f"{c.store}:{c.sku('R')}:{LAST.date().isoformat()}"
    await c.send(c.po("PO-R", "R", "cancelled", 72, reorder_r))  # R's reorder closed: nothing on order
    await c.decide()
    later = LAST + timedelta(hours=2)
    await c.send(*[c.stock("sale", n, later, quantity=1) for n in "FHPR"],
                 c.stock("stock_adjustment", "A", later, quantity=200, reason="receipt"),
                 c.stock("stock_count", "X", later, location=c.dc, on_hand=5000),
                 c.stock("sale", "X", later, quantity=95))
    # the depot comes first: its new position (5000 in excess) must be seen by the store's transfer decision
    return [(c.dc, c.sku("X")), (c.store, c.sku("X"))] + [(c.store, c.sku(n)) for n in "FHPRA"]


async def outcome(c: Copy) -> dict[str, Any]:
    """Positions, reorders and events of the copy, with its names replaced so two copies compare equal."""
    async with c.sessionmaker() as s:
        positions = [r.data for r in await s.execute(select(models.positions.c.data).where(
            models.positions.c.sku.like(f"{c.p}-%")).order_by(models.positions.c.location, models.positions.c.sku))]
        reorders = [{k: v for k, v in r._mapping.items() if k != "created_at"}  # wall clock: differs
                    for r in await s.execute(select(models.reorders).where(
            models.reorders.c.sku.like(f"{c.p}-%")).order_by(models.reorders.c.reorder_id))]
        events = [json.loads(r.payload)["data"] for r in await s.execute(select(models.outbox.c.payload).where(
            models.outbox.c.key.like(f"%{c.p}-%")).order_by(models.outbox.c.id))]
    doc = json.dumps({"positions": positions, "reorders": reorders, "events": events}, sort_keys=True, default=str)
    return json.loads(doc.replace(c.p, "P"))


@pytest.fixture
async def copies(database_url):
    pair = Copy(database_url), Copy(database_url)
    yield pair
    for c in pair:
        await c.engine.dispose()


async def test_bulk_pass_decides_as_one_key_at_a_time(copies):
    one, bulk = copies
    keys_one, keys_bulk = await build(one), await build(bulk)
    for location, sku in keys_one:
        async with one.uow() as uow:
            await recompute(uow, location, sku)
    async with bulk.uow() as uow:
        await decide_keys(uow, keys_bulk)
    got = await outcome(bulk)
    assert got == await outcome(one)
    by_sku = {p["sku"]: p for p in got["positions"] if p["location"] == "P-store"}
    transfer = [e for e in got["events"] if e.get("kind") == "transfer"]
    # X: 5 on hand; the depot's 5000 (S = 0, all in excess, 1-day lane) covers it → one transfer
    assert [(e["sku"], e["from_location"]) for e in transfer] == [("P-X", "P-dc")]
    assert "already decided today" in by_sku["P-R"]["explanation"]["decision"]["reason"]
    assert by_sku["P-F"]["explanation"]["inputs"]["demand_source"].startswith("forecast:ets")
    assert by_sku["P-H"]["explanation"]["inputs"]["demand_source"].startswith("history:")
    assert by_sku["P-P"]["on_order"] >= 48
    assert by_sku["P-F"]["explanation"]["lead_time"]["receipts"] == 1  # (3·7 + 11)/4 = 8 days
    assert by_sku["P-F"]["lead_time_days"] == 8.0
    assert by_sku["P-H"]["explanation"]["segment"]["abc"] == "A" and by_sku["P-H"]["service_level"] == 0.98
    risk = [(e["status"]) for e in got["events"] if e.get("key") == "stockout_risk:P-store:P-A"]
    assert risk[-1] == "resolved" and "firing" in risk


async def test_committed_consumer_batch_wakes_the_decider_and_a_rolled_back_one_does_not(copies):
    c = copies[0]
    sale = c.stock("sale", "H", T0, quantity=1)
    env = make_envelope(source="test", type=sale[0], time=T0, data=sale[1], id=str(uuid.uuid4()))
    with wake.listening() as woken:
        with pytest.raises(RuntimeError):
            async with c.uow() as uow:
                await apply_batch(uow, [env])
                raise RuntimeError("handler failed after applying")
        assert not woken.is_set()
        async with c.uow() as uow:
            await apply_batch(uow, [env])
            assert not woken.is_set()  # not before the marks are visible to the decider
        assert woken.is_set()


async def test_a_key_that_fails_the_pass_does_not_stall_the_others(copies, monkeypatch):
    c = copies[0]
    await c.send(c.master("location", {"location": c.store, "name": "S", "kind": "store"}),
                 *[c.stock("stock_count", n, T0, on_hand=50) for n in "FH"])
    real = decide_module.decide_key

    def failing(k, *args):
        if k.sku == c.sku("H"):
            raise ValueError("bad input")
        return real(k, *args)

    monkeypatch.setattr(decide_module, "decide_key", failing)
    await decide_dirty(c.uow)
    async with c.sessionmaker() as s:
        decided = {r.sku for r in await s.execute(select(models.positions.c.sku).where(
            models.positions.c.location == c.store))}
        dirty = (await s.execute(select(models.stock.c.dirty_at).where(
            models.stock.c.location == c.store, models.stock.c.sku == c.sku("H")))).scalar_one()
    assert decided == {c.sku("F")}
    assert dirty is None  # cleared: its next input marks it again, it is not retried in a loop


async def test_the_decider_can_sleep_until_the_next_dirty_key_is_due(copies):
    """PostgreSQL's EXTRACT is numeric: as a Decimal the decider's sleep crashed after every pass, so each
    decision waited for the task's 1 s restart."""
    c = copies[0]
    await c.send(c.master("location", {"location": c.store, "name": "S", "kind": "store"}),
                 c.stock("stock_count", "F", T0, on_hand=50))
    async with c.uow() as uow:
        due_in = await repo.next_due_in(uow.session, 0.2, 5.0)
    assert isinstance(due_in, float) and due_in <= 0.2
    await pause(wake.Wakeup(), asyncio.Event(), pause_s(due_in, 0.01), 0.2)  # returns; no TypeError


async def test_a_pass_takes_every_quiet_key_and_only_a_few_overdue_ones(copies):
    """A steady stream's keys (never quiet, past the max delay) go a few per pass, so a key that just turned
    quiet is not held behind a long pass; the quiet ones are all taken."""
    c = copies[0]
    names = [f"Q{i}" for i in range(3)] + [f"O{i}" for i in range(10)]
    await c.send(c.master("location", {"location": c.store, "name": "S", "kind": "store"}),
                 *[c.stock("stock_count", n, T0, on_hand=50) for n in names])
    async with c.sessionmaker() as s, s.begin():
        await s.execute(sa_text(
            "UPDATE policy.stock SET dirty_since = now() - interval '10 seconds', dirty_at = CASE WHEN sku LIKE"
            " :quiet THEN now() - interval '1 second' ELSE now() + interval '1 hour' END WHERE location = :store"),
            {"quiet": f"{c.p}-Q%", "store": c.store})
    async with c.uow() as uow:
        claimed = await repo.claim_due(uow.session, 0.1, 5.0, 25, 5)
    mine = [sku.removeprefix(f"{c.p}-") for loc, sku in claimed if loc == c.store]
    assert sorted(n for n in mine if n.startswith("Q")) == ["Q0", "Q1", "Q2"]
    assert len([n for n in mine if n.startswith("O")]) == 5
    async with c.uow() as uow:
        rest = await repo.claim_due(uow.session, 0.1, 5.0, 25)  # no cap: all that are left
    assert len([sku for loc, sku in rest if loc == c.store]) == 5


async def test_a_count_whose_ingest_batch_is_applied_is_due_at_once_and_a_stream_once_per_max_delay(copies):
    """A count carrying ingest's batch attributes settles its key once the batch's events of that key are
    applied (across consumer polls): it is claimed before the quiet period and wakes the decider at once.
    Sales settle a key not claimed for the max delay (a slow mover) at once; a steady stream's key once its
    last claim is a max delay old, never by the quiet period."""
    c = copies[0]
    await c.send(c.master("location", {"location": c.store, "name": "S", "kind": "store"}))

    def marked(event: tuple[str, dict[str, Any], datetime], batch: str, n: int):
        t, data, at = event
        return make_envelope(source="test", type=t, time=at, data=data, id=str(uuid.uuid4())).model_copy(
            update={"ingestbatch": f"{c.p}-{batch}", "ingestkeyevents": n})

    async def claim(lane: str = "settled", quiet_s: float = 30.0) -> set[str]:
        """A lane's claim: the settled lane's, the quiet lane's, or the quiet lane's while the consumer lags."""
        async with c.uow() as uow:
            keys = (await repo.claim_settled(uow.session, 300.0, 25) if lane == "settled" else
                    await repo.claim_due(uow.session, quiet_s, 300.0, 25, settled=lane == "quiet"))
        return {sku.removeprefix(f"{c.p}-") for loc, sku in keys if loc == c.store}

    await c.send(c.stock("sale", "H", T0, quantity=1))  # H was just decided: a stream
    assert "H" in await claim("quiet", quiet_s=0.0)
    count_f = marked(c.stock("stock_count", "F", T0, on_hand=3), "b1", 2)
    sale_f = marked(c.stock("sale", "F", T0 + timedelta(hours=1), quantity=1), "b1", 2)
    sale_h = marked(c.stock("sale", "H", T0 + timedelta(hours=1), quantity=1), "b1", 1)
    sale_p = marked(c.stock("sale", "P", T0 + timedelta(hours=1), quantity=1), "b1", 1)
    with wake.listening() as woken:
        async with c.uow() as uow:
            await apply_batch(uow, [count_f, sale_h])  # F's sale of the same batch is not applied yet
        assert woken.is_set() and not woken.due_now
        assert await claim() == set()  # F waits for the rest of its batch, H (a stream) for its max delay
        assert await claim("quiet") == set()
        woken.clear()
        async with c.uow() as uow:
            await apply_batch(uow, [sale_f])
        assert woken.due_now
    assert await claim("lagging") == set()  # the consumer lagging: nothing is complete, and F is not quiet
    async with c.uow() as uow:
        assert await repo.next_settled_in(uow.session, 300.0) <= 0.0
    assert await claim() == {"F"}
    async with c.uow() as uow:
        assert 290.0 < await repo.next_settled_in(uow.session, 300.0) <= 300.0  # H: its last claim + max delay
    assert await claim("quiet", quiet_s=0.0) == set()  # complete: the quiet period means nothing for H
    assert await claim("lagging", quiet_s=0.0) == {"H"}  # while lagging it does
    async with c.uow() as uow:
        await apply_batch(uow, [sale_p])  # P was never decided: its sale settles it
    assert await claim() == {"P"}


async def test_an_unconfirmed_reorder_stops_counting_as_on_order_after_its_time_to_live(copies):
    """A reorder no PO ever lists (orders down) counted as on order forever, so the SKU never reordered
    again; now it counts for REPLENISH_POLICY_REORDER_TTL_H (24 h of wall clock since policy emitted it),
    and the position says so."""
    c = copies[0]
    await build(c)
    a = c.sku("A")

    async def position_and_open_reorders() -> tuple[dict[str, Any], list[Any]]:
        async with c.sessionmaker() as s:
            data = (await s.execute(select(models.positions.c.data).where(
                models.positions.c.location == c.store, models.positions.c.sku == a))).scalar_one()
            open_ = list(await s.execute(select(models.reorders.c.reorder_id, models.reorders.c.quantity).where(
                models.reorders.c.location == c.store, models.reorders.c.sku == a,
                models.reorders.c.status == "open").order_by(models.reorders.c.decided_at)))
        return data, open_

    async def emitted_hours_ago(hours: float) -> None:
        async with c.sessionmaker() as s, s.begin():
            await s.execute(sa_text("UPDATE policy.reorders SET created_at = now() - make_interval(hours => :h) "
                                    "WHERE location = :loc AND sku = :sku"), {"h": hours, "loc": c.store, "sku": a})

    async def sale_and_decide(at: datetime, quantity: float) -> None:
        await c.send(c.stock("sale", "A", at, quantity=quantity))
        async with c.uow() as uow:
            await decide_keys(uow, [(c.store, a)])

    position, (first, *more) = await position_and_open_reorders()
    assert more == [] and position["on_order"] == first.quantity  # the reorder A placed counts as on order
    # days later in event time (a replay of history) but just emitted: still counted, no second reorder
    await sale_and_decide(LAST + timedelta(days=3), 1)
    position, reorders = await position_and_open_reorders()
    assert [r.reorder_id for r in reorders] == [first.reorder_id] and position["on_order"] == first.quantity
    assert position["explanation"]["unconfirmed_reorders"] == {"counted": first.quantity, "expired": 0,
                                                               "ttl_hours": 24.0}
    await emitted_hours_ago(23)
    await sale_and_decide(LAST + timedelta(days=3, hours=1), 1)  # within its time to live: counted
    assert (await position_and_open_reorders())[0]["on_order"] == first.quantity
    # past it: no longer counted, so A (down to 15 after the pass's receipt of 200) reorders again
    await emitted_hours_ago(25)
    await sale_and_decide(LAST + timedelta(days=4), 200)
    position, reorders = await position_and_open_reorders()
    assert len(reorders) == 2 and reorders[0].reorder_id == first.reorder_id
    assert position["on_order"] == reorders[1].quantity  # only the new one
    assert position["explanation"]["unconfirmed_reorders"]["expired"] == 1
