"""Errors become a message on stderr and an exit code; a traceback only with --debug."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.markup import escape

from cai.console import stderr_console
from cai.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, CaiError

T = TypeVar("T")


def guarded(action: Callable[[], T], debug: bool = False) -> T:
    """Run a command body; a CaiError becomes 'error: ...' on stderr and its exit code."""
    err = stderr_console()
    try:
        return action()
    except CaiError as exc:
        if debug:
            traceback.print_exc()
        # escaped: a message may hold brackets that are not markup, such as pip install 'cai[ray]'
        err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # the reader of stdout went away (e.g. `| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_RUNTIME) from None
    except Exception as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[bold red]internal error:[/bold red] {exc!r} (rerun with --debug for the traceback)")
        raise typer.Exit(EXIT_RUNTIME) from None
