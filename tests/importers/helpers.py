"""Fixtures of the two source formats (small, own wording, the real files' shapes) and a JSON writer."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ANTHROPIC = FIXTURES / "anthropic"
INSTRUCTIONS = ANTHROPIC / "CritiqueRevisionInstructions.json"
FEW_SHOT = ANTHROPIC / "CritiqueRevisionFewShotPrompts.json"
COMPARISONS = ANTHROPIC / "RLMadisonInstructions.json"
JUDGE_FEW_SHOT = ANTHROPIC / "RLMadisonFewShotPrompts.json"
HF_RECIPE = FIXTURES / "hf" / "constitution_anthropic.json"


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def load(path: Path) -> object:
    return json.loads(path.read_text(encoding="utf-8"))
