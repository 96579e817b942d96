"""Errors the CLI turns into a message and an exit code, never a traceback."""

from __future__ import annotations

EXIT_RUNTIME = 1
EXIT_INPUT = 2
EXIT_GATE = 3  # a quality gate failed: the tool worked, the data did not pass (review, report, eval)
EXIT_INTERRUPTED = 130


class CaiError(Exception):
    """An error the user can act on; the message says what to change."""

    exit_code = EXIT_RUNTIME


class InputError(CaiError):
    """Bad usage or bad input: a file, a row, a constitution or an option."""

    exit_code = EXIT_INPUT


class EngineError(CaiError):
    """The engine could not be built or failed while generating."""

    exit_code = EXIT_RUNTIME


class GateFailed(CaiError):
    """The data failed a quality gate the user set (--min-agreement, --max NAME=VALUE, ...)."""

    exit_code = EXIT_GATE


def format_location(location: tuple[int | str, ...]) -> str:
    """Pydantic's ('principles', 3, 'revision_request') as principles[3].revision_request."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
