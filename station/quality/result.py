"""What every quality gate returns, and how a gate turns its checks into one.

Owns :class:`GateResult` and the scoring rule the three gates share:

* ``passed`` is true exactly when no check failed (``problems`` is empty).
* ``problems`` are stable reason ids (translated on the operator screens as
  ``q.<id>``), most important first.
* ``score`` ranks attempts when retries run out: a capture that passes more
  checks always outranks one that passes fewer; among equals, the one with
  more margin on its checks wins. It lies in 0..1.
* ``measures`` are plain numbers about the capture (sizes, levels, ratios),
  never pixels or pen positions, so they may go into the sealed record and a
  result may be logged.
* Some problems may never be forced through when retries run out
  (:data:`UNFORCEABLE`): the capture does not hold what the step is for at
  all. ``GateResult.forceable`` is false for them; the workflow must then
  retry, take the finger exception, or ask for the supervisor's exception,
  and never keep the best attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

#: Problem ids that mean the capture does not hold the thing at all, so it may
#: never be kept as a forced capture: a face photo with no face the detector
#: can see (never sealed; only the supervisor's exception passes the face step
#: without a face), an image that does not decode, and a scan of empty glass
#: (a missing finger is an exception with a reason, never an empty image).
#: ``no_ridges`` stays forceable on purpose: a worn, scarred or very dry finger
#: can show almost no ridges, and such residents must not be stuck at the
#: scanner; the operator sees the problem and may record an exception instead.
UNFORCEABLE: frozenset[str] = frozenset({"image_unreadable", "no_face", "no_finger"})


@dataclass(frozen=True)
class GateResult:
    passed: bool
    score: float  # higher is better; used to keep the best attempt when retries run out
    measures: dict[str, float]  # what was measured (goes into the sealed record)
    problems: tuple[str, ...]  # stable reason ids of failed checks, most important first

    @property
    def forceable(self) -> bool:
        """False when a problem in :data:`UNFORCEABLE` forbids keeping this capture as forced."""
        return UNFORCEABLE.isdisjoint(self.problems)


@dataclass(frozen=True)
class Check:
    """One check's outcome: the problem id it raises and how comfortably it passed.

    ``margin`` is 0..1 with 0.5 at the threshold: passed checks have 0.5 or more,
    failed ones less. A check that could not be evaluated (no face to measure)
    has margin 0 and ``measured`` false.
    """

    problem: str
    passed: bool
    margin: float
    measured: bool = True


def at_least(problem: str, value: float, threshold: float) -> Check:
    """Passes when ``value >= threshold``; margin 0.5 at the threshold, 1 at twice it."""
    if threshold <= 0:
        return Check(problem, value >= threshold, 1.0 if value >= threshold else 0.0)
    return Check(problem, value >= threshold, _clip01(0.5 * value / threshold))


def at_most(problem: str, value: float, threshold: float) -> Check:
    """Passes when ``value <= threshold``; margin 0.5 at the threshold, 1 at zero."""
    if threshold <= 0:
        return Check(problem, value <= threshold, 1.0 if value <= threshold else 0.0)
    return Check(problem, value <= threshold, _clip01(1.0 - 0.5 * value / threshold))


def unmeasured(problem: str) -> Check:
    """A check that cannot run because an earlier one found nothing to measure."""
    return Check(problem, False, 0.0, measured=False)


def combine(checks: Iterable[Check], measures: dict[str, float], *, order: tuple[str, ...]) -> GateResult:
    """One result from the checks: failures ranked by ``order``, the score as described above.

    Unmeasured checks lower the score but are not reported: the operator is
    told what was found wrong, not everything that could not be looked at.
    """
    checks = list(checks)
    failed = {c.problem for c in checks if not c.passed and c.measured}
    if not failed:  # only unmeasured failures: report them rather than pass
        failed = {c.problem for c in checks if not c.passed}
    unknown = failed - set(order)
    if unknown:
        raise ValueError(f"problem ids {sorted(unknown)} are not in the gate's order")
    problems = tuple(p for p in order if p in failed)
    n = len(checks)
    if n == 0:
        return GateResult(True, 1.0, measures, ())
    n_passed = sum(c.passed for c in checks)
    mean_margin = sum(c.margin for c in checks) / n
    score = (n_passed + mean_margin) / (n + 1)
    return GateResult(passed=not problems, score=round(score, 6), measures=measures, problems=problems)


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else float(x)
