"""Sending one message to one Apprise URL (email, SMS gateways, chat, JSON webhooks), off the event loop."""
from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import apprise
import httpx

from services.notify import channels_json
from services.notify.domain.channels import url_scheme

_HTTP_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


def prepared_url(url: str, *, idempotency_key: str, timeout_s: float) -> str:
    """The URL Apprise is given: webhooks carry the idempotency key as a header, and bounded timeouts.

    A receiver that saw the request but answered too late gets the retry with the same
    `Idempotency-Key`, so it can keep at most one effect per key.
    """
    if url_scheme(url) not in _HTTP_SCHEMES:
        return url
    sep = "&" if "?" in url else "?"
    extra = f"+Idempotency-Key={quote(idempotency_key)}&cto={timeout_s:g}&rto={timeout_s:g}"
    return f"{url}{sep}{extra}"


def warm_up() -> None:
    """Load Apprise's plugins once at start (about a second), not on the first alert."""
    apprise.Apprise().add("json://127.0.0.1/")


def _send_blocking(url: str, title: str, body: str) -> SendResult:
    sender = apprise.Apprise()
    if not sender.add(url):
        return SendResult(False, "invalid or unsupported Apprise URL")
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = sender.notify(title=title, body=body or " ")
        detail = captured.getvalue().strip().splitlines()
    return SendResult(bool(ok), None if ok else (detail[-1][:500] if detail else "send failed"))


async def send(url: str, title: str, body: str, *, idempotency_key: str, timeout_s: float) -> SendResult:
    """Send once: plain JSON webhooks on the event loop (channels_json), everything else through Apprise,
    which is blocking and so runs in a worker thread."""
    try:
        reply = await channels_json.post(url, title, body, idempotency_key=idempotency_key, timeout_s=timeout_s)
    except httpx.HTTPError as exc:
        return SendResult(False, f"{type(exc).__name__}: {exc}"[:500])
    if reply is not None:
        ok = 200 <= reply.status_code < 300
        return SendResult(ok, None if ok else f"HTTP {reply.status_code}: {reply.text[:200]}")
    target = prepared_url(url, idempotency_key=idempotency_key, timeout_s=timeout_s)
    try:
        return await asyncio.to_thread(_send_blocking, target, title, body)
    except Exception as exc:  # a plugin bug must not take the dispatcher down
        log.exception("apprise send crashed")
        return SendResult(False, f"{type(exc).__name__}: {exc}"[:500])


def _mail_blocking(url: str, title: str, body: str, filename: str, content: str) -> SendResult:
    sender = apprise.Apprise()
    if not sender.add(url):
        return SendResult(False, "invalid or unsupported Apprise URL")
    # Apprise attaches files by path: the name the supplier sees is the file's name in a private temp dir.
    with tempfile.TemporaryDirectory(prefix="replenish-po-") as folder:
        path = Path(folder) / filename
        path.write_text(content, encoding="utf-8")
        attachment = apprise.AppriseAttachment()
        if not attachment.add(str(path)):
            return SendResult(False, f"attachment {filename} not accepted")
        with apprise.LogCapture(level=logging.WARNING) as captured:
            ok = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT, attach=attachment)
            detail = captured.getvalue().strip().splitlines()
    return SendResult(bool(ok), None if ok else (detail[-1][:500] if detail else "send failed"))


async def send_mail(url: str, title: str, body: str, *, filename: str, content: str) -> SendResult:
    """One email with one attachment (a PO as CSV); blocking Apprise in a worker thread."""
    try:
        return await asyncio.to_thread(_mail_blocking, url, title, body, filename, content)
    except Exception as exc:  # a plugin bug must not take the mailer down
        log.exception("apprise mail crashed")
        return SendResult(False, f"{type(exc).__name__}: {exc}"[:500])
