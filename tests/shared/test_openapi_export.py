"""docs/api holds each service's OpenAPI exactly as the code serves it (regenerate: make schemas), with the bearer
scheme on every /v1 operation so /docs can Authorize."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.http.openapi_export import SERVICES, service_openapi

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api"
PUBLIC = {"/ack-links/{token}"}  # notify's acknowledge links: the one action without a token (§11)


@pytest.mark.parametrize("service", SERVICES)
def test_exported_openapi_matches_the_code(service):
    path = DOCS / f"{service}.json"
    assert path.exists(), f"{path} missing: run make schemas"
    served = json.loads(json.dumps(service_openapi(service)))
    assert json.loads(path.read_text()) == served, f"{path} is stale: run make schemas"
    assert served["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "description": served["components"]["securitySchemes"]["bearer"][
            "description"]}
    for route, operations in served["paths"].items():
        for method, operation in operations.items():
            if route.startswith("/v1/") and route not in PUBLIC:
                assert operation.get("security") == [{"bearer": []}], f"{service} {method.upper()} {route}"
