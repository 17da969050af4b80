"""Rotation baselines: the variants a gain has to beat, and the best of them.

This module owns what the backlog planner is compared with. Rules:

- Variants (D days per block, N kelurahan per block, S stations each): Solo's
  own (3, fleet/2, 2), one station each (3, fleet, 1), blocks scaled down to
  a day (1, fleet, 1) and to two (2, fleet/2, 2). Every variant keeps the
  stop rule, so none is weakened by visits below the minimum.
- The best baseline is the one that records a given number of residents in
  the fewest working days (then the one that finishes first); gains are
  claimed over it only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from .coverage import days_to_record
from .model import Constraints, KelurahanTarget
from .rotation import plan_rotation
from .simulate import SimulationResult, simulate
from .turnout import TurnoutModel


@dataclass(frozen=True)
class Variant:
    name: str
    days_per_block: int
    kelurahan_per_block: int
    stations_per_kelurahan: int


def variants(fleet: int) -> list[Variant]:
    half = max(1, fleet // 2)
    out = [
        Variant(f"3-day blocks, {half} kelurahan x 2 (Solo)", 3, half, 2),
        Variant(f"3-day blocks, {fleet} kelurahan x 1", 3, fleet, 1),
        Variant(f"2-day blocks, {half} kelurahan x 2", 2, half, 2),
        Variant(f"1-day blocks, {fleet} kelurahan x 1", 1, fleet, 1),
    ]
    return out


@dataclass(frozen=True)
class Baseline:
    variant: Variant
    result: SimulationResult
    days_to_target: int | None  # working days to record the target (None: never)


def run_baselines(targets: Sequence[KelurahanTarget], stations: Sequence[str], start: date,
                  constraints: Constraints, model: TurnoutModel, target: float, **options) -> list[Baseline]:
    """Every variant simulated, with the days it needs to record ``target`` residents."""
    out = []
    for v in variants(len(stations)):
        plan = plan_rotation(targets, stations, start, constraints, model=model, days_per_block=v.days_per_block,
                             kelurahan_per_block=v.kelurahan_per_block,
                             stations_per_kelurahan=v.stations_per_kelurahan, **options)
        result = simulate(plan)
        out.append(Baseline(v, result, days_to_record(result.visits, target, plan)))
    return out


def best(baselines: Sequence[Baseline]) -> Baseline:
    never = 10**9
    return min(baselines, key=lambda b: (b.days_to_target if b.days_to_target is not None else never,
                                         b.result.days, b.variant.name))
