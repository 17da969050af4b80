"""The controller's key files on disk: written atomically, private ones 0600.

A private key that others can read is refused at start: a controller with a
leaked key has to be re-keyed, not quietly run.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from controller.errors import KeyFileError
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


def load_private(path: Path) -> ControllerKeys:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyFileError(f"controller private key {path} does not exist (run: rekam controller init)") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"controller private key {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                           f"fix with: chmod 600 {path}")
    try:
        return ControllerKeys.from_pem(path.read_bytes())
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read {path}: {exc.strerror}") from None


def load_public(path: Path) -> ControllerPublicKeys:
    try:
        return ControllerPublicKeys.from_pem(path.read_bytes())
    except FileNotFoundError:
        raise KeyFileError(f"controller public key {path} does not exist") from None
    except KeyFormatError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
