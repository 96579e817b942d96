"""Built-in constitutions are found by name from the editable install and from an installed wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cai
from cai import constitution

ROOT = Path(__file__).resolve().parents[1]


def test_editable_install_finds_the_source_tree_constitutions() -> None:
    assert Path(cai.__file__).is_relative_to(ROOT / "cli")
    assert constitution.load("harmless").path == ROOT / "constitutions" / "harmless.yaml"


def test_installed_wheel_carries_and_finds_its_constitutions(tmp_path: Path) -> None:
    dist, site = tmp_path / "dist", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT)], check=True)
    (wheel,) = dist.glob("cai-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {"cai/constitutions/harmless.yaml", "cai/constitutions/helpful-honest.yaml"} <= set(names)
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)

    code = "import cai, cai.constitution as c; print(cai.__file__); print(c.load('helpful-honest').path)"
    env = {**os.environ, "PYTHONPATH": str(site)}
    shown = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True)
    module_file, constitution_file = shown.stdout.split()
    assert Path(module_file).is_relative_to(site)
    assert Path(constitution_file) == site / "cai" / "constitutions" / "helpful-honest.yaml"

    listed = subprocess.run(
        [sys.executable, "-m", "cai", "constitution", "list"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert "harmless" in listed.stdout and "helpful-honest" in listed.stdout
