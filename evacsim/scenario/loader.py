"""Reading scenario files: YAML in, a validated :class:`~evacsim.scenario.Scenario` out.

Every mistake becomes a :class:`Problem` (file, line, field path, what is wrong and what is
expected) and all of a scenario's problems are raised together in one
:class:`ScenarioError`, so that a user sees every mistake at once and never a traceback.

Reading is safe by construction:

* YAML is parsed by :mod:`.documents` with a safe loader (no tag constructs an object,
  except the two overlay markers ``!remove`` and ``!replace``), and a file too large, too
  deep or an alias bomb is refused before it is built;
* ``extends:`` may only name a ``.yaml``/``.yml`` file inside the folder of the scenario the
  user named, or inside a folder the user names explicitly (``allow_dirs``).

Overlays: a scenario with ``extends: base.yaml`` changes only what differs. Mappings merge
key by key, to any depth (a step-profile key replaces the same time however it is written);
anything else (numbers, text, lists) replaces the base value whole. ``key: !remove`` deletes
a key of the base; ``key: !replace {...}`` replaces a mapping instead of merging into it
(:func:`~evacsim.scenario.documents.deep_merge`). ``--set`` overrides (:mod:`.overrides`)
apply after the last ``extends``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .diagnostics import Finding, findings_from_validation, salvage
from .documents import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_NODES,
    REMOVE,
    Document,
    Origin,
    Problem,
    Replace,
    ScenarioError,
    deep_merge,
    leftover_removes,
    merge_documents,
    parse_yaml,
    plain,
    read_document,
    read_yaml,
)
from .horizon import drop_past_deadline
from .overrides import apply_overrides
from .schema import Scenario, reference_problems, scenario_warnings

__all__ = [
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "REMOVE",
    "Document",
    "Problem",
    "Replace",
    "ScenarioError",
    "check_scenario",
    "deep_merge",
    "dump_scenario",
    "allowed_dirs",
    "load_scenario",
    "merge_documents",
    "outside_message",
    "parse_yaml",
    "problems_from_validation",
    "read_document",
    "read_yaml",
    "resolve_document",
    "resolve_extends",
    "scenario_from_dict",
    "validate_document",
]

log = logging.getLogger(__name__)

MAX_EXTENDS = 16
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")  # never part of a file name a user means
"""Longest chain of ``extends:`` followed."""


def _extends_target(
    doc: Document, path: Path, allowed: Sequence[tuple[Path, str]]
) -> tuple[Path, str] | None:
    """Where ``extends:`` points (checked), or None; raises ScenarioError on a bad value."""
    data = doc.data
    if not isinstance(data, dict) or "extends" not in data:
        return None
    file, line = doc.origin(("extends",))
    parent = data["extends"]

    def refuse(message: str) -> ScenarioError:
        return ScenarioError([Problem(file, "extends", message, line)], unreadable=True)

    if not isinstance(parent, str) or not parent.strip():
        raise refuse(
            f"{parent!r} is not a file name (expected the path of a .yaml scenario to build on)"
        )
    if _CONTROL_CHARS.search(parent):
        raise refuse(f"{parent!r} contains control characters (expected a file name)")
    if Path(parent).suffix.lower() not in (".yaml", ".yml"):
        raise refuse(f"'{parent}' is not a .yaml file (expected a scenario file ending .yaml)")
    target = path.parent / parent
    resolved = target.resolve()
    shown = os.path.normpath(os.path.join(os.path.dirname(doc.file), parent))
    outside = outside_message(parent, resolved, allowed)
    if outside:
        raise refuse(outside)
    if not resolved.is_file():
        raise refuse(f"no such scenario file '{parent}' (looked for {shown})")
    return target, shown


def _resolve(
    path: Path, shown: str, allowed: Sequence[tuple[Path, str]], chain: tuple[Path, ...]
) -> Document:
    doc = read_document(path, shown)
    target = _extends_target(doc, path, allowed)
    if target is None:
        return doc
    parent_path, parent_shown = target
    resolved = parent_path.resolve()
    file, line = doc.origin(("extends",))
    if resolved in chain or resolved == path.resolve():
        cycle = " -> ".join(p.name for p in (*chain, path.resolve(), resolved))
        raise ScenarioError(
            [Problem(file, "extends", f"files extend each other in a cycle ({cycle})", line)],
            unreadable=True,
        )
    if len(chain) >= MAX_EXTENDS:
        raise ScenarioError(
            [Problem(file, "extends", f"more than {MAX_EXTENDS} files extend each other", line)],
            unreadable=True,
        )
    base = _resolve(parent_path, parent_shown, allowed, (*chain, path.resolve()))
    overlay_data = dict(doc.data)
    del overlay_data["extends"]
    return merge_documents(base, Document(overlay_data, doc.file, doc.origins))


def allowed_dirs(
    path: str | os.PathLike[str], allow_dirs: Iterable[str | os.PathLike[str]] = ()
) -> list[tuple[Path, str]]:
    """Folders a file may name others from (``extends:``, a sweep's ``base:``), resolved,
    with the name to show in messages: the file's own folder, the scenario library it sits
    in (the nearest enclosing folder named ``scenarios``, so that ``scenarios/sweeps/x.yaml``
    may name ``../kabul_2021.yaml``), and the folders the user allowed (``--allow-dir``)."""
    own = Path(path).resolve().parent
    folders = [(own, os.path.dirname(str(path)) or ".")]
    library = next((p for p in (own, *own.parents) if p.name == "scenarios"), None)
    if library is not None and library != own:
        folders.append((library, str(library)))
    return [*folders, *((Path(d).resolve(), str(d)) for d in allow_dirs)]


def outside_message(name: str, resolved: Path | None, allowed: Sequence[tuple[Path, str]]) -> str:
    """Why ``name`` (resolved) may not be read, or "" if it lies in an allowed folder."""
    if resolved is None or _CONTROL_CHARS.search(name):
        return f"{name!r} contains control characters (expected a file name)"
    if any(resolved.is_relative_to(folder) for folder, _ in allowed):
        return ""
    folders = ", ".join(shown for _, shown in allowed)
    return (
        f"'{name}' is outside the folders scenarios may extend from ({folders}) "
        "(expected a file in the scenario's folder or below, or allow its folder "
        "with --allow-dir)"
    )


def resolve_document(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    allow_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Document:
    """Read a scenario file, the chain of files it ``extends``, and ``--set`` overrides.

    Returns the merged :class:`Document` (plain data, every value with its origin). Raises
    :class:`ScenarioError` if a file cannot be read or parsed, ``extends`` is wrong, an
    override is malformed, or a ``!remove`` has nothing to remove.
    """
    doc = _resolve(Path(path), str(path), allowed_dirs(path, allow_dirs), ())
    if overrides:
        doc = apply_overrides(doc, overrides)
    leftovers = leftover_removes(doc)
    if leftovers:
        raise ScenarioError(leftovers)
    return Document(plain(doc.data), doc.file, doc.origins)


def resolve_extends(path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()) -> Any:
    """Read a scenario file and the chain of files it ``extends``, merged base first.

    Kept for callers that want plain data; ``_chain`` is ignored (cycles are detected by
    :func:`resolve_document`).
    """
    return resolve_document(path).data


# --------------------------------------------------------------------------- validation


def _problem(doc: Document, finding: Finding, severity: str = "error") -> Problem:
    file, line = doc.origin(finding.parts)
    return Problem(file, finding.path, finding.message, line, severity)


def _sort_key(problem: Problem) -> tuple:
    return (problem.severity != "error", problem.file, problem.line or 0, problem.path)


def validate_document(doc: Document) -> tuple[Scenario | None, list[Problem]]:
    """Validate resolved data; return the scenario (None if invalid) and every problem.

    Problems are errors, then warnings (which do not make the scenario invalid), each
    sorted by file and line.
    """
    data = doc.data
    if not isinstance(data, dict):
        what = "empty" if data is None else f"a {type(data).__name__}, not a mapping"
        file, line = doc.origin(())
        return None, [
            Problem(
                file, "", f"the scenario is {what} (expected a mapping of scenario fields)", line
            )
        ]
    # What lies past the deadline is dropped with a warning, not refused (see .horizon).
    data, dropped = drop_past_deadline(data)
    dropped_warnings = [_problem(doc, f, "warning") for f in dropped]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        findings = findings_from_validation(exc)
        if not _is_reference(exc):
            # Fields failed, so the model never reached its cross-field checks: run them
            # on whatever validates on its own, so every mistake is reported at once.
            findings += [
                Finding(tuple(path.split(".")), message)
                for path, message in reference_problems(salvage(data))
            ]
        unique = {(f.parts, f.message): f for f in findings}
        problems = [_problem(doc, f) for f in unique.values()] + dropped_warnings
        return None, sorted(problems, key=_sort_key)
    warnings = dropped_warnings + [
        _problem(doc, Finding(tuple(path.split(".")), message), "warning")
        for path, message in scenario_warnings(scenario)
    ]
    return scenario, sorted(warnings, key=_sort_key)


def _is_reference(exc: ValidationError) -> bool:
    return any(err["type"] == "references" for err in exc.errors(include_url=False))


def check_scenario(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    allow_dirs: Iterable[str | os.PathLike[str]] = (),
) -> tuple[Scenario | None, list[Problem]]:
    """Read, resolve and validate; return the scenario (None if invalid) and all problems.

    Raises :class:`ScenarioError` only when the input cannot be read at all; every other
    mistake is returned as a :class:`Problem`, warnings included.
    """
    try:
        doc = resolve_document(path, overrides, allow_dirs=allow_dirs)
    except ScenarioError as err:
        if err.unreadable:
            raise
        return None, sorted(err.problems, key=_sort_key)  # e.g. a !remove with no target
    return validate_document(doc)


def load_scenario(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    *,
    allow_dirs: Iterable[str | os.PathLike[str]] = (),
) -> Scenario:
    """Read and validate a scenario file; raise :class:`ScenarioError` listing every mistake.

    ``overrides`` are ``"path.to.field=VALUE"`` strings, applied after ``extends`` (see
    :mod:`evacsim.overrides`); ``allow_dirs`` are extra folders that ``extends`` may read.
    Warnings are logged.
    """
    scenario, problems = check_scenario(path, overrides, allow_dirs=allow_dirs)
    errors = [p for p in problems if p.severity == "error"]
    if scenario is None or errors:
        raise ScenarioError(errors)
    for problem in problems:
        log.warning("%s", problem)
    return scenario


def scenario_from_dict(
    data: Any, file: str = "<scenario>", origins: dict[tuple[str, ...], Origin] | None = None
) -> Scenario:
    """Validate an already-parsed mapping into a :class:`Scenario` (raises ScenarioError)."""
    scenario, problems = validate_document(Document(data, file, origins or {}))
    errors = [p for p in problems if p.severity == "error"]
    if scenario is None or errors:
        raise ScenarioError(errors)
    return scenario


def problems_from_validation(
    error: ValidationError,
    file: str,
    model: type[BaseModel] | None = None,
    doc: Document | None = None,
) -> list[Problem]:
    """One :class:`Problem` per mistake in a pydantic error, with its line if ``doc`` (the
    parsed file) is given.

    ``model`` is the model that was validated; by default the :class:`Scenario` if the error
    is about one, else paths are cleaned without knowing the model's types. Knowing the
    model, a misspelt field gets "did you mean" and the fields expected there.
    """
    if model is None:
        model = Scenario if error.title == Scenario.__name__ else None
    doc = Document(None, file) if doc is None else doc
    return [_problem(doc, f) for f in findings_from_validation(error, model)]


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML that loads back to an equal :class:`Scenario` (resolved form).

    Every field is written, defaults included, with durations and times in their written
    form (``45min``, ``2021-08-16T18:00``); no ``extends``.
    """
    data = plain(scenario.model_dump(mode="python", by_alias=True))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
