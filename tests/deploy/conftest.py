"""Fixtures for the deploy artefacts: the repository root and the rendered kustomize overlays."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.kustomize_lite import render

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")
SERVICE_PORTS = {"ingest": 8001, "forecast": 8002, "policy": 8003, "orders": 8004, "notify": 8005}


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """overlay name -> its rendered manifests (base included, for checks that must hold everywhere), by the
    real kustomize where one is installed."""
    overlays = {name: render(K8S / "overlays" / name) for name in OVERLAYS}
    return {"base": render(K8S / "base"), **overlays}


def find(documents: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [d for d in documents if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(documents: list[dict], kind: str, name: str) -> dict:
    matches = find(documents, kind, name)
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]
