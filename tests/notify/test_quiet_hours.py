"""Quiet hours and route mute windows: weekdays and local time ranges in a timezone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notify.domain import RouteMatch, in_quiet_hours, in_time_interval, is_muted, quiet_until
from tests.notify.conftest import config_from

CONFIG = config_from("""
    notify:
      receivers: [{name: ops}]
      route: {receiver: ops}
      time_intervals:
        - name: night
          timezone: Asia/Shanghai
          weekdays: ["monday:friday"]
          times: [{start: "22:00", end: "07:00"}]
        - name: weekend
          timezone: Asia/Shanghai
          weekdays: [saturday, sun]
        - {name: lunch, timezone: UTC, times: [{start: "12:00", end: "13:00"}]}
      quiet_hours: {time_intervals: [night, weekend], severities: [info, warning]}
    """)


def _utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)  # 2026-03-02 is a Monday


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (_utc(2, 13, 59), False),  # Mon 21:59 Shanghai
        (_utc(2, 14, 0), True),  # Mon 22:00 Shanghai
        (_utc(2, 22, 59), True),  # Tue 06:59 Shanghai, the Monday night range running past midnight
        (_utc(2, 23, 0), False),  # Tue 07:00 Shanghai: end is exclusive
        (_utc(6, 14, 0), True),  # Fri 22:00
        (_utc(6, 22, 0), True),  # Sat 06:00: friday night and the weekend
        (_utc(8, 23, 30), False),  # Mon 07:30 after Sunday: weekend over, Sunday night not in "night"
        (_utc(7, 3, 0), True),  # Sat 11:00 Shanghai: weekend, all day
    ],
)
def test_quiet_hours_follow_local_wall_clock(moment, quiet):
    assert in_quiet_hours("info", CONFIG, moment) is quiet


def test_monday_early_morning_is_not_quiet_because_sunday_is_not_a_night_weekday():
    # 2026-03-01 22:00 UTC is Monday 06:00 in Shanghai; the overnight range started on Sunday, not listed.
    assert not in_time_interval(CONFIG.time_interval("night"), _utc(1, 22, 0))
    assert in_time_interval(CONFIG.time_interval("weekend"), _utc(1, 15, 0))  # Sunday 23:00 Shanghai


def test_critical_alerts_ignore_quiet_hours():
    night = _utc(2, 15, 0)
    assert in_quiet_hours("warning", CONFIG, night)
    assert not in_quiet_hours("critical", CONFIG, night)


def test_no_quiet_hours_configured_never_quiet():
    plain = config_from("notify: {receivers: [{name: ops}], route: {receiver: ops}}")
    assert not in_quiet_hours("info", plain, _utc(2, 15, 0))


def test_quiet_until_finds_the_end_of_the_night():
    assert quiet_until("info", CONFIG, _utc(3, 20, 17)) == _utc(3, 23, 0)  # Wed 04:17 → 07:00 Shanghai
    assert quiet_until("critical", CONFIG, _utc(3, 20, 17)) == _utc(3, 20, 17)


def test_route_mute_and_active_intervals():
    base = RouteMatch("0.1", "ops", (), timedelta(0), timedelta(minutes=5), timedelta(hours=4))
    muted_at_lunch = RouteMatch(**{**base.__dict__, "mute_time_intervals": ("lunch",)})
    only_at_lunch = RouteMatch(**{**base.__dict__, "active_time_intervals": ("lunch",)})
    assert is_muted(muted_at_lunch, CONFIG, _utc(2, 12, 30))
    assert not is_muted(muted_at_lunch, CONFIG, _utc(2, 13, 0))
    assert not is_muted(only_at_lunch, CONFIG, _utc(2, 12, 30))
    assert is_muted(only_at_lunch, CONFIG, _utc(2, 14, 0))
    assert not is_muted(base, CONFIG, _utc(2, 12, 30))
