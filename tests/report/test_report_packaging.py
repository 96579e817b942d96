"""The wheel carries the report's data files (template and marker list), which are not Python modules."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_carries_the_template_and_markers(tmp_path: Path) -> None:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("cai-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"cai/report/templates/report.html.j2", "cai/report/markers.yaml", "cai/report/cli.py"} <= names
