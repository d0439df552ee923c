"""The replay's doors into the platform it started: docs/contract.md §3 and §5 over HTTP, nothing else."""
from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import httpx

BATCH = 5000  # events per POST (the contract allows 10,000)


class PlatformIO:
    """HTTP calls of the replay's world (POS, WMS, planner, supplier) with the roles docs/contract.md §2 gives them."""

    def __init__(self, endpoints: dict[str, Any]) -> None:
        self.urls, self.tokens = endpoints["services"], endpoints["tokens"]
        self.client = httpx.AsyncClient(timeout=120)
        self.supplier_tokens: dict[str, str] = {}
        self.approvers: list[str] = [self.tokens["approver"]]
        self.issuing = asyncio.Lock()

    async def close(self) -> None:
        await self.client.aclose()

    async def call(self, method: str, service: str, path: str, role: str = "admin", *, token: str | None = None,
                   json: Any = None, params: dict | None = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        """One request; a transport error or a 503 is retried (the platform may be busy), any other answer
        outside `ok` is an error naming the call."""
        headers = {"Authorization": f"Bearer {token or self.tokens[role]}"}
        for attempt in range(30):
            try:
                reply = await self.client.request(method, f"{self.urls[service]}{path}", headers=headers, json=json,
                                                  params=params)
            except httpx.TransportError:
                await asyncio.sleep(min(0.2 * (attempt + 1), 2))
                continue
            if reply.status_code == 503:
                await asyncio.sleep(min(0.2 * (attempt + 1), 2))
                continue
            if reply.status_code not in ok:
                raise RuntimeError(f"{method} {service}{path}: {reply.status_code} {reply.text[:300]}")
            return reply.json() if reply.content else None
        raise RuntimeError(f"{method} {service}{path}: no answer after 30 tries")

    async def post_events(self, events: list[dict[str, Any]]) -> None:
        """Every event accepted, none rejected or left pending: a replay that lost input would score nonsense."""
        for start in range(0, len(events), BATCH):
            body = await self.call("POST", "ingest", "/v1/events", "ingest", json=events[start:start + BATCH])
            if body.get("rejected") or body.get("pending"):
                bad = (body.get("rejected") or body.get("pending"))[:3]
                raise RuntimeError(f"ingest did not take the replay's events: {bad}")

    async def decided_through(self, service: str) -> datetime | None:
        body = await self.call("GET", service, "/v1/watermark")
        value = body.get("decided_through")
        return datetime.fromisoformat(value) if value else None

    async def wait_decided(self, through: datetime, services=("forecast", "policy", "orders"),
                           timeout: float = 600) -> None:
        """Until every service has committed every effect of the events up to `through` (docs/contract.md §10)."""
        deadline, delay = time.monotonic() + timeout, 0.02
        for service in services:
            while True:
                at = await self.decided_through(service)
                if at is not None and at >= through:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service} did not decide through {through.isoformat()} within {timeout:.0f} s"
                                       f" (it is at {at})")
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, 0.05)

    async def purchase_orders(self, status: str | None = None) -> list[dict[str, Any]]:
        body = await self.call("GET", "orders", "/v1/purchase-orders", params={"limit": 5000, **(
            {"status": status} if status else {})})
        return body["items"] if isinstance(body, dict) else body

    async def purchase_order(self, po_id: str) -> dict[str, Any]:
        return await self.call("GET", "orders", f"/v1/purchase-orders/{po_id}")

    async def approve(self, po_id: str) -> dict[str, Any]:
        """As many distinct approvers as the approval rules ask for (each a principal of its own)."""
        po: dict[str, Any] = {}
        for n in range(5):
            async with self.issuing:  # approvals run side by side: the n-th approver is issued once
                if n >= len(self.approvers):
                    issued = await self.call("POST", "orders", "/v1/tokens", json={"name": f"replay-approver-{n}",
                                                                                   "role": "approver"})
                    self.approvers.append(issued["token"])
            po = await self.call("POST", "orders", f"/v1/purchase-orders/{po_id}/approve", token=self.approvers[n],
                                 json={}, ok=(200, 201, 409))
            if not isinstance(po, dict) or "status" not in po:  # a 409 answers with the conflict, not the PO
                po = await self.purchase_order(po_id)
            if po.get("status") != "pending_approval":
                return po
        return po

    async def cancel(self, po_id: str) -> None:
        await self.call("POST", "orders", f"/v1/purchase-orders/{po_id}/cancel", "approver",
                        json={"reason": "replay: made before the test window"}, ok=(200, 201, 409))

    async def supplier_token(self, supplier_id: str) -> str:
        async with self.issuing:
            if supplier_id not in self.supplier_tokens:
                body = await self.call("POST", "orders", f"/v1/suppliers/{supplier_id}/keys", json={})
                self.supplier_tokens[supplier_id] = body["token"]
        return self.supplier_tokens[supplier_id]

    async def acknowledge_and_ship(self, po: dict[str, Any], promised: str, lines: list[dict[str, Any]]) -> None:
        token = await self.supplier_token(po["supplier_id"])
        base = f"/v1/supplier/purchase-orders/{po['po_id']}"
        await self.call("POST", "orders", f"{base}/acknowledge", token=token, json={"promised_date": promised})
        await self.call("POST", "orders", f"{base}/ship", token=token, json={"eta": promised, "lines": lines})

    async def reorders(self) -> list[dict[str, Any]]:
        out, cursor = [], None
        while True:
            body = await self.call("GET", "policy", "/v1/reorders", params={"limit": 1000, **(
                {"cursor": cursor} if cursor else {})})
            out += body["items"]
            cursor = body.get("next_cursor")
            if not cursor:
                return out
