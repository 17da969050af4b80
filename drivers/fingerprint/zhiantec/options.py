"""What a technician may write in ``[devices.fingerprint] options`` for a ZhianTec module.

One frozen msgspec Struct per driver (``zhiantec``, ``zhiantec-emulated``),
sharing how to talk to the module, read with
:func:`drivers.registry.parse_options`: unknown options are refused, values
outside their range or set are named with the form they must take, and the
module password is never shown. Defaults here are the drivers' defaults.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from drivers.fingerprint.zhiantec.codes import BAUD_RATES, MODELS, PACKET_SIZES


class ZhianTecLinkOptions(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """How to talk to a module: the options the real and the emulated scanner share."""

    baud: Literal[BAUD_RATES] = 57600
    address: Annotated[int, msgspec.Meta(ge=0, le=0xFFFFFFFF)] = 0xFFFFFFFF
    password: Annotated[int, msgspec.Meta(ge=0, le=0xFFFFFFFF, extra={"secret": True})] = 0
    timeout: Annotated[float, msgspec.Meta(gt=0, le=60)] = 1.0
    poll_interval: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.02


class ZhianTecOptions(ZhianTecLinkOptions):
    """``[devices.fingerprint] options`` of the ``zhiantec`` driver."""

    port: str
    #: None: whatever answers; R50x modules name themselves, older ones cannot.
    model: Literal[tuple(MODELS)] | None = None


class EmulatedZhianTecOptions(ZhianTecLinkOptions):
    """``[devices.fingerprint] options`` of the ``zhiantec-emulated`` driver."""

    model: Literal[tuple(MODELS)] = "R307"
    #: Model wire time (10 bit times a byte each way), as benchmarks need.
    pace: bool = False
    #: Data packet size; None: the model's own.
    packet_size: Literal[PACKET_SIZES] | None = None
