"""The drivers' one exception family."""

from __future__ import annotations

import pytest

from drivers import errors
from drivers.errors import BadAddress, BadChecksum, DeviceError, DeviceProtocolError, WrongPassword


@pytest.mark.parametrize("leaf", [BadChecksum, BadAddress, WrongPassword])
def test_byte_protocol_errors_share_one_device_root(leaf: type[DeviceError]) -> None:
    err = leaf("garbled", device="fingerprint zhiantec on /dev/pts/3")
    assert isinstance(err, DeviceProtocolError) and isinstance(err, DeviceError)
    assert str(err) == "fingerprint zhiantec on /dev/pts/3: garbled"


def test_the_device_protocol_error_is_not_named_like_the_protocol_root() -> None:
    # protocol.ProtocolError is the station/controller language's root; a device's
    # byte protocol must not shadow that name in drivers.errors.
    assert not hasattr(errors, "ProtocolError")
    assert DeviceProtocolError.reason_id == "protocol_error"  # the operator's translation key stays
