"""The scenario format, described from the models themselves so it cannot drift.

* :func:`scenario_json_schema`: a JSON Schema for scenario files, for editors to complete
  and check them (``evacsim schema > scenario.schema.json``). It is written in draft-07, the
  version the YAML language server behind most editors supports fully. A file with
  ``extends:`` is checked as an overlay: every field optional, ``!remove`` allowed for named
  entries.
* :func:`scenario_reference`: ``docs/scenario-reference.md``, every field with its type,
  unit, default and meaning (``evacsim schema --format markdown``).
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, TypeAdapter
from pydantic_core import PydanticUndefined

from .diagnostics import before_validators, describe, field_type, is_model, is_union, unwrap
from .schema import MAX_ARRIVALS, MAX_FLIGHTS, MAX_RUN_DAYS, Scenario
from .units import parse_duration, parse_timestamp

__all__ = ["scenario_json_schema", "scenario_reference"]

_DEF = "#/definitions/"


def _tidy(node: Any) -> Any:
    """Pydantic's 2020-12 schema in draft-07 terms, named mappings said plainly."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = _DEF + ref.removeprefix("#/$defs/")
        mapping = node.get("discriminator", {}).get("mapping") if "discriminator" in node else None
        if isinstance(mapping, dict):  # an OpenAPI annotation: keep its references valid
            node["discriminator"]["mapping"] = {
                tag: _DEF + ref.removeprefix("#/$defs/") for tag, ref in mapping.items()
            }
        if "prefixItems" in node:  # a fixed-length tuple, e.g. [open, close]
            node["items"] = node.pop("prefixItems")
            node["additionalItems"] = False
        patterns = node.get("patternProperties")
        if isinstance(patterns, dict) and len(patterns) == 1:
            ((pattern, sub),) = patterns.items()
            del node["patternProperties"]
            node["additionalProperties"] = sub
            node["propertyNames"] = {**node.get("propertyNames", {}), "pattern": pattern}
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)
    return node


def _overlay(node: Any) -> Any:
    """The same schema with nothing required, for files that ``extends`` another."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "required":
                continue
            if key == "discriminator":
                continue  # entries may change a field without repeating their type
            if key == "$ref" and isinstance(value, str) and value.startswith(_DEF):
                out[key] = f"{value}Overlay"
            elif key == "oneOf":
                out["anyOf"] = _overlay(value)
            else:
                out[key] = _overlay(value)
        if out.get("type") == "object" and isinstance(out.get("additionalProperties"), dict):
            # A named entry may be deleted with !remove (a null to the editor).
            out["additionalProperties"] = {"anyOf": [out["additionalProperties"], {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_overlay(v) for v in node]
    return node


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of a scenario file (complete, or an overlay when it has ``extends``)."""
    full = _tidy(Scenario.model_json_schema(by_alias=True, mode="validation"))
    defs = full.pop("$defs")
    overlay_root = _overlay(full)
    overlay_root["properties"] = {
        "extends": {
            "type": "string",
            "pattern": r"\.ya?ml$",
            "description": "Scenario file this one changes, relative to this file.",
        },
        **overlay_root["properties"],
    }
    all_defs = {
        **defs,
        **{f"{name}Overlay": _overlay(schema) for name, schema in defs.items()},
        "Scenario": full,
        "ScenarioOverlay": overlay_root,
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "evacsim scenario",
        "description": (
            "A scenario for evacsim, the evacuation airlift simulator. Generated from the "
            "scenario models by 'evacsim schema'; see docs/scenario-reference.md."
        ),
        "type": "object",
        "if": {"required": ["extends"]},
        "then": {"$ref": f"{_DEF}ScenarioOverlay"},
        "else": {"$ref": f"{_DEF}Scenario"},
        "definitions": dict(sorted(all_defs.items())),
    }


# --------------------------------------------------------------------------- markdown


def _sections() -> list[tuple[type[BaseModel], list[str]]]:
    """Every model reachable from Scenario, in order of discovery, with where it appears."""
    found: dict[type[BaseModel], list[str]] = {Scenario: ["(top level)"]}
    queue: list[tuple[type[BaseModel], str]] = [(Scenario, "")]
    while queue:
        model, prefix = queue.pop(0)
        for name, info in model.model_fields.items():
            key = info.alias or name
            path = f"{prefix}{key}"
            for sub, suffix in _models_in(field_type(model, name)):
                where = f"{path}{suffix}"
                if sub not in found:
                    found[sub] = [where]
                    queue.append((sub, f"{where}."))
                elif where not in found[sub]:
                    found[sub].append(where)
    return list(found.items())


def _models_in(tp: Any, suffix: str = "") -> list[tuple[type[BaseModel], str]]:
    base, _ = unwrap(tp)
    if is_model(base):
        return [(base, suffix)]
    if is_union(base):
        return [m for member in get_args(base) for m in _models_in(member, suffix)]
    if get_origin(base) is dict:
        return _models_in(get_args(base)[1], f"{suffix}.<name>")
    return []


