"""Every service's OpenAPI fuzzed with every role's token (schemathesis): no input yields a 5xx (docs/contract.md §12).

Services and tokens come from the `endpoints.json` of a platform this module starts (`replenish up`), so a
service added to the platform is fuzzed too. The full run (coverage + fuzzing phases, every role, a supplier
and no token) is marked `chaos` (`make chaos`); `make test` runs a smoke subset: the coverage phase — the
boundary and hostile values of every parameter — with the admin token against every service.

Besides schemathesis' generated cases, a deterministic sweep sends each path and query parameter of every
operation the values that broke doors before (NUL and control characters, 10,000 characters, integers
beyond 64 bits, 1e309): what random generation reaches only sometimes is then always tried.

Knobs: REPLENISH_FUZZ_EXAMPLES (fuzzing examples per operation, default 50), REPLENISH_FUZZ_REPORT (a path
to write the per-run figures to as JSON).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import schemathesis
from schemathesis.engine import events, from_schema

from shared.runtime.platform import Platform
from tests.e2e.conftest import platform_env

pytestmark = pytest.mark.e2e
SUPPLIER_ID = "SUP-FUZZ"


@dataclass
class Run:
    """What one (service, role) run sent and got back."""

    service: str
    role: str
    statuses: Counter = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    engine_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def line(self) -> str:
        shown = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items(), key=str))
        return f"{self.service:9} {self.role:9} {self.requests:6} requests {self.seconds:6.1f} s  {shown}"


@dataclass
class Target:
    """The platform as `endpoints.json` describes it, plus a supplier token and no token at all."""

    services: dict[str, str]
    tokens: dict[str, str | None]


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    # Not under pytest's tmp dir: another pytest session resets its root to 0700, and the embedded
    # PostgreSQL (its own user when run as root) then loses its data directory mid-run.
    root = Path(tempfile.mkdtemp(prefix="replenish-fuzz-"))
    p = Platform(root / "data", env=platform_env())
    try:
        p.start()
        endpoints = json.loads((p.data_dir / "endpoints.json").read_text())
        services, tokens = endpoints["services"], dict(endpoints["tokens"])
        some = next(iter(services.values()))
        issued = httpx.post(f"{some}/v1/tokens", headers={"Authorization": f"Bearer {tokens['admin']}"},
                            json={"name": "fuzz-supplier", "role": "supplier", "supplier_id": SUPPLIER_ID}, timeout=30)
        tokens["supplier"] = issued.json()["token"]
        yield Target(services, {**tokens, "anonymous": None})
    finally:
        p.stop()
        shutil.rmtree(root, ignore_errors=True)


def fuzz(service: str, url: str, role: str, token: str | None, *, phases: list[str], examples: int) -> Run:
    """One schemathesis run (its own engine, as `st run` does) of a service's OpenAPI with one token."""
    run, started = Run(service, role), time.monotonic()
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json", wait_for_schema=30)
    schema.config.update(base_url=url, request_timeout=30,
                         headers={"Authorization": f"Bearer {token}"} if token else None)
    schema.config.generation.update(max_examples=examples, database="none")
    schema.config.phases.update(phases=phases)
    schema.config.checks.update(included_check_names=["not_a_server_error"])
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                response = interaction.response
                run.statuses[response.status_code if response is not None else "no response"] += 1
                if response is None or response.status_code >= 500:
                    request = interaction.request
                    body = (response.content or b"")[:200] if response is not None else b""
                    run.server_errors.append(f"{request.method} {request.uri} -> "
                                             f"{getattr(response, 'status_code', 'no response')} {body!r}")
        elif isinstance(event, events.NonFatalError):
            run.engine_errors.append(f"{event.label}: {type(event.value).__name__}: {str(event.value)[:200]}")
        elif isinstance(event, events.FatalError):
            run.engine_errors.append(f"fatal: {type(event.exception).__name__}: {str(event.exception)[:200]}")
    run.seconds = time.monotonic() - started
    return run


HOSTILE_TEXT = ("a\x00b", "\x00", "a\x01\x1f\x7fb", "line\nbreak", "x" * 10_000, "店\ufffd", "%00", "../..")
HOSTILE_NUMBER = (str(2**70), str(-(2**70)), "9" * 400, "1e309", "-0", "NaN")


