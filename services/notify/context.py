"""Routing context of one dispatcher pass: active silences, and the open alerts that could inhibit an alert."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import repository as repo
from services.notify.config import NotifyConfig
from services.notify.domain import AlertState, Silence, Target, alert_labels, matches_all, targets
from services.notify.domain.matchers import LABEL_FIELDS
from services.notify.models import alerts
from shared.db.uow import UnitOfWork


def _label(name: str):
    """SQL for an alert's label value, as alert_labels() reads it: typed field first, then free label."""
    free = alerts.c.labels[name].astext
    if name in LABEL_FIELDS:
        return func.coalesce(func.nullif(alerts.c[name], ""), free, "")
    return func.coalesce(free, "")


async def inhibition_sources(session: AsyncSession, alert: AlertState, config: NotifyConfig) -> list[AlertState]:
    """Open alerts sharing the `equal` labels of a rule that targets this alert (only those can inhibit it),
    so the cost follows the alert's neighbours, not the number of open alerts."""
    labels = alert_labels(alert)
    rules = [r for r in config.inhibit_rules if matches_all(labels, r.target_matchers)]
    if not rules:
        return []
    same = [and_(*[_label(n) == (labels.get(n) or "") for n in r.equal]) if r.equal else true() for r in rules]
    light = [c for c in alerts.c if c.name not in ("explanation", "history")]
    stmt = select(*light).where(and_(alerts.c.status != "resolved", alerts.c.id != alert.id, or_(*same)))
    rows = (await session.execute(stmt.limit(1000))).mappings()
    return [repo.to_state({**row, "explanation": {}, "history": []}) for row in rows]


@dataclass
class Context:
    """One pass (one transaction, one config, one `now`): an alert revision's targets are computed once,
    so routing and the flush that follows in the same pass share the inhibition query."""

    session: AsyncSession
    silences: list[Silence]
    known: dict[str, AlertState] = field(default_factory=dict)  # alerts read (under this transaction) this pass
    _found: dict[tuple[str, int, str], list[Target]] = field(default_factory=dict)

    async def targets(self, alert: AlertState, config: NotifyConfig, now: datetime) -> list[Target]:
        key = (alert.id, alert.revision, alert.status)
        if key not in self._found:
            sources = await inhibition_sources(self.session, alert, config)
            self._found[key] = targets(alert, config, open_alerts=sources, silences=self.silences, now=now)
        return self._found[key]


async def load_context(uow: UnitOfWork, now: datetime) -> Context:
    return Context(uow.session, await repo.active_silences(uow.session, now))
