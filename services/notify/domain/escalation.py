"""Escalation: while a firing alert stays unacknowledged, notify each policy step in turn, then repeat."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services.notify.domain.lifecycle import AlertState, HistoryEntry

if TYPE_CHECKING:
    from services.notify.domain.config_view import EscalationPolicyView


@dataclass(frozen=True)
class EscalationDue:
    cycle: int  # 0 for the first pass, 1.. for repeats
    step: int
    receivers: tuple[str, ...]
    due_at: datetime

    @property
    def occasion(self) -> str:
        """Tag for the delivery key, so each step of each cycle is sent once."""
        return f"escalation:{self.cycle}:{self.step}"


def _cycle_length(policy: EscalationPolicyView) -> timedelta:
    return max(step.after for step in policy.steps) + policy.repeat_after


def _current_cycle(state: AlertState, policy: EscalationPolicyView, now: datetime) -> tuple[int, datetime] | None:
    start = state.escalation_started_at
    if state.status != "firing" or start is None or now < start:
        return None
    period = _cycle_length(policy)
    cycle = 0 if period <= timedelta(0) else min(int((now - start) / period), policy.repeat)
    return cycle, start + cycle * period


def escalation_due(state: AlertState, policy: EscalationPolicyView, now: datetime) -> list[EscalationDue]:
    """Steps of the current cycle that are due and not yet sent; none once acknowledged or resolved.

    Steps of an earlier cycle that were missed (e.g. the service was down) are skipped, not sent late.
    """
    current = _current_cycle(state, policy, now)
    if current is None:
        return []
    cycle, cycle_start = current
    return [
        EscalationDue(cycle, index, tuple(step.receivers), cycle_start + step.after)
        for index, step in enumerate(policy.steps)
        if cycle_start + step.after <= now and (cycle, index) not in state.escalations_sent
    ]


def next_escalation_at(state: AlertState, policy: EscalationPolicyView, now: datetime) -> datetime | None:
    """When the next step becomes due (for a timer); None when the policy is exhausted or not running."""
    current = _current_cycle(state, policy, now)
    if current is None:
        return None
    cycle, cycle_start = current
    period = _cycle_length(policy)
    for offset in range(cycle, policy.repeat + 1):
        base = cycle_start + (offset - cycle) * period
        for index, step in enumerate(policy.steps):
            moment = base + step.after
            if moment > now and (offset, index) not in state.escalations_sent:
                return moment
    return None


def mark_escalated(state: AlertState, due: list[EscalationDue], now: datetime) -> AlertState:
    """Record the steps as sent, with a history entry each."""
    entries = tuple(
        HistoryEntry(now, "escalation", "escalated", f"step {d.step + 1} (cycle {d.cycle + 1}): "
                     + ", ".join(d.receivers))
        for d in due
    )
    sent = state.escalations_sent | {(d.cycle, d.step) for d in due}
    return replace(state, escalations_sent=frozenset(sent), history=(*state.history, *entries))
