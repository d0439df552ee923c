"""What every console page shares: the signed-in session, the page's language, rendering, form checks."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.console.guard import same_origin, submitted_csrf
from services.console.i18n import language, translator
from services.console.sessions import COOKIE, Session, SessionStore
from services.console.upstream import Upstream

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class SignInFirst(Exception):
    """No live session: the person goes to /login and comes back to `next` afterwards."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Refused(Exception):
    """A page answer that is not the page: a message in the page's language, with its HTTP status."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        self.status, self.key, self.values = status, key, values


def store(request: Request) -> SessionStore:
    return request.app.state.sessions


def upstream(request: Request) -> Upstream:
    return request.app.state.upstream


async def signed_in(request: Request) -> Session:
    session = await store(request).find(request.cookies.get(COOKIE))
    if session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(target)
    return session


SignedIn = Annotated[Session, Depends(signed_in)]


@dataclass
class Posted:
    session: Session
    form: dict[str, str]


async def posted(request: Request, session: SignedIn) -> Posted:
    """A state-changing form POST: same-origin Origin and the session's CSRF token, else nothing happens."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    if not same_origin(request, request.app.state.settings.public_url) or not session.csrf_matches(
            submitted_csrf(request, form)):
        raise Refused(403, "forbidden_csrf")
    return Posted(session, form)


Post = Annotated[Posted, Depends(posted)]


def safe_next(path: str | None) -> str:
    """Only a path on this console: never `//host` or a scheme, so sign-in is no open redirect."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def back_to(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def render(request: Request, template: str, session: Session | None = None, status: int = 200,
           **context: Any) -> HTMLResponse:
    lang = language(request)
    return TEMPLATES.TemplateResponse(request, template, {
        "t": translator(lang), "lang": lang, "session": session, "csrf": session.csrf if session else "",
        "path": request.url.path, "quote": quote, **context}, status_code=status)
