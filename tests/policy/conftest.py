"""Shared builders for policy tests."""

from datetime import UTC, datetime

import pytest

AS_OF = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def as_of() -> datetime:
    return AS_OF
