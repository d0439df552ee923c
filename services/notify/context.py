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


def _sql_source(rule: InhibitRule) -> list:
    """The rule's plain (in)equality source matchers in SQL: they narrow the read; regexes are checked in memory."""
    plain = [m for m in rule.source_matchers if m.op in ("=", "!=")]
    return [_label(m.name) == m.value if m.op == "=" else _label(m.name) != m.value for m in plain]


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
    same = [and_(_sql_equal_key(rule) == any_(bindparam(f"equal_{i}", sorted(values), type_=ARRAY(Text)))
                 if rule.equal else true(), *_sql_source(rule)) for i, (rule, values) in enumerate(rules)]
    light = [c for c in alerts.c if c.name not in ("explanation", "history")]
    stmt = select(*light).where(and_(alerts.c.status != "resolved", or_(*same))).limit(CANDIDATE_LIMIT)
    rows = (await session.execute(stmt)).mappings()
    found = [repo.to_state({**row, "explanation": {}, "history": []}) for row in rows]
    return sorted(found, key=lambda a: a.key)  # the reported inhibitor does not depend on the plan's row order


class Candidates:
    """Possible inhibition sources of a pass, indexed per rule by their `equal` label values."""

    def __init__(self, found: Iterable[AlertState], config: NotifyConfig) -> None:
        self.config = config
        self.index: list[dict[str, list[AlertState]]] = [{} for _ in config.inhibit_rules]
        for alert in found:  # sorted by key: the reported inhibitor does not depend on the plan's row order
            labels = alert_labels(alert)
            for i, rule in enumerate(config.inhibit_rules):
                if matches_all(labels, rule.source_matchers):
                    self.index[i].setdefault(_equal_key(labels, rule), []).append(alert)

    def sources_for(self, alert: AlertState) -> list[AlertState]:
        """Those sharing the `equal` labels of a rule that targets this alert (never the alert itself)."""
        labels = alert_labels(alert)
        found: dict[str, AlertState] = {}
        for i, rule in enumerate(self.config.inhibit_rules):
            if matches_all(labels, rule.target_matchers):
                found.update((c.key, c) for c in self.index[i].get(_equal_key(labels, rule), ()) if c.id != alert.id)
        return [found[key] for key in sorted(found)]


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
        candidates = Candidates(await inhibition_candidates(self.session, list(todo.values()), config), config)
        for key, alert in todo.items():
            sources = candidates.sources_for(alert)
            self._found[key] = targets(alert, config, open_alerts=sources, silences=self.silences, now=now)

    async def targets(self, alert: AlertState, config: NotifyConfig, now: datetime) -> list[Target]:
        if self._key(alert) not in self._found:
            await self.prepare([alert], config, now)
        return self._found[self._key(alert)]


async def load_context(uow: UnitOfWork, now: datetime) -> Context:
    return Context(uow.session, await repo.active_silences(uow.session, now))
