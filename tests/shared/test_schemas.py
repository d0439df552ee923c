"""The JSON Schemas in docs/schemas are the ones the pydantic models produce (regenerate: make schemas)."""
from __future__ import annotations

import json
from pathlib import Path

from shared.events.export import all_schemas
from shared.events.topics import ALL_TOPICS, TOPIC_MODELS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def test_every_topic_but_raw_has_a_payload_model():
    assert set(ALL_TOPICS) - set(TOPIC_MODELS) == {"replenish.ingest.raw.v1"}


def test_exported_schemas_match_the_models():
    for name, schema in all_schemas().items():
        path = DOCS / f"{name}.json"
        assert path.exists(), f"{path} missing: run make schemas"
        assert json.loads(path.read_text()) == schema, f"{path} is stale: run make schemas"
