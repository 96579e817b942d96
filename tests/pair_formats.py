"""The same six preference pairs in every format cai reads pairs from, for `cai report` and `cai review` tests.

Each writer stores `PAIRS` in one format: plain TRL pairs (strings, conversational turns, implicit prompt),
hh-rlhf transcripts, CSV, Parquet (strings and turns), a dataset folder (save_to_disk) and `cai revise`'s
hf-cai and sft rows, made by cai's own row makers (cai.io.revised), so a reader is tested on what cai writes.
The pairs are built so the length and markdown figures can be computed by hand (see the constants below).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cai.io.revised import Provenance, Revised, hf_cai_row, sft_row

PAIRS: tuple[tuple[str, str, str], ...] = (
    (
        "How do vaccines train the immune system?",
        "## How it works\n- **Antigens** show the immune system a harmless piece of the pathogen.\n"
        "- Memory cells remember it, so the real infection meets a fast answer.",
        "They show your body a harmless piece of the germ.",
    ),
    ("What is the capital of France?", "Paris is the capital of France, and its largest city.", "Paris."),
    (
        "Give me three tips for sleeping better.",
        "Keep a regular schedule, keep the bedroom dark and cool, and skip caffeine after noon.",
        "Tips:\n- regular hours\n- a dark room\n- no late coffee\n- no screens in bed\n- move during the day",
    ),
    (
        "Is it safe to mix bleach and ammonia?",
        "No: together they release toxic chloramine gas. Keep them apart.",
        "No.",
    ),
    (
        "Summarise the plot of Hamlet in one line.",
        "A prince avenges his father's murder and everyone dies.",
        "Hamlet feigns madness to expose his uncle, who killed the king; it ends in a duel where nearly all die.",
    ),
    ("Say hello.", "Hello there, friend!", "Hello, my good friend."),
)
# By hand: Δlength = chars(chosen) − chars(rejected) per pair is +109, +47, −8, +61, −48, −2 (median 22.5); 4 pairs
# differ by more than 30 characters, 3 of them with chosen longer. Markdown: pair 1's chosen (a header, two
# list items, one bold span) and pair 3's rejected (five list items) differ; every other side has none.
CHOSEN_LONGER = (3, 4)  # pairs with chosen longer, pairs differing by more than 30 characters
CHOSEN_MORE_MARKDOWN = (1, 2)  # pairs with chosen more formatted, pairs whose densities differ
DELTA_MEDIAN = 22.5

TEXT_FORMATS = ("trl.jsonl", "conversational.jsonl", "implicit.jsonl", "hh.jsonl", "hf-cai.jsonl", "pairs.csv")
TABLE_FORMATS = ("pairs.parquet", "turns.parquet", "dataset")
FORMATS = TEXT_FORMATS + TABLE_FORMATS


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _assistant(text: str) -> list[dict[str, str]]:
    return [{"role": "assistant", "content": text}]


def _strings() -> list[dict[str, Any]]:
    return [{"prompt": p, "chosen": c, "rejected": r} for p, c, r in PAIRS]


def _conversational() -> list[dict[str, Any]]:
    return [{"prompt": _user(p), "chosen": _assistant(c), "rejected": _assistant(r)} for p, c, r in PAIRS]


def _implicit() -> list[dict[str, Any]]:
    return [{"chosen": _user(p) + _assistant(c), "rejected": _user(p) + _assistant(r)} for p, c, r in PAIRS]


def _hh() -> list[dict[str, Any]]:
    return [
        {"chosen": f"\n\nHuman: {p}\n\nAssistant: {c}", "rejected": f"\n\nHuman: {p}\n\nAssistant: {r}"}
        for p, c, r in PAIRS
    ]


def revised(index: int, prompt: str, final: str, initial: str) -> Revised:
    """One finished `cai revise` record, as its row makers receive it."""
    rounds = (
        {
            "principle": "harmful-content",
            "critique": "The answer could say more.",
            "revision": final,
            "finish_reason": "stop",
            "critique_finish_reason": "stop",
        },
    )
    return Revised(
        f"{index:024x}",
        f"row-{index}",
        index,
        tuple(_user(prompt)),
        initial,
        "generated",
        "stop",
        final,
        rounds,
        ("Critique request.", "Revision request."),
    )


PROVENANCE = Provenance("harmless", "0" * 64, "SmolLM2-135M-Instruct@test", 0, "critique")


def revise_rows(maker: Callable[[Revised, Provenance], dict[str, Any]]) -> list[dict[str, Any]]:
    return [maker(revised(i, p, c, r), PROVENANCE) for i, (p, c, r) in enumerate(PAIRS, 1)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def write_format(folder: Path, name: str) -> Path:
    """`PAIRS` written in the format `name` (one of FORMATS) under `folder`; the path to read."""
    path = folder / name
    jsonl: dict[str, Callable[[], list[dict[str, Any]]]] = {
        "trl.jsonl": _strings,
        "conversational.jsonl": _conversational,
        "implicit.jsonl": _implicit,
        "hh.jsonl": _hh,
        "hf-cai.jsonl": lambda: revise_rows(hf_cai_row),
    }
    if name in jsonl:
        return write_jsonl(path, jsonl[name]())
    if name == "pairs.csv":
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, ["prompt", "chosen", "rejected"])
            writer.writeheader()
            writer.writerows(_strings())
        return path
    return _write_table(path, name)


def _write_table(path: Path, name: str) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _conversational() if name == "turns.parquet" else _strings()
    columns = {key: [row[key] for row in rows] for key in ("prompt", "chosen", "rejected")}
    if name == "dataset":
        import datasets

        datasets.Dataset.from_dict(columns).save_to_disk(str(path))
        return path
    pq.write_table(pa.table(columns), path)
    return path


def write_sft(path: Path) -> Path:
    """`cai revise --format sft` rows: the revision as the answer, no rejected side."""
    return write_jsonl(path, revise_rows(sft_row))
