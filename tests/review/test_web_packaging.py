"""The wheel carries the review app's page (templates, script, stylesheet), which are not Python modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "cli" / "cai" / "review" / "web"


def test_wheel_carries_every_template_and_static_file(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("cai-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    page = {
        f"cai/review/web/{path.relative_to(WEB)}"
        for folder in ("templates", "static")
        for path in (WEB / folder).iterdir()
    }
    assert {"cai/review/web/static/review.js", "cai/review/web/templates/label.html"} <= page <= names
