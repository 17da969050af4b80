"""The paho Link against a real Mosquitto: what only a real broker can show."""

from __future__ import annotations

import threading

from adapters.link import LinkSettings, PahoLink


def test_subscriptions_made_before_open_are_in_place_before_the_first_connection_says_so(broker):
    """The controller says "online" from on_connect; stations then resend into its share group.
    Subscribed after open(), that group could still be missing when the first packets come."""
    got = threading.Event()
    link = PahoLink(LinkSettings(broker.host, broker.port, "early-bird", clean_session=True, reconnect_min_s=0.1))
    link.subscribe([("rekam-test/hello", 1)])
    link.on_message = lambda m: got.set() if m.topic == "rekam-test/hello" and not m.retain else None
    link.on_connect = lambda n: link.publish("rekam-test/hello", b"first thing", qos=1)  # not retained
    link.open()
    try:
        assert got.wait(10), "the first message after CONNACK was published before the subscription"
    finally:
        link.close()
