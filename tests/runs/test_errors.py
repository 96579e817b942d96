"""Errors a user can act on: plain text (their data is never read as markup), exit 2 for paths they gave."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cai.app import app
from tests.conftest import write_lines
from tests.fakes import ScriptedEngine


def test_messages_keep_user_text_with_brackets(use_fake_engine: ScriptedEngine, tmp_path: Path) -> None:
    missing = tmp_path / "data[bold]v2[/bold].jsonl"
    result = CliRunner().invoke(app, ["revise", str(missing)])
    assert result.exit_code == 2
    assert f"prompt file not found: {missing}" in result.stderr


def test_bad_rows_with_markup_are_shown_as_written(use_fake_engine: ScriptedEngine, tmp_path: Path) -> None:
    prompts = write_lines(tmp_path / "p.jsonl", ['{"prompt": "ok"}', '{"prompt": "x", "[red]extra[/red]": 1}'])
    result = CliRunner().invoke(app, ["revise", str(prompts), "--max-bad-rows", "0"])
    assert result.exit_code == 2
    assert "[red]extra[/red]: unknown field" in result.stderr


def test_an_output_under_a_file_is_a_clear_input_error(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["hello"])
    blocking = tmp_path / "some-file"
    blocking.write_text("not a folder\n")
    result = CliRunner().invoke(app, ["revise", str(prompts), "-o", str(blocking / "out.jsonl")])
    assert result.exit_code == 2, result.output
    assert f"{blocking} is a file, not a folder" in result.stderr
    assert "internal error" not in result.stderr and not use_fake_engine.batches
    assert blocking.read_text() == "not a folder\n"


def test_a_rejects_file_that_cannot_be_written_is_a_clear_input_error(
    use_fake_engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["hello", "hello"])  # the repeat is dropped into the rejects file
    folder = tmp_path / "rejects-here"
    folder.mkdir()
    args = ["revise", str(prompts), "-o", str(tmp_path / "out.jsonl"), "--rejects", str(folder)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{folder} is a folder" in result.stderr


def test_an_unknown_engine_name_lists_the_known_ones(tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["hello"])
    result = CliRunner().invoke(app, ["revise", str(prompts), "-m", str(fake_model_dir), "--engine", "nope"])
    assert result.exit_code == 2
    assert "--engine nope: no such engine (known:" in result.stderr and "vllm" in result.stderr
