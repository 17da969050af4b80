"""The field: who is still unrecorded in each kelurahan, split the way the turnout model needs.

This module owns the campaign's state between days. Rules:

- Per kelurahan (in code order): the reachable still unrecorded, the hard
  (office or home service only), the home-bound (home visits only), the
  first-time voters among the first two, and the day of the last station visit.
- A fresh campaign splits each kelurahan's backlog by the model's ``reach``;
  home-bound residents given by the targets are set apart first.
- Station visits record from the reachable; a venue's people (students at a
  school, traders at a market) are the ones a kelurahan station would not
  reach, so they come from the hard share first. First-time voters are
  recorded in proportion to their share of those left (the targets say how
  many there are, not who).
- ``FieldState`` is the frozen snapshot a Plan carries, so a re-plan starts
  exactly where the plan stood; ``Field`` is the mutable working copy with
  numpy arrays that the day loop updates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from .model import KelurahanTarget, PlanningError
from .params import TurnoutParameters

NEVER = -1e9  # last_visit of a kelurahan never visited: a rested, announced first visit


@dataclass(frozen=True)
class FieldState:
    codes: tuple[str, ...]
    reachable: tuple[float, ...]
    hard: tuple[float, ...]
    home: tuple[float, ...]
    first_voters: tuple[float, ...]
    #: date.toordinal() of the last station visit, or None
    last_visit: tuple[int | None, ...]

    def __post_init__(self) -> None:
        n = len(self.codes)
        for name in ("reachable", "hard", "home", "first_voters", "last_visit"):
            if len(getattr(self, name)) != n:
                raise PlanningError(f"field state: {name} has {len(getattr(self, name))} values for {n} kelurahan")

    def left(self) -> dict[str, float]:
        return {c: r + h + m for c, r, h, m in zip(self.codes, self.reachable, self.hard, self.home)}


class Field:
    def __init__(self, state: FieldState) -> None:
        self.codes = state.codes
        self.index = {c: i for i, c in enumerate(state.codes)}
        self.reachable = np.array(state.reachable, dtype=float)
        self.hard = np.array(state.hard, dtype=float)
        self.home = np.array(state.home, dtype=float)
        self.first_voters = np.array(state.first_voters, dtype=float)
        self.last_visit = np.array([NEVER if d is None else float(d) for d in state.last_visit], dtype=float)

    @staticmethod
    def fresh(targets: Sequence[KelurahanTarget], params: TurnoutParameters) -> FieldState:
        """The split at an announcement: home-bound apart, then ``reach`` of the rest reachable."""
        ordered = sorted(targets, key=lambda t: t.code)
        left = [float(t.remaining) for t in ordered]
        home = [float(min(t.home_bound, t.remaining)) for t in ordered]
        rest = [n - h for n, h in zip(left, home)]
        return FieldState(
            codes=tuple(t.code for t in ordered),
            reachable=tuple(params.reach * r for r in rest),
            hard=tuple((1.0 - params.reach) * r for r in rest),
            home=tuple(home),
            first_voters=tuple(float(min(t.first_voters, r)) for t, r in zip(ordered, rest)),
            last_visit=(None,) * len(ordered),
        )

    def snapshot(self) -> FieldState:
        return FieldState(
            codes=self.codes,
            reachable=tuple(float(x) for x in self.reachable),
            hard=tuple(float(x) for x in self.hard),
            home=tuple(float(x) for x in self.home),
            first_voters=tuple(float(x) for x in self.first_voters),
            last_visit=tuple(None if x <= NEVER else int(x) for x in self.last_visit),
        )

    @property
    def left(self) -> np.ndarray:
        return self.reachable + self.hard + self.home

    def gap(self, day: date, idx: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Days since the last visit (a huge number for never)."""
        return day.toordinal() - self.last_visit[idx]

    def _voters_out(self, i: int, amount: float) -> None:
        pool = self.reachable[i] + self.hard[i]
        if pool > 0 and self.first_voters[i] > 0:
            self.first_voters[i] = max(0.0, self.first_voters[i] * (1.0 - amount / pool))

    def record_visit(self, i: int, amount: float, day: date) -> float:
        """A station visit recorded ``amount`` of kelurahan ``i``'s reachable."""
        amount = min(float(amount), float(self.reachable[i]))
        self._voters_out(i, amount)
        self.reachable[i] -= amount
        self.last_visit[i] = day.toordinal()
        return amount

    def record_venue(self, i: int, amount: float) -> float:
        """A venue recorded ``amount`` of kelurahan ``i``: the hard-to-reach first."""
        amount = min(float(amount), float(self.hard[i] + self.reachable[i]))
        self._voters_out(i, amount)
        from_hard = min(amount, float(self.hard[i]))
        self.hard[i] -= from_hard
        self.reachable[i] -= amount - from_hard
        return amount

    def announce(self, i: int, share: float) -> float:
        """A community meeting announced the campaign: ``share`` of the hard-to-reach come into reach."""
        moved = float(self.hard[i]) * share
        self.hard[i] -= moved
        self.reachable[i] += moved
        return moved

    def record_home(self, i: int, amount: float) -> float:
        amount = min(float(amount), float(self.home[i]))
        self.home[i] -= amount
        return amount

    def set_left(self, actual_left: Mapping[str, float]) -> None:
        """Correct the state to the residents actually left (a re-plan's field report).

        Fewer recorded than expected: the difference is reachable (they did not
        come yet). More recorded: taken from the reachable, then the hard.
        """
        for code, left in actual_left.items():
            i = self.index[code]
            delta = float(left) - float(self.left[i])
            if abs(delta) < 1e-9:
                continue
            if delta > 0:
                self.reachable[i] += delta
            else:
                take = min(-delta, float(self.reachable[i]))
                self.reachable[i] -= take
                rest = -delta - take
                take_hard = min(rest, float(self.hard[i]))
                self.hard[i] -= take_hard
                self.home[i] = max(0.0, float(self.home[i]) - (rest - take_hard))
            pool = self.reachable[i] + self.hard[i]
            self.first_voters[i] = min(float(self.first_voters[i]), float(pool))
