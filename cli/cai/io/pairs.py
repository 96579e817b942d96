"""Every preference-pair row shape cai reads, as one typed `Pair`: what review, report and export read through.

cai's own rows — `cai revise` in each `--format` (trl, hf-cai; sft rows have no rejected side), `cai score`
pairwise and ranked rows and the pair rows of `--pairs all|adjacent`, `cai eval` rows — and the field's:
TRL pairs (prompt + chosen/rejected as strings or assistant turns; or chosen/rejected as whole
conversations), and hh-rlhf transcripts. Side `a` is the side the row says is preferred (chosen; a ranked
row's best) or `response_a`; side `b` the other. A row that is not a pair (a `cai sample` row of
candidates, say) raises `BadRow` naming the field; a pointwise score row is a `Pointwise`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cai.io import hh
from cai.io.records import BadRow
from cai.io.sampled import is_sampled

Verdict = dict[str, Any]
Turn = dict[str, str]


@dataclass(frozen=True)
class Round:
    principle: str | None
    revision_chars: int
    finish_reason: str | None
    critique_finish_reason: str | None


@dataclass
class Pair:
    """One preference pair as read; `verdict` is a judge's (None: the row has none), turned so a is a."""

    line: int
    source: str  # "revise", "score", "eval" or "pairs" (a plain preference dataset)
    kind: str  # "revise", "pairwise", "rank", "pair" (one judged pair of a ranked row) or "plain"
    conversation: tuple[Turn, ...]
    a: str
    b: str
    key: str | None = None
    id: str | None = None
    labelled: bool = False  # the row says a is preferred (chosen)
    verdict: Verdict | None = None
    writer: str | None = None  # the model that wrote the sides
    judge: str | None = None  # the model that judged them
    finish_a: str | None = None
    finish_b: str | None = None
    rounds: list[Round] = field(default_factory=list)
    agrees_with_label: bool | None = None
    where: str = ""  # file:line, for messages and examples

    @property
    def prompt(self) -> str:
        """The last user turn: what the answers answer."""
        users = [turn["content"] for turn in self.conversation if turn["role"] == "user"]
        return users[-1] if users else ""


@dataclass
class Pointwise:
    """A pointwise-scored row: counted, not a pair."""

    line: int
    overall: float | None
    where: str = ""


def read_pair(data: dict[str, Any]) -> Pair | Pointwise:
    """The pair in one row, whatever its shape; BadRow names the field that is wrong."""
    scores = data.get("scores")
    if isinstance(scores, dict):
        return _score_row(data, scores)
    provenance = data.get("cai")
    if is_sampled(provenance):
        raise BadRow(
            "not_a_pair", "a cai sample row holds candidates, not a pair: judge them first (cai score --pairs)"
        )
    if isinstance(provenance, dict):
        return _revise_row(data, provenance)
    if hh.is_transcript_row(data) and not isinstance(data.get("chosen"), list):  # lists: TRL's implicit prompt
        turns, chosen, rejected = hh.labelled_pair(data)
        conversation = tuple(_turn("chosen", i, t) for i, t in enumerate(turns))
        return Pair(0, "pairs", "plain", conversation, chosen, rejected, labelled=True)
    conversation, a, b = _sides(data)
    return Pair(0, "pairs", "plain", conversation, a, b, id=_id(data), labelled="chosen" in data)


def _revise_row(data: dict[str, Any], provenance: dict[str, Any]) -> Pair:
    if "chosen" not in data or "rejected" not in data:
        raise BadRow(
            "not_a_pair",
            "a `cai revise --format sft` row (messages, no rejected side) holds no preference pair; "
            "read the --format trl or hf-cai output of the run instead",
        )
    conversation, a, b = _sides(data)
    pair = Pair(0, "revise", "revise", conversation, a, b, _key(provenance), _id(provenance), labelled=True)
    _revise_provenance(pair, provenance)
    if "judge" in provenance:
        pair.verdict = verdict("cai.judge", provenance["judge"])
        pair.judge = pair.writer
    return pair


