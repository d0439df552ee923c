"""`replenish up --demo`: generated history that ends now, then live sales, with a live terminal summary."""
from __future__ import annotations

import asyncio
import http.server
import json
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Group
from rich.live import Live
from rich.table import Table

STORES = ("store-sh-01", "store-sh-02", "store-bj-01")
SUPPLIERS = {"SUP-FRESH": 3, "SUP-DRY": 7, "SUP-IMPORT": 12}  # supplier → lead time (days)
HISTORY_DAYS = 56
WEEKLY = (0.8, 0.85, 0.9, 1.0, 1.2, 1.5, 1.35)  # Monday … Sunday


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    supplier: str
    daily: float        # mean units a day at one store
    pack: int
    cost: float


def catalogue(rng: random.Random) -> list[Product]:
    names = ["Jasmine rice 5kg", "Soy sauce 500ml", "Oolong tea", "Instant noodles", "Sesame oil",
             "Dumplings 1kg", "Green tea 100g", "Rice vinegar", "Chili crisp", "Tofu 400g",
             "Imported olive oil", "Dark chocolate"]
    products = []
    for i, name in enumerate(names):
        supplier = list(SUPPLIERS)[i % 3]
        slow = i in (7, 11)  # slow movers: intermittent demand
        products.append(Product(f"SKU-{1001 + i}", name, supplier, 0.4 if slow else rng.uniform(4, 25),
                                6 if slow else 12, round(rng.uniform(1.5, 20), 2)))
    return products


def _daily_qty(rng: random.Random, p: Product, day: datetime, promo: bool) -> int:
    mean = p.daily * WEEKLY[day.weekday()] * (1.8 if promo else 1.0)
    return sum(1 for _ in range(int(mean * 3)) if rng.random() < 1 / 3) if mean < 2 else max(
        int(rng.gauss(mean, mean * 0.25)), 0)


def master_events(products: list[Product], start: datetime) -> list[dict]:
    at = start.isoformat()
    ev = [{"id": f"loc-{s}", "source": "demo/erp", "type": "location", "time": at,
           "data": {"location": s, "name": s, "kind": "store", "timezone": "Asia/Shanghai", "country": "CN"}}
          for s in STORES]
    ev += [{"id": f"sup-{s}", "source": "demo/erp", "type": "supplier", "time": at,
            "data": {"supplier_id": s, "name": s.title(), "email": f"{s.lower()}@example.test"}} for s in SUPPLIERS]
    for p in products:
        ev.append({"id": f"item-{p.sku}", "source": "demo/erp", "type": "item", "time": at,
                   "data": {"sku": p.sku, "name": p.name, "base_unit": "each", "category": "grocery",
                            "unit_conversions": {"case": p.pack}, "aliases": [f"69{p.sku[4:]}000"],
                            "unit_cost": p.cost}})
        ev.append({"id": f"si-{p.sku}", "source": "demo/erp", "type": "supplier_item", "time": at,
                   "data": {"supplier_id": p.supplier, "sku": p.sku, "lead_time_days": SUPPLIERS[p.supplier],
                            "lead_time_std_days": 1, "moq": p.pack, "pack_size": p.pack, "unit_cost": p.cost,
                            "primary": True}})
    return ev


