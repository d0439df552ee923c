"""Sign-in with a token (a plain form POST), sign-out, and the language switch."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from services.console.i18n import LANG_COOKIE, LANGS
from services.console.sessions import COOKIE
from services.console.upstream import UpstreamDown
from services.console.web import Post, Refused, back_to, render, safe_next, store

router = APIRouter()
YEAR_S = 365 * 24 * 3600


@router.get("/login")
async def login_page(request: Request, next: str = "/"):
    return render(request, "login.html", next=safe_next(next))


@router.post("/login")
async def login(request: Request, token: Annotated[str, Form(max_length=500)] = "",
                next: Annotated[str, Form(max_length=2000)] = "/"):
    client = request.client.host if request.client else "?"
    if not request.app.state.login_rate.allow(client):
        return render(request, "login.html", status=429, next=safe_next(next), problem="too_many")
    try:
        opened = await store(request).open(token.strip()) if token.strip() else "invalid"
    except UpstreamDown as exc:
        raise Refused(503, "service_down", what=str(exc)) from None
    if isinstance(opened, str):
        role = ""
        if opened == "role":
            role = (await request.app.state.upstream.whoami(token.strip()) or ("", ""))[1]
        return render(request, "login.html", status=401 if opened == "invalid" else 403, next=safe_next(next),
                      problem="bad_token" if opened == "invalid" else "bad_role", role=role)
    response = back_to(safe_next(next))
    response.set_cookie(COOKIE, opened.id, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request, post: Post):
    store(request).close(post.session.id)
    response = back_to("/login")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, next: str = "/") -> RedirectResponse:
    """A preference only (no state of the platform changes), so a plain link may set it."""
    response = back_to(safe_next(next))
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=YEAR_S, samesite="lax", path="/")
    return response
