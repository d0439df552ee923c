"""Notify config wiring: the contract's minimal file, fail-fast start, reload without restart."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from services.notify.app import create_app
from services.notify.config import ConfigError
from services.notify.reload import ConfigSource
from shared.settings import load_settings

MINIMAL = """notify:
  receivers:
    - name: ops-chat
      urls: ["json://127.0.0.1:9999/alerts"]
  route:
    receiver: ops-chat
    group_wait: 0s
"""


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def test_contract_minimal_file_works_as_written(tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text(MINIMAL)
    config = ConfigSource(path).current
    assert config.receiver("ops-chat").urls == ["json://127.0.0.1:9999/alerts"]
    assert config.route.group_wait == timedelta(0)


def test_without_config_path_the_default_is_used():
    assert [r.name for r in ConfigSource(None).current.receivers] == ["ops"]


def test_invalid_config_fails_the_start_naming_every_problem(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("notify:\n  receivers: []\n  route:\n    receiver: nobody\n    group_wait: soon\n")
    with pytest.raises(ConfigError) as failure:
        create_app(load_settings("notify", config_path=path))
    text = str(failure.value)
    assert "notify.receivers" in text and "group_wait" in text and "unknown receiver 'nobody'" in text


def test_changed_file_is_reloaded_and_a_broken_one_keeps_the_old(tmp_path):
    path = tmp_path / "notify.yaml"
    path.write_text(MINIMAL)
    source = ConfigSource(path)
    _write(path, MINIMAL.replace("0s", "5s"), bump=2)
    assert source.maybe_reload() is True
    assert source.current.route.group_wait == timedelta(seconds=5)
    _write(path, MINIMAL.replace("ops-chat\n    group_wait", "ghost\n    group_wait"), bump=4)
    assert source.maybe_reload() is False
    assert source.current.route.group_wait == timedelta(seconds=5)
    assert source.errors == ["notify.route.receiver: unknown receiver 'ghost'"]
    assert source.maybe_reload() is False  # same broken file: not re-read, still the old config
