"""The face gate against synthetic portraits: many good people pass, every bad condition is named.

Portraits are rendered by :mod:`drivers.synthetic.portrait` and encoded as the
emulated camera encodes them (JPEG, quality 90); once, the whole path runs
through the emulated camera from the driver registry. The gate sees bytes only.
Real photographs are in ``test_quality_face_real.py``.
"""

from __future__ import annotations

import io
import math
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from drivers import registry
from drivers.registry import DriverContext
from drivers.scene import Backdrop, FaceCondition, FaceView, Person, Scene
from drivers.synthetic import portrait
from drivers.types import DeviceKind, Image, ImageFormat
from station.errors import StationError
from station.quality import UNFORCEABLE, FaceThresholds, GateResult, check_face, detector, expected_background
from station.quality.face import PROBLEMS

THRESHOLDS = FaceThresholds()
GOOD_PANEL = tuple(
    Person(f"q-face-{i:02d}", sex="F" if i % 2 else "M", birth_year=1948 + 3 * i) for i in range(24)
)
BAD_PANEL = GOOD_PANEL[:10]
#: The problem each bad condition must be reported as, first.
FIRST_PROBLEM = {
    FaceCondition.BLURRED: "blurred",
    FaceCondition.UNDEREXPOSED: "underexposed",
    FaceCondition.OVEREXPOSED: "overexposed",
    FaceCondition.OFF_CENTRE: "off_centre",
    FaceCondition.TOO_FAR: "face_too_small",
    FaceCondition.NO_FACE: "no_face",
    FaceCondition.TWO_FACES: "multiple_faces",
    FaceCondition.WRONG_BACKDROP: "wrong_background",
}


def jpeg(rgb: np.ndarray, quality: int = 90) -> Image:
    buf = io.BytesIO()
    PILImage.fromarray(rgb, "RGB").save(buf, format="JPEG", quality=quality)
    return Image(buf.getvalue(), rgb.shape[1], rgb.shape[0], ImageFormat.JPEG)


def portrait_of(person: Person, condition: FaceCondition, seed: int) -> np.ndarray:
    view = FaceView(person, condition, Backdrop.for_birth_year(person.birth_year))
    return portrait.render(view, capture_seed=seed)


def gate(image: Image, person: Person) -> GateResult:
    return check_face(image, THRESHOLDS, expected_background=expected_background(person.birth_year))


@pytest.fixture(scope="module")
def results() -> dict[FaceCondition, list[GateResult]]:
    out: dict[FaceCondition, list[GateResult]] = {}
    for c, condition in enumerate(FaceCondition):
        panel = GOOD_PANEL if condition is FaceCondition.GOOD else BAD_PANEL
        out[condition] = [gate(jpeg(portrait_of(p, condition, 500 + 50 * c + i)), p) for i, p in enumerate(panel)]
    return out


def test_good_portraits_of_many_people_pass(results) -> None:
    rejected = [(GOOD_PANEL[i].person_id, r.problems, r.measures) for i, r in enumerate(results[FaceCondition.GOOD]) if not r.passed]
    assert rejected == [], f"false rejects {len(rejected)}/{len(GOOD_PANEL)}: {rejected}"
    assert all(r.problems == () for r in results[FaceCondition.GOOD])


@pytest.mark.parametrize("condition", list(FIRST_PROBLEM), ids=lambda c: c.value)
def test_each_bad_condition_fails_with_its_own_problem_first(results, condition: FaceCondition) -> None:
    accepted = [BAD_PANEL[i].person_id for i, r in enumerate(results[condition]) if r.passed]
    assert accepted == [], f"false accepts {len(accepted)}/{len(BAD_PANEL)} for {condition.value}"
    firsts = [r.problems[0] for r in results[condition]]
    assert firsts == [FIRST_PROBLEM[condition]] * len(BAD_PANEL), [r.problems for r in results[condition]]


def test_false_accept_and_reject_counts_over_the_panel(results) -> None:
    false_rejects = sum(not r.passed for r in results[FaceCondition.GOOD])
    false_accepts = sum(r.passed for c, rs in results.items() if c is not FaceCondition.GOOD for r in rs)
    bad_total = sum(len(rs) for c, rs in results.items() if c is not FaceCondition.GOOD)
    assert (false_rejects, false_accepts) == (0, 0), f"FRR {false_rejects}/{len(GOOD_PANEL)}, FAR {false_accepts}/{bad_total}"


def test_a_passing_capture_always_outranks_a_failing_one(results) -> None:
    good = [r.score for r in results[FaceCondition.GOOD]]
    bad = [r.score for c, rs in results.items() if c is not FaceCondition.GOOD for r in rs]
    assert min(good) > max(bad)
    assert all(0.0 <= s <= 1.0 for s in good + bad)


