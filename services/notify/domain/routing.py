"""Routing tree walk (Alertmanager: depth-first, first match wins unless `continue`) and group keys."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from services.notify.domain.matchers import matches_all

if TYPE_CHECKING:
    from services.notify.domain.config_view import ConfigView, RouteNode

# Defaults of the root route, as in Alertmanager, except group_by: a route that names no grouping notifies each
# alert on its own (its identity labels), so the contract's smallest file pages every alert after group_wait; a
# digest per store or supplier is opted into with group_by, as the built-in default config does.
ALERT_IDENTITY = ("type", "location", "sku", "supplier_id", "po_id")
ROOT_DEFAULTS = {
    "group_by": ALERT_IDENTITY,
    "group_wait": timedelta(seconds=30),
    "group_interval": timedelta(minutes=5),
    "repeat_interval": timedelta(hours=4),
}
_INHERITED = ("receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "escalation")


@dataclass(frozen=True)
class RouteMatch:
    """Where an alert goes and how it is grouped; `route_id` names the tree node ("0", "0.1", "0.1.0")."""

    route_id: str
    receiver: str
    group_by: tuple[str, ...]
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    escalation: str | None = None
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()


def route(alert_labels: Mapping[str, str], config: ConfigView) -> list[RouteMatch]:
    """Every route node that takes this alert; the root takes it when no child does."""
    settings = {**ROOT_DEFAULTS, "escalation": None}
    return _walk(config.route, "0", alert_labels, _inherit(settings, config.route))


def _inherit(parent: dict, node: RouteNode) -> dict:
    # Settings not given on a node come from its parent; time intervals are per node, as in Alertmanager.
    merged = dict(parent)
    for name in _INHERITED:
        value = getattr(node, name)
        if value is not None:
            merged[name] = tuple(value) if name == "group_by" else value
    return merged


def _walk(node: RouteNode, route_id: str, labels: Mapping[str, str], settings: dict) -> list[RouteMatch]:
    found: list[RouteMatch] = []
    for index, child in enumerate(node.routes):
        if not matches_all(labels, child.matchers):
            continue
        found += _walk(child, f"{route_id}.{index}", labels, _inherit(settings, child))
        if not child.continue_:
            break
    if found:
        return found
    return [
        RouteMatch(
            route_id=route_id,
            mute_time_intervals=tuple(node.mute_time_intervals),
            active_time_intervals=tuple(node.active_time_intervals),
            **settings,
        )
    ]


def group_labels(alert_labels: Mapping[str, str], group_by: Sequence[str]) -> dict[str, str]:
    """The labels that identify the group; `...` groups by every label (one group per alert)."""
    if "..." in group_by:
        return dict(sorted(alert_labels.items()))
    return {name: alert_labels.get(name, "") for name in sorted(group_by)}


def group_key(match: RouteMatch, alert_labels: Mapping[str, str]) -> str:
    """Stable, readable key of the group an alert joins on one route: `0.1/ops-chat/{location="store-12"}`."""
    pairs = ",".join(f'{k}="{v}"' for k, v in group_labels(alert_labels, match.group_by).items())
    return f"{match.route_id}/{match.receiver}/{{{pairs}}}"


def group_id(key: str) -> str:
    """Short fixed-length id of a group key, for URLs and database keys."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
