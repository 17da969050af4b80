import threading

import paho.mqtt.client as mqtt


def test_broker_round_trip_and_restart_keeps_retained(broker):
    got = threading.Event()
    seen: list[bytes] = []

    def on_message(client, userdata, msg):
        seen.append(msg.payload)
        got.set()

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    pub.publish("rekam/test", b"kept", qos=1, retain=True).wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()

    broker.restart()

    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub")
    sub.on_message = on_message
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe("rekam/test", qos=1)
    sub.connect(broker.host, broker.port)
    sub.loop_start()
    try:
        assert got.wait(5), "retained message lost across broker restart"
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert seen == [b"kept"]
