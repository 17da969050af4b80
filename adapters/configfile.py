"""TOML config files, validated whole into msgspec Structs, with errors in an operator's words.

A config is read once at start and checked completely before anything is
touched: a wrong value stops the program with one line that names the dotted
field, the expected form and what was given (``mqtt.port must be an integer
1-65535, got 70000``). Unknown keys are errors too, so a typo never silently
keeps a default. Paths are ``pathlib.Path``; relative ones are resolved by the
caller against the file's directory.

File and TOML errors, and msgspec's validation errors, become the caller's
error class here, once.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Mapping, TypeVar

import msgspec
from msgspec import Meta
from msgspec import inspect as mi

T = TypeVar("T")
B = TypeVar("B", bound="BrokerTable")


class BrokerTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[mqtt]``: where the broker is and the TLS client certificate; each program adds its own settings."""

    host: Annotated[str, Meta(min_length=1)] = "127.0.0.1"
    port: Annotated[int, Meta(ge=1, le=65535)] = 1883
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: Annotated[int, Meta(ge=5, le=3600)] = 30


def resolve(path: Path | None, default: Path, base_dir: Path) -> Path:
    """A config path made absolute: relative ones are relative to the config file's directory."""
    path = path or default
    return path if path.is_absolute() else base_dir / path


def resolve_broker(table: B, base_dir: Path, *, error: type[Exception]) -> B:
    """The [mqtt] table with absolute TLS paths; TLS needs all three files."""
    files = {k: resolve(v, Path(), base_dir) for k in ("ca_file", "cert_file", "key_file")
             if (v := getattr(table, k)) is not None}
    table = msgspec.structs.replace(table, **files)
    if table.tls and not (table.ca_file and table.cert_file and table.key_file):
        raise error("mqtt.tls is true, so mqtt.ca_file, mqtt.cert_file and mqtt.key_file are all required")
    return table


def default_path(env_var: str, name: str) -> Path:
    """``$env_var``, else /etc/rekam/NAME if it exists, else ./NAME: where a program looks for its config."""
    env = os.environ.get(env_var)
    if env:
        return Path(env)
    system = Path("/etc/rekam") / name
    return system if system.exists() else Path(name)


def read_toml(path: Path, *, error: type[Exception], missing_hint: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"config file {path} does not exist ({missing_hint})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read config file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return parse_toml(text, error=error, source=path)


def parse_toml(text: str, *, error: type[Exception], source: Path | str | None = None) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source or 'config'} is not valid TOML: {exc}") from None


def convert(raw: Mapping[str, Any], type_: type[T], *, error: type[Exception], prefix: str = "") -> T:
    """``raw`` (a parsed TOML table) as ``type_``; ``error`` says which field is wrong and how."""
    try:
        return msgspec.convert(raw, type_, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise error(explain(exc, raw, type_, prefix)) from None


def _dec_hook(tp: type, obj: Any) -> Any:
    if tp is Path and isinstance(obj, str) and obj:
        return Path(obj).expanduser()
    raise NotImplementedError(f"{tp} cannot come from {type(obj).__name__}")  # msgspec reports it as a type error


# -- errors in an operator's words ------------------------------------------------------
def explain(exc: msgspec.ValidationError, raw: Mapping[str, Any], type_: Any, prefix: str = "") -> str:
    text, _, at = str(exc).partition(" - at `")
    parts = _parts(at.rstrip("`"))
    path = ".".join([prefix] * bool(prefix) + [str(p) for p in parts])
    if text.startswith("Object missing required field "):
        name = text.split("`")[1]
        return f"{path + '.' if path else ''}{name} is required"
    if text.startswith("Object contains unknown field "):
        name = text.split("`")[1]
        known = sorted(f.name for f in _fields(_type_at(type_, parts)))
        where = path or "the config"
        return f"{where} has unknown entries [{name!r}]; expected some of {known}"
    if path and text.startswith(f"{path}."):  # a table's own check (__post_init__) already names its field
        return text
    info = _type_at(type_, parts)
    form = _form(info) if info is not None else text.replace("`", "")
    found, value = _value_at(raw, parts)
    got = f", got {value!r}" if found else ""
    return f"{path} must be {form}{got}"


def _parts(at: str) -> list[str | int]:
    out: list[str | int] = []
    for token in at.removeprefix("$").replace("]", "").replace("[", ".").split("."):
        if token:
            out.append(int(token) if token.isdigit() else token)
    return out


def _value_at(raw: Any, parts: list[str | int]) -> tuple[bool, Any]:
    node = raw
    for p in parts:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _type_at(type_: Any, parts: list[str | int]) -> mi.Type | None:
    info: mi.Type | None = mi.type_info(type_)
    for p in parts:
        info = _unwrap(info)
        if isinstance(info, mi.StructType):
            info = next((f.type for f in info.fields if f.name == p), None)
        elif isinstance(info, mi.DictType):
            info = info.value_type
        elif isinstance(info, (mi.ListType, mi.TupleType, mi.VarTupleType)):
            info = getattr(info, "item_type", None)
        else:
            return None
    return _unwrap(info)


def _unwrap(info: mi.Type | None) -> mi.Type | None:
    if isinstance(info, mi.UnionType):
        real = [t for t in info.types if not isinstance(t, mi.NoneType)]
        return real[0] if len(real) == 1 else info
    return info


def _fields(info: mi.Type | None) -> list[mi.Field]:
    return list(info.fields) if isinstance(info, mi.StructType) else []


def _form(info: mi.Type) -> str:
    if isinstance(info, mi.Metadata):  # Meta(description=...) says the form in words
        described = (info.extra_json_schema or {}).get("description")
        return described or _form(info.type)
    if isinstance(info, mi.BoolType):
        return "true or false"
    if isinstance(info, mi.IntType):
        return "an integer" + _bounds(info)
    if isinstance(info, mi.FloatType):
        return "a number" + _bounds(info)
    if isinstance(info, mi.StrType):
        if info.pattern:
            return f"a string matching {info.pattern}"
        return "a non-empty string" if info.min_length else "a string"
    if isinstance(info, (mi.LiteralType, mi.EnumType)):
        values = info.values if isinstance(info, mi.LiteralType) else [m.value for m in info.cls]
        return "one of " + ", ".join(str(v) for v in values)
    if isinstance(info, (mi.StructType, mi.DictType, mi.TypedDictType, mi.DataclassType)):
        return "a table"
    if isinstance(info, (mi.ListType, mi.TupleType, mi.VarTupleType)):
        return "a list"
    if isinstance(info, mi.CustomType) and info.cls is Path:
        return "a path string"
    if isinstance(info, mi.UnionType):
        return " or ".join(_form(t) for t in info.types if not isinstance(t, mi.NoneType))
    return "of another form"


def _bounds(info: mi.IntType | mi.FloatType) -> str:
    lo = info.ge if info.ge is not None else info.gt
    hi = info.le if info.le is not None else info.lt
    if lo is not None and hi is not None:
        return f" {lo:g}-{hi:g}"
    if lo is not None:
        return f" >= {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""
