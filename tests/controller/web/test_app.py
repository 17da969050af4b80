"""The dashboard's plain requests through Starlette's TestClient: sessions, CSRF, roles, audit, lookups, actions."""

from __future__ import annotations

import pytest

from controller.web import fmt
from protocol import packet, topics
from protocol.keys import SigningKey
from tests.controller.web.conftest import World
from tests.fixtures.records import make_record, sample_niks

NIKS = sample_niks(20)


def send_packet(world: World, sid: str, key: SigningKey, nik: str, seq: int) -> str:
    env = packet.seal(make_record(nik, station_id=sid).to_cbor(), station_id=sid, seq=seq,
                      controller_key=world.ctl.keys.public.keys[0], station_key=key)
    world.mqtt.route(topics.station(sid, topics.Leaf.PACKETS), env.to_bytes(), 1, False)
    assert world.service.wait_idle(10)
    return env.packet_id


def register(world: World, sid: str) -> SigningKey:
    key = SigningKey.generate()
    world.store.add_station(sid, key.public.to_pem(), key.public.kid)
    return key


def post(client, url: str, data: dict | None = None, **kw):
    return client.post(url, data={**(data or {}), "csrf_token": World.token(client)}, **kw)


# -- sessions and login ----------------------------------------------------------------------------
def test_pages_need_a_login_and_the_cookie_is_httponly_secure_strict(world):
    c = world.client()
    r = c.get("/fleet", headers={"accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/fleet"
    assert c.get("/live").status_code == 401
    r = c.post("/login", data={"username": "opa", "password": world.password, "csrf_token": World.token(c),
                               "next": "/alarms"})
    assert r.status_code == 303 and r.headers["location"] == "/alarms"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    assert c.get("/fleet").status_code == 200
    assert [e.action for e in world.store.audit_log(username="opa")] == ["login"]


def test_login_redirect_stays_on_this_site(world):
    c = world.client()
    r = c.post("/login", data={"username": "opa", "password": world.password, "csrf_token": World.token(c),
                               "next": "//evil.example/x"})
    assert r.headers["location"] == "/fleet"


def test_lockout_after_repeated_failures_even_with_the_right_password(world):
    c = world.client()
    for i in range(3):  # lockout_failures = 3 in this world; the third failure locks
        r = c.post("/login", data={"username": "opa", "password": "wrong password!", "csrf_token": World.token(c)})
        assert r.status_code == 401 and ("dikunci" if i == 2 else "salah") in r.text
    r = c.post("/login", data={"username": "opa", "password": world.password, "csrf_token": World.token(c)})
    assert r.status_code == 401 and "dikunci" in r.text
    assert c.get("/fleet", headers={"accept": "text/html"}).status_code == 303
    actions = [e.action for e in world.store.audit_log(username="opa")]
    assert actions.count("login.failed") == 2 and actions.count("login.locked") == 2
    world.clock.t += 15 * 60 + 1  # the window has passed
    r = c.post("/login", data={"username": "opa", "password": world.password, "csrf_token": World.token(c)})
    assert r.status_code == 303


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(world):
    c = world.client()
    r1 = c.post("/login", data={"username": "nobody", "password": "whatever-123", "csrf_token": World.token(c)})
    r2 = c.post("/login", data={"username": "opa", "password": "whatever-123", "csrf_token": World.token(c)})
    assert r1.status_code == r2.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in r1.text and "Nama pengguna atau kata sandi salah." in r2.text


def test_password_change_ends_the_users_other_sessions(world):
    opa = world.client("opa")
    admin = world.client("ana")
    assert opa.get("/fleet").status_code == 200
    r = post(admin, "/users/opa/password", {"password": "another long password"})
    assert r.status_code == 303
    assert opa.get("/fleet", headers={"accept": "text/html"}).status_code == 303
    assert any(e.action == "user.passwd" and e.target == "opa" for e in world.store.audit_log(username="ana"))


def test_logout_ends_the_session_and_any_copy_of_its_cookie(world):
    c = world.client("vic")
    copied = dict(c.cookies)  # what someone who saw the cookie kept (it is signed, not stored)
    assert c.get("/fleet", headers={"accept": "text/html"}).status_code == 200
    assert post(c, "/logout").status_code == 303
    assert c.get("/fleet", headers={"accept": "text/html"}).status_code == 303
    c.cookies.clear()
    c.cookies.update(copied)
    assert c.get("/fleet", headers={"accept": "text/html"}).status_code == 303


# -- CSRF --------------------------------------------------------------------------------------------
def test_state_changes_without_the_token_or_from_another_site_are_refused(world):
    register(world, "st-01")
    c = world.client("opa")
    token = World.token(c)
    data = {"station": "st-01", "name": "self_test"}
    assert c.post("/commands", data=data).status_code == 403
    assert c.post("/commands", data={**data, "csrf_token": token + "x"}).status_code == 403
    assert c.post("/commands", data={**data, "csrf_token": token},
                  headers={"origin": "https://evil.example"}).status_code == 403
    assert c.post("/commands", data={**data, "csrf_token": token},
                  headers={"sec-fetch-site": "cross-site"}).status_code == 403
    assert world.store.commands() == []
    r = c.post("/commands", data={**data, "csrf_token": token},
               headers={"origin": "https://testserver", "sec-fetch-site": "same-origin"})
    assert r.status_code == 303
    assert len(world.store.commands()) == 1


def test_the_header_token_works_for_scripts(world):
    register(world, "st-01")
    c = world.client("opa")
    r = c.post("/commands", data={"station": "st-01", "name": "config_reload"},
               headers={"x-csrf-token": World.token(c)})
    assert r.status_code == 303


# -- roles -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("user, url, data, allowed", [
    ("vic", "/commands", {"station": "st-01", "name": "self_test"}, False),
    ("opa", "/commands", {"station": "st-01", "name": "self_test"}, True),
    ("vic", "/alarms/1/ack", {}, False),
    ("opa", "/quarantine/1/delete", {}, False),
    ("opa", "/users", {"username": "x1", "role": "viewer", "password": "long enough pw"}, False),
    ("ana", "/users", {"username": "x1", "role": "viewer", "password": "long enough pw"}, True),
    ("vic", "/schedule/venues", {}, False),
    ("vic", "/reviews/resolve", {}, False),
])
def test_roles(world, user, url, data, allowed):
    register(world, "st-01")
    c = world.client(user)
    r = post(c, url, data)
    assert (r.status_code != 403) is allowed, (r.status_code, r.text[:200])
    if not allowed:
        assert "Anda tidak berhak" in r.text


