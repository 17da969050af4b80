"""The protocol's one exception family.

Everything in ``protocol/`` that refuses input raises a :class:`ProtocolError`
subclass with a stable ``reason_id`` (for acks, counters and translations) and
an English message that names what is wrong. Messages never carry personal
data: a NIK error names the part of the number that is wrong, not the number
or the birth date it encodes.

Each leaf also derives from ValueError, the built-in it resembles, so code that
only knows "bad value" can still catch it.
"""

from __future__ import annotations

import msgspec


class ProtocolError(ValueError):
    reason_id = "protocol_error"

    def __init__(self, message: str, reason_id: str | None = None) -> None:
        if reason_id is not None:
            self.reason_id = reason_id
        super().__init__(message)


def explain(where: str, exc: msgspec.ValidationError) -> str:
    """msgspec's "Expected `int`, got `str` - at `$.online`" as "state.online: expected int, got str"."""
    text, _, at = str(exc).partition(" - at `")
    path = where + at.rstrip("`").removeprefix("$")
    text = text.replace("`", "")
    if text.startswith("Object missing required field "):
        return f"{path}: field {text.removeprefix('Object missing required field ')!r} is missing"
    return f"{path}: {text[:1].lower()}{text[1:]}"
