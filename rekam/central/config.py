"""The emulator's TOML (``central.toml`` in its directory), validated whole like every rekam config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from adapters import configfile
from rekam.errors import DemoError


class CentralSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 0  # 0: a free port, written to central.url
    tls: bool = True
    #: Seconds from SENT_FOR_ENROLLMENT to PRINT_READY_RECORD, to PRINTED, to DISTRIBUTED.
    print_ready_after_s: Annotated[float, Meta(ge=0)] = 5.0
    printed_after_s: Annotated[float, Meta(ge=0)] = 5.0
    distributed_after_s: Annotated[float, Meta(ge=0)] = 5.0
    #: Blank e-KTP cards in stock; printing waits when none are left (POST /v1/stock adds some).
    blank_cards: Annotated[int, Meta(ge=0)] = 1000
    #: Match index fingers against every record held (DUPLICATE_RECORD by biometrics).
    biometric: bool = True
    #: Finger quality (FQM QVU) below this is ENROLL_FAILURE_FINGER_UNREADABLE.
    min_finger_quality: Annotated[int, Meta(ge=0, le=100)] = 40
    tick_s: Annotated[float, Meta(gt=0)] = 0.2
    #: Judge received batches (false: only receive and hold them, as the export benchmark does).
    judge: bool = True


class _File(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    central: CentralSettings = CentralSettings()


@dataclass(frozen=True)
class CentralDir:
    path: Path
    settings: CentralSettings

    @property
    def private_key(self) -> Path:
        return self.path / "keys" / "central.key"

    @property
    def public_key(self) -> Path:
        return self.path / "keys" / "central.pub"

    @property
    def trusted_dir(self) -> Path:
        """Controllers' export signing keys (*.pub) whose manifests the centre accepts."""
        return self.path / "trusted"

    @property
    def db(self) -> Path:
        return self.path / "central.db"

    @property
    def batches(self) -> Path:
        return self.path / "batches"

    @property
    def cert(self) -> Path:
        return self.path / "tls" / "central.crt"

    @property
    def cert_key(self) -> Path:
        return self.path / "tls" / "central-tls.key"

    @property
    def url_file(self) -> Path:
        return self.path / "central.url"


def load(path: Path) -> CentralDir:
    conf = path / "central.toml"
    raw = configfile.read_toml(conf, error=DemoError, missing_hint="create it with: rekam central init --dir DIR")
    f = configfile.convert(raw, _File, error=DemoError)
    return CentralDir(path.resolve(), f.central)