def test_viewer_pages_offer_no_actions(world):
    c = world.client("vic")
    assert 'id="command-form"' not in c.get("/commands").text
    assert c.get("/users").status_code == 403 and c.get("/audit").status_code == 403


def test_viewer_cannot_send_a_command_and_nothing_is_recorded(world):
    register(world, "st-01")
    c = world.client("vic")
    assert post(c, "/commands", {"station": "st-01", "name": "self_test"}).status_code == 403
    assert world.store.commands() == []


# -- packets, NIK, quarantine, reviews -------------------------------------------------------------------
def test_packet_by_nik_is_masked_audited_and_found_by_id_and_sequence(world):
    key = register(world, "st-01")
    pid = send_packet(world, "st-01", key, NIKS[0], 1)
    c = world.client("vic")
    r = post(c, "/packets/nik", {"nik": NIKS[0]})
    assert r.status_code == 200 and pid in r.text and fmt.mask_nik(NIKS[0]) in r.text
    assert NIKS[0] not in r.text
    [entry] = [e for e in world.store.audit_log() if e.action == "packet.lookup_nik"]
    assert entry.username == "vic" and entry.target == fmt.mask_nik(NIKS[0]) and NIKS[0] not in entry.detail
    assert c.get(f"/packets?id={pid}").headers["location"] == f"/packets/{pid}"
    assert pid in c.get("/packets?station=st-01&seq=1").text
    detail = c.get(f"/packets/{pid}").text
    assert NIKS[0] not in detail and fmt.mask_nik(NIKS[0]) in detail


