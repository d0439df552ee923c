"""What one dispatcher pass writes, gathered in memory and written at its end in a fixed number of statements."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.notify import bulk, groupstore
from services.notify import repository as repo
from services.notify.domain import AlertState
from services.notify.sender import member_of, publish_outcomes
from shared.db.uow import UnitOfWork

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def severity_rank(alerts: list[AlertState]) -> int:
    return min((SEVERITY_RANK.get(a.severity, 3) for a in alerts), default=3)


@dataclass
class Claim:
    row: dict[str, Any]        # a delivery row (pending/sending, or a "suppressed" log entry)
    members: list[AlertState]  # the alerts its message carries
    ready: bool                # claimed for an immediate send when the row turns out to be new


@dataclass
class PassWrites:
    claims: list[Claim] = field(default_factory=list)
    groups: dict[str, groupstore.Group | None] = field(default_factory=dict)  # None: forget the group
    seen: list[tuple[str, datetime]] = field(default_factory=list)  # (alert id, updated_at) routed this pass
    redispatch: list[str] = field(default_factory=list)  # suppressed-delivery occasions that no longer hold

    def claim(self, row: dict[str, Any], members: list[AlertState], *, ready: bool) -> None:
        self.claims.append(Claim(row, members, ready))

    async def write(self, uow: UnitOfWork) -> list[dict[str, Any]]:
        """Write everything (same transaction as the reads); the new rows claimed for sending, critical first."""
        session = uow.session
        created = await bulk.add_deliveries(session, [(c.row, c.members) for c in self.claims])
        new = [c for c in self.claims if c.row["id"] in created]
        await publish_outcomes(uow, [(c.row, [member_of(a) for a in c.members], "suppressed", 0)
                                     for c in new if c.row["status"] == "suppressed"])
        if self.redispatch:
            await repo.redispatch_suppressed(session, sorted(set(self.redispatch)))
        await bulk.save_groups(session, {key: groupstore.dump(g) if g is not None else None
                                         for key, g in self.groups.items()})
        await bulk.clear_dirty(session, self.seen)
        ready = [c for c in new if c.ready]
        ready.sort(key=lambda c: severity_rank(c.members))  # a burst does not queue the critical send last
        return [c.row for c in ready]
