"""The station's key files: its private signing key and the controller's public keys.

The signing key must be readable by the station user only (0600); a key that
others can read is refused, because whoever reads it can forge this station's
packets. The station never holds a key that opens packets.
"""

from __future__ import annotations

from pathlib import Path

from adapters.files import load_key
from protocol.keys import ControllerPublicKeys, SigningKey
from station.errors import KeyFileError


def load_signing_key(path: Path) -> SigningKey:
    return load_key(path, SigningKey.from_pem, what="station signing key", private=True,
                    missing_hint="make it with: rekam station keygen", error=KeyFileError)


def load_controller_public(path: Path) -> ControllerPublicKeys:
    return load_key(path, ControllerPublicKeys.from_pem, what="controller public key", private=False,
                    missing_hint="install the provisioning bundle", error=KeyFileError)