def test_a_wrong_nik_is_refused_without_echoing_it(world):
    c = world.client("vic")
    bad = "3372054512909999"[:15] + "x"
    r = post(c, "/packets/nik", {"nik": "3372059913900001"})  # day 99 does not exist
    assert r.status_code == 200 and "3372059913900001" not in r.text and 'role="alert"' in r.text
    assert bad not in r.text


def test_only_an_admin_reveals_a_nik_and_it_is_audited(world):
    key = register(world, "st-01")
    pid = send_packet(world, "st-01", key, NIKS[1], 1)
    assert post(world.client("opa"), f"/packets/{pid}/reveal").status_code == 403
    r = post(world.client("ana"), f"/packets/{pid}/reveal")
    assert r.status_code == 200 and NIKS[1] in r.text
    [entry] = [e for e in world.store.audit_log() if e.action == "nik.reveal"]
    assert entry.username == "ana" and entry.target == pid


def test_quarantined_packet_requeued_once_the_controller_can_open_it_and_its_timeline(world):
    # Sealed to a controller key this controller did not load (a key restored from an old backup, say):
    # the signature verifies, so the whole packet is kept and the station is told it was rejected.
    from protocol.keys import ControllerKeys

    key = register(world, "st-09")
    newer = ControllerKeys.generate()
    env = packet.seal(make_record(NIKS[2], station_id="st-09").to_cbor(), station_id="st-09", seq=1,
                      controller_key=newer.public.keys[0], station_key=key)
    world.mqtt.route(topics.station("st-09", topics.Leaf.PACKETS), env.to_bytes(), 1, False)
    assert world.service.wait_idle(10)
    [entry] = world.store.quarantine_rows()
    assert entry.payload_kept and world.store.packet_info(env.packet_id) is None
    world.service.ingest.keys = ControllerKeys(world.ctl.keys.keys + newer.keys)  # the right key is back
    world.clock.t += 1
    c = world.client("opa")
    assert post(c, f"/quarantine/{entry.id}/requeue").status_code == 303
    assert world.store.packet_info(env.packet_id) is not None
    assert world.store.quarantine_row(entry.id).handled == "requeued"
    assert world.store.quarantined_payload(entry.id) is None  # stored now: the quarantine's copy goes
    page = c.get(f"/packets/{env.packet_id}").text
    kinds = [e.kind for e in world.store.packet_timeline(env.packet_id)]
    assert kinds == ["sealed", "quarantined", "stored", "requeued"]
    assert entry.reason_id in page and 'data-kind="requeued"' in page
    assert any(e.action == "quarantine.requeue" for e in world.store.audit_log(username="opa"))


def test_an_unverified_packet_is_not_requeued_from_its_first_bytes(world):
    # From a station not (yet) registered: only a prefix is kept, and the station, never acknowledged,
    # still holds the packet; a requeue must say so rather than feed the prefix back in.
    key = SigningKey.generate()
    env = packet.seal(make_record(NIKS[3], station_id="st-08").to_cbor(), station_id="st-08", seq=1,
                      controller_key=world.ctl.keys.public.keys[0], station_key=key)
    world.mqtt.route(topics.station("st-08", topics.Leaf.PACKETS), env.to_bytes(), 1, False)
    assert world.service.wait_idle(10)
    [entry] = world.store.quarantine_rows()
    assert entry.reason_id == "unknown_station" and not entry.payload_kept
    world.store.add_station("st-08", key.public.to_pem(), key.public.kid)
    r = post(world.client("opa"), f"/quarantine/{entry.id}/requeue", follow_redirects=True)
    assert "only its first bytes were kept" in r.text or "hanya byte awalnya" in r.text
    assert world.store.quarantine_row(entry.id).handled is None
    assert world.store.packet_info(env.packet_id) is None


