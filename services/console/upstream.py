"""The console's only way to the platform: the services' public HTTP APIs, called with the signed-in token."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.console.settings import UPSTREAMS, ConsoleSettings


class UpstreamDown(ConnectionError):
    """A service did not answer (refused, timed out): a page says so instead of failing."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def message(self) -> str:
        """The service's own words for a refusal (§2 error shape), for showing to the person."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("message", ""))
        return f"HTTP {self.status}"

    def items(self) -> list:
        return list(self.body.get("items", [])) if self.ok and isinstance(self.body, dict) else []


class Upstream:
    def __init__(self, settings: ConsoleSettings) -> None:
        self.base = {name: settings.upstream(name) for name in UPSTREAMS}
        self.client = httpx.AsyncClient(timeout=settings.upstream_timeout_s)

    async def call(self, method: str, service: str, path: str, *, token: str | None = None,
                   params: dict | None = None, json: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        query = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        try:
            r = await self.client.request(method, self.base[service] + path, params=query, json=json,
                                          headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamDown(f"{service}: {type(exc).__name__}") from exc
        try:
            body = r.json()
        except ValueError:
            body = r.text
        return Reply(r.status_code, body)

    async def get(self, service: str, path: str, token: str, **params: Any) -> Reply:
        return await self.call("GET", service, path, token=token, params=params)

    async def get_or_gap(self, service: str, path: str, token: str, **params: Any) -> Reply:
        """A figure a page can do without: a service that does not answer in time leaves a gap (504), not an
        error page."""
        try:
            return await self.get(service, path, token, **params)
        except UpstreamDown:
            return Reply(504, None)

    async def post(self, service: str, path: str, token: str | None, body: Any = None) -> Reply:
        return await self.call("POST", service, path, token=token, json=body)

    async def whoami(self, token: str) -> tuple[str, str] | None:
        """(name, role) of a token, None when the platform does not know it (any longer)."""
        reply = await self.get("notify", "/v1/whoami", token)
        if reply.status in (401, 403):
            return None
        if not reply.ok or not isinstance(reply.body, dict):
            raise UpstreamDown(f"notify /v1/whoami answered {reply.status}")
        return str(reply.body.get("name", "")), str(reply.body.get("role", ""))

    async def healthy(self) -> dict[str, bool]:
        found = {}
        for name, base in self.base.items():
            try:
                found[name] = (await self.client.get(base + "/healthz", timeout=2)).status_code == 200
            except httpx.HTTPError:
                found[name] = False
        return found

    async def close(self) -> None:
        await self.client.aclose()
