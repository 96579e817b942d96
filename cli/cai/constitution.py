"""Constitutions: the principles, few-shot examples and sampling defaults a run is built from.

A constitution is user-written YAML, so the schema is strict (unknown keys are errors) and every
error names the file and the field path. Built-in constitutions are found by name both in an
installed wheel (packaged as ``cai/constitutions``) and in a source checkout (``constitutions/``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cai.errors import InputError, format_location

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]

MAX_CONSTITUTION_BYTES = 1_000_000
MAX_YAML_ALIASES = 64
SCHEMA_FILE = "constitution.schema.json"  # committed beside the built-in constitutions
SCHEMA_MODELINE = "# yaml-language-server: $schema="  # editors with the YAML language server validate on typing


class _BoundedLoader(yaml.SafeLoader):
    """Safe YAML with a bound on aliases, so an alias bomb fails fast instead of expanding."""

    aliases_seen = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases_seen += 1
            if self.aliases_seen > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} YAML aliases (*name); write the values out")
        return super().compose_node(parent, index)  # type: ignore[arg-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Principle(_Strict):
    """One rule of the constitution, phrased for each way the model is asked about it."""

    id: Identifier = Field(description="Names the principle in every output row: lowercase letters, digits, - and _.")
    critique_request: Text = Field(description="What the model is asked to criticise in a response.")
    revision_request: Text = Field(description="How the model is asked to rewrite the response.")
    comparison: Text = Field(description="Pairwise question for `cai score`: which response is better?")
    weight: float = Field(default=1.0, gt=0, description="Relative chance of being sampled for a round.")
    tags: tuple[Identifier, ...] = ()


class Turn(_Strict):
    """One earlier turn of a few-shot conversation."""

    role: Literal["user", "assistant"]
    content: Text


class FewShotExample(_Strict):
    """A worked critique and revision that shows a small model what to write, and in which voice."""

    history: tuple[Turn, ...] = Field(
        default=(),
        description="Earlier turns of the conversation, before `prompt` (user, assistant, user, ...); "
        "the multi-turn transcripts of Anthropic's few-shot prompts keep their context here.",
    )
    prompt: Text = Field(description="The last user turn, the one `response` answers.")
    response: Text
    critique_request: Text
    critique: Text
    revision_request: Text
    revision: Text

    @model_validator(mode="after")
    def _history_alternates(self) -> FewShotExample:
        for index, turn in enumerate(self.history):
            expected = "user" if index % 2 == 0 else "assistant"
            if turn.role != expected:
                raise ValueError(f"history[{index}] has role {turn.role}; turns alternate user, assistant, ...")
        if len(self.history) % 2:
            raise ValueError("history must end with an assistant turn: `prompt` is the next user turn")
        return self


class SamplingDefaults(_Strict):
    """What a run uses when the command line does not say otherwise."""

    rounds: int = Field(default=1, ge=1, le=16)
    max_tokens: int = Field(default=256, ge=1, le=32_768)
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=0.95, gt=0, le=1)


class Constitution(_Strict):
    """A cai constitution: `cai revise --constitution FILE` and `cai score --constitution FILE` read it."""

    name: Identifier = Field(description="Recorded in every output row beside the file's sha256.")
    description: Text
    principles: tuple[Principle, ...] = Field(min_length=1, description="Each round samples one, by weight.")
    few_shot: tuple[FewShotExample, ...] = Field(
        default=(), description="Worked critiques and revisions put before every critique and revision task."
    )
    defaults: SamplingDefaults = SamplingDefaults()

    @model_validator(mode="after")
    def _unique_principle_ids(self) -> Constitution:
        seen: set[str] = set()
        for principle in self.principles:
            if principle.id in seen:
                raise ValueError(f"principle id {principle.id!r} is used twice")
            seen.add(principle.id)
        return self

    def principle(self, principle_id: str) -> Principle:
        return next(p for p in self.principles if p.id == principle_id)


@dataclass(frozen=True)
class LoadedConstitution:
    """A validated constitution with where it came from and the hash that keys every record."""

    constitution: Constitution
    path: Path
    sha256: str


def builtin_dirs() -> list[Path]:
    """Where built-in constitutions live: inside the wheel first, then the source checkout."""
    package_dir = Path(__file__).resolve().parent
    return [package_dir / "constitutions", package_dir.parents[1] / "constitutions"]


def builtin_paths() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in builtin_dirs():
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def resolve(name_or_path: str) -> Path:
    """A built-in name or a file path; the error lists what exists so the user can pick."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise InputError(f"constitution file not found: {path}")
        return path
    builtins = builtin_paths()
    if name_or_path in builtins:
        return builtins[name_or_path]
    names = ", ".join(sorted(builtins)) or "(none found)"
    raise InputError(f"unknown constitution {name_or_path!r}; built-in ones: {names}; or pass a path to a YAML file")


def load(name_or_path: str) -> LoadedConstitution:
    path = resolve(name_or_path)
    raw = path.read_bytes()
    if len(raw) > MAX_CONSTITUTION_BYTES:
        raise InputError(f"{path}: constitution is {len(raw)} bytes; the limit is {MAX_CONSTITUTION_BYTES}")
    return LoadedConstitution(parse(raw, path), path, hashlib.sha256(raw).hexdigest())


def parse(raw: bytes, path: Path) -> Constitution:
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_BoundedLoader)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.constructor.ConstructorError as exc:
        raise InputError(f"{path}: only plain YAML is allowed (no tags such as !!python): {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a constitution must be a YAML mapping with name, description, principles")
    try:
        return Constitution.model_validate(data)
    except ValidationError as exc:
        lines = "\n".join(f"  {format_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InputError(f"{path}: invalid constitution\n{lines}") from None


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a constitution file, from the same model the loader validates with."""
    schema = Constitution.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def schema_path() -> Path | None:
    """The committed schema file of this install (wheel or checkout), for modelines to point at."""
    return next((d / SCHEMA_FILE for d in builtin_dirs() if (d / SCHEMA_FILE).is_file()), None)