def test_delete_from_quarantine_is_admin_only_drops_the_bytes_and_is_logged(world):
    world.mqtt.route(topics.station("st-01", topics.Leaf.PACKETS), b"\xff" * 40, 1, False)
    assert world.service.wait_idle(10)
    [entry] = world.store.quarantine_rows()
    assert world.store.quarantined_payload(entry.id) is not None
    assert post(world.client("opa"), f"/quarantine/{entry.id}/delete").status_code == 403
    assert post(world.client("ana"), f"/quarantine/{entry.id}/delete", {"reason": "junk"}).status_code == 303
    assert world.store.quarantined_payload(entry.id) is None
    assert world.store.quarantine_row(entry.id).handled == "deleted"
    [log] = [e for e in world.store.audit_log() if e.action == "quarantine.delete"]
    assert log.username == "ana" and "junk" in log.detail


def test_review_side_by_side_and_resolved_with_decision_and_reason(world):
    k1, k2 = register(world, "st-01"), register(world, "st-02")
    first = send_packet(world, "st-01", k1, NIKS[3], 1)
    second = send_packet(world, "st-02", k2, NIKS[3], 1)
    c = world.client("opa")
    page = c.get("/reviews").text
    assert first in page and second in page and NIKS[3] not in page and fmt.mask_nik(NIKS[3]) in page
    r = post(c, "/reviews/resolve", {"packet_id": second, "other_packet_id": first, "decision": "keep_earlier",
                                     "reason": ""})
    assert r.status_code == 303 and world.store.review_pairs()  # no reason: not resolved
    post(c, "/reviews/resolve", {"packet_id": second, "other_packet_id": first, "decision": "keep_earlier",
                                 "reason": "same person came twice"})
    assert world.store.review_pairs() == []
    [pair] = world.store.review_pairs(unresolved_only=False)
    assert (pair.decision, pair.resolved_by, pair.reason) == ("keep_earlier", "opa", "same person came twice")
    assert any(e.action == "review.resolve" for e in world.store.audit_log())


def test_no_view_reads_a_sealed_envelope(world, monkeypatch):
    key = register(world, "st-01")
    pid = send_packet(world, "st-01", key, NIKS[4], 1)
    send_packet(world, "st-01", key, NIKS[4], 2)
    envelope = world.store.packet_envelope(pid)

    def forbidden(*a, **kw):
        raise AssertionError("a view read a sealed envelope")

    monkeypatch.setattr(type(world.store), "packet_envelope", forbidden)
    c = world.client("ana")
    for url in ["/fleet", "/stations/st-01", "/alarms", "/progress", "/schedule", f"/packets/{pid}",
                "/packets?station=st-01&seq=1", "/quarantine", "/reviews", "/commands", "/audit", "/metrics"]:
        r = c.get(url)
        assert r.status_code == 200, url
        assert envelope[40:72] not in r.content and b"\xff\xd8" not in r.content, url


# -- schedule, language, alarms ------------------------------------------------------------------------------
def test_venues_added_edited_and_removed_from_the_schedule_page(world):
    c = world.client("opa")
    venue = {"venue_id": "sma1", "kind": "school", "name": "SMA 1", "address": "Jl. Monginsidi", "date": "2030-01-07",
             "kelurahan_code": "33.72.05.1001", "expected_people": "120"}
    assert post(c, "/schedule/venues", venue).status_code == 303
    assert world.store.venue("sma1")["expected_people"] == 120
    post(c, "/schedule/venues/sma1", {**venue, "expected_people": "150", "start": "07:30", "end": "12:00"})
    assert world.store.venue("sma1")["expected_people"] == 150
    assert (world.store.venue("sma1")["start"], world.store.venue("sma1")["end"]) == ("07:30", "12:00")
    assert 'value="07:30"' in c.get("/schedule?edit=sma1").text  # an edit starts from the hours it has
    r = post(c, "/schedule/venues", {**venue, "venue_id": "tiny", "expected_people": "5"})
    assert world.store.venue("tiny") is None
    assert "20" in c.get(r.headers["location"]).text  # the venue rule's reason is shown
    post(c, "/schedule/venues/sma1/delete")
    assert world.store.venue("sma1") is None
    assert [e.action for e in world.store.audit_log(action="venue")] == ["venue.remove", "venue.edit", "venue.add"]


