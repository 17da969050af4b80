"""The station's key files: its private signing key and the controller's public keys.

The signing key must be readable by the station user only (0600); a key
that others can read is refused, because whoever reads it can forge this
station's packets. The station never holds a key that opens packets.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from protocol.keys import ControllerPublicKeys, KeyFormatError, SigningKey
from station.errors import KeyFileError


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Temporary file, fsync, rename, fsync the directory: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:  # f.write loops until every byte is written
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_private(path: Path, what: str, missing_hint: str) -> bytes:
    """A private key file's bytes, refusing one that others can read: whoever reads it can act as this station."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path} does not exist ({missing_hint})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{what} {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                           f"fix with: chmod 600 {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None


def load_signing_key(path: Path) -> SigningKey:
    data = read_private(path, "station signing key", "make it with: rekam station keygen")
    try:
        return SigningKey.from_pem(data)
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_controller_public(path: Path) -> ControllerPublicKeys:
    try:
        return ControllerPublicKeys.from_pem(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"controller public key {path} does not exist (install the provisioning bundle)") from None
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None
