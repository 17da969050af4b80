"""/metrics in the Prometheus text format, and its counters moving as a real station's packets are stored."""

from __future__ import annotations

import paho.mqtt.client as mqtt
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from controller.service import ControllerService
from controller.web.wiring import DashboardRuntime
from protocol import topics
from tests.controller.web.harness import NIKS, LightStation
from tests.fixtures.controller import make_controller_dir
from tests.fixtures.mqtt import wait_until


def scrape(client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_parse_and_counters_move_when_packets_are_stored(tmp_path, broker):
    ctl = make_controller_dir(tmp_path / "controller", broker, settings={"web": {"enabled": True, "port": 0}})
    store = ctl.store().open()
    service = ControllerService(ctl.config, store, ctl.keys)
    runtime = DashboardRuntime(service)
    service.start()
    runtime.start(serve=False)
    st = LightStation("st-01", tmp_path, broker, ctl).start()
    client = TestClient(runtime.build_app(), base_url="https://testserver")
    try:
        assert wait_until(lambda: store.station("st-01").online, 10)
        before = scrape(client)
        assert before[("rekam_packets_stored_total", ())] == 0
        assert before[("rekam_stations", (("state", "online"),))] == 1
        st.seal(NIKS[:5])
        assert wait_until(lambda: st.drained(), 20)
        junk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="junk")
        junk.connect(broker.host, broker.port)
        junk.loop_start()
        junk.publish(topics.station("st-01", topics.Leaf.PACKETS), b"not a packet", qos=1).wait_for_publish(5)
        junk.loop_stop()
        assert wait_until(lambda: len(store.quarantined()) == 1, 10) and service.wait_idle(10)
        assert wait_until(lambda: store.alarm_records(open_only=True, kind="quarantined"), 10)
        after = scrape(client)
        assert after[("rekam_packets_stored_total", ())] == 5
        assert after[("rekam_packets_refused_total", (("reason", "malformed"),))] == 1
        assert after[("rekam_ingest_batch_seconds_count", ())] >= 1
        assert after[("rekam_ingest_batch_size_sum", ())] == 6
        assert ("rekam_station_outbox_depth", (("station", "st-01"),)) in after
        assert after[("rekam_alarms_open", (("kind", "quarantined"), ("severity", "warning")))] == 1
        assert after[("rekam_outbox_depth_total", ())] == 0
    finally:
        st.stop()
        runtime.stop()
        service.stop()
        store.close()
