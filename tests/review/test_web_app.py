"""The review app in-process (Starlette's TestClient): token, CSRF, headers, labels through the store, resume."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from cai.review.agreement import agreement_figures
from cai.review.items import ReviewItem
from cai.review.labels import LabelStore, labels_path
from cai.review.web.app import Settings, create_app
from cai.review.web.security import CSP, LOOPBACK_NAMES
from tests.review.helpers import read_jsonl
from tests.review.web_builders import XSS, hostile, write_items

TOKEN = "t0ken-for-tests-0123456789"
Review = tuple[Path, list[ReviewItem]]


@pytest.fixture
def review(tmp_path: Path) -> Review:
    return write_items(tmp_path, 6)


def make_app(
    review: Review, overlap: float = 0.0, token: str | None = TOKEN, hosts: frozenset[str] | None = None
) -> Starlette:
    path, items = review
    return create_app(Settings(path, items, overlap, token, 8765, hosts))


def client_for(review: Review | Starlette, **options: Any) -> TestClient:
    app = review if isinstance(review, Starlette) else make_app(review, **options)
    return TestClient(app, follow_redirects=False)


def signed_in(review: Review | Starlette, overlap: float = 0.0) -> TestClient:
    client = client_for(review) if isinstance(review, Starlette) else client_for(review, overlap=overlap)
    answer = client.get(f"/?token={TOKEN}")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return client


def shown(client: TestClient, name: str, query: str = "") -> tuple[str, str, str]:
    """(item on screen, csrf token, page) of a reviewer's page."""
    page = client.get(f"/label/{name}{query}")
    assert page.status_code == 200, page.text
    item = re.search(r'data-item="([^"]*)"', page.text)
    csrf = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert csrf is not None
    return (item.group(1) if item else ""), csrf.group(1), page.text


def label(client: TestClient, name: str, item: str, choice: str, csrf: str, **extra: str) -> Any:
    return client.post(f"/label/{name}", data={"csrf": csrf, "item": item, "label": choice, **extra})


def every_path() -> list[str]:
    app = create_app(Settings(Path("r.jsonl"), [], token=TOKEN))
    paths = [route.path.replace("{reviewer}", "ana") for route in app.routes if isinstance(route, Route)]
    paths += [route.path + "/review.js" for route in app.routes if isinstance(route, Mount)]
    return [*paths, "/no-such-page", "/static/../app.py"]


@pytest.mark.parametrize("path", every_path())
def test_every_path_answers_401_without_the_token(review: Review, path: str) -> None:
    client = client_for(review)
    for method in ("GET", "POST"):
        assert client.request(method, path).status_code == 401, (method, path)
    assert client.get(path, headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    client.cookies.set("cai_review_token_8765", "wrong")
    assert client.get(path).status_code == 401
    assert not labels_path(review[0], "ana").exists()


def test_the_token_url_sets_a_cookie_and_drops_the_token_from_the_address(review: Review) -> None:
    client = client_for(review)
    answer = client.get(f"/label/ana?token={TOKEN}&diff=1")
    assert answer.status_code == 303 and answer.headers["location"] == "/label/ana?diff=1"
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith(f"cai_review_token_8765={TOKEN};") for c in cookies)
    assert all("HttpOnly" in c and "SameSite=Strict" in c for c in cookies)
    assert client.get("/label/ana").status_code == 200
    assert client_for(review).get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    wrong = client_for(review).get("/?token=nope")
    assert wrong.status_code == 401 and "set-cookie" not in {k.lower() for k in wrong.headers}