def test_measures_are_plain_finite_numbers_and_problems_known(results) -> None:
    for rs in results.values():
        for r in rs:
            assert all(isinstance(v, float) and math.isfinite(v) for v in r.measures.values()), r.measures
            assert set(r.problems) <= set(PROBLEMS)
            assert r.passed == (r.problems == ())


def test_the_emulated_camera_end_to_end() -> None:
    """Registry camera -> JPEG bytes -> gate: good passes, bad conditions are named."""
    scene = Scene(time_scale=0)
    ani = Person("3372015203900001", sex="F", birth_year=1990)  # even year: blue
    budi = Person("3372011708850002", sex="M", birth_year=1985)  # odd year: red
    camera = registry.create(DeviceKind.CAMERA, "emulated", {"seed": 77}, DriverContext(scene=scene))
    with camera:
        for person in (ani, budi):
            scene.stand(person)
            for _ in range(2):
                result = gate(camera.capture(), person)
                assert result.passed, (person.person_id, result.problems, result.measures)
        for condition, problem in (
            (FaceCondition.TWO_FACES, "multiple_faces"),
            (FaceCondition.BLURRED, "blurred"),
            (FaceCondition.WRONG_BACKDROP, "wrong_background"),
        ):
            scene.stand(ani, condition)
            result = gate(camera.capture(), ani)
            assert result.problems[:1] == (problem,), (condition, result.problems)
        scene.leave_camera()
        assert gate(camera.capture(), ani).problems == ("no_face",)


def test_the_backdrop_rule_follows_the_birth_year() -> None:
    assert [expected_background(y) for y in (1985, 1990, 2001, 2004)] == ["red", "blue", "red", "blue"]
    for year in range(1940, 2010):
        assert expected_background(year) == Backdrop.for_birth_year(year).value


def test_a_correct_portrait_fails_against_the_other_backdrop() -> None:
    person = GOOD_PANEL[3]
    image = jpeg(portrait_of(person, FaceCondition.GOOD, 9))
    other = "blue" if expected_background(person.birth_year) == "red" else "red"
    assert check_face(image, THRESHOLDS, expected_background=other).problems == ("wrong_background",)
    with pytest.raises(ValueError, match="expected_background"):
        check_face(image, THRESHOLDS, expected_background="green")


@pytest.mark.parametrize("data", [b"", b"not a jpeg at all", b"\xff\xd8\xff\xe0" + bytes(64)], ids=["empty", "text", "header"])
def test_bytes_that_are_not_an_image_are_unreadable(data: bytes) -> None:
    result = check_face(Image(data, 480, 640, ImageFormat.JPEG), THRESHOLDS, expected_background="red")
    assert (result.passed, result.problems, result.score) == (False, ("image_unreadable",), 0.0)


