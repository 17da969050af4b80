"""The signature gate against synthetic signings: good ones pass, shaky and short ones are named.

Signings come from :func:`drivers.synthetic.signature.trajectory` mapped
through a Topaz pad's calibration (raw counts, as the pad quantises them),
and end to end through the emulated Topaz pad from the driver registry,
whose timestamps are bunched by the serial line at ``time_scale=0``.
"""

from __future__ import annotations

import math

import pytest

from drivers import registry
from drivers.registry import DriverContext
from drivers.scene import Person, Scene, SignatureCondition
from drivers.signature.calibration import KNOWN_MODELS, Calibration
from drivers.signature.render import render_strokes
from drivers.signature.topaz import split_strokes
from drivers.synthetic.signature import trajectory
from drivers.types import DeviceKind, PenSample, SignatureCapture
from station.quality import GateResult, SignatureThresholds, check_signature
from station.quality.signature import PROBLEMS

pytestmark = pytest.mark.timeout(120)

THRESHOLDS = SignatureThresholds()
GOOD_PANEL = tuple(Person(f"q-sign-{i:02d}", sex="F" if i % 2 else "M") for i in range(40))
BAD_PANEL = GOOD_PANEL[:20]
FIRST_PROBLEM = {SignatureCondition.SHAKY: "shaky", SignatureCondition.TOO_SHORT: "too_short"}


def capture_from_samples(samples: list[PenSample], extent: tuple[int, int]) -> SignatureCapture:
    strokes = split_strokes(samples)
    # The gate reads samples, not the picture: a small, cheap rendering will do.
    image = render_strokes(strokes, extent, max_width_px=200, supersample=1)
    return SignatureCapture(tuple(samples), strokes, image, extent)


def signing(person: Person, condition: SignatureCondition, seed: int, model: str = "T-LBK462",
            rate_hz: float = 120.0) -> SignatureCapture:
    """What the pad driver would make of this signing: calibrated, quantised, cut into strokes."""
    cal: Calibration = KNOWN_MODELS[model].calibration
    samples = []
    for p in trajectory(person, condition, capture_seed=seed, rate_hz=rate_hz, aspect=cal.width / cal.height):
        if not p.in_proximity:
            continue
        x, y = cal.to_logical(*cal.normalised_to_raw(p.x, p.y))
        samples.append(PenSample(round(p.t_s * 1000), x, y, 1.0 if p.pen_down else 0.0, p.pen_down))
    return capture_from_samples(samples, cal.extent)


@pytest.fixture(scope="module")
def results() -> dict[SignatureCondition, list[GateResult]]:
    out = {}
    for c, condition in enumerate(SignatureCondition):
        panel = GOOD_PANEL if condition is SignatureCondition.GOOD else BAD_PANEL
        out[condition] = [check_signature(signing(p, condition, 10 * c + i), THRESHOLDS) for i, p in enumerate(panel)]
    return out


def test_good_signatures_of_many_people_pass(results) -> None:
    rejected = [(GOOD_PANEL[i].person_id, r.problems, r.measures) for i, r in enumerate(results[SignatureCondition.GOOD])
                if not r.passed]
    assert rejected == [], f"false rejects {len(rejected)}/{len(GOOD_PANEL)}: {rejected}"


@pytest.mark.parametrize("condition", list(FIRST_PROBLEM), ids=lambda c: c.value)
def test_each_bad_signing_fails_with_its_own_problem_first(results, condition: SignatureCondition) -> None:
    rs = results[condition]
    assert sum(r.passed for r in rs) == 0, f"false accepts for {condition.value}"
    assert [r.problems[0] for r in rs] == [FIRST_PROBLEM[condition]] * len(rs), [r.problems for r in rs]


def test_false_accept_and_reject_counts_over_the_panel(results) -> None:
    false_rejects = sum(not r.passed for r in results[SignatureCondition.GOOD])
    bad = [r for c, rs in results.items() if c is not SignatureCondition.GOOD for r in rs]
    assert (false_rejects, sum(r.passed for r in bad)) == (0, 0)


def test_a_passing_signature_always_outranks_a_failing_one(results) -> None:
    good = [r.score for r in results[SignatureCondition.GOOD]]
    bad = [r.score for c, rs in results.items() if c is not SignatureCondition.GOOD for r in rs]
    assert min(good) > max(bad)


def test_measures_are_plain_finite_numbers_and_problems_known(results) -> None:
    for rs in results.values():
        for r in rs:
            assert all(isinstance(v, float) and math.isfinite(v) for v in r.measures.values()), r.measures
            assert set(r.problems) <= set(PROBLEMS) and r.passed == (r.problems == ())


def test_a_straight_line_is_too_simple() -> None:
    """Long enough, enough points, but nothing a signature has: one straight stroke."""
    samples = [PenSample(8 * i, 200.0 + 6.0 * i, 350.0, 1.0, True) for i in range(240)]
    result = check_signature(capture_from_samples(samples, (2000, 700)), THRESHOLDS)
    assert result.problems == ("too_simple",), result.measures


def test_nothing_signed_fails_every_size_check() -> None:
    result = check_signature(capture_from_samples([PenSample(0, 10.0, 10.0, 0.0, False)], (2000, 700)), THRESHOLDS)
    assert result.problems == ("too_short", "too_few_points", "too_simple")
    assert result.score < 0.5


def test_another_pad_and_report_rate_are_judged_alike() -> None:
    """A 4x3 pad at 100 reports a second: measures are relative to the pad and per sample."""
    for i, person in enumerate(GOOD_PANEL[:6]):
        assert check_signature(signing(person, SignatureCondition.GOOD, i, "T-LBK755", 100.0), THRESHOLDS).passed
        shaky = check_signature(signing(person, SignatureCondition.SHAKY, i, "T-LBK755", 100.0), THRESHOLDS)
        assert shaky.problems[:1] == ("shaky",), shaky.measures


def test_thresholds_decide_the_verdict() -> None:
    capture = signing(GOOD_PANEL[0], SignatureCondition.GOOD, 1)
    assert check_signature(capture, THRESHOLDS).passed
    strict = SignatureThresholds(min_points=100_000, max_jitter=0.0)
    assert check_signature(capture, strict).problems == ("too_few_points", "shaky")


def test_the_emulated_topaz_pad_end_to_end() -> None:
    """Registry pad -> 5-byte reports on a pty -> calibrated samples and strokes -> gate."""
    scene = Scene(time_scale=0)
    resident = Person("3372015505900003", sex="F", birth_year=1990)
    with registry.create(DeviceKind.SIGNATURE, "topaz-emulated", {}, DriverContext(scene=scene)) as pad:
        verdicts = {}
        for condition in (SignatureCondition.GOOD, SignatureCondition.SHAKY, SignatureCondition.TOO_SHORT,
                          SignatureCondition.GOOD):
            scene.sign(resident, condition)
            verdicts.setdefault(condition, []).append(check_signature(pad.capture(timeout=5.0, idle_end=0.3), THRESHOLDS))
    assert [r.passed for r in verdicts[SignatureCondition.GOOD]] == [True, True], verdicts
    assert verdicts[SignatureCondition.SHAKY][0].problems[:1] == ("shaky",)
    assert verdicts[SignatureCondition.TOO_SHORT][0].problems[:1] == ("too_short",)
