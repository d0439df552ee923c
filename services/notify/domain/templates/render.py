"""Notification text per channel kind and locale: short SMS, rich chat (markdown) and email, JSON webhook."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from services.notify.domain.lifecycle import SEVERITY_RANK, AlertState
from services.notify.domain.templates.texts import FIGURES, text

# Acknowledge tokens by alert id when the platform has a public (console) address, else None (§11).
Tokens = Mapping[str, str] | None
SMS_LIMIT = 140
MAX_FIGURES = 6
MAX_DIGEST_LINES = 30


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str


def alert_link(base_url: str, alert_id: str, tokens: Tokens = None) -> str:
    """The alert's page: in the console (§11) when messages carry acknowledge links, else in the notify API."""
    path = "/alerts/" if tokens is not None else "/v1/alerts/"
    return f"{base_url.rstrip('/')}{path}{quote(alert_id, safe='')}"


def confirm_link(base_url: str, token: str) -> str:
    """The single-use acknowledge link: its GET only shows a confirm form, so link previews change nothing."""
    return f"{base_url.rstrip('/')}/a/{token}"


def ack_link(base_url: str, alert_id: str) -> str:
    """The acknowledge endpoint (POST with an ops token): for machines and the how-to line, never a bare link,
    since chat link previews fetch links and an acknowledgement must name a person."""
    return f"{alert_link(base_url, alert_id)}/ack"


def render(alerts: AlertState | Sequence[AlertState], channel_kind: str, locale: str, *,
           base_url: str, tokens: Tokens = None) -> Rendered:
    """Title and body of one message: a single alert, or a digest when given several. With `tokens` the links
    go to the console at `base_url` and each firing alert carries its acknowledge link."""
    items = [alerts] if isinstance(alerts, AlertState) else _ordered(alerts)
    if not items:
        raise ValueError("nothing to render")
    if channel_kind == "webhook":
        return Rendered(_title(items, locale), _webhook_body(items, locale, base_url, tokens))
    if channel_kind == "sms":
        return Rendered("", _sms(items, locale, base_url, tokens))
    markdown = channel_kind == "chat"
    if len(items) == 1:
        return Rendered(_title(items, locale), _detail(items[0], locale, base_url, tokens, markdown=markdown))
    return Rendered(_title(items, locale), _digest(items, locale, base_url, tokens, markdown=markdown))


def _ordered(alerts: Sequence[AlertState]) -> list[AlertState]:
    # Open alerts first, most severe first, then by key so the order never depends on arrival.
    return sorted(alerts, key=lambda a: (a.status == "resolved", -SEVERITY_RANK.get(a.severity, 0), a.key))


def _tag(alert: AlertState, locale: str) -> str:
    word = text(locale, "resolved" if alert.status == "resolved" else alert.severity)
    return f"【{word}】" if locale == "zh" else f"[{word}] "


def _subject(alert: AlertState, *, shared_location: str | None = None) -> str:
    # In a store digest the store is in the title already: name only the SKU.
    location = None if alert.location == shared_location else alert.location
    where = " @ ".join(v for v in (alert.sku, location) if v)
    return where or alert.supplier_id or alert.po_id or alert.key


def _shared_location(items: list[AlertState]) -> str | None:
    locations = {a.location for a in items}
    return locations.pop() if len(locations) == 1 else None


def _title(items: list[AlertState], locale: str) -> str:
    if len(items) == 1:
        alert = items[0]
        return f"{_tag(alert, locale)}{text(locale, alert.type)} · {_subject(alert)}"
    title = _digest_heading(items, locale)
    critical = sum(1 for a in items if a.severity == "critical" and a.status != "resolved")
    if critical:
        count = text(locale, "critical_count", n=critical)
        title += f"（{count}）" if locale == "zh" else f" ({count})"
    return title


def _digest_heading(items: list[AlertState], locale: str) -> str:
    """'N alerts at store-12' when they share a location, 'for supplier X' when they share a supplier."""
    for field, word in (("location", "digest_at"), ("supplier_id", "digest_for")):
        values = {getattr(a, field) for a in items}
        if len(values) == 1 and None not in values:
            return text(locale, word, n=len(items), where=values.pop())
    return text(locale, "digest", n=len(items))


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def key_figures(explanation: Mapping[str, Any], locale: str) -> list[tuple[str, str]]:
    """Up to six (label, value) pairs from the explanation: known inventory figures first, then the rest."""
    labels = FIGURES.get(locale, FIGURES["en"])
    scalar = {k: v for k, v in explanation.items() if isinstance(v, str | int | float | bool) and v != ""}
    ordered = [k for k in labels if k in scalar] + [k for k in scalar if k not in labels]
    return [(labels.get(k, k.replace("_", " ")), _number(scalar[k])) for k in ordered[:MAX_FIGURES]]


def _facts(alert: AlertState, locale: str) -> list[tuple[str, str]]:
    facts = [(text(locale, "severity"), text(locale, alert.severity)),
             (text(locale, "status"), text(locale, alert.status))]
    for name in ("sku", "location", "supplier_id", "po_id", "category"):
        if getattr(alert, name):
            facts.append((text(locale, name), str(getattr(alert, name))))
    if alert.value_at_risk is not None:
        facts.append((text(locale, "value_at_risk"), _number(float(alert.value_at_risk))))
    facts.append((text(locale, "first_fired_at"), _number(alert.first_fired_at)))
    return facts


