"""The decider sleeps until the next key is due, and a committed consumer batch wakes it."""
from __future__ import annotations

import asyncio
import math
from types import SimpleNamespace

import pytest

from services.policy import wake
from services.policy.decider import IDLE_POLL_S, movements_lagging, pause, pause_s, quiet_for


def test_pause_is_the_time_to_the_next_due_key_within_poll_and_idle_bounds():
    assert pause_s(0.3, 0.05) == 0.3
    assert pause_s(-2.0, 0.05) == 0.05          # due but locked by another decider: keep claims spaced
    assert pause_s(60.0, 0.05) == IDLE_POLL_S
    assert pause_s(None, 0.05) == IDLE_POLL_S   # nothing dirty: wait for a wake-up or the idle poll


async def test_wake_up_shortens_a_long_pause_to_the_quiet_time():
    loop = asyncio.get_running_loop()
    with wake.listening() as woken:
        loop.call_later(0.02, wake.notify)
        started = loop.time()
        await pause(woken, asyncio.Event(), 5.0, quiet_s=0.05)
        took = loop.time() - started
    assert 0.06 <= took < 1.0  # woken at 0.02, then the newly marked keys' 0.05 quiet time


async def test_the_settled_lane_sleeps_through_other_wake_ups_until_a_key_is_due_now():
    loop = asyncio.get_running_loop()
    with wake.listening() as woken:
        loop.call_later(0.01, wake.notify)
        loop.call_later(0.05, wake.notify, True)
        started = loop.time()
        await pause(woken, asyncio.Event(), 5.0, quiet_s=math.inf, due_now_ends=True)
        took = loop.time() - started
        assert woken.due_now
        woken.clear()
        assert not woken.due_now and not woken.is_set()
    assert 0.045 <= took < 0.5  # not at the first wake-up (nothing settled), at once at the second


async def test_the_quiet_lane_treats_a_due_now_wake_up_as_any_other():
    loop = asyncio.get_running_loop()
    with wake.listening() as woken:
        loop.call_later(0.01, wake.notify, True)
        started = loop.time()
        await pause(woken, asyncio.Event(), 5.0, quiet_s=0.1)
        assert 0.1 <= loop.time() - started < 1.0


async def test_wake_up_never_lengthens_a_pause():
    loop = asyncio.get_running_loop()
    with wake.listening() as woken:
        loop.call_later(0.01, wake.notify)
        started = loop.time()
        await pause(woken, asyncio.Event(), 0.05, quiet_s=2.0)
        assert loop.time() - started == pytest.approx(0.05, abs=0.04)


async def test_stop_ends_a_pause():
    stop = asyncio.Event()
    stop.set()
    with wake.listening() as woken:
        await asyncio.wait_for(pause(woken, stop, 5.0, quiet_s=1.0), 0.5)


def test_listener_is_gone_after_its_block():
    with wake.listening() as woken:
        pass
    wake.notify()
    assert not woken.is_set()


def test_quiet_means_nothing_while_the_movement_consumer_lags():
    assert quiet_for(False, 0.1, 5.0) == 0.1
    assert quiet_for(True, 0.1, 5.0) == 5.0


def test_lag_is_read_from_this_process_movement_consumer_only():
    events = SimpleNamespace(name="policy.events", batch_size=500,
                             progress=SimpleNamespace(lag={("sales", 0): 300, ("stock", 1): 200}))
    inputs = SimpleNamespace(name="policy.inputs", batch_size=200, progress=SimpleNamespace(lag={("demand", 0): 7000}))
    lagging = movements_lagging(SimpleNamespace(loops=[events, inputs]))
    assert lagging() is False  # within one poll's batch; and the slow inputs consumer does not hold decisions
    events.progress.lag[("stock", 1)] = 201
    assert lagging() is True
