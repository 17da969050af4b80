"""The station's key files: its private signing key and the controller's public keys.

The signing key must be readable by the station user only (0600); a key that
others can read is refused, because whoever reads it can forge this station's
packets. The station never holds a key that opens packets.
"""

from __future__ import annotations

from pathlib import Path

from adapters.files import read_private, read_public
from protocol.keys import ControllerPublicKeys, KeyFormatError, SigningKey
from station.errors import KeyFileError


def load_signing_key(path: Path) -> SigningKey:
    data = read_private(path, "station signing key", "make it with: rekam station keygen", KeyFileError)
    try:
        return SigningKey.from_pem(data)
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_controller_public(path: Path) -> ControllerPublicKeys:
    data = read_public(path, "controller public key", "install the provisioning bundle", KeyFileError)
    try:
        return ControllerPublicKeys.from_pem(data)
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
