"""On the real engine's output: `cai revise --judge` → `cai review sample` → labels in the review app → the
live figures are exactly what `cai review agreement --json` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markupsafe import escape

from cai.engines import Engine
from cai.review.items import read_review
from cai.review.labels import labels_path
from tests.conftest import run_cli
from tests.review.helpers import read_jsonl
from tests.review.test_web_app import label, make_app, shown, signed_in

pytestmark = pytest.mark.real
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "prompts" / "sample.jsonl"


def test_real_pairs_are_labelled_in_the_app_by_two_reviewers(real_engine: Engine, tmp_path: Path) -> None:
    pairs, review = tmp_path / "pairs.jsonl", tmp_path / "review.jsonl"
    code, _, stderr = run_cli(
        real_engine, "revise", str(SAMPLE), "-o", str(pairs), "--judge", "--principles", "2", "--max-tokens", "24"
    )
    assert code == 0, stderr
    code, _, stderr = run_cli(real_engine, "review", "sample", str(pairs), "-n", "6", "-o", str(review))
    assert code == 0, stderr
    items = read_review(review)
    app = make_app((review, items), overlap=0.5)
    ana, bo = signed_in(app), signed_in(app)
    for client, name, choice in ((ana, "ana", "A"), (bo, "bo", "B")) * len(items):
        item, csrf, page = shown(client, name)
        if not item:
            continue
        shown_item = next(it for it in items if it.item == item)
        assert str(escape(shown_item.response_A)) in page and str(escape(shown_item.response_B)) in page
        label(client, name, item, choice, csrf)
    written = {name: read_jsonl(labels_path(review, name)) for name in ("ana", "bo")}
    shared = {row["item"] for row in written["ana"]} & {row["item"] for row in written["bo"]}
    assert len(written["ana"]) + len(written["bo"]) == len(items) + len(shared) and len(shared) == round(len(items) / 2)

    code, stdout, stderr = run_cli(real_engine, "review", "agreement", str(review), "--json", "-")
    assert code == 0, stderr
    assert ana.get("/agreement.json").json() == json.loads(stdout)
    assert json.loads(stdout)["inter_reviewer"]["items_shared"] == len(shared)
