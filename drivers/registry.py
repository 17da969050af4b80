"""Find a driver by name, the way gpiozero finds pin factories.

Every driver, the built-in ones included, is an entry point in the group
``rekam.drivers`` named ``<kind>.<name>`` (``fingerprint.zhiantec``,
``camera.emulated``). The entry point's object is a factory::

    factory(options: Mapping[str, Any], context: DriverContext) -> Device

so a technician installs a third-party package that declares, say,
``fingerprint.suprema = "rekam_suprema:Scanner.from_config"`` and changes one
line of station config. Nothing here imports a driver until it is asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Mapping

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


def option(options: Mapping[str, Any], key: str, kind: type, default: Any = ..., *, device: str) -> Any:
    """Read one driver option, naming the option and the expected type when wrong."""
    if key not in options:
        if default is ...:
            raise DriverConfigError(f"option {key!r} is required", device=device)
        return default
    value = options[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise DriverConfigError(
            f"option {key!r} must be {kind.__name__}, got {type(value).__name__} {value!r}",
            device=device,
        )
    return value
