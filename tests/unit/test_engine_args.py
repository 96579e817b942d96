"""--engine-arg parsing and typing, without vLLM (its field table is passed in)."""

from __future__ import annotations

import pytest

from cai.engines.args import coerce_engine_args, parse_engine_args
from cai.errors import InputError

FIELDS: dict[str, object] = {
    "max_num_seqs": "int | None",
    "enforce_eager": bool,
    "gpu_memory_utilization": float,
    "dtype": "Literal['auto', 'bfloat16', 'float32']",
    "max_model_len": int,
    "hf_overrides": "dict[str, Any] | None",
}


def test_values_are_typed_by_field() -> None:
    raw = parse_engine_args(
        ["max_num_seqs=32", "enforce-eager=false", "gpu_memory_utilization=0.5", "dtype=float32", "max_num_seqs=16"]
    )
    assert coerce_engine_args(raw, FIELDS) == {
        "max_num_seqs": 16,
        "enforce_eager": False,
        "gpu_memory_utilization": 0.5,
        "dtype": "float32",
    }
    assert coerce_engine_args({"hf_overrides": '{"a": 1}'}, FIELDS) == {"hf_overrides": {"a": 1}}
    assert coerce_engine_args({"max_num_seqs": "none"}, FIELDS) == {"max_num_seqs": None}


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (["max_num_seqs"], "expected KEY=VALUE"),
        (["=3"], "expected KEY=VALUE"),
        (["max_seqs=3"], r"not a vLLM engine argument \(did you mean: max_num_seqs"),
        (["enforce_eager=maybe"], "expected true or false"),
        (["max_model_len=big"], "expected int"),
        (["hf_overrides={bad"], "not valid JSON"),
    ],
)
def test_bad_engine_args_are_input_errors(pairs: list[str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        coerce_engine_args(parse_engine_args(pairs), FIELDS)
