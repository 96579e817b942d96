"""`cai lineage FILE` (the chain from an output or a model folder) and `cai lineage record` (what trained a model).

`cai lineage FILE` is `cai lineage show FILE`: a first argument that is not a subcommand's name is read
as the FILE to show (`cai lineage show record` shows a file named "record").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cai.console import guarded, stderr_console


class ShowByDefault(TyperGroup):
    """A group whose first argument, when it names no subcommand, is the FILE of `show`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: the click Context typer vendors
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["show", *args]
        return super().parse_args(ctx, args)


lineage_app = typer.Typer(
    cls=ShowByDefault,
    help="Where an output or a model came from: `cai lineage FILE` prints the chain; `cai lineage record` "
    "says which pairs trained a model folder.",
    no_args_is_help=True,
)


@lineage_app.command("show")
def show(
    target: Annotated[str, typer.Argument(metavar="FILE", help="A cai output, its .manifest.json, or a model folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the chain as JSON instead of a tree.")] = False,
) -> None:
    """Print the chain from an output (or a model folder) back to its sources, with every sha256.

    Follows each run's manifest `inputs`: a file read that an earlier cai run wrote leads to that run; a
    model folder with a lineage record leads to the pairs that trained it and its base model.
    """
    from cai.lineage.chain import trace
    from cai.lineage.show import render

    def run() -> None:
        chain = trace(target)
        if as_json:
            sys.stdout.write(json.dumps(chain.as_dict(), indent=2) + "\n")
        else:
            sys.stdout.write("\n".join(render(chain)) + "\n")

    guarded(run)


@lineage_app.command("record")
def record(
    model_dir: Annotated[Path, typer.Argument(help="The saved model folder (save_pretrained's output).")],
    trained_on: Annotated[
        list[Path], typer.Option("--trained-on", help="A file of pairs (or rows) it was trained on; repeatable.")
    ],
    base: Annotated[
        str | None, typer.Option(help="The model it was trained from: a folder, or 'embedded' (cai's embedded model).")
    ] = None,
    note: Annotated[str | None, typer.Option(help="How it was trained, in a few words (kept in the record).")] = None,
) -> None:
    """Write cai-lineage.json into a model folder: the sha256 of the files that trained it and of its base.

    cai does not train (TRL does), so the training script or its user records this once after saving
    the model; `cai lineage` then follows a model back to its pairs. The API call is
    `cai.api.record_lineage(folder, trained_on=[...], base=...)`.
    """
    from cai.lineage.record import RECORD_NAME, record_lineage

    def run() -> dict[str, Any]:
        return record_lineage(model_dir, trained_on, base, note)

    written = guarded(run)
    files = ", ".join(Path(entry["path"]).name for entry in written["trained_on"])
    stderr_console().print(f"wrote {model_dir / RECORD_NAME}: trained on {files}", markup=False, soft_wrap=True)