def _unit(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    extra = info.json_schema_extra
    if isinstance(extra, dict) and "unit" in extra:
        return str(extra["unit"])
    tp = field_type(model, name)
    validators = set()
    metadata: list[Any] = []
    stack = [tp]
    while stack:
        base, meta = unwrap(stack.pop())
        validators.update(before_validators(meta))
        metadata.extend(meta)
        if is_union(base):
            stack.extend(get_args(base))
    if parse_duration in validators or any("shorthand" in f.__name__ for f in validators):
        return "duration (h)"
    if parse_timestamp in validators:
        return "local date-time"
    ge = [m.ge for m in metadata if isinstance(m, annotated_types.Ge)]
    le = [m.le for m in metadata if isinstance(m, annotated_types.Le)]
    if ge == [0] and le == [1]:
        return "share (0-1)"
    return ""


def _default(model: type[BaseModel], name: str) -> str:
    info = model.model_fields[name]
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is PydanticUndefined:  # pragma: no cover - required handled above
        return "required"
    data = TypeAdapter(field_type(model, name)).dump_python(value, mode="python")
    text = yaml.safe_dump(data, default_flow_style=True, width=1000).strip()
    text = text.removesuffix("...").strip()
    return "see its fields" if len(text) > 40 else f"`{text}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _title(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip().splitlines()
    return doc[0] if doc else model.__name__


_INTRO = """\
# Scenario reference

<!-- Generated from evacsim/scenario/schema.py by `evacsim schema --format markdown`;
     tests/test_validation_reference.py fails if this file differs. Do not edit by hand. -->

A scenario is a YAML file; `evacsim validate FILE` checks it and `evacsim schema` writes a
JSON Schema for editors (see the README, "Scenario files"). Conventions:

* **Durations** carry a unit: `30s`, `45min`, `2h`, `1.5d`, `1w` (hours inside the model).
  A bare number other than `0` is refused: it is the commonest silent mistake.
* **Times** are local date-times at the airport, `2021-08-16T18:00`, or dates
  (`2021-08-16`, meaning midnight).
* **Times of day** (`reporting_day_starts`) are local `"HH:MM"`, whole minutes.
* **Reporting days** run from `reporting_day_starts` to the same time next day and are
  labelled by the date on which they start (23 Aug 11:30 to 24 Aug 11:30 is "23 Aug"; with
  the default `00:00`, the calendar date). Every daily table, chart, binding strip and
  backtest counts them; the first and last of a run may be partial.
* **Names** (keys of named mappings such as `flights`, and references to them) are letters,
  digits, `_` and `-`. Named mappings make every field reachable by a path such as
  `flights.us_c17.per_day`, which `--set` uses.
* **Step profiles** `{{date-time: value}}` hold each value from its time until the next key;
  before the first key the value is 0. Being mappings they cannot overlap or leave gaps;
  each key must lie inside the run (`start` <= key < `deadline`; for a flight schedule's
  `per_day`, inside its `from`..`to`), where it takes effect, and no time may be given twice.
* Every time in the scenario (events, troop windows, gate openings, a schedule's `from`)
  lies within `start`..`deadline`; a schedule's `to`, an operator's `ends` and an event's
  `until` may lie beyond it.
* A **distribution** of durations is `{{dist: NAME, ...}}` (see its fields below), or a plain
  duration, short for `{{dist: fixed, value: ...}}`.
* Overlays: `extends: FILE.yaml` (relative to the file) and the markers `!remove`,
  `!replace`; see the README.
* Plausibility limits catch a number with zeros too many before a run grinds: a run lasts
  at most {max_days} days, the flight schedules and troop carriers plan at most
  {max_flights:,} flights, and each category's arrival rates generate at most
  {max_arrivals:,} arrivals over the run (a short burst far above the pool, meaning
  "everyone at once", is fine).

Each table lists a mapping's fields: the type expected, the unit, the default (`required`
if there is none) and the meaning.
"""


def scenario_reference() -> str:
    """Markdown: every field of the scenario with its type, unit, default and meaning."""
    lines = [
        _INTRO.format(max_days=MAX_RUN_DAYS, max_flights=MAX_FLIGHTS, max_arrivals=MAX_ARRIVALS)
    ]
    for model, places in _sections():
        where = ", ".join(f"`{p}`" for p in places) if model is not Scenario else "top level"
        tag = ""
        for kind in ("type", "dist"):
            if kind in model.model_fields:
                values = get_args(model.model_fields[kind].annotation)
                tag = f" (`{kind}: {values[0]}`)" if values else ""
        lines.append(f"## {model.__name__}{tag}\n")
        lines.append(f"{_title(model)} Appears at: {where}.\n")
        lines.append("| field | type | unit | default | meaning |")
        lines.append("|---|---|---|---|---|")
        for name, info in model.model_fields.items():
            key = info.alias or name
            kind = describe(field_type(model, name), limits=True)
            lines.append(
                f"| `{key}` | {_cell(kind)} | {_cell(_unit(model, name))} | "
                f"{_cell(_default(model, name))} | {_cell(info.description or '')} |"
            )
        lines.append("")
    return "\n".join(lines)
