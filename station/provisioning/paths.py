"""Where the station's keys and certificates go, and writing them with the right owner."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from adapters.files import write_atomic
from station.config import StationConfig
from station.errors import KeyFileError


@dataclass(frozen=True)
class StationPaths:
    signing_key: Path
    signing_pub: Path
    mqtt_key: Path
    csr: Path
    ca_cert: Path
    client_cert: Path
    controller_pub: Path
    owner_dir: Path  # new files take this directory's owner when we run as root

    @classmethod
    def from_config(cls, cfg: StationConfig) -> "StationPaths":
        tls = cfg.data_dir / "tls"
        mqtt_key = cfg.mqtt.key_file or tls / "station.key"
        return cls(
            signing_key=cfg.signing_key,
            signing_pub=cfg.signing_key.with_suffix(".pub"),
            mqtt_key=mqtt_key,
            csr=mqtt_key.with_suffix(".csr"),
            ca_cert=cfg.mqtt.ca_file or tls / "ca.crt",
            client_cert=cfg.mqtt.cert_file or tls / "station.crt",
            controller_pub=cfg.controller_public_key,
            owner_dir=cfg.data_dir,
        )

    @classmethod
    def in_dir(cls, d: Path) -> "StationPaths":
        d = d.resolve()
        return cls(d / "station-signing.key", d / "station-signing.pub", d / "station.key", d / "station.csr",
                   d / "ca.crt", d / "station.crt", d / "controller.pub", d)


class Files:
    """Writes files and makes directories, giving them the data directory's owner when root."""

    def __init__(self, owner_dir: Path) -> None:
        self.owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            probe = owner_dir
            while not probe.exists() and probe != probe.parent:
                probe = probe.parent
            st = probe.stat()
            if (st.st_uid, st.st_gid) != (0, 0):
                self.owner = (st.st_uid, st.st_gid)

    def mkdir(self, d: Path, mode: int = 0o700) -> None:
        if d.exists():
            return
        self.mkdir(d.parent, 0o755)
        try:
            d.mkdir(mode=mode)
            os.chmod(d, mode)  # umask must not widen or narrow what we asked for
        except OSError as exc:
            raise KeyFileError(f"cannot create directory {d}: {exc.strerror} (run as root, or as the station user)") \
                from None
        self._chown(d)

    def write(self, path: Path, data: bytes, mode: int) -> None:
        self.mkdir(path.parent)
        try:
            write_atomic(path, data, mode)
        except OSError as exc:
            raise KeyFileError(f"cannot write {path}: {exc.strerror} (run as root, or as the station user)") from None
        self._chown(path)

    def _chown(self, path: Path) -> None:
        if self.owner is not None:
            os.chown(path, *self.owner)


