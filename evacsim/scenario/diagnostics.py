"""From pydantic's validation errors to one clear finding per mistake.

Pydantic reports an error at a *location*: a tuple of field names, mapping keys, list
indices and, inside unions, tags naming the union member that was tried ("float",
"dict[...]", "exponential"). A union that fails reports one error per member. This module
walks each location along the scenario's type annotations, so that

* tags are told apart from fields and mapping keys, and the path is clean
  (``demand.us_citizens.patience.mean``, never ``...patience.exponential.mean``);
* the errors of the union members that did not fit the input's shape are dropped, or, when
  no member fits at all, collapsed into one finding that lists what would have fitted;
* every message says what is wrong and what is expected, described from the annotation
  itself (type, unit, bounds), so that it cannot drift from the model;
* an unknown key gets a "did you mean" suggestion from the fields allowed at its place.

:func:`salvage` keeps whatever validates on its own when the whole does not, so that the
cross-field checks (:func:`evacsim.scenario.reference_problems`) still run and every mistake
of a file is reported at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import functools
import re
import types
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from .bounds import Plausible
from .schema import Scenario, shorthand_fixed
from .units import format_duration, parse_clock, parse_duration, parse_timestamp

__all__ = [
    "Finding",
    "before_validators",
    "describe",
    "field_type",
    "findings_from_validation",
    "is_model",
    "is_union",
    "norm_key",
    "salvage",
    "show_value",
    "suggest",
    "unwrap",
]


@dataclasses.dataclass(frozen=True)
class Finding:
    """A mistake at a path (mapping keys, normalised by :func:`norm_key`), no file or line."""

    parts: tuple[str, ...]
    message: str

    @property
    def path(self) -> str:
        return ".".join(self.parts)


# --------------------------------------------------------------------------- keys


_REPR_TIME = re.compile(r"^datetime\.(?:datetime|date)\(([\d,\s]+)\)$")
_LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _format_time(when: dt.datetime) -> str:
    exact = when.second or when.microsecond
    return when.isoformat(timespec="auto" if exact else "minutes")


def norm_key(key: Any) -> str:
    """One spelling per mapping key, so that paths from YAML, pydantic and checks agree.

    A time is written ``2021-08-16T00:00`` however it was given (a YAML date, a string, or
    pydantic's ``repr`` of a datetime in an error location); anything else is ``str(key)``.
    """
    if isinstance(key, dt.date):
        return _format_time(parse_timestamp(key))
    text = str(key)
    match = _REPR_TIME.match(text)
    if match:
        numbers = [int(n) for n in match.group(1).split(",")]
        return _format_time(dt.datetime(*numbers))
    if _LOOKS_LIKE_TIME.match(text):
        try:
            return _format_time(parse_timestamp(text))
        except ValueError:
            return text
    return text


# --------------------------------------------------------------------------- annotations


def unwrap(tp: Any) -> tuple[Any, list[Any]]:
    """Strip ``Annotated`` layers; return the bare type and all metadata, outermost last."""
    meta: list[Any] = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp = args[0]
        extra: list[Any] = []
        for item in args[1:]:
            extra.append(item)
            if isinstance(item, FieldInfo):
                extra.extend(item.metadata)
        meta = extra + meta
    return tp, meta


def is_union(tp: Any) -> bool:
    """Whether ``tp`` is a union (``A | B`` or ``Union[A, B]``)."""
    return get_origin(tp) in (Union, types.UnionType)


def _members(tp: Any) -> list[Any]:
    return [m for m in get_args(tp) if m is not type(None)]


def is_model(tp: Any) -> bool:
    """Whether ``tp`` is a pydantic model class."""
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _discriminator(meta: list[Any]) -> str | None:
    for item in meta:
        if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
            return item.discriminator
    return None


def before_validators(meta: list[Any]) -> list[Any]:
    """The functions of the ``BeforeValidator``s among a field's metadata."""
    return [m.func for m in meta if isinstance(m, BeforeValidator)]


@functools.cache
def field_type(model: type[BaseModel], name: str) -> Any:
    """The annotated type of field ``name`` of ``model``, its discriminator put back."""
    info = model.model_fields[name]
    meta = list(info.metadata)
    if info.discriminator is not None:  # pydantic lifts it off the annotation
        meta.append(Field(discriminator=info.discriminator))
    return Annotated[(info.annotation, *meta)] if meta else info.annotation


def _field_by_key(model: type[BaseModel], key: Any) -> str | None:
    """The field name that a mapping key (its alias, or its name) addresses."""
    for name, info in model.model_fields.items():
        if key == (info.alias or name) or key == name:
            return name
    return None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


_TAG_PREFIXES = {"dict[": dict, "list[": list, "tuple[": tuple, "literal[": Literal}


def _match_tag(tag: str, members: list[Any], discriminator: str | None) -> Any | None:
    """The union member that pydantic names ``tag`` in an error location."""
    for member in members:
        base, meta = unwrap(member)
        if discriminator:
            field = base.model_fields.get(discriminator) if is_model(base) else None
            if field is not None and tag in get_args(field.annotation):
                return member
            continue
        if is_model(base) and (tag == base.__name__ or tag.endswith(f", {base.__name__}]")):
            return member
        prefix = next((p for p in _TAG_PREFIXES if tag.startswith(p)), None)
        if prefix is not None:
            if (get_origin(base) or base) is _TAG_PREFIXES[prefix]:
                return member
        elif tag.startswith("function-"):
            if any(f"{func.__name__}()" in tag for func in before_validators(meta)):
                return member
        elif getattr(base, "__name__", None) == tag.removeprefix("constrained-"):
            return member
    return None


_SCALAR_TAGS = {"float", "int", "str", "bool", "none", "list", "dict", "tuple"}


def _looks_like_tag(item: Any) -> bool:
    text = str(item)
    return (
        text in _SCALAR_TAGS
        or text.startswith(("constrained-", "function-", "literal[", "list[", "dict[", "tuple["))
        or text == "[key]"
    )


@dataclasses.dataclass
class _Walk:
    """Where an error location leads in the type tree."""

    parts: list[str]
    spec: Any  # annotation at the end of the path (None: lost track)
    model: type[BaseModel] | None  # model owning the last part
    key_error: bool = False
    # (index of the tag in loc, number of parts before it, the union annotation, the tag)
    unions: list[tuple[int, int, Any, str]] = dataclasses.field(default_factory=list)


def _walk(loc: tuple[Any, ...], root: Any = Scenario) -> _Walk:
    walk = _Walk(parts=[], spec=root, model=None)
    tp, i = root, 0
    while i < len(loc):
        item = loc[i]
        if tp is None:  # lost: keep the rest, but not what looks like a union tag
            if not _looks_like_tag(item):
                walk.parts.append(norm_key(item))
            i += 1
            continue
        base, meta = unwrap(tp)
        if is_union(base):
            members = _members(base)
            if len(members) == 1:  # Optional[X]: pydantic adds no tag
                tp = Annotated[(members[0], *meta)] if meta else members[0]
                continue
            walk.unions.append((i, len(walk.parts), tp, str(item)))
            tp = _match_tag(str(item), members, _discriminator(meta))
            i += 1
            continue
        if is_model(base):
            name = _field_by_key(base, item)
            walk.parts.append(str(item))
            walk.model = base
            tp = field_type(base, name) if name else None
        elif get_origin(base) is dict:
            key_type, value_type = get_args(base)
            walk.parts.append(norm_key(item))
            if i + 1 < len(loc) and loc[i + 1] == "[key]":
                walk.key_error = True
                tp = key_type
                i += 1
            else:
                tp = value_type
        elif get_origin(base) in (list, tuple) and isinstance(item, int):
            args = get_args(base)
            walk.parts.append(str(item))
            if get_origin(base) is list:
                tp = args[0]
            else:
                tp = args[item] if item < len(args) else None
        else:
            walk.parts.append(norm_key(item))
            tp = None
        i += 1
    walk.spec = tp
    return walk


# --------------------------------------------------------------------------- descriptions


_NAME_PATTERN = r"^[A-Za-z0-9_\-]+$"


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _duration_bound(hours: float) -> str:
    return "0" if hours == 0 else format_duration(hours)


def _bounds(meta: list[Any], num: Any = _num, limits: bool = False) -> str:
    """The bounds in ``meta`` in words; a plausibility limit (see
    :class:`~evacsim.scenario.bounds.Plausible`) only with ``limits``."""
    lo = hi = None
    for item in meta:
        if isinstance(item, Plausible) and not limits:
            meta = [m for m in meta if not isinstance(m, annotated_types.Le | annotated_types.Lt)]
            break
    for item in meta:
        if isinstance(item, annotated_types.Ge):
            lo = f">= {num(item.ge)}"
        elif isinstance(item, annotated_types.Gt):
            lo = f"> {num(item.gt)}"
        elif isinstance(item, annotated_types.Le):
            hi = f"<= {num(item.le)}"
        elif isinstance(item, annotated_types.Lt):
            hi = f"< {num(item.lt)}"
    if lo and hi:
        low, high = lo.split(" ", 1)[1], hi.split(" ", 1)[1]
        if lo.startswith(">=") and hi.startswith("<="):
            return f"between {low} and {high}"
        return f"{lo} and {hi}"
    return lo or hi or ""


def _words(model: type[BaseModel]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def describe(tp: Any, *, short: bool = False, limits: bool = False) -> str:
    """What a value of annotation ``tp`` looks like, in a planner's words.

    ``short`` drops the article and the examples, for use inside a larger description;
    ``limits`` adds the plausibility limits (upper bounds that only stop typos).
    """
    base, meta = unwrap(tp)
    a = "" if short else "a "
    bounds = _bounds(meta, limits=limits)
    suffix = f" {bounds}" if bounds else ""
    validators = before_validators(meta)
    if shorthand_fixed in validators:
        if short:
            return "duration or distribution"
        return (
            "a duration such as 45min, or a distribution such as {dist: exponential, mean: 45min}"
        )
    if parse_duration in validators:
        bounds = _bounds(meta, _duration_bound, limits)  # in the units people write, not h
        suffix = f" {bounds}" if bounds else ""
        if short:
            return f"duration{suffix}"
        return f"a duration{suffix} with a unit, e.g. 45min, 2h or 1.5d"
    if parse_timestamp in validators:
        return "date-time" if short else "a date-time such as 2021-08-16T18:00, or a date"
    if parse_clock in validators:
        return "time of day" if short else "a time of day 'HH:MM' (00:00 to 23:59), e.g. '11:30'"
    if is_union(base):
        members = _members(base)
        # Bounds given on the field (``Field(ge=1)`` on ``int | None``) apply to its numbers.
        bound_meta = [
            m
            for m in meta
            if isinstance(
                m,
                annotated_types.Ge
                | annotated_types.Gt
                | annotated_types.Le
                | annotated_types.Lt
                | Plausible,
            )
        ]
        parts = [
            describe(
                Annotated[(m, *bound_meta)] if bound_meta and unwrap(m)[0] in (int, float) else m,
                short=short,
                limits=limits,
            )
            for m in members
        ]
        if len(members) < len(get_args(base)):
            parts.append("null")
        return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    origin = get_origin(base)
    if origin is Literal:
        return " or ".join(f"'{v}'" for v in get_args(base))
    if origin is dict:
        key_type, value_type = get_args(base)
        key_text = describe(key_type, short=True, limits=limits)
        inner = f"{{{key_text}: {describe(value_type, short=True, limits=limits)}}}"
        return f"mapping {inner}" if short else f"a mapping {inner}"
    if origin is list:
        item = describe(get_args(base)[0], short=True, limits=limits)
        # 'names', but 'entries (name or list of names)' where the item is a choice
        items = f"entries ({item})" if " or " in item else f"{item}s"
        return f"{'' if short else 'a '}list of {items}"
    if origin is tuple:
        items = ", ".join(describe(x, short=True, limits=limits) for x in get_args(base))
        return f"[{items}]" if short else f"a pair [{items}]"
    if is_model(base):
        if short:
            return _words(base)
        words = _words(base)
        article = "an" if words[0] in "aeiou" else "a"
        return f"{article} {words} mapping with fields {', '.join(_keys_of(base))}"
    if base is bool:
        return "true or false"
    if base is int:
        return f"{a}whole number{suffix}"
    if base is float:
        return f"{a}number{suffix}"
    if base is str:
        if any(getattr(m, "pattern", None) == _NAME_PATTERN for m in meta):
            return "name" if short else "a name such as us_c17"
        return "text"
    if base is dt.datetime:
        return "date-time"
    return getattr(base, "__name__", str(base))


# --------------------------------------------------------------------------- messages


def show_value(value: Any) -> str:
    """A short rendering of a user's input in a message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"'{text}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def suggest(word: Any, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest option (a prefix counts), or nothing."""
    word, options = str(word), list(options)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close and len(word) >= 3:
        close = [o for o in options if o.startswith(word)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


_NOT_A = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "string_type": "text",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "tuple_type": "a list",
    "datetime_type": "a date-time",
}
_TOO = {
    "greater_than_equal": "too small",
    "greater_than": "too small",
    "less_than_equal": "too large",
    "less_than": "too large",
}


def _message(err: dict[str, Any], walk: _Walk) -> Finding:
    """One finding for one (already selected) pydantic error."""
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    parts = list(walk.parts)
    spec = walk.spec
    # A plausibility limit is named when it is what the value broke.
    too_large = kind in ("less_than_equal", "less_than")
    expected = describe(spec, limits=too_large) if spec is not None else None
    what: str
    if kind == "missing":
        if parts and parts[-1].isdigit():
            what = f"item {int(parts[-1]) + 1} is missing"
        else:
            what = "required field is missing"
    elif kind == "extra_forbidden":
        keys = _keys_of(walk.model) if walk.model else []
        what = f"unknown field{suggest(parts[-1], keys)}"
        expected = f"one of: {', '.join(keys)}" if keys else None
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "type")).strip("'")
        tags = [t.strip().strip("'") for t in str(ctx.get("expected_tags", "")).split(",")]
        parts.append(field)
        if kind == "union_tag_invalid":
            what = f"unknown {field} '{ctx.get('tag')}'{suggest(ctx.get('tag'), tags)}"
        else:
            what = "required field is missing"
            tags = (_tags_of(spec, field) if spec is not None else []) or tags
            # A misspelt discriminator (idst: lognormal) leaves a key no member knows: name it.
            known = set(_fields_of(spec)) if spec is not None else set()
            given = value if isinstance(value, dict) else {}
            strays = [str(k) for k in given if str(k) not in known]
            if strays:
                shown = ", ".join(f"'{k}'" for k in strays)
                what += (
                    f"; found unknown key{'s' if len(strays) > 1 else ''} {shown}"
                    f"{suggest(strays[0], [field])}"
                )
        expected = f"one of: {', '.join(tags)}" if tags and tags != [""] else None
    elif kind in _NOT_A:
        what = f"{show_value(value)} is not {_NOT_A[kind]}"
    elif kind in _TOO:
        shown = show_value(value)
        is_duration = spec is not None and parse_duration in before_validators(unwrap(spec)[1])
        if is_duration and isinstance(value, int | float):
            shown = format_duration(value)  # the user wrote a duration, not hours
        elif is_duration and isinstance(value, str) and len(value) <= 40:
            shown = value.strip()  # as written, like a parsed duration
        what = f"{shown} is {_TOO[kind]}"
    elif kind == "literal_error":
        options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        what = f"{show_value(value)} is not allowed{suggest(value, options)}"
    elif kind == "string_pattern_mismatch":
        what = f"{show_value(value)} is not a valid name"
    elif kind == "string_too_short":
        what = "empty text"
    elif kind in ("value_error", "assertion_error"):
        what = str(ctx.get("error", err["msg"]))
        if isinstance(value, str) and len(value) > 40:
            what = what.replace(f"'{value}'", show_value(value))  # do not echo a whole paragraph
        field, sep, rest = what.partition(": ")
        model = unwrap(spec)[0] if spec is not None else None
        if sep and is_model(model) and _field_by_key(model, field):
            # A model-level check names the field it is about: "to: ... (expected ...)".
            parts.append(field)
            what = rest
        if "(expected" in what:
            expected = None
    else:
        what = err["msg"]
    if walk.key_error:
        what = f"key {what}"
    message = f"{what} (expected {expected})" if expected else what
    return Finding(tuple(parts), message)


