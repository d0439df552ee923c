"""Inhibition: a firing cause (po_late, feed_stale) mutes the alerts it explains (stockout_risk)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from services.notify.domain.matchers import matches_all

if TYPE_CHECKING:
    from services.notify.domain.config_view import InhibitionRule


def inhibited_by(
    alert_labels: Mapping[str, str],
    firing_alerts: Iterable[Mapping[str, str]],
    rules: Sequence[InhibitionRule],
) -> Mapping[str, str] | None:
    """The label set of the first firing alert that inhibits this one, or None.

    `firing_alerts` are the label sets of alerts currently firing or acknowledged (not resolved). As in
    Alertmanager, `equal` labels missing on both sides count as equal, and an alert never inhibits itself.
    """
    targeted = [rule for rule in rules if matches_all(alert_labels, rule.target_matchers)]
    if not targeted:
        return None
    for source in firing_alerts:
        if dict(source) == dict(alert_labels):
            continue
        for rule in targeted:
            if matches_all(source, rule.source_matchers) and _equal(source, alert_labels, rule.equal):
                return source
    return None


def is_inhibited(
    alert_labels: Mapping[str, str],
    firing_alerts: Iterable[Mapping[str, str]],
    rules: Sequence[InhibitionRule],
) -> bool:
    """True when some firing alert matching a rule's source matchers shares the rule's `equal` labels."""
    return inhibited_by(alert_labels, firing_alerts, rules) is not None


def _equal(source: Mapping[str, str], target: Mapping[str, str], names: Iterable[str]) -> bool:
    return all((source.get(name) or "") == (target.get(name) or "") for name in names)
