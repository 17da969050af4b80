"""Atomic writes and private key files."""

from __future__ import annotations

import os

import pytest

from adapters.files import read_private, read_public, write_atomic


class Refused(Exception):
    pass


def test_write_atomic_replaces_whole_and_sets_the_mode(tmp_path):
    target = tmp_path / "deep" / "key"
    write_atomic(target, b"first", 0o600)
    write_atomic(target, b"second", 0o600)
    assert target.read_bytes() == b"second"
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert [p.name for p in target.parent.iterdir()] == ["key"]  # no temporary file left behind


def test_write_atomic_failure_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "key"
    write_atomic(target, b"old", 0o600)

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, b"new", 0o600)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_read_private_refuses_a_key_others_can_read(tmp_path):
    key = tmp_path / "k"
    write_atomic(key, b"secret", 0o644)
    with pytest.raises(Refused, match=r"readable by others \(mode 644\); fix with: chmod 600"):
        read_private(key, "signing key", "make one", Refused)
    os.chmod(key, 0o600)
    assert read_private(key, "signing key", "make one", Refused) == b"secret"


def test_missing_files_name_the_fix(tmp_path):
    with pytest.raises(Refused, match=r"signing key .*/nope does not exist \(run: rekam station keygen\)"):
        read_private(tmp_path / "nope", "signing key", "run: rekam station keygen", Refused)
    with pytest.raises(Refused, match=r"public key .*/nope does not exist \(install the bundle\)"):
        read_public(tmp_path / "nope", "public key", "install the bundle", Refused)
