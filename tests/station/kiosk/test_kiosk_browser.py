"""The kiosk in real headless Chromium (Debian's /usr/bin/chromium through Playwright), by touch.

One browser for the module; each test gets its own station, kiosk and page
at 800x480 (the official 7" display) with touch enabled. Screenshots of the
main screens go to $REKAM_KIOSK_SHOTS (default: a tmp dir) and are checked
for being more than a blank page.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from protocol import packet
from protocol.record import EnrollmentRecord
from tests.fixtures.records import SAMPLE_NIK
from tests.station.kiosk.stations import CK, OPERATOR, SUPERVISOR, kiosk_station

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; .ci/run installs it (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    d = Path(os.environ.get("REKAM_KIOSK_SHOTS") or tmp_path_factory.mktemp("kiosk-shots"))
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture
def station(tmp_path):
    with kiosk_station(tmp_path / "st", settings={"station": {"language": "id"}}) as s:
        yield s


@pytest.fixture
def page(browser, station):
    context = browser.new_context(viewport={"width": 800, "height": 480}, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def shoot(pg, shots: Path, name: str) -> None:
    """Save the screen and check it is a real page: many colours, not one flat fill."""
    data = pg.screenshot(path=str(shots / f"{name}.png"))
    img = Image.open(io.BytesIO(data)).convert("RGB")
    assert img.size == (800, 480)
    assert len(img.getcolors(800 * 480) or range(257)) > 16, f"{name} looks blank"
    assert max(ImageStat.Stat(img).stddev) > 20, f"{name} looks blank"


def nothing_cut_off(pg) -> None:
    """At 800x480 no horizontal scroll, and every visible control lies wholly on screen."""
    out = pg.evaluate("""() => {
        const bad = [];
        if (document.documentElement.scrollWidth > innerWidth) bad.push('page scrolls sideways');
        for (const el of document.querySelectorAll('button, a, input, select, canvas, #preview')) {
            const r = el.getBoundingClientRect();
            if (!r.width || !r.height || el.closest('[hidden]')) continue;
            if (r.left < 0 || r.top < 0 || r.right > innerWidth + 0.5 || r.bottom > innerHeight + 0.5)
                bad.push((el.id || el.textContent.trim().slice(0, 20) || el.tagName) + ' ' + JSON.stringify([r.left, r.top, r.right, r.bottom]));
            if (el.matches('button, a.button, input:not([type=radio]), select') && r.height < 40) bad.push('small target ' + (el.id || el.name || el.textContent.trim()));
        }
        return bad;
    }""")
    assert out == [], out


def login(pg, server, who=OPERATOR) -> None:
    pg.goto(server.url + "/login")
    pg.tap(f"button[data-fill='operator_id'][data-value='{who[0]}']")  # the id by touch: no keyboard
    assert pg.input_value("#operator_id") == who[0]
    for digit in who[1]:
        pg.tap(f"button[data-key='{digit}']")
    pg.tap("#login-button")


def tap_and_wait(pg, selector: str, next_selector: str) -> None:
    pg.tap(selector)
    pg.wait_for_selector(next_selector)


def start_enrollment(pg, server, shots=None) -> None:
    login(pg, server)
    pg.wait_for_selector("#new-enrollment")
    tap_and_wait(pg, "#new-enrollment", "#nik")
    for digit in SAMPLE_NIK:
        pg.tap(f"button[data-key='{digit}']")
    if shots:
        shoot(pg, shots, "03-nik")
    tap_and_wait(pg, "#nik-ok", "#confirm-yes")


def test_whole_enrollment_by_touch_in_trainer_mode_ends_sealed_in_the_outbox(page, station, shots):
    rt, kiosk, server, scene = station
    pg = page
    pg.goto(server.url + "/login")
    shoot(pg, shots, "01-login")
    nothing_cut_off(pg)
    login(pg, server)
    pg.wait_for_selector("#new-enrollment")
    shoot(pg, shots, "02-home")
    nothing_cut_off(pg)
    tap_and_wait(pg, "#new-enrollment", "#nik")
    nothing_cut_off(pg)
    for digit in SAMPLE_NIK:
        pg.tap(f"button[data-key='{digit}']")
    shoot(pg, shots, "03-nik")
    tap_and_wait(pg, "#nik-ok", "#confirm-yes")
    assert "perempuan" in pg.inner_text("main") and "1990-12-05" in pg.inner_text("main")
    assert SAMPLE_NIK not in pg.content()  # only the masked NIK is shown
    shoot(pg, shots, "04-confirm")
    nothing_cut_off(pg)
    tap_and_wait(pg, "#confirm-yes", "#capture")
    pg.tap("#t-step-up")  # the trainer: the resident steps up to the camera
    pg.wait_for_function("window.kioskStats.frames >= 3")
    shoot(pg, shots, "05-face")
    nothing_cut_off(pg)
    tap_and_wait(pg, "#capture", "#scan")
    for position in range(1, 11):
        pg.wait_for_selector(f".finger.current[data-position='{position}']")
        if position == 1:
            shoot(pg, shots, "06-fingers")
            nothing_cut_off(pg)
        pg.tap("#t-place")
        pg.tap("#scan")
    pg.wait_for_selector("#pad")
    shoot(pg, shots, "07-signature-waiting")
    nothing_cut_off(pg)
    pg.tap("#t-sign")
    pg.wait_for_selector("#seal", timeout=20000)
    shoot(pg, shots, "08-review")
    nothing_cut_off(pg)
    tap_and_wait(pg, "#seal", "#sealed")
    assert pg.inner_text("#masked-nik") == SAMPLE_NIK[:4] + "*" * 8 + SAMPLE_NIK[12:]
    assert pg.locator(".qr svg").count() == 1
    shoot(pg, shots, "09-receipt")
    nothing_cut_off(pg)
    outcome = kiosk.enrollment.view.outcome
    items = rt.outbox.take_for_sending(10, 10**9)
    assert [i.packet_id for i in items] == [outcome.packet_id]
    record = EnrollmentRecord.from_cbor(packet.open_packet(items[0].payload, rt.sealer.signing_key.public, CK)[1])
    assert record.operator_id == OPERATOR[0] and record.nik == SAMPLE_NIK
    assert record.face.image and all(f.image for f in record.fingers)
    # sealed: the face and the signature are gone from the kiosk's memory and its pages
    assert kiosk.enrollment.view.photo is None and kiosk.enrollment.view.strokes == []
    assert pg.request.get(server.url + "/enroll/photo").status == 404
    pg.goto(server.url + "/outbox")
    assert outcome.packet_id[:8] in pg.inner_text("main")
    shoot(pg, shots, "10-outbox")
    nothing_cut_off(pg)


def test_login_locks_after_repeated_wrong_pins(page, station):
    rt, kiosk, server, _ = station
    for _ in range(rt.config.kiosk.max_failures):
        login(page, server, (OPERATOR[0], "0000"))
        page.wait_for_selector(".error")
    login(page, server, OPERATOR)  # the right PIN, too late
    page.wait_for_selector(".error")
    assert "Terkunci" in page.inner_text(".error")
    assert rt.operators.locked_until(OPERATOR[0]) is not None
    assert kiosk.sessions.current is None


def test_a_photo_without_a_face_is_never_sealed_and_needs_a_supervisor(page, station, shots):
    rt, kiosk, server, _ = station
    pg = page
    start_enrollment(pg, server)
    tap_and_wait(pg, "#confirm-yes", "#capture")
    pg.select_option(".trainer-panel select", "no_face")
    pg.tap("#t-step-up")  # nobody in front of the camera
    for attempt in range(1, rt.config.retries + 1):
        pg.wait_for_selector(f"h1:has-text('percobaan {attempt} dari')")
        if attempt > 1:
            assert "wajah tidak terlihat" in pg.inner_text("#face-problems")
        pg.tap("#capture")
    pg.wait_for_selector("#face-unusable")
    assert "wajah tidak terlihat" in pg.inner_text("#face-unusable")
    assert pg.locator("#capture").count() == 0 and pg.locator("#seal").count() == 0
    shoot(pg, shots, "11-face-exception")
    nothing_cut_off(pg)
    # The operator cannot confirm it; a wrong supervisor PIN is refused.
    pg.check("input[value='not_detected']")
    pg.tap(f"button[data-fill='supervisor_id'][data-value='{SUPERVISOR[0]}']")
    for digit in "9999":
        pg.tap(f"button[data-key='{digit}']")
    pg.tap("#confirm-exception")
    pg.wait_for_function("document.querySelector('.notices') && "
                         "document.querySelector('.notices').innerText.includes('supervisor salah')")
    pg.check("input[value='not_detected']")
    pg.tap(f"button[data-fill='supervisor_id'][data-value='{SUPERVISOR[0]}']")
    for digit in SUPERVISOR[1]:
        pg.tap(f"button[data-key='{digit}']")
    pg.tap("#confirm-exception")
    pg.wait_for_selector("#scan")
    assert rt.outbox.stats().depth == 0  # nothing sealed yet; the fingers come next
    pg.tap("#t-place")
    pg.tap("#scan")
    pg.wait_for_selector(".finger.current[data-position='2']")
    pg.tap("#logout")  # leaving mid-enrollment stores nothing
    pg.wait_for_selector("#login-button")
    assert rt.outbox.stats().depth == 0


def test_unplugging_the_scanner_mid_finger_shows_the_fix(page, station, shots):
    rt, kiosk, server, _ = station
    pg = page
    start_enrollment(pg, server)
    tap_and_wait(pg, "#confirm-yes", "#capture")
    pg.tap("#t-step-up")
    tap_and_wait(pg, "#capture", "#scan")
    pg.tap("#scan")  # the scanner waits for the finger...
    pg.tap("#t-unplug")  # ...and the cable comes out
    pg.wait_for_function("document.querySelector('.notices') && "
                         "/terlepas|tidak tersambung|tidak menjawab/.test(document.querySelector('.notices').innerText)")
    text = pg.inner_text(".notices")
    assert "pemindai sidik jari" in text and ("sambungkan kembali" in text or "periksa kabel" in text)
    shoot(pg, shots, "12-finger-fault")
    nothing_cut_off(pg)
    # The workflow plugs the (emulated) scanner back in; the next try works.
    pg.wait_for_selector("#scan")
    pg.tap("#t-place")
    pg.tap("#scan")
    pg.wait_for_selector(".finger.current[data-position='2']")


def test_the_offline_banner_comes_when_the_broker_stops(browser, tmp_path, broker, shots):
    with kiosk_station(tmp_path / "st", broker, settings={"station": {"language": "id"}}) as (rt, kiosk, server, _):
        context = browser.new_context(viewport={"width": 800, "height": 480}, has_touch=True)
        pg = context.new_page()
        try:
            assert rt.uplink.wait_connected(10)
            login(pg, server)
            pg.wait_for_selector("#new-enrollment")
            pg.wait_for_selector("#offline-banner", state="hidden")
            broker.stop()
            pg.wait_for_selector("#offline-banner", state="visible", timeout=20000)
            assert "OFFLINE" in pg.inner_text("#offline-banner")
            assert "OFFLINE" in pg.inner_text("#home-connection")
            shoot(pg, shots, "13-offline")
            nothing_cut_off(pg)
        finally:
            context.close()


def test_technician_screen_needs_a_technician_pin_and_runs_a_self_test(page, station, shots):
    rt, kiosk, server, _ = station
    pg = page
    pg.goto(server.url + "/technician")
    # only technicians are offered to be chosen by touch; an operator's id typed in is refused
    assert pg.locator("button[data-fill='tech_id']").all_inner_texts() == ["Tono\ntech-1"]
    pg.fill("#tech_id", OPERATOR[0])
    pg.fill("#tech_pin", OPERATOR[1])
    pg.tap("#tech-login")
    pg.wait_for_selector(".error")  # an operator is not a technician
    pg.tap("button[data-fill='tech_id'][data-value='tech-1']")
    pg.fill("#tech_pin", "8642")
    pg.tap("#tech-login")
    pg.wait_for_selector("#self-test")
    assert "zhiantec-emulated" in pg.inner_text("main")
    pg.tap("#self-test")
    pg.wait_for_selector("#selftest")
    assert pg.locator("#selftest li.ok").count() == 4
    shoot(pg, shots, "14-technician")
    nothing_cut_off(pg)


def test_the_layout_holds_at_1280x800(browser, station):
    rt, kiosk, server, _ = station
    context = browser.new_context(viewport={"width": 1280, "height": 800}, has_touch=True)
    pg = context.new_page()
    try:
        login(pg, server)
        pg.wait_for_selector("#new-enrollment")
        width = pg.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280
    finally:
        context.close()

