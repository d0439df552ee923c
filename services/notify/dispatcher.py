"""The dispatcher task: alerts → routes → groups → holds → templates → delivery rows → sends; escalation."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import text

from services.notify import ack_links, groupstore
from services.notify import repository as repo
from services.notify.channels_apprise import warm_up
from services.notify.config import NotifyConfig, Receiver
from services.notify.context import Context, load_context
from services.notify.domain import (
    AlertState,
    FlushDecision,
    Target,
    channel_kind,
    delivery_key,
    digest_key,
    flush_due,
    new_group,
    render,
    with_alert,
)
from services.notify.domain.channels import url_scheme
from services.notify.escalate import escalate
from services.notify.flush import flush_members
from services.notify.handlers import utcnow
from services.notify.passwrites import PassWrites, severity_rank
from services.notify.reload import ConfigSource
from services.notify.sender import Sender
from services.notify.settings import NotifySettings
from shared.db.uow import UnitOfWork
from shared.service import ServiceRuntime

log = logging.getLogger(__name__)
DROPPED = ("silenced", "inhibited", "muted")
LEADER_LOCK = "SELECT pg_try_advisory_lock(hashtext('replenish-notify-dispatcher'))"


class Dispatcher:
    def __init__(self, runtime: ServiceRuntime, settings: NotifySettings, config: ConfigSource) -> None:
        self.runtime, self.settings, self.config = runtime, settings, config
        self.sender = Sender(runtime, settings)
        self.groups: dict[str, groupstore.Group] = {}
        self.wake = asyncio.Event()
        self.fresh: list[dict[str, Any]] = []  # deliveries claimed in the open transaction, sent after commit
        self._last_escalation = 0.0
        self._last_reload = 0.0
        self._last_send_due = 0.0
        self._silences: set[str] | None = None  # active silence ids at the last check
        self.writes = PassWrites()  # what the open pass writes at its end

    @property
    def base_url(self) -> str:
        """Where acknowledge links point: REPLENISH_PUBLIC_URL, else the config's public_url, else our address."""
        return self.public_url or self.runtime.settings.base_url

    @property
    def public_url(self) -> str | None:
        """The console's public address when one is configured (§11): messages then link to its pages and
        carry acknowledge links; without it they say how to acknowledge through the API."""
        s, cfg = self.runtime.settings, self.config.current
        return s.public_url or (cfg.public_url if "public_url" in cfg.model_fields_set else None)

    async def run(self, runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        """Background task: one leader among replicas (advisory lock on a held connection), then tick."""
        async with runtime.engine.connect() as conn:
            while not stop.is_set() and not (await conn.scalar(text(LEADER_LOCK))):
                await conn.commit()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 2.0)
            await conn.commit()
            await self._reload_groups()
            await asyncio.to_thread(warm_up)
            while not stop.is_set():
                self.wake.clear()
                try:
                    await self.tick(utcnow())
                except Exception:
                    log.exception("dispatcher tick failed; groups reloaded from the database")
                    self.fresh, self.writes = [], PassWrites()
                    await self._reload_groups()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.settings.tick_s)
            await self.sender.drain(self.settings.send_timeout_s + 1)

    async def _reload_groups(self) -> None:
        async with self.runtime.uow() as uow:
            stored = await repo.load_groups(uow.session)
        self.groups = {key: groupstore.load(state) for key, state in stored.items()}

    async def tick(self, now: datetime) -> None:
        clock = asyncio.get_running_loop().time()
        if clock - self._last_reload >= self.settings.reload_every_s:
            self._last_reload = clock
            self.config.maybe_reload()
        config = self.config.current
        await self.dispatch(config, now)
        self._send_fresh()
        if clock - self._last_escalation >= self.settings.escalation_every_s:
            self._last_escalation = clock
            async with self.runtime.uow() as uow:
                await self._silences_ended(uow, now)
                await escalate(uow, self, config, now)
                await self._write(uow)
            self._send_fresh()
        if clock - self._last_send_due >= self.settings.tick_s:  # retries: not on every wake of a burst
            self._last_send_due = clock
            await self.sender.send_due(config, now)

    async def dispatch(self, config: NotifyConfig, now: datetime) -> tuple[int, int]:
        """Route changed alerts into groups and flush the due groups in ONE transaction: with group_wait 0s
        the alert that just arrived is routed and claimed for sending in the same commit (latency).

        The pass reads what it needs up front (changed alerts, silences, inhibition candidates of all its
        alerts in one query), decides in memory, and writes in a fixed number of statements at the end, so a
        burst of alerts costs about the round trips of one."""
        async with self.runtime.uow() as uow:
            rows = await repo.dirty_alerts(uow.session)
            if not rows and not self._due(now):
                return 0, 0
            context = await load_context(uow, now)
            routed = await self.route_changed(uow, rows, config, context, now)
            flushed = await self.flush_due_groups(uow, config, context, now)
            await self._write(uow)
        return routed, flushed

    def _send_fresh(self) -> None:
        rows, self.fresh = self.fresh, []
        self.sender.start(rows)

    async def _write(self, uow: UnitOfWork) -> None:
        """Write the open pass (inside its transaction); its new deliveries are sent once it commits."""
        writes, self.writes = self.writes, PassWrites()
        self.fresh += await writes.write(uow)

    # --- alerts into groups -------------------------------------------------------------------------

    async def route_changed(self, uow: UnitOfWork, rows: list, config: NotifyConfig, context: Context,
                            now: datetime) -> int:
        changed = [repo.to_state(row) for row in rows]
        context.known.update((alert.id, alert) for alert in changed)
        await context.prepare(changed, config, now)
        for alert in sorted(changed, key=lambda a: severity_rank([a])):
            await self._route(uow, alert, config, context, now)
        self.writes.seen += [(row["id"], row["updated_at"]) for row in rows]
        return len(rows)

    async def _route(self, uow: UnitOfWork, alert: AlertState, config: NotifyConfig, context: Context,
                     now: datetime) -> None:
        if alert.status == "resolved":
            self.writes.redispatch.append(f"suppressed:inhibited:{alert.key}")
        for target in await context.targets(alert, config, now):
            group = self.groups.get(target.group_key)
            member = group is not None and alert.id in group.state.members
            if target.held_by in DROPPED:
                if alert.status != "acknowledged":
                    await self.suppress(uow, alert, target, config, now)
                continue
            if not member and alert.status != "firing":
                continue  # nothing was said about it here, so nothing to take back
            state = group.state if group is not None else new_group(target.group_key, now)
            state = with_alert(state, alert.id, alert.revision, firing=alert.is_open)
            await self._save_group(uow, groupstore.Group(state, target.match))

    async def _silences_ended(self, uow: UnitOfWork, now: datetime) -> None:
        active = {s.id for s in await repo.active_silences(uow.session, now) if s.active(now)}
        ended = sorted((self._silences or set()) - active)
        self._silences = active
        await repo.redispatch_suppressed(uow.session, [f"suppressed:silenced:{sid}" for sid in ended])

    async def suppress(self, uow: UnitOfWork, alert: AlertState, target: Target, config: NotifyConfig,
                       now: datetime) -> None:
        """Log (once per alert revision and receiver) that a silence, inhibition or mute held it back."""
        key = delivery_key(alert.id, alert.revision, target.match.receiver, occasion="suppressed")
        row = {"id": f"{key}-s", "idempotency_key": key, "target": -1, "receiver": target.match.receiver,
               "url": "", "channel": "none", "occasion": f"suppressed:{target.held_by}:{target.detail or ''}",
               "title": "", "body": "", "status": "suppressed", "attempts": 0, "next_attempt_at": None,
               "created_at": now, "at": now}
        self.writes.claim(row, [alert], ready=False)

    async def _save_group(self, uow: UnitOfWork, group: groupstore.Group | None, key: str | None = None) -> None:
        """Change a group in memory now; its row is written once per pass by _write (same transaction)."""
        key = key or group.state.key
        if group is None:
            self.groups.pop(key, None)
        else:
            self.groups[key] = group
        self.writes.groups[key] = group

    # --- group flushes --------------------------------------------------------------------------------

    def _due(self, now: datetime) -> list[tuple[str, FlushDecision]]:
        return [(key, decision) for key, group in list(self.groups.items())
                if (decision := flush_due(group.state, group.match, now)) is not None]

    async def flush_due_groups(self, uow: UnitOfWork, config: NotifyConfig, context: Context, now: datetime) -> int:
        due = self._due(now)
        members = {m for key, _ in due for m in self.groups[key].state.members}
        missing = members - context.known.keys()
        if missing:  # members that did not change this pass: one read for all the due groups
            context.known.update(await repo.alerts_by_ids(uow.session, missing))
        await context.prepare([context.known[m] for m in sorted(members) if m in context.known], config, now)
        for key, decision in due:
            await self._flush(uow, key, decision, config, context, now)
        return len(due)

    async def _flush(self, uow: UnitOfWork, key: str, decision: FlushDecision, config: NotifyConfig,
                     context: Context, now: datetime) -> None:
        group = self.groups[key]
        states = {m: context.known[m] for m in group.state.members if m in context.known}
        try:
            receiver = config.receiver(group.match.receiver)
        except KeyError:
            log.warning("receiver %s is gone from the config; dropping group %s", group.match.receiver, key)
            await self._save_group(uow, None, key)
            return
        found = {alert_id: await context.targets(alert, config, now) for alert_id, alert in states.items()}
        plan = flush_members(group, states, decision, receiver.send_resolved, found)
        if plan.message:
            occasion = f"{decision.reason}:{decision.sequence}" if decision.reason == "repeat" else ""
            if len(plan.message) == 1:
                alert = plan.message[0]
                idem = delivery_key(alert.id, alert.revision, receiver.name, occasion=occasion)
            else:
                members = [(a.id, a.revision) for a in plan.message]
                idem = digest_key(key, receiver.name, members, sequence=decision.sequence)
            await self.enqueue(uow, receiver, plan.message, idem=idem, occasion=decision.reason, now=now)
        updated = groupstore.Group(plan.after, group.match) if plan.after is not None else None
        await self._save_group(uow, updated, key)

    async def enqueue(self, uow: UnitOfWork, receiver: Receiver, alerts: list[AlertState], *, idem: str,
                      occasion: str, now: datetime) -> int:
        """Claim the message's key (one row per URL) before anything is sent; existing keys are skipped when
        the pass writes (`_write`). The number of rows claimed (new or not)."""
        tokens = await ack_links.issue(uow.session, alerts, receiver.name, now) if self.public_url else None
        for index, url in enumerate(receiver.urls):
            text_ = render(alerts if len(alerts) > 1 else alerts[0], channel_kind(url), receiver.locale,
                           base_url=self.base_url, tokens=tokens)
            row: dict[str, Any] = {
                "id": f"{idem}-{index}", "idempotency_key": idem, "target": index, "receiver": receiver.name,
                "url": url, "channel": url_scheme(url), "occasion": occasion, "title": text_.title,
                "body": text_.body, "status": "pending", "attempts": 0, "next_attempt_at": now,
                "created_at": now, "at": now}
            self.writes.claim(row, alerts, ready=self.sender.admit(self.config.current, row, now))
        return len(receiver.urls)
