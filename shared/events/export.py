"""Export the envelope and every topic payload model as JSON Schema (docs/schemas)."""
from __future__ import annotations

import json
from pathlib import Path

from shared.events.envelope import Envelope
from shared.events.topics import TOPIC_MODELS


def all_schemas() -> dict[str, dict]:
    out = {"envelope": Envelope.model_json_schema()}
    for topic, model in TOPIC_MODELS.items():
        out[topic] = model.model_json_schema()
    try:
        from shared.events.canonical import CanonicalEvent
        out["replenish.ingest.raw.v1"] = CanonicalEvent.model_json_schema()
    except Exception:  # the canonical model may carry validators without a JSON Schema form
        pass
    return out


def export_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
