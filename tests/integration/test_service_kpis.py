"""The KPI reads of notify (time to acknowledge), orders (supplier OTIF) and ingest (data freshness) over the real
PostgreSQL, fed through each service's own handlers."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.ingest import kpi_routes as ingest_kpis
from services.ingest import models as ingest_models
from services.ingest.freshness import note_arrivals
from services.ingest.handlers import Tally
from services.notify import kpi_routes as notify_kpis
from services.notify import models
from services.notify.bench_dispatch import alert_payload, store_alerts
from services.notify.handlers import acknowledge_alert, alert_id_for
from services.notify.kpis import ack_delays
from services.orders import kpi_routes as orders_kpis
from services.orders import models as orders_models
from services.orders import repository as orders_repo
from services.orders.domain import PoLine, PurchaseOrder
from shared.service import ServiceRuntime
from tests.integration.api_client import AUTH, api_client

pytestmark = pytest.mark.integration


@pytest.fixture
async def notify_runtime(settings_for):
    rt = ServiceRuntime(settings_for("notify"), models.metadata)
    yield rt
    await rt.engine.dispose()


async def test_time_to_acknowledge_runs_from_each_firing(notify_runtime):
    location, now = f"tta-{uuid.uuid4().hex[:6]}", datetime.now(UTC)
    fired = {"SKU-1": now - timedelta(minutes=10), "SKU-2": now - timedelta(minutes=60), "SKU-3": now}
    await store_alerts(notify_runtime, [alert_payload(sku, location=location, at=at) for sku, at in fired.items()])
    for sku in ("SKU-1", "SKU-2"):  # SKU-3 stays firing: it has no time to acknowledge yet
        async with notify_runtime.uow() as uow:
            await acknowledge_alert(uow, alert_id_for(f"stockout_risk:{location}:{sku}"), actor="ops", comment=None)
    async with api_client(notify_kpis.router, sessionmaker=notify_runtime.sessionmaker) as client:
        body = (await client.get(f"/v1/kpis?location={location}", headers=AUTH)).json()
    tta = body["alerts"]["time_to_acknowledge_s"]
    assert body["alerts"]["fired"] == 3 and tta["count"] == 2
    assert tta["p50"] == pytest.approx(2100, abs=30) and tta["p90"] == pytest.approx(3300, abs=30)
    assert body["alerts"]["precision"] is None and body["alerts"]["precision_status"] == "not_measured"


def test_a_refired_alert_measures_from_its_new_episode():
    t = datetime(2026, 5, 1, 8, tzinfo=UTC)
    history = [{"at": (t + timedelta(minutes=m)).isoformat(), "action": a} for m, a in (
        (0, "fired"), (5, "acknowledged"), (30, "resolved"), (40, "refired"), (100, "acknowledged"),
        (101, "acknowledged"))]
    assert ack_delays(history, t.date(), t.date()) == [300, 3600]
    assert ack_delays(history, t.date() + timedelta(days=1), t.date() + timedelta(days=2)) == []


def purchase_order(po_id: str, supplier: str, sent: datetime, status: str, received: datetime | None) -> PurchaseOrder:
    line = PoLine(sku="SKU-1", location="store-1", quantity=12, unit_cost=2.5,
                  received_quantity=12 if received else 0, received_at=received)
    return PurchaseOrder(po_id=po_id, supplier_id=supplier, status=status, created_at=sent, lines=(line,),
                         expected_date=(sent + timedelta(days=4)).date(), sent_at=sent, received_at=received)


async def test_supplier_otif_over_the_pos_sent_in_the_window(settings_for):
    runtime = ServiceRuntime(settings_for("orders"), orders_models.metadata)
    tag, t = uuid.uuid4().hex[:6], datetime(2019, 2, 1, 9, tzinfo=UTC)
    day = timedelta(days=1)
    pos = [purchase_order(f"on-time-{tag}", f"SUP-A-{tag}", t, "received", t + 3 * day),
           purchase_order(f"late-{tag}", f"SUP-A-{tag}", t + day, "received", t + 6 * day),
           purchase_order(f"open-{tag}", f"SUP-B-{tag}", t + 2 * day, "sent", None),  # past due, nothing received
           purchase_order(f"earlier-{tag}", f"SUP-B-{tag}", t - 40 * day, "received", t - 30 * day)]
    async with runtime.uow() as uow:
        for po in pos:
            await orders_repo.save_po(uow.session, po)
    clock = SimpleNamespace(now=lambda: datetime(2019, 3, 1, tzinfo=UTC))
    async with api_client(orders_kpis.router, sessionmaker=runtime.sessionmaker, state={"orders_clock": clock}) as c:
        body = (await c.get("/v1/kpis?end=2019-02-10&days=10", headers=AUTH)).json()
    await runtime.engine.dispose()
    s = body["suppliers"]
    assert (s["orders"], s["suppliers"], s["lead_time_samples"], s["lead_time_mean_days"]) == (3, 2, 2, 4)
    assert (s["otif_rate"], s["on_time_rate"], s["in_full_rate"]) == pytest.approx((1 / 3, 1 / 3, 2 / 3))


async def test_freshness_reports_every_source_and_the_quietest(settings_for):
    runtime = ServiceRuntime(settings_for("ingest"), ingest_models.metadata)
    source, now = f"pos/kpi-{uuid.uuid4().hex[:6]}", datetime.now(UTC)
    async with runtime.uow() as uow:
        await note_arrivals(uow, {source: Tally(accepted=3, newest=now - timedelta(hours=1))}, now)
    later = now + timedelta(minutes=5)
    async with api_client(ingest_kpis.router, sessionmaker=runtime.sessionmaker,
                          state={"freshness_clock": lambda: later}) as client:
        body = (await client.get("/v1/kpis", headers=AUTH)).json()["freshness"]
    await runtime.engine.dispose()
    assert body["sources"] >= 1 and body["max_arrival_age_s"] >= 300 >= body["min_arrival_age_s"]
    assert datetime.fromisoformat(body["latest_arrival_at"]) >= now
