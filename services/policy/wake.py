"""In-process wake-up of the decider: a consumer batch that may have marked keys dirty signals once committed.

The poll stays the fallback (keys marked by another replica's consumer, a decider started after the signal),
so a lost signal delays a decision by at most the decider's idle poll, never loses it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession


class Wakeup:
    """A decider's wake-up: set by a commit that marked keys, `due_now` when one of them is due at once
    (a settled key) rather than after the quiet period."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.due_now = False

    def set(self, due_now: bool = False) -> None:
        self.due_now = self.due_now or due_now
        self._event.set()

    def clear(self) -> None:
        self.due_now = False
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


_listeners: set[Wakeup] = set()


def notify(due_now: bool = False) -> None:
    """Wake every decider of this process."""
    for waiter in tuple(_listeners):
        waiter.set(due_now)


def notify_after_commit(session: AsyncSession, *, due_now: bool = False) -> None:
    """Wake the deciders once this session's transaction has committed (not on rollback): a decider woken
    earlier would find the marks not yet visible."""
    event.listen(session.sync_session, "after_commit", lambda _session: notify(due_now), once=True)


@contextmanager
def listening() -> Iterator[Wakeup]:
    """A wake-up set by `notify` while the block runs."""
    waiter = Wakeup()
    _listeners.add(waiter)
    try:
        yield waiter
    finally:
        _listeners.discard(waiter)