def _tags_of(spec: Any, field: str) -> list[str]:
    """The values a discriminator ``field`` may take in the (nested) union ``spec``."""
    base, _ = unwrap(spec)
    if is_union(base):
        return [tag for member in _members(base) for tag in _tags_of(member, field)]
    if is_model(base) and field in base.model_fields:
        return list(get_args(base.model_fields[field].annotation))
    return []


def _fields_of(spec: Any) -> list[str]:
    """Every field name (and alias) of the models in the (nested) union ``spec``."""
    base, _ = unwrap(spec)
    if is_union(base):
        return [name for member in _members(base) for name in _fields_of(member)]
    return _keys_of(base) if is_model(base) else []


_TYPE_ERRORS = set(_NOT_A) | {
    "literal_error",
    "missing",
    "extra_forbidden",
    "union_tag_invalid",
    "union_tag_not_found",
    "string_pattern_mismatch",
}


def _type_fits(err: dict[str, Any]) -> bool:
    """True if the error is about the value, not about the input being the wrong kind."""
    return err["type"] not in _TYPE_ERRORS


def _collapse(items: list[tuple[dict, _Walk]], level: int = 0) -> list[Finding]:
    """Keep the errors of the union member that fitted the input best; see module doc."""
    findings: list[Finding] = []
    groups: dict[tuple, list[tuple[dict, _Walk]]] = {}
    for err, walk in items:
        if len(walk.unions) <= level:
            findings.append(_message(err, walk))
        else:
            tag_index = walk.unions[level][0]
            groups.setdefault(tuple(err["loc"][:tag_index]), []).append((err, walk))
    for group in groups.values():
        by_tag: dict[str, list[tuple[dict, _Walk]]] = {}
        for err, walk in group:
            by_tag.setdefault(walk.unions[level][3], []).append((err, walk))

        def depth(entries: list[tuple[dict, _Walk]]) -> int:
            return max(len(e["loc"]) - w.unions[level][0] - 1 for e, w in entries)

        best = max(by_tag.values(), key=depth)  # first of the deepest, in union order
        collapse = len(by_tag) > 1 and depth(best) == 0
        if collapse:
            # A member that took the input's type and refused only its value (a bound, a
            # check) says best what is wrong: -5 is "too small", not "not valid here".
            fitting = [v for v in by_tag.values() if all(_type_fits(e) for e, _ in v)]
            if fitting:
                best, collapse = fitting[0], False
        if collapse:
            # No member fitted the input's shape: one finding listing what would have.
            err, walk = group[0]
            _, n_parts, union, _ = walk.unions[level]
            what = f"{show_value(err.get('input'))} is not valid here"
            findings.append(
                Finding(tuple(walk.parts[:n_parts]), f"{what} (expected {describe(union)})")
            )
        else:
            findings.extend(_collapse(best, level + 1))
    return findings


