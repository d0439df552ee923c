"""Alerts: the list, one alert with acknowledge (comment and verdict), resolve, silence, and its delivery log."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request

from services.console.alerts_words import VERDICTS, with_verdict
from services.console.web import Post, Refused, SignedIn, back_to, render, upstream

router = APIRouter()
ALERT_STATUSES = ("firing", "acknowledged", "resolved")


@router.get("/alerts")
async def alerts(request: Request, session: SignedIn, status: str = "firing", severity: str = "", sku: str = "",
                 location: str = "", cursor: str = ""):
    reply = await upstream(request).get(
        "notify", "/v1/alerts", session.token, status=status if status in ALERT_STATUSES else None,
        severity=severity or None, sku=sku.strip() or None, location=location.strip() or None,
        limit=request.app.state.settings.page_size, cursor=cursor or None)
    return render(request, "alerts.html", session, items=reply.items(), statuses=ALERT_STATUSES,
                  problem=None if reply.ok else reply.message,
                  filters={"status": status, "severity": severity, "sku": sku, "location": location},
                  next_cursor=reply.body.get("next_cursor") if reply.ok else None)


@router.get("/alerts/{alert_id}")
async def alert(request: Request, session: SignedIn, alert_id: str):
    reply = await upstream(request).get("notify", f"/v1/alerts/{quote(alert_id, safe='')}", session.token)
    if reply.status == 404:
        raise Refused(404, "not_found")
    if not reply.ok:
        raise Refused(502, "refused", why=reply.message)
    return render(request, "alert.html", session, a=reply.body, verdicts=VERDICTS,
                  may_act=session.may("ops"))


async def _act(request: Request, post: Post, alert_id: str, action: str, body: dict) -> None:
    if not post.session.may("ops"):
        raise Refused(403, "not_allowed")
    path = f"/v1/alerts/{quote(alert_id, safe='')}/{action}"
    reply = await upstream(request).post("notify", path, post.session.token, body)
    if not reply.ok:
        raise Refused(reply.status if reply.status in (403, 404, 409) else 502, "refused", why=reply.message)


@router.post("/alerts/{alert_id}/ack")
async def acknowledge(request: Request, post: Post, alert_id: str):
    comment = with_verdict(post.form.get("comment", ""), post.form.get("verdict", ""))
    await _act(request, post, alert_id, "ack", {"comment": comment or None})
    return back_to(f"/alerts/{quote(alert_id, safe='')}")


@router.post("/alerts/{alert_id}/resolve")
async def resolve(request: Request, post: Post, alert_id: str):
    await _act(request, post, alert_id, "resolve", {"comment": post.form.get("comment", "").strip()[:2000] or None})
    return back_to(f"/alerts/{quote(alert_id, safe='')}")


@router.post("/alerts/{alert_id}/silence")
async def silence(request: Request, post: Post, alert_id: str):
    """Silence alerts like this one for some hours: its type and subject as Alertmanager matchers."""
    if not post.session.may("ops"):
        raise Refused(403, "not_allowed")
    found = await upstream(request).get("notify", f"/v1/alerts/{quote(alert_id, safe='')}", post.session.token)
    if not found.ok:
        raise Refused(404, "not_found")
    try:
        hours = min(max(float(post.form.get("hours", "4")), 0.25), 24 * 14)
    except ValueError:
        hours = 4.0
    ends = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
    reason = post.form.get("reason", "").strip()[:500] or "silenced in the console"
    labels = ("type", "sku", "location", "supplier_id", "po_id")
    matchers = [{"name": name, "value": str(found.body[name])} for name in labels if found.body.get(name)]
    reply = await upstream(request).post("notify", "/v1/silences", post.session.token,
                                         {"matchers": matchers, "ends_at": ends, "reason": reason})
    if not reply.ok:
        raise Refused(reply.status if reply.status in (403, 422) else 502, "refused", why=reply.message)
    return back_to(f"/alerts/{quote(alert_id, safe='')}")
