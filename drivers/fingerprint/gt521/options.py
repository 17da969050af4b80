"""What a technician may write in ``[devices.fingerprint] options`` for a GT-521.

One frozen msgspec Struct per driver (``gt521``, ``gt521-emulated``), read
with :func:`drivers.registry.parse_options`: unknown options are refused,
values outside their range or set are named with the form they must take.
Defaults here are the drivers' defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drivers.fingerprint.gt521 import codes

#: Option types the real and the emulated scanner share.
Baud = Literal[codes.BAUD_RATES]
Model = Literal[tuple(codes.CAPACITY)]
DeviceId = Annotated[int, msgspec.Meta(ge=0, le=0xFFFF)]
Timeout = Annotated[float, msgspec.Meta(gt=0)]
PollInterval = Annotated[float, msgspec.Meta(ge=0, le=1)]


class GT521Options(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[devices.fingerprint] options`` of the ``gt521`` driver."""

    port: str
    baud: Baud = codes.DEFAULT_BAUD
    #: Switch to this rate after Open (and back on close); None: stay at ``baud``.
    fast_baud: Baud | None = None
    device_id: DeviceId = codes.DEFAULT_DEVICE_ID
    #: None: probe the database size (F32: 200 slots, F52: 3000).
    model: Model | None = None
    timeout: Timeout = 2.0
    poll_interval: PollInterval = 0.05


class EmulatedGT521Options(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """``[devices.fingerprint] options`` of the ``gt521-emulated`` driver."""

    model: Model = "GT-521F52"
    #: Model wire time (10 bit times a byte each way), as benchmarks need.
    pace: bool = False
    fast_baud: Baud | None = 115200
    device_id: DeviceId = codes.DEFAULT_DEVICE_ID
    timeout: Timeout = 2.0
    poll_interval: PollInterval = 0.02
