"""The shared scoring rule, the connected-region helper, and what every gate promises."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from drivers.types import FingerCapture, Image, ImageFormat, PenSample, SignatureCapture
from station import i18n
from station.quality import (
    FACE_PROBLEMS,
    FINGER_PROBLEMS,
    SIGNATURE_PROBLEMS,
    FaceThresholds,
    FingerThresholds,
    UNFORCEABLE,
    SignatureThresholds,
    check_face,
    check_finger,
    check_signature,
)
from station.quality.regions import close3, open3, regions
from station.quality.result import Check, GateResult, at_least, at_most, combine, unmeasured

ORDER = ("first", "second", "third")


def test_problems_follow_the_gate_order_not_the_check_order() -> None:
    r = combine([at_least("third", 0, 1), at_least("first", 0, 1), at_least("second", 5, 1)], {}, order=ORDER)
    assert (r.passed, r.problems) == (False, ("first", "third"))


def test_more_passed_checks_always_score_higher() -> None:
    barely = combine([at_least("first", 1.0, 1.0), at_most("second", 1.0, 1.0)], {}, order=ORDER)
    nearly = combine([at_least("first", 1e9, 1.0), at_most("second", 1.0001, 1.0)], {}, order=ORDER)
    assert barely.passed and not nearly.passed
    assert barely.score > nearly.score


def test_margin_ranks_attempts_that_pass_the_same_checks() -> None:
    low = combine([at_least("first", 1.1, 1.0)], {}, order=ORDER)
    high = combine([at_least("first", 1.9, 1.0)], {}, order=ORDER)
    assert high.score > low.score and 0.0 <= low.score <= 1.0


def test_unmeasured_checks_lower_the_score_but_are_not_reported() -> None:
    r = combine([at_least("first", 0, 1), unmeasured("second")], {}, order=ORDER)
    assert r.problems == ("first",)
    only_unmeasured = combine([unmeasured("second")], {}, order=ORDER)
    assert (only_unmeasured.passed, only_unmeasured.problems) == (False, ("second",))


def test_an_unknown_problem_id_is_a_bug() -> None:
    with pytest.raises(ValueError, match="not in the gate's order"):
        combine([Check("typo", False, 0.0)], {}, order=ORDER)


def test_gate_results_are_frozen_and_log_safely(caplog: pytest.LogCaptureFixture) -> None:
    r = GateResult(False, 0.25, {"contrast": 12.0}, ("low_contrast",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.passed = True  # type: ignore[misc]
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("finger gate: %r", r)
    assert "low_contrast" in caplog.text and len(repr(r)) < 200


def test_the_gates_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """Biometric data never reaches a log: the gates do not log at all."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)
    grey = rng.integers(150, 230, (96, 96), dtype=np.uint8)
    line = tuple(PenSample(10 * i, 100.0 + 5 * i, 300.0, 1.0, True) for i in range(50))
    with caplog.at_level(logging.DEBUG):
        check_face(Image(rgb.tobytes(), 48, 64, ImageFormat.RGB8), FaceThresholds(), expected_background="red")
        check_face(Image(b"junk", 48, 64, ImageFormat.JPEG), FaceThresholds(), expected_background="blue")
        check_finger(FingerCapture(Image(grey.tobytes(), 96, 96, ImageFormat.GRAY8)), FingerThresholds())
        check_signature(SignatureCapture(line, (line,), Image(b"", 1, 1, ImageFormat.PNG), (2000, 700)),
                        SignatureThresholds())
    assert caplog.records == []


def test_every_problem_id_has_an_operator_message_in_both_languages() -> None:
    for problem in set(FACE_PROBLEMS + FINGER_PROBLEMS + SIGNATURE_PROBLEMS):
        assert set(i18n.MESSAGES[f"q.{problem}"]) >= {"id", "en"}, problem


def test_unforceable_problems_are_known_ids_and_include_no_face() -> None:
    """The workflow's contract: a face photo without a face is never kept as a forced capture."""
    assert "no_face" in UNFORCEABLE and isinstance(UNFORCEABLE, frozenset)
    assert UNFORCEABLE <= set(FACE_PROBLEMS + FINGER_PROBLEMS + SIGNATURE_PROBLEMS)
    # What a retry or an exception can fix by other means stays forceable.
    assert not {"blurred", "off_centre", "wrong_background", "smudged", "no_ridges", "shaky"} & UNFORCEABLE


def test_a_result_is_forceable_unless_it_has_an_unforceable_problem() -> None:
    order = FACE_PROBLEMS
    blurred = combine([at_least("blurred", 1.0, 8.0)], {}, order=order)
    empty = combine([Check("no_face", False, 0.0), unmeasured("blurred")], {}, order=order)
    dark_and_empty = combine([at_least("underexposed", 3.0, 45.0), Check("no_face", False, 0.0)], {}, order=order)
    assert blurred.forceable and not blurred.passed
    assert not empty.forceable and empty.problems == ("no_face",)
    assert not dark_and_empty.forceable and dark_and_empty.problems == ("underexposed", "no_face")
    assert GateResult(True, 1.0, {}, ()).forceable


def test_regions_are_eight_connected_and_largest_first() -> None:
    m = np.zeros((12, 14), bool)
    m[1:5, 1:5] = True  # 16 cells
    m[5, 5] = True  # touches the square diagonally: same region
    m[8:11, 9:13] = True  # 12 cells, separate
    m[0, 13] = True  # a single cell
    found = regions(m)
    assert [r.area for r in found] == [17, 12, 1]
    big = found[0]
    assert (big.top, big.bottom, big.left, big.right) == (1, 5, 1, 5)
    assert big.cx == pytest.approx((16 * 3.0 + 5.5) / 17)
    assert found[1].fill == 1.0 and regions(np.zeros((3, 3), bool)) == []


def test_regions_join_a_u_shape_through_its_bottom() -> None:
    """Two arms that only meet lower down are one region (the union-find, not just row pairs)."""
    m = np.zeros((6, 7), bool)
    m[0:5, 1] = True
    m[0:5, 5] = True
    m[4, 1:6] = True
    assert [r.area for r in regions(m)] == [13]


def test_opening_drops_thin_lines_and_closing_fills_gaps() -> None:
    m = np.zeros((10, 10), bool)
    m[2:7, 2:7] = True
    m[8, :] = True  # a one-cell line
    opened = open3(m)
    assert not opened[8].any() and opened[2:7, 2:7].all()
    holed = m.copy()
    holed[4, 4] = False
    assert close3(holed)[4, 4]
