"""`cai review serve` refuses what it cannot serve safely, before it answers anything (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.errors import EXIT_INPUT
from tests.review.web_builders import write_items

ROOT = Path(__file__).resolve().parents[2]


def serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["review", "serve", *args])
    return result.exit_code, result.stderr


@pytest.fixture
def review(tmp_path: Path) -> Path:
    return write_items(tmp_path, 3)[0]


def test_no_token_is_refused_on_an_address_others_can_reach(review: Path) -> None:
    code, stderr = serve(str(review), "--host", "0.0.0.0", "--no-token", "--port", "0")
    assert code == EXIT_INPUT and "--no-token needs a loopback --host" in stderr


def test_a_weak_or_missing_token_file_is_an_error(review: Path, tmp_path: Path) -> None:
    short = tmp_path / "token"
    short.write_text("abc\n")
    code, stderr = serve(str(review), "--token-file", str(short), "--port", "0")
    assert code == EXIT_INPUT and "at least 16 characters" in stderr
    code, stderr = serve(str(review), "--token-file", str(tmp_path / "missing"), "--port", "0")
    assert code == EXIT_INPUT and "cannot read --token-file" in stderr


def test_a_bad_review_or_labels_file_stops_it_naming_the_line(review: Path) -> None:
    labels = review.with_name("review.labels.ana.jsonl")
    labels.write_text('{"item": "r0000", "label": "A", "reviewer": "ana"}\n{"item": "r0001", "label": "maybe"}\n')
    code, stderr = serve(str(review), "--port", "0")
    assert code == EXIT_INPUT and "review.labels.ana.jsonl:2: label" in stderr
    code, stderr = serve(str(review.with_name("nope.jsonl")), "--port", "0")
    assert code == EXIT_INPUT and "cannot read the review file" in stderr


def test_a_port_in_use_is_a_clear_error(review: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        code, stderr = serve(str(review), "--port", str(taken.getsockname()[1]))
    assert code == EXIT_INPUT and "cannot listen on 127.0.0.1 port" in stderr


def test_help_does_not_import_the_web_stack() -> None:
    code = "import sys, cai.app; print(sorted({'starlette', 'uvicorn', 'jinja2'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": f"{ROOT / 'cli'}:{ROOT}"},
    )
    assert done.stdout.strip() == "[]"
