"""Fast unit tests of the shared plumbing that need no broker or database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.auth.principals import Principal, hash_token
from shared.bus.consumer import PoisonMessage, Progress, decode_envelope
from shared.events.envelope import Envelope, deterministic_id, make_envelope
from shared.http.deps import Approver, Reader
from shared.http.errors import ApiError, install_error_handlers
from shared.runtime.bootstrap import load_or_create_tokens

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def test_deterministic_ids_depend_only_on_their_cause():
    assert deterministic_id("ingest", "pos/1", "a") == deterministic_id("ingest", "pos/1", "a")
    assert deterministic_id("ingest", "pos/1", "a") != deterministic_id("ingest", "pos/1", "b")


def test_envelope_round_trips_and_keeps_event_time_in_utc():
    env = make_envelope(source="s", type="t", time=datetime.fromisoformat("2026-11-21T10:15:00+08:00"),
                        data={"q": 1}, subject="store-1:SKU-1")
    back = Envelope.from_bytes(env.to_bytes())
    assert back.time == datetime(2026, 11, 21, 2, 15, tzinfo=UTC)
    assert back.data == {"q": 1} and back.specversion == "1.0"


def test_an_envelope_without_timezone_is_refused():
    with pytest.raises(ValueError):
        Envelope(id="1", source="s", type="t", time=datetime(2026, 1, 1), data={})


class _Record:
    def __init__(self, value: bytes) -> None:
        self.value = value


def test_undecodable_message_is_poison():
    with pytest.raises(PoisonMessage):
        decode_envelope(_Record(b"not json"))


def test_watermark_is_held_back_by_a_lagging_partition_only():
    p = Progress("g")
    p.event_time = {("a", 0): T0 + timedelta(hours=5), ("a", 1): T0 + timedelta(hours=2)}
    p.lag = {("a", 0): 0, ("a", 1): 3}
    assert p.watermark() == T0 + timedelta(hours=2)
    p.lag[("a", 1)] = 0  # caught up and idle: no longer holds the watermark back
    assert p.watermark() == T0 + timedelta(hours=5)
    assert p.lag_by_topic() == {"a": 0}


class Body(BaseModel):
    n: int


class _Tokens:
    async def lookup(self, token: str) -> Principal | None:
        return {"r": Principal("rita", "planner"), "a": Principal("al", "approver")}.get(token)


def _app() -> TestClient:
    app = FastAPI()
    app.state.tokens = _Tokens()
    install_error_handlers(app)
    router = APIRouter()

    @router.get("/read")
    async def read(who: Reader) -> dict:
        return {"name": who.name}

    @router.post("/approve")
    async def approve(body: Body, who: Approver) -> dict:
        if body.n < 0:
            raise ApiError(409, "cannot", details=["n: negative"])
        return {"by": who.name}

    @router.get("/boom")
    async def boom() -> dict:
        raise RuntimeError("secret internals")

    app.include_router(router)
    return TestClient(app, raise_server_exceptions=False)


def test_roles_give_401_without_token_and_403_for_the_wrong_role():
    c = _app()
    assert c.get("/read").status_code == 401
    assert c.get("/read", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert c.get("/read", headers={"Authorization": "Bearer r"}).json() == {"name": "rita"}
    assert c.post("/approve", json={"n": 1}, headers={"Authorization": "Bearer r"}).status_code == 403
    assert c.post("/approve", json={"n": 1}, headers={"Authorization": "Bearer a"}).json() == {"by": "al"}


def test_errors_have_the_contract_shape_and_never_a_stack_trace():
    c = _app()
    conflict = c.post("/approve", json={"n": -1}, headers={"Authorization": "Bearer a"})
    assert conflict.status_code == 409
    assert conflict.json() == {"error": {"code": "conflict", "message": "cannot", "details": ["n: negative"]}}
    invalid = c.post("/approve", json={"n": "x"}, headers={"Authorization": "Bearer a"})
    assert invalid.status_code == 422 and invalid.json()["error"]["details"][0].startswith("n:")
    boom = c.get("/boom")
    assert boom.status_code == 500 and "secret" not in boom.text


def test_bootstrap_tokens_are_kept_across_starts_and_private(tmp_path):
    path = tmp_path / "tokens.json"
    first = load_or_create_tokens(path)
    assert set(first) == {"admin", "ingest", "planner", "approver", "ops"}
    assert load_or_create_tokens(path) == first
    assert oct(path.stat().st_mode)[-3:] == "600"
    assert hash_token(first["admin"]) != first["admin"]
