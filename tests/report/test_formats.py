"""`cai report` on every pair format cai reads, and the dataset-level signals it computes without a judge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cai.errors import EXIT_GATE, EXIT_INPUT
from cai.report.run import ReportJob, run_report
from cai.report.style import markdown
from tests.pair_formats import (
    CHOSEN_LONGER,
    CHOSEN_MORE_MARKDOWN,
    DELTA_MEDIAN,
    FORMATS,
    PAIRS,
    write_format,
    write_jsonl,
    write_sft,
)
from tests.report.test_cli_report import cai


@pytest.mark.parametrize("name", FORMATS)
def test_every_format_gives_the_same_figures(tmp_path: Path, name: str) -> None:
    source = write_format(tmp_path, name)
    figures = run_report(ReportJob((str(source),), None)).figures
    assert figures["pairs"] == len(PAIRS) and figures["judged_pairs"] == 0
    assert figures["mean_chars_chosen"] == pytest.approx(sum(len(c) for _, c, _ in PAIRS) / len(PAIRS))
    assert (figures["chosen_longer"], figures["chosen_longer_pairs"]) == (
        CHOSEN_LONGER[0] / CHOSEN_LONGER[1],
        CHOSEN_LONGER[1],
    )
    assert figures["delta_length_median"] == DELTA_MEDIAN
    assert (figures["chosen_more_markdown"], figures["chosen_more_markdown_pairs"]) == (
        CHOSEN_MORE_MARKDOWN[0] / CHOSEN_MORE_MARKDOWN[1],
        CHOSEN_MORE_MARKDOWN[1],
    )
    density = sum(markdown(c).density for _, c, _ in PAIRS) / len(PAIRS)
    assert figures["markdown_density_chosen"] == pytest.approx(density)
    # what needs a judge is undefined here, not zero; so is what needs cai's rounds, but in cai's own rows
    assert figures["length_bias"] is None and figures["preference_style_controlled"] is None
    with_rounds = 0.0 if name == "hf-cai.jsonl" else None
    assert figures["truncated_chosen"] == with_rounds and figures["truncated_critiques"] == with_rounds


def test_gate_on_chosen_longer_without_a_judge(tmp_path: Path) -> None:
    source = write_format(tmp_path, "trl.jsonl")
    page = str(tmp_path / "r.html")
    code, _, stderr = cai("report", str(source), "-o", page, "--max", "chosen_longer=0.6")
    assert code == EXIT_GATE
    assert "--max chosen_longer=0.6: chosen_longer is 0.75" in " ".join(stderr.split())
    code, _, stderr = cai("report", str(source), "-o", page, "--max", "chosen_longer=0.8", "--max", "duplicate_pairs=0")
    assert code == 0, stderr


def test_a_dataset_folder_with_splits_needs_split(tmp_path: Path) -> None:
    import datasets

    rows = {"prompt": [p for p, _, _ in PAIRS], "chosen": [c for _, c, _ in PAIRS], "rejected": [r for *_, r in PAIRS]}
    folder = tmp_path / "dd"
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict(rows), "test": datasets.Dataset.from_dict(rows)}
    ).save_to_disk(str(folder))
    export = tmp_path / "f.json"
    code, _, stderr = cai(
        "report", str(folder), "--split", "test", "-o", str(tmp_path / "r.html"), "--json", str(export)
    )
    assert code == 0, stderr
    assert json.loads(export.read_text())["figures"]["pairs"] == len(PAIRS)


def test_sft_rows_are_refused_with_the_reason(tmp_path: Path) -> None:
    source = write_sft(tmp_path / "sft.jsonl")
    code, _, stderr = cai("report", str(source), "-o", str(tmp_path / "r.html"))
    assert code == EXIT_INPUT
    assert f"{source}:1: a `cai revise --format sft` row (messages, no rejected side)" in " ".join(stderr.split())


def test_duplicate_pairs_count_every_later_copy(tmp_path: Path) -> None:
    rows = [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS]
    first = rows[0]
    copy = {"prompt": first["prompt"].upper(), "chosen": "  " + first["chosen"], "rejected": first["rejected"]}
    other_prompt = {**first, "prompt": "Another question entirely?"}
    source = write_jsonl(tmp_path / "dups.jsonl", [*rows, copy, dict(first), other_prompt])
    flags = tmp_path / "flags.jsonl"
    figures = run_report(ReportJob((str(source),), None, flags_out=str(flags))).figures
    assert figures["duplicate_pairs"] == pytest.approx(2 / 9)
    marked = [json.loads(line)["duplicate_pair"] for line in flags.read_text().splitlines()]
    assert marked == [False] * 6 + [True, True, False]
