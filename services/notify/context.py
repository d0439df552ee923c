"""Routing context of one dispatcher pass: open alerts (inhibition sources) and active silences."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notify import repository as repo
from services.notify.config import NotifyConfig
from services.notify.domain import AlertState, Silence, Target, targets
from shared.db.uow import UnitOfWork


@dataclass
class Context:
    """What routing needs besides the alert: open alerts (inhibition sources) and silences, read once a tick."""

    open_alerts: list[AlertState]
    silences: list[Silence]

    def targets(self, alert: AlertState, config: NotifyConfig, now: datetime) -> list[Target]:
        return targets(alert, config, open_alerts=self.open_alerts, silences=self.silences, now=now)


async def load_context(uow: UnitOfWork, now: datetime) -> Context:
    return Context(await repo.open_alerts(uow.session), await repo.active_silences(uow.session, now))
