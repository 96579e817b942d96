"""`cai` on the slow scripted engine with the scripted eval answers, run as a real process by the kill test.

Usage (from the repository root): python -m tests.evaluation.slow_eval eval ...
"""

from __future__ import annotations

import os

from cai import app as cli
from cai.engines.registry import register_engine
from tests.evaluation.helpers import scripted_answer
from tests.integration.fake_cai import SlowEngine

if __name__ == "__main__":
    register_engine("slow", lambda path, args, label: SlowEngine(responder=scripted_answer))
    os.environ["CAI_ENGINE"] = "slow"
    cli.main()