def test_a_truncated_jpeg_is_unreadable() -> None:
    person = GOOD_PANEL[0]
    whole = jpeg(portrait_of(person, FaceCondition.GOOD, 3))
    cut = Image(whole.data[: len(whole.data) // 3], 480, 640, ImageFormat.JPEG)
    assert check_face(cut, THRESHOLDS, expected_background="red").problems == ("image_unreadable",)


def test_the_verdict_comes_from_pixels_not_metadata() -> None:
    """The same bytes with different device facts give the same result."""
    person = GOOD_PANEL[5]
    image = jpeg(portrait_of(person, FaceCondition.BLURRED, 4))
    other = Image(image.data, image.width, image.height, image.format,
                  metadata={"condition": "good", "exposure_us": 1, "capture_seed": 0})
    assert gate(image, person) == gate(other, person)


def test_raw_rgb_and_png_are_judged_like_jpeg() -> None:
    person = GOOD_PANEL[7]
    rgb = portrait_of(person, FaceCondition.GOOD, 11)
    raw = Image(rgb.tobytes(), rgb.shape[1], rgb.shape[0], ImageFormat.RGB8)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG")
    png = Image(buf.getvalue(), rgb.shape[1], rgb.shape[0], ImageFormat.PNG)
    assert gate(raw, person).passed and gate(png, person).passed
    dark = portrait_of(person, FaceCondition.UNDEREXPOSED, 11)
    assert gate(Image(dark.tobytes(), 480, 640, ImageFormat.RGB8), person).problems[0] == "underexposed"


def test_other_frame_sizes_are_measured_at_the_same_working_size() -> None:
    person = GOOD_PANEL[2]
    for width, height in ((960, 1280), (300, 400)):
        view = FaceView(person, FaceCondition.GOOD, Backdrop.for_birth_year(person.birth_year))
        result = gate(jpeg(portrait.render(view, width=width, height=height, capture_seed=1)), person)
        assert result.passed, (width, height, result.problems, result.measures)


def test_thresholds_decide_the_verdict() -> None:
    person = GOOD_PANEL[1]
    image = jpeg(portrait_of(person, FaceCondition.GOOD, 21))
    strict = FaceThresholds(min_sharpness=1e6, min_face_width=0.95)
    result = check_face(image, strict, expected_background=expected_background(person.birth_year))
    assert result.problems == ("face_too_small", "blurred")
    assert result.score < gate(image, person).score


# -- the detector: eyes, pose, no face whatever the exposure, threads -----------------------

def test_good_portraits_show_two_level_eyes(results) -> None:
    for r in results[FaceCondition.GOOD]:
        assert r.measures["eyes"] == 1.0 and r.measures["eye_roll"] <= 6.0, r.measures
        assert r.measures["eye_offset"] <= 0.06, r.measures


def test_a_tilted_head_is_not_frontal() -> None:
    """Good portraits turned by 17 degrees fail: mostly as not frontal (eyes found, not level);
    a frontal-face detector may also lose a face turned that far (then: no face)."""
    results = []
    for i, person in enumerate(BAD_PANEL):
        rgb = portrait_of(person, FaceCondition.GOOD, 70 + i)
        turned = np.asarray(PILImage.fromarray(rgb).rotate(17 if i % 2 else -17, PILImage.Resampling.BILINEAR,
                                                           center=(240, 270), fillcolor=tuple(int(v) for v in rgb[4, 4])))
        results.append(gate(jpeg(turned), person))
    assert all(r.problems[:1] in {("not_frontal",), ("no_face",)} for r in results), [r.problems for r in results]
    tilted = [r for r in results if r.problems == ("not_frontal",)]
    assert len(tilted) >= 0.7 * len(results), [r.problems for r in results]
    assert all(r.measures["eye_roll"] > THRESHOLDS.max_eye_roll and r.forceable for r in tilted)


@pytest.mark.parametrize("level", [0, 12, 255], ids=["black", "dark", "white"])
def test_no_face_is_reported_whatever_the_exposure(level: int) -> None:
    """A frame too dark or too bright to see a face in is still a frame without a face: never kept."""
    frame = np.full((640, 480, 3), level, np.uint8)
    result = check_face(jpeg(frame), THRESHOLDS, expected_background="red")
    assert "no_face" in result.problems and not result.passed, result.problems
    assert not result.forceable and "no_face" in UNFORCEABLE


def test_an_empty_room_in_bad_light_is_no_face_not_only_exposure() -> None:
    view = FaceView(None, FaceCondition.NO_FACE, Backdrop.RED)
    dark = (portrait.render(view, capture_seed=5).astype(np.float32) * 0.15).astype(np.uint8)
    result = check_face(jpeg(dark), THRESHOLDS, expected_background="red")
    assert result.problems[:2] == ("underexposed", "no_face"), result.problems


def test_the_gate_is_safe_to_call_from_several_threads() -> None:
    """Each thread gets its own cascades; concurrent calls give the serial answers."""
    images = [(jpeg(portrait_of(p, c, 90 + i)), p) for i, (p, c) in enumerate(
        zip(GOOD_PANEL[:8], [FaceCondition.GOOD, FaceCondition.TWO_FACES, FaceCondition.NO_FACE, FaceCondition.TOO_FAR] * 2))]
    serial = [gate(image, p) for image, p in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(lambda ip: gate(*ip), images)) == serial


def test_missing_cascades_are_a_clear_station_error(monkeypatch, tmp_path) -> None:
    """OpenCV 5 wheels no longer ship the cascades: the gate says so instead of seeing no faces."""
    monkeypatch.setattr(cv2.data, "haarcascades", str(tmp_path) + "/")
    monkeypatch.setattr(detector, "_local", detector._Cascades())
    image = jpeg(portrait_of(GOOD_PANEL[0], FaceCondition.GOOD, 1))
    with pytest.raises(detector.DetectorUnavailable, match="opencv-python-headless 4.x") as caught:
        check_face(image, THRESHOLDS, expected_background="red")
    assert isinstance(caught.value, StationError) and caught.value.reason_id == "station_error"


def test_every_face_measure_has_a_name_in_both_languages_for_the_kiosk():
    from station import i18n

    person = Person("resident-1", "F", 1990)
    result = gate(jpeg(portrait_of(person, FaceCondition.GOOD, 1)), person)
    assert len(result.measures) >= 10
    for name in result.measures:
        assert {"id", "en"} <= set(i18n.KIOSK_MESSAGES[f"measure.{name}"]), name
