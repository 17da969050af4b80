"""Every `rekam` command, given a bad config, a missing file or an unreachable broker:
one line that says what is wrong, a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

import pytest

from rekam.cli import build_parser, main
from rekam.sandbox import make_controller_dir, make_station_dir
from rekam.brokers import free_port
from tests.fixtures.mqtt import wait_until

#: Positional arguments for the commands that need some (values that pass argparse).
ARGS = {
    "station keygen": ["--station-id", "st-01"],
    "station install-bundle": ["bundle.json"],
    "station operators add": ["op-1"],
    "station operators remove": ["op-1", "--by", "sup-1"],
    "station operators unlock": ["op-1", "--by", "sup-1"],
    "station operators set-pin": ["op-1"],
    "controller station add": ["st-01", "--key", "st-01.pub"],
    "controller station revoke": ["st-01"],
    "controller ca revoke": ["st-01"],
    "controller targets import": ["targets.csv"],
    "controller venue add": ["v-1", "--kind", "school", "--name", "SMA 1", "--kelurahan", "33.72.05.1001",
                             "--date", "2026-12-01", "--people", "40"],
    "controller schedule simulate": ["--targets", "store"],
    "controller venue remove": ["v-1"],
    "controller provision": ["st-01", "--csr", "st.csr", "--signing-key", "st.pub"],
    "controller export history": ["p-1"],
    "controller cmd driver-swap": ["st-01", "--kind", "fingerprint", "--driver", "gt521"],
    "controller user add": ["siti", "--role", "viewer", "--password-stdin"],
    "controller user passwd": ["siti", "--password-stdin"],
    "controller user remove": ["siti"],
}


def leaf_commands() -> list[tuple[str, bool]]:
    """(command, takes --config) for every leaf of the parser."""
    out = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sub in a.choices.items():
                    walk(sub, prefix + [name])
                return
        out.append((" ".join(prefix), any(a.dest == "config" for a in parser._actions)))

    walk(build_parser(), [])
    return out


CONFIGURED = [c for c, has in leaf_commands() if has]


def run(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    err = capsys.readouterr().err
    return rc, err


def assert_one_line(rc: int, err: str, *needles: str) -> None:
    assert rc != 0
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], lines[0]


def test_every_command_with_a_config_is_covered():
    assert len(CONFIGURED) >= 20  # the walk found the commands, not an empty list


@pytest.mark.parametrize("command", [c for c in CONFIGURED if c != "controller init"])  # init makes one
def test_missing_config_file(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, err = run(command.split() + ARGS.get(command, []) + ["--config", str(tmp_path / "nope.toml")], capsys)
    assert_one_line(rc, err, "nope.toml", "does not exist")


@pytest.mark.parametrize("command", CONFIGURED)
def test_bad_config_file(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('[station]\nid = "st-01"\n[mqtt]\nport = "eighty"\n')
    rc, err = run(command.split() + ARGS.get(command, []) + ["--config", str(bad)], capsys)
    assert_one_line(rc, err)
    assert "mqtt.port must be an integer 1-65535, got 'eighty'" in err or "unknown entries ['station']" in err


def test_missing_input_files_name_the_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ctl = make_controller_dir(tmp_path / "controller", "127.0.0.1", 1)
    st = make_station_dir(tmp_path / "station", "127.0.0.1", 1, ctl.keys.public.to_pem())
    cases = [
        (["controller", "targets", "import", "missing.csv", "--config", str(ctl.config_path)], "missing.csv"),
        (["controller", "station", "add", "st-01", "--key", "missing.pub", "--config", str(ctl.config_path)],
         "missing.pub"),
        (["controller", "provision", "st-01", "--csr", "missing.csr", "--signing-key", "missing.pub",
          "--config", str(ctl.config_path)], "missing.csr"),
        (["station", "install-bundle", "missing.json", "--config", str(st.config_path)], "missing.json"),
        (["station", "init", str(tmp_path / "a-file" / "station.toml")], "a-file"),
    ]
    (tmp_path / "a-file").write_text("a file where a directory should be")
    for argv, needle in cases:
        rc, err = run(argv, capsys)
        assert_one_line(rc, err, needle)


@pytest.mark.parametrize("which", ["station run", "controller run"])
def test_an_unreachable_broker_is_waited_for_not_a_crash(which, tmp_path):
    """Programs that live in the field keep retrying; SIGTERM still stops them cleanly."""
    port = free_port()  # nothing listens there
    ctl = make_controller_dir(tmp_path / "controller", "127.0.0.1", port)
    st = make_station_dir(tmp_path / "station", "127.0.0.1", port, ctl.keys.public.to_pem())
    conf = st.config_path if which == "station run" else ctl.config_path
    log = tmp_path / "log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "rekam.cli", *which.split(), "--config", str(conf)],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert wait_until(lambda: b"running" in log.read_bytes() or b"connect" in log.read_bytes(), 20), \
            log.read_text()
        assert proc.poll() is None  # still up, retrying
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in log.read_text()


def test_every_command_and_option_says_what_it_is_for():
    """`--help` that helps: no option or argument of any rekam command without its help text."""
    silent: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: str) -> int:
        n = 0
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    n += walk(sub, f"{path} {name}")
            elif action.dest != "help":
                n += 1
                if not action.help:
                    silent.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
        return n

    assert walk(build_parser(), "rekam") > 150
    assert silent == []
