"""Server-side sessions: the cookie holds a random id; the token stays in this process, never in the browser."""
from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

SIGN_IN_ROLES = ("planner", "approver", "ops", "admin")
COOKIE = "replenish_session"
# Who the token belongs to now: (name, role), or None once it is revoked or unknown.
Whoami = Callable[[str], Awaitable[tuple[str, str] | None]]


@dataclass
class Session:
    id: str
    token: str
    name: str
    role: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    seen_at: float = field(default_factory=time.monotonic)
    checked_at: float = field(default_factory=time.monotonic)

    def may(self, *roles: str) -> bool:
        return self.role in roles or self.role == "admin"

    def csrf_matches(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())


class SessionStore:
    """Sessions of this console process. A restart signs everyone out (docs/console.md says so): nothing of a
    session is worth keeping on disk, and the token is never written anywhere."""

    def __init__(self, whoami: Whoami, *, idle_s: float, recheck_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.whoami, self.idle_s, self.recheck_s, self.clock = whoami, idle_s, recheck_s, clock
        self._sessions: dict[str, Session] = {}

    async def open(self, token: str) -> Session | str:
        """A new session for a token that may sign in, else why not: 'invalid' or 'role'."""
        who = await self.whoami(token)
        if who is None:
            return "invalid"
        name, role = who
        if role not in SIGN_IN_ROLES:
            return "role"
        self._expire()
        now = self.clock()
        session = Session(secrets.token_urlsafe(32), token, name, role, seen_at=now, checked_at=now)
        self._sessions[session.id] = session
        return session

    async def find(self, session_id: str | None) -> Session | None:
        """The live session of a cookie: idle ones end, and the token is asked about again now and then."""
        session = self._sessions.get(session_id or "")
        if session is None:
            return None
        now = self.clock()
        if now - session.seen_at > self.idle_s:
            self.close(session.id)
            return None
        if now - session.checked_at > self.recheck_s:
            try:
                who = await self.whoami(session.token)
            except ConnectionError:  # the service that knows tokens is away: ask again on the next request
                who = (session.name, session.role)
            else:
                session.checked_at = now
            if who is None or who[1] not in SIGN_IN_ROLES:
                self.close(session.id)
                return None
            session.name, session.role = who
        session.seen_at = now
        return session

    def close(self, session_id: str | None) -> None:
        self._sessions.pop(session_id or "", None)

    def _expire(self) -> None:
        now = self.clock()
        for sid in [s.id for s in self._sessions.values() if now - s.seen_at > self.idle_s]:
            self._sessions.pop(sid, None)

    def __len__(self) -> int:
        return len(self._sessions)
