"""Pure notify core: routing, grouping, inhibition, silences, quiet hours, escalation, lifecycle, text."""

from services.notify.domain.channels import ChannelKind, channel_kind
from services.notify.domain.delivery import RateLimiter, delivery_key, digest_key, retry_delay
from services.notify.domain.durations import format_duration, parse_duration
from services.notify.domain.escalation import (
    EscalationDue,
    escalation_due,
    mark_escalated,
    next_escalation_at,
)
from services.notify.domain.grouping import (
    FlushDecision,
    GroupState,
    after_flush,
    flush_due,
    new_group,
    next_flush,
    to_notify,
    with_alert,
    without_alerts,
)
from services.notify.domain.inhibition import inhibited_by, is_inhibited
from services.notify.domain.lifecycle import (
    AlertState,
    HistoryEntry,
    InvalidTransition,
    Transition,
    acknowledge,
    apply_event,
    resolve,
)
from services.notify.domain.matchers import Matcher, alert_labels, matches_all, parse_matcher
from services.notify.domain.routing import RouteMatch, group_id, group_key, group_labels, route
from services.notify.domain.silences import Silence, is_silenced, silence_problems, silenced_by
from services.notify.domain.targets import Hold, Target, targets
from services.notify.domain.templates import Rendered, ack_link, alert_link, render
from services.notify.domain.timeintervals import in_quiet_hours, in_time_interval, is_muted, quiet_until

__all__ = [
    "AlertState",
    "ChannelKind",
    "EscalationDue",
    "FlushDecision",
    "GroupState",
    "HistoryEntry",
    "Hold",
    "InvalidTransition",
    "Matcher",
    "RateLimiter",
    "Rendered",
    "RouteMatch",
    "Silence",
    "Target",
    "Transition",
    "ack_link",
    "acknowledge",
    "after_flush",
    "alert_labels",
    "alert_link",
    "apply_event",
    "channel_kind",
    "delivery_key",
    "digest_key",
    "escalation_due",
    "flush_due",
    "format_duration",
    "group_id",
    "group_key",
    "group_labels",
    "in_quiet_hours",
    "in_time_interval",
    "inhibited_by",
    "is_inhibited",
    "is_muted",
    "is_silenced",
    "mark_escalated",
    "matches_all",
    "new_group",
    "next_escalation_at",
    "next_flush",
    "parse_duration",
    "parse_matcher",
    "quiet_until",
    "render",
    "resolve",
    "retry_delay",
    "route",
    "silence_problems",
    "silenced_by",
    "targets",
    "to_notify",
    "with_alert",
    "without_alerts",
]
