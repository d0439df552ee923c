"""What a state-changing POST must carry (§11): a CSRF token and a same-origin Origin; and a rate limit."""
from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

CSRF_FIELD = "csrf_token"
CSRF_HEADERS = ("x-csrf-token", "x-csrftoken")


def _origin_of(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def same_origin(request: Request, public_url: str | None) -> bool:
    """The Origin (or, from browsers that send none, the Referer) is this console's own address: the one the
    request came to, or the configured public one behind a proxy. Neither header: refused."""
    claimed = request.headers.get("origin") or request.headers.get("referer") or ""
    if not claimed or claimed == "null":
        return False
    ours = {_origin_of(str(request.base_url))}
    if public_url:
        ours.add(_origin_of(public_url))
    return _origin_of(claimed) in ours


def submitted_csrf(request: Request, form: dict) -> str | None:
    """The token from the form field, else from the header the console's pages announce in a <meta>."""
    given = form.get(CSRF_FIELD)
    if isinstance(given, str) and given:
        return given
    for name in CSRF_HEADERS:
        if value := request.headers.get(name):
            return value
    return None


def link_csrf(secret: bytes, link_token: str) -> str:
    """The CSRF token of an acknowledge link's form: someone without a session holds only the link, so the
    form's token is derived from it with the console's secret."""
    return hmac.new(secret, link_token.encode(), hashlib.sha256).hexdigest()
