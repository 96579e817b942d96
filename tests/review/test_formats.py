"""`cai review sample` (and so `agreement`) on every pair format cai reads: the same pairs, whatever the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cai.app import app
from cai.errors import EXIT_INPUT, InputError
from cai.review.items import read_review
from cai.review.rows import read_judged
from tests.pair_formats import FORMATS, PAIRS, write_format, write_jsonl, write_sft


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_same_pairs(tmp_path: Path, name: str) -> None:
    source = write_format(tmp_path, name)
    judged = read_judged(source)
    read = [(pair.conversation[-1]["content"], pair.a, pair.b) for pair in judged.pairs]
    assert read == list(PAIRS)  # the prompt alone before the answers: no side carries the prompt
    lines = [pair.line for pair in judged.pairs]
    if name == "pairs.csv":  # the line each row starts on (quoted fields span lines; line 1 is the header)
        text = source.read_text(encoding="utf-8").splitlines()
        assert all(text[line - 1].startswith(prompt) for line, (prompt, _, _) in zip(lines, PAIRS, strict=True))
    else:
        assert lines == list(range(1, len(PAIRS) + 1))
    assert all(pair.p_a is None for pair in judged.pairs)  # no judge: the file's own label, a is better


@pytest.mark.parametrize("name", ["pairs.csv", "turns.parquet", "dataset", "hf-cai.jsonl"])
def test_sample_then_agreement_from_a_table_or_folder(tmp_path: Path, name: str) -> None:
    source = write_format(tmp_path, name)
    review = tmp_path / "review.jsonl"
    result = CliRunner().invoke(app, ["review", "sample", str(source), "-n", "6", "-o", str(review)])
    assert result.exit_code == 0, result.stderr
    items = read_review(review)
    assert {item.source.path for item in items} == {str(source)}
    assert sorted(item.text("a") for item in items) == sorted(chosen for _, chosen, _ in PAIRS)
    labels = tmp_path / "review.labels.ana.jsonl"
    write_jsonl(labels, [{"item": item.item, "label": "A", "reviewer": "ana"} for item in items])
    result = CliRunner().invoke(app, ["review", "agreement", str(review), "--labels", str(labels), "--json", "-"])
    assert result.exit_code == 0, result.stderr
    figures = json.loads(result.stdout)
    expected = sum(item.shown_A == "a" for item in items) / len(items)  # humans chose A; the label says a
    assert figures["reviewed"] == 6 and figures["agreement"] == pytest.approx(expected)


def test_sample_reads_stdin(tmp_path: Path) -> None:
    source = write_format(tmp_path, "trl.jsonl")
    review = tmp_path / "review.jsonl"
    result = CliRunner().invoke(app, ["review", "sample", "-", "-o", str(review)], input=source.read_text())
    assert result.exit_code == 0, result.stderr
    assert {item.source.path for item in read_review(review)} == {"<stdin>"}


def test_sft_rows_hold_no_pair_and_say_so(tmp_path: Path) -> None:
    source = write_sft(tmp_path / "sft.jsonl")
    result = CliRunner().invoke(app, ["review", "sample", str(source), "-o", str(tmp_path / "review.jsonl")])
    assert result.exit_code == EXIT_INPUT
    message = " ".join(result.stderr.split())
    assert f"{source}:1: a `cai revise --format sft` row" in message and "--format trl or hf-cai" in message
    assert not (tmp_path / "review.jsonl").exists()


def test_a_missing_source_or_a_plain_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        read_judged(tmp_path / "nope.jsonl")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not a Hugging Face dataset"):
        read_judged(tmp_path / "plain")


def test_a_bad_csv_row_names_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text('prompt,chosen,rejected\n"q","a","b"\n"q2","a2"\n', encoding="utf-8")
    with pytest.raises(InputError, match=f"{source}:3: "):
        read_judged(source)
