"""What every command shares for talking to the user: a stderr console, and errors as messages and exit codes.

stdout is reserved for data rows. A `CaiError` becomes `error: <message>` on stderr and its exit code,
a traceback only with --debug. Messages hold user data (file names, rows, model output), so they are
printed as plain text, never read as Rich markup: a `[bracket]` in a row must not lose text.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from cai.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, CaiError

T = TypeVar("T")


def stderr_console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet, highlight=False)


def print_error(message: str, label: str = "error:") -> None:
    """`label` in bold red, then the message exactly as written."""
    stderr_console().print(Text.assemble((label, "bold red"), " ", message), soft_wrap=True)


def guarded(action: Callable[[], T], debug: bool = False) -> T:
    """Run a command body; a CaiError becomes 'error: ...' on stderr and its exit code."""
    try:
        return action()
    except CaiError as exc:
        if debug:
            traceback.print_exc()
        print_error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        stderr_console().print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # the reader of stdout went away (e.g. `| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_RUNTIME) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        print_error(f"{exc!r} (rerun with --debug for the traceback)", "internal error:")
        raise typer.Exit(EXIT_RUNTIME) from None


def write_stats(path: Path, stats: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats, indent=2, sort_keys=True) + "\n", encoding="utf-8")
