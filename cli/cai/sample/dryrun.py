"""`cai sample --dry-run`: the run prepared as for real (read-only), then its candidate requests counted.

Every prompt's N requests are the same conversation (with the --framing turn when asked), so the
prompt tokens are exact; the first of each N is computed, the others can be served by the prefix cache.
"""

from __future__ import annotations

from cai.engines.protocol import TokenCounter
from cai.runs.dryrun import DryRun, Pass, counted, planned
from cai.runs.harness import AS_DRY_RUN
from cai.runs.progress import Progress
from cai.sample.flows import framed, framing_message
from cai.sample.run import SampleJob, SamplePrepared, prepare


def plan_sample(job: SampleJob, progress: Progress) -> DryRun:
    """What `cai sample` would do with these options; no engine is built and no file changes."""
    run = prepare(job, progress, AS_DRY_RUN)
    return planned(run, lambda counter: passes(run, counter))


def passes(run: SamplePrepared, counter: TokenCounter | None) -> list[Pass]:
    settings = run.settings
    system = framing_message(run.loaded.constitution) if settings.framing == "constitution" else None
    prompts = ((framed(prompt.row.conversation(), system), True) for prompt in run.todo for _ in range(settings.n))
    return [counted("candidates", prompts, counter)]
