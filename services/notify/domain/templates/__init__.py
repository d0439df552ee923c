"""Notification templates: render(alert or alerts, channel kind, locale) → title and body."""

from services.notify.domain.templates.render import (
    SMS_LIMIT,
    Rendered,
    ack_link,
    alert_link,
    key_figures,
    render,
)

__all__ = ["SMS_LIMIT", "Rendered", "ack_link", "alert_link", "key_figures", "render"]
