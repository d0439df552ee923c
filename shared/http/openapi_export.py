"""Export every service's OpenAPI document to docs/api (`make schemas`); a test keeps them in sync with the code."""
from __future__ import annotations

import importlib
import json
from pathlib import Path

SERVICES = ("ingest", "forecast", "policy", "orders", "notify")


def service_openapi(service: str) -> dict:
    """The document `GET /openapi.json` serves; building the app opens no connection."""
    app = importlib.import_module(f"services.{service}.app").create_app()
    return app.openapi()


def export_openapi(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for service in SERVICES:
        path = out / f"{service}.json"
        path.write_text(json.dumps(service_openapi(service), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        written.append(path)
    return written
