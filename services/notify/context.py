"""Routing context of one dispatcher pass: active silences, and the open alerts that could inhibit its alerts."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ARRAY, Text, and_, any_, bindparam, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify import repository as repo
from services.notify.config import InhibitRule, NotifyConfig
from services.notify.domain import AlertState, Silence, Target, alert_labels, matches_all, targets
from services.notify.domain.matchers import LABEL_FIELDS
from services.notify.models import alerts
from shared.db.uow import UnitOfWork

SEP = "\x1f"  # joins a rule's `equal` label values into one comparable string (never inside a label value)
CANDIDATE_LIMIT = 5000


def _label(name: str):
    """SQL for an alert's label value, as alert_labels() reads it: typed field first, then free label."""
    free = alerts.c.labels[name].astext
    if name in LABEL_FIELDS:
        return func.coalesce(func.nullif(alerts.c[name], ""), free, "")
    return func.coalesce(free, "")


def _equal_key(labels: dict[str, str], rule: InhibitRule) -> str:
    return SEP.join(labels.get(n) or "" for n in rule.equal)


def _sql_equal_key(rule: InhibitRule):
    return func.concat_ws(SEP, *[_label(n) for n in rule.equal])


def _targeting(alert_list: Sequence[AlertState], config: NotifyConfig) -> list[tuple[InhibitRule, set[str]]]:
    """Each inhibition rule that targets some of these alerts, with those alerts' `equal` label values."""
    found = []
    for rule in config.inhibit_rules:
        values = {_equal_key(lb, rule) for lb in map(alert_labels, alert_list) if matches_all(lb, rule.target_matchers)}
        if values:
            found.append((rule, values))
    return found


async def inhibition_candidates(session: AsyncSession, alert_list: Sequence[AlertState], config: NotifyConfig
                                ) -> list[AlertState]:
    """Open alerts sharing the `equal` labels of a rule that targets one of these alerts (only those can
    inhibit them), in one query for the whole pass: the cost follows the alerts' neighbours and not their number."""
    rules = _targeting(alert_list, config)
    if not rules:
        return []
    same = [_sql_equal_key(rule) == any_(bindparam(f"equal_{i}", sorted(values), type_=ARRAY(Text)))
            if rule.equal else true() for i, (rule, values) in enumerate(rules)]
    light = [c for c in alerts.c if c.name not in ("explanation", "history")]
    stmt = select(*light).where(and_(alerts.c.status != "resolved", or_(*same))).limit(CANDIDATE_LIMIT)
    rows = (await session.execute(stmt)).mappings()
    found = [repo.to_state({**row, "explanation": {}, "history": []}) for row in rows]
    return sorted(found, key=lambda a: a.key)  # the reported inhibitor does not depend on the plan's row order


def sources_for(alert: AlertState, candidates: Iterable[tuple[AlertState, dict[str, str]]], config: NotifyConfig
                ) -> list[AlertState]:
    """The candidates (with their labels) that share the `equal` labels of a rule targeting this alert (never
    the alert itself)."""
    labels = alert_labels(alert)
    rules = [r for r in config.inhibit_rules if matches_all(labels, r.target_matchers)]
    if not rules:
        return []
    wanted = [(r, _equal_key(labels, r)) for r in rules]
    return [c for c, c_labels in candidates if c.id != alert.id
            and any(_equal_key(c_labels, r) == value for r, value in wanted)]


@dataclass
class Context:
    """One pass (one transaction, one config, one `now`): an alert revision's targets are computed once,
    so routing and the flush that follows in the same pass share the inhibition query."""

    session: AsyncSession
    silences: list[Silence]
    known: dict[str, AlertState] = field(default_factory=dict)  # alerts read (under this transaction) this pass
    _found: dict[tuple[str, int, str], list[Target]] = field(default_factory=dict)

    @staticmethod
    def _key(alert: AlertState) -> tuple[str, int, str]:
        return alert.id, alert.revision, alert.status

    async def prepare(self, alert_list: Iterable[AlertState], config: NotifyConfig, now: datetime) -> None:
        """Compute the targets of many alerts with one inhibition query (a pass's alerts, a flush's members)."""
        todo = {self._key(a): a for a in alert_list if self._key(a) not in self._found}
        if not todo:
            return
        found = await inhibition_candidates(self.session, list(todo.values()), config)
        candidates = [(c, alert_labels(c)) for c in found]
        for key, alert in todo.items():
            sources = sources_for(alert, candidates, config) if candidates else []
            self._found[key] = targets(alert, config, open_alerts=sources, silences=self.silences, now=now)

    async def targets(self, alert: AlertState, config: NotifyConfig, now: datetime) -> list[Target]:
        if self._key(alert) not in self._found:
            await self.prepare([alert], config, now)
        return self._found[self._key(alert)]


async def load_context(uow: UnitOfWork, now: datetime) -> Context:
    return Context(uow.session, await repo.active_silences(uow.session, now))
