"""A per-client rate limit for the doors that take no token (acknowledge links) or hand tokens out (sign-in)."""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    """At most `per_minute` hits per key in any 60 s window (sliding log; keys are client addresses)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.per_minute, self.clock, self.max_keys = per_minute, clock, max_keys
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        if len(self._hits) >= self.max_keys:  # bounded memory under a spray of addresses
            self._hits = {k: q for k, q in self._hits.items() if q and now - q[-1] < 60}
        hits = self._hits.setdefault(key, deque())
        while hits and now - hits[0] >= 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        return True
