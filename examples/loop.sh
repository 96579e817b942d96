#!/usr/bin/env bash
# The whole loop, small, on the embedded model: v1 → pairs → gates → review sample → v2 (TRL) → eval → lineage.
# docs/loop.md explains every step and shows a run's output. The embedded 135M model will not get better in
# four DPO steps: this runs the plumbing end to end, on any machine, in a few minutes. Run from the checkout
# with the environment active (`. .venv/bin/activate`, or PATH=.venv/bin:$PATH).
set -euo pipefail
OUT=${OUT:-out/loop}
mkdir -p "$OUT"

# 1. v1 (the embedded model) makes SL-CAI pairs on the training prompts; the eval prompts stay held out.
cai revise prompts/sample.jsonl -o "$OUT/pairs.jsonl" --rounds 1 --max-tokens 64

# 2. What will these pairs teach? Gates on the report's figures (exit 3 when one fails).
cai report "$OUT/pairs.jsonl" -o "$OUT/pairs.html" --max empty_side=0 --max near_duplicate=0.25

# 3. A blind sample for a person: label it with `cai review label "$OUT/review.jsonl"`, then
#    `cai review agreement "$OUT/review.jsonl" --min-agreement 0.7` gates on how often the judge is right.
cai review sample "$OUT/pairs.jsonl" -n 4 -o "$OUT/review.jsonl" --overwrite

# 4. Train v2 with TRL (cai does not wrap training); the script records which pairs trained v2.
python examples/train_dpo.py "$OUT/pairs.jsonl" embedded "$OUT/v2" 4 128   # 4 steps, sequences of 128 tokens

# 5. v2 against v1 on the held-out prompts, judged by v1; the honest CI gate is the interval's lower bound.
cai eval prompts/sample-eval.jsonl --model-b "$OUT/v2" --max-tokens-a 64 --max-tokens-b 64 --principles 2 \
    -o "$OUT/eval.jsonl" --stats-json "$OUT/eval-stats.json" --min-win-rate-lower 0.5 \
    || echo "loop: v2 did not clear the gate (exit $?): it stays a candidate, v1 stays the model"

# 6. Where the verdict came from: eval → v2 → the pairs that trained it → the run that made them → prompts.
cai lineage "$OUT/eval.jsonl"

# 7. The next round starts from v2 (had it passed the gate; here, to show that v2 runs wherever v1 did).
head -n 2 prompts/sample.jsonl > "$OUT/next.jsonl"
cai revise "$OUT/next.jsonl" --model "$OUT/v2" -o "$OUT/pairs-2.jsonl" --rounds 1 --max-tokens 64
