"""JSON codec of the domain PurchaseOrder for its JSONB column (lossless round trip)."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from services.orders.domain import PoLine, PurchaseOrder, Receipt, Shipment

_PO_TIMES = ("created_at", "sent_at", "acknowledged_at", "received_at", "closed_at", "delivery_failed_at")
_PO_DATES = ("expected_date", "promised_date", "eta")


def _enc(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    if isinstance(value, dict):
        return {k: _enc(v) for k, v in value.items()}
    return value


def po_to_dict(po: PurchaseOrder) -> dict[str, Any]:
    return _enc(asdict(po))


def _dt(v: str | None) -> datetime | None:
    return datetime.fromisoformat(v) if v else None


def _d(v: str | None) -> date | None:
    return date.fromisoformat(v) if v else None


def _line(d: dict[str, Any]) -> PoLine:
    return PoLine(**{**d, "reorder_ids": tuple(d.get("reorder_ids") or ()), "need_by": _d(d.get("need_by")),
                     "received_at": _dt(d.get("received_at"))})


def _shipment(d: dict[str, Any]) -> Shipment:
    return Shipment(at=_dt(d["at"]), eta=_d(d["eta"]), tracking=d.get("tracking"),
                    lines=tuple((s, loc, float(q)) for s, loc, q in d.get("lines") or ()))


def _receipt(d: dict[str, Any]) -> Receipt:
    return Receipt(sku=d["sku"], location=d["location"], quantity=float(d["quantity"]), at=_dt(d["at"]))


def po_from_dict(d: dict[str, Any]) -> PurchaseOrder:
    kw = dict(d)
    kw.update({k: _dt(d.get(k)) for k in _PO_TIMES})
    kw.update({k: _d(d.get(k)) for k in _PO_DATES})
    kw["lines"] = tuple(_line(ln) for ln in d.get("lines") or ())
    kw["shipments"] = tuple(_shipment(s) for s in d.get("shipments") or ())
    kw["unmatched_receipts"] = tuple(_receipt(r) for r in d.get("unmatched_receipts") or ())
    kw["approvals"] = tuple(d.get("approvals") or ())
    kw["receipt_ids"] = tuple(d.get("receipt_ids") or ())
    return PurchaseOrder(**kw)