def test_every_answer_carries_the_csp_and_no_caching(review: Review) -> None:
    client = client_for(review)
    for answer in (client.get("/"), client.get(f"/?token={TOKEN}"), client.get("/static/review.js")):
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "same-origin"  # no-referrer: Chrome would POST `Origin: null`
    script = client.get("/static/review.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "<script>" not in client.get("/").text and "style=" not in client.get("/label/ana").text


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(review: Review) -> None:
    client = signed_in(review)
    item, csrf, _ = shown(client, "ana")
    assert label(client, "ana", item, "A", "").status_code == 403
    assert label(client, "ana", item, "A", csrf[:-1] + "x").status_code == 403
    assert client.post("/label/ana", data={"item": item, "label": "A"}).status_code == 403
    assert client.post("/label/ana/undo", data={"csrf": ""}).status_code == 403
    form = {"csrf": csrf, "item": item, "label": "A"}
    for origin in ("http://evil.example", "null", "http://testserver:8080"):
        assert client.post("/label/ana", data=form, headers={"Origin": origin}).status_code == 403
    assert client.post("/label/ana", data=form, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert not labels_path(review[0], "ana").exists()
    same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}  # what a browser sends from the page
    assert client.post("/label/ana", data=form, headers=same).status_code == 303
    fresh = client_for(review)  # the token but no CSRF cookie yet
    fresh.headers["Authorization"] = f"Bearer {TOKEN}"
    assert label(fresh, "ana", item, "A", csrf).status_code == 403
    assert len(read_jsonl(labels_path(review[0], "ana"))) == 1


def test_a_click_is_one_line_in_the_terminal_uis_format_and_the_next_item_follows(review: Review) -> None:
    path, items = review
    client = signed_in(review)
    item, csrf, _ = shown(client, "ana")
    assert item == items[0].item
    answer = label(client, "ana", item, "B", csrf, note="  too\nlong  ", shown="0")
    assert answer.status_code == 303 and answer.headers["location"] == "/label/ana"
    rows = read_jsonl(labels_path(path, "ana"))
    assert len(rows) == 1 and set(rows[0]) == {"item", "label", "reviewer", "note", "at"}  # seconds: not sensible
    assert (rows[0]["item"], rows[0]["label"], rows[0]["reviewer"], rows[0]["note"]) == (item, "B", "ana", "too long")
    assert shown(client, "ana")[0] == items[1].item
    store = LabelStore(labels_path(path, "ana"), "ana")  # the terminal UI's store reads it back
    assert {key: event.label for key, event in store.current().items()} == {item: "B"}


def test_a_second_post_for_the_same_item_adds_nothing(review: Review) -> None:
    path, _ = review
    client = signed_in(review)
    item, csrf, _ = shown(client, "ana")
    assert label(client, "ana", item, "A", csrf).status_code == 303
    again = label(client, "ana", item, "B", csrf)
    assert again.headers["location"] == "/label/ana?said=already"
    assert "already had your label" in shown(client, "ana", "?said=already")[2]
    assert [r["label"] for r in read_jsonl(labels_path(path, "ana"))] == ["A"]


def test_undo_is_an_appended_event_and_brings_the_item_back(review: Review) -> None:
    path, items = review
    client = signed_in(review)
    for expected in items[:2]:
        item, csrf, _ = shown(client, "ana")
        assert item == expected.item
        label(client, "ana", item, "A", csrf)
    assert client.post("/label/ana/undo", data={"csrf": csrf}).headers["location"] == "/label/ana"
    assert shown(client, "ana")[0] == items[1].item
    assert [(r["item"], r["label"]) for r in read_jsonl(labels_path(path, "ana"))] == [
        (items[0].item, "A"),
        (items[1].item, "A"),
        (items[1].item, "undo"),
    ]


def test_resumes_where_the_terminal_ui_left_off_and_sees_it_append_while_running(review: Review) -> None:
    path, items = review
    terminal = LabelStore(labels_path(path, "ana"), "ana")
    terminal.add(items[0].item, "A")
    terminal.add(items[1].item, "skip")
    client = signed_in(review)
    assert shown(client, "ana")[0] == items[2].item
    terminal.add(items[2].item, "tie")  # the terminal UI labels the item the page shows
    terminal.close()
    item, csrf, page = shown(client, "ana")
    assert item == items[3].item and '<b id="mine">3</b>' in page
    label(client, "ana", item, "B", csrf)
    labels = [(r["item"], r["label"]) for r in read_jsonl(labels_path(path, "ana"))]
    assert labels == [(items[0].item, "A"), (items[1].item, "skip"), (items[2].item, "tie"), (items[3].item, "B")]


def test_two_reviewers_share_only_the_overlap_items(tmp_path: Path) -> None:
    review = write_items(tmp_path, 10)
    app = make_app(review, overlap=0.2)
    ana, bo = signed_in(app), signed_in(app)
    for _ in range(6):
        for client, name in ((ana, "ana"), (bo, "bo")):
            item, csrf, _ = shown(client, name)
            if item:
                label(client, name, item, "A", csrf)
    mine = {name: {r["item"] for r in read_jsonl(labels_path(review[0], name))} for name in ("ana", "bo")}
    assert mine["ana"] & mine["bo"] == {review[1][4].item, review[1][9].item}
    assert mine["ana"] | mine["bo"] == {item.item for item in review[1]}
    assert "Nothing left for you" in shown(ana, "ana")[2]


def test_the_live_figures_are_those_of_cai_review_agreement(review: Review) -> None:
    path, _ = review
    client = signed_in(review, overlap=1.0)
    for name, choices in (("ana", "ABtAB"), ("bo", "AAtBs")):
        for choice in choices:
            item, csrf, _ = shown(client, name)
            label(client, name, item, {"t": "tie", "s": "skip"}.get(choice, choice), csrf)
    live = client.get("/agreement.json").json()
    assert live == json.loads(json.dumps(agreement_figures(path)))
    assert live["reviewed"] == 5 and live["inter_reviewer"]["items_shared"] == 4
    page = client.get("/agreement").text
    assert "cai review agreement" in page and "reviewed                  5 of 6 items (reviewers: ana, bo)" in page


def test_texts_from_the_data_are_escaped_everywhere(tmp_path: Path) -> None:
    review = write_items(tmp_path, 2, hostile)
    client = signed_in(review)
    page = shown(client, "ana")[2]
    for payload in XSS:
        assert str(escape(payload)) in page  # every text, as Jinja escapes it
    with_diff = shown(client, "ana", "?diff=1")[2]
    assert 'id="diff"' in with_diff and "&lt;script&gt;" in with_diff.split('id="diff"')[1]
    for text in (page, with_diff):
        assert not re.search(r"<(script>|img|svg|iframe)", text)  # the only <script is the page's own src=


def test_a_loopback_server_refuses_other_host_names(review: Review) -> None:
    client = client_for(review, token=None, hosts=LOOPBACK_NAMES)
    assert client.get("/", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert client.get("/", headers={"Host": "localhost"}).status_code == 200
    assert client.get("/", headers={"Host": "rebound.example:8765"}).status_code == 403


def test_bad_requests_are_clear_errors_and_write_nothing(review: Review) -> None:
    path, _ = review
    client = signed_in(review)
    item, csrf, _ = shown(client, "ana")
    assert client.get("/go?reviewer=../etc").status_code == 400
    assert client.get("/go?reviewer=bo").headers["location"] == "/label/bo"
    assert client.get("/label/no%20spaces").status_code == 404
    assert label(client, "ana", item, "maybe", csrf).status_code == 400
    assert label(client, "ana", item, "A", csrf, note="x" * 501).status_code == 400
    unknown = label(client, "ana", "not-an-item", "A", csrf)
    assert unknown.status_code == 400 and "not-an-item" in unknown.text
    assert label(client, "ana", item, "A", csrf, pad="x" * 20_000).status_code == 413
    raw = client.post("/label/ana", content=b"{}", headers={"content-type": "application/json"})
    assert raw.status_code == 415
    assert not labels_path(path, "ana").exists()
