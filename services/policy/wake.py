"""In-process wake-up of the decider: a consumer batch that may have marked keys dirty signals once committed.

The poll stays the fallback (keys marked by another replica's consumer, a decider started after the signal),
so a lost signal delays a decision by at most the decider's idle poll, never loses it.
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

_listeners: set[asyncio.Event] = set()


def notify() -> None:
    """Wake every decider of this process."""
    for waiter in tuple(_listeners):
        waiter.set()


def notify_after_commit(session: AsyncSession) -> None:
    """Wake the deciders once this session's transaction has committed (not on rollback): a decider woken
    earlier would find the marks not yet visible."""
    event.listen(session.sync_session, "after_commit", _committed, once=True)


def _committed(_session: Any) -> None:
    notify()


@contextmanager
def listening() -> Iterator[asyncio.Event]:
    """An event set by `notify` while the block runs."""
    waiter = asyncio.Event()
    _listeners.add(waiter)
    try:
        yield waiter
    finally:
        _listeners.discard(waiter)
