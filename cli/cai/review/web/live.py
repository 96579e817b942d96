"""The live agreement page's figures: `cai review agreement`'s own code on the labels as they are now.

The labels files are read while every reviewer labelling on this server is held still (their locks,
taken in name order), so no line is read half-written; the figures are then computed with the locks
released. The text is the table `cai review agreement` prints, rendered by the same function.
"""

from __future__ import annotations

import io
from contextlib import ExitStack
from typing import Any

from cai.review.labels import default_label_files
from cai.review.web.desk import Desk


def live_figures(desk: Desk) -> dict[str, Any]:
    from cai.review.agreement import collect_labels, figures_for

    with desk.registry:
        people = sorted(desk.reviewers.items())
    with ExitStack() as held:
        for _, person in people:
            held.enter_context(person.lock)
        labels = collect_labels(desk.items, default_label_files(desk.review))
    return figures_for(desk.review, desk.items, labels)


def figures_text(figures: dict[str, Any]) -> str:
    """What `cai review agreement` prints on stderr, as plain text."""
    from rich.console import Console

    from cai.review.tables import agreement_table

    console = Console(file=io.StringIO(), width=110, record=True, color_system=None, force_terminal=False)
    console.print(agreement_table(figures))
    return console.export_text()
