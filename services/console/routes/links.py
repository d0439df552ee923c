"""Acknowledge links from notifications (`/a/<token>`): GET shows the alert and a confirm form and changes
nothing, so link scanners acknowledge nothing; POST acknowledges as the message's receiver, once."""
from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import APIRouter, Request

from services.console.alerts_words import VERDICTS, with_verdict
from services.console.guard import CSRF_FIELD, link_csrf, same_origin, submitted_csrf
from services.console.upstream import UpstreamDown
from services.console.web import Refused, render, upstream

router = APIRouter(include_in_schema=False)
MAX_TOKEN = 100


def _limited(request: Request, token: str) -> None:
    client = request.client.host if request.client else "?"
    if len(token) > MAX_TOKEN or not request.app.state.link_rate.allow(client):
        raise Refused(429, "too_many")


@router.get("/a/{token}")
async def confirm(request: Request, token: str):
    _limited(request, token)
    try:
        reply = await upstream(request).call("GET", "notify", f"/ack-links/{quote(token, safe='')}")
    except UpstreamDown as exc:
        raise Refused(503, "service_down", what=str(exc)) from None
    if reply.status == 404:
        raise Refused(404, "link_gone")
    if not reply.ok:
        raise Refused(502, "refused", why=reply.message)
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
    if reply.status == 404:
        raise Refused(404, "link_gone")
    if not reply.ok:
        raise Refused(502, "refused", why=reply.message)
    return render(request, "link.html", link=reply.body, token=token, verdicts=VERDICTS, link_csrf=expected,
                  done=True, csrf_field=CSRF_FIELD)
