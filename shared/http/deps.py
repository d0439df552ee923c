"""FastAPI dependencies: the caller's principal, checked against the roles an endpoint allows."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.principals import Principal
from shared.http.errors import ApiError

READERS = ("planner", "approver", "ops", "admin")
PLANNERS = ("planner", "admin")
APPROVERS = ("approver", "admin")
OPS = ("ops", "admin")
INGESTERS = ("ingest", "admin")
ADMINS = ("admin",)
SUPPLIERS = ("supplier",)


# Declared as an OpenAPI security scheme, so /docs offers Authorize and sends the token with "Try it out".
# auto_error off: a missing or non-bearer header gets the contract's 401 body below, not FastAPI's 403.
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="A token of `replenish up` (endpoints.json) or of `POST /v1/tokens`")


async def current_principal(request: Request,
                            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Principal:
    token = credentials.credentials.strip() if credentials else ""
    if not token:
        raise ApiError(401, "missing bearer token")
    principal = await request.app.state.tokens.lookup(token)
    if principal is None:
        raise ApiError(401, "invalid or revoked token")
    return principal


def require(*roles: str):
    """Dependency that admits only the given roles (403 otherwise)."""

    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise ApiError(403, f"role '{principal.role}' may not do this")
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require(*READERS))]
Planner = Annotated[Principal, Depends(require(*PLANNERS))]
Approver = Annotated[Principal, Depends(require(*APPROVERS))]
Ops = Annotated[Principal, Depends(require(*OPS))]
Ingester = Annotated[Principal, Depends(require(*INGESTERS))]
Admin = Annotated[Principal, Depends(require(*ADMINS))]
Supplier = Annotated[Principal, Depends(require(*SUPPLIERS))]
