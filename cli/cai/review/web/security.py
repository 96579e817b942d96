"""The review server's guard: access token, host check, CSRF token and security headers on every request.

- **Access token** (as jupyter_server and datasette do): the URL printed at start carries `?token=…`;
  the first visit stores it in an HttpOnly, SameSite=Strict cookie and redirects to the same URL
  without it (so it leaves the address bar and the history). Every later request must carry the
  cookie (or `Authorization: Bearer TOKEN`), compared with `secrets.compare_digest`; without it every
  path, static files and unknown paths included, answers 401.
- **Host check** on a loopback address: a Host header other than localhost / 127.0.0.1 / ::1 is
  refused (403), which defeats DNS rebinding even when the token is off.
- **CSRF**: a double-submit token. A random value is set once in an HttpOnly cookie and written
  into every form by the server; each POST must send it back as the form field `csrf` and match the
  cookie (`check_csrf`, called by the one function that reads a form). POSTs whose Origin is not
  this server, or that a browser marks `Sec-Fetch-Site: cross-site`, are refused before that.
- **Headers**: the CSP below (nothing from the network, no inline script or style), nosniff, referrer only to
  this server, no framing, no caching of pages (a label must never come from a stale page).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",  # no-referrer would make Chrome send `Origin: null` on POSTs
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
UNAUTHORIZED = (
    "401 Unauthorized: this review server needs its access token. Open the URL `cai review serve` printed "
    "(it ends in ?token=...).\n"
)


class Guard:
    """ASGI middleware in front of every route (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str | None, port: int, hosts: Iterable[str] | None):
        self.app = app
        self.token = token
        self.hosts = None if hosts is None else frozenset(hosts)
        self.token_cookie = f"cai_review_token_{port}"
        self.csrf_cookie = f"cai_review_csrf_{port}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = self._refusal(request)
        if refused is not None:
            await _with_headers(refused, [])(scope, receive, send)
            return
        cookies: list[str] = []
        sent = request.cookies.get(self.csrf_cookie)
        csrf = sent if sent is not None and len(sent) >= 32 else secrets.token_urlsafe(32)
        if csrf != sent:
            cookies.append(_cookie(self.csrf_cookie, csrf))
        scope.setdefault("state", {}).update(csrf=csrf, csrf_cookie=sent)
        given = request.query_params.get("token")
        if self.token is not None and given is not None and request.method in ("GET", "HEAD"):
            if _same(given, self.token):
                cookies.append(_cookie(self.token_cookie, given))
            await _with_headers(RedirectResponse(_without_token(request), 303), cookies)(scope, receive, send)
            return
        await self.app(scope, receive, _adding(send, cookies))

    def _refusal(self, request: Request) -> Response | None:
        """Why this request is refused before it reaches a route (None: let it through)."""
        if self.hosts is not None and _host_name(request.headers.get("host", "")) not in self.hosts:
            return PlainTextResponse("403 Forbidden: unexpected Host header\n", 403)
        if self.token is not None and not self._authorised(request):
            return PlainTextResponse(UNAUTHORIZED, 401)
        if request.method not in ("GET", "HEAD", "POST"):
            return PlainTextResponse("405 Method Not Allowed\n", 405)
        if request.method == "POST" and _cross_site(request.headers):
            return PlainTextResponse("403 Forbidden: cross-site request\n", 403)
        return None

    def _authorised(self, request: Request) -> bool:
        assert self.token is not None
        bearer = request.headers.get("authorization", "")
        offered = [
            request.query_params.get("token"),
            request.cookies.get(self.token_cookie),
            bearer.removeprefix("Bearer ") if bearer.startswith("Bearer ") else None,
        ]
        return any(value is not None and _same(value, self.token) for value in offered)


def check_csrf(request: Request, sent: str | None) -> None:
    """A POST's `csrf` field must equal the token in its cookie (set by the Guard on an earlier page)."""
    expected = request.scope.get("state", {}).get("csrf_cookie")
    if expected is None or sent is None or not _same(sent, expected):
        raise HTTPException(403, "CSRF token missing or wrong: reload the page and try again")


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def _host_name(host: str) -> str:
    name = urlsplit(f"//{host}").hostname
    return name or ""


def _cross_site(headers: Headers) -> bool:
    if headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None:
        return False
    return origin == "null" or urlsplit(origin).netloc != headers.get("host", "")


def _without_token(request: Request) -> str:
    query = urlencode([(key, value) for key, value in request.query_params.multi_items() if key != "token"])
    return request.url.path + (f"?{query}" if query else "")


def _cookie(name: str, value: str) -> str:
    cookie: SimpleCookie = SimpleCookie()
    cookie[name] = value
    cookie[name]["path"] = "/"
    cookie[name]["httponly"] = True
    cookie[name]["samesite"] = "Strict"
    return cookie.output(header="").strip()


def _with_headers(response: Response, cookies: list[str]) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, _adding(send, cookies))

    return app


def _adding(send: Send, cookies: list[str]) -> Send:
    """Security headers on every response, and the cookies this request must set."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
            headers += [(name.encode(), value.encode()) for name, value in HEADERS.items()]
            headers += [(b"set-cookie", cookie.encode()) for cookie in cookies]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
