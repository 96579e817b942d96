"""`cai eval` on the scripted engine: outcomes, figures, rows other commands read, gate, answers files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cai.app import app
from cai.engines import Request
from tests.conftest import select_engine, write_lines
from tests.evaluation.helpers import B_TOKENS, case_prompts, read_rows, scripted_answer, scripted_engine
from tests.fakes import ScriptedEngine


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> ScriptedEngine:
    fake = scripted_engine()
    select_engine(monkeypatch, lambda path, args, label: fake)
    return fake


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def eval_args(prompts: Path, model: Path, *more: str) -> list[str]:
    return ["eval", str(prompts), "--model-a", str(model), "--model-b", str(model), "--judge-model", str(model),
            "--max-tokens-b", str(B_TOKENS), *more]  # fmt: skip


def test_win_rate_ties_interval_and_length_control(
    engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl")
    out, stats = tmp_path / "eval.jsonl", tmp_path / "stats.json"
    result = invoke(
        *eval_args(prompts, fake_model_dir, "-o", str(out), "--stats-json", str(stats), "--principles", "2")
    )
    assert result.exit_code == 0, result.stderr
    rows = read_rows(out)
    assert [row["eval"]["winner"] for row in rows] == ["b", "b", "b", "a", "b", "tie", "tie", "a"]  # type: ignore[index]
    figures = json.loads(stats.read_text())["figures"]
    assert (figures["b_wins"], figures["ties"], figures["a_wins"], figures["pairs"]) == (4, 2, 2, 8)
    assert figures["win_rate"] == 0.625  # (4 + 2/2) / 8
    z = 1.959963984540054  # Wilson on 5 of 8, by hand
    centre = (0.625 + z * z / 16) / (1 + z * z / 8)
    half = z / (1 + z * z / 8) * math.sqrt(0.625 * 0.375 / 8 + z * z / 256)
    assert figures["ci95"] == pytest.approx([centre - half, centre + half], abs=1e-6)
    b0 = 1.5 * math.log(3) / 2.5  # two length groups: Δ +100 wins 3/4, Δ −150 wins 1/2 (see test_stats)
    assert figures["length_controlled_win_rate"] == pytest.approx(1 / (1 + math.exp(-b0)), abs=1e-4)
    assert figures["position_consistency_rate"] == 0.75  # the two ties read 0.5 in both orders
    assert figures["position_consistent"]["win_rate"] == pytest.approx(4 / 6, abs=1e-6)
    assert figures["by_category"]["long"]["win_rate"] == 0.75 and figures["by_category"]["short"]["win_rate"] == 0.5
    assert sum(p["pairs"] for p in figures["by_principle"].values()) == 16  # 2 principles × 8 pairs
    assert "win rate B over A" in result.stderr and "62.5% [" in result.stderr
    assert "self-preference" in result.stderr  # the judge is both models here


def test_rows_carry_both_answers_the_verdict_and_provenance(
    engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl")
    result = invoke(*eval_args(prompts, fake_model_dir, "--principles", "1", "--seed-b", "3"))
    assert result.exit_code == 0, result.stderr
    row: dict[str, Any] = json.loads(result.stdout.splitlines()[0])
    assert row["id"] == "c0" and row["category"] == "long"
    assert row["response_b"].startswith("good") and row["response_a"].startswith("plain")
    assert row["scores"]["kind"] == "pairwise" and row["scores"]["p_a"] == pytest.approx(0.2)
    assert row["eval"]["b"]["max_tokens"] == B_TOKENS and row["eval"]["b"]["seed"] == 3
    assert row["eval"]["a"]["chars"] == 200 and row["eval"]["b"]["chars"] == 300
    assert row["eval"]["p_b"] == pytest.approx(0.8)


def test_review_sample_and_report_read_the_output(engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl")
    out, page = tmp_path / "eval.jsonl", tmp_path / "eval.html"
    result = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--report", str(page), "--principles", "1"))
    assert result.exit_code == 0, result.stderr
    assert "<html" in page.read_text()[:500].lower() and f"page {page}" in result.stderr
    review = tmp_path / "review.jsonl"
    sampled = invoke("review", "sample", str(out), "-n", "4", "-o", str(review))
    assert sampled.exit_code == 0, sampled.stderr
    items = read_rows(review)
    assert len(items) == 4 and all(item["source"]["path"] == str(out) for item in items)  # type: ignore[index]
    reported = invoke("report", str(out), "-o", str(tmp_path / "again.html"), "--json", str(tmp_path / "r.json"))
    assert reported.exit_code == 0, reported.stderr
    report = json.loads((tmp_path / "r.json").read_text())["figures"]
    assert report["judged_pairs"] == 8
    assert report["self_preference"] == 1.0  # the judge wrote both sides (read from the rows' `eval`)
    assert report["truncated_chosen"] == 0.0  # side A's finish reasons are known: none cut


def test_min_win_rate_gate_exits_3_after_the_summary(
    engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl")
    out = tmp_path / "eval.jsonl"
    passed = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--min-win-rate", "0.6"))
    assert passed.exit_code == 0, passed.stderr
    failed = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--min-win-rate", "0.7"))
    assert failed.exit_code == 3
    assert "win rate B over A" in failed.stderr and "--min-win-rate 0.7: B's win rate over A is 0.625" in failed.stderr


def test_min_win_rate_lower_gates_on_the_interval_not_the_point(
    engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = case_prompts(tmp_path / "prompts.jsonl")
    out, stats = tmp_path / "eval.jsonl", tmp_path / "stats.json"
    more = ["-o", str(out), "--stats-json", str(stats), "--min-win-rate", "0.6"]
    failed = invoke(*eval_args(prompts, fake_model_dir, *more, "--min-win-rate-lower", "0.5"))
    assert failed.exit_code == 3, failed.stderr  # 0.625 passes the point gate; 8 prompts cannot clear 0.5
    figures = json.loads(stats.read_text())["figures"]
    low = figures["win_rate_lower"]
    assert low == min(figures["ci95"][0], figures["ci95_bootstrap"][0]) and low < 0.5
    assert f"--min-win-rate-lower 0.5: the lower bound of B's win rate is {low:.4g}" in failed.stderr
    assert "95 % intervals" in failed.stderr and "style-controlled" in failed.stderr
    assert figures["bootstrap"] == {"resamples": 2000, "seed": 0, "unit": "prompt"}
    assert figures["style_covariates"] == ["length"]  # the scripted answers carry no markdown
    assert figures["style_controlled_win_rate"] == figures["length_controlled_win_rate"]
    passed = invoke(*eval_args(prompts, fake_model_dir, *more, "--min-win-rate-lower", f"{low - 0.01:.4f}"))
    assert passed.exit_code == 0, passed.stderr
    both = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--min-win-rate", "0.7",
                             "--min-win-rate-lower", "0.5"))  # fmt: skip
    assert both.exit_code == 3 and "--min-win-rate 0.7:" in both.stderr and "--min-win-rate-lower 0.5:" in both.stderr


def test_answers_from_files_are_compared_without_generating(
    engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path
) -> None:
    prompts = write_lines(
        tmp_path / "p.jsonl",
        ['{"id": 1, "prompt": "first"}', '{"id": "two", "prompt": "second"}', '{"prompt": "no id"}', "{oops"],
    )
    a = write_lines(
        tmp_path / "a.jsonl", ['{"id": "1", "response": "a good answer"}', '{"id": "two", "response": "meh"}']
    )
    b = write_lines(tmp_path / "b.jsonl", ['{"id": 1, "response": "plain"}'])
    out = tmp_path / "eval.jsonl"
    result = invoke("eval", str(prompts), "--answers-a", str(a), "--answers-b", str(b), "-o", str(out),
                    "--judge-model", str(fake_model_dir), "--principles", "1")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (row,) = read_rows(out)
    assert row["response_a"] == "a good answer" and row["eval"]["winner"] == "a"  # type: ignore[index]
    assert all(r.continue_final for r in engine.requests)  # only the judge's option reads: nothing generated
    rejects = {
        json.loads(line)["line"]: json.loads(line)["reason"] for line in (tmp_path / "eval.rejects.jsonl").open()
    }
    assert rejects == {2: "missing_answer", 3: "no_id", 4: "invalid_json"}


def test_a_bad_answers_file_stops_before_any_model_work(tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "p.jsonl", ['{"id": 1, "prompt": "first"}'])
    a = write_lines(tmp_path / "a.jsonl", ['{"id": 1, "response": "x"}', '{"id": 2, "answer": "y"}'])
    result = invoke("eval", str(prompts), "--answers-a", str(a), "--model-b", str(fake_model_dir))
    assert result.exit_code == 2
    assert f"{a}:2:" in result.stderr and "response" in result.stderr


def test_too_many_bad_prompt_rows_stop_before_the_model_loads(tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "p.jsonl", ['{"prompt": "ok"}', '{"prompt": ""}', '{"response": "x"}'])
    result = invoke("eval", str(prompts), "--model-a", str(fake_model_dir), "--max-bad-rows", "1")
    assert result.exit_code == 2 and "2 of 3 rows" in result.stderr


def test_one_model_loads_once_for_both_sides_and_the_judge(tmp_path: Path, fake_model_dir: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    loads: list[str] = []

    def factory(path: str, args: object, label: str) -> ScriptedEngine:
        loads.append(label)
        return scripted_engine()

    select_engine(monkeypatch, factory)
    prompts = case_prompts(tmp_path / "p.jsonl")
    result = invoke(*eval_args(prompts, fake_model_dir, "-q"))
    assert result.exit_code == 0, result.stderr
    assert loads == [str(fake_model_dir)]


def test_different_models_load_one_at_a_time_judge_model_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[str] = []

    class Tracked(ScriptedEngine):
        def close(self) -> None:
            events.append(f"close {self.model_name}")

    def factory(path: str, args: object, label: str) -> ScriptedEngine:
        events.append(f"load {label}")
        return Tracked(model_name=label)

    folders = []
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text("{}")
        folders.append(str(tmp_path / name))
    select_engine(monkeypatch, factory)
    prompts = write_lines(tmp_path / "p.txt", ["one", "two"])
    old, new = folders
    result = invoke("eval", str(prompts), "--model-a", old, "--model-b", new, "--judge-model", old, "-q")
    assert result.exit_code == 0, result.stderr
    assert events == [f"load {new}", f"close {new}", f"load {old}", f"close {old}"]  # A's model stays for the judge
    no_warning = invoke("eval", str(prompts), "--model-a", old, "--model-b", old, "--judge-model", new)
    assert "self-preference" not in no_warning.stderr


def test_a_rerun_regenerates_nothing_it_has(
    tmp_path: Path, fake_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class DiesJudging(ScriptedEngine):
        def generate(self, requests: Any) -> Any:
            if any(r.continue_final for r in requests):
                raise RuntimeError("engine died while judging")
            return super().generate(requests)

    prompts = case_prompts(tmp_path / "p.jsonl")
    out = tmp_path / "eval.jsonl"
    select_engine(monkeypatch, lambda path, args, label: DiesJudging(responder=scripted_engine().responder))
    crashed = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--chunk-size", "3"))
    assert crashed.exit_code == 1
    assert len((tmp_path / "eval.answers.jsonl").read_text().splitlines()) == 16  # both sides' answers kept
    assert json.loads((tmp_path / "eval.manifest.json").read_text())["status"] == "interrupted"
    fresh = scripted_engine()
    select_engine(monkeypatch, lambda path, args, label: fresh)
    resumed = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--chunk-size", "3"))
    assert resumed.exit_code == 0, resumed.stderr
    assert fresh.requests and all(r.continue_final for r in fresh.requests)  # judged only: no answer regenerated
    assert len(read_rows(out)) == 8 and "(16 reused)" in resumed.stderr
    before = out.read_bytes()
    again = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out)))
    assert again.exit_code == 0 and out.read_bytes() == before and "win rate B over A" in again.stderr
    changed = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--seed-b", "9"))
    assert changed.exit_code == 2 and "other parameters" in changed.stderr


def test_identical_sides_share_answers_and_tie(engine: ScriptedEngine, tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["one", "two", "three"])
    m = str(fake_model_dir)
    result = invoke("eval", str(prompts), "--model-a", m, "--model-b", m, "--judge-model", m, "--principles", "1")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(row["eval"]["winner"] == "tie" and row["eval"]["identical"] for row in rows)
    assert sum(not r.continue_final for r in engine.requests) == 3  # one answer per prompt serves both sides
    assert "A 3 (3 reused)" in result.stderr


def test_option_errors(tmp_path: Path, fake_model_dir: Path) -> None:
    prompts = write_lines(tmp_path / "p.txt", ["one"])
    both = invoke("eval", str(prompts), "--model-a", str(fake_model_dir), "--answers-a", str(prompts))
    assert both.exit_code == 2 and "not both" in both.stderr
    page = invoke("eval", str(prompts), "--report", "x.html")
    assert page.exit_code == 2 and "needs -o" in page.stderr


def test_a_side_that_cannot_answer_is_quarantined(tmp_path: Path, fake_model_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    def answer(request: Request) -> str:
        silent = request.max_tokens == B_TOKENS and "quiet" in request.messages[-1]["content"]
        return "" if silent else scripted_answer(request)

    fake = ScriptedEngine(responder=answer, max_model_len=260)
    select_engine(monkeypatch, lambda path, args, label: fake)
    prompts = write_lines(tmp_path / "p.txt", ["be quiet", "fine", "long " * 250])
    out = tmp_path / "eval.jsonl"
    result = invoke(*eval_args(prompts, fake_model_dir, "-o", str(out), "--max-tokens-a", "40", "--principles", "1"))
    assert result.exit_code == 0, result.stderr
    assert [row["prompt"][0]["content"] for row in read_rows(out)] == ["fine"]  # type: ignore[index]
    rejects = [json.loads(line) for line in (tmp_path / "eval.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["reason"]) for r in rejects] == [(1, "empty_generation_b"), (3, "prompt_too_long_a")]
    assert sum("be quiet" in r.messages[-1]["content"] and r.max_tokens == B_TOKENS for r in fake.requests) == 3