def history_events(rng: random.Random, products: list[Product], now: datetime) -> list[dict]:
    start = (now - timedelta(days=HISTORY_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    ev = master_events(products, start - timedelta(hours=1))
    for p in products:
        promo_day = rng.randrange(10, HISTORY_DAYS - 10)
        ev.append({"id": f"promo-{p.sku}", "source": "demo/erp", "type": "promotion", "time": start.isoformat(),
                   "data": {"sku": p.sku, "start": (start + timedelta(days=promo_day)).date().isoformat(),
                            "end": (start + timedelta(days=promo_day + 3)).date().isoformat(),
                            "expected_uplift": 1.8}})
        for store in STORES:
            total, sales = 0, []
            for d in range(HISTORY_DAYS):
                day = start + timedelta(days=d, hours=14)
                qty = _daily_qty(rng, p, day, promo_day <= d <= promo_day + 3)
                if qty and day < now:
                    sales.append({"id": f"h-{store}-{p.sku}-{d}", "source": f"demo/pos/{store}", "type": "sale",
                                  "time": day.isoformat(), "data": {"sku": p.sku, "location": store,
                                                                    "quantity": qty}})
                    total += qty
            cover = rng.choice((2, 5, 9, 20, 60))  # days of demand left now: some short, some overstocked
            ev.append({"id": f"open-{store}-{p.sku}", "source": "demo/wms", "type": "stock_count",
                       "time": start.isoformat(),
                       "data": {"sku": p.sku, "location": store, "on_hand": total + int(p.daily * cover)}})
            ev += sales
    return ev


class ChatSink:
    """A local chat webhook the demo's notify config points at, so deliveries are visible."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    sink.messages.append(json.loads(body))
                except ValueError:
                    sink.messages.append({"title": body[:80].decode(errors="replace")})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def write_config(self, path: Path) -> Path:
        path.write_text(f"notify:\n  receivers:\n    - name: demo-chat\n      urls: [\"json://127.0.0.1:{self.port}/chat\"]\n"
                        f"  route:\n    receiver: demo-chat\n    group_wait: 0s\n    group_by: [location]\n")
        return path


async def run_demo(endpoints: dict, sink: ChatSink | None = None, tick_s: float = 1.0) -> None:
    rng = random.Random(7)
    products = catalogue(rng)
    services, tokens = endpoints["services"], endpoints["tokens"]
    async with httpx.AsyncClient(timeout=60) as http:
        ingest = {"Authorization": f"Bearer {tokens['ingest']}"}
        events = history_events(rng, products, datetime.now(UTC))
        for i in range(0, len(events), 5000):
            await http.post(f"{services['ingest']}/v1/events", json=events[i:i + 5000], headers=ingest)
        with Live(refresh_per_second=2) as live:
            n = 0
            while True:
                n += 1
                now = datetime.now(UTC)
                batch = [{"id": f"live-{n}-{store}-{p.sku}", "source": f"demo/pos/{store}", "type": "sale",
                          "time": now.isoformat(), "data": {"sku": p.sku, "location": store,
                                                            "quantity": rng.randint(1, 3)}}
                         for store in STORES for p in rng.sample(products, 4)]
                await http.post(f"{services['ingest']}/v1/events", json=batch, headers=ingest)
                live.update(await summary(http, services, tokens["admin"], n * len(batch), sink))
                await asyncio.sleep(tick_s)


async def summary(http: httpx.AsyncClient, services: dict, token: str, live_sales: int,
                  sink: ChatSink | None) -> Group:
    auth = {"Authorization": f"Bearer {token}"}

    async def items(url: str) -> list:
        try:
            r = await http.get(url, headers=auth)
            return r.json().get("items", []) if r.status_code == 200 else []
        except (httpx.HTTPError, ValueError):
            return []

    positions = await items(f"{services['policy']}/v1/positions?limit=1000")
    pos = await items(f"{services['orders']}/v1/purchase-orders")
    alerts = await items(f"{services['notify']}/v1/alerts?status=firing")
    head = Table(title=f"Replenish demo — live sales posted: {live_sales}", show_header=True)
    for col in ("positions", "critical/stockout", "POs", "firing alerts", "chat messages"):
        head.add_column(col)
    bad = sum(1 for p in positions if p.get("status") in ("critical", "stockout"))
    head.add_row(str(len(positions)), str(bad), str(len(pos)), str(len(alerts)),
                 str(len(sink.messages)) if sink else "-")
    recent = Table(title="latest purchase orders / alerts")
    recent.add_column("what")
    recent.add_column("detail")
    for po in pos[-5:]:
        recent.add_row(f"PO {po.get('po_id')}", f"{po.get('status')} · {po.get('supplier_id')} · "
                       f"{len(po.get('lines', []))} lines · total {po.get('total')}")
    for a in alerts[-5:]:
        recent.add_row(f"{a.get('severity')} {a.get('type')}", str(a.get("summary"))[:90])
    return Group(head, recent)
