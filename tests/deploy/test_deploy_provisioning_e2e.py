"""Provisioning end to end, through the commands a technician types, then real traffic over TLS.

ca init -> station keygen -> controller provision -> station install-bundle;
then the station's real uplink, configured only by the installed bundle,
sends a sealed packet to the real controller service through the deployed
Mosquitto config, and the controller's ack empties the station's outbox.
"""

from __future__ import annotations

import json
import stat

from controller.provisioning import ca as ca_mod
from controller.service import ControllerService
from controller.store import Store
from protocol import packet
from rekam.brokers import free_port
from station import config as station_config
from station.keyfiles import load_controller_public, load_signing_key
from station.outbox import Outbox
from station.uplink import Uplink
from tests.deploy.rekam_commands import rekam
from tests.deploy.tls_fleet import MOUNT, make_tls_controller, start_broker
from tests.fixtures.mqtt import wait_until
from tests.fixtures.records import make_record, sample_niks


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_provisioned_station_sends_a_packet_and_gets_its_ack_over_tls(tmp_path, capsys):
    port, controller_port = free_port(), free_port()  # the stations' listener, the controllers'
    ctl, paths = make_tls_controller(tmp_path / "controller", controller_port, ca_init=False)
    assert rekam("controller", "ca", "init", "--config", ctl.config_path, "--broker-host", "broker.rekam.test") == 0
    assert _mode(paths.ca_key) == 0o600 and _mode(paths.controller_key) == 0o600
    ca_fp = ca_mod.fingerprint(ca_mod.load_cert(paths.ca_cert))

    conf = tmp_path / "station" / "station.toml"
    conf.parent.mkdir()
    conf.write_text(station_config.EXAMPLE.replace("/var/lib/rekam", str(tmp_path / "station" / "data")))
    assert rekam("station", "keygen", "--config", conf, "--station-id", "st-07") == 0
    before = station_config.load(conf)
    assert before.station_id == "st-07"
    data = tmp_path / "station" / "data"
    csr, signing_pub = data / "tls" / "station.csr", data / "keys" / "station-signing.pub"
    assert _mode(data / "keys" / "station-signing.key") == 0o600 and _mode(data / "tls" / "station.key") == 0o600

    bundle = tmp_path / "carried" / "st-07.rekam-bundle.json"
    assert rekam("controller", "provision", "st-07", "--config", ctl.config_path, "--csr", csr,
                 "--signing-key", signing_pub, "--broker", f"127.0.0.1:{port}", "--out", bundle) == 0
    body = json.loads(bundle.read_text())
    assert "PRIVATE" not in bundle.read_text()  # public material only
    assert body["station_id"] == "st-07"
    assert body["broker"] == {"host": "127.0.0.1", "port": port, "mount_point": MOUNT}

    assert rekam("station", "install-bundle", bundle, "--config", conf, "--expect-ca-fingerprint", ca_fp) == 0
    assert ca_fp in capsys.readouterr().out
    cfg = station_config.load(conf)
    assert (cfg.mqtt.host, cfg.mqtt.port, cfg.mqtt.tls, cfg.mqtt.mount_point) == ("127.0.0.1", port, True, MOUNT)
    assert cfg.mqtt.cert_file == data / "tls" / "station.crt" and cfg.mqtt.ca_file == data / "tls" / "ca.crt"
    assert "# Must not exceed the broker's max_packet_size" in conf.read_text()  # comments kept

    broker = start_broker(tmp_path / "broker", port, controller_port, paths)
    store = Store(ctl.config.store_path).open()
    service = ControllerService(ctl.config, store, ctl.keys).start()
    outbox = Outbox(tmp_path / "station" / "outbox.db").open()
    uplink = Uplink(cfg.station_id, cfg.mqtt, outbox).start()
    try:
        assert store.station("st-07").key_id == load_signing_key(cfg.signing_key).public.kid
        assert uplink.wait_connected(15), "the provisioned station could not connect with its certificate"
        env = packet.seal(make_record(sample_niks(1)[0], station_id="st-07").to_cbor(), station_id="st-07",
                          seq=outbox.next_seq(),
                          controller_key=load_controller_public(cfg.controller_public_key).for_suite(cfg.suite),
                          station_key=load_signing_key(cfg.signing_key))
        outbox.add(env)
        uplink.wake()
        # The controller takes packets only through $share/controllers/st/...; the ack empties the outbox.
        assert wait_until(lambda: store.packet_ids("st-07") == [env.packet_id], 20)
        assert wait_until(lambda: outbox.stats().depth == 0, 20), "the controller's ack did not reach the station"
        assert service.counts.stored == 1
    finally:
        uplink.stop()
        outbox.close()
        service.stop()
        store.close()
        broker.close()
