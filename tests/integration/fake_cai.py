"""`cai` on the scripted engine, run as a real process by the kill and signal tests.

Each engine call sleeps CAI_FAKE_DELAY seconds, so a test can stop the process mid-run.
Usage (from the repository root): python -m tests.integration.fake_cai revise ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from cai import app as cli
from cai.engines import Generation, Request
from cai.engines.registry import register_engine
from tests.fakes import ScriptedEngine


class SlowEngine(ScriptedEngine):
    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        time.sleep(float(os.environ.get("CAI_FAKE_DELAY", "0.02")))
        return super().generate(requests)


if __name__ == "__main__":
    register_engine("slow", lambda path, args, label: SlowEngine())
    os.environ["CAI_ENGINE"] = "slow"
    cli.main()