def test_language_switch(world):
    c = world.client("vic")
    assert "Armada" in c.get("/fleet").text
    post(c, "/lang", {"lang": "en", "next": "/fleet"})
    page = c.get("/fleet").text
    assert "Fleet" in page and "Armada" not in page


def test_acknowledge_records_the_user_once(world):
    register(world, "st-01")
    alarm_id = world.store.open_alarm_full("st-01", "disk_low", "warning", {"free_mib": 12}, "st-01 has 12 MiB")
    c = world.client("opa")
    assert "Ruang disk st-01 tinggal 12 MiB" in c.get("/alarms").text
    post(c, f"/alarms/{alarm_id}/ack", {"note": "disk diganti"})
    a = world.store.alarm(alarm_id)
    assert (a.acked_by, a.ack_note) == ("opa", "disk diganti")
    post(world.client("ana"), f"/alarms/{alarm_id}/ack")
    assert world.store.alarm(alarm_id).acked_by == "opa"


def test_station_telemetry_json_and_unknown_pages(world):
    register(world, "st-01")
    c = world.client("vic")
    r = c.get("/stations/st-01/telemetry.json?range=1h&metric=outbox")
    assert r.status_code == 200 and r.json()["x"] == []
    assert c.get("/stations/st-01/telemetry.json?metric=nope").status_code == 400
    assert c.get("/stations/nope", headers={"accept": "text/html"}).status_code == 404
    assert c.get("/packets/nope").status_code == 404


def test_the_fleet_shows_how_old_the_oldest_waiting_packet_is(world):
    """The station says when its oldest waiting packet was sealed; before, only "not empty since" (in memory)."""
    import time

    from protocol import messages, topics

    register(world, "st-01")
    world.store.record_state("st-01", True, 1, "0.1.0", {}, time.time())
    sealed_at = time.time() - 2 * 3600
    tel = messages.Telemetry("st-01", time.time(), 1, 5, 10_000, 0, 10**9, 3, outbox_oldest_at=sealed_at)
    world.service.apply_fleet_batch([(topics.station("st-01", topics.Leaf.TELEMETRY), messages.encode(tel),
                                      time.time())])
    page = world.client("vic").get("/fleet").text
    assert "tertua" in page and f'data-ts="{sealed_at}"' in page


def test_progress_shows_the_hand_off_and_who_must_come_back_with_the_nik_masked(world):
    from controller.store.handoff import BatchRow

    key = register(world, "st-01")
    ids = [send_packet(world, "st-01", key, NIKS[i], i + 1) for i in range(3)]
    world.store.record_batch(BatchRow("b-1", 1.0, "ana", 3, "/x/b-1.batch", "/x/b-1.manifest.json", "00"),
                             [(p, "h") for p in ids], actor="ana")
    world.store.batch_accepted("b-1", actor="ana")
    world.store.apply_statuses([(ids[0], "PRINTED", "", 10.0), (ids[1], "SENT_FOR_ENROLLMENT", "", 10.0),
                                (ids[2], "ENROLL_FAILURE_FINGER_UNREADABLE", "finger 3", 10.0)])
    page = world.client("vic").get("/progress").text
    assert 'id="funnel"' in page and "Penyerahan ke sistem pusat" in page
    assert "sidik jari tidak terbaca" in page and ids[2][:8] in page
    assert NIKS[2] not in page and fmt.mask_nik(NIKS[2]) in page


