"""The real `cai review label` in a real terminal (tmux, 80x24): keys in, labels file and screen checked."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from cai.review.items import ReviewItem
from tests.review.helpers import read_jsonl

ROOT = Path(__file__).resolve().parents[2]
TMUX = shutil.which("tmux")
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (make system installs it)")


class Tmux:
    """One tmux server of our own (its own socket), so nothing else is touched; killed in a finally."""

    def __init__(self) -> None:
        self.socket = f"cai-review-{uuid.uuid4().hex[:8]}"

    def run(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True, text=True, timeout=30)
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "review")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; the screen was:\n{self.screen()}")

    def kill(self) -> None:
        self.run("kill-server")


def test_label_in_a_real_terminal(review: tuple[Path, list[ReviewItem]]) -> None:
    path, items = review
    env = {
        "TERM": "xterm-256color",
        "PYTHONPATH": f"{ROOT / 'cli'}:{ROOT}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    exports = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    command = f"cd {shlex.quote(str(path.parent))} && env {exports} {shlex.quote(sys.executable)} -m cai review label review.jsonl --reviewer ana; echo EXIT=$?; sleep 60"  # noqa: E501
    tmux = Tmux()
    try:
        tmux.run("new-session", "-d", "-s", "review", "-x", "80", "-y", "24", command)
        first = tmux.wait_for(lambda s: "1 / 5" in s and "A better" in s, "the first item and the footer")
        assert items[0].conversation[0].content in first
        assert "A better" in first  # the footer lists the keys
        tmux.run("send-keys", "-t", "review", "b")
        tmux.wait_for(lambda s: "2 / 5" in s, "the second item")
        tmux.run("send-keys", "-t", "review", "t")
        tmux.wait_for(lambda s: "3 / 5" in s and "labelled 2" in s, "the third item")
        tmux.run("send-keys", "-t", "review", "C-c")  # Ctrl-C quits cleanly: both labels are already on disk
        final = tmux.wait_for(lambda s: "EXIT=" in s, "the command to exit")
        assert "EXIT=0" in final
        assert "labelled 2 of 5" in final
    finally:
        tmux.kill()
    rows = read_jsonl(path.with_name("review.labels.ana.jsonl"))
    assert [(r["item"], r["label"]) for r in rows] == [(items[0].item, "B"), (items[1].item, "tie")]
