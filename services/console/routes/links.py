"""Acknowledge links from notifications (`/a/<token>`): GET shows the alert and a confirm form and changes
nothing, so link scanners acknowledge nothing; POST acknowledges as the message's receiver, once."""
from __future__ import annotations

import hmac
import re
from urllib.parse import quote

from fastapi import APIRouter, Request

from services.console.alerts_words import VERDICTS, with_verdict
from services.console.guard import CSRF_FIELD, link_csrf, same_origin, submitted_csrf
from services.console.upstream import UpstreamDown
from services.console.web import Refused, render, upstream

router = APIRouter()
MAX_TOKEN = 100
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")  # notify's tokens are URL-safe base64: nothing else can be one


def _limited(request: Request, token: str) -> None:
    client = request.client.host if request.client else "?"
    if len(token) > MAX_TOKEN or not request.app.state.link_rate.allow(client):
        raise Refused(429, "too_many")
    if not TOKEN.fullmatch(token):  # control characters, spaces …: a link that cannot exist, not an upstream fault
        raise Refused(404, "link_gone")


def _refused(status: int, message: str | None) -> Refused:
    """notify's answer as the page's: a 4xx means the link is not (or no longer) one; only its 5xx is a 502."""
    return Refused(404, "link_gone") if 400 <= status < 500 else Refused(502, "refused", why=message)


@router.get("/a/{token}")
async def confirm(request: Request, token: str):
    _limited(request, token)
    try:
        reply = await upstream(request).call("GET", "notify", f"/ack-links/{quote(token, safe='')}")
    except UpstreamDown as exc:
        raise Refused(503, "service_down", what=str(exc)) from None
    if not reply.ok:
        raise _refused(reply.status, reply.message)
    return render(request, "link.html", link=reply.body, token=token, verdicts=VERDICTS,
                  link_csrf=link_csrf(request.app.state.secret, token), done=False)


@router.post("/a/{token}")
async def acknowledge(request: Request, token: str):
    _limited(request, token)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    expected = link_csrf(request.app.state.secret, token)
    given = submitted_csrf(request, form) or ""
    if not same_origin(request, request.app.state.settings.public_url) or not hmac.compare_digest(
            given.encode(), expected.encode()):
        raise Refused(403, "forbidden_csrf")
    body = {"comment": with_verdict(form.get("comment", ""), form.get("verdict", "")) or None}
    try:
        reply = await upstream(request).call("POST", "notify", f"/ack-links/{quote(token, safe='')}", json=body)
    except UpstreamDown as exc:
        raise Refused(503, "service_down", what=str(exc)) from None
    if not reply.ok:
        raise _refused(reply.status, reply.message)
    return render(request, "link.html", link=reply.body, token=token, verdicts=VERDICTS, link_csrf=expected,
                  done=True, csrf_field=CSRF_FIELD)
