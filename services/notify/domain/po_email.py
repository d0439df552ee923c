"""Purchase orders by email: the request orders publishes, whether it can be sent, recipient URL, text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

# One plain address: Apprise drops an invalid `to` and would then mail the sender itself instead.
_ADDRESS = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
MAIL_SCHEMES = ("mailto", "mailtos")


class InvalidRequest(ValueError):
    """The event is not a usable PO email request (no retry can fix it)."""


@dataclass(frozen=True)
class PoEmailRequest:
    po_id: str
    supplier_id: str
    revision: int
    to: str | None
    supplier_name: str | None
    idempotency_key: str
    subject: str
    filename: str
    content_type: str
    content: str


@dataclass(frozen=True)
class Triage:
    """What to do with a request: send it (status pending) or record why it cannot be sent."""

    status: str  # pending | failed | suppressed
    reason: str | None = None


def parse_request(data: Mapping[str, Any]) -> PoEmailRequest:
    try:
        attachment = data["attachment"]
        request = PoEmailRequest(
            po_id=str(data["po_id"]), supplier_id=str(data["supplier_id"]), revision=int(data["revision"]),
            to=(str(data["to"]).strip() or None) if data.get("to") else None,
            supplier_name=data.get("supplier_name"), idempotency_key=str(data["idempotency_key"]),
            subject=str(data.get("subject") or f"Purchase order {data['po_id']}"),
            filename=safe_filename(str(attachment.get("filename") or ""), str(data["po_id"])),
            content_type=str(attachment.get("content_type") or "text/csv"), content=str(attachment["content"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidRequest(f"invalid po_email request: {type(exc).__name__}: {exc}") from None
    if not request.idempotency_key or not request.po_id:
        raise InvalidRequest("invalid po_email request: empty po_id or idempotency_key")
    return request


def safe_filename(name: str, po_id: str) -> str:
    """A file name safe to write into a temp dir (no path parts); `<po_id>.csv` when nothing is left."""
    stem = _UNSAFE_FILENAME.sub("_", name.rsplit("/", 1)[-1]).strip(".")  # no hidden or ".." names
    return stem or (_UNSAFE_FILENAME.sub("_", po_id).strip("._") or "purchase-order") + ".csv"


def triage(request: PoEmailRequest, *, configured: bool) -> Triage:
    """No mail server configured: suppressed (a deployment choice). No usable address: failed (data fix)."""
    if not configured:
        return Triage("suppressed", "notify.po_email is not configured: no mail server to send POs with")
    if request.to is None:
        return Triage("failed", f"supplier {request.supplier_id} has no email address in its master data")
    if not _ADDRESS.match(request.to):
        return Triage("failed", f"supplier {request.supplier_id} has an invalid email address {request.to!r}")
    return Triage("pending")


def recipient_url(url: str, to: str, *, sender: str | None = None, bcc: Iterable[str] = (),
                  idempotency_key: str | None = None) -> str:
    """The configured mailto URL addressed to the supplier: `to` (and `from`, `bcc`) replace the URL's own."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in MAIL_SCHEMES:
        raise ValueError(f"not a mailto:// or mailtos:// URL: {parts.scheme}://")
    replaced = {"to"} | ({"from"} if sender else set()) | ({"bcc"} if bcc else set())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in replaced]
    query.append(("to", to))
    if sender:
        query.append(("from", sender))
    if bcc:
        query.append(("bcc", ",".join(bcc)))
    if idempotency_key:
        query.append(("+X-Replenish-Idempotency-Key", idempotency_key))  # Apprise: "+Name" is a mail header
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="@,")))


_BODY = {
    "en": ("Dear {name},\n\nplease find attached purchase order {po_id} (revision {revision}) as a CSV file "
           "({filename}).\nA later revision replaces this one.\n\nReplenish"),
    "zh": ("{name}，您好：\n\n附件为采购单 {po_id}（第 {revision} 版）的 CSV 文件（{filename}）。\n"
           "如有新版本，以新版本为准。\n\nReplenish"),
}


def email_body(request: PoEmailRequest, locale: str = "en") -> str:
    name = request.supplier_name or request.supplier_id
    return _BODY.get(locale, _BODY["en"]).format(name=name, po_id=request.po_id, revision=request.revision,
                                                 filename=request.filename)
