"""Reading scenario files: YAML in, a validated :class:`~evacsim.scenario.Scenario` out.

Every mistake becomes a :class:`ScenarioError` carrying one :class:`Problem` per mistake
(file, field path, what is wrong and what is expected), so that a user sees all of them at
once and never a traceback.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .scenario import Scenario

__all__ = ["Problem", "ScenarioError", "load_scenario", "scenario_from_dict"]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One mistake in a scenario: where it is and what is expected."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario could not be read or is invalid; ``problems`` lists every mistake."""

    def __init__(self, problems: list[Problem], *, unreadable: bool = False):
        self.problems = problems
        self.unreadable = unreadable
        super().__init__("\n".join(str(p) for p in problems))


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    """Turn pydantic's error location into a dotted field path, dropping union tags."""
    parts: list[str] = []
    for item in loc:
        text = str(item)
        # Discriminated unions and before-validators add tag names that are not fields.
        if text in {"function-before[_shorthand_fixed(), tagged-union[Fixed,Exponential,"}:
            continue
        if "[" in text and "(" in text:
            continue
        parts.append(text)
    return ".".join(parts)


def problems_from_validation(error: ValidationError, file: str) -> list[Problem]:
    """One :class:`Problem` per pydantic error, cross-reference errors split one per line."""
    problems: list[Problem] = []
    for err in error.errors(include_url=False):
        path = _loc_to_path(err["loc"])
        ctx = err.get("ctx") or {}
        if err["type"] == "references" and "problems" in ctx:
            for text in ctx["problems"]:
                sub_path, _, message = text.partition(": ")
                problems.append(Problem(file, sub_path, message))
            continue
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown field (not part of the scenario format)"
        elif err["type"] == "missing":
            message = "missing (this field is required)"
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        problems.append(Problem(file, path, message))
    return problems


def scenario_from_dict(data: Any, file: str = "<scenario>") -> Scenario:
    """Validate an already-parsed mapping into a :class:`Scenario`."""
    if not isinstance(data, dict):
        raise ScenarioError([Problem(file, "", "expected a mapping of scenario fields at top level")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, file)) from None


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file safely (no object construction from tags)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ScenarioError([Problem(file, "", f"cannot read file ({reason})")], unreadable=True)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(
            [Problem(file, "", f"not valid YAML ({reason})", line)], unreadable=True
        ) from None


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` on top of ``base``: mappings merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return overlay


def resolve_extends(path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()) -> Any:
    """Read a scenario file and the chain of files it ``extends``, merged base first.

    ``extends`` names another scenario file, relative to the file that names it. The overlay
    changes only what differs: mappings merge deeply, lists and values replace.
    """
    here = Path(path).resolve()
    if here in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, here))
        raise ScenarioError([Problem(str(path), "extends", f"cycle of extends ({cycle})")])
    data = read_yaml(path)
    if not isinstance(data, dict) or "extends" not in data:
        return data
    data = dict(data)
    parent = data.pop("extends")
    if not isinstance(parent, str) or not parent:
        raise ScenarioError(
            [Problem(str(path), "extends", "expected the path of a scenario file to build on")]
        )
    parent_path = here.parent / parent
    if not parent_path.is_file():
        raise ScenarioError(
            [Problem(str(path), "extends", f"no such scenario file '{parent}' (looked at {parent_path})")],
            unreadable=True,
        )
    return deep_merge(resolve_extends(parent_path, (*_chain, here)), data)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file; raise :class:`ScenarioError` listing every mistake."""
    return scenario_from_dict(resolve_extends(path), str(path))
