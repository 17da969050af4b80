"""Files that must never be half-written, and private keys that must stay private.

``write_atomic`` goes through a temporary file in the same directory, fsyncs
it, renames it over the target and fsyncs the directory, so a crash leaves the
old file or the new one, never a mix. ``read_private`` refuses a key file that
group or others can read: whoever reads it can act as its owner, so such a key
has to be replaced, not quietly used.

Both raise the caller's error class (a StationError, a ControllerError), so
OSError is mapped here once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

T = TypeVar("T")


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Temporary file, fsync, rename, fsync the directory: never half a file."""
    path = Path(path)
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


def read_private(path: Path, what: str, missing_hint: str, error: type[Exception]) -> bytes:
    """A private key file's bytes; ``error`` names the file and the fix when it cannot be used."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist ({missing_hint})") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(f"{what} {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                    f"fix with: chmod 600 {path}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


def read_public(path: Path, what: str, missing_hint: str, error: type[Exception]) -> bytes:
    """A public file's bytes, with the same one-line errors as :func:`read_private`."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist ({missing_hint})") from None
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None


def load_key(path: Path, parse: Callable[[bytes], T], *, what: str, missing_hint: str,
             error: type[Exception], private: bool) -> T:
    """A key file read (privately, if ``private``) and parsed; ``error`` names the file and what is wrong."""
    data = (read_private if private else read_public)(path, what, missing_hint, error)
    try:
        return parse(data)
    except (ValueError, TypeError) as exc:  # every key parser's "not this kind of key"
        raise error(f"{what} {path} is unusable: {exc}") from None


def ec_private_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    """An unencrypted PEM EC private key (the TLS client and server keys)."""
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"must be an EC key, got {type(key).__name__}")
    return key
