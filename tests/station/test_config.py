from pathlib import Path

import pytest

from drivers.types import DeviceKind
from protocol.keys import Suite
from station import config as config_mod
from station.errors import ConfigError


DEVICES = "".join(f'[devices.{k}]\ndriver = "emulated"\n' for k in ("camera", "fingerprint", "signature", "indicators"))


def parse(text: str, devices: bool = True):
    return config_mod.parse(text + ("\n" + DEVICES if devices and "[devices." not in text else ""),
                            base_dir=Path("/etc/rekam"))


def test_example_config_parses_and_says_what_it_configures():
    cfg = parse(config_mod.EXAMPLE)
    assert cfg.station_id == "st-01"
    assert cfg.suite is Suite.MLKEM768_X25519
    assert cfg.mqtt.tls and cfg.mqtt.port == 8883
    assert cfg.devices[DeviceKind.FINGERPRINT].driver == "zhiantec"
    assert cfg.devices[DeviceKind.FINGERPRINT].options["port"] == "/dev/rekam-fingerprint"
    assert cfg.retries == 3


def test_relative_paths_are_relative_to_the_config_file():
    cfg = parse('[station]\nid = "st-02"\ndata_dir = "data"\n')
    assert cfg.data_dir == Path("/etc/rekam/data")
    assert cfg.outbox_path == Path("/etc/rekam/data/outbox.db")


@pytest.mark.parametrize(
    "text, field",
    [
        ('[station]\nid = "ST 01"\n', "station.id"),
        ("[station]\n", "station.id is required"),
        ('[station]\nid = "s"\n[mqtt]\nport = "eighty"\n', "mqtt.port must be an integer 1-65535"),
        ('[station]\nid = "s"\n[mqtt]\nport = 70000\n', "mqtt.port must be an integer 1-65535, got 70000"),
        ('[station]\nid = "s"\nlanguage = "fr"\n', "station.language must be one of en, id, got 'fr'"),
        ('[station]\nid = "s"\n[keys]\nsuite = "rsa"\n', "keys.suite must be one of"),
        ('[station]\nid = "s"\n[mqtt]\ntls = true\n', "mqtt.ca_file, mqtt.cert_file and mqtt.key_file"),
        ('[station]\nid = "s"\n[devices.scanner]\ndriver = "x"\n', "devices has unknown entries ['scanner']"),
        ('[station]\nid = "s"\n[quality]\nretries = 0\n', "quality.retries must be an integer 1-10"),
        ('[station\nid = "s"\n', "not valid TOML"),
    ],
)
def test_errors_name_the_field_and_the_expected_form(text, field):
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert field in str(err.value)


def test_unknown_keys_are_errors_not_silently_ignored():
    with pytest.raises(ConfigError, match=r"mqtt has unknown entries \['prot'\]; expected some of \[.*'port'"):
        parse('[station]\nid = "s"\n[mqtt]\nprot = 1884\n')
    with pytest.raises(ConfigError, match=r"devices.camera has unknown entries \['option'\]"):
        parse('[station]\nid = "s"\n[devices.camera]\ndriver = "emulated"\noption = 1\n')


def test_quality_thresholds_are_checked_at_load():
    with pytest.raises(ConfigError, match=r"quality\.face\.min_sharpness must be a number >= 0, got 'sharp'"):
        parse('[station]\nid = "s"\n[quality.face]\nmin_sharpness = "sharp"\n')


def test_every_device_needs_its_driver_named():
    """Never fall back to an emulator: synthetic fingers would be sealed as a resident's."""
    with pytest.raises(ConfigError, match="devices.camera.driver is required.*picamera2"):
        parse('[station]\nid = "s"\n', devices=False)


def test_missing_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="rekam station init"):
        config_mod.load(tmp_path / "nope.toml")
