"""Orders under REPLENISH_CLOCK=event, over fakes: POs in event time, the same POs in any arrival order, days
closed by policy's markers (submitted, sent, decided_through), stamps and supplier checks in event time."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from services.orders import actions, closing, handlers
from services.orders.consumers import make_dispatch
from services.orders.domain import acknowledge, add_reorder, approve, po_id_for, window_key
from services.orders.settings import OrdersSettings
from shared.clock import Clock
from shared.events.envelope import make_envelope
from shared.events.markers import DAY_CLOSED, day_end
from shared.events.topics import PURCHASE_ORDERS, REORDERS, STOCK

from .builders import item, reorder
from .fakes import FakeRepo, FakeRuntime, FakeUow, FrozenClock

CFG = OrdersSettings(window_s=2.0, auto_approve_below=1000.0)
TZ = "America/New_York"
DAY = date(2025, 3, 4)
CLOSE = day_end(DAY, TZ)           # 2025-03-05 00:00 New York = 05:00 UTC
DECIDED = CLOSE - timedelta(seconds=1)  # policy decides a closed day as of its last second
SNAPSHOT = "replenish.orders.purchase_order"


@pytest.fixture
def repo(monkeypatch) -> FakeRepo:
    fake = FakeRepo(items={("SUP-1", s): item(sku=s) for s in ("SKU-1", "SKU-2", "SKU-3")},
                    timezones={"store-1": TZ, "store-2": TZ})
    for module in (handlers, actions, closing):
        monkeypatch.setattr(module, "repo", fake)
    return fake


def _reorder_env(rid: str, sku: str = "SKU-1", location: str = "store-1", at: datetime = DECIDED,
                 quantity: float = 30, **extra):
    data = {"reorder_id": rid, "kind": "purchase", "sku": sku, "location": location, "supplier_id": "SUP-1",
            "quantity": quantity, "need_by": (DAY + timedelta(days=7)).isoformat(), "decided_at": at.isoformat(),
            **extra}
    return make_envelope(source="policy", type="replenish.policy.reorder", time=at, data=data)


def _marker(partition: int, partitions: int = 3, stream: str = "policy", day: date = DAY,
            location: str = "store-1", topic: str = REORDERS):
    data = {"stream": stream, "location": location, "date": day.isoformat(), "topic": topic,
            "partition": partition, "partitions": partitions}
    return make_envelope(source="policy", type=DAY_CLOSED, time=CLOSE - timedelta(seconds=1), data=data,
                         id=f"mark:{stream}:{location}:{day}:p{partition}")


async def _feed(envs, clock: Clock, uow: FakeUow | None = None) -> FakeUow:
    uow = uow or FakeUow()
    dispatch = make_dispatch(CFG, clock)
    for env in envs:
        await dispatch(uow, env)
    return uow


# --- domain -------------------------------------------------------------------------------------------

def test_window_key_cuts_the_local_day_into_windows_that_never_span_its_end():
    start = datetime(2025, 3, 4, 5, 0, tzinfo=UTC)  # 00:00 in New York

    def key(seconds: float) -> str:
        return window_key("L", start + timedelta(seconds=seconds), 2, TZ)
    assert key(0.5) == key(2) != key(2.5)
    # the day's last instant and its close belong to the day; the next instant to the next day
    assert window_key("L", CLOSE, 2, TZ) == window_key("L", DECIDED + timedelta(seconds=0.5), 2, TZ)
    assert window_key("L", CLOSE, 2, TZ).startswith("L@2025-03-04/")
    assert window_key("L", CLOSE + timedelta(microseconds=1), 2, TZ).startswith("L@2025-03-05/0")
    # a whole day as one window still ends at the local midnight, not at UTC's
    assert window_key("L", start + timedelta(hours=23), 86400, TZ) == window_key("L", start + timedelta(seconds=1),
                                                                                   86400, TZ)
    assert window_key("L", start, 86400, "UTC") != window_key("L", start, 86400, TZ)
    assert window_key("L", start, 2, TZ) != window_key("M", start, 2, TZ)


def test_the_same_reorders_make_the_same_po_in_any_arrival_order():
    rs = [reorder(rid="r-3", sku="SKU-2", quantity=0.1), reorder(rid="r-1", sku="SKU-1", quantity=30),
          reorder(rid="r-2", sku="SKU-2", quantity=0.2), reorder(rid="r-4", sku="SKU-2", quantity=0.3)]
    times = {"r-1": DECIDED, "r-2": DECIDED - timedelta(seconds=1), "r-3": DECIDED, "r-4": DECIDED}
    built = set()
    for order in itertools.permutations(rs):
        po = None
        for r in order:
            po, _ = add_reorder(po, r, item(sku=r.sku, moq=None, pack=None), times[r.reorder_id], po_id="PO-X")
        built.add((po.po_id, po.created_at, po.expected_date,
                   tuple((ln.sku, ln.location, ln.quantity, ln.requested_quantity, ln.reorder_ids) for ln in po.lines)))
    assert len(built) == 1
    ((po_id, created, _, lines),) = built
    assert po_id == "PO-X" and created == DECIDED - timedelta(seconds=1)  # the earliest decision
    assert [ln[0] for ln in lines] == ["SKU-1", "SKU-2"] and lines[1][4] == ("r-2", "r-3", "r-4")
    assert lines[1][3] == 0.6 and lines[1][2] == 1  # 0.1 + 0.2 + 0.3 rounded up to 1 base unit in any order


# --- reorders in event time -----------------------------------------------------------------------------

async def test_reorder_opens_its_windows_po_at_the_decisions_event_time(repo):
    clock = Clock("event")
    uow = await _feed([_reorder_env("r-1")], clock)
    (po,) = repo.pos.values()
    key = window_key("store-1", DECIDED, CFG.window_s, TZ)
    assert (po.po_id, po.created_at, po.status) == (po_id_for("SUP-1", key), DECIDED, "proposed")
    assert clock.now() == DECIDED and repo.audit[0][1].at == DECIDED
    assert uow.of_type(SNAPSHOT)[0]["data"]["created_at"] == DECIDED.isoformat()


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
async def test_one_days_reorders_give_one_po_per_supplier_and_location_whatever_the_arrival(repo, order):
    envs = [_reorder_env("r-1", "SKU-1"), _reorder_env("r-2", "SKU-2"), _reorder_env("r-3", "SKU-3")]
    clock = Clock("event")
    clock.observe(CLOSE + timedelta(hours=6))  # a faster partition already brought the next morning
    await _feed([_reorder_env("r-9", "SKU-1", location="store-2")] + [envs[i] for i in order], clock)
    by_location = {po.lines[0].location: po for po in repo.pos.values()}
    assert sorted(by_location) == ["store-1", "store-2"]  # a PO never spans two locations' days
    po = by_location["store-1"]
    assert [(ln.sku, ln.quantity) for ln in po.lines] == [("SKU-1", 36), ("SKU-2", 36), ("SKU-3", 36)]
    assert po.po_id == po_id_for("SUP-1", window_key("store-1", DECIDED, CFG.window_s, TZ))


async def test_a_reorder_whose_window_already_closed_gets_a_po_of_its_own(repo):
    clock = Clock("event")
    await _feed([_reorder_env("r-1")], clock)
    (first,) = repo.pos.values()
    repo.pos[first.po_id] = replace(first, status="pending_approval")
    await _feed([_reorder_env("r-2", "SKU-2")], clock)
    assert len(repo.pos) == 2 and repo.index["r-2"] == po_id_for("SUP-1", "r-2")


async def test_stock_events_move_the_event_clock_and_other_types_change_nothing(repo):
    clock = Clock("event")
    count_at = CLOSE + timedelta(hours=6)
    count = make_envelope(source="ingest", type="replenish.ingest.stock_count", time=count_at, data={
        "event_id": "c-1", "source": "wms", "type": "stock_count", "sku": "SKU-1", "location": "store-1",
        "time": count_at.isoformat(), "on_hand": 4})
    sale = make_envelope(source="ingest", type="replenish.ingest.sale", time=count_at + timedelta(days=9), data={})
    uow = await _feed([count, sale], clock)
    assert clock.now() == count_at and uow.published == [] and repo.pos == {}


# --- days closed by policy's markers --------------------------------------------------------------------

async def test_the_day_closes_on_the_last_partitions_marker_and_its_pos_are_submitted_and_sent(repo):
    clock = Clock("event")
    later_day = _reorder_env("r-8", "SKU-2", at=CLOSE + timedelta(hours=20))  # next day's: stays open
    other = _reorder_env("r-9", "SKU-1", location="store-2")                   # another location's day
    uow = await _feed([_reorder_env("r-1"), _reorder_env("r-2", "SKU-2"), later_day, other,
                       _marker(0), _marker(2), _marker(2)], clock)
    assert {po.status for po in repo.pos.values()} == {"proposed"} and repo.decided == {}
    await _feed([_marker(1)], clock, uow)
    closed = repo.pos[repo.index["r-1"]]
    assert repo.index["r-2"] == closed.po_id
    assert (closed.status, closed.sent_at, closed.delivery_status) == ("sent", CLOSE, "pending")
    assert [e.at for _, e in repo.audit if e.action in ("auto_approve", "send")] == [CLOSE, CLOSE]
    assert repo.pos[repo.index["r-8"]].status == "proposed" and repo.pos[repo.index["r-9"]].status == "proposed"
    assert repo.decided == {"store-1": (DAY, TZ)} and await repo.decided_through(None) == CLOSE
    assert clock.now() == CLOSE + timedelta(hours=20)  # never moved back by the close
    assert [p["data"]["status"] for p in uow.of_type(SNAPSHOT)][-2:] == ["approved", "sent"]
    await _feed([_marker(1)], clock, uow)  # a redelivered marker closes nothing twice
    assert len([e for _, e in repo.audit if e.action == "send"]) == 1


async def test_a_po_over_the_approval_limit_waits_for_an_approver_then_is_stamped_in_event_time(repo):
    clock = Clock("event")
    await _feed([_reorder_env("r-1", quantity=600), *(_marker(p) for p in range(3))], clock)
    po = repo.pos[repo.index["r-1"]]
    assert po.status == "pending_approval" and po.sent_at is None  # 612 x 2.5 is above 1000
    clock.observe(CLOSE + timedelta(hours=6))
    after = await actions.change_po(FakeRuntime(FakeUow()), po.po_id,
                                    actions.single(approve, actor="approver-1", rules=CFG.approval_rules),
                                    clock=clock)
    assert after.status == "approved" and repo.audit[-1][1].at == CLOSE + timedelta(hours=6)


async def test_a_supplier_acknowledges_a_year_old_po_against_its_event_time_creation(repo):
    clock = Clock("event")
    await _feed([_reorder_env("r-1"), *(_marker(p) for p in range(3))], clock)
    po = repo.pos[repo.index["r-1"]]
    promised = (DAY + timedelta(days=7)).isoformat()
    after = await actions.change_po(FakeRuntime(FakeUow()), po.po_id,
                                    actions.single(acknowledge, promised_date=promised, lines=None, actor="SUP-1"),
                                    clock=clock, supplier_id="SUP-1")
    assert (after.status, after.promised_date.isoformat(), after.acknowledged_at) == ("acknowledged", promised, CLOSE)


async def test_ingests_markers_close_no_day_but_orders_acknowledges_each_day_once(repo):
    clock = Clock("event")
    ingest = [_marker(p, stream="ingest", topic=STOCK) for p in range(3)]
    uow = await _feed([_reorder_env("r-1"), *ingest[:2], make_envelope(source="x", type=DAY_CLOSED, time=CLOSE,
                                                                         data={"nonsense": 1})], clock)
    assert uow.of_type(DAY_CLOSED) == []  # partition 2 of the stock topic has not closed the day
    uow = await _feed([ingest[2], ingest[0], ingest[2]], clock, uow)  # and two redeliveries
    assert repo.decided == {} and clock.now() == DECIDED  # only policy's markers close a day for orders
    assert [p["data"]["status"] for p in uow.of_type(SNAPSHOT)] == ["proposed"]
    marks = uow.of_type(DAY_CLOSED)
    assert [(m["topic"], m["data"]) for m in marks] == [
        (PURCHASE_ORDERS, {"stream": "orders", "location": "store-1", "date": DAY.isoformat()})]
    assert marks[0]["time"] == CLOSE


async def test_an_unknown_timezone_reads_as_utc(repo):
    repo.timezones["store-1"] = "Mars/Olympus_Mons"
    clock = Clock("event")
    await _feed([_reorder_env("r-1", at=datetime(2025, 3, 4, 12, tzinfo=UTC)),
                 *(_marker(p) for p in range(3))], clock)
    assert repo.decided == {"store-1": (DAY, None)}
    assert repo.pos[repo.index["r-1"]].sent_at == datetime(2025, 3, 5, tzinfo=UTC)


async def test_on_the_wall_clock_a_closed_day_is_stamped_now(repo):
    now = datetime(2026, 12, 1, 9, tzinfo=UTC)  # 04:00 on 1 December in New York
    clock = FrozenClock(now)
    await _feed([_reorder_env("r-1"), *(_marker(p, day=date(2026, 11, 30)) for p in range(3))], clock)
    po = repo.pos[repo.index["r-1"]]
    assert (po.created_at, po.status) == (now, "proposed")  # created after 30 November's end: not that day's
    await _feed([_marker(p, day=date(2026, 12, 1)) for p in range(3)], clock)
    assert (repo.pos[po.po_id].status, repo.pos[po.po_id].sent_at) == ("sent", now)
