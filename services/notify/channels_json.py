"""Plain JSON webhooks (Apprise's json:// and jsons://) sent on the event loop with a pooled connection.

Apprise sends them with `requests` in a worker thread and a new connection per message. Alerts are on a
latency budget (docs/notify.md, "Delivery"), so the common case — no credentials, POST, no payload
remapping, no query parameters, a title and body within Apprise's limits — is sent here with the body,
headers and timeouts Apprise would use. The URL is read by our own parser of Apprise's documented json://
syntax (no plugin internals); anything it does not recognise returns None and goes through Apprise.
"""
from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit
from weakref import WeakKeyDictionary

import apprise
import httpx

from services.notify.domain.channels import url_scheme

_SCHEMES = {"json", "jsons"}
# Apprise's limits for json://: past them it folds the title into the body or splits the message itself.
_TITLE_MAX, _BODY_MAX = 250, 32768
_JSON_VERSION = "1.0"  # the `version` field of Apprise's JSON payload
_USER_AGENT = "Apprise"  # what Apprise sends as User-Agent unless the URL sets one with +User-Agent=
_BOOLS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*.^_`|~-]+")
_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = WeakKeyDictionary()


@dataclass(frozen=True)
class PlainWebhook:
    """A json:// URL that is a plain POST: where to send, the extra headers (`+Name=value`), TLS check."""

    target: str
    headers: tuple[tuple[str, str], ...]
    verify: bool


def _query_pairs(query: str) -> list[tuple[str, str]]:
    """Apprise's reading of a query: `+` is kept (it marks a header), both sides are percent-decoded."""
    pairs = []
    for item in filter(None, re.split("[&;]", query)):
        key, _, value = item.partition("=")
        pairs.append((unquote(key), unquote(value).strip()))
    return pairs


@lru_cache(maxsize=256)
def plain_webhook(url: str) -> PlainWebhook | None:
    """The URL as a plain JSON POST, or None when it needs Apprise: credentials, another method, payload
    remapping (`:key=`), GET parameters (`-key=`) or any other argument. Cached: a receiver's URL is read
    once, not per message."""
    scheme = url_scheme(url)
    if scheme not in _SCHEMES:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 -- raises on a port that is not a number in range
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    headers: dict[str, str] = {}
    verify = True
    for key, value in _query_pairs(parts.query):
        name = key[1:]
        if key.startswith("+") and _HEADER_NAME.fullmatch(name):
            headers[name] = value
        elif key.lower() == "verify" and value.lower() in _BOOLS:
            verify = _BOOLS[value.lower()]
        elif key.lower() == "method" and value.upper() == "POST":
            continue
        elif key.lower() not in ("cto", "rto"):  # timeouts: every send uses the receiver's own
            return None
    target = f"{'https' if scheme == 'jsons' else 'http'}://{parts.netloc}{parts.path}"
    return PlainWebhook(target, tuple(headers.items()), verify)


def request_for(url: str, title: str, body: str, *, idempotency_key: str, timeout_s: float
                ) -> tuple[str, bytes, dict[str, str], bool] | None:
    """(target, body bytes, headers, verify TLS) as Apprise would send them, or None when Apprise must.
    `timeout_s` is applied by the caller; it is a parameter so the signature matches the Apprise path."""
    hook = plain_webhook(url)
    if hook is None or len(title) > _TITLE_MAX or len(body) > _BODY_MAX:
        return None
    payload = {"version": _JSON_VERSION, "title": title, "message": body, "attachments": [],
               "type": apprise.NotifyType.INFO.value}
    headers = {"User-Agent": _USER_AGENT, "Content-Type": "application/json", **dict(hook.headers),
               "Idempotency-Key": idempotency_key}
    return hook.target, json.dumps(payload).encode(), headers, hook.verify


def _client(verify: bool) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        # A burst of alerts must not open dozens of connections at once (a small receiver's listen backlog
        # overflows and connects time out): at most 8 in flight, as many as Apprise's worker threads were.
        client = _clients[loop] = httpx.AsyncClient(verify=True, follow_redirects=True,
                                                    limits=httpx.Limits(max_connections=8,
                                                                        max_keepalive_connections=8))
    if not verify:  # rare (…?verify=no): its own short-lived client, never the shared verifying one
        return httpx.AsyncClient(verify=False, follow_redirects=True)
    return client


async def post(url: str, title: str, body: str, *, idempotency_key: str, timeout_s: float
               ) -> httpx.Response | None:
    """The webhook's answer when sent here; None when it is not a plain JSON webhook (send it via Apprise).
    Connection errors and timeouts raise httpx.HTTPError."""
    request = request_for(url, title, body, idempotency_key=idempotency_key, timeout_s=timeout_s)
    if request is None:
        return None
    target, content, headers, verify = request
    client = _client(verify)
    try:
        return await client.post(target, content=content, headers=headers, timeout=timeout_s)
    finally:
        if client is not _clients.get(asyncio.get_running_loop()):
            await client.aclose()
