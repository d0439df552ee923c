"""The period a KPI endpoint reports on: the last `days` local days ending at `end` (CONTRACT §11 figures)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel

DEFAULT_DAYS = 28


class WindowOut(BaseModel):
    """The days a figure covers: `start` and `end` inclusive, local calendar days of each location."""

    start: date | None
    end: date | None
    days: int


@dataclass(frozen=True)
class Window:
    days: int
    end: date | None  # None: the service's latest day with data (its own event time, not the wall clock)

    def resolve(self, latest: date | None) -> tuple[date, date] | None:
        """(start, end) once the end is known; None when there is no data and no end was asked for."""
        end = self.end or latest
        return (end - timedelta(days=self.days - 1), end) if end else None

    def out(self, span: tuple[date, date] | None) -> WindowOut:
        return WindowOut(start=span[0] if span else None, end=span[1] if span else None, days=self.days)


def _window(days: Annotated[int, Query(ge=1, le=366, description="how many local days, ending at `end`")]
            = DEFAULT_DAYS,
            end: Annotated[date | None, Query(description="last day (inclusive); default: the latest day with "
                                                          "data")] = None) -> Window:
    return Window(days, end)


KpiWindow = Annotated[Window, Depends(_window)]