def _score_row(data: dict[str, Any], scores: dict[str, Any]) -> Pair | Pointwise:
    kind = scores.get("kind")
    if kind == "pointwise":
        overall = scores.get("overall")
        return Pointwise(0, float(overall) if isinstance(overall, int | float) else None)
    if kind not in ("pairwise", "rank", "pair"):
        raise BadRow("invalid_row", f"scores.kind: expected pointwise, pairwise, rank or pair, got {kind!r}")
    conversation, a, b = _sides(data)
    judged = _rank_verdict(scores) if kind == "rank" else verdict("scores", scores)
    source = "eval" if isinstance(data.get("eval"), dict) else "score"
    pair = Pair(0, source, kind, conversation, a, b, _key(scores), _id(data), "chosen" in data, judged)
    pair.judge = scores.get("model") if isinstance(scores.get("model"), str) else None
    label = scores.get("agrees_with_label")
    pair.agrees_with_label = label if isinstance(label, bool) else None
    if is_sampled(data.get("cai")):
        _sample_provenance(pair, data["cai"], scores)
    elif isinstance(data.get("cai"), dict):
        _revise_provenance(pair, data["cai"])
    if isinstance(data.get("eval"), dict):
        _eval_provenance(pair, data["eval"])
    return pair


def _sides(data: dict[str, Any]) -> tuple[tuple[Turn, ...], str, str]:
    """The conversation and both responses: chosen/rejected (or response_a/b) after a prompt, or two whole
    conversations ending in their answers (TRL's implicit-prompt pairs; hf-cai rows, whose `prompt` is only
    the last user turn: the shared turns are the conversation, so a side never carries the prompt)."""
    if "chosen" not in data and "response_a" not in data:
        keys = ", ".join(data) or "none"
        raise BadRow(
            "not_a_pair", f"not a preference pair: expected chosen/rejected or response_a/response_b (keys: {keys})"
        )
    names = ("chosen", "rejected") if "chosen" in data else ("response_a", "response_b")
    for name in names:
        if name not in data:
            raise BadRow("invalid_row", f"{name}: field required (expected chosen/rejected or response_a/response_b)")
    if isinstance(data[names[0]], list) and isinstance(data[names[1]], list):
        chosen, rejected = (_turns(name, data[name]) for name in names)
        if len(chosen) >= 2 and chosen[:-1] == rejected[:-1] and chosen[-1]["role"] == "assistant":
            return chosen[:-1], _text(names[0], [chosen[-1]]), _text(names[1], [rejected[-1]])
    return _conversation(data), _text(names[0], data[names[0]]), _text(names[1], data[names[1]])


def _conversation(data: dict[str, Any]) -> tuple[Turn, ...]:
    name = "prompt" if "prompt" in data else "messages"
    value = data.get(name)
    if isinstance(value, str) and value.strip():
        return ({"role": "user", "content": value},)
    if isinstance(value, list) and value:
        return _turns(name, value)
    raise BadRow("invalid_row", f"{name}: expected a prompt string or a list of chat turns")


def _turns(name: str, value: list[Any]) -> tuple[Turn, ...]:
    return tuple(_turn(name, index, turn) for index, turn in enumerate(value))


def _turn(name: str, index: int, turn: Any) -> Turn:
    if not isinstance(turn, dict) or not isinstance(turn.get("role"), str) or not isinstance(turn.get("content"), str):
        raise BadRow("invalid_row", f"{name}[{index}]: expected {{'role': ..., 'content': ...}}")
    return {"role": turn["role"], "content": turn["content"]}


def _text(name: str, value: Any) -> str:
    """A response as text: a string, or TRL's conversational form (its turns joined). An empty side is data
    (the report flags it), not a malformed row."""
    if isinstance(value, list):
        value = "\n\n".join(turn["content"] for turn in _turns(name, value))
    if not isinstance(value, str):
        raise BadRow("invalid_row", f"{name}: expected a string or a list of chat turns")
    return value


def verdict(name: str, value: Any) -> Verdict:
    """A judge's pairwise verdict: p_a in [0, 1] required; both orders and position consistency when given."""
    problem = f"{name}: expected a pairwise verdict with p_a (and orders.a_first/a_second) in [0, 1]"
    if not isinstance(value, dict) or not _probability(value.get("p_a")):
        raise BadRow("invalid_verdict", f"{problem}, got {value!r:.80}")
    orders = value.get("orders")
    if orders is not None and not (
        isinstance(orders, dict) and _probability(orders.get("a_first")) and _probability(orders.get("a_second"))
    ):
        raise BadRow("invalid_verdict", f"{problem}, got orders {orders!r:.80}")
    consistent = value.get("position_consistent")
    if consistent is not None and not isinstance(consistent, bool):
        raise BadRow("invalid_verdict", f"{name}.position_consistent: expected true or false, got {consistent!r}")
    return value


