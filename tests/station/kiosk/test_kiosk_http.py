"""The kiosk's pages as plain request/response (Starlette's TestClient): the guard, login, NIK errors."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from station.kiosk.app import build_app
from tests.station.kiosk.stations import OPERATOR, SUPERVISOR, kiosk_station

LOCAL = ("127.0.0.1", 50000)


@pytest.fixture
def kiosk(tmp_path):
    with kiosk_station(tmp_path / "st", settings={"station": {"language": "id"}}, serve=False) as (rt, k, _, __):
        yield rt, k


def client(k, address=LOCAL) -> TestClient:
    return TestClient(build_app(k), base_url="http://127.0.0.1:8780", client=address)


def test_requests_from_anywhere_but_the_station_itself_are_refused(kiosk):
    _, k = kiosk
    with client(k, ("10.1.2.3", 40000)) as c:
        r = c.get("/login")
        assert r.status_code == 403 and "own screen" in r.text
    with client(k, ("127.0.0.2", 40000)) as c:
        assert c.get("/login").status_code == 403
    with client(k) as c:
        assert c.get("/login").status_code == 200
        assert c.get("/login", headers={"host": "evil.example:8780"}).status_code == 403  # DNS rebinding
        r = c.post("/login", data={"operator_id": "op-1", "pin": OPERATOR[1]},
                   headers={"origin": "http://127.0.0.1:9999"})
        assert r.status_code == 403 and "cross-site" in r.text


def test_other_clients_can_be_allowed_by_config(tmp_path):
    with kiosk_station(tmp_path / "st", serve=False, settings={"kiosk": {"allow": ["10.1.2.3"]}}) as (_, k, __, ___):
        with client(k, ("10.1.2.3", 40000)) as c:
            assert c.get("/login").status_code == 200


def test_every_page_but_login_needs_a_logged_in_operator(kiosk):
    _, k = kiosk
    with client(k) as c:
        for path in ("/home", "/enroll", "/outbox", "/operators"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/login", path
        r = c.post("/login", data={"operator_id": OPERATOR[0], "pin": "0000"})
        assert r.status_code == 401 and "PIN salah" in r.text
        r = c.post("/login", data={"operator_id": OPERATOR[0], "pin": OPERATOR[1]}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/home"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        home = c.get("/home")
        assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
        assert "Kel. Kadipiro" in home.text


@pytest.mark.parametrize("typed, words", [("12345", "NIK harus 16 digit"),
                                          ("9999054512900001", "kode wilayah (6 digit pertama) tidak dikenal"),
                                          ("3372059912900001", "tanggal lahir dalam NIK tidak mungkin"),
                                          ("3372054512900000", "nomor urut (4 digit terakhir) dimulai dari 0001")])
def test_every_nik_error_is_said_in_words_and_the_nik_stays_out_of_urls(kiosk, typed, words):
    _, k = kiosk
    with client(k) as c:
        c.post("/login", data={"operator_id": OPERATOR[0], "pin": OPERATOR[1]})
        r = c.post("/enroll/start")
        assert "/enroll" in str(r.url) and typed not in str(r.url)
        serial = k.enrollment.view.question.serial
        r = c.post("/enroll/answer", data={"serial": str(serial), "nik": typed, "action": "ok"})
        assert r.status_code == 422 and words in r.text
        assert typed not in str(r.url)
        assert k.enrollment.view.question.kind == "nik"  # still asking: a typo does not end the enrollment
        c.post("/enroll/cancel")
    assert k.enrollment.view.outcome is None


def test_the_live_channel_gives_faces_and_strokes_only_to_the_logged_in_operators_page(kiosk):
    """Before, any local page (no login) received the preview frames and the pen strokes."""
    _, k = kiosk
    with client(k) as c:
        with c.websocket_connect("ws://127.0.0.1:8780/live") as stranger:
            k.hub.publish_frame(b"\xff\xd8FACE")
            k.hub.publish("stroke", points=[[1, 2]])
            k.hub.publish("status", online=True)
            assert stranger.receive_json()["kind"] == "status"  # the first thing it gets: no frame, no stroke
        c.post("/login", data={"operator_id": OPERATOR[0], "pin": OPERATOR[1]})
        with c.websocket_connect("ws://127.0.0.1:8780/live") as page:
            k.hub.publish_frame(b"\xff\xd8FACE")
            assert page.receive_bytes()[8:] == b"\xff\xd8FACE"
            k.hub.publish("stroke", points=[[1, 2]])
            assert page.receive_json()["kind"] == "stroke"
            c.post("/logout")
            k.hub.publish("stroke", points=[[3, 4]])
            k.hub.publish("status", online=False)
            after = []
            while not after or after[-1]["kind"] != "status":
                after.append(page.receive_json())
            assert "stroke" not in [m["kind"] for m in after]  # logged out: no more strokes


def test_the_outbox_screen_shows_what_the_centre_said_in_words(kiosk):
    import time

    from protocol import packet
    from protocol.messages import CentralStatuses, PacketStatus
    from tests.station.kiosk.stations import CK

    rt, k = kiosk
    ids = []
    for _ in range(2):
        env = packet.seal(b"record", station_id=rt.config.station_id, seq=rt.outbox.next_seq(),
                          controller_key=CK.public.keys[0], station_key=rt.sealer.signing_key)
        rt.outbox.add(env)
        ids.append(env.packet_id)
    now = time.time()
    rt.central_statuses.apply(CentralStatuses(rt.config.station_id, [
        PacketStatus(ids[0], "PRINT_READY_RECORD", now), PacketStatus(ids[1], "ENROLL_FAILURE_BLURRED_FACE", now)]))
    with client(k) as c:
        c.post("/login", data={"operator_id": OPERATOR[0], "pin": OPERATOR[1]})
        page = c.get("/outbox").text
    assert "Siap cetak" in page and "Ditolak pusat (blurred_face)" in page


def test_the_operators_screen_names_roles_in_the_operators_language(kiosk):
    _, k = kiosk
    with client(k) as c:
        c.post("/login", data={"operator_id": SUPERVISOR[0], "pin": SUPERVISOR[1]})
        page = c.get("/operators").text
    assert "petugas" in page and "teknisi" in page and ">technician<" not in page