def findings_from_validation(error: ValidationError, root: Any = Scenario) -> list[Finding]:
    """One :class:`Finding` per mistake in a pydantic :class:`ValidationError`."""
    items: list[tuple[dict, _Walk]] = []
    findings: list[Finding] = []
    for err in error.errors(include_url=False):
        ctx = err.get("ctx") or {}
        if err["type"] == "references" and "problems" in ctx:
            findings.extend(_split(path, message) for path, message in ctx["problems"])
            continue
        items.append((err, _walk(tuple(err["loc"]), root)))
    findings.extend(_collapse(items))
    unique: dict[tuple[tuple[str, ...], str], Finding] = {}
    for f in findings:
        unique.setdefault((f.parts, f.message), f)
    return list(unique.values())


def _split(path: str, message: str) -> Finding:
    return Finding(tuple(path.split(".")) if path else (), message)


# --------------------------------------------------------------------------- salvage

_ADAPTERS: dict[int, tuple[Any, TypeAdapter]] = {}


def _adapter(tp: Any) -> TypeAdapter:
    cached = _ADAPTERS.get(id(tp))
    if cached is None or cached[0] is not tp:
        cached = (tp, TypeAdapter(tp))
        _ADAPTERS[id(tp)] = cached
    return cached[1]


def _salvage_value(tp: Any, raw: Any) -> Any:
    try:
        return _adapter(tp).validate_python(raw)
    except (ValidationError, TypeError, ValueError, RecursionError):
        pass
    base, meta = unwrap(tp)
    if is_union(base):
        members = _members(base)
        tag_field = _discriminator(meta)
        if tag_field and isinstance(raw, dict):
            member = _match_tag(str(raw.get(tag_field)), members, tag_field)
            return _salvage_value(member, raw) if member is not None else None
        models = [m for m in members if is_model(unwrap(m)[0])]
        if len(models) == 1 and isinstance(raw, dict):
            return _salvage_value(models[0], raw)
        return None
    if is_model(base):
        return _salvage_model(base, raw)
    if get_origin(base) is dict and isinstance(raw, dict):
        _, value_type = get_args(base)
        return {key: _salvage_value(value_type, value) for key, value in raw.items()}
    return None


def _salvage_model(model: type[BaseModel], raw: Any) -> Any:
    if not isinstance(raw, dict):
        return None
    if model is not Scenario:  # the whole scenario is known to fail
        try:
            return model.model_validate(raw)
        except (ValidationError, TypeError, ValueError, RecursionError):
            pass
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in raw or name in raw:
            values[name] = _salvage_value(field_type(model, name), raw.get(key, raw.get(name)))
        elif info.is_required():
            values[name] = None
        else:
            values[name] = info.get_default(call_default_factory=True)
    return types.SimpleNamespace(**values)


def salvage(data: dict[str, Any]) -> Any:
    """Whatever of a scenario mapping validates on its own, for the cross-field checks.

    Returns an object with the :class:`Scenario`'s attributes in which a part that failed is
    ``None`` (a named entry that failed keeps its name with the value ``None``, so that
    references to it are not reported as unknown).
    """
    return _salvage_model(Scenario, data)
