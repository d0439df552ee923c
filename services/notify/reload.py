"""The live notify config: REPLENISH_CONFIG read at start (fail fast) and re-read when its mtime changes."""
from __future__ import annotations

import logging
from pathlib import Path

from services.notify.config import ConfigError, NotifyConfig
from services.notify.config_load import load_config

log = logging.getLogger(__name__)


class ConfigSource:
    """Holds the config in force; a broken new file keeps the old config and logs every problem."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.mtime = self._mtime()
        self.current: NotifyConfig = load_config(self.path)  # ConfigError here fails the start
        self.errors: list[str] = []

    def _mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime_ns if self.path else None
        except OSError:
            return None

    def maybe_reload(self) -> bool:
        """Re-read the file if it changed; True when a new config took effect."""
        mtime = self._mtime()
        if self.path is None or mtime == self.mtime:
            return False
        self.mtime = mtime
        try:
            config = load_config(self.path)
        except ConfigError as exc:
            self.errors = exc.problems
            log.error("notify config %s not reloaded, keeping the previous one: %s", self.path, exc)
            return False
        self.current, self.errors = config, []
        log.info("notify config %s reloaded", self.path)
        return True