def test_reviews_the_hand_off_raised_are_shown_and_resolved_with_a_reason(world):
    key = register(world, "st-01")
    a, b = (send_packet(world, "st-01", key, NIKS[i], i + 1) for i in (5, 6))
    assert world.store.raise_handoff_review("biometric_duplicate", b, "8 fingers match an earlier record under "
                                            "another NIK", other_packet_id=a, score=0.91)
    [review] = world.store.handoff_reviews()
    c = world.client("opa")
    page = c.get("/reviews").text
    assert f'id="handoff-{review.id}"' in page and "sidik jari cocok dengan NIK lain" in page
    assert NIKS[6] not in page and fmt.mask_nik(NIKS[6]) in page
    url = f"/reviews/handoff/{review.id}/resolve"
    assert post(c, url, {"decision": "same_person"}).status_code == 303  # no reason: refused
    assert world.store.handoff_reviews() == [review]
    assert post(c, url, {"decision": "same_person", "reason": "same face, typo in the NIK"}).status_code == 303
    assert world.store.handoff_reviews() == []
    assert post(c, url, {"decision": "same_person", "reason": "again"}).status_code == 303  # already resolved
    [entry] = world.store.audit_log(action="review.handoff")
    assert "same_person: same face, typo in the NIK" in entry.detail
    assert post(world.client("vic"), url, {"decision": "escalated", "reason": "x"}).status_code == 403  # a viewer


def test_the_audit_log_also_shows_the_hand_off_trail(world):
    """Exports and purges (from the worker or the CLI) were audited in a table the page did not show."""
    from controller.store.handoff import BatchRow

    key = register(world, "st-01")
    pid = send_packet(world, "st-01", key, NIKS[9], 1)
    world.store.record_batch(BatchRow("b-9", 1.0, "ana", 1, "/x/b-9.batch", "/x/b-9.manifest.json", "00"),
                             [(pid, "h")], actor="controller:controller-1")
    page = world.client("ana").get("/audit").text
    assert "export.sealed" in page and "b-9" in page and "controller:controller-1" in page
    filtered = world.client("ana").get("/audit?action=user.").text
    assert "b-9" not in filtered


def test_the_plan_figures_page_shows_the_fit_bound_baselines_and_coverage_of_the_active_plan(world):
    import re

    from controller.scheduler import KelurahanTarget, simulate
    from controller.scheduler.service import Planning
    from controller.web.views.model import FIGURES
    from protocol import wib
    from protocol.regions import kelurahan_of_city

    c = world.client("vic")
    assert "Belum ada rencana" in c.get("/schedule/model/figures").text
    planning = Planning(world.store, world.ctl.config.schedule)
    planning.load_targets([KelurahanTarget(p.code, p.name, p.kecamatan_code, p.kecamatan, 9000, 9000 - left)
                           for p, left in zip(kelurahan_of_city("33.72"), [1500, 900, 600, 400, 300, 150])])
    plan = planning.make_plan("backlog", ["st-01", "st-02", "st-03"], wib.today())
    page = c.get("/schedule/model").text
    assert 'data-src="/schedule/model/figures"' in page and "Angka rencana" in page
    figures = c.get("/schedule/model/figures").text
    days = int(re.search(r'id="fig-days">(\d+)<', figures).group(1))
    bound = int(re.search(r'id="fig-bound">(\d+)<', figures).group(1))
    assert days == simulate(plan).days and 0 < bound <= days
    assert "blok 3 hari" in figures and "terbaik" in figures  # the rotation variants, the best one marked
    assert "kelurahan terlayani sampai 25 Okt" in figures  # Solo's facts beside the model
    assert "Sisa untuk layanan kantor" in figures and "reach" in figures
    assert planning.active_id() in FIGURES._done  # worked out once, kept for the next viewer


def test_a_replan_shows_how_many_station_days_it_changed(world):
    world.store.save_plan("plan-a", "backlog", {}, [], reason="S01 offline", day="2030-01-07", stations=2,
                          station_days=9)
    row = world.client("vic").get("/schedule/plans").text
    assert "Hari-stasiun berubah" in row and '<td class="num">9</td>' in row
