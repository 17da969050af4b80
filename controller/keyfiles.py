"""The controller's key files on disk: written atomically, private ones 0600.

A private key that others can read is refused at start: a controller with a
leaked key has to be re-keyed, not quietly run.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from controller.errors import ControllerError, KeyFileError
from protocol.keys import ControllerKeys, ControllerPublicKeys, KeyFormatError


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a key."""
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


def create_keys(private_path: Path, public_path: Path, *, force: bool = False) -> ControllerKeys:
    if private_path.exists() and not force:
        raise KeyFileError(f"{private_path} already exists; refusing to replace the controller's key "
                           "(packets sealed to it could no longer be opened)")
    keys = ControllerKeys.generate()
    write_atomic(private_path, keys.to_pem(), 0o600)
    write_atomic(public_path, keys.public.to_pem(), 0o644)
    return keys


def read_private(path: Path, what: str, missing_hint: str,
                 error: type[ControllerError] = KeyFileError) -> bytes:
    """A private key file's bytes, refusing one that others can read (a leaked key must be replaced)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist ({missing_hint})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(f"{what} {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                    f"fix with: chmod 600 {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


def load_private(path: Path) -> ControllerKeys:
    data = read_private(path, "controller private key", "run: rekam controller init")
    try:
        return ControllerKeys.from_pem(data)
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None


def load_public(path: Path) -> ControllerPublicKeys:
    try:
        return ControllerPublicKeys.from_pem(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"controller public key {path} does not exist") from None
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
