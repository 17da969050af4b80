"""Dataclasses to plain values and back, checked against their type hints.

Shared by the JSON control messages and the CBOR enrollment record: decoding
walks the dataclass's hints and names the first field that is missing or of
the wrong type (``record.fingers[3].quality.attempts must be an integer``).
Unknown extra fields are ignored, so a newer peer may add some.

Each type is compiled once into a checking function (the controller decodes
hundreds of records a second), and the path of a bad value is only spelled
out when there is an error to report.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from enum import Enum
from functools import lru_cache
from typing import Any, Callable

_PRIMITIVE = (str, int, float, bool, bytes, type(None))


class SchemaError(ValueError):
    pass


class _Bad(Exception):
    """Internal: a wrong value, with the path collected on the way out."""

    def __init__(self, message: str, path: tuple = ()) -> None:
        self.message, self.path = message, path


def to_plain(value: Any) -> Any:
    if isinstance(value, _PRIMITIVE) and not isinstance(value, Enum):
        return value
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, _PRIMITIVE) and not isinstance(v, Enum) for v in value):
            return list(value)
        return [to_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def from_plain(cls: type, body: Any, where: str) -> Any:
    try:
        return _coercer(cls)(body)
    except _Bad as bad:
        raise SchemaError(_spell(where, bad)) from None


def _spell(where: str, bad: _Bad) -> str:
    path = where
    for part in bad.path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return bad.message.format(path=path)


Check = Callable[[Any], Any]


@lru_cache(maxsize=None)
def _coercer(tp: Any) -> Check:
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        return _union([_coercer(a) for a in typing.get_args(tp) if a is not type(None)],
                      type(None) in typing.get_args(tp))
    if tp is Any:
        return lambda v: v
    if origin in (list, tuple):
        args = typing.get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return _fixed_tuple([_coercer(a) for a in args])
        return _sequence(_coercer(args[0]), tuple if origin is tuple else list)
    if origin is dict:
        return _mapping(_coercer(typing.get_args(tp)[1]))
    if dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return _enum(tp)
    if tp is float:
        return _float
    if tp in (int, str, bool, bytes):
        return _simple(tp)
    raise TypeError(f"unsupported field type {tp!r}")  # a bug in a dataclass, not bad input


def _union(options: list[Check], nullable: bool) -> Check:
    def check(v):
        if v is None and nullable:
            return None
        first = None
        for opt in options:
            try:
                return opt(v)
            except _Bad as bad:
                first = first or bad
        raise first or _Bad("{path}: unexpected null")
    return check


def _sequence(item: Check, kind: type) -> Check:
    def check(v):
        if not isinstance(v, (list, tuple)):
            raise _Bad("{path} must be a list")
        out = []
        for i, x in enumerate(v):
            try:
                out.append(item(x))
            except _Bad as bad:
                raise _Bad(bad.message, (i, *bad.path)) from None
        return kind(out)
    return check


def _fixed_tuple(items: list[Check]) -> Check:
    n = len(items)

    def check(v):
        if not isinstance(v, (list, tuple)):
            raise _Bad("{path} must be a list")
        if len(v) != n:
            raise _Bad(f"{{path}} must have {n} items, got {len(v)}")
        out = []
        for i, (c, x) in enumerate(zip(items, v)):
            try:
                out.append(c(x))
            except _Bad as bad:
                raise _Bad(bad.message, (i, *bad.path)) from None
        return tuple(out)
    return check


def _mapping(item: Check) -> Check:
    def check(v):
        if not isinstance(v, dict):
            raise _Bad("{path} must be a map")
        out = {}
        for k, x in v.items():
            try:
                out[str(k)] = item(x)
            except _Bad as bad:
                raise _Bad(bad.message, (str(k), *bad.path)) from None
        return out
    return check


def _dataclass(cls: type) -> Check:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _coercer(hints[f.name]),
               f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
              for f in dataclasses.fields(cls) if f.init]

    def check(v):
        if not isinstance(v, dict):
            raise _Bad("{path} must be a map")
        kwargs = {}
        for name, c, required in fields:
            if name in v:
                try:
                    kwargs[name] = c(v[name])
                except _Bad as bad:
                    raise _Bad(bad.message, (name, *bad.path)) from None
            elif required:
                raise _Bad(f"{{path}}: field {name!r} is missing")
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:  # a __post_init__ check
            raise _Bad("{path}: " + str(exc).replace("{", "{{").replace("}", "}}")) from None
    return check


def _enum(tp: type[Enum]) -> Check:
    allowed = ", ".join(repr(m.value) for m in tp)

    def check(v):
        try:
            return tp(v)
        except ValueError:
            shown = repr(v)[:40].replace("{", "{{").replace("}", "}}")
            raise _Bad(f"{{path}} is {shown}; expected one of {allowed}") from None
    return check


def _float(v):
    if isinstance(v, float) or (isinstance(v, int) and not isinstance(v, bool)):
        return float(v)
    raise _Bad(f"{{path}} must be a number, got {type(v).__name__}")


def _simple(tp: type) -> Check:
    article = "an integer" if tp is int else tp.__name__

    def check(v):
        if isinstance(v, tp) and not (tp is int and isinstance(v, bool)):
            return v
        if tp is bytes and isinstance(v, bytearray):
            return bytes(v)
        raise _Bad(f"{{path}} must be {article}, got {type(v).__name__}")
    return check