def _probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _rank_verdict(scores: dict[str, Any]) -> Verdict:
    """A ranked row's best-vs-worst judgement, turned so that a = best (the row's chosen)."""
    best, worst = scores.get("best"), scores.get("worst")
    for item in scores.get("pairs") or []:
        if isinstance(item, dict) and {item.get("a"), item.get("b")} == {best, worst}:
            judged = verdict("scores.pairs[]", item)
            return judged if item.get("a") == best else flipped(judged)
    raise BadRow("invalid_row", f"scores.pairs: no judgement of best ({best}) against worst ({worst})")


def flipped(judged: Verdict) -> Verdict:
    """The same judgement with the options swapped: P(b better) for each order."""
    orders = judged.get("orders") or {"a_first": judged["p_a"], "a_second": judged["p_a"]}
    preferred = {"a": "b", "b": "a"}.get(judged.get("preferred", "tie"), "tie")
    principles = [_flipped_principle(p) for p in judged.get("principles") or [] if isinstance(p, dict)]
    return {
        **judged,
        "p_a": round(1 - judged["p_a"], 6),
        "margin": round(-judged.get("margin", 2 * judged["p_a"] - 1), 6),
        "preferred": preferred,
        "orders": {"a_first": round(1 - orders["a_second"], 6), "a_second": round(1 - orders["a_first"], 6)},
        "principles": principles,
    }


def _flipped_principle(principle: dict[str, Any]) -> dict[str, Any]:
    """One principle's verdict with the options swapped: each order's P(b better), and each order's method."""
    turned = {**principle, "p_a": round(1 - principle["p_a"], 6)}
    if "a_first" in principle and "a_second" in principle:
        turned["a_first"], turned["a_second"] = round(1 - principle["a_second"], 6), round(1 - principle["a_first"], 6)
    method = principle.get("method")
    if isinstance(method, dict) and {"a_first", "a_second"} <= set(method):
        turned["method"] = {"a_first": method["a_second"], "a_second": method["a_first"]}
    return turned


def _revise_provenance(pair: Pair, provenance: dict[str, Any]) -> None:
    """Who wrote the sides, and how each generation ended (from a revise row's `cai` object)."""
    pair.writer = provenance.get("model") if isinstance(provenance.get("model"), str) else None
    initial = provenance.get("initial")
    pair.finish_b = initial.get("finish_reason") if isinstance(initial, dict) else None
    for item in provenance.get("rounds") or []:
        if not isinstance(item, dict):
            raise BadRow("invalid_row", "cai.rounds: expected objects with principle, revision, finish_reason")
        revision = item.get("revision")
        chars = len(revision) if isinstance(revision, str) else 0
        pair.rounds.append(
            Round(item.get("principle"), chars, item.get("finish_reason"), item.get("critique_finish_reason"))
        )
    pair.finish_a = pair.rounds[-1].finish_reason if pair.rounds else None


def _sample_provenance(pair: Pair, provenance: dict[str, Any], scores: dict[str, Any]) -> None:
    """Who sampled the candidates, and how the two in this pair ended (a ranked row's best and worst, or a pair
    row's chosen and rejected)."""
    pair.writer = provenance.get("model") if isinstance(provenance.get("model"), str) else None
    group = scores.get("ranked")
    sides = (
        (group.get("chosen"), group.get("rejected"))
        if isinstance(group, dict)
        else (scores.get("best"), scores.get("worst"))
    )
    reasons = provenance["finish_reasons"]
    pair.finish_a, pair.finish_b = (
        reasons[side] if isinstance(side, int) and 0 <= side < len(reasons) else None for side in sides
    )


def _eval_provenance(pair: Pair, info: dict[str, Any]) -> None:
    """A `cai eval` row: how each side's generation ended, and whether the judge wrote one of the sides."""
    sides = [side if isinstance(side := info.get(name), dict) else {} for name in ("a", "b")]
    pair.finish_a, pair.finish_b = (side.get("finish_reason") for side in sides)
    models = [side.get("model") for side in sides]
    pair.writer = pair.judge if pair.judge in models else models[0] if isinstance(models[0], str) else None


def _key(holder: dict[str, Any]) -> str | None:
    value = holder.get("key")
    return None if value is None else str(value)


def _id(holder: dict[str, Any]) -> str | None:
    value = holder.get("id")
    return None if value is None else str(value)
