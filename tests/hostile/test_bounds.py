"""Every number a scenario may hold has a lower and an upper bound (issue 14, item 1).

The walk below visits every field of the scenario schema, through unions, mappings (keys
too), lists, tuples and nested models, and fails for any int or float that lacks a bound
on either side. A new field declares its bounds with the annotated types of
:mod:`evacsim.scenario.bounds` (``Persons``, ``Troops``, ``Weight``...) or ``Field(ge=...,
le=...)``; this test tells its author where one is missing.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel

from evacsim.scenario.schema import Scenario

_LOW = (annotated_types.Ge, annotated_types.Gt)
_HIGH = (annotated_types.Le, annotated_types.Lt)


def _numeric_leaves(tp: Any, path: str, meta: tuple, seen: set) -> typing.Iterator[tuple]:
    """Yield (path, type, has_low, has_high) for every int/float reachable from ``tp``."""
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extra = get_args(tp)
        flat = []
        for item in extra:
            flat.extend(getattr(item, "metadata", []) or [item])
        yield from _numeric_leaves(base, path, (*meta, *flat), seen)
        return
    if origin in (Union, types.UnionType):
        for member in get_args(tp):
            yield from _numeric_leaves(member, path, meta, seen)
        return
    if origin is dict:
        key, value = get_args(tp)
        yield from _numeric_leaves(key, f"{path}.<key>", (), seen)
        yield from _numeric_leaves(value, f"{path}.<value>", (), seen)
        return
    if origin in (list, tuple):
        for i, member in enumerate(get_args(tp)):
            if member is not Ellipsis:
                yield from _numeric_leaves(member, f"{path}[{i}]", meta, seen)
        return
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp in seen:
            return
        seen.add(tp)
        for name, info in tp.model_fields.items():
            yield from _numeric_leaves(
                info.annotation, f"{tp.__name__}.{name}", tuple(info.metadata), seen
            )
        return
    if tp in (int, float):
        yield (
            path,
            tp.__name__,
            any(isinstance(m, _LOW) for m in meta),
            any(isinstance(m, _HIGH) for m in meta),
        )


LEAVES = list(_numeric_leaves(Scenario, "Scenario", (), set()))


def test_the_walk_finds_the_numbers():
    paths = {leaf[0] for leaf in LEAVES}
    # If the walk went blind (a pydantic change), this test would pass vacuously.
    assert "Category.pool" in paths and "Airfield.runways" in paths
    assert "Category.group_size.<key>" in paths
    assert len(LEAVES) > 30


@pytest.mark.parametrize("leaf", LEAVES, ids=lambda leaf: leaf[0])
def test_every_number_is_bounded(leaf):
    path, kind, low, high = leaf
    assert low and high, (
        f"{path} ({kind}) has no {'lower' if not low else 'upper'} bound: declare one from the "
        "field's meaning and unit (see evacsim/scenario/bounds.py)"
    )
