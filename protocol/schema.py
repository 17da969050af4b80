"""Dataclasses to plain values and back, checked against their type hints.

Shared by the JSON control messages and the CBOR enrollment record: decoding
walks the dataclass's hints and names the first field that is missing or of
the wrong type (``record.fingers[3].quality.attempts must be an integer``).
Unknown extra fields are ignored, so a newer peer may add some.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from typing import Any


class SchemaError(ValueError):
    pass


_PRIMITIVE = (str, int, float, bool, bytes, type(None))


def to_plain(value: Any) -> Any:
    if isinstance(value, _PRIMITIVE) and not isinstance(value, Enum):
        return value
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, _PRIMITIVE) and not isinstance(v, Enum) for v in value):
            return list(value)  # pen samples: thousands of small tuples
        return [to_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def from_plain(cls: type, body: Any, where: str) -> Any:
    if not isinstance(body, dict):
        raise SchemaError(f"{where} must be a map")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name in body:
            kwargs[f.name] = _coerce(hints[f.name], body[f.name], f"{where}.{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SchemaError(f"{where}: field {f.name!r} is missing")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:  # a __post_init__ check
        raise SchemaError(f"{where}: {exc}") from None


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, where)
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError(errors[0] if errors else f"{where}: unexpected null")
    if tp is Any:
        return value
    if origin in (list, tuple):
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise SchemaError(f"{where} must be a list")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                raise SchemaError(f"{where} must have {len(args)} items, got {len(value)}")
            return tuple(_coerce(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0]
        items = [_coerce(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise SchemaError(f"{where} must be a map")
        return {str(k): _coerce(item, v, f"{where}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return from_plain(tp, value, where)
    if isinstance(tp, type) and issubclass(tp, Enum):
        try:
            return tp(value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in tp)
            raise SchemaError(f"{where} is {value!r:.40}; expected one of {allowed}") from None
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise SchemaError(f"{where} must be a number, got {type(value).__name__}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise SchemaError(f"{where} must be an integer, got {type(value).__name__}")
    if tp is bytes:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise SchemaError(f"{where} must be bytes, got {type(value).__name__}")
    if tp in (str, bool):
        if isinstance(value, tp):
            return value
        raise SchemaError(f"{where} must be {tp.__name__}, got {type(value).__name__}")
    raise SchemaError(f"{where}: unsupported field type {tp!r}")  # a bug in a dataclass
