"""The review app's routes: give a name, label items, watch the agreement. Server-rendered HTML.

Pages are plain HTML forms; review.js only adds the keys and a clock. Every POST (a label, an undo)
reads its form through `read_form`, which checks the CSRF token; the desk appends and fsyncs the
label, and only then does the answer (303 to the reviewer's page) lead to the next item, so what the
page shows is always on disk and a reload never posts twice. Every text from the data goes through
Jinja's autoescape: the review file holds untrusted model output.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast, get_args
from urllib.parse import parse_qsl, quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from cai.errors import InputError
from cai.review.items import ReviewItem
from cai.review.labels import REVIEWER, Choice
from cai.review.web.desk import NOTICES, Desk, Notice
from cai.review.web.diff import changed_words, word_diff
from cai.review.web.live import figures_text, live_figures
from cai.review.web.security import Guard, check_csrf

FORM_LIMIT = 16_384  # bytes: a label form is a few hundred
NOTE_LIMIT = 500
ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}
KEYS = (("a", "A", "A is better"), ("b", "B", "B is better"), ("t", "tie", "tie"), ("s", "skip", "skip"))


@dataclass(frozen=True)
class Settings:
    review: Path
    items: list[ReviewItem]
    overlap: float = 0.0
    token: str | None = None
    port: int = 0
    hosts: frozenset[str] | None = None  # Host names accepted (a loopback bind); None: any


def create_app(settings: Settings, desk: Desk | None = None) -> Starlette:
    site = Site(desk or Desk(settings.review, settings.items, settings.overlap))
    routes = [
        Route("/", site.start),
        Route("/go", site.go),
        Route("/label/{reviewer}", site.page, methods=["GET"]),
        Route("/label/{reviewer}", site.post_label, methods=["POST"]),
        Route("/label/{reviewer}/undo", site.post_undo, methods=["POST"]),
        Route("/agreement", site.agreement),
        Route("/agreement.json", site.agreement_json),
        Mount("/static", StaticFiles(packages=[("cai.review.web", "static")]), name="static"),
    ]
    guard = Middleware(Guard, token=settings.token, port=settings.port, hosts=settings.hosts)
    app = Starlette(routes=routes, middleware=[guard], exception_handlers={InputError: site.input_error})
    app.state.desk = site.desk
    return app


class Site:
    """The route handlers over one desk (sync handlers run in Starlette's thread pool)."""

    def __init__(self, desk: Desk):
        self.desk = desk
        self.env = Environment(
            loader=PackageLoader("cai.review.web", "templates"), autoescape=True, undefined=StrictUndefined
        )

    def render(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        page = self.env.get_template(name).render(csrf=request.state.csrf, **context)
        return HTMLResponse(page, status)

    def start(self, request: Request, problem: str | None = None, status: int = 200) -> HTMLResponse:
        known = sorted(name for name, labels in self.desk.assignment.labels.items() if labels)
        total = len(self.desk.items)
        return self.render(request, "start.html", status, reviewers=known, items=total, problem=problem)

    def go(self, request: Request) -> Response:
        name = request.query_params.get("reviewer", "").strip()
        if not REVIEWER.match(name):
            problem = "Use letters, digits, '.', '_' or '-' (up to 64): the name names your labels file."
            return self.start(request, problem, 400)
        return RedirectResponse(_page_of(name), 303)

    def page(self, request: Request) -> HTMLResponse:
        screen = self.desk.screen(_reviewer(request))
        notice = NOTICES.get(request.query_params.get("said", ""))
        context: dict[str, Any] = {"screen": screen, "progress": screen.progress, "notice": notice, "roles": ROLES}
        context.update(keys=KEYS, elapsed=max(0, int(time.time() - screen.shown)), diff=None, counts=None)
        if screen.item is not None and request.query_params.get("diff") == "1":
            context["diff"] = word_diff(screen.item.response_A, screen.item.response_B)
            context["counts"] = changed_words(context["diff"])
        return self.render(request, "label.html" if screen.item else "done.html", **context)

    async def post_label(self, request: Request) -> Response:
        name = _reviewer(request)
        form = await read_form(request)
        choice = form.get("label", "")
        if choice not in get_args(Choice):
            raise HTTPException(400, f"label must be one of {', '.join(get_args(Choice))}")
        note = " ".join(form.get("note", "").split()) or None
        if note is not None and len(note) > NOTE_LIMIT:
            raise HTTPException(400, f"a note is at most {NOTE_LIMIT} characters")
        said = await run_in_threadpool(
            self.desk.label, name, form.get("item", ""), cast(Choice, choice), note, _seconds(form.get("shown"))
        )
        return _back(name, said)

    async def post_undo(self, request: Request) -> Response:
        name = _reviewer(request)
        await read_form(request)
        return _back(name, await run_in_threadpool(self.desk.undo, name))

    def agreement(self, request: Request) -> HTMLResponse:
        figures = live_figures(self.desk)
        return self.render(request, "agreement.html", text=figures_text(figures), figures=figures)

    def agreement_json(self, request: Request) -> JSONResponse:
        return JSONResponse(live_figures(self.desk))

    async def input_error(self, request: Request, exc: Exception) -> Response:
        return self.render(request, "problem.html", 400, problem=str(exc))


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form of at most FORM_LIMIT bytes whose CSRF token matches (else 403)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the page's form (application/x-www-form-urlencoded)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise HTTPException(413, "form too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=16)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "unreadable form") from None
    form = dict(pairs)
    check_csrf(request, form.get("csrf"))
    return form


def _reviewer(request: Request) -> str:
    name = str(request.path_params["reviewer"])
    if not REVIEWER.match(name):
        raise HTTPException(404, "no such reviewer name (letters, digits, '.', '_' or '-')")
    return name


def _seconds(shown: str | None) -> float | None:
    """Time on the item, from when the page first showed it; None when the value makes no sense."""
    try:
        elapsed = time.time() - float(shown or "nan")
    except ValueError:
        return None
    return elapsed if math.isfinite(elapsed) and 0 <= elapsed <= 86_400 else None


def _page_of(name: str) -> str:
    return f"/label/{quote(name)}"


def _back(name: str, said: Notice | None) -> RedirectResponse:
    return RedirectResponse(_page_of(name) + (f"?said={said}" if said else ""), 303)
