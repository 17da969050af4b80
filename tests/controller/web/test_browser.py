"""The dashboard in real headless Chromium against a controller on a real Mosquitto with light stations.

One browser and one controller for the module. Each test logs its own user
in through the login form, as an operator would.
"""

from __future__ import annotations

import re

import paho.mqtt.client as mqtt
import pytest
from PIL import Image, ImageStat
from playwright.sync_api import expect

from controller.web import fmt
from protocol import topics
from tests.controller.web.conftest import SCREENSHOTS, login
from tests.controller.web.harness import NIKS, PASSWORD, LiveController
from tests.fixtures.mqtt import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    lc = LiveController(tmp_path_factory.mktemp("live"), stations=3)
    try:
        assert wait_until(lambda: all(s.online for s in lc.store.stations()), 15), "stations never came online"
        yield lc
    finally:
        lc.close()


@pytest.fixture
def page_for(browser, live):
    contexts = []

    def make(user: str):
        ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="id-ID")
        contexts.append(ctx)
        page = ctx.new_page()
        login(page, live.url, user, PASSWORD)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def test_offline_station_alarm_appears_live_and_ack_records_the_user(live, page_for):
    page = page_for("opa")
    page.goto(live.url + "/alarms")
    page.locator("body[data-live='open']").wait_for(timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    assert page.locator("#open-alarms tr[data-station='st-02'][data-kind='offline']").count() == 0

    live.stations[1].go_offline()  # the broker publishes st-02's will; it is assigned today

    row = page.locator("#open-alarms tr[data-station='st-02'][data-kind='offline']")
    row.wait_for(timeout=15_000)
    assert page.evaluate("window.__notReloaded") is True, "the alarm must arrive over the live channel"
    assert "st-02 offline" in row.inner_text()  # Bahasa Indonesia: "st-02 offline selama ... saat bertugas"
    assert "saat bertugas" in row.inner_text()
    badge = page.locator("#alarm-badge")
    assert int(badge.inner_text()) >= 1

    row.locator("input[name=note]").fill("tim lapangan sudah ditelepon")
    row.locator("button").click()
    page.wait_for_load_state()
    acked = page.locator("#open-alarms tr[data-station='st-02'][data-kind='offline'] .acked-by")
    acked.wait_for(timeout=10_000)
    assert acked.inner_text() == "opa"
    [alarm] = live.store.alarm_records(open_only=True, station_id="st-02", kind="offline")
    assert alarm.acked_by == "opa" and alarm.ack_note == "tim lapangan sudah ditelepon"
    assert any(e.action == "alarm.ack" and e.username == "opa" for e in live.store.audit_log())


def test_command_round_trip_shows_the_reply(live, page_for):
    page = page_for("opa")
    page.goto(live.url + "/commands")
    page.check("input[name=station][value='st-01']")
    page.check("input[name=station][value='st-03']")
    page.select_option("#cmd-name", "self_test")
    page.click("#command-form button:has-text('Kirim')")
    page.wait_for_url(re.compile(r"/commands\?batch="))
    for sid in ("st-01", "st-03"):
        cell = page.locator(f"#command-list tr:has(a:text-is('{sid}')) td.reply")
        cell.filter(has_text="ZhianTec 0x1234").wait_for(timeout=15_000)
    batch = page.url.split("batch=")[1]
    records = live.store.commands(batch_id=batch)
    assert {r.station_id for r in records} == {"st-01", "st-03"}
    assert all(r.status == "replied" and r.ok for r in records)
    assert any(c.name.value == "self_test" for c in live.stations[0].commands)


def test_packet_found_by_nik_with_its_timeline(live, page_for):
    st = live.stations[0]
    nik = NIKS[7]
    [pid] = st.seal([nik])
    assert wait_until(lambda: live.store.packet_info(pid) is not None, 20)
    page = page_for("vic")
    page.goto(live.url + "/packets")
    page.fill("#pn", nik)
    page.click("form[action='/packets/nik'] button")
    results = page.locator("#packet-results")
    results.wait_for()
    assert results.locator("td.nik").inner_text() == fmt.mask_nik(nik)
    assert nik not in page.content(), "the NIK is shown masked only"
    results.locator(f"a:text-is('{pid}')").click()
    page.locator("#timeline").wait_for()
    kinds = page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert kinds == ["sealed", "stored"]
    info = live.store.packet_info(pid)
    assert info.station_id == "st-01" and fmt.wib(info.received_at) in page.locator("#timeline").inner_text()
    assert page.locator("button:has-text('NIK lengkap')").count() == 0  # a viewer cannot reveal it


def test_viewer_cannot_send_commands(live, page_for):
    page = page_for("vic")
    page.goto(live.url + "/commands")
    assert page.locator("#command-form").count() == 0
    assert "Pengamat tidak dapat mengirim perintah" in page.inner_text("main")
    before = len(live.store.commands())
    status = page.evaluate("""async () => {
        const token = document.querySelector("meta[name=csrf-token]").content;
        const r = await fetch("/commands", {method: "POST", headers: {"X-CSRF-Token": token,
            "Content-Type": "application/x-www-form-urlencoded"}, body: "station=st-01&name=self_test"});
        return r.status; }""")
    assert status == 403
    assert len(live.store.commands()) == before


def test_state_change_without_csrf_token_is_refused(live, page_for):
    page = page_for("opa")
    page.goto(live.url + "/fleet")
    before = len(live.store.commands())
    without, wrong, with_token = page.evaluate("""async () => {
        const token = document.querySelector("meta[name=csrf-token]").content;
        const post = (headers) => fetch("/commands", {method: "POST", redirect: "manual",
            headers: Object.assign({"Content-Type": "application/x-www-form-urlencoded"}, headers),
            body: "station=st-01&name=config_reload"}).then(r => r.status);
        return [await post({}), await post({"X-CSRF-Token": "x" + token}), await post({"X-CSRF-Token": token})]; }""")
    assert (without, wrong) == (403, 403)
    assert with_token in (0, 303)  # an opaque redirect: the command was taken
    assert len(live.store.commands()) == before + 1


def test_fleet_row_updates_live_when_a_station_changes(live, page_for):
    page = page_for("vic")
    page.goto(live.url + "/fleet")
    page.locator("body[data-live='open']").wait_for(timeout=10_000)
    page.evaluate("window.__notReloaded = true")
    live.stations[2].temperature = 77.5
    page.locator("#row-st-03").filter(has_text="77.5 °C").wait_for(timeout=10_000)
    assert page.evaluate("window.__notReloaded") is True


VIEWS = ["/fleet", "/stations/st-01?range=1h", "/alarms", "/progress", "/schedule", "/schedule?view=kelurahan",
         "/schedule/model", "/packets", "/quarantine", "/reviews", "/commands", "/users", "/audit"]


def test_every_view_screenshot_at_1366x768_is_not_blank(live, page_for, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Something to show on the reviews and quarantine pages: one resident recorded at two stations,
    # and a packet no controller can read.
    first, again = live.stations[0].seal([NIKS[50]])[0], live.stations[2].seal([NIKS[50]])[0]
    junk = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="junk")
    junk.connect(live.broker.host, live.broker.port)
    junk.loop_start()
    junk.publish(topics.station("st-03", topics.Leaf.PACKETS), b"\x00 not a sealed packet", qos=1).wait_for_publish(5)
    junk.loop_stop()
    assert wait_until(lambda: live.store.review_pairs() and live.store.quarantine_rows(), 20)
    assert {first, again} <= {p for pair in live.store.review_pairs() for p in (pair.packet_id, pair.other_packet_id)}
    # ...and the hand-off: a batch the centre took, its statuses, and a review it raised
    from controller.store.handoff import BatchRow

    live.store.record_batch(BatchRow("b-shot", 1.0, "ana", 2, "/x/b.batch", "/x/b.manifest.json", "00"),
                            [(first, "h"), (again, "h")], actor="ana")
    live.store.batch_accepted("b-shot", actor="ana")
    live.store.apply_statuses([(first, "PRINTED", "", 10.0), (again, "ENROLL_FAILURE_FINGER_UNREADABLE", "", 10.0)])
    live.store.raise_handoff_review("central_failure", again, "ENROLL_FAILURE_FINGER_UNREADABLE finger 3")
    page = page_for("ana")
    for path in VIEWS:
        page.goto(live.url + path)
        page.wait_for_load_state("networkidle")
        if page.locator("[data-load]").count():  # slow figures follow the page
            page.locator("[data-load] table").first.wait_for(timeout=30_000)
        if page.locator(".chart[data-src]").count():
            expect(page.locator(".chart[data-src]:not([data-drawn])")).to_have_count(0, timeout=10_000)
            assert page.locator(".chart[data-drawn='error']").count() == 0
        name = path.strip("/").replace("/", "_").replace("?", "_").replace("=", "-").replace("&", "_") or "root"
        file = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(file))
        _assert_not_blank(file, path)
    # a secondary link reads dark on light, like a secondary button (it was dark text on the accent blue)
    page.goto(live.url + "/schedule")
    colours = page.eval_on_selector("a.button.secondary",
                                    "a => [getComputedStyle(a).backgroundColor, getComputedStyle(a).color]")
    assert colours == ["rgb(230, 234, 239)", page.eval_on_selector("body", "b => getComputedStyle(b).color")]
    # the login page, as someone not logged in sees it
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    anon = ctx.new_page()
    anon.goto(live.url + "/fleet")
    assert "/login" in anon.url
    anon.screenshot(path=str(SCREENSHOTS / "login.png"))
    _assert_not_blank(SCREENSHOTS / "login.png", "/login")
    ctx.close()


def _assert_not_blank(file, what: str) -> None:
    img = Image.open(file).convert("RGB")
    assert img.size == (1366, 768), (what, img.size)
    grey = img.convert("L")
    dark = sum(grey.histogram()[:200]) / (img.size[0] * img.size[1])
    colours = len(img.getcolors(maxcolors=1 << 16) or range(1 << 16))
    assert dark > 0.01 and colours > 20 and ImageStat.Stat(grey).stddev[0] > 10, f"{what} looks blank: {file}"
