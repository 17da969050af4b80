"""The controller's key files: its HPKE key pair, written atomically, the private half 0600.

A private key that others can read is refused at start: a controller with a
leaked key has to be re-keyed, not quietly run.
"""

from __future__ import annotations

from pathlib import Path

from adapters.files import load_key, write_atomic
from controller.errors import KeyFileError
from protocol.keys import ControllerKeys, ControllerPublicKeys


def create_keys(private_path: Path, public_path: Path, *, force: bool = False) -> ControllerKeys:
    if private_path.exists() and not force:
        raise KeyFileError(f"{private_path} already exists; refusing to replace the controller's key "
                           "(packets sealed to it could no longer be opened)")
    keys = ControllerKeys.generate()
    write_atomic(private_path, keys.to_pem(), 0o600)
    write_atomic(public_path, keys.public.to_pem(), 0o644)
    return keys


def load_private(path: Path) -> ControllerKeys:
    return load_key(path, ControllerKeys.from_pem, what="controller private key", private=True,
                    missing_hint="run: rekam controller init", error=KeyFileError)


def load_public(path: Path) -> ControllerPublicKeys:
    return load_key(path, ControllerPublicKeys.from_pem, what="controller public key", private=False,
                    missing_hint="run: rekam controller init", error=KeyFileError)
