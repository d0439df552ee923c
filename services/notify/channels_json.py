"""Plain JSON webhooks (Apprise's json:// and jsons://) sent on the event loop with a pooled connection.

Apprise sends them with `requests` in a worker thread and a new connection per message. Alerts are on a
latency budget (CONTRACT §6, issue 7), so the common case — no credentials, POST, no payload remapping, a
title and body within the plugin's limits — is sent here with the same body, headers and timeouts, parsed
by Apprise itself (its own URL parser and defaults). Anything else returns None and goes through Apprise.
"""
from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import apprise
import httpx

from services.notify.domain.channels import url_scheme

_SCHEMES = {"json", "jsons"}
_clients: WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = WeakKeyDictionary()


@lru_cache(maxsize=256)
def _plugin(url: str) -> Any:
    """Apprise's reading of the URL (cached: a receiver's URL is parsed once, not per message)."""
    return apprise.Apprise.instantiate(url)


def _eligible(plugin: Any, title: str, body: str) -> bool:
    return (plugin is not None and plugin.method == "POST" and not plugin.user and not plugin.payload_extras
            and not plugin.params and len(title) <= plugin.title_maxlen and len(body) <= plugin.body_maxlen)


def request_for(url: str, title: str, body: str, *, idempotency_key: str, timeout_s: float
                ) -> tuple[str, bytes, dict[str, str], bool] | None:
    """(target, body bytes, headers, verify TLS) as Apprise would send them, or None when Apprise must."""
    if url_scheme(url) not in _SCHEMES:
        return None
    sep = "&" if "?" in url else "?"
    plugin = _plugin(f"{url}{sep}cto={timeout_s:g}&rto={timeout_s:g}")
    if not _eligible(plugin, title, body):
        return None
    payload = {"version": plugin.json_version, "title": title, "message": body, "attachments": [],
               "type": apprise.NotifyType.INFO.value}
    headers = {"User-Agent": plugin.app_id, "Content-Type": "application/json", **plugin.headers,
               "Idempotency-Key": idempotency_key}
    port = f":{plugin.port}" if isinstance(plugin.port, int) else ""
    target = f"{'https' if plugin.secure else 'http'}://{plugin.host}{port}{plugin.fullpath}"
    return target, json.dumps(payload).encode(), headers, plugin.verify_certificate


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
