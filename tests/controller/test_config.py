"""controller.toml: validated whole at start, errors that name the field, the form and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import config as config_mod
from controller.errors import ConfigError


def parse(text: str) -> config_mod.ControllerConfig:
    return config_mod.from_mapping(__import__("tomllib").loads(text), base_dir=Path("/etc/rekam"))


def test_example_parses_with_every_path_absolute():
    cfg = parse(config_mod.EXAMPLE)
    assert cfg.controller_id == "controller-1"
    assert cfg.store_path == Path("/etc/rekam/controller.db")
    assert cfg.private_key == Path("/etc/rekam/keys/controller.key")
    assert cfg.fleet.disk_low_bytes == 500 * 2**20
    assert cfg.ingest.batch_size == 32 and cfg.mqtt.share_group == "controllers"


@pytest.mark.parametrize("text, message", [
    ('[mqtt]\nport = 0\n', "mqtt.port must be an integer 1-65535, got 0"),
    ('[mqtt]\nport = "x"\n', "mqtt.port must be an integer 1-65535, got 'x'"),
    ('[ingest]\nworkers = 100\n', "ingest.workers must be an integer 1-64, got 100"),
    ('[fleet]\ncheck_interval_s = 0\n', "fleet.check_interval_s must be a number >= 0.05, got 0"),
    ('[fleet]\nofline_alarm_s = 5\n', "fleet has unknown entries ['ofline_alarm_s']"),
    ('[mqtt]\ntls = true\n', "mqtt.ca_file, mqtt.cert_file and mqtt.key_file are all required"),
    ('[controller]\nid = "Controller 1"\n', "controller.id must be lower-case letters"),
    ('[mqtt]\nshare_group = "a/b"\n', "mqtt.share_group must be a string matching ^[a-z0-9_-]{1,64}$, got 'a/b'"),
    ('[[ingest]]\n', "ingest must be a table"),
    ('[export]\ncentral_url = "http://centre.example"\n',
     "export.central_url must be an https:// address (or \"\"), got 'http://centre.example'"),
])
def test_errors_name_the_field_the_form_and_the_value(text, message):
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert message in str(err.value)


def test_missing_and_broken_files_say_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="rekam controller init"):
        config_mod.load(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("[mqtt\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(tmp_path / "bad.toml")
