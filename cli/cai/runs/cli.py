"""The command-line side of a model-running command: its options built from the option groups, and its run.

`command` turns a function whose parameters include option groups (dataclasses whose fields carry
`cai.options` metadata) into one Typer reads: each group is expanded into its fields' options, and the
groups are rebuilt from the parsed values before the function is called. `run_command` runs the core
function with progress on stderr and clean interrupts, then prints its summary table.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, get_args, get_origin

import typer
from rich.table import Table

from cai.console import guarded, print_error, stderr_console
from cai.errors import EXIT_INPUT
from cai.options import Flag, Suffix, flag_of, positional_of
from cai.runs.dryrun import DryRun, plan_table
from cai.runs.interrupts import graceful_interrupts
from cai.runs.options import Display
from cai.runs.progress import RichProgress

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., None])

DryRunOption = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Check everything and print the plan (rows, resume, requests and prompt tokens per pass) without "
        "loading the model (its tokenizer only) or writing a file. Exit 2 if the input has too many bad rows.",
    ),
]


def command(function: F) -> F:
    """`function` with its option-group parameters expanded into their options (and arguments), for Typer."""
    hints = typing.get_type_hints(function, include_extras=True)
    parameters: list[inspect.Parameter] = []
    groups: dict[str, tuple[type[Any], str]] = {}
    for parameter in inspect.signature(function).parameters.values():
        kind, suffix = _group(hints.get(parameter.name, parameter.annotation))
        if kind is None:
            parameters.append(parameter.replace(annotation=hints.get(parameter.name, parameter.annotation)))
        else:
            groups[parameter.name] = (kind, suffix)
            parameters += _group_parameters(kind, suffix)

    def call(**values: Any) -> None:
        for name, (group, suffix) in groups.items():
            values[name] = _rebuilt(group, suffix, values)
        function(**values)

    parameters.sort(key=lambda parameter: parameter.default is not inspect.Parameter.empty)  # arguments first
    call.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in parameters}
    call.__name__, call.__qualname__, call.__doc__ = function.__name__, function.__qualname__, function.__doc__
    call.__module__ = function.__module__
    return typing.cast(F, call)


def _group(kind: Any) -> tuple[type[Any] | None, str]:
    """(the option group a parameter is, and the suffix of its options' names), or (None, "")."""
    suffix = ""
    if get_origin(kind) is Annotated:
        kind, *extras = get_args(kind)
        suffix = next((f"_{extra.name}" for extra in extras if isinstance(extra, Suffix)), "")
    if inspect.isclass(kind) and dataclasses.is_dataclass(kind):
        return kind, suffix
    return None, ""


def _group_parameters(group: type[Any], suffix: str) -> list[inspect.Parameter]:
    """The options of a group's fields, a field that is itself a group expanded in its place."""
    types = typing.get_type_hints(group)
    found = []
    for item in dataclasses.fields(group):
        flag = flag_of(item.metadata)
        if flag is not None:
            if suffix:
                flag = _suffixed(flag, item.name, suffix)
            annotation, default = _typer_type(types[item.name], item.default, flag)
            kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
            found.append(inspect.Parameter(item.name + suffix, kind, default=default, annotation=annotation))
        elif (positional := positional_of(item.metadata)) is not None:
            annotation = Annotated[types[item.name], typer.Argument(help=positional.help)]
            found.append(
                inspect.Parameter(item.name + suffix, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)
            )
        elif _group(types[item.name])[0] is not None:
            found += _group_parameters(types[item.name], suffix)
    return found


def _rebuilt(group: type[Any], suffix: str, values: dict[str, Any]) -> Any:
    """The group, from the parsed values of its options (taken out of `values`)."""
    types = typing.get_type_hints(group)
    given: dict[str, Any] = {}
    for item in dataclasses.fields(group):
        if flag_of(item.metadata) is not None or positional_of(item.metadata) is not None:
            given[item.name] = _back(values.pop(item.name + suffix), item)
        elif _group(types[item.name])[0] is not None:
            given[item.name] = _rebuilt(types[item.name], suffix, values)
    return group(**given)


def _suffixed(flag: Flag, name: str, suffix: str) -> Flag:
    """The option once more for one side: --max-tokens-a, its help naming side A."""
    dashed = suffix.replace("_", "-")
    flags = tuple(f + dashed for f in flag.flags if f.startswith("--")) or ("--" + name.replace("_", "-") + dashed,)
    return Flag(flags, flag.help.format(side=suffix.lstrip("_").upper()), flag.limits)


def _typer_type(kind: Any, default: Any, flag: Flag) -> tuple[Any, Any]:
    """The Typer annotation of a field: tuples become repeatable options, Literals checked choices."""
    extra: dict[str, Any] = dict(flag.limits)
    if get_origin(kind) is tuple and get_args(kind)[-1] is Ellipsis:  # tuple[str, ...]: a repeatable option
        assert get_args(kind)[0] is str, "repeatable options hold strings"
        kind, default = list[str] | None, None
    elif get_origin(kind) is typing.Literal:
        extra["callback"] = _choice(tuple(get_args(kind)), flag)
        kind = str
    return Annotated[kind, typer.Option(*flag.flags, help=flag.help, **extra)], default


def _choice(allowed: tuple[str, ...], flag: Flag) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise typer.BadParameter(f"must be one of {', '.join(allowed)}")
        return value

    return check


def _back(value: Any, item: dataclasses.Field[Any]) -> Any:
    """A repeatable option's list (None when not given) back into the group's tuple."""
    return tuple(value or ()) if isinstance(item.default, tuple) and not isinstance(value, tuple) else value


def run_command(display: Display, work: Callable[[RichProgress], T], table: Callable[[T], Table]) -> T:
    """Run a command's core function with progress on stderr and clean interrupts; print its summary."""
    console = stderr_console(display.quiet)
    progress = RichProgress(console, display.progress_interval)
    try:
        with graceful_interrupts():
            result = guarded(lambda: work(progress), display.debug)
    finally:
        progress.stop()
    console.print(table(result))
    return result


def run_dry(
    display: Display, work: Callable[[RichProgress], DryRun], after: Callable[[DryRun], None] | None = None
) -> DryRun:
    """A dry run: its plan on stderr (then `after`); too many bad rows print after it and exit 2, as the run would."""
    plan = run_command(display, work, plan_table)
    if after is not None:
        after(plan)
    if plan.bad_rows is not None:
        print_error(plan.bad_rows)
        raise typer.Exit(EXIT_INPUT)
    return plan
