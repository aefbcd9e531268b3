"""The pieces of a config that are valid on their own, when the whole is not.

When some section has a type error, the cross-checks (``digest.config.checks``) still run
on the rest, so every problem is reported in one pass instead of the type errors first and
the rest on the next try. Nothing here restates the settings' shape: each field is
validated by its own model (its validators included), and a field that fails is searched
for valid parts by its declared type (a model's fields, a list's items, a mapping's values).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from digest.config.locator import KeyPath

_T = TypeVar("_T")


class _Invalid:
    """Marks a key that was given but whose value did not validate."""


_INVALID = _Invalid()


class Salvage:
    """Typed values by key path: a whole valid ``Settings``, or the pieces that validated."""

    def __init__(self, pieces: dict[KeyPath, Any]) -> None:
        self._pieces = pieces

    @classmethod
    def whole(cls, settings: BaseModel) -> Salvage:
        """Every value of settings that validated as a whole."""
        return cls({(): settings})

    @classmethod
    def of(cls, model: type[BaseModel], data: Mapping[str, Any]) -> Salvage:
        """The valid pieces of ``data``, which ``model`` refused as a whole."""
        pieces: dict[KeyPath, Any] = {}
        _collect_fields(model, data, (), pieces)
        return cls(pieces)

    def value(self, path: KeyPath, kind: type[_T]) -> _T | None:
        """The value at ``path`` (attribute names, keys, indexes) if it is valid and a
        ``kind``, else None."""
        found = self._find(path)
        return found if isinstance(found, kind) else None

    def keys(self, path: KeyPath) -> list[str | int]:
        """The keys (or indexes) given in the mapping (or list) at ``path``, valid or not."""
        container = self._find(path)
        if isinstance(container, dict):
            return list(container)
        if isinstance(container, list):
            return list(range(len(container)))
        keys: list[str | int] = []
        for piece in self._pieces:
            if len(piece) > len(path) and piece[:len(path)] == path \
                    and piece[len(path)] not in keys:
                keys.append(piece[len(path)])
        return keys

    def entries(self, path: KeyPath, kind: type[_T]) -> list[tuple[str | int, _T]]:
        """(key, value) of each valid ``kind`` in the mapping or list at ``path``."""
        return [(key, value) for key in self.keys(path)
                if (value := self.value((*path, key), kind)) is not None]

    def _find(self, path: KeyPath) -> Any:
        for end in range(len(path), -1, -1):
            if path[:end] in self._pieces:
                value = self._pieces[path[:end]]
                for key in path[end:]:
                    value = _child(value, key)
                return value
        return _INVALID


def _child(value: Any, key: str | int) -> Any:
    if isinstance(value, BaseModel) and isinstance(key, str):
        return getattr(value, key, _INVALID)
    if isinstance(value, dict):
        return value.get(key, _INVALID)
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return _INVALID


def _collect_fields(model: type[BaseModel], raw: Mapping[str, Any], path: KeyPath,
                    pieces: dict[KeyPath, Any]) -> None:
    """Each field of ``model`` given in ``raw`` (or defaulted), validated alone."""
    blank = model.model_construct()
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            if not info.is_required():
                pieces[(*path, name)] = info.get_default(call_default_factory=True)
            continue
        try:
            model.__pydantic_validator__.validate_assignment(blank, name, raw[key])
            pieces[(*path, name)] = getattr(blank, name)
        except ValidationError:
            pieces[(*path, name)] = _INVALID
            _collect_parts(info.annotation, raw[key], (*path, name), pieces)


def _collect_parts(annotation: Any, raw: Any, path: KeyPath,
                   pieces: dict[KeyPath, Any]) -> None:
    """The valid parts of a value its declared type refused as a whole."""
    model = _model_in(annotation)
    if model is not None and isinstance(raw, Mapping):
        _collect_fields(model, raw, path, pieces)
        return
    origin, arguments = get_origin(annotation), get_args(annotation)
    items: Iterable[tuple[str | int, Any]]
    if origin is list and isinstance(raw, list):
        items, item_type = enumerate(raw), arguments[0]
    elif origin is dict and isinstance(raw, Mapping):
        items, item_type = raw.items(), arguments[1]
    else:
        return
    adapter: TypeAdapter[Any] = TypeAdapter(item_type)
    for key, item in items:
        try:
            pieces[(*path, key)] = adapter.validate_python(item)
        except ValidationError:
            pieces[(*path, key)] = _INVALID
            _collect_parts(item_type, item, (*path, key), pieces)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone or as the one model of a union (``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, UnionType):
        models = [m for a in get_args(annotation) if (m := _model_in(a)) is not None]
        return models[0] if len(models) == 1 else None
    return None