def hostile_values(parameter: dict) -> tuple[str, ...]:
    kinds = json.dumps(parameter.get("schema", {}))
    numeric = '"integer"' in kinds or '"number"' in kinds
    return HOSTILE_NUMBER + HOSTILE_TEXT[:2] if numeric else HOSTILE_TEXT + HOSTILE_NUMBER[:1]


def sweep(service: str, url: str, role: str, token: str | None) -> Run:
    """Each path and query parameter of every operation, one hostile value at a time, the others plain."""
    run, started = Run(service, f"{role}*"), time.monotonic()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=30, headers=headers) as http:
        spec = http.get(f"{url}/openapi.json").json()
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                parameters = [p for p in operation.get("parameters", []) if p.get("in") in ("path", "query")]
                plain = {p["name"]: "1" if '"integer"' in json.dumps(p.get("schema", {})) else "x"
                         for p in parameters}
                for parameter in parameters:
                    for value in hostile_values(parameter):
                        values = {**plain, parameter["name"]: value}
                        target = path.format(**{p["name"]: urllib.parse.quote(values[p["name"]], safe="")
                                                for p in parameters if p["in"] == "path"})
                        query = {p["name"]: values[p["name"]] for p in parameters
                                 if p["in"] == "query" and p["name"] == parameter["name"]}
                        body = {"json": {}} if method in ("post", "put", "patch") else {}
                        try:
                            response = http.request(method.upper(), f"{url}{target}", params=query, **body)
                        except httpx.HTTPError as exc:
                            run.statuses["no response"] += 1
                            run.server_errors.append(f"{method.upper()} {target} {query}: {exc!r}")
                            continue
                        run.statuses[response.status_code] += 1
                        if response.status_code >= 500:
                            run.server_errors.append(f"{method.upper()} {target} {query} -> {response.status_code} "
                                                     f"{response.text[:200]}")
    run.seconds = time.monotonic() - started
    return run


def fuzz_all(target: Target, roles: list[str], phases: list[str], examples: int,
             sweep_roles: list[str] | None = None) -> list[Run]:
    runs = [fuzz(service, url, role, target.tokens[role], phases=phases, examples=examples)
            for service, url in sorted(target.services.items()) for role in roles]
    runs += [sweep(service, url, role, target.tokens[role])
             for service, url in sorted(target.services.items()) for role in sweep_roles or roles]
    total, seconds = sum(r.requests for r in runs), sum(r.seconds for r in runs)
    errors = sum(len(r.server_errors) for r in runs)
    print(f"\nfuzzed {len(target.services)} services x {len(roles)} roles ({'+'.join(phases)}, then the sweep): "
          f"{total} requests in {seconds:.0f} s, {errors} with a 5xx or no response")
    for r in runs:
        print("  " + r.line())
    report = os.environ.get("REPLENISH_FUZZ_REPORT")
    if report:
        Path(report).write_text(json.dumps({"phases": phases, "examples": examples, "requests": total,
                                            "seconds": round(seconds, 1), "server_errors": errors,
                                            "runs": [{"service": r.service, "role": r.role, "requests": r.requests,
                                                      "seconds": round(r.seconds, 1),
                                                      "statuses": {str(k): v for k, v in r.statuses.items()}}
                                                     for r in runs]}, indent=2))
    return runs


def check(runs: list[Run]) -> None:
    problems = [f"{r.service} as {r.role}: {e}" for r in runs for e in r.server_errors + r.engine_errors]
    assert all(r.requests > 0 for r in runs), [r.line() for r in runs if not r.requests]
    assert not problems, "\n".join(problems[:50])


def test_every_parameter_boundary_of_every_service_answers_below_500(target):
    """The smoke subset (`make test`, ~20 s): the coverage phase as admin, who reaches every route, and the
    hostile sweep as admin and as a supplier (its own routes)."""
    check(fuzz_all(target, ["admin"], ["coverage"], examples=5, sweep_roles=["admin", "supplier"]))


@pytest.mark.chaos
def test_every_service_fuzzed_with_every_role_answers_below_500(target):
    examples = int(os.environ.get("REPLENISH_FUZZ_EXAMPLES", "50"))
    check(fuzz_all(target, sorted(target.tokens), ["coverage", "fuzzing"], examples))