def _detail(alert: AlertState, locale: str, base_url: str, tokens: Tokens, *, markdown: bool) -> str:
    sep = "：" if locale == "zh" else ": "
    lines = [f"**{alert.summary}**" if markdown else alert.summary, ""]
    lines += [f"- {k}{sep}{v}" if markdown else f"{k}{sep}{v}" for k, v in _facts(alert, locale)]
    figures = key_figures(alert.explanation, locale)
    if figures:
        lines += ["", f"**{text(locale, 'figures')}**" if markdown else text(locale, "figures")]
        lines += [f"- {k}{sep}{v}" for k, v in figures]
    link = alert_link(base_url, alert.id, tokens)
    lines += ["", f"[{text(locale, 'view')}]({link})" if markdown else f"{text(locale, 'view')}{sep}{link}"]
    if tokens is not None and alert.id in tokens:
        ack = confirm_link(base_url, tokens[alert.id])
        lines.append(f"[{text(locale, 'ack')}]({ack})" if markdown else f"{text(locale, 'ack')}{sep}{ack}")
    elif alert.status == "firing":
        lines.append(text(locale, "ack_how", url=ack_link(base_url, alert.id)))
    return "\n".join(lines)


def _digest(items: list[AlertState], locale: str, base_url: str, tokens: Tokens, *, markdown: bool) -> str:
    lines, shared = [], _shared_location(items)
    sep = "：" if locale == "zh" else ": "
    for alert in items[:MAX_DIGEST_LINES]:
        subject = _subject(alert, shared_location=shared)
        line = f"- {_tag(alert, locale)}{text(locale, alert.type)} · {subject}{sep}{alert.summary}"
        link = alert_link(base_url, alert.id, tokens)
        line += f" [{text(locale, 'view_short')}]({link})" if markdown else f" ({link})"
        if tokens is not None and alert.id in tokens:
            ack = confirm_link(base_url, tokens[alert.id])
            line += f" [{text(locale, 'ack_short')}]({ack})" if markdown else f" ({text(locale, 'ack_short')}: {ack})"
        lines.append(line)
    if len(items) > MAX_DIGEST_LINES:
        lines.append(text(locale, "more", n=len(items) - MAX_DIGEST_LINES))
    if tokens is None and any(a.status == "firing" for a in items):
        lines += ["", text(locale, "ack_how", url=f"{base_url.rstrip('/')}/v1/alerts/<id>/ack")]
    return "\n".join(lines)


def _fit(head: str, middle: str, tail: str, limit: int = SMS_LIMIT) -> str:
    """head + middle + tail within `limit` chars: shorten the middle first, then drop the tail."""
    if len(head) + len(middle) + len(tail) <= limit:
        return head + middle + tail
    room = limit - len(head) - len(tail) - 1
    if room >= 12:
        return head + middle[:room].rstrip() + "…" + tail
    if tail:
        return _fit(head, middle, "", limit)
    whole = head + middle
    return whole if len(whole) <= limit else whole[: limit - 1] + "…"


def _sms(items: list[AlertState], locale: str, base_url: str, tokens: Tokens) -> str:
    sep = "：" if locale == "zh" else ": "
    if len(items) == 1:
        alert = items[0]
        head = f"{_tag(alert, locale)}{text(locale, alert.type)} {_subject(alert)}{sep}"
        link = alert_link(base_url, alert.id, tokens)
        tail = "" if alert.status == "resolved" else f" {link}"
        if tokens is not None and alert.id in tokens:
            # Both links when they fit beside a readable summary; else the one that acts, which shows the alert.
            ack = confirm_link(base_url, tokens[alert.id])
            both = f" {link} {ack}"
            tail = both if len(head) + len(both) + 12 <= SMS_LIMIT else f" {ack}"
        return _fit(head, alert.summary, tail)
    shared = _shared_location(items)
    names = "; ".join(f"{_subject(a, shared_location=shared)} {text(locale, a.type)}" for a in items)
    return _fit(_title(items, locale) + sep, names, "")


def _webhook_body(items: list[AlertState], locale: str, base_url: str, tokens: Tokens) -> str:
    """Machine-readable body for generic JSON/form/XML webhooks (the title stays human-readable)."""
    payload = [
        {
            "id": a.id, "key": a.key, "type": a.type, "severity": a.severity, "status": a.status,
            "sku": a.sku, "location": a.location, "supplier_id": a.supplier_id, "po_id": a.po_id,
            "summary": a.summary, "value_at_risk": a.value_at_risk, "revision": a.revision,
            "first_fired_at": a.first_fired_at.isoformat(), "last_fired_at": a.last_fired_at.isoformat(),
            "figures": dict(key_figures(a.explanation, locale)), "explanation": dict(a.explanation),
            "url": alert_link(base_url, a.id, tokens),
            "ack_url": ack_link(base_url, a.id) if tokens is None else (
                confirm_link(base_url, tokens[a.id]) if a.id in tokens else None),
        }
        for a in items
    ]
    return json.dumps({"alerts": payload}, ensure_ascii=False, sort_keys=True, default=str)
