"""Server-side sessions: who may sign in, idle expiry, and revocation noticed on the next check."""
from __future__ import annotations

import pytest

from services.console.sessions import SessionStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Principals:
    """The platform's tokens as the console learns them over GET /v1/whoami."""

    def __init__(self, **tokens: tuple[str, str]) -> None:
        self.tokens, self.down = dict(tokens), False

    async def whoami(self, token: str):
        if self.down:
            raise ConnectionError("notify is away")
        return self.tokens.get(token)


def make(principals: Principals, clock: Clock) -> SessionStore:
    return SessionStore(principals.whoami, idle_s=12 * 3600, recheck_s=30, clock=clock)


async def test_planner_signs_in_and_ingest_or_unknown_tokens_do_not():
    principals = Principals(p=("li", "planner"), i=("feed", "ingest"), s=("acme", "supplier"))
    sessions = make(principals, Clock())
    opened = await sessions.open("p")
    assert opened.name == "li" and opened.role == "planner" and opened.token == "p"
    assert opened.id != "p" and len(opened.id) >= 40 and len(opened.csrf) >= 40
    assert await sessions.open("i") == "role" and await sessions.open("s") == "role"
    assert await sessions.open("nope") == "invalid"
    assert len(sessions) == 1


async def test_a_session_ends_after_twelve_hours_idle_not_while_used():
    clock = Clock()
    sessions = make(Principals(p=("li", "planner")), clock)
    opened = await sessions.open("p")
    for _ in range(5):  # used every 11 h: kept
        clock.now += 11 * 3600
        assert await sessions.find(opened.id) is opened
    clock.now += 12 * 3600 + 1
    assert await sessions.find(opened.id) is None


async def test_a_revoked_token_ends_its_session_at_the_next_check():
    clock, principals = Clock(), Principals(p=("li", "planner"))
    sessions = make(principals, clock)
    opened = await sessions.open("p")
    del principals.tokens["p"]
    clock.now += 10
    assert await sessions.find(opened.id) is opened  # not asked again yet
    clock.now += 25
    assert await sessions.find(opened.id) is None


async def test_the_session_survives_while_the_token_service_is_away():
    clock, principals = Clock(), Principals(p=("li", "ops"))
    sessions = make(principals, clock)
    opened = await sessions.open("p")
    principals.down = True
    clock.now += 60
    assert await sessions.find(opened.id) is opened
    principals.down, principals.tokens["p"] = False, ("li", "planner")
    clock.now += 1
    assert (await sessions.find(opened.id)).role == "planner"


@pytest.mark.parametrize("given, ok", [("", False), (None, False), ("wrong", False)])
async def test_csrf_must_match_the_session(given, ok):
    opened = await make(Principals(p=("li", "planner")), Clock()).open("p")
    assert opened.csrf_matches(given) is ok
    assert opened.csrf_matches(opened.csrf)
