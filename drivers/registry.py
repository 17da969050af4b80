"""Find a driver by name, the way gpiozero finds pin factories.

Every driver, the built-in ones included, is an entry point in the group
``rekam.drivers`` named ``<kind>.<name>`` (``fingerprint.zhiantec``,
``camera.emulated``). The entry point's object is a factory::

    factory(options: Mapping[str, Any], context: DriverContext) -> Device

so a technician installs a third-party package that declares, say,
``fingerprint.suprema = "rekam_suprema:Scanner.from_config"`` and changes one
line of station config. Nothing here imports a driver until it is asked for.

A factory reads its options with :func:`parse_options` into its own
``msgspec.Struct``; msgspec's validation errors become a
:class:`~drivers.errors.DriverConfigError` here, once, worded for the
technician who edits the config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Mapping, TypeVar

import msgspec
import msgspec.inspect as mi

from drivers.errors import DeviceError, DriverConfigError, DriverNotFound
from drivers.interfaces import Device
from drivers.scene import Scene
from drivers.types import DeviceKind

GROUP = "rekam.drivers"


@dataclass
class DriverContext:
    """What a factory may need besides its own options."""

    #: The emulated world simulators read; real drivers ignore it.
    scene: Scene = field(default_factory=Scene)
    #: gpiozero pin factory to use instead of the configured default.
    pin_factory: Any = None


Factory = Callable[[Mapping[str, Any], DriverContext], Device]


@dataclass(frozen=True)
class DriverInfo:
    kind: DeviceKind
    name: str
    target: str  # "module:attr"
    distribution: str  # the package that installed it


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=GROUP))


def available(kind: DeviceKind | None = None) -> list[DriverInfo]:
    """Every installed driver, sorted by kind and name."""
    found: dict[tuple[str, str], DriverInfo] = {}
    for ep in _entry_points():
        kind_s, _, name = ep.name.partition(".")
        try:
            k = DeviceKind(kind_s)
        except ValueError:
            continue  # a malformed name from some package; never breaks the list
        if kind is not None and k is not kind:
            continue
        dist = ep.dist.name if ep.dist is not None else "?"
        found.setdefault((k.value, name), DriverInfo(k, name, ep.value, dist))
    return [found[key] for key in sorted(found)]


def load(kind: DeviceKind, name: str) -> Factory:
    wanted = f"{kind.value}.{name}"
    for ep in _entry_points():
        if ep.name == wanted:
            try:
                return ep.load()
            except Exception as exc:  # a broken third-party package
                raise DriverNotFound(
                    f"driver {name!r} for {kind.value} is installed but fails to load: {exc}"
                ) from exc
    names = ", ".join(d.name for d in available(kind)) or "none"
    raise DriverNotFound(f"no {kind.value} driver named {name!r}; installed: {names}")


def create(
    kind: DeviceKind,
    name: str,
    options: Mapping[str, Any] | None = None,
    context: DriverContext | None = None,
) -> Device:
    """Build (but do not open) the driver ``name`` for ``kind``."""
    factory = load(kind, name)
    try:
        device = factory(dict(options or {}), context or DriverContext())
    except DeviceError:
        raise
    except Exception as exc:  # a third-party factory's bug must not stop the station
        raise DriverConfigError(f"driver {name!r} for {kind.value} failed to start: "
                                f"{exc.__class__.__name__}: {exc}") from exc
    if not isinstance(device, Device) or device.kind is not kind:
        raise DriverConfigError(f"driver {name!r} did not produce a {kind.value} device")
    return device


# -- options as a msgspec Struct --------------------------------------------------

OptionsT = TypeVar("OptionsT", bound=msgspec.Struct)

#: "Expected `int`, got `str` - at `$.pins.green`": the message, then where.
_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_FIELD = re.compile(r"field `(?P<name>[^`]+)`")


def parse_options(options_type: type[OptionsT], options: Mapping[str, Any], *, device: str) -> OptionsT:
    """``options`` as ``options_type``, or one DriverConfigError an operator can act on.

    ``options_type`` is a Struct with ``forbid_unknown_fields=True``, defaults
    for what may be left out, and ``msgspec.Meta`` bounds. The error names the
    option, the form it must take and the value given; a field whose Meta has
    ``extra={"secret": True}`` (a module password) never has its value shown.
    """
    info = mi.type_info(options_type)
    assert isinstance(info, mi.StructType)
    known = sorted(f.encode_name for f in info.fields)
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        names = ", ".join(repr(k) for k in unknown)
        raise DriverConfigError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {names}; known: {', '.join(known)}", device=device
        )
    try:
        return msgspec.convert(dict(options), options_type)
    except msgspec.ValidationError as exc:
        raise DriverConfigError(_explain(info, options, str(exc)), device=device) from None


def _explain(info: mi.StructType, options: Mapping[str, Any], text: str) -> str:
    """msgspec's message about ``options``, said in the station config's words."""
    m = _AT.match(text)
    what, path = (m["what"], m["path"] or "") if m else (text, "")
    # "$.pins.green" -> pins, green; an index ("$.size[0]") is reported on its option.
    names = [n for n in path.split("[", 1)[0].split(".") if n]
    struct: mi.StructType | None = info
    field_: mi.Field | None = None
    for name in names:
        field_ = next((f for f in struct.fields if f.encode_name == name), None) if struct else None
        if field_ is None:
            return f"options are invalid: {text}"
        struct = _struct_in(field_.type)
    where = ".".join(names)
    named = _FIELD.search(what)
    if what.startswith("Object missing required field") and named:
        return f"option {'.'.join([*names, named['name']])!r} is required"
    if what.startswith("Object contains unknown field") and named and struct is not None:
        known = ", ".join(sorted(f.encode_name for f in struct.fields))
        return f"option {where!r} has unknown key {named['name']!r}; known: {known}"
    if field_ is None:
        return f"options are invalid: {text}"
    value: Any = options
    for name in names:
        value = value.get(name) if isinstance(value, Mapping) else None
    got = " (the value given is not shown)" if _flagged(field_.type, "secret") else f", got {_show(value)}"
    return f"option {where!r} must be {_describe(field_.type)}{got}"


def _struct_in(t: mi.Type) -> mi.StructType | None:
    if isinstance(t, mi.Metadata):
        return _struct_in(t.type)
    if isinstance(t, mi.UnionType):
        return next((s for s in map(_struct_in, t.types) if s is not None), None)
    return t if isinstance(t, mi.StructType) else None


def _flagged(t: mi.Type, flag: str) -> bool:
    if isinstance(t, mi.Metadata):
        return bool((t.extra or {}).get(flag)) or _flagged(t.type, flag)
    if isinstance(t, mi.UnionType):
        return any(_flagged(x, flag) for x in t.types)
    return False


def _describe(t: mi.Type) -> str:
    """The form a value must take: "an integer 1-100", "one of 'a', 'b'", a Meta's description."""
    if isinstance(t, mi.Metadata):
        return (t.extra_json_schema or {}).get("description") or _describe(t.type)
    if isinstance(t, mi.UnionType):
        return " or ".join(_describe(x) for x in t.types if not isinstance(x, mi.NoneType))
    if isinstance(t, mi.BoolType):
        return "true or false"
    if isinstance(t, mi.IntType):
        return "an integer" + _bounds(t)
    if isinstance(t, mi.FloatType):
        return "a number" + _bounds(t)
    if isinstance(t, mi.StrType):
        return "a string" if t.pattern is None else f"a string matching {t.pattern!r}"
    if isinstance(t, mi.LiteralType):
        return "one of " + ", ".join(_show(v) for v in t.values)
    if isinstance(t, (mi.DictType, mi.StructType, mi.TypedDictType, mi.DataclassType)):
        return "a table"
    if isinstance(t, (mi.ListType, mi.TupleType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        return "a list"
    return "of another form"


def _bounds(t: mi.IntType | mi.FloatType) -> str:
    low = (">", t.gt) if t.gt is not None else (">=", t.ge) if t.ge is not None else None
    high = ("<", t.lt) if t.lt is not None else ("<=", t.le) if t.le is not None else None
    if low and high and low[0] == ">=" and high[0] == "<=":
        return f" {_show(low[1])}-{_show(high[1])}"
    parts = [f"{op} {_show(v)}" for op, v in filter(None, (low, high))]
    return " " + " and ".join(parts) if parts else ""


def _show(value: Any) -> str:
    """A value as a technician wrote it in TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
